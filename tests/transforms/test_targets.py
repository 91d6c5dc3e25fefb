"""Masks, boxes and keypoints move with the images; dicts, tv_tensors, regions."""

from __future__ import annotations

import pytest
import torch
from torchvision import tv_tensors

from torchaug.transforms import (
    CenterCrop,
    ColorJitter,
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

B, H, W = 4, 24, 32


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _scene():
    """Images with one bright rectangle per sample; its mask, box and centre keypoint."""
    x = torch.zeros(B, 3, H, W, dtype=torch.uint8)
    mask = torch.zeros(B, H, W, dtype=torch.int64)
    boxes = torch.zeros(B, 1, 4)
    for i in range(B):
        t, l_, h, w = 3 + i, 4 + 2 * i, 8, 10
        x[i, :, t : t + h, l_ : l_ + w] = 255
        mask[i, t : t + h, l_ : l_ + w] = 1
        boxes[i, 0] = torch.tensor([l_, t, l_ + w, t + h], dtype=torch.float32)
    pts = torch.stack([(boxes[..., 0] + boxes[..., 2]) / 2, (boxes[..., 1] + boxes[..., 3]) / 2], dim=-1)
    return x, mask, boxes, pts


def _bbox_of(img):
    ys, xs = torch.nonzero(img[0] > 127, as_tuple=True)
    return torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)


GEOMETRIC = [
    (RandomHorizontalFlip(p=1.0), 0.0),
    (RandomVerticalFlip(p=1.0), 0.0),
    (RandomCrop(20, padding=4), 0.0),
    (RandomResizedCrop((16, 20), scale=(0.6, 1.0)), 1.5),
    (RandomAffine(degrees=(-10, 10), translate=(0.1, 0.1), scale=(0.9, 1.1)), 3.0),
    (RandomRotation(15), 3.0),
    (RandomPerspective(0.3, p=1.0), 3.0),
    (Resize((12, 40)), 1.5),
    (CenterCrop((20, 28)), 0.0),
    (Pad((2, 1, 3, 4)), 0.0),
]


@pytest.mark.parametrize("t,tol", GEOMETRIC, ids=lambda v: type(v).__name__ if not isinstance(v, float) else "")
def test_mask_box_and_keypoints_follow_the_image(t, tol):
    x, mask, boxes, pts = _scene()
    out = t({"image": x, "mask": mask, "boxes": boxes, "keypoints": pts, "labels": torch.arange(B)}, generator=_gen())
    assert set(out) == {"image", "mask", "boxes", "boxes_valid", "keypoints", "labels"}
    assert torch.equal(out["labels"], torch.arange(B))
    img, m = out["image"], out["mask"]
    assert m.shape == (B, *img.shape[-2:]) and m.dtype == torch.int64
    for i in range(B):
        # the mask moved exactly like the (nearest-sampled) bright rectangle, up to edge pixels
        bright = img[i, 0] > 127
        agree = (bright == (m[i] == 1)).float().mean().item()
        assert agree > (0.999 if tol == 0 else 0.92), agree
        if bright.any():
            got = out["boxes"][i, 0]
            ref = _bbox_of(img[i])
            assert (got - ref).abs().max() <= tol + 1e-4, (got, ref)
            centre = out["keypoints"][i, 0]
            assert ((got[:2] - 1e-4 - tol) <= centre).all() and (centre <= got[2:] + tol + 1e-4).all()
    assert out["boxes_valid"].all()


def test_same_params_for_image_and_targets():
    x, mask, boxes, pts = _scene()
    t = RandomAffine(30, translate=(0.2, 0.2))
    out = t({"image": x, "mask": mask}, generator=_gen(5))
    assert torch.equal(out["image"], t(x, generator=_gen(5)))


def test_p_blends_targets_too():
    x, mask, boxes, pts = _scene()
    x = torch.cat([x, x]).repeat(4, 1, 1, 1)
    boxes = torch.cat([boxes, boxes]).repeat(4, 1, 1)
    out, p = RandomHorizontalFlip(p=0.5)({"image": x, "boxes": boxes}, generator=_gen(), return_params=True)
    moved = (out["boxes"] != boxes).flatten(1).any(1)
    assert torch.equal(moved, p["apply"]) and p["apply"].any() and (~p["apply"]).any()


def test_degenerate_boxes_are_clipped_and_reported():
    x = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    boxes = torch.tensor([[[1.0, 1.0, 4.0, 4.0], [6.0, 6.0, 10.0, 10.0]]] * 2)
    t = RandomAffine(degrees=0, translate=(0.5, 0.0))
    params = {"angle": torch.zeros(2), "translate": torch.tensor([[-8.0, 0.0], [3.0, 0.0]]), "scale": torch.ones(2), "shear": torch.zeros(2, 2)}
    out = t({"image": x, "boxes": boxes}, params=params)
    assert out["boxes_valid"].tolist() == [[False, True], [True, True]]
    assert (out["boxes"] >= 0).all() and (out["boxes"] <= 16).all()
    torch.testing.assert_close(out["boxes"][1], torch.tensor([[4.0, 1.0, 7.0, 4.0], [9.0, 6.0, 13.0, 10.0]]))


def test_list_boxes_and_single_image_forms():
    x, mask, boxes, pts = _scene()
    lst = [boxes[0], boxes[1, :0], boxes[2], torch.cat([boxes[3], boxes[3]])]
    out = RandomHorizontalFlip(p=1.0)({"image": x, "boxes": lst}, generator=_gen())
    assert isinstance(out["boxes"], list) and [len(b) for b in out["boxes"]] == [1, 0, 1, 2]
    torch.testing.assert_close(out["boxes"][0], torch.tensor([[W - 14.0, 3.0, W - 4.0, 11.0]]))
    single = RandomVerticalFlip(p=1.0)({"image": x[0], "mask": mask[0], "boxes": boxes[0], "keypoints": pts[0]})
    assert single["image"].shape == (3, H, W) and single["mask"].shape == (H, W)
    assert single["boxes"].shape == (1, 4) and single["keypoints"].shape == (1, 2)
    torch.testing.assert_close(single["boxes"], torch.tensor([[4.0, H - 11.0, 14.0, H - 3.0]]))


def test_tv_tensors_positional_like_torchvision():
    x, mask, boxes, pts = _scene()
    img = tv_tensors.Image(x[0])
    bb = tv_tensors.BoundingBoxes(torch.tensor([[4.0, 3.0, 10.0, 8.0]]), format="XYWH", canvas_size=(H, W))
    mk = tv_tensors.Mask(mask[0])
    kp = tv_tensors.KeyPoints(pts[0], canvas_size=(H, W))
    oi, ob, om, ok, lab = RandomCrop(16, padding=0)(img, bb, mk, kp, 7, generator=_gen())
    assert isinstance(oi, tv_tensors.Image) and isinstance(ob, tv_tensors.BoundingBoxes)
    assert isinstance(om, tv_tensors.Mask) and isinstance(ok, tv_tensors.KeyPoints) and lab == 7
    assert ob.canvas_size == (16, 16) and ob.format.name == "XYWH"
    _, p = RandomCrop(16)(x[:1], generator=_gen(), return_params=True)
    top, left = int(p["top"][0]), int(p["left"][0])
    assert torch.equal(oi, x[0, :, top : top + 16, left : left + 16])
    assert torch.equal(om, mask[0, top : top + 16, left : left + 16])
    # XYWH kept: x, y shift, w, h unchanged (unless clipped)
    x0, y0 = 4.0 - left, 3.0 - top
    x1, y1 = min(max(x0 + 10, 0), 16), min(max(y0 + 8, 0), 16)
    x0, y0 = min(max(x0, 0), 16), min(max(y0, 0), 16)
    torch.testing.assert_close(ob.as_subclass(torch.Tensor), torch.tensor([[x0, y0, x1 - x0, y1 - y0]]))


def test_torchvision_compose_with_targets():
    from torchvision.transforms import v2

    x, mask, boxes, pts = _scene()
    img = tv_tensors.Image(x[0])
    bb = tv_tensors.BoundingBoxes(boxes[0], format="XYXY", canvas_size=(H, W))
    pipe = v2.Compose([RandomHorizontalFlip(p=1.0), v2.RandomVerticalFlip(p=1.0)])
    oi, ob = pipe(img, bb)
    assert torch.equal(oi, x[0].flip(-1).flip(-2))
    torch.testing.assert_close(ob.as_subclass(torch.Tensor), torch.tensor([[W - 14.0, H - 11.0, W - 4.0, H - 3.0]]))


def test_colour_ops_pass_targets_through_and_region_restricts():
    x, mask, boxes, pts = _scene()
    x = (x // 2 + 40).to(torch.uint8)
    t = ColorJitter(brightness=(1.5, 1.5))
    out = t({"image": x, "mask": mask, "boxes": boxes, "keypoints": pts}, generator=_gen())
    assert torch.equal(out["mask"], mask) and torch.equal(out["boxes"], boxes) and torch.equal(out["keypoints"], pts)
    # husky vs wolf: recolour only the background
    background = mask == 0
    out = t(x, region=background, generator=_gen())
    fg = mask.bool().unsqueeze(1).expand_as(x)
    assert torch.equal(out[fg], x[fg])
    assert (out[~fg] != x[~fg]).all()
    single = t(x[0], region=background[0], generator=_gen())
    assert torch.equal(single, out[0])
    with pytest.raises(ValueError, match="region"):
        t(x, region=background[:, :5])
    with pytest.raises(ValueError, match="region"):
        RandomCrop(8)(x, region=background)


@pytest.mark.parametrize("t", [RandomAffine(20, interpolation="bilinear"), ElasticTransform(20.0, 3.0), RandomResizedCrop(12)])
def test_masks_are_nearest_sampled_any_dtype(t):
    x, mask, _, _ = _scene()
    for dt in (torch.bool, torch.uint8, torch.int64, torch.float32):
        m = (mask * 3).to(dt) if dt != torch.bool else mask.bool()
        out = t({"image": x, "mask": m}, generator=_gen())["mask"]
        assert out.dtype == dt
        allowed = set(torch.unique(m).tolist()) | {0}
        assert set(torch.unique(out).tolist()) <= allowed


def test_bad_targets_raise():
    x, mask, boxes, pts = _scene()
    t = RandomHorizontalFlip()
    with pytest.raises(ValueError, match="RandomHorizontalFlip: boxes"):
        t({"image": x, "boxes": boxes[:, :, :3]})
    with pytest.raises(ValueError, match="RandomHorizontalFlip: mask"):
        t({"image": x, "mask": mask[:, :5]})
    # torchvision's rule: without an explicit image the first plain tensor is the image, under any key
    assert torch.equal(RandomHorizontalFlip(p=1.0)({"img": x})["img"], x.flip(-1))
    with pytest.raises(TypeError, match="RandomHorizontalFlip: x must be an image"):
        t({"name": "no tensor here"})
    with pytest.raises(ValueError, match="RandomHorizontalFlip: keypoints"):
        t({"image": x, "keypoints": pts[..., :1]})
