"""Which code path a tensor takes: the CPU one, or the one accelerators take.

Kernels, transforms and mixers branch on the device in a few places: on CPU they read small
numbers back for free, reuse scratch buffers, gather instead of masking and spread work over
threads; on a GPU the same call must stay asynchronous. :func:`cpu_path` is the one question they
all ask, and :func:`accelerator_path` makes CPU tensors take the accelerator branches, so that the
test suite runs the GPU code path on a machine without a GPU (the device fixture's
``"cpu:accel"`` parameter)::

    with torchaug.accelerator_path():
        out = ColorJitter(0.4, 0.4, 0.4, 0.1)(x_cpu)  # the path a CUDA tensor takes

Under the switch, scratch buffers come back filled with NaN (floats) or 0xA5 bytes (integers), so
a kernel that reads a scratch buffer it has not written fails loudly instead of working by the
accident of reused memory. The switch is process-wide (threads started inside a call see it) and
nests; it changes no result of a correct kernel.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

import torch

_LOCK = threading.Lock()
_DEPTH = 0


def cpu_path(device: torch.device | torch.Tensor) -> bool:
    """True where the CPU-only branches may run: a CPU tensor (or device), outside
    :func:`accelerator_path` and outside ``torch.compile`` tracing."""
    if isinstance(device, torch.Tensor):
        device = device.device
    # traced code (torch.compile) takes the accelerator path too: the CPU branches read numbers
    # back, reuse scratch buffers and start threads, none of which a graph can hold
    return device.type == "cpu" and _DEPTH == 0 and not torch.compiler.is_compiling()


def emulating() -> bool:
    """Whether :func:`accelerator_path` is active."""
    return _DEPTH > 0


@contextlib.contextmanager
def accelerator_path() -> Iterator[None]:
    """Within the block, CPU tensors take the code path of non-CPU devices (see the module)."""
    global _DEPTH
    with _LOCK:
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1


def poisoned_empty(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``torch.empty`` as an accelerator's allocator gives it: under :func:`accelerator_path`,
    filled with NaN (floating) or 0xA5 bytes so that reading it before writing shows."""
    t = torch.empty(shape, dtype=dtype, device=device)
    if _DEPTH and device.type == "cpu":
        if t.is_floating_point() or t.is_complex():
            t.fill_(float("nan"))
        elif t.dtype == torch.bool:
            t.fill_(True)
        else:
            t.view(torch.uint8).fill_(0xA5)
    return t
