"""torchaug under-samplers, cleaners and combined samplers vs imbalanced-learn, side by side in one process.

Two-class Gaussian data (10% minority, minority shifted by 0.5 in every feature), float32,
the same threads for both (``torch.set_num_threads`` and ``threadpoolctl`` for scikit-learn's
OpenMP/BLAS). One markdown row per sampler and size: wall seconds of one ``fit_resample`` for
both (imbalanced-learn first, then ours; runs under ``--short-s`` are repeated ``--repeats`` times,
peers alternating, and the median kept), the speed ratio, whether the outputs are identical
(deterministic samplers) and the peak memory of each call (increase of the kernel's peak-RSS
mark over the RSS before the call, Linux ``clear_refs``). Each imbalanced-learn run is capped
(``--cap-s``, default 600 s = 10 min; the alarm is checked when control returns to Python, so a
long C call can overrun it a little); a capped run is reported as "> cap" and the ratio as a
lower bound.

    python benchmarks/undersampling.py                          # 20,000 and 100,000 x 32, every sampler
    python benchmarks/undersampling.py --sizes 20000 --cap-s 120
    python benchmarks/undersampling.py --sizes 100000 --only knn  # the kNN-based samplers only

With a CUDA device, a torchaug-on-GPU column is added.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torchaug.resampling as ours  # noqa: E402

D = 32


def make_data(n: int, d: int = D, minority: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_min = int(n * minority)
    X = rng.standard_normal((n, d), dtype=np.float32)
    X[n - n_min :] += 0.5
    y = np.r_[np.zeros(n - n_min, dtype=np.int64), np.ones(n_min, dtype=np.int64)]
    return X, y


def _samplers() -> list[tuple[str, bool, bool, Callable[[], Any], Callable[[], Any]]]:
    """(name, kNN-based, deterministic, ours, imblearn) factories."""
    import imblearn.combine as IC
    import imblearn.over_sampling as IO
    import imblearn.under_sampling as IU

    return [
        ("RandomUnderSampler", False, False, lambda: ours.RandomUnderSampler(random_state=0),
         lambda: IU.RandomUnderSampler(random_state=0)),
        ("TomekLinks", True, True, lambda: ours.TomekLinks(), lambda: IU.TomekLinks()),
        ("EditedNearestNeighbours", True, True, lambda: ours.EditedNearestNeighbours(),
         lambda: IU.EditedNearestNeighbours()),
        ("RepeatedEditedNearestNeighbours", True, True, lambda: ours.RepeatedEditedNearestNeighbours(),
         lambda: IU.RepeatedEditedNearestNeighbours()),
        ("AllKNN", True, True, lambda: ours.AllKNN(), lambda: IU.AllKNN()),
        ("NearMiss-1", True, True, lambda: ours.NearMiss(version=1), lambda: IU.NearMiss(version=1)),
        ("NearMiss-2", True, True, lambda: ours.NearMiss(version=2), lambda: IU.NearMiss(version=2)),
        ("NearMiss-3", True, True, lambda: ours.NearMiss(version=3), lambda: IU.NearMiss(version=3)),
        ("NeighbourhoodCleaningRule", True, True, lambda: ours.NeighbourhoodCleaningRule(),
         lambda: IU.NeighbourhoodCleaningRule()),
        ("OneSidedSelection", True, False, lambda: ours.OneSidedSelection(random_state=0),
         lambda: IU.OneSidedSelection(random_state=0)),
        ("CondensedNearestNeighbour", True, False, lambda: ours.CondensedNearestNeighbour(random_state=0),
         lambda: IU.CondensedNearestNeighbour(random_state=0)),
        ("SMOTEENN", True, False, lambda: ours.SMOTEENN(random_state=0), lambda: IC.SMOTEENN(random_state=0)),
        ("SMOTETomek", True, False, lambda: ours.SMOTETomek(random_state=0), lambda: IC.SMOTETomek(random_state=0)),
        ("KMeansSMOTE", True, False,
         lambda: ours.KMeansSMOTE(random_state=0, cluster_balance_threshold=0.05),
         lambda: IO.KMeansSMOTE(random_state=0, cluster_balance_threshold=0.05)),
        ("SVMSMOTE (SVC: scikit-learn)", False, False, lambda: ours.SVMSMOTE(random_state=0),
         lambda: IO.SVMSMOTE(random_state=0)),
        ("InstanceHardnessThreshold (forest: scikit-learn)", False, True,
         lambda: ours.InstanceHardnessThreshold(random_state=0), lambda: IU.InstanceHardnessThreshold(random_state=0)),
        ("ClusterCentroids (KMeans: scikit-learn)", False, True,
         lambda: ours.ClusterCentroids(random_state=0), lambda: IU.ClusterCentroids(random_state=0)),
    ]


def _rss_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class _Capped(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Capped


def run(fn: Callable[[], Any], cap_s: float | None) -> tuple[float | None, float | None, Any]:
    """(wall seconds or None when capped, peak RSS increase MiB, result)."""
    have = _reset_peak()
    base = _rss_mib("VmRSS") if have else None
    if cap_s:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, cap_s)
    t0 = time.perf_counter()
    try:
        out = fn()
        wall = time.perf_counter() - t0
    except _Capped:
        out, wall = None, None
    finally:
        if cap_s:
            signal.setitimer(signal.ITIMER_REAL, 0)
    peak = _rss_mib("VmHWM") if have else None
    return wall, (peak - base) if have and base is not None else None, out


def _identical(r_imb: Any, r_our: Any) -> str:
    """'yes', or 'no (m rows selected by only one)' from the two samplers' ``sample_indices_``."""
    (s_imb, (Xa, ya)), (s_our, (Xb, yb)) = r_imb, r_our
    if Xa.shape == Xb.shape and np.array_equal(Xa, Xb) and np.array_equal(ya, yb):
        return "yes"
    a, b = getattr(s_imb, "sample_indices_", None), getattr(s_our, "sample_indices_", None)
    if a is None or b is None:
        return "no"
    diff = len(set(np.asarray(a).tolist()) ^ set(np.asarray(b).tolist()))
    return "no (same rows, another order)" if diff == 0 else f"no ({diff} rows selected by only one)"


def _fit(mk: Callable[[], Any], X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
    s = mk()
    return s, s.fit_resample(X, y)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cap-s", type=float, default=600.0, help="cap of each imbalanced-learn run (seconds)")
    p.add_argument("--only", choices=["all", "knn"], default="all", help="'knn': the kNN-based samplers only")
    p.add_argument("--names", nargs="*", default=None, help="run only these samplers (name prefixes)")
    p.add_argument("--short-s", type=float, default=1.0, help="runs shorter than this are repeated")
    p.add_argument("--repeats", type=int, default=9, help="repeats of a short run (median, peers alternating)")
    args = p.parse_args()

    from threadpoolctl import threadpool_limits

    import warnings

    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    print(f"# torch {torch.__version__}, threads={args.threads} (torch and threadpoolctl), cpu_count={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}, imblearn cap {args.cap_s:.0f} s")
    head = ["rows x 32 (10% minority)", "sampler", "imblearn s", "torchaug s", "speed ratio", "identical output",
            "peak RSS increase imblearn / torchaug (MiB)"] + (["torchaug CUDA s"] if cuda else [])
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|", flush=True)
    for n in args.sizes:
        X, y = make_data(n)
        for name, is_knn, deterministic, mk_ours, mk_imb in _samplers():
            if args.only == "knn" and not is_knn:
                continue
            if args.names and not any(name.startswith(s) for s in args.names):
                continue
            with threadpool_limits(args.threads):
                t_imb, m_imb, r_imb = run(lambda: _fit(mk_imb, X, y), args.cap_s)
                t_our, m_our, r_our = run(lambda: _fit(mk_ours, X, y), None)
                if t_imb is not None and max(t_imb, t_our) < args.short_s:
                    # short runs: the first call (its memory kept) is cold; the time is the median of
                    # `repeats` more calls, the two peers alternating
                    walls = [(run(lambda: _fit(mk_imb, X, y), None)[0], run(lambda: _fit(mk_ours, X, y), None)[0])
                             for _ in range(args.repeats)]
                    t_imb = statistics.median(w[0] for w in walls)
                    t_our = statistics.median(w[1] for w in walls)
            ident = _identical(r_imb, r_our) if deterministic and r_imb is not None else "n/a (random)"
            if deterministic and r_imb is None:
                ident = "n/a (capped)"
            cap = f"> {args.cap_s:.0f}"
            imb_cell = f"{t_imb:.2f}" if t_imb is not None else cap
            ratio = f"{t_imb / t_our:.2f}x" if t_imb is not None else f"> {args.cap_s / t_our:.2f}x"
            mem = f"{m_imb:.0f} / {m_our:.0f}" if m_imb is not None and m_our is not None else "n/a"
            row = [f"{n:,}", name, imb_cell, f"{t_our:.2f}", ratio, ident, mem]
            if cuda:
                Xg, yg = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
                mk_ours().fit_resample(Xg, yg)
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                mk_ours().fit_resample(Xg, yg)
                torch.cuda.synchronize()
                row.append(f"{time.perf_counter() - t0:.3f}")
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
