"""A small segmentation-with-boxes training loop on torchvision's sample format, augmented on the device.

    python docs/detection_example.py                         # 60 steps, writes docs/img/detection_preview.png
    python docs/detection_example.py --steps 1 --out /tmp/p.png --device cuda

Data: a tiny synthetic dataset made here, coloured rectangles on noise (class = colour), each
image with its ``tv_tensors.BoundingBoxes``, per-instance ``tv_tensors.Mask`` and ``labels``,
batched as ``(images, [target_0, target_1, ...])`` (boxes of different counts per image).
Augmentation (one batched call each, on the device): ``Mosaic`` (half the batch), then
``RandomIoUCrop(size=64)``, ``RandomHorizontalFlip``, ``RandomPhotometricDistort`` and
``SanitizeBoundingBoxes``. Model: a 3-layer CNN predicting the class of each pixel from the
augmented image; its target is the augmented instance masks painted with their labels, so the
loss only falls if masks stay aligned with the pixels. A preview PNG shows the augmented images
with their boxes and masks (``torchvision.utils.draw_bounding_boxes`` /
``draw_segmentation_masks``).
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

COLOURS = torch.tensor([[230, 40, 40], [40, 200, 60], [50, 90, 240]], dtype=torch.uint8)
H, W = 96, 128


def make_dataset(n: int, seed: int = 0) -> list[tuple[torch.Tensor, dict]]:
    """``n`` samples ``(tv_tensors.Image, {"boxes", "masks", "labels"})`` of 1-4 rectangles each."""
    from torchvision import tv_tensors

    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        img = torch.randint(0, 70, (3, H, W), generator=g, dtype=torch.uint8)
        k = int(torch.randint(1, 5, (1,), generator=g))
        boxes, masks, labels = [], [], []
        for _ in range(k):
            bw, bh = (int(v) for v in torch.randint(12, 40, (2,), generator=g))
            x0 = int(torch.randint(0, W - bw, (1,), generator=g))
            y0 = int(torch.randint(0, H - bh, (1,), generator=g))
            c = int(torch.randint(0, 3, (1,), generator=g))
            img[:, y0:y0 + bh, x0:x0 + bw] = COLOURS[c].view(3, 1, 1)
            m = torch.zeros(H, W, dtype=torch.uint8)
            m[y0:y0 + bh, x0:x0 + bw] = 1
            for prev in masks:  # a later rectangle hides what it covers
                prev[m.bool()] = 0
            boxes.append([x0, y0, x0 + bw, y0 + bh])
            masks.append(m)
            labels.append(c + 1)
        out.append((tv_tensors.Image(img), {
            "boxes": tv_tensors.BoundingBoxes(torch.tensor(boxes, dtype=torch.float32), format="XYXY", canvas_size=(H, W)),
            "masks": tv_tensors.Mask(torch.stack(masks)),
            "labels": torch.tensor(labels),
        }))
    return out


def collate(samples):
    return torch.stack([s[0] for s in samples]), [s[1] for s in samples]


def to_device(targets, device):
    return [{k: v.to(device) for k, v in t.items()} for t in targets]


def build_augment(size: int = 64):
    import torchaug.transforms as T
    from torchaug.mixing import Mosaic

    mosaic = Mosaic(target_size=(H, W), cell_shape=(H // 2 + 8, W // 2 + 8), p=0.5)
    per_sample = T.Compose([T.RandomIoUCrop(size=size), T.RandomHorizontalFlip(p=0.5), T.RandomPhotometricDistort()])
    return mosaic, per_sample, T.SanitizeBoundingBoxes()


def augment(batch, mosaic, per_sample, sanitize, generator):
    from torchvision import tv_tensors

    images, targets = batch
    images, targets = mosaic(images, targets, generator=generator)
    for t in targets:  # Mosaic returns masks as tv_tensors.Mask and boxes on its canvas
        t["boxes"] = tv_tensors.BoundingBoxes(t["boxes"].as_subclass(torch.Tensor), format="XYXY", canvas_size=(H, W))
        t["masks"] = tv_tensors.Mask(t["masks"])
    images, targets = per_sample(tv_tensors.Image(images), targets, generator=generator)
    return sanitize(images, targets)


def semantic(targets, size) -> torch.Tensor:
    """Per-pixel class (0 = background) from the instance masks and their labels."""
    out = []
    for t in targets:
        m = t["masks"].as_subclass(torch.Tensor)
        if m.shape[0] == 0:
            out.append(torch.zeros(size, dtype=torch.long, device=m.device))
            continue
        out.append((m.long() * t["labels"].view(-1, 1, 1)).amax(0))
    return torch.stack(out)


def preview(images, targets, path: str, n: int = 8) -> None:
    from torchvision.utils import draw_bounding_boxes, draw_segmentation_masks, make_grid, save_image

    tiles = []
    for img, t in list(zip(images, targets))[:n]:
        img = img.as_subclass(torch.Tensor).cpu()
        m = t["masks"].as_subclass(torch.Tensor).cpu().bool()
        if m.shape[0]:
            img = draw_segmentation_masks(img, m, alpha=0.45, colors="yellow")
        b = t["boxes"].as_subclass(torch.Tensor).cpu()
        if b.shape[0]:
            img = draw_bounding_boxes(img, b, labels=[str(int(v)) for v in t["labels"]], colors="white", width=1)
        tiles.append(img)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_image(make_grid(tiles, nrow=4, padding=2).float() / 255, path)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "img", "detection_preview.png"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    torch.manual_seed(args.seed)
    data = make_dataset(args.samples, seed=args.seed)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, shuffle=True, collate_fn=collate, drop_last=True)
    mosaic, per_sample, sanitize = build_augment()
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(16, 4, 1)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator(device=dev).manual_seed(args.seed)
    losses, step, last = [], 0, None
    while step < args.steps:
        for images, targets in loader:
            images, targets = augment((images.to(dev), to_device(targets, dev)), mosaic, per_sample, sanitize, g)
            x = images.as_subclass(torch.Tensor).float() / 255
            loss = nn.functional.cross_entropy(model(x), semantic(targets, x.shape[-2:]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            last = (images, targets)
            step += 1
            if step >= args.steps:
                break
    preview(*last, args.out)
    print(f"{step} steps on {dev}: loss {losses[0]:.3f} -> {losses[-1]:.3f}; preview written to {args.out}")
    return {"steps": step, "losses": losses, "preview": args.out}


if __name__ == "__main__":
    main()
