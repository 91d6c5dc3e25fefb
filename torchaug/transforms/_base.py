"""Base class of every random image transform: sample per-sample parameters, then apply.

A subclass overrides two methods (as torchvision v2 does):

- ``make_params(x, generator) -> dict[str, Tensor]``: draw per-sample parameter tensors of
  leading size ``B`` on ``x.device``. Use :meth:`_rand` and friends so that ``same_on_batch``
  and ``generator`` are honoured.
- ``transform(x, params) -> Tensor``: deterministic, batched; ``x`` is ``(B, C, H, W)``.
  Optionally ``transform(x, params, out=None)``: a transform whose kernel takes ``out=`` accepts it
  too and passes it on. It promises that sample ``i`` of the result depends only on sample ``i``
  of ``x`` and of ``params`` (so the base may call it on a slice of the batch, every per-sample
  parameter sliced alike) and that ``out`` may be ``x`` itself. The base then hands it the CPU
  intermediates that ``Compose`` owns, and the samples selected by ``p`` only
  (:func:`torchaug._cpu.select.apply_into`): no fresh batch, no work on unselected samples (a
  batch the caller holds is copied once first when ``p < 1``).
  How the kernel gets there fast is the kernel's business (``torchaug._cpu``).

The base adds: validation, ``(C, H, W)`` single images, the per-sample probability ``p``
(``params["apply"]``, a ``(B,)`` bool tensor; samples not selected are returned unchanged; a
``make_params`` that draws ``apply`` itself honours it in ``transform``, e.g. by an empty box),
``same_on_batch``, returning the parameters drawn (``return_params=True``) and replaying them
(``params=...``), the preservation of ``channels_last``, and targets:

- **Targets** (masks, boxes, keypoints; dicts and torchvision ``tv_tensors``, see
  :mod:`torchaug.transforms.targets`). A transform with ``geometric = False`` (every colour,
  noise or occlusion op) passes them through unchanged for free. A geometric transform sets
  ``geometric = True`` and overrides ``transform_mask`` (default: ``transform`` itself, right
  for index-only ops such as flips and crops), ``transform_points`` (``(B, N, 2)`` xy points);
  boxes default to moving their four corners through ``transform_points`` and taking the
  enclosing box, then are clipped to the output and degenerate ones reported. Any structure
  torchvision v2 accepts works (nested tuples/lists/dicts, PIL images, numpy HWC arrays).
- **Video clips** (``tv_tensors.Video`` ``(T, C, H, W)`` / ``(B, T, C, H, W)``, or a plain
  ``(B, T, C, H, W)`` tensor): one parameter set per clip, shared by its frames (kornia's
  ``VideoSequential``), so a clip stays temporally coherent and its per-clip targets stay right.
  ``per_frame=True`` at call time draws per frame instead (every frame its own parameters):
  meaningful for photometric noise-like ops (``GaussianNoise``, ``SaltAndPepperNoise``,
  ``ColorJitter`` as flicker, ``RandomErasing``); a geometric op with per-clip targets raises.
- **Regions**: ``t(x, region=mask)`` with a bool ``(B, H, W)`` (or ``(B, 1, H, W)``; ``(H, W)``
  for a single image) keeps the original pixels outside ``mask``:
  ``out = where(mask, t(x), x)``. E.g. recolour only the background of a photo (the source
  article's husky-vs-wolf remedy: a classifier that learned "snow means wolf" is shown wolves
  and huskies on recoloured backgrounds): ``ColorJitter(hue=0.5)(x, region=~foreground)``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import nn

from torchaug._devpath import cpu_path
from torchaug._validation import check_generator, check_images, check_probability, describe
from torchaug._cpu.select import apply_into, copy_rows_, where_samples
from torchaug._cpu.threads import cpu_threads
from torchaug.functional.geometry import box_corners, clip_boxes, points_to_boxes
from torchaug.functional.ragged import is_image_list
from torchaug.transforms import targets as _t

Params = dict[str, torch.Tensor]


def restrict_to_region(out: torch.Tensor, x: torch.Tensor, region: Any, *, single: bool, owner: str) -> torch.Tensor:
    """``where(region, out, x)`` for a bool ``region`` ``(B, H, W)``/``(B, 1, H, W)`` (``(H, W)`` if single)."""
    if not isinstance(region, torch.Tensor):
        raise TypeError(f"{owner}: region must be a bool tensor (B, H, W); got {describe(region)}")
    r = region.as_subclass(torch.Tensor) if type(region) is not torch.Tensor else region
    if single and r.ndim in (2, 3):
        r = r.unsqueeze(0)
    if r.ndim == 3:
        r = r.unsqueeze(1)
    if (
        r.ndim != 4
        or r.shape[1] != 1
        or r.shape[0] not in (1, x.shape[0])
        or r.shape[-2:] != x.shape[-2:]
        or out.shape != x.shape
    ):
        raise ValueError(
            f"{owner}: region must be a bool mask of shape (B, H, W) matching the images "
            f"{tuple(x.shape)} (and the op must keep the image size); got {describe(region)}"
        )
    return torch.where(r.to(device=x.device, dtype=torch.bool), out, x)


def slice_params(params: Params, rows: slice, n: int) -> Params:
    """The parameters of samples ``rows`` of a batch of ``n``: every tensor of leading size ``n`` sliced."""
    return {k: v[rows] if isinstance(v, torch.Tensor) and v.ndim and v.shape[0] == n else v for k, v in params.items()}


def take_params(params: Params, index: torch.Tensor, n: int) -> Params:
    """The parameters of samples ``index`` of a batch of ``n``: every tensor of leading size ``n`` gathered."""
    return {k: v.index_select(0, index) if isinstance(v, torch.Tensor) and v.ndim and v.shape[0] == n else v
            for k, v in params.items()}


@functools.lru_cache(maxsize=None)
def _accepts_out(cls: type) -> bool:
    """Whether ``cls.transform`` takes an ``out`` argument (see the module docstring)."""
    try:
        return "out" in inspect.signature(cls.transform).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False


def expand_params(params: Params, frames: int, n: int) -> Params:
    """Per-clip parameters -> per-frame ones: every tensor of leading size ``n`` repeated ``frames`` times."""
    if frames == 1:
        return params
    return {
        k: v.repeat_interleave(frames, 0) if isinstance(v, torch.Tensor) and v.ndim and v.shape[0] == n else v
        for k, v in params.items()
    }


class RandomTransform(nn.Module):
    """Random per-sample image transform over ``(B, C, H, W)`` (or ``(C, H, W)``) batches."""

    __torchaug_public__ = False
    #: whether the output has the input's spatial size (``p`` blending needs it)
    keeps_size: bool = True
    #: whether the op moves pixels (then masks/boxes/keypoints move with them)
    geometric: bool = False
    #: whether ``uint16`` images (16-bit, [0, 65535]) are supported: index and warp ops whose maths
    #: holds for any integer range (others raise a TypeError naming the op)
    supports_uint16: bool = False
    #: with ``p < 1`` on the CPU: run ``transform`` once on the gathered selected samples and copy
    #: them back (into the batch ``Compose`` owns, else into a copy), instead of on the whole batch
    #: or run by run of consecutive selected samples (:func:`torchaug._cpu.select.apply_into`); for
    #: filters with a fixed cost per call. Setting it promises what ``out=`` promises: sample ``i``
    #: of the result depends only on sample ``i`` of ``x`` and of the parameters
    gather_selected: bool = False

    def __init__(self, *, p: float = 1.0, same_on_batch: bool = False) -> None:
        super().__init__()
        self.p = check_probability(p, owner=type(self).__name__, name="p")
        if not isinstance(same_on_batch, bool):
            raise TypeError(f"{type(self).__name__}: same_on_batch must be a bool; got {same_on_batch!r}")
        self.same_on_batch = same_on_batch

    # -- to override ---------------------------------------------------------------------
    def make_params(self, x: torch.Tensor, generator: torch.Generator | None) -> Params:
        return {}

    def transform(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        raise TypeError(f"{type(self).__name__} does not define transform()")  # pragma: no cover

    # -- sampling helpers ----------------------------------------------------------------
    def _batch(self, x: torch.Tensor) -> int:
        return 1 if self.same_on_batch else x.shape[0]

    def _expand(self, t: torch.Tensor, b: int) -> torch.Tensor:
        return t.expand(b, *t.shape[1:]) if self.same_on_batch else t

    def _rand(self, x: torch.Tensor, *shape: int, generator: torch.Generator | None) -> torch.Tensor:
        """Uniform [0, 1) of shape ``(B, *shape)`` (one draw shared when ``same_on_batch``)."""
        t = torch.rand((self._batch(x), *shape), generator=generator, device=x.device)
        return self._expand(t, x.shape[0])

    def _uniform(self, x: torch.Tensor, low: float, high: float, *shape: int, generator: torch.Generator | None) -> torch.Tensor:
        return low + (high - low) * self._rand(x, *shape, generator=generator)

    def _randint(self, x: torch.Tensor, high: torch.Tensor | int, *, generator: torch.Generator | None) -> torch.Tensor:
        """Integers in ``[0, high)`` per sample; ``high`` may be a ``(B,)`` tensor."""
        u = self._rand(x, generator=generator)
        if isinstance(high, torch.Tensor):
            return (u * high.to(u.dtype)).floor().long().clamp_max(high.long() - 1).clamp_min(0)
        return (u * high).floor().long().clamp(0, max(high - 1, 0))

    # -- targets (geometric subclasses) -------------------------------------------------
    def transform_mask(self, m: torch.Tensor, params: Params) -> torch.Tensor:
        """Move masks ``(B, K, H, W)`` (any dtype) like the image; default: ``transform``."""
        return self.transform(m, params)

    def transform_points(self, points: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        """Move float points ``(B, N, 2)`` (xy, pixel coordinates of an input of ``size=(H, W)``)."""
        raise TypeError(f"{type(self).__name__} cannot move boxes or keypoints")

    def transform_boxes(self, boxes: torch.Tensor, params: Params, size: tuple[int, int]) -> torch.Tensor:
        """Move xyxy boxes ``(B, N, 4)``: the box enclosing the moved corners (before clipping)."""
        if boxes.shape[1] == 0:
            return boxes
        return points_to_boxes(self.transform_points(box_corners(boxes), params, size))

    # -- driver --------------------------------------------------------------------------
    def forward(
        self,
        *inputs: Any,
        generator: torch.Generator | None = None,
        params: Params | None = None,
        return_params: bool = False,
        region: torch.Tensor | None = None,
        per_frame: bool = False,
    ) -> Any:
        """Transform ``x`` (``(B, C, H, W)`` or ``(C, H, W)``), or any sample structure with targets.

        ``generator`` drives the sampling; ``params`` replays parameters returned earlier by
        ``return_params=True`` (then the output is ``(out, params)``); ``region`` restricts the
        op to a bool mask; ``per_frame`` draws per video frame instead of per clip (see the
        module docstring).
        """
        owner = type(self).__name__
        if len(inputs) == 1 and is_image_list(inputs[0]):  # ragged batch: list of (C, H, W) -> one batch
            from torchaug.transforms.ragged import forward_ragged

            return forward_ragged(self, inputs[0], generator=generator, params=params, return_params=return_params)
        if len(inputs) == 1 and _t.is_plain_image(inputs[0]) and not per_frame:
            x = inputs[0]
            x4, single = check_images(x, owner=owner, allow_uint16=self.supports_uint16)
            if type(x4) is not torch.Tensor:
                x4 = x4.as_subclass(torch.Tensor)
            check_generator(generator, x4.device, owner=owner)
            params, folded = self._params(x4, generator, params)
            out = self._apply_transform(x4, params, folded)
            if region is not None:
                out = self._restrict(out, x4, region, single)
            out = out[0] if single else out
            if type(x) is not torch.Tensor:
                out = _t._tv().wrap(out, like=x)
            return (out, params) if return_params else out
        return _t.run_with_targets(self, inputs, owner=owner, generator=generator, params=params, region=region,
                                   return_params=return_params, per_frame=per_frame)

    def _params(self, x: torch.Tensor, generator: torch.Generator | None, params: Params | None) -> tuple[Params, bool]:
        """The parameters drawn (or replayed, checked) for ``x``, with ``apply``; and whether
        ``make_params`` draws ``apply`` itself (then ``transform`` honours it: no blending here)."""
        if params is None:
            with cpu_threads(x.device, 1):  # tiny per-sample parameter ops
                params = self.make_params(x, generator)
            folded = "apply" in params
            if not folded:
                if self.p >= 1.0:
                    params["apply"] = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
                else:
                    params["apply"] = self._rand(x, generator=generator) < self.p
        else:
            params, folded = self._check_replayed(x, params)
            if "apply" not in params:
                params["apply"] = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        return params, folded

    def _check_replayed(self, x: torch.Tensor, params: Any) -> tuple[Params, bool]:
        """Replayed ``params`` must be what ``return_params=True`` gave for a batch of this size.

        The keys and per-sample sizes are compared with a draw from a private generator (the
        global RNG is left alone); shapes only, so no value is read back from a device.
        """
        owner = type(self).__name__
        if not isinstance(params, dict):
            raise TypeError(f"{owner}: params must be the dict returned by return_params=True; got {describe(params)}")
        b = x.shape[0]
        with cpu_threads(x.device, 1):
            ref = self.make_params(x, torch.Generator(device=x.device).manual_seed(0))
        folded = "apply" in ref
        ref.setdefault("apply", torch.ones(b, dtype=torch.bool, device=x.device))
        if set(params) - set(ref) or set(ref) - set(params) - {"apply"}:
            raise ValueError(f"{owner}: params must hold the keys {sorted(ref)} that {owner} draws; got {sorted(params)}")
        for k, v in params.items():
            r = ref[k]
            if not isinstance(r, torch.Tensor):
                continue
            if not isinstance(v, torch.Tensor):
                raise TypeError(f"{owner}: params[{k!r}] must be a tensor; got {describe(v)}")
            if r.ndim and r.shape[0] == b and (v.ndim != r.ndim or v.shape[0] != b):
                raise ValueError(f"{owner}: params[{k!r}] must have one entry per sample (batch size {b}); got {describe(v)}")
        return dict(params), folded

    def fused_with(self, nxt: Any) -> RandomTransform | None:
        """A step doing this op then ``nxt`` at once, for ``Compose`` to run instead of the two
        (with both steps' parameters: ``join_params`` / ``split_params``); ``None``: none."""
        return None

    @property
    def moves_pixels(self) -> bool:
        """Whether targets must move with the image (``geometric``); containers: any child."""
        return self.geometric

    def _run(
        self,
        batch: dict[str, Any],
        generator: torch.Generator | None,
        params: Params | None = None,
        *,
        region: torch.Tensor | None = None,
        single: bool = False,
        owned: bool = False,
    ) -> tuple[dict[str, Any], Params]:
        """Transform a canonical batch (see :func:`torchaug.transforms.targets.unpack`).

        Parameters are drawn (or replayed) once per sample, a clip of ``T`` frames being one
        sample (``batch["frames"]``): its frames share them. Every other image of the sample
        (``batch["extra_images"]``) gets the same parameters; targets move with them.
        ``owned``: the image batch is a private intermediate (``Compose`` owns it), so the result
        may be written into its memory (see :meth:`_apply_transform`).
        """
        x = batch[_t.IMAGE]
        frames = batch.get(_t.FRAMES, 1)
        xc = x if frames == 1 else x[::frames]  # one row per clip: parameters are drawn per clip
        params, folded = self._params(xc, generator, params)
        n = xc.shape[0]
        out = self._apply_transform(x, expand_params(params, frames, n), folded, owned and region is None)
        if region is not None:
            if frames != 1:
                raise ValueError(f"{type(self).__name__}: region is not supported for video clips")
            out = self._restrict(out, x, region, single)
        new = dict(batch)
        new[_t.IMAGE] = out
        extra = batch.get(_t.EXTRA)
        if extra:
            new[_t.EXTRA] = [(self._apply_transform(e, expand_params(params, te, n), folded), te) for e, te in extra]
        if self.geometric:
            self._move_targets(batch, new, params, tuple(x.shape[-2:]), tuple(out.shape[-2:]))
        return new, params

    def _move_targets(self, batch: dict, new: dict, params: Params, in_size: tuple, out_size: tuple) -> None:
        """Move the masks, boxes (clipped to the output, validity updated) and keypoints of ``batch``."""
        blend = self.keeps_size and self.p < 1.0
        apply = params["apply"]
        if batch.get(_t.MASK):
            moved = []
            for m in batch[_t.MASK]:
                mo = self.transform_mask(m, params)
                moved.append(where_samples(apply, mo, m) if blend else mo)
            new[_t.MASK] = moved
        if batch.get(_t.BOXES):
            boxes, valid = [], []
            for b, v in zip(batch[_t.BOXES], batch[_t.VALID]):
                bo = self.transform_boxes(b, params, in_size)
                if blend:
                    bo = torch.where(apply.view(-1, 1, 1), bo, b)
                bo, ok = clip_boxes(bo, out_size)
                boxes.append(bo)
                valid.append(v & ok)
            new[_t.BOXES], new[_t.VALID] = boxes, valid
        if batch.get(_t.POINTS):
            pts = []
            for k in batch[_t.POINTS]:
                ko = self.transform_points(k, params, in_size) if k.shape[1] else k
                pts.append(torch.where(apply.view(-1, 1, 1), ko, k) if blend else ko)
            new[_t.POINTS] = pts

    def _restrict(self, out: torch.Tensor, x: torch.Tensor, region: Any, single: bool) -> torch.Tensor:
        return restrict_to_region(out, x, region, single=single, owner=type(self).__name__)

    def _apply_transform(self, x: torch.Tensor, params: Params, folded: bool, owned: bool = False) -> Any:
        """``transform``, keeping the samples not selected by ``p`` (when the size is kept and
        ``transform`` does not honour ``apply`` itself, ``folded``), in ``x``'s memory format.

        The one speed mechanism of the base class: when ``x`` is a CPU batch nobody else holds
        (``owned``, a ``Compose`` intermediate) and ``transform`` accepts ``out=`` (see the module
        docstring), the result is written into ``x`` and only the selected samples are
        transformed (:func:`torchaug._cpu.select.apply_into`, or gathered first with
        ``gather_selected``); a batch the caller holds, with ``p < 1``, is copied once and then
        treated the same way. Otherwise the transform's own
        output takes the unselected samples back (:func:`torchaug._cpu.select.where_samples`,
        written into that output).
        """
        blend = self.p < 1.0 and self.keeps_size and not folded
        if blend and self.gather_selected and cpu_path(x):
            # a copy of the batch (unless Compose owns it) and the op on the selected samples only
            b = x.shape[0]
            out = x if owned else x.clone(memory_format=torch.preserve_format)
            index = params["apply"].nonzero().view(-1)  # a CPU tensor: no device sync
            if index.numel():
                copy_rows_(out, index, self.transform(x.index_select(0, index), take_params(params, index, b)))
            return out
        if (owned or blend) and cpu_path(x) and _accepts_out(type(self)):
            b = x.shape[0]

            def fn(part: torch.Tensor, rows: slice, out: torch.Tensor | None) -> torch.Tensor:
                sub = params if rows.start == 0 and rows.stop == b else slice_params(params, rows, b)
                return self.transform(part, sub, out=out)

            # a batch the caller holds: one copy, then the selected samples in place (the whole batch
            # transformed and merged back by ``where_samples`` costs the op on every sample plus three passes)
            target = x if owned else x.clone(memory_format=torch.preserve_format)
            return apply_into(target, params["apply"] if blend else None, fn)
        out = self.transform(x, params)
        if not isinstance(out, torch.Tensor):  # a list of differently sized samples (Resize of ragged sizes)
            return out
        if blend:
            out = where_samples(params["apply"], out, x, overwrite_a=True)  # ``out`` is the transform's own
        if (
            out.ndim == 4
            and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last)
            and not out.is_contiguous(memory_format=torch.channels_last)
        ):
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", same_on_batch=True" if self.same_on_batch else "")
