"""Training entry point: ``python -m torchaug.train [+recipe=NAME] [key=value ...]``.

:func:`train` takes a composed config and returns the final metrics; :func:`main` is the Hydra
command line around it. Multi-stage recipes list ``stages: {name: [override, ...]}``: each
stage is composed from the run's own overrides plus its list and trained in order, in a
sub-folder of the output folder; a later stage refers to an earlier one's results with
``${stage:NAME.checkpoint}`` (also ``.output_dir`` and any key of its ``results.json``).
"""

from __future__ import annotations

import difflib
import logging
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from torchaug._paths import config_dir
from torchaug.io import atomic_write_json, atomic_write_text

log = logging.getLogger("torchaug.train")

_STAGES: dict[str, dict[str, Any]] = {}


def _stage_resolver(ref: str) -> Any:
    name, _, key = ref.partition(".")
    if name not in _STAGES:
        raise KeyError(f"${{stage:{ref}}}: stage {name!r} has not run yet (finished stages: {sorted(_STAGES)})")
    value: Any = _STAGES[name]
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

    start = time.perf_counter()
    output_dir = Path(cfg.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=False, verbose=False)
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


def _train_stages(cfg: DictConfig, overrides: list[str]) -> dict[str, Any]:
    root = Path(cfg.output_dir)
    all_results: dict[str, Any] = {}
    # unresolved: a stage's overrides may refer to stages that have not run yet
    stages = OmegaConf.to_container(cfg.stages, resolve=False)
    for name, stage_overrides in stages.items():
        stage_cfg = _compose([*overrides, *stage_overrides])
        with open_dict(stage_cfg):
            stage_cfg.stages = None
            stage_cfg.output_dir = str(root / name)
        log.info("stage %s: %s", name, list(stage_overrides))
        print(f"\n== stage {name} ==", flush=True)
        _STAGES[name] = all_results[name] = _train_single(stage_cfg)
    results = {"stages": all_results, "output_dir": str(root), **{k: v for k, v in all_results[name].items()
                                                                    if k.startswith("test_")}}
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    if rank_zero_only.rank == 0:  # one writer under DDP
        atomic_write_json(root / "results.json", results)
    return results


def _check_overrides(argv: list[str]) -> None:
    """Fail fast with the valid choices when an override names an unknown key."""
    from hydra.errors import ConfigCompositionException, MissingConfigException

    overrides = [a for a in argv if "=" in a and not a.startswith(("-", "hydra.", "+hydra", "~"))]
    try:
        _compose(overrides)
    except MissingConfigException:
        return  # Hydra's own message lists the available options of the group
    except ConfigCompositionException as err:
        msg = str(err)
        key = next((o.split("=", 1)[0].lstrip("+") for o in overrides if f"'{o.split('=', 1)[0]}'" in msg), None)
        if key is None:
            return
        parent, _, leaf = key.rpartition(".")
        base = _compose([o for o in overrides if not o.startswith(key + "=")])
        node = OmegaConf.select(base, parent) if parent else base
        valid = sorted(node.keys()) if isinstance(node, DictConfig) else []
        close = difflib.get_close_matches(leaf, valid, n=3)
        hint = f" Did you mean {', '.join((parent + '.' if parent else '') + c for c in close)}?" if close else ""
        sys.stderr.write(f"torchaug.train: unknown config key '{key}'.{hint}\n"
                         f"Valid keys under '{parent or '<root>'}': {', '.join(valid)}\n"
                         f"(use +{key}=... to add a new key)\n")
        sys.exit(2)


def main() -> None:
    import hydra

    if not any(a in ("-m", "-h", "-c") or a.startswith("--") for a in sys.argv[1:]):  # multirun, help, --cfg...
        _check_overrides(sys.argv[1:])

    @hydra.main(config_path=str(config_dir()), config_name="train", version_base="1.3")
    def _main(cfg: DictConfig) -> float | None:
        results = train(cfg)
        return results.get("test_acc")

    _main()


if __name__ == "__main__":
    main()
