"""Bilinear downscaling (and a channel mix) as ``F.embedding_bag`` row sums.

A bilinear resize (``align_corners=False``, no antialias) is separable: every output row is a
weighted sum of two source rows, every output column of two source columns. Viewing a batch as a
table of rows, one ``F.embedding_bag(mode="sum")`` with per-sample weights makes all output rows
at once, reading only the source rows the taps touch and writing only the result; PyTorch's 1-D
linear kernel then does the columns of those few rows. A per-channel mix (luma) folds into the row pass's
weights. On the CPU this avoids what ``F.interpolate`` does for planar float input here (a
channels-last copy of the whole input and of the output around the kernel), and the gathered
intermediates of ``index_select`` + ``lerp``. The taps and weights are ``F.interpolate``'s; the
sums are in a different order, so results agree up to float rounding, not bit for bit.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

__all__ = ["bilinear_taps", "resize_bilinear_bags"]


@functools.lru_cache(maxsize=64)
def bilinear_taps(n_in: int, n_out: int, device: torch.device, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Source indices int64 ``(n_out, 2)`` and weights ``(n_out, 2)`` (float64 values) of a bilinear
    resize along one axis (``align_corners=False``), as ``F.interpolate`` computes them in ``dtype``
    (float32 for float32 images, float64 for float64): ``src = max(s (i + 0.5) - 0.5, 0)``, ``s =
    n_in / n_out``, then ``i0 = floor(src)`` and the weight of ``i0 + 1`` is ``src - i0``."""
    scale = torch.tensor(n_in / n_out, dtype=dtype)
    src = (scale * (torch.arange(n_out, dtype=dtype) + 0.5) - 0.5).clamp_min(0.0)
    i0 = src.floor().long().clamp_max(n_in - 1)
    i1 = (i0 + 1).clamp_max(n_in - 1)
    frac = src - i0.to(dtype)
    return torch.stack([i0, i1], 1).to(device), torch.stack([1.0 - frac, frac], 1).double().to(device)


_CPU = torch.device("cpu")


@functools.lru_cache(maxsize=32)
def _used_rows(h: int, size: int, device: torch.device) -> torch.Tensor:
    """The source rows a bilinear resize from ``h`` to ``size`` rows reads, ascending (found on the
    CPU: no device sync)."""
    return torch.unique(bilinear_taps(h, size, _CPU)[0]).to(device)


@functools.lru_cache(maxsize=64)
def _row_taps(h: int, size: int, gathered: bool, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The row taps on ``device`` and the table's row count: with ``gathered``, the indices point
    into the :func:`_used_rows` (remapped on the CPU)."""
    ri, rw = bilinear_taps(h, size, _CPU, dtype)
    if gathered:
        used, ri = torch.unique(ri, return_inverse=True)
        h = used.numel()
    return ri.to(device), rw.to(device), h


@functools.lru_cache(maxsize=32)
def _mix_vector(mix: tuple[float, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(mix, dtype=dtype, device=device)


def _row_bags(b: int, c: int, h: int, size: int, mix: tuple[float, ...] | None, channels_last: bool, gathered: bool,
              device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Bags ``(n_bags, k)`` of indices and float64 weights for the row pass.

    Planar: the table is ``x.view(B C H', W)``; without ``mix`` a bag per ``(b, c, i)`` blends the
    two source rows of output row ``i``; with ``mix`` a bag per ``(b, i)`` sums them over the
    channels, weighted by tap weight times ``mix[c]``. Channels-last: the table is
    ``x.permute(0, 2, 3, 1).view(B H', W C)`` and a bag per ``(b, i)`` blends two rows (the mix is
    applied after). ``gathered``: the table holds only the rows the taps read (``H'`` of them).
    Built per call (a broadcast add over ``B C size`` entries), not cached: a cache would keep the
    batch-sized index tensors of every patch size a random-size mixer draws.
    """
    ri, rw, h = _row_taps(h, size, gathered, device, dtype)
    if channels_last:
        idx = torch.arange(b, device=device).view(b, 1, 1) * h + ri.view(1, size, 2)
        return idx.view(b * size, 2), rw.view(1, size, 2).expand(b, size, 2).reshape(b * size, 2)
    planes = (torch.arange(b, device=device).view(b, 1, 1) * c + torch.arange(c, device=device).view(1, c, 1)) * h
    if mix is None:  # (b, c, i) bags of 2
        idx = planes.view(b, c, 1, 1) + ri.view(1, 1, size, 2)
        return idx.view(b * c * size, 2), rw.view(1, 1, size, 2).expand(b, c, size, 2).reshape(b * c * size, 2)
    coef = _mix_vector(mix, device, torch.float64)
    idx = planes.view(b, 1, c, 1) + ri.view(1, size, 1, 2)
    wts = (coef.view(1, 1, c, 1) * rw.view(1, size, 1, 2)).expand(b, size, c, 2)
    return idx.view(b * size, 2 * c), wts.reshape(b * size, 2 * c)


def resize_bilinear_bags(x: torch.Tensor, size: tuple[int, int], mix: tuple[float, ...] | None = None) -> torch.Tensor:
    """Bilinear resize of ``x`` ``(B, C, H, W)`` to ``size = (h, w)`` (``align_corners=False``, no
    antialias), optionally mixing the channels: ``(B, C, h, w)``, or ``(B, h, w)`` with ``mix``
    (``C`` weights, e.g. ITU-R 601 luma), contiguous. float32 out (float64 for float64 in);
    integer input converts only the rows the taps read. Equal to ``F.interpolate(x.float(), size,
    mode="bilinear")`` (channel-mixed by ``mix``) up to float rounding.
    """
    b, c, h, w = x.shape
    oh, ow = int(size[0]), int(size[1])
    if mix is not None and len(mix) != c:
        raise ValueError(f"resize_bilinear_bags: mix must have one weight per channel ({c}); got {len(mix)}")
    dev = x.device
    gathered = x.dtype not in (torch.float32, torch.float64)
    if gathered:
        x = x.index_select(2, _used_rows(h, oh, dev)).float()
    channels_last = not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    dt = x.dtype
    idx, wts = _row_bags(b, c, h, oh, None if channels_last else mix, channels_last, gathered, dev, dt)
    hr = x.shape[2]
    if channels_last:
        rows = F.embedding_bag(idx, x.permute(0, 2, 3, 1).reshape(b * hr, w * c), per_sample_weights=wts.to(dt),
                               mode="sum").view(b, oh, w, c)
        if mix is not None:
            rows = rows @ _mix_vector(mix, dev, dt)  # (b, oh, w)
        else:
            rows = rows.permute(0, 3, 1, 2).reshape(b * c, oh, w)
    else:
        rows = F.embedding_bag(idx, x.contiguous().view(b * c * hr, w), per_sample_weights=wts.to(dt), mode="sum")
        rows = rows.view(b if mix is not None else b * c, oh, w)
    # the columns: PyTorch's 1-D linear kernel over the (few) rows, contiguous (P, h, W): no layout copy
    out = F.interpolate(rows, size=ow, mode="linear", align_corners=False)
    return out if mix is not None else out.view(b, c, oh, ow)
