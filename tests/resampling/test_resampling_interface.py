"""The imbalanced-learn interface of every sampler (``BaseSampler``): containers, targets, feature
names, set_output, tags, neighbours objects, clone-safety in scikit-learn model selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from torchaug.resampling import ADASYN, SMOTE, SMOTEN, SMOTENC, BorderlineSMOTE, RandomOverSampler

pd = pytest.importorskip("pandas")

SAMPLERS = {
    "smote": lambda: SMOTE(k_neighbors=3, random_state=0),
    "borderline": lambda: BorderlineSMOTE(k_neighbors=3, m_neighbors=6, random_state=0),
    "adasyn": lambda: ADASYN(n_neighbors=4, random_state=0),
    "ros": lambda: RandomOverSampler(random_state=0),
    "smotenc": lambda: SMOTENC(categorical_features=[3], k_neighbors=3, random_state=0),
    "smoten": lambda: SMOTEN(k_neighbors=3, random_state=0),
}


def _data(n=(60, 20), d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(i * 1.0, 1.0, (m, d)) for i, m in enumerate(n)]).astype(np.float32)
    X[:, 3] = rng.integers(0, 3, len(X))  # a categorical column (used as such by SMOTENC)
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    return X, y


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_dataframe_series_round_trip(name):
    X, y = _data()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    ys = pd.Series(y, name="label")
    Xr, yr = SAMPLERS[name]().fit_resample(df, ys)
    Xn, yn = SAMPLERS[name]().fit_resample(X, y)
    assert isinstance(Xr, pd.DataFrame) and list(Xr.columns) == ["a", "b", "c", "d"]
    assert (Xr.dtypes == np.float32).all()
    assert isinstance(yr, pd.Series) and yr.name == "label" and yr.dtype == ys.dtype
    assert (yr.index == Xr.index).all()
    np.testing.assert_array_equal(Xr.to_numpy(), Xn)
    np.testing.assert_array_equal(yr.to_numpy(), yn)
    s = SAMPLERS[name]()
    s.fit_resample(df, ys)
    np.testing.assert_array_equal(s.feature_names_in_, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(s.get_feature_names_out(), ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        s.get_feature_names_out(["x", "b", "c", "d"])


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_lists_sparse_column_and_ova_targets(name):
    X, y = _data()
    Xn, yn = SAMPLERS[name]().fit_resample(X, y)
    Xl, yl = SAMPLERS[name]().fit_resample(X.tolist(), y.tolist())
    assert isinstance(Xl, list) and isinstance(yl, list)  # float64 lists: compare with float64 arrays
    np.testing.assert_array_equal(np.asarray(Xl), SAMPLERS[name]().fit_resample(X.astype(np.float64), y)[0])
    _, yc = SAMPLERS[name]().fit_resample(X, y[:, None])
    assert yc.shape == (len(yn), 1)
    np.testing.assert_array_equal(yc[:, 0], yn)
    ova = np.eye(2, dtype=np.int32)[y]
    Xo, yo = SAMPLERS[name]().fit_resample(X, ova)
    assert yo.dtype == np.int32 and yo.shape == (len(yn), 2)
    np.testing.assert_array_equal(yo.argmax(1), yn)
    np.testing.assert_array_equal(Xo, Xn)
    Xs, ys = SAMPLERS[name]().fit_resample(sparse.csr_matrix(X), y)
    assert sparse.issparse(Xs) and Xs.format == "csr"
    np.testing.assert_allclose(Xs.toarray(), Xn)
    with pytest.raises(ValueError, match="multilabel"):
        SAMPLERS[name]().fit_resample(X, np.stack([y, np.ones_like(y)], 1))


def test_tensor_targets_forms():
    X, y = _data()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    Xr, yr = SMOTE(k_neighbors=3, random_state=0).fit_resample(Xt, yt)
    _, yc = SMOTE(k_neighbors=3, random_state=0).fit_resample(Xt, yt[:, None])
    assert isinstance(yc, torch.Tensor) and yc.shape == (len(yr), 1) and torch.equal(yc[:, 0], yr)
    _, yo = SMOTE(k_neighbors=3, random_state=0).fit_resample(Xt, torch.nn.functional.one_hot(yt).float())
    assert yo.dtype == torch.float32 and torch.equal(yo.argmax(1), yr)


def test_set_output_pandas_and_global_config():
    import sklearn

    X, y = _data()
    s = SMOTE(k_neighbors=3, random_state=0).set_output(transform="pandas")
    Xr, yr = s.fit_resample(X, y)
    assert isinstance(Xr, pd.DataFrame) and list(Xr.columns) == ["x0", "x1", "x2", "x3"]
    assert isinstance(yr, pd.Series)
    c = clone(s)  # the output setting survives clone, as scikit-learn's does
    assert isinstance(c.fit_resample(X, y)[0], pd.DataFrame)
    assert isinstance(s.set_output(transform="default").fit_resample(X, y)[0], np.ndarray)
    with sklearn.config_context(transform_output="pandas"):
        assert isinstance(SMOTE(k_neighbors=3, random_state=0).fit_resample(X, y)[0], pd.DataFrame)
    with pytest.raises(ValueError, match="SMOTE: set_output transform must be one of"):
        SMOTE().set_output(transform="nosuch")


def test_sampler_tags():
    tags = pytest.importorskip("imblearn.utils._tags")
    t = tags.get_tags(RandomOverSampler())
    assert t.estimator_type == "sampler" and t.sampler_tags.sample_indices
    assert t.input_tags.string and t.input_tags.allow_nan and t.input_tags.dataframe
    t = tags.get_tags(SMOTE())
    assert not t.sampler_tags.sample_indices and not t.input_tags.string and t.input_tags.sparse
    X, y = _data()
    s = SMOTE(k_neighbors=3, random_state=0)
    s.fit_resample(X, y)
    assert not hasattr(s, "sample_indices_")
    r = RandomOverSampler(random_state=0)
    Xr, _ = r.fit_resample(X, y)
    np.testing.assert_array_equal(Xr, X[r.sample_indices_])


@pytest.mark.parametrize(
    "make,name",
    [(lambda nn: SMOTE(k_neighbors=nn, random_state=0), "k"),
     (lambda nn: ADASYN(n_neighbors=nn, random_state=0), "n"),
     (lambda nn: BorderlineSMOTE(k_neighbors=nn, m_neighbors=NearestNeighbors(n_neighbors=7), random_state=0), "bk"),
     (lambda nn: SMOTENC(categorical_features=[3], k_neighbors=nn, random_state=0), "nc"),
     (lambda nn: SMOTEN(k_neighbors=nn, random_state=0), "n_")],
)
def test_neighbours_object_equals_int(make, name):
    """A fitted-neighbours object with n_neighbors = k + 1 gives the same result as k (exact neighbours,
    no ties in continuous data); imbalanced-learn's convention (the query itself is the first column)."""
    X, y = _data()
    a = make(4).fit_resample(X, y)
    b = make(NearestNeighbors(n_neighbors=5)).fit_resample(X, y)
    if name == "bk":
        a = BorderlineSMOTE(k_neighbors=4, m_neighbors=6, random_state=0).fit_resample(X, y)
    if name in ("k", "n", "nc"):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-6)
    else:  # categorical ties / borderline: same counts
        np.testing.assert_array_equal(np.bincount(a[1]), np.bincount(b[1]))
    with pytest.raises(ValueError, match="n_neighbors >= 2"):
        make(NearestNeighbors(n_neighbors=1)).fit_resample(X, y)


def test_clone_pipeline_cross_validate_and_grid_search():
    pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, cross_validate

    X, y = _data(n=(90, 30))
    for s in (SMOTE(k_neighbors=NearestNeighbors(n_neighbors=4), random_state=0),
              SMOTENC(categorical_features=[3], random_state=0), SMOTEN(random_state=0)):
        c = clone(s)
        assert c.get_params() .keys() == s.get_params().keys()
        pipe = pipeline.make_pipeline(s, LogisticRegression())
        res = cross_validate(pipe, X, y, cv=3)
        assert len(res["test_score"]) == 3
    grid = GridSearchCV(pipeline.make_pipeline(SMOTE(random_state=0), LogisticRegression()),
                        {"smote__k_neighbors": [3, 5]}, cv=3).fit(X, y)
    assert grid.best_params_["smote__k_neighbors"] in (3, 5)


def test_mixed_sparse_and_dense_dataframe_columns():
    X, y = _data()
    df = pd.DataFrame(X, columns=list("abcd"))
    df["a"] = df["a"].astype(pd.SparseDtype(np.float32, 0))
    Xr, _ = SMOTE(k_neighbors=3, random_state=0).fit_resample(df, y)
    assert isinstance(Xr.dtypes["a"], pd.SparseDtype) and Xr.dtypes["b"] == np.float32
    np.testing.assert_array_equal(Xr.astype(np.float32).to_numpy(),
                                  SMOTE(k_neighbors=3, random_state=0).fit_resample(X, y)[0])


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_fit_checks_and_resolves_strategy_on_any_container(name):
    X, y = _data()
    df = pd.DataFrame(X, columns=list("abcd"))
    s = SAMPLERS[name]().fit(df, pd.Series(y))
    assert dict(s.sampling_strategy_) == {1: 40} and s.n_features_in_ == 4
    np.testing.assert_array_equal(s.get_feature_names_out(), list("abcd"))
