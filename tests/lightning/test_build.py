"""The run builder: label smoothing reaches the mixer wherever it runs, arguments are never dropped
silently, stage results belong to their run."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from omegaconf import open_dict

from torchaug.errors import ConfigError
from torchaug.lightning.build import _call_with_accepted, build
from torchaug.mixing import one_hot
from torchaug.train import _RUN_STAGES, _stage_resolver, compose_config


def _run(tmp_path, *overrides):
    cfg = compose_config(["trainer.accelerator=cpu", "trainer.enable_progress_bar=false", *overrides])
    with open_dict(cfg):
        cfg.output_dir = str(tmp_path)
    return build(cfg, tmp_path)


def _first_train_batch(run):
    return next(iter(run.datamodule.train_dataloader()))


def test_label_smoothing_reaches_the_device_mixer_and_its_off_epochs(tmp_path):
    run = _run(tmp_path, "label_smoothing=0.1")  # the default recipe mixes with MixUp on the device
    mixer = run.module.mixer
    assert mixer.label_smoothing == pytest.approx(0.1) and run.module.label_smoothing == 0.0
    y = torch.tensor([0, 1, 2, 3])
    mixer.enabled = False  # an epoch where a schedule switches mixing off
    _, y_off = run.module.augment(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), y)
    torch.testing.assert_close(y_off, one_hot(y, 10, label_smoothing=0.1))
    mixer.enabled = True
    _, y_on = run.module.augment(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), y)
    assert float(y_on.min()) == pytest.approx(0.01)  # s / K in every row: smoothed, then mixed


def test_label_smoothing_reaches_the_collate_mixer(tmp_path):
    run = _run(tmp_path, "label_smoothing=0.1", "mix_in=collate", "data.num_workers=0")
    assert run.module.mixer is None and run.datamodule.collate_mixer.label_smoothing == pytest.approx(0.1)
    x, y, params = _first_train_batch(run)
    assert y.ndim == 2 and float(y.min()) == pytest.approx(0.01) and "lam" in params


def test_label_smoothing_without_mixer_goes_to_the_module(tmp_path):
    run = _run(tmp_path, "label_smoothing=0.1", "mixer=none")
    assert run.module.mixer is None and run.module.label_smoothing == pytest.approx(0.1)


def test_mixer_own_smoothing_is_kept(tmp_path):
    run = _run(tmp_path, "mixer.label_smoothing=0.2")
    assert run.module.mixer.label_smoothing == pytest.approx(0.2)


def test_call_with_accepted_refuses_to_drop_a_configured_argument():
    def model(num_classes: int, width: int = 4):
        return ("model", num_classes, width)

    assert _call_with_accepted(partial(model, width=8), "model", offered={"num_classes": 3, "in_features": 64}) == \
        ("model", 3, 8)  # offered context the target does not list is not passed
    with pytest.raises(ConfigError, match=r"^mixer: .*does not use mixer"):
        _call_with_accepted(partial(model), "module", offered={"num_classes": 3}, required={"mixer": ("mixer", object())})
    with pytest.raises(ConfigError, match=r"^model: .*positive"):
        def picky(num_classes: int):
            raise ValueError("num_classes must be positive")
        _call_with_accepted(picky, "model", offered={"num_classes": 0})


def test_stage_results_belong_to_the_run():
    with pytest.raises(KeyError, match="multi-stage"):
        _stage_resolver("pretrain.checkpoint")
    token = _RUN_STAGES.set({"pretrain": {"checkpoint": "/x/last.ckpt"}})
    try:
        assert _stage_resolver("pretrain.checkpoint") == "/x/last.ckpt"
        with pytest.raises(KeyError, match="has not run yet"):
            _stage_resolver("other.checkpoint")
    finally:
        _RUN_STAGES.reset(token)
    import torchaug.train as train_mod

    assert not hasattr(train_mod, "_STAGES") and _RUN_STAGES.get() is None
