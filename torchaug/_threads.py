"""Intra-op thread limit around small CPU kernels."""

from __future__ import annotations

import torch

from torchaug._devpath import cpu_path


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
        self._limit = n if cpu_path(device) else None
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
