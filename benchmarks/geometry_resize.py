"""Dihedral, nearest-neighbour warp and resize/pad ops against their peers: images per second side by side, one process.

For each op, at 256x3x32x32 and 32x3x224x224 uint8: torchaug (one batched call, per-sample
parameters), torchvision v2 per sample (a loop over the batch, each image its own draw) and
batched (one call on the batch: one draw for all, its semantics), albumentations per image (HWC
numpy), kornia batched where it has the op (on float32 [0, 1]: it takes no uint8). Ratios are torchaug / peer (higher is better).

    PYTHONPATH=. python benchmarks/geometry_resize.py --threads 2 [--sizes 32,224] [--only D4,LongestMaxSize] [--rounds 5]

Timings are not tests: run on a quiet machine and quote the load average the script prints.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _timing import markdown_table, measure  # noqa: E402

from torchaug import transforms as T  # noqa: E402
from torchaug.transforms.resize import FiveCrop  # noqa: E402


def _ops(size: int):
    """name -> {library: factory(batch) -> callable}; sizes scale with the image."""
    import albumentations as A
    import kornia.augmentation as K
    import torchvision.transforms.v2 as V

    small, big = max(8, size * 3 // 4), size * 3 // 2

    def per_sample(tv):
        return lambda x: (lambda: [tv(xi) for xi in x])

    def batched(tv):
        return lambda x: (lambda: tv(x))

    def albu(at):
        def make(x):
            imgs = [xi.permute(1, 2, 0).contiguous().numpy() for xi in x]
            return lambda: [at(image=im)["image"] for im in imgs]
        return make

    def kornia(k):  # kornia takes floating images only: converted outside the timed call
        def make(x):
            xf = x.float() / 255
            return lambda: k(xf)
        return make

    def ours(t):
        return lambda x: (lambda: t(x))

    return {
        "RandomRotate90": {"torchaug": ours(T.RandomRotate90()), "albumentations": albu(A.RandomRotate90(p=1.0)),
                           "kornia": kornia(K.RandomRotation90(times=(0, 3), p=1.0))},
        "Transpose": {"torchaug": ours(T.Transpose(p=0.5)), "albumentations": albu(A.Transpose(p=0.5))},
        "D4": {"torchaug": ours(T.D4()), "albumentations": albu(A.D4(p=1.0))},
        "LongestMaxSize": {"torchaug": ours(T.LongestMaxSize(max_size=small)),
                           "albumentations": albu(A.LongestMaxSize(max_size=small)),
                           "tv per sample": per_sample(V.Resize(size=None, max_size=small)),
                           "tv batched": batched(V.Resize(size=None, max_size=small)),
                           "kornia": kornia(K.LongestMaxSize(small))},
        "SmallestMaxSize": {"torchaug": ours(T.SmallestMaxSize(max_size=big)),
                            "albumentations": albu(A.SmallestMaxSize(max_size=big)),
                            "tv per sample": per_sample(V.Resize(big)), "tv batched": batched(V.Resize(big)),
                            "kornia": kornia(K.SmallestMaxSize(big))},
        "PadIfNeeded": {"torchaug": ours(T.PadIfNeeded(min_height=big, min_width=big)),
                        "albumentations": albu(A.PadIfNeeded(min_height=big, min_width=big))},
        "RandomScale (list out)": {"torchaug": ours(T.RandomScale(0.2, p=1.0)),
                                   "albumentations": albu(A.RandomScale(0.2, p=1.0))},
        "RandomResize (list out)": {"torchaug": ours(T.RandomResize(small, big)),
                                    "tv per sample": per_sample(V.RandomResize(small, big)),
                                    "tv batched": batched(V.RandomResize(small, big))},
        "ScaleJitter (size=)": {"torchaug": ours(T.ScaleJitter((size, size), (0.5, 1.5), size=size)),
                                "tv per sample": per_sample(V.Compose([V.ScaleJitter((size, size), (0.5, 1.5)), V.Resize((size, size))])),
                                "tv batched": batched(V.Compose([V.ScaleJitter((size, size), (0.5, 1.5)), V.Resize((size, size))]))},
        "RandomShortestSize (list out)": {"torchaug": ours(T.RandomShortestSize([small, size, big])),
                                          "tv per sample": per_sample(V.RandomShortestSize([small, size, big])),
                                          "tv batched": batched(V.RandomShortestSize([small, size, big]))},
        "Letterbox": {"torchaug": ours(T.Letterbox((big, big)))},
        "FiveCrop": {"torchaug": ours(FiveCrop(small)), "tv batched": batched(V.FiveCrop(small))},
        "RandomRotation (nearest)": {"torchaug": ours(T.RandomRotation(30)),
                                     "albumentations": albu(A.Rotate(limit=30, interpolation=0, border_mode=0, p=1.0)),
                                     "tv per sample": per_sample(V.RandomRotation(30)), "tv batched": batched(V.RandomRotation(30)),
                                     "kornia": kornia(K.RandomRotation(30.0, resample="nearest", p=1.0))},
        "RandomAffine (nearest)": {"torchaug": ours(T.RandomAffine(20, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10)),
                                   "tv per sample": per_sample(V.RandomAffine(20, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10)),
                                   "tv batched": batched(V.RandomAffine(20, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10)),
                                   "kornia": kornia(K.RandomAffine(20.0, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10.0,
                                                                   resample="nearest", p=1.0))},
        "TrivialAugmentWide": {"torchaug": ours(T.TrivialAugmentWide()), "tv per sample": per_sample(V.TrivialAugmentWide())},
    }


PEERS = ("albumentations", "tv per sample", "tv batched", "kornia")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="2", help="comma-separated intra-op thread counts (default 2)")
    ap.add_argument("--sizes", default="32,224", help="32 (batch 256) and/or 224 (batch 32)")
    ap.add_argument("--only", default=None, help="comma-separated op names (prefixes)")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per measurement (default 5)")
    ap.add_argument("--stat", default="median", choices=("median", "min"), help="statistic of the rounds")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import cv2

    key = "median_s" if args.stat == "median" else "min_s"
    rows = []
    for th in [int(v) for v in args.threads.split(",")]:
        torch.set_num_threads(th)
        cv2.setNumThreads(th)
        for size in [int(v) for v in args.sizes.split(",")]:
            b = 256 if size <= 64 else 32
            x = torch.randint(0, 256, (b, 3, size, size), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
            for name, libs in _ops(size).items():
                if args.only and not any(name.startswith(o) for o in args.only.split(",")):
                    continue
                rate = {}
                for lib, make in libs.items():
                    fn = make(x)
                    rate[lib] = b / measure(fn, items=b, warmup=1, repeats=args.rounds)[key]
                ours = rate["torchaug"]
                row = [name, f"{b}x3x{size}x{size}", th, ours]
                for peer in PEERS:
                    row.append(f"{rate[peer]:,.0f} ({ours / rate[peer]:.2f}x)" if peer in rate else "-")
                rows.append(row)
                print(f"  {row}", file=sys.stderr, flush=True)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
          f"{args.rounds} rounds, {args.stat}s; img/s (torchaug / peer)\n")
    print(markdown_table(["op", "batch", "threads", "torchaug img/s", *[f"{p} img/s" for p in PEERS]], rows))


if __name__ == "__main__":
    main()
