"""Base class of every random image transform: sample per-sample parameters, then apply.

A subclass overrides two methods (as torchvision v2 does):

- ``make_params(x, generator) -> dict[str, Tensor]``: draw per-sample parameter tensors of
  leading size ``B`` on ``x.device``. Use :meth:`_rand` and friends so that ``same_on_batch``
  and ``generator`` are honoured.
- ``transform(x, params) -> Tensor``: deterministic, batched; ``x`` is ``(B, C, H, W)``.

The base adds: validation, ``(C, H, W)`` single images, the per-sample probability ``p``
(``params["apply"]``, a ``(B,)`` bool tensor; samples not selected are returned unchanged),
``same_on_batch``, returning the parameters drawn (``return_params=True``) and replaying them
(``params=...``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from torchaug._validation import check_generator, check_images, check_probability

Params = dict[str, torch.Tensor]


class RandomTransform(nn.Module):
    """Random per-sample image transform over ``(B, C, H, W)`` (or ``(C, H, W)``) batches."""

    __torchaug_public__ = False
    #: whether the output has the input's spatial size (``p`` blending needs it)
    keeps_size: bool = True

    def __init__(self, *, p: float = 1.0, same_on_batch: bool = False) -> None:
        super().__init__()
        self.p = check_probability(p, owner=type(self).__name__, name="p")
        if not isinstance(same_on_batch, bool):
            raise TypeError(f"{type(self).__name__}: same_on_batch must be a bool; got {same_on_batch!r}")
        self.same_on_batch = same_on_batch

    # -- to override ---------------------------------------------------------------------
    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        raise TypeError(f"{type(self).__name__} does not define transform()")  # pragma: no cover

    # -- sampling helpers ----------------------------------------------------------------
    def _batch(self, x: torch.Tensor) -> int:
        return 1 if self.same_on_batch else x.shape[0]

    def _expand(self, t: torch.Tensor, b: int) -> torch.Tensor:
        return t.expand(b, *t.shape[1:]) if self.same_on_batch else t

    def _rand(self, x: torch.Tensor, *shape: int, generator: torch.Generator | None) -> torch.Tensor:
        """Uniform [0, 1) of shape ``(B, *shape)`` (one draw shared when ``same_on_batch``)."""
        t = torch.rand((self._batch(x), *shape), generator=generator, device=x.device)
        return self._expand(t, x.shape[0])

    def _uniform(self, x: torch.Tensor, low: float, high: float, *shape: int, generator: torch.Generator | None) -> torch.Tensor:
        return low + (high - low) * self._rand(x, *shape, generator=generator)

    def _randint(self, x: torch.Tensor, high: torch.Tensor | int, *, generator: torch.Generator | None) -> torch.Tensor:
        """Integers in ``[0, high)`` per sample; ``high`` may be a ``(B,)`` tensor."""
        u = self._rand(x, generator=generator)
        if isinstance(high, torch.Tensor):
            return (u * high.to(u.dtype)).floor().long().clamp_max(high.long() - 1).clamp_min(0)
        return (u * high).floor().long().clamp(0, max(high - 1, 0))

    # -- driver --------------------------------------------------------------------------
    def forward(
        self,
        x: Any,
        *,
        generator: torch.Generator | None = None,
        params: Params | None = None,
        return_params: bool = False,
    ) -> Any:
        owner = type(self).__name__
        x4, single = check_images(x, owner=owner)
        check_generator(generator, x4.device, owner=owner)
        if params is None:
            params = self.make_params(x4, generator)
            if "apply" not in params:
                if self.p >= 1.0:
                    params["apply"] = torch.ones(x4.shape[0], dtype=torch.bool, device=x4.device)
                else:
                    params["apply"] = self._rand(x4, generator=generator) < self.p
        out = self._apply(x4, params)
        out = out[0] if single else out
        return (out, params) if return_params else out

    def _apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        out = self.transform(x, params)
        if self.p < 1.0 and self.keeps_size:
            keep = params["apply"].view(-1, 1, 1, 1)
            out = torch.where(keep, out, x)
        return out

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", same_on_batch=True" if self.same_on_batch else "")
