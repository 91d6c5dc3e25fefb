"""DCGAN: shapes and ranges per size, errors, one step of both optimisers, D separates real from fake, checkpoints."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from gen_support import digits, fit, one_thread  # noqa: F401
from torch.utils.data import DataLoader, TensorDataset

from torchaug.generative import DCGAN, load_generator


@pytest.mark.parametrize("size,channels,conditional", [(8, 1, True), (16, 3, False), (32, 3, True), (64, 3, True)])
def test_sample_shapes_and_ranges(size, channels, conditional):
    gan = DCGAN(num_classes=4, sample_shape=(channels, size, size), latent_dim=8, base_channels=4,
                conditional=conditional)
    g = torch.Generator().manual_seed(0)
    s = gan.sample(6, generator=g)
    assert s.dtype == torch.uint8 and s.shape == (6, channels, size, size)
    f = gan.sample(3, y=1 if conditional else None, generator=g, dtype=torch.float32)
    assert f.dtype == torch.float32 and 0 <= f.min() and f.max() <= 1
    assert gan.training


def test_init_follows_the_paper():
    gan = DCGAN(num_classes=10, sample_shape=(1, 32, 32), base_channels=16)
    convs = [m.weight for m in gan.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    std = torch.cat([w.flatten() for w in convs]).std()
    assert 0.018 < std < 0.022
    opt_g, opt_d = gan.configure_optimizers()
    assert opt_g.defaults["lr"] == 2e-4 and opt_g.defaults["betas"] == (0.5, 0.999)
    # the two optimisers own disjoint parameter sets that cover the module
    g_ids = {id(p) for p in opt_g.param_groups[0]["params"]}
    d_ids = {id(p) for p in opt_d.param_groups[0]["params"]}
    assert not g_ids & d_ids and g_ids | d_ids == {id(p) for p in gan.parameters()}


def test_errors():
    with pytest.raises(ValueError, match=r"DCGAN: image size must be square with side in \(8, 16, 32, 64\).*got 28x28"):
        DCGAN(num_classes=10, sample_shape=(1, 28, 28))
    with pytest.raises(ValueError, match="ac_gan=True needs conditional=True"):
        DCGAN(num_classes=10, sample_shape=(1, 8, 8), conditional=False, ac_gan=True)
    gan = DCGAN(num_classes=10, sample_shape=(1, 8, 8), latent_dim=4, base_channels=4)
    with pytest.raises(ValueError, match=r"DCGAN.sample: unknown class 12"):
        gan.sample(2, y=torch.tensor([1, 12]))
    uncond = DCGAN(num_classes=10, sample_shape=(1, 8, 8), conditional=False, latent_dim=4, base_channels=4)
    with pytest.raises(ValueError, match="unconditional"):
        uncond.sample(2, y=3)


@pytest.mark.parametrize("conditional,ac_gan", [(False, False), (True, False), (True, True)])
def test_one_step_moves_both_players(conditional, ac_gan, tmp_path):
    x, y = digits()
    gan = DCGAN(num_classes=10, sample_shape=(1, 8, 8), latent_dim=8, base_channels=4, conditional=conditional,
                ac_gan=ac_gan)
    g0 = [p.detach().clone() for n, p in gan.named_parameters() if n.startswith("g_")]
    d0 = [p.detach().clone() for n, p in gan.named_parameters() if not n.startswith("g_")]
    loader = DataLoader(TensorDataset(x[:32], y[:32]), batch_size=32)
    trainer = L.Trainer(fast_dev_run=True, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        accelerator="cpu", default_root_dir=str(tmp_path))
    trainer.fit(gan, loader, loader)
    g1 = [p for n, p in gan.named_parameters() if n.startswith("g_")]
    d1 = [p for n, p in gan.named_parameters() if not n.startswith("g_")]
    assert any(not torch.equal(a, b) for a, b in zip(g0, g1))
    assert any(not torch.equal(a, b) for a, b in zip(d0, d1))
    if ac_gan:
        assert not torch.equal(d0[-2], d1[-2])  # the auxiliary head is trained
    assert {"train/d_loss", "train/g_loss", "val/d_acc"} <= set(trainer.callback_metrics)
    assert (tmp_path / "samples" / "epoch_000.png").is_file()


def test_discriminator_separates_real_from_fake_early(tmp_path):
    torch.manual_seed(0)  # the initial weights: independent of what ran before in this worker
    x, y = digits()
    gan = DCGAN(num_classes=10, sample_shape=(1, 8, 8), latent_dim=16, base_channels=8, label_flip=0.0)
    fit(gan, x[:320], y[:320], epochs=1, root=tmp_path, batch_size=32)
    gan.eval()
    with torch.no_grad():
        real, _ = gan.discriminate(x[320:820].float() / 255 * 2 - 1, y[320:820])
        fake, _ = gan.discriminate(gan.sample(500, y=y[320:820], dtype=torch.float32) * 2 - 1, y[320:820])
    # a threshold at 0 separates most of them; the logits are ordered on average
    acc = ((real > 0).float().mean() + (fake < 0).float().mean()) / 2
    assert acc > 0.75 and real.mean() > fake.mean()


def test_checkpoint_round_trip_gives_the_same_samples(tmp_path):
    x, y = digits()
    gan = DCGAN(num_classes=10, sample_shape=(1, 8, 8), latent_dim=8, base_channels=4, ac_gan=True)
    trainer = fit(gan, x[:64], y[:64], epochs=1, root=tmp_path)
    trainer.save_checkpoint(tmp_path / "gan.ckpt")
    loaded = DCGAN.load_from_checkpoint(tmp_path / "gan.ckpt")
    again = load_generator(tmp_path / "gan.ckpt")
    assert isinstance(again, DCGAN) and again.ac_gan
    ys = torch.arange(20) % 10
    a = gan.sample(20, y=ys, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, loaded.sample(20, y=ys, generator=torch.Generator().manual_seed(3)))
    assert torch.equal(a, again.sample(20, y=ys, generator=torch.Generator().manual_seed(3)))
