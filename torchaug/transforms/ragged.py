"""Ragged batches through the transforms: a list of ``(C, H, W)`` images of different sizes in, one batch out.

``RandomResizedCrop(224)([img_500x375, img_333x500, ...])`` returns a ``(B, C, 224, 224)``
batch: each sample gets its own crop box, drawn for its own size in one vectorised pass over
the batch (the sizes are read from the shapes, no device sync), then one kernel call per
sample on a view of its box (CPU, torchvision's resize kernel) or one batched resize of the
zero-padded pack (GPU); see :mod:`torchaug.functional.ragged`. So a pipeline can start from
decoded files of any size, in the loader workers (``AugmentCollate``) or on the device
(``ClassifierModule``), without a per-image Python transform.

The size-changing ops that take lists: ``RandomResizedCrop``, ``RandomCrop``, ``CenterCrop``
(one batch out) and ``Resize`` (one batch out for a fixed ``(h, w)``; a list again for an int
``size``, i.e. the shorter side, whose outputs differ in aspect: follow it with a crop).
``Compose`` runs its leading ops on the list until one returns a batch, then the rest as usual.
Every other transform takes a list only when all its images have one size (it is stacked);
otherwise it raises ``TypeError`` naming the ops that take lists.

Parity: sample ``i`` equals the op applied to ``images[i]`` alone with the parameters
``{k: v[i:i+1]}`` (``tests/transforms/test_ragged.py``). When every image has the same size the
drawn parameters are the ones the op draws for the stacked batch with the same generator.
Subclasses may add list support by defining ``ragged_params(sizes, generator)`` and
``transform_ragged(images, params)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from torchaug._cpu.threads import cpu_threads
from torchaug._validation import check_generator, describe
from torchaug.functional import ragged as FR
from torchaug.transforms._base import Params, RandomTransform
from torchaug.transforms.geometry import CenterCrop, RandomCrop, RandomResizedCrop, Resize, _check_fill

__all__ = ["forward_ragged", "compose_ragged", "supports_ragged", "RAGGED_OPS"]


def _carrier(sizes: torch.Tensor) -> torch.Tensor:
    """An empty ``(B, 0)`` tensor on the sizes' device: what ``RandomTransform._rand`` reads (batch size, device)."""
    return torch.empty((sizes.shape[0], 0), device=sizes.device)


# -- RandomResizedCrop -------------------------------------------------------------------------
def _rrc_params(op: RandomResizedCrop, sizes: torch.Tensor, generator: torch.Generator | None, host: list) -> Params:
    """:meth:`RandomResizedCrop.make_params` with per-sample ``(H, W)``: the same draws, vectorised."""
    x = _carrier(sizes)
    h, w = sizes[:, 0], sizes[:, 1]
    hd, wd = h.to(torch.float64), w.to(torch.float64)
    lo, hi = math.log(op.ratio[0]), math.log(op.ratio[1])
    u = op._rand(x, 2, 10, generator=generator).to(torch.float64)
    target_area = (hd * wd).unsqueeze(1) * (op.scale[0] + (op.scale[1] - op.scale[0]) * u[:, 0])
    aspect = torch.exp(lo + (hi - lo) * u[:, 1])
    cw = torch.sqrt(target_area * aspect).round().long()
    ch = torch.sqrt(target_area / aspect).round().long()
    ok = (cw > 0) & (cw <= w.unsqueeze(1)) & (ch > 0) & (ch <= h.unsqueeze(1))
    first = ok.long().argmax(dim=1, keepdim=True)
    found = ok.any(dim=1)
    cw, ch = cw.gather(1, first).squeeze(1), ch.gather(1, first).squeeze(1)
    in_ratio = wd / hd  # torchvision's centre-crop fallback, per sample
    narrow, wide = in_ratio < op.ratio[0], in_ratio > op.ratio[1]
    fw = torch.where(wide, (hd * op.ratio[1]).round().long(), w)
    fh = torch.where(narrow, (wd / op.ratio[0]).round().long(), h)
    ch, cw = torch.where(found, ch, fh), torch.where(found, cw, fw)
    top = op._randint(x, h - ch + 1, generator=generator)
    left = op._randint(x, w - cw + 1, generator=generator)
    top = torch.where(found, top, torch.div(h - fh, 2, rounding_mode="floor"))
    left = torch.where(found, left, torch.div(w - fw, 2, rounding_mode="floor"))
    params: Params = {}
    if op.p < 1.0:
        apply = op._rand(x, generator=generator) < op.p
        top, left = torch.where(apply, top, 0), torch.where(apply, left, 0)
        ch, cw = torch.where(apply, ch, h), torch.where(apply, cw, w)
        params["apply"] = apply
    params.update(top=top, left=left, height=ch, width=cw)
    return params


def _rrc_apply(op: RandomResizedCrop, images: list[torch.Tensor], params: Params) -> torch.Tensor:
    return FR.resized_crop_list(images, params["top"], params["left"], params["height"], params["width"], op.size,
                                interpolation=op.interpolation, antialias=op.antialias, method=op.method)


# -- RandomCrop --------------------------------------------------------------------------------
def _crop_params(op: RandomCrop, sizes: torch.Tensor, generator: torch.Generator | None, host: list) -> Params:
    """:meth:`RandomCrop.make_params` with per-sample ``(H, W)`` (and per-sample ``pad_if_needed`` padding)."""
    x = _carrier(sizes)
    h, w = sizes[:, 0], sizes[:, 1]
    l, t, r, b = op.padding
    ch, cw = op.size
    top_pad, bottom_pad = torch.full_like(h, t), torch.full_like(h, b)
    left_pad, right_pad = torch.full_like(w, l), torch.full_like(w, r)
    if op.pad_if_needed:
        dh, dw = (ch - (h + t + b)).clamp_min(0), (cw - (w + l + r)).clamp_min(0)
        top_pad, bottom_pad, left_pad, right_pad = top_pad + dh, bottom_pad + dh, left_pad + dw, right_pad + dw
    ph, pw = h + top_pad + bottom_pad, w + left_pad + right_pad
    if not op.pad_if_needed:  # checked on the host sizes (no device sync)
        small = [(hh + t + b, ww + l + r) for hh, ww in host if hh + t + b < ch or ww + l + r < cw]
        if small:
            raise ValueError(f"{type(op).__name__}: size {op.size} is larger than the padded image {small[0]}; "
                             "use pad_if_needed=True")
    top = op._randint(x, ph - ch + 1, generator=generator) - top_pad
    left = op._randint(x, pw - cw + 1, generator=generator) - left_pad
    params: Params = {}
    if op.p < 1.0:
        apply = op._rand(x, generator=generator) < op.p
        top = torch.where(apply, top, ((ph - ch).to(torch.float64) / 2.0).round().long() - top_pad)
        left = torch.where(apply, left, ((pw - cw).to(torch.float64) / 2.0).round().long() - left_pad)
        params["apply"] = apply
    params.update(top=top, left=left)
    return params


def _crop_apply(op: RandomCrop, images: list[torch.Tensor], params: Params) -> torch.Tensor:
    _check_fill(op.fill, images[0], type(op).__name__)
    return FR.crop_list(images, params["top"], params["left"], *op.size, padding_mode=op.padding_mode, fill=op.fill)


# -- deterministic -------------------------------------------------------------------------------
def _no_params(op: RandomTransform, sizes: torch.Tensor, generator: torch.Generator | None, host: list) -> Params:
    return {}


def _center_apply(op: CenterCrop, images: list[torch.Tensor], params: Params) -> torch.Tensor:
    return FR.center_crop_list(images, op.size)


def _resize_apply(op: Resize, images: list[torch.Tensor], params: Params) -> torch.Tensor | list[torch.Tensor]:
    return FR.resize_list(images, op.size, interpolation=op.interpolation, antialias=op.antialias, max_size=op.max_size)


#: ``class -> (params(op, sizes, generator, host_sizes), apply(op, images, params))`` of the ops that take lists
RAGGED_OPS: dict[type, tuple[Callable[..., Params], Callable[..., Any]]] = {
    RandomResizedCrop: (_rrc_params, _rrc_apply),
    RandomCrop: (_crop_params, _crop_apply),
    CenterCrop: (_no_params, _center_apply),
    Resize: (_no_params, _resize_apply),
}


def _ops_for(op: Any) -> tuple[Callable[..., Params], Callable[..., Any]] | None:
    if hasattr(op, "ragged_params") and hasattr(op, "transform_ragged"):
        return (lambda o, s, g, h: o.ragged_params(s, g)), (lambda o, i, p: o.transform_ragged(i, p))
    for cls in type(op).__mro__:
        if cls in RAGGED_OPS:
            return RAGGED_OPS[cls]
    return None


def supports_ragged(op: Any) -> bool:
    """Whether ``op`` takes a list of images of different sizes."""
    return _ops_for(op) is not None


def _names() -> str:
    return ", ".join(c.__name__ for c in RAGGED_OPS) + " (or Compose starting with one)"


def check_image_list(images: list[Any], owner: str) -> list[torch.Tensor]:
    """Validate a ragged batch: one dtype (uint8 or floating), one channel count, one device, non-empty sizes."""
    first = images[0]
    for i, t in enumerate(images):
        if not isinstance(t, torch.Tensor) or t.ndim != 3:
            raise TypeError(f"{owner}: x must be a list of (C, H, W) image tensors; x[{i}] is {describe(t)}")
        if t.dtype != torch.uint8 and not t.is_floating_point():
            raise TypeError(f"{owner}: x must hold uint8 in [0, 255] or floating images; x[{i}] is {describe(t)}")
        if t.dtype != first.dtype or t.shape[0] != first.shape[0] or t.device != first.device:
            raise ValueError(f"{owner}: images of a list must share dtype, channel count and device; x[0] is "
                             f"{describe(first)} on {first.device}, x[{i}] is {describe(t)} on {t.device}")
        if t.shape[-1] == 0 or t.shape[-2] == 0 or t.shape[0] == 0:
            raise ValueError(f"{owner}: x[{i}] must have non-zero channels, height and width; got {describe(t)}")
    return [t if type(t) is torch.Tensor else t.as_subclass(torch.Tensor) for t in images]


def _stack_equal(images: list[torch.Tensor], owner: str) -> torch.Tensor:
    shapes = {tuple(t.shape) for t in images}
    if len(shapes) != 1:
        raise TypeError(f"{owner} needs images of one size; got a list of {len(images)} images of sizes "
                        f"{sorted(shapes)[:3]}{'...' if len(shapes) > 3 else ''}: start the pipeline with an op that "
                        f"takes lists of different sizes: {_names()}")
    return torch.stack(images)


def _check_params(op: Any, params: Any, b: int) -> Params:
    owner = type(op).__name__
    if not isinstance(params, dict):
        raise TypeError(f"{owner}: params must be the dict returned by return_params=True; got {describe(params)}")
    for k, v in params.items():
        if not isinstance(v, torch.Tensor) or v.ndim == 0 or v.shape[0] != b:
            raise ValueError(f"{owner}: params[{k!r}] must be a tensor with one entry per image ({b}); got {describe(v)}")
    return dict(params)


def forward_ragged(op: RandomTransform, images: list[Any], *, generator: torch.Generator | None = None,
                   params: Params | None = None, return_params: bool = False) -> Any:
    """``op(list of (C, H_i, W_i))`` -> ``(B, C, h, w)`` (see the module docstring)."""
    owner = type(op).__name__
    images = check_image_list(images, owner)
    fns = _ops_for(op)
    if fns is None:
        return op(_stack_equal(images, owner), generator=generator, params=params, return_params=return_params)
    dev = images[0].device
    check_generator(generator, dev, owner=owner)
    host = [tuple(t.shape[-2:]) for t in images]
    sizes = FR.sizes_of(images)
    if params is None:
        with cpu_threads(dev, 1):  # tiny per-sample parameter ops
            params = fns[0](op, sizes, generator, host)
        params.setdefault("apply", torch.ones(len(images), dtype=torch.bool, device=dev))
    else:
        params = _check_params(op, params, len(images))
        params.setdefault("apply", torch.ones(len(images), dtype=torch.bool, device=dev))
    out = fns[1](op, images, params)  # copy-like kernels set their own thread count (torchaug._cpu.parallel.copy_like)
    return (out, params) if return_params else out


def compose_ragged(comp: Any, images: list[Any], *, generator: torch.Generator | None = None,
                   params: list[Any] | None = None, return_params: bool = False) -> Any:
    """``Compose`` over a list: its leading ops run on the list until one returns a batch, then the rest."""
    from torchaug.transforms import targets as _t
    from torchaug.transforms.containers import Compose, _Container

    owner = type(comp).__name__
    if not isinstance(comp, Compose):
        return comp(_stack_equal(check_image_list(images, owner), owner), generator=generator, params=params,
                    return_params=return_params)
    images = check_image_list(images, owner)
    children = list(comp.transforms)
    if params is not None and (not isinstance(params, (list, tuple)) or len(params) != len(children)):
        raise ValueError(f"{owner}: params must be the list returned by return_params=True ({len(children)} entries)")
    inputs = {t.untyped_storage().data_ptr() for t in images}
    cur: Any = images
    owned, drawn = False, []
    for i, t in enumerate(children):
        p_i = None if params is None else params[i]
        if type(cur) is list:
            if isinstance(t, (RandomTransform, _Container)):
                cur, p = t(cur, generator=generator, params=p_i, return_params=True)
            else:  # a plain callable gets a batch
                cur, p = t(_stack_equal(cur, owner)), None
        else:
            batch, p = comp._child(t, {_t.IMAGE: cur}, generator, p_i, False, owned)
            cur = batch[_t.IMAGE]
        drawn.append(p)
        owned = (isinstance(t, (RandomTransform, _Container)) and isinstance(cur, torch.Tensor)
                 and cur.untyped_storage().data_ptr() not in inputs)
    if type(cur) is list:  # only list -> list ops (e.g. Resize to a shorter side): a batch if they agree
        shapes = {tuple(c.shape) for c in cur}
        cur = torch.stack(cur) if len(shapes) == 1 else cur
    return (cur, drawn) if return_params else cur
