"""VAE: shapes and ranges per size, errors, conditional samples of the requested class, training, checkpoints."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from gen_support import accuracy, digits, fit, one_thread, real_classifier  # noqa: F401
from torch.utils.data import DataLoader, TensorDataset

from torchaug.generative import VAE, load_generator


@pytest.mark.parametrize("size,channels", [(8, 1), (16, 3), (32, 3), (64, 1)])
def test_sample_shapes_and_ranges(size, channels):
    vae = VAE(num_classes=3, sample_shape=(channels, size, size), latent_dim=4, base_channels=4)
    g = torch.Generator().manual_seed(0)
    s = vae.sample(5, y=torch.tensor([0, 1, 2, 0, 1]), generator=g)
    assert s.dtype == torch.uint8 and s.shape == (5, channels, size, size)
    f = vae.sample(3, y=2, generator=g, dtype=torch.float32)
    assert f.dtype == torch.float32 and f.shape == (3, channels, size, size)
    assert 0 <= f.min() and f.max() <= 1
    mu, logvar = vae.encode(s, torch.tensor([0, 1, 2, 0, 1]))
    assert mu.shape == logvar.shape == (5, 4)
    assert vae.decode(mu, torch.tensor([0, 1, 2, 0, 1])).shape == (5, channels, size, size)
    r = vae.reconstruct(s, torch.tensor([0, 1, 2, 0, 1]))
    assert r.dtype == torch.uint8 and r.shape == s.shape
    assert vae.training  # sampling restores the mode


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 16), (1, 128, 128), (3, 4, 4)])
def test_unsupported_size_is_a_clear_error(shape):
    with pytest.raises(ValueError, match=r"VAE: image size must be square with side in \(8, 16, 32, 64\)"):
        VAE(num_classes=10, sample_shape=shape)


def test_label_errors():
    vae = VAE(num_classes=10, sample_shape=(1, 8, 8), latent_dim=4, base_channels=4)
    with pytest.raises(ValueError, match=r"VAE.sample: unknown class 10; y must be class indices in \[0, num_classes=10\)"):
        vae.sample(2, y=torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="unknown class -1"):
        vae.sample(1, y=-1)
    with pytest.raises(TypeError, match="y must be an int class index"):
        vae.sample(2, y=torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        vae.sample(3, y=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="y \\(class indices of shape \\(2,\\)\\) is required"):
        vae.encode(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, 8, 8\)"):
        vae.encode(torch.zeros(2, 1, 16, 16), torch.tensor([0, 1]))
    uncond = VAE(num_classes=10, sample_shape=(1, 8, 8), conditional=False, latent_dim=4, base_channels=4)
    assert uncond.sample(3).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match="unconditional"):
        uncond.sample(3, y=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    x, y = digits()
    vae = VAE(num_classes=10, sample_shape=(1, 8, 8), latent_dim=8, base_channels=16)
    xb = x[:256].float() / 255
    torch.manual_seed(0)
    before = vae.loss_terms(xb, y[:256])["recon"].item()
    fit(vae, x, y, epochs=4, root=tmp_path_factory.mktemp("vae"))
    vae.train()
    torch.manual_seed(0)
    after = vae.loss_terms(xb, y[:256])["recon"].item()
    torch.set_num_threads(threads)
    return vae, x, y, before, after


def test_reconstruction_loss_falls(trained):
    _, _, _, before, after = trained
    assert after < 0.6 * before


def test_conditional_samples_are_the_requested_class(trained):
    vae, x, y, *_ = trained
    clf = real_classifier(x, y)
    want = torch.arange(500) % 10
    s = vae.sample(500, y=want, generator=torch.Generator().manual_seed(1))
    assert accuracy(clf, s, want) > 0.7  # chance is 0.1
    # the condition matters: shuffled labels give the shuffled classes, not the original ones
    s2 = vae.sample(500, y=(want + 3) % 10, generator=torch.Generator().manual_seed(1))
    assert accuracy(clf, s2, want) < 0.3


def test_one_training_step_through_the_trainer(tmp_path):
    x, y = digits()
    vae = VAE(num_classes=10, sample_shape=(1, 8, 8), latent_dim=4, base_channels=4)
    before = [p.detach().clone() for p in vae.parameters()]
    loader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=32)
    trainer = L.Trainer(fast_dev_run=True, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        accelerator="cpu", default_root_dir=str(tmp_path))
    trainer.fit(vae, loader, loader)
    assert any(not torch.equal(a, b) for a, b in zip(before, vae.parameters()))
    assert {"train/loss", "train/recon", "train/kl", "val/loss"} <= set(trainer.callback_metrics)
    assert (tmp_path / "samples" / "epoch_000.png").is_file()


def test_checkpoint_round_trip_gives_the_same_samples(trained, tmp_path):
    vae, x, y, *_ = trained
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                        max_epochs=0, default_root_dir=str(tmp_path))
    trainer.strategy.connect(vae)
    trainer.save_checkpoint(tmp_path / "vae.ckpt")
    loaded = VAE.load_from_checkpoint(tmp_path / "vae.ckpt")
    again = load_generator(tmp_path / "vae.ckpt")
    assert isinstance(again, VAE) and again.hparams.latent_dim == 8
    ys = torch.arange(20) % 10
    a = vae.sample(20, y=ys, generator=torch.Generator().manual_seed(5))
    b = loaded.sample(20, y=ys, generator=torch.Generator().manual_seed(5))
    c = again.sample(20, y=ys, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and torch.equal(a, c)
    d = vae.sample(20, y=ys, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(a, d)
