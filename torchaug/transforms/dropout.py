"""Random dropout and occlusion with albumentations 2.0.8 names and arguments.

``CoarseDropout`` (variable number and size of holes), ``GridDropout`` (GridMask, Chen et al.
2020), ``PixelDropout``, ``ChannelDropout`` and ``RandomGridShuffle`` (a jigsaw of tiles). Every
sample draws its own holes / tiles; the masks are built by broadcasting (no loop over samples).

Fill values are on the [0, 1] scale (multiplied by 255 and rounded for uint8), as
``RandomErasing`` and ``Cutout`` take them (albumentations takes them in the image's own scale).
Masks (``{"image": x, "mask": m}``) get ``fill_mask`` in the holes when it is given (and move
with the tiles in ``RandomGridShuffle``). ``CoarseDropout`` and ``GridDropout`` treat boxes as
albumentations 2.0.8's ``BaseDropout.apply_to_bboxes`` does: a box whose visible area (pixels
outside every hole) falls below ``min_area`` / ``min_visibility`` (the peer takes them from
``BboxParams``), or to nothing, is dropped (``boxes_valid`` False: it comes back collapsed to its
top-left corner, so labels stay aligned), the others shrink to their visible rectangle.
Keypoints keep their coordinates (the target representation has no keypoint validity);
:meth:`_HoleFill.keypoints_in_holes` gives the ``(B, N)`` flag of those the peer would remove
(``KeypointParams(remove_invisible=True)``, its default).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch

from torchaug._cpu.bernoulli import bernoulli_mask
from torchaug._devpath import cpu_path
from torchaug._validation import check_bool, check_number, describe
from torchaug.functional import dropout as FD
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["CoarseDropout", "GridDropout", "PixelDropout", "ChannelDropout", "RandomGridShuffle"]

_FILL_MODES = ("random", "random_uniform", "mean")


def _is_num(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_fill(v: Any, owner: str, name: str, modes: tuple[str, ...] = _FILL_MODES) -> Any:
    if isinstance(v, str):
        if v in modes:
            return v
        raise ValueError(f"{owner}: {name} must be a number in [0, 1], a per-channel tuple or one of {list(modes)}; got {v!r}")
    if _is_num(v):
        return float(check_number(v, owner=owner, name=name, low=0.0, high=1.0))
    if isinstance(v, Sequence) and v and all(_is_num(e) for e in v):
        return tuple(float(check_number(e, owner=owner, name=name, low=0.0, high=1.0)) for e in v)
    raise TypeError(f"{owner}: {name} must be a number in [0, 1], a per-channel tuple or one of {list(modes)}; got {describe(v)}")


def _check_mask_fill(v: Any, owner: str, name: str) -> float | None:
    if v is None:
        return None
    if _is_num(v):
        return float(check_number(v, owner=owner, name=name))
    raise TypeError(f"{owner}: {name} must be None or a number (the mask value of dropped pixels); got {describe(v)}")


def _scaled(value: float | tuple[float, ...], x: torch.Tensor, owner: str, name: str) -> torch.Tensor | float:
    """A constant / per-channel fill on the [0, 1] scale in ``x``'s scale: a Python number, or a
    cached ``(1, C, 1, 1)`` tensor of ``x``'s dtype (made once per device, not on every call)."""
    u8 = x.dtype == torch.uint8
    if not isinstance(value, tuple):
        return float(round(value * 255.0)) if u8 else float(value)
    if len(value) not in (1, x.shape[1]):
        raise ValueError(f"{owner}: {name} must have one entry per channel ({x.shape[1]}); got {len(value)} entries")
    vals = tuple(float(round(v * 255.0)) if u8 else float(v) for v in value)
    return constant(vals, x.device, x.dtype).view(1, -1, 1, 1)


def _random_levels(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) draws as fill values: uint8 levels 0..255 (each equally likely) or floats."""
    if x.dtype == torch.uint8:
        return (u * 256.0).floor_().clamp_(0, 255).to(torch.uint8)
    return u.to(x.dtype)


def _int_or_frac_range(v: Any, owner: str, name: str) -> tuple[float, float]:
    if not (isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2 and all(_is_num(e) for e in v)):
        raise TypeError(f"{owner}: {name} must be a (min, max) pair of ints (pixels) or of fractions in [0, 1]; got {describe(v)}")
    lo, hi = (float(check_number(e, owner=owner, name=name, low=0.0)) for e in v)
    if lo > hi:
        raise ValueError(f"{owner}: {name} must be an increasing (min, max) pair; got {tuple(v)}")
    if hi >= 1 and not all(float(e).is_integer() for e in v):
        raise ValueError(f"{owner}: {name} must be ints (pixels) or fractions below 1 (of the image size); got {tuple(v)}")
    return lo, hi


class _HoleFill(RandomTransform):
    """Shared by the hole transforms: fill, fill_mask; masks are filled like the image."""

    __torchaug_public__ = False
    geometric = True  # masks get ``fill_mask`` in the holes; boxes / keypoints stay

    def _init_fill(self, fill: Any, fill_mask: Any, min_area: float = 0.0, min_visibility: float = 0.0) -> None:
        o = type(self).__name__
        self.fill = _check_fill(fill, o, "fill")
        self.fill_mask = _check_mask_fill(fill_mask, o, "fill_mask")
        self.min_area = float(check_number(min_area, owner=o, name="min_area", low=0.0))
        self.min_visibility = float(check_number(min_visibility, owner=o, name="min_visibility", low=0.0, high=1.0))

    def _fill_params(self, x: torch.Tensor, params: Params, holes: int, generator: torch.Generator | None) -> None:
        if self.fill == "random":
            params["noise"] = self._expand(torch.rand((self._batch(x), *x.shape[1:]), generator=generator, device=x.device), x.shape[0])
        elif self.fill == "random_uniform":
            params["noise"] = self._rand(x, holes, x.shape[1], generator=generator)

    def _fill_value(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        o = type(self).__name__
        if self.fill in ("random", "random_uniform"):
            return _random_levels(params["noise"].to(x.device), x)
        if self.fill == "mean":
            m = x.float().mean(dim=(2, 3), keepdim=True)
            return (m.round_() if x.dtype == torch.uint8 else m).to(x.dtype)
        return _scaled(self.fill, x, o, "fill")

    def _index(self, params: Params, size: tuple[int, int]) -> torch.Tensor:
        raise TypeError(f"{type(self).__name__} does not define its holes")  # pragma: no cover

    def _weight(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """The union of the holes as a 0/1 ``(B, 1, H, W)`` tensor of ``x``'s dtype."""
        return (self._index(params, tuple(x.shape[-2:])) > 0).unsqueeze(1).to(x.dtype)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        if self.fill == "random_uniform":  # one colour per hole: which hole covers each pixel
            return FD.fill_holes(x, self._index(params, tuple(x.shape[-2:])), self._fill_value(x, params))
        return FD.blend_fill(x, self._weight(params, x), self._fill_value(x, params))

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        if self.fill_mask is None:
            return m
        idx = self._index(params, tuple(m.shape[-2:]))
        return FD.fill_holes(m, idx, self._mask_value(m))

    def _mask_value(self, m: torch.Tensor) -> float | int | bool:
        v = self.fill_mask
        return bool(v) if m.dtype == torch.bool else (v if m.is_floating_point() else int(v))

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return points

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        """albumentations 2.0.8 ``filter_bboxes_by_holes`` (see
        :func:`torchaug.functional.dropout.filter_boxes_by_holes`): kept boxes shrink to their
        visible rectangle, dropped ones collapse to their top-left corner (``boxes_valid`` False).
        A sample without any hole pixel leaves its boxes as they are (the peer returns early)."""
        if boxes.shape[1] == 0:
            return boxes
        holes = self._index(params, size).to(boxes.device) > 0
        out, keep = FD.filter_boxes_by_holes(boxes, holes, min_area=self.min_area, min_visibility=self.min_visibility)
        collapsed = boxes[..., [0, 1, 0, 1]]
        out = torch.where(keep.unsqueeze(-1), out, collapsed)
        return torch.where(holes.flatten(1).any(1).view(-1, 1, 1), out, boxes)

    def keypoints_in_holes(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        """``(B, N)`` bool: the keypoints ``(B, N, 2)`` albumentations 2.0.8 removes
        (``filter_keypoints_in_holes``, when ``remove_invisible``): those inside a hole of
        their sample, for the samples the op was applied to (``params["apply"]``)."""
        hit = FD.points_in_holes(points, self._index(params, size).to(points.device) > 0)
        apply = params.get("apply")
        return hit if apply is None else hit & apply.to(points.device).view(-1, 1)


@register("transform", example=lambda: CoarseDropout(num_holes_range=(1, 3), p=1.0))
class CoarseDropout(_HoleFill):
    """albumentations ``CoarseDropout`` (Cutout, DeVries & Taylor 2017, with a random number and
    size of rectangular holes): each sample draws ``n`` holes, ``n`` uniform in
    ``num_holes_range`` (inclusive), each of height and width drawn from ``hole_height_range`` /
    ``hole_width_range``: ints are pixels (uniform, inclusive, capped at the image size),
    fractions in [0, 1) are of the image side (``int(H * u)``); the hole lies wholly inside the
    image (top uniform in ``[0, H - h]``).

    ``fill``: a number or per-channel tuple on the [0, 1] scale, ``"random"`` (an independent
    random value per pixel and channel), ``"random_uniform"`` (one random colour per hole) or
    ``"mean"`` (the sample's channel means). ``fill_mask``: the mask value inside holes (None:
    masks unchanged). ``min_area`` (pixels) / ``min_visibility`` (fraction): boxes with less
    visible area left are dropped (albumentations' ``BboxParams`` thresholds; defaults 0: only
    boxes covered wholly are dropped); see the module notes. Parameters: ``top``, ``left``,
    ``height``, ``width`` (``(B, max_holes)`` int64; unused holes have height 0), ``noise`` for
    random fills, ``apply``.
    """

    def __init__(
        self,
        num_holes_range: Sequence[int] = (1, 2),
        hole_height_range: Sequence[float] = (0.1, 0.2),
        hole_width_range: Sequence[float] = (0.1, 0.2),
        fill: float | Sequence[float] | str = 0,
        fill_mask: float | None = None,
        min_area: float = 0.0,
        min_visibility: float = 0.0,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        if not (isinstance(num_holes_range, Sequence) and len(num_holes_range) == 2):
            raise TypeError(f"{o}: num_holes_range must be a (min, max) pair of ints; got {describe(num_holes_range)}")
        lo, hi = (int(check_number(v, owner=o, name="num_holes_range", low=1, integer=True)) for v in num_holes_range)
        if lo > hi:
            raise ValueError(f"{o}: num_holes_range must be increasing; got {tuple(num_holes_range)}")
        self.num_holes_range = (lo, hi)
        self.hole_height_range = _int_or_frac_range(hole_height_range, o, "hole_height_range")
        self.hole_width_range = _int_or_frac_range(hole_width_range, o, "hole_width_range")
        self._init_fill(fill, fill_mask, min_area, min_visibility)

    def _sizes(self, x: torch.Tensor, rng: tuple[float, float], side: int, n: int, generator) -> torch.Tensor:
        u = self._rand(x, n, generator=generator)
        lo, hi = rng
        if hi >= 1:  # pixels, inclusive, capped at the side
            top = min(int(hi), side)
            span = max(top - int(lo) + 1, 1)
            return (int(lo) + (u * span).floor().long()).clamp(max=side)
        return (side * (lo + (hi - lo) * u)).floor().long()

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        lo, hi = self.num_holes_range
        n = lo + self._randint(x, hi - lo + 1, generator=generator)  # (B,)
        h = self._sizes(x, self.hole_height_range, H, hi, generator)
        w = self._sizes(x, self.hole_width_range, W, hi, generator)
        u = self._rand(x, 2, hi, generator=generator)
        top = ((H - h + 1) * u[:, 0]).floor().long()
        left = ((W - w + 1) * u[:, 1]).floor().long()
        used = torch.arange(hi, device=x.device).view(1, -1) < n.view(-1, 1)
        params: Params = {"top": top, "left": left, "height": h * used, "width": w * used}
        self._fill_params(x, params, hi, generator)
        return params

    def _index(self, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return FD.hole_index(params["top"], params["left"], params["height"], params["width"], size)

    def _weight(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return FD.hole_weight(params["top"], params["left"], params["height"], params["width"], tuple(x.shape[-2:]), x.dtype)

    def extra_repr(self) -> str:
        return (f"num_holes_range={self.num_holes_range}, hole_height_range={self.hole_height_range}, "
                f"hole_width_range={self.hole_width_range}, fill={self.fill!r}, fill_mask={self.fill_mask}, "
                + super().extra_repr())


def _shuffled_splits(t: RandomTransform, x: torch.Tensor, size: int, parts: torch.Tensor, max_parts: int,
                     generator: torch.Generator | None) -> torch.Tensor:
    """albumentations' ``generate_shuffled_splits``: ``parts`` (``(B,)``) almost equal intervals
    of ``size`` (``size % parts`` of them one longer) in a random order; ``(B, max_parts + 1)``
    boundaries (0 first; samples with fewer parts repeat ``size``)."""
    k = torch.arange(max_parts, device=x.device).view(1, -1)
    real = k < parts.view(-1, 1)
    u = t._rand(x, max_parts, generator=generator).masked_fill(~real, 2.0)
    rank = u.argsort(dim=1).argsort(dim=1)
    extra = rank < (size % parts).view(-1, 1)
    base = (size // parts).view(-1, 1)
    lengths = torch.where(real, base + extra.long(), 0)
    return torch.cat([torch.zeros_like(lengths[:, :1]), lengths.cumsum(1)], 1)


@register("transform", example=lambda: GridDropout(p=1.0))
class GridDropout(_HoleFill):
    """albumentations ``GridDropout``: GridMask (Chen, Liu, Wang, Jia 2020, "GridMask Data
    Augmentation", which used ``ratio`` 0.4-0.6 and a unit of 96-224 px on ImageNet): one square
    hole in every cell of a grid.

    The grid has ``holes_number_xy = (columns, rows)`` cells, or cells of a unit size drawn per
    sample from ``unit_size_range`` (``[min, max)`` px), or by default a unit of
    ``max(2, side // 10)``; cell sizes are almost equal and shuffled (albumentations'
    ``split_uniform_grid``). A cell of side ``c`` has a hole of side ``clip(int(c * ratio), 1,
    c - 1)``, at a random offset within the cell (``random_offset=True``, per cell, as
    albumentations) or at ``shift_xy``. ``fill`` / ``fill_mask`` as :class:`CoarseDropout`
    (``"random_uniform"``: one colour per sample); boxes and keypoints, ``min_area`` /
    ``min_visibility`` as :class:`CoarseDropout`.

    Parameters: ``row_bounds`` ``(B, R + 1)``, ``col_bounds`` ``(B, K + 1)``, ``offset_y``,
    ``offset_x`` ``(B, R, K)``, ``noise`` for random fills, ``apply``.
    """

    def __init__(
        self,
        ratio: float = 0.5,
        random_offset: bool = True,
        unit_size_range: Sequence[int] | None = None,
        holes_number_xy: Sequence[int] | None = None,
        shift_xy: Sequence[int] = (0, 0),
        fill: float | Sequence[float] | str = 0,
        fill_mask: float | None = None,
        min_area: float = 0.0,
        min_visibility: float = 0.0,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.ratio = float(check_number(ratio, owner=o, name="ratio", low=0.0, high=1.0, low_inclusive=False))
        self.random_offset = check_bool(random_offset, owner=o, name="random_offset")
        self.unit_size_range = self._pair(unit_size_range, o, "unit_size_range", 2)
        if self.unit_size_range is not None and self.unit_size_range[0] > self.unit_size_range[1]:
            raise ValueError(f"{o}: unit_size_range must be increasing; got {self.unit_size_range}")
        self.holes_number_xy = self._pair(holes_number_xy, o, "holes_number_xy", 1)
        self.shift_xy = self._pair(shift_xy, o, "shift_xy", 0)
        self._init_fill(fill, fill_mask, min_area, min_visibility)

    @staticmethod
    def _pair(v: Any, o: str, name: str, low: int) -> tuple[int, int] | None:
        if v is None and name != "shift_xy":
            return None
        if not (isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2):
            raise TypeError(f"{o}: {name} must be a pair of ints; got {describe(v)}")
        return tuple(int(check_number(e, owner=o, name=name, low=low, integer=True)) for e in v)  # type: ignore[return-value]

    def _grid(self, x: torch.Tensor, generator) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        H, W = x.shape[-2:]
        B = x.shape[0]
        if self.holes_number_xy is not None:
            gx, gy = self.holes_number_xy
            rows = torch.full((B,), min(gy, H), device=x.device, dtype=torch.long)
            cols = torch.full((B,), min(gx, W), device=x.device, dtype=torch.long)
            return rows, cols, min(gy, H), min(gx, W)
        if self.unit_size_range is not None:
            lo, hi = self.unit_size_range
            if hi > min(H, W):
                raise ValueError(f"{type(self).__name__}: unit_size_range must be within the shortest image side "
                                 f"({min(H, W)}); got {self.unit_size_range}")
            unit = lo + self._randint(x, max(hi - lo, 1), generator=generator)
            rows, cols = (H // unit).clamp_min(1), (W // unit).clamp_min(1)
            return rows, cols, max(H // lo, 1), max(W // lo, 1)
        uh, uw = max(2, H // 10), max(2, W // 10)
        r, c = max(H // uh, 1), max(W // uw, 1)
        return (torch.full((B,), r, device=x.device, dtype=torch.long), torch.full((B,), c, device=x.device, dtype=torch.long), r, c)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        rows, cols, R, K = self._grid(x, generator)
        rb = _shuffled_splits(self, x, H, rows, R, generator)
        cb = _shuffled_splits(self, x, W, cols, K, generator)
        if self.random_offset:
            ch, cw = rb[:, 1:] - rb[:, :-1], cb[:, 1:] - cb[:, :-1]
            hh = torch.minimum((ch.double() * self.ratio).long().clamp_min(1), ch - 1).clamp_min(0)
            hw = torch.minimum((cw.double() * self.ratio).long().clamp_min(1), cw - 1).clamp_min(0)
            u = self._rand(x, 2, R, K, generator=generator)
            oy = (u[:, 0] * (ch - hh + 1).unsqueeze(2)).floor().long()
            ox = (u[:, 1] * (cw - hw + 1).unsqueeze(1)).floor().long()
        else:
            oy = torch.full((x.shape[0], R, K), self.shift_xy[1], device=x.device, dtype=torch.long)
            ox = torch.full((x.shape[0], R, K), self.shift_xy[0], device=x.device, dtype=torch.long)
        params: Params = {"row_bounds": rb, "col_bounds": cb, "offset_y": oy, "offset_x": ox}
        self._fill_params(x, params, 1, generator)
        return params

    def _index(self, params: Params, size: tuple[int, int]) -> torch.Tensor:
        m = FD.grid_holes(size, params["row_bounds"], params["col_bounds"], self.ratio, params["offset_y"], params["offset_x"])
        return m.to(torch.int16)

    def extra_repr(self) -> str:
        return (f"ratio={self.ratio}, random_offset={self.random_offset}, unit_size_range={self.unit_size_range}, "
                f"holes_number_xy={self.holes_number_xy}, fill={self.fill!r}, " + super().extra_repr())


@register("transform", example=lambda: PixelDropout(dropout_prob=0.1, p=1.0))
class PixelDropout(RandomTransform):
    """albumentations ``PixelDropout``: set each pixel (all its channels, or each channel alone
    with ``per_channel=True``) to ``drop_value`` with probability ``dropout_prob``.

    ``drop_value``: a number or per-channel tuple on the [0, 1] scale, or None (one random colour
    per sample). ``mask_drop_value``: the mask value at dropped pixels (the same pixels, dropped in
    any channel; albumentations draws a second pattern for masks), None: masks unchanged.
    Parameters: ``drop`` (bool ``(B, 1 or C, H, W)``), ``colour`` (``(B, C)`` with
    ``drop_value=None``), ``apply``.
    """

    geometric = True

    def __init__(
        self,
        dropout_prob: float = 0.01,
        per_channel: bool = False,
        drop_value: float | Sequence[float] | None = 0,
        mask_drop_value: float | None = None,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.dropout_prob = float(check_number(dropout_prob, owner=o, name="dropout_prob", low=0.0, high=1.0))
        self.per_channel = check_bool(per_channel, owner=o, name="per_channel")
        self.drop_value = None if drop_value is None else _check_fill(drop_value, o, "drop_value", modes=())
        self.mask_drop_value = _check_mask_fill(mask_drop_value, o, "mask_drop_value")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        shape = (self._batch(x), x.shape[1] if self.per_channel else 1, *x.shape[-2:])
        if cpu_path(x):  # sparse: about dropout_prob * n draws instead of one per value
            drop = bernoulli_mask(shape, self.dropout_prob, generator)
        else:
            drop = torch.rand(shape, generator=generator, device=x.device) < self.dropout_prob
        params: Params = {"drop": self._expand(drop, x.shape[0])}
        if self.drop_value is None:
            params["colour"] = self._rand(x, x.shape[1], generator=generator)
        return params

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        if self.drop_value is None:
            value = _random_levels(params["colour"].to(x.device), x).view(x.shape[0], -1, 1, 1)
        else:
            value = _scaled(self.drop_value, x, type(self).__name__, "drop_value")
        return FD.pixel_dropout(x, params["drop"].to(x.device), value)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        if self.mask_drop_value is None:
            return m
        drop = params["drop"].to(m.device).any(dim=1, keepdim=True)
        v = self.mask_drop_value
        v = bool(v) if m.dtype == torch.bool else (v if m.is_floating_point() else int(v))
        return FD.pixel_dropout(m, drop, v)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return points

    def extra_repr(self) -> str:
        return f"dropout_prob={self.dropout_prob}, per_channel={self.per_channel}, drop_value={self.drop_value}, " + super().extra_repr()


@register("transform", example=lambda: ChannelDropout(p=1.0))
class ChannelDropout(RandomTransform):
    """albumentations ``ChannelDropout``: set ``k`` random channels of each sample to ``fill``
    (on the [0, 1] scale), ``k`` uniform in ``channel_drop_range`` (inclusive). Needs more
    channels than ``channel_drop_range[1]`` (a grey image is refused, as albumentations does).
    Parameters: ``drop`` (bool ``(B, C)``), ``apply``."""

    def __init__(self, channel_drop_range: Sequence[int] = (1, 1), fill: float = 0, *, p: float = 0.5,
                 same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        if not (isinstance(channel_drop_range, Sequence) and len(channel_drop_range) == 2):
            raise TypeError(f"{o}: channel_drop_range must be a (min, max) pair of ints; got {describe(channel_drop_range)}")
        lo, hi = (int(check_number(v, owner=o, name="channel_drop_range", low=1, integer=True)) for v in channel_drop_range)
        if lo > hi:
            raise ValueError(f"{o}: channel_drop_range must be increasing; got {tuple(channel_drop_range)}")
        self.channel_drop_range = (lo, hi)
        self.fill = float(check_number(fill, owner=o, name="fill", low=0.0, high=1.0))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        C = x.shape[1]
        lo, hi = self.channel_drop_range
        if hi >= C:
            raise ValueError(f"{type(self).__name__}: x must have more channels than channel_drop_range[1] = {hi} "
                             f"(it cannot drop every channel); got {C} channels")
        k = lo + self._randint(x, hi - lo + 1, generator=generator)
        rank = self._rand(x, C, generator=generator).argsort(dim=1).argsort(dim=1)
        return {"drop": rank < k.view(-1, 1)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        drop = params["drop"]
        if drop.shape[1] != x.shape[1]:
            raise ValueError(f"{type(self).__name__}: params['drop'] must have one entry per channel ({x.shape[1]}); got {describe(drop)}")
        fill = round(self.fill * 255.0) if x.dtype == torch.uint8 else self.fill
        return FD.channel_dropout(x, drop, fill)

    def extra_repr(self) -> str:
        return f"channel_drop_range={self.channel_drop_range}, fill={self.fill}, " + super().extra_repr()


@register("transform", example=lambda: RandomGridShuffle(grid=(3, 3), p=1.0))
class RandomGridShuffle(RandomTransform):
    """albumentations ``RandomGridShuffle``: cut each sample into a ``grid = (rows, columns)`` of
    almost equal tiles (sizes shuffled, albumentations' ``split_uniform_grid``) and permute the
    tiles at random among those of the same shape (a jigsaw).

    Geometric: masks move with the tiles, keypoints too (albumentations' rule); a box becomes the
    box enclosing its moved pieces (albumentations splits it into one box per piece, which would
    change the number of boxes; see :func:`torchaug.functional.dropout.grid_shuffle_boxes`). Parameters:
    ``row_bounds`` ``(B, rows + 1)``, ``col_bounds`` ``(B, columns + 1)``, ``mapping``
    ``(B, rows * columns)`` (tile ``t`` moves to tile ``mapping[t]``), ``apply``.
    """

    geometric = True

    def __init__(self, grid: Sequence[int] = (3, 3), *, p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        if not (isinstance(grid, Sequence) and not isinstance(grid, str) and len(grid) == 2):
            raise TypeError(f"{o}: grid must be a (rows, columns) pair of ints; got {describe(grid)}")
        self.grid = tuple(int(check_number(v, owner=o, name="grid", low=1, integer=True)) for v in grid)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        B = x.shape[0]
        R, K = self.grid
        rb = _shuffled_splits(self, x, H, torch.full((B,), R, device=x.device), R, generator)
        cb = _shuffled_splits(self, x, W, torch.full((B,), K, device=x.device), K, generator)
        th, tw = rb[:, 1:] - rb[:, :-1], cb[:, 1:] - cb[:, :-1]
        group = (th.unsqueeze(2) * (W + 1) + tw.unsqueeze(1)).view(B, R * K)  # tiles of one shape
        u = self._rand(x, R * K, generator=generator)
        shuffled = u.argsort(dim=1)
        s = group.gather(1, shuffled).argsort(dim=1, stable=True)
        new = shuffled.gather(1, s)  # each group's tiles in a random order
        old = group.argsort(dim=1, stable=True)  # each group's tiles in order
        mapping = torch.empty_like(old).scatter_(1, old, new)
        return {"row_bounds": rb, "col_bounds": cb, "mapping": mapping}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        idx = FD.grid_shuffle_index(tuple(x.shape[-2:]), params["row_bounds"].to(x.device),
                                    params["col_bounds"].to(x.device), params["mapping"].to(x.device))
        return FD.grid_shuffle(x, idx)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return FD.grid_shuffle_points(points, size, params["row_bounds"], params["col_bounds"], params["mapping"])

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        if boxes.shape[1] == 0:
            return boxes
        return FD.grid_shuffle_boxes(boxes, params["row_bounds"], params["col_bounds"], params["mapping"])

    def extra_repr(self) -> str:
        return f"grid={self.grid}, " + super().extra_repr()
