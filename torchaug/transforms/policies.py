"""Augmentation policies with per-sample op choice: RandAugment, TrivialAugmentWide, AutoAugment.

torchvision draws one operation (and magnitude) for the whole call; here **every sample draws
its own**, so one batch applies many different operations. Operation lists, magnitude bins and
signs are torchvision's (``torchvision.transforms.v2._auto_augment``). Each step of a policy is
applied in one pass over the batch:

- ShearX/Y and Rotate are affine: one per-sample ``(B, 2, 3)`` matrix and a single warp
  (:func:`torchaug.functional.geometry.affine`); TranslateX/Y move by whole pixels (torchvision
  truncates the magnitude), which is a crop of the fill-padded image
  (:func:`torchaug.functional.geometry.crop`): the warp's result without interpolating;
- Brightness, Color (saturation) and Contrast are the blends of :mod:`torchaug.functional.color`;
- Sharpness, Posterize, Solarize, AutoContrast, Equalize and Invert are batched kernels of
  :mod:`torchaug.functional.color` with per-sample parameters.

Masks, boxes and keypoints move with the geometric ops: the same per-sample affine map
(:func:`op_matrix`) warps the masks (nearest, fill 0) and moves points and box corners exactly;
the colour ops leave them alone (issue 17: they used to stay behind).

Each kernel runs on the samples that chose it: on CPU the batch is sorted by kernel once and each
kernel runs on its slice (a loop over the ~11 kernels, never over samples); on accelerators, where
reading which samples chose an op would force a host-device sync, it runs on the whole batch and
keeps the result with ``torch.where``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from torchaug._cpu.select import copy_rows_, run_by_group, run_by_group_into
from torchaug._devpath import cpu_path
from torchaug._validation import check_choice, check_number, describe
from torchaug.functional import color as FC
from torchaug.functional import geometry as FG
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["OPS", "apply_op", "op_matrix", "RandAugment", "TrivialAugmentWide", "AutoAugment"]

#: the operation table; policies' ``op`` parameters index into it
OPS = (
    "Identity",
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "Brightness",
    "Color",
    "Contrast",
    "Sharpness",
    "Posterize",
    "Solarize",
    "AutoContrast",
    "Equalize",
    "Invert",
)
_ID = {name: i for i, name in enumerate(OPS)}
_GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")
_WARPED = ("ShearX", "ShearY", "Rotate")
_SHIFTS = ("TranslateX", "TranslateY")


#: gather the samples that chose an op on CPU (False: the masked path used on accelerators)
_GATHER_ON_CPU = True


def _run_on(
    y: torch.Tensor, out: torch.Tensor, mask: torch.Tensor, fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]
) -> torch.Tensor:
    """``out[mask] = fn(y[mask])``: gathered on CPU, masked (no host sync) elsewhere.

    ``fn(sub, idx)`` gets the selected samples and their indices (``None``: the whole batch).
    """
    if cpu_path(y) and _GATHER_ON_CPU:
        idx = mask.nonzero().squeeze(1)
        n = idx.numel()
        if n == 0:
            return out
        if n == y.shape[0]:
            return fn(y, None)
        return copy_rows_(out.clone(), idx, fn(y.index_select(0, idx), idx))
    return torch.where(mask.view(-1, 1, 1, 1), fn(y, None), out)


def _run_into(
    y: torch.Tensor, out: torch.Tensor, owned: bool, mask: torch.Tensor,
    fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
) -> tuple[torch.Tensor, bool]:
    """:func:`_run_on` for a chain of ops over one batch: once ``out`` is a tensor this chain made
    (``owned``), the CPU path writes the selected samples into it (``copy_rows_``) instead of copying
    the whole batch once per op kind. Returns ``(out, owned)``."""
    if cpu_path(y) and _GATHER_ON_CPU:
        idx = mask.nonzero().squeeze(1)
        n = idx.numel()
        if n == 0:
            return out, owned
        if n == y.shape[0]:
            return fn(y, None), False  # a kernel may hand back its input: not ours to write into
        res = fn(y.index_select(0, idx), idx)
        return copy_rows_(out if owned else out.clone(), idx, res), True
    return torch.where(mask.view(-1, 1, 1, 1), fn(y, None), out), True


def _is_geometric(op: torch.Tensor) -> torch.Tensor:
    m = torch.zeros(op.shape, dtype=torch.bool, device=op.device)
    for n in _GEOMETRIC:
        m |= op == _ID[n]
    return m


def op_matrix(op: torch.Tensor, magnitude: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Forward ``(B, 2, 3)`` pixel-coordinate maps of the geometric ops (identity for the others).

    ``op`` ``(B,)`` indices into :data:`OPS`, ``magnitude`` ``(B,)`` signed, torchvision's meaning
    (see :func:`apply_op`); ``size=(H, W)``. The image warp, the mask warp and the point moves all
    use these maps, so images and targets move together.
    """
    H, W = size
    dev = op.device
    B = op.shape[0]
    mag = magnitude.to(device=dev, dtype=torch.float64)
    zero = torch.zeros_like(mag)
    shear_deg = torch.rad2deg(torch.atan(mag))
    sx = torch.where(op == _ID["ShearX"], shear_deg, zero)
    sy = torch.where(op == _ID["ShearY"], shear_deg, zero)
    tx = torch.where(op == _ID["TranslateX"], torch.trunc(mag), zero)
    ty = torch.where(op == _ID["TranslateY"], torch.trunc(mag), zero)
    angle = torch.where(op == _ID["Rotate"], -mag, zero)  # rotate: counter-clockwise
    shear_op = (op == _ID["ShearX"]) | (op == _ID["ShearY"])
    centre = constant((W * 0.5, H * 0.5), dev, mag.dtype).expand(B, 2)
    centre = torch.where(shear_op[:, None], torch.zeros_like(centre), centre)  # shears: about (0, 0)
    return FG.affine_matrix(
        angle, torch.stack([tx, ty], 1), 1.0, torch.stack([sx, sy], 1), size=(H, W), center=centre, batch_size=B, device=dev
    )


#: the op names each kernel of :func:`apply_op` runs, in its order (Identity runs none)
_KERNEL_OPS = (_WARPED, _SHIFTS, ("Brightness",), ("Color",), ("Contrast",), ("Sharpness",), ("Posterize",),
               ("Solarize",), ("AutoContrast",), ("Equalize",), ("Invert",))


@functools.lru_cache(maxsize=8)
def _group_table(device: torch.device) -> torch.Tensor:
    """``(len(OPS),)`` int64: the :data:`_KERNEL_OPS` index of every op (``len(_KERNEL_OPS)`` for Identity). Shared."""
    t = torch.full((len(OPS),), len(_KERNEL_OPS), dtype=torch.long)
    for k, names in enumerate(_KERNEL_OPS):
        for n in names:
            t[_ID[n]] = k
    return t.to(device)


def _shift(x: torch.Tensor, op: torch.Tensor, magnitude: torch.Tensor, fill: Any) -> torch.Tensor:
    """TranslateX/Y by ``int(magnitude)`` pixels as torchvision's ``F.affine(translate=...)``: a whole-pixel
    move samples pixel centres exactly, so it is the crop at ``(-dy, -dx)`` of ``x`` padded with ``fill``
    (bilinear or nearest alike; uint8 equal, floats without the warp's ~1e-7 grid error)."""
    H, W = x.shape[-2:]
    m = torch.trunc(magnitude).long()
    dx = torch.where(op == _ID["TranslateX"], m, 0).clamp_(-W, W)
    dy = torch.where(op == _ID["TranslateY"], m, 0).clamp_(-H, H)
    bounds = None
    if cpu_path(x):  # the CPU crop pads once by the largest move and copies rows
        px, py = int(dx.abs().max()), int(dy.abs().max())
        bounds = (px, py, px, py)
    return FG.crop(x, -dy, -dx, H, W, fill=0 if fill is None else fill, bounds=bounds)


def _saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return x.clone() if x.shape[1] == 1 else FC.adjust_saturation(x, factor)


def apply_op(
    x: torch.Tensor,
    op: torch.Tensor,
    magnitude: torch.Tensor,
    *,
    interpolation: str = "nearest",
    fill: Any = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply to each sample ``b`` the operation ``OPS[op[b]]`` with ``magnitude[b]`` (signed).

    ``x``: ``(B, C, H, W)`` uint8 or float; ``op``: ``(B,)`` int64; ``magnitude``: ``(B,)`` float,
    torchvision's meaning: shear ``m`` (``shear = degrees(atan(m))`` about the top-left corner),
    translation ``int(m)`` pixels, rotation ``m`` degrees counter-clockwise, factor ``1 + m`` for
    Brightness/Color/Contrast/Sharpness, ``int(m)`` bits for Posterize, threshold ``m`` (on the
    [0, 1] scale) for Solarize; ignored by Identity/AutoContrast/Equalize/Invert. Per sample, equal
    to torchvision's ``_apply_image_or_video_transform`` (tested).

    ``out``: a tensor like ``x`` (``x`` itself included) to write the result into and return; on
    CPU each op's samples are gathered, transformed and copied into their rows of ``out``, and with
    ``out is x`` the Identity samples are not touched (a chain of ops over a batch the caller owns).
    """
    if out is not None and (not isinstance(out, torch.Tensor) or out.shape != x.shape or out.dtype != x.dtype
                            or out.device != x.device):
        raise ValueError(f"apply_op: out must be a tensor of the input's shape {tuple(x.shape)}, dtype {x.dtype} and "
                         f"device {x.device} (x itself included); got {describe(out)}")
    B, C, H, W = x.shape
    dev = x.device
    op = op.to(device=dev, dtype=torch.long)
    mag = magnitude.to(device=dev, dtype=torch.float64)

    def sel(t: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
        return t if idx is None else t.index_select(0, idx)

    bound = 255.0 if x.dtype == torch.uint8 else 1.0
    kernels: tuple[Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor], ...] = (  # in _KERNEL_OPS' order
        # shears and rotations: one affine map per sample
        lambda s, i: FG.affine(s, op_matrix(sel(op, i), sel(mag, i), (H, W)), interpolation=interpolation, fill=fill),
        lambda s, i: _shift(s, sel(op, i), sel(mag, i), fill),
        # x * f + ref * (1 - f), ref 0, the grey image or its mean
        lambda s, i: FC.adjust_brightness(s, 1.0 + sel(mag, i)),
        lambda s, i: _saturation(s, 1.0 + sel(mag, i)),
        lambda s, i: FC.adjust_contrast(s, 1.0 + sel(mag, i)),
        lambda s, i: FC.adjust_sharpness(s, 1.0 + sel(mag, i)),
        lambda s, i: FC.posterize(s, torch.trunc(sel(mag, i)).long()),
        lambda s, i: FC.solarize(s, sel(mag, i) * bound),
        lambda s, i: FC.autocontrast(s),
        lambda s, i: FC.equalize(s),
        lambda s, i: FC.invert(s),
    )
    group = _group_table(dev).index_select(0, op)  # (B,) kernel index, len(kernels) for Identity
    if cpu_path(x) and _GATHER_ON_CPU:
        # one read of the counts says which kernels run; each runs on its samples only
        counts = torch.bincount(group, minlength=len(kernels) + 1).tolist()
        if out is not None:
            return run_by_group_into(out, x, group, counts, lambda k, s, i: kernels[k](s, i), skip=len(kernels))
        if max(counts) == B:
            k = counts.index(B)
            res = kernels[k](x, None) if k < len(kernels) else x
        else:
            res = run_by_group(x, group, counts, lambda k, s, i: kernels[k](s, i) if k < len(kernels) else s)
    else:  # every kernel on the whole batch, kept where chosen: no host read
        res = x
        for k, kernel in enumerate(kernels):
            res = torch.where((group == k).view(-1, 1, 1, 1), kernel(x, None), res)
        if out is not None:
            return out.copy_(res)
    if res is x:
        res = x.clone()
    return FC._keep_format(res, x)


def _space(kind: str, num_bins: int, height: int, width: int) -> dict[str, tuple[torch.Tensor | None, bool]]:
    """torchvision's augmentation spaces: op -> (magnitude bins or None, signed)."""
    lin = torch.linspace
    if kind == "wide":
        s: dict[str, tuple[torch.Tensor | None, bool]] = {
            "Identity": (None, False),
            "ShearX": (lin(0.0, 0.99, num_bins), True),
            "ShearY": (lin(0.0, 0.99, num_bins), True),
            "TranslateX": (lin(0.0, 32.0, num_bins), True),
            "TranslateY": (lin(0.0, 32.0, num_bins), True),
            "Rotate": (lin(0.0, 135.0, num_bins), True),
            "Brightness": (lin(0.0, 0.99, num_bins), True),
            "Color": (lin(0.0, 0.99, num_bins), True),
            "Contrast": (lin(0.0, 0.99, num_bins), True),
            "Sharpness": (lin(0.0, 0.99, num_bins), True),
            "Posterize": ((8 - (torch.arange(num_bins) / ((num_bins - 1) / 6))).round().int(), False),
        }
    else:
        s = {
            "Identity": (None, False),
            "ShearX": (lin(0.0, 0.3, num_bins), True),
            "ShearY": (lin(0.0, 0.3, num_bins), True),
            "TranslateX": (lin(0.0, 150.0 / 331.0 * width, num_bins), True),
            "TranslateY": (lin(0.0, 150.0 / 331.0 * height, num_bins), True),
            "Rotate": (lin(0.0, 30.0, num_bins), True),
            "Brightness": (lin(0.0, 0.9, num_bins), True),
            "Color": (lin(0.0, 0.9, num_bins), True),
            "Contrast": (lin(0.0, 0.9, num_bins), True),
            "Sharpness": (lin(0.0, 0.9, num_bins), True),
            "Posterize": ((8 - (torch.arange(num_bins) / ((num_bins - 1) / 4))).round().int(), False),
        }
    s["Solarize"] = (lin(1.0, 0.0, num_bins), False)
    s["AutoContrast"] = (None, False)
    s["Equalize"] = (None, False)
    if kind == "auto":
        del s["Identity"]
        s["Invert"] = (None, False)
    return s


@functools.lru_cache(maxsize=64)
def _table(kind: str, num_bins: int, height: int, width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-op tensors of :func:`_space`: global op ids ``(K,)``, magnitude bins ``(K, num_bins)``
    and signed ``(K,)``; made once per image size and device (no host-to-device copy per call).
    Shared: never write to them."""
    space = _space(kind, num_bins, height, width)
    ids = torch.tensor([_ID[n] for n in space], device=device)
    mags = torch.stack(
        [torch.zeros(num_bins) if m is None else m.to(torch.float64) for m, _ in space.values()]
    ).to(device=device, dtype=torch.float64)
    signed = torch.tensor([sg for _, sg in space.values()], device=device)
    return ids, mags, signed


@functools.lru_cache(maxsize=16)
def _auto_table(policy: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """AutoAugment's sub-policies on ``device``, made once: op index into the "auto" space and
    global op id ``(25, 2)``, probabilities ``(25, 2)`` and magnitude bins ``(25, 2)`` (-1: none)."""
    subs = _AUTO_POLICIES[policy]
    names = list(_space("auto", 10, 32, 32))  # the op names do not depend on the image size
    local = torch.tensor([[names.index(step[0]) for step in sub] for sub in subs], device=device)
    gid = torch.tensor([[_ID[step[0]] for step in sub] for sub in subs], device=device)
    probs = torch.tensor([[step[1] for step in sub] for sub in subs], dtype=torch.float32, device=device)
    bins = torch.tensor([[-1 if step[2] is None else step[2] for step in sub] for sub in subs], device=device)
    return local, gid, probs, bins


class _PolicyBase(RandomTransform):
    """Shared by the policies. Masks, boxes and keypoints move with the geometric ops (ShearX/Y,
    TranslateX/Y, Rotate) of each sample: masks by the same affine map (nearest, fill 0), points
    and box corners by it exactly; colour ops leave them alone."""

    __torchaug_public__ = False
    geometric = True

    def __init__(self, *, interpolation: str, fill: Any, p: float, same_on_batch: bool) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.interpolation = check_choice(interpolation, ("nearest", "bilinear"), owner=o, name="interpolation")
        numbers = isinstance(fill, Sequence) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in fill)
        if fill is not None and (isinstance(fill, (str, bool)) or not (isinstance(fill, (int, float)) or numbers)):
            raise TypeError(f"{o}: fill must be None, a number or one number per channel; got {describe(fill)}")
        if fill is not None and any(not 0.0 <= v <= 1.0 for v in ([fill] if isinstance(fill, (int, float)) else fill)):
            raise ValueError(f"{o}: fill must lie in [0, 1] (it is given on the [0, 1] scale for every dtype); got {fill!r}")
        self.fill = fill

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[1] not in (1, 3):
            raise ValueError(f"{type(self).__name__}: x must have 1 or 3 channels; got {x.shape[1]} channels")

    def _fill_for(self, x: torch.Tensor) -> Any:
        # fill is given on the [0, 1] scale (None: zeros, torchvision's default)
        if self.fill is None or x.dtype != torch.uint8:
            return self.fill
        if isinstance(self.fill, (int, float)):
            return float(round(self.fill * 255))
        return [float(round(v * 255)) for v in self.fill]

    def _signed(self, x: torch.Tensor, mags: torch.Tensor, signed: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        # torchvision: ``if signed and torch.rand(()) <= 0.5: magnitude *= -1``
        flip = signed & (self._rand(x, *mags.shape[1:], generator=generator) <= 0.5)
        return torch.where(flip, -mags, mags)

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        self._check(x)
        op, mag = params["op"], params["magnitude"]
        fill = self._fill_for(x)
        y = x
        for k in range(op.shape[1]):  # after the first op, into the batch it made
            own = y.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
            y = apply_op(y, op[:, k], mag[:, k], interpolation=self.interpolation, fill=fill, out=y if own else None)
        return y

    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        op, mag = params["op"].to(m.device), params["magnitude"]
        size = tuple(m.shape[-2:])
        for k in range(op.shape[1]):
            geo = _is_geometric(op[:, k])
            matrix = op_matrix(op[:, k], mag[:, k], size)
            m = _run_on(m, m, geo, lambda s, i: FG.affine(s, matrix if i is None else matrix.index_select(0, i),
                                                          interpolation="nearest", fill=0))
        return m

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        op, mag = params["op"].to(points.device), params["magnitude"]
        for k in range(op.shape[1]):
            points = FG.affine_points(points, op_matrix(op[:, k], mag[:, k], size))
        return points


@register("transform", example=lambda: RandAugment(num_ops=2, magnitude=9))
class RandAugment(_PolicyBase):
    """RandAugment (Cubuk, Zoph, Shlens, Le, NeurIPS 2020, "RandAugment: Practical automated data
    augmentation with a reduced search space"): ``num_ops`` operations drawn uniformly from 14
    (Identity, ShearX/Y, TranslateX/Y, Rotate, Brightness, Color, Contrast, Sharpness, Posterize,
    Solarize, AutoContrast, Equalize), all at magnitude bin ``magnitude`` of
    ``num_magnitude_bins``, signed at random; torchvision's defaults (``num_ops=2``,
    ``magnitude=9``, ``num_magnitude_bins=31``) and magnitude ranges.

    **Per sample**: each sample draws its own ``num_ops`` operations and signs. Parameters:
    ``op`` (``(B, num_ops)`` int64 indices into :data:`OPS`), ``magnitude`` (``(B, num_ops)``,
    signed), ``apply``. ``fill`` (for pixels moved in from outside) is on the [0, 1] scale.
    """

    def __init__(
        self,
        num_ops: int = 2,
        magnitude: int = 9,
        num_magnitude_bins: int = 31,
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(interpolation=interpolation, fill=fill, p=p, same_on_batch=same_on_batch)
        o = type(self).__name__
        self.num_ops = int(check_number(num_ops, owner=o, name="num_ops", low=0, integer=True))
        self.num_magnitude_bins = int(check_number(num_magnitude_bins, owner=o, name="num_magnitude_bins", low=2, integer=True))
        self.magnitude = int(check_number(magnitude, owner=o, name="magnitude", low=0, high=self.num_magnitude_bins - 1, integer=True))

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        ids, mags, signed = _table("rand", self.num_magnitude_bins, H, W, x.device)
        k = (self._rand(x, self.num_ops, generator=generator) * len(ids)).floor().long().clamp_max(len(ids) - 1)
        m = self._signed(x, mags[k, self.magnitude], signed[k], generator)
        return {"op": ids[k], "magnitude": m}

    def extra_repr(self) -> str:
        return f"num_ops={self.num_ops}, magnitude={self.magnitude}, num_magnitude_bins={self.num_magnitude_bins}, " + super().extra_repr()


@register("transform", example=lambda: TrivialAugmentWide())
class TrivialAugmentWide(_PolicyBase):
    """TrivialAugment Wide (Müller & Hutter, ICCV 2021, "TrivialAugment: Tuning-free Yet
    State-of-the-Art Data Augmentation"): one operation drawn uniformly from 14, with a magnitude
    bin drawn uniformly from ``num_magnitude_bins`` (31) and a random sign; torchvision's "wide"
    ranges (shear 0.99, translate 32 px, rotate 135 degrees, factors 0.99, posterize down to 2 bits).

    **Per sample**: each sample draws its own op, bin and sign. Parameters: ``op`` (``(B, 1)``),
    ``magnitude`` (``(B, 1)``), ``apply``.
    """

    def __init__(
        self,
        num_magnitude_bins: int = 31,
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(interpolation=interpolation, fill=fill, p=p, same_on_batch=same_on_batch)
        self.num_magnitude_bins = int(
            check_number(num_magnitude_bins, owner=type(self).__name__, name="num_magnitude_bins", low=2, integer=True)
        )

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        nb = self.num_magnitude_bins
        ids, mags, signed = _table("wide", nb, H, W, x.device)
        k = (self._rand(x, 1, generator=generator) * len(ids)).floor().long().clamp_max(len(ids) - 1)
        b = (self._rand(x, 1, generator=generator) * nb).floor().long().clamp_max(nb - 1)
        m = self._signed(x, mags[k, b], signed[k], generator)
        return {"op": ids[k], "magnitude": m}

    def extra_repr(self) -> str:
        return f"num_magnitude_bins={self.num_magnitude_bins}, " + super().extra_repr()


_AUTO_POLICIES: dict[str, list[tuple[tuple[str, float, int | None], tuple[str, float, int | None]]]] = {
    "imagenet": [
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ],
    "cifar10": [
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ],
    "svhn": [
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)),
        (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
        (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
        (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
        (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
        (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
        (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
        (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ],
}


@register("transform", example=lambda: AutoAugment(policy="cifar10"))
class AutoAugment(_PolicyBase):
    """AutoAugment (Cubuk, Zoph, Mané, Vasudevan, Le, CVPR 2019, "AutoAugment: Learning
    Augmentation Strategies from Data") with the learned ``"imagenet"``, ``"cifar10"`` or
    ``"svhn"`` policy: 25 sub-policies of two ``(op, probability, magnitude bin)`` steps, bins out
    of 10, signs at random; torchvision's tables and ranges.

    **Per sample**: each sample draws its own sub-policy, whether each step fires and the signs.
    Parameters: ``policy`` (``(B,)`` sub-policy index), ``op`` (``(B, 2)`` indices into
    :data:`OPS`; ``Identity`` where a step did not fire), ``magnitude`` (``(B, 2)``), ``apply``.
    """

    def __init__(
        self,
        policy: str = "imagenet",
        interpolation: str = "nearest",
        fill: float | Sequence[float] | None = None,
        *,
        p: float = 1.0,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(interpolation=interpolation, fill=fill, p=p, same_on_batch=same_on_batch)
        if hasattr(policy, "value"):  # torchvision's AutoAugmentPolicy enum
            policy = policy.value
        self.policy = check_choice(policy, tuple(_AUTO_POLICIES), owner=type(self).__name__, name="policy")
        subs = _AUTO_POLICIES[self.policy]
        self._names = [[step[0] for step in sub] for sub in subs]

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        H, W = x.shape[-2:]
        _, mags, signed = _table("auto", 10, H, W, x.device)
        local, gid, probs, bins_of = _auto_table(self.policy, x.device)
        n_sub = len(self._names)
        pol = (self._rand(x, generator=generator) * n_sub).floor().long().clamp_max(n_sub - 1)  # (B,)
        fire = self._rand(x, 2, generator=generator) <= probs[pol]
        k = local[pol]  # (B, 2)
        bins = bins_of[pol].clamp_min(0)
        m = self._signed(x, mags[k, bins], signed[k], generator)
        op = torch.where(fire, gid[pol], _ID["Identity"])
        m = torch.where(fire, m, torch.zeros_like(m))
        return {"policy": pol, "op": op, "magnitude": m}

    def extra_repr(self) -> str:
        return f"policy={self.policy!r}, " + super().extra_repr()
