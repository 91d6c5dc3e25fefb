"""Random draws for the feature-space hooks that accept a ``torch.Generator``.

``torch.distributions.Beta`` cannot take a generator, so Beta(α, β) is sampled here from two
Gamma variates drawn with the Marsaglia–Tsang method (Marsaglia & Tsang, "A simple method for
generating gamma variables", ACM TOMS 2000), vectorised without a data-dependent loop: every
variate gets ``num_candidates`` proposals at once and keeps the first accepted one (the
acceptance rate is above 95 % for every shape ≥ 1, so 16 proposals all fail with probability
below 1e-20; the mode ``d`` is used then). Shapes below 1 use the boost
``Gamma(a) = Gamma(a + 1) · U^(1/a)``, computed in log space so that tiny shapes do not
underflow. Everything stays on ``device``: no ``.item()``, no host-device sync.
"""

from __future__ import annotations

import torch

_NUM_CANDIDATES = 16


def _log_gamma_variates(
    concentration: torch.Tensor, generator: torch.Generator | None, num_candidates: int = _NUM_CANDIDATES
) -> torch.Tensor:
    """``log`` of Gamma(concentration, 1) variates, one per element of ``concentration``."""
    a = concentration
    boost = a < 1
    a1 = torch.where(boost, a + 1, a)
    d = a1 - 1.0 / 3.0
    c = torch.rsqrt(9.0 * d)
    shape = (*a.shape, num_candidates)
    z = torch.randn(shape, generator=generator, device=a.device, dtype=a.dtype)
    u = torch.rand(shape, generator=generator, device=a.device, dtype=a.dtype)
    u_boost = torch.rand(a.shape, generator=generator, device=a.device, dtype=a.dtype)
    dd, cc = d.unsqueeze(-1), c.unsqueeze(-1)
    v = (1.0 + cc * z) ** 3
    v_pos = v.clamp_min(torch.finfo(a.dtype).tiny)
    ok = (v > 0) & (torch.log(u) < 0.5 * z * z + dd - dd * v + dd * torch.log(v_pos))
    first = ok.to(torch.uint8).argmax(-1, keepdim=True)  # index of the first accepted proposal
    g = torch.gather(dd * v_pos, -1, first).squeeze(-1)
    g = torch.where(ok.any(-1), g, d)
    log_g = torch.log(g)
    # boost for a < 1: log Gamma(a) = log Gamma(a + 1) + log(U) / a
    log_u = torch.log(u_boost.clamp_min(torch.finfo(a.dtype).tiny))
    return torch.where(boost, log_g + log_u / a, log_g)


def sample_beta(
    alpha: float,
    beta: float,
    shape: tuple[int, ...] = (),
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Beta(``alpha``, ``beta``) variates of ``shape`` (float32, on ``device``) from ``generator``.

    ``X / (X + Y)`` with ``X ~ Gamma(alpha)``, ``Y ~ Gamma(beta)``, evaluated as
    ``sigmoid(log X - log Y)``; values lie in ``[0, 1]``.
    """
    a = torch.full((2, *shape), 0.0, device=device, dtype=torch.float32)
    a[0] = float(alpha)
    a[1] = float(beta)
    log_g = _log_gamma_variates(a, generator)
    return torch.sigmoid(log_g[0] - log_g[1])
