"""Under-samplers, cleaners, SVMSMOTE/KMeansSMOTE and combined samplers without imbalanced-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchaug.resampling import (
    SMOTEENN,
    SVMSMOTE,
    AllKNN,
    ClusterCentroids,
    CondensedNearestNeighbour,
    EditedNearestNeighbours,
    InstanceHardnessThreshold,
    KMeansSMOTE,
    NearMiss,
    NeighbourhoodCleaningRule,
    OneSidedSelection,
    RandomUnderSampler,
    RepeatedEditedNearestNeighbours,
    SMOTETomek,
    TomekLinks,
)
from torchaug.resampling.under_sampling import _farthest_distance_sums


def _data(n=(120, 40, 25), d=3, gap=0.9, seed=0, shuffle=True, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(i * gap, 1.0, (m, d)) for i, m in enumerate(n)]).astype(dtype)
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    if shuffle:
        p = rng.permutation(len(y))
        X, y = X[p], y[p]
    return X, y


def _small_forest():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=5, random_state=0)


def _kmeans():
    from sklearn.cluster import KMeans

    return KMeans(n_init=1, random_state=0)


FACTORIES = {
    "RandomUnderSampler": lambda: RandomUnderSampler(random_state=0),
    "NearMiss1": lambda: NearMiss(version=1),
    "NearMiss2": lambda: NearMiss(version=2),
    "NearMiss3": lambda: NearMiss(version=3),
    "TomekLinks": lambda: TomekLinks(),
    "ENN": lambda: EditedNearestNeighbours(kind_sel="mode"),
    "RENN": lambda: RepeatedEditedNearestNeighbours(),
    "AllKNN": lambda: AllKNN(),
    "NCR": lambda: NeighbourhoodCleaningRule(),
    "CNN": lambda: CondensedNearestNeighbour(random_state=0),
    "OSS": lambda: OneSidedSelection(random_state=0, n_seeds_S=3),
    "IHT": lambda: InstanceHardnessThreshold(estimator=_small_forest(), cv=3, random_state=0),
    "ClusterCentroids": lambda: ClusterCentroids(estimator=_kmeans()),
    "SVMSMOTE": lambda: SVMSMOTE(random_state=0),
    "KMeansSMOTE": lambda: KMeansSMOTE(kmeans_estimator=3, cluster_balance_threshold=0.05, random_state=0),
    "SMOTEENN": lambda: SMOTEENN(random_state=0),
    "SMOTETomek": lambda: SMOTETomek(random_state=0),
}
SELECTORS = [n for n in FACTORIES if n not in ("ClusterCentroids", "SVMSMOTE", "KMeansSMOTE", "SMOTEENN", "SMOTETomek")]


@pytest.mark.parametrize("name", list(FACTORIES))
def test_tensor_in_tensor_out_equals_numpy_path(name):
    import warnings

    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NearMiss-3 may keep fewer than asked
        Xn, yn = FACTORIES[name]().fit_resample(X, y)
        s = FACTORIES[name]()
        Xt, yt = s.fit_resample(torch.from_numpy(X), torch.from_numpy(y))
    assert isinstance(Xt, torch.Tensor) and isinstance(yt, torch.Tensor)
    assert Xt.dtype == torch.float64 and yt.dtype == torch.int64
    np.testing.assert_array_equal(Xt.numpy(), Xn)
    np.testing.assert_array_equal(yt.numpy(), yn)
    if name in SELECTORS:
        assert isinstance(s.sample_indices_, torch.Tensor)
        torch.testing.assert_close(Xt, torch.from_numpy(X)[s.sample_indices_], rtol=0, atol=0)


@pytest.mark.parametrize("name", SELECTORS)
def test_selection_keeps_float32_and_labels(name):
    import warnings

    X, y = _data(dtype=np.float32)
    s = FACTORIES[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xr, yr = s.fit_resample(X, np.where(y == 0, "a", np.where(y == 1, "b", "c")))
    assert Xr.dtype == np.float32 and yr.dtype.kind == "U"
    np.testing.assert_array_equal(Xr, X[s.sample_indices_])
    assert len(yr) <= len(y) and "c" in set(yr.tolist())  # the minority class is never removed


def test_random_under_sampler_seeds_and_generator():
    X, y = _data()
    a = RandomUnderSampler(random_state=3).fit_resample(X, y)[1]
    s1, s2 = RandomUnderSampler(random_state=3), RandomUnderSampler(random_state=4)
    s1.fit_resample(X, y)
    s2.fit_resample(X, y)
    assert np.bincount(a).tolist() == [25, 25, 25]
    assert not np.array_equal(s1.sample_indices_, s2.sample_indices_)
    g = torch.Generator().manual_seed(3)
    s3 = RandomUnderSampler(random_state=g)
    s3.fit_resample(X, y)
    np.testing.assert_array_equal(s3.sample_indices_, s1.sample_indices_)
    s4 = RandomUnderSampler(sampling_strategy=0.5, replacement=True, random_state=0)
    _, yb = s4.fit_resample(*_data((90, 20), shuffle=False))
    assert np.bincount(yb).tolist() == [40, 20]


def _hart_reference(X, y, seeds, code, minority, k):
    """Plain one-pass CNN (Hart 1968) with brute-force kNN votes, for the targeted class ``code``."""
    idx_c = np.flatnonzero(y == code)
    store = list(np.flatnonzero(y == minority)) + list(idx_c[seeds])
    added = []
    for pos, i in enumerate(idx_c):
        if pos in set(seeds.tolist()) or pos in added:
            continue
        d = np.linalg.norm(X[store] - X[i], axis=1)
        order = np.argsort(d, kind="stable")[:k]
        votes = np.bincount(y[np.array(store)[order]], minlength=y.max() + 1)
        if votes.argmax() != code:
            added.append(pos)
            store.append(i)
    return np.concatenate([idx_c[seeds], idx_c[np.array(added, dtype=int)]])


@pytest.mark.parametrize("k", [1, 3])
def test_condensed_nearest_neighbour_equals_a_plain_hart_pass(k):
    X, y = _data((150, 30), d=2, gap=1.0, seed=2, shuffle=True)
    s = CondensedNearestNeighbour(n_neighbors=None if k == 1 else k, n_seeds_S=2)
    seeds = np.array([5, 77])
    s._draw_seeds = lambda n_class, g, device: torch.as_tensor(seeds, device=device)
    s.fit_resample(X, y)
    ref = _hart_reference(X, y, seeds, code=0, minority=1, k=k)
    np.testing.assert_array_equal(s.sample_indices_[: len(ref)], ref)
    np.testing.assert_array_equal(s.sample_indices_[len(ref):], np.flatnonzero(y == 1))


def test_condensed_same_seed_same_result():
    X, y = _data()
    a = CondensedNearestNeighbour(random_state=7)
    b = CondensedNearestNeighbour(random_state=7)
    a.fit_resample(X, y)
    b.fit_resample(X, y)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)


def test_farthest_distance_sums_equal_brute_force():
    g = torch.Generator().manual_seed(0)
    Q, R = torch.randn(70, 5, generator=g, dtype=torch.float64), torch.randn(33, 5, generator=g, dtype=torch.float64) + 3
    D = torch.cdist(Q, R, compute_mode="donot_use_mm_for_euclid_dist")
    want = D.topk(4, dim=1).values.sum(1)
    torch.testing.assert_close(_farthest_distance_sums(Q, R, 4, memory_budget=4096), want)


def test_tomek_duplicates_of_different_classes_form_a_link():
    # tie rule: a duplicate (distance 0) of another class is the nearest neighbour, by index
    X = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.1, 5.0], [9.0, 9.0], [9.0, 9.3]])
    y = np.array([0, 1, 0, 0, 0, 0])
    s = TomekLinks()
    s.fit_resample(X, y)
    np.testing.assert_array_equal(s.sample_indices_, [1, 2, 3, 4, 5])
    s = TomekLinks(sampling_strategy="all")
    s.fit_resample(X, y)
    np.testing.assert_array_equal(s.sample_indices_, [2, 3, 4, 5])


def test_renn_and_allknn_report_and_stop():
    X, y = _data(gap=0.5)
    r = RepeatedEditedNearestNeighbours(max_iter=50)
    Xr, yr = r.fit_resample(X, y)
    assert 1 <= r.n_iter_ <= 50
    np.testing.assert_array_equal(Xr, X[r.sample_indices_])
    # RENN removes at least what one ENN pass removes
    e = EditedNearestNeighbours()
    e.fit_resample(X, y)
    assert set(r.sample_indices_.tolist()) <= set(e.sample_indices_.tolist())
    a = AllKNN(n_neighbors=6, allow_minority=True)
    Xa, ya = a.fit_resample(X, y)
    np.testing.assert_array_equal(Xa, X[a.sample_indices_])
    # with allow_minority the passes go on although 'auto' re-targets the classes left each pass
    assert len(ya) < len(y) and 1 <= a.n_iter_ <= 6


def test_renn_converged_first_pass_indices_match_the_output():
    # well separated classes in shuffled order: nothing is removed, the output is grouped by class
    X, y = _data(gap=12.0, shuffle=True)
    r = RepeatedEditedNearestNeighbours()
    Xr, yr = r.fit_resample(X, y)
    assert r.n_iter_ == 1 and len(yr) == len(y)
    np.testing.assert_array_equal(Xr, X[r.sample_indices_])
    assert (np.diff(yr) >= 0).all()


def test_ncr_with_a_given_enn_and_classes_to_clean():
    X, y = _data()
    a = NeighbourhoodCleaningRule()
    a.fit_resample(X, y)
    b = NeighbourhoodCleaningRule(edited_nearest_neighbours=EditedNearestNeighbours(kind_sel="mode"))
    b.fit_resample(X, y)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    assert a.classes_to_clean_ == [0, 1]
    c = NeighbourhoodCleaningRule(threshold_cleaning=3.0)
    c.fit_resample(X, y)
    assert c.classes_to_clean_ == [0]


def test_nearmiss_bad_neighbour_counts_name_the_argument():
    X, y = _data((40, 10, 2))
    with pytest.raises(ValueError, match="NearMiss: n_neighbors=3"):
        NearMiss().fit_resample(X, y)
    with pytest.raises(ValueError, match="n_neighbors_ver3"):
        NearMiss(version=3, n_neighbors=1, n_neighbors_ver3=50).fit_resample(X, y)


def test_cleaning_strategies_are_refused_where_imblearn_refuses_them():
    X, y = _data()
    with pytest.raises(ValueError, match="TomekLinks: sampling_strategy cannot be a dict"):
        TomekLinks(sampling_strategy={0: 10}).fit_resample(X, y)
    with pytest.raises(ValueError, match="list only for cleaning"):
        RandomUnderSampler(sampling_strategy=[0]).fit_resample(X, y)
    with pytest.raises(ValueError, match="'minority' cannot"):
        RandomUnderSampler(sampling_strategy="minority").fit_resample(X, y)
    with pytest.raises(ValueError, match="at most the current number"):
        RandomUnderSampler(sampling_strategy={0: 500}).fit_resample(X, y)


def test_svmsmote_all_noise_raises():
    rng = np.random.default_rng(0)
    # three isolated minority points inside a dense majority: every neighbour is of the other class
    X = np.concatenate([rng.normal(0, 1, (400, 2)), [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]])
    y = np.array([0] * 400 + [1] * 3)
    with pytest.raises(ValueError, match="SVMSMOTE: .*noise"):
        SVMSMOTE(k_neighbors=2, m_neighbors=30, random_state=0).fit_resample(X, y)


def test_kmeans_smote_no_usable_cluster_raises():
    X, y = _data((100, 12), shuffle=False)
    with pytest.raises(ValueError, match="KMeansSMOTE: no cluster"):
        KMeansSMOTE(kmeans_estimator=3, cluster_balance_threshold=0.9, random_state=0).fit_resample(X, y)


def test_combined_errors_name_the_combined_sampler():
    X, y = _data()
    with pytest.raises(ValueError, match="SMOTEENN: SMOTE: sampling_strategy"):
        SMOTEENN(sampling_strategy="nosuch").fit_resample(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", SELECTORS)
def test_selections_on_cuda_equal_cpu(name):
    import warnings

    X, y = _data()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_cpu = FACTORIES[name]()
        s_cpu.fit_resample(Xt, yt)
        s_gpu = FACTORIES[name]()
        Xg, yg = s_gpu.fit_resample(Xt.cuda(), yt.cuda())
    assert Xg.is_cuda and yg.is_cuda and s_gpu.sample_indices_.is_cuda
    if name not in ("RandomUnderSampler", "CNN", "OSS"):  # these draw from the device's generator
        torch.testing.assert_close(s_gpu.sample_indices_.cpu(), s_cpu.sample_indices_)


def test_resample_images_with_under_samplers_and_combined():
    from torchaug.resampling import resample_images

    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0] * 40 + [1] * 12)
    imgs = (torch.rand(52, 1, 4, 4, generator=g) * 120 + 60 * y.view(-1, 1, 1, 1)).round().to(torch.uint8)
    s = TomekLinks(sampling_strategy="all")
    out, lab = resample_images(s, imgs, y)
    torch.testing.assert_close(out, imgs[s.sample_indices_], rtol=0, atol=0)
    torch.testing.assert_close(lab, y[s.sample_indices_])
    c = SMOTEENN(random_state=0)
    out, lab = resample_images(c, imgs, y)
    pos = c.enn_.sample_indices_
    orig = pos < 52
    assert out.dtype == torch.uint8 and len(out) == len(lab) == len(pos)
    torch.testing.assert_close(out[orig], imgs[pos[orig]], rtol=0, atol=0)
    assert (~orig).any() and (lab[~orig] == 1).all()


CONFIGS = {
    "random_undersampler": "RandomUnderSampler", "tomek_links": "TomekLinks", "enn": "EditedNearestNeighbours",
    "renn": "RepeatedEditedNearestNeighbours", "allknn": "AllKNN", "nearmiss": "NearMiss",
    "condensed_nn": "CondensedNearestNeighbour", "one_sided_selection": "OneSidedSelection",
    "ncr": "NeighbourhoodCleaningRule", "instance_hardness": "InstanceHardnessThreshold",
    "cluster_centroids": "ClusterCentroids", "svm_smote": "SVMSMOTE", "kmeans_smote": "KMeansSMOTE",
    "smote_enn": "SMOTEENN", "smote_tomek": "SMOTETomek",
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_config_entries_instantiate_and_resample(name):
    from pathlib import Path

    hydra_utils = pytest.importorskip("hydra.utils")
    from omegaconf import OmegaConf

    path = Path(__file__).resolve().parents[2] / "configs" / "resampler" / f"{name}.yaml"
    assert path.read_text().startswith("#") and f"resampler={name}" in path.read_text().splitlines()[0]
    cfg = OmegaConf.merge({"seed": 3}, {"resampler": OmegaConf.load(path)})
    if name == "instance_hardness":
        cfg.resampler.cv = 3
    obj = hydra_utils.instantiate(cfg.resampler)
    assert type(obj).__name__ == CONFIGS[name]
    if "random_state" in obj.get_params():
        assert obj.random_state == 3
    X, y = _data((60, 30), d=2, gap=1.0)
    if name == "kmeans_smote":
        obj.set_params(kmeans_estimator=2, cluster_balance_threshold=0.1)
    Xr, yr = obj.fit_resample(torch.from_numpy(X).float(), torch.from_numpy(y))
    assert isinstance(Xr, torch.Tensor) and len(Xr) == len(yr) and set(yr.tolist()) == {0, 1}
