"""Condensing under-samplers: condensed nearest neighbour (Hart) and one-sided selection.

imbalanced-learn's arguments, defaults, output order and ``sample_indices_``. The kNN
classifications are our exact batched kNN (:func:`torchaug.resampling.knn`) on the data's device
instead of scikit-learn's ``KNeighborsClassifier``; vote ties go to the smaller class label and
distance ties to the smaller row index, as there. ``n_neighbors`` is an integer or ``None``
(1-NN); imbalanced-learn also takes a ``KNeighborsClassifier`` object, which is not needed here.
"""

from __future__ import annotations

from typing import Any

import torch

from torchaug.registry import register
from torchaug.resampling._under_base import (
    _BaseCleaningSampler,
    check_neighbors,
    class_rows,
    targeted_mask,
    vote,
)
from torchaug.resampling.cleaning import tomek_keep
from torchaug.resampling.neighbors import _knn
from torchaug.resampling.samplers import _Data

__all__ = ["CondensedNearestNeighbour", "OneSidedSelection"]


class _SeededSelection(_BaseCleaningSampler):
    """Shared arguments of CNN and OSS: a random seed set ``S`` per targeted class."""

    __torchaug_public__ = False

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        n_neighbors: int | None = None,
        n_seeds_S: int = 1,
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.n_seeds_S = n_seeds_S
        self.n_jobs = n_jobs
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        if self.n_neighbors is not None:
            check_neighbors(self.n_neighbors, owner, "n_neighbors")
        check_neighbors(self.n_seeds_S, owner, "n_seeds_S")

    def _draw_seeds(self, n_class: int, g: torch.Generator | None, device: torch.device) -> torch.Tensor:
        """Positions (with replacement, like ``RandomState.randint``) of the seeds inside a class."""
        return torch.randint(0, n_class, (int(self.n_seeds_S),), generator=g, device=device)

    def _k(self) -> int:
        return 1 if self.n_neighbors is None else int(self.n_neighbors)

    def _check_fit_size(self, n_fit: int) -> None:
        k = self._k()
        if k > n_fit:
            raise ValueError(
                f"{type(self).__name__}: n_neighbors={k} needs at least {k} samples in the condensed set "
                f"(minority + n_seeds_S); got {n_fit}"
            )


@register("resampler", example=lambda: CondensedNearestNeighbour(random_state=0))
class CondensedNearestNeighbour(_SeededSelection):
    """Condensed nearest neighbour (Hart, IEEE Trans. IT 14, 1968), imbalanced-learn semantics.

    For each targeted class: the store ``C`` starts as the minority class plus ``n_seeds_S``
    random samples of the class (drawn with replacement); one pass over the class's samples in
    row order adds each sample that a ``n_neighbors``-NN vote over the current ``C``
    misclassifies. Output per class (sorted labels): the seeds, then the added samples in the
    order they were added; untargeted classes whole.

    The pass is inherently sequential, as in imbalanced-learn, but each step is batched: every
    sample's ``n_neighbors`` nearest members of ``C`` are kept on the device and updated with one
    vectorised distance computation per added sample (imbalanced-learn refits and re-predicts the
    whole class after each addition). The classifier objects ``estimators_`` are not kept.
    (imbalanced-learn compares positions inside the class with row indices when it skips
    samples; the two agree, and so do the selections, when the targeted class's rows come first
    in ``X``. Here a sample is skipped only when it is in ``C``.)

    Args:
        sampling_strategy: 'auto' (= 'not minority'), 'majority', ..., or a list of labels.
        random_state: ``None``, int seed or ``torch.Generator`` (the seed draw).
        n_neighbors: ``None`` (1-NN, default) or an integer.
        n_seeds_S: seeds per class (default 1).
        n_jobs, device: torch CPU threads / where to compute.
    """

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        k = self._k()
        dev = data.device
        n_classes = len(data.classes)
        stats = data.stats
        minority = min(stats, key=stats.get)
        m_rows = class_rows(data, data.code_of(minority))
        parts = []
        for code, label in enumerate(data.classes):
            idx_c = class_rows(data, code)
            if label not in self.sampling_strategy_:
                parts.append(idx_c)
                continue
            seeds = idx_c[self._draw_seeds(idx_c.numel(), g, dev)]
            C = torch.cat([m_rows, seeds])
            self._check_fit_size(C.numel())
            XS = torch.index_select(data.X, 0, idx_c)
            d2, nn = _knn(XS, torch.index_select(data.X, 0, C), k)
            lab = data.codes[C][nn]
            in_c = torch.zeros(idx_c.numel(), dtype=torch.bool, device=dev)
            in_c[torch.searchsorted(idx_c, seeds)] = True
            XS64 = XS.to(d2.dtype)
            added = []
            pos = 0
            while True:
                wrong = (vote(lab, n_classes) != code) & ~in_c
                wrong[:pos] = False
                if not bool(wrong.any()):
                    break
                j = int(wrong.to(torch.uint8).argmax())
                added.append(j)
                in_c[j] = True
                pos = j + 1
                dn = (XS64 - XS64[j]).square_().sum(1, keepdim=True)
                if k == 1:
                    closer = dn < d2
                    d2 = torch.where(closer, dn, d2)
                    lab = torch.where(closer, torch.full_like(lab, code), lab)
                else:
                    D = torch.cat([d2, dn], 1)
                    L = torch.cat([lab, torch.full_like(lab[:, :1], code)], 1)
                    order = D.argsort(dim=1, stable=True)[:, :k]
                    d2, lab = D.gather(1, order), L.gather(1, order)
            extra = idx_c[torch.tensor(added, dtype=torch.long, device=dev)] if added else idx_c[:0]
            parts.append(torch.cat([seeds, extra]))
        return torch.cat(parts)


@register("resampler", example=lambda: OneSidedSelection(random_state=0))
class OneSidedSelection(_SeededSelection):
    """One-sided selection (Kubat & Matwin, ICML 1997), imbalanced-learn semantics.

    For each targeted class: ``C`` = the minority class plus ``n_seeds_S`` random samples of the
    class (with replacement); the class's other samples are classified by a ``n_neighbors``-NN
    vote over ``C`` (one batched kNN search) and the misclassified ones are kept with the seeds.
    Tomek links (:class:`TomekLinks`, targeted classes only) are then removed from that set.
    Output per class: seeds, then the kept samples in row order, after link removal.

    Args: as :class:`CondensedNearestNeighbour`.
    """

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        k = self._k()
        dev = data.device
        n_classes = len(data.classes)
        stats = data.stats
        minority = min(stats, key=stats.get)
        m_rows = class_rows(data, data.code_of(minority))
        parts = []
        for code, label in enumerate(data.classes):
            idx_c = class_rows(data, code)
            if label not in self.sampling_strategy_:
                parts.append(idx_c)
                continue
            pos = self._draw_seeds(idx_c.numel(), g, dev)
            seeds = idx_c[pos]
            C = torch.cat([m_rows, seeds])
            self._check_fit_size(C.numel())
            rest = torch.ones(idx_c.numel(), dtype=torch.bool, device=dev)
            rest[pos] = False
            S = idx_c[rest]
            if S.numel():
                _, nn = _knn(torch.index_select(data.X, 0, S), torch.index_select(data.X, 0, C), k)
                wrong = vote(data.codes[C][nn], n_classes) != code
                S = S[wrong]
            parts.append(torch.cat([seeds, S]))
        idx = torch.cat(parts)
        keep = tomek_keep(torch.index_select(data.X, 0, idx), data.codes[idx], targeted_mask(data, self.sampling_strategy_))
        return idx[keep]
