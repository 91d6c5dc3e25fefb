"""Geometric transforms with torchvision v2 names and arguments, per-sample parameters.

torchvision v2 draws one set of parameters per call (one crop box, one angle for the whole
batch); here every sample of a ``(B, C, H, W)`` batch gets its own, drawn on the data's device
in one vectorised pass, and the batch is warped by one batched kernel from
:mod:`torchaug.functional.geometry`. Each op takes ``p`` (per-sample probability),
``same_on_batch`` and a ``generator=`` at call time, returns its parameters with
``return_params=True`` and replays them with ``params=``. Masks, boxes and keypoints passed
with the images move with the same per-sample parameters (see :mod:`torchaug.transforms.targets`).

Size-changing ops (crops, resizes) cannot blend with the original, so their ``p`` means: the
samples not selected get the neutral parameters (``RandomCrop``: the centre crop;
``RandomResizedCrop``: the whole image resized).

Parity: a sample's output equals the torchvision v2 functional call with that sample's
parameters (see ``tests/transforms/test_geometry.py``): exact for flips and crops, within 1e-5
(float) / one grey level (uint8) for the warps; ``RandomResizedCrop`` on CPU calls the same
PyTorch resize kernel per sample and is exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from torchaug._validation import check_bool, check_choice, check_number
from torchaug.functional import geometry as FG
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug.transforms._base import Params, RandomTransform

__all__ = [
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomCrop",
    "RandomResizedCrop",
    "RandomAffine",
    "RandomRotation",
    "RandomPerspective",
    "ElasticTransform",
    "Resize",
    "CenterCrop",
    "Pad",
]

_INTERP = ("nearest", "bilinear")
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _interp(v: Any, owner: str) -> str:
    v = getattr(v, "value", v)  # torchvision InterpolationMode
    if isinstance(v, str):
        v = v.lower()
    return check_choice(v, _INTERP, owner=owner, name="interpolation")


def _size(size: Any, owner: str, name: str = "size") -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        vals = [size, size]
    elif isinstance(size, Sequence) and len(size) in (1, 2) and all(isinstance(v, int) and not isinstance(v, bool) for v in size):
        vals = [size[0], size[-1]]
    else:
        raise TypeError(f"{owner}: {name} must be an int or a sequence of 1 or 2 ints; got {size!r}")
    if min(vals) <= 0:
        raise ValueError(f"{owner}: {name} must be positive; got {size!r}")
    return vals[0], vals[1]


def _symmetric(v: Any, owner: str, name: str, *, low: float | None = None) -> tuple[float, float]:
    """torchvision's number-or-pair: ``d -> (-d, d)``, ``(a, b)`` kept (a <= b)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        check_number(v, owner=owner, name=name, low=0.0)
        return (-float(v), float(v))
    if isinstance(v, Sequence) and len(v) == 2:
        a = check_number(v[0], owner=owner, name=name, low=low)
        b = check_number(v[1], owner=owner, name=name, low=low)
        if a > b:
            raise ValueError(f"{owner}: {name} must be (min, max) with min <= max; got {tuple(v)}")
        return (float(a), float(b))
    raise TypeError(f"{owner}: {name} must be a non-negative number or a (min, max) pair; got {v!r}")


def _pair(v: Any, owner: str, name: str, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    if not (isinstance(v, Sequence) and len(v) == 2):
        raise TypeError(f"{owner}: {name} must be a (min, max) pair; got {v!r}")
    a = check_number(v[0], owner=owner, name=name, low=low, high=high)
    b = check_number(v[1], owner=owner, name=name, low=low, high=high)
    if a > b:
        raise ValueError(f"{owner}: {name} must be (min, max) with min <= max; got {tuple(v)}")
    return float(a), float(b)


def _fill(fill: Any, owner: str) -> Any:
    if fill is None or isinstance(fill, (int, float)) and not isinstance(fill, bool):
        return fill
    if isinstance(fill, Sequence) and all(isinstance(v, (int, float)) for v in fill):
        return [float(v) for v in fill]
    raise TypeError(f"{owner}: fill must be a number or a sequence of numbers (one per channel); got {fill!r}")


def _check_fill(fill: Any, x: torch.Tensor, owner: str) -> None:
    """``fill`` is in the image's scale (as torchvision): [0, 255] for uint8, [0, 1] for floating images."""
    if fill is None:
        return
    hi = {torch.uint8: 255.0, torch.uint16: 65535.0}.get(x.dtype, 1.0)
    if any(not 0.0 <= v <= hi for v in ([fill] if isinstance(fill, (int, float)) else fill)):
        raise ValueError(f"{owner}: fill must lie in [0, {hi:g}] for {str(x.dtype).replace('torch.', '')} images; got {fill!r}")


# ---------------------------------------------------------------------------------------------
# flips
# ---------------------------------------------------------------------------------------------
@register("transform", example=lambda: RandomHorizontalFlip(p=0.5))
class RandomHorizontalFlip(RandomTransform):
    """Mirror each sample left-right with probability ``p`` (torchvision ``RandomHorizontalFlip``).

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``. Params: ``apply (B,)``.
    """

    geometric = True

    def __init__(self, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def transform(self, x: torch.Tensor, params: Params, out: torch.Tensor | None = None) -> torch.Tensor:
        return FG.hflip(x, out=out)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        out = points.clone()
        out[..., 0] = size[1] - points[..., 0]
        return out


@register("transform", example=lambda: RandomVerticalFlip(p=0.5))
class RandomVerticalFlip(RandomTransform):
    """Mirror each sample top-bottom with probability ``p`` (torchvision ``RandomVerticalFlip``)."""

    geometric = True

    def __init__(self, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def transform(self, x: torch.Tensor, params: Params, out: torch.Tensor | None = None) -> torch.Tensor:
        return FG.vflip(x, out=out)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        out = points.clone()
        out[..., 1] = size[0] - points[..., 1]
        return out


# ---------------------------------------------------------------------------------------------
# crops
# ---------------------------------------------------------------------------------------------
@register("transform", example=lambda: RandomCrop(12, padding=2, padding_mode="reflect"))
class RandomCrop(RandomTransform):
    """A random ``size`` crop per sample, after optional padding (torchvision ``RandomCrop``).

    ``padding`` (int, ``(lr, tb)`` or ``(l, t, r, b)``), ``pad_if_needed``, ``fill`` and
    ``padding_mode`` (``constant``, ``edge``, ``reflect``, ``symmetric``) as torchvision. The
    padding is never materialised: each crop is one gather whose out-of-image indices are
    resolved by ``padding_mode``. The CIFAR standard (He et al. 2016, "Deep Residual Learning"):
    ``RandomCrop(32, padding=4)``.

    Shapes: ``(B, C, H, W) -> (B, C, *size)``. Params: ``top``, ``left`` ``(B,)`` int64 in the
    unpadded image's pixel grid (negative inside the padding), ``apply``. Samples not selected
    by ``p`` get the centre crop of the padded image.
    """

    keeps_size = False
    geometric = True

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        pad_if_needed: bool = False,
        fill: float | Sequence[float] = 0,
        padding_mode: str = "constant",
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.size = _size(size, owner)
        try:
            self.padding = FG._parse_padding(0 if padding is None else padding)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{owner}: padding must be an int or a sequence of 1, 2 or 4 ints; got {padding!r}") from err
        if min(self.padding) < 0:
            raise ValueError(f"{owner}: padding must be non-negative; got {padding!r}")
        self.pad_if_needed = check_bool(pad_if_needed, owner=owner, name="pad_if_needed")
        self.fill = _fill(fill, owner)
        self.padding_mode = check_choice(padding_mode, _PAD_MODES, owner=owner, name="padding_mode")

    def _pads(self, h: int, w: int) -> tuple[int, int, int, int]:
        l, t, r, b = self.padding
        ch, cw = self.size
        if self.pad_if_needed and h + t + b < ch:
            diff = ch - (h + t + b)
            t, b = t + diff, b + diff
        if self.pad_if_needed and w + l + r < cw:
            diff = cw - (w + l + r)
            l, r = l + diff, r + diff
        if h + t + b < ch or w + l + r < cw:
            raise ValueError(
                f"{type(self).__name__}: size {self.size} is larger than the padded image "
                f"({h + t + b}, {w + l + r}); use pad_if_needed=True"
            )
        return l, t, r, b

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        l, t, r, b = self._pads(h, w)
        ch, cw = self.size
        top = self._randint(x, h + t + b - ch + 1, generator=generator) - t
        left = self._randint(x, w + l + r - cw + 1, generator=generator) - l
        params: Params = {}
        if self.p < 1.0:
            apply = self._rand(x, generator=generator) < self.p
            top = torch.where(apply, top, int(round((h + t + b - ch) / 2.0)) - t)
            left = torch.where(apply, left, int(round((w + l + r - cw) / 2.0)) - l)
            params["apply"] = apply
        params.update(top=top, left=left)
        return params

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _check_fill(self.fill, x, type(self).__name__)
        h, w = x.shape[-2:]
        return FG.crop(x, params["top"], params["left"], *self.size, padding_mode=self.padding_mode, fill=self.fill,
                       bounds=self._pads(h, w))

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.crop(m, params["top"], params["left"], *self.size, padding_mode=self.padding_mode, fill=0)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        shift = torch.stack([params["left"], params["top"]], dim=1).to(points.dtype).unsqueeze(1)
        return points - shift

    def extra_repr(self) -> str:
        return f"size={self.size}, padding={self.padding}, padding_mode={self.padding_mode!r}, " + super().extra_repr()


@register("transform", example=lambda: RandomResizedCrop(12))
class RandomResizedCrop(RandomTransform):
    """A random box per sample, resized to ``size`` (torchvision ``RandomResizedCrop``).

    The Inception crop (Szegedy et al. 2015, "Going Deeper with Convolutions"): a box of
    ``scale`` (default 8%-100%) of the image area and aspect ``ratio`` (default 3/4-4/3,
    log-uniform), ten tries then a centre-crop fallback, exactly torchvision's sampling but
    vectorised over the batch. ``interpolation`` ``"bilinear"`` (``antialias``) or
    ``"nearest"``. ``method`` chooses the resize kernel (see
    :func:`torchaug.functional.geometry.resized_crop`: ``"auto"`` runs PyTorch's native uint8
    resize per sample on CPU, and one batched separable pass elsewhere).

    Shapes: ``(B, C, H, W) -> (B, C, *size)``. Params: ``top``, ``left``, ``height``, ``width``
    ``(B,)`` int64, ``apply`` (samples not selected by ``p`` get the whole image).
    """

    keeps_size = False
    geometric = True

    def __init__(
        self,
        size: int | Sequence[int],
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: str = "bilinear",
        antialias: bool = True,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
        method: str = "auto",
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.size = _size(size, owner)
        self.scale = _pair(scale, owner, "scale", low=0.0)
        self.ratio = _pair(ratio, owner, "ratio", low=1e-6)
        self.interpolation = _interp(interpolation, owner)
        self.antialias = check_bool(antialias, owner=owner, name="antialias")
        self.method = check_choice(method, ("auto", "loop", "separable"), owner=owner, name="method")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        area = float(h * w)
        lo, hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        tries = 10
        u = self._rand(x, 2, tries, generator=generator).to(torch.float64)
        target_area = area * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 0])
        aspect = torch.exp(lo + (hi - lo) * u[:, 1])
        cw = torch.sqrt(target_area * aspect).round().long()
        ch = torch.sqrt(target_area / aspect).round().long()
        ok = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h)
        first = ok.long().argmax(dim=1, keepdim=True)
        found = ok.any(dim=1)
        cw = cw.gather(1, first).squeeze(1)
        ch = ch.gather(1, first).squeeze(1)
        # fallback: torchvision's centre crop
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            fw, fh = w, int(round(w / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            fh, fw = h, int(round(h * self.ratio[1]))
        else:
            fw, fh = w, h
        ch = torch.where(found, ch, fh)
        cw = torch.where(found, cw, fw)
        top = self._randint(x, h - ch + 1, generator=generator)
        left = self._randint(x, w - cw + 1, generator=generator)
        top = torch.where(found, top, (h - fh) // 2)
        left = torch.where(found, left, (w - fw) // 2)
        params: Params = {}
        if self.p < 1.0:
            apply = self._rand(x, generator=generator) < self.p
            top, left = torch.where(apply, top, 0), torch.where(apply, left, 0)
            ch, cw = torch.where(apply, ch, h), torch.where(apply, cw, w)
            params["apply"] = apply
        params.update(top=top, left=left, height=ch, width=cw)
        return params

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.resized_crop(
            x, params["top"], params["left"], params["height"], params["width"], self.size,
            interpolation=self.interpolation, antialias=self.antialias, method=self.method,
        )

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.resized_crop(
            m, params["top"], params["left"], params["height"], params["width"], self.size, interpolation="nearest"
        )

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        shift = torch.stack([params["left"], params["top"]], dim=1).to(points.dtype).unsqueeze(1)
        scale = torch.stack(
            [self.size[1] / params["width"].to(points.dtype), self.size[0] / params["height"].to(points.dtype)], dim=1
        ).unsqueeze(1)
        return (points - shift) * scale

    def extra_repr(self) -> str:
        return f"size={self.size}, scale={self.scale}, ratio={tuple(round(r, 4) for r in self.ratio)}, " + super().extra_repr()


# ---------------------------------------------------------------------------------------------
# warps
# ---------------------------------------------------------------------------------------------
class _Warp(RandomTransform):
    """Shared by the grid-sampling ops: ``interpolation``/``fill`` for images, nearest/0 for masks."""

    __torchaug_public__ = False
    geometric = True
    interpolation: str = "nearest"
    fill: Any = 0

    def _warp(self, x: torch.Tensor, params: Params, interpolation: str, fill: Any) -> torch.Tensor:
        raise TypeError(f"{type(self).__name__} does not define _warp()")  # pragma: no cover

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _check_fill(self.fill, x, type(self).__name__)
        return self._warp(x, params, self.interpolation, self.fill)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        return self._warp(m, params, "nearest", 0)


@register("transform", example=lambda: RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5))
class RandomAffine(_Warp):
    """Random rotation, translation, scale and shear per sample (torchvision ``RandomAffine``).

    ``degrees`` (``d`` -> ``(-d, d)``, clockwise as torchvision's ``F.affine``), ``translate``
    ``(a, b)``: fractions of width/height (whole pixels, rounded, as torchvision), ``scale``
    ``(lo, hi)``, ``shear`` (``s`` -> x-shear in ``(-s, s)``; ``(a, b)``; or ``(a, b, c, d)`` for
    x and y), ``interpolation`` (``"nearest"`` default, or ``"bilinear"``), ``fill``, ``center``
    ``(cx, cy)`` pixels (default the image centre). ``p`` selects the samples to warp.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``. Params: ``angle (B,)``, ``translate (B, 2)``,
    ``scale (B,)``, ``shear (B, 2)``, ``apply``.
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: float | Sequence[float] | None = None,
        interpolation: str = "nearest",
        fill: float | Sequence[float] = 0,
        center: Sequence[float] | None = None,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.degrees = _symmetric(degrees, owner, "degrees")
        if translate is not None:
            if not (isinstance(translate, Sequence) and len(translate) == 2):
                raise TypeError(f"{owner}: translate must be None or a pair (a, b) of fractions; got {translate!r}")
            self.translate = tuple(  # type: ignore[assignment]
                float(check_number(t, owner=owner, name="translate", low=0.0, high=1.0)) for t in translate
            )
        else:
            self.translate = None
        if scale is not None:
            self.scale = _pair(scale, owner, "scale", low=0.0)
            if self.scale[0] <= 0:
                raise ValueError(f"{owner}: scale values must be positive; got {tuple(scale)}")
        else:
            self.scale = None
        if shear is None:
            self.shear = None
        elif isinstance(shear, Sequence) and len(shear) == 4:
            sx = _pair(shear[:2], owner, "shear")
            sy = _pair(shear[2:], owner, "shear")
            self.shear = (*sx, *sy)
        else:
            self.shear = (*_symmetric(shear, owner, "shear"), 0.0, 0.0)
        self.interpolation = _interp(interpolation, owner)
        self.fill = _fill(fill, owner)
        if center is not None and not (isinstance(center, Sequence) and len(center) == 2):
            raise TypeError(f"{owner}: center must be None or an (x, y) pair; got {center!r}")
        self.center = None if center is None else [float(c) for c in center]

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        u = self._rand(x, 6, generator=generator)
        angle = self.degrees[0] + (self.degrees[1] - self.degrees[0]) * u[:, 0]
        if self.translate is not None:
            max_dx, max_dy = self.translate[0] * w, self.translate[1] * h
            tx = (-max_dx + 2 * max_dx * u[:, 1]).round()
            ty = (-max_dy + 2 * max_dy * u[:, 2]).round()
            translate = torch.stack([tx, ty], dim=1)
        else:
            translate = torch.zeros(x.shape[0], 2, device=x.device)
        scale = self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 3] if self.scale else torch.ones_like(angle)
        if self.shear is not None:
            shx = self.shear[0] + (self.shear[1] - self.shear[0]) * u[:, 4]
            shy = self.shear[2] + (self.shear[3] - self.shear[2]) * u[:, 5]
            shear = torch.stack([shx, shy], dim=1)
        else:
            shear = torch.zeros(x.shape[0], 2, device=x.device)
        return {"angle": angle, "translate": translate, "scale": scale, "shear": shear}

    def matrix(self, params: Params, size: tuple[int, int]) -> torch.Tensor:
        """Forward ``(B, 2, 3)`` pixel-coordinate maps of ``params`` for images of ``size=(H, W)``."""
        return FG.affine_matrix(
            params["angle"], params["translate"], params["scale"], params["shear"],
            size=size, center=self.center, batch_size=params["angle"].shape[0], device=params["angle"].device,
        )

    def _warp(self, x: torch.Tensor, params: Params, interpolation: str, fill: Any) -> torch.Tensor:
        return FG.affine(x, self.matrix(params, tuple(x.shape[-2:])), interpolation=interpolation, fill=fill)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return FG.affine_points(points, self.matrix(params, size))

    def extra_repr(self) -> str:
        return (
            f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, shear={self.shear}, "
            f"interpolation={self.interpolation!r}, " + super().extra_repr()
        )


@register("transform", example=lambda: RandomRotation(30))
class RandomRotation(_Warp):
    """Rotate each sample by its own angle from ``degrees`` (torchvision ``RandomRotation``).

    ``degrees``: ``d`` -> ``(-d, d)``, counter-clockwise as torchvision's ``F.rotate``;
    ``interpolation`` (``"nearest"`` default), ``center``, ``fill``. ``expand=True`` would give
    every sample its own output size, which a batch cannot hold: it raises.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``. Params: ``angle (B,)``, ``apply``.
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        interpolation: str = "nearest",
        expand: bool = False,
        center: Sequence[float] | None = None,
        fill: float | Sequence[float] = 0,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.degrees = _symmetric(degrees, owner, "degrees")
        self.interpolation = _interp(interpolation, owner)
        if check_bool(expand, owner=owner, name="expand"):
            raise ValueError(f"{owner}: expand must be False for batched per-sample rotation (each angle would need its own output size); got True")
        self.expand = False
        if center is not None and not (isinstance(center, Sequence) and len(center) == 2):
            raise TypeError(f"{owner}: center must be None or an (x, y) pair; got {center!r}")
        self.center = None if center is None else [float(c) for c in center]
        self.fill = _fill(fill, owner)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"angle": self._uniform(x, self.degrees[0], self.degrees[1], generator=generator)}

    def matrix(self, params: Params, size: tuple[int, int]) -> torch.Tensor:
        a = params["angle"]
        return FG.affine_matrix(-a, size=size, center=self.center, batch_size=a.shape[0], device=a.device)

    def _warp(self, x: torch.Tensor, params: Params, interpolation: str, fill: Any) -> torch.Tensor:
        return FG.affine(x, self.matrix(params, tuple(x.shape[-2:])), interpolation=interpolation, fill=fill)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return FG.affine_points(points, self.matrix(params, size))

    def extra_repr(self) -> str:
        return f"degrees={self.degrees}, interpolation={self.interpolation!r}, " + super().extra_repr()


@register("transform", example=lambda: RandomPerspective(0.5, p=0.5))
class RandomPerspective(_Warp):
    """A random projective warp per sample (torchvision ``RandomPerspective``).

    Each corner moves inwards by up to ``distortion_scale`` times half the image size; the
    homography taking the moved corners back is solved per sample in one batched solve.
    Default ``p=0.5``, ``interpolation="bilinear"``, ``fill=0`` as torchvision.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``. Params: ``startpoints``, ``endpoints``
    ``(B, 4, 2)`` (torchvision's corner lists), ``coefficients (B, 8)``, ``apply``.
    """

    def __init__(
        self,
        distortion_scale: float = 0.5,
        p: float = 0.5,
        interpolation: str = "bilinear",
        fill: float | Sequence[float] = 0,
        *,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.distortion_scale = float(check_number(distortion_scale, owner=owner, name="distortion_scale", low=0.0, high=1.0))
        self.interpolation = _interp(interpolation, owner)
        self.fill = _fill(fill, owner)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        if h < 2 or w < 2:  # coinciding corners: no homography (torch.linalg.solve would fail)
            raise ValueError(f"{type(self).__name__}: x must be at least 2x2 pixels (four distinct corners); got {h}x{w}")
        bh = int(self.distortion_scale * (h // 2)) + 1
        bw = int(self.distortion_scale * (w // 2)) + 1
        u = self._rand(x, 4, 2, generator=generator)
        # corner offsets: x in [0, bw), y in [0, bh), inwards from each corner
        dev, f32 = x.device, torch.float32
        off = (u * constant((bw, bh), dev)).floor().clamp_max(constant((bw - 1, bh - 1), dev))
        sx, sy = constant((0, w - 1, w - 1, 0), dev, f32), constant((0, 0, h - 1, h - 1), dev, f32)
        dx, dy = constant((1, -1, -1, 1), dev, f32), constant((1, 1, -1, -1), dev, f32)
        # torchvision draws randint(w - bw, w) for right corners: w - 1 - off
        ex = sx + dx * off[..., 0]
        ey = sy + dy * off[..., 1]
        start = torch.stack([sx, sy], dim=-1).expand(x.shape[0], 4, 2)
        end = torch.stack([ex, ey], dim=-1)
        return {"startpoints": start, "endpoints": end, "coefficients": FG.perspective_coefficients(start, end)}

    def _warp(self, x: torch.Tensor, params: Params, interpolation: str, fill: Any) -> torch.Tensor:
        return FG.perspective(x, params["coefficients"], interpolation=interpolation, fill=fill)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return FG.perspective_points(points, params["coefficients"])

    def extra_repr(self) -> str:
        return f"distortion_scale={self.distortion_scale}, " + super().extra_repr()


@register("transform", example=lambda: ElasticTransform(alpha=20.0, sigma=3.0))
class ElasticTransform(_Warp):
    """Elastic deformation per sample (torchvision ``ElasticTransform``; Simard et al. 2003,
    "Best Practices for CNNs Applied to Visual Document Analysis", which used alpha 34, sigma 4
    on MNIST).

    Uniform noise in [-1, 1] per pixel, Gaussian-blurred with ``sigma`` (kernel
    ``int(8 sigma + 1)``, odd) and scaled by ``alpha / size``, displaces every pixel. ``alpha``
    and ``sigma`` are numbers or ``(x, y)`` pairs; ``interpolation="bilinear"``, ``fill=0``.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``. Params: ``displacement (B, H, W, 2)`` in
    normalised grid units (torchvision's), ``apply``. Boxes/keypoints move by the approximate
    inverse ``p - d(p)``, as torchvision.
    """

    def __init__(
        self,
        alpha: float | Sequence[float] = 50.0,
        sigma: float | Sequence[float] = 5.0,
        interpolation: str = "bilinear",
        fill: float | Sequence[float] = 0,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__

        def two(v: Any, name: str) -> tuple[float, float]:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = (v, v)
            if not (isinstance(v, Sequence) and len(v) == 2):
                raise TypeError(f"{owner}: {name} must be a number or an (x, y) pair; got {v!r}")
            return tuple(float(check_number(e, owner=owner, name=name, low=0.0)) for e in v)  # type: ignore[return-value]

        self.alpha = two(alpha, "alpha")
        self.sigma = two(sigma, "sigma")
        self.interpolation = _interp(interpolation, owner)
        self.fill = _fill(fill, owner)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        noise = self._rand(x, 2, h, w, generator=generator) * 2 - 1
        return {"displacement": FG.elastic_displacement(noise, self.alpha, self.sigma)}

    def _warp(self, x: torch.Tensor, params: Params, interpolation: str, fill: Any) -> torch.Tensor:
        return FG.elastic(x, params["displacement"], interpolation=interpolation, fill=fill)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return FG.elastic_points(points, params["displacement"])

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, sigma={self.sigma}, " + super().extra_repr()


# ---------------------------------------------------------------------------------------------
# deterministic
# ---------------------------------------------------------------------------------------------
@register("transform", example=lambda: Resize(12))
class Resize(RandomTransform):
    """Resize every sample (torchvision ``Resize``): ``size`` ``(h, w)``, or an int for the
    shorter side (with ``max_size``); ``interpolation`` ``"bilinear"`` (``antialias``) or
    ``"nearest"``. Deterministic. Shapes: ``(B, C, H, W) -> (B, C, h, w)``."""

    keeps_size = False
    geometric = True

    def __init__(
        self,
        size: int | Sequence[int],
        interpolation: str = "bilinear",
        max_size: int | None = None,
        antialias: bool = True,
    ) -> None:
        super().__init__(p=1.0)
        owner = type(self).__name__
        if isinstance(size, int) and not isinstance(size, bool):
            self.size: int | tuple[int, int] = size
            if size <= 0:
                raise ValueError(f"{owner}: size must be positive; got {size!r}")
        else:
            self.size = _size(size, owner) if isinstance(size, Sequence) and len(size) == 2 else _size(size, owner)[0]
        self.interpolation = _interp(interpolation, owner)
        if max_size is not None:
            check_number(max_size, owner=owner, name="max_size", low=1, integer=True)
            if not isinstance(self.size, int):
                raise ValueError(f"{owner}: max_size needs an int size (the shorter side); got size={size!r}, max_size={max_size!r}")
            if max_size <= self.size:
                raise ValueError(f"{owner}: max_size must be greater than size={self.size}; got {max_size!r}")
        self.max_size = max_size
        self.antialias = check_bool(antialias, owner=owner, name="antialias")

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.resize(x, self.size, interpolation=self.interpolation, antialias=self.antialias, max_size=self.max_size)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        h, w = m.shape[-2:]
        oh, ow = FG._output_size(h, w, self.size, self.max_size)
        b = m.shape[0]
        z = torch.zeros(b, dtype=torch.long, device=m.device)
        return FG.resized_crop(m, z, z, z + h, z + w, (oh, ow), interpolation="nearest")

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        h, w = size
        oh, ow = FG._output_size(h, w, self.size, self.max_size)
        return points * constant((ow / w, oh / h), points.device, points.dtype)

    def extra_repr(self) -> str:
        return f"size={self.size}, interpolation={self.interpolation!r}, antialias={self.antialias}"


@register("transform", example=lambda: CenterCrop(12))
class CenterCrop(RandomTransform):
    """Centre crop to ``size`` (torchvision ``CenterCrop``; zero-pads smaller images). Deterministic."""

    keeps_size = False
    geometric = True

    def __init__(self, size: int | Sequence[int]) -> None:
        super().__init__(p=1.0)
        self.size = _size(size, type(self).__name__)

    def _offsets(self, h: int, w: int) -> tuple[int, int]:
        """``(top, left)`` of the crop in the input's pixel grid (negative when padding)."""
        oh, ow = self.size
        pt = (oh - h) // 2 if oh > h else 0
        pl = (ow - w) // 2 if ow > w else 0
        hp = max(h, oh)
        wp = max(w, ow)
        return int(round((hp - oh) / 2.0)) - pt, int(round((wp - ow) / 2.0)) - pl

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.center_crop(x, self.size)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        top, left = self._offsets(*size)
        return points - constant((left, top), points.device, points.dtype)

    def extra_repr(self) -> str:
        return f"size={self.size}"


@register("transform", example=lambda: Pad(2, padding_mode="reflect"))
class Pad(RandomTransform):
    """Pad every sample (torchvision ``Pad``): ``padding`` ``p``, ``(lr, tb)`` or ``(l, t, r, b)``;
    ``fill``; ``padding_mode`` ``constant``/``edge``/``reflect``/``symmetric``. Deterministic."""

    keeps_size = False
    geometric = True

    def __init__(self, padding: int | Sequence[int], fill: float | Sequence[float] = 0, padding_mode: str = "constant") -> None:
        super().__init__(p=1.0)
        owner = type(self).__name__
        try:
            self.padding = FG._parse_padding(padding)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{owner}: padding must be an int or a sequence of 1, 2 or 4 ints; got {padding!r}") from err
        if min(self.padding) < 0:
            raise ValueError(f"{owner}: padding must be non-negative; got {padding!r}")
        self.fill = _fill(fill, owner)
        self.padding_mode = check_choice(padding_mode, _PAD_MODES, owner=owner, name="padding_mode")

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _check_fill(self.fill, x, type(self).__name__)
        return FG.pad(x, self.padding, fill=self.fill, padding_mode=self.padding_mode)

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        return FG.pad(m, self.padding, fill=0, padding_mode=self.padding_mode)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return points + constant(tuple(self.padding[:2]), points.device, points.dtype)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, padding_mode={self.padding_mode!r}"


# uint16 images (16-bit, [0, 65535]): exact for the index ops, within half a level for the warps and
# resizes (their float maths); ops whose padding PyTorch lacks for uint16 (reflect/edge) raise there
for _cls in (RandomHorizontalFlip, RandomVerticalFlip, CenterCrop, Pad, RandomCrop, RandomAffine, RandomRotation,
             RandomPerspective, ElasticTransform, RandomResizedCrop, Resize):
    _cls.supports_uint16 = True
del _cls
