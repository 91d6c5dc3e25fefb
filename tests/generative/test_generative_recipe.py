"""The two-stage recipe: a VAE on the imbalanced training split, then a classifier on real + synthetic data."""

from __future__ import annotations

import json

from gen_support import one_thread  # noqa: F401
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from torchaug._paths import config_dir
from torchaug.train import train


def test_generator_stage_feeds_the_classifier_stage(tmp_path):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["+recipe=generative_digits_imbalanced"])
    with open_dict(cfg):
        cfg.output_dir = str(tmp_path)
        stages = OmegaConf.to_container(cfg.stages, resolve=False)
        cfg.stages = {k: [*v, "trainer.max_epochs=1", "trainer.accelerator=cpu", "trainer.enable_progress_bar=false"]
                      for k, v in stages.items()}
    results = train(cfg, overrides=["+recipe=generative_digits_imbalanced"])
    gen, clf = results["stages"]["generator"], results["stages"]["classifier"]
    assert (tmp_path / "generator" / "samples" / "epoch_000.png").is_file()
    assert gen["checkpoint"].endswith("last.ckpt") and "test_loss" in gen  # held-out negative ELBO
    real = gen["train_class_counts"]
    assert real[3] < 0.2 * max(real)  # the recipe's imbalance
    assert clf["train_class_counts"] == [max(real)] * 10
    assert clf["synthetic_samples"] == sum(max(real) - c for c in real) and clf["test_acc"] > 0.1
    resolved = (tmp_path / "classifier" / "config.yaml").read_text()
    assert f"generator: {gen['checkpoint']}" in resolved
    assert json.loads((tmp_path / "results.json").read_text())["stages"]
