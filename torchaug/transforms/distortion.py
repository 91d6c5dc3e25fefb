"""Non-rigid warps with albumentations 2.0.8 names and arguments, per-sample parameters:
``GridDistortion``, ``OpticalDistortion``, ``PiecewiseAffine``, ``ThinPlateSpline``.

Each op draws small per-sample parameter tensors (step factors, a distortion coefficient, control
point jitter) on the data's device, builds a backward map per sample (output pixel -> input
position, :mod:`torchaug.functional.distortion`) and samples the whole batch with one
``grid_sample`` (constant border ``fill``, as albumentations' default ``BORDER_CONSTANT``). Masks
move with nearest sampling. Keypoints move by a batched inversion of the backward map on the device
(nearest mapped pixel, then fixed-point refinement: :func:`~torchaug.functional.distortion.forward_points`);
boxes become the extent of their warped box mask, as albumentations 2.x ``remap_bboxes``
(:func:`~torchaug.functional.distortion.box_extent`).

Defaults are albumentations' (``p=0.5`` included); ``interpolation`` is ``"bilinear"`` (OpenCV's
``INTER_LINEAR``; ``cv2.INTER_NEAREST``/``cv2.INTER_LINEAR`` ints are accepted too) or ``"nearest"``.
albumentations' ``border_mode`` other than constant, ``mask_interpolation`` and
``keypoint_remapping_method`` are not offered. Parity: ``tests/transforms/test_distortion.py``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch

from torchaug._validation import check_bool, check_choice, check_number, describe
from torchaug.functional import distortion as FD
from torchaug.registry import register
from torchaug.transforms._args import float_range, int_range
from torchaug.transforms._base import Params
from torchaug.transforms.geometry import _Warp, _fill

__all__ = ["GridDistortion", "OpticalDistortion", "PiecewiseAffine", "ThinPlateSpline"]

_CV2_INTERP = {0: "nearest", 1: "bilinear"}  # cv2.INTER_NEAREST, cv2.INTER_LINEAR


def _interp(v: Any, owner: str) -> str:
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        if int(v) not in _CV2_INTERP:
            raise ValueError(f"{owner}: interpolation must be 'nearest', 'bilinear', cv2.INTER_NEAREST (0) or cv2.INTER_LINEAR (1); got {v!r}")
        return _CV2_INTERP[int(v)]
    v = getattr(v, "value", v)
    if not isinstance(v, str):
        raise TypeError(f"{owner}: interpolation must be a string or an OpenCV flag; got {describe(v)}")
    return check_choice(v.lower(), ("nearest", "bilinear"), owner=owner, name="interpolation")


class _MapWarp(_Warp):
    """A warp given by a per-sample backward map ``(B, H, W, 2)`` built from the params."""

    __torchaug_public__ = False

    def _sampling(self, interpolation: Any, fill: Any, owner: str) -> None:
        self.interpolation = _interp(interpolation, owner)
        self.fill = _fill(fill, owner)

    def backward_map(self, params: Params, size: tuple[int, int], units: str = "pixel") -> torch.Tensor:
        """The per-sample map ``(B, H, W, 2)``: output pixel -> input position, in OpenCV pixel-index
        units (``units="pixel"``, albumentations' ``map_x``/``map_y``) or ``grid_sample``'s (``"grid"``)."""
        raise TypeError(f"{type(self).__name__} does not define backward_map()")  # pragma: no cover

    def _warp(self, x: torch.Tensor, params: Params, interpolation: str, fill: Any) -> torch.Tensor:
        grid = self.backward_map(params, (x.shape[-2], x.shape[-1]), "grid")
        return FD.remap(x, grid, interpolation=interpolation, fill=fill, units="grid")

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        return FD.forward_points(self.backward_map(params, size), points)

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        if boxes.shape[1] == 0:
            return boxes
        return FD.box_extent(self.backward_map(params, size), boxes)


@register("transform", example=lambda: GridDistortion(num_steps=5, distort_limit=0.3, p=1.0))
class GridDistortion(_MapWarp):
    """Grid distortion (albumentations ``GridDistortion``, 2.0.8 semantics; Buslaev et al. 2020,
    "Albumentations: fast and flexible image augmentations").

    The image is cut into ``num_steps`` cells per axis (of ``size // num_steps`` pixels, the last
    one holding the rest); cell ``s`` of each axis is stretched by its own factor
    ``1 + U(distort_limit)`` (``num_steps + 1`` factors per axis per sample). ``normalized=True``
    rescales the factors so that the map ends at the image border (nothing leaves the image).
    ``distort_limit``: ``d`` -> ``(-d, d)``, or ``(a, b)`` within ``[-1, 1]``. Separable: the map's
    x depends only on the column, y only on the row.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``, ``H, W >= num_steps``. Params: ``steps_x``,
    ``steps_y`` ``(B, num_steps + 1)`` (the raw factors), ``apply``.
    """

    def __init__(
        self,
        num_steps: int = 5,
        distort_limit: float | Sequence[float] = (-0.3, 0.3),
        interpolation: Any = "bilinear",
        normalized: bool = True,
        fill: float | Sequence[float] = 0,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.num_steps = int(check_number(num_steps, owner=owner, name="num_steps", low=1, integer=True))
        self.distort_limit = float_range(distort_limit, owner=owner, name="distort_limit", low=-1.0, high=1.0, symmetric=True)
        self.normalized = check_bool(normalized, owner=owner, name="normalized")
        self._sampling(interpolation, fill, owner)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        lo, hi = self.distort_limit
        s = 1 + self._uniform(x, lo, hi, 2, self.num_steps + 1, generator=generator)
        return {"steps_x": s[:, 0], "steps_y": s[:, 1]}

    def backward_map(self, params: Params, size: tuple[int, int], units: str = "pixel") -> torch.Tensor:
        return FD.grid_distortion_map(params["steps_x"], params["steps_y"], size, self.num_steps, normalized=self.normalized, units=units)

    def extra_repr(self) -> str:
        return f"num_steps={self.num_steps}, distort_limit={self.distort_limit}, normalized={self.normalized}, " + super().extra_repr()


@register("transform", example=lambda: OpticalDistortion(distort_limit=0.3, mode="fisheye", p=1.0))
class OpticalDistortion(_MapWarp):
    """Lens distortion (albumentations ``OpticalDistortion``, 2.0.8's two models).

    One coefficient ``k ~ U(distort_limit)`` per sample (``d`` -> ``(-d, d)``).
    ``mode="camera"``: OpenCV's radial model ``r' = r (1 + k r^2 + k r^4)`` with camera matrix
    ``[[W, 0, W/2], [0, H, H/2]]`` (``initUndistortRectifyMap``, ``k1 = k2 = k``): for ``k > 0`` an
    output pixel samples the input farther out, so the content is squeezed towards the centre
    (barrel), ``k < 0`` gives pincushion; recommended ``(-0.05, 0.05)``. ``mode="fisheye"``: ``r' = r (1 + k (r / r_max)^2)``
    about the centre; recommended ``(-0.3, 0.3)``. Both maps are the same as albumentations' to
    float32 rounding (checked in the tests).

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``. Params: ``k (B,)``, ``apply``.
    """

    def __init__(
        self,
        distort_limit: float | Sequence[float] = (-0.05, 0.05),
        interpolation: Any = "bilinear",
        mode: str = "camera",
        fill: float | Sequence[float] = 0,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        self.distort_limit = float_range(distort_limit, owner=owner, name="distort_limit", symmetric=True)
        self.mode = check_choice(mode, ("camera", "fisheye"), owner=owner, name="mode")
        self._sampling(interpolation, fill, owner)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {"k": self._uniform(x, *self.distort_limit, generator=generator)}

    def backward_map(self, params: Params, size: tuple[int, int], units: str = "pixel") -> torch.Tensor:
        return FD.optical_distortion_map(params["k"], size, self.mode, units=units)

    def extra_repr(self) -> str:
        return f"distort_limit={self.distort_limit}, mode={self.mode!r}, " + super().extra_repr()


@register("transform", example=lambda: PiecewiseAffine(scale=(0.03, 0.05), nb_rows=4, nb_cols=4, p=1.0))
class PiecewiseAffine(_MapWarp):
    """Local distortions from a jittered grid of control points (albumentations 2.0.8
    ``PiecewiseAffine``; imgaug's ``PiecewiseAffine`` arguments).

    A regular grid of ``nb_rows x nb_cols`` points (each an int or an inclusive ``(a, b)`` range drawn
    per sample, at least 2) spans the image; each point moves by ``N(0, s / 3)`` per axis with
    ``s = U(scale) * min(H, W)`` (or ``U(scale)`` pixels if ``absolute_scale``), clipped to the image.

    **Relation to the peers.** imgaug (and albumentations 1.x) estimate a scikit-image
    ``PiecewiseAffineTransform`` (Delaunay triangles, one affine map per triangle) from the moved
    points: slow, host-only. albumentations 2.0.8 no longer does: it builds the map by
    inverse-distance weighting of the moved points (``w = 1 / (d^2 + 1e-8)`` over all control points,
    per pixel in a Python loop). This op computes 2.0.8's map (same jitter -> same map to float32
    rounding, see the tests) for the whole batch at once; it is a smooth blend, not a triangle-wise
    affine map, and near each control point it is locally flat (the map's Jacobian vanishes there),
    so a small disc around each moved point is magnified there.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``. Params: ``jitter (B, R, C, 2)`` xy pixels (R, C the
    largest row/column counts), ``rows``, ``cols`` ``(B,)``, ``apply``.
    """

    def __init__(
        self,
        scale: float | Sequence[float] = (0.03, 0.05),
        nb_rows: int | Sequence[int] = (4, 4),
        nb_cols: int | Sequence[int] = (4, 4),
        interpolation: Any = "bilinear",
        absolute_scale: bool = False,
        fill: float | Sequence[float] = 0,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
            scale = (0.0, float(scale))  # albumentations: a single float -> (0, scale)
        self.scale = float_range(scale, owner=owner, name="scale", low=0.0)
        self.nb_rows = int_range(nb_rows, owner=owner, name="nb_rows", low=2)
        self.nb_cols = int_range(nb_cols, owner=owner, name="nb_cols", low=2)
        self.absolute_scale = check_bool(absolute_scale, owner=owner, name="absolute_scale")
        self._sampling(interpolation, fill, owner)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        h, w = x.shape[-2:]
        b = self._batch(x)
        u = self._rand(x, 3, generator=generator)
        rows = self.nb_rows[0] + (u[:, 0] * (self.nb_rows[1] - self.nb_rows[0] + 1)).floor().long().clamp_max(self.nb_rows[1] - self.nb_rows[0])
        cols = self.nb_cols[0] + (u[:, 1] * (self.nb_cols[1] - self.nb_cols[0] + 1)).floor().long().clamp_max(self.nb_cols[1] - self.nb_cols[0])
        s = self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 2]
        sd = s / 3 if self.absolute_scale else s * (min(h, w) / 3)
        z = torch.randn((b, self.nb_rows[1], self.nb_cols[1], 2), generator=generator, device=x.device)
        z = self._expand(z, x.shape[0])
        return {"jitter": z * sd.view(-1, 1, 1, 1), "rows": rows, "cols": cols}

    def backward_map(self, params: Params, size: tuple[int, int], units: str = "pixel") -> torch.Tensor:
        return FD.piecewise_affine_map(params["jitter"], params["rows"], params["cols"], size, units=units)

    def extra_repr(self) -> str:
        return (
            f"scale={self.scale}, nb_rows={self.nb_rows}, nb_cols={self.nb_cols}, "
            f"absolute_scale={self.absolute_scale}, " + super().extra_repr()
        )


@register("transform", example=lambda: ThinPlateSpline(scale_range=(0.2, 0.4), num_control_points=4, p=1.0))
class ThinPlateSpline(_MapWarp):
    """Thin-plate-spline warp (albumentations ``ThinPlateSpline`` arguments, kornia's maths;
    Bookstein 1989, "Principal Warps: Thin-Plate Splines and the Decomposition of Deformations").

    ``num_control_points`` per side (a regular grid over the image, or for 2 the corners and the
    centre, as albumentations) move by ``N(0, U(scale_range) / 10)`` (in image-size units) per
    sample; the spline with kernel ``U(r) = r^2 log r`` taking the grid to the moved points is
    solved per sample in one batched ``torch.linalg.solve`` and evaluated at every pixel centre:
    exactly kornia's ``get_tps_transform`` + ``warp_image_tps`` (``align_corners=False``) with the
    points in ``grid_sample``'s frame (tested). albumentations 2.0.8 builds its system with
    ``d^4 log d^2`` but evaluates ``d^2 log d^2`` (``d`` the distance), so its spline does not pass
    through its own control points; its images therefore differ from this op's for the same points.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``. Params: ``displacement (B, N, 2)`` xy in image-size
    units, ``apply``.
    """

    def __init__(
        self,
        scale_range: Sequence[float] = (0.2, 0.4),
        num_control_points: int = 4,
        interpolation: Any = "bilinear",
        fill: float | Sequence[float] = 0,
        *,
        p: float = 0.5,
        same_on_batch: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch)
        owner = type(self).__name__
        if not (isinstance(scale_range, Sequence) and not isinstance(scale_range, str) and len(scale_range) == 2):
            raise TypeError(f"{owner}: scale_range must be a (min, max) pair in [0, 1]; got {describe(scale_range)}")
        self.scale_range = float_range(scale_range, owner=owner, name="scale_range", low=0.0, high=1.0)
        self.num_control_points = int(check_number(num_control_points, owner=owner, name="num_control_points", low=2, integer=True))
        self._sampling(interpolation, fill, owner)

    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        n = 5 if self.num_control_points == 2 else self.num_control_points**2
        s = self._uniform(x, *self.scale_range, generator=generator) / 10
        z = self._expand(torch.randn((self._batch(x), n, 2), generator=generator, device=x.device), x.shape[0])
        return {"displacement": z * s.view(-1, 1, 1)}

    def backward_map(self, params: Params, size: tuple[int, int], units: str = "pixel") -> torch.Tensor:
        d = params["displacement"]
        c = FD.tps_control_points(self.num_control_points, d.device).expand(d.shape[0], -1, -1)
        return FD.tps_map(c, c + d, size, units=units)

    def extra_repr(self) -> str:
        return f"scale_range={self.scale_range}, num_control_points={self.num_control_points}, " + super().extra_repr()
