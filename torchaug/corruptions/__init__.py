"""The ImageNet-C / CIFAR-10-C corruptions, batched on any device, with per-sample severity.

``corrupt(images, name, severity, generator=None, constants="auto")`` applies one of the 19
corruptions of ``imagecorruptions.get_corruption_names("all")`` (:data:`CORRUPTIONS`, in that
order: the 15 benchmark ones, then speckle noise, Gaussian blur, spatter and saturate) at severity
1..5 (an int, or an int64 ``(B,)`` tensor: one severity per sample) to ``(B, C, H, W)`` (or
``(C, H, W)``) images, ``uint8`` or floating in [0, 1].

Constants (``constants=``): ``"imagenet"`` uses the ImageNet-C constants as ``imagecorruptions``
(v1.1.2) ships them for any image size; ``"cifar"`` the constants (and the few formula variants)
of Hendrycks' CIFAR-10-C script ``make_cifar_c.py``; ``"auto"`` (default) picks ``"cifar"`` when
both sides are at most 64 pixels, else ``"imagenet"``.

Output: the corrupted image, clipped to the valid range. ``uint8`` results are truncated to
integers as ``np.uint8(...)`` does in both reference scripts (JPEG and pixelate give integers
already); floating inputs get the unquantised [0, 1] result in their dtype. One-channel images
are processed as grey RGB (as ``imagecorruptions`` does) and returned as one channel (BT.601
luma). Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions and
Perturbations", ICLR 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchaug._cpu.chunks import run_chunked
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug._validation import check_generator, check_images, describe, value_checks_enabled
from torchaug.corruptions import _constants as K
from torchaug.corruptions._constants import CORRUPTIONS
from torchaug.corruptions._impl import FUNCTIONS, U8_FUNCTIONS, frost_photo_dir, quantise_unit

__all__ = ["CORRUPTIONS", "corrupt", "constants_for", "RandomCorruption", "frost_photo_dir"]

CONSTANT_SETS = ("auto", "cifar", "imagenet")
#: ``constants="auto"`` picks ``"cifar"`` for images whose height and width are at most this
AUTO_CIFAR_MAX_SIDE = 64


def constants_for(size: tuple[int, int], constants: str = "auto") -> str:
    """The constant set (``"cifar"`` or ``"imagenet"``) that ``constants`` means for images of ``size``."""
    if constants not in CONSTANT_SETS:
        raise ValueError(f"corrupt: constants must be one of {CONSTANT_SETS}; got {constants!r}")
    if constants == "auto":
        return "cifar" if max(size) <= AUTO_CIFAR_MAX_SIDE else "imagenet"
    return constants


def _severity(severity: Any, b: int, device: torch.device, owner: str) -> tuple[torch.Tensor, tuple[int, ...]]:
    if isinstance(severity, bool) or not isinstance(severity, (int, torch.Tensor)):
        raise TypeError(f"{owner}: severity must be an int in 1..5 or an int64 (B,) tensor; got {describe(severity)}")
    if isinstance(severity, int):
        if not 1 <= severity <= 5:
            raise ValueError(f"{owner}: severity must be in 1..5; got {severity}")
        return torch.full((b,), severity, dtype=torch.long, device=device), (severity,)
    if severity.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8) or severity.shape != (b,):
        raise TypeError(f"{owner}: severity must be an int64 tensor of shape ({b},); got {describe(severity)}")
    sev = severity.to(device=device, dtype=torch.long)
    if value_checks_enabled(sev) and bool(((sev < 1) | (sev > 5)).any()):
        raise ValueError(f"{owner}: severity values must be in 1..5; got {sev.min().item()}..{sev.max().item()}")
    return sev, (1, 2, 3, 4, 5)


def _name(name: Any, owner: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{owner}: name must be one of the corruption names {list(CORRUPTIONS)}; got {describe(name)}")
    if name not in FUNCTIONS:
        raise ValueError(f"{owner}: name must be one of {list(CORRUPTIONS)}; got {name!r}")
    return name


#: corruptions that draw no random numbers and make batch-sized float temporaries: on the CPU they run
#: on chunks of samples (``THRESHOLDS.corruption_chunk_bytes``), the same pixels bit for bit (zoom
#: blur with one severity only: per-sample factors resample by batched matrix products, whose float
#: sums depend on the batch they run in)
CHUNKED = frozenset({"defocus_blur", "zoom_blur", "brightness", "saturate", "gaussian_blur", "pixelate"})


def corrupt_batch(x4: torch.Tensor, name: str, sev: torch.Tensor, levels: tuple[int, ...],
                  generator: torch.Generator | None, which: str) -> torch.Tensor:
    """:func:`corrupt` on a validated ``(B, C, H, W)`` batch with an int64 ``(B,)`` severity."""
    if name in CHUNKED and (name != "zoom_blur" or len(levels) == 1):
        return run_chunked(_corrupt_whole, x4, (sev,), (name, levels, generator, which),
                           chunk_bytes=THRESHOLDS.corruption_chunk_bytes)
    return _corrupt_whole(x4, sev, name, levels, generator, which)


def _corrupt_whole(x4: torch.Tensor, sev: torch.Tensor, name: str, levels: tuple[int, ...],
                   generator: torch.Generator | None, which: str) -> torch.Tensor:
    """:func:`corrupt_batch` in one pass over the batch."""
    table = (K.CIFAR if which == "cifar" else K.IMAGENET)[name]
    integer = x4.dtype == torch.uint8
    if integer and x4.shape[1] == 3 and name in U8_FUNCTIONS:
        out = U8_FUNCTIONS[name](x4.contiguous(), sev, table, levels, generator, which == "cifar")
        if x4.is_contiguous(memory_format=torch.channels_last) and not x4.is_contiguous():
            out = out.contiguous(memory_format=torch.channels_last)
        return out
    # uint8: float32(k) / 255 is the float32 nearest to the references' float64 k / 255.
    xf = x4.to(torch.float32).div_(255) if integer else x4.to(torch.float32)
    grey = xf.shape[1] == 1
    if grey:
        xf = xf.expand(-1, 3, -1, -1)
    xf = xf.contiguous()
    fn = FUNCTIONS[name]
    if name == "pixelate":
        out = fn(xf, sev, table, levels, generator, which == "cifar", integer=integer)
    else:
        out = fn(xf, sev, table, levels, generator, which == "cifar")
    if grey:
        out = out.clamp(0, 1)
        out = 0.299 * out[:, 0:1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:3]
    if integer:
        out = run_chunked(quantise_unit, out, chunk_bytes=THRESHOLDS.corruption_chunk_bytes)
    else:
        out = out.clamp(0, 1).to(x4.dtype)
    if x4.is_contiguous(memory_format=torch.channels_last) and not x4.is_contiguous():
        out = out.contiguous(memory_format=torch.channels_last)
    return out


def corrupt(
    images: torch.Tensor,
    name: str,
    severity: int | torch.Tensor = 3,
    generator: torch.Generator | None = None,
    *,
    constants: str = "auto",
) -> torch.Tensor:
    """Apply corruption ``name`` at ``severity`` (int or int64 ``(B,)``) to ``images``.

    ``images``: ``(B, C, H, W)`` or ``(C, H, W)``, ``C`` 1 or 3, ``uint8`` or floating in [0, 1];
    the result has the same shape, dtype and device. ``generator`` drives every random draw (on
    the images' device). See the module docstring for ``constants`` and the output convention.
    """
    owner = "corrupt"
    x4, single = check_images(images, owner=owner, name="images")
    if type(x4) is not torch.Tensor:
        x4 = x4.as_subclass(torch.Tensor)
    if x4.shape[1] not in (1, 3):
        raise ValueError(f"{owner}: images must have 1 or 3 channels; got {describe(images)}")
    check_generator(generator, x4.device, owner=owner)
    name = _name(name, owner)
    which = constants_for(tuple(x4.shape[-2:]), constants) if isinstance(constants, str) else None
    if which is None:
        raise TypeError(f"{owner}: constants must be one of {CONSTANT_SETS}; got {describe(constants)}")
    if isinstance(severity, torch.Tensor) and single and severity.ndim == 0:
        severity = severity.view(1)
    sev, levels = _severity(severity, x4.shape[0], x4.device, owner)
    out = corrupt_batch(x4, name, sev, levels, generator, which)
    return out[0] if single else out


from torchaug.corruptions.transform import RandomCorruption  # noqa: E402
