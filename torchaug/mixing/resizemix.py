"""ResizeMix (Qin et al., 2020): paste the whole partner image, resized into a patch."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from torchaug._devpath import cpu_path
from torchaug._validation import check_bool, check_number, describe
from torchaug.functional._bags import resize_bilinear_bags
from torchaug.mixing import _kernels as K
from torchaug.mixing._base import Mixer, Params
from torchaug.mixing._random import sample_beta
from torchaug.registry import register

__all__ = ["ResizeMix", "patch_grid"]


def _round_like(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if x.is_floating_point():
        return out.to(x.dtype)
    return out.round_().clamp_(0, 255).to(x.dtype)


def patch_grid(box: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``grid_sample`` coordinates mapping each box ``[y0, y1, x0, x1)`` onto its whole partner image.

    Returns ``(grid, inside)``: float32 ``(B, H, W, 2)`` (``align_corners=False`` convention: a
    patch pixel ``i`` samples the source at ``(i + 0.5) * H / h - 0.5``, which is what
    ``F.interpolate(..., mode="bilinear", align_corners=False)`` does) and bool ``(B, 1, H, W)``.
    """
    y0, y1, x0, x1 = (box[:, i].view(-1, 1, 1).float() for i in range(4))
    ys = torch.arange(height, device=box.device, dtype=torch.float32).view(1, height, 1)
    xs = torch.arange(width, device=box.device, dtype=torch.float32).view(1, 1, width)
    gy = (ys - y0 + 0.5) / (y1 - y0).clamp_min(1.0) * 2.0 - 1.0
    gx = (xs - x0 + 0.5) / (x1 - x0).clamp_min(1.0) * 2.0 - 1.0
    grid = torch.stack(torch.broadcast_tensors(gx, gy), -1)
    inside = ((ys >= y0) & (ys < y1) & (xs >= x0) & (xs < x1)).unsqueeze(1)
    return grid, inside


@register("mixer", example=lambda: ResizeMix(num_classes=10))
class ResizeMix(Mixer):
    """ResizeMix: the partner image, resized to a ``τ H x τ W`` patch, replaces that region.

    Qin et al., "ResizeMix: Mixing Data with Preserved Object Information and True Labels",
    arXiv:2012.11101 (2020): ``τ ~ U(α, β)`` with ``(α, β) = (0.1, 0.8)`` on CIFAR and ImageNet,
    the patch placed uniformly inside the image, the label weight of the partner its area
    ratio. Here ``τ = scale[0] + (scale[1] - scale[0]) * Beta(alpha, alpha)`` (``alpha = 1``: the
    paper's uniform draw; other values: mmpretrain's ``ResizeMix(lam_min, lam_max, alpha)``), the
    patch is ``int(τ H) x int(τ W)`` (at least 1 pixel), and ``λ = 1 - patch area / (H W)``
    exactly, per sample.

    Resizing is bilinear with ``align_corners=False`` (``F.interpolate``'s taps and weights, as
    mmpretrain; on the CPU one-box path summed by two ``embedding_bag`` passes, equal up to float
    rounding); ``antialias=True`` low-pass filters first (only on the CPU one-box path, ``mode="batch"``
    with ``p=1``; the per-sample path resamples with ``grid_sample``, which has no antialias, so
    the option is refused there at the first call).

    Args:
        scale: ``(min, max)`` of ``τ`` in ``(0, 1]``.
        alpha: Beta concentration of ``τ``'s position in the range (1: uniform).
        antialias: low-pass before shrinking (see above).
        num_classes, label_smoothing, p, pairing, inplace: as :class:`~torchaug.mixing.CutMix`.
        mode: ``"batch"`` one patch size and place for the batch (mmpretrain), ``"pair"``, ``"elem"``.

    Parameters: the base's; ``box`` is the patch ``[y0, y1, x0, x1)`` (the partner's whole image
    is resized into it), ``image_lam`` is 1.
    """

    def __init__(
        self,
        scale: tuple[float, float] = (0.1, 0.8),
        alpha: float = 1.0,
        antialias: bool = False,
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
        try:
            lo, hi = (float(v) for v in scale)
        except (TypeError, ValueError):
            raise TypeError(f"{owner}: scale must be a (min, max) pair of floats; got {describe(scale)}") from None
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(f"{owner}: scale must satisfy 0 < min <= max <= 1; got {tuple(scale)!r}")
        self.scale = (lo, hi)
        self.alpha = float(check_number(alpha, owner=owner, name="alpha", low=0.0, low_inclusive=False))
        self.antialias = check_bool(antialias, owner=owner, name="antialias")
        if self.antialias and not (mode == "batch" and p >= 1.0):
            raise ValueError(f"{owner}: antialias=True needs mode='batch' and p=1 (one patch size per batch); "
                             f"got mode={mode!r}, p={p}")

    def extra_repr(self) -> str:
        return f"scale={self.scale}, alpha={self.alpha}, antialias={self.antialias}, " + super().extra_repr()

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        perm, offset = self._pairing(x, generator)
        lo, hi = self.scale

        def draw(n: int) -> torch.Tensor:
            tau = lo + (hi - lo) * sample_beta(self.alpha, n, generator=generator, device=x.device)
            return torch.cat([tau.unsqueeze(1), torch.rand(n, 2, generator=generator, device=x.device)], 1)

        d = self._per_mode(draw, perm)
        ph = (d[:, 0] * h).floor().long().clamp(1, h)
        pw = (d[:, 0] * w).floor().long().clamp(1, w)
        y0 = (d[:, 1] * (h - ph + 1)).floor().long().minimum(h - ph)
        x0 = (d[:, 2] * (w - pw + 1)).floor().long().minimum(w - pw)
        box = torch.stack([y0, y0 + ph, x0, x0 + pw], 1)
        lam = 1.0 - (ph * pw).float() / float(h * w)
        return self._base_params(x, perm, offset, lam=lam, box=box)

    def apply(self, x: torch.Tensor, params: Params, inplace: bool) -> torch.Tensor:
        b, c, h, w = x.shape
        box = params.box
        if cpu_path(x) and self.mode == "batch" and self.p >= 1.0 and b > 1:
            y0, y1, x0, x1 = (int(v) for v in box[0])  # a CPU tensor: no device sync
            out = x if inplace else x.clone(memory_format=torch.preserve_format)
            if y1 <= y0 or x1 <= x0:
                return out
            size = (y1 - y0, x1 - x0)
            if not self.antialias:
                # every image resized once by two embedding_bag passes (F.interpolate copies planar float
                # input to channels-last and back here), then the small patches gathered
                patch = resize_bilinear_bags(x, size)
                out[:, :, y0:y1, x0:x1] = _round_like(patch.index_select(0, params.perm), x)
                return out
            structure = self._structured(x, params)
            if x.is_floating_point() and not inplace and structure is not None and self.pairing == "shift":
                # each pair's partner resized straight into its region (no resized batch, no gather)
                r, leftover = structure
                resize = torch.ops.aten._upsample_bilinear2d_aa
                if leftover is not None:
                    li, qi = leftover
                    resize.out(x[qi : qi + 1], list(size), False, None, None, out=out[li : li + 1, :, y0:y1, x0:x1])
                for (a, b_), (oa, ob) in zip(K.pair_blocks(x, r), K.pair_blocks(out, r)):
                    resize.out(b_, list(size), False, None, None, out=oa[:, :, y0:y1, x0:x1])
                    resize.out(a, list(size), False, None, None, out=ob[:, :, y0:y1, x0:x1])
                return out
            src = x if x.is_floating_point() else x.float()
            patch = F.interpolate(src, size=size, mode="bilinear", align_corners=False, antialias=True)
            out[:, :, y0:y1, x0:x1] = _round_like(patch[params.perm], x)
            return out
        grid, inside = patch_grid(box, h, w)
        src = x[params.perm]
        src = src if src.is_floating_point() else src.float()
        sampled = _round_like(F.grid_sample(src, grid.to(src.dtype), mode="bilinear", padding_mode="border",
                                            align_corners=False), x)
        return self._finish(x, torch.where(inside, sampled, x), inplace)
