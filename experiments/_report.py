"""Formatting helpers for the result tables the evaluation scripts print."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path


def mean_std(values: Sequence[float], digits: int = 3) -> str:
    """``"mean ± std"`` over seeds (just the value for one seed, ``"–"`` for none)."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def emit(lines: Sequence[str], out: str | Path | None) -> str:
    """Join a report's lines, print it, and also write it to ``out`` when given; returns the text."""
    report = "\n".join(lines)
    print(report)
    if out:
        Path(out).write_text(report + "\n")
    return report
