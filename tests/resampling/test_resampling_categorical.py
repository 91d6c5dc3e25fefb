"""SMOTENC and SMOTEN: the paper's / imbalanced-learn's rules, containers, devices, and parity with imblearn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.neighbors import NearestNeighbors

from torchaug.resampling import SMOTEN, SMOTENC

pd = pytest.importorskip("pandas")


def _mixed(n=(150, 40), seed=0):
    """Two continuous columns, a string category and an integer category, class-dependent."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    N = len(y)
    cont = rng.normal(0, 1, (N, 2)) + y[:, None] * 1.5
    colour = np.where(rng.random(N) < 0.3 + 0.4 * y, "red", np.where(rng.random(N) < 0.5, "green", "blue"))
    size = rng.integers(0, 4, N) + y
    X = np.empty((N, 4), dtype=object)
    X[:, 0], X[:, 1], X[:, 2], X[:, 3] = cont[:, 0], colour, cont[:, 1], size
    return X, y


def _encoded(X, cont, cat, med):
    """imblearn's distance space for one class: continuous + one-hot * med / sqrt(2)."""
    parts = [X[:, cont].astype(np.float64)]
    for c in cat:
        vals = np.unique(X[:, c])
        parts.append((X[:, c][:, None] == vals[None, :]) * (med / np.sqrt(2)))
    return np.hstack(parts)


def test_smotenc_rules_on_object_array():
    X, y = _mixed()
    s = SMOTENC(categorical_features=[1, 3], k_neighbors=5, random_state=0)
    Xr, yr = s.fit_resample(X, y)
    n = len(X)
    assert Xr.dtype == object and np.bincount(yr).tolist() == [150, 150]
    np.testing.assert_array_equal(Xr[:n], X)
    np.testing.assert_array_equal(s.categorical_features_, [1, 3])
    np.testing.assert_array_equal(s.continuous_features_, [0, 2])
    Xc = X[y == 1]
    med = np.median(Xc[:, [0, 2]].astype(np.float64).std(0))
    assert s.median_std_[1] == pytest.approx(med, rel=1e-6)
    # neighbours: the true k nearest same-class rows in imblearn's distance space
    E = _encoded(X, [0, 2], [1, 3], med)
    idx_c = np.flatnonzero(y == 1)
    dist, nn = NearestNeighbors(n_neighbors=6).fit(E[idx_c]).kneighbors(E[idx_c])
    local = {g: i for i, g in enumerate(idx_c)}
    new = Xr[n:]
    checked = 0
    for r in range(len(new)):
        a, b = local[s.sources_[r]], local[s.neighbors_[r]]
        d_ab = np.linalg.norm(E[idx_c[a]] - E[idx_c[b]])
        assert d_ab <= dist[a, 5] + 1e-9  # within the k-th neighbour distance (ties allowed)
        # continuous part on the segment source -> neighbour
        p, q = X[idx_c[a], [0, 2]].astype(float), X[idx_c[b], [0, 2]].astype(float)
        v = q - p
        u = float(((new[r, [0, 2]].astype(float) - p) @ v) / max(v @ v, 1e-30))
        assert -1e-6 <= u <= 1 + 1e-6
        np.testing.assert_allclose(new[r, [0, 2]].astype(float), p + u * v, atol=1e-6)
        # categories: a most frequent one among the source's k neighbours (when the set is unambiguous)
        kplus1 = np.sort(np.linalg.norm(E[idx_c] - E[idx_c[a]], axis=1))[6]  # [0] is the source itself
        if dist[a, 5] + 1e-9 < kplus1:
            hood = idx_c[nn[a, 1:]]
            for c in (1, 3):
                vals, cnt = np.unique(X[hood, c], return_counts=True)
                assert new[r, c] in set(vals[cnt == cnt.max()].tolist())
                checked += 1
    assert checked > 100


def test_smotenc_vote_ties_are_random_and_reproducible():
    X, y = _mixed()
    a = SMOTENC(categorical_features=[1, 3], random_state=3).fit_resample(X, y)[0]
    b = SMOTENC(categorical_features=[1, 3], random_state=3).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)


def test_smotenc_dataframe_auto_names_mask_and_dtypes():
    X, y = _mixed()
    df = pd.DataFrame({"x0": X[:, 0].astype(np.float32), "colour": pd.Categorical(X[:, 1]),
                       "x2": X[:, 2].astype(np.float64), "size": X[:, 3].astype(np.int64)})
    df["size"] = df["size"].astype("category")
    Xr, yr = SMOTENC(random_state=0).fit_resample(df, pd.Series(y, name="t"))  # 'auto': category columns
    assert list(Xr.dtypes.astype(str)) == ["float32", "category", "float64", "category"]
    assert set(Xr["colour"].cat.categories) == {"red", "green", "blue"}
    by_name = SMOTENC(categorical_features=["colour", "size"], random_state=0).fit_resample(df, y)[0]
    by_mask = SMOTENC(categorical_features=[False, True, False, True], random_state=0).fit_resample(df, y)[0]
    pd.testing.assert_frame_equal(by_name, Xr)
    pd.testing.assert_frame_equal(by_mask, Xr)
    obj = df.astype({"colour": object})
    Xo, _ = SMOTENC(categorical_features=["colour", "size"], random_state=0).fit_resample(obj, y)
    assert Xo["colour"].dtype == object and set(Xo["colour"]) == {"red", "green", "blue"}
    with pytest.raises(TypeError, match="SMOTENC: the continuous columns of X .* column 'x2'"):
        SMOTENC(categorical_features=["colour", "size"]).fit_resample(df.astype({"x2": np.int64}), y)
    with pytest.raises(ValueError, match="SMOTENC: categorical_features names columns that X does not have"):
        SMOTENC(categorical_features=["nosuch"]).fit_resample(df, y)
    with pytest.raises(ValueError, match="SMOTENC: categorical_features='auto' needs a pandas DataFrame"):
        SMOTENC().fit_resample(X, y)


def test_smotenc_tensor_matches_numpy_and_stays_on_device():
    X, y = _mixed()
    Xf = np.column_stack([X[:, 0], np.unique(X[:, 1], return_inverse=True)[1], X[:, 2], X[:, 3]]).astype(np.float32)
    Xn, yn = SMOTENC(categorical_features=[1, 3], random_state=0).fit_resample(Xf, y)
    Xt, yt = SMOTENC(categorical_features=[1, 3], random_state=0).fit_resample(torch.from_numpy(Xf), torch.from_numpy(y))
    assert isinstance(Xt, torch.Tensor) and Xt.dtype == torch.float32
    np.testing.assert_array_equal(Xt.numpy(), Xn)
    np.testing.assert_array_equal(yt.numpy(), yn)
    with pytest.raises(TypeError, match="SMOTENC: the continuous columns of X"):
        SMOTENC(categorical_features=[1, 3]).fit_resample(torch.from_numpy(Xf).long(), torch.from_numpy(y))


def _cats(n=(120, 30), seed=0):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    N = len(y)
    X = np.empty((N, 3), dtype=object)
    X[:, 0] = np.array(["a", "b", "c"])[np.minimum(rng.integers(0, 3, N) + y, 2)]
    X[:, 1] = np.array(["u", "v"])[rng.integers(0, 2, N)]
    X[:, 2] = np.array(["p", "q", "r", "s"])[(rng.integers(0, 4, N) + 2 * y) % 4]
    return X, y


def test_smoten_mode_of_neighbourhood():
    X, y = _cats()
    s = SMOTEN(k_neighbors=5, random_state=0)
    Xr, yr = s.fit_resample(X, y)
    n = len(X)
    assert Xr.dtype == object and np.bincount(yr).tolist() == [120, 120]
    np.testing.assert_array_equal(Xr[:n], X)
    codes = np.column_stack([np.unique(X[:, j], return_inverse=True)[1] for j in range(3)])
    for r in range(len(Xr) - n):
        hood = np.r_[s.sources_[r], s.neighbors_[r]]
        assert (y[hood] == 1).all()
        mode = stats.mode(codes[hood], axis=0, keepdims=False).mode  # ties: the smallest category
        expect = [np.unique(X[:, j])[mode[j]] for j in range(3)]
        assert Xr[n + r].tolist() == expect


def test_smoten_dataframe_and_tensor():
    X, y = _cats()
    df = pd.DataFrame({"f0": pd.Categorical(X[:, 0]), "f1": X[:, 1], "f2": X[:, 2]})
    Xr, yr = SMOTEN(random_state=0).fit_resample(df, y)
    assert list(Xr.columns) == ["f0", "f1", "f2"] and str(Xr.dtypes["f0"]) == "category"
    Xn, _ = SMOTEN(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(Xr.astype(object).to_numpy(), Xn)
    codes = np.column_stack([np.unique(X[:, j], return_inverse=True)[1] for j in range(3)])
    Xt, yt = SMOTEN(random_state=0).fit_resample(torch.from_numpy(codes), torch.from_numpy(y))
    assert Xt.dtype == torch.int64
    np.testing.assert_array_equal(Xt.numpy(), np.column_stack(
        [np.searchsorted(np.unique(X[:, j]), Xn[:, j]) for j in range(3)]))
    with pytest.raises(ValueError, match="SMOTEN: X contains missing values"):
        Xm = X.copy()
        Xm[0, 0] = None
        SMOTEN().fit_resample(Xm, y)


# ---- against imbalanced-learn --------------------------------------------------------------------


@pytest.mark.peer
@pytest.mark.parametrize("strategy", ["auto", "all", {0: 120, 1: 90}])
def test_counts_and_median_std_match_imblearn(strategy):
    imb = pytest.importorskip("imblearn.over_sampling")
    X, y = _mixed(n=(120, 40, 30))
    ref = imb.SMOTENC(categorical_features=[1, 3], sampling_strategy=strategy, random_state=0)
    Xi, yi = ref.fit_resample(X, y)
    s = SMOTENC(categorical_features=[1, 3], sampling_strategy=strategy, random_state=0)
    Xo, yo = s.fit_resample(X, y)
    np.testing.assert_array_equal(np.bincount(yo), np.bincount(yi))
    assert set(s.median_std_) == set(ref.median_std_)
    for c, v in ref.median_std_.items():
        assert s.median_std_[c] == pytest.approx(v, rel=1e-9)
    # the same categories appear, every synthetic category is one of the column's categories
    for c in (1, 3):
        assert set(Xo[:, c].tolist()) <= set(X[:, c].tolist())
    Ei, Eo = imb.SMOTEN(sampling_strategy=strategy, random_state=0).fit_resample(X[:, [1, 3]], y)[1], \
        SMOTEN(sampling_strategy=strategy, random_state=0).fit_resample(X[:, [1, 3]], y)[1]
    np.testing.assert_array_equal(np.bincount(Eo), np.bincount(Ei))


@pytest.mark.peer
def test_vdm_and_neighbour_distances_match_imblearn():
    pytest.importorskip("imblearn")
    from imblearn.metrics.pairwise import ValueDifferenceMetric

    import torchaug.resampling.categorical as cat

    X, y = _cats()
    codes = np.column_stack([np.unique(X[:, j], return_inverse=True)[1] for j in range(3)]).astype(np.int32)
    vdm = ValueDifferenceMetric(n_categories=[3, 2, 4]).fit(codes, y)
    ct = torch.from_numpy(codes.astype(np.int64))
    tables = cat._vdm_tables(ct, torch.from_numpy(y), [3, 2, 4], 2)
    idx_c = np.flatnonzero(y == 1)
    ref = vdm.pairwise(codes[idx_c])
    ours = cat._vdm_matrix(ct[idx_c], tables).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    # our k nearest (self excluded) are at imblearn's k nearest distances (categorical data: many ties)
    nn = cat._vdm_neighbors(ct[idx_c], tables, 5).numpy()
    d_ref = np.sort(ref + np.diag(np.full(len(idx_c), np.inf)), 1)[:, :5]
    np.testing.assert_allclose(np.take_along_axis(ref, nn, 1), d_ref, atol=1e-12)


def test_configs_and_binned_tabular_data():
    """resampler=smotenc takes the data module's binned columns; the binned columns hold categories."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from torchaug._paths import config_dir
    from torchaug.data import TabularDataModule

    with initialize_config_dir(config_dir=str(config_dir()), version_base=None):
        cfg = compose("train", overrides=["+recipe=smotenc_tabular"])
        nc = instantiate(cfg.resampler)
        assert isinstance(nc, SMOTENC) and list(nc.categorical_features) == list(range(8))
        sn = instantiate(compose("train", overrides=["resampler=smoten"]).resampler)
        assert isinstance(sn, SMOTEN)
    dm = TabularDataModule(dataset="breast_cancer", bin_columns=[0, 1, 2], n_bins=4, class_fractions={0: 0.1},
                           resampler=SMOTENC(categorical_features=[0, 1, 2], random_state=0), seed=0)
    dm.setup("fit")
    x = dm._splits["train"].x
    for c in (0, 1, 2):  # categories 0..3 only, also in the synthetic rows
        assert set(torch.unique(x[:, c]).tolist()) <= {0.0, 1.0, 2.0, 3.0}
    assert dm.resample_stats["synthetic_samples"] > 0
    with pytest.raises(ValueError, match="TabularDataModule: n_bins must be an integer >= 2"):
        TabularDataModule(n_bins=1)
