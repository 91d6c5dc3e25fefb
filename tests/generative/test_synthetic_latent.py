"""SyntheticDataset, the balancing datamodule, latent-space augmentation and latent SMOTE through the Codec."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from gen_support import accuracy, digits, fit, one_thread, real_classifier  # noqa: F401

from torchaug.generative import (
    VAE,
    SyntheticAugmentedDataModule,
    SyntheticDataset,
    VAECodec,
    latent_augment,
    latent_smote,
    synthetic_counts,
)
from torchaug.resampling import SMOTE, Codec


@pytest.fixture(scope="module")
def vae_ckpt(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("vae")
    x, y = digits()
    vae = VAE(num_classes=10, sample_shape=(1, 8, 8), latent_dim=8, base_channels=16)
    trainer = fit(vae, x, y, epochs=4, root=root)
    trainer.save_checkpoint(root / "vae.ckpt")
    torch.set_num_threads(threads)
    return vae, root / "vae.ckpt", x, y


def test_synthetic_counts():
    assert synthetic_counts([10, 2, 5]) == [0, 8, 5]
    assert synthetic_counts([10, 2, 5], balance=False, ratio=0.5) == [5, 1, 2]
    assert synthetic_counts([10, 2, 5], ratio=1.0) == [10, 10, 10]
    assert synthetic_counts([10, 2, 5], n_per_class=3) == [3, 3, 3]
    with pytest.raises(ValueError, match="give n_per_class, ratio, or balance=True"):
        synthetic_counts([1, 2], balance=False)


def test_synthetic_dataset_from_checkpoint(vae_ckpt):
    vae, path, x, y = vae_ckpt
    ds = SyntheticDataset(path, class_counts={3: 5, 7: 2}, seed=1)
    assert len(ds) == 7 and ds.x.dtype == torch.uint8 and ds.x.shape == (7, 1, 8, 8)
    assert ds.y.tolist() == [3] * 5 + [7] * 2
    again = SyntheticDataset(vae, class_counts=[0, 0, 0, 5, 0, 0, 0, 2, 0, 0], seed=1)
    assert torch.equal(ds.x, again.x)  # checkpoint and module, same seed: same samples
    other = SyntheticDataset(vae, class_counts={3: 5, 7: 2}, seed=2)
    assert not torch.equal(ds.x, other.x)
    xi, yi = ds[6]
    assert xi.shape == (1, 8, 8) and int(yi) == 7
    floats = SyntheticDataset(vae, n_per_class=2, dtype=torch.float32)
    assert len(floats) == 20 and floats.x.dtype == torch.float32 and floats.x.max() <= 1
    clf = real_classifier(x, y)
    big = SyntheticDataset(vae, n_per_class=30)
    assert accuracy(clf, big.x, big.y) > 0.7
    with pytest.raises(ValueError, match="unknown class 10"):
        SyntheticDataset(vae, class_counts={10: 1})
    with pytest.raises(ValueError, match="exactly one of"):
        SyntheticDataset(vae)
    with pytest.raises(ValueError, match="unconditional"):
        SyntheticDataset(VAE(num_classes=2, sample_shape=(1, 8, 8), conditional=False), n_per_class=1)


def test_datamodule_balances_the_training_split(vae_ckpt):
    _, path, _, _ = vae_ckpt
    dm = SyntheticAugmentedDataModule(generator=str(path), class_fractions={3: 0.1, 5: 0.1}, batch_size=32, seed=0)
    plain = SyntheticAugmentedDataModule(generator=str(path), n_per_class=0, class_fractions={3: 0.1, 5: 0.1},
                                         batch_size=32, seed=0)
    dm.setup("fit")
    plain.setup("fit")
    real = plain.class_counts()
    counts = dm.class_counts()
    assert real[3] < 0.2 * max(real) and counts == [max(real)] * 10
    assert dm.resample_stats["synthetic_samples"] == sum(max(real) - c for c in real)
    assert dm.num_classes == 10 and dm.sample_shape == (1, 8, 8)
    # validation and test stay real
    assert len(dm._splits["val"]) == len(plain._splits["val"]) and torch.equal(dm._splits["test"].x, plain._splits["test"].x)
    xb, yb = next(iter(dm.train_dataloader()))
    assert xb.dtype == torch.uint8 and xb.shape[1:] == (1, 8, 8) and yb.dtype == torch.int64


@pytest.mark.parametrize("mode", ["interpolate", "extrapolate", "noise"])
def test_latent_augment(vae_ckpt, mode):
    vae, _, x, y = vae_ckpt
    clf = real_classifier(x, y)
    new, labels = latent_augment(vae, x[:300], y[:300], mode=mode, generator=torch.Generator().manual_seed(0))
    assert new.shape == (300, 1, 8, 8) and new.dtype == torch.uint8 and torch.equal(labels, y[:300])
    assert not torch.equal(new, vae.reconstruct(x[:300], y[:300]))  # moved away from the reconstruction
    assert accuracy(clf, new, labels) > 0.6
    with pytest.raises(ValueError, match="mode must be one of"):
        latent_augment(vae, x[:4], y[:4], mode="mix")


def test_latent_smote_through_the_codec(vae_ckpt):
    vae, _, x, y = vae_ckpt
    keep = torch.cat([torch.nonzero(y != 3).squeeze(1)[:400], torch.nonzero(y == 3).squeeze(1)[:8]])
    xs, ys = x[keep], y[keep]
    codec = VAECodec(vae, ys)
    assert isinstance(codec, Codec)
    z = codec.encode(xs[:5].float() / 255)
    assert z.shape == (5, vae.latent_dim + 10)
    xr, yr = latent_smote(vae, xs, ys, SMOTE(k_neighbors=3, random_state=0))
    assert torch.equal(xr[: len(xs)], xs)
    counts = torch.bincount(yr, minlength=10)
    assert counts[3] == counts.max()
    new3 = xr[len(xs):][yr[len(xs):] == 3]
    assert len(new3) > 20
    clf = real_classifier(x, y)
    assert accuracy(clf, new3, torch.full((len(new3),), 3)) > 0.6  # decoded as class 3
    with pytest.raises(ValueError, match="needs the images' labels"):
        VAECodec(vae)


def test_datamodule_filters_generated_samples_with_a_selector(vae_ckpt):
    from torchaug.selection import DistanceFilter

    _, path, _, _ = vae_ckpt
    kw = dict(generator=str(path), class_fractions={3: 0.1, 5: 0.1}, batch_size=32, seed=0)
    plain = SyntheticAugmentedDataModule(**kw)
    dm = SyntheticAugmentedDataModule(**kw, selector=DistanceFilter(quantile=0.5, random_state=0))
    plain.setup("fit")
    dm.setup("fit")
    stats = dm.resample_stats
    n_real = len(plain._splits["train"]) - stats["synthetic_samples"]
    assert stats["selector"] == "DistanceFilter" and 0 <= stats["synthetic_kept"] < stats["synthetic_samples"]
    assert len(dm._splits["train"]) == n_real + stats["synthetic_kept"]
    assert torch.equal(dm._splits["train"].x[:n_real], plain._splits["train"].x[:n_real])  # real samples kept, first
