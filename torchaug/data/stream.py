"""Image folders of any size, streamed from disk or held in memory: ``ImageFolderStreamDataModule``.

``root/{train,test}/<class>/*.jpg|png`` (ImageNet's layout) is listed once into a cached index
(a JSON file, rebuilt when a class folder changes). Training samples are decoded in the loader
workers at their own size and aspect (or only read, as bytes, for decoding on the device); the
training transforms take the resulting ragged batch (``RandomResizedCrop`` first, see
:mod:`torchaug.transforms.ragged`), either in the workers (``AugmentCollate``, ``augment_in=collate``)
or on the device (``ClassifierModule``, ``augment_in=device``). Evaluation batches are decoded,
resized (shorter side ``eval_resize``) and centre-cropped to ``image_size`` in the workers.

``storage``: ``"stream"`` reads every file every epoch; ``"memory"`` decodes each split once into
a list of uint8 tensors (any sizes) for small data; ``"auto"`` (default) estimates the decoded
size from a sample of file headers and picks memory when it fits ``memory_budget_gb`` (the choice
and the estimate are logged).

Distributed runs and resuming follow the other datamodules (see :mod:`torchaug.seeding`): under
DDP Lightning replaces the shuffling sampler by a ``DistributedSampler`` (each rank its share,
reshuffled every epoch); every split's loader has its own generator from ``(seed, rank, split)``
that seeds the workers afresh each epoch, and its state is checkpointed. A run resumed from an
end-of-epoch checkpoint (``last.ckpt``) therefore sees the same order and the same worker
augmentation streams as an uninterrupted run from the next epoch on; a checkpoint written
mid-epoch (interrupt) restarts that epoch from its first batch, as Lightning does for map-style
datasets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from torchaug.data.base import ClassificationDataModule
from torchaug.data.datasets import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

INDEX_VERSION = 1
INDEX_NAME = ".torchaug-index.json"


# ---------------------------------------------------------------------------------------------
# index: the file list, built once
# ---------------------------------------------------------------------------------------------
def _class_dirs(split_dir: Path) -> list[Path]:
    return sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _stamp(root: Path, splits: tuple[str, ...]) -> dict[str, int]:
    """mtime (ns) of every split and class folder: adding or removing a file changes its folder's."""
    out = {}
    for split in splits:
        d = root / split
        out[split] = d.stat().st_mtime_ns
        for c in _class_dirs(d):
            out[f"{split}/{c.name}"] = c.stat().st_mtime_ns
    return out


def _default_index_path(root: Path) -> Path:
    if os.access(root, os.W_OK):
        return root / INDEX_NAME
    key = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(os.path.expanduser("~/.cache/torchaug/index")) / f"{key}.json"


def build_index(root: str | Path, splits: tuple[str, ...] = ("train", "test"), cache: str | Path | None = None,
                rebuild: bool = False) -> dict[str, Any]:
    """``{"classes": [...], "splits": {split: [[relative path, label], ...]}}`` of ``root``, cached.

    Class names come from ``root/train``'s folders (sorted); files are sorted within a class. The
    index is written atomically to ``cache`` (default ``root/.torchaug-index.json``, or under
    ``~/.cache/torchaug/index`` when ``root`` is read-only) and reused while no class folder has
    changed (``rebuild=True`` forces a new listing).
    """
    from torchaug.io import atomic_write_json

    root = Path(os.path.expanduser(str(root)))
    for split in splits:
        if not (root / split).is_dir():
            raise FileNotFoundError(f"ImageFolderStreamDataModule: root must contain {split}/<class>/*.jpg; "
                                    f"{root / split} does not exist")
    path = Path(cache) if cache is not None else _default_index_path(root)
    stamp = _stamp(root, splits)
    if path.is_file() and not rebuild:
        try:
            index = json.loads(path.read_text())
            if index.get("version") == INDEX_VERSION and index.get("stamp") == stamp:
                return index
        except (OSError, ValueError):
            pass
    classes = [c.name for c in _class_dirs(root / splits[0])]
    if not classes:
        raise FileNotFoundError(f"ImageFolderStreamDataModule: no class folders in {root / splits[0]}")
    out: dict[str, list] = {}
    for split in splits:
        rows = []
        for label, name in enumerate(classes):
            d = root / split / name
            if not d.is_dir():
                continue
            files = sorted(e.name for e in os.scandir(d) if e.is_file() and Path(e.name).suffix.lower() in IMAGE_SUFFIXES)
            rows += [[f"{split}/{name}/{f}", label] for f in files]
        out[split] = rows
    index = {"version": INDEX_VERSION, "root": str(root), "classes": classes, "splits": out, "stamp": stamp}
    try:
        atomic_write_json(path, index)
        log.info("ImageFolderStreamDataModule: indexed %s files under %s into %s",
                 {k: len(v) for k, v in out.items()}, root, path)
    except OSError as err:  # a read-only cache location: list again next time
        log.warning("ImageFolderStreamDataModule: could not write the index %s (%s)", path, err)
    return index


# ---------------------------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------------------------
class ImageFileDataset(Dataset):
    """``(image, label)`` samples of a file table.

    ``mode``: ``"decode"`` (uint8 ``(3, H, W)`` at the file's size, decoded in the calling worker),
    ``"bytes"`` (the file's bytes, a 1-D uint8 tensor, for decoding on the device) or ``"memory"``
    (decoded once, here, into a list of tensors). ``x`` holds the file numbers (indices into
    ``files``), ``y`` the labels, as the in-memory datasets.
    """

    def __init__(self, files: list[str], x: torch.Tensor, y: torch.Tensor, mode: str = "decode") -> None:
        if mode not in ("decode", "bytes", "memory"):
            raise ValueError(f"ImageFileDataset: mode must be 'decode', 'bytes' or 'memory'; got {mode!r}")
        if len(x) != len(y):
            raise ValueError(f"ImageFileDataset: x and y must have equal length; got {len(x)} and {len(y)}")
        self.files, self.x, self.y, self.mode = files, x, y, mode
        self._rows = x.tolist()
        self._labels = y.tolist()
        self._images: list[torch.Tensor] | None = None
        if mode == "memory":
            from tqdm.auto import tqdm

            from torchaug.data.decode import decode, read_bytes

            self._images = [decode(read_bytes(files[r])) for r in tqdm(self._rows, desc="decode", unit="img",
                                                                         leave=False, mininterval=1.0)]

    def __len__(self) -> int:
        return len(self._rows)

    def path(self, i: int) -> str:
        return self.files[self._rows[i]]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from torchaug.data.decode import decode, read_bytes

        if self._images is not None:
            return self._images[i], self._labels[i]
        data = read_bytes(self.files[self._rows[i]])
        return (data if self.mode == "bytes" else decode(data)), self._labels[i]


def estimate_decoded_bytes(files: list[str], n: int, sample: int = 256, seed: int = 0) -> float:
    """Bytes of ``n`` decoded RGB uint8 images, from the header sizes of up to ``sample`` of ``files``."""
    from torchaug.data.decode import image_size

    if not files or n == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(files), size=min(sample, len(files)), replace=False)
    areas = [np.prod(image_size(files[i])) for i in pick]
    return float(np.mean(areas)) * 3.0 * n


class ImageFolderStreamDataModule(ClassificationDataModule):
    """``root/{train,test}/<class>/*`` trees of any size (ImageNet's layout), streamed or in memory.

    Args (beside :class:`~torchaug.data.ClassificationDataModule`'s ``batch_size``, ``num_workers``,
    ``val_fraction``, ``subset``, ``class_subset``, ``class_fractions``, ``seed``):
        root: the tree.
        image_size: the training crop and evaluation size (what the model sees), e.g. 224.
        eval_resize: shorter side before the evaluation centre crop (default ``image_size / 0.875``:
            256 for 224, the torchvision reference's evaluation).
        storage: ``"auto"``, ``"stream"`` or ``"memory"`` (see the module docstring).
        memory_budget_gb: the decoded size up to which ``"auto"`` holds the images in memory.
        decode: ``"worker"`` (decode in the loader workers) or ``"device"`` (training workers read
            bytes only; ``ClassifierModule`` decodes the batch on its device, batched on CUDA).
            Evaluation batches are always decoded in the workers.
        index_cache: where the file index is kept (default ``root/.torchaug-index.json``).
        files_per_class, test_files_per_class: read only the first N files of each class (sorted).
        mean, std: per-channel statistics in [0, 1]; default: estimated from ``stats_samples``
            training images.
        persistent_workers: keep loader workers between epochs (fewer forks; the worker seeds then
            stay those of the first epoch).
    """

    def __init__(self, *, root: str | None = None, image_size: int = 224, eval_resize: int | None = None,
                 storage: str = "auto", memory_budget_gb: float = 2.0, decode: str = "worker",
                 index_cache: str | None = None, files_per_class: int | None = None,
                 test_files_per_class: int | None = None, mean: list[float] | None = None,
                 std: list[float] | None = None, stats_samples: int = 64, persistent_workers: bool = False,
                 **kwargs: Any) -> None:
        owner = type(self).__name__
        for name in ("resampler", "selector"):
            if kwargs.get(name) is not None:
                raise ValueError(f"{owner}: {name} needs the images in memory as one tensor; got {kwargs[name]!r} "
                                 "(use data=imagefolder with image_size for resampling)")
        super().__init__(**kwargs)
        if root is None:
            raise ValueError(f"{owner}: root must be the folder holding train/ and test/; got None (pass data.root=...)")
        if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 1:
            raise ValueError(f"{owner}: image_size must be a positive int; got {image_size!r}")
        if storage not in ("auto", "stream", "memory"):
            raise ValueError(f"{owner}: storage must be 'auto', 'stream' or 'memory'; got {storage!r}")
        if decode not in ("worker", "device"):
            raise ValueError(f"{owner}: decode must be 'worker' or 'device'; got {decode!r}")
        if not float(memory_budget_gb) >= 0:
            raise ValueError(f"{owner}: memory_budget_gb must be >= 0; got {memory_budget_gb!r}")
        self.root = Path(os.path.expanduser(str(root)))
        self.image_size = image_size
        self.eval_resize = int(round(image_size / 0.875)) if eval_resize is None else int(eval_resize)
        self.storage, self.memory_budget_gb, self.decode = storage, float(memory_budget_gb), decode
        self.index_cache, self.files_per_class, self.test_files_per_class = index_cache, files_per_class, test_files_per_class
        self.mean, self.std, self.stats_samples = mean, std, int(stats_samples)
        self.persistent_workers = bool(persistent_workers)
        self.files: list[str] = []
        self.storage_used: str | None = None

    # -- loading -----------------------------------------------------------------------
    def load(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        index = build_index(self.root, cache=self.index_cache)
        self.classes = list(index["classes"])
        out, files = {}, []
        for split, limit in (("train", self.files_per_class), ("test", self.test_files_per_class)):
            rows = index["splits"][split]
            if limit is not None:
                seen: dict[int, int] = {}
                kept = []
                for rel, label in rows:
                    if seen.get(label, 0) < limit:
                        kept.append((rel, label))
                        seen[label] = seen.get(label, 0) + 1
                rows = kept
            start = len(files)
            files += [str(self.root / rel) for rel, _ in rows]
            out[split] = (torch.arange(start, len(files), dtype=torch.int64),
                          torch.tensor([label for _, label in rows], dtype=torch.int64))
            if len(rows) == 0:
                raise FileNotFoundError(f"{type(self).__name__}: no image files in {self.root / split}")
        self.files = files
        return out

    def setup(self, stage: str | None = None) -> None:
        if self._splits:
            return
        super().setup(stage)
        n = sum(len(d) for d in self._splits.values())
        storage = self.storage
        if storage == "auto":
            need = estimate_decoded_bytes(self.files, n, seed=self.seed)
            storage = "memory" if need <= self.memory_budget_gb * 1e9 else "stream"
            log.info("%s: %d images, about %.2f GB decoded (estimated from file headers); budget %.2f GB -> storage=%s",
                     type(self).__name__, n, need / 1e9, self.memory_budget_gb, storage)
        self.storage_used = storage
        for split, ds in list(self._splits.items()):
            mode = "memory" if storage == "memory" else ("bytes" if split == "train" and self.decode == "device" else "decode")
            if storage == "memory" and split == "train" and self.decode == "device":
                log.info("%s: storage=memory holds decoded images; decode=device applies to streamed data only",
                         type(self).__name__)
            self._splits[split] = ImageFileDataset(self.files, ds.x, ds.y, mode=mode)

    # -- what the builder reads -----------------------------------------------------------
    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (3, self.image_size, self.image_size)

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """``mean``/``std`` if given, else per-channel statistics of ``stats_samples`` training images in [0, 1]."""
        if self.mean is not None and self.std is not None:
            return list(self.mean), list(self.std)
        from torchaug.data.decode import decode, read_bytes

        ds = self._splits["train"]
        pick = np.linspace(0, len(ds) - 1, num=min(self.stats_samples, len(ds))).round().astype(int)
        s = torch.zeros(3, dtype=torch.float64)
        s2 = torch.zeros(3, dtype=torch.float64)
        count = 0
        for i in np.unique(pick):
            img = decode(read_bytes(ds.path(int(i)))).to(torch.float64).div_(255).flatten(1)
            s += img.sum(1)
            s2 += (img * img).sum(1)
            count += img.shape[1]
        mean = s / count
        std = (s2 / count - mean * mean).clamp_min(1e-12).sqrt()
        return mean.tolist(), std.clamp_min(1e-6).tolist()

    # -- loaders ---------------------------------------------------------------------------
    def eval_transforms(self) -> Any:
        """Resize (shorter side ``eval_resize``), then centre crop ``image_size``: the evaluation pipeline."""
        from torchaug.transforms import CenterCrop, Compose, Resize

        return Compose([Resize(self.eval_resize), CenterCrop(self.image_size)])

    def _collate(self, split: str) -> Any:
        from torchaug.mixing import AugmentCollate

        if split != "train":
            return AugmentCollate(self.eval_transforms())
        if self.collate_mixer is not None and self.collate_transforms is None:
            raise ValueError(f"{type(self).__name__}: mix_in=collate needs augment_in=collate here (the mixer needs "
                             "the images cropped to one size first)")
        return AugmentCollate(self.collate_transforms, self.collate_mixer)

    def _loader_kwargs(self, split: str) -> dict[str, Any]:
        return {"persistent_workers": self.persistent_workers and self.num_workers > 0}
