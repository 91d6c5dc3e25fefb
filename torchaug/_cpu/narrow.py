"""Float32 to uint8 narrowing on CPU without PyTorch's float-to-uint8 conversion kernel.

Every uint8 colour op, warp and mix computes in float32 and ends with a cast back to uint8, which
truncates. On CPU that cast is the slowest pass of most ops: 12x3x224x224 took 178 us per image, one
thread, against 10 us for a ``floor_`` and 37 us for the narrowing below. Values that
are integers in [0, 255] become the low byte of an int32 when 2**23 is added
(the float's mantissa then holds the integer), and an int32 narrows to uint8 by keeping the low byte.
"""

from __future__ import annotations

import torch

from torchaug._cpu.registry import fast_path
from torchaug._devpath import cpu_path


def to_uint8_plain(y: torch.Tensor) -> torch.Tensor:
    """``y.to(torch.uint8)`` (truncation): the reference of :func:`to_uint8_`."""
    return y.to(torch.uint8)


def _applies(y: torch.Tensor) -> bool:
    return cpu_path(y) and y.dtype == torch.float32


def _examples(x: torch.Tensor, g: torch.Generator) -> list:
    y = torch.rand(x.shape, generator=g) * 256.0  # truncation of every fraction, 0 and 255.99
    y.view(-1)[:3] = torch.tensor([0.0, -0.0, 255.999])
    return [((y,), {}), ((y.round().clamp_(0, 255),), {})]


@fast_path(plain=to_uint8_plain, applies=_applies, examples=_examples, mutates=(0,))
def to_uint8_(y: torch.Tensor) -> torch.Tensor:
    """``y.to(torch.uint8)`` for a private float32 tensor with values in [0, 256) (destroyed):
    truncated (``floor_``), then narrowed through the int32 bits. Keeps ``y``'s strides."""
    return y.floor_().add_(8388608.0).view(torch.int32).to(torch.uint8)


def narrow_uint8_(y: torch.Tensor) -> torch.Tensor:
    """:func:`to_uint8_` where it applies (float32 on CPU), else ``y.to(torch.uint8)``."""
    return to_uint8_(y) if _applies(y) else y.to(torch.uint8)
