"""Detection pipeline throughput: torchaug batched vs torchvision v2 per sample vs albumentations 2.0.8.

    python benchmarks/detection.py                      # 2 threads, 5 rounds
    python benchmarks/detection.py --threads 1 --rounds 3 --stat min
    python benchmarks/detection.py --keep-freed-memory   # glibc keeps freed batches (torchaug.keep_freed_memory)

Batch: 32 uint8 images 3x480x640 (random content) with 20 boxes each. Pipeline (SSD-style):

- torchaug (one call on the batch, per-sample parameters): ``RandomIoUCrop()`` ->
  ``RandomZoomOut(size=512)`` -> ``RandomHorizontalFlip`` -> ``RandomPhotometricDistort``;
  the boxes as one ``(32, 20, 4)`` tensor in the dict form. ``Compose`` runs the first two as one
  step: each IoU crop placed on its zoom-out canvas and resized to 512 once (torchvision's
  crop -> zoom out -> ``Resize``). The row "two resizes" gives both crops ``size=512``.
- torchvision v2 (per sample, tv_tensors): ``RandomIoUCrop`` -> ``RandomZoomOut`` ->
  ``Resize((512, 512))`` -> ``RandomHorizontalFlip`` -> ``RandomPhotometricDistort`` (the resize
  before the flip and colour: the cheapest order; torchaug's crops resize as they crop).
- albumentations (per HWC image, its nearest equivalents: no IoU crop or zoom out):
  ``BBoxSafeRandomCrop`` -> ``Affine(scale=(0.25, 1), p=0.5)`` (zoom out as a shrink with a
  border) -> ``Resize(512, 512)`` -> ``HorizontalFlip`` -> ``ColorJitter`` (SSD's ranges) ->
  ``ChannelShuffle(p=0.5)``.

Per-op rows time each op alone (torchvision's op followed by its ``Resize`` where it changes
the size). Rounds: each round times every library once in a fresh random order; the table
gives images/s (``--stat``: median or min over rounds) and ratios. Goal: torchaug >= 2x both.
Timings on a loaded machine are not evidence: report the load average with them.
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

B, H, W, N, S = 32, 480, 640, 20, 512


def _data(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (B, 3, H, W), generator=g, dtype=torch.uint8)
    xy = torch.rand(B, N, 2, generator=g) * torch.tensor([W - 40, H - 40])
    wh = 8 + torch.rand(B, N, 2, generator=g) * 120
    boxes = torch.cat([xy, torch.minimum(xy + wh, torch.tensor([W, H]))], -1)
    return x, boxes


def _ours(ops: list):
    import torchaug.transforms as T

    pipe = T.Compose(ops) if len(ops) > 1 else ops[0]

    def run(x, boxes, g):
        return pipe({"image": x, "boxes": boxes}, generator=g)

    return run


def _tv(ops: list):
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    pipe = v2.Compose(ops)

    def run(x, boxes, g):
        out = []
        for i in range(B):
            bb = tv_tensors.BoundingBoxes(boxes[i], format="XYXY", canvas_size=(H, W))
            out.append(pipe(tv_tensors.Image(x[i]), {"boxes": bb, "labels": torch.arange(N)}))
        return out

    return run


def _alb(ops: list):
    import albumentations as A

    pipe = A.Compose(ops, bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"], clip=True))
    labels = list(range(N))

    def run(x, boxes, g):
        imgs = x.permute(0, 2, 3, 1).numpy()
        bs = boxes.numpy()
        return [pipe(image=imgs[i], bboxes=bs[i], labels=labels) for i in range(B)]

    return run


def _rows():
    import torchaug.transforms as T
    from torchvision.transforms import v2

    try:
        import albumentations as A
    except ImportError:  # pragma: no cover
        A = None
    tv_resize = v2.Resize((S, S), antialias=True)

    def crops(one_resize: bool) -> list:
        # one resize: the size-less IoU crop and the sized zoom out run as one step (Compose fuses them)
        if one_resize:
            return [T.RandomIoUCrop(), T.RandomZoomOut(size=S)]
        return [T.RandomIoUCrop(size=S), T.RandomZoomOut(size=S)]

    def ours_pipeline(mode: str, one_resize: bool = True):
        return lambda: _ours([*crops(one_resize), T.RandomHorizontalFlip(p=0.5), T.RandomPhotometricDistort(mode=mode)])

    def tv_pipeline():
        return _tv([v2.RandomIoUCrop(), v2.RandomZoomOut(), tv_resize, v2.RandomHorizontalFlip(p=0.5),
                    v2.RandomPhotometricDistort()])

    alb_pipeline = (lambda: _alb([A.BBoxSafeRandomCrop(), A.Affine(scale=(0.25, 1.0), p=0.5), A.Resize(S, S),
                                  A.HorizontalFlip(p=0.5), A.ColorJitter(0.125, 0.5, 0.5, 0.05, p=0.5),
                                  A.ChannelShuffle(p=0.5)])) if A else None
    rows = {
        "pipeline": (ours_pipeline("torchvision"), tv_pipeline, alb_pipeline),
        # the same pipeline with the photometric distort as one fused colour map (not torchvision-exact)
        "pipeline (fused colour)": (ours_pipeline("fused"), tv_pipeline, alb_pipeline),
        # each crop resized to 512 on its own (size= on both): two resizes per image
        "pipeline (two resizes)": (ours_pipeline("torchvision", one_resize=False), tv_pipeline, alb_pipeline),
        "RandomIoUCrop + RandomZoomOut": (lambda: _ours(crops(True)),
                                          lambda: _tv([v2.RandomIoUCrop(), v2.RandomZoomOut(), tv_resize]), None),
        # torchvision's SSD reference order: the IoU crop drawn on the zoomed-out canvas
        "RandomZoomOut + RandomIoUCrop": (lambda: _ours([T.RandomZoomOut(), T.RandomIoUCrop(size=S)]),
                                          lambda: _tv([v2.RandomZoomOut(), v2.RandomIoUCrop(), tv_resize]), None),
        "RandomIoUCrop": (lambda: _ours([T.RandomIoUCrop(size=S)]), lambda: _tv([v2.RandomIoUCrop(), tv_resize]), None),
        "RandomZoomOut": (lambda: _ours([T.RandomZoomOut(size=S)]), lambda: _tv([v2.RandomZoomOut(), tv_resize]), None),
        "RandomPhotometricDistort": (lambda: _ours([T.RandomPhotometricDistort()]),
                                     lambda: _tv([v2.RandomPhotometricDistort()]),
                                     (lambda: _alb([A.ColorJitter(0.125, 0.5, 0.5, 0.05, p=0.5), A.ChannelShuffle(p=0.5)]))
                                     if A else None),
        "RandomSizedBBoxSafeCrop": (lambda: _ours([T.RandomSizedBBoxSafeCrop(S, S)]), None,
                                    (lambda: _alb([A.RandomSizedBBoxSafeCrop(S, S)])) if A else None),
    }
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--stat", choices=("median", "min"), default="median")
    ap.add_argument("--only", default="", help="comma-separated row names")
    ap.add_argument("--keep-freed-memory", action="store_true",
                    help="call torchaug.keep_freed_memory() first (glibc keeps freed batches: no page faults)")
    args = ap.parse_args()
    if args.keep_freed_memory:
        import torchaug

        print(f"keep_freed_memory: {torchaug.keep_freed_memory()}")
    torch.set_num_threads(args.threads)
    try:
        import cv2

        cv2.setNumThreads(args.threads)
    except ImportError:  # pragma: no cover
        pass
    warnings.filterwarnings("ignore")
    x, boxes = _data()
    stat = statistics.median if args.stat == "median" else min
    table = []
    for name, (ours, tv, alb) in _rows().items():
        if args.only and name not in args.only.split(","):
            continue
        libs = {"torchaug": ours()}
        if tv is not None:
            libs["torchvision"] = tv()
        if alb is not None:
            libs["albumentations"] = alb()
        g = torch.Generator().manual_seed(0)
        torch.manual_seed(0)
        for fn in libs.values():  # warm-up
            fn(x, boxes, g)
        times: dict[str, list[float]] = {k: [] for k in libs}
        for _ in range(args.rounds):
            order = list(libs)
            random.shuffle(order)
            for k in order:
                t0 = time.perf_counter()
                libs[k](x, boxes, g)
                times[k].append(time.perf_counter() - t0)
        ips = {k: B / stat(v) for k, v in times.items()}
        ratio = {k: statistics.median(times[k][r] / times["torchaug"][r] for r in range(args.rounds)) for k in times}

        def cell(k: str) -> str:
            if k not in ips:
                return "-"
            return f"{ips[k]:,.0f} img/s (x{ratio[k]:.2f}{'' if ratio[k] >= 2.0 else ' miss'})"

        table.append([name, f"{ips['torchaug']:,.0f} img/s", cell("torchvision"), cell("albumentations")])
    print(f"threads={args.threads} rounds={args.rounds} stat={args.stat}; batch {B}x3x{H}x{W} uint8, {N} boxes/image, "
          f"output {S}x{S}; ratio = peer time / torchaug time (goal >= 2)")
    print(markdown_table(["op", "torchaug (img/s)", "torchvision v2 (per sample)", "albumentations (per sample)"], table))


if __name__ == "__main__":
    main()
