"""Random occlusion: RandomErasing (Zhong et al. 2020) and Cutout (DeVries & Taylor 2017).

Every sample draws its own box(es); one boolean mask ``(B, 1, H, W)`` built by broadcasting
``arange``s fills them all in one ``torch.where`` (no loop over samples). Fill values are given
on the [0, 1] scale (multiplied by 255 and rounded for ``uint8`` images), so the same
configuration works for ``uint8`` and float batches.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch

from torchaug._validation import check_number, describe
from torchaug.functional import noise as FN
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["RandomErasing", "Cutout"]


def _check_value(value: Any, owner: str, allow_random: bool = True) -> float | tuple[float, ...] | str:
    if isinstance(value, str):
        if allow_random and value == "random":
            return value
        raise ValueError(f"{owner}: value must be a number, a per-channel tuple or 'random'; got {value!r}")
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return float(check_number(value, owner=owner, name="value", low=0.0, high=1.0))
    if isinstance(value, Sequence) and value and all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in value):
        return tuple(float(check_number(v, owner=owner, name="value", low=0.0, high=1.0)) for v in value)
    raise TypeError(f"{owner}: value must be a number in [0, 1], a per-channel tuple or 'random'; got {describe(value)}")


def _fill_for(value: float | tuple[float, ...] | str, x: torch.Tensor, owner: str, params: Params) -> Any:
    """The fill in ``x``'s scale; ``'random'`` uses the per-pixel field in ``params['noise']``."""
    if value == "random":
        v = params["noise"]
        return (v * 255.0).round_() if x.dtype == torch.uint8 else v.to(x.dtype)
    if isinstance(value, tuple) and len(value) not in (1, x.shape[1]):
        raise ValueError(f"{owner}: value must have one entry per channel ({x.shape[1]}); got {len(value)} entries")
    scale = 255.0 if x.dtype == torch.uint8 else 1.0
    return tuple(v * scale for v in value) if isinstance(value, tuple) else value * scale


@register("transform", example=lambda: RandomErasing(p=0.5))
class RandomErasing(RandomTransform):
    """Erase a random rectangle of each sample, with probability ``p`` (torchvision's arguments).

    Random Erasing (Zhong, Zheng, Kang, Li, Yang, AAAI 2020): the box covers a fraction of the
    image drawn from ``scale`` (default 0.02 to 0.33) with aspect ratio drawn log-uniformly from
    ``ratio`` (default 0.3 to 3.3); as torchvision, up to 10 draws are tried per sample until the
    box fits (``h < H`` and ``w < W``), all 10 drawn at once; a sample with no fitting draw is
    left unchanged. ``value``: a number, a per-channel tuple (both on the [0, 1] scale), or
    ``"random"``: an independent uniform random value per pixel and channel (torchvision draws
    standard-normal values, meant for normalised inputs; here the images are in [0, 1] / uint8,
    so the values are uniform over the valid range).

    **timm's options** (``timm.data.RandomErasing(probability, min_area, max_area, min_aspect,
    max_aspect, mode, min_count, max_count, num_splits)``; timm's ``probability`` is ``p``,
    ``min_area``/``max_area`` ``scale``, ``min_aspect``/``max_aspect`` ``ratio``):

    - ``mode``: ``'const'`` (fill ``value``, 0 by default), ``'rand'`` (one random colour per box
      and channel), ``'pixel'`` (a random value per pixel and channel). timm draws ``N(0, 1)``
      because it erases *normalised* tensors; here images are in [0, 1] / uint8, so give the
      normalisation as ``fill_mean``/``fill_std`` to get timm's fills (``mean + std * z``, clamped
      to [0, 1]); without them the random values are uniform over [0, 1].
    - ``min_count``/``max_count``: each sample erases ``count ~ U{min_count..max_count}`` boxes,
      each drawn (10 tries) with its area divided by ``count``; later boxes paint over earlier ones.
    - ``num_splits``: with ``n > 1`` the first ``B // n`` samples (the clean split of an AugMix
      split batch) are never erased.

    Shapes: ``(B, C, H, W)`` or ``(C, H, W)``. Parameters: ``top``, ``left``, ``height``,
    ``width`` (``(B,)`` int64, ``(B, max_count)`` when ``max_count > 1``; height/width 0 for boxes
    not erased), ``apply``, ``noise`` (``(B, C, H, W)``) with ``value="random"`` or
    ``mode='pixel'``, ``colour`` (``(B, max_count, C)``, [0, 1] scale) with ``mode='rand'``.
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: float | Sequence[float] | str = 0.0,
        *,
        mode: str | None = None,
        min_count: int = 1,
        max_count: int | None = None,
        num_splits: int = 0,
        fill_mean: float | Sequence[float] | None = None,
        fill_std: float | Sequence[float] | None = None,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        if mode is not None and mode not in ("const", "rand", "pixel"):
            raise ValueError(f"{o}: mode must be None (torchvision's value=), 'const', 'rand' or 'pixel' (timm's modes); got {mode!r}")
        self.mode = mode
        self.min_count = int(check_number(min_count, owner=o, name="min_count", low=1, integer=True))
        self.max_count = self.min_count if max_count is None else int(
            check_number(max_count, owner=o, name="max_count", low=self.min_count, integer=True))
        self.num_splits = int(check_number(num_splits, owner=o, name="num_splits", low=0, integer=True))
        if (fill_mean is None) != (fill_std is None):
            raise ValueError(f"{o}: fill_mean and fill_std go together (the normalisation of timm's N(0, 1) fills); "
                             f"got fill_mean={fill_mean!r}, fill_std={fill_std!r}")
        self.fill_mean = None if fill_mean is None else _check_value(fill_mean, o + " fill_mean", allow_random=False)
        self.fill_std = None if fill_std is None else _check_value(fill_std, o + " fill_std", allow_random=False)
        if mode in ("rand", "pixel") and value not in (0.0, 0, "random"):
            raise ValueError(f"{o}: mode={mode!r} draws random fills; value must stay at its default; got {value!r}")
        for name, v in (("scale", scale), ("ratio", ratio)):
            if not isinstance(v, Sequence) or len(v) != 2:
                raise TypeError(f"{o}: {name} must be a (min, max) pair; got {describe(v)}")
            for e in v:
                check_number(e, owner=o, name=name, low=0.0, low_inclusive=name == "scale")
            if v[0] > v[1]:
                raise ValueError(f"{o}: {name} must be increasing (min, max); got {tuple(v)}")
        if scale[1] > 1.0:
            raise ValueError(f"{o}: scale must lie in [0, 1]; got {tuple(scale)}")
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.value = _check_value(value, o)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        B, C, H, W = x.shape
        area = H * W
        tries = 10
        N = self.max_count
        (s0, s1), (r0, r1) = self.scale, (math.log(self.ratio[0]), math.log(self.ratio[1]))
        u = self._rand(x, N, 2, tries, generator=generator)  # (B, N, 2, tries): area fraction, log-ratio
        if self.min_count != self.max_count:  # timm: count ~ U{min_count..max_count}, box areas divided by it
            span = self.max_count - self.min_count + 1
            count = (self._rand(x, generator=generator) * span).floor().long().clamp_max(span - 1) + self.min_count
        else:
            count = torch.full((B,), self.min_count, device=x.device)
        per = (1.0 / count.to(u.dtype)).view(B, 1, 1)
        erase_area = torch.add(area * s0, u[:, :, 0], alpha=area * (s1 - s0)).mul_(per)
        half_log_r = torch.add(0.5 * r0, u[:, :, 1], alpha=0.5 * (r1 - r0))
        side = erase_area.sqrt_()
        hw = torch.stack([side * half_log_r.exp(), side * half_log_r.neg_().exp_()], 2).round_()  # (B, N, 2, tries)
        ok = (hw < constant(((H,), (W,)), x.device)).all(2)  # (B, N, tries): the box fits
        first = ok.to(torch.uint8).argmax(dim=2).view(B, N, 1, 1).expand(B, N, 2, 1)  # first fitting draw (0: none)
        live = ok.any(dim=2, keepdim=True) & (torch.arange(N, device=x.device).view(1, N, 1) < count.view(B, 1, 1))
        hw = hw.gather(3, first)[..., 0].mul_(live).long()  # (B, N, 2): 0 when none fits or past the count
        v = self._rand(x, N, 2, generator=generator)  # top and left
        corner = (hw.neg().add_(constant((H + 1, W + 1), x.device)) * v).floor_().long()
        top, left = corner.clamp_max_(constant((H - 1, W - 1), x.device)).unbind(2)
        apply = self._rand(x, generator=generator) < self.p if self.p < 1.0 else torch.ones(B, dtype=torch.bool, device=x.device)
        if self.num_splits > 1:  # timm: the first B // num_splits samples (the clean split) are never erased
            apply = apply & (torch.arange(B, device=x.device) >= B // self.num_splits)
        h, w = hw[..., 0], hw[..., 1]
        if N == 1:
            top, left, h, w = top[:, 0], left[:, 0], h[:, 0], w[:, 0]
        params: Params = {"top": top, "left": left, "height": h, "width": w, "apply": apply}
        if self.value == "random" or self.mode == "pixel":
            params["noise"] = self._random_fill(x, (B, C, H, W), generator)
        elif self.mode == "rand":
            params["colour"] = self._random_fill(x, (B, N, C), generator)
        return params

    def _random_fill(self, x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
        """Random fill values on the [0, 1] scale: uniform, or timm's ``N(0, 1)`` in the space normalised
        by ``fill_mean``/``fill_std`` (``mean + std * z``, clamped to [0, 1]), channels last in ``shape``
        for ``(B, N, C)`` colours and at dim 1 for ``(B, C, H, W)`` fields."""
        if self.fill_std is None:
            return torch.rand(shape, generator=generator, device=x.device)
        z = torch.randn(shape, generator=generator, device=x.device)
        view = (1, 1, -1) if len(shape) == 3 else (1, -1, 1, 1)
        def per_channel(v: float | tuple[float, ...]) -> torch.Tensor:  # cached on the device: no copy per call
            return constant(v if isinstance(v, tuple) else (v,), x.device, z.dtype).view(view)

        mean, std = per_channel(self.fill_mean), per_channel(self.fill_std)
        return (mean + std * z).clamp_(0.0, 1.0)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        apply = params["apply"]
        h = params["height"] * (apply if params["height"].ndim == 1 else apply.view(-1, 1))  # not selected: empty box
        top, left, w = params["top"], params["left"], params["width"]
        if "colour" in params:  # timm's mode='rand': one random colour per box; later boxes paint over earlier ones
            c = params["colour"]
            c = (c * 255.0).round_() if x.dtype == torch.uint8 else c.to(x.dtype)
            if h.ndim == 1:
                return FN.erase(x, top, left, h, w, c[:, 0].reshape(x.shape[0], -1, 1, 1))
            out = x
            for k in range(h.shape[1]):  # over the (few) boxes per sample, never over samples
                out = FN.erase(out, top[:, k], left[:, k], h[:, k], w[:, k], c[:, k].reshape(x.shape[0], -1, 1, 1))
            return out
        value = "random" if self.mode == "pixel" else self.value
        return FN.erase(x, top, left, h, w, _fill_for(value, x, type(self).__name__, params))

    def extra_repr(self) -> str:
        s = f"scale={self.scale}, ratio={self.ratio}, value={self.value!r}, "
        if self.mode is not None:
            s += f"mode={self.mode!r}, "
        if self.max_count > 1:
            s += f"min_count={self.min_count}, max_count={self.max_count}, "
        if self.num_splits:
            s += f"num_splits={self.num_splits}, "
        return s + super().extra_repr()


@register("transform", example=lambda: Cutout(size=8))
class Cutout(RandomTransform):
    """Cutout (DeVries & Taylor 2017, "Improved Regularization of Convolutional Neural Networks
    with Cutout"): mask a fixed-size ``size x size`` square whose centre is drawn uniformly over
    the image; the square is clipped at the borders (so it may be partly outside). The paper
    used ``size=16`` on CIFAR-10 (8 on CIFAR-100, 20 on SVHN), one hole, applied to every image
    (``p=1``), filling with 0 after normalisation, i.e. the dataset mean; here ``value`` is on the
    [0, 1] scale (number or per-channel tuple; default 0).

    ``num_holes`` squares per sample (the reference code's ``n_holes``). Parameters: ``top``,
    ``left``, ``height``, ``width`` (``(B, num_holes)`` int64, the clipped squares), ``apply``.
    """

    def __init__(
        self,
        size: int = 16,
        *,
        num_holes: int = 1,
        value: float | Sequence[float] = 0.0,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.size = int(check_number(size, owner=o, name="size", low=1, integer=True))
        self.num_holes = int(check_number(num_holes, owner=o, name="num_holes", low=1, integer=True))
        self.value = _check_value(value, o, allow_random=False)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        cy = (self._rand(x, self.num_holes, generator=generator) * H).floor().long()
        cx = (self._rand(x, self.num_holes, generator=generator) * W).floor().long()
        half = self.size // 2
        y0, y1 = (cy - half).clamp(0, H), (cy - half + self.size).clamp(0, H)
        x0, x1 = (cx - half).clamp(0, W), (cx - half + self.size).clamp(0, W)
        B = x.shape[0]  # ``apply`` drawn here (as the base would) because ``transform`` folds it into the boxes
        apply = self._rand(x, generator=generator) < self.p if self.p < 1.0 else torch.ones(B, dtype=torch.bool, device=x.device)
        return {"top": y0, "left": x0, "height": y1 - y0, "width": x1 - x0, "apply": apply}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        apply = params["apply"].view(-1, 1)
        h = torch.where(apply, params["height"], torch.zeros_like(params["height"]))
        return FN.erase(x, params["top"], params["left"], h, params["width"], _fill_for(self.value, x, type(self).__name__, params))

    def extra_repr(self) -> str:
        return f"size={self.size}, num_holes={self.num_holes}, value={self.value!r}, " + super().extra_repr()
