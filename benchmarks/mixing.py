"""Mixers side by side: torchaug vs timm and torchvision v2, against one plain copy of the batch.

    python benchmarks/mixing.py                     # both sizes, markdown table on stdout
    python benchmarks/mixing.py --reps 30 --out docs/mixing_bench.md
    python benchmarks/mixing.py --device cuda       # float rows on the GPU

Every method runs in the same process with ``torch.set_num_threads(2)``; the methods are timed
round-robin (one call each, repeated) so that load from other processes hits all of them alike;
the table reports the best and the median time (the best is the steadier number on a shared
machine). Float rows run with 2 threads, each library with its defaults (torchaug's CPU image
kernels use one intra-op thread, see ``torchaug.mixing.set_cpu_threads``); the uint8 collate rows
run with 1 thread, as inside a DataLoader worker. "copy" is ``x.clone()`` (float) or ``default_collate`` of
the sample list (uint8 collate rows). timm's ``Mixup`` works in place on its input (so does
torchaug with ``inplace=True``); torchvision v2 and torchaug's default allocate the output.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from typing import Callable

import numpy as np
import torch
from torch.utils.data import default_collate

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from torchaug.mixing import CutMix, MixCollate, MixUp  # noqa: E402

K = 10


def _peers():
    peers = {}
    try:
        from timm.data.mixup import FastCollateMixup, Mixup

        peers["timm"] = (Mixup, FastCollateMixup)
    except ImportError:  # pragma: no cover
        pass
    try:
        from torchvision.transforms import v2

        peers["tv"] = v2
    except ImportError:  # pragma: no cover
        pass
    return peers


def float_methods(x: torch.Tensor, y: torch.Tensor) -> dict[str, Callable[[], object]]:
    peers = _peers()
    g = torch.Generator(x.device).manual_seed(0)
    work = x.clone()  # for the in-place methods (values stay in [0, 1]: convex combinations)
    m: dict[str, Callable[[], object]] = {"copy (x.clone())": lambda: x.clone()}

    def clone_1thread() -> torch.Tensor:
        n = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return x.clone()
        finally:
            torch.set_num_threads(n)

    m["copy (x.clone(), 1 thread)"] = clone_1thread
    mix = MixUp(1.0, num_classes=K)
    mix_elem = MixUp(1.0, num_classes=K, mode="elem")
    cut = CutMix(1.0, num_classes=K)
    cut_elem = CutMix(1.0, num_classes=K, mode="elem")
    m["torchaug MixUp"] = lambda: mix(x, y, generator=g)
    m["torchaug MixUp inplace"] = lambda: mix(work, y, generator=g, inplace=True)
    m["torchaug MixUp elem"] = lambda: mix_elem(x, y, generator=g)
    if "timm" in peers:
        Mixup = peers["timm"][0]
        tm = Mixup(mixup_alpha=1.0, cutmix_alpha=0.0, num_classes=K, label_smoothing=0.0)
        tc = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=K, label_smoothing=0.0)
        m["timm Mixup (in place)"] = lambda: tm(work, y)
    if "tv" in peers:
        tvm = peers["tv"].MixUp(alpha=1.0, num_classes=K)
        tvc = peers["tv"].CutMix(alpha=1.0, num_classes=K)
        m["torchvision v2 MixUp"] = lambda: tvm(x, y)
    m["torchaug CutMix"] = lambda: cut(x, y, generator=g)
    m["torchaug CutMix inplace"] = lambda: cut(work, y, generator=g, inplace=True)
    m["torchaug CutMix elem"] = lambda: cut_elem(x, y, generator=g)
    if "timm" in peers:
        m["timm Mixup cutmix (in place)"] = lambda: tc(work, y)
    if "tv" in peers:
        m["torchvision v2 CutMix"] = lambda: tvc(x, y)
    return m


def uint8_methods(shape: tuple[int, ...]) -> dict[str, Callable[[], object]]:
    peers = _peers()
    rng = np.random.default_rng(0)
    samples = [(rng.integers(0, 256, shape[1:], dtype=np.uint8), int(i % K)) for i in range(shape[0])]
    m: dict[str, Callable[[], object]] = {"copy (default_collate)": lambda: default_collate(samples)}
    ours = MixCollate(MixUp(1.0, num_classes=K))
    ours_cut = MixCollate(CutMix(1.0, num_classes=K))
    m["torchaug MixCollate(MixUp)"] = lambda: ours(samples)
    m["torchaug MixCollate(CutMix)"] = lambda: ours_cut(samples)
    if "timm" in peers:
        Fast = peers["timm"][1]
        fm = Fast(mixup_alpha=1.0, cutmix_alpha=0.0, num_classes=K, label_smoothing=0.0)
        fc = Fast(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=K, label_smoothing=0.0)
        m["timm FastCollateMixup mixup"] = lambda: fm(samples)
        m["timm FastCollateMixup cutmix"] = lambda: fc(samples)
    return m


def run(methods: dict[str, Callable[[], object]], reps: int, warmup: int = 3, sync: Callable[[], None] = lambda: None) -> dict[str, tuple[float, float]]:
    for f in methods.values():
        for _ in range(warmup):
            f()
    times: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(reps):
        for k, f in methods.items():
            sync()
            t0 = time.perf_counter()
            f()
            sync()
            times[k].append(time.perf_counter() - t0)
    return {k: (min(v) * 1e3, statistics.median(v) * 1e3) for k, v in times.items()}


def table(title: str, res: dict[str, tuple[float, float]]) -> str:
    base, base_med = next(iter(res.values()))
    lines = [
        f"**{title}**",
        "",
        "| method | ms (best) | × copy (best) | ms (median) | × copy (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    for k, (best, med) in res.items():
        lines.append(f"| {k} | {best:.2f} | {best / base:.2f} | {med:.2f} | {med / base_med:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--sizes", default="256x3x32x32,64x3x224x224")
    ap.add_argument("--out", default=None, help="also write the markdown here")
    ap.add_argument("--device", default="cpu", help="cuda: the float rows on the GPU (the collate rows stay on the CPU)")
    args = ap.parse_args()
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.set_num_threads(2)
    parts = [
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
        f"reps={args.reps}"
    ]
    for spec in args.sizes.split(","):
        shape = tuple(int(s) for s in spec.split("x"))
        x = torch.rand(shape, device=dev)
        y = torch.arange(shape[0], device=dev) % K
        parts.append(table(f"float32 {spec} ({dev.type})", run(float_methods(x, y), args.reps, sync=sync)))
        if dev.type != "cpu":
            continue
        torch.set_num_threads(1)  # as inside a DataLoader worker (torch runs 1 thread per worker)
        parts.append(table(f"uint8 collate {spec} (1 thread, as in a worker)", run(uint8_methods(shape), args.reps)))
        torch.set_num_threads(2)
    text = "\n\n".join(parts)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
