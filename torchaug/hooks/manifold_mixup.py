"""Manifold Mixup as forward hooks on named layers (and the input) of any model.

Verma, Lamb, Beckham, Najafi, Mitliagkas, Lopez-Paz, Bengio, "Manifold Mixup: Better
Representations by Interpolating Hidden States", ICML 2019 (arXiv:1806.05236); official code
https://github.com/vikasverma1077/manifold_mixup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from torchaug._validation import check_number, describe
from torchaug.hooks._base import FeatureHook, resolve_layer, select
from torchaug.mixing._random import sample_beta
from torchaug.registry import register

__all__ = ["INPUT", "ManifoldMixup"]

#: the name :attr:`ManifoldMixup.choices` gives to the model's input
INPUT = "<input>"


def _example() -> tuple[nn.Module, "ManifoldMixup"]:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )
    return model, ManifoldMixup(model, layers=["1", "3"])


@register("hook", example=_example)
class ManifoldMixup(FeatureHook):
    """Manifold Mixup: mix the hidden states of a random layer, and the targets with them.

    Verma et al., "Manifold Mixup: Better Representations by Interpolating Hidden States",
    ICML 2019. Per training forward: pick ``k`` uniformly among the model's input (if
    ``include_input``) and the outputs of ``layers``, draw one ``λ ~ Beta(α, α)`` for the
    batch and a random permutation ``π``, and replace the hidden state there by
    ``λ·h + (1 − λ)·h[π]``; :meth:`mix_targets` gives ``λ·y + (1 − λ)·y[π]``.

    The paper's CIFAR PreAct ResNet-18 setting mixes at ``k ∈ {input, after block group 1,
    after block group 2}`` with ``α = 2.0`` (official ``--mixup_alpha 2.0``, ``layer_mix``
    ``[0, 1, 2]``): ``ManifoldMixup(model, layers=["layer1", "layer2"], alpha=2.0)``.

    Args:
        model: any ``nn.Module``. The input is mixed by a forward pre-hook on ``model`` itself
            (its first positional argument), so ``model(x)`` is called as usual.
        layers: names of submodules (``dict(model.named_modules())``) whose outputs may be
            mixed; any floating tensor whose first dimension is the batch can be mixed.
        alpha: Beta concentration α (> 0).
        include_input: whether the input is one of the choices.
        generator: ``torch.Generator`` on the data's device type, or ``None``.
        num_classes: optional, lets :meth:`mix_targets` take int64 class indices.

    :attr:`last_params` adds ``layer``: the index of the mixed choice in :attr:`choices`.
    Active only while the model is in training mode and ``enabled`` is true.
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[str] | str = (),
        *,
        alpha: float = 2.0,
        include_input: bool = True,
        generator: torch.Generator | None = None,
        num_classes: int | None = None,
    ) -> None:
        super().__init__(model, generator=generator, num_classes=num_classes)
        owner = type(self).__name__
        if isinstance(layers, str):
            layers = [layers]
        if not isinstance(layers, Sequence) and not hasattr(layers, "__iter__"):
            raise TypeError(f"{owner}: layers must be a list of submodule names; got {describe(layers)}")
        layers = list(layers)
        if len(set(layers)) != len(layers):
            raise ValueError(f"{owner}: layers must not repeat a name; got {layers}")
        if not isinstance(include_input, bool):
            raise TypeError(f"{owner}: include_input must be a bool; got {describe(include_input)}")
        if not layers and not include_input:
            raise ValueError(f"{owner}: layers must name at least one submodule when include_input=False; got []")
        self.alpha = float(check_number(alpha, owner=owner, name="alpha", low=0.0, low_inclusive=False))
        self.layers = layers
        self.include_input = include_input
        self.layer_modules = [resolve_layer(model, name, owner=owner, arg="layers") for name in layers]
        self.choices: list[str] = ([INPUT] if include_input else []) + layers
        self._layer: torch.Tensor | None = None
        self._attach_root()
        offset = 1 if include_input else 0
        for i, module in enumerate(self.layer_modules):
            self._handles.append(module.register_forward_hook(self._make_layer_hook(i + offset)))

    def __repr__(self) -> str:
        return (
            f"ManifoldMixup(layers={self.layers!r}, alpha={self.alpha}, include_input={self.include_input}, "
            f"attached={self.attached})"
        )

    # -- state -----------------------------------------------------------------------------
    def _clear(self) -> None:
        super()._clear()
        self._layer = None

    @property
    def last_params(self) -> dict[str, torch.Tensor | None]:
        """``perm``, ``lam``, ``applied`` (as for every hook) and ``layer``: index into :attr:`choices`."""
        return {**super().last_params, "layer": self._layer}

    @property
    def last_stats(self) -> dict[str, torch.Tensor]:
        """``lam`` and, for every choice, ``mixed_at/<name>`` (1 for the mixed one); for logging."""
        stats = super().last_stats
        if stats and self._layer is not None:
            for i, name in enumerate(self.choices):
                stats[f"mixed_at/{name}"] = (self._layer == i).float()
        return stats

    @property
    def last_layer(self) -> str | None:
        """Name of the choice mixed in the last forward (reads a device tensor: for logging)."""
        return None if self._layer is None else self.choices[int(self._layer)]

    def _draw(self, h: torch.Tensor) -> None:
        device = h.device
        self._check_generator(device)
        g = self.generator
        self._layer = torch.randint(len(self.choices), (), generator=g, device=device)
        self._lam = sample_beta(self.alpha, 1, generator=g, device=device)[0]
        self._perm = self._take_perm(h.shape[0], device)
        self._applied = torch.ones((), dtype=torch.bool, device=device)

    # -- mixing ----------------------------------------------------------------------------
    def _check_hidden(self, h: Any, what: str) -> torch.Tensor:
        owner = type(self).__name__
        if not isinstance(h, torch.Tensor):
            raise TypeError(f"{owner}: {what} must be a tensor with the batch as first dimension; got {describe(h)}")
        if h.ndim == 0 or not h.is_floating_point():
            raise TypeError(f"{owner}: {what} must be a floating tensor with the batch as first dimension; got {describe(h)}")
        if self._perm is not None and self._in_forward and h.shape[0] != self._perm.shape[0]:
            raise ValueError(
                f"{owner}: {what} must have the batch ({self._perm.shape[0]} samples) as first dimension; got {describe(h)}"
            )
        return h

    def _mix(self, index: int, h: Any, what: str) -> Any:
        h = self._check_hidden(h, what)
        if self._needs_draw():
            self._draw(h)
        assert self._perm is not None and self._lam is not None and self._layer is not None
        perm, lam = self._perm, self._lam

        def compute() -> torch.Tensor:
            return torch.lerp(h[perm], h, lam.to(h.dtype))

        return select(self._layer == index, compute, h)

    def _root_pre(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        super()._root_pre(module, args)
        if not self.include_input or not self._active(module):
            return None
        if not args:
            raise TypeError(
                f"{type(self).__name__}: include_input=True needs the input as the first positional argument of the model"
            )
        x = args[0]
        out = self._mix(0, x, "the model's input")
        return None if out is x else (out, *args[1:])

    def _make_layer_hook(self, index: int) -> Any:
        return _LayerHook(self, index)


class _LayerHook:
    """Forward hook of one listed layer (a picklable callable, unlike a closure)."""

    def __init__(self, owner: ManifoldMixup, index: int) -> None:
        self.owner = owner
        self.index = index

    def __call__(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        mm = self.owner
        if not mm._active(mm.model):
            return None
        return mm._mix(self.index, output, f"the output of layer {mm.choices[self.index]!r}")
