"""Argument checks shared by the albumentations-style pixel transforms (ranges, odd kernel sizes)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch

from torchaug._validation import check_number, describe


def float_range(
    v: Any, *, owner: str, name: str, low: float | None = None, high: float | None = None, symmetric: bool = False
) -> tuple[float, float]:
    """A number ``v`` -> ``(v, v)`` (``symmetric``: ``(-v, v)``); a ``(min, max)`` pair checked."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        f = float(check_number(v, owner=owner, name=name, low=None if symmetric else low, high=high))
        if symmetric:
            f = abs(f)
            check_number(-f, owner=owner, name=name, low=low, high=high)
            return -f, f
        return f, f
    if isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2:
        lo = float(check_number(v[0], owner=owner, name=name, low=low, high=high))
        hi = float(check_number(v[1], owner=owner, name=name, low=low, high=high))
        if lo > hi:
            raise ValueError(f"{owner}: {name} must be an increasing (min, max) pair; got {tuple(v)}")
        return lo, hi
    raise TypeError(f"{owner}: {name} must be a number or a (min, max) pair; got {describe(v)}")


def int_range(v: Any, *, owner: str, name: str, low: int | None = None, high: int | None = None) -> tuple[int, int]:
    """An int ``v`` -> ``(v, v)``; a ``(min, max)`` pair of ints checked."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        i = int(check_number(int(v), owner=owner, name=name, low=low, high=high, integer=True))
        return i, i
    if isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2:
        lo = int(check_number(v[0], owner=owner, name=name, low=low, high=high, integer=True))
        hi = int(check_number(v[1], owner=owner, name=name, low=low, high=high, integer=True))
        if lo > hi:
            raise ValueError(f"{owner}: {name} must be an increasing (min, max) pair; got {tuple(v)}")
        return lo, hi
    raise TypeError(f"{owner}: {name} must be an int or a (min, max) pair of ints; got {describe(v)}")


def odd_range(v: Any, *, owner: str, name: str, default_low: int = 3) -> tuple[int, int]:
    """A kernel-size range of odd ints: ``k`` -> ``(min(default_low, k), k)`` (albumentations'
    ``blur_limit`` form), or an increasing ``(min, max)`` pair; every bound odd and ``>= 1``."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        k = int(check_number(int(v), owner=owner, name=name, low=1, integer=True))
        lo, hi = min(default_low, k), k
    else:
        lo, hi = int_range(v, owner=owner, name=name, low=1)
    for k in (lo, hi):
        if k % 2 == 0:
            raise ValueError(f"{owner}: {name} must hold odd kernel sizes; got {v!r}")
    return lo, hi


def sample_odd(u: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """Odd ints uniform over ``lo, lo + 2, ..., hi`` from uniforms ``u`` in [0, 1) (albumentations'
    ``sample_odd_from_range``)."""
    n = (hi - lo) // 2 + 1
    return lo + 2 * (u * n).floor().long().clamp(0, n - 1)


def check_flag(v: Any, *, owner: str, name: str) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"{owner}: {name} must be a bool; got {describe(v)}")
    return v
