"""MixCollate in real DataLoaders with 2 workers (fork and spawn), pickling, uint8 through workers."""

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from torchaug.mixing import CutMix, MixCollate, MixUp, SamplePairing, mixing_stats


class ToyImages(Dataset):
    """uint8 (3, 8, 8) images whose pixels all equal 10 * label (labels 0..4), plus the index."""

    def __init__(self, n=24, numpy=False):
        self.n, self.numpy = n, numpy

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        label = i % 5
        img = np.full((3, 8, 8), 10 * label, dtype=np.uint8)
        return (img if self.numpy else torch.from_numpy(img)), label, i


def _check_batch(x, y, idx):
    assert x.dtype == torch.uint8 and x.shape == (len(idx), 3, 8, 8)
    assert y.shape == (len(idx), 5)
    torch.testing.assert_close(y.sum(1), torch.ones(len(idx)))
    # with constant images, the pixel value is the mean class weighted by the targets
    expected = (y * (10 * torch.arange(5.0))).sum(1)
    assert (x.float().mean((1, 2, 3)) - expected).abs().max() <= 0.51


@pytest.mark.parametrize("context,workers", [("fork", 2), pytest.param("spawn", 1, marks=pytest.mark.slow)])
def test_dataloader_with_workers(context, workers):
    """Two forked workers; one spawned worker (a fresh interpreter unpickles the collate)."""
    collate = MixCollate(MixUp(1.0, num_classes=5, mode="elem"))
    dl = DataLoader(
        ToyImages(numpy=context == "spawn"), batch_size=6, num_workers=workers, collate_fn=collate,
        multiprocessing_context=context, shuffle=True, generator=torch.Generator().manual_seed(0),
    )
    seen = 0
    mixed_any = False
    for x, y, idx in dl:
        _check_batch(x, y, idx)
        mixed_any |= bool((y.max(1).values < 1).any())
        seen += len(idx)
    assert seen == 24 and mixed_any


def test_collate_is_picklable_and_keeps_behaviour():
    c = MixCollate(CutMix(1.0, num_classes=5), return_params=True)
    c2 = pickle.loads(pickle.dumps(c))
    batch = [ToyImages()[i] for i in range(6)]
    torch.manual_seed(0)
    a = c(batch)
    torch.manual_seed(0)
    b = c2(batch)
    assert all(torch.equal(u, v) for u, v in zip(a[:3], b[:3]))
    params = a[3]
    assert set(mixing_stats(params)) == {"mixed_fraction", "lam_mean"}
    assert torch.equal(a[2], torch.arange(6))  # extra fields pass through


def test_inplace_only_on_the_fresh_batch():
    ds = ToyImages()
    batch = [ds[i] for i in range(4)]
    originals = [b[0].clone() for b in batch]
    c = MixCollate(SamplePairing(num_classes=5))
    assert c.inplace
    x, y, _ = c(batch)
    assert all(torch.equal(b[0], o) for b, o in zip(batch, originals))  # samples untouched
    c2 = MixCollate(MixUp(num_classes=5), collate_fn=lambda b: default_collate(b))
    assert not c2.inplace


def test_collate_errors():
    with pytest.raises(TypeError, match="MixCollate: mixer"):
        MixCollate(3)
    c = MixCollate(MixUp(num_classes=5), collate_fn=lambda b: torch.zeros(2))
    with pytest.raises(TypeError, match="MixCollate: collate_fn must return"):
        c([1, 2])
