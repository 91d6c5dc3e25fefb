"""``RandomCorruption``: a random ImageNet-C corruption and severity per sample (robustness training)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from torchaug._cpu.select import run_by_group
from torchaug._validation import check_number, describe
from torchaug.registry import register
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["RandomCorruption"]


@register("transform", example=lambda: RandomCorruption(names=("gaussian_noise", "contrast", "pixelate", "fog")))
class RandomCorruption(RandomTransform):
    """Apply to each sample one corruption drawn uniformly from ``names`` at a severity drawn
    uniformly from ``severity = (min, max)`` (or a fixed int), as in robustness training on the
    ImageNet-C corruptions (Hendrycks & Dietterich, ICLR 2019; :mod:`torchaug.corruptions`).

    ``names``: a subset of :data:`torchaug.corruptions.CORRUPTIONS` (None: all 19);
    ``constants``: ``"auto"`` / ``"cifar"`` / ``"imagenet"`` (see :func:`~torchaug.corruptions.corrupt`).
    Non-geometric: targets pass through.

    Parameters: ``corruption`` (``(B,)`` index into ``names``), ``severity`` (``(B,)``), ``seed``
    (``(1,)``, seeds the corruptions' own random fields so that replaying gives the same result),
    ``apply``. Samples are grouped by corruption (one host read of the counts per call), then each
    group runs as one batched call.
    """

    #: why the contract's no-host-read check is skipped (see the class docstring)
    reads_back = "samples are grouped by corruption (one read of the counts) and seeded from a drawn seed"

    def __init__(
        self,
        names: Sequence[str] | None = None,
        severity: int | Sequence[int] = (1, 5),
        constants: str = "auto",
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        from torchaug.corruptions import CONSTANT_SETS, CORRUPTIONS

        o = type(self).__name__
        if names is None:
            names = CORRUPTIONS
        if isinstance(names, str) or not isinstance(names, Sequence) or not names:
            raise TypeError(f"{o}: names must be a non-empty sequence of corruption names; got {describe(names)}")
        for n in names:
            if n not in CORRUPTIONS:
                raise ValueError(f"{o}: names must be taken from {list(CORRUPTIONS)}; got {n!r}")
        self.names = tuple(names)
        if isinstance(severity, int) and not isinstance(severity, bool):
            lo = hi = int(check_number(severity, owner=o, name="severity", low=1, high=5, integer=True))
        elif isinstance(severity, Sequence) and not isinstance(severity, str) and len(severity) == 2:
            lo = int(check_number(severity[0], owner=o, name="severity", low=1, high=5, integer=True))
            hi = int(check_number(severity[1], owner=o, name="severity", low=1, high=5, integer=True))
            if lo > hi:
                raise ValueError(f"{o}: severity must be an increasing (min, max) pair; got {tuple(severity)}")
        else:
            raise TypeError(f"{o}: severity must be an int in 1..5 or a (min, max) pair; got {describe(severity)}")
        self.severity = (lo, hi)
        if not isinstance(constants, str) or constants not in CONSTANT_SETS:
            raise ValueError(f"{o}: constants must be one of {CONSTANT_SETS}; got {constants!r}")
        self.constants = constants

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.severity
        c = self._randint(x, len(self.names), generator=generator)
        s = self._randint(x, hi - lo + 1, generator=generator) + lo
        seed = torch.randint(0, 2**62, (1,), generator=generator, device=x.device)
        return {"corruption": c, "severity": s, "seed": seed}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        from torchaug.corruptions import constants_for, corrupt_batch

        o = type(self).__name__
        if x.shape[1] not in (1, 3):
            raise ValueError(f"{o}: x must have 1 or 3 channels; got {describe(x)}")
        c = params["corruption"].to(x.device).long()
        sev = params["severity"].to(x.device).long()
        g = torch.Generator(device=x.device).manual_seed(int(params["seed"].reshape(-1)[0]))
        which = constants_for(tuple(x.shape[-2:]), self.constants)
        lo, hi = self.severity
        levels = tuple(range(lo, hi + 1))
        if len(self.names) == 1:
            return corrupt_batch(x, self.names[0], sev, levels, g, which)
        counts = torch.bincount(c, minlength=len(self.names)).tolist()
        return run_by_group(x, c, counts, lambda k, part, rows: corrupt_batch(part, self.names[k], sev.index_select(0, rows),
                                                                                levels, g, which))

    def extra_repr(self) -> str:
        return f"names={self.names}, severity={self.severity}, constants={self.constants!r}, " + super().extra_repr()
