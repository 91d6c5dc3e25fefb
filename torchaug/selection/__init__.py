"""Selecting the synthetic samples that help: PU-learning, confidence and distance filters.

Applied after resampling (SMOTE & co.) or generation (a :class:`torchaug.generative.SyntheticDataset`),
before training: each filter learns the real data of every class and keeps the synthetic samples that
look like real members of their intended class.

- :class:`PUFilter`: positive-unlabeled learning (Elkan & Noto 2008), real = labelled, synthetic = unlabelled.
- :class:`ConfidenceFilter`: a real-data classifier's probability of the intended class ``>= tau``.
- :class:`DistanceFilter`: baseline, distance to the k-th nearest real sample of the class.

Common API: ``fit(X_real, y_real)``, ``select(X_syn, y_syn) -> indices``, ``scores_``, ``per_class_``.
Helpers for pipelines: :func:`select_synthetic`, :func:`filter_resampled`.
Imports torch, numpy and scikit-learn only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torchaug.selection._base import BaseSelector, log
from torchaug.selection.confidence import ConfidenceFilter
from torchaug.selection.distance import DistanceFilter
from torchaug.selection.pu import PUFilter

__all__ = ["BaseSelector", "ConfidenceFilter", "DistanceFilter", "PUFilter", "filter_resampled", "select_synthetic"]


def _log_line(selector: Any, per_class: dict[int, tuple[int, int]]) -> str:
    kept = sum(k for k, _ in per_class.values())
    total = sum(t for _, t in per_class.values())
    parts = ", ".join(f"{c}: {k}/{t}" for c, (k, t) in sorted(per_class.items()))
    return f"{type(selector).__name__} kept {kept}/{total} synthetic samples (per class {parts})"


def select_synthetic(selector: Any, X_real: Any, y_real: Any, X_syn: Any, y_syn: Any) -> tuple[Any, Any, dict[int, tuple[int, int]]]:
    """Fit ``selector`` on the real data and select among the synthetic samples.

    Returns ``(keep_idx, scores, per_class_log)``: indices of the kept rows of ``X_syn`` (ascending),
    one score per synthetic row, and ``{class: (kept, total)}``; also logs one INFO line on the
    ``torchaug.selection`` logger. ``selector=None`` keeps everything (score 1).
    """
    if selector is None:
        n = len(X_syn)
        y = y_syn.cpu().numpy() if isinstance(y_syn, torch.Tensor) else np.asarray(y_syn)
        per = {int(c): (int((y == c).sum()),) * 2 for c in np.unique(y)}
        if isinstance(X_syn, torch.Tensor):
            return torch.arange(n, device=X_syn.device), torch.ones(n, dtype=torch.float64, device=X_syn.device), per
        return np.arange(n), np.ones(n), per
    keep = selector.fit(X_real, y_real).select(X_syn, y_syn)
    per = dict(selector.per_class_)
    log.info(_log_line(selector, per))
    return keep, selector.scores_, per


def filter_resampled(selector: Any, sampler: Any, X: Any, y: Any) -> tuple[Any, Any]:
    """``sampler.fit_resample(X, y)``, then drop the synthetic rows that ``selector`` rejects.

    The original ``n`` rows are always kept (first, in order), followed by the kept synthetic rows in
    their original order. ``selector=None`` returns the resampled data unchanged. Logs how many
    synthetic samples were kept per class. ``sampler`` is any imbalanced-learn-style over-sampler whose
    ``fit_resample`` returns the original rows first (torchaug's SMOTE family, imbalanced-learn's).
    """
    X_res, y_res = sampler.fit_resample(X, y)
    if selector is None:
        return X_res, y_res
    n = len(X)
    keep, _, _ = select_synthetic(selector, X, y, X_res[n:], y_res[n:])
    if isinstance(X_res, torch.Tensor):
        keep_t = torch.as_tensor(keep, device=X_res.device)
        rows = torch.cat([torch.arange(n, device=X_res.device), keep_t + n])
        return X_res[rows], y_res[rows.to(y_res.device)]
    rows = np.concatenate([np.arange(n), np.asarray(keep) + n])
    return X_res[rows], y_res[rows]
