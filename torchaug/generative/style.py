"""StyleAugment from a trained AdaIN model, and the old import paths of the style-transfer code.

:class:`StyleAugment` is :class:`torchaug.transforms.StyleAugment` (Jackson et al. 2019) built from a trained
:class:`~torchaug.generative.adain.AdaINStyleTransfer` or the path of its checkpoint: its encoder, its decoder and
(by default) its style bank. The rest of the style-transfer code lives in modules with one job each, and is
re-exported here under its old names:

- :mod:`torchaug.functional.moments`: channel statistics (shared with MoEx), :func:`adain`, :func:`adain_stats`;
- :mod:`torchaug.generative._vgg`: the VGG-19 encoder and :class:`AdaINDecoder`;
- :mod:`torchaug.generative.adain`: :class:`AdaINStyleTransfer` (the LightningModule that trains the decoder),
  :func:`calc_mean_std`, :func:`default_layers`, :func:`evaluate_style_transfer`, :func:`style_statistics`;
- :mod:`torchaug.generative.gatys`: Gatys et al. (2016) optimisation transfer, :func:`gram_matrix`;
- :mod:`torchaug.generative.style_images`: :func:`load_style_images`, :func:`random_crops`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

from torchaug.functional.moments import adain, adain_stats
from torchaug.generative._vgg import AdaINDecoder
from torchaug.generative.adain import (
    AdaINStyleTransfer,
    calc_mean_std,
    default_layers,
    evaluate_style_transfer,
    style_statistics,
)
from torchaug.generative.gatys import gatys_transfer, gram_matrix, total_variation
from torchaug.generative.style_images import load_style_images, random_crops
from torchaug.registry import _record_init_args
from torchaug.transforms.style import StyleAugment as _StyleAugment

__all__ = [
    "AdaINDecoder",
    "AdaINStyleTransfer",
    "StyleAugment",
    "adain",
    "adain_stats",
    "calc_mean_std",
    "default_layers",
    "evaluate_style_transfer",
    "gatys_transfer",
    "gram_matrix",
    "load_style_images",
    "random_crops",
    "style_statistics",
    "total_variation",
]


class StyleAugment(_StyleAugment):
    """:class:`torchaug.transforms.StyleAugment` built from a trained AdaIN model (Jackson et al. 2019).

    Args:
        model: a trained :class:`AdaINStyleTransfer` or the path of its checkpoint; its ``encoder`` and ``decoder``
            become this transform's (frozen, eval mode); the model itself is kept as :attr:`model` (not a
            submodule: the networks are shared, the state dict holds them once).
        styles: style images ``(N, 3, H, W)`` (uint8/float), a source for :func:`load_style_images` (``"sklearn"``,
            a folder), or None (the model's style bank).
        p, alpha, mode, same_on_batch: as in :class:`torchaug.transforms.StyleAugment`.

    This is the form the configs use (``configs/transforms/style_augment.yaml``,
    ``_target_: torchaug.generative.StyleAugment``, ``model: <checkpoint>``), and the one that saves with
    :func:`torchaug.config_io.to_config` when built from a path. State dicts saved by the earlier version (the
    networks under ``model.encoder.`` / ``model.decoder.``) load into it.
    """

    def __init__(
        self,
        model: AdaINStyleTransfer | str | Path,
        styles: Any = None,
        p: float = 0.5,
        alpha: float | tuple[float, float] = 0.5,
        mode: str = "bank",
        *,
        same_on_batch: bool = False,
    ) -> None:
        owner = "StyleAugment"
        if isinstance(model, (str, Path)):
            model = AdaINStyleTransfer.from_checkpoint(model)
        if not isinstance(model, AdaINStyleTransfer):
            raise TypeError(f"{owner}: model must be an AdaINStyleTransfer or a checkpoint path; got {type(model).__name__}")
        model.eval().requires_grad_(False)
        if styles is None:
            bank = model.style_bank
        elif isinstance(styles, Tensor):
            bank = styles
        else:
            bank = load_style_images(styles, size=max(model.sample_shape[1:]))
        super().__init__(model.encoder, model.decoder, bank, p=p, alpha=alpha, mode=mode, same_on_batch=same_on_batch)
        self.__dict__["_model"] = model  # a plain attribute: registering it would hold the networks twice
        self._register_load_state_dict_pre_hook(_old_layout)

    @property
    def model(self) -> AdaINStyleTransfer:
        """The :class:`AdaINStyleTransfer` this transform was built from."""
        return self.__dict__["_model"]


def _old_layout(state: dict, prefix: str, *args: Any) -> None:
    """Rename the earlier version's ``model.encoder.*`` / ``model.decoder.*`` keys to ``encoder.*`` / ``decoder.*``."""
    for key in list(state):
        for part in ("encoder.", "decoder."):
            old = f"{prefix}model.{part}"
            if key.startswith(old):
                state[f"{prefix}{part}{key[len(old):]}"] = state.pop(key)


_record_init_args(StyleAugment)  # to_config writes it back as torchaug.generative.StyleAugment(model=<path>)
