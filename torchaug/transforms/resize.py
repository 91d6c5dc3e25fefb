"""The resize/pad family with albumentations / torchvision v2 names, per-sample sizes, evaluation crops.

Resize ops (albumentations 2.0.8: ``LongestMaxSize``, ``SmallestMaxSize``, ``RandomScale``;
torchvision v2 0.29: ``RandomResize``, ``ScaleJitter``, ``RandomShortestSize``) draw an output
size ``(h, w)`` per sample, on the data's device (params ``size (B, 2)`` int64), with the peer's
rounding (albumentations ``round`` for the max-size ops and ``int`` for ``RandomScale``;
torchvision ``int``). Then:

- when every sample of the batch gets one size (the max-size ops with ``p=1`` on a batch, whose
  size follows from the shape alone, with no host read), the output is one batch;
- otherwise (random sizes, ``p < 1``, a ragged list in) the sizes are read on the host
  (``reads_back``) and the output is a **list** of ``(C, h_i, w_i)`` images, one resize call per
  distinct size; or, given ``size=(H, W)``, every sample is then resized to ``(H, W)`` (the peer's
  op followed by its ``Resize``) and the output is one batch. Masks, boxes and keypoints move
  with the images when the output is a batch. With a list output, targets given as
  ``op(images, [per-image dicts])`` come back as a list of dicts, each moved into its own image
  (:mod:`torchaug.transforms.per_sample`: torchvision's per-sample form); other target
  structures raise a ``TypeError`` (pass ``size=``).

``interpolation``: ``"nearest"``, ``"bilinear"`` (default), ``"bicubic"`` (both antialiased when
downscaling if ``antialias``, torchvision's tensor maths), ``"area"`` (OpenCV's ``INTER_AREA``
for integer factors), or ``"random"``: a per-sample choice between bilinear and bicubic, as timm's
``RandomResizedCropAndInterpolation(interpolation="random")`` (params ``interpolation (B,)``:
0 bilinear, 1 bicubic). torchvision ``InterpolationMode`` and OpenCV's integer codes (0 nearest,
1 linear, 2 cubic, 3 area) are accepted. Masks use ``mask_interpolation="nearest"``.

Padding: ``PadIfNeeded`` (albumentations) and ``Letterbox`` (resize the longest side into
``size``, pad the rest, YOLO's letterbox; its params hold the scale and offsets so boxes map back
with :meth:`Letterbox.unmap_boxes`). Evaluation crops: ``FiveCrop`` / ``TenCrop`` (torchvision),
deterministic callables returning a tuple of batches (or one stacked ``(B * n, C, h, w)`` batch
with ``stack=True``).

Parity (``tests/transforms/test_resize.py``): with the same sizes replayed, images equal
torchvision's ``F.resize`` within one grey level (uint8) / 1e-5 (float) for bilinear and
bicubic; the albumentations ops (OpenCV) are compared on upscaling with bilinear and on integer
downscaling with area (within one grey level); ``PadIfNeeded`` is exact. Boxes and keypoints
follow the exact map of the pixel grid, ``x * w_out / w_in`` (albumentations' keypoints are pixel
indices scaled by the float scale; they differ by under one pixel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchaug._validation import check_bool, check_choice, check_number, describe
from torchaug.functional import geometry as FG
from torchaug.functional import resizing as FR
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug.transforms import targets as _t
from torchaug.transforms._args import float_range
from torchaug.transforms._base import Params, RandomTransform
from torchaug.transforms.geometry import _check_fill, _fill, _size

__all__ = [
    "LongestMaxSize",
    "SmallestMaxSize",
    "RandomScale",
    "RandomResize",
    "ScaleJitter",
    "RandomShortestSize",
    "PadIfNeeded",
    "Letterbox",
    "FiveCrop",
    "TenCrop",
    "RANDOM_INTERPOLATIONS",
]

#: the choices of ``interpolation="random"`` (timm's ``_RANDOM_INTERPOLATION``)
RANDOM_INTERPOLATIONS = ("bilinear", "bicubic")
_CV2_INTERP = {0: "nearest", 1: "bilinear", 2: "bicubic", 3: "area"}
_CV2_BORDER = {0: "constant", 1: "edge", 2: "symmetric", 4: "reflect"}
_BORDERS = ("constant", "edge", "reflect", "symmetric")


def _interp(v: Any, owner: str, name: str = "interpolation", allow_random: bool = True) -> str:
    v = getattr(v, "value", v)  # torchvision InterpolationMode
    if isinstance(v, int) and not isinstance(v, bool):
        if v not in _CV2_INTERP:
            raise ValueError(f"{owner}: {name} as an OpenCV code must be one of {sorted(_CV2_INTERP)}; got {v!r}")
        return _CV2_INTERP[v]
    if isinstance(v, str):
        v = v.lower()
    return check_choice(v, FR.INTERPOLATIONS + (("random",) if allow_random else ()), owner=owner, name=name)


def _out_size(size: Any, owner: str) -> tuple[int, int] | None:
    return None if size is None else _size(size, owner)


class _Resizer(RandomTransform):
    """Shared by the resize ops: a per-sample ``size (B, 2)``, then one batch or a list (module docstring)."""

    __torchaug_public__ = False
    geometric = True
    keeps_size = False
    supports_uint16 = False
    #: whether the output size follows from the input size alone (no random draw)
    fixed: bool = False

    def __init__(self, interpolation: Any, antialias: bool, mask_interpolation: Any, size: Any, *, p: float) -> None:
        super().__init__(p=p)
        owner = type(self).__name__
        self.interpolation = _interp(interpolation, owner)
        self.antialias = check_bool(antialias, owner=owner, name="antialias")
        self.mask_interpolation = _interp(mask_interpolation, owner, "mask_interpolation", allow_random=False)
        self.size = _out_size(size, owner)

    # -- to override: per-sample output sizes from per-sample input sizes ``hw (B, 2)`` int64
    def _target(self, hw: torch.Tensor, carrier: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise TypeError(f"{type(self).__name__} does not define _target()")  # pragma: no cover

    @property
    def reads_back(self) -> str | None:
        """Why the op reads sizes on the host (None when it does not: a fixed size and ``p=1``)."""
        if self.fixed and self.p >= 1.0:
            return None
        return "per-sample output sizes are kernel shapes: read once per call"

    def _varies(self) -> bool:
        return self.size is None and not (self.fixed and self.p >= 1.0)

    def _params_for(self, hw: torch.Tensor, carrier: torch.Tensor, generator: torch.Generator | None) -> Params:
        size = self._target(hw, carrier, generator).long().clamp_min(1)
        params: Params = {}
        if self.p < 1.0:
            apply = self._rand(carrier, generator=generator) < self.p
            size = torch.where(apply.unsqueeze(1), size, hw)
            params["apply"] = apply
        params["size"] = size
        if self.interpolation == "random":
            params["interpolation"] = self._randint(carrier, len(RANDOM_INTERPOLATIONS), generator=generator)
        return params

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        hw = constant(tuple(x.shape[-2:]), x.device, torch.long).expand(x.shape[0], 2)
        return self._params_for(hw, x, generator)

    # -- applying
    def _kernel(self, x: torch.Tensor, size: tuple[int, int], params: Params, idx: torch.Tensor | None, mask: bool) -> torch.Tensor:
        if mask:
            return FR.resize_to(x, size, self.mask_interpolation)
        if self.interpolation == "random":
            choice = params["interpolation"] if idx is None else params["interpolation"].index_select(0, idx)
            return FR.resize_choice(x, size, choice, RANDOM_INTERPOLATIONS, antialias=self.antialias)
        return FR.resize_to(x, size, self.interpolation, antialias=self.antialias)

    def _host_size(self, h: int, w: int) -> tuple[int, int]:
        """The one output size of a fixed op with ``p=1`` for an ``h x w`` batch (no device read)."""
        raise TypeError(f"{type(self).__name__} has no fixed output size")  # pragma: no cover

    def _two_stage(self, part: torch.Tensor, s: tuple[int, int], params: Params, idx: torch.Tensor | None,
                   mask: bool) -> torch.Tensor:
        """``part`` resized to ``s``, then (with ``size=``) to ``size``.

        Masks go straight to ``size`` by nearest (the exact map of the pixel grid, which a second
        nearest pass would blur by a pixel); images keep the intermediate in float32 (one rounding,
        so CPU and accelerator kernels agree).
        """
        if self.size is None:
            return self._kernel(part, s, params, idx, mask)
        if mask:
            return self._kernel(part, self.size, params, idx, mask)
        work = part if part.is_floating_point() else part.float().div_(255)
        out = self._kernel(self._kernel(work, s, params, idx, mask), self.size, params, idx, mask)
        if out.dtype != part.dtype:
            out = out.mul_(255).round_().clamp_(0, 255).to(part.dtype)
        return out

    def _resize_batch(self, x: torch.Tensor, params: Params, mask: bool) -> torch.Tensor | list[torch.Tensor]:
        h, w = x.shape[-2:]
        if self.fixed and self.p >= 1.0:
            return self._two_stage(x, self._host_size(h, w), params, None, mask)
        sizes = params["size"].tolist()  # host read (reads_back)
        parts = FR.resize_each(x, sizes, lambda part, s, idx: self._two_stage(part, s, params, idx, mask))
        if self.size is not None or len({tuple(s) for s in sizes}) == 1:
            return FG._same_format(torch.stack(parts), x)
        return parts

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor | list[torch.Tensor]:
        return self._resize_batch(x, params, mask=False)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        return self._resize_batch(m, params, mask=True)  # type: ignore[return-value]

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        h, w = size
        if self.size is not None:
            return points * constant((self.size[1] / w, self.size[0] / h), points.device, points.dtype)
        s = params["size"].to(points.dtype)
        return points * torch.stack([s[:, 1] / w, s[:, 0] / h], dim=1).unsqueeze(1)

    # -- per-sample sizes with targets: (images, [targets]) -> (list, [targets]) (torchaug.transforms.per_sample)
    def forward(self, *inputs: Any, generator: torch.Generator | None = None, params: Params | None = None,
                return_params: bool = False, **kw: Any) -> Any:
        paired = len(inputs) == 1 and isinstance(inputs[0], tuple) and len(inputs[0]) == 2 and isinstance(inputs[0][1], list)
        if self._varies() and (paired or (len(inputs) == 2 and isinstance(inputs[1], list))) \
                and not any(v is not None and v is not False for v in kw.values()):
            from torchaug.transforms.per_sample import forward_per_sample

            return forward_per_sample(self, inputs, generator=generator, params=params, return_params=return_params)
        return super().forward(*inputs, generator=generator, params=params, return_params=return_params, **kw)

    def _list_params(self, x: torch.Tensor, boxes: Any, valid: Any, generator: torch.Generator | None,
                     params: Params | None) -> Params:
        return self._params(x, generator, params)[0]

    def _list_image(self, x1: torch.Tensor, q: Params) -> torch.Tensor:
        s = tuple(int(v) for v in q["size"][0].tolist())
        return x1.clone() if s == tuple(x1.shape[-2:]) else self._kernel(x1, s, q, None, False)

    def _list_mask(self, m1: torch.Tensor, q: Params) -> torch.Tensor:
        s = tuple(int(v) for v in q["size"][0].tolist())
        return m1.clone() if s == tuple(m1.shape[-2:]) else self._kernel(m1, s, q, None, True)

    def _list_boxes(self, b1: torch.Tensor, q: Params, in_hw: tuple[int, int]) -> torch.Tensor:
        sh, sw = (int(v) for v in q["size"][0].tolist())
        h, w = in_hw
        return b1 * constant((sw / w, sh / h, sw / w, sh / h), b1.device, b1.dtype)

    def _run(self, batch: dict[str, Any], generator: torch.Generator | None, params: Params | None = None, **kw: Any):
        if self._varies():  # a sample structure, a video or a pipeline step: those hold one batch
            what = ("targets (masks, boxes, keypoints)" if any(batch.get(k) for k in (_t.MASK, _t.BOXES, _t.POINTS))
                    else "a sample structure or a pipeline step on a batch")
            raise TypeError(
                f"{type(self).__name__}: {what} needs one output batch, and this op gives each sample its own size; "
                f"pass size=(H, W) to resize every sample into one batch, or call the op directly on an image batch "
                f"(a list of images back) or on (images, [per-image target dicts]) (lists of images and targets back)"
            )
        return super()._run(batch, generator, params, **kw)

    # -- ragged lists (torchaug.transforms.ragged): list of (C, H_i, W_i) in
    def ragged_params(self, sizes: torch.Tensor, generator: torch.Generator | None) -> Params:
        return self._params_for(sizes.long(), torch.empty((sizes.shape[0], 0), device=sizes.device), generator)

    def transform_ragged(self, images: list[torch.Tensor], params: Params) -> torch.Tensor | list[torch.Tensor]:
        sizes = params["size"].tolist()
        outs = []
        for i, (img, s) in enumerate(zip(images, sizes)):
            idx = torch.tensor([i], device=img.device)
            o = self._two_stage(img.unsqueeze(0), (s[0], s[1]), params, idx, False)
            outs.append(o[0])
        if len({tuple(o.shape) for o in outs}) == 1:
            return torch.stack(outs)
        return outs

    def extra_repr(self) -> str:
        return f"interpolation={self.interpolation!r}, size={self.size}, p={self.p}"


def _max_size_arg(max_size: Any, max_size_hw: Any, owner: str) -> tuple[tuple[int, ...] | None, tuple[int | None, int | None] | None]:
    if (max_size is None) == (max_size_hw is None):
        raise ValueError(f"{owner}: give exactly one of max_size and max_size_hw; got max_size={max_size!r}, max_size_hw={max_size_hw!r}")
    if max_size is not None:
        vals = [max_size] if isinstance(max_size, int) and not isinstance(max_size, bool) else max_size
        if not isinstance(vals, Sequence) or not vals or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            raise TypeError(f"{owner}: max_size must be an int or a non-empty sequence of ints; got {max_size!r}")
        if min(vals) <= 0:
            raise ValueError(f"{owner}: max_size must be positive; got {max_size!r}")
        return tuple(int(v) for v in vals), None
    if not (isinstance(max_size_hw, Sequence) and len(max_size_hw) == 2) or all(v is None for v in max_size_hw):
        raise TypeError(f"{owner}: max_size_hw must be a (height, width) pair of ints or None (not both None); got {max_size_hw!r}")
    for v in max_size_hw:
        if v is not None:
            check_number(v, owner=owner, name="max_size_hw", low=1, integer=True)
    return None, (max_size_hw[0], max_size_hw[1])


class _MaxSize(_Resizer):
    __torchaug_public__ = False
    _reduce = staticmethod(torch.maximum)  # longest side
    _combine = staticmethod(torch.minimum)  # both limits: the tighter

    def __init__(
        self,
        max_size: int | Sequence[int] | None = 1024,
        max_size_hw: tuple[int | None, int | None] | None = None,
        interpolation: Any = "bilinear",
        mask_interpolation: Any = "nearest",
        *,
        antialias: bool = True,
        size: int | Sequence[int] | None = None,
        p: float = 1.0,
    ) -> None:
        if max_size_hw is not None and max_size == 1024:  # albumentations: max_size_hw replaces the default
            max_size = None
        owner = type(self).__name__
        self.max_size, self.max_size_hw = _max_size_arg(max_size, max_size_hw, owner)
        super().__init__(interpolation, antialias, mask_interpolation, size, p=p)
        self.fixed = self.max_size is None or len(self.max_size) == 1

    def _target(self, hw: torch.Tensor, carrier: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        hwd = hw.to(torch.float64)
        h, w = hwd[:, 0], hwd[:, 1]
        if self.max_size is not None:
            if len(self.max_size) == 1:
                target = torch.full_like(h, float(self.max_size[0]))
            else:  # albumentations: a random choice per image
                k = self._randint(carrier, len(self.max_size), generator=generator)
                target = constant(self.max_size, hw.device, torch.float64).index_select(0, k)
            scale = target / self._reduce(h, w)
        else:
            mh, mw = self.max_size_hw
            if mh is not None and mw is not None:
                scale = self._combine(mh / h, mw / w)
            elif mh is not None:
                scale = mh / h
            else:
                scale = mw / w
        return torch.stack([(h * scale).round(), (w * scale).round()], dim=1).clamp_min(1)

    def _host_size(self, h: int, w: int) -> tuple[int, int]:
        longest = self._reduce is torch.maximum
        if self.max_size is not None:
            scale = self.max_size[0] / (max(h, w) if longest else min(h, w))
        else:
            mh, mw = self.max_size_hw
            if mh is not None and mw is not None:
                scale = (min if longest else max)(mh / h, mw / w)
            else:
                scale = mh / h if mh is not None else mw / w
        return max(1, round(h * scale)), max(1, round(w * scale))

    def extra_repr(self) -> str:
        return f"max_size={self.max_size}, max_size_hw={self.max_size_hw}, " + super().extra_repr()


@register("transform", example=lambda: LongestMaxSize(max_size=12))
class LongestMaxSize(_MaxSize):
    """Rescale so that the longest side is ``max_size`` (albumentations ``LongestMaxSize``), aspect kept.

    ``max_size``: an int, or a sequence (one drawn per sample); or ``max_size_hw=(H, W)``: the
    largest scale with ``h <= H`` and ``w <= W`` (``(H, None)``/``(None, W)``: fit that side).
    New size ``max(1, round(side * scale))``. ``size=`` resizes every sample into one batch
    afterwards (for random ``max_size`` choices, ragged lists or ``p < 1``).
    Shapes: ``(B, C, H, W) -> (B, C, h, w)`` or a list (module docstring). Params: ``size (B, 2)``,
    ``apply`` (and ``interpolation`` for ``"random"``).
    """


@register("transform", example=lambda: SmallestMaxSize(max_size=20))
class SmallestMaxSize(_MaxSize):
    """Rescale so that the shortest side is ``max_size`` (albumentations ``SmallestMaxSize``), aspect kept.

    ``max_size_hw=(H, W)``: the smallest scale with ``h >= H`` and ``w >= W``. Otherwise as
    :class:`LongestMaxSize`.
    """

    _reduce = staticmethod(torch.minimum)
    _combine = staticmethod(torch.maximum)


@register("transform", example=lambda: RandomScale(scale_limit=0.2, size=16))
class RandomScale(_Resizer):
    """Rescale each sample by ``1 + u``, ``u`` uniform in ``scale_limit`` (albumentations ``RandomScale``:
    a number ``s`` means ``(-s, s)``; default ``(-0.1, 0.1)``, ``p=0.5``). New size
    ``int(side * scale)`` (albumentations' ``scale``). Output: a list, or one batch with ``size=``.
    Params: ``size (B, 2)``, ``apply``.
    """

    def __init__(
        self,
        scale_limit: float | Sequence[float] = (-0.1, 0.1),
        interpolation: Any = "bilinear",
        mask_interpolation: Any = "nearest",
        *,
        antialias: bool = True,
        size: int | Sequence[int] | None = None,
        p: float = 0.5,
    ) -> None:
        owner = type(self).__name__
        lo, hi = float_range(scale_limit, owner=owner, name="scale_limit", symmetric=not isinstance(scale_limit, Sequence))
        if lo <= -1.0:
            raise ValueError(f"{owner}: scale_limit must be above -1 (a scale 1 + u > 0); got {scale_limit!r}")
        self.scale_limit = (lo, hi)
        super().__init__(interpolation, antialias, mask_interpolation, size, p=p)

    def _target(self, hw: torch.Tensor, carrier: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        scale = 1.0 + self._uniform(carrier, *self.scale_limit, generator=generator).to(torch.float64)
        return (hw.to(torch.float64) * scale.unsqueeze(1)).floor()

    def extra_repr(self) -> str:
        return f"scale_limit={self.scale_limit}, " + super().extra_repr()


@register("transform", example=lambda: RandomResize(10, 20, size=16))
class RandomResize(_Resizer):
    """Resize the shorter side to an int drawn uniformly from ``[min_size, max_size)`` per sample
    (torchvision ``RandomResize``; the longer side ``int(s * long / short)``). Output: a list, or
    one batch with ``size=``. Params: ``size (B, 2)``, ``apply``.
    """

    def __init__(
        self,
        min_size: int,
        max_size: int,
        interpolation: Any = "bilinear",
        antialias: bool = True,
        *,
        mask_interpolation: Any = "nearest",
        size: int | Sequence[int] | None = None,
        p: float = 1.0,
    ) -> None:
        owner = type(self).__name__
        self.min_size = int(check_number(min_size, owner=owner, name="min_size", low=1, integer=True))
        self.max_size = int(check_number(max_size, owner=owner, name="max_size", low=1, integer=True))
        if self.max_size <= self.min_size:
            raise ValueError(f"{owner}: max_size must be greater than min_size={min_size} (drawn from [min_size, max_size)); got {max_size!r}")
        super().__init__(interpolation, antialias, mask_interpolation, size, p=p)

    def _target(self, hw: torch.Tensor, carrier: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        s = (self.min_size + self._randint(carrier, self.max_size - self.min_size, generator=generator)).to(torch.float64)
        h, w = hw[:, 0].to(torch.float64), hw[:, 1].to(torch.float64)
        short, long = torch.minimum(h, w), torch.maximum(h, w)
        new_long = (s * long / short).floor()
        return torch.stack([torch.where(h <= w, s, new_long), torch.where(h <= w, new_long, s)], dim=1)

    def extra_repr(self) -> str:
        return f"min_size={self.min_size}, max_size={self.max_size}, " + super().extra_repr()


@register("transform", example=lambda: ScaleJitter((16, 16), scale_range=(0.5, 1.5), size=16))
class ScaleJitter(_Resizer):
    """Large-scale jitter (torchvision ``ScaleJitter``; Ghiasi et al. 2021, "Simple Copy-Paste is a
    Strong Data Augmentation Method for Instance Segmentation", which used ``scale_range=(0.1, 2.0)``
    at 1024x1024): ``r = min(target_size[1] / H, target_size[0] / W) * u``, ``u`` uniform in
    ``scale_range`` per sample; new size ``int(side * r)``. Output: a list, or one batch with ``size=``.
    """

    def __init__(
        self,
        target_size: Sequence[int],
        scale_range: Sequence[float] = (0.1, 2.0),
        interpolation: Any = "bilinear",
        antialias: bool = True,
        *,
        mask_interpolation: Any = "nearest",
        size: int | Sequence[int] | None = None,
        p: float = 1.0,
    ) -> None:
        owner = type(self).__name__
        if not (isinstance(target_size, Sequence) and len(target_size) == 2):
            raise TypeError(f"{owner}: target_size must be a pair of ints (torchvision's order); got {describe(target_size)}")
        self.target_size = _size(tuple(target_size), owner, "target_size")
        self.scale_range = float_range(scale_range, owner=owner, name="scale_range", low=0.0)
        if self.scale_range[0] <= 0:
            raise ValueError(f"{owner}: scale_range must be positive; got {scale_range!r}")
        super().__init__(interpolation, antialias, mask_interpolation, size, p=p)

    def _target(self, hw: torch.Tensor, carrier: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        u = self._uniform(carrier, *self.scale_range, generator=generator)
        hwd = hw.to(torch.float64)
        # float32 as torchvision (its scale is a float32 tensor): sizes then agree to the pixel
        r = torch.minimum(self.target_size[1] / hwd[:, 0], self.target_size[0] / hwd[:, 1]).float() * u.float()
        return (hw.float() * r.unsqueeze(1)).floor()

    def extra_repr(self) -> str:
        return f"target_size={self.target_size}, scale_range={self.scale_range}, " + super().extra_repr()


@register("transform", example=lambda: RandomShortestSize([12, 16, 20], max_size=24, size=16))
class RandomShortestSize(_Resizer):
    """Resize so that the shorter side is one of ``min_size`` (drawn per sample), the longer at most
    ``max_size`` (torchvision ``RandomShortestSize``; new size ``int(side * r)``). Output: a list,
    or one batch with ``size=``.
    """

    def __init__(
        self,
        min_size: int | Sequence[int],
        max_size: int | None = None,
        interpolation: Any = "bilinear",
        antialias: bool = True,
        *,
        mask_interpolation: Any = "nearest",
        size: int | Sequence[int] | None = None,
        p: float = 1.0,
    ) -> None:
        owner = type(self).__name__
        vals = [min_size] if isinstance(min_size, int) and not isinstance(min_size, bool) else min_size
        if not isinstance(vals, Sequence) or not vals or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            raise TypeError(f"{owner}: min_size must be an int or a non-empty sequence of ints; got {min_size!r}")
        if min(vals) <= 0:
            raise ValueError(f"{owner}: min_size must be positive; got {min_size!r}")
        self.min_size = tuple(int(v) for v in vals)
        self.max_size = None if max_size is None else int(check_number(max_size, owner=owner, name="max_size", low=1, integer=True))
        super().__init__(interpolation, antialias, mask_interpolation, size, p=p)

    def _target(self, hw: torch.Tensor, carrier: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        k = self._randint(carrier, len(self.min_size), generator=generator)
        s = constant(self.min_size, hw.device, torch.float64).index_select(0, k)
        hwd = hw.to(torch.float64)
        r = s / torch.minimum(hwd[:, 0], hwd[:, 1])
        if self.max_size is not None:
            r = torch.minimum(r, self.max_size / torch.maximum(hwd[:, 0], hwd[:, 1]))
        return (hwd * r.unsqueeze(1)).floor()

    def extra_repr(self) -> str:
        return f"min_size={self.min_size}, max_size={self.max_size}, " + super().extra_repr()


# ---------------------------------------------------------------------------------------------
# padding
# ---------------------------------------------------------------------------------------------
_POSITIONS = ("center", "top_left", "top_right", "bottom_left", "bottom_right", "random")


def _border(v: Any, owner: str) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        if v not in _CV2_BORDER:
            raise ValueError(f"{owner}: border_mode as an OpenCV code must be one of {sorted(_CV2_BORDER)} "
                             f"(BORDER_CONSTANT, REPLICATE, REFLECT, REFLECT_101); got {v!r}")
        return _CV2_BORDER[v]
    return check_choice(v, _BORDERS, owner=owner, name="border_mode")


@register("transform", example=lambda: PadIfNeeded(min_height=20, min_width=24, position="random"))
class PadIfNeeded(RandomTransform):
    """Pad to at least ``min_height x min_width``, or up to multiples of ``pad_height_divisor`` /
    ``pad_width_divisor`` (albumentations ``PadIfNeeded``; give one of each pair).

    ``position``: ``center`` (the extra pixel of an odd total at the bottom/right), ``top_left``,
    ``top_right``, ``bottom_left``, ``bottom_right`` (where the image sits), or ``random`` (a
    per-sample split of the padding). ``border_mode``: ``constant`` (``fill``, ``fill_mask`` for
    masks), ``edge``, ``reflect`` (OpenCV's REFLECT_101), ``symmetric`` (OpenCV's REFLECT), or the
    OpenCV codes 0, 1, 4, 2. Every sample of a batch has one size, so the output is one batch;
    ``p`` is not offered (a sample left unpadded would not fit it).
    Shapes: ``(B, C, H, W) -> (B, C, H', W')``. Params: ``top``, ``left`` ``(B,)`` int64 padding.
    """

    geometric = True
    keeps_size = False
    supports_uint16 = True

    def __init__(
        self,
        min_height: int | None = 1024,
        min_width: int | None = 1024,
        pad_height_divisor: int | None = None,
        pad_width_divisor: int | None = None,
        position: str = "center",
        border_mode: Any = "constant",
        fill: float | Sequence[float] = 0,
        fill_mask: float = 0,
    ) -> None:
        super().__init__(p=1.0)
        owner = type(self).__name__
        if pad_height_divisor is not None and min_height == 1024:
            min_height = None
        if pad_width_divisor is not None and min_width == 1024:
            min_width = None
        for a, b, na, nb in ((min_height, pad_height_divisor, "min_height", "pad_height_divisor"),
                             (min_width, pad_width_divisor, "min_width", "pad_width_divisor")):
            if (a is None) == (b is None):
                raise ValueError(f"{owner}: give exactly one of {na} and {nb}; got {na}={a!r}, {nb}={b!r}")
            for n, v in ((na, a), (nb, b)):
                if v is not None:
                    check_number(v, owner=owner, name=n, low=1, integer=True)
        self.min_height, self.min_width = min_height, min_width
        self.pad_height_divisor, self.pad_width_divisor = pad_height_divisor, pad_width_divisor
        self.position = check_choice(position, _POSITIONS, owner=owner, name="position")
        self.border_mode = _border(border_mode, owner)
        self.fill = _fill(fill, owner)
        self.fill_mask = _fill(fill_mask, owner)

    @staticmethod
    def _dim(n: int, minimum: int | None, divisor: int | None) -> tuple[int, int]:
        """albumentations' ``get_dimension_padding``: ``(before, after)`` for a side of ``n``."""
        if minimum is not None:
            if n < minimum:
                before = int((minimum - n) / 2.0)
                return before, minimum - n - before
            return 0, 0
        rem = n % divisor  # type: ignore[operator]
        if rem:
            total = divisor - rem  # type: ignore[operator]
            return total // 2, total - total // 2
        return 0, 0

    def _pads(self, h: int, w: int) -> tuple[int, int, int, int]:
        t, b = self._dim(h, self.min_height, self.pad_height_divisor)
        l, r = self._dim(w, self.min_width, self.pad_width_divisor)
        return t, b, l, r

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        t, b, l, r = self._pads(*x.shape[-2:])
        th, tw = t + b, l + r
        n = x.shape[0]
        if self.position == "random":  # albumentations: randint(0, total) (total excluded)
            top = self._randint(x, max(th, 1), generator=generator)
            left = self._randint(x, max(tw, 1), generator=generator)
            return {"top": top, "left": left}
        top = {"center": t, "top_left": 0, "top_right": 0, "bottom_left": th, "bottom_right": th}[self.position]
        left = {"center": l, "top_left": 0, "bottom_left": 0, "top_right": tw, "bottom_right": tw}[self.position]
        return {"top": torch.full((n,), top, dtype=torch.long, device=x.device),
                "left": torch.full((n,), left, dtype=torch.long, device=x.device)}

    def _pad(self, x: torch.Tensor, params: Params, fill: Any) -> torch.Tensor:
        t, b, l, r = self._pads(*x.shape[-2:])
        h, w = x.shape[-2:]
        if self.position != "random":  # one offset for the batch: a copy into the padded output
            top = {"center": t, "top_left": 0, "top_right": 0, "bottom_left": t + b, "bottom_right": t + b}[self.position]
            left = {"center": l, "top_left": 0, "bottom_left": 0, "top_right": l + r, "bottom_right": l + r}[self.position]
            return FR.pad_sides(x, left, top, l + r - left, t + b - top, mode=self.border_mode, fill=fill)
        return FG.crop(x, -params["top"], -params["left"], h + t + b, w + l + r, padding_mode=self.border_mode, fill=fill)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _check_fill(self.fill, x, type(self).__name__)
        return self._pad(x, params, self.fill)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        return self._pad(m, params, self.fill_mask)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return points + torch.stack([params["left"], params["top"]], dim=1).to(points.dtype).unsqueeze(1)

    def extra_repr(self) -> str:
        return (f"min_height={self.min_height}, min_width={self.min_width}, pad_height_divisor={self.pad_height_divisor}, "
                f"pad_width_divisor={self.pad_width_divisor}, position={self.position!r}, border_mode={self.border_mode!r}")


@register("transform", example=lambda: Letterbox((16, 20)))
class Letterbox(RandomTransform):
    """Resize the longest side into ``size=(H, W)`` keeping the aspect, then pad to ``(H, W)``
    (YOLO's letterbox, as ultralytics' ``LetterBox(center=True)``: ``r = min(H / h, W / w)``,
    new size ``round(side * r)``, padding split as ``round(d / 2 -+ 0.1)``; grey ``fill``: ``None``
    means 114 of 255 in the image's scale). Deterministic; every sample of a batch has one size.

    Params: ``scale (B, 2)`` float (x and y factors of the resize), ``offset (B, 2)`` float (left,
    top padding): a point of the input maps to ``p * scale + offset``, and :meth:`unmap_boxes`
    maps xyxy boxes predicted on the letterboxed image back to the input.
    """

    geometric = True
    keeps_size = False

    def __init__(
        self,
        size: int | Sequence[int],
        interpolation: Any = "bilinear",
        fill: float | Sequence[float] | None = None,
        *,
        antialias: bool = True,
        mask_interpolation: Any = "nearest",
    ) -> None:
        super().__init__(p=1.0)
        owner = type(self).__name__
        self.size = _size(size, owner)
        self.interpolation = _interp(interpolation, owner, allow_random=False)
        self.mask_interpolation = _interp(mask_interpolation, owner, "mask_interpolation", allow_random=False)
        self.fill = _fill(fill, owner)
        self.antialias = check_bool(antialias, owner=owner, name="antialias")

    def geometry(self, h: int, w: int) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
        """``((new_h, new_w), (left, top, right, bottom))`` for an ``h x w`` input."""
        th, tw = self.size
        r = min(th / h, tw / w)
        nh, nw = max(1, int(round(h * r))), max(1, int(round(w * r)))
        dh, dw = (th - nh) / 2, (tw - nw) / 2
        top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
        return (nh, nw), (left, top, tw - nw - left, th - nh - top)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        (nh, nw), (left, top, _, _) = self.geometry(h, w)
        b = x.shape[0]
        return {"scale": constant((nw / w, nh / h), x.device, torch.float32).expand(b, 2),
                "offset": constant((float(left), float(top)), x.device, torch.float32).expand(b, 2)}

    def _box(self, x: torch.Tensor, interpolation: str, fill: Any) -> torch.Tensor:
        (nh, nw), pads = self.geometry(*x.shape[-2:])
        out = FR.resize_to(x, (nh, nw), interpolation, antialias=self.antialias)
        return FR.pad_sides(out, *pads, mode="constant", fill=fill)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        fill = self.fill
        if fill is None:
            fill = 114 if x.dtype == torch.uint8 else 114 / 255
        _check_fill(fill, x, type(self).__name__)
        return self._box(x, self.interpolation, fill)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        return self._box(m, self.mask_interpolation, 0)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return points * params["scale"].to(points.dtype).unsqueeze(1) + params["offset"].to(points.dtype).unsqueeze(1)

    @staticmethod
    def unmap_boxes(boxes: torch.Tensor, params: Params) -> torch.Tensor:
        """xyxy ``(B, N, 4)`` boxes on the letterboxed images -> boxes on the inputs (``(b - offset) / scale``)."""
        s = params["scale"].to(boxes.dtype).repeat(1, 2).unsqueeze(1)
        o = params["offset"].to(boxes.dtype).repeat(1, 2).unsqueeze(1)
        return (boxes - o) / s

    def extra_repr(self) -> str:
        return f"size={self.size}, interpolation={self.interpolation!r}"


# ---------------------------------------------------------------------------------------------
# evaluation crops
# ---------------------------------------------------------------------------------------------
class FiveCrop:
    """The four corner crops and the centre crop of every sample (torchvision ``FiveCrop``), for
    evaluation (test-time augmentation; average the predictions). Deterministic.

    ``(B, C, H, W)`` (or ``(C, H, W)``) -> a tuple ``(top_left, top_right, bottom_left,
    bottom_right, center)`` of ``(B, C, h, w)`` batches (torchvision's order); ``stack=True`` returns
    one ``(B * 5, C, h, w)`` batch, sample-major (rows ``5 i .. 5 i + 4`` are sample ``i``'s crops, in
    that order): ``model(out).view(B, 5, -1).mean(1)``. Not an ``nn.Module`` augmenter (it returns
    several images per sample), so it is not part of the registry.
    """

    n_crops = 5

    def __init__(self, size: int | Sequence[int], *, stack: bool = False) -> None:
        self.size = _size(size, type(self).__name__)
        self.stack = check_bool(stack, owner=type(self).__name__, name="stack")

    def _check(self, x: Any) -> tuple[torch.Tensor, bool]:
        owner = type(self).__name__
        if not isinstance(x, torch.Tensor) or x.ndim not in (3, 4):
            raise TypeError(f"{owner}: x must be a (B, C, H, W) or (C, H, W) tensor; got {describe(x)}")
        h, w = x.shape[-2:]
        ch, cw = self.size
        if ch > h or cw > w:
            raise ValueError(f"{owner}: size {self.size} is larger than the image ({h}, {w})")
        return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)

    def _crops(self, x: torch.Tensor) -> list[torch.Tensor]:
        h, w = x.shape[-2:]
        ch, cw = self.size
        return [x[..., :ch, :cw], x[..., :ch, w - cw:], x[..., h - ch:, :cw], x[..., h - ch:, w - cw:],
                FG.center_crop(x, self.size)]

    def _finish(self, crops: list[torch.Tensor], x: torch.Tensor, single: bool) -> Any:
        crops = [FG._same_format(c.contiguous() if c.ndim != 4 else c, x) for c in crops]
        if self.stack:
            out = torch.stack(crops, dim=1).flatten(0, 1)
            return out
        return tuple(c[0] if single else c for c in crops)

    def __call__(self, x: torch.Tensor) -> Any:
        x4, single = self._check(x)
        return self._finish(self._crops(x4), x4, single)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, stack={self.stack})"


class TenCrop(FiveCrop):
    """:class:`FiveCrop` of the image and of its mirror (torchvision ``TenCrop``: ``vertical_flip=False``
    mirrors left-right, ``True`` top-bottom): a tuple of 10 batches, the five of the image then the
    five of the mirror, or ``(B * 10, C, h, w)`` with ``stack=True``."""

    n_crops = 10

    def __init__(self, size: int | Sequence[int], vertical_flip: bool = False, *, stack: bool = False) -> None:
        super().__init__(size, stack=stack)
        self.vertical_flip = check_bool(vertical_flip, owner=type(self).__name__, name="vertical_flip")

    def __call__(self, x: torch.Tensor) -> Any:
        x4, single = self._check(x)
        flipped = x4.flip(-2 if self.vertical_flip else -1)
        return self._finish(self._crops(x4) + self._crops(flipped), x4, single)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, vertical_flip={self.vertical_flip}, stack={self.stack})"
