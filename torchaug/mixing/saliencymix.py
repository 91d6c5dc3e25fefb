"""SaliencyMix (Uddin et al., 2021): CutMix with the box centred on the partner's saliency peak."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from torchaug._validation import check_number
from torchaug.mixing._base import Mixer, Params
from torchaug.mixing._random import sample_beta
from torchaug.mixing.cutmix import sample_boxes
from torchaug.registry import register

__all__ = ["SaliencyMix", "spectral_residual_saliency", "saliency_peaks"]

#: OpenCV's StaticSaliencySpectralResidual works on a 64 x 64 grey copy of the image
SALIENCY_SIZE = 64


@functools.lru_cache(maxsize=8)
def _gauss5(sigma: float, device: torch.device) -> torch.Tensor:
    t = torch.arange(5, dtype=torch.float32) - 2.0
    k = torch.exp(-(t * t) / (2.0 * sigma * sigma))
    return (k / k.sum()).to(device)


def spectral_residual_saliency(x: torch.Tensor, size: int = SALIENCY_SIZE) -> torch.Tensor:
    """Spectral-residual saliency maps (Hou & Zhang, CVPR 2007) of a batch: ``(B, size, size)`` in [0, 1].

    As OpenCV's ``StaticSaliencySpectralResidual`` (what the SaliencyMix reference calls): grey
    image (ITU-R 601 luma) resized to ``size x size`` (bilinear), ``A = log |FFT|``, residual
    ``R = A - mean3x3(A)`` (reflect-101 border), saliency ``|IFFT(exp(R + i phase))|^2``,
    Gaussian blur (5 x 5, sigma 8), divided by its maximum. Batched on ``x.device`` (one FFT pair).
    """
    xf = x.float()
    if x.shape[1] == 3:
        grey = (xf[:, 0] * 0.299 + xf[:, 1] * 0.587 + xf[:, 2] * 0.114).unsqueeze(1)
    else:
        grey = xf.mean(1, keepdim=True)
    small = F.interpolate(grey, size=(size, size), mode="bilinear", align_corners=False, antialias=False)[:, 0]
    spec = torch.fft.fft2(small)
    mag = spec.abs()
    log_amp = torch.log(mag.clamp_min(1e-12))
    avg = F.avg_pool2d(F.pad(log_amp.unsqueeze(1), (1, 1, 1, 1), mode="reflect"), 3, stride=1)[:, 0]
    phase = spec / mag.clamp_min(1e-12)
    sal = torch.fft.ifft2(torch.exp(log_amp - avg) * phase).abs().square()
    k = _gauss5(8.0, sal.device)
    s = F.pad(sal.unsqueeze(1), (2, 2, 2, 2), mode="reflect")
    s = F.conv2d(F.conv2d(s, k.view(1, 1, 1, 5)), k.view(1, 1, 5, 1))[:, 0]
    return s / s.amax((1, 2), keepdim=True).clamp_min(1e-30)


def saliency_peaks(x: torch.Tensor, size: int = SALIENCY_SIZE) -> torch.Tensor:
    """Row and column of each image's saliency maximum in full resolution: int64 ``(B, 2)``.

    The reference resizes the map back to the image (bilinear) and takes its argmax; a bilinear
    map peaks on a node of the small grid, so the node's position ``(i + 0.5) H / size - 0.5``
    (rounded) is used directly.
    """
    h, w = x.shape[-2:]
    sal = spectral_residual_saliency(x, size)
    idx = sal.flatten(1).argmax(1)
    r, c = idx // size, idx % size
    py = ((r.float() + 0.5) * (h / size) - 0.5).round().clamp(0, h - 1).long()
    px = ((c.float() + 0.5) * (w / size) - 0.5).round().clamp(0, w - 1).long()
    return torch.stack([py, px], 1)


@register("mixer", example=lambda: SaliencyMix(alpha=1.0, num_classes=10))
class SaliencyMix(Mixer):
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

    def __init__(
        self,
        alpha: float = 1.0,
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
        self.alpha = float(check_number(alpha, owner=type(self).__name__, name="alpha", low=0.0))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, " + super().extra_repr()

    def no_mixing(self) -> bool:
        return self.alpha == 0.0 or super().no_mixing()

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
