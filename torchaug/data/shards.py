"""Sharded datasets for multi-node runs: WebDataset-style tar shards, split by rank and worker.

Layout (the WebDataset convention, readable by the ``webdataset`` package too): ``OUT/{split}-000000.tar``,
... each holding consecutive samples ``<key>.jpg`` (the file's original bytes and extension) and
``<key>.cls`` (the label as ASCII digits), plus ``OUT/meta.json`` with the class names and the sample
count of every shard. Written from an image-folder tree by

``python -m torchaug.data.shards write ROOT OUT --shard-size 1000 --val-fraction 0.01``

(samples shuffled with ``--seed`` before sharding, so every shard mixes the classes; the validation
split is a stratified share of ``train``, as the other datamodules take it).

Reading (:class:`ShardDataset`, an ``IterableDataset`` read with the standard library's ``tarfile``):
every epoch the shard list is shuffled by a generator seeded from ``(seed, epoch)`` (the same on every
rank), then shard ``k`` goes to slot ``k % (world * workers)``, slot ``rank * workers + worker``. With
fewer shards than slots every slot reads all shards and keeps every ``world * workers``-th sample.
Each rank yields ``total // world`` samples per epoch, split evenly over its workers (a worker whose
shards hold fewer repeats from its first; extra samples are dropped), so every DDP rank runs the
same number of steps. Within a worker a shuffle buffer (``shuffle_buffer`` samples, seeded from
``(seed, epoch, rank, worker)``) mixes neighbouring samples. Epochs come from the trainer
(``current_epoch``), so a resumed run reads the shards of its next epoch in the same order as an
uninterrupted one.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from torchaug.data.base import ClassificationDataModule
from torchaug.seeding import derive_seed, seed_worker

log = logging.getLogger(__name__)

META = "meta.json"
IMAGE_EXTS = ("jpg", "jpeg", "png", "bmp", "webp")


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def write_shards(root: str | Path, out: str | Path, *, shard_size: int = 1000, val_fraction: float = 0.0,
                 seed: int = 0, splits: tuple[str, ...] = ("train", "test")) -> dict[str, Any]:
    """Write ``root/{train,test}/<class>/*`` as tar shards under ``out``; returns the ``meta.json`` contents."""
    from sklearn.model_selection import train_test_split

    from torchaug.data.stream import build_index
    from torchaug.io import atomic_write_json

    if not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"write_shards: shard_size must be a positive int; got {shard_size!r}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"write_shards: val_fraction must be in [0, 1); got {val_fraction!r}")
    root, out = Path(root), Path(out)
    index = build_index(root, splits=splits)
    rows = {s: index["splits"][s] for s in splits}
    if val_fraction > 0 and "train" in rows:
        labels = [lab for _, lab in rows["train"]]
        tr, va = train_test_split(np.arange(len(labels)), test_size=val_fraction, stratify=labels, random_state=seed)
        rows["val"] = [rows["train"][i] for i in sorted(va)]
        rows["train"] = [rows["train"][i] for i in sorted(tr)]
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"format": "webdataset", "classes": index["classes"], "splits": {}}
    rng = np.random.default_rng(seed)
    for split, items in rows.items():
        order = rng.permutation(len(items))
        shards, counts = [], []
        for k, start in enumerate(range(0, len(items), shard_size)):
            name = f"{split}-{k:06d}.tar"
            part = order[start : start + shard_size]
            tmp = out / f".{name}.tmp"
            with tarfile.open(tmp, "w") as tar:
                for j in part:
                    rel, label = items[j]
                    ext = Path(rel).suffix.lower().lstrip(".")
                    key = f"{split}_{int(j):09d}"
                    _add(tar, f"{key}.{ext}", (root / rel).read_bytes())
                    _add(tar, f"{key}.cls", str(int(label)).encode())
            os.replace(tmp, out / name)
            shards.append(name)
            counts.append(len(part))
        class_counts = np.bincount([lab for _, lab in items], minlength=len(index["classes"])).tolist()
        meta["splits"][split] = {"shards": shards, "counts": counts, "class_counts": class_counts}
    atomic_write_json(out / META, meta)
    log.info("write_shards: %s -> %s", {s: sum(m["counts"]) for s, m in meta["splits"].items()}, out)
    return meta


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------
def iter_tar(path: str | Path) -> Iterator[dict[str, bytes]]:
    """The samples of one shard in order: ``{"__key__": key, ext: bytes, ...}`` (members grouped by key)."""
    current: dict[str, Any] = {}
    with tarfile.open(path, "r|") as tar:
        for m in tar:
            if not m.isfile():
                continue
            base = os.path.basename(m.name)
            key, _, ext = base.partition(".")
            data = tar.extractfile(m).read()  # type: ignore[union-attr]
            if current and current["__key__"] != key:
                yield current
                current = {}
            current["__key__"] = key
            current[ext.lower()] = data
    if current:
        yield current


def _sample(rec: dict[str, Any], decode: bool, path: str) -> tuple[torch.Tensor, int]:
    ext = next((e for e in IMAGE_EXTS if e in rec), None)
    if ext is None or "cls" not in rec:
        raise ValueError(f"ShardDataset: sample {rec.get('__key__')!r} in {path} must hold an image "
                         f"({'/'.join(IMAGE_EXTS)}) and a .cls label; got {sorted(k for k in rec if k != '__key__')}")
    data = torch.frombuffer(bytearray(rec[ext]), dtype=torch.uint8)
    if decode:
        from torchaug.data.decode import decode as _decode

        data = _decode(data)
    return data, int(rec["cls"])


class ShardDataset(IterableDataset):
    """``(image, label)`` samples streamed from tar shards, split by rank and worker (module docstring).

    ``decode=True`` yields uint8 ``(3, H, W)`` images decoded in the worker; False the encoded bytes.
    ``shuffle=False`` (evaluation) keeps the shard order and skips the buffer.
    """

    def __init__(self, paths: list[str], counts: list[int], *, decode: bool = True, shuffle: bool = True,
                 shuffle_buffer: int = 256, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        if len(paths) != len(counts) or not paths:
            raise ValueError(f"ShardDataset: paths and counts must be non-empty and of equal length; got {len(paths)} "
                             f"and {len(counts)}")
        if not 0 <= rank < world_size:
            raise ValueError(f"ShardDataset: rank must be in [0, world_size={world_size}); got {rank}")
        self.paths, self.counts = [str(p) for p in paths], [int(c) for c in counts]
        self.decode, self.shuffle, self.shuffle_buffer = decode, shuffle, int(shuffle_buffer)
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def samples_per_rank(self) -> int:
        return sum(self.counts) // self.world_size

    def _records(self, order: list[int], slot: int, slots: int) -> Iterator[tuple[dict[str, Any], str]]:
        if len(order) >= slots:
            mine = order[slot::slots]
            for k in mine:
                for rec in iter_tar(self.paths[k]):
                    yield rec, self.paths[k]
        else:
            j = 0
            for k in order:
                for rec in iter_tar(self.paths[k]):
                    if j % slots == slot:
                        yield rec, self.paths[k]
                    j += 1

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        slots, slot = self.world_size * nw, self.rank * nw + wid
        order = list(range(len(self.paths)))
        if self.shuffle:
            g = torch.Generator().manual_seed(derive_seed(self.seed, "shards", self.epoch))
            order = torch.randperm(len(order), generator=g).tolist()
        per_rank = self.samples_per_rank()
        quota = per_rank // nw + (1 if wid < per_rank % nw else 0)
        if quota == 0:
            return
        buf_g = torch.Generator().manual_seed(derive_seed(self.seed, "buffer", self.epoch, self.rank, wid))
        buf: list[tuple[dict[str, Any], str]] = []
        size = self.shuffle_buffer if self.shuffle else 0
        n = 0

        def stream() -> Iterator[tuple[dict[str, Any], str]]:
            while True:  # repeat the slot's shards until the quota is met
                got = False
                for item in self._records(order, slot, slots):
                    got = True
                    yield item
                if not got:
                    return

        for item in stream():
            if size > 1:
                buf.append(item)
                if len(buf) < size:
                    continue
                item = buf.pop(int(torch.randint(len(buf), (1,), generator=buf_g)))
            yield _sample(item[0], self.decode, item[1])
            n += 1
            if n >= quota:
                return
        while buf and n < quota:
            item = buf.pop(int(torch.randint(len(buf), (1,), generator=buf_g)))
            yield _sample(item[0], self.decode, item[1])
            n += 1


class _EpochLoader(DataLoader):
    """A ``DataLoader`` that tells its ``ShardDataset`` the epoch before each pass (workers copy it then)."""

    def __init__(self, *args: Any, epoch_fn: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epoch_fn = epoch_fn

    def __iter__(self) -> Any:
        self.dataset.set_epoch(self._epoch_fn())
        return super().__iter__()


class ShardDataModule(ClassificationDataModule):
    """Train/val/test from tar shards written by :func:`write_shards` (``root`` holds ``meta.json``).

    As :class:`~torchaug.data.ImageFolderStreamDataModule`: training batches are ragged lists (decoded
    in the workers, or bytes with ``decode="device"``) for transforms that start with a crop; evaluation
    batches are resized to ``eval_resize`` and centre-cropped to ``image_size`` in the workers.
    ``rank``/``world_size`` come from the trainer. A missing ``val`` split is read from ``test``.
    """

    def __init__(self, *, root: str | None = None, image_size: int = 224, eval_resize: int | None = None,
                 decode: str = "worker", shuffle_buffer: int = 256, mean: list[float] | None = None,
                 std: list[float] | None = None, stats_samples: int = 64, **kwargs: Any) -> None:
        owner = type(self).__name__
        for name in ("resampler", "selector", "subset", "class_subset", "class_fractions"):
            if kwargs.get(name) is not None:
                raise ValueError(f"{owner}: {name} is not available for shards (they are read as streams); "
                                 f"got {kwargs[name]!r}")
            kwargs.pop(name, None)
        super().__init__(**kwargs)
        if root is None:
            raise ValueError(f"{owner}: root must be the folder holding {META} and the shards; got None")
        if decode not in ("worker", "device"):
            raise ValueError(f"{owner}: decode must be 'worker' or 'device'; got {decode!r}")
        if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 1:
            raise ValueError(f"{owner}: image_size must be a positive int; got {image_size!r}")
        self.root = Path(os.path.expanduser(str(root)))
        self.image_size = image_size
        self.eval_resize = int(round(image_size / 0.875)) if eval_resize is None else int(eval_resize)
        self.decode, self.shuffle_buffer = decode, int(shuffle_buffer)
        self.mean, self.std, self.stats_samples = mean, std, int(stats_samples)
        self.meta: dict[str, Any] = {}
        self._epochs = 0

    def setup(self, stage: str | None = None) -> None:
        if self.meta:
            return
        path = self.root / META
        if not path.is_file():
            raise FileNotFoundError(f"{type(self).__name__}: {path} does not exist (write shards with "
                                    "python -m torchaug.data.shards write ROOT OUT)")
        self.meta = json.loads(path.read_text())
        self.classes = list(self.meta["classes"])
        log.info("%s: %s samples in %s", type(self).__name__,
                 {s: sum(m["counts"]) for s, m in self.meta["splits"].items()}, self.root)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (3, self.image_size, self.image_size)

    def class_counts(self, split: str = "train") -> list[int]:
        return list(self._split(split)["class_counts"])

    def _split(self, split: str) -> dict[str, Any]:
        if not self.meta:
            self.setup()
        splits = self.meta["splits"]
        if split == "val" and "val" not in splits:
            split = "test"
        return splits[split]

    def channel_stats(self) -> tuple[list[float], list[float]]:
        if self.mean is not None and self.std is not None:
            return list(self.mean), list(self.std)
        info = self._split("train")
        s, s2, count = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), 0
        for i, rec in enumerate(iter_tar(self.root / info["shards"][0])):
            if i >= self.stats_samples:
                break
            img = _sample(rec, True, "")[0].to(torch.float64).div_(255).flatten(1)
            s, s2, count = s + img.sum(1), s2 + (img * img).sum(1), count + img.shape[1]
        mean = s / count
        return mean.tolist(), (s2 / count - mean * mean).clamp_min(1e-12).sqrt().clamp_min(1e-6).tolist()

    def _epoch(self) -> int:
        if self.trainer is not None:
            return int(self.trainer.current_epoch)
        self._epochs += 1
        return self._epochs - 1

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        from torchaug.mixing import AugmentCollate
        from torchaug.transforms import CenterCrop, Compose, Resize

        info = self._split(split)
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer is not None else (0, 1)
        train = split == "train"
        ds = ShardDataset([str(self.root / s) for s in info["shards"]], info["counts"],
                          decode=not (train and self.decode == "device"), shuffle=train,
                          shuffle_buffer=self.shuffle_buffer, seed=self.seed, rank=rank, world_size=world)
        if train:
            if self.collate_mixer is not None and self.collate_transforms is None:
                raise ValueError(f"{type(self).__name__}: mix_in=collate needs augment_in=collate here (the mixer "
                                 "needs the images cropped to one size first)")
            collate = AugmentCollate(self.collate_transforms, self.collate_mixer)
        else:
            collate = AugmentCollate(Compose([Resize(self.eval_resize), CenterCrop(self.image_size)]))
        gen = self._generators.get(split)
        if gen is None:
            from torchaug.seeding import loader_generator

            gen = self._generators[split] = loader_generator(self.seed, rank, split)
        return _EpochLoader(ds, batch_size=self.batch_size, num_workers=self.num_workers, collate_fn=collate,
                            generator=gen, worker_init_fn=seed_worker, pin_memory=self.pin_memory,
                            epoch_fn=self._epoch if train else (lambda: 0))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m torchaug.data.shards", description="WebDataset-style tar shards")
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write shards from an image-folder tree ROOT/{train,test}/<class>/*")
    w.add_argument("root")
    w.add_argument("out")
    w.add_argument("--shard-size", type=int, default=1000)
    w.add_argument("--val-fraction", type=float, default=0.0)
    w.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    meta = write_shards(a.root, a.out, shard_size=a.shard_size, val_fraction=a.val_fraction, seed=a.seed)
    print(json.dumps({s: {"shards": len(m["shards"]), "samples": sum(m["counts"])} for s, m in meta["splits"].items()}))


if __name__ == "__main__":
    main()
