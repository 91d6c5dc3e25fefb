"""Image bytes and their decoding: in the loader workers (CPU) or batched on the device (CUDA).

Workers that only read files hand the encoded bytes on as 1-D uint8 tensors; a list of them is
an *encoded batch*. :func:`decode_batch` turns it into a list of uint8 ``(3, H, W)`` images on
the target device: on CUDA, JPEGs are decoded together by ``torchvision.io.decode_jpeg(list,
device="cuda")`` (nvJPEG, batched); elsewhere (and for PNG/BMP) each is decoded with
``torchvision.io.decode_image`` on the CPU and moved. Grey and CMYK files come out as RGB.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["read_bytes", "decode", "decode_batch", "is_encoded", "is_encoded_batch", "image_size"]

_JPEG_MAGIC = b"\xff\xd8"


def read_bytes(path: str | Path) -> torch.Tensor:
    """The file's bytes as a 1-D uint8 tensor (no decoding)."""
    return torch.from_numpy(np.fromfile(str(path), dtype=np.uint8))


def is_encoded(x: Any) -> bool:
    """A 1-D uint8 tensor: encoded image bytes."""
    return isinstance(x, torch.Tensor) and x.ndim == 1 and x.dtype == torch.uint8


def is_encoded_batch(x: Any) -> bool:
    """A non-empty list of encoded images (what a bytes-only loader yields per batch)."""
    return isinstance(x, list) and len(x) > 0 and all(is_encoded(t) for t in x)


def _is_jpeg(data: torch.Tensor) -> bool:
    return data.numel() > 2 and bytes(data[:2].cpu().tolist()) == _JPEG_MAGIC


def decode(data: torch.Tensor) -> torch.Tensor:
    """Decode one encoded image (JPEG, PNG, ...) on the CPU into uint8 ``(3, H, W)``."""
    from torchvision.io import ImageReadMode, decode_image

    if not is_encoded(data):
        raise TypeError(f"decode: data must be a 1-D uint8 tensor of file bytes; got {type(data).__name__} "
                        f"{getattr(data, 'dtype', '')} of shape {tuple(getattr(data, 'shape', ()))}")
    return decode_image(data.cpu(), mode=ImageReadMode.RGB)


def decode_batch(data: Sequence[torch.Tensor], device: str | torch.device = "cpu") -> list[torch.Tensor]:
    """Decode a list of encoded images into uint8 ``(3, H_i, W_i)`` images on ``device``.

    CUDA: all-JPEG batches go through one batched ``decode_jpeg(..., device=device)`` call.
    Otherwise each image is decoded on the CPU (:func:`decode`) and moved to ``device``.
    """
    device = torch.device(device)
    if not isinstance(data, (list, tuple)) or not data or not all(is_encoded(t) for t in data):
        raise TypeError("decode_batch: data must be a non-empty list of 1-D uint8 tensors of file bytes")
    if device.type == "cuda" and all(_is_jpeg(t) for t in data):
        from torchvision.io import ImageReadMode, decode_jpeg

        return list(decode_jpeg([t.cpu() for t in data], mode=ImageReadMode.RGB, device=device))
    return [decode(t).to(device, non_blocking=True) for t in data]


def image_size(path: str | Path) -> tuple[int, int]:
    """``(H, W)`` from the file header (PIL reads the header only, no pixel decoding)."""
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    return int(h), int(w)
