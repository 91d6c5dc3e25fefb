"""``sampling_strategy`` resolution for over-samplers, with imbalanced-learn's semantics.

Returns an ordered dict ``{class_label: n_samples_to_generate}`` sorted by label, exactly as
``imblearn.utils.check_sampling_strategy(..., "over-sampling")`` does:

- ``'auto'`` = ``'not majority'``; ``'minority'``; ``'not minority'``; ``'all'``: bring the
  targeted classes up to the majority count (the first class in sorted label order wins ties
  for "majority" and "minority").
- float ``r`` in ``(0, 1]`` (two classes only): the minority is raised to
  ``int(n_majority * r)`` samples.
- dict ``{label: final_count}`` (each ``>=`` the current count).
- callable ``f(y) -> dict`` of final counts (``y`` passed as a numpy array).
"""

from __future__ import annotations

from collections import OrderedDict
from numbers import Real
from typing import Any, Callable, Mapping

import numpy as np

_STRINGS = ("auto", "minority", "not minority", "not majority", "all")


def _majority(stats: Mapping[Any, int]) -> Any:
    return max(stats, key=stats.get)


def _minority(stats: Mapping[Any, int]) -> Any:
    return min(stats, key=stats.get)


def _from_dict(strategy: Mapping[Any, Any], stats: Mapping[Any, int], owner: str) -> dict[Any, int]:
    unknown = [key for key in strategy if key not in stats]
    if unknown:
        raise ValueError(
            f"{owner}: sampling_strategy names classes that are not present in y: {unknown}; "
            f"classes are {list(stats)}"
        )
    out = {}
    for key, n in strategy.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{owner}: sampling_strategy counts must be integers; got {n!r} for class {key!r}")
        if n < 0:
            raise ValueError(f"{owner}: sampling_strategy counts must be >= 0; got {n} for class {key!r}")
        if n < stats[key]:
            raise ValueError(
                f"{owner}: sampling_strategy must ask an over-sampler for at least the current number of "
                f"samples of each class; class {key!r} has {stats[key]} samples and {n} were asked"
            )
        out[key] = int(n) - stats[key]
    return out


def resolve_sampling_strategy(
    strategy: str | float | Mapping[Any, int] | Callable[..., Mapping[Any, int]],
    y: np.ndarray,
    stats: Mapping[Any, int],
    *,
    owner: str,
) -> OrderedDict:
    """Resolve ``strategy`` against the class counts ``stats`` (label -> count, sorted labels)."""
    if len(stats) < 2:
        raise ValueError(f"{owner}: y must hold at least 2 classes to resample; got {len(stats)} class(es)")
    n_major = max(stats.values())
    if isinstance(strategy, str):
        if strategy not in _STRINGS:
            raise ValueError(
                f"{owner}: sampling_strategy must be one of {list(_STRINGS)}, a float, a dict or a callable; "
                f"got {strategy!r}"
            )
        if strategy in ("auto", "not majority"):
            major = _majority(stats)
            out = {c: n_major - n for c, n in stats.items() if c != major}
        elif strategy == "minority":
            minor = _minority(stats)
            out = {c: n_major - n for c, n in stats.items() if c == minor}
        elif strategy == "not minority":
            minor = _minority(stats)
            out = {c: n_major - n for c, n in stats.items() if c != minor}
        else:  # all
            out = {c: n_major - n for c, n in stats.items()}
    elif isinstance(strategy, Mapping):
        out = _from_dict(strategy, stats, owner)
    elif isinstance(strategy, Real) and not isinstance(strategy, bool):
        ratio = float(strategy)
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"{owner}: sampling_strategy as a float must be in (0, 1]; got {strategy!r}")
        if len(stats) != 2:
            raise ValueError(
                f"{owner}: sampling_strategy can be a float only for binary targets; got {len(stats)} classes "
                "(use a dict of final counts)"
            )
        major = _majority(stats)
        out = {c: int(n_major * ratio - n) for c, n in stats.items() if c != major}
        if any(n <= 0 for n in out.values()):
            raise ValueError(
                f"{owner}: sampling_strategy={strategy!r} would need to remove minority samples "
                f"(class counts {dict(stats)}); increase the ratio"
            )
    elif callable(strategy):
        result = strategy(y)
        if not isinstance(result, Mapping):
            raise TypeError(f"{owner}: a callable sampling_strategy must return a dict; got {type(result).__name__}")
        out = _from_dict(result, stats, owner)
    else:
        raise TypeError(
            f"{owner}: sampling_strategy must be a str, a float, a dict or a callable; got {type(strategy).__name__}"
        )
    return OrderedDict(sorted(out.items(), key=lambda kv: _sort_key(kv[0], stats)))


def _sort_key(label: Any, stats: Mapping[Any, int]) -> int:
    return list(stats).index(label)
