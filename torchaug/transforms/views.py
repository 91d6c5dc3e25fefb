"""Multi-view augmentation for self-supervised learning: K views per image, each a batch.

``MultiView(views=[global_pipeline, local_pipeline], n=[2, 6])(x)`` returns a list of
``sum(n)`` batches: ``n[0]`` draws of the first pipeline, then ``n[1]`` of the second, ...
Each draw runs its pipeline on the whole batch (per-sample parameters, one kernel call per op),
so every view is a ``(B, C, h_k, w_k)`` batch of its own output size; ragged lists of
``(C, H_i, W_i)`` images work whenever the pipeline starts with an op that takes lists
(``RandomResizedCrop``; see :mod:`torchaug.transforms.ragged`).

Set-ups (see ``configs/transforms/simclr_views.yaml`` and ``dino_views.yaml``):

- SimCLR (Chen et al., "A Simple Framework for Contrastive Learning of Visual
  Representations", ICML 2020, Appendix A): two views of one pipeline, RandomResizedCrop 224
  (scale 0.08-1), flip, colour jitter (0.8 s, 0.8 s, 0.8 s, 0.2 s with s = 1) applied with
  p = 0.8, grayscale p = 0.2, Gaussian blur (kernel 10 % of the side, sigma 0.1-2) p = 0.5;
- DINO (Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021,
  Sec. 3.1 and the reference ``DataAugmentationDINO``): 2 global crops 224 (scale 0.4-1, the
  paper's default for ViT-S/16 with multi-crop) and N local crops 96 (scale 0.05-0.4), N = 6
  or 10.

Random streams: every pipeline ("view") draws from its own generator, seeded per call from
one draw of the caller's ``generator`` (a CPU generator or torch's global RNG: a host-side
integer; a device generator: its host-side state, advanced by one draw) and the view's index.
So the same ``generator`` seed gives the same views, and changing one view's pipeline (or its
``n``) leaves the other views' draws unchanged. Nothing is read back from the device.

Peers: torchvision v2 has no multi-view container (users call a per-sample ``Compose`` K times
inside ``Dataset.__getitem__``); lightly's ``MultiViewTransform`` and solo-learn's
``NCropAugmentation`` do the same per PIL image. This container does it on batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from torchaug._validation import check_generator, describe
from torchaug.functional.ragged import is_image_list

__all__ = ["MultiView"]

_MASK = (1 << 63) - 1


def _base_seed(generator: torch.Generator | None, device: torch.device) -> int:
    """One host-side integer drawn from ``generator`` (no device value is read)."""
    if generator is None or generator.device.type == "cpu":
        t = torch.randint(0, 1 << 62, (1,), generator=generator)
        with torch._C.DisableTorchFunction():  # a CPU tensor: no device sync
            return int(t.tolist()[0])
    state = generator.get_state()  # a CPU tensor (seed and offset of the device stream)
    with torch._C.DisableTorchFunction():
        digest = hashlib.sha256(state.numpy().tobytes()).digest()
    torch.empty(1, device=generator.device).uniform_(generator=generator)  # advance the device stream
    return int.from_bytes(digest[:8], "little") & _MASK


def _view_seed(base: int, k: int) -> int:
    digest = hashlib.sha256(f"{base}:{k}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & _MASK


def _device_of(x: Any) -> torch.device:
    if isinstance(x, torch.Tensor):
        return x.device
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], torch.Tensor):
        return x[0].device
    if isinstance(x, Mapping):
        for v in x.values():
            if isinstance(v, torch.Tensor):
                return v.device
    return torch.device("cpu")


class MultiView(nn.Module):
    """K augmented views per image: ``n[k]`` draws of pipeline ``views[k]``, each a batch.

    Args:
        views: a list of pipelines (any torchaug transform or container, e.g. a ``Compose``
            starting with ``RandomResizedCrop``; a Hydra ``ListConfig`` or a mapping of named
            pipelines works too). One pipeline alone is taken as ``[views]``.
        n: how many draws of each pipeline (positive ints, one per pipeline; default one each).

    Call: ``mv(x, generator=None, params=None, return_params=False)`` with ``x`` a
    ``(B, C, H, W)`` batch (uint8 or float, any memory format the pipelines keep), a list of
    ``(C, H_i, W_i)`` images, or a sample dict the pipelines take. Returns a list of
    ``sum(n)`` outputs in order (all draws of ``views[0]`` first), each what the pipeline
    returns (a ``(B, C, h_k, w_k)`` batch for images), plus, with ``return_params=True``, the
    parameters: a list (one entry per output) of the pipeline's own params, which ``params=``
    replays exactly.
    """

    #: not in the registry: its output is a list of batches, not one batch (the registry's
    #: "transform" contract); tests/transforms/test_views.py holds its own contract checks
    __torchaug_public__ = False

    def __init__(self, views: Any, n: Any = None) -> None:
        super().__init__()
        owner = type(self).__name__
        if isinstance(views, Mapping):
            views = list(views.values())
        elif callable(views) and not isinstance(views, Iterable):
            views = [views]
        if not isinstance(views, Iterable) or isinstance(views, (str, bytes, torch.Tensor)):
            raise TypeError(f"{owner}: views must be a list of pipelines; got {describe(views)}")
        views = list(views)
        if not views:
            raise ValueError(f"{owner}: views must hold at least one pipeline; got an empty list")
        for i, v in enumerate(views):
            if not isinstance(v, nn.Module):
                raise TypeError(f"{owner}: views[{i}] must be a torchaug transform or container (an nn.Module); got {describe(v)}")
        if n is None:
            n = [1] * len(views)
        elif isinstance(n, int) and not isinstance(n, bool):
            n = [n]
        if not isinstance(n, Iterable) or isinstance(n, (str, bytes)):
            raise TypeError(f"{owner}: n must be a list of positive ints (one per view); got {describe(n)}")
        n = list(n)
        if len(n) != len(views):
            raise ValueError(f"{owner}: n must have one entry per view ({len(views)}); got {len(n)} entries: {n}")
        for i, c in enumerate(n):
            if isinstance(c, bool) or not isinstance(c, int) or c < 1:
                raise ValueError(f"{owner}: n[{i}] must be a positive int; got {c!r}")
        self.views = nn.ModuleList(views)
        self.n = tuple(n)

    @property
    def num_outputs(self) -> int:
        return sum(self.n)

    def extra_repr(self) -> str:
        return f"n={list(self.n)}"

    def forward(
        self, x: Any, *, generator: torch.Generator | None = None, params: Any = None, return_params: bool = False
    ) -> Any:
        owner = type(self).__name__
        if isinstance(x, torch.Tensor) or is_image_list(x):
            dev = _device_of(x)
            check_generator(generator, dev, owner=owner)
        else:
            dev = _device_of(x)
        total = self.num_outputs
        if params is not None and (not isinstance(params, (list, tuple)) or len(params) != total):
            raise ValueError(
                f"{owner}: params must be the list returned by return_params=True ({total} entries); got {describe(params)}"
            )
        streams: list[torch.Generator | None] = [None] * len(self.views)
        if params is None:
            base = _base_seed(generator, dev)
            for k in range(len(self.views)):
                streams[k] = torch.Generator(device=dev).manual_seed(_view_seed(base, k))
        outs, drawn = [], []
        j = 0
        for k, (view, count) in enumerate(zip(self.views, self.n)):
            for _ in range(count):
                out, p = view(x, generator=streams[k], params=None if params is None else params[j], return_params=True)
                outs.append(out)
                drawn.append(p)
                j += 1
        return (outs, drawn) if return_params else outs
