"""Small constant tensors made once per device (the CPU scratch buffers are in :mod:`torchaug._cpu.scratch`)."""

from __future__ import annotations

import functools

import torch

@functools.lru_cache(maxsize=256)
def constant(values: tuple, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A small constant tensor on ``device``, made once: building it from Python numbers on every
    call costs a dispatch, and on a GPU a host-to-device copy that waits for the queued work.
    Shared: never write to it."""
    return torch.tensor(values, device=device, dtype=dtype)


def _frozen(v):
    return tuple(_frozen(e) for e in v) if isinstance(v, (list, tuple)) else v


def as_device_tensor(v, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``torch.as_tensor(v, device=device)`` (then ``dtype``) without a copy per call: a tensor is
    moved (a no-op where it already is), a number or (nested) sequence is made once per device
    and dtype (:func:`constant`). Shared: never write to the result."""
    if isinstance(v, torch.Tensor):
        return v.to(device=device, dtype=dtype) if dtype is not None else v.to(device)
    return constant(_frozen(v), device, dtype)
