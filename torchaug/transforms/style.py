"""Style augmentation (Jackson et al. 2019) as a random transform: AdaIN-stylise a fraction ``p`` of a batch.

:class:`StyleAugment` takes plain ``nn.Module`` s: an encoder (float RGB in [0, 1] -> features, or a list of
features whose last is the AdaIN layer) and a decoder (features -> RGB), e.g. the VGG-19 encoder and the
decoder of a trained :class:`torchaug.generative.AdaINStyleTransfer` (Huang & Belongie 2017), plus the style
images. ``torchaug.generative.StyleAugment`` builds it from such a model or its checkpoint path. This module
needs torch alone (it never imports :mod:`torchaug.generative`, Lightning or Hydra).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from torchaug._validation import check_choice, check_images, describe
from torchaug.functional.moments import adain_stats, instance_moments
from torchaug.registry import register
from torchaug.transforms._args import float_range
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["StyleAugment"]

MODES = ("bank", "gaussian")


def _module_device(m: nn.Module, default: torch.device) -> torch.device:
    for t in m.parameters():
        return t.device
    for t in m.buffers():
        return t.device
    return default


def _rgb01(x: Tensor) -> Tensor:
    """uint8 [0, 255] or float [0, 1] ``(B, 1 or 3, H, W)`` -> float32 RGB in [0, 1] (grey repeated)."""
    x01 = x.float().div(255) if x.dtype == torch.uint8 else x.float()
    return x01.expand(-1, 3, -1, -1) if x01.shape[1] == 1 else x01


def _tiny_example() -> "StyleAugment":
    """The registry's example, offline and fast: a seeded random 1x1-conv encoder to 8 features and, as its
    decoder, the encoder's pseudo-inverse (so ``decoder(encoder(x)) == x``: AdaIN in a random 8-d colour
    embedding, a per-pixel colour transfer), and four random single-colour textured style images."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(8, 3, generator=g)
    bias = 0.1 * torch.randn(8, generator=g)
    w_inv = torch.linalg.pinv(w)
    encoder, decoder = nn.Conv2d(3, 8, 1), nn.Conv2d(8, 3, 1)
    with torch.no_grad():
        encoder.weight.copy_(w.view(8, 3, 1, 1))
        encoder.bias.copy_(bias)
        decoder.weight.copy_(w_inv.view(3, 8, 1, 1))
        decoder.bias.copy_(-(w_inv @ bias))
    colours = 0.1 + 0.8 * torch.rand(4, 3, 1, 1, generator=g)
    styles = (colours + 0.3 * (torch.rand(4, 3, 16, 16, generator=g) - 0.5)).clamp(0, 1)
    return StyleAugment(encoder, decoder, styles, p=0.5)


@register("transform", example=_tiny_example)
class StyleAugment(RandomTransform):
    """Style augmentation (Jackson et al. 2019, "Style Augmentation: Data Augmentation via Style
    Randomization"): stylise each image with probability ``p`` by AdaIN (Huang & Belongie 2017).

    Each selected image gets target style statistics, the channel mean and std of an AdaIN-layer feature map:
    those of a random image of the style bank (``mode="bank"``), or a draw from a multivariate Gaussian fitted
    to the bank's ``[mean, log std]`` vectors (``mode="gaussian"``, the paper's style-embedding distribution).
    Its features ``f(x)`` become ``t = alpha * AdaIN(f(x), style) + (1 - alpha) * f(x)`` (``alpha`` 0.5 is the
    paper's setting) and the decoder turns ``t`` into the output image. Images not selected pass through
    unchanged. Photometric: masks, boxes and keypoints are returned unchanged; ``region=`` restricts the
    stylisation to a mask. Runs on the device, vectorised (the whole batch is encoded and decoded; no host sync).

    Args:
        encoder: ``nn.Module`` mapping float RGB ``(B, 3, H, W)`` in [0, 1] to a feature map ``(B, C, h, w)``, or to
            a list/tuple of feature maps whose last one is the AdaIN layer (the VGG-19 encoder of
            :class:`torchaug.generative.AdaINStyleTransfer`, ``model.encoder``).
        decoder: ``nn.Module`` mapping ``(B, C, h, w)`` features back to ``(B, 3, H, W)`` (``model.decoder``).
            An ``int`` attribute ``downsample`` (the AdaIN decoder's upsampling factor) lets the input size be
            checked up front: H and W divisible by it and at least twice it.
        styles: style images ``(N, 3 or 1, H', W')`` (or one ``(C, H', W')``), uint8 or float in [0, 1]; their
            statistics are computed once here, with the encoder (stored as buffers ``style_mean``, ``style_std``).
        p: probability that an image is stylised.
        alpha: style strength in [0, 1], or a ``(min, max)`` range drawn uniformly per image.
        mode: ``"bank"`` or ``"gaussian"``.
        same_on_batch: one style (and alpha) for the whole batch.

    The encoder and decoder are frozen (``requires_grad_(False)``) and kept in eval mode.

    Shapes: ``(B, C, H, W)`` or ``(C, H, W)``, uint8 or float, C in {1, 3} (grey images are stylised as RGB and
    returned grey); the dtype is kept (the networks run in float32). Params: ``apply (B,)`` bool,
    ``style_mean (B, C_f)``, ``style_std (B, C_f)`` (the target statistics), ``alpha (B,)``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        styles: Tensor,
        *,
        p: float = 0.5,
        alpha: float | tuple[float, float] = 0.5,
        mode: str = "bank",
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        for name, m in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(m, nn.Module):
                raise TypeError(f"{owner}: {name} must be an nn.Module; got {describe(m)}")
        lo, hi = float_range(alpha, owner=owner, name="alpha", low=0.0, high=1.0)
        self.alpha: float | tuple[float, float] = lo if lo == hi else (lo, hi)
        self._alpha_range = (lo, hi)
        self.mode = check_choice(mode, MODES, owner=owner, name="mode")
        if not isinstance(styles, Tensor):
            raise TypeError(f"{owner}: styles must be a tensor of style images (N, 3, H, W); got {describe(styles)}")
        styles4, _ = check_images(styles, owner=owner, name="styles")
        if styles4.shape[1] not in (1, 3) or styles4.shape[0] < 1:
            raise ValueError(f"{owner}: styles must be (N, 3 or 1, H, W) images with N >= 1; got {describe(styles)}")
        k = getattr(decoder, "downsample", 1)
        self.size_multiple = k if isinstance(k, int) and not isinstance(k, bool) and k >= 1 else 1
        encoder.eval().requires_grad_(False)
        decoder.eval().requires_grad_(False)
        self.encoder = encoder
        self.decoder = decoder
        dev = _module_device(encoder, styles4.device)
        with torch.no_grad():
            mean, std = instance_moments(self._encode(_rgb01(styles4.as_subclass(Tensor).to(dev))))
        mean, std = mean.flatten(1), std.flatten(1)
        self.register_buffer("style_mean", mean)
        self.register_buffer("style_std", std)
        vec = torch.cat([mean, std.log()], 1).double()
        mu = vec.mean(0)
        cov = (vec - mu).T @ (vec - mu) / max(len(vec) - 1, 1)
        cov = cov + torch.eye(len(mu), dtype=cov.dtype, device=cov.device) * (1e-4 + 1e-3 * cov.diagonal().mean())
        self.register_buffer("gauss_mean", mu.float())
        self.register_buffer("gauss_chol", torch.linalg.cholesky(cov).float())

    def train(self, mode: bool = True) -> "StyleAugment":
        super().train(mode)
        self.encoder.eval()
        self.decoder.eval()
        return self

    # -- the networks ----------------------------------------------------------------------
    def _encode(self, rgb01: Tensor) -> Tensor:
        f = self.encoder(rgb01)
        if isinstance(f, (list, tuple)) and f:
            f = f[-1]
        if not isinstance(f, Tensor) or f.ndim != 4 or f.shape[0] != rgb01.shape[0]:
            raise TypeError(f"{type(self).__name__}: encoder must return a (B, C, h, w) feature map or a list of them; "
                            f"got {describe(f)} for input {describe(rgb01)}")
        return f

    def _check_input(self, x: Tensor) -> None:
        owner = type(self).__name__
        if x.device != self.style_mean.device:  # free (no sync); torch would fail deep inside the encoder
            raise ValueError(f"{owner}: x must be on the module's device {self.style_mean.device}; got {x.device}")
        if x.shape[1] not in (1, 3):
            raise ValueError(f"{owner}: x must have 1 or 3 channels; got {describe(x)}")
        k = self.size_multiple
        if x.shape[-1] % k or x.shape[-2] % k:
            raise ValueError(f"{owner}: x height and width must be divisible by {k}; got {describe(x)}")
        if min(x.shape[-2:]) < 2 * k:  # the encoder's reflection padding needs 2+ pixels at its deepest layer
            raise ValueError(f"{owner}: x height and width must be at least {2 * k}; got {describe(x)}")

    # -- parameters ------------------------------------------------------------------------
    def sample_styles(self, n: int, device: torch.device, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``n`` target ``(mean, std)`` pairs, each ``(n, C_f)``, from the bank or the fitted Gaussian."""
        if self.mode == "bank":
            idx = torch.randint(0, self.style_mean.shape[0], (n,), generator=generator, device=device)
            return self.style_mean.to(device)[idx], self.style_std.to(device)[idx]
        z = torch.randn(n, self.gauss_mean.shape[0], generator=generator, device=device)
        v = self.gauss_mean.to(device) + z @ self.gauss_chol.to(device).T
        c = self.style_mean.shape[1]
        return v[:, :c], v[:, c:].exp()

    def make_params(self, x: Tensor, generator: torch.Generator | None) -> Params:
        self._check_input(x)
        b = x.shape[0]
        # drawn in the order of the original implementation: selection, style, then alpha (only for a range)
        apply = self._rand(x, generator=generator) < self.p
        mean, std = self.sample_styles(self._batch(x), x.device, generator)
        lo, hi = self._alpha_range
        if lo == hi:
            alpha = torch.full((b,), lo, device=x.device)
        else:
            alpha = self._uniform(x, lo, hi, generator=generator)
        return {"apply": apply, "style_mean": self._expand(mean, b), "style_std": self._expand(std, b), "alpha": alpha}

    # -- apply -----------------------------------------------------------------------------
    @torch.no_grad()
    def transform(self, x: Tensor, params: Params) -> Tensor:
        self._check_input(x)
        fc = self._encode(_rgb01(x))
        a = params["alpha"].to(device=fc.device, dtype=fc.dtype).view(-1, 1, 1, 1)
        t = a * adain_stats(fc, params["style_mean"], params["style_std"]) + (1 - a) * fc
        out = self.decoder(t)
        if not isinstance(out, Tensor) or out.ndim != 4 or out.shape[1] != 3 or out.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"{type(self).__name__}: the decoder must give back (B, 3, H, W) images of the input's size "
                             f"{tuple(x.shape[-2:])}; got {describe(out)} (x {describe(x)})")
        out = out.clamp(0, 1)
        if x.shape[1] == 1:
            out = out.mean(1, keepdim=True)
        out = out.mul(255).round_().to(torch.uint8) if x.dtype == torch.uint8 else out.to(x.dtype)
        # ``make_params`` draws ``apply`` itself (to keep the original draw order), so it is honoured here
        return torch.where(params["apply"].view(-1, 1, 1, 1), out, x)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, alpha={self.alpha}, mode={self.mode!r}, "
                f"styles={self.style_mean.shape[0]}, features={self.style_mean.shape[1]}")
