"""Batched colour / noise kernels against torchvision.transforms.v2.functional, sample by sample.

(Named ``test_color_kernels.py``, not ``test_color.py``: ``tests/transforms/test_color.py``
exists and the test folders have no ``__init__.py``, so equal basenames would clash.)
"""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from torchaug.functional import color as FC
from torchaug.functional import noise as FN

B = 12


def _images(dtype=torch.uint8, b=B, c=3, h=10, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else (x.to(torch.float32) / 255).to(dtype)


def _factors(lo, hi, seed=1, b=B):
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(b, generator=g)


def _close(out, ref):
    """uint8: at most one grey level apart (and almost always equal); float: 1e-5."""
    if out.dtype == torch.uint8:
        d = (out.int() - ref.int()).abs()
        assert int(d.max()) <= 1, f"max difference {int(d.max())}"
        assert float((d > 0).float().mean()) < 0.01
    else:
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)


def _per_sample(fn, x, *params):
    return torch.stack([fn(x[i], *[float(p[i]) for p in params]) for i in range(x.shape[0])])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize(
    "ours, theirs, lo, hi",
    [
        (FC.adjust_brightness, TF.adjust_brightness, 0.0, 2.0),
        (FC.adjust_contrast, TF.adjust_contrast, 0.0, 2.0),
        (FC.adjust_saturation, TF.adjust_saturation, 0.0, 2.0),
        (FC.adjust_hue, TF.adjust_hue, -0.5, 0.5),
        (FC.adjust_sharpness, TF.adjust_sharpness, 0.0, 3.0),
        (FC.adjust_gamma, TF.adjust_gamma, 0.3, 2.5),
    ],
    ids=["brightness", "contrast", "saturation", "hue", "sharpness", "gamma"],
)
def test_factor_kernels_match_torchvision(ours, theirs, lo, hi, dtype):
    x = _images(dtype)
    f = _factors(lo, hi)
    out = ours(x, f)
    assert out.dtype == x.dtype and out.shape == x.shape
    _close(out, _per_sample(theirs, x, f))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_one_channel(dtype):
    x = _images(dtype, c=1)
    f = _factors(0.2, 1.8)
    for ours, theirs in [(FC.adjust_contrast, TF.adjust_contrast), (FC.adjust_saturation, TF.adjust_saturation)]:
        _close(ours(x, f), _per_sample(theirs, x, f))
    torch.testing.assert_close(FC.adjust_hue(x, f - 1.0), x)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_posterize_solarize_exact(dtype):
    x = _images(dtype)
    bits = torch.arange(B) % 9
    ref = torch.stack([TF.posterize(x[i], int(bits[i])) for i in range(B)])
    torch.testing.assert_close(FC.posterize(x, bits), ref, rtol=0, atol=1e-7)
    t = _factors(0.0, 1.0) * (255 if dtype == torch.uint8 else 1)
    ref = torch.stack([TF.solarize(x[i], float(t[i])) for i in range(B)])
    torch.testing.assert_close(FC.solarize(x, t), ref, rtol=0, atol=0)


def test_uint8_solarize_equals_the_float_comparison_for_any_threshold():
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16).repeat(9, 3, 1, 1)
    t = torch.tensor([-3.0, 0.0, 0.5, 127.0, 127.5, 254.9, 255.0, 255.5, float("nan")])
    ref = torch.where(x.float() >= t.view(-1, 1, 1, 1), 255 - x, x)
    assert torch.equal(FC.solarize(x, t), ref)
    assert torch.equal(FC.solarize(x, t)[6, 0].flatten()[-2:], torch.tensor([254, 0], dtype=torch.uint8))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_invert_autocontrast_equalize_grayscale(dtype):
    x = _images(dtype, h=16, w=16)
    x[0] = x[0, :1]  # a grey sample
    x[1, 0] = x[1, 0, 0, 0]  # a flat channel (autocontrast / equalize must leave it)
    for ours, theirs in [(FC.invert, TF.invert), (FC.autocontrast, TF.autocontrast), (FC.equalize, TF.equalize)]:
        ref = torch.stack([theirs(x[i]) for i in range(B)])
        torch.testing.assert_close(ours(x), ref, rtol=0, atol=1e-6)
    ref = torch.stack([TF.rgb_to_grayscale(x[i], num_output_channels=3) for i in range(B)])
    torch.testing.assert_close(FC.rgb_to_grayscale(x), ref, rtol=0, atol=1e-6)


def test_equalize_builds_per_channel_histograms():
    # two samples, one channel dark and one bright: equalisation is per sample and per channel
    # (PIL's rule needs more than 255 pixels below the maximum to equalise at all)
    x = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    x[0, 0] = (torch.arange(1024) // 16).to(torch.uint8).view(32, 32)  # 0..63
    x[1, 2] = (torch.arange(1024) // 16 + 100).to(torch.uint8).view(32, 32)  # 100..163
    out = FC.equalize(x)
    assert int(out[0, 0].max()) > 200 and int(out[1, 2].min()) < 10
    torch.testing.assert_close(out[0, 1], x[0, 1])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_equalize_accelerator_path_equals_the_cpu_path(dtype):
    import torchaug

    x = _images(dtype, h=24, w=20)
    x[0, 1] = x[0, 1, 0, 0]  # a flat channel: left as it is
    x = x.contiguous(memory_format=torch.channels_last)
    ref = torch.stack([TF.equalize(x[i]) for i in range(B)])
    cpu = FC.equalize(x)
    with torchaug.accelerator_path():
        acc = FC.equalize(x)
    torch.testing.assert_close(cpu, ref, rtol=0, atol=1e-6)
    assert torch.equal(acc, cpu) and cpu.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_color_jitter_matches_sequential_torchvision(dtype):
    b = 48
    x = _images(dtype, b=b)
    bf, cf, sf, hf = _factors(0.5, 1.5, 1, b), _factors(0.5, 1.5, 2, b), _factors(0.5, 1.5, 3, b), _factors(-0.5, 0.5, 4, b)
    order = torch.rand(b, 4, generator=torch.Generator().manual_seed(5)).argsort(1)
    out = FC.color_jitter(x, bf, cf, sf, hf, order)
    fns = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    facs = [bf, cf, sf, hf]
    ref = []
    for i in range(b):
        y = x[i]
        for k in order[i].tolist():
            y = fns[k](y, float(facs[k][i]))
        ref.append(y)
    ref = torch.stack(ref)
    _close(out, ref)
    if dtype == torch.uint8:  # the blends round as torchvision's: equal but for rare hue ties
        assert float((out != ref).float().mean()) < 1e-4
    # every order position occurs for hue: the slots cover all 24 permutations' structure
    assert len(set(order[:, 3].tolist())) == 4


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_color_jitter_without_hue_is_bit_equal_to_torchvision(dtype):
    """Brightness, contrast and saturation round exactly as torchvision's ``_blend`` (``add_`` with
    ``alpha``), identity factors (1.0, what RandomPhotometricDistort passes for an op not drawn)
    included, on images large enough that a different rounding would show."""
    b = 16
    x = _images(dtype, b=b, h=48, w=64)
    facs = [_factors(0.5, 1.5, 1, b), _factors(0.5, 1.5, 2, b), _factors(0.5, 1.5, 3, b)]
    for k, f in enumerate(facs):
        f[k::3] = 1.0
    order = torch.rand(b, 4, generator=torch.Generator().manual_seed(5)).argsort(1)
    out = FC.color_jitter(x, *facs, None, order)
    fns = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation]
    ref = []
    for i in range(b):
        y = x[i]
        for k in order[i].tolist():
            if k < 3:
                y = fns[k](y, float(facs[k][i]))
        ref.append(y)
    assert torch.equal(out, torch.stack(ref))


@pytest.mark.parametrize("disabled", [0, 1, 2, 3])
def test_color_jitter_disabled_ops_are_skipped(disabled):
    x = _images(torch.uint8)
    facs = [_factors(0.5, 1.5, 1), _factors(0.5, 1.5, 2), _factors(0.5, 1.5, 3), _factors(-0.3, 0.3, 4)]
    facs[disabled] = None
    order = torch.rand(B, 4, generator=torch.Generator().manual_seed(5)).argsort(1)
    out = FC.color_jitter(x, *facs, order)
    fns = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    ref = []
    for i in range(B):
        y = x[i]
        for k in order[i].tolist():
            if facs[k] is not None:
                y = fns[k](y, float(facs[k][i]))
        ref.append(y)
    _close(out, torch.stack(ref))


def test_color_jitter_identity_factors_and_no_mutation():
    x = _images(torch.float32)
    before = x.clone()
    ones = torch.ones(B)
    order = torch.arange(4).expand(B, 4)
    out = FC.color_jitter(x, ones, ones, ones, None, order)
    torch.testing.assert_close(out, x, rtol=0, atol=1e-6)
    assert torch.equal(x, before) and out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision(dtype):
    x = _images(dtype)
    f = _factors(0.5, 1.5)
    order = torch.rand(B, 4, generator=torch.Generator().manual_seed(5)).argsort(1)
    ref32 = FC.color_jitter(x.float(), f, f, f, f - 1.0, order)
    out = FC.color_jitter(x, f, f, f, f - 1.0, order)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), ref32, rtol=0, atol=1e-2)
    for fn in (FC.adjust_sharpness, FC.adjust_gamma, FC.autocontrast, FC.equalize, FC.invert):
        args = (f,) if fn in (FC.adjust_sharpness, FC.adjust_gamma) else ()
        o = fn(x, *args)
        assert o.dtype == dtype and float(o.min()) >= 0 and float(o.max()) <= 1


def test_channels_last_kept():
    x = _images(torch.uint8).contiguous(memory_format=torch.channels_last)
    f = _factors(0.5, 1.5)
    order = torch.arange(4).expand(B, 4)
    for out in (FC.color_jitter(x, f, f, f, f - 1.0, order), FC.adjust_sharpness(x, f), FC.equalize(x), FC.posterize(x, 3)):
        assert out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_erase_matches_torchvision(dtype):
    x = _images(dtype)
    g = torch.Generator().manual_seed(3)
    top, left = torch.randint(0, 10, (B,), generator=g), torch.randint(0, 12, (B,), generator=g)
    h, w = torch.randint(0, 6, (B,), generator=g), torch.randint(0, 6, (B,), generator=g)
    v = torch.tensor([0.1, 0.5, 0.9]) if dtype != torch.uint8 else torch.tensor([10, 128, 250], dtype=torch.uint8)
    out = FN.erase(x, top, left, h, w, v)
    ref = torch.stack(
        [TF.erase(x[i], int(top[i]), int(left[i]), int(h[i]), int(w[i]), v.view(3, 1, 1).to(x.dtype)) for i in range(B)]
    )
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_gaussian_blur_matches_torchvision(dtype):
    x = _images(dtype, h=14, w=14)
    sigma = _factors(0.2, 2.5)
    out = FN.gaussian_blur(x, (5, 7), sigma)
    ref = torch.stack([TF.gaussian_blur(x[i], [5, 7], [float(sigma[i])] * 2) for i in range(B)])
    _close(out, ref)


def test_scratch_buffers_never_leak_into_outputs():
    # ColorJitter reuses CPU scratch buffers between calls: earlier outputs must stay intact
    x1, x2 = _images(torch.uint8, b=4), _images(torch.uint8, b=6, h=9, w=7, seed=1)
    f1, f2 = _factors(0.5, 1.5, b=4), _factors(0.5, 1.5, b=6)
    o1 = torch.arange(4).expand(4, 4)
    o2 = torch.arange(4).flip(0).expand(6, 4)
    out1 = FC.color_jitter(x1, f1, f1, f1, f1 - 1.0, o1)
    keep = out1.clone()
    out2 = FC.color_jitter(x2, f2, f2, f2, f2 - 1.0, o2)
    again = FC.color_jitter(x1, f1, f1, f1, f1 - 1.0, o1)
    assert torch.equal(out1, keep) and torch.equal(again, keep)
    assert out2.shape == x2.shape
    h1 = FC.adjust_hue(x1.float() / 255, f1 - 1.0)
    h2 = FC.adjust_hue(x1.float() / 255, f1 - 1.0)
    assert h1.data_ptr() != h2.data_ptr() and torch.equal(h1, h2)


def test_color_jitter_rejects_orders_that_are_not_permutations():
    x = _images(torch.uint8, b=4)
    f = _factors(0.5, 1.5, b=4)
    order = torch.arange(4).repeat(4, 1)
    assert FC.color_jitter(x, f, f, f, f - 1.0, order).shape == x.shape
    order[2] = torch.tensor([0, 0, 1, 2])  # brightness twice, no hue
    with pytest.raises(ValueError, match="color_jitter: order must hold a permutation"):
        FC.color_jitter(x, f, f, f, f - 1.0, order)
    order[2] = torch.tensor([0, 1, 2, 4])
    with pytest.raises(ValueError, match=r"color_jitter: order must hold operation indices 0..3; got values in \[0, 4\]"):
        FC.color_jitter(x, f, f, f, f - 1.0, order)


@pytest.mark.parametrize("identity", [False, True])
@pytest.mark.parametrize("by_rows", [False, True])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_color_jitter_cpu_chunks_equal_one_pass(by_rows, dtype, identity, force_thresholds):
    # large images are processed in cache-sized chunks on CPU; shrink the chunk to 3 samples.
    # Samples sorted by their order (and, with identity factors on uint8, by how many slots they
    # use before and after the hue) are gathered and scattered per chunk or row by row (large rows)
    force_thresholds(jitter_chunk_bytes=3 * 3 * 10 * 12 * 4, row_copy_min_bytes=1 if by_rows else 1 << 30)
    b = 24
    x = _images(dtype, b=b)
    facs = [_factors(0.5, 1.5, seed=k, b=b) for k in range(3)]
    if identity:  # an op not drawn by RandomPhotometricDistort: factor 1
        for k, f in enumerate(facs):
            f[k::3] = 1.0
            f[k + 3::5] = 1.0
    hf = _factors(-0.3, 0.3, b=b)
    order = torch.rand(b, 4, generator=torch.Generator().manual_seed(5)).argsort(1)
    out = FC.color_jitter(x, *facs, hf, order)
    ref = FC._color_jitter(x, *facs, hf, order)  # one pass
    assert torch.equal(out, ref)
    if identity and dtype == torch.uint8:  # the identity slots are really left out, and in several runs
        plan = FC._jitter_plan(x, *facs, hf, order)
        assert int((plan.codes == 3).sum()) > 3 * b  # without them 3 of each sample's 6 slots are empty
        assert len(set(plan.n_before[plan.n_after > 0].tolist())) >= 2  # after-hue slots in several runs
    x0 = x.clone()
    assert FC.color_jitter(x, *facs, hf, order, out=x) is x and torch.equal(x, ref)  # in place
    xc = x0.contiguous(memory_format=torch.channels_last)
    outc = FC.color_jitter(xc, *facs, hf, order)
    assert outc.is_contiguous(memory_format=torch.channels_last) and torch.equal(outc, ref)


@pytest.mark.peer
def test_kornia_per_sample_kernels_agree():
    """kornia.enhance also takes per-sample factors: where its maths is torchvision's, we agree.

    (kornia's brightness is additive, its contrast has no mean term, its saturation goes through
    HSV and its float posterize through uint8, so those are not compared.)
    """
    KE = pytest.importorskip("kornia.enhance")
    KF = pytest.importorskip("kornia.filters")
    import math

    x = _images(torch.float32, h=16, w=16)
    t, f, h = _factors(0.0, 1.0, 1), _factors(0.0, 2.0, 2), _factors(-0.5, 0.5, 3)
    torch.testing.assert_close(FC.solarize(x, t), KE.solarize(x, t), rtol=0, atol=0)
    torch.testing.assert_close(FC.invert(x), KE.invert(x), rtol=0, atol=0)
    torch.testing.assert_close(FC.adjust_sharpness(x, f), KE.sharpness(x, f), rtol=0, atol=1e-6)
    torch.testing.assert_close(FC.adjust_gamma(x, f + 0.2), KE.adjust_gamma(x, f + 0.2), rtol=0, atol=1e-6)
    torch.testing.assert_close(FC.adjust_hue(x, h), KE.adjust_hue(x, h * 2 * math.pi), rtol=0, atol=1e-5)
    sigma = _factors(0.3, 2.3, 4)
    ref = KF.gaussian_blur2d(x, (5, 5), torch.stack([sigma, sigma], 1), border_type="reflect")
    torch.testing.assert_close(FN.gaussian_blur(x, (5, 5), sigma), ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kernel", [FC.color_jitter, FC.color_jitter_fused])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("one_order", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_color_jitter_out_may_be_the_input(kernel, dtype, one_order, channels_last):
    """``out=x`` gives the same values as a fresh output: with one order for every sample (no
    regrouping) and with many (samples regrouped, then put back), in both layouts."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (9, 3, 10, 12), generator=g, dtype=torch.uint8)
    x = x if dtype == torch.uint8 else x.float() / 255
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    b, c, s = (0.6 + 0.8 * torch.rand(9, generator=g) for _ in range(3))
    h = 0.2 * torch.rand(9, generator=g) - 0.1
    order = torch.tensor([[0, 1, 2, 3]] * 9) if one_order else torch.rand(9, 4, generator=g).argsort(1)
    ref = kernel(x, b, c, s, h, order)
    y = x.clone()
    res = kernel(y, b, c, s, h, order, out=y)
    assert res.data_ptr() == y.data_ptr() and torch.equal(y, ref)
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last
    with pytest.raises(ValueError, match="out must be a tensor of the input's shape"):
        kernel(x, b, c, s, h, order, out=torch.empty(9, 3, 10, 11, dtype=dtype))


def test_integer_smoothing_is_bit_exact_to_the_float_convolution():
    # the uint8 sharpness path's separable smoother rounds exactly as conv2d with the float kernel
    # [1 1 1; 1 5 1; 1 1 1] / 13 followed by round() (torchvision's uint8 rule), all 256 levels included
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 256, (4, 3, 37, 29), generator=g, dtype=torch.uint8).float()
    x[0, 0, :16, :16] = torch.arange(256.0).view(16, 16)
    a, b = 1.0 / 13.0, 5.0 / 13.0
    k = torch.tensor(((a, a, a), (a, b, a), (a, a, a))).expand(3, 1, 3, 3)
    ref = torch.nn.functional.conv2d(x, k, groups=3).round_()
    out = FC._smooth_integer(x)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
