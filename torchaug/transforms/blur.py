"""Random per-sample blurs, albumentations 2.0.8 names and arguments: Blur, MedianBlur, MotionBlur,
Defocus, ZoomBlur, GlassBlur, AdvancedBlur (``GaussianBlur`` lives in :mod:`torchaug.transforms.noise`).

Each sample draws its own kernel size / angle / radius; the batch is blurred in one call of a
:mod:`torchaug.functional.blur` kernel (per-sample kernels by one grouped convolution). The
defaults are albumentations' (``p=0.5`` included). Non-geometric: targets pass through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from torchaug._validation import check_choice, check_number
from torchaug.functional import blur as FB
from torchaug.registry import register
from torchaug.transforms._args import check_flag, float_range, int_range, odd_range, sample_odd
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["Blur", "MedianBlur", "MotionBlur", "Defocus", "ZoomBlur", "GlassBlur", "AdvancedBlur"]


class _KernelSizeBlur(RandomTransform):
    """Shared: an odd ``blur_limit`` range, one kernel size ``ksize`` ``(B,)`` per sample."""

    gather_selected = True

    __torchaug_public__ = False

    def __init__(self, blur_limit: int | Sequence[int] = (3, 7), *, p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        self.blur_limit = odd_range(blur_limit, owner=type(self).__name__, name="blur_limit")

    def _ksize(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return sample_odd(self._rand(x, generator=generator), *self.blur_limit)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"ksize": self._ksize(x, generator)}

    def extra_repr(self) -> str:
        return f"blur_limit={self.blur_limit}, " + super().extra_repr()


@register("transform", example=lambda: Blur(blur_limit=(3, 7), p=1.0))
class Blur(_KernelSizeBlur):
    """Box (mean) blur with a per-sample odd kernel size from ``blur_limit`` (albumentations
    ``Blur``, OpenCV ``cv2.blur``, reflect-101 border). ``blur_limit=1``: identity.

    Parameters: ``ksize`` (``(B,)`` odd ints), ``apply``.
    """

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FB.box_blur(x, params["ksize"], self.blur_limit[1])


@register("transform", example=lambda: MedianBlur(blur_limit=(3, 5), p=1.0))
class MedianBlur(_KernelSizeBlur):
    """Median blur with a per-sample odd kernel size from ``blur_limit`` (albumentations
    ``MedianBlur``, OpenCV ``cv2.medianBlur``: replicate border, exact for ``uint8``).

    Parameters: ``ksize`` (``(B,)`` odd ints), ``apply``.
    """

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FB.median_blur(x, params["ksize"], self.blur_limit[1])


@register("transform", example=lambda: MotionBlur(blur_limit=(3, 7), p=1.0))
class MotionBlur(_KernelSizeBlur):
    """Motion blur: each sample is convolved with a line kernel of its own length (an odd size
    from ``blur_limit``), angle (degrees from ``angle_range``) and direction bias (from
    ``direction_range``: -1 only backward, 0 symmetric, 1 only forward), optionally shifted off
    the centre (``allow_shifted``). albumentations 2.0.8 ``MotionBlur`` semantics (its
    ``create_motion_kernel``); reflect-101 border.

    Parameters: ``ksize`` (``(B,)``), ``angle``, ``direction`` (``(B,)``), ``shift`` (``(B, 2)`` in
    [-1, 1], scaled by ``ksize // 2 / 2`` pixels; zeros when not ``allow_shifted``), ``apply``.
    """

    def __init__(
        self,
        blur_limit: int | Sequence[int] = (3, 7),
        allow_shifted: bool = True,
        angle_range: Sequence[float] = (0.0, 360.0),
        direction_range: Sequence[float] = (-1.0, 1.0),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(blur_limit, p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.allow_shifted = check_flag(allow_shifted, owner=o, name="allow_shifted")
        self.angle_range = float_range(angle_range, owner=o, name="angle_range", low=0.0, high=360.0)
        self.direction_range = float_range(direction_range, owner=o, name="direction_range", low=-1.0, high=1.0)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        ksize = self._ksize(x, generator)
        angle = self._uniform(x, *self.angle_range, generator=generator)
        direction = self._uniform(x, *self.direction_range, generator=generator)
        shift = self._uniform(x, -1.0, 1.0, 2, generator=generator)
        if not self.allow_shifted:
            shift = torch.zeros_like(shift)
        return {"ksize": ksize, "angle": angle, "direction": direction, "shift": shift}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        k = params["ksize"].to(x.device)
        kmax = self.blur_limit[1]
        ker = FB.motion_kernels(k, params["angle"], params["direction"], params["shift"], kmax)
        return FB.motion_blur(x, ker)

    def extra_repr(self) -> str:
        return (f"angle_range={self.angle_range}, direction_range={self.direction_range}, "
                f"allow_shifted={self.allow_shifted}, " + super().extra_repr())


@register("transform", example=lambda: Defocus(radius=(3, 5), p=1.0))
class Defocus(RandomTransform):
    """Defocus (lens) blur: a disk kernel of per-sample ``radius`` (ints from ``radius``), softened
    by a Gaussian of per-sample ``alias_blur`` sigma (albumentations 2.0.8 ``Defocus``; ImageNet-C's
    defocus blur, Hendrycks & Dietterich 2019). Reflect-101 border.

    Parameters: ``radius`` (``(B,)`` ints), ``alias_blur`` (``(B,)``), ``apply``.
    """

    gather_selected = True

    def __init__(
        self,
        radius: int | Sequence[int] = (3, 10),
        alias_blur: float | Sequence[float] = (0.1, 0.5),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.radius = int_range(radius, owner=o, name="radius", low=1)
        self.alias_blur = float_range(alias_blur, owner=o, name="alias_blur", low=0.0)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.radius
        r = lo + self._randint(x, hi - lo + 1, generator=generator)
        return {"radius": r, "alias_blur": self._uniform(x, *self.alias_blur, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FB.defocus(x, FB.defocus_kernels(params["radius"].to(x.device), params["alias_blur"].to(x.device), self.radius[1]))

    def extra_repr(self) -> str:
        return f"radius={self.radius}, alias_blur={self.alias_blur}, " + super().extra_repr()


@register("transform", example=lambda: ZoomBlur(max_factor=(1.05, 1.15), step_factor=(0.02, 0.03), p=1.0))
class ZoomBlur(RandomTransform):
    """Zoom (radial) blur: the average of the image and centrally zoomed copies at the factors
    ``1, 1 + s, 1 + 2 s, ... < m`` with per-sample step ``s`` (from ``step_factor``) and maximum
    ``m`` (from ``max_factor``, at least ``1 + s``). albumentations 2.0.8 ``ZoomBlur``; ImageNet-C's
    zoom blur (Hendrycks & Dietterich 2019). Bilinear zoom as ``cv2.resize``.

    Parameters: ``zoom_factors`` (``(B, S)``), ``n_factors`` (``(B,)``: how many of them a sample
    uses), ``apply``.
    """

    gather_selected = True

    def __init__(
        self,
        max_factor: float | Sequence[float] = (1.0, 1.31),
        step_factor: float | Sequence[float] = (0.01, 0.03),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.max_factor = float_range(max_factor, owner=o, name="max_factor", low=1.0, high=10.0)
        self.step_factor = float_range(step_factor, owner=o, name="step_factor", low=0.0, high=10.0)
        if self.step_factor[0] <= 0:
            raise ValueError(f"{o}: step_factor must be positive; got {step_factor!r}")
        # the most factors any draw can give: arange(1, max, step)
        self.max_steps = max(1, math.ceil((max(self.max_factor[1], 1 + self.step_factor[1]) - 1.0) / self.step_factor[0]))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        step = self._uniform(x, *self.step_factor, generator=generator).double()
        m = torch.maximum(1 + step, self._uniform(x, *self.max_factor, generator=generator).double())
        n = torch.ceil((m - 1.0) / step).long().clamp(1, self.max_steps)  # len(np.arange(1, m, step))
        i = torch.arange(self.max_steps, device=x.device, dtype=torch.float64)
        factors = 1.0 + i.view(1, -1) * step.view(-1, 1)
        return {"zoom_factors": factors.float(), "n_factors": n}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FB.zoom_blur(x, params["zoom_factors"], params["n_factors"])

    def extra_repr(self) -> str:
        return f"max_factor={self.max_factor}, step_factor={self.step_factor}, " + super().extra_repr()


@register("transform", example=lambda: GlassBlur(sigma=0.7, max_delta=2, iterations=1, p=1.0))
class GlassBlur(RandomTransform):
    """Glass blur: Gaussian blur, local random pixel swaps (``iterations`` rounds, displacements
    in ``[-max_delta, max_delta)``), Gaussian blur again. albumentations 2.0.8 ``GlassBlur`` with
    ``mode="fast"`` (every pixel swapped at once per round); ImageNet-C's glass blur (Hendrycks &
    Dietterich 2019). ``mode="exact"``: albumentations' sequential loop, reproduced exactly
    (colour: the peer's swap of numpy views is a copy, resolved for the whole batch by pointer
    jumping; one channel: a true sequential swap, run as a loop over positions vectorised over
    the batch, slow for large images; see :func:`torchaug.functional.blur._glass_exact_rounds`).

    Parameters: ``dxy`` (``(B, P, iterations, 2)`` int displacements (int8 for ``max_delta <= 127``),
    ``P = (H - 2 max_delta) * (W - 2 max_delta)``), ``apply``.
    """

    gather_selected = True

    def __init__(
        self,
        sigma: float = 0.7,
        max_delta: int = 4,
        iterations: int = 2,
        mode: str = "fast",
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.sigma = float(check_number(sigma, owner=o, name="sigma", low=0.0, low_inclusive=False))
        self.max_delta = int(check_number(max_delta, owner=o, name="max_delta", low=1, integer=True))
        self.iterations = int(check_number(iterations, owner=o, name="iterations", low=1, integer=True))
        self.mode = check_choice(mode, ["fast", "exact"], owner=o, name="mode")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        P = max(0, H - 2 * self.max_delta) * max(0, W - 2 * self.max_delta)
        u = self._rand(x, P, self.iterations, 2, generator=generator)
        d = (u * (2 * self.max_delta)).floor().long().clamp(max=2 * self.max_delta - 1) - self.max_delta
        # int8 when it fits: a 224x224 sample has 2 * iterations * 46,656 displacements
        return {"dxy": d.to(torch.int8) if self.max_delta <= 127 else d}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        H, W = x.shape[-2:]
        P = max(0, H - 2 * self.max_delta) * max(0, W - 2 * self.max_delta)
        if params["dxy"].shape[1] != P:
            raise ValueError(f"{type(self).__name__}: params['dxy'] must hold {P} displacements per sample for "
                             f"{H}x{W} images; got shape {tuple(params['dxy'].shape)}")
        return FB.glass_blur(x, self.sigma, self.max_delta, params["dxy"], self.mode)

    def extra_repr(self) -> str:
        return (f"sigma={self.sigma}, max_delta={self.max_delta}, iterations={self.iterations}, mode={self.mode!r}, "
                + super().extra_repr())


@register("transform", example=lambda: AdvancedBlur(blur_limit=(3, 7), p=1.0))
class AdvancedBlur(_KernelSizeBlur):
    """Anisotropic generalised-Gaussian blur with multiplicative kernel noise (albumentations
    2.0.8 ``AdvancedBlur``; the blur of Real-ESRGAN's degradation model, Wang et al. 2021).

    Per sample: an odd kernel size from ``blur_limit``, ``sigma_x``/``sigma_y`` from their limits,
    a rotation from ``rotate_limit`` (degrees), a shape ``beta`` (with probability 1/2 from
    ``[beta_limit[0], 1]`` else ``[1, beta_limit[1]]``: plateau or peaked kernels equally often) and
    a noise field from ``noise_limit`` multiplying the kernel. Reflect-101 border.

    Parameters: ``ksize``, ``sigma_x``, ``sigma_y``, ``angle`` (radians), ``beta`` (``(B,)``),
    ``noise`` (``(B, K, K)``, ``K`` the largest size of ``blur_limit``), ``apply``.
    """

    def __init__(
        self,
        blur_limit: int | Sequence[int] = (3, 7),
        sigma_x_limit: float | Sequence[float] = (0.2, 1.0),
        sigma_y_limit: float | Sequence[float] = (0.2, 1.0),
        rotate_limit: float | Sequence[float] = (-90, 90),
        beta_limit: float | Sequence[float] = (0.5, 8.0),
        noise_limit: float | Sequence[float] = (0.9, 1.1),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(blur_limit, p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.sigma_x_limit = float_range(sigma_x_limit, owner=o, name="sigma_x_limit", low=0.0)
        self.sigma_y_limit = float_range(sigma_y_limit, owner=o, name="sigma_y_limit", low=0.0)
        if self.sigma_x_limit[0] == 0 and self.sigma_y_limit[0] == 0:
            raise ValueError(f"{o}: sigma_x_limit and sigma_y_limit cannot both start at 0")
        self.rotate_limit = float_range(rotate_limit, owner=o, name="rotate_limit", symmetric=True)
        bl = float_range(beta_limit, owner=o, name="beta_limit", low=0.0)
        if bl[0] <= 0 or not bl[0] <= 1.0 <= bl[1]:
            raise ValueError(f"{o}: beta_limit must be a positive range around 1 (min <= 1 <= max); got {beta_limit!r}")
        self.beta_limit = bl
        self.noise_limit = float_range(noise_limit, owner=o, name="noise_limit", low=0.0, high=None)
        if self.noise_limit[0] <= 0:
            raise ValueError(f"{o}: noise_limit must be positive; got {noise_limit!r}")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        ksize = self._ksize(x, generator)
        sx = self._uniform(x, *self.sigma_x_limit, generator=generator).clamp_min(1e-6)
        sy = self._uniform(x, *self.sigma_y_limit, generator=generator).clamp_min(1e-6)
        angle = torch.deg2rad(self._uniform(x, *self.rotate_limit, generator=generator))
        low = self._rand(x, generator=generator) < 0.5
        u = self._rand(x, generator=generator)
        b0, b1 = self.beta_limit
        beta = torch.where(low, b0 + (1 - b0) * u, 1 + (b1 - 1) * u)
        K = self.blur_limit[1]
        noise = self._uniform(x, *self.noise_limit, K, K, generator=generator)
        return {"ksize": ksize, "sigma_x": sx, "sigma_y": sy, "angle": angle, "beta": beta, "noise": noise}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        dev = x.device
        ker = FB.generalized_gaussian_kernels(*(params[k].to(dev) for k in ("ksize", "sigma_x", "sigma_y", "angle", "beta", "noise")))
        return FB.filter2d(x, ker)

    def extra_repr(self) -> str:
        return (f"sigma_x_limit={self.sigma_x_limit}, sigma_y_limit={self.sigma_y_limit}, rotate_limit={self.rotate_limit}, "
                f"beta_limit={self.beta_limit}, noise_limit={self.noise_limit}, " + super().extra_repr())
