"""Lightning callbacks that switch mixing on and off by epoch: SamplePairing's schedule, and
"no mixing for the last N epochs".

Both toggle ``mixer.enabled`` (a disabled mixer returns ``x`` unchanged with one-hot, smoothed
targets) on every mixer they find: ``pl_module.mixer`` (mixing on the device, in
``ClassifierModule.on_after_batch_transfer``) and ``trainer.datamodule.collate_mixer`` (mixing
in the DataLoader workers with ``MixCollate``). They set the state for the coming epoch both at
the start of an epoch (device path) and at the end of the previous one / at fit start, i.e.
before Lightning creates the next epoch's DataLoader iterator, so non-persistent workers (forked
or spawned per epoch) see it. With ``persistent_workers=True`` the workers keep the state they
started with: mix on the device for schedules.

Several of these callbacks combine with AND: mixing runs in an epoch only when all allow it.
The state is a pure function of the epoch; the schedule's parameters travel in the checkpoint
(``state_dict``), so a resumed run continues the schedule it started with.
"""

from __future__ import annotations

from typing import Any

import lightning as L


def _mixers(trainer: L.Trainer, pl_module: L.LightningModule) -> list[Any]:
    found = []
    for obj in (getattr(pl_module, "mixer", None), getattr(getattr(trainer, "datamodule", None), "collate_mixer", None)):
        if obj is not None and hasattr(obj, "enabled") and all(obj is not f for f in found):
            found.append(obj)
    return found


def _nonneg_int(owner: str, name: str, v: Any, minimum: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}; got {v!r}")
    return v


class _EpochToggle(L.Callback):
    """Set ``mixer.enabled = self.enabled_at(epoch, max_epochs)`` around every epoch."""

    def enabled_at(self, epoch: int, max_epochs: int | None) -> bool:  # pragma: no cover - overridden
        return True

    def _apply(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> None:
        max_epochs = trainer.max_epochs if trainer.max_epochs is not None and trainer.max_epochs >= 0 else None
        self.last_enabled = self.enabled_at(epoch, max_epochs)
        # several toggles (a SamplePairing schedule and MixingOffForLastEpochs) combine: mixing runs
        # in an epoch only if every one of them allows it, whatever their order in trainer.callbacks
        toggles = [c for c in getattr(trainer, "callbacks", []) if isinstance(c, _EpochToggle)] or [self]
        on = all(t.enabled_at(epoch, max_epochs) for t in toggles)
        for m in _mixers(trainer, pl_module):
            m.enabled = on

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, trainer.current_epoch)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, trainer.current_epoch)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, trainer.current_epoch)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, trainer.current_epoch + 1)  # before the next iterator exists

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for m in _mixers(trainer, pl_module):
            m.enabled = True  # leave the module as it was built


class SamplePairingSchedule(_EpochToggle):
    """SamplePairing's training schedule (Inoue 2018, arXiv:1801.02929, Sec. 3).

    1. the first ``start_epoch`` epochs without SamplePairing;
    2. then cycles of ``on_epochs`` epochs with it and ``off_epochs`` without;
    3. the last ``final_off_epochs`` epochs without it (the paper's fine-tuning phase, in
       which the accuracy recovers from the regularisation; needs ``trainer.max_epochs``).

    Defaults: the paper's CIFAR/SVHN setting, 100 epochs first without SamplePairing, then 8
    epochs on and 2 off (for ILSVRC the paper counts images instead: 300,000 on, 100,000 off).
    The length of the final phase is not a fixed number of epochs in the paper; the default
    (100) is ours: set it for your budget. Use with ``SamplePairing`` as the module's mixer
    (it toggles any mixer found).
    """

    def __init__(
        self, start_epoch: int = 100, on_epochs: int = 8, off_epochs: int = 2, final_off_epochs: int = 100
    ) -> None:
        owner = type(self).__name__
        self.start_epoch = _nonneg_int(owner, "start_epoch", start_epoch)
        self.on_epochs = _nonneg_int(owner, "on_epochs", on_epochs, 1)
        self.off_epochs = _nonneg_int(owner, "off_epochs", off_epochs)
        self.final_off_epochs = _nonneg_int(owner, "final_off_epochs", final_off_epochs)
        self.last_enabled: bool | None = None

    def enabled_at(self, epoch: int, max_epochs: int | None) -> bool:
        """Whether SamplePairing runs in ``epoch`` (0-based) of a run of ``max_epochs``."""
        if epoch < self.start_epoch:
            return False
        if max_epochs is not None and epoch >= max_epochs - self.final_off_epochs:
            return False
        return (epoch - self.start_epoch) % (self.on_epochs + self.off_epochs) < self.on_epochs

    def state_dict(self) -> dict[str, Any]:
        return {
            "start_epoch": self.start_epoch,
            "on_epochs": self.on_epochs,
            "off_epochs": self.off_epochs,
            "final_off_epochs": self.final_off_epochs,
            "last_enabled": self.last_enabled,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for key in ("start_epoch", "on_epochs", "off_epochs", "final_off_epochs", "last_enabled"):
            if key in state_dict:
                setattr(self, key, state_dict[key])


class MixingOffForLastEpochs(_EpochToggle):
    """Switch mixing off for the last ``n`` epochs (train on clean samples at the end).

    As timm's ``--mixup-off-epoch`` and the "turn off mixup near the end" practice; needs
    ``trainer.max_epochs``. Before those epochs the mixer is enabled.
    """

    def __init__(self, n: int) -> None:
        self.n = _nonneg_int(type(self).__name__, "n", n)
        self.last_enabled: bool | None = None

    def enabled_at(self, epoch: int, max_epochs: int | None) -> bool:
        return max_epochs is None or epoch < max_epochs - self.n

    def state_dict(self) -> dict[str, Any]:
        return {"n": self.n, "last_enabled": self.last_enabled}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.n = int(state_dict.get("n", self.n))
        self.last_enabled = state_dict.get("last_enabled", self.last_enabled)


__all__ = ["MixingOffForLastEpochs", "SamplePairingSchedule"]
