"""Batched camera/pixel noise kernels: shot (Poisson), multiplicative, additive fields and ISO
sensor noise, plus the RGB <-> HLS conversions ISO noise works in. No randomness: the random
fields and counts are passed in (drawn by the transforms, so they can be replayed).

Everything is computed on the [0, 1] float scale; ``uint8`` input is divided by 255 and the
result rounded back (albumentations' ``float32_io``). Results are clamped to the valid range.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from torchaug._cpu.chunks import run_chunked
from torchaug.functional.blur import _finish

__all__ = [
    "to_unit",
    "from_unit",
    "shot_noise",
    "multiply",
    "add_field",
    "rgb_to_hls",
    "hls_to_rgb",
    "iso_noise",
    "luminance_std",
]


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """``x`` on the [0, 1] float scale: float32 for ``uint8``/half input, float64 kept. A new tensor
    or ``x`` itself (float32/float64): callers must not write into it."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(255.0)
    return x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)


def from_unit(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] and cast back to ``like``'s dtype (``uint8``: ``rint(y * 255)``). ``y`` must
    be a private work tensor (it is modified)."""
    if like.dtype == torch.uint8:
        return _finish(y.mul_(255.0), like, True)
    return _finish(y, like, False)


def _shot_noise_impl(x: torch.Tensor, scale: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Shot (photon) noise, albumentations 2.0.8 ``shot_noise`` semantics with the Poisson draw
    passed in: in linear light ``lin = x ** 2.2``, photon counts ``counts ~ Poisson((lin + 1e-6 s) / s)``
    (``scale`` ``s``: ``(B,)``, larger = fewer photons = more noise), ``out = clip(counts * s) ** (1 / 2.2)``."""
    s = scale.to(device=x.device, dtype=torch.float32).view(-1, 1, 1, 1)
    y = counts.to(torch.float32) * s
    return from_unit(y.clamp_(0.0, 1.0).pow_(1 / 2.2), x)  # y is private


def shot_noise_rates(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The Poisson rates ``(x ** 2.2 + 1e-6 s) / s`` of :func:`shot_noise` (float32)."""
    s = scale.to(device=x.device, dtype=torch.float32).view(-1, 1, 1, 1)
    return (to_unit(x).to(torch.float32).pow(2.2) + s * 1e-6) / s


def _multiply_impl(x: torch.Tensor, multiplier: torch.Tensor) -> torch.Tensor:
    """``x * multiplier`` (``multiplier`` broadcastable to ``x``: ``(B, 1 or C, 1 or H, 1 or W)``),
    clamped; ``uint8`` rounded (albumentations ``MultiplicativeNoise``)."""
    if x.dtype == torch.uint8:  # on the 0-255 scale directly (as OpenCV multiplies uint8 images)
        return _finish(x.to(torch.float32).mul_(multiplier.to(device=x.device, dtype=torch.float32)), x, True)
    xf = to_unit(x)
    return from_unit(xf * multiplier.to(device=x.device, dtype=xf.dtype), x)


def _add_field_impl(x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``x + noise`` with ``noise`` on the [0, 1] scale, broadcastable to ``x`` or of a smaller
    spatial size (then bilinearly resized to ``x``'s, albumentations' ``approximation``);
    clamped, ``uint8`` rounded (albumentations ``AdditiveNoise``)."""
    integer = x.dtype == torch.uint8
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    n = noise.to(device=x.device, dtype=dtype)
    if n.shape[-2:] != (1, 1) and n.shape[-2:] != x.shape[-2:]:
        n = F.interpolate(n, size=x.shape[-2:], mode="bilinear", align_corners=False)
    if integer:  # on the 0-255 scale: one pass fewer
        return _finish(x.to(torch.float32).add_(n.mul(255.0)), x, True)
    return from_unit(x.to(dtype) + n, x)


def rgb_to_hls(rgb: torch.Tensor) -> torch.Tensor:
    """RGB ``(B, 3, H, W)`` in [0, 1] -> HLS with hue in degrees [0, 360), as OpenCV's float
    ``COLOR_RGB2HLS``."""
    r, g, b = rgb.unbind(1)
    vmax = torch.maximum(torch.maximum(r, g), b)
    vmin = torch.minimum(torch.minimum(r, g), b)
    diff = vmax - vmin
    light = (vmax + vmin) * 0.5
    ok = diff > torch.finfo(torch.float32).eps
    d = torch.where(ok, diff, torch.ones_like(diff))
    sat = torch.where(light < 0.5, diff / (vmax + vmin).clamp_min(1e-12), diff / (2.0 - vmax - vmin).clamp_min(1e-12))
    h = torch.where(vmax == r, (g - b) * 60.0 / d, torch.where(vmax == g, (b - r) * 60.0 / d + 120.0, (r - g) * 60.0 / d + 240.0))
    h = torch.where(h < 0, h + 360.0, h)
    zero = torch.zeros_like(h)
    return torch.stack([torch.where(ok, h, zero), light, torch.where(ok, sat, zero)], dim=1)


def hls_to_rgb(hls: torch.Tensor) -> torch.Tensor:
    """HLS (hue in degrees, any value: wrapped) -> RGB, the inverse of :func:`rgb_to_hls`."""
    h, light, sat = hls.unbind(1)
    h = torch.remainder(h, 360.0)
    a = sat * torch.minimum(light, 1.0 - light)

    def f(n: float) -> torch.Tensor:
        k = torch.remainder(n + h / 30.0, 12.0)
        return light - a * torch.clamp(torch.minimum(k - 3.0, 9.0 - k), -1.0, 1.0)

    return torch.stack([f(0.0), f(8.0), f(4.0)], dim=1)


def luminance_std(x: torch.Tensor) -> torch.Tensor:
    """``(B,)`` population standard deviation of the HLS lightness ``(max + min) / 2`` of each RGB
    sample on the [0, 1] scale (``cv2.meanStdDev`` of the L channel)."""
    xf = to_unit(x).to(torch.float32)
    light = (xf.amax(1) + xf.amin(1)) * 0.5
    return light.flatten(1).std(dim=1, correction=0)


def _iso_noise_impl(x: torch.Tensor, color_shift: torch.Tensor, intensity: torch.Tensor, hue_noise: torch.Tensor, lum_counts: torch.Tensor) -> torch.Tensor:
    """ISO camera-sensor noise on RGB ``(B, 3, H, W)`` (albumentations ``ISONoise``); a grey
    ``(B, 1, H, W)`` image is treated as a grey RGB one (lightness noise only).

    In HLS: the hue moves by ``hue_noise * color_shift * intensity * 360`` degrees (``hue_noise``:
    standard normal ``(B, 1, H, W)``; ``color_shift`` is a fraction of the hue circle, as
    albumentations documents it) and the lightness by ``counts * intensity * (1 - L)`` where
    ``lum_counts ~ Poisson(std(L) * intensity)`` (``(B, 1, H, W)``); back to RGB, clamped.
    (albumentations 2.0.8 adds the hue noise in degrees without the factor 360 since it moved to
    float HLS, which makes its colour shift 360 times weaker than documented; the lightness
    noise is the same.)
    """
    xf = to_unit(x).to(torch.float32)
    grey = xf.shape[1] == 1
    hls = rgb_to_hls(xf.expand(-1, 3, -1, -1) if grey else xf)
    cs = color_shift.to(device=x.device, dtype=torch.float32).view(-1, 1, 1)
    it = intensity.to(device=x.device, dtype=torch.float32).view(-1, 1, 1)
    h = hls[:, 0] + hue_noise[:, 0].to(torch.float32) * cs * it * 360.0
    light = hls[:, 1] + lum_counts[:, 0].to(torch.float32) * it * (1.0 - hls[:, 1])
    rgb = hls_to_rgb(torch.stack([h, light, hls[:, 2]], dim=1))
    return from_unit((rgb[:, :1] if grey else rgb).clamp_(0.0, 1.0), x)


# -- public entry points: the kernels above, run on chunks of the batch (see torchaug._cpu.chunks) --


def shot_noise(x: torch.Tensor, scale: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_shot_noise_impl, x, (scale, counts), ())


shot_noise.__doc__ = _shot_noise_impl.__doc__


def multiply(x: torch.Tensor, multiplier: torch.Tensor) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_multiply_impl, x, (multiplier,), ()) if multiplier.shape[0] == x.shape[0] else _multiply_impl(x, multiplier)


multiply.__doc__ = _multiply_impl.__doc__


def add_field(x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_add_field_impl, x, (noise,), ()) if noise.shape[0] == x.shape[0] else _add_field_impl(x, noise)


add_field.__doc__ = _add_field_impl.__doc__


def iso_noise(x: torch.Tensor, color_shift: torch.Tensor, intensity: torch.Tensor, hue_noise: torch.Tensor, lum_counts: torch.Tensor) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_iso_noise_impl, x, (color_shift, intensity, hue_noise, lum_counts), (), work_factor=32)


iso_noise.__doc__ = _iso_noise_impl.__doc__
