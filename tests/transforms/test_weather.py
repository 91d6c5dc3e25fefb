"""Weather transforms: parity with albumentations 2.0.8 given the same drawn parameters, and behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchaug.transforms import RandomFog, RandomRain, RandomShadow, RandomSnow, RandomSunFlare, Spatter


def _images(b: int = 3, h: int = 48, w: int = 56, seed: int = 0) -> torch.Tensor:
    """Smooth random images (blurred noise), more like photos than pixel noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, h // 4, w // 4, generator=g)
    x = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return (x * 255).round().to(torch.uint8)


def _fp():
    pytest.importorskip("albumentations")
    import albumentations.augmentations.pixel.functional as fp

    return fp


def _hwc(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.permute(1, 2, 0).numpy())


def _close(ours: torch.Tensor, ref: np.ndarray, *, mean: float, frac: float, tol: int = 2) -> None:
    d = (ours.permute(1, 2, 0).numpy().astype(int) - ref.astype(int))
    assert np.abs(d).mean() <= mean, np.abs(d).mean()
    assert (np.abs(d) > tol).mean() <= frac, (np.abs(d) > tol).mean()


def _run(t, x, seed=0):
    return t(x, generator=torch.Generator().manual_seed(seed), return_params=True)


@pytest.mark.peer
@pytest.mark.parametrize("kw", [{}, {"rain_type": "heavy", "drop_width": 2, "blur_value": 3}, {"drop_length": 9, "slant_range": (-20, -15)}])
def test_rain_matches_albumentations_given_the_drops(kw):
    fp = _fp()
    t = RandomRain(p=1.0, **kw)
    x = _images()
    out, prm = _run(t, x)
    _, length = t._sizes(x.shape[-2])
    for i in range(len(x)):
        ref = fp.add_rain(_hwc(x[i]), float(prm["slant"][i]), length, t.drop_width, t.drop_color, t.blur_value,
                          t.brightness_coefficient, prm["drops"][i].numpy().astype(np.int32))
        # the segments are rasterised by rounding along the line, OpenCV's LINE_4 walks its own
        # error term: the drops land on the same pixels or the next column, then the box blur spreads that
        _close(out[i], ref, mean=5.0 if t.drop_width > 1 else 2.0, frac=0.35)
        assert abs(float(out[i].float().mean()) - float(ref.mean())) < (2.5 if t.drop_width > 1 else 1.5)


@pytest.mark.peer
@pytest.mark.parametrize("method", ["bleach", "texture"])
def test_snow_matches_albumentations_given_the_parameters(method):
    fp = _fp()
    t = RandomSnow(p=1.0, method=method, snow_point_range=(0.2, 0.6) if method == "bleach" else (0.1, 0.2))
    x = _images()
    if method == "texture":  # dull, dark images: albumentations' astype(uint8) would wrap HSV values above 255
        x = (x.float() * 0.25 + 40).round().to(torch.uint8)
    out, prm = _run(t, x)
    for i in range(len(x)):
        sp = float(prm["snow_point"][i])
        if method == "bleach":
            ref = fp.add_snow_bleach(_hwc(x[i]), sp, t.brightness_coeff)
            _close(out[i], ref, mean=1.0, frac=0.03)
        else:
            ref = fp.add_snow_texture(_hwc(x[i]), sp, t.brightness_coeff, prm["snow_texture"][i].double().numpy(),
                                      prm["sparkle"][i].numpy())
            _close(out[i], ref, mean=3.0, frac=0.1, tol=4)


@pytest.mark.peer
def test_fog_matches_albumentations_given_the_particles():
    fp = _fp()
    t = RandomFog(p=1.0, fog_coef_range=(0.4, 0.9))
    x = _images(h=64, w=72)
    out, prm = _run(t, x)
    for i in range(len(x)):
        v = prm["valid"][i]
        pos = [tuple(int(c) for c in p) for p in prm["positions"][i][v]]
        rad = [int(r) for r in prm["radii"][i][v]]
        assert len(pos) > 10
        ref = fp.add_fog(_hwc(x[i]), float(prm["intensity"][i]), t.alpha_coef, pos, rad)
        # albumentations rounds every one of the hundreds of blends to 8 bits; here once
        _close(out[i], ref, mean=2.5, frac=0.25, tol=3)


@pytest.mark.peer
def test_fog_particle_counts_follow_albumentations():
    """Same number of particles and radius range as albumentations' get_params for a given intensity."""
    A = pytest.importorskip("albumentations")
    x = _images(b=4, h=64, w=72)
    t = RandomFog(p=1.0, fog_coef_range=(0.5, 0.5))
    _, prm = _run(t, x)
    a = A.RandomFog(fog_coef_range=(0.5, 0.5), p=1.0)
    a.set_random_seed(0)
    ref = a.get_params_dependent_on_data({"shape": (64, 72, 3)}, {"image": _hwc(x[0])})
    assert int(prm["valid"][0].sum()) == len(ref["particle_positions"])
    r = prm["radii"][prm["valid"]]
    assert int(r.min()) >= min(ref["radiuses"]) and int(r.max()) <= max(ref["radiuses"])


def _flare_circles(prm, i, size_type):
    """Our drawn flare circles of sample ``i`` as albumentations' ``circles`` list."""
    return [
        (float(prm["circle_alpha"][i, k]), (int(prm["circle_center"][i, k, 0]), int(prm["circle_center"][i, k, 1])),
         size_type(prm["circle_radius"][i, k]), tuple(int(c) for c in prm["circle_color"][i, k]))
        for k in range(prm["circle_alpha"].shape[1]) if bool(prm["circle_valid"][i, k])
    ]


@pytest.mark.peer
def test_sun_flare_matches_albumentations_given_the_circles():
    fp = _fp()
    t = RandomSunFlare(p=1.0, src_radius=40, num_flare_circles_range=(3, 6))
    x = _images(h=64, w=64)
    out, prm = _run(t, x)
    for i in range(len(x)):
        circles = _flare_circles(prm, i, int)
        center = (float(prm["flare_center"][i, 0]), float(prm["flare_center"][i, 1]))
        ref = fp.add_sun_flare_overlay(_hwc(x[i]), center, t.src_radius, t.src_color, circles)
        _close(out[i], ref, mean=2.0, frac=0.15, tol=3)


@pytest.mark.peer
@pytest.mark.parametrize("size", [(64, 64), (48, 80)])
def test_sun_flare_physics_based_matches_albumentations_given_the_circles(size):
    fp = _fp()
    t = RandomSunFlare(p=1.0, src_radius=12, num_flare_circles_range=(3, 6), method="physics_based")
    x = _images(h=size[0], w=size[1])
    out, prm = _run(t, x)
    over = RandomSunFlare(p=1.0, src_radius=12, num_flare_circles_range=(3, 6))(x, params=prm)
    assert (out.float() - x.float()).abs().mean() > 5 and not torch.equal(out, over)
    for i in range(len(x)):
        circles = _flare_circles(prm, i, float)
        center = (int(prm["flare_center"][i, 0]), int(prm["flare_center"][i, 1]))
        ref = fp.add_sun_flare_physics_based(_hwc(x[i]), center, t.src_radius, t.src_color, circles)
        # the same layer up to a few pixels of OpenCV's diagonal spikes, under a sigma-15 blur: one level at most
        _close(out[i], ref, mean=0.05, frac=0.0, tol=1)
    f = t(x.float() / 255, params=prm)
    assert float((f * 255 - out.float()).abs().max()) <= 1.0


@pytest.mark.peer
def test_shadow_matches_albumentations_given_the_polygons():
    fp = _fp()
    t = RandomShadow(p=1.0, num_shadows_limit=(1, 3), shadow_intensity_range=(0.3, 0.7))
    x = _images(h=64, w=64)
    out, prm = _run(t, x)
    for i in range(len(x)):
        v = prm["valid"][i]
        verts = [p.numpy().astype(np.int32) for p in prm["vertices"][i][v]]
        ref = fp.add_shadow(_hwc(x[i]), verts, prm["intensities"][i][v].double().numpy())
        d = np.abs(out[i].permute(1, 2, 0).numpy().astype(int) - ref.astype(int)).max(2)
        assert (d > 1).mean() < 0.03  # polygon edges may differ by a pixel


@pytest.mark.peer
@pytest.mark.parametrize("mode", ["rain", "mud"])
def test_spatter_matches_albumentations_given_the_layer(mode):
    fp = _fp()
    t = Spatter(p=1.0, mode=mode)
    x = _images(h=64, w=64)
    out, prm = _run(t, x)
    for i in range(len(x)):
        img = _hwc(x[i])
        if mode == "rain":
            ref = fp.spatter_rain(img, prm["drops"][i].permute(1, 2, 0).numpy())
        else:
            mud = prm["mud"][i].permute(1, 2, 0).numpy()
            color = np.array(t.color) / 255.0
            non_mud = np.clip((color - mud) / color, 0, 1).astype(np.float32)
            ref = fp.spatter_mud(img, non_mud, mud)
        _close(out[i], ref, mean=0.6, frac=0.0, tol=1)


@pytest.mark.peer
@pytest.mark.parametrize("mode", ["rain", "mud"])
def test_spatter_layer_statistics_match_albumentations(mode):
    A = pytest.importorskip("albumentations")
    x = _images(b=8, h=64, w=64)
    ours = Spatter(p=1.0, mode=mode)(x, generator=torch.Generator().manual_seed(0)).float()
    a = A.Spatter(p=1.0, mode=mode)
    a.set_random_seed(0)
    ref = torch.stack([torch.from_numpy(a(image=_hwc(im))["image"]).permute(2, 0, 1) for im in x]).float()
    do, dr = (ours - x.float()).abs().mean(), (ref - x.float()).abs().mean()
    # different random layers (numpy vs torch streams): the strength matches on average
    assert float(do) == pytest.approx(float(dr), rel=0.2), (float(do), float(dr))


@pytest.mark.peer
def test_spatter_rain_strength_matches_albumentations_on_the_same_layer():
    # the peer's get_rain_params on the very liquid layer we cut: the mean absolute change of the
    # image agrees within 5% (it was about 0.75x before the float32 stages were followed)
    fp = _fp()
    import cv2

    from torchaug.transforms.weather import spatter_rain_drops

    rng = np.random.default_rng(0)
    x = _images(b=4, h=64, w=64)
    color = np.array((238, 238, 175)) / 255.0
    for i in range(len(x)):
        lq = rng.normal(0.65, 0.3, size=(64, 64))
        cv2.GaussianBlur(lq, (13, 13), 2, dst=lq, sigmaY=2, borderType=cv2.BORDER_REPLICATE)
        lq[lq < 0.68] = 0
        ref_drops = fp.get_rain_params(lq, color, 0.6)["drops"]
        ours = spatter_rain_drops(torch.from_numpy(lq).float()[None, None], torch.tensor([0.6]),
                                  torch.tensor(color, dtype=torch.float32).view(1, 3, 1, 1))
        ref = fp.spatter_rain(_hwc(x[i]), ref_drops.astype(np.float32))
        out = Spatter(p=1.0).transform(x[i:i + 1], {"drops": ours})[0]
        do = (out.float() - x[i].float()).abs().mean()
        dr = np.abs(ref.astype(float) - _hwc(x[i]).astype(float)).mean()
        assert float(do) == pytest.approx(dr, rel=0.05), (float(do), dr)
        assert np.abs(ours[0].permute(1, 2, 0).numpy() - ref_drops).mean() < 2e-3  # a few Canny edge pixels differ


@pytest.mark.parametrize("t", [RandomRain(p=1.0), RandomSnow(p=1.0), RandomSnow(method="texture", p=1.0), RandomFog(p=1.0),
                               RandomSunFlare(src_radius=30, p=1.0), RandomShadow(p=1.0), Spatter(p=1.0),
                               Spatter(mode="mud", p=1.0)], ids=lambda t: type(t).__name__ + getattr(t, "method", getattr(t, "mode", "")))
def test_weather_per_sample_float_and_replay(t):
    x = _images(b=4)
    out, prm = _run(t, x)
    assert out.dtype == torch.uint8 and out.shape == x.shape and not torch.equal(out, x)
    assert torch.equal(out, t(x, params=prm))
    assert not all(torch.equal(out[0], out[i]) for i in range(1, 4)) or isinstance(t, RandomSnow)  # per-sample draws
    f = t(x.float() / 255, params=prm)
    assert f.dtype == torch.float32 and float((f * 255 - out.float()).abs().max()) <= 1.0
    if not isinstance(t, RandomShadow):  # albumentations' shadow accepts any channel count
        with pytest.raises(ValueError, match=type(t).__name__):
            t(x[:, :1])


def test_weather_bad_arguments():
    with pytest.raises(ValueError, match="rain_type"):
        RandomRain(rain_type="hail")
    with pytest.raises(ValueError, match="brightness_coefficient"):
        RandomRain(brightness_coefficient=0)
    with pytest.raises(ValueError, match="method"):
        RandomSnow(method="x")
    with pytest.raises(ValueError, match="fog_coef_range"):
        RandomFog(fog_coef_range=(0.8, 0.2))
    with pytest.raises(ValueError, match="flare_roi"):
        RandomSunFlare(flare_roi=(0.5, 0, 0.2, 1))
    with pytest.raises(ValueError, match="method"):
        RandomSunFlare(method="physics")
    with pytest.raises(ValueError, match="shadow_dimension"):
        RandomShadow(shadow_dimension=2)
    with pytest.raises(ValueError, match="mode"):
        Spatter(mode="oil")
    with pytest.raises(TypeError, match="color"):
        Spatter(color=(1, 2))


def test_sun_flare_physics_based_reads_nothing_back_and_is_per_sample():
    from tests_support import forbid_host_reads

    t = RandomSunFlare(p=1.0, src_radius=10, method="physics_based")
    x = _images(b=3, h=32, w=40)
    out, prm = _run(t, x)
    with forbid_host_reads():
        again = t(x, params=prm)
    assert torch.equal(again, out)
    one = t(x[1:2], params={k: v[1:2] for k, v in prm.items()})
    assert torch.equal(one, out[1:2]) and not torch.equal(out[0], out[1])
