"""Zoom out and resize in one step, without the zoomed-out canvas: SSD's ``RandomZoomOut`` + ``Resize``.

With ``crop=`` the image placed on the canvas is a window of each sample: torchvision's
``RandomIoUCrop`` -> ``RandomZoomOut`` -> ``Resize`` as one resize (the crop is never copied out
at its own size, nor resized twice).

torchvision (v2 ``RandomZoomOut`` then ``Resize(size)``) pads each image into a canvas ``r``
times its sides (``r`` up to 4: 16x the pixels) and resizes the canvas. The canvas is the fill
colour outside the image, so an output row (column) whose filter support misses the image is
plain fill, and only the band of rows and columns that sees the image needs interpolation.

:func:`zoom_out_resize` on the CPU (per sample, the samples spread over the threads): the
output is filled, then PyTorch's (antialiased) bilinear kernel, torchvision's own (native
uint8 on AVX2 CPUs), runs on the *part* of the canvas that the band reads, given the canvas
scale explicitly (``scales=``) so that every band row maps to the same canvas coordinate as in
the full resize. The kernel maps output row ``i`` to canvas ``s * (i + 0.5)`` from the first
row of its input (``s = canvas_h / out_h``), so the part must start at a canvas row ``a = s * i0``
for an integer ``i0``: the largest such row at or before the band's first tap (``i0`` a multiple
of ``out_h / gcd(canvas_h, out_h)``). The part is then ``[a, last tap]``; its rows before the
image are fill, as in the canvas. Every output row of the part's range reads the same taps
with the same weights as in the full canvas (rows whose taps the part cuts read only fill, so
they are fill either way). Samples not zoomed out are one plain resize.

Off the CPU (and under ``accelerator_path``): one batched separable pass, no host read
(per-sample dense weights over the image rows; the fill takes the remaining weight).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from torchaug._cpu.parallel import parallel_for
from torchaug._devpath import cpu_path
from torchaug.functional import geometry as FG

__all__ = ["zoom_out_resize"]


def _support(scale: float, antialias: bool) -> float:
    return scale if (antialias and scale >= 1.0) else 1.0


def _taps(i: int, scale: float, support: float, n: int) -> tuple[int, int]:
    """PyTorch's ``[xmin, xmax)`` canvas taps of output index ``i`` (``n`` canvas pixels)."""
    center = scale * (i + 0.5)
    return max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n)


def _band(start: int, length: int, canvas: int, out: int, antialias: bool) -> tuple[int, int, int, int]:
    """Output range ``[i0, i1)`` and canvas part ``[a, b)`` holding every output index whose taps
    touch the image ``[start, start + length)`` of an axis of ``canvas`` pixels resized to ``out``."""
    scale = canvas / out
    sup = _support(scale, antialias)
    # first / last output index whose taps reach the image (one index of margin each side: the
    # kernel's float arithmetic may differ from Python's double in the last bit)
    first = max(int(math.floor((start - sup - 0.5) / scale - 0.5)) - 1, 0)
    last = min(int(math.ceil((start + length + sup + 0.5) / scale - 0.5)) + 1, out - 1)
    lo = max(_taps(first, scale, sup, canvas)[0] - 1, 0)
    q = out // math.gcd(canvas, out)  # s * i0 is an integer exactly when q divides i0
    i0 = min((lo * out // canvas) // q * q, first)  # a multiple of q with s * i0 <= lo
    a = canvas * i0 // out  # exact: q divides i0
    b = min(_taps(last, scale, sup, canvas)[1] + 1, canvas)
    i1 = last + 1
    if i1 - i0 == b - a and canvas != out:  # the kernel skips an axis whose sizes agree: make them differ
        if b < canvas:
            b += 1  # one more canvas pixel (no band index reads it)
        else:
            i1 += 1  # one more output index (its taps are all in the part, which reaches the canvas end)
    return i0, i1, a, b


def _fill_values(fill: float | Sequence[float], c: int, x: torch.Tensor) -> list[float]:
    """``fill`` as ``c`` Python numbers in ``x``'s scale (uint8: rounded and clamped, as torchvision's pad)."""
    vals = [float(fill)] if isinstance(fill, (int, float)) else [float(v) for v in fill]
    if len(vals) not in (1, c):
        raise ValueError(f"zoom_out_resize: fill must be a number or one value per channel ({c}); got {len(vals)} values")
    vals = vals * c if len(vals) == 1 else vals
    if x.dtype == torch.uint8:
        vals = [float(min(max(round(v), 0), 255)) for v in vals]
    return vals


def zoom_out_resize(
    x: torch.Tensor,
    top: torch.Tensor,
    left: torch.Tensor,
    canvas_h: torch.Tensor,
    canvas_w: torch.Tensor,
    size: Sequence[int],
    fill: float | Sequence[float] = 0,
    *,
    antialias: bool = True,
    max_side: float = 4.0,
    crop: Sequence[torch.Tensor] | None = None,
) -> torch.Tensor:
    """Each sample placed at (``top``, ``left``) on a ``fill`` canvas of ``(canvas_h, canvas_w)``,
    resized to ``size`` (bilinear, antialiased when downscaling): ``(B, C, H, W) -> (B, C, *size)``.

    Equals torchvision's ``F.pad`` + ``F.resize`` of each sample (float within 1e-5; uint8 within
    one grey level: the same native kernel on the CPU, float weights off it). ``top`` ... are
    ``(B,)`` int64 (``canvas_h >= H + top`` etc.). ``fill``: a number or one per channel, in the
    image's scale. ``max_side``: the largest canvas side / image side the parameters can hold
    (the zoom range's upper end): it sizes the tap window of the separable (off-CPU) pass.
    ``crop``: ``(top, left, height, width)`` ``(B,)`` int64 windows inside the images; then the
    window is what is placed (``canvas_h >= height + top``): torchvision's ``F.crop`` first.
    """
    b, c, h, w = x.shape
    oh, ow = int(size[0]), int(size[1])
    if crop is None:
        crop = (torch.zeros_like(top), torch.zeros_like(left), torch.full_like(top, h), torch.full_like(left, w))
    elif len(crop) != 4:
        raise ValueError(f"zoom_out_resize: crop must be (top, left, height, width); got {len(crop)} tensors")
    native = FG._native_uint8(x, "bilinear") or x.dtype in (torch.float32, torch.float64)
    if cpu_path(x) and native:
        return _zoom_cpu(x, top, left, canvas_h, canvas_w, oh, ow, fill, antialias, crop)
    return _zoom_separable(x, top, left, canvas_h, canvas_w, oh, ow, fill, antialias, max_side, crop)


def _zoom_cpu(x, top, left, canvas_h, canvas_w, oh, ow, fill, antialias, crop) -> torch.Tensor:
    b, c, _, _ = x.shape
    fmt = FG._memory_format(x)
    fv = _fill_values(fill, c, x)
    out = torch.empty((b, c, oh, ow), dtype=x.dtype, device=x.device, memory_format=fmt)
    boxes = torch.stack([top, left, canvas_h, canvas_w, *crop], dim=1).tolist()  # one host read per batch
    kernel = getattr(torch._C._nn, "_upsample_bilinear2d_aa" if antialias else "upsample_bilinear2d")
    single = all(v == fv[0] for v in fv)
    fill_scalar = fv[0]
    per_channel = None if single else torch.tensor(fv, dtype=x.dtype).view(1, c, 1, 1)

    def one(item: tuple[int, list[int]]) -> None:
        i, (t, l_, ch, cw, st, sl, h, w) = item
        dst = out[i : i + 1]
        if h == 0 or w == 0:  # an empty window (a crop of the fill alone)
            _fill_outside(dst, 0, 0, 0, 0, fill_scalar, per_channel)
            return
        if (ch, cw) == (h, w):  # not zoomed out: the plain resize of the window
            src = x[i : i + 1, :, st : st + h, sl : sl + w]
            if (h, w) == (oh, ow):
                dst.copy_(src)
            else:
                kernel(src.contiguous(memory_format=fmt), (oh, ow), False, None, None, out=dst)
            return
        r0, r1, a, bb = _band(t, h, ch, oh, antialias)
        c0, c1, a2, bb2 = _band(l_, w, cw, ow, antialias)
        part = torch.empty((1, c, bb - a, bb2 - a2), dtype=x.dtype, device=x.device, memory_format=fmt)
        # the image rows/cols inside the part; only what the image and the band leave is filled
        y0, y1 = max(t, a), min(t + h, bb)
        x0, x1 = max(l_, a2), min(l_ + w, bb2)
        y0, y1, x0, x1 = (y0, y1, x0, x1) if y1 > y0 and x1 > x0 else (a, a, a2, a2)
        _fill_outside(part, y0 - a, y1 - a, x0 - a2, x1 - a2, fill_scalar, per_channel)
        if y1 > y0:
            part[..., y0 - a : y1 - a, x0 - a2 : x1 - a2] = x[i : i + 1, :, st + y0 - t : st + y1 - t,
                                                              sl + x0 - l_ : sl + x1 - l_]
        res = kernel(part, (r1 - r0, c1 - c0), False, oh / ch, ow / cw)
        _fill_outside(dst, r0, r1, c0, c1, fill_scalar, per_channel)
        dst[..., r0:r1, c0:c1] = res

    parallel_for(one, list(enumerate(boxes)), x.device)
    return out


def _fill_outside(t: torch.Tensor, r0: int, r1: int, c0: int, c1: int, value: float,
                  per_channel: torch.Tensor | None) -> None:
    """Fill ``t`` ``(1, C, H, W)`` outside rows ``r0:r1`` x columns ``c0:c1`` (the rest is written
    after): ``value``, or ``per_channel`` ``(1, C, 1, 1)``."""
    for slab in (t[..., :r0, :], t[..., r1:, :], t[..., r0:r1, :c0], t[..., r0:r1, c1:]):
        if slab.numel():
            if per_channel is None:
                slab.fill_(value)
            else:
                slab.copy_(per_channel.expand_as(slab))


def _canvas_weights(pad: torch.Tensor, canvas: torch.Tensor, out_size: int, in_size: int, max_canvas: int,
                    antialias: bool, lo: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Weights ``(B, out_size, in_size)`` of the image rows in PyTorch's (antialiased) bilinear resize
    of a canvas of ``canvas`` rows holding the image's rows ``[lo, lo + n)`` at row offset ``pad``
    (normalised over the whole canvas window, so the fill's share is ``1 - row sum``)."""
    dev, dt = pad.device, torch.float32
    scale = canvas.to(dt) / out_size
    support = torch.where(scale >= 1.0, scale, torch.ones_like(scale)) if antialias else torch.ones_like(scale)
    inv = (1.0 / support).view(-1, 1, 1)
    center = scale.unsqueeze(1) * (torch.arange(out_size, device=dev, dtype=dt) + 0.5)  # (B, out) canvas coords
    sup = support.unsqueeze(1)
    xmin = (center - sup + 0.5).trunc().clamp_min(0)
    xmax = torch.minimum((center + sup + 0.5).trunc(), canvas.to(dt).unsqueeze(1))
    k = int(2 * max(1.0, max_canvas / out_size)) + 3  # taps of the widest filter
    taps = xmin.unsqueeze(2) + torch.arange(k, device=dev, dtype=dt)
    wt = (1.0 - ((taps - center.unsqueeze(2) + 0.5) * inv).abs()).clamp_min(0) * (taps < xmax.unsqueeze(2))
    norm = wt.sum(2, keepdim=True).clamp_min(1e-12)
    src = torch.arange(in_size, device=dev)
    j = (src.to(dt) + (pad - lo).to(dt).unsqueeze(1)).unsqueeze(1)  # (B, 1, in) canvas coordinates
    inside = ((src >= lo.unsqueeze(1)) & (src < (lo + n).unsqueeze(1))).unsqueeze(1)
    wgt = (1.0 - ((j - center.unsqueeze(2) + 0.5) * inv).abs()).clamp_min(0)
    wgt = wgt * ((j >= xmin.unsqueeze(2)) & (j < xmax.unsqueeze(2)) & inside)
    return wgt / norm


def _zoom_separable(x, top, left, canvas_h, canvas_w, oh, ow, fill, antialias, max_side, crop) -> torch.Tensor:
    """Two batched matmuls with per-sample dense weights (no host read)."""
    b, c, h, w = x.shape
    max_h, max_w = int(math.floor(h * max_side)) + 1, int(math.floor(w * max_side)) + 1  # widest canvas
    st, sl, sh, sw = crop
    wy = _canvas_weights(top, canvas_h, oh, h, max_h, antialias, st, sh)
    wx = _canvas_weights(left, canvas_w, ow, w, max_w, antialias, sl, sw)
    wdt = torch.float64 if x.dtype == torch.float64 else torch.float32
    fill_t = FG._fill_tensor(fill, c, wdt, x.device, "zoom_out_resize")
    xt = (x.to(wdt) - fill_t).permute(0, 2, 1, 3).reshape(b, h, c * w)  # two plain bmm's, channels folded in
    out = torch.bmm(wy.to(wdt), xt).view(b, oh * c, w)
    out = torch.bmm(out, wx.to(wdt).transpose(1, 2)).view(b, oh, c, ow).permute(0, 2, 1, 3) + fill_t
    return FG._restore(out, x)
