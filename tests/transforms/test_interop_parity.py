"""Parity with torchvision v2 on nested samples, for every geometric transform both libraries have.

One batch call of ours on torchvision's batched detection form ``(Image, [target dict per image])``
(per-image ``BoundingBoxes`` of different counts, ``Mask``, ``KeyPoints``, labels); then, per image,
torchvision's functional on that image's own ``(Image, BoundingBoxes, Mask, KeyPoints)`` with the
parameters we drew (``return_params=True``). Image, boxes, masks and keypoints must agree: images
exactly for index ops, within one grey level for the warps and resizes (torchaug's documented
tolerance); masks exactly (both use nearest), except for a few pixels on a sampling tie for the
warps; boxes and keypoints within 1e-3 pixels (one pixel for the elastic: both libraries move
targets by the approximate inverse ``p - d(p)``, sampled differently).

One documented difference: torchvision flips **keypoints** as pixel indices (``W - 1 - x``) but
boxes, and every other op's keypoints, in continuous coordinates (``W - x``); torchaug uses
continuous coordinates everywhere (``W - x``, the same as the boxes and the image), so its
flipped keypoints are exactly torchvision's plus one pixel along the flipped axis.
"""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torchvision import tv_tensors as tv

from torchaug.transforms import (
    CenterCrop,
    ElasticTransform,
    Pad,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomPerspective,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
)

pytestmark = pytest.mark.peer
B, H, W = 4, 24, 32
NEAREST, BILINEAR = TF.InterpolationMode.NEAREST, TF.InterpolationMode.BILINEAR


def _sample():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (B, 3, H, W), generator=g, dtype=torch.uint8)
    targets = []
    for i in range(B):
        n = 1 + i % 2
        xy = torch.rand(n, 2, generator=g) * torch.tensor([W * 0.6, H * 0.6]) + 2
        wh = torch.rand(n, 2, generator=g) * 6 + 3
        m = torch.zeros(1, H, W, dtype=torch.uint8)
        m[0, 6 + i : 14 + i, 8 : 20 + i] = 1 + i
        targets.append({
            "boxes": tv.BoundingBoxes(torch.cat([xy, xy + wh], 1), format="XYXY", canvas_size=(H, W)),
            "masks": tv.Mask(m),
            "keypoints": tv.KeyPoints(torch.rand(3, 2, generator=g) * torch.tensor([W - 8.0, H - 8.0]) + 4, canvas_size=(H, W)),
            "labels": torch.arange(n),
        })
    return tv.Image(x), targets


def _ref(name, t, p, i):
    """torchvision's functional call for image ``i`` with our parameters."""
    def f(inp):
        if name == "RandomHorizontalFlip":
            return TF.horizontal_flip(inp)
        if name == "RandomVerticalFlip":
            return TF.vertical_flip(inp)
        if name == "RandomCrop":
            return TF.crop(inp, int(p["top"][i]), int(p["left"][i]), *t.size)
        if name == "RandomResizedCrop":
            return TF.resized_crop(inp, int(p["top"][i]), int(p["left"][i]), int(p["height"][i]), int(p["width"][i]), list(t.size))
        if name == "RandomAffine":
            return TF.affine(inp, angle=float(p["angle"][i]), translate=p["translate"][i].tolist(), scale=float(p["scale"][i]),
                             shear=p["shear"][i].tolist(), interpolation=TF.InterpolationMode(t.interpolation), fill=0)
        if name == "RandomRotation":
            return TF.rotate(inp, float(p["angle"][i]), interpolation=TF.InterpolationMode(t.interpolation), fill=0)
        if name == "RandomPerspective":
            return TF.perspective(inp, p["startpoints"][i].int().tolist(), p["endpoints"][i].int().tolist(),
                                  interpolation=TF.InterpolationMode(t.interpolation), fill=0)
        if name == "ElasticTransform":
            return TF.elastic(inp, p["displacement"][i : i + 1], interpolation=TF.InterpolationMode(t.interpolation), fill=0)
        if name == "Resize":
            return TF.resize(inp, list(t.size))
        if name == "CenterCrop":
            return TF.center_crop(inp, list(t.size))
        if name == "Pad":
            return TF.pad(inp, list(t.padding))
        raise AssertionError(name)

    return f


CASES = [
    (RandomHorizontalFlip(p=1.0), 0, 0),
    (RandomVerticalFlip(p=1.0), 0, 0),
    (RandomCrop(16, padding=3), 0, 0),
    (RandomResizedCrop((12, 16), scale=(0.3, 1.0)), 1, 0),
    (RandomAffine(degrees=20, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=(-8, 8, -4, 4)), 1, 6),
    (RandomAffine(degrees=20, translate=(0.1, 0.1), interpolation="bilinear"), 1, 6),
    (RandomRotation(25), 1, 6),
    (RandomPerspective(0.4, p=1.0), 1, 6),
    (ElasticTransform(alpha=20.0, sigma=4.0), 1, 8),
    (Resize((12, 40)), 1, 0),
    (CenterCrop((20, 28)), 0, 0),
    (Pad((2, 1, 3, 4)), 0, 0),
]


@pytest.mark.parametrize("t,img_tol,mask_px", CASES, ids=[f"{type(c[0]).__name__}-{k}" for k, c in enumerate(CASES)])
def test_nested_sample_matches_torchvision(t, img_tol, mask_px):
    name = type(t).__name__
    image, targets = _sample()
    (out_img, out_t), p = t((image, targets), generator=torch.Generator().manual_seed(5), return_params=True)
    pt_tol = 1.0 if name == "ElasticTransform" else 1e-3
    flip_axis = {"RandomHorizontalFlip": 0, "RandomVerticalFlip": 1}.get(name)
    for i in range(B):
        f = _ref(name, t, p, i)
        ref_img = f(tv.Image(image[i]))
        ref_boxes = f(targets[i]["boxes"])
        ref_mask = f(targets[i]["masks"])
        ref_kp = f(targets[i]["keypoints"])
        assert out_img[i].shape == ref_img.shape
        diff = (out_img[i].int() - ref_img.int()).abs().max().item()
        assert diff <= img_tol, (i, diff)
        got = out_t[i]
        assert type(got["boxes"]) is tv.BoundingBoxes and got["boxes"].canvas_size == ref_boxes.canvas_size
        rb = TF.clamp_bounding_boxes(ref_boxes) if hasattr(TF, "clamp_bounding_boxes") else ref_boxes
        torch.testing.assert_close(got["boxes"].as_subclass(torch.Tensor), rb.as_subclass(torch.Tensor), atol=pt_tol, rtol=0)
        assert type(got["masks"]) is tv.Mask and got["masks"].shape == ref_mask.shape
        assert (got["masks"] != ref_mask).sum().item() <= mask_px, i
        assert type(got["keypoints"]) is tv.KeyPoints and got["keypoints"].canvas_size == ref_kp.canvas_size
        ref_kp = ref_kp.as_subclass(torch.Tensor).clone()
        if flip_axis is not None:  # the convention difference above, exactly one pixel
            ref_kp[:, flip_axis] += 1
        torch.testing.assert_close(got["keypoints"].as_subclass(torch.Tensor), ref_kp, atol=pt_tol, rtol=0)
        assert torch.equal(got["labels"], targets[i]["labels"])
