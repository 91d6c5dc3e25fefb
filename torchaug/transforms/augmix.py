"""AugMix (Hendrycks, Mu, Cubuk, Zoph, Gilmer, Lakshminarayanan, ICLR 2020), per sample over a batch.

"AugMix: A Simple Data Processing Method to Improve Robustness and Uncertainty": each image is
mixed with ``mixture_width`` augmentation chains of ``chain_depth`` operations each,

``out = m * x + (1 - m) * sum_i w_i * chain_i(x)``,  ``w ~ Dirichlet(alpha, ..., alpha)``,
``m ~ Beta(alpha, alpha)``.

Semantics, operation space and magnitude ranges are torchvision v2's ``AugMix`` (severity bins out
of 10, shear 0.3, translate a third of the size, rotate 30 degrees, posterize 4..0 bits, solarize,
autocontrast, equalize, and with ``all_ops`` brightness/colour/contrast/sharpness 0.9). torchvision
draws one set of chains for a whole call; here **every sample draws its own** ops, magnitudes,
signs, depths and weights, and all ``mixture_width`` chains of the whole batch run as one
``(mixture_width * B)`` batch through :func:`torchaug.transforms.policies.apply_op`:
``max_depth`` passes, each a per-sample op choice (no loop over samples).

The split form (``num_splits``) is timm's ``AugMixDataset`` / JSD training convention: the output
batch is ``(num_splits * B, C, H, W)`` ordered split by split, the first ``B`` rows the clean
images, then ``num_splits - 1`` independently augmented views, which is the order timm's
``fast_collate`` gives tuples and :class:`torchaug.mixing.JsdCrossEntropy` expects.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch

from torchaug._cpu.chunks import run_chunked
from torchaug._cpu.narrow import narrow_uint8_
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug._validation import check_generator, check_number, describe
from torchaug.transforms import targets as _t
from torchaug.registry import register
from torchaug.transforms._base import Params
from torchaug.transforms.policies import _ID, _PolicyBase, apply_op

__all__ = ["AugMix"]

#: torchvision v2 AugMix's op order (``_PARTIAL_AUGMENTATION_SPACE`` then the ``all_ops`` extras)
AUGMIX_OPS = (
    "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Posterize", "Solarize", "AutoContrast", "Equalize",
    "Brightness", "Color", "Contrast", "Sharpness",
)
_PARAMETER_MAX = 10


def augmix_space(all_ops: bool, height: int, width: int) -> dict[str, tuple[torch.Tensor | None, bool]]:
    """torchvision v2 AugMix's space: op -> (its 10 magnitude bins or None, signed)."""
    n = _PARAMETER_MAX
    lin = torch.linspace
    s: dict[str, tuple[torch.Tensor | None, bool]] = {
        "ShearX": (lin(0.0, 0.3, n), True),
        "ShearY": (lin(0.0, 0.3, n), True),
        "TranslateX": (lin(0.0, width / 3.0, n), True),
        "TranslateY": (lin(0.0, height / 3.0, n), True),
        "Rotate": (lin(0.0, 30.0, n), True),
        "Posterize": ((4 - (torch.arange(n) / ((n - 1) / 4))).round().int(), False),
        "Solarize": (lin(1.0, 0.0, n), False),
        "AutoContrast": (None, False),
        "Equalize": (None, False),
    }
    if all_ops:
        for name in ("Brightness", "Color", "Contrast", "Sharpness"):
            s[name] = (lin(0.0, 0.9, n), True)
    return s


@functools.lru_cache(maxsize=64)
def _augmix_table(all_ops: bool, height: int, width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Global op ids ``(K,)``, magnitude bins ``(K, 10)`` float64 and signed ``(K,)``, made once. Shared: read only."""
    space = augmix_space(all_ops, height, width)
    ids = torch.tensor([_ID[n] for n in space], device=device)
    mags = torch.stack([torch.zeros(_PARAMETER_MAX) if m is None else m.to(torch.float64) for m, _ in space.values()])
    signed = torch.tensor([sg for _, sg in space.values()], device=device)
    return ids, mags.to(device=device, dtype=torch.float64), signed


@register("transform", example=lambda: AugMix())
class AugMix(_PolicyBase):
    """AugMix (Hendrycks et al., ICLR 2020) with torchvision v2's arguments and defaults.

    Args:
        severity: magnitude bins ``0 .. severity - 1`` of 10 are drawn uniformly (1..10; the paper's
            CIFAR setting is 3).
        mixture_width: number of chains ``k`` (paper: 3).
        chain_depth: operations per chain; ``-1`` (default, the paper's): each chain draws 1..3.
        alpha: Dirichlet / Beta concentration (paper: 1).
        all_ops: also use Brightness, Color, Contrast, Sharpness (the paper leaves them out because
            they overlap ImageNet-C's corruptions; torchvision's default keeps them).
        interpolation: ``"bilinear"`` (torchvision's default) or ``"nearest"``.
        fill: for pixels moved in from outside, on the [0, 1] scale (None: 0).
        num_splits: 0 or 1: one mixed image per input; ``n >= 2``: timm's split form, a
            ``(n * B, C, H, W)`` batch ``[clean; view_1; ...; view_{n-1}]`` (see the module docstring).

    **Per sample**: each sample draws its own chains. Parameters (``return_params=True``):
    ``op`` ``(B, mixture_width, max_depth)`` int64 indices into
    :data:`torchaug.transforms.policies.OPS` (``Identity`` past a chain's depth), ``magnitude``
    (same shape, signed, torchvision's meaning), ``weights`` ``(B, mixture_width + 1)`` float32:
    column 0 the weight ``m`` of the original image, then ``(1 - m) * w_i``; ``apply``.

    The mix is computed in float32 as torchvision (``m * x``, then ``+= w_i * chain_i`` in chain
    order); ``uint8`` results are truncated to integers as torchvision's ``.to(uint8)``.
    Targets (masks, boxes) pass through unchanged, as in torchvision (a mix of moved images has
    no single geometry).
    """

    geometric = False

    def __init__(
        self,
        severity: int = 3,
        mixture_width: int = 3,
        chain_depth: int = -1,
        alpha: float = 1.0,
        all_ops: bool = True,
        interpolation: str = "bilinear",
        fill: float | Sequence[float] | None = None,
        *,
        num_splits: int = 0,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(interpolation=interpolation, fill=fill, p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.severity = int(check_number(severity, owner=o, name="severity", low=1, high=_PARAMETER_MAX, integer=True))
        self.mixture_width = int(check_number(mixture_width, owner=o, name="mixture_width", low=1, integer=True))
        self.chain_depth = int(check_number(chain_depth, owner=o, name="chain_depth", low=-1, integer=True))
        if self.chain_depth == 0:
            raise ValueError(f"{o}: chain_depth must be a positive depth or -1 (random 1..3); got 0")
        self.alpha = float(check_number(alpha, owner=o, name="alpha", low=0.0, low_inclusive=False))
        if not isinstance(all_ops, bool):
            raise TypeError(f"{o}: all_ops must be a bool; got {describe(all_ops)}")
        self.all_ops = all_ops
        self.num_splits = int(check_number(num_splits, owner=o, name="num_splits", low=0, integer=True))

    @property
    def max_depth(self) -> int:
        return self.chain_depth if self.chain_depth > 0 else 3

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        B = x.shape[0]
        H, W = x.shape[-2:]
        k, D = self.mixture_width, self.max_depth
        ids, mags, signed = _augmix_table(self.all_ops, H, W, x.device)
        b = self._batch(x)
        conc = torch.full((b, 2 + k), self.alpha, device=x.device)
        m = torch._sample_dirichlet(conc[:, :2], generator=generator)  # Beta(alpha, alpha) as a 2-Dirichlet
        w = torch._sample_dirichlet(conc[:, 2:], generator=generator)
        weights = self._expand(torch.cat([m[:, :1], w * m[:, 1:]], 1), B)
        if self.chain_depth > 0:
            depth = torch.full((B, k), self.chain_depth, device=x.device)
        else:
            depth = (self._rand(x, k, generator=generator) * 3).floor().long().clamp_max(2) + 1
        K = ids.shape[0]
        j = (self._rand(x, k, D, generator=generator) * K).floor().long().clamp_max(K - 1)
        bins = (self._rand(x, k, D, generator=generator) * self.severity).floor().long().clamp_max(self.severity - 1)
        mag = self._signed(x, mags[j, bins], signed[j], generator)
        live = torch.arange(D, device=x.device) < depth.unsqueeze(-1)  # (B, k, D)
        op = torch.where(live, ids[j], _ID["Identity"])
        mag = torch.where(live, mag, torch.zeros_like(mag))
        return {"op": op, "magnitude": mag, "weights": weights}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        self._check(x)
        op, mag = params["op"].to(x.device), params["magnitude"].to(x.device)
        weights = params["weights"].to(device=x.device, dtype=torch.float32)
        return run_chunked(self._augment_and_mix, x, (op, mag, weights), (self._fill_for(x),),
                           chunk_bytes=THRESHOLDS.policy_chunk_bytes)

    def _augment_and_mix(self, x: torch.Tensor, op: torch.Tensor, mag: torch.Tensor, weights: torch.Tensor,
                         fill: Any) -> torch.Tensor:
        """The chains and the mix of the samples ``x`` (every sample independent of the others)."""
        B, k, D = op.shape
        # chain i of sample b is row i * B + b of one (k * B) batch
        chains = x.repeat(k, 1, 1, 1)
        op_flat = op.transpose(0, 1).reshape(k * B, D)
        mag_flat = mag.transpose(0, 1).reshape(k * B, D)
        for d in range(D):
            apply_op(chains, op_flat[:, d], mag_flat[:, d], interpolation=self.interpolation, fill=fill, out=chains)
        shape = (B, 1, 1, 1)
        # uint8: convert, then multiply in float32 (the same products; a mixed uint8 x float32 op takes
        # PyTorch's casting loop, about twice as slow on CPU)
        u8 = x.dtype == torch.uint8
        w0 = weights[:, 0].reshape(shape)
        mix = x.to(torch.float32).mul_(w0) if u8 else w0 * x  # the clean image's float conversion, once
        term = torch.empty_like(mix)  # one scratch for every chain's weighted term (no allocation per chain)
        for i in range(k):
            wi, chain = weights[:, i + 1].reshape(shape), chains[i * B:(i + 1) * B]
            mix.add_(term.copy_(chain).mul_(wi) if u8 else torch.mul(wi, chain, out=term))
        return narrow_uint8_(mix) if x.dtype == torch.uint8 else mix.to(x.dtype)  # a convex mix: in [0, 255]

    def forward(self, *inputs: Any, generator: torch.Generator | None = None, params: Params | None = None,
                return_params: bool = False, **kwargs: Any) -> Any:
        if self.num_splits < 2:
            return super().forward(*inputs, generator=generator, params=params, return_params=return_params, **kwargs)
        x = inputs[0] if len(inputs) == 1 else None
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or kwargs:
            raise TypeError(f"{type(self).__name__}: with num_splits={self.num_splits} the input must be one (B, C, H, W) "
                            f"image tensor (no targets, regions or video); got {describe(x if x is not None else inputs)}")
        check_generator(generator, x.device, owner=type(self).__name__)
        new, p = self._run({_t.IMAGE: x.as_subclass(torch.Tensor)}, generator, params)
        return (new[_t.IMAGE], p) if return_params else new[_t.IMAGE]

    def _run(self, batch: dict[str, Any], generator: torch.Generator | None, params: Params | None = None, *,
             region: torch.Tensor | None = None, single: bool = False, **kw: Any) -> tuple[dict[str, Any], Params]:
        if self.num_splits < 2:
            return super()._run(batch, generator, params, region=region, single=single, **kw)
        # timm's split form: [clean; view_1; ...; view_{n-1}], all views drawn in one batched call
        if _t.has_targets(batch) or batch.get(_t.FRAMES, 1) != 1 or batch.get(_t.EXTRA) or region is not None or single:
            raise TypeError(f"{type(self).__name__}: with num_splits={self.num_splits} the input must be a (B, C, H, W) "
                            "image batch without targets, extra images, regions or video")
        x = batch[_t.IMAGE]
        new, p = super()._run({**batch, _t.IMAGE: x.repeat(self.num_splits - 1, 1, 1, 1)}, generator, params)
        new[_t.IMAGE] = torch.cat([x, new[_t.IMAGE]])
        return new, p

    def extra_repr(self) -> str:
        s = (f"severity={self.severity}, mixture_width={self.mixture_width}, chain_depth={self.chain_depth}, "
             f"alpha={self.alpha}, all_ops={self.all_ops}, ")
        if self.num_splits:
            s += f"num_splits={self.num_splits}, "
        return s + super().extra_repr()
