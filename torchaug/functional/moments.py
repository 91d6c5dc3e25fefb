"""Channel statistics of feature maps: the one place AdaIN and MoEx take their mean and std from.

:func:`mean_std` is the shared kernel; :func:`instance_moments` is the per-sample, per-channel case
(instance norm, AdaIN's ``mu`` and ``sigma``); :func:`adain` and :func:`adain_stats` are adaptive
instance normalisation on top of it (Huang & Belongie, "Arbitrary Style Transfer in Real-time with
Adaptive Instance Normalization", ICCV 2017, eq. 8).

**Conventions** (both callers, MoEx and AdaIN, used them before they shared this code):

- variance with Bessel's correction (``correction=1``, unbiased), as torch's ``var`` default and the
  reference code of AdaIN (``calc_mean_std`` in github.com/naoto0804/pytorch-AdaIN) and of MoEx
  (github.com/Boyiliee/MoEx, ``moex`` / PONO);
- ``eps`` is added to the variance, not to the std: ``std = sqrt(var + eps)``, ``eps = 1e-5`` by default
  (both reference codes);
- one ``torch.var_mean`` pass over the reduced dimensions, in the input's dtype (callers that want
  float32 statistics of half features promote first, as MoEx does); the results keep the reduced
  dimensions (size 1), so they broadcast against the input.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["adain", "adain_stats", "instance_moments", "mean_std"]


def mean_std(x: Tensor, dims: tuple[int, ...], *, eps: float = 1e-5, correction: int = 1) -> tuple[Tensor, Tensor]:
    """``(mean, sqrt(var + eps))`` of ``x`` over ``dims`` (kept as size-1 dimensions).

    ``correction``: 1 for the unbiased variance (the default of both callers), 0 for the biased one.
    Computed by one ``torch.var_mean`` in ``x``'s dtype. No checks: callers validate shapes.
    """
    var, mean = torch.var_mean(x, dim=dims, correction=correction, keepdim=True)
    return mean, (var + eps).sqrt()


def instance_moments(feat: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and std over space: ``(B, C, H, W) -> ((B, C, 1, 1), (B, C, 1, 1))``.

    :func:`mean_std` over ``(H, W)``: unbiased variance, ``std = sqrt(var + eps)``; a ``1 x 1`` map (one value
    per channel, where the unbiased variance is undefined) uses the biased one (0), so ``std = sqrt(eps)``.
    """
    if not isinstance(feat, Tensor) or feat.ndim != 4:
        from torchaug._validation import describe

        raise ValueError(f"instance_moments: feat must be a (B, C, H, W) tensor; got {describe(feat)}")
    return mean_std(feat, (2, 3), eps=eps, correction=1 if feat.shape[2] * feat.shape[3] > 1 else 0)


def adain_stats(content_feats: Tensor, style_mean: Tensor, style_std: Tensor, eps: float = 1e-5) -> Tensor:
    """AdaIN with given target statistics: ``style_std * (c - mu(c)) / sigma(c) + style_mean``.

    ``content_feats (B, C, H, W)``; ``style_mean``, ``style_std`` of shape ``(B or 1, C, 1, 1)`` or ``(B or 1, C)``;
    ``mu``, ``sigma`` from :func:`instance_moments`. Returns ``(B, C, H, W)``.
    """
    c = content_feats.shape[1]
    style_mean, style_std = style_mean.reshape(-1, c, 1, 1), style_std.reshape(-1, c, 1, 1)
    c_mean, c_std = instance_moments(content_feats, eps)
    return (content_feats - c_mean) / c_std * style_std + style_mean


def adain(content_feats: Tensor, style_feats: Tensor, eps: float = 1e-5) -> Tensor:
    """Adaptive instance normalisation (Huang & Belongie 2017, eq. 8).

    ``sigma(s) * (c - mu(c)) / sigma(c) + mu(s)`` per sample and channel. ``content_feats (B, C, H, W)``;
    ``style_feats (B or 1, C, H', W')`` (spatial size may differ). Returns ``(B, C, H, W)``.
    """
    if (
        not isinstance(content_feats, Tensor)
        or not isinstance(style_feats, Tensor)
        or content_feats.ndim != 4
        or style_feats.ndim != 4
        or content_feats.shape[1] != style_feats.shape[1]
    ):
        from torchaug._validation import describe

        raise ValueError(f"adain: content_feats and style_feats must be (B, C, H, W) with equal C; "
                         f"got {describe(content_feats)} and {describe(style_feats)}")
    s_mean, s_std = instance_moments(style_feats, eps)
    return adain_stats(content_feats, s_mean, s_std, eps)
