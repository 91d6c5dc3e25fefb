"""Seeding policy: reproducible runs with distinct streams per rank, worker and epoch.

- :func:`derive_seed` hashes ``(seed, *parts)`` into an independent 63-bit seed (numpy's
  ``SeedSequence``), so streams for different ranks or purposes never overlap by accident.
- Device-side augmentation draws from a generator made by :func:`make_generator` from
  ``(seed, rank)``: DDP ranks get different parameters even though ``seed_everything`` gives
  every rank the same global RNG.
- Each ``DataLoader`` gets its own generator (:func:`loader_generator`, from
  ``(seed, rank, split)``). PyTorch draws a fresh base seed from it every time an iterator is
  created, i.e. every epoch, and seeds worker ``i`` with ``base + i``: workers differ from each
  other and from one epoch to the next, and the sequence is reproducible. :func:`seed_worker`
  then seeds ``random`` and ``numpy`` in the worker from that torch seed.
- Checkpoints carry the generators' states (see ``ClassifierModule`` and the datamodules), so a
  resumed run continues with the same draws as an uninterrupted one.
"""

from __future__ import annotations

import random
import zlib

import numpy as np
import torch

_MASK63 = (1 << 63) - 1


def _as_int(part: int | str) -> int:
    return zlib.crc32(part.encode()) if isinstance(part, str) else int(part) & 0xFFFFFFFF


def derive_seed(seed: int, *parts: int | str) -> int:
    """An independent 63-bit seed for ``(seed, *parts)``; parts may be ints or names."""
    ss = np.random.SeedSequence([_as_int(seed), *(_as_int(p) for p in parts)])
    return int(ss.generate_state(1, dtype=np.uint64)[0]) & _MASK63


def make_generator(seed: int, *parts: int | str, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with :func:`derive_seed`."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, *parts))
    return g


def loader_generator(seed: int, rank: int, split: str) -> torch.Generator:
    """CPU generator for one split's ``DataLoader`` (shuffling and worker base seeds)."""
    return make_generator(seed, "loader", split, rank)


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: seed ``random`` and ``numpy`` from the worker's torch seed."""
    torch_seed = torch.initial_seed()
    random.seed(torch_seed)
    np.random.seed(derive_seed(torch_seed, "numpy") & 0xFFFFFFFF)
