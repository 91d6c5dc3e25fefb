"""Containers: Compose, RandomApply, RandomChoice, RandomOrder."""

from __future__ import annotations

import contextlib

import pytest
import torch
from omegaconf import OmegaConf

from torchaug.transforms import (
    ColorJitter,
    Compose,
    RandomAffine,
    RandomApply,
    RandomChoice,
    RandomCrop,
    RandomHorizontalFlip,
    RandomOrder,
    RandomVerticalFlip,
    Resize,
)


def _x(b=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, 16, 16), generator=g, dtype=torch.uint8)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_compose_identity_forms():
    x = _x()
    for t in (Compose(None), Compose([]), Compose(OmegaConf.create([]))):
        assert torch.equal(t(x), x)
        assert torch.equal(t(x[0]), x[0])
    with pytest.raises(ValueError, match="Compose"):
        Compose(None)(torch.zeros(4, 4))
    with pytest.raises(TypeError, match="Compose: transforms"):
        Compose(3)


def test_compose_equals_sequential_calls_with_one_generator():
    x = _x()
    a, b = RandomCrop(12, padding=2), RandomHorizontalFlip()
    out, params = Compose([a, b])(x, generator=_gen(), return_params=True)
    g = _gen()
    ref = b(a(x, generator=g), generator=g)
    assert torch.equal(out, ref)
    assert torch.equal(Compose([a, b])(x, params=params), out)


def test_compose_accepts_hydra_list_and_plain_callables():
    from hydra.utils import instantiate

    cfg = OmegaConf.create(
        {
            "_target_": "torchaug.transforms.Compose",
            "transforms": [
                {"_target_": "torchaug.transforms.RandomCrop", "size": 12, "padding": 2},
                {"_target_": "torchaug.transforms.RandomHorizontalFlip"},
            ],
        }
    )
    t = instantiate(cfg)
    assert isinstance(t, Compose) and len(t.transforms) == 2
    assert t(_x(), generator=_gen()).shape == (32, 3, 12, 12)
    from torchvision.transforms import v2

    t = Compose([RandomHorizontalFlip(p=1.0), v2.RandomVerticalFlip(p=1.0), lambda x: x // 2])
    x = _x()
    assert torch.equal(t(x), x.flip(-1).flip(-2) // 2)


def test_random_apply_per_sample():
    x = _x(64)
    t = RandomApply([RandomVerticalFlip(p=1.0), RandomHorizontalFlip(p=1.0)], p=0.5)
    out, p = t(x, generator=_gen(), return_params=True)
    on = p["apply"]
    assert on.any() and (~on).any()
    assert torch.equal(out[on], x[on].flip(-1).flip(-2))
    assert torch.equal(out[~on], x[~on])
    assert torch.equal(t(x, params=p), out)
    assert torch.equal(RandomApply([RandomVerticalFlip(p=1.0)], p=0.0)(x), x)
    assert torch.equal(RandomApply([RandomVerticalFlip(p=1.0)], p=1.0)(x), x.flip(-2))
    with pytest.raises(ValueError, match="RandomApply: the transforms must keep the image size"):
        RandomApply([Resize(8)], p=1.0)(x)


def test_random_choice_per_sample_groups():
    x = _x(64)
    t = RandomChoice([RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0), Compose(None)], p=[1, 1, 2])
    out, p = t(x, generator=_gen(), return_params=True)
    c = p["choice"]
    assert set(c.tolist()) == {0, 1, 2}
    assert torch.equal(out[c == 0], x[c == 0].flip(-1))
    assert torch.equal(out[c == 1], x[c == 1].flip(-2))
    assert torch.equal(out[c == 2], x[c == 2])
    assert 0.3 < (c == 2).float().mean() < 0.7
    assert torch.equal(t(x, params=p), out)
    same = RandomChoice([RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0)], same_on_batch=True)
    _, p = same(x, generator=_gen(), return_params=True)
    assert len(set(p["choice"].tolist())) == 1


def test_random_choice_of_size_changing_ops_and_targets():
    x = _x(16)
    t = RandomChoice([RandomCrop(12), Resize(12)])
    boxes = torch.tensor([[[2.0, 2.0, 6.0, 6.0]]]).expand(16, 1, 4)
    out, p = t({"image": x, "boxes": boxes}, generator=_gen(), return_params=True)
    assert out["image"].shape == (16, 3, 12, 12) and out["boxes"].shape == (16, 1, 4)
    resized = p["choice"] == 1
    torch.testing.assert_close(out["boxes"][resized], torch.tensor([[1.5, 1.5, 4.5, 4.5]]).expand(int(resized.sum()), 1, 4))
    with pytest.raises(ValueError, match="RandomChoice: every choice must give outputs of one shape"):
        RandomChoice([RandomCrop(12), Resize(10)])(x, generator=_gen())


def test_random_order():
    x = _x()
    t = RandomOrder([RandomCrop(12, pad_if_needed=True), Resize(8)])
    seen = set()
    for s in range(8):
        out, p = t(x, generator=_gen(s), return_params=True)
        order = tuple(p["order"].tolist())
        assert out.shape == ((32, 3, 8, 8) if order == (0, 1) else (32, 3, 12, 12))
        seen.add(order)
        assert torch.equal(t(x, params=p), out)
    assert seen == {(0, 1), (1, 0)}


def test_containers_reproducible_and_region():
    x = _x()
    t = Compose([RandomApply([ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.5), RandomAffine(10)])
    assert torch.equal(t(x, generator=_gen(1)), t(x, generator=_gen(1)))
    region = torch.zeros(32, 16, 16, dtype=torch.bool)
    region[:, :8] = True
    out = Compose([ColorJitter(brightness=(1.5, 1.5))])(x, region=region)
    assert torch.equal(out[:, :, 8:], x[:, :, 8:])
    assert not torch.equal(out[:, :, :8], x[:, :, :8])


def test_nested_containers_move_targets():
    x = _x(8)
    pts = torch.tensor([[[1.0, 2.0]]]).expand(8, 1, 2)
    t = Compose([RandomApply([RandomHorizontalFlip(p=1.0)], p=0.5), RandomChoice([RandomVerticalFlip(p=1.0)])])
    out, p = t({"image": x, "keypoints": pts}, generator=_gen(), return_params=True)
    flipped = p[0]["apply"]
    expect_x = torch.where(flipped, 15.0, 1.0)
    torch.testing.assert_close(out["keypoints"][:, 0, 0], expect_x)
    torch.testing.assert_close(out["keypoints"][:, 0, 1], torch.full((8,), 14.0))


def test_compose_writes_into_its_own_intermediates_only(monkeypatch):
    """ColorJitter (p=1) writes into the batch a previous step of the same Compose produced, and
    never into the caller's input (also when an empty step passes it on) or a tensor a plain
    callable returned."""
    from torchaug.transforms import CenterCrop

    calls = []
    original = ColorJitter.transform

    def spy(self, x, params, out=None):
        if out is not None:  # the base hands a buffer it owns: the intermediate itself
            assert out is x
            calls.append(x.data_ptr())
        return original(self, x, params, out=out)

    monkeypatch.setattr(ColorJitter, "transform", spy)
    x = _x()
    x0 = x.clone()
    cj = ColorJitter(0.4, 0.4, 0.4, 0.1)
    crop = RandomCrop(12, padding=2)
    out, params = Compose([crop, cj])(x, generator=_gen(), return_params=True)
    g = _gen()
    assert torch.equal(out, cj(crop(x, generator=g), generator=g)) and torch.equal(x, x0)
    assert calls == [out.data_ptr()]  # the crop's output was reused
    keep = _x(seed=1)
    keep0 = keep.clone()
    pipes = [Compose([cj]), Compose([Compose([]), cj]), Compose([lambda t: keep, cj]), Compose([CenterCrop(12), cj]),
             Compose([ColorJitter(0.4, p=0.5), cj])]
    for pipe, reused in zip(pipes, [0, 0, 0, 1, 1]):
        calls.clear()
        pipe(x, generator=_gen())
        assert torch.equal(x, x0) and torch.equal(keep, keep0) and len(calls) == reused
    assert Compose([crop, cj])(x, params=params).data_ptr() != x.data_ptr()


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
@pytest.mark.parametrize("chunk_bytes", [1, 3 * 12 * 12 * 3, 1 << 30])
@pytest.mark.parametrize("by_runs", [False, True])
def test_flips_in_place_inside_compose_equal_separate_calls(dtype, chunk_bytes, by_runs, force_thresholds):
    """Flips write into the batch the previous step produced, block by block (blocks all flipped,
    none flipped, or mixed) or by runs of selected samples: the same values as separate calls,
    for any dtype and block size."""
    force_thresholds(into_chunk_bytes=chunk_bytes, into_run_min_bytes=1 if by_runs else 1 << 30)
    x = _x(b=13)
    x = x if dtype == torch.uint8 else x.to(dtype) / 255
    x0 = x.clone()
    steps = [RandomCrop(12, padding=2), RandomHorizontalFlip(0.5), RandomVerticalFlip(0.5), RandomHorizontalFlip(1.0)]
    out, params = Compose(steps)(x, generator=_gen(5), return_params=True)
    g = _gen(5)
    ref = x
    for t in steps:
        ref = t(ref, generator=g)
    assert torch.equal(out, ref) and torch.equal(x, x0)
    params[3]["apply"][::2] = False  # p = 1 ignores a replayed ``apply``, in place too
    assert torch.equal(Compose(steps)(x, params=params), ref)


# -- SomeOf / OneOrOther / Identity ------------------------------------------------------------
def _marks(k):
    """k transforms that each add 2**i to every pixel of a float batch (a sample's sum says which ran, and how often)."""
    from torchaug.transforms._base import RandomTransform

    class Add(RandomTransform):
        def __init__(self, v):
            super().__init__(p=1.0)
            self.v = v

        def transform(self, x, params):
            return x + self.v

    return [Add(float(2 ** i)) for i in range(k)]


def _runs(out):
    return out[:, 0, 0, 0].long()


@pytest.mark.parametrize("accel", [False, True])
def test_someof_applies_exactly_n_distinct_per_sample(accel):
    from torchaug import accelerator_path
    from torchaug.transforms import SomeOf

    x = torch.zeros(400, 1, 2, 2)
    op = SomeOf(_marks(4), n=2)
    with accelerator_path() if accel else contextlib.nullcontext():
        out, params = op(x, generator=_gen(1), return_params=True)
    bits = _runs(out)
    assert all(bin(int(v)).count("1") == 2 for v in bits)  # two distinct transforms per sample
    assert torch.equal(params["counts"].sum(1), torch.full((400,), 2))
    assert torch.equal(bits, (params["counts"] * 2 ** torch.arange(4)).sum(1))
    assert len(set(bits.tolist())) == 6  # every pair of 4 occurs (uniform subsets)
    assert torch.equal(op(x, params=params), out)


def test_someof_range_replace_and_p():
    from torchaug.transforms import SomeOf

    x = torch.zeros(500, 1, 2, 2)
    _, params = SomeOf(_marks(3), n=(0, 3))(x, generator=_gen(2), return_params=True)
    assert set(params["counts"].sum(1).tolist()) == {0, 1, 2, 3}
    out, params = SomeOf(_marks(2), n=3, replace=True)(x, generator=_gen(3), return_params=True)
    assert torch.equal(params["counts"].sum(1), torch.full((500,), 3))
    assert params["counts"].max() == 3
    assert torch.equal(_runs(out), (params["counts"] * torch.tensor([1, 2])).sum(1))  # a repeat runs twice
    _, params = SomeOf(_marks(3), n=1, p=0.3)(x, generator=_gen(4), return_params=True)
    frac = (params["counts"].sum(1) > 0).float().mean()
    assert 0.2 < frac < 0.4
    with pytest.raises(ValueError, match="SomeOf.*n"):
        SomeOf(_marks(2), n=3)
    with pytest.raises(TypeError, match="SomeOf.*n"):
        SomeOf(_marks(2), n="2")


def test_someof_children_must_keep_the_size():
    from torchaug.transforms import SomeOf

    x = torch.full((8, 1, 4, 4), 0.5)
    op = SomeOf([RandomCrop(2), RandomHorizontalFlip(p=1.0)], n=2)
    with pytest.raises(ValueError, match="keep the image size"):
        op(x, generator=_gen())


def test_one_or_other_per_sample_and_identity():
    from torchaug.transforms import Identity, OneOrOther

    x = _x(b=300)
    op = OneOrOther(RandomHorizontalFlip(p=1.0), None, p=0.25)
    out, params = op(x, generator=_gen(5), return_params=True)
    first = params["choice"] == 0
    assert 0.18 < first.float().mean() < 0.32
    assert torch.equal(out[first], x[first].flip(-1)) and torch.equal(out[~first], x[~first])
    assert Identity()(x) is x or torch.equal(Identity()(x), x)
    both = OneOrOther([RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0)], RandomVerticalFlip(p=1.0), p=1.0)
    assert torch.equal(both(x, generator=_gen()), x.flip(-1).flip(-2))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_gathered_and_out_steps_inside_compose_equal_separate_calls(dtype, p, monkeypatch):
    """GaussianBlur (gather_selected: the selected samples gathered, blurred once, copied back) and
    RandomGrayscale (out=, run by run) write into the batch the crop produced: the same values as
    separate calls, the caller's input untouched, for p 0 (nothing gathered), 0.3 and 1."""
    from torchaug.transforms import GaussianBlur, RandomGrayscale

    sizes = []
    original = GaussianBlur.transform

    def spy(self, x, params):
        sizes.append(x.shape[0])
        return original(self, x, params)

    monkeypatch.setattr(GaussianBlur, "transform", spy)
    x = _x(b=13)
    x = x if dtype == torch.uint8 else x.to(dtype) / 255
    x0 = x.clone()
    crop = RandomCrop(12, padding=2)
    for step in (GaussianBlur(5, (0.1, 2.0), p=p), RandomGrayscale(p=p)):
        out = Compose([crop, step])(x, generator=_gen())
        g = _gen()
        expect = step(crop(x, generator=g), generator=g)
        assert torch.equal(out, expect) and torch.equal(x, x0)
        if 0.0 < p < 1.0:
            assert not torch.equal(out, crop(x, generator=_gen()))  # some samples were changed
    # only the selected samples were blurred, at once, inside Compose and in the separate call alike
    if p == 1.0:
        assert sizes == [13, 13]
    elif p == 0.0:
        assert sizes == []
    else:
        assert len(sizes) == 2 and 0 < sizes[0] == sizes[1] < 13
