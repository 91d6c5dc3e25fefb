"""Batched resize kernels with every interpolation the resize family takes, and per-sample sizes.

- :func:`resize_to`: one batch to one ``(h, w)`` with ``"nearest"`` (PyTorch's
  ``floor(dst * in / out)``, any dtype: also masks), ``"bilinear"``, ``"bicubic"`` (both
  antialiased when downscaling if ``antialias``, torchvision's tensor maths) or ``"area"``
  (``F.interpolate(mode="area")``: the mean over each output pixel's footprint, OpenCV's
  ``INTER_AREA`` for integer factors). uint8 goes through float32 and is rounded and clamped;
  floating bicubic output is clamped to [0, 1] (cubic weights overshoot, and a floating image
  here lies in [0, 1]). uint8 bicubic on the CPU path uses PyTorch's native uint8 kernel, as
  torchvision does on CPU (elsewhere float32, as torchvision on GPU).
- :func:`resize_choice`: a per-sample choice between interpolations (timm's "random"
  interpolation): each choice runs once on the batch, the samples are picked by
  :func:`torchaug._cpu.select.where_samples`-style selection.
- :func:`resize_each`: every sample to its own size, grouping the samples that share a size
  (one kernel call per distinct size, not per sample); returns a list.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from torchaug._devpath import cpu_path
from torchaug.functional import geometry as FG

__all__ = ["INTERPOLATIONS", "resize_to", "resize_choice", "resize_each", "pad_sides"]

#: the interpolations :func:`resize_to` takes
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area")


def resize_to(x: torch.Tensor, size: Sequence[int], interpolation: str = "bilinear", *, antialias: bool = True) -> torch.Tensor:
    """Resize a ``(B, C, H, W)`` batch to ``size=(h, w)`` (see the module docstring)."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"resize_to: interpolation must be one of {list(INTERPOLATIONS)}; got {interpolation!r}")
    oh, ow = int(size[0]), int(size[1])
    if oh <= 0 or ow <= 0:
        raise ValueError(f"resize_to: size must be positive; got {(oh, ow)}")
    b, _, h, w = x.shape
    if (oh, ow) == (h, w):
        return x.clone()
    if interpolation == "nearest":
        z = torch.zeros(b, dtype=torch.long, device=x.device)
        return FG.resized_crop(x, z, z, z + h, z + w, (oh, ow), interpolation="nearest")
    if interpolation == "bilinear":
        return FG.resize(x, (oh, ow), interpolation="bilinear", antialias=antialias)
    if interpolation == "bicubic" and x.dtype == torch.uint8 and cpu_path(x):
        # torchvision's CPU path: PyTorch's native uint8 antialiased bicubic (its GPU path, like the
        # accelerator path here, computes in float32; on noise images the two differ by up to ~12 levels)
        return FG._same_format(F.interpolate(x, size=(oh, ow), mode="bicubic", align_corners=False, antialias=antialias), x)
    xin = x if x.dtype in (torch.float32, torch.float64) else x.float()
    if interpolation == "bicubic":
        out = F.interpolate(xin, size=(oh, ow), mode="bicubic", align_corners=False, antialias=antialias)
        if x.is_floating_point():
            out = out.clamp_(0.0, 1.0)
    else:
        out = F.interpolate(xin, size=(oh, ow), mode="area")
    return FG._restore(out, x)


def resize_choice(
    x: torch.Tensor, size: Sequence[int], choice: torch.Tensor, interpolations: Sequence[str], *, antialias: bool = True
) -> torch.Tensor:
    """Sample ``i`` resized with ``interpolations[choice[i]]`` (``choice``: ``(B,)`` int64), no host read."""
    out = resize_to(x, size, interpolations[0], antialias=antialias)
    for k, name in enumerate(interpolations[1:], start=1):
        other = resize_to(x, size, name, antialias=antialias)
        out = torch.where((choice == k).view(-1, *([1] * (x.ndim - 1))), other, out)
    return out


def resize_each(x: torch.Tensor, sizes: Sequence[Sequence[int]], fn) -> list[torch.Tensor]:
    """``[fn(x[i:i+1], sizes[i])[0] for i]``, with one ``fn`` call per distinct size (host ``sizes``).

    ``fn(batch, (h, w), index)`` resizes a sub-batch (``index``: its ``(n,)`` sample indices, to
    pick per-sample parameters) to ``(h, w)``.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(sizes):
        groups.setdefault((int(s[0]), int(s[1])), []).append(i)
    out: list[torch.Tensor | None] = [None] * len(sizes)
    for s, idx in groups.items():
        it = torch.tensor(idx, device=x.device)
        if len(idx) == x.shape[0]:
            part = x
        elif len(idx) == 1:
            part = x[idx[0] : idx[0] + 1]  # a view: index_select of large uint8 rows measured ~100x slower
        else:
            part = torch.stack([x[i] for i in idx])
        res = fn(part, s, it)
        for j, i in enumerate(idx):
            out[i] = res[j]
    return out  # type: ignore[return-value]


def pad_sides(x: torch.Tensor, left: int, top: int, right: int, bottom: int, *, mode: str = "constant",
              fill: float | Sequence[float] | None = 0) -> torch.Tensor:
    """Pad every sample by the same ``(left, top, right, bottom)``: one copy into a filled output
    (``constant``, scalar or per-channel ``fill``) or ``F.pad`` (``edge``, ``reflect`` where PyTorch has
    them); otherwise :func:`torchaug.functional.geometry.pad` (one gather). Equal to that gather exactly."""
    b, c, h, w = x.shape
    if not (left or top or right or bottom):
        return x.clone()
    if mode == "constant":
        out = torch.empty((b, c, h + top + bottom, w + left + right), dtype=x.dtype, device=x.device,
                          memory_format=FG._memory_format(x))
        if fill is None or isinstance(fill, (int, float)):
            v = 0.0 if fill is None else float(fill)
            out.fill_(round(v) if not x.is_floating_point() else v)
        else:
            f = FG._fill_tensor(fill, c, torch.float32, x.device, "pad_sides")
            f = f.round().clamp(0, 255) if x.dtype == torch.uint8 else f
            out.copy_(f.to(x.dtype).view(1, -1, 1, 1).expand_as(out))
        out[..., top : top + h, left : left + w] = x
        return out
    torch_mode = {"edge": "replicate", "reflect": "reflect"}.get(mode)
    ok = torch_mode is not None and x.dtype not in (torch.uint16, torch.float16, torch.bfloat16, torch.bool)
    if ok and (torch_mode != "reflect" or max(left, right) < w and max(top, bottom) < h):
        return FG._same_format(F.pad(x, (left, right, top, bottom), mode=torch_mode), x)
    return FG.pad(x, (left, top, right, bottom), fill=fill, padding_mode=mode)
