"""An IoU crop and a zoom out in a Compose, one of them sized: one step, one resize, torchvision's two ops then Resize."""

from __future__ import annotations

import pytest
import torch

import torchaug.transforms as T
from torchaug._devpath import accelerator_path
from torchaug.functional.zoom import zoom_out_resize

tv_tensors = pytest.importorskip("torchvision.tv_tensors")
TF = pytest.importorskip("torchvision.transforms.v2.functional")
v2 = pytest.importorskip("torchvision.transforms.v2")

from tests.transforms.test_detection import H, W, _row, _sample  # noqa: E402

SIZE = (40, 56)
FILL = [10, 20, 30]
ORDERS = ["crop_first", "zoom_first"]  # the order; torchvision's SSD reference order


def _pipe(order, fill=FILL, **zoom):
    if order == "crop_first":
        return T.Compose([T.RandomIoUCrop(), T.RandomZoomOut(fill=fill, size=SIZE, **zoom)])
    return T.Compose([T.RandomZoomOut(fill=fill, **zoom), T.RandomIoUCrop(size=SIZE)])


def _crop_and_params(params, order):
    return params if order == "crop_first" else params[::-1]


def _tv_crop(img, boxes, masks, cq):
    """torchvision's IoU crop: F.crop, the boxes whose centre left the crop zeroed."""
    t, l_, h, w = (int(cq[k]) for k in ("top", "left", "height", "width"))
    out_b = TF.crop(boxes, t, l_, h, w).clone()
    if bool(cq["apply"]):
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        out_b[~((l_ < cx) & (cx < l_ + w) & (t < cy) & (cy < t + h))] = 0
    return TF.crop(img, t, l_, h, w), out_b, TF.crop(masks, t, l_, h, w)


def _tv_zoom(img, boxes, masks, zq, fill):
    """torchvision's zoom out: F.pad of the image (fill), its boxes and masks (0)."""
    h, w = img.shape[-2:]
    zt, zl, ch, cw = (int(zq[k]) for k in ("top", "left", "canvas_h", "canvas_w"))
    pad = [zl, zt, cw - w - zl, ch - h - zt]
    return TF.pad(img, pad, fill=fill), TF.pad(boxes, pad), TF.pad(masks, pad, fill=0)


def _tv_reference(order, img, target, cq, zq, fill):
    parts = (img, target["boxes"], target["masks"])
    if order == "crop_first":
        parts = _tv_zoom(*_tv_crop(*parts, cq), zq, fill)
    else:
        parts = _tv_crop(*_tv_zoom(*parts, zq, fill), cq)
    im, b, m = parts
    return (TF.resize(im, list(SIZE), antialias=True), TF.resize(b, list(SIZE)),
            TF.resize(m, list(SIZE), interpolation=v2.InterpolationMode.NEAREST))


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_matches_torchvision_then_resize(order, dtype):
    img, targets = _sample(b=8, seed=3, dtype=dtype)
    fill = FILL if dtype == torch.uint8 else [v / 255 for v in FILL]
    (out, tgts), params = _pipe(order, fill, p=0.7)(img, targets, generator=torch.Generator().manual_seed(1),
                                                    return_params=True)
    cp, zp = _crop_and_params(params, order)
    assert out.shape == (8, 3, *SIZE) and out.dtype == dtype
    assert cp["apply"].any() and zp["apply"].any() and not zp["apply"].all()
    for i in range(8):
        cq, zq = _row(cp, i), _row(zp, i)
        im, b, m = _tv_reference(order, img[i], targets[i], cq, zq, fill)
        d = (out[i].double() - im.as_subclass(torch.Tensor).double()).abs().max()
        assert d <= (1 if dtype == torch.uint8 else 1e-5), (i, float(d))
        # boxes: torchvision's, the ones it zeroed included (moved onto the canvas, degenerate)
        torch.testing.assert_close(tgts[i]["boxes"].as_subclass(torch.Tensor), b.as_subclass(torch.Tensor),
                                   atol=1e-3, rtol=0)
        assert torch.equal(tgts[i]["masks"], m)
        assert torch.equal(tgts[i]["labels"], targets[i]["labels"])


def test_zoom_first_crop_is_drawn_on_the_canvas_with_the_moved_boxes():
    # the IoU crop of the SSD order sees each zoomed-out canvas: its crops reach past the image, and
    # every crop taken holds the centre of a box moved onto the canvas
    img, targets = _sample(b=16, seed=8)
    _, (zp, cp) = _pipe("zoom_first", p=1.0)(img, targets, generator=torch.Generator().manual_seed(4),
                                             return_params=True)
    assert ((cp["top"] + cp["height"] > zp["top"] + H) | (cp["left"] + cp["width"] > zp["left"] + W)
            | (cp["top"] < zp["top"]) | (cp["left"] < zp["left"])).any()
    assert (cp["height"] <= zp["canvas_h"]).all() and (cp["width"] <= zp["canvas_w"]).all()
    for i in torch.nonzero(cp["apply"]).flatten().tolist():
        b = targets[i]["boxes"].as_subclass(torch.Tensor) + torch.stack([zp["left"][i], zp["top"][i]] * 2)
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        t, l_, h, w = (int(cp[k][i]) for k in ("top", "left", "height", "width"))
        assert ((l_ < cx) & (cx < l_ + w) & (t < cy) & (cy < t + h)).any()


@pytest.mark.parametrize("order", ORDERS)
def test_accelerator_path_and_channels_last_agree_with_the_cpu_kernel(order):
    img, _ = _sample(b=6, seed=4)
    x = img.as_subclass(torch.Tensor)
    pipe = _pipe(order, p=0.6)
    out, params = pipe(x, generator=torch.Generator().manual_seed(7), return_params=True)
    with accelerator_path():  # the batched separable pass (no host read)
        acc = pipe(x, params=params)
    assert (acc.int() - out.int()).abs().max() <= 1
    cl = pipe(x.contiguous(memory_format=torch.channels_last), params=params)
    assert cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(cl, out)


def test_an_empty_window_is_all_fill():
    # a crop of the canvas that misses the image (no boxes to hold it there) is the fill alone
    x = torch.randint(0, 256, (2, 3, 10, 12), dtype=torch.uint8)
    z = torch.zeros(2, dtype=torch.long)
    args = (z, z, torch.full((2,), 8), torch.full((2,), 9))
    window = (z, z, torch.tensor([0, 10]), torch.tensor([0, 12]))
    out = zoom_out_resize(x, *args, (6, 7), [1, 2, 3], crop=window)
    assert torch.equal(out[0], torch.tensor([1, 2, 3], dtype=torch.uint8).view(3, 1, 1).expand(3, 6, 7))
    with accelerator_path():
        acc = zoom_out_resize(x, *args, (6, 7), [1, 2, 3], crop=window)
    assert torch.equal(acc[0], out[0])


def test_one_resize_not_two():
    # the fused step resizes the crop's pixels once; two sized steps resize the crop, then the canvas
    img, _ = _sample(b=4, seed=5)
    x = img.as_subclass(torch.Tensor)
    out, (cp, zp) = _pipe("crop_first", p=1.0)(x, generator=torch.Generator().manual_seed(0), return_params=True)
    two = T.Compose([T.RandomIoUCrop(size=SIZE), T.RandomZoomOut(fill=FILL, size=SIZE, p=1.0)])
    out2 = two(x, params=[cp, {**zp, "canvas_h": torch.full_like(zp["canvas_h"], SIZE[0] * 2)}])
    assert out2.shape == out.shape and not torch.equal(out, out2)


@pytest.mark.parametrize("order", ORDERS)
def test_keypoints_and_boxes_follow_the_pixels(order):
    # a 2x2-pixel object (nearest keeps a pixel of it below 2x downscaling): its keypoint lands on
    # the pixels the mask moved to, and its box encloses them
    b = 6
    x = torch.zeros(b, 3, H, W, dtype=torch.uint8)
    m = torch.zeros(b, 1, H, W, dtype=torch.uint8)
    pts = torch.tensor([[[21.0, 31.0]]]).repeat(b, 1, 1)
    m[:, 0, 30:32, 20:22] = 1
    x[:, :, 24:36, 14:28] = 255
    boxes = torch.tensor([[[14.0, 24.0, 28.0, 36.0]]]).repeat(b, 1, 1)
    sample = {"image": x, "mask": m, "keypoints": pts, "boxes": boxes}
    out = _pipe(order, p=1.0, side_range=(1.0, 1.5))(sample, generator=torch.Generator().manual_seed(3))
    assert out["mask"].shape[-2:] == SIZE
    for i in range(b):
        ys, xs = out["mask"][i, 0].nonzero(as_tuple=True)
        px, py = out["keypoints"][i, 0].tolist()
        assert ys.numel() and abs(float(xs.float().mean()) + 0.5 - px) <= 1.0 and abs(float(ys.float().mean()) + 0.5 - py) <= 1.0
        bx = out["boxes"][i, 0]
        assert bx[0] <= xs.min() and xs.max() + 1 <= bx[2] + 1e-3 and bx[1] <= ys.min() and ys.max() + 1 <= bx[3] + 1e-3


@pytest.mark.parametrize("order", ORDERS)
def test_params_replay_reproducibility_and_errors(order):
    img, targets = _sample(b=4, seed=6)
    pipe = _pipe(order)
    a, params = pipe(img, targets, generator=torch.Generator().manual_seed(9), return_params=True)
    b = pipe(img, targets, params=params)
    c = pipe(img, targets, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[0], c[0])
    with pytest.raises(TypeError, match="replay both steps"):
        pipe(img, targets, params=[params[0], None])
    with pytest.raises(ValueError, match="keys"):
        pipe(img, targets, params=[params[1], params[0]])


def test_a_size_less_step_not_fused_says_what_to_do():
    img, targets = _sample(b=2)
    with pytest.raises(TypeError, match="RandomZoomOut"):
        T.Compose([T.RandomIoUCrop(), T.RandomHorizontalFlip()])(img, targets)
    with pytest.raises(TypeError, match="size="):
        T.Compose([T.RandomIoUCrop(), T.RandomZoomOut()])(img, targets)
    with pytest.raises(TypeError, match="size="):
        T.Compose([T.RandomZoomOut(), T.RandomHorizontalFlip()])(img, targets)
