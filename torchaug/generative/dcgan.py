"""DCGAN (Radford et al. 2016), unconditional or conditional on the label, with an optional AC-GAN head.

Architecture (depth from the image size, ``levels = log2(H) - 2``):

- generator: ``[z, embed(y)]`` -> linear projection reshaped to ``(ch * 2**levels, 4, 4)``, BatchNorm,
  ReLU -> ``levels`` x [ConvTranspose 4x4 stride 2, BatchNorm, ReLU] -> 3x3 conv -> Tanh;
- discriminator: ``[x, embed(y) as an extra H x W channel]`` -> 3x3 conv, LeakyReLU 0.2 (no BatchNorm on
  the input layer, as in the paper) -> ``levels`` x [Conv 4x4 stride 2, BatchNorm, LeakyReLU 0.2] ->
  linear real/fake logit (and, with ``ac_gan=True``, a linear ``K``-way class head: AC-GAN, Odena et al.
  2017, whose class loss is added to both players' losses);
- weights ``N(0, 0.02)``, Adam ``lr=2e-4, betas=(0.5, 0.999)`` for both players (the paper's settings).

Training uses Lightning 2 manual optimisation: per batch one discriminator step on real and
(detached) fake images, then one generator step with the non-saturating loss ``-log D(G(z))``.
Label-noise trick on the discriminator targets (as in the source article's code, after Salimans et
al. 2016's one-sided smoothing): real targets ``~ U(1 - label_noise, 1)``, fake targets
``~ U(0, label_noise)``, and each target is flipped with probability ``label_flip``.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from torchaug.generative._nets import (
    ConvTrunk,
    GeneratorMixin,
    UpsampleNet,
    check_class_labels,
    check_sample_shape,
    dcgan_init,
    from_unit,
    num_levels,
)

__all__ = ["DCGAN"]


class DCGAN(GeneratorMixin, L.LightningModule):
    """A DCGAN as a LightningModule; trains on ``(x uint8 (B,C,H,W), y int64 (B,))`` batches.

    Args:
        num_classes: number of classes ``K`` (injected by the training builder).
        sample_shape: ``(C, H, W)``; square, side 8, 16, 32 or 64 (injected by the builder).
        latent_dim: size of the noise vector ``z``.
        conditional: feed the label to both networks (cGAN, Mirza & Osindero 2014); False is the
            unconditional DCGAN of the paper and of the source article's code.
        ac_gan: add an auxiliary classifier head to the discriminator (requires ``conditional``).
        aux_weight: weight of the AC-GAN class losses.
        base_channels: channels at full resolution (``ngf``/``ndf``); doubled at each stride-2 stage.
        embed_dim: size of the generator's label embedding.
        lr, beta1, beta2: Adam settings of both players.
        label_noise: width of the uniform noise on the discriminator's targets (0 disables).
        label_flip: probability of flipping a discriminator target (0 disables).
        seed: seeds the per-epoch sample grid.
    """

    def __init__(
        self,
        num_classes: int,
        sample_shape: tuple[int, int, int] | list[int],
        latent_dim: int = 64,
        conditional: bool = True,
        ac_gan: bool = False,
        aux_weight: float = 1.0,
        base_channels: int = 32,
        embed_dim: int = 16,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        label_noise: float = 0.1,
        label_flip: float = 0.05,
        seed: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        c, h, w = check_sample_shape(sample_shape, owner=owner)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{owner}: num_classes must be a positive int; got {num_classes!r}")
        if ac_gan and not conditional:
            raise ValueError(f"{owner}: ac_gan=True needs conditional=True (the generator must be told the class)")
        for name, v in (("label_noise", label_noise), ("label_flip", label_flip)):
            if not 0.0 <= v < 0.5:
                raise ValueError(f"{owner}: {name} must be in [0, 0.5); got {v!r}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.num_classes, self.conditional, self.ac_gan = num_classes, bool(conditional), bool(ac_gan)
        self.sample_shape, self.latent_dim = (c, h, w), latent_dim
        levels = num_levels(h)
        self.g_embed = nn.Embedding(num_classes, embed_dim) if self.conditional else None
        self.g_net = UpsampleNet(latent_dim + (embed_dim if self.conditional else 0), c, base_channels, levels)
        self.d_embed = nn.Embedding(num_classes, h * w) if self.conditional else None
        self.d_trunk = ConvTrunk(c + (1 if self.conditional else 0), base_channels, levels)
        self.d_head = nn.Linear(self.d_trunk.out_features, 1)
        self.aux_head = nn.Linear(self.d_trunk.out_features, num_classes) if self.ac_gan else None
        dcgan_init(self)

    # -- networks ---------------------------------------------------------------------------
    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """``z`` (B, latent_dim) -> images in [-1, 1] (Tanh), differentiable."""
        if self.g_embed is not None:
            z = torch.cat([z, self.g_embed(y)], 1)
        return torch.tanh(self.g_net(z))

    def discriminate(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Images in [-1, 1] -> ``(real/fake logits (B,), class logits (B, K) or None)``."""
        if self.d_embed is not None:
            x = torch.cat([x, self.d_embed(y).view(x.shape[0], 1, *x.shape[-2:])], 1)
        h = self.d_trunk(x)
        return self.d_head(h).squeeze(1), (self.aux_head(h) if self.aux_head is not None else None)

    def _labels(self, y: Any, n: int, owner: str) -> Tensor | None:
        if not self.conditional:
            if y is not None:
                raise ValueError(f"{owner}: this DCGAN is unconditional (conditional=False); pass y=None")
            return None
        if y is None:
            return torch.arange(n, device=self.device) % self.num_classes
        return check_class_labels(y, n, self.num_classes, owner=owner, device=self.device)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: int | Tensor | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.uint8,
    ) -> Tensor:
        """``n`` images ``(n, C, H, W)`` from ``z ~ N(0, I)`` (eval mode: BatchNorm running statistics).

        ``y``: class index or ``(n,)`` class indices (conditional); None cycles through the classes.
        ``dtype``: uint8 in [0, 255] (like the image datamodules) or float in [0, 1].
        """
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"DCGAN.sample: n must be a non-negative int; got {n!r}")
        y = self._labels(y, n, "DCGAN.sample")
        z = torch.randn(n, self.latent_dim, generator=generator, device=self.device, dtype=self.dtype)
        was_training = self.training
        self.eval()
        try:
            out = self.generate(z, y)
        finally:
            self.train(was_training)
        return from_unit((out + 1) / 2, dtype)

    # -- Lightning --------------------------------------------------------------------------
    def _targets(self, n: int) -> tuple[Tensor, Tensor]:
        hp = self.hparams
        real = 1.0 - hp.label_noise * torch.rand(n, device=self.device)
        fake = hp.label_noise * torch.rand(n, device=self.device)
        if hp.label_flip > 0:
            real = torch.where(torch.rand(n, device=self.device) < hp.label_flip, 1.0 - real, real)
            fake = torch.where(torch.rand(n, device=self.device) < hp.label_flip, 1.0 - fake, fake)
        return real, fake

    def _d_loss(self, x: Tensor, fake: Tensor, y: Tensor, yc: Tensor | None, real_t: Tensor, fake_t: Tensor
                ) -> tuple[Tensor, Tensor, Tensor]:
        d_real, aux_real = self.discriminate(x, yc)
        d_fake, aux_fake = self.discriminate(fake, yc)
        loss = F.binary_cross_entropy_with_logits(d_real, real_t) + F.binary_cross_entropy_with_logits(d_fake, fake_t)
        if aux_real is not None:
            loss = loss + self.hparams.aux_weight * (F.cross_entropy(aux_real, y) + F.cross_entropy(aux_fake, y))
        return loss, d_real, d_fake

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x01, y = batch
        x = x01 * 2 - 1
        n = x.shape[0]
        yc = y if self.conditional else None
        opt_g, opt_d = self.optimizers()
        fake = self.generate(torch.randn(n, self.latent_dim, device=self.device), yc)

        real_t, fake_t = self._targets(n)
        d_loss, d_real, d_fake = self._d_loss(x, fake.detach(), y, yc, real_t, fake_t)
        opt_d.zero_grad()
        self.manual_backward(d_loss)
        opt_d.step()

        g_logit, g_aux = self.discriminate(fake, yc)
        g_loss = F.binary_cross_entropy_with_logits(g_logit, torch.ones_like(g_logit))
        if g_aux is not None:
            g_loss = g_loss + self.hparams.aux_weight * F.cross_entropy(g_aux, y)
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        opt_g.step()

        log = dict(on_step=False, on_epoch=True, batch_size=n)
        self.log("train/d_loss", d_loss.detach(), prog_bar=True, **log)
        self.log("train/g_loss", g_loss.detach(), prog_bar=True, **log)
        self.log("train/loss", (d_loss + g_loss).detach(), **log)
        self.log("train/d_real", torch.sigmoid(d_real.detach()).mean(), **log)
        self.log("train/d_fake", torch.sigmoid(d_fake.detach()).mean(), **log)

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Discriminator loss and accuracy (real vs fresh fakes, clean targets) and generator loss on val data."""
        self._eval_step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """The validation metrics on the test split (``test/d_acc`` near 0.5 means D cannot tell)."""
        self._eval_step(batch, "test")

    def _eval_step(self, batch: tuple[Tensor, Tensor], stage: str) -> None:
        x01, y = batch
        x, n = x01 * 2 - 1, x01.shape[0]
        yc = y if self.conditional else None
        fake = self.generate(torch.randn(n, self.latent_dim, device=self.device), yc)
        ones, zeros = torch.ones(n, device=self.device), torch.zeros(n, device=self.device)
        d_loss, d_real, d_fake = self._d_loss(x, fake, y, yc, ones, zeros)
        g_loss = F.binary_cross_entropy_with_logits(d_fake, ones)
        d_acc = ((d_real > 0).float().mean() + (d_fake < 0).float().mean()) / 2
        for k, v in (("d_loss", d_loss), ("g_loss", g_loss), ("loss", d_loss + g_loss), ("d_acc", d_acc)):
            self.log(f"{stage}/{k}", v, on_step=False, on_epoch=True, prog_bar=k == "d_acc", batch_size=n)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        betas = (hp.beta1, hp.beta2)
        g_params = [p for name, p in self.named_parameters() if name.startswith("g_")]
        d_params = [p for name, p in self.named_parameters() if not name.startswith("g_")]
        return [torch.optim.Adam(g_params, lr=hp.lr, betas=betas), torch.optim.Adam(d_params, lr=hp.lr, betas=betas)]
