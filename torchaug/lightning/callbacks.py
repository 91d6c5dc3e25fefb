"""Callbacks for outputs a person reads (per-epoch metrics CSV, loss/accuracy curves) and for not
losing a run (a checkpoint on Ctrl-C)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from torchaug.io import atomic_write_text


class EpochMetricsWriter(L.Callback):
    """Write ``metrics.csv`` (one row per epoch, rewritten atomically) and ``curves.png`` at the end."""

    def __init__(self, output_dir: str | Path) -> None:
        self.output_dir = Path(output_dir)
        self.rows: list[dict[str, Any]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.global_rank != 0:
            return
        row: dict[str, Any] = {"epoch": trainer.current_epoch}
        for key, value in sorted(trainer.callback_metrics.items()):
            if key.startswith(("train/", "val/")):
                row[key] = round(float(value), 6)
        row["lr"] = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None
        self.rows = [r for r in self.rows if r["epoch"] != row["epoch"]] + [row]
        self._write_csv()

    def _write_csv(self) -> None:
        keys: list[str] = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        import io

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys)
        w.writeheader()
        w.writerows(self.rows)
        atomic_write_text(self.output_dir / "metrics.csv", buf.getvalue())

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_rank == 0 and self.rows:
            save_curves(self.rows, self.output_dir / "curves.png")

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict.get("rows", []))


class SaveOnInterrupt(L.Callback):
    """On Ctrl-C (``KeyboardInterrupt``/SIGINT) during ``fit``, save ``dirpath/interrupted.ckpt``.

    Lightning catches the interrupt, calls ``on_exception`` on every callback, then exits with
    status 1. The checkpoint holds the state where training stopped (possibly mid-epoch);
    ``ckpt_path=<dirpath>/interrupted.ckpt`` resumes from it. The epoch-end ``last.ckpt`` written by
    ``ModelCheckpoint`` is left untouched: resuming from it repeats the interrupted epoch exactly as
    an uninterrupted run would have run it.

    Single process only: a DDP checkpoint is a collective operation (every rank must join), which
    cannot be relied on while ranks are being interrupted, so under DDP this callback only warns
    and ``last.ckpt`` is the checkpoint to resume from.
    """

    def __init__(self, dirpath: str | Path, filename: str = "interrupted.ckpt") -> None:
        self.dirpath = Path(dirpath)
        self.filename = filename
        self.saved_path: Path | None = None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        from lightning.pytorch.trainer.states import TrainerFn

        if not isinstance(exception, KeyboardInterrupt) or trainer.state.fn != TrainerFn.FITTING:
            return
        if trainer.sanity_checking or trainer.global_step == 0:
            return  # nothing trained yet
        if trainer.world_size > 1:
            rank_zero_warn("SaveOnInterrupt: no checkpoint on interrupt under DDP; resume from the last epoch's "
                           f"checkpoint in {self.dirpath}")
            return
        path = self.dirpath / self.filename
        trainer.save_checkpoint(path)
        self.saved_path = path
        rank_zero_info(f"Interrupted at epoch {trainer.current_epoch}, step {trainer.global_step}: saved {path}")


def save_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    """One panel per logged metric (``loss``, ``acc``, ...), train and val per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = dict.fromkeys(k.split("/", 1)[1] for r in rows for k in r if "/" in k)
    names = sorted(found, key=lambda n: ({"loss": 0, "acc": 1}.get(n, 2), n))[:6]
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4.5 * max(1, len(names)), 3.5), squeeze=False)
    epochs = [r["epoch"] + 1 for r in rows]
    for ax, metric in zip(axes[0], names):
        for split in ("train", "val"):
            key = f"{split}/{metric}"
            if any(key in r for r in rows):
                ax.plot(epochs, [r.get(key, float("nan")) for r in rows], marker="o", ms=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return path
