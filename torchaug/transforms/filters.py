"""Random per-sample sharpening and filters: Sharpen, Emboss, UnsharpMask (albumentations 2.0.8
names and arguments), EdgeDetect and Convolve (imgaug's, which albumentations lacks).

Each sample draws its own strengths; its 3x3 kernel is built on the device and the whole batch
is filtered in one grouped convolution (:mod:`torchaug.functional.filters`). Non-geometric:
targets pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchaug._validation import check_choice, check_number, describe
from torchaug.functional import filters as FF
from torchaug.registry import register
from torchaug.transforms._args import float_range, odd_range
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["Sharpen", "Emboss", "UnsharpMask", "EdgeDetect", "Convolve"]


@register("transform", example=lambda: Sharpen(p=1.0))
class Sharpen(RandomTransform):
    """Sharpen with a per-sample kernel (albumentations 2.0.8 ``Sharpen``).

    ``method="kernel"`` (default): the identity blended by ``alpha`` (from ``alpha``) with
    ``[[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]]`` (``lightness`` from ``lightness``),
    applied as ``cv2.filter2D`` does. ``method="gaussian"``: ``x + alpha (x - GaussianBlur(x))``
    with a fixed ``kernel_size`` and ``sigma``. ``alpha = 0``: identity.

    Parameters: ``alpha``, ``lightness`` (``(B,)``), ``apply``.
    """

    gather_selected = True

    def __init__(
        self,
        alpha: Sequence[float] = (0.2, 0.5),
        lightness: Sequence[float] = (0.5, 1.0),
        method: str = "kernel",
        kernel_size: int = 5,
        sigma: float = 1.0,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.alpha = float_range(alpha, owner=o, name="alpha", low=0.0, high=1.0)
        self.lightness = float_range(lightness, owner=o, name="lightness", low=0.0)
        self.method = check_choice(method, ["kernel", "gaussian"], owner=o, name="method")
        self.kernel_size = int(check_number(kernel_size, owner=o, name="kernel_size", low=1, integer=True))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"{o}: kernel_size must be odd; got {kernel_size}")
        self.sigma = float(check_number(sigma, owner=o, name="sigma", low=0.0, low_inclusive=False))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"alpha": self._uniform(x, *self.alpha, generator=generator),
                "lightness": self._uniform(x, *self.lightness, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        a = params["alpha"].to(x.device)
        if self.method == "gaussian":
            return FF.sharpen_gaussian(x, a, self.kernel_size, self.sigma)
        return FF.convolve(x, FF.sharpen_kernels(a, params["lightness"].to(x.device)))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, lightness={self.lightness}, method={self.method!r}, " + super().extra_repr()


@register("transform", example=lambda: Emboss(p=1.0))
class Emboss(RandomTransform):
    """Emboss with a per-sample kernel (albumentations 2.0.8 ``Emboss``): the identity blended by
    ``alpha`` with ``[[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]]`` (``s`` from ``strength``).
    ``alpha = 0``: identity.

    Parameters: ``alpha``, ``strength`` (``(B,)``), ``apply``.
    """

    gather_selected = True

    def __init__(
        self,
        alpha: Sequence[float] = (0.2, 0.5),
        strength: Sequence[float] = (0.2, 0.7),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.alpha = float_range(alpha, owner=o, name="alpha", low=0.0, high=1.0)
        self.strength = float_range(strength, owner=o, name="strength", low=0.0)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"alpha": self._uniform(x, *self.alpha, generator=generator),
                "strength": self._uniform(x, *self.strength, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FF.convolve(x, FF.emboss_kernels(params["alpha"].to(x.device), params["strength"].to(x.device)))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, strength={self.strength}, " + super().extra_repr()


@register("transform", example=lambda: UnsharpMask(p=1.0))
class UnsharpMask(RandomTransform):
    """Unsharp masking (albumentations 2.0.8 ``UnsharpMask``): per sample, a Gaussian of odd size
    from ``blur_limit`` and sigma from ``sigma_limit`` (0: OpenCV's default for the size), a
    strength ``alpha``; only pixels whose detail exceeds ``threshold`` (on the 0-255 scale) are
    sharpened, through a soft mask. ``alpha = 0``: identity.

    Parameters: ``ksize`` (``(B,)``), ``sigma``, ``alpha`` (``(B,)``), ``apply``.
    """

    gather_selected = True

    def __init__(
        self,
        blur_limit: int | Sequence[int] = (3, 7),
        sigma_limit: float | Sequence[float] = 0.0,
        alpha: float | Sequence[float] = (0.2, 0.5),
        threshold: int = 10,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.blur_limit = odd_range(blur_limit, owner=o, name="blur_limit")
        self.sigma_limit = float_range(sigma_limit, owner=o, name="sigma_limit", low=0.0)
        self.alpha = float_range(alpha, owner=o, name="alpha", low=0.0, high=1.0)
        self.threshold = int(check_number(threshold, owner=o, name="threshold", low=0, high=255, integer=True))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        from torchaug.transforms._args import sample_odd

        return {"ksize": sample_odd(self._rand(x, generator=generator), *self.blur_limit),
                "sigma": self._uniform(x, *self.sigma_limit, generator=generator),
                "alpha": self._uniform(x, *self.alpha, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FF.unsharp_mask(x, params["ksize"], params["sigma"], params["alpha"], self.threshold, self.blur_limit[1])

    def extra_repr(self) -> str:
        return (f"blur_limit={self.blur_limit}, sigma_limit={self.sigma_limit}, alpha={self.alpha}, "
                f"threshold={self.threshold}, " + super().extra_repr())


@register("transform", example=lambda: EdgeDetect(p=1.0))
class EdgeDetect(RandomTransform):
    """Edge enhancement (imgaug ``EdgeDetect(alpha=(0.0, 0.75))``): the identity blended by a
    per-sample ``alpha`` with the Laplacian ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``, applied with
    ``cv2.filter2D`` semantics (imgaug's formula, ported; imgaug 0.4 does not import on NumPy 2).
    ``alpha = 1``: the edge map alone; ``alpha = 0``: identity.

    Parameters: ``alpha`` (``(B,)``), ``apply``.
    """

    gather_selected = True

    def __init__(self, alpha: float | Sequence[float] = (0.0, 0.75), *, p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        self.alpha = float_range(alpha, owner=type(self).__name__, name="alpha", low=0.0, high=1.0)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"alpha": self._uniform(x, *self.alpha, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FF.convolve(x, FF.edge_detect_kernels(params["alpha"].to(x.device)))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, " + super().extra_repr()


def _check_kernel(kernel: Any, owner: str) -> torch.Tensor:
    if isinstance(kernel, (str, bytes)):
        raise TypeError(f"{owner}: kernel must be a 2-D (kh, kw) array of numbers; got {describe(kernel)}")
    if not isinstance(kernel, torch.Tensor):
        try:
            import numpy as np

            arr = np.asarray(kernel, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{owner}: kernel must be a 2-D (kh, kw) array of numbers; got {describe(kernel)}") from None
        kernel = torch.from_numpy(arr)
    if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(f"{owner}: kernel must be 2-D (kh, kw) with odd sizes; got shape {tuple(kernel.shape)}")
    if not (kernel.is_floating_point() or kernel.dtype in (torch.int32, torch.int64)) or not torch.isfinite(kernel.double()).all():
        raise ValueError(f"{owner}: kernel must hold finite numbers; got {describe(kernel)}")
    return kernel.to(torch.float32).clone()


@register("transform", example=lambda: Convolve([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], p=1.0))
class Convolve(RandomTransform):
    """Convolve with a fixed, user-given kernel (imgaug ``Convolve(matrix)``; albumentations has no
    such op): ``cv2.filter2D(img, -1, kernel)`` semantics (correlation, anchor at the centre,
    reflect-101 border, ``uint8`` rounded and saturated, floats clamped to [0, 1]).

    ``kernel``: a ``(kh, kw)`` array of numbers (odd sizes). Parameters: ``apply``.
    """

    gather_selected = True

    def __init__(self, kernel: Any, *, p: float = 1.0, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        self.kernel = _check_kernel(kernel, type(self).__name__)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FF.convolve(x, self.kernel.to(x.device))

    def extra_repr(self) -> str:
        return f"kernel_shape={tuple(self.kernel.shape)}, " + super().extra_repr()
