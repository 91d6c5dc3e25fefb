"""The GPU benchmark set (issue 20): pipeline, mixers and SMOTE on one device, side by side.

    python benchmarks/gpu.py --device cuda                 # on a CUDA machine, about a minute
    python benchmarks/gpu.py --device cpu                  # dry run: small sizes, same code
    python benchmarks/gpu.py --device cuda --torchaug061 /tmp/torchaug061   # + the PyPI peer

Rows and goals (throughput ratios, not timed tests):

- ImageNet pipeline, uint8 ``(B, 3, 256, 256)`` on the device -> RandomResizedCrop(224) +
  RandomHorizontalFlip + ColorJitter(0.4, 0.4, 0.4, 0.1) + RandomErasing(p=0.5), per-sample
  parameters, batch 256 / 512 / 1024: torchaug on uint8 against kornia's
  ``AugmentationSequential`` on float (goal >= 2x at batch 256) and the PyPI package ``torchaug``
  0.6.1 (goal >= 1x): its import name is ours, so it runs in a child process with its own
  ``PYTHONPATH`` (``--torchaug061 DIR``: the unpacked wheel); its crops are per sample only with
  ``num_chunks=B``, so both that and its default (one crop per batch, ``num_chunks=1``) are shown.
- MixUp and CutMix on ``(256, 3, 224, 224)`` float and uint8 against ``x.clone()`` (goal: within
  1.3x of the copy).
- SMOTE at 200,000 x 64 (10% minority) on the device against imbalanced-learn on the CPU
  (goal >= 20x).

Timing: CUDA events around each call (wall clock on the CPU), median of ``--repeats`` after two
warm-ups; peak memory: ``torch.cuda.max_memory_allocated`` over the timed calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks._timing import markdown_table  # noqa: E402


def device_time(fn: Callable[[], Any], device: torch.device, repeats: int) -> tuple[float, float]:
    """Median seconds per call and peak device memory (MiB, NaN on CPU) over ``repeats`` calls."""
    for _ in range(2):
        fn()
    times = []
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    else:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        peak = float("nan")
    return statistics.median(times), peak


def _ours_pipeline():
    from torchaug.transforms import ColorJitter, Compose, RandomErasing, RandomHorizontalFlip, RandomResizedCrop

    return Compose([RandomResizedCrop(224), RandomHorizontalFlip(), ColorJitter(0.4, 0.4, 0.4, 0.1), RandomErasing(p=0.5)])


def _kornia_pipeline():
    import kornia.augmentation as K

    return K.AugmentationSequential(
        K.RandomResizedCrop((224, 224)), K.RandomHorizontalFlip(), K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0), K.RandomErasing(p=0.5)
    )


#: the child process timing the PyPI ``torchaug`` 0.6.1 (argv: device, batch, repeats, num_chunks)
_CHILD_061 = r"""
import json, statistics, sys, time, torch
import torchaug as T061
import torchaug.transforms as T
dev, b, reps, chunks = torch.device(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pipe = T.Compose([T.RandomResizedCrop(224, num_chunks=chunks, batch_transform=True),
                  T.RandomHorizontalFlip(batch_transform=True),
                  T.RandomColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0, batch_transform=True),
                  T.RandomErasing(p=0.5, batch_transform=True)])
x = torch.randint(0, 256, (b, 3, 256, 256), dtype=torch.uint8, device=dev).float().div_(255)
for _ in range(2): pipe(x)
ts = []
for _ in range(reps):
    if dev.type == "cuda":
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True); s.record(); pipe(x); e.record(); e.synchronize(); ts.append(s.elapsed_time(e) / 1e3)
    else:
        t0 = time.perf_counter(); pipe(x); ts.append(time.perf_counter() - t0)
print(json.dumps({"s": statistics.median(ts), "version": getattr(T061, "__version__", "?")}))
"""


def _torchaug061(path: str | None, device: torch.device, b: int, repeats: int, chunks: int) -> float | None:
    if not path:
        return None
    env = {**os.environ, "PYTHONPATH": path}
    try:
        res = subprocess.run([sys.executable, "-c", _CHILD_061, str(device), str(b), str(repeats), str(chunks)],
                             env=env, capture_output=True, text=True, timeout=300, cwd="/")
        return json.loads(res.stdout.strip().splitlines()[-1])["s"]
    except Exception as e:  # reported, not fatal: the peer is optional
        print(f"torchaug 0.6.1 child failed ({chunks=}): {e}; {res.stderr[-300:] if 'res' in locals() else ''}", file=sys.stderr)
        return None


def pipeline_rows(device: torch.device, batches: list[int], repeats: int, path061: str | None) -> list[list]:
    rows = []
    ours, kn = _ours_pipeline().to(device), None
    try:
        kn = _kornia_pipeline().to(device)
    except ImportError:
        pass
    for b in batches:
        x = torch.randint(0, 256, (b, 3, 256, 256), dtype=torch.uint8, device=device)
        xf = x.float().div_(255)
        gen = torch.Generator(device=device).manual_seed(0)
        s_ours, m_ours = device_time(lambda: ours(x, generator=gen), device, repeats)
        s_oursf, m_oursf = device_time(lambda: ours(xf, generator=gen), device, repeats)
        rows.append([b, "torchaug (uint8)", b / s_ours, 1.0, m_ours])
        rows.append([b, "torchaug (float)", b / s_oursf, s_oursf / s_ours, m_oursf])
        if kn is not None:
            s_kn, m_kn = device_time(lambda: kn(xf), device, repeats)
            rows.append([b, "kornia (float)", b / s_kn, s_kn / s_ours, m_kn])
        for chunks, label in ((b, "per-sample crops, num_chunks=B"), (1, "one crop per batch, num_chunks=1")):
            s = _torchaug061(path061, device, b, repeats, chunks)
            if s is not None:
                rows.append([b, f"PyPI torchaug 0.6.1 (float, {label})", b / s, s / s_ours, float("nan")])
        del x, xf
    return rows


def mixing_rows(device: torch.device, b: int, size: int, repeats: int) -> list[list]:
    from torchaug.mixing import CutMix, MixUp

    rows = []
    y = torch.arange(b, device=device) % 1000
    for dtype in (torch.float32, torch.uint8):
        x = torch.randint(0, 256, (b, 3, size, size), dtype=torch.uint8, device=device)
        x = x if dtype == torch.uint8 else x.float().div_(255)
        s_copy, _ = device_time(lambda: x.clone(), device, repeats)
        rows.append([str(dtype).replace("torch.", ""), "copy (x.clone())", b / s_copy, 1.0])
        for name, m in (("MixUp", MixUp(alpha=0.8, num_classes=1000)), ("CutMix", CutMix(alpha=1.0, num_classes=1000))):
            m = m.to(device)
            gen = torch.Generator(device=device).manual_seed(0)
            s, _ = device_time(lambda: m(x, y, generator=gen), device, repeats)
            rows.append([str(dtype).replace("torch.", ""), name, b / s, s / s_copy])
    return rows


def smote_rows(device: torch.device, n: int, d: int, repeats: int) -> list[list]:
    from torchaug.resampling import SMOTE

    rng = np.random.default_rng(0)
    n_min = n // 10
    X = np.concatenate([rng.normal(0, 1, (n - n_min, d)), rng.normal(0.5, 1, (n_min, d))]).astype(np.float32)
    y = np.r_[np.zeros(n - n_min, np.int64), np.ones(n_min, np.int64)]
    Xd, yd = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    s_ours, m_ours = device_time(lambda: SMOTE(random_state=0).fit_resample(Xd, yd), device, repeats)
    rows = [[f"{n:,} x {d}", f"torchaug SMOTE ({device.type})", s_ours, 1.0, m_ours]]
    try:
        from imblearn.over_sampling import SMOTE as ImbSMOTE

        t0 = time.perf_counter()
        ImbSMOTE(random_state=0).fit_resample(X, y)
        s_imb = time.perf_counter() - t0
        rows.append([f"{n:,} x {d}", f"imbalanced-learn SMOTE (CPU, {os.cpu_count()} cores)", s_imb, s_imb / s_ours, float("nan")])
    except ImportError:
        pass
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per row (default 10; 3 on CPU)")
    ap.add_argument("--torchaug061", default=os.environ.get("TORCHAUG061_PATH"), help="folder holding the PyPI torchaug 0.6.1 package")
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args()
    device = torch.device(args.device)
    dry = device.type == "cpu"
    repeats = args.repeats or (3 if dry else 10)
    batches, mix_b, smote_n = ([8], 16, 20_000) if dry else ([256, 512, 1024], 256, 200_000)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU dry run ({torch.get_num_threads()} threads, small sizes)"
    print(f"device: {name}; torch {torch.__version__}\n")
    pipe = pipeline_rows(device, batches, repeats, args.torchaug061)
    print("ImageNet pipeline (RandomResizedCrop 224 + flip + ColorJitter + RandomErasing), from 256x256\n")
    print(markdown_table(["batch", "library", "img/s", "torchaug uint8 speed-up", "peak MiB"], pipe))
    mix = mixing_rows(device, mix_b, 224, repeats)
    print(f"\nMixers at {mix_b}x3x224x224\n")
    print(markdown_table(["dtype", "method", "img/s", "time / copy"], mix))
    smote = smote_rows(device, smote_n, 64, max(1, repeats // 3))
    print("\nSMOTE (10% minority, k=5)\n")
    print(markdown_table(["data", "method", "seconds", "speed-up of torchaug", "peak MiB"], smote))
    print("\n" + "\n".join(_goals(pipe, mix, smote, batches[0])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name, "pipeline": pipe, "mixing": mix, "smote": smote}, f, indent=1, default=str)


def _goals(pipe: list[list], mix: list[list], smote: list[list], b0: int) -> list[str]:
    ratio = {(r[0], r[1]): r[3] for r in pipe}
    lines = []
    for peer, goal in (("kornia (float)", 2.0), ("PyPI torchaug 0.6.1 (float, per-sample crops, num_chunks=B)", 1.0)):
        if (b0, peer) in ratio:
            v = ratio[(b0, peer)]
            lines.append(f"- pipeline at batch {b0}: torchaug / {peer} = {v:.2f}x (goal >= {goal:g}: {'met' if v >= goal else 'not met'})")
    for dtype, method, _, over in mix:
        if method != "copy (x.clone())":
            lines.append(f"- {method} {dtype}: {over:.2f}x the copy's time (goal <= 1.3: {'met' if over <= 1.3 else 'not met'})")
    if len(smote) > 1:
        v = smote[1][3]
        lines.append(f"- SMOTE: {v:.1f}x imbalanced-learn (goal >= 20: {'met' if v >= 20 else 'not met'})")
    return lines


if __name__ == "__main__":
    main()
