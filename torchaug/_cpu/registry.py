"""The fast-path registry: every CPU fast path, registered against the plain kernel it replaces.

A fast path is a function that gives exactly what its plain kernel gives (bit for bit) but faster
on some inputs: a gather of rows instead of per-element indexing, integer bit operations instead
of ``torch.where``, cache-sized chunks spread over threads. It is registered with::

    @fast_path(plain=_crop_plain, applies=_crop_windows_apply, examples=_crop_examples,
               thresholds=("into_chunk_bytes",))
    def _crop_windows(x, top, left, height, width, ...): ...

- ``plain``: the reference kernel, same arguments, that the fast path must equal bit for bit;
- ``applies(*args, **kwargs) -> bool``: when the public kernel takes the fast path (the public
  kernel calls it, so the predicate and the dispatch cannot drift apart);
- ``examples(x, generator) -> [(args, kwargs), ...]``: the fast path's arguments for an image batch
  ``x``; ``tests/test_fast_paths.py`` runs every registered fast path and its plain kernel on them
  for uint8/float, contiguous/channels_last and odd sizes;
- ``thresholds``: the :class:`~torchaug._cpu.thresholds.Thresholds` fields that switch branches
  inside the fast path; the test forces each of them both ways.
- ``mutates``: the argument positions the fast path writes into (the test passes copies).

The registry holds functions only; nothing here runs at import beyond the decorators.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

#: the modules that register fast paths (imported by :func:`fast_paths`)
MODULES = (
    "torchaug._cpu.select",
    "torchaug.functional.geometry",
    "torchaug.functional.color",
    "torchaug.functional._color_fast",
    "torchaug.functional.blur",
    "torchaug._cpu.chunks",
    "torchaug._cpu.narrow",
)


@dataclasses.dataclass(frozen=True)
class FastPath:
    name: str
    fast: Callable[..., Any]
    plain: Callable[..., Any]
    applies: Callable[..., bool]
    examples: Callable[..., list]
    thresholds: tuple[str, ...] = ()
    mutates: tuple[int, ...] = ()


_REGISTRY: dict[str, FastPath] = {}


def fast_path(
    *,
    plain: Callable[..., Any],
    examples: Callable[..., list],
    applies: Callable[..., bool] | None = None,
    thresholds: tuple[str, ...] = (),
    mutates: tuple[int, ...] = (),
    name: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as a fast path of ``plain`` (see the module docstring)."""
    from torchaug._cpu.thresholds import Thresholds

    known = {f.name for f in dataclasses.fields(Thresholds)}
    bad = [t for t in thresholds if t not in known]
    if bad:
        raise TypeError(f"fast_path: unknown threshold(s) {bad}; known: {sorted(known)}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = name or f"{fn.__module__}.{fn.__qualname__}"
        _REGISTRY[key] = FastPath(key, fn, plain, applies or (lambda *a, **k: True), examples, tuple(thresholds),
                                  tuple(mutates))
        return fn

    return deco


def fast_paths() -> list[FastPath]:
    """Every registered fast path (imports the modules that register them)."""
    for m in MODULES:
        importlib.import_module(m)
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
