"""experiments/robustness.py: the CIFAR-10-C summaries and one tiny end-to-end run of each method."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import experiments.robustness as R  # noqa: E402


def test_corruption_error_summaries():
    errs = {"a": [0.2, 0.3, 0.4, 0.5, 0.6], "b": [0.1] * 5}
    ref = {"a": [0.4, 0.6, 0.8, 1.0, 1.2], "b": [0.2] * 5}
    assert R.mean_corruption_error(errs, ("a", "b")) == pytest.approx(0.25)
    # CE_c = sum_s E / sum_s E^ref: a -> 2.0 / 4.0, b -> 0.5 / 1.0
    assert R.normalized_ce(errs, ref, ("a", "b")) == pytest.approx(0.5)
    assert R.normalized_ce(ref, ref, ("a", "b")) == pytest.approx(1.0)
    # relative: sum_s (E - clean) / sum_s (E^ref - clean^ref): a -> (2.0 - 0.5) / (4.0 - 0.5); b -> 0 / (1 - 0.5)
    assert R.relative_ce(errs, 0.1, ref, 0.1, ("a", "b")) == pytest.approx(((1.5 / 3.5) + 0.0) / 2)
    assert math.isnan(R.relative_ce(errs, 0.1, {"a": [0.1] * 5}, 0.1, ("a",)))  # baseline unharmed: undefined
    runs = [{"clean_error": 0.1, "corruption_errors": {"a": [0.2] * 5}}, {"clean_error": 0.3, "corruption_errors": {"a": [0.4] * 5}}]
    mean, clean = R.mean_reference(runs)
    assert clean == pytest.approx(0.2) and mean["a"] == pytest.approx([0.3] * 5)


def test_one_epoch_of_each_method_and_the_report(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (20, 3, 32, 32), generator=g, dtype=torch.uint8)
    y = torch.arange(20) % 10
    sets = R.corrupted_sets(x[:10], names=("gaussian_noise", "contrast"))
    assert sets["contrast"].shape == (5, 10, 3, 32, 32) and sets["contrast"].dtype == torch.uint8
    assert torch.equal(sets["gaussian_noise"], R.corrupted_sets(x[:10], names=("gaussian_noise",))["gaussian_noise"])  # seeded
    assert not torch.equal(sets["gaussian_noise"][0], sets["gaussian_noise"][4])  # severities differ
    for method in R.METHODS:
        model, _ = R.train(method, x, y, epochs=1, width=4, seed=0)
        res = R.evaluate(model, x[:10], y[:10], sets)
        assert 0.0 <= res["clean_error"] <= 1.0 and len(res["corruption_errors"]["contrast"]) == 5
        full = {n: res["corruption_errors"].get(n, [0.5] * 5) for n in __import__("torchaug.corruptions").corruptions.CORRUPTIONS}
        out = tmp_path / method / "seed0.json"
        out.parent.mkdir(parents=True)
        out.write_text(json.dumps({"method": method, "seed": 0, "clean_error": res["clean_error"], "train_error": 0.0,
                                   "corruption_errors": full}))
    text = R.report(tmp_path)
    assert "| erm | 1 |" in text and "| augmix | 1 |" in text and "gaussian_noise" in text
    with pytest.raises(ValueError, match="method"):
        R.train("cutout", x, y, epochs=1, width=4, seed=0)
