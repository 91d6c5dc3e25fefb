"""Ctrl-C leaves usable checkpoints: SIGINT to a CLI training after its first epoch, then resume.

Lightning turns the KeyboardInterrupt into a graceful stop (callbacks' ``on_exception``, exit
status 1). ``last.ckpt`` (written at every epoch end) and ``interrupted.ckpt`` (written by
``SaveOnInterrupt`` where it stopped) must both load and resume with ``ckpt_path=``; no
``results.json`` is written for an unfinished run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import torch
from test_train import FAST, make_cfg

from torchaug.train import train

BATCHES = 4  # data.subset=128 at batch size 32


def test_sigint_leaves_checkpoints_that_resume(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "torchaug.train", "trainer.max_epochs=500", "trainer.enable_progress_bar=false",
         "data.subset=128", "data.batch_size=32", "test=false", "scheduler=none", f"hydra.run.dir={out}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as from a terminal, even if pytest ignores it
    last = out / "checkpoints" / "last.ckpt"
    try:
        deadline = time.monotonic() + 240
        while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert last.exists(), "no checkpoint after the first epoch"
        time.sleep(0.3)  # into the next epoch
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr[-2000:]
    assert "Detected KeyboardInterrupt" in stderr and f"ckpt_path={last}" in stderr  # the resume hint
    assert not (out / "results.json").exists()  # no results for a run that did not finish
    interrupted = out / "checkpoints" / "interrupted.ckpt"
    ck_last = torch.load(last, map_location="cpu", weights_only=False)
    ck_int = torch.load(interrupted, map_location="cpu", weights_only=False)
    done = ck_last["epoch"] + 1  # full epochs in last.ckpt
    assert done >= 1 and ck_last["global_step"] == done * BATCHES
    assert ck_int["global_step"] >= ck_last["global_step"] and "torchaug_rng" in ck_int

    # resume both: from the epoch end, and from where it stopped (mid-epoch); two more epochs each
    common = [*FAST, "data.subset=128", "data.batch_size=32", "test=false", "scheduler=none"]
    for name, ckpt, start in (("from_last", last, done), ("from_interrupt", interrupted, ck_int["epoch"])):
        res = train(make_cfg(tmp_path / name, *common, f"trainer.max_epochs={start + 2}", f"ckpt_path={ckpt}"))
        assert res["epochs"] == start + 2, name
        final = torch.load(res["checkpoint"], map_location="cpu", weights_only=False)
        assert final["global_step"] == (start + 2) * BATCHES, name  # no batch lost or repeated
        assert torch.isfinite(torch.tensor(res["val/loss"]))
        rows = (tmp_path / name / "metrics.csv").read_text().strip().splitlines()[1:]
        assert [int(r.split(",")[0]) for r in rows] == list(range(start + 2)), name  # history carried over
