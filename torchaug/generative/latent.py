"""Augmentation in a VAE's latent space.

- :func:`latent_augment`: DeVries & Taylor (2017), "Dataset Augmentation in Feature Space": encode each
  sample (posterior mean), pick one of its ``k`` nearest same-class codes ``c_k`` and make
  ``interpolate``: ``c + lam (c_k - c)``, ``extrapolate``: ``c + lam (c - c_k)`` (the paper's best,
  ``lam = 0.5``), or ``noise``: ``c + gamma * N(0, sigma_class^2)`` (per-dimension class std,
  ``gamma = 0.5``); decode with the sample's label.
- :class:`VAECodec`: the :class:`torchaug.resampling.images.Codec` interface (``encode(x01) -> z``,
  ``decode(z) -> x01``) over a VAE, so any SMOTE-family sampler can resample in latent space through
  :func:`torchaug.resampling.resample_images` (DeepSMOTE, Dablain et al. 2022, with a VAE in place of
  their autoencoder). :func:`latent_smote` does exactly that.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from torchaug._validation import check_images, describe

__all__ = ["VAECodec", "latent_augment", "latent_smote"]

_MODES = ("interpolate", "extrapolate", "noise")


class VAECodec:
    """Flat latent codes of a VAE for resampling: ``encode`` gives the posterior mean ``mu``.

    For a conditional VAE the code is ``[mu, label_scale * onehot(y)]``: ``labels`` (the labels of the
    images, in the order they will be encoded) supply ``y`` to the encoder, and ``decode`` reads the class
    back from the one-hot part (``argmax``), so same-class interpolations (SMOTE) decode with their class.
    ``encode`` must then be called on the images in order, in one pass (as ``resample_images`` does); the
    position restarts after ``len(labels)`` images.
    """

    def __init__(self, vae: Any, labels: Tensor | None = None, *, label_scale: float = 10.0) -> None:
        self.vae, self.label_scale = vae, float(label_scale)
        self.conditional = bool(getattr(vae, "conditional", False))
        if self.conditional and labels is None:
            raise ValueError("VAECodec: a conditional VAE needs the images' labels (VAECodec(vae, labels))")
        self.labels = None if labels is None else torch.as_tensor(labels, dtype=torch.int64)
        self._pos = 0

    def encode(self, x: Tensor) -> Tensor:
        y = None
        if self.conditional:
            n = x.shape[0]
            if self._pos + n > len(self.labels):
                raise ValueError(f"VAECodec.encode: {self._pos + n} images encoded but only {len(self.labels)} labels given")
            y = self.labels[self._pos : self._pos + n].to(self.vae.device)
            self._pos = (self._pos + n) % len(self.labels)
        was_training = self.vae.training
        self.vae.eval()
        try:
            mu, _ = self.vae.encode(x.to(self.vae.device), y)
        finally:
            self.vae.train(was_training)
        if y is None:
            return mu
        return torch.cat([mu, self.label_scale * F.one_hot(y, self.vae.num_classes).to(mu.dtype)], 1)

    def decode(self, z: Tensor) -> Tensor:
        d = self.vae.latent_dim
        y = z[:, d:].argmax(1) if self.conditional else None
        was_training = self.vae.training
        self.vae.eval()
        try:
            return self.vae.decode(z[:, :d], y)
        finally:
            self.vae.train(was_training)


@torch.no_grad()
def latent_augment(
    vae: Any,
    images: Tensor,
    labels: Tensor,
    *,
    mode: str = "extrapolate",
    lam: float = 0.5,
    gamma: float = 0.5,
    k: int = 10,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """One new sample per input, made in the VAE's latent space (DeVries & Taylor 2017).

    Args:
        vae: a trained :class:`torchaug.generative.VAE`.
        images: ``(N, C, H, W)`` uint8 or float in [0, 1].
        labels: ``(N,)`` int64 class indices.
        mode: ``"interpolate"``, ``"extrapolate"`` or ``"noise"``.
        lam: interpolation/extrapolation step (paper: 0.5).
        gamma: noise scale in units of the class's per-dimension latent std (paper: 0.5).
        k: neighbours considered (one is drawn uniformly); capped by the class size.
        generator: draws the neighbour choice and the noise.

    Returns:
        ``(new_images, labels)``: ``N`` decoded images in ``images``' dtype and the same labels.
    """
    owner = "latent_augment"
    if mode not in _MODES:
        raise ValueError(f"{owner}: mode must be one of {_MODES}; got {mode!r}")
    images, _ = check_images(images, owner=owner, name="images", allow_single=False)
    if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{owner}: labels must be an int64 tensor of shape ({images.shape[0]},); got {describe(labels)}")
    dev = vae.device
    y = labels.to(dev, torch.int64)
    was_training = vae.training
    vae.eval()
    try:
        mu, _ = vae.encode(images.to(dev), y if vae.conditional else None)
        new = mu.clone()
        for c in torch.unique(y):
            idx = torch.nonzero(y == c).squeeze(1)
            zc = mu[idx]
            n_c = len(idx)
            if mode == "noise":
                std = zc.std(0, unbiased=n_c > 1) if n_c > 1 else torch.zeros_like(zc[0])
                eps = torch.randn(zc.shape, generator=generator, device=dev, dtype=zc.dtype)
                new[idx] = zc + gamma * std * eps
                continue
            if n_c < 2:
                continue  # a lone sample has no same-class neighbour: kept as its reconstruction
            kk = min(k, n_c - 1)
            d = torch.cdist(zc, zc)
            d.fill_diagonal_(float("inf"))
            nn_idx = d.topk(kk, largest=False).indices
            pick = torch.randint(kk, (n_c,), generator=generator, device=dev)
            other = zc[nn_idx[torch.arange(n_c, device=dev), pick]]
            new[idx] = zc + lam * (other - zc) if mode == "interpolate" else zc + lam * (zc - other)
        out = vae.decode(new, y if vae.conditional else None)
    finally:
        vae.train(was_training)
    from torchaug.generative._nets import from_unit

    return from_unit(out, images.dtype).to(images.device), labels


def latent_smote(vae: Any, images: Tensor, labels: Tensor, sampler: Any = None, *, batch_size: int = 512
                 ) -> tuple[Tensor, Tensor]:
    """SMOTE (or any ``fit_resample`` sampler) between VAE latent codes, decoded to images.

    Default sampler: ``torchaug.resampling.SMOTE(k_neighbors=5, random_state=0)`` (balance to the majority
    class). Returns the original images first, then the synthetic ones, as ``resample_images`` does.
    """
    from torchaug.resampling import SMOTE, resample_images

    sampler = SMOTE(k_neighbors=5, random_state=0) if sampler is None else sampler
    codec = VAECodec(vae, labels if vae.conditional else None)
    return resample_images(sampler, images, labels, codec=codec, batch_size=batch_size)
