"""Dropout and occlusion transforms (issue #23 part B): albumentations 2.0.8 parity (its
functional replayed with our drawn holes / tiles), masks and keypoints, and one parametrised
property test over every part-B op (tone and dropout): identity at zero strength, dtype and range
kept, per-sample parameters differ, seeded reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchaug.functional import dropout as FD
from torchaug.transforms import (
    CLAHE, ChannelDropout, ChannelShuffle, CoarseDropout, FancyPCA, GridDropout, HueSaturationValue, LinearContrast,
    LogContrast, PixelDropout, PlanckianJitter, RandomBrightnessContrast, RandomGridShuffle, RandomToneCurve, RGBShift,
    SigmoidContrast, ToSepia,
)


def _batch(b=4, h=20, w=24, c=3, seed=0):
    return torch.randint(0, 256, (b, c, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _run(t, x, seed=1):
    return t(x, generator=torch.Generator().manual_seed(seed), return_params=True)


def _holes_xyxy(p, i):
    keep = p["height"][i] > 0
    t, l_, h, w = (p[k][i][keep].numpy() for k in ("top", "left", "height", "width"))
    return np.stack([l_, t, l_ + w, t + h], 1)


@pytest.mark.peer
@pytest.mark.parametrize("fill", [0.5, (0.2, 0.4, 0.6)])
def test_coarse_dropout_matches_albumentations_cutout(fill):
    fd = pytest.importorskip("albumentations.augmentations.dropout.functional")
    x = _batch()
    out, p = _run(CoarseDropout(num_holes_range=(1, 4), hole_height_range=(2, 8), hole_width_range=(0.1, 0.4), fill=fill, p=1.0), x)
    for i in range(4):
        im = np.ascontiguousarray(x[i].permute(1, 2, 0).numpy())
        f = np.round(np.asarray(fill) * 255).tolist()
        ref = fd.cutout(im, _holes_xyxy(p, i), f if isinstance(fill, tuple) else f, np.random.default_rng(0))
        np.testing.assert_array_equal(out[i].permute(1, 2, 0).numpy(), ref)
    n = (p["height"] > 0).sum(1)
    assert ((n >= 1) & (n <= 4)).all() and ((p["height"] == 0) | ((p["height"] >= 2) & (p["height"] <= 8))).all()


def test_coarse_dropout_fills_and_masks():
    x = _batch()
    m = torch.randint(1, 5, (4, 20, 24))
    t = CoarseDropout(num_holes_range=(2, 2), hole_height_range=(4, 6), hole_width_range=(4, 6), fill="random_uniform",
                      fill_mask=0, p=1.0)
    out, p = t({"image": x, "mask": m}, generator=torch.Generator().manual_seed(3), return_params=True)
    idx = FD.hole_index(p["top"], p["left"], p["height"], p["width"], (20, 24))
    assert torch.equal(out["mask"] == 0, idx > 0) and torch.equal(out["image"][(idx == 0).unsqueeze(1).expand_as(x)], x[(idx == 0).unsqueeze(1).expand_as(x)])
    for i in range(4):  # one colour per hole
        for h in (1, 2):
            sel = idx[i] == h
            if sel.any():
                colours = out["image"][i][:, sel]
                assert (colours == colours[:, :1]).all()
    mean = CoarseDropout(fill="mean", p=1.0)(x.float() / 255, params={k: v for k, v in p.items() if k != "noise"})
    want = (x.float() / 255).mean(dim=(2, 3), keepdim=True).expand_as(x)
    torch.testing.assert_close(mean[(idx > 0).unsqueeze(1).expand_as(x)], want[(idx > 0).unsqueeze(1).expand_as(x)])


def test_grid_dropout_holes_follow_albumentations_rule():
    x = _batch(b=3, h=30, w=40)
    for kw in ({}, {"holes_number_xy": (4, 3)}, {"unit_size_range": (5, 12)}, {"random_offset": False, "shift_xy": (1, 2)}):
        t = GridDropout(ratio=0.4, p=1.0, **kw)
        out, p = _run(t, x)
        for i in range(3):  # reference: albumentations' generate_grid_holes from the same cells and offsets
            ref = np.zeros((30, 40), bool)
            rb, cb = p["row_bounds"][i].tolist(), p["col_bounds"][i].tolist()
            for r in range(len(rb) - 1):
                for c in range(len(cb) - 1):
                    ch, cw = rb[r + 1] - rb[r], cb[c + 1] - cb[c]
                    if ch == 0 or cw == 0:
                        continue
                    hh, hw = int(np.clip(ch * 0.4, 1, ch - 1)), int(np.clip(cw * 0.4, 1, cw - 1))
                    y0 = min(rb[r] + int(p["offset_y"][i, r, c]), 30 - hh)
                    x0 = min(cb[c] + int(p["offset_x"][i, r, c]), 40 - hw)
                    ref[y0:y0 + hh, x0:x0 + hw] = True
            hole = torch.from_numpy(ref)
            assert hole.any() and not hole.all()
            np.testing.assert_array_equal(out[i][:, hole].numpy(), 0)  # holes filled
            np.testing.assert_array_equal(out[i][:, ~hole].numpy(), x[i][:, ~hole].numpy())  # the rest kept
    _, p = _run(GridDropout(holes_number_xy=(4, 3), p=1.0), x)  # 4 columns, 3 rows
    assert p["row_bounds"].shape == (3, 4) and p["col_bounds"].shape == (3, 5)


@pytest.mark.peer
def test_pixel_and_channel_dropout_match_albumentations():
    fp = pytest.importorskip("albumentations.augmentations.pixel.functional")
    fd = pytest.importorskip("albumentations.augmentations.dropout.functional")
    x = _batch()
    for kw in ({}, {"per_channel": True, "drop_value": (0.1, 0.5, 0.9)}, {"drop_value": None}):
        out, p = _run(PixelDropout(dropout_prob=0.2, p=1.0, **kw), x)
        for i in range(4):
            im = x[i].permute(1, 2, 0).numpy()
            mask = p["drop"][i].permute(1, 2, 0).expand(*im.shape).numpy()
            if kw.get("drop_value", 0) is None:
                vals = np.broadcast_to(np.floor(p["colour"][i].numpy() * 256).clip(0, 255).astype(np.uint8), im.shape)
            else:
                vals = np.broadcast_to(np.round(np.asarray(kw.get("drop_value", 0.0)) * 255).astype(np.uint8), im.shape)
            np.testing.assert_array_equal(out[i].permute(1, 2, 0).numpy(), fp.pixel_dropout(im, mask, vals))
    out, p = _run(ChannelDropout(channel_drop_range=(1, 2), fill=0.2, p=1.0), x)
    for i in range(4):
        chans = torch.nonzero(p["drop"][i]).flatten().tolist()
        ref = fd.channel_dropout(np.ascontiguousarray(x[i].permute(1, 2, 0).numpy()), chans, 51)
        np.testing.assert_array_equal(out[i].permute(1, 2, 0).numpy(), ref)


@pytest.mark.peer
def test_grid_shuffle_matches_albumentations_and_moves_masks_and_keypoints():
    fg = pytest.importorskip("albumentations.augmentations.geometric.functional")
    x = _batch(h=23, w=31)
    m = torch.arange(23 * 31).view(1, 23, 31).expand(4, -1, -1).contiguous()
    kp = torch.tensor([[[0.5, 0.5], [30.2, 22.9], [12.0, 7.5]]]).expand(4, -1, -1).contiguous()
    t = RandomGridShuffle(grid=(3, 4), p=1.0)
    out, p = t({"image": x, "mask": m, "keypoints": kp}, generator=torch.Generator().manual_seed(5), return_params=True)
    for i in range(4):
        rb, cb = p["row_bounds"][i].tolist(), p["col_bounds"][i].tolist()
        tiles = np.array([(rb[r], cb[c], rb[r + 1], cb[c + 1]) for r in range(3) for c in range(4)])
        mapping = p["mapping"][i].tolist()
        im = np.ascontiguousarray(x[i].permute(1, 2, 0).numpy())
        np.testing.assert_array_equal(out["image"][i].permute(1, 2, 0).numpy(), fg.swap_tiles_on_image(im, tiles, mapping))
        np.testing.assert_array_equal(out["mask"][i].numpy(), fg.swap_tiles_on_image(m[i].numpy(), tiles, mapping))
        ref_kp = fg.swap_tiles_on_keypoints(kp[i].double().numpy(), tiles, np.array(mapping))
        np.testing.assert_allclose(out["keypoints"][i].numpy(), ref_kp, atol=1e-5)
    assert not torch.equal(p["mapping"][0], p["mapping"][1])
    # boxes: the box enclosing the moved pieces (a box inside one tile moves with it exactly)
    boxes = torch.tensor([[[1.0, 1.0, 4.0, 4.0], [0.0, 0.0, 31.0, 23.0]]]).expand(4, -1, -1).contiguous()
    ob = t({"image": x, "boxes": boxes, "mask": m}, params=p)
    for i in range(4):
        ys, xs = torch.nonzero(ob["mask"][i] == 1 * 31 + 1, as_tuple=True)  # the pixel (1, 1) of the mask
        torch.testing.assert_close(ob["boxes"][i, 0], torch.tensor([xs[0] - 0.0, ys[0] - 0.0, xs[0] + 3.0, ys[0] + 3.0]))
        torch.testing.assert_close(ob["boxes"][i, 1], boxes[i, 1])  # the whole image stays the whole image


# -- one property test over every part-B op ---------------------------------------------------------
# (factory, zero-strength config or None, whether per-sample parameters must differ)
OPS = {
    "RandomBrightnessContrast": (lambda **k: RandomBrightnessContrast(p=1.0, **k), {"brightness_limit": 0, "contrast_limit": 0}),
    "RGBShift": (lambda **k: RGBShift(p=1.0, **k), {"r_shift_limit": 0, "g_shift_limit": 0, "b_shift_limit": 0}),
    "ChannelShuffle": (lambda **k: ChannelShuffle(p=1.0, **k), None),
    "PlanckianJitter": (lambda **k: PlanckianJitter(p=1.0, **k), None),
    "FancyPCA": (lambda **k: FancyPCA(p=1.0, **{"alpha": 0.5, **k}), {"alpha": 0.0}),
    "ToSepia": (lambda **k: ToSepia(p=1.0, **k), None),
    "HueSaturationValue": (lambda **k: HueSaturationValue(p=1.0, **k), {"hue_shift_limit": 0, "sat_shift_limit": 0, "val_shift_limit": 0}),
    "RandomToneCurve": (lambda **k: RandomToneCurve(p=1.0, **{"scale": 0.2, **k}), None),
    "SigmoidContrast": (lambda **k: SigmoidContrast(**k), None),
    "LogContrast": (lambda **k: LogContrast(**k), None),
    "LinearContrast": (lambda **k: LinearContrast(**k), {"alpha": 1.0}),
    "CLAHE": (lambda **k: CLAHE(p=1.0, tile_grid_size=(2, 2), **k), None),
    "CoarseDropout": (lambda **k: CoarseDropout(p=1.0, **{"hole_height_range": (0.2, 0.5), **k}), {"hole_height_range": (0, 0)}),
    "GridDropout": (lambda **k: GridDropout(p=1.0, **k), None),
    "PixelDropout": (lambda **k: PixelDropout(p=1.0, **{"dropout_prob": 0.3, **k}), {"dropout_prob": 0.0}),
    "ChannelDropout": (lambda **k: ChannelDropout(p=1.0, **k), None),
    "RandomGridShuffle": (lambda **k: RandomGridShuffle(p=1.0, **k), {"grid": (1, 1)}),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_part_b_properties(name, dtype):
    make, zero = OPS[name]
    x = _batch(b=8, h=32, w=32)
    x = x if dtype == torch.uint8 else x.float() / 255
    t = make()
    out, p = _run(t, x, seed=7)
    again, _ = _run(t, x, seed=7)
    assert out.dtype == dtype and out.shape == x.shape and torch.equal(out, again)  # seeded reproducibility
    if dtype.is_floating_point:
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    changed = (out != x).flatten(1).any(1)
    per_sample = [v for k, v in p.items() if k != "apply" and v.ndim >= 1 and v.shape[0] == 8]
    if name != "ToSepia":  # deterministic
        other, _ = _run(t, x, seed=8)
        assert not torch.equal(other, out)  # the seed matters
        assert any(len({tuple(r.flatten().tolist()) for r in v}) > 1 for v in per_sample), name  # per-sample params differ
    assert int(changed.sum()) >= 4, name
    if zero is not None:
        ident = make(**zero)(x, generator=torch.Generator().manual_seed(7))
        assert torch.equal(ident, x), name
    assert torch.equal(make()(x, generator=torch.Generator().manual_seed(7), params=p), out)  # replay


def test_pixel_tone_dropout_config_instantiates_and_runs():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from torchaug._paths import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["transforms=pixel_tone_dropout"])
    t = instantiate(cfg.transforms)
    x = _batch(b=8, h=32, w=32)
    out = t(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8 and not torch.equal(out, x)


def _boxes(b, n, h, w, seed=0, integer=True):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(b, n, 2, generator=g) * torch.tensor([w - 2.0, h - 2.0])
    wh = 1 + torch.rand(b, n, 2, generator=g) * torch.tensor([w / 2.0, h / 2.0])
    bx = torch.cat([xy, torch.minimum(xy + wh, torch.tensor([float(w), float(h)]))], -1)
    return bx.floor() if integer else bx


@pytest.mark.peer
@pytest.mark.parametrize("make", [
    lambda: CoarseDropout(num_holes_range=(2, 5), hole_height_range=(3, 10), hole_width_range=(3, 12), p=1.0),
    lambda: CoarseDropout(num_holes_range=(3, 6), hole_height_range=(4, 12), hole_width_range=(4, 12), min_area=12,
                          min_visibility=0.6, p=1.0),
    lambda: GridDropout(ratio=0.6, holes_number_xy=(3, 2), min_visibility=0.5, p=1.0),
], ids=["coarse", "coarse-thresholds", "grid"])
@pytest.mark.parametrize("integer", [True, False], ids=["int-boxes", "float-boxes"])
def test_dropout_boxes_and_keypoints_match_albumentations(make, integer):
    fd = pytest.importorskip("albumentations.augmentations.dropout.functional")
    t = make()
    x = _batch(b=6, h=30, w=36)
    boxes = _boxes(6, 7, 30, 36, integer=integer)
    kp = torch.rand(6, 20, 2, generator=torch.Generator().manual_seed(4)) * torch.tensor([36.0, 30.0])
    out, p = t({"image": x, "boxes": boxes, "keypoints": kp}, generator=torch.Generator().manual_seed(2), return_params=True)
    holes = t._index(p, (30, 36)) > 0
    gone = t.keypoints_in_holes(kp, p, (30, 36))
    assert torch.equal(out["keypoints"], kp)  # keypoints keep their coordinates; the flag says which the peer drops
    dropped = 0
    for i in range(6):
        ys, xs = np.nonzero(holes[i].numpy())
        hx = np.stack([xs, ys, xs + 1, ys + 1], 1)  # every hole pixel as a 1x1 hole: the peer's hole mask
        ref = fd.filter_bboxes_by_holes(boxes[i].double().numpy(), hx, (30, 36), t.min_area, t.min_visibility)
        valid = out["boxes_valid"][i]
        dropped += int((~valid).sum())
        assert int(valid.sum()) == len(ref)
        got = out["boxes"][i][valid].double().numpy()
        np.testing.assert_array_equal(got, ref)  # exact, sub-pixel boxes too (both truncate to the pixel grid)
        ref_kp = fd.filter_keypoints_in_holes(kp[i].double().numpy(), hx)
        np.testing.assert_allclose(kp[i][~gone[i]].double().numpy(), ref_kp)
    assert dropped > 0 and gone.any()  # the case is exercised


def test_dropout_boxes_shrink_to_the_visible_rectangle():
    x = _batch(b=1, h=20, w=20)
    p = {"top": torch.tensor([[0]]), "left": torch.tensor([[0]]), "height": torch.tensor([[20]]), "width": torch.tensor([[6]]),
         "apply": torch.tensor([True])}
    boxes = torch.tensor([[[2.0, 3.0, 10.5, 8.0], [1.0, 1.0, 5.0, 5.0], [8.0, 8.0, 12.0, 12.0]]])
    out = CoarseDropout(min_visibility=0.3, p=1.0)({"image": x, "boxes": boxes}, params=p)
    torch.testing.assert_close(out["boxes"][0, 0], torch.tensor([6.0, 3.0, 10.0, 8.0]))  # left side cut; pixel grid
    assert out["boxes_valid"][0].tolist() == [True, False, True]  # the wholly covered box is dropped
    torch.testing.assert_close(out["boxes"][0, 2], boxes[0, 2])  # untouched (integer)
    no_apply = dict(p, apply=torch.tensor([False]))
    t = CoarseDropout(min_visibility=0.3, p=0.5)
    same = t({"image": x, "boxes": boxes}, params=no_apply)
    assert torch.equal(same["boxes"], boxes) and same["boxes_valid"].all()
    with pytest.raises(ValueError, match="min_visibility"):
        CoarseDropout(min_visibility=1.5)
    with pytest.raises(ValueError, match="min_area"):
        GridDropout(min_area=-1)


@pytest.mark.parametrize("t", [CoarseDropout(num_holes_range=(2, 4), hole_height_range=(4, 9), hole_width_range=(4, 9), p=1.0),
                               GridDropout(ratio=0.5, p=1.0)], ids=["coarse", "grid"])
def test_dropout_targets_read_nothing_back(t):
    from tests_support import forbid_host_reads

    x = _batch(b=3, h=24, w=28)
    _, p = _run(t, x)
    boxes, kp = _boxes(3, 5, 24, 28), torch.rand(3, 6, 2) * 20
    with forbid_host_reads():
        b = t.transform_boxes(boxes, p, (24, 28))
        k = t.keypoints_in_holes(kp, p, (24, 28))
    assert b.shape == boxes.shape and k.shape == (3, 6)
