"""glibc's malloc thresholds for batch-sized CPU tensors: keep freed memory for the next batch.

A fresh multi-megabyte CPU tensor is page-faulted in (and zeroed by the kernel) on first touch
whenever glibc hands freed memory back to the OS, which it does for allocations above its mmap
threshold (adaptive, at most 32 MiB) and for freed heap tops above its trim threshold (twice the
mmap threshold). A batched pipeline allocates and frees the same few batch-sized tensors on every
call, so it pays those faults every call: 32 images of 3x512x512 through the detection pipeline,
one thread, spent 22-32 ms of 150-190 ms in the kernel (about 12,000 faults per call).
:func:`keep_freed_memory` fixes both thresholds, as ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` in the environment would, but from Python at run time: allocations up to
the mmap threshold come from the heap and freed memory up to the trim threshold stays with the
process. Process-wide; DataLoader workers started by ``fork`` inherit it, others call it in
``worker_init_fn``. Allocations above 32 MiB are always mapped afresh by glibc (the chunked kernels
keep their temporaries smaller).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_MAX = 32 << 20  # glibc's largest mmap threshold on 64-bit (HEAP_MAX_SIZE / 2)
_INT_MAX = (1 << 31) - 1


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # only glibc has it (musl has mallopt as a no-op)
        return libc
    except (OSError, AttributeError):
        return None


def keep_freed_memory(mmap_threshold: int = _MMAP_MAX, trim_threshold: int = 256 << 20) -> bool:
    """Serve CPU allocations up to ``mmap_threshold`` bytes (at most 32 MiB) from glibc's heap and
    keep up to ``trim_threshold`` bytes of freed memory in the process, so that the batch-sized
    tensors a pipeline allocates on every call reuse memory instead of being page-faulted in anew.

    Returns True when applied (glibc), False where nothing changed (other C libraries, macOS,
    Windows). The cost is memory the process keeps after freeing it (at most ``trim_threshold``
    at the top of each heap); peak memory is unchanged. See :mod:`torchaug._cpu.malloc`.
    """
    for name, v, high in (("mmap_threshold", mmap_threshold, _MMAP_MAX), ("trim_threshold", trim_threshold, _INT_MAX)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"keep_freed_memory: {name} must be an int (bytes); got {type(v).__name__} {v!r}")
        if not 0 <= v <= high:
            raise ValueError(f"keep_freed_memory: {name} must be in [0, {high}] bytes (mallopt takes a C int; glibc "
                             f"ignores an mmap threshold above 32 MiB); got {v}")
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, ctypes.c_int(mmap_threshold)) == 1
    return libc.mallopt(_M_TRIM_THRESHOLD, ctypes.c_int(trim_threshold)) == 1 and ok
