"""Random draws for the mixers: Beta(α, α) from a ``torch.Generator`` and batch pairings.

``torch.distributions.Beta`` samples through ``torch._standard_gamma``, which takes no
``generator``; these helpers draw only generator-driven normals and uniforms on the data's
device, so a seeded generator reproduces a run exactly and nothing touches the host.
"""

from __future__ import annotations

import functools
import math
import random
import struct

import torch

#: rejection rounds of Marsaglia-Tsang drawn at once (acceptance >= 0.95 per round for shape >= 1,
#: so a fallback is needed with probability < 1e-10 per draw)
GAMMA_ROUNDS = 8
#: rounds of Jöhnk's algorithm drawn at once (for α, β <= 0.6 acceptance >= 0.72 per round)
JOHNK_ROUNDS = 12


def log_gamma_sample(
    shape: float, n: int, *, generator: torch.Generator | None, device: torch.device | str
) -> torch.Tensor:
    """``n`` draws of ``log G`` with ``G ~ Gamma(shape, 1)``, float32 ``(n,)`` on ``device``.

    Marsaglia & Tsang (2000), vectorised with a fixed number of rejection rounds (the first
    accepted round wins; never-accepted draws fall back to the mode ``d``). For ``shape < 1``
    the boost ``G = G' * U**(1/shape)`` with ``G' ~ Gamma(shape + 1)`` is applied in log space, so
    tiny shapes (α = 0.2 gives ``U**5``) do not underflow.
    """
    if not shape > 0:
        raise ValueError(f"log_gamma_sample: shape must be > 0; got {shape!r}")
    boost = shape < 1.0
    a = shape + 1.0 if boost else shape
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    z = torch.randn((GAMMA_ROUNDS, n), generator=generator, device=device, dtype=torch.float64)
    u = torch.rand((GAMMA_ROUNDS, n), generator=generator, device=device, dtype=torch.float64)
    v = (1.0 + c * z) ** 3
    log_v = torch.log(v.clamp_min(1e-300))
    accept = (v > 0) & (torch.log(u) < 0.5 * z * z + d - d * v + d * log_v)
    first = accept.to(torch.uint8).argmax(0, keepdim=True)  # first accepted round
    log_v = log_v.gather(0, first).squeeze(0)
    log_v = torch.where(accept.any(0), log_v, torch.zeros_like(log_v))
    out = math.log(d) + log_v
    if boost:
        u2 = 1.0 - torch.rand(n, generator=generator, device=device, dtype=torch.float64)  # (0, 1]
        out = out + torch.log(u2) / shape
    return out.to(torch.float32)


def sample_beta(
    alpha: float, n: int, *, generator: torch.Generator | None, device: torch.device | str, beta: float | None = None
) -> torch.Tensor:
    """``n`` draws of ``Beta(alpha, beta)`` (``beta`` defaults to ``alpha``): float32 ``(n,)`` in [0, 1].

    Three exact samplers, chosen by the parameters (all vectorised, all driven by ``generator``):

    - ``alpha = beta = 1``: ``U(0, 1)`` (one op);
    - ``alpha, beta <= 0.6``: Jöhnk's algorithm, ``X = U^(1/α)``, ``Y = V^(1/β)``, accepted when
      ``X + Y <= 1``, result ``X / (X + Y)``; in log space (``α = 0.2`` gives ``U^5``), with
      ``JOHNK_ROUNDS`` rounds drawn at once (acceptance ``Γ(α+1)Γ(β+1)/Γ(α+β+1)``: 0.95 at
      α = 0.2, 0.72 at 0.6);
    - otherwise ``sigmoid(log X - log Y)`` with Marsaglia-Tsang gammas
      (:func:`log_gamma_sample`).

    A draw that no round accepts (probability below 1e-6 for α, β <= 0.6, where Jöhnk's
    algorithm is used) falls back to the first round's ratio ``X / (X + Y)``.
    """
    beta = alpha if beta is None else beta
    if alpha == 1.0 and beta == 1.0:
        return torch.rand(n, generator=generator, device=device)
    if alpha <= 0.6 and beta <= 0.6:
        logs = torch.rand((JOHNK_ROUNDS, 2, n), generator=generator, device=device).clamp_min_(1e-30).log_()
        lx, ly = logs[:, 0] * (1.0 / alpha), logs[:, 1] * (1.0 / beta)  # no host-to-device copy
        accept = torch.logaddexp(lx, ly) <= 0
        first = accept.to(torch.uint8).argmax(0, keepdim=True)  # first accepted round (0 if none)
        d = (lx - ly).gather(0, first).squeeze(0)
        return torch.sigmoid(d)
    lg = log_gamma_sample_pair(alpha, beta, n, generator=generator, device=device)
    return torch.sigmoid(lg[0] - lg[1])


def log_gamma_sample_pair(
    a: float, b: float, n: int, *, generator: torch.Generator | None, device: torch.device | str
) -> torch.Tensor:
    """``(2, n)``: ``log Gamma(a)`` and ``log Gamma(b)`` draws (one call of :func:`log_gamma_sample` when ``a == b``)."""
    if a == b:
        return log_gamma_sample(a, 2 * n, generator=generator, device=device).view(2, n)
    return torch.stack(
        [log_gamma_sample(a, n, generator=generator, device=device), log_gamma_sample(b, n, generator=generator, device=device)]
    )


def _uniform_int(high: int | torch.Tensor, n: int, *, generator, device) -> torch.Tensor:
    """Integers in ``[0, high)`` (``high`` >= 1), int64 ``(n,)``."""
    if isinstance(high, torch.Tensor):
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        return (u * high).floor().long().minimum(high.long() - 1)
    return torch.randint(max(int(high), 1), (n,), generator=generator, device=device)


def sample_pairing(
    batch: int, kind: str, *, generator: torch.Generator | None, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Draw a partner for every sample: ``(perm, offset)``.

    ``perm[i]`` is the partner whose content is mixed into sample ``i`` (int64 ``(B,)``).

    - ``"shift"``: an involution across the two halves of the batch: for ``i < h = B // 2``
      the partner is ``h + (i + r) % h`` (and back), with ``r`` uniform in ``[0, h)`` drawn per
      batch. Each pair can be computed together from contiguous slices, reading every input
      once. Like timm's ``flip`` and torchvision's ``roll``, it relies on the loader having
      shuffled the batch, but it changes with every batch. ``offset`` is ``r`` (shape ``(1,)``).
    - ``"random"``: a uniformly random involution (pairs of a random permutation).
    - ``"roll"``: ``perm[i] = (i + r) % B`` with ``r`` uniform in ``[1, B)`` (never ``B / 2``
      when ``B > 2``), so no two samples are each other's partner (SamplePairing: an involution
      would give both members the same averaged image). ``offset`` is ``r``.

    With an odd batch, the sample left out of the pairs (``B - 1`` for ``"shift"``) takes a
    uniformly drawn other sample as its partner. A batch of one is paired with itself.
    """
    if batch == 1:
        return torch.zeros(1, dtype=torch.long, device=device), None
    h = batch // 2
    if kind == "shift":
        r = _uniform_int(h, 1, generator=generator, device=device)
        within, sign, base = _shift_tables(batch, torch.device(device))
        perm = torch.remainder(within + sign * r, h).add_(base)  # the odd sample's slot is fixed below
        if batch % 2:
            q = _uniform_int(batch - 1, 1, generator=generator, device=device)
            perm[batch - 1 :] = q
        return perm, r
    idx = torch.arange(batch, device=device)
    if kind == "roll":
        if batch > 2 and batch % 2 == 0:
            r = 1 + _uniform_int(batch - 2, 1, generator=generator, device=device)
            r = r + (r >= h).long()  # skip B/2 (mutual partners)
        else:
            r = 1 + _uniform_int(batch - 1, 1, generator=generator, device=device)
        return (idx + r) % batch, r
    if kind == "random":
        perm = idx.clone()
        sigma = torch.randperm(batch, generator=generator, device=device)
        a, b = sigma[0 : 2 * h : 2], sigma[1 : 2 * h : 2]
        perm.scatter_(0, a, b)
        perm.scatter_(0, b, a)
        left = sigma[batch - 1 :]
    else:
        raise ValueError(f"sample_pairing: kind must be 'shift', 'random' or 'roll'; got {kind!r}")
    if batch % 2:
        q = _uniform_int(batch - 1, 1, generator=generator, device=device)
        q = q + (q >= left).long()
        perm.scatter_(0, left, q)
    return perm, None


@functools.lru_cache(maxsize=64)
def _shift_tables(batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Constants of the ``"shift"`` pairing: ``perm = (within + sign * r) % h + base``.

    ``within[i] = i % h``, ``sign`` +1 on the first half and -1 on the second, ``base`` h on the
    first half and 0 on the second (int64 ``(B,)``; the odd batch's last sample gets 0s). Cached:
    a training loop sees one or two batch sizes, and rebuilding them took more time than the draw.
    """
    h = batch // 2
    idx = torch.arange(batch, device=device)
    first = idx < h
    within = torch.where(idx < 2 * h, idx % max(h, 1), 0)
    sign = torch.where(first, 1, -1).long() * (idx < 2 * h)
    base = torch.where(first, h, 0).long()
    return within, sign, base


def pair_ids(perm: torch.Tensor) -> torch.Tensor:
    """Index shared by both members of a pair (``min(i, perm[i])``), to give a pair one draw."""
    return torch.minimum(torch.arange(perm.shape[0], device=perm.device), perm)


class HostRandom(random.Random):
    """:class:`random.Random` whose uniforms come from a CPU ``torch.Generator`` (None: torch's
    global generator), drawn in blocks of float64.

    For the CPU batch-wide draws (one pairing offset, one λ, one box): a few Python numbers, each
    drawn by stdlib methods (``betavariate``, ``randrange``) for about a microsecond, where the same
    draws as tensor ops cost a dispatch each (5-10 us on the benchmark machine). Reproducible:
    the numbers depend only on the torch generator's state. Subclassing with ``random()``
    overridden is the documented way to supply another basic generator; no seeding happens.
    """

    BLOCK = 16

    def __init__(self, generator: torch.Generator | None) -> None:  # noqa: D107 - no seed() call
        self._generator = generator
        self._buffer: list[float] = []

    def seed(self, *args: object, **kwargs: object) -> None:
        """No state of its own: the stream is the torch generator's."""

    def random(self) -> float:
        if not self._buffer:
            self._buffer = torch.rand(self.BLOCK, generator=self._generator, dtype=torch.float64).tolist()[::-1]
        return self._buffer.pop()


def as_float32(v: float) -> float:
    """``v`` rounded to the nearest float32 (so a Python λ and a float32 λ tensor agree exactly)."""
    return struct.unpack("f", struct.pack("f", v))[0]


def shift_on_host(batch: int, rng: random.Random) -> tuple[int, int | None]:
    """The ``"shift"`` pairing's draws as Python ints: ``(r, q)``, ``q`` the odd sample's partner (else None)."""
    r = rng.randrange(batch // 2)
    return r, (rng.randrange(batch - 1) if batch % 2 else None)


@functools.lru_cache(maxsize=1024)
def shift_perm(batch: int, r: int, q: int | None) -> torch.Tensor:
    """``perm`` of the ``"shift"`` pairing with offset ``r`` (CPU int64 ``(B,)``, the same values as
    :func:`sample_pairing`): one ``cat`` of two windows of cached doubled aranges.

    Cached (a batch size has ``B / 2`` offsets) and shared: read it, clone it before handing it out.
    """
    upper, lower = _shift_windows(batch)
    h = batch // 2
    parts = [upper[r : r + h], lower[h - r : 2 * h - r]]
    if q is not None:
        parts.append(torch.tensor([q]))
    return torch.cat(parts)


@functools.lru_cache(maxsize=16)
def _shift_windows(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``[h..2h) [h..2h)`` and ``[0..h) [0..h)``: partners of the first and second half for every offset."""
    h = batch // 2
    return torch.arange(h, 2 * h).repeat(2), torch.arange(h).repeat(2)
