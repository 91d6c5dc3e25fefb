"""SamplePairingSchedule and MixingOffForLastEpochs on a real lightning.Trainer with a toy module."""

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from torchaug.lightning.mixing_callbacks import MixingOffForLastEpochs, SamplePairingSchedule
from torchaug.mixing import SamplePairing, SoftTargetCrossEntropy


class Toy(L.LightningModule):
    """Two batches per epoch; records whether the mixer was enabled in each training step."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(3 * 4 * 4, 3)
        self.mixer = SamplePairing(num_classes=3)
        self.loss = SoftTargetCrossEntropy()
        self.record: dict[int, set] = {}

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.record.setdefault(self.current_epoch, set()).add(self.mixer.enabled)
        x, y = self.mixer(x, y)
        return self.loss(self.net(x.flatten(1)), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def train_dataloader(self):
        g = torch.Generator().manual_seed(0)
        ds = TensorDataset(torch.rand(8, 3, 4, 4, generator=g), torch.arange(8) % 3)
        return DataLoader(ds, batch_size=4)


def _trainer(max_epochs, callbacks, **kw):
    return L.Trainer(
        max_epochs=max_epochs, callbacks=callbacks, logger=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", **kw,
    )


def _observed(model):
    rec = model.record
    assert all(len(v) == 1 for v in rec.values()), "the state changed inside an epoch"
    return [next(iter(rec[e])) for e in sorted(rec)]


def test_schedule_formula():
    s = SamplePairingSchedule(start_epoch=2, on_epochs=3, off_epochs=1, final_off_epochs=2)
    got = [s.enabled_at(e, 12) for e in range(12)]
    assert got == [False, False, True, True, True, False, True, True, True, False, False, False]
    # no max_epochs: cycles forever
    assert [s.enabled_at(e, None) for e in range(10, 14)] == [True, True, True, False]
    d = SamplePairingSchedule()
    assert not d.enabled_at(99, 1000) and d.enabled_at(100, 1000) and d.enabled_at(107, 1000)
    assert not d.enabled_at(108, 1000) and not d.enabled_at(109, 1000) and d.enabled_at(110, 1000)
    assert not d.enabled_at(900, 1000)


def test_schedule_on_a_real_trainer(tmp_path):
    model = Toy()
    cb = SamplePairingSchedule(start_epoch=2, on_epochs=3, off_epochs=1, final_off_epochs=2)
    _trainer(12, [cb], default_root_dir=tmp_path, enable_checkpointing=False).fit(model)
    assert _observed(model) == [cb.enabled_at(e, 12) for e in range(12)]
    assert model.mixer.enabled  # restored at the end of fit


def test_schedule_resumes_from_checkpoint(tmp_path):
    model = Toy()
    cb = SamplePairingSchedule(start_epoch=1, on_epochs=2, off_epochs=1, final_off_epochs=1)
    t = _trainer(4, [cb], default_root_dir=tmp_path, enable_checkpointing=False)
    t.fit(model)
    ckpt = tmp_path / "mid.ckpt"
    t.save_checkpoint(ckpt)
    state = torch.load(ckpt, weights_only=False)["callbacks"]
    assert any(v.get("on_epochs") == 2 for v in state.values())
    # resume with a callback built with other numbers: the checkpointed schedule wins
    model2 = Toy()
    cb2 = SamplePairingSchedule()
    _trainer(8, [cb2], default_root_dir=tmp_path, enable_checkpointing=False).fit(model2, ckpt_path=ckpt)
    assert (cb2.start_epoch, cb2.on_epochs, cb2.off_epochs, cb2.final_off_epochs) == (1, 2, 1, 1)
    assert sorted(model2.record) == [4, 5, 6, 7]
    assert _observed(model2) == [cb2.enabled_at(e, 8) for e in range(4, 8)]


def test_mixing_off_for_last_epochs(tmp_path):
    model = Toy()
    _trainer(5, [MixingOffForLastEpochs(2)], default_root_dir=tmp_path, enable_checkpointing=False).fit(model)
    assert _observed(model) == [True, True, True, False, False]


def test_module_without_mixer_and_collate_mixer():
    class FakeTrainer:
        max_epochs = 4
        current_epoch = 3

        class datamodule:  # noqa: N801 - a stand-in object
            collate_mixer = SamplePairing(num_classes=3)

    class NoMixer:
        mixer = None

    cb = MixingOffForLastEpochs(1)
    cb.on_train_epoch_start(FakeTrainer, NoMixer)
    assert FakeTrainer.datamodule.collate_mixer.enabled is False
    cb.on_train_epoch_end(FakeTrainer, NoMixer)  # epoch 4 does not exist: still off
    assert cb.last_enabled is False


def test_bad_arguments():
    with pytest.raises(ValueError, match="SamplePairingSchedule: on_epochs"):
        SamplePairingSchedule(on_epochs=0)
    with pytest.raises(ValueError, match="MixingOffForLastEpochs: n"):
        MixingOffForLastEpochs(-1)
