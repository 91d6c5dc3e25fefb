"""Tar shards: writing from a tree, reading split by rank and worker, epochs, webdataset compatibility, training."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import DataLoader

from torchaug.data import ShardDataModule, ShardDataset, build_index, write_shards
from torchaug.data.decode import decode, read_bytes
from torchaug.data.sample_tree import write_sample_tree


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    base = tmp_path_factory.mktemp("sh")
    tree = write_sample_tree(base / "tree", classes=3, per_class=10, test_per_class=3, short_side=(24, 40), seed=2)
    out = base / "shards"
    meta = write_shards(tree, out, shard_size=4, val_fraction=0.2, seed=0)
    return tree, out, meta


def _keys(ds, workers=0):
    dl = DataLoader(ds, batch_size=None, num_workers=workers, collate_fn=lambda s: s)
    return [(bytes(x.numpy()).__hash__(), y) for x, y in dl]


def test_written_shards_hold_every_file_once(shards):
    tree, out, meta = shards
    assert set(meta["splits"]) == {"train", "val", "test"}
    assert sum(meta["splits"]["train"]["counts"]) == 24 and sum(meta["splits"]["val"]["counts"]) == 6
    assert meta["splits"]["train"]["counts"][:5] == [4] * 5 and json.loads((out / "meta.json").read_text()) == meta
    index = build_index(tree)
    files = {(tree / rel).read_bytes(): lab for rel, lab in index["splits"]["train"]}
    split = meta["splits"]
    ds = ShardDataset([str(out / s) for s in split["train"]["shards"] + split["val"]["shards"]],
                      split["train"]["counts"] + split["val"]["counts"], decode=False, shuffle=False)
    got = {bytes(x.numpy()): y for x, y in ds}
    assert got == files


def test_ranks_and_workers_split_the_shards(shards):
    _, out, meta = shards
    info = meta["splits"]["train"]
    paths = [str(out / s) for s in info["shards"]]
    parts = []
    for rank in range(2):
        ds = ShardDataset(paths, info["counts"], decode=False, seed=3, rank=rank, world_size=2, shuffle_buffer=4)
        parts.append(_keys(ds, workers=2))
    assert len(parts[0]) == len(parts[1]) == 12  # 24 samples // 2 ranks, on every rank
    # 6 shards over 4 slots: the ranks read disjoint shards (rank 1 holds fewer samples and repeats to its quota)
    assert not set(parts[0]) & set(parts[1])
    # the same seed and epoch give the same stream; the next epoch another order
    ds = ShardDataset(paths, info["counts"], decode=False, seed=3, rank=0, world_size=2, shuffle_buffer=4)
    assert _keys(ds, workers=2) == parts[0]
    ds.set_epoch(1)
    assert _keys(ds, workers=2) != parts[0]


def test_fewer_shards_than_slots_split_by_sample(shards):
    _, out, meta = shards
    info = meta["splits"]["test"]  # 9 samples in 3 shards; 2 ranks x 2 workers = 4 slots
    paths = [str(out / s) for s in info["shards"]]
    got = [_keys(ShardDataset(paths, info["counts"], decode=False, shuffle=False, rank=r, world_size=2), workers=2)
           for r in range(2)]
    assert len(got[0]) == len(got[1]) == 4 and not set(got[0]) & set(got[1])


@pytest.mark.peer
def test_webdataset_reads_our_shards(shards):
    wds = pytest.importorskip("webdataset")
    _, out, meta = shards
    info = meta["splits"]["train"]
    ours = list(ShardDataset([str(out / info["shards"][0])], [info["counts"][0]], decode=False, shuffle=False))
    theirs = list(wds.WebDataset(str(out / info["shards"][0]), shardshuffle=False).to_tuple("jpg", "cls"))
    assert [(bytes(x.numpy()), y) for x, y in ours] == [(a, int(b)) for a, b in theirs]


def test_datamodule_batches_and_cli(shards, tmp_path, capsys):
    tree, out, _ = shards
    dm = ShardDataModule(root=str(out), image_size=16, batch_size=4, num_workers=0)
    dm.setup()
    assert dm.num_classes == 3 and sum(dm.class_counts()) == 24 and dm.sample_shape == (3, 16, 16)
    x, y = next(iter(dm.train_dataloader()))
    assert isinstance(x, list) and len(x) == 4 and x[0].ndim == 3
    xv, _ = next(iter(dm.val_dataloader()))
    assert xv.shape == (4, 3, 16, 16)
    with pytest.raises(ValueError, match="subset"):
        ShardDataModule(root=str(out), subset=10)
    with pytest.raises(FileNotFoundError, match="torchaug.data.shards write"):
        ShardDataModule(root=str(tmp_path)).setup()
    from torchaug.data.shards import main

    main(["write", str(tree), str(tmp_path / "cli"), "--shard-size", "50"])  # python -m torchaug.data.shards write ...
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["train"] == {"shards": 1, "samples": 30}


def test_train_from_shards(shards, tmp_path):
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from torchaug._paths import config_dir
    from torchaug.train import train

    _, out, _ = shards
    overrides = ["data=shards", f"data.root={out}", "data.image_size=16", "data.batch_size=6", "data.num_workers=2",
                 "transforms=imagenet_standard", "transforms.transforms.0.size=16", "augment_in=collate",
                 "mixer=cutmix", "trainer.max_epochs=1", "trainer.accelerator=cpu", "trainer.enable_progress_bar=false"]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with open_dict(cfg):
        cfg.output_dir = str(tmp_path)
    res = train(cfg)
    assert res["epochs"] == 1 and 0.0 <= res["test_acc"] <= 1.0
