"""Callbacks for outputs a person reads (per-epoch metrics CSV, loss/accuracy curves, grids of the
augmented training batch) and for not losing a run (a checkpoint on Ctrl-C)."""

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


class AugmentedBatchGrid(L.Callback):
    """Save what augmentation did: the first training batch of the first epoch and of every
    ``every_n_epochs``-th epoch, as the model receives it, into ``output_dir/augmented/`` and the loggers.

    Files: ``epoch_XXX_augmented.png`` (after the transforms; before the mixer when one runs on the
    device, captured by a forward pre-hook on ``pl_module.mixer``) and ``epoch_XXX_mixed.png`` (after
    mixing, each image titled with its soft label's two largest classes and weights). With
    ``mix_in=collate`` the batch arrives mixed, so only the mixed grid is drawn. Images are shown
    de-normalised with the module's ``mean``/``std``. TensorBoard loggers get them with
    ``add_image``, loggers with ``log_image`` (W&B) get the PNG files. Rank 0 only; image batches
    ``(B, C, H, W)`` only (tabular runs draw nothing).

    Args:
        output_dir: the run folder.
        every_n_epochs: draw at epoch 0 and every N epochs (0: the first epoch only).
        max_images: at most this many images per grid (the first ones of the batch).
    """

    def __init__(self, output_dir: str | Path, every_n_epochs: int = 10, max_images: int = 32) -> None:
        for name, v, low in (("every_n_epochs", every_n_epochs, 0), ("max_images", max_images, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"AugmentedBatchGrid: {name} must be an int >= {low}; got {v!r}")
        self.output_dir = Path(output_dir)
        self.every_n_epochs, self.max_images = every_n_epochs, max_images
        self._before_mix: Any = None
        self._handle: Any = None
        self.saved: list[Path] = []

    def due(self, epoch: int) -> bool:
        return epoch == 0 or (self.every_n_epochs > 0 and epoch % self.every_n_epochs == 0)

    def _capture(self, module: Any, args: tuple, kwargs: dict) -> None:
        if self._before_mix is None and args:
            self._before_mix = args[0][: self.max_images].detach().clone()
        self._remove_hook()

    def _remove_hook(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._before_mix = None
        self._remove_hook()
        if trainer.global_rank != 0 or not self.due(trainer.current_epoch):
            return
        import torch

        mixer = getattr(pl_module, "mixer", None)
        if isinstance(mixer, torch.nn.Module) and getattr(mixer, "enabled", True):
            self._handle = mixer.register_forward_pre_hook(self._capture, with_kwargs=True)

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        if batch_idx != 0 or trainer.global_rank != 0 or not self.due(trainer.current_epoch):
            return
        self._remove_hook()
        x, y = batch[0], batch[1]
        if not hasattr(x, "ndim") or x.ndim != 4:
            return
        n = self.max_images
        names = list(getattr(getattr(trainer, "datamodule", None), "classes", None) or [])
        epoch = trainer.current_epoch
        grids = []
        collate_mixer = getattr(getattr(trainer, "datamodule", None), "collate_mixer", None)
        if self._before_mix is not None:
            grids.append(("augmented", _to_unit(self._before_mix, None), None))
            grids.append(("mixed", _to_unit(x[:n], pl_module), _label_text(y[:n], names)))
        elif collate_mixer is not None and getattr(collate_mixer, "enabled", True):  # mixed in the workers
            grids.append(("mixed", _to_unit(x[:n], pl_module), _label_text(y[:n], names)))
        else:
            grids.append(("augmented", _to_unit(x[:n], pl_module), _label_text(y[:n], names)))
        self._before_mix = None
        folder = self.output_dir / "augmented"
        folder.mkdir(parents=True, exist_ok=True)
        for stage, images, labels in grids:
            path = folder / f"epoch_{epoch:03d}_{stage}.png"
            array = save_image_grid(images, path, labels, title=f"epoch {epoch}: first training batch, {stage}")
            self.saved.append(path)
            _send_to_loggers(trainer, f"augmented/{stage}", array, path, trainer.global_step)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._remove_hook()


def _to_unit(x: Any, pl_module: Any) -> Any:
    """A float copy in [0, 1] on the CPU: uint8 / 255, or normalised float undone with the module's mean/std."""
    import torch

    x = x.detach()
    if x.dtype == torch.uint8:
        return x.float().div(255).cpu()
    x = x.float()
    mean = getattr(pl_module, "mean", None) if pl_module is not None else None
    sd = getattr(pl_module, "std", None) if pl_module is not None else None
    if isinstance(mean, torch.Tensor) and isinstance(sd, torch.Tensor) and mean.shape[1] == x.shape[1]:
        x = x * sd.to(x.device) + mean.to(x.device)
    return x.clamp(0, 1).cpu()


def _label_text(y: Any, names: list[str]) -> list[str]:
    """``"cat"`` for a hard label, ``"cat .62 / dog .38"`` for a soft one (its two largest classes)."""
    def name(i: int) -> str:
        return names[i] if i < len(names) else str(i)

    if y.ndim == 1:
        return [name(int(v)) for v in y.cpu()]
    top = y.detach().float().cpu().topk(min(2, y.shape[1]), dim=1)
    out = []
    for w, i in zip(top.values.tolist(), top.indices.tolist()):
        if len(w) < 2 or w[1] < 0.02 or w[0] > 0.98:
            out.append(name(i[0]))
        else:
            out.append(f"{name(i[0])} {w[0]:.2f} / {name(i[1])} {w[1]:.2f}")
    return out


def save_image_grid(images: Any, path: Path, labels: list[str] | None = None, *, ncols: int = 8,
                    title: str = "", cell: int = 96) -> Any:
    """Draw float ``(N, C, H, W)`` images in [0, 1] in a grid (a label under each, a title on top) to ``path``
    as a PNG; return the picture as a uint8 ``(H, W, 3)`` numpy array. Each image is scaled (nearest
    neighbour) to about ``cell`` pixels on its long side. PIL only: a few milliseconds per grid."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image, ImageDraw, ImageFont

    n, c, h, w = images.shape
    scale = max(1, round(cell / max(h, w)))
    x = images[:, :3] if c >= 3 else images[:, :1].expand(-1, 3, -1, -1)
    x = F.interpolate(x.float(), scale_factor=scale, mode="nearest") if scale > 1 else x.float()
    hh, ww = x.shape[-2:]
    font = ImageFont.load_default()
    text_h = 14 if labels else 0
    pad, top = 4, (18 if title else 0)
    cols = min(ncols, n)
    rows = (n + cols - 1) // cols
    cell_w = max(ww, 8 * max((len(t) for t in labels), default=0) // 1) if labels else ww
    cell_w = min(cell_w, ww + 80)
    width, height = pad + cols * (cell_w + pad), top + pad + rows * (hh + text_h + pad)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((pad, 3), title, fill=(0, 0, 0), font=font)
    pixels = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, k = divmod(i, cols)
        x0 = pad + k * (cell_w + pad) + (cell_w - ww) // 2
        y0 = top + pad + r * (hh + text_h + pad)
        canvas.paste(Image.fromarray(pixels[i]), (x0, y0))
        if labels:
            draw.text((pad + k * (cell_w + pad), y0 + hh + 1), labels[i], fill=(0, 0, 0), font=font)
    tmp = path.with_suffix(".tmp.png")
    canvas.save(tmp, format="PNG")
    tmp.replace(path)
    return np.asarray(canvas).copy()


def _send_to_loggers(trainer: L.Trainer, tag: str, array: Any, path: Path, step: int) -> None:
    for logger in getattr(trainer, "loggers", []) or []:
        try:
            experiment = logger.experiment
        except Exception:  # noqa: BLE001 - a logger without an experiment object (CSV, dummy)
            experiment = None
        if hasattr(experiment, "add_image"):  # TensorBoard's SummaryWriter
            experiment.add_image(tag, array, global_step=step, dataformats="HWC")
        elif hasattr(logger, "log_image"):  # W&B
            logger.log_image(key=tag, images=[str(path)], step=step)
