"""Variational autoencoder (Kingma & Welling 2014), conditional on the label by default (CVAE, Sohn et al. 2015).

Encoder ``q(z | x, y)``: a conv trunk (3x3 stem, stride-2 convs down to 4x4) whose features are
concatenated with ``onehot(y)`` and mapped to ``(mu, log sigma^2)``. Decoder ``p(x | z, y)``: a linear
projection of ``[z, onehot(y)]`` to 4x4, transposed convs up to the image size, Bernoulli logits per
pixel (``likelihood="bernoulli"``, the paper's choice for binary/grey images, used here with [0, 1]
grey levels as targets) or a fixed-variance Gaussian (``likelihood="gaussian"``: squared error /
``2 sigma^2``). Loss per sample: ``recon + beta * KL(q || N(0, I))`` (analytic KL, beta-VAE weight,
Higgins et al. 2017), summed over pixels and latent dimensions, averaged over the batch.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from torchaug._validation import check_images, describe
from torchaug.generative._nets import (
    ConvTrunk,
    GeneratorMixin,
    UpsampleNet,
    check_class_labels,
    check_sample_shape,
    from_unit,
    num_levels,
    to_unit,
)

__all__ = ["VAE"]


class VAE(GeneratorMixin, L.LightningModule):
    """A (conditional) VAE as a LightningModule; trains on ``(x uint8 (B,C,H,W), y int64 (B,))`` batches.

    Args:
        num_classes: number of classes ``K`` (injected by the training builder).
        sample_shape: image shape ``(C, H, W)``; square, side 8, 16, 32 or 64 (injected by the builder).
        latent_dim: size of ``z``.
        conditional: condition encoder and decoder on the label (CVAE); ``sample`` then takes ``y``.
        beta: weight of the KL term (1 = the ELBO).
        base_channels: channels of the first conv layer (doubled at each stride-2 stage).
        likelihood: ``"bernoulli"`` (BCE on [0, 1] pixels) or ``"gaussian"`` (``sigma`` fixed).
        sigma: standard deviation of the Gaussian likelihood.
        lr: Adam learning rate.
        seed: seeds the per-epoch sample grid (the training noise uses torch's global RNG, seeded by the run).

    Example:
        >>> vae = VAE(num_classes=10, sample_shape=(1, 8, 8), latent_dim=16)
        >>> vae.sample(4, y=torch.tensor([0, 1, 2, 3])).shape   # uint8 (4, 1, 8, 8)
    """

    def __init__(
        self,
        num_classes: int,
        sample_shape: tuple[int, int, int] | list[int],
        latent_dim: int = 16,
        conditional: bool = True,
        beta: float = 1.0,
        base_channels: int = 32,
        likelihood: str = "bernoulli",
        sigma: float = 0.1,
        lr: float = 1e-3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        c, h, w = check_sample_shape(sample_shape, owner=owner)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{owner}: num_classes must be a positive int; got {num_classes!r}")
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"{owner}: likelihood must be 'bernoulli' or 'gaussian'; got {likelihood!r}")
        if not beta >= 0:
            raise ValueError(f"{owner}: beta must be >= 0; got {beta!r}")
        self.save_hyperparameters()
        self.num_classes, self.conditional = num_classes, bool(conditional)
        self.sample_shape = (c, h, w)
        self.latent_dim, self.beta, self.likelihood, self.sigma, self.lr = latent_dim, beta, likelihood, sigma, lr
        levels = num_levels(h)
        cond = num_classes if self.conditional else 0
        self.encoder = ConvTrunk(c, base_channels, levels)
        self.to_stats = nn.Linear(self.encoder.out_features + cond, 2 * latent_dim)
        self.decoder = UpsampleNet(latent_dim + cond, c, base_channels, levels)

    # -- model ------------------------------------------------------------------------------
    def _cond(self, y: Tensor | None, n: int, owner: str) -> Tensor | None:
        if not self.conditional:
            if y is not None:
                raise ValueError(f"{owner}: this VAE is unconditional (conditional=False); pass y=None")
            return None
        if y is None:
            raise ValueError(f"{owner}: this VAE is conditional; y (class indices of shape ({n},)) is required")
        y = check_class_labels(y, n, self.num_classes, owner=owner, device=self.device)
        return F.one_hot(y, self.num_classes).to(self.dtype)

    def _check_x(self, x: Tensor, owner: str) -> Tensor:
        x, _ = check_images(x, owner=owner, allow_single=False)
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(f"{owner}: images must have shape (B, {', '.join(map(str, self.sample_shape))}); got {describe(x)}")
        return to_unit(x)

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x`` (B, C, H, W) uint8 or float in [0, 1] -> ``(mu, logvar)``, each ``(B, latent_dim)``."""
        x = self._check_x(x, "VAE.encode")
        return self._encode(x, self._cond(y, x.shape[0], "VAE.encode"))

    def _encode(self, x01: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor]:
        h = self.encoder(x01)
        if c is not None:
            h = torch.cat([h, c], 1)
        mu, logvar = self.to_stats(h).chunk(2, dim=1)
        return mu, logvar.clamp(-20, 10)

    def _decode_logits(self, z: Tensor, c: Tensor | None) -> Tensor:
        return self.decoder(z if c is None else torch.cat([z, c], 1))

    def _mean_image(self, logits: Tensor) -> Tensor:
        return torch.sigmoid(logits) if self.likelihood == "bernoulli" else logits.clamp(0, 1)

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """``z`` (B, latent_dim) -> float images (B, C, H, W) in [0, 1] (the decoder's mean)."""
        if not isinstance(z, Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"VAE.decode: z must have shape (B, {self.latent_dim}); got {describe(z)}")
        return self._mean_image(self._decode_logits(z.to(self.device, self.dtype), self._cond(y, z.shape[0], "VAE.decode")))

    def forward(self, x01: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Float ``x01`` in [0, 1] -> ``(decoder logits, mu, logvar)`` with ``z = mu + sigma * eps``."""
        c = self._cond(y, x01.shape[0], "VAE.forward") if self.conditional else None
        mu, logvar = self._encode(x01, c)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self._decode_logits(z, c), mu, logvar

    def loss_terms(self, x01: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        """Per-batch means of the per-sample sums: ``recon``, ``kl`` and ``loss = recon + beta * kl``."""
        logits, mu, logvar = self(x01, y if self.conditional else None)
        if self.likelihood == "bernoulli":
            rec = F.binary_cross_entropy_with_logits(logits, x01, reduction="none")
        else:
            rec = (logits - x01).pow(2) / (2 * self.sigma**2)
        rec = rec.flatten(1).sum(1).mean()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1).mean()
        return {"loss": rec + self.beta * kl, "recon": rec, "kl": kl}

    # -- public sampling API ------------------------------------------------------------------
    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Decode the posterior mean of ``x``; returned in ``x``'s dtype (uint8 or float in [0, 1])."""
        was_training = self.training
        self.eval()
        try:
            x01 = self._check_x(x, "VAE.reconstruct")
            c = self._cond(y, x01.shape[0], "VAE.reconstruct")
            mu, _ = self._encode(x01.to(self.device), c)
            out = self._mean_image(self._decode_logits(mu, c))
        finally:
            self.train(was_training)
        return from_unit(out, x.dtype).to(x.device)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: int | Tensor | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.uint8,
    ) -> Tensor:
        """``n`` images ``(n, C, H, W)`` decoded from ``z ~ N(0, I)`` (eval mode).

        ``y``: class index or ``(n,)`` class indices (conditional VAE); None cycles through the classes
        (``arange(n) % K``). ``dtype``: uint8 in [0, 255] (like the image datamodules) or float in [0, 1].
        """
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"VAE.sample: n must be a non-negative int; got {n!r}")
        if y is None and self.conditional:
            y = torch.arange(n, device=self.device) % self.num_classes
        c = self._cond(y, n, "VAE.sample")
        z = torch.randn(n, self.latent_dim, generator=generator, device=self.device, dtype=self.dtype)
        was_training = self.training
        self.eval()
        try:
            out = self._mean_image(self._decode_logits(z, c))
        finally:
            self.train(was_training)
        return from_unit(out, dtype)

    def codec(self, labels: Tensor | None = None, *, label_scale: float = 10.0) -> Any:
        """A :class:`torchaug.resampling.images.Codec` over this VAE, for latent SMOTE (see ``latent.py``)."""
        from torchaug.generative.latent import VAECodec

        return VAECodec(self, labels, label_scale=label_scale)

    # -- Lightning --------------------------------------------------------------------------
    def _step(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        x, y = batch
        terms = self.loss_terms(x, y)
        for k, v in terms.items():
            self.log(f"{stage}/{k}", v, on_step=False, on_epoch=True, prog_bar=k == "loss", batch_size=x.shape[0])
        return terms["loss"]

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Held-out negative ELBO (``test/loss``), the usual VAE evaluation."""
        self._step(batch, "test")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)
