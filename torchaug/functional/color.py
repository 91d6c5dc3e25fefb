"""Batched colour kernels with per-sample parameters: ``(x, params) -> x``. No randomness.

Every kernel takes an image batch ``x`` of shape ``(B, C, H, W)`` (``uint8`` in [0, 255] or
floating in [0, 1]) and per-sample parameters as ``(B,)`` tensors (a Python number is broadcast
to the batch). The output has the input's shape, dtype, device and memory format.

The maths follows ``torchvision.transforms.v2.functional`` sample by sample, including its
``uint8`` rounding: results are truncated to integers after each operation (torchvision casts
with ``.to(torch.uint8)``), hue and gamma convert back with ``x * 255.999`` truncated, sharpness
and blur round. ``float16``/``bfloat16`` images are processed in ``float32`` and cast back.
Operations whose maths leaves the valid range (brightness, contrast, saturation, sharpness,
gamma with a gain) clamp to ``[0, 1]`` / ``[0, 255]``, as torchvision does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import functools
import itertools
import math

import torch
import torch.nn.functional as F

from torchaug._validation import describe, value_checks_enabled
from torchaug._cpu.narrow import narrow_uint8_
from torchaug._devpath import cpu_path
from torchaug._cpu.parallel import copy_like, parallel_for
from torchaug.functional._workspace import as_device_tensor
from torchaug.functional._workspace import constant as _constant
from torchaug._cpu.scratch import scratch as _scratch

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "adjust_hue",
    "adjust_gamma",
    "adjust_sharpness",
    "color_jitter",
    "color_jitter_fused",
    "color_map_fused",
    "apply_color_map",
    "rgb_to_grayscale",
    "invert",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
    "normalize",
]

_GRAY = (0.2989, 0.587, 0.114)
#: the ``float -> uint8`` scale torchvision uses (``to_dtype(..., scale=True)``)
_TO_UINT8 = 255.0 + 1.0 - 1e-3


# -- helpers ------------------------------------------------------------------------------
def _per_sample(v: torch.Tensor | float | int, x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A per-sample parameter as a ``(B, 1, 1, 1)`` tensor on ``x``'s device."""
    dtype = dtype or (x.dtype if x.is_floating_point() else torch.float32)
    if not isinstance(v, torch.Tensor):
        v = _constant(float(v), x.device)
    v = v.to(device=x.device, dtype=dtype)
    if v.ndim == 0:
        v = v.expand(x.shape[0])
    return v.reshape(-1, 1, 1, 1)


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def _to_work(x: torch.Tensor) -> tuple[torch.Tensor, float, bool]:
    """``x`` as a floating tensor in its own value scale: (work, bound, is_uint8). May alias ``x``."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32), 255.0, True
    if x.dtype in (torch.float16, torch.bfloat16):
        return x.to(torch.float32), 1.0, False
    return x, 1.0, False


def _keep_format(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if like.ndim == 4 and not like.is_contiguous() and like.is_contiguous(memory_format=torch.channels_last):
        return out.contiguous(memory_format=torch.channels_last)
    return out


def _from_work(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Cast a work tensor back to ``like``'s dtype (``uint8``: truncation; ``y`` must be in range
    and, for ``uint8``, private: it may be destroyed)."""
    if y.dtype == like.dtype:
        return _keep_format(y, like)
    return _keep_format(narrow_uint8_(y) if like.dtype == torch.uint8 else y.to(like.dtype), like)


def _uint8_bits_(y: torch.Tensor) -> torch.Tensor:
    """A private float32 buffer with values in [0, 255] as int32 whose low byte is the value rounded
    to nearest (destroys ``y``): ``y + 2**23`` stores it in the low mantissa bits. Narrowing the
    result to uint8 (``.to`` or ``copy_`` into a uint8 tensor) is ~4x faster on CPU than the float
    to uint8 conversion kernel; for integer values nothing is rounded."""
    return y.add_(8388608.0).view(torch.int32)


def _int_valued_to_uint8_(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Cast a private float32 buffer holding integers in [0, 255] to ``uint8`` (destroys ``y``)."""
    return _keep_format(_uint8_bits_(y).to(torch.uint8), like)


def _check_rgb(x: torch.Tensor, name: str) -> int:
    c = x.shape[-3]
    if c not in (1, 3):
        raise ValueError(f"{name}: x must have 1 or 3 channels; got {c} channels (shape {tuple(x.shape)})")
    return c


def _gray(xf: torch.Tensor, integer: bool) -> torch.Tensor:
    """Luma ``(B, 1, H, W)`` as torchvision computes it (floored for ``uint8`` data)."""
    if xf.shape[1] == 1:
        return xf
    r, g, b = xf[:, 0:1], xf[:, 1:2], xf[:, 2:3]
    gray = r.mul(_GRAY[0]).add_(g, alpha=_GRAY[1]).add_(b, alpha=_GRAY[2])
    return gray.floor_() if integer else gray


def _finish_(y: torch.Tensor, bound: float, integer: bool) -> torch.Tensor:
    """Clamp to the valid range and, for ``uint8`` data, truncate (what ``.to(uint8)`` does)."""
    y = y.clamp_(0.0, bound)
    return y.floor_() if integer else y


def _one_minus(ratio: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``1 - ratio`` rounded as torchvision's Python-float ``alpha=1.0 - ratio`` (in double, then
    cast to ``dtype``, default ``ratio.dtype``)."""
    return (1.0 - ratio.to(torch.float64)).to(dtype or ratio.dtype)


def _blend_(x: torch.Tensor, ref: torch.Tensor, ratio: torch.Tensor, bound: float, integer: bool) -> torch.Tensor:
    """``x * ratio + ref * (1 - ratio)`` clamped (torchvision's ``_blend``, same rounding); a new
    tensor. ``ratio`` may be float64 (the exact factor), cast to ``x``'s dtype for the product."""
    out = x * ratio.to(x.dtype)
    out = torch.addcmul(out, _row_operand(ref, x), _one_minus(ratio, x.dtype), out=out)
    return _finish_(out, bound, integer)


def _row_operand(ref: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``ref`` of shape ``(n, 1, 1, 1)`` as a contiguous ``(n, 1, 1, W)`` row, for an ``addcmul``
    whose other factor is per sample too: with two operands broadcast along every inner dim the
    CPU kernel drops to its scalar loop (~9x slower); one row keeps it vectorised. Same values."""
    if ref.ndim == 4 and ref.shape[1:] == (1, 1, 1) and x.shape[-1] > 1:
        return ref.expand(*ref.shape[:3], x.shape[-1]).contiguous()
    return ref


# -- work-domain steps (float data in its own scale), shared with ColorJitter ---------------
def _brightness_w(xf: torch.Tensor, f: torch.Tensor, bound: float, integer: bool) -> torch.Tensor:
    return _finish_(xf * f, bound, integer)


def _contrast_w(xf: torch.Tensor, f: torch.Tensor, bound: float, integer: bool) -> torch.Tensor:
    mean = _gray(xf, integer).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend_(xf, mean, f, bound, integer)


def _saturation_w(xf: torch.Tensor, f: torch.Tensor, bound: float, integer: bool) -> torch.Tensor:
    if xf.shape[1] == 1:
        return xf
    return _blend_(xf, _gray(xf, integer), f, bound, integer)


def _hue_w(
    xf: torch.Tensor, f: torch.Tensor, bound: float, integer: bool, inplace: bool = False, spare: torch.Tensor | None = None
) -> torch.Tensor:
    """Hue rotation through HSV, in closed form, for every pixel at once (in place if ``inplace``).

    With ``max``, ``min`` and ``range = max - min`` of each pixel, HSV's hue ``h`` in sixths of a
    turn is ``(g - b) / range`` when red is a maximum, ``2 + (b - r) / range`` when green is,
    ``4 + (r - g) / range`` when blue is. With ``hi = max(g, b)``, ``lo = min(g, b)``,
    ``s = [hi > r]`` and ``sigma = sign(g - b)`` the three cases are one expression,
    ``h = sigma * (s ? lo - r - range : hi - lo) / range + 3 s`` (ties between channels give
    the same hue either way). The shifted hue ``h' = (h + 6 * hue_factor) mod 6`` gives the
    new channels ``min + range * w(h')`` with the trapezoids ``w_R = clamp(|h' - 3| - 1, 0, 1)``,
    ``w_G = clamp(min(h', 4 - h'), 0, 1)``, ``w_B = clamp(2 - |h' - 4|, 0, 1)``: the same values
    as torchvision's ``_rgb_to_hsv`` -> shift -> ``_hsv_to_rgb`` (which go through ``p, q, t``),
    up to float rounding (``uint8``: at most one grey level, on well under 1% of the values).

    About 44 operations on ``(B, 1, H, W)`` planes, written with arithmetic only (comparisons as
    ``sign`` or as ``gt`` into a float buffer, ``floor`` for the modulo): on CPU, bool tensors,
    ``where`` and ``remainder`` cost several times more than the arithmetic they replace.
    The planes are the kernel's own scratch buffers (``hue_*``); ``spare``: a free ``(B, 1, H, W)``
    plane of ``xf``'s dtype the caller owns, used for one of them (a smaller working set).
    """
    if xf.shape[1] == 1:
        return xf if inplace else xf.clone()
    y = xf if inplace else xf.clone()
    r, g, b = y[:, 0:1], y[:, 1:2], y[:, 2:3]
    plane = (y.shape[0], 1, *y.shape[2:])

    def buf(name: str) -> torch.Tensor:
        return _scratch(name, plane, y.dtype, y.device)

    hi = torch.maximum(g, b, out=buf("hue_hi") if spare is None else spare)
    lo = torch.minimum(g, b, out=buf("hue_lo"))
    mn = torch.minimum(r, lo, out=buf("hue_mn"))
    rng = torch.maximum(r, hi, out=buf("hue_rng")).sub_(mn)
    s = torch.gt(hi, r, out=buf("hue_s"))  # 1.0 where g or b is above r
    h = hi.sub_(lo)  # numerator when red is a maximum (hi's buffer)
    nb = lo.sub_(r).sub_(rng).sub_(h)  # other numerator minus that one (lo's buffer)
    h.addcmul_(nb, s)
    h.mul_(torch.sub(g, b, out=nb).sign_())
    h.div_(rng).nan_to_num_(0.0)  # range 0 (grey): numerator 0, 0 / 0 -> hue 0
    h.add_(s, alpha=3.0).add_(6.0 * f)
    h.sub_(torch.mul(h, 1.0 / 6.0, out=s).floor_(), alpha=6.0)  # mod 6 -> [0, 6]
    if integer:
        # torchvision: to float in [0, 1], HSV round trip, back with ``* 255.999`` truncated
        # (no clamp needed: min <= out <= max <= 255, and 255 * 255.999 / 255 < 256)
        k = _TO_UINT8 / 255.0
        mn.mul_(k)
        rng.mul_(k)
    w = s  # plane buffer for the weights
    torch.sub(h, 3.0, out=w).abs_().sub_(1.0).clamp_(0.0, 1.0)
    torch.addcmul(mn, w, rng, out=r)
    torch.minimum(h, torch.neg(h, out=w).add_(4.0), out=w).clamp_(0.0, 1.0)
    torch.addcmul(mn, w, rng, out=g)
    torch.sub(h, 4.0, out=w).abs_().neg_().add_(2.0).clamp_(0.0, 1.0)
    torch.addcmul(mn, w, rng, out=b)
    return y.floor_() if integer else y.clamp_(0.0, bound)


# -- public kernels ----------------------------------------------------------------------
def adjust_brightness(x: torch.Tensor, brightness_factor: torch.Tensor | float) -> torch.Tensor:
    """Multiply every sample by its ``brightness_factor`` (``(B,)``, >= 0), clamped.

    Matches ``torchvision.transforms.v2.functional.adjust_brightness`` per sample.
    """
    xf, bound, integer = _to_work(x)
    return _from_work(_brightness_w(xf, _per_sample(brightness_factor, xf), bound, integer), x)


def adjust_contrast(x: torch.Tensor, contrast_factor: torch.Tensor | float) -> torch.Tensor:
    """Blend each sample with the mean of its greyscale image: ``x * c + mean * (1 - c)``, clamped."""
    _check_rgb(x, "adjust_contrast")
    xf, bound, integer = _to_work(x)
    return _from_work(_contrast_w(xf, _per_sample(contrast_factor, xf, torch.float64), bound, integer), x)


def adjust_saturation(x: torch.Tensor, saturation_factor: torch.Tensor | float) -> torch.Tensor:
    """Blend each sample with its greyscale image: ``x * s + gray * (1 - s)``, clamped (1 channel: identity)."""
    _check_rgb(x, "adjust_saturation")
    xf, bound, integer = _to_work(x)
    return _from_work(_saturation_w(xf, _per_sample(saturation_factor, xf, torch.float64), bound, integer), x)


def adjust_hue(x: torch.Tensor, hue_factor: torch.Tensor | float) -> torch.Tensor:
    """Rotate each sample's hue by ``hue_factor`` turns (``(B,)`` in [-0.5, 0.5]) in HSV space."""
    _check_rgb(x, "adjust_hue")
    xf, bound, integer = _to_work(x)
    return _from_work(_hue_w(xf, _per_sample(hue_factor, xf), bound, integer), x)


#: ColorJitter op indices (torchvision's ``fn_idx`` numbering)
BRIGHTNESS, CONTRAST, SATURATION, HUE = 0, 1, 2, 3
_Factor = Union[torch.Tensor, None]


def _check_order(order: torch.Tensor, x: torch.Tensor, owner: str) -> torch.Tensor:
    """``order`` as int64 on ``x``'s device; it must be ``(B, 4)`` with values in ``0..3``
    (a value check, see :mod:`torchaug._validation`)."""
    B = x.shape[0]
    order = order.to(device=x.device, dtype=torch.long)
    if order.shape != (B, 4):
        raise ValueError(f"{owner}: order must have shape (B, 4) = ({B}, 4); got {tuple(order.shape)}")
    if B and value_checks_enabled(order):
        lo, hi = (int(v) for v in torch.aminmax(order))
        if lo < 0 or hi > 3:
            raise ValueError(f"{owner}: order must hold operation indices 0..3; got values in [{lo}, {hi}]")
    return order


@copy_like
def color_jitter(
    x: torch.Tensor,
    brightness_factor: torch.Tensor | None,
    contrast_factor: torch.Tensor | None,
    saturation_factor: torch.Tensor | None,
    hue_factor: torch.Tensor | None,
    order: torch.Tensor,
    *,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Brightness, contrast, saturation and hue, each sample in its own order, in one pass.

    ``order`` is ``(B, 4)``: a permutation of ``0..3`` (brightness, contrast, saturation, hue,
    torchvision's ``fn_idx``) per sample. A factor given as ``None`` disables that operation.
    The result equals, sample by sample, torchvision's ``ColorJitter.transform`` with that
    sample's factors and order (uint8 exact, or off by one grey level where float rounding
    differs at a truncation boundary; float within 1e-5).

    Vectorised without a loop over samples: brightness, contrast and saturation are all
    ``x * a + ref * (1 - a)`` with ``ref`` = 0, the mean grey level or the grey image, so one
    "slot" applies whichever of the three each sample has at that point (identity where it has
    none). Hue, the expensive step, runs once over the batch: each sample's operations before its
    hue go in the three slots before it (right-aligned), those after it in the three slots after
    (left-aligned).

    On CPU the batch runs through a scheduler that skips the identity work, in cache-sized chunks
    over threads (:func:`torchaug.functional._color_fast.color_jitter_chunked`, a registered fast
    path of the one-pass :func:`_color_jitter`, equal bit for bit). On other devices the
    whole batch is one pass over all six slots.
    """
    _check_rgb(x, "color_jitter")
    _check_out(out, x, "color_jitter")
    if not _chunked_applies(x):
        res = _color_jitter(x, brightness_factor, contrast_factor, saturation_factor, hue_factor, order)
        return res if out is None else out.copy_(res)
    return color_jitter_chunked(x, brightness_factor, contrast_factor, saturation_factor, hue_factor, order, out=out)


@functools.lru_cache(maxsize=32)
def _order_table(enabled: tuple[bool, ...], device: torch.device) -> torch.Tensor:
    """Slot layout of every ``order`` row and set of active operations: int64 ``(2048, 9)``
    indexed by ``8 (64 o0 + 16 o1 + 4 o2 + o3) + m``, where bit ``k`` of ``m`` says that operation
    ``k`` (brightness, contrast, saturation) is active for the sample (see :func:`_jitter_plan`).

    Columns 0-2: the active operations before the hue, right-aligned in three slots; 3-5: those
    after it, left-aligned (without hue, all of them); code 3 marks an empty slot (identity).
    Column 6: how many operations come before the hue; 7: 1 if the row is a permutation of
    0..3; 8: how many come after it. Disabled operations are left out.
    """
    table = [[3] * 6 + [0, 0, 0] for _ in range(2048)]
    for order in itertools.permutations(range(4)):
        code = 64 * order[0] + 16 * order[1] + 4 * order[2] + order[3]
        for mask in range(8):
            active = [enabled[o] and (o == HUE or bool(mask >> o & 1)) for o in range(4)]
            cut = order.index(HUE) if enabled[HUE] else 0
            first = [o for o in order[:cut] if active[o]]
            rest = [o for o in order[cut:] if o != HUE and active[o]]
            table[8 * code + mask] = [3] * (3 - len(first)) + first + rest + [3] * (3 - len(rest)) + [len(first), 1,
                                                                                                      len(rest)]
    return torch.tensor(table, dtype=torch.long, device=device)


class _JitterPlan:
    """Per-sample parameters of a ColorJitter batch (see :func:`color_jitter`).

    ``slots``: ``(6, 4, B, 1, 1, 1)``: for the three slots before the hue and the three after
    it, the factor ``a``, ``1 - a`` (rounded as torchvision), and 0/1 indicators for a
    saturation slot (reference: the grey image) and a contrast slot (reference: its mean).
    ``codes``: ``(B, 6)`` the operation in each slot (3: none); ``n_before``, ``n_after``:
    ``(B,)`` how many slots before and after the hue a sample uses; ``hue``: ``(B, 1, 1, 1)`` or None.
    """

    def __init__(self, slots, codes, hue, n_before, n_after, bound, integer) -> None:
        self.slots, self.codes, self.hue = slots, codes, hue
        self.n_before, self.n_after, self.bound, self.integer = n_before, n_after, bound, integer

    def select(self, idx: torch.Tensor) -> "_JitterPlan":
        hue = None if self.hue is None else self.hue.index_select(0, idx)
        return _JitterPlan(self.slots.index_select(2, idx), self.codes.index_select(0, idx), hue,
                           self.n_before.index_select(0, idx), self.n_after.index_select(0, idx), self.bound,
                           self.integer)


def _jitter_plan(
    x: torch.Tensor,
    brightness_factor: torch.Tensor | None,
    contrast_factor: torch.Tensor | None,
    saturation_factor: torch.Tensor | None,
    hue_factor: torch.Tensor | None,
    order: torch.Tensor,
) -> _JitterPlan:
    """The slots of every sample. On ``uint8`` data a brightness, contrast or saturation factor of
    exactly 1 leaves the sample as it is (``x * 1 + ref * 0``, already integer and in range), so
    it is left out of the sample's slots (RandomPhotometricDistort passes 1 for an op not drawn);
    on float data it still runs (its clamp to ``[0, 1]`` may change values outside the range)."""
    B, C = x.shape[:2]
    wdt = _work_dtype(x)
    bound, integer = (255.0, True) if x.dtype == torch.uint8 else (1.0, False)
    order = _check_order(order, x, "color_jitter")
    given = (brightness_factor, contrast_factor, saturation_factor, hue_factor)
    enabled = [f is not None for f in given]
    if C == 1:  # saturation and hue leave one-channel images unchanged (as torchvision / PIL)
        enabled[SATURATION] = enabled[HUE] = False
    ref = torch.empty(B, 1, 1, 1, device=x.device, dtype=wdt)  # dtype/device of the per-sample factors
    ones = torch.ones(B, device=x.device, dtype=wdt)
    fac = torch.stack([_per_sample(f, ref).view(B) if e else ones for e, f in zip(enabled[:3], given[:3])] + [ones], 1)
    key = (order * _constant((512, 128, 32, 8), x.device)).sum(1)
    if integer:
        key = key + ((fac[:, :3] != 1.0).long() * _constant((1, 2, 4), x.device)).sum(1)
    else:
        key = key + 7
    row = _order_table(tuple(enabled), x.device).index_select(0, key)
    if B and value_checks_enabled(order) and not bool(row[:, 7].all()):
        raise ValueError("color_jitter: order must hold a permutation of 0..3 in every row")
    codes = row[:, :6]
    a = fac.gather(1, codes)  # (B, 6) factor per slot (1 for an empty slot)
    slots = torch.stack([a, _one_minus(a), (codes == SATURATION).to(wdt), (codes == CONTRAST).to(wdt)])
    slots = slots.permute(2, 0, 1).reshape(6, 4, B, 1, 1, 1)
    hue = _per_sample(hue_factor, ref) if enabled[HUE] else None
    return _JitterPlan(slots, codes, hue, row[:, 6], row[:, 8], bound, integer)


def _gray_plane(y: torch.Tensor) -> torch.Tensor:
    """The ``(n, 1, H, W)`` scratch plane of the ColorJitter slots' grey image (free between slots)."""
    return _scratch("jitter_gray", (y.shape[0], 1, *y.shape[2:]), y.dtype, y.device)


def _jitter_rows_(y: torch.Tensor, plan: _JitterPlan, s: int, r0: int, r1: int, offset: int, needs) -> None:
    """Slot ``s`` of the plan on its rows ``r0:r1``, held in rows ``r0 - offset:r1 - offset`` of
    ``y`` (in place); ``needs`` from :meth:`_JitterPlan.needs` at ``r0`` and ``r1`` (None: compute
    both references)."""
    if r1 <= r0:
        return
    if needs is None:
        has_con = has_sat = True
    else:
        has_con, has_sat = needs[r1][s] > needs[r0][s], needs[r1][6 + s] > needs[r0][6 + s]
    a, one_minus, sat, con = plan.slots[s, :, r0:r1].unbind(0)
    if r0 != offset or r1 - offset != y.shape[0]:
        y = y[r0 - offset : r1 - offset]
    if has_con or has_sat:
        # brightness: ref = 0; contrast: ref = mean grey; saturation: ref = grey image; then
        # x * a, and + ref * (1 - a) in one addcmul: torchvision's rounding (``_blend``)
        if y.shape[1] == 3:
            n, _, h, w = y.shape
            r, g, b = y.unbind(1)
            gray = torch.mul(r, _GRAY[0], out=_gray_plane(y).squeeze(1)).unsqueeze(1)
            gray.add_(g.unsqueeze(1), alpha=_GRAY[1]).add_(b.unsqueeze(1), alpha=_GRAY[2])
            if plan.integer:
                gray.floor_()
        else:
            gray = y  # one channel: the image is its own grey plane, never written below
        ref = con * gray.mean(dim=(-2, -1), keepdim=True) if has_con else None
        if has_sat:  # gray * 1 + 0 or gray * 0 + mean: exact (two binary ops beat one addcmul here)
            scaled = gray.mul_(sat) if gray is not y else gray * sat  # in place only on the scratch plane
            ref = scaled if ref is None else scaled.add_(ref)
        y.mul_(a)
        torch.addcmul(y, _row_operand(ref, y), one_minus, out=y)  # ``add_(ref, alpha=1 - a)``: torchvision's rounding
    else:
        y.mul_(a)
    _finish_(y, plan.bound, plan.integer)


def _color_jitter(x: torch.Tensor, *factors_and_order: torch.Tensor | None) -> torch.Tensor:
    """:func:`color_jitter` (same arguments) on the whole batch in one pass: three slots before
    and three after the hue, whatever each sample's order (the path for GPUs, and the reference
    of the CPU path's tests)."""
    plan = _jitter_plan(x, *factors_and_order)
    B = x.shape[0]
    xf, _, _ = _to_work(x)
    y = xf.clone() if xf is x else xf  # private work buffer, updated in place
    for s in range(3):
        _jitter_rows_(y, plan, s, 0, B, 0, None)
    if plan.hue is not None:
        y = _hue_w(y, plan.hue, plan.bound, plan.integer, inplace=True)
    for s in range(3):
        _jitter_rows_(y, plan, 3 + s, 0, B, 0, None)
    # uint8: y holds integers in [0, 255] (every step truncates), so the fast exact cast applies
    return _int_valued_to_uint8_(y, x) if plan.integer else _from_work(y, x)


@copy_like
def color_jitter_fused(
    x: torch.Tensor, brightness_factor: _Factor, contrast_factor: _Factor, saturation_factor: _Factor,
    hue_factor: _Factor, order: torch.Tensor, *, out: torch.Tensor | None = None,
) -> torch.Tensor:
    """ColorJitter as one per-sample affine colour map ``x -> M x + o`` (same arguments as
    :func:`color_jitter`): fast, and **not** bit-equal to torchvision.

    Brightness (``b I``), contrast (blend with the mean grey level, which is an affine function
    of the image's channel means, so it is known before any pixel is touched), saturation
    (``s I + (1 - s) 1 w^T`` with the luma weights ``w``) and hue are all affine maps of RGB;
    composed in each sample's order they give one ``3 x 3`` matrix and one offset per sample,
    applied in one batched matrix product, then clamped once (``uint8``: rounded to nearest).
    Hue is a rotation of RGB space about the grey axis by ``2 pi hue_factor`` (exactly
    torchvision's HSV shift for the six primary and secondary colours at multiples of 1/3 turn;
    elsewhere it keeps the luma-free part of the colour on a circle, where HSV moves it on a
    hexagon). Differences from the default (torchvision's) maths: no clamping or ``uint8``
    truncation between the four steps, the contrast mean is not floored, hue by rotation. Use it
    when the exact torchvision replay does not matter (training-time jitter). CPU, uint8, one
    thread (2026-12-04): 64x3x224x224 9.5 ms against the exact path's 16.0 ms without hue and
    34.6 ms with it; 256x3x32x32 1.4 against 1.9 / 4.0 ms.
    """
    _check_rgb(x, "color_jitter_fused")
    _check_out(out, x, "color_jitter_fused")
    order = _check_order(order, x, "color_jitter_fused")
    if x.shape[0] == 0:
        return x.clone() if out is None else out
    M, P = _color_map(x, brightness_factor, contrast_factor, saturation_factor, hue_factor, order)
    return apply_color_map(x, M, P, out=out)


def color_map_fused(
    x: torch.Tensor, brightness_factor: _Factor, contrast_factor: _Factor, saturation_factor: _Factor,
    hue_factor: _Factor, order: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The per-sample affine colour map of :func:`color_jitter_fused` (same arguments), ``y = M x + P mu``
    with ``mu`` the image's channel means: ``M`` and ``P`` ``(B, C, C)`` float32 (float64 for float64
    images), ``P`` None without contrast. No pixel is read: every step is linear in the pixels and
    in their means, so each contrast step's mean grey level ``w (M_t mu + P_t mu)`` folds into
    ``P``; :func:`apply_color_map` takes the means in its pass over the pixels."""
    _check_rgb(x, "color_map_fused")
    return _color_map(x, brightness_factor, contrast_factor, saturation_factor, hue_factor,
                      _check_order(order, x, "color_map_fused"))


def _color_map(
    x: torch.Tensor, brightness_factor: _Factor, contrast_factor: _Factor, saturation_factor: _Factor,
    hue_factor: _Factor, order: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`color_map_fused` with ``order`` checked."""
    B, C = x.shape[:2]
    dev = x.device
    wdt = torch.float64 if x.dtype == torch.float64 else torch.float32
    ref = torch.empty(B, 1, 1, 1, device=dev, dtype=wdt)
    facs = [None if f is None else _per_sample(f, ref).view(B) for f in
            (brightness_factor, contrast_factor, saturation_factor, hue_factor)]
    if C == 1:  # saturation and hue leave one-channel images unchanged
        facs[SATURATION] = facs[HUE] = None
    eye = torch.eye(C, device=dev, dtype=wdt).expand(B, C, C)
    w = _constant(_GRAY if C == 3 else (1.0,), dev, wdt)  # luma weights
    # the linear part of each operation, (B, 5, C, C): brightness, contrast, saturation, hue, identity
    lin = [eye] * 5
    if facs[BRIGHTNESS] is not None:
        lin[BRIGHTNESS] = facs[BRIGHTNESS].view(B, 1, 1) * eye
    if facs[CONTRAST] is not None:  # plus the offset (1 - c) * current mean grey level, below
        lin[CONTRAST] = facs[CONTRAST].view(B, 1, 1) * eye
    if facs[SATURATION] is not None:
        s = facs[SATURATION].view(B, 1, 1)
        lin[SATURATION] = s * eye + (1.0 - s) * torch.ones(C, 1, device=dev, dtype=wdt) * w
    if facs[HUE] is not None:  # Rodrigues rotation about (1, 1, 1) / sqrt(3)
        theta = 2.0 * math.pi * facs[HUE].view(B, 1, 1)
        cross = _constant(((0.0, -1.0, 1.0), (1.0, 0.0, -1.0), (-1.0, 1.0, 0.0)), dev, wdt)
        lin[HUE] = torch.cos(theta) * eye + (1.0 - torch.cos(theta)) / 3.0 + torch.sin(theta) / math.sqrt(3.0) * cross
    lin = torch.stack(lin, dim=1)
    enabled = _constant(tuple(f is not None for f in facs) + (True,), dev)
    codes = torch.where(enabled[order], order, 4)  # disabled operations: identity
    bidx = torch.arange(B, device=dev)
    M = eye.clone()
    P = torch.zeros(B, C, C, device=dev, dtype=wdt) if facs[CONTRAST] is not None else None
    for pos in range(4):
        A = lin[bidx, codes[:, pos]]  # (B, C, C)
        if P is not None:  # contrast: + (1 - c) * (mean grey level w (M + P) mu) on every channel
            k = (codes[:, pos] == CONTRAST).to(wdt).mul_(1.0 - facs[CONTRAST]).view(B, 1, 1)
            P = A @ P + k * (w.view(1, 1, C) @ (M + P))
        M = A @ M
    return M, P


@copy_like
def apply_color_map(x: torch.Tensor, M: torch.Tensor, P: torch.Tensor | None = None, *,
                    out: torch.Tensor | None = None) -> torch.Tensor:
    """``clamp(M x + P mu)`` per pixel, ``mu`` ``(B, C, 1)`` each sample's channel means: ``x``
    ``(B, C, H, W)``, ``M``, ``P`` ``(B, C, C)`` (float32, or float64 for float64 images; on the
    image's scale; ``P`` None: no mean term); ``uint8`` rounded to nearest. In cache-sized chunks
    of samples over the threads, each chunk converted to float once for its means and its map;
    ``out`` may be ``x``."""
    _check_rgb(x, "apply_color_map")
    _check_out(out, x, "apply_color_map")
    B, C = x.shape[:2]
    dev = x.device
    wdt = torch.float64 if x.dtype == torch.float64 else torch.float32
    for name, m in (("M", M), ("P", P)):
        if (m is not None or name == "M") and (not isinstance(m, torch.Tensor) or m.shape != (B, C, C) or m.dtype != wdt):
            raise ValueError(f"apply_color_map: {name} must be a {wdt} tensor of shape (B, C, C) = ({B}, {C}, {C}) "
                             f"for this image batch; got {describe(m)}")
    M, P = M.to(dev), None if P is None else P.to(dev)
    bound = 255.0 if x.dtype == torch.uint8 else 1.0
    final = out
    out = torch.empty_like(x) if final is None else final  # each chunk reads its rows before writing them

    def one(ij: tuple[int, int]) -> None:
        i, j = ij
        shape = (j - i, C, x[0, 0].numel())
        part = _scratch("jitter_fused_in", shape, wdt, dev).copy_(x[i:j].reshape(shape))
        y = _scratch("jitter_fused_out", shape, wdt, dev)
        if P is None:
            torch.bmm(M[i:j], part, out=y)
        else:
            torch.baddbmm(P[i:j] @ part.sum(-1, keepdim=True).div_(float(shape[-1])), M[i:j], part, out=y)
        y.clamp_(0.0, bound)
        out[i:j].copy_((_uint8_bits_(y) if x.dtype == torch.uint8 else y).view(j - i, *x.shape[1:]))

    parallel_for(one, _chunks(x), dev, work_bytes=_work_bytes(x))
    return out if final is not None else _keep_format(out, x)


def _check_out(out: torch.Tensor | None, x: torch.Tensor, name: str) -> None:
    """``out=`` of the ColorJitter kernels: a tensor like ``x`` (``x`` itself included)."""
    if out is None:
        return
    if not isinstance(out, torch.Tensor) or out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
        raise ValueError(
            f"{name}: out must be a tensor of the input's shape {tuple(x.shape)}, dtype {x.dtype} and device "
            f"{x.device}; got {describe(out)}"
        )


def rgb_to_grayscale(x: torch.Tensor, num_output_channels: int | None = None) -> torch.Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (torchvision's weights), repeated to
    ``num_output_channels`` (default: as many channels as the input)."""
    c = _check_rgb(x, "rgb_to_grayscale")
    n = c if num_output_channels is None else num_output_channels
    if n not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels must be 1 or 3; got {n!r}")
    if c == 1:
        out = x.expand(-1, n, -1, -1).clone() if n != 1 else x.clone()
        return _keep_format(out, x)
    xf, _, _ = _to_work(x)
    gray = _gray(xf, integer=False)
    return _from_work(gray.expand(-1, n, -1, -1).contiguous(), x)


def invert(x: torch.Tensor) -> torch.Tensor:
    """``255 - x`` for ``uint8``, ``1 - x`` for floats."""
    return x.bitwise_not() if x.dtype == torch.uint8 else 1.0 - x


def posterize(x: torch.Tensor, bits: torch.Tensor | int) -> torch.Tensor:
    """Keep each sample's ``bits`` (``(B,)`` ints in [0, 8]) most significant bits.

    ``uint8``: bit mask; float: ``floor(x * 2**bits).clamp(max=2**bits - 1) / 2**bits``
    (torchvision's float formula).
    """
    if not isinstance(bits, torch.Tensor):
        bits = _constant(int(bits), x.device)
    bits = bits.to(device=x.device, dtype=torch.int32)
    if bits.ndim == 0:
        bits = bits.expand(x.shape[0])
    if x.dtype == torch.uint8:
        mask = (255 << (8 - bits)) & 255  # bits=8 -> 255, bits=0 -> 0
        return x & mask.to(torch.uint8).view(-1, 1, 1, 1)
    xf, _, _ = _to_work(x)
    levels = torch.pow(2.0, bits.to(xf.dtype)).view(-1, 1, 1, 1)
    out = (xf * levels).floor_().clamp_(min=torch.zeros_like(levels), max=levels - 1).div_(levels)
    return _from_work(out, x)


def solarize(x: torch.Tensor, threshold: torch.Tensor | float) -> torch.Tensor:
    """Invert the values ``>= threshold`` (``(B,)``, in the image's scale: [0, 1] or [0, 255])."""
    t = _per_sample(threshold, x, dtype=torch.float32 if x.dtype == torch.uint8 else x.dtype)
    if x.dtype != torch.uint8:
        return torch.where(x >= t, invert(x), x)
    # integers: x >= t exactly when x >= ceil(t); compared in uint8 and flipped by XOR with 0 or 255
    # (thresholds above 255 flip nothing): ~3x fewer bytes moved than the float comparison and where
    flip = (x >= t.ceil().clamp(0, 255).to(torch.uint8)).logical_and_(t <= 255)
    return x.bitwise_xor(flip.view(torch.uint8).neg_())


def adjust_gamma(x: torch.Tensor, gamma: torch.Tensor | float, gain: torch.Tensor | float = 1.0) -> torch.Tensor:
    """``gain * x ** gamma`` on the [0, 1] scale per sample, clamped (torchvision's ``adjust_gamma``)."""
    xf, _, integer = _to_work(x)
    if integer:
        xf = xf.mul_(1.0 / 255.0)
    out = xf.pow(_per_sample(gamma, xf))
    if not (isinstance(gain, (int, float)) and gain == 1.0):
        out = out.mul_(_per_sample(gain, xf)).clamp_(0.0, 1.0)
    if integer:
        out = out.mul_(_TO_UINT8)
    return _from_work(out, x)


def _smooth_integer(xf: torch.Tensor) -> torch.Tensor:
    """PIL's smoothing kernel on integer-valued float32 data, rounded: ``(B, C, H, W) -> (B, C, H-2, W-2)``.

    The kernel is the 3x3 box plus 4x the centre, over 13; the box is separable (two shifted adds
    per axis, exact on integers). The quotient's fractional part is ``k / 13``, never within 0.03 of
    one half, so this rounds to the same integers as torchvision's ``conv2d`` with the float
    weights followed by ``round()`` (checked against that in the tests), at a fraction of a
    grouped convolution's cost on the CPU.
    """
    row = xf[..., 1:-1].add(xf[..., :-2]).add_(xf[..., 2:])
    box = row[..., 1:-1, :].add(row[..., :-2, :]).add_(row[..., 2:, :])
    return box.add_(xf[..., 1:-1, 1:-1], alpha=4.0).div_(13.0).round_()


def adjust_sharpness(x: torch.Tensor, sharpness_factor: torch.Tensor | float) -> torch.Tensor:
    """Blend each sample with its smoothed version (PIL's 3x3 kernel ``[1 1 1; 1 5 1; 1 1 1] / 13``)
    by ``sharpness_factor`` (``(B,)``, >= 0; 0 blurs, 1 is identity, 2 sharpens), borders kept."""
    _check_rgb(x, "adjust_sharpness")
    B, C, H, W = x.shape
    if H <= 2 or W <= 2:
        return x.clone()
    xf, bound, integer = _to_work(x)
    if integer:
        blurred = _smooth_integer(xf)
    else:
        a, b = 1.0 / 13.0, 5.0 / 13.0
        k = _constant(((a, a, a), (a, b, a), (a, a, a)), x.device, xf.dtype).expand(C, 1, 3, 3)
        blurred = F.conv2d(xf, k, groups=C)
    out = xf if integer else xf.clone()  # uint8: xf is already a private float copy
    view = out[..., 1:-1, 1:-1]
    f = _per_sample(sharpness_factor, xf, dtype=torch.float64)
    view.addcmul_(blurred.sub_(view), _one_minus(f, xf.dtype))  # torchvision: add_(..., alpha=1 - f)
    out = out.clamp_(0.0, bound)
    return _from_work(out, x)


def autocontrast(x: torch.Tensor) -> torch.Tensor:
    """Stretch every channel of every sample to the full range (min -> 0, max -> max value)."""
    xf, bound, _ = _to_work(x)
    mn = xf.amin(dim=(-2, -1), keepdim=True)
    mx = xf.amax(dim=(-2, -1), keepdim=True)
    eq = mx == mn
    inv_scale = torch.where(eq, torch.ones_like(mx), (mx - mn) * (1.0 / bound))
    mn = torch.where(eq, torch.zeros_like(mn), mn)
    out = (xf - mn).div_(inv_scale).clamp_(0.0, bound)
    return _from_work(out, x)


def equalize(x: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation of every channel of every sample (PIL's / torchvision's LUT scheme).

    All ``(B * C, 256)`` histograms are built at once (on CPU one ``bincount`` of int32 bin
    indices, elsewhere one ``scatter_add_``, which reads nothing back) and every channel's LUT is
    applied in one gather; floats are binned through ``uint8`` as torchvision does.
    """
    B, C, H, W = x.shape
    n = B * C
    img = x if x.dtype == torch.uint8 else x.to(torch.float32).mul(_TO_UINT8).to(torch.uint8)
    if cpu_path(x):  # int32 indices: half the bytes of int64, and bincount beats scatter_add_ on CPU
        off = torch.arange(0, n * 256, 256, dtype=torch.int32, device=x.device).view(B, C, 1, 1)
        flat = (img.contiguous().to(torch.int32) + off).view(-1)
        hist = torch.bincount(flat, minlength=n * 256).view(n, 256)
    else:
        flat = img.reshape(n, H * W).to(torch.long)
        hist = torch.zeros(n, 256, dtype=torch.int64, device=x.device)
        hist.scatter_add_(1, flat, torch.ones(1, dtype=torch.int64, device=x.device).expand_as(flat))
        flat = (flat + torch.arange(0, n * 256, 256, device=x.device).view(n, 1)).view(-1)
    cum = hist.cumsum(dim=1)
    last = cum.argmax(dim=1, keepdim=True)
    non_max = H * W - hist.gather(1, last)
    step = torch.div(non_max, 255, rounding_mode="floor")
    lut = (cum[:, :-1] + step // 2).div_(step.clamp(min=1), rounding_mode="floor").clamp_(0, 255).to(torch.uint8)
    lut = torch.cat([torch.zeros(n, 1, dtype=torch.uint8, device=x.device), lut], dim=1)
    identity = torch.arange(256, dtype=torch.uint8, device=x.device).expand(n, 256)
    lut = torch.where(step.ne(0), lut, identity)  # a channel of (nearly) one value is left as it is
    out = lut.view(-1).index_select(0, flat).view(B, C, H, W)
    if x.dtype != torch.uint8:
        out = out.to(x.dtype).mul_(1.0 / 255.0)
    return _keep_format(out, x)


def normalize(
    x: torch.Tensor, mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor
) -> torch.Tensor:
    """``(x - mean) / std`` per channel (not clamped). ``uint8`` input is first scaled to
    ``float32`` in [0, 1]; floating input keeps its dtype."""
    xf = x.to(torch.float32).mul_(1.0 / 255.0) if x.dtype == torch.uint8 else x
    m = as_device_tensor(mean, x.device, xf.dtype).view(1, -1, 1, 1)
    s = as_device_tensor(std, x.device, xf.dtype).view(1, -1, 1, 1)
    return _keep_format((xf - m).div_(s), x)


# the CPU scheduler of ``color_jitter`` and ``color_jitter_fused`` (cache-sized chunks over threads)
from torchaug.functional._color_fast import _chunked_applies, _chunks, _work_bytes, color_jitter_chunked  # noqa: E402
