"""Tiny pure helpers on targets, shared by every mixer and feature-space hook."""

from __future__ import annotations

import torch

from torchaug._validation import check_labels, check_number


def one_hot(y: torch.Tensor, num_classes: int, *, label_smoothing: float = 0.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Class indices ``(B,)`` or soft targets ``(B, K)`` -> smoothed soft targets ``(B, K)``.

    Label smoothing with ``s`` maps a one-hot row to ``(1 - s) * onehot + s / K``, so every entry
    lies in ``[s/K, 1 - s + s/K]`` and rows still sum to 1.
    """
    check_number(label_smoothing, owner="one_hot", name="label_smoothing", low=0.0, high=1.0)
    check_labels(y, owner="one_hot", num_classes=num_classes)
    if y.ndim == 1:
        out = torch.zeros(y.shape[0], num_classes, dtype=dtype, device=y.device)
        out.scatter_(1, y.unsqueeze(1), 1.0)
    else:
        out = y.to(dtype)
    if label_smoothing:
        out = out * (1.0 - label_smoothing) + label_smoothing / num_classes
    return out


def mix_targets(y: torch.Tensor, perm: torch.Tensor, lam: torch.Tensor | float) -> torch.Tensor:
    """``lam * y + (1 - lam) * y[perm]`` for soft targets ``(B, K)``; ``lam`` scalar or ``(B,)``.

    Used by every mixer and by the feature-space hooks, so targets compose in order:
    mixing ``y`` with ``(perm1, lam1)`` and then ``(perm2, lam2)`` is two calls.
    """
    if not isinstance(lam, torch.Tensor):  # one weight for every row: lerp takes the number
        return torch.lerp(y.index_select(0, perm), y, float(lam))
    if lam.dtype != y.dtype:
        lam = lam.to(y.dtype)
    if lam.ndim == 1:
        lam = lam.unsqueeze(1)
    return torch.lerp(y.index_select(0, perm), y, lam)
