"""Random per-sample noise and blur: GaussianNoise, SaltAndPepperNoise, GaussianBlur.

Each sample draws its own noise level / blur sigma; the whole batch is processed in one
vectorised call of a :mod:`torchaug.functional.noise` kernel.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from torchaug._cpu.bernoulli import bernoulli_indices
from torchaug._devpath import cpu_path
from torchaug._validation import check_number, describe
from torchaug.functional import noise as FN
from torchaug.registry import register
from torchaug.transforms._args import float_range
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["GaussianNoise", "SaltAndPepperNoise", "GaussianBlur"]


#: a number ``v`` -> ``(v, v)``, a ``(min, max)`` pair checked; non-negative unless ``low`` says otherwise
_num_or_range = functools.partial(float_range, low=0.0)


@register("transform", example=lambda: GaussianNoise(sigma=0.1))
class GaussianNoise(RandomTransform):
    """Add Gaussian noise ``N(mean, sigma^2)`` (on the [0, 1] scale) to every value.

    torchvision v2's ``GaussianNoise(mean=0.0, sigma=0.1, clip=True)``, with ``sigma`` also
    accepted as a ``(min, max)`` range from which each sample draws its own level. With
    ``clip=True`` (default) the result is **clamped to the valid range** [0, 1]; ``clip=False``
    leaves float values outside it. ``uint8`` images get the noise scaled by 255, rounded, and are
    always clamped to [0, 255] (torchvision only accepts floats).

    Parameters: ``sigma`` (``(B,)``), ``noise`` (``(B, C, H, W)``, the field added, on the [0, 1]
    scale), ``apply``.
    """

    def __init__(
        self,
        mean: float = 0.0,
        sigma: float | Sequence[float] = 0.1,
        clip: bool = True,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.mean = float(check_number(mean, owner=o, name="mean"))
        self.sigma = _num_or_range(sigma, owner=o, name="sigma")
        if not isinstance(clip, bool):
            raise TypeError(f"{o}: clip must be a bool; got {describe(clip)}")
        self.clip = clip

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        sigma = self._uniform(x, self.sigma[0], self.sigma[1], generator=generator)
        shape = (self._batch(x), *x.shape[1:])
        z = self._expand(torch.randn(shape, generator=generator, device=x.device), x.shape[0])
        return {"sigma": sigma, "noise": z * sigma.view(-1, 1, 1, 1) + self.mean}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FN.add_noise(x, params["noise"], clip=self.clip)

    def extra_repr(self) -> str:
        return f"mean={self.mean}, sigma={self.sigma}, clip={self.clip}, " + super().extra_repr()


@register("transform", example=lambda: SaltAndPepperNoise(amount=0.05))
class SaltAndPepperNoise(RandomTransform):
    """Replace a fraction ``amount`` of each sample's pixels by white (salt) or black (pepper).

    scikit-image's / imgaug's ``s&p`` noise: each pixel is corrupted with probability ``amount``
    (a number, or a ``(min, max)`` range drawn per sample); a corrupted pixel becomes salt with
    probability ``salt_vs_pepper``, else pepper. A pixel is corrupted in all its channels at once
    (``per_channel=False``, default) or channel by channel (``per_channel=True``, as skimage does
    on arrays).

    Parameters: ``amount`` (``(B,)``), ``salt`` and ``pepper`` (bool ``(B, 1 or C, H, W)``), ``apply``.
    """

    def __init__(
        self,
        amount: float | Sequence[float] = 0.05,
        salt_vs_pepper: float = 0.5,
        *,
        per_channel: bool = False,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.amount = _num_or_range(amount, owner=o, name="amount", high=1.0)
        self.salt_vs_pepper = float(check_number(salt_vs_pepper, owner=o, name="salt_vs_pepper", low=0.0, high=1.0))
        if not isinstance(per_channel, bool):
            raise TypeError(f"{o}: per_channel must be a bool; got {describe(per_channel)}")
        self.per_channel = per_channel

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        amount = self._uniform(x, self.amount[0], self.amount[1], generator=generator)
        shape = (self._batch(x), x.shape[1] if self.per_channel else 1, *x.shape[-2:])
        if cpu_path(x):  # sparse: the struck values first (about amount * n draws), then salt or pepper
            idx = bernoulli_indices(shape[1] * shape[2] * shape[3], amount[: shape[0]], generator)
            is_pepper = torch.rand(idx.numel(), generator=generator) < 1.0 - self.salt_vs_pepper
            pepper = torch.zeros(shape, dtype=torch.bool)
            salt = torch.zeros(shape, dtype=torch.bool)
            pepper.view(-1)[idx[is_pepper]] = True
            salt.view(-1)[idx[~is_pepper]] = True
        else:
            u = torch.rand(shape, generator=generator, device=x.device)
            a = amount[: shape[0]].view(-1, 1, 1, 1)
            cut = a * (1.0 - self.salt_vs_pepper)
            pepper, salt = u < cut, (u >= cut) & (u < a)
        b = x.shape[0]
        return {"amount": amount, "pepper": self._expand(pepper, b), "salt": self._expand(salt, b)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return FN.salt_and_pepper(x, params["salt"], params["pepper"])

    def extra_repr(self) -> str:
        return f"amount={self.amount}, salt_vs_pepper={self.salt_vs_pepper}, " + super().extra_repr()


@register("transform", example=lambda: GaussianBlur(kernel_size=5, sigma=(0.1, 2.0)))
class GaussianBlur(RandomTransform):
    """Gaussian blur with a per-sample ``sigma`` drawn uniformly from ``sigma = (min, max)``
    (torchvision v2's ``GaussianBlur(kernel_size, sigma=(0.1, 2.0))``, which draws one sigma per
    call). ``kernel_size``: an odd int or ``(kx, ky)``; reflect padding (needs
    ``kernel_size // 2 < H, W``).

    Separable, batched: one grouped convolution per axis over all ``B * C`` planes, each with its
    sample's kernel. Parameters: ``sigma`` (``(B,)``, used for both axes), ``apply``.
    """

    gather_selected = True

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        sigma: float | Sequence[float] = (0.1, 2.0),
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, int) and not isinstance(kernel_size, bool) else kernel_size
        if not isinstance(ks, Sequence) or len(ks) != 2:
            raise TypeError(f"{o}: kernel_size must be an odd int or a pair of odd ints; got {describe(kernel_size)}")
        for k in ks:
            check_number(k, owner=o, name="kernel_size", low=1, integer=True)
            if k % 2 == 0:
                raise ValueError(f"{o}: kernel_size must be odd; got {tuple(ks)}")
        self.kernel_size = (int(ks[0]), int(ks[1]))
        self.sigma = _num_or_range(sigma, owner=o, name="sigma")
        if self.sigma[0] <= 0:
            raise ValueError(f"{o}: sigma must be positive; got {sigma!r}")

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"sigma": self._uniform(x, self.sigma[0], self.sigma[1], generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        kx, ky = self.kernel_size
        H, W = x.shape[-2:]
        if kx // 2 >= W or ky // 2 >= H:
            raise ValueError(
                f"{type(self).__name__}: kernel_size {self.kernel_size} is too large for images of size "
                f"{H}x{W} (reflect padding needs kernel_size // 2 < H, W)"
            )
        return FN.gaussian_blur(x, self.kernel_size, params["sigma"])

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, sigma={self.sigma}, " + super().extra_repr()
