"""Streaming image folders of mixed sizes: index, storage choice, loaders, decoding, resume, training."""

from __future__ import annotations

import json
import logging
import os

import pytest
import torch

from torchaug.data import ImageFolderStreamDataModule, build_index
from torchaug.data.decode import decode, decode_batch, is_encoded_batch, read_bytes
from torchaug.data.sample_tree import write_sample_tree
from torchaug.transforms import CenterCrop, Compose, RandomHorizontalFlip, RandomResizedCrop, Resize


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_sample_tree(tmp_path_factory.mktemp("tree"), classes=3, per_class=8, test_per_class=3,
                             short_side=(30, 60), seed=1)


def dm_for(tree, **kw):
    kw = {"root": str(tree), "image_size": 24, "batch_size": 5, "val_fraction": 0.25, "num_workers": 0, **kw}
    dm = ImageFolderStreamDataModule(**kw)
    dm.setup()
    return dm


def test_index_is_cached_and_rebuilt_when_a_folder_changes(tree, tmp_path):
    cache = tmp_path / "index.json"
    a = build_index(tree, cache=cache)
    assert a["classes"] == ["class000", "class001", "class002"]
    assert len(a["splits"]["train"]) == 24 and len(a["splits"]["test"]) == 9
    assert cache.is_file()
    data = json.loads(cache.read_text())
    data["splits"]["train"] = data["splits"]["train"][:3]  # a stale-looking but still valid cache is reused
    cache.write_text(json.dumps(data))
    assert len(build_index(tree, cache=cache)["splits"]["train"]) == 3
    extra = tree / "train" / "class001" / "zz_extra.jpg"
    extra.write_bytes((tree / "train" / "class001" / "train_001_00000.jpg").read_bytes())
    st = (tree / "train" / "class001").stat()
    os.utime(tree / "train" / "class001", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    try:
        assert len(build_index(tree, cache=cache)["splits"]["train"]) == 25
    finally:
        extra.unlink()


def test_storage_auto_follows_the_memory_budget(tree, caplog):
    with caplog.at_level(logging.INFO, logger="torchaug.data.stream"):
        small = dm_for(tree, memory_budget_gb=1.0)
        big = dm_for(tree, memory_budget_gb=0.0)
    assert small.storage_used == "memory" and big.storage_used == "stream"
    assert "storage=memory" in caplog.text and "storage=stream" in caplog.text and "GB decoded" in caplog.text
    # both give the same samples
    assert torch.equal(small._splits["train"][3][0], big._splits["train"][3][0])


def test_train_batches_are_ragged_and_eval_batches_cropped(tree):
    dm = dm_for(tree, storage="stream")
    assert dm.sample_shape == (3, 24, 24) and dm.num_classes == 3
    x, y = next(iter(dm.train_dataloader()))
    assert isinstance(x, list) and len(x) == 5 and y.shape == (5,)
    assert len({tuple(t.shape) for t in x}) > 1 and all(t.dtype == torch.uint8 and t.shape[0] == 3 for t in x)
    xv, yv = next(iter(dm.val_dataloader()))
    assert xv.shape == (5, 3, 24, 24) and xv.dtype == torch.uint8
    ds = dm._splits["val"]
    ref = Compose([Resize(dm.eval_resize), CenterCrop(24)])(ds[0][0][None])
    assert dm.eval_resize == round(24 / 0.875) and torch.equal(xv[0], ref[0])
    mean, std = dm.channel_stats()
    assert len(mean) == 3 and all(0.05 < m < 0.95 for m in mean) and all(s > 0.01 for s in std)


def test_decode_on_the_device_path_reads_bytes(tree):
    dm = dm_for(tree, storage="stream", decode="device")
    x, y = next(iter(dm.train_dataloader()))
    assert is_encoded_batch(x)
    imgs = decode_batch(x, "cpu")
    worker = ImageFolderStreamDataModule(root=str(tree), image_size=24, batch_size=5, val_fraction=0.25, storage="stream")
    worker.setup()
    xw, yw = next(iter(worker.train_dataloader()))
    assert torch.equal(y, yw) and all(torch.equal(a, b) for a, b in zip(imgs, xw))
    xv, _ = next(iter(dm.val_dataloader()))  # evaluation still decodes in the workers
    assert xv.shape == (5, 3, 24, 24)


def test_augment_in_collate_with_workers_is_reproducible(tree):
    from torchaug.mixing import MixUp

    def run(seed):
        dm = dm_for(tree, storage="stream", num_workers=2, seed=seed)
        dm.collate_transforms = Compose([RandomResizedCrop(16), RandomHorizontalFlip()])
        dm.collate_mixer = MixUp(num_classes=3)
        return [b for b in dm.train_dataloader()]

    a, b, c = run(0), run(0), run(1)
    assert all(xa.shape == (len(ya), 3, 16, 16) and ya.shape[1] == 3 for xa, ya in a)
    assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(a, b))
    assert not all(torch.equal(p[0], q[0]) for p, q in zip(a, c))


def test_resume_restores_the_next_epoch_order(tree):
    dm = dm_for(tree, storage="stream")
    list(dm.train_dataloader())  # epoch 0
    state = dm.state_dict()
    nxt = [y for _, y in dm.train_dataloader()]  # epoch 1
    fresh = dm_for(tree, storage="stream")
    fresh.load_state_dict(state)
    assert all(torch.equal(p, q) for p, q in zip(nxt, [y for _, y in fresh.train_dataloader()]))


def test_bad_arguments_are_named(tree):
    with pytest.raises(ValueError, match="storage"):
        ImageFolderStreamDataModule(root=str(tree), storage="disk")
    with pytest.raises(ValueError, match="decode"):
        ImageFolderStreamDataModule(root=str(tree), decode="gpu")
    with pytest.raises(ValueError, match="resampler"):
        ImageFolderStreamDataModule(root=str(tree), resampler=object())
    with pytest.raises(FileNotFoundError, match="train"):
        ImageFolderStreamDataModule(root=str(tree / "nope")).setup()
    dm = dm_for(tree, storage="stream")
    from torchaug.mixing import MixUp

    dm.collate_mixer = MixUp(num_classes=3)
    with pytest.raises(ValueError, match="augment_in=collate"):
        dm.train_dataloader()


def test_module_decodes_and_stacks_lists(tree):
    from torchaug.lightning import ClassifierModule

    files = sorted((tree / "train" / "class000").glob("*.jpg"))[:3]
    enc = [read_bytes(f) for f in files]
    m = ClassifierModule(torch.nn.Flatten(), 3, transforms=Compose([RandomResizedCrop(8)]))
    imgs = m.images_from_list(enc, training=True)
    assert isinstance(imgs, list) and all(torch.equal(a, decode(e)) for a, e in zip(imgs, enc))
    with pytest.raises(ValueError, match="different sizes"):
        m.images_from_list(enc, training=False)
    same = [torch.zeros(3, 4, 4, dtype=torch.uint8)] * 2
    assert m.images_from_list(same, training=False).shape == (2, 3, 4, 4)


@pytest.mark.parametrize("mode", ["device", "collate"])
def test_train_end_to_end_on_mixed_sizes(tree, tmp_path, mode):
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from torchaug._paths import config_dir
    from torchaug.train import train

    overrides = ["data=imagefolder_stream", f"data.root={tree}", "data.image_size=16", "data.batch_size=6",
                 "data.val_fraction=0.25", "data.storage=stream", "transforms=imagenet_standard",
                 "transforms.transforms.0.size=16", "mixer=mixup_cutmix", "trainer.max_epochs=1",
                 "trainer.accelerator=cpu", "trainer.enable_progress_bar=false"]
    if mode == "collate":
        overrides += ["augment_in=collate", "mix_in=collate", "data.num_workers=2", "data.decode=device"]
    else:
        overrides += ["data.num_workers=0", "data.decode=device"]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with open_dict(cfg):
        cfg.output_dir = str(tmp_path)
    res = train(cfg)
    assert res["epochs"] == 1 and 0.0 <= res["test_acc"] <= 1.0
    if mode == "device":
        assert res["augmentation"]["mixer/batches"] > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_decode_batch_on_cuda_matches_cpu(tree):
    files = sorted((tree / "train" / "class000").glob("*.jpg"))[:4]
    enc = [read_bytes(f) for f in files]
    gpu = decode_batch(enc, "cuda")
    cpu = decode_batch(enc, "cpu")
    assert all(g.device.type == "cuda" and g.shape == c.shape for g, c in zip(gpu, cpu))
    assert max((g.cpu().int() - c.int()).abs().float().mean().item() for g, c in zip(gpu, cpu)) < 2.0  # nvJPEG vs libjpeg


def test_class_subset_and_files_per_class(tree):
    dm = dm_for(tree, storage="stream", class_subset=["class002", "class000"], files_per_class=4, val_fraction=0.5)
    assert dm.classes == ["class002", "class000"] and dm.num_classes == 2
    assert sum(dm.class_counts()) + len(dm._splits["val"]) == 8
    assert all("class002" in dm._splits["train"].path(i) for i in range(len(dm._splits["train"]))
               if dm._splits["train"].y[i] == 0)
