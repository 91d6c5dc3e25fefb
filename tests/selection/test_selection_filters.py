"""Behaviour of the synthetic-sample selectors on constructed data with a known share of bad points."""

import logging

import numpy as np
import pytest
import torch

from torchaug.registry import registered
from torchaug.resampling import SMOTE
from torchaug.selection import ConfidenceFilter, DistanceFilter, PUFilter, filter_resampled, select_synthetic


def make_data(seed: int = 0):
    """Two real classes (0 at the origin, 1 at (6, 0), 4-D); 200 synthetic class-0 points of which 40 are
    bad: 14 far noise, 13 inside class 1, 13 near the boundary on class 1's side."""
    g = torch.Generator().manual_seed(seed)
    d = 4
    c1 = torch.zeros(d, dtype=torch.float64)
    c1[0] = 6.0
    X0 = torch.randn(100, d, generator=g, dtype=torch.float64)
    X1 = torch.randn(100, d, generator=g, dtype=torch.float64) + c1
    good = torch.randn(160, d, generator=g, dtype=torch.float64) * 0.9
    far = torch.randn(14, d, generator=g, dtype=torch.float64)
    far[:, 1] += 15.0
    inside = torch.randn(13, d, generator=g, dtype=torch.float64) * 0.5 + c1
    bound = torch.randn(13, d, generator=g, dtype=torch.float64) * 0.3 + 0.75 * c1
    Xr = torch.cat([X0, X1])
    yr = torch.cat([torch.zeros(100), torch.ones(100)]).long()
    Xs = torch.cat([good, far, inside, bound])
    ys = torch.zeros(200, dtype=torch.long)
    bad = torch.arange(200) >= 160
    kinds = torch.cat([torch.zeros(160), torch.full((14,), 1), torch.full((13,), 2), torch.full((13,), 3)]).long()
    return Xr, yr, Xs, ys, bad, kinds


def removal_stats(keep, n: int, bad: torch.Tensor):
    kept = torch.zeros(n, dtype=torch.bool)
    kept[torch.as_tensor(keep)] = True
    removed = ~kept
    tp = (removed & bad).sum().item()
    precision = tp / max(removed.sum().item(), 1)
    recall = tp / bad.sum().item()
    keep_good = (kept & ~bad).sum().item() / (~bad).sum().item()
    return precision, recall, keep_good


@pytest.mark.parametrize("classifier", ["quadratic", "logreg"])
def test_pu_filter_removal_precision_and_recall(classifier):
    Xr, yr, Xs, ys, bad, _ = make_data()
    f = PUFilter(classifier=classifier, random_state=0)
    keep = f.fit(Xr, yr).select(Xs, ys)
    precision, recall, keep_good = removal_stats(keep, len(ys), bad)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    assert keep_good >= 0.9
    assert f.scores_.shape == (200,) and float(f.scores_.min()) >= 0 and float(f.scores_.max()) <= 1
    assert 0 < f.c_[0] < 1
    assert f.per_class_ == {0: (len(keep), 200)}


def test_pu_filter_mlp_removes_bad_points():
    Xr, yr, Xs, ys, bad, _ = make_data(1)
    keep = PUFilter(classifier="mlp", random_state=0).fit(Xr, yr).select(Xs, ys)
    precision, recall, keep_good = removal_stats(keep, len(ys), bad)
    assert recall >= 0.9 and precision >= 0.8 and keep_good >= 0.9, (precision, recall, keep_good)


@pytest.mark.parametrize("classifier", ["logreg", "mlp"])
def test_confidence_filter_removes_points_of_the_other_class(classifier):
    Xr, yr, Xs, ys, bad, kinds = make_data()
    f = ConfidenceFilter(classifier=classifier, tau=0.5, random_state=0)
    keep = f.fit(Xr, yr).select(Xs, ys)
    kept = torch.zeros(200, dtype=torch.bool)
    kept[keep] = True
    # a classifier of the real classes sees points inside / past the boundary of class 1 as class 1 ...
    assert (~kept[kinds == 2]).all()
    assert (~kept[kinds == 3]).float().mean() >= 0.9
    assert kept[~bad].float().mean() >= 0.95
    # ... but it cannot see far noise on class 0's side (documented limit of this filter)
    assert kept[kinds == 1].float().mean() >= 0.5


def test_confidence_filter_drops_near_duplicates():
    Xr, yr, Xs, ys, _, _ = make_data()
    dup = Xr[:10] + 1e-4
    X = torch.cat([Xs[:20], dup])
    y = torch.zeros(30, dtype=torch.long)
    f = ConfidenceFilter(drop_duplicates_within=0.01, random_state=0).fit(Xr, yr)
    keep = f.select(X, y)
    assert not (keep >= 20).any()
    assert (f.scores_[20:] == 0).all()
    keep_all = ConfidenceFilter(random_state=0).fit(Xr, yr).select(X, y)
    assert (keep_all >= 20).sum() == 10


def test_distance_filter_removes_far_and_other_class_points():
    Xr, yr, Xs, ys, bad, kinds = make_data()
    keep = DistanceFilter(k=5, quantile=0.95).fit(Xr, yr).select(Xs, ys)
    precision, recall, keep_good = removal_stats(keep, len(ys), bad)
    assert recall >= 0.9 and keep_good >= 0.8, (precision, recall, keep_good)


def test_per_class_behaviour():
    """Each class is judged against its own real samples: a point good for class 1 is bad for class 0."""
    Xr, yr, _, _, _, _ = make_data()
    g = torch.Generator().manual_seed(3)
    c1 = torch.tensor([6.0, 0, 0, 0], dtype=torch.float64)
    pts0 = torch.randn(30, 4, generator=g, dtype=torch.float64) * 0.8
    pts1 = torch.randn(30, 4, generator=g, dtype=torch.float64) * 0.8 + c1
    X = torch.cat([pts0, pts1, pts0, pts1])
    y = torch.cat([torch.zeros(30), torch.ones(30), torch.ones(30), torch.zeros(30)]).long()
    good = torch.arange(120) < 60
    for f in (PUFilter(random_state=0), ConfidenceFilter(random_state=0), DistanceFilter()):
        keep = f.fit(Xr, yr).select(X, y)
        kept = torch.zeros(120, dtype=torch.bool)
        kept[keep] = True
        assert kept[good].float().mean() >= 0.85, type(f).__name__
        assert (~kept[~good]).float().mean() >= 0.95, type(f).__name__
        assert set(f.per_class_) == {0, 1} and sum(t for _, t in f.per_class_.values()) == 120


def test_keep_fraction_keeps_best_share_per_class():
    Xr, yr, Xs, ys, bad, _ = make_data()
    f = PUFilter(keep_fraction=0.8, random_state=0).fit(Xr, yr)
    keep = f.select(Xs, ys)
    assert len(keep) == 160
    assert bad[keep].float().mean() <= 0.05
    assert float(f.scores_[keep].min()) >= float(np.delete(f.scores_.numpy(), keep.numpy()).max())


def test_reproducible_with_random_state():
    Xr, yr, Xs, ys, _, _ = make_data()
    for cls, kw in ((PUFilter, {}), (PUFilter, {"classifier": "mlp", "epochs": 50}), (ConfidenceFilter, {"classifier": "mlp", "epochs": 50})):
        a = cls(random_state=5, **kw).fit(Xr, yr)
        ka = a.select(Xs, ys)
        b = cls(random_state=5, **kw).fit(Xr, yr)
        kb = b.select(Xs, ys)
        assert torch.equal(ka, kb) and torch.equal(a.scores_, b.scores_)
    c = PUFilter(random_state=6).fit(Xr, yr)
    c.select(Xs, ys)
    d = PUFilter(random_state=5).fit(Xr, yr)
    d.select(Xs, ys)
    assert not torch.equal(c.scores_, d.scores_)  # the seed drives the cross-fitting folds


def test_numpy_in_numpy_out_and_torch_in_torch_out():
    Xr, yr, Xs, ys, _, _ = make_data()
    f = DistanceFilter()
    k_np = f.fit(Xr.numpy(), yr.numpy()).select(Xs.numpy(), ys.numpy())
    assert isinstance(k_np, np.ndarray) and isinstance(f.scores_, np.ndarray)
    k_t = f.fit(Xr.float(), yr).select(Xs.float(), ys)
    assert isinstance(k_t, torch.Tensor) and k_t.dtype == torch.long
    assert np.array_equal(k_np, k_t.numpy())


def test_bad_inputs_give_clear_errors():
    Xr, yr, Xs, ys, _, _ = make_data()
    with pytest.raises(ValueError, match="threshold"):
        PUFilter(threshold=1.5)
    with pytest.raises(ValueError, match="tau"):
        ConfidenceFilter(tau=-0.1)
    with pytest.raises(ValueError, match="quantile"):
        DistanceFilter(quantile=2)
    with pytest.raises(TypeError, match="threshold"):
        PUFilter(threshold="high")
    with pytest.raises(ValueError, match="classifier"):
        PUFilter(classifier="svm")
    with pytest.raises(ValueError, match="keep_fraction"):
        PUFilter(keep_fraction=0.0)
    for f in (PUFilter(random_state=0), ConfidenceFilter(), DistanceFilter()):
        f.fit(Xr, yr)
        with pytest.raises(ValueError, match="X_syn must have 4 features"):
            f.select(Xs[:, :3], ys)
        with pytest.raises(ValueError, match=r"y_syn has classes \[7\] with no real samples"):
            f.select(Xs[:5], torch.full((5,), 7))
        with pytest.raises(ValueError, match="y_syn must have shape"):
            f.select(Xs[:5], ys[:4])
    with pytest.raises(RuntimeError, match="fit"):
        PUFilter().select(Xs, ys)
    with pytest.raises(ValueError, match="at least 2 real samples"):
        PUFilter().fit(Xr[:101], yr[:101])
    with pytest.raises(TypeError, match="y_real"):
        DistanceFilter().fit(Xr, yr.double())
    with pytest.raises(ValueError, match="finite"):
        DistanceFilter().fit(Xr * float("nan"), yr)


def test_select_synthetic_and_filter_resampled(caplog):
    Xr, yr, Xs, ys, bad, _ = make_data()
    with caplog.at_level(logging.INFO, logger="torchaug.selection"):
        keep, scores, per = select_synthetic(PUFilter(random_state=0), Xr, yr, Xs, ys)
    assert per == {0: (len(keep), 200)}
    assert "PUFilter kept" in caplog.text and f"0: {len(keep)}/200" in caplog.text
    keep_none, scores_none, per_none = select_synthetic(None, Xr, yr, Xs, ys)
    assert len(keep_none) == 200 and per_none == {0: (200, 200)}

    # imbalanced: class 1 has 20 real samples plus 3 far outliers that SMOTE interpolates towards
    X = torch.cat([Xr[:100], Xr[100:120], Xr[100:103] + torch.tensor([0, 30.0, 0, 0], dtype=torch.float64)])
    y = torch.cat([torch.zeros(100), torch.ones(23)]).long()
    sampler = SMOTE(k_neighbors=5, random_state=0)
    X_all, y_all = sampler.fit_resample(X, y)
    with caplog.at_level(logging.INFO, logger="torchaug.selection"):
        X_f, y_f = filter_resampled(DistanceFilter(quantile=0.5), SMOTE(k_neighbors=5, random_state=0), X, y)
    assert torch.equal(X_f[:123], X) and torch.equal(y_f[:123], y)
    assert 123 < len(X_f) < len(X_all)
    assert "DistanceFilter kept" in caplog.text
    Xn, yn = filter_resampled(DistanceFilter(quantile=0.5), SMOTE(k_neighbors=5, random_state=0), X.numpy(), y.numpy())
    assert isinstance(Xn, np.ndarray) and np.array_equal(Xn, X_f.numpy())
    X_same, _ = filter_resampled(None, SMOTE(k_neighbors=5, random_state=0), X, y)
    assert torch.equal(X_same, X_all)


def test_registered_selector_examples_follow_the_api():
    entries = registered("selector")
    assert {e.name for e in entries} >= {"PUFilter", "ConfidenceFilter", "DistanceFilter"}
    Xr, yr, Xs, ys, _, _ = make_data()
    for e in entries:
        s = e.example()
        keep = s.fit(Xr, yr).select(Xs[:50], ys[:50])
        assert keep.dtype == torch.long and keep.ndim == 1
        assert bool((keep[1:] > keep[:-1]).all())
        assert s.scores_.shape == (50,)
        assert e.name in repr(s)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_filters_run_on_cuda():
    Xr, yr, Xs, ys, bad, _ = make_data()
    dev = torch.device("cuda")
    for f in (PUFilter(classifier="mlp", random_state=0), ConfidenceFilter(classifier="mlp", random_state=0), DistanceFilter()):
        keep = f.fit(Xr.to(dev), yr.to(dev)).select(Xs.to(dev), ys.to(dev))
        assert keep.device.type == "cuda" and f.scores_.device.type == "cuda"
        _, recall, _ = removal_stats(keep.cpu(), len(ys), bad)
        assert recall >= 0.6
