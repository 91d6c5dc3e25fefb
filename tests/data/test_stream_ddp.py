"""Streaming folders and shards under a real 2-process DDP run on the CPU (gloo), through the CLI.

Checks where each rank's training samples come from: for the image-folder stream, Lightning's
``DistributedSampler`` (disjoint halves of the training split); for shards, the ``ShardDataset`` of
each rank gets its rank and the world size from the trainer, and both ranks run the same number of steps.
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


class WhereFrom(L.Callback):
    """Test-only: write rank ``r``'s sampler indices (map-style) or shard split (iterable) to ``dir/rank{r}.json``."""

    def __init__(self, dir: str) -> None:
        self.dir = Path(dir)
        self.steps = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps += 1

    def on_train_end(self, trainer, pl_module) -> None:
        dl = trainer.train_dataloader
        ds = dl.dataset
        out = {"rank": trainer.global_rank, "world_size": trainer.world_size, "steps": self.steps,
               "dataset": type(ds).__name__, "sampler": type(dl.sampler).__name__}
        if hasattr(ds, "world_size"):
            out.update(ds_rank=ds.rank, ds_world=ds.world_size)
        else:
            out["indices"] = [int(i) for i in dl.sampler]
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / f"rank{trainer.global_rank}.json").write_text(json.dumps(out))


def _run(out: Path, data: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(HERE.parent.parent), str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    args = ["trainer=ddp_cpu", "trainer.max_epochs=1", "trainer.enable_progress_bar=false", "test=false",
            "data.image_size=16", "data.batch_size=4", "data.num_workers=0", "transforms=imagenet_standard",
            "transforms.transforms.0.size=16", "mixer=none", "model.width=8", f"hydra.run.dir={out}",
            f"+callbacks.where={{_target_: test_stream_ddp.WhereFrom, dir: {out / 'where'}}}", *data]
    return subprocess.Popen([sys.executable, "-m", "torchaug.train", *args], cwd=out.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_ddp_splits_streamed_folders_and_shards_by_rank(tmp_path):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available on this platform")
    from torchaug.data import write_shards
    from torchaug.data.sample_tree import write_sample_tree

    tree = write_sample_tree(tmp_path / "tree", classes=3, per_class=8, test_per_class=2, short_side=(24, 40))
    write_shards(tree, tmp_path / "shards", shard_size=3, val_fraction=0.25)
    runs = {
        "stream": _run(tmp_path / "stream", ["data=imagefolder_stream", f"data.root={tree}", "data.val_fraction=0.25",
                                             "data.storage=stream"]),
        "shards": _run(tmp_path / "shards_run", ["data=shards", f"data.root={tmp_path / 'shards'}"]),
    }
    for name, proc in runs.items():
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"run {name}:\n{stderr[-3000:]}"
    s0, s1 = (json.loads((tmp_path / "stream" / "where" / f"rank{r}.json").read_text()) for r in (0, 1))
    assert s0["sampler"] == s1["sampler"] == "DistributedSampler" and s0["world_size"] == 2
    assert not set(s0["indices"]) & set(s1["indices"]) and len(s0["indices"]) == len(s1["indices"]) == 9
    h0, h1 = (json.loads((tmp_path / "shards_run" / "where" / f"rank{r}.json").read_text()) for r in (0, 1))
    assert (h0["ds_rank"], h1["ds_rank"], h0["ds_world"]) == (0, 1, 2) and h0["dataset"] == "ShardDataset"
    assert h0["steps"] == h1["steps"] > 0  # equal per-rank quotas: no rank waits for the other
