"""SMOTE family: paper rule, true-neighbour segments, containers, reproducibility, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from torchaug.resampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler

SAMPLERS = [
    lambda: SMOTE(k_neighbors=3, random_state=0),
    lambda: BorderlineSMOTE(k_neighbors=3, m_neighbors=6, random_state=0),
    lambda: BorderlineSMOTE(k_neighbors=3, m_neighbors=6, kind="borderline-2", random_state=0),
    lambda: ADASYN(n_neighbors=4, random_state=0),
    lambda: RandomOverSampler(random_state=0),
    lambda: RandomOverSampler(shrinkage=0.5, random_state=0),
]
IDS = ["smote", "borderline1", "borderline2", "adasyn", "ros", "ros_shrink"]


def _data(seed=0, n=(120, 30, 18), d=3, overlap=True):
    rng = np.random.default_rng(seed)
    shift = 1.0 if overlap else 6.0
    X = np.concatenate([rng.normal(i * shift, 1.0, (m, d)) for i, m in enumerate(n)]).astype(np.float32)
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    return X, y


def _true_knn64(Xc, k):
    return NearestNeighbors(n_neighbors=k).fit(Xc.astype(np.float64)).kneighbors()


def _check_on_segments(X, Xn, src, nbr, tol=1e-5):
    """Each synthetic row is src + u (nbr - src) with u in [0, 1)."""
    a, b, p = X[src].astype(np.float64), X[nbr].astype(np.float64), Xn.astype(np.float64)
    v = b - a
    u = ((p - a) * v).sum(1) / np.maximum((v * v).sum(1), 1e-30)
    assert (u >= -tol).all() and (u <= 1 + tol).all()
    resid = np.linalg.norm(a + u[:, None] * v - p, axis=1)
    assert (resid <= tol * (1 + np.linalg.norm(v, axis=1))).all()
    return u


def test_smote_points_on_segments_to_true_neighbours():
    X, y = _data()
    k = 5
    s = SMOTE(k_neighbors=k, random_state=1)
    Xr, yr = s.fit_resample(X, y)
    n = len(X)
    np.testing.assert_array_equal(Xr[:n], X)
    np.testing.assert_array_equal(np.bincount(yr), [120, 120, 120])
    src, nbr = s.sources_, s.neighbors_
    assert len(src) == len(nbr) == len(Xr) - n
    np.testing.assert_array_equal(y[src], yr[n:])
    np.testing.assert_array_equal(y[nbr], yr[n:])
    _check_on_segments(X, Xr[n:], src, nbr)
    # nbr is one of src's TRUE k nearest same-class neighbours (float64 scikit-learn, ties allowed)
    for c in (1, 2):
        idx_c = np.flatnonzero(y == c)
        dist, nn = _true_knn64(X[idx_c], k)
        local = {g: i for i, g in enumerate(idx_c)}
        for sg, ng in zip(src[yr[n:] == c], nbr[yr[n:] == c]):
            i = local[sg]
            dn = np.linalg.norm(X[sg].astype(np.float64) - X[ng].astype(np.float64))
            assert idx_c[nn[i]].tolist().count(ng) == 1 or dn <= dist[i, -1] * (1 + 1e-6)
    # every synthetic point lies on a segment between some class member and one of its true kNN,
    # checked without using the exposed indices
    Xn, yn = Xr[n:].astype(np.float64), yr[n:]
    for c in (1, 2):
        idx_c = np.flatnonzero(y == c)
        Xc = X[idx_c].astype(np.float64)
        _, nn = _true_knn64(X[idx_c], k)
        A = np.repeat(Xc, k, axis=0)
        V = Xc[nn.reshape(-1)] - A
        P = Xn[yn == c]
        u = np.clip(((P[:, None, :] - A[None]) * V[None]).sum(-1) / (V * V).sum(-1)[None], 0, 1)
        resid = np.linalg.norm(A[None] + u[..., None] * V[None] - P[:, None, :], axis=-1)
        assert (resid.min(1) < 1e-5).all()


def test_paper_toy_case():
    """Chawla et al. 2002, Sec. 4.2: sample (6,4), neighbour (4,3) -> (6,4) + rand(0-1) * (-2,-1)."""
    X = np.array([[6, 4], [4, 3], [0, 0], [0, 1], [1, 0], [1, 1], [0.5, 0.5]], dtype=np.float64)
    y = np.array([1, 1, 0, 0, 0, 0, 0])
    s = SMOTE(k_neighbors=1, random_state=0)
    Xr, yr = s.fit_resample(X, y)
    new = Xr[len(X):]
    assert new.shape == (3, 2) and (yr[len(X):] == 1).all()
    for p, src in zip(new, s.sources_):
        a, b = X[src], X[1 - src]
        u = (p - a)[0] / (b - a)[0]
        assert 0 <= u < 1
        np.testing.assert_allclose(p, a + u * (b - a))
    from_six = new[s.sources_ == 0]
    # the paper's rule goes from (6,4) towards (4,3): x in (4, 6], y = 4 - (6 - x) / 2; the |diff| write-up
    # would give x >= 6
    assert ((from_six[:, 0] <= 6) & (from_six[:, 0] > 4)).all()
    np.testing.assert_allclose(from_six[:, 1], 4 - (6 - from_six[:, 0]) / 2)
    # the rule itself on one step
    step = torch.tensor([[0.25]], dtype=torch.float64)
    out = SMOTE._interpolate(torch.tensor([[6.0, 4.0]]), torch.tensor([[4.0, 3.0]]), step, torch.float64)
    torch.testing.assert_close(out, torch.tensor([[5.5, 3.75]], dtype=torch.float64))


@pytest.mark.parametrize("make", SAMPLERS, ids=IDS)
def test_containers_order_and_reproducibility(make):
    X, y = _data()
    s = make()
    Xr, yr = s.fit_resample(X, y)
    assert isinstance(Xr, np.ndarray) and Xr.dtype == X.dtype and yr.dtype == y.dtype
    np.testing.assert_array_equal(Xr[: len(X)], X)
    np.testing.assert_array_equal(yr[: len(y)], y)
    Xr2, yr2 = make().fit_resample(X, y)
    np.testing.assert_array_equal(Xr, Xr2)
    # tensors in -> tensors out, same values as numpy
    Xt, yt = make().fit_resample(torch.from_numpy(X), torch.from_numpy(y))
    assert isinstance(Xt, torch.Tensor) and Xt.dtype == torch.float32 and yt.dtype == torch.int64
    np.testing.assert_array_equal(Xt.numpy(), Xr)
    np.testing.assert_array_equal(yt.numpy(), yr)
    Xd, _ = make().set_params(device="cpu").fit_resample(torch.from_numpy(X), torch.from_numpy(y))
    assert Xd.device.type == "cpu"
    # synthetic rows carry labels of classes that were over-sampled, sources from that class
    np.testing.assert_array_equal(y[np.asarray(s.sources_)], yr[len(y):])


def test_random_state_changes_output_and_generator_accepted():
    X, y = _data()
    a, _ = SMOTE(random_state=0).fit_resample(X, y)
    b, _ = SMOTE(random_state=1).fit_resample(X, y)
    assert not np.array_equal(a, b)
    c, _ = SMOTE(random_state=torch.Generator().manual_seed(0)).fit_resample(X, y)
    np.testing.assert_array_equal(a, c)
    torch.manual_seed(5)
    d, _ = SMOTE().fit_resample(X, y)
    torch.manual_seed(5)
    e, _ = SMOTE().fit_resample(X, y)
    np.testing.assert_array_equal(d, e)


def test_sklearn_estimator_api():
    s = BorderlineSMOTE(k_neighbors=4, kind="borderline-2", random_state=3)
    assert s.get_params()["k_neighbors"] == 4 and s.get_params()["kind"] == "borderline-2"
    c = clone(s)
    assert c is not s and c.get_params() == s.get_params()
    assert "BorderlineSMOTE" in repr(s)
    X, y = _data()
    assert s.fit(X, y) is s and dict(s.sampling_strategy_) == {1: 90, 2: 102}


def test_mixed_containers_follow_X():
    X, y = _data()
    Xr, yr = SMOTE(random_state=0).fit_resample(torch.from_numpy(X), y)
    assert isinstance(Xr, torch.Tensor) and isinstance(yr, torch.Tensor) and yr.dtype == torch.int64
    Xn, yn = SMOTE(random_state=0).fit_resample(X, torch.from_numpy(y))
    assert isinstance(Xn, np.ndarray) and isinstance(yn, np.ndarray)
    np.testing.assert_array_equal(Xr.numpy(), Xn)
    Xl, yl = SMOTE(random_state=0).fit_resample(X.tolist(), y.tolist())
    assert isinstance(Xl, list) and isinstance(yl, list) and len(Xl) == len(yl) == 360  # lists in, lists out
    np.testing.assert_array_equal(np.asarray(Xl), SMOTE(random_state=0).fit_resample(X.astype(np.float64), y)[0])


def test_string_labels_and_float_integral_labels():
    X, y = _data()
    ys = np.array(["a", "b", "c"])[y]
    Xr, yr = SMOTE(random_state=0).fit_resample(X, ys)
    assert yr.dtype == ys.dtype and (np.unique(yr, return_counts=True)[1] == 120).all()
    Xr, yr = SMOTE(random_state=0).fit_resample(torch.from_numpy(X), torch.from_numpy(y.astype(np.float32)))
    assert yr.dtype == torch.float32 and torch.equal(torch.bincount(yr.long()), torch.tensor([120, 120, 120]))


def test_borderline_danger_and_borderline2_steps():
    X, y = _data(n=(150, 40, 40))
    s = BorderlineSMOTE(kind="borderline-2", k_neighbors=5, m_neighbors=8, random_state=0)
    Xr, yr = s.fit_resample(X, y)
    n = len(X)
    # danger: m/2 <= #other-class among the m nearest (whole set, self excluded) < m
    _, nn = NearestNeighbors(n_neighbors=8).fit(X.astype(np.float64)).kneighbors()
    for c in (1, 2):
        idx_c = np.flatnonzero(y == c)
        other = (y[nn[idx_c]] != c).sum(1)
        expect = idx_c[(other >= 4) & (other < 8)]
        np.testing.assert_array_equal(np.sort(s.in_danger_indices_[c]), expect)
        assert set(s.sources_[yr[n:] == c].tolist()) <= set(expect.tolist())
    u = _check_on_segments(X, Xr[n:], s.sources_, s.neighbors_)
    other = y[s.neighbors_] != yr[n:]
    assert other.any() and (~other).any()
    assert (u[other] < 0.5 + 1e-6).all()  # towards another class: step U[0, 0.5)
    assert u[~other].max() > 0.5


def test_adasyn_weights_hard_samples():
    X, y = _data(n=(200, 60), d=2)
    s = ADASYN(n_neighbors=5, random_state=0)
    Xr, yr = s.fit_resample(X, y)
    n = len(X)
    assert abs((yr == 1).sum() - 200) <= 60 // 2  # rounding of per-sample counts
    _check_on_segments(X, Xr[n:], s.sources_, s.neighbors_)
    # samples with more majority neighbours get more synthetic samples
    _, nn = NearestNeighbors(n_neighbors=5).fit(X.astype(np.float64)).kneighbors()
    idx_c = np.flatnonzero(y == 1)
    ratio = (y[nn[idx_c]] != 1).sum(1) / 5
    got = np.bincount(s.sources_, minlength=n)[idx_c]
    np.testing.assert_array_equal(got, np.rint(ratio / ratio.sum() * 140).astype(int))


def test_random_oversampler_indices_and_shrinkage():
    X, y = _data(d=4)
    s = RandomOverSampler(random_state=0)
    Xr, yr = s.fit_resample(X, y)
    np.testing.assert_array_equal(Xr, X[s.sample_indices_])
    np.testing.assert_array_equal(yr, y[s.sample_indices_])
    s = RandomOverSampler(shrinkage={1: 1.0, 2: 0.0}, random_state=0)
    Xr, yr = s.fit_resample(X, y)
    n = len(X)
    noise = Xr[n:] - X[s.sources_]
    np.testing.assert_array_equal(noise[yr[n:] == 2], 0)
    h = (4 / ((4 + 2) * n)) ** (1 / (4 + 4))
    expect = h * X[y == 1].std(0)
    np.testing.assert_allclose(noise[yr[n:] == 1].std(0), expect, rtol=0.35)
    with pytest.raises(ValueError, match="RandomOverSampler: shrinkage"):
        RandomOverSampler(shrinkage={1: 1.0}).fit_resample(X, y)
    with pytest.raises(ValueError, match="RandomOverSampler: shrinkage"):
        RandomOverSampler(shrinkage=-1.0).fit_resample(X, y)


def test_images_like_rows_float64_and_nothing_to_do():
    X, y = _data()
    X64 = X.astype(np.float64)
    Xr, yr = SMOTE(sampling_strategy={0: 120, 1: 30, 2: 18}).fit_resample(X64, y)
    assert Xr.dtype == np.float64 and len(Xr) == len(X)
    assert len(SMOTE().fit(X64, y).sampling_strategy_) == 2


@pytest.mark.parametrize(
    "X, y, err, match",
    [
        (np.array([[0.0, np.nan]] * 10), np.array([0, 1] * 5), ValueError, "NaN or inf"),
        (np.array([[0.0, np.inf]] * 10), np.array([0, 1] * 5), ValueError, "NaN or inf"),
        (np.zeros((10, 2)), np.zeros(10, int), ValueError, "at least 2 classes"),
        (np.zeros((10, 2)), np.array([0, 1] * 4), ValueError, "same length"),
        (np.zeros((10, 2)), np.array([0.5, 1.0] * 5), ValueError, "integer class labels"),
        (np.zeros(10), np.array([0, 1] * 5), ValueError, "2-D"),
        (np.zeros((10, 2), dtype=np.int64), np.array([0, 1] * 5), TypeError, "floating"),
        (torch.zeros(10, 2), torch.tensor([0.5, 1.0] * 5), ValueError, "integer class labels"),
        (torch.zeros(10, 2), torch.tensor([[0, 1], [1, 1]] * 5), ValueError, "multilabel"),
        (torch.full((10, 2), float("nan")), torch.tensor([0, 1] * 5), ValueError, "NaN or inf"),
    ],
)
@pytest.mark.parametrize("cls", [SMOTE, BorderlineSMOTE, ADASYN, RandomOverSampler])
def test_bad_inputs(cls, X, y, err, match):
    # RandomOverSampler copies rows of any X (imblearn semantics); with shrinkage it computes on them
    s = cls(shrinkage=0.5) if cls is RandomOverSampler else cls()
    with pytest.raises(err, match=f"{cls.__name__}: .*{match}"):
        s.fit_resample(X, y)


def test_random_oversampler_copies_any_rows():
    """Without shrinkage RandomOverSampler only copies rows: strings, integers and NaN pass through."""
    X = np.array([["a", 1], ["b", 2], ["c", 3], ["d", 4], ["e", 5]], dtype=object)
    y = np.array([0, 0, 0, 1, 1])
    s = RandomOverSampler(random_state=0)
    Xr, yr = s.fit_resample(X, y)
    assert Xr.dtype == object and len(Xr) == 6 and (yr == [0, 0, 0, 1, 1, 1]).all()
    np.testing.assert_array_equal(Xr, X[s.sample_indices_])
    Xn = np.array([[np.nan, 1.0], [2.0, 3.0], [4.0, np.nan]])
    Xnr, _ = RandomOverSampler(random_state=0).fit_resample(Xn, [0, 0, 1])
    assert np.isnan(Xnr).sum() == 3 and Xnr.shape == (4, 2)
    Xi, _ = RandomOverSampler(random_state=0).fit_resample(torch.arange(10).view(5, 2), torch.tensor(y))
    assert Xi.dtype == torch.int64 and Xi.shape == (6, 2)
    with pytest.raises(TypeError, match="RandomOverSampler: X must hold real values"):
        RandomOverSampler().fit_resample(np.ones((5, 2), np.complex64), y)


def test_small_class_and_bad_parameters():
    X, y = _data(n=(40, 5), d=2)
    with pytest.raises(ValueError, match=r"SMOTE: k_neighbors=5 needs more than 5 samples .* class 1 has 5"):
        SMOTE().fit_resample(X, y)
    SMOTE(k_neighbors=4).fit_resample(X, y)
    with pytest.raises(ValueError, match="ADASYN: n_neighbors=5 needs more than 5"):
        ADASYN().fit_resample(X, y)
    with pytest.raises(ValueError, match="SMOTE: k_neighbors"):
        SMOTE(k_neighbors=0).fit_resample(X, y)
    with pytest.raises(TypeError, match="SMOTE: k_neighbors"):
        SMOTE(k_neighbors=2.5).fit_resample(X, y)
    with pytest.raises(ValueError, match="BorderlineSMOTE: kind"):
        BorderlineSMOTE(kind="borderline-3").fit_resample(X, y)
    with pytest.raises(TypeError, match="SMOTE: random_state"):
        SMOTE(random_state=np.random.RandomState(0)).fit_resample(X, y)
    with pytest.raises(ValueError, match="SMOTE: sampling_strategy"):
        SMOTE(sampling_strategy="majority").fit_resample(X, y)
    with pytest.raises(ValueError, match="SMOTE: sampling_strategy"):
        SMOTE(sampling_strategy={0: 10}).fit_resample(X, y)
    with pytest.raises(ValueError, match="SMOTE: sampling_strategy"):
        SMOTE(sampling_strategy={7: 10}).fit_resample(X, y)
    with pytest.raises(ValueError, match="SMOTE: sampling_strategy"):
        SMOTE(sampling_strategy=1.5).fit_resample(X, y)
    X3, y3 = _data()
    with pytest.raises(ValueError, match="SMOTE: sampling_strategy can be a float only for binary"):
        SMOTE(sampling_strategy=0.5).fit_resample(X3, y3)
    with pytest.raises(ValueError, match="ADASYN: no sample of class 1"):
        ADASYN(n_neighbors=3).fit_resample(*_data(n=(40, 10), d=2, overlap=False))
