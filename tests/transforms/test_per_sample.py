"""Per-sample output sizes without size=: lists of images and per-image targets equal torchvision's op per image."""

from __future__ import annotations

import pytest
import torch

import torchaug.transforms as T

tv_tensors = pytest.importorskip("torchvision.tv_tensors")
TF = pytest.importorskip("torchvision.transforms.v2.functional")
v2 = pytest.importorskip("torchvision.transforms.v2")

H, W = 36, 44


def _sample(b=4, seed=0, dtype=torch.uint8):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 255, (b, 3, H, W), generator=g, dtype=torch.uint8)
    targets = []
    for i in range(b):
        n = 1 + i % 3
        boxes, masks = [], []
        for _ in range(n):
            x0, y0 = int(torch.randint(0, W - 14, (1,), generator=g)), int(torch.randint(0, H - 14, (1,), generator=g))
            bw, bh = int(torch.randint(6, W - x0, (1,), generator=g)), int(torch.randint(6, H - y0, (1,), generator=g))
            m = torch.zeros(H, W, dtype=torch.uint8)
            m[y0:y0 + bh, x0:x0 + bw] = 1
            boxes.append([x0, y0, x0 + bw, y0 + bh])
            masks.append(m)
        targets.append({"boxes": tv_tensors.BoundingBoxes(torch.tensor(boxes, dtype=torch.float32), format="XYXY",
                                                          canvas_size=(H, W)),
                        "masks": tv_tensors.Mask(torch.stack(masks)), "labels": torch.arange(n)})
    x = x if dtype == torch.uint8 else x.to(dtype) / 255
    return tv_tensors.Image(x), targets


def _plain(t):
    return t.as_subclass(torch.Tensor)


def _check_targets(got, ref_boxes, ref_masks, labels, hw):
    assert got["boxes"].canvas_size == hw and got["masks"].shape[-2:] == hw
    torch.testing.assert_close(_plain(got["boxes"]), _plain(ref_boxes), atol=1e-4, rtol=0)
    assert torch.equal(_plain(got["masks"]), _plain(ref_masks))
    assert torch.equal(got["labels"], labels)


def test_iou_crop_without_size_is_torchvision_crop_per_image():
    img, targets = _sample()
    (outs, tgts), p = T.RandomIoUCrop()(img, targets, generator=torch.Generator().manual_seed(1), return_params=True)
    assert isinstance(outs, list) and len(outs) == 4 and p["apply"].any()
    assert len({tuple(o.shape) for o in outs}) > 1  # really per-sample sizes
    for i, o in enumerate(outs):
        t, l_, h, w = (int(p[k][i]) for k in ("top", "left", "height", "width"))
        assert isinstance(o, tv_tensors.Image) and torch.equal(_plain(o), _plain(TF.crop(img[i], t, l_, h, w)))
        b = targets[i]["boxes"]
        rb = TF.crop(b, t, l_, h, w).clone()
        if bool(p["apply"][i]):  # torchvision's RandomIoUCrop zeroes the boxes whose centre left the crop
            cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
            rb[~((l_ < cx) & (cx < l_ + w) & (t < cy) & (cy < t + h))] = 0
        _check_targets(tgts[i], rb, TF.crop(targets[i]["masks"], t, l_, h, w), targets[i]["labels"], (h, w))
    # replay, and the plain-batch form
    again = T.RandomIoUCrop()(img, targets, params=p)
    assert all(torch.equal(a, b) for a, b in zip(again[0], outs))
    alone = T.RandomIoUCrop()(_plain(img), params=p)
    assert all(type(a) is torch.Tensor and torch.equal(a, _plain(b)) for a, b in zip(alone, outs))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_zoom_out_without_size_is_torchvision_pad_per_image(dtype):
    img, targets = _sample(dtype=dtype)
    fill = [10, 20, 30] if dtype == torch.uint8 else [0.1, 0.2, 0.3]
    (outs, tgts), p = T.RandomZoomOut(fill=fill, p=0.5)((img, targets), generator=torch.Generator().manual_seed(0),
                                                       return_params=True)
    assert p["apply"].any() and (~p["apply"]).any()
    for i, o in enumerate(outs):
        t, l_, ch, cw = (int(p[k][i]) for k in ("top", "left", "canvas_h", "canvas_w"))
        pad = [l_, t, cw - W - l_, ch - H - t]
        assert o.shape == (3, ch, cw) and o.dtype == dtype
        assert torch.equal(_plain(o), _plain(TF.pad(img[i], pad, fill=fill)))
        _check_targets(tgts[i], TF.pad(targets[i]["boxes"], pad), TF.pad(targets[i]["masks"], pad),
                       targets[i]["labels"], (ch, cw))


@pytest.mark.parametrize("make", [
    lambda: T.ScaleJitter((40, 48), scale_range=(0.5, 1.5)),
    lambda: T.RandomResize(20, 50),
    lambda: T.RandomShortestSize([18, 30, 44], max_size=60),
], ids=["ScaleJitter", "RandomResize", "RandomShortestSize"])
def test_resize_ops_without_size_return_lists_with_targets(make):
    img, targets = _sample(b=5, seed=4)
    op = make()
    (outs, tgts), p = op(img, targets, generator=torch.Generator().manual_seed(0), return_params=True)
    assert len({tuple(o.shape) for o in outs}) > 1
    for i, o in enumerate(outs):
        s = [int(v) for v in p["size"][i]]
        assert torch.equal(_plain(o), _plain(TF.resize(img[i], s, antialias=True)))  # torchvision's kernel (CPU)
        rm = TF.resize(targets[i]["masks"], s, interpolation=v2.InterpolationMode.NEAREST)
        _check_targets(tgts[i], TF.resize(targets[i]["boxes"], s), rm, targets[i]["labels"], tuple(s))


def test_list_mode_refuses_a_pipeline_and_bad_targets():
    img, targets = _sample()
    with pytest.raises(TypeError, match="size="):
        T.Compose([T.RandomIoUCrop(), T.RandomHorizontalFlip()])(img, targets)
    with pytest.raises(TypeError, match="targets"):
        T.RandomZoomOut()(img, targets[:2])
    with pytest.raises(TypeError, match="region"):
        T.RandomZoomOut()(img, region=torch.ones(4, H, W, dtype=torch.bool))
    # with size= the ops still give one batch
    assert T.RandomIoUCrop(size=16)(img, generator=torch.Generator().manual_seed(0)).shape == (4, 3, 16, 16)
