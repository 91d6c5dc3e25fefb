"""Mosaic (YOLOv4-style): a grid of images from the batch cut around a random centre, with their boxes.

Bochkovskiy et al. 2020, "YOLOv4: Optimal Speed and Accuracy of Object Detection", sec. 3.3
(four training images mixed into one; the YOLOv5 form: a 2x2 grid around a random centre).
The arguments and geometry are albumentations 2.0.8's ``Mosaic``:

- a conceptual grid of ``grid_yx`` cells of ``cell_shape`` each; a window of ``target_size``
  whose centre is drawn per sample, proportionally in ``center_range`` of the positions that
  keep the window inside the grid (``min_c + int(valid * u)``);
- every cell part the window shows gets one image, fitted to the cell (``fit_mode="cover"``:
  scaled so it covers the cell, albumentations' ``SmallestMaxSize(max_size_hw=cell_shape)``)
  and cut on the side facing the mosaic centre (albumentations' "opposite corner" crop; a part
  on a central axis is cut from the fitted image's centre);
- the sample itself goes to the largest part; the other parts get other samples of the batch,
  drawn without replacement where the batch is large enough (albumentations draws them from
  ``mosaic_metadata``; a batch is its own metadata here).

Why not a :class:`~torchaug.mixing.Mixer`: a mixer returns soft class targets ``(B, K)``. Mosaic's
targets are box labels: the boxes of the four images moved into the mosaic and clipped to their
part, with their labels (and per-instance masks, or a semantic mask) alongside. So it is a batch
transform: batch in, batch out, partners drawn from the batch.

Output boxes. :meth:`Mosaic.forward` with per-image target dicts returns per-image dicts whose
boxes, labels and masks are those of the four parts, the boxes cut to nothing dropped (a host
read, as torchvision's ``SanitizeBoundingBoxes``). :func:`mosaic` itself keeps every slot:
``(B, K*N, 4)`` boxes with a validity mask, no host read (the device path).

Samples not selected by ``p`` are their own image fitted to ``target_size`` (cover, centre cut):
a batch has one size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from torchaug._validation import check_generator, check_images, check_number, describe
from torchaug.mixing._params import MosaicParams

__all__ = ["Mosaic", "mosaic"]

Params = MosaicParams


def _hw(v: Any, owner: str, name: str) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = (v, v)
    if not (isinstance(v, Sequence) and len(v) == 2 and all(isinstance(e, int) and not isinstance(e, bool) and e > 0 for e in v)):
        raise ValueError(f"{owner}: {name} must be a pair of positive ints (rows/height, cols/width); got {v!r}")
    return int(v[0]), int(v[1])


def _layout(center: torch.Tensor, grid: tuple[int, int], cell: tuple[int, int], target: tuple[int, int]) -> dict:
    """Per sample and cell ``(B, R, C)``: the part's placement in the window and its offset in the fitted cell."""
    rows, cols = grid
    ch, cw = cell
    th, tw = target
    dev = center.device
    x0 = center[:, 0] - tw // 2
    y0 = center[:, 1] - th // 2
    ys = torch.arange(rows + 1, device=dev) * ch
    xs = torch.arange(cols + 1, device=dev) * cw
    ylines = torch.minimum(torch.maximum(ys.unsqueeze(0), y0.unsqueeze(1)), (y0 + th).unsqueeze(1)) - y0.unsqueeze(1)
    xlines = torch.minimum(torch.maximum(xs.unsqueeze(0), x0.unsqueeze(1)), (x0 + tw).unsqueeze(1)) - x0.unsqueeze(1)
    y1, y2 = ylines[:, :-1, None].expand(-1, rows, cols), ylines[:, 1:, None].expand(-1, rows, cols)
    x1, x2 = xlines[:, None, :-1].expand(-1, rows, cols), xlines[:, None, 1:].expand(-1, rows, cols)
    ph, pw = y2 - y1, x2 - x1
    # albumentations' position of a part: its centre against the window's centre (2x to stay integral)
    vy, vx = torch.sign(y1 + y2 - th), torch.sign(x1 + x2 - tw)
    centred = (vy == 0) | (vx == 0)
    yoff = torch.where(centred, torch.div(ch - ph, 2, rounding_mode="floor"), torch.where(vy < 0, ch - ph, 0))
    xoff = torch.where(centred, torch.div(cw - pw, 2, rounding_mode="floor"), torch.where(vx < 0, cw - pw, 0))
    return {"y1": y1, "x1": x1, "ph": ph, "pw": pw, "yoff": yoff, "xoff": xoff, "y0": y0, "x0": x0}


def mosaic(
    x: torch.Tensor,
    params: Mapping[str, torch.Tensor],
    *,
    grid_yx: tuple[int, int] = (2, 2),
    cell_shape: tuple[int, int] = (512, 512),
    target_size: tuple[int, int] = (512, 512),
    boxes: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
    masks: torch.Tensor | None = None,
    interpolation: str = "bilinear",
    fit_mode: str = "cover",
    fill: float = 0.0,
    fill_mask: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """The mosaic kernel: ``x`` ``(B, C, H, W)`` -> ``(B, C, *target_size)``, deterministic given ``params``.

    ``params``: ``center`` ``(B, 2)`` int64 (x, y in grid pixels), ``sources`` ``(B, R*C)`` int64
    (the sample shown in each cell, row-major), ``apply`` ``(B,)`` bool. ``boxes`` ``(B, N, 4)``
    xyxy with ``valid`` ``(B, N)``; ``masks`` ``(B, K, H, W)`` (any dtype, nearest). Returns the
    images, boxes ``(B, R*C*N, 4)`` (cell-major: the boxes of cell 0's source, then cell 1's ...),
    their validity and the masks ``(B, K, *target_size)``.

    ``fit_mode``: ``"cover"`` (each image scaled to cover its cell, albumentations'
    ``SmallestMaxSize(max_size_hw=cell_shape)``) or ``"contain"`` (scaled to fit inside it,
    ``LongestMaxSize(max_size_hw=cell_shape)``, then albumentations' ``Crop(pad_if_needed=True)``
    of the part: the fitted image is padded by ``P // 2`` before and ``P`` after, ``P`` the part's
    overhang past the fitted image, and the part cut from that; uncovered pixels get ``fill``,
    masks ``fill_mask``). Samples not applied: their image fitted to ``target_size`` in the
    same mode (cover: centre cut; contain: centred with ``fill`` around).
    """
    b, c, h, w = x.shape
    rows, cols = grid_yx
    cell_h, cell_w = cell_shape
    th, tw = target_size
    dev = x.device
    apply = params["apply"]
    lay = _layout(params["center"].to(dev), grid_yx, cell_shape, target_size)
    contain = fit_mode == "contain"
    pick = min if contain else max  # contain: fits inside the cell; cover: covers it
    scale = pick(cell_h / h, cell_w / w)
    fh, fw = int(round(h * scale)), int(round(w * scale))
    if contain:  # albumentations' Crop(pad_if_needed): P // 2 fill rows before the fitted image
        lay = dict(lay)
        lay["yoff"] = lay["yoff"] - torch.div((lay["yoff"] + lay["ph"] - fh).clamp_min(0), 2, rounding_mode="floor")
        lay["xoff"] = lay["xoff"] - torch.div((lay["xoff"] + lay["pw"] - fw).clamp_min(0), 2, rounding_mode="floor")
    oy = torch.arange(th, device=dev)
    ox = torch.arange(tw, device=dev)
    gy, gx = lay["y0"].unsqueeze(1) + oy, lay["x0"].unsqueeze(1) + ox  # (B, th), (B, tw) grid pixels
    r = torch.div(gy, cell_h, rounding_mode="floor").clamp(0, rows - 1)
    cc = torch.div(gx, cell_w, rounding_mode="floor").clamp(0, cols - 1)
    k = r.unsqueeze(2) * cols + cc.unsqueeze(1)  # (B, th, tw) cell of each output pixel

    def per_pixel(v: torch.Tensor) -> torch.Tensor:
        return v.reshape(b, -1).gather(1, k.reshape(b, -1)).view(b, th, tw)

    fy = per_pixel(lay["yoff"] - lay["y1"]) + oy.view(1, th, 1)
    fx = per_pixel(lay["xoff"] - lay["x1"]) + ox.view(1, 1, tw)
    # not applied: the sample alone, fitted to the target and cut (cover) or padded (contain) at its centre
    s2 = pick(th / h, tw / w)
    f2h, f2w = int(round(h * s2)), int(round(w * s2))
    c2y = -((th - f2h) // 2) if contain else (f2h - th) // 2  # the fitted image's row at output row 0
    c2x = -((tw - f2w) // 2) if contain else (f2w - tw) // 2
    fy2 = (oy + c2y).view(1, th, 1).expand(b, th, tw)
    fx2 = (ox + c2x).view(1, 1, tw).expand(b, th, tw)
    a = apply.view(b, 1, 1)
    inside = None
    if contain:  # (B, th, tw): the output pixels that show the fitted image (the rest is fill)
        inside = torch.where(a, (fy >= 0) & (fy < fh) & (fx >= 0) & (fx < fw),
                             (fy2 >= 0) & (fy2 < f2h) & (fx2 >= 0) & (fx2 < f2w))
    sy = torch.where(a, (fy.float() + 0.5) * (h / fh) - 0.5, (fy2.float() + 0.5) * (h / f2h) - 0.5)
    sx = torch.where(a, (fx.float() + 0.5) * (w / fw) - 0.5, (fx2.float() + 0.5) * (w / f2w) - 0.5)
    grid = torch.stack([(sx + 0.5) * (2.0 / w) - 1.0, (sy + 0.5) * (2.0 / h) - 1.0], dim=-1)
    sources = params["sources"].to(dev)
    slots = rows * cols
    kk = torch.where(a, k, torch.zeros_like(k))
    src_all = torch.where(apply.unsqueeze(1), sources, torch.arange(b, device=dev).unsqueeze(1))
    wdt = x.dtype if x.is_floating_point() else torch.float32

    def sample(t: torch.Tensor, mode: str, value: float) -> torch.Tensor:
        tf = t.to(wdt) if mode == "bilinear" or not t.is_floating_point() else t
        g = grid.to(tf.dtype)
        out = None
        for s in range(slots):  # every output pixel shows exactly one cell
            part = F.grid_sample(tf[src_all[:, s]], g, mode=mode, padding_mode="border", align_corners=False)
            out = part if out is None else torch.where((kk == s).unsqueeze(1), part, out)
        if inside is not None:
            out = torch.where(inside.unsqueeze(1), out, torch.full((), value, dtype=out.dtype, device=out.device))
        if t.dtype == torch.uint8:
            return out.round().clamp(0, 255).to(torch.uint8)
        return out.to(t.dtype) if t.is_floating_point() else out.round().to(t.dtype)

    img = sample(x, interpolation, fill)
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        img = img.contiguous(memory_format=torch.channels_last)
    out_masks = sample(masks, "nearest", fill_mask) if masks is not None else None
    out_boxes = out_valid = None
    if boxes is not None:
        n = boxes.shape[1]
        valid = torch.ones(boxes.shape[:2], dtype=torch.bool, device=dev) if valid is None else valid.to(dev)
        bx = boxes.to(dev, torch.float32)
        sb = bx[src_all]  # (B, slots, N, 4): the boxes of each cell's source
        sv = valid[src_all]  # (B, slots, N)
        sxs, sys_ = fw / w, fh / h
        flat = {key: v.reshape(b, slots, 1) for key, v in lay.items() if v.ndim == 3}
        x1, y1 = flat["x1"].float(), flat["y1"].float()
        x2, y2 = x1 + flat["pw"].float(), y1 + flat["ph"].float()
        ox_, oy_ = (flat["x1"] - flat["xoff"]).float(), (flat["y1"] - flat["yoff"]).float()
        mx1 = (sb[..., 0] * sxs + ox_).clamp(min=x1, max=x2)
        my1 = (sb[..., 1] * sys_ + oy_).clamp(min=y1, max=y2)
        mx2 = (sb[..., 2] * sxs + ox_).clamp(min=x1, max=x2)
        my2 = (sb[..., 3] * sys_ + oy_).clamp(min=y1, max=y2)
        # not applied: the single fitted, centre-cut image
        s2x, s2y = f2w / w, f2h / h
        cx0, cy0 = float(c2x), float(c2y)
        nx1 = (sb[:, :1, :, 0] * s2x - cx0).clamp(0, tw)
        ny1 = (sb[:, :1, :, 1] * s2y - cy0).clamp(0, th)
        nx2 = (sb[:, :1, :, 2] * s2x - cx0).clamp(0, tw)
        ny2 = (sb[:, :1, :, 3] * s2y - cy0).clamp(0, th)
        ap = apply.view(b, 1, 1)
        moved = torch.stack([mx1, my1, mx2, my2], dim=-1)
        single = torch.cat([torch.stack([nx1, ny1, nx2, ny2], dim=-1),
                            torch.zeros_like(moved[:, 1:])], dim=1)
        out_boxes = torch.where(ap.unsqueeze(-1), moved, single)
        keep_slot = ap | (torch.arange(slots, device=dev).view(1, slots, 1) == 0)
        ok = (out_boxes[..., 2] > out_boxes[..., 0]) & (out_boxes[..., 3] > out_boxes[..., 1])
        out_valid = (sv & ok & keep_slot).reshape(b, slots * n)
        out_boxes = out_boxes.reshape(b, slots * n, 4)
    return img, out_boxes, out_valid, out_masks


class Mosaic(nn.Module):
    """albumentations 2.0.8 ``Mosaic`` over a batch (see the module docstring for the geometry).

    ``Mosaic(grid_yx=(2, 2), target_size=(512, 512), cell_shape=(512, 512), center_range=(0.3, 0.7),
    fit_mode="cover", interpolation="bilinear", p=0.5)``. Call it as
    ``m(images, targets, generator=None)`` with images ``(B, C, H, W)`` and ``targets`` a list of
    ``B`` dicts (``"boxes"`` ``(N_i, 4)`` xyxy pixels, ``"labels"`` ``(N_i,)``, optional per-instance
    ``"masks"`` ``(N_i, H, W)``), or ``m(images, mask=semantic)`` for segmentation (``(B, H, W)`` or
    ``(B, K, H, W)``); returns ``(images, targets)`` / ``(images, mask)`` of ``target_size``.
    ``return_params=True`` adds the parameters (``center``, ``sources``, ``apply``) and
    ``params=`` replays them. ``fit_mode``: ``"cover"`` (albumentations' default: each image
    scaled to cover its cell, cut on the side facing the centre) or ``"contain"`` (scaled to fit
    inside the cell, albumentations' padding of the part with ``fill``; masks ``fill_mask``).

    Parity: albumentations with the same centre and cell assignment (OpenCV's bilinear resize vs
    ``grid_sample``: uint8 images within 2 grey levels, boxes within 1e-3 px).
    """

    __torchaug_public__ = False  # a batch transform with box targets: neither a mixer (soft labels) nor a per-sample transform

    def __init__(self, grid_yx: Sequence[int] = (2, 2), target_size: Sequence[int] = (512, 512),
                 cell_shape: Sequence[int] = (512, 512), center_range: Sequence[float] = (0.3, 0.7),
                 fit_mode: str = "cover", interpolation: str = "bilinear", p: float = 0.5, *, fill: float = 0.0,
                 fill_mask: float = 0.0) -> None:
        super().__init__()
        owner = type(self).__name__
        self.grid_yx = _hw(grid_yx, owner, "grid_yx")
        self.target_size = _hw(target_size, owner, "target_size")
        self.cell_shape = _hw(cell_shape, owner, "cell_shape")
        if not (isinstance(center_range, Sequence) and len(center_range) == 2):
            raise TypeError(f"{owner}: center_range must be a (min, max) pair in [0, 1]; got {center_range!r}")
        lo = check_number(center_range[0], owner=owner, name="center_range", low=0.0, high=1.0)
        hi = check_number(center_range[1], owner=owner, name="center_range", low=0.0, high=1.0)
        if lo > hi:
            raise ValueError(f"{owner}: center_range must be (min, max) with min <= max; got {tuple(center_range)}")
        self.center_range = (float(lo), float(hi))
        if fit_mode not in ("cover", "contain"):
            raise ValueError(f"{owner}: fit_mode must be 'cover' or 'contain'; got {fit_mode!r}")
        self.fit_mode = fit_mode
        self.fill = float(check_number(fill, owner=owner, name="fill"))
        self.fill_mask = float(check_number(fill_mask, owner=owner, name="fill_mask"))
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{owner}: interpolation must be 'bilinear' or 'nearest'; got {interpolation!r}")
        self.interpolation = interpolation
        self.p = float(check_number(p, owner=owner, name="p", low=0.0, high=1.0))
        gh, gw = self.grid_yx[0] * self.cell_shape[0], self.grid_yx[1] * self.cell_shape[1]
        if self.target_size[0] > gh or self.target_size[1] > gw:
            raise ValueError(f"{owner}: target_size {self.target_size} must fit in the grid of grid_yx x cell_shape "
                             f"({gh}, {gw})")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        b = x.shape[0]
        dev = x.device
        rows, cols = self.grid_yx
        th, tw = self.target_size
        u = torch.rand((b, 3), generator=generator, device=dev)
        lo, hi = self.center_range
        rel = lo + (hi - lo) * u[:, :2]
        bounds = []
        for size, t in ((cols * self.cell_shape[1], tw), (rows * self.cell_shape[0], th)):
            mn, mx = t // 2, size - (t + 1) // 2
            bounds.append((mn, mx))
        cx = (bounds[0][0] + ((bounds[0][1] - bounds[0][0] + 1) * rel[:, 0]).floor().long()).clamp(*bounds[0])
        cy = (bounds[1][0] + ((bounds[1][1] - bounds[1][0] + 1) * rel[:, 1]).floor().long()).clamp(*bounds[1])
        center = torch.stack([cx, cy], dim=1)
        lay = _layout(center, self.grid_yx, self.cell_shape, self.target_size)
        area = (lay["ph"] * lay["pw"]).reshape(b, -1)
        slots = rows * cols
        primary = area.argmax(dim=1)  # the first largest part, as Python's max
        # partners: other samples, distinct while the batch allows
        others = torch.argsort(torch.rand((b, max(b - 1, 1)), generator=generator, device=dev), dim=1)
        need = slots - 1
        reps = -(-need // others.shape[1])
        offs = others.repeat(1, reps)[:, :need] + 1
        partners = (torch.arange(b, device=dev).unsqueeze(1) + offs) % b
        pos = torch.arange(slots, device=dev).unsqueeze(0)
        after = (pos > primary.unsqueeze(1)).long()
        order = (pos - after).clamp(0, max(need - 1, 0))  # slot -> index among the partners
        part = partners.gather(1, order) if need else torch.arange(b, device=dev).unsqueeze(1)
        sources = torch.where(pos == primary.unsqueeze(1), torch.arange(b, device=dev).unsqueeze(1), part)
        return MosaicParams(center=center, sources=sources, apply=u[:, 2] < self.p)

    def forward(self, images: torch.Tensor, targets: list[dict] | None = None, *, mask: torch.Tensor | None = None,
                generator: torch.Generator | None = None, params: Params | None = None,
                return_params: bool = False) -> Any:
        owner = type(self).__name__
        x, single = check_images(images, owner=owner)
        if single:
            raise ValueError(f"{owner}: needs a batch (B, C, H, W) to draw partners from; got {describe(images)}")
        if type(x) is not torch.Tensor:
            x = x.as_subclass(torch.Tensor)
        check_generator(generator, x.device, owner=owner)
        b, _, h, w = x.shape
        if params is None:
            params = self.make_params(x, generator)
        elif not isinstance(params, MosaicParams):
            if not isinstance(params, Mapping) or not {"center", "sources", "apply"} <= set(params.keys()):
                raise TypeError(f"{owner}: params must be the MosaicParams a call returned, or a mapping with "
                                f"'center', 'sources' and 'apply'; got {describe(params)}")
            params = MosaicParams.from_mapping(params, owner=owner)
        kw = dict(grid_yx=self.grid_yx, cell_shape=self.cell_shape, target_size=self.target_size,
                  interpolation=self.interpolation, fit_mode=self.fit_mode, fill=self.fill, fill_mask=self.fill_mask)
        if targets is None:
            m = None
            if mask is not None:
                m = mask.as_subclass(torch.Tensor) if type(mask) is not torch.Tensor else mask
                m = m.unsqueeze(1) if m.ndim == 3 else m
                if m.ndim != 4 or m.shape[0] != b or tuple(m.shape[-2:]) != (h, w):
                    raise ValueError(f"{owner}: mask must be (B, H, W) or (B, K, H, W) matching the images; got {describe(mask)}")
            img, _, _, mo = mosaic(x, params, masks=m, **kw)
            if mo is not None and mask.ndim == 3:
                mo = mo[:, 0]
            out = (img, mo) if mask is not None else img
            return (out, params) if return_params else out
        if not isinstance(targets, (list, tuple)) or len(targets) != b or not all(isinstance(t, dict) for t in targets):
            raise TypeError(f"{owner}: targets must be a list of {b} dicts with 'boxes' and 'labels'; got {describe(targets)}")
        counts = [int(t["boxes"].shape[0]) for t in targets]
        n = max(counts + [0])
        dev = x.device
        boxes = torch.zeros((b, n, 4), device=dev)
        labels = torch.zeros((b, n), dtype=torch.long, device=dev)
        valid = torch.zeros((b, n), dtype=torch.bool, device=dev)
        has_masks = all("masks" in t for t in targets)
        inst = None
        for i, t in enumerate(targets):
            bi = t["boxes"].as_subclass(torch.Tensor) if type(t["boxes"]) is not torch.Tensor else t["boxes"]
            if bi.ndim != 2 or bi.shape[-1] != 4:
                raise ValueError(f"{owner}: targets[{i}]['boxes'] must be (N, 4) xyxy pixels; got {describe(t['boxes'])}")
            boxes[i, : counts[i]] = bi.to(dev, torch.float32)
            labels[i, : counts[i]] = torch.as_tensor(t["labels"]).to(dev)
            valid[i, : counts[i]] = True
        if has_masks and n:
            mk = targets[0]["masks"]
            inst = torch.zeros((b, n, h, w), dtype=mk.dtype, device=dev)
            for i, t in enumerate(targets):
                inst[i, : counts[i]] = t["masks"].as_subclass(torch.Tensor).to(dev)
        slots = self.grid_yx[0] * self.grid_yx[1]
        img, ob, ov, _ = mosaic(x, params, boxes=boxes, valid=valid, **kw)
        src = torch.where(params["apply"].to(dev).unsqueeze(1), params["sources"].to(dev),
                          torch.arange(b, device=dev).unsqueeze(1))
        lab = labels[src].reshape(b, slots * n)
        out_masks = None
        if inst is not None:  # each slot's instance masks, shown only in its part
            per_slot = []
            for s in range(slots):
                one = {"center": params["center"], "apply": params["apply"],
                       "sources": src[:, s:s + 1].expand(b, slots)}
                _, _, _, ms = mosaic(x[:, :1], one, masks=inst, **kw)
                per_slot.append(ms)
            region = self._slot_of_pixel(params, b, dev)
            out_masks = torch.cat([torch.where(region == s, per_slot[s], torch.zeros_like(per_slot[s]))
                                   for s in range(slots)], dim=1)
        out_t = []
        for i in range(b):
            keep = ov[i]
            d = dict(targets[i])
            bx = ob[i][keep]
            like = targets[i]["boxes"]
            if type(like) is not torch.Tensor and hasattr(like, "canvas_size"):
                from torchvision import tv_tensors

                bx = tv_tensors.BoundingBoxes(bx, format="XYXY", canvas_size=self.target_size)
            d["boxes"], d["labels"] = bx, lab[i][keep]
            if out_masks is not None:
                mm = out_masks[i][keep]
                like_m = targets[i]["masks"]
                if type(like_m) is not torch.Tensor:
                    from torchvision import tv_tensors

                    mm = tv_tensors.Mask(mm)
                d["masks"] = mm
            out_t.append(d)
        return ((img, out_t), params) if return_params else (img, out_t)

    def _slot_of_pixel(self, params: Params, b: int, dev: torch.device) -> torch.Tensor:
        """``(B, 1, th, tw)``: the cell (slot) each output pixel shows (0 everywhere where not applied)."""
        th, tw = self.target_size
        lay = _layout(params["center"].to(dev), self.grid_yx, self.cell_shape, self.target_size)
        gy = lay["y0"].unsqueeze(1) + torch.arange(th, device=dev)
        gx = lay["x0"].unsqueeze(1) + torch.arange(tw, device=dev)
        r = torch.div(gy, self.cell_shape[0], rounding_mode="floor").clamp(0, self.grid_yx[0] - 1)
        c = torch.div(gx, self.cell_shape[1], rounding_mode="floor").clamp(0, self.grid_yx[1] - 1)
        k = r.unsqueeze(2) * self.grid_yx[1] + c.unsqueeze(1)
        return torch.where(params["apply"].to(dev).view(b, 1, 1), k, torch.zeros_like(k)).unsqueeze(1)

    def extra_repr(self) -> str:
        return (f"grid_yx={self.grid_yx}, target_size={self.target_size}, cell_shape={self.cell_shape}, "
                f"center_range={self.center_range}, fit_mode={self.fit_mode!r}, p={self.p}")
