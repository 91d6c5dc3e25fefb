"""Batched tone and colour kernels with per-sample parameters (albumentations / imgaug semantics).

Every kernel takes ``x`` of shape ``(B, C, H, W)``, ``uint8`` in [0, 255] or floating in [0, 1],
and per-sample parameter tensors with leading size ``B``; no randomness. The output keeps the
input's shape, dtype, device and memory format; values that leave the valid range are clamped.

``uint8`` rounding follows the peer each kernel names (albumentations 2.0.8 builds a float32
lookup table and truncates it, OpenCV rounds to nearest); ``float16``/``bfloat16`` are computed
in ``float32``.
"""

from __future__ import annotations

import functools
import math

import torch

from torchaug._devpath import cpu_path
from torchaug.functional.color import _keep_format, _uint8_bits_
from torchaug.functional._workspace import constant

__all__ = [
    "apply_lut",
    "brightness_contrast",
    "rgb_shift",
    "channel_shuffle",
    "planckian_coefficients",
    "planckian_jitter",
    "fancy_pca",
    "to_sepia",
    "shift_hsv",
    "tone_curve",
    "sigmoid_contrast",
    "log_contrast",
    "linear_contrast",
    "clahe",
]


# -- helpers ---------------------------------------------------------------------------------------
def _work(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float32/float64 in its own scale (a new tensor or ``x`` itself for float32/64)."""
    return x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)


def _back(y: torch.Tensor, like: torch.Tensor, *, uint8_round: str = "floor") -> torch.Tensor:
    """Clamp ``y`` (in ``like``'s scale) to the valid range and cast back to ``like``'s dtype.

    ``uint8_round``: ``"floor"`` (numpy's ``astype`` after a clip: albumentations' lookup tables)
    or ``"nearest"`` (OpenCV's ``saturate_cast``, half to even).
    """
    if like.dtype == torch.uint8:
        y = y.clamp(0.0, 255.0)
        y = y.floor_() if uint8_round == "floor" else y.round_()
        return _keep_format(y.to(torch.uint8), like)
    y = y.clamp(0.0, 1.0)
    return _keep_format(y if y.dtype == like.dtype else y.to(like.dtype), like)


def _bound(x: torch.Tensor) -> float:
    return 255.0 if x.dtype == torch.uint8 else 1.0


def _col(v: torch.Tensor, x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A ``(B,)`` or ``(B, C)`` parameter as ``(B, 1 or C, 1, 1)`` on ``x``'s device."""
    v = v.to(device=x.device, dtype=dtype)
    return v.reshape(v.shape[0], -1, 1, 1)


def apply_lut(x: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """Look every ``uint8`` value up in its sample's (and channel's) table.

    ``x``: ``(B, C, H, W)`` uint8; ``lut``: ``(B, 1 or C, 256)`` uint8 (one table per sample, or per
    sample and channel). One ``index_select`` over the flattened tables (int32 indices).
    """
    B, C, H, W = x.shape
    lut = lut.to(device=x.device, dtype=torch.uint8)
    if lut.shape[1] == 1 and C > 1:
        lut = lut.expand(B, C, 256)
    flat = lut.reshape(B * C * 256)
    base = (torch.arange(B * C, device=x.device, dtype=torch.int32) * 256).view(B, C, 1, 1)
    idx = x.to(torch.int32).add_(base)
    out = flat.index_select(0, idx.reshape(-1)).view(B, C, H, W)
    return _keep_format(out, x)


def _levels(device: torch.device) -> torch.Tensor:
    """The 256 uint8 levels as float32 ``0..255``."""
    return torch.arange(256, device=device, dtype=torch.float32)


# -- brightness / contrast / shifts ----------------------------------------------------------------
def brightness_contrast(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """``alpha * x + beta * max`` per sample, clamped (albumentations ``RandomBrightnessContrast``).

    ``alpha``, ``beta``: ``(B,)``; ``beta`` is on the [0, 1] scale (multiplied by 255 for uint8).
    uint8: albumentations' float32 table ``clip(v * alpha + beta)`` truncated; float: clamped.
    """
    if x.dtype == torch.uint8:
        a = alpha.to(device=x.device, dtype=torch.float32).view(-1, 1)
        b = (beta.to(device=x.device, dtype=torch.float64) * 255.0).to(torch.float32).view(-1, 1)
        lut = (_levels(x.device) * a).add_(b).clamp_(0.0, 255.0).floor_().to(torch.uint8)
        return apply_lut(x, lut.unsqueeze(1))
    xf = _work(x)
    return _back(xf * _col(alpha, xf, xf.dtype) + _col(beta, xf, xf.dtype), x)


def rgb_shift(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Add a per-sample, per-channel constant ``shift`` (``(B, C)``, [0, 1] scale), clamped.

    albumentations ``RGBShift``: for uint8 the shift is ``trunc(shift * 255)`` levels (its
    ``add_vector`` truncates the value), then saturated (computed in int16).
    """
    s = shift.to(device=x.device, dtype=torch.float64)
    if x.dtype == torch.uint8:
        s16 = (s * 255.0).trunc().to(torch.int16).view(x.shape[0], -1, 1, 1)
        return _keep_format(x.to(torch.int16).add_(s16).clamp_(0, 255).to(torch.uint8), x)
    xf = _work(x)
    return _back(xf + _col(s, xf, xf.dtype), x)


def channel_shuffle(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Reorder each sample's channels: output channel ``c`` of sample ``b`` is input channel
    ``perm[b, c]`` (``(B, C)`` int64 permutations; albumentations ``ChannelShuffle``). One
    ``index_select`` of whole ``H x W`` planes."""
    B, C, H, W = x.shape
    perm = perm.to(device=x.device, dtype=torch.long)
    if x.is_contiguous():
        rows = (perm + (torch.arange(B, device=x.device) * C).view(B, 1)).view(-1)
        return x.view(B * C, H * W).index_select(0, rows).view(B, C, H, W)
    out = x[torch.arange(B, device=x.device).view(B, 1), perm]
    return _keep_format(out, x)


#: Planckian-locus RGB coefficients every 500 K (Zini, Buzzelli, Bianco, Schettini 2022,
#: "Planckian jitter: countering the color-crippling effects of color jitter on self-supervised
#: training"; the table kornia and albumentations 2.0.8 ship): black-body radiator, 3000-15000 K
_BLACKBODY = (
    (0.6743, 0.4029, 0.0013), (0.6281, 0.4241, 0.1665), (0.5919, 0.4372, 0.2513), (0.5623, 0.4457, 0.3154),
    (0.5376, 0.4515, 0.3672), (0.5163, 0.4555, 0.4103), (0.4979, 0.4584, 0.4468), (0.4816, 0.4604, 0.4782),
    (0.4672, 0.4619, 0.5053), (0.4542, 0.4630, 0.5289), (0.4426, 0.4638, 0.5497), (0.4320, 0.4644, 0.5681),
    (0.4223, 0.4648, 0.5844), (0.4135, 0.4651, 0.5990), (0.4054, 0.4653, 0.6121), (0.3980, 0.4654, 0.6239),
    (0.3911, 0.4655, 0.6346), (0.3847, 0.4656, 0.6444), (0.3787, 0.4656, 0.6532), (0.3732, 0.4656, 0.6613),
    (0.3680, 0.4655, 0.6688), (0.3632, 0.4655, 0.6756), (0.3586, 0.4655, 0.6820), (0.3544, 0.4654, 0.6878),
    (0.3503, 0.4653, 0.6933),
)
#: CIE D illuminants, 4000-15000 K (same source)
_CIED = (
    (0.5829, 0.4421, 0.2288), (0.5510, 0.4514, 0.2948), (0.5246, 0.4576, 0.3488), (0.5021, 0.4618, 0.3941),
    (0.4826, 0.4646, 0.4325), (0.4654, 0.4667, 0.4654), (0.4502, 0.4681, 0.4938), (0.4364, 0.4692, 0.5186),
    (0.4240, 0.4700, 0.5403), (0.4127, 0.4705, 0.5594), (0.4023, 0.4709, 0.5763), (0.3928, 0.4713, 0.5914),
    (0.3839, 0.4715, 0.6049), (0.3757, 0.4716, 0.6171), (0.3681, 0.4717, 0.6281), (0.3609, 0.4718, 0.6380),
    (0.3543, 0.4719, 0.6472), (0.3480, 0.4719, 0.6555), (0.3421, 0.4719, 0.6631), (0.3365, 0.4719, 0.6702),
    (0.3313, 0.4719, 0.6766), (0.3263, 0.4719, 0.6826), (0.3217, 0.4719, 0.6882),
)
PLANCKIAN_TEMPERATURES = {"blackbody": (3000, 15000), "cied": (4000, 15000)}


def planckian_coefficients(temperature: torch.Tensor, mode: str = "blackbody") -> torch.Tensor:
    """``(B, 3)`` RGB gains ``(r / g, 1, b / g)`` of the illuminant at ``temperature`` (``(B,)``, K),
    linearly interpolated between the table's 500 K steps (clamped to the table's range)."""
    table = _BLACKBODY if mode == "blackbody" else _CIED
    lo_t, hi_t = PLANCKIAN_TEMPERATURES[mode]
    tab = constant(table, temperature.device, torch.float64)
    t = temperature.to(torch.float64).clamp(lo_t, hi_t)
    left = torch.floor(t / 500.0) * 500.0
    i = ((left - lo_t) / 500.0).long().clamp(0, len(table) - 1)
    j = (i + 1).clamp_max(len(table) - 1)
    w = torch.where(i == j, torch.zeros_like(t), (t - left) / 500.0).unsqueeze(1)
    c = tab[i] * (1.0 - w) + tab[j] * w
    return torch.stack([c[:, 0] / c[:, 1], torch.ones_like(c[:, 1]), c[:, 2] / c[:, 1]], 1)


def planckian_jitter(x: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """Multiply each sample's R, G, B by ``gains`` (``(B, 3)``, from :func:`planckian_coefficients`),
    clamped. uint8: albumentations' float32 ``clip(v * gain)`` truncated (its table, evaluated
    per pixel with the same float32 product). RGB only."""
    B = x.shape[0]
    g = gains.to(device=x.device, dtype=torch.float32)
    if x.dtype == torch.uint8:
        out = x.clone()
        for c in (0, 2):  # the green gain is exactly 1
            y = x[:, c].to(torch.float32).mul_(g[:, c].view(B, 1, 1)).clamp_(0.0, 255.0).floor_()
            out[:, c] = _uint8_bits_(y)  # integer-valued: the fast exact narrowing
        return out
    xf = _work(x)
    return _back(xf * g.view(B, 3, 1, 1).to(xf.dtype), x)


def _no_autocast(fn):
    """Run a kernel with autocast off: its small matrix products must stay in the given precision."""

    @functools.wraps(fn)
    def wrapped(x: torch.Tensor, *args, **kwargs):
        with torch.autocast(x.device.type, enabled=False):
            return fn(x, *args, **kwargs)

    return wrapped


@_no_autocast
def fancy_pca(x: torch.Tensor, alpha: torch.Tensor, mode: str = "krizhevsky") -> torch.Tensor:
    """Fancy PCA colour augmentation (Krizhevsky, Sutskever, Hinton 2012, "ImageNet
    Classification with Deep Convolutional Neural Networks", section 4.1), per image.

    The principal components ``p_i`` and eigenvalues ``lambda_i`` of each image's pixel colours
    (channel covariance on the [0, 1] scale, ``N - 1`` normalisation, as albumentations computes
    them) are found with one batched ``eigh``; ``alpha`` (``(B, C)``, one draw per component,
    sorted by decreasing eigenvalue) scales them.

    - ``mode="krizhevsky"``: the paper's rule, ``[p_1 ... p_C] [alpha_1 lambda_1 ... alpha_C
      lambda_C]^T`` added to every pixel of the image.
    - ``mode="albumentations"``: albumentations 2.0.8's ``fancy_pca``, which adds
      ``P diag(alpha lambda) (x - mean)`` to each pixel ``x`` (a change of contrast along the
      principal axes rather than the paper's constant colour shift); one channel:
      ``x + alpha std (x - mean)``.

    Computed in float64; clamped to [0, 1]; uint8 rounded to nearest (albumentations' ``from_float``).
    """
    B, C, H, W = x.shape
    xf = x.to(torch.float64)
    if x.dtype == torch.uint8:
        xf = xf.mul_(1.0 / 255.0)
    flat = xf.reshape(B, C, H * W)
    mean = flat.mean(dim=2, keepdim=True)
    cen = flat - mean
    a = alpha.to(device=x.device, dtype=torch.float64).reshape(B, -1)[:, :C]
    n = max(H * W - 1, 1)
    if C == 1:
        std = cen.pow(2).mean(dim=2, keepdim=True).sqrt()
        if mode == "albumentations":
            out = flat + a.view(B, 1, 1) * std * cen
        else:
            out = flat + a.view(B, 1, 1) * cen.pow(2).sum(dim=2, keepdim=True) / n
    else:
        cov = torch.bmm(cen, cen.transpose(1, 2)) / n
        vals, vecs = torch.linalg.eigh(cov)  # ascending
        vals, vecs = vals.flip(1), vecs.flip(2)  # decreasing eigenvalue
        scale = a * vals  # (B, C)
        if mode == "albumentations":
            out = flat + torch.bmm(vecs * scale.unsqueeze(1), cen)
        else:
            out = flat + torch.bmm(vecs, scale.unsqueeze(2))
    out = out.clamp_(0.0, 1.0).view(B, C, H, W)
    if x.dtype == torch.uint8:
        return _keep_format(out.mul_(255.0).round_().to(torch.uint8), x)
    return _keep_format(out.to(x.dtype), x)


#: the sepia matrix (rows: output R, G, B), as albumentations / the usual "Microsoft" sepia tone
SEPIA = ((0.393, 0.769, 0.189), (0.349, 0.686, 0.168), (0.272, 0.534, 0.131))


@_no_autocast
def to_sepia(x: torch.Tensor) -> torch.Tensor:
    """Sepia tone: each output channel is a fixed mix of R, G, B (:data:`SEPIA`), clamped.

    albumentations ``ToSepia`` (``cv2.transform``): uint8 is computed as OpenCV's 8-bit path
    does, in fixed point with the matrix rounded to 1/1024 steps, ``(sum + 512) >> 10`` (exact in
    float32: every partial sum is an integer below 2**24). One batched 3x3 matrix product.
    One-channel images are returned unchanged (as albumentations).
    """
    if x.shape[1] == 1:
        return x.clone()
    B, C, H, W = x.shape
    if x.dtype == torch.uint8:
        m = constant(tuple(tuple(float(round(v * 1024)) for v in row) for row in SEPIA), x.device, torch.float32)
        y = torch.matmul(m, x.reshape(B, 3, H * W).to(torch.float32))
        y = y.add_(512.0).mul_(1.0 / 1024.0).floor_().clamp_(0.0, 255.0)
        return _keep_format(_uint8_bits_(y).to(torch.uint8).view(B, 3, H, W), x)  # integer-valued: fast narrowing
    xf = _work(x)
    m = constant(SEPIA, x.device, xf.dtype)
    y = torch.matmul(m, xf.reshape(B, 3, H * W)).view(B, 3, H, W)
    return _back(y, x)


# -- HSV (OpenCV's 8-bit conversions) -------------------------------------------------------------
_HSV_SHIFT = 12


@functools.lru_cache(maxsize=8)
def _hsv_tables(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """OpenCV's ``sdiv_table`` and ``hdiv_table180`` (``round((255 << 12) / i)``,
    ``round((180 << 12) / (6 i))``, 0 at ``i = 0``) as int32."""
    i = torch.arange(256, dtype=torch.float64)
    sdiv = torch.where(i > 0, torch.round((255 << _HSV_SHIFT) / i.clamp(min=1)), torch.zeros_like(i))
    hdiv = torch.where(i > 0, torch.round((180 << _HSV_SHIFT) / (6.0 * i.clamp(min=1))), torch.zeros_like(i))
    return sdiv.to(torch.int32).to(device), hdiv.to(torch.int32).to(device)


def _rgb_to_hsv_u8(x: torch.Tensor, wrap: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """OpenCV ``COLOR_RGB2HSV`` on uint8 ``(B, 3, H, W)``: int32 planes H in [0, 180), S, V in [0, 255]
    (its integer tables; look-ups as ``index_select`` with int32 indices; the arithmetic shift is
    the floor division OpenCV's ``>>`` does). ``wrap=False``: H in (-30, 180), before OpenCV adds
    180 to the negative ones."""
    sdiv, hdiv = _hsv_tables(x.device)
    B, _, H, W = x.shape
    r, g, b = x.to(torch.int32).unbind(1)
    v = torch.maximum(torch.maximum(r, g), b)
    diff = v - torch.minimum(torch.minimum(r, g), b)
    half = 1 << (_HSV_SHIFT - 1)
    s = sdiv.index_select(0, v.reshape(-1)).view(B, H, W).mul_(diff).add_(half).bitwise_right_shift_(_HSV_SHIFT)
    h = torch.where(v == g, b - r + 2 * diff, r - g + 4 * diff)
    h = torch.where(v == r, g - b, h, out=h)
    h = hdiv.index_select(0, diff.reshape(-1)).view(B, H, W).mul_(h).add_(half).bitwise_right_shift_(_HSV_SHIFT)
    if wrap:  # OpenCV adds 180 to negative hues (in (-30, 0)); callers with a hue table fold it in
        h += (h < 0) * 180
    return h, s, v


#: OpenCV's HSV2RGB ``sector_data``: for each hue sextant, the (r, g, b) entries of
#: ``tab = (v, v (1 - s), v (1 - s f), v (1 - s (1 - f)))``
_SECTOR_RGB = ((0, 3, 1), (2, 0, 1), (1, 0, 3), (1, 2, 0), (3, 1, 0), (0, 1, 2))


def _hsv_to_rgb_u8(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """OpenCV ``COLOR_HSV2RGB`` on 8-bit H (0..180), S, V planes ``(B, H, W)``: float32 maths,
    truncated as OpenCV's vectorised 8-bit path does (its scalar path, for rows narrower than a
    vector, rounds). Saturation 0 needs no special case: then every entry of ``tab`` is ``v``."""
    B, H, W = h.shape
    n = h.numel()
    hf = h.to(torch.float32).mul_(6.0 / 180.0)
    sf = s.to(torch.float32).mul_(1.0 / 255.0)
    vf = v.to(torch.float32).mul_(1.0 / 255.0)
    sector = hf.floor()
    frac = hf.sub_(sector)
    tab = torch.empty((4, B, H, W), dtype=torch.float32, device=h.device)
    tab[0] = vf
    torch.mul(vf, torch.rsub(sf, 1.0), out=tab[1])
    torch.mul(vf, torch.mul(sf, frac).neg_().add_(1.0), out=tab[2])  # (-y) + 1 == 1 - y exactly
    torch.mul(vf, frac.neg_().add_(1.0).mul_(sf).neg_().add_(1.0), out=tab[3])
    sec = sector.to(torch.int32).clamp_(0, 5).view(-1)
    flat = tab.view(4, n)
    out = torch.empty((3, n), dtype=torch.float32, device=h.device)
    for c in range(3):
        k = constant(tuple(row[c] for row in _SECTOR_RGB), h.device, torch.int32).index_select(0, sec)
        torch.gather(flat, 0, k.long().view(1, n), out=out[c : c + 1])
    out = out.mul_(255.0).floor_().clamp_(0.0, 255.0).to(torch.uint8)
    return out.view(3, B, H, W).permute(1, 0, 2, 3).contiguous()


def shift_hsv(x: torch.Tensor, hue_shift: torch.Tensor, sat_shift: torch.Tensor, val_shift: torch.Tensor) -> torch.Tensor:
    """albumentations ``HueSaturationValue``: shift hue, saturation and value in OpenCV's 8-bit HSV.

    ``hue_shift`` (``(B,)``) is in OpenCV's hue units (180 per turn, i.e. degrees / 2), added
    modulo 180 and truncated; ``sat_shift`` and ``val_shift`` in uint8 levels, truncated to
    integers and saturated; pixels of saturation 0 stay grey. The RGB <-> HSV conversions are
    OpenCV's 8-bit ones (integer tables), so uint8 matches albumentations exactly. Float images
    go through uint8 as albumentations does (``x * 255`` rounded, result ``/ 255``). One-channel
    images: only the value shift applies (albumentations ignores hue and saturation for grey).
    A sample whose three shifts are all 0 is returned unchanged (as albumentations).
    """
    if x.dtype != torch.uint8:
        u8 = (x.to(torch.float32) * 255.0).round_().clamp_(0, 255).to(torch.uint8)
        out = shift_hsv(u8, hue_shift, sat_shift, val_shift).to(x.dtype).div_(255.0)
        none = ((hue_shift == 0) & (sat_shift == 0) & (val_shift == 0)).to(x.device).view(-1, 1, 1, 1)
        return _keep_format(torch.where(none, x, out), x)
    B = x.shape[0]
    dev = x.device
    vs = val_shift.to(device=dev, dtype=torch.float64).trunc().to(torch.int32).view(B, 1, 1)
    if x.shape[1] == 1:
        return _keep_format((x.to(torch.int32) + vs.unsqueeze(1)).clamp_(0, 255).to(torch.uint8), x)
    h, s, v = _rgb_to_hsv_u8(x, wrap=False)
    # the hue shift as one table per sample over OpenCV's raw hues -30..179 (negative ones wrap to
    # h + 180, then albumentations' float64 ``mod(h + shift, 180)`` truncated), int32 look-ups
    hs = hue_shift.to(device=dev, dtype=torch.float64).view(B, 1)
    raw = torch.arange(-30, 180, device=dev, dtype=torch.float64)
    lut = torch.remainder(torch.where(raw < 0, raw + 180.0, raw) + hs, 180.0).floor_().to(torch.int32)  # (B, 210)
    base = (torch.arange(B, device=dev, dtype=torch.int32) * 210 + 30).view(B, 1, 1)
    h = lut.view(-1).index_select(0, h.add_(base).view(-1))
    h = h.view(v.shape)
    ss = sat_shift.to(device=dev, dtype=torch.float64).trunc().to(torch.int32).view(B, 1, 1)
    s = (s + ss).clamp_(0, 255).mul_(s != 0)  # grey pixels (s = 0) stay grey
    v = v.add_(vs).clamp_(0, 255)
    out = _hsv_to_rgb_u8(h, s, v)
    # albumentations returns the image itself when all three shifts are 0 (the round trip is not exact)
    none = ((hue_shift == 0) & (sat_shift == 0) & (val_shift == 0)).to(dev)
    if not cpu_path(x) or bool(none.any()):  # a free read on the CPU
        out = torch.where(none.view(B, 1, 1, 1), x, out)
    return _keep_format(out, x)


# -- tone curve and imgaug contrasts -----------------------------------------------------------------
def _bezier(t: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    u = 1.0 - t
    return 3.0 * u * u * t * low + 3.0 * u * t * t * high + t * t * t


def tone_curve(x: torch.Tensor, low_y: torch.Tensor, high_y: torch.Tensor) -> torch.Tensor:
    """albumentations ``RandomToneCurve``: map values through the cubic Bezier curve through
    (0, 0) and (1, 1) with control points at ``(0.25, low_y)`` and ``(0.75, high_y)``:
    ``y(t) = 3 (1-t)^2 t low_y + 3 (1-t) t^2 high_y + t^3``.

    ``low_y``, ``high_y``: ``(B,)`` (all channels) or ``(B, C)`` (per channel). uint8: the
    256-entry table ``rint(255 y(i / 255))`` (float64), as albumentations; floats are mapped
    through the curve itself (albumentations quantises them to uint8 first).
    """
    B, C = x.shape[:2]
    if x.dtype == torch.uint8:
        t = torch.linspace(0.0, 1.0, 256, device=x.device, dtype=torch.float64)
        lo = low_y.to(device=x.device, dtype=torch.float64).reshape(B, -1, 1)
        hi = high_y.to(device=x.device, dtype=torch.float64).reshape(B, -1, 1)
        lut = (_bezier(t, lo, hi) * 255.0).round_().clamp_(0, 255).to(torch.uint8)
        return apply_lut(x, lut)
    xf = _work(x)
    return _back(_bezier(xf, _col(low_y, xf, xf.dtype), _col(high_y, xf, xf.dtype)), x)


def _contrast(x: torch.Tensor, fn, *params: torch.Tensor) -> torch.Tensor:
    """Apply ``fn(v, *params)`` (v on the [0, 1] scale, params ``(B, 1 or C, 1)``) through a float32
    table truncated to uint8 (imgaug's ``cv2.LUT`` path) or directly on floats, clamped."""
    B = x.shape[0]
    if x.dtype == torch.uint8:
        v = torch.linspace(0.0, 1.0, 256, dtype=torch.float32, device=x.device)
        ps = [p.to(device=x.device, dtype=torch.float32).reshape(B, -1, 1) for p in params]
        lut = fn(v, *ps).mul_(255.0).clamp_(0.0, 255.0).floor_().to(torch.uint8)
        return apply_lut(x, lut)
    xf = _work(x)
    return _back(fn(xf, *[_col(p, xf, xf.dtype) for p in params]), x)


def _sigmoid(v: torch.Tensor, gain: torch.Tensor, cutoff: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + torch.exp(gain * (cutoff - v)))


def _log(v: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    return gain * torch.log2(1.0 + v)


def sigmoid_contrast(x: torch.Tensor, gain: torch.Tensor, cutoff: torch.Tensor) -> torch.Tensor:
    """imgaug ``SigmoidContrast`` / scikit-image ``adjust_sigmoid``: ``1 / (1 + exp(gain (cutoff - v)))``
    on the [0, 1] scale. ``gain``, ``cutoff``: ``(B,)`` or ``(B, C)``. uint8: imgaug's float32
    table ``255 * f(i / 255)``, clipped and truncated."""
    return _contrast(x, _sigmoid, gain, cutoff)


def log_contrast(x: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """imgaug ``LogContrast`` / scikit-image ``adjust_log``: ``gain * log2(1 + v)`` on the [0, 1]
    scale, clamped. ``gain``: ``(B,)`` or ``(B, C)``. uint8 as :func:`sigmoid_contrast`."""
    return _contrast(x, _log, gain)


def linear_contrast(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """imgaug ``LinearContrast``: ``center + alpha (v - center)``, clamped; ``alpha``: ``(B,)`` or
    ``(B, C)``. uint8: ``center = 127`` and imgaug's float32 table, truncated; floats:
    ``center = 0.5`` (the middle of [0, 1])."""
    B = x.shape[0]
    if x.dtype == torch.uint8:
        v = _levels(x.device)
        a = alpha.to(device=x.device, dtype=torch.float32).reshape(B, -1, 1)
        lut = ((v - 127.0) * a + 127.0).clamp_(0.0, 255.0).floor_().to(torch.uint8)
        return apply_lut(x, lut)
    xf = _work(x)
    return _back(xf + (xf - 0.5) * (_col(alpha, xf, xf.dtype) - 1.0), x)  # alpha = 1: exactly x


# -- CLAHE ------------------------------------------------------------------------------------------
# sRGB (D65) <-> CIE L*a*b*, as OpenCV's COLOR_RGB2Lab / Lab2RGB describe it (8-bit: L * 255 / 100,
# a and b + 128)
_RGB2XYZ = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
_XYZ2RGB = ((3.240479, -1.53715, -0.498535), (-0.969256, 1.875991, 0.041556), (0.055648, -0.204043, 1.057311))
_WHITE = (0.950456, 1.0, 1.088754)


def _mix3(m, c0: torch.Tensor, c1: torch.Tensor, c2: torch.Tensor) -> list[torch.Tensor]:
    return [c0 * m[k][0] + c1 * m[k][1] + c2 * m[k][2] for k in range(3)]


def _srgb_to_linear(v: torch.Tensor) -> torch.Tensor:
    return torch.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055).clamp_(min=0).pow_(2.4))


def _linear_to_srgb_(v: torch.Tensor) -> torch.Tensor:
    """In place on a private buffer ``v``."""
    v = v.clamp_(0.0, 1.0)
    low = v <= 0.0031308
    lin = v * 12.92
    return torch.where(low, lin, v.pow_(1.0 / 2.4).mul_(1.055).sub_(0.055), out=lin)


def _lab_f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > 0.008856, t.clamp(min=0).pow_(1.0 / 3.0), 7.787 * t + 16.0 / 116.0)


def _lab_finv_(f: torch.Tensor) -> torch.Tensor:
    """In place on a private buffer ``f``."""
    low = f <= 0.206893
    lin = (f - 16.0 / 116.0).div_(7.787)
    return torch.where(low, lin, f.pow_(3), out=lin)


def _rgb_to_lab(xf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """RGB in [0, 1] ``(B, 3, H, W)`` -> L in [0, 100], a, b planes (float)."""
    lin = [_srgb_to_linear(c) for c in xf.unbind(1)]
    X, Y, Z = _mix3(_RGB2XYZ, *lin)
    fx, fy, fz = _lab_f(X / _WHITE[0]), _lab_f(Y), _lab_f(Z / _WHITE[2])
    L = torch.where(Y > 0.008856, 116.0 * fy - 16.0, 903.3 * Y)
    return L, 500.0 * (fx - fy), 200.0 * (fy - fz)


def _lab_to_rgb(L: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L in [0, 100], a, b planes -> RGB in [0, 1] ``(B, 3, H, W)`` (OpenCV's Lab2RGB formulas)."""
    fy = (L + 16.0).div_(116.0)
    big = L > 8.0
    Y = torch.where(big, fy * fy * fy, L / 903.3)
    fy = torch.where(big, fy, Y * 7.787 + 16.0 / 116.0, out=fy)
    X = _lab_finv_(a / 500.0 + fy).mul_(_WHITE[0])
    Z = _lab_finv_(fy - b / 200.0).mul_(_WHITE[2])
    out = torch.empty((L.shape[0], 3, *L.shape[1:]), dtype=L.dtype, device=L.device)
    for k in range(3):
        m = _XYZ2RGB[k]
        c = torch.mul(X, m[0], out=out[:, k]).add_(Y, alpha=m[1]).add_(Z, alpha=m[2])
        out[:, k] = _linear_to_srgb_(c)
    return out


@functools.lru_cache(maxsize=8)
def _lab_tables(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, tuple[tuple[int, ...], ...]]:
    """OpenCV's 8-bit RGB -> Lab tables: the sRGB gamma table (``255 * 8 * gamma(i / 255)``
    rounded), the cube-root table (``2**15 * f(i / (255 * 8))``, 3072 entries) and the
    XYZ matrix divided by the D65 white point in 12-bit fixed point."""
    i = torch.arange(256, dtype=torch.float64) / 255.0
    gamma = torch.where(i <= 0.04045, i / 12.92, ((i + 0.055) / 1.055).pow(2.4))
    gtab = torch.round(255.0 * 8 * gamma).long()
    xs = torch.arange(256 * 3 // 2 * 8, dtype=torch.float64) / (255.0 * 8)
    cbrt = torch.round((1 << 15) * torch.where(xs < 0.008856, xs * 7.787 + 0.13793103448275862, xs.pow(1.0 / 3.0))).long()
    coeffs = tuple(tuple(int(round((1 << 12) * v / _WHITE[r])) for v in row) for r, row in enumerate(_RGB2XYZ))
    return gtab.to(device), cbrt.to(device), coeffs


def _rgb_to_lab_u8(x: torch.Tensor) -> torch.Tensor:
    """OpenCV ``COLOR_RGB2Lab`` on uint8 ``(B, 3, H, W)`` (its integer path: gamma table, 12-bit
    matrix, cube-root table, 15-bit L, a, b): int32 ``(B, 3, H, W)`` with L in [0, 255]
    (``L * 255 / 100``) and a, b offset by 128. Every intermediate fits int32; table look-ups
    are ``index_select`` with int32 indices."""
    gtab, cbrt, m = _lab_tables(x.device)
    gtab, cbrt = gtab.to(torch.int32), cbrt.to(torch.int32)
    B, _, H, W = x.shape
    r, g, b = (gtab.index_select(0, c.reshape(-1)) for c in x.to(torch.int32).unbind(1))
    top = cbrt.numel() - 1

    def f(k: int) -> torch.Tensor:
        v = (r * m[k][0]).add_(g * m[k][1]).add_(b * m[k][2]).add_(1 << 11).bitwise_right_shift_(12).clamp_(0, top)
        return cbrt.index_select(0, v)

    fx, fy, fz = f(0), f(1), f(2)
    half = 1 << 14
    L = (fy * ((116 * 255 + 50) // 100)).add_(half - (16 * 255 * (1 << 15) + 50) // 100).bitwise_right_shift_(15)
    a = (fx - fy).mul_(500).add_(128 * (1 << 15) + half).bitwise_right_shift_(15)
    bb = (fy - fz).mul_(200).add_(128 * (1 << 15) + half).bitwise_right_shift_(15)
    return torch.stack([t.view(B, H, W) for t in (L, a, bb)], 1).clamp_(0, 255)


def _clahe_luts(v: torch.Tensor, clip_limit: torch.Tensor, tiles_x: torch.Tensor, tiles_y: torch.Tensor,
                max_tiles: int, max_x: int, max_y: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clipped, redistributed tile histograms -> tile LUTs (OpenCV's ``CLAHE_CalcLut_Body``).

    ``v``: ``(B, H, W)`` int32 levels. Tiles of padded images (BORDER_REFLECT_101 at the bottom
    and right, as OpenCV pads when the size is not a multiple of the grid). Returns the float32
    LUTs ``(B, max_tiles, 256)`` and the tile sizes ``(B,)`` (height, width). The counts are
    kept in float32 (exact: integers far below 2**24), which is several times faster on CPU
    than int64 for the ~20 passes over the ``B * tiles * 256`` bins.
    """
    B, H, W = v.shape
    dev = v.device
    ty, tx = tiles_y.to(dev, torch.long), tiles_x.to(dev, torch.long)
    # OpenCV pads only when a side is not a multiple of its grid, and then both sides by
    # ``tiles - size % tiles`` (a whole extra tile on a side that was a multiple)
    pad = (H % ty != 0) | (W % tx != 0)
    pad_h = torch.where(pad, ty - H % ty, 0)
    pad_w = torch.where(pad, tx - W % tx, 0)
    th, tw = (H + pad_h) // ty, (W + pad_w) // tx  # (B,)
    hp, wp = H + max_y, W + max_x  # bounds of every sample's padded size (no host read)
    rows = torch.arange(hp, device=dev)
    cols = torch.arange(wp, device=dev)
    src_r = torch.where(rows < H, rows, 2 * (H - 1) - rows).clamp(0, H - 1)  # reflect-101
    src_c = torch.where(cols < W, cols, 2 * (W - 1) - cols).clamp(0, W - 1)
    # the bin of every padded pixel: (sample, tile, level); outside the sample's padded size: a spare bin
    n_bins = B * max_tiles * 256
    tile_r = (rows.view(1, -1) // th.view(-1, 1)).clamp_max(ty.view(-1, 1) - 1)
    tile_c = (cols.view(1, -1) // tw.view(-1, 1)).clamp_max(tx.view(-1, 1) - 1)
    row_part = (tile_r * tx.view(-1, 1) + torch.arange(B, device=dev).view(-1, 1) * max_tiles) * 256  # (B, hp)
    row_part = torch.where(rows.view(1, -1) < (H + pad_h).view(-1, 1), row_part, n_bins)
    col_part = torch.where(cols.view(1, -1) < (W + pad_w).view(-1, 1), tile_c * 256, n_bins)  # (B, wp)
    vals = v.index_select(1, src_r.to(torch.int32)).index_select(2, src_c.to(torch.int32))  # (B, hp, wp)
    flat = (row_part.unsqueeze(2) + col_part.unsqueeze(1)).clamp_max_(n_bins).add_(vals)
    flat = torch.where(flat >= n_bins, n_bins, flat)
    if cpu_path(v):
        hist = torch.bincount(flat.view(-1), minlength=n_bins + 1)[:n_bins].to(torch.float32)
    else:  # bincount reads the largest index back to the host: accumulate into a fixed-size tensor
        hist = torch.zeros(n_bins + 1, dtype=torch.float32, device=dev)
        hist = hist.index_add_(0, flat.view(-1), torch.ones((), dtype=torch.float32, device=dev).expand(flat.numel()))[:n_bins]
    hist = hist.view(B, max_tiles, 256)
    area = (th * tw).to(torch.float32).view(B, 1, 1)
    cl = clip_limit.to(dev, torch.float32).view(B, 1, 1)
    clip = torch.floor(cl.double() * area.double() / 256.0).float().clamp_min(1.0)
    clip = torch.where(cl > 0, clip, float(1 << 30))  # clipLimit <= 0: no clipping (OpenCV)
    # OpenCV clips every bin at ``clip``, adds ``batch = excess // 256`` to every bin and one more to
    # the bins ``0, step, 2 step, ...`` (``residual`` of them), then takes the cumulative sum. In
    # closed form: cumsum(min(hist, clip))[i] + batch (i + 1) + min(residual, i // step + 1), with
    # ``excess = area - sum(min(hist, clip))`` (a tile's bins sum to its area): no pass for the excess
    cs = torch.minimum(hist, clip, out=hist).cumsum_(2)
    excess = area - cs[:, :, 255:]
    batch = torch.floor(excess / 256.0)
    residual = excess - batch * 256.0
    step = torch.floor(256.0 / residual.clamp_min(1.0)).clamp_min_(1.0)
    i = torch.arange(256, device=dev, dtype=torch.float32).view(1, 1, 256)
    extra = torch.div(i, step).floor_().add_(1.0)
    extra = torch.minimum(extra, residual, out=extra).add_(batch * (i + 1.0))
    lut = cs.add_(extra).mul_(255.0 / area).round_().clamp_(0, 255)
    return lut, th, tw


def _clahe_plane(v: torch.Tensor, clip_limit: torch.Tensor, tiles_x: torch.Tensor, tiles_y: torch.Tensor,
                 max_x: int, max_y: int) -> torch.Tensor:
    """CLAHE of ``(B, H, W)`` int32 levels -> float32 ``(B, H, W)`` (bilinear mix of 4 tile LUTs,
    unrounded; OpenCV's ``CLAHE_Interpolation_Body`` weights and order of operations)."""
    v = v.contiguous()
    B, H, W = v.shape
    dev = v.device
    max_tiles = max_x * max_y
    lut, th, tw = _clahe_luts(v, clip_limit, tiles_x, tiles_y, max_tiles, max_x, max_y)
    tx = tiles_x.to(dev, torch.long).view(B, 1)
    ty = tiles_y.to(dev, torch.long).view(B, 1)
    inv_tw = (1.0 / tw.to(torch.float32)).view(B, 1)
    inv_th = (1.0 / th.to(torch.float32)).view(B, 1)
    xs = torch.arange(W, device=dev, dtype=torch.float32).view(1, W) * inv_tw - 0.5
    ys = torch.arange(H, device=dev, dtype=torch.float32).view(1, H) * inv_th - 0.5
    x1 = torch.floor(xs)
    y1 = torch.floor(ys)
    xa, ya = xs - x1, ys - y1
    x1, y1 = x1.long(), y1.long()
    x2 = (x1 + 1).clamp_max(tx - 1)
    y2 = (y1 + 1).clamp_max(ty - 1)
    x1, y1 = x1.clamp_min(0), y1.clamp_min(0)
    flat = lut.view(-1)
    base = (torch.arange(B, device=dev) * max_tiles).view(B, 1)
    # int32 offsets of the four tiles' tables: (B, H, 1) row parts + (B, 1, W) column parts
    r1 = ((base + y1 * tx) * 256).to(torch.int32).unsqueeze(2)
    r2 = ((base + y2 * tx) * 256).to(torch.int32).unsqueeze(2)
    c1 = (x1 * 256).to(torch.int32).unsqueeze(1)
    c2 = (x2 * 256).to(torch.int32).unsqueeze(1)
    vc1 = c1 + v  # (B, H, W)
    vc2 = c2 + v

    def look(r: torch.Tensor, vc: torch.Tensor) -> torch.Tensor:
        return flat.index_select(0, (vc + r).view(-1)).view(B, H, W)

    xa = xa.unsqueeze(1)
    xa1 = 1.0 - xa
    ya = ya.unsqueeze(2)
    ya1 = 1.0 - ya
    top = look(r1, vc1).mul_(xa1).add_(look(r1, vc2).mul_(xa))
    bottom = look(r2, vc1).mul_(xa1).add_(look(r2, vc2).mul_(xa))
    return top.mul_(ya1).add_(bottom.mul_(ya))


def clahe(
    x: torch.Tensor,
    clip_limit: torch.Tensor,
    tiles_x: torch.Tensor,
    tiles_y: torch.Tensor,
    max_tiles: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Contrast Limited Adaptive Histogram Equalization (Zuiderveld 1994), per sample.

    ``clip_limit``: ``(B,)`` float (OpenCV's ``clipLimit``: a tile's bins are clipped at
    ``max(1, int(clip_limit * tile_area / 256))`` and the excess redistributed); ``tiles_x``,
    ``tiles_y``: ``(B,)`` ints (OpenCV's ``tileGridSize = (tiles_x, tiles_y)``: columns, rows).
    Grey images are equalised directly; RGB images on the L channel of CIE L*a*b* (L scaled to
    [0, 255] and rounded to 256 levels, as OpenCV's 8-bit conversion), as albumentations ``CLAHE``;
    uint8 RGB goes to Lab through OpenCV's integer tables (L bit-exact) and back in float.

    Batched: all ``B * tiles`` histograms in one ``bincount``, LUTs by ``cumsum``, the bilinear
    interpolation of the four neighbouring tile LUTs as four gathers. Grey uint8 reproduces
    ``cv2.createCLAHE(...).apply`` (OpenCV's algorithm and rounding); RGB differs from
    albumentations only by the Lab -> RGB step (float here, OpenCV's own tables there: one
    level on a few per cent of the values, see the tests).
    ``max_tiles = (max tiles_x, max tiles_y)``: bounds known to the caller (else read from the
    tensors, a host read on a GPU). Tiles must be at most the image size (``tiles_y <= H``,
    ``tiles_x <= W``).
    """
    B, C, H, W = x.shape
    if max_tiles is None:
        max_tiles = (int(tiles_x.max()), int(tiles_y.max()))
    mx, my = int(max_tiles[0]), int(max_tiles[1])
    u8 = x.dtype == torch.uint8
    xf = x.to(torch.float32)
    if not u8:
        xf = xf * 255.0
    if C == 1:
        lv = x[:, 0].to(torch.int32) if u8 else xf[:, 0].round().clamp_(0, 255).to(torch.int32)
        out = _clahe_plane(lv, clip_limit, tiles_x, tiles_y, mx, my).unsqueeze(1)
        if u8:
            return _keep_format(out.round_().clamp_(0, 255).to(torch.uint8), x)
        return _keep_format(out.mul_(1.0 / 255.0).clamp_(0, 1).to(x.dtype), x)
    if u8:  # OpenCV's own 8-bit Lab (integer tables), so that L matches it exactly
        lab = _rgb_to_lab_u8(x)
        Lq = lab[:, 0]
        a, b = (lab[:, 1] - 128).to(torch.float32), (lab[:, 2] - 128).to(torch.float32)
    else:
        L, a, b = _rgb_to_lab(xf * (1.0 / 255.0))
        Lq = (L * (255.0 / 100.0)).round_().clamp_(0, 255).to(torch.int32)
    Ln = _clahe_plane(Lq, clip_limit, tiles_x, tiles_y, mx, my)
    if u8:
        Ln = Ln.round_().clamp_(0, 255)
    rgb = _lab_to_rgb(Ln * (100.0 / 255.0), a, b)
    if u8:
        return _keep_format(rgb.mul_(255.0).round_().clamp_(0, 255).to(torch.uint8), x)
    return _keep_format(rgb.clamp_(0, 1).to(x.dtype), x)
