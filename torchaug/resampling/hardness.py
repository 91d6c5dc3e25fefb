"""Instance hardness threshold under-sampling (Smith, Martinez & Giraud-Carrier, Mach. Learn. 95, 2014).

The classifier and its cross-validated probabilities are scikit-learn's, on the CPU (imbalanced-
learn does the same); the threshold and the selection follow imbalanced-learn exactly.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import torch
from sklearn.base import clone, is_classifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils import check_random_state

from torchaug._validation import describe
from torchaug.registry import register
from torchaug.resampling._under_base import _BaseUnderSampler, grouped, sklearn_seed
from torchaug.resampling.samplers import _Data

__all__ = ["InstanceHardnessThreshold"]


def _set_random_states(estimator: Any, rs: np.random.RandomState) -> None:
    """Give every ``random_state`` parameter of ``estimator`` (nested too) an int drawn from ``rs``.

    scikit-learn's ``ensemble._base._set_random_states`` rule (sorted parameter names), which
    imbalanced-learn applies to a user's estimator.
    """
    to_set = {}
    for key in sorted(estimator.get_params(deep=True)):
        if key == "random_state" or key.endswith("__random_state"):
            to_set[key] = rs.randint(np.iinfo(np.int32).max)
    if to_set:
        estimator.set_params(**to_set)


@register(
    "resampler",
    example=lambda: InstanceHardnessThreshold(
        estimator=RandomForestClassifier(n_estimators=5, random_state=0), cv=3, random_state=0
    ),
)
class InstanceHardnessThreshold(_BaseUnderSampler):
    """Keep the samples a classifier finds easiest (imbalanced-learn semantics).

    Out-of-fold probabilities of the true class come from ``cross_val_predict`` with a shuffled
    ``StratifiedKFold(cv)``; each targeted class keeps the samples whose probability is at least
    its ``100 * (1 - n_keep / n_class)`` percentile (so ties can keep more than ``n_keep``).
    Output grouped by class (sorted labels), ascending within a class.

    Args:
        estimator: a scikit-learn classifier with ``predict_proba`` (cloned), default
            ``RandomForestClassifier(n_estimators=100)``; runs on the CPU.
        sampling_strategy: as :class:`RandomUnderSampler`.
        random_state: int seed (the same int gives imbalanced-learn's result), ``torch.Generator``
            or ``None`` (a seed is drawn from it / from torch's RNG).
        cv: number of folds (>= 2).
        n_jobs: scikit-learn ``n_jobs`` for the classifier and the folds.
        device: where the data and outputs live (the classifier runs on the CPU).
    """

    def __init__(
        self,
        estimator: Any = None,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        cv: int = 5,
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.estimator = estimator
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.cv = cv
        self.n_jobs = n_jobs
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        e = self.estimator
        if e is not None and not (hasattr(e, "fit") and hasattr(e, "predict_proba") and is_classifier(e)):
            raise TypeError(
                f"{owner}: estimator must be None or a scikit-learn classifier with predict_proba; got {describe(e)}"
            )
        if isinstance(self.cv, bool) or not isinstance(self.cv, Integral):
            raise TypeError(f"{owner}: cv must be an integer >= 2; got {describe(self.cv)}")
        if self.cv < 2:
            raise ValueError(f"{owner}: cv must be an integer >= 2; got {self.cv!r}")

    def _generator(self, data: _Data) -> torch.Generator | None:
        return None  # randomness is scikit-learn's, seeded in _select

    def _select(self, data: _Data, g: torch.Generator | None) -> torch.Tensor:
        owner = type(self).__name__
        seed = sklearn_seed(self.random_state, owner)
        rs = check_random_state(seed)
        if self.estimator is None:
            est = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=self.n_jobs)
        else:
            est = clone(self.estimator)
            _set_random_states(est, rs)
        codes = data.codes.cpu().numpy()
        small = [c for c, n in data.stats.items() if n < self.cv]
        if small:
            raise ValueError(
                f"{owner}: cv={self.cv} folds need at least {self.cv} samples in every class; "
                f"classes {small} have fewer (lower cv)"
            )
        skf = StratifiedKFold(n_splits=int(self.cv), shuffle=True, random_state=rs)
        X_np = data.X.cpu().numpy()
        proba = cross_val_predict(est, X_np, codes, cv=skf, n_jobs=self.n_jobs, method="predict_proba")
        proba = proba[np.arange(len(codes)), codes]
        self.estimator_ = est
        keep = np.ones(len(codes), dtype=bool)
        for label, n_keep in self.sampling_strategy_.items():
            code = data.code_of(label)
            in_c = codes == code
            p = proba[in_c]
            threshold = np.percentile(p, (1.0 - (n_keep / in_c.sum())) * 100.0)
            keep[in_c] = p >= threshold
        return grouped(torch.from_numpy(keep).to(data.device), data.codes)
