"""Intra-op thread limit around small CPU kernels."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def cpu_threads(device: torch.device, n: int | None = 1) -> Iterator[None]:
    """Run the enclosed torch ops with at most ``n`` intra-op threads when on CPU (``None``: no limit).

    Used around the tiny ``(B,)`` parameter ops and loops of small per-sample kernels: CPU
    kernels open a parallel region even for a few hundred elements, and when the other cores are
    busy (DataLoader workers, other jobs) each region waits for a scheduler time slice (measured
    on a loaded 2-core machine: 32 per-sample 224x224 resizes took 950 ms with two threads, 33 ms
    with one). ``torch.set_num_threads`` is process-wide and costs well under a microsecond;
    another Python thread running torch ops at that moment shares the limit.
    """
    current = torch.get_num_threads()
    if device.type != "cpu" or n is None or current <= n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(current)
