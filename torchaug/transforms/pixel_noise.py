"""Random per-sample pixel noise, albumentations 2.0.8 names and arguments: ShotNoise,
MultiplicativeNoise, AdditiveNoise (uniform / gaussian / laplace / beta, per channel, per pixel or
shared), ISONoise. ``GaussianNoise`` and ``SaltAndPepperNoise`` live in
:mod:`torchaug.transforms.noise`.

Each sample draws its own levels; the random fields are drawn on the data's device from the
given ``generator`` and returned with the parameters, so a call can be replayed. Results are
clamped to the valid range. Non-geometric: targets pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from torchaug._validation import check_choice, check_number, describe
from torchaug.functional import pixel_noise as FP
from torchaug.registry import register
from torchaug.transforms._args import check_flag, float_range
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["ShotNoise", "MultiplicativeNoise", "AdditiveNoise", "ISONoise"]


def _poisson(rate: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.poisson(rate.to(torch.float32), generator=generator)


@register("transform", example=lambda: ShotNoise(p=1.0))
class ShotNoise(RandomTransform):
    """Shot (photon) noise: Poisson counts in linear light (gamma 2.2), with a per-sample
    ``scale`` from ``scale_range`` (larger: fewer photons, more noise). albumentations 2.0.8
    ``ShotNoise``.

    Parameters: ``scale`` (``(B,)``), ``counts`` (``(B, C, H, W)``: the Poisson draw, which depends
    on the image it was drawn for), ``apply``.
    """

    def __init__(self, scale_range: Sequence[float] = (0.1, 0.3), *, p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.scale_range = float_range(scale_range, owner=o, name="scale_range", low=0.0, high=None)
        if self.scale_range[0] <= 0:
            raise ValueError(f"{o}: scale_range must be positive; got {scale_range!r}")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        scale = self._uniform(x, *self.scale_range, generator=generator)
        counts = _poisson(FP.shot_noise_rates(x, scale), generator)
        return {"scale": scale, "counts": counts}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FP.shot_noise(x, params["scale"], params["counts"])

    def extra_repr(self) -> str:
        return f"scale_range={self.scale_range}, " + super().extra_repr()


@register("transform", example=lambda: MultiplicativeNoise(p=1.0))
class MultiplicativeNoise(RandomTransform):
    """Multiply by random factors from ``multiplier`` (albumentations 2.0.8 ``MultiplicativeNoise``):
    one factor per sample, per channel (``per_channel``), per pixel (``elementwise``) or per pixel
    and channel (both). ``multiplier=1``: identity.

    Parameters: ``multiplier`` (``(B, C or 1, H or 1, W or 1)``), ``apply``.
    """

    def __init__(
        self,
        multiplier: float | Sequence[float] = (0.9, 1.1),
        per_channel: bool = False,
        elementwise: bool = False,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.multiplier = float_range(multiplier, owner=o, name="multiplier", low=0.0)
        self.per_channel = check_flag(per_channel, owner=o, name="per_channel")
        self.elementwise = check_flag(elementwise, owner=o, name="elementwise")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        c = x.shape[1] if self.per_channel else 1
        h, w = x.shape[-2:] if self.elementwise else (1, 1)
        return {"multiplier": self._uniform(x, *self.multiplier, c, h, w, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FP.multiply(x, params["multiplier"])

    def extra_repr(self) -> str:
        return (f"multiplier={self.multiplier}, per_channel={self.per_channel}, elementwise={self.elementwise}, "
                + super().extra_repr())


_DEFAULTS: dict[str, dict[str, Any]] = {
    "uniform": {"ranges": [(-0.1, 0.1)]},
    "gaussian": {"mean_range": (0.0, 0.0), "std_range": (0.05, 0.15)},
    "laplace": {"mean_range": (0.0, 0.0), "scale_range": (0.05, 0.15)},
    "beta": {"alpha_range": (0.5, 1.5), "beta_range": (0.5, 1.5), "scale_range": (0.1, 0.3)},
}


def _standard_gamma(alpha: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """Gamma(alpha, 1) samples of ``shape`` (``alpha`` broadcastable), Marsaglia & Tsang (2000),
    vectorised with a fixed number of proposal rounds (the chance that all 8 are rejected is
    below 1e-9 per value; such a value takes the mode ``alpha - 1/3``), and the ``alpha < 1`` boost
    ``G(a) = G(a + 1) U^(1/a)``. Uses ``generator``, which ``torch.distributions`` cannot."""
    dev = alpha.device
    a = alpha.expand(shape)
    small = a < 1
    ab = torch.where(small, a + 1, a)
    d = ab - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = d.clone()
    done = torch.zeros(shape, dtype=torch.bool, device=dev)
    for _ in range(8):
        z = torch.randn(shape, generator=generator, device=dev)
        u = torch.rand(shape, generator=generator, device=dev)
        v = (1 + c * z) ** 3
        ok = (v > 0) & (torch.log(u.clamp_min(1e-30)) < 0.5 * z * z + d - d * v + d * torch.log(v.clamp_min(1e-30)))
        take = ok & ~done
        out = torch.where(take, d * v, out)
        done |= ok
    u = torch.rand(shape, generator=generator, device=dev)
    return torch.where(small, out * u.clamp_min(1e-30) ** (1.0 / a), out)


@register("transform", example=lambda: AdditiveNoise(noise_type="gaussian", spatial_mode="per_pixel", p=1.0))
class AdditiveNoise(RandomTransform):
    """Add noise from a chosen distribution (albumentations 2.0.8 ``AdditiveNoise``).

    ``noise_type``: ``"uniform"`` (``ranges``: one ``(min, max)`` for every channel or one per
    channel), ``"gaussian"`` (``mean_range``, ``std_range``), ``"laplace"`` (``mean_range``,
    ``scale_range``) or ``"beta"`` (``alpha_range``, ``beta_range``, ``scale_range``: a Beta(a, b)
    draw mapped to ``[-scale, scale]``); ``noise_params`` as in albumentations (on the [0, 1]
    scale, ``uint8`` scaled by 255), the distribution's parameters drawn per sample.
    ``spatial_mode``: ``"constant"`` (one value per channel: a per-sample colour shift),
    ``"per_pixel"`` (independent per pixel and channel) or ``"shared"`` (per pixel, the same in
    every channel). ``approximation`` in (0, 1]: per-pixel noise drawn at that fraction of the
    size and resized bilinearly (faster). Clamped to the valid range.

    Parameters: ``noise`` (``(B, C or 1, h, w)`` on the [0, 1] scale), ``apply``.
    """

    def __init__(
        self,
        noise_type: str = "uniform",
        spatial_mode: str = "constant",
        noise_params: Mapping[str, Any] | None = None,
        approximation: float = 1.0,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.noise_type = check_choice(noise_type, list(_DEFAULTS), owner=o, name="noise_type")
        self.spatial_mode = check_choice(spatial_mode, ["constant", "per_pixel", "shared"], owner=o, name="spatial_mode")
        self.approximation = float(check_number(approximation, owner=o, name="approximation", low=0.0, high=1.0,
                                                low_inclusive=False))
        if noise_params is not None and not isinstance(noise_params, Mapping):
            raise TypeError(f"{o}: noise_params must be a dict or None; got {describe(noise_params)}")
        params = dict(_DEFAULTS[self.noise_type] if noise_params is None else noise_params)
        need = set(_DEFAULTS[self.noise_type])
        if set(params) != need:
            raise ValueError(f"{o}: noise_params for noise_type={noise_type!r} must have the keys {sorted(need)}; "
                             f"got {sorted(params)}")
        if self.noise_type == "uniform":
            rs = params["ranges"]
            if not isinstance(rs, Sequence) or isinstance(rs, str) or len(rs) == 0:
                raise TypeError(f"{o}: noise_params['ranges'] must be a list of (min, max) pairs; got {describe(rs)}")
            self.noise_params = {"ranges": [float_range(r, owner=o, name="noise_params['ranges']", low=-1.0, high=1.0) for r in rs]}
        else:
            self.noise_params = {}
            for k, v in params.items():
                low = 0.0 if k != "mean_range" else -1.0
                self.noise_params[k] = float_range(v, owner=o, name=f"noise_params[{k!r}]", low=low)
            if self.noise_type == "beta" and min(self.noise_params["alpha_range"][0], self.noise_params["beta_range"][0]) <= 0:
                raise ValueError(f"{o}: noise_params alpha_range and beta_range must be positive; got {noise_params!r}")

    def _sample(self, x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
        """Noise of ``(B, *shape)`` from the distribution, its parameters drawn per sample."""
        b = self._batch(x)
        dev = x.device
        full = (b, *shape)
        nd = len(shape)

        def per_sample(rng: tuple[float, float]) -> torch.Tensor:
            lo, hi = rng
            return (lo + (hi - lo) * torch.rand(b, generator=generator, device=dev)).view(b, *([1] * nd))

        kind = self.noise_type
        if kind == "uniform":
            lo, hi = self.noise_params["ranges"][0]
            return lo + (hi - lo) * torch.rand(full, generator=generator, device=dev)
        if kind == "gaussian":
            mean, std = per_sample(self.noise_params["mean_range"]), per_sample(self.noise_params["std_range"])
            return mean + std * torch.randn(full, generator=generator, device=dev)
        if kind == "laplace":
            loc, scale = per_sample(self.noise_params["mean_range"]), per_sample(self.noise_params["scale_range"])
            u = torch.rand(full, generator=generator, device=dev) - 0.5
            return loc - scale * torch.sign(u) * torch.log1p(-2 * u.abs()).clamp_min(-80.0)
        a, bb = per_sample(self.noise_params["alpha_range"]), per_sample(self.noise_params["beta_range"])
        scale = per_sample(self.noise_params["scale_range"])
        ga, gb = _standard_gamma(a, full, generator), _standard_gamma(bb, full, generator)
        return (2 * ga / (ga + gb).clamp_min(1e-30) - 1) * scale

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        C, H, W = x.shape[1:]
        if self.spatial_mode == "constant":
            if self.noise_type == "uniform":
                rs = self.noise_params["ranges"]
                if len(rs) not in (1, C):
                    raise ValueError(f"{type(self).__name__}: noise_params['ranges'] must hold 1 or {C} (min, max) pairs "
                                     f"for {C}-channel images; got {len(rs)}")
                rs = rs * C if len(rs) == 1 else rs
                lo = torch.tensor([r[0] for r in rs], device=x.device).view(1, C, 1, 1)
                hi = torch.tensor([r[1] for r in rs], device=x.device).view(1, C, 1, 1)
                noise = lo + (hi - lo) * torch.rand((self._batch(x), C, 1, 1), generator=generator, device=x.device)
            else:
                noise = self._sample(x, (C, 1, 1), generator)
        else:
            h, w = (max(1, int(H * self.approximation)), max(1, int(W * self.approximation)))
            c = C if self.spatial_mode == "per_pixel" else 1
            noise = self._sample(x, (c, h, w), generator)
        return {"noise": self._expand(noise, x.shape[0])}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FP.add_field(x, params["noise"])

    def extra_repr(self) -> str:
        return (f"noise_type={self.noise_type!r}, spatial_mode={self.spatial_mode!r}, noise_params={self.noise_params}, "
                f"approximation={self.approximation}, " + super().extra_repr())


@register("transform", example=lambda: ISONoise(p=1.0))
class ISONoise(RandomTransform):
    """Camera sensor (ISO) noise on RGB images (albumentations 2.0.8 ``ISONoise``): in HLS, a
    Gaussian hue jitter of ``color_shift`` (a fraction of the hue circle, per sample from its
    range) times ``intensity``, and Poisson lightness noise of rate ``std(L) * intensity`` (per
    sample from ``intensity``). See :func:`torchaug.functional.pixel_noise.iso_noise` for the one
    place it differs from albumentations 2.0.8 (the hue unit). RGB or grey images.

    Parameters: ``color_shift``, ``intensity`` (``(B,)``), ``hue_noise`` (``(B, 1, H, W)`` standard
    normal), ``lum_counts`` (``(B, 1, H, W)`` Poisson counts, drawn for the image), ``apply``.
    """

    def __init__(
        self,
        color_shift: Sequence[float] = (0.01, 0.05),
        intensity: Sequence[float] = (0.1, 0.5),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.color_shift = float_range(color_shift, owner=o, name="color_shift", low=0.0, high=1.0)
        self.intensity = float_range(intensity, owner=o, name="intensity", low=0.0)

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[1] not in (1, 3):
            raise ValueError(f"{type(self).__name__}: x must be RGB (3 channels) or grey (1); got {x.shape[1]} channels")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        self._check(x)
        cs = self._uniform(x, *self.color_shift, generator=generator)
        it = self._uniform(x, *self.intensity, generator=generator)
        B, H, W = x.shape[0], x.shape[2], x.shape[3]
        hue = self._expand(torch.randn((self._batch(x), 1, H, W), generator=generator, device=x.device), B)
        rate = (FP.luminance_std(x) * it).view(B, 1, 1, 1).expand(B, 1, H, W)
        return {"color_shift": cs, "intensity": it, "hue_noise": hue, "lum_counts": _poisson(rate, generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        self._check(x)
        return FP.iso_noise(x, params["color_shift"], params["intensity"], params["hue_noise"], params["lum_counts"])

    def extra_repr(self) -> str:
        return f"color_shift={self.color_shift}, intensity={self.intensity}, " + super().extra_repr()
