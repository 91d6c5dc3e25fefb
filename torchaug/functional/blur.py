"""Batched blur kernels with per-sample parameters: box, median, motion, defocus, zoom, glass and
anisotropic (generalised) Gaussian blur, plus the shared per-sample convolution they run on. No
randomness: random fields (kernel noise, glass displacements) are passed in.

``x`` is ``(B, C, H, W)``, ``uint8`` in [0, 255] or floating in [0, 1]; outputs keep its shape,
dtype, device and memory format. Borders follow OpenCV's defaults, which albumentations uses:
``BORDER_REFLECT_101`` (``dcb|abcd|cba``, torch's ``"reflect"``) for linear filters, replicate for
the median. The padding works at any image size (a 1x1 image included), as OpenCV's does.

Per-sample kernels are applied in one grouped convolution over the ``B * C`` planes
(``groups=B*C``), each plane with its sample's kernel, zero-padded to the largest kernel of the
batch (a zero tap adds nothing): no Python loop over samples.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from torchaug._devpath import cpu_path
from torchaug._cpu.chunks import run_chunked
from torchaug._cpu.registry import fast_path
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug.functional._workspace import constant
from torchaug.functional.color import _keep_format

__all__ = [
    "pad_reflect101",
    "filter2d",
    "separable_filter",
    "cv2_gaussian_kernels",
    "box_kernels",
    "box_blur",
    "median_blur",
    "motion_kernels",
    "motion_blur",
    "defocus_kernels",
    "defocus",
    "generalized_gaussian_kernels",
    "zoom_blur",
    "glass_blur",
]


def _kmax(ksize: torch.Tensor) -> int:
    """The largest kernel size of the batch (one read of a ``(B,)`` tensor)."""
    return int(ksize.max()) if ksize.numel() else 1


def _work(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """A float work copy of ``x`` in its own value scale: (float32 for uint8/half, else x's dtype)."""
    integer = x.dtype == torch.uint8
    if integer or x.dtype in (torch.float16, torch.bfloat16):
        return x.to(torch.float32), integer
    return x, integer


def _finish(y: torch.Tensor, like: torch.Tensor, integer: bool, clamp: bool = True) -> torch.Tensor:
    """Round (uint8), clamp to the valid range and cast back to ``like``'s dtype and format.

    ``y`` must be a private work tensor (it is modified). For ``uint8`` from float32 the value is
    rounded to nearest (half to even, as OpenCV's ``saturate_cast``) by adding ``2**23`` and
    narrowing the bits, ~4x faster on CPU than ``round`` + the float -> uint8 cast.
    """
    if integer:
        y = y.clamp_(0.0, 255.0)
        if y.dtype == torch.float32 and y.is_contiguous():
            out = y.add_(8388608.0).view(torch.int32).to(torch.uint8)
        else:
            out = y.round_().to(torch.uint8)
        return _keep_format(out, like)
    if clamp:
        y = y.clamp_(0.0, 1.0)
    out = y if y.dtype == like.dtype else y.to(like.dtype)
    return _keep_format(out.contiguous(), like)


def _reflect101_index(n: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    """Source indices of a reflect-101 padded axis of length ``n`` (any pad, ``n >= 1``)."""
    i = torch.arange(-before, n + after, device=device)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = i.remainder(period)
    return torch.where(i >= n, period - i, i)


def pad_reflect101(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """Pad the last two axes with OpenCV's ``BORDER_REFLECT_101`` (torch's ``"reflect"``).

    Uses ``F.pad`` when the pads are smaller than the image, else gathers reflected indices
    (OpenCV's rule for pads larger than the image: reflect again, period ``2 * (n - 1)``).
    """
    H, W = x.shape[-2:]
    if left == right == top == bottom == 0:
        return x
    if max(left, right) < W and max(top, bottom) < H:
        return F.pad(x, (left, right, top, bottom), mode="reflect")
    iy = _reflect101_index(H, top, bottom, x.device)
    ix = _reflect101_index(W, left, right, x.device)
    return x.index_select(-2, iy).index_select(-1, ix)


def _pad_replicate(x: torch.Tensor, r: int) -> torch.Tensor:
    return F.pad(x, (r, r, r, r), mode="replicate") if r else x


def _pad_work(x: torch.Tensor, pw: int, ph: int, dtype: torch.dtype) -> torch.Tensor:
    """A new contiguous ``dtype`` copy of ``x`` padded by ``pw`` columns and ``ph`` rows on each
    side with reflect-101 (any image size): the cast is done by the copy into the buffer, so the
    input is read once."""
    B, C, H, W = x.shape
    out = torch.empty((B, C, H + 2 * ph, W + 2 * pw), dtype=dtype, device=x.device)
    out[:, :, ph : ph + H, pw : pw + W].copy_(x)
    if pw:
        ix = _reflect101_index(W, pw, pw, x.device) + pw
        band = out[:, :, ph : ph + H]
        band[..., :pw] = band.index_select(3, ix[:pw])
        band[..., pw + W :] = band.index_select(3, ix[pw + W :])
    if ph:
        iy = _reflect101_index(H, ph, ph, x.device) + ph
        out[:, :, :ph] = out.index_select(2, iy[:ph])
        out[:, :, ph + H :] = out.index_select(2, iy[ph + H :])
    return out


def _work_dtype(x: torch.Tensor) -> tuple[torch.dtype, bool]:
    integer = x.dtype == torch.uint8
    return (torch.float64 if x.dtype == torch.float64 else torch.float32), integer


def _planes_conv(xp: torch.Tensor, weight: torch.Tensor, B: int, C: int) -> torch.Tensor:
    """Grouped convolution of padded planes ``(B, C, Hp, Wp)`` with ``weight`` ``(B, kh, kw)``
    (one kernel per sample) or ``(kh, kw)`` (one for all)."""
    Hp, Wp = xp.shape[-2:]
    if weight.ndim == 2:
        w = weight.to(xp.dtype).expand(C, 1, *weight.shape)
        return F.conv2d(xp.contiguous(), w, groups=C)
    kh, kw = weight.shape[-2:]
    w = weight.to(xp.dtype).repeat_interleave(C, dim=0).view(B * C, 1, kh, kw)
    y = F.conv2d(xp.reshape(1, B * C, Hp, Wp), w, groups=B * C)
    return y.view(B, C, y.shape[-2], y.shape[-1])


def _filter2d_impl(x: torch.Tensor, kernel: torch.Tensor, clamp: bool = True) -> torch.Tensor:
    """Correlate each sample with its kernel, as ``cv2.filter2D(img, -1, kernel)`` does.

    ``kernel``: ``(kh, kw)`` for every sample or ``(B, kh, kw)`` per sample (odd sizes; the anchor
    is the centre). Reflect-101 border. ``uint8`` results are rounded to nearest and saturated
    (OpenCV's ``saturate_cast``); float results are clamped to [0, 1] (``clamp=False``: not).
    """
    B, C, H, W = x.shape
    kh, kw = kernel.shape[-2:]
    dtype, integer = _work_dtype(x)
    xp = _pad_work(x, kw // 2, kh // 2, dtype)
    y = _planes_conv(xp, kernel.to(x.device), B, C)
    return _finish(y, x, integer, clamp)


def separable_filter(x: torch.Tensor, kx: torch.Tensor, ky: torch.Tensor, *, border: str = "reflect101") -> torch.Tensor:
    """Two 1-D per-sample correlations (``kx``, ``ky``: ``(B, k)``, odd ``k``), x first.

    Equal to :func:`filter2d` with the outer product ``ky^T kx`` up to float rounding (OpenCV's
    ``sepFilter2D`` / ``GaussianBlur`` / ``blur`` are separable too). ``border``: ``"reflect101"``
    or ``"replicate"``. Returns a float work tensor (not rounded): callers finish it.
    """
    B, C, H, W = x.shape
    rx, ry = kx.shape[-1] // 2, ky.shape[-1] // 2
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    if border == "replicate":
        y = F.pad(x.to(dtype), (rx, rx, ry, ry), mode="replicate") if rx or ry else x.to(dtype)
    else:
        y = _pad_work(x, rx, ry, dtype)
    # rows padded by reflection are filtered along x like any row, so one pad serves both passes
    for k, horizontal in ((kx, True), (ky, False)):
        n = k.shape[-1]
        w = k.to(device=x.device, dtype=dtype)
        if n <= 1:
            y = y * w[:, :1].view(B, 1, 1, 1)
            continue
        y = _planes_conv(y, w.view(B, 1, n) if horizontal else w.view(B, n, 1), B, C)
    return y


# -- Gaussian kernels as OpenCV builds them -------------------------------------------------------

_CV2_SMALL = {
    1: [1.0],
    3: [0.25, 0.5, 0.25],
    5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
    7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
}


@functools.lru_cache(maxsize=64)
def _cv2_small_table(kmax: int, device: torch.device) -> torch.Tensor:
    """OpenCV's fixed binomial kernels of sizes 1-7, row ``n`` centred in ``kmax`` taps (made once
    per device; shared, never written)."""
    table = torch.zeros(8, kmax, dtype=torch.float64)
    for n, v in _CV2_SMALL.items():
        if n <= kmax:
            off = (kmax - n) // 2
            table[n, off : off + n] = torch.tensor(v, dtype=torch.float64)
    return table.to(device)


def cv2_gaussian_kernels(ksize: torch.Tensor, sigma: torch.Tensor, kmax: int) -> torch.Tensor:
    """``(B, kmax)`` centred 1-D Gaussian kernels as ``cv2.getGaussianKernel(ksize, sigma)`` builds
    them, zero outside each sample's odd ``ksize`` (``(B,)`` ints).

    ``sigma <= 0`` means ``0.3 * ((ksize - 1) * 0.5 - 1) + 0.8`` and, for ``ksize <= 7``, OpenCV's
    fixed binomial table (as OpenCV does). Computed in float64, returned as float32.
    """
    dev = sigma.device
    k = ksize.to(device=dev, dtype=torch.float64).view(-1, 1)
    s = sigma.to(torch.float64).view(-1, 1)
    auto = s <= 0
    s = torch.where(auto, 0.3 * ((k - 1) * 0.5 - 1) + 0.8, s)
    t = torch.arange(kmax, device=dev, dtype=torch.float64) - (kmax - 1) / 2
    inside = t.abs() <= (k - 1) / 2
    g = torch.exp(-(t**2) / (2 * s**2)) * inside
    g = g / g.sum(1, keepdim=True)
    table = _cv2_small_table(kmax, dev)
    use_table = auto & (k <= 7)
    g = torch.where(use_table, table[k.long().clamp(max=7).view(-1)], g)
    return g.to(torch.float32)


# -- box ---------------------------------------------------------------------------------------------


def box_kernels(ksize: torch.Tensor, kmax: int) -> torch.Tensor:
    """``(B, kmax)`` centred 1-D box kernels ``1 / k`` over each sample's odd ``ksize``."""
    k = ksize.to(torch.float32).view(-1, 1)
    t = torch.arange(kmax, device=ksize.device, dtype=torch.float32) - (kmax - 1) / 2
    return (t.abs() <= (k - 1) / 2).float() / k


def _box_blur_impl(x: torch.Tensor, ksize: torch.Tensor, kmax: int | None = None) -> torch.Tensor:
    """Mean over a ``k x k`` window per sample (``ksize``: ``(B,)`` odd ints): ``cv2.blur``
    (albumentations ``Blur``), reflect-101 border. Separable: two 1-D grouped convolutions.
    ``kmax``: an upper bound of ``ksize`` (saves reading it back from the device)."""
    if kmax is None:
        kmax = int(ksize.max()) if ksize.numel() else 1
    kmax += 1 - kmax % 2
    k = box_kernels(ksize.to(x.device), kmax)
    return _finish(separable_filter(x, k, k), x, x.dtype == torch.uint8)


# -- median ------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def median_network(n: int) -> tuple[tuple[int, int], ...]:
    """Compare-exchange pairs ``(i, j)`` (``i < j``: after it, ``v[i] <= v[j]``) that bring the
    median of ``n`` values (odd ``n``) to position ``n // 2``.

    Batcher's odd-even merge sort network for the next power of two, without the pairs that touch
    the padding (it holds +inf, so those pairs never swap) and without the pairs that cannot affect
    position ``n // 2`` (pruned backwards from it). 9 values: 24 pairs; 25: 113; 49: 319.
    """
    size = 1
    while size < n:
        size *= 2
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    pairs = [(a, b) for a, b in pairs if b < n]
    live = {n // 2}
    kept = []
    for a, b in reversed(pairs):
        if a in live or b in live:
            kept.append((a, b))
            live.update((a, b))
    return tuple(reversed(kept))


def _median_blur_whole(x: torch.Tensor, ksize: torch.Tensor, kmax: int | None = None) -> torch.Tensor:
    """:func:`_median_blur_impl` with the whole batch as one chunk: the reference of its chunking."""
    return _median_blur_impl(x, ksize, kmax, plane_bytes=1 << 62)


def _median_examples(x: torch.Tensor, g: torch.Generator) -> list:
    b = x.shape[0]
    k = 1 + 2 * torch.randint(0, 3, (b,), generator=g)
    return [((x, k), {}), ((x, k, 7), {}), ((x, torch.full((b,), 3)), {})]


@fast_path(plain=_median_blur_whole, examples=_median_examples, thresholds=("median_plane_bytes",))
def _median_blur_impl(x: torch.Tensor, ksize: torch.Tensor, kmax: int | None = None, *, plane_bytes: int | None = None) -> torch.Tensor:
    """Median over a ``k x k`` window per sample (``ksize``: ``(B,)`` odd ints), replicate border:
    ``cv2.medianBlur`` (albumentations ``MedianBlur``), exact.

    A selection network (:func:`median_network`) of elementwise ``minimum``/``maximum`` over the
    ``K^2`` shifted planes of the batch's largest window ``K``, in ``x``'s own dtype (``uint8`` stays
    ``uint8``). The ``K^2 - k^2`` taps outside a sample's own window (an even number) are set half
    to the lowest and half to the highest value, which leaves the median of its window unchanged.
    Runs in chunks of samples (about ``THRESHOLDS.median_plane_bytes``, 256 KB, a plane; ``plane_bytes``
    overrides it) so the planes stay in cache; the pairs are computed in place (no allocation per
    pair). The chunking is a registered fast path of :func:`_median_blur_whole` (the whole batch as
    one chunk), exact.
    """
    B, C, H, W = x.shape
    if kmax is None:
        kmax = int(ksize.max()) if ksize.numel() else 1
    kmax += 1 - kmax % 2
    if kmax <= 1:
        return x.clone()
    r = kmax // 2
    integer = x.dtype == torch.uint8
    work = x if integer or x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)
    lo, hi = (0, 255) if integer else (-math.inf, math.inf)
    ring = [max(abs(i), abs(j)) for i in range(-r, r + 1) for j in range(-r, r + 1)]  # (K^2,) tap order
    half = (ksize.to(x.device).view(-1, 1) // 2)  # (B, 1)
    ring_t = constant(tuple(ring), x.device).view(1, -1)
    outside = ring_t > half  # (B, K^2)
    order = torch.cumsum(outside.long(), dim=1)
    fill_hi = outside & (order % 2 == 0)
    fill_lo = outside & (order % 2 == 1)
    lo_t, hi_t = constant(lo, x.device, work.dtype), constant(hi, x.device, work.dtype)
    xp = _pad_replicate(work.reshape(B * C, 1, H, W), r).view(B, C, H + 2 * r, W + 2 * r)
    out = torch.empty((B, C, H, W), dtype=work.dtype, device=x.device)
    net = median_network(kmax * kmax)
    m = (kmax * kmax) // 2
    plane_bytes = THRESHOLDS.median_plane_bytes if plane_bytes is None else plane_bytes
    step = max(1, plane_bytes // max(1, C * H * W * work.element_size()))
    for s in range(0, B, step):  # chunks of samples (cache-sized planes), not one per sample
        e = min(B, s + step)
        planes = []
        for t in range(kmax * kmax):
            i, j = divmod(t, kmax)
            v = xp[s:e, :, i : i + H, j : j + W]
            if ring[t] > 0:  # taps of the outer rings: replaced for samples with a smaller window
                v = torch.where(fill_lo[s:e, t].view(-1, 1, 1, 1), lo_t, v)
                v = torch.where(fill_hi[s:e, t].view(-1, 1, 1, 1), hi_t, v)
            else:
                v = v.clone(memory_format=torch.contiguous_format)  # private: the network writes in place
            planes.append(v)
        scratch = torch.empty_like(planes[0])
        for a, b in net:  # in place, no allocation per pair: min -> scratch, max -> b, swap
            pa, pb = planes[a], planes[b]
            torch.minimum(pa, pb, out=scratch)
            torch.maximum(pa, pb, out=pb)
            planes[a], scratch = scratch, pa
        out[s:e] = planes[m]
    return _keep_format(out if out.dtype == x.dtype else out.to(x.dtype), x)


# -- motion ------------------------------------------------------------------------------------------


def motion_kernels(
    ksize: torch.Tensor, angle: torch.Tensor, direction: torch.Tensor, shift: torch.Tensor, kmax: int
) -> torch.Tensor:
    """``(B, kmax, kmax)`` normalised motion-blur kernels: a line through the centre of each
    sample's ``k x k`` kernel (``ksize`` odd), embedded at the centre of ``kmax x kmax``.

    albumentations 2.0.8 ``create_motion_kernel`` semantics: the line has direction ``angle``
    (degrees, counter-clockwise in array coordinates: ``dx = cos``, ``dy = sin``); ``direction``
    in [-1, 1] biases it backward (-1: only behind the centre), symmetric (0) or forward (1);
    ``k`` points ``t = linspace(t0, t1, k)`` are placed at ``centre + (dx, dy) t``, shifted by
    ``shift * (k // 2) / 2`` (``shift``: ``(B, 2)`` xy in [-1, 1]; zeros: centred), rounded
    (half to even), clipped into the kernel and set to 1. Built in float64 for the same rounding.
    """
    dev = angle.device
    f64 = torch.float64
    k = ksize.to(device=dev, dtype=torch.long).view(-1, 1)
    kf = k.to(f64)
    L = (k // 2).to(f64)
    d = direction.to(f64).clamp(-1.0, 1.0).view(-1, 1)
    t0 = torch.where(d > 0, -L * (1 - d), -L)
    t1 = torch.where(d < 0, L * (1 - d.abs()), L)
    i = torch.arange(kmax, device=dev, dtype=f64).view(1, -1)
    denom = (kf - 1).clamp(min=1)
    t = torch.where(kf > 1, t0 + (t1 - t0) * i / denom, t0)  # numpy linspace: start + step * i
    # numpy's linspace sets the last point to ``stop`` exactly
    t = torch.where(i == kf - 1, t1, t)
    rad = torch.deg2rad(angle.to(f64)).view(-1, 1)
    c = L
    px = c + torch.cos(rad) * t + shift[:, 0:1].to(f64) * L / 2
    py = c + torch.sin(rad) * t + shift[:, 1:2].to(f64) * L / 2
    px = torch.minimum(torch.round(px).clamp(min=0), kf - 1).long()
    py = torch.minimum(torch.round(py).clamp(min=0), kf - 1).long()
    off = (kmax - k) // 2
    valid = i < kf  # (B, kmax) points that exist
    flat = (py + off) * kmax + (px + off)
    flat = torch.where(valid, flat, torch.zeros_like(flat))
    ker = torch.zeros(k.shape[0], kmax * kmax, dtype=torch.float32, device=dev)
    ker.scatter_(1, flat, valid.float())  # scatter (not add): a point set twice is still 1
    ker = ker.view(-1, kmax, kmax)
    return ker / ker.sum(dim=(1, 2), keepdim=True)


def motion_blur(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate each sample with its motion kernel (``(B, k, k)``, from :func:`motion_kernels`)."""
    return filter2d(x, kernels)


# -- defocus -----------------------------------------------------------------------------------------


def defocus_kernels(radius: torch.Tensor, alias_blur: torch.Tensor, max_radius: int | None = None) -> torch.Tensor:
    """``(B, K, K)`` defocus kernels, albumentations 2.0.8 ``defocus`` semantics.

    Per sample: a disk ``x^2 + y^2 <= r^2`` on the grid ``[-m, m]^2`` (``m = max(8, r)``),
    normalised to sum 1, then Gaussian-blurred (``cv2.GaussianBlur`` with ``ksize`` 3 for
    ``r <= 8`` else 5, ``sigma = alias_blur``, reflect-101 at the grid's edge). ``K = 2 M + 1`` for
    the largest ``m`` of the batch (or ``max(8, max_radius)``); each kernel sits at the centre, zero outside its own grid.
    """
    dev = radius.device
    r = radius.to(device=dev, dtype=torch.long).view(-1)
    B = r.shape[0]
    m = torch.clamp(r, min=8)  # (B,)
    M = max(8, int(r.max()) if max_radius is None and B else (max_radius or 8))
    coords = torch.arange(-M, M + 1, device=dev)
    ks = torch.where(r <= 8, 3, 5)
    g = cv2_gaussian_kernels(ks, alias_blur.to(dev), 5).to(torch.float64)  # (B, 5)
    taps = torch.arange(-2, 3, device=dev)

    def refl(c: torch.Tensor, mm: torch.Tensor) -> torch.Tensor:  # reflect-101 into [-m, m]
        c = torch.where(c > mm, 2 * mm - c, c)
        return torch.where(c < -mm, -2 * mm - c, c)

    mb = m.view(B, 1, 1)
    # (B, K, 5): reflected coordinate of each grid position plus each tap
    cy = refl(coords.view(1, -1, 1) + taps.view(1, 1, -1), mb)
    inside_grid = coords.view(1, -1).abs() <= m.view(B, 1)  # (B, K)
    r2 = (r.view(B, 1, 1, 1, 1) ** 2)
    # disk at (cy, cx) for every pair of taps: (B, K, 5, K, 5)
    disk = (cy.view(B, -1, 5, 1, 1) ** 2 + cy.view(B, 1, 1, -1, 5) ** 2) <= r2
    area = ((coords.view(1, -1, 1) ** 2 + coords.view(1, 1, -1) ** 2) <= r.view(B, 1, 1) ** 2).sum((1, 2))
    w = g.view(B, 1, 5, 1, 1) * g.view(B, 1, 1, 1, 5)
    ker = (disk.to(torch.float64) * w).sum((2, 4)) / area.view(B, 1, 1).to(torch.float64)
    ker = ker * (inside_grid.view(B, -1, 1) & inside_grid.view(B, 1, -1))
    return ker.to(torch.float32)


def defocus(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate each sample with its defocus kernel (from :func:`defocus_kernels`)."""
    return filter2d(x, kernels)


# -- generalised Gaussian (AdvancedBlur) ---------------------------------------------------------------


def generalized_gaussian_kernels(
    ksize: torch.Tensor,
    sigma_x: torch.Tensor,
    sigma_y: torch.Tensor,
    angle: torch.Tensor,
    beta: torch.Tensor,
    noise: torch.Tensor,
) -> torch.Tensor:
    """``(B, K, K)`` anisotropic generalised Gaussian kernels (albumentations ``AdvancedBlur``).

    ``exp(-0.5 * (g^T S^-1 g)^beta)`` on each sample's ``k x k`` grid (``g = (x, y)`` from the
    centre), ``S = U diag(sigma_x^2, sigma_y^2) U^T`` rotated by ``angle`` (radians), multiplied by
    the multiplicative ``noise`` field (``(B, K, K)``: the centre ``k x k`` is used) and normalised
    to sum 1; zero outside the sample's window. Paper: Liu et al., "Parameter estimation for
    multivariate generalized Gaussian distributions" (the kernel of Real-ESRGAN's degradations).
    """
    dev = angle.device
    f64 = torch.float64
    K = noise.shape[-1]
    B = angle.shape[0]
    ax = torch.arange(K, device=dev, dtype=f64) - (K - 1) / 2
    gx = ax.view(1, 1, -1).expand(B, K, K)
    gy = ax.view(1, -1, 1).expand(B, K, K)
    c, s = torch.cos(angle.to(f64)).view(-1, 1, 1), torch.sin(angle.to(f64)).view(-1, 1, 1)
    ix, iy = 1.0 / sigma_x.to(f64).view(-1, 1, 1) ** 2, 1.0 / sigma_y.to(f64).view(-1, 1, 1) ** 2
    # S^-1 = U diag(1/sx^2, 1/sy^2) U^T with U = [[c, -s], [s, c]]
    a = c * c * ix + s * s * iy
    b = c * s * (ix - iy)
    d = s * s * ix + c * c * iy
    q = a * gx * gx + 2 * b * gx * gy + d * gy * gy
    ker = torch.exp(-0.5 * q.pow(beta.to(f64).view(-1, 1, 1)))
    half = (ksize.to(device=dev, dtype=f64).view(-1, 1, 1) - 1) / 2
    inside = (gx.abs() <= half) & (gy.abs() <= half)
    ker = ker * noise.to(f64) * inside
    ker = ker.to(torch.float32)
    return ker / ker.sum(dim=(1, 2), keepdim=True)


# -- zoom --------------------------------------------------------------------------------------------


def _lerp_axis(x: torch.Tensor, dim: int, src: torch.Tensor) -> torch.Tensor:
    """Sample ``x`` along ``dim`` (-2 or -1) at per-sample float positions ``src`` (``(B, n)``),
    linearly between the two neighbours, positions clamped into the axis (OpenCV's
    ``INTER_LINEAR`` border)."""
    n_in = x.shape[dim]
    B, C = x.shape[:2]
    src = src.clamp(0, n_in - 1)
    i0 = src.floor().long().clamp(max=n_in - 1)
    i1 = (i0 + 1).clamp(max=n_in - 1)
    w1 = (src - i0).to(x.dtype)
    from torchaug.functional.quality import _gather_axis

    n = src.shape[1]
    shape_w = (B, 1, n, 1) if dim == -2 else (B, 1, 1, n)
    a = _gather_axis(x, dim, i0)
    b = _gather_axis(x, dim, i1)
    return a + (b - a) * w1.view(shape_w)


def _zoom_blur_impl(x: torch.Tensor, zoom_factors: torch.Tensor, n_factors: torch.Tensor) -> torch.Tensor:
    """Average of centrally zoomed copies (albumentations ``ZoomBlur``, ImageNet-C's zoom blur).

    ``zoom_factors``: ``(B, S)`` per-sample factors (``>= 1``), of which the first ``n_factors``
    (``(B,)``) are used: ``out = (x + sum_s zoom(x, f_s)) / (n + 1)``. ``zoom(x, f)`` crops the
    centre ``ceil(H / f) x ceil(W / f)``, resizes it bilinearly (half-pixel centres, clamped
    border, as ``cv2.resize``) to ``int(h f) x int(w f)`` and crops the centre ``H x W``. The loop
    runs over the ``S`` steps, each batched over the samples that still use a factor. Computed on the [0, 1] scale and
    clamped, as albumentations does (``uint8``: rounded).
    """
    B, C, H, W = x.shape
    xf = x.to(torch.float32) / 255.0 if x.dtype == torch.uint8 else (x.to(torch.float32) if x.dtype != torch.float64 else x)
    integer = x.dtype == torch.uint8
    f64 = torch.float64
    zf = zoom_factors.to(device=x.device, dtype=f64)
    n = n_factors.to(x.device).view(-1)
    S = zf.shape[1]

    def positions(size: int, f: torch.Tensor) -> torch.Tensor:  # (B, size) source rows of an axis
        ch = torch.ceil(size / f)  # crop size
        top = torch.floor((size - ch) / 2)
        new = torch.floor(ch * f)  # int(h_ch * f)
        trim = torch.floor((new - size) / 2)
        o = torch.arange(size, device=x.device, dtype=f64).view(1, -1)
        src = (o + trim.view(-1, 1) + 0.5) * (ch / new).view(-1, 1) - 0.5
        return (src.clamp(min=0).clamp(max=(ch - 1).view(-1, 1)) + top.view(-1, 1)).to(torch.float32)

    if not cpu_path(x):  # every step over the whole batch, unused steps weighted 0: nothing read back
        acc = xf.clone()
        for s in range(S):
            f = zf[:, s]
            used = (n > s).to(xf.dtype).view(B, 1, 1, 1)
            acc += used * _lerp_axis(_lerp_axis(xf, -2, positions(H, f)), -1, positions(W, f))
        acc.div_((n.to(xf.dtype) + 1).view(B, 1, 1, 1)).clamp_(0.0, 1.0)
        return _keep_format(acc.mul_(255.0).round_().to(torch.uint8) if integer else acc.to(x.dtype), x)
    # CPU: samples sorted by how many factors they use, step s runs on the prefix still using one
    # (sum of n_b resampled images instead of B * S); one read of the S prefix sizes
    order = torch.argsort(n, descending=True, stable=True)
    active = (n.view(1, -1) > torch.arange(S, device=x.device).view(-1, 1)).sum(1).tolist()
    xs = xf.index_select(0, order)
    zs = zf.index_select(0, order)
    acc = xs.clone()
    first = 0
    if S and active[0] == B and bool((zs[:, 0] == 1).all()):  # factor 1 (albumentations' first): a copy
        acc.add_(xs)
        first = 1
    for s in range(first, S):
        m = active[s]
        if m == 0:
            break
        f = zs[:m, s]
        part = xs[:m]
        acc[:m] += _lerp_axis(_lerp_axis(part, -2, positions(H, f)), -1, positions(W, f))
    acc = acc.index_select(0, torch.argsort(order))
    acc.div_((n.to(xf.dtype) + 1).view(B, 1, 1, 1)).clamp_(0.0, 1.0)
    if integer:
        return _keep_format(acc.mul_(255.0).round_().to(torch.uint8), x)
    return _keep_format(acc.to(x.dtype), x)


# -- glass -------------------------------------------------------------------------------------------


def _glass_blur_impl(x: torch.Tensor, sigma: float, max_delta: int, dxy: torch.Tensor, mode: str = "fast") -> torch.Tensor:
    """Glass blur, albumentations ``GlassBlur(mode="fast")`` / ImageNet-C semantics.

    Gaussian blur (``sigma``, kernel size from OpenCV's rule for ``ksize=0``), then per iteration
    ``i`` the pixels at ``(h, w)`` for ``h`` from ``H - max_delta`` down to ``max_delta + 1`` (and
    likewise ``w``) swap with ``(h + dy, w + dx)`` (``dxy``: ``(B, P, I, 2)`` integer
    displacements in ``[-max_delta, max_delta)``, ``P`` the number of such pixels, in the same
    order as albumentations: ``w`` outer, ``h`` inner), all at once as numpy's fancy assignment
    does (later writes win), then blurred again.

    ``mode="exact"``: albumentations' sequential loop (:func:`_glass_exact_rounds`): positions in
    the order ``h`` outer, ``w`` inner (both descending), position ``k`` of round ``i`` using
    ``dxy[:, k, i]``.
    """
    B, C, H, W = x.shape
    xf, integer = _work(x)
    ks = _cv2_auto_ksize(sigma, integer)
    g = cv2_gaussian_kernels(torch.full((B,), ks, device=x.device), torch.full((B,), sigma, device=x.device), ks)
    y = separable_filter(xf, g, g)
    if integer:
        y = y.round_().clamp_(0, 255)
    # numpy's arange (empty when the image is too small for any swap), which torch's refuses
    hs = torch.arange(max(H - max_delta, max_delta), max_delta, -1, device=x.device)
    ws = torch.arange(max(W - max_delta, max_delta), max_delta, -1, device=x.device)
    if hs.numel() and ws.numel() and mode == "exact":
        y = _glass_exact_rounds(y, max_delta, dxy)
    elif hs.numel() and ws.numel():
        h = hs.repeat(ws.numel())  # np.tile
        w = ws.repeat_interleave(hs.numel())  # np.repeat
        base = (h * W + w).view(1, -1)  # (1, P)
        flat = y.reshape(B, C, H * W)
        for i in range(dxy.shape[2]):
            dy = dxy[:, :, i, 0].to(device=x.device, dtype=torch.long)
            dx = dxy[:, :, i, 1].to(device=x.device, dtype=torch.long)
            other = ((h.view(1, -1) + dy).clamp(0, H - 1)) * W + (w.view(1, -1) + dx).clamp(0, W - 1)  # (B, P)
            src_a = torch.gather(flat, 2, other.unsqueeze(1).expand(B, C, -1))
            src_b = torch.gather(flat, 2, base.expand(B, -1).unsqueeze(1).expand(B, C, -1))
            new = flat.clone()
            # x[h, w] = old x[h + dy, w + dx]; then x[h + dy, w + dx] = old x[h, w] (second wins)
            _scatter_last(new, base.expand(B, -1), src_a)
            _scatter_last(new, other, src_b)
            flat = new
        y = flat.view(B, C, H, W)
    y = separable_filter(y, g, g)
    return _finish(y, x, integer)


def _glass_exact_rounds(y: torch.Tensor, max_delta: int, dxy: torch.Tensor) -> torch.Tensor:
    """albumentations 2.0.8 ``glass_blur(mode="exact")``'s loop, ``x[h, w], x[h + dy, w + dx] =
    x[h + dy, w + dx], x[h, w]`` over ``(i, h, w)`` in ``product(range(I), hs, ws)``, batched.

    What the peer's line does depends on the array's rank. For a colour image ``x[h, w]`` is a
    view of the pixel, so the right-hand side holds two views and the "swap" is a copy: ``x[p] =
    x[q]`` and then ``x[q] = x[p]`` (already ``x[q]``'s value). Each position ``p_k`` is written once
    per round with the value ``q_k`` holds at step ``k``: that of the last earlier position ``p_j
    = q_k`` (``j < k``) or, if none, ``q_k``'s value at the start of the round. These chains are
    resolved for the whole batch at once by pointer jumping (``ceil(log2 P)`` gathers), exact.

    A single-channel image reaches the loop as a 2-D array (``cv2.GaussianBlur`` drops the
    channel axis): scalars, so a true swap, and the swaps compose order-dependently (a value can
    move again at any later step that touches its new place), with no such closed form: that case
    runs the loop itself, vectorised over the batch but sequential over the ``P`` positions
    (exact; about ``P * I`` small tensor operations, slow for large images).
    """
    B, C, H, W = y.shape
    dev = y.device
    hr, wr = range(H - max_delta, max_delta, -1), range(W - max_delta, max_delta, -1)
    hs = torch.arange(H - max_delta, max_delta, -1, device=dev)
    ws = torch.arange(W - max_delta, max_delta, -1, device=dev)
    nh, nw = len(hr), len(wr)
    P = nh * nw
    h = hs.repeat_interleave(nw)  # product order: h outer
    w = ws.repeat(nh)  # w inner
    pos = (h * W + w).view(1, -1)  # (1, P)
    flat = y.reshape(B, C, H * W).clone()
    if C == 1:
        pl = [hh * W + ww for hh in hr for ww in wr]  # the loop's own positions, in Python: no read from the device
        for i in range(dxy.shape[2]):
            q = (h.view(1, -1) + dxy[:, :, i, 0].to(dev, torch.long)) * W + w.view(1, -1) + dxy[:, :, i, 1].to(dev, torch.long)
            for k in range(P):
                qk = q[:, k : k + 1].unsqueeze(1)  # (B, 1, 1)
                a = flat[:, :, pl[k] : pl[k] + 1].clone()
                flat[:, :, pl[k] : pl[k] + 1] = torch.gather(flat, 2, qk)
                flat.scatter_(2, qk, a)
        return flat.view(B, C, H, W)
    rank = torch.full((H * W,), -1, dtype=torch.long, device=dev)
    rank[pos.view(-1)] = torch.arange(P, device=dev)
    k = torch.arange(P, device=dev).view(1, -1)
    steps = max(1, (P - 1).bit_length())
    for i in range(dxy.shape[2]):
        q = (h.view(1, -1) + dxy[:, :, i, 0].to(dev, torch.long)) * W + w.view(1, -1) + dxy[:, :, i, 1].to(dev, torch.long)  # (B, P)
        parent = rank[q]  # which position writes q (-1: none)
        ptr = torch.where((parent >= 0) & (parent < k), parent, k.expand(B, -1))
        for _ in range(steps):
            ptr = torch.gather(ptr, 1, ptr)
        src = torch.gather(q, 1, ptr)  # the start-of-round place each written value comes from
        vals = torch.gather(flat, 2, src.unsqueeze(1).expand(B, C, P))
        flat = flat.clone()
        flat[:, :, pos.view(-1)] = vals
    return flat.view(B, C, H, W)


def _scatter_last(dst: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> None:
    """``dst[b, :, index[b, j]] = src[b, :, j]`` where the last ``j`` writing a position wins (numpy's
    fancy assignment order)."""
    B, C, N = dst.shape
    P = index.shape[1]
    order = torch.arange(P, device=dst.device).expand(B, P)
    last = torch.full((B, N), -1, dtype=torch.long, device=dst.device)
    last.scatter_reduce_(1, index, order, reduce="amax")
    winner = torch.gather(last, 1, index) == order  # (B, P): this write is the last to its target
    idx = torch.where(winner, index, torch.full_like(index, N))  # losers go to a dump slot
    padded = torch.cat([dst, dst.new_zeros(B, C, 1)], dim=2)
    padded.scatter_(2, idx.unsqueeze(1).expand(B, C, P), src)
    dst.copy_(padded[:, :, :N])


def _cv2_auto_ksize(sigma: float, integer: bool) -> int:
    """OpenCV's kernel size for ``GaussianBlur(ksize=(0, 0), sigmaX=sigma)``:
    ``round(sigma * (3 if uint8 else 4) * 2 + 1) | 1``."""
    k = int(round(sigma * (3 if integer else 4) * 2 + 1)) | 1
    return max(k, 1)


# -- public entry points: the kernels above, run on chunks of the batch (see torchaug._cpu.chunks) --


def filter2d(x: torch.Tensor, kernel: torch.Tensor, *, clamp: bool = True) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_filter2d_impl, x, (kernel,), (clamp,)) if kernel.ndim == 3 else run_chunked(_filter2d_impl, x, (), (kernel, clamp))


filter2d.__doc__ = _filter2d_impl.__doc__


def box_blur(x: torch.Tensor, ksize: torch.Tensor, kmax: int | None = None) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_box_blur_impl, x, (ksize,), (kmax if kmax is not None else _kmax(ksize),))


box_blur.__doc__ = _box_blur_impl.__doc__


def median_blur(x: torch.Tensor, ksize: torch.Tensor, kmax: int | None = None) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_median_blur_impl, x, (ksize,), (kmax if kmax is not None else _kmax(ksize),), work_factor=32)


median_blur.__doc__ = _median_blur_impl.__doc__


def zoom_blur(x: torch.Tensor, zoom_factors: torch.Tensor, n_factors: torch.Tensor) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_zoom_blur_impl, x, (zoom_factors, n_factors), (), work_factor=64)


zoom_blur.__doc__ = _zoom_blur_impl.__doc__


def glass_blur(x: torch.Tensor, sigma: float, max_delta: int, dxy: torch.Tensor, mode: str = "fast") -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(lambda xx, d: _glass_blur_impl(xx, sigma, max_delta, d, mode), x, (dxy,), work_factor=16)


glass_blur.__doc__ = _glass_blur_impl.__doc__
