"""Batched occlusion, noise and blur kernels with per-sample parameters. No randomness.

``x`` is ``(B, C, H, W)``, ``uint8`` in [0, 255] or floating in [0, 1]; parameters are ``(B,)``
(or ``(B, N)`` for several boxes per sample) tensors. Random fields (noise) are passed in, so
that kernels stay deterministic and the transforms can replay them. Outputs keep the input's
shape, dtype, device and memory format.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from torchaug._cpu.chunks import run_chunked
from torchaug._cpu.parallel import copy_like
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug.functional._workspace import as_device_tensor, constant
from torchaug.functional.color import _from_work, _keep_format, _to_work

__all__ = ["box_mask", "erase", "add_noise", "salt_and_pepper", "gaussian_kernels", "gaussian_blur"]


def _box_weights(
    top: torch.Tensor, left: torch.Tensor, height: torch.Tensor, width: torch.Tensor, size: tuple[int, int], dtype: torch.dtype
) -> torch.Tensor:
    """``(B, 1, H, W)`` tensor of ``dtype`` holding 1 inside the boxes and 0 outside.

    Built as the outer product of a row and a column indicator per box (``(B, N, H)`` and
    ``(B, N, W)``), so that only ``B * N * (H + W)`` comparisons are made; several boxes are
    united with a batched matrix product.
    """
    H, W = size
    dev = top.device
    t, l_, h, w = (v if v.dtype == torch.long and v.device == dev else v.to(dev, torch.long) for v in (top, left, height, width))
    if t.ndim == 1:  # one box per sample: (B, 1, H, 1) rows times (B, 1, 1, W) columns
        rows = torch.arange(H, device=dev)
        cols = torch.arange(W, device=dev)
        t, l_, h, w = (v.view(-1, 1) for v in (t, l_, h, w))
        rm = ((rows >= t) & (rows < t + h)).to(dtype)  # (B, H)
        cm = ((cols >= l_) & (cols < l_ + w)).to(dtype)  # (B, W)
        return rm.view(-1, 1, H, 1) * cm.view(-1, 1, 1, W)
    t, l_, h, w = (v[:, :, None] for v in (t, l_, h, w))  # (B, N, 1)
    rows = torch.arange(H, device=dev)
    cols = torch.arange(W, device=dev)
    rm = ((rows >= t) & (rows < t + h)).to(dtype)  # (B, N, H)
    cm = ((cols >= l_) & (cols < l_ + w)).to(dtype)  # (B, N, W)
    if rm.shape[1] == 1:
        return (rm[:, 0, :, None] * cm[:, 0, None, :]).unsqueeze(1)
    m = torch.bmm(rm.transpose(1, 2).float(), cm.float()).clamp_(max=1.0)  # (B, H, W) union
    return m.to(dtype).unsqueeze(1)


def box_mask(
    top: torch.Tensor, left: torch.Tensor, height: torch.Tensor, width: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """Boolean ``(B, 1, H, W)`` mask of the boxes ``[top, top + height) x [left, left + width)``.

    Parameters are ``(B,)`` or ``(B, N)`` integer tensors (``N`` boxes per sample, united); built
    by broadcasting ``arange``s, without a loop over samples.
    """
    return _box_weights(top, left, height, width, size, torch.uint8).bool()


def _fill(value: torch.Tensor | float | tuple[float, ...], x: torch.Tensor) -> torch.Tensor:
    """A fill value as a tensor broadcastable to ``x`` (``(C,)`` -> ``(1, C, 1, 1)``), in ``x``'s dtype."""
    v = as_device_tensor(value, x.device)
    if v.ndim == 1:
        v = v.view(1, -1, 1, 1)
    if x.dtype == torch.uint8 and v.is_floating_point():
        v = v.round().clamp(0, 255)
    return v.to(x.dtype)


@copy_like
def erase(
    x: torch.Tensor,
    top: torch.Tensor,
    left: torch.Tensor,
    height: torch.Tensor,
    width: torch.Tensor,
    value: torch.Tensor | float | tuple[float, ...] = 0.0,
) -> torch.Tensor:
    """Fill each sample's box(es) with ``value`` (in the image's scale): a number, a per-channel
    ``(C,)`` tuple/tensor, or a tensor broadcastable to ``x`` (e.g. per-pixel random values).

    Per sample, equal to ``torchvision.transforms.v2.functional.erase(x[b], top, left, height,
    width, value)``. ``height`` or ``width`` of 0 leaves the sample unchanged.
    """
    # x * (1 - m) + v * m with a 0/1 mask in x's dtype: exact (one term is always 0), and on CPU
    # several times faster than ``torch.where`` with a bool mask
    m = _box_weights(top, left, height, width, (x.shape[-2], x.shape[-1]), x.dtype)
    out = x * (1 - m)
    if not (isinstance(value, (int, float)) and value == 0):  # a zero fill adds nothing
        out += _fill(value, x) * m
    return _keep_format(out, x)


def add_noise(x: torch.Tensor, noise: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """``x + noise`` where ``noise`` is on the [0, 1] scale (scaled by 255 for ``uint8``, then
    rounded); clamped to the valid range when ``clip`` (always for ``uint8``)."""
    xf, bound, integer = _to_work(x)
    out = xf + (noise * 255.0 if integer else noise).to(xf.dtype)
    if integer:
        out = out.round_()
    if clip or integer:
        out = out.clamp_(0.0, bound)
    return _from_work(out, x)


def salt_and_pepper(x: torch.Tensor, salt: torch.Tensor, pepper: torch.Tensor) -> torch.Tensor:
    """Set the pixels where ``salt`` is true to the maximum value and where ``pepper`` is true to 0.

    ``salt``/``pepper`` are boolean masks broadcastable to ``x`` (``(B, 1, H, W)``: every channel
    of a pixel; ``(B, C, H, W)``: channels independently). Salt wins where both are set. uint8:
    ``x * keep + 255 salt`` with 0/1 factors (exact; CPU ``where`` is a scalar loop).
    """
    if x.dtype == torch.uint8:
        s = salt.to(x.device)
        out = x * (~(s | pepper.to(x.device))).to(torch.uint8)
        out += s.to(torch.uint8) * 255
        return _keep_format(out, x)
    hi = constant(1.0, x.device, x.dtype)
    lo = constant(0, x.device, x.dtype)
    out = torch.where(pepper, lo, x)
    return _keep_format(torch.where(salt, hi, out), x)


def gaussian_kernels(kernel_size: int, sigma: torch.Tensor) -> torch.Tensor:
    """``(B, kernel_size)`` normalised Gaussian kernels, one per ``sigma`` (``(B,)``), sampled at
    ``linspace(-(k-1)/2, (k-1)/2, k)`` as torchvision does."""
    half = (kernel_size - 1) * 0.5
    t = torch.linspace(-half, half, kernel_size, device=sigma.device, dtype=torch.float32)
    s = sigma.to(torch.float32).view(-1, 1)
    k = torch.exp(-0.5 * (t / s).pow(2))
    return k / k.sum(dim=1, keepdim=True)


def gaussian_blur(x: torch.Tensor, kernel_size: tuple[int, int], sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian blur with a per-sample ``sigma``: ``(B,)`` (same in x and y) or ``(B, 2)``
    (``sigma_x``, ``sigma_y``, torchvision's order). ``kernel_size = (kx, ky)``: odd ints.

    Separable: a horizontal then a vertical grouped convolution over the ``B * C`` planes, each
    plane with its own sample's kernel; reflect padding. Per sample, equal to torchvision's
    ``gaussian_blur`` (which convolves with the outer product of the same 1-D kernels) up to float
    rounding; ``uint8`` results are rounded as torchvision does (off by one grey level at most).
    On the CPU the batch runs in chunks of about ``THRESHOLDS.blur_chunk_bytes`` of float work
    (:func:`torchaug._cpu.chunks.run_chunked`, the same pixels).
    """
    kx, ky = int(kernel_size[0]), int(kernel_size[1])
    sigma = sigma.to(x.device)
    if sigma.ndim == 1:
        sigma = sigma[:, None].expand(x.shape[0], 2)
    if kx <= 1 and ky <= 1:
        return x.clone()
    return run_chunked(_gaussian_blur_whole, x, (sigma,), ((kx, ky),), work_factor=2 * (kx + ky),
                       chunk_bytes=THRESHOLDS.blur_chunk_bytes)


def _gaussian_blur_whole(x: torch.Tensor, sigma: torch.Tensor, kernel_size: tuple[int, int]) -> torch.Tensor:
    """:func:`gaussian_blur` in one pass over the batch: ``sigma`` ``(B, 2)``, ``kernel_size`` ``(kx, ky)``."""
    kx, ky = kernel_size
    B, C, H, W = x.shape
    xf, bound, integer = _to_work(x)
    y = xf.reshape(1, B * C, H, W)
    if kx > 1:
        wx = gaussian_kernels(kx, sigma[:, 0]).to(xf.dtype).repeat_interleave(C, dim=0).view(B * C, 1, 1, kx)
        y = F.conv2d(F.pad(y, (kx // 2, kx // 2, 0, 0), mode="reflect"), wx, groups=B * C)
    if ky > 1:
        wy = gaussian_kernels(ky, sigma[:, 1]).to(xf.dtype).repeat_interleave(C, dim=0).view(B * C, 1, ky, 1)
        y = F.conv2d(F.pad(y, (0, 0, ky // 2, ky // 2), mode="reflect"), wy, groups=B * C)
    y = y.reshape(B, C, H, W)
    if integer:
        y = y.round_().clamp_(0.0, bound)
    else:  # a convex combination: within each sample's range, not one rounding step past it
        y = torch.maximum(torch.minimum(y, xf.amax((1, 2, 3), keepdim=True)), xf.amin((1, 2, 3), keepdim=True))
    return _from_work(y, x)
