"""Per-op throughput of the non-rigid warps (issue 25 part 2) against albumentations 2.0.8 (OpenCV,
per image) and kornia 0.9 (batched) where it has the op (ThinPlateSpline, ElasticTransform).

    python benchmarks/distortion.py                          # 2 threads, both sizes, 5 rounds
    python benchmarks/distortion.py --only GridDistortion --sizes 224 --threads 1,2 --rounds 7

Batches: 256x3x32x32 and 32x3x224x224 uint8 (random content, the same images for every library),
``p=1``, each op with the same settings in every library (the ``OPS`` table):

- torchaug: one call on the uint8 batch (per-sample parameters).
- albumentations: the transform called on each HWC uint8 numpy image (what a DataLoader worker
  does). Its ``PiecewiseAffine`` builds its map in a per-pixel Python loop (about a second per
  224x224 image), so it is timed on the first ``--slow-images`` images only; img/s stays per image.
- kornia: one call on the float batch (kornia needs float input).

Rounds: each round times every library once, in a fresh random order; img/s are medians over the
rounds, ratios the medians of the per-round ratios (img/s torchaug / img/s peer; above 1 = faster).
Timings are not tests: run on a quiet machine before reading a goal off the table.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._timing import markdown_table, round_robin  # noqa: E402

SLOW_PEER = {"PiecewiseAffine"}


def _peer(module: str):
    """The peer module, or None where it is not installed (then its column shows '-')."""
    try:
        return importlib.import_module(module)
    except ImportError:  # pragma: no cover - the bench extra is missing
        return None


def _ops():
    """name -> (torchaug factory, albumentations factory or None, kornia factory or None)."""
    import torchaug.transforms as T

    peers = {"A": _peer("albumentations"), "K": _peer("kornia.augmentation")}
    A, K = peers["A"], peers["K"]

    def a(fn):  # noqa: E306 - a factory only where albumentations is there
        return None if A is None else (lambda: fn(A))

    def k(fn):
        return None if K is None else (lambda: fn(K))

    return {
        "GridDistortion": (lambda: T.GridDistortion(num_steps=5, distort_limit=0.3, p=1.0),
                           a(lambda A: A.GridDistortion(num_steps=5, distort_limit=0.3, p=1.0)), None),
        "OpticalDistortion-camera": (lambda: T.OpticalDistortion(distort_limit=0.05, mode="camera", p=1.0),
                                     a(lambda A: A.OpticalDistortion(distort_limit=0.05, mode="camera", p=1.0)), None),
        "OpticalDistortion-fisheye": (lambda: T.OpticalDistortion(distort_limit=0.3, mode="fisheye", p=1.0),
                                      a(lambda A: A.OpticalDistortion(distort_limit=0.3, mode="fisheye", p=1.0)), None),
        "PiecewiseAffine": (lambda: T.PiecewiseAffine(scale=(0.03, 0.05), nb_rows=4, nb_cols=4, p=1.0),
                            a(lambda A: A.PiecewiseAffine(scale=(0.03, 0.05), nb_rows=4, nb_cols=4, p=1.0)), None),
        "ThinPlateSpline": (lambda: T.ThinPlateSpline(scale_range=(0.2, 0.4), num_control_points=4, p=1.0),
                            a(lambda A: A.ThinPlateSpline(scale_range=(0.2, 0.4), num_control_points=4, p=1.0)), None),
        # kornia's RandomThinPlateSpline always uses 5 control points (corners and centre), as
        # num_control_points=2 does in albumentations and here
        "ThinPlateSpline-5pts": (lambda: T.ThinPlateSpline(scale_range=(0.2, 0.2), num_control_points=2, p=1.0),
                                 a(lambda A: A.ThinPlateSpline(scale_range=(0.2, 0.2), num_control_points=2, p=1.0)),
                                 k(lambda K: K.RandomThinPlateSpline(scale=0.2, p=1.0))),
        "ElasticTransform": (lambda: T.ElasticTransform(alpha=50.0, sigma=5.0),
                             a(lambda A: A.ElasticTransform(alpha=50.0, sigma=5.0, p=1.0)),
                             k(lambda K: K.RandomElasticTransform(sigma=(5.0, 5.0), alpha=(1.0, 1.0), p=1.0))),
    }


def _run_op(name: str, facs, b: int, size: int, rounds: int, slow_images: int, seed: int = 0) -> dict[str, float]:
    """img/s per library for one op and one batch size (medians over ``rounds``)."""
    ours_f, alb_f, kor_f = facs
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, size, size), generator=g, dtype=torch.uint8)
    fns, items = {}, {}
    t = ours_f()
    gen = torch.Generator().manual_seed(1)
    fns["torchaug"], items["torchaug"] = (lambda: t(x, generator=gen)), b
    if alb_f is not None:
        at = alb_f()
        at.set_random_seed(0)
        n = min(b, slow_images) if name in SLOW_PEER else b
        imgs = [np.ascontiguousarray(x[i].permute(1, 2, 0).numpy()) for i in range(n)]
        fns["albumentations"], items["albumentations"] = (lambda: np.stack([at(image=im)["image"] for im in imgs])), n
    if kor_f is not None:
        kt = kor_f()
        xf = x.float() / 255
        fns["kornia"], items["kornia"] = (lambda: kt(xf)), b
    rates = {n: [items[n] / t for t in ts] for n, ts in round_robin(fns, rounds, seed).items()}
    out = {n: statistics.median(v) for n, v in rates.items()}
    for n in rates:
        if n != "torchaug":
            out[f"ratio_{n}"] = statistics.median(o / p for o, p in zip(rates["torchaug"], rates[n]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="2", help="comma-separated intra-op thread counts (default 2)")
    ap.add_argument("--sizes", default="32,224", help="32 (batch 256) and/or 224 (batch 32)")
    ap.add_argument("--only", default=None, help="comma-separated op names")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per measurement (default 5)")
    ap.add_argument("--slow-images", type=int, default=4, help="images timed for albumentations' PiecewiseAffine (default 4)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    ops = _ops()
    names = list(ops) if args.only is None else args.only.split(",")
    import cv2

    rows = []
    for th in [int(s) for s in args.threads.split(",")]:
        torch.set_num_threads(th)
        cv2.setNumThreads(th)
        for size in [int(s) for s in args.sizes.split(",")]:
            b = 256 if size <= 64 else 32
            for name in names:
                r = _run_op(name, ops[name], b, size, args.rounds, args.slow_images)
                ra, rk = r.get("ratio_albumentations"), r.get("ratio_kornia")
                rows.append([name, f"{b}x3x{size}x{size}", th, r["torchaug"], r.get("albumentations", "-"),
                             r.get("kornia", "-"), f"{ra:.2f}x" if ra else "-", f"{rk:.2f}x" if rk else "-"])
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
          f"{args.rounds} rounds, medians\n")
    print(markdown_table(["op", "batch", "threads", "torchaug img/s", "albumentations img/s", "kornia img/s",
                          "vs albumentations", "vs kornia"], rows))


if __name__ == "__main__":
    main()
