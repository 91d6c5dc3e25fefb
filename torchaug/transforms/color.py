"""Random per-sample colour transforms (torchvision v2 names and arguments).

Each transform draws its parameters for every sample of a ``(B, C, H, W)`` batch (one draw
for the whole batch with ``same_on_batch=True``) and applies them in one vectorised call of a
:mod:`torchaug.functional.color` kernel. ``uint8`` stays ``uint8`` (rounded as torchvision
does), floats stay floats (``float16``/``bfloat16`` are computed in ``float32``); operations that
would leave the valid range clamp to it.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from torchaug._validation import check_choice, check_generator, check_images, check_number, describe
from torchaug.functional import color as FC
from torchaug.registry import register
from torchaug.transforms._base import Params, RandomTransform

__all__ = [
    "ColorJitter",
    "RandomGrayscale",
    "RandomInvert",
    "RandomPosterize",
    "RandomSolarize",
    "RandomAdjustSharpness",
    "RandomAutocontrast",
    "RandomEqualize",
    "RandomGamma",
    "Normalize",
]


def _range(
    value: Any, *, owner: str, name: str, center: float = 1.0, bound: tuple[float, float] = (0.0, float("inf")),
    clip_first: bool = True,
) -> tuple[float, float] | None:
    """torchvision's ColorJitter argument rule: ``v`` -> ``[center - v, center + v]`` (clipped at
    ``bound[0]``), or an explicit ``(min, max)``; ``None`` when the range is the identity."""
    if value is None:
        return None
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        v = float(value)
        if v < 0:
            raise ValueError(f"{owner}: {name} must be non-negative when a single number; got {value!r}")
        lo, hi = center - v, center + v
        if clip_first:
            lo = max(lo, bound[0])
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        if not all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in value):
            raise TypeError(f"{owner}: {name} must be a number or a (min, max) pair of numbers; got {value!r}")
        lo, hi = float(value[0]), float(value[1])
    else:
        raise TypeError(f"{owner}: {name} must be a number or a (min, max) pair; got {describe(value)}")
    if not bound[0] <= lo <= hi <= bound[1]:
        raise ValueError(f"{owner}: {name} must be increasing values within [{bound[0]}, {bound[1]}]; got ({lo}, {hi})")
    return None if lo == hi == center else (lo, hi)


def _check_channels(x: torch.Tensor, owner: str) -> None:
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{owner}: x must have 1 or 3 channels (grey or RGB); got {x.shape[1]} channels")


@register("transform", example=lambda: ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1))
class ColorJitter(RandomTransform):
    """Randomly change brightness, contrast, saturation and hue, in a random order, per sample.

    As ``torchvision.transforms.v2.ColorJitter`` (same arguments: a number ``v`` means a factor
    drawn uniformly from ``[max(0, 1 - v), 1 + v]``, hue from ``[-v, v]`` with ``v <= 0.5``; or an
    explicit ``(min, max)``), except that **every sample draws its own four factors and its own
    order** of the four operations (torchvision draws them once per call). One vectorised pass
    (:func:`torchaug.functional.color.color_jitter`) applies them all.

    ``mode="torchvision"`` (default) replays torchvision's maths step by step (clamping and, for
    ``uint8``, truncating after each operation; hue through HSV). ``mode="fused"``
    (:func:`torchaug.functional.color.color_jitter_fused`) applies the same factors in the same
    order as one per-sample affine colour map with one clamp at the end and hue as a rotation
    about the grey axis: 1.4-3.6x faster on CPU (the figures are in
    :func:`~torchaug.functional.color.color_jitter_fused`), **not** bit-equal to torchvision (mean
    difference ~8 grey levels at the benchmark's settings, more where torchvision's
    intermediate clamps bite).

    Shapes: ``(B, C, H, W)`` or ``(C, H, W)``, ``C`` in {1, 3}; ``uint8`` or floating.
    Parameters (``return_params=True``): ``brightness_factor``, ``contrast_factor``,
    ``saturation_factor``, ``hue_factor`` (``(B,)``, only for enabled operations), ``order``
    (``(B, 4)`` permutation of 0=brightness, 1=contrast, 2=saturation, 3=hue), ``apply``.
    """

    def __init__(
        self,
        brightness: float | Sequence[float] | None = None,
        contrast: float | Sequence[float] | None = None,
        saturation: float | Sequence[float] | None = None,
        hue: float | Sequence[float] | None = None,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
        mode: str = "torchvision",
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.mode = check_choice(mode, ("torchvision", "fused"), owner=o, name="mode")
        self.brightness = _range(brightness, owner=o, name="brightness")
        self.contrast = _range(contrast, owner=o, name="contrast")
        self.saturation = _range(saturation, owner=o, name="saturation")
        self.hue = _range(hue, owner=o, name="hue", center=0.0, bound=(-0.5, 0.5), clip_first=False)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        params: Params = {"order": self._rand(x, 4, generator=generator).argsort(dim=1)}
        for name, rng in (
            ("brightness_factor", self.brightness),
            ("contrast_factor", self.contrast),
            ("saturation_factor", self.saturation),
            ("hue_factor", self.hue),
        ):
            if rng is not None:
                params[name] = self._uniform(x, rng[0], rng[1], generator=generator)
        return params

    def transform(self, x: torch.Tensor, params: Params, out: torch.Tensor | None = None) -> torch.Tensor:
        _check_channels(x, type(self).__name__)
        kernel = FC.color_jitter if self.mode == "torchvision" else FC.color_jitter_fused
        return kernel(
            x,
            params.get("brightness_factor"),
            params.get("contrast_factor"),
            params.get("saturation_factor"),
            params.get("hue_factor"),
            params["order"],
            out=out,
        )

    def extra_repr(self) -> str:
        return (
            f"brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}, "
            f"hue={self.hue}, " + ("mode='fused', " if self.mode == "fused" else "") + super().extra_repr()
        )


@register("transform", example=lambda: RandomGrayscale(p=0.5))
class RandomGrayscale(RandomTransform):
    """Convert each sample to greyscale with probability ``p`` (default 0.1, as torchvision),
    keeping the number of channels (grey repeated over RGB). Luma ``0.2989 R + 0.587 G + 0.114 B``."""

    def __init__(self, p: float = 0.1, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def transform(self, x: torch.Tensor, params: Params, out: torch.Tensor | None = None) -> torch.Tensor:
        _check_channels(x, type(self).__name__)
        grey = FC.rgb_to_grayscale(x)
        return grey if out is None else out.copy_(grey)


@register("transform", example=lambda: RandomInvert(p=0.5))
class RandomInvert(RandomTransform):
    """Invert the colours (``255 - x`` / ``1 - x``) of each sample with probability ``p`` (default 0.5)."""

    def __init__(self, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FC.invert(x)


@register("transform", example=lambda: RandomPosterize(bits=(2, 6), p=0.5))
class RandomPosterize(RandomTransform):
    """Keep only the ``bits`` most significant bits of each value, with probability ``p``.

    ``bits`` is an int in [0, 8] (torchvision) or an inclusive ``(min, max)`` range from which
    every sample draws its own number of bits. Parameters: ``bits`` (``(B,)`` int64).
    """

    def __init__(self, bits: int | Sequence[int], p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        lohi = (bits, bits) if isinstance(bits, int) and not isinstance(bits, bool) else tuple(bits) if isinstance(bits, Sequence) else None
        if lohi is None or len(lohi) != 2:
            raise TypeError(f"{o}: bits must be an int in [0, 8] or a (min, max) pair; got {describe(bits)}")
        for v in lohi:
            check_number(v, owner=o, name="bits", low=0, high=8, integer=True)
        if lohi[0] > lohi[1]:
            raise ValueError(f"{o}: bits must be an increasing (min, max) pair; got {bits!r}")
        self.bits = (int(lohi[0]), int(lohi[1]))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.bits
        return {"bits": lo + self._randint(x, hi - lo + 1, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FC.posterize(x, params["bits"])


@register("transform", example=lambda: RandomSolarize(threshold=0.5, p=0.5))
class RandomSolarize(RandomTransform):
    """Invert every value at or above ``threshold``, with probability ``p`` (torchvision).

    ``threshold`` is on the [0, 1] scale (so it means the same for ``uint8`` and float images;
    for ``uint8`` it is multiplied by 255 — torchvision takes it in the image's own scale), or a
    ``(min, max)`` range from which every sample draws its own. Parameters: ``threshold`` (``(B,)``,
    on the [0, 1] scale).
    """

    def __init__(self, threshold: float | Sequence[float], p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        if isinstance(threshold, Sequence) and not isinstance(threshold, str):
            rng = _range(threshold, owner=o, name="threshold", bound=(0.0, 1.0))
            self.threshold = rng if rng is not None else (1.0, 1.0)
        else:
            t = float(check_number(threshold, owner=o, name="threshold", low=0.0, high=1.0))
            self.threshold = (t, t)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.threshold
        return {"threshold": self._uniform(x, lo, hi, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        t = params["threshold"]
        return FC.solarize(x, t * 255.0 if x.dtype == torch.uint8 else t)


@register("transform", example=lambda: RandomAdjustSharpness(sharpness_factor=2.0, p=0.5))
class RandomAdjustSharpness(RandomTransform):
    """Sharpen (factor > 1) or blur (factor < 1) each sample with probability ``p`` (torchvision).

    ``sharpness_factor`` is a number (torchvision) or a ``(min, max)`` range from which each
    sample draws its own. Parameters: ``sharpness_factor`` (``(B,)``).
    """

    def __init__(
        self, sharpness_factor: float | Sequence[float], p: float = 0.5, *, same_on_batch: bool = False
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        if isinstance(sharpness_factor, Sequence) and not isinstance(sharpness_factor, str):
            rng = _range(sharpness_factor, owner=o, name="sharpness_factor")
            self.sharpness_factor = rng if rng is not None else (1.0, 1.0)
        else:
            f = float(check_number(sharpness_factor, owner=o, name="sharpness_factor", low=0.0))
            self.sharpness_factor = (f, f)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.sharpness_factor
        return {"sharpness_factor": self._uniform(x, lo, hi, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _check_channels(x, type(self).__name__)
        return FC.adjust_sharpness(x, params["sharpness_factor"])


@register("transform", example=lambda: RandomAutocontrast(p=0.5))
class RandomAutocontrast(RandomTransform):
    """Stretch each channel of each sample to the full range, with probability ``p`` (default 0.5)."""

    def __init__(self, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FC.autocontrast(x)


@register("transform", example=lambda: RandomEqualize(p=0.5))
class RandomEqualize(RandomTransform):
    """Histogram-equalise each channel of each sample with probability ``p`` (default 0.5).

    All ``B * C`` histograms are built by one ``scatter_add_`` (PIL's / torchvision's LUT rule).
    """

    def __init__(self, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FC.equalize(x)


@register("transform", example=lambda: RandomGamma(gamma=(0.5, 1.5)))
class RandomGamma(RandomTransform):
    """Gamma correction ``gain * x ** gamma`` (on the [0, 1] scale) with a per-sample ``gamma``
    drawn uniformly from ``gamma = (min, max)`` (albumentations' ``RandomGamma`` idea, torchvision's
    ``adjust_gamma`` maths). Values are clamped to the valid range when ``gain != 1``.
    Parameters: ``gamma`` (``(B,)``).
    """

    def __init__(
        self, gamma: Sequence[float] = (0.8, 1.2), gain: float = 1.0, *, p: float = 1.0, same_on_batch: bool = False
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        rng = _range(gamma, owner=o, name="gamma") if isinstance(gamma, Sequence) else None
        if rng is None and not isinstance(gamma, Sequence):
            raise TypeError(f"{o}: gamma must be a (min, max) pair of non-negative numbers; got {describe(gamma)}")
        self.gamma = rng if rng is not None else (1.0, 1.0)
        self.gain = float(check_number(gain, owner=o, name="gain", low=0.0))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"gamma": self._uniform(x, self.gamma[0], self.gamma[1], generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FC.adjust_gamma(x, params["gamma"], self.gain)


@register("transform", example=lambda: Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)))
class Normalize(nn.Module):
    """``(x - mean) / std`` per channel (deterministic; not clamped, so the output leaves [0, 1]).

    Floating input keeps its dtype; ``uint8`` input is scaled to ``float32`` in [0, 1] first and
    the output is ``float32`` (timm's habit: uint8 through the loader, normalise on the device).
    ``generator`` is accepted and ignored so that it composes with random transforms.
    """

    #: output is float (not clamped to [0, 1]) whatever the input dtype
    float_output = True
    #: moves no pixel: inside a container its sample's targets pass through
    geometric = False

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        o = type(self).__name__
        for name, v in (("mean", mean), ("std", std)):
            if not isinstance(v, Sequence) or isinstance(v, str) or not v:
                raise TypeError(f"{o}: {name} must be a non-empty sequence of numbers (one per channel); got {describe(v)}")
            for e in v:
                check_number(e, owner=o, name=name)
        if len(mean) != len(std):
            raise ValueError(f"{o}: mean and std must have the same length; got {len(mean)} and {len(std)}")
        if any(s <= 0 for s in std):
            raise ValueError(f"{o}: std must be positive; got {tuple(std)}")
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def forward(self, x: Any, *, generator: torch.Generator | None = None) -> torch.Tensor:
        o = type(self).__name__
        x4, single = check_images(x, owner=o)
        check_generator(generator, x4.device, owner=o)  # unused (deterministic), but checked like everywhere
        if x4.shape[1] != len(self.mean) and len(self.mean) != 1:
            raise ValueError(f"{o}: x must have {len(self.mean)} channels (len(mean)); got {describe(x)}")
        out = FC.normalize(x4, self.mean, self.std)
        return out[0] if single else out

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"
