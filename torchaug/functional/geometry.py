"""Batched geometry kernels: ``(x, per-sample parameter tensors) -> x``. No randomness.

Every kernel takes images ``x`` of shape ``(B, C, H, W)`` (uint8 in [0, 255] or floating in
[0, 1]) and parameter tensors with a leading batch dimension ``B`` (a Python number or a
tensor of shape ``()`` is broadcast to every sample). The output keeps the input's dtype,
device and memory format (``channels_last`` in, ``channels_last`` out). uint8 results are
rounded and clamped; float16/bfloat16 are computed in float32 and cast back.

Coordinates
-----------
Pixel coordinates are continuous: the image covers ``[0, W] x [0, H]``, ``x`` goes right and
``y`` goes down, and the centre of pixel ``(row i, column j)`` is ``(j + 0.5, i + 0.5)``.
Bounding boxes ``(B, N, 4)`` are ``xyxy`` and keypoints ``(B, N, 2)`` are ``xy`` in these
coordinates. (torchvision flips keypoints as pixel indices, ``x -> W - 1 - x``; here every op,
flips included, moves points exactly as it moves the image content.)

Affine matrices are ``(B, 2, 3)`` **forward** maps in pixel coordinates: an input point
``p`` lands at ``matrix @ [p, 1]`` in the output. :func:`affine_matrix` builds them with
torchvision's conventions (``angle`` clockwise in degrees, ``translate`` in pixels, ``scale``,
``shear`` in degrees, centre at the image centre); :func:`affine` also accepts the inverse
(output to input) map with ``inverse=True``.

The sampling kernels reproduce ``torchvision.transforms.v2.functional`` (same grids, same
``fill`` blending, same rounding), so a sample's result equals the torchvision call with that
sample's parameters (float within 1e-5, uint8 within one grey level).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from typing import Union

import torch
import torch.nn.functional as F

from torchaug._devpath import cpu_path
from torchaug._validation import describe
from torchaug.functional._workspace import as_device_tensor, constant
from torchaug._cpu.narrow import narrow_uint8_
from torchaug._cpu.parallel import copy_like, parallel_for
from torchaug._cpu.registry import fast_path
from torchaug._cpu.scratch import scratch
from torchaug._cpu.thresholds import THRESHOLDS

__all__ = [
    "affine_matrix",
    "affine",
    "rotate",
    "translate",
    "shear",
    "hflip",
    "vflip",
    "crop",
    "pad",
    "center_crop",
    "resize",
    "resized_crop",
    "perspective_coefficients",
    "perspective",
    "elastic",
    "elastic_displacement",
    "gaussian_kernel1d",
    "affine_points",
    "perspective_points",
    "elastic_points",
    "points_to_boxes",
    "box_corners",
    "clip_boxes",
]

Number = Union[int, float]
Fill = Union[None, Number, Sequence[Number]]
_INTERPOLATIONS = ("nearest", "bilinear")
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _hp(device: torch.device) -> torch.dtype:
    """High-precision dtype for parameter maths (float64 where the device has it)."""
    return torch.float32 if device.type == "mps" else torch.float64


def _per_sample(v: Number | torch.Tensor, b: int, device: torch.device, dtype: torch.dtype, *tail: int) -> torch.Tensor:
    """Broadcast a number or tensor to ``(b, *tail)`` on ``device``."""
    t = as_device_tensor(v, device, dtype if not isinstance(v, torch.Tensor) else None).to(dtype)
    if t.ndim == 0 or (t.shape[0] == 1 and b != 1 and t.ndim == len(tail) + 1):
        return t.expand(b, *tail) if t.ndim else t.view(*([1] * (len(tail) + 1))).expand(b, *tail)
    return t.expand(b, *tail) if tail else t.reshape(b)


def _work(x: torch.Tensor) -> torch.Tensor:
    """The float tensor a sampling kernel computes in."""
    if x.dtype in (torch.float32, torch.float64):
        return x
    return x.float()


def _restore(out: torch.Tensor, like: torch.Tensor, *, rounded: bool = False) -> torch.Tensor:
    """Cast ``out`` back to ``like``'s dtype (round + clamp for uint8) and memory format."""
    if out.dtype != like.dtype:
        if like.dtype == torch.uint8:
            if not rounded:
                out = out.round()
            out = narrow_uint8_(out.clamp_(0, 255))
        elif like.is_floating_point():
            out = out.to(like.dtype)
        else:  # integer/bool masks
            out = out.round().to(like.dtype) if not rounded else out.to(like.dtype)
    return _same_format(out, like)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """``channels_last`` for a channels-last (and not also contiguous) 4-d tensor, else contiguous."""
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _same_format(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if out.ndim != 4 or like.ndim != 4:
        return out
    if like.is_contiguous():
        return out.contiguous()
    if like.is_contiguous(memory_format=torch.channels_last):
        return out.contiguous(memory_format=torch.channels_last)
    return out


def _check_interpolation(interpolation: str, owner: str) -> str:
    interpolation = getattr(interpolation, "value", interpolation)  # torchvision InterpolationMode
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{owner}: interpolation must be one of {list(_INTERPOLATIONS)}; got {interpolation!r}")
    return interpolation


def _fill_tensor(fill: Fill, c: int, dtype: torch.dtype, device: torch.device, owner: str) -> torch.Tensor | None:
    if fill is None:
        return None
    if isinstance(fill, torch.Tensor):
        vals = fill.to(device=device, dtype=dtype).flatten()
    elif isinstance(fill, (int, float)):
        vals = constant((float(fill),), device, dtype)
    else:
        vals = constant(tuple(float(v) for v in fill), device, dtype)
    if vals.numel() not in (1, c):
        raise ValueError(f"{owner}: fill must be a number or one value per channel ({c}); got {vals.numel()} values")
    return vals.view(1, -1, 1, 1)


def _grid_sample(x: torch.Tensor, grid: torch.Tensor, interpolation: str, fill: Fill, owner: str) -> torch.Tensor:
    """torchvision's ``_apply_grid_transform`` over a batch: per-sample ``grid (B, oh, ow, 2)``."""
    if interpolation == "nearest" and x.dtype in (torch.uint8, torch.float32, torch.float64) and x.shape[-2] * x.shape[-1] < 1 << 24:
        return _grid_sample_nearest(x, grid, fill, owner)
    xf = _work(x)
    grid = grid.to(xf.dtype)
    b, c = xf.shape[:2]
    fill_t = _fill_tensor(fill, c, xf.dtype, xf.device, owner)
    if fill_t is not None:
        ones = torch.ones((b, 1, *xf.shape[-2:]), dtype=xf.dtype, device=xf.device)
        xf = torch.cat((xf, ones), dim=1)
    out = F.grid_sample(xf, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    if fill_t is not None:
        out, mask = out[:, :c], out[:, c:]
        if interpolation == "nearest":
            out = torch.where(mask < 0.5, fill_t.expand_as(out), out)
        else:
            out = (out - fill_t).mul_(mask).add_(fill_t)
    if x.dtype == torch.uint8:  # ``out`` is this function's own tensor: round in place (no extra copy)
        return _restore(out.round_(), x, rounded=True)
    return _restore(out, x)


def _grid_sample_nearest(x: torch.Tensor, grid: torch.Tensor, fill: Fill, owner: str) -> torch.Tensor:
    """:func:`_grid_sample` with ``"nearest"``, the same pixels: ``grid_sample`` picks each output's
    source pixel once, on a one-channel plane of pixel numbers (``index + 1``; 0 outside: exact in
    the grid's float type below 2^24 pixels), and every channel is gathered in ``x``'s own dtype from
    the image with the fill value prepended as pixel 0 (no float copy of the image, no mask channel,
    no rounding)."""
    b, c, h, w = x.shape
    gdt = torch.float64 if x.dtype == torch.float64 else torch.float32
    oh, ow = grid.shape[1:3]
    plane = torch.arange(1, h * w + 1, dtype=gdt, device=x.device).view(1, 1, h, w).expand(b, 1, h, w)
    pick = F.grid_sample(plane, grid.to(gdt), mode="nearest", padding_mode="zeros", align_corners=False)
    src = torch.empty((b, c, h * w + 1), dtype=x.dtype, device=x.device)
    src[:, :, 1:].view(b, c, h, w).copy_(x)
    fill_t = _fill_tensor(fill, c, gdt, x.device, owner)
    if fill_t is None:  # torchvision without a fill: zeros outside
        src[:, :, 0] = 0
    else:
        if x.dtype == torch.uint8:  # as the float path: the fill rounded and clipped to 8 bits
            fill_t = fill_t.round().clamp_(0, 255)
        src[:, :, 0] = fill_t.view(1, -1).to(x.dtype)
    idx = pick.view(b, 1, oh * ow).long().expand(b, c, -1)
    return _same_format(src.gather(2, idx).view(b, c, oh, ow), x)


def _centered_base_grid(oh: int, ow: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(1, oh*ow, 3)`` rows ``[x, y, 1]`` of pixel centres relative to the image centre."""
    base = torch.empty(1, oh, ow, 3, dtype=dtype, device=device)
    base[..., 0].copy_(torch.linspace((1.0 - ow) * 0.5, (ow - 1.0) * 0.5, steps=ow, device=device))
    base[..., 1].copy_(torch.linspace((1.0 - oh) * 0.5, (oh - 1.0) * 0.5, steps=oh, device=device).unsqueeze(-1))
    base[..., 2].fill_(1)
    return base.view(1, oh * ow, 3)


# ---------------------------------------------------------------------------------------------
# affine family
# ---------------------------------------------------------------------------------------------
def affine_matrix(
    angle: Number | torch.Tensor,
    translate: Sequence[Number] | torch.Tensor = (0.0, 0.0),
    scale: Number | torch.Tensor = 1.0,
    shear: Sequence[Number] | torch.Tensor = (0.0, 0.0),
    *,
    size: tuple[int, int],
    center: Sequence[Number] | torch.Tensor | None = None,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Forward affine maps ``(B, 2, 3)`` in pixel coordinates, torchvision's ``F.affine`` maths.

    ``M = T * C * R(angle) * S(scale) * SHy(shear_y) * SHx(shear_x) * C^-1`` with ``angle``
    clockwise in degrees ``(B,)``, ``translate`` ``(B, 2)`` pixels, ``scale`` ``(B,)``, ``shear``
    ``(B, 2)`` degrees and centre ``C`` (default: the image centre ``(W/2, H/2)``; ``center`` is
    ``(B, 2)`` or ``(2,)`` in pixel coordinates). ``size`` is ``(H, W)``. Computed in float64
    (float32 on MPS).
    """
    tensors = [t for t in (angle, translate, scale, shear, center) if isinstance(t, torch.Tensor)]
    dev = torch.device(device) if device is not None else (tensors[0].device if tensors else torch.device("cpu"))
    if batch_size is None:
        batch_size = 1
        for t, vec in ((angle, False), (scale, False), (translate, True), (shear, True), (center, True)):
            if isinstance(t, torch.Tensor) and t.ndim == (2 if vec else 1):
                batch_size = t.shape[0]
                break
    b, dt = batch_size, _hp(dev)
    h, w = size
    ang = _per_sample(angle, b, dev, dt)
    sc = _per_sample(scale, b, dev, dt)
    tr = as_device_tensor(translate, dev).to(dt).reshape(-1, 2).expand(b, 2)
    sh = as_device_tensor(shear, dev).to(dt).reshape(-1, 2).expand(b, 2)
    if center is None:
        cen = constant((w * 0.5, h * 0.5), dev, dt).expand(b, 2)
    else:
        cen = as_device_tensor(center, dev).to(dt).reshape(-1, 2).expand(b, 2)
    rot = torch.deg2rad(ang)
    sx, sy = torch.deg2rad(sh[:, 0]), torch.deg2rad(sh[:, 1])
    a = torch.cos(rot - sy) / torch.cos(sy)
    bb = -torch.cos(rot - sy) * torch.tan(sx) / torch.cos(sy) - torch.sin(rot)
    c = torch.sin(rot - sy) / torch.cos(sy)
    d = -torch.sin(rot - sy) * torch.tan(sx) / torch.cos(sy) + torch.cos(rot)
    m = torch.stack([a * sc, bb * sc, torch.zeros_like(a), c * sc, d * sc, torch.zeros_like(a)], dim=1).view(b, 2, 3)
    cx, cy = cen[:, 0], cen[:, 1]
    tx, ty = tr[:, 0], tr[:, 1]
    m2 = m[:, 0, 0] * (-cx) + m[:, 0, 1] * (-cy) + cx + tx
    m5 = m[:, 1, 0] * (-cx) + m[:, 1, 1] * (-cy) + cy + ty
    return torch.cat([m[:, :, :2], torch.stack([m2, m5], dim=1).unsqueeze(-1)], dim=2)


def _invert_affine(m: torch.Tensor) -> torch.Tensor:
    """Inverse of ``(B, 2, 3)`` affine maps (closed form)."""
    a, b, t0 = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    c, d, t1 = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    it0 = -(ia * t0 + ib * t1)
    it1 = -(ic * t0 + id_ * t1)
    return torch.stack([ia, ib, it0, ic, id_, it1], dim=1).view(-1, 2, 3)


def affine(
    x: torch.Tensor,
    matrix: torch.Tensor,
    *,
    interpolation: str = "nearest",
    fill: Fill = 0,
    inverse: bool = False,
    output_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Warp each sample by its affine map: ``x (B, C, H, W)``, ``matrix (B, 2, 3)`` (or ``(2, 3)``).

    ``matrix`` is the forward map in pixel coordinates (see the module docstring), or the
    output-to-input map when ``inverse=True``. ``interpolation`` is ``"nearest"`` or
    ``"bilinear"``; pixels mapped from outside the image take ``fill`` (a number or one value per
    channel, in the image's units; ``None`` leaves zeros without the fill mask, as torchvision).
    Same grid and blending as ``torchvision.transforms.v2.functional.affine``.
    """
    interpolation = _check_interpolation(interpolation, "affine")
    b, _, h, w = x.shape
    oh, ow = output_size if output_size is not None else (h, w)
    m = matrix.to(device=x.device, dtype=_hp(x.device))
    if m.ndim == 2:
        m = m.unsqueeze(0)
    m = m.expand(b, 2, 3)
    inv = m if inverse else _invert_affine(m)
    # to a frame centred on the image centre (torchvision's theta): p_in_c = A p_out_c + t'
    cin = constant((w * 0.5, h * 0.5), x.device, inv.dtype)
    cout = constant((ow * 0.5, oh * 0.5), x.device, inv.dtype)
    lin = inv[:, :, :2]
    t = (lin @ cout) + inv[:, :, 2] - cin
    gdt = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    theta = torch.cat([lin, t.unsqueeze(-1)], dim=2).to(gdt)
    rescaled = theta / constant((0.5 * w, 0.5 * h), x.device, gdt).view(1, 2, 1)  # (B, 2, 3)
    base = _centered_base_grid(oh, ow, gdt, x.device).view(1, oh, ow, 3)
    # grid = base @ rescaled^T, separably (a stride-0 batched bmm is very slow on CPU): the x term
    # varies along columns only and the y term along rows only, so each is a (B, 1, ow) or (B, oh, 1)
    # product and each grid plane is written by one broadcast add into the (B, oh, ow, 2) grid. Same
    # float operations in the same order as ``bx * r00 + by * r01 + r02`` per element: bit-identical.
    bx, by = base[:, :1, :, 0], base[:, :, :1, 1]  # (1, 1, ow), (1, oh, 1)
    r = rescaled.view(b, 2, 3, 1, 1)
    grid = torch.empty((b, oh, ow, 2), dtype=gdt, device=x.device)
    for k in range(2):
        plane = grid[..., k]
        torch.add(bx * r[:, k, 0], by * r[:, k, 1], out=plane)
        plane.add_(r[:, k, 2])
    return _grid_sample(x, grid, interpolation, fill, "affine")


def rotate(
    x: torch.Tensor,
    angle: Number | torch.Tensor,
    *,
    interpolation: str = "nearest",
    fill: Fill = 0,
    center: Sequence[Number] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Rotate each sample by ``angle (B,)`` degrees **counter-clockwise** (torchvision ``F.rotate``)."""
    b, _, h, w = x.shape
    ang = _per_sample(angle, b, x.device, _hp(x.device))
    m = affine_matrix(-ang, size=(h, w), center=center, batch_size=b, device=x.device)
    return affine(x, m, interpolation=interpolation, fill=fill)


def translate(
    x: torch.Tensor, shift: Sequence[Number] | torch.Tensor, *, interpolation: str = "nearest", fill: Fill = 0
) -> torch.Tensor:
    """Shift each sample by ``shift (B, 2)`` pixels ``(dx, dy)`` (right, down)."""
    b, _, h, w = x.shape
    m = affine_matrix(0.0, shift, size=(h, w), batch_size=b, device=x.device)
    return affine(x, m, interpolation=interpolation, fill=fill)


def shear(
    x: torch.Tensor,
    shear: Sequence[Number] | torch.Tensor,
    *,
    interpolation: str = "nearest",
    fill: Fill = 0,
    center: Sequence[Number] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Shear each sample by ``shear (B, 2)`` degrees ``(shear_x, shear_y)`` about ``center``.

    AutoAugment's ``ShearX`` with magnitude ``m`` is ``shear=(degrees(atan(m)), 0)`` with
    ``center=(0, 0)``, as torchvision does.
    """
    b, _, h, w = x.shape
    m = affine_matrix(0.0, (0.0, 0.0), 1.0, shear, size=(h, w), center=center, batch_size=b, device=x.device)
    return affine(x, m, interpolation=interpolation, fill=fill)


def affine_points(points: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Move points ``(B, N, 2)`` by forward affine maps ``(B, 2, 3)``."""
    m = matrix.to(device=points.device, dtype=_hp(points.device))
    p = points.to(m.dtype)
    out = p @ m[:, :, :2].transpose(1, 2) + m[:, :, 2].unsqueeze(1)
    return out.to(points.dtype if points.is_floating_point() else torch.float32)


# ---------------------------------------------------------------------------------------------
# flips, crops, padding
# ---------------------------------------------------------------------------------------------
def _flip_plain(x: torch.Tensor, dim: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """``x.flip(dim)`` (into ``out`` when given): the reference of :func:`_flip_into`."""
    return x.flip(dim) if out is None else out.copy_(x.flip(dim))


def _flip_examples(x: torch.Tensor, g: torch.Generator) -> list:
    y, y2 = x.clone(), x.clone()
    return [((y, -1), {"out": y}), ((y2, -2), {"out": y2})]


@fast_path(plain=_flip_plain, applies=lambda x, dim, out=None: out is x and cpu_path(x), examples=_flip_examples,
           thresholds=("into_chunk_bytes",), mutates=(0,))
def _flip_into(x: torch.Tensor, dim: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """A flip written back into ``x`` itself (``out is x``) block by block of about
    ``THRESHOLDS.into_chunk_bytes``: each block's temporary is small enough for the allocator to
    recycle, where one batch-sized temporary is page-faulted in on first touch (32x3x224x224 uint8:
    1,200 faults, about 1.8 ms on the benchmark machine, several times the flip). Other ``out``: plain."""
    if out is not x:
        return _flip_plain(x, dim, out)
    rows = max(1, THRESHOLDS.into_chunk_bytes // max(1, x[0].numel() * x.element_size())) if x.shape[0] else 1
    for k in range(0, x.shape[0], rows):
        part = x[k : k + rows]
        part.copy_(part.flip(dim))
    return x


def _check_flip_out(out: torch.Tensor | None, x: torch.Tensor, name: str) -> None:
    if out is not None and (not isinstance(out, torch.Tensor) or out.shape != x.shape or out.dtype != x.dtype
                            or out.device != x.device):
        raise ValueError(f"{name}: out must be a tensor of the input's shape {tuple(x.shape)}, dtype {x.dtype} and "
                         f"device {x.device} (x itself included); got {describe(out)}")


@copy_like
def hflip(x: torch.Tensor, *, out: torch.Tensor | None = None) -> torch.Tensor:
    """Mirror left-right (every sample; blend with a per-sample mask for random flips).

    ``out``: write the result there (it may be ``x`` itself: then the flip runs in place, block by
    block, :func:`_flip_into`)."""
    _check_flip_out(out, x, "hflip")
    return _flip_into(x, -1, out) if out is x and cpu_path(x) else _flip_plain(x, -1, out)


@copy_like
def vflip(x: torch.Tensor, *, out: torch.Tensor | None = None) -> torch.Tensor:
    """Mirror top-bottom (``out`` as :func:`hflip`)."""
    _check_flip_out(out, x, "vflip")
    return _flip_into(x, -2, out) if out is x and cpu_path(x) else _flip_plain(x, -2, out)


def _pad_index(idx: torch.Tensor, n: int, mode: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Map (possibly out-of-range) indices into ``[0, n)`` by ``mode``; constant mode returns validity."""
    if mode == "constant":
        valid = (idx >= 0) & (idx < n)
        return idx.clamp(0, n - 1), valid
    if mode == "edge":
        return idx.clamp(0, n - 1), None
    if mode == "reflect":
        if n == 1:
            return torch.zeros_like(idx), None
        period = 2 * n - 2
        i = torch.remainder(idx, period)
        return torch.where(i >= n, period - i, i), None
    period = 2 * n  # symmetric
    i = torch.remainder(idx, period)
    return torch.where(i >= n, period - 1 - i, i), None


def _crop_plain(
    x: torch.Tensor,
    top: int | torch.Tensor,
    left: int | torch.Tensor,
    height: int,
    width: int,
    *,
    padding_mode: str = "constant",
    fill: Fill = 0,
    bounds: tuple[int, int, int, int] | None = None,
) -> torch.Tensor:
    """:func:`crop` as one gather whose out-of-image indices are resolved by ``padding_mode`` (the
    reference of :func:`_crop_windows`; ``bounds`` is not needed)."""
    b, c, h, w = x.shape
    dev = x.device
    top_t = _per_sample(top, b, dev, torch.long)
    left_t = _per_sample(left, b, dev, torch.long)
    rows = top_t.unsqueeze(1) + torch.arange(height, device=dev)  # (B, height)
    cols = left_t.unsqueeze(1) + torch.arange(width, device=dev)  # (B, width)
    rows, vr = _pad_index(rows, h, padding_mode)
    cols, vc = _pad_index(cols, w, padding_mode)
    out = _gather(x, rows, cols)
    if vr is not None:
        valid = (vr.unsqueeze(2) & vc.unsqueeze(1)).unsqueeze(1)  # (B, 1, height, width)
        out = torch.where(valid, out, _crop_fill(fill, c, x))
    return _same_format(out, x)


def _crop_fill(fill: Fill, c: int, x: torch.Tensor) -> torch.Tensor:
    if fill is None or isinstance(fill, (int, float)):  # a fill kernel: no host-to-device copy
        return torch.full((1, 1, 1, 1), _scalar_fill(fill, x.dtype), dtype=x.dtype, device=x.device)
    fill_t = _fill_tensor(fill, c, torch.float32, x.device, "crop")
    return fill_t.round().clamp(0, 255).to(x.dtype) if x.dtype == torch.uint8 else fill_t.to(x.dtype)


_WINDOW_MODES = {"constant": "constant", "edge": "replicate", "reflect": "reflect"}


def _crop_windows_apply(x: torch.Tensor, top, left, height, width, *, padding_mode: str = "constant", fill: Fill = 0,
                        bounds: tuple[int, int, int, int] | None = None) -> bool:
    """When :func:`crop` takes :func:`_crop_windows`: ``bounds`` given, a scalar fill, a mode
    PyTorch pads natively (reflect only with pads smaller than the image), (B,) tensor corners."""
    if bounds is None or padding_mode not in _WINDOW_MODES or x.numel() == 0:
        return False
    if not (fill is None or isinstance(fill, (int, float))):
        return False
    if not (isinstance(top, torch.Tensor) and isinstance(left, torch.Tensor)):
        return False
    l, t, r, b = bounds
    h, w = x.shape[-2:]
    return padding_mode != "reflect" or (max(l, r) < w and max(t, b) < h)


def _scalar_fill(fill: float | None, dtype: torch.dtype) -> float:
    """A scalar ``fill`` as :func:`_crop_fill` makes it (through float32; uint8: rounded half to
    even and clamped), as a Python number: no tensor per call."""
    v = struct.unpack("f", struct.pack("f", 0.0 if fill is None else float(fill)))[0]
    return float(min(255, max(0, round(v)))) if dtype == torch.uint8 else v


def _crop_examples(x: torch.Tensor, g: torch.Generator) -> list:
    b, _, h, w = x.shape
    cases = []
    for pads, mode, fill, (ch, cw) in (((0, 0, 0, 0), "constant", 0, (h - 1, w - 2)),
                                       ((3, 2, 1, 4), "constant", 7, (h, w)),
                                       ((2, 2, 2, 2), "edge", 0, (h + 1, w - 1)),
                                       ((1, 2, 2, 1), "reflect", 0, (h, w + 1))):
        l, t, r, bt = pads
        top = torch.randint(0, h + t + bt - ch + 1, (b,), generator=g) - t
        left = torch.randint(0, w + l + r - cw + 1, (b,), generator=g) - l
        cases.append(((x, top, left, ch, cw), {"padding_mode": mode, "fill": fill, "bounds": pads}))
    return cases


@fast_path(plain=_crop_plain, applies=_crop_windows_apply, examples=_crop_examples)
def _crop_windows(
    x: torch.Tensor,
    top: torch.Tensor,
    left: torch.Tensor,
    height: int,
    width: int,
    *,
    padding_mode: str = "constant",
    fill: Fill = 0,
    bounds: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> torch.Tensor:
    """:func:`crop` of windows that all lie inside ``x`` padded by ``bounds`` ``(l, t, r, b)``: pad
    once (``constant`` into a reused scratch buffer, since a fresh padded batch page-faults in), then
    each crop row is one contiguous row of the padded batch, picked by one ``index_select`` of
    ``B * C * height`` rows from a view of the padded memory as overlapping rows (a row copy
    instead of per-element indexing: 4x faster on CPU, measured 0.27 ms against 1.1 ms for CIFAR's
    256x3x32x32 uint8, one thread). Exact."""
    h, w = x.shape[-2:]
    l, t, r, b = bounds
    mode = _WINDOW_MODES[padding_mode]
    if l or t or r or b:
        if mode == "constant":
            shape = (*x.shape[:2], t + h + b, l + w + r)
            xp = scratch("crop_pad", shape, x.dtype, x.device).fill_(_scalar_fill(fill, x.dtype))
            xp[:, :, t : t + h, l : l + w].copy_(x)
        elif x.dtype in (torch.float16, torch.bfloat16) and x.device.type == "cpu" or x.dtype == torch.uint16:
            # (no uint16 reflect/replicate pad in PyTorch: float32 holds every uint16 exactly)
            xp = F.pad(x.float(), (l, r, t, b), mode=mode).to(x.dtype)
        else:
            xp = F.pad(x, (l, r, t, b), mode=mode)
    else:
        xp = x
    top_p, left_p = top.to(device=x.device, dtype=torch.long) + t, left.to(device=x.device, dtype=torch.long) + l
    if xp.is_contiguous():
        return _same_format(_window_rows(xp, top_p, left_p, height, width), x)
    windows = xp.unfold(2, height, 1).unfold(3, width, 1)  # (B, C, nh, nw, height, width), a view
    bidx = torch.arange(x.shape[0], device=x.device)
    return _same_format(windows[bidx, :, top_p, left_p], x)


def _window_rows(xp: torch.Tensor, top: torch.Tensor, left: torch.Tensor, ch: int, cw: int) -> torch.Tensor:
    """``xp[b, :, top[b]:top[b] + ch, left[b]:left[b] + cw]`` for every ``b`` of a contiguous
    ``(B, C, H, W)`` tensor, as one ``index_select`` of ``B * C * ch`` rows of ``cw`` elements
    from the view of ``xp``'s memory as overlapping rows starting at every element (each crop
    row is contiguous in memory)."""
    b, c, h, w = xp.shape
    flat = xp.reshape(-1)
    rows = flat.as_strided((flat.numel() - cw + 1, cw), (1, 1))  # rows[k] = flat[k : k + cw]
    start = (top * w).add_(left).view(b, 1, 1) + _row_offsets(b, c, h, w, ch, xp.device)
    return rows.index_select(0, start.view(-1)).view(b, c, ch, cw)


@functools.lru_cache(maxsize=16)
def _row_offsets(b: int, c: int, h: int, w: int, ch: int, device: torch.device) -> torch.Tensor:
    """``(B, C, ch)`` offsets of each crop row's start from its sample's window corner (shared, read-only)."""
    idx = [torch.arange(n, device=device) for n in (b, c, ch)]
    return (idx[0] * (c * h * w)).view(b, 1, 1) + (idx[1] * (h * w)).view(1, c, 1) + (idx[2] * w).view(1, 1, ch)


@copy_like
def crop(
    x: torch.Tensor,
    top: int | torch.Tensor,
    left: int | torch.Tensor,
    height: int,
    width: int,
    *,
    padding_mode: str = "constant",
    fill: Fill = 0,
    bounds: tuple[int, int, int, int] | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-sample crops of one size: ``x (B, C, H, W) -> (B, C, height, width)``.

    ``top``/``left`` are ``(B,)`` integer tensors (or ints) in ``x``'s pixel grid; they may lie
    outside the image, in which case the missing pixels come from padding ``x`` by
    ``padding_mode`` (``constant`` with ``fill``, ``edge``, ``reflect``, ``symmetric``), so
    ``RandomCrop``'s pad-then-crop is one gather with no padded copy. Exact (integer indexing).

    ``bounds=(l, t, r, b)``: a promise that every window lies inside ``x`` padded by that much
    (``RandomCrop`` knows its padding); it lets the kernel pad once and copy rows (a registered
    fast path, :func:`_crop_windows`, equal bit for bit). ``out``: write the result there.
    """
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"crop: padding_mode must be one of {list(_PAD_MODES)}; got {padding_mode!r}")
    if bounds is not None and (len(bounds) != 4 or min(bounds) < 0):
        raise ValueError(f"crop: bounds must be four non-negative ints (left, top, right, bottom); got {bounds!r}")
    kernel = _crop_windows if _crop_windows_apply(x, top, left, height, width, padding_mode=padding_mode, fill=fill,
                                                  bounds=bounds) else _crop_plain
    res = kernel(x, top, left, height, width, padding_mode=padding_mode, fill=fill, bounds=bounds)
    if out is None:
        return res
    if not isinstance(out, torch.Tensor) or out.shape != res.shape or out.dtype != res.dtype:
        raise ValueError(f"crop: out must be a tensor of shape {tuple(res.shape)} and dtype {res.dtype}; got {describe(out)}")
    return out.copy_(res)


def _gather(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``out[b, :, i, j] = x[b, :, rows[b, i], cols[b, j]]`` for in-range ``rows (B, h)``, ``cols (B, w)``."""
    b, c, h, w = x.shape
    height, width = rows.shape[1], cols.shape[1]
    if _memory_format(x) == torch.channels_last:
        bidx = torch.arange(b, device=x.device).view(b, 1, 1)
        return x.permute(0, 2, 3, 1)[bidx, rows.unsqueeze(2), cols.unsqueeze(1)].permute(0, 3, 1, 2)
    # one gather over the flattened planes keeps NCHW contiguous
    idx = (rows.unsqueeze(2) * w + cols.unsqueeze(1)).view(b, 1, height * width).expand(b, c, height * width)
    return x.reshape(b, c, h * w).gather(2, idx).view(b, c, height, width)


def _parse_padding(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """torchvision's padding forms -> ``(left, top, right, bottom)``."""
    if isinstance(padding, int):
        return (padding,) * 4
    p = [int(v) for v in padding]
    if len(p) == 1:
        return (p[0],) * 4
    if len(p) == 2:
        return (p[0], p[1], p[0], p[1])
    if len(p) == 4:
        return (p[0], p[1], p[2], p[3])
    raise ValueError(f"pad: padding must be an int or a sequence of 1, 2 or 4 ints; got {padding!r}")


def pad(x: torch.Tensor, padding: int | Sequence[int], *, fill: Fill = 0, padding_mode: str = "constant") -> torch.Tensor:
    """Pad every sample (torchvision padding forms: ``p``, ``(lr, tb)``, ``(l, t, r, b)``)."""
    l, t, r, bt = _parse_padding(padding)
    h, w = x.shape[-2:]
    return crop(x, -t, -l, h + t + bt, w + l + r, padding_mode=padding_mode, fill=fill)


def center_crop(x: torch.Tensor, size: int | Sequence[int]) -> torch.Tensor:
    """Centre crop to ``size`` (pads with zeros when the image is smaller, as torchvision)."""
    oh, ow = (size, size) if isinstance(size, int) else (int(size[0]), int(size[-1]))
    h, w = x.shape[-2:]
    if oh > h or ow > w:
        pl, pt = (ow - w) // 2 if ow > w else 0, (oh - h) // 2 if oh > h else 0
        pr, pb = (ow - w + 1) // 2 if ow > w else 0, (oh - h + 1) // 2 if oh > h else 0
        x = pad(x, (pl, pt, pr, pb))
        h, w = x.shape[-2:]
        if oh == h and ow == w:
            return x
    top = int(round((h - oh) / 2.0))
    left = int(round((w - ow) / 2.0))
    return _same_format(x[..., top : top + oh, left : left + ow], x)


# ---------------------------------------------------------------------------------------------
# resizing
# ---------------------------------------------------------------------------------------------
def _output_size(h: int, w: int, size: int | Sequence[int], max_size: int | None) -> tuple[int, int]:
    """torchvision's ``_compute_resized_output_size``."""
    if isinstance(size, int) or len(size) == 1:
        s = size if isinstance(size, int) else int(size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None:
            if max_size <= s:
                raise ValueError(f"resize: max_size = {max_size} must be larger than size = {s}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)
    return int(size[0]), int(size[1])


def _native_uint8(x: torch.Tensor, interpolation: str) -> bool:
    if x.dtype != torch.uint8:
        return False
    if interpolation == "nearest":
        return True
    return cpu_path(x) and torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")


def resize(
    x: torch.Tensor,
    size: int | Sequence[int],
    *,
    interpolation: str = "bilinear",
    antialias: bool = True,
    max_size: int | None = None,
) -> torch.Tensor:
    """Resize every sample to ``size`` (``(h, w)``, or an int for the shorter side), torchvision's maths.

    ``"bilinear"`` (antialiased when downscaling if ``antialias``) or ``"nearest"``. uint8 on an
    AVX2 CPU uses PyTorch's native uint8 kernel, as torchvision does.
    """
    interpolation = _check_interpolation(interpolation, "resize")
    h, w = x.shape[-2:]
    oh, ow = _output_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return x
    native = _native_uint8(x, interpolation) or x.dtype in (torch.float32, torch.float64)
    xin = x if native else x.float()
    if interpolation == "nearest":
        out = F.interpolate(xin, size=(oh, ow), mode="nearest")
    else:
        out = F.interpolate(xin, size=(oh, ow), mode="bilinear", align_corners=False, antialias=antialias)
    return _restore(out, x)


def _aa_weights(
    start: torch.Tensor, length: torch.Tensor, out_size: int, in_size: int, antialias: bool
) -> torch.Tensor:
    """Dense interpolation weights ``(B, out_size, in_size)`` of PyTorch's (antialiased) bilinear
    resize of the window ``[start, start + length)`` of an axis of ``in_size`` pixels."""
    dev = start.device
    dt = torch.float32
    scale = length.to(dt) / out_size  # (B,)
    support = torch.where(scale >= 1.0, scale, torch.ones_like(scale)) if antialias else torch.ones_like(scale)
    invscale = 1.0 / support
    i = torch.arange(out_size, device=dev, dtype=dt)
    center = scale.unsqueeze(1) * (i + 0.5)  # (B, out) in window coordinates
    j = torch.arange(in_size, device=dev, dtype=dt) - start.to(dt).unsqueeze(1)  # (B, in) window coords
    xmin = (center - support.unsqueeze(1) + 0.5).trunc().clamp_min(0)
    xmax = torch.minimum((center + support.unsqueeze(1) + 0.5).trunc(), length.to(dt).unsqueeze(1))
    jj = j.unsqueeze(1)  # (B, 1, in)
    wgt = (1.0 - ((jj - center.unsqueeze(2) + 0.5) * invscale.view(-1, 1, 1)).abs()).clamp_min(0)
    inside = (jj >= xmin.unsqueeze(2)) & (jj < xmax.unsqueeze(2))
    wgt = wgt * inside
    return wgt / wgt.sum(dim=2, keepdim=True).clamp_min(1e-12)


def _resize_each(x: torch.Tensor, out: torch.Tensor, boxes: list, oh: int, ow: int, native: bool, antialias: bool) -> None:
    """``out[i] = resize(x[i, :, box_i])`` with PyTorch's bilinear kernel (torchvision's), the
    samples spread over ``torch.get_num_threads()`` Python threads (see :mod:`torchaug._cpu.parallel`)."""

    # the kernel F.interpolate dispatches to, called directly with ``out=``: no temporary and no
    # Python argument handling per sample (bit-identical; ~8% faster for 32 crops to 224x224)
    kernel = getattr(torch._C._nn, "_upsample_bilinear2d_aa" if antialias else "upsample_bilinear2d", None)
    fmt = _memory_format(x)

    def one(item: tuple[int, list[int]]) -> None:
        i, (t, l_, hh, ww) = item
        src = x[i : i + 1, :, t : t + hh, l_ : l_ + ww]
        # a contiguous copy of the crop first: the resize kernel on the strided view took 2x as long
        # (32 uint8 crops of 256x256 to 224x224, one thread: 17.9 ms against 8.7 ms with the copy)
        src = src.float() if not native else src.contiguous(memory_format=fmt)
        if (hh, ww) == (oh, ow):
            out[i : i + 1] = src
        elif kernel is not None:
            kernel(src, (oh, ow), False, None, None, out=out[i : i + 1])
        else:
            out[i : i + 1] = F.interpolate(src, size=(oh, ow), mode="bilinear", align_corners=False, antialias=antialias)

    parallel_for(one, list(enumerate(boxes)), x.device)


@copy_like
def resized_crop(
    x: torch.Tensor,
    top: torch.Tensor,
    left: torch.Tensor,
    height: torch.Tensor,
    width: torch.Tensor,
    size: int | Sequence[int],
    *,
    interpolation: str = "bilinear",
    antialias: bool = True,
    method: str = "auto",
) -> torch.Tensor:
    """Crop a box of its own size from each sample and resize it to ``size``: ``-> (B, C, *size)``.

    ``top``, ``left``, ``height``, ``width`` are ``(B,)`` integer tensors (boxes inside the image).
    ``method``:

    - ``"loop"``: one PyTorch ``interpolate`` per sample on a view of its box: the exact kernel
      torchvision uses (uint8 native on AVX2 CPUs), so results match ``F.resized_crop``
      bit for bit. Reads the box sizes on the host (one transfer per batch).
    - ``"separable"``: one batched pass, no host sync: per-sample dense interpolation matrices
      (the same antialiased triangle filter) applied as two batched matmuls. Equal to
      ``"loop"`` within float rounding (uint8 within one grey level).

    ``"nearest"`` is always one batched gather (PyTorch's ``floor(dst * in / out)`` rule, any
    dtype, so it also serves integer masks).
    - ``"auto"``: ``"loop"`` on CPU (where it is the fastest), ``"separable"`` elsewhere.
    """
    interpolation = _check_interpolation(interpolation, "resized_crop")
    if method not in ("auto", "loop", "separable"):
        raise ValueError(f"resized_crop: method must be 'auto', 'loop' or 'separable'; got {method!r}")
    oh, ow = (size, size) if isinstance(size, int) else (int(size[0]), int(size[-1]))
    b, c, h, w = x.shape
    if interpolation == "nearest":
        # PyTorch's nearest: src = floor(dst * in / out); one gather, any dtype, no host sync
        dev = x.device
        sy = height.to(torch.float32) / oh
        sx = width.to(torch.float32) / ow
        rows = (torch.arange(oh, device=dev, dtype=torch.float32) * sy.unsqueeze(1)).floor().long()
        cols = (torch.arange(ow, device=dev, dtype=torch.float32) * sx.unsqueeze(1)).floor().long()
        rows = torch.minimum(rows, height.unsqueeze(1) - 1) + top.unsqueeze(1)
        cols = torch.minimum(cols, width.unsqueeze(1) - 1) + left.unsqueeze(1)
        return _same_format(_gather(x, rows.clamp(0, h - 1), cols.clamp(0, w - 1)), x)
    if method == "auto":
        method = "loop" if cpu_path(x) else "separable"
    if method == "loop":
        boxes = torch.stack([top, left, height, width], dim=1).tolist()
        native = _native_uint8(x, interpolation) or x.dtype in (torch.float32, torch.float64)
        b = len(boxes)
        out = torch.empty((b, c, oh, ow), dtype=x.dtype if native else torch.float32, device=x.device,
                          memory_format=_memory_format(x))
        _resize_each(x, out, boxes, oh, ow, native, antialias)  # one intra-op thread per sample
        return _restore(out, x)
    wy = _aa_weights(top, height, oh, h, antialias)  # (B, oh, H)
    wx = _aa_weights(left, width, ow, w, antialias)  # (B, ow, W)
    wdt = torch.float64 if x.dtype == torch.float64 else torch.float32
    wy, wx = wy.to(wdt), wx.to(wdt)
    # two plain bmm's with the channels folded in (broadcast matmuls take a slow path on CPU)
    xt = x.permute(0, 2, 1, 3).to(wdt).reshape(b, h, c * w)  # (B, H, C*W)
    out = torch.bmm(wy, xt).view(b, oh * c, w)  # (B, oh*C, W)
    out = torch.bmm(out, wx.transpose(1, 2)).view(b, oh, c, ow).permute(0, 2, 1, 3)  # (B, C, oh, ow)
    return _restore(out, x)


# ---------------------------------------------------------------------------------------------
# perspective and elastic
# ---------------------------------------------------------------------------------------------
def perspective_coefficients(startpoints: torch.Tensor, endpoints: torch.Tensor) -> torch.Tensor:
    """Coefficients ``(B, 8)`` of the homography taking ``endpoints`` to ``startpoints``.

    ``startpoints``/``endpoints``: ``(B, 4, 2)`` corners (top-left, top-right, bottom-right,
    bottom-left), as torchvision's ``_get_perspective_coeffs`` (solved in float64, returned as
    float32): ``x_in = (a x + b y + c) / (g x + h y + 1)``, ``y_in = (d x + e y + f) / (g x + h y + 1)``
    for an output point ``(x, y)``.
    """
    dt = _hp(startpoints.device)
    s = startpoints.to(dt)
    e = endpoints.to(dt)
    b = s.shape[0]
    ex, ey = e[..., 0], e[..., 1]
    sx, sy = s[..., 0], s[..., 1]
    one, zero = torch.ones_like(ex), torch.zeros_like(ex)
    row_x = torch.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], dim=-1)  # (B, 4, 8)
    row_y = torch.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], dim=-1)
    a = torch.stack([row_x, row_y], dim=2).reshape(b, 8, 8)
    rhs = s.reshape(b, 8)
    return torch.linalg.solve(a, rhs).to(torch.float32)


def perspective(
    x: torch.Tensor, coefficients: torch.Tensor, *, interpolation: str = "bilinear", fill: Fill = 0
) -> torch.Tensor:
    """Warp each sample by its homography ``coefficients (B, 8)`` (torchvision ``F.perspective``)."""
    interpolation = _check_interpolation(interpolation, "perspective")
    b, _, oh, ow = x.shape
    gdt = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    co = coefficients.to(device=x.device, dtype=gdt).view(b, 8, 1)
    xs = torch.linspace(0.5, ow - 0.5, steps=ow, device=x.device, dtype=gdt).repeat(oh).view(1, oh * ow)
    ys = torch.linspace(0.5, oh - 0.5, steps=oh, device=x.device, dtype=gdt).repeat_interleave(ow).view(1, oh * ow)
    # torchvision's _perspective_grid, elementwise over the batch
    den = co[:, 6] * xs + co[:, 7] * ys + 1.0
    gx = (co[:, 0] / (0.5 * ow) * xs + co[:, 1] / (0.5 * ow) * ys + co[:, 2] / (0.5 * ow)) / den - 1.0
    gy = (co[:, 3] / (0.5 * oh) * xs + co[:, 4] / (0.5 * oh) * ys + co[:, 5] / (0.5 * oh)) / den - 1.0
    grid = torch.stack([gx, gy], dim=-1).view(b, oh, ow, 2)
    return _grid_sample(x, grid, interpolation, fill, "perspective")


def perspective_points(points: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """Move points ``(B, N, 2)`` forward through the warp whose output-to-input coefficients are given."""
    dt = _hp(points.device)
    co = coefficients.to(device=points.device, dtype=dt)
    hm = torch.cat([co, torch.ones_like(co[:, :1])], dim=1).view(-1, 3, 3)  # output -> input
    fwd = torch.linalg.inv(hm)
    p = torch.cat([points.to(dt), torch.ones_like(points[..., :1], dtype=dt)], dim=-1)  # (B, N, 3)
    q = p @ fwd.transpose(1, 2)
    out = q[..., :2] / q[..., 2:]
    return out.to(points.dtype if points.is_floating_point() else torch.float32)


def gaussian_kernel1d(kernel_size: int, sigma: float | torch.Tensor, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Normalised 1-D Gaussian (torchvision's ``_get_gaussian_kernel1d``); ``sigma`` may be ``(B,)``."""
    half = (kernel_size - 1) * 0.5
    xs = torch.linspace(-half, half, steps=kernel_size, device=device, dtype=dtype)
    sig = as_device_tensor(sigma, device, dtype)
    pdf = torch.exp(-0.5 * (xs / sig.unsqueeze(-1)) ** 2) if sig.ndim else torch.exp(-0.5 * (xs / sig) ** 2)
    return pdf / pdf.sum(-1, keepdim=True)


def _blur_reflect(x: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflect padding of ``x (B, C, H, W)`` float (any size: the
    reflection wraps as many times as needed)."""
    b, c, h, w = x.shape
    k = gaussian_kernel1d(kernel_size, sigma, device=x.device, dtype=x.dtype)
    r = kernel_size // 2
    cols, _ = _pad_index(torch.arange(-r, w + r, device=x.device), w, "reflect")
    rows, _ = _pad_index(torch.arange(-r, h + r, device=x.device), h, "reflect")
    xp = x[..., rows, :][..., cols].reshape(b * c, 1, h + 2 * r, w + 2 * r)
    xp = F.conv2d(xp, k.view(1, 1, 1, -1))
    xp = F.conv2d(xp, k.view(1, 1, -1, 1))
    return xp.view(b, c, h, w)


def elastic_displacement(
    noise: torch.Tensor, alpha: Sequence[float], sigma: Sequence[float]
) -> torch.Tensor:
    """torchvision ``ElasticTransform``'s displacement from uniform noise ``(B, 2, H, W)`` in [-1, 1].

    Each noise field is blurred (kernel ``int(8 sigma + 1)``, made odd; reflect padding) and
    scaled by ``alpha / size``; returns ``(B, H, W, 2)`` in normalised grid units.
    """
    h, w = noise.shape[-2:]
    out = []
    for ch, (a, s, n) in enumerate(zip(alpha, sigma, (h, w))):
        d = noise[:, ch : ch + 1].float()
        if s > 0.0:
            k = int(8 * s + 1)
            k += 1 - k % 2
            d = _blur_reflect(d, k, s)
        out.append(d * a / n)
    # torchvision scales dx by alpha[0] / size[0] (H) and dy by alpha[1] / size[1] (W)
    return torch.cat(out, dim=1).permute(0, 2, 3, 1).contiguous()


def _identity_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    base = torch.empty(1, h, w, 2, device=device, dtype=dtype)
    base[..., 0].copy_(torch.linspace((-w + 1) / w, (w - 1) / w, w, device=device, dtype=dtype))
    base[..., 1].copy_(torch.linspace((-h + 1) / h, (h - 1) / h, h, device=device, dtype=dtype).unsqueeze(-1))
    return base


def elastic(
    x: torch.Tensor, displacement: torch.Tensor, *, interpolation: str = "bilinear", fill: Fill = 0
) -> torch.Tensor:
    """Displace each sample's pixels by ``displacement (B, H, W, 2)`` (normalised units; torchvision
    ``F.elastic``): the output at a pixel samples the input at ``identity + displacement``."""
    interpolation = _check_interpolation(interpolation, "elastic")
    b, _, h, w = x.shape
    gdt = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    grid = _identity_grid(h, w, x.device, gdt) + displacement.to(device=x.device, dtype=gdt)
    return _grid_sample(x, grid.expand(b, h, w, 2), interpolation, fill, "elastic")


def elastic_points(points: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """Approximate forward motion of points ``(B, N, 2)`` under :func:`elastic`: ``p - d(p)``, with
    ``d`` read (in pixels) at the pixel containing ``p`` (torchvision's approximation too)."""
    b, h, w, _ = displacement.shape
    p = points.float()
    ix = p[..., 0].floor().long().clamp(0, w - 1)
    iy = p[..., 1].floor().long().clamp(0, h - 1)
    d = displacement.reshape(b, h * w, 2).gather(1, (iy * w + ix).unsqueeze(-1).expand(-1, -1, 2))
    d = d.to(p.dtype) * constant((w * 0.5, h * 0.5), p.device, p.dtype)
    return p - d


# ---------------------------------------------------------------------------------------------
# boxes
# ---------------------------------------------------------------------------------------------
def box_corners(boxes: torch.Tensor) -> torch.Tensor:
    """``(B, N, 4)`` xyxy boxes -> their four corners ``(B, N*4, 2)``."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    pts = torch.stack([x1, y1, x2, y1, x2, y2, x1, y2], dim=-1)
    return pts.reshape(boxes.shape[0], -1, 2)


def points_to_boxes(corners: torch.Tensor) -> torch.Tensor:
    """Moved corners ``(B, N*4, 2)`` -> enclosing xyxy boxes ``(B, N, 4)``."""
    c = corners.reshape(corners.shape[0], -1, 4, 2)
    return torch.cat([c.amin(dim=2), c.amax(dim=2)], dim=-1)


def clip_boxes(boxes: torch.Tensor, size: tuple[int, int], *, min_size: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Clip xyxy boxes ``(B, N, 4)`` to an image of ``size=(H, W)``.

    Returns ``(boxes, valid)``: ``valid (B, N)`` is False for degenerate boxes (width or height
    below ``min_size`` pixels after clipping, e.g. moved out of the image), as torchvision's
    ``SanitizeBoundingBoxes(min_size=1)`` would drop them.
    """
    h, w = size
    x = boxes[..., 0::2].clamp(0, w)
    y = boxes[..., 1::2].clamp(0, h)
    out = torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)
    valid = ((out[..., 2] - out[..., 0]) >= min_size) & ((out[..., 3] - out[..., 1]) >= min_size)
    return out, valid
