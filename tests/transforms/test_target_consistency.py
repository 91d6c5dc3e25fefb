"""Registry-driven: every registered transform on a nested detection sample keeps its parts consistent.

The sample is torchvision's detection form for a batch, ``(Image, [target dict per image])``: each
image holds one white square on black, its ``Mask``, its ``BoundingBoxes`` (XYWH, to check the
format is kept) and its centre as ``KeyPoints``. Every registered transform either raises a clear
``TypeError`` or returns the same structure and types in which, per image, the box encloses the
mask's object, the keypoint lies in the box, and the mask equals the image's object (within the
interpolation tolerance) wherever the output image still shows the object (an op may wipe the
contrast, e.g. a solarize of the white square). Colour-only transforms must return the targets
bit for bit.
"""

from __future__ import annotations

import pytest
import torch
from torchvision import tv_tensors as tv

from torchaug import registry
from torchaug.transforms.targets import boxes_valid

registry.load_all()
TRANSFORMS = registry.registered("transform")
B, H, W, S = 6, 24, 24, 8

#: transforms that by design replace pixels without moving them (torchvision passes targets through
#: its RandomErasing too): the targets stay, the image's object may be hidden by the patch
#: hide or recolour parts of the image without moving them (occlusion, weather, corruptions): only the
#: targets are checked
OCCLUDERS = {"Cutout", "RandomErasing", "CoarseDropout", "GridDropout", "PixelDropout", "RandomRain", "RandomSnow",
             "RandomFog", "RandomSunFlare", "RandomShadow", "Spatter", "RandomCorruption"}
#: degrade the image to a coarser grid (blocks of several pixels): the object keeps its place but
#: not its one-pixel outline, so only the targets are checked
DEGRADERS = {"Downscale", "Pixelate"}


def _sample():
    x = torch.zeros(B, 3, H, W, dtype=torch.uint8)
    targets = []
    for i in range(B):
        t, l_ = 3 + 2 * i, 3 + 2 * (i % 4)  # 3 px from the border: no copies in mirror padding
        x[i, :, t : t + S, l_ : l_ + S] = 255
        m = torch.zeros(1, H, W, dtype=torch.uint8)
        m[0, t : t + S, l_ : l_ + S] = 1
        targets.append({
            "boxes": tv.BoundingBoxes(torch.tensor([[l_, t, S, S]], dtype=torch.float32), format="XYWH", canvas_size=(H, W)),
            "masks": tv.Mask(m),
            "keypoints": tv.KeyPoints(torch.tensor([[l_ + S / 2, t + S / 2]]), canvas_size=(H, W)),
            "labels": torch.tensor([i + 1]),
        })
    return tv.Image(x), targets


def _image_object(img: torch.Tensor) -> torch.Tensor | None:
    """Pixels that differ from the background (the median grey) by more than half the contrast; None
    when the output shows no object any more (contrast below 64 grey levels)."""
    g = img.float().mean(0)
    lo, hi = g.min(), g.max()
    if float(hi - lo) < 64:
        return None
    obj = ((g - g.median()).abs() > (hi - lo) / 2).float()
    # 3x3 majority: isolated noise pixels (salt and pepper) are not the object
    return torch.nn.functional.avg_pool2d(obj[None, None], 3, 1, 1, count_include_pad=False)[0, 0] > 0.5


@pytest.mark.parametrize("entry", TRANSFORMS, ids=[e.name for e in TRANSFORMS])
def test_nested_detection_sample_stays_consistent(entry):
    t = entry.example()
    image, targets = _sample()
    try:
        out_img, out_targets = t((image, targets), generator=torch.Generator().manual_seed(3))
    except TypeError as err:  # the clear refusal: it must name the transform
        assert entry.name in str(err) or type(t).__name__ in str(err), err
        return
    assert type(out_img) is tv.Image and out_img.dtype == torch.uint8 and out_img.shape[:2] == (B, 3)
    oh, ow = out_img.shape[-2:]
    assert isinstance(out_targets, list) and len(out_targets) == B
    checked = 0
    for i, (src, tgt) in enumerate(zip(targets, out_targets)):
        assert set(tgt) == set(src)
        assert torch.equal(tgt["labels"], src["labels"])
        boxes, mask, kp = tgt["boxes"], tgt["masks"], tgt["keypoints"]
        assert type(boxes) is tv.BoundingBoxes and boxes.format == src["boxes"].format and tuple(boxes.canvas_size) == (oh, ow)
        assert type(mask) is tv.Mask and mask.shape == (1, oh, ow) and mask.dtype == torch.uint8
        assert type(kp) is tv.KeyPoints and tuple(kp.canvas_size) == (oh, ow)
        if not t.moves_pixels:
            assert torch.equal(boxes, src["boxes"]) and torch.equal(mask, src["masks"]) and torch.equal(kp, src["keypoints"])
        m = mask[0].bool()
        if not m.any():
            continue
        # the box (XYWH) encloses the mask's object, up to one pixel of nearest sampling
        x0, y0, bw, bh = boxes[0].tolist()
        ys, xs = torch.nonzero(m, as_tuple=True)
        assert bool(boxes_valid(boxes)[0]), (i, boxes)
        assert xs.min() >= x0 - 1.01 and xs.max() + 1 <= x0 + bw + 1.01, (i, boxes, xs.min(), xs.max())
        assert ys.min() >= y0 - 1.01 and ys.max() + 1 <= y0 + bh + 1.01, (i, boxes, ys.min(), ys.max())
        kx, ky = kp[0].tolist()
        if 0 <= kx < ow and 0 <= ky < oh:
            assert x0 - 1.01 <= kx <= x0 + bw + 1.01 and y0 - 1.01 <= ky <= y0 + bh + 1.01, (i, kp, boxes)
        if entry.name in OCCLUDERS | DEGRADERS:
            continue
        obj = _image_object(out_img[i])
        if obj is None:
            continue
        checked += 1
        # image object and mask differ only on the mask's boundary band (one pixel either side),
        # plus a few stray pixels (noise ops) away from it
        f = m[None, None].float()
        band = (torch.nn.functional.max_pool2d(f, 3, 1, 1) > 0) & ~(-torch.nn.functional.max_pool2d(-f, 3, 1, 1) > 0)
        off = ((obj ^ m) & ~band[0, 0]).sum().item()
        assert off <= max(2, 0.02 * oh * ow), (i, off, int(m.sum()))
    if entry.name not in OCCLUDERS | DEGRADERS:
        assert checked >= B // 2, f"only {checked} of {B} images still showed their object"
