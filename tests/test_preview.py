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


@pytest.fixture(scope="module")
def tiny_adain_checkpoint(tmp_path_factory):
    """A one-step AdaIN decoder (relu1_1 only, 16x16) saved as a Lightning checkpoint."""
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from torchaug.generative import AdaINStyleTransfer

    root = tmp_path_factory.mktemp("adain")
    torch.manual_seed(0)
    module = AdaINStyleTransfer((3, 16, 16), layers=("relu1_1",), styles="sklearn", style_size=32, lr=1e-3)
    x = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", default_root_dir=str(root))
    trainer.fit(module, DataLoader(TensorDataset(x, torch.zeros(4, dtype=torch.long)), batch_size=4))
    path = root / "last.ckpt"
    trainer.save_checkpoint(path)
    return path


def test_style_augment_grid_from_the_command_line(tiny_adain_checkpoint, tmp_path):
    from torchaug.generative import StyleAugment

    args = ["transforms=style_augment", f"transforms.model={tiny_adain_checkpoint}", "transforms.p=1.0"]
    t = preview.load_config("transforms", "style_augment", overrides=args[1:])
    assert isinstance(t, StyleAugment) and t.p == 1.0 and t.alpha == 0.5
    x, _ = preview.sample_photos(2, 32)
    out = t(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert ((out.int() - x.int()).flatten(1).abs().amax(1) > 0).all()  # p=1: every image stylised
    w, h = _png(preview.main([*args, f"out={tmp_path / 's.png'}", "n=2", "draws=2", "size=32"]))
    assert w > h


def test_style_augment_config_asks_for_its_checkpoint(tmp_path):
    with pytest.raises(ValueError, match=r"transforms=style_augment needs transforms.model=<value>"):
        preview.main(["transforms=style_augment", f"out={tmp_path / 'x.png'}"])
    with pytest.raises(SystemExit, match="chosen group"):
        preview.main(["transforms=none", "resampler.k_neighbors=3"])


def test_gallery_renders_registered_transforms(tmp_path):
    md = preview.main(["--gallery", str(tmp_path), "--only", "MotionBlur,RandomHorizontalFlip"])
    text = md.read_text()
    assert "### MotionBlur" in text and "### RandomHorizontalFlip" in text and "### Blur" not in text
    from PIL import Image

    for name in ("MotionBlur", "RandomHorizontalFlip"):
        path = tmp_path / "img" / "gallery" / f"{name}.jpg"
        assert f"](img/gallery/{name}.jpg)" in text
        assert 2_000 < path.stat().st_size < 60_000  # small pictures
        w, h = Image.open(path).size
        assert w > h  # original + 3 draws as columns, 2 photos as rows
    with pytest.raises(ValueError, match="unknown"):
        preview.render_gallery(tmp_path, names=["NoSuchTransform"])
