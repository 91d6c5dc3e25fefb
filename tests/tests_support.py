"""Small generated data for tests (tests never read ../shared)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image


def make_image_tree(root: Path, *, classes: int = 3, per_class: int = 6, size: int = 32) -> Path:
    """``root/{train,test}/<class>/*.png`` with class-dependent colours, so a model can learn it."""
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", per_class), ("test", max(2, per_class // 2))):
        for c in range(classes):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = torch.randint(0, 60, (3, size, size), generator=g, dtype=torch.uint8)
                img[c % 3] += 150
                Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i:03d}.png")
    return root


class StopAfterEpochs:
    """A Lightning callback that stops training after ``epochs`` epochs: a stand-in for an interruption."""

    def __new__(cls, epochs: int):
        import lightning as L

        class _Stop(L.Callback):
            def on_train_epoch_end(self, trainer, pl_module):
                if trainer.current_epoch + 1 >= epochs:
                    trainer.should_stop = True

        return _Stop()


def write_cifar10_batches(root: Path, *, per_batch: int = 20, test: int = 20) -> Path:
    """A tiny CIFAR-10 in torchvision's python format: ``root/cifar-10-batches-py/`` with five training
    batches of ``per_batch`` images, a test batch and ``batches.meta`` (class-dependent colours)."""
    import pickle

    import numpy as np

    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def batch(n: int) -> dict:
        labels = [i % 10 for i in range(n)]
        data = rng.integers(0, 60, size=(n, 3, 32, 32), dtype=np.uint8)
        for i, c in enumerate(labels):
            data[i, c % 3] += 20 * c
        return {"batch_label": "fake", "labels": labels, "data": data.reshape(n, 3072),
                "filenames": [f"{i}.png" for i in range(n)]}

    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch(per_batch)))
    (folder / "test_batch").write_bytes(pickle.dumps(batch(test)))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names, "num_cases_per_batch": per_batch}))
    return Path(root)


def echo_command(argv: list[str], prog: str = "") -> list[str]:
    """A ``torchaug`` sub-command for the dispatch test: returns what it was given."""
    return [prog, *argv]


class RaiseOnFitStart:
    """A Lightning callback that raises ``RuntimeError`` at fit start: a bug, not a configuration mistake."""

    def __new__(cls):
        import lightning as L

        class _Raise(L.Callback):
            def on_fit_start(self, trainer, pl_module):
                raise RuntimeError("boom from a callback")

        return _Raise()
