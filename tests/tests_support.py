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


class HostReadError(AssertionError):
    """A value was read back from a tensor inside :func:`forbid_host_reads`."""


_HOST_READS = ("item", "tolist", "nonzero", "argwhere", "numpy", "__bool__", "__int__", "__float__", "__index__")


def forbid_host_reads(*, allow_cpu: bool = False):
    """Context manager: reading a tensor's values on the host raises :class:`HostReadError`.

    Patches ``Tensor.item``, ``.tolist``, ``.nonzero``, ``.argwhere``, ``.numpy``, ``bool()``,
    ``int()``, ``float()``, index use, and ``torch.nonzero``/``torch.argwhere``: on a GPU each of these
    waits for the queued work (a host-device sync). Use it on CPU around a code path that runs as on
    a device (e.g. ``containers._GATHER_ON_CPU = False``); ``allow_cpu=True`` allows CPU tensors
    (values that already live on the host) and forbids the others, e.g. ``meta`` tensors.
    Shapes, dtypes and devices stay readable (they are not values).
    """
    import contextlib

    @contextlib.contextmanager
    def _ctx():
        saved = {name: getattr(torch.Tensor, name) for name in _HOST_READS}
        saved_fn = {name: getattr(torch, name) for name in ("nonzero", "argwhere")}

        def guard(name, orig):
            def fn(self, *a, **k):
                if allow_cpu and self.device.type == "cpu":
                    return orig(self, *a, **k)
                raise HostReadError(f"host read of a {tuple(self.shape)} {self.device.type} tensor: Tensor.{name}")

            return fn

        def guard_fn(name, orig):
            def fn(t, *a, **k):
                if allow_cpu and t.device.type == "cpu":
                    return orig(t, *a, **k)
                raise HostReadError(f"host read of a {tuple(t.shape)} {t.device.type} tensor: torch.{name}")

            return fn

        try:
            for name, orig in saved.items():
                setattr(torch.Tensor, name, guard(name, orig))
            for name, orig in saved_fn.items():
                setattr(torch, name, guard_fn(name, orig))
            yield
        finally:
            for name, orig in saved.items():
                setattr(torch.Tensor, name, orig)
            for name, orig in saved_fn.items():
                setattr(torch, name, orig)

    return _ctx()
