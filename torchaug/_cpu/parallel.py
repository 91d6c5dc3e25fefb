"""Run independent per-chunk CPU kernels on a few Python threads (one intra-op thread each).

Some kernels are a short loop of independent calls: ``RandomResizedCrop``'s per-sample resize
(each box has its own size, so PyTorch's native, torchvision-exact uint8 resize runs once per
sample) and ``ColorJitter``'s cache-sized chunks. With one intra-op thread the loop uses one
core; with OpenMP threads every small op opens a parallel region, which on a loaded machine
waits for a time slice on every core (see :mod:`torchaug._cpu.threads`). Instead the loop's items
are split over ``torch.get_num_threads()`` Python threads, each running its ops with one
intra-op thread: PyTorch releases the GIL inside every op, and no item waits for another.

Only the loop is parallel: the items must write to disjoint outputs and draw no random numbers
(the parameters are drawn before), so the result does not depend on the scheduling.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

from torchaug._cpu import threads as _threads
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug._devpath import cpu_path

T = TypeVar("T")

_LOCK = threading.Lock()
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_LOCAL = threading.local()


def _pool(n: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_SIZE
    with _LOCK:
        if _POOL is None or _POOL_SIZE < n:
            _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="torchaug-cpu")
            _POOL_SIZE = n
        return _POOL


def _forget_pool() -> None:
    """In a forked child (e.g. a DataLoader worker) the parent's pool threads do not exist."""
    global _POOL, _POOL_SIZE, _LOCK
    _POOL, _POOL_SIZE, _LOCK = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _run_part(fn: Callable[[T], None], part: Sequence[T], inference: bool = False) -> None:
    torch.set_num_threads(1)  # this worker thread's own OpenMP setting
    with torch.inference_mode(inference):  # thread-local: follow the caller (Lightning evaluates in inference mode)
        for item in part:
            fn(item)


class one_op_thread:
    """``with one_op_thread(device):`` runs the enclosed ops with one intra-op thread on CPU, while
    :func:`parallel_for` inside still spreads its loops over the caller's thread count.

    For transforms made of a few memory-bound passes (flips, crops, erasing, the glue around
    ColorJitter's chunks): a second OpenMP thread adds little bandwidth to a copy-like pass, and
    on a busy machine each parallel region waits for a time slice on every core.
    """

    __slots__ = ("_device", "_restore", "_budget")

    def __init__(self, device: torch.device) -> None:
        self._device = device
        self._restore = 0
        self._budget = None

    def __enter__(self) -> None:
        if not _threads._ENABLED or not cpu_path(self._device) or getattr(_LOCAL, "budget", None) is not None:
            return
        current = torch.get_num_threads()
        _LOCAL.budget = self._budget = current
        if current > 1:
            torch.set_num_threads(1)
            self._restore = current

    def __exit__(self, *exc: object) -> None:
        if self._budget is not None:
            _LOCAL.budget = self._budget = None
        if self._restore:
            torch.set_num_threads(self._restore)
            self._restore = 0




def thread_budget(device: torch.device, work_bytes: int | None = None) -> int:
    """How many threads :func:`parallel_for` would use on ``device`` (1 off the CPU, with the thread
    policy off, or for loops doing less than ``THRESHOLDS.parallel_min_bytes`` (:mod:`torchaug._cpu.thresholds`) of work when ``work_bytes``
    is given)."""
    if not _threads._ENABLED or not cpu_path(device) or (work_bytes is not None and work_bytes < THRESHOLDS.parallel_min_bytes):
        return 1
    return getattr(_LOCAL, "budget", None) or torch.get_num_threads()


def parallel_for(
    fn: Callable[[T], None], items: Sequence[T], device: torch.device, *, min_items: int = 2, work_bytes: int | None = None
) -> None:
    """Call ``fn(item)`` for every item, spread over ``torch.get_num_threads()`` threads on CPU
    (inside :class:`one_op_thread`: the thread count outside it).

    Each thread takes a contiguous share of ``items`` and runs its ops with one intra-op thread;
    the calling thread does the first share. With one thread, fewer than ``min_items`` items,
    less than ``THRESHOLDS.parallel_min_bytes`` (:mod:`torchaug._cpu.thresholds`) of ``work_bytes`` (the bytes the whole loop touches), a
    non-CPU device, or when called from inside another ``parallel_for``, the loop runs here
    (with one intra-op thread on CPU). Exceptions from any item are raised here.
    """
    if not _threads._ENABLED:
        for item in items:
            fn(item)
        return
    current = torch.get_num_threads()
    n = min(thread_budget(device, work_bytes), len(items))  # inside one_op_thread: the caller's count
    nested = getattr(_LOCAL, "active", False)
    if cpu_path(device) and current > 1:
        torch.set_num_threads(1)
    try:
        if n < 2 or len(items) < min_items or nested:
            for item in items:
                fn(item)
            return
        bounds = [round(i * len(items) / n) for i in range(n + 1)]
        parts = [items[bounds[i] : bounds[i + 1]] for i in range(n)]
        pool = _pool(n - 1)
        _LOCAL.active = True
        try:
            inference = torch.is_inference_mode_enabled()
            futures = [pool.submit(_run_part, fn, part, inference) for part in parts[1:]]
            try:
                for item in parts[0]:
                    fn(item)
            finally:
                for f in futures:  # always wait: the items write into the caller's tensors
                    f.exception()
            for f in futures:
                f.result()
        finally:
            _LOCAL.active = False
    finally:
        if torch.get_num_threads() != current:
            torch.set_num_threads(current)


F = TypeVar("F", bound=Callable)


def copy_like(fn: F) -> F:
    """Decorator for kernels made of a few copy-like passes (flips, crops, erasing, the glue around
    ColorJitter's chunks): on CPU their ops run with one intra-op thread (:class:`one_op_thread`),
    while a :func:`parallel_for` inside still spreads its loops over the caller's thread count. A
    second OpenMP thread adds little bandwidth to a copy, and on a busy machine each parallel
    region waits for a time slice on every core. The first argument must be the image tensor."""

    @functools.wraps(fn)
    def wrapper(x, *args, **kwargs):
        if not isinstance(x, torch.Tensor) or not cpu_path(x):
            return fn(x, *args, **kwargs)
        with one_op_thread(x.device):
            return fn(x, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
