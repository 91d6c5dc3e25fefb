"""MixUp (Zhang et al., 2018) with one λ per batch, per pair or per sample."""

from __future__ import annotations

import torch

from torchaug.mixing import _kernels as K
from torchaug.mixing._base import AlphaMixer, Params
from torchaug.mixing._random import HostRandom, as_float32, sample_beta
from torchaug.registry import register


@register("mixer", example=lambda: MixUp(alpha=1.0, num_classes=10))
class MixUp(AlphaMixer):
    """MixUp: ``x' = λ x + (1 - λ) x[perm]``, ``y' = λ y + (1 - λ) y[perm]``, ``λ ~ Beta(α, α)``.

    Zhang, Cisse, Dauphin & Lopez-Paz, "mixup: Beyond Empirical Risk Minimization", ICLR 2018
    (CIFAR-10 with PreAct ResNet-18: α = 1; ImageNet: α = 0.2). The source article's code draws
    λ per sample with α = 0.2 (``mode="elem"``).

    Args:
        alpha: Beta concentration; ``alpha=0`` returns the batch unmixed (the article's convention).
        num_classes: K, the width of the soft targets.
        label_smoothing: ``s``: one-hot rows become ``(1 - s) onehot + s / K`` before mixing.
        p: probability that each sample is mixed (unmixed samples keep ``λ = 1``).
        mode: ``"batch"`` one λ for the batch (as timm's and torchvision's MixUp), ``"pair"``
            one λ per pair of partners, ``"elem"`` one λ per sample.
        pairing: how partners are drawn, see :func:`torchaug.mixing._random.sample_pairing`;
            ``"shift"`` (default) lets CPU batches mix each pair in one pass over memory.
        inplace: overwrite the input batch instead of allocating the output.

    Shapes: ``x`` ``(B, C, H, W)`` uint8 or float -> same; ``y`` ``(B,)`` int64 or ``(B, K)``
    -> ``(B, K)`` float32. Any ``B >= 1`` (a batch of one is returned unmixed).

    uint8 batches are mixed exactly in integer arithmetic, rounded to nearest (halves up); for
    them λ is drawn on a grid of 1/128 (the same λ goes into the targets).
    """

    def draw_lam(self, x: torch.Tensor, perm: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """λ per sample following ``mode`` (float32 ``(B,)`` on ``x.device``)."""
        return self._per_mode(lambda n: sample_beta(self.alpha, n, generator=generator, device=x.device), perm)

    def draw_on_host(self, x: torch.Tensor, rng: HostRandom) -> tuple[float, float, None]:
        lam = rng.betavariate(self.alpha, self.alpha)
        lam = K.quantize_lam(lam) if x.dtype == torch.uint8 else as_float32(lam)
        return lam, lam, None

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        perm, offset = self._pairing(x, generator)
        lam = self.draw_lam(x, perm, generator)
        if x.dtype == torch.uint8:
            lam = K.quantize_lam(lam)  # the exact integer kernel's grid; targets use the same λ
        return self._base_params(x, perm, offset, lam=lam, image_lam=lam)

    def apply(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        return self.blend(x, params, inplace)
