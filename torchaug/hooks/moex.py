"""MoEx: Moment Exchange as a forward hook on a named layer of any model.

Li, Wu, Lim, Belongie, Weinberger, "On Feature Normalization and Data Augmentation", CVPR 2021
(arXiv:2002.11102); official code https://github.com/Boyiliee/MoEx.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from torchaug._validation import check_choice, check_number, check_probability, describe
from torchaug.functional.moments import mean_std
from torchaug.hooks._base import FeatureHook, resolve_layer, select
from torchaug.registry import register

NORMS = ("pono", "bn", "in", "ln", "gn")
__all__ = ["MoEx", "NORMS", "feature_moments", "moex"]


def _check_feature(x: Any, *, owner: str, what: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{owner}: {what} must be a torch.Tensor feature map (B, C, H, W); got {describe(x)}")
    if x.ndim != 4:
        raise ValueError(f"{owner}: {what} must be a 4-D feature map (B, C, H, W); got {describe(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{owner}: {what} must be a floating feature map (B, C, H, W); got {describe(x)}")
    return x


def feature_moments(
    x: torch.Tensor, norm: str = "pono", *, eps: float = 1e-5, groups: int | None = None, owner: str = "feature_moments"
) -> tuple[torch.Tensor, torch.Tensor]:
    """First and second moments ``(μ, σ)`` of a feature map, as a normalisation layer sees them.

    ``x``: ``(B, C, H, W)``. Moments are computed in float32 (float64 stays float64) with the
    unbiased variance, ``σ = sqrt(var + eps)`` (:func:`torchaug.functional.moments.mean_std`, the
    kernel AdaIN's statistics use too), and returned in shapes that broadcast against ``x``:

    - ``"pono"`` positional normalisation, across channels at each position: ``(B, 1, H, W)``
    - ``"bn"`` batch norm, per channel over batch and positions: ``(1, C, 1, 1)``
    - ``"in"`` instance norm, per sample and channel over positions: ``(B, C, 1, 1)``
    - ``"ln"`` layer norm, per sample over channels and positions: ``(B, 1, 1, 1)``
    - ``"gn"`` group norm with ``groups`` channel groups, per sample and group, expanded to
      its channels: ``(B, C, 1, 1)``
    """
    _check_feature(x, owner=owner, what="x")
    check_choice(norm, NORMS, owner=owner, name="norm")
    b, c, h, w = x.shape
    xf = x.to(torch.promote_types(x.dtype, torch.float32))
    if norm == "gn":
        if groups is None:
            raise ValueError(f"{owner}: groups must be given when norm='gn'; got None")
        if c % groups:
            raise ValueError(f"{owner}: the channel count {c} must be divisible by groups={groups} for norm='gn'")
        count = (c // groups) * h * w
    else:
        dims = {"pono": (1,), "bn": (0, 2, 3), "in": (2, 3), "ln": (1, 2, 3)}[norm]
        count = 1
        for d in dims:
            count *= x.shape[d]
    if count < 2:
        raise ValueError(
            f"{owner}: norm={norm!r} needs at least 2 values per moment (unbiased variance); "
            f"got a feature map of shape {tuple(x.shape)}"
        )
    if norm == "gn":
        mean, std = mean_std(xf.reshape(b, groups, -1), (-1,), eps=eps)
        rep = c // groups
        mean = mean.repeat_interleave(rep, dim=1).unsqueeze(-1)
        std = std.repeat_interleave(rep, dim=1).unsqueeze(-1)
        return mean, std
    return mean_std(xf, dims, eps=eps)


def moex(
    x: torch.Tensor,
    perm: torch.Tensor,
    norm: str = "pono",
    *,
    eps: float = 1e-5,
    groups: int | None = None,
) -> torch.Tensor:
    """Moment exchange: ``(h_a − μ_a) / σ_a · σ_b + μ_b`` with ``b = perm[a]``, stateless.

    ``x``: ``(B, C, H, W)`` floating feature map; ``perm``: ``(B,)`` int64 partner indices.
    Moments as in :func:`feature_moments` (float32 statistics, unbiased variance,
    ``σ = sqrt(var + eps)``); the result has ``x``'s shape, dtype and memory format. With
    ``norm="bn"`` every sample shares the batch's moments, so the features come back unchanged.
    Differentiable in ``x`` (gradients also flow through the moments, as in the official code).
    """
    owner = "moex"
    _check_feature(x, owner=owner, what="x")
    if not isinstance(perm, torch.Tensor) or perm.ndim != 1 or perm.dtype != torch.int64 or perm.shape[0] != x.shape[0]:
        raise ValueError(f"{owner}: perm must be an int64 tensor of shape ({x.shape[0]},); got {describe(perm)}")
    mean, std = feature_moments(x, norm, eps=eps, groups=groups, owner=owner)
    if mean.shape[0] == 1:  # batch moments ("bn"): shared by every sample
        swap_mean, swap_std = mean, std
    else:
        perm = perm.to(x.device)
        swap_mean, swap_std = mean[perm], std[perm]
    # (x − μa)/σa·σb + μb, as one multiply-add
    scale = swap_std / std
    shift = swap_mean - mean * scale
    out = torch.addcmul(shift, x.to(scale.dtype), scale)
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        out = out.contiguous(memory_format=torch.channels_last)
    return out.to(x.dtype)


def _example() -> tuple[nn.Module, "MoEx"]:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )
    return model, MoEx(model, layer="1")


@register("hook", example=_example)
class MoEx(FeatureHook):
    """MoEx (Moment Exchange) on the feature map of a named layer: a forward hook.

    Li, Wu, Lim, Belongie, Weinberger, "On Feature Normalization and Data Augmentation",
    CVPR 2021. With probability ``p`` per batch, every sample ``a`` gets the feature moments of
    a partner ``b = π[a]`` (``π`` a random permutation of the batch)::

        h_a ← (h_a − μ_a) / σ_a · σ_b + μ_b

    and its target becomes ``λ·y_a + (1 − λ)·y_b`` (:meth:`mix_targets`), so one soft-target
    cross-entropy serves MoEx, the mixers and both together.

    Args:
        model: any ``nn.Module``; the hooks are attached at construction.
        layer: name of the submodule whose output (``where="output"``) or input
            (``where="input"``) is the ``(B, C, H, W)`` feature map to exchange, as in
            ``dict(model.named_modules())``. The official code exchanges right after the
            stem: on a torchvision ResNet that is ``layer="maxpool"`` (or ``layer="layer1",
            where="input"``), on a CIFAR ResNet ``layer="layer1", where="input"``.
        norm: which moments, see :func:`feature_moments`: ``"pono"`` (the paper's default),
            ``"bn"``, ``"in"``, ``"ln"``, ``"gn"`` (with ``groups``).
        p: probability of exchanging in a training batch (one draw per batch).
        lam: target weight λ of the sample's own label.
        eps: ``σ = sqrt(var + eps)``.
        groups: channel groups for ``norm="gn"``.
        where: ``"output"`` (default) or ``"input"`` of ``layer``.
        generator: ``torch.Generator`` on the features' device type, or ``None``.
        num_classes: optional, lets :meth:`mix_targets` take int64 class indices.

    Defaults follow the official ImageNet ResNet-50 run (``ImageNet/run_moex_resnet.sh`` in
    github.com/Boyiliee/MoEx: ``--moex_norm pono --moex_lam 0.9 --moex_prob 1``, MoEx after
    the stem, ``moex_epsilon=1e-5``). The official CIFAR PyramidNet-200 run
    (``CIFAR/run.sh``: ``--lam 0.5 --pono_prob 0.25``; PONO after ``conv1``/``bn1``) is
    ``p=0.25, lam=0.5``.

    The exchange runs only while the hooked module is in training mode and ``enabled`` is
    true (see :meth:`disabled`); statistics are computed in float32 and the result is cast
    back to the feature's dtype (float16/bfloat16 included). :attr:`last_params` holds ``perm``,
    ``lam`` and ``applied`` of the last forward. A non-4-D or non-floating feature raises a
    ``ValueError``/``TypeError`` at the first training forward.
    """

    def __init__(
        self,
        model: nn.Module,
        layer: str,
        *,
        norm: str = "pono",
        p: float = 1.0,
        lam: float = 0.9,
        eps: float = 1e-5,
        groups: int | None = None,
        where: str = "output",
        generator: torch.Generator | None = None,
        num_classes: int | None = None,
    ) -> None:
        super().__init__(model, generator=generator, num_classes=num_classes)
        owner = type(self).__name__
        self.norm = check_choice(norm, NORMS, owner=owner, name="norm")
        self.p = check_probability(p, owner=owner, name="p")
        self.lam = float(check_number(lam, owner=owner, name="lam", low=0.0, high=1.0))
        self.eps = float(check_number(eps, owner=owner, name="eps", low=0.0, low_inclusive=False))
        if norm == "gn":
            if groups is None:
                raise ValueError(f"{owner}: groups must be given when norm='gn'; got None")
            check_number(groups, owner=owner, name="groups", low=1, integer=True)
        elif groups is not None:
            raise ValueError(f"{owner}: groups is only used with norm='gn'; got groups={groups!r} with norm={norm!r}")
        self.groups = groups
        self.where = check_choice(where, ("output", "input"), owner=owner, name="where")
        if norm == "bn":
            warnings.warn(
                f"{owner}: with norm='bn' the moments are those of the whole batch, shared by every sample, "
                "so the exchange leaves the features unchanged and only the targets are mixed",
                UserWarning,
                stacklevel=2,
            )
        self.layer = layer
        self.module = resolve_layer(model, layer, owner=owner)
        self._attach_root()
        if self.where == "output":
            self._handles.append(self.module.register_forward_hook(self._forward_hook))
        else:
            self._handles.append(self.module.register_forward_pre_hook(self._forward_pre_hook))

    def __repr__(self) -> str:
        extra = f", groups={self.groups}" if self.groups is not None else ""
        where = f", where={self.where!r}" if self.where != "output" else ""
        return (
            f"MoEx(layer={self.layer!r}{where}, norm={self.norm!r}{extra}, p={self.p}, lam={self.lam}, "
            f"eps={self.eps}, attached={self.attached})"
        )

    # -- the hook --------------------------------------------------------------------------
    def _draw(self, x: torch.Tensor) -> None:
        device = x.device
        self._check_generator(device)
        if self.p >= 1.0:
            applied = torch.ones((), dtype=torch.bool, device=device)
        elif self.p <= 0.0:
            applied = torch.zeros((), dtype=torch.bool, device=device)
        else:
            applied = torch.rand((), generator=self.generator, device=device) < self.p
        self._perm = self._take_perm(x.shape[0], device)
        self._lam = torch.full((), self.lam, dtype=torch.float32, device=device)
        self._applied = applied

    def _exchange(self, module: nn.Module, x: Any) -> Any:
        if not self._active(module):
            return x
        what = f"the {self.where} of layer {self.layer!r}"
        _check_feature(x, owner="MoEx", what=what)
        if self._needs_draw():
            self._draw(x)
        assert self._perm is not None and self._applied is not None
        if self.p <= 0.0:
            return x
        perm = self._perm

        def compute() -> torch.Tensor:
            return moex(x, perm, self.norm, eps=self.eps, groups=self.groups)

        if self.p >= 1.0:
            return compute()
        return select(self._applied, compute, x)

    def _forward_hook(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        return self._exchange(module, output)

    def _forward_pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        if not args:
            if self._active(module):
                raise TypeError(f"MoEx: where='input' needs the feature map as the first positional argument of {self.layer!r}")
            return None
        out = self._exchange(module, args[0])
        return None if out is args[0] else (out, *args[1:])
