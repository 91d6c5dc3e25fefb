"""AugmentedBatchGrid: the first training batch after augmentation (and after mixing) is drawn at
the first epoch and every N epochs into the run folder and the logger (TensorBoard, offline)."""

from __future__ import annotations

import json

import pytest
import torch
from omegaconf import open_dict

from torchaug.lightning.callbacks import AugmentedBatchGrid, _label_text
from torchaug.train import compose_config, train

FAST = ["trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "data.subset=200", "test=false",
        "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "batch_grids.max_images=8"]


def _cfg(tmp_path, *overrides):
    cfg = compose_config([*FAST, *overrides])
    with open_dict(cfg):
        cfg.output_dir = str(tmp_path)
    return cfg


def test_grids_at_first_epoch_and_every_n_epochs_into_run_folder_and_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    train(_cfg(tmp_path, "trainer.max_epochs=3", "batch_grids.every_n_epochs=2", "logger=tensorboard",
               "trainer.log_every_n_steps=1"))
    names = sorted(p.name for p in (tmp_path / "augmented").iterdir())
    assert names == ["epoch_000_augmented.png", "epoch_000_mixed.png", "epoch_002_augmented.png", "epoch_002_mixed.png"]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert {"augmented/augmented", "augmented/mixed"} <= set(events.Tags()["images"])
    assert len(events.Images("augmented/mixed")) == 2
    assert events.Scalars("train/loss")  # the logger gets the metrics too


def test_collate_mixing_draws_the_mixed_grid_and_reports_augmentation(tmp_path):
    results = train(_cfg(tmp_path, "trainer.max_epochs=1", "mix_in=collate", "data.num_workers=0"))
    assert sorted(p.name for p in (tmp_path / "augmented").iterdir()) == ["epoch_000_mixed.png"]
    aug = json.loads((tmp_path / "results.json").read_text())["augmentation"]
    assert aug == results["augmentation"]
    assert aug["mixer/batches"] > 0 and 0.0 < aug["mixer/lam_mean"] <= 1.0 and aug["mixer/mixed_fraction"] > 0


def test_grid_without_mixer_and_off(tmp_path):
    train(_cfg(tmp_path / "a", "trainer.max_epochs=1", "mixer=none"))
    assert sorted(p.name for p in (tmp_path / "a" / "augmented").iterdir()) == ["epoch_000_augmented.png"]
    cfg = _cfg(tmp_path / "b", "trainer.max_epochs=1", "logger=none")
    cfg.batch_grids = None  # batch_grids=null on the command line
    train(cfg)
    assert not (tmp_path / "b" / "augmented").exists()


def test_labels_written_on_the_grid():
    y = torch.tensor([[0.7, 0.3, 0.0], [0.0, 1.0, 0.0]])
    assert _label_text(y, ["cat", "dog", "owl"]) == ["cat 0.70 / dog 0.30", "dog"]
    assert _label_text(torch.tensor([2, 0]), ["cat", "dog", "owl"]) == ["owl", "cat"]
    with pytest.raises(ValueError, match="every_n_epochs"):
        AugmentedBatchGrid(".", every_n_epochs=-1)
