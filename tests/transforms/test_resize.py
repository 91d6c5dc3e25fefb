"""The resize/pad family: torchvision v2 and albumentations 2.0.8 parity with the same sizes replayed,
list / ``size=`` outputs, ragged lists, targets, keypoints that land in their one-pixel masks, FiveCrop/TenCrop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchaug.transforms import (
    FiveCrop, Letterbox, LongestMaxSize, PadIfNeeded, RandomResize, RandomScale, RandomShortestSize, ScaleJitter,
    SmallestMaxSize, TenCrop,
)
from torchaug.functional.resizing import resize_to

tv2 = pytest.importorskip("torchvision.transforms.v2")
TF = pytest.importorskip("torchvision.transforms.v2.functional")


def _batch(n=4, c=3, h=12, w=18, seed=0, dtype=torch.uint8):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _close(a, b, dtype):
    tol = 1.0 if dtype == torch.uint8 else 1e-5
    torch.testing.assert_close(a.double(), b.double(), atol=tol, rtol=0)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("interp", ["bilinear", "bicubic", "nearest"])
@pytest.mark.parametrize("hw", [(7, 25), (30, 40)])
def test_resize_to_equals_torchvision(dtype, interp, hw):
    x = _batch(dtype=dtype)
    ref = TF.resize(x, list(hw), interpolation=getattr(tv2.InterpolationMode, interp.upper()), antialias=True)
    if dtype.is_floating_point and interp == "bicubic":
        ref = ref.clamp(0, 1)  # documented: floating bicubic is clamped to [0, 1]
    _close(resize_to(x, hw, interp), ref, dtype)


def _tv_sizes(op, x, n):
    """torchvision's own draw with a deterministic setting, for one image of x's size."""
    return [op.make_params([x[0]])["size"] for _ in range(n)]


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_shortest_size_equals_torchvision_op_then_resize(dtype):
    x = _batch(dtype=dtype)
    ours = RandomShortestSize([10, 20, 30], max_size=40, size=(16, 16))
    out, params = ours(x, generator=torch.Generator().manual_seed(1), return_params=True)
    assert out.shape == (4, 3, 16, 16)
    for i, (h, w) in enumerate(params["size"].tolist()):
        s = min(h, w)
        tv = tv2.RandomShortestSize(min_size=[v for v in (10, 20, 30) if int(18 * min(v / 12, 40 / 18)) in (h, w)
                                              or int(12 * min(v / 12, 40 / 18)) == s][:1], max_size=40)
        assert list(tv.make_params([x[i]])["size"]) == [h, w]
        ref = TF.resize(TF.resize(x[i], [h, w], antialias=True), [16, 16], antialias=True)
        _close(out[i], ref, dtype if dtype != torch.uint8 else torch.uint8)


def test_random_resize_and_scale_jitter_sizes_follow_torchvision():
    x = _batch(h=12, w=18)
    for s in range(10, 15):
        rr = RandomResize(s, s + 1)
        assert rr(x, return_params=True)[1]["size"][0].tolist() == list(TF.resize(x[0], [s]).shape[-2:])
    sj = ScaleJitter((20, 30), scale_range=(0.7, 0.7))
    tv = tv2.ScaleJitter((20, 30), scale_range=(0.7, 0.7))
    assert sj(x, return_params=True)[1]["size"][0].tolist() == list(tv.make_params([x[0]])["size"])


@pytest.mark.parametrize("op", [RandomResize(8, 30), ScaleJitter((18, 12), (0.5, 2.0)), RandomShortestSize([8, 16, 24]),
                                RandomScale(0.4, p=1.0)], ids=lambda o: type(o).__name__)
def test_random_sizes_give_a_list_equal_to_per_sample_torchvision_resize(op):
    x = _batch(n=6)
    out, params = op(x, generator=torch.Generator().manual_seed(3), return_params=True)
    sizes = params["size"].tolist()
    assert isinstance(out, list) and [list(o.shape[-2:]) for o in out] == sizes
    for o, xi, s in zip(out, x, sizes):
        _close(o, TF.resize(xi, s, antialias=True), torch.uint8)
    again = op(x, params=params)
    assert all(torch.equal(a, b) for a, b in zip(out, again))


def test_list_output_with_targets_raises_naming_size():
    from torchvision import tv_tensors as tv

    x = tv.Image(_batch())
    m = tv.Mask(torch.zeros(4, 1, 12, 18, dtype=torch.uint8))
    with pytest.raises(TypeError, match="RandomResize.*size="):
        RandomResize(8, 30)((x, {"masks": m}))


def test_ragged_list_through_longest_max_size():
    imgs = [_batch(n=1, h=h, w=w, seed=h)[0] for h, w in ((10, 20), (30, 15), (8, 8))]
    out = LongestMaxSize(max_size=16)(imgs)
    assert [tuple(o.shape[-2:]) for o in out] == [(8, 16), (16, 8), (16, 16)]
    batch = LongestMaxSize(max_size=16, size=(16, 16))(imgs)
    assert batch.shape == (3, 3, 16, 16)
    for o, im in zip(out, imgs):
        _close(o, TF.resize(im, list(o.shape[-2:]), antialias=True), torch.uint8)


A = pytest.importorskip("albumentations")
cv2 = pytest.importorskip("cv2")


def _hwc(t):
    return np.ascontiguousarray(t.permute(1, 2, 0).numpy())


@pytest.mark.parametrize("cls", [LongestMaxSize, SmallestMaxSize])
def test_max_size_ops_equal_albumentations_on_upscale_bilinear(cls):
    x = _batch(n=2, h=10, w=14)
    kw = dict(max_size=21) if cls is LongestMaxSize else dict(max_size=15)
    out = cls(**kw)(x)
    peer = getattr(A, cls.__name__)(**kw, interpolation=cv2.INTER_LINEAR, p=1.0)
    for i in range(2):
        ref = peer(image=_hwc(x[i]))["image"]
        assert out[i].shape[-2:] == ref.shape[:2]
        assert np.abs(_hwc(out[i]).astype(int) - ref.astype(int)).max() <= 1


def test_max_size_hw_and_area_downscale_equal_albumentations():
    x = _batch(n=2, h=16, w=24)
    out = LongestMaxSize(max_size_hw=(8, 20), interpolation="area")(x)
    peer = A.LongestMaxSize(max_size_hw=(8, 20), interpolation=cv2.INTER_AREA, p=1.0)
    for i in range(2):
        ref = peer(image=_hwc(x[i]))["image"]
        assert out.shape[-2:] == ref.shape[:2] == (8, 12)
        assert np.abs(_hwc(out[i]).astype(int) - ref.astype(int)).max() <= 1
    assert SmallestMaxSize(max_size_hw=(20, 20))(x).shape[-2:] == (20, 30)


def test_random_scale_size_follows_albumentations():
    x = _batch(n=1, h=20, w=30)
    _, params = RandomScale(scale_limit=(0.25, 0.25), p=1.0)(x, return_params=True)
    ref = A.RandomScale(scale_limit=(0.25, 0.25), p=1.0)(image=_hwc(x[0]))["image"]
    assert tuple(params["size"][0].tolist()) == ref.shape[:2]


@pytest.mark.parametrize("position", ["center", "top_left", "top_right", "bottom_left", "bottom_right"])
@pytest.mark.parametrize("border", [cv2.BORDER_CONSTANT, cv2.BORDER_REFLECT_101, cv2.BORDER_REPLICATE, cv2.BORDER_REFLECT])
def test_pad_if_needed_equals_albumentations(position, border):
    x = _batch(n=2, h=9, w=14)
    m = (_batch(n=2, c=1, h=9, w=14, seed=4) > 100).to(torch.uint8)
    kp = torch.tensor([[[2.5, 3.5]]]).expand(2, 1, 2)
    op = PadIfNeeded(min_height=16, min_width=17, position=position, border_mode=border, fill=7, fill_mask=3)
    peer = A.PadIfNeeded(min_height=16, min_width=17, position=position, border_mode=border, fill=7, fill_mask=3, p=1.0)
    peer = A.Compose([peer], keypoint_params=A.KeypointParams(format="xy"))
    out, params = op(x, return_params=True)
    mo = op.transform_mask(m, params)
    po = op.transform_points(kp, params, (9, 14))
    for i in range(2):
        r = peer(image=_hwc(x[i]), mask=m[i, 0].numpy(), keypoints=[(2.0, 3.0)])
        np.testing.assert_array_equal(_hwc(out[i]), r["image"])
        np.testing.assert_array_equal(mo[i, 0].numpy(), r["mask"])
        # albumentations adds mirrored copies of keypoints in reflect-padded borders: ours is the original one
        peer_kp = np.asarray(r["keypoints"])[:, :2]
        assert np.abs(peer_kp - (po[i, 0].numpy() - 0.5)).sum(1).min() < 1e-5, (peer_kp, po[i])


def test_pad_if_needed_divisor_and_random_position():
    x = _batch(n=64, h=9, w=14)
    out, params = PadIfNeeded(pad_height_divisor=8, pad_width_divisor=8, position="random")(
        x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert out.shape[-2:] == (16, 16)
    assert params["top"].min() >= 0 and params["top"].max() <= 6 and len(set(params["top"].tolist())) > 3
    for i in range(3):
        t, l = int(params["top"][i]), int(params["left"][i])
        assert torch.equal(out[i, :, t:t + 9, l:l + 14], x[i])


def test_letterbox_params_map_boxes_back():
    x = _batch(n=2, h=10, w=20)
    op = Letterbox((32, 32))
    out, params = op(x, return_params=True)
    assert out.shape == (2, 3, 32, 32)
    assert (out[:, :, :8] == 114).all() and (out[:, :, 24:] == 114).all()  # grey bands top and bottom
    _close(out[:, :, 8:24], TF.resize(x, [16, 32], antialias=True), torch.uint8)
    boxes = torch.tensor([[[2.0, 1.0, 12.0, 9.0]]]).expand(2, 1, 4)
    moved = op.transform_boxes(boxes, params, (10, 20))
    torch.testing.assert_close(moved[0, 0], torch.tensor([3.2, 9.6, 19.2, 22.4]))
    torch.testing.assert_close(Letterbox.unmap_boxes(moved, params), boxes)


@pytest.mark.parametrize("stack", [False, True])
def test_five_and_ten_crop_equal_torchvision(stack):
    x = _batch(n=3, h=12, w=15)
    for ours, peer in ((FiveCrop((7, 9), stack=stack), tv2.FiveCrop((7, 9))),
                       (TenCrop(8, vertical_flip=True, stack=stack), tv2.TenCrop(8, vertical_flip=True))):
        ref = peer(x)
        out = ours(x)
        if stack:
            assert out.shape == (3 * len(ref), 3, *ref[0].shape[-2:])
            out = tuple(out.view(3, len(ref), *out.shape[1:]).unbind(1))
        assert len(out) == len(ref)
        for a, b in zip(out, ref):
            assert torch.equal(a, b)
    with pytest.raises(ValueError, match="FiveCrop"):
        FiveCrop(20)(x)


#: every op scales up here, so nearest keeps each one-pixel mask (a downscale may drop it)
GEOMETRIC = [LongestMaxSize(max_size=23), SmallestMaxSize(max_size=20), RandomScale(0.5, size=(20, 24), p=1.0),
             RandomResize(6, 30, size=(21, 27)), ScaleJitter((15, 15), size=(25, 19)), RandomShortestSize([6, 20], size=17),
             PadIfNeeded(20, 21, position="random"), Letterbox((21, 30))]


@pytest.mark.parametrize("op", GEOMETRIC, ids=lambda o: type(o).__name__)
def test_keypoint_lands_in_its_one_pixel_mask(op):
    """A keypoint at a pixel's centre and that pixel as a mask: after the op the keypoint lies in the
    moved mask's pixel (nearest resizing keeps one pixel or makes a block; the point is inside it)."""
    n, h, w = 12, 13, 17
    g = torch.Generator().manual_seed(1)
    yx = torch.stack([torch.randint(0, h, (n,), generator=g), torch.randint(0, w, (n,), generator=g)], 1)
    mask = torch.zeros(n, 1, h, w, dtype=torch.uint8)
    mask[torch.arange(n), 0, yx[:, 0], yx[:, 1]] = 1
    pts = yx.flip(1).float().unsqueeze(1) + 0.5
    x = _batch(n=n, h=h, w=w)
    _, params = op(x, generator=torch.Generator().manual_seed(2), return_params=True)
    mo = op.transform_mask(mask, params)
    po = op.transform_points(pts, params, (h, w))
    for i in range(n):
        ys, xs = torch.nonzero(mo[i, 0], as_tuple=True)
        px, py = float(po[i, 0, 0]), float(po[i, 0, 1])
        assert len(xs), i
        assert xs.min() - 0.5 <= px <= xs.max() + 1.5 and ys.min() - 0.5 <= py <= ys.max() + 1.5, (i, px, py, xs, ys)


def test_random_interpolation_is_per_sample_bilinear_or_bicubic():
    x = _batch(n=32, h=8, w=8)
    op = LongestMaxSize(max_size=20, interpolation="random")
    out, params = op(x, generator=torch.Generator().manual_seed(0), return_params=True)
    choice = params["interpolation"]
    assert set(choice.tolist()) == {0, 1}
    for i in range(32):
        mode = tv2.InterpolationMode.BICUBIC if choice[i] else tv2.InterpolationMode.BILINEAR
        _close(out[i], TF.resize(x[i], [20, 20], interpolation=mode, antialias=True), torch.uint8)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="LongestMaxSize.*max_size"):
        LongestMaxSize(max_size=None)
    with pytest.raises(ValueError, match="interpolation"):
        LongestMaxSize(interpolation="lanczos")
    with pytest.raises(ValueError, match="RandomResize.*max_size"):
        RandomResize(10, 10)
    with pytest.raises(ValueError, match="PadIfNeeded.*min_height"):
        PadIfNeeded(min_height=None, min_width=4)
    with pytest.raises(ValueError, match="PadIfNeeded.*position"):
        PadIfNeeded(position="middle")
    with pytest.raises(ValueError, match="RandomScale.*scale_limit"):
        RandomScale(scale_limit=(-1.5, 0.1))


def test_inside_compose():
    from torchaug.transforms import Compose, RandomCrop, RandomHorizontalFlip

    x = _batch(n=5, h=12, w=18)
    assert Compose([LongestMaxSize(max_size=24), RandomHorizontalFlip()])(x, generator=torch.Generator().manual_seed(0)).shape \
        == (5, 3, 16, 24)
    with pytest.raises(TypeError, match="RandomResize.*size="):
        Compose([RandomResize(8, 30), RandomHorizontalFlip()])(x)
    imgs = [_batch(n=1, h=h, w=w, seed=h)[0] for h, w in ((10, 20), (30, 15))]
    out = Compose([RandomResize(16, 24), RandomCrop(14)])(imgs, generator=torch.Generator().manual_seed(1))
    assert out.shape == (2, 3, 14, 14)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bool])
@pytest.mark.parametrize("fill", [7, [1, 2, 3]])
def test_pad_sides_fast_path_equals_the_gather(mode, dtype, fill):
    from torchaug.functional import geometry as FG
    from torchaug.functional.resizing import pad_sides

    x = _batch(n=2, h=5, w=6)
    x = x if dtype == torch.uint8 else (x > 128) if dtype == torch.bool else x.float() / 255
    fill = fill if dtype == torch.uint8 else 1 if dtype == torch.bool else ([v / 10 for v in fill] if isinstance(fill, list) else 0.5)
    for cl in (False, True):
        xi = x.contiguous(memory_format=torch.channels_last) if cl else x
        out = pad_sides(xi, 3, 1, 2, 4, mode=mode, fill=fill)
        assert torch.equal(out, FG.pad(xi, (3, 1, 2, 4), fill=fill, padding_mode=mode))
        assert out.is_contiguous(memory_format=torch.channels_last) == cl
