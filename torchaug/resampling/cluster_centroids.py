"""Prototype generation by k-means: ClusterCentroids (imbalanced-learn semantics).

k-means is scikit-learn's ``KMeans`` on the CPU (as in imbalanced-learn); the hard-voting
nearest-sample search is our exact kNN on the data's device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans

from torchaug._validation import describe
from torchaug.registry import register
from torchaug.resampling._under_base import _BaseUnderSampler, class_rows, labels_of, sklearn_seed, search

__all__ = ["ClusterCentroids"]

_VOTING = ("auto", "hard", "soft")


@register("resampler", example=lambda: ClusterCentroids(estimator=KMeans(n_init=1, random_state=0), random_state=0))
class ClusterCentroids(_BaseUnderSampler):
    """Replace each targeted class by ``n_keep`` k-means centroids (imbalanced-learn semantics).

    ``voting='soft'`` (and ``'auto'`` for dense data) returns the centroids themselves;
    ``'hard'`` returns, for each centroid, the class's nearest original sample. Output grouped
    by class (sorted labels); untargeted classes whole. No ``sample_indices_`` (new points).

    Args:
        sampling_strategy: as :class:`RandomUnderSampler`.
        random_state: int seed for the default ``KMeans`` (the same int gives imbalanced-learn's
            result), ``torch.Generator`` or ``None`` (a seed is drawn).
        estimator: a scikit-learn clusterer with an ``n_clusters`` parameter and a fitted
            ``cluster_centers_`` (cloned); default ``KMeans(random_state=random_state)``.
        voting: 'auto', 'hard' or 'soft'.
        device: where the data and outputs live (k-means runs on the CPU).
    """

    _tag_sample_indices = False  # centroids are new rows (imbalanced-learn has no sample_indices_ either)

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        estimator: Any = None,
        voting: str = "auto",
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.estimator = estimator
        self.voting = voting
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        if self.voting not in _VOTING:
            raise ValueError(f"{owner}: voting must be one of {list(_VOTING)}; got {self.voting!r}")
        e = self.estimator
        if e is not None and (not hasattr(e, "get_params") or "n_clusters" not in e.get_params()):
            raise TypeError(
                f"{owner}: estimator must be None or a clusterer with an n_clusters parameter and "
                f"cluster_centers_; got {describe(e)}"
            )

    def _fit_resample(self, X: Any, y: Any, io: Any = None) -> tuple[Any, Any]:
        """Under-sample ``X`` ``(n, d)``: returns ``(X_res, y_res)`` grouped by class."""
        data = self._setup(X, y)
        owner = type(self).__name__
        if self.estimator is None:
            est = KMeans(random_state=sklearn_seed(self.random_state, owner))
        else:
            est = clone(self.estimator)
        self.estimator_ = est
        self.voting_ = "soft" if self.voting == "auto" else self.voting
        dev = data.device
        X_parts, code_parts = [], []
        for code, label in enumerate(data.classes):
            idx_c = class_rows(data, code)
            Xc = torch.index_select(data.X, 0, idx_c)
            if label in self.sampling_strategy_:
                n_keep = int(self.sampling_strategy_[label])
                est.set_params(n_clusters=n_keep)
                est.fit(Xc.cpu().numpy())
                if not hasattr(est, "cluster_centers_"):
                    raise TypeError(f"{owner}: estimator must expose a fitted cluster_centers_ attribute")
                centers = torch.from_numpy(np.ascontiguousarray(est.cluster_centers_)).to(dev, Xc.dtype)
                if self.voting_ == "hard":
                    _, nn = search(centers, Xc, 1)
                    Xc = torch.index_select(Xc, 0, nn[:, 0])
                else:
                    Xc = centers
            X_parts.append(Xc)
            code_parts.append(torch.full((Xc.shape[0],), code, dtype=torch.long, device=dev))
        X_res = torch.cat(X_parts)
        y_res = labels_of(data, torch.cat(code_parts))
        if data.is_torch:
            return X_res, y_res
        return X_res.cpu().numpy(), y_res
