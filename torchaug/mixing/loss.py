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
