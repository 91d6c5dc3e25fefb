"""CutMix (Yun et al., 2019): paste a box from a partner, λ corrected to the box's area."""

from __future__ import annotations

import math

import torch

from torchaug._devpath import cpu_path
from torchaug._validation import check_number, describe
from torchaug.mixing import _kernels as K
from torchaug.mixing._base import Mixer, Params
from torchaug.mixing._random import HostRandom, as_float32, sample_beta
from torchaug.registry import register


def sample_boxes(
    lam: torch.Tensor, centre: torch.Tensor, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes with sides ``∝ sqrt(1 - λ)`` around uniform centres, clipped to the image.

    ``lam`` ``(B,)`` and ``centre`` ``(B, 2)`` uniforms in [0, 1) -> ``(box, lam_area)``:
    ``box`` int64 ``(B, 4)`` as ``[y0, y1, x0, x1)`` and ``lam_area = 1 - area / (H W)``,
    the λ actually realised (as the CutMix reference code and timm's ``correct_lam``).
    """
    cut = torch.sqrt((1.0 - lam).clamp_min(0.0))  # callers run this on one thread (cpu_threads)
    ch = (height * cut).floor().long()
    cw = (width * cut).floor().long()
    cy = (centre[:, 0] * height).floor().long().clamp_max(height - 1)
    cx = (centre[:, 1] * width).floor().long().clamp_max(width - 1)
    y0 = (cy - ch // 2).clamp(0, height)
    y1 = (cy + ch // 2).clamp(0, height)
    x0 = (cx - cw // 2).clamp(0, width)
    x1 = (cx + cw // 2).clamp(0, width)
    box = torch.stack([y0, y1, x0, x1], 1)
    area = (y1 - y0) * (x1 - x0)
    return box, 1.0 - area.float() / float(height * width)


def box_on_host(lam: float, cy: float, cx: float, height: int, width: int) -> tuple[list[int], float]:
    """:func:`sample_boxes` for one draw in Python numbers: ``([y0, y1, x0, x1], lam_area)``.

    The CPU path of a batch-wide box: one draw needs a dozen scalar operations, which cost
    less in Python than as tensor ops (each dispatch costs microseconds; at 256x3x32x32 they
    took as long as the pixels). Same formula; float64 instead of float32 arithmetic.
    """
    cut = math.sqrt(max(1.0 - lam, 0.0))
    ch, cw = math.floor(height * cut), math.floor(width * cut)
    y, x = min(math.floor(cy * height), height - 1), min(math.floor(cx * width), width - 1)
    y0, y1 = min(max(y - ch // 2, 0), height), min(max(y + ch // 2, 0), height)
    x0, x1 = min(max(x - cw // 2, 0), width), min(max(x + cw // 2, 0), width)
    return [y0, y1, x0, x1], 1.0 - (y1 - y0) * (x1 - x0) / float(height * width)


def sample_boxes_minmax(
    u: torch.Tensor, minmax: tuple[float, float], height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """timm's ``rand_bbox_minmax`` (Darknet-style CutMix) from uniforms ``u`` ``(B, 4)`` in [0, 1).

    Side lengths are integers uniform in ``[int(H lo), int(H hi))`` and ``[int(W lo), int(W hi))``
    (one each when the range is empty), the top-left corner uniform over the positions that keep
    the box inside the image; ``lam_area = 1 - area / (H W)`` (timm always corrects λ here).
    """
    lo, hi = minmax
    hl, hh = int(height * lo), max(int(height * hi), int(height * lo) + 1)
    wl, wh = int(width * lo), max(int(width * hi), int(width * lo) + 1)
    ch = (hl + (u[:, 0] * (hh - hl)).floor().long()).clamp(max=hh - 1)
    cw = (wl + (u[:, 1] * (wh - wl)).floor().long()).clamp(max=wh - 1)
    y0 = (u[:, 2] * (height - ch + 1)).floor().long().minimum(height - ch)
    x0 = (u[:, 3] * (width - cw + 1)).floor().long().minimum(width - cw)
    box = torch.stack([y0, y0 + ch, x0, x0 + cw], 1)
    return box, 1.0 - (ch * cw).float() / float(height * width)


def box_minmax_on_host(u: list[float], minmax: tuple[float, float], height: int, width: int) -> tuple[list[int], float]:
    """:func:`sample_boxes_minmax` for one draw in Python numbers."""
    lo, hi = minmax
    hl, hh = int(height * lo), max(int(height * hi), int(height * lo) + 1)
    wl, wh = int(width * lo), max(int(width * hi), int(width * lo) + 1)
    ch = min(hl + math.floor(u[0] * (hh - hl)), hh - 1)
    cw = min(wl + math.floor(u[1] * (wh - wl)), wh - 1)
    y0 = min(math.floor(u[2] * (height - ch + 1)), height - ch)
    x0 = min(math.floor(u[3] * (width - cw + 1)), width - cw)
    return [y0, y0 + ch, x0, x0 + cw], 1.0 - ch * cw / float(height * width)


def check_minmax(minmax: object, owner: str) -> tuple[float, float] | None:
    """``cutmix_minmax``: None or a ``(min, max)`` pair of fractions with ``0 <= min < max <= 1``."""
    if minmax is None:
        return None
    try:
        lo, hi = (float(v) for v in minmax)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: cutmix_minmax must be None or a (min, max) pair of floats; got {minmax!r}") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"{owner}: cutmix_minmax must satisfy 0 <= min < max <= 1; got {minmax!r}")
    return lo, hi


@register("mixer", example=lambda: CutMix(alpha=1.0, num_classes=10))
class CutMix(Mixer):
    """CutMix: replace a box of each image by the same box of its partner; ``λ = 1 - box area``.

    Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
    Features", ICCV 2019 (CIFAR and ImageNet: α = 1, i.e. λ ~ U(0, 1)). ``λ ~ Beta(α, α)``; box
    sides ``H sqrt(1-λ)`` and ``W sqrt(1-λ)`` around a uniform centre, clipped; the label weight
    is recomputed from the clipped box.

    Args:
        alpha: Beta concentration; ``alpha=0`` returns the batch unmixed.
        num_classes, label_smoothing, p, pairing, inplace: as :class:`~torchaug.mixing.MixUp`.
        mode: ``"batch"`` one box for the batch (timm, torchvision), ``"pair"`` one box per pair,
            ``"elem"`` one box per sample (masks built by broadcasting aranges, no loop).

        cutmix_minmax: timm's ``cutmix_minmax``: ``(min, max)`` fractions of each side; the box
            sides are then drawn uniformly in that range (timm's ``rand_bbox_minmax``) instead of
            from λ, and ``alpha`` is not used (timm forces it to 1). λ is always the box's area.
        correct_lam: timm's ``correct_lam`` (default True, the reference code): the label weight
            is the clipped box's kept area; False keeps the drawn λ ~ Beta(α, α) as the label
            weight even where the box was clipped at the border (timm's ``correct_lam=False``).

    Shapes: ``x`` ``(B, C, H, W)`` uint8 or float -> same (pixels are copied, never blended);
    ``y`` -> ``(B, K)`` float32.
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
        cutmix_minmax: tuple[float, float] | None = None,
        correct_lam: bool = True,
    ) -> None:
        super().__init__(
            num_classes=num_classes, label_smoothing=label_smoothing, p=p, mode=mode, pairing=pairing, inplace=inplace
        )
        owner = type(self).__name__
        self.alpha = float(check_number(alpha, owner=owner, name="alpha", low=0.0))
        self.cutmix_minmax = check_minmax(cutmix_minmax, owner)
        if not isinstance(correct_lam, bool):
            raise TypeError(f"{owner}: correct_lam must be a bool; got {correct_lam!r}")
        self.correct_lam = correct_lam

    def extra_repr(self) -> str:
        extra = "" if self.cutmix_minmax is None else f", cutmix_minmax={self.cutmix_minmax}"
        extra += "" if self.correct_lam else ", correct_lam=False"
        return f"alpha={self.alpha}, " + super().extra_repr() + extra

    def no_mixing(self) -> bool:
        return (self.alpha == 0.0 and self.cutmix_minmax is None) or super().no_mixing()

    def draw_boxes(
        self, x: torch.Tensor, perm: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Boxes and area-corrected λ following ``mode``, every sample mixed."""
        h, w = x.shape[-2:]
        minmax = self.cutmix_minmax

        def draw(n: int) -> torch.Tensor:
            if minmax is not None:
                return torch.rand(n, 4, generator=generator, device=x.device)
            lam = sample_beta(self.alpha, n, generator=generator, device=x.device)
            centre = torch.rand(n, 2, generator=generator, device=x.device)
            return torch.cat([lam.unsqueeze(1), centre], 1)

        b = perm.shape[0]
        if self.mode == "batch" and cpu_path(x):
            d0 = draw(1)[0].tolist()
            if minmax is not None:
                corners, lam_area = box_minmax_on_host(d0, minmax, h, w)
            else:
                corners, lam_area = box_on_host(*d0, h, w)
                lam_area = lam_area if self.correct_lam else as_float32(d0[0])
            box = torch.tensor(corners).expand(b, 4).clone()
            lam = torch.full((b,), lam_area)
        else:
            d = self._per_mode(draw, perm)
            if minmax is not None:
                box, lam = sample_boxes_minmax(d, minmax, h, w)
            else:
                box, lam = sample_boxes(d[:, 0], d[:, 1:], h, w)
                if not self.correct_lam:
                    lam = d[:, 0].clone()
        return box, lam

    def draw_on_host(self, x: torch.Tensor, rng: HostRandom) -> tuple[float, float, tuple[int, int, int, int]]:
        if self.cutmix_minmax is not None:
            u = [rng.random() for _ in range(4)]
            corners, lam_area = box_minmax_on_host(u, self.cutmix_minmax, *x.shape[-2:])
            return as_float32(lam_area), 1.0, tuple(corners)
        lam = rng.betavariate(self.alpha, self.alpha)
        corners, lam_area = box_on_host(lam, rng.random(), rng.random(), *x.shape[-2:])
        return as_float32(lam_area if self.correct_lam else lam), 1.0, tuple(corners)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        perm, offset = self._pairing(x, generator)
        box, lam = self.draw_boxes(x, perm, generator)
        return self._base_params(x, perm, offset, lam=lam, box=box)

    def shared_box(self) -> bool:
        """Whether every sample gets the same box (known without reading data)."""
        return self.mode == "batch" and self.p >= 1.0

    def apply(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        return self.paste(x, params, inplace, shared_box=self.shared_box())

    def mix_mask(self, mask: torch.Tensor, params: Params | None = None) -> torch.Tensor:
        """CutMix of segmentation masks: the pasted box carries the partner's mask.

        ``mask`` ``(B, H, W)`` or ``(B, K, H, W)`` (any dtype: class indices, one-hot, per-class
        probabilities) of the batch just mixed; ``params`` those returned by
        ``return_params=True`` (default: the last call's, :attr:`last_params`). Returns
        ``where(box, mask[perm], mask)`` in the input's shape and dtype, so image and mask stay
        pixel-aligned (the segmentation use of CutMix: French et al. 2020, "Semi-supervised
        semantic segmentation needs strong, varied perturbations", BMVC: the mixed label map is
        the box-mixed masks). The image/label behaviour of ``forward`` is unchanged.
        """
        owner = type(self).__name__
        params = self.last_params if params is None else params
        if params is None:
            raise ValueError(f"{owner}.mix_mask: no params: pass those returned by return_params=True, or call the mixer first")
        if not isinstance(mask, torch.Tensor) or mask.ndim not in (3, 4) or mask.shape[0] != params["perm"].shape[0]:
            raise ValueError(f"{owner}.mix_mask: mask must be (B, H, W) or (B, K, H, W) for the batch of "
                             f"{params['perm'].shape[0]} just mixed; got {describe(mask)}")
        m = mask.as_subclass(torch.Tensor) if type(mask) is not torch.Tensor else mask
        m4 = m.unsqueeze(1) if m.ndim == 3 else m
        h, w = m4.shape[-2:]
        box = params["box"].to(m4.device)
        perm = params["perm"].to(m4.device)
        out = torch.where(K.box_mask(box, h, w), m4.index_select(0, perm), m4)
        out = out[:, 0] if m.ndim == 3 else out
        return out if type(mask) is torch.Tensor else out.as_subclass(type(mask))

