"""Per-thread scratch buffers for kernel-internal temporaries on CPU.

Fresh multi-megabyte CPU tensors are page-faulted in on first touch (the allocator hands freed
memory back to the OS); on the benchmark machine a first touch costs about 1.5 us per 4 KiB page,
so a fresh 32x3x224x224 uint8 temporary costs ~2 ms, more than most passes over it.
"""

from __future__ import annotations

import math
import threading
import weakref

import torch

from torchaug._devpath import cpu_path, poisoned_empty

_WORKSPACE = threading.local()


class _Space:
    """One thread's buffers (``bufs``: flat tensor per name and dtype) and cached views of them."""

    __slots__ = ("views", "bufs", "__weakref__")

    def __init__(self) -> None:
        self.views: dict = {}
        self.bufs: dict = {}


_SPACES: "weakref.WeakSet[_Space]" = weakref.WeakSet()  # every live thread's space; gone with its thread
_SPACES_LOCK = threading.Lock()


def free_cpu_scratch() -> int:
    """Drop every thread's CPU scratch buffers; returns the bytes released.

    The buffers grow to the largest batch seen (e.g. after a large evaluation batch) and are kept
    for reuse; this hands them back (a kernel running at that moment keeps its views until it
    returns; the next call allocates afresh)."""
    with _SPACES_LOCK:
        freed = cpu_scratch_bytes()
        for space in list(_SPACES):
            space.views.clear()
            space.bufs.clear()
    return freed


def cpu_scratch_bytes() -> int:
    """Bytes held in CPU scratch buffers, over all threads."""
    return sum(t.numel() * t.element_size() for space in list(_SPACES) for t in list(space.bufs.values()))


def scratch(name: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A scratch tensor of ``shape`` for kernel-internal temporaries, reused across calls on CPU.

    One flat buffer per name, dtype and thread, so nothing is page-faulted in again. The buffer
    grows to the largest size asked for and any smaller shape is a view of its start, so the
    chunk shapes that change from batch to batch (ColorJitter's groups) reuse it too. A name
    must not be asked for again while its previous view is still in use. Never returned to the
    caller. Other devices use their caching allocator.
    """
    if not cpu_path(device):
        return poisoned_empty(shape, dtype, device)
    space = getattr(_WORKSPACE, "space", None)
    if space is None:
        space = _WORKSPACE.space = _Space()
        with _SPACES_LOCK:
            _SPACES.add(space)
    views = space.views
    key = (name, shape, dtype)
    v = views.get(key)
    if v is not None:  # the view itself is cached: no tensor operation at all
        return v
    bufs = space.bufs
    n = math.prod(shape)
    t = bufs.get((name, dtype))
    if t is None or t.numel() < n:
        t = bufs[(name, dtype)] = torch.empty(n, dtype=dtype, device=device)
        for k in [k for k in views if k[0] == name and k[2] == dtype]:  # views of the old buffer
            del views[k]
    if len(views) >= 256:  # bounded: one entry per name and shape seen
        views.clear()
    v = views[key] = t[:n].view(shape)
    return v
