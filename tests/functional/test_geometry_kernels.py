"""Batched geometry kernels against torchvision v2 functional, sample by sample."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

import torchaug.functional as AF


def _x(dtype, b=4, h=20, w=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _close(a, b, dtype):
    diff = (a.float() - b.float()).abs().max().item()
    assert diff <= (1.0 if dtype == torch.uint8 else 1e-5), diff


PARAMS = dict(
    angle=torch.tensor([10.0, -33.0, 45.0, 90.0]),
    translate=torch.tensor([[1.0, 2.0], [-3.0, 0.0], [0.0, 0.0], [2.0, 2.0]]),
    scale=torch.tensor([1.0, 0.8, 1.2, 1.0]),
    shear=torch.tensor([[0.0, 0.0], [10.0, -5.0], [3.0, 0.0], [0.0, 20.0]]),
)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill", [0, 7])
def test_affine_matches_torchvision(dtype, interpolation, fill):
    x = _x(dtype)
    f = fill if dtype == torch.uint8 else fill / 255
    m = AF.affine_matrix(PARAMS["angle"], PARAMS["translate"], PARAMS["scale"], PARAMS["shear"], size=(20, 24))
    out = AF.affine(x, m, interpolation=interpolation, fill=f)
    assert out.dtype == dtype and out.shape == x.shape
    for i in range(4):
        ref = TF.affine(
            x[i], angle=float(PARAMS["angle"][i]), translate=PARAMS["translate"][i].tolist(),
            scale=float(PARAMS["scale"][i]), shear=PARAMS["shear"][i].tolist(),
            interpolation=TF.InterpolationMode(interpolation), fill=f,
        )
        _close(out[i], ref, dtype)


def test_affine_inverse_flag_and_identity():
    x = _x(torch.float32)
    eye = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    torch.testing.assert_close(AF.affine(x, eye, interpolation="bilinear"), x, rtol=0, atol=1e-5)
    m = AF.affine_matrix(PARAMS["angle"], PARAMS["translate"], PARAMS["scale"], PARAMS["shear"], size=(20, 24))
    fwd = AF.affine(x, m, interpolation="nearest")
    m3 = torch.cat([m, torch.tensor([[[0.0, 0.0, 1.0]]], dtype=m.dtype).expand(4, 1, 3)], dim=1)
    same = AF.affine(x, torch.linalg.inv(m3)[:, :2], interpolation="nearest", inverse=True)
    torch.testing.assert_close(fwd, same)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_rotate_translate_shear_match_torchvision(dtype):
    x = _x(dtype)
    ang = PARAMS["angle"]
    out = AF.rotate(x, ang, interpolation="bilinear")
    for i in range(4):
        _close(out[i], TF.rotate(x[i], float(ang[i]), interpolation=TF.InterpolationMode.BILINEAR, fill=0), dtype)
    shift = torch.tensor([[2, -1], [0, 3], [-4, 0], [1, 1]])
    out = AF.translate(x, shift)
    for i in range(4):
        ref = TF.affine(x[i], angle=0.0, translate=shift[i].tolist(), scale=1.0, shear=[0.0, 0.0], fill=0)
        _close(out[i], ref, dtype)
    sh = torch.tensor([[20.0, 0.0], [-10.0, 0.0], [0.0, 15.0], [5.0, 5.0]])
    out = AF.shear(x, sh, center=(0, 0))
    for i in range(4):
        ref = TF.affine(x[i], angle=0.0, translate=[0, 0], scale=1.0, shear=sh[i].tolist(), center=[0, 0], fill=0)
        _close(out[i], ref, dtype)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_perspective_and_elastic_match_torchvision(dtype):
    x = _x(dtype)
    g = torch.Generator().manual_seed(1)
    sp = torch.tensor([[0, 0], [23, 0], [23, 19], [0, 19]]).expand(4, 4, 2)
    ep = sp + torch.randint(-3, 4, (4, 4, 2), generator=g)
    out = AF.perspective(x, AF.perspective_coefficients(sp, ep))
    for i in range(4):
        _close(out[i], TF.perspective(x[i], sp[i].tolist(), ep[i].tolist(), fill=0), dtype)
    disp = torch.randn(4, 20, 24, 2, generator=g) * 0.05
    out = AF.elastic(x, disp)
    for i in range(4):
        _close(out[i], TF.elastic(x[i], disp[i : i + 1], fill=0), dtype)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "symmetric"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_crop_with_fused_padding_is_exact(mode, channels_last):
    x = _x(torch.uint8)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    top = torch.tensor([-4, 0, 3, -2])
    left = torch.tensor([2, -4, 0, 4])
    out = AF.crop(x, top, left, 16, 16, padding_mode=mode, fill=9)
    xp = TF.pad(x, [4, 4, 4, 4], padding_mode=mode, fill=9)
    for i in range(4):
        assert torch.equal(out[i], TF.crop(xp[i], int(top[i]) + 4, int(left[i]) + 4, 16, 16))
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_pad_and_center_crop_match_torchvision():
    x = _x(torch.uint8)
    for padding in (2, (1, 3), (1, 2, 3, 4)):
        for mode in ("constant", "reflect", "edge", "symmetric"):
            assert torch.equal(AF.pad(x, padding, padding_mode=mode), TF.pad(x, list(padding) if isinstance(padding, tuple) else padding, padding_mode=mode))
    for size in ((10, 10), (20, 30), (25, 9)):
        assert torch.equal(AF.center_crop(x, size), TF.center_crop(x, list(size)))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_resized_crop_methods_match_torchvision(dtype):
    x = _x(dtype)
    t, l_ = torch.tensor([0, 3, 2, 0]), torch.tensor([0, 1, 5, 4])
    hh, ww = torch.tensor([20, 10, 17, 5]), torch.tensor([24, 12, 8, 20])
    for method in ("loop", "separable"):
        out = AF.resized_crop(x, t, l_, hh, ww, (16, 14), method=method)
        assert out.dtype == dtype and out.shape == (4, 3, 16, 14)
        for i in range(4):
            ref = TF.resized_crop(x[i], int(t[i]), int(l_[i]), int(hh[i]), int(ww[i]), [16, 14])
            if method == "loop":
                assert torch.equal(out[i], ref) if dtype == torch.uint8 else torch.allclose(out[i], ref, atol=1e-6)
            else:
                _close(out[i], ref, dtype)
    out = AF.resized_crop(x, t, l_, hh, ww, (16, 14), interpolation="nearest")
    for i in range(4):
        ref = TF.resized_crop(x[i], int(t[i]), int(l_[i]), int(hh[i]), int(ww[i]), [16, 14], interpolation=TF.InterpolationMode.NEAREST)
        assert torch.equal(out[i], ref)


def test_resize_matches_torchvision():
    x = _x(torch.uint8)
    for size in (10, (12, 30), 40):
        assert torch.equal(AF.resize(x, size), TF.resize(x, size if isinstance(size, int) else list(size)))
    xf = _x(torch.float32)
    torch.testing.assert_close(AF.resize(xf, (12, 30)), TF.resize(xf, [12, 30]))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_kernels(dtype):
    x = _x(torch.float32)
    m = AF.affine_matrix(PARAMS["angle"], PARAMS["translate"], PARAMS["scale"], PARAMS["shear"], size=(20, 24))
    ref = AF.affine(x, m, interpolation="bilinear")
    out = AF.affine(x.to(dtype), m, interpolation="bilinear")
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), ref, atol=2e-2, rtol=0)
    assert AF.crop(x.to(dtype), 1, 1, 8, 8).dtype == dtype


def test_affine_points_follow_the_image():
    """A single bright pixel lands where affine_points sends its centre."""
    x = torch.zeros(4, 1, 21, 21)
    x[:, :, 5, 7] = 1.0
    m = AF.affine_matrix(torch.tensor([30.0, -60.0, 0.0, 90.0]), torch.tensor([[1.0, 2.0], [0, 0], [3, -2], [0, 0]]), size=(21, 21))
    out = AF.affine(x, m, interpolation="nearest")
    p = AF.affine_points(torch.tensor([[[7.5, 5.5]]]).expand(4, 1, 2), m)
    for i in range(4):
        iy, ix = divmod(int(out[i, 0].argmax()), 21)
        assert abs(ix + 0.5 - float(p[i, 0, 0])) <= 1.0 and abs(iy + 0.5 - float(p[i, 0, 1])) <= 1.0


def test_perspective_points_follow_the_image():
    x = torch.zeros(2, 1, 24, 24)
    x[:, :, 8, 12] = 1.0
    sp = torch.tensor([[0, 0], [23, 0], [23, 23], [0, 23]]).expand(2, 4, 2)
    ep = torch.tensor([[[2, 1], [21, 3], [22, 20], [1, 22]], [[4, 4], [20, 0], [23, 23], [0, 19]]])
    co = AF.perspective_coefficients(sp, ep)
    out = AF.perspective(x, co, interpolation="nearest")
    p = AF.perspective_points(torch.tensor([[[12.5, 8.5]]]).expand(2, 1, 2), co)
    for i in range(2):
        iy, ix = divmod(int(out[i, 0].argmax()), 24)
        assert abs(ix + 0.5 - float(p[i, 0, 0])) <= 1.0 and abs(iy + 0.5 - float(p[i, 0, 1])) <= 1.0


def test_boxes_helpers():
    boxes = torch.tensor([[[2.0, 3.0, 10.0, 8.0], [-5.0, -5.0, -1.0, -1.0]]])
    corners = AF.box_corners(boxes)
    assert corners.shape == (1, 8, 2)
    torch.testing.assert_close(AF.points_to_boxes(corners), boxes)
    clipped, valid = AF.clip_boxes(torch.tensor([[[-3.0, 2.0, 5.0, 30.0], [20.0, 1.0, 40.0, 2.0]]]), (16, 16))
    torch.testing.assert_close(clipped, torch.tensor([[[0.0, 2.0, 5.0, 16.0], [16.0, 1.0, 16.0, 2.0]]]))
    assert valid.tolist() == [[True, False]]


def test_bad_arguments_raise():
    x = _x(torch.float32)
    with pytest.raises(ValueError, match="interpolation"):
        AF.affine(x, torch.eye(2, 3), interpolation="bicubic")
    with pytest.raises(ValueError, match="padding_mode"):
        AF.crop(x, 0, 0, 4, 4, padding_mode="wrap")
    with pytest.raises(ValueError, match="fill"):
        AF.affine(x, torch.eye(2, 3), fill=[1, 2])
    with pytest.raises(ValueError, match="method"):
        AF.resized_crop(x, torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long), torch.full((4,), 5), torch.full((4,), 5), 8, method="magic")


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
@pytest.mark.parametrize("fill", [None, 0, 127.6, (300.0, -4.0, 9.0)])
def test_nearest_warp_gathers_the_pixels_grid_sample_picks(dtype, fill):
    """The nearest-neighbour warp (one ``grid_sample`` of pixel numbers, then a gather in the image's
    dtype) equals sampling the float image with a mask channel, filling and rounding, as torchvision
    does it; also to another output size and in channels-last."""
    import torch.nn.functional as F

    from torchaug.functional.geometry import _grid_sample

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (4, 3, 21, 30), generator=g).to(dtype)
    grid = torch.rand(4, 17, 26, 2, generator=g, dtype=torch.float64) * 2.6 - 1.3
    xf = torch.cat([x.double(), torch.ones(4, 1, 21, 30, dtype=torch.float64)], 1)
    gdt = torch.float64 if dtype == torch.float64 else torch.float32
    ref = F.grid_sample(xf.to(gdt), grid.to(gdt), mode="nearest", padding_mode="zeros", align_corners=False)
    ref, mask = ref[:, :3], ref[:, 3:]
    if fill is not None:
        ft = torch.tensor(fill if isinstance(fill, tuple) else (fill,), dtype=gdt).view(1, -1, 1, 1)
        ref = torch.where(mask < 0.5, ft.expand_as(ref), ref)
    ref = ref.round().clamp(0, 255).to(dtype) if dtype == torch.uint8 else ref.to(dtype)
    out = _grid_sample(x, grid, "nearest", fill, "test")
    assert out.dtype == dtype and torch.equal(out, ref)
    cl = _grid_sample(x.contiguous(memory_format=torch.channels_last), grid, "nearest", fill, "test")
    assert cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(cl, ref)
