"""Configuration mistakes end in one line naming the key and the fix (a table), every scalar
lightning.Trainer argument is settable as trainer.NAME=value, other errors keep their tracebacks."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
import time

import pytest
from omegaconf import open_dict

from torchaug.errors import ConfigError
from torchaug.lightning.build import build
from torchaug.train import compose_config, config_error_line, is_config_error, normalize_overrides, train


def _cfg(tmp_path, *overrides):
    cfg = compose_config(list(overrides))
    with open_dict(cfg):
        cfg.output_dir = str(tmp_path)
    return cfg


def _error_line(tmp_path, overrides):
    try:
        build(_cfg(tmp_path, *overrides), tmp_path)
    except Exception as err:  # noqa: BLE001
        assert is_config_error(err), f"{type(err).__name__} is not reported as a configuration mistake: {err}"
        return config_error_line(err)
    pytest.fail(f"{overrides}: no error")


MISTAKES = [
    # (overrides, the key the line must name, more text it must hold)
    (["+recipe=style_train"], "data.root", "pass data.root="),  # missing mandatory value
    (["mixer=foo"], "mixer", "cutmix, fmix, mixup"),  # unknown group option: the options
    (["+recipe=nope"], "recipe", "mixup_cifar"),
    (["trainer.max_epoch=3"], "trainer.max_epoch", "trainer.max_epochs"),  # misspelt: the nearest name
    (["data.batch_siz=3"], "data.batch_siz", "data.batch_size"),
    (["module.compil=true"], "module.compil", "module.compile"),
    (["trainer.max_epochs=abc"], "trainer.max_epochs", "int"),  # wrong type, against the Trainer's signature
    (["trainer.fast_dev_run=maybe"], "trainer.fast_dev_run", "bool"),
    (["data.batch_size=0"], "data", "batch_size must be a positive int"),  # the constructor's own ValueError
    (["seed=abc"], "seed", "int"),
    (["sed=1"], "sed", "seed"),  # unknown top-level key
    (["mix_in=workers"], "mix_in", "collate"),
    (["keep_freed_memory=sometimes"], "keep_freed_memory", "true or false"),
    (["data=imagefolder", "data.root=/does/not/exist"], "data.root", "/does/not/exist"),  # bad path
    (["init_from=/does/not/exist.ckpt"], "init_from", "no such file"),
    (["ckpt_path=/does/not/exist.ckpt"], "ckpt_path", "no such file"),
    (["trainer.logger=true"], "trainer.logger", "logger=csv"),
    (["trainer.max_epochs=[1"], "", "key=value"),  # malformed override
    (["label_smoothing=0.1", "mixer.label_smoothing=0.2"], "label_smoothing", "mixer.label_smoothing"),
    (["+recipe=vae_digits", "label_smoothing=0.1"], "label_smoothing", "would do nothing"),  # a setting ignored
    (["+recipe=vae_digits", "transforms=digits"], "transforms", "would do nothing"),
    (["transforms=randaugment"], "transforms", "(1, 8, 8)"),  # a CIFAR-sized pipeline on 8x8 digits
    (["label_smoothing=1.5"], "label_smoothing", "[0, 1)"),
    (["batch_grids.every_n_epochs=-1"], "batch_grids", "every_n_epochs"),
]
if importlib.util.find_spec("wandb") is None:
    MISTAKES.append((["logger=wandb"], "logger", "pip install"))


@pytest.mark.parametrize("overrides,key,text", MISTAKES, ids=[" ".join(m[0]) for m in MISTAKES])
def test_configuration_mistake_is_one_line_naming_the_key(tmp_path, overrides, key, text):
    line = _error_line(tmp_path, overrides)
    assert "\n" not in line
    assert line.startswith(f"{key}:") if key else True, line
    assert text in line, line


def _scalar_trainer_args():
    import lightning as L

    out = {}
    for name, p in inspect.signature(L.Trainer.__init__).parameters.items():
        if name in ("self", "logger", "callbacks", "default_root_dir"):
            continue
        if p.default is None or isinstance(p.default, (bool, int, float, str)):
            out[name] = p.default
    return out


def _yaml(v):
    return "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def test_every_scalar_trainer_argument_is_settable(tmp_path):
    args = _scalar_trainer_args()
    assert {"fast_dev_run", "limit_train_batches", "gradient_clip_val", "accumulate_grad_batches"} <= set(args)
    overrides = [f"trainer.{k}={_yaml(v)}" for k, v in args.items()]
    normalized = normalize_overrides(overrides)
    cfg = _cfg(tmp_path, *normalized)
    for k, v in args.items():
        assert cfg.trainer[k] == v, k
    from torchaug.lightning.build import check_config

    check_config(cfg)  # every value passes the type check against the installed Trainer's signature


def test_trainer_datamodule_and_module_arguments_reach_their_objects(tmp_path):
    cfg = _cfg(tmp_path, "trainer.gradient_clip_val=0.5", "trainer.limit_train_batches=2", "trainer.fast_dev_run=true",
               "data.pin_memory=true", "module.compile=false", "trainer.accelerator=cpu")
    run = build(cfg, tmp_path)
    assert run.trainer.gradient_clip_val == 0.5 and run.trainer.fast_dev_run
    assert run.datamodule.pin_memory is True and run.module._compiled_model is None


def test_other_exceptions_keep_their_type_and_traceback(tmp_path):
    cfg = _cfg(tmp_path, "trainer.max_epochs=1", "trainer.enable_progress_bar=false", "test=false",
               "+callbacks.boom={_target_: train_support.RaiseOnFitStart}")
    with pytest.raises(RuntimeError, match="boom"):
        train(cfg)
    assert not is_config_error(RuntimeError("x"))


def _cli(args, cwd, **env):
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    full_env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), full_env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "torchaug.train", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=full_env)


def test_cli_flagship_command_offline_fails_fast_with_one_line(tmp_path):
    start = time.perf_counter()
    out = _cli(["+recipe=mixup_cifar", "trainer.fast_dev_run=true", f"data.root={tmp_path / 'empty'}",
                f"hydra.run.dir={tmp_path / 'run'}"], tmp_path, TORCHAUG_OFFLINE="1")
    elapsed = time.perf_counter() - start
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "data.root" in lines[0] and "data=imagefolder" in lines[0] and "HYDRA_FULL_ERROR=1" in lines[0]
    assert elapsed < 90  # a few seconds on a quiet machine (imports dominate); generous for a shared CI box


def test_cli_full_error_shows_the_traceback(tmp_path):
    out = _cli(["trainer.max_epochs=abc", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path, HYDRA_FULL_ERROR="1")
    assert out.returncode != 0 and "Traceback" in out.stderr and "ConfigError" in out.stderr


def test_config_error_line_format():
    assert ConfigError("data.root", "is missing.", "pass data.root=X").line() == "data.root: is missing. Fix: pass data.root=X"
