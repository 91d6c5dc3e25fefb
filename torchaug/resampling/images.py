"""Resampling image data sets: as flattened pixels, or in the latent space of a codec.

SMOTE-style samplers work on ``(n, d)`` feature rows. :func:`resample_images` turns an
image data set into rows, resamples it and turns the synthetic rows back into images:

- without a codec: each ``(C, H, W)`` image is flattened into ``C*H*W`` float pixel values
  (0..255 for uint8 images, [0, 1] for floating ones);
- with a :class:`Codec` (``encode``: float images in [0, 1] -> ``(n, D)`` latents, ``decode``:
  back), resampling happens between latent codes and the synthetic codes are decoded; the
  generative module's VAE implements this interface.

Quantisation: synthetic uint8 images are ``round(clamp(v, 0, 255))`` of the interpolated
pixel values (round half to even), so each synthetic pixel is within 0.5 grey levels of the
exact SMOTE point; floating images are clamped to [0, 1]. The original images are returned
unchanged, first.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from torchaug._validation import check_images, describe

__all__ = ["Codec", "resample_images"]


@runtime_checkable
class Codec(Protocol):
    """An encoder/decoder pair that maps images to flat latent codes and back.

    ``encode(x)``: ``(N, C, H, W)`` float images in [0, 1] -> ``(N, D)`` float codes.
    ``decode(z)``: ``(N, D)`` codes -> ``(N, C, H, W)`` float images in [0, 1].
    """

    def encode(self, x: torch.Tensor) -> torch.Tensor: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


def _in_batches(fn: Any, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    return torch.cat([fn(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)])


def _original_positions(sampler: Any, n: int) -> Any:
    """Positions of the output rows among the original rows (>= n: synthetic), or None (originals first)."""
    if getattr(sampler, "_sampling_type", "over-sampling") != "over-sampling":
        return getattr(sampler, "sample_indices_", None)
    cleaner = getattr(sampler, "enn_", None) or getattr(sampler, "tomek_", None)
    if hasattr(sampler, "smote_") and cleaner is not None:
        return getattr(cleaner, "sample_indices_", None)
    return None


def _decode_rows(codec: Any, new: torch.Tensor, images: torch.Tensor, batch_size: int, owner: str) -> torch.Tensor:
    c, h, w = images.shape[1:]
    if codec is None:
        if images.dtype == torch.uint8:
            return new.clamp(0, 255).round().to(torch.uint8).reshape(-1, c, h, w).to(images.device)
        return new.clamp(0, 1).to(images.dtype).reshape(-1, c, h, w).to(images.device)
    with torch.no_grad():
        dec = _in_batches(codec.decode, new, batch_size)
    if dec.shape[1:] != images.shape[1:]:
        raise ValueError(f"{owner}: codec.decode must return (m, {c}, {h}, {w}) images; got {describe(dec)}")
    dec = dec.clamp(0, 1)
    out = (dec * 255).round().to(torch.uint8) if images.dtype == torch.uint8 else dec.to(images.dtype)
    return out.to(images.device)


def resample_images(
    sampler: Any,
    images: torch.Tensor,
    labels: torch.Tensor,
    codec: Codec | None = None,
    *,
    batch_size: int = 512,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Over-sample an image data set with ``sampler`` (anything with ``fit_resample``).

    Args:
        sampler: e.g. ``SMOTE(k_neighbors=5, random_state=0)``.
        images: ``(N, C, H, W)`` uint8 in [0, 255] or floating in [0, 1].
        labels: ``(N,)`` integer class labels.
        codec: optional :class:`Codec`; when given, resample its latent codes instead of pixels.
        batch_size: images per ``encode``/``decode`` call.

    Returns:
        ``(images_res, labels_res)``: the ``N`` original images first (unchanged), then the
        synthetic ones, in ``images``' dtype and device. For under-samplers and cleaners the
        selected original images (``images[sampler.sample_indices_]``); for SMOTEENN / SMOTETomek
        the cleaner's rows, original images unchanged and synthetic ones decoded.
    """
    owner = "resample_images"
    if not hasattr(sampler, "fit_resample"):
        raise TypeError(f"{owner}: sampler must have a fit_resample(X, y) method; got {describe(sampler)}")
    images, single = check_images(images, owner=owner, name="images", allow_single=False)
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{owner}: labels must be a torch.Tensor of shape ({images.shape[0]},); got {describe(labels)}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{owner}: labels must have shape ({images.shape[0]},); got {describe(labels)}")
    if codec is not None and not isinstance(codec, Codec):
        raise TypeError(f"{owner}: codec must have encode(x) and decode(z) methods; got {describe(codec)}")
    n, c, h, w = images.shape
    is_uint8 = images.dtype == torch.uint8
    if codec is None:
        rows = images.reshape(n, -1).to(torch.float32 if is_uint8 else images.dtype)
    else:
        x01 = images.to(torch.float32) / 255 if is_uint8 else images
        with torch.no_grad():
            rows = _in_batches(codec.encode, x01, batch_size)
        if rows.ndim != 2 or rows.shape[0] != n:
            raise ValueError(f"{owner}: codec.encode must return ({n}, D) codes; got {describe(rows)}")
    rows_res, labels_res = sampler.fit_resample(rows, labels)
    picked = _original_positions(sampler, n)
    if picked is not None:
        # under-samplers / cleaners (and the cleaning step of SMOTEENN / SMOTETomek): the output
        # rows are original images where the position is < n, decoded synthetic rows elsewhere
        idx = torch.as_tensor(picked, dtype=torch.long).to(images.device)
        out = images[idx.clamp(max=n - 1)].clone()
        synth = (idx >= n).nonzero().squeeze(1)
        if synth.numel():
            out[synth] = _decode_rows(codec, rows_res[synth.to(rows_res.device)], images, batch_size, owner)
        return out, labels_res.to(labels.device)
    new = rows_res[n:]
    if codec is None:
        if is_uint8:
            new_images = new.clamp(0, 255).round().to(torch.uint8)
        else:
            new_images = new.clamp(0, 1).to(images.dtype)
        new_images = new_images.reshape(-1, c, h, w)
    else:
        with torch.no_grad():
            dec = _in_batches(codec.decode, new, batch_size) if new.shape[0] else new.new_empty(0, c, h, w)
        if dec.shape[1:] != images.shape[1:]:
            raise ValueError(f"{owner}: codec.decode must return (m, {c}, {h}, {w}) images; got {describe(dec)}")
        dec = dec.clamp(0, 1)
        new_images = (dec * 255).round().to(torch.uint8) if is_uint8 else dec.to(images.dtype)
    new_images = new_images.to(images.device)
    return torch.cat([images, new_images]), labels_res.to(labels.device)
