"""Concrete datamodules: digits (offline default), image folders, CIFAR-10, tabular data."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from torchaug.data.base import ClassificationDataModule
from torchaug.errors import DataNotFoundError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class DigitsDataModule(ClassificationDataModule):
    """scikit-learn's 8x8 digits (1,797 images, 10 classes, shipped offline) as uint8 ``(1, 8, 8)``.

    The 0..16 grey levels are scaled to 0..255. Split: stratified ``test_fraction`` test set, then
    ``val_fraction`` of the rest for validation.
    """

    def __init__(self, *, test_fraction: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.test_fraction = test_fraction

    def load(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.from_numpy(np.round(d.images * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
        y = torch.from_numpy(d.target.astype(np.int64))
        tr, te = train_test_split(np.arange(len(y)), test_size=self.test_fraction, stratify=d.target,
                                  random_state=self.seed)
        tr, te = np.sort(tr), np.sort(te)
        self.classes = [str(c) for c in d.target_names]
        return {"train": (x[tr], y[tr]), "test": (x[te], y[te])}


def _decode_folder(split_dir: Path, classes: list[str], size: int | None, desc: str,
                   files_per_class: int | None = None, labels: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode ``split_dir/<class>/*`` for the classes at ``labels`` (indices into ``classes``; all if None)."""
    from PIL import Image
    from torchvision.transforms.v2.functional import resize
    from tqdm.auto import tqdm

    files: list[tuple[Path, int]] = []
    for label in range(len(classes)) if labels is None else labels:
        cls = classes[label]
        found = sorted(p for p in (split_dir / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files += [(p, label) for p in found[:files_per_class]]
    images, labels = [], []
    for path, label in tqdm(files, desc=desc, unit="img", leave=False, mininterval=1.0):
        with Image.open(path) as im:
            img = torch.from_numpy(np.asarray(im.convert("RGB"))).permute(2, 0, 1).contiguous()
        if size is not None and tuple(img.shape[-2:]) != (size, size):
            img = resize(img, [size, size], antialias=True)
        images.append(img)
        labels.append(label)
    shapes = {tuple(i.shape) for i in images}
    if len(shapes) != 1:
        raise ValueError(f"ImageFolderDataModule: images in {split_dir} differ in size {sorted(shapes)[:3]}; set image_size")
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)


class ImageFolderDataModule(ClassificationDataModule):
    """Any ``root/{train,test}/<class>/*.jpg|png`` tree, decoded once into uint8 ``(3, H, W)`` tensors.

    E.g. the CIFAR-10 JPEG tree: ``data=imagefolder data.root=/scratch/cifar10``. ``image_size``
    resizes every image to a square; ``files_per_class`` reads only the first N files of each
    class folder (sorted), which makes subset runs start fast. With ``class_subset`` (e.g. ``[cat, dog]``)
    only those class folders are decoded.
    """

    def __init__(self, *, root: str | None = None, image_size: int | None = None,
                 files_per_class: int | None = None, test_files_per_class: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if root is None:
            raise ValueError("ImageFolderDataModule: root must be the folder holding train/ and test/; got None "
                             "(pass data.root=/path/to/tree)")
        self.root = Path(os.path.expanduser(str(root)))
        self.image_size, self.files_per_class = image_size, files_per_class
        self.test_files_per_class = test_files_per_class

    def load(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        fix = "pass data.root=<folder holding train/<class>/*.jpg and test/<class>/*.jpg>"
        for split in ("train", "test"):
            if not (self.root / split).is_dir():
                raise DataNotFoundError("data.root", f"ImageFolderDataModule: root must contain {split}/<class>/*.jpg; "
                                        f"{self.root / split} does not exist.", fix)
        self.classes = sorted(p.name for p in (self.root / "train").iterdir() if p.is_dir())
        if not self.classes:
            raise DataNotFoundError("data.root", f"ImageFolderDataModule: no class folders in {self.root / 'train'}.", fix)
        labels = self.resolve_classes(self.classes) if self.class_subset is not None else None
        train = _decode_folder(self.root / "train", self.classes, self.image_size, "decode train", self.files_per_class,
                               labels)
        test = _decode_folder(self.root / "test", self.classes, self.image_size, "decode test", self.test_files_per_class,
                              labels)
        return {"train": train, "test": test}


from torchaug.data.cifar10 import CIFAR10DataModule  # noqa: E402 - kept importable from here


class TabularDataModule(ClassificationDataModule):
    """Tabular features as float32 ``(D,)`` rows, standardised with the training split's statistics.

    Source, one of: ``dataset`` (an offline scikit-learn set: ``breast_cancer``, ``wine``,
    ``iris``, ``digits_flat``), ``csv`` (a path; ``target`` names the label column), or arrays
    ``x``/``y`` passed from Python.

    ``bin_columns`` (column indices) turns those columns into categorical ones: each is replaced by
    its quantile bin ``0 .. n_bins - 1`` (edges from the training split) and is not standardised,
    so a categorical sampler (``SMOTENC(categorical_features=bin_columns)``) sees integer categories.
    """

    kind = "tabular"
    SKLEARN = {"breast_cancer": "load_breast_cancer", "wine": "load_wine", "iris": "load_iris", "digits_flat": "load_digits"}

    def __init__(self, *, dataset: str | None = "breast_cancer", csv: str | None = None, target: str = "target",
                 x: Any = None, y: Any = None, test_fraction: float = 0.25, bin_columns: Any = None,
                 n_bins: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset, self.csv, self.target = dataset, csv, target
        self.x, self.y, self.test_fraction = x, y, test_fraction
        self.bin_columns = None if bin_columns is None else [int(c) for c in bin_columns]
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
            raise ValueError(f"TabularDataModule: n_bins must be an integer >= 2; got {n_bins!r}")
        self.n_bins = n_bins

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        if self.x is not None:
            x, y = np.asarray(self.x, dtype=np.float32), np.asarray(self.y)
        elif self.csv is not None:
            import csv as _csv

            with open(self.csv, newline="") as f:
                rows = list(_csv.DictReader(f))
            if not rows or self.target not in rows[0]:
                raise ValueError(f"TabularDataModule: target column {self.target!r} not in {self.csv}")
            feats = [k for k in rows[0] if k != self.target]
            x = np.array([[float(r[k]) for k in feats] for r in rows], dtype=np.float32)
            y = np.array([r[self.target] for r in rows])
        elif self.dataset in self.SKLEARN:
            import sklearn.datasets

            d = getattr(sklearn.datasets, self.SKLEARN[self.dataset])()
            return d.data.astype(np.float32), d.target.astype(np.int64), [str(c) for c in d.target_names]
        else:
            raise ValueError(f"TabularDataModule: dataset must be one of {sorted(self.SKLEARN)} (or pass csv= or x=/y=); "
                             f"got {self.dataset!r}")
        classes, y_idx = np.unique(y, return_inverse=True)
        return x, y_idx.astype(np.int64), [str(c) for c in classes]

    def load(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        x, y, self.classes = self._arrays()
        tr, te = train_test_split(np.arange(len(y)), test_size=self.test_fraction, stratify=y, random_state=self.seed)
        mean, std = x[tr].mean(0), x[tr].std(0) + 1e-6
        if self.bin_columns:
            bad = [c for c in self.bin_columns if not -x.shape[1] <= c < x.shape[1]]
            if bad:
                raise ValueError(f"TabularDataModule: bin_columns must index the {x.shape[1]} features; got {bad}")
            x = x.copy()
            qs = np.linspace(0, 1, self.n_bins + 1)[1:-1]
            for c in self.bin_columns:
                x[:, c] = np.digitize(x[:, c], np.quantile(x[tr, c], qs))  # categories 0 .. n_bins - 1
                mean[c], std[c] = 0.0, 1.0
        xs = torch.from_numpy(((x - mean) / std).astype(np.float32))
        yt = torch.from_numpy(y)
        return {"train": (xs[np.sort(tr)], yt[np.sort(tr)]), "test": (xs[np.sort(te)], yt[np.sort(te)])}
