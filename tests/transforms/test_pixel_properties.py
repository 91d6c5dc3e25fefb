"""Properties of the issue-23 part A transforms (blur, filters, noise, quality), one parametrised
test per property over every op: identity at zero strength, dtype and range kept, per-sample
parameters differ across the batch (and agree with ``same_on_batch``), seeded reproducibility,
replay, targets passed through."""

from __future__ import annotations

import pytest
import torch

import torchaug.transforms as T

OPS = {
    "Blur": lambda **kw: T.Blur(**kw),
    "MedianBlur": lambda **kw: T.MedianBlur(**kw),
    "MotionBlur": lambda **kw: T.MotionBlur(**kw),
    "Defocus": lambda **kw: T.Defocus(radius=(1, 6), **kw),
    "ZoomBlur": lambda **kw: T.ZoomBlur(**kw),
    "GlassBlur": lambda **kw: T.GlassBlur(max_delta=2, **kw),
    "AdvancedBlur": lambda **kw: T.AdvancedBlur(**kw),
    "Sharpen": lambda **kw: T.Sharpen(**kw),
    "SharpenGaussian": lambda **kw: T.Sharpen(method="gaussian", **kw),
    "Emboss": lambda **kw: T.Emboss(**kw),
    "UnsharpMask": lambda **kw: T.UnsharpMask(threshold=0, **kw),
    "EdgeDetect": lambda **kw: T.EdgeDetect(**kw),
    "ShotNoise": lambda **kw: T.ShotNoise(**kw),
    "MultiplicativeNoise": lambda **kw: T.MultiplicativeNoise(**kw),
    "AdditiveNoise": lambda **kw: T.AdditiveNoise(**kw),
    "AdditiveNoiseLaplace": lambda **kw: T.AdditiveNoise(noise_type="laplace", spatial_mode="shared", approximation=0.5, **kw),
    "ISONoise": lambda **kw: T.ISONoise(**kw),
    "ImageCompression": lambda **kw: T.ImageCompression(quality_range=(5, 60), **kw),
    "Downscale": lambda **kw: T.Downscale(scale_range=(0.2, 0.8), **kw),
    "DownscaleLinear": lambda **kw: T.Downscale(scale_range=(0.2, 0.8), interpolation_pair={"downscale": "linear", "upscale": "linear"}, **kw),
    "Pixelate": lambda **kw: T.Pixelate(**kw),
}

# the zero-strength setting of each op that has one
IDENTITY = {
    "Blur": lambda: T.Blur(blur_limit=1, p=1.0),
    "MedianBlur": lambda: T.MedianBlur(blur_limit=1, p=1.0),
    "MotionBlur": lambda: T.MotionBlur(blur_limit=1, p=1.0),
    "AdvancedBlur": lambda: T.AdvancedBlur(blur_limit=1, p=1.0),
    "ZoomBlur": lambda: T.ZoomBlur(max_factor=1.0, p=1.0),
    "Sharpen": lambda: T.Sharpen(alpha=0.0, p=1.0),
    "SharpenGaussian": lambda: T.Sharpen(alpha=0.0, method="gaussian", p=1.0),
    "Emboss": lambda: T.Emboss(alpha=0.0, p=1.0),
    "UnsharpMask": lambda: T.UnsharpMask(alpha=0.0, p=1.0),
    "EdgeDetect": lambda: T.EdgeDetect(alpha=0.0, p=1.0),
    "Convolve": lambda: T.Convolve([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "MultiplicativeNoise": lambda: T.MultiplicativeNoise(multiplier=1.0, elementwise=True, p=1.0),
    "AdditiveNoise": lambda: T.AdditiveNoise(noise_params={"ranges": [(0.0, 0.0)]}, p=1.0),
    "ISONoise": lambda: T.ISONoise(color_shift=0.0, intensity=0.0, p=1.0),
    "Downscale": lambda: T.Downscale(scale_range=(1.0, 1.0), p=1.0),
    "Pixelate": lambda: T.Pixelate(block_size=1, p=1.0),
}


def _photos(b: int = 6, size: int = 24, dtype: torch.dtype = torch.uint8) -> torch.Tensor:
    from torchaug.preview import sample_photos

    x, _ = sample_photos(b, size)
    return x if dtype == torch.uint8 else (x.to(torch.float32) / 255).to(dtype)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", sorted(IDENTITY))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_zero_strength_is_identity(name, dtype):
    x = _photos(3, 20, dtype)
    out = IDENTITY[name]()(x, generator=_gen(0))
    if dtype == torch.uint8:
        assert torch.equal(out, x), name
    else:
        torch.testing.assert_close(out, x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16])  # float64, bfloat16: the bad-input sweep
def test_dtype_shape_and_range_kept_and_the_image_changes(name, dtype):
    x = _photos(3, 24, dtype)
    out = OPS[name](p=1.0)(x, generator=_gen(1))
    assert out.dtype == dtype and out.shape == x.shape
    o = out.double()
    hi = 255 if dtype == torch.uint8 else 1
    assert torch.isfinite(o).all() and o.min() >= 0 and o.max() <= hi
    assert not torch.equal(out, x), f"{name} left every image unchanged"


@pytest.mark.parametrize("name", sorted(OPS))
def test_per_sample_parameters_differ_and_same_on_batch_agrees(name):
    x = _photos(1, 24).expand(8, -1, -1, -1).contiguous()  # one image, 8 times
    out = OPS[name](p=1.0)(x, generator=_gen(2))
    flat = out.flatten(1)
    assert not (flat == flat[:1]).all(), f"{name}: every sample got the same parameters"
    if name not in ("ShotNoise", "ISONoise", "GlassBlur"):  # their random fields are per pixel anyway
        same = OPS[name](p=1.0, same_on_batch=True)(x, generator=_gen(2))
        assert (same == same[:1]).all(), f"{name}: same_on_batch gave different results"


@pytest.mark.parametrize("name", sorted(OPS))
def test_seeded_reproducibility_replay_and_p(name):
    x = _photos(4, 20)
    t = OPS[name](p=0.5)
    a, params = t(x, generator=_gen(3), return_params=True)
    assert torch.equal(a, t(x, generator=_gen(3)))
    assert torch.equal(a, t(x, params=params))  # replaying the drawn parameters gives the same images
    keep = ~params["apply"]
    assert torch.equal(a[keep], x[keep])  # p: samples not selected are unchanged
    b = OPS[name](p=1.0)(x, generator=_gen(4))
    c = OPS[name](p=1.0)(x, generator=_gen(5))
    assert not torch.equal(b, c)


@pytest.mark.parametrize("name", ["MotionBlur", "AdditiveNoise", "Downscale"])
def test_targets_pass_through_and_region_restricts(name):
    x = _photos(2, 20)
    mask = torch.randint(0, 3, (2, 20, 20))
    boxes = torch.tensor([[[2.0, 3.0, 10.0, 12.0]], [[0.0, 0.0, 5.0, 5.0]]])
    out = OPS[name](p=1.0)({"image": x, "mask": mask, "boxes": boxes}, generator=_gen(6))
    assert torch.equal(out["mask"], mask) and torch.equal(out["boxes"], boxes)
    region = torch.zeros(2, 20, 20, dtype=torch.bool)
    region[:, :10] = True
    r = OPS[name](p=1.0)(x, generator=_gen(6), region=region)
    assert torch.equal(r[:, :, 10:], x[:, :, 10:]) and not torch.equal(r[:, :, :10], x[:, :, :10])


def test_channels_last_and_grey_images():
    x = _photos(2, 20)
    for name, make in OPS.items():
        cl = make(p=1.0)(x.contiguous(memory_format=torch.channels_last), generator=_gen(7))
        assert cl.is_contiguous(memory_format=torch.channels_last), name
        assert torch.equal(cl, make(p=1.0)(x, generator=_gen(7))), name
        grey = make(p=1.0)(x[:, :1], generator=_gen(7))
        assert grey.shape == (2, 1, 20, 20), name


def test_image_compression_quality_orders_the_error():
    x = _photos(2, 32)
    err = []
    for q in (5, 30, 90):
        out = T.ImageCompression(quality_range=(q, q), p=1.0)(x)
        err.append((out.float() - x.float()).abs().mean())
    assert err[0] > err[1] > err[2] > 0


def test_pixel_degradations_config_composes_and_runs():
    from torchaug.preview import load_config

    t = load_config("transforms", "pixel_degradations")
    x = _photos(4, 24)
    out = t(x, generator=_gen(8))
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert torch.equal(out, t(x, generator=_gen(8)))


@pytest.mark.parametrize("channels", [3, 1])
def test_glass_blur_exact_mode_is_batched_replayable_and_reads_nothing_back(channels):
    from tests_support import forbid_host_reads

    x = torch.randint(0, 256, (3, channels, 16, 18), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    t = T.GlassBlur(sigma=0.7, max_delta=2, iterations=2, mode="exact", p=1.0)
    out, p = t(x, generator=torch.Generator().manual_seed(1), return_params=True)
    with forbid_host_reads():
        again = t(x, params=p)
    assert torch.equal(out, again) and out.shape == x.shape
    # per sample: each sample alone gives its own row of the batch
    for i in range(3):
        assert torch.equal(t(x[i:i + 1], params={"dxy": p["dxy"][i:i + 1], "apply": p["apply"][i:i + 1]}), out[i:i + 1])
    with pytest.raises(ValueError, match="mode"):
        T.GlassBlur(mode="slow")
