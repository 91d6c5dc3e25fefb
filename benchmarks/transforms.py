"""Side-by-side throughput of the two standard augmentation pipelines (issue 4).

    python benchmarks/transforms.py            # CPU, 2 threads, full run (~2-3 minutes)
    python benchmarks/transforms.py --quick    # fewer repeats
    python benchmarks/transforms.py --device cuda

CIFAR (batch 256, 32x32 uint8): RandomCrop(32, padding=4) + RandomHorizontalFlip +
ColorJitter(0.4, 0.4, 0.4, 0.1) + RandomErasing(p=0.5).
ImageNet (batch 32 from 256x256 uint8): RandomResizedCrop(224) + RandomHorizontalFlip +
ColorJitter(0.4, 0.4, 0.4, 0.1).

Same settings for every library, in one process, on the same random images:

- torchaug: one call on the uint8 batch (per-sample parameters).
- kornia: ``AugmentationSequential`` on the float batch (kornia needs float; per-sample params).
- torchvision v2 per sample: ``v2.Compose`` on each ``(C, H, W)`` uint8 image, then stacked
  (what a DataLoader worker does); "per batch" calls it once on the batch (one set of
  parameters for the whole batch, so not the same augmentation).
- albumentations: ``A.Compose`` on each HWC uint8 numpy image (OpenCV), then stacked.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._timing import markdown_table, measure  # noqa: E402


def _torchaug(kind: str):
    from torchaug.transforms import ColorJitter, Compose, RandomCrop, RandomErasing, RandomHorizontalFlip, RandomResizedCrop

    if kind == "cifar":
        return Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), ColorJitter(0.4, 0.4, 0.4, 0.1), RandomErasing(p=0.5)])
    return Compose([RandomResizedCrop(224), RandomHorizontalFlip(), ColorJitter(0.4, 0.4, 0.4, 0.1)])


def _torchvision(kind: str):
    from torchvision.transforms import v2

    if kind == "cifar":
        return v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(), v2.ColorJitter(0.4, 0.4, 0.4, 0.1), v2.RandomErasing(p=0.5)])
    return v2.Compose([v2.RandomResizedCrop(224, antialias=True), v2.RandomHorizontalFlip(), v2.ColorJitter(0.4, 0.4, 0.4, 0.1)])


def _kornia(kind: str):
    import kornia.augmentation as K

    if kind == "cifar":
        return K.AugmentationSequential(
            K.RandomCrop((32, 32), padding=4), K.RandomHorizontalFlip(), K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0), K.RandomErasing(p=0.5)
        )
    return K.AugmentationSequential(K.RandomResizedCrop((224, 224)), K.RandomHorizontalFlip(), K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0))


def _albumentations(kind: str):
    import albumentations as A
    import cv2

    if kind == "cifar":
        return A.Compose([
            A.PadIfNeeded(40, 40, border_mode=cv2.BORDER_CONSTANT, fill=0),
            A.RandomCrop(32, 32),
            A.HorizontalFlip(p=0.5),
            A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1.0),
            A.Erasing(p=0.5),
        ])
    return A.Compose([
        A.RandomResizedCrop(size=(224, 224)),
        A.HorizontalFlip(p=0.5),
        A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1.0),
    ])


def run(kind: str, device: str, repeats: int) -> list[list]:
    b, size = (256, 32) if kind == "cifar" else (32, 256)
    g = torch.Generator().manual_seed(0)
    x_u8 = torch.randint(0, 256, (b, 3, size, size), generator=g, dtype=torch.uint8)
    sync = torch.cuda.synchronize if device == "cuda" else None
    x_dev = x_u8.to(device)
    x_f = x_dev.float() / 255
    results: dict[str, float] = {}

    ta = _torchaug(kind).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    results["torchaug (uint8 batch)"] = measure(lambda: ta(x_dev, generator=gen), items=b, repeats=repeats, sync=sync)["per_s"]
    results["torchaug (float batch)"] = measure(lambda: ta(x_f, generator=gen), items=b, repeats=repeats, sync=sync)["per_s"]
    try:
        kn = _kornia(kind).to(device)
        results["kornia (float batch)"] = measure(lambda: kn(x_f), items=b, repeats=max(3, repeats // 2), sync=sync)["per_s"]
    except ImportError:
        pass
    tv = _torchvision(kind)
    results["torchvision v2 per sample"] = measure(
        lambda: torch.stack([tv(img) for img in x_dev]), items=b, repeats=max(3, repeats // 2), sync=sync
    )["per_s"]
    results["torchvision v2 per batch (one draw)"] = measure(lambda: tv(x_dev), items=b, repeats=repeats, sync=sync)["per_s"]
    if device == "cpu":
        try:
            al = _albumentations(kind)
            imgs = [np.ascontiguousarray(im) for im in x_u8.permute(0, 2, 3, 1).numpy()]
            results["albumentations per sample"] = measure(
                lambda: np.stack([al(image=im)["image"] for im in imgs]), items=b, repeats=max(3, repeats // 2)
            )["per_s"]
        except ImportError:
            pass
    ours = results["torchaug (uint8 batch)"]
    return [[kind, name, v, ours / v] for name, v in results.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["cifar", "imagenet"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        import cv2

        cv2.setNumThreads(args.threads)
    except ImportError:
        pass
    warnings.filterwarnings("ignore")
    repeats = 3 if args.quick else 9
    rows = []
    for kind in ("cifar", "imagenet"):
        if args.only in (None, kind):
            rows += run(kind, args.device, repeats)
    dev = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {args.threads} torch/OpenCV threads"
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"device: {dev}; {os.cpu_count()} cores; load average {load}; torch {torch.__version__}")
    print(markdown_table(["pipeline", "library", "img/s", "torchaug uint8 speed-up"], rows))


if __name__ == "__main__":
    main()
