"""Build every object of a run from its config. All ``hydra.utils.instantiate`` calls live here.

Configuration mistakes found here are :class:`torchaug.errors.ConfigError` s naming the key: a
missing mandatory value, a key a target does not accept (checked against its signature, e.g. the
installed ``lightning.Trainer``'s), a scalar of the wrong type, a constructor's own ``ValueError`` /
``TypeError``, a path that does not exist, a setting the chosen pieces would ignore.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from torchaug.errors import ConfigError
from torchaug._signatures import accepted, check_node

log = logging.getLogger(__name__)


@dataclass
class Run:
    """What :func:`build` returns: the pieces of one training run."""

    datamodule: L.LightningDataModule
    module: L.LightningModule
    trainer: L.Trainer
    output_dir: Path
    info: dict[str, Any] = field(default_factory=dict)


def _target_name(factory: Any) -> str:
    target = factory.func if isinstance(factory, partial) else factory
    return getattr(target, "__qualname__", type(target).__name__)


def _call_with_accepted(factory: Any, key: str = "", *, offered: dict[str, Any] | None = None,
                        required: dict[str, tuple[str, Any]] | None = None) -> Any:
    """Call a partial (or class) with keyword arguments the builder supplies.

    ``offered``: context passed where the target takes it (``num_classes``, ``in_channels``, ...);
    targets that do not need it simply do not list it. ``required``: ``{argument: (config key,
    value)}`` the user configured; a target that does not take one is a :class:`ConfigError` naming
    the config key (the setting would do nothing); these replace what the partial holds (the caller has
    reconciled them, e.g. the top-level ``label_smoothing`` with ``mixer.label_smoothing``). Offered values
    never replace what the partial holds.
    """
    target = factory.func if isinstance(factory, partial) else factory
    given = factory.keywords if isinstance(factory, partial) else {}
    params, open_ = accepted(target)
    kwargs = {k: v for k, v in (offered or {}).items() if (k in params or open_) and k not in given}
    for arg, (cfg_key, value) in (required or {}).items():
        if arg not in params and not open_:
            raise ConfigError(cfg_key, f"{_target_name(factory)} ({key}) does not use {arg}, so this setting "
                              "would do nothing.", f"remove {cfg_key} or choose a {key} that takes it")
        kwargs[arg] = value
    try:
        return factory(**kwargs)
    except (ValueError, TypeError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(key, f"{_target_name(factory)}: {err}") from err


def _inst(node: Any, key: str, **kwargs: Any) -> Any:
    """``instantiate`` with constructor ``ValueError``/``TypeError`` turned into a ConfigError naming ``key``."""
    check_node(node, key)
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, ConfigError):
            raise cause from err
        if isinstance(cause, (ValueError, TypeError)) or cause is None:
            raise ConfigError(key, str(cause or err).strip().splitlines()[-1]) from err
        raise cause from err  # a bug, not a config mistake: keep its traceback


def _maybe(cfg: Any, key: str) -> Any:
    """Instantiate an optional group (``none`` options are null or empty)."""
    if cfg is None or (isinstance(cfg, DictConfig) and len(cfg) == 0):
        return None
    return _inst(cfg, key)


_MISSING_FIX = {
    "data.root": "pass data.root=<folder> (for data=imagefolder: a tree of train/ and test/ with one folder "
                 "of images per class, e.g. the CIFAR-10 JPEG copy)",
}


def check_config(cfg: DictConfig) -> None:
    """Checks that need no data: mandatory values, top-level settings, target signatures, paths."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        k = missing[0]
        raise ConfigError(k, "is required and has no value (???).", _MISSING_FIX.get(k, f"pass {k}=<value>"))
    if cfg.get("mix_in", "device") not in ("device", "collate"):
        raise ConfigError("mix_in", f"must be 'device' or 'collate'; got {cfg.mix_in!r}.", "mix_in=device")
    if cfg.get("augment_in", "device") not in ("device", "collate"):
        raise ConfigError("augment_in", f"must be 'device' or 'collate'; got {cfg.augment_in!r}.", "augment_in=device")
    ls = cfg.get("label_smoothing", 0.0)
    if isinstance(ls, bool) or not isinstance(ls, (int, float)) or not 0.0 <= ls < 1.0:
        raise ConfigError("label_smoothing", f"must be a number in [0, 1); got {ls!r}.", "label_smoothing=0.1")
    seed = cfg.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError("seed", f"must be an int; got {seed!r}.", "seed=0")
    if not isinstance(cfg.get("keep_freed_memory", True), bool):
        raise ConfigError("keep_freed_memory", f"must be true or false; got {cfg.keep_freed_memory!r}.",
                          "keep_freed_memory=true")
    for key in ("init_from", "ckpt_path"):
        path = cfg.get(key)
        if path and not os.path.exists(os.path.expanduser(str(path))):
            raise ConfigError(key, f"no such file: {path}.", f"pass {key}=<an existing .ckpt file> or {key}=null")
    check_node(cfg.trainer, "trainer", extra=("logger", "callbacks", "default_root_dir"))
    for key in ("data", "model", "module", "logger"):
        check_node(cfg.get(key), key)
    grids = cfg.get("batch_grids")
    if grids is not None and not isinstance(grids, DictConfig):
        raise ConfigError("batch_grids", f"must be null or {{every_n_epochs: N, max_images: M}}; got {grids!r}.",
                          "batch_grids.every_n_epochs=10 (or batch_grids=null)")


def _label_smoothing(cfg: DictConfig, mixer_factory: Any) -> tuple[float, float]:
    """``(for the mixer, for the module)``: the top-level ``label_smoothing`` goes to the mixer when one is
    configured (it smooths before mixing, in the workers with ``mix_in=collate`` as on the device, and
    also in epochs where a schedule disables it), else to the module's one-hot targets."""
    top = float(cfg.get("label_smoothing", 0.0))
    if mixer_factory is None:
        return 0.0, top
    own = float((mixer_factory.keywords if isinstance(mixer_factory, partial) else {}).get("label_smoothing", 0.0))
    if top and own and top != own:
        raise ConfigError("label_smoothing", f"is {top} but mixer.label_smoothing is {own}; the mixer smooths the "
                          "targets once.", "set one of them (label_smoothing=... is passed to the mixer)")
    return (top or own), 0.0


def _check_transforms(transforms: Any, datamodule: Any) -> None:
    """Run the training transforms once on two training samples: a pipeline sized for other data
    (``transforms=randaugment``'s 32x32 crop on 8x8 digits) fails here, naming the cause."""
    if transforms is None or getattr(datamodule, "kind", "image") != "image":
        return
    splits = getattr(datamodule, "_splits", None)
    x = getattr(splits.get("train"), "x", None) if isinstance(splits, dict) else None
    if not isinstance(x, torch.Tensor) or x.ndim != 4:  # a datamodule without in-memory images: checked at the first batch
        return
    x = x[:2]
    try:
        transforms(x.clone(), generator=torch.Generator().manual_seed(0))
    except (ValueError, TypeError) as err:
        raise ConfigError("transforms", f"the pipeline does not fit this data's samples of shape "
                          f"{tuple(x.shape[1:])} (uint8 C,H,W): {str(err).splitlines()[0]}",
                          "choose transforms sized for the data (e.g. transforms=digits for 8x8 digits, "
                          "transforms=cifar_standard for 32x32 images) or edit the sizes in the pipeline") from err


def _logger(cfg: DictConfig, output_dir: Path) -> Any:
    node = cfg.get("logger")
    if node is None or (isinstance(node, DictConfig) and len(node) == 0):
        return False
    try:
        return _inst(node, "logger", save_dir=str(output_dir))
    except (ImportError, ModuleNotFoundError) as err:
        raise ConfigError("logger", f"{node.get('_target_')} needs a package that is not installed ({err}).",
                          "pip install it (e.g. pip install tensorboard / wandb) or use logger=csv") from err


def build(cfg: DictConfig, output_dir: Path) -> Run:
    """Instantiate data, augmenters, model, LightningModule, callbacks and trainer from ``cfg``."""
    check_config(cfg)
    mixer_factory = _maybe(cfg.get("mixer"), "mixer")
    module_factory = _inst(cfg.module, "module")
    mixer_ls, module_ls = _label_smoothing(cfg, mixer_factory)
    datamodule = _inst(cfg.data, "data", resampler=_maybe(cfg.get("resampler"), "resampler"),
                       selector=_maybe(cfg.get("selection"), "selection"))
    datamodule.setup("fit")
    num_classes = datamodule.num_classes
    mixer = None
    if mixer_factory is not None:
        mixer = _call_with_accepted(mixer_factory, "mixer", offered={"num_classes": num_classes},
                                    required={"label_smoothing": ("label_smoothing", mixer_ls)} if mixer_ls else None)
    collate_mixer = None
    if mixer is not None and cfg.get("mix_in") == "collate":
        datamodule.collate_mixer = collate_mixer = mixer
        mixer = None

    shape = datamodule.sample_shape
    model = _call_with_accepted(
        _inst(cfg.model, "model"), "model", offered=dict(
            num_classes=num_classes, in_channels=shape[0], in_features=int(torch.Size(shape).numel()),
            image_size=shape[-1]),
    )
    if cfg.get("init_from"):
        _load_weights(model, cfg.init_from)
    mean, std = datamodule.channel_stats() if datamodule.kind == "image" else (None, None)
    transforms = _maybe(cfg.get("transforms"), "transforms")
    _check_transforms(transforms, datamodule)
    if transforms is not None and cfg.get("augment_in") == "collate":  # AugmentCollate in the loader workers
        datamodule.collate_transforms, transforms = transforms, None
    required: dict[str, tuple[str, Any]] = {}
    for arg, key, value in (("transforms", "transforms", transforms), ("mixer", "mixer", mixer),
                            ("hook", "hooks", _maybe(cfg.get("hooks"), "hooks")),
                            ("scheduler", "scheduler", _maybe(cfg.get("scheduler"), "scheduler")),
                            ("label_smoothing", "label_smoothing", module_ls)):
        if value is not None and value is not False and value != 0.0:
            required[arg] = (key, value)
    module = _call_with_accepted(
        module_factory, "module",
        offered=dict(model=model, num_classes=num_classes, optimizer=_maybe(cfg.get("optimizer"), "optimizer"),
                     mean=mean, std=std, seed=cfg.seed, sample_shape=shape, datamodule=datamodule),
        required=required,
    )
    callbacks = [_inst(c, f"callbacks.{name}") for name, c in (cfg.get("callbacks") or {}).items() if c is not None]
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
    grids = cfg.get("batch_grids")
    if grids is not None:
        callbacks.append(_inst(OmegaConf.create({"_target_": "torchaug.lightning.callbacks.AugmentedBatchGrid",
                                                 **OmegaConf.to_container(grids, resolve=True)}),
                               "batch_grids", output_dir=str(output_dir)))
    trainer = _inst(cfg.trainer, "trainer", callbacks=callbacks, default_root_dir=str(output_dir),
                    logger=_logger(cfg, output_dir))
    info = {"num_classes": num_classes, "sample_shape": list(shape), "train_class_counts": datamodule.class_counts(),
            "label_smoothing": {"mixer": mixer_ls, "module": module_ls},
            **getattr(datamodule, "resample_stats", {})}
    if collate_mixer is not None:
        info["collate_mixer"] = repr(collate_mixer)
    return Run(datamodule, module, trainer, output_dir, info)


def _load_weights(model: torch.nn.Module, path: str) -> None:
    """Initialise ``model`` from a Lightning checkpoint of a ``ClassifierModule`` (or a bare state dict)."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    state = state.get("state_dict", state)
    if any(k.startswith("model.") for k in state):
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise ConfigError("init_from", f"checkpoint {path} lacks weights for {missing[:5]}...",
                          "pass a checkpoint of the same model")
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
        instantiate(cfg.model), "model", offered=dict(
            num_classes=num_classes, in_channels=sample_shape[0], in_features=int(torch.Size(sample_shape).numel()),
            image_size=sample_shape[-1]),
    )
    _load_weights(model, str(ckpt))
    state = torch.load(str(ckpt), map_location="cpu", weights_only=False)
    state = state.get("state_dict", state)
    return model.eval(), state.get("mean"), state.get("std")


def resolved_config(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=True)
