"""Per-op throughput of the tone/colour and dropout transforms (issue #23 part B) against peers.

    python benchmarks/pixel_tone.py              # CPU, 1 and 2 threads, both sizes (a few minutes)
    python benchmarks/pixel_tone.py --quick      # fewer rounds
    python benchmarks/pixel_tone.py --ops CLAHE,RGBShift --threads 2 --sizes 224

Batches of random uint8 images, 256x3x32x32 and 32x3x224x224, CPU. In one process, per op:

- torchaug: one call on the uint8 ``(B, C, H, W)`` batch, per-sample parameters, ``p=1``;
- albumentations 2.0.8: the same op (``p=1``) on each HWC uint8 numpy image, then stacked
  (what a DataLoader worker does; OpenCV inside);
- kornia 0.9: its op on the float batch (kornia needs float input), where it has one; "nearest"
  marks an op that is not the same augmentation (kornia's closest).

The three are timed round-robin (each round in a fresh random order, the median over rounds), so
a change in the machine's load hits them alike. img/s and the ratio torchaug / peer. Goals
(issue #23): >= albumentations at 32x32, >= 2x kornia at 224x224.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._timing import markdown_table  # noqa: E402

# op -> (torchaug factory, albumentations factory, (kornia factory, nearest?) or None)
GRID = (4, 4)  # RandomGridShuffle: kornia's RandomJigsaw needs sides divisible by the grid


def _ops():
    import albumentations as A
    import kornia.augmentation as K
    import kornia.color as KC

    import torchaug.transforms as T

    return {
        "RandomBrightnessContrast": (lambda: T.RandomBrightnessContrast(p=1.0), lambda: A.RandomBrightnessContrast(p=1.0),
                                     (lambda: K.ColorJiggle(brightness=0.2, contrast=0.2, p=1.0), True)),
        "RGBShift": (lambda: T.RGBShift(p=1.0), lambda: A.RGBShift(p=1.0),
                     (lambda: K.RandomRGBShift(20 / 255, 20 / 255, 20 / 255, p=1.0), False)),
        "ChannelShuffle": (lambda: T.ChannelShuffle(p=1.0), lambda: A.ChannelShuffle(p=1.0),
                           (lambda: K.RandomChannelShuffle(p=1.0), False)),
        "PlanckianJitter": (lambda: T.PlanckianJitter(p=1.0), lambda: A.PlanckianJitter(p=1.0),
                            (lambda: K.RandomPlanckianJitter(p=1.0), False)),
        "FancyPCA": (lambda: T.FancyPCA(p=1.0), lambda: A.FancyPCA(p=1.0), None),
        "ToSepia": (lambda: T.ToSepia(p=1.0), lambda: A.ToSepia(p=1.0), (lambda: KC.Sepia(), False)),
        "HueSaturationValue": (lambda: T.HueSaturationValue(p=1.0), lambda: A.HueSaturationValue(p=1.0),
                               (lambda: K.ColorJiggle(brightness=0.08, saturation=0.12, hue=0.11, p=1.0), True)),
        "RandomToneCurve": (lambda: T.RandomToneCurve(p=1.0), lambda: A.RandomToneCurve(p=1.0), None),
        "SigmoidContrast": (lambda: T.SigmoidContrast(), None, None),
        "LogContrast": (lambda: T.LogContrast(), None, None),
        "LinearContrast": (lambda: T.LinearContrast(), None, (lambda: K.RandomContrast((0.6, 1.4), p=1.0), True)),
        "CLAHE": (lambda: T.CLAHE(p=1.0), lambda: A.CLAHE(p=1.0), (lambda: K.RandomClahe(p=1.0), False)),
        "CoarseDropout": (lambda: T.CoarseDropout(p=1.0), lambda: A.CoarseDropout(p=1.0),
                          (lambda: K.RandomErasing(p=1.0), True)),
        "GridDropout": (lambda: T.GridDropout(p=1.0), lambda: A.GridDropout(p=1.0), None),
        "PixelDropout": (lambda: T.PixelDropout(p=1.0), lambda: A.PixelDropout(p=1.0), None),
        "SaltAndPepper": (lambda: T.SaltAndPepperNoise(amount=(0.01, 0.06)),
                          lambda: A.SaltAndPepper(amount=(0.01, 0.06), salt_vs_pepper=(0.5, 0.5), p=1.0), None),
        "ChannelDropout": (lambda: T.ChannelDropout(p=1.0), lambda: A.ChannelDropout(p=1.0),
                           (lambda: K.RandomChannelDropout(p=1.0), False)),
        "RandomGridShuffle": (lambda: T.RandomGridShuffle(grid=GRID, p=1.0), lambda: A.RandomGridShuffle(grid=GRID, p=1.0),
                              (lambda: K.RandomJigsaw(grid=GRID, p=1.0), False)),
    }


def _round_robin(fns: dict, rounds: int, seed: int, stat: str = "median") -> dict[str, float]:
    """Seconds per call of each ``name -> fn``: warm-up, then ``rounds`` rounds in a random order;
    the median (or, ``stat="min"``, the fastest round: on a machine shared with other jobs, where
    every interruption only adds time, the least disturbed estimate) over the rounds."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    rng = random.Random(seed)
    for _ in range(rounds):
        names = list(fns)
        rng.shuffle(names)
        for k in names:
            t0 = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t0)
    pick = min if stat == "min" else statistics.median
    return {k: pick(v) for k, v in times.items()}


def run(ops: list[str], size: int, threads: int, rounds: int, stat: str = "median") -> list[list]:
    torch.set_num_threads(threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:  # pragma: no cover
        pass
    table = _ops()
    b = 256 if size == 32 else 32
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (b, 3, size, size), generator=g, dtype=torch.uint8)
    xf = x.float() / 255
    imgs = [np.ascontiguousarray(im.permute(1, 2, 0).numpy()) for im in x]
    rows = []
    for name in ops:
        ours, alb, kor = table[name]
        t = ours()
        gen = torch.Generator().manual_seed(1)
        fns = {"torchaug": lambda t=t: t(x, generator=gen)}
        if alb is not None:
            a = alb()
            fns["albumentations"] = lambda a=a: np.stack([a(image=im)["image"] for im in imgs])
        nearest = False
        if kor is not None:
            k, nearest = kor[0](), kor[1]
            fns["kornia"] = lambda k=k: k(xf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sec = _round_robin(fns, rounds, seed=sum(map(ord, name)) + size + threads, stat=stat)
        ips = {k: b / v for k, v in sec.items()}
        al = ips.get("albumentations")
        kn = ips.get("kornia")
        rows.append([
            name, f"{b}x3x{size}x{size}", threads, ips["torchaug"],
            al if al is not None else "-", f"{ips['torchaug'] / al:.2f}" if al else "-",
            (kn if kn is not None else "-"), (f"{ips['torchaug'] / kn:.2f}" + (" (nearest)" if nearest else "")) if kn else "-",
        ])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", default="", help="comma-separated op names (default: all)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--sizes", default="32,224")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 rounds")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="per-call time over the rounds (min: for a machine shared with other jobs)")
    args = ap.parse_args()
    ops = [o for o in args.ops.split(",") if o] or list(_ops())
    rounds = 3 if args.quick else args.rounds
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for threads in (int(n) for n in args.threads.split(",")):
            rows += run(ops, size, threads, rounds, args.stat)
    import albumentations
    import kornia

    print(f"torch {torch.__version__}, albumentations {albumentations.__version__}, kornia {kornia.__version__}; "
          f"CPU ({os.cpu_count()} cores), {args.stat} of {rounds} round-robin rounds\n")
    print(markdown_table(["op", "batch", "threads", "torchaug img/s", "albumentations img/s", "ours / alb",
                          "kornia img/s", "ours / kornia"], rows))
    miss32 = [r[0] + f" ({r[2]}t)" for r in rows if r[1].endswith("32x32") and r[5] != "-" and float(r[5]) < 1.0]
    miss224 = [r[0] + f" ({r[2]}t)" for r in rows if r[1].endswith("224x224") and r[7] != "-" and "nearest" not in r[7]
               and float(r[7].split()[0]) < 2.0]
    print(f"\nbelow albumentations at 32x32: {', '.join(miss32) or 'none'}")
    print(f"below 2x kornia at 224x224 (same op): {', '.join(miss224) or 'none'}")


if __name__ == "__main__":
    main()
