"""Shared machinery of the feature-space hooks: attach to named layers, draw per forward, mix targets.

A hook object is *not* an ``nn.Module``: it holds a reference to the model and the
``RemovableHandle`` s of the hooks it registered, so it never shows up in the model's
``state_dict`` and the model keeps its parameters as they were. Both the model and the hook
object survive ``copy.deepcopy`` and ``pickle`` (the copied model's hooks point to the copied
hook object), which is what DDP with the ``spawn`` start method needs.

Per training forward of the model, a hook draws its random parameters (on the feature's
device, with :attr:`FeatureHook.generator` or torch's global RNG), applies them inside the
network and records them; :meth:`FeatureHook.mix_targets` then turns the batch's soft targets
into ``λ·y + (1 − λ)·y[π]`` with the same permutation ``π`` and weight ``λ``.

Per-batch decisions ("apply MoEx this batch?", "which layer does Manifold Mixup mix?") are
drawn as device tensors. On a CPU tensor reading them costs nothing, so the hook branches in
Python and skips the work it does not need; on an accelerator it computes the candidate and
selects it with ``torch.where`` instead, so that a training step never waits for the device.
"""

from __future__ import annotations

import difflib
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from torchaug._devpath import cpu_path
from torchaug._validation import check_finite, check_generator, check_labels, check_number, describe, value_checks_enabled
from torchaug.mixing.targets import mix_targets as _mix_targets
from torchaug.mixing.targets import one_hot

#: branch on the host for CPU tensors (free there); tests switch it off to exercise the
#: sync-free ``torch.where`` path that accelerators use.
_HOST_BRANCH_ON_CPU = True


def _host_branch(device: torch.device) -> bool:
    return _HOST_BRANCH_ON_CPU and cpu_path(device)


def select(cond: torch.Tensor, compute: Callable[[], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``compute()`` where the 0-dim bool ``cond`` holds, else ``x``, without a host-device sync.

    On CPU the condition is read (free) and ``compute`` runs only when needed; elsewhere both
    are evaluated and merged with ``torch.where``.
    """
    if _host_branch(x.device):
        return compute() if bool(cond) else x
    return torch.where(cond, compute(), x)


def resolve_layer(model: nn.Module, name: Any, *, owner: str, arg: str = "layer") -> nn.Module:
    """The submodule ``dict(model.named_modules())[name]``; unknown names list close matches."""
    if not isinstance(name, str):
        raise TypeError(f"{owner}: {arg} must be the name of a submodule (a str, as in model.named_modules()); got {describe(name)}")
    modules = dict(model.named_modules())
    if name in modules:
        return modules[name]
    names = [n for n in modules if n]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    hint = f"close matches: {close}" if close else "no close match"
    shown = names[:25]
    more = f" ... ({len(names) - len(shown)} more)" if len(names) > len(shown) else ""
    raise ValueError(
        f"{owner}: {arg} must name a submodule of {type(model).__name__} (a key of dict(model.named_modules())); "
        f"got {name!r} ({hint}); valid names: {shown}{more}"
    )


class FeatureHook:
    """Base of the feature-space hooks: layer lookup, per-forward state, target mixing, removal.

    Not an augmenter by itself (``__torchaug_public__ = False``); see :class:`~torchaug.hooks.MoEx`
    and :class:`~torchaug.hooks.ManifoldMixup`.

    Public attributes:

    - ``model``: the model the hooks are attached to.
    - ``generator``: ``torch.Generator`` or ``None`` (torch's global RNG), on the features'
      device type; may be replaced at any time (a trainer sets its seeded generator here).
    - ``enabled``: ``False`` turns the hook off (see also :meth:`disabled`).
    - ``num_classes``: optional; lets :meth:`mix_targets` accept int64 class indices.
    """

    __torchaug_public__ = False

    def __init__(
        self,
        model: nn.Module,
        *,
        generator: torch.Generator | None = None,
        num_classes: int | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(model, nn.Module):
            raise TypeError(f"{owner}: model must be a torch.nn.Module; got {describe(model)}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"{owner}: generator must be a torch.Generator or None; got {describe(generator)}")
        if num_classes is not None:
            check_number(num_classes, owner=owner, name="num_classes", low=1, integer=True)
        self.model = model
        self.generator = generator
        self.num_classes = num_classes
        self.enabled = True
        self._handles: list[RemovableHandle] = []
        self._next_perm: torch.Tensor | None = None
        self._in_forward = False
        self._clear()

    # -- state -----------------------------------------------------------------------------
    def _clear(self) -> None:
        self._perm: torch.Tensor | None = None
        self._lam: torch.Tensor | None = None
        self._applied: torch.Tensor | None = None

    @property
    def last_params(self) -> dict[str, torch.Tensor | None]:
        """What the last forward of the model drew: ``perm`` (B,) int64, ``lam`` 0-dim float32,
        ``applied`` 0-dim bool; all ``None`` when the hook was inactive (eval mode, disabled)."""
        return {"perm": self._perm, "lam": self._lam, "applied": self._applied}

    @property
    def last_stats(self) -> dict[str, torch.Tensor]:
        """Per-batch statistics for logging (device tensors, no sync): ``applied`` as 0/1 and ``lam``;
        empty when the last forward was inactive."""
        if self._applied is None or self._lam is None:
            return {}
        applied = self._applied.float()
        return {"applied": applied, "lam": self._lam}

    @property
    def attached(self) -> bool:
        """Whether the hooks are still registered on the model."""
        return bool(self._handles)

    def set_next_perm(self, perm: torch.Tensor | None) -> None:
        """Use ``perm`` as the permutation π of the next active forward (then forget it).

        Pass the mixer's permutation to share it, as the official MoEx + CutMix code does; the
        composed targets are then the official ones (see :meth:`mix_targets`). ``None`` clears it.
        """
        owner = type(self).__name__
        if perm is not None:
            if not isinstance(perm, torch.Tensor) or perm.ndim != 1 or perm.dtype != torch.int64:
                raise TypeError(f"{owner}: perm must be an int64 tensor of shape (B,); got {describe(perm)}")
        self._next_perm = perm

    def _take_perm(self, batch: int, device: torch.device) -> torch.Tensor:
        perm, self._next_perm = self._next_perm, None
        if perm is None:
            return torch.randperm(batch, generator=self.generator, device=device)
        if perm.shape[0] != batch:
            raise ValueError(
                f"{type(self).__name__}: the permutation passed to set_next_perm must have one entry per sample "
                f"(batch size {batch}); got {describe(perm)}"
            )
        if perm.numel() and value_checks_enabled(perm) and not (0 <= int(perm.min()) and int(perm.max()) < batch):
            raise ValueError(
                f"{type(self).__name__}: the permutation passed to set_next_perm must hold indices in [0, {batch}); "
                f"got values in [{int(perm.min())}, {int(perm.max())}]"
            )
        return perm.to(device, non_blocking=True)

    def _check_generator(self, device: torch.device) -> None:
        check_generator(self.generator, device, owner=type(self).__name__)

    # -- forward bracketing --------------------------------------------------------------------
    def _root_pre(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        self._clear()
        self._in_forward = True
        return None

    def _root_post(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        self._in_forward = False
        return None

    def _attach_root(self) -> None:
        # Prepended so that the state is reset before any other pre-hook of the model runs.
        self._handles.append(self.model.register_forward_pre_hook(self._root_pre, prepend=True))
        self._handles.append(self.model.register_forward_hook(self._root_post, always_call=True))

    def _needs_draw(self) -> bool:
        """Draw at this call: once per model forward, or at every call outside one."""
        return self._perm is None or not self._in_forward

    # -- targets ---------------------------------------------------------------------------
    def mix_targets(self, y: torch.Tensor) -> torch.Tensor:
        """``λ·y + (1 − λ)·y[π]`` with the last forward's ``π`` and ``λ``; ``y`` itself if nothing was applied.

        ``y``: soft targets ``(B, K)`` (float), or int64 class indices ``(B,)`` when the hook
        was built with ``num_classes``. Returns ``(B, K)`` soft targets whose rows keep their
        sums. With a mixer in the same step, call the mixer first and pass its mixed targets
        here: mixing ``(π, c)`` and then ``(π, λ)`` weights ``y``, ``y[π]`` and ``y[π][π]`` by
        ``λc``, ``λ(1 − c) + (1 − λ)c`` and ``(1 − λ)(1 − c)``, the official MoEx + CutMix loss.
        """
        owner = type(self).__name__
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{owner}: y must be a torch.Tensor of soft targets (B, K); got {describe(y)}")
        if y.ndim == 1 and self.num_classes is not None:
            y = one_hot(check_labels(y, owner=owner, num_classes=self.num_classes), self.num_classes)
        elif y.ndim != 2 or not y.is_floating_point():
            need = "soft targets (B, K)" + (
                f" or int64 class indices (B,) in [0, {self.num_classes})" if self.num_classes else
                " (build the hook with num_classes=K to pass int64 class indices)"
            )
            raise ValueError(f"{owner}: y must be {need}; got {describe(y)}")
        check_finite(y, owner=owner, name="y")
        if self._applied is None or self._perm is None or self._lam is None:
            return y
        if y.shape[0] != self._perm.shape[0]:
            raise ValueError(
                f"{owner}: y must have one row per sample of the last forward (batch size {self._perm.shape[0]}); "
                f"got {describe(y)}"
            )
        lam = torch.where(self._applied, self._lam, torch.ones_like(self._lam)).to(y.device)
        return _mix_targets(y, self._perm.to(y.device), lam)

    # -- switching off ---------------------------------------------------------------------
    @contextmanager
    def disabled(self) -> Iterator["FeatureHook"]:
        """Context manager: the hook does nothing inside the ``with`` block."""
        previous = self.enabled
        self.enabled = False
        try:
            yield self
        finally:
            self.enabled = previous

    def _active(self, module: nn.Module) -> bool:
        return self.enabled and module.training

    def remove(self) -> None:
        """Detach every hook this object registered; the model is left exactly as it was."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._next_perm = None
        self._in_forward = False
        self._clear()

    def __enter__(self) -> "FeatureHook":
        return self

    def __exit__(self, *exc: Any) -> None:
        """``with MoEx(model, ...) as hook:`` removes the hooks on exit."""
        self.remove()
