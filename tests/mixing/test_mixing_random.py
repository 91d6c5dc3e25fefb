"""Beta sampling from a generator and the batch pairings."""

import math

import pytest
import torch

from torchaug.mixing._random import log_gamma_sample, sample_beta, sample_pairing


@pytest.mark.parametrize("alpha", [0.05, 0.2, 0.6, 0.9, 1.0, 2.0, 5.0])
def test_beta_mean_and_variance(alpha):
    g = torch.Generator().manual_seed(0)
    s = sample_beta(alpha, 40000, generator=g, device="cpu").double()
    var = 1.0 / (4 * (2 * alpha + 1))
    assert torch.isfinite(s).all() and s.min() >= 0 and s.max() <= 1
    assert abs(float(s.mean()) - 0.5) < 4 * math.sqrt(var / 40000) + 1e-3
    assert abs(float(s.var()) - var) < 0.03 * var + 1e-3


def test_beta_asymmetric_mean():
    g = torch.Generator().manual_seed(1)
    s = sample_beta(2.0, 40000, generator=g, device="cpu", beta=0.5).double()
    assert abs(float(s.mean()) - 2.0 / 2.5) < 0.01


@pytest.mark.parametrize("shape", [0.3, 1.0, 3.0])
def test_gamma_mean(shape):
    g = torch.Generator().manual_seed(2)
    s = log_gamma_sample(shape, 40000, generator=g, device="cpu").double().exp()
    assert abs(float(s.mean()) - shape) < 0.03 * shape + 0.01
    assert abs(float(s.var()) - shape) < 0.08 * shape + 0.01


def test_beta_reproducible_and_uses_generator():
    a = sample_beta(1.0, 16, generator=torch.Generator().manual_seed(5), device="cpu")
    b = sample_beta(1.0, 16, generator=torch.Generator().manual_seed(5), device="cpu")
    c = sample_beta(1.0, 16, generator=torch.Generator().manual_seed(6), device="cpu")
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(0)
    d = sample_beta(1.0, 16, generator=None, device="cpu")
    torch.manual_seed(0)
    assert torch.equal(d, sample_beta(1.0, 16, generator=None, device="cpu"))


@pytest.mark.parametrize("kind", ["shift", "random"])
@pytest.mark.parametrize("b", [2, 3, 4, 7, 10, 33])
def test_involution_pairings(kind, b):
    for seed in range(5):
        perm, offset = sample_pairing(b, kind, generator=torch.Generator().manual_seed(seed), device="cpu")
        idx = torch.arange(b)
        assert perm.dtype == torch.long and perm.shape == (b,)
        assert (perm != idx).all()  # everybody has a partner other than itself
        paired = perm[perm] == idx
        assert int((~paired).sum()) == b % 2  # an involution except the odd one out
        if kind == "shift":
            h = b // 2
            r = int(offset)
            assert 0 <= r < h
            assert torch.equal(perm[:h], h + (idx[:h] + r) % h)


@pytest.mark.parametrize("b", [2, 3, 4, 6, 9])
def test_roll_pairing_has_no_mutual_partners(b):
    seen = set()
    for seed in range(30):
        perm, offset = sample_pairing(b, "roll", generator=torch.Generator().manual_seed(seed), device="cpu")
        r = int(offset)
        seen.add(r)
        assert torch.equal(perm, (torch.arange(b) + r) % b)
        assert (perm != torch.arange(b)).all()
        if b > 2:
            assert not (perm[perm] == torch.arange(b)).any()
    assert len(seen) > 1 or b == 2


def test_batch_of_one_pairs_with_itself():
    perm, offset = sample_pairing(1, "shift", generator=None, device="cpu")
    assert perm.tolist() == [0] and offset is None


def test_shift_offsets_cover_the_range():
    rs = {int(sample_pairing(8, "shift", generator=torch.Generator().manual_seed(s), device="cpu")[1]) for s in range(60)}
    assert rs == {0, 1, 2, 3}


def test_host_random_follows_the_torch_generator():
    from torchaug.mixing._random import HostRandom

    def draws(seed):
        rng = HostRandom(torch.Generator().manual_seed(seed))
        return [rng.random() for _ in range(40)] + [rng.betavariate(0.4, 0.4), rng.randrange(7)]

    assert draws(3) == draws(3) and draws(3) != draws(4)
    torch.manual_seed(9)
    a = [HostRandom(None).random() for _ in range(3)]
    torch.manual_seed(9)
    assert a == [HostRandom(None).random() for _ in range(3)]


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])
def test_batch_mode_lambda_is_beta_and_offsets_uniform(alpha):
    """The CPU batch-mode draws (Python numbers from the generator) have the paper's distribution:
    λ ~ Beta(α, α) (mean 1/2, variance 1/(4(2α+1))) and the "shift" offset uniform over [0, B/2)."""
    from torchaug.mixing import MixUp

    m = MixUp(alpha, num_classes=2)
    x, y = torch.rand(8, 1, 2, 2), torch.zeros(8, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    lams, offsets = [], []
    for _ in range(4000):
        _, _, p = m(x, y, generator=g, return_params=True)
        assert p["lam"].unique().numel() == 1 and p["mixed"].all() and (p["box"] == 0).all()
        lams.append(float(p["lam"][0]))
        offsets.append(int(p["offset"]))
    s = torch.tensor(lams, dtype=torch.float64)
    var = 1.0 / (4 * (2 * alpha + 1))
    assert abs(float(s.mean()) - 0.5) < 4 * math.sqrt(var / 4000)
    assert abs(float(s.var()) - var) < 0.08 * var
    counts = torch.bincount(torch.tensor(offsets), minlength=4)
    assert counts.numel() == 4 and (counts - 1000).abs().max() < 150
