"""Random per-sample quality degradations: ImageCompression and Downscale (albumentations 2.0.8
names and arguments) and Pixelate (imgaug's ``AveragePooling(keep_size=True)``, ImageNet-C's
pixelate). Non-geometric: targets pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from torchaug._validation import check_choice, describe
from torchaug.functional import quality as FQ
from torchaug.registry import register
from torchaug.transforms._args import float_range, int_range
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["ImageCompression", "Downscale", "Pixelate"]


@register("transform", example=lambda: ImageCompression(quality_range=(20, 60), p=1.0))
class ImageCompression(RandomTransform):
    """JPEG compression artefacts at a per-sample quality from ``quality_range`` (ints in
    [1, 100]; albumentations 2.0.8 ``ImageCompression``), through ``torchvision.io``'s JPEG
    encoder and decoder (batched on CUDA by nvJPEG). ``compression_type="webp"``: lossy WebP at the
    same quality semantics (``cv2.IMWRITE_WEBP_QUALITY`` in [1, 100]), coded on the host by Pillow's
    libwebp exactly as the peer's OpenCV codes its (BGR-read) array (see
    :func:`torchaug.functional.quality.webp_compress`; bit-exact in the parity test). Float input is
    quantised to 8 bits for the codec.

    Parameters: ``quality`` (``(B,)`` ints), ``apply``.

    Reads back from the device once per call: the JPEG codec takes each quality as a host integer,
    and the WebP codec runs on the host over the image itself (``reads_back``), so on a GPU this op
    synchronises (WebP also copies the batch to the host and back).
    """

    reads_back = "the JPEG codec takes each sample's quality as a host integer; the WebP codec codes on the host"

    def __init__(
        self,
        compression_type: str = "jpeg",
        quality_range: Sequence[int] = (99, 100),
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.compression_type = check_choice(compression_type, ["jpeg", "webp"], owner=o, name="compression_type")
        self.quality_range = int_range(quality_range, owner=o, name="quality_range", low=1, high=100)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.quality_range
        return {"quality": lo + self._randint(x, hi - lo + 1, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        if self.compression_type == "webp":
            return FQ.webp_compress(x, params["quality"])
        return FQ.jpeg_compress(x, params["quality"])

    def extra_repr(self) -> str:
        return f"compression_type={self.compression_type!r}, quality_range={self.quality_range}, " + super().extra_repr()


_INTERP = {"nearest": "nearest", "linear": "linear", 0: "nearest", 1: "linear"}  # cv2.INTER_NEAREST = 0, INTER_LINEAR = 1


@register("transform", example=lambda: Downscale(scale_range=(0.25, 0.5), p=1.0))
class Downscale(RandomTransform):
    """Downscale each sample by a per-sample factor from ``scale_range`` and upscale it back
    (albumentations 2.0.8 ``Downscale``, ``cv2.resize`` both ways). ``interpolation_pair``:
    ``{"downscale": ..., "upscale": ...}`` with ``"nearest"`` (default, as albumentations) or
    ``"linear"`` (also OpenCV's ``cv2.INTER_NEAREST`` = 0 / ``cv2.INTER_LINEAR`` = 1).
    ``scale = 1``: identity.

    Parameters: ``scale`` (``(B,)``), ``apply``.
    """

    def __init__(
        self,
        scale_range: Sequence[float] = (0.25, 0.25),
        interpolation_pair: Mapping[str, Any] | None = None,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.scale_range = float_range(scale_range, owner=o, name="scale_range", low=0.0, high=1.0)
        if self.scale_range[0] <= 0:
            raise ValueError(f"{o}: scale_range must be in (0, 1]; got {scale_range!r}")
        pair = {"downscale": "nearest", "upscale": "nearest"} if interpolation_pair is None else interpolation_pair
        if not isinstance(pair, Mapping) or set(pair) != {"downscale", "upscale"}:
            raise TypeError(f"{o}: interpolation_pair must be a dict with keys 'downscale' and 'upscale'; got {describe(pair)}")
        for k, v in pair.items():
            if isinstance(v, bool) or v not in _INTERP:
                raise ValueError(f"{o}: interpolation_pair[{k!r}] must be 'nearest' or 'linear' (cv2 0 or 1); got {v!r}")
        self.interpolation_pair = {k: _INTERP[v] for k, v in pair.items()}

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"scale": self._uniform(x, *self.scale_range, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FQ.downscale(x, params["scale"], self.interpolation_pair["downscale"], self.interpolation_pair["upscale"])

    def extra_repr(self) -> str:
        return f"scale_range={self.scale_range}, interpolation_pair={self.interpolation_pair}, " + super().extra_repr()


@register("transform", example=lambda: Pixelate(block_size=(2, 4), p=1.0))
class Pixelate(RandomTransform):
    """Pixelate: every ``b x b`` block replaced by its mean, ``b`` per sample from ``block_size``
    (ints; imgaug ``AveragePooling(kernel_size, keep_size=True)``; ImageNet-C's pixelate
    corruption, Hendrycks & Dietterich 2019, reduces the resolution the same way). ``b = 1``:
    identity.

    Parameters: ``block`` (``(B,)`` ints), ``apply``.
    """

    def __init__(self, block_size: int | Sequence[int] = (2, 8), *, p: float = 0.5, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        self.block_size = int_range(block_size, owner=type(self).__name__, name="block_size", low=1)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.block_size
        return {"block": lo + self._randint(x, hi - lo + 1, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FQ.pixelate(x, params["block"])

    def extra_repr(self) -> str:
        return f"block_size={self.block_size}, " + super().extra_repr()
