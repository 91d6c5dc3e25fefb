"""torchaug SMOTE vs imbalanced-learn SMOTE, side by side in one process.

Two-class Gaussian data, float32, 2 threads for both (``torch.set_num_threads(2)`` and
``threadpoolctl`` for scikit-learn's OpenMP/BLAS). For each size it prints one markdown row:
wall seconds (best of ``--repeats``) and CPU seconds for both, the speed ratio, whether the
neighbour sets are exact (compared with scikit-learn ``NearestNeighbors`` on float64 data,
true ties allowed) for torchaug's ``knn`` and for the float32 search imbalanced-learn does,
and the peak memory of ``knn`` and of ``SMOTE.fit_resample`` measured in a child process
(increase of the kernel's peak-RSS mark over the child's RSS once its data exist) against the
configured ``knn`` memory budget.

    python benchmarks/resampling.py                       # the two CI-sized configs
    python benchmarks/resampling.py --large               # + 1M x 64 minority class, progress bar
    python benchmarks/resampling.py --large --large-queries 20000   # time a slice, extrapolate
    python benchmarks/resampling.py --only smotenc        # just the SMOTENC table (issue #27)

A second table times SMOTENC at 100,000 x 32 (24 continuous + 8 categorical columns with 5-6
categories each, 10% minority) against imbalanced-learn's SMOTENC, same threads, one process:
as a float32 numpy array (categories as numbers) and as a DataFrame with ``category`` columns; it
checks that the class counts and ``median_std_`` agree. With a CUDA device, a torchaug-on-GPU
column is added to both tables.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from torchaug.resampling import SMOTE, SMOTENC, knn  # noqa: E402

CONFIGS = [(90_000, 10_000, 32), (200_000, 50_000, 64)]
K = 5
SMOTENC_CONFIG = (100_000, 32, 8, 0.1)  # rows, features, of which categorical, minority fraction


def make_mixed(n: int, d: int, q: int, minority: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``(n, d)``: ``d - q`` Gaussian columns (minority shifted by 0.5), then ``q`` categorical
    columns holding 0..4 (minority: 0..5, shifted up by one with probability 1/2)."""
    rng = np.random.default_rng(seed)
    n_min = int(n * minority)
    y = np.r_[np.zeros(n - n_min, dtype=np.int64), np.ones(n_min, dtype=np.int64)]
    X = rng.standard_normal((n, d), dtype=np.float32)
    X[y == 1, : d - q] += 0.5
    X[:, d - q :] = rng.integers(0, 5, (n, q)) + y[:, None] * rng.integers(0, 2, (n, q))
    return X, y


def smotenc_table(args: argparse.Namespace) -> None:
    from imblearn.over_sampling import SMOTENC as ImbSMOTENC
    from threadpoolctl import threadpool_limits

    n, d, q, frac = SMOTENC_CONFIG
    X, y = make_mixed(n, d, q, frac)
    cf = list(range(d - q, d))
    cuda = torch.cuda.is_available()
    print(f"\n# SMOTENC: {n:,} x {d} ({q} categorical), {frac:.0%} minority, threads={args.threads}, "
          f"load average {os.getloadavg()[0]:.1f}")
    head = ("| input | imblearn s (cpu s) | torchaug s (cpu s) | speed ratio |" + (" torchaug CUDA s |" if cuda else "")
            + " counts equal | median_std_ equal |")
    print(head)
    print("|" + "|".join(["---"] * (head.count("|") - 1)) + "|")
    inputs = [("float32 numpy", X)]
    try:
        import pandas as pd

        df = pd.DataFrame(X, columns=[f"f{i}" for i in range(d)])
        for c in cf:
            df[f"f{c}"] = df[f"f{c}"].astype(np.int64).astype("category")
        inputs.append(("DataFrame, category columns", df))
    except ImportError:
        pass
    for label, data in inputs:
        with threadpool_limits(args.threads):
            ours_s = SMOTENC(categorical_features=cf, random_state=0)
            ours = timed(lambda: ours_s.fit_resample(data, y), args.repeats)
            imb_s = ImbSMOTENC(categorical_features=cf, random_state=0)
            imb = timed(lambda: imb_s.fit_resample(data, y), max(1, args.repeats - 1))
            ours = min(ours, timed(lambda: ours_s.fit_resample(data, y), args.repeats))
            _, yo = ours_s.fit_resample(data, y)
            _, yi = imb_s.fit_resample(data, y)
        counts = np.array_equal(np.bincount(np.asarray(yo)), np.bincount(np.asarray(yi)))
        med = all(abs(ours_s.median_std_[c] - v) <= 1e-6 * max(1.0, abs(v)) for c, v in imb_s.median_std_.items())
        gpu_cell = ""
        if cuda and label == "float32 numpy":
            Xg, yg = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()

            def on_gpu() -> None:
                SMOTENC(categorical_features=cf, random_state=0).fit_resample(Xg, yg)
                torch.cuda.synchronize()

            on_gpu()
            gpu_cell = f" {timed(on_gpu, args.repeats)[0]:.3f} |"
        elif cuda:
            gpu_cell = " - |"
        print(f"| {label} | {imb[0]:.2f} ({imb[1]:.2f}) | {ours[0]:.2f} ({ours[1]:.2f}) | {imb[0] / ours[0]:.1f}x |"
              f"{gpu_cell} {'yes' if counts else 'no'} | {'yes' if med else 'no'} |", flush=True)


def make_data(n_major: int, n_minor: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.empty((n_major + n_minor, d), dtype=np.float32)
    X[:n_major] = rng.standard_normal((n_major, d), dtype=np.float32)
    X[n_major:] = rng.standard_normal((n_minor, d), dtype=np.float32) + 0.5
    y = np.r_[np.zeros(n_major, dtype=np.int64), np.ones(n_minor, dtype=np.int64)]
    return X, y


def timed(fn, repeats: int) -> tuple[float, float]:
    """Best wall time and the CPU time of that run."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best[0]:
            best = (wall, cpu)
    return best


def mismatches(idx: np.ndarray, dist: np.ndarray, ref_idx: np.ndarray, ref_dist: np.ndarray) -> int:
    """Rows whose neighbour set differs from the reference other than by a true tie at the k-th distance."""
    bad = 0
    for r in np.flatnonzero((np.sort(idx, 1) != np.sort(ref_idx, 1)).any(1)):
        kth = ref_dist[r, -1]
        extra = [dd for dd, ii in zip(dist[r], idx[r]) if ii not in set(ref_idx[r].tolist())]
        if not all(abs(x - kth) <= 1e-6 * max(1.0, kth) for x in extra):
            bad += 1
    return bad


def child_memory(kind: str, n_major: int, n_minor: int, d: int, budget: int, threads: int,
                 queries: int | None = None, progress: bool = False) -> dict:
    """Run one config in a child process; it reports its ru_maxrss before and after."""
    cmd = [sys.executable, __file__, "--child", kind, "--n-major", str(n_major), "--n-minor", str(n_minor),
           "--d", str(d), "--budget", str(budget), "--threads", str(threads)]
    if queries:
        cmd += ["--large-queries", str(queries)]
    if progress:
        cmd += ["--progress"]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"child failed: {res.stderr}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    # whole-child peak as the parent sees it (includes the import of torch and the data)
    out["children_maxrss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def _rss_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_child(args: argparse.Namespace) -> None:
    """Baseline = RSS once the data exist (peak mark reset there); peak = VmHWM afterwards.

    ``ru_maxrss`` alone would be polluted by the parent's pages at fork time and by the
    transient peak of importing torch, so the Linux peak mark is reset after the data are made.
    """
    torch.set_num_threads(args.threads)
    # touch the code paths once (library pages, thread pools) so that they are part of the baseline
    warm = torch.randn(4096, args.d)
    knn(warm, K)
    SMOTE(random_state=0).fit_resample(warm.numpy(), np.r_[np.zeros(3000, np.int64), np.ones(1096, np.int64)])
    del warm
    if args.child in ("knn", "large"):
        g = torch.Generator().manual_seed(0)
        X = torch.randn(args.n_minor, args.d, generator=g)

        def work() -> None:
            q = args.large_queries
            if q and q < args.n_minor:
                knn(X[:q], K, Y=X, memory_budget=args.budget, progress=args.progress)
            else:
                knn(X, K, memory_budget=args.budget, progress=args.progress)
    else:
        Xn, yn = make_data(args.n_major, args.n_minor, args.d)

        def work() -> None:
            SMOTE(random_state=0).fit_resample(Xn, yn)

    have_proc = _reset_peak()
    base = _rss_mib("VmRSS") if have_proc else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    work()
    wall = time.perf_counter() - t0
    peak = _rss_mib("VmHWM") if have_proc else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"baseline_mib": base, "peak_mib": peak, "increase_mib": peak - base, "wall_s": wall,
                      "method": "VmHWM after clear_refs" if have_proc else "ru_maxrss"}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--budget-mib", type=int, default=256, help="knn memory_budget (MiB)")
    p.add_argument("--large", action="store_true", help="also a 1M x 64 minority class (not for CI)")
    p.add_argument("--large-n", type=int, default=1_000_000)
    p.add_argument("--large-budget-mib", type=int, default=1024)
    p.add_argument("--large-queries", type=int, default=None, help="time only this many query rows, extrapolate")
    p.add_argument("--no-exact-check", action="store_true")
    p.add_argument("--only", choices=["smote", "smotenc"], default=None, help="run one table only")
    # child-process mode (internal)
    p.add_argument("--child", choices=["knn", "smote", "large"], help=argparse.SUPPRESS)
    p.add_argument("--n-major", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--n-minor", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--d", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--budget", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        run_child(args)
        return

    from imblearn.over_sampling import SMOTE as ImbSMOTE
    from sklearn.neighbors import NearestNeighbors
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    if args.only == "smotenc":
        smotenc_table(args)
        return
    budget = args.budget_mib * 2**20
    cuda = torch.cuda.is_available()
    print(f"# torch {torch.__version__}, threads={args.threads}, knn memory_budget={args.budget_mib} MiB, "
          f"cpu_count={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    head = ("| majority / minority / features | imblearn s (cpu s) | torchaug s (cpu s) | speed ratio |"
            + (" torchaug CUDA s | CUDA speedup |" if cuda else "")
            + " exact: torchaug / imblearn (rows differing) | peak RSS increase knn / SMOTE (MiB) | budget MiB |")
    print(head)
    print("|" + "|".join(["---"] * (head.count("|") - 1)) + "|")
    for n_major, n_minor, d in CONFIGS:
        X, y = make_data(n_major, n_minor, d)
        with threadpool_limits(args.threads):
            ours = timed(lambda: SMOTE(random_state=0).fit_resample(X, y), args.repeats)
            imb = timed(lambda: ImbSMOTE(random_state=0).fit_resample(X, y), args.repeats)
            ours2 = timed(lambda: SMOTE(random_state=0).fit_resample(X, y), args.repeats)
            ours = min(ours, ours2)
            gpu_cell = ""
            if cuda:
                Xg, yg = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()

                def on_gpu() -> None:
                    SMOTE(random_state=0).fit_resample(Xg, yg)
                    torch.cuda.synchronize()

                on_gpu()
                gpu = timed(on_gpu, args.repeats)
                gpu_cell = f" {gpu[0]:.3f} | {imb[0] / gpu[0]:.0f}x |"
            exact = "not checked"
            if not args.no_exact_check:
                Xm = X[y == 1]
                ref_d, ref_i = NearestNeighbors(n_neighbors=K, algorithm="brute").fit(Xm.astype(np.float64)).kneighbors()
                dist, idx = knn(torch.from_numpy(Xm), K)
                ours_bad = mismatches(idx.numpy(), dist.numpy().astype(np.float64), ref_i, ref_d)
                # what imbalanced-learn does: float32 search with k+1 neighbours, first column dropped
                nn32 = NearestNeighbors(n_neighbors=K + 1).fit(Xm)
                d32, i32 = nn32.kneighbors(Xm)
                imb_bad = mismatches(i32[:, 1:], d32[:, 1:].astype(np.float64), ref_i, ref_d)
                exact = f"{'yes' if ours_bad == 0 else 'no'} ({ours_bad}) / {'yes' if imb_bad == 0 else 'no'} ({imb_bad})"
        mem_knn = child_memory("knn", n_major, n_minor, d, budget, args.threads)
        mem_smote = child_memory("smote", n_major, n_minor, d, budget, args.threads)
        print(f"| {n_major:,} / {n_minor:,} / {d} | {imb[0]:.3f} ({imb[1]:.2f}) | {ours[0]:.3f} ({ours[1]:.2f}) | "
              f"{imb[0] / ours[0]:.2f}x |{gpu_cell} {exact} | "
              f"{mem_knn['increase_mib']:.0f} / {mem_smote['increase_mib']:.0f} | {args.budget_mib} |", flush=True)

    if args.only is None:
        smotenc_table(args)

    if args.large:
        n, d = args.large_n, 64
        q = args.large_queries
        lb = args.large_budget_mib * 2**20
        print(f"\n# large: knn over a {n:,} x {d} class (k={K}), memory_budget={args.large_budget_mib} MiB"
              + (f", timing {q:,} query rows and extrapolating" if q else ""), flush=True)
        res = child_memory("large", 0, n, d, lb, args.threads, queries=q, progress=True)
        full = res["wall_s"] * (n / q if q and q < n else 1)
        print(f"| points | query rows timed | wall s | est. full wall s | peak RSS MiB (child) | within 8 GiB |")
        print("|---|---|---|---|---|---|")
        print(f"| {n:,} x {d} | {q or n:,} | {res['wall_s']:.1f} | {full:.0f} | {res['peak_mib']:.0f} | "
              f"{'yes' if res['peak_mib'] < 8 * 1024 else 'no'} |")


if __name__ == "__main__":
    main()
