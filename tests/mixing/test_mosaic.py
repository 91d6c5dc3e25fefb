"""Mosaic: albumentations 2.0.8 parity with the same centre and cell assignment; boxes, labels, masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchaug.mixing import Mosaic
from torchaug.mixing.mosaic import _layout

H, W, TS, CS = 40, 56, (48, 64), (40, 48)


def _batch(b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 50, (b, 3, H, W), generator=g, dtype=torch.uint8)
    targets = []
    for i in range(b):
        boxes, masks = [], []
        for j in range(1 + i % 2):
            x0, y0 = 4 + 13 * j + 3 * i, 5 + 7 * j + i
            bw, bh = 14 + 2 * i, 10 + j * 3
            x[i, :, y0:y0 + bh, x0:x0 + bw] = torch.tensor([250, 60 * i, 120 + 40 * j], dtype=torch.uint8).view(3, 1, 1)
            m = torch.zeros(H, W, dtype=torch.uint8)
            m[y0:y0 + bh, x0:x0 + bw] = 1
            boxes.append([x0, y0, x0 + bw, y0 + bh])
            masks.append(m)
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.arange(len(boxes)) + 10 * i,
                        "masks": torch.stack(masks)})
    return x, targets


@pytest.mark.parametrize("fit_mode", ["cover", "contain"])
def test_mosaic_matches_albumentations(monkeypatch, fit_mode):
    A = pytest.importorskip("albumentations")
    fm = pytest.importorskip("albumentations.augmentations.mixing.functional")
    x, targets = _batch()
    # contain: the 40x56 images fit the 40x48 cells as 34x48, so every part shows fill rows too
    op = Mosaic(target_size=TS, cell_shape=CS, p=1.0, fit_mode=fit_mode, fill=7, fill_mask=0)
    (out, tg), p = op(x, targets, generator=torch.Generator().manual_seed(1), return_params=True)
    assert out.shape == (4, 3, *TS)
    for i in range(4):
        center = tuple(int(v) for v in p["center"][i])
        src = p["sources"][i].tolist()
        lay = _layout(p["center"][i:i + 1], (2, 2), CS, TS)
        placements = [(int(lay["x1"][0].flatten()[k]), int(lay["y1"][0].flatten()[k]),
                       int(lay["x1"][0].flatten()[k] + lay["pw"][0].flatten()[k]),
                       int(lay["y1"][0].flatten()[k] + lay["ph"][0].flatten()[k])) for k in range(4)]
        assert src.count(i) >= 1
        others = [s for k, s in enumerate(src) if placements[k] != max(placements, key=lambda c: (c[2] - c[0]) * (c[3] - c[1]))]
        monkeypatch.setattr(fm, "calculate_mosaic_center_point", lambda *a, **k: center)

        def assign(num_items, cell_placements, py_random):  # our assignment: primary to the largest, then in order
            prim = max(cell_placements, key=lambda c: (c[2] - c[0]) * (c[3] - c[1]))
            rest = [c for c in cell_placements if c != prim]
            return {prim: 0, **{c: j + 1 for j, c in enumerate(rest)}}

        monkeypatch.setattr(fm, "assign_items_to_grid_cells", assign)

        def item(j):
            return {"image": x[j].permute(1, 2, 0).numpy(), "bboxes": targets[j]["boxes"].numpy(),
                    "labels": targets[j]["labels"].numpy(), "mask": targets[j]["masks"].amax(0).numpy()}

        a = A.Compose([A.Mosaic(grid_yx=(2, 2), target_size=TS, cell_shape=CS, p=1.0, fit_mode=fit_mode, fill=7,
                                fill_mask=0)],
                      bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]))
        a.transforms[0]._select_additional_items = lambda data, n: data["mosaic_metadata"][:n]
        res = a(**item(i), mosaic_metadata=[item(j) for j in others])
        ref = torch.from_numpy(res["image"]).permute(2, 0, 1)
        assert (out[i].int() - ref.int()).abs().max() <= 2
        if fit_mode == "contain":
            assert ((ref == 7).all(0) & (out[i] == 7).all(0)).sum() > 0  # the fill shows, in the same place
        got = sorted(map(tuple, np.round(tg[i]["boxes"].numpy(), 3).tolist()))
        exp = sorted(map(tuple, np.round(np.asarray(res["bboxes"], dtype=np.float64), 3).tolist()))
        assert len(got) == len(exp) and len(got) >= 1
        np.testing.assert_allclose(np.array(got), np.array(exp), atol=1e-3)
        assert sorted(tg[i]["labels"].tolist()) == sorted(np.asarray(res["labels"]).tolist())
        sem = tg[i]["masks"].amax(0) if tg[i]["masks"].shape[0] else torch.zeros(TS, dtype=torch.uint8)
        diff = sem.numpy() != res["mask"]
        if fit_mode == "cover":  # the test's cells take the images unscaled: only cut positions matter
            assert diff.mean() < 0.02
        else:  # scaled by 6/7: OpenCV's nearest (floor(dst / s)) and grid_sample's (round) differ on edges
            r = torch.from_numpy(np.ascontiguousarray(res["mask"])).float()[None, None]
            edge = (torch.nn.functional.max_pool2d(r, 3, 1, 1) != -torch.nn.functional.max_pool2d(-r, 3, 1, 1))[0, 0]
            assert diff.mean() < 0.05 and not (torch.from_numpy(diff) & ~edge).any()


def test_mosaic_boxes_enclose_masks_and_replay():
    x, targets = _batch(b=5, seed=1)
    op = Mosaic(target_size=TS, cell_shape=CS, p=0.6)
    g = torch.Generator().manual_seed(3)
    (out, tg), p = op(x, targets, generator=g, return_params=True)
    again = op(x, targets, params=p)
    assert torch.equal(out, again[0])
    for t in tg:
        assert t["boxes"].shape[0] == t["labels"].shape[0] == t["masks"].shape[0]
        for k in range(t["boxes"].shape[0]):
            ys, xs = torch.nonzero(t["masks"][k], as_tuple=True)
            if len(xs) == 0:
                continue
            b = t["boxes"][k]
            assert xs.min() >= b[0] - 1.01 and xs.max() + 1 <= b[2] + 1.01
            assert ys.min() >= b[1] - 1.01 and ys.max() + 1 <= b[3] + 1.01
    # not applied: the sample alone; applied: its cells come from distinct samples
    for i in range(5):
        src = p["sources"][i]
        if bool(p["apply"][i]):
            assert len(set(src.tolist())) == 4 and i in src.tolist()


def test_mosaic_contain_not_applied_is_letterboxed():
    x, _ = _batch()
    out = Mosaic(target_size=TS, cell_shape=CS, p=0.0, fit_mode="contain", fill=3)(x, generator=torch.Generator().manual_seed(0))
    # 40x56 into 48x64: scale min(1.2, 1.143) -> 46x64, one fill row above and below
    assert out.shape == (4, 3, *TS)
    assert (out[:, :, :1] == 3).all() and (out[:, :, -1:] == 3).all() and not (out[:, :, 1:-1] == 3).all()


def test_mosaic_semantic_mask_and_errors():
    x, targets = _batch()
    sem = torch.stack([t["masks"].amax(0) for t in targets])
    out, m = Mosaic(target_size=TS, cell_shape=CS, p=1.0)(x, mask=sem, generator=torch.Generator().manual_seed(0))
    assert out.shape == (4, 3, *TS) and m.shape == (4, *TS) and m.dtype == torch.uint8
    assert set(m.unique().tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="fit_mode"):
        Mosaic(fit_mode="fill")
    with pytest.raises(ValueError, match="target_size"):
        Mosaic(target_size=(2000, 10), cell_shape=(10, 10))
    with pytest.raises(ValueError, match="batch"):
        Mosaic(target_size=TS, cell_shape=CS)(x[0])
