"""Sparse Bernoulli draws on the CPU: which values of a batch are struck, without a draw per value.

A value struck independently with probability ``r`` means geometric gaps between hits:
``floor(log(1 - U) / log(1 - r))`` misses before each hit. Drawing the gaps costs about ``r n``
uniforms instead of ``n`` (the CPU's per-value ``torch.rand`` is the cost of a sparse mask: 3-4 ns
a value), for the same law (the uniforms are float32: the geometric probabilities are exact to about
``2^-24``). The positions come out per segment (a sample), each segment with its own rate.
"""

from __future__ import annotations

import math

import torch


def _positions(n: int, r: float, generator: torch.Generator | None) -> torch.Tensor:
    """The struck positions (increasing) among ``n`` values struck with probability ``r`` each."""
    if n <= 0 or r <= 0:
        return torch.empty(0, dtype=torch.long)
    if r >= 1:
        return torch.arange(n)
    scale = 1 / math.log1p(-r)
    parts, last = [], -1
    while last < n - 1:  # one round but for a draw more than 6 SD short
        m = int((n - 1 - last) * r + 6 * math.sqrt(n * r * (1 - r)) + 16)
        u = torch.rand(m, generator=generator)
        steps = u.neg_().log1p_().mul_(scale).floor_().to(torch.long).add_(1).cumsum_(0).add_(last)
        parts.append(steps)
        last = int(steps[-1])
    pos = parts[0] if len(parts) == 1 else torch.cat(parts)
    return pos[: int(torch.searchsorted(pos, n))]


def bernoulli_indices(n: int, rates: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """The struck values of ``S`` segments of ``n`` values, segment ``s`` with probability
    ``rates[s]`` (float ``(S,)`` in [0, 1], CPU): their flat indices ``s n + position`` (int64
    ``(K,)``, none twice). Segments that share a rate are drawn as one run of values (few distinct
    rates: severities, one probability); otherwise each segment's gaps at its own rate."""
    rates = rates.to(torch.float64).clamp(0.0, 1.0)
    S = rates.numel()
    levels = rates.unique()
    if levels.numel() == 1:
        return _positions(S * n, float(levels[0]), generator)
    if levels.numel() <= 8:
        parts = []
        for r in levels.tolist():
            rows = (rates == r).nonzero().view(-1)
            flat = _positions(rows.numel() * n, r, generator)
            parts.append(rows.index_select(0, flat // n).mul_(n).add_(flat % n))
        return torch.cat(parts)
    parts = []
    todo = (rates > 0).nonzero().view(-1)
    last = torch.full((S,), -1, dtype=torch.long)
    while todo.numel() and n > 0:
        r = rates.index_select(0, todo)
        left = (n - 1 - last.index_select(0, todo)).to(torch.float64)
        m = (left * r + 6 * (n * r * (1 - r)).sqrt() + 16).ceil().long()  # rarely too few: drawn again
        u = torch.rand(int(m.sum()), generator=generator)
        scale = (1 / torch.log1p(-r.clamp(max=1 - 1e-16))).to(torch.float32)
        steps = u.neg_().log1p_().mul_(scale.repeat_interleave(m)).floor_().to(torch.long).add_(1)
        steps.masked_fill_((r >= 1).repeat_interleave(m), 1)
        csum = steps.cumsum_(0)
        ends = m.cumsum(0)
        before = torch.cat([csum.new_zeros(1), csum.index_select(0, ends[:-1] - 1)])
        pos = csum.sub_((before - last.index_select(0, todo)).repeat_interleave(m))
        inside = pos < n
        parts.append(todo.repeat_interleave(m)[inside].mul_(n).add_(pos[inside]))
        reached = pos.index_select(0, ends - 1)
        last[todo] = reached
        todo = todo[reached < n - 1]
    return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)


def bernoulli_mask(shape: tuple[int, ...], rates: torch.Tensor | float, generator: torch.Generator | None) -> torch.Tensor:
    """A bool mask of ``shape`` ``(B, ...)`` (CPU), each value true with its sample's probability
    (``rates``: a number or ``(B,)``), drawn sparsely (:func:`bernoulli_indices`)."""
    b, per = shape[0], math.prod(shape[1:])
    r = torch.full((b,), float(rates), dtype=torch.float64) if not isinstance(rates, torch.Tensor) else rates.reshape(-1).expand(b)
    mask = torch.zeros(b * per, dtype=torch.bool)
    mask[bernoulli_indices(per, r, generator)] = True
    return mask.view(shape)
