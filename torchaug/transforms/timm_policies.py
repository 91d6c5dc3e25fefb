"""timm's augmentation policies from their config strings, per sample over a batch.

``from_timm_string(config, img_size=224, mean=...)`` parses the strings of published timm configs
(``timm.data.auto_augment``) into batched transforms:

- ``rand-m9-mstd0.5-inc1`` ... :class:`TimmRandAugment` (Cubuk et al. 2020, timm's variant):
  ``m`` magnitude (0..10, default 10), ``n`` ops per image (2), ``p`` per-op probability (0.5),
  ``mstd`` gaussian magnitude noise (``inf`` or > 100: uniform in [0, m]), ``mmax`` upper clamp
  (10), ``inc1`` the "increasing" op set, ``t<name>`` the op set (``tweights``: weighted choice
  without replacement, ``t3a`` / ``t3aw``: DeiT III's set, plain / weighted), ``w<i>`` older timm's
  spelling of the weighted set.
- ``augmix-m3-w3-d-1-a1-b0`` ... :class:`TimmAugMix` (Hendrycks et al. 2020, timm's op set, which
  adds colour/contrast/brightness/sharpness to the paper's and uses timm's magnitude scaling and
  uniform magnitude noise by default): ``m`` severity, ``w`` width, ``d`` depth (``-1``: 1..3),
  ``a`` alpha, ``b`` blended, ``mstd``.
- ``3a`` (DeiT III, Touvron et al. ECCV 2022, "DeiT III: Revenge of the ViT"): one of solarize
  (threshold 128), greyscale, gaussian blur (radius U(0.1, 2)) per image.

An unknown section is a ``ValueError`` naming it (timm asserts). timm's ops are PIL's
(``ImageOps``/``ImageEnhance``/``Image.transform``); here they are batched tensor kernels, each
sample choosing its own ops, magnitudes and signs (timm draws per image with Python's ``random``):

- magnitudes map to arguments as timm's ``LEVEL_TO_ARG`` (``level / 10`` scaled; rotate 30 degrees,
  shear 0.3, relative translate 0.45 of the size, enhance ``1.8 l + 0.1`` or ``1 +- 0.9 l``,
  posterize ``int(0.4 l)`` bits (increasing: ``4 - ...``), solarize ``int(25.6 l)`` (increasing:
  ``256 - ...``), solarize-add ``int(11 l)``), with timm's random sign (probability 1/2);
- the geometric ops use PIL's output-to-input affine maps exactly (shear about the origin,
  sub-pixel translations, rotation about the centre), bilinear, pixels from outside filled with
  ``img_mean`` (timm: the dataset mean in uint8, default 128 grey). timm picks bilinear or
  bicubic at random per op; here it is always bilinear (the documented tolerance covers it);
- PIL's ``GaussianBlur(radius)`` is an extended box blur approximating a gaussian of
  ``sigma = radius``; here it is a true gaussian of that sigma.

Targets: TimmRandAugment moves masks, boxes and keypoints with its geometric ops; TimmAugMix refuses them
(a TypeError: a mix of moved copies has no single geometry); ThreeAugment (colour and blur only) passes them through.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from typing import Any

import torch

from torchaug._validation import check_choice, check_number, describe
from torchaug.functional import color as FC
from torchaug.functional import geometry as FG
from torchaug.functional import noise as FN
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug.transforms import targets as _t
from torchaug.transforms._base import Params, RandomTransform
from torchaug.transforms.policies import _ID, _run_into, _run_on, apply_op

__all__ = ["TIMM_OPS", "ThreeAugment", "TimmAugMix", "TimmRandAugment", "apply_timm_op", "from_timm_string", "timm_op_args"]

#: timm's op names (``timm.data.auto_augment.NAME_TO_OP``); the ``op`` parameters index into it
TIMM_OPS = (
    "AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "PosterizeIncreasing", "PosterizeOriginal",
    "Solarize", "SolarizeIncreasing", "SolarizeAdd", "Color", "ColorIncreasing", "Contrast", "ContrastIncreasing",
    "Brightness", "BrightnessIncreasing", "Sharpness", "SharpnessIncreasing", "ShearX", "ShearY", "TranslateX",
    "TranslateY", "TranslateXRel", "TranslateYRel", "Desaturate", "GaussianBlur", "GaussianBlurRand",
)
_T = {n: i for i, n in enumerate(TIMM_OPS)}
_SIGNED = ("Rotate", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing",
           "ShearX", "ShearY", "TranslateX", "TranslateY", "TranslateXRel", "TranslateYRel")
_GEOMETRIC = ("Rotate", "ShearX", "ShearY", "TranslateX", "TranslateY", "TranslateXRel", "TranslateYRel")

_RAND_TRANSFORMS = ("AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "SolarizeAdd", "Color",
                    "Contrast", "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")
_RAND_INCREASING = ("AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing", "SolarizeIncreasing",
                    "SolarizeAdd", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing",
                    "SharpnessIncreasing", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")
_RAND_3A = ("SolarizeIncreasing", "Desaturate", "GaussianBlur")
_RAND_WEIGHTED_3A = {"SolarizeIncreasing": 6, "Desaturate": 6, "GaussianBlur": 6, "Rotate": 3, "ShearX": 2, "ShearY": 2,
                     "PosterizeIncreasing": 1, "AutoContrast": 1, "ColorIncreasing": 1, "SharpnessIncreasing": 1,
                     "ContrastIncreasing": 1, "BrightnessIncreasing": 1, "Equalize": 1, "Invert": 1}
_RAND_WEIGHTED_0 = {"Rotate": 3, "ShearX": 2, "ShearY": 2, "TranslateXRel": 1, "TranslateYRel": 1, "ColorIncreasing": .25,
                    "SharpnessIncreasing": 0.25, "AutoContrast": 0.25, "SolarizeIncreasing": .05, "SolarizeAdd": .05,
                    "ContrastIncreasing": .05, "BrightnessIncreasing": .05, "Equalize": .05,
                    "PosterizeIncreasing": 0.05, "Invert": 0.05}
_AUGMIX_TRANSFORMS = ("AutoContrast", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing",
                      "SharpnessIncreasing", "Equalize", "Rotate", "PosterizeIncreasing", "SolarizeIncreasing",
                      "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")
_BLUR_KSIZE = 13  # covers sigma 2.0 (timm's largest radius) to 3 sigma


def _mask(op: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
    m = torch.zeros(op.shape, dtype=torch.bool, device=op.device)
    for n in names:
        m |= op == _T[n]
    return m


def timm_op_args(op: torch.Tensor, level: torch.Tensor, sign: torch.Tensor, size: tuple[int, int], *,
                 translate_const: float = 250.0, translate_pct: float = 0.45) -> torch.Tensor:
    """timm's ``LEVEL_TO_ARG`` per sample: ``op`` ``(B,)`` indices into :data:`TIMM_OPS`, ``level``
    ``(B,)`` magnitudes in [0, 10] (after noise and clamping), ``sign`` ``(B,)`` +-1 (timm's
    ``_randomly_negate``, used by the signed ops). Returns the op argument ``(B,)`` float64:
    degrees, shear factor, pixels, enhance factor, posterize bits, solarize threshold (0..256),
    solarize-add amount, desaturate's colour factor, blur radius (``GaussianBlurRand``: its upper
    bound ``2 * level / 10``; the radius itself is drawn by the policy)."""
    H, W = size
    lv = level.to(torch.float64) / 10.0
    s = sign.to(lv.dtype)
    out = torch.zeros_like(lv)

    def put(names: Sequence[str], value: torch.Tensor) -> None:
        nonlocal out
        out = torch.where(_mask(op, names), value, out)

    put(("Rotate",), lv * 30.0 * s)
    put(("Posterize",), torch.floor(lv * 4))
    put(("PosterizeIncreasing",), 4 - torch.floor(lv * 4))
    put(("PosterizeOriginal",), torch.floor(lv * 4) + 4)
    sol = torch.floor(lv * 256).clamp_max(256)
    put(("Solarize",), sol)
    put(("SolarizeIncreasing",), 256 - sol)
    put(("SolarizeAdd",), torch.floor(lv * 110).clamp_max(128))
    put(("Color", "Contrast", "Brightness", "Sharpness"), lv * 1.8 + 0.1)
    put(("ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing"),
        (1.0 + s * lv * 0.9).clamp_min(0.1))
    put(("ShearX", "ShearY"), lv * 0.3 * s)
    put(("TranslateX", "TranslateY"), lv * float(translate_const) * s)
    put(("TranslateXRel",), lv * translate_pct * s * W)
    put(("TranslateYRel",), lv * translate_pct * s * H)
    put(("Desaturate",), (1.0 - (0.5 + 0.5 * lv).clamp(0.5, 1.0)).clamp(0.0, 1.0))
    put(("GaussianBlur",), (0.1 + 1.9 * lv).clamp(0.1, 2.0))
    put(("GaussianBlurRand",), 2.0 * lv.clamp(0.0, 1.0))
    return out


def _pil_inverse_matrix(op: torch.Tensor, arg: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PIL's output-to-input affine data ``(a, b, c, d, e, f)`` per sample as ``(B, 2, 3)`` (identity
    for the non-geometric ops): shear ``(1, f, 0, 0, 1, 0)``, translate ``(1, 0, t, 0, 1, 0)``,
    ``Image.rotate`` about ``(W / 2, H / 2)``."""
    H, W = size
    a = arg.to(torch.float64)
    one, zero = torch.ones_like(a), torch.zeros_like(a)
    phi = -torch.deg2rad(torch.where(op == _T["Rotate"], a, zero))
    cos, sin = torch.cos(phi), torch.sin(phi)
    cx, cy = W / 2.0, H / 2.0
    rot = torch.stack([cos, sin, cos * -cx + sin * -cy + cx, -sin, cos, -sin * -cx + cos * -cy + cy], 1)
    sx = torch.where(op == _T["ShearX"], a, zero)
    sy = torch.where(op == _T["ShearY"], a, zero)
    tx = torch.where(_mask(op, ("TranslateX", "TranslateXRel")), a, zero)
    ty = torch.where(_mask(op, ("TranslateY", "TranslateYRel")), a, zero)
    lin = torch.stack([one, sx, tx, sy, one, ty], 1)
    m = torch.where((op == _T["Rotate"]).unsqueeze(1), rot, lin)
    return m.view(-1, 2, 3)


def apply_timm_op(x: torch.Tensor, op: torch.Tensor, arg: torch.Tensor, *, fill: Sequence[float] | float = 128.0,
                  radius: torch.Tensor | None = None) -> torch.Tensor:
    """Apply to each sample ``b`` timm's op ``TIMM_OPS[op[b]]`` with argument ``arg[b]``
    (:func:`timm_op_args`); ``radius`` ``(B,)``: the drawn radius of ``GaussianBlurRand``.

    ``x`` ``(B, C, H, W)`` uint8 (float images in [0, 1] work too: thresholds scale by 1/255);
    ``fill`` on the uint8 scale (timm's ``img_mean``). PIL semantics, see the module docstring.
    """
    B, C, H, W = x.shape
    dev = x.device
    op = op.to(device=dev, dtype=torch.long)
    arg = arg.to(device=dev, dtype=torch.float64)
    integer = x.dtype == torch.uint8
    scale = 1.0 if integer else 1.0 / 255.0

    def sel(t: torch.Tensor, i: torch.Tensor | None) -> torch.Tensor:
        return t if i is None else t.index_select(0, i)

    geo = _mask(op, _GEOMETRIC)
    # the ops torchvision shares with PIL: through the policies' kernels (torchvision's meaning)
    tv_op = torch.full_like(op, _ID["Identity"])
    tv_mag = torch.zeros_like(arg)
    for names, tv_name, mag in (
        (("AutoContrast",), "AutoContrast", None),
        (("Equalize",), "Equalize", None),
        (("Invert",), "Invert", None),
        (("Posterize", "PosterizeIncreasing", "PosterizeOriginal"), "Posterize", arg.clamp(0, 8)),
        (("Solarize", "SolarizeIncreasing"), "Solarize", arg / 255.0),
        (("Color", "ColorIncreasing", "Desaturate"), "Color", arg - 1.0),
        (("Contrast", "ContrastIncreasing"), "Contrast", arg - 1.0),
        (("Brightness", "BrightnessIncreasing"), "Brightness", arg - 1.0),
        (("Sharpness", "SharpnessIncreasing"), "Sharpness", arg - 1.0),
    ):
        m = _mask(op, names)
        tv_op = torch.where(m, _ID[tv_name], tv_op)
        if mag is not None:
            tv_mag = torch.where(m, mag, tv_mag)
    out, owned = apply_op(x, tv_op, tv_mag), False  # (Identity: a copy) for the samples of the other ops
    # geometric: PIL's output-to-input maps, written into the samples that chose them
    matrix = _pil_inverse_matrix(op, arg, (H, W))
    f = [float(v) * scale for v in fill] if isinstance(fill, Sequence) else float(fill) * scale
    out, owned = _run_into(x, out, owned, geo, lambda s, i: FG.affine(s, sel(matrix, i), interpolation="bilinear", fill=f, inverse=True))
    # solarize-add: pixels below 128 get + add, clipped at 255 (PIL's lookup table)
    sa = op == _T["SolarizeAdd"]
    bound = 255.0 if integer else 1.0

    def solarize_add(s: torch.Tensor, i: torch.Tensor | None) -> torch.Tensor:
        xf = s.to(torch.float32)
        add = sel(arg, i).to(torch.float32).view(-1, 1, 1, 1) * scale
        y = torch.where(xf < 128.0 * scale, (xf + add).clamp_max(bound), xf)
        return y.to(s.dtype)

    out, owned = _run_into(x, out, owned, sa, solarize_add)
    # gaussian blur (PIL's radius as sigma)
    blur = _mask(op, ("GaussianBlur", "GaussianBlurRand"))
    r = torch.where(op == _T["GaussianBlurRand"], radius.to(dev, torch.float64) if radius is not None else arg, arg)

    def gauss(s: torch.Tensor, i: torch.Tensor | None) -> torch.Tensor:
        sig = sel(r, i).clamp_min(1e-3).to(torch.float32)
        k = min(_BLUR_KSIZE, 2 * ((min(H, W) - 1) // 2) + 1)
        return FN.gaussian_blur(s, (k, k), sig)

    out, owned = _run_into(x, out, owned, blur, gauss)
    return FC._keep_format(out if out is not x else x.clone(), x)


@functools.lru_cache(maxsize=64)
def _op_ids(names: tuple[str, ...], device: torch.device) -> torch.Tensor:
    return torch.tensor([_T[n] for n in names], device=device)


class _TimmBase(RandomTransform):
    __torchaug_public__ = False
    geometric = False

    def __init__(self, *, magnitude: float, magnitude_std: float, magnitude_max: float | None,
                 img_mean: Sequence[float] | float, translate_const: float, translate_pct: float, p: float) -> None:
        super().__init__(p=p)
        o = type(self).__name__
        self.magnitude = float(check_number(magnitude, owner=o, name="magnitude", low=0.0))
        if isinstance(magnitude_std, (int, float)) and not isinstance(magnitude_std, bool) and magnitude_std == math.inf:
            self.magnitude_std = math.inf  # timm: uniform magnitudes in [0, magnitude]
        else:
            self.magnitude_std = float(check_number(magnitude_std, owner=o, name="magnitude_std", low=0.0))
        self.magnitude_max = None if magnitude_max is None else float(check_number(magnitude_max, owner=o, name="magnitude_max", low=0.0))
        if isinstance(img_mean, (int, float)) and not isinstance(img_mean, bool):
            img_mean = (float(img_mean),)
        if not isinstance(img_mean, Sequence) or not all(isinstance(v, (int, float)) and 0 <= v <= 255 for v in img_mean):
            raise TypeError(f"{o}: img_mean must be a number or per-channel numbers in [0, 255] (timm's uint8 fill); got {describe(img_mean)}")
        self.img_mean = tuple(float(v) for v in img_mean)
        self.translate_const = float(check_number(translate_const, owner=o, name="translate_const", low=0.0))
        self.translate_pct = float(check_number(translate_pct, owner=o, name="translate_pct", low=0.0))

    def _levels(self, x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None,
                base: torch.Tensor | None = None) -> torch.Tensor:
        """timm's ``AugmentOp`` magnitude: noise (uniform for ``inf``, else gaussian), clamped to [0, mmax or 10]."""
        m = torch.full((x.shape[0], *shape), self.magnitude, dtype=torch.float64, device=x.device) if base is None else base
        if self.magnitude_std == math.inf:
            m = m * self._rand(x, *shape, generator=generator).to(torch.float64)
        elif self.magnitude_std > 0:
            z = torch.randn((x.shape[0], *shape), generator=generator, device=x.device).to(torch.float64)
            m = m + self.magnitude_std * z
        return m.clamp(0.0, self.magnitude_max or 10.0)

    def _signs(self, x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
        return torch.where(self._rand(x, *shape, generator=generator) > 0.5, -1.0, 1.0).to(torch.float64)

    def _radius(self, x: torch.Tensor, arg: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        # GaussianBlurRand: radius ~ U(0.1, 2 * level / 10)
        u = self._rand(x, *arg.shape[1:], generator=generator).to(torch.float64)
        return 0.1 + u * (arg - 0.1)

    def _apply_steps(self, x: torch.Tensor, op: torch.Tensor, arg: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
        if x.shape[1] not in (1, 3):
            raise ValueError(f"{type(self).__name__}: x must have 1 or 3 channels (timm's PIL 'L' or 'RGB' images); "
                             f"got {x.shape[1]} channels")
        for k in range(op.shape[1]):
            x = apply_timm_op(x, op[:, k], arg[:, k], fill=self.img_mean if x.shape[1] == len(self.img_mean) else self.img_mean[0],
                              radius=radius[:, k])
        return x

    def _draw_args(self, x: torch.Tensor, op: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        shape = tuple(op.shape[1:])
        level = self._levels(x, shape, generator)
        sign = self._signs(x, shape, generator)
        H, W = x.shape[-2:]
        arg = timm_op_args(op.flatten(), level.flatten(), sign.flatten(), (H, W), translate_const=self.translate_const,
                           translate_pct=self.translate_pct).view(op.shape)
        return arg, self._radius(x, arg, generator)


# example fill 0: the shared target tests find the object against a black background (timm fills grey 128)
@register("transform", example=lambda: TimmRandAugment(img_mean=0))
class TimmRandAugment(_TimmBase):
    """timm's RandAugment (``rand-...`` strings; Cubuk et al. 2020 with timm's op set and scaling).

    ``num_layers`` ops per image from ``ops`` (names of :data:`TIMM_OPS`), uniformly with
    replacement, or, with ``weights``, without replacement in proportion to them (timm's
    ``np.random.choice(replace=False, p=...)``); each applied with probability ``prob`` at magnitude
    ``magnitude`` (noise ``magnitude_std``, clamp ``magnitude_max``). **Per sample**: each sample
    draws its own ops, gates, magnitudes and signs. Parameters: ``op`` ``(B, num_layers)`` indices
    into :data:`TIMM_OPS` (-1: the step did not fire), ``arg`` (the op arguments), ``radius``, ``apply``.
    Masks, boxes and keypoints move with the geometric ops (the same PIL maps; masks nearest, fill 0).
    """

    geometric = True

    def __init__(self, magnitude: float = 10.0, num_layers: int = 2, prob: float = 0.5, *,
                 ops: Sequence[str] = _RAND_TRANSFORMS, weights: Sequence[float] | None = None, magnitude_std: float = 0.0,
                 magnitude_max: float | None = None, img_mean: Sequence[float] | float = (128, 128, 128),
                 translate_const: float = 250.0, translate_pct: float = 0.45, p: float = 1.0) -> None:
        super().__init__(magnitude=magnitude, magnitude_std=magnitude_std, magnitude_max=magnitude_max, img_mean=img_mean,
                         translate_const=translate_const, translate_pct=translate_pct, p=p)
        o = type(self).__name__
        self.num_layers = int(check_number(num_layers, owner=o, name="num_layers", low=0, integer=True))
        self.prob = float(check_number(prob, owner=o, name="prob", low=0.0, high=1.0))
        self.ops = tuple(check_choice(n, TIMM_OPS, owner=o, name="ops") for n in ops)
        if not self.ops:
            raise ValueError(f"{o}: ops must name at least one of timm's ops; got an empty list")
        if weights is not None:
            weights = tuple(float(check_number(w, owner=o, name="weights", low=0.0)) for w in weights)
            if len(weights) != len(self.ops) or sum(weights) <= 0:
                raise ValueError(f"{o}: weights must give one positive-sum weight per op ({len(self.ops)}); got {weights}")
            if self.num_layers > sum(w > 0 for w in weights):
                raise ValueError(f"{o}: num_layers={self.num_layers} ops without replacement need as many ops of positive weight")
        self.weights = weights

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        ids = _op_ids(self.ops, x.device)
        n, K = self.num_layers, len(self.ops)
        if self.weights is None:
            k = (self._rand(x, n, generator=generator) * K).floor().long().clamp_max(K - 1)
        else:  # weighted sampling without replacement: the n largest of log(w) + Gumbel noise
            logw = constant(tuple(math.log(w) if w > 0 else -math.inf for w in self.weights), x.device, torch.float32)
            u = self._rand(x, K, generator=generator).clamp_min(1e-12)
            k = (logw - torch.log(-torch.log(u))).topk(n, dim=1).indices
        op = ids[k]
        fire = self._rand(x, n, generator=generator) <= self.prob if self.prob < 1.0 else torch.ones_like(op, dtype=torch.bool)
        arg, radius = self._draw_args(x, op, generator)
        return {"op": torch.where(fire, op, -1), "arg": arg, "radius": radius}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return self._apply_steps(x, params["op"], params["arg"], params["radius"])

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        op, arg = params["op"].to(m.device), params["arg"]
        size = tuple(m.shape[-2:])
        for k in range(op.shape[1]):
            geo = _mask(op[:, k], _GEOMETRIC)
            inv = _pil_inverse_matrix(op[:, k], arg[:, k].to(m.device), size)
            m = _run_on(m, m, geo, lambda s, i: FG.affine(s, inv if i is None else inv.index_select(0, i),
                                                          interpolation="nearest", fill=0, inverse=True))
        return m

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        op, arg = params["op"].to(points.device), params["arg"]
        for k in range(op.shape[1]):
            inv = _pil_inverse_matrix(op[:, k], arg[:, k].to(points.device), size)
            points = FG.affine_points(points, FG._invert_affine(inv))
        return points

    def extra_repr(self) -> str:
        return (f"magnitude={self.magnitude}, num_layers={self.num_layers}, prob={self.prob}, ops={list(self.ops)}, "
                f"weights={self.weights}, magnitude_std={self.magnitude_std}, magnitude_max={self.magnitude_max}, "
                + super().extra_repr())


@register("transform", example=lambda: TimmAugMix())
class TimmAugMix(_TimmBase):
    """timm's AugMix (``augmix-...`` strings; ``timm.data.auto_augment.AugMixAugment``).

    ``width`` chains of ``depth`` ops (``-1``: 1..3 per chain) drawn with replacement from timm's
    13 AugMix ops (the paper's 9 plus colour/contrast/brightness/sharpness, "increasing"
    versions), magnitude ``magnitude`` with uniform noise (timm's default ``mstd=inf``);
    ``w ~ Dirichlet(alpha)``, ``m ~ Beta(alpha, alpha)``. ``blended=False``: ``mixed = clip(sum_i
    w_i chain_i)`` truncated to uint8, output ``(1 - m) x + m mixed`` (PIL's ``Image.blend``);
    ``blended=True``: timm's sequential blend, ``x <- (1 - a_i) x + a_i chain_i`` with its
    recomputed weights. **Per sample** draws. Parameters: ``op`` ``(B, width, max_depth)`` (-1 past
    a chain's depth), ``arg``, ``radius``, ``weights`` ``(B, width)``, ``m`` ``(B,)``, ``apply``.
    Samples with targets (masks, boxes, keypoints) raise a ``TypeError``: a mix of moved copies has no
    single geometry.
    """

    geometric = True  # so that targets reach _move_targets (which refuses them)

    def __init__(self, magnitude: float = 3.0, width: int = 3, depth: int = -1, alpha: float = 1.0, *,
                 blended: bool = False, magnitude_std: float = math.inf, magnitude_max: float | None = None,
                 img_mean: Sequence[float] | float = (128, 128, 128), translate_const: float = 250.0,
                 translate_pct: float = 0.45, p: float = 1.0) -> None:
        super().__init__(magnitude=magnitude, magnitude_std=magnitude_std, magnitude_max=magnitude_max, img_mean=img_mean,
                         translate_const=translate_const, translate_pct=translate_pct, p=p)
        o = type(self).__name__
        self.width = int(check_number(width, owner=o, name="width", low=1, integer=True))
        self.depth = int(check_number(depth, owner=o, name="depth", low=-1, integer=True))
        if self.depth == 0:
            raise ValueError(f"{o}: depth must be positive or -1 (random 1..3); got 0")
        self.alpha = float(check_number(alpha, owner=o, name="alpha", low=0.0, low_inclusive=False))
        if not isinstance(blended, bool):
            raise TypeError(f"{o}: blended must be a bool; got {describe(blended)}")
        self.blended = blended

    def _move_targets(self, batch: dict, new: dict, params: Params, in_size: tuple, out_size: tuple) -> None:
        if not _t.has_targets(batch):
            return
        raise TypeError(f"{type(self).__name__} mixes differently moved copies of each image: masks, boxes and keypoints "
                        "cannot follow it (timm applies it to images only); apply it to the image alone")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        B = x.shape[0]
        k, D = self.width, (self.depth if self.depth > 0 else 3)
        ids = _op_ids(_AUGMIX_TRANSFORMS, x.device)
        K = ids.shape[0]
        conc = torch.full((B, k + 2), self.alpha, device=x.device)
        w = torch._sample_dirichlet(conc[:, :k], generator=generator)
        m = torch._sample_dirichlet(conc[:, k:], generator=generator)[:, 0]
        depth = (torch.full((B, k), D, device=x.device) if self.depth > 0
                 else (self._rand(x, k, generator=generator) * 3).floor().long().clamp_max(2) + 1)
        j = (self._rand(x, k, D, generator=generator) * K).floor().long().clamp_max(K - 1)
        live = torch.arange(D, device=x.device) < depth.unsqueeze(-1)
        op = torch.where(live, ids[j], -1)
        arg, radius = self._draw_args(x, ids[j], generator)
        return {"op": op, "arg": arg, "radius": radius, "weights": w, "m": m}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        op, arg, radius = params["op"], params["arg"], params["radius"]
        w, m = params["weights"].to(x.device, torch.float32), params["m"].to(x.device, torch.float32)
        B, k, D = op.shape
        chains = x.repeat(k, 1, 1, 1)
        flat = lambda t: t.to(x.device).transpose(0, 1).reshape(k * B, *t.shape[2:])  # noqa: E731
        chains = self._apply_steps(chains, flat(op), flat(arg), flat(radius))
        integer = x.dtype == torch.uint8
        bound = 255.0 if integer else 1.0
        shape = (B, 1, 1, 1)
        if not self.blended:
            mixed = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
            for i in range(k):
                mixed += w[:, i].reshape(shape) * chains[i * B:(i + 1) * B].to(torch.float32)
            mixed = mixed.clamp_(0.0, bound)
            if integer:
                mixed = mixed.trunc_()
            out = x.to(torch.float32) * (1 - m.reshape(shape)) + mixed * m.reshape(shape)
        else:  # timm's _calc_blended_weights: a_i = w_i m / prod_{j > i} (1 - a_j), blended last to first
            ws = w * m.unsqueeze(1)
            alphas = torch.empty_like(ws)
            cump = torch.ones_like(m)
            for i in range(k - 1, -1, -1):
                alphas[:, i] = ws[:, i] / cump
                cump = cump * (1 - alphas[:, i])
            out = x.to(torch.float32)
            for i in range(k):
                a = alphas[:, i].reshape(shape)
                out = out * (1 - a) + chains[i * B:(i + 1) * B].to(torch.float32) * a
                if integer:
                    out = out.round_()
        out = out.clamp_(0.0, bound)
        return (out.round_().to(torch.uint8) if integer else out.to(x.dtype))

    def extra_repr(self) -> str:
        return (f"magnitude={self.magnitude}, width={self.width}, depth={self.depth}, alpha={self.alpha}, "
                f"blended={self.blended}, magnitude_std={self.magnitude_std}, " + super().extra_repr())


@register("transform", example=lambda: ThreeAugment(p=0.5))
class ThreeAugment(_TimmBase):
    """DeiT III's 3-Augment (Touvron, Cord, Jégou, ECCV 2022; timm's ``3a`` AutoAugment policy):
    one of Solarize (magnitude 5: threshold 128), Desaturate (magnitude 10: greyscale),
    GaussianBlurRand (magnitude 10: radius U(0.1, 2)) per image, uniformly, always applied.
    Parameters: ``op`` ``(B, 1)`` indices into :data:`TIMM_OPS`, ``arg``, ``radius``, ``apply``."""

    def __init__(self, *, magnitude_std: float = 0.0, img_mean: Sequence[float] | float = (128, 128, 128), p: float = 1.0) -> None:
        super().__init__(magnitude=10.0, magnitude_std=magnitude_std, magnitude_max=None, img_mean=img_mean,
                         translate_const=250.0, translate_pct=0.45, p=p)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        ids = _op_ids(("Solarize", "Desaturate", "GaussianBlurRand"), x.device)
        k = (self._rand(x, 1, generator=generator) * 3).floor().long().clamp_max(2)
        op = ids[k]
        base = constant((5.0, 10.0, 10.0), x.device, torch.float64)[k]  # the sub-policies' magnitudes
        level = self._levels(x, (1,), generator, base=base)
        sign = self._signs(x, (1,), generator)
        H, W = x.shape[-2:]
        arg = timm_op_args(op.flatten(), level.flatten(), sign.flatten(), (H, W)).view(op.shape)
        return {"op": op, "arg": arg, "radius": self._radius(x, arg, generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return self._apply_steps(x, params["op"], params["arg"], params["radius"])


def _sections(config: str, kind: str) -> list[tuple[str, str]]:
    out = []
    for c in config.split("-")[1:]:
        if kind == "rand" and c.startswith("t"):
            out.append(("t", c[1:]))
            continue
        cs = re.split(r"(\d.*)", c)
        if len(cs) < 2:
            out.append((c, ""))  # e.g. the 'd' of 'd-1' (timm skips it too); checked below
            continue
        out.append((cs[0], cs[1]))
    return out


def from_timm_string(config: str, *, img_size: int | Sequence[int] = 224, mean: Sequence[float] | None = None,
                     translate_pct: float = 0.45) -> RandomTransform:
    """A batched transform for a timm augmentation string (``timm.data.create_transform``'s
    ``auto_augment=``): ``rand-...``, ``augmix-...`` or ``3a`` (see the module docstring).

    ``img_size`` and ``mean`` (the dataset mean on the [0, 1] scale) set timm's hparams as
    ``create_transform`` does: ``translate_const = int(0.45 * min(img_size))``, ``img_mean =
    round(255 * mean)`` (default 128 grey). An unknown policy or section raises ``ValueError``.
    """
    if not isinstance(config, str) or not config:
        raise TypeError(f"from_timm_string: config must be a timm augmentation string such as 'rand-m9-mstd0.5-inc1'; got {describe(config)}")
    size = min(img_size) if isinstance(img_size, Sequence) else img_size
    hp: dict[str, Any] = {"translate_const": int(size * 0.45), "translate_pct": translate_pct,
                          "img_mean": (128, 128, 128) if mean is None else tuple(min(255, round(255 * v)) for v in mean)}
    kind = config.split("-")[0]
    if kind == "rand":
        magnitude, n, prob, inc, mstd, mmax, tset = 10, 2, 0.5, False, 0.0, None, None
        for key, val in _sections(config, "rand"):
            try:
                if key == "t":
                    tset = val
                elif key == "mstd":
                    mstd = float(val)
                    mstd = math.inf if mstd > 100 else mstd
                elif key == "mmax":
                    mmax = int(val)
                elif key == "inc":
                    inc = bool(int(val))
                elif key == "m":
                    magnitude = int(val)
                elif key == "n":
                    n = int(val)
                elif key == "p":
                    prob = float(val)
                elif key == "w":  # older timm: a weight-set index (0: the only one)
                    if int(val) != 0:
                        raise ValueError
                    tset = "weights"
                else:
                    raise ValueError
            except ValueError:
                raise ValueError(f"from_timm_string: unknown RandAugment section {key + val!r} in {config!r} (known: m, n, p, "
                                 "mstd, mmax, inc, t<weights|3a|3aw>, w0)") from None
        weights = None
        if tset in (None, ""):
            ops: Sequence[str] = _RAND_INCREASING if inc else _RAND_TRANSFORMS
        elif tset == "weights":
            ops, weights = tuple(_RAND_WEIGHTED_0), tuple(_RAND_WEIGHTED_0.values())
        elif tset == "3aw":
            ops, weights = tuple(_RAND_WEIGHTED_3A), tuple(_RAND_WEIGHTED_3A.values())
        elif tset == "3a":
            ops = _RAND_3A
        else:
            raise ValueError(f"from_timm_string: unknown RandAugment transform set 't{tset}' in {config!r} (known: tweights, t3a, t3aw)")
        return TimmRandAugment(magnitude, n, prob, ops=ops, weights=weights, magnitude_std=mstd, magnitude_max=mmax,
                               img_mean=hp["img_mean"], translate_const=hp["translate_const"], translate_pct=translate_pct)
    if kind == "augmix":
        magnitude, width, depth, alpha, blended, mstd = 3, 3, -1, 1.0, False, math.inf
        secs = _sections(config, "augmix")
        for i, (key, val) in enumerate(secs):
            try:
                if key == "mstd":
                    mstd = float(val)
                elif key == "m":
                    magnitude = int(val)
                elif key == "w":
                    width = int(val)
                elif key == "d":
                    depth = int(val) if val else -1  # 'd-1' splits into 'd' and '1'
                elif key == "" and val == "1" and i > 0 and secs[i - 1] == ("d", ""):
                    depth = -1
                elif key == "a":
                    alpha = float(val)
                elif key == "b":
                    blended = bool(int(val))
                else:
                    raise ValueError
            except ValueError:
                raise ValueError(f"from_timm_string: unknown AugMix section {key + val!r} in {config!r} "
                                 "(known: m, w, d, a, b, mstd)") from None
        return TimmAugMix(magnitude, width, depth, alpha, blended=blended, magnitude_std=mstd, img_mean=hp["img_mean"],
                          translate_const=hp["translate_const"], translate_pct=translate_pct)
    if kind == "3a":
        mstd = 0.0
        for key, val in _sections(config, "3a"):
            if key == "mstd":
                mstd = float(val)
            else:
                raise ValueError(f"from_timm_string: unknown 3a section {key + val!r} in {config!r} (known: mstd)")
        return ThreeAugment(magnitude_std=mstd, img_mean=hp["img_mean"])
    raise ValueError(f"from_timm_string: unknown policy {kind!r} in {config!r} (known: 'rand-...', 'augmix-...', '3a')")
