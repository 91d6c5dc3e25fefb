"""Geometric transforms: replay parity with torchvision v2, p, per-sample params, dtypes, formats."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torchvision.transforms import v2

from torchaug.transforms import (
    CenterCrop,
    ElasticTransform,
    Pad,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomPerspective,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
)

B = 6


def _x(dtype=torch.uint8, b=B, h=20, w=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _close(a, b, dtype):
    diff = (a.float() - b.float()).abs().max().item()
    assert diff <= (1.0 if dtype == torch.uint8 else 1e-5), diff


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- replay parity with torchvision v2 functional, sample by sample ---------------------------
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_crop_replay_parity(dtype):
    x = _x(dtype)
    for mode in ("constant", "reflect", "edge", "symmetric"):
        t = RandomCrop(16, padding=(3, 2), padding_mode=mode, fill=5 if dtype == torch.uint8 else 0.1)
        out, p = t(x, generator=_gen(), return_params=True)
        assert out.shape == (B, 3, 16, 16)
        xp = TF.pad(x, [3, 2, 3, 2], padding_mode=mode, fill=t.fill)
        for i in range(B):
            ref = TF.crop(xp[i], int(p["top"][i]) + 2, int(p["left"][i]) + 3, 16, 16)
            assert torch.equal(out[i], ref)


def test_random_crop_padding_buffer_is_refilled_for_every_call():
    # constant padding goes through a reused buffer: a later call with another fill or size must
    # not see the earlier fill, and earlier outputs must not change
    x = _x(torch.uint8)
    first = RandomCrop(16, padding=4, fill=200)(x, generator=_gen())
    kept = first.clone()
    for fill, size in ((0, 16), (7, 12), (0, 16)):
        t = RandomCrop(size, padding=4, fill=fill)
        out, p = t(x, generator=_gen(1), return_params=True)
        xp = TF.pad(x, [4, 4, 4, 4], fill=fill)
        for i in range(B):
            assert torch.equal(out[i], TF.crop(xp[i], int(p["top"][i]) + 4, int(p["left"][i]) + 4, size, size))
    assert torch.equal(first, kept)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_resized_crop_replay_parity(dtype):
    x = _x(dtype, h=32, w=40)
    for method in ("loop", "separable"):
        t = RandomResizedCrop((12, 16), method=method)
        out, p = t(x, generator=_gen(), return_params=True)
        assert out.shape == (B, 3, 12, 16)
        for i in range(B):
            ref = TF.resized_crop(x[i], int(p["top"][i]), int(p["left"][i]), int(p["height"][i]), int(p["width"][i]), [12, 16])
            if method == "loop":
                assert torch.equal(out[i], ref) if dtype == torch.uint8 else torch.allclose(out[i], ref, atol=1e-6)
            else:
                _close(out[i], ref, dtype)


def test_random_resized_crop_sampling_follows_torchvision_rules():
    x = _x(h=64, w=48, b=512)
    t = RandomResizedCrop(8, scale=(0.2, 0.6), ratio=(0.5, 2.0))
    _, p = t(x, generator=_gen(), return_params=True)
    area = (p["height"] * p["width"]).float() / (64 * 48)
    assert (p["top"] >= 0).all() and (p["top"] + p["height"] <= 64).all()
    assert (p["left"] >= 0).all() and (p["left"] + p["width"] <= 48).all()
    assert area.min() > 0.15 and area.max() < 0.66  # rounding of w, h loosens the bounds a bit
    ratio = p["width"].float() / p["height"].float()
    assert ratio.min() > 0.4 and ratio.max() < 2.3
    # impossible constraints: torchvision's centre-crop fallback
    t = RandomResizedCrop(8, scale=(2.0, 3.0), ratio=(1.0, 1.0))
    _, p = t(_x(h=20, w=30), generator=_gen(), return_params=True)
    assert p["height"].tolist() == [20] * B and p["width"].tolist() == [20] * B and p["left"].tolist() == [5] * B


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_random_affine_replay_parity(dtype, interpolation):
    x = _x(dtype)
    t = RandomAffine(degrees=30, translate=(0.2, 0.1), scale=(0.7, 1.3), shear=(-10, 10, -5, 5), interpolation=interpolation, fill=3 if dtype == torch.uint8 else 0.0)
    out, p = t(x, generator=_gen(), return_params=True)
    for i in range(B):
        ref = TF.affine(
            x[i], angle=float(p["angle"][i]), translate=p["translate"][i].tolist(), scale=float(p["scale"][i]),
            shear=p["shear"][i].tolist(), interpolation=TF.InterpolationMode(interpolation), fill=t.fill,
        )
        _close(out[i], ref, dtype)
    assert (p["translate"] == p["translate"].round()).all()  # whole pixels, as torchvision
    assert (p["translate"][:, 0].abs() <= 0.2 * 24).all() and (p["translate"][:, 1].abs() <= 0.1 * 20).all()


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_rotation_replay_parity(dtype):
    x = _x(dtype)
    t = RandomRotation((-90, 90), interpolation="bilinear", center=(5, 7))
    out, p = t(x, generator=_gen(), return_params=True)
    for i in range(B):
        ref = TF.rotate(x[i], float(p["angle"][i]), interpolation=TF.InterpolationMode.BILINEAR, center=[5, 7], fill=0)
        _close(out[i], ref, dtype)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_perspective_replay_parity(dtype):
    x = _x(dtype)
    t = RandomPerspective(0.6, p=1.0)
    out, p = t(x, generator=_gen(), return_params=True)
    h, w = 20, 24
    bh, bw = int(0.6 * (h // 2)) + 1, int(0.6 * (w // 2)) + 1
    e = p["endpoints"]
    assert (e[:, 0, 0] < bw).all() and (e[:, 1, 0] >= w - bw).all() and (e[:, 2, 1] >= h - bh).all()
    for i in range(B):
        ref = TF.perspective(x[i], p["startpoints"][i].int().tolist(), p["endpoints"][i].int().tolist(), fill=0)
        _close(out[i], ref, dtype)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_elastic_replay_parity_and_displacement_statistics(dtype):
    x = _x(dtype, h=48, w=48)
    t = ElasticTransform(alpha=30.0, sigma=3.0)
    out, p = t(x, generator=_gen(), return_params=True)
    d = p["displacement"]
    assert d.shape == (B, 48, 48, 2)
    for i in range(B):
        _close(out[i], TF.elastic(x[i], d[i : i + 1], fill=0), dtype)
    # same statistics as torchvision's own sampling (blurred uniform noise scaled by alpha / size)
    ref = v2.ElasticTransform(alpha=30.0, sigma=3.0)
    torch.manual_seed(0)
    ref_d = torch.stack([ref.make_params([x[0]])["displacement"][0] for _ in range(B)])
    assert abs(d.std().item() - ref_d.std().item()) < 0.5 * ref_d.std().item()


def test_deterministic_ops_match_torchvision():
    x = _x()
    assert torch.equal(Resize(10)(x), TF.resize(x, 10))
    assert torch.equal(Resize((12, 30), interpolation="nearest")(x), TF.resize(x, [12, 30], interpolation=TF.InterpolationMode.NEAREST))
    assert torch.equal(CenterCrop((10, 30))(x), TF.center_crop(x, [10, 30]))
    assert torch.equal(Pad((1, 2, 3, 4), padding_mode="reflect")(x), TF.pad(x, [1, 2, 3, 4], padding_mode="reflect"))
    assert torch.equal(RandomHorizontalFlip(p=1.0)(x), x.flip(-1))
    assert torch.equal(RandomVerticalFlip(p=1.0)(x), x.flip(-2))


# --- p, per-sample parameters, same_on_batch ----------------------------------------------------
KEEP_SIZE = [
    lambda p: RandomHorizontalFlip(p=p),
    lambda p: RandomVerticalFlip(p=p),
    lambda p: RandomAffine(degrees=(20, 40), translate=(0.1, 0.1), p=p),
    lambda p: RandomRotation((20, 45), p=p),
    lambda p: RandomPerspective(0.5, p=p),
    lambda p: ElasticTransform(20.0, 3.0, p=p),
]


@pytest.mark.parametrize("make", KEEP_SIZE)
def test_p0_identity_p1_applied_and_per_sample_p(make):
    x = _x(b=32)
    assert torch.equal(make(0.0)(x, generator=_gen()), x)
    out = make(1.0)(x, generator=_gen())
    changed = (out != x).flatten(1).any(1)
    assert changed.all()
    out, p = make(0.5)(x, generator=_gen(), return_params=True)
    changed = (out != x).flatten(1).any(1)
    assert torch.equal(changed, p["apply"])
    assert 4 <= int(p["apply"].sum()) <= 28


def test_crops_p_gives_neutral_params():
    x = _x(b=64)
    _, p = RandomCrop(16, padding=4, p=0.5)(x, generator=_gen(), return_params=True)
    off = ~p["apply"]
    assert off.any() and p["apply"].any()
    assert (p["top"][off] == 2).all() and (p["left"][off] == 4).all()  # centre crop of the padded image
    out, p = RandomResizedCrop(8, p=0.0)(x, generator=_gen(), return_params=True)
    assert (p["height"] == 20).all() and (p["width"] == 24).all()
    assert torch.equal(out, TF.resize(x, [8, 8]))


@pytest.mark.parametrize(
    "make,key",
    [
        (lambda s: RandomCrop(12, padding=4, same_on_batch=s), "top"),
        (lambda s: RandomResizedCrop(8, same_on_batch=s), "height"),
        (lambda s: RandomAffine(30, same_on_batch=s), "angle"),
        (lambda s: RandomRotation(30, same_on_batch=s), "angle"),
        (lambda s: RandomPerspective(0.5, p=1.0, same_on_batch=s), "coefficients"),
        (lambda s: ElasticTransform(same_on_batch=s), "displacement"),
    ],
)
def test_different_samples_get_different_params_and_same_on_batch(make, key):
    x = _x(b=16)
    _, p = make(False)(x, generator=_gen(), return_params=True)
    assert len({tuple(v.flatten().tolist()) for v in p[key]}) > 4
    out, p = make(True)(x, generator=_gen(), return_params=True)
    assert all(torch.equal(p[key][0], v) for v in p[key])


def test_generator_reproducible_and_replay():
    x = _x()
    t = RandomAffine(20, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5, interpolation="bilinear")
    a, p = t(x, generator=_gen(3), return_params=True)
    b = t(x, generator=_gen(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, t(x, generator=_gen(4)))
    assert torch.equal(t(x, params=p), a)
    torch.manual_seed(0)
    c = t(x)
    torch.manual_seed(0)
    assert torch.equal(c, t(x))  # global RNG without a generator


# --- dtypes, range, memory format ---------------------------------------------------------------
ALL = [
    RandomHorizontalFlip(p=0.5),
    RandomVerticalFlip(p=0.5),
    RandomCrop(16, padding=4, padding_mode="reflect"),
    RandomResizedCrop(12),
    RandomAffine(30, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10, interpolation="bilinear"),
    RandomRotation(40, interpolation="bilinear"),
    RandomPerspective(0.5, p=1.0),
    ElasticTransform(30.0, 3.0),
    Resize((10, 14)),
    CenterCrop(12),
    Pad(2, padding_mode="symmetric"),
]


@pytest.mark.parametrize("t", ALL, ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16, torch.bfloat16])
def test_dtype_range_and_channels_last_kept(t, dtype):
    x = _x(dtype)
    for fmt in (torch.contiguous_format, torch.channels_last):
        xi = x.contiguous(memory_format=fmt)
        out = t(xi, generator=_gen())
        assert out.dtype == dtype
        assert out.is_contiguous(memory_format=fmt), (type(t).__name__, fmt)
        if dtype.is_floating_point:
            assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        ref = t(x, generator=_gen())
        assert torch.equal(out, ref)  # memory format does not change the values
    if dtype in (torch.float16, torch.bfloat16):
        full = t(x.float(), generator=_gen())
        torch.testing.assert_close(out.float(), full, atol=2e-2, rtol=0)


def test_single_image_and_torchvision_compose():
    x = _x()[0]
    out = RandomAffine(20)(x, generator=_gen())
    assert out.shape == x.shape
    pipe = v2.Compose([RandomCrop(16, padding=2), RandomHorizontalFlip(), v2.RandomGrayscale(p=0.5)])
    torch.manual_seed(0)
    out = pipe(x)
    assert out.shape == (3, 16, 16) and out.dtype == torch.uint8
    from torchvision import tv_tensors

    img = tv_tensors.Image(x)
    out = RandomRotation(10)(img)
    assert isinstance(out, tv_tensors.Image)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="RandomRotation: expand"):
        RandomRotation(10, expand=True)
    with pytest.raises(ValueError, match="RandomCrop: size"):
        RandomCrop(0)
    with pytest.raises(ValueError, match="RandomCrop: size .* larger"):
        RandomCrop(40)(_x())
    with pytest.raises(ValueError, match="RandomAffine: interpolation"):
        RandomAffine(10, interpolation="bicubic")
    with pytest.raises(ValueError, match="RandomAffine: translate"):
        RandomAffine(10, translate=(1.5, 0.0))
    with pytest.raises(ValueError, match="RandomResizedCrop: scale"):
        RandomResizedCrop(8, scale=(0.9, 0.1))
    with pytest.raises(ValueError, match="RandomPerspective: distortion_scale"):
        RandomPerspective(1.5)
    with pytest.raises(ValueError, match="RandomHorizontalFlip: p"):
        RandomHorizontalFlip(p=2.0)
    with pytest.raises(TypeError, match="RandomHorizontalFlip"):
        RandomHorizontalFlip()(torch.zeros(2, 3, 4, 4, dtype=torch.int32))
    assert "RandomCrop(12, padding=2" not in repr(RandomCrop(12, padding=2))  # repr is informative
    assert "padding=(2, 2, 2, 2)" in repr(RandomCrop(12, padding=2))


def test_pad_if_needed():
    x = _x(h=10, w=12)
    out, p = RandomCrop(16, pad_if_needed=True)(x, generator=_gen(), return_params=True)
    assert out.shape == (B, 3, 16, 16)
    xp = TF.pad(x, [4, 6, 4, 6])
    for i in range(B):
        assert torch.equal(out[i], TF.crop(xp[i], int(p["top"][i]) + 6, int(p["left"][i]) + 4, 16, 16))
