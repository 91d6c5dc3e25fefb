"""Augmenters, ``MixCollate`` and the datamodules pickle, and work in spawned DataLoader workers.

``multiprocessing_context="spawn"`` (the default on macOS and Windows, and what CUDA needs)
pickles the dataset, ``collate_fn`` and ``worker_init_fn`` into fresh interpreters; Lightning's
``ddp_spawn`` pickles the datamodule and the LightningModule. Every registered transform, mixer,
hook and resampler must survive ``pickle`` and behave the same after it (same output for the
same generator seed).
"""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from torchaug import registry
from torchaug.mixing import MixCollate, MixUp
from torchaug.seeding import seed_worker
from torchaug.transforms import Compose, RandomAffine, RandomErasing

# A spawned worker imports this module to unpickle TransformedDataset: keep its start light there
# (no lightning, no generative models); the datamodules are imported inside the tests.
if multiprocessing.parent_process() is None:
    registry.load_all()
ENTRIES = [e for kind in ("transform", "mixer", "hook", "resampler") for e in registry.registered(kind)]


def _round_trip(obj):
    return pickle.loads(pickle.dumps(obj))


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.kind}-{e.name}")
def test_registered_augmenter_pickles_and_behaves_the_same(entry):
    obj = entry.example()
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    if entry.kind == "transform":
        copy = _round_trip(obj)
        a = obj(x, generator=torch.Generator().manual_seed(1))
        b = copy(x, generator=torch.Generator().manual_seed(1))
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    elif entry.kind == "mixer":
        copy = _round_trip(obj)
        y = torch.arange(4) % obj.num_classes
        for got, want in zip(copy(x, y, generator=torch.Generator().manual_seed(1)),
                             obj(x, y, generator=torch.Generator().manual_seed(1))):
            torch.testing.assert_close(got, want, rtol=0, atol=0)
    elif entry.kind == "hook":
        model, hook = obj
        model2, hook2 = _round_trip(obj)  # the model with its hook attached travels together
        model.train(), model2.train()
        outs = []
        for m, h in ((model, hook), (model2, hook2)):
            h.generator = torch.Generator().manual_seed(1)
            torch.manual_seed(1)
            outs.append((m(x), h.mix_targets(torch.eye(10)[torch.arange(4)])))
        torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
        assert hook2.last_stats  # the unpickled hook is attached to the unpickled model and fired
        hook2.remove()
        model2.eval()
        with torch.no_grad():
            model2(x)  # removable after unpickling too
    else:
        copy = _round_trip(obj)
        rng = np.random.default_rng(0)
        X = np.concatenate([rng.normal(0, 1, (30, 4)), rng.normal(3, 1, (10, 4))]).astype(np.float32)
        y = np.array([0] * 30 + [1] * 10)
        for got, want in zip(copy.fit_resample(X, y), obj.fit_resample(X, y)):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


class TransformedDataset(Dataset):
    """Per-sample transforms in the workers (the other place users run them): uint8 (C,H,W) in and out."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform) -> None:
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return self.transform(self.x[i]), self.y[i]


def test_transforms_and_mixcollate_in_spawned_workers():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 1, 8, 8), generator=g, dtype=torch.uint8)
    y = torch.arange(64) % 10
    ds = TransformedDataset(x, y, Compose([RandomAffine(degrees=15), RandomErasing(p=0.5)]))
    loader = DataLoader(ds, batch_size=16, shuffle=True, num_workers=2, multiprocessing_context="spawn",
                        collate_fn=MixCollate(MixUp(alpha=1.0, num_classes=10), return_params=True),
                        generator=torch.Generator().manual_seed(7), worker_init_fn=seed_worker)
    batches = list(loader)
    assert len(batches) == 4
    for xb, yb, _ in batches:
        assert xb.dtype == torch.uint8 and xb.shape == (16, 1, 8, 8) and yb.shape == (16, 10)
        torch.testing.assert_close(yb.sum(1), torch.ones(16))
    lams = [float(p["lam"].flatten()[0]) for _, _, p in batches]
    assert len(set(lams)) == len(lams)  # every batch, from either worker, drew its own lambda
    assert (batches[0][1].max(1).values < 1).any()  # the targets were really mixed in the worker
    assert not torch.equal(batches[0][0], x[:16])  # and the images transformed


def test_datamodules_pickle_with_their_state(tmp_path):
    from tests_support import make_image_tree

    from torchaug.data import DigitsDataModule, ImageFolderDataModule, TabularDataModule

    root = make_image_tree(tmp_path / "tree", classes=2, per_class=6, size=16)
    modules = [DigitsDataModule(seed=1, subset=64, batch_size=8, collate_mixer=MixUp(alpha=1.0, num_classes=10)),
               TabularDataModule(seed=1, batch_size=8), ImageFolderDataModule(root=str(root), batch_size=4, seed=1, val_fraction=0.3)]
    for dm in modules:
        dm.setup()
        next(iter(dm.train_dataloader()))  # advance the loader generator: its state must travel too
        copy = _round_trip(dm)
        assert copy.num_classes == dm.num_classes and copy.sample_shape == dm.sample_shape
        batches = []
        for m in (copy, dm):
            torch.manual_seed(0)  # MixCollate without workers draws from the global RNG
            batches.append(next(iter(m.train_dataloader())))
        for got, want in zip(*batches):
            torch.testing.assert_close(got, want, rtol=0, atol=0)
