"""Targets that travel with images: masks, bounding boxes and keypoints.

A transform accepts, besides a plain image tensor:

- a **dict** ``{"image": x, "mask": m, "boxes": b, "keypoints": k, ...}``: ``mask`` (or
  ``masks``) is ``(B, H, W)`` / ``(B, K, H, W)`` (``(H, W)`` / ``(K, H, W)`` with a single
  ``(C, H, W)`` image), any dtype; ``boxes`` is ``xyxy`` pixel boxes ``(B, N, 4)`` (``(N, 4)`` for
  a single image), a list of ``B`` tensors ``(N_i, 4)``, or a torchvision
  ``tv_tensors.BoundingBoxes`` (any of its axis-aligned formats); ``keypoints`` is ``(B, N, 2)``
  ``xy`` (``(N, 2)`` single) or a ``tv_tensors.KeyPoints``. Other keys (labels, ids...) pass
  through unchanged. The returned dict has the same keys plus ``"boxes_valid"`` when boxes were
  given: ``False`` marks boxes that became degenerate (clipped to less than one pixel wide or
  high, e.g. moved out of the image); they are kept, so labels stay aligned, and can be dropped
  with ``boxes[valid]``.
- **several positional arguments**, torchvision-style: ``t(image, boxes, mask)`` with
  ``tv_tensors`` (``Image``/plain tensor, ``Mask``, ``BoundingBoxes``, ``KeyPoints``); anything
  else passes through. Returns a tuple in the same order, with the same types.

Coordinates are continuous pixel coordinates (see :mod:`torchaug.functional.geometry`).
Geometric transforms move every target by the sample's own parameters; colour transforms pass
them through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from torchaug._validation import check_finite, check_generator, check_images, describe

__all__: list[str] = []  # helpers only; the public entry point is every transform's forward

Batch = dict[str, Any]

IMAGE, MASK, BOXES, VALID, POINTS = "image", "mask", "boxes", "boxes_valid", "keypoints"


def _tv():
    from torchvision import tv_tensors

    return tv_tensors


def is_plain_image(x: Any) -> bool:
    """A tensor that is not a torchvision target (fast path check, imports nothing)."""
    if type(x) is torch.Tensor:
        return True
    if not isinstance(x, torch.Tensor):
        return False
    tv = _tv()
    return not isinstance(x, (tv.Mask, tv.BoundingBoxes, tv.KeyPoints))


@dataclass
class Spec:
    """How to give the caller back what they passed."""

    kind: str  # "tensor" | "dict" | "args"
    single: bool
    image_like: Any = None
    dict_keys: dict[str, str] = field(default_factory=dict)  # canonical -> caller key
    args: tuple = ()
    roles: tuple = ()  # per positional arg: "image" | "mask" | "boxes" | "keypoints" | None
    box_kind: str | None = None  # "tensor" | "list" | "tv"
    box_like: Any = None
    box_format: str = "XYXY"
    box_counts: list[int] | None = None
    mask_ndim: int = 0
    point_like: Any = None
    point_kind: str | None = None
    image_like_mask: Any = None


def _boxes_in(b: Any, spec: Spec, batch: int, owner: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    valid = None
    if isinstance(b, (list, tuple)):
        spec.box_kind = "list"
        if len(b) != batch:
            raise ValueError(f"{owner}: boxes must be a list of one (N_i, 4) tensor per image ({batch}); got {len(b)}")
        counts = [int(t.shape[0]) for t in b]
        spec.box_counts = counts
        n = max(counts) if counts else 0
        out = torch.zeros((batch, n, 4), dtype=torch.float32, device=device)
        valid = torch.zeros((batch, n), dtype=torch.bool, device=device)
        for i, t in enumerate(b):
            if not isinstance(t, torch.Tensor) or t.ndim != 2 or t.shape[-1] != 4:
                raise ValueError(f"{owner}: boxes[{i}] must be an (N, 4) xyxy tensor; got {describe(t)}")
            out[i, : t.shape[0]] = t.to(device=device, dtype=torch.float32)
            valid[i, : t.shape[0]] = True
        check_finite(out, owner=owner, name="boxes")
        return out, valid
    if not isinstance(b, torch.Tensor):
        raise TypeError(f"{owner}: boxes must be a tensor, a list of tensors or tv_tensors.BoundingBoxes; got {describe(b)}")
    if type(b) is not torch.Tensor and isinstance(b, _tv().BoundingBoxes):
        from torchvision.ops import box_convert

        spec.box_kind, spec.box_like = "tv", b
        fmt = b.format.name if hasattr(b.format, "name") else str(b.format)
        if fmt not in ("XYXY", "XYWH", "CXCYWH"):
            raise ValueError(f"{owner}: boxes must be axis-aligned (XYXY, XYWH or CXCYWH); got format {fmt}")
        spec.box_format = fmt
        t = b.as_subclass(torch.Tensor).float()
        if fmt != "XYXY":
            t = box_convert(t, fmt.lower(), "xyxy")
    else:
        spec.box_kind = "tensor"
        t = b.float()
        spec.box_like = b
    if t.ndim == 2 and t.shape[-1] == 4 and (spec.single or batch == 1 and spec.box_kind == "tv"):
        t = t.unsqueeze(0)
    if t.ndim != 3 or t.shape[0] != batch or t.shape[-1] != 4:
        raise ValueError(f"{owner}: boxes must be xyxy of shape (B={batch}, N, 4) (or (N, 4) for one image); got {describe(b)}")
    check_finite(t, owner=owner, name="boxes")
    return t.to(device), torch.ones(t.shape[:2], dtype=torch.bool, device=device)


def _boxes_out(boxes: torch.Tensor, valid: torch.Tensor, spec: Spec, size: tuple[int, int]) -> tuple[Any, Any]:
    if spec.box_kind == "list":
        return (
            [boxes[i, :n] for i, n in enumerate(spec.box_counts or [])],
            [valid[i, :n] for i, n in enumerate(spec.box_counts or [])],
        )
    squeeze = spec.single or (spec.box_kind == "tv" and spec.box_like.ndim == 2)
    if squeeze:
        boxes, valid = boxes[0], valid[0]
    if spec.box_kind == "tv":
        from torchvision.ops import box_convert

        t = boxes if spec.box_format == "XYXY" else box_convert(boxes, "xyxy", spec.box_format.lower())
        t = t.to(spec.box_like.dtype) if spec.box_like.is_floating_point() else t.round().to(spec.box_like.dtype)
        return _tv().wrap(t, like=spec.box_like, canvas_size=size), valid
    like = spec.box_like
    return (boxes.to(like.dtype) if like.is_floating_point() else boxes.round().to(like.dtype)), valid


def _points_in(k: Any, spec: Spec, batch: int, owner: str, device: torch.device) -> torch.Tensor:
    if not isinstance(k, torch.Tensor):
        raise TypeError(f"{owner}: keypoints must be a tensor of shape (B, N, 2); got {describe(k)}")
    spec.point_like = k
    is_tv = type(k) is not torch.Tensor and isinstance(k, _tv().KeyPoints)
    spec.point_kind = "tv" if is_tv else "tensor"
    t = k.as_subclass(torch.Tensor).float() if is_tv else k.float()
    if t.ndim == 2 and (spec.single or batch == 1):
        t = t.unsqueeze(0)
    if t.ndim != 3 or t.shape[0] != batch or t.shape[-1] != 2:
        raise ValueError(f"{owner}: keypoints must be xy of shape (B={batch}, N, 2) (or (N, 2) for one image); got {describe(k)}")
    return t.to(device)


def _points_out(p: torch.Tensor, spec: Spec, size: tuple[int, int]) -> Any:
    like = spec.point_like
    if like.ndim == 2:
        p = p[0]
    p = p.to(like.dtype) if like.is_floating_point() else p.round().to(like.dtype)
    if spec.point_kind == "tv":
        return _tv().wrap(p, like=like, canvas_size=size)
    return p


def _mask_in(m: Any, spec: Spec, x4: torch.Tensor, owner: str) -> torch.Tensor:
    if not isinstance(m, torch.Tensor):
        raise TypeError(f"{owner}: mask must be a tensor (B, H, W) or (B, K, H, W); got {describe(m)}")
    spec.mask_ndim = m.ndim
    t = m.as_subclass(torch.Tensor)
    if spec.single:
        t = t.unsqueeze(0)
    if t.ndim == 3:
        t = t.unsqueeze(1)
    if t.ndim != 4 or t.shape[0] != x4.shape[0] or t.shape[-2:] != x4.shape[-2:]:
        raise ValueError(
            f"{owner}: mask must have shape (B, H, W) or (B, K, H, W) matching the images "
            f"{tuple(x4.shape)}; got {describe(m)}"
        )
    return t


def _mask_out(m: torch.Tensor, spec: Spec, like: Any) -> Any:
    t = m
    if spec.single:
        t = t[0]
        if spec.mask_ndim == 2:
            t = t[0]
    elif spec.mask_ndim == 3:
        t = t[:, 0]
    if type(like) is not torch.Tensor and isinstance(like, torch.Tensor):
        return _tv().wrap(t, like=like)
    return t


def _image_out(x: torch.Tensor, spec: Spec) -> Any:
    out = x[0] if spec.single else x
    like = spec.image_like
    if like is not None and type(like) is not torch.Tensor:
        return _tv().wrap(out, like=like)
    return out


def unpack(inputs: tuple, owner: str) -> tuple[Batch, Spec]:
    """Caller's inputs -> canonical batch dict (``image`` (B,C,H,W), ``mask`` (B,K,H,W),
    ``boxes`` (B,N,4) float xyxy, ``boxes_valid`` (B,N), ``keypoints`` (B,N,2) float)."""
    if len(inputs) == 1 and isinstance(inputs[0], dict):
        d = inputs[0]
        if IMAGE not in d:
            raise ValueError(f"{owner}: a dict input must hold the images under 'image'; got keys {sorted(d)}")
        x4, single = check_images(d[IMAGE], owner=owner, name="image")
        spec = Spec("dict", single, image_like=d[IMAGE])
        batch: Batch = {k: v for k, v in d.items()}
        batch[IMAGE] = x4.as_subclass(torch.Tensor)
        for key in ("mask", "masks"):
            if key in d:
                spec.dict_keys[MASK] = key
                spec.image_like_mask = d[key]
                batch.pop(key)
                batch[MASK] = _mask_in(d[key], spec, x4, owner)
        if BOXES in d:
            boxes, valid = _boxes_in(d[BOXES], spec, x4.shape[0], owner, x4.device)
            if VALID in d and isinstance(d[VALID], torch.Tensor):
                v = d[VALID].to(x4.device)
                valid = valid & (v.unsqueeze(0) if v.ndim == 1 else v)
            batch[BOXES], batch[VALID] = boxes, valid
        if POINTS in d:
            batch[POINTS] = _points_in(d[POINTS], spec, x4.shape[0], owner, x4.device)
        return batch, spec
    # positional, torchvision-style
    roles: list[str | None] = []
    batch = {}
    spec = Spec("args", False, args=inputs)
    tv = _tv() if any(type(a) is not torch.Tensor for a in inputs) else None
    for a in inputs:
        role = None
        if isinstance(a, torch.Tensor):
            if tv is not None and isinstance(a, tv.Mask):
                role = MASK
            elif tv is not None and isinstance(a, tv.BoundingBoxes):
                role = BOXES
            elif tv is not None and isinstance(a, tv.KeyPoints):
                role = POINTS
            elif IMAGE not in batch:
                role = IMAGE
        if role in batch:
            raise ValueError(f"{owner}: got more than one {role} among the positional inputs")
        if role is not None:
            batch[role] = a
        roles.append(role)
    if IMAGE not in batch:
        raise TypeError(
            f"{owner}: x must be an image tensor (B, C, H, W) or (C, H, W), a dict with 'image', or "
            f"torchvision tv_tensors; got {', '.join(describe(a) for a in inputs) or 'nothing'}"
        )
    x4, single = check_images(batch[IMAGE], owner=owner)
    spec.single, spec.image_like, spec.roles = single, batch[IMAGE], tuple(roles)
    masks_like = batch.get(MASK)
    batch[IMAGE] = x4.as_subclass(torch.Tensor)
    if MASK in batch:
        spec.image_like_mask = masks_like
        batch[MASK] = _mask_in(batch[MASK], spec, x4, owner)
    if BOXES in batch:
        batch[BOXES], batch[VALID] = _boxes_in(batch[BOXES], spec, x4.shape[0], owner, x4.device)
    if POINTS in batch:
        batch[POINTS] = _points_in(batch[POINTS], spec, x4.shape[0], owner, x4.device)
    return batch, spec


def repack(batch: Batch, spec: Spec) -> Any:
    """Canonical batch -> the caller's structure (see :func:`unpack`)."""
    size = tuple(batch[IMAGE].shape[-2:])
    out: dict[str, Any] = {}
    out[IMAGE] = _image_out(batch[IMAGE], spec)
    if MASK in batch:
        out[MASK] = _mask_out(batch[MASK], spec, spec.image_like_mask)
    if BOXES in batch:
        out[BOXES], out[VALID] = _boxes_out(batch[BOXES], batch[VALID], spec, size)
    if POINTS in batch:
        out[POINTS] = _points_out(batch[POINTS], spec, size)
    if spec.kind == "dict":
        d = {k: v for k, v in batch.items() if k not in (IMAGE, MASK, BOXES, VALID, POINTS)}
        for k, v in out.items():
            d[spec.dict_keys.get(k, k)] = v
        return d
    return tuple(out[r] if r is not None else a for r, a in zip(spec.roles, spec.args))


def run_with_targets(transform: Any, inputs: tuple, *, owner: str, generator: Any, params: Any, region: Any,
                     return_params: bool) -> Any:
    """Shared tail of ``forward`` for inputs with targets (dict, tv_tensors, several tensors).

    Unpacks them into a batch dict, runs ``transform._run`` and packs the result like the input.
    """
    if not inputs:
        raise TypeError(f"{owner}: x must be an image tensor (B, C, H, W) or (C, H, W); got nothing")
    batch, spec = unpack(inputs, owner)
    check_generator(generator, batch[IMAGE].device, owner=owner)
    batch, params = transform._run(batch, generator, params, region=region, single=spec.single)
    out = repack(batch, spec)
    return (out, params) if return_params else out
