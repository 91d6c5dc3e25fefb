"""The CPU thread policy: intra-op thread limits around small kernels, and the switch that turns
every such limit off.

torchaug's CPU kernels change ``torch.set_num_threads`` for the duration of a call (one intra-op
thread around tiny parameter ops, :func:`torchaug._cpu.parallel.parallel_for` splitting a
loop over Python threads with one intra-op thread each) and always restore the caller's setting
before returning, also when the call raises. ``torch.set_num_threads`` also sets the process-wide
value that threads started later inherit, so a thread the user starts *during* such a call begins
with the lowered count. Applications that manage threads themselves turn the policy off with
:func:`set_cpu_threading`: then torchaug never calls ``torch.set_num_threads`` and runs every
loop on the calling thread.
"""

from __future__ import annotations

import torch

from torchaug._devpath import cpu_path

_ENABLED = True


def set_cpu_threading(enabled: bool) -> None:
    """Turn torchaug's CPU thread policy on (default) or off.

    Off: no ``torch.set_num_threads`` call anywhere in torchaug, no helper threads; every kernel runs
    on the calling thread with the caller's intra-op thread count (results are identical either
    way). For applications that pin threads themselves, or run torchaug inside their own pools.
    """
    global _ENABLED
    if not isinstance(enabled, bool):
        raise TypeError(f"set_cpu_threading: enabled must be True or False; got {enabled!r}")
    _ENABLED = enabled


def cpu_threading() -> bool:
    """Whether the CPU thread policy is on (see :func:`set_cpu_threading`)."""
    return _ENABLED


class cpu_threads:
    """``with cpu_threads(device, n):`` runs the enclosed torch ops with at most ``n`` intra-op
    threads when on CPU (``None``: no limit).

    Used around the tiny ``(B,)`` parameter ops and loops of small per-sample kernels: CPU
    kernels open a parallel region even for a few hundred elements, and when the other cores are
    busy (DataLoader workers, other jobs) each region waits for a scheduler time slice (measured
    on a loaded 2-core machine: 32 per-sample 224x224 resizes took 950 ms with two threads, 33 ms
    with one). ``torch.set_num_threads`` is process-wide and costs well under a microsecond;
    another Python thread running torch ops at that moment shares the limit. A plain class
    rather than a generator context manager: it wraps calls that take tens of microseconds.
    """

    __slots__ = ("_limit", "_restore")

    def __init__(self, device: torch.device, n: int | None = 1) -> None:
        self._limit = n if _ENABLED and cpu_path(device) else None
        self._restore = 0

    def __enter__(self) -> None:
        if self._limit is not None:
            current = torch.get_num_threads()
            if current > self._limit:
                torch.set_num_threads(self._limit)
                self._restore = current

    def __exit__(self, *exc: object) -> None:
        if self._restore:
            torch.set_num_threads(self._restore)
            self._restore = 0
