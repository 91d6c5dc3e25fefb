"""Every classifier ``*_cifar`` recipe names the published number it should reproduce, and
``benchmarks/compare_recipes.py`` prints ours beside it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from torchaug._paths import config_dir

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER_CIFAR = ["erm_cifar", "mixup_cifar", "cutmix_cifar", "manifold_mixup_cifar", "moex_cifar", "samplepairing_cifar",
                    "augmix_cifar"]


def _compose(recipe: str):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name="train", overrides=[f"+recipe={recipe}"])


@pytest.mark.parametrize("recipe", CLASSIFIER_CIFAR)
def test_recipe_states_the_papers_number(recipe):
    paper = _compose(recipe).paper
    assert paper is not None and paper.source and paper.row
    assert 0.0 < float(paper.test_error) < 20.0
    assert isinstance(paper.same_network, bool)
    if recipe != "erm_cifar":  # not ERM's row inherited through `defaults: [erm_cifar]`
        assert "ERM" not in paper.row


def test_every_classifier_cifar_recipe_is_covered():
    found = {p.stem for p in (ROOT / "recipes").glob("*_cifar.yaml")}
    generators = {"dcgan_cifar", "vae_cifar", "style_cifar"}  # no published CIFAR-10 classification number
    assert found - generators == set(CLASSIFIER_CIFAR)


def test_compare_recipes_prints_ours_beside_the_paper(monkeypatch, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("compare_recipes", ROOT / "benchmarks" / "compare_recipes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fake = {"test_acc": 0.9, "test_balanced_acc": 0.9, "epochs": 200,
            "paper": {"source": "Zhang et al. 2018", "row": "PreAct ResNet-18, mixup", "test_error": 4.2, "same_network": False}}
    monkeypatch.setattr(mod, "run", lambda recipe, seed, extra, out: dict(fake))
    mod.main(["--recipes", "mixup_cifar", "--seeds", "0", "1", "--out", str(tmp_path)])
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `mixup_cifar`")][0]
    assert "10.00 ± 0.00" in row and "| 4.2 |" in row and "a reference, not a target" in row
