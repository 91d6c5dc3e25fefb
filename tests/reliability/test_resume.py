"""Resume from ``last.ckpt`` (``ckpt_path=``) continues a run exactly: epoch, optimizer, a multistep
LR scheduler, the random streams (augmentation generator, torch, loader), MoEx, and the mixing
schedules (SamplePairing's schedule and MixingOffForLastEpochs, combined). The resumed run's
weights, metrics, per-epoch metrics.csv and augmentation statistics equal an uninterrupted run's.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from test_train import FAST, make_cfg

from torchaug.train import train


class MixingRecorder(L.Callback):
    """Test-only: ``{epoch: [mixer enabled, lr]}`` seen by the first batch of every epoch, as JSON."""

    def __init__(self, path: str) -> None:
        self.path, self.seen = Path(path), {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0:
            self.seen[trainer.current_epoch] = [pl_module.mixer.enabled, trainer.optimizers[0].param_groups[0]["lr"]]
            self.path.write_text(json.dumps(self.seen))


def _cfg(out: Path, *extra: str):
    sched = "torchaug.lightning.mixing_callbacks"
    return make_cfg(out, *FAST, "trainer.max_epochs=4", "test=false", "data.subset=128", "data.batch_size=32",
                    "+trainer.limit_val_batches=2", "mixer=samplepairing", "hooks=moex",
                    "scheduler=multistep", "scheduler.milestones=[1,3]", "scheduler.gamma=0.5",
                    f"+callbacks.schedule={{_target_: {sched}.SamplePairingSchedule, start_epoch: 1, on_epochs: 2, "
                    "off_epochs: 1, final_off_epochs: 0}",
                    f"+callbacks.last_off={{_target_: {sched}.MixingOffForLastEpochs, n: 1}}",
                    f"+callbacks.rec={{_target_: test_resume.MixingRecorder, path: {out / 'mixing.json'}}}", *extra)


def test_resume_with_scheduler_mixer_hook_and_schedules_equals_uninterrupted(tmp_path):
    full = train(_cfg(tmp_path / "full"))
    train(_cfg(tmp_path / "part", "+callbacks.stop={_target_: tests_support.StopAfterEpochs, epochs: 2}"))
    resumed = train(_cfg(tmp_path / "resumed", f"ckpt_path={tmp_path / 'part' / 'checkpoints' / 'last.ckpt'}"))

    def seen(name):
        return {int(k): v for k, v in json.loads((tmp_path / name / "mixing.json").read_text()).items()}

    # SamplePairing's schedule: on in epochs 1 and 2; MixingOffForLastEpochs(1) allows epochs 0-2: both
    # must allow it (epoch 0 is off although MixingOffForLastEpochs comes last); the LR halves at epochs 1 and 3
    assert [v[0] for v in seen("full").values()] == [False, True, True, False]
    assert [v[1] for v in seen("full").values()] == pytest.approx([3e-3, 1.5e-3, 1.5e-3, 7.5e-4])
    assert sorted(seen("part")) == [0, 1] and sorted(seen("resumed")) == [2, 3]
    assert {**seen("part"), **seen("resumed")} == seen("full")

    assert resumed["epochs"] == full["epochs"] == 4
    wa = torch.load(full["checkpoint"], map_location="cpu", weights_only=False)
    wb = torch.load(resumed["checkpoint"], map_location="cpu", weights_only=False)
    for k in wa["state_dict"]:
        torch.testing.assert_close(wa["state_dict"][k], wb["state_dict"][k], rtol=0, atol=0, msg=k)
    assert wa["optimizer_states"][0]["state"][0]["exp_avg"].equal(wb["optimizer_states"][0]["state"][0]["exp_avg"])
    assert resumed["val/loss"] == full["val/loss"] and resumed["val/acc"] == full["val/acc"]
    assert resumed["augmentation"] == full["augmentation"]  # the mixer's and MoEx's statistics over all epochs
    assert full["augmentation"]["hook/applied"] > 0
    assert (tmp_path / "resumed" / "metrics.csv").read_text() == (tmp_path / "full" / "metrics.csv").read_text()
