"""In-memory classification datamodule: splits, per-class subsampling, resampling, loaders.

Images travel as uint8 ``(C, H, W)`` through the loader workers; the LightningModule converts
and normalises on the device. Tabular rows travel as float32 ``(D,)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, Dataset
from torch.utils.data._utils.collate import default_collate

from torchaug.seeding import loader_generator, per_rank_state, rank_state, seed_worker

log = logging.getLogger(__name__)


class TensorPairDataset(Dataset):
    """``(x[i], y[i])`` pairs from two tensors of equal length."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if len(x) != len(y):
            raise ValueError(f"TensorPairDataset: x and y must have equal length; got {len(x)} and {len(y)}")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


def _stratified_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    if n >= len(y):
        return np.arange(len(y))
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(idx)


def _class_subsample(y: np.ndarray, fractions: Mapping[int, float], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        frac = float(fractions.get(int(c), 1.0))
        if not 0.0 < frac <= 1.0:
            raise ValueError(f"class_fractions: fraction for class {c} must be in (0, 1]; got {frac}")
        n = max(1, int(round(frac * len(idx))))
        keep.append(rng.choice(idx, size=n, replace=False) if n < len(idx) else idx)
    return np.sort(np.concatenate(keep))


def _check_class_subset(subset: Sequence[int | str] | None, owner: str) -> tuple[int | str, ...] | None:
    if subset is None:
        return None
    if isinstance(subset, (str, int)):
        subset = [subset]
    try:
        items = tuple(subset)
    except TypeError:
        items = None
    if not items or any(isinstance(c, bool) or not isinstance(c, (int, str)) for c in items):
        raise ValueError(f"{owner}: class_subset must be a non-empty list of class names or int indices; got {subset!r}")
    return items


class ClassificationDataModule(L.LightningDataModule):
    """Base datamodule. Subclasses implement :meth:`load` returning the raw splits.

    Args:
        batch_size: training batch size (evaluation uses the same).
        num_workers: loader worker processes.
        val_fraction: stratified share of the training split held out for validation
            (ignored when :meth:`load` returns a validation split).
        subset: if set, a stratified subset of this many training samples (quick runs).
        class_subset: keep only these classes (names from :attr:`classes` or their indices), in every split,
            re-indexed ``0..k-1`` in the order given; :attr:`classes` then holds the kept names in that order
            (e.g. ``[0, 8]`` on digits, ``[cat, dog]`` on CIFAR-10). Applied right after :meth:`load`, so
            ``class_fractions`` and ``subset`` refer to the re-indexed classes.
        class_fractions: ``{class_index: fraction}`` of training samples kept per class, to build
            imbalanced or low-data variants (applied after ``subset``; val/test untouched).
        resampler: an object with ``fit_resample`` (e.g. ``torchaug.resampling.SMOTE``) applied
            once to the training split at ``setup``.
        selector: a ``torchaug.selection`` filter (``fit``/``select``) that drops the resampler's
            synthetic samples it rejects (original samples are always kept).
        collate_mixer: a mixer run in the loader workers (``AugmentCollate``) instead of on the device.
        collate_transforms: transforms run in the loader workers (``AugmentCollate``, before the mixer).
        seed: split, subsampling and loader seed.
    """

    #: ``"image"`` (uint8 ``(C,H,W)`` samples) or ``"tabular"`` (float32 ``(D,)``)
    kind = "image"

    def __init__(
        self,
        *,
        batch_size: int = 64,
        num_workers: int = 0,
        val_fraction: float = 0.1,
        subset: int | None = None,
        class_subset: Sequence[int | str] | None = None,
        class_fractions: Mapping[int, float] | None = None,
        resampler: Any = None,
        selector: Any = None,
        collate_mixer: Callable | None = None,
        collate_transforms: Callable | None = None,
        seed: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"{type(self).__name__}: batch_size must be a positive int; got {batch_size!r}")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"{type(self).__name__}: val_fraction must be in (0, 1); got {val_fraction!r}")
        self.batch_size, self.num_workers = batch_size, num_workers
        self.val_fraction, self.subset = val_fraction, subset
        self.class_subset = _check_class_subset(class_subset, type(self).__name__)
        self.class_fractions = {int(k): float(v) for k, v in (class_fractions or {}).items()}
        self.resampler, self.selector, self.collate_mixer = resampler, selector, collate_mixer
        #: transforms run in the loader workers (``augment_in=collate``), before ``collate_mixer``
        self.collate_transforms: Callable | None = collate_transforms
        self.seed, self.pin_memory = seed, pin_memory
        self.classes: list[str] = []
        self._splits: dict[str, TensorPairDataset] = {}
        self._generators: dict[str, torch.Generator] = {}
        self.resample_stats: dict[str, Any] = {}

    # -- to override -------------------------------------------------------------------
    def load(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Return ``{"train": (x, y), "test": (x, y)}`` and optionally ``"val"``; set ``self.classes``."""
        raise TypeError(f"{type(self).__name__} must implement load()")  # pragma: no cover

    # -- properties the builder reads --------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self._splits["train"].x.shape[1:])

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training images in [0, 1] (features for tabular)."""
        x = self._splits["train"].x
        if self.kind == "image":
            xf = x.float().div_(255)
            return xf.mean(dim=(0, 2, 3)).tolist(), xf.std(dim=(0, 2, 3)).clamp_min(1e-6).tolist()
        return [0.0], [1.0]  # tabular features are standardised at load time

    def class_counts(self, split: str = "train") -> list[int]:
        return torch.bincount(self._splits[split].y, minlength=self.num_classes).tolist()

    # -- lightning hooks ----------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self._splits:
            return
        raw = self.load()
        if self.class_subset is not None:
            raw = self._keep_classes(raw)
        x, y = raw["train"]
        y_np = y.numpy()
        if "val" in raw:
            xv, yv = raw["val"]
        else:
            tr, va = train_test_split(
                np.arange(len(y_np)), test_size=self.val_fraction, stratify=y_np, random_state=self.seed
            )
            tr, va = np.sort(tr), np.sort(va)
            xv, yv = x[va], y[va]
            x, y, y_np = x[tr], y[tr], y_np[tr]
        if self.subset is not None:
            keep = _stratified_subset(y_np, int(self.subset), self.seed)
            x, y, y_np = x[keep], y[keep], y_np[keep]
        if self.class_fractions:
            keep = _class_subsample(y_np, self.class_fractions, self.seed)
            x, y = x[keep], y[keep]
        if self.resampler is not None:
            x, y = self._resample(x, y)
        self._splits = {"train": TensorPairDataset(x, y), "val": TensorPairDataset(xv, yv),
                        "test": TensorPairDataset(*raw["test"])}
        log.info("%s: train %d, val %d, test %d samples; train class counts %s", type(self).__name__,
                 len(y), len(yv), len(raw["test"][1]), self.class_counts())

    def resolve_classes(self, names: Sequence[str]) -> list[int]:
        """Indices into ``names`` (the full class list) of :attr:`class_subset`'s entries, in its order.

        An entry is a class name or an int index; unknown entries raise ``ValueError`` naming the argument.
        """
        owner, names = type(self).__name__, [str(n) for n in names]
        out = []
        for c in self.class_subset or ():
            if isinstance(c, str) and c in names:
                out.append(names.index(c))
            elif isinstance(c, int) and 0 <= c < len(names):
                out.append(c)
            else:
                raise ValueError(f"{owner}: class_subset must hold class names from {names} or indices in "
                                 f"[0, {len(names)}); got {list(self.class_subset)} ({c!r} is unknown)")
        if len(set(out)) != len(out):
            raise ValueError(f"{owner}: class_subset must name each class once; got {list(self.class_subset)}")
        return out

    def _keep_classes(self, raw: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Filter every split to :attr:`class_subset` and re-index its labels ``0..k-1``; rename :attr:`classes`."""
        keep = self.resolve_classes(self.classes)
        remap = torch.full((max(len(self.classes), max(keep) + 1),), -1, dtype=torch.int64)
        remap[torch.tensor(keep)] = torch.arange(len(keep))
        out = {}
        for split, (x, y) in raw.items():
            new = remap[y]
            rows = torch.nonzero(new >= 0).flatten()
            out[split] = (x[rows], new[rows])
        self.classes = [self.classes[i] for i in keep]
        return out

    def _resample(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n0 = len(y)
        if self.kind == "image":
            from torchaug.resampling.images import resample_images

            x, y = resample_images(self.resampler, x, y)
        else:
            xr, yr = self.resampler.fit_resample(x, y)
            x, y = torch.as_tensor(xr, dtype=x.dtype), torch.as_tensor(yr, dtype=torch.int64)
        self.resample_stats = {"resampler": type(self.resampler).__name__, "synthetic_samples": len(y) - n0}
        return self._select(x, y, n0)

    def _select(self, x: torch.Tensor, y: torch.Tensor, n0: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Drop the synthetic rows (``n0`` onwards) that ``self.selector`` rejects; keep the real ones."""
        if self.selector is None:
            return x, y
        from torchaug.selection import select_synthetic

        flat = x.reshape(len(x), -1).float()
        flat = flat / 255 if x.dtype == torch.uint8 else flat
        keep, _, _ = select_synthetic(self.selector, flat[:n0], y[:n0], flat[n0:], y[n0:])
        rows = torch.cat([torch.arange(n0), torch.as_tensor(keep, dtype=torch.int64).cpu() + n0])
        self.resample_stats.update(selector=type(self.selector).__name__, synthetic_kept=len(rows) - n0)
        return x[rows], y[rows]

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if not self._splits:
            self.setup()
        rank = self.trainer.global_rank if self.trainer is not None else 0
        gen = self._generators.get(split)
        if gen is None:
            gen = self._generators[split] = loader_generator(self.seed, rank, split)
        return DataLoader(
            self._splits[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=self._collate(split),
            generator=gen,
            worker_init_fn=seed_worker,
            pin_memory=self.pin_memory,
            drop_last=False,
            **self._loader_kwargs(split),
        )

    def _collate(self, split: str) -> Callable:
        """The loader's ``collate_fn``: ``AugmentCollate`` with the collate-side transforms/mixer (training)."""
        if split == "train" and (self.collate_mixer is not None or self.collate_transforms is not None):
            from torchaug.mixing import AugmentCollate

            # with a mixer, its params come last: the module logs mixing_stats from them
            return AugmentCollate(self.collate_transforms, self.collate_mixer, return_params=self.collate_mixer is not None)
        return default_collate

    def _loader_kwargs(self, split: str) -> dict[str, Any]:
        return {}

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    # -- checkpointed state: the loader generators continue where they were -------------
    def state_dict(self) -> dict[str, Any]:
        # every DDP rank's loader generators (rank 0 writes the checkpoint; see torchaug.seeding)
        return {"generators": per_rank_state({k: g.get_state() for k, g in self._generators.items()})}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        if "generators" in state:
            mine = rank_state(state["generators"], rank, world)
        else:  # checkpoints written before per-rank states: {"generator/<split>": state}
            mine = rank_state({k.split("/", 1)[1]: v for k, v in state.items()}, rank, world)
        for split, value in (mine or {}).items():  # None: the world size changed, keep fresh per-rank streams
            gen = self._generators.setdefault(split, loader_generator(self.seed, rank, split))
            gen.set_state(value)
