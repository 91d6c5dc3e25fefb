"""Gatys, Ecker & Bethge (2016) style transfer by pixel optimisation, and its losses.

- :func:`gram_matrix`, :func:`total_variation`: plain functions on ``(B, C, H, W)`` features / images.
- :func:`gatys_transfer`: content loss on encoder features, style loss on Gram matrices, total-variation
  loss; L-BFGS or Adam over the pixels, with the VGG-19 encoder of :mod:`torchaug.generative._vgg`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from torchaug._validation import describe
from torchaug.generative._nets import from_unit
from torchaug.generative._vgg import VGGEncoder, _check_layers
from torchaug.generative.style_images import _rgb01

__all__ = ["gatys_transfer", "gram_matrix", "total_variation"]


def gram_matrix(feat: Tensor, normalize: bool = True) -> Tensor:
    """Gram matrix ``G = F F^T`` of ``(B, C, H, W)`` features flattened to ``F (B, C, HW)``: ``(B, C, C)``.

    ``normalize`` divides by ``H * W`` (so the value does not grow with image size).
    """
    if feat.ndim != 4:
        raise ValueError(f"gram_matrix: feat must be (B, C, H, W); got {describe(feat)}")
    b, c, h, w = feat.shape
    f = feat.reshape(b, c, h * w)
    g = torch.bmm(f, f.transpose(1, 2))
    return g / (h * w) if normalize else g


def total_variation(x: Tensor) -> Tensor:
    """Mean squared difference between neighbouring pixels (horizontal + vertical) of ``(B, C, H, W)``."""
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()


def gatys_transfer(
    content: Tensor,
    style: Tensor,
    encoder: VGGEncoder | None = None,
    content_layers: tuple[str, ...] | list[str] = ("relu2_1",),
    style_layers: tuple[str, ...] | list[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
    content_weight: float = 1.0,
    style_weight: float = 10.0,
    tv_weight: float = 1.0,
    steps: int = 100,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    init: str = "content",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Gatys, Ecker & Bethge (2016) style transfer by optimising the pixels of the output image.

    Loss: ``content_weight * sum_l MSE(F_l(x), F_l(content))`` over ``content_layers`` +
    ``style_weight * sum_l MSE(G_l(x), G_l(style))`` (Gram matrices normalised by ``H * W``) over
    ``style_layers`` + ``tv_weight * total_variation(x)``. The paper's setting: conv4_2 content, conv1_1..conv5_1
    style, L-BFGS; here shallower defaults (relu2_1 content, relu1_1..relu4_1 style) suit small images.

    Args:
        content: ``(B, C, H, W)`` or ``(C, H, W)`` uint8 or float in [0, 1], C in {1, 3} (small batches).
        style: ``(B or 1, C, H', W')`` or ``(C, H', W')``.
        encoder: a :class:`VGGEncoder` with at least the deepest needed layer (built, seeded random, if None).
        steps: L-BFGS iterations (``optimizer="lbfgs"``, lr 1) or Adam steps (``"adam"``, lr 0.02).
        init: ``"content"`` (start from the content image) or ``"noise"`` (uniform noise from ``generator``).

    Returns the stylised images in ``content``'s dtype and shape (grey inputs give grey outputs).
    """
    owner = "gatys_transfer"
    c01, single, channels = _rgb01(content, owner, "content")
    s01, _, _ = _rgb01(style, owner, "style")
    if s01.shape[0] not in (1, c01.shape[0]):
        raise ValueError(f"{owner}: style must have batch size 1 or {c01.shape[0]}; got {describe(style)}")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"{owner}: optimizer must be 'lbfgs' or 'adam'; got {optimizer!r}")
    if init not in ("content", "noise"):
        raise ValueError(f"{owner}: init must be 'content' or 'noise'; got {init!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"{owner}: steps must be a positive int; got {steps!r}")
    content_layers, style_layers = _check_layers(content_layers, owner), _check_layers(style_layers, owner)
    wanted = _check_layers(content_layers + style_layers, owner)
    if encoder is None:
        encoder = VGGEncoder(wanted).to(c01.device)
    missing = [name for name in wanted if name not in encoder.layers]
    if missing:
        raise ValueError(f"{owner}: the encoder does not output {missing}; it has {list(encoder.layers)}")
    pos = {name: i for i, name in enumerate(encoder.layers)}
    with torch.no_grad():
        fc = encoder(c01)
        fs = encoder(s01)
        targets_c = [fc[pos[n]] for n in content_layers]
        targets_s = [gram_matrix(fs[pos[n]]).expand(c01.shape[0], -1, -1) for n in style_layers]
    if init == "content":
        x = c01.clone()
    else:
        x = torch.rand(c01.shape, generator=generator, device=c01.device)
    x.requires_grad_(True)

    def loss_fn() -> Tensor:
        f = encoder(x)
        lc = sum(F.mse_loss(f[pos[n]], t) for n, t in zip(content_layers, targets_c))
        ls = sum(F.mse_loss(gram_matrix(f[pos[n]]), t) for n, t in zip(style_layers, targets_s))
        return content_weight * lc + style_weight * ls + tv_weight * total_variation(x)

    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([x], lr=lr or 1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

        def closure() -> Tensor:
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)
    else:
        opt = torch.optim.Adam([x], lr=lr or 0.02)
        for _ in range(steps):
            opt.zero_grad()
            loss_fn().backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(0, 1)
    out = x.detach().clamp(0, 1)
    if channels == 1:
        out = out.mean(1, keepdim=True)
    out = from_unit(out, content.dtype)
    return out[0] if single else out
