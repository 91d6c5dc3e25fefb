"""Shared pieces of the generative modules: image-size checks, conv trunks, label handling, sample grids.

Networks are sized from the image shape ``(C, H, W)``: square images with ``H`` in
:data:`SUPPORTED_SIZES`; ``levels = log2(H) - 2`` stride-2 stages take ``H`` down to 4x4 (and back up).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from torchaug._validation import describe

SUPPORTED_SIZES = (8, 16, 32, 64)


def check_sample_shape(sample_shape: Any, *, owner: str) -> tuple[int, int, int]:
    """Validate ``(C, H, W)`` (square, ``H`` in :data:`SUPPORTED_SIZES`) and return it as ints."""
    try:
        shape = tuple(int(s) for s in sample_shape)
    except TypeError:
        raise TypeError(f"{owner}: sample_shape must be a (C, H, W) sequence of ints; got {describe(sample_shape)}") from None
    if len(shape) != 3 or shape[0] < 1:
        raise ValueError(f"{owner}: sample_shape must be (C, H, W) with C >= 1; got {shape}")
    c, h, w = shape
    if h != w or h not in SUPPORTED_SIZES:
        raise ValueError(
            f"{owner}: image size must be square with side in {SUPPORTED_SIZES} (8x8 digits, 32x32, 64x64, ...); "
            f"got {h}x{w}. Resize the data (e.g. data.image_size=32) or add a size."
        )
    return c, h, w


def num_levels(size: int) -> int:
    """Stride-2 stages between ``size`` and 4x4."""
    return int(math.log2(size)) - 2


class ConvTrunk(nn.Module):
    """``(B, C, H, W) -> (B, F)``: a 3x3 stem, then ``levels`` x [Conv 4x4 stride 2, BatchNorm, LeakyReLU 0.2].

    Channels double at every stage (``ch -> 2ch -> ...``), ending at 4x4 (DCGAN discriminator layout).
    """

    def __init__(self, in_channels: int, ch: int, levels: int, *, norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ch, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)]
        c = ch
        for _ in range(levels):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=not norm)]
            if norm:
                layers.append(nn.BatchNorm2d(2 * c))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c *= 2
        self.net = nn.Sequential(*layers)
        self.out_features = c * 16

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten(1)


class UpsampleNet(nn.Module):
    """``(B, in_features) -> (B, C, H, W)`` pre-activation images (DCGAN generator layout).

    A linear projection reshaped to ``(ch * 2**levels, 4, 4)`` (BatchNorm, ReLU), then ``levels`` x
    [ConvTranspose 4x4 stride 2, BatchNorm, ReLU] halving channels, then a 3x3 conv to ``C`` channels.
    """

    def __init__(self, in_features: int, out_channels: int, ch: int, levels: int) -> None:
        super().__init__()
        c = ch * 2**levels
        self.start = c
        self.project = nn.Sequential(nn.Linear(in_features, c * 16, bias=False), nn.BatchNorm1d(c * 16), nn.ReLU(True))
        layers: list[nn.Module] = []
        for _ in range(levels):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers.append(nn.Conv2d(c, out_channels, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        return self.net(self.project(h).view(h.shape[0], self.start, 4, 4))


def check_class_labels(y: Any, n: int | None, num_classes: int, *, owner: str, device: torch.device) -> Tensor:
    """``y``: an int (every sample that class) or an int tensor/sequence of ``n`` class indices in ``[0, K)``."""
    if isinstance(y, bool):
        raise TypeError(f"{owner}: y must be an int class index or int64 tensor of class indices; got {y!r}")
    if isinstance(y, int):
        if n is None:
            raise ValueError(f"{owner}: an int y needs a sample count")
        y = torch.full((n,), y, dtype=torch.int64, device=device)
    elif isinstance(y, Sequence):
        y = torch.as_tensor(list(y), dtype=torch.int64, device=device)
    if not isinstance(y, Tensor) or y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"{owner}: y must be an int class index or an integer tensor of class indices; got {describe(y)}")
    if y.ndim != 1 or (n is not None and y.shape[0] != n):
        raise ValueError(f"{owner}: y must have shape ({n if n is not None else 'N'},); got {describe(y)}")
    y = y.to(device=device, dtype=torch.int64)
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)][0]
        raise ValueError(f"{owner}: unknown class {int(bad)}; y must be class indices in [0, num_classes={num_classes})")
    return y


def to_unit(x: Tensor) -> Tensor:
    """uint8 [0, 255] -> float [0, 1]; floating images unchanged."""
    return x.float().div(255) if x.dtype == torch.uint8 else x


def from_unit(x01: Tensor, dtype: torch.dtype) -> Tensor:
    """Float [0, 1] -> ``dtype`` (uint8: ``round(255 x)``), clamped."""
    x01 = x01.clamp(0, 1)
    if dtype == torch.uint8:
        return x01.mul(255).round_().to(torch.uint8)
    return x01.to(dtype)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. (2016): conv weights ~ N(0, 0.02); BatchNorm weight ~ N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class GeneratorMixin:
    """Behaviour shared by the generator LightningModules: uint8 batches to [0, 1], per-epoch sample grids,
    a checkpoint key naming the class (for :func:`load_generator`)."""

    num_classes: int
    conditional: bool
    grid_per_class: int = 8

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        x, y = batch
        return to_unit(x), y

    def sample_grid(self, per_row: int | None = None, seed: int = 0) -> Tensor:
        """A float ``(rows * per_row, C, H, W)`` batch: one row per class (conditional), else ``per_row`` rows."""
        per_row = per_row or self.grid_per_class
        g = torch.Generator(device=self.device).manual_seed(seed)  # type: ignore[attr-defined]
        if self.conditional:
            y = torch.arange(self.num_classes, device=self.device).repeat_interleave(per_row)  # type: ignore[attr-defined]
            return self.sample(len(y), y=y, generator=g, dtype=torch.float32)  # type: ignore[attr-defined]
        return self.sample(per_row * per_row, generator=g, dtype=torch.float32)  # type: ignore[attr-defined]

    def save_sample_grid(self, path: str | Path, per_row: int | None = None, seed: int = 0) -> Path:
        """Write :meth:`sample_grid` as a PNG (tiles upscaled to at least 32 px, nearest neighbour)."""
        from torchvision.utils import save_image

        grid = self.sample_grid(per_row, seed).cpu()
        scale = max(1, 32 // grid.shape[-1])
        if scale > 1:
            grid = F.interpolate(grid, scale_factor=scale, mode="nearest")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path, nrow=per_row or self.grid_per_class, padding=2, pad_value=0.5)
        return path

    def on_train_epoch_end(self) -> None:
        trainer = self.trainer  # type: ignore[attr-defined]
        if trainer.global_rank == 0 and trainer.default_root_dir:
            self.save_sample_grid(Path(trainer.default_root_dir) / "samples" / f"epoch_{trainer.current_epoch:03d}.png")

    def on_fit_end(self) -> None:
        """Make sure ``checkpoints/last.ckpt`` exists for later stages (also under ``fast_dev_run``, where
        Lightning's ``ModelCheckpoint`` is off); an existing one (written by the trainer) is left alone."""
        trainer = self.trainer  # type: ignore[attr-defined]
        if trainer.default_root_dir and not trainer.sanity_checking:
            path = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                trainer.save_checkpoint(path)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["torchaug_generator"] = f"{type(self).__module__}.{type(self).__qualname__}"


def load_generator(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a generator LightningModule (``VAE``, ``DCGAN``, or a subclass) from a Lightning checkpoint."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    target = ckpt.get("torchaug_generator")
    if target is None:
        raise ValueError(f"load_generator: {path} is not a torchaug.generative checkpoint (no 'torchaug_generator' key)")
    module_name, _, cls_name = target.rpartition(".")
    cls = getattr(importlib.import_module(module_name), cls_name)
    model = cls.load_from_checkpoint(path, map_location=map_location)
    model.eval()
    return model
