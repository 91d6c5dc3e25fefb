"""End-to-end: compose configs, shrink them, call train(cfg) in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from torchaug._paths import config_dir
from torchaug.train import train

RECIPES = sorted(p.stem for p in (Path(config_dir()) / "recipe").glob("*.yaml"))


def make_cfg(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides))
    with open_dict(cfg):
        cfg.output_dir = str(tmp_path)
    return cfg


FAST = ["trainer.max_epochs=2", "trainer.enable_progress_bar=false", "trainer.accelerator=cpu"]


def test_default_run_writes_outputs(tmp_path):
    cfg = make_cfg(tmp_path, *FAST)
    results = train(cfg)
    for name in ("config.yaml", "metrics.csv", "results.json", "curves.png", "checkpoints/last.ckpt"):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["test_acc"] == pytest.approx(results["test_acc"])
    assert saved["epochs"] == 2
    rows = (tmp_path / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and "val/acc" in rows[0]
    aug = saved["augmentation"]
    assert aug["mixer/batches"] > 0 and 0.0 < aug["mixer/lam_mean"] <= 1.0
    assert results["test_acc"] > 0.3  # far above chance (0.1) after 2 epochs


def test_seed_makes_run_reproducible(tmp_path):
    a = train(make_cfg(tmp_path / "a", *FAST, "seed=3"))
    b = train(make_cfg(tmp_path / "b", *FAST, "seed=3"))
    c = train(make_cfg(tmp_path / "c", *FAST, "seed=4"))
    assert a["test_acc"] == b["test_acc"] and a["val/loss"] == b["val/loss"]
    assert a["val/loss"] != c["val/loss"]


@pytest.mark.parametrize("keep", [True, False])
def test_keep_freed_memory_is_set_before_the_data(tmp_path, monkeypatch, keep):
    import torchaug
    import torchaug.lightning.build as build

    calls = []
    monkeypatch.setattr(torchaug, "keep_freed_memory", lambda: calls.append("malloc") or True)
    real_build = build.build
    monkeypatch.setattr(build, "build", lambda *a, **k: calls.append("build") or real_build(*a, **k))
    train(make_cfg(tmp_path, "trainer.max_epochs=1", "trainer.enable_progress_bar=false", "trainer.accelerator=cpu",
                   "test=false", f"keep_freed_memory={str(keep).lower()}"))
    assert calls == (["malloc", "build"] if keep else ["build"])


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]


def test_resume_continues_like_an_uninterrupted_run(tmp_path):
    full = train(make_cfg(tmp_path / "full", *FAST, "trainer.max_epochs=3", "test=false"))
    # the same run, interrupted after its first epoch
    train(make_cfg(tmp_path / "part", *FAST, "trainer.max_epochs=3", "test=false",
                   "+callbacks.stop={_target_: tests_support.StopAfterEpochs, epochs: 1}"))
    resumed = train(make_cfg(tmp_path / "resumed", *FAST, "trainer.max_epochs=3", "test=false",
                             f"ckpt_path={tmp_path / 'part' / 'checkpoints' / 'last.ckpt'}"))
    assert resumed["epochs"] == full["epochs"] == 3
    wa, wb = _weights(full["checkpoint"]), _weights(resumed["checkpoint"])
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], msg=k)
    assert resumed["val/loss"] == pytest.approx(full["val/loss"], abs=1e-6)


def test_collate_mixing_with_workers(tmp_path):
    res = train(make_cfg(tmp_path, *FAST, "trainer.max_epochs=1", "mix_in=collate", "data.num_workers=2"))
    assert res["test_acc"] > 0.1


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_composes_and_runs_one_step(recipe, tmp_path):
    text = (Path(config_dir()) / "recipe" / f"{recipe}.yaml").read_text().splitlines()
    # Hydra reads the package header only before any other line; the command is the first comment
    assert text[0] == "# @package _global_"
    assert text[1].startswith("# python -m torchaug.train") and f"+recipe={recipe}" in text[1]
    cfg = make_cfg(tmp_path, f"+recipe={recipe}")
    folder = cfg.data._target_.endswith(("ImageFolderDataModule", "ImageFolderStreamDataModule"))
    if folder:
        from tests_support import make_image_tree

        if cfg.data._target_.endswith("ImageFolderStreamDataModule"):  # JPEGs of mixed sizes, cropped to 32
            from torchaug.data.sample_tree import write_sample_tree

            root = write_sample_tree(tmp_path / "tree", classes=3, per_class=6, test_per_class=2, short_side=(36, 60))
            size = ["data.image_size=32"]
        else:
            root, size = make_image_tree(tmp_path / "tree", size=cfg.data.get("image_size") or 32), []
        overrides = [f"data.root={root}", "data.files_per_class=null", "data.test_files_per_class=null",
                     "data.subset=null", "data.num_workers=0", "data.batch_size=8",
                     "data.val_fraction=0.3", *size]
        cfg = make_cfg(tmp_path, f"+recipe={recipe}", *overrides)
    elif cfg.data._target_.endswith("CIFAR10DataModule"):  # the paper-setting recipes: a tiny set in torchvision's format
        from train_support import write_cifar10_batches

        root = write_cifar10_batches(tmp_path / "cifar", per_batch=20, test=20)
        overrides = [f"data.root={root}", "data.download=false", "data.num_workers=0", "data.batch_size=8",
                     "data.val_fraction=0.2"]
        cfg = make_cfg(tmp_path, f"+recipe={recipe}", *overrides)
    else:
        overrides = []
    with open_dict(cfg):
        if cfg.get("stages"):
            stages = OmegaConf.to_container(cfg.stages, resolve=False)
            cfg.stages = {k: [*v, "+trainer.fast_dev_run=true", "trainer.accelerator=cpu",
                              "trainer.enable_progress_bar=false"] for k, v in stages.items()}
        else:
            cfg.trainer.fast_dev_run = True
            cfg.trainer.accelerator = "cpu"
            cfg.trainer.enable_progress_bar = False
    results = train(cfg, overrides=[f"+recipe={recipe}", *overrides])
    assert "output_dir" in results


def _run_cli(args, cwd, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torchaug.train", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_cli_unknown_recipe_lists_choices(tmp_path):
    out = _run_cli(["+recipe=does_not_exist"], tmp_path)
    assert out.returncode != 0
    assert "does_not_exist" in out.stderr and "mixup_digits" in out.stderr


def test_cli_unknown_key_lists_valid_keys(tmp_path):
    out = _run_cli(["trainer.max_epoch=3"], tmp_path)
    assert out.returncode == 2
    assert "max_epochs" in out.stderr and "unknown config key" in out.stderr


def test_cli_runs_from_another_directory(tmp_path):
    out = _run_cli(["trainer.max_epochs=1", "trainer.enable_progress_bar=false", f"hydra.run.dir={tmp_path}/run"],
                   tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "test accuracy" in out.stdout
    assert (tmp_path / "run" / "results.json").is_file()


def test_multi_stage_passes_checkpoint_forward(tmp_path):
    cfg = make_cfg(tmp_path, "+recipe=finetune_digits")
    with open_dict(cfg):
        stages = OmegaConf.to_container(cfg.stages, resolve=False)
        cfg.stages = {k: [*v, "trainer.max_epochs=1", "trainer.accelerator=cpu", "trainer.enable_progress_bar=false"]
                      for k, v in stages.items()}
    results = train(cfg, overrides=["+recipe=finetune_digits"])
    pre, fine = results["stages"]["pretrain"], results["stages"]["finetune"]
    assert Path(pre["checkpoint"]).is_file()
    resolved = (tmp_path / "finetune" / "config.yaml").read_text()
    assert f"init_from: {pre['checkpoint']}" in resolved
    assert "mixer: null" in (tmp_path / "pretrain" / "config.yaml").read_text()
    assert fine["test_acc"] >= pre["test_acc"] - 0.2 and json.loads((tmp_path / "results.json").read_text())["stages"]


def test_user_recipe_folder_on_the_search_path(tmp_path):
    folder = tmp_path / "my_recipes" / "recipe"
    folder.mkdir(parents=True)
    (folder / "tiny_erm.yaml").write_text(
        "# @package _global_\n# python -m torchaug.train hydra.searchpath=[file://...] +recipe=tiny_erm\n"
        "defaults:\n  - override /mixer: none\ntrainer:\n  max_epochs: 1\n")
    cfg = make_cfg(tmp_path / "out", f"hydra.searchpath=[file://{tmp_path / 'my_recipes'}]", "+recipe=tiny_erm")
    assert cfg.mixer is None and cfg.trainer.max_epochs == 1
