"""Shot noise on uint8 images by table lookup: ``Poisson(x c) / c`` for ``x = v / 255``, quantised.

A uint8 image has 256 values, so for a shot-noise constant ``c`` there are only 256 rates
``lambda_v = float32(float32(v / 255) * c)`` (the rates :func:`torchaug.corruptions._impl.shot_noise`
gives ``torch.poisson`` for the same image). Each draw is the inverse CDF of its rate at a uniform
``u``, ``k = min {k : u < F_v(k)}``, found by indexed search (Chen & Asau 1974, "On generating
random variates from an empirical distribution", AIIE Trans. 6(2)): the unit interval is cut into
``M = 2^m`` cells. A cell that no jump of ``F_v`` falls inside answers every ``u`` in it, so the
table holds the final uint8 value there (``float32(k) / c``, clamped and quantised as
:func:`torchaug.corruptions.corrupt` quantises float results) and the cell index is all that is
drawn (a uniform integer below ``M``, several cut from each random word). The few draws that land
in a cell holding a jump (1-2 % of them) draw their place inside it (a float64 uniform) and bisect
between the cell's first candidate and the last value. Exact for the float64 CDF (``pmf`` in log
space, ``lgamma``), whose tail past ``lambda + 12 sqrt(lambda) + 20`` (below 1e-25) is folded into
the last value. The draws run chunk by chunk (in order) in per-thread scratch buffers: on the CPU
about 4x faster than ``torch.poisson``, which samples element by element. The random stream is not
the float path's: a uint8 image and the same image as float get different (equally distributed)
noise for one seed (``tests/corruptions/test_poisson.py``).
"""

from __future__ import annotations

import functools
import math

import torch

from torchaug._cpu.scratch import scratch


def quantise_uint8(y: torch.Tensor) -> torch.Tensor:
    """A float32 result in the [0, 1] scale to its uint8 value, as ``corrupt`` does (floor with 1e-4)."""
    return torch.floor(y.clamp(0, 1) * 255 + 1e-4).clamp_(0, 255).to(torch.uint8)


@functools.lru_cache(maxsize=16)
def shot_tables(cs: tuple[float, ...], device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int, int]:
    """Tables of the rates ``float32(float32(v / 255) * c)``, ``v`` 0..255, for every ``c`` of ``cs``.

    Returns ``(cells, cdf, values, M, K)``: ``cells`` int16 ``(len(cs) * 256 * M,)``, per rate and
    cell the uint8 result where the cell holds no jump of the CDF, else ``-1 - k`` for its first
    candidate ``k``; ``cdf`` float64 ``(len(cs) * 256 * K,)``; ``values`` uint8 ``(len(cs) * K,)``
    the result of a count ``k``; ``M`` cells and ``K`` counts per rate. Shared: never write.
    """
    c32 = torch.tensor(cs, dtype=torch.float32).view(-1, 1)
    lam = (torch.arange(256, dtype=torch.float32) / 255 * c32).to(torch.float64).reshape(-1)  # (S * 256,)
    top = float(lam.max())
    K = int(math.ceil(top + 12 * math.sqrt(top) + 20))
    M = 1 << max(10, math.ceil(math.log2(2 * K)))
    k = torch.arange(K, dtype=torch.float64)
    pmf = torch.exp(k * torch.log(lam.clamp_min(1e-300)).unsqueeze(1) - lam.unsqueeze(1) - torch.lgamma(k + 1))
    pmf[lam == 0] = torch.nn.functional.one_hot(torch.tensor(0), K).to(torch.float64)  # Poisson(0) is 0
    cdf = pmf.cumsum(1).clamp_max_(1.0)  # (the sum may round above 1)
    cdf[:, -1] = 1.0  # the tail (< 1e-25) goes to the last count
    edges = (torch.arange(M, dtype=torch.float64) / M).expand(lam.numel(), M).contiguous()
    first = torch.searchsorted(cdf, edges, right=True).clamp_max_(K - 1)  # min {k : F(k) > j / M}
    pure = cdf.gather(1, first) >= (torch.arange(1, M + 1, dtype=torch.float64) / M)  # F(first) >= (j + 1) / M
    values = quantise_uint8(torch.arange(K, dtype=torch.float32) / c32)  # (S, K)
    rate_slot = torch.arange(len(cs)).repeat_interleave(256).unsqueeze(1)
    cells = torch.where(pure, values[rate_slot, first].to(torch.int64), -1 - first)
    return (cells.reshape(-1).to(device=device, dtype=torch.int16), cdf.reshape(-1).to(device),
            values.reshape(-1).to(device), M, K)


def shot_noise_uint8(x: torch.Tensor, slot: torch.Tensor, cs: tuple[float, ...], generator: torch.Generator | None,
                     chunk: int = 1 << 18) -> torch.Tensor:
    """Shot noise of a uint8 batch ``x`` ``(B, C, H, W)``, sample ``b`` with ``c = cs[slot[b]]``
    (``slot`` int64 ``(B,)``): uint8 ``(B, C, H, W)``. The values are drawn ``chunk`` at a time, in
    order (int64 work of a few MiB stays cached and is never page-faulted in afresh); reads the
    number of draws that land in a jump's cell on the host (a CPU path)."""
    cells, cdf, values, M, K = shot_tables(cs, x.device)
    b = x.shape[0]
    flat = x.contiguous().view(b, -1)
    out = torch.empty_like(flat)
    offset = (slot * (256 * M)).view(b, 1)
    rows = max(1, chunk // max(1, flat.shape[1]))  # whole samples per chunk
    for i in range(0, b, rows):
        j = min(b, i + rows)
        n = flat[i:j].numel()
        idx = scratch("shot_idx", (j - i, flat.shape[1]), torch.int64, x.device).copy_(flat[i:j]).mul_(M)
        idx = idx.add_(offset[i:j]).view(-1).add_(_uniform_cells(n, M, generator, x.device))  # (rate, cell)
        res = torch.take(cells, idx, out=scratch("shot_res", (n,), cells.dtype, x.device))
        part = out[i:j].view(-1)
        part.copy_(res)  # uint8 where the cell holds no jump; overwritten below where it does
        hard = (res < 0).nonzero().squeeze(1)
        if hard.numel():
            part.index_copy_(0, hard, _bisect(idx.index_select(0, hard), -1 - res.index_select(0, hard).long(),
                                              cdf, values, M, K, generator))
    return out.view(x.shape)


def _uniform_cells(n: int, M: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """``n`` uniform integers below ``M = 2^m`` (int64), cut from 62-bit random words ``62 // m`` at a
    time (each bit of a word is an independent fair bit; a word per value would cost several times
    more: the generator's time per word is most of this kernel's)."""
    m = M.bit_length() - 1
    per = 62 // m
    words = scratch("shot_words", (-(-n // per),), torch.int64, device).random_(0, 1 << 62, generator=generator)
    out = scratch("shot_cells", (per, words.numel()), torch.int64, device)
    for k in range(per):
        torch.bitwise_right_shift(words, k * m, out=out[k]).bitwise_and_(M - 1)
    return out.view(-1)[:n]


def _bisect(cell: torch.Tensor, lo: torch.Tensor, cdf: torch.Tensor, values: torch.Tensor, M: int, K: int,
            generator: torch.Generator | None) -> torch.Tensor:
    """The uint8 results of the draws in cells holding a jump (``cell``: rate * M + cell index, ``lo``:
    the cell's first candidate): a float64 uniform inside the cell, then bisection on the CDF."""
    rate = cell.div(M, rounding_mode="floor")
    u = ((cell - rate * M).to(torch.float64) + torch.rand(cell.numel(), generator=generator, dtype=torch.float64,
                                                           device=cell.device)) / M
    hi = torch.full_like(lo, K - 1)
    base = rate * K
    for _ in range(max(1, math.ceil(math.log2(K)))):  # invariant: F(lo - 1) <= u < F(hi)
        mid = (lo + hi) // 2
        right = cdf.take(base + mid) <= u
        lo = torch.where(right, mid + 1, lo)
        hi = torch.where(right, hi, mid)
    return values.take(rate.div(256, rounding_mode="floor") * K + lo)
