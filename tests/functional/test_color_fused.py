"""``color_jitter_fused`` / ``ColorJitter(mode="fused")``: one affine colour map per sample.

Not bit-equal to torchvision by design (one clamp at the end, hue as a rotation about the grey
axis); where the maths coincides (no clamping, hue by multiples of 1/3 turn) it must agree.
"""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from torchaug.functional import color as FC
from torchaug.transforms import ColorJitter

B = 10


def _x(dtype=torch.float32, b=B, c=3, seed=0):
    x = torch.randint(0, 256, (b, c, 5, 6), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _f(lo, hi, seed=1, b=B):
    return lo + (hi - lo) * torch.rand(b, generator=torch.Generator().manual_seed(seed))


def _order(op, b=B):
    return torch.tensor([op] + [k for k in range(4) if k != op]).expand(b, 4)


@pytest.mark.parametrize("op, tv, lo, hi", [
    (FC.BRIGHTNESS, TF.adjust_brightness, 0.2, 1.0),  # <= 1: no clamping
    (FC.CONTRAST, TF.adjust_contrast, 0.0, 1.0),  # convex blend with the mean: no clamping
    (FC.SATURATION, TF.adjust_saturation, 0.0, 1.0),  # convex blend with the grey image
])
def test_single_operations_match_torchvision_where_nothing_clamps(op, tv, lo, hi):
    x, f = _x(), _f(lo, hi)
    facs = [None] * 4
    facs[op] = f
    out = FC.color_jitter_fused(x, *facs, _order(op))
    ref = torch.stack([tv(x[i], float(f[i])) for i in range(B)])
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    # uint8: rounded to nearest where torchvision truncates (and floors the grey image / its mean)
    xu = _x(torch.uint8)
    out = FC.color_jitter_fused(xu, *facs, _order(op)).int()
    ref = torch.stack([tv(xu[i], float(f[i])) for i in range(B)]).int()
    assert int((out - ref).abs().max()) <= 2


@pytest.mark.parametrize("turns", [1 / 3, -1 / 3, 2 / 3, 0.0])
def test_hue_rotation_is_hsv_for_primaries_at_thirds_of_a_turn(turns):
    cols = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (90, 90, 90)]
    x = torch.tensor(cols, dtype=torch.uint8).view(-1, 3, 1, 1).expand(-1, 3, 2, 2).contiguous()
    f = torch.full((len(cols),), turns)
    out = FC.color_jitter_fused(x, None, None, None, f, _order(FC.HUE, len(cols)))
    ref = torch.stack([TF.adjust_hue(x[i], turns if abs(turns) <= 0.5 else turns - 1) for i in range(len(cols))])
    assert torch.equal(out, ref)


def test_composition_in_each_samples_order_equals_one_operation_at_a_time():
    # colours near mid-grey and factors that never leave [0, 1] (nothing clamps between steps):
    # the fused map must equal applying the four fused steps in turn
    x = 0.4 + 0.2 * _x()
    facs = [_f(0.5, 1.0, 1), _f(0.3, 1.0, 2), _f(0.2, 1.0, 3), _f(-0.2, 0.2, 4)]
    order = torch.rand(B, 4, generator=torch.Generator().manual_seed(5)).argsort(1)
    out = FC.color_jitter_fused(x, *facs, order)
    ref = x.clone()
    for pos in range(4):
        step = torch.empty_like(ref)
        for op in range(4):
            sel = order[:, pos] == op
            if sel.any():
                one = [None] * 4
                one[op] = facs[op][sel]
                step[sel] = FC.color_jitter_fused(ref[sel], *one, _order(op, int(sel.sum())))
        ref = step
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    assert not torch.allclose(out, FC.color_jitter_fused(x, *facs, order.flip(1)), atol=1e-3)  # the order matters


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_fused_transform_dtypes_formats_params_and_range(dtype):
    x = _x(dtype, b=8).contiguous(memory_format=torch.channels_last)
    exact, fused = ColorJitter(0.4, 0.4, 0.4, 0.1), ColorJitter(0.4, 0.4, 0.4, 0.1, mode="fused")
    g = torch.Generator().manual_seed(0)
    out, params = fused(x, generator=g, return_params=True)
    assert out.dtype == dtype and out.shape == x.shape and out.is_contiguous(memory_format=torch.channels_last)
    if dtype != torch.uint8:
        assert float(out.min()) >= 0 and float(out.max()) <= 1
    # same parameters as the default mode (replayable across modes), close to its result
    ref = exact(x, params=params)
    diff = (out.double() - ref.double()).abs().mean() * (1 if dtype == torch.uint8 else 255)
    assert float(diff) < 20
    assert torch.equal(fused(x, params=params), out)
    grey = fused(_x(dtype, b=4, c=1), generator=g)  # one channel: brightness and contrast only
    assert grey.shape == (4, 1, 5, 6)


def test_fused_mode_argument():
    with pytest.raises(ValueError, match="ColorJitter: mode must be one of"):
        ColorJitter(0.4, mode="fast")
    assert "mode='fused'" in repr(ColorJitter(0.4, mode="fused"))
    x = _x(torch.uint8, b=0)
    assert FC.color_jitter_fused(x, None, None, None, None, torch.zeros(0, 4, dtype=torch.long)).shape == x.shape


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_channel_means_in_blocks_equal_the_whole_batch_map(dtype, force_thresholds):
    """The fused map takes each sample's channel means in its own chunked pass (no batch-sized float
    temporary): blocks of two samples give what one whole-batch block gives, and the contrast step
    blends with the mean grey level of the image it is applied to."""
    x = _x(dtype, b=9)
    f = torch.linspace(0.6, 1.4, 9)
    order = torch.arange(4).repeat(9, 1)
    force_thresholds(jitter_chunk_bytes=2 * x[0].numel() * 4)  # blocks of two samples
    blocked = FC.color_jitter_fused(x, f, f, f, None, order)
    force_thresholds(jitter_chunk_bytes=1 << 30)
    assert torch.equal(blocked, FC.color_jitter_fused(x, f, f, f, None, order))
    xf = x.double() / (255 if dtype == torch.uint8 else 1)
    grey = (xf * torch.tensor([0.2989, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)).sum(1, keepdim=True)
    c = f.double().view(-1, 1, 1, 1)
    want = (c * xf + (1 - c) * grey.mean((2, 3), keepdim=True)).clamp(0, 1)  # contrast alone, no clamp hit
    got = FC.color_jitter_fused(x, None, f, None, None, order).double() / (255 if dtype == torch.uint8 else 1)
    torch.testing.assert_close(got, want, atol=0.5 / 255 + 1e-6 if dtype == torch.uint8 else 1e-5, rtol=0)


def test_colour_map_split_equals_the_fused_jitter_and_checks_its_arguments():
    """``color_map_fused`` + ``apply_color_map`` is ``color_jitter_fused``; a row permutation of the
    map permutes the output channels; bad maps are refused naming the argument."""
    x = _x(torch.uint8)
    facs = [_f(0.6, 1.4, 1), _f(0.5, 1.5, 2), _f(0.5, 1.5, 3), _f(-0.1, 0.1, 4)]
    order = torch.rand(B, 4, generator=torch.Generator().manual_seed(6)).argsort(1)
    M, P = FC.color_map_fused(x, *facs, order)
    assert M.shape == P.shape == (B, 3, 3) and M.dtype == torch.float32
    want = FC.color_jitter_fused(x, *facs, order)
    assert torch.equal(FC.apply_color_map(x, M, P), want)
    rows = torch.tensor([2, 0, 1]).view(1, 3, 1).expand(B, 3, 3)
    assert torch.equal(FC.apply_color_map(x, M.gather(1, rows), P.gather(1, rows)), want[:, [2, 0, 1]])
    assert FC.color_map_fused(x, facs[0], None, None, None, order)[1] is None  # no contrast: no mean term
    with pytest.raises(ValueError, match="apply_color_map: M must be"):
        FC.apply_color_map(x, M[:, :2], P)
    with pytest.raises(ValueError, match="apply_color_map: P must be"):
        FC.apply_color_map(x, M, P.double())
    with pytest.raises(ValueError, match="apply_color_map: M must be"):
        FC.apply_color_map(x, None)
    with pytest.raises(ValueError, match="color_map_fused: order must have shape"):
        FC.color_map_fused(x, *facs, order[:3])
