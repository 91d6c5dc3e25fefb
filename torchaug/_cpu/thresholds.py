"""Every byte/size threshold of torchaug's CPU fast paths, in one named object.

Each field is read when a kernel runs (``THRESHOLDS.<field>``), so tests can force a fast path on
or off with :func:`override_thresholds`. None of them changes a result: every path they choose
between is tested bit for bit against its plain kernel (``tests/test_fast_paths.py``). They were
measured on the 2-core benchmark machine (torch CPU build, one or two intra-op threads); the
comment of each field says how.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The thresholds (bytes unless said otherwise). Read-only; see :func:`override_thresholds`."""

    #: below this many bytes of work in one loop, :func:`torchaug._cpu.parallel.parallel_for` runs it on
    #: one thread. Two Python threads contend for the GIL between ops, and small ops are mostly that
    #: overhead: with one ColorJitter chunk per thread, 256x3x32x32 uint8 (3 MB of float work) took
    #: 4.5 ms on two threads and 5.2 ms on one, 8x3x224x224 (4.6 MB) 5.3 against 6.8 ms, but
    #: 200x3x32x32 (2.3 MB) 4.6 against 4.3 ms.
    parallel_min_bytes: int = 3 << 20
    #: ColorJitter's CPU work buffer per chunk (float32): 6 MB, ten 224x224 images, so the ~60 passes
    #: stay in the core's cache (2-3x faster at 224x224); for 32 images four chunks of eight were 3%
    #: faster than six of five or six with two threads and 6% with one.
    jitter_chunk_bytes: int = 6 << 20
    #: AugMix runs its chains and mix on chunks of about this many bytes of float32 image
    #: (:func:`torchaug._cpu.chunks.run_chunked` with ``chunk_bytes``): each op's float temporaries stay
    #: in cache, and each chunk pays ~5 ms of per-op dispatch. One thread, 32x3x224x224 uint8 (19 MB of
    #: float): 1/2/4/8/16 MiB chunks 112/114/115/103/118 ms, the whole batch 155 ms; 256x3x32x32 (3 MB):
    #: 38/25/20/19/19 ms, whole 21 ms.
    policy_chunk_bytes: int = 8 << 20
    #: :func:`torchaug.functional.noise.gaussian_blur` runs on chunks of about this many bytes of float32
    #: image: a batch-sized float temporary (over glibc's 32 MiB mmap limit) is page-faulted in anew on
    #: every call, and that kernel time was most of the blur. 64x3x224x224 uint8, kernel 23, each size in
    #: a fresh process: one thread, 0.25 / 0.5 / 1 / 2 / 4 / 8 / 64 MiB chunks 161 / 156 / 110 / 58 / 241 /
    #: 155 / 254 ms (system time 8 / 10 / 11 / 2 / 129 / 79 / 181 ms); two threads, 0.5 / 1 / 2 / 4 / 64 MiB
    #: 101 / 64 / 50 / 126 / 84 ms. Which sizes fault depends on glibc's adaptive thresholds, so on what the
    #: process allocated before; 2 MiB was the fastest every time. Same pixels (bit for bit).
    blur_chunk_bytes: int = 2 << 20
    #: the corruptions that draw no random numbers and make batch-sized float temporaries (defocus,
    #: zoom and Gaussian blur, brightness, saturate) run on chunks of about this many bytes of float32
    #: image (:func:`torchaug.corruptions.corrupt_batch`). One thread, 32x3x224x224 uint8, severity 3,
    #: whole batch / 2 / 4 / 8 MiB chunks (ms): defocus 134 / 79 / 82 / 78, zoom blur 1014 / 372 / 487 /
    #: 716, brightness 213 / 87 / 85 / 112, saturate 191 / 83 / 83 / 114, Gaussian blur 130 / 56 / 53 / 56
    #: (the whole batch: 60-413 ms of system time, page faults); contrast, pixelate and JPEG gained nothing.
    corruption_chunk_bytes: int = 2 << 20
    #: ColorJitter samples of at least this many bytes are gathered and scattered row by row when the
    #: batch is reordered (ImageNet-sized rows: -0.5 ms of serial reorder per 32x3x224x224 batch);
    #: smaller rows are many and one op each would cost more than one reorder pass (256 CIFAR rows).
    row_copy_min_bytes: int = 16 << 10
    #: median blur runs its sorting network on groups of samples of about this many bytes of work
    #: tensor, so the network's ~100 passes stay in the L2 cache.
    median_plane_bytes: int = 256 << 10
    #: bytes of a block of :func:`torchaug._cpu.select.apply_into`: temporaries this small are recycled
    #: by the allocator instead of being page-faulted in like one batch-sized temporary.
    into_chunk_bytes: int = 1 << 20
    #: :func:`~torchaug._cpu.select.apply_into` rewrites samples of at least this many bytes run by run
    #: (only the selected ones), smaller ones block by block with a merge: at 224x224 uint8 a flip of
    #: half of 32 samples took 0.4 ms by runs and 1.4 ms by blocks; at 32x32 one op per run of a few
    #: samples costs more than the merge.
    into_run_min_bytes: int = 16 << 10
    #: the mixers' pair blend (``torchaug.mixing._kernels``, read there at import as ``TILE_BYTES``):
    #: bytes of one column tile over all paired rows (1 MiB L2 per core, 32 MiB L3: 2 MiB tiles beat
    #: 128 KiB-512 KiB ones and untiled full-batch ops at 64x3x224x224; a 256x3x32x32 float batch
    #: (3 MiB) runs in two tiles). See docs/mixing.md.
    tile_bytes: int = 2 * 1024 * 1024
    #: pair blends whose paired rows take at most this many bytes run as one tile (256x3x32x32 float:
    #: 3 MiB, one tile 0.19 ms vs 0.30 ms in 2 MiB tiles, measured with one thread); read at import as
    #: ``SINGLE_TILE_BYTES``.
    single_tile_bytes: int = 8 * 1024 * 1024


#: the thresholds in force (one instance for the process; :func:`override_thresholds` changes it in place)
THRESHOLDS = Thresholds()
_LOCK = threading.Lock()


@contextlib.contextmanager
def override_thresholds(**fields: int) -> Iterator[Thresholds]:
    """``with override_thresholds(into_run_min_bytes=1):`` sets fields of :data:`THRESHOLDS` for the
    block (for tests: force a fast path on, ``0``/``1``, or off, a huge value), then restores them.
    Process-wide, not thread-local. Unknown names raise a ``TypeError``."""
    names = {f.name for f in dataclasses.fields(Thresholds)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise TypeError(f"override_thresholds: unknown threshold(s) {unknown}; known: {sorted(names)}")
    for k, v in fields.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise TypeError(f"override_thresholds: {k} must be a non-negative int; got {v!r}")
    with _LOCK:
        saved = {k: getattr(THRESHOLDS, k) for k in fields}
        for k, v in fields.items():
            object.__setattr__(THRESHOLDS, k, v)
    try:
        yield THRESHOLDS
    finally:
        with _LOCK:
            for k, v in saved.items():
                object.__setattr__(THRESHOLDS, k, v)
