"""Weather transforms with albumentations' (2.0.8) semantics and argument names, batched.

``RandomRain``, ``RandomSnow``, ``RandomFog``, ``RandomSunFlare``, ``RandomShadow``, ``Spatter``.
Every sample draws its own parameters (drops, particles, circles, polygons, liquid layers) as
tensors in :meth:`make_params`; :meth:`transform` rasterises them by broadcasting (segments are
scattered point by point, circles and polygons are tested per pixel, fog particles are counted
with one FFT convolution per radius) -- no Python loop over samples or drops. The formulas
follow ``albumentations/augmentations/pixel/functional.py`` (``add_rain``, ``add_snow_bleach``,
``add_snow_texture``, ``add_fog``, ``add_sun_flare_overlay``, ``add_shadow``, ``get_rain_params``,
``get_mud_params``), re-implemented (no code copied). As albumentations does (``uint8_io``), the
work is on the 0..255 scale with its 8-bit rounding steps, for float inputs too; non-geometric:
targets pass through. Differences from OpenCV's rasterisers (``LINE_4`` lines, ``circle``,
``fillPoly``) are at most a pixel along edges (the parity tests bound them).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from torchaug._validation import check_number, describe
from torchaug.corruptions import _ops as O
from torchaug.registry import register
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["RandomRain", "RandomSnow", "RandomFog", "RandomSunFlare", "RandomShadow", "Spatter"]


# -- helpers --------------------------------------------------------------------------------------


def _pair(v: Any, *, owner: str, name: str, low: float | None = None, high: float | None = None,
          integer: bool = False) -> tuple[float, float]:
    if isinstance(v, numbers.Number) and not isinstance(v, bool):
        f = check_number(v, owner=owner, name=name, low=low, high=high, integer=integer)
        return f, f
    if isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2:
        a = check_number(v[0], owner=owner, name=name, low=low, high=high, integer=integer)
        b = check_number(v[1], owner=owner, name=name, low=low, high=high, integer=integer)
        if a > b:
            raise ValueError(f"{owner}: {name} must be a non-decreasing (min, max) pair; got {tuple(v)}")
        return a, b
    raise TypeError(f"{owner}: {name} must be a number or a (min, max) pair; got {describe(v)}")


def _color(v: Any, *, owner: str, name: str, n: int = 3) -> tuple[int, ...]:
    if not isinstance(v, Sequence) or isinstance(v, str) or len(v) != n:
        raise TypeError(f"{owner}: {name} must be a tuple of {n} ints in [0, 255]; got {describe(v)}")
    return tuple(int(check_number(c, owner=owner, name=name, low=0, high=255, integer=True)) for c in v)


def _roi(v: Any, *, owner: str, name: str, strict: bool) -> tuple[float, float, float, float]:
    if not isinstance(v, Sequence) or isinstance(v, str) or len(v) != 4:
        raise TypeError(f"{owner}: {name} must be (x_min, y_min, x_max, y_max) in [0, 1]; got {describe(v)}")
    a = tuple(float(check_number(c, owner=owner, name=name, low=0, high=1)) for c in v)
    ok = (a[0] < a[2] and a[1] < a[3]) if strict else (a[0] <= a[2] and a[1] <= a[3])
    if not ok:
        raise ValueError(f"{owner}: {name} must have x_min < x_max and y_min < y_max; got {tuple(v)}")
    return a


@functools.lru_cache(maxsize=256)
def _const(values: tuple, device: str, shape: tuple = (1, 3, 1, 1)) -> torch.Tensor:
    """A float32 constant made once per device (not copied from Python on every call)."""
    return torch.tensor(values, dtype=torch.float32, device=device).view(shape)


def _to255(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float32) if x.dtype == torch.uint8 else x.to(torch.float32) * 255


def _from255(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    y = y.clamp(0, 255)
    if like.dtype == torch.uint8:
        return torch.floor(y + 0.5).to(torch.uint8)
    return (y / 255).to(like.dtype)


def _r8(y: torch.Tensor) -> torch.Tensor:
    """An 8-bit rounding step (OpenCV's saturate_cast of a float)."""
    return torch.floor(y + 0.5).clamp(0, 255)


def _rgb3(x: torch.Tensor, owner: str) -> None:
    if x.shape[1] != 3:
        raise ValueError(f"{owner}: x must be RGB images (B, 3, H, W), as albumentations requires; got {describe(x)}")


def _cv_gauss(ksize: int, sigma: torch.Tensor) -> torch.Tensor:
    """``cv2.getGaussianKernel(ksize, sigma)`` per sample ``(B, ksize)`` (sigma <= 0: OpenCV's default)."""
    s = sigma.to(torch.float64).view(-1, 1)
    s = torch.where(s > 0, s, torch.full_like(s, 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8))
    t = torch.arange(ksize, device=sigma.device, dtype=torch.float64).view(1, -1) - (ksize - 1) / 2
    k = torch.exp(-(t**2) / (2 * s * s))
    return (k / k.sum(1, keepdim=True)).to(torch.float32)


def _cv_gaussian_blur(x: torch.Tensor, ksize: int, sigma: torch.Tensor, mode: str) -> torch.Tensor:
    k = _cv_gauss(ksize, sigma)
    return O.sep_filter(x, k, k, mode)


def _grid(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.arange(h, device=device, dtype=torch.float32).view(1, 1, h, 1),
            torch.arange(w, device=device, dtype=torch.float32).view(1, 1, 1, w))


def _rgb_to_hls(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hue (skimage's [0, 1) convention), lightness and HLS saturation of [0, 1] RGB ``(B, 3, H, W)``."""
    hsv = O.rgb_to_hsv(x)
    mx, mn = x.amax(1), x.amin(1)
    l_ = (mx + mn) / 2
    d = mx - mn
    den = torch.where(l_ < 0.5, mx + mn, 2 - mx - mn)
    s = torch.where(d > 0, d / den.clamp_min(1e-12), torch.zeros_like(d))
    return hsv[:, 0], l_, s


def _hls_to_rgb(h: torch.Tensor, l_: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    a = s * torch.minimum(l_, 1 - l_)
    out = []
    for n in (0, 8, 4):
        k = (n + h * 12).remainder(12)
        out.append(l_ - a * torch.clamp(torch.minimum(k - 3, 9 - k), -1, 1))
    return torch.stack(out, 1)


# -- rain -----------------------------------------------------------------------------------------

_RAIN_TYPES = ("drizzle", "heavy", "torrential", "default")


@register("transform", example=lambda: RandomRain(p=1.0))
class RandomRain(RandomTransform):
    """Rain streaks: ``num_drops`` segments from ``(x, y)`` to ``(x + slant, y + drop_length)`` of
    ``drop_color`` and ``drop_width``, box-blurred by ``blur_value``, added (saturating), then the
    image scaled by ``brightness_coefficient`` (albumentations ``RandomRain``/``add_rain``).

    ``num_drops``: ``H // 4`` (drizzle), ``H`` (heavy), ``2 H`` (torrential), ``H // 3`` (default);
    ``drop_length``: ``max(1, H // 8)`` when None; ``slant`` uniform in ``slant_range`` per sample.
    Parameters: ``slant`` ``(B,)``, ``drops`` ``(B, N, 2)`` (x, y), ``apply``.
    """

    def __init__(
        self,
        slant_range: tuple[float, float] = (-10, 10),
        drop_length: int | None = None,
        drop_width: int = 1,
        drop_color: tuple[int, int, int] = (200, 200, 200),
        blur_value: int = 7,
        brightness_coefficient: float = 0.7,
        rain_type: str = "default",
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.slant_range = _pair(slant_range, owner=o, name="slant_range", low=-45, high=45)
        self.drop_length = None if drop_length is None else int(check_number(drop_length, owner=o, name="drop_length", low=1, integer=True))
        self.drop_width = int(check_number(drop_width, owner=o, name="drop_width", low=1, integer=True))
        self.drop_color = _color(drop_color, owner=o, name="drop_color")
        self.blur_value = int(check_number(blur_value, owner=o, name="blur_value", low=1, integer=True))
        self.brightness_coefficient = float(check_number(brightness_coefficient, owner=o, name="brightness_coefficient", low=0, high=1))
        if self.brightness_coefficient <= 0:
            raise ValueError(f"{o}: brightness_coefficient must be in (0, 1]; got {brightness_coefficient!r}")
        if rain_type not in _RAIN_TYPES:
            raise ValueError(f"{o}: rain_type must be one of {_RAIN_TYPES}; got {rain_type!r}")
        self.rain_type = rain_type

    def _sizes(self, h: int) -> tuple[int, int]:
        n = {"drizzle": h // 4, "heavy": h, "torrential": h * 2}.get(self.rain_type, h // 3)
        length = max(1, h // 8) if self.drop_length is None else self.drop_length
        return n, length

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        n, length = self._sizes(H)
        slant = self._uniform(x, self.slant_range[0], self.slant_range[1], generator=generator)
        u = self._rand(x, max(n, 0), 2, generator=generator)
        drops = torch.stack([torch.floor(u[..., 0] * W), torch.floor(u[..., 1] * max(1, H - length))], -1).long()
        return {"slant": slant, "drops": drops}

    def rain_mask(self, params: Params, size: tuple[int, int]) -> torch.Tensor:
        """Float ``(B, 1, H, W)`` with 1 on the drops' pixels (OpenCV ``LINE_4`` segments)."""
        H, W = size
        drops, slant = params["drops"], params["slant"].to(torch.float32)
        B, N = drops.shape[:2]
        _, length = self._sizes(H)
        dev = drops.device
        x0 = drops[..., 0].to(torch.float32)
        y0 = drops[..., 1].to(torch.float32)
        x1 = torch.trunc(x0 + slant.view(-1, 1))
        dx = x1 - x0
        steps = torch.maximum(dx.abs(), torch.full_like(dx, float(length))).clamp_min(1)
        T = int(max(length, math.ceil(max(abs(self.slant_range[0]), abs(self.slant_range[1]))) + 1))
        t = torch.arange(T + 1, device=dev, dtype=torch.float32).view(1, 1, -1)
        tt = torch.minimum(t, steps.unsqueeze(-1))
        xs = x0.unsqueeze(-1) + torch.round(tt / steps.unsqueeze(-1) * dx.unsqueeze(-1))
        ys = y0.unsqueeze(-1) + torch.round(tt / steps.unsqueeze(-1) * length)
        # 4-connectivity: where both coordinates step, also the pixel at the new x on the old row
        xs2 = xs[..., 1:]
        ys2 = ys[..., :-1]
        X = torch.cat([xs, xs2], -1).reshape(B, -1)
        Y = torch.cat([ys, ys2], -1).reshape(B, -1)
        ok = (X >= 0) & (X < W) & (Y >= 0) & (Y < H)
        idx = torch.where(ok, Y.long() * W + X.long(), torch.full(X.shape, H * W, device=dev, dtype=torch.long))
        m = torch.zeros(B, H * W + 1, device=dev)
        m.scatter_(1, idx, 1.0)
        m = m[:, : H * W].view(B, 1, H, W)
        if self.drop_width > 1:  # OpenCV's thick lines: the 1-pixel line dilated by a disc of radius (w + 1) // 2
            r = (self.drop_width + 1) // 2
            a = torch.arange(-r, r + 1, device=dev, dtype=torch.float32)
            disc = ((a.view(-1, 1) ** 2 + a.view(1, -1) ** 2) <= r * r).float().view(1, 1, 2 * r + 1, 2 * r + 1)
            m = (F.conv2d(m, disc, padding=r) > 0.5).float()
        return m

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _rgb3(x, type(self).__name__)
        if params["drops"].shape[1] == 0:
            return x.clone()
        y = _to255(x)
        m = self.rain_mask(params, tuple(x.shape[-2:]))
        layer = m * _const(self.drop_color, str(x.device))
        if self.blur_value > 1:  # OpenCV blur: anchor at k // 2, reflect-101 border
            k = self.blur_value
            H, W = x.shape[-2:]
            pad = layer.index_select(2, O.border_index(H, k // 2, k - 1 - k // 2, "reflect101", x.device))
            pad = pad.index_select(3, O.border_index(W, k // 2, k - 1 - k // 2, "reflect101", x.device))
            layer = _r8(F.avg_pool2d(pad, k, stride=1))
        y = (y + layer).clamp(0, 255)
        if self.brightness_coefficient != 1.0:
            y = _r8(y * self.brightness_coefficient)
        return _from255(y, x)

    def extra_repr(self) -> str:
        return (f"slant_range={self.slant_range}, drop_length={self.drop_length}, drop_width={self.drop_width}, "
                f"drop_color={self.drop_color}, blur_value={self.blur_value}, "
                f"brightness_coefficient={self.brightness_coefficient}, rain_type={self.rain_type!r}, " + super().extra_repr())


# -- snow -----------------------------------------------------------------------------------------


@register("transform", example=lambda: RandomSnow(p=1.0))
class RandomSnow(RandomTransform):
    """Snow (albumentations ``RandomSnow``). ``method="bleach"``: pixels whose HLS lightness is
    below ``snow_point * 255 / 2 + 255 / 3`` get it multiplied by ``brightness_coeff``
    (``add_snow_bleach``). ``method="texture"``: HSV brightening by ``1 + brightness_coeff *
    snow_point``, a Gaussian snow texture (N(0.5, 0.3), blurred with sigma 1 twice, fading from the
    top row (1) to the bottom (0.2)) added to the HSV planes, a blue tint, and 1% white sparkles
    (``add_snow_texture``; its 8-bit HSV wrap-around is clamped here).

    Parameters: ``snow_point`` ``(B,)``; texture: ``snow_texture`` ``(B, H, W)``, ``sparkle`` ``(B, H, W)``.
    """

    def __init__(
        self,
        brightness_coeff: float = 2.5,
        snow_point_range: tuple[float, float] = (0.1, 0.3),
        method: str = "bleach",
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.brightness_coeff = float(check_number(brightness_coeff, owner=o, name="brightness_coeff", low=0))
        if self.brightness_coeff <= 0:
            raise ValueError(f"{o}: brightness_coeff must be > 0; got {brightness_coeff!r}")
        self.snow_point_range = _pair(snow_point_range, owner=o, name="snow_point_range", low=0, high=1)
        if method not in ("bleach", "texture"):
            raise ValueError(f"{o}: method must be 'bleach' or 'texture'; got {method!r}")
        self.method = method

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        sp = self._uniform(x, self.snow_point_range[0], self.snow_point_range[1], generator=generator)
        out = {"snow_point": sp}
        if self.method == "texture":
            H, W = x.shape[-2:]
            b = self._batch(x)
            tex = torch.randn((b, 1, H, W), generator=generator, device=x.device) * 0.3 + 0.5
            ks = 2 * math.ceil(3.0) + 1  # OpenCV's ksize for sigma 1 on float64
            tex = _cv_gaussian_blur(tex, ks, torch.ones(b, device=x.device), "reflect101")
            sparkle = torch.rand((b, H, W), generator=generator, device=x.device) > 0.99
            out["snow_texture"] = self._expand(tex[:, 0], x.shape[0])
            out["sparkle"] = self._expand(sparkle, x.shape[0])
        return out

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _rgb3(x, type(self).__name__)
        y = _to255(x)
        if x.dtype != torch.uint8:
            y = _r8(y)
        sp = params["snow_point"].to(torch.float32).view(-1, 1, 1)
        if self.method == "bleach":
            h, l_, s = _rgb_to_hls(y / 255)
            L = _r8(l_ * 255)
            thr = sp * 255 / 2 + 255 / 3
            L = torch.where(L < thr, torch.floor((L * self.brightness_coeff).clamp(0, 255)), L)
            out = _hls_to_rgb(h, L / 255, s) * 255
            return _from255(out, x)
        hsv = O.rgb_to_hsv(y / 255)
        Hc, S, V = _r8(hsv[:, 0] * 180).remainder(180), _r8(hsv[:, 1] * 255), _r8(hsv[:, 2] * 255)
        V = (V * (1 + self.brightness_coeff * sp)).clamp(0, 255)
        B, _, Hh, W = x.shape
        tex = _cv_gaussian_blur(params["snow_texture"].unsqueeze(1).to(torch.float32), 7,
                                torch.ones(B, device=x.device), "reflect101")[:, 0]
        depth = torch.linspace(1, 0.2, Hh, device=x.device).view(1, -1, 1)
        layer = tex * depth * 255 * sp
        tint = _const((0.6, 0.75, 1.0), str(x.device))
        planes = torch.stack([Hc, S, V], 1) + layer.unsqueeze(1)
        planes = planes * 0.85 + tint * 0.15 * sp.unsqueeze(1)
        planes = torch.floor(planes.clamp(0, 255))
        hsv2 = torch.stack([(planes[:, 0] / 180).remainder(1.0), planes[:, 1] / 255, planes[:, 2] / 255], 1)
        out = _r8(O.hsv_to_rgb(hsv2) * 255)
        out = torch.where(params["sparkle"].unsqueeze(1), torch.full_like(out, 255.0), out)
        return _from255(out, x)

    def extra_repr(self) -> str:
        return (f"brightness_coeff={self.brightness_coeff}, snow_point_range={self.snow_point_range}, "
                f"method={self.method!r}, " + super().extra_repr())


# -- fog ------------------------------------------------------------------------------------------


def _fft_size(n: int) -> int:
    """The smallest ``m >= n`` of the form ``2^a 3^b 5^c`` (fast FFT sizes)."""
    m = n
    while True:
        k = m
        for f in (2, 3, 5):
            while k % f == 0:
                k //= f
        if k == 1:
            return m
        m += 1


def _fog_regions(h: int, w: int) -> list[tuple[int, int]]:
    out, cw, ch = [], w, h
    for _ in range(10):
        out.append((cw, ch))
        cw, ch = int(cw * 0.9), int(ch * 0.9)
    return out


def _fog_counts(h: int, w: int, intensity: float) -> list[int]:
    frs = max(1, int(w // 3 * intensity))
    counts = []
    for cw, ch in _fog_regions(h, w):
        if not (cw > frs and ch > frs):
            break
        counts.append(int(cw * ch / (frs * frs) * intensity * 10))
    return counts + [0] * (10 - len(counts))


@register("transform", example=lambda: RandomFog(p=1.0))
class RandomFog(RandomTransform):
    """Fog as layered white circles (albumentations ``RandomFog``/``add_fog``): over ten shrinking
    central regions, ``int(area / s^2 * intensity * 10)`` particles (``s = W // 3 * intensity``)
    of radius in ``[r // 2, r)`` (``r = max(2, 0.1 min(H, W) intensity)``), each blended in with
    ``alpha = alpha_coef * intensity``; then a Gaussian blur of size ``max(3, min(H, W) // 30)`` (odd).

    The blends commute, so a pixel covered by ``n`` particles becomes
    ``255 - (255 - x) (1 - alpha)^n``; ``n`` is counted with one FFT convolution per radius.
    Parameters: ``intensity`` ``(B,)``, ``positions`` ``(B, N, 2)`` (x, y), ``radii`` ``(B, N)``,
    ``valid`` ``(B, N)``.
    """

    def __init__(self, alpha_coef: float = 0.08, fog_coef_range: tuple[float, float] = (0.3, 1), *,
                 p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.alpha_coef = float(check_number(alpha_coef, owner=o, name="alpha_coef", low=0, high=1))
        self.fog_coef_range = _pair(fog_coef_range, owner=o, name="fog_coef_range", low=0, high=1)

    def _slots(self, h: int, w: int) -> list[int]:
        lo, hi = self.fog_coef_range
        cands = [lo + (hi - lo) * i / 400 for i in range(401)]
        third = w // 3
        if third > 0:
            cands += [min(hi, (f + 1) / third - 1e-9) for f in range(int(third * lo), int(third * hi) + 1)]
        cands = [c for c in cands if lo <= c <= hi] or [lo]
        per = [_fog_counts(h, w, c) for c in cands]
        return [max(p[k] for p in per) for k in range(10)]

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        dev = x.device
        inten = self._uniform(x, self.fog_coef_range[0], self.fog_coef_range[1], generator=generator).to(torch.float64)
        slots = self._slots(H, W)
        frs = torch.clamp(torch.floor((W // 3) * inten), min=1)
        cx, cy = W // 2, H // 2
        pos, valid = [], []
        for k, (cw, ch) in enumerate(_fog_regions(H, W)):
            if slots[k] == 0:
                continue
            region_ok = torch.ones_like(inten, dtype=torch.bool)
            for j in range(k + 1):
                pw, ph = _fog_regions(H, W)[j]
                region_ok &= (pw > frs) & (ph > frs)
            cnt = torch.where(region_ok, torch.floor(cw * ch / (frs * frs) * inten * 10), torch.zeros_like(inten))
            u = self._rand(x, slots[k], 2, generator=generator).to(torch.float64)
            px = torch.floor(u[..., 0] * (2 * (cw // 2) + 1)) + cx - cw // 2
            py = torch.floor(u[..., 1] * (2 * (ch // 2) + 1)) + cy - ch // 2
            pos.append(torch.stack([px, py], -1))
            valid.append(torch.arange(slots[k], device=dev).view(1, -1) < cnt.view(-1, 1))
        if not pos:
            return {"intensity": inten.float(), "positions": torch.zeros(x.shape[0], 0, 2, dtype=torch.long, device=dev),
                    "radii": torch.zeros(x.shape[0], 0, dtype=torch.long, device=dev),
                    "valid": torch.zeros(x.shape[0], 0, dtype=torch.bool, device=dev)}
        positions = torch.cat(pos, 1).long()
        valid_t = torch.cat(valid, 1)
        rmax = torch.clamp(torch.floor(min(H, W) * 0.1 * inten), min=2)
        rmin = torch.clamp(torch.floor(rmax / 2), min=1)
        u = self._rand(x, positions.shape[1], generator=generator).to(torch.float64)
        radii = (rmin.view(-1, 1) + torch.floor(u * (rmax - rmin).view(-1, 1))).long()
        return {"intensity": inten.float(), "positions": positions, "radii": radii, "valid": valid_t}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _rgb3(x, type(self).__name__)
        B, C, H, W = x.shape
        dev = x.device
        y = _to255(x)
        pos, radii, valid = params["positions"].to(dev), params["radii"].to(dev), params["valid"].to(dev)
        n = torch.zeros(B, H, W, device=dev)
        if pos.shape[1]:
            R = int(max(2, int(min(H, W) * 0.1 * self.fog_coef_range[1])))
            Hp, Wp = _fft_size(H + 2 * R), _fft_size(W + 2 * R)
            idx = (pos[..., 1].clamp(0, H - 1) + R) * Wp + (pos[..., 0].clamp(0, W - 1) + R)
            rr = torch.arange(1, R + 1, device=dev).view(1, -1, 1)
            sel = (valid.unsqueeze(1) & (radii.unsqueeze(1) == rr)).to(torch.float32)  # (B, R, N)
            cmap = torch.zeros(B, R, Hp * Wp, device=dev).scatter_add_(2, idx.unsqueeze(1).expand(-1, R, -1), sel)
            yy = torch.arange(-R, R + 1, device=dev).view(1, -1, 1)
            xx = torch.arange(-R, R + 1, device=dev).view(1, 1, -1)
            disks = torch.zeros(R, Hp, Wp, device=dev)
            disks[:, : 2 * R + 1, : 2 * R + 1] = ((yy**2 + xx**2) <= rr.view(-1, 1, 1) ** 2).float()
            prod = (torch.fft.rfft2(cmap.view(B, R, Hp, Wp)) * torch.fft.rfft2(disks)).sum(1)
            full = torch.fft.irfft2(prod, s=(Hp, Wp))
            # a disk sits at offset 0 (centre R): the count of pixel (i, j) is at (i + 2R, j + 2R)
            n = torch.round(full[:, 2 * R : 2 * R + H, 2 * R : 2 * R + W]).clamp_min(0)
        a = (self.alpha_coef * params["intensity"].to(dev, torch.float32)).view(-1, 1, 1, 1)
        y = 255 - (255 - y) * (1 - a) ** n.unsqueeze(1)
        k = max(3, int(min(H, W) // 30))
        k += 1 - k % 2
        y = _r8(_cv_gaussian_blur(_r8(y), k, torch.zeros(B, device=dev), "reflect101"))
        return _from255(y, x)

    def extra_repr(self) -> str:
        return f"alpha_coef={self.alpha_coef}, fog_coef_range={self.fog_coef_range}, " + super().extra_repr()


# -- sun flare ------------------------------------------------------------------------------------


@register("transform", example=lambda: RandomSunFlare(src_radius=20, p=1.0))
class RandomSunFlare(RandomTransform):
    """Sun flare (albumentations ``RandomSunFlare``, ``method="overlay"``/``add_sun_flare_overlay``):
    a source at a random point of ``flare_roi``; ``num_flare_circles`` circles of radius
    ``rad^3`` (``rad`` in ``[1, max(2, 0.01 H)]``), alpha in [0.05, 0.2] and a colour near
    ``src_color``, centred on points of the line through the source at an angle
    ``2 pi * angle_range``, blended one after the other; then ``src_radius // 10`` concentric discs
    up to ``src_radius`` with alphas ``linspace(0, min(5 * weighted alpha, 1))^3``.

    ``method="physics_based"`` (albumentations 2.0.8 ``add_sun_flare_physics_based``, the same drawn
    parameters): a separate float flare layer holds the source disc (``src_radius``, ``src_color``),
    four diffraction spikes (OpenCV's 2 px lines at 0, 45, 90, 135 degrees from the source, one image
    side long) and the ghosts (filled discs of radius ``int(circle_radius ** 0.33)`` in their
    colours, drawn over each other in order); it is blurred (Gaussian, sigma 15), faded by the
    radial mask ``1 - clip(d / (0.7 max(H, W)), 0, 1)`` (``d`` the distance to the source), given
    chromatic aberration (channel 0 blurred again with sigma 3, channel 2 with sigma 5, as the
    peer's ``cv2.split`` order) and screen-blended: ``255 - (255 - x)(255 - flare) / 255``,
    truncated to uint8 as the peer's ``astype``. OpenCV's Gaussian sizes for float
    (``round(8 sigma + 1) | 1``), reflect-101 borders. Disc pixels: ``d <= r`` (OpenCV's set for
    these radii); spike pixels: squared distance to the segment up to 2 (1 beyond its ends), a few
    pixels off OpenCV's per diagonal spike (the sigma-15 blur
    leaves that below a level).

    Parameters: ``flare_center`` ``(B, 2)``, ``angle`` ``(B,)``, ``circle_alpha``, ``circle_radius``
    ``(B, K)``, ``circle_center`` ``(B, K, 2)``, ``circle_color`` ``(B, K, 3)``, ``circle_valid`` ``(B, K)``.
    """

    def __init__(
        self,
        flare_roi: tuple[float, float, float, float] = (0, 0, 1, 0.5),
        src_radius: int = 400,
        src_color: tuple[int, ...] = (255, 255, 255),
        angle_range: tuple[float, float] = (0, 1),
        num_flare_circles_range: tuple[int, int] = (6, 10),
        method: str = "overlay",
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.flare_roi = _roi(flare_roi, owner=o, name="flare_roi", strict=True)
        self.src_radius = int(check_number(src_radius, owner=o, name="src_radius", low=2, integer=True))
        self.src_color = _color(src_color, owner=o, name="src_color")
        self.angle_range = _pair(angle_range, owner=o, name="angle_range", low=0, high=1)
        lo, hi = _pair(num_flare_circles_range, owner=o, name="num_flare_circles_range", low=1, integer=True)
        self.num_flare_circles_range = (int(lo), int(hi))
        if method not in ("overlay", "physics_based"):
            raise ValueError(f"{o}: method must be 'overlay' (albumentations' default) or 'physics_based'; got {method!r}")
        self.method = method

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        dev = x.device
        diag = math.sqrt(H * H + W * W)
        angle = 2 * math.pi * self._uniform(x, self.angle_range[0], self.angle_range[1], generator=generator).double()
        x0, y0, x1, y1 = self.flare_roi
        fcx = torch.floor(W * self._uniform(x, x0, x1, generator=generator).double())
        fcy = torch.floor(H * self._uniform(x, y0, y1, generator=generator).double())
        lo, hi = self.num_flare_circles_range
        num = self._randint(x, hi - lo + 1, generator=generator) + lo
        K = hi
        step = max(1, int(diag * 0.01))
        maxr = max(2, int(H * 0.01))
        crange = int(max(self.src_color) * 0.2)
        npts = len(range(0, W, step))
        u = self._rand(x, K, 7, generator=generator).double()
        alpha = 0.05 + 0.15 * u[..., 0]
        t = -fcx.view(-1, 1) + step * torch.floor(u[..., 1] * npts)
        px = torch.trunc(fcx.view(-1, 1) + t * torch.cos(angle).view(-1, 1))
        py = torch.trunc(fcy.view(-1, 1) + t * torch.sin(angle).view(-1, 1))
        rad = 1 + torch.floor(u[..., 2] * maxr)
        cols = []
        for c in range(3):
            cc = self.src_color[c]
            lo_c = max(cc - crange, 0)
            cols.append(lo_c + torch.floor(u[..., 3 + c] * (cc - lo_c + 1)))
        return {
            "flare_center": torch.stack([fcx, fcy], -1).float(),
            "angle": angle.float(),
            "circle_alpha": alpha.float(),
            "circle_radius": (rad**3).float(),
            "circle_center": torch.stack([px, py], -1).float(),
            "circle_color": torch.stack(cols, -1).float(),
            "circle_valid": torch.arange(K, device=dev).view(1, -1) < num.view(-1, 1),
        }

    def _physics_based(self, y: torch.Tensor, params: Params) -> torch.Tensor:
        """albumentations 2.0.8 ``add_sun_flare_physics_based`` on ``y`` (``(B, 3, H, W)``, uint8 levels
        as float32); returns the screen-blended image, truncated to whole levels."""
        B, C, H, W = y.shape
        dev = y.device
        gy, gx = _grid(H, W, dev)
        fc = params["flare_center"].to(dev).double().trunc()
        fx, fy = fc[:, 0].view(-1, 1, 1, 1), fc[:, 1].view(-1, 1, 1, 1)
        src = _const(self.src_color, str(dev))
        dx, dy = gx.double() - fx, gy.double() - fy
        d2 = dx * dx + dy * dy
        on = d2 <= float(self.src_radius) ** 2  # the source disc
        side = float(max(W, H))
        for deg in (0, 45, 90, 135):  # diffraction spikes: cv2.line(..., thickness=2)
            ex = torch.trunc(fx + math.cos(math.radians(deg)) * side) - fx
            ey = torch.trunc(fy + math.sin(math.radians(deg)) * side) - fy
            t0 = (dx * ex + dy * ey) / (ex * ex + ey * ey).clamp_min(1e-12)
            t = t0.clamp(0, 1)
            # OpenCV's 2 px line covers squared distances up to 2 along it (diagonals come out
            # wider than axis-parallel ones), up to 1 around its end points
            reach = torch.where((t0 > 0) & (t0 < 1), 2.0, 1.0)
            on = on | ((dx - t * ex) ** 2 + (dy - t * ey) ** 2 <= reach)
        layer = torch.where(on, src, torch.zeros((), device=dev))
        cen, col, valid = params["circle_center"].to(dev), params["circle_color"].to(dev), params["circle_valid"].to(dev)
        rad = torch.floor(params["circle_radius"].to(dev).double() ** 0.33)  # int(size ** 0.33)
        cc = cen.double().trunc()
        for k in range(cen.shape[1]):  # ghosts, drawn in order (a few per sample)
            inside = ((gx - cc[:, k, 0].view(-1, 1, 1, 1)) ** 2 + (gy - cc[:, k, 1].view(-1, 1, 1, 1)) ** 2
                      <= rad[:, k].view(-1, 1, 1, 1) ** 2) & valid[:, k].view(-1, 1, 1, 1)
            layer = torch.where(inside, col[:, k].view(-1, 3, 1, 1), layer)

        def blur(z: torch.Tensor, sigma: float) -> torch.Tensor:
            ks = int(round(sigma * 8 + 1)) | 1  # OpenCV's ksize=(0, 0) rule for float images
            return _cv_gaussian_blur(z, ks, torch.full((z.shape[0],), sigma, device=dev), "reflect101")

        layer = blur(layer, 15.0)
        fade = 1 - (torch.sqrt(d2) / (side * 0.7)).clamp(0, 1)
        layer = layer * fade.float()
        layer = torch.cat([blur(layer[:, :1], 3.0), layer[:, 1:2], blur(layer[:, 2:], 5.0)], 1)
        out = 255 - (255 - y) * (255 - layer) / 255
        return torch.floor(out.clamp(0, 255))

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _rgb3(x, type(self).__name__)
        B, C, H, W = x.shape
        dev = x.device
        y = _to255(x)
        if x.dtype != torch.uint8:
            y = _r8(y)
        if self.method == "physics_based":
            return _from255(self._physics_based(y, params), x)
        gy, gx = _grid(H, W, dev)
        overlay, out = y.clone(), y.clone()
        alpha, rad = params["circle_alpha"].to(dev), params["circle_radius"].to(dev)
        cen, col, valid = params["circle_center"].to(dev), params["circle_color"].to(dev), params["circle_valid"].to(dev)
        for k in range(alpha.shape[1]):
            v = valid[:, k].view(-1, 1, 1, 1)
            inside = ((gx - cen[:, k, 0].view(-1, 1, 1, 1)) ** 2 + (gy - cen[:, k, 1].view(-1, 1, 1, 1)) ** 2
                      <= rad[:, k].view(-1, 1, 1, 1) ** 2) & v
            overlay = torch.where(inside, col[:, k].view(-1, 3, 1, 1), overlay)
            a = alpha[:, k].view(-1, 1, 1, 1)
            out = torch.where(v, _r8(overlay * a + out * (1 - a)), out)
        vf = valid.to(torch.float32)
        max_alpha = (alpha * rad * vf).sum(1) / (rad * vf).sum(1).clamp_min(1e-12) * 5
        n = self.src_radius // 10
        if n > 0:
            frac = torch.linspace(0, 1, n, device=dev) if n > 1 else torch.zeros(1, device=dev)
            alphas = frac.view(1, -1) * max_alpha.clamp_max(1.0).view(-1, 1)
            radii = torch.linspace(1, self.src_radius, n, device=dev, dtype=torch.float64).floor().float()
            fc = params["flare_center"].to(dev)
            d2 = (gx - fc[:, 0].view(-1, 1, 1, 1)) ** 2 + (gy - fc[:, 1].view(-1, 1, 1, 1)) ** 2
            src = _const(self.src_color, str(dev))
            # out_{i+1} = a_i ov_i + (1 - a_i) out_i, ov_i = src inside disc i, else the image before
            # the discs (O0): the recursion is linear, so out = (1 - S_j) O0 + S_j src with
            # S_j = sum_{i >= j} a_i prod_{k > i} (1 - a_k) and j the first disc holding the pixel
            # (albumentations rounds each of the n blends to 8 bits; this rounds once).
            a = alphas.flip(1) ** 3  # a_i = alpha[n - 1 - i]^3
            keep = torch.cat([torch.flip(torch.cumprod(torch.flip(1 - a, [1]), 1), [1])[:, 1:],
                              torch.ones(B, 1, device=dev)], 1)  # prod_{k > i} (1 - a_k)
            c = a * keep
            S = torch.cat([torch.flip(torch.cumsum(torch.flip(c, [1]), 1), [1]), torch.zeros(B, 1, device=dev)], 1)
            j = torch.searchsorted((radii**2).contiguous(), d2.reshape(-1).contiguous(), side="left").view(B, 1, H, W)
            w = S.gather(1, j.view(B, -1)).view(B, 1, H, W)
            out = _r8((1 - w) * out + w * src)
        return _from255(out, x)

    def extra_repr(self) -> str:
        return (f"flare_roi={self.flare_roi}, src_radius={self.src_radius}, src_color={self.src_color}, "
                f"angle_range={self.angle_range}, num_flare_circles_range={self.num_flare_circles_range}, "
                f"method={self.method!r}, " + super().extra_repr())


# -- shadow ---------------------------------------------------------------------------------------


def polygon_mask(vertices: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bool ``(B, S, H, W)``: pixels inside each polygon ``vertices`` ``(B, S, V, 2)`` (x, y), by the
    even-odd rule on the pixel grid, edges included (as OpenCV's ``fillPoly`` draws them)."""
    H, W = size
    v = vertices.to(torch.float32)
    a, b = v, torch.roll(v, -1, dims=2)
    gy = torch.arange(H, device=v.device, dtype=torch.float32).view(1, 1, 1, H, 1)
    gx = torch.arange(W, device=v.device, dtype=torch.float32).view(1, 1, 1, 1, W)
    ax, ay = a[..., 0, None, None], a[..., 1, None, None]
    bx, by = b[..., 0, None, None], b[..., 1, None, None]
    spans = ((ay <= gy) & (gy < by)) | ((by <= gy) & (gy < ay))
    xint = ax + (gy - ay) * (bx - ax) / torch.where(by == ay, torch.ones_like(by), by - ay)
    cross = spans & (xint <= gx + 0.5)
    inside = cross.sum(2) % 2 == 1
    # boundary pixels: within half a pixel of an edge
    ex, ey = bx - ax, by - ay
    L2 = (ex * ex + ey * ey).clamp_min(1e-12)
    t = (((gx - ax) * ex + (gy - ay) * ey) / L2).clamp(0, 1)
    dist2 = (gx - ax - t * ex) ** 2 + (gy - ay - t * ey) ** 2
    edge = (dist2 <= 0.25).any(2)
    return inside | edge


@register("transform", example=lambda: RandomShadow(p=1.0))
class RandomShadow(RandomTransform):
    """Shadows (albumentations ``RandomShadow``/``add_shadow``): ``num_shadows`` in
    ``num_shadows_limit`` polygons of ``shadow_dimension`` random vertices in ``shadow_roi``, each
    darkening its pixels by ``1 - intensity`` (intensity uniform in ``shadow_intensity_range``).

    Parameters: ``vertices`` ``(B, S, V, 2)``, ``intensities`` ``(B, S)``, ``valid`` ``(B, S)``.
    """

    def __init__(
        self,
        shadow_roi: tuple[float, float, float, float] = (0, 0.5, 1, 1),
        num_shadows_limit: tuple[int, int] = (1, 2),
        shadow_dimension: int = 5,
        shadow_intensity_range: tuple[float, float] = (0.5, 0.5),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.shadow_roi = _roi(shadow_roi, owner=o, name="shadow_roi", strict=False)
        lo, hi = _pair(num_shadows_limit, owner=o, name="num_shadows_limit", low=1, integer=True)
        self.num_shadows_limit = (int(lo), int(hi))
        self.shadow_dimension = int(check_number(shadow_dimension, owner=o, name="shadow_dimension", low=3, integer=True))
        self.shadow_intensity_range = _pair(shadow_intensity_range, owner=o, name="shadow_intensity_range", low=0, high=1)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        lo, hi = self.num_shadows_limit
        num = self._randint(x, hi - lo + 1, generator=generator) + lo
        x0, y0, x1, y1 = (int(c * d) for c, d in zip(self.shadow_roi, (W, H, W, H)))
        u = self._rand(x, hi, self.shadow_dimension, 2, generator=generator)
        vx = x0 + torch.floor(u[..., 0] * max(x1 - x0, 1))
        vy = y0 + torch.floor(u[..., 1] * max(y1 - y0, 1))
        inten = self._uniform(x, self.shadow_intensity_range[0], self.shadow_intensity_range[1], hi, generator=generator)
        valid = torch.arange(hi, device=x.device).view(1, -1) < num.view(-1, 1)
        return {"vertices": torch.stack([vx, vy], -1).long(), "intensities": inten, "valid": valid}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        B, C, H, W = x.shape
        y = _to255(x)
        if x.dtype != torch.uint8:
            y = _r8(y)
        masks = polygon_mask(params["vertices"].to(x.device), (H, W)) & params["valid"].to(x.device).view(B, -1, 1, 1)
        inten = params["intensities"].to(x.device, torch.float32)
        for s in range(masks.shape[1]):
            dark = (1 - inten[:, s]).view(-1, 1, 1, 1)
            y = torch.where(masks[:, s : s + 1], torch.floor(y * dark), y)
        return _from255(y, x)

    def extra_repr(self) -> str:
        return (f"shadow_roi={self.shadow_roi}, num_shadows_limit={self.num_shadows_limit}, "
                f"shadow_dimension={self.shadow_dimension}, shadow_intensity_range={self.shadow_intensity_range}, "
                + super().extra_repr())


# -- spatter --------------------------------------------------------------------------------------


def spatter_rain_drops(liquid: torch.Tensor, intensity: torch.Tensor, color: torch.Tensor) -> torch.Tensor:
    """albumentations 2.0.8 ``get_rain_params``: drops ``(B, 3, H, W)`` ([0, 1] scale) from a cut liquid
    layer ``(B, 1, H, W)``, per-sample ``intensity`` ``(B,)`` and ``color`` ``(1, 3, 1, 1)`` in [0, 1].

    The dtypes follow the peer's as it runs, not as its comments read: after the first blur the
    distance map stays float32 (``clip(dist, np.uint8, inplace=True)`` only clips to [0, 255]), so
    ``equalize`` (``@uint8_io``) sees it as a [0, 1] float image: ``rint(d * 255)`` saturated to
    uint8, equalised, divided by 255. The emboss ``filter2D`` then runs in float and is clipped to
    [0, 1] (``convolve`` is ``@clipped``, float32's range), and the last blur runs in float (no
    rounding). Quantising those stages to uint8 instead (as an earlier
    version did) made the drops about 0.75x as strong as the peer's.
    """
    b, dev = liquid.shape[0], liquid.device
    lq = torch.floor((liquid * 255).clamp(0, 255))
    edges = O.canny(lq, 50.0, 150.0)
    dist = O.chamfer_distance(edges, 20.0)
    dist = _cv_gaussian_blur(dist, 3, torch.ones(b, device=dev), "replicate").clamp(0, 255)
    dist = O.equalize_hist(torch.round(dist * 255).clamp(0, 255)) / 255
    ker = _const((-2.0, -1, 0, -1, 1, 1, 0, 1, 2), str(dev), (1, 3, 3))
    dist = O.filter2d(dist, ker).clamp(0, 1)  # the peer's convolve is @clipped: [0, 1] for float32
    dist = _cv_gaussian_blur(dist, 5, torch.full((b,), 1.5, device=dev), "replicate")
    m = lq * dist
    mx = m.amax((2, 3), keepdim=True)
    m = torch.where(mx > 0, m / mx.clamp_min(1e-12), torch.zeros_like(m))
    return m * color * (intensity.view(-1, 1, 1, 1) * 0.9)


@register("transform", example=lambda: Spatter(p=1.0))
class Spatter(RandomTransform):
    """Rain or mud spatter (albumentations ``Spatter``; Hendrycks & Dietterich's ImageNet-C spatter).

    A liquid layer ``N(mean, std)`` is blurred (OpenCV Gaussian, ``ksize = 2 round(3 sigma) + 1``,
    replicate border) and cut at ``cutout_threshold``. ``mode="rain"`` (``get_rain_params``): Canny
    edges, distance transform (cut at 20), blurs, histogram equalisation and an emboss filter shape
    drops of ``color`` (default (238, 238, 175)) scaled by ``0.9 * intensity``, added to the image.
    ``mode="mud"`` (``get_mud_params``): the thresholded mask blurred (``sigma``), normalised and
    scaled by ``intensity`` mixes ``color`` (default (20, 42, 63)) in: ``x (1 - m) + m color``.

    Parameters: ``mean``, ``std``, ``sigma``, ``cutout_threshold``, ``intensity`` ``(B,)`` and the
    layer: ``drops`` (rain) or ``mud`` ``(B, 3, H, W)`` on the [0, 1] scale.
    """

    def __init__(
        self,
        mean: float | tuple[float, float] = (0.65, 0.65),
        std: float | tuple[float, float] = (0.3, 0.3),
        gauss_sigma: float | tuple[float, float] = (2, 2),
        cutout_threshold: float | tuple[float, float] = (0.68, 0.68),
        intensity: float | tuple[float, float] = (0.6, 0.6),
        mode: str = "rain",
        color: tuple[int, ...] | None = None,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.mean = _pair(mean, owner=o, name="mean", low=0, high=1)
        self.std = _pair(std, owner=o, name="std", low=0, high=1)
        self.gauss_sigma = _pair(gauss_sigma, owner=o, name="gauss_sigma", low=0)
        self.cutout_threshold = _pair(cutout_threshold, owner=o, name="cutout_threshold", low=0, high=1)
        self.intensity = _pair(intensity, owner=o, name="intensity", low=0, high=1)
        if mode not in ("rain", "mud"):
            raise ValueError(f"{o}: mode must be 'rain' or 'mud'; got {mode!r}")
        self.mode = mode
        self.color = _color(color, owner=o, name="color") if color is not None else (
            (238, 238, 175) if mode == "rain" else (20, 42, 63))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        dev = x.device
        mean, std, thr, sigma, inten = (self._uniform(x, r[0], r[1], generator=generator) for r in
                                        (self.mean, self.std, self.cutout_threshold, self.gauss_sigma, self.intensity))
        b = x.shape[0]
        liquid = self._expand(torch.randn((self._batch(x), 1, H, W), generator=generator, device=dev), b)
        liquid = liquid * std.view(-1, 1, 1, 1) + mean.view(-1, 1, 1, 1)
        ks = int(2 * round(3 * self.gauss_sigma[1]) + 1)
        k = _cv_gauss(ks, sigma)
        own = 2 * torch.round(3 * sigma.double()) + 1  # each sample's own OpenCV ksize
        t = torch.arange(ks, device=dev).view(1, -1) - ks // 2
        k = torch.where(t.abs() <= own.view(-1, 1) // 2, torch.exp(-(t.double() ** 2) / (2 * sigma.double().view(-1, 1) ** 2)).float(),
                        torch.zeros_like(k))
        k = torch.where(sigma.view(-1, 1) > 0, k / k.sum(1, keepdim=True).clamp_min(1e-12), (t == 0).float())
        liquid = O.sep_filter(liquid, k, k, "replicate")
        liquid = torch.where(liquid < thr.view(-1, 1, 1, 1), torch.zeros_like(liquid), liquid)
        color = _const(self.color, str(dev)) / 255
        out = {"mean": mean, "std": std, "sigma": sigma, "cutout_threshold": thr, "intensity": inten}
        if self.mode == "rain":
            out["drops"] = spatter_rain_drops(liquid, inten, color)
        else:
            mask = (liquid > thr.view(-1, 1, 1, 1)).float()
            fallback = (torch.rand(mask.shape, generator=generator, device=dev) < 0.1).float()
            mask = torch.where(mask.amax((2, 3), keepdim=True) > 0, mask, fallback)
            ksz = int(round(self.gauss_sigma[1] * 8 + 1)) | 1
            kk = _cv_gauss(ksz, sigma.clamp_min(1e-6))
            blurred = O.sep_filter(mask, kk, kk, "replicate")
            mask = torch.where(sigma.view(-1, 1, 1, 1) > 0, blurred, mask)
            mask = mask / mask.amax((2, 3), keepdim=True).clamp_min(1e-12) * inten.view(-1, 1, 1, 1)
            out["mud"] = mask * color
        return out

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _rgb3(x, type(self).__name__)
        xf = x.to(torch.float32) / 255 if x.dtype == torch.uint8 else x.to(torch.float32)
        if self.mode == "rain":
            y = xf + params["drops"].to(x.device)
        else:
            mud = params["mud"].to(x.device)
            color = _const(self.color, str(x.device)) / 255
            non_mud = torch.where(color > 0, ((color - mud) / color.clamp_min(1e-12)).clamp(0, 1),
                                  1 - mud.amax(1, keepdim=True))
            y = xf * non_mud + mud
        y = y.clamp(0, 1)
        if x.dtype == torch.uint8:
            return torch.floor(y * 255 + 0.5).to(torch.uint8)
        return y.to(x.dtype)

    def extra_repr(self) -> str:
        return (f"mean={self.mean}, std={self.std}, gauss_sigma={self.gauss_sigma}, "
                f"cutout_threshold={self.cutout_threshold}, intensity={self.intensity}, mode={self.mode!r}, "
                f"color={self.color}, " + super().extra_repr())
