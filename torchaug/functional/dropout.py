"""Batched dropout and occlusion kernels with per-sample parameters (albumentations semantics).

``x`` is ``(B, C, H, W)``, ``uint8`` in [0, 255] or floating in [0, 1]. Holes are per-sample
``(B, N)`` integer boxes (``top``, ``left``, ``height``, ``width``; height or width 0 means no
hole), turned into masks by broadcasting ``arange``s; no loop over samples. Fill values are given
in the image's own scale (the transforms convert them). No randomness: random fills are passed in.
"""

from __future__ import annotations

import torch

from torchaug.functional.color import _keep_format

__all__ = [
    "hole_index",
    "fill_holes",
    "blend_fill",
    "hole_weight",
    "grid_holes",
    "pixel_dropout",
    "channel_dropout",
    "grid_shuffle_index",
    "grid_shuffle",
    "grid_shuffle_points",
    "grid_shuffle_boxes",
    "filter_boxes_by_holes",
    "points_in_holes",
]


def _scalar(v: float | int, x: torch.Tensor) -> float | int:
    """A Python fill in ``x``'s kind: an int for integer images (no promotion of uint8 to float)."""
    return v if x.is_floating_point() else int(round(v))


def hole_index(top: torch.Tensor, left: torch.Tensor, height: torch.Tensor, width: torch.Tensor,
               size: tuple[int, int]) -> torch.Tensor:
    """``(B, H, W)`` int16 map: ``n + 1`` where hole ``n`` (the last one, if several overlap)
    covers the pixel, 0 outside every hole. Parameters: ``(B, N)`` integer tensors."""
    H, W = size
    dev = top.device
    t, l_, h, w = (v.to(device=dev, dtype=torch.long) for v in (top, left, height, width))
    rows = torch.arange(H, device=dev).view(1, 1, H)
    cols = torch.arange(W, device=dev).view(1, 1, W)
    rm = (rows >= t.unsqueeze(2)) & (rows < (t + h).unsqueeze(2))  # (B, N, H)
    cm = (cols >= l_.unsqueeze(2)) & (cols < (l_ + w).unsqueeze(2))  # (B, N, W)
    index = torch.zeros(t.shape[0], H, W, dtype=torch.int16, device=dev)
    for n in range(t.shape[1]):  # a few holes: one pass each (the last covering hole wins)
        index.masked_fill_(rm[:, n, :, None] & cm[:, n, None, :], n + 1)
    return index


def hole_weight(top: torch.Tensor, left: torch.Tensor, height: torch.Tensor, width: torch.Tensor,
                size: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """The union of ``(B, N)`` holes as a 0/1 ``(B, 1, H, W)`` tensor of ``dtype``: per hole the
    outer product of a row and a column indicator, united by a maximum (no ``(B, N, H, W)`` tensor)."""
    H, W = size
    dev = top.device
    t, l_, h, w = (v.to(device=dev, dtype=torch.long) for v in (top, left, height, width))
    rows = torch.arange(H, device=dev).view(1, 1, H)
    cols = torch.arange(W, device=dev).view(1, 1, W)
    rm = ((rows >= t.unsqueeze(2)) & (rows < (t + h).unsqueeze(2))).to(dtype)  # (B, N, H)
    cm = ((cols >= l_.unsqueeze(2)) & (cols < (l_ + w).unsqueeze(2))).to(dtype)  # (B, N, W)
    out = torch.zeros(t.shape[0], 1, H, W, dtype=dtype, device=dev)
    for n in range(t.shape[1]):  # a few holes: one pass each
        torch.maximum(out, (rm[:, n, :, None] * cm[:, n, None, :]).unsqueeze(1), out=out)
    return out


def fill_holes(x: torch.Tensor, index: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Fill the pixels where ``index > 0`` (from :func:`hole_index`) with ``fill``.

    ``fill`` (in ``x``'s dtype and scale) is broadcastable to ``x`` (a constant ``()``, per
    channel ``(1, C, 1, 1)``, per sample and channel ``(B, C, 1, 1)``, per pixel ``(B, C, H, W)``)
    or ``(B, N, C)``: one colour per hole (albumentations' ``"random_uniform"``).
    """
    inside = (index > 0).unsqueeze(1)
    if isinstance(fill, (int, float)):
        return _keep_format(torch.where(inside, _scalar(fill, x), x), x)
    fill = fill.to(device=x.device, dtype=x.dtype)
    if fill.ndim == 3:  # one colour per hole
        B, N, C = fill.shape
        pad = torch.cat([torch.zeros(B, 1, C, dtype=x.dtype, device=x.device), fill], 1)  # index 0: unused
        idx = index.view(B, 1, -1).long().expand(B, C, -1)
        fill = pad.transpose(1, 2).gather(2, idx).view(B, C, *index.shape[1:])
    return _keep_format(torch.where(inside, fill, x), x)


def blend_fill(x: torch.Tensor, weight: torch.Tensor, fill: torch.Tensor | float) -> torch.Tensor:
    """``x * (1 - w) + fill * w`` with a 0/1 ``weight`` ``(B, 1, H, W)`` in ``x``'s dtype (uint8 or
    floating): exact (one term is always 0) and on CPU several times faster than ``torch.where``;
    ``fill`` broadcastable to ``x`` in ``x``'s dtype and scale."""
    out = x * (1 - weight)
    if isinstance(fill, (int, float)):
        if fill != 0:
            out += weight * _scalar(fill, x)
    else:
        out += fill.to(device=x.device, dtype=x.dtype) * weight
    return _keep_format(out, x)


def grid_holes(
    size: tuple[int, int],
    row_bounds: torch.Tensor,
    col_bounds: torch.Tensor,
    ratio: float,
    offset_y: torch.Tensor,
    offset_x: torch.Tensor,
) -> torch.Tensor:
    """Bool ``(B, H, W)`` mask of albumentations' ``GridDropout`` holes (one per grid cell).

    ``row_bounds``: ``(B, R + 1)`` cell boundaries along H (0 first, H last), ``col_bounds``:
    ``(B, K + 1)`` along W; a cell of height ``ch`` has a hole of height ``clip(int(ch * ratio),
    1, ch - 1)`` placed ``offset_y`` (``(B, R, K)``, per cell) below the cell's top, clipped to the
    image (likewise for widths). Samples may have fewer cells: repeat the last boundary (empty
    cells).
    """
    H, W = size
    dev = row_bounds.device
    rb, cb = row_bounds.long(), col_bounds.long()
    ch = rb[:, 1:] - rb[:, :-1]  # (B, R)
    cw = cb[:, 1:] - cb[:, :-1]
    hh = torch.minimum(torch.clamp((ch.double() * ratio).long(), min=1), ch - 1).clamp_min(0)
    hw = torch.minimum(torch.clamp((cw.double() * ratio).long(), min=1), cw - 1).clamp_min(0)
    y0 = torch.minimum(rb[:, :-1].unsqueeze(2) + offset_y.long(), (H - hh).unsqueeze(2)).clamp_min(0)  # (B, R, K)
    x0 = torch.minimum(cb[:, :-1].unsqueeze(1) + offset_x.long(), (W - hw).unsqueeze(1)).clamp_min(0)
    rows = torch.arange(H, device=dev)
    cols = torch.arange(W, device=dev)
    # the cell of every row / column (bucketize against each sample's inner boundaries)
    r_cell = (rows.view(1, H, 1) >= rb[:, 1:-1].unsqueeze(1)).sum(2)  # (B, H)
    c_cell = (cols.view(1, W, 1) >= cb[:, 1:-1].unsqueeze(1)).sum(2)  # (B, W)
    K = cw.shape[1]
    cell = r_cell.unsqueeze(2) * K + c_cell.unsqueeze(1)  # (B, H, W)
    B = rb.shape[0]
    flat = cell.view(B, -1)
    ys = y0.view(B, -1).gather(1, flat).view(B, H, W)
    xs = x0.view(B, -1).gather(1, flat).view(B, H, W)
    hy = hh.gather(1, r_cell).unsqueeze(2)
    wx = hw.gather(1, c_cell).unsqueeze(1)
    r = rows.view(1, H, 1)
    c = cols.view(1, 1, W)
    return (r >= ys) & (r < ys + hy) & (c >= xs) & (c < xs + wx)


def pixel_dropout(x: torch.Tensor, drop: torch.Tensor, value: torch.Tensor | float) -> torch.Tensor:
    """``where(drop, value, x)``: ``drop`` bool ``(B, 1 or C, H, W)``; ``value`` in ``x``'s scale,
    broadcastable to ``x`` (albumentations ``PixelDropout``). Integer images with a number as
    ``value``: ``x * keep + value * drop`` with 0/1 factors (exact: one term is 0; CPU ``where``
    with a broadcast condition is a scalar loop, about 20x slower)."""
    if isinstance(value, (int, float)) and not x.is_floating_point() and x.dtype != torch.bool:
        v = _scalar(value, x)
        d = drop.to(x.device)
        out = x * (~d).to(x.dtype)
        if v != 0:
            out += d.to(x.dtype) * v
        return _keep_format(out, x)
    v = _scalar(value, x) if isinstance(value, (int, float)) else value.to(device=x.device, dtype=x.dtype)
    return _keep_format(torch.where(drop, v, x), x)


def channel_dropout(x: torch.Tensor, drop: torch.Tensor, fill: float | torch.Tensor) -> torch.Tensor:
    """Set the channels where ``drop`` (bool ``(B, C)``) is true to ``fill`` (image scale).

    ``x * keep + fill * drop`` with 0/1 factors in ``x``'s dtype (exact: one term is 0), several
    times faster on CPU than ``torch.where`` with a ``(B, C, 1, 1)`` condition."""
    d = drop.to(x.device).view(*drop.shape, 1, 1)
    out = x * (~d).to(x.dtype)
    if not (isinstance(fill, (int, float)) and fill == 0):  # a Python zero adds nothing (no device read)
        out += d.to(x.dtype) * (_scalar(fill, x) if isinstance(fill, (int, float)) else fill.to(device=x.device, dtype=x.dtype))
    return _keep_format(out, x)


def grid_shuffle_index(
    size: tuple[int, int], row_bounds: torch.Tensor, col_bounds: torch.Tensor, mapping: torch.Tensor
) -> torch.Tensor:
    """``(B, H * W)`` int64 source pixel of every output pixel of a tile shuffle.

    Tiles are the cells of ``row_bounds`` ``(B, R + 1)`` x ``col_bounds`` ``(B, K + 1)``
    (row-major tile numbers); ``mapping`` ``(B, R * K)``: tile ``t``'s content moves to tile
    ``mapping[t]`` (albumentations ``swap_tiles_on_image``); tiles exchanged must have equal shapes.
    The source of a pixel is itself plus its destination tile's offset, so one ``(B, R, K)``
    offset table is spread over the pixels by two gathers.
    """
    H, W = size
    dev = row_bounds.device
    rb, cb = row_bounds.long(), col_bounds.long()
    B, R, K = rb.shape[0], rb.shape[1] - 1, cb.shape[1] - 1
    r_cell = (torch.arange(H, device=dev).view(1, H, 1) >= rb[:, 1:-1].unsqueeze(1)).sum(2)  # (B, H)
    c_cell = (torch.arange(W, device=dev).view(1, W, 1) >= cb[:, 1:-1].unsqueeze(1)).sum(2)  # (B, W)
    inverse = torch.argsort(mapping.long(), dim=1)  # source tile of each destination tile
    dest = torch.arange(R * K, device=dev)
    off = (rb.gather(1, inverse // K) - rb[:, dest // K]) * W + cb.gather(1, inverse % K) - cb[:, dest % K]  # (B, R*K)
    rows = off.view(B, R, K).gather(1, r_cell.unsqueeze(2).expand(B, H, K))  # (B, H, K)
    per_pixel = rows.gather(2, c_cell.unsqueeze(1).expand(B, H, W))  # (B, H, W)
    return per_pixel.view(B, H * W).add_(torch.arange(H * W, device=dev))


def grid_shuffle(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Gather every output pixel from its source (``index`` from :func:`grid_shuffle_index`); any
    dtype (masks too)."""
    B, C, H, W = x.shape
    out = x.reshape(B, C, H * W).gather(2, index.view(B, 1, -1).expand(B, C, -1)).view(B, C, H, W)
    return _keep_format(out, x)


def grid_shuffle_points(
    points: torch.Tensor, size: tuple[int, int], row_bounds: torch.Tensor, col_bounds: torch.Tensor, mapping: torch.Tensor
) -> torch.Tensor:
    """Move xy points ``(B, N, 2)`` with their tiles (albumentations ``swap_tiles_on_keypoints``);
    points outside the image stay where they are."""
    H, W = size
    rb, cb = row_bounds.to(points.device).long(), col_bounds.to(points.device).long()
    K = cb.shape[1] - 1
    px, py = points[..., 0], points[..., 1]
    inside = (px >= 0) & (px < W) & (py >= 0) & (py < H)
    r = (py.unsqueeze(2) >= rb[:, 1:-1].unsqueeze(1).to(py.dtype)).sum(2)  # (B, N)
    c = (px.unsqueeze(2) >= cb[:, 1:-1].unsqueeze(1).to(px.dtype)).sum(2)
    new = mapping.to(points.device).long().gather(1, r * K + c)
    nx = px - cb.gather(1, c).to(px.dtype) + cb.gather(1, new % K).to(px.dtype)
    ny = py - rb.gather(1, r).to(py.dtype) + rb.gather(1, new // K).to(py.dtype)
    moved = torch.stack([nx, ny], -1)
    return torch.where(inside.unsqueeze(-1), moved, points)


def grid_shuffle_boxes(
    boxes: torch.Tensor, row_bounds: torch.Tensor, col_bounds: torch.Tensor, mapping: torch.Tensor
) -> torch.Tensor:
    """Move xyxy boxes ``(B, N, 4)`` with a tile shuffle: each box is cut by the tiles, every
    piece moves with its tile, and the result is the box enclosing the moved pieces (a box inside
    one tile moves exactly; albumentations instead splits a box into one box per piece, which
    would change ``N``). Boxes that overlap no tile are returned unchanged."""
    dev = boxes.device
    rb, cb = row_bounds.to(dev).long(), col_bounds.to(dev).long()
    B, R, K = rb.shape[0], rb.shape[1] - 1, cb.shape[1] - 1
    t = torch.arange(R * K, device=dev)
    ty0, ty1 = rb[:, t // K], rb[:, t // K + 1]  # (B, T) source tiles
    tx0, tx1 = cb[:, t % K], cb[:, t % K + 1]
    new = mapping.to(dev).long()
    dy = (rb.gather(1, new // K) - ty0).to(boxes.dtype).unsqueeze(1)  # (B, 1, T)
    dx = (cb.gather(1, new % K) - tx0).to(boxes.dtype).unsqueeze(1)
    x0, y0, x1, y1 = (boxes[..., k].unsqueeze(2) for k in range(4))  # (B, N, 1)
    ix0 = torch.maximum(x0, tx0.unsqueeze(1).to(boxes.dtype))
    ix1 = torch.minimum(x1, tx1.unsqueeze(1).to(boxes.dtype))
    iy0 = torch.maximum(y0, ty0.unsqueeze(1).to(boxes.dtype))
    iy1 = torch.minimum(y1, ty1.unsqueeze(1).to(boxes.dtype))
    piece = (ix1 > ix0) & (iy1 > iy0)  # (B, N, T)
    inf = float("inf")
    nx0 = torch.where(piece, ix0 + dx, inf).amin(2)
    ny0 = torch.where(piece, iy0 + dy, inf).amin(2)
    nx1 = torch.where(piece, ix1 + dx, -inf).amax(2)
    ny1 = torch.where(piece, iy1 + dy, -inf).amax(2)
    moved = torch.stack([nx0, ny0, nx1, ny1], -1)
    return torch.where(piece.any(2, keepdim=True), moved, boxes)


# -- targets under holes (albumentations 2.0.8 BaseDropout.apply_to_bboxes / apply_to_keypoints) -----


def filter_boxes_by_holes(boxes: torch.Tensor, holes: torch.Tensor, *, min_area: float = 0.0,
                          min_visibility: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes ``(B, N, 4)`` xyxy (pixels) against a bool hole mask ``holes`` ``(B, H, W)``:
    albumentations 2.0.8 ``filter_bboxes_by_holes`` then ``resize_boxes_to_visible_area``, batched.

    On the pixel grid of the truncated box (``int(x1) .. int(x2)`` as the peer's ``astype(int)``;
    clamped to the image): ``area`` pixels, ``visible`` = those outside every hole. A box is kept
    when ``visible >= min_area``, ``visible / area >= min_visibility`` and ``visible > 0`` (a box
    of no pixel is dropped, as the peer's 0/0). A kept box becomes the bounding rectangle of its
    visible pixels, in whole pixels (as the peer's: a sub-pixel box that no hole touches is
    truncated to its pixel grid too). Returns ``(boxes, keep)``: ``keep`` ``(B, N)`` bool; dropped boxes come back as
    they came in.

    Exact integer counts from an integral image of the holes (one gather per corner), visible
    rows / columns from row- / column-prefix sums: ``(B, N, H)`` and ``(B, N, W)``, no loop.
    """
    B, N, _ = boxes.shape
    H, W = holes.shape[-2:]
    dev = boxes.device
    hm = holes.to(device=dev, dtype=torch.int32)
    bi = boxes.to(torch.float64).trunc().long()
    x1, y1 = bi[..., 0].clamp(0, W), bi[..., 1].clamp(0, H)
    x2, y2 = bi[..., 2].clamp(0, W), bi[..., 3].clamp(0, H)
    x2, y2 = torch.maximum(x2, x1), torch.maximum(y2, y1)
    bw, bh = x2 - x1, y2 - y1
    area = bw * bh
    ii = torch.zeros(B, H + 1, W + 1, dtype=torch.int64, device=dev)
    ii[:, 1:, 1:] = hm.to(torch.int64).cumsum(1).cumsum(2)
    flat = ii.view(B, -1)

    def at(yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        return flat.gather(1, yy * (W + 1) + xx)

    covered = at(y2, x2) - at(y1, x2) - at(y2, x1) + at(y1, x1)
    visible = area - covered
    ratio = visible.double() / area.clamp_min(1).double()
    keep = (visible > 0) & (visible.double() >= min_area) & (ratio >= min_visibility)
    # rows: holes in row r within [x1, x2) from each row's prefix sums; visible if fewer than bw
    rp = torch.zeros(B, H, W + 1, dtype=torch.int32, device=dev)
    rp[:, :, 1:] = hm.cumsum(2)
    in_row = (rp.gather(2, x2.view(B, 1, N).expand(B, H, N)) - rp.gather(2, x1.view(B, 1, N).expand(B, H, N))).transpose(1, 2)
    r = torch.arange(H, device=dev).view(1, 1, H)
    vis_r = (in_row < bw.unsqueeze(2)) & (r >= y1.unsqueeze(2)) & (r < y2.unsqueeze(2))  # (B, N, H)
    cp = torch.zeros(B, H + 1, W, dtype=torch.int32, device=dev)
    cp[:, 1:, :] = hm.cumsum(1)
    in_col = cp.gather(1, y2.view(B, N, 1).expand(B, N, W)) - cp.gather(1, y1.view(B, N, 1).expand(B, N, W))
    c = torch.arange(W, device=dev).view(1, 1, W)
    vis_c = (in_col < bh.unsqueeze(2)) & (c >= x1.unsqueeze(2)) & (c < x2.unsqueeze(2))  # (B, N, W)

    def first_last(v: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        vi = v.to(torch.uint8)
        return vi.argmax(-1), n - 1 - vi.flip(-1).argmax(-1)

    fy, ly = first_last(vis_r, H)
    fx, lx = first_last(vis_c, W)
    b = boxes
    nx1, ny1, nx2, ny2 = fx.to(b.dtype), fy.to(b.dtype), (lx + 1).to(b.dtype), (ly + 1).to(b.dtype)
    shrunk = torch.stack([nx1, ny1, nx2, ny2], -1)
    return torch.where(keep.unsqueeze(-1), shrunk, boxes), keep


def points_in_holes(points: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """``(B, N)`` bool: whether each xy point of ``points`` ``(B, N, 2)`` (pixels) lies in a hole of
    ``holes`` ``(B, H, W)`` (albumentations 2.0.8 ``filter_keypoints_in_holes``: ``x1 <= x < x2``,
    ``y1 <= y < y2`` for a hole ``[x1, y1, x2, y2)``, i.e. the pixel ``floor(x), floor(y)``).
    Points outside the image are in no hole."""
    B, N, _ = points.shape
    H, W = holes.shape[-2:]
    p = points.to(torch.float64).floor()
    px, py = p[..., 0], p[..., 1]
    inside = (px >= 0) & (px < W) & (py >= 0) & (py < H)
    ix = torch.where(inside, px, torch.zeros_like(px)).long()
    iy = torch.where(inside, py, torch.zeros_like(py)).long()
    hit = holes.to(points.device).reshape(B, -1).gather(1, iy * W + ix)
    return hit & inside
