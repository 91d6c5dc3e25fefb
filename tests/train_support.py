"""Small generated data and stand-ins for the training tests (issue 21): a tiny CIFAR-10 in torchvision's
format, a sub-command for the dispatch test, a callback that raises."""

from __future__ import annotations

from pathlib import Path


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
