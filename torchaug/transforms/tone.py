"""Random per-sample tone and colour transforms with albumentations 2.0.8 / imgaug names.

Each transform draws its parameters for every sample of a ``(B, C, H, W)`` batch (one draw for
the whole batch with ``same_on_batch=True``) and applies them in one call of a
:mod:`torchaug.functional.tone` kernel. Arguments are albumentations' (``p`` defaults to 0.5 as
there); ``SigmoidContrast``, ``LogContrast`` and ``LinearContrast`` take imgaug's (which always
applies: ``p=1``). ``uint8`` stays ``uint8`` with the peer's rounding, floats stay floats;
results are clamped to the valid range. Targets pass through unchanged.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch

from torchaug._validation import check_bool, check_choice, check_number, describe
from torchaug.functional import tone as FT
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug.transforms._base import Params, RandomTransform

__all__ = [
    "RandomBrightnessContrast",
    "RGBShift",
    "ChannelShuffle",
    "PlanckianJitter",
    "FancyPCA",
    "ToSepia",
    "HueSaturationValue",
    "RandomToneCurve",
    "SigmoidContrast",
    "LogContrast",
    "LinearContrast",
    "CLAHE",
]


def _is_num(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _limit(v: Any, *, owner: str, name: str, center: float = 0.0, bound: float | None = None,
           low: float | None = None) -> tuple[float, float]:
    """albumentations' range rule: a number ``v`` -> ``(center - v, center + v)`` (``center=1``
    with ``low=1``: ``(1, v)``, its ``OnePlusFloatRangeType``), or an increasing ``(min, max)``."""
    if _is_num(v):
        f = float(check_number(v, owner=owner, name=name))
        if low is not None:  # (low, v)
            lo, hi = (low, f) if f >= low else (f, low)
        else:
            lo, hi = center - abs(f), center + abs(f)
    elif isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2 and all(_is_num(e) for e in v):
        lo, hi = (float(check_number(e, owner=owner, name=name)) for e in v)
    else:
        raise TypeError(f"{owner}: {name} must be a number or a (min, max) pair of numbers; got {describe(v)}")
    if lo > hi:
        raise ValueError(f"{owner}: {name} must be an increasing (min, max) pair; got {(lo, hi)}")
    if bound is not None and (lo < -bound or hi > bound):
        raise ValueError(f"{owner}: {name} must lie in [{-bound}, {bound}]; got {(lo, hi)}")
    return lo, hi


def _rgb_only(x: torch.Tensor, owner: str) -> None:
    if x.shape[1] != 3:
        raise ValueError(f"{owner}: x must have 3 channels (RGB); got {x.shape[1]} channels")


def _grey_or_rgb(x: torch.Tensor, owner: str) -> None:
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{owner}: x must have 1 or 3 channels (grey or RGB); got {x.shape[1]} channels")


@register("transform", example=lambda: RandomBrightnessContrast(p=1.0))
class RandomBrightnessContrast(RandomTransform):
    """albumentations ``RandomBrightnessContrast``: ``x -> alpha x + beta`` per sample, clamped.

    ``alpha = 1 + c`` with ``c`` uniform in ``contrast_limit``; ``beta = b * max`` (the dtype's
    maximum, ``brightness_by_max=True``) or ``b * mean(x)`` (the sample's mean), ``b`` uniform in
    ``brightness_limit``. A number ``v`` means ``(-v, v)``. ``ensure_safe_range=True`` shrinks
    ``alpha`` and ``beta`` so that neither 0 nor the maximum leaves the range (albumentations'
    ``get_safe_brightness_contrast_params``). uint8: albumentations' float32 table, truncated.

    Parameters: ``alpha`` (``(B,)``), ``beta`` (``(B,)``, a fraction of the maximum), ``apply``.
    """

    def __init__(
        self,
        brightness_limit: float | Sequence[float] = (-0.2, 0.2),
        contrast_limit: float | Sequence[float] = (-0.2, 0.2),
        brightness_by_max: bool = True,
        ensure_safe_range: bool = False,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.brightness_limit = _limit(brightness_limit, owner=o, name="brightness_limit")
        self.contrast_limit = _limit(contrast_limit, owner=o, name="contrast_limit")
        self.brightness_by_max = check_bool(brightness_by_max, owner=o, name="brightness_by_max")
        self.ensure_safe_range = check_bool(ensure_safe_range, owner=o, name="ensure_safe_range")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        alpha = 1.0 + self._uniform(x, *self.contrast_limit, generator=generator)
        beta = self._uniform(x, *self.brightness_limit, generator=generator)
        if not self.brightness_by_max:
            scale = 255.0 if x.dtype == torch.uint8 else 1.0
            beta = beta * (x.float().mean(dim=(1, 2, 3)) / scale)
        if self.ensure_safe_range:
            pos = alpha > 0
            sb = torch.where(pos, beta.clamp(0.0, 1.0), beta.clamp(max=1.0))
            sa = torch.where(pos, torch.minimum(alpha, 1.0 - sb), torch.maximum(alpha, -sb))
            alpha, beta = sa, sb
        return {"alpha": alpha, "beta": beta}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FT.brightness_contrast(x, params["alpha"], params["beta"])

    def extra_repr(self) -> str:
        return (f"brightness_limit={self.brightness_limit}, contrast_limit={self.contrast_limit}, "
                f"brightness_by_max={self.brightness_by_max}, ensure_safe_range={self.ensure_safe_range}, "
                + super().extra_repr())


@register("transform", example=lambda: RGBShift(p=1.0))
class RGBShift(RandomTransform):
    """albumentations ``RGBShift``: add a per-sample constant to each of R, G and B, clamped.

    Limits in uint8 levels (a number ``v`` means ``(-v, v)``); as albumentations, a limit whose
    values are all within [-1, 1] is taken as a fraction of the range instead. uint8 adds
    ``trunc(shift)`` levels. One-channel images get the red shift. Parameters: ``shift``
    (``(B, 3)``, on the [0, 1] scale), ``apply``.
    """

    def __init__(
        self,
        r_shift_limit: float | Sequence[float] = (-20, 20),
        g_shift_limit: float | Sequence[float] = (-20, 20),
        b_shift_limit: float | Sequence[float] = (-20, 20),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        limits = []
        for name, v in (("r_shift_limit", r_shift_limit), ("g_shift_limit", g_shift_limit), ("b_shift_limit", b_shift_limit)):
            lo, hi = _limit(v, owner=o, name=name, bound=255.0)
            if abs(lo) > 1 or abs(hi) > 1:
                lo, hi = lo / 255.0, hi / 255.0
            limits.append((lo, hi))
        self.limits = tuple(limits)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        u = self._rand(x, 3, generator=generator)
        lo = constant(tuple(lo for lo, _ in self.limits), x.device, torch.float32)
        span = constant(tuple(hi - lo for lo, hi in self.limits), x.device, torch.float32)
        return {"shift": lo + span * u}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        if x.shape[1] > 3:
            raise ValueError(f"{type(self).__name__}: x must have at most 3 channels; got {x.shape[1]} channels")
        return FT.rgb_shift(x, params["shift"][:, : x.shape[1]])

    def extra_repr(self) -> str:
        return f"limits={self.limits}, " + super().extra_repr()


@register("transform", example=lambda: ChannelShuffle(p=1.0))
class ChannelShuffle(RandomTransform):
    """albumentations ``ChannelShuffle``: a random permutation of each sample's channels (any
    number of channels; one channel: unchanged). Parameters: ``perm`` (``(B, C)`` int64), ``apply``."""

    def __init__(self, *, p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"perm": self._rand(x, x.shape[1], generator=generator).argsort(dim=1)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        perm = params["perm"]
        if perm.shape[1] != x.shape[1]:
            raise ValueError(f"{type(self).__name__}: params['perm'] must have one entry per channel "
                             f"({x.shape[1]}); got {describe(perm)}")
        return FT.channel_shuffle(x, perm)


@register("transform", example=lambda: PlanckianJitter(p=1.0))
class PlanckianJitter(RandomTransform):
    """Planckian jitter (Zini, Buzzelli, Bianco, Schettini 2022, "Planckian Jitter: countering the
    color-crippling effects of color jitter on self-supervised training"; kornia
    ``RandomPlanckianJitter``, albumentations ``PlanckianJitter``): re-light each sample with the
    illuminant of a random colour temperature on the Planckian locus (``mode="blackbody"``,
    3000-15000 K) or of the CIE D series (``"cied"``, 4000-15000 K), i.e. scale R and B by the
    illuminant's ``r / g`` and ``b / g``.

    Sampling as albumentations: with probability 0.4 a temperature below 6000 K (uniform in
    ``[min, 6000]``, or the lower half of an asymmetric Gaussian with ``sampling_method="gaussian"``),
    else above; truncated to whole kelvins. RGB only. Parameters: ``temperature`` (``(B,)``, K), ``apply``.
    """

    def __init__(
        self,
        mode: str = "blackbody",
        temperature_limit: Sequence[int] | None = None,
        sampling_method: str = "uniform",
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.mode = check_choice(mode, ("blackbody", "cied"), owner=o, name="mode")
        self.sampling_method = check_choice(sampling_method, ("uniform", "gaussian"), owner=o, name="sampling_method")
        lo_t, hi_t = FT.PLANCKIAN_TEMPERATURES[self.mode]
        if temperature_limit is None:
            self.temperature_limit = (float(lo_t), float(hi_t))
        else:
            lo, hi = _limit(temperature_limit, owner=o, name="temperature_limit")
            if lo < lo_t or hi > hi_t:
                raise ValueError(f"{o}: temperature_limit must lie in [{lo_t}, {hi_t}] for mode={self.mode!r}; got {(lo, hi)}")
            if not lo <= 6000 <= hi:
                raise ValueError(f"{o}: temperature_limit must contain the white point 6000 K; got {(lo, hi)}")
            self.temperature_limit = (lo, hi)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.temperature_limit
        u = self._rand(x, 2, generator=generator)
        left = u[:, 0] < 0.4
        if self.sampling_method == "uniform":
            t = torch.where(left, lo + (6000.0 - lo) * u[:, 1], 6000.0 + (hi - 6000.0) * u[:, 1])
        else:
            z = self._expand(torch.randn(self._batch(x), generator=generator, device=x.device), x.shape[0]).abs()
            t = torch.where(left, 6000.0 - z * (6000.0 - lo) / 3.0, 6000.0 + z * (hi - 6000.0) / 3.0)
        return {"temperature": t.clamp(lo, hi).floor()}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _rgb_only(x, type(self).__name__)
        return FT.planckian_jitter(x, FT.planckian_coefficients(params["temperature"].to(x.device), self.mode))

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, temperature_limit={self.temperature_limit}, " + super().extra_repr()


@register("transform", example=lambda: FancyPCA(alpha=0.5, p=1.0))
class FancyPCA(RandomTransform):
    """Fancy PCA (Krizhevsky, Sutskever, Hinton 2012, section 4.1; albumentations ``FancyPCA``).

    Each sample draws ``alpha_i ~ N(0, alpha^2)`` per principal component of its own pixel
    colours (the paper used ``alpha = 0.1`` with the components of the whole ImageNet training
    set; as albumentations, the components are each image's). ``mode="krizhevsky"`` (default)
    adds the paper's constant colour ``sum_i alpha_i lambda_i p_i`` to every pixel;
    ``mode="albumentations"`` replays albumentations 2.0.8's formula exactly (see
    :func:`torchaug.functional.tone.fancy_pca`). Any number of channels.

    Parameters: ``alpha_vector`` (``(B, C)``), ``apply``.
    """

    def __init__(self, alpha: float = 0.1, *, mode: str = "krizhevsky", p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.alpha = float(check_number(alpha, owner=o, name="alpha", low=0.0))
        self.mode = check_choice(mode, ("krizhevsky", "albumentations"), owner=o, name="mode")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        z = torch.randn((self._batch(x), x.shape[1]), generator=generator, device=x.device)
        return {"alpha_vector": self._expand(z, x.shape[0]) * self.alpha}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        a = params["alpha_vector"]
        if a.shape[1] != x.shape[1]:
            raise ValueError(f"{type(self).__name__}: params['alpha_vector'] must have one entry per channel "
                             f"({x.shape[1]}); got {describe(a)}")
        return FT.fancy_pca(x, a, mode=self.mode)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, mode={self.mode!r}, " + super().extra_repr()


@register("transform", example=lambda: ToSepia(p=0.5))
class ToSepia(RandomTransform):
    """albumentations ``ToSepia``: the sepia colour matrix (:data:`torchaug.functional.tone.SEPIA`),
    with probability ``p``; uint8 rounded as OpenCV's ``cv2.transform``. Grey images unchanged."""

    def __init__(self, *, p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _grey_or_rgb(x, type(self).__name__)
        return FT.to_sepia(x)


@register("transform", example=lambda: HueSaturationValue(p=1.0))
class HueSaturationValue(RandomTransform):
    """albumentations ``HueSaturationValue``: shift hue, saturation and value in OpenCV's 8-bit HSV.

    ``hue_shift_limit`` in OpenCV hue units (180 per turn: degrees / 2), ``sat_shift_limit`` and
    ``val_shift_limit`` in uint8 levels; a number ``v`` means ``(-v, v)``. Exactly albumentations'
    maths for uint8 (see :func:`torchaug.functional.tone.shift_hsv`); floats go through uint8 as
    there. Grey images: value shift only. Parameters: ``hue_shift``, ``sat_shift``, ``val_shift``
    (``(B,)``), ``apply``.
    """

    def __init__(
        self,
        hue_shift_limit: float | Sequence[float] = (-20, 20),
        sat_shift_limit: float | Sequence[float] = (-30, 30),
        val_shift_limit: float | Sequence[float] = (-20, 20),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.hue_shift_limit = _limit(hue_shift_limit, owner=o, name="hue_shift_limit", bound=180.0)
        self.sat_shift_limit = _limit(sat_shift_limit, owner=o, name="sat_shift_limit", bound=255.0)
        self.val_shift_limit = _limit(val_shift_limit, owner=o, name="val_shift_limit", bound=255.0)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {
            "hue_shift": self._uniform(x, *self.hue_shift_limit, generator=generator),
            "sat_shift": self._uniform(x, *self.sat_shift_limit, generator=generator),
            "val_shift": self._uniform(x, *self.val_shift_limit, generator=generator),
        }

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _grey_or_rgb(x, type(self).__name__)
        return FT.shift_hsv(x, params["hue_shift"], params["sat_shift"], params["val_shift"])

    def extra_repr(self) -> str:
        return (f"hue_shift_limit={self.hue_shift_limit}, sat_shift_limit={self.sat_shift_limit}, "
                f"val_shift_limit={self.val_shift_limit}, " + super().extra_repr())


@register("transform", example=lambda: RandomToneCurve(scale=0.2, p=1.0))
class RandomToneCurve(RandomTransform):
    """albumentations ``RandomToneCurve``: a random S-shaped (cubic Bezier) tone curve whose two
    control points sit at heights ``low_y ~ N(0.25, scale^2)`` and ``high_y ~ N(0.75, scale^2)``
    (clipped to [0, 1]), shared by the channels or drawn per channel (``per_channel=True``).
    Parameters: ``low_y``, ``high_y`` (``(B, 1)`` or ``(B, C)``), ``apply``."""

    def __init__(self, scale: float = 0.1, per_channel: bool = False, *, p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.scale = float(check_number(scale, owner=o, name="scale", low=0.0, high=1.0))
        self.per_channel = check_bool(per_channel, owner=o, name="per_channel")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        c = x.shape[1] if self.per_channel else 1
        z = self._expand(torch.randn((self._batch(x), 2, c), generator=generator, device=x.device), x.shape[0])
        return {"low_y": (0.25 + self.scale * z[:, 0]).clamp(0.0, 1.0), "high_y": (0.75 + self.scale * z[:, 1]).clamp(0.0, 1.0)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        lo, hi = params["low_y"], params["high_y"]
        if lo.ndim == 2 and lo.shape[1] not in (1, x.shape[1]):
            raise ValueError(f"{type(self).__name__}: params['low_y'] must have 1 or {x.shape[1]} columns; got {describe(lo)}")
        return FT.tone_curve(x, lo, hi)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, per_channel={self.per_channel}, " + super().extra_repr()


class _ImgaugContrast(RandomTransform):
    """imgaug's contrast augmenters: per-sample (and, with ``per_channel``, per-channel) values."""

    __torchaug_public__ = False
    _names: tuple[str, ...] = ()

    def __init__(self, ranges: dict[str, Any], per_channel: bool | float, *, p: float, same_on_batch: bool,
                 bounds: dict[str, tuple[float | None, float | None]]) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.ranges = {}
        for name, v in ranges.items():
            lo, hi = (v, v) if _is_num(v) else _limit(v, owner=o, name=name)
            for e in (lo, hi):
                check_number(e, owner=o, name=name, low=bounds[name][0], high=bounds[name][1])
            self.ranges[name] = (float(lo), float(hi))
        if isinstance(per_channel, bool):
            self.per_channel = float(per_channel)
        elif _is_num(per_channel):
            self.per_channel = float(check_number(per_channel, owner=o, name="per_channel", low=0.0, high=1.0))
        else:
            raise TypeError(f"{o}: per_channel must be a bool or a probability; got {describe(per_channel)}")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        C = x.shape[1]
        params: Params = {}
        pc = (self._rand(x, generator=generator) < self.per_channel).view(-1, 1)  # per-channel samples
        for name, (lo, hi) in self.ranges.items():
            v = self._uniform(x, lo, hi, C, generator=generator)
            params[name] = torch.where(pc, v, v[:, :1].expand_as(v))
        return params

    def _values(self, x: torch.Tensor, params: Params) -> list[torch.Tensor]:
        out = []
        for name in self.ranges:
            v = params[name]
            if v.ndim != 2 or v.shape[1] != x.shape[1]:
                raise ValueError(f"{type(self).__name__}: params[{name!r}] must be (B, C) = (B, {x.shape[1]}); got {describe(v)}")
            out.append(v)
        return out

    def extra_repr(self) -> str:
        r = ", ".join(f"{k}={v}" for k, v in self.ranges.items())
        return f"{r}, per_channel={self.per_channel}, " + super().extra_repr()


@register("transform", example=lambda: SigmoidContrast())
class SigmoidContrast(_ImgaugContrast):
    """imgaug ``SigmoidContrast``: ``v -> 1 / (1 + exp(gain (cutoff - v)))`` on the [0, 1] scale
    (scikit-image ``adjust_sigmoid``), ``gain`` and ``cutoff`` uniform in their ranges per sample
    (per channel with ``per_channel``: True, or the probability of a per-channel sample).
    uint8: imgaug's truncated float32 table. Parameters: ``gain``, ``cutoff`` (``(B, C)``), ``apply``."""

    def __init__(self, gain: float | Sequence[float] = (5, 6), cutoff: float | Sequence[float] = (0.3, 0.6),
                 per_channel: bool | float = False, *, p: float = 1.0, same_on_batch: bool = False) -> None:
        super().__init__({"gain": gain, "cutoff": cutoff}, per_channel, p=p, same_on_batch=same_on_batch,
                         bounds={"gain": (0.0, None), "cutoff": (0.0, 1.0)})

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FT.sigmoid_contrast(x, *self._values(x, params))


@register("transform", example=lambda: LogContrast())
class LogContrast(_ImgaugContrast):
    """imgaug ``LogContrast``: ``v -> gain * log2(1 + v)`` on the [0, 1] scale (scikit-image
    ``adjust_log``), clamped; ``gain`` uniform per sample (and channel). Parameters: ``gain``
    (``(B, C)``), ``apply``."""

    def __init__(self, gain: float | Sequence[float] = (0.4, 1.6), per_channel: bool | float = False, *,
                 p: float = 1.0, same_on_batch: bool = False) -> None:
        super().__init__({"gain": gain}, per_channel, p=p, same_on_batch=same_on_batch, bounds={"gain": (0.0, None)})

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FT.log_contrast(x, *self._values(x, params))


@register("transform", example=lambda: LinearContrast())
class LinearContrast(_ImgaugContrast):
    """imgaug ``LinearContrast``: ``v -> center + alpha (v - center)`` (127 for uint8, 0.5 for
    floats), clamped; ``alpha`` uniform per sample (and channel). ``alpha=1`` is the identity.
    Parameters: ``alpha`` (``(B, C)``), ``apply``."""

    def __init__(self, alpha: float | Sequence[float] = (0.6, 1.4), per_channel: bool | float = False, *,
                 p: float = 1.0, same_on_batch: bool = False) -> None:
        super().__init__({"alpha": alpha}, per_channel, p=p, same_on_batch=same_on_batch, bounds={"alpha": (None, None)})

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FT.linear_contrast(x, *self._values(x, params))


@register("transform", example=lambda: CLAHE(p=1.0))
class CLAHE(RandomTransform):
    """albumentations ``CLAHE``: Contrast Limited Adaptive Histogram Equalization (Zuiderveld,
    "Contrast Limited Adaptive Histogram Equalization", Graphics Gems IV, 1994) with OpenCV's
    algorithm, on grey images or on the L channel of L*a*b* for RGB.

    ``clip_limit``: a number ``v`` means ``(1, v)`` (albumentations), or ``(min, max)``: each
    sample draws its own. ``tile_grid_size``: OpenCV's ``(columns, rows)`` of tiles, or
    ``((min, max), (min, max))`` inclusive ranges from which each sample draws its own grid
    (an extension). Grids larger than a (small) image are reduced to one tile per pixel row /
    column. Batched: see :func:`torchaug.functional.tone.clahe`.

    Parameters: ``clip_limit`` (``(B,)``), ``tiles_x``, ``tiles_y`` (``(B,)`` int64), ``apply``.
    """

    def __init__(
        self,
        clip_limit: float | Sequence[float] = 4.0,
        tile_grid_size: Sequence[int] | Sequence[Sequence[int]] = (8, 8),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.clip_limit = _limit(clip_limit, owner=o, name="clip_limit", low=1.0)
        if self.clip_limit[0] < 0:
            raise ValueError(f"{o}: clip_limit must be non-negative; got {self.clip_limit}")
        if not isinstance(tile_grid_size, Sequence) or isinstance(tile_grid_size, str) or len(tile_grid_size) != 2:
            raise TypeError(f"{o}: tile_grid_size must be a (columns, rows) pair; got {describe(tile_grid_size)}")
        grid = []
        for v in tile_grid_size:
            lo, hi = (v, v) if not isinstance(v, Sequence) else tuple(v) if len(v) == 2 else (None, None)
            if lo is None:
                raise TypeError(f"{o}: tile_grid_size entries must be ints or (min, max) pairs; got {tile_grid_size!r}")
            for e in (lo, hi):
                check_number(e, owner=o, name="tile_grid_size", low=1, integer=True)
            if lo > hi:
                raise ValueError(f"{o}: tile_grid_size ranges must be increasing; got {tile_grid_size!r}")
            grid.append((int(lo), int(hi)))
        self.tile_grid_size = tuple(grid)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        (xl, xh), (yl, yh) = self.tile_grid_size
        return {
            "clip_limit": self._uniform(x, *self.clip_limit, generator=generator),
            "tiles_x": xl + self._randint(x, xh - xl + 1, generator=generator),
            "tiles_y": yl + self._randint(x, yh - yl + 1, generator=generator),
        }

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _grey_or_rgb(x, type(self).__name__)
        H, W = x.shape[-2:]
        mx, my = min(self.tile_grid_size[0][1], W), min(self.tile_grid_size[1][1], H)
        tx = params["tiles_x"].to(x.device).clamp(1, mx)
        ty = params["tiles_y"].to(x.device).clamp(1, my)
        return FT.clahe(x, params["clip_limit"].to(x.device), tx, ty, max_tiles=(mx, my))

    def extra_repr(self) -> str:
        return f"clip_limit={self.clip_limit}, tile_grid_size={self.tile_grid_size}, " + super().extra_repr()
