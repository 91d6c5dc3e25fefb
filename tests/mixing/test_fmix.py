"""FMix: masks follow the reference code's Fourier layout, label = mask mean, lambda ~ Beta(alpha, alpha)."""

import math

import numpy as np
import pytest
import torch

from torchaug.mixing import FMix, mix_targets, one_hot
from torchaug.mixing.fmix import _spectrum_scale, binarise_masks, low_freq_images


def _batch(b=6, h=16, w=12, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.float() / 255


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
@pytest.mark.parametrize("max_soft", [0.0, 0.2])
def test_pixels_follow_the_mask_and_label_is_its_mean(mode, max_soft):
    b, k = 7, 5
    x, y = _batch(b), torch.arange(b) % k
    m = FMix(1.0, 3.0, max_soft, num_classes=k, mode=mode, label_smoothing=0.1)
    xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(2), return_params=True)
    mask = p["mask"]
    assert mask.shape == (b, 1, 16, 12) and float(mask.min()) >= 0 and float(mask.max()) <= 1
    if max_soft == 0:
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(xm, mask * x + (1 - mask) * x[p["perm"]], rtol=0, atol=1e-6)
    torch.testing.assert_close(p["lam"], mask.mean((1, 2, 3)), rtol=0, atol=0)
    torch.testing.assert_close(ym, mix_targets(one_hot(y, k, label_smoothing=0.1), p["perm"], p["lam"]))
    if mode == "batch":
        assert torch.equal(mask, mask[:1].expand_as(mask))


def test_binarise_keeps_num_brightest_and_mean_is_exact():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(4, 10, 10, generator=g)
    lam = torch.tensor([0.3125, 0.5546875, 0.90625, 0.046875])  # exact in float32
    coin = torch.tensor([0.9, 0.1, 0.6, 0.2])  # > 0.5: ceil
    hard = binarise_masks(img, lam, coin, 0.0)
    nums = [math.ceil(31.25), math.floor(55.46875), math.ceil(90.625), math.floor(4.6875)]
    for i, num in enumerate(nums):
        assert int(hard[i].sum()) == num
        top = img[i].flatten().argsort(descending=True)[:num]
        assert bool(hard[i].flatten()[top].all())
    soft = binarise_masks(img, lam, coin, 0.2)
    torch.testing.assert_close(soft.mean((1, 2)), torch.tensor(nums, dtype=torch.float32) / 100, rtol=0, atol=1e-6)
    # lam < max_soft: the ramp is int(N min(lam, 1 - lam)) = 4 pixels on each side of num = 4
    vals = soft[3].flatten().sort(descending=True).values
    assert float(vals[0]) == 1.0 and float(vals[8]) == 0.0 and 0 < float(vals[4]) < 1


@pytest.mark.parametrize("h,w", [(16, 12), (9, 7)])
def test_low_frequency_images_match_the_reference_layout(h, w):
    """A numpy statement of the reference ``make_low_freq_image`` (ecs-vlc/FMix): (re, im) normal
    pairs per half-spectrum frequency, scaled by 1 / max(f, 1/max(h, w))**d, reshaped to
    (h, 2 fw) and passed to ``irfftn`` as real numbers; fed the same normals, the images agree."""
    g = torch.Generator().manual_seed(1)
    ours = low_freq_images(3, h, w, 3.0, generator=g, device="cpu")
    g.manual_seed(1)
    z = torch.randn((3, h, w // 2 + 1), generator=g).double().numpy()
    fy = np.fft.fftfreq(h)[:, None]
    fw_ref = w // 2 + 2 if w % 2 else w // 2 + 1
    fx = np.fft.fftfreq(w)[:fw_ref]
    freqs = np.sqrt(fx * fx + fy * fy)
    scale = 1.0 / np.maximum(freqs, 1.0 / max(h, w)) ** 3.0
    for i in range(3):
        param = np.zeros((h, fw_ref, 2))
        flat = param.reshape(h, -1)
        flat[:, : w // 2 + 1] = z[i]  # the only entries irfftn reads
        ref = np.fft.irfftn((scale[..., None] * param).reshape(1, h, -1), (h, w), axes=(-2, -1))[0]
        np.testing.assert_allclose(ours[i].double().numpy(), ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())
    assert _spectrum_scale(h, w, 3.0, torch.device("cpu")).shape == (h, w // 2 + 1)


def test_lambda_distribution_is_beta():
    stats = pytest.importorskip("scipy.stats")
    x, y = _batch(400, 8, 8), torch.zeros(400, dtype=torch.long)
    for alpha in (1.0, 0.5):
        _, _, p = FMix(alpha, num_classes=2, mode="elem")(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
        lam = p["lam"].double().numpy()  # num / 64 with num = ceil or floor of 64 lam: within 1/64
        assert stats.kstest(lam, stats.beta(alpha, alpha).cdf).statistic < 0.08
    _, _, p = FMix(1.0, reformulate=True, num_classes=2, mode="elem")(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert stats.kstest(p["lam"].double().numpy(), stats.beta(2.0, 1.0).cdf).statistic < 0.08


def test_masks_are_low_frequency():
    """decay_power 3 gives blobs: few label changes between neighbouring pixels, far fewer than white noise."""
    x, y = _batch(64, 32, 32), torch.zeros(64, dtype=torch.long)
    _, _, p = FMix(1.0, 3.0, num_classes=2, mode="elem")(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    m = p["mask"][:, 0]
    edges = (m[:, 1:] != m[:, :-1]).float().mean()
    assert float(edges) < 0.12  # white noise thresholded at lam would give 2 lam (1 - lam) ~ 0.33


def test_uint8_soft_mask_on_grid_and_errors():
    x, y = _batch(4, dtype=torch.uint8), torch.arange(4) % 2
    xm, _, p = FMix(1.0, max_soft=0.3, num_classes=2, mode="elem")(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert xm.dtype == torch.uint8
    assert torch.equal(p["mask"] * 128, (p["mask"] * 128).round())
    with pytest.raises(ValueError, match="FMix: max_soft"):
        FMix(max_soft=0.7, num_classes=2)
    with pytest.raises(ValueError, match=r"FMix: params\['mask'\]"):
        FMix(num_classes=2)(x, y, params={"perm": p["perm"], "lam": p["lam"]})


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("b", [6, 7])
def test_pair_kernel_equals_generic_blend(dtype, b):
    """The CPU pair kernel of binary masks (shift pairing) gives what the generic lerp gives."""
    from torchaug import accelerator_path

    x, y = _batch(b, dtype=dtype), torch.arange(b) % 3
    m = FMix(1.0, num_classes=3, mode="elem")
    fast, _, p = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    with accelerator_path():
        slow, _ = m(x, y, params=p)
    assert torch.equal(fast, slow)
    inplace = x.clone()
    m(inplace, y, params=p, inplace=True)
    assert torch.equal(inplace, fast)
