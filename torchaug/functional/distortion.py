"""Batched non-rigid warps: backward maps of GridDistortion, OpticalDistortion, PiecewiseAffine and
ThinPlateSpline, remapping, and the target maths (forward motion of points, box extents).

Every op here is described by a **backward map** ``(B, H, W, 2)``: for each output pixel, the
``(x, y)`` position of the input pixel it samples, in OpenCV ``remap`` pixel-index units (pixel
``i``'s centre at ``i``), the form albumentations 2.0.8 builds (``map_x``, ``map_y``). The maps are
built from small per-sample parameter tensors, fully vectorised over the batch; no randomness.

Targets (pixel coordinates, pixel ``i`` covering ``[i, i + 1)``, as torchvision):

- points need the forward map. :func:`forward_points` inverts the backward map on the device:
  the nearest output pixel whose mapped centre is closest to the point (albumentations'
  ``keypoint_remapping_method="direct"`` also looks the nearest grid position up, on the host),
  then a few fixed-point steps ``q <- q + (p - M(q))`` on the bilinearly interpolated map, kept
  per point only where they lower the residual.
- boxes take the extent of the box's warped mask (:func:`box_extent`), as albumentations 2.x
  ``remap_bboxes`` does: an output pixel is in the box when its nearest source pixel is.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from torchaug.functional._workspace import constant
from torchaug.functional.geometry import _restore, _work

__all__ = [
    "pixel_to_grid",
    "remap",
    "grid_distortion_map",
    "normalize_grid_steps",
    "optical_distortion_map",
    "piecewise_affine_map",
    "tps_control_points",
    "tps_weights",
    "tps_map",
    "forward_points",
    "box_extent",
]


def _pixel_grid(h: int, w: int, device: torch.device, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(h, device=device, dtype=dtype)
    xs = torch.arange(w, device=device, dtype=dtype)
    return ys, xs


def pixel_to_grid(maps: torch.Tensor) -> torch.Tensor:
    """Pixel-index maps ``(B, H, W, 2)`` -> ``grid_sample`` units (``align_corners=False``): ``(2 m + 1) / size - 1``."""
    h, w = maps.shape[1:3]
    scale = constant((2.0 / w, 2.0 / h), maps.device, maps.dtype)
    shift = constant((1.0 / w - 1.0, 1.0 / h - 1.0), maps.device, maps.dtype)
    return torch.addcmul(shift, maps, scale)


def remap(x: torch.Tensor, maps: torch.Tensor, *, interpolation: str = "bilinear", fill=0, units: str = "pixel") -> torch.Tensor:
    """``cv2.remap`` over a batch with a constant border: ``out[b, :, i, j] = x[b, :, maps[b, i, j, 1],
    maps[b, i, j, 0]]`` (bilinear or nearest); positions outside the image read ``fill``.

    ``maps (B, H', W', 2)`` xy in pixel-index units (``units="pixel"``) or already in
    ``grid_sample``'s normalised units (``units="grid"``). ``fill`` is a number or one per channel,
    in the image's scale. Samples ``x - fill`` with zero padding, plus ``fill``: the same blend as
    OpenCV's ``BORDER_CONSTANT`` (each out-of-image tap counts as ``fill``). uint8 is rounded.
    """
    c = x.shape[1]
    xf = _work(x)
    grid = maps.to(device=x.device, dtype=xf.dtype)
    if units == "pixel":
        grid = pixel_to_grid(grid)
    if fill is None or (isinstance(fill, (int, float)) and fill == 0):
        out = F.grid_sample(xf, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    else:
        fv = [float(fill)] if isinstance(fill, (int, float)) else [float(v) for v in fill]
        if len(fv) not in (1, c):
            raise ValueError(f"remap: fill must be a number or one value per channel ({c}); got {len(fv)} values")
        ft = constant(tuple(fv), x.device, xf.dtype).view(1, -1, 1, 1)
        out = F.grid_sample(xf - ft, grid, mode=interpolation, padding_mode="zeros", align_corners=False).add_(ft)
    return _restore(out, x)


def _pack(mx: torch.Tensor, my: torch.Tensor, b: int, h: int, w: int) -> torch.Tensor:
    """Broadcastable x and y maps -> one contiguous ``(B, H, W, 2)`` float32 tensor."""
    out = torch.empty(b, h, w, 2, device=mx.device, dtype=torch.float32)
    out[..., 0] = mx
    out[..., 1] = my
    return out


# ---------------------------------------------------------------------------------------------
# GridDistortion (albumentations 2.0.8 generate_grid / normalize_grid_distortion_steps)
# ---------------------------------------------------------------------------------------------
def normalize_grid_steps(steps: torch.Tensor, n: int, num_steps: int) -> torch.Tensor:
    """albumentations' ``normalize_grid_distortion_steps`` along one axis of length ``n``: the last
    (partial) step is scaled by its share of a whole step, then all so the map ends at the border."""
    step = n // num_steps
    last = min(n, (num_steps + 1) * step) - num_steps * step
    s = steps.clone()
    s[:, -1] = s[:, -1] * (last / step)
    total = n / math.floor(n / num_steps)
    return s * (total / s.sum(dim=1, keepdim=True))


def _axis_map(steps: torch.Tensor, n: int, num_steps: int) -> torch.Tensor:
    """``(B, S+1)`` step factors -> ``(B, n)`` positions: piecewise linear, segment ``s`` of ``step``
    pixels running from ``step * sum(steps[:s])`` to ``step * sum(steps[:s+1])`` (endpoints included,
    as ``np.linspace``); the last segment holds the ``n - S*step`` remaining pixels."""
    step = n // num_steps
    idx = torch.arange(n, device=steps.device)
    seg = torch.clamp(idx // step, max=num_steps)
    start = seg * step
    length = torch.clamp(start + step, max=n) - start
    frac = (idx - start).to(steps.dtype) / (length - 1).clamp_min(1).to(steps.dtype)
    cum = torch.cumsum(steps, dim=1) * step
    prev = torch.cat((torch.zeros_like(cum[:, :1]), cum[:, :-1]), dim=1)
    p, q = prev[:, seg], cum[:, seg]
    return p + (q - p) * frac


def grid_distortion_map(
    steps_x: torch.Tensor, steps_y: torch.Tensor, size: tuple[int, int], num_steps: int, *, normalized: bool = True,
    units: str = "pixel",
) -> torch.Tensor:
    """Backward map ``(B, H, W, 2)`` of albumentations' ``GridDistortion``: ``steps_x``/``steps_y``
    ``(B, num_steps + 1)`` are the drawn factors ``1 + U(distort_limit)``; separable in x and y.
    ``units="grid"`` returns it in ``grid_sample`` units (converted per axis, before expanding)."""
    h, w = size
    if w < num_steps or h < num_steps:
        raise ValueError(f"GridDistortion: the image ({h}x{w}) must be at least num_steps={num_steps} pixels on each side")
    sx, sy = steps_x.double(), steps_y.double()
    if normalized:
        sx, sy = normalize_grid_steps(sx, w, num_steps), normalize_grid_steps(sy, h, num_steps)
    xx = _axis_map(sx, w, num_steps).float()
    yy = _axis_map(sy, h, num_steps).float()
    if units == "grid":
        xx, yy = (2 * xx + 1) / w - 1, (2 * yy + 1) / h - 1
    return _pack(xx[:, None, :], yy[:, :, None], xx.shape[0], h, w)


# ---------------------------------------------------------------------------------------------
# OpticalDistortion (albumentations 2.0.8 get_camera_matrix_distortion_maps / get_fisheye_...)
# ---------------------------------------------------------------------------------------------
def optical_distortion_map(k: torch.Tensor, size: tuple[int, int], mode: str = "camera", *, units: str = "pixel") -> torch.Tensor:
    """Backward map ``(B, H, W, 2)`` of albumentations' ``OpticalDistortion`` for coefficients ``k (B,)``.

    ``"camera"``: OpenCV's ``initUndistortRectifyMap`` with camera matrix ``[[W, 0, W/2], [0, H, H/2]]``,
    distortion ``(k, k, 0, 0, 0)`` and OpenCV's default new camera matrix (principal point
    ``((W-1)/2, (H-1)/2)``): ``x = (u - (W-1)/2) / W``, ``r^2 = x^2 + y^2``,
    ``map_x = W x (1 + k r^2 + k r^4) + W/2`` (y alike). ``"fisheye"``:
    ``map = c + (u - c) (1 + k r^2 / r_max^2)`` with ``c = (W/2, H/2)``, ``r_max = |c|``.
    ``units="grid"``: in ``grid_sample`` units (the affine conversion folded into the formula).
    """
    h, w = size
    b = k.shape[0]
    kk = k.float().view(-1, 1, 1)
    ys, xs = _pixel_grid(h, w, k.device, torch.float64)
    if mode == "camera":
        x = ((xs - (w - 1) * 0.5) / w).view(1, 1, w)
        y = ((ys - (h - 1) * 0.5) / h).view(1, h, 1)
        r2 = x * x + y * y
        q = (r2 * (1 + r2)).float()  # k r^2 + k r^4 = k q
        # pixel: W x (1 + k q) + W/2; grid: 2 x (1 + k q) + 1/W
        sx, sy, ox, oy = (w, h, w * 0.5, h * 0.5) if units == "pixel" else (2.0, 2.0, 1.0 / w, 1.0 / h)
    elif mode == "fisheye":
        cx, cy = w * 0.5, h * 0.5
        x = (xs - cx).view(1, 1, w)
        y = (ys - cy).view(1, h, 1)
        q = ((x * x + y * y) / (cx * cx + cy * cy)).float()
        # pixel: c + x (1 + k q); grid: 2 x (1 + k q) / W + 1/W
        sx, sy, ox, oy = (1.0, 1.0, cx, cy) if units == "pixel" else (2.0 / w, 2.0 / h, 1.0 / w, 1.0 / h)
    else:
        raise ValueError(f"OpticalDistortion: mode must be 'camera' or 'fisheye'; got {mode!r}")
    f = (kk * q).add_(1)  # (B, H, W): 1 + k q
    out = torch.empty(b, h, w, 2, device=k.device, dtype=torch.float32)
    torch.mul(f, (sx * x).float(), out=out[..., 0]).add_(ox)
    torch.mul(f, (sy * y).float(), out=out[..., 1]).add_(oy)
    return out


# ---------------------------------------------------------------------------------------------
# PiecewiseAffine (albumentations 2.0.8 create_piecewise_affine_maps)
# ---------------------------------------------------------------------------------------------
def piecewise_affine_map(
    jitter: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, size: tuple[int, int], *, units: str = "pixel"
) -> torch.Tensor:
    """Backward map ``(B, H, W, 2)`` of albumentations 2.0.8's ``PiecewiseAffine``.

    Control points on a regular ``rows x cols`` grid spanning pixel ``0`` to ``H-1`` / ``W-1``
    (per sample; ``jitter (B, R, C, 2)`` xy pixels, the grid padded to the largest ``R x C`` and
    entries beyond ``rows[b]``/``cols[b]`` ignored) move to ``clip(grid + jitter)``; every pixel
    maps to the inverse-squared-distance weighted mean of the moved points
    (``w = 1 / (d^2 + 1e-8)``), clipped to the image: albumentations 2.0.8's formula, evaluated for
    all pixels and control points at once instead of its per-pixel Python loop. A sample whose
    jitter is all zero (``scale`` 0) gets the identity map, as albumentations skips the warp then.
    """
    h, w = size
    b, rmax, cmax, _ = jitter.shape
    dev = jitter.device
    ri = torch.arange(rmax, device=dev).view(1, rmax, 1)
    ci = torch.arange(cmax, device=dev).view(1, 1, cmax)
    r = rows.view(b, 1, 1).to(torch.float32)
    c = cols.view(b, 1, 1).to(torch.float32)
    gy = (ri.float() * (h - 1) / (r - 1).clamp_min(1)).expand(b, rmax, cmax)
    gx = (ci.float() * (w - 1) / (c - 1).clamp_min(1)).expand(b, rmax, cmax)
    active = ((ri < rows.view(b, 1, 1)) & (ci < cols.view(b, 1, 1))).reshape(b, -1).float()
    dx = (gx + jitter[..., 0].float()).clamp(0, w - 1).reshape(b, -1)
    dy = (gy + jitter[..., 1].float()).clamp(0, h - 1).reshape(b, -1)
    gx, gy = gx.reshape(b, -1), gy.reshape(b, -1)
    ys, xs = _pixel_grid(h, w, dev)
    out = torch.empty(b, h, w, 2, device=dev)
    rows_per = max(1, (1 << 22) // max(1, b * w * gx.shape[1]))
    for i0 in range(0, h, rows_per):  # bounded memory: (B, rows, W, K) weights per block of rows
        yb = ys[i0 : i0 + rows_per].view(1, -1, 1, 1)
        d2 = (xs.view(1, 1, w, 1) - gx.view(b, 1, 1, -1)) ** 2 + (yb - gy.view(b, 1, 1, -1)) ** 2
        wt = active.view(b, 1, 1, -1) / (d2 + 1e-8)
        norm = wt.sum(-1)
        out[:, i0 : i0 + rows_per, :, 0] = (wt * dx.view(b, 1, 1, -1)).sum(-1) / norm
        out[:, i0 : i0 + rows_per, :, 1] = (wt * dy.view(b, 1, 1, -1)).sum(-1) / norm
    out[..., 0].clamp_(0, w - 1)
    out[..., 1].clamp_(0, h - 1)
    # albumentations returns no map (the identity) for scale 0: a sample without jitter is left as it is
    still = (jitter.reshape(b, -1) == 0).all(dim=1).view(b, 1, 1, 1)
    ident = _pack(xs.view(1, 1, w), ys.view(1, h, 1), 1, h, w)
    out = torch.where(still, ident, out)
    return pixel_to_grid(out) if units == "grid" else out


# ---------------------------------------------------------------------------------------------
# ThinPlateSpline (kornia's get_tps_transform / warp_image_tps maths, albumentations' arguments)
# ---------------------------------------------------------------------------------------------
def tps_control_points(num_control_points: int, device: torch.device | None = None) -> torch.Tensor:
    """albumentations' ``generate_control_points``: a regular ``n x n`` grid over ``[0, 1]^2`` (xy,
    x fastest), or for ``n = 2`` the four corners and the centre. ``(N, 2)`` float32."""
    if num_control_points == 2:
        return constant(((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (0.5, 0.5)), device, torch.float32)
    t = torch.linspace(0, 1, num_control_points, device=device)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    return torch.stack((xx, yy), dim=-1).reshape(-1, 2)


def _tps_kernel(d2: torch.Tensor) -> torch.Tensor:
    """``U = r^2 log r = 0.5 r^2 log r^2`` from squared distances (0 at r = 0), kornia's kernel."""
    safe = torch.where(d2 > 0, d2, torch.ones_like(d2))
    return torch.where(d2 > 0, 0.5 * d2 * safe.log(), torch.zeros_like(d2))


def _sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a[:, :, None, :] - b[:, None, :, :]) ** 2).sum(-1)


def tps_weights(points_from: torch.Tensor, points_to: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """kornia's ``get_tps_transform(points_from, points_to)``: solves, per sample,
    ``[[K, P], [P^T, 0]] [w; a] = [to; 0]`` with ``K_ij = U(|from_i - to_j|)``, ``P = [1, from]``.

    Returns kernel weights ``(B, N, 2)`` and affine weights ``(B, 3, 2)``; the interpolant
    :func:`tps_map` (kernel centres ``points_to``) takes ``from_i`` to ``to_i``. Solved in float64.
    """
    src, dst = points_from.double(), points_to.double()
    b, n, _ = src.shape
    k = _tps_kernel(_sqdist(src, dst))
    p = torch.cat((torch.ones(b, n, 1, dtype=src.dtype, device=src.device), src), dim=-1)
    top = torch.cat((k, p), dim=-1)
    bottom = torch.cat((p.transpose(1, 2), torch.zeros(b, 3, 3, dtype=src.dtype, device=src.device)), dim=-1)
    lhs = torch.cat((top, bottom), dim=1)
    rhs = torch.cat((dst, torch.zeros(b, 3, 2, dtype=src.dtype, device=src.device)), dim=1)
    sol = torch.linalg.solve(lhs, rhs)
    return sol[:, :n].float(), sol[:, n:].float()


def tps_points(points: torch.Tensor, centers: torch.Tensor, kernel_w: torch.Tensor, affine_w: torch.Tensor) -> torch.Tensor:
    """kornia's ``warp_points_tps``: ``f(v) = a_0 + A v + sum_j w_j U(|v - c_j|)`` for ``(B, M, 2)`` points.

    Squared distances by one batched matmul (``|v|^2 + |c|^2 - 2 v.c``, clamped at 0), then
    ``0.5 d2 log d2`` (0 at ``d2 = 0``) and a second matmul with the kernel weights.
    """
    v = points.to(kernel_w.dtype)
    c = centers.to(kernel_w.dtype)
    d2 = torch.baddbmm((c * c).sum(-1).unsqueeze(1), v, c.transpose(1, 2), alpha=-2.0)
    d2.add_((v * v).sum(-1, keepdim=True)).clamp_(min=0)
    k = d2.clamp(min=1e-30).log_().mul_(d2).mul_(0.5)
    return torch.baddbmm(affine_w[:, :1], v, affine_w[:, 1:]).add_(torch.bmm(k, kernel_w))


def tps_map(control: torch.Tensor, displaced: torch.Tensor, size: tuple[int, int], *, units: str = "pixel") -> torch.Tensor:
    """Backward map ``(B, H, W, 2)`` of a thin-plate spline taking output control points ``control``
    to input points ``displaced`` (both ``(B, N, 2)`` in the image-extent frame ``[0, 1]^2``).

    The maths runs in ``grid_sample``'s normalised frame (``u = 2 p - 1``; pixel ``j``'s centre at
    ``(2 j + 1) / W - 1``), exactly kornia's ``warp_image_tps(image, displaced, *get_tps_transform(
    control, displaced))`` with ``align_corners=False``. ``units="grid"`` returns that frame.
    """
    with torch.autocast(control.device.type, enabled=False):  # float32 maths: fp16 matmuls overflow here
        return _tps_map(control, displaced, size, units)


def _tps_map(control: torch.Tensor, displaced: torch.Tensor, size: tuple[int, int], units: str) -> torch.Tensor:
    h, w = size
    c = control.float() * 2 - 1
    d = displaced.float() * 2 - 1
    kw, aw = tps_weights(c, d)
    ys, xs = _pixel_grid(h, w, control.device)
    pts = _pack(((2 * xs + 1) / w - 1).view(1, w), ((2 * ys + 1) / h - 1).view(h, 1), 1, h, w).view(1, -1, 2)
    b = control.shape[0]
    out = tps_points(pts.expand(b, -1, -1), d, kw, aw).view(b, h, w, 2)
    if units == "grid":
        return out
    # normalised -> pixel index units
    return torch.addcmul(constant((-0.5 + w * 0.5, -0.5 + h * 0.5), out.device, out.dtype), out,
                         constant((w * 0.5, h * 0.5), out.device, out.dtype))


# ---------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------
def _sample_map(maps: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Bilinear ``M(q)`` for continuous points ``q (B, N, 2)`` (pixel centres at ``i + 0.5``), border-clamped."""
    b, h, w, _ = maps.shape
    g = torch.stack((q[..., 0] * 2 / w - 1, q[..., 1] * 2 / h - 1), dim=-1).view(b, 1, -1, 2)
    v = F.grid_sample(maps.permute(0, 3, 1, 2), g.to(maps.dtype), mode="bilinear", padding_mode="border", align_corners=False)
    return v.view(b, 2, -1).transpose(1, 2) + 0.5


def forward_points(maps: torch.Tensor, points: torch.Tensor, *, iterations: int = 8) -> torch.Tensor:
    """Where points ``(B, N, 2)`` of the input land under the warp whose backward map is ``maps``.

    Batched inversion on the device: for each point, the output pixel whose mapped centre lies
    nearest to it (a search over all pixels, in chunks of points), refined by ``iterations``
    fixed-point steps ``q <- q + (p - M(q))`` on the bilinearly interpolated map; a step is kept
    per point only where it lowers ``|M(q) - p|``. Points without a preimage (outside what the
    warp shows) get the output position that samples nearest to them.
    """
    b, h, w, _ = maps.shape
    n = points.shape[1]
    if n == 0:
        return points
    p = points.float()
    flat = maps.reshape(b, h * w, 2).float() + 0.5
    idx = torch.empty(b, n, dtype=torch.long, device=maps.device)
    chunk = max(1, (1 << 23) // max(1, b * h * w))
    for j in range(0, n, chunk):
        d = torch.cdist(p[:, j : j + chunk], flat)
        idx[:, j : j + chunk] = d.argmin(dim=-1)
    q = torch.stack(((idx % w).float() + 0.5, (idx // w).float() + 0.5), dim=-1)
    res = (_sample_map(maps, q) - p).norm(dim=-1)
    for _ in range(iterations):
        cand = q + (p - _sample_map(maps, q))
        cres = (_sample_map(maps, cand) - p).norm(dim=-1)
        better = cres < res
        q = torch.where(better.unsqueeze(-1), cand, q)
        res = torch.where(better, cres, res)
    return q.to(points.dtype)


def box_extent(maps: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """xyxy boxes ``(B, N, 4)`` -> the extent of their warped masks (albumentations 2.x
    ``remap_bboxes``): an output pixel belongs to a box when the nearest input pixel it samples
    (the one a nearest-neighbour mask warp reads) has its centre inside the box. A box that no
    output pixel samples becomes the empty box at the origin (then clipped and reported invalid)."""
    b, h, w, _ = maps.shape
    n = boxes.shape[1]
    if n == 0:
        return boxes
    src = torch.round(maps.float()) + 0.5  # centre of the nearest input pixel (grid_sample rounds half to even too)
    sx = src[..., 0].view(b, 1, h, w)
    sy = src[..., 1].view(b, 1, h, w)
    bx = boxes.float()
    ar_w = torch.arange(w, device=maps.device)
    ar_h = torch.arange(h, device=maps.device)
    big = max(h, w) + 1
    parts = []
    chunk = max(1, (1 << 24) // max(1, b * h * w))  # bounded memory: (B, chunk, H, W) masks at a time
    for j in range(0, n, chunk):
        x1, y1, x2, y2 = (bx[:, j : j + chunk, i, None, None] for i in range(4))
        inside = (sx >= x1) & (sx <= x2) & (sy >= y1) & (sy <= y2)
        cols = inside.any(dim=2)  # (B, n, W)
        rows = inside.any(dim=3)  # (B, n, H)
        parts.append(torch.stack((
            torch.where(cols, ar_w, big).amin(-1), torch.where(rows, ar_h, big).amin(-1),
            torch.where(cols, ar_w, -1).amax(-1) + 1, torch.where(rows, ar_h, -1).amax(-1) + 1,
        ), dim=-1))
    out = torch.cat(parts, dim=1).to(boxes.dtype)
    anyc = out[..., 2] > 0
    return torch.where(anyc.unsqueeze(-1), out, torch.zeros_like(out))
