"""Comparisons with imbalanced-learn: counts for every sampling_strategy form, distribution parity, Pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from torchaug.resampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler

pytestmark = pytest.mark.peer


def _data(n=(150, 40, 25), d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(i * 1.2, 1.0, (m, d)) for i, m in enumerate(n)])
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    return X, y


STRATEGIES = [
    "auto",
    "minority",
    "not majority",
    "not minority",
    "all",
    {0: 150, 1: 100, 2: 60},
    lambda y: {c: int(np.sum(y == c)) * 2 for c in np.unique(y)},
]
STRATEGY_IDS = ["auto", "minority", "not_majority", "not_minority", "all", "dict", "callable"]

PAIRS = {
    "SMOTE": (lambda s: SMOTE(sampling_strategy=s, random_state=0), "SMOTE", {}),
    "Borderline1": (
        lambda s: BorderlineSMOTE(sampling_strategy=s, random_state=0),
        "BorderlineSMOTE",
        {"kind": "borderline-1"},
    ),
    "Borderline2": (
        lambda s: BorderlineSMOTE(sampling_strategy=s, kind="borderline-2", random_state=0),
        "BorderlineSMOTE",
        {"kind": "borderline-2"},
    ),
    "ADASYN": (lambda s: ADASYN(sampling_strategy=s, random_state=0), "ADASYN", {}),
    "ROS": (lambda s: RandomOverSampler(sampling_strategy=s, random_state=0), "RandomOverSampler", {}),
}


def _imblearn(name, strategy, **kw):
    over = pytest.importorskip("imblearn.over_sampling")
    return getattr(over, name)(sampling_strategy=strategy, random_state=0, **kw)


@pytest.mark.parametrize("pair", list(PAIRS), ids=list(PAIRS))
@pytest.mark.parametrize("strategy", STRATEGIES, ids=STRATEGY_IDS)
def test_counts_match_imblearn(pair, strategy):
    X, y = _data()
    ours, name, kw = PAIRS[pair]
    ref = _imblearn(name, strategy, **kw)
    Xr, yr = ref.fit_resample(X, y)
    s = ours(strategy)
    Xo, yo = s.fit_resample(X, y)
    np.testing.assert_array_equal(np.bincount(yo, minlength=3), np.bincount(yr, minlength=3))
    assert dict(s.sampling_strategy_) == {int(k): int(v) for k, v in ref.sampling_strategy_.items()}
    np.testing.assert_array_equal(Xo[: len(X)], Xr[: len(X)])


@pytest.mark.parametrize("cls,name", [(SMOTE, "SMOTE"), (ADASYN, "ADASYN"), (RandomOverSampler, "RandomOverSampler")])
def test_float_strategy_binary_matches_imblearn(cls, name):
    X, y = _data(n=(150, 40))
    for ratio in (0.5, 0.8, 1.0):
        _, yr = _imblearn(name, ratio).fit_resample(X, y)
        _, yo = cls(sampling_strategy=ratio, random_state=0).fit_resample(X, y)
        np.testing.assert_array_equal(np.bincount(yo), np.bincount(yr))
    with pytest.raises(ValueError):
        _imblearn(name, 0.1).fit_resample(X, y)
    with pytest.raises(ValueError, match=f"{name}: sampling_strategy"):
        cls(sampling_strategy=0.1).fit_resample(X, y)


def test_borderline_danger_sets_match_imblearn():
    X, y = _data(d=3)
    for kind in ("borderline-1", "borderline-2"):
        ref = _imblearn("BorderlineSMOTE", "auto", kind=kind)
        ref.fit_resample(X, y)
        s = BorderlineSMOTE(kind=kind, random_state=0)
        s.fit_resample(X, y)
        assert set(s.in_danger_indices_) == set(ref.in_danger_indices)
        for c, idx in ref.in_danger_indices.items():
            np.testing.assert_array_equal(np.sort(s.in_danger_indices_[c]), np.sort(idx))


@pytest.mark.parametrize(
    "ours,name",
    [(lambda: SMOTE(random_state=1), "SMOTE"), (lambda: ADASYN(random_state=1), "ADASYN")],
    ids=["SMOTE", "ADASYN"],
)
def test_distribution_parity_with_imblearn(ours, name):
    """Per-feature mean and std of the synthetic rows agree within sampling error."""
    rng = np.random.default_rng(7)
    X = np.concatenate([rng.normal(0, 1, (3000, 5)), rng.normal([1, -1, 0.5, 2, 0], [1, 2, 0.5, 1, 3], (400, 5))])
    y = np.r_[np.zeros(3000, int), np.ones(400, int)]
    n = len(X)
    Xr, _ = _imblearn(name, "auto").fit_resample(X, y)
    Xo, _ = ours().fit_resample(X, y)
    a, b = Xr[n:], Xo[n:]
    assert abs(len(a) - len(b)) <= 2
    # synthetic rows are correlated through 400 sources: use the source spread as the scale,
    # a generous 5 standard errors of the mean over the 400 sources
    se = X[y == 1].std(0) / np.sqrt(400)
    assert (np.abs(a.mean(0) - b.mean(0)) < 5 * se).all()
    np.testing.assert_allclose(a.std(0), b.std(0), rtol=0.1)
    # and both shrink the spread the same way (interpolation towards close neighbours)
    assert (b.std(0) < X[y == 1].std(0) * 1.05).all()


def test_imblearn_pipeline():
    pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    for sampler in (SMOTE(random_state=0), BorderlineSMOTE(random_state=0), ADASYN(random_state=0),
                    RandomOverSampler(random_state=0)):
        pipe = pipeline.Pipeline([("scale", StandardScaler()), ("over", sampler), ("clf", LogisticRegression())])
        pipe.fit(X, y)
        assert pipe.score(X, y) > 0.5
        assert pipe.named_steps["over"].sampling_strategy_ == {1: 110, 2: 125}
    from sklearn.model_selection import cross_val_score

    scores = cross_val_score(pipeline.make_pipeline(SMOTE(random_state=0), LogisticRegression()), X, y, cv=3)
    assert len(scores) == 3
