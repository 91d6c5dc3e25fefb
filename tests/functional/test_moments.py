"""torchaug.functional.moments: the channel statistics AdaIN and MoEx share, against their earlier code."""

from __future__ import annotations

import pytest
import torch

from torchaug.functional.moments import adain, adain_stats, instance_moments, mean_std
from torchaug.hooks.moex import feature_moments


def _feat(shape=(3, 16, 5, 7), seed=9, dtype=torch.float32):
    return (torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 2 + 1).to(dtype)


def _moex_before(x, norm, eps=1e-5, groups=None):
    """MoEx's feature_moments as written before it used mean_std (github.com/Boyiliee/MoEx conventions)."""
    b, c, h, w = x.shape
    xf = x.to(torch.promote_types(x.dtype, torch.float32))
    if norm == "gn":
        var, mean = torch.var_mean(xf.reshape(b, groups, -1), dim=-1, correction=1, keepdim=True)
        std = (var + eps).sqrt()
        rep = c // groups
        return mean.repeat_interleave(rep, dim=1).unsqueeze(-1), std.repeat_interleave(rep, dim=1).unsqueeze(-1)
    dims = {"pono": (1,), "bn": (0, 2, 3), "in": (2, 3), "ln": (1, 2, 3)}[norm]
    var, mean = torch.var_mean(xf, dim=dims, correction=1, keepdim=True)
    return mean, (var + eps).sqrt()


def _adain_before(feat, eps=1e-5):
    """AdaIN's calc_mean_std as written before (naoto0804/pytorch-AdaIN's reduction: var and mean apart)."""
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    var = flat.var(dim=2, unbiased=flat.shape[2] > 1) + eps
    return flat.mean(dim=2).view(b, c, 1, 1), var.sqrt().view(b, c, 1, 1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("norm", ["pono", "bn", "in", "ln", "gn"])
def test_moex_moments_are_unchanged_bit_for_bit(norm, dtype):
    x = _feat((4, 8, 6, 5), dtype=dtype)
    groups = 4 if norm == "gn" else None
    for shape_x in (x, x.contiguous(memory_format=torch.channels_last)):
        got = feature_moments(shape_x, norm, groups=groups, eps=1e-3)
        want = _moex_before(shape_x, norm, eps=1e-3, groups=groups)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and torch.equal(g, w)


@pytest.mark.parametrize("shape", [(3, 16, 5, 7), (2, 64, 16, 16), (2, 4, 1, 9), (2, 4, 1, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_adain_statistics_std_unchanged_mean_within_an_ulp_or_two(shape, dtype):
    """The std is bit for bit the earlier one; the mean now comes from the same one-pass var_mean as MoEx's, which
    rounds differently from a separate mean() in the last bits of float32/float64 (it is more accurate: measured
    |error| 2.2e-8 against 4.0e-8 for mean() on 8x128x32x32 N(1, 9) features)."""
    f = _feat(shape, dtype=dtype)
    (m, s), (m0, s0) = instance_moments(f), _adain_before(f)  # generative.calc_mean_std's kernel
    assert torch.equal(s, s0) and m.dtype == m0.dtype == dtype
    tol = {torch.float32: 1e-6, torch.float64: 1e-14, torch.float16: 0.0}[dtype]
    torch.testing.assert_close(m, m0, atol=tol * 4, rtol=tol)
    if dtype == torch.float16:
        assert torch.equal(m, m0)


def test_eps_convention_and_shapes():
    f = _feat()
    m, s = mean_std(f, (2, 3), eps=0.25)
    var = f.var(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(s, (var + 0.25).sqrt(), rtol=0, atol=0)
    assert m.shape == (3, 16, 1, 1)
    _, s_biased = mean_std(f, (2, 3), eps=0.0, correction=0)
    torch.testing.assert_close(s_biased, f.var(dim=(2, 3), correction=0, keepdim=True).sqrt())
    one = torch.randn(2, 3, 1, 1)
    mo, so = instance_moments(one, eps=1e-4)
    assert torch.equal(mo, one) and torch.allclose(so, torch.full_like(so, 1e-2))
    with pytest.raises(ValueError, match="instance_moments"):
        instance_moments(torch.zeros(3, 4))


def test_adain_is_adain_stats_of_the_style_moments():
    c, s = _feat((2, 8, 6, 6), seed=1), _feat((2, 8, 5, 7), seed=2) * 3
    sm, ss = instance_moments(s)
    assert torch.equal(adain(c, s), adain_stats(c, sm, ss))
    assert torch.equal(adain_stats(c, sm.flatten(1), ss.flatten(1)), adain_stats(c, sm, ss))
    om, os_ = instance_moments(adain(c, s))
    torch.testing.assert_close(om, sm, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(os_, ss, atol=1e-3, rtol=1e-3)
