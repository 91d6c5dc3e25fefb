"""SamplePairing (Inoue, 2018): average each image with a partner, keep the first label."""

from __future__ import annotations

import torch

from torchaug.mixing._base import Mixer, Params
from torchaug.registry import register


@register("mixer", example=lambda: SamplePairing(num_classes=10))
class SamplePairing(Mixer):
    """SamplePairing: ``x' = (x + x[perm]) / 2`` with the label of ``x`` alone.

    Inoue, "Data Augmentation by Pairing Samples for Images Classification", arXiv:1801.02929
    (2018): the partner is another training image drawn at random; the paper trains without it
    first, then switches it on and off in cycles, then fine-tunes without it
    (:class:`torchaug.lightning.mixing_callbacks.SamplePairingSchedule`).

    In ``params``: ``image_lam`` is 0.5 for paired samples (the pixel weight) while ``lam``, the
    label weight, is 1, so ``ỹ' = λ ỹ + (1 - λ) ỹ[perm]`` keeps the first label and composes
    with later mixers.

    Partners come from the batch with the ``"roll"`` pairing by default (``perm[i] = (i + r) %
    B``, ``r`` random per batch, never ``B/2``): no two samples are each other's partner, which
    would give both the same averaged image with two different labels.

    Args:
        num_classes, label_smoothing: targets as in :class:`~torchaug.mixing.MixUp`.
        p: probability that each sample is paired.
        pairing: ``"roll"`` (default), ``"shift"`` or ``"random"``.
        inplace: overwrite the input batch.
    """

    default_pairing = "roll"

    def __init__(
        self,
        *,
        num_classes: int,
        label_smoothing: float = 0.0,
        p: float = 1.0,
        pairing: str | None = None,
        inplace: bool = False,
    ) -> None:
        super().__init__(
            num_classes=num_classes, label_smoothing=label_smoothing, p=p, mode="elem", pairing=pairing, inplace=inplace
        )

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        perm, offset = self._pairing(x, generator)
        return self._base_params(x, perm, offset, image_lam=torch.full((x.shape[0],), 0.5, device=x.device))

    def apply(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        return self.blend(x, params, inplace)
