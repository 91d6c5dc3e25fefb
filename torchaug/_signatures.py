"""Check config nodes against the signature of their ``_target_``: names (with the nearest valid name
for a misspelling) and, where the annotation says, scalar types. Used by the run builder and by the
command line (``trainer.NAME=value`` for any argument of the installed ``lightning.Trainer``)."""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from torchaug.errors import ConfigError

_SKIP = frozenset({"self", "cls"})


def locate(target: str) -> Any:
    """The object a ``_target_`` string names (None when it cannot be imported)."""
    from hydra._internal.utils import _locate

    try:
        return _locate(target)
    except Exception:  # noqa: BLE001 - an unimportable target is reported by instantiate itself
        return None


def _init_of(obj: Any) -> Any:
    return obj.__init__ if inspect.isclass(obj) else obj


def accepted(obj: Any) -> tuple[dict[str, inspect.Parameter], bool]:
    """``({name: Parameter}, open)`` of what ``obj`` (a class or a function) accepts as keywords.

    A class whose ``__init__`` takes ``**kwargs`` is followed up its base classes (the usual
    ``super().__init__(**kwargs)``); ``open`` is True when no finite list of names could be found.
    """
    chain = list(obj.__mro__) if inspect.isclass(obj) else [obj]
    params: dict[str, inspect.Parameter] = {}
    for item in chain:
        if inspect.isclass(item) and "__init__" not in vars(item):
            continue
        try:
            sig = inspect.signature(_init_of(item))
        except (TypeError, ValueError):
            return params, True
        var_kw = None
        for name, p in sig.parameters.items():
            if p.kind is p.VAR_KEYWORD:
                var_kw = name
            elif p.kind is not p.VAR_POSITIONAL and name not in _SKIP:
                params.setdefault(name, p)
        if var_kw is None:
            return params, False
        if not (inspect.isclass(item) and _forwards_to_super(_init_of(item), var_kw)):
            return params, True  # **kwargs go elsewhere (e.g. to another class): no finite list
    return params, True


def _forwards_to_super(fn: Any, var_kw: str) -> bool:
    """Whether ``fn``'s source passes ``**var_kw`` on to ``super().__init__``."""
    import re

    try:
        src = inspect.getsource(inspect.unwrap(fn))
    except (OSError, TypeError):
        return False
    return re.search(r"super\(\)\.__init__\([^)]*\*\*" + re.escape(var_kw) + r"\b", src) is not None


def _hints(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in (obj.__mro__ if inspect.isclass(obj) else (obj,)):
        fn = _init_of(item) if (not inspect.isclass(item) or "__init__" in vars(item)) else None
        if fn is None:
            continue
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # noqa: BLE001 - unresolvable forward references: no type check
            hints = {}
        for k, v in hints.items():
            out.setdefault(k, v)
    return out


def matches(value: Any, ann: Any) -> bool:
    """Whether a config value (a YAML scalar, list or dict) fits annotation ``ann``; unknown kinds fit."""
    if ann is Any or ann is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(ann)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return any(matches(value, a) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return value in typing.get_args(ann)
    if ann is type(None):
        return value is None
    if ann is bool:
        return isinstance(value, bool)
    if ann is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if ann is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ann is str:
        return isinstance(value, str)
    base = origin or ann
    if inspect.isclass(base):
        if issubclass(base, (str, bytes)):
            return isinstance(value, str)
        if issubclass(base, Mapping):
            return isinstance(value, (dict, DictConfig))
        if issubclass(base, Sequence) or base in (list, tuple, set, frozenset):
            return isinstance(value, (list, tuple, ListConfig))
        if base in (int, float, bool):  # subclasses such as IntEnum
            return isinstance(value, base)
    # a class the YAML cannot hold as a scalar (an Accelerator, a timedelta, ...): a string or a nested
    # config may still stand for it, so only scalars of the wrong kind are refused
    return not isinstance(value, (bool, int, float)) or value is None


def _type_text(ann: Any) -> str:
    text = str(ann).replace("typing.", "")
    return getattr(ann, "__name__", text) if not typing.get_args(ann) else text


def nearest(name: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=3, cutoff=0.6)
    return f"did you mean {' or '.join(close)}?" if close else ""


def check_node(node: Any, key: str, *, extra: Sequence[str] = ()) -> None:
    """Raise :class:`ConfigError` for a key of ``node`` its ``_target_`` does not accept, or a scalar of the
    wrong type. ``extra``: names the builder passes itself (not settable here). No-op without ``_target_``."""
    if not isinstance(node, DictConfig) or "_target_" not in node:
        return
    target = locate(str(node._target_))
    if target is None:
        return
    params, open_ = accepted(target)
    hints = _hints(target)
    name_of = getattr(target, "__qualname__", str(node._target_))
    for k in node.keys():
        k = str(k)
        if k.startswith("_") and k.endswith("_"):
            continue
        if k in extra:
            raise ConfigError(f"{key}.{k}", f"is set by torchaug itself and cannot be given here.",
                              _EXTRA_FIX.get(f"{key}.{k}", f"remove {key}.{k}"))
        if k not in params:
            if open_:
                continue
            hint = nearest(k, sorted(params))
            raise ConfigError(f"{key}.{k}", f"{name_of} has no argument {k!r}{'; ' + hint if hint else '.'}",
                              f"valid names: {', '.join(sorted(params))}")
        if OmegaConf.is_missing(node, k):
            continue
        try:
            value = node[k]
        except Exception:  # noqa: BLE001 - an interpolation resolved later (e.g. ${stage:...})
            continue
        if isinstance(value, DictConfig) and "_target_" in value:
            continue
        ann = hints.get(k, params[k].annotation)
        if isinstance(ann, str):
            continue
        try:
            plain = OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value
        except Exception:  # noqa: BLE001 - an interpolation inside resolved later
            continue
        if not matches(plain, ann):
            raise ConfigError(f"{key}.{k}", f"{name_of} takes {k} as {_type_text(ann)}; got {value!r} "
                              f"({type(plain).__name__}).", f"pass {key}.{k}=<{_type_text(ann)}>")


_EXTRA_FIX = {
    "trainer.logger": "choose the logger with logger=csv|tensorboard|wandb|none",
    "trainer.callbacks": "add callbacks with +callbacks.NAME={_target_: ...}",
    "trainer.default_root_dir": "set the run folder with hydra.run.dir=<folder> (or output_dir=<folder>)",
}


def settable(target: str) -> list[str]:
    """Names a config node with this ``_target_`` may set (``[]`` when unknown)."""
    obj = locate(target)
    return sorted(accepted(obj)[0]) if obj is not None else []
