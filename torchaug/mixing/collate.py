"""``MixCollate``: mix in the DataLoader workers, right after collation."""

from __future__ import annotations

from typing import Any, Callable

from torch.utils.data import default_collate

from torchaug._validation import describe


class MixCollate:
    """``collate_fn`` that collates a list of samples, then mixes the batch.

    ``DataLoader(ds, batch_size=..., collate_fn=MixCollate(MixUp(num_classes=10)), num_workers=2)``.

    Samples are ``(image, label, *extra)`` with uint8 (or float) images ``(C, H, W)`` as tensors
    or numpy arrays and int labels; ``collate_fn`` (default: ``default_collate``) stacks them.
    The mixer then runs in place on the freshly collated batch (no second allocation) when
    ``collate_fn`` is ``default_collate`` (override with ``inplace=``). Returns
    ``(x_mixed, y_soft, *extra)``, plus the params dict last when ``return_params=True``
    (the main process can log ``torchaug.mixing.mixing_stats(params)``: the mixer's
    ``last_stats`` live in the worker process).

    Picklable (a top-level class holding a module and a function), so it works with forked
    and spawned workers. Randomness: the mixer draws from torch's global RNG, which the
    DataLoader seeds differently in every worker (and, with non-persistent workers, every
    epoch).
    """

    def __init__(
        self,
        mixer: Callable[..., Any],
        collate_fn: Callable[[list[Any]], Any] = default_collate,
        *,
        inplace: bool | None = None,
        return_params: bool = False,
    ) -> None:
        if not callable(mixer):
            raise TypeError(f"MixCollate: mixer must be a callable mixer (e.g. MixUp); got {describe(mixer)}")
        if not callable(collate_fn):
            raise TypeError(f"MixCollate: collate_fn must be callable; got {describe(collate_fn)}")
        self.mixer = mixer
        self.collate_fn = collate_fn
        self.inplace = (collate_fn is default_collate) if inplace is None else bool(inplace)
        self.return_params = bool(return_params)

    def __repr__(self) -> str:
        return f"MixCollate(mixer={self.mixer!r}, inplace={self.inplace})"

    def __call__(self, batch: list[Any]) -> tuple[Any, ...]:
        collated = self.collate_fn(batch)
        if not isinstance(collated, (tuple, list)) or len(collated) < 2:
            raise TypeError(
                f"MixCollate: collate_fn must return (images, labels, ...); got {describe(collated)}"
            )
        x, y, *extra = collated
        res = self.mixer(x, y, return_params=True, inplace=self.inplace)
        out = (res[0], res[1], *extra)
        return (*out, res[2]) if self.return_params else out
