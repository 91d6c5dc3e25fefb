"""Samples that travel through a transform: images, masks, bounding boxes, keypoints, labels.

A transform (and a container) accepts, besides a plain image tensor, **any structure
torchvision v2 accepts**: tuples, lists and dicts nested to any depth (``t(image, target)``,
``t((image, {"boxes": ..., "masks": ..., "labels": ...}))``, ``t({"image": ..., "boxes": ...})``).
The structure is flattened depth-first (``torch.utils._pytree``, as torchvision) and each leaf
gets a role:

- ``tv_tensors.Image`` / ``PIL.Image.Image``: an image; ``tv_tensors.Video``: a clip
  ``(T, C, H, W)`` (``(B, T, C, H, W)``: a batch of clips). Every image and clip of a sample is
  transformed with the same parameters (they must share the batch size and ``H, W``).
- **plain tensors**, by torchvision's own rule: when the sample holds no explicit image (no
  ``Image``, ``Video`` or PIL image), the first plain tensor met depth-first is the image
  (``(C, H, W)``, ``(B, C, H, W)``, or a clip batch ``(B, T, C, H, W)``); every other plain
  tensor passes through. Exception kept from torchaug's dict API: a plain tensor under the key
  ``"image"`` is the image, and plain tensors under ``"mask"``/``"masks"``, ``"boxes"`` (xyxy
  pixel boxes) and ``"keypoints"`` (xy) are those targets.
- **numpy arrays** ``(H, W)`` / ``(H, W, C)`` count like plain tensors (torchvision passes them
  through; here they are the image when nothing else is), and come back as numpy, same dtype.
- ``tv_tensors.Mask``: ``(H, W)`` / ``(K, H, W)`` per image, ``(B, H, W)`` / ``(B, K, H, W)`` for a
  batch. ``tv_tensors.BoundingBoxes`` (any axis-aligned format; type, format and
  ``canvas_size`` kept) and ``tv_tensors.KeyPoints``: ``(N, 4)`` / ``(N, 2)`` per image.
- **Per-image targets of a batch**: a target inside a list (or tuple) of ``B`` entries, e.g.
  ``(images, [{"boxes": b0, "labels": l0}, {"boxes": b1, ...}, ...])`` or ``{"boxes": [b0, b1, ...]}``,
  belongs to image ``i`` of the batch; boxes, keypoints and masks of different counts per image
  are supported.
- Everything else (labels, ids, strings, numbers, other tensors) passes through unchanged.
- A torchvision ``TVTensor`` subclass torchaug does not know raises a ``TypeError`` naming it when
  the transform moves pixels (it could not be moved consistently); colour ops pass it through.

A top-level **list of PIL images or numpy arrays** is a batch (each sample its own parameters),
returned as a list of the same kind. The dict form with a top-level ``"boxes"`` entry also gets
``"boxes_valid"`` (False for boxes clipped to less than one pixel); for any other form
:func:`boxes_valid` gives the same flag from the returned boxes. Degenerate boxes are kept (and
clipped), so labels stay aligned.

Coordinates are continuous pixel coordinates (see :mod:`torchaug.functional.geometry`).
Geometric transforms move every target by its sample's own parameters; colour transforms pass
targets through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils import _pytree as pytree

from torchaug._validation import check_finite, check_generator, check_images, describe

__all__ = ["boxes_valid"]

Batch = dict[str, Any]

IMAGE, MASK, BOXES, VALID, POINTS = "image", "mask", "boxes", "boxes_valid", "keypoints"
#: canonical batch keys: frames per clip of the main image, the other images ``[(x, T), ...]``
FRAMES, EXTRA = "frames", "extra_images"
TARGETS = (MASK, BOXES, VALID, POINTS)

_MASK_KEYS = ("mask", "masks")


def _tv():
    from torchvision import tv_tensors

    return tv_tensors


def _pil():
    """``PIL.Image.Image`` (None without Pillow)."""
    try:
        import PIL.Image
    except ImportError:  # pragma: no cover - PIL ships with torchvision
        return None
    return PIL.Image.Image


def is_plain_image(x: Any) -> bool:
    """A plain ``(C, H, W)``/``(B, C, H, W)`` tensor or a ``tv_tensors.Image`` (fast path; imports nothing for plain tensors)."""
    if type(x) is torch.Tensor:
        return x.ndim != 5
    if not isinstance(x, torch.Tensor):
        return False
    return isinstance(x, _tv().Image)


def boxes_valid(boxes: Any, *, min_size: float = 1.0) -> torch.Tensor:
    """``(..., N)`` bool: boxes at least ``min_size`` pixels wide and high (any tv format; plain: xyxy).

    The flag the dict form returns as ``"boxes_valid"``, for outputs of any form (a tuple of
    tv_tensors, a nested target dict): ``boxes[boxes_valid(boxes)]`` keeps the boxes still in the
    image (torchvision's ``SanitizeBoundingBoxes(min_size=1)``).
    """
    if isinstance(boxes, (list, tuple)):
        return [boxes_valid(b, min_size=min_size) for b in boxes]  # type: ignore[return-value]
    if not isinstance(boxes, torch.Tensor) or boxes.shape[-1:] != (4,):
        raise TypeError(f"boxes_valid: boxes must be an (..., 4) tensor or tv_tensors.BoundingBoxes; got {describe(boxes)}")
    t = _to_xyxy(boxes)
    return ((t[..., 2] - t[..., 0]) >= min_size) & ((t[..., 3] - t[..., 1]) >= min_size)


def _box_format(b: Any) -> str:
    fmt = b.format.name if hasattr(b.format, "name") else str(b.format)
    return fmt.upper()


def _to_xyxy(b: torch.Tensor) -> torch.Tensor:
    tv = _tv()
    if type(b) is not torch.Tensor and isinstance(b, tv.BoundingBoxes):
        fmt = _box_format(b)
        t = b.as_subclass(torch.Tensor).float()
        if fmt != "XYXY":
            from torchvision.ops import box_convert

            if fmt not in ("XYWH", "CXCYWH"):
                raise ValueError(f"boxes must be axis-aligned (XYXY, XYWH or CXCYWH); got format {fmt}")
            t = box_convert(t, fmt.lower(), "xyxy")
        return t
    return b.as_subclass(torch.Tensor).float() if type(b) is not torch.Tensor else b.float()


# ---------------------------------------------------------------------------------------------
# leaves
# ---------------------------------------------------------------------------------------------
@dataclass
class _Image:
    """One image-like leaf: where it is, its form, and how it maps to ``(B*T, C, H, W)``."""

    index: int | list[int]  # flat leaf index (a list: a top-level list batch)
    form: str  # "tensor" | "tv" | "pil" | "numpy" | "pil_list" | "numpy_list"
    like: Any
    single: bool
    frames: int = 1  # T for clips
    clip: bool = False


@dataclass
class _Target:
    """A mask/boxes/keypoints target: one batched leaf, or one leaf per image of the batch."""

    role: str
    indices: list[int]  # one leaf (batched) or B leaves (per image, in image order)
    per_image: bool
    likes: list[Any]
    counts: list[int] = field(default_factory=list)
    ndim: int = 0  # of a batched mask leaf


@dataclass
class Spec:
    """How to give the caller back what they passed."""

    kind: str  # "flat" (any structure) | "list" (a top-level list batch)
    single: bool
    leaves: list[Any] = field(default_factory=list)
    treespec: Any = None
    images: list[_Image] = field(default_factory=list)
    targets: list[_Target] = field(default_factory=list)
    top_dict_boxes: bool = False  # the dict form's "boxes_valid"
    valid_in: Any = None


def _key_name(entry: Any) -> Any:
    return getattr(entry, "key", None)


def _role_by_key(path: tuple) -> str | None:
    """Roles of plain tensors given by their dict key (torchaug's dict API)."""
    if not path:
        return None
    last = _key_name(path[-1])
    names = {IMAGE: IMAGE, "mask": MASK, "masks": MASK, BOXES: BOXES, POINTS: POINTS, VALID: VALID}
    if last in names:
        return names[last]
    if hasattr(path[-1], "idx") and len(path) >= 2 and _key_name(path[-2]) in (MASK, "masks", BOXES, POINTS):
        return names[_key_name(path[-2])]
    return None


def _numpy_image(a: Any) -> bool:
    import numpy as np

    return isinstance(a, np.ndarray) and a.ndim in (2, 3) and (a.dtype == np.uint8 or a.dtype.kind == "f")


def _is_numpy(a: Any) -> bool:
    return type(a).__module__ == "numpy" and type(a).__name__ == "ndarray"


def _node(obj: Any, path: tuple) -> Any:
    for e in path:
        if hasattr(e, "key"):
            obj = obj[e.key]
        elif hasattr(e, "idx"):
            obj = obj[e.idx]
        else:
            obj = getattr(obj, e.name)
    return obj


def _pil_to_tensor(img: Any, owner: str) -> torch.Tensor:
    import numpy as np

    if img.mode not in ("L", "RGB", "RGBA"):
        raise TypeError(f"{owner}: PIL images must be mode L, RGB or RGBA; got mode {img.mode!r} (convert it first)")
    a = np.asarray(img)
    t = torch.from_numpy(a.copy())
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()


def _numpy_to_tensor(a: Any) -> torch.Tensor:
    import numpy as np

    t = torch.from_numpy(np.ascontiguousarray(a))
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)


def _tensor_to_pil(t: torch.Tensor, like: Any) -> Any:
    import PIL.Image

    if t.dtype != torch.uint8:
        raise TypeError(f"a PIL image can only come back from uint8 data; got {t.dtype}")
    a = t.detach().cpu()
    a = a[0].numpy() if a.shape[0] == 1 else a.permute(1, 2, 0).contiguous().numpy()
    return PIL.Image.fromarray(a)


def _tensor_to_numpy(t: torch.Tensor, like: Any) -> Any:
    a = t.detach().cpu()
    a = a[0] if like.ndim == 2 else a.permute(1, 2, 0)
    return a.contiguous().numpy().astype(like.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# unpack / repack
# ---------------------------------------------------------------------------------------------
def _top_list_batch(obj: Any, owner: str) -> tuple[torch.Tensor, str] | None:
    """A top-level list of PIL images or numpy images -> a stacked ``(B, C, H, W)`` batch."""
    if not isinstance(obj, list) or not obj:
        return None
    PIL = _pil()
    if PIL is not None and all(isinstance(v, PIL) for v in obj):
        ts, form = [_pil_to_tensor(v, owner) for v in obj], "pil_list"
    elif all(_is_numpy(v) and _numpy_image(v) for v in obj):
        ts, form = [_numpy_to_tensor(v) for v in obj], "numpy_list"
    else:
        return None
    shapes = {tuple(t.shape) for t in ts}
    dtypes = {t.dtype for t in ts}
    if len(shapes) != 1 or len(dtypes) != 1:
        raise ValueError(
            f"{owner}: a list of images is one batch and needs images of one size and dtype; got shapes "
            f"{sorted(shapes)} (resize them first, or call the transform on each image)"
        )
    return torch.stack(ts), form


def _image_leaf(leaf: Any, role: str, index: int, owner: str, uint16: bool = False) -> tuple[torch.Tensor, _Image]:
    """An image-like leaf -> ``(B*T, C, H, W)`` plus its description."""
    PIL = _pil()
    if PIL is not None and isinstance(leaf, PIL):
        t = _pil_to_tensor(leaf, owner).unsqueeze(0)
        return t, _Image(index, "pil", leaf, True)
    if _is_numpy(leaf):
        return _numpy_to_tensor(leaf).unsqueeze(0), _Image(index, "numpy", leaf, True)
    form = "tensor" if type(leaf) is torch.Tensor else "tv"
    t = leaf.as_subclass(torch.Tensor) if type(leaf) is not torch.Tensor else leaf
    clip = role == "video" or (form == "tensor" and t.ndim == 5)
    if clip:
        if t.ndim == 4:
            t, single = t.unsqueeze(0), True
        elif t.ndim == 5:
            single = False
        else:
            raise ValueError(f"{owner}: a video must be (T, C, H, W) or (B, T, C, H, W); got {describe(leaf)}")
        b, frames = t.shape[:2]
        x4, _ = check_images(t.reshape(b * frames, *t.shape[2:]), owner=owner, name="video", allow_uint16=uint16)
        return x4, _Image(index, form, leaf, single, frames=frames, clip=True)
    if t.ndim not in (3, 4):
        raise ValueError(
            f"{owner}: x must be an image tensor (C, H, W) or (B, C, H, W), or a video clip batch (B, T, C, H, W); "
            f"got {describe(leaf)}"
        )
    x4, single = check_images(t, owner=owner, name="x", allow_uint16=uint16)
    return x4, _Image(index, form, leaf, single)


def _classify(flat: list[tuple[tuple, Any]]) -> list[str | None]:
    """Role of every leaf (torchvision's rule for plain tensors; see the module docstring)."""
    tv = _tv()
    PIL = _pil()
    explicit = any(
        isinstance(v, (tv.Image, tv.Video)) or (PIL is not None and isinstance(v, PIL)) for _, v in flat
    )
    keyed_image = any(type(v) is torch.Tensor and _role_by_key(p) == IMAGE for p, v in flat)
    take_plain = not explicit and not keyed_image
    roles: list[str | None] = []
    for path, v in flat:
        role: str | None = None
        if isinstance(v, torch.Tensor) and type(v) is not torch.Tensor:
            if isinstance(v, tv.Image):
                role = IMAGE
            elif isinstance(v, tv.Video):
                role = "video"
            elif isinstance(v, tv.Mask):
                role = MASK
            elif isinstance(v, tv.BoundingBoxes):
                role = BOXES
            elif isinstance(v, tv.KeyPoints):
                role = POINTS
            elif isinstance(v, tv.TVTensor):
                role = "unknown"
            else:  # another tensor subclass (e.g. a Parameter): as a plain tensor
                role = None
        elif PIL is not None and isinstance(v, PIL):
            role = IMAGE
        if role is None and (type(v) is torch.Tensor or (isinstance(v, torch.Tensor) and not isinstance(v, tv.TVTensor))):
            keyed = _role_by_key(path)
            if keyed is not None:
                role = keyed
            elif take_plain:
                role, take_plain = IMAGE, False
        elif role is None and _is_numpy(v) and _numpy_image(v) and take_plain and _role_by_key(path) is None:
            role, take_plain = IMAGE, False
        roles.append(role)
    return roles


def _per_image_slot(obj: Any, path: tuple, batch: int, image_paths: list[tuple]) -> tuple[tuple, int] | None:
    """The innermost list/tuple of ``batch`` entries above a leaf, not holding an image:
    ``(wildcard path, image index)``."""
    for d in range(len(path) - 1, -1, -1):
        e = path[d]
        holds_image = any(p[:d] == path[:d] and len(p) > d for p in image_paths)
        if hasattr(e, "idx") and not holds_image and len(_node(obj, path[:d])) == batch:
            return path[:d] + ("*",) + path[d + 1 :], e.idx
    return None


def unpack(inputs: tuple, owner: str, *, geometric: bool = True, uint16: bool = False) -> tuple[Batch, Spec]:
    """Caller's inputs -> canonical batch dict.

    Keys: ``image`` ``(B*T, C, H, W)`` (the main image; ``T`` frames per clip, ``frames``),
    ``extra_images`` ``[(x, T), ...]`` (other images/clips of the sample, same parameters),
    ``mask`` / ``boxes`` / ``boxes_valid`` / ``keypoints``: lists of ``(B, K, H, W)`` masks,
    ``(B, N, 4)`` float xyxy boxes with their ``(B, N)`` validity and ``(B, N, 2)`` float points.
    """
    obj = inputs[0] if len(inputs) == 1 else inputs
    spec = Spec("flat", False)
    listed = _top_list_batch(obj, owner)
    if listed is not None:
        x4, form = listed
        spec.kind = "list"
        spec.images = [_Image(list(range(len(obj))), form, obj, False)]
        spec.leaves = list(obj)
        return {IMAGE: x4, FRAMES: 1, EXTRA: [], MASK: [], BOXES: [], VALID: [], POINTS: []}, spec
    flat, treespec = pytree.tree_flatten_with_path(obj)
    spec.treespec = pytree.tree_structure(obj)
    spec.leaves = [v for _, v in flat]
    roles = _classify(flat)
    # images
    xs: list[tuple[torch.Tensor, _Image]] = []
    image_paths: list[tuple] = []
    for i, ((path, v), role) in enumerate(zip(flat, roles)):
        if role in (IMAGE, "video"):
            xs.append(_image_leaf(v, role, i, owner, uint16))
            image_paths.append(path)
    if not xs and any(r in (MASK, BOXES, POINTS) for r in roles):
        raise ValueError(
            f"{owner}: a sample with masks/boxes/keypoints must hold its image (under 'image', or as a "
            f"tv_tensors.Image, a PIL image or the first plain tensor); got none"
        )
    if not xs:
        raise TypeError(
            f"{owner}: x must be an image tensor (B, C, H, W) or (C, H, W), a PIL image, a numpy HWC array, "
            f"a tv_tensors.Image/Video, or a structure holding one; got "
            f"{', '.join(describe(v) for v in spec.leaves[:4]) or 'nothing'}"
        )
    for i, ((path, v), role) in enumerate(zip(flat, roles)):
        if role == "unknown" and geometric:
            raise TypeError(
                f"{owner}: cannot move {type(v).__name__} (a torchvision TVTensor torchaug does not know) with the "
                f"image; transform it separately or drop it from the sample"
            )
    x4, main = xs[0]
    b = x4.shape[0] // main.frames
    for t, info in xs[1:]:
        if t.shape[0] // info.frames != b or t.shape[-2:] != x4.shape[-2:]:
            raise ValueError(
                f"{owner}: every image of a sample is transformed with the same parameters and must have the same "
                f"batch size and height/width; got {describe(main.like)} and {describe(info.like)}"
            )
    spec.single = main.single
    spec.images = [info for _, info in xs]
    batch: Batch = {IMAGE: x4, FRAMES: main.frames, EXTRA: [(t, info.frames) for t, info in xs[1:]],
                    MASK: [], BOXES: [], VALID: [], POINTS: []}
    h, w = x4.shape[-2:]
    dev = x4.device
    # targets: batched leaves, or per-image leaves grouped by their slot in a list of B entries
    groups: dict[tuple, dict[int, int]] = {}
    order: list[tuple] = []
    valid_in: list[tuple[int, Any]] = []
    for i, ((path, v), role) in enumerate(zip(flat, roles)):
        if role not in (MASK, BOXES, POINTS):
            if role == VALID:
                valid_in.append((i, v))
            continue
        slot = None
        if not spec.single and isinstance(v, torch.Tensor) and v.ndim < (4 if role == MASK else 3):
            slot = _per_image_slot(obj, path, b, image_paths)
        if slot is None:
            batched = spec.single or (isinstance(v, torch.Tensor) and (v.ndim >= 3 or b == 1))
            if not batched:
                raise ValueError(
                    f"{owner}: {role} {describe(v)} belongs to no image of the batch of {b}: give a batched tensor "
                    f"or one per image in a list of {b}"
                )
            key: tuple = ("leaf", i)
            groups[key] = {0: i}
            order.append(key)
        else:
            key = (role, slot[0])
            if key not in groups:
                groups[key] = {}
                order.append(key)
            groups[key][slot[1]] = i
    for key in order:
        members = groups[key]
        first = members[min(members)]
        role = roles[first]
        if key[0] == "leaf":
            tgt = _Target(role, [first], False, [spec.leaves[first]])
            t = _batched_target(spec.leaves[first], role, spec, b, (h, w), owner, tgt)
        else:
            if sorted(members) != list(range(b)):
                raise ValueError(f"{owner}: per-image {role} must be given for all {b} images; got images {sorted(members)}")
            idx = [members[j] for j in range(b)]
            tgt = _Target(role, idx, True, [spec.leaves[j] for j in idx])
            t = _stacked_target(tgt, (h, w), owner, dev)
        spec.targets.append(tgt)
        if role == BOXES:
            t, valid = t
            batch[BOXES].append(t.to(dev))
            batch[VALID].append(valid.to(dev))
        else:
            batch[role].append(t.to(dev) if role == POINTS else t)
    if isinstance(obj, dict) and BOXES in obj and IMAGE in obj:
        spec.top_dict_boxes = True
        for i, v in valid_in:
            if isinstance(v, torch.Tensor) and batch[VALID]:
                vv = v.to(dev)
                batch[VALID][0] = batch[VALID][0] & (vv.unsqueeze(0) if vv.ndim == 1 else vv)
    return batch, spec


def _batched_target(v: Any, role: str, spec: Spec, b: int, size: tuple, owner: str, tgt: _Target) -> Any:
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{owner}: {role} must be a tensor, a tv_tensor or a list of one per image; got {describe(v)}")
    if role == MASK:
        tgt.ndim = v.ndim
        t = v.as_subclass(torch.Tensor)
        if spec.single or v.ndim == 2:
            t = t.unsqueeze(0)
        if t.ndim == 3:
            t = t.unsqueeze(1)
        if t.ndim != 4 or t.shape[0] != b or tuple(t.shape[-2:]) != tuple(size):
            raise ValueError(
                f"{owner}: mask must have shape (B, H, W) or (B, K, H, W) matching the images (B={b}, H, W={tuple(size)}); "
                f"got {describe(v)}"
            )
        return t
    last = 4 if role == BOXES else 2
    try:
        t = _to_xyxy(v) if role == BOXES else (v.as_subclass(torch.Tensor).float())
    except ValueError as err:
        raise ValueError(f"{owner}: {err}") from None
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3 or t.shape[0] != b or t.shape[-1] != last:
        what = "xyxy boxes of shape (B, N, 4) (or (N, 4) for one image)" if role == BOXES else "xy keypoints of shape (B, N, 2) (or (N, 2) for one image)"
        raise ValueError(f"{owner}: {role} must be {what}; got {describe(v)} for a batch of {b}")
    check_finite(t, owner=owner, name=role)
    if role == BOXES:
        return t, torch.ones(t.shape[:2], dtype=torch.bool, device=t.device)
    return t


def _stacked_target(tgt: _Target, size: tuple, owner: str, dev: torch.device) -> Any:
    """Per-image leaves -> one padded batch (counts kept to cut them apart again)."""
    role = tgt.role
    parts = []
    for i, v in enumerate(tgt.likes):
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{owner}: {role}[{i}] must be a tensor or a tv_tensor; got {describe(v)}")
        if role == MASK:
            t = v.as_subclass(torch.Tensor)
            t = t.unsqueeze(0) if t.ndim == 2 else t
            if t.ndim != 3 or tuple(t.shape[-2:]) != tuple(size):
                raise ValueError(f"{owner}: mask[{i}] must be (H, W) or (K, H, W) with H, W={tuple(size)}; got {describe(v)}")
        else:
            last = 4 if role == BOXES else 2
            try:
                t = _to_xyxy(v) if role == BOXES else v.as_subclass(torch.Tensor).float()
            except ValueError as err:
                raise ValueError(f"{owner}: {err}") from None
            t = t.reshape(-1, last) if t.numel() == 0 else t
            if t.ndim != 2 or t.shape[-1] != last:
                raise ValueError(f"{owner}: {role}[{i}] must be of shape (N, {last}); got {describe(v)}")
        parts.append(t)
    tgt.counts = [int(t.shape[0]) for t in parts]
    n = max(tgt.counts) if tgt.counts else 0
    b = len(parts)
    if role == MASK:
        out = parts[0].new_zeros((b, n, *size)).to(dev)
    else:
        out = torch.zeros((b, n, parts[0].shape[-1]), dtype=torch.float32, device=dev)
    valid = torch.zeros((b, n), dtype=torch.bool, device=dev)
    for i, t in enumerate(parts):
        out[i, : t.shape[0]] = t.to(device=dev, dtype=out.dtype)
        valid[i, : t.shape[0]] = True
    if role == BOXES:
        check_finite(out, owner=owner, name="boxes")
        return out, valid
    if role == POINTS:
        check_finite(out, owner=owner, name="keypoints")
    return out


def _cast_like(t: torch.Tensor, like: Any) -> torch.Tensor:
    return t.to(like.dtype) if like.is_floating_point() else t.round().to(like.dtype)


def _target_out(t: torch.Tensor, like: Any, role: str, size: tuple, squeeze: bool, mask_ndim: int = 0) -> Any:
    tv = _tv()
    if role == MASK:
        if squeeze:
            t = t[0]
            if like.ndim == 2 or mask_ndim == 2:
                t = t[0]
        elif mask_ndim == 3:
            t = t[:, 0]
        return tv.wrap(t, like=like) if isinstance(like, tv.TVTensor) else t
    if squeeze:
        t = t[0]
    if role == BOXES and isinstance(like, tv.BoundingBoxes):
        fmt = _box_format(like)
        if fmt != "XYXY":
            from torchvision.ops import box_convert

            t = box_convert(t, "xyxy", fmt.lower())
        return tv.wrap(_cast_like(t, like), like=like, canvas_size=tuple(size))
    if role == POINTS and isinstance(like, tv.KeyPoints):
        return tv.wrap(_cast_like(t, like), like=like, canvas_size=tuple(size))
    return _cast_like(t, like)


def _image_out(x: torch.Tensor, info: _Image) -> Any:
    """``(B*T, C, H, W)`` -> the caller's form."""
    if info.clip:
        b = x.shape[0] // info.frames
        x = x.reshape(b, info.frames, *x.shape[1:])
    out = x[0] if info.single else x
    if info.form == "tv":
        return _tv().wrap(out, like=info.like)
    if info.form == "pil":
        return _tensor_to_pil(out, info.like)
    if info.form == "numpy":
        return _tensor_to_numpy(out, info.like)
    if info.form == "pil_list":
        return [_tensor_to_pil(o, like) for o, like in zip(out, info.like)]
    if info.form == "numpy_list":
        return [_tensor_to_numpy(o, like) for o, like in zip(out, info.like)]
    return out


def repack(batch: Batch, spec: Spec) -> Any:
    """Canonical batch -> the caller's structure (see :func:`unpack`)."""
    if spec.kind == "list":
        return _image_out(batch[IMAGE], spec.images[0])
    size = tuple(batch[IMAGE].shape[-2:])
    leaves = list(spec.leaves)
    imgs = [batch[IMAGE]] + [t for t, _ in batch[EXTRA]]
    for t, info in zip(imgs, spec.images):
        leaves[info.index] = _image_out(t, info)
    pos = {MASK: 0, BOXES: 0, POINTS: 0}
    first_valid = None
    for tgt in spec.targets:
        k = pos[tgt.role]
        pos[tgt.role] += 1
        t = batch[tgt.role][k]
        if tgt.role == BOXES and first_valid is None:
            first_valid = (batch[VALID][k], tgt)
        if tgt.per_image:
            for i, (j, like, n) in enumerate(zip(tgt.indices, tgt.likes, tgt.counts)):
                leaves[j] = _target_out(t[i : i + 1, :n], like, tgt.role, size, True, mask_ndim=like.ndim)
        else:
            like = tgt.likes[0]
            squeeze = spec.single or (tgt.role != MASK and like.ndim == 2) or (tgt.role == MASK and tgt.ndim == 2)
            if tgt.role == MASK and spec.single:
                squeeze = True
            leaves[tgt.indices[0]] = _target_out(t, like, tgt.role, size, squeeze, mask_ndim=tgt.ndim)
    out = pytree.tree_unflatten(leaves, spec.treespec)
    if spec.top_dict_boxes and first_valid is not None:
        valid, tgt = first_valid
        if tgt.per_image:
            out[VALID] = [valid[i, :n] for i, n in enumerate(tgt.counts)]
        else:
            squeeze = spec.single or tgt.likes[0].ndim == 2
            out[VALID] = valid[0] if squeeze else valid
    return out


def has_targets(batch: Batch) -> bool:
    """Whether a canonical batch holds anything besides one plain image batch."""
    return bool(batch.get(EXTRA) or batch.get(FRAMES, 1) != 1 or any(batch.get(k) for k in (MASK, BOXES, POINTS)))


def empty_batch(x4: torch.Tensor) -> Batch:
    return {IMAGE: x4, FRAMES: 1, EXTRA: [], MASK: [], BOXES: [], VALID: [], POINTS: []}


def run_with_targets(transform: Any, inputs: tuple, *, owner: str, generator: Any, params: Any, region: Any,
                     return_params: bool, per_frame: bool = False) -> Any:
    """Shared tail of ``forward`` for inputs other than one plain image tensor.

    Unpacks them into a canonical batch, runs ``transform._run`` and packs the result like the input.
    """
    if not inputs:
        raise TypeError(f"{owner}: x must be an image tensor (B, C, H, W) or (C, H, W); got nothing")
    geometric = getattr(transform, "moves_pixels", getattr(transform, "geometric", True))
    batch, spec = unpack(inputs, owner, geometric=bool(geometric), uint16=bool(getattr(transform, "supports_uint16", False)))
    check_generator(generator, batch[IMAGE].device, owner=owner)
    if not isinstance(per_frame, bool):
        raise TypeError(f"{owner}: per_frame must be a bool; got {describe(per_frame)}")
    if per_frame:
        if geometric and any(batch[k] for k in (MASK, BOXES, POINTS)):
            raise TypeError(
                f"{owner}: per_frame=True would move each frame differently, but the masks/boxes/keypoints are per "
                f"clip; draw per clip (the default) or transform the frames as separate samples"
            )
        if any(te != batch[FRAMES] for _, te in batch[EXTRA]):
            raise ValueError(f"{owner}: per_frame=True needs every clip of the sample to have the same number of frames")
        batch[FRAMES] = 1
        batch[EXTRA] = [(t, 1) for t, _ in batch[EXTRA]]
    if hasattr(transform, "_check_sample"):
        transform._check_sample(batch)
    batch, params = transform._run(batch, generator, params, region=region, single=spec.single)
    out = repack(batch, spec)
    return (out, params) if return_params else out
