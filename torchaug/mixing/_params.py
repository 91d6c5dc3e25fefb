"""Typed parameters of the batch mixers: one dataclass per family, read like a dict.

A mixer's ``forward(..., return_params=True)`` returns one of these, and ``params=`` takes one
back (or any mapping with the same keys, e.g. ``dict(params)`` or ``{k: v.to(dev) for k, v in
params.items()}``). Read access is a dict's: ``params["lam"]``, ``"lam" in params``,
``params.keys()``, ``items()``, ``get()``, ``dict(params)``, ``{**params}``.

The CPU fast path draws a batch-wide ``λ``, box and pairing offset as Python numbers
(:class:`HostDraw`, the :attr:`MixParams.host` field), because five tensors built from Python
numbers cost a dispatch each, as long as the blend itself at 256x3x32x32. Those tensors are
built the first time a key is read (:meth:`MixParams.materialize`); the mixer's own kernels read
:attr:`MixParams.host` directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import torch

__all__ = ["HostDraw", "MixParams", "MixCutParams", "MaskMixParams", "MosaicParams"]


class HostDraw(NamedTuple):
    """A CPU batch-wide draw as Python numbers: ``r`` the ``"shift"`` offset, ``leftover``
    ``(B - 1, partner)`` for an odd batch, ``lam`` / ``image_lam`` the label / pixel weight,
    ``box`` CutMix's ``[y0, y1, x0, x1)`` (None: no box). Every sample is mixed."""

    r: int
    leftover: tuple[int, int] | None
    lam: float
    image_lam: float
    box: tuple[int, int, int, int] | None = None


#: dataclass fields that are not keys of the mapping
_NOT_KEYS = ("host", "identity")


class _TensorMapping(Mapping):
    """Read-only ``Mapping`` over a dataclass's tensor fields (``None`` fields are absent keys)."""

    def _key_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self) if f.name not in _NOT_KEYS)  # type: ignore[arg-type]

    def materialize(self) -> _TensorMapping:
        """Fill every field that is described only by host numbers (no-op here); returns ``self``."""
        return self

    def __getitem__(self, key: str) -> torch.Tensor:
        if key not in self._key_names():
            raise KeyError(key)
        v = getattr(self.materialize(), key)
        if v is None:
            raise KeyError(key)
        return v

    def __iter__(self) -> Iterator[str]:
        self.materialize()
        return iter([k for k in self._key_names() if getattr(self, k) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def to(self, device: torch.device | str) -> _TensorMapping:
        """A copy with every tensor on ``device`` (host draws become tensors first)."""
        self.materialize()
        changes = {k: getattr(self, k).to(device) for k in self._key_names() if getattr(self, k) is not None}
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def __repr__(self) -> str:
        self.materialize()
        body = ", ".join(f"{k}={_short(getattr(self, k))}" for k in self._key_names() if getattr(self, k) is not None)
        return f"{type(self).__name__}({body})"

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any], *, owner: str) -> Any:
        """Build from a mapping with this family's keys; unknown keys raise ``ValueError``."""
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in _NOT_KEYS)  # type: ignore[arg-type]
        unknown = sorted(str(k) for k in params.keys() if k not in names)
        if unknown:
            raise ValueError(f"{owner}: params has keys {unknown} that this mixer does not use; expected keys "
                             f"among {list(names)}")
        return cls(**{k: params[k] for k in params.keys()})


def _short(v: Any) -> str:
    if isinstance(v, torch.Tensor):
        return f"Tensor{tuple(v.shape)}:{str(v.dtype).replace('torch.', '')}"
    return repr(v)


@dataclasses.dataclass(eq=False, repr=False)
class MixParams(_TensorMapping):
    """Parameters of the pairwise mixers (MixUp, CutMix, SamplePairing, ResizeMix, SaliencyMix).

    - ``perm`` int64 ``(B,)``: the partner of each sample;
    - ``lam`` float32 ``(B,)``: the label weight of the sample itself (1 where not mixed);
    - ``image_lam`` float32 ``(B,)``: the pixel weight of the sample itself outside ``box``;
    - ``box`` int64 ``(B, 4)``: ``[y0, y1, x0, x1)`` region taken from the partner (empty: none);
    - ``mixed`` bool ``(B,)``: whether the sample received content from a partner;
    - ``offset`` int64 ``(1,)`` (structured pairings only): the pairing's random offset.

    Not keys: ``host`` (:class:`HostDraw` or None: the batch-wide CPU draw the tensors are built
    from on first read) and ``identity`` (True: "no mixing", the kernels are skipped).
    """

    perm: torch.Tensor
    lam: torch.Tensor | None = None
    image_lam: torch.Tensor | None = None
    box: torch.Tensor | None = None
    mixed: torch.Tensor | None = None
    offset: torch.Tensor | None = None
    host: HostDraw | None = None
    identity: bool = False

    def materialize(self) -> MixParams:
        """Build the tensors of a :class:`HostDraw` (every sample mixed) and drop ``host``; returns ``self``.

        ``perm`` is cloned: a host draw's ``perm`` is a cached tensor shared between calls.
        """
        host = self.host
        if host is None:
            return self
        b = self.perm.shape[0]
        lam = torch.full((b,), host.lam)
        self.perm = self.perm.clone()
        self.lam = lam
        self.image_lam = lam if host.image_lam == host.lam else torch.full((b,), host.image_lam)
        self.box = (torch.zeros(b, 4, dtype=torch.long) if host.box is None
                    else torch.tensor(host.box).expand(b, 4).clone())
        self.mixed = torch.ones(b, dtype=torch.bool)
        self.offset = torch.tensor([host.r])
        self.host = None
        return self


@dataclasses.dataclass(eq=False, repr=False)
class MixCutParams(MixParams):
    """:class:`MixParams` of :class:`~torchaug.mixing.MixUpCutMix`, plus ``cutmix`` bool ``(B,)``:
    whether the sample's choice was CutMix (else MixUp)."""

    cutmix: torch.Tensor | None = None


@dataclasses.dataclass(eq=False, repr=False)
class MaskMixParams(MixParams):
    """:class:`MixParams` of the mask mixers (:class:`~torchaug.mixing.FMix`), plus ``mask``
    float32 ``(B, 1, H, W)``: the per-pixel weight of the sample itself."""

    mask: torch.Tensor | None = None


@dataclasses.dataclass(eq=False, repr=False)
class MosaicParams(_TensorMapping):
    """Parameters of :class:`~torchaug.mixing.Mosaic`: ``center`` int64 ``(B, 2)`` (x, y in grid
    pixels), ``sources`` int64 ``(B, R*C)`` (the sample shown in each cell, row-major), ``apply``
    bool ``(B,)``."""

    center: torch.Tensor
    sources: torch.Tensor
    apply: torch.Tensor
