"""kNN cleaning samplers: Tomek links, ENN, repeated ENN, AllKNN, neighbourhood cleaning rule.

imbalanced-learn's arguments, defaults, ``sampling_strategy`` forms ('clean-sampling': a string
or a list of the classes to clean), output order and ``sample_indices_``; every neighbour search
is our exact batched kNN (:func:`torchaug.resampling.knn`) on the data's device (or ``device``),
one call over all the rows to examine. ``n_jobs`` sets the torch CPU threads of the search.

Tie rule: neighbours at exactly equal distances are ranked by the smaller row index and a sample
is excluded from its own neighbourhood by index (imbalanced-learn drops the first column of a
``k + 1`` search, which is the same unless a duplicate of the sample comes first). Vote ties go to
the smallest class label, as in scikit-learn / SciPy.
"""

from __future__ import annotations

from typing import Any

import torch
from sklearn.base import clone

from torchaug._validation import describe
from torchaug.registry import register
from torchaug.resampling._under_base import (
    search,
    _BaseCleaningSampler,
    check_neighbors,
    class_rows,
    grouped,
    resolve_reduction_strategy,
    targeted_mask,
    vote,
)
from torchaug.resampling.samplers import _Data

__all__ = [
    "TomekLinks",
    "EditedNearestNeighbours",
    "RepeatedEditedNearestNeighbours",
    "AllKNN",
    "NeighbourhoodCleaningRule",
]

_KIND_SEL = ("all", "mode")


def tomek_keep(X: torch.Tensor, codes: torch.Tensor, targeted: torch.Tensor) -> torch.Tensor:
    """``(n,)`` bool: rows that are *not* the targeted end of a Tomek link (Tomek 1976).

    A pair ``(i, j)`` of different classes is a Tomek link when each is the other's nearest
    neighbour; the member whose class is targeted is removed.
    """
    n = X.shape[0]
    if n < 2:
        return torch.ones(n, dtype=torch.bool, device=X.device)
    ar = torch.arange(n, device=X.device)
    _, nn = search(X, X, 1, exclude=ar)
    nn = nn[:, 0]
    link = (codes[nn] != codes) & (nn[nn] == ar) & targeted[codes]
    return ~link


def enn_keep(
    X: torch.Tensor, codes: torch.Tensor, targeted: torch.Tensor, k: int, kind_sel: str, n_classes: int, owner: str
) -> torch.Tensor:
    """``(n,)`` bool: Wilson's edited nearest neighbours rule (Wilson 1972) on ``X`` ``(n, d)``.

    Rows of a targeted class are kept when all (``kind_sel='all'``) or most (``'mode'``) of their
    ``k`` nearest neighbours (whole set, self excluded) share their class; other rows are kept.
    """
    n = X.shape[0]
    rows = targeted[codes].nonzero().squeeze(1)
    keep = torch.ones(n, dtype=torch.bool, device=X.device)
    if rows.numel() == 0:
        return keep
    if k > n - 1:
        raise ValueError(f"{owner}: n_neighbors={k} needs more than {k} samples; got {n}")
    _, nn = search(torch.index_select(X, 0, rows), X, k, exclude=rows)
    lab = codes[nn]
    own = codes[rows]
    if kind_sel == "all":
        ok = (lab == own.unsqueeze(1)).all(1)
    else:
        ok = vote(lab, n_classes) == own
    keep[rows] = ok
    return keep


def _check_kind_sel(kind_sel: Any, owner: str) -> None:
    if kind_sel not in _KIND_SEL:
        raise ValueError(f"{owner}: kind_sel must be one of {list(_KIND_SEL)}; got {kind_sel!r}")


def _stats_of(data: _Data, codes: torch.Tensor) -> dict[Any, int]:
    """``{label: count}`` (sorted labels) of the classes present in ``codes``."""
    counts = torch.bincount(codes, minlength=len(data.classes)).cpu().tolist()
    return {c: n for c, n in zip(data.classes, counts) if n > 0}


@register("resampler", example=lambda: TomekLinks())
class TomekLinks(_BaseCleaningSampler):
    """Remove Tomek links (Tomek, IEEE Trans. SMC 6, 1976), imbalanced-learn semantics.

    Two samples of different classes that are each other's nearest neighbour form a link; the
    member of a targeted class is dropped (``sampling_strategy='auto'``: every class but the
    minority; ``'all'`` drops both). One exact 1-NN search over ``X``.

    Args:
        sampling_strategy: 'auto' (= 'not minority'), 'majority', 'not minority', 'not majority',
            'all', or a list of the labels to clean.
        n_jobs: torch CPU threads for the search (``None``: unchanged, ``-1``: all cores).
        device: where to compute (default: the data's device); tensor outputs go there.

    ``fit_resample(X (n, d), y (n,)) -> (X[sample_indices_], y[sample_indices_])``, original order.
    """

    def __init__(
        self, sampling_strategy: Any = "auto", n_jobs: int | None = None, device: str | torch.device | None = None
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.n_jobs = n_jobs
        self.device = device

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        keep = tomek_keep(data.X, data.codes, targeted_mask(data, self.sampling_strategy_))
        return keep.nonzero().squeeze(1)


@register("resampler", example=lambda: EditedNearestNeighbours())
class EditedNearestNeighbours(_BaseCleaningSampler):
    """Edited nearest neighbours (Wilson, IEEE Trans. SMC 2, 1972), imbalanced-learn semantics.

    A sample of a targeted class is removed unless all (``kind_sel='all'``, default) or the
    majority (``'mode'``) of its ``n_neighbors`` nearest neighbours in ``X`` share its class.
    Output rows are grouped by class (sorted labels), ascending within a class, like
    imbalanced-learn. One exact kNN search over the targeted rows.

    Args:
        sampling_strategy: 'auto' (= 'not minority'), 'majority', 'not minority', 'not majority',
            'all', or a list of the labels to clean.
        n_neighbors: size of the neighbourhood (default 3).
        kind_sel: 'all' or 'mode'.
        n_jobs: torch CPU threads for the search.
        device: where to compute (default: the data's device).
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        n_neighbors: int = 3,
        kind_sel: str = "all",
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        check_neighbors(self.n_neighbors, owner, "n_neighbors")
        _check_kind_sel(self.kind_sel, owner)

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        keep = enn_keep(
            data.X,
            data.codes,
            targeted_mask(data, self.sampling_strategy_),
            int(self.n_neighbors),
            self.kind_sel,
            len(data.classes),
            type(self).__name__,
        )
        return grouped(keep, data.codes)


def _alive_neighbours(
    X: torch.Tensor, cand: torch.Tensor, alive: torch.Tensor, q: torch.Tensor, k: int
) -> torch.Tensor:
    """``(len(q), k)``: the ``k`` nearest *alive* rows of each row ``q`` (self excluded), sorted.

    ``cand`` ``(n, K)`` holds every row's ``K`` nearest rows of the full set, sorted. The first
    ``k`` alive entries of a row's list are its ``k`` nearest alive rows (any alive row outside
    the list is farther than all of it); rows with fewer than ``k`` alive candidates are searched
    again among the alive rows.
    """
    c = cand[q]
    m = alive[c]
    cs = m.cumsum(1)
    enough = cs[:, -1] >= k
    nn = torch.empty(q.numel(), k, dtype=torch.long, device=X.device)
    good = enough.nonzero().squeeze(1)
    if good.numel():
        cg = c[good]
        nn[good] = cg[m[good] & (cs[good] <= k)].view(-1, k)
    bad = (~enough).nonzero().squeeze(1)
    if bad.numel():
        rows = alive.nonzero().squeeze(1)
        qb = q[bad]
        _, nb = search(torch.index_select(X, 0, qb), torch.index_select(X, 0, rows), k,
                       exclude=torch.searchsorted(rows, qb))
        nn[bad] = rows[nb]
    return nn


class _IteratedENN(_BaseCleaningSampler):
    """ENN applied repeatedly to what is left (shared loop of RENN and AllKNN).

    One kNN search over the whole set with ``K = max(k) + max(8, max(k))`` candidates serves every
    pass: a pass reads each examined row's nearest rows still present from that list (exact, see
    :func:`_alive_neighbours`); only rows that lost too many candidates are searched again.
    """

    __torchaug_public__ = False

    def _run(self, data: _Data, ks: list[int], stop_on_convergence: bool, allow_minority: bool) -> torch.Tensor:
        owner = type(self).__name__
        n_classes = len(data.classes)
        start = data.stats
        minority = min(start, key=start.get)
        n_minority = start[minority]
        X, codes = data.X, data.codes
        n = X.shape[0]
        alive = torch.ones(n, dtype=torch.bool, device=data.device)
        n_alive = n
        cand = None
        n_iter = 0
        for k in ks:
            n_iter += 1
            stats = _stats_of(data, codes[alive])
            strategy = resolve_reduction_strategy(
                self.sampling_strategy, data.y_np, stats, kind="clean-sampling", owner=owner
            )
            targeted = targeted_mask(data, strategy)
            q = (alive & targeted[codes]).nonzero().squeeze(1)
            removed = 0
            if q.numel():
                if k > n_alive - 1:
                    raise ValueError(f"{owner}: n_neighbors={k} needs more than {k} samples; got {n_alive}")
                if cand is None:
                    K = min(n - 1, max(ks) + max(8, max(ks)))
                    _, cand = search(X, X, K, exclude=torch.arange(n, device=X.device))
                nn = _alive_neighbours(X, cand, alive, q, k)
                lab = codes[nn]
                own = codes[q]
                ok = (lab == own.unsqueeze(1)).all(1) if self.kind_sel == "all" else vote(lab, n_classes) == own
                gone = q[~ok]
                removed = gone.numel()
                alive[gone] = False
                n_alive -= removed
            converged = removed == 0
            after = _stats_of(data, codes[alive])
            shrunk = any(m < n_minority for c, m in after.items() if c != minority) and not allow_minority
            lost_class = len(after) < len(start)
            if (stop_on_convergence and converged) or shrunk or lost_class:
                break
        self.n_iter_ = n_iter
        # every pass keeps the class-grouped, ascending order of the one before (ENN's output order)
        return grouped(alive, codes)


@register("resampler", example=lambda: RepeatedEditedNearestNeighbours(max_iter=5))
class RepeatedEditedNearestNeighbours(_IteratedENN):
    """Repeated edited nearest neighbours (Tomek, IEEE Trans. SMC 6, 1976), imbalanced-learn semantics.

    :class:`EditedNearestNeighbours` is applied to what is left until nothing is removed, a
    non-minority class falls below the original minority count, a class disappears, or
    ``max_iter`` passes. ``n_iter_`` counts the passes. Output grouped by class like ENN.
    (imbalanced-learn, when it converges on the first pass over data whose labels are not sorted,
    applies the class-grouping permutation to ``sample_indices_`` twice, so its indices then do
    not match its own output; here ``X_res == X[sample_indices_]`` always.)

    Args:
        sampling_strategy, n_neighbors, kind_sel, n_jobs, device: as :class:`EditedNearestNeighbours`.
        max_iter: most passes (default 100).
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        n_neighbors: int = 3,
        max_iter: int = 100,
        kind_sel: str = "all",
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.max_iter = max_iter
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        check_neighbors(self.n_neighbors, owner, "n_neighbors")
        check_neighbors(self.max_iter, owner, "max_iter")
        _check_kind_sel(self.kind_sel, owner)

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        k = int(self.n_neighbors)
        return self._run(data, [k] * int(self.max_iter), stop_on_convergence=True, allow_minority=False)


@register("resampler", example=lambda: AllKNN())
class AllKNN(_IteratedENN):
    """All-kNN (Tomek, IEEE Trans. SMC 6, 1976), imbalanced-learn semantics.

    :class:`EditedNearestNeighbours` with 1, 2, ..., ``n_neighbors`` neighbours, each on what the
    previous pass left; stops early when a non-minority class falls below the original minority
    count (unless ``allow_minority``) or a class disappears. Output grouped by class like ENN.

    Args:
        sampling_strategy, n_neighbors, kind_sel, n_jobs, device: as :class:`EditedNearestNeighbours`.
        allow_minority: keep going when a class becomes smaller than the minority.
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        n_neighbors: int = 3,
        kind_sel: str = "all",
        allow_minority: bool = False,
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.allow_minority = allow_minority
        self.n_jobs = n_jobs
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        check_neighbors(self.n_neighbors, owner, "n_neighbors")
        _check_kind_sel(self.kind_sel, owner)
        if not isinstance(self.allow_minority, bool):
            raise TypeError(f"{owner}: allow_minority must be a bool; got {describe(self.allow_minority)}")

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        ks = list(range(1, int(self.n_neighbors) + 1))
        return self._run(data, ks, stop_on_convergence=False, allow_minority=self.allow_minority)


@register("resampler", example=lambda: NeighbourhoodCleaningRule())
class NeighbourhoodCleaningRule(_BaseCleaningSampler):
    """Neighbourhood cleaning rule (Laurikkala, AIME 2001), imbalanced-learn 0.12+ semantics.

    Removes the union of (a1) the samples :class:`EditedNearestNeighbours` (``kind_sel='mode'``,
    ``n_neighbors``) rejects and (a2) the ``n_neighbors`` nearest neighbours of every minority
    sample that a ``n_neighbors``-NN vote (the sample itself included, as scikit-learn's
    ``KNeighborsClassifier.predict`` on its training data) misclassifies, when they belong to a
    targeted class with more than ``threshold_cleaning * n_minority`` samples
    (``classes_to_clean_``). Output in original order.

    Args:
        sampling_strategy: 'auto' (= 'not minority'), ..., or a list of labels to clean.
        edited_nearest_neighbours: ``None`` (ENN as above) or a sampler with ``fit_resample`` and
            ``sample_indices_`` (cloned) that defines a1.
        n_neighbors: neighbourhood size (default 3).
        threshold_cleaning: class-size threshold for a2 (default 0.5).
        n_jobs, device: as :class:`EditedNearestNeighbours`.
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        edited_nearest_neighbours: Any = None,
        n_neighbors: int = 3,
        threshold_cleaning: float = 0.5,
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.edited_nearest_neighbours = edited_nearest_neighbours
        self.n_neighbors = n_neighbors
        self.threshold_cleaning = threshold_cleaning
        self.n_jobs = n_jobs
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        check_neighbors(self.n_neighbors, owner, "n_neighbors")
        t = self.threshold_cleaning
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise TypeError(f"{owner}: threshold_cleaning must be a float > 0; got {describe(t)}")
        if not 0 < t < float("inf"):
            raise ValueError(f"{owner}: threshold_cleaning must be a finite float > 0; got {t!r}")
        e = self.edited_nearest_neighbours
        if e is not None and not hasattr(e, "fit_resample"):
            raise TypeError(
                f"{owner}: edited_nearest_neighbours must be None or a sampler with fit_resample; got {describe(e)}"
            )

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        owner = type(self).__name__
        k = int(self.n_neighbors)
        n = data.X.shape[0]
        n_classes = len(data.classes)
        dev = data.device
        targeted = targeted_mask(data, self.sampling_strategy_)
        if self.edited_nearest_neighbours is None:
            removed = ~enn_keep(data.X, data.codes, targeted, k, "mode", n_classes, owner)
        else:
            enn = clone(self.edited_nearest_neighbours)
            enn.fit_resample(data.X_in if data.is_torch else data.X_np, data.y_in)
            kept = torch.as_tensor(enn.sample_indices_, device=dev).long()
            removed = torch.ones(n, dtype=torch.bool, device=dev)
            removed[kept] = False
        stats = data.stats
        minority = min(stats, key=stats.get)
        n_min = stats[minority]
        self.classes_to_clean_ = [
            c for c in self.sampling_strategy_ if stats[c] > n_min * self.threshold_cleaning
        ]
        clean = targeted_mask(data, {c: 0 for c in self.classes_to_clean_})
        if k > n - 1:
            raise ValueError(f"{owner}: n_neighbors={k} needs more than {k} samples; got {n}")
        m_code = data.code_of(minority)
        m_rows = class_rows(data, m_code)
        _, nn = search(torch.index_select(data.X, 0, m_rows), data.X, k, exclude=m_rows)
        lab = data.codes[nn]
        # the vote of KNeighborsClassifier.predict on the training data: the sample itself first
        own = torch.full((m_rows.numel(), 1), m_code, dtype=lab.dtype, device=dev)
        pred = vote(torch.cat([own, lab[:, : k - 1]], 1), n_classes)
        wrong = (pred != m_code).unsqueeze(1)
        a2 = (nn[wrong.expand_as(nn)]).reshape(-1)
        a2 = a2[clean[data.codes[a2]]]
        removed[a2] = True
        return (~removed).nonzero().squeeze(1)
