"""Training entry point: ``python -m torchaug.train [+recipe=NAME] [key=value ...]``.

:func:`train` takes a composed config and returns the final metrics; :func:`main` is the Hydra
command line around it. Multi-stage recipes list ``stages: {name: [override, ...]}``: each
stage is composed from the run's own overrides plus its list and trained in order, in a
sub-folder of the output folder; a later stage refers to an earlier one's results with
``${stage:NAME.checkpoint}`` (also ``.output_dir`` and any key of its ``results.json``).
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from torchaug._paths import config_dir
from torchaug.io import atomic_write_json, atomic_write_text

log = logging.getLogger("torchaug.train")

# the results of the stages that have run, for ${stage:...}; set by _train_stages for the duration of one
# multi-stage run (a context variable, so two runs in one process never see each other's stages)
_RUN_STAGES: ContextVar[dict[str, dict[str, Any]] | None] = ContextVar("torchaug_run_stages", default=None)


def _stage_resolver(ref: str) -> Any:
    name, _, key = ref.partition(".")
    stages = _RUN_STAGES.get()
    if stages is None:
        raise KeyError(f"${{stage:{ref}}} is only defined inside a multi-stage run (a recipe with stages:)")
    if name not in stages:
        raise KeyError(f"${{stage:{ref}}}: stage {name!r} has not run yet (finished stages: {sorted(stages)})")
    value: Any = stages[name]
    for part in key.split(".") if key else []:
        value = value[part]
    return value


OmegaConf.register_new_resolver("stage", _stage_resolver, replace=True)


def train(cfg: DictConfig, overrides: list[str] | None = None) -> dict[str, Any]:
    """Train (and test) as ``cfg`` says; write outputs to ``cfg.output_dir``; return the results dict."""
    if cfg.get("stages"):
        return _train_stages(cfg, overrides or _hydra_overrides())
    return _train_single(cfg)


def _train_single(cfg: DictConfig) -> dict[str, Any]:
    import lightning as L
    import torch
    from lightning.pytorch.utilities.model_helpers import is_overridden

    from torchaug.lightning.build import build, resolved_config

    from torchaug.lightning.build import check_config

    check_config(cfg)  # before seeding and any data: a configuration mistake stops the run at once
    start = time.perf_counter()
    output_dir = Path(cfg.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=False, verbose=False)
    if cfg.get("keep_freed_memory", True):
        import torchaug

        torchaug.keep_freed_memory()  # before the DataLoader workers fork: they inherit it
    run = build(cfg, output_dir)
    trainer, module = run.trainer, run.module
    rank0 = trainer.global_rank == 0  # under DDP only rank 0 writes config.yaml and results.json
    if rank0:
        atomic_write_text(output_dir / "config.yaml", resolved_config(cfg))
    try:
        trainer.fit(module, datamodule=run.datamodule, ckpt_path=cfg.get("ckpt_path"))
    except SystemExit:
        # Ctrl-C: Lightning stops, runs the callbacks' on_exception (SaveOnInterrupt) and exits with 1
        if trainer.interrupted and rank0:
            sys.stderr.write(_resume_hint(output_dir))
        raise
    if trainer.fast_dev_run:  # ModelCheckpoint is off there; a later stage still needs a checkpoint (every rank calls)
        trainer.save_checkpoint(output_dir / "checkpoints" / "last.ckpt")
    results: dict[str, Any] = {"epochs": trainer.current_epoch, **run.info}
    results.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")})
    if cfg.get("test", True) and is_overridden("test_step", module):
        test_metrics = trainer.test(module, datamodule=run.datamodule, verbose=False)[0]
        results.update({k.replace("/", "_"): float(v) for k, v in test_metrics.items()})
        if hasattr(module, "per_class_recall"):
            results["test_per_class_recall"] = module.per_class_recall
    if hasattr(module, "augmentation_summary"):
        results["augmentation"] = module.augmentation_summary()
    ckpt = output_dir / "checkpoints" / "last.ckpt"
    results["checkpoint"] = str(ckpt) if ckpt.exists() else None
    results["output_dir"] = str(output_dir)
    results["wall_time_s"] = round(time.perf_counter() - start, 2)
    results["device"] = str(module.device) if hasattr(module, "device") else str(torch.device("cpu"))
    if rank0:
        atomic_write_json(output_dir / "results.json", results)
        print(_summary(results), flush=True)
    return results


def _resume_hint(output_dir: Path) -> str:
    ckpts = output_dir / "checkpoints"
    found = [p for p in (ckpts / "last.ckpt", ckpts / "interrupted.ckpt") if p.exists()]
    if not found:
        return "\ntorchaug.train: interrupted before the first checkpoint; nothing to resume from\n"
    lines = ["", "torchaug.train: interrupted. Resume with the same overrides plus one of:"]
    lines += [f"  ckpt_path={p}" + ("   (end of the last full epoch)" if p.name == "last.ckpt" else
                                   "   (where it stopped)") for p in found]
    return "\n".join(lines) + "\n"


def _summary(results: dict[str, Any]) -> str:
    acc = results.get("test_acc")
    lines = ["", "== torchaug run summary ==",
             f"test accuracy : {acc:.4f}" if acc is not None else "test accuracy : (not tested)",
             f"epochs        : {results['epochs']}",
             f"wall time     : {results['wall_time_s']:.1f} s",
             f"output folder : {results['output_dir']}"]
    if "test_balanced_acc" in results:
        lines.insert(3, f"balanced acc  : {results['test_balanced_acc']:.4f}")
    return "\n".join(lines)


def _hydra_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _compose(overrides: list[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return compose(config_name="train", overrides=overrides)
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def compose_config(overrides: list[str]) -> DictConfig:
    """Compose ``train.yaml`` with command-line style ``overrides`` (normalised by :func:`normalize_overrides`)."""
    return _compose(normalize_overrides(overrides))


def _override_key(o: str) -> str:
    return o.split("=", 1)[0].lstrip("+~")


def _is_key_value(o: str) -> bool:
    return "=" in o and not o.startswith("-")


def _group_options(group: str) -> list[str]:
    folder = config_dir() / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def normalize_overrides(overrides: list[str]) -> list[str]:
    """Make every argument of a node's ``_target_`` settable as ``KEY.NAME=value``, and check the rest.

    ``trainer.fast_dev_run=true`` becomes ``+trainer.fast_dev_run=true`` when the config does not list
    ``fast_dev_run`` but the installed ``lightning.Trainer`` takes it (likewise for ``data.*``, ``model.*``,
    ``module.*``, ``logger.*`` and any node with a ``_target_``). A name neither the config nor the target
    knows, an unknown group option or a malformed override raises :class:`torchaug.errors.ConfigError`
    naming it (with the nearest valid names / the options of the group). Two compositions: the group
    choices and prefixed overrides first, then everything.
    """
    from torchaug.errors import ConfigError
    from torchaug._signatures import nearest, settable

    out = list(overrides)
    kv = [o for o in out if _is_key_value(o)]
    dotted = [o for o in kv if o[0] not in "+~" and "." in _override_key(o) and not _override_key(o).startswith("hydra.")]
    base = _compose_or_raise([o for o in kv if o not in dotted])
    for i, o in enumerate(out):
        if o not in dotted:
            continue
        key = _override_key(o)
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(base, parent, default=None)
        if isinstance(node, DictConfig) and leaf in node:
            continue
        target = node.get("_target_") if isinstance(node, DictConfig) else None
        names = settable(str(target)) if target else []
        if leaf in names:
            out[i] = "+" + o
            continue
        if not isinstance(node, DictConfig):
            raise ConfigError(key, f"unknown config key: there is no '{parent}' section in this config.",
                              "check the spelling (torchaug --help lists the groups)")
        valid = sorted({*(str(k) for k in node.keys() if not str(k).startswith("_")), *names})
        hint = nearest(leaf, valid)
        where = f"{target} has no argument {leaf!r}" if target else f"'{parent}' holds no {leaf!r}"
        if hint:
            full = [f"{parent}.{c}" for c in hint.replace("did you mean ", "").rstrip("?").split(" or ")]
            raise ConfigError(key, f"unknown config key ({where}); did you mean {' or '.join(full)}?",
                              f"{full[0]}={o.split('=', 1)[1]}")
        raise ConfigError(key, f"unknown config key ({where}); valid keys under '{parent}': {', '.join(valid)}.",
                          "use one of them (torchaug --help lists groups and recipes)")
    _compose_or_raise([o for o in out if _is_key_value(o)])
    return out


def _compose_or_raise(overrides: list[str]) -> DictConfig:
    """:func:`_compose`, with Hydra's composition errors as :class:`ConfigError` s naming the key."""
    import re

    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    from torchaug.errors import ConfigError
    from torchaug._signatures import nearest

    try:
        return _compose(overrides)
    except MissingConfigException as err:
        msg = str(err)
        found = re.search(r"Could not find '([^']+)'", msg)
        path = found.group(1) if found else ""
        group, _, option = path.rpartition("/")
        options = _group_options(group) if group else []
        if not options:
            options = re.findall(r"^\t(\S+)$", msg, flags=re.M)
        raise ConfigError(group or path, f"{option or path!r} is not an option of the {group or 'config'} group; "
                          f"choose one of: {', '.join(options) or '(none found)'}.",
                          f"{group}=<one of them>, or add {group}/{option}.yaml on hydra.searchpath") from err
    except OverrideParseException as err:
        raise ConfigError("", f"cannot parse an override: {str(err).strip().splitlines()[0]}",
                          "write overrides as key=value (quote values with spaces or brackets)") from err
    except ConfigCompositionException as err:
        msg = str(err)
        found = re.search(r"Could not (?:override|append to|delete from) '([^']+)'", msg)
        key = found.group(1) if found else ""
        if key and "." not in key and "To append to your config" in msg:  # an unknown top-level key
            base = _compose([o for o in overrides if _override_key(o) != key])
            valid = sorted(str(k) for k in base.keys())
            hint = nearest(key, valid)
            raise ConfigError(key, f"unknown config key{'; ' + hint if hint else ''} (top-level keys: "
                              f"{', '.join(valid)}).", f"+{key}=... adds a new key") from err
        raise ConfigError(key, " ".join(msg.strip().splitlines()[0].split())) from err


def _train_stages(cfg: DictConfig, overrides: list[str]) -> dict[str, Any]:
    root = Path(cfg.output_dir)
    all_results: dict[str, Any] = {}
    # unresolved: a stage's overrides may refer to stages that have not run yet
    stages = OmegaConf.to_container(cfg.stages, resolve=False)
    token = _RUN_STAGES.set(all_results)  # ${stage:...} reads this run's results, and only during this run
    try:
        for name, stage_overrides in stages.items():
            stage_cfg = compose_config([*overrides, *stage_overrides])
            with open_dict(stage_cfg):
                stage_cfg.stages = None
                stage_cfg.output_dir = str(root / name)
            log.info("stage %s: %s", name, list(stage_overrides))
            print(f"\n== stage {name} ==", flush=True)
            all_results[name] = _train_single(stage_cfg)
    finally:
        _RUN_STAGES.reset(token)
    results = {"stages": all_results, "output_dir": str(root), **{k: v for k, v in all_results[name].items()
                                                                    if k.startswith("test_")}}
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    if rank_zero_only.rank == 0:  # one writer under DDP
        atomic_write_json(root / "results.json", results)
    return results


_FULL_TRACE = "HYDRA_FULL_ERROR=1 shows the full traceback"


def config_error_line(err: BaseException) -> str:
    """One line for a configuration mistake (a ConfigError, a Hydra or an OmegaConf error)."""
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    from torchaug.errors import ConfigError

    if isinstance(err, ConfigError):
        return err.line()
    if isinstance(err, MissingMandatoryValue):
        key = getattr(err, "full_key", None) or "?"
        return ConfigError(key, "is required and has no value (???).", f"pass {key}=<value>").line()
    text = " ".join(str(err).strip().split("\n")[0].split())
    if isinstance(err, OmegaConfBaseException) and getattr(err, "full_key", None):
        return f"{err.full_key}: {text}"
    return text


def is_config_error(err: BaseException) -> bool:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from torchaug.errors import ConfigError

    return isinstance(err, (ConfigError, HydraException, OmegaConfBaseException))


def _fail(err: BaseException, prog: str = "torchaug.train") -> None:
    sys.stderr.write(f"{prog}: {config_error_line(err)}  [{_FULL_TRACE}]\n")
    sys.exit(2)


def main(argv: list[str] | None = None, prog: str = "torchaug.train") -> None:
    """``python -m torchaug.train [+recipe=NAME] [key=value ...]`` (also ``torchaug train ...``).

    Configuration mistakes end with one line naming the key and the fix, and exit status 2
    (``HYDRA_FULL_ERROR=1`` shows the traceback); other errors keep their traceback.
    """
    import os

    import hydra

    args = sys.argv[1:] if argv is None else list(argv)
    full = os.environ.get("HYDRA_FULL_ERROR") == "1"
    if not any(a in ("-m", "-h", "-c") or a.startswith("--") for a in args):  # multirun, help, --cfg...
        try:
            args = normalize_overrides(args)
        except Exception as err:  # noqa: BLE001 - config mistakes become one line, the rest re-raised
            if full or not is_config_error(err):
                raise
            _fail(err, prog)
    sys.argv = [sys.argv[0], *args]

    @hydra.main(config_path=str(config_dir()), config_name="train", version_base="1.3")
    def _main(cfg: DictConfig) -> float | None:
        try:
            results = train(cfg)
        except Exception as err:  # noqa: BLE001
            if full or not is_config_error(err):
                raise
            _fail(err, prog)
        return results.get("test_acc")

    _main()


if __name__ == "__main__":
    main()
