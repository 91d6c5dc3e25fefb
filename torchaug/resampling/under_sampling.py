"""Controlled under-samplers: random under-sampling and NearMiss 1/2/3, computed with torch.

imbalanced-learn's arguments, defaults, ``sampling_strategy`` forms ('under-sampling': a
string, a float for binary targets, a dict of final counts or a callable), output order and
``sample_indices_``. Randomness from a ``torch.Generator`` seeded with ``random_state`` on the
compute device; neighbour searches are our exact kNN.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from torchaug._validation import describe
from torchaug.registry import register
from torchaug.resampling._under_base import _BaseUnderSampler, check_neighbors, class_rows, search
from torchaug.resampling.neighbors import DEFAULT_MEMORY_BUDGET
from torchaug.resampling.samplers import _Data

__all__ = ["RandomUnderSampler", "NearMiss"]


@register("resampler", example=lambda: RandomUnderSampler(random_state=0))
class RandomUnderSampler(_BaseUnderSampler):
    """Random under-sampling (imbalanced-learn semantics).

    Each targeted class keeps ``sampling_strategy_[label]`` of its rows drawn uniformly without
    (or, with ``replacement=True``, with) replacement; other classes are kept whole. Output
    grouped by class (sorted labels); inside a targeted class, in draw order.

    Args:
        sampling_strategy: 'auto' (= 'not minority'), 'majority', 'not minority', 'not majority',
            'all', float ``r`` (binary: majority keeps ``int(n_minority / r)``), dict of final
            counts, callable ``y -> dict``.
        random_state: ``None`` (torch global RNG), int seed or ``torch.Generator``.
        replacement: draw with replacement.
        device: where to compute (default: the data's device).
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        replacement: bool = False,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.replacement = replacement
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        if not isinstance(self.replacement, bool):
            raise TypeError(f"{type(self).__name__}: replacement must be a bool; got {describe(self.replacement)}")

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        dev = data.device
        parts = []
        for code, label in enumerate(data.classes):
            idx_c = class_rows(data, code)
            if label in self.sampling_strategy_:
                n_keep = int(self.sampling_strategy_[label])
                n_c = idx_c.numel()
                if self.replacement:
                    pos = torch.randint(0, n_c, (n_keep,), generator=g, device=dev)
                else:
                    pos = torch.randperm(n_c, generator=g, device=dev)[:n_keep]
                idx_c = idx_c[pos]
            parts.append(idx_c)
        return torch.cat(parts)


def _farthest_distance_sums(
    Q: torch.Tensor, R: torch.Tensor, k: int, memory_budget: int = DEFAULT_MEMORY_BUDGET
) -> torch.Tensor:
    """``(n_q,)`` float64: sum of the Euclidean distances from each row of ``Q`` to its ``k`` farthest rows of ``R``.

    Scores from centred float64 GEMMs pick ``k + margin`` candidates per row, which are re-ranked
    with exact float64 distances from direct differences. Chunked to ``memory_budget`` bytes.
    """
    nq, d = Q.shape
    nr = R.shape[0]
    dt = torch.float64 if Q.device.type != "mps" else torch.float32
    mean = R.mean(0, dtype=dt)
    Rc = R.to(dt) - mean
    rn = Rc.square().sum(1)
    C = min(nr, k + max(4, k // 2))
    rows = max(1, min(4096, int(memory_budget) // max(1, nr * 8 * 3 + C * d * 16)))
    out = torch.empty(nq, dtype=dt, device=Q.device)
    for a in range(0, nq, rows):
        Qc = Q[a : a + rows].to(dt) - mean
        S = torch.addmm(rn.unsqueeze(0), Qc, Rc.T, beta=1.0, alpha=-2.0)
        _, cand = S.topk(C, dim=1, largest=True, sorted=False)
        d2 = (Rc[cand] - Qc.unsqueeze(1)).square_().sum(-1)
        out[a : a + rows] = d2.topk(k, dim=1, largest=True).values.sqrt().sum(1)
    return out


@register("resampler", example=lambda: NearMiss(version=1))
class NearMiss(_BaseUnderSampler):
    """NearMiss-1/2/3 under-sampling (Mani & Zhang, ICML 2003 workshop), imbalanced-learn semantics.

    For each targeted class, with ``k = n_neighbors`` and distances to the minority class:

    - version 1: keep the samples whose mean distance to their ``k`` *nearest* minority samples
      is smallest;
    - version 2: keep the samples whose mean distance to their ``k`` *farthest* minority samples
      is smallest;
    - version 3: take the ``n_neighbors_ver3`` nearest samples of the class to every minority
      sample, then among them keep those whose mean distance to their ``k`` nearest minority
      samples is *largest* (may keep fewer than asked, with a warning, as imbalanced-learn).

    Output per class (sorted labels) in selection order (best score first, ties by row), as
    imbalanced-learn. Exact kNN (versions 1 and 3); version 2 ranks the farthest minority samples
    from float64 scores re-ranked exactly.

    Args:
        sampling_strategy: as :class:`RandomUnderSampler`.
        version: 1, 2 or 3.
        n_neighbors: ``k`` (default 3).
        n_neighbors_ver3: version 3's pre-selection size (default 3).
        n_jobs: torch CPU threads for the searches.
        device: where to compute.
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        version: int = 1,
        n_neighbors: int = 3,
        n_neighbors_ver3: int = 3,
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.version = version
        self.n_neighbors = n_neighbors
        self.n_neighbors_ver3 = n_neighbors_ver3
        self.n_jobs = n_jobs
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        if isinstance(self.version, bool) or self.version not in (1, 2, 3):
            raise ValueError(f"{owner}: version must be 1, 2 or 3; got {self.version!r}")
        check_neighbors(self.n_neighbors, owner, "n_neighbors")
        check_neighbors(self.n_neighbors_ver3, owner, "n_neighbors_ver3")

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        owner = type(self).__name__
        k = int(self.n_neighbors)
        stats = data.stats
        minority = min(stats, key=stats.get)
        m_rows = class_rows(data, data.code_of(minority))
        n_min = m_rows.numel()
        if k > n_min:
            raise ValueError(
                f"{owner}: n_neighbors={k} needs at least {k} samples in the minority class {minority!r}; got {n_min}"
            )
        Xm = torch.index_select(data.X, 0, m_rows)
        parts = []
        for code, label in enumerate(data.classes):
            idx_c = class_rows(data, code)
            if label not in self.sampling_strategy_:
                parts.append(idx_c)
                continue
            n_keep = int(self.sampling_strategy_[label])
            Xc = torch.index_select(data.X, 0, idx_c)
            if self.version == 1:
                d2, _ = search(Xc, Xm, k)
                score = d2.sqrt().sum(1)
                order = torch.sort(score, stable=True).indices
            elif self.version == 2:
                score = _farthest_distance_sums(Xc, Xm, k)
                order = torch.sort(score, stable=True).indices
            else:
                k3 = int(self.n_neighbors_ver3)
                if k3 > idx_c.numel():
                    raise ValueError(
                        f"{owner}: n_neighbors_ver3={k3} needs at least {k3} samples in class {label!r}; "
                        f"got {idx_c.numel()}"
                    )
                _, nn3 = search(Xm, Xc, k3)
                cand = torch.unique(nn3.reshape(-1))
                d2, _ = search(torch.index_select(Xc, 0, cand), Xm, k)
                score = d2.sqrt().sum(1)
                order = cand[torch.sort(score, descending=True, stable=True).indices]
            if order.numel() < n_keep:
                warnings.warn(
                    f"{owner}: class {label!r} has only {order.numel()} candidate samples for the {n_keep} "
                    "asked; all of them are kept and the classes are not balanced",
                    stacklevel=3,
                )
            parts.append(idx_c[order[:n_keep]])
        return torch.cat(parts)


