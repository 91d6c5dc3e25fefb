"""Random colour transforms: per-sample parameters, p, replay, ranges, dtypes, regions, targets."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from torchaug.transforms import (
    ColorJitter,
    Normalize,
    RandomAdjustSharpness,
    RandomAutocontrast,
    RandomEqualize,
    RandomGamma,
    RandomGrayscale,
    RandomInvert,
    RandomPosterize,
    RandomSolarize,
)

B = 16


def _images(dtype=torch.uint8, b=B, c=3, h=12, w=12, seed=0, lo=0, hi=256):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(lo, hi, (b, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else (x.to(torch.float32) / 255).to(dtype)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


ALL = [
    lambda p: ColorJitter(0.4, 0.4, 0.4, 0.1, p=p),
    lambda p: RandomGrayscale(p=p),
    lambda p: RandomInvert(p=p),
    lambda p: RandomPosterize(bits=(2, 5), p=p),
    lambda p: RandomSolarize(threshold=(0.2, 0.8), p=p),
    lambda p: RandomAdjustSharpness(sharpness_factor=(0.0, 3.0), p=p),
    lambda p: RandomAutocontrast(p=p),
    lambda p: RandomEqualize(p=p),
    lambda p: RandomGamma(gamma=(0.5, 2.0), p=p),
]
NAMES = ["jitter", "gray", "invert", "posterize", "solarize", "sharpness", "autocontrast", "equalize", "gamma"]


@pytest.mark.parametrize("make", ALL, ids=NAMES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_p0_identity_p1_applied(make, dtype):
    x = _images(dtype, h=20, w=20, lo=40, hi=200)  # low contrast: autocontrast has work to do
    torch.testing.assert_close(make(0.0)(x, generator=_gen()), x, rtol=0, atol=0)
    out, params = make(1.0)(x, generator=_gen(), return_params=True)
    assert bool(params["apply"].all())
    changed = (out != x).flatten(1).any(1)
    assert float(changed.float().mean()) > 0.8


@pytest.mark.parametrize("make", ALL, ids=NAMES)
def test_p_is_per_sample(make):
    x = _images(h=20, w=20, b=64)
    out, params = make(0.5)(x, generator=_gen(1), return_params=True)
    apply = params["apply"]
    assert 0 < int(apply.sum()) < 64
    torch.testing.assert_close(out[~apply], x[~apply], rtol=0, atol=0)


@pytest.mark.parametrize("make", ALL, ids=NAMES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16, torch.bfloat16])
def test_range_dtype_format_and_replay(make, dtype):
    x = _images(dtype).contiguous(memory_format=torch.channels_last)
    t = make(0.7)
    out, params = t(x, generator=_gen(2), return_params=True)
    assert out.dtype == dtype and out.shape == x.shape
    assert out.is_contiguous(memory_format=torch.channels_last)
    if dtype != torch.uint8:
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    again = t(x, params=params)
    torch.testing.assert_close(again, out, rtol=0, atol=0)
    single = t(x[0], generator=_gen(3))
    assert single.shape == x[0].shape


def test_color_jitter_per_sample_factors_and_orders():
    t = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    x = _images(b=64)
    _, params = t(x, generator=_gen(), return_params=True)
    for name, (lo, hi) in [
        ("brightness_factor", (0.6, 1.4)),
        ("contrast_factor", (0.6, 1.4)),
        ("saturation_factor", (0.6, 1.4)),
        ("hue_factor", (-0.1, 0.1)),
    ]:
        f = params[name]
        assert f.shape == (64,) and float(f.min()) >= lo and float(f.max()) <= hi
        assert len(set(f.tolist())) == 64  # every sample its own factor
    order = params["order"]
    assert order.shape == (64, 4)
    assert torch.equal(order.sort(1).values, torch.arange(4).expand(64, 4))
    assert len({tuple(o) for o in order.tolist()}) > 10  # many different orders in one batch


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_color_jitter_replays_torchvision(dtype, device):
    t = ColorJitter(brightness=0.5, contrast=(0.3, 1.7), saturation=0.5, hue=0.3)
    x = _images(dtype, b=32)
    out, params = t(x.to(device), generator=torch.Generator(device).manual_seed(4), return_params=True)
    out, params = out.cpu(), {k: v.cpu() for k, v in params.items()}
    names = ["brightness_factor", "contrast_factor", "saturation_factor", "hue_factor"]
    fns = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    for i in range(32):
        y = x[i]
        for k in params["order"][i].tolist():
            y = fns[k](y, float(params[names[k]][i]))
        d = (out[i].double() - y.double()).abs().max()
        assert float(d) <= (1.0 if dtype == torch.uint8 else 1e-5)


def test_color_jitter_uint8_parity_at_full_size(device):
    """At 224x224 (chunked, rows gathered one by one on CPU) the uint8 result matches torchvision
    exactly except for rare one-level hue differences, which a later contrast or saturation step
    can carry to at most 3 levels."""
    t = ColorJitter(0.4, 0.4, 0.4, 0.1)
    x = _images(b=8, h=224, w=224, seed=3)
    x[:, :, :16, :16] = 128  # grey pixels: the hue's range is 0
    out, params = t(x.to(device), generator=torch.Generator(device).manual_seed(7), return_params=True)
    out, params = out.cpu(), {k: v.cpu() for k, v in params.items()}
    names = ["brightness_factor", "contrast_factor", "saturation_factor", "hue_factor"]
    fns = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    differing = 0
    for i in range(8):
        y = x[i]
        order = params["order"][i].tolist()
        for k in order:
            y = fns[k](y, float(params[names[k]][i]))
        d = (out[i].int() - y.int()).abs()
        differing += int((d > 0).sum())
        assert int(d.max()) <= (1 if order[-1] == 3 else 3)
    assert differing <= 1e-4 * out.numel()


def test_color_jitter_same_on_batch_and_arguments():
    t = ColorJitter(0.4, 0.4, 0.4, 0.1, same_on_batch=True)
    x = _images()
    out, params = t(x, generator=_gen(), return_params=True)
    for v in params.values():
        assert (v == v[0]).all()
    x2 = x[:1].expand_as(x).contiguous()
    out2 = t(x2, params=params)
    assert (out2 == out2[0]).all()
    # argument forms, as torchvision
    assert ColorJitter(brightness=0.0).brightness is None
    assert ColorJitter(brightness=1.5).brightness == (0.0, 2.5)
    assert ColorJitter(hue=(-0.2, 0.1)).hue == (-0.2, 0.1)
    for bad in [dict(brightness=-0.1), dict(hue=0.6), dict(contrast=(1.5, 0.5))]:
        with pytest.raises(ValueError, match="ColorJitter"):
            ColorJitter(**bad)
    with pytest.raises(TypeError, match="ColorJitter: saturation"):
        ColorJitter(saturation="a lot")
    with pytest.raises(ValueError, match="ColorJitter: x must have 1 or 3 channels"):
        ColorJitter(0.4)(torch.zeros(2, 4, 8, 8))
    assert "brightness=(0.6, 1.4)" in repr(ColorJitter(0.4))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_color_jitter_without_hue_and_grey_images(dtype, device):
    """One channel: saturation and hue are the identity (torchvision), on every code path (the
    one-pass path once scaled the grey plane, which is the image itself, by the saturation slot)."""
    x = _images(dtype, c=1)
    out, params = ColorJitter(0.4, 0.4, 0.4, 0.2)(x.to(device), generator=torch.Generator(device).manual_seed(0), return_params=True)
    out, params = out.cpu(), {k: v.cpu() for k, v in params.items()}
    assert out.shape == x.shape
    for i in range(B):
        y = x[i]
        for k in params["order"][i].tolist():
            if k == 0:
                y = TF.adjust_brightness(y, float(params["brightness_factor"][i]))
            elif k == 1:
                y = TF.adjust_contrast(y, float(params["contrast_factor"][i]))
        assert float((out[i].double() - y.double()).abs().max()) <= (1.0 if dtype == torch.uint8 else 1e-5)


def test_region_restricts_colour_op():
    x = _images(torch.float32, b=4, h=8, w=8)
    region = torch.zeros(4, 8, 8, dtype=torch.bool)
    region[:, :, 4:] = True  # recolour only the right half (e.g. the background)
    out = ColorJitter(brightness=(0.2, 0.3))(x, region=region, generator=_gen())
    torch.testing.assert_close(out[..., :4], x[..., :4], rtol=0, atol=0)
    assert bool((out[..., 4:] < x[..., 4:] + 1e-6).all()) and bool((out[..., 4:] != x[..., 4:]).any())


def test_targets_pass_through_unchanged():
    x = _images(b=2, h=8, w=8)
    mask = torch.randint(0, 3, (2, 8, 8))
    boxes = torch.tensor([[[1.0, 1.0, 5.0, 6.0]], [[0.0, 2.0, 3.0, 7.0]]])
    res = ColorJitter(0.4, 0.4, 0.4, 0.1)({"image": x, "mask": mask, "boxes": boxes, "label": 3}, generator=_gen())
    assert torch.equal(res["mask"], mask) and torch.equal(res["boxes"], boxes) and res["label"] == 3
    assert res["image"].shape == x.shape and not torch.equal(res["image"], x)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_posterize_solarize_sharpness_gamma_replay_torchvision(dtype):
    x = _images(dtype)
    scale = 255 if dtype == torch.uint8 else 1.0
    out, p = RandomPosterize(bits=(1, 7), p=1.0)(x, generator=_gen(), return_params=True)
    assert len(set(p["bits"].tolist())) > 3
    ref = torch.stack([TF.posterize(x[i], int(p["bits"][i])) for i in range(B)])
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-7)
    out, p = RandomSolarize(threshold=(0.1, 0.9), p=1.0)(x, generator=_gen(), return_params=True)
    ref = torch.stack([TF.solarize(x[i], float(p["threshold"][i]) * scale) for i in range(B)])
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    out, p = RandomAdjustSharpness(sharpness_factor=(0.0, 4.0), p=1.0)(x, generator=_gen(), return_params=True)
    ref = torch.stack([TF.adjust_sharpness(x[i], float(p["sharpness_factor"][i])) for i in range(B)])
    torch.testing.assert_close(out.double(), ref.double(), rtol=0, atol=1.0 if dtype == torch.uint8 else 1e-5)
    out, p = RandomGamma(gamma=(0.3, 3.0))(x, generator=_gen(), return_params=True)
    ref = torch.stack([TF.adjust_gamma(x[i], float(p["gamma"][i])) for i in range(B)])
    torch.testing.assert_close(out.double(), ref.double(), rtol=0, atol=1.0 if dtype == torch.uint8 else 1e-5)


def test_grayscale_invert_equalize_autocontrast():
    x = _images()
    out = RandomGrayscale(p=1.0)(x)
    assert (out[:, 0] == out[:, 1]).all() and (out[:, 1] == out[:, 2]).all()
    torch.testing.assert_close(RandomInvert(p=1.0)(x), 255 - x)
    torch.testing.assert_close(RandomEqualize(p=1.0)(x), torch.stack([TF.equalize(i) for i in x]))
    torch.testing.assert_close(RandomAutocontrast(p=1.0)(x), torch.stack([TF.autocontrast(i) for i in x]))


def test_normalize():
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    n = Normalize(mean, std)
    x = _images(torch.float32)
    torch.testing.assert_close(n(x), TF.normalize(x, list(mean), list(std)))
    u = _images(torch.uint8)
    out = n(u)
    assert out.dtype == torch.float32  # uint8 in: scaled to [0, 1], float out
    torch.testing.assert_close(out, TF.normalize(u.float() / 255, list(mean), list(std)))
    assert n(x[0]).shape == x[0].shape
    assert n(x.half()).dtype == torch.float16
    with pytest.raises(ValueError, match="Normalize: std"):
        Normalize(mean, (0.2, 0.0, 0.2))
    with pytest.raises(ValueError, match="Normalize: x must have 3 channels"):
        n(torch.zeros(2, 1, 4, 4))


def test_bad_arguments():
    with pytest.raises(ValueError, match="RandomPosterize: bits"):
        RandomPosterize(bits=9)
    with pytest.raises(ValueError, match="RandomSolarize: threshold"):
        RandomSolarize(threshold=1.5)
    with pytest.raises(ValueError, match="RandomAdjustSharpness: sharpness_factor"):
        RandomAdjustSharpness(sharpness_factor=-1.0)
    with pytest.raises(ValueError, match="RandomGrayscale: p"):
        RandomGrayscale(p=2.0)
    with pytest.raises(TypeError, match="RandomGamma: gamma"):
        RandomGamma(gamma=2.0)
