"""Regression tests for issue #17 items 4, 7 and 8 (each fails on the code before its fix)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torchaug.resampling.neighbors as knn_mod
from torchaug._validation import value_checks
from torchaug.resampling import BorderlineSMOTE, knn


def _overlapping(seed=0, n=(2000, 200), d=2):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(i * 0.8, 1.0, (m, d)) for i, m in enumerate(n)]).astype(np.float64)
    y = np.concatenate([np.full(m, i) for i, m in enumerate(n)])
    return X, y


def _steps(X, Xn, src, nbr):
    a, b = X[src], X[nbr]
    v = b - a
    return ((Xn - a) * v).sum(1) / (v * v).sum(1)


def test_borderline2_step_towards_other_class_is_uniform_on_half_interval():
    """#17.4: towards a neighbour of another class the step is U[0, 0.5) (mean 0.25), not u * U[0, 0.5)
    (mean 0.125); towards its own class U[0, 1) (mean 0.5)."""
    X, y = _overlapping()
    s = BorderlineSMOTE(kind="borderline-2", k_neighbors=5, m_neighbors=10, random_state=0)
    Xr, yr = s.fit_resample(X, y)
    n = len(X)
    u = _steps(X, Xr[n:], s.sources_, s.neighbors_)
    other = y[s.neighbors_] != yr[n:]
    assert other.sum() > 300 and (~other).sum() > 300
    uo, us = u[other], u[~other]
    assert (uo >= -1e-9).all() and (uo < 0.5 + 1e-9).all()
    # mean of U[0, 0.5) is 0.25 with sd 0.144 / sqrt(n); the old rule gave 0.125
    assert abs(uo.mean() - 0.25) < 5 * 0.1444 / np.sqrt(len(uo))
    assert abs(us.mean() - 0.5) < 5 * 0.2887 / np.sqrt(len(us))
    # uniform: each quarter of [0, 0.5) holds about a quarter of the steps
    hist = np.histogram(uo, bins=4, range=(0, 0.5))[0] / len(uo)
    assert (np.abs(hist - 0.25) < 0.07).all(), hist


@pytest.fixture
def new_api_precision():
    """Precision set with PyTorch's new per-backend API, as a user enabling TF32 would."""
    matmul = torch.backends.cuda.matmul
    if not hasattr(matmul, "fp32_precision"):
        pytest.skip("this torch has no fp32_precision API")
    saved = (torch.backends.fp32_precision, matmul.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision)
    torch.backends.fp32_precision = "tf32"
    matmul.fp32_precision = "tf32"
    yield matmul
    torch.backends.fp32_precision, matmul.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision = saved


def test_highest_precision_with_new_api_flags(new_api_precision):
    """#17.7: with TF32 enabled the new way the legacy getter raises "mix of the legacy and new APIs";
    the guard must use the new API, force IEEE float32 inside and restore the user's setting after.
    The CUDA branch only touches flags, so it runs on a CPU-only machine."""
    with pytest.raises(RuntimeError, match="legacy and new APIs"):
        torch.get_float32_matmul_precision()  # what the old code called
    for dev in ("cuda", "cpu"):
        with knn_mod._highest_matmul_precision(torch.device(dev)):
            assert new_api_precision.fp32_precision in ("ieee", "tf32")
            if dev == "cuda":
                assert new_api_precision.fp32_precision == "ieee"
            else:
                assert torch.backends.mkldnn.matmul.fp32_precision == "ieee"
        assert new_api_precision.fp32_precision == "tf32"
    # and the whole search runs (CPU) under that setting, with exact neighbours
    X = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    d, i = knn(X, 4)
    ref = torch.cdist(X.double(), X.double()).fill_diagonal_(float("inf")).topk(4, largest=False)
    torch.testing.assert_close(d.double(), ref.values, rtol=1e-6, atol=1e-6)


def test_cpu_bf16_is_switched_off_during_the_search():
    """The legacy "medium" setting turns on bf16 GEMMs on CPU (oneDNN); the search forces IEEE."""
    mk = getattr(getattr(torch.backends, "mkldnn", None), "matmul", None)
    if mk is None or not hasattr(mk, "fp32_precision"):
        pytest.skip("this torch has no mkldnn fp32_precision API")
    saved = mk.fp32_precision
    try:
        mk.fp32_precision = "bf16"
        with knn_mod._highest_matmul_precision(torch.device("cpu")):
            assert mk.fp32_precision == "ieee"
        assert mk.fp32_precision == "bf16"
    finally:
        mk.fp32_precision = saved


def test_knn_nan_check_follows_value_check_policy():
    """#17.8: the NaN/inf check asks the value-check policy instead of testing for CPU directly."""
    X = torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    X[7, 1] = float("nan")
    with pytest.raises(ValueError, match="knn: X contains NaN"):
        knn(X, 3)  # default policy: CPU tensors are checked
    with value_checks("always"), pytest.raises(ValueError, match="knn: Y contains NaN"):
        knn(torch.zeros(4, 3), 2, Y=X)
    with value_checks("never"):
        d, _ = knn(X, 3)  # no check: NaN distances flow through, as documented for "never"
    assert torch.isnan(d).any()


def test_knn_value_check_on_non_cpu_device_asks_policy(monkeypatch):
    """The policy, not the device type, decides: a policy that says "check" for every tensor makes
    the CPU search raise even where the device test would have skipped it, and one that says
    "don't" skips it on CPU."""
    X = torch.randn(30, 2, generator=torch.Generator().manual_seed(2))
    X[0, 0] = float("inf")
    calls = []

    def policy(t):
        calls.append(t.device.type)
        return False

    monkeypatch.setattr("torchaug._validation.value_checks_enabled", policy)
    knn(X, 2)
    assert calls  # consulted
