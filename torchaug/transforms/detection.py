"""Detection transforms: SSD crops and zoom-out, bbox-safe crops, box sanitising, photometric distort.

Every op is batched with per-sample parameters drawn on the data's device in one vectorised
pass (no Python loop over samples, no host read while sampling), and moves the boxes, masks
and keypoints of the sample with the image (see :mod:`torchaug.transforms.targets`; boxes of
different counts per image, given as per-image lists, work).

Per-sample output sizes. torchvision's ``RandomIoUCrop`` and ``RandomZoomOut`` give every
image its own size. A batch has one size, so here they take ``size=(h, w)`` and resize each
sample's crop (or zoomed-out canvas) to it: the result equals torchvision's op followed by
its ``Resize(size)`` (antialiased bilinear; masks nearest) with the same parameters. The same
holds for albumentations' ``BBoxSafeRandomCrop`` (``size=``) and ``RandomSizedBBoxSafeCrop``
(``height``, ``width``).

Box removal on a batch. A batch keeps every box slot (labels stay aligned); a box a crop
pushes out of the image (or whose centre leaves an IoU crop, as torchvision marks it) becomes
degenerate and its ``boxes_valid`` flag False. :class:`SanitizeBoundingBoxes` then really
removes boxes (with their labels and per-instance masks) from per-image targets, as
torchvision does; for batched ``(B, N, 4)`` boxes it returns the ``boxes_valid`` flag.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree

from torchaug._cpu.scratch import scratch
from torchaug._cpu.select import copy_rows_
from torchaug._devpath import cpu_path
from torchaug._validation import check_bool, check_choice, check_number, describe
from torchaug.functional import color as FC
from torchaug.functional import geometry as FG
from torchaug.functional import resizing as FR
from torchaug.functional import zoom as FZ
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug.transforms import targets as _t
from torchaug.transforms._base import Params, RandomTransform
from torchaug.transforms.geometry import _check_fill, _fill, _interp, _pair, _size

__all__ = [
    "RandomIoUCrop",
    "RandomZoomOut",
    "BBoxSafeRandomCrop",
    "RandomSizedBBoxSafeCrop",
    "AtLeastOneBBoxRandomCrop",
    "CropNonEmptyMaskIfExists",
    "ClampBoundingBoxes",
    "SanitizeBoundingBoxes",
    "RandomPhotometricDistort",
]


# ---------------------------------------------------------------------------------------------
# crops that look at the boxes
# ---------------------------------------------------------------------------------------------
class _BoxCrop(RandomTransform):
    """A crop box per sample (``top``, ``left``, ``height``, ``width``) resized to ``size``.

    ``make_params`` may read the sample's first boxes target (``self._boxes``: ``(B, N, 4)``
    xyxy and ``(B, N)`` validity, empty without boxes), which :meth:`_run` provides.
    """

    __torchaug_public__ = False
    keeps_size = False
    geometric = True
    #: whether ``size=None`` is allowed (then a list of per-sample crops: :mod:`torchaug.transforms.per_sample`)
    _size_optional = False

    def __init__(self, size: Any, *, interpolation: str = "bilinear", antialias: bool = True, p: float = 1.0,
                 same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.size = None if size is None and self._size_optional else _size(size, owner)
        self.interpolation = _interp(interpolation, owner)
        self.antialias = check_bool(antialias, owner=owner, name="antialias")
        self._ctx: tuple[torch.Tensor, torch.Tensor] | None = None

    def _run(self, batch: dict, generator: Any, params: Params | None = None, **kw: Any) -> Any:
        boxes = batch.get(_t.BOXES)
        self._ctx = (boxes[0], batch[_t.VALID][0]) if boxes else None
        try:
            return super()._run(batch, generator, params, **kw)
        finally:
            self._ctx = None

    def _boxes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._ctx is None or self._ctx[0].shape[0] != x.shape[0]:
            b = x.shape[0]
            return x.new_zeros((b, 0, 4), dtype=torch.float32), torch.zeros((b, 0), dtype=torch.bool, device=x.device)
        return self._ctx[0].to(x.device, torch.float32), self._ctx[1].to(x.device)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.resized_crop(x, params["top"], params["left"], params["height"], params["width"], self.size,
                               interpolation=self.interpolation, antialias=self.antialias)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.resized_crop(m, params["top"], params["left"], params["height"], params["width"], self.size,
                               interpolation="nearest")

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        shift = torch.stack([params["left"], params["top"]], dim=1).to(points.dtype).unsqueeze(1)
        scale = torch.stack([self.size[1] / params["width"].to(points.dtype),
                             self.size[0] / params["height"].to(points.dtype)], dim=1).unsqueeze(1)
        return (points - shift) * scale

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        if boxes.shape[1] == 0:
            return boxes
        return FG.points_to_boxes(self.transform_points(FG.box_corners(boxes), params, size))

    def extra_repr(self) -> str:
        return f"size={self.size}, " + super().extra_repr()


def _first_true(ok: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the first True along the last dim (0 where none) and whether there is one."""
    return ok.long().argmax(dim=-1), ok.any(dim=-1)


def _take(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``t[..., idx]`` per leading index: ``t`` ``(*lead, K, *rest)`` and ``idx`` ``(*lead,)``."""
    view = idx.view(*idx.shape, 1, *([1] * (t.ndim - idx.ndim - 1)))
    return t.gather(idx.ndim, view.expand(*idx.shape, 1, *t.shape[idx.ndim + 1:])).squeeze(idx.ndim)


class _PerSampleSize:
    """Mixin: without ``size=`` the op returns a list of per-sample outputs (:mod:`torchaug.transforms.per_sample`)."""

    def forward(self, *inputs: Any, generator: torch.Generator | None = None, params: Params | None = None,
                return_params: bool = False, **kw: Any) -> Any:
        if self.size is not None:
            return super().forward(*inputs, generator=generator, params=params, return_params=return_params, **kw)
        if any(v is not None and v is not False for v in kw.values()):
            raise TypeError(f"{type(self).__name__}: without size= (a list out) takes no {sorted(kw)}")
        from torchaug.transforms.per_sample import forward_per_sample

        return forward_per_sample(self, inputs, generator=generator, params=params, return_params=return_params)

    def _run(self, batch: dict, generator: Any, params: Params | None = None, **kw: Any) -> Any:
        if self.size is None:
            raise TypeError(f"{type(self).__name__}: without size= every sample gets its own size and the op returns "
                            f"a list; a pipeline step or a sample structure needs one batch: pass size=(H, W), or call "
                            f"the op directly on (images, [targets]); in a Compose, an IoU crop and a zoom out next to "
                            f"each other need size= on the second only (RandomIoUCrop() then RandomZoomOut(size=...), "
                            f"or RandomZoomOut() then RandomIoUCrop(size=...))")
        return super()._run(batch, generator, params, **kw)

    def _list_mask(self, m1: torch.Tensor, q: Params) -> torch.Tensor:
        return self._list_image(m1, q, fill=0)


def _overlap_ok(boxes: torch.Tensor, valid: torch.Tensor, jac: torch.Tensor, ltrb: tuple) -> torch.Tensor:
    """SSD's test of every crop ``(b, R, T)`` (``ltrb``: its int64 sides): some valid box ``(b, N, 4)``
    has its centre strictly inside, and the largest IoU of those reaches the round's overlap ``jac``
    ``(b, R)``."""
    bx = boxes.view(boxes.shape[0], 1, 1, -1, 4)
    cx, cy = 0.5 * (bx[..., 0] + bx[..., 2]), 0.5 * (bx[..., 1] + bx[..., 3])
    lf, tp, rt, bt = (v.unsqueeze(-1).float() for v in ltrb)
    inside = (lf < cx) & (cx < rt) & (tp < cy) & (cy < bt) & valid.view(valid.shape[0], 1, 1, -1)
    iw = (torch.minimum(bx[..., 2], rt) - torch.maximum(bx[..., 0], lf)).clamp_min(0)
    ih = (torch.minimum(bx[..., 3], bt) - torch.maximum(bx[..., 1], tp)).clamp_min(0)
    inter = iw * ih
    union = (bx[..., 2] - bx[..., 0]) * (bx[..., 3] - bx[..., 1]) + (rt - lf) * (bt - tp) - inter
    iou = torch.where(inside, inter / union.clamp_min(1e-12), torch.full_like(inter, -1.0))
    return inside.any(-1) & (iou.amax(-1) >= jac.unsqueeze(-1))


def _overlap_ok_by_rounds(ok: torch.Tensor, leave: torch.Tensor, boxes: torch.Tensor, valid: torch.Tensor,
                          jac: torch.Tensor, ltrb: tuple) -> torch.Tensor:
    """``ok & _overlap_ok(...)`` on CPU, evaluated round block by round block ((0), (1, 2), (3, ...))
    for the samples no earlier round stopped: most samples stop in their first round, and the rounds
    after a sample's first stop are never read (they stay False), so the crop picked is the same."""
    b, r = leave.shape
    out = torch.zeros_like(ok)
    pending = torch.arange(b)
    for r0, r1 in ((0, 1), (1, min(3, r)), (min(3, r), r)):
        if r1 <= r0 or not pending.numel():
            continue
        rows = pending if pending.numel() < b else None

        def part(t: torch.Tensor) -> torch.Tensor:
            t = t if rows is None else t.index_select(0, rows)
            return t[:, r0:r1]

        res = part(ok) & _overlap_ok(boxes if rows is None else boxes.index_select(0, rows),
                                     valid if rows is None else valid.index_select(0, rows), part(jac),
                                     tuple(part(v) for v in ltrb))
        if rows is None:
            out[:, r0:r1] = res
        else:
            out[rows, r0:r1] = res
        stopped = (part(leave) | res.any(-1)).any(-1)
        pending = pending[~stopped]
    return out


def _shift(q: Params, dtype: torch.dtype) -> torch.Tensor:
    """``(B, 1, 4)`` offsets ``(left, top, left, top)`` of ``q`` for xyxy boxes."""
    return torch.stack([q["left"], q["top"]] * 2, dim=1).to(dtype).unsqueeze(1)


def _crop_boxes(boxes: torch.Tensor, q: Params) -> torch.Tensor:
    """torchvision's ``F.crop`` of xyxy boxes ``(B, N, 4)`` to the IoU crops ``q`` (``(B,)`` ``top``,
    ``left``, ``height``, ``width``, ``apply``): shifted, clamped to the crop, and zeroed where the
    crop was applied and the box's centre is not strictly inside it (torchvision marks them so)."""
    lf, tp = q["left"].to(boxes.dtype).view(-1, 1), q["top"].to(boxes.dtype).view(-1, 1)
    ww, hh = q["width"].to(boxes.dtype).view(-1, 1), q["height"].to(boxes.dtype).view(-1, 1)
    cx, cy = 0.5 * (boxes[..., 0] + boxes[..., 2]), 0.5 * (boxes[..., 1] + boxes[..., 3])
    inside = (lf < cx) & (cx < lf + ww) & (tp < cy) & (cy < tp + hh)
    moved = torch.minimum((boxes - _shift(q, boxes.dtype)).clamp_min(0), torch.stack([ww, hh, ww, hh], dim=-1))
    keep = inside | ~q["apply"].view(-1, 1)
    return torch.where(keep.unsqueeze(-1), moved, torch.zeros_like(moved))


def _crop_scale(q: Params, size: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """``(B, 1, 4)`` factors taking xyxy boxes in the crops ``q`` to the crops resized to ``size``."""
    oh, ow = size
    return torch.stack([ow / q["width"].to(dtype), oh / q["height"].to(dtype)] * 2, dim=1).unsqueeze(1)


@register("transform", example=lambda: RandomIoUCrop(size=12))
class RandomIoUCrop(_PerSampleSize, _BoxCrop):
    """SSD's random IoU crop (torchvision v2 ``RandomIoUCrop``), each crop resized to ``size``.

    Liu et al. 2016, "SSD: Single Shot MultiBox Detector", sec. 2.2: pick a minimum Jaccard
    overlap from ``sampler_options`` (a value >= 1 leaves the image as it is); try ``trials``
    crops of side scales in ``[min_scale, max_scale]`` and aspect in
    ``[min_aspect_ratio, max_aspect_ratio]``; a crop is valid when some box has its centre
    strictly inside it and the largest IoU of those boxes with the crop reaches the overlap;
    when all trials fail, another overlap is drawn. torchvision's defaults (0.3, 1.0, 0.5, 2.0,
    ``[0, .1, .3, .5, .7, .9, 1]``, 40 trials).

    Vectorised: ``rounds`` (default 10) overlaps x ``trials`` crops are drawn for every sample
    at once and the first valid one of the first successful round is taken; a sample whose
    ``rounds`` all fail (torchvision would keep drawing) is left as it is. Boxes whose centre is
    outside the chosen crop are zeroed (torchvision marks them so), i.e. ``boxes_valid`` False.
    Without boxes (a plain image batch) the first crop passing the size checks is taken.

    Then every sample (cropped or not) is resized to ``size`` (torchvision ``Resize(size)``).
    Shapes: ``(B, C, H, W) -> (B, C, *size)``. Params: ``top``, ``left``, ``height``,
    ``width`` ``(B,)`` int64, ``apply`` (whether the sample was cropped).
    Parity: torchvision's ``F.crop`` + ``F.resize`` with those parameters (exact on CPU).

    Without ``size`` (torchvision's form): a list of the crops at their own sizes, and with
    ``(images, [targets])`` the per-image targets cropped too (boxes shifted and clamped, those
    whose centre left the crop zeroed; masks cropped): :mod:`torchaug.transforms.per_sample`.
    Parity: each element equals torchvision's ``F.crop`` with the same parameters (exact).
    """

    _size_optional = True

    def __init__(
        self,
        min_scale: float = 0.3,
        max_scale: float = 1.0,
        min_aspect_ratio: float = 0.5,
        max_aspect_ratio: float = 2.0,
        sampler_options: Sequence[float] | None = None,
        trials: int = 40,
        *,
        size: Any = None,
        rounds: int = 10,
        interpolation: str = "bilinear",
        antialias: bool = True,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(size, interpolation=interpolation, antialias=antialias, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.min_scale, self.max_scale = _pair((min_scale, max_scale), owner, "min_scale/max_scale", low=0.0)
        self.min_aspect_ratio, self.max_aspect_ratio = _pair((min_aspect_ratio, max_aspect_ratio), owner,
                                                             "min_aspect_ratio/max_aspect_ratio", low=0.0)
        opts = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0] if sampler_options is None else sampler_options
        if not isinstance(opts, Sequence) or not opts or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in opts):
            raise TypeError(f"{owner}: sampler_options must be a non-empty sequence of numbers; got {sampler_options!r}")
        self.sampler_options = [float(v) for v in opts]
        for name, v in (("trials", trials), ("rounds", rounds)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{owner}: {name} must be a positive int; got {v!r}")
        self.trials, self.rounds = trials, rounds

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return self._draw(x, *x.shape[-2:], *self._boxes(x), generator=generator)

    def _draw(self, x: torch.Tensor, h: Any, w: Any, boxes: torch.Tensor, valid: torch.Tensor, *,
              generator: torch.Generator | None) -> Params:
        """The crops of images of ``h`` x ``w`` (ints, or ``(B,)`` int64: zoom-out canvases) holding
        ``boxes`` ``(B, N, 4)`` xyxy (``valid`` ``(B, N)``)."""
        h0, w0 = h, w
        if isinstance(h, torch.Tensor):
            h, w = h.view(-1, 1, 1), w.view(-1, 1, 1)
        r, t = self.rounds, self.trials
        dev = x.device
        opts = constant(tuple(self.sampler_options), dev)
        oi = (self._rand(x, r, generator=generator) * len(opts)).floor().long().clamp_max(len(opts) - 1)
        jac = opts[oi]  # (B, R)
        u = self._rand(x, r, t, 4, generator=generator)  # float32 as torchvision's torch.rand
        sc = self.min_scale + (self.max_scale - self.min_scale) * u[..., :2]
        nw = (w * sc[..., 0]).floor().long()
        nh = (h * sc[..., 1]).floor().long()
        aspect = nw.double() / nh.double().clamp_min(1e-12)
        left = ((w - nw) * u[..., 2]).floor().long()
        top = ((h - nh) * u[..., 3]).floor().long()
        right, bottom = left + nw, top + nh
        ok = (aspect >= self.min_aspect_ratio) & (aspect <= self.max_aspect_ratio) & (nw > 0) & (nh > 0)
        leave = jac >= 1.0  # (B, R)
        ok &= ~leave.unsqueeze(-1)
        if boxes.shape[1] and cpu_path(x) and r > 1:
            ok = _overlap_ok_by_rounds(ok, leave, boxes, valid, jac, (left, top, right, bottom))
        elif boxes.shape[1]:
            ok &= _overlap_ok(boxes, valid, jac, (left, top, right, bottom))
        stop = leave | ok.any(-1)
        ri, any_stop = _first_true(stop)  # the first round that ends (a crop, or "leave as is")
        ti, found = _first_true(_take(ok, ri))
        crop = any_stop & found

        def pick(v: torch.Tensor) -> torch.Tensor:
            return _take(_take(v, ri), ti)

        top = torch.where(crop, pick(top), 0)
        left = torch.where(crop, pick(left), 0)
        height = torch.where(crop, pick(nh), h0)
        width = torch.where(crop, pick(nw), w0)
        return {"top": top, "left": left, "height": height, "width": width, "apply": crop}

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        if boxes.shape[1] == 0:
            return boxes
        return _crop_boxes(boxes, params) * _crop_scale(params, self.size, boxes.dtype)

    # -- per-sample sizes (no size=): torchaug.transforms.per_sample
    def _list_params(self, x: torch.Tensor, boxes: torch.Tensor | None, valid: torch.Tensor | None,
                     generator: torch.Generator | None, params: Params | None) -> Params:
        self._ctx = None if boxes is None else (boxes, valid)
        try:
            return self._params(x, generator, params)[0]
        finally:
            self._ctx = None

    def _list_image(self, x1: torch.Tensor, q: Params, fill: float = 0) -> torch.Tensor:
        t, l_, hh, ww = (int(q[k]) for k in ("top", "left", "height", "width"))
        return x1[..., t : t + hh, l_ : l_ + ww].clone()

    def _list_boxes(self, b1: torch.Tensor, q: Params, in_hw: tuple[int, int]) -> torch.Tensor:
        return _crop_boxes(b1, q)

    def fused_with(self, nxt: Any) -> RandomTransform | None:
        """Without ``size=``, followed by ``RandomZoomOut(size=...)``: one step, one resize
        (torchvision's ``RandomIoUCrop`` -> ``RandomZoomOut`` -> ``Resize``; see ``Compose``)."""
        if self.size is None and type(nxt) is RandomZoomOut and nxt.size is not None:
            return _IoUCropZoomOut(self, nxt)
        return None

    def extra_repr(self) -> str:
        return (f"min_scale={self.min_scale}, max_scale={self.max_scale}, aspect=({self.min_aspect_ratio}, "
                f"{self.max_aspect_ratio}), sampler_options={self.sampler_options}, trials={self.trials}, "
                + super().extra_repr())


@register("transform", example=lambda: RandomZoomOut(size=12, fill=0, side_range=(1.0, 2.0), p=0.5))
class RandomZoomOut(_PerSampleSize, RandomTransform):
    """SSD's zoom out (torchvision v2 ``RandomZoomOut``), each canvas resized to ``size``.

    Liu et al. 2016 (SSD, sec. 3.6 "data augmentation for small objects"): place the image on a
    canvas ``r`` times its sides, ``r`` uniform in ``side_range`` (default 1-4), at a uniform
    position, the rest ``fill`` (a number or one per channel, in the image's scale); with
    probability ``p`` (default 0.5). Then the canvas is resized to ``size`` (antialiased
    bilinear; masks nearest, filled with 0) without building it
    (:func:`torchaug.functional.zoom.zoom_out_resize`: on the CPU the output is filled and only
    the band of rows and columns that sees the image is interpolated, with torchvision's kernel).

    Without ``size`` (torchvision's form): a list of the canvases at their own sizes, and with
    ``(images, [targets])`` the per-image targets moved too (boxes shifted, masks padded with 0):
    :mod:`torchaug.transforms.per_sample`; each element equals torchvision's ``F.pad`` (exact).

    Shapes: ``(B, C, H, W) -> (B, C, *size)``. Params: ``top``, ``left`` (padding before the
    image), ``canvas_h``, ``canvas_w`` ``(B,)`` int64, ``apply``.
    Parity: torchvision's ``F.pad`` + ``F.resize`` with those parameters (float within 1e-5,
    uint8 within one grey level: torchvision resizes the uint8 canvas with its integer kernel).
    """

    keeps_size = False
    geometric = True

    def __init__(self, fill: Any = 0, side_range: Sequence[float] = (1.0, 4.0), p: float = 0.5, *, size: Any = None,
                 antialias: bool = True, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.fill = _fill(fill, owner)
        if self.fill is None:
            raise TypeError(f"{owner}: fill must be a number or a sequence of numbers (one per channel); got None")
        self.side_range = _pair(side_range, owner, "side_range", low=1.0)
        self.size = None if size is None else _size(size, owner)
        self.antialias = check_bool(antialias, owner=owner, name="antialias")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return self._draw(x, *x.shape[-2:], generator=generator)

    def _draw(self, x: torch.Tensor, h: Any, w: Any, *, generator: torch.Generator | None) -> Params:
        """The draws for images of ``h`` x ``w`` (ints, or ``(B,)`` int64: the crops of ``RandomIoUCrop``)."""
        u = self._rand(x, 3, generator=generator)
        r = self.side_range[0] + u[:, 0] * (self.side_range[1] - self.side_range[0])
        cw, ch = (w * r).floor().long(), (h * r).floor().long()
        left = ((cw - w) * u[:, 1]).floor().long()
        top = ((ch - h) * u[:, 2]).floor().long()
        apply = self._rand(x, generator=generator) < self.p
        return {"top": torch.where(apply, top, 0), "left": torch.where(apply, left, 0),
                "canvas_h": torch.where(apply, ch, h), "canvas_w": torch.where(apply, cw, w), "apply": apply}

    def transform(self, x: torch.Tensor, params: Params, *, crop: Params | None = None,
                  size: tuple[int, int] | None = None) -> torch.Tensor:
        """``crop``: windows of the images (``top``, ``left``, ``height``, ``width``) placed instead of
        the images; ``size``: instead of ``self.size`` (both for the fused steps, see ``Compose``)."""
        _check_fill(self.fill, x, type(self).__name__)
        c = x.shape[1]
        if isinstance(self.fill, list) and len(self.fill) not in (1, c):
            raise ValueError(f"{type(self).__name__}: fill must be one number or {c} (one per channel); got {self.fill!r}")
        window = None if crop is None else tuple(crop[k] for k in ("top", "left", "height", "width"))
        return FZ.zoom_out_resize(x, params["top"], params["left"], params["canvas_h"], params["canvas_w"],
                                  size or self.size, self.fill, antialias=self.antialias, max_side=self.side_range[1],
                                  crop=window)

    def transform_mask(self, m: torch.Tensor, params: Params, *, crop: Params | None = None,
                       size: tuple[int, int] | None = None) -> torch.Tensor:
        oh, ow = size or self.size
        dev = m.device
        h, w = m.shape[-2:]
        rows = (torch.arange(oh, device=dev, dtype=torch.float32) * (params["canvas_h"].float() / oh).unsqueeze(1))
        cols = (torch.arange(ow, device=dev, dtype=torch.float32) * (params["canvas_w"].float() / ow).unsqueeze(1))
        rows = rows.floor().long() - params["top"].unsqueeze(1)
        cols = cols.floor().long() - params["left"].unsqueeze(1)
        if crop is None:
            ok = ((rows >= 0) & (rows < h)).unsqueeze(2) & ((cols >= 0) & (cols < w)).unsqueeze(1)  # (B, oh, ow)
        else:  # the crop's rows and columns, then shifted into the mask
            ok = ((rows >= 0) & (rows < crop["height"].unsqueeze(1))).unsqueeze(2) \
                & ((cols >= 0) & (cols < crop["width"].unsqueeze(1))).unsqueeze(1)
            rows, cols = rows + crop["top"].unsqueeze(1), cols + crop["left"].unsqueeze(1)
        g = FG._gather(m, rows.clamp(0, h - 1), cols.clamp(0, w - 1))
        return torch.where(ok.unsqueeze(1), g, torch.zeros((), dtype=m.dtype, device=dev))

    # -- per-sample sizes (no size=): torchaug.transforms.per_sample
    def _list_params(self, x: torch.Tensor, boxes: torch.Tensor | None, valid: torch.Tensor | None,
                     generator: torch.Generator | None, params: Params | None) -> Params:
        return self._params(x, generator, params)[0]

    def _list_image(self, x1: torch.Tensor, q: Params, fill: Any = None) -> torch.Tensor:
        if fill is None:  # the image (masks: 0)
            _check_fill(self.fill, x1, type(self).__name__)
            fill = self.fill
        t, l_, ch, cw = (int(q[k]) for k in ("top", "left", "canvas_h", "canvas_w"))
        h, w = x1.shape[-2:]
        return FR.pad_sides(x1, l_, t, cw - w - l_, ch - h - t, fill=fill)

    def _list_boxes(self, b1: torch.Tensor, q: Params, in_hw: tuple[int, int]) -> torch.Tensor:
        t, l_ = int(q["top"]), int(q["left"])
        return b1 + constant((float(l_), float(t), float(l_), float(t)), b1.device, b1.dtype)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int], *,
                         out_size: tuple[int, int] | None = None) -> torch.Tensor:
        oh, ow = out_size or self.size
        shift = torch.stack([params["left"], params["top"]], dim=1).to(points.dtype).unsqueeze(1)
        scale = torch.stack([ow / params["canvas_w"].to(points.dtype),
                             oh / params["canvas_h"].to(points.dtype)], dim=1).unsqueeze(1)
        return (points + shift) * scale

    def fused_with(self, nxt: Any) -> RandomTransform | None:
        """Without ``size=``, followed by ``RandomIoUCrop(size=...)``: one step, one resize
        (torchvision's ``RandomZoomOut`` -> ``RandomIoUCrop`` -> ``Resize``, its SSD order; see ``Compose``)."""
        if self.size is None and type(nxt) is RandomIoUCrop and nxt.size is not None:
            return _ZoomOutIoUCrop(self, nxt)
        return None

    def extra_repr(self) -> str:
        return f"size={self.size}, fill={self.fill}, side_range={self.side_range}, " + super().extra_repr()


class _CropZoomOut(RandomTransform):
    """An IoU crop and a zoom out (either order) as one step for ``Compose``: each sample's part of
    the image is placed on a fill canvas and resized to ``size`` once
    (:func:`torchaug.functional.zoom.zoom_out_resize` with ``crop=``), nothing copied out at its
    own size or resized twice. The result is torchvision's two ops then ``Resize(size)`` with the
    same parameters (boxes clamped to the crop, those whose centre left it zeroed; masks nearest).
    Params: the crop's keys prefixed ``crop.``, the zoom's ``zoom.``; ``Compose`` reports them apart.
    A subclass gives ``_draw`` (both ops' draws, in step order), ``_placement`` (the parameters as
    ``zoom_out_resize``'s canvas and image window, for images of ``hw``) and ``transform_boxes``.
    """

    __torchaug_public__ = False
    keeps_size = False
    geometric = True
    _zoom_first = False

    def __init__(self, first: RandomTransform, second: RandomTransform) -> None:
        super().__init__()
        self.zoom, self.crop = (first, second) if self._zoom_first else (second, first)
        self.size = second.size

    def _prefixes(self) -> tuple[str, str]:
        return ("zoom.", "crop.") if self._zoom_first else ("crop.", "zoom.")

    def join_params(self, first: Params | None, second: Params | None) -> Params | None:
        """The two steps' replayed parameters (both or neither, in step order) as this step's."""
        if first is None and second is None:
            return None
        if not isinstance(first, dict) or not isinstance(second, dict):
            raise TypeError(f"{type(self.crop).__name__} and {type(self.zoom).__name__} run as one step: replay both "
                            f"steps' params (the dicts return_params=True gave); got {describe(first)} and "
                            f"{describe(second)}")
        a, b = self._prefixes()
        return {**{a + k: v for k, v in first.items()}, **{b + k: v for k, v in second.items()}}

    def split_params(self, params: Params) -> tuple[Params, Params]:
        """This step's parameters as the two steps' (in step order)."""
        return tuple({k[len(pre):]: v for k, v in params.items() if k.startswith(pre)} for pre in self._prefixes())

    def _parts(self, params: Params) -> tuple[Params, Params]:
        """``(crop, zoom)`` parameters."""
        first, second = self.split_params(params)
        return (second, first) if self._zoom_first else (first, second)

    def _run(self, batch: dict, generator: Any, params: Params | None = None, **kw: Any) -> Any:
        boxes = batch.get(_t.BOXES)
        self.crop._ctx = (boxes[0], batch[_t.VALID][0]) if boxes else None
        try:
            return super()._run(batch, generator, params, **kw)
        finally:
            self.crop._ctx = None

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return self.join_params(*self._draw(x, generator))

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        canvas, window = self._placement(params, x.shape[-2:])
        return self.zoom.transform(x, canvas, crop=window, size=self.size)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        canvas, window = self._placement(params, m.shape[-2:])
        return self.zoom.transform_mask(m, canvas, crop=window, size=self.size)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        canvas, window = self._placement(params, size)
        shift = torch.stack([window["left"], window["top"]], dim=1).to(points.dtype).unsqueeze(1)
        return self.zoom.transform_points(points - shift, canvas, size, out_size=self.size)

    def extra_repr(self) -> str:
        return f"crop={self.crop!r}, zoom={self.zoom!r}"


class _IoUCropZoomOut(_CropZoomOut):
    """``RandomIoUCrop()`` (no ``size``) then ``RandomZoomOut(size=...)``: the crop is the window
    placed on a canvas ``r`` times the crop's sides (:meth:`RandomIoUCrop.fused_with`)."""

    def _draw(self, x: torch.Tensor, generator: torch.Generator | None) -> tuple[Params, Params]:
        cp = self.crop.make_params(x, generator)
        return cp, self.zoom._draw(x, cp["height"], cp["width"], generator=generator)

    def _placement(self, params: Params, hw: Sequence[int]) -> tuple[Params, Params]:
        cp, zp = self._parts(params)
        return zp, cp

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        if boxes.shape[1] == 0:
            return boxes
        cp, zp = self._parts(params)
        return FG.points_to_boxes(self.zoom.transform_points(FG.box_corners(_crop_boxes(boxes, cp)), zp, size,
                                                             out_size=self.size))


class _ZoomOutIoUCrop(_CropZoomOut):
    """``RandomZoomOut()`` (no ``size``) then ``RandomIoUCrop(size=...)`` (torchvision's SSD order):
    the IoU crop is drawn on each zoom-out canvas (its boxes moved onto it), and the part of the
    image inside the crop is the window placed (:meth:`RandomZoomOut.fused_with`)."""

    _zoom_first = True

    def _draw(self, x: torch.Tensor, generator: torch.Generator | None) -> tuple[Params, Params]:
        zp = self.zoom.make_params(x, generator)
        boxes, valid = self.crop._boxes(x)
        cp = self.crop._draw(x, zp["canvas_h"], zp["canvas_w"], boxes + _shift(zp, boxes.dtype), valid,
                             generator=generator)
        return zp, cp

    def _placement(self, params: Params, hw: Sequence[int]) -> tuple[Params, Params]:
        """The crop is the canvas; the image's rows (columns) inside it are the window, at their place."""
        cp, zp = self._parts(params)
        h, w = hw
        y0 = torch.maximum(zp["top"], cp["top"])
        x0 = torch.maximum(zp["left"], cp["left"])
        y1 = torch.minimum(zp["top"] + h, cp["top"] + cp["height"])
        x1 = torch.minimum(zp["left"] + w, cp["left"] + cp["width"])
        canvas = {"top": y0 - cp["top"], "left": x0 - cp["left"], "canvas_h": cp["height"], "canvas_w": cp["width"]}
        window = {"top": y0 - zp["top"], "left": x0 - zp["left"], "height": (y1 - y0).clamp_min(0),
                  "width": (x1 - x0).clamp_min(0)}
        return canvas, window

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        if boxes.shape[1] == 0:
            return boxes
        cp, zp = self._parts(params)
        # moved onto the canvas, cropped, resized
        return _crop_boxes(boxes + _shift(zp, boxes.dtype), cp) * _crop_scale(cp, self.size, boxes.dtype)


@register("transform", example=lambda: BBoxSafeRandomCrop(erosion_rate=0.2, size=16))
class BBoxSafeRandomCrop(_BoxCrop):
    """A random crop that keeps every box (albumentations 2.0.8 ``BBoxSafeRandomCrop``), resized to ``size``.

    albumentations' rule, per sample: the union of the sample's valid boxes, shrunk by
    ``erosion_rate`` of its width/height (half each side), clipped to the image; the crop's
    left/top is uniform in ``[0, union_min)`` (``int(x_min * u * W)``), its right/bottom
    ``int((x_max + (1 - x_max) * u) * W)``. Without boxes (or a union eroded away):
    a crop of height ``randint(int(H * (1 - erosion_rate)), H)``, the image's aspect, at a
    uniform position (albumentations' ``get_crop_coords``). ``erosion_rate=0`` keeps every box
    whole. albumentations returns crops of their own sizes; a batch resizes them to ``size``
    (``RandomSizedBBoxSafeCrop`` is the same with ``height``, ``width``).

    Shapes: ``(B, C, H, W) -> (B, C, *size)``. Params: ``top``, ``left``, ``height``,
    ``width`` ``(B,)`` int64. Parity: albumentations' crop coordinates for the same draws.
    """

    def __init__(self, erosion_rate: float = 0.0, p: float = 1.0, *, size: Any, interpolation: str = "bilinear",
                 antialias: bool = True, same_on_batch: bool = False) -> None:
        super().__init__(size, interpolation=interpolation, antialias=antialias, p=p, same_on_batch=same_on_batch)
        self.erosion_rate = float(check_number(erosion_rate, owner=type(self).__name__, name="erosion_rate",
                                               low=0.0, high=1.0))

    @staticmethod
    def crop_coords(boxes: torch.Tensor, valid: torch.Tensor, size: tuple[int, int], erosion_rate: float,
                    u: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Crop ``(top, left, height, width)`` from boxes ``(B, N, 4)`` and uniforms ``u`` ``(B, 5)``."""
        h, w = size
        b = u.shape[0]
        dt = torch.float64
        u = u.to(dt)
        nb = torch.zeros(b, dtype=torch.long, device=u.device) if boxes.shape[1] == 0 else valid.sum(1)
        if boxes.shape[1]:
            bx = boxes.to(dt) / constant((float(w), float(h), float(w), float(h)), u.device, dt)
            big = torch.full_like(bx[..., 0], float("inf"))
            x0 = torch.where(valid, bx[..., 0], big).amin(1)
            y0 = torch.where(valid, bx[..., 1], big).amin(1)
            x1 = torch.where(valid, bx[..., 2], -big).amax(1)
            y1 = torch.where(valid, bx[..., 3], -big).amax(1)
        else:
            x0 = y0 = torch.zeros(b, dtype=dt, device=u.device)
            x1 = y1 = torch.ones(b, dtype=dt, device=u.device)
        ex, ey = (x1 - x0) * erosion_rate * 0.5, (y1 - y0) * erosion_rate * 0.5
        many = nb > 1  # albumentations erodes the union of two or more boxes only
        x0, x1 = torch.where(many, x0 + ex, x0), torch.where(many, x1 - ex, x1)
        y0, y1 = torch.where(many, y0 + ey, y0), torch.where(many, y1 - ey, y1)
        has = (nb > 0) & (erosion_rate < 1.0) & ~(many & (((x1 - x0).abs() < 1e-6) | ((y1 - y0).abs() < 1e-6)))
        x0, y0 = x0.clamp(0, 1), y0.clamp(0, 1)
        x1, y1 = torch.maximum(x1.clamp(max=1), x0), torch.maximum(y1.clamp(max=1), y0)
        cl = (x0 * u[:, 0] * w).floor()
        ct = (y0 * u[:, 1] * h).floor()
        cr = ((x1 + (1 - x1) * u[:, 2]) * w).floor()
        cb = ((y1 + (1 - y1) * u[:, 3]) * h).floor()
        # no boxes: a crop of albumentations' height range at the image's aspect, uniform position
        eh = int(h * (1.0 - erosion_rate))
        nh = torch.full_like(cl, h) if eh >= h else (eh + (u[:, 4] * (h - eh + 1)).floor()).clamp_max(h)
        nw = (nh * w / h).floor().clamp_max(w)
        nt = ((h - nh + 1) * u[:, 1]).floor().clamp_max(h - nh)
        nl = ((w - nw + 1) * u[:, 0]).floor().clamp_max(w - nw)
        top = torch.where(has, ct, nt).long()
        left = torch.where(has, cl, nl).long()
        height = torch.where(has, cb - ct, nh).long().clamp_min(1)
        width = torch.where(has, cr - cl, nw).long().clamp_min(1)
        return top, left, height, width

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        boxes, valid = self._boxes(x)
        u = self._rand(x, 5, generator=generator)
        top, left, height, width = self.crop_coords(boxes, valid, tuple(x.shape[-2:]), self.erosion_rate, u)
        if self.p < 1.0:
            apply = self._rand(x, generator=generator) < self.p
            h, w = x.shape[-2:]
            top, left = torch.where(apply, top, 0), torch.where(apply, left, 0)
            height, width = torch.where(apply, height, h), torch.where(apply, width, w)
            return {"top": top, "left": left, "height": height, "width": width, "apply": apply}
        return {"top": top, "left": left, "height": height, "width": width}

    def extra_repr(self) -> str:
        return f"erosion_rate={self.erosion_rate}, " + super().extra_repr()


@register("transform", example=lambda: RandomSizedBBoxSafeCrop(16, 14, erosion_rate=0.1))
class RandomSizedBBoxSafeCrop(BBoxSafeRandomCrop):
    """albumentations 2.0.8 ``RandomSizedBBoxSafeCrop(height, width, erosion_rate)``: the bbox-safe crop
    of :class:`BBoxSafeRandomCrop`, resized to ``(height, width)`` (bilinear, antialiased; masks nearest)."""

    def __init__(self, height: int, width: int, erosion_rate: float = 0.0, p: float = 1.0, *,
                 interpolation: str = "bilinear", antialias: bool = True, same_on_batch: bool = False) -> None:
        super().__init__(erosion_rate, p, size=(height, width), interpolation=interpolation, antialias=antialias,
                         same_on_batch=same_on_batch)


class _FixedCrop(RandomTransform):
    """A crop of one size ``(height, width)`` per sample at (``top``, ``left``), from the sample's targets."""

    __torchaug_public__ = False
    keeps_size = False
    geometric = True
    supports_uint16 = True

    def __init__(self, height: int, width: int, *, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.size = _size((height, width), type(self).__name__, "height/width")
        self._ctx: dict | None = None

    def _run(self, batch: dict, generator: Any, params: Params | None = None, **kw: Any) -> Any:
        self._ctx = batch
        try:
            return super()._run(batch, generator, params, **kw)
        finally:
            self._ctx = None

    def _check_size(self, x: torch.Tensor) -> None:
        h, w = x.shape[-2:]
        if self.size[0] > h or self.size[1] > w:
            raise ValueError(f"{type(self).__name__}: crop size {self.size} is larger than the image {(h, w)}")

    def _rand_int(self, x: torch.Tensor, low: torch.Tensor | int, high: torch.Tensor | int,
                  generator: torch.Generator | None) -> torch.Tensor:
        """Integers uniform in ``[low, high]`` (both included, as Python's ``randint``) per sample."""
        u = self._rand(x, generator=generator).double()
        if not isinstance(low, torch.Tensor) and not isinstance(high, torch.Tensor):
            return (low + (u * (high - low + 1)).floor().long()).clamp_max(high)
        lo = low if isinstance(low, torch.Tensor) else torch.full_like(high, low)
        hi = high if isinstance(high, torch.Tensor) else torch.full_like(low, high)
        return torch.minimum(lo + (u * (hi - lo + 1).double()).floor().long(), hi)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.crop(x, params["top"], params["left"], *self.size)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return points - torch.stack([params["left"], params["top"]], dim=1).to(points.dtype).unsqueeze(1)

    def extra_repr(self) -> str:
        return f"height={self.size[0]}, width={self.size[1]}, " + super().extra_repr()


@register("transform", example=lambda: CropNonEmptyMaskIfExists(14, 12))
class CropNonEmptyMaskIfExists(_FixedCrop):
    """A ``(height, width)`` crop around a random non-empty mask pixel (albumentations 2.0.8).

    albumentations' rule, per sample: the mask (every channel of the first mask target; values
    in ``ignore_values`` and channels in ``ignore_channels`` count as empty); if any pixel is set,
    pick one uniformly, ``x_min = x - randint(0, width - 1)`` (``y`` likewise), clipped into the
    image; else a uniform crop. Without a mask target (a plain image batch) every crop is uniform.
    Batched: the uniform pick is the argmax of uniform scores over the set pixels.
    Shapes: ``(B, C, H, W) -> (B, C, height, width)``. Params: ``top``, ``left`` ``(B,)`` int64.
    Parity: albumentations' coordinates for the same picked pixel and offsets (exact crop).
    """

    def __init__(self, height: int, width: int, ignore_values: Sequence[int] | None = None,
                 ignore_channels: Sequence[int] | None = None, p: float = 1.0) -> None:
        super().__init__(height, width, p=p)
        owner = type(self).__name__
        for name, v in (("ignore_values", ignore_values), ("ignore_channels", ignore_channels)):
            if v is not None and not (isinstance(v, Sequence) and all(isinstance(e, int) and not isinstance(e, bool) for e in v)):
                raise TypeError(f"{owner}: {name} must be None or a sequence of ints; got {v!r}")
        self.ignore_values = None if ignore_values is None else [int(v) for v in ignore_values]
        self.ignore_channels = None if ignore_channels is None else [int(v) for v in ignore_channels]

    def _mask(self, x: torch.Tensor) -> torch.Tensor | None:
        masks = (self._ctx or {}).get(_t.MASK)
        if not masks:
            return None
        m = masks[0].to(x.device)
        if m.shape[0] != x.shape[0]:
            return None
        if self.ignore_channels is not None and m.shape[1] > 1:
            keep = [c for c in range(m.shape[1]) if c not in self.ignore_channels]
            m = m[:, keep]
        if self.ignore_values is not None:
            m = torch.where(torch.isin(m, constant(tuple(self.ignore_values), m.device, m.dtype)),
                            torch.zeros((), dtype=m.dtype, device=m.device), m)
        return (m != 0).any(dim=1)  # (B, H, W)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        self._check_size(x)
        h, w = x.shape[-2:]
        ch, cw = self.size
        m = self._mask(x)
        ut = self._rand_int(x, 0, h - ch, generator)
        ul = self._rand_int(x, 0, w - cw, generator)
        if m is None:
            return {"top": ut, "left": ul}
        score = torch.where(m.flatten(1), self._rand(x, h * w, generator=generator), -1.0)
        pix = score.argmax(1)
        y, xx = torch.div(pix, w, rounding_mode="floor"), pix % w
        oy = self._rand_int(x, 0, ch - 1, generator)
        ox = self._rand_int(x, 0, cw - 1, generator)
        has = m.flatten(1).any(1)
        top = torch.where(has, (y - oy).clamp(0, h - ch), ut)
        left = torch.where(has, (xx - ox).clamp(0, w - cw), ul)
        return {"top": top, "left": left}


@register("transform", example=lambda: AtLeastOneBBoxRandomCrop(14, 12, erosion_factor=0.2))
class AtLeastOneBBoxRandomCrop(_FixedCrop):
    """A ``(height, width)`` crop holding at least one (eroded) box (albumentations 2.0.8 ``AtLeastOneBBoxRandomCrop``).

    albumentations' rule, per sample: pick one valid box uniformly, shrink it by
    ``erosion_factor`` (the box keeps ``1 - erosion_factor`` of its sides, centred); the crop's
    left is uniform in the integers that keep the eroded box inside the crop and the crop inside
    the image, ``[max(0, ceil(x2e) - width), min(floor(x1e), W - width)]`` (top likewise; a box
    larger than the crop: its range is reversed and the crop starts at the box's eroded left).
    Without boxes, a uniform crop. Params: ``top``, ``left`` ``(B,)`` int64.
    """

    def __init__(self, height: int, width: int, erosion_factor: float = 0.0, p: float = 1.0) -> None:
        super().__init__(height, width, p=p)
        self.erosion_factor = float(check_number(erosion_factor, owner=type(self).__name__, name="erosion_factor",
                                                 low=0.0, high=1.0))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        self._check_size(x)
        h, w = x.shape[-2:]
        ch, cw = self.size
        boxes = (self._ctx or {}).get(_t.BOXES)
        ut = self._rand_int(x, 0, h - ch, generator)
        ul = self._rand_int(x, 0, w - cw, generator)
        if not boxes or boxes[0].shape[1] == 0 or boxes[0].shape[0] != x.shape[0]:
            return {"top": ut, "left": ul}
        bx = boxes[0].to(x.device, torch.float32)
        valid = self._ctx[_t.VALID][0].to(x.device)
        score = torch.where(valid, self._rand(x, bx.shape[1], generator=generator), -1.0)
        pick = score.argmax(1)
        bb = bx.gather(1, pick.view(-1, 1, 1).expand(-1, 1, 4)).squeeze(1)
        e = self.erosion_factor / 2.0
        bw, bh = bb[:, 2] - bb[:, 0], bb[:, 3] - bb[:, 1]
        x1, x2 = bb[:, 0] + e * bw, bb[:, 2] - e * bw
        y1, y2 = bb[:, 1] + e * bh, bb[:, 3] - e * bh
        lo_l = (x2.ceil().long() - cw).clamp_min(0)
        hi_l = torch.minimum(x1.floor().long(), torch.full_like(lo_l, w - cw))
        lo_t = (y2.ceil().long() - ch).clamp_min(0)
        hi_t = torch.minimum(y1.floor().long(), torch.full_like(lo_t, h - ch))
        hi_l, hi_t = torch.maximum(hi_l, lo_l), torch.maximum(hi_t, lo_t)
        left = self._rand_int(x, lo_l, hi_l, generator).clamp(0, w - cw)
        top = self._rand_int(x, lo_t, hi_t, generator).clamp(0, h - ch)
        has = valid.any(1)
        return {"top": torch.where(has, top, ut), "left": torch.where(has, left, ul)}

    def extra_repr(self) -> str:
        return f"erosion_factor={self.erosion_factor}, " + super().extra_repr()


# ---------------------------------------------------------------------------------------------
# box clean-up
# ---------------------------------------------------------------------------------------------
@register("transform", example=lambda: ClampBoundingBoxes())
class ClampBoundingBoxes(RandomTransform):
    """Clip boxes to the image (torchvision v2 ``ClampBoundingBoxes``); images and masks unchanged.

    Boxes (any axis-aligned format; per-image lists or batched) are clamped to
    ``[0, W] x [0, H]`` and those left under one pixel wide or high get ``boxes_valid`` False
    (the dict form; :func:`torchaug.transforms.targets.boxes_valid` for any other). Nothing is
    removed: follow it with :class:`SanitizeBoundingBoxes` to drop them with their labels.
    """

    geometric = True
    supports_uint16 = True

    def __init__(self) -> None:
        super().__init__()

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return x

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return points

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return boxes


def _default_labels(sample: Any) -> Any:
    """torchvision's default labels heuristic: the ``labels`` key (or the first key with ``label``)."""
    d = sample[1] if isinstance(sample, (tuple, list)) and len(sample) >= 2 else sample
    if not isinstance(d, dict):
        return None
    for k in d:
        if isinstance(k, str) and k.lower() == "labels":
            return d[k]
    for k in d:
        if isinstance(k, str) and "label" in k.lower():
            return d[k]
    return None


class SanitizeBoundingBoxes(nn.Module):
    """Remove degenerate boxes with their labels and masks (torchvision v2 ``SanitizeBoundingBoxes``).

    A box is kept when it is at least ``min_size`` wide and high, covers at least ``min_area``,
    and lies in ``[0, W] x [0, H]`` (torchvision's rule). Accepts a sample ``(image, target)``,
    a dict ``{"image", "boxes", "labels", ...}``, or a batch ``(images, [target_0, target_1, ...])``
    with per-image target dicts (boxes of different counts): each target's ``boxes``, its labels
    (``labels_getter``: default torchvision's heuristic, the ``labels`` key; a callable taking
    the target dict; or None) and every tensor of the same leading size (per-instance ``Mask``,
    ``iscrowd``, ``area``) are filtered together. Batched ``(B, N, 4)`` boxes cannot lose slots:
    for them the dict gets ``"boxes_valid"`` instead. Removal reads the kept count on the host
    (a box list's length is a host value), so it is for the end of a pipeline, as in torchvision.
    """

    __torchaug_public__ = False  # a target filter with no randomness: not an augmenter of the registry

    def __init__(self, min_size: float = 1.0, min_area: float = 1.0,
                 labels_getter: Callable[[Any], Any] | str | None = "default") -> None:
        super().__init__()
        owner = type(self).__name__
        self.min_size = float(check_number(min_size, owner=owner, name="min_size", low=0.0))
        self.min_area = float(check_number(min_area, owner=owner, name="min_area", low=0.0))
        if not (labels_getter is None or labels_getter == "default" or callable(labels_getter)):
            raise TypeError(f"{owner}: labels_getter must be 'default', a callable or None; got {labels_getter!r}")
        self.labels_getter = labels_getter

    def valid(self, boxes: torch.Tensor, canvas_size: tuple[int, int]) -> torch.Tensor:
        """``(..., N)`` bool keep-mask of ``boxes`` (any tv format; plain: xyxy) on ``canvas_size=(H, W)``."""
        t = _t._to_xyxy(boxes)
        h, w = canvas_size
        ws, hs = t[..., 2] - t[..., 0], t[..., 3] - t[..., 1]
        ok = (ws >= self.min_size) & (hs >= self.min_size) & (t >= 0).all(-1) & (ws * hs >= self.min_area)
        return ok & (t[..., 0] <= w) & (t[..., 2] <= w) & (t[..., 1] <= h) & (t[..., 3] <= h)

    def _canvas(self, boxes: Any, image: Any) -> tuple[int, int]:
        cs = getattr(boxes, "canvas_size", None)
        if cs is not None:
            return tuple(cs)
        if isinstance(image, torch.Tensor):
            return tuple(image.shape[-2:])
        raise ValueError(f"{type(self).__name__}: plain-tensor boxes need the image in the sample to know the canvas size")

    def _labels(self, target: Any) -> Any:
        if self.labels_getter is None:
            return None
        if self.labels_getter == "default":
            return _default_labels(target)
        return self.labels_getter(target)

    def _filter(self, target: dict, image: Any) -> dict:
        key = next((k for k, v in target.items() if _is_boxes(k, v)), None)
        if key is None:
            return target
        boxes = target[key]
        if boxes.ndim == 3:  # batched: flag, cannot remove
            out = dict(target)
            out[_t.VALID] = self.valid(boxes, self._canvas(boxes, image))
            return out
        keep = self.valid(boxes, self._canvas(boxes, image))
        n = boxes.shape[0]
        labels = self._labels(target)
        out = {}
        for k, v in target.items():
            if k == key or v is labels or (isinstance(v, torch.Tensor) and v.ndim >= 1 and v.shape[0] == n
                                           and (k in ("masks", "mask", "iscrowd", "area") or _is_mask(v))):
                out[k] = _keep(v, keep)
            else:
                out[k] = v
        return out

    def forward(self, *inputs: Any) -> Any:
        sample = inputs[0] if len(inputs) == 1 else inputs
        image = _find_image(sample)
        if isinstance(sample, dict):
            return self._filter(sample, image)
        if isinstance(sample, (tuple, list)) and len(sample) >= 2:
            tgt = sample[1]
            if isinstance(tgt, dict):
                new = self._filter(tgt, image)
            elif isinstance(tgt, (list, tuple)) and all(isinstance(d, dict) for d in tgt):
                imgs = image if isinstance(image, (list, tuple)) else None
                new = type(tgt)(self._filter(d, imgs[i] if imgs is not None else _row(image, i)) for i, d in enumerate(tgt))
            else:
                raise TypeError(f"{type(self).__name__}: the target must be a dict or a list of per-image dicts; "
                                f"got {describe(tgt)}")
            return type(sample)([sample[0], new, *sample[2:]])
        raise TypeError(f"{type(self).__name__}: input must be a dict sample, (image, target) or "
                        f"(images, [targets]); got {describe(sample)}")

    def extra_repr(self) -> str:
        return f"min_size={self.min_size}, min_area={self.min_area}"


def _is_boxes(k: Any, v: Any) -> bool:
    if not isinstance(v, torch.Tensor):
        return False
    tv = _t._tv()
    return isinstance(v, tv.BoundingBoxes) or (k == "boxes" and v.shape[-1:] == (4,))


def _is_mask(v: Any) -> bool:
    return isinstance(v, _t._tv().Mask)


def _keep(v: Any, keep: torch.Tensor) -> Any:
    out = v.as_subclass(torch.Tensor)[keep.to(v.device)]
    tv = _t._tv()
    return tv.wrap(out, like=v) if isinstance(v, tv.TVTensor) else out


def _find_image(sample: Any) -> Any:
    tv = _t._tv()
    leaves = pytree.tree_leaves(sample)
    for v in leaves:
        if isinstance(v, (tv.Image, tv.Video)):
            return v
    if isinstance(sample, dict) and isinstance(sample.get("image"), torch.Tensor):
        return sample["image"]
    if isinstance(sample, (tuple, list)) and sample:
        first = sample[0]
        if isinstance(first, (list, tuple)) or isinstance(first, torch.Tensor):
            return first
    return None


def _row(image: Any, i: int) -> Any:
    return image[i] if isinstance(image, torch.Tensor) and image.ndim == 4 else image


# ---------------------------------------------------------------------------------------------
# photometric
# ---------------------------------------------------------------------------------------------
@register("transform", example=lambda: RandomPhotometricDistort(p=0.5))
class RandomPhotometricDistort(RandomTransform):
    """SSD's photometric distortions (torchvision v2 ``RandomPhotometricDistort``), per sample.

    Liu et al. 2016 (SSD), after Howard 2013: each of brightness, contrast, saturation and hue
    is applied with probability ``p`` (its factor uniform in its range: defaults (0.875, 1.125),
    (0.5, 1.5), (0.5, 1.5), (-0.05, 0.05)); contrast goes first or last (after hue) with
    probability one half; then, with probability ``p``, the channels are permuted randomly.
    One fused pass of :func:`torchaug.functional.color.color_jitter` (torchvision's formulas,
    each sample its own order); an op not drawn gets its identity factor (hue 0 is exact on
    uint8, within 5e-7 on float).

    Params: ``brightness``, ``contrast``, ``saturation``, ``hue`` ``(B,)`` factors (identity
    1, 1, 1, 0 where not drawn), ``has_hue``, ``contrast_before`` ``(B,)`` bool,
    ``permutation`` ``(B, C)`` int64 (identity where not drawn). Geometric targets pass through.
    Parity: torchvision's ``transform`` with those parameters (uint8 within one grey level,
    float within 1e-5).

    ``mode="fused"`` (as :class:`~torchaug.transforms.ColorJitter`'s): the same parameters applied
    as one per-sample affine colour map (:func:`torchaug.functional.color.color_map_fused`) with
    the channel permutation folded into its rows, one pass over the pixels and one clamp at the
    end; hue as a rotation about the grey axis. Faster, **not** bit-equal to torchvision (no
    clamping or ``uint8`` truncation between the steps).
    """

    def __init__(self, brightness: Sequence[float] = (0.875, 1.125), contrast: Sequence[float] = (0.5, 1.5),
                 saturation: Sequence[float] = (0.5, 1.5), hue: Sequence[float] = (-0.05, 0.05), p: float = 0.5,
                 *, same_on_batch: bool = False, mode: str = "torchvision") -> None:
        super().__init__(p=1.0, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.mode = check_choice(mode, ("torchvision", "fused"), owner=owner, name="mode")
        self.brightness = _pair(brightness, owner, "brightness", low=0.0)
        self.contrast = _pair(contrast, owner, "contrast", low=0.0)
        self.saturation = _pair(saturation, owner, "saturation", low=0.0)
        self.hue = _pair(hue, owner, "hue", low=-0.5, high=0.5)
        self.p_op = float(check_number(p, owner=owner, name="p", low=0.0, high=1.0))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        u = self._rand(x, 11, generator=generator)
        c = x.shape[1]
        on = u[:, :5] < self.p_op  # brightness, contrast, saturation, hue, permutation

        def factor(i: int, rng: tuple[float, float], ident: float) -> torch.Tensor:
            return torch.where(on[:, i], rng[0] + (rng[1] - rng[0]) * u[:, 5 + i], torch.full_like(u[:, 0], ident))

        perm = torch.argsort(self._rand(x, c, generator=generator), dim=1)
        ident = torch.arange(c, device=x.device).expand(x.shape[0], c)
        return {
            "brightness": factor(0, self.brightness, 1.0),
            "contrast": factor(1, self.contrast, 1.0),
            "saturation": factor(2, self.saturation, 1.0),
            "hue": factor(3, self.hue, 0.0),
            "has_hue": on[:, 3].clone(),
            "contrast_before": u[:, 9] < 0.5,
            "permutation": torch.where(on[:, 4:5], perm, ident),
        }

    def transform(self, x: torch.Tensor, params: Params, out: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[1] not in (1, 3):
            raise ValueError(f"{type(self).__name__}: x must have 1 or 3 channels (grey or RGB); got {x.shape[1]} channels")
        # torchvision's order: brightness, [contrast], saturation, hue, [contrast] -> color_jitter's
        # per-sample order over (brightness, contrast, saturation, hue) = (0, 1, 2, 3)
        before = params["contrast_before"].to(x.device).unsqueeze(1)
        order = torch.where(before, constant((0, 1, 2, 3), x.device), constant((0, 2, 3, 1), x.device))
        rgb = x.shape[1] == 3  # torchvision leaves grey images' saturation and hue alone
        bri, con = params["brightness"], params["contrast"]
        sat, hue = (params["saturation"], params["hue"]) if rgb else (None, None)
        perm = params["permutation"].to(x.device)
        if self.mode == "fused":  # the channel permutation reorders the rows of the map M x + P mu
            M, P = FC.color_map_fused(x, bri, con, sat, hue, order)
            rows = perm.unsqueeze(-1).expand_as(M)
            return FC.apply_color_map(x, M.gather(1, rows), None if P is None else P.gather(1, rows), out=out)
        has_hue = params["has_hue"].to(x.device)
        split = None
        if rgb and cpu_path(x) and x.shape[0] > 1:  # CPU: hue (half of color_jitter's time) only where drawn
            n_hue = int(has_hue.sum())  # a host read is free here
            if 0 < n_hue < x.shape[0]:
                split = (has_hue.nonzero().flatten(), (~has_hue).nonzero().flatten())
        if split is None:
            y = FC.color_jitter(x, bri, con, sat, hue, order, out=out)
        else:  # each group gathered into a reused buffer (no fresh batch-sized tensor to fault in), jittered there
            y = torch.empty_like(x) if out is None else out  # ``out`` may be ``x``: the groups' rows are disjoint
            for idx, with_hue in zip(split, (True, False)):
                sub = torch.index_select(x, 0, idx, out=scratch("photometric_rows", (idx.numel(), *x.shape[1:]), x.dtype,
                                                                x.device))
                FC.color_jitter(sub, bri[idx], con[idx], sat[idx], hue[idx] if with_hue else None, order[idx], out=sub)
                copy_rows_(y, idx, sub)
        if not cpu_path(y):
            return y.gather(1, perm.view(*perm.shape, 1, 1).expand_as(y))
        # CPU: permute the channel planes of the samples that draw a permutation, in place: the
        # planes gathered as rows and copied back (``gather`` with an expanded index took ~90 ms
        # on 32x3x512x512 uint8)
        c = y.shape[1]
        moved = (perm != torch.arange(c, device=y.device)).any(1).nonzero().flatten()
        if moved.numel():
            if y.is_contiguous():
                planes = y.view(-1, *y.shape[2:])
                first = moved.unsqueeze(1) * c
                rows = (first + perm.index_select(0, moved)).flatten()
                copy_rows_(planes, (first + torch.arange(c, device=y.device)).flatten(), planes.index_select(0, rows))
            else:  # channels-last: a plane is not a block of memory
                y.index_copy_(0, moved, y.index_select(0, moved).gather(
                    1, perm.index_select(0, moved).view(-1, c, 1, 1).expand(-1, -1, *y.shape[2:])))
        return y

    def extra_repr(self) -> str:
        return (f"brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}, "
                f"hue={self.hue}, p={self.p_op}" + (", mode='fused'" if self.mode == "fused" else ""))
