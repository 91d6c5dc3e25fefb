"""Non-rigid warps: maps and images against albumentations 2.0.8 / kornia, targets, per-sample params, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from torchaug.functional import distortion as FD
from torchaug.transforms import GridDistortion, OpticalDistortion, PiecewiseAffine, ThinPlateSpline

H, W = 37, 45


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _smooth(b=2, h=H, w=W, dtype=torch.uint8):
    """Smooth test images (low-frequency sines): interpolation differences stay small."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    chans = [0.5 + 0.4 * torch.sin(xx / (4 + c) + yy / (6 + 2 * c) + c) for c in range(3)]
    x = torch.stack(chans).expand(b, 3, h, w).clone()
    x = x * torch.linspace(0.8, 1.0, b).view(b, 1, 1, 1)
    return (x * 255).round().to(torch.uint8) if dtype == torch.uint8 else x.to(dtype)


def _fg():
    pytest.importorskip("albumentations")
    pytest.importorskip("cv2")
    from albumentations.augmentations.geometric import functional as fg

    return fg


def _cv2_remap(img_chw: torch.Tensor, map_x, map_y):
    import cv2

    fg = _fg()
    hwc = img_chw.permute(1, 2, 0).contiguous().numpy()
    out = fg.remap(hwc, np.asarray(map_x, np.float32), np.asarray(map_y, np.float32), cv2.INTER_LINEAR, cv2.BORDER_CONSTANT, 0)
    return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1)


def _interior(maps: torch.Tensor, h: int, w: int, margin: float = 1.0) -> torch.Tensor:
    """Output pixels whose sample lies at least ``margin`` px inside the image (no border taps)."""
    mx, my = maps[..., 0], maps[..., 1]
    return (mx >= margin) & (mx <= w - 1 - margin) & (my >= margin) & (my <= h - 1 - margin)


def _compare_images(ours: torch.Tensor, ref: torch.Tensor, keep: torch.Tensor) -> None:
    """uint8, away from the border: at most 2 grey levels (OpenCV quantises bilinear weights to
    1/32 pixel), mean below 0.5."""
    d = (ours.float() - ref.float()).abs()[:, keep]
    assert d.max().item() <= 2.0, d.max().item()
    assert d.mean().item() <= 0.5, d.mean().item()


# ---------------------------------------------------------------------------------------------
# maps and images against albumentations 2.0.8
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("normalized", [True, False])
def test_grid_distortion_matches_albumentations(normalized):
    fg = _fg()
    rng = np.random.default_rng(1)
    sx = 1 + rng.uniform(-0.3, 0.3, 6)
    sy = 1 + rng.uniform(-0.3, 0.3, 6)
    if normalized:
        ns = fg.normalize_grid_distortion_steps((H, W), 5, list(sx), list(sy))
        ax, ay = ns["steps_x"], ns["steps_y"]
    else:
        ax, ay = sx, sy
    mx, my = fg.generate_grid((H, W), list(ax), list(ay), 5)
    params = {"steps_x": torch.tensor(sx, dtype=torch.float32)[None], "steps_y": torch.tensor(sy, dtype=torch.float32)[None]}
    t = GridDistortion(num_steps=5, normalized=normalized, p=1.0)
    maps = t.backward_map(params, (H, W))[0]
    assert np.abs(maps[..., 0].numpy() - mx).max() < 1e-4 and np.abs(maps[..., 1].numpy() - my).max() < 1e-4
    x = _smooth(1)
    ours = t(x, params={**params, "apply": torch.ones(1, dtype=torch.bool)})
    _compare_images(ours[0], _cv2_remap(x[0], mx, my), _interior(maps, H, W))


@pytest.mark.parametrize("mode,k", [("camera", 0.05), ("camera", -0.05), ("fisheye", 0.3), ("fisheye", -0.3)])
def test_optical_distortion_matches_albumentations(mode, k):
    fg = _fg()
    get = fg.get_camera_matrix_distortion_maps if mode == "camera" else fg.get_fisheye_distortion_maps
    mx, my = get((H, W), k)
    t = OpticalDistortion(distort_limit=abs(k), mode=mode, p=1.0)
    params = {"k": torch.tensor([k]), "apply": torch.ones(1, dtype=torch.bool)}
    maps = t.backward_map(params, (H, W))[0]
    assert np.abs(maps[..., 0].numpy() - mx).max() < 1e-4 and np.abs(maps[..., 1].numpy() - my).max() < 1e-4
    x = _smooth(1)
    _compare_images(t(x, params=params)[0], _cv2_remap(x[0], mx, my), _interior(maps, H, W))


@pytest.mark.parametrize("absolute", [False, True])
def test_piecewise_affine_matches_albumentations(absolute):
    fg = _fg()
    scale, rows, cols = (0.05, 4, 3) if not absolute else (2.0, 3, 5)
    mx, my = fg.create_piecewise_affine_maps((H, W), (rows, cols), scale, absolute, np.random.default_rng(7))
    # the same draw: albumentations' jitter is normal(0, s / 3, (rows, cols, 2)) in (y, x) order
    sd = scale / 3 if absolute else scale * min(H, W) / 3
    jit = np.random.default_rng(7).normal(0, sd, (rows, cols, 2)).astype(np.float32)[..., ::-1].copy()
    padded = torch.zeros(1, 6, 6, 2)  # a larger padded grid: entries past rows/cols are ignored
    padded[0, :rows, :cols] = torch.from_numpy(jit)
    params = {"jitter": padded, "rows": torch.tensor([rows]), "cols": torch.tensor([cols]), "apply": torch.ones(1, dtype=torch.bool)}
    t = PiecewiseAffine(p=1.0)
    maps = t.backward_map(params, (H, W))[0]
    assert np.abs(maps[..., 0].numpy() - mx).max() < 1e-3 and np.abs(maps[..., 1].numpy() - my).max() < 1e-3
    x = _smooth(1)
    _compare_images(t(x, params=params)[0], _cv2_remap(x[0], mx, my), _interior(maps, H, W))


def test_thin_plate_spline_matches_kornia():
    kt = pytest.importorskip("kornia.geometry.transform")
    t = ThinPlateSpline(scale_range=(0.3, 0.4), num_control_points=3, p=1.0)
    x = _smooth(3, dtype=torch.float32)
    out, params = t(x, generator=_gen(2), return_params=True)
    c = FD.tps_control_points(3).expand(3, -1, -1) * 2 - 1
    d = c + 2 * params["displacement"]
    kw, aw = kt.get_tps_transform(c, d)
    ref = kt.warp_image_tps(x, d, kw, aw, align_corners=False)
    assert (out - ref).abs().max().item() < 1e-4
    # the spline passes through its control points: grid point i samples displaced point i
    pts = kt.warp_points_tps(c, d, kw, aw)
    assert (pts - d).abs().max().item() < 1e-4
    k2 = FD.tps_weights(c, d)
    assert (k2[0] - kw).abs().max().item() < 1e-4 and (k2[1] - aw).abs().max().item() < 1e-4


def test_thin_plate_spline_two_points_is_corners_and_centre():
    pts = FD.tps_control_points(2)
    assert pts.shape == (5, 2) and torch.equal(pts[-1], torch.tensor([0.5, 0.5]))
    x = _smooth(2, dtype=torch.float32)
    out = ThinPlateSpline(scale_range=(0.1, 0.2), num_control_points=2, p=1.0)(x, generator=_gen())
    assert out.shape == x.shape and not torch.equal(out, x)


# ---------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------
OPS = [
    GridDistortion(num_steps=5, distort_limit=0.3, p=1.0),
    GridDistortion(num_steps=4, distort_limit=0.3, normalized=False, p=1.0),
    OpticalDistortion(distort_limit=0.05, mode="camera", p=1.0),
    OpticalDistortion(distort_limit=(-0.3, -0.2), mode="fisheye", p=1.0),
    OpticalDistortion(distort_limit=(0.3, 0.5), mode="fisheye", p=1.0),
    PiecewiseAffine(scale=(0.03, 0.05), nb_rows=(3, 5), nb_cols=4, p=1.0),
    ThinPlateSpline(scale_range=(0.3, 0.4), num_control_points=4, p=1.0),
]
IDS = ["grid", "grid-raw", "camera", "fisheye-", "fisheye+", "piecewise", "tps"]


@pytest.mark.parametrize("t", OPS, ids=IDS)
def test_keypoint_lands_on_its_one_pixel_mask(t):
    """A keypoint at a pixel centre, drawn as a one-pixel mask: the moved keypoint lies within 1 px
    (Chebyshev, from pixel centres) of a pixel of the warped mask, wherever that pixel survived."""
    b, n = 4, 12
    g = _gen(5)
    ij = torch.stack((torch.randint(4, W - 4, (b, n), generator=g), torch.randint(4, H - 4, (b, n), generator=g)), -1)
    pts = ij.float() + 0.5
    mask = torch.zeros(b, n, H, W, dtype=torch.uint8)
    mask.view(b, n, -1).scatter_(2, (ij[..., 1] * W + ij[..., 0]).unsqueeze(-1), 1)
    x = _smooth(b)
    out = t({"image": x, "mask": mask, "keypoints": pts}, generator=_gen(1))
    m, kp = out["mask"], out["keypoints"]
    yy, xx = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    survived = 0
    for i in range(b):
        for j in range(n):
            on = m[i, j].bool()
            if not on.any():
                continue
            survived += 1
            dist = torch.maximum((xx[on] - kp[i, j, 0]).abs(), (yy[on] - kp[i, j, 1]).abs()).min().item()
            assert dist <= 1.0, (i, j, dist)
    assert survived >= b * n // 2  # minifying warps skip some source pixels


@pytest.mark.parametrize("t", OPS, ids=IDS)
def test_box_encloses_its_warped_mask(t):
    b = 4
    boxes = torch.tensor([[6.0, 5.0, 20.0, 17.0], [15.0, 12.0, 40.0, 30.0]]).expand(b, 2, 4).clone()
    boxes[:, 1] -= torch.arange(b).view(b, 1).float()
    mask = torch.zeros(b, 2, H, W, dtype=torch.uint8)
    for i in range(b):
        for j in range(2):
            x1, y1, x2, y2 = boxes[i, j].long().tolist()
            mask[i, j, y1:y2, x1:x2] = 1
    out = t({"image": _smooth(b), "mask": mask, "boxes": boxes}, generator=_gen(3))
    for i in range(b):
        for j in range(2):
            ys, xs = torch.nonzero(out["mask"][i, j], as_tuple=True)
            if len(xs) == 0:
                continue
            x1, y1, x2, y2 = out["boxes"][i, j].tolist()
            # the extent of the warped mask, exactly (same nearest-pixel rule)
            assert (x1, y1, x2, y2) == (xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1)


def test_forward_points_invert_the_backward_map():
    k = torch.tensor([0.4, -0.4])
    maps = FD.optical_distortion_map(k, (H, W), "fisheye")
    pts = torch.tensor([[[10.3, 20.7], [30.0, 5.5], [22.5, 18.5]]]).expand(2, -1, -1)
    q = FD.forward_points(maps, pts)
    assert (FD._sample_map(maps, q) - pts).abs().max().item() < 0.05


# ---------------------------------------------------------------------------------------------
# per-sample parameters, dtypes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("t", OPS, ids=IDS)
def test_samples_get_their_own_warp_and_same_on_batch_shares_it(t):
    x = _smooth(1).expand(3, -1, -1, -1).contiguous()
    out = t(x, generator=_gen())
    assert not torch.equal(out[0], out[1])
    shared = type(t)(**{k: getattr(t, k) for k in _init_args(t)}, p=1.0, same_on_batch=True)
    out = shared(x, generator=_gen())
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])


def _init_args(t):
    import inspect

    names = [n for n in inspect.signature(type(t)).parameters if n not in ("p", "same_on_batch")]
    return [n for n in names if hasattr(t, n)]


def test_piecewise_affine_rows_cols_vary_per_sample():
    t = PiecewiseAffine(nb_rows=(2, 6), nb_cols=(2, 6), p=1.0)
    params = t.make_params(torch.zeros(64, 3, 8, 8), _gen())
    assert params["jitter"].shape == (64, 6, 6, 2)
    assert set(params["rows"].tolist()) == {2, 3, 4, 5, 6} and set(params["cols"].tolist()) == {2, 3, 4, 5, 6}


def test_fill_is_a_constant_border():
    x = torch.full((1, 3, H, W), 0.5)
    out = OpticalDistortion(distort_limit=(0.5, 0.5), mode="fisheye", fill=(0.1, 0.2, 0.3), p=1.0)(x)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([0.1, 0.2, 0.3]))  # a corner samples outside
    assert torch.allclose(out[0, :, H // 2, W // 2], torch.full((3,), 0.5))


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
def test_bad_arguments_raise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="GridDistortion: distort_limit"):
            GridDistortion(distort_limit=1.5)
        with pytest.raises(ValueError, match="GridDistortion: num_steps"):
            GridDistortion(num_steps=0)
        with pytest.raises(ValueError, match="at least num_steps"):
            GridDistortion(num_steps=8, p=1.0)(torch.zeros(1, 3, 6, 6))
        with pytest.raises(ValueError, match="OpticalDistortion: mode"):
            OpticalDistortion(mode="barrel")
        with pytest.raises(ValueError, match="OpticalDistortion: interpolation"):
            OpticalDistortion(interpolation=3)
        with pytest.raises(TypeError, match="OpticalDistortion: interpolation"):
            OpticalDistortion(interpolation=1.5)
        with pytest.raises(ValueError, match="PiecewiseAffine: nb_rows"):
            PiecewiseAffine(nb_rows=1)
        with pytest.raises(ValueError, match="PiecewiseAffine: scale"):
            PiecewiseAffine(scale=(0.1, 0.05))
        with pytest.raises(TypeError, match="ThinPlateSpline: scale_range"):
            ThinPlateSpline(scale_range=0.3)
        with pytest.raises(ValueError, match="ThinPlateSpline: scale_range"):
            ThinPlateSpline(scale_range=(0.2, 1.5))
        with pytest.raises(ValueError, match="ThinPlateSpline: num_control_points"):
            ThinPlateSpline(num_control_points=1)
        with pytest.raises(ValueError, match="fill"):
            ThinPlateSpline(fill=300, p=1.0)(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))


@pytest.mark.parametrize("t", OPS, ids=IDS)
def test_grid_units_map_is_the_pixel_map_converted(t):
    """The image path samples with the map built in grid_sample units; targets use pixel units."""
    params = t.make_params(torch.zeros(3, 3, H, W), _gen(4))
    pix = t.backward_map(params, (H, W))
    grid = t.backward_map(params, (H, W), "grid")
    assert (FD.pixel_to_grid(pix) - grid).abs().max().item() < 1e-5


def test_piecewise_affine_without_jitter_is_the_identity():
    """albumentations returns no map for scale 0 (the image is left as it is); so does a zero jitter here."""
    x = _smooth(2)
    assert torch.equal(PiecewiseAffine(scale=(0.0, 0.0), p=1.0)(x, generator=_gen()), x)


def test_thin_plate_spline_against_albumentations_kernel():
    """albumentations 2.0.8 solves its TPS with d^4 log d^2 but evaluates d^2 log d^2: its spline
    misses its own control points (by ~0.2 of the image for 4x4 points and jitter 0.03), ours
    passes through them; with 5 points (num_control_points=2) the two maps agree within 1 px."""
    fg = _fg()
    h = w = 64
    x, y = np.meshgrid(np.arange(w), np.arange(h))
    pix = np.stack([x.ravel(), y.ravel()], 1).astype(np.float32)
    for n, alb_miss in ((2, None), (4, 0.05)):
        src = fg.generate_control_points(n)
        dst = src + np.random.default_rng(0).normal(0, 0.03, src.shape)
        wts, aff = fg.compute_tps_weights(src, dst)
        s, d = torch.from_numpy(src).float()[None], torch.from_numpy(dst).float()[None]
        assert torch.allclose(FD.tps_control_points(n), s[0])
        if alb_miss is not None:
            assert np.abs(fg.tps_transform(src, src, wts, aff) - dst).max() > alb_miss
            kw, aw = FD.tps_weights(s * 2 - 1, d * 2 - 1)
            assert (FD.tps_points(s * 2 - 1, d * 2 - 1, kw, aw) - (d * 2 - 1)).abs().max().item() < 1e-4
        else:
            ref = fg.tps_transform(pix / [w, h], src, wts, aff) * [w, h]
            ours = FD.tps_map(s, d, (h, w))[0].reshape(-1, 2).numpy()
            assert np.abs(ref - ours).max() < 1.0


def test_distortion_config_composes_and_runs():
    from torchaug.preview import load_config

    t = load_config("transforms", "distortion")
    x = _smooth(4, 24, 24)
    out = t(x, generator=_gen(8))
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert torch.equal(out, t(x, generator=_gen(8)))
