"""Deterministic mixing kernels: ``(x, pairing, per-sample weights) -> x_mixed``. No randomness.

Two implementations of the same maths:

- the *generic* kernel ``lerp(x[perm], x, w)`` with ``w`` the weight of the sample itself,
  broadcast per sample ``(B,1,1,1)`` or per pixel ``(B,1,H,W)``; it works on any device
  without reading anything back to the host, and is the reference;
- *pair* kernels for CPU tensors whose pairing has the ``"shift"`` structure (see
  :func:`torchaug.mixing._random.sample_pairing`): each pair ``(a, b)`` is two contiguous
  blocks of rows, so ``out_a = λ_a a + (1-λ_a) b`` and ``out_b = λ_b b + (1-λ_b) a`` are
  computed together, tile by tile, while the tile is in cache. Every input byte is read from
  memory once and every output byte written once: the traffic of a plain copy.

Both use the same formula ``lerp(partner, self, λ_self)`` so they agree bit for bit on float
input (``torch.lerp`` is exact at weights 0 and 1, so unmixed samples are returned exactly).

uint8 input is mixed exactly in int16 arithmetic: with ``w = 128 λ`` an integer,
``partner + ((self - partner) * w + 64) >> 7`` is ``λ self + (1-λ) partner`` rounded to nearest
(halves up), with no float error and half the memory traffic of float32 temporaries (2x faster
than float on the benchmark machine). The mixers therefore draw λ on a grid of 1/128 for uint8
batches (:func:`quantize_lam`), and their targets use that same λ.
"""

from __future__ import annotations

import torch

from torchaug._cpu.scratch import scratch
from torchaug._cpu.thresholds import THRESHOLDS  # the values and how they were measured live there

#: bytes of one column tile over all paired rows (measured on the benchmark machine, 1 MiB L2
#: per core, 32 MiB L3: 2 MiB tiles beat 128 KiB-512 KiB ones and untiled full-batch ops at
#: 64x3x224x224; a 256x3x32x32 float batch (3 MiB) runs in two tiles). See docs/mixing.md.
TILE_BYTES = THRESHOLDS.tile_bytes
#: batches whose paired rows take at most this many bytes run as one tile (256x3x32x32 float:
#: 3 MiB, one tile 0.19 ms vs 0.30 ms in 2 MiB tiles, measured with one thread)
SINGLE_TILE_BYTES = THRESHOLDS.single_tile_bytes


#: λ resolution for uint8 batches: multiples of 1 / 2**UINT8_BITS
UINT8_BITS = 7


def quantize_lam(lam: torch.Tensor | float) -> torch.Tensor | float:
    """Round λ (a float32 tensor or a Python number) to the uint8 kernels' grid (multiples of 1/128).

    Both round halves to even, so a number and a tensor holding it land on the same grid point.
    """
    scale = float(1 << UINT8_BITS)
    if isinstance(lam, torch.Tensor):
        return torch.round(lam * scale) / scale
    return round(lam * scale) / scale


def _weight_i16(lam: torch.Tensor | float) -> torch.Tensor | int:
    if not isinstance(lam, torch.Tensor):
        return round(lam * float(1 << UINT8_BITS))
    return torch.round(lam.float() * float(1 << UINT8_BITS)).to(torch.int16)


def _mix_u8(own: torch.Tensor, partner: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """int16 ``partner + round((own - partner) * w / 128)`` (halves up); inputs int16."""
    return ((own - partner) * w).add_(1 << (UINT8_BITS - 1)).bitwise_right_shift_(UINT8_BITS).add_(partner)


def is_dense(t: torch.Tensor) -> bool:
    """Contiguous or channels-last: rows of :func:`flat_rows` exist."""
    return t.is_contiguous() or t.is_contiguous(memory_format=torch.channels_last)


def flat_rows(t: torch.Tensor) -> torch.Tensor | None:
    """``(B, C, H, W)`` -> a ``(B, N)`` view in memory order (contiguous or channels_last), else None."""
    b = t.shape[0]
    if t.is_contiguous():
        return t.view(b, -1)
    if t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).reshape(b, -1)  # a view: this order is contiguous
    return None


def pair_blocks(t: torch.Tensor, r: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Rows of ``t`` as the ``"shift"`` pairing's blocks ``[(a, b), ...]``: row ``i`` of ``a`` pairs with row ``i`` of ``b``.

    The blocks ``[0, h-r) [h-r, h) [h, h+r) [h+r, 2h)``: the first pairs with the last and the
    second with the third (empty blocks dropped). Plain slices: four views cost less than one
    ``tensor_split``.
    """
    h = t.shape[0] // 2
    if r == 0:
        return [(t[:h], t[h : 2 * h])]
    return [(t[: h - r], t[h + r : 2 * h]), (t[h - r : h], t[h : h + r])]


def pair_blocks_of_half(t: torch.Tensor, r: int) -> list[torch.Tensor]:
    """The first-half blocks of :func:`pair_blocks` for a tensor holding only the first half's rows."""
    h = t.shape[0]
    return [t] if r == 0 else [t[: h - r], t[h - r :]]


def blend_generic(x: torch.Tensor, perm: torch.Tensor, w_self: torch.Tensor) -> torch.Tensor:
    """``w_self * x + (1 - w_self) * x[perm]``; ``w_self`` broadcasts to ``x``.

    uint8: exact int16 arithmetic with ``w_self`` on the 1/128 grid, rounded halves up.
    """
    if x.is_floating_point():
        return torch.lerp(x.index_select(0, perm), x, w_self.to(x.dtype))
    x16 = x.to(torch.int16)
    out = _mix_u8(x16, x16.index_select(0, perm), _weight_i16(w_self))
    return out.to(x.dtype, memory_format=torch.preserve_format)


def blend_pairs(
    x: torch.Tensor,
    out: torch.Tensor,
    r: int,
    leftover: tuple[int, int] | None,
    lam: torch.Tensor | float,
    tile_bytes: int | None = None,
) -> torch.Tensor:
    """Pair kernel for MixUp-style blending on CPU; ``out`` may be ``x`` (in place).

    ``lam`` is the per-sample weight of the sample itself, ``(B,)``, or one Python number for
    the whole batch (no weight tensor ops at all). ``x`` and ``out`` must be dense in the same
    memory format.
    """
    tile_bytes = TILE_BYTES if tile_bytes is None else tile_bytes
    batch = x.shape[0]
    n_cols = x.numel() // batch
    is_float = x.is_floating_point()
    inplace = out.data_ptr() == x.data_ptr()
    shared = not isinstance(lam, torch.Tensor)
    rows = max(1, 2 * (batch // 2))
    width = x.element_size() if is_float else 2  # bytes per element of the temporaries
    if rows * n_cols * width <= SINGLE_TILE_BYTES:
        # small batch: it stays in cache anyway, fewer ops win; row slices of any dense layout
        xf, of, cols = x, out, n_cols
    else:
        xf, of = flat_rows(x), flat_rows(out)
        assert xf is not None and of is not None
        cols = max(256, tile_bytes // (rows * width))
    if not is_float:
        lam = _weight_i16(lam)
    elif not shared and lam.dtype != x.dtype:
        lam = lam.to(x.dtype)
    if not shared:
        lam = lam.view(batch, *([1] * (xf.ndim - 1)))
    if leftover is not None:  # before the pairs: in place, the partner must still be original
        li, qi = leftover
        wl = lam if shared else lam[li]
        if is_float:
            of[li].copy_(torch.lerp(xf[qi], xf[li], wl))
        else:
            of[li].copy_(_mix_u8(xf[li].to(torch.int16), xf[qi].to(torch.int16), wl))
    lams = [(lam, lam)] * (1 if r == 0 else 2) if shared else pair_blocks(lam, r)
    for c0 in range(0, n_cols, cols):
        xt, ot = (xf, of) if cols == n_cols else (xf[:, c0 : c0 + cols], of[:, c0 : c0 + cols])
        blocks = pair_blocks(xt, r)
        if is_float and inplace:
            # the first half's new rows go to a scratch buffer, the second half's straight into
            # place (lerp may write over its own input ``end``), then one copy back
            h = rows // 2
            first = scratch("blend_pairs", (h, *xt.shape[1:]), x.dtype, x.device)
            for (a, b), (la, lb), t in zip(blocks, lams, pair_blocks_of_half(first, r)):
                torch.lerp(b, a, la, out=t)
            for (a, b), (la, lb) in zip(blocks, lams):
                torch.lerp(a, b, lb, out=b)
            xt[:h].copy_(first)
            continue
        for (a, b), (oa, ob), (la, lb) in zip(blocks, pair_blocks(ot, r), lams):
            if is_float:
                torch.lerp(b, a, la, out=oa)
                torch.lerp(a, b, lb, out=ob)
                continue
            a16, b16 = a.to(torch.int16), b.to(torch.int16)
            ta = _mix_u8(a16, b16, la)
            tb = _mix_u8(b16, a16, lb)
            oa.copy_(ta)
            ob.copy_(tb)
    return out


def blend_roll(x: torch.Tensor, r: int, lam: torch.Tensor) -> torch.Tensor:
    """CPU kernel for the ``"roll"`` pairing (partner of ``i`` is ``(i + r) % B``): two slices."""
    batch = x.shape[0]
    k = batch - r
    if x.is_floating_point():
        w = lam.to(x.dtype).view(batch, *([1] * (x.ndim - 1)))
        out = torch.empty_like(x)
        torch.lerp(x[r:], x[:k], w[:k], out=out[:k])
        torch.lerp(x[:r], x[k:], w[k:], out=out[k:])
        return out
    w = _weight_i16(lam).view(batch, *([1] * (x.ndim - 1)))
    out = torch.empty_like(x)
    out[:k] = _mix_u8(x[:k].to(torch.int16), x[r:].to(torch.int16), w[:k])
    out[k:] = _mix_u8(x[k:].to(torch.int16), x[:r].to(torch.int16), w[k:])
    return out


def box_mask(box: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Per-sample boxes ``(B, 4)`` as ``[y0, y1, x0, x1)`` -> bool masks ``(B, 1, H, W)`` (broadcast aranges)."""
    ys = torch.arange(height, device=box.device).view(1, height, 1)
    xs = torch.arange(width, device=box.device).view(1, 1, width)
    y0, y1, x0, x1 = (box[:, i].view(-1, 1, 1) for i in range(4))
    return ((ys >= y0) & (ys < y1) & (xs >= x0) & (xs < x1)).unsqueeze(1)


def paste_box_pairs(
    x: torch.Tensor, out: torch.Tensor, box: tuple[int, int, int, int], r: int, leftover: tuple[int, int] | None
) -> torch.Tensor:
    """CutMix with one box for the whole batch and the ``"shift"`` pairing (CPU); ``out`` may be ``x``."""
    y0, y1, x0, x1 = box
    inplace = out.data_ptr() == x.data_ptr()
    if not inplace:
        out.copy_(x)
    if y1 <= y0 or x1 <= x0:
        return out
    region = (slice(None), slice(None), slice(y0, y1), slice(x0, x1))
    xr, outr = x[region], out[region]
    if leftover is not None:
        li, qi = leftover
        outr[li] = xr[qi]
    for (a, b), (oa, ob) in zip(pair_blocks(xr, r), pair_blocks(outr, r)):
        if inplace:
            tmp = a.clone()
            a.copy_(b)
            b.copy_(tmp)
        else:
            oa.copy_(b)
            ob.copy_(a)
    return out


def where_pairs(
    x: torch.Tensor, out: torch.Tensor, take_partner: torch.Tensor, r: int, leftover: tuple[int, int] | None
) -> torch.Tensor:
    """Per-pixel choice ``where(take_partner, partner, self)`` with the ``"shift"`` pairing (CPU).

    ``take_partner`` is bool ``(B, 1, H, W)``; ``out`` may be ``x``.
    """
    inplace = out.data_ptr() == x.data_ptr()
    if leftover is not None:
        li, qi = leftover
        out[li].copy_(torch.where(take_partner[li], x[qi], x[li]))
    for (a, b), (oa, ob), (ta, tb) in zip(pair_blocks(x, r), pair_blocks(out, r), pair_blocks(take_partner, r)):
        if inplace:
            na = torch.where(ta, b, a)
            nb = torch.where(tb, a, b)
            a.copy_(na)
            b.copy_(nb)
        else:
            torch.where(ta, b, a, out=oa)
            torch.where(tb, a, b, out=ob)
    return out


def box_weight(box: torch.Tensor, height: int, width: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``1 - box_mask`` as floats ``(B, 1, H, W)``: the weight of the sample itself (0 inside its box).

    One broadcast op over the batch: ``maximum(outside_rows (B,1,H,1), outside_cols (B,1,1,W))``.
    """
    ys = torch.arange(height, device=box.device).view(1, 1, height, 1)
    xs = torch.arange(width, device=box.device).view(1, 1, 1, width)
    y0, y1, x0, x1 = (box[:, i].view(-1, 1, 1, 1) for i in range(4))
    out_y = ((ys < y0) | (ys >= y1)).to(dtype)
    out_x = ((xs < x0) | (xs >= x1)).to(dtype)
    return torch.maximum(out_y, out_x)


def lerp_pairs(
    x: torch.Tensor, out: torch.Tensor, w_self: torch.Tensor, r: int, leftover: tuple[int, int] | None
) -> torch.Tensor:
    """Per-pixel blend ``lerp(partner, self, w_self)`` with the ``"shift"`` pairing (CPU, floating ``x``).

    ``w_self`` floats ``(B, 1, H, W)`` (a batch-shared map may be an ``expand`` of one row: no
    copy); ``out`` may be ``x``. The generic kernel's formula (``lerp(x[perm], x, w)``), so the
    two agree bit for bit; exact copies where ``w_self`` is 0 or 1. Each pair's two rows are read
    once and written once, without the gathered copy ``x[perm]``.
    """
    w = w_self.to(x.dtype)
    inplace = out.data_ptr() == x.data_ptr()
    if leftover is not None:  # before the pairs: in place, the partner must still be original
        li, qi = leftover
        out[li].copy_(torch.lerp(x[qi], x[li], w[li]))
    for (a, b), (oa, ob), (wa, wb) in zip(pair_blocks(x, r), pair_blocks(out, r), pair_blocks(w, r)):
        if inplace:
            na = torch.lerp(b, a, wa)
            torch.lerp(a, b, wb, out=b)
            a.copy_(na)
        else:
            torch.lerp(b, a, wa, out=oa)
            torch.lerp(a, b, wb, out=ob)
    return out
