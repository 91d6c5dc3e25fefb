"""Exact kNN: agreement with scikit-learn (float64) on float32 data, chunking, ties, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

import torchaug.resampling.neighbors as knn_mod
from torchaug.resampling import knn


def _sk(X, k, Y=None):
    nn = NearestNeighbors(n_neighbors=k).fit(np.asarray(X if Y is None else Y, dtype=np.float64))
    if Y is None:
        return nn.kneighbors()  # self excluded by index
    return nn.kneighbors(np.asarray(X, dtype=np.float64))


def _assert_same_neighbours(d, i, ds, is_, rtol=1e-6):
    """Neighbour sets equal except for true ties at the k-th distance."""
    d, i = np.asarray(d, dtype=np.float64), np.asarray(i)
    np.testing.assert_allclose(d, ds, rtol=rtol, atol=1e-6)
    for r in range(len(i)):
        a, b = set(i[r].tolist()), set(is_[r].tolist())
        if a != b:
            # a difference is allowed only among points tied with the k-th distance
            kth = ds[r, -1]
            diff_d = [dd for dd, ii in zip(d[r], i[r]) if ii not in b]
            assert all(abs(x - kth) <= 1e-6 * max(1.0, kth) for x in diff_d), (r, i[r], is_[r])


def test_matches_sklearn_float32_with_duplicates():
    rng = np.random.default_rng(0)
    X = rng.normal(3, 1, (700, 12)).astype(np.float32)
    X[100:120] = X[:20]  # exact duplicates: distance 0 neighbours, true ties
    X[300:303] = X[200]
    d, i = knn(torch.from_numpy(X), 6)
    assert d.dtype == torch.float32 and i.dtype == torch.int64 and d.shape == (700, 6)
    ds, is_ = _sk(X, 6)
    _assert_same_neighbours(d.numpy(), i.numpy(), ds, is_)
    # self excluded by index: a duplicated point has its twin at distance 0, never itself
    assert (i.numpy() != np.arange(700)[:, None]).all()
    assert 100 in i[0].tolist() and float(d[0, 0]) == 0.0
    assert {300, 301, 302} <= set(i[200].tolist())  # the copies of X[200]


def test_distances_sorted_and_exact():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (300, 5)).astype(np.float32)
    d, i = knn(X, 4)  # numpy in, numpy out
    assert isinstance(d, np.ndarray) and isinstance(i, np.ndarray)
    assert (np.diff(d, axis=1) >= 0).all()
    exact = np.sqrt(((X[:, None, :].astype(np.float64) - X[i].astype(np.float64)) ** 2).sum(-1))
    np.testing.assert_allclose(d, exact, rtol=1e-6)


@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_chunked_equals_unchunked(chunk_size):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(257, 9, generator=g)
    d0, i0 = knn(X, 5)
    d1, i1 = knn(X, 5, chunk_size=chunk_size)
    assert torch.equal(i0, i1) and torch.equal(d0, d1)
    d2, i2 = knn(X, 5, memory_budget=20_000)  # a few rows per chunk
    assert torch.equal(i0, i2) and torch.equal(d0, d2)


def test_query_against_reference_and_no_self_exclusion():
    g = torch.Generator().manual_seed(2)
    R = torch.randn(200, 6, generator=g)
    Q = torch.randn(50, 6, generator=g)
    d, i = knn(Q, 3, Y=R)
    ds, is_ = _sk(Q.numpy(), 3, Y=R.numpy())
    _assert_same_neighbours(d.numpy(), i.numpy(), ds, is_)
    d, i = knn(R, 2, exclude_self=False)
    assert torch.equal(i[:, 0], torch.arange(200)) and torch.all(d[:, 0] == 0)


def test_far_from_origin_triggers_certified_fallback(monkeypatch):
    """Tight clusters far apart: the float32 candidates cannot be certified, rows are recomputed."""
    calls = []
    orig = knn_mod._recompute

    def spy(*args, **kwargs):
        calls.append(args[4].numel())
        return orig(*args, **kwargs)

    monkeypatch.setattr(knn_mod, "_recompute", spy)
    rng = np.random.default_rng(3)
    # 20 tight clusters of 20 (spread 1e-2) spread over 1e3: float32 scores cannot order within a cluster
    centres = rng.normal(0, 1e3, (20, 8))
    X = (np.repeat(centres, 20, axis=0) + rng.normal(0, 1e-2, (400, 8))).astype(np.float32)
    d, i = knn(torch.from_numpy(X), 5)
    ds, is_ = _sk(X, 5)
    _assert_same_neighbours(d.numpy(), i.numpy(), ds, is_, rtol=1e-5)
    assert calls and calls[0] > 0


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_dtypes(dtype):
    g = torch.Generator().manual_seed(4)
    X = torch.randn(150, 4, generator=g).to(dtype)
    d, i = knn(X, 3)
    assert d.dtype == dtype
    ds, is_ = _sk(X.to(torch.float64).numpy(), 3)
    _assert_same_neighbours(d.to(torch.float64).numpy(), i.numpy(), ds, is_, rtol=1e-2)


def test_progress_bar(capsys):
    X = torch.randn(64, 3)
    knn(X, 2, chunk_size=16, progress=True)
    assert "knn" in capsys.readouterr().err


def test_k_equal_to_all_points():
    X = torch.randn(6, 2)
    d, i = knn(X, 5)
    assert torch.equal(i.sort(1).values, torch.tensor([[j for j in range(6) if j != r] for r in range(6)]))


@pytest.mark.parametrize(
    "args, kwargs, err",
    [
        ((torch.randn(10), 2), {}, ValueError),
        ((torch.randint(0, 5, (10, 2)), 2), {}, TypeError),
        ((torch.randn(10, 2), 10), {}, ValueError),
        ((torch.randn(10, 2), 0), {}, ValueError),
        ((torch.randn(10, 2), 2.0), {}, TypeError),
        ((torch.tensor([[0.0, float("nan")], [1.0, 1.0], [2.0, 2.0]]), 1), {}, ValueError),
        ((torch.randn(10, 2), 2), {"Y": torch.randn(5, 3)}, ValueError),
        ((torch.randn(10, 2), 2), {"chunk_size": 0}, ValueError),
        (([[1.0, 2.0]], 1), {}, TypeError),
    ],
)
def test_bad_inputs(args, kwargs, err):
    with pytest.raises(err, match="knn"):
        knn(*args, **kwargs)


def test_worker_pool_equals_serial_and_restores_threads():
    g = torch.Generator().manual_seed(5)
    X = torch.randn(300, 7, generator=g)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        d2, i2 = knn(X, 4, chunk_size=50)  # 6 chunks on a pool of 2 single-threaded workers
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        d1, i1 = knn(X, 4, chunk_size=50)  # serial
    finally:
        torch.set_num_threads(before)
    assert torch.equal(i1, i2) and torch.equal(d1, d2)


@pytest.mark.parametrize("n, C", [(2048, 7), (1024, 4), (4096, 16), (2560, 30)])
def test_grouped_selection_equals_plain_topk(n, C):
    # the two-stage selection (groups of 64, whole groups gathered by index_select) keeps exactly
    # the C smallest entries of each row, with ties and +inf padding columns present
    g = torch.Generator().manual_seed(n + C)
    S = torch.randint(0, 50, (33, n), generator=g).float()
    S[:, -64:] = float("inf")
    for gs in (1, 64):
        vals, idx = knn_mod._smallest(S, C, gs)
        assert torch.equal(S.gather(1, idx), vals)
        assert torch.equal(vals.sort(1).values, S.topk(C, 1, largest=False).values.sort(1).values)
        assert all(len(set(r)) == C for r in idx.tolist())
    assert knn_mod._group_size(2048, 7) == 64 and knn_mod._group_size(1024, 7) == 1
