"""Confidence filter: keep synthetic samples a real-data classifier assigns to their intended class.

A common filter for generated training data (e.g. the "label consistency" / classifier-confidence
filtering of synthetic samples): train a classifier on the real data only, then keep a synthetic
sample of intended class y if P(y | x) >= tau. Optionally also drop near-copies of real samples
(Euclidean distance to the nearest real sample of any class < ``drop_duplicates_within``), which add
no information and only re-weight the data.
"""

from __future__ import annotations

import torch

from torchaug._validation import check_number
from torchaug.registry import register
from torchaug.resampling import knn
from torchaug.selection._base import BaseSelector, check_threshold


@register("selector", example=lambda: ConfidenceFilter(classifier="logreg", random_state=0))
class ConfidenceFilter(BaseSelector):
    """Keep synthetic samples whose intended class gets probability ``>= tau`` from a real-data classifier.

    Args:
        classifier: ``"logreg"``, ``"quadratic"`` (logistic regression on standardized features, plus their
            squares), ``"mlp"`` (a small torch MLP on ``device``) or ``"cnn"`` (a small torch CNN on the
            features reshaped to ``image_shape=(C, H, W)``); trained once on all real data.
        tau: confidence threshold in [0, 1].
        keep_fraction: if set, keep instead the most confident ``keep_fraction`` of each class.
        drop_duplicates_within: if set, also drop synthetic samples closer than this to a real sample.
        C, hidden, epochs: classifier settings (see :class:`PUFilter`).
        random_state: seed of the MLP initialisation.
        device: where the real data and the MLP live.

    ``scores_`` = P(intended class | x) (0 for dropped duplicates).
    """

    def __init__(
        self,
        classifier: str = "logreg",
        tau: float = 0.5,
        keep_fraction: float | None = None,
        drop_duplicates_within: float | None = None,
        C: float = 1.0,
        hidden: int = 32,
        epochs: int = 50,
        random_state: int | None = None,
        device: str | torch.device | None = None,
        image_shape: tuple[int, ...] | None = None,
    ) -> None:
        owner = type(self).__name__
        super().__init__(keep_fraction=keep_fraction, random_state=random_state, device=device)
        self._set_classifier(classifier, C, hidden, epochs, image_shape)
        self.tau = check_threshold(tau, owner, "tau")
        if drop_duplicates_within is not None:
            check_number(drop_duplicates_within, owner=owner, name="drop_duplicates_within", low=0.0)
        self.drop_duplicates_within = drop_duplicates_within

    def _fit(self, X: torch.Tensor, y: torch.Tensor) -> None:
        if len(self.classes_) < 2:  # the classifier tells the real classes apart
            raise ValueError(f"{type(self).__name__}.fit: y_real must hold at least 2 classes; got only {self.classes_}")
        self._codes = {c: i for i, c in enumerate(self.classes_)}
        codes = torch.searchsorted(torch.tensor(self.classes_, device=y.device), y)
        self._proba_fn = self._train_classifier(X, codes, len(self.classes_), seed=self._seed(-1), device=X.device)

    def _prepare(self, X_syn: torch.Tensor, y_syn: torch.Tensor) -> None:
        self._proba = self._proba_fn(X_syn)  # every synthetic row in one pass

    def _score_class(self, c: int, X_c: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = self._proba[idx, self._codes[c]]
        keep = p >= self.tau
        if self.drop_duplicates_within is not None and X_c.shape[0]:
            d, _ = knn(X_c, 1, Y=self.X_real_)
            dup = d[:, 0].to(p.dtype) < self.drop_duplicates_within
            keep = keep & ~dup
            p = torch.where(dup, torch.zeros_like(p), p)
        return p, keep
