"""Sparse Bernoulli draws (torchaug/_cpu/bernoulli.py): the law of the struck values, per segment."""

from __future__ import annotations

import math

import pytest
import torch

from torchaug._cpu.bernoulli import bernoulli_indices, bernoulli_mask


def _within(k: int, n: int, r: float, sd: float = 5.0) -> bool:
    return abs(k - n * r) <= sd * math.sqrt(max(n * r * (1 - r), 1e-12))


@pytest.mark.parametrize("rates", [
    [0.0, 0.003, 0.05, 0.3, 0.9, 1.0, 0.05],  # a few distinct rates: one run per rate
    [0.01 * (i + 1) for i in range(12)] + [0.0, 1.0],  # many: each segment at its own rate
])
def test_each_segment_has_its_rate_and_no_value_twice(rates):
    rates = torch.tensor(rates)
    n = 40_000
    flat = bernoulli_indices(n, rates, torch.Generator().manual_seed(0))
    assert flat.unique().numel() == flat.numel()
    assert bool(((flat >= 0) & (flat < n * rates.numel())).all())
    counts = torch.bincount(flat // n, minlength=rates.numel())
    for s, r in enumerate(rates.tolist()):
        if r in (0.0, 1.0):
            assert int(counts[s]) == r * n
        assert _within(int(counts[s]), n, r), (s, int(counts[s]), n * r)


def test_struck_values_are_independent():
    """The gaps are geometric: a struck value's next value is struck with probability r, and the
    hits spread evenly over the segment (each quarter holds a quarter of them)."""
    r, n = 0.2, 200_000
    m = bernoulli_mask((1, n), r, torch.Generator().manual_seed(1))[0]
    after = m[1:][m[:-1]]
    assert _within(int(after.sum()), after.numel(), r)
    quarters = m.view(4, -1).sum(1)
    k = int(m.sum())
    for q in quarters.tolist():
        assert abs(q - k / 4) < 5 * math.sqrt(k * 0.25 * 0.75)


def test_mask_shape_rates_and_replay():
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    rates = torch.tensor([0.01, 0.5, 0.2])
    m = bernoulli_mask((3, 2, 50, 60), rates, g())
    assert m.shape == (3, 2, 50, 60) and m.dtype == torch.bool
    assert torch.equal(m, bernoulli_mask((3, 2, 50, 60), rates, g()))
    for b, r in enumerate(rates.tolist()):
        assert _within(int(m[b].sum()), 6000, r)
    assert not bernoulli_mask((2, 10), 0.0, g()).any() and bernoulli_mask((2, 10), 1.0, g()).all()


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("name", ["PixelDropout", "SaltAndPepperNoise"])
def test_sparse_masks_in_the_transforms(name, dense):
    """PixelDropout / SaltAndPepperNoise draw their masks sparsely on the CPU (and one uniform per
    value on the accelerator path): the struck share is the probability asked for, salt vs pepper
    as asked, and the output is the mask applied."""
    import contextlib

    import torchaug.transforms as T
    from torchaug import accelerator_path

    x = torch.randint(1, 255, (6, 3, 64, 64), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    draw = accelerator_path if dense else contextlib.nullcontext
    if name == "PixelDropout":
        t = T.PixelDropout(dropout_prob=0.05, p=1.0)
        with draw():
            params = t.make_params(x, torch.Generator().manual_seed(1))
        drop = params["drop"]
        assert drop.shape == (6, 1, 64, 64) and _within(int(drop.sum()), drop.numel(), 0.05)
        out = t.transform(x, params)
        assert bool((out[drop.expand_as(x)] == 0).all()) and torch.equal(out[~drop.expand_as(x)], x[~drop.expand_as(x)])
    else:
        t = T.SaltAndPepperNoise(amount=(0.02, 0.2), salt_vs_pepper=0.3, per_channel=True)
        with draw():
            params = t.make_params(x, torch.Generator().manual_seed(1))
        salt, pepper = params["salt"], params["pepper"]
        assert not bool((salt & pepper).any())
        for b in range(6):
            a = float(params["amount"][b])
            assert _within(int((salt[b] | pepper[b]).sum()), salt[b].numel(), a)
        k = int((salt | pepper).sum())
        assert _within(int(salt.sum()), k, 0.3)
        out = t.transform(x, params)
        assert bool((out[salt] == 255).all()) and bool((out[pepper] == 0).all())
        assert torch.equal(out[~(salt | pepper)], x[~(salt | pepper)])
