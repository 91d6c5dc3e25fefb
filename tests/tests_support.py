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
