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
        params = pl_module.mixer.__dict__["_last_params"]
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
