"""Private batched kernels of the corruptions (no randomness; per-sample parameters as tensors).

Generic pieces written here on purpose (the lead may merge them with ``torchaug.functional``):
border index maps (``reflect101``/``symmetric``/``replicate``), per-sample separable Gaussian
filtering with scipy's kernel, the anti-aliased disk kernel, per-sample tap resampling (PIL BOX,
nearest, scipy linear zoom), bilinear sampling with borders, scikit-image's RGB<->HSV, the
ImageMagick motion-blur kernel, the diamond-square plasma fractal, a JPEG round trip through
``torchvision.io``, and the OpenCV-style Canny / chamfer distance / histogram equalisation that the
``spatter`` corruption uses. Images are float ``(B, C, H, W)`` in [0, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from torchaug._cpu.chunks import run_chunked
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug._devpath import cpu_path

# -- borders ------------------------------------------------------------------------------------


def border_index(n: int, lo: int, hi: int, mode: str, device: torch.device) -> torch.Tensor:
    """Indices ``(lo + n + hi,)`` into an axis of length ``n`` padded by ``lo``/``hi`` samples.

    ``reflect101`` (OpenCV's default, ``dcb|abcd|cba``), ``symmetric`` (scipy's ``reflect``,
    ``cba|abcd|dcb``) or ``replicate`` (scipy's ``nearest``); any pad width (repeated reflection).
    """
    i = torch.arange(-lo, n + hi, device=device)
    if mode == "replicate" or n == 1:
        return i.clamp(0, n - 1)
    if mode == "reflect101":
        p = 2 * (n - 1)
        i = i.remainder(p)
        return torch.where(i >= n, p - i, i)
    if mode == "symmetric":
        p = 2 * n
        i = i.remainder(p)
        return torch.where(i >= n, p - 1 - i, i)
    raise ValueError(f"border_index: unknown mode {mode!r}")


def pad2d(x: torch.Tensor, ph: int, pw: int, mode: str) -> torch.Tensor:
    """Pad the last two axes of ``x`` by ``ph``/``pw`` on each side with ``mode`` (see :func:`border_index`)."""
    H, W = x.shape[-2:]
    if ph:
        x = x.index_select(-2, border_index(H, ph, ph, mode, x.device))
    if pw:
        x = x.index_select(-1, border_index(W, pw, pw, mode, x.device))
    return x


# -- filters ------------------------------------------------------------------------------------


def gaussian_taps(sigma: torch.Tensor, truncate: float, radius: int) -> torch.Tensor:
    """scipy's ``gaussian_filter`` kernels ``(B, 2 * radius + 1)`` for per-sample ``sigma`` ``(B,)``.

    Each kernel has its own radius ``int(truncate * sigma + 0.5)`` (zero beyond it) and is
    normalised; ``sigma == 0`` gives the identity (scipy skips the axis).
    """
    s = sigma.to(torch.float64).view(-1, 1)
    t = torch.arange(-radius, radius + 1, device=sigma.device, dtype=torch.float64).view(1, -1)
    r = torch.floor(truncate * s + 0.5)
    k = torch.exp(-0.5 * (t / s.clamp_min(1e-12)) ** 2) * (t.abs() <= r)
    k = torch.where(s > 0, k, (t == 0).to(k.dtype))
    return (k / k.sum(1, keepdim=True)).to(torch.float32)


def gaussian_radius(sigmas: list[float], truncate: float) -> int:
    return max(int(truncate * float(s) + 0.5) for s in sigmas)


def sep_filter(x: torch.Tensor, ky: torch.Tensor, kx: torch.Tensor, mode: str) -> torch.Tensor:
    """Correlate each sample of ``x`` ``(B, C, H, W)`` with its separable kernel ``ky`` ``(B, Ky)``
    (rows) and ``kx`` ``(B, Kx)`` (columns; leading size 1: shared), odd lengths, borders by
    ``mode``; one depthwise (grouped) convolution per axis, which on CPU is ~15x faster than the
    same kernel as a plain one-channel convolution over ``B * C`` images (measured, 1 thread). When
    the kernels are wide against the image (side at most twice the kernel), one batched product
    with the banded matrix per axis instead (about 2x faster for CIFAR-sized Gaussian blurs)."""
    if max(x.shape[-2:]) <= 2 * max(ky.shape[1], kx.shape[1]):  # small images: the banded product is cheaper
        return _sep_filter_matmul(x, ky, kx, mode)
    return _sep_filter_conv(x, ky, kx, mode)


def _sep_filter_conv(x: torch.Tensor, ky: torch.Tensor, kx: torch.Tensor, mode: str) -> torch.Tensor:
    B, C, H, W = x.shape
    ry, rx = ky.shape[1] // 2, kx.shape[1] // 2
    y = x.reshape(1, B * C, H, W)
    if ry:
        wy = ky.to(x.dtype).expand(B, -1).repeat_interleave(C, 0).view(B * C, 1, -1, 1)
        y = F.conv2d(pad2d(y, ry, 0, mode), wy, groups=B * C)
    if rx:
        wx = kx.to(x.dtype).expand(B, -1).repeat_interleave(C, 0).view(B * C, 1, 1, -1)
        y = F.conv2d(pad2d(y, 0, rx, mode), wx, groups=B * C)
    return y.view(B, C, H, W)


def _banded(n: int, k: torch.Tensor, mode: str, dtype: torch.dtype) -> torch.Tensor:
    """The correlation with each kernel ``k`` ``(Bk, T)`` along an axis of ``n`` samples, borders by
    ``mode``, as matrices ``(Bk, n, n)``: row ``o`` holds the taps of output ``o`` at the input
    positions the padded taps read (border taps folded onto their source)."""
    T = k.shape[1]
    src = border_index(n, T // 2, T // 2, mode, k.device).unfold(0, T, 1)  # (n, T) input read by each tap
    Bk = k.shape[0]
    m = torch.zeros(Bk, n, n, dtype=dtype, device=k.device)
    return m.scatter_add_(2, src.expand(Bk, n, T), k.to(dtype).view(Bk, 1, T).expand(Bk, n, T))


def _sep_filter_matmul(x: torch.Tensor, ky: torch.Tensor, kx: torch.Tensor, mode: str) -> torch.Tensor:
    """:func:`sep_filter` for kernels wide against the image (small images): each pass one batched
    matrix product with the banded matrix of its kernels (:func:`_banded`); the same correlation,
    summed in another order (float rounding only)."""
    B, C, H, W = x.shape
    y = x
    if ky.shape[1] > 1:
        my = _banded(H, ky, mode, x.dtype)
        y = torch.matmul(my if my.shape[0] == 1 else my.unsqueeze(1), y)
    if kx.shape[1] > 1:
        mx = _banded(W, kx, mode, x.dtype).transpose(1, 2)
        y = torch.matmul(y, mx if mx.shape[0] == 1 else mx.unsqueeze(1))
    return y.contiguous()


def gaussian_filter(x: torch.Tensor, sigma: torch.Tensor, radius: int, *, truncate: float = 4.0,
                    mode: str = "replicate") -> torch.Tensor:
    """scikit-image's ``gaussian(x, sigma, channel_axis=-1)`` (scipy ``gaussian_filter``, per
    channel, default ``mode='nearest'``, ``truncate=4``) with a per-sample ``sigma`` ``(B,)``."""
    k = gaussian_taps(sigma, truncate, radius)
    return sep_filter(x, k, k, mode)


def filter2d(x: torch.Tensor, kernel: torch.Tensor, mode: str = "reflect101") -> torch.Tensor:
    """OpenCV ``filter2D`` (correlation) of each sample with its own ``kernel`` ``(B, K, K)`` (leading
    size 1: shared), as one depthwise convolution."""
    B, C, H, W = x.shape
    r = kernel.shape[-1] // 2
    w = kernel.to(x.dtype).expand(B, -1, -1).repeat_interleave(C, 0).unsqueeze(1)
    return F.conv2d(pad2d(x.reshape(1, B * C, H, W), r, r, mode), w, groups=B * C).view(B, C, H, W)


def cv_gaussian_1d(ksize: int, sigma: float) -> torch.Tensor:
    """``cv2.getGaussianKernel(ksize, sigma)`` (float64)."""
    t = torch.arange(ksize, dtype=torch.float64) - (ksize - 1) / 2
    k = torch.exp(-(t**2) / (2 * sigma * sigma))
    return k / k.sum()


def disk_kernel(radius: float, alias_blur: float) -> torch.Tensor:
    """ImageNet-C's anti-aliased disk: the pixels with ``x^2 + y^2 <= radius^2`` of a
    ``17 x 17`` (``radius <= 8``) or ``(2 radius + 1)^2`` grid, normalised, then smoothed by
    OpenCV's ``GaussianBlur`` (3x3 or 5x5, ``sigma = alias_blur``, reflect-101 border)."""
    if radius <= 8:
        L, ks = torch.arange(-8, 9, dtype=torch.float64), 3
    else:
        L, ks = torch.arange(-int(radius), int(radius) + 1, dtype=torch.float64), 5
    d = ((L.view(-1, 1) ** 2 + L.view(1, -1) ** 2) <= radius**2).to(torch.float32)
    d = (d / d.sum()).to(torch.float64)
    g = cv_gaussian_1d(ks, alias_blur)
    out = sep_filter(d.view(1, 1, *d.shape), g.view(1, -1), g.view(1, -1), "reflect101")
    return out[0, 0].to(torch.float32)


def box_blur3(x: torch.Tensor) -> torch.Tensor:
    """OpenCV ``blur(x, (3, 3))`` (reflect-101 border) of ``(B, C, H, W)``."""
    k = torch.full((x.shape[0], 3), 1.0 / 3, device=x.device)
    return sep_filter(x, k, k, "reflect101")


# -- resampling ---------------------------------------------------------------------------------


def gather_taps(x: torch.Tensor, dim: int, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``out[..., o] = sum_t w[b, o, t] * x[..., idx[b, o, t]]`` along ``dim`` (2: rows, 3: columns)
    of ``x`` ``(B, C, H, W)``; ``idx``/``w`` are ``(B or 1, O, T)``."""
    B, C, H, W = x.shape
    O, T = idx.shape[1], idx.shape[2]
    out = None
    for t in range(T):
        if idx.shape[0] == 1:
            g = x.index_select(dim, idx[0, :, t])
            wt = w[0, :, t].view(1, 1, -1, 1) if dim == 2 else w[0, :, t].view(1, 1, 1, -1)
        elif dim == 2:
            g = x.gather(2, idx[:, None, :, t, None].expand(B, C, O, W))
            wt = w[:, None, :, t, None]
        else:
            g = x.gather(3, idx[:, None, None, :, t].expand(B, C, H, O))
            wt = w[:, None, None, :, t]
        out = g * wt if out is None else out.addcmul_(g, wt)
    return out


def pil_box_taps(n_in: int, n_out: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """PIL's ``BOX`` resampling coefficients ``(n_out, T)`` (``precompute_coeffs`` with support 0.5)."""
    scale = n_in / n_out
    fs = max(scale, 1.0)
    support = 0.5 * fs
    rows = []
    for i in range(n_out):
        center = (i + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), n_in)
        ws = []
        for j in range(xmin, xmax):
            u = (j - center + 0.5) / fs
            ws.append(1.0 if -0.5 < u <= 0.5 else 0.0)
        tot = sum(ws)
        rows.append([(j, wj / tot if tot else 0.0) for j, wj in zip(range(xmin, xmax), ws)])
    T = max(len(r) for r in rows)
    idx = torch.zeros(n_out, T, dtype=torch.long)
    w = torch.zeros(n_out, T)
    for i, r in enumerate(rows):
        for t, (j, wj) in enumerate(r):
            idx[i, t], w[i, t] = j, wj
    return idx.to(device), w.to(device)


def pil_nearest_idx(n_in: int, n_out: int, device: torch.device) -> torch.Tensor:
    """PIL's ``NEAREST`` resize source indices ``(n_out,)``: ``int(x)`` of the float64 running sum
    ``x = 0.5 * s, x += s`` with ``s = n_in / n_out`` (Pillow's affine scale loop, whose rounding
    of the sum decides the exact-half cases)."""
    s = n_in / n_out
    x = 0.5 * s
    out = []
    for _ in range(n_out):
        out.append(min(n_in - 1, int(x)))
        x += s
    return torch.tensor(out, dtype=torch.long, device=device)


def linear_zoom_taps(n: int, zoom: torch.Tensor, centered: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Taps ``(B, n, 2)`` of ImageNet-C's ``clipped_zoom`` along an axis of length ``n``.

    The centre crop of ``ch = ceil(n / z)`` samples is zoomed by scipy's ``zoom(order=1)`` to
    ``round(ch * z)`` samples (output ``o`` reads the crop at ``o * (ch - 1) / (out - 1)``);
    ``n`` of them are kept: the first ones (``imagecorruptions``) or the centred ones
    (``centered``, the CIFAR-10-C script). ``zoom`` is ``(B,)`` float64.
    """
    z = zoom.to(torch.float64).view(-1, 1)
    ch = torch.ceil(n / z)
    top = torch.floor((n - ch) / 2)
    out = torch.round(ch * z)
    trim = torch.floor((out - n) / 2) if centered else torch.zeros_like(out)
    o = torch.arange(n, device=zoom.device, dtype=torch.float64).view(1, -1) + trim
    ratio = torch.where(out > 1, (ch - 1) / (out - 1).clamp_min(1), torch.zeros_like(out))
    c = o * ratio
    i0 = torch.floor(c)
    f = c - i0
    i0 = i0 + top
    idx = torch.stack([i0, (i0 + 1).clamp_max(top + ch - 1)], -1).clamp(0, n - 1).long()
    w = torch.stack([1 - f, f], -1).to(torch.float32)
    return idx, w


def taps_matrix(idx: torch.Tensor, w: torch.Tensor, n_in: int) -> torch.Tensor:
    """Dense resampling matrices ``(B, O, n_in)`` of taps ``idx``/``w`` ``(B, O, T)``."""
    m = torch.zeros(*idx.shape[:2], n_in, device=w.device, dtype=w.dtype)
    return m.scatter_add_(2, idx, w)


#: images up to this side are zoomed by matrix products (BLAS), larger ones by 2-tap gathers
MATMUL_MAX_SIDE = 64


def clipped_zoom(x: torch.Tensor, zoom: torch.Tensor, centered: bool) -> torch.Tensor:
    """ImageNet-C's ``clipped_zoom`` of each sample by its own factor ``zoom`` ``(B,)`` (all the same
    when ``zoom`` has one entry)."""
    H, W = x.shape[-2:]
    iy, wy = linear_zoom_taps(H, zoom, centered)
    ix, wx = linear_zoom_taps(W, zoom, centered)
    if max(H, W) <= MATMUL_MAX_SIDE:
        ry = taps_matrix(iy, wy, H)  # (B or 1, H, H)
        rx = taps_matrix(ix, wx, W)
        if ry.shape[0] == 1:  # shared: two large GEMMs instead of B * C small ones
            B, C = x.shape[:2]
            y = (x.reshape(-1, W) @ rx[0].T).view(B, C, H, W)
            return (y.transpose(-1, -2).reshape(-1, H) @ ry[0].T).view(B, C, W, H).transpose(-1, -2)
        return torch.matmul(torch.matmul(ry.unsqueeze(1), x), rx.unsqueeze(1).transpose(-1, -2))
    return gather_taps(gather_taps(x, 2, iy, wy), 3, ix, wx)


def sample_bilinear(x: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, mode: str) -> torch.Tensor:
    """Bilinear samples of each sample of ``x`` ``(B, C, H, W)`` at float coordinates ``ys``/``xs``
    ``(B, H', W')`` (pixel units), the border extended by ``mode`` (see :func:`border_index`). On
    the CPU in chunks of samples (the index arithmetic stays in cache)."""
    return run_chunked(_sample_bilinear, x, (ys, xs), (mode,), chunk_bytes=THRESHOLDS.corruption_chunk_bytes)


def _sample_bilinear(x: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, mode: str) -> torch.Tensor:
    B, C, H, W = x.shape
    y0, x0 = torch.floor(ys), torch.floor(xs)
    fy, fx = (ys - y0).unsqueeze(1), (xs - x0).unsqueeze(1)
    y0, x0 = y0.long(), x0.long()

    def wrap(i: torch.Tensor, n: int) -> torch.Tensor:
        if mode == "replicate" or n == 1:
            return i.clamp_(0, n - 1)
        p = 2 * (n - 1) if mode == "reflect101" else 2 * n
        i = i.remainder_(p)
        return torch.where(i >= n, p - i - (0 if mode == "reflect101" else 1), i)

    rows = (wrap(y0.clone(), H).mul_(W), wrap(y0.add_(1), H).mul_(W))
    cols = (wrap(x0.clone(), W), wrap(x0.add_(1), W))
    flat = x.reshape(B, C, H * W)
    outs = [flat.gather(2, (r + c).view(B, 1, -1).expand(B, C, -1)).view(B, C, *ys.shape[1:]) for r in rows for c in cols]
    top = outs[1].sub_(outs[0]).mul_(fx).add_(outs[0])
    bot = outs[3].sub_(outs[2]).mul_(fx).add_(outs[2])
    return bot.sub_(top).mul_(fy).add_(top)


# -- colour -------------------------------------------------------------------------------------


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """scikit-image's ``rgb2hsv`` of ``(B, 3, H, W)`` (blue's hue formula wins ties, then green)."""
    r, g, b = x.unbind(1)
    v = x.amax(1)
    delta = v - x.amin(1)
    d = torch.where(delta == 0, torch.ones_like(delta), delta)
    s = torch.where(delta == 0, torch.zeros_like(v), delta / torch.where(v == 0, torch.ones_like(v), v))
    h = torch.where(r == v, (g - b) / d, torch.zeros_like(v))
    h = torch.where(g == v, 2.0 + (b - r) / d, h)
    h = torch.where(b == v, 4.0 + (r - g) / d, h)
    h = torch.where(delta == 0, torch.zeros_like(h), (h / 6.0).remainder(1.0))
    return torch.stack([h, s, v], 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """scikit-image's ``hsv2rgb`` of ``(B, 3, H, W)``."""
    h, s, v = hsv.unbind(1)
    hi = torch.floor(h * 6)
    f = h * 6 - hi
    p = v * (1 - s)
    q = v * (1 - f * s)
    t = v * (1 - (1 - f) * s)
    hi = hi.remainder(6).long()
    r = torch.stack([v, q, p, p, t, v], 0).gather(0, hi.unsqueeze(0))[0]
    g = torch.stack([t, v, v, q, p, p], 0).gather(0, hi.unsqueeze(0))[0]
    b = torch.stack([p, p, t, v, v, q], 0).gather(0, hi.unsqueeze(0))[0]
    return torch.stack([r, g, b], 1)


#: per hue sector ``hi`` (0..5), which of ``(v, p, mid)`` each of R, G, B is in scikit-image's ``hsv2rgb``
#: (``mid`` is ``t`` in the even sectors and ``q`` in the odd ones)
#: (a 7th column: ``floor(6 h)`` can round to 6, which ``% 6`` maps to sector 0)
_SECTOR_PICK = ((0, 2, 1, 1, 2, 0, 0), (2, 0, 0, 2, 1, 1, 2), (1, 1, 2, 0, 0, 2, 1))


def hsv_adjust(x: torch.Tensor, *, value_add: torch.Tensor | None = None, sat_mul: torch.Tensor | None = None,
               sat_add: torch.Tensor | None = None, to_uint8: bool = False) -> torch.Tensor:
    """scikit-image's ``hsv2rgb(adjust(rgb2hsv(x)))`` of float64 ``(B, 3, H, W)`` in one pass per
    quantity: ``V <- clip(V + value_add)`` (brightness) or ``S <- clip(S sat_mul + sat_add)``
    (saturate), per-sample ``(B,)`` float64 parameters.

    The float64 operations are scikit-image's, in its order (hue numerator and offset are selected
    before the one division; ``mid = V (1 - w S)`` with ``w = f`` or ``1 - f`` is ``q`` or ``t``),
    so the result is bitwise the same as :func:`rgb_to_hsv` / :func:`hsv_to_rgb`; what is saved is
    the temporaries (no stacked HSV image, no 6-way candidate stacks). ``to_uint8``: return
    ``floor(clip(rgb) * 255)`` as uint8 (the references' ``np.uint8`` of the float64 result), the
    per-channel choice done on uint8 planes.
    """
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    v = torch.maximum(torch.maximum(r, g), b)
    delta = v - torch.minimum(torch.minimum(r, g), b)
    flat = delta == 0
    s = (delta / v).masked_fill_(flat, 0.0)
    bmax, gmax = b == v, g == v
    num = torch.where(bmax, r - g, torch.where(gmax, b - r, g - b))
    off = torch.zeros_like(v).masked_fill_(gmax, 2.0).masked_fill_(bmax, 4.0)
    h = num.div_(delta).add_(off).div_(6.0)
    h = h.sub_(torch.floor(h)).masked_fill_(flat, 0.0)  # % 1.0: h / 6 is in (-1, 1), where both are a - floor(a)
    del num, off, bmax, gmax, flat
    if value_add is not None:
        v = v.add_(value_add.view(-1, 1, 1)).clamp_(0, 1)
    if sat_mul is not None:
        s = s.mul_(sat_mul.view(-1, 1, 1)).add_(sat_add.view(-1, 1, 1)).clamp_(0, 1)
    h6 = h.mul_(6.0)
    hi = torch.floor(h6)
    f = h6.sub_(hi)
    hi = hi.to(torch.int64)  # 0..6
    w = torch.where((hi & 1).bool(), f, 1 - f)
    cand = torch.empty((3, *v.shape), dtype=v.dtype, device=v.device)
    cand[0] = v
    torch.mul(torch.rsub(s, 1), v, out=cand[1])  # p = v (1 - s)
    torch.mul(torch.rsub(w.mul_(s), 1), v, out=cand[2])  # q or t = v (1 - w s)
    if to_uint8:
        cand = cand.clamp_(0, 1).mul_(255).floor_().to(torch.uint8)
    lut = torch.tensor(_SECTOR_PICK, dtype=torch.int64, device=x.device)
    idx = lut.view(3, 7, *([1] * hi.ndim)).expand(3, 7, *hi.shape).gather(1, hi.unsqueeze(0).expand(3, *hi.shape).unsqueeze(1))[:, 0]
    return cand.gather(0, idx).transpose(0, 1)


def cv_gray(x: torch.Tensor) -> torch.Tensor:
    """OpenCV ``RGB2GRAY`` ``(B, 1, H, W)`` of ``(B, 3, H, W)``: ``0.299 R + 0.587 G + 0.114 B``."""
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)


# -- motion blur --------------------------------------------------------------------------------


def motion_blur(x: torch.Tensor, radius: torch.Tensor, sigma: torch.Tensor, angle: torch.Tensor, max_radius: int) -> torch.Tensor:
    """ImageMagick's ``MotionBlurImage`` (``MagickCore/effect.c``), batched with per-sample
    ``radius``/``sigma``/``angle`` (degrees) ``(B,)``.

    The kernel has ``width = 2 * radius + 1`` one-sided Gaussian weights
    ``exp(-i^2 / (2 sigma^2))`` (normalised over the width); tap ``i`` reads the pixel at
    ``(x + ceil(i cos(angle) - 0.5), y + ceil(i sin(angle) - 0.5))``, edge pixels repeated (the
    ``imagecorruptions`` port; taps stop once an offset leaves the image). ``x`` ``(B, C, H, W)``.
    """
    return run_chunked(_motion_blur, x, (radius, sigma, angle), (max_radius,), chunk_bytes=THRESHOLDS.corruption_chunk_bytes)


def _motion_blur(x: torch.Tensor, radius: torch.Tensor, sigma: torch.Tensor, angle: torch.Tensor, max_radius: int) -> torch.Tensor:
    """:func:`motion_blur` in one pass (on the CPU: a chunk of samples whose taps stay in cache)."""
    B, C, H, W = x.shape
    width = 2 * max_radius + 1
    i = torch.arange(width, device=x.device, dtype=torch.float64).view(1, -1)
    wb = (2 * radius.to(torch.float64) + 1).view(-1, 1)
    s = sigma.to(torch.float64).view(-1, 1)
    k = torch.exp(-(i**2) / (2 * s * s)) * (i < wb)
    k = k / k.sum(1, keepdim=True)
    a = torch.deg2rad(angle.to(torch.float64)).view(-1, 1)
    dy = -torch.ceil(i * torch.sin(a) - 0.5)
    dx = -torch.ceil(i * torch.cos(a) - 0.5)
    inside = (dy.abs() < H) & (dx.abs() < W)
    k = k * (torch.cumprod(inside.to(torch.float64), 1))
    k = k.to(x.dtype)
    # edge pixels repeated: rows by clamped row indices, columns by a replicate pad of P columns; tap t
    # of sample b is then the window of W values starting P - dx in each padded row (every tap that
    # keeps a weight has |dx| < W)
    P = min(width - 1, W - 1)
    Wp = W + 2 * P
    xp = torch.empty(B, C, H, Wp, dtype=x.dtype, device=x.device)
    xp[..., P:P + W] = x
    xp[..., :P] = x[..., :1]
    xp[..., P + W:] = x[..., W - 1:]
    flat = xp.view(-1)
    windows = flat.as_strided((flat.numel() - W + 1, W), (1, 1))
    plane = torch.arange(B * C, device=x.device).view(1, B, C, 1) * (H * Wp)
    ys = torch.arange(H, device=x.device).view(1, 1, 1, H)
    dyl, dxl = dy.long().t().reshape(width, B, 1, 1), dx.long().clamp(-P, P).t().reshape(width, B, 1, 1)
    starts = ((ys - dyl).clamp_(0, H - 1).mul_(Wp) + plane).sub_(dxl).add_(P).reshape(width, -1)  # (T, B C H)
    out = torch.zeros_like(x)
    got = torch.empty(B * C * H, W, dtype=x.dtype, device=x.device)
    for t in range(width):
        torch.index_select(windows, 0, starts[t], out=got)
        out.addcmul_(got.view(B, C, H, W), k[:, t].view(-1, 1, 1, 1))
    return out


# -- plasma fractal -----------------------------------------------------------------------------


def plasma_fractal(b: int, mapsize: int, wibbledecay: torch.Tensor, generator: torch.Generator | None,
                   device: torch.device) -> torch.Tensor:
    """ImageNet-C's diamond-square height map ``(B, mapsize, mapsize)`` float32 in [0, 1] (a modification
    of FLHerne/mapgen's ``diamondsquare.py``), per-sample ``wibbledecay`` ``(B,)``; ``mapsize`` a power of 2.

    Level by level on dense grids: the points of the coarse grid ``c`` (multiples of the step), the
    square centres ``d`` and the two edge midpoints, each ``wm(a) = a / 4 + U(-w, w) w``, interleaved
    into the next grid; wrap-around neighbours as in the reference's ``np.roll``. In float32 (the map
    is normalised at the end; the finest level's amplitude is ~1e-4 of the range, far above float32's
    rounding)."""
    f32 = torch.float32
    decay = wibbledecay.to(device=device, dtype=f32).view(-1, 1, 1)
    wib = torch.full((b, 1, 1), 100.0, device=device, dtype=f32)
    c = torch.zeros(b, 1, 1, device=device, dtype=f32)

    def wm(a: torch.Tensor) -> torch.Tensor:
        u = torch.empty(a.shape, device=device, dtype=f32).uniform_(-1, 1, generator=generator)
        return u.mul_(wib * wib).add_(a, alpha=0.25)

    n = 1
    while n < mapsize:
        below = torch.roll(c, -1, 1)
        sq = c + below
        sq.add_(torch.roll(sq, -1, 2))
        d = wm(sq)
        row_mid = d + torch.roll(d, 1, 1)  # between two corners of a row
        row_mid.add_(c).add_(torch.roll(c, -1, 2))
        col_mid = d + torch.roll(d, 1, 2)  # between two corners of a column
        col_mid.add_(c).add_(below)
        nxt = torch.empty(b, n, 2, n, 2, device=device, dtype=f32)
        nxt[:, :, 0, :, 0] = c
        nxt[:, :, 0, :, 1] = wm(row_mid)
        nxt[:, :, 1, :, 0] = wm(col_mid)
        nxt[:, :, 1, :, 1] = d
        c = nxt.view(b, 2 * n, 2 * n)
        n *= 2
        wib = wib / decay
    c = c - c.amin((1, 2), keepdim=True)
    return c.div_(c.amax((1, 2), keepdim=True).clamp_min(1e-12))


def next_power_of_2(n: int) -> int:
    return 1 if n == 0 else 2 ** (n - 1).bit_length()


# -- JPEG ---------------------------------------------------------------------------------------


def jpeg_roundtrip(x_u8: torch.Tensor, quality: list[int]) -> torch.Tensor:
    """Encode each sample of uint8 ``(B, 3, H, W)`` as a JPEG of its own ``quality`` and decode it
    (``torchvision.io``, libjpeg defaults: 4:2:0 chroma, islow DCT, as PIL's ``save``)."""
    from torchvision.io import decode_jpeg, encode_jpeg

    dev = x_u8.device
    imgs = list(x_u8.contiguous().unbind(0))
    if dev.type == "cuda" and len(set(quality)) == 1:
        enc = encode_jpeg(imgs, quality=quality[0])
        return torch.stack(decode_jpeg(enc, device=dev))
    cpu = [im.cpu() for im in imgs]
    enc = [encode_jpeg(im, quality=q) for im, q in zip(cpu, quality)]
    return torch.stack(decode_jpeg(enc)).to(dev)


# -- spatter's OpenCV pieces ---------------------------------------------------------------------


def canny(img: torch.Tensor, low: float, high: float, iterations: int = 24) -> torch.Tensor:
    """OpenCV-style ``Canny(img, low, high)`` edges (bool ``(B, 1, H, W)``) of uint8-valued float
    ``img`` ``(B, 1, H, W)``: 3x3 Sobel, L1 magnitude, non-maximum suppression in 4 directions,
    hysteresis by ``iterations`` 8-connected dilations of the strong edges into the weak ones. On
    the CPU in chunks of samples."""
    return run_chunked(_canny, img, (), (low, high, iterations), chunk_bytes=THRESHOLDS.corruption_chunk_bytes)


def _canny(img: torch.Tensor, low: float, high: float, iterations: int) -> torch.Tensor:
    p = pad2d(img, 1, 1, "replicate")
    # integer-valued input: every Sobel sum is exact, so the separable order gives the same values
    diff_x = p[..., :, 2:] - p[..., :, :-2]
    gx = diff_x[..., 1:-1, :] * 2
    gx.add_(diff_x[..., :-2, :]).add_(diff_x[..., 2:, :])
    diff_y = p[..., 2:, :] - p[..., :-2, :]
    gy = diff_y[..., 1:-1] * 2
    gy.add_(diff_y[..., :-2]).add_(diff_y[..., 2:])
    ax, ay = gx.abs(), gy.abs()
    mag = ax + ay
    mp = F.pad(mag, (1, 1, 1, 1))
    H, W = img.shape[-2:]

    def nb(dy: int, dx: int) -> torch.Tensor:
        return mp[..., 1 + dy : 1 + dy + H, 1 + dx : 1 + dx + W]

    tan22, tan67 = math.tan(math.radians(22.5)), math.tan(math.radians(67.5))
    horiz = ay <= ax * tan22
    vert = ay > ax * tan67
    same = (gx * gy) > 0
    # a maximum across the gradient direction (horizontal, vertical or one of the diagonals; horiz and
    # vert exclude each other), as boolean algebra: CPU ``where`` runs a scalar loop
    diag = ~(horiz | vert)
    nms = horiz & (mag > nb(0, -1)) & (mag >= nb(0, 1))
    nms |= vert & (mag > nb(-1, 0)) & (mag >= nb(1, 0))
    nms |= diag & same & (mag > nb(-1, -1)) & (mag >= nb(1, 1))
    nms |= diag & ~same & (mag > nb(-1, 1)) & (mag >= nb(1, -1))
    weak = (nms & (mag > low)).to(torch.uint8)
    # 3x3 dilations of the strong edges into the weak pixels, on uint8 in a zero-bordered buffer
    # (strong is a subset of weak, so ``max(edges, dilate(edges) * weak) == dilate(edges) & weak``)
    buf = F.pad((nms & (mag > high)).to(torch.uint8), (1, 1, 1, 1))
    inner = buf[..., 1:-1, 1:-1]
    on_cpu = cpu_path(img)
    for _ in range(iterations):
        r = torch.maximum(torch.maximum(buf[..., :-2], buf[..., 1:-1]), buf[..., 2:])
        d = torch.maximum(torch.maximum(r[..., :-2, :], r[..., 1:-1, :]), r[..., 2:, :])
        torch.bitwise_and(d, weak, out=d)
        if on_cpu and torch.equal(d, inner):  # converged: the remaining dilations change nothing
            break
        inner.copy_(d)
    return inner > 0


def chamfer_distance(edges: torch.Tensor, cap: float) -> torch.Tensor:
    """OpenCV ``distanceTransform(255 - edges, DIST_L2, 5)`` truncated at ``cap``: the 5x5 chamfer
    distance (weights 1, 1.4, 2.1969) to the nearest edge pixel of ``edges`` (bool ``(B, 1, H, W)``).

    Borgefors' two raster passes, as OpenCV runs them (forward: the rows above and the left
    neighbour; backward: the rows below and the right neighbour), vectorised over the batch and
    the row: each row takes the moves from the one or two finished rows next to it, then the
    in-row unit steps as a running minimum, ``min_{x' <= x} (d[x'] - x') + x`` (``cummin``), in
    place in one padded buffer (the backward pass on its mirror image). Equal to the relaxation
    (:func:`chamfer_distance_relax`) up to float rounding of the sums.
    """
    B, _, H, W = edges.shape
    big = 1e4
    a, b, c = 1.0, 1.4, 2.1969
    # rows padded by two columns of ``big``: the moves to x -+ 1 and x -+ 2 are views
    buf = torch.full((B, H, W + 4), big, device=edges.device)
    core = buf[:, :, 2:2 + W]
    core.masked_fill_(edges[:, 0], 0.0)
    ar = torch.arange(W, device=edges.device, dtype=torch.float32)
    run = torch.empty(B, W, device=edges.device)
    arg = torch.empty(B, W, dtype=torch.long, device=edges.device)

    def row(y: int, step: int, offs: torch.Tensor, sign: float) -> None:
        """Row ``y`` of a pass whose finished rows are ``y - step`` and ``y - 2 step``, in place.
        The moves across rows come in mirrored pairs, so they read the same in a flipped buffer."""
        cand = core[:, y]
        if 0 <= y - step < H:
            r1 = buf[:, y - step]
            m = torch.minimum(r1[:, 1:1 + W], r1[:, 3:3 + W]).add_(b)
            k = torch.minimum(r1[:, :W], r1[:, 4:4 + W])
            if 0 <= y - 2 * step < H:
                r2 = buf[:, y - 2 * step]
                torch.minimum(k, torch.minimum(r2[:, 1:1 + W], r2[:, 3:3 + W]), out=k)
            torch.minimum(m, k.add_(c), out=m)
            torch.minimum(m, r1[:, 2:2 + W] + a, out=m)
            torch.minimum(cand, m, out=cand)
        # in-row unit steps: min over x' before x of d[x'] + (x - x'), as a running minimum
        torch.cummin(torch.add(cand, offs, alpha=sign), 1, out=(run, arg))
        torch.minimum(cand, run.sub_(offs, alpha=sign), out=cand)

    for y in range(H):  # forward: the rows above and the left neighbour
        row(y, 1, ar, -1.0)
    # backward (the rows below and the right neighbour) on the mirrored buffer, the same float sums:
    # d[x'] + x' - x, with x' and x the original columns
    buf = buf.flip(-1)
    core = buf[:, :, 2:2 + W]
    rev = ar.flip(0)
    for y in range(H - 1, -1, -1):
        row(y, -1, rev, 1.0)
    return core.flip(-1).unsqueeze(1).clamp_max_(cap)


def chamfer_distance_relax(edges: torch.Tensor, cap: float) -> torch.Tensor:
    """:func:`chamfer_distance` by parallel relaxation (``cap + 2`` rounds of the 16 moves over the whole
    image): the definition, kept as the check of the row scans."""
    big = 1e4
    d = torch.where(edges, torch.zeros_like(edges, dtype=torch.float32), torch.full_like(edges, big, dtype=torch.float32))
    offs = [(0, 1, 1.0), (1, 0, 1.0), (0, -1, 1.0), (-1, 0, 1.0)]
    offs += [(a, b, 1.4) for a in (-1, 1) for b in (-1, 1)]
    offs += [(a, b, 2.1969) for a, b in ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1))]
    H, W = d.shape[-2:]
    for _ in range(int(cap / 1.0) + 2):
        p = F.pad(d, (2, 2, 2, 2), value=big)
        best = d
        for dy, dx, w in offs:
            best = torch.minimum(best, p[..., 2 + dy : 2 + dy + H, 2 + dx : 2 + dx + W] + w)
        d = best
    return d.clamp_max(cap)


def equalize_hist(img: torch.Tensor) -> torch.Tensor:
    """OpenCV ``equalizeHist`` of uint8-valued float ``(B, 1, H, W)`` (per sample)."""
    B = img.shape[0]
    v = img.reshape(B, -1).long().clamp(0, 255)
    hist = torch.zeros(B, 256, device=img.device, dtype=torch.float64).scatter_add_(1, v, torch.ones_like(v, dtype=torch.float64))
    cdf = hist.cumsum(1)
    total = float(v.shape[1])
    first = (hist > 0).to(torch.float64).argmax(1, keepdim=True)
    c0 = cdf.gather(1, first)
    lut = torch.round((cdf - c0) * 255.0 / (total - c0).clamp_min(1)).clamp(0, 255)
    lut = torch.where(total - c0 > 0, lut, first.to(torch.float64).expand(-1, 256))
    return lut.gather(1, v).to(img.dtype).view_as(img)
