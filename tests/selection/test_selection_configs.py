"""The configs/selection group instantiates working selectors."""

from pathlib import Path

import pytest
import torch

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "selection"


def test_none_config_sets_selection_null():
    omegaconf = pytest.importorskip("omegaconf")
    cfg = omegaconf.OmegaConf.load(CONFIGS / "none.yaml")
    assert "selection" in cfg and cfg.selection is None
    assert (CONFIGS / "none.yaml").read_text().startswith("# @package _global_")


@pytest.mark.parametrize("name, cls", [("pu", "PUFilter"), ("confidence", "ConfidenceFilter"), ("distance", "DistanceFilter")])
def test_configs_instantiate(name, cls):
    omegaconf = pytest.importorskip("omegaconf")
    hydra_utils = pytest.importorskip("hydra.utils")
    cfg = omegaconf.OmegaConf.load(CONFIGS / f"{name}.yaml")
    root = omegaconf.OmegaConf.create({"seed": 3, "selection": cfg})
    sel = hydra_utils.instantiate(root.selection)
    assert type(sel).__name__ == cls
    if hasattr(sel, "random_state") and "random_state" in cfg:
        assert sel.random_state == 3
    g = torch.Generator().manual_seed(0)
    Xr = torch.cat([torch.randn(20, 3, generator=g), torch.randn(20, 3, generator=g) + 5])
    yr = torch.cat([torch.zeros(20), torch.ones(20)]).long()
    keep = sel.fit(Xr, yr).select(Xr[:10] + 0.01, yr[:10])
    assert keep.numel() >= 8
