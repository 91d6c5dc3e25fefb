"""A real 2-process DDP training on the CPU (gloo): the CLI with ``trainer=ddp_cpu`` in subprocesses.

Plain ``ddp`` relaunches the command line for rank 1, so the run goes through ``python -m
torchaug.train`` (works under pytest and xdist). Transforms (digits affine jitter), a mixer (MixUp)
and a feature hook (MoEx, p=1) are active. The same seeded run is launched twice, side by side: once
by Lightning (rank 0 starts rank 1) and once by ``torchrun --standalone`` (both ranks started
externally, as on a cluster). Checks: the two ranks draw different augmentation parameters, and
both launches give the same per-rank draws, weights and metrics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch

HERE = Path(__file__).resolve().parent


class AugFingerprint(L.Callback):
    """Test-only: write what rank ``r`` drew for its first training batch to ``dir/rank{r}.json``.

    ``probe``: the transforms applied to one fixed image with a copy of the rank's augmentation
    generator (same input on every rank, so only the parameters can differ); ``mix_perm``/``mix_lam``
    and ``hook_lam``: the mixer's and MoEx's draws of the first batch.
    """

    def __init__(self, dir: str) -> None:
        self.dir = Path(dir)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        g = torch.Generator(device=pl_module.device)
        g.set_state(pl_module.aug_generator.get_state())
        x = (torch.arange(4 * 64) % 17 * 15).to(torch.uint8).reshape(4, 1, 8, 8)
        self.probe = pl_module.transforms(x, generator=g).float().mean(dim=(1, 2, 3)).tolist()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.current_epoch != 0 or batch_idx != 0:
            return
        params = pl_module.mixer.last_params
        out = {"rank": trainer.global_rank, "world_size": trainer.world_size, "probe": self.probe,
               "mix_perm": params["perm"].tolist(), "mix_lam": params["lam"].flatten().tolist(),
               "hook_lam": pl_module.hook._lam.flatten().tolist(),
               "hook_applied": pl_module.hook._applied.flatten().tolist()}
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / f"rank{trainer.global_rank}.json").write_text(json.dumps(out))


def _ddp_run(out: Path, torchrun: bool) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    args = ["trainer=ddp_cpu", "trainer.max_epochs=2", "+trainer.limit_train_batches=3", "+trainer.limit_val_batches=2",
            "trainer.enable_progress_bar=false", "data.subset=192", "data.batch_size=32", "hooks=moex", "hooks.p=1.0",
            "seed=5", f"hydra.run.dir={out}",
            f"+callbacks.fingerprint={{_target_: test_distributed.AugFingerprint, dir: {out / 'fingerprint'}}}"]
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"] if torchrun else [sys.executable]
    return subprocess.Popen([*launch, "-m", "torchaug.train", *args], cwd=out.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_ddp_cpu_two_ranks_differ_and_the_run_is_reproducible(tmp_path):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available on this platform")
    runs = {"a": _ddp_run(tmp_path / "a", torchrun=False), "b": _ddp_run(tmp_path / "b", torchrun=True)}
    for name, proc in runs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"run {name}:\n{stderr[-3000:]}"
    a, b = tmp_path / "a", tmp_path / "b"

    # two processes trained, rank 0 alone wrote the outputs
    ranks = [json.loads((a / "fingerprint" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [f["world_size"] for f in ranks] == [2, 2]
    res_a, res_b = (json.loads((d / "results.json").read_text()) for d in (a, b))
    assert res_a["epochs"] == 2 and (a / "checkpoints" / "last.ckpt").is_file()

    # (a) distinct augmentation streams per rank: transforms, mixer and hook parameters all differ
    r0, r1 = ranks
    assert r0["probe"] != r1["probe"]
    assert (r0["mix_perm"], r0["mix_lam"]) != (r1["mix_perm"], r1["mix_lam"])
    assert r0["hook_applied"] == r1["hook_applied"] == [1.0]  # MoEx p=1: active on both ranks

    # (b) the same seed gives the same run, whoever launches it: per-rank draws, weights, metrics
    for r in (0, 1):
        assert json.loads((b / "fingerprint" / f"rank{r}.json").read_text()) == ranks[r]
    wa = torch.load(a / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    wb = torch.load(b / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    for k, v in wa["state_dict"].items():
        torch.testing.assert_close(v, wb["state_dict"][k], rtol=0, atol=0, msg=k)
    for key in ("val/loss", "val/acc", "test_acc", "test_loss"):
        assert res_a[key] == res_b[key], key

    # the checkpoint carries both ranks' random states (a resumed DDP run continues each rank's stream)
    rng = wa["torchaug_rng"]
    assert rng["world_size"] == 2 and len(rng["ranks"]) == 2
    assert not torch.equal(rng["ranks"][0]["augment"], rng["ranks"][1]["augment"])
    loaders = wa["DigitsDataModule"]["generators"]
    assert loaders["world_size"] == 2 and not torch.equal(loaders["ranks"][0]["train"], loaders["ranks"][1]["train"])


def test_hydra_multirun_over_recipes_and_seeds(tmp_path):
    """``-m`` sweeps recipes x seeds with Hydra's basic launcher: one job folder each, in order."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["-m", "+recipe=erm_digits,mixup_digits", "seed=0,1", "trainer.max_epochs=1", "trainer.enable_progress_bar=false",
            "data.subset=96", "+trainer.limit_val_batches=1", "test=false", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    out = subprocess.run([sys.executable, "-m", "torchaug.train", *args], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = [tmp_path / "sweep" / str(i) for i in range(4)]
    results = [json.loads((j / "results.json").read_text()) for j in jobs]
    configs = [(j / "config.yaml").read_text() for j in jobs]
    # Hydra's order: the first override varies slowest
    assert [("mixer: null" in c, f"seed: {s}\n" in c) for c, s in zip(configs, (0, 1, 0, 1))] == [
        (True, True), (True, True), (False, True), (False, True)]
    assert len({r["val/loss"] for r in results}) == 4  # four different runs
    assert all(r["output_dir"] == str(j) for r, j in zip(results, jobs))


def test_each_rank_restores_its_own_random_state_from_a_ddp_checkpoint():
    """A DDP checkpoint holds every rank's states (checked on a real run above); on resume rank r takes entry r,
    and a run with another world size starts fresh per-rank streams instead of copying rank 0's."""
    from types import SimpleNamespace

    from torchaug.data import DigitsDataModule
    from torchaug.lightning import ClassifierModule
    from torchaug.models import SmallCNN
    from torchaug.seeding import make_generator

    states = [make_generator(0, "test", r).get_state() for r in range(2)]
    torch_states = [torch.manual_seed(r).get_state() for r in range(2)]
    ckpt = {"torchaug_rng": {"world_size": 2, "ranks": [{"augment": a, "torch": t} for a, t in zip(states, torch_states)]}}
    for world, rank, expect in ((2, 1, states[1]), (2, 0, states[0]), (3, 1, None)):
        module = ClassifierModule(SmallCNN(num_classes=10, in_channels=1, width=4), num_classes=10)
        module._trainer = SimpleNamespace(global_rank=rank, world_size=world, current_epoch=0)
        module.on_load_checkpoint(ckpt)
        module.on_fit_start()
        got = module.aug_generator.get_state()
        if expect is None:  # world size changed: the fresh stream of (seed, rank), not another rank's
            assert torch.equal(got, make_generator(0, "augment", rank).get_state())
        else:
            assert torch.equal(got, expect) and torch.equal(torch.get_rng_state(), torch_states[rank])

    loaders = {"generators": {"world_size": 2, "ranks": [{"train": s} for s in states]}}
    dm = DigitsDataModule(seed=0)
    dm.trainer = SimpleNamespace(global_rank=1, world_size=2)
    dm.load_state_dict(loaders)
    assert torch.equal(dm._generators["train"].get_state(), states[1])
