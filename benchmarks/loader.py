"""End-to-end loader: JPEG files of mixed sizes -> augmented uint8 224x224 batches, torchaug vs peers.

    python benchmarks/loader.py                          # 2,000 JPEGs in /tmp, 2 workers, batch 64
    python benchmarks/loader.py --rounds 5 --out docs/loader_bench.md
    python benchmarks/loader.py --keep-freed-memory       # glibc keeps freed memory in every method's workers

The JPEGs (ImageNet-like sizes: shorter side 256-500, aspect 1-1.5, 3/4 landscape; quality 90) are
generated once from scikit-learn's two sample photos into ``--root`` (default
``/tmp/torchaug-loader-bench``, not committed). Every method reads the same files with the same
pipeline, Inception crop to 224 (scale 0.08-1, ratio 3/4-4/3, bilinear, antialiased) + horizontal
flip (p 0.5) + ColorJitter(brightness 0.4, contrast 0.4, saturation 0.4), and yields uint8
``(64, 3, 224, 224)`` batches from 2 worker processes (persistent, one intra-op thread each):

- **torchaug**: ``ImageFileDataset`` decodes each file in the worker (``torchvision.io.decode_image``);
  ``AugmentCollate(Compose([...]))`` crops the ragged list into one batch and augments it batched.
- **torchvision v2**: the same decoding, then ``v2.Compose([...])`` per sample, ``default_collate``.
- **albumentations**: ``cv2.imread`` + RGB conversion, ``A.Compose([...])`` per sample (HWC), then
  a CHW tensor per sample, ``default_collate``.
- **torchaug, antialias=False**: the same with ``RandomResizedCrop(antialias=False)``, which is what
  albumentations' ``cv2.resize(INTER_LINEAR)`` does when it shrinks (a like-for-like row; the default
  row matches torchvision's antialiased resize bit for bit).
- **torchaug, antialias=False, fused jitter**: also ``ColorJitter(mode="fused")`` (one affine colour
  map per sample, not torchvision's exact steps): the like-for-like row against albumentations, whose
  ColorJitter is its own OpenCV formula too.
- **timm**: ``create_loader(ImageDataset(root), is_training=True, color_jitter=0.4,
  use_prefetcher=True)``: PIL decoding and PIL transforms per sample, ``fast_collate`` into uint8;
  we iterate its inner DataLoader (the prefetcher only normalises, on the device).

All methods run in this one process, round-robin (one epoch each per round, after a warm-up epoch
that starts the workers), so load from other processes hits all of them alike; the table gives the
median and the best round of images per second, and the CPU time per image (user + system time of
the main process and the workers, from ``/proc``), which other processes on a shared machine
disturb much less than the wall clock. The decode share is measured separately in the main process with one
thread, as CPU time: decoding the files against decoding plus our augmentation (and plus torchvision's).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._timing import markdown_table  # noqa: E402
from torchaug.data.decode import decode, read_bytes  # noqa: E402
from torchaug.data.sample_tree import write_sample_tree  # noqa: E402
from torchaug.mixing import AugmentCollate  # noqa: E402
from torchaug.transforms import ColorJitter, Compose, RandomHorizontalFlip, RandomResizedCrop  # noqa: E402

SIZE = 224


def make_tree(root: Path, n: int) -> list[str]:
    classes = 10
    per = n // classes
    marker = root / f".done-{n}"
    if not marker.exists():
        write_sample_tree(root, classes=classes, per_class=per, test_per_class=1, seed=0)
        marker.touch()
    return sorted(str(p) for p in (root / "train").rglob("*.jpg"))


class Files(Dataset):
    """``(image, label)`` of a file list; ``reader`` decodes one path."""

    def __init__(self, files: list[str], reader, transform=None) -> None:
        self.files, self.reader, self.transform = files, reader, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        img = self.reader(self.files[i])
        if self.transform is not None:
            img = self.transform(img)
        return img, i % 10


def _tv_read(path: str) -> torch.Tensor:
    return decode(read_bytes(path))


def _cv2_read(path: str):
    import cv2

    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


class _Albu:
    def __init__(self) -> None:
        import albumentations as A

        self.t = A.Compose([A.RandomResizedCrop(size=(SIZE, SIZE), scale=(0.08, 1.0), ratio=(0.75, 4 / 3)),
                            A.HorizontalFlip(p=0.5),
                            A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0, p=1.0)])

    def __call__(self, img):
        return torch.from_numpy(self.t(image=img)["image"]).permute(2, 0, 1).contiguous()


def ours_pipeline(antialias: bool = True, mode: str = "torchvision") -> Compose:
    return Compose([RandomResizedCrop(SIZE, antialias=antialias), RandomHorizontalFlip(0.5),
                    ColorJitter(0.4, 0.4, 0.4, mode=mode)])


def tv_pipeline():
    from torchvision.transforms import v2

    return v2.Compose([v2.RandomResizedCrop(SIZE, antialias=True), v2.RandomHorizontalFlip(0.5), v2.ColorJitter(0.4, 0.4, 0.4)])


def loaders(files: list[str], root: Path, workers: int, batch: int) -> dict[str, DataLoader]:
    common = dict(batch_size=batch, num_workers=workers, persistent_workers=workers > 0, shuffle=True,
                  generator=torch.Generator().manual_seed(0), drop_last=True)
    out = {"torchaug": DataLoader(Files(files, _tv_read), collate_fn=AugmentCollate(ours_pipeline()), **common),
           "torchaug, antialias=False": DataLoader(Files(files, _tv_read), collate_fn=AugmentCollate(ours_pipeline(False)),
                                                   **common),
           "torchaug, antialias=False, fused jitter": DataLoader(
               Files(files, _tv_read), collate_fn=AugmentCollate(ours_pipeline(False, "fused")), **common),
           "torchvision v2": DataLoader(Files(files, _tv_read, tv_pipeline()), collate_fn=default_collate, **common)}
    try:
        out["albumentations"] = DataLoader(Files(files, _cv2_read, _Albu()), collate_fn=default_collate, **common)
    except ImportError:  # pragma: no cover
        pass
    try:
        from timm.data import ImageDataset, create_loader

        ds = ImageDataset(str(root / "train"))
        tl = create_loader(ds, input_size=(3, SIZE, SIZE), batch_size=batch, is_training=True, color_jitter=0.4,
                           hflip=0.5, scale=(0.08, 1.0), interpolation="bilinear", num_workers=workers,
                           use_prefetcher=True, device=torch.device("cpu"), persistent_workers=workers > 0)
        out["timm create_loader"] = getattr(tl, "loader", tl)
    except ImportError:  # pragma: no cover
        pass
    return out


def _cpu_seconds(dl: DataLoader) -> float:
    """User + system CPU seconds used so far by this process and the loader's (persistent) workers."""
    total = time.process_time()
    it = getattr(dl, "_iterator", None)
    tick = os.sysconf("SC_CLK_TCK")
    for w in getattr(it, "_workers", []) or []:
        try:
            fields = Path(f"/proc/{w.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (OSError, IndexError, ValueError):  # pragma: no cover - not Linux
            return float("nan")
    return total


def epoch(dl: DataLoader) -> tuple[int, float, float]:
    """Images, wall seconds and CPU seconds (main process + workers) of one pass."""
    n = 0
    c0 = _cpu_seconds(dl)
    t0 = time.perf_counter()
    for x, _ in dl:
        assert x.dtype == torch.uint8 and tuple(x.shape[1:]) == (3, SIZE, SIZE), (x.dtype, x.shape)
        n += x.shape[0]
    return n, time.perf_counter() - t0, _cpu_seconds(dl) - c0


def decode_share(files: list[str], n: int = 128) -> list[list]:
    """Main process, one thread: per-image CPU ms (``process_time``) of decoding, our augmentation, torchvision's."""
    torch.set_num_threads(1)
    pick = files[:n]
    data = [read_bytes(f) for f in pick]
    t0 = time.process_time()
    imgs = [decode(d) for d in data]
    t_dec = time.process_time() - t0
    pipe, tv = ours_pipeline(), tv_pipeline()
    g = torch.Generator().manual_seed(0)
    best_ours = best_tv = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for i in range(0, n, 64):
            pipe(imgs[i : i + 64], generator=g)
        best_ours = min(best_ours, time.process_time() - t0)
        t0 = time.process_time()
        for im in imgs:
            tv(im)
        best_tv = min(best_tv, time.process_time() - t0)
    ms = lambda t: 1e3 * t / n  # noqa: E731
    return [["decode (torchvision.io, 1 thread)", ms(t_dec), "", ""],
            ["torchaug augment (batched, 64)", ms(best_ours), ms(t_dec) + ms(best_ours), t_dec / (t_dec + best_ours)],
            ["torchvision v2 augment (per sample)", ms(best_tv), ms(t_dec) + ms(best_tv), t_dec / (t_dec + best_tv)]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="/tmp/torchaug-loader-bench")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--methods", default=None,
                    help="names to run, separated by ',' (or by ';' when a name holds a comma; default: all)")
    ap.add_argument("--keep-freed-memory", action="store_true",
                    help="torchaug.keep_freed_memory() before the workers fork (every method's workers inherit it)")
    a = ap.parse_args()
    if a.keep_freed_memory:
        import torchaug

        print(f"keep_freed_memory: {torchaug.keep_freed_memory()}")
    root = Path(a.root)
    files = make_tree(root, a.images)
    dls = loaders(files, root, a.workers, a.batch)
    if a.methods:
        keep = [m.strip() for m in a.methods.split(";" if ";" in a.methods else ",")]
        dls = {k: v for k, v in dls.items() if k in keep or k == "torchaug"}
    for dl in dls.values():  # warm-up: start the workers, fill the page cache
        epoch(dl)
    rates: dict[str, list[float]] = {k: [] for k in dls}
    cpu: dict[str, list[float]] = {k: [] for k in dls}
    for _ in range(a.rounds):
        for name, dl in dls.items():
            n, t, c = epoch(dl)
            rates[name].append(n / t)
            cpu[name].append(1e3 * c / n)
    med = {k: statistics.median(v) for k, v in rates.items()}
    cms = {k: statistics.median(v) for k, v in cpu.items()}
    peers = [k for k in med if not k.startswith("torchaug")]
    fastest = max(peers, key=lambda k: med[k]) if peers else "torchaug"
    rows = [[k, med[k], max(v), med["torchaug"] / med[k], cms[k], cms[k] / cms["torchaug"]] for k, v in rates.items()]
    table = markdown_table(["method", "img/s (median)", "img/s (best)", "torchaug speed-up (median img/s)",
                            "CPU ms / image (median)", "torchaug speed-up (CPU time)"], rows)
    share = markdown_table(["step", "CPU ms / image", "decode + augment CPU ms / image", "decode share"],
                           [[r[0], r[1], r[2], f"{r[3]:.0%}" if r[3] != "" else ""] for r in decode_share(files)])
    head = (f"{len(files)} JPEGs (ImageNet-like sizes) -> uint8 (64, 3, 224, 224) batches, {a.workers} workers, "
            f"{a.rounds} rounds; torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs "
            f"(shared machine: other processes ran alongside)\n\nfastest peer: {fastest}; torchaug / fastest = "
            f"{med['torchaug'] / med[fastest]:.2f}x (wall), {cms[fastest] / cms['torchaug']:.2f}x (CPU time per image: "
            "main process + workers, less sensitive to other processes on the machine)\n")
    text = f"{head}\n{table}\n\nDecode share (main process, one thread, {min(128, len(files))} images):\n\n{share}\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
