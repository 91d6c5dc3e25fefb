"""The detection and resize Hydra configs (configs/transforms/detection_*.yaml, resize_*.yaml) compose and run."""

from __future__ import annotations

import pytest
import torch

from torchaug.preview import load_config

pytest.importorskip("hydra")


def _batch(b=3, h=96, w=128):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    xy = torch.rand(b, 5, 2, generator=g) * torch.tensor([w - 30.0, h - 30.0])
    boxes = torch.cat([xy, xy + 8 + torch.rand(b, 5, 2, generator=g) * 20], -1)
    return x, boxes


@pytest.mark.parametrize("name,size", [
    ("detection_ssd", (300, 300)),
    ("detection_bbox_safe", (512, 512)),
    ("resize_scale_jitter", (512, 512)),
    ("resize_letterbox", (640, 640)),
    ("resize_multiscale", (512, 512)),
])
def test_config_composes_and_moves_boxes(name, size):
    pipe = load_config("transforms", name)
    x, boxes = _batch()
    out = pipe({"image": x, "boxes": boxes}, generator=torch.Generator().manual_seed(1))
    img, bx = out["image"], out["boxes"]
    assert img.shape == (3, 3, *size) and img.dtype == torch.uint8 and bx.shape == boxes.shape
    ok = out["boxes_valid"]
    assert ok.any()
    v = bx[ok]
    assert (v[:, 0] >= 0).all() and (v[:, 2] <= size[1]).all() and (v[:, 1] >= 0).all() and (v[:, 3] <= size[0]).all()
    assert (v[:, 2] > v[:, 0]).all() and (v[:, 3] > v[:, 1]).all()
    again = pipe({"image": x, "boxes": boxes}, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again["image"], img) and torch.equal(again["boxes"], bx)
