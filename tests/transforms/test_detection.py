"""Detection transforms: torchvision v2 / albumentations 2.0.8 parity with replayed parameters, box rules."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import torchaug.transforms as T

tv_tensors = pytest.importorskip("torchvision.tv_tensors")
TF = pytest.importorskip("torchvision.transforms.v2.functional")
v2 = pytest.importorskip("torchvision.transforms.v2")

H, W = 48, 64


def _sample(b=4, seed=0, dtype=torch.uint8):
    """Images with coloured rectangles, their boxes (different counts per image), masks and labels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 60, (b, 3, H, W), generator=g, dtype=torch.uint8)
    targets = []
    for i in range(b):
        n = 1 + i % 3
        boxes, masks = [], []
        for j in range(n):
            x0 = int(torch.randint(0, W - 12, (1,), generator=g))
            y0 = int(torch.randint(0, H - 12, (1,), generator=g))
            bw = int(torch.randint(6, min(30, W - x0), (1,), generator=g))
            bh = int(torch.randint(6, min(24, H - y0), (1,), generator=g))
            x[i, :, y0:y0 + bh, x0:x0 + bw] = torch.tensor([200, 80 + 40 * j, 255 - 50 * j], dtype=torch.uint8).view(3, 1, 1)
            m = torch.zeros(H, W, dtype=torch.uint8)
            m[y0:y0 + bh, x0:x0 + bw] = 1
            boxes.append([x0, y0, x0 + bw, y0 + bh])
            masks.append(m)
        targets.append({
            "boxes": tv_tensors.BoundingBoxes(torch.tensor(boxes, dtype=torch.float32), format="XYXY", canvas_size=(H, W)),
            "masks": tv_tensors.Mask(torch.stack(masks)),
            "labels": torch.arange(1, n + 1),
        })
    x = x if dtype == torch.uint8 else x.to(dtype) / 255
    return tv_tensors.Image(x), targets


def _row(params, i):
    return {k: v[i] for k, v in params.items()}


# -- RandomIoUCrop --------------------------------------------------------------------------------
def test_iou_crop_matches_torchvision_crop_then_resize():
    img, targets = _sample()
    op = T.RandomIoUCrop(size=(32, 40))
    (out, tgts), p = op(img, targets, generator=torch.Generator().manual_seed(1), return_params=True)
    assert out.shape == (4, 3, 32, 40) and p["apply"].any()
    for i in range(4):
        q = _row(p, i)
        t, l_, h, w = (int(q[k]) for k in ("top", "left", "height", "width"))
        ref = TF.resize(TF.crop(img[i], t, l_, h, w), [32, 40], antialias=True)
        assert torch.equal(out[i], ref.as_subclass(torch.Tensor))
        b = targets[i]["boxes"]
        rb = TF.resize(TF.crop(b, t, l_, h, w), [32, 40])
        if bool(q["apply"]):  # torchvision zeroes the boxes whose centre left the crop
            cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
            inside = (l_ < cx) & (cx < l_ + w) & (t < cy) & (cy < t + h)
            rb = rb.clone()
            rb[~inside] = 0
            assert inside.any()
        torch.testing.assert_close(tgts[i]["boxes"].as_subclass(torch.Tensor), rb.as_subclass(torch.Tensor),
                                   atol=1e-4, rtol=0)
        rm = TF.resize(TF.crop(targets[i]["masks"], t, l_, h, w), [32, 40], interpolation=v2.InterpolationMode.NEAREST)
        assert torch.equal(tgts[i]["masks"], rm)


def test_iou_crop_meets_the_drawn_overlap():
    img, targets = _sample(b=6, seed=2)
    op = T.RandomIoUCrop(sampler_options=[0.5], size=24)
    _, p = op(img, targets, generator=torch.Generator().manual_seed(0), return_params=True)
    # small boxes cannot reach IoU 0.5 with a crop of at least 0.3 of each side (torchvision would
    # draw forever): those samples are left as they are after ``rounds`` x ``trials`` draws
    assert p["apply"].any()
    from torchvision.ops import box_iou

    for i in range(6):
        q = _row(p, i)
        if not bool(q["apply"]):
            assert (int(q["top"]), int(q["left"]), int(q["height"]), int(q["width"])) == (0, 0, H, W)
            continue
        t, l_, h, w = (int(q[k]) for k in ("top", "left", "height", "width"))
        b = targets[i]["boxes"].as_subclass(torch.Tensor)
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        inside = (l_ < cx) & (cx < l_ + w) & (t < cy) & (cy < t + h)
        crop = torch.tensor([[l_, t, l_ + w, t + h]], dtype=torch.float32)
        assert inside.any() and float(box_iou(b[inside], crop).max()) >= 0.5
        assert 0.5 <= w / h <= 2.0 and 0.3 * W - 1 <= w <= W and 0.3 * H - 1 <= h <= H


def test_iou_crop_leave_option_and_reproducibility():
    img, targets = _sample()
    op = T.RandomIoUCrop(sampler_options=[1.0], size=(H, W))
    out, tg = op(img, targets, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, img) and all(torch.equal(a["boxes"], b["boxes"]) for a, b in zip(tg, targets))
    op = T.RandomIoUCrop(size=20)
    a = op(img, generator=torch.Generator().manual_seed(5))
    b = op(img, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [{}, {"rounds": 2}, {"trials": 3, "sampler_options": [0.3, 0.5, 0.7, 0.9]}])
def test_iou_crop_rounds_by_block_pick_the_one_pass_crop(monkeypatch, kwargs):
    # on CPU the overlap test runs round block by round block for the samples still searching;
    # the crop each sample gets is the one of the one-pass (accelerator) evaluation of every round
    from torchaug.transforms import detection

    g = torch.Generator().manual_seed(3)
    b, n = 24, 6
    xy = torch.rand(b, n, 2, generator=g) * torch.tensor([W - 20.0, H - 20.0])
    boxes = torch.cat([xy, xy + 3 + torch.rand(b, n, 2, generator=g) * 18], -1)
    valid = torch.rand(b, n, generator=g) < 0.8
    x = torch.zeros(b, 3, H, W, dtype=torch.uint8)
    op = T.RandomIoUCrop(size=16, **kwargs)
    out, p = op({"image": x, "boxes": boxes, "boxes_valid": valid}, generator=torch.Generator().manual_seed(1),
                return_params=True)
    monkeypatch.setattr(detection, "_overlap_ok_by_rounds", lambda ok, leave, *a: ok & detection._overlap_ok(*a))
    ref, q = op({"image": x, "boxes": boxes, "boxes_valid": valid}, generator=torch.Generator().manual_seed(1),
                return_params=True)
    assert all(torch.equal(p[k], q[k]) for k in q) and torch.equal(out["boxes"], ref["boxes"])
    assert 0 < int(p["apply"].sum()) < b  # some samples cropped, some kept whole


# -- RandomZoomOut ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_zoom_out_matches_torchvision_pad_then_resize(dtype):
    img, targets = _sample(dtype=dtype)
    fill = [10, 20, 30] if dtype == torch.uint8 else [0.1, 0.2, 0.3]
    op = T.RandomZoomOut(fill=fill, p=0.75, size=(40, 48))
    (out, tgts), p = op(img, targets, generator=torch.Generator().manual_seed(3), return_params=True)
    assert out.shape == (4, 3, 40, 48)
    for i in range(4):
        q = _row(p, i)
        t, l_, ch, cw = (int(q[k]) for k in ("top", "left", "canvas_h", "canvas_w"))
        pad = [l_, t, cw - W - l_, ch - H - t]
        ref = TF.resize(TF.pad(img[i], pad, fill=fill), [40, 48], antialias=True).as_subclass(torch.Tensor)
        if dtype == torch.uint8:
            assert (out[i].int() - ref.int()).abs().max() <= 1
        else:
            torch.testing.assert_close(out[i].as_subclass(torch.Tensor), ref, atol=1e-5, rtol=0)
        rb = TF.resize(TF.pad(targets[i]["boxes"], pad), [40, 48])
        torch.testing.assert_close(tgts[i]["boxes"].as_subclass(torch.Tensor), rb.as_subclass(torch.Tensor), atol=1e-4, rtol=0)
        rm = TF.resize(TF.pad(targets[i]["masks"], pad), [40, 48], interpolation=v2.InterpolationMode.NEAREST)
        assert torch.equal(tgts[i]["masks"], rm)


def test_zoom_out_checks_fill():
    with pytest.raises(TypeError, match="fill"):
        T.RandomZoomOut(fill="red", size=8)
    with pytest.raises(ValueError, match="side_range"):
        T.RandomZoomOut(side_range=(0.5, 2.0), size=8)
    with pytest.raises(ValueError, match="fill"):
        T.RandomZoomOut(fill=300, size=8)(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))


# -- bbox-safe crops (albumentations 2.0.8) --------------------------------------------------------
class _Fixed(random.Random):
    """A ``random.Random`` whose ``random()`` returns given values (the draws we replay)."""

    def __init__(self, values):
        super().__init__(0)
        self.values = list(values)

    def random(self):
        return self.values.pop(0)


@pytest.mark.parametrize("erosion", [0.0, 0.3])
def test_bbox_safe_crop_coords_match_albumentations(erosion):
    A = pytest.importorskip("albumentations")
    img, targets = _sample(b=6, seed=4)
    g = torch.Generator().manual_seed(0)
    u = torch.rand(6, 5, generator=g)
    boxes = torch.zeros(6, 3, 4)
    valid = torch.zeros(6, 3, dtype=torch.bool)
    for i, t in enumerate(targets):
        n = t["boxes"].shape[0]
        boxes[i, :n], valid[i, :n] = t["boxes"], True
    top, left, height, width = T.BBoxSafeRandomCrop.crop_coords(boxes, valid, (H, W), erosion, u)
    for i, t in enumerate(targets):
        a = A.BBoxSafeRandomCrop(erosion_rate=erosion)
        a.py_random = _Fixed(u[i, :4].double().tolist())
        nb = t["boxes"].as_subclass(torch.Tensor).numpy() / np.array([W, H, W, H])
        x0, y0, x1, y1 = a.get_params_dependent_on_data({"shape": (H, W)}, {"bboxes": nb})["crop_coords"]
        assert (int(left[i]), int(top[i]), int(left[i] + width[i]), int(top[i] + height[i])) == (x0, y0, x1, y1)


def test_bbox_safe_crop_keeps_every_box_whole():
    img, targets = _sample(b=6, seed=5)
    op = T.RandomSizedBBoxSafeCrop(30, 36)
    out, tg = op(img, targets, generator=torch.Generator().manual_seed(2))
    assert out.shape == (6, 3, 30, 36)
    for src, t in zip(targets, tg):
        b = t["boxes"].as_subclass(torch.Tensor)
        assert bool(T.boxes_valid(b).all())
        assert (b[:, 0] >= 0).all() and (b[:, 2] <= 36 + 1e-4).all() and (b[:, 3] <= 30 + 1e-4).all()
        # no box was clipped: the aspect of each box is kept up to the crop's resize factors
        assert t["masks"].shape == (src["masks"].shape[0], 30, 36)
        for k in range(b.shape[0]):
            ys, xs = torch.nonzero(t["masks"][k], as_tuple=True)
            assert xs.min() >= b[k, 0] - 1.01 and xs.max() + 1 <= b[k, 2] + 1.01
            assert ys.min() >= b[k, 1] - 1.01 and ys.max() + 1 <= b[k, 3] + 1.01


def test_bbox_safe_crop_without_boxes_keeps_aspect():
    x = torch.zeros(5, 3, H, W, dtype=torch.uint8)
    op = T.BBoxSafeRandomCrop(erosion_rate=0.5, size=16)
    _, p = op(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert ((p["height"] >= H // 2) & (p["height"] <= H)).all()
    assert torch.equal(p["width"], (p["height"] * W // H))
    assert ((p["top"] + p["height"] <= H) & (p["left"] + p["width"] <= W)).all()


# -- Clamp / Sanitize (torchvision v2) -------------------------------------------------------------
def _messy_targets():
    b0 = tv_tensors.BoundingBoxes(torch.tensor([[-5.0, 2, 20, 30], [60, 40, 80, 60], [10, 10, 10.5, 30], [3, 3, 9, 9]]),
                                  format="XYXY", canvas_size=(H, W))
    b1 = tv_tensors.BoundingBoxes(torch.tensor([[0.0, 0, 70, 50], [5, 5, 6, 6]]), format="XYXY", canvas_size=(H, W))
    t0 = {"boxes": b0, "labels": torch.tensor([1, 2, 3, 4]), "masks": tv_tensors.Mask(torch.zeros(4, H, W, dtype=torch.uint8)),
          "image_id": 7}
    t1 = {"boxes": b1, "labels": torch.tensor([5, 6]), "masks": tv_tensors.Mask(torch.ones(2, H, W, dtype=torch.uint8)),
          "image_id": 8}
    return [t0, t1]


def test_clamp_matches_torchvision():
    img = tv_tensors.Image(torch.zeros(2, 3, H, W, dtype=torch.uint8))
    tg = _messy_targets()
    out, new = T.ClampBoundingBoxes()(img, tg)
    assert torch.equal(out, img)
    for a, b in zip(new, tg):
        ref = v2.ClampBoundingBoxes()(b["boxes"])
        torch.testing.assert_close(a["boxes"].as_subclass(torch.Tensor), ref.as_subclass(torch.Tensor))
        assert torch.equal(a["labels"], b["labels"])


@pytest.mark.parametrize("kw", [{}, {"min_size": 3.0}, {"min_area": 30.0}])
def test_sanitize_matches_torchvision(kw):
    img = tv_tensors.Image(torch.zeros(2, 3, H, W, dtype=torch.uint8))
    tg = _messy_targets()
    _, new = T.SanitizeBoundingBoxes(**kw)(img, tg)
    for a, b in zip(new, tg):
        _, ref = v2.SanitizeBoundingBoxes(**kw)(img[0], b)
        assert torch.equal(a["boxes"], ref["boxes"]) and torch.equal(a["labels"], ref["labels"])
        assert torch.equal(a["masks"], ref["masks"]) and a["image_id"] == b["image_id"]
        assert type(a["boxes"]) is tv_tensors.BoundingBoxes and type(a["masks"]) is tv_tensors.Mask


def test_sanitize_dict_sample_and_batched_flags():
    s = {"image": torch.zeros(3, H, W), "boxes": torch.tensor([[0.0, 0, 5, 5], [3, 3, 3, 9]]), "labels": torch.tensor([1, 2])}
    out = T.SanitizeBoundingBoxes()(s)
    assert out["boxes"].shape == (1, 4) and out["labels"].tolist() == [1]
    batched = {"image": torch.zeros(2, 3, H, W), "boxes": torch.tensor([[[0.0, 0, 5, 5], [3, 3, 3, 9]]] * 2)}
    assert T.SanitizeBoundingBoxes()(batched)["boxes_valid"].tolist() == [[True, False]] * 2
    with pytest.raises(TypeError, match="labels_getter"):
        T.SanitizeBoundingBoxes(labels_getter=3)


def test_iou_crop_then_sanitize_drops_boxes_with_labels_and_masks():
    img, targets = _sample(b=6, seed=7)
    out, tg = T.RandomIoUCrop(size=32)(img, targets, generator=torch.Generator().manual_seed(4))
    _, clean = T.SanitizeBoundingBoxes()(out, tg)
    for t, c in zip(tg, clean):
        keep = T.boxes_valid(t["boxes"])
        assert c["boxes"].shape[0] == int(keep.sum()) == c["labels"].shape[0] == c["masks"].shape[0]
        assert torch.equal(c["labels"], t["labels"][keep])


# -- RandomPhotometricDistort ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_photometric_distort_matches_torchvision(dtype):
    img, _ = _sample(b=8, seed=9, dtype=dtype)
    op = T.RandomPhotometricDistort(p=0.5)
    out, p = op(img, generator=torch.Generator().manual_seed(0), return_params=True)
    ref_op = v2.RandomPhotometricDistort(p=0.5)
    for i in range(8):
        q = _row(p, i)
        tp = {
            "brightness_factor": None if float(q["brightness"]) == 1.0 else float(q["brightness"]),
            "contrast_factor": None if float(q["contrast"]) == 1.0 else float(q["contrast"]),
            "saturation_factor": None if float(q["saturation"]) == 1.0 else float(q["saturation"]),
            "hue_factor": float(q["hue"]) if bool(q["has_hue"]) else None,
            "contrast_before": bool(q["contrast_before"]),
            "channel_permutation": q["permutation"],
        }
        ref = ref_op.transform(img[i], tp).as_subclass(torch.Tensor)
        if dtype == torch.uint8:
            assert (out[i].int() - ref.int()).abs().max() <= 1
        else:
            torch.testing.assert_close(out[i].as_subclass(torch.Tensor), ref, atol=1e-5, rtol=0)
    # every branch was drawn somewhere in the batch
    assert p["has_hue"].any() and (~p["has_hue"]).any() and p["contrast_before"].any() and (~p["contrast_before"]).any()


def test_photometric_distort_p0_is_identity_and_checks_ranges():
    img, _ = _sample()
    assert torch.equal(T.RandomPhotometricDistort(p=0.0)(img, generator=torch.Generator().manual_seed(0)), img)
    with pytest.raises(ValueError, match="hue"):
        T.RandomPhotometricDistort(hue=(-0.7, 0.1))
    with pytest.raises(TypeError, match="contrast"):
        T.RandomPhotometricDistort(contrast=0.5)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_photometric_distort_fused_is_the_fused_colour_map_then_the_permutation(dtype):
    """``mode="fused"``: the same draws as the default mode, applied as ColorJitter's fused map
    (``color_jitter_fused``) in each sample's order, then the channel permutation; close to
    torchvision's step-by-step maths, not equal to it."""
    from torchaug.functional import color as FC

    img, _ = _sample(b=12, seed=4, dtype=dtype)
    g = torch.Generator().manual_seed(1)
    out, p = T.RandomPhotometricDistort(p=0.6, mode="fused")(img, generator=g, return_params=True)
    exact = T.RandomPhotometricDistort(p=0.6)(img, params=p)
    order = torch.where(p["contrast_before"].unsqueeze(1), torch.tensor([0, 1, 2, 3]), torch.tensor([0, 2, 3, 1]))
    ref = FC.color_jitter_fused(img, p["brightness"], p["contrast"], p["saturation"], p["hue"], order)
    ref = ref.gather(1, p["permutation"].view(12, 3, 1, 1).expand_as(ref))
    scale = 255.0 if dtype == torch.uint8 else 1.0
    if dtype == torch.uint8:
        assert torch.equal(out, ref)
    else:
        torch.testing.assert_close(out, ref, atol=1e-6, rtol=0)
    assert (p["permutation"] != torch.arange(3)).any()  # a permutation was drawn and folded in
    diff = (out.double() - exact.double()).abs() / scale
    assert 0 < diff.mean() < 0.03  # a few grey levels on average (hue by rotation, no intermediate clamps)


def test_photometric_distort_mode_is_checked():
    with pytest.raises(ValueError, match="mode"):
        T.RandomPhotometricDistort(mode="opencv")
    assert "mode='fused'" in repr(T.RandomPhotometricDistort(mode="fused"))


# -- fixed-size crops from the targets (albumentations 2.0.8 rules) --------------------------------
def test_crop_non_empty_mask_contains_a_set_pixel_and_respects_ignores():
    img, targets = _sample(b=6, seed=11)
    op = T.CropNonEmptyMaskIfExists(20, 24)
    (out, tg), p = op(img, targets, generator=torch.Generator().manual_seed(0), return_params=True)
    assert out.shape == (6, 3, 20, 24)
    for i, t in enumerate(tg):
        assert t["masks"].shape[-2:] == (20, 24) and bool(t["masks"].any())
        top, left = int(p["top"][i]), int(p["left"][i])
        assert torch.equal(out[i], img[i, :, top:top + 20, left:left + 24])
    # value 1 ignored everywhere: no set pixel, so a uniform crop inside the image
    m = tv_tensors.Mask(torch.ones(6, 1, H, W, dtype=torch.uint8))
    _, p = T.CropNonEmptyMaskIfExists(20, 24, ignore_values=[1])(img, m, generator=torch.Generator().manual_seed(1),
                                                                  return_params=True)
    assert ((p["top"] >= 0) & (p["top"] <= H - 20) & (p["left"] >= 0) & (p["left"] <= W - 24)).all()
    # one set pixel in channel 1 only; ignoring channel 1 makes the mask empty
    m2 = torch.zeros(6, 2, H, W, dtype=torch.uint8)
    m2[:, 1, 40, 60] = 1
    _, p = T.CropNonEmptyMaskIfExists(8, 8)(img, tv_tensors.Mask(m2), generator=torch.Generator().manual_seed(2),
                                            return_params=True)
    assert ((p["top"] <= 40) & (p["top"] + 8 > 40) & (p["left"] <= 60) & (p["left"] + 8 > 60)).all()
    with pytest.raises(ValueError, match="larger than the image"):
        T.CropNonEmptyMaskIfExists(H + 1, 4)(img)


def test_at_least_one_bbox_crop_holds_an_eroded_box():
    img, targets = _sample(b=8, seed=12)
    op = T.AtLeastOneBBoxRandomCrop(30, 40, erosion_factor=0.2)
    (out, tg), p = op(img, targets, generator=torch.Generator().manual_seed(0), return_params=True)
    assert out.shape == (8, 3, 30, 40)
    for i, src in enumerate(targets):
        top, left = int(p["top"][i]), int(p["left"][i])
        b = src["boxes"].as_subclass(torch.Tensor)
        bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        e = torch.stack([b[:, 0] + 0.1 * bw, b[:, 1] + 0.1 * bh, b[:, 2] - 0.1 * bw, b[:, 3] - 0.1 * bh], 1)
        fits = (e[:, 0] >= left) & (e[:, 2] <= left + 40) & (e[:, 1] >= top) & (e[:, 3] <= top + 30)
        big = (e[:, 2] - e[:, 0] > 40) | (e[:, 3] - e[:, 1] > 30)
        assert bool((fits | big).any()), (i, top, left, e)
        assert torch.equal(out[i], img[i, :, top:top + 30, left:left + 40])
