"""Input checks shared by every public augmenter.

Messages follow one shape: ``Owner: <argument> must be <expected>; got <actual>``.

Shape and dtype checks are free and always run. *Value* checks (NaN/inf, floats outside
[0, 1], label ranges) need to read the data; on a CUDA tensor that would force a host-device
sync, so by default they run only for CPU tensors. ``set_value_checks("always")`` enables them
everywhere (debugging), together with the scans that are off by default because the data they
guard is handled correctly without them (the mixers' NaN/inf scan of the pixels);
``set_value_checks("never")`` disables them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, Iterator

import torch

from torchaug._devpath import cpu_path

_VALUE_CHECK_MODES = ("cpu", "always", "never")
_value_checks = "cpu"


def set_value_checks(mode: str) -> None:
    """Set when value checks run: ``"cpu"`` (default), ``"always"`` or ``"never"``."""
    global _value_checks
    if mode not in _VALUE_CHECK_MODES:
        raise ValueError(f"set_value_checks: mode must be one of {_VALUE_CHECK_MODES}; got {mode!r}")
    _value_checks = mode


@contextmanager
def value_checks(mode: str) -> Iterator[None]:
    """Context manager form of :func:`set_value_checks`."""
    previous = _value_checks
    set_value_checks(mode)
    try:
        yield
    finally:
        set_value_checks(previous)


def debug_checks_enabled() -> bool:
    """Whether ``set_value_checks("always")`` is on: then also the scans skipped by default for
    their cost (the mixers' NaN/inf scan of the pixels) run."""
    return _value_checks == "always"


def value_checks_enabled(t: torch.Tensor) -> bool:
    """Whether value checks should read ``t`` (never forces a sync in the default mode)."""
    if _value_checks == "never":
        return False
    return _value_checks == "always" or cpu_path(t)


def describe(t: Any) -> str:
    """Short description of a value for error messages: dtype and shape for tensors."""
    if isinstance(t, torch.Tensor):
        return f"{str(t.dtype).replace('torch.', '')} tensor of shape {tuple(t.shape)}"
    if hasattr(t, "dtype") and hasattr(t, "shape"):
        return f"{type(t).__name__} {t.dtype} of shape {tuple(t.shape)}"
    return f"{type(t).__name__} {t!r}" if not isinstance(t, (list, tuple, dict)) else type(t).__name__


def check_tensor(t: Any, *, owner: str, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{owner}: {name} must be a torch.Tensor; got {describe(t)}")
    return t


def check_images(
    x: Any,
    *,
    owner: str,
    name: str = "x",
    allow_single: bool = True,
    allow_empty: bool = False,
    unit_range: bool = True,
    allow_uint16: bool = False,
) -> tuple[torch.Tensor, bool]:
    """Validate an image batch and return it as ``(B, C, H, W)`` plus whether it was one image.

    Accepts ``(B, C, H, W)`` or (if ``allow_single``) ``(C, H, W)``; dtype ``uint8`` or floating.
    With ``unit_range`` floating images must be finite and in ``[0, 1]`` (a value check, see
    module docstring); callers whose maths is right for any values (the mixers' convex
    combinations and copies) pass False and skip that pass over the data.
    """
    check_tensor(x, owner=owner, name=name)
    expected = "(B, C, H, W)" + (" or (C, H, W)" if allow_single else "")
    if x.ndim == 3 and allow_single:
        single = True
        x = x.unsqueeze(0)
    elif x.ndim == 4:
        single = False
    else:
        raise ValueError(f"{owner}: {name} must be an image tensor of shape {expected}; got {describe(x)}")
    if x.dtype == torch.uint16 and not allow_uint16:
        raise TypeError(
            f"{owner}: {name} is uint16, which {owner} does not support (its maths is defined here for uint8 in "
            f"[0, 255] and floating images in [0, 1]); convert with x.float() / 65535; got {describe(x)}"
        )
    if x.dtype not in (torch.uint8, torch.uint16) and not x.is_floating_point():
        raise TypeError(f"{owner}: {name} must be uint8 in [0, 255] or floating in [0, 1]; got {describe(x)}")
    if x.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{owner}: {name} must hold at least one image; got an empty batch {describe(x)}")
    if x.shape[-1] == 0 or x.shape[-2] == 0 or x.shape[-3] == 0:
        raise ValueError(f"{owner}: {name} must have non-zero channels, height and width; got {describe(x)}")
    if unit_range and x.is_floating_point() and x.numel() and value_checks_enabled(x) and not _in_unit_range_bits(x):
        # the slow, exact pass only to report (or to accept -0.0)
        lo, hi = _finite_extremes(x, owner=owner, name=name)
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{owner}: floating {name} must lie in [0, 1]; got values in [{lo:.4g}, {hi:.4g}] "
                f"(normalise after augmentation, or pass uint8)"
            )
    return x, single


def _finite_extremes(t: torch.Tensor, *, owner: str, name: str) -> tuple[float, float]:
    """``(min, max)`` of a floating tensor, raising if it holds NaN or inf (they reach the extremes)."""
    lo, hi = (float(v) for v in torch.aminmax(t))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{owner}: {name} contains NaN or inf values ({describe(t)})")
    return lo, hi


#: floating dtype -> (integer dtype of the same width, bit pattern of 1.0)
_UNIT_BITS = {
    torch.float32: (torch.int32, 0x3F800000),
    torch.float64: (torch.int64, 0x3FF0000000000000),
    torch.float16: (torch.int16, 0x3C00),
    torch.bfloat16: (torch.int16, 0x3F80),
}


def _in_unit_range_bits(x: torch.Tensor) -> bool:
    """Whether every value is finite and in [0, 1], read from the bit patterns (one integer pass).

    Non-negative IEEE floats order like their bit patterns read as signed integers, with +inf
    and NaN above 1.0; every negative value (and -0.0, NaN with the sign bit) reads negative.
    An integer min/max is twice as fast as the float one, which has to propagate NaN (at
    256x3x32x32 float32 on one core: 0.08 ms vs 0.15 ms, as long as MixUp's own arithmetic).
    ``False`` sends the caller to the exact float check, which reports the values or accepts -0.0.
    """
    spec = _UNIT_BITS.get(x.dtype)
    if spec is None:
        return False
    lo, hi = torch.aminmax(x.view(spec[0]))
    return int(lo) >= 0 and int(hi) <= spec[1]


def check_finite(t: torch.Tensor, *, owner: str, name: str) -> None:
    """Raise if a floating tensor holds NaN/inf (value check)."""
    if t.is_floating_point() and t.numel() and value_checks_enabled(t) and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{owner}: {name} contains NaN or inf values ({describe(t)})")


def check_soft_targets(y: torch.Tensor, *, owner: str, name: str = "y") -> None:
    """Soft targets ``(B, K)`` must be finite, in [0, 1], with rows summing to 1 (a value check).

    Un-normalised rows would otherwise flow silently into mixed targets and the loss. The row-sum
    tolerance is 1e-4 (2e-2 for 16-bit floats).
    """
    if not (y.numel() and value_checks_enabled(y)):
        return
    lo, hi = _finite_extremes(y, owner=owner, name=name)
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{owner}: soft targets {name} must lie in [0, 1]; got values in [{lo:.4g}, {hi:.4g}]")
    err = float((y.sum(1, dtype=torch.float32) - 1.0).abs().max())
    if err > (2e-2 if y.element_size() < 4 else 1e-4):
        raise ValueError(f"{owner}: soft targets {name} must have rows summing to 1; got a row off by {err:.4g}")


def check_labels(
    y: Any, *, owner: str, num_classes: int, batch_size: int | None = None, name: str = "y"
) -> torch.Tensor:
    """Validate int64 class indices ``(B,)`` or soft targets ``(B, K)``; return ``y`` unchanged."""

    def expected() -> str:
        return f"int64 class indices in [0, num_classes={num_classes}) of shape (B,) or (B, {num_classes}) soft targets"

    check_tensor(y, owner=owner, name=name)
    if y.ndim == 1:
        if y.dtype != torch.int64:
            raise TypeError(f"{owner}: {name} must be {expected()}; got {describe(y)}")
        if y.numel() and value_checks_enabled(y):
            lo, hi = (int(v) for v in torch.aminmax(y))
            if lo < 0 or hi >= num_classes:
                raise ValueError(f"{owner}: {name} must be {expected()}; got labels in [{lo}, {hi}]")
    elif y.ndim == 2:
        if not y.is_floating_point() or y.shape[1] != num_classes:
            raise ValueError(f"{owner}: {name} must be {expected()}; got {describe(y)}")
        check_soft_targets(y, owner=owner, name=name)
    else:
        raise ValueError(f"{owner}: {name} must be {expected()}; got {describe(y)}")
    if batch_size is not None and y.shape[0] != batch_size:
        raise ValueError(f"{owner}: {name} must have one row per sample (batch size {batch_size}); got {describe(y)}")
    return y


def check_mix_params(params: dict[str, Any], *, batch: int, owner: str) -> None:
    """Replayed mixer parameters (``Mixer(..., params=...)``), after the defaults are filled in.

    ``perm`` int64 ``(B,)`` with indices in ``[0, B)``; ``lam`` and ``image_lam`` floating ``(B,)``
    in ``[0, 1]``; ``box`` int64 ``(B, 4)``; ``mixed`` bool ``(B,)``. Shapes and dtypes always;
    the ranges are value checks (CPU only by default, see the module docstring).
    """
    spec = {"perm": ("int64", (batch,)), "lam": ("floating", (batch,)), "image_lam": ("floating", (batch,)),
            "box": ("int64", (batch, 4)), "mixed": ("bool", (batch,))}
    for key, (kind, shape) in spec.items():
        v = params.get(key)
        if v is None:
            continue
        if not isinstance(v, torch.Tensor):
            ok = False
        else:
            ok = v.is_floating_point() if kind == "floating" else v.dtype == getattr(torch, kind)
        if not ok or tuple(v.shape) != shape:
            raise ValueError(f"{owner}: params[{key!r}] must be a tensor of dtype {kind} and shape {shape}; got {describe(v)}")
        if not (v.numel() and value_checks_enabled(v)) or kind == "bool":
            continue
        lo, hi = (float(t) for t in torch.aminmax(v))
        top = batch - 1 if key == "perm" else 1.0
        if not (math.isfinite(lo) and math.isfinite(hi)) or (key != "box" and (lo < 0 or hi > top)):
            rng = f"[0, {batch})" if key == "perm" else "[0, 1]"
            raise ValueError(f"{owner}: params[{key!r}] must hold values in {rng}; got values in [{lo:.4g}, {hi:.4g}]")


def check_probability(p: Any, *, owner: str, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{owner}: {name} must be a probability (float in [0, 1]); got {describe(p)}")
    if not 0.0 <= float(p) <= 1.0 or math.isnan(p):
        raise ValueError(f"{owner}: {name} must be a probability in [0, 1]; got {p!r}")
    return float(p)


def check_number(
    v: Any,
    *,
    owner: str,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
) -> float | int:
    """Validate a scalar hyper-parameter against an (optionally open) interval."""
    kind = "an integer" if integer else "a number"
    ok_type = (int,) if integer else (int, float)
    if isinstance(v, bool) or not isinstance(v, ok_type):
        raise TypeError(f"{owner}: {name} must be {kind}; got {describe(v)}")
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"{owner}: {name} must be finite; got {v!r}")
    lo_bad = low is not None and (v < low if low_inclusive else v <= low)
    hi_bad = high is not None and (v > high if high_inclusive else v >= high)
    if lo_bad or hi_bad:
        lb = "[" if low_inclusive else "("
        hb = "]" if high_inclusive else ")"
        rng = f"{lb}{'-inf' if low is None else low}, {'inf' if high is None else high}{hb}"
        raise ValueError(f"{owner}: {name} must be in {rng}; got {v!r}")
    return v


def check_bool(v: Any, *, owner: str, name: str) -> bool:
    """A flag must be a real ``bool`` (``"yes"`` or ``1`` are refused, not silently truthy)."""
    if not isinstance(v, bool):
        raise TypeError(f"{owner}: {name} must be a bool; got {describe(v)}")
    return v


def check_choice(v: Any, choices: Sequence[Any], *, owner: str, name: str) -> Any:
    if v not in choices:
        raise ValueError(f"{owner}: {name} must be one of {list(choices)}; got {v!r}")
    return v


def check_generator(generator: Any, device: torch.device, *, owner: str) -> None:
    """A generator must be a ``torch.Generator`` on the data's device type (or None)."""
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{owner}: generator must be a torch.Generator or None; got {describe(generator)}")
    if generator.device.type != device.type:
        raise ValueError(
            f"{owner}: generator must live on the data's device type '{device.type}'; "
            f"got a generator on '{generator.device.type}'"
        )
