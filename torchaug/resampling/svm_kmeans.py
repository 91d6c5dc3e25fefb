"""SVM-SMOTE and k-means SMOTE: over-samplers that pick where to interpolate with another estimator.

The SVM (``sklearn.svm.SVC``) and the k-means (``sklearn.cluster.MiniBatchKMeans``) are
scikit-learn's, fitted on the CPU as in imbalanced-learn; every neighbour search and all the
interpolation run in torch on the data's device (or ``device``), with the randomness of a
``torch.Generator`` seeded by ``random_state``. Both inherit the SMOTE family's ``fit_resample``
(original rows first, then the synthetic rows; ``sources_`` and ``neighbors_``).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.cluster import MiniBatchKMeans
from sklearn.svm import SVC

from torchaug._validation import describe
from torchaug.registry import register
from torchaug.resampling._under_base import check_n_jobs, class_rows, n_jobs_threads, sklearn_seed, search
from torchaug.resampling.samplers import (
    _BaseOverSampler,
    _check_int,
    _Data,
    _pick,
    _rows,
    _take,
    _work_dtype,
)

__all__ = ["SVMSMOTE", "KMeansSMOTE"]


def _beta_10_10(g: torch.Generator | None, device: torch.device) -> float:
    """One draw of Beta(10, 10): the 10th smallest of 19 uniforms (order statistic, exact)."""
    u = torch.rand(19, generator=g, device=device, dtype=torch.float64)
    return float(u.kthvalue(10).values)


def _smote_from(
    data: _Data,
    base: torch.Tensor,
    ref: torch.Tensor,
    nn: torch.Tensor,
    n: int,
    step: float,
    g: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` samples ``x_b + step * u * (x_nn - x_b)``, ``u ~ U[0, 1)``; ``base`` rows, ``nn`` local to ``ref``."""
    dev = data.device
    wd = _work_dtype(data.X)
    rows = torch.randint(0, base.numel(), (n,), generator=g, device=dev)
    cols = torch.randint(0, nn.shape[1], (n,), generator=g, device=dev)
    steps = torch.rand(n, 1, generator=g, device=dev, dtype=wd) * step
    src = _take(base, rows)
    nbr = _take(ref, _pick(nn, rows, cols))
    return _BaseOverSampler._interpolate(_rows(data.X, src), _rows(data.X, nbr), steps, wd), src, nbr


@register("resampler", example=lambda: SVMSMOTE(k_neighbors=3, m_neighbors=5, random_state=0))
class SVMSMOTE(_BaseOverSampler):
    """SVM-SMOTE (Nguyen, Cooper & Kamei, IJKESDP 3, 2011), imbalanced-learn semantics.

    An SVM (default ``SVC(gamma='scale')``, scikit-learn on the CPU) is fitted on all classes; the
    support vectors of the class to over-sample whose ``m_neighbors`` nearest neighbours (whole
    set) are all of other classes are dropped as noise. Support vectors with at least half of
    their neighbours from other classes ("danger") interpolate towards one of their
    ``k_neighbors`` same-class neighbours (``u ~ U[0, 1)``); the others extrapolate away from it
    (``step = -out_step * u``). A ``Beta(10, 10)`` fraction ``f`` sets the split:
    ``int(f * (n + 1))`` danger samples, the rest safe. As in imbalanced-learn, when one group is
    empty only the other group's share is generated (so fewer than ``n`` samples can come out).
    A class whose support vectors are all noise raises ``ValueError``.

    Args:
        sampling_strategy: as :class:`SMOTE`.
        random_state: ``None``, int seed or ``torch.Generator`` (also seeds the default SVC).
        k_neighbors: same-class neighbours (default 5).
        m_neighbors: neighbours that decide noise / danger (default 10).
        svm_estimator: ``None`` or a scikit-learn SVM exposing ``support_`` after ``fit`` (cloned).
        out_step: extrapolation step for safe support vectors, in [0, 1] (default 0.5).
        device: where to compute (the SVM runs on the CPU).
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: int = 5,
        m_neighbors: int = 10,
        svm_estimator: Any = None,
        out_step: float = 0.5,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.m_neighbors = m_neighbors
        self.svm_estimator = svm_estimator
        self.out_step = out_step
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        _check_int(self.k_neighbors, owner=owner, name="k_neighbors")
        _check_int(self.m_neighbors, owner=owner, name="m_neighbors")
        s = self.out_step
        if isinstance(s, bool) or not isinstance(s, Real):
            raise TypeError(f"{owner}: out_step must be a float in [0, 1]; got {describe(s)}")
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"{owner}: out_step must be a float in [0, 1]; got {s!r}")
        e = self.svm_estimator
        if e is not None and not (hasattr(e, "fit") and hasattr(e, "predict")):
            raise TypeError(f"{owner}: svm_estimator must be None or a scikit-learn SVM; got {describe(e)}")

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        self.svm_estimator_ = None
        return super().fit_resample(X, y)

    fit_resample.__doc__ = _BaseOverSampler.fit_resample.__doc__

    def _support(self, data: _Data) -> torch.Tensor:
        """Row indices of the fitted SVM's support vectors (fitted once per call)."""
        if self.svm_estimator_ is None:
            owner = type(self).__name__
            if self.svm_estimator is None:
                seed = self.random_state if isinstance(self.random_state, Integral) else None
                svm = SVC(gamma="scale", random_state=seed)
            else:
                svm = clone(self.svm_estimator)
            svm.fit(data.X.cpu().numpy(), data.codes.cpu().numpy())
            if not hasattr(svm, "support_"):
                raise TypeError(f"{owner}: svm_estimator must expose a fitted support_ attribute (an SVM)")
            self.svm_estimator_ = svm
            self._support_t = torch.from_numpy(np.asarray(svm.support_, dtype=np.int64)).to(data.device)
        return self._support_t

    def _generate(self, data, code, label, n_new, g):
        if n_new == 0:
            return None
        owner = type(self).__name__
        k, m = int(self.k_neighbors), int(self.m_neighbors)
        n = data.X.shape[0]
        if m > n - 1:
            raise ValueError(f"{owner}: m_neighbors={m} needs more than {m} samples in X; got {n}")
        support = self._support(data)
        sv = support[data.codes[support] == code]
        _, nn_m = search(_rows(data.X, sv), data.X, m, exclude=sv)
        n_other = (data.codes[nn_m] != code).sum(1)
        noise = n_other == m
        sv, n_other = sv[~noise], n_other[~noise]
        if sv.numel() == 0:
            raise ValueError(
                f"{owner}: all support vectors of class {label!r} are noise (all m_neighbors={m} neighbours "
                "from other classes); SVM-SMOTE does not suit this data, try another SMOTE variant"
            )
        danger = n_other >= m / 2
        idx_c = class_rows(data, code)
        if idx_c.numel() <= k:
            raise ValueError(
                f"{owner}: k_neighbors={k} needs more than {k} samples in every class that is over-sampled; "
                f"class {label!r} has {idx_c.numel()}"
            )
        local = torch.searchsorted(idx_c, sv)
        Xc = _rows(data.X, idx_c)
        n_danger = int(_beta_10_10(g, data.device) * (n_new + 1))
        parts = []
        for sel, count, step in ((danger, n_danger, 1.0), (~danger, n_new - n_danger, -float(self.out_step))):
            base = sv[sel]
            if base.numel() == 0 or count <= 0:
                continue
            _, nn = search(_rows(data.X, base), Xc, k, exclude=local[sel])
            parts.append(_smote_from(data, base, idx_c, nn, count, step, g))
        if not parts:
            return None
        return tuple(torch.cat([p[i] for p in parts]) for i in range(3))


@register("resampler", example=lambda: KMeansSMOTE(kmeans_estimator=2, cluster_balance_threshold=0.1, random_state=0))
class KMeansSMOTE(_BaseOverSampler):
    """k-means SMOTE (Douzas, Bacao & Last, Information Sciences 465, 2018), imbalanced-learn semantics.

    ``X`` is clustered (default ``MiniBatchKMeans`` with 8 clusters, scikit-learn on the CPU).
    A cluster is used for a class when the class's share of it is at least
    ``cluster_balance_threshold`` ('auto': ``n / total / 2``, with ``n`` this class's and
    ``total`` all classes' numbers of samples to generate) and it holds more than
    ``k_neighbors`` of the class. Each used cluster gets ``ceil(n * w)`` SMOTE samples among its
    class members, with weights ``w`` proportional to the sparsity
    ``mean_distance ** density_exponent / n_members`` ('auto' exponent:
    ``0.16 * log_1.6(n_members) ** 1.8``, imbalanced-learn's choice; the paper uses the number of
    features). Because of the ceiling slightly more than ``n`` samples can come out. No usable
    cluster raises ``ValueError`` (imbalanced-learn: ``RuntimeError``).

    Args:
        sampling_strategy: as :class:`SMOTE`.
        random_state: ``None``, int seed or ``torch.Generator`` (also seeds the default k-means).
        k_neighbors: neighbours for SMOTE inside a cluster (default 2).
        n_jobs: torch CPU threads for the distance computations.
        kmeans_estimator: ``None``, an int (number of clusters) or a scikit-learn clusterer with
            ``n_clusters`` and ``fit_predict`` (cloned).
        cluster_balance_threshold: 'auto' or a float.
        density_exponent: 'auto' or a float.
        device: where to compute (k-means runs on the CPU).
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: int = 2,
        n_jobs: int | None = None,
        kmeans_estimator: Any = None,
        cluster_balance_threshold: str | float = "auto",
        density_exponent: str | float = "auto",
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.kmeans_estimator = kmeans_estimator
        self.cluster_balance_threshold = cluster_balance_threshold
        self.density_exponent = density_exponent
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        _check_int(self.k_neighbors, owner=owner, name="k_neighbors")
        check_n_jobs(self.n_jobs, owner)
        e = self.kmeans_estimator
        if isinstance(e, bool) or (e is not None and not isinstance(e, Integral) and not hasattr(e, "fit_predict")):
            raise TypeError(
                f"{owner}: kmeans_estimator must be None, an int >= 1 or a clusterer with fit_predict; got {describe(e)}"
            )
        if isinstance(e, Integral) and e < 1:
            raise ValueError(f"{owner}: kmeans_estimator as an int (clusters) must be >= 1; got {e!r}")
        for name in ("cluster_balance_threshold", "density_exponent"):
            v = getattr(self, name)
            if v == "auto":
                continue
            if isinstance(v, bool) or not isinstance(v, Real):
                raise TypeError(f"{owner}: {name} must be 'auto' or a float; got {describe(v)}")
            if v != v:
                raise ValueError(f"{owner}: {name} must be 'auto' or a float; got {v!r}")

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        self._clusters_t = None
        with n_jobs_threads(self.n_jobs):
            return super().fit_resample(X, y)

    fit_resample.__doc__ = _BaseOverSampler.fit_resample.__doc__

    def _clusters(self, data: _Data) -> torch.Tensor:
        if self._clusters_t is None:
            e = self.kmeans_estimator
            seed = sklearn_seed(self.random_state, type(self).__name__)
            if e is None:
                est = MiniBatchKMeans(random_state=seed)
            elif isinstance(e, Integral):
                est = MiniBatchKMeans(n_clusters=int(e), random_state=seed)
            else:
                est = clone(e)
            labels = est.fit_predict(data.X.cpu().numpy())
            self.kmeans_estimator_ = est
            n_clusters = int(est.get_params().get("n_clusters", int(labels.max()) + 1))
            self.cluster_balance_threshold_ = self.cluster_balance_threshold if n_clusters != 1 else -math.inf
            self._n_clusters = n_clusters
            self._clusters_t = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(data.device)
        return self._clusters_t

    def _sparsity(self, Xcc: torch.Tensor) -> float:
        """``mean_pairwise_distance ** exponent / n`` of the class members of one cluster."""
        n = Xcc.shape[0]
        X64 = Xcc.to(torch.float64)
        X64 = X64 - X64.mean(0)
        sq = X64.square().sum(1)
        total = X64.new_zeros(())
        rows = max(1, min(n, (32 * 2**20) // max(1, n * 8)))
        for a in range(0, n, rows):
            d2 = torch.addmm(sq[a : a + rows, None] + sq[None, :], X64[a : a + rows], X64.T, alpha=-2.0)
            d2.clamp_(min=0.0)
            r = d2.shape[0]
            d2[torch.arange(r, device=d2.device), torch.arange(a, a + r, device=d2.device)] = 0.0
            total = total + d2.sqrt_().sum()
        mean = float(total) / (n * n - n)
        exponent = math.log(n, 1.6) ** 1.8 * 0.16 if self.density_exponent == "auto" else float(self.density_exponent)
        return (mean**exponent) / n

    def _generate(self, data, code, label, n_new, g):
        if n_new == 0:
            return None
        owner = type(self).__name__
        k = int(self.k_neighbors)
        clusters = self._clusters(data)
        nc = self._n_clusters
        size = torch.bincount(clusters, minlength=nc)
        in_class = data.codes == code
        size_c = torch.bincount(clusters[in_class], minlength=nc)
        if self.cluster_balance_threshold_ == "auto":
            threshold = n_new / sum(self.sampling_strategy_.values()) / 2
        else:
            threshold = float(self.cluster_balance_threshold_)
        share = size_c.to(torch.float64) / size.clamp(min=1).to(torch.float64)
        valid = (size > 0) & (share >= threshold) & (size_c >= k + 1)
        used = valid.nonzero().squeeze(1).cpu().tolist()
        if not used:
            raise ValueError(
                f"{owner}: no cluster has enough samples of class {label!r} (more than k_neighbors={k} and a share "
                "of at least cluster_balance_threshold); lower cluster_balance_threshold or change the clusters"
            )
        members = [((clusters == c) & in_class).nonzero().squeeze(1) for c in used]
        sparsity = np.array([self._sparsity(_rows(data.X, idx)) for idx in members])
        weights = sparsity / sparsity.sum()
        parts = []
        for idx, w in zip(members, weights):
            count = int(math.ceil(n_new * w))
            if count == 0:
                continue
            Xcc = _rows(data.X, idx)
            _, nn = search(Xcc, Xcc, k, exclude=torch.arange(idx.numel(), device=data.device))
            parts.append(_smote_from(data, idx, idx, nn, count, 1.0, g))
        if not parts:
            return None
        return tuple(torch.cat([p[i] for p in parts]) for i in range(3))
