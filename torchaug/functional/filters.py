"""Batched sharpening and filter kernels with per-sample parameters: sharpen, emboss, edge
detection, unsharp mask and custom-kernel convolution. No randomness.

The 3x3 kernels are built per sample (``(B, 3, 3)``) and applied by
:func:`torchaug.functional.blur.filter2d` (``cv2.filter2D`` semantics: correlation, reflect-101
border, ``uint8`` rounded and saturated, floats clamped to [0, 1]).
"""

from __future__ import annotations

import torch

from torchaug._cpu.chunks import run_chunked
from torchaug.functional._workspace import constant
from torchaug.functional.blur import _finish, cv2_gaussian_kernels, filter2d, separable_filter

__all__ = [
    "sharpen_kernels",
    "emboss_kernels",
    "edge_detect_kernels",
    "blend_identity",
    "sharpen_gaussian",
    "unsharp_mask",
    "convolve",
]

def blend_identity(effect: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``(1 - alpha) * identity + alpha * effect`` for ``(B, 3, 3)`` kernels and ``(B,)`` alphas."""
    a = alpha.to(effect.dtype).view(-1, 1, 1)
    identity = constant(((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 0.0)), effect.device, effect.dtype)
    return (1 - a) * identity + a * effect


def sharpen_kernels(alpha: torch.Tensor, lightness: torch.Tensor) -> torch.Tensor:
    """albumentations ``Sharpen(method="kernel")``: identity blended by ``alpha`` with
    ``[[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]]``. ``(B, 3, 3)`` float32."""
    eff = -torch.ones(alpha.shape[0], 3, 3, device=alpha.device)
    eff[:, 1, 1] = 8 + lightness.to(torch.float32)
    return blend_identity(eff, alpha.to(torch.float32))


def emboss_kernels(alpha: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """albumentations ``Emboss``: identity blended by ``alpha`` with
    ``[[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]]``. ``(B, 3, 3)`` float32."""
    s = strength.to(torch.float32).view(-1, 1, 1)
    base = constant(((-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)), alpha.device)
    sign = constant(((-1.0, -1.0, 0.0), (-1.0, 0.0, 1.0), (0.0, 1.0, 1.0)), alpha.device)
    return blend_identity(base + sign * s, alpha.to(torch.float32))


def edge_detect_kernels(alpha: torch.Tensor) -> torch.Tensor:
    """imgaug ``EdgeDetect``: identity blended by ``alpha`` with the Laplacian
    ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``. ``(B, 3, 3)`` float32."""
    lap = constant(((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0)), alpha.device)
    return blend_identity(lap.expand(alpha.shape[0], 3, 3), alpha.to(torch.float32))


def _gauss(xf: torch.Tensor, ksize: torch.Tensor, sigma: torch.Tensor, kmax: int) -> torch.Tensor:
    g = cv2_gaussian_kernels(ksize, sigma, kmax)
    return separable_filter(xf, g, g)


def _unit(x: torch.Tensor) -> torch.Tensor:
    """``x`` on the [0, 1] float scale (float32 for uint8/half; float64 kept)."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32) / 255.0
    return x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)


def _from_unit(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if like.dtype == torch.uint8:
        return _finish(y.mul(255.0), like, True)
    return _finish(y, like, False)


def _sharpen_gaussian_impl(x: torch.Tensor, alpha: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:
    """albumentations ``Sharpen(method="gaussian")``: ``x + alpha (x - GaussianBlur(x))``, clamped.

    ``alpha``: ``(B,)``; the blur is ``cv2.GaussianBlur(ksize=kernel_size, sigma)`` (reflect-101).
    Computed on the [0, 1] scale (``uint8``: rounded back).
    """
    B = x.shape[0]
    xf = _unit(x)
    dev = x.device
    blurred = _gauss(xf, torch.full((B,), kernel_size, device=dev), torch.full((B,), float(sigma), device=dev), kernel_size)
    a = alpha.to(device=dev, dtype=xf.dtype).view(-1, 1, 1, 1)
    return _from_unit((xf - blurred).mul_(a).add_(xf).clamp_(0.0, 1.0), x)


def _unsharp_mask_impl(
    x: torch.Tensor, ksize: torch.Tensor, sigma: torch.Tensor, alpha: torch.Tensor, threshold: float, kmax: int | None = None
) -> torch.Tensor:
    """Unsharp masking, albumentations 2.0.8 ``unsharp_mask`` semantics (on the [0, 1] scale).

    ``blur = GaussianBlur(x, ksize, sigma)`` (``(B,)`` each; ``sigma <= 0``: OpenCV's default for
    the size), ``residual = x - blur``; pixels with ``|residual| * 255 > threshold`` are sharpened
    to ``clip(x + alpha * residual)``, through a soft mask (the same blur of the 0/1 mask):
    ``out = sharp * soft + x * (1 - soft)``. ``uint8``: rounded back to [0, 255].
    """
    if kmax is None:
        kmax = int(ksize.max())
    kmax += 1 - kmax % 2
    xf = _unit(x)
    dev = x.device
    g = cv2_gaussian_kernels(ksize.to(dev), sigma.to(dev), kmax).to(xf.dtype)
    blur = separable_filter(xf, g, g)
    residual = xf - blur
    mask = (residual.abs() * 255 > threshold).to(xf.dtype)
    a = alpha.to(device=dev, dtype=xf.dtype).view(-1, 1, 1, 1)
    sharp = (xf + a * residual).clamp_(0.0, 1.0)
    soft = separable_filter(mask, g, g)
    out = sharp.mul_(soft).add_(xf * (1 - soft))
    return _from_unit(out, x)


def convolve(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Correlate every sample with one ``(kh, kw)`` kernel, or per sample ``(B, kh, kw)``:
    imgaug ``Convolve`` / ``cv2.filter2D(img, -1, kernel)`` (odd sizes, anchor at the centre,
    reflect-101 border; ``uint8`` rounded and saturated, floats clamped to [0, 1])."""
    return filter2d(x, kernel)


# -- public entry points: the kernels above, run on chunks of the batch (see torchaug._cpu.chunks) --


def sharpen_gaussian(x: torch.Tensor, alpha: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_sharpen_gaussian_impl, x, (alpha,), (kernel_size, sigma))


sharpen_gaussian.__doc__ = _sharpen_gaussian_impl.__doc__


def unsharp_mask(x: torch.Tensor, ksize: torch.Tensor, sigma: torch.Tensor, alpha: torch.Tensor, threshold: float, kmax: int | None = None) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_unsharp_mask_impl, x, (ksize, sigma, alpha), (threshold, kmax if kmax is not None else int(ksize.max())), work_factor=16)


unsharp_mask.__doc__ = _unsharp_mask_impl.__doc__
