"""Labelled training samples from a trained generator, and a datamodule that adds them to the real data.

- :class:`SyntheticDataset`: ``(x, y)`` pairs sampled once from a generator (a module or a checkpoint
  path), ``n_per_class`` for every class or ``class_counts[k]`` for class ``k``, in the real data's
  dtype and range (uint8 by default).
- :func:`synthetic_counts`: how many samples per class to generate: top rare classes up to the majority
  count (``balance=True``), or a ``ratio`` of each class's real count.
- :class:`SyntheticAugmentedDataModule`: wraps an image datamodule (built from ``base_target`` and the
  remaining keyword arguments) and appends synthetic samples to its training split at ``setup``
  (validation and test splits stay real). Use from Hydra with ``data._target_=`` this class.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from torchaug.data.base import ClassificationDataModule, TensorPairDataset
from torchaug.generative._nets import load_generator

log = logging.getLogger(__name__)

__all__ = ["SyntheticDataset", "SyntheticAugmentedDataModule", "synthetic_counts"]


def synthetic_counts(real_counts: Sequence[int], *, balance: bool = True, ratio: float | None = None,
                     n_per_class: int | None = None) -> list[int]:
    """Synthetic samples to generate per class.

    ``n_per_class`` (if given) for every class; else with ``balance`` each class is topped up to the
    majority count (``max(real) - real[k]``), plus ``round(ratio * real[k])`` extra if ``ratio`` is also
    given; else ``round(ratio * real[k])`` (``ratio=1`` doubles each class).
    """
    if n_per_class is not None:
        if n_per_class < 0:
            raise ValueError(f"synthetic_counts: n_per_class must be >= 0; got {n_per_class}")
        return [int(n_per_class)] * len(real_counts)
    if ratio is not None and not ratio >= 0:
        raise ValueError(f"synthetic_counts: ratio must be >= 0; got {ratio!r}")
    if not balance and ratio is None:
        raise ValueError("synthetic_counts: give n_per_class, ratio, or balance=True")
    top = max(real_counts) if real_counts else 0
    out = []
    for c in real_counts:
        n = (top - c) if balance else 0
        if ratio is not None:
            n += int(round(ratio * c))
        out.append(int(n))
    return out


class SyntheticDataset(Dataset):
    """Labelled samples drawn once from a trained generator.

    Args:
        generator: a module with ``sample(n, y=, generator=, dtype=)`` and ``num_classes`` (``VAE``,
            ``DCGAN``), or the path of its Lightning checkpoint.
        n_per_class: samples for every class, or
        class_counts: ``{class: n}`` or a length-``K`` sequence of per-class counts.
        seed: seeds the latent noise (same seed, same samples).
        dtype: ``torch.uint8`` (images in [0, 255], like the image datamodules) or a float dtype ([0, 1]).
        batch_size: samples per ``sample`` call.
        device: where to run the generator (default: where it is).

    ``x`` is ``(N, C, H, W)``, ``y`` is int64 ``(N,)``, ordered by class. Unconditional generators
    cannot produce a requested class; they raise a ValueError.
    """

    def __init__(
        self,
        generator: Any,
        n_per_class: int | None = None,
        class_counts: Mapping[int, int] | Sequence[int] | None = None,
        *,
        seed: int = 0,
        dtype: torch.dtype = torch.uint8,
        batch_size: int = 512,
        device: str | torch.device | None = None,
    ) -> None:
        owner = "SyntheticDataset"
        if isinstance(generator, (str, Path)):
            generator = load_generator(generator)
        if not hasattr(generator, "sample") or not hasattr(generator, "num_classes"):
            raise TypeError(f"{owner}: generator must be a VAE/DCGAN-like module or a checkpoint path; got {type(generator).__name__}")
        if not getattr(generator, "conditional", True):
            raise ValueError(f"{owner}: the generator is unconditional; labelled samples need a conditional model")
        k = generator.num_classes
        if (n_per_class is None) == (class_counts is None):
            raise ValueError(f"{owner}: give exactly one of n_per_class or class_counts")
        if n_per_class is not None:
            counts = [int(n_per_class)] * k
        elif isinstance(class_counts, Mapping):
            bad = [c for c in class_counts if not 0 <= int(c) < k]
            if bad:
                raise ValueError(f"{owner}: unknown class {bad[0]} in class_counts; classes are [0, {k})")
            counts = [int(class_counts.get(c, 0)) for c in range(k)]
        else:
            counts = [int(c) for c in class_counts]  # type: ignore[union-attr]
            if len(counts) != k:
                raise ValueError(f"{owner}: class_counts must have {k} entries (one per class); got {len(counts)}")
        if any(c < 0 for c in counts):
            raise ValueError(f"{owner}: counts must be >= 0; got {counts}")
        if device is not None:
            generator = generator.to(device)
        dev = getattr(generator, "device", torch.device("cpu"))
        self.class_counts = counts
        y = torch.repeat_interleave(torch.arange(k), torch.tensor(counts, dtype=torch.int64))
        g = torch.Generator(device=dev).manual_seed(seed)
        chunks = [generator.sample(len(yb), y=yb.to(dev), generator=g, dtype=dtype).cpu()
                  for yb in y.split(batch_size)] if len(y) else []
        shape = tuple(getattr(generator, "sample_shape", ()))
        self.x = torch.cat(chunks) if chunks else torch.empty((0, *shape), dtype=dtype)
        self.y = y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


def _import(target: str) -> Any:
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)


class SyntheticAugmentedDataModule(ClassificationDataModule):
    """An image datamodule whose training split is real + synthetic samples from a trained generator.

    Args:
        generator: checkpoint path of a trained ``VAE``/``DCGAN`` (e.g. ``${stage:generator.checkpoint}``)
            or the module itself.
        base_target: import path of the real datamodule (default ``torchaug.data.DigitsDataModule``);
            every other keyword argument (``batch_size``, ``class_fractions``, ``seed``, ...) goes to it.
        balance, ratio, n_per_class: how many synthetic samples per class (see :func:`synthetic_counts`);
            the default tops every class up to the majority count.
        sample_seed: seeds the generator's latent noise (default: ``seed``).
        resampler: passed to the base datamodule (applied to the real data before the synthetic samples
            are added).

    The real samples come first, then the synthetic ones (the loader shuffles). Validation and test
    splits are the base datamodule's real ones. ``resample_stats`` reports the synthetic counts.
    """

    def __init__(
        self,
        *,
        generator: Any,
        base_target: str = "torchaug.data.DigitsDataModule",
        balance: bool = True,
        ratio: float | None = None,
        n_per_class: int | None = None,
        sample_seed: int | None = None,
        resampler: Any = None,
        selector: Any = None,
        collate_mixer: Any = None,
        **base_kwargs: Any,
    ) -> None:
        common = {k: base_kwargs[k] for k in ("batch_size", "num_workers", "val_fraction", "seed", "pin_memory")
                  if k in base_kwargs}
        super().__init__(resampler=None, selector=selector, collate_mixer=collate_mixer, **common)
        self.base: ClassificationDataModule = _import(base_target)(resampler=resampler, selector=selector, **base_kwargs)
        self.kind = self.base.kind
        if self.kind != "image":
            raise ValueError(f"SyntheticAugmentedDataModule: base datamodule must hold images; got kind={self.kind!r}")
        synthetic_counts([1], balance=balance, ratio=ratio, n_per_class=n_per_class)  # validate early
        self.generator, self.balance, self.ratio, self.n_per_class = generator, balance, ratio, n_per_class
        self.sample_seed = self.seed if sample_seed is None else sample_seed

    def setup(self, stage: str | None = None) -> None:
        if self._splits:
            return
        self.base.setup(stage)
        self.classes = list(self.base.classes)
        splits = dict(self.base._splits)
        real = splits["train"]
        real_counts = torch.bincount(real.y, minlength=self.num_classes).tolist()
        counts = synthetic_counts(real_counts, balance=self.balance, ratio=self.ratio, n_per_class=self.n_per_class)
        synth = SyntheticDataset(self.generator, class_counts=counts, seed=self.sample_seed, dtype=real.x.dtype)
        if tuple(synth.x.shape[1:]) != tuple(real.x.shape[1:]) and len(synth):
            raise ValueError(f"SyntheticAugmentedDataModule: generator makes {tuple(synth.x.shape[1:])} images, "
                             f"the data has {tuple(real.x.shape[1:])}")
        self.resample_stats = {**self.base.resample_stats, "generator": type(self.generator).__name__
                               if not isinstance(self.generator, (str, Path)) else str(self.generator),
                               "synthetic_samples": len(synth), "synthetic_per_class": counts}
        x, y = self._select(torch.cat([real.x, synth.x]), torch.cat([real.y, synth.y]), len(real))
        splits["train"] = TensorPairDataset(x, y)
        self._splits = splits
        log.info("SyntheticAugmentedDataModule: %d real + %d synthetic training samples; class counts %s",
                 len(real), len(synth), self.class_counts())
