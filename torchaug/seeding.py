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
  resumed run continues with the same draws as an uninterrupted one. Under DDP only rank 0 writes
  the checkpoint, so :func:`per_rank_state` gathers every rank's state into it and
  :func:`rank_state` hands each rank its own back on resume.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

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


def _world() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised ``torch.distributed`` group, else ``(0, 1)``."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def per_rank_state(state: Any) -> dict[str, Any]:
    """``{"world_size": n, "ranks": [state of rank 0, ..., rank n-1]}`` for a checkpoint.

    Collective under ``torch.distributed`` (``all_gather_object``): every rank must call it, as
    Lightning does when it builds a checkpoint (``Trainer.save_checkpoint`` on all ranks).
    Without a process group it is ``{"world_size": 1, "ranks": [state]}``.
    """
    _, world = _world()
    if world == 1:
        return {"world_size": 1, "ranks": [state]}
    import torch.distributed as dist

    gathered: list[Any] = [None] * world
    dist.all_gather_object(gathered, state)
    return {"world_size": world, "ranks": gathered}


def rank_state(saved: dict[str, Any], rank: int, world_size: int) -> Any:
    """This rank's entry of a :func:`per_rank_state` dict; None when the world size changed.

    A legacy single-state dict (no ``"ranks"`` key) is returned as is on a single process.
    """
    if "ranks" not in saved:
        return saved if world_size == 1 else None
    if int(saved.get("world_size", len(saved["ranks"]))) != world_size:
        return None
    return saved["ranks"][rank]
