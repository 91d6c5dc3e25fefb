"""GaussianNoise, SaltAndPepperNoise, GaussianBlur: per-sample levels, ranges, torchvision parity."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from torchaug.transforms import GaussianBlur, GaussianNoise, SaltAndPepperNoise


def _images(dtype=torch.uint8, b=16, c=3, h=24, w=24, seed=0, lo=0, hi=256):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(lo, hi, (b, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else (x.to(torch.float32) / 255).to(dtype)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_noise_per_sample_sigma_and_statistics():
    x = torch.full((8, 3, 32, 32), 0.5)
    out, p = GaussianNoise(sigma=(0.01, 0.1))(x, generator=_gen(), return_params=True)
    sigma = p["sigma"]
    assert len(set(sigma.tolist())) == 8
    measured = (out - x).flatten(1).std(1)
    torch.testing.assert_close(measured, sigma, rtol=0.1, atol=0.002)
    torch.testing.assert_close(out, (x + p["noise"]).clamp(0, 1))


def test_gaussian_noise_clip_and_uint8():
    x = _images(torch.float32)
    out = GaussianNoise(sigma=0.5)(x, generator=_gen())
    assert float(out.min()) == 0.0 and float(out.max()) == 1.0  # clamped (clip=True)
    raw = GaussianNoise(sigma=0.5, clip=False)(x, generator=_gen())
    assert float(raw.min()) < 0.0 and float(raw.max()) > 1.0
    u = _images()
    out, p = GaussianNoise(mean=0.1, sigma=0.05)(u, generator=_gen(), return_params=True)
    assert out.dtype == torch.uint8
    ref = (u.float() + p["noise"] * 255).round().clamp(0, 255).to(torch.uint8)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    assert float((out.float() - u.float()).mean()) == pytest.approx(0.1 * 255, abs=3.0)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16, torch.bfloat16])
def test_noise_dtypes_and_p(dtype):
    x = _images(dtype)
    for t in (GaussianNoise(sigma=0.2, p=0.5), SaltAndPepperNoise(amount=0.2, p=0.5), GaussianBlur(5, sigma=(1.0, 2.0), p=0.5)):
        out, p = t(x, generator=_gen(1), return_params=True)
        assert out.dtype == dtype and out.shape == x.shape
        apply = p["apply"]
        torch.testing.assert_close(out[~apply], x[~apply], rtol=0, atol=0)
        assert bool((out[apply] != x[apply]).flatten(1).any(1).all())
        if dtype != torch.uint8:
            assert float(out.min()) >= 0 and float(out.max()) <= 1
        torch.testing.assert_close(t(x, params=p), out, rtol=0, atol=0)


def test_salt_and_pepper_fraction_and_balance():
    x = torch.full((4, 3, 64, 64), 128, dtype=torch.uint8)
    out, p = SaltAndPepperNoise(amount=(0.05, 0.3), salt_vs_pepper=0.25)(x, generator=_gen(), return_params=True)
    salt = (out == 255).all(1)
    pepper = (out == 0).all(1)
    frac = (salt | pepper).flatten(1).float().mean(1)
    torch.testing.assert_close(frac, p["amount"], rtol=0.15, atol=0.01)
    assert float(salt.float().sum() / (salt | pepper).float().sum()) == pytest.approx(0.25, abs=0.05)
    # whole pixels are corrupted (all channels), untouched pixels keep their value
    assert bool(((out == 128) | (out == 0) | (out == 255)).all())
    assert bool(((out == 255).any(1) == salt).all())
    per = SaltAndPepperNoise(amount=0.3, per_channel=True)(x, generator=_gen())
    assert bool(((per == 255).any(1) & ~(per == 255).all(1)).any())  # channels independently


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_gaussian_blur_replays_torchvision(dtype):
    x = _images(dtype, h=16, w=20)
    out, p = GaussianBlur(kernel_size=(7, 5), sigma=(0.3, 3.0))(x, generator=_gen(), return_params=True)
    sigma = p["sigma"]
    assert len(set(sigma.tolist())) == x.shape[0]
    for i in range(x.shape[0]):
        ref = TF.gaussian_blur(x[i], [7, 5], [float(sigma[i])] * 2)
        d = (out[i].double() - ref.double()).abs().max()
        assert float(d) <= (1.0 if dtype == torch.uint8 else 1e-5)


def test_gaussian_blur_smooths_more_with_larger_sigma_and_errors():
    x = _images(torch.float32, b=2, h=32, w=32)
    p = {"sigma": torch.tensor([0.3, 3.0]), "apply": torch.ones(2, dtype=torch.bool)}
    out = GaussianBlur(9)(x, params=p)
    var = out.flatten(1).var(1)
    assert float(var[1]) < float(var[0]) < float(x[0].var())
    with pytest.raises(ValueError, match="GaussianBlur: kernel_size must be odd"):
        GaussianBlur(4)
    with pytest.raises(ValueError, match="GaussianBlur: sigma"):
        GaussianBlur(3, sigma=(0.0, 1.0))
    with pytest.raises(ValueError, match="GaussianBlur: kernel_size .* too large"):
        GaussianBlur(31)(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="SaltAndPepperNoise: amount"):
        SaltAndPepperNoise(amount=1.5)
    with pytest.raises(TypeError, match="GaussianNoise: clip"):
        GaussianNoise(clip="yes")
