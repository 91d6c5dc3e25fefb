"""The 19 corruptions as batched torch functions with per-sample severity.

Each function takes ``x`` float32 ``(B, 3, H, W)`` in [0, 1], ``sev`` int64 ``(B,)`` in 1..5, the
severity table of its constant set, ``levels`` (the severities that may occur: static sizes such
as kernel radii are the maxima over them, so that nothing is read back from the device), the
generator and ``cifar`` (which formula variant: the CIFAR-10-C script differs from
``imagecorruptions`` in a few places, noted below). It returns the corrupted batch in the [0, 1]
scale (clipping and the final quantisation are done by :func:`torchaug.corruptions.corrupt`).

Formulas: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions and
Perturbations", ICLR 2019 (``hendrycks/robustness``: ``make_imagenet_c.py``, ``make_cifar_c.py``)
and ``imagecorruptions`` 1.1.2 (Michaelis et al., "Benchmarking Robustness in Object Detection",
2019). Re-implemented from the published formulas; no code copied.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import warnings
from typing import Callable

import torch

from torchaug._cpu.bernoulli import bernoulli_indices
from torchaug._cpu.chunks import run_chunked
from torchaug._cpu.narrow import narrow_uint8_
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug._devpath import cpu_path
from torchaug.corruptions import _ops as O
from torchaug.corruptions._poisson import quantise_uint8, shot_noise_uint8

Fn = Callable[..., torch.Tensor]


@functools.lru_cache(maxsize=512)
def _table(vals: tuple, device: str) -> torch.Tensor:
    return torch.tensor(vals, dtype=torch.float64, device=device)


def _col(table: list, sev: torch.Tensor, j: int | None = None) -> torch.Tensor:
    """Per-sample value ``table[sev - 1][j]`` as a float64 ``(B,)`` tensor on ``sev``'s device (the
    table is made once per device)."""
    vals = tuple(float(r if j is None else r[j]) for r in table)
    return _table(vals, str(sev.device))[sev - 1]


def quantise_unit(out: torch.Tensor) -> torch.Tensor:
    """A result on the [0, 1] scale (clipped here) truncated to uint8, as :func:`torchaug.corruptions.corrupt`
    returns it; float64 results (the HSV ones) are the references' own numbers: no tie margin."""
    eps = 0.0 if out.dtype == torch.float64 else 1e-4
    return narrow_uint8_(out.clamp(0, 1).mul_(255).add_(eps).floor_().clamp_(0, 255))


def _v(t: torch.Tensor) -> torch.Tensor:
    return t.to(torch.float32).view(-1, 1, 1, 1)


def _lv(table: list, levels: tuple[int, ...], j: int | None = None) -> list:
    return [table[s - 1] if j is None else table[s - 1][j] for s in levels]


def _exact64(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float64, values that are float32 roundings of ``k / 255`` snapped back to ``k / 255``
    (the references compute ``uint8 / 255.`` in float64; HSV's branches and ties depend on it)."""
    xd = x.double()
    k = torch.round(xd * 255)
    return torch.where((xd * 255 - k).abs() < 1e-4, k / 255, xd)


def _one(t: torch.Tensor, levels: tuple[int, ...]) -> torch.Tensor:
    """``t[:1]`` when every sample has the same severity (shared kernels run as one plain convolution)."""
    return t[:1] if len(levels) == 1 else t


def _q_trunc(x: torch.Tensor) -> torch.Tensor:
    """``np.uint8(clip(x, 0, 1) * 255) / 255``: an intermediate truncated to 8 bits."""
    return torch.floor(x.clamp(0, 1) * 255 + 1e-4) / 255


def _q_half_up(x: torch.Tensor) -> torch.Tensor:
    """PIL's fixed-point rounding of a resampling pass (halves go up)."""
    return torch.floor(x.clamp(0, 1) * 255 + 0.5 + 1e-4) / 255


def _q_round(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x.clamp(0, 1) * 255) / 255


# -- noise ----------------------------------------------------------------------------------------


def gaussian_noise(x, sev, table, levels, g, cifar):
    """``x + N(0, c^2)``."""
    return x + torch.randn(x.shape, generator=g, device=x.device) * _v(_col(table, sev))


def shot_noise(x, sev, table, levels, g, cifar):
    """``Poisson(x c) / c``."""
    c = _v(_col(table, sev))
    return torch.poisson(x * c, generator=g) / c


def shot_noise_u8(x, sev, table, levels, g, cifar):
    """:func:`shot_noise` of a uint8 batch: the same rates ``float32(x / 255) * c``, drawn on the CPU
    by table lookup (:mod:`torchaug.corruptions._poisson`) and quantised as the float path does."""
    if not cpu_path(x):
        return quantise_uint8(shot_noise(x.to(torch.float32).div_(255), sev, table, levels, g, cifar))
    slot = torch.searchsorted(_table(tuple(float(s) for s in levels), str(sev.device)), sev.to(torch.float64))
    return shot_noise_uint8(x, slot, tuple(float(table[s - 1]) for s in levels), g)


def impulse_sites(shape: tuple[int, ...], sev: torch.Tensor, table: list, levels: tuple[int, ...],
                  g: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Where impulse noise strikes a batch of ``shape`` ``(B, ...)`` on the CPU: the flat indices of the
    replaced values (each value independently with probability ``c`` of its sample's severity), drawn
    sparsely (:func:`torchaug._cpu.bernoulli.bernoulli_indices`: about ``c n`` draws instead of ``n``),
    and whether each turns to salt (probability 1/2)."""
    idx = bernoulli_indices(math.prod(shape[1:]), _col(table, sev).cpu(), g)
    return idx, torch.rand(idx.numel(), generator=g) < 0.5


def _impulse_sparse(x, sev, table, levels, g, high: int) -> torch.Tensor:
    """``x`` with :func:`impulse_sites`' values set to ``high`` (salt) or 0 (pepper)."""
    idx, salt = impulse_sites(tuple(x.shape), sev, table, levels, g)
    out = x.clone()
    out.view(-1)[idx] = salt.to(x.dtype).mul_(high)
    return out


def impulse_noise(x, sev, table, levels, g, cifar):
    """scikit-image ``random_noise(mode='s&p', amount=c)``: each value (channel by channel) is
    replaced with probability ``c``, by 1 or 0 with equal chance. On the CPU the struck values are
    drawn sparsely (:func:`impulse_sites`); elsewhere one uniform draw per value decides both
    (``u < c/2`` salt, ``c/2 <= u < c`` pepper)."""
    if cpu_path(x):
        return _impulse_sparse(x, sev, table, levels, g, 1)
    c = _v(_col(table, sev))
    u = torch.rand(x.shape, generator=g, device=x.device)
    out = torch.where(u < c * 0.5, torch.ones_like(x), x)
    return torch.where((u >= c * 0.5) & (u < c), torch.zeros_like(x), out)


def speckle_noise(x, sev, table, levels, g, cifar):
    """``x + x N(0, c^2)``."""
    return x + x * torch.randn(x.shape, generator=g, device=x.device) * _v(_col(table, sev))


def _v255(table: list, sev: torch.Tensor, j: int | None = None) -> torch.Tensor:
    return (_col(table, sev, j) * 255).to(torch.float32).view(-1, 1, 1, 1)


def gaussian_noise_u8(x, sev, table, levels, g, cifar):
    """:func:`gaussian_noise` of a uint8 batch on the 0..255 scale (the same normal draws), truncated."""
    n = torch.randn(x.shape, generator=g, device=x.device)
    return narrow_uint8_(n.mul_(_v255(table, sev)).add_(x).clamp_(0, 255))


def speckle_noise_u8(x, sev, table, levels, g, cifar):
    """:func:`speckle_noise` of a uint8 batch: ``x (1 + c N)`` on the 0..255 scale (the same draws), truncated."""
    n = torch.randn(x.shape, generator=g, device=x.device)
    return narrow_uint8_(n.mul_(_v(_col(table, sev))).add_(1).mul_(x).clamp_(0, 255))


def impulse_noise_u8(x, sev, table, levels, g, cifar):
    """:func:`impulse_noise` of a uint8 batch: the same draws decide, values set in uint8."""
    if cpu_path(x):
        return _impulse_sparse(x, sev, table, levels, g, 255)
    c = _v(_col(table, sev))
    u = torch.rand(x.shape, generator=g, device=x.device)
    return x.masked_fill(u < c, 0).masked_fill_(u < c * 0.5, 255)


# -- blur -----------------------------------------------------------------------------------------


def gaussian_blur(x, sev, table, levels, g, cifar):
    """scikit-image ``gaussian(x, sigma=c, channel_axis=-1)``: scipy kernel, truncate 4, nearest border."""
    r = O.gaussian_radius(_lv(table, levels), 4.0)
    return O.gaussian_filter(x, _one(_col(table, sev), levels), r)


def glass_blur(x, sev, table, levels, g, cifar):
    """Gaussian blur (``sigma``), 8-bit truncation, ``iterations`` passes of local pixel swaps with
    offsets ``dy, dx`` uniform in ``[-max_delta, max_delta)``, Gaussian blur again.

    The reference swaps pixel after pixel in raster order from the bottom right, so each swap
    depends on the previous ones. Here a pass is split into ``(2 max_delta + 1)^2`` rounds of
    sources on a grid of that stride (in descending order), whose swaps touch disjoint pixels and
    run at once over the batch: the same distribution of local displacements, not the same
    permutation (tested by statistics).
    """
    sig = _one(_col(table, sev, 0), levels)
    delta = _col(table, sev, 1).long()
    iters = _col(table, sev, 2).long()
    r = O.gaussian_radius(_lv(table, levels, 0), 4.0)
    y = _q_trunc(O.gaussian_filter(x, sig, r))
    B, C, H, W = y.shape
    dmax = max(int(d) for d in _lv(table, levels, 1))
    imax = max(int(i) for i in _lv(table, levels, 2))
    S = 2 * dmax + 1
    flat = y.reshape(B, C, H * W).clone()
    dev = x.device
    d = delta.view(-1, 1)
    for it in range(imax):
        on = (iters > it).view(-1, 1)
        for rh in reversed(range(min(S, H))):
            hs = torch.arange(rh, H, S, device=dev)
            for rw in reversed(range(min(S, W))):
                ws = torch.arange(rw, W, S, device=dev)
                if hs.numel() == 0 or ws.numel() == 0:
                    continue
                hh = hs.view(-1, 1).expand(-1, ws.numel()).reshape(1, -1)
                ww = ws.view(1, -1).expand(hs.numel(), -1).reshape(1, -1)
                ok = on & (hh > d) & (hh <= H - d) & (ww > d) & (ww <= W - d)
                u = torch.rand((B, 2, hh.shape[1]), generator=g, device=dev)
                dy = torch.floor(u[:, 0] * (2 * d)).long() - d
                dx = torch.floor(u[:, 1] * (2 * d)).long() - d
                src = (hh * W + ww).expand(B, -1)
                tgt = torch.where(ok, (hh + dy).clamp(0, H - 1) * W + (ww + dx).clamp(0, W - 1), src)
                si = src.unsqueeze(1).expand(B, C, -1)
                ti = tgt.unsqueeze(1).expand(B, C, -1)
                a = flat.gather(2, si)
                b = flat.gather(2, ti)
                flat.scatter_(2, si, b)
                flat.scatter_(2, ti, a)
    return O.gaussian_filter(flat.view(B, C, H, W), sig, r)


@functools.lru_cache(maxsize=8)
def _disks(table: tuple, device: str) -> torch.Tensor:
    ks = [O.disk_kernel(float(rad), float(ab)) for rad, ab in table]
    K = max(k.shape[-1] for k in ks)
    out = torch.zeros(len(ks), K, K)
    for i, k in enumerate(ks):
        o = (K - k.shape[-1]) // 2
        out[i, o : o + k.shape[-1], o : o + k.shape[-1]] = k
    return out.to(device)


def defocus_blur(x, sev, table, levels, g, cifar):
    """OpenCV ``filter2D`` (reflect-101) with ImageNet-C's anti-aliased disk of ``radius``."""
    sub = tuple(tuple(table[s - 1]) for s in levels)
    kernels = _disks(sub, str(x.device))
    pos = torch.tensor([levels.index(s) if s in levels else 0 for s in range(1, 6)], device=x.device)
    return O.filter2d(x, kernels[_one(pos[sev - 1], levels)])


def motion_blur(x, sev, table, levels, g, cifar):
    """ImageMagick's motion blur (``radius``, ``sigma``, angle uniform in [-45, 45] degrees); see
    :func:`torchaug.corruptions._ops.motion_blur`. CIFAR-10-C ran it through Wand (rounded to 8 bits)."""
    angle = torch.rand(x.shape[0], generator=g, device=x.device, dtype=torch.float64) * 90 - 45
    rmax = max(int(r) for r in _lv(table, levels, 0))
    out = O.motion_blur(x, _col(table, sev, 0), _col(table, sev, 1), angle, rmax)
    return _q_round(out) if cifar else out


def zoom_blur(x, sev, table, levels, g, cifar):
    """Mean of the image and its ``clipped_zoom`` copies at every factor of the severity."""
    K = max(len(t) for t in _lv(table, levels))
    KA = max(len(t) for t in table)
    z = torch.ones(5, KA, dtype=torch.float64)
    m = torch.zeros(5, KA)
    for s in range(5):
        n = len(table[s])
        z[s, :n] = torch.tensor(table[s], dtype=torch.float64)
        m[s, :n] = 1
    z, m = z.to(x.device)[sev - 1], m.to(x.device)[sev - 1]
    out = x.clone()
    for k in range(K):
        if len(levels) == 1:  # one factor for the whole batch: shared resampling matrices
            out.add_(O.clipped_zoom(x, z[:1, k], centered=cifar))
        else:
            out.addcmul_(O.clipped_zoom(x, z[:, k], centered=cifar), _v(m[:, k]))
    return out / _v(m.sum(1) + 1)


# -- weather --------------------------------------------------------------------------------------


def snow(x, sev, table, levels, g, cifar):
    """A Gaussian snow layer, zoomed, thresholded, motion-blurred (angle uniform in [-135, -45]),
    added twice (as is and rotated by 180 degrees) to the image brightened towards
    ``max(x, 1.5 gray + 0.5)``."""
    B, C, H, W = x.shape
    loc, scale, zoom, thr, rad, sig, blend = (_col(table, sev, j) for j in range(7))
    layer = torch.randn((B, 1, H, W), generator=g, device=x.device) * _v(scale) + _v(loc)
    layer = O.clipped_zoom(layer, zoom, centered=cifar)
    layer = torch.where(layer < _v(thr), torch.zeros_like(layer), layer).clamp(0, 1)
    if cifar:
        layer = _q_trunc(layer)
    angle = torch.rand(B, generator=g, device=x.device, dtype=torch.float64) * 90 - 135
    rmax = max(int(r) for r in _lv(table, levels, 4))
    layer = O.motion_blur(layer, rad, sig, angle, rmax)
    layer = _q_round(layer)
    b = _v(blend)
    base = b * x + (1 - b) * torch.maximum(x, O.cv_gray(x) * 1.5 + 0.5)
    return base + layer + torch.flip(layer, (-2, -1))


_FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")


def frost_photo_dir() -> str | None:
    """The folder of the frost photos shipped by ``imagecorruptions`` (found without importing it), or None."""
    spec = importlib.util.find_spec("imagecorruptions")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = os.path.join(list(spec.submodule_search_locations)[0], "frost")
    return d if all(os.path.exists(os.path.join(d, f)) for f in _FROST_FILES) else None


def _procedural_frost(h: int, w: int) -> list[torch.Tensor]:
    """Five procedural frost textures (uint8-valued float ``(3, h', w')``), used without ``imagecorruptions``.

    Ridged plasma fractals (``1 - |2 p - 1|``, raised to the power 3, over a second fractal
    for density), scaled to [40, 255] and tinted pale blue (R 0.86, G 0.93, B 1.0): bright
    crystalline veins like the frost photos, not the photos themselves.
    """
    g = torch.Generator().manual_seed(20190101)
    size = O.next_power_of_2(int(max(h, w) * 1.2) + 1)
    out = []
    for _ in range(5):
        p = O.plasma_fractal(2, size, torch.tensor([1.6, 2.2]), g, torch.device("cpu"))
        ridge = (1 - (2 * p[0] - 1).abs()) ** 3
        v = (0.7 * ridge + 0.3 * p[1]).clamp(0, 1)
        tint = torch.tensor([0.86, 0.93, 1.0]).view(3, 1, 1)
        out.append(torch.round((40 + 215 * v).unsqueeze(0) * tint))
    return out


@functools.lru_cache(maxsize=8)
def _frost_stack(h: int, w: int, cifar: bool) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """The 5 frost images sized for ``h x w`` inputs, padded into ``(5, 3, Hm, Wm)``, their sizes, and
    whether they are the photos."""
    import torch.nn.functional as F

    d = frost_photo_dir()
    if d is None:
        imgs, photos = _procedural_frost(h, w), False
    else:
        from torchvision.io import ImageReadMode, decode_image, read_file

        imgs, photos = [], True
        for f in _FROST_FILES:
            im = decode_image(read_file(os.path.join(d, f)), mode=ImageReadMode.RGB).float()
            fh, fw = im.shape[-2:]
            if cifar:  # cv2.resize(fx=fy=0.2), bilinear
                size = (int(round(fh * 0.2)), int(round(fw * 0.2)))
                im = F.interpolate(im[None], size=size, mode="bilinear", align_corners=False)[0]
            else:  # scale so that it covers the image, times 1.1, bicubic (imagecorruptions)
                s = 1.0
                if fh < h and fw >= w:
                    s = h / fh
                elif fh >= h and fw < w:
                    s = w / fw
                elif fh < h and fw < w:
                    s = max(h / fh, w / fw)
                s *= 1.1
                size = (int(math.ceil(fh * s)), int(math.ceil(fw * s)))
                im = F.interpolate(im[None], size=size, mode="bicubic", align_corners=False)[0]
            imgs.append(im.round().clamp(0, 255))
    # a frost image smaller than the input is tiled (reflected) up to it
    fixed = []
    for im in imgs:
        fh, fw = im.shape[-2:]
        if fh <= h or fw <= w:
            im = im[:, O.border_index(fh, 0, max(0, h + 1 - fh), "symmetric", im.device)]
            im = im[:, :, O.border_index(fw, 0, max(0, w + 1 - fw), "symmetric", im.device)]
        fixed.append(im)
    Hm = max(i.shape[-2] for i in fixed)
    Wm = max(i.shape[-1] for i in fixed)
    stack = torch.zeros(len(fixed), 3, Hm, Wm)
    sizes = torch.zeros(len(fixed), 2, dtype=torch.long)
    for i, im in enumerate(fixed):
        stack[i, :, : im.shape[-2], : im.shape[-1]] = im
        sizes[i, 0], sizes[i, 1] = im.shape[-2], im.shape[-1]
    return stack, sizes, photos


_warned_frost = False


def frost(x, sev, table, levels, g, cifar):
    """``clip(c0 x + c1 frost)`` with a random crop of one of the first five frost photos of
    ``imagecorruptions`` (sized as it does; CIFAR-10-C: shrunk by 0.2). Without the package a
    documented procedural frost is used (warned once)."""
    global _warned_frost
    B, C, H, W = x.shape
    stack, sizes, photos = _frost_stack(H, W, cifar)
    if not photos and not _warned_frost:
        warnings.warn("torchaug.corruptions: frost uses a procedural frost texture (imagecorruptions, which "
                      "ships the frost photos of ImageNet-C, is not installed)", stacklevel=3)
        _warned_frost = True
    stack, sizes = stack.to(x.device), sizes.to(x.device)
    u = torch.rand((B, 3), generator=g, device=x.device, dtype=torch.float64)
    idx = torch.floor(u[:, 0] * 5).long().clamp_max(4)
    hi_y = (sizes[idx, 0] - H).clamp_min(1)
    hi_x = (sizes[idx, 1] - W).clamp_min(1)
    y0 = torch.floor(u[:, 1] * hi_y).long()
    x0 = torch.floor(u[:, 2] * hi_x).long()
    rows = (y0.view(-1, 1) + torch.arange(H, device=x.device)).view(B, 1, H, 1)
    cols = (x0.view(-1, 1) + torch.arange(W, device=x.device)).view(B, 1, 1, W)
    Hm, Wm = stack.shape[-2:]
    chan = torch.arange(3, device=x.device).view(1, 3, 1, 1)
    flat_idx = ((idx.view(-1, 1, 1, 1) * 3 + chan) * Hm + rows) * Wm + cols  # (B, 3, H, W) into the stack
    fr = stack.reshape(-1)[flat_idx.reshape(-1)].view(B, 3, H, W)
    c0, c1 = _v(_col(table, sev, 0)), _v(_col(table, sev, 1))
    return (c0 * torch.floor(x * 255 + 1e-4) + c1 * fr) / 255


def _fog_draws(x, sev, table, g) -> tuple[torch.Tensor, torch.Tensor]:
    """Fog's plasma map ``(B, 1, H, W)`` (decay ``c1``) and its weight ``c0`` ``(B, 1, 1, 1)``."""
    B, C, H, W = x.shape
    size = O.next_power_of_2(max(H, W))
    p = O.plasma_fractal(B, size, _col(table, sev, 1), g, x.device)[:, None, :H, :W]
    return p, _v(_col(table, sev, 0))


def _fog_mix(x: torch.Tensor, p: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    mx = x.amax((1, 2, 3), keepdim=True)
    return (x + c * p) * mx / (mx + c)


def _fog_mix_u8(x: torch.Tensor, p: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """:func:`_fog_mix` of ``x / 255`` clipped and truncated to uint8 as :func:`corrupt` does it."""
    return quantise_unit(_fog_mix(x.to(torch.float32).div_(255), p, c))


def fog(x, sev, table, levels, g, cifar):
    """``(x + c0 plasma) max(x) / (max(x) + c0)`` with a diamond-square plasma fractal of decay ``c1``.
    The map is drawn for the whole batch; the mix runs on chunks of samples on the CPU."""
    p, c = _fog_draws(x, sev, table, g)
    return run_chunked(_fog_mix, x, (p, c), chunk_bytes=THRESHOLDS.corruption_chunk_bytes)


def fog_u8(x, sev, table, levels, g, cifar):
    """:func:`fog` of a uint8 batch to uint8, the same integers (the float steps per chunk of samples)."""
    p, c = _fog_draws(x, sev, table, g)
    return run_chunked(_fog_mix_u8, x, (p, c), chunk_bytes=THRESHOLDS.corruption_chunk_bytes)


# -- digital --------------------------------------------------------------------------------------


def brightness(x, sev, table, levels, g, cifar):
    """HSV value ``+ c`` (scikit-image's HSV, float64: :func:`torchaug.corruptions._ops.hsv_adjust`)."""
    return O.hsv_adjust(_exact64(x), value_add=_col(table, sev))


def brightness_u8(x, sev, table, levels, g, cifar):
    """:func:`brightness` of a uint8 batch straight to uint8 (``x / 255.`` in float64 is the references'
    input exactly; the result is their ``np.uint8`` of the float64 image, bitwise)."""
    return O.hsv_adjust(x.double().div_(255), value_add=_col(table, sev), to_uint8=True)


def contrast(x, sev, table, levels, g, cifar):
    """``(x - mean) c + mean`` with per-channel means."""
    m = x.mean((2, 3), keepdim=True)
    return (x - m) * _v(_col(table, sev)) + m


def contrast_u8(x, sev, table, levels, g, cifar):
    """:func:`contrast` of a uint8 batch on the 0..255 scale, truncated."""
    xf = x.to(torch.float32)
    m = xf.mean((2, 3), keepdim=True)
    return narrow_uint8_(xf.sub_(m).mul_(_v(_col(table, sev))).add_(m).clamp_(0, 255))


def saturate(x, sev, table, levels, g, cifar):
    """HSV saturation ``s c0 + c1`` (scikit-image's HSV, float64: :func:`torchaug.corruptions._ops.hsv_adjust`)."""
    return O.hsv_adjust(_exact64(x), sat_mul=_col(table, sev, 0), sat_add=_col(table, sev, 1))


def saturate_u8(x, sev, table, levels, g, cifar):
    """:func:`saturate` of a uint8 batch straight to uint8 (see :func:`brightness_u8`)."""
    return O.hsv_adjust(x.double().div_(255), sat_mul=_col(table, sev, 0), sat_add=_col(table, sev, 1), to_uint8=True)


def _blurred_field(shape: tuple, lo: torch.Tensor, sigma: torch.Tensor, radius: int, g, dev) -> torch.Tensor:
    B, H, W = shape
    u = torch.rand((B, 1, H, W), generator=g, device=dev, dtype=torch.float64).to(torch.float32)
    f = (2 * u - 1) * _v(lo)
    return O.gaussian_filter(f, sigma, radius, truncate=3.0, mode="symmetric")[:, 0]


def elastic_transform(x, sev, table, levels, g, cifar):
    """Elastic displacement: uniform noise smoothed by a Gaussian (scipy ``reflect`` border,
    truncate 3) times ``alpha``, applied by bilinear ``map_coordinates`` (``reflect``).

    ``imagecorruptions``: sigma = 1% of the height/width, noise in +-0.5% of the height.
    CIFAR-10-C: first a random affine warp (the three points ``centre +- size/3`` jittered by
    ``c2 * size``, OpenCV ``warpAffine``, reflect-101), then noise in [-1, 1], sigma ``c1 * size``,
    ``alpha = c0 * size`` (``size`` = the image height; the script's 32).
    """
    B, C, H, W = x.shape
    dev = x.device
    if not cifar:
        alpha = _col(table, sev)
        sy, sx = 0.01 * H, 0.01 * W
        mx = torch.full((B,), 0.005 * H, device=dev, dtype=torch.float64)
        ky = O.gaussian_taps(torch.full((B,), sy, device=dev), 3.0, int(3.0 * sy + 0.5))
        kx = O.gaussian_taps(torch.full((B,), sx, device=dev), 3.0, int(3.0 * sx + 0.5))

        def field() -> torch.Tensor:
            u = torch.rand((B, 1, H, W), generator=g, device=dev, dtype=torch.float64).to(torch.float32)
            return O.sep_filter((2 * u - 1) * _v(mx), ky, kx, "symmetric")[:, 0] * _v(alpha)[:, 0]

        dx, dy = field(), field()
        img = x
    else:
        size = float(H)
        c0, c1, c2 = (_col(table, sev, j) * size for j in range(3))
        cy, cx = (H // 2), (W // 2)
        sq = max(1, min(H, W) // 3)  # (tiny images: keep the three points apart)
        pts1 = torch.tensor([[cx + sq, cy + sq], [cx + sq, cy - sq], [cx - sq, cy - sq]], dtype=torch.float64, device=dev)
        jit = (torch.rand((B, 3, 2), generator=g, device=dev, dtype=torch.float64) * 2 - 1) * c2.view(-1, 1, 1)
        pts2 = pts1 + jit
        # M maps pts1 -> pts2 (x, y); warpAffine samples the source at M^-1 (dst)
        A = torch.cat([pts1, torch.ones(3, 1, dtype=torch.float64, device=dev)], 1).expand(B, 3, 3)
        M = torch.linalg.solve(A, pts2).transpose(1, 2)  # (B, 2, 3)
        full = torch.cat([M, torch.tensor([0, 0, 1.0], dtype=torch.float64, device=dev).expand(B, 1, 3)], 1)
        inv = torch.linalg.pinv(full)[:, :2]  # pinv: a jitter that makes the points collinear does not raise
        yy, xx = torch.meshgrid(torch.arange(H, device=dev, dtype=torch.float64),
                                torch.arange(W, device=dev, dtype=torch.float64), indexing="ij")
        sx_ = inv[:, 0, 0, None, None] * xx + inv[:, 0, 1, None, None] * yy + inv[:, 0, 2, None, None]
        sy_ = inv[:, 1, 0, None, None] * xx + inv[:, 1, 1, None, None] * yy + inv[:, 1, 2, None, None]
        img = O.sample_bilinear(x, sy_.float(), sx_.float(), "reflect101")
        r = O.gaussian_radius([float(t[1]) * size for t in _lv(table, levels)], 3.0)
        one = torch.ones(B, device=dev, dtype=torch.float64)
        dx = _blurred_field((B, H, W), one, c1, r, g, dev) * _v(c0)[:, 0]
        dy = _blurred_field((B, H, W), one, c1, r, g, dev) * _v(c0)[:, 0]
    yy, xx = torch.meshgrid(torch.arange(H, device=dev, dtype=torch.float32),
                            torch.arange(W, device=dev, dtype=torch.float32), indexing="ij")
    return O.sample_bilinear(img, yy + dy, xx + dx, "symmetric")


@functools.lru_cache(maxsize=32)
def _pixelate_ranges(n: int, table: tuple, cifar: bool, device: str) -> tuple[torch.Tensor, ...]:
    """Per severity: PIL ``BOX`` down-sampling windows ``[start, end)`` ``(5, O)`` (PIL's box taps are
    contiguous equal weights) to ``int(n c)`` (padded windows empty), and the way back to ``n``:
    NEAREST source indices ``(5, n)`` (ImageNet-C) or BOX windows ``(5, n)`` (CIFAR-10-C)."""
    cpu = torch.device("cpu")
    ms = [max(1, int(n * c)) for c in table]
    om = max(ms)

    def windows(n_in: int, n_out: int, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        i, w = O.pil_box_taps(n_in, n_out, cpu)
        st = torch.zeros(rows, dtype=torch.long)
        en = torch.zeros(rows, dtype=torch.long)
        nz = w > 0
        st[:n_out] = torch.where(nz, i, torch.full_like(i, n_in)).amin(1)
        en[:n_out] = torch.where(nz, i, torch.full_like(i, -1)).amax(1) + 1
        return st, en

    ds, de, us, ue = [], [], [], []
    for m in ms:
        a, b = windows(n, m, om)
        ds.append(a), de.append(b)
        if cifar:
            a, b = windows(m, n, n)
        else:
            a = O.pil_nearest_idx(m, n, cpu)
            b = a + 1
        us.append(a), ue.append(b)
    return tuple(torch.stack(v).to(device) for v in (ds, de, us, ue))


def _box_pass(x: torch.Tensor, dim: int, st: torch.Tensor, en: torch.Tensor) -> torch.Tensor:
    """Means of the windows ``[st, en)`` along ``dim`` (``st``/``en``: ``(O,)`` shared or ``(B, O)``),
    from a cumulative sum (two gathers; exact for integer-valued inputs)."""
    n = x.shape[dim]
    shape = list(x.shape)
    shape[dim] = 1
    cs = torch.cat([torch.zeros(shape, dtype=x.dtype, device=x.device), x.cumsum(dim)], dim)
    cnt = (en - st).clamp_min(1).to(x.dtype)
    if st.ndim == 1:
        out = (cs.index_select(dim, en) - cs.index_select(dim, st))
        view = [1] * x.ndim
        view[dim] = -1
        return out / cnt.view(view) * (en > st).to(x.dtype).view(view)
    B = x.shape[0]
    O_ = st.shape[1]
    view = [B] + [1] * (x.ndim - 1)
    view[dim] = O_
    exp = list(cs.shape)
    exp[dim] = O_
    g0 = cs.gather(dim, st.view(view).expand(exp))
    g1 = cs.gather(dim, en.view(view).expand(exp))
    return (g1 - g0) / cnt.view(view) * (en > st).to(x.dtype).view(view)


def pixelate(x, sev, table, levels, g, cifar, *, integer: bool = True):
    """PIL ``resize`` to ``int(size c)`` with ``BOX``, then back with ``NEAREST`` (CIFAR-10-C: ``BOX``).

    Width pass first, then height, each rounded to 8 bits for uint8 images (as PIL does). PIL's
    BOX taps are contiguous windows of equal weight, so each pass is a difference of a cumulative
    sum (on the 0..255 scale, exact for uint8 images); NEAREST is an index gather."""
    scale = 255.0 if integer else 1.0
    q = (lambda t: torch.floor(t + 0.5)) if integer else (lambda t: t)
    y = torch.round(x * 255) if integer else x
    tab = tuple(float(c) for c in table)
    dsy, dey, usy, uey = _pixelate_ranges(x.shape[-2], tab, cifar, str(x.device))
    dsx, dex, usx, uex = _pixelate_ranges(x.shape[-1], tab, cifar, str(x.device))
    pick = (lambda t: t[levels[0] - 1]) if len(levels) == 1 else (lambda t: t[sev - 1])
    y = q(_box_pass(y, 3, pick(dsx), pick(dex)))
    y = q(_box_pass(y, 2, pick(dsy), pick(dey)))
    if cifar:
        y = q(_box_pass(y, 3, pick(usx), pick(uex)))
        y = q(_box_pass(y, 2, pick(usy), pick(uey)))
    else:
        ix, iy = pick(usx), pick(usy)
        if ix.ndim == 1:
            y = y.index_select(3, ix).index_select(2, iy)
        else:
            B, C = y.shape[:2]
            y = y.gather(3, ix.view(B, 1, 1, -1).expand(B, C, y.shape[2], -1))
            y = y.gather(2, iy.view(B, 1, -1, 1).expand(B, C, -1, y.shape[3]))
    return y / scale


def _transposed_i16(t: torch.Tensor) -> torch.Tensor:
    """``(P, a, b)`` integer-valued (uint8 or float) as int16 ``(P, b + 1, a)``: transposed, with a
    zero row appended (the row that the absent taps of short windows read)."""
    P, a, b = t.shape
    out = torch.empty(P, b + 1, a, dtype=torch.int16, device=t.device)
    out[:, b].zero_()
    out[:, :b].copy_(t.transpose(1, 2))
    return out


def _box_rows(xt: torch.Tensor, st: torch.Tensor, en: torch.Tensor, lmax: int) -> torch.Tensor:
    """Means of the row windows ``[st, en)`` ``(O,)`` (at most ``lmax`` long) of the int16 rows of
    ``xt`` ``(P, n + 1, K)`` (:func:`_transposed_i16`: row ``n`` is zero), rounded half up, as
    integer-valued float32 ``(P, O, K)``: ``lmax`` (at most 128) whole-row gathers summed exactly in int16 (taps
    past a window's end read the zero row), divided by the window size (empty windows: 0)."""
    n = xt.shape[1] - 1
    ln = en - st
    zero = torch.full_like(st, n)
    s = xt.index_select(1, torch.where(ln > 0, st, zero))
    for t in range(1, lmax):
        s.add_(xt.index_select(1, torch.where(ln > t, st + t, zero)))
    return s.to(torch.float32).div_(ln.clamp_min(1).to(torch.float32).view(-1, 1)).add_(0.5).floor_()


@functools.lru_cache(maxsize=32)
def _pixelate_plan(n: int, table: tuple, cifar: bool) -> tuple[tuple[int, int, int], ...]:
    """Per severity: the number of down-sampling windows ``max(1, int(n c))`` and the longest down-
    and up-sampling window of :func:`_pixelate_ranges` (host ints)."""
    ds, de, us, ue = _pixelate_ranges(n, table, cifar, "cpu")
    return tuple((max(1, int(n * c)), int((de[i] - ds[i]).max()), int((ue[i] - us[i]).max()))
                 for i, c in enumerate(table))


def pixelate_u8(x, sev, table, levels, g, cifar):
    """:func:`pixelate` of a uint8 batch to uint8, the same integers. One severity for the batch:
    each box pass sums whole-row gathers in int16 (the width pass on the transposed image), the
    NEAREST up-sampling gathers uint8 columns of the small image, then rows. Per-sample
    severities: the cumulative-sum passes of :func:`pixelate`."""
    tab = tuple(float(c) for c in table)
    if len(levels) > 1:
        return pixelate(x.to(torch.float32).div_(255), sev, table, levels, g, cifar).mul_(255).round_().to(torch.uint8)
    i = levels[0] - 1
    B, C, H, W = x.shape
    dev = str(x.device)
    dsy, dey, usy, uey = (t[i] for t in _pixelate_ranges(H, tab, cifar, dev))
    dsx, dex, usx, uex = (t[i] for t in _pixelate_ranges(W, tab, cifar, dev))
    my, ly_down, ly_up = _pixelate_plan(H, tab, cifar)[i]
    mx, lx_down, lx_up = _pixelate_plan(W, tab, cifar)[i]
    y = _box_rows(_transposed_i16(x.reshape(B * C, H, W)), dsx[:mx], dex[:mx], lx_down)  # (P, mx, H)
    y = _box_rows(_transposed_i16(y), dsy[:my], dey[:my], ly_down)  # (P, my, mx)
    if cifar:
        y = _box_rows(_transposed_i16(y), usx, uex, lx_up)  # (P, W, my)
        return _box_rows(_transposed_i16(y), usy, uey, ly_up).to(torch.uint8).view(B, C, H, W)
    return y.to(torch.uint8).index_select(2, usx).index_select(1, usy).view(B, C, H, W)


def jpeg_compression(x, sev, table, levels, g, cifar):
    """JPEG at quality ``c`` (torchvision's libjpeg, as PIL's ``save(quality=c)``). The codec runs
    image by image (on CUDA as one nvJPEG batch when all samples share the quality); the
    per-sample qualities are read on the host."""
    u8 = torch.round(x.clamp(0, 1) * 255).to(torch.uint8)
    qual = [int(table[s - 1]) for s in (sev.tolist() if len(levels) > 1 else [levels[0]] * x.shape[0])]
    return jpeg_roundtrip_float(u8, qual)


def jpeg_compression_u8(x, sev, table, levels, g, cifar):
    """:func:`jpeg_compression` of a uint8 batch: the codec's uint8 output as is."""
    qual = [int(table[s - 1]) for s in (sev.tolist() if len(levels) > 1 else [levels[0]] * x.shape[0])]
    return O.jpeg_roundtrip(x, qual)


def jpeg_roundtrip_float(u8: torch.Tensor, qual: list[int]) -> torch.Tensor:
    return O.jpeg_roundtrip(u8, qual).to(torch.float32) / 255


def spatter(x, sev, table, levels, g, cifar):
    """A Gaussian liquid layer smoothed (``sigma``) and thresholded; severities with mode 0 add
    pale-turquoise water (175, 238, 238) shaped by OpenCV's Canny edges, distance transform
    (truncated at 20), blurs, histogram equalisation and an emboss filter; mode 1 covers the
    image with mud brown (63, 42, 20) where the smoothed mask exceeds 0.8."""
    B, C, H, W = x.shape
    dev = x.device
    loc, scale, sig, thr, inten, mode = (_col(table, sev, j) for j in range(6))
    modes = {int(t) for t in _lv(table, levels, 5)}
    liquid = torch.randn((B, 1, H, W), generator=g, device=dev) * _v(scale) + _v(loc)
    r = O.gaussian_radius(_lv(table, levels, 2), 4.0)
    liquid = O.gaussian_filter(liquid, _one(sig, levels), r)
    liquid = torch.where(liquid < _v(thr), torch.zeros_like(liquid), liquid)
    out_water = out_mud = None
    if 0 in modes:
        lq = torch.floor(liquid.clamp(0, 255 / 256) * 255)
        edges = O.canny(lq, 50.0, 150.0)
        dist = O.chamfer_distance(edges, 20.0)
        dist = torch.floor(O.box_blur3(dist))
        dist = O.equalize_hist(dist)
        ker = _table((-2.0, -1, 0, -1, 1, 1, 0, 1, 2), str(dev)).view(1, 3, 3).float()
        dist = torch.round(O.filter2d(dist, ker)).clamp(0, 255)
        dist = O.box_blur3(dist)
        m = lq * dist
        m = m / m.amax((2, 3), keepdim=True).clamp_min(1e-12) * _v(inten)
        color = _table((175.0, 238.0, 238.0), str(dev)).view(1, 3, 1, 1).float() / 255
        out_water = x + m * color
    if 1 in modes:
        m = (liquid > _v(thr)).float()
        rr = O.gaussian_radius([t for t, md in zip(_lv(table, levels, 4), _lv(table, levels, 5)) if int(md) == 1], 4.0)
        m = O.gaussian_filter(m, torch.where(mode == 1, inten, torch.ones_like(inten)), rr)
        m = torch.where(m < 0.8, torch.zeros_like(m), m)
        color = _table((63.0, 42.0, 20.0), str(dev)).view(1, 3, 1, 1).float() / 255
        out_mud = x * (1 - m) + color * m
    if out_water is None:
        return out_mud
    if out_mud is None:
        return out_water
    return torch.where(_v(mode) > 0.5, out_mud, out_water)


FUNCTIONS: dict[str, Fn] = {
    f.__name__: f
    for f in (gaussian_noise, shot_noise, impulse_noise, defocus_blur, glass_blur, motion_blur, zoom_blur, snow,
              frost, fog, brightness, contrast, elastic_transform, pixelate, jpeg_compression, speckle_noise,
              gaussian_blur, spatter, saturate)
}

#: uint8 -> uint8 fast paths (same random draws and results as the float path followed by
#: :func:`torchaug.corruptions.corrupt`'s quantisation; three-channel batches only)
U8_FUNCTIONS: dict[str, Fn] = {
    "gaussian_noise": gaussian_noise_u8,
    "shot_noise": shot_noise_u8,
    "speckle_noise": speckle_noise_u8,
    "impulse_noise": impulse_noise_u8,
    "fog": fog_u8,
    "contrast": contrast_u8,
    "brightness": brightness_u8,
    "saturate": saturate_u8,
    "pixelate": pixelate_u8,
    "jpeg_compression": jpeg_compression_u8,
}
