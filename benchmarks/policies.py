"""AugMix and RandAugment policies against torchvision v2 (per sample) and timm (per PIL image).

    python benchmarks/policies.py                       # CPU, 2 threads, both sizes
    python benchmarks/policies.py --threads 1,2 --rounds 3 --stat min
    python benchmarks/policies.py --only augmix --sizes 32

Batches: 256x3x32x32 and 32x3x224x224 uint8 (smooth random content, the same images for every
library). Cases:

- ``augmix``: torchaug ``AugMix()`` (width 3, depth 1..3, severity 3, all ops) in one call over the
  batch; torchvision v2 ``AugMix()`` called on each image (its per-call draw is per image then);
  timm ``augment_and_mix_transform("augmix-m3-w3")`` on each PIL image (what a DataLoader
  worker does).
- ``AugMix, warps and mix only``: the same torchaug call with every op except its bilinear warps
  (ShearX/Y, Rotate: ``grid_sample``, exact to torchvision) replaced by Identity, against the whole
  torchvision AugMix: what no faster colour op can remove. Under 5x, the 5x goal is out of reach.
- ``rand-m9-mstd0.5-inc1``: timm's ``rand_augment_transform`` on each PIL image against torchaug's
  ``from_timm_string`` of the same string when present, else torchaug's ``RandAugment(2, 9)``
  (torchvision's op table; the row says which).

Rounds: each round times every library once, in a fresh random order; img/s are the ``--stat``
over the rounds, the ratios the ``--stat`` of the per-round ratios. Goal (issue 26): AugMix >= 5x
both torchvision per sample and timm. Timings on a loaded machine are not a verdict.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._timing import markdown_table, round_robin  # noqa: E402


def _images(b: int, size: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    base = torch.randint(0, 256, (b, 3, max(size // 4, 2), max(size // 4, 2)), generator=g, dtype=torch.uint8)
    x = torch.nn.functional.interpolate(base.float(), size=(size, size), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


def _cases(x: torch.Tensor):
    import torchaug.transforms as T

    b = x.shape[0]
    cases = {}
    ours = T.AugMix()
    gen = torch.Generator().manual_seed(1)
    fns = {"torchaug": lambda: ours(x, generator=gen)}
    try:
        from torchvision.transforms import v2

        tv = v2.AugMix()
        fns["torchvision"] = lambda: torch.stack([tv(x[i]) for i in range(b)])
    except ImportError:  # pragma: no cover
        pass
    pil = None
    try:
        from PIL import Image
        from timm.data.auto_augment import augment_and_mix_transform, rand_augment_transform

        pil = [Image.fromarray(x[i].permute(1, 2, 0).numpy()) for i in range(b)]
        hp = {"translate_const": int(x.shape[-1] * 0.45), "img_mean": (124, 116, 104)}
        tm = augment_and_mix_transform("augmix-m3-w3", hp)
        fns["timm"] = lambda: [tm(im) for im in pil]
    except ImportError:  # pragma: no cover
        pass
    cases["AugMix"] = fns
    # what a torchaug AugMix call cannot drop: the same call with every op but its bilinear warps (ShearX/Y,
    # Rotate, through torchvision's kernel for exactness) replaced by Identity, i.e. the warps, the chains'
    # copies and the mix
    from torchaug.transforms.policies import _ID

    _, p = ours(x, generator=torch.Generator().manual_seed(3), return_params=True)
    warp = torch.isin(p["op"], torch.tensor([_ID["ShearX"], _ID["ShearY"], _ID["Rotate"]]))
    only = {**p, "op": torch.where(warp, p["op"], _ID["Identity"]),
            "magnitude": torch.where(warp, p["magnitude"], torch.zeros_like(p["magnitude"]))}
    floor = {"torchaug": lambda: ours(x, params=only)}
    if "torchvision" in fns:
        floor["torchvision"] = fns["torchvision"]
    cases["AugMix, warps and mix only"] = floor
    rs = "rand-m9-mstd0.5-inc1"
    if hasattr(T, "from_timm_string"):
        ra, label = T.from_timm_string(rs, img_size=x.shape[-1]), f"{rs} (from_timm_string)"
    else:
        ra, label = T.RandAugment(num_ops=2, magnitude=9), f"{rs} (torchaug RandAugment(2, 9))"
    gen2 = torch.Generator().manual_seed(2)
    fns2 = {"torchaug": lambda: ra(x, generator=gen2)}
    if pil is not None:
        tr = rand_augment_transform(rs, hp)
        fns2["timm"] = lambda: [tr(im) for im in pil]
    cases[label] = fns2
    return cases


def _time(fns, rounds: int, stat, seed: int = 0) -> dict[str, float]:
    times = round_robin(fns, rounds, seed)
    out = {n: stat(v) for n, v in times.items()}
    for n in times:
        if n != "torchaug":
            out[f"ratio_{n}"] = stat([p / o for p, o in zip(times[n], times["torchaug"])])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="2", help="comma-separated intra-op thread counts (default 2)")
    ap.add_argument("--sizes", default="32,224", help="32 (batch 256) and/or 224 (batch 32)")
    ap.add_argument("--only", default=None, help="augmix or rand")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--stat", choices=("median", "min"), default="median")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    stat = statistics.median if args.stat == "median" else min
    rows = []
    for th in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(th)
        for size in (int(s) for s in args.sizes.split(",")):
            b = 256 if size <= 64 else 32
            x = _images(b, size)
            for name, fns in _cases(x).items():
                if args.only and not name.lower().startswith(args.only.lower()):
                    continue
                r = _time(fns, args.rounds, stat)
                rtv, rtm = r.get("ratio_torchvision"), r.get("ratio_timm")
                goal = ""
                if name == "AugMix":
                    goal = "ok" if (rtv or 99) >= 5 and (rtm or 99) >= 5 else "miss (< 5x)"
                elif name.startswith("AugMix, warps"):
                    goal = "floor: the 5x goal needs > 5x here"
                rows.append([name, f"{b}x3x{size}x{size}", th, b / r["torchaug"],
                             b / r["torchvision"] if "torchvision" in r else "-", b / r["timm"] if "timm" in r else "-",
                             f"{rtv:.1f}x" if rtv else "-", f"{rtm:.1f}x" if rtm else "-", goal or "-"])
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
          f"{args.rounds} rounds, {args.stat}s\n")
    print(markdown_table(["case", "batch", "threads", "torchaug img/s", "torchvision img/s", "timm img/s",
                          "vs torchvision", "vs timm", "goal"], rows))


if __name__ == "__main__":
    main()
