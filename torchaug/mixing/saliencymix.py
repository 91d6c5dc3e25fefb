"""SaliencyMix (Uddin et al., 2021): CutMix with the box centred on the partner's saliency peak."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from torchaug.functional._bags import resize_bilinear_bags
from torchaug.mixing._base import AlphaMixer, Params
from torchaug.mixing._random import sample_beta
from torchaug.mixing.cutmix import sample_boxes
from torchaug.registry import register

__all__ = ["SaliencyMix", "spectral_residual_saliency", "saliency_peaks"]

#: OpenCV's StaticSaliencySpectralResidual works on a 64 x 64 grey copy of the image
SALIENCY_SIZE = 64
_LUMA = (0.299, 0.587, 0.114)


@functools.lru_cache(maxsize=8)
def _gauss5(sigma: float) -> tuple[float, ...]:
    """The five taps of OpenCV's ``GaussianBlur((5, 5), sigma)``, normalised (Python floats: no tensor, no host read)."""
    k = [math.exp(-(t * t) / (2.0 * sigma * sigma)) for t in (-2.0, -1.0, 0.0, 1.0, 2.0)]
    return tuple(v / sum(k) for v in k)


def _grey_small(x: torch.Tensor, size: int) -> torch.Tensor:
    """ITU-R 601 luma of ``x`` bilinearly resized to ``size x size`` (the mean of the channels when
    ``C != 3``): ``(B, size, size)``, by two ``embedding_bag`` passes that read only the rows the
    taps touch (:func:`torchaug.functional._bags.resize_bilinear_bags`)."""
    c = x.shape[1]
    return resize_bilinear_bags(x, (size, size), _LUMA if c == 3 else (1.0 / c,) * c)


def _saliency_unnormalised(x: torch.Tensor, size: int) -> torch.Tensor:
    """:func:`spectral_residual_saliency` before the division by each map's maximum."""
    small = _grey_small(x, size)
    spec = torch.fft.fft2(small)
    # |z|^2 as z * conj(z): one vectorised complex multiply (abs() takes hypot, a sum over (re, im) reduces)
    log_amp = (spec * spec.conj()).real.clamp_min(1e-24).log_().mul_(0.5)
    avg = _box3(F.pad(log_amp.unsqueeze(1), (1, 1, 1, 1), mode="reflect")[:, 0])
    # exp(A - avg) * spec / |spec| is spec * exp(-avg); also below the guard, where both factors use 1e-12
    res = torch.fft.ifft2(spec.mul_(avg.neg_().exp_()))
    sal = (res * res.conj()).real
    return _sep5(F.pad(sal.unsqueeze(1), (2, 2, 2, 2), mode="reflect")[:, 0], _gauss5(8.0))


def spectral_residual_saliency(x: torch.Tensor, size: int = SALIENCY_SIZE) -> torch.Tensor:
    """Spectral-residual saliency maps (Hou & Zhang, CVPR 2007) of a batch: ``(B, size, size)`` in [0, 1].

    As OpenCV's ``StaticSaliencySpectralResidual`` (what the SaliencyMix reference calls): grey
    image (ITU-R 601 luma) resized to ``size x size`` (bilinear), ``A = log |FFT|``, residual
    ``R = A - mean3x3(A)`` (reflect-101 border), saliency ``|IFFT(exp(R + i phase))|^2``,
    Gaussian blur (5 x 5, sigma 8), divided by its maximum. Batched on ``x.device`` (one FFT pair).
    """
    s = _saliency_unnormalised(x, size)
    return s / s.amax((1, 2), keepdim=True).clamp_min(1e-30)


def _box3(p: torch.Tensor) -> torch.Tensor:
    """3x3 mean of a padded ``(B, n + 2, m + 2)`` map as two separable sums of shifted slices (no conv)."""
    r = p[:, :-2] + p[:, 1:-1] + p[:, 2:]
    return (r[:, :, :-2] + r[:, :, 1:-1] + r[:, :, 2:]) * (1.0 / 9.0)


def _sep5(p: torch.Tensor, kk: tuple[float, ...]) -> torch.Tensor:
    """Separable 5-tap filter ``k`` over a padded ``(B, n + 4, m + 4)`` map: shifted slices, no conv."""
    n, m = p.shape[1] - 4, p.shape[2] - 4
    c = p[:, :, 0:m] * kk[0]
    for j in range(1, 5):
        c = c.add_(p[:, :, j : j + m], alpha=kk[j])
    r = c[:, 0:n] * kk[0]
    for i in range(1, 5):
        r = r.add_(c[:, i : i + n], alpha=kk[i])
    return r


def saliency_peaks(x: torch.Tensor, size: int = SALIENCY_SIZE) -> torch.Tensor:
    """Row and column of each image's saliency maximum in full resolution: int64 ``(B, 2)``.

    The reference resizes the map back to the image (bilinear) and takes its argmax; a bilinear
    map peaks on a node of the small grid, so the node's position ``(i + 0.5) H / size - 0.5``
    (rounded) is used directly.
    """
    h, w = x.shape[-2:]
    idx = _saliency_unnormalised(x, size).flatten(1).argmax(1)  # the peak of s / max(s) is that of s
    r, c = idx // size, idx % size
    py = ((r.float() + 0.5) * (h / size) - 0.5).round().clamp(0, h - 1).long()
    px = ((c.float() + 0.5) * (w / size) - 0.5).round().clamp(0, w - 1).long()
    return torch.stack([py, px], 1)


@register("mixer", example=lambda: SaliencyMix(alpha=1.0, num_classes=10))
class SaliencyMix(AlphaMixer):
    """SaliencyMix: paste the partner's most salient box (CutMix box size, centre at its saliency peak).

    Uddin et al., "SaliencyMix: A Saliency Guided Data Augmentation Strategy for Better
    Regularization", ICLR 2021 (CIFAR and ImageNet: ``α = 1``, applied with probability 0.5 on
    CIFAR, 1.0 on ImageNet). ``λ ~ Beta(α, α)``; box sides ``int(H sqrt(1-λ))`` and
    ``int(W sqrt(1-λ))`` centred on the peak of the partner's spectral-residual saliency map
    (:func:`spectral_residual_saliency`), clipped to the image; the label weight is recomputed
    from the clipped box (CutMix's area correction, as the reference code does).

    The reference computes one box per batch from the saliency of the first sample's partner;
    here every sample's box is centred on its own partner's peak (λ is shared following ``mode``:
    one per batch, pair or sample). The saliency maps are computed on ``x.device``, batched.

    Args:
        alpha: Beta concentration; ``alpha=0`` returns the batch unmixed.
        num_classes, label_smoothing, p, pairing, inplace, mode: as :class:`~torchaug.mixing.CutMix`.

    Parameters: the base's (``box`` per sample, ``image_lam`` 1).
    """

    draws_from_pixels = True

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        perm, offset = self._pairing(x, generator)
        lam = self._per_mode(lambda n: sample_beta(self.alpha, n, generator=generator, device=x.device), perm)
        peaks = saliency_peaks(x).index_select(0, perm)  # the partner's peak
        centre = peaks.float().add_(0.5)
        centre[:, 0].div_(float(h))
        centre[:, 1].div_(float(w))
        box, lam_area = sample_boxes(lam, centre, h, w)
        return self._base_params(x, perm, offset, lam=lam_area, box=box)

    def apply(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        return self.paste(x, params, inplace, shared_box=False)
