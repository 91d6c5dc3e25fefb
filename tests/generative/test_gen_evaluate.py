"""Evaluation helpers: density/coverage (Naeem et al. 2020) on known point sets."""

from __future__ import annotations

import numpy as np

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from experiments.generative_evaluate import _density_coverage  # noqa: E402


def test_density_coverage_of_identical_and_distant_sets():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 4))
    same = real + 1e-9
    d, c = _density_coverage(real, same, k=5)
    assert c == 1.0 and 0.9 < d < 1.6  # each fake sits in its own ball and in those of its neighbours
    far = rng.normal(size=(300, 4)) + 50
    assert _density_coverage(real, far, k=5) == (0.0, 0.0)
    fresh = rng.normal(size=(300, 4))  # same distribution: density ~1, high coverage
    d, c = _density_coverage(real, fresh, k=5)
    assert 0.7 < d < 1.3 and c > 0.9
    collapsed = np.repeat(real[:1], 300, axis=0)  # mode collapse: coverage falls
    assert _density_coverage(real, collapsed, k=5)[1] < 0.05
