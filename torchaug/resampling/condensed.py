"""Condensing under-samplers: condensed nearest neighbour (Hart) and one-sided selection.

imbalanced-learn's arguments, defaults, output order and ``sample_indices_``. The kNN
classifications are our exact batched kNN (:func:`torchaug.resampling.knn`) on the data's device
instead of scikit-learn's ``KNeighborsClassifier``; vote ties go to the smaller class label and
distance ties to the smaller row index, as there. ``n_neighbors`` is an integer or ``None``
(1-NN); imbalanced-learn also takes a ``KNeighborsClassifier`` object, which is not needed here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torchaug.registry import register
from torchaug.resampling._under_base import (
    search,
    _BaseCleaningSampler,
    check_neighbors,
    class_rows,
    n_jobs_threads,
    targeted_mask,
    vote,
)
from torchaug.resampling.cleaning import tomek_keep
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


def _hart_pass(
    XS: torch.Tensor,
    d2: torch.Tensor,
    lab: torch.Tensor,
    in_c: torch.Tensor,
    code: int,
    k: int,
    n_classes: int,
    block: int,
) -> list[int]:
    """One pass of Hart's rule over the rows of ``XS`` ``(n, d)`` (float64) in order.

    ``d2``/``lab`` ``(n, k)``: squared distances and class codes of each row's ``k`` nearest store
    members, sorted; ``in_c``: rows already in the store. Returns the positions added, in order.

    Blocks of ``block`` rows: inside a block the sequential decisions run on small CPU arrays
    (each row's k nearest merged with the block rows added before it, exact pairwise distances of
    the block); after the block, every later row's k nearest are updated with the block's
    additions in one batched distance computation on the device.
    """
    n = XS.shape[0]
    sq = XS.square().sum(1)
    added: list[int] = []
    full = np.arange(n_classes)
    for a in range(0, n, block):
        b = min(n, a + block)
        XB = XS[a:b]
        DB = (sq[a:b, None] + sq[None, a:b] - 2.0 * (XB @ XB.T)).clamp_(min=0.0).cpu().numpy()
        bd, bl, binc = d2[a:b].cpu().numpy(), lab[a:b].cpu().numpy(), in_c[a:b].cpu().numpy()
        new: list[int] = []
        for t in range(b - a):
            if binc[t]:
                continue
            if new:
                cd = np.concatenate([bd[t], DB[t, new]])
                cl = np.concatenate([bl[t], np.full(len(new), code, dtype=bl.dtype)])
                top = cl[np.argsort(cd, kind="stable")[:k]]
            else:
                top = bl[t]
            counts = np.bincount(top, minlength=n_classes)
            if full[counts.argmax()] != code:  # argmax: first maximum = smallest code on ties
                new.append(t)
        if not new:
            continue
        pos = torch.tensor(new, dtype=torch.long, device=XS.device) + a
        added.extend(a + t for t in new)
        in_c[pos] = True
        if b == n:
            break
        # squared distances of every later row to the block's additions, then their k smallest
        dn = torch.addmm(sq[b:, None], XS[b:], XS[pos].T, alpha=-2.0).add_(sq[pos])
        kk = min(k, dn.shape[1])
        dk = dn.topk(kk, dim=1, largest=False, sorted=True).values.clamp_(min=0.0)
        if k == 1:
            closer = dk < d2[b:]
            d2[b:] = torch.where(closer, dk, d2[b:])
            lab[b:] = torch.where(closer, torch.full_like(lab[b:], code), lab[b:])
        else:
            D = torch.cat([d2[b:], dk], 1)
            L = torch.cat([lab[b:], torch.full_like(lab[b:, :kk], code)], 1)
            best = D.argsort(dim=1, stable=True)[:, :k]
            d2[b:] = D.gather(1, best)
            lab[b:] = L.gather(1, best)
    return added


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

    _block = 256  # rows decided on the CPU between two batched updates of the later rows

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
            d2, nn = search(XS, torch.index_select(data.X, 0, C), k)
            lab = data.codes[C][nn]
            in_c = torch.zeros(idx_c.numel(), dtype=torch.bool, device=dev)
            in_c[torch.searchsorted(idx_c, seeds)] = True
            # the pass is many small, vectorised steps: one thread avoids thread-pool waits on CPU
            with n_jobs_threads(1 if dev.type == "cpu" else None):
                added = _hart_pass(XS.to(d2.dtype), d2, lab, in_c, code, k, n_classes, self._block)
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
                _, nn = search(torch.index_select(data.X, 0, S), torch.index_select(data.X, 0, C), k)
                wrong = vote(data.codes[C][nn], n_classes) != code
                S = S[wrong]
            parts.append(torch.cat([seeds, S]))
        idx = torch.cat(parts)
        keep = tomek_keep(torch.index_select(data.X, 0, idx), data.codes[idx], targeted_mask(data, self.sampling_strategy_))
        return idx[keep]
