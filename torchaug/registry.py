"""Registry of public augmenters.

Every public augmenter class registers itself with :func:`register`, giving its kind and a
factory that builds a small working example. The shared contract test suite
(``tests/test_contract.py``) runs over every entry; a public augmenter class that is not
registered fails a test.

Kinds and their calling conventions:

- ``"transform"``: ``t(x, generator=None) -> x`` on ``(B,C,H,W)``/``(C,H,W)`` images.
- ``"mixer"``: ``m(x, y, generator=None) -> (x, y_soft)``.
- ``"hook"``: ``factory()`` returns ``(model, hook)``; the hook is attached to ``model``.
- ``"resampler"``: ``s.fit_resample(X, y) -> (X_res, y_res)``.
- ``"selector"``: ``s.fit(X_real, y_real).select(X_syn, y_syn)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

KINDS = ("transform", "mixer", "hook", "resampler", "selector")

T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class Entry:
    name: str
    cls: type
    kind: str
    example: Callable[[], Any]


_REGISTRY: dict[str, Entry] = {}


def register(kind: str, example: Callable[[], Any] | None = None) -> Callable[[T], T]:
    """Class decorator: register a public augmenter of ``kind``.

    ``example`` builds a small working instance (defaults to ``cls()``) for the contract suite.
    """
    if kind not in KINDS:
        raise ValueError(f"register: kind must be one of {KINDS}; got {kind!r}")

    def deco(cls: T) -> T:
        name = cls.__name__
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(f"register: an augmenter named {name!r} is already registered")
        _REGISTRY[name] = Entry(name, cls, kind, example if example is not None else cls)
        _record_init_args(cls)
        return cls

    return deco


def _record_init_args(cls: type) -> None:
    """Wrap ``cls.__init__`` so an instance keeps the arguments it was built with (for
    :func:`torchaug.config_io.to_config`); recorded only when ``cls`` is the instance's own class."""
    import functools
    import inspect

    init = cls.__init__
    if getattr(init, "__torchaug_records__", None) is cls:
        return
    sig = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if type(self) is cls:
            try:
                bound = sig.bind(self, *args, **kwargs)
            except TypeError:  # pragma: no cover - init accepted what the signature does not describe
                return
            arguments = dict(bound.arguments)
            arguments.pop(next(iter(sig.parameters)), None)  # self
            object.__setattr__(self, "_torchaug_init_args", arguments)

    __init__.__torchaug_records__ = cls  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]


def registered(kind: str | None = None) -> list[Entry]:
    """Registered entries (of one ``kind`` if given), sorted by name.

    Importing this function does not import the augmenter packages; call
    :func:`load_all` first to populate the registry.
    """
    return sorted((e for e in _REGISTRY.values() if kind is None or e.kind == kind), key=lambda e: e.name)


def get(name: str) -> Entry:
    if name not in _REGISTRY:
        raise KeyError(f"no augmenter named {name!r}; registered: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


PUBLIC_PACKAGES = (
    "torchaug.transforms",
    "torchaug.mixing",
    "torchaug.resampling",
    "torchaug.hooks",
    "torchaug.selection",
)

# Modules outside the augmenter packages that register an augmenter (loaded by load_all, so the
# contract suite and the bad-input sweep cover them; their other classes are not augmenters).
EXTRA_MODULES = ("torchaug.corruptions",)


def load_all() -> None:
    """Import every augmenter package so that all classes are registered."""
    import importlib

    for pkg in PUBLIC_PACKAGES + EXTRA_MODULES:
        try:
            importlib.import_module(pkg)
        except ModuleNotFoundError as err:  # a package not written yet
            if err.name != pkg:
                raise
