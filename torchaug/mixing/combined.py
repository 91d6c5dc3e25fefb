"""MixUp or CutMix, chosen per batch (as timm's ``Mixup``), per pair or per sample."""

from __future__ import annotations

import torch

from torchaug._devpath import cpu_path
from torchaug._validation import check_number, check_probability
from torchaug.mixing import _kernels as K
from torchaug.mixing._base import Mixer, Params
from torchaug.mixing._params import MixCutParams
from torchaug.mixing.cutmix import CutMix, check_minmax
from torchaug.mixing.mixup import MixUp
from torchaug.registry import register


@register("mixer", example=lambda: MixUpCutMix(mixup_alpha=1.0, cutmix_alpha=1.0, num_classes=10))
class MixUpCutMix(Mixer):
    """Apply CutMix with probability ``switch_prob``, else MixUp.

    The choice follows ``mode`` like λ: once per batch (timm's ``Mixup(mode="batch")``, the DeiT
    recipe: ``mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5``), per pair or per sample. A
    zero alpha disables that mixer (both zero: unmixed). ``cutmix_minmax`` and ``correct_lam``
    have timm's ``Mixup`` meaning (see :class:`~torchaug.mixing.CutMix`); with ``cutmix_minmax``
    set CutMix is active whatever ``cutmix_alpha`` says (timm forces it to 1).

    On CPU the per-batch choice is read to run the matching fast kernel; on an accelerator, and
    for per-pair/per-sample choices, both are expressed as one per-pixel weight map
    ``w = image_lam * (1 - box_mask)`` and applied by one kernel, so nothing is read back.
    """

    params_type = MixCutParams

    def __init__(
        self,
        mixup_alpha: float = 0.8,
        cutmix_alpha: float = 1.0,
        switch_prob: float = 0.5,
        *,
        num_classes: int,
        label_smoothing: float = 0.0,
        p: float = 1.0,
        mode: str = "batch",
        pairing: str | None = None,
        inplace: bool = False,
        cutmix_minmax: tuple[float, float] | None = None,
        correct_lam: bool = True,
    ) -> None:
        super().__init__(
            num_classes=num_classes, label_smoothing=label_smoothing, p=p, mode=mode, pairing=pairing, inplace=inplace
        )
        owner = type(self).__name__
        self.mixup_alpha = float(check_number(mixup_alpha, owner=owner, name="mixup_alpha", low=0.0))
        self.cutmix_alpha = float(check_number(cutmix_alpha, owner=owner, name="cutmix_alpha", low=0.0))
        self.switch_prob = check_probability(switch_prob, owner=owner, name="switch_prob")
        self.cutmix_minmax = check_minmax(cutmix_minmax, owner)
        if not isinstance(correct_lam, bool):
            raise TypeError(f"{owner}: correct_lam must be a bool; got {correct_lam!r}")
        self.correct_lam = correct_lam
        if self.cutmix_minmax is not None:
            self.cutmix_alpha = 1.0  # timm: cutmix_minmax makes CutMix active (its alpha is then unused)
        if self.mixup_alpha == 0.0:
            self.switch_prob = 1.0 if self.cutmix_alpha > 0 else 0.0
        elif self.cutmix_alpha == 0.0:
            self.switch_prob = 0.0
        common = dict(num_classes=num_classes, label_smoothing=label_smoothing, p=p, mode=mode, pairing=self.pairing)
        # the two parts, whose draws are reused (plain attributes: they hold no tensors and
        # are not submodules of their own in print(model) or the state dict)
        self.__dict__["_mixup"] = MixUp(max(self.mixup_alpha, 1e-3), **common)
        self.__dict__["_cutmix"] = CutMix(
            max(self.cutmix_alpha, 1e-3), cutmix_minmax=self.cutmix_minmax, correct_lam=correct_lam, **common
        )

    def extra_repr(self) -> str:
        return (
            f"mixup_alpha={self.mixup_alpha}, cutmix_alpha={self.cutmix_alpha}, switch_prob={self.switch_prob}, "
            + super().extra_repr()
        )

    def no_mixing(self) -> bool:
        return (self.mixup_alpha == 0.0 and self.cutmix_alpha == 0.0) or super().no_mixing()

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        perm, offset = self._pairing(x, generator)
        use_cut = self._per_mode(lambda n: torch.rand(n, generator=generator, device=x.device), perm) < self.switch_prob
        mix_lam = self._mixup.draw_lam(x, perm, generator)
        if x.dtype == torch.uint8:
            mix_lam = K.quantize_lam(mix_lam)
        box, cut_lam = self._cutmix.draw_boxes(x, perm, generator)
        one = torch.ones((), device=x.device)
        box = torch.where(use_cut.unsqueeze(1), box, torch.zeros((), dtype=torch.long, device=x.device))
        image_lam = torch.where(use_cut, one, mix_lam)
        lam = torch.where(use_cut, cut_lam, mix_lam)
        return self._base_params(x, perm, offset, lam=lam, image_lam=image_lam, box=box, cutmix=use_cut)

    def apply(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        if cpu_path(x) and self.mode == "batch" and params.cutmix is not None:
            if bool(params.cutmix[0]):  # CPU tensor: no device sync
                return self.paste(x, params, inplace, shared_box=self.p >= 1.0)
            return self.blend(x, params, inplace)
        return self._apply_generic(x, params, inplace)

__all__ = ["MixUpCutMix", "MixUp", "CutMix"]
