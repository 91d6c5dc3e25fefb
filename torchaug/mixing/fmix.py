"""FMix (Harris et al., 2020): masks from thresholded low-frequency noise sampled in Fourier space."""

from __future__ import annotations

import functools
from typing import Any

import torch

from torchaug._devpath import cpu_path
from torchaug._validation import check_number, describe
from torchaug.mixing import _kernels as K
from torchaug.mixing._base import Mixer, Params
from torchaug.mixing._params import MaskMixParams
from torchaug.mixing._random import sample_beta
from torchaug.registry import register

__all__ = ["FMix", "fmix_masks", "low_freq_images", "binarise_masks", "top_num_mask"]


@functools.lru_cache(maxsize=16)
def _spectrum_scale(h: int, w: int, decay_power: float, device: torch.device) -> torch.Tensor:
    """``(h, w // 2 + 1)`` amplitude of each real Fourier coefficient, as the reference code lays it out.

    The reference (``ecs-vlc/FMix``, ``fmix.py``) draws ``(re, im)`` normal pairs for the
    frequencies ``f = sqrt(fy^2 + fx^2)`` of the half spectrum, scales both by
    ``1 / max(f, 1 / max(h, w)) ** decay_power``, and reshapes that ``(h, fw, 2)`` array to
    ``(h, 2 fw)`` before ``irfftn(..., (h, w))``: each column ``j`` of the spectrum actually used
    holds a *real* coefficient with the amplitude of frequency column ``j // 2``. The masks here
    follow those semantics (so they match the reference's distribution, including its lower
    horizontal frequencies), with the normal draws taken from a torch generator.
    """
    fy = torch.fft.fftfreq(h, dtype=torch.float64).abs().view(h, 1)
    fw = w // 2 + 1
    fx_all = torch.fft.fftfreq(w, dtype=torch.float64).abs()
    fx = fx_all[torch.arange(fw) // 2].view(1, fw)
    freqs = torch.sqrt(fx * fx + fy * fy)
    scale = 1.0 / freqs.clamp_min(1.0 / max(h, w)) ** decay_power
    return scale.to(torch.float32).to(device)


def low_freq_images(
    n: int, h: int, w: int, decay_power: float, *, generator: torch.Generator | None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """``n`` low-frequency grey images ``(n, h, w)`` float32 (unnormalised: only their order matters)."""
    dev = torch.device(device)
    scale = _spectrum_scale(h, w, float(decay_power), dev)
    coeff = torch.randn((n, *scale.shape), generator=generator, device=dev) * scale
    return torch.fft.irfft2(torch.complex(coeff, torch.zeros_like(coeff)), s=(h, w))


def binarise_masks(
    images: torch.Tensor, lam: torch.Tensor, coin: torch.Tensor, max_soft: float
) -> torch.Tensor:
    """The reference ``binarise_mask`` over a batch: ``(n, h, w)`` images -> masks ``(n, h, w)`` in [0, 1].

    The ``num`` brightest pixels become 1 (``num = ceil(λ N)`` where ``coin > 0.5``, else
    ``floor(λ N)``), the rest 0; with ``max_soft`` the ``2 soft`` pixels around the threshold
    (``soft = int(N min(max_soft, λ, 1 - λ))``) ramp linearly from 1 to 0. The mask mean is
    ``num / N`` exactly. Ranks come from one ``argsort`` per batch (no loop over samples); one
    binary mask on the CPU (``mode="batch"``) takes its ``num`` largest by :func:`top_num_mask`
    instead (the same mask, from a selection).
    """
    n, h, w = images.shape
    size = h * w
    flat = images.reshape(n, size)
    lam64 = lam.double()
    num = torch.where(coin > 0.5, torch.ceil(lam64 * size), torch.floor(lam64 * size)).long()
    if max_soft == 0.0 and n == 1 and cpu_path(flat):
        return top_num_mask(flat, int(num)).view(n, h, w)  # one CPU mask: a selection, not a sort
    order = torch.argsort(flat, dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order).scatter_(1, order, torch.arange(size, device=flat.device).expand(n, size))
    eff = torch.where((max_soft > lam64) | (max_soft > 1.0 - lam64), torch.minimum(lam64, 1.0 - lam64),
                      torch.full_like(lam64, max_soft))
    soft = torch.floor(size * eff).long()
    lo, hi = (num - soft).view(n, 1), (num + soft).view(n, 1)
    ramp = 1.0 - (ranks - lo).float() / (hi - lo - 1).clamp_min(1).float()
    mask = torch.where(ranks < lo, 1.0, torch.where(ranks >= hi, 0.0, ramp))
    return mask.view(n, h, w)


def top_num_mask(flat: torch.Tensor, num: int) -> torch.Tensor:
    """``(1, N)`` values -> float mask of the ``num`` largest, ties taken in index order: exactly
    ``rank < num`` of a stable descending ``argsort``, from one ``kthvalue`` (a selection, O(N))
    instead of a sort."""
    size = flat.shape[1]
    if num <= 0 or num >= size:
        return torch.full_like(flat, 1.0 if num >= size else 0.0, dtype=torch.float32)
    t = torch.kthvalue(flat, size - num + 1, dim=1, keepdim=True).values  # the num-th largest value
    above = flat > t
    tie = flat == t
    need = num - above.sum(1, keepdim=True)
    return (above | (tie & (tie.cumsum(1) <= need))).to(torch.float32)


def fmix_masks(
    lam: torch.Tensor, coin: torch.Tensor, h: int, w: int, decay_power: float, max_soft: float,
    *, generator: torch.Generator | None,
) -> torch.Tensor:
    """One FMix mask per entry of ``lam``: ``(n, h, w)`` float32, mean ``≈ λ`` (exactly ``num / N``)."""
    images = low_freq_images(lam.shape[0], h, w, decay_power, generator=generator, device=lam.device)
    return binarise_masks(images, lam, coin, max_soft)


@register("mixer", example=lambda: FMix(alpha=1.0, decay_power=3.0, num_classes=10))
class FMix(Mixer):
    """FMix: mix each image with its partner through a binary mask of low-frequency noise.

    Harris et al., "FMix: Enhancing Mixed Sample Data Augmentation", arXiv:2002.12047 (2020);
    CIFAR-10 and ImageNet settings: ``alpha = 1``, ``decay_power = 3``, ``max_soft = 0``.
    λ ~ Beta(α, α) (``reformulate=True``: Beta(α + 1, α), the paper's reformulation); a grey
    image is sampled with Fourier amplitudes ``∝ 1 / f ** decay_power`` (the reference code's
    coefficient layout, see :func:`_spectrum_scale`), and its ``λ N`` brightest pixels keep the
    sample itself, the others take the partner; ``max_soft`` in [0, 0.5) softens the edge.

    The label weight is the mask's mean (the exact kept area, ``num / N``), so targets follow
    what the pixels did; for uint8 batches the soft ramp is rounded to the exact integer
    kernel's 1/128 grid first and the label is the mean of that rounded mask. Masks are
    sampled on ``x.device``, batched (one inverse real FFT and one ``argsort`` per batch).

    Args:
        alpha: Beta concentration; ``alpha=0`` returns the batch unmixed.
        decay_power: frequency decay ``d`` of the amplitude ``1 / f**d`` (higher: blobbier masks).
        max_soft: softening in [0, 0.5]; 0 gives binary masks.
        reformulate: draw λ from Beta(α + 1, α) (the paper's reformulation of the loss).
        num_classes, label_smoothing, p, pairing, inplace: as :class:`~torchaug.mixing.MixUp`.
        mode: ``"batch"`` one mask and λ for the batch (the reference), ``"pair"``, ``"elem"``.

    Parameters: the base's (``image_lam`` holds the mask mean, like ``lam``) plus ``mask``
    float32 ``(B, 1, H, W)``, the weight of the sample itself per pixel.
    """

    params_type = MaskMixParams

    def __init__(
        self,
        alpha: float = 1.0,
        decay_power: float = 3.0,
        max_soft: float = 0.0,
        reformulate: bool = False,
        *,
        num_classes: int,
        label_smoothing: float = 0.0,
        p: float = 1.0,
        mode: str = "batch",
        pairing: str | None = None,
        inplace: bool = False,
    ) -> None:
        super().__init__(
            num_classes=num_classes, label_smoothing=label_smoothing, p=p, mode=mode, pairing=pairing, inplace=inplace
        )
        owner = type(self).__name__
        self.alpha = float(check_number(alpha, owner=owner, name="alpha", low=0.0))
        self.decay_power = float(check_number(decay_power, owner=owner, name="decay_power", low=0.0))
        self.max_soft = float(check_number(max_soft, owner=owner, name="max_soft", low=0.0, high=0.5))
        if not isinstance(reformulate, bool):
            raise TypeError(f"{owner}: reformulate must be a bool; got {describe(reformulate)}")
        self.reformulate = reformulate

    def extra_repr(self) -> str:
        return (f"alpha={self.alpha}, decay_power={self.decay_power}, max_soft={self.max_soft}, "
                f"reformulate={self.reformulate}, " + super().extra_repr())

    def no_mixing(self) -> bool:
        return self.alpha == 0.0 or super().no_mixing()

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        b, _, h, w = x.shape
        perm, offset = self._pairing(x, generator)
        a, bb = (self.alpha + 1.0, self.alpha) if self.reformulate else (self.alpha, self.alpha)

        def draw(n: int) -> torch.Tensor:
            lam = sample_beta(a, n, generator=generator, device=x.device, beta=bb)
            coin = torch.rand(n, generator=generator, device=x.device)
            return fmix_masks(lam, coin, h, w, self.decay_power, self.max_soft, generator=generator)

        if self.mode == "batch":  # one mask, shared: an expand (stride 0 over the batch), not B copies
            one = draw(1)
            if x.dtype == torch.uint8 and self.max_soft > 0:
                one = K.quantize_lam(one)
            mask = one.unsqueeze(1).expand(b, 1, h, w)
            lam = one.mean((1, 2)).expand(b).clone()
        else:
            mask = self._per_mode(draw, perm)
            if x.dtype == torch.uint8 and self.max_soft > 0:
                mask = K.quantize_lam(mask)
            mask = mask.unsqueeze(1)
            lam = mask.mean((1, 2, 3))
        return self._base_params(x, perm, offset, lam=lam, image_lam=lam, mask=mask)

    def keep_unmixed(self, params: Params, mixed: torch.Tensor) -> Params:
        params = super().keep_unmixed(params, mixed)
        params.mask = torch.where(mixed.view(-1, 1, 1, 1), params.mask, torch.ones((), device=mixed.device))
        return params

    def _check_params(self, params: Any, x: torch.Tensor) -> Params:
        out = super()._check_params(params, x)
        b, _, h, w = x.shape
        m = out.mask
        if not isinstance(m, torch.Tensor) or not m.is_floating_point() or tuple(m.shape) != (b, 1, h, w):
            raise ValueError(f"{type(self).__name__}: params['mask'] must be a floating tensor of shape "
                             f"{(b, 1, h, w)}; got {describe(m)}")
        return out

    def identity_params(self, x: torch.Tensor) -> Params:
        params = super().identity_params(x)
        b, _, h, w = x.shape
        params.mask = torch.ones(b, 1, h, w, device=x.device)
        return params

    def apply(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        mask = params.mask
        structure = self._structured(x, params)
        if structure is not None and self.pairing == "shift":
            # CPU: each pair's two rows in one pass, no gathered copy
            r, leftover = structure
            out = x if inplace else torch.empty_like(x)
            if x.is_floating_point():
                return K.lerp_pairs(x, out, mask, r, leftover)
            if self.max_soft == 0.0:
                binary = (mask[:1] < 0.5).expand(mask.shape) if mask.stride(0) == 0 else mask < 0.5
                return K.where_pairs(x, out, binary, r, leftover)
        if x.is_floating_point():  # the generic kernel's formula; x[perm] gathers faster than index_select on CPU
            return self._finish(x, torch.lerp(x[params.perm], x, params.mask.to(x.dtype)), inplace)
        return self._finish(x, K.blend_generic(x, params.perm, params.mask), inplace)
