"""Tiny shared timing helper for the benchmarks: warm-up, repeats, median, items/s, markdown."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def measure(fn: Callable[[], Any], *, items: int = 1, warmup: int = 2, repeats: int = 7, sync: Callable[[], None] | None = None) -> dict[str, float]:
    """Run ``fn`` ``warmup`` times, then time ``repeats`` runs; return the median seconds per
    run and ``items / median`` per second. ``sync`` (e.g. ``torch.cuda.synchronize``) is called
    before reading the clock."""
    for _ in range(warmup):
        fn()
    if sync is not None:
        sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"median_s": med, "per_s": items / med, "min_s": min(times), "max_s": max(times)}


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table (floats get thousands separators and no decimals if >= 100)."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def round_robin(fns: dict[str, Callable[[], Any]], rounds: int, seed: int = 0) -> dict[str, list[float]]:
    """Seconds per call of every function, ``rounds`` times: one warm-up call each, then each round calls them
    all once in a fresh random order (so no library always runs right after the same other one)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {n: [] for n in fns}
    order = list(fns)
    rng = random.Random(seed)
    for _ in range(rounds):
        rng.shuffle(order)
        for n in order:
            t0 = time.perf_counter()
            fns[n]()
            times[n].append(time.perf_counter() - t0)
    return times
