"""Build every object of a run from its config. All ``hydra.utils.instantiate`` calls live here."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@dataclass
class Run:
    """What :func:`build` returns: the pieces of one training run."""

    datamodule: L.LightningDataModule
    module: L.LightningModule
    trainer: L.Trainer
    output_dir: Path
    info: dict[str, Any] = field(default_factory=dict)


def _call_with_accepted(factory: Any, **available: Any) -> Any:
    """Call a partial with the keyword arguments its target accepts (and has not been given)."""
    target = factory.func if isinstance(factory, partial) else factory
    given = factory.keywords if isinstance(factory, partial) else {}
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return factory()
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in available.items() if (k in params or takes_kwargs) and k not in given}
    return factory(**kwargs)


def _maybe(cfg: Any) -> Any:
    """Instantiate an optional group (``none`` options are null or empty)."""
    if cfg is None or (isinstance(cfg, DictConfig) and len(cfg) == 0):
        return None
    return instantiate(cfg)


def build(cfg: DictConfig, output_dir: Path) -> Run:
    """Instantiate data, augmenters, model, LightningModule, callbacks and trainer from ``cfg``."""
    if cfg.get("mix_in", "device") not in ("device", "collate"):
        raise ValueError(f"mix_in must be 'device' or 'collate'; got {cfg.mix_in!r}")
    resampler = _maybe(cfg.get("resampler"))
    mixer_factory = _maybe(cfg.get("mixer"))
    datamodule = instantiate(cfg.data, resampler=resampler, selector=_maybe(cfg.get("selection")))
    datamodule.setup("fit")
    num_classes = datamodule.num_classes
    mixer = _call_with_accepted(mixer_factory, num_classes=num_classes) if mixer_factory is not None else None
    if mixer is not None and cfg.get("mix_in") == "collate":
        datamodule.collate_mixer, mixer = mixer, None

    shape = datamodule.sample_shape
    model = _call_with_accepted(
        instantiate(cfg.model), num_classes=num_classes, in_channels=shape[0],
        in_features=int(torch.Size(shape).numel()), image_size=shape[-1],
    )
    if cfg.get("init_from"):
        _load_weights(model, cfg.init_from)
    mean, std = datamodule.channel_stats() if datamodule.kind == "image" else (None, None)
    module = _call_with_accepted(
        instantiate(cfg.module),
        model=model, num_classes=num_classes, optimizer=_maybe(cfg.get("optimizer")),
        scheduler=_maybe(cfg.get("scheduler")), transforms=_maybe(cfg.get("transforms")), mixer=mixer,
        hook=_maybe(cfg.get("hooks")), mean=mean, std=std, label_smoothing=cfg.get("label_smoothing", 0.0),
        seed=cfg.seed, sample_shape=shape, datamodule=datamodule,
    )
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    from lightning.pytorch.callbacks import ModelCheckpoint

    from torchaug.lightning.callbacks import EpochMetricsWriter, SaveOnInterrupt

    callbacks += [
        # last.ckpt rewritten (atomically) at the end of every epoch, so a crash or Ctrl-C loses at most one
        # epoch (with save_top_k=0 and save_last=True Lightning writes it only when training ends); no
        # version counter: resuming into the same folder keeps writing last.ckpt
        ModelCheckpoint(dirpath=output_dir / "checkpoints", filename="last", save_top_k=1, monitor=None,
                        every_n_epochs=1, save_last=False, enable_version_counter=False,
                        save_on_train_epoch_end=True),
        EpochMetricsWriter(output_dir),
        SaveOnInterrupt(output_dir / "checkpoints"),
    ]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, default_root_dir=str(output_dir), logger=False)
    info = {"num_classes": num_classes, "sample_shape": list(shape), "train_class_counts": datamodule.class_counts(),
            **getattr(datamodule, "resample_stats", {})}
    return Run(datamodule, module, trainer, output_dir, info)


def _load_weights(model: torch.nn.Module, path: str) -> None:
    """Initialise ``model`` from a Lightning checkpoint of a ``ClassifierModule`` (or a bare state dict)."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    state = state.get("state_dict", state)
    if any(k.startswith("model.") for k in state):
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise ValueError(f"init_from: checkpoint {path} lacks weights for {missing[:5]}...")
    log.info("initialised model weights from %s (%d unexpected keys ignored)", path, len(unexpected))


def load_classifier(ckpt: str | Path, *, num_classes: int, sample_shape: tuple[int, ...]) -> tuple[torch.nn.Module, Any, Any]:
    """The trained network of a ``ClassifierModule`` checkpoint written by ``torchaug.train``, in eval mode,
    and its normalisation ``(mean, std)`` buffers (``(1, C, 1, 1)`` or None).

    The model is rebuilt from the run's ``config.yaml`` (next to ``checkpoints/``) as :func:`build`
    does, then its ``model.*`` weights are loaded.
    """
    from omegaconf import OmegaConf

    ckpt = Path(ckpt)
    cfg_path = ckpt.parent.parent / "config.yaml"
    if not cfg_path.exists():
        raise FileNotFoundError(f"load_classifier: {cfg_path} not found; pass a checkpoint written by torchaug.train "
                                f"(RUN/checkpoints/last.ckpt next to RUN/config.yaml)")
    cfg = OmegaConf.load(cfg_path)
    model = _call_with_accepted(
        instantiate(cfg.model), num_classes=num_classes, in_channels=sample_shape[0],
        in_features=int(torch.Size(sample_shape).numel()), image_size=sample_shape[-1],
    )
    _load_weights(model, str(ckpt))
    state = torch.load(str(ckpt), map_location="cpu", weights_only=False)
    state = state.get("state_dict", state)
    return model.eval(), state.get("mean"), state.get("std")


def resolved_config(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=True)
