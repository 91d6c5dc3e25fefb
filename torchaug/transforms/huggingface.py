"""Hugging Face ``datasets`` glue: a torchaug pipeline as ``Dataset.with_transform``'s function.

``datasets`` is an optional dependency: nothing here imports it. ``Dataset.with_transform(fn)``
(and ``set_transform``) call ``fn`` on a dict of columns, each a list of ``n`` values (a batch of
rows, decoded: an ``Image()`` feature gives PIL images); the helper runs the pipeline over the
image column and returns the batch with the column replaced::

    from datasets import Dataset
    from torchaug.transforms import Compose, RandomCrop, RandomHorizontalFlip
    from torchaug.transforms.huggingface import hf_transform

    ds = ds.with_transform(hf_transform(Compose([RandomCrop(32, padding=4), RandomHorizontalFlip()])))
    ds[0:8]["image"]  # 8 uint8 (3, 32, 32) tensors, each with its own crop and flip

Rows of one size run as one batch (per-sample parameters, one call); rows of different sizes run
one by one (same generator, so a seeded run is still reproducible).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from torchaug._validation import describe
from torchaug.transforms import targets as _t

__all__ = ["hf_transform"]


def _to_tensor(v: Any, owner: str) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v.as_subclass(torch.Tensor) if type(v) is not torch.Tensor else v
    pil = _t._pil()
    if pil is not None and isinstance(v, pil):
        return _t._pil_to_tensor(v if v.mode in ("L", "RGB", "RGBA") else v.convert("RGB"), owner)
    if _t._is_numpy(v) and _t._numpy_image(v):
        return _t._numpy_to_tensor(v)
    raise TypeError(f"{owner}: the image column must hold PIL images, numpy HWC arrays or (C, H, W) tensors; got {describe(v)}")


def hf_transform(
    pipeline: Callable[..., Any],
    *,
    image_column: str = "image",
    output_column: str | None = None,
    generator: torch.Generator | None = None,
    output: str = "tensor",
) -> Callable[[dict[str, list[Any]]], dict[str, list[Any]]]:
    """A function for ``datasets.Dataset.with_transform`` that applies ``pipeline`` to a column.

    ``pipeline``: any torchaug transform or container (or a callable taking ``(B, C, H, W)``).
    ``image_column``: the column to transform; ``output_column``: where to put the result (default:
    replace ``image_column``). ``output="tensor"`` gives ``(C, H, W)`` tensors (what a ``DataLoader``
    collates), ``"same"`` the input's form (PIL images stay PIL). Other columns pass through.
    """
    owner = "hf_transform"
    if not callable(pipeline):
        raise TypeError(f"{owner}: pipeline must be callable (a torchaug transform); got {describe(pipeline)}")
    if not isinstance(image_column, str):
        raise TypeError(f"{owner}: image_column must be a column name; got {describe(image_column)}")
    if output not in ("tensor", "same"):
        raise ValueError(f"{owner}: output must be 'tensor' or 'same'; got {output!r}")
    out_col = image_column if output_column is None else output_column

    takes_generator = _accepts_generator(pipeline)
    if generator is not None and not takes_generator:
        raise TypeError(f"{owner}: generator was given but {type(pipeline).__name__} takes no generator= argument")

    def call(x: torch.Tensor) -> torch.Tensor:
        return pipeline(x, generator=generator) if takes_generator else pipeline(x)

    def fn(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if image_column not in batch:
            raise ValueError(f"{owner}: the batch has no column {image_column!r}; columns: {sorted(batch)}")
        values = batch[image_column]
        if not isinstance(values, (list, tuple)):
            values = [values]
        ts = [_to_tensor(v, owner) for v in values]
        if ts and len({(tuple(t.shape), t.dtype) for t in ts}) == 1:
            outs = list(call(torch.stack(ts)).unbind(0))
        else:
            outs = [call(t) for t in ts]
        if output == "same":
            outs = [_same_form(o, v) for o, v in zip(outs, values)]
        new = dict(batch)
        new[out_col] = outs
        return new

    return fn


def _accepts_generator(fn: Any) -> bool:
    import inspect

    target = fn.forward if hasattr(fn, "forward") else fn
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return "generator" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _same_form(t: torch.Tensor, like: Any) -> Any:
    pil = _t._pil()
    if pil is not None and isinstance(like, pil):
        return _t._tensor_to_pil(t, like)
    if _t._is_numpy(like):
        return _t._tensor_to_numpy(t, like)
    return t
