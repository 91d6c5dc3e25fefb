"""Style images for the AdaIN decoder and StyleAugment: loading a bank, random crops of it, RGB input.

- :func:`load_style_images`: scikit-learn's two sample photos (offline), an image folder, or a tensor, as a
  uint8 ``(N, 3, size, size)`` bank (short side resized, centre crop).
- :func:`random_crops`: ``n`` random square crops of a bank, vectorised on its device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from torchaug._validation import check_images, describe
from torchaug.generative._nets import from_unit, to_unit

__all__ = ["load_style_images", "random_crops"]


def _rgb01(x: Tensor, owner: str, name: str = "x") -> tuple[Tensor, bool, int]:
    x, single = check_images(x, owner=owner, name=name)
    c = x.shape[1]
    if c not in (1, 3):
        raise ValueError(f"{owner}: {name} must have 1 or 3 channels; got {describe(x)}")
    x01 = to_unit(x).float()
    return (x01.expand(-1, 3, -1, -1) if c == 1 else x01), single, c


def load_style_images(source: Any = "sklearn", size: int = 128) -> Tensor:
    """Style images as a uint8 ``(N, 3, size, size)`` tensor (short side resized to ``size``, centre crop).

    ``source``: ``"sklearn"`` (scikit-learn's two sample photos, china.jpg and flower.jpg), a folder
    (every .jpg/.jpeg/.png below it), or a uint8/float ``(N, 3, H, W)`` tensor.
    """
    owner = "load_style_images"
    if isinstance(source, Tensor):
        imgs = [to_unit(check_images(source, owner=owner, name="source")[0])]
        imgs = list(imgs[0])
    elif source == "sklearn":
        from sklearn.datasets import load_sample_images

        imgs = [torch.from_numpy(a.copy()).permute(2, 0, 1).float().div(255) for a in load_sample_images().images]
    else:
        import numpy as np
        from PIL import Image

        folder = Path(str(source)).expanduser()
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if not files:
            raise ValueError(f"{owner}: source must be 'sklearn', an image folder or a tensor; no images under {folder}")
        imgs = [torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1).float().div(255)
                for p in files]
    out = []
    for img in imgs:
        if img.shape[0] == 1:
            img = img.expand(3, -1, -1)
        h, w = img.shape[1:]
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        img = F.interpolate(img[None], size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)[0]
        top, left = (nh - size) // 2, (nw - size) // 2
        out.append(img[:, top:top + size, left:left + size])
    return from_unit(torch.stack(out), torch.uint8)


def random_crops(bank: Tensor, n: int, size: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` random ``size x size`` crops of random images of ``bank (N, C, S, S)``, vectorised, on its device."""
    dev = bank.device
    num, c, hh, ww = bank.shape
    idx = torch.randint(0, num, (n,), generator=generator, device=dev)
    oy = torch.randint(0, hh - size + 1, (n,), generator=generator, device=dev)
    ox = torch.randint(0, ww - size + 1, (n,), generator=generator, device=dev)
    ar = torch.arange(size, device=dev)
    rows = (oy[:, None] + ar)[:, None, :, None]
    cols = (ox[:, None] + ar)[:, None, None, :]
    return bank[idx[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None], rows, cols]
