"""The "cnn" classifier of the selectors: images flattened from image_shape."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from torchaug.selection import ConfidenceFilter, PUFilter


def _digits_with_noisy_synthetic(seed: int = 0):
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32).reshape(len(d.images), -1)
    y = d.target
    rng = np.random.default_rng(seed)
    keep = np.isin(y, [0, 1])
    X_real, y_real = x[keep], y[keep]
    # synthetic: half are blends of two real same-class digits (good), half uniform noise (bad)
    good = []
    for c in (0, 1):
        xc = X_real[y_real == c]
        a, b = rng.integers(0, len(xc), (2, 30))
        good.append(0.5 * (xc[a] + xc[b]))
    bad = rng.uniform(0, 1, (60, 64)).astype(np.float32)
    X_syn = np.concatenate([*good, bad])
    y_syn = np.array([0] * 30 + [1] * 30 + [0] * 30 + [1] * 30)
    is_bad = np.arange(120) >= 60
    return X_real, y_real, X_syn, y_syn, is_bad


@pytest.mark.parametrize("cls", [PUFilter, ConfidenceFilter])
def test_cnn_classifier_rejects_bad_samples_and_keeps_digits(cls):
    X_real, y_real, X_syn, y_syn, is_bad = _digits_with_noisy_synthetic()
    if cls is ConfidenceFilter:
        # a real-vs-real classifier cannot flag noise; its bad samples are digits of the other class
        X_syn[is_bad] = X_syn[~is_bad][::-1].copy()
        y_syn[is_bad] = 1 - y_syn[~is_bad][::-1]
    f = cls(classifier="cnn", image_shape=(1, 8, 8), hidden=8, epochs=60, random_state=0)
    keep = np.asarray(f.fit(X_real, y_real).select(X_syn, y_syn))
    kept = np.zeros(len(X_syn), bool)
    kept[keep] = True
    assert (~kept[is_bad]).mean() >= 0.8  # most noise removed
    assert kept[~is_bad].mean() >= 0.8  # most real-looking samples kept


def test_cnn_needs_a_matching_image_shape():
    with pytest.raises(ValueError, match="image_shape"):
        PUFilter(classifier="cnn")
    with pytest.raises(ValueError, match="image_shape"):
        ConfidenceFilter(classifier="cnn", image_shape=(1, 8))
    X_real, y_real, _, _, _ = _digits_with_noisy_synthetic()
    with pytest.raises(ValueError, match="image_shape"):
        ConfidenceFilter(classifier="cnn", image_shape=(1, 4, 4), epochs=2).fit(X_real, y_real)
