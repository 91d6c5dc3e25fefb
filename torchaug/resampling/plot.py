"""A picture of what a resampler does: 2-D PCA scatter of original and synthetic points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["save_resampling_scatter"]


def _to_numpy(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def save_resampling_scatter(
    sampler: Any, X: Any, y: Any, path: str | Path, *, title: str | None = None, max_points: int = 5000
) -> Path:
    """Run ``sampler.fit_resample(X, y)`` and save a PNG scatter of the result.

    The rows are projected on the first two principal components of the *original* ``X``
    (scikit-learn ``PCA`` fitted on ``X`` only). Original points are dots, synthetic points
    are crosses, one colour per class. At most ``max_points`` of each kind are drawn (a fixed
    random subset). Uses matplotlib's Agg canvas (no display needed).

    Returns the path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.decomposition import PCA

    X_res, y_res = sampler.fit_resample(X, y)
    Xn = _to_numpy(X).astype(np.float64)
    Xr = _to_numpy(X_res).astype(np.float64)
    yr = _to_numpy(y_res)
    n = Xn.shape[0]
    if Xn.shape[1] >= 2:
        pca = PCA(n_components=2).fit(Xn)
        P = pca.transform(Xr)
    else:
        P = np.concatenate([Xr, np.zeros_like(Xr)], axis=1)
    rng = np.random.default_rng(0)

    def subset(idx: np.ndarray) -> np.ndarray:
        return idx if len(idx) <= max_points else np.sort(rng.choice(idx, max_points, replace=False))

    orig = subset(np.arange(n))
    synth = subset(np.arange(n, len(Xr)))
    fig = Figure(figsize=(6, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    classes = np.unique(yr)
    cmap = fig.colormaps["tab10"] if hasattr(fig, "colormaps") else None
    colors = {c: (cmap(i % 10) if cmap is not None else f"C{i % 10}") for i, c in enumerate(classes)}
    for c in classes:  # synthetic crosses first, original dots drawn on top of them
        s = synth[yr[synth] == c]
        if len(s):
            ax.scatter(P[s, 0], P[s, 1], s=14, marker="x", color=colors[c], alpha=0.6, linewidths=1,
                       label=f"{c} synthetic ({len(s)})", zorder=1)
    for c in classes:
        o = orig[yr[orig] == c]
        ax.scatter(P[o, 0], P[o, 1], s=10, marker="o", color=colors[c], edgecolors="black", linewidths=0.3,
                   alpha=0.9, label=f"{c} original ({len(o)})", zorder=2)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title or f"{type(sampler).__name__}: {n} original, {len(Xr) - n} synthetic")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
