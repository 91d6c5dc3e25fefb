"""Helpers for the generative tests: digits as uint8 tensors, a real-data classifier, quick training."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(np.round(d.images * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
    return x, torch.from_numpy(d.target.astype(np.int64))


def real_classifier(x: torch.Tensor, y: torch.Tensor):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return LogisticRegression(max_iter=1000).fit(x.flatten(1).float().numpy() / 255, y.numpy())


def accuracy(clf, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((clf.predict(x.flatten(1).float().numpy() / 255) == y.numpy()).mean())


def fit(module: L.LightningModule, x: torch.Tensor, y: torch.Tensor, *, epochs: int, root, batch_size: int = 64,
        seed: int = 0, **trainer_kwargs) -> L.Trainer:
    L.seed_everything(seed, verbose=False)
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", default_root_dir=str(root), **trainer_kwargs)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    trainer.fit(module, loader)
    return trainer


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets on a shared 2-core machine: one intra-op thread avoids OpenMP barrier stalls (10x here)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
