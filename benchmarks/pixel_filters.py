"""Per-op throughput of the blur, filter, noise and quality transforms (issue 23 part A) against
albumentations 2.0.8 (OpenCV, per image) and kornia 0.9 (batched) where they have the op.

    python benchmarks/pixel_filters.py                 # CPU, 1 and 2 threads, both sizes
    python benchmarks/pixel_filters.py --quick         # fewer rounds
    python benchmarks/pixel_filters.py --only Blur,MedianBlur --sizes 224 --threads 2

Batches: 256x3x32x32 and 32x3x224x224 uint8 (random content, same images for every library).
Every op uses the same settings in every library (the ``OPS`` table), ``p=1``:

- torchaug: one call on the uint8 batch (per-sample parameters).
- albumentations: the transform called on each HWC uint8 numpy image, then stacked (what a
  DataLoader worker does).
- kornia: one call on the float batch (kornia needs float input), per-sample parameters.

Rounds: each round times every library once, in a fresh random order; img/s are medians over the
rounds, the ratios medians of the per-round ratios (both calls of a round see the same load).
Goals (issue 23): >= albumentations at 32x32, >= 2x kornia at 224x224. The table prints the
ratios; "miss" marks a goal not met.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._timing import markdown_table, round_robin  # noqa: E402


def _ops():
    """name -> (torchaug factory, albumentations factory or None, kornia factory or None)."""
    import torchaug.transforms as T

    try:
        import albumentations as A
    except ImportError:  # pragma: no cover - the bench extra is missing
        A = None
    try:
        import kornia.augmentation as K
    except ImportError:  # pragma: no cover
        K = None

    def a(fn):
        return (lambda: fn(A)) if A is not None else None

    def k(fn):
        return (lambda: fn(K)) if K is not None else None

    return {
        "Blur": (lambda: T.Blur(blur_limit=(3, 7), p=1.0), a(lambda A: A.Blur(blur_limit=(3, 7), p=1.0)),
                 k(lambda K: K.RandomBoxBlur((5, 5), p=1.0))),
        "MedianBlur": (lambda: T.MedianBlur(blur_limit=(3, 5), p=1.0), a(lambda A: A.MedianBlur(blur_limit=(3, 5), p=1.0)),
                       k(lambda K: K.RandomMedianBlur((5, 5), p=1.0))),
        "MotionBlur": (lambda: T.MotionBlur(blur_limit=(3, 7), p=1.0), a(lambda A: A.MotionBlur(blur_limit=(3, 7), p=1.0)),
                       k(lambda K: K.RandomMotionBlur(kernel_size=(3, 7), angle=(0.0, 360.0), direction=(-1.0, 1.0), p=1.0))),
        "Defocus": (lambda: T.Defocus(radius=(3, 10), p=1.0), a(lambda A: A.Defocus(radius=(3, 10), p=1.0)), None),
        "ZoomBlur": (lambda: T.ZoomBlur(p=1.0), a(lambda A: A.ZoomBlur(p=1.0)), None),
        "GlassBlur": (lambda: T.GlassBlur(p=1.0), a(lambda A: A.GlassBlur(p=1.0)), None),
        "GlassBlur-exact": (lambda: T.GlassBlur(mode="exact", p=1.0), a(lambda A: A.GlassBlur(mode="exact", p=1.0)), None),
        "AdvancedBlur": (lambda: T.AdvancedBlur(p=1.0), a(lambda A: A.AdvancedBlur(p=1.0)), None),
        "Sharpen": (lambda: T.Sharpen(p=1.0), a(lambda A: A.Sharpen(p=1.0)), None),
        "Emboss": (lambda: T.Emboss(p=1.0), a(lambda A: A.Emboss(p=1.0)), None),
        "UnsharpMask": (lambda: T.UnsharpMask(p=1.0), a(lambda A: A.UnsharpMask(p=1.0)), None),
        "EdgeDetect": (lambda: T.EdgeDetect(p=1.0), None, None),
        "Convolve": (lambda: T.Convolve([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]), None, None),
        "ShotNoise": (lambda: T.ShotNoise(p=1.0), a(lambda A: A.ShotNoise(p=1.0)), None),
        "MultiplicativeNoise": (lambda: T.MultiplicativeNoise(elementwise=True, p=1.0),
                                a(lambda A: A.MultiplicativeNoise(elementwise=True, p=1.0)), None),
        "AdditiveNoise": (lambda: T.AdditiveNoise(noise_type="gaussian", spatial_mode="per_pixel", p=1.0),
                          a(lambda A: A.AdditiveNoise(noise_type="gaussian", spatial_mode="per_pixel", p=1.0)), None),
        "ISONoise": (lambda: T.ISONoise(p=1.0), a(lambda A: A.ISONoise(p=1.0)), None),
        "ImageCompression": (lambda: T.ImageCompression(quality_range=(20, 60), p=1.0),
                             a(lambda A: A.ImageCompression(quality_range=(20, 60), p=1.0)),
                             k(lambda K: K.RandomJPEG(jpeg_quality=(20.0, 60.0), p=1.0))),
        "ImageCompression-webp": (lambda: T.ImageCompression(compression_type="webp", quality_range=(20, 60), p=1.0),
                                  a(lambda A: A.ImageCompression(compression_type="webp", quality_range=(20, 60), p=1.0)), None),
        "Downscale": (lambda: T.Downscale(scale_range=(0.25, 0.5), p=1.0), a(lambda A: A.Downscale(scale_range=(0.25, 0.5), p=1.0)),
                      None),
        "Pixelate": (lambda: T.Pixelate(block_size=(2, 8), p=1.0), None, None),
    }


def _run_op(name: str, facs, b: int, size: int, rounds: int, seed: int = 0) -> dict[str, float]:
    """img/s per library for one op and one batch size (medians over ``rounds``)."""
    ours_f, alb_f, kor_f = facs
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, size, size), generator=g, dtype=torch.uint8)
    fns = {}
    t = ours_f()
    gen = torch.Generator().manual_seed(1)
    fns["torchaug"] = lambda: t(x, generator=gen)
    if alb_f is not None:
        at = alb_f()
        at.set_random_seed(0)
        imgs = [np.ascontiguousarray(x[i].permute(1, 2, 0).numpy()) for i in range(b)]
        fns["albumentations"] = lambda: np.stack([at(image=im)["image"] for im in imgs])
    if kor_f is not None:
        kt = kor_f()
        xf = x.float() / 255
        fns["kornia"] = lambda: kt(xf)
    times = round_robin(fns, rounds, seed)
    out = {n: b / statistics.median(v) for n, v in times.items()}
    # ratios of the same round (both calls under the same machine load), then the median
    for n in times:
        if n != "torchaug":
            out[f"ratio_{n}"] = statistics.median(p / o for p, o in zip(times[n], times["torchaug"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated intra-op thread counts (default 1,2)")
    ap.add_argument("--sizes", default="32,224", help="32 (batch 256) and/or 224 (batch 32)")
    ap.add_argument("--only", default=None, help="comma-separated op names")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per measurement (default 7, --quick 3)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rounds = args.rounds or (3 if args.quick else 7)
    ops = _ops()
    names = list(ops) if args.only is None else args.only.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    threads = [int(s) for s in args.threads.split(",")]
    import cv2

    rows = []
    misses = []
    for th in threads:
        torch.set_num_threads(th)
        cv2.setNumThreads(th)
        for size in sizes:
            b = 256 if size <= 64 else 32
            for name in names:
                r = _run_op(name, ops[name], b, size, rounds)
                ours = r["torchaug"]
                alb = r.get("albumentations")
                kor = r.get("kornia")
                ra = r.get("ratio_albumentations")
                rk = r.get("ratio_kornia")
                goal = ""
                if size <= 64 and ra is not None and ra < 1.0:
                    goal = "miss (< albumentations)"
                if size > 64 and rk is not None and rk < 2.0:
                    goal = (goal + "; " if goal else "") + "miss (< 2x kornia)"
                if goal:
                    misses.append(f"{name} {b}x3x{size}x{size} {th} thr: {goal}")
                rows.append([name, f"{b}x3x{size}x{size}", th, ours, alb if alb else "-", kor if kor else "-",
                             f"{ra:.2f}x" if ra else "-", f"{rk:.2f}x" if rk else "-", goal or "ok"])
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
          f"{rounds} rounds, medians\n")
    print(markdown_table(["op", "batch", "threads", "torchaug img/s", "albumentations img/s", "kornia img/s",
                          "vs albumentations", "vs kornia", "goal"], rows))
    n_ops = len({r[0] for r in rows})
    missed = sorted({m.split(" ")[0] for m in misses})
    print(f"\n{len(missed)} of {n_ops} ops miss a goal in at least one setting: {', '.join(missed) or 'none'}")


if __name__ == "__main__":
    main()
