"""Containers: ``Compose``, ``RandomApply``, ``RandomChoice``, ``RandomOrder`` (torchvision names).

They take the same inputs as every transform (image batches, target dicts, tv_tensors), pass
``generator=`` on to their children, and return/replay the parameters of the whole tree with
``return_params=True`` / ``params=``. ``RandomApply`` and ``RandomChoice`` decide **per
sample**: the batch is split into groups (one per choice), each child runs once on its group,
and the results are put back in place: the loop runs over choices, never over samples. (On a
GPU, forming the groups reads their sizes on the host: one small sync per choice.)

Children may be any callables: torchaug transforms and containers get the whole batch with
its targets; other callables (e.g. a torchvision transform) get the image tensor alone.
``Compose`` lets a transform write into an intermediate image batch that only the pipeline holds
(``RandomTransform.transform_into``), never into its input or anything a plain callable returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from torchaug._validation import check_bool, check_generator, check_images, check_probability, describe
from torchaug._threads import cpu_threads
from torchaug.functional.ragged import is_image_list
from torchaug.registry import register
from torchaug.transforms import targets as _t
from torchaug.transforms._base import RandomTransform, restrict_to_region
from torchaug.transforms.geometry import RandomCrop, RandomHorizontalFlip

__all__ = ["Compose", "RandomApply", "RandomChoice", "RandomOrder"]

_BATCHED = (_t.IMAGE, _t.MASK, _t.BOXES, _t.VALID, _t.POINTS)


class _Lambda(nn.Module):
    """Wraps a plain callable (applied to the image tensor only)."""

    __torchaug_public__ = False

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return repr(self.fn)


def _as_list(transforms: Any, owner: str) -> list[nn.Module]:
    if transforms is None:
        return []
    if isinstance(transforms, Mapping):  # a Hydra DictConfig of named transforms
        transforms = list(transforms.values())
    elif callable(transforms) and not isinstance(transforms, Iterable):
        transforms = [transforms]
    if not isinstance(transforms, Iterable) or isinstance(transforms, (str, bytes, torch.Tensor)):
        raise TypeError(f"{owner}: transforms must be a list of transforms (or None); got {describe(transforms)}")
    out: list[nn.Module] = []
    for i, t in enumerate(transforms):
        if t is None:
            continue
        if not callable(t):
            raise TypeError(f"{owner}: transforms[{i}] must be callable; got {describe(t)}")
        out.append(t if isinstance(t, nn.Module) else _Lambda(t))
    return out


def _check_replayed(params: Any, keys: tuple[str, str], owner: str, size: int) -> None:
    """Replayed container ``params``: the dict ``return_params=True`` gave, ``params[keys[0]]`` of ``(size,)``."""
    if not isinstance(params, dict):
        raise TypeError(f"{owner}: params must be the dict returned by return_params=True; got {describe(params)}")
    if set(params) != set(keys):
        raise ValueError(f"{owner}: params must hold the keys {list(keys)}; got {sorted(params)}")
    first = params[keys[0]]
    if not isinstance(first, torch.Tensor) or tuple(first.shape) != (size,):
        raise ValueError(f"{owner}: params[{keys[0]!r}] must be a tensor of shape ({size},); got {describe(first)}")


def _shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _subset(batch: dict[str, Any], idx: torch.Tensor) -> dict[str, Any]:
    sub = dict(batch)
    for k in _BATCHED:
        if k in batch:
            sub[k] = batch[k].index_select(0, idx)
    return sub


def _assemble(batch: dict[str, Any], parts: list[tuple[torch.Tensor, dict[str, Any]]], owner: str) -> dict[str, Any]:
    """Put group results ``(idx, sub_batch)`` back in sample order."""
    out = dict(batch)
    b = batch[_t.IMAGE].shape[0]
    for k in _BATCHED:
        if k not in batch:
            continue
        ref = parts[0][1][k]
        for idx, sub in parts:
            if sub[k].shape[1:] != ref.shape[1:]:
                raise ValueError(
                    f"{owner}: every choice must give outputs of one shape to be put back in one batch; "
                    f"got {k} of shapes {tuple(ref.shape[1:])} and {tuple(sub[k].shape[1:])}"
                )
        full = ref.new_empty((b, *ref.shape[1:]))
        src = batch[k]  # the input's memory format (a group's index_select may have lost channels_last)
        if ref.ndim == 4 and src.ndim == 4 and src.is_contiguous(memory_format=torch.channels_last) and not src.is_contiguous():
            full = full.contiguous(memory_format=torch.channels_last)
        for idx, sub in parts:
            full.index_copy_(0, idx, sub[k])
        out[k] = full
    return out


class _Container(nn.Module):
    """Shared driver of the containers (one level of base class)."""

    __torchaug_public__ = False

    def __init__(self, transforms: Any) -> None:
        super().__init__()
        self.transforms = nn.ModuleList(_as_list(transforms, type(self).__name__))

    def forward(
        self,
        *inputs: Any,
        generator: torch.Generator | None = None,
        params: Any = None,
        return_params: bool = False,
        region: torch.Tensor | None = None,
    ) -> Any:
        """Same calling convention as :class:`~torchaug.transforms.RandomTransform`."""
        owner = type(self).__name__
        if len(inputs) == 1 and is_image_list(inputs[0]):  # ragged batch: list of (C, H, W) -> one batch
            from torchaug.transforms.ragged import compose_ragged

            return compose_ragged(self, inputs[0], generator=generator, params=params, return_params=return_params)
        if len(inputs) == 1 and _t.is_plain_image(inputs[0]):
            x = inputs[0]
            x4, single = check_images(x, owner=owner)
            check_generator(generator, x4.device, owner=owner)
            batch = {_t.IMAGE: x4.as_subclass(torch.Tensor) if type(x4) is not torch.Tensor else x4}
            batch, params = self._run(batch, generator, params, region=region, single=single)
            out = batch[_t.IMAGE]
            out = out[0] if single else out
            if type(x) is not torch.Tensor:
                out = _t._tv().wrap(out, like=x)
            return (out, params) if return_params else out
        return _t.run_with_targets(self, inputs, owner=owner, generator=generator, params=params, region=region,
                                   return_params=return_params)

    def _run(self, batch, generator, params=None, *, region=None, single=False):  # pragma: no cover
        raise TypeError(f"{type(self).__name__} does not define _run()")

    @staticmethod
    def _child(
        t: nn.Module, batch: dict[str, Any], generator, params, single: bool, overwrite: bool = False
    ) -> tuple[dict[str, Any], Any]:
        if isinstance(t, RandomTransform):
            return t._run(batch, generator, params, single=single, overwrite=overwrite)
        if isinstance(t, _Container):
            return t._run(batch, generator, params, single=single)
        x = batch[_t.IMAGE]
        out = t(x)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"{type(t).__name__} (inside a container) must return a tensor; got {describe(out)}")
        new = dict(batch)
        new[_t.IMAGE] = out
        return new, None

    @staticmethod
    def _restrict(owner: str, out: dict, original: dict, region: Any, single: bool) -> dict:
        x, y = original[_t.IMAGE], out[_t.IMAGE]
        if y.shape != x.shape:
            raise ValueError(f"{owner}: region needs a pipeline that keeps the image size; got {tuple(x.shape)} -> {tuple(y.shape)}")
        new = dict(out)
        new[_t.IMAGE] = restrict_to_region(y, x, region, single=single, owner=owner)
        return new


@register("transform", example=lambda: Compose([RandomCrop(12, padding=2), RandomHorizontalFlip()]))
class Compose(_Container):
    """Apply transforms in sequence (torchvision ``Compose``).

    ``transforms`` is a list (a Hydra ``ListConfig`` works, as does a mapping of named
    transforms); ``None`` or an empty list is the identity. ``generator`` is passed to every
    child. Params: a list with each child's params.
    """

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        owner = type(self).__name__
        if params is not None and (not isinstance(params, (list, tuple)) or len(params) != len(self.transforms)):
            raise ValueError(f"{owner}: params must be the list returned by return_params=True ({len(self.transforms)} entries)")
        original = batch
        drawn = []
        owned = False  # whether the current image batch is an intermediate only this loop refers to
        for i, t in enumerate(self.transforms):
            batch, p = self._child(t, batch, generator, None if params is None else params[i], single, owned)
            drawn.append(p)
            owned = isinstance(t, (RandomTransform, _Container)) and not _shares_memory(
                batch[_t.IMAGE], original[_t.IMAGE]
            )
        if region is not None:
            batch = self._restrict(owner, batch, original, region, single)
        return batch, drawn


@register("transform", example=lambda: RandomApply([RandomHorizontalFlip(p=1.0)], p=0.5))
class RandomApply(_Container):
    """Apply the list of ``transforms`` (in order) to each sample with probability ``p``.

    Per sample (torchvision draws once per call): the selected samples run through the list as
    one group, the others are left as they are; so the transforms must keep the image size.
    Params: ``{"apply": (B,) bool, "params": [...]}`` (the children's params for the group).
    """

    def __init__(self, transforms: Any, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(transforms)
        self.p = check_probability(p, owner=type(self).__name__, name="p")
        self.same_on_batch = check_bool(same_on_batch, owner=type(self).__name__, name="same_on_batch")

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        owner = type(self).__name__
        x = batch[_t.IMAGE]
        b = x.shape[0]
        if params is None:
            n = 1 if self.same_on_batch else b
            with cpu_threads(x.device, 1):
                apply = (torch.rand(n, generator=generator, device=x.device) < self.p).expand(b)
            sub_params = None
        else:
            _check_replayed(params, ("apply", "params"), owner, b)
            apply, sub_params = params["apply"].to(x.device), params.get("params")
        with cpu_threads(x.device, 1):
            idx_on = apply.nonzero().squeeze(1)
            idx_off = (~apply).nonzero().squeeze(1)
        drawn = None
        if idx_on.numel() == 0:
            out = batch
        else:
            on = batch if idx_off.numel() == 0 else _subset(batch, idx_on)
            original = on
            drawn = []
            for i, t in enumerate(self.transforms):
                on, p = self._child(t, on, generator, None if sub_params is None else sub_params[i], single)
                drawn.append(p)
            if on[_t.IMAGE].shape[1:] != original[_t.IMAGE].shape[1:]:
                raise ValueError(
                    f"{owner}: the transforms must keep the image size (samples not selected stay as they are); "
                    f"got {tuple(original[_t.IMAGE].shape[1:])} -> {tuple(on[_t.IMAGE].shape[1:])}"
                )
            out = on if idx_off.numel() == 0 else _assemble(batch, [(idx_on, on), (idx_off, _subset(batch, idx_off))], owner)
        if region is not None:
            out = self._restrict(owner, out, batch, region, single)
        return out, {"apply": apply, "params": drawn}

    def extra_repr(self) -> str:
        return f"p={self.p}"


@register("transform", example=lambda: RandomChoice([RandomHorizontalFlip(p=1.0), RandomCrop(16, padding=2)]))
class RandomChoice(_Container):
    """Apply one of ``transforms`` to each sample, chosen per sample with probabilities ``p``
    (default uniform; torchvision ``RandomChoice``, which chooses once per call).

    Samples are grouped by their choice; each transform runs once on its group. All choices
    must give outputs of one size. Params: ``{"choice": (B,) int64, "params": [...]}``.
    """

    def __init__(self, transforms: Any, p: list[float] | None = None, *, same_on_batch: bool = False) -> None:
        super().__init__(transforms)
        owner = type(self).__name__
        n = len(self.transforms)
        if n == 0:
            raise ValueError(f"{owner}: transforms must hold at least one transform; got none")
        if p is None:
            p = [1.0] * n
        if isinstance(p, (str, bytes)) or not isinstance(p, Iterable):
            raise TypeError(f"{owner}: p must be None or a list of {n} weights; got {describe(p)}")
        p = list(p)
        if len(p) != n or any(not isinstance(v, (int, float)) or v < 0 for v in p) or sum(p) <= 0:
            raise ValueError(f"{owner}: p must hold {n} non-negative weights with a positive sum; got {p!r}")
        total = float(sum(p))
        self.p = [float(v) / total for v in p]
        self.same_on_batch = check_bool(same_on_batch, owner=owner, name="same_on_batch")

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        owner = type(self).__name__
        x = batch[_t.IMAGE]
        b = x.shape[0]
        if params is None:
            n = 1 if self.same_on_batch else b
            with cpu_threads(x.device, 1):
                cdf = torch.tensor(self.p, device=x.device, dtype=torch.float32).cumsum(0)
                u = torch.rand(n, generator=generator, device=x.device)
                choice = torch.searchsorted(cdf, u, right=True).clamp_max(len(self.p) - 1).expand(b)
            sub_params: list | None = None
        else:
            _check_replayed(params, ("choice", "params"), owner, b)
            choice, sub_params = params["choice"].to(x.device), params.get("params")
        parts = []
        drawn: list[Any] = []
        for k, t in enumerate(self.transforms):
            idx = (choice == k).nonzero().squeeze(1)
            if idx.numel() == 0:
                drawn.append(None)
                continue
            sub = batch if idx.numel() == b else _subset(batch, idx)
            sub, p = self._child(t, sub, generator, None if sub_params is None else sub_params[k], single)
            parts.append((idx, sub))
            drawn.append(p)
        out = parts[0][1] if len(parts) == 1 else _assemble(batch, parts, owner)
        if region is not None:
            out = self._restrict(owner, out, batch, region, single)
        return out, {"choice": choice, "params": drawn}

    def extra_repr(self) -> str:
        return f"p={[round(v, 4) for v in self.p]}"


@register("transform", example=lambda: RandomOrder([RandomHorizontalFlip(), RandomCrop(16, padding=2)]))
class RandomOrder(_Container):
    """Apply all ``transforms`` in a random order (torchvision ``RandomOrder``): one order per
    call, drawn from ``generator`` (each transform still draws per-sample parameters).
    Params: ``{"order": (n,) int64, "params": [...]}`` (params listed in the order applied)."""

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        x = batch[_t.IMAGE]
        n = len(self.transforms)
        if params is None:
            gdev = generator.device if generator is not None else x.device
            order = torch.randperm(n, generator=generator, device=gdev)
            sub_params: list | None = None
        else:
            _check_replayed(params, ("order", "params"), type(self).__name__, n)
            order, sub_params = params["order"], params.get("params")
        original = batch
        drawn = []
        for j, k in enumerate(order.tolist()):
            batch, p = self._child(self.transforms[k], batch, generator, None if sub_params is None else sub_params[j], single)
            drawn.append(p)
        if region is not None:
            batch = self._restrict(type(self).__name__, batch, original, region, single)
        return batch, {"order": order, "params": drawn}
