"""Shot noise of uint8 images by table lookup (``torchaug.corruptions._poisson``): Poisson counts."""

from __future__ import annotations

import math

import pytest
import torch

from torchaug import accelerator_path
from torchaug.corruptions import _constants as K
from torchaug.corruptions import corrupt
from torchaug.corruptions._poisson import shot_noise_uint8, shot_tables


def _rate(v: int, c: float) -> float:
    return float(torch.tensor(v, dtype=torch.float32) / 255 * torch.tensor(c, dtype=torch.float32))


def _result_pmf(v: int, c: float) -> torch.Tensor:
    """(256,) probability of each uint8 result: Poisson(rate) counts k mapped as the float path maps them."""
    lam = _rate(v, c)
    k = torch.arange(int(lam + 12 * math.sqrt(lam) + 40), dtype=torch.float64)
    pmf = torch.exp(k * math.log(max(lam, 1e-300)) - lam - torch.lgamma(k + 1)) if lam > 0 else (k == 0).double()
    vals = torch.floor((k.float() / torch.tensor(c, dtype=torch.float32)).clamp(0, 1) * 255 + 1e-4).long()
    return torch.zeros(256, dtype=torch.float64).index_add_(0, vals, pmf)


@pytest.mark.parametrize("c", [60.0, 12.0, 3.0, 500.0])
def test_uint8_shot_noise_is_poisson(c):
    """Chi-square of 100,000 draws per value against the Poisson law of its rate (seeded, so the
    test is deterministic; a wrong rate, an off-by-one count or a biased cell fails it)."""
    scipy_stats = pytest.importorskip("scipy.stats")
    for v in (0, 1, 37, 128, 255):
        x = torch.full((1, 1, 250, 400), v, dtype=torch.uint8)
        out = shot_noise_uint8(x, torch.zeros(1, dtype=torch.long), (c,), torch.Generator().manual_seed(v))
        pmf = _result_pmf(v, c)
        if _rate(v, c) == 0:
            assert bool((out == 0).all())
            continue
        obs = torch.bincount(out.flatten().long(), minlength=256).double()
        exp = pmf * out.numel()
        assert float(obs[exp == 0].sum()) == 0  # no result the law cannot give
        o, e, acc_o, acc_e = [], [], 0.0, 0.0  # bins merged to an expected count >= 5
        for a, b in zip(obs[exp > 0].tolist(), exp[exp > 0].tolist()):
            acc_o, acc_e = acc_o + a, acc_e + b
            if acc_e >= 5:
                o.append(acc_o), e.append(acc_e)
                acc_o = acc_e = 0.0
        o[-1], e[-1] = o[-1] + acc_o, e[-1] + acc_e
        assert scipy_stats.chisquare(o, e).pvalue > 1e-4, (c, v)


def test_per_sample_constants_and_the_tables():
    """Each sample uses its own severity's constant; the tables cover every rate and value."""
    cs = tuple(float(v) for v in K.IMAGENET["shot_noise"])
    cells, cdf, values, M, K_ = shot_tables(cs, torch.device("cpu"))
    assert cells.numel() == len(cs) * 256 * M and cdf.numel() == len(cs) * 256 * K_
    assert float(cdf.view(-1, K_)[:, -1].min()) == 1.0 and bool((cdf.view(-1, K_).diff(dim=1) >= 0).all())
    assert float((cells < 0).double().mean()) < 0.05  # most cells answer with one read
    x = torch.full((10, 3, 64, 64), 200, dtype=torch.uint8)
    sev = torch.tensor([1, 2, 3, 4, 5] * 2)
    out = corrupt(x, "shot_noise", sev, generator=torch.Generator().manual_seed(0), constants="imagenet").double()
    for b in range(10):
        c = cs[int(sev[b]) - 1]
        expect = (_result_pmf(200, c) * torch.arange(256, dtype=torch.float64)).sum()
        sd = math.sqrt(_rate(200, c)) / c * 255 / 64 / math.sqrt(3)  # standard error of the sample mean
        assert abs(float(out[b].mean()) - float(expect)) < 5 * sd + 0.5, (b, c)
    # lower constants (higher severities) spread the values more
    assert float(out[4].std()) > float(out[0].std()) * 2


def test_uint8_and_float_paths_agree_in_distribution():
    """The uint8 path draws from the tables, the float path (and the accelerator path) with
    ``torch.poisson``: other draws, the same law."""
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (16, 3, 48, 48), generator=g, dtype=torch.uint8)
    a = corrupt(x, "shot_noise", 2, generator=torch.Generator().manual_seed(2)).double()
    f32 = corrupt(x.float() / 255, "shot_noise", 2, generator=torch.Generator().manual_seed(2))
    with accelerator_path():  # the uint8 batch through the float path: the same draws, quantised
        acc = corrupt(x, "shot_noise", 2, generator=torch.Generator().manual_seed(2)).double()
    f = f32.double() * 255
    assert torch.equal(acc, torch.floor(f32 * 255 + 1e-4).double())
    assert float((a != acc).double().mean()) > 0.5  # other draws
    for ref in (f, acc):
        assert abs(float(a.mean() - ref.mean())) < 0.5
        assert float((a - x.double()).std()) == pytest.approx(float((ref - x.double()).std()), rel=0.03)
