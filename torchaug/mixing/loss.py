"""Soft-target cross-entropy, the loss every mixer's targets are meant for."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from torchaug._validation import describe


class SoftTargetCrossEntropy(nn.Module):
    """``mean_i( -sum_k y[i, k] log softmax(logits[i])_k )``.

    ``logits`` ``(B, K)``; ``target`` ``(B, K)`` soft targets (rows summing to 1), or int64 class
    indices ``(B,)`` (plain cross-entropy, e.g. for validation). Because the loss is linear in
    the target, with mixed targets ``λ y_a + (1-λ) y_b`` it equals
    ``λ CE(logits, y_a) + (1-λ) CE(logits, y_b)``: the mixup paper's loss.
    """

    __torchaug_public__ = False  # a loss, not an augmenter

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
            raise ValueError(f"SoftTargetCrossEntropy: logits must be a (B, K) tensor; got {describe(logits)}")
        if not isinstance(target, torch.Tensor):
            raise TypeError(f"SoftTargetCrossEntropy: target must be a tensor; got {describe(target)}")
        if target.ndim == 1 and not target.is_floating_point():
            return F.cross_entropy(logits, target)
        if target.shape != logits.shape:
            raise ValueError(
                f"SoftTargetCrossEntropy: target must be (B, K) soft targets shaped like logits "
                f"{tuple(logits.shape)} or (B,) int64 classes; got {describe(target)}"
            )
        logp = F.log_softmax(logits.float(), dim=-1)
        return -(target.to(logp.dtype) * logp).sum(-1).mean()


class JsdCrossEntropy(nn.Module):
    """AugMix's loss (Hendrycks et al., ICLR 2020, Sec. 3 "Jensen-Shannon Divergence Consistency
    Loss"): cross-entropy on the clean split plus ``alpha`` times the Jensen-Shannon divergence
    between the softmax outputs of the ``num_splits`` splits,

    ``CE(p_clean, y) + alpha / n * sum_s KL(p_s || M)``,  ``M = clamp(mean_s p_s, 1e-7, 1)``.

    timm's ``timm.loss.JsdCrossEntropy(num_splits=3, alpha=12, smoothing=0.1)`` semantics and
    defaults (the paper used ``lambda = 12``; timm clamps the mixture at 1e-7 and takes the KL
    terms with ``reduction="batchmean"``): equal to timm's value on the same inputs (tested).

    ``logits`` ``(n * B, K)`` ordered split by split, clean first (:class:`torchaug.transforms.AugMix`
    with ``num_splits=n``). ``target``: int64 classes ``(n * B,)`` or ``(B,)`` (label smoothing
    ``smoothing`` as timm's ``LabelSmoothingCrossEntropy``: ``(1 - s) * onehot + s / K``), or soft
    targets ``(n * B, K)`` / ``(B, K)`` used as they are (smoothing already folded in, as
    ``ClassifierModule`` does).
    """

    __torchaug_public__ = False  # a loss, not an augmenter

    def __init__(self, num_splits: int = 3, alpha: float = 12.0, smoothing: float = 0.1) -> None:
        super().__init__()
        if isinstance(num_splits, bool) or not isinstance(num_splits, int) or num_splits < 2:
            raise ValueError(f"JsdCrossEntropy: num_splits must be an int >= 2 (clean + augmented views); got {num_splits!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
            raise ValueError(f"JsdCrossEntropy: alpha must be a number >= 0; got {alpha!r}")
        if smoothing is None:
            smoothing = 0.0
        if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0.0 <= smoothing < 1.0:
            raise ValueError(f"JsdCrossEntropy: smoothing must be a number in [0, 1); got {smoothing!r}")
        self.num_splits, self.alpha, self.smoothing = num_splits, float(alpha), float(smoothing)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        n = self.num_splits
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] % n:
            raise ValueError(f"JsdCrossEntropy: logits must be a (num_splits * B, K) tensor with num_splits={n}; "
                             f"got {describe(logits)}")
        if not isinstance(target, torch.Tensor):
            raise TypeError(f"JsdCrossEntropy: target must be a tensor; got {describe(target)}")
        b = logits.shape[0] // n
        if target.shape[0] not in (b, n * b):
            raise ValueError(f"JsdCrossEntropy: target must have B={b} or num_splits * B={n * b} rows; got {describe(target)}")
        clean, y = logits[:b], target[:b]
        logp = F.log_softmax(clean.float(), dim=-1)
        if y.ndim == 1 and not y.is_floating_point():
            nll = -logp.gather(1, y.unsqueeze(1)).squeeze(1)
            ce = ((1.0 - self.smoothing) * nll - self.smoothing * logp.mean(-1)).mean()
        elif y.shape == clean.shape:
            ce = -(y.to(logp.dtype) * logp).sum(-1).mean()
        else:
            raise ValueError(f"JsdCrossEntropy: target must be int64 classes or (B, K) soft targets like the logits "
                             f"{tuple(clean.shape)}; got {describe(target)}")
        probs = F.softmax(logits.float(), dim=-1).view(n, b, -1)
        log_mixture = probs.mean(0).clamp(1e-7, 1.0).log()
        kl = sum(F.kl_div(log_mixture, probs[s], reduction="batchmean") for s in range(n))
        return ce + self.alpha * kl / n
