"""Save and load augmentation pipelines as Hydra configs (``_target_`` form).

``to_config(pipeline)`` gives the dict (``to_yaml`` the YAML text) that :func:`from_config`, Hydra's
``instantiate`` and the training configs (``configs/transforms/<name>.yaml``, ``transforms=<name>``) load
back into an equal pipeline::

    from torchaug.transforms import Compose, RandomCrop, RandomHorizontalFlip
    from torchaug.config_io import to_yaml, from_config
    pipe = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip()])
    Path("configs/transforms/mine.yaml").write_text(to_yaml(pipe))   # then: torchaug train transforms=mine
    same = from_config("configs/transforms/mine.yaml")

Every registered augmenter (``torchaug.registry``) records the arguments it was built with; only the
arguments that differ from the defaults are written. Nested augmenters (``Compose``, ``RandomApply``,
...) are written recursively. Feature hooks need the model they attach to: their config is a
``_partial_`` without it (as in ``configs/hooks/``), and ``from_config(cfg)(model)`` attaches one.
Values without a config form (a model object, a large tensor, a function) raise ``TypeError``
naming the argument: pass a path (e.g. ``StyleAugment(model="adain.ckpt")``) to save such a pipeline.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["from_config", "to_config", "to_yaml"]

#: tensors up to this many elements are written as (nested) lists
MAX_TENSOR_ELEMENTS = 64
_PUBLIC = ("torchaug.transforms", "torchaug.mixing", "torchaug.resampling", "torchaug.hooks",
           "torchaug.selection", "torchaug.generative")


def _target(cls: type) -> str:
    """The shortest public import path of ``cls`` (``torchaug.transforms.RandomCrop``)."""
    for pkg in _PUBLIC:
        if cls.__module__.startswith(pkg + ".") or cls.__module__ == pkg:
            try:
                if getattr(importlib.import_module(pkg), cls.__name__, None) is cls:
                    return f"{pkg}.{cls.__name__}"
            except ImportError:  # pragma: no cover
                pass
    return f"{cls.__module__}.{cls.__qualname__}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return False
    try:
        return bool(type(a) is type(b) and a == b)
    except Exception:  # noqa: BLE001 - values without a plain equality
        return False


def _value(v: Any, where: str) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, torch.dtype):
        raise TypeError(f"to_config: {where} is a torch.dtype ({v}); it has no config form")
    if isinstance(v, torch.Tensor):
        if v.numel() > MAX_TENSOR_ELEMENTS:
            raise TypeError(f"to_config: {where} holds a tensor of shape {tuple(v.shape)}; save it to a file "
                            "and pass its path (or a source the constructor reads) to save this pipeline")
        return v.detach().cpu().tolist()
    if isinstance(v, Mapping):
        return {str(k): _value(x, f"{where}[{k!r}]") for k, x in v.items()}
    if isinstance(v, (Sequence, torch.nn.ModuleList)):  # lists, tuples, Hydra ListConfigs
        return [_value(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if hasattr(v, "_torchaug_init_args"):
        return _node(v, where)
    if _is_sklearn_estimator(v):  # scikit-learn's own constructor record: its get_params
        cls = type(v)
        defaults = cls().get_params(deep=False)
        return {"_target_": f"{cls.__module__.split('._')[0]}.{cls.__name__}" if _importable(cls) else _target(cls),
                **{k: _value(x, f"{where}.{k}") for k, x in v.get_params(deep=False).items() if not _same(x, defaults.get(k))}}
    raise TypeError(f"to_config: {where} holds a {type(v).__qualname__} object, which has no config form "
                    "(only registered augmenters, numbers, strings, lists, dicts and small tensors have one); "
                    "build it from a path (e.g. a checkpoint file) to save this pipeline")


def _is_sklearn_estimator(v: Any) -> bool:
    try:
        from sklearn.base import BaseEstimator
    except ImportError:  # pragma: no cover
        return False
    return isinstance(v, BaseEstimator) and not hasattr(v, "_torchaug_init_args")


def _importable(cls: type) -> bool:
    """Whether ``cls`` is importable from its package's public module (``sklearn.cluster.KMeans``)."""
    mod = cls.__module__.split("._")[0]
    try:
        return getattr(importlib.import_module(mod), cls.__name__, None) is cls
    except ImportError:
        return False


def _node(obj: Any, where: str) -> dict[str, Any]:
    cls = type(obj)
    args = obj.__dict__.get("_torchaug_init_args")
    if args is None:
        raise TypeError(f"to_config: {where} is a {cls.__qualname__}, which does not record its arguments (only "
                        "augmenters registered with torchaug.registry.register do)")
    from torchaug.registry import _REGISTRY

    entry = _REGISTRY.get(cls.__name__)
    params = inspect.signature(cls.__init__).parameters
    out: dict[str, Any] = {"_target_": _target(cls)}
    hook = entry is not None and entry.kind == "hook"
    if hook:
        out["_partial_"] = True
    positional: list[Any] = []
    for name, value in args.items():
        p = params.get(name)
        if hook and name == "model":
            continue
        if p is not None and p.kind is p.VAR_POSITIONAL:
            positional = [_value(x, f"{cls.__name__}({name}[{i}])") for i, x in enumerate(value)]
            continue
        if p is not None and p.kind is p.VAR_KEYWORD:
            out.update({k: _value(x, f"{cls.__name__}.{k}") for k, x in value.items()})
            continue
        if p is not None and p.default is not p.empty and _same(value, p.default):
            continue
        if p is not None and p.kind is p.POSITIONAL_ONLY:
            positional.append(_value(value, f"{cls.__name__}.{name}"))
            continue
        out[name] = _value(value, f"{cls.__name__}.{name}")
    if positional:
        out["_args_"] = positional
    return out


def to_config(obj: Any) -> dict[str, Any]:
    """The Hydra config (``{"_target_": ..., arg: value}``, nested for containers) of a registered augmenter."""
    return _node(obj, type(obj).__name__)


def to_yaml(obj: Any) -> str:
    """:func:`to_config` as YAML text (for ``configs/<group>/<name>.yaml``)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(to_config(obj)))


def from_config(cfg: Any, **kwargs: Any) -> Any:
    """Build an augmenter from :func:`to_config`'s dict, a ``DictConfig``, YAML text or a ``.yaml`` path.

    ``kwargs`` override or add arguments of the top-level node. A hook's config gives a partial:
    call it with the model.
    """
    from hydra.utils import instantiate
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, (str, os.PathLike)):
        text = str(cfg)
        if isinstance(cfg, os.PathLike) or (text.endswith((".yaml", ".yml")) and "\n" not in text):
            cfg = OmegaConf.load(text)
        else:
            cfg = OmegaConf.create(text)
    elif isinstance(cfg, Mapping) and not isinstance(cfg, DictConfig):
        cfg = OmegaConf.create(dict(cfg))
    if not isinstance(cfg, DictConfig) or "_target_" not in cfg:
        raise ValueError(f"from_config: cfg must be a config with a _target_ (a dict, YAML text or a .yaml path); "
                         f"got {type(cfg).__name__}")
    return instantiate(cfg, _convert_="all", **kwargs)
