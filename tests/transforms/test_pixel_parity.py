"""Parity of the issue-23 part A ops (blur, filters, noise, quality) with albumentations 2.0.8.

Each test draws parameters with our transform (``return_params=True``) or builds them, then replays
them into albumentations' functional (or OpenCV, or a ported formula where only imgaug has the op)
sample by sample. Exact unless stated; the tolerances and why are in each test.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

pytest.importorskip("albumentations")
cv2 = pytest.importorskip("cv2")

from albumentations.augmentations.blur import functional as AB  # noqa: E402
from albumentations.augmentations.pixel import functional as AP  # noqa: E402

import torchaug.transforms as T  # noqa: E402
from torchaug.functional import blur as FB  # noqa: E402
from torchaug.functional import filters as FF  # noqa: E402
from torchaug.functional import pixel_noise as FP  # noqa: E402
from torchaug.functional import quality as FQ  # noqa: E402

pytestmark = pytest.mark.peer


def _batch(b: int = 4, h: int = 20, w: int = 23, seed: int = 0) -> torch.Tensor:
    """Random uint8 images with one photo crop first (smooth content as well as noise)."""
    from torchaug.preview import sample_photos

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    photo, _ = sample_photos(1, 64)
    x[0] = torch.nn.functional.interpolate(photo.float(), size=(h, w), mode="area")[0].round().to(torch.uint8)
    return x


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy().copy()


def _diff(ref: np.ndarray, ours: torch.Tensor) -> np.ndarray:
    return np.abs(ref.astype(np.float64) - _hwc(ours).astype(np.float64))


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- blur ------------------------------------------------------------------------------------------


def test_blur_matches_cv2_blur():
    x = _batch()
    out, p = T.Blur(blur_limit=(3, 7), p=1.0)(x, generator=_gen(), return_params=True)
    assert len(set(p["ksize"].tolist())) > 1  # per-sample sizes differ
    for i, k in enumerate(p["ksize"].tolist()):
        assert _diff(AB.box_blur(_hwc(x[i]), k), out[i]).max() == 0


def test_median_blur_matches_cv2_median_blur():
    x = _batch()
    out, p = T.MedianBlur(blur_limit=(3, 7), p=1.0)(x, generator=_gen(3), return_params=True)
    for i, k in enumerate(p["ksize"].tolist()):
        assert _diff(AB.median_blur(_hwc(x[i]), k), out[i]).max() == 0


class _Uniforms:
    """A ``random.Random`` stand-in whose ``uniform`` replays our shift draws (in [-1, 1])."""

    def __init__(self, u):
        self.u = list(u)

    def uniform(self, a, b):
        return a + (b - a) * (self.u.pop(0) + 1) / 2


def test_motion_blur_kernel_and_output_match_albumentations():
    x = _batch()
    t = T.MotionBlur(blur_limit=(3, 9), p=1.0)
    out, p = t(x, generator=_gen(5), return_params=True)
    ker = FB.motion_kernels(p["ksize"], p["angle"], p["direction"], p["shift"], 9)
    for i in range(4):
        k = int(p["ksize"][i])
        ref = AB.create_motion_kernel(k, float(p["angle"][i]), float(p["direction"][i]), True, _Uniforms(p["shift"][i].tolist()))
        ref = ref.astype(np.float32) / ref.sum()
        o = (9 - k) // 2
        np.testing.assert_allclose(ker[i, o : o + k, o : o + k].numpy(), ref, rtol=0, atol=1e-7)
        d = _diff(AP.convolve(_hwc(x[i]), ref), out[i])
        assert d.max() <= 1 and d.mean() < 0.05  # sums landing on .5 round either way: rare, one level


def test_defocus_matches_albumentations():
    x = _batch()
    out, p = T.Defocus(radius=(3, 11), p=1.0)(x, generator=_gen(2), return_params=True)
    for i in range(4):
        ref = AB.defocus(_hwc(x[i]), int(p["radius"][i]), float(p["alias_blur"][i]))
        assert _diff(ref, out[i]).max() <= 1  # float32 sums in another order: one level at most


def test_zoom_blur_matches_albumentations():
    x = _batch()
    out, p = T.ZoomBlur(p=1.0)(x, generator=_gen(4), return_params=True)
    for i in range(4):
        n = int(p["n_factors"][i])
        ref = AB.zoom_blur(_hwc(x[i]), p["zoom_factors"][i, :n].double().numpy())
        assert _diff(ref, out[i]).max() <= 1  # cv2's fixed-point bilinear weights: one level at most


def test_glass_blur_matches_albumentations_fast_mode():
    x = _batch()
    t = T.GlassBlur(sigma=0.7, max_delta=2, iterations=2, p=1.0)
    out, p = t(x, generator=_gen(6), return_params=True)
    for i in range(4):
        ref = AB.glass_blur(_hwc(x[i]), 0.7, 2, 2, p["dxy"][i].numpy(), "fast")
        d = _diff(ref, out[i])
        # OpenCV's uint8 Gaussian uses fixed-point taps: one level after each of the two blurs
        assert d.max() <= 2 and d.mean() < 0.3


@pytest.mark.parametrize("channels", [3, 1])
def test_glass_blur_matches_albumentations_exact_mode(channels):
    x = _batch()[:, :channels].contiguous()
    t = T.GlassBlur(sigma=0.7, max_delta=2, iterations=2, mode="exact", p=1.0)
    out, p = t(x, generator=_gen(6), return_params=True)
    fast = T.GlassBlur(sigma=0.7, max_delta=2, iterations=2, p=1.0)(x, params=p)
    assert not torch.equal(out, fast)  # the order-dependent loop is not the all-at-once swap
    for i in range(4):
        ref = AB.glass_blur(_hwc(x[i]), 0.7, 2, 2, p["dxy"][i].numpy(), "exact")
        d = _diff(ref.reshape(20, 23, channels), out[i])
        # the loop itself is reproduced exactly; OpenCV's fixed-point uint8 Gaussian: a level or two
        assert d.max() <= 2 and d.mean() < 0.3
    f = t(x.float() / 255, params=p)
    for i in range(4):
        ref = AB.glass_blur(_hwc(x[i]).astype(np.float32) / 255, 0.7, 2, 2, p["dxy"][i].numpy(), "exact")
        assert np.abs(ref.reshape(20, 23, channels) - _hwc(f[i])).max() < 1e-4  # float: the same up to rounding


def test_advanced_blur_kernel_matches_albumentations_formula():
    x = _batch()
    t = T.AdvancedBlur(blur_limit=(3, 7), p=1.0)
    out, p = t(x, generator=_gen(7), return_params=True)
    ker = FB.generalized_gaussian_kernels(p["ksize"], p["sigma_x"], p["sigma_y"], p["angle"], p["beta"], p["noise"])
    for i in range(4):
        k = int(p["ksize"][i])
        o = (7 - k) // 2
        sx, sy, ang, beta = (float(p[n][i]) for n in ("sigma_x", "sigma_y", "angle", "beta"))
        # albumentations 2.0.8 AdvancedBlur.get_params, with its draws replaced by ours
        ax = np.arange(-k // 2 + 1.0, k // 2 + 1.0)
        grid = np.stack(np.meshgrid(ax, ax), axis=-1)
        d = np.array([[sx**2, 0], [0, sy**2]])
        u = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
        inv = np.linalg.inv(u @ d @ u.T)
        ref = np.exp(-0.5 * np.power(np.sum(np.dot(grid, inv) * grid, 2), beta))
        ref *= p["noise"][i, o : o + k, o : o + k].double().numpy()
        ref = ref.astype(np.float32) / np.sum(ref)
        np.testing.assert_allclose(ker[i, o : o + k, o : o + k].numpy(), ref, rtol=1e-5, atol=1e-7)
        assert _diff(AP.convolve(_hwc(x[i]), ref), out[i]).max() <= 1


# -- filters ---------------------------------------------------------------------------------------


def test_sharpen_and_emboss_match_albumentations():
    import albumentations as A

    x = _batch()
    for ours, theirs in ((T.Sharpen(p=1.0), A.Sharpen(p=1.0)), (T.Emboss(p=1.0), A.Emboss(p=1.0))):
        out, p = ours(x, generator=_gen(8), return_params=True)
        for i in range(4):
            # albumentations draws alpha then lightness/strength with py_random.uniform: replay ours
            draws = [float(p["alpha"][i]), float(p["lightness" if "lightness" in p else "strength"][i])]
            rng = random.Random(0)
            rng.uniform = lambda a, b, _d=draws: _d.pop(0)  # type: ignore[method-assign]
            theirs.py_random = rng
            params = theirs.get_params()
            ref = theirs.apply(_hwc(x[i]), **params)
            assert _diff(ref, out[i]).max() == 0, type(ours).__name__


def test_sharpen_gaussian_matches_albumentations_on_floats():
    x = _batch().float() / 255
    out, p = T.Sharpen(method="gaussian", p=1.0)(x, generator=_gen(9), return_params=True)
    for i in range(4):
        ref = AP.sharpen_gaussian(_hwc(x[i]), float(p["alpha"][i]), 5, 1.0)
        assert _diff(ref, out[i]).max() < 1e-6


def test_unsharp_mask_matches_albumentations():
    x = _batch()
    t = T.UnsharpMask(sigma_limit=(0.0, 2.0), p=1.0)
    out, p = t(x, generator=_gen(10), return_params=True)
    for i in range(4):
        ref = AP.unsharp_mask(_hwc(x[i]), int(p["ksize"][i]), float(p["sigma"][i]), float(p["alpha"][i]), 10)
        assert _diff(ref, out[i]).max() <= 1  # the 0/1 threshold mask flips on float ties: rare, one level


def test_edge_detect_matches_imgaug_formula_with_cv2():
    x = _batch()
    out, p = T.EdgeDetect(p=1.0)(x, generator=_gen(11), return_params=True)
    for i in range(4):
        a = float(p["alpha"][i])
        # imgaug 0.4 EdgeDetect (ported: imgaug does not import on NumPy 2): blend, then cv2.filter2D
        m = (1 - a) * np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]) + a * np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
        assert _diff(cv2.filter2D(_hwc(x[i]), -1, m.astype(np.float32)), out[i]).max() == 0


def test_convolve_matches_cv2_filter2d():
    x = _batch()
    k = np.array([[1, 2, 0, -1, 3], [0, 1, 1, 0, 0], [2, -3, 4, 1, 1]], dtype=np.float32) / 8
    out = T.Convolve(k)(x)
    for i in range(4):
        assert _diff(cv2.filter2D(_hwc(x[i]), -1, k), out[i]).max() == 0
    xf = x.double() / 255
    outf = T.Convolve(k)(xf)
    for i in range(4):
        ref = np.clip(cv2.filter2D(_hwc(xf[i]), -1, k.astype(np.float64)), 0, 1)
        assert _diff(ref, outf[i]).max() < 1e-12


# -- noise -----------------------------------------------------------------------------------------


class _Draws:
    """A numpy Generator stand-in that hands albumentations our Poisson / normal draws."""

    def __init__(self, poisson=None, normal=None):
        self._p, self._n = poisson, normal

    def poisson(self, lam, size=None):
        return self._p

    def normal(self, loc, scale, size=None):
        return self._n


def test_shot_noise_matches_albumentations_given_the_counts():
    x = _batch()
    out, p = T.ShotNoise(p=1.0)(x, generator=_gen(12), return_params=True)
    for i in range(4):
        ref = AP.shot_noise(_hwc(x[i]), float(p["scale"][i]), _Draws(poisson=_hwc(p["counts"][i])))
        assert _diff(ref, out[i]).max() <= 1  # cv2.pow vs torch.pow rounding near .5: one level


def test_shot_noise_rates_are_albumentations_rates():
    x = _batch().float() / 255
    s = torch.tensor([0.1, 0.2, 0.3, 0.15])
    rates = FP.shot_noise_rates(x, s)
    for i in range(4):
        ref = (cv2.pow(_hwc(x[i]), 2.2) + float(s[i]) * 1e-6) / float(s[i])
        np.testing.assert_allclose(_hwc(rates[i]), ref, rtol=1e-5)


def test_multiplicative_noise_matches_albumentations():
    x = _batch()
    for kw in ({}, {"per_channel": True}, {"elementwise": True}, {"per_channel": True, "elementwise": True}):
        out, p = T.MultiplicativeNoise(multiplier=(0.5, 1.5), p=1.0, **kw)(x, generator=_gen(13), return_params=True)
        for i in range(4):
            m = p["multiplier"][i].expand(3, *x.shape[-2:])
            ref = AP.multiply(_hwc(x[i]), _hwc(m).astype(np.float32)) if hasattr(AP, "multiply") else None
            if ref is None:
                from albucore import multiply

                ref = multiply(_hwc(x[i]), _hwc(m).astype(np.float32))
            assert _diff(ref, out[i]).max() <= 1, kw  # OpenCV rounds x * m in float32


@pytest.mark.parametrize("spatial_mode", ["constant", "per_pixel", "shared"])
@pytest.mark.parametrize("noise_type", ["uniform", "gaussian", "laplace", "beta"])
def test_additive_noise_replays_into_albumentations(noise_type, spatial_mode):
    x = _batch().float() / 255
    t = T.AdditiveNoise(noise_type=noise_type, spatial_mode=spatial_mode, p=1.0)
    out, p = t(x, generator=_gen(14), return_params=True)
    for i in range(4):
        noise = _hwc(p["noise"][i].expand(3, *x.shape[-2:])).astype(np.float32)
        ref = np.clip(AP.add_noise(_hwc(x[i]), noise), 0, 1)
        assert _diff(ref, out[i]).max() < 1e-6


@pytest.mark.parametrize("noise_type", ["uniform", "gaussian", "laplace", "beta"])
def test_additive_noise_distribution_matches_albumentations(noise_type):
    """Moments of the per-pixel noise field against albumentations' sampler on a mid-grey image."""
    import albumentations as A

    x = torch.full((8, 3, 32, 32), 0.5)
    _, p = T.AdditiveNoise(noise_type=noise_type, spatial_mode="per_pixel", p=1.0)(x, generator=_gen(15), return_params=True)
    ours = p["noise"].numpy().ravel()
    a = A.AdditiveNoise(noise_type=noise_type, spatial_mode="per_pixel", p=1.0)
    a.set_random_seed(0)
    theirs = np.concatenate([a(image=np.full((32, 32, 3), 0.5, np.float32))["image"].ravel() - 0.5 for _ in range(8)])
    if noise_type != "uniform":  # noise beyond +-0.5 is clipped by the image: compare the unclipped bulk
        ours, theirs = np.clip(ours, -0.5, 0.5), theirs
    assert abs(ours.mean() - theirs.mean()) < 0.01
    assert abs(ours.std() - theirs.std()) < 0.15 * theirs.std()


def test_iso_noise_matches_albumentations_given_the_draws():
    x = _batch()
    out, p = T.ISONoise(p=1.0)(x, generator=_gen(16), return_params=True)
    for i in range(4):
        # albumentations adds its normal draw to the hue in degrees: hand it our shift in degrees
        deg = (p["hue_noise"][i, 0] * p["color_shift"][i] * p["intensity"][i] * 360).double().numpy()
        draws = _Draws(poisson=p["lum_counts"][i, 0].double().numpy(), normal=deg)
        ref = AP.iso_noise(_hwc(x[i]), float(p["color_shift"][i]), float(p["intensity"][i]), draws)
        d = _diff(ref, out[i])
        # OpenCV's HLS->RGB differs from the closed form by float rounding, which the uint8
        # rounding turns into one level; a handful of pixels whose lightness passes 1 differ more
        assert (d <= 1).mean() > 0.99 and d.mean() < 0.15


def test_luminance_std_is_cv2_mean_std_dev():
    x = _batch()
    std = FP.luminance_std(x)
    for i in range(4):
        hls = cv2.cvtColor(_hwc(x[i]).astype(np.float32) / 255, cv2.COLOR_RGB2HLS)
        assert abs(float(std[i]) - float(cv2.meanStdDev(hls)[1][1, 0])) < 1e-5


# -- quality ---------------------------------------------------------------------------------------


def test_image_compression_matches_albumentations_up_to_its_channel_order():
    from torchaug.preview import sample_photos

    x, _ = sample_photos(3, 48)
    out, p = T.ImageCompression(quality_range=(5, 95), p=1.0)(x, generator=_gen(17), return_params=True)
    flipped = FQ.jpeg_compress(x.flip(1), p["quality"]).flip(1)
    for i in range(3):
        ref = AP.image_compression(_hwc(x[i]), int(p["quality"][i]), ".jpg")
        # albumentations hands RGB to cv2.imencode, which reads it as BGR: the same codec on the
        # channel-reversed image gives its result bit for bit; ours codes the colours as RGB
        assert _diff(ref, flipped[i]).max() == 0
        assert _diff(ref, out[i]).mean() < 8


@pytest.mark.parametrize("channels", [3, 1, 2, 4])
def test_image_compression_webp_matches_albumentations_bit_for_bit(channels):
    from torchaug.preview import sample_photos

    x, _ = sample_photos(3, 40)
    x = torch.cat([x, x.flip(2)], 1)[:, :channels].contiguous()
    t = T.ImageCompression(compression_type="webp", quality_range=(5, 95), p=1.0)
    out, p = t(x, generator=_gen(19), return_params=True)
    assert out.shape == x.shape and out.dtype == torch.uint8 and not torch.equal(out, x)
    for i in range(3):
        ref = AP.image_compression(_hwc(x[i]), int(p["quality"][i]), ".webp")
        assert _diff(ref.reshape(40, 40, channels), out[i]).max() == 0  # Pillow's libwebp codes what cv2 codes
    f = t(x.float() / 255, params=p)
    assert f.dtype == torch.float32 and torch.equal((f * 255).round().to(torch.uint8), out)


@pytest.mark.parametrize("pair", [("nearest", "nearest"), ("linear", "linear"), ("nearest", "linear"), ("linear", "nearest")])
def test_downscale_matches_albumentations(pair):
    x = _batch()
    t = T.Downscale(scale_range=(0.2, 0.9), interpolation_pair={"downscale": pair[0], "upscale": pair[1]}, p=1.0)
    out, p = t(x, generator=_gen(18), return_params=True)
    flags = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR}
    for i in range(4):
        ref = AP.downscale(_hwc(x[i]), float(p["scale"][i]), flags[pair[0]], flags[pair[1]])
        # nearest: exact; linear: OpenCV's 11-bit fixed-point weights, two steps: two levels at most
        assert _diff(ref, out[i]).max() <= (0 if pair == ("nearest", "nearest") else 2)


def test_pixelate_is_the_block_mean():
    x = _batch(h=21, w=18)
    out, p = T.Pixelate(block_size=(2, 6), p=1.0)(x, generator=_gen(19), return_params=True)
    for i in range(4):
        b = int(p["block"][i])
        img = x[i].double().numpy()
        ref = np.empty_like(img)
        for r in range(0, 21, b):
            for c in range(0, 18, b):
                ref[:, r : r + b, c : c + b] = img[:, r : r + b, c : c + b].mean(axis=(1, 2), keepdims=True)
        np.testing.assert_array_equal(out[i].numpy(), np.floor(ref + 0.5).astype(np.uint8))
