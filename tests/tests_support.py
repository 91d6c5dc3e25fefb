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


# -- the device fixture's helpers --------------------------------------------------------------
import contextlib  # noqa: E402

from torch.overrides import TorchFunctionMode  # noqa: E402

from torchaug._devpath import emulating  # noqa: E402

#: calls that read a tensor back to the host (on a GPU: wait for the queued work)
_HOST_READS = {
    torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.__bool__, torch.Tensor.__int__,
    torch.Tensor.__float__, torch.Tensor.__index__, torch.Tensor.numpy, torch.Tensor.cpu,
    torch.Tensor.nonzero, torch.nonzero, torch.argwhere, torch.Tensor.argwhere, torch.masked_select,
    torch.Tensor.masked_select, torch.unique, torch.Tensor.unique, torch.equal, torch.Tensor.equal,
    torch.bincount, torch.Tensor.bincount,
}
_REPEAT = {torch.repeat_interleave, torch.Tensor.repeat_interleave}


class HostReadError(AssertionError):
    pass


class forbid_host_reads(TorchFunctionMode):
    """Raise :class:`HostReadError` on any call that reads a tensor back to the host (``item``,
    ``tolist``, ``bool(t)``, ``nonzero``, boolean-mask indexing, ...): on a GPU each is a
    host-device synchronisation. The CPU stand-in for ``torch.cuda.set_sync_debug_mode("error")``."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if (
            func in _HOST_READS
            or (func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__) and _has_bool_index(args[1]))
            or (func in _REPEAT and not isinstance(args[1] if len(args) > 1 else kwargs.get("repeats", 0), int))
        ):
            raise HostReadError(f"host read in a hot path: {getattr(func, '__qualname__', func)}")
        if func in (torch.tensor, torch.as_tensor) and isinstance(args[0] if args else kwargs.get("data"), (list, tuple, float, int)):
            raise HostReadError(f"a Python constant copied to the device on every call: {func.__name__}({args[0]!r})")
        return func(*args, **kwargs)


def _has_bool_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)


@contextlib.contextmanager
def no_host_sync(device: torch.device):
    """Around a hot-path call: on CUDA, any synchronising call raises; on CPU under the
    accelerator path (the ``cpu:accel`` device), any host read raises; plain CPU: nothing."""
    if device.type == "cuda":
        old = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode("error")
        try:
            yield
        finally:
            torch.cuda.set_sync_debug_mode(old)
    elif emulating():
        with forbid_host_reads():
            yield
    else:
        yield


def generator_on(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)
