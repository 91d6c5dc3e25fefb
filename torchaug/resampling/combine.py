"""Over-sampling followed by cleaning: SMOTE + ENN and SMOTE + Tomek links (Batista et al. 2004).

Both chain two of our samplers (or any imbalanced-learn-style samplers given as arguments), so
every neighbour search is our exact kNN on the data's device.
"""

from __future__ import annotations

from typing import Any

import torch
from sklearn.base import clone

from torchaug._validation import describe
from torchaug.registry import register
from torchaug.resampling._under_base import check_n_jobs
from torchaug.resampling.cleaning import EditedNearestNeighbours, TomekLinks
from torchaug.resampling.samplers import SMOTE, _BaseOverSampler

__all__ = ["SMOTEENN", "SMOTETomek"]


class _Combined(_BaseOverSampler):
    """``fit_resample`` = ``cleaner_.fit_resample(*smote_.fit_resample(X, y))``."""

    __torchaug_public__ = False
    _cleaner_arg = ""

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        check_n_jobs(self.n_jobs, owner)
        for name in ("smote", self._cleaner_arg):
            v = getattr(self, name)
            if v is not None and not hasattr(v, "fit_resample"):
                raise TypeError(f"{owner}: {name} must be None or a sampler with fit_resample; got {describe(v)}")

    def _fit_resample(self, X: Any, y: Any, io: Any = None) -> tuple[Any, Any]:
        """Over-sample with ``smote_`` then clean with the cleaner; returns ``(X_res, y_res)``.

        The output is the cleaner's: not the original rows first (some are removed).
        """
        self._validate_params()
        if self.smote is None:
            self.smote_ = SMOTE(sampling_strategy=self.sampling_strategy, random_state=self.random_state, device=self.device)
        else:
            self.smote_ = clone(self.smote)
        cleaner = getattr(self, self._cleaner_arg)
        cleaner_ = self._default_cleaner() if cleaner is None else clone(cleaner)
        setattr(self, self._cleaner_arg + "_", cleaner_)
        owner = type(self).__name__
        try:
            X_s, y_s = self.smote_.fit_resample(X, y)
            self.sampling_strategy_ = getattr(self.smote_, "sampling_strategy_", self.sampling_strategy)
            self.n_features_in_ = getattr(self.smote_, "n_features_in_", None)
            self.classes_ = getattr(self.smote_, "classes_", None)
            return cleaner_.fit_resample(X_s, y_s)
        except (ValueError, TypeError) as err:  # name the combined sampler too
            if str(err).startswith(owner):
                raise
            raise type(err)(f"{owner}: {err}") from err

    def fit(self, X: Any, y: Any) -> "_Combined":
        """Check the inputs (as the over-sampling step does); use :meth:`fit_resample`."""
        self._validate_params()
        (SMOTE(sampling_strategy=self.sampling_strategy, device=self.device) if self.smote is None else clone(self.smote)).fit(
            X, y
        )
        return self


@register("resampler", example=lambda: SMOTEENN(smote=SMOTE(k_neighbors=3, random_state=0)))
class SMOTEENN(_Combined):
    """SMOTE then edited nearest neighbours (Batista, Prati & Monard, SIGKDD Explor. 6, 2004).

    imbalanced-learn semantics: ``smote`` defaults to ``SMOTE(sampling_strategy, random_state)``,
    ``enn`` to ``EditedNearestNeighbours(sampling_strategy='all')``; the objects given are cloned.
    Output rows are ENN's (grouped by class). ``n_jobs`` is passed to the default ENN.

    Args:
        sampling_strategy: over-sampling strategy of the default SMOTE.
        random_state: ``None``, int seed or ``torch.Generator`` of the default SMOTE.
        smote: an over-sampler or ``None``.
        enn: a cleaning sampler or ``None``.
        n_jobs: torch CPU threads of the default ENN.
        device: where to compute (default: the data's device).
    """

    _cleaner_arg = "enn"

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        smote: Any = None,
        enn: Any = None,
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.enn = enn
        self.n_jobs = n_jobs
        self.device = device

    def _default_cleaner(self) -> Any:
        return EditedNearestNeighbours(sampling_strategy="all", n_jobs=self.n_jobs, device=self.device)


@register("resampler", example=lambda: SMOTETomek(smote=SMOTE(k_neighbors=3, random_state=0)))
class SMOTETomek(_Combined):
    """SMOTE then Tomek-link removal (Batista, Bazzan & Monard, WOB 2003), imbalanced-learn semantics.

    ``smote`` defaults to ``SMOTE(sampling_strategy, random_state)``, ``tomek`` to
    ``TomekLinks(sampling_strategy='all')``; the objects given are cloned. Output rows are the
    Tomek cleaner's (original order of the over-sampled set).

    Args:
        sampling_strategy, random_state, smote, n_jobs, device: as :class:`SMOTEENN`.
        tomek: a cleaning sampler or ``None``.
    """

    _cleaner_arg = "tomek"

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        smote: Any = None,
        tomek: Any = None,
        n_jobs: int | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.tomek = tomek
        self.n_jobs = n_jobs
        self.device = device

    def _default_cleaner(self) -> Any:
        return TomekLinks(sampling_strategy="all", n_jobs=self.n_jobs, device=self.device)
