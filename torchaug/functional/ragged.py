"""Kernels over ragged batches: a list of ``(C, H, W)`` images of different sizes -> one batch.

Decoded files come in every size; a size-changing op (crop, resize) gives them one size, so it
can take the list directly and return a ``(B, C, h, w)`` batch: no per-image Python transform
pipeline before collation. The parameters are per-sample tensors drawn in one vectorised pass
(see :mod:`torchaug.transforms.ragged`); the kernels here apply them:

- :func:`resized_crop_list`: on CPU one native PyTorch resize per sample on a view of its box
  (the kernel torchvision calls, so each sample equals ``resized_crop`` on that image alone, bit
  for bit), spread over threads by :func:`~torchaug._cpu.parallel.parallel_for`; on other
  devices the images are packed once into a zero-padded ``(B, C, Hmax, Wmax)`` batch and resized
  by one batched separable pass (the weights never reach the padding).
- :func:`crop_list`, :func:`center_crop_list`, :func:`resize_list`: per-sample views or kernels
  written into one output batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from torchaug._devpath import cpu_path
from torchaug.functional import geometry as FG
from torchaug._cpu.parallel import parallel_for

__all__ = ["is_image_list", "pack", "resized_crop_list", "crop_list", "center_crop_list", "resize_list", "sizes_of"]


def sizes_of(images: Sequence[torch.Tensor], device: torch.device | None = None) -> torch.Tensor:
    """``(B, 2)`` int64 ``(H, W)`` of each image (read from the shapes: no device sync)."""
    dev = images[0].device if device is None else device
    return torch.tensor([tuple(t.shape[-2:]) for t in images], dtype=torch.int64, device=dev).view(-1, 2)


def pack(images: Sequence[torch.Tensor]) -> torch.Tensor:
    """Zero-padded ``(B, C, Hmax, Wmax)`` batch of the images, each at the top-left corner."""
    c = images[0].shape[0]
    hmax = max(t.shape[-2] for t in images)
    wmax = max(t.shape[-1] for t in images)
    out = images[0].new_zeros((len(images), c, hmax, wmax))
    for i, t in enumerate(images):
        out[i, :, : t.shape[-2], : t.shape[-1]].copy_(t)
    return out


def _out(images: Sequence[torch.Tensor], oh: int, ow: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The output batch. In a DataLoader worker it lives in shared memory (as ``default_collate``'s): the batch
    leaves the worker without the copy into shared memory that sending a private tensor costs."""
    t = images[0]
    shape, dt = (len(images), t.shape[0], oh, ow), t.dtype if dtype is None else dtype
    if t.device.type == "cpu" and _in_worker():
        storage = torch.UntypedStorage._new_shared(math.prod(shape) * torch.empty((), dtype=dt).element_size())
        return torch.empty(0, dtype=dt).set_(storage, 0, shape)
    return torch.empty(shape, dtype=dt, device=t.device)


def _in_worker() -> bool:
    from torch.utils.data import get_worker_info

    return get_worker_info() is not None


def resized_crop_list(
    images: Sequence[torch.Tensor],
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
    """Crop box ``i`` of image ``i`` and resize it to ``size``: ``list of (C, H_i, W_i) -> (B, C, *size)``.

    Same parameters and maths as :func:`torchaug.functional.geometry.resized_crop`; sample ``i``
    equals ``resized_crop(images[i][None], box_i)`` (bit for bit with ``method="loop"``, the CPU
    default; within float rounding / one grey level with ``"separable"``).
    """
    oh, ow = (size, size) if isinstance(size, int) else (int(size[0]), int(size[-1]))
    dev = images[0].device
    if method == "auto":
        method = "loop" if cpu_path(dev) else "separable"
    if interpolation == "nearest" or method == "separable":
        return FG.resized_crop(pack(images), top, left, height, width, (oh, ow), interpolation=interpolation,
                               antialias=antialias, method="separable")
    boxes = torch.stack([top, left, height, width], dim=1).tolist()  # host ints (one transfer per batch)
    native = FG._native_uint8(images[0], interpolation) or images[0].dtype in (torch.float32, torch.float64)
    out = _out(images, oh, ow, None if native else torch.float32)
    kernel = getattr(torch._C._nn, "_upsample_bilinear2d_aa" if antialias else "upsample_bilinear2d", None)

    def one(i: int) -> None:
        t, l_, hh, ww = boxes[i]
        img = images[i]
        src = img[None, :, t : t + hh, l_ : l_ + ww]
        # the crop copied in the image's own layout: decoded files are HWC in memory (a (C, H, W) view with
        # channel stride 1), which PyTorch's uint8 resize works in; a CHW copy made it convert twice
        # (64 crops of ~400x470 JPEGs to 224, one thread: 0.54 ms against 0.33 ms per image)
        fmt = torch.channels_last if img.stride(0) == 1 and img.shape[0] > 1 else torch.contiguous_format
        src = src.float() if not native else src.contiguous(memory_format=fmt)
        if (hh, ww) == (oh, ow):
            out[i : i + 1] = src
        elif kernel is not None:
            kernel(src, (oh, ow), False, None, None, out=out[i : i + 1])
        else:  # pragma: no cover - older PyTorch
            out[i : i + 1] = F.interpolate(src, size=(oh, ow), mode="bilinear", align_corners=False, antialias=antialias)

    parallel_for(one, list(range(len(images))), dev)
    return FG._restore(out, images[0][None]) if not native else out


def crop_list(
    images: Sequence[torch.Tensor],
    top: torch.Tensor,
    left: torch.Tensor,
    height: int,
    width: int,
    *,
    padding_mode: str = "constant",
    fill: Any = 0,
) -> torch.Tensor:
    """``images[i][:, top_i : top_i + height, left_i : left_i + width]`` as one ``(B, C, height, width)`` batch.

    ``top``/``left`` may point outside an image (into its padding, resolved by ``padding_mode``
    and ``fill`` as :func:`torchaug.functional.geometry.crop`).
    """
    tl = torch.stack([top, left], dim=1).tolist()
    out = _out(images, height, width)
    for i, (t, l_) in enumerate(tl):
        img = images[i]
        h, w = img.shape[-2:]
        if t >= 0 and l_ >= 0 and t + height <= h and l_ + width <= w:
            out[i].copy_(img[:, t : t + height, l_ : l_ + width])
        else:
            one = torch.tensor([t], device=img.device), torch.tensor([l_], device=img.device)
            out[i : i + 1] = FG.crop(img[None], *one, height, width, padding_mode=padding_mode, fill=fill)
    return out


def center_crop_list(images: Sequence[torch.Tensor], size: int | Sequence[int]) -> torch.Tensor:
    """:func:`torchaug.functional.geometry.center_crop` of every image, as one batch (zero-padded when smaller)."""
    oh, ow = (size, size) if isinstance(size, int) else (int(size[0]), int(size[-1]))
    out = _out(images, oh, ow)
    for i, img in enumerate(images):
        out[i : i + 1] = FG.center_crop(img[None], (oh, ow))
    return out


def resize_list(
    images: Sequence[torch.Tensor],
    size: int | Sequence[int],
    *,
    interpolation: str = "bilinear",
    antialias: bool = True,
    max_size: int | None = None,
) -> torch.Tensor | list[torch.Tensor]:
    """:func:`torchaug.functional.geometry.resize` of every image.

    One ``(B, C, h, w)`` batch when every output has the same size (a fixed ``(h, w)``, or equal
    inputs); otherwise (an int ``size`` for the shorter side of images of different aspect) the
    list of resized ``(C, h_i, w_i)`` images, to be cropped to one size by the next op.
    """
    outs = [FG._output_size(*t.shape[-2:], size, max_size) for t in images]
    if len(set(outs)) == 1:
        out = _out(images, *outs[0])

        def one(i: int) -> None:
            out[i : i + 1] = FG.resize(images[i][None], outs[0], interpolation=interpolation, antialias=antialias)

        parallel_for(one, list(range(len(images))), images[0].device)
        return out
    res: list[Any] = [None] * len(images)

    def each(i: int) -> None:
        res[i] = FG.resize(images[i][None], outs[i], interpolation=interpolation, antialias=antialias)[0]

    parallel_for(each, list(range(len(images))), images[0].device)
    return res


def is_image_list(obj: Any) -> bool:
    """Whether ``obj`` is a non-empty ``list`` of ``(C, H, W)`` image tensors (a ragged batch).

    Only a ``list`` (a tuple is a sample such as ``(image, target)``) of plain tensors or
    torchvision ``Image``s qualifies; masks, boxes and other targets do not.
    """
    if type(obj) is not list or not obj:
        return False
    for t in obj:
        if not isinstance(t, torch.Tensor) or t.ndim != 3:
            return False
        if type(t) is not torch.Tensor:
            from torchvision import tv_tensors

            if not isinstance(t, tv_tensors.Image):
                return False
    return True
