"""python -m torchaug.preview: PNG grids from configs (small, fast draws)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from torchaug import preview


def _png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    from PIL import Image

    return Image.open(path).size


def test_transforms_grid_from_config(tmp_path):
    out = preview.main(["transforms=cifar_standard", f"out={tmp_path / 'c.png'}", "n=2", "draws=2", "seed=3"])
    w, h = _png(out)
    assert w > h  # 3 columns, 2 rows


def test_digits_and_none(tmp_path):
    _png(preview.main(["transforms=digits", f"out={tmp_path / 'd.png'}", "n=2", "draws=2"]))
    _png(preview.main(["transforms=none", f"out={tmp_path / 'n.png'}", "n=1", "draws=1", "size=64"]))


def test_boxes_follow_the_pipeline():
    from torchaug.transforms import RandomHorizontalFlip

    x, boxes = preview.sample_photos(2, 64)
    assert x.shape == (2, 3, 64, 64) and x.dtype == torch.uint8 and boxes.shape == (2, 1, 4)
    out = RandomHorizontalFlip(p=1.0)({"image": x, "boxes": boxes})
    torch.testing.assert_close(out["boxes"][..., 0], 64 - boxes[..., 2])


def test_preview_transforms_api_with_a_plain_callable(tmp_path):
    path = preview.preview_transforms(lambda x: x.flip(-1), tmp_path / "f.png", n=1, draws=1, size=48)
    _png(path)


def test_bad_arguments(tmp_path):
    with pytest.raises(SystemExit):
        preview.main(["transforms=cifar_standard", "resampler=smote"])
    with pytest.raises(SystemExit):
        preview.main(["colour=blue"])
    with pytest.raises(SystemExit):
        preview.main(["cifar_standard"])
    with pytest.raises(ValueError, match="transforms must be one of"):
        preview.main(["transforms=no_such_config", f"out={tmp_path / 'x.png'}"])


@pytest.mark.skipif(importlib.util.find_spec("torchaug.resampling.plot") is None, reason="resampling plot not written yet")
def test_resampler_scatter(tmp_path):
    try:
        from torchaug.resampling.plot import save_resampling_scatter  # noqa: F401
    except ImportError:
        pytest.skip("save_resampling_scatter not available")
    _png(preview.main(["resampler=smote", f"out={tmp_path / 's.png'}"]))
