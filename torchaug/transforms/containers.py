"""Containers: ``Compose``, ``RandomApply``, ``RandomChoice``, ``RandomOrder`` (torchvision names).

They take the same inputs as every transform (image batches, any nested sample structure with
tv_tensors, PIL, numpy; see :mod:`torchaug.transforms.targets`), pass ``generator=`` on to
their children, and return/replay the parameters of the whole tree with ``return_params=True``
/ ``params=``. ``RandomApply`` and ``RandomChoice`` decide **per sample** (a video clip is one
sample), and keep that selection on the data's device:

(``SomeOf`` and ``OneOrOther`` too.)

- on CPU the batch is split into groups (one per choice, ``index_select``), each child runs once
  on its group and the results are put back in place: the loop runs over choices, never over
  samples (the group indices are read on the host, which costs nothing there);
- on every other device (and on CPU inside ``torchaug.accelerator_path()``, how the tests run
  that path) each child runs on the whole batch and the results are selected per sample with
  ``torch.where``: no value is read back from the device. The children's parameters are then
  drawn for the whole batch (on CPU: for their group).

``RandomOrder`` draws its order on the host (torch's CPU generator, a CPU ``generator=``, or one
seeded from a device generator's host-side state), so no device value is read; only replayed
``params`` held on a device are read back, once per call: the modules to run are chosen in Python.

Children may be any callables. torchaug transforms and containers get the whole sample; a
**torchvision v2 transform** gets it too, as tv_tensors (``Image``/``Video``, ``Mask``,
``BoundingBoxes``, ``KeyPoints``; one parameter set for the whole batch, torchvision's rule);
a callable that declares ``geometric = False`` (``Normalize``) gets each image tensor alone and
the targets pass through; any other callable gets the image tensor alone, so a sample with
targets or several images raises a ``TypeError`` naming it before any child runs. ``Compose`` tells a torchaug
child when the image batch it gets is an intermediate that only the pipeline holds (``owned``), so that the child's
base class may write its result there (see ``RandomTransform._apply_transform``); never its input or anything a plain callable
returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from torchaug._cpu.select import copy_rows_
from torchaug._devpath import cpu_path
from torchaug._validation import check_bool, check_generator, check_images, check_probability, describe
from torchaug._cpu.threads import cpu_threads
from torchaug.functional._workspace import constant
from torchaug.functional.ragged import is_image_list
from torchaug.registry import register
from torchaug.transforms import targets as _t
from torchaug.transforms._base import RandomTransform, restrict_to_region
from torchaug.transforms.geometry import RandomCrop, RandomHorizontalFlip, RandomVerticalFlip

__all__ = ["Compose", "RandomApply", "RandomChoice", "RandomOrder", "SomeOf", "OneOrOther", "Identity"]



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
    if set(params) - {"gathered"} != set(keys):
        raise ValueError(f"{owner}: params must hold the keys {list(keys)}; got {sorted(params)}")
    first = params[keys[0]]
    if not isinstance(first, torch.Tensor) or tuple(first.shape) != (size,):
        raise ValueError(f"{owner}: params[{keys[0]!r}] must be a tensor of shape ({size},); got {describe(first)}")


def _shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _gathers(x: torch.Tensor, params: Any = None) -> bool:
    """Whether to gather the groups: on the CPU path (``torchaug._devpath.cpu_path``); a replay takes
    the path its ``params`` were drawn on (the children's parameters cover the group there, the whole
    batch on the masked path)."""
    if isinstance(params, dict) and isinstance(params.get("gathered"), bool):
        return params["gathered"]
    return cpu_path(x)


def _host_ints(t: torch.Tensor) -> list[int]:
    """The values of a small tensor as Python ints. A CPU tensor already lives on the host, so this
    is no device sync (it is read past the test suite's host-read guard); a device tensor is read
    back (one sync)."""
    if t.device.type == "cpu":
        with torch._C.DisableTorchFunction():
            return t.tolist()
    return t.tolist()


def _host_order(n: int, generator: torch.Generator | None) -> torch.Tensor:
    """A random permutation of ``range(n)`` drawn on the host, never read back from a device.

    ``generator=None``: torch's CPU generator; a CPU generator: itself; a device generator: a CPU
    generator seeded from its state (seed and offset, host-side numbers), and the device stream
    advanced by one draw, so the order follows the generator like any other draw and no device
    value is read."""
    if generator is None or generator.device.type == "cpu":
        return torch.randperm(n, generator=generator)
    import hashlib

    state = generator.get_state()  # a CPU tensor
    with torch._C.DisableTorchFunction():
        digest = hashlib.sha256(state.numpy().tobytes()).digest()
    host = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
    torch.empty(1, device=generator.device).uniform_(generator=generator)
    return torch.randperm(n, generator=host)


def _frame_rows(idx: torch.Tensor, frames: int) -> torch.Tensor:
    if frames == 1:
        return idx
    return (idx.unsqueeze(1) * frames + torch.arange(frames, device=idx.device)).reshape(-1)


def _subset(batch: dict[str, Any], idx: torch.Tensor) -> dict[str, Any]:
    """The samples ``idx`` (clip indices) of a canonical batch."""
    sub = dict(batch)
    frames = batch.get(_t.FRAMES, 1)
    sub[_t.IMAGE] = batch[_t.IMAGE].index_select(0, _frame_rows(idx, frames))
    if batch.get(_t.EXTRA):
        sub[_t.EXTRA] = [(e.index_select(0, _frame_rows(idx, te)), te) for e, te in batch[_t.EXTRA]]
    for k in _t.TARGETS:
        if batch.get(k):
            sub[k] = [v.index_select(0, idx) for v in batch[k]]
    return sub


def _keyed_tensors(batch: dict[str, Any]) -> list[tuple[tuple, torch.Tensor, int]]:
    """Every batched tensor of a canonical batch: ``(address, tensor, rows per sample)``."""
    out = [((_t.IMAGE,), batch[_t.IMAGE], batch.get(_t.FRAMES, 1))]
    out += [((_t.EXTRA, i), e, te) for i, (e, te) in enumerate(batch.get(_t.EXTRA) or [])]
    for k in _t.TARGETS:
        out += [((k, i), v, 1) for i, v in enumerate(batch.get(k) or [])]
    return out


def _rebuild(batch: dict[str, Any], values: dict[tuple, torch.Tensor]) -> dict[str, Any]:
    out = dict(batch)
    out[_t.IMAGE] = values[(_t.IMAGE,)]
    if batch.get(_t.EXTRA):
        out[_t.EXTRA] = [(values[(_t.EXTRA, i)], te) for i, (_, te) in enumerate(batch[_t.EXTRA])]
    for k in _t.TARGETS:
        if batch.get(k):
            out[k] = [values[(k, i)] for i in range(len(batch[k]))]
    return out


def _check_same_shapes(owner: str, results: list[dict[str, Any]]) -> None:
    ref = _keyed_tensors(results[0])
    for r in results[1:]:
        for (key, a, _), (_, b, _) in zip(ref, _keyed_tensors(r)):
            if a.shape[1:] != b.shape[1:]:
                raise ValueError(
                    f"{owner}: every choice must give outputs of one shape to be put back in one batch; "
                    f"got {key[0]} of shapes {tuple(a.shape[1:])} and {tuple(b.shape[1:])}"
                )


def _assemble(batch: dict[str, Any], parts: list[tuple[torch.Tensor, dict[str, Any]]], owner: str) -> dict[str, Any]:
    """Put group results ``(idx, sub_batch)`` back in sample order (CPU path)."""
    _check_same_shapes(owner, [sub for _, sub in parts])
    b = batch[_t.IMAGE].shape[0] // batch.get(_t.FRAMES, 1)
    values = {}
    src = {key: v for key, v, _ in _keyed_tensors(batch)}
    for j, (key, ref, rows) in enumerate(_keyed_tensors(parts[0][1])):
        full = ref.new_empty((b * rows, *ref.shape[1:]))
        s = src[key]  # the input's memory format (a group's index_select may have lost channels_last)
        if ref.ndim == 4 and s.ndim == 4 and s.is_contiguous(memory_format=torch.channels_last) and not s.is_contiguous():
            full = full.contiguous(memory_format=torch.channels_last)
        for idx, sub in parts:
            part = _keyed_tensors(sub)[j][1]
            copy_rows_(full, _frame_rows(idx, rows), part)
        values[key] = full
    return _rebuild(parts[0][1], values)


def _select(owner: str, choice: torch.Tensor, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Sample ``i`` from ``results[choice[i]]``, by ``torch.where`` on the device (no read-back)."""
    _check_same_shapes(owner, results)
    keyed = [_keyed_tensors(r) for r in results]
    values = {}
    for j, (key, ref, rows) in enumerate(keyed[0]):
        out = ref
        c = choice if rows == 1 else choice.repeat_interleave(rows)
        for k in range(1, len(results)):
            cand = keyed[k][j][1]
            keep = (c == k).view(-1, *([1] * (ref.ndim - 1)))
            out = torch.where(keep, cand, out)
        if (
            ref.ndim == 4
            and ref.is_contiguous(memory_format=torch.channels_last)
            and not ref.is_contiguous()
            and not out.is_contiguous(memory_format=torch.channels_last)
        ):
            out = out.contiguous(memory_format=torch.channels_last)
        values[key] = out
    return _rebuild(results[0], values)


def _pixel_only(t: Any) -> bool:
    """A non-torchaug-transform callable that declares ``geometric = False`` (e.g. ``Normalize``)."""
    fn = t.fn if isinstance(t, _Lambda) else t
    return not isinstance(fn, (RandomTransform, _Container)) and getattr(fn, "geometric", None) is False


def _is_tv_transform(t: Any) -> bool:
    try:
        from torchvision.transforms.v2 import Transform
    except ImportError:  # pragma: no cover
        return False
    return isinstance(t, Transform)


def _to_tv_sample(batch: dict[str, Any]) -> dict[str, Any]:
    """A canonical batch as one torchvision sample of tv_tensors (boxes/points flattened to ``(B*N, k)``)."""
    tv = _t._tv()
    x = batch[_t.IMAGE]
    h, w = x.shape[-2:]

    def img(t: torch.Tensor, frames: int) -> Any:
        if frames == 1:
            return tv.Image(t)
        return tv.Video(t.reshape(t.shape[0] // frames, frames, *t.shape[1:]))

    return {
        "images": [img(x, batch.get(_t.FRAMES, 1))] + [img(e, te) for e, te in batch.get(_t.EXTRA) or []],
        "masks": [tv.Mask(m) for m in batch.get(_t.MASK) or []],
        "boxes": [tv.BoundingBoxes(b.reshape(-1, 4), format="XYXY", canvas_size=(h, w)) for b in batch.get(_t.BOXES) or []],
        "points": [tv.KeyPoints(k.reshape(-1, 2), canvas_size=(h, w)) for k in batch.get(_t.POINTS) or []],
    }


def _from_tv_sample(batch: dict[str, Any], out: Any, owner: str, name: str) -> dict[str, Any]:
    from torchaug.functional.geometry import clip_boxes

    if not isinstance(out, dict) or set(out) != {"images", "masks", "boxes", "points"}:
        raise TypeError(f"{owner}: {name} must return the sample it was given; got {describe(out)}")
    new = dict(batch)
    ims = [o.as_subclass(torch.Tensor) for o in out["images"]]
    ims = [o.reshape(-1, *o.shape[-3:]) for o in ims]
    new[_t.IMAGE] = ims[0]
    if batch.get(_t.EXTRA):
        new[_t.EXTRA] = [(o, te) for o, (_, te) in zip(ims[1:], batch[_t.EXTRA])]
    size = tuple(ims[0].shape[-2:])
    if batch.get(_t.MASK):
        new[_t.MASK] = [o.as_subclass(torch.Tensor) for o in out["masks"]]
    if batch.get(_t.BOXES):
        boxes, valid = [], []
        for o, b, v in zip(out["boxes"], batch[_t.BOXES], batch[_t.VALID]):
            bo, ok = clip_boxes(o.as_subclass(torch.Tensor).reshape(b.shape).to(b.dtype), size)
            boxes.append(bo)
            valid.append(v & ok)
        new[_t.BOXES], new[_t.VALID] = boxes, valid
    if batch.get(_t.POINTS):
        new[_t.POINTS] = [o.as_subclass(torch.Tensor).reshape(k.shape).to(k.dtype) for o, k in zip(out["points"], batch[_t.POINTS])]
    return new


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
        per_frame: bool = False,
    ) -> Any:
        """Same calling convention as :class:`~torchaug.transforms.RandomTransform`."""
        owner = type(self).__name__
        if len(inputs) == 1 and is_image_list(inputs[0]):  # ragged batch: list of (C, H, W) -> one batch
            from torchaug.transforms.ragged import compose_ragged

            return compose_ragged(self, inputs[0], generator=generator, params=params, return_params=return_params)
        if len(inputs) == 1 and _t.is_plain_image(inputs[0]) and not per_frame:
            x = inputs[0]
            x4, single = check_images(x, owner=owner, allow_uint16=True)
            self._check_uint16(x4)
            check_generator(generator, x4.device, owner=owner)
            batch = _t.empty_batch(x4.as_subclass(torch.Tensor) if type(x4) is not torch.Tensor else x4)
            batch, params = self._run(batch, generator, params, region=region, single=single)
            out = batch[_t.IMAGE]
            out = out[0] if single else out
            if type(x) is not torch.Tensor:
                out = _t._tv().wrap(out, like=x)
            return (out, params) if return_params else out
        return _t.run_with_targets(self, inputs, owner=owner, generator=generator, params=params, region=region,
                                   return_params=return_params, per_frame=per_frame)

    def _run(self, batch, generator, params=None, *, region=None, single=False):  # pragma: no cover
        raise TypeError(f"{type(self).__name__} does not define _run()")

    #: the boundary lets uint16 through; :meth:`_check_uint16` then names the child that cannot take it
    supports_uint16 = True

    def _check_uint16(self, x: torch.Tensor) -> None:
        if x.dtype != torch.uint16:
            return
        for t in self.transforms:
            if isinstance(t, _Container):
                t._check_uint16(x)
            elif not getattr(t, "supports_uint16", True):
                raise TypeError(
                    f"{type(self).__name__}: {type(t).__name__} does not support uint16 images (its maths is defined "
                    f"here for uint8 in [0, 255] and floating images in [0, 1]); convert with x.float() / 65535"
                )

    @property
    def moves_pixels(self) -> bool:
        """Whether any child may move pixels (then unknown tv_tensors cannot follow)."""
        return any(getattr(t, "moves_pixels", True) for t in self.transforms)

    def _plain_callables(self) -> list[str]:
        """Children (at any depth) that see the image tensor alone."""
        out = []
        for t in self.transforms:
            if isinstance(t, _Container):
                out += t._plain_callables()
            elif _pixel_only(t):
                continue
            elif isinstance(t, _Lambda) and not _is_tv_transform(t.fn):
                out.append(repr(t.fn))
            elif not isinstance(t, (RandomTransform, _Lambda)) and not _is_tv_transform(t):
                out.append(type(t).__name__)
        return out

    def _check_sample(self, batch: dict[str, Any]) -> None:
        """Raise before any child runs when a child could not see the whole sample."""
        self._check_uint16(batch[_t.IMAGE])
        if not _t.has_targets(batch):
            return
        plain = self._plain_callables()
        if plain:
            raise TypeError(
                f"{type(self).__name__}: {plain[0]} sees the image tensor alone, but the sample also holds targets, "
                f"other images or video frames that it would leave behind; use a torchaug or torchvision v2 "
                f"transform (both get the whole sample), or apply it outside the container"
            )

    @staticmethod
    def _child(
        t: nn.Module, batch: dict[str, Any], generator, params, single: bool, owned: bool = False
    ) -> tuple[dict[str, Any], Any]:
        if isinstance(t, RandomTransform):
            return t._run(batch, generator, params, single=single, owned=owned)
        if isinstance(t, _Container):
            return t._run(batch, generator, params, single=single)
        fn = t.fn if isinstance(t, _Lambda) else t
        if _is_tv_transform(fn) and _t.has_targets(batch):
            return _from_tv_sample(batch, fn(_to_tv_sample(batch)), "container", type(fn).__name__), None
        if _pixel_only(fn) and _t.has_targets(batch):  # moves no pixel: every image through it, targets stay
            new = dict(batch)
            new[_t.IMAGE] = fn(batch[_t.IMAGE])
            new[_t.EXTRA] = [(fn(e), te) for e, te in batch.get(_t.EXTRA) or []]
            return new, None
        if _t.has_targets(batch):  # a nested container reached without the check (called directly)
            raise TypeError(f"{type(fn).__name__} (inside a container) sees the image alone but the sample holds targets")
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

    Two steps that one kernel does at once run as one (``RandomTransform.fused_with``):
    ``RandomIoUCrop()`` (no ``size``) then ``RandomZoomOut(size=...)``, or ``RandomZoomOut()`` then
    ``RandomIoUCrop(size=...)``, is torchvision's two ops then ``Resize`` with one resize per image.
    """

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        owner = type(self).__name__
        if params is not None and (not isinstance(params, (list, tuple)) or len(params) != len(self.transforms)):
            raise ValueError(f"{owner}: params must be the list returned by return_params=True ({len(self.transforms)} entries)")
        original = batch
        drawn: list[Any] = []
        owned = False  # whether the current image batch is an intermediate only this loop refers to
        steps, i = list(self.transforms), 0
        while i < len(steps):
            t = steps[i]
            fused = t.fused_with(steps[i + 1]) if isinstance(t, RandomTransform) and i + 1 < len(steps) else None
            if fused is not None:  # two steps as one (e.g. an IoU crop then a zoom out: one resize)
                pair = None if params is None else fused.join_params(params[i], params[i + 1])
                batch, p = self._child(fused, batch, generator, pair, single, owned)
                drawn.extend(fused.split_params(p))
                i += 2
            else:
                batch, p = self._child(t, batch, generator, None if params is None else params[i], single, owned)
                drawn.append(p)
                i += 1
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
    Params: ``{"apply": (B,) bool, "params": [...], "gathered": bool}`` (the children's params: for the
    group on the CPU path, for the whole batch on the masked path; ``gathered`` says which, so a replay
    takes the same path on any device).
    """

    def __init__(self, transforms: Any, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(transforms)
        self.p = check_probability(p, owner=type(self).__name__, name="p")
        self.same_on_batch = check_bool(same_on_batch, owner=type(self).__name__, name="same_on_batch")

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        owner = type(self).__name__
        x = batch[_t.IMAGE]
        b = x.shape[0] // batch.get(_t.FRAMES, 1)  # samples (a clip is one)
        if params is None:
            n = 1 if self.same_on_batch else b
            with cpu_threads(x.device, 1):
                apply = (torch.rand(n, generator=generator, device=x.device) < self.p).expand(b)
            sub_params = None
        else:
            _check_replayed(params, ("apply", "params"), owner, b)
            apply, sub_params = params["apply"].to(x.device), params.get("params")
        gathered = _gathers(x, params)
        if gathered:
            out, drawn = self._run_gathered(batch, apply, generator, sub_params, single)
        else:  # every child on the whole batch, kept per sample by torch.where: nothing read back
            on, drawn = self._run_children(batch, generator, sub_params, single)
            self._check_size(on, batch)
            out = _select(owner, apply.long(), [batch, on])
        if region is not None:
            out = self._restrict(owner, out, batch, region, single)
        return out, {"apply": apply, "params": drawn, "gathered": gathered}

    def _run_children(self, batch, generator, sub_params, single):
        drawn = []
        for i, t in enumerate(self.transforms):
            batch, p = self._child(t, batch, generator, None if sub_params is None else sub_params[i], single)
            drawn.append(p)
        return batch, drawn

    def _check_size(self, on, original):
        if on[_t.IMAGE].shape[1:] != original[_t.IMAGE].shape[1:]:
            raise ValueError(
                f"{type(self).__name__}: the transforms must keep the image size (samples not selected stay as they "
                f"are); got {tuple(original[_t.IMAGE].shape[1:])} -> {tuple(on[_t.IMAGE].shape[1:])}"
            )

    def _run_gathered(self, batch, apply, generator, sub_params, single):
        """CPU: the selected samples run as one group (indices read on the host, free there)."""
        with cpu_threads(apply.device, 1):
            idx_on = apply.nonzero().squeeze(1)
            idx_off = (~apply).nonzero().squeeze(1)
        if idx_on.numel() == 0:
            return batch, None
        on = batch if idx_off.numel() == 0 else _subset(batch, idx_on)
        original = on
        on, drawn = self._run_children(on, generator, sub_params, single)
        self._check_size(on, original)
        out = on if idx_off.numel() == 0 else _assemble(batch, [(idx_on, on), (idx_off, _subset(batch, idx_off))], type(self).__name__)
        return out, drawn

    def extra_repr(self) -> str:
        return f"p={self.p}"


@register("transform", example=lambda: RandomChoice([RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0)]))
class RandomChoice(_Container):
    """Apply one of ``transforms`` to each sample, chosen per sample with probabilities ``p``
    (default uniform; torchvision ``RandomChoice``, which chooses once per call).

    Samples are grouped by their choice; each transform runs once on its group. All choices
    must give outputs of one size. Params: ``{"choice": (B,) int64, "params": [...], "gathered": bool}``
    (as ``RandomApply``'s).
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
        self.cdf = [sum(self.p[: k + 1]) for k in range(n)]
        self.same_on_batch = check_bool(same_on_batch, owner=owner, name="same_on_batch")

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        owner = type(self).__name__
        x = batch[_t.IMAGE]
        b = x.shape[0] // batch.get(_t.FRAMES, 1)  # samples (a clip is one)
        if params is None:
            n = 1 if self.same_on_batch else b
            with cpu_threads(x.device, 1):
                cdf = constant(tuple(self.cdf), x.device, torch.float32)
                u = torch.rand(n, generator=generator, device=x.device)
                choice = torch.searchsorted(cdf, u, right=True).clamp_max(len(self.p) - 1).expand(b)
            sub_params: list | None = None
        else:
            _check_replayed(params, ("choice", "params"), owner, b)
            choice, sub_params = params["choice"].to(x.device), params.get("params")
        drawn: list[Any] = []
        gathered = _gathers(x, params)
        if gathered:  # CPU: one group per choice (indices read on the host, free there)
            parts = []
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
        else:  # every choice on the whole batch, selected per sample by torch.where: nothing read back
            results = []
            for k, t in enumerate(self.transforms):
                sub, p = self._child(t, batch, generator, None if sub_params is None else sub_params[k], single)
                results.append(sub)
                drawn.append(p)
            out = _select(owner, choice, results)
        if region is not None:
            out = self._restrict(owner, out, batch, region, single)
        return out, {"choice": choice, "params": drawn, "gathered": gathered}

    def extra_repr(self) -> str:
        return f"p={[round(v, 4) for v in self.p]}"


@register("transform", example=lambda: RandomOrder([RandomHorizontalFlip(), RandomCrop(16, padding=2)]))
class RandomOrder(_Container):
    """Apply all ``transforms`` in a random order (torchvision ``RandomOrder``): one order per
    call, drawn on the host from ``generator`` (or torch's CPU generator; a device generator seeds a host
    draw from its state and is advanced), so nothing is read back from a device (only replayed params
    held on a device are read, once); each transform still draws per-sample parameters).
    Params: ``{"order": (n,) int64, "params": [...]}`` (params listed in the order applied)."""

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        x = batch[_t.IMAGE]
        n = len(self.transforms)
        if params is None:
            order = _host_order(n, generator)  # on the host: no device value read back
            sub_params: list | None = None
        else:
            _check_replayed(params, ("order", "params"), type(self).__name__, n)
            order, sub_params = params["order"], params.get("params")
        original = batch
        drawn = []
        for j, k in enumerate(_host_ints(order)):  # a read-back only for replayed params held on a device
            batch, p = self._child(self.transforms[k], batch, generator, None if sub_params is None else sub_params[j], single)
            drawn.append(p)
        if region is not None:
            batch = self._restrict(type(self).__name__, batch, original, region, single)
        return batch, {"order": order, "params": drawn}


def _apply_to(owner: str, t: nn.Module, batch: dict[str, Any], sel: torch.Tensor, generator, params, single: bool,
              gathered: bool) -> tuple[dict[str, Any], Any]:
    """Child ``t`` on the samples where ``sel`` (``(B,)`` bool), the others unchanged (``RandomApply``'s two paths)."""
    x = batch[_t.IMAGE]

    def check(on: dict[str, Any]) -> None:
        if on[_t.IMAGE].shape[1:] != x.shape[1:]:
            raise ValueError(f"{owner}: the transforms must keep the image size (samples not selected stay as they are); "
                             f"got {tuple(x.shape[1:])} -> {tuple(on[_t.IMAGE].shape[1:])}")

    if gathered:
        with cpu_threads(sel.device, 1):
            idx_on, idx_off = sel.nonzero().squeeze(1), (~sel).nonzero().squeeze(1)
        if idx_on.numel() == 0:
            return batch, None
        if idx_off.numel() == 0:
            on, p = _Container._child(t, batch, generator, params, single)
            check(on)
            return on, p
        on, p = _Container._child(t, _subset(batch, idx_on), generator, params, single)
        check(on)
        return _assemble(batch, [(idx_on, on), (idx_off, _subset(batch, idx_off))], owner), p
    on, p = _Container._child(t, batch, generator, params, single)
    check(on)
    return _select(owner, sel.long(), [batch, on]), p


@register("transform", example=lambda: SomeOf([RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0), Identity()], n=2))
class SomeOf(_Container):
    """Apply ``n`` of the ``transforms``, chosen per sample (albumentations ``SomeOf`` / imgaug ``SomeOf``).

    ``n``: an int, or an inclusive ``(min, max)`` pair drawn per sample (imgaug's tuple form);
    ``replace``: draw with replacement (a transform drawn twice runs twice). The chosen ones run
    in the order of the list (albumentations sorts the drawn indices), each with its own ``p``;
    ``p``: the probability that a sample gets any (albumentations' ``SomeOf(p=)``). Without
    ``replace``, ``n`` above the number of transforms is an error (albumentations clamps it with a
    warning). Per sample (the peers draw once per image too; here one draw per sample of a batch).
    The transforms must keep the image size. Params: ``{"counts": (B, K) int64`` (how often each
    transform runs on each sample), ``"params": [[...] per transform]``, ``"gathered": bool}``.
    """

    def __init__(self, transforms: Any, n: int | tuple[int, int] = 1, replace: bool = False, p: float = 1.0, *,
                 same_on_batch: bool = False) -> None:
        super().__init__(transforms)
        owner = type(self).__name__
        k = len(self.transforms)
        if k == 0:
            raise ValueError(f"{owner}: transforms must hold at least one transform; got none")
        self.replace = check_bool(replace, owner=owner, name="replace")
        if isinstance(n, int) and not isinstance(n, bool):
            lo = hi = n
        elif isinstance(n, (tuple, list)) and len(n) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in n):
            lo, hi = int(n[0]), int(n[1])
        else:
            raise TypeError(f"{owner}: n must be an int or an inclusive (min, max) pair of ints; got {describe(n)}")
        if lo < 0 or lo > hi or (not self.replace and hi > k):
            raise ValueError(f"{owner}: n must satisfy 0 <= min <= max" + ("" if self.replace else f" <= {k} (the number of "
                             "transforms; or replace=True)") + f"; got {n!r}")
        self.n = (lo, hi)
        self.p = check_probability(p, owner=owner, name="p")
        self.same_on_batch = check_bool(same_on_batch, owner=owner, name="same_on_batch")

    def _draw(self, b: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
        k = len(self.transforms)
        lo, hi = self.n
        rows = 1 if self.same_on_batch else b
        u = torch.rand(rows, 1 + max(k, hi), generator=generator, device=device)
        count = lo + (u[:, 0] * (hi - lo + 1)).floor().long().clamp_max(hi - lo)
        if self.p < 1.0:
            count = torch.where(torch.rand(rows, generator=generator, device=device) < self.p, count, 0)
        if self.replace:  # hi uniform picks, the first ``count`` of them kept
            picks = (u[:, 1 : 1 + hi] * k).floor().long().clamp_max(k - 1)
            keep = (torch.arange(hi, device=device) < count.unsqueeze(1)).long()
            counts = torch.zeros(rows, k, dtype=torch.long, device=device).scatter_add_(1, picks, keep)
        else:  # a uniform random subset of size ``count``: the ``count`` smallest of k uniform keys
            rank = u[:, 1 : 1 + k].argsort(dim=1).argsort(dim=1)
            counts = (rank < count.unsqueeze(1)).long()
        return counts.expand(b, k)

    def _run(self, batch, generator, params=None, *, region=None, single=False):
        owner = type(self).__name__
        x = batch[_t.IMAGE]
        b = x.shape[0] // batch.get(_t.FRAMES, 1)
        k = len(self.transforms)
        reps = self.n[1] if self.replace else 1
        if params is None:
            with cpu_threads(x.device, 1):
                counts = self._draw(b, generator, x.device)
            sub_params = None
        else:
            if not isinstance(params, dict):
                raise TypeError(f"{owner}: params must be the dict returned by return_params=True; got {describe(params)}")
            if set(params) - {"gathered"} != {"counts", "params"}:
                raise ValueError(f"{owner}: params must hold the keys ['counts', 'params']; got {sorted(params)}")
            counts, sub_params = params["counts"], params["params"]
            if not isinstance(counts, torch.Tensor) or tuple(counts.shape) != (b, k):
                raise ValueError(f"{owner}: params['counts'] must be a ({b}, {k}) tensor; got {describe(counts)}")
            counts = counts.to(x.device)
        gathered = _gathers(x, params)
        out, drawn = batch, []
        for i, t in enumerate(self.transforms):
            per = []
            for r in range(reps):
                p_ir = None if sub_params is None else sub_params[i][r]
                out, p = _apply_to(owner, t, out, counts[:, i] > r, generator, p_ir, single, gathered)
                per.append(p)
            drawn.append(per)
        if region is not None:
            out = self._restrict(owner, out, batch, region, single)
        return out, {"counts": counts, "params": drawn, "gathered": gathered}

    def extra_repr(self) -> str:
        return f"n={self.n}, replace={self.replace}, p={self.p}"


@register("transform", example=lambda: Identity())
class Identity(RandomTransform):
    """Return the input unchanged (albumentations ``NoOp``, torchvision ``Identity``); targets pass through.

    The "do nothing" branch of :class:`OneOrOther`, :class:`SomeOf` or ``RandomChoice``.
    """

    supports_uint16 = True

    def __init__(self) -> None:
        super().__init__(p=1.0)

    def transform(self, x: torch.Tensor, params: dict) -> torch.Tensor:
        return x

    def extra_repr(self) -> str:
        return ""


@register("transform", example=lambda: OneOrOther(RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0)))
class OneOrOther(RandomChoice):
    """Per sample, ``first`` with probability ``p``, else ``second`` (imgaug ``OneOrOther(p, then_list,
    else_list)``, albumentations ``OneOrOther(first, second, p)``). Either may be a transform, a list
    (run as a ``Compose``) or None (:class:`Identity`). Both branches must give outputs of one size.
    Params: as ``RandomChoice`` (``choice`` 0: ``first``, 1: ``second``).
    """

    def __init__(self, first: Any = None, second: Any = None, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        owner = type(self).__name__
        p = check_probability(p, owner=owner, name="p")

        def branch(v: Any) -> nn.Module:
            if v is None:
                return Identity()
            if isinstance(v, (list, tuple)) or isinstance(v, Mapping):
                return Compose(v)
            return v

        super().__init__([branch(first), branch(second)], p=[p, 1.0 - p] if 0.0 < p < 1.0 else [float(p > 0), float(p < 1)],
                         same_on_batch=same_on_batch)
        self.p_first = p

    def extra_repr(self) -> str:
        return f"p={self.p_first}"
