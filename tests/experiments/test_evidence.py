"""The evidence study's pieces (experiments/evidence.py): every method builds and gives a valid training
batch, and the report pairs each method with ERM by seed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from experiments import evidence as E  # noqa: E402
from torchaug.models.cnn import SmallCNN  # noqa: E402

METHODS = E.MAIN_METHODS + [peer for peers in E.FIDELITY.values() for peer in peers] + ["autoaugment", "cutmix_p05"]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_a_valid_batch(method):
    g = torch.Generator().manual_seed(0)
    model = SmallCNN(num_classes=10, width=4)
    spec = E.build(method, model, epochs=10, g=g)
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    y = torch.arange(8) % 10
    if spec["extra"] is not None:
        out = spec["extra"](x, generator=g)
        assert out.dtype == torch.uint8 and out.shape == x.shape
    xf = x.float() / 255
    if spec["mixer"] is not None:
        xm, ym = spec["mixer"](xf, y)
        assert xm.shape == xf.shape and ym.shape == (8, 10)
        torch.testing.assert_close(ym.sum(1), torch.ones(8))
    if spec["hook"] is not None:
        model.train()
        assert model(xf).shape == (8, 10)
        assert spec["hook"].mix_targets(torch.eye(10)[y]).shape == (8, 10)


def test_samplepairing_schedule_follows_inoue():
    spec = E.build("samplepairing", SmallCNN(num_classes=10, width=4), epochs=100, g=torch.Generator())
    on = [e for e in range(100) if spec["enabled_at"](e)]
    assert on[0] == 10 and on[-1] < 80  # off for the first 10% and the last 20%
    assert not spec["enabled_at"](18) and not spec["enabled_at"](19) and spec["enabled_at"](20)  # 8 on, 2 off


def test_report_pairs_methods_with_erm_by_seed(tmp_path, monkeypatch):
    monkeypatch.setattr(E, "RESULTS", tmp_path)
    for method, accs in {"erm": [0.40, 0.50], "mixup": [0.45, 0.52]}.items():
        for seed, a in enumerate(accs):
            f = tmp_path / "main" / "cfg" / method / f"seed{seed}.json"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps({"method": method, "seed": seed, "accuracy": a}))
    table = E.report()
    row = next(line for line in table.splitlines() if "| mixup |" in line)
    assert "48.50 ± 4.95" in row and "+3.50 ± 2.12 pts" in row and "2/2" in row
