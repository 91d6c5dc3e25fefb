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
uint8 input is mixed in float32 and rounded to nearest.
"""

from __future__ import annotations

import torch

#: bytes of one column tile over all paired rows (measured on the benchmark machine, 1 MiB L2
#: per core, 32 MiB L3: 2 MiB tiles beat 128 KiB-512 KiB ones and untiled full-batch ops at
#: 64x3x224x224; a 256x3x32x32 float batch (3 MiB) runs in two tiles). See docs/mixing.md.
TILE_BYTES = 2 * 1024 * 1024


def flat_rows(t: torch.Tensor) -> torch.Tensor | None:
    """``(B, C, H, W)`` -> a ``(B, N)`` view in memory order (contiguous or channels_last), else None."""
    b = t.shape[0]
    if t.is_contiguous():
        return t.view(b, -1)
    if t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).reshape(b, -1)  # a view: this order is contiguous
    return None


def segments(batch: int, r: int) -> list[tuple[int, int, int]]:
    """Row blocks ``(a0, b0, n)`` of the ``"shift"`` pairing: rows ``a0..a0+n`` pair with ``b0..b0+n``."""
    h = batch // 2
    segs = [(0, h + r, h - r), (h - r, h, r)]
    return [s for s in segs if s[2] > 0]


def blend_generic(x: torch.Tensor, perm: torch.Tensor, w_self: torch.Tensor) -> torch.Tensor:
    """``w_self * x + (1 - w_self) * x[perm]`` (rounded for uint8); ``w_self`` broadcasts to ``x``."""
    if x.is_floating_point():
        return torch.lerp(x.index_select(0, perm), x, w_self.to(x.dtype))
    xf = x.float()
    out = torch.lerp(xf.index_select(0, perm), xf, w_self.float()).round_()
    return out.to(x.dtype, memory_format=torch.preserve_format)


def blend_pairs(
    x: torch.Tensor,
    out: torch.Tensor,
    r: int,
    leftover: tuple[int, int] | None,
    lam: torch.Tensor,
    tile_bytes: int = TILE_BYTES,
) -> torch.Tensor:
    """Pair kernel for MixUp-style blending on CPU; ``out`` may be ``x`` (in place).

    ``lam`` is the per-sample weight of the sample itself, ``(B,)``. ``x`` and ``out`` must be
    dense in the same memory format.
    """
    xf, of = flat_rows(x), flat_rows(out)
    assert xf is not None and of is not None
    batch, n_cols = xf.shape
    is_float = x.is_floating_point()
    inplace = out.data_ptr() == x.data_ptr()
    lam = lam.to(x.dtype if is_float else torch.float32).view(batch, 1)
    if leftover is not None:  # before the pairs: in place, the partner must still be original
        li, qi = leftover
        src_l, src_q = (xf[li], xf[qi]) if is_float else (xf[li].float(), xf[qi].float())
        t = torch.lerp(src_q, src_l, lam[li])
        of[li].copy_(t.round_() if not is_float else t)
    segs = segments(batch, r)
    rows = max(1, 2 * (batch // 2))
    cols = max(256, tile_bytes // (rows * max(x.element_size(), 4)))
    for c0 in range(0, n_cols, cols):
        c1 = min(n_cols, c0 + cols)
        for a0, b0, n in segs:
            a, b = xf[a0 : a0 + n, c0:c1], xf[b0 : b0 + n, c0:c1]
            la, lb = lam[a0 : a0 + n], lam[b0 : b0 + n]
            oa, ob = of[a0 : a0 + n, c0:c1], of[b0 : b0 + n, c0:c1]
            if is_float and not inplace:
                torch.lerp(b, a, la, out=oa)
                torch.lerp(a, b, lb, out=ob)
                continue
            if not is_float:
                a, b = a.float(), b.float()
            ta = torch.lerp(b, a, la)
            tb = torch.lerp(a, b, lb)
            if not is_float:
                ta.round_()
                tb.round_()
            oa.copy_(ta)
            ob.copy_(tb)
    return out


def blend_roll(x: torch.Tensor, r: int, lam: torch.Tensor) -> torch.Tensor:
    """CPU kernel for the ``"roll"`` pairing (partner of ``i`` is ``(i + r) % B``): two slices."""
    batch = x.shape[0]
    is_float = x.is_floating_point()
    src = x if is_float else x.float()
    w = lam.to(src.dtype).view(batch, *([1] * (x.ndim - 1)))
    out = torch.empty_like(src)
    k = batch - r
    torch.lerp(src[r:], src[:k], w[:k], out=out[:k])
    torch.lerp(src[:r], src[k:], w[k:], out=out[k:])
    if is_float:
        return out
    return out.round_().to(x.dtype, memory_format=torch.preserve_format)


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
    region = (slice(None), slice(y0, y1), slice(x0, x1))
    if leftover is not None:
        li, qi = leftover
        out[li][region] = x[qi][region]
    for a0, b0, n in segments(x.shape[0], r):
        ra, rb = (slice(a0, a0 + n), *region), (slice(b0, b0 + n), *region)
        if inplace:
            tmp = x[ra].clone()
            x[ra] = x[rb]
            x[rb] = tmp
        else:
            out[ra] = x[rb]
            out[rb] = x[ra]
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
    for a0, b0, n in segments(x.shape[0], r):
        sa, sb = slice(a0, a0 + n), slice(b0, b0 + n)
        if inplace:
            ta = torch.where(take_partner[sa], x[sb], x[sa])
            tb = torch.where(take_partner[sb], x[sa], x[sb])
            x[sa] = ta
            x[sb] = tb
        else:
            torch.where(take_partner[sa], x[sb], x[sa], out=out[sa])
            torch.where(take_partner[sb], x[sa], x[sb], out=out[sb])
    return out
