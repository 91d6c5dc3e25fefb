"""PU-learning filter for synthetic samples (after Elkan & Noto, KDD 2008).

Elkan & Noto, "Learning classifiers from only positive and unlabeled data": a classifier
g(x) ~ P(labelled | x) trained to separate labelled positives from unlabelled data relates to the
positive-class probability by P(positive | x) = g(x) / c, with c = P(labelled | positive) estimated
as the mean of g over held-out labelled positives (their estimator e1).

Here, per class: the class's real samples are the labelled positives and its synthetic samples the
unlabelled set. A synthetic sample that looks like a real member of the class gets g(x) close to c
(score ~ 1); one off the class manifold (noise, a point inside another class, ...) gets g(x) near 0.
Score = clip(g(x) / c, 0, 1). Both c and the synthetic scores are computed out-of-fold
(``n_splits``-fold cross-fitting), so no sample is scored by a classifier that saw it.
"""

from __future__ import annotations


import torch

from torchaug._validation import check_number
from torchaug.registry import register
from torchaug.selection._base import BaseSelector, check_threshold


@register("selector", example=lambda: PUFilter(classifier="logreg", random_state=0))
class PUFilter(BaseSelector):
    """Keep the synthetic samples that a PU classifier scores as real members of their class.

    Args:
        classifier: ``"logreg"`` (scikit-learn logistic regression on standardized features),
            ``"quadratic"`` (the same on features and their squares: ellipsoidal class regions; use it
            when bad samples can lie on every side of a class), ``"mlp"`` (a small torch MLP on
            ``device``) or ``"cnn"`` (a small torch CNN on images flattened from ``image_shape``).
            One classifier per class.
        threshold: keep samples with score ``g(x)/c`` (clipped to [0, 1]) ``>= threshold``.
        keep_fraction: if set, keep instead the best ``keep_fraction`` of each class's samples.
        image_shape: ``(C, H, W)`` of the flattened features; required by ``classifier="cnn"``.
        n_splits: cross-fitting folds (at most the number of real samples of the class; >= 2).
        C: inverse regularisation of the logistic regressions.
        hidden, epochs: MLP width and full-batch Adam steps.
        random_state: seed of the fold split and the MLP initialisation (None: torch's global RNG).
        device: where the real data and the MLP live (default: ``X_real``'s device).

    Attributes after ``select``: ``scores_`` (m,), ``per_class_`` ``{class: (kept, total)}``,
    ``c_`` ``{class: c}`` (the estimated P(labelled | real-like)).
    """

    def __init__(
        self,
        classifier: str = "logreg",
        threshold: float = 0.5,
        keep_fraction: float | None = None,
        n_splits: int = 5,
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
        self.threshold = check_threshold(threshold, owner)
        self.n_splits = int(check_number(n_splits, owner=owner, name="n_splits", low=2, integer=True))

    def _fit(self, X: torch.Tensor, y: torch.Tensor) -> None:
        small = [c for c in self.classes_ if int((y == c).sum()) < 2]
        if small:
            raise ValueError(f"PUFilter.fit: y_real needs at least 2 real samples per class (held-out estimate "
                             f"of c); classes {small} have fewer")
        self.c_: dict[int, float] = {}

    def _score_class(self, c: int, U: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        P = self.X_real_[self.y_real_ == c]
        dev = P.device
        g = self._generator(c)
        k = min(self.n_splits, P.shape[0], max(U.shape[0], 2))
        fold_p = torch.randperm(P.shape[0], generator=g).to(dev) % k
        fold_u = torch.randperm(U.shape[0], generator=g).to(dev) % k
        gp = torch.zeros(P.shape[0], dtype=torch.float64, device=dev)
        gu = torch.zeros(U.shape[0], dtype=torch.float64, device=dev)
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
        for f in range(k):  # cross-fitting: each sample scored by a classifier that did not see it
            tp, tu = fold_p != f, fold_u != f
            Xtr = torch.cat([P[tp], U[tu]])
            ytr = torch.cat([torch.ones(int(tp.sum()), dtype=torch.long, device=dev),
                             torch.zeros(int(tu.sum()), dtype=torch.long, device=dev)])
            # balance labelled vs unlabelled so that g does not just learn the set sizes
            n1, n0 = int(tp.sum()), int(tu.sum())
            w = torch.where(ytr == 1, torch.tensor(0.5 / max(n1, 1), device=dev, dtype=torch.float64),
                            torch.tensor(0.5 / max(n0, 1), device=dev, dtype=torch.float64)) * (n0 + n1)
            if n0 == 0:
                gp[fold_p == f] = 1.0
                gu[fold_u == f] = 1.0
                continue
            proba = self._train_classifier(Xtr, ytr, 2, seed=seed + f, device=dev, sample_weight=w)
            gp[fold_p == f] = proba(P[fold_p == f])[:, 1]
            gu[fold_u == f] = proba(U[fold_u == f])[:, 1]
        c_hat = gp.mean().clamp_min(1e-12)
        self.c_[int(c)] = float(c_hat)
        score = (gu / c_hat).clamp(0.0, 1.0)
        return score, score >= self.threshold
