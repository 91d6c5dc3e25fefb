"""Multi-view crops and the literature mixers, side by side with their peers (CPU).

    python benchmarks/views_mixers.py                  # 2 threads, 7 rounds, medians
    python benchmarks/views_mixers.py --quick          # 3 rounds
    python benchmarks/views_mixers.py --threads 1,2 --stat min
    python benchmarks/views_mixers.py --part mixers     # one table only (views / mixers)

Goals (docs/views.md):

- DINO multi-crop (``configs/transforms/dino_views.yaml``: 2 global 224 + 6 local 96 crops with
  flip, colour jitter, grayscale, blur, solarize) on 64 uint8 images of 256x256: torchaug's
  batched ``MultiView`` vs torchvision v2's per-sample pipelines (what a ``Dataset`` calls per
  image, DINO's ``DataAugmentationDINO`` on tensors): goal >= 3x;
- FMix / ResizeMix / SaliencyMix on 32x3x224x224 float vs a plain copy ``x.clone()`` (goal:
  within 1.5x of the copy), and vs timm's ``Mixup`` CutMix (batch mode, in place on a copy)
  where comparable; with two floor rows, the passes the mixers cannot skip timed alone (the
  per-pixel blend, the bilinear resize of the patch).

Each round runs every contender once in a shuffled order; ratios are medians of the per-round
ratios (both calls of a round see the same machine load). Timings, not tests: a loaded machine
gives unreliable numbers; report ``uptime`` with them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import markdown_table, round_robin  # noqa: E402


def _rounds(fns: dict, rounds: int, stat: str, seed: int = 0) -> dict[str, float]:
    times = round_robin(fns, rounds, seed)
    agg = statistics.median if stat == "median" else min
    out = {n: agg(v) for n, v in times.items()}
    out["_times"] = times  # type: ignore[assignment]
    return out


def _ratio(times: dict, a: str, b: str) -> float:
    """Median over rounds of time(a) / time(b)."""
    return statistics.median(p / q for p, q in zip(times[a], times[b]))


def tv_dino():
    """torchvision v2 per-sample DINO multi-crop with the same settings as dino_views.yaml."""
    from torchvision.transforms import v2

    def common(size, scale, blur_p, k, solar=0.0):
        ops = [v2.RandomResizedCrop(size, scale=scale, antialias=True), v2.RandomHorizontalFlip(),
               v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), v2.RandomGrayscale(0.2),
               v2.RandomApply([v2.GaussianBlur(k, sigma=(0.1, 2.0))], p=blur_p)]
        if solar:
            ops.append(v2.RandomSolarize(128, p=solar))
        return v2.Compose(ops)

    g1, g2, loc = common(224, (0.4, 1.0), 1.0, 23), common(224, (0.4, 1.0), 0.1, 23, 0.2), common(96, (0.05, 0.4), 0.5, 9)

    def run(images):
        return [[g1(im), g2(im)] + [loc(im) for _ in range(6)] for im in images]

    return run


def bench_views(rounds: int, stat: str) -> list[list]:
    from torchaug.preview import load_config

    mv = load_config("transforms", "dino_views")
    x = torch.randint(0, 256, (64, 3, 256, 256), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    images = list(x.unbind(0))
    tv = tv_dino()
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(0)
    r = _rounds({"torchaug": lambda: mv(x, generator=gen), "torchvision": lambda: tv(images)}, rounds, stat)
    return [["DINO 2x224 + 6x96", "64x3x256x256 uint8", 64 / r["torchaug"], 64 / r["torchvision"],
             _ratio(r["_times"], "torchvision", "torchaug"), ">= 3x"]]


def bench_mixers(rounds: int, stat: str) -> list[list]:
    from torchaug.mixing import FMix, ResizeMix, SaliencyMix

    x = torch.rand(32, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    y = torch.arange(32) % 10
    gen = torch.Generator().manual_seed(1)
    fns = {"clone": lambda: x.clone()}
    mixers = {"FMix": FMix(1.0, 3.0, num_classes=10), "ResizeMix": ResizeMix(num_classes=10),
              "SaliencyMix": SaliencyMix(1.0, num_classes=10), "FMix elem": FMix(1.0, 3.0, num_classes=10, mode="elem")}
    for name, m in mixers.items():
        fns[name] = lambda m=m: m(x, y, generator=gen)
    # the passes a mixer cannot skip, alone: the per-pixel blend of FMix and of per-sample boxes (two images and
    # a weight map read, one written), and ResizeMix's bilinear resize of every image to the mean patch (tau
    # uniform in [0.1, 0.8]: side 0.45 x 224)
    from torchaug.functional._bags import resize_bilinear_bags
    from torchaug.mixing import _kernels as K

    w = (torch.rand(32, 1, 224, 224, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    floors = {"blend pass alone (lerp_pairs)": lambda: K.lerp_pairs(x, torch.empty_like(x), w, 0, None),
              "bilinear resize to 100x100 alone": lambda: resize_bilinear_bags(x, (100, 100))}
    fns.update(floors)
    try:
        from timm.data.mixup import Mixup

        tm = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=10, label_smoothing=0.0)
        np.random.seed(0)
        fns["timm CutMix"] = lambda: tm(x.clone(), y)
    except ImportError:  # pragma: no cover
        pass
    r = _rounds(fns, rounds, stat)
    rows = []
    for name in mixers:
        vs_timm = _ratio(r["_times"], name, "timm CutMix") if "timm CutMix" in r else float("nan")
        rows.append([name, "32x3x224x224 float", 32 / r[name], _ratio(r["_times"], name, "clone"), vs_timm, "<= 1.5x clone"])
    for name in floors:
        rows.append([name, "32x3x224x224 float", 32 / r[name], _ratio(r["_times"], name, "clone"), float("nan"),
                     "floor of the mixers above"])
    if "timm CutMix" in r:
        rows.append(["timm CutMix (copy + paste)", "32x3x224x224 float", 32 / r["timm CutMix"],
                     _ratio(r["_times"], "timm CutMix", "clone"), 1.0, "peer"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="2", help="comma-separated intra-op thread counts (default 2)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per measurement (default 7, --quick 3)")
    ap.add_argument("--stat", choices=("median", "min"), default="median")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--part", choices=("all", "views", "mixers"), default="all", help="run only one table")
    args = ap.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    for th in (int(s) for s in args.threads.split(",")):
        torch.set_num_threads(th)
        print(f"\n## {th} thread(s), {rounds} rounds, {args.stat}s\n")
        if args.part in ("all", "views"):
            v = bench_views(rounds, args.stat)
            print(markdown_table(["pipeline", "input", "torchaug img/s", "torchvision v2 img/s", "speed-up", "goal"], v))
            print()
        if args.part in ("all", "mixers"):
            m = bench_mixers(rounds, args.stat)
            print(markdown_table(["mixer", "input", "torchaug img/s", "time / clone", "time / timm CutMix", "goal"], m))


if __name__ == "__main__":
    main()
