"""The built wheel carries its configs and recipes; the CLI works from another folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _build_wheel(out: Path) -> Path:
    try:
        import setuptools  # noqa: F401

        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", *isolation, "-q", "-w", str(out)],
                   check=True, capture_output=True, text=True, timeout=600)
    return next(out.glob("torchaug-*.whl"))


def test_wheel_ships_configs_and_runs_outside_the_source_tree(tmp_path):
    wheel = _build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    recipes = sorted(p.name for p in (ROOT / "recipes").glob("*.yaml"))
    for name in ["torchaug/conf/train.yaml", *(f"torchaug/conf/recipe/{r}" for r in recipes)]:
        assert name in names, name
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    probe = subprocess.run([sys.executable, "-c", "import torchaug, torchaug._paths as p; print(torchaug.__file__); "
                            "print(p.config_dir())"], cwd=work, env=env, capture_output=True, text=True, check=True)
    module_file, conf = probe.stdout.split()
    assert module_file.startswith(str(site)) and conf == str(site / "torchaug" / "conf")
    run = subprocess.run([sys.executable, "-m", "torchaug.train", "+recipe=erm_digits", "trainer.max_epochs=1",
                          "trainer.enable_progress_bar=false", f"hydra.run.dir={work / 'out'}"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "test accuracy" in run.stdout and (work / "out" / "results.json").is_file()


def test_augmenter_packages_import_without_lightning_hydra_or_matplotlib():
    code = ("import sys, torchaug.transforms, torchaug.mixing, torchaug.resampling, torchaug.hooks, torchaug.selection, "
            "torchaug.functional, torchaug.corruptions;"
            "bad = [m for m in ('lightning', 'pytorch_lightning', 'hydra', 'omegaconf', 'matplotlib') if m in sys.modules];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_evaluation_scripts_live_outside_the_package():
    package = ROOT / "torchaug"
    assert not list(package.rglob("evaluate.py")) and not (package / "_report.py").exists()
    assert (ROOT / "experiments" / "generative_evaluate.py").is_file() and (ROOT / "experiments" / "selection_evaluate.py").is_file()
