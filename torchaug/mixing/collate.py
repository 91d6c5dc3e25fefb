"""Collate functions that augment in the DataLoader workers: ``AugmentCollate`` and ``MixCollate``."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils.data import default_collate, get_worker_info

from torchaug._validation import describe


def _worker_generator(cache: dict[int, torch.Generator]) -> torch.Generator | None:
    """In a loader worker: a CPU generator seeded from the worker's seed (distinct per worker and
    epoch, reproducible from the loader's generator); in the main process None (torch's global RNG)."""
    info = get_worker_info()
    if info is None:
        return None
    gen = cache.get(info.seed)
    if gen is None:
        from torchaug.seeding import derive_seed

        cache.clear()
        gen = cache[info.seed] = torch.Generator().manual_seed(derive_seed(info.seed, "augment_collate"))
    return gen


def _ragged(batch: Any) -> bool:
    """Samples ``(image, ...)`` whose images differ in shape or are encoded bytes (1-D uint8)."""
    if not isinstance(batch, (list, tuple)) or not batch:
        return False
    shapes = set()
    for s in batch:
        if not isinstance(s, (tuple, list)) or not s or not hasattr(s[0], "shape"):
            return False
        if len(s[0].shape) == 1 and s[0].dtype in (torch.uint8, "uint8"):
            return True
        shapes.add(tuple(s[0].shape))
    return len(shapes) > 1


class AugmentCollate:
    """``collate_fn`` that turns a list of decoded samples into an augmented batch, in the workers.

    ``DataLoader(ds, batch_size=64, num_workers=2, collate_fn=AugmentCollate(Compose([RandomResizedCrop(224),
    RandomHorizontalFlip()]), mixer=MixUp(num_classes=1000)))``.

    Samples are ``(image, label, *extra)``. Images are uint8 (or float) ``(C, H, W)`` tensors or
    numpy arrays of any sizes, or encoded file bytes (1-D uint8 tensors, decoded here on the CPU,
    see :mod:`torchaug.data.decode`). Then:

    - ``transforms`` (a torchaug transform or ``Compose``) gets the images as one stacked batch
      when they share a size, else as a list (a ragged batch: start the pipeline with a
      size-changing op such as ``RandomResizedCrop``, see :mod:`torchaug.transforms.ragged`)
      and returns one ``(B, C, h, w)`` batch with per-sample parameters;
    - ``mixer`` (MixUp, CutMix, ...) mixes that batch in place and returns soft ``(B, K)`` targets.

    Without ``transforms`` the images are collated by ``collate_fn`` (default ``default_collate``)
    when they share a size, or handed on as a list (decoded images or bytes) for the device to
    augment (``ClassifierModule`` takes lists). Returns ``(x, y, *extra)``, plus the mixer's
    params last with ``return_params=True``.

    Randomness: in a loader worker both draw from a generator seeded from the worker's seed, which
    PyTorch derives from the loader's generator each epoch (``torchaug.seeding``): distinct per
    worker and epoch, the same for the same seed. In the main process (``num_workers=0``) they use
    torch's global RNG. Picklable for spawned workers.
    """

    def __init__(
        self,
        transforms: Callable[..., Any] | None = None,
        mixer: Callable[..., Any] | None = None,
        collate_fn: Callable[[list[Any]], Any] = default_collate,
        *,
        inplace: bool | None = None,
        return_params: bool = False,
    ) -> None:
        owner = type(self).__name__
        if transforms is not None and not callable(transforms):
            raise TypeError(f"{owner}: transforms must be a callable transform (e.g. Compose) or None; got {describe(transforms)}")
        if mixer is not None and not callable(mixer):
            raise TypeError(f"{owner}: mixer must be a callable mixer (e.g. MixUp) or None; got {describe(mixer)}")
        if not callable(collate_fn):
            raise TypeError(f"{owner}: collate_fn must be callable; got {describe(collate_fn)}")
        self.transforms, self.mixer, self.collate_fn = transforms, mixer, collate_fn
        self.inplace = (collate_fn is default_collate or transforms is not None) if inplace is None else bool(inplace)
        self.return_params = bool(return_params)
        self._generators: dict[int, torch.Generator] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_generators"] = {}
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(transforms={self.transforms!r}, mixer={self.mixer!r}, inplace={self.inplace})"

    def _images(self, batch: list[Any]) -> tuple[Any, list[Any]]:
        owner = type(self).__name__
        if not isinstance(batch, (list, tuple)) or not batch:
            raise TypeError(f"{owner}: batch must be a non-empty list of (image, label, ...) samples; got {describe(batch)}")
        for s in batch:
            if not isinstance(s, (tuple, list)) or len(s) < 2:
                raise TypeError(f"{owner}: each sample must be (image, label, ...); got {describe(s)}")
        imgs = [torch.as_tensor(s[0]) for s in batch]
        rest = default_collate([tuple(s[1:]) for s in batch])
        if any(t.ndim == 1 and t.dtype == torch.uint8 for t in imgs):
            from torchaug.data.decode import decode

            if self.transforms is not None or self.mixer is not None:  # decode here, in the worker
                imgs = [decode(t) if t.ndim == 1 else t for t in imgs]
        return imgs, list(rest)

    def __call__(self, batch: list[Any]) -> tuple[Any, ...]:
        owner = type(self).__name__
        gen = _worker_generator(self._generators)
        if self.transforms is None:
            if not _ragged(batch):
                collated = self.collate_fn(batch)
                if not isinstance(collated, (tuple, list)) or len(collated) < 2:
                    raise TypeError(f"{owner}: collate_fn must return (images, labels, ...); got {describe(collated)}")
                x, y, *extra = collated
            else:
                x, (y, *extra) = self._images(batch)
                if self.mixer is not None and not (isinstance(x, list) and len({tuple(t.shape) for t in x}) == 1):
                    raise ValueError(f"{owner}: the mixer needs images of one size; got sizes "
                                     f"{sorted({tuple(t.shape) for t in x})[:3]}: pass transforms= that crop or resize them")
                if self.mixer is not None:
                    x = torch.stack(x)
        else:
            imgs, (y, *extra) = self._images(batch)
            shapes = {tuple(t.shape) for t in imgs}
            x_in = torch.stack(imgs) if len(shapes) == 1 else imgs
            x = self.transforms(x_in, generator=gen)
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"{owner}: transforms must return one (B, C, H, W) batch; got {describe(x)} (end the "
                                "pipeline with a crop to one size)")
        if self.mixer is None:
            return (x, y, *extra)
        res = self.mixer(x, y, generator=gen, return_params=True, inplace=self.inplace)
        out = (res[0], res[1], *extra)
        return (*out, res[2]) if self.return_params else out


class MixCollate(AugmentCollate):
    """``collate_fn`` that collates a list of samples, then mixes the batch: ``AugmentCollate(None, mixer)``.

    ``DataLoader(ds, batch_size=..., collate_fn=MixCollate(MixUp(num_classes=10)), num_workers=2)``.

    Samples are ``(image, label, *extra)`` with uint8 (or float) images ``(C, H, W)`` as tensors
    or numpy arrays and int labels; ``collate_fn`` (default: ``default_collate``) stacks them.
    The mixer then runs in place on the freshly collated batch (no second allocation) when
    ``collate_fn`` is ``default_collate`` (override with ``inplace=``). Returns
    ``(x_mixed, y_soft, *extra)``, plus the params dict last when ``return_params=True``
    (the main process can log ``torchaug.mixing.mixing_stats(params)``: the mixer's
    ``last_stats`` live in the worker process).

    Picklable (a top-level class holding a module and a function), so it works with forked
    and spawned workers. Randomness: see :class:`AugmentCollate` (a per-worker generator seeded
    from the worker's seed; torch's global RNG in the main process).
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
        super().__init__(None, mixer, collate_fn, inplace=inplace, return_params=return_params)

    def __repr__(self) -> str:
        return f"MixCollate(mixer={self.mixer!r}, inplace={self.inplace})"
