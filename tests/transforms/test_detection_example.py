"""docs/detection_example.py runs (shrunk to one step) and writes its preview PNG."""

from __future__ import annotations

import importlib.util
import os

import pytest
import torch

pytest.importorskip("torchvision")

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "detection_example.py")


def test_detection_example_runs_one_step(tmp_path):
    spec = importlib.util.spec_from_file_location("detection_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "preview.png"
    res = mod.main(["--steps", "1", "--batch", "4", "--samples", "8", "--device", "cpu", "--out", str(out)])
    assert res["steps"] == 1 and torch.isfinite(torch.tensor(res["losses"])).all()
    assert out.exists() and out.stat().st_size > 1000
