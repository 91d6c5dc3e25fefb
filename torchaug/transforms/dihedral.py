"""The dihedral group D4 per sample: ``RandomRotate90``, ``Transpose``, ``D4`` (albumentations names).

Every element of D4 (the 8 symmetries of a square) is written as an optional transpose
(swap of rows and columns), then an optional left-right flip, then an optional top-bottom
flip, and applied to a whole batch by a per-sample pick of a transposed copy and one gather with each
sample's flip map (exact for every dtype, no host read; see :func:`apply_d4`):

====================  ==========  =========================
albumentations name   index       transpose, hflip, vflip
====================  ==========  =========================
``e``                 0           no, no, no
``r90`` (CCW)         1           yes, no, yes
``r180``              2           no, yes, yes
``r270``              3           yes, yes, no
``v``                 4           no, no, yes
``hvt``               5           yes, yes, yes
``h``                 6           no, yes, no
``t``                 7           yes, no, no
====================  ==========  =========================

``RandomRotate90``'s ``factor`` ``k`` (``np.rot90(img, k)``, counter-clockwise) is the element
of index ``k``.

**Non-square images.** A turn by 90 degrees or a transpose swaps height and width. The peer
decides per image, so a batch of ``H != W`` images would come out with two sizes: that cannot
be one tensor. The rule here: ``RandomRotate90`` and ``D4`` require square images (they raise
a ``ValueError`` for ``H != W``; albumentations' ``D4`` requires square inputs too);
``Transpose`` takes non-square images only with ``p=1`` (every sample is transposed, the batch
becomes ``(B, C, W, H)``), and raises for ``p < 1`` there. For a non-square batch that should
turn, resize or crop it to a square first.

Targets: masks move like the image; keypoints and boxes (in continuous pixel coordinates:
pixel ``i`` spans ``[i, i + 1)``) by the same element: transpose ``(x, y) -> (y, x)``, hflip
``x -> W - x``, vflip ``y -> H - y``.

Parity: images, masks, boxes and keypoints equal albumentations 2.0.8's ``RandomRotate90``,
``Transpose`` and ``D4`` with the same ``factor`` / ``group_member`` exactly (albumentations'
keypoints are pixel indices: ``x_here = x_albu + 0.5``), see ``tests/transforms/test_dihedral.py``.
"""

from __future__ import annotations

import functools

import torch

from torchaug.functional import geometry as FG
from torchaug.functional._workspace import constant
from torchaug.registry import register
from torchaug._cpu.select import where_samples
from torchaug.transforms._base import Params, RandomTransform

__all__ = ["RandomRotate90", "Transpose", "D4", "D4_ELEMENTS"]

#: albumentations' names of the D4 elements, in the order of the ``group_member`` index
D4_ELEMENTS = ("e", "r90", "r180", "r270", "v", "hvt", "h", "t")
#: (transpose, hflip, vflip) of each element, in :data:`D4_ELEMENTS` order
_PARTS = ((0, 0, 0), (1, 0, 1), (0, 1, 1), (1, 1, 0), (0, 0, 1), (1, 1, 1), (0, 1, 0), (1, 0, 0))


def _parts(element: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(transpose, hflip, vflip)`` bool ``(B,)`` of element indices ``(B,)`` in ``[0, 8)``."""
    table = constant(_PARTS, element.device, torch.bool)
    sel = table.index_select(0, element.long())
    return sel[:, 0], sel[:, 1], sel[:, 2]


@functools.lru_cache(maxsize=16)
def _flip_maps(s: int, device: torch.device) -> torch.Tensor:
    """``(4, S * S)`` int64 flat source pixels of the four flips (index ``hflip + 2 * vflip``; shared, read-only)."""
    i = torch.arange(s, device=device).view(s, 1).expand(s, s)
    j = torch.arange(s, device=device).view(1, s).expand(s, s)
    return torch.stack([((s - 1 - i if v else i) * s + (s - 1 - j if h else j)).reshape(-1)
                        for v in (0, 1) for h in (0, 1)])


def apply_d4(x: torch.Tensor, element: torch.Tensor) -> torch.Tensor:
    """Apply D4 element ``element[i]`` (index into :data:`D4_ELEMENTS`) to sample ``i`` of square ``x``.

    The transposed samples are picked from one transposed copy (:func:`where_samples`, bit-exact),
    then every sample's flips are one gather over the flattened planes with its flip's index map
    (rows and columns read in order or reversed: cache-friendly, unlike a gather through a
    transpose, which measured 10-30x slower on CPU). Exact for every dtype, no host read.
    """
    b, c, h, w = x.shape
    if h != w:
        raise ValueError(f"apply_d4: images must be square; got {h}x{w}")
    t, hf, vf = _parts(element)
    y = where_samples(t, x.transpose(-1, -2).contiguous(), x.contiguous(), overwrite_a=True)
    if y.dtype == torch.uint16:  # no uint16 gather kernel on CPU: the same bits as int16
        y = y.view(torch.int16)
    idx = _flip_maps(h, x.device).index_select(0, hf.long() + 2 * vf.long()).view(b, 1, h * w).expand(b, c, h * w)
    out = y.view(b, c, h * w).gather(2, idx).view(b, c, h, w)
    return FG._same_format(out.view(x.dtype), x)


def d4_points(points: torch.Tensor, element: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Move ``(B, N, 2)`` xy points of an image of ``size=(H, W)`` by D4 element ``element[i]``."""
    t, h, v = (p.view(-1, 1) for p in _parts(element))
    px, py = points[..., 0], points[..., 1]
    hh, ww = size
    x1, y1 = torch.where(t, py, px), torch.where(t, px, py)
    w1 = torch.where(t, hh, ww).to(points.dtype)
    h1 = torch.where(t, ww, hh).to(points.dtype)
    x2 = torch.where(h, w1 - x1, x1)
    y2 = torch.where(v, h1 - y1, y1)
    return torch.stack([x2, y2], dim=-1)


def _require_square(x: torch.Tensor, owner: str) -> None:
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"{owner}: images must be square (a 90-degree turn of an H != W image changes its size per sample, "
            f"which one batch cannot hold); got height {x.shape[-2]} and width {x.shape[-1]}: resize or crop to a square first"
        )


@register("transform", example=lambda: RandomRotate90(p=1.0))
class RandomRotate90(RandomTransform):
    """Rotate each sample by ``k * 90`` degrees counter-clockwise, ``k`` uniform in {0, 1, 2, 3}
    per sample (albumentations ``RandomRotate90``: ``np.rot90(img, k)``; its default ``p=1``).

    Square images only (see the module docstring). Shapes: ``(B, C, S, S) -> (B, C, S, S)``.
    Params: ``factor (B,)`` int64 in [0, 4), ``apply``.
    """

    geometric = True
    supports_uint16 = True

    def __init__(self, p: float = 1.0, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        _require_square(x, type(self).__name__)
        return {"factor": self._randint(x, 4, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _require_square(x, type(self).__name__)
        return apply_d4(x, params["factor"])

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return d4_points(points, params["factor"], size)


@register("transform", example=lambda: Transpose(p=0.5))
class Transpose(RandomTransform):
    """Swap rows and columns of each sample with probability ``p`` (albumentations ``Transpose``,
    default ``p=0.5``): the reflection over the main diagonal, ``out[..., i, j] = x[..., j, i]``.

    Non-square images need ``p=1`` (then ``(B, C, H, W) -> (B, C, W, H)``; see the module
    docstring). Params: ``apply (B,)``.
    """

    geometric = True
    supports_uint16 = True

    def __init__(self, p: float = 0.5, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[-1] != x.shape[-2] and self.p < 1.0:
            raise ValueError(
                f"{type(self).__name__}: non-square images need p=1 (with p < 1 some samples would be {x.shape[-1]}x"
                f"{x.shape[-2]} and others {x.shape[-2]}x{x.shape[-1]}, which one batch cannot hold); got p={self.p} "
                f"and height {x.shape[-2]}, width {x.shape[-1]}"
            )

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        self._check(x)
        return {}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        self._check(x)
        return x.transpose(-1, -2).contiguous()

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return points.flip(-1)


@register("transform", example=lambda: D4(p=1.0))
class D4(RandomTransform):
    """One of the 8 elements of the dihedral group D4 per sample, uniformly (albumentations ``D4``,
    default ``p=1``): identity, the three turns by 90 degrees, the two flips and the two
    transposes (the module docstring lists them). Square images only.

    The eight symmetries of a square are the test-time-augmentation and training set of rotation-
    and reflection-invariant imagery (satellite, microscopy tiles).
    Shapes: ``(B, C, S, S) -> (B, C, S, S)``. Params: ``group_member (B,)`` int64 in [0, 8)
    (an index into :data:`D4_ELEMENTS`), ``apply``.
    """

    geometric = True
    supports_uint16 = True

    def __init__(self, p: float = 1.0, *, same_on_batch: bool = False) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        _require_square(x, type(self).__name__)
        return {"group_member": self._randint(x, 8, generator=generator)}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        _require_square(x, type(self).__name__)
        return apply_d4(x, params["group_member"])

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return d4_points(points, params["group_member"], size)
