"""torchaug.corruptions against imagecorruptions looped over the batch (issue 24).

    python benchmarks/corruptions.py                 # CPU, 2 threads, both shapes, all 19 at severity 3
    python benchmarks/corruptions.py --quick         # fewer repeats
    python benchmarks/corruptions.py --device cuda   # torchaug on the GPU (the reference stays on the CPU)
    python benchmarks/corruptions.py --only fog,motion_blur --keep-freed-memory   # some rows; glibc keeps freed memory
    python benchmarks/corruptions.py --write-cifar /work/shared/data/cifar10-jpeg.tar.gz --per-class 20

Shapes: 256x3x32x32 and 32x3x224x224 uint8, severity 3, the ImageNet-C constants for both
libraries (``constants="imagenet"``: imagecorruptions applies them at every size, so both do the
same maths). torchaug: one ``corrupt(x, name, 3)`` call on the batch. imagecorruptions 1.1.2:
``corrupt(image, severity=3, corruption_name=name)`` on each HWC image; its glass blur, Gaussian
blur and fog fail on NumPy 2 / current scikit-image, so those rows time the same formulas ported to
current APIs (``tests/corruptions/corruption_reference.py``, marked "port"). The reference is timed
on the first ``--ref-images`` images of the batch (its cost is per image; glass blur takes seconds
per 224x224 image) and scaled to the batch: a per-image extrapolation, said so in the table.

``--write-cifar``: times ``python -m torchaug.corruptions write`` (19 corruptions x 5 severities,
PNG output) on ``--per-class`` test images per class of the CIFAR-10 JPEG tree (extracted to a
temporary folder under /tmp, removed afterwards) and extrapolates to CIFAR-10-C's 10,000 images.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "corruptions"))
from benchmarks._timing import markdown_table, measure  # noqa: E402

PORTED = ("glass_blur", "gaussian_blur", "fog")


def _reference(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import imagecorruptions as ic
    import corruption_reference as R

    if name == "glass_blur":
        rng = np.random.default_rng(0)
        return lambda a: R.glass_blur(a.copy(), 3, rng)
    if name == "fog":
        rng = np.random.default_rng(0)
        return lambda a: R.fog(a, 3, rng)
    if name == "gaussian_blur":
        return lambda a: R.gaussian_blur(a, 3)
    return lambda a: ic.corrupt(a, severity=3, corruption_name=name)


def bench(shape: tuple[int, ...], device: str, repeats: int, ref_images: int, names: list[str]) -> list[list]:
    from torchaug.corruptions import corrupt

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    xd = x.to(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    hwc = [im.permute(1, 2, 0).numpy().copy() for im in x[:ref_images]]
    rows = []
    for name in names:
        gen = torch.Generator(device=device).manual_seed(1)
        ours = measure(lambda: corrupt(xd, name, 3, generator=gen, constants="imagenet"), items=shape[0],
                       warmup=1, repeats=repeats, sync=sync)
        ref_fn = _reference(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_fn(hwc[0])  # warm-up (imports, frost files)
            t0 = time.perf_counter()
            for a in hwc:
                ref_fn(a)
            per_img = (time.perf_counter() - t0) / len(hwc)
        ref_batch = per_img * shape[0]
        rows.append([name + (" (port)" if name in PORTED else ""), 1000 * ours["median_s"], 1000 * ref_batch,
                     ref_batch / ours["median_s"]])
        print(f"  {name}: {rows[-1][1]:.1f} ms vs {rows[-1][2]:.1f} ms", file=sys.stderr, flush=True)
    return rows


def write_cifar(tar: Path, per_class: int, batch: int) -> str:
    from torchaug.corruptions.cli import write

    tmp = Path(tempfile.mkdtemp(prefix="cifar10c_", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        taken: dict[str, int] = {}
        with tarfile.open(tar) as tf:
            for m in tf:
                parts = Path(m.name).parts
                if m.isfile() and len(parts) >= 4 and parts[-3] == "test":
                    cls = parts[-2]
                    if taken.get(cls, 0) < per_class:
                        taken[cls] = taken.get(cls, 0) + 1
                        tf.extract(m, tmp, filter="data")
        src = next(tmp.rglob("test")).parent
        t_extract = time.perf_counter() - t0
        n = sum(taken.values())
        from torchaug.corruptions import CORRUPTIONS

        m = write(src, tmp / "out", severities=[1, 2, 3, 4, 5], names=list(CORRUPTIONS),
                  split="test", batch=batch, progress=False)
        secs = m["seconds"]
        full = secs * 10000 / n
        return (f"wrote {n} test images x 19 corruptions x 5 severities ({n * 95:,} PNGs) in {secs:.1f} s "
                f"(extracting them: {t_extract:.1f} s); extrapolated to CIFAR-10-C's 10,000 images: "
                f"{full:.0f} s = {full / 60:.1f} min (an extrapolation from {n} images, shared machine)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--ref-images", type=int, default=None, help="images the reference is timed on (default 16 / 4)")
    p.add_argument("--shapes", default="256x3x32x32,32x3x224x224")
    p.add_argument("--write-cifar", type=Path, default=None)
    p.add_argument("--per-class", type=int, default=20)
    p.add_argument("--only", default="", help="comma-separated corruption names (default: all 19)")
    p.add_argument("--keep-freed-memory", action="store_true",
                   help="call torchaug.keep_freed_memory() first (glibc keeps freed batches: fewer page faults)")
    a = p.parse_args()
    from torchaug.corruptions import CORRUPTIONS

    names = [n for n in a.only.split(",") if n] or list(CORRUPTIONS)
    unknown = sorted(set(names) - set(CORRUPTIONS))
    if unknown:
        p.error(f"--only: unknown corruption(s) {unknown}; expected names from {list(CORRUPTIONS)}")
    if a.keep_freed_memory:
        import torchaug

        print(f"keep_freed_memory: {torchaug.keep_freed_memory()}")
    torch.set_num_threads(a.threads)
    try:
        import cv2

        cv2.setNumThreads(a.threads)
    except ImportError:
        pass
    repeats = 2 if a.quick else a.repeats
    print(f"torch {torch.__version__}, {a.threads} threads, device {a.device}")
    if a.write_cifar is not None:
        print(write_cifar(a.write_cifar, a.per_class, 256))
        return
    for s in a.shapes.split(","):
        shape = tuple(int(v) for v in s.split("x"))
        refn = a.ref_images or (16 if shape[-1] <= 64 else 4)
        rows = bench(shape, a.device, repeats, min(refn, shape[0]), names)
        print(f"\n### {s} uint8, severity 3 (reference timed on {min(refn, shape[0])} images, scaled to {shape[0]})\n")
        print(markdown_table(["corruption", "torchaug ms/batch", "imagecorruptions ms/batch (looped)", "speed-up"], rows))
        ratios = [r[3] for r in rows]
        print(f"\nmedian speed-up {np.median(ratios):.1f}x, min {min(ratios):.1f}x ({rows[int(np.argmin(ratios))][0]})")


if __name__ == "__main__":
    main()
