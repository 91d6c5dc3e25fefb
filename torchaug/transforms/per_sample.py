"""Per-sample output sizes: a batch in, a **list** of images (and of per-image targets) out, as torchvision.

torchvision's ``RandomIoUCrop``, ``RandomZoomOut``, ``RandomResize``, ``ScaleJitter`` and
``RandomShortestSize`` give every image its own output size. Called without ``size=``, their
torchaug versions draw the parameters for the whole batch in one vectorised pass (as with
``size=``), then return ``[out_0, out_1, ...]``: sample ``i`` is the peer's op on image ``i`` with
row ``i`` of the parameters. The inverse of :mod:`torchaug.transforms.ragged` (a list in, one
batch out), with the same conventions: plain ``(C, h_i, w_i)`` tensors (or ``tv_tensors.Image``
when the input was one), parameters ``(B, ...)`` tensors replayable with ``params=``.

Forms accepted: ``op(images)`` -> list; ``op(images, targets)`` or ``op((images, targets))`` with
``targets`` a list of ``B`` per-image dicts (torchvision's detection sample: ``boxes``
``(N_i, 4)`` as ``tv_tensors.BoundingBoxes`` of any axis-aligned format or a plain xyxy tensor
under the key ``"boxes"``, ``masks`` ``(N_i, H, W)`` / ``(H, W)`` as ``tv_tensors.Mask`` or under
``"masks"`` / ``"mask"``, anything else, e.g. ``labels``, passed through) -> ``(list of images,
list of dicts)``: each dict's boxes moved into its image (``BoundingBoxes`` with that image's
``canvas_size``, the input's format), its masks moved by nearest. The per-sample kernels read
the sizes on the host once per call (a list's shapes are host values).

An op takes part by defining ``_list_params(x, boxes, valid, generator, params)``,
``_list_image(x1, q)``, ``_list_mask(m1, q)``, ``_list_boxes(b1, q, in_hw)`` (``x1``/``m1``:
``(1, C, H, W)`` views of sample ``i``, ``b1``: ``(1, N, 4)`` xyxy float, ``q``: row ``i`` of the
parameters as ``(1, ...)`` tensors).
"""

from __future__ import annotations

from typing import Any

import torch

from torchaug._validation import check_generator, check_images, describe
from torchaug.transforms import targets as _t

__all__ = ["forward_per_sample"]


def _is_boxes(k: Any, v: Any) -> bool:
    if not isinstance(v, torch.Tensor):
        return False
    tv = _t._tv()
    return isinstance(v, tv.BoundingBoxes) or (k == "boxes" and v.ndim == 2 and v.shape[-1] == 4)


def _is_mask(k: Any, v: Any) -> bool:
    if not isinstance(v, torch.Tensor):
        return False
    return isinstance(v, _t._tv().Mask) or k in ("masks", "mask")


def _boxes_out(xyxy: torch.Tensor, like: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    tv = _t._tv()
    if type(like) is not torch.Tensor and isinstance(like, tv.BoundingBoxes):
        fmt = _t._box_format(like)
        t = xyxy
        if fmt != "XYXY":
            from torchvision.ops import box_convert

            t = box_convert(t, "xyxy", fmt.lower())
        return tv.BoundingBoxes(t.to(like.dtype), format=like.format, canvas_size=hw)
    return xyxy.to(like.dtype) if like.is_floating_point() else xyxy.round().to(like.dtype)


def _split(inputs: tuple, owner: str) -> tuple[Any, list[dict] | None, bool]:
    """``(images, targets, paired)``: ``paired`` when given as one ``(images, targets)`` tuple."""
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)) and len(inputs[0]) == 2 \
            and isinstance(inputs[0][1], (list, tuple)):
        return inputs[0][0], list(inputs[0][1]), True
    if len(inputs) == 1:
        return inputs[0], None, False
    if len(inputs) == 2:
        return inputs[0], (None if inputs[1] is None else inputs[1]), False
    raise TypeError(f"{owner}: without size= takes images (B, C, H, W) and optionally a list of per-image target "
                    f"dicts; got {len(inputs)} arguments")


def forward_per_sample(op: Any, inputs: tuple, *, generator: torch.Generator | None = None,
                       params: dict | None = None, return_params: bool = False) -> Any:
    """Run ``op`` sample by sample into a list (see the module docstring)."""
    owner = type(op).__name__
    images, targets, paired = _split(inputs, owner)
    x4, single = check_images(images, owner=owner, allow_uint16=getattr(op, "supports_uint16", False))
    like_image = images
    x = x4.as_subclass(torch.Tensor) if type(x4) is not torch.Tensor else x4
    check_generator(generator, x.device, owner=owner)
    b, _, h, w = x.shape
    if targets is not None:
        if not isinstance(targets, (list, tuple)) or len(targets) != b or not all(isinstance(d, dict) for d in targets):
            raise TypeError(f"{owner}: targets must be a list of {b} per-image dicts (one per image); got {describe(targets)}")
    # the boxes of every image, padded to one (B, N, 4) xyxy tensor with a validity mask (for the params)
    box_keys = [next((k for k, v in d.items() if _is_boxes(k, v)), None) for d in targets] if targets else []
    boxes = valid = None
    if targets and any(k is not None for k in box_keys):
        per = [_t._to_xyxy(d[k]).to(x.device) if k is not None else torch.zeros((0, 4), device=x.device)
               for d, k in zip(targets, box_keys)]
        for i, t in enumerate(per):
            if t.ndim != 2 or t.shape[-1] != 4:
                raise ValueError(f"{owner}: targets[{i}] boxes must be (N, 4); got {describe(t)}")
        n = max(t.shape[0] for t in per)
        boxes = torch.zeros((b, n, 4), device=x.device)
        valid = torch.zeros((b, n), dtype=torch.bool, device=x.device)
        for i, t in enumerate(per):
            boxes[i, : t.shape[0]] = t
            valid[i, : t.shape[0]] = True
    params = op._list_params(x, boxes, valid, generator, params)
    tv = _t._tv()
    wrap = type(like_image) is not torch.Tensor and isinstance(like_image, tv.Image)
    outs, out_t = [], []
    for i in range(b):
        q = {k: v[i : i + 1] for k, v in params.items()}
        xi = op._list_image(x[i : i + 1], q)[0]
        outs.append(tv.Image(xi) if wrap else xi)
        if targets is None:
            continue
        hw = (int(xi.shape[-2]), int(xi.shape[-1]))
        d = dict(targets[i])
        k = box_keys[i]
        if k is not None:
            bi = boxes[i : i + 1, : d[k].shape[0]]
            d[k] = _boxes_out(op._list_boxes(bi, q, (h, w))[0], d[k], hw)
        for key, v in targets[i].items():
            if key == k or not _is_mask(key, v):
                continue
            m = v.as_subclass(torch.Tensor) if type(v) is not torch.Tensor else v
            if m.shape[-2:] != (h, w):
                raise ValueError(f"{owner}: targets[{i}][{key!r}] must be (..., {h}, {w}) like its image; got {describe(v)}")
            m4 = m.reshape(1, -1, h, w)
            mo = op._list_mask(m4.to(x.device), q)[0].reshape(*m.shape[:-2], *hw)
            d[key] = tv.Mask(mo) if isinstance(v, tv.Mask) else mo
        out_t.append(d)
    if single:
        res: Any = outs[0] if targets is None else (outs[0], out_t[0])
    elif targets is None:
        res = outs
    else:
        res = (outs, out_t)
    return (res, params) if return_params else res
