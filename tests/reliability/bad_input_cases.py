"""The case table of the registry-driven bad-input sweep (``test_bad_inputs.py``).

Two tables:

- ``INPUT_CASES[kind]``: bad (and awkward but valid) *call* inputs that apply to every registered
  entry of a kind, each run on a fresh ``entry.example()``.
- ``CTOR_CASES[class name]``: bad constructor arguments, ``(kwargs, exception, argument name)``,
  merged over ``BASE_KWARGS[class name]`` (the required arguments). The object is then used once
  on valid data (:func:`first_call`): some settings can only be checked against the data (a
  geometric ``fill`` is in the image's scale) and resamplers check their hyper-parameters in
  ``fit_resample`` as scikit-learn does, so the error may come at construction or at that call.

Every case declares how it ends: ``WORKS`` (and the test checks the result: equal to the
contiguous/reference result, dtype/shape kept, finite, in range) or an exception class whose
message must name the argument and the class. Never a RuntimeError/IndexError from torch
internals, never a silent wrong result.

``python tests/reliability/bad_input_cases.py`` prints how many cases each kind has and how they
end (the table in ``docs/reliability_inputs.md``).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from torchaug import value_checks

WORKS = "works"

# -- small data ------------------------------------------------------------------------------------

H = W = 16  # the registry examples are built for 16x16 images (CenterCrop(12), RandomCrop(12))
K = 10  # num_classes of the mixer examples


def images(b: int = 2, dtype: torch.dtype = torch.float32, c: int = 3, h: int = H, w: int = W, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else (x.to(torch.float32) / 255).to(dtype)


def gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def labels(b: int = 4) -> torch.Tensor:
    return torch.arange(b) % K


def _with(x: torch.Tensor, value: float) -> torch.Tensor:
    x = x.clone()
    x[0, 0, 0, 0] = value
    return x


def _strided(x: torch.Tensor) -> torch.Tensor:
    """A non-contiguous view equal to ``x`` (every other column of a wider tensor)."""
    wide = torch.zeros(*x.shape[:-1], 2 * x.shape[-1], dtype=x.dtype)
    wide[..., ::2] = x
    view = wide[..., ::2]
    assert not view.is_contiguous()
    return view


def _transposed(x: torch.Tensor) -> torch.Tensor:
    """A non-contiguous view equal to ``x`` (transpose of a transposed copy)."""
    view = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    assert not view.is_contiguous() and torch.equal(view, x)
    return view


def _cl(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


# -- cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input. ``run(obj)`` calls the entry's example ``obj``.

    ``expect`` is ``WORKS`` or the exception class; ``arg`` is the argument the message names.
    For ``WORKS``: ``same_as(obj2)`` (a fresh example) gives the reference result the output must
    equal (integers exactly, floats within ``tol``: another memory layout may change the order of a
    float reduction), and ``check(result, obj)`` asserts anything else (dtype kept, finite, in range).
    ``needs_cuda``: the case moves something to a GPU (skipped without one).
    """

    id: str
    run: Callable[[Any], Any]
    expect: Any
    arg: str | None = None
    same_as: Callable[[Any], Any] | None = None
    check: Callable[[Any, Any], None] | None = None
    needs_cuda: bool = False
    tol: float = 1e-6
    owner: str | None = None  # the class the message must name, if not the entry (a container's child)


def _ending(expect: Any) -> str:
    return expect if expect == WORKS else expect.__name__


# ---- transforms: t(x, generator=...) -------------------------------------------------------------


def _t(x: Any, **kw: Any) -> Callable[[Any], Any]:
    def run(t: Any) -> Any:
        return t(x() if callable(x) else x, **{"generator": gen(), **kw})

    return run


def _image_ok(dtype: torch.dtype, c: int = 3, b: int | None = 2) -> Callable[[torch.Tensor, Any], None]:
    """Output is an image batch with the input's dtype and channels, finite and in range.

    A transform that ends the uint8 stage (``float_output``, e.g. Normalize) returns float32 for
    uint8 input and values outside [0, 1]: then only finiteness is checked.
    """

    def check(out: torch.Tensor, obj: Any = None) -> None:
        assert isinstance(out, torch.Tensor)
        if getattr(obj, "float_output", False):
            assert out.dtype == (torch.float32 if dtype == torch.uint8 else dtype), out.dtype
            assert torch.isfinite(out.float()).all()
            return
        assert out.dtype == dtype, out.dtype
        if b is not None:
            assert out.shape[0] == b
        assert out.shape[-3] == c
        if dtype.is_floating_point:
            o = out.float()
            assert torch.isfinite(o).all()
            assert o.min() >= 0 and o.max() <= 1 + 1e-3, (float(o.min()), float(o.max()))

    return check


def _channels_last_kept(out: torch.Tensor, obj: Any = None) -> None:
    assert out.is_contiguous(memory_format=torch.channels_last), "channels_last input gave a different memory format"


def _on_meta(t: Any) -> Any:
    """The module moved to another device (``meta``: testable without a GPU), the images left on the CPU."""
    return t.to("meta")(images(), generator=gen())


def _on_cpu(out: Any, obj: Any = None) -> None:
    assert out.device.type == "cpu"


def _other_batch_params(t: Any) -> Any:
    """Replay the parameters drawn for a batch of 3 on a batch of 2."""
    _, params = t(images(b=3), generator=gen(), return_params=True)
    return t(images(b=2), params=params)


TRANSFORM_CASES: list[Case] = [
    Case("rank2", _t(lambda: torch.rand(H, W)), ValueError, "x"),
    # (B, T, C, H, W) is a batch of video clips (issue 18); one more dimension is no image
    Case("rank6", _t(lambda: torch.rand(1, 1, 2, 3, H, W)), ValueError, "x"),
    Case("int64_image", _t(lambda: images().mul(255).long()), TypeError, "x"),
    Case("int32_image", _t(lambda: images().mul(255).int()), TypeError, "x"),
    Case("bool_image", _t(lambda: images() > 0.5), TypeError, "x"),
    Case("complex_image", _t(lambda: images().to(torch.complex64)), TypeError, "x"),
    Case("list_input", _t(lambda: images().tolist()), TypeError, "x"),
    Case("numpy_input", _t(lambda: images().numpy()), TypeError, "x"),
    Case("empty_batch", _t(lambda: images(b=0)), ValueError, "x"),
    Case("zero_width", _t(lambda: torch.rand(2, 3, H, 0)), ValueError, "x"),
    Case("nan_pixel", _t(lambda: _with(images(), float("nan"))), ValueError, "x"),
    Case("inf_pixel", _t(lambda: _with(images(), float("inf"))), ValueError, "x"),
    Case("float_above_1", _t(lambda: _with(images(), 1.5)), ValueError, "x"),
    Case("float_below_0", _t(lambda: _with(images(), -0.5)), ValueError, "x"),
    Case("generator_not_a_generator", _t(images, generator=123), TypeError, "generator"),
    Case("region_wrong_shape", _t(images, region=torch.ones(2, H + 1, W, dtype=torch.bool)), ValueError, "region"),
    Case("params_not_a_dict", _t(images, params="abc"), TypeError, "params"),
    Case("params_wrong_keys", _t(images, params={"nosuch": torch.zeros(2)}), ValueError, "params"),
    Case("params_other_batch", _other_batch_params, ValueError, "params"),
    Case("target_dict_without_image", _t({"mask": torch.zeros(2, H, W)}), ValueError, "image"),
    Case("target_mask_wrong_size", _t(lambda: {"image": images(), "mask": torch.zeros(2, H - 1, W)}), ValueError, "mask"),
    Case("target_boxes_wrong_shape", _t(lambda: {"image": images(), "boxes": torch.zeros(2, 3, 3)}), ValueError, "boxes"),
    Case("target_boxes_nan", _t(lambda: {"image": images(), "boxes": torch.full((2, 1, 4), float("nan"))}),
         ValueError, "boxes"),
    Case("target_keypoints_wrong_shape", _t(lambda: {"image": images(), "keypoints": torch.zeros(2, 3, 3)}),
         ValueError, "keypoints"),
    Case("uint8", _t(lambda: images(dtype=torch.uint8)), WORKS, check=_image_ok(torch.uint8)),
    Case("float64", _t(lambda: images(dtype=torch.float64)), WORKS, check=_image_ok(torch.float64)),
    Case("float16", _t(lambda: images(dtype=torch.float16)), WORKS, check=_image_ok(torch.float16)),
    Case("bfloat16", _t(lambda: images(dtype=torch.bfloat16)), WORKS, check=_image_ok(torch.bfloat16)),
    Case("batch_of_one", _t(lambda: images(b=1)), WORKS, check=_image_ok(torch.float32, b=1)),
    Case("single_image", _t(lambda: images(b=1)[0]), WORKS, same_as=lambda t: _t(lambda: images(b=1))(t)[0]),
    Case("non_contiguous_strided", _t(lambda: _strided(images())), WORKS, same_as=_t(images)),
    Case("non_contiguous_transposed", _t(lambda: _transposed(images())), WORKS, same_as=_t(images)),
    Case("channels_last", _t(lambda: _cl(images())), WORKS, same_as=_t(images), check=_channels_last_kept),
    Case("channels_last_uint8", _t(lambda: _cl(images(dtype=torch.uint8))), WORKS,
         same_as=_t(lambda: images(dtype=torch.uint8)), check=_channels_last_kept),
    Case("grey_image", _t(lambda: images(c=1)), WORKS, check=_image_ok(torch.float32, c=1)),
    # modules without buffers work wherever the data is; one with buffers (StyleAugment) must refuse
    Case("module_on_other_device", _on_meta, WORKS, same_as=_t(images), check=_on_cpu),
]


# ---- mixers: m(x, y, generator=...) --------------------------------------------------------------


def _m(x: Any = None, y: Any = None, **kw: Any) -> Callable[[Any], Any]:
    def run(m: Any) -> Any:
        xx = images(b=4) if x is None else (x() if callable(x) else x)
        yy = labels(4) if y is None else (y() if callable(y) else y)
        return m(xx, yy, **{"generator": gen(), **kw})

    return run


def _always(run: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``run`` under ``set_value_checks("always")``."""

    def wrapped(m: Any) -> Any:
        with value_checks("always"):
            return run(m)

    return wrapped


def _mixed_ok(dtype: torch.dtype, b: int = 4) -> Callable[[Any, Any], None]:
    def check(out: Any, obj: Any = None) -> None:
        xm, ym = out[0].cpu(), out[1].cpu()
        _image_ok(dtype, b=b)(xm)
        assert ym.shape == (b, K) and ym.dtype == torch.float32
        torch.testing.assert_close(ym.sum(1), torch.ones(b))
        assert ym.min() >= 0 and ym.max() <= 1 + 1e-6

    return check


def _identity_of_one(out: Any, obj: Any = None) -> None:
    xm, ym = out
    torch.testing.assert_close(xm, images(b=1), rtol=0, atol=0)
    torch.testing.assert_close(ym, nn.functional.one_hot(labels(1), K).float())


def _soft() -> torch.Tensor:
    return nn.functional.one_hot(labels(4), K).float() * 0.8 + 0.02



def _m_replay(**changes: torch.Tensor) -> Callable[[Any], Any]:
    """Replay the parameters a first call drew, with ``changes``."""

    def run(m: Any) -> Any:
        x, y = images(b=4), labels(4)
        _, _, params = m(x, y, generator=gen(), return_params=True)
        return m(x, y, params={**params, **changes})

    return run


def _mixer_cuda(m: Any) -> Any:
    m = m.to("cuda")
    return m(images(b=4).cuda(), labels(4), generator=torch.Generator("cuda").manual_seed(1))


MIXER_CASES: list[Case] = [
    Case("x_single_image", _m(x=lambda: images(b=1)[0], y=lambda: labels(1)), ValueError, "x"),
    Case("x_rank5", _m(x=lambda: images(b=4)[None]), ValueError, "x"),
    Case("x_int64", _m(x=lambda: images(b=4).mul(255).long()), TypeError, "x"),
    Case("x_bool", _m(x=lambda: images(b=4) > 0.5), TypeError, "x"),
    Case("x_complex", _m(x=lambda: images(b=4).to(torch.complex64)), TypeError, "x"),
    Case("x_list", _m(x=lambda: images(b=4).tolist()), TypeError, "x"),
    Case("x_empty_batch", _m(x=lambda: images(b=0), y=lambda: labels(0)), ValueError, "x"),
    # pixels are mixed correctly whatever their range (normalised batches); NaN/inf are looked
    # for under set_value_checks("always"), since the scan costs as much as the mixing
    Case("x_nan", _always(_m(x=lambda: _with(images(b=4), float("nan")))), ValueError, "x"),
    Case("x_inf", _always(_m(x=lambda: _with(images(b=4), float("-inf")))), ValueError, "x"),
    Case("x_above_1", _m(x=lambda: _with(images(b=4), 2.0)), WORKS),
    Case("y_float_indices", _m(y=lambda: labels(4).float()), TypeError, "y"),
    Case("y_int32", _m(y=lambda: labels(4).int()), TypeError, "y"),
    Case("y_bool", _m(y=lambda: labels(4) > 2), TypeError, "y"),
    Case("y_list", _m(y=lambda: labels(4).tolist()), TypeError, "y"),
    Case("y_out_of_range", _m(y=lambda: torch.full((4,), K)), ValueError, "y"),
    Case("y_negative", _m(y=lambda: torch.full((4,), -1)), ValueError, "y"),
    Case("y_too_short", _m(y=lambda: labels(3)), ValueError, "y"),
    Case("y_too_long", _m(y=lambda: labels(5)), ValueError, "y"),
    Case("y_rank3", _m(y=lambda: _soft()[:, None]), ValueError, "y"),
    Case("y_soft_wrong_classes", _m(y=lambda: _soft()[:, :-1]), ValueError, "y"),
    Case("y_soft_int", _m(y=lambda: nn.functional.one_hot(labels(4), K)), ValueError, "y"),
    Case("y_soft_nan", _m(y=lambda: _with(_soft()[None, None], float("nan"))[0, 0]), ValueError, "y"),
    Case("y_soft_rows_not_summing_to_1", _m(y=lambda: _soft() * 2), ValueError, "y"),
    Case("y_soft_negative", _m(y=lambda: _soft() - 0.05), ValueError, "y"),
    Case("generator_not_a_generator", _m(generator="seed"), TypeError, "generator"),
    Case("params_not_a_dict", _m(params=[1, 2]), TypeError, "params"),
    Case("params_wrong_batch", _m(params={"perm": torch.arange(3), "lam": torch.ones(3)}), ValueError, "params"),
    Case("params_perm_out_of_range", _m_replay(perm=torch.arange(4) + 4), ValueError, "perm"),
    Case("params_lam_nan", _m_replay(lam=torch.full((4,), float("nan"))), ValueError, "lam"),
    Case("params_lam_above_1", _m_replay(lam=torch.full((4,), 2.0)), ValueError, "lam"),
    Case("params_box_wrong_shape", _m_replay(box=torch.zeros(4, 3, dtype=torch.long)), ValueError, "box"),
    Case("params_image_lam_wrong_shape", _m_replay(image_lam=torch.ones(3)), ValueError, "image_lam"),
    Case("params_replayed", _m_replay(), WORKS, same_as=_m(), check=_mixed_ok(torch.float32)),
    Case("uint8", _m(x=lambda: images(b=4, dtype=torch.uint8)), WORKS, check=_mixed_ok(torch.uint8)),
    Case("float64", _m(x=lambda: images(b=4, dtype=torch.float64)), WORKS, check=_mixed_ok(torch.float64)),
    Case("float16", _m(x=lambda: images(b=4, dtype=torch.float16)), WORKS, check=_mixed_ok(torch.float16)),
    Case("bfloat16", _m(x=lambda: images(b=4, dtype=torch.bfloat16)), WORKS, check=_mixed_ok(torch.bfloat16)),
    Case("y_soft", _m(y=_soft), WORKS, check=_mixed_ok(torch.float32)),
    Case("y_non_contiguous", _m(y=lambda: labels(8)[::2]), WORKS, same_as=_m(y=lambda: labels(8)[::2].clone())),
    Case("batch_of_one", _m(x=lambda: images(b=1), y=lambda: labels(1)), WORKS, check=_identity_of_one),
    Case("non_contiguous_strided", _m(x=lambda: _strided(images(b=4))), WORKS, same_as=_m()),
    Case("non_contiguous_transposed", _m(x=lambda: _transposed(images(b=4))), WORKS, same_as=_m()),
    Case("channels_last", _m(x=lambda: _cl(images(b=4))), WORKS, same_as=_m(),
         check=lambda out, obj: _channels_last_kept(out[0])),
    Case("channels_last_uint8", _m(x=lambda: _cl(images(b=4, dtype=torch.uint8))), WORKS,
         same_as=_m(x=lambda: images(b=4, dtype=torch.uint8)), check=lambda out, obj: _channels_last_kept(out[0])),
    Case("labels_on_other_device", _mixer_cuda, WORKS, check=_mixed_ok(torch.float32), needs_cuda=True),
]


# ---- hooks: (model, hook) = example(); model.train(); model(x); hook.mix_targets(y) ----------------


def _h(x: Any = None, y: Any = None, *, before: Callable[[Any], None] | None = None, seed: int = 0) -> Callable[[Any], Any]:
    def run(pair: Any) -> Any:
        model, hook = pair
        model.train()
        if before is not None:
            before(hook)
        xx = images(b=4) if x is None else x()
        torch.manual_seed(seed)
        out = model(xx)
        yy = nn.functional.one_hot(labels(xx.shape[0]), K).float() if y is None else y()
        return out, hook.mix_targets(yy)

    return run


def _hook_ok(b: int = 4) -> Callable[[Any, Any], None]:
    def check(res: Any, obj: Any = None) -> None:
        out, ym = res
        assert out.shape[0] == b and torch.isfinite(out.float()).all()
        assert ym.shape == (b, K)
        torch.testing.assert_close(ym.sum(1), torch.ones(b))

    return check


def _set_perm(perm: Any) -> Callable[[Any], None]:
    return lambda hook: hook.set_next_perm(perm)


def _set_generator(g: Any) -> Callable[[Any], None]:
    def before(hook: Any) -> None:
        hook.generator = g

    return before


def _bf16(pair: Any) -> Any:
    model, hook = pair
    model.to(torch.bfloat16).train()
    out = model(images(b=4, dtype=torch.bfloat16))
    return out, hook.mix_targets(nn.functional.one_hot(labels(4), K).float())


HOOK_CASES: list[Case] = [
    Case("targets_float_indices", _h(y=lambda: labels(4).float()), ValueError, "y"),
    Case("targets_list", _h(y=lambda: labels(4).tolist()), TypeError, "y"),
    Case("targets_wrong_batch", _h(y=lambda: nn.functional.one_hot(labels(3), K).float()), ValueError, "y"),
    Case("targets_rank3", _h(y=lambda: torch.ones(4, K, 1) / K), ValueError, "y"),
    Case("targets_soft_nan", _h(y=lambda: torch.full((4, K), float("nan"))), ValueError, "y"),
    Case("perm_float", _h(before=_set_perm(torch.arange(4.0))), TypeError, "perm"),
    Case("perm_wrong_length", _h(before=_set_perm(torch.arange(3))), ValueError, "perm"),
    Case("perm_out_of_range", _h(before=_set_perm(torch.arange(4) + 4)), ValueError, "perm"),
    Case("generator_not_a_generator", _h(before=_set_generator(5)), TypeError, "generator"),
    Case("bfloat16_model", _bf16, WORKS, check=_hook_ok()),
    Case("batch_of_one", _h(x=lambda: images(b=1)), WORKS, check=_hook_ok(1)),
    Case("non_contiguous_strided", _h(x=lambda: _strided(images(b=4))), WORKS, same_as=_h()),
    # a channels_last convolution sums in another order: equal up to float rounding
    Case("channels_last", _h(x=lambda: _cl(images(b=4))), WORKS, same_as=_h(), tol=1e-5),
]


# ---- resamplers: s.fit_resample(X, y) -------------------------------------------------------------


def _tab(n0: int = 30, n1: int = 10, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0, 1, (n0, d)), rng.normal(2, 1, (n1, d))]).astype(np.float32)
    y = np.array([0] * n0 + [1] * n1)
    return X, y


def _r(X: Callable[[], Any] | None = None, y: Callable[[], Any] | None = None) -> Callable[[Any], Any]:
    def run(s: Any) -> Any:
        X0, y0 = _tab()
        return s.fit_resample(X0 if X is None else X(), y0 if y is None else y())

    return run


def _nan_X() -> np.ndarray:
    X = _tab()[0]
    X[3, 1] = np.nan
    return X


def _inf_X() -> np.ndarray:
    X = _tab()[0]
    X[3, 1] = np.inf
    return X


def _resampled_ok(torch_out: bool = False) -> Callable[[Any, Any], None]:
    def check(res: Any, obj: Any = None) -> None:
        Xr, yr = res
        X0, y0 = _tab()
        if torch_out:
            assert isinstance(Xr, torch.Tensor) and isinstance(yr, torch.Tensor)
            Xr, yr = Xr.numpy(), yr.numpy()
        if getattr(obj, "_sampling_type", "over-sampling") != "over-sampling":  # under-samplers, cleaners
            assert len(Xr) == len(yr) <= len(X0) and np.isfinite(Xr).all() and set(np.unique(yr)) == {0, 1}
            if hasattr(obj, "sample_indices_"):
                np.testing.assert_allclose(Xr, X0[np.asarray(obj.sample_indices_)])
            return
        if hasattr(obj, "smote_"):  # SMOTE + cleaning: the cleaner's output
            assert len(Xr) == len(yr) and np.isfinite(Xr).all() and set(np.unique(yr)) == {0, 1}
            return
        assert len(Xr) == len(yr) > len(X0) and np.isfinite(Xr).all()
        np.testing.assert_allclose(Xr[: len(X0)], X0)
        counts = np.bincount(yr.astype(np.int64))
        assert counts[0] == 30 and 10 < counts[1] <= 40, counts  # ADASYN balances only approximately

    return check


def _column_ok(res: Any, obj: Any = None) -> None:
    assert res[1].shape[1:] == (1,), res[1].shape  # an (n, 1) column back
    _resampled_ok()((res[0], res[1].reshape(-1)), obj)


def _lists_ok(res: Any, obj: Any = None) -> None:
    assert isinstance(res[0], list) and isinstance(res[1], list)
    _resampled_ok()((np.asarray(res[0]), np.asarray(res[1])), obj)


def _rows_copied(res: Any, obj: Any = None) -> None:
    """Original rows first, the classes balanced, every new row equal to an input row of its class."""
    Xr, yr = (t.numpy() if isinstance(t, torch.Tensor) else np.asarray(t) for t in res)
    assert np.bincount(yr.astype(np.int64)).tolist() == [30, 30] and Xr.shape[0] == 60
    assert Xr.shape[1] == 3
def _two_classes_left(res: Any) -> None:
    Xr, yr = res
    assert len(Xr) == len(yr) and np.isfinite(Xr).all() and set(np.unique(yr)) == {0, 1}


RESAMPLER_CASES: list[Case] = [
    Case("X_1d", _r(X=lambda: _tab()[0][:, 0]), ValueError, "X"),
    Case("X_3d", _r(X=lambda: _tab()[0][:, :, None]), ValueError, "X"),
    Case("X_int", _r(X=lambda: _tab()[0].astype(np.int64)), TypeError, "X"),
    Case("X_bool", _r(X=lambda: _tab()[0] > 0), TypeError, "X"),
    Case("X_complex", _r(X=lambda: _tab()[0].astype(np.complex64)), TypeError, "X"),
    Case("X_strings", _r(X=lambda: _tab()[0].astype(str)), TypeError, "X"),
    Case("X_int_tensor", _r(X=lambda: torch.from_numpy(_tab()[0]).long(), y=lambda: torch.from_numpy(_tab()[1])),
         TypeError, "X"),
    Case("X_empty", _r(X=lambda: np.zeros((0, 3), np.float32), y=lambda: np.zeros(0, np.int64)), ValueError, "X"),
    Case("X_no_features", _r(X=lambda: np.zeros((40, 0), np.float32)), ValueError, "X"),
    Case("X_nan", _r(X=_nan_X), ValueError, "X"),
    Case("X_inf", _r(X=_inf_X), ValueError, "X"),
    Case("y_too_short", _r(y=lambda: _tab()[1][:-1]), ValueError, "y"),
    # (n, 1) columns and one-vs-all (n, K) indicators are imbalanced-learn target forms (#27); a
    # multilabel indicator is not
    Case("y_multilabel", _r(y=lambda: np.stack([_tab()[1], np.ones(40, np.int64)], 1)), ValueError, "y"),
    Case("y_column", _r(y=lambda: _tab()[1][:, None]), WORKS, check=_column_ok),
    Case("y_non_integer_floats", _r(y=lambda: _tab()[1] + 0.5), ValueError, "y"),
    Case("y_nan", _r(y=lambda: np.where(np.arange(40) == 0, np.nan, _tab()[1])), ValueError, "y"),
    Case("y_single_class", _r(y=lambda: np.zeros(40, np.int64)), ValueError, "y"),
    Case("y_complex_tensor", _r(X=lambda: torch.from_numpy(_tab()[0]), y=lambda: torch.from_numpy(_tab()[1]).to(torch.complex64)),
         TypeError, "y"),
    Case("minority_smaller_than_k", _r(X=lambda: _tab(n1=2)[0], y=lambda: _tab(n1=2)[1]), ValueError, "neighbors"),
    Case("torch_inputs", _r(X=lambda: torch.from_numpy(_tab()[0]), y=lambda: torch.from_numpy(_tab()[1])), WORKS,
         check=_resampled_ok(torch_out=True)),
    Case("float64_list_of_lists", _r(X=lambda: _tab()[0].astype(np.float64).tolist(), y=lambda: _tab()[1].tolist()),
         WORKS, check=_lists_ok),  # lists in, lists out
    Case("X_fortran_order", _r(X=lambda: np.asfortranarray(_tab()[0])), WORKS, same_as=_r(), check=_resampled_ok()),
    Case("X_non_contiguous_tensor", _r(X=lambda: _strided(torch.from_numpy(_tab()[0])), y=lambda: torch.from_numpy(_tab()[1])),
         WORKS, same_as=_r(X=lambda: torch.from_numpy(_tab()[0]), y=lambda: torch.from_numpy(_tab()[1]))),
    Case("y_float_integers", _r(y=lambda: _tab()[1].astype(np.float64)), WORKS, check=_resampled_ok()),
    Case("y_strings", _r(y=lambda: np.where(_tab()[1] == 0, "cat", "dog")), WORKS,
         check=lambda res, obj: np.testing.assert_array_equal(np.unique(res[1])[0], "cat")),
]


# ---- selectors: s.fit(X_real, y_real).select(X_syn, y_syn) ------------------------------------------


def _real(n: int = 24, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = (rng.normal(0, 1, (n, d)) + 2.0 * y[:, None]).astype(np.float32)
    return X, y


def _syn() -> tuple[np.ndarray, np.ndarray]:
    return _real(n=10, seed=1)


def _s(Xr: Any = None, yr: Any = None, Xs: Any = None, ys: Any = None, fit: bool = True) -> Callable[[Any], Any]:
    def run(s: Any) -> Any:
        X0, y0 = _real()
        X1, y1 = _syn()
        if fit:
            s.fit(X0 if Xr is None else Xr(), y0 if yr is None else yr())
        return s.select(X1 if Xs is None else Xs(), y1 if ys is None else ys())

    return run


def _selected_ok(res: Any, obj: Any = None) -> None:
    idx = np.asarray(res)
    assert idx.ndim == 1 and (np.diff(idx) > 0).all() and (idx >= 0).all() and (idx < 10).all()


SELECTOR_CASES: list[Case] = [
    Case("select_before_fit", _s(fit=False), ValueError, "fit"),
    Case("X_real_1d", _s(Xr=lambda: _real()[0][:, 0]), ValueError, "X_real"),
    Case("X_real_int", _s(Xr=lambda: _real()[0].round().astype(np.int64)), WORKS, check=_selected_ok),
    Case("X_real_complex", _s(Xr=lambda: _real()[0].astype(np.complex64)), TypeError, "X_real"),
    Case("X_real_list", _s(Xr=lambda: "abc"), TypeError, "X_real"),
    Case("X_real_empty", _s(Xr=lambda: np.zeros((0, 4), np.float32), yr=lambda: np.zeros(0, np.int64)), ValueError, "X_real"),
    Case("X_real_nan", _s(Xr=lambda: np.where(np.arange(4) == 0, np.nan, _real()[0])), ValueError, "X_real"),
    Case("y_real_too_short", _s(yr=lambda: _real()[1][:-1]), ValueError, "y_real"),
    Case("y_real_float", _s(yr=lambda: _real()[1] + 0.5), TypeError, "y_real"),
    Case("y_real_strings", _s(yr=lambda: _real()[1].astype(str)), TypeError, "y_real"),
    Case("y_real_one_class", _s(yr=lambda: np.zeros(24, np.int64), ys=lambda: np.zeros(10, np.int64)), WORKS,
         check=_selected_ok),
    Case("X_syn_empty", _s(Xs=lambda: np.zeros((0, 4), np.float32), ys=lambda: np.zeros(0, np.int64)), WORKS,
         check=lambda res, obj: np.testing.assert_array_equal(res, np.zeros(0))),
    Case("X_syn_wrong_features", _s(Xs=lambda: _syn()[0][:, :3]), ValueError, "X_syn"),
    Case("X_syn_inf", _s(Xs=lambda: np.where(np.arange(4) == 1, np.inf, _syn()[0])), ValueError, "X_syn"),
    Case("y_syn_unknown_class", _s(ys=lambda: _syn()[1] + 5), ValueError, "y_syn"),
    Case("y_syn_too_long", _s(ys=lambda: np.arange(11) % 2), ValueError, "y_syn"),
    Case("works", _s(), WORKS, check=_selected_ok),
    Case("torch_inputs", _s(Xr=lambda: torch.from_numpy(_real()[0]), yr=lambda: torch.from_numpy(_real()[1]),
                            Xs=lambda: torch.from_numpy(_syn()[0]), ys=lambda: torch.from_numpy(_syn()[1])),
         WORKS, same_as=lambda s: torch.from_numpy(_s()(s))),
    Case("X_syn_fortran_order", _s(Xs=lambda: np.asfortranarray(_syn()[0])), WORKS, same_as=_s()),
    Case("X_real_non_contiguous_tensor", _s(Xr=lambda: _strided(torch.from_numpy(_real()[0]))), WORKS, same_as=_s()),
]


INPUT_CASES: dict[str, list[Case]] = {
    "transform": TRANSFORM_CASES,
    "mixer": MIXER_CASES,
    "hook": HOOK_CASES,
    "resampler": RESAMPLER_CASES,
    "selector": SELECTOR_CASES,
}

# Entries for which an input case legitimately ends differently: (class, case id) -> Case fields to replace.
OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    # albumentations' weather ops are RGB-only (non_rgb_error): a grey image is refused, naming x
    **{(n, "grey_image"): {"expect": ValueError, "arg": "x"}
       for n in ("RandomRain", "RandomSnow", "RandomFog", "RandomSunFlare", "Spatter")},
    # not RandomTransforms: no region= argument (Python's own TypeError names the class and region)
    ("Normalize", "region_wrong_shape"): {"expect": TypeError},
    ("Normalize", "grey_image"): {"expect": ValueError, "arg": "channels"},
    # deterministic / not a RandomTransform: no params= (Python's TypeError names the class and params)
    **{(n, c): {"expect": TypeError} for n in ("Normalize",) for c in ("params_wrong_keys", "params_other_batch")},
    # plain-image modules: a target dict is refused as x
    **{(n, c.id): {"expect": TypeError, "arg": "x"} for n in ("Normalize",)
       for c in TRANSFORM_CASES if c.id.startswith("target_")},
    # Compose's params are a list (one entry per child); a child names itself
    ("Compose", "params_not_a_dict"): {"expect": ValueError},
    ("Compose", "params_other_batch"): {"owner": "RandomCrop"},
    ("RandomOrder", "params_other_batch"): {"owner": "RandomCrop"},
    # a network: channels_last convolutions sum in another order
    ("StyleAugment", "channels_last"): {"tol": 1e-5},
    ("StyleAugment", "module_on_other_device"): {"expect": ValueError, "arg": "device"},
    # no neighbours, so a class of 2 samples is fine
    # a classifier of the real classes needs two of them
    ("ConfidenceFilter", "y_real_one_class"): {"expect": ValueError, "arg": "y_real"},
    ("RandomOverSampler", "minority_smaller_than_k"): {
        "expect": WORKS, "check": lambda res, obj: np.testing.assert_array_equal(np.bincount(res[1]), [30, 30])},
    # RandomOverSampler copies rows, so any real / string / NaN X works (imbalanced-learn's allow_nan and
    # string tags); categorical samplers take integer, boolean and string categories
    **{(n, c): {"expect": WORKS, "check": _rows_copied} for n, c in [
        *(("RandomOverSampler", c) for c in ("X_int", "X_bool", "X_strings", "X_int_tensor", "X_nan", "X_inf")),
        *(("SMOTEN", c) for c in ("X_int", "X_bool", "X_strings", "X_int_tensor"))]},
    # under-samplers and cleaners whose neighbourhoods do not need a larger minority class
    **{(n, "minority_smaller_than_k"): {"expect": WORKS, "check": lambda res, obj: _two_classes_left(res)}
       for n in ("RandomUnderSampler", "TomekLinks", "EditedNearestNeighbours", "RepeatedEditedNearestNeighbours",
                 "AllKNN", "NeighbourhoodCleaningRule", "CondensedNearestNeighbour", "OneSidedSelection",
                 "ClusterCentroids")},
    # stratified folds need cv samples per class
    ("InstanceHardnessThreshold", "minority_smaller_than_k"): {"arg": "cv"},
}


# -- constructor arguments -------------------------------------------------------------------------


def _tiny_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, K),
    )


@functools.cache
def _style_example() -> Any:
    from torchaug.transforms.style import _tiny_example

    return _tiny_example()


def _style_encoder() -> Any:
    return copy.deepcopy(_style_example().encoder)


def _style_decoder() -> Any:
    return copy.deepcopy(_style_example().decoder)


def _style_images() -> Any:
    return torch.rand(2, 3, 16, 16, generator=gen(3))


def _flip() -> list[nn.Module]:
    from torchaug.transforms import RandomHorizontalFlip

    return [RandomHorizontalFlip()]


# required constructor arguments (callables are called per case, so models are fresh)
def _small_forest() -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=5, random_state=0)


BASE_KWARGS: dict[str, dict[str, Any]] = {
    "SMOTENC": {"categorical_features": [0]},
    "CenterCrop": {"size": 8},
    "Compose": {"transforms": _flip},
    "CutMix": {"num_classes": K},
    "FMix": {"num_classes": K},
    "ResizeMix": {"num_classes": K},
    "SaliencyMix": {"num_classes": K},
    "GaussianBlur": {"kernel_size": 3},
    "ManifoldMixup": {"model": _tiny_model, "layers": ["1"]},
    "MixUp": {"num_classes": K},
    "MixUpCutMix": {"num_classes": K},
    "MoEx": {"model": _tiny_model, "layer": "1"},
    "Normalize": {"mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)},
    "Pad": {"padding": 2},
    "RandomAdjustSharpness": {"sharpness_factor": 2.0},
    "RandomAffine": {"degrees": 10},
    "RandomApply": {"transforms": _flip},
    "RandomChoice": {"transforms": _flip},
    "RandomCrop": {"size": 8},
    "RandomOrder": {"transforms": _flip},
    "RandomPosterize": {"bits": 4},
    "RandomResizedCrop": {"size": 8},
    "RandomRotation": {"degrees": 10},
    "RandomSolarize": {"threshold": 0.5},
    "Resize": {"size": 8},
    "SamplePairing": {"num_classes": K},
    "StyleAugment": {"encoder": _style_encoder, "decoder": _style_decoder, "styles": _style_images},
    "InstanceHardnessThreshold": {"estimator": _small_forest, "cv": 3},
    "KMeansSMOTE": {"kmeans_estimator": 2, "cluster_balance_threshold": 0.1},
    "Letterbox": {"size": 8},
    "LongestMaxSize": {"max_size": 8},
    "RandomIoUCrop": {"size": 8},
    "RandomZoomOut": {"size": 8},
    "BBoxSafeRandomCrop": {"size": 8},
    "RandomSizedBBoxSafeCrop": {"height": 8, "width": 8},
    "AtLeastOneBBoxRandomCrop": {"height": 8, "width": 8},
    "CropNonEmptyMaskIfExists": {"height": 8, "width": 8},
    "SmallestMaxSize": {"max_size": 8},
    "RandomScale": {"size": 8},
    "RandomResize": {"min_size": 8, "max_size": 12, "size": 8},
    "ScaleJitter": {"target_size": (8, 8), "size": 8},
    "RandomShortestSize": {"min_size": [8], "size": 8},
    "PadIfNeeded": {"min_height": 20, "min_width": 20},
    "SomeOf": {"transforms": _flip},
}

V, T = ValueError, TypeError
NAN = float("nan")

# p and same_on_batch, shared by every transform that takes them
_P = [({"p": 1.5}, V, "p"), ({"p": -0.1}, V, "p"), ({"p": NAN}, V, "p"), ({"p": "0.5"}, T, "p")]
_SOB = [({"same_on_batch": "yes"}, T, "same_on_batch")]
_INTERP = [({"interpolation": "nosuch"}, V, "interpolation")]
_FILL = [({"fill": "red"}, T, "fill"), ({"fill": 2.0}, V, "fill"), ({"fill": [0.5, -0.5, 0.5]}, V, "fill")]
_SIZE = [({"size": 0}, V, "size"), ({"size": -4}, V, "size"), ({"size": (8, 8, 8)}, T, "size"),
         ({"size": "8"}, T, "size"), ({"size": 2.5}, T, "size")]
_CONTAINER = [({"transforms": [5]}, T, "transforms"), ({"transforms": 5}, T, "transforms")]
_MIXER = [
    ({"num_classes": 0}, V, "num_classes"), ({"num_classes": 2.5}, T, "num_classes"),
    ({"num_classes": "10"}, T, "num_classes"), ({"label_smoothing": 1.5}, V, "label_smoothing"),
    ({"label_smoothing": -0.1}, V, "label_smoothing"), ({"p": 1.5}, V, "p"), ({"p": "1"}, T, "p"),
    ({"pairing": "nosuch"}, V, "pairing"), ({"inplace": "yes"}, T, "inplace"),
]
_MODE = [({"mode": "nosuch"}, V, "mode")]
_ALPHA = [({"alpha": -1.0}, V, "alpha"), ({"alpha": NAN}, V, "alpha"), ({"alpha": "1"}, T, "alpha")]
_RESAMPLER = [
    ({"sampling_strategy": "nosuch"}, V, "sampling_strategy"), ({"sampling_strategy": -0.5}, V, "sampling_strategy"),
    ({"sampling_strategy": {7: 50}}, V, "sampling_strategy"), ({"random_state": "seed"}, T, "random_state"),
    ({"device": 5}, T, "device"),
]
_UNDER = [  # resamplers without random_state
    ({"sampling_strategy": "nosuch"}, V, "sampling_strategy"), ({"sampling_strategy": -0.5}, V, "sampling_strategy"),
    ({"sampling_strategy": {7: 50}}, V, "sampling_strategy"), ({"device": 5}, T, "device"),
]
_SELECTOR = [({"keep_fraction": 0.0}, V, "keep_fraction"), ({"keep_fraction": 1.5}, V, "keep_fraction"),
             ({"random_state": "seed"}, T, "random_state"), ({"random_state": 1.5}, T, "random_state")]
_CLASSIFIER = [({"classifier": "nosuch"}, V, "classifier"), ({"C": 0.0}, V, "C"), ({"hidden": 0}, V, "hidden"),
               ({"epochs": 0}, V, "epochs"), ({"epochs": 2.5}, T, "epochs"),
               ({"classifier": "cnn", "image_shape": None}, V, "image_shape"),
               ({"classifier": "cnn", "image_shape": (1, 1)}, V, "image_shape")]
_HOOK = [({"model": 5}, T, "model"), ({"generator": 5}, T, "generator"), ({"num_classes": 0}, V, "num_classes")]

CTOR_CASES: dict[str, list[tuple[dict[str, Any], type[Exception], str]]] = {
    "AutoAugment": [({"policy": "nosuch"}, V, "policy"), *_INTERP, *_FILL, *_P, *_SOB],
    "CenterCrop": [*_SIZE],
    "ColorJitter": [({"brightness": -0.5}, V, "brightness"), ({"contrast": (1.5, 0.5)}, V, "contrast"),
                    ({"saturation": "x"}, T, "saturation"), ({"hue": 0.7}, V, "hue"), ({"hue": (-0.6, 0.1)}, V, "hue"),
                    ({"brightness": (0.5, 1.0, 1.5)}, T, "brightness"), *_P, *_SOB],
    "Compose": [*_CONTAINER],
    "CutMix": [*_ALPHA, *_MIXER, *_MODE],
    "FMix": [*_ALPHA, *_MIXER, *_MODE, ({"decay_power": "x"}, T, "decay_power"), ({"max_soft": 0.6}, V, "max_soft"),
             ({"max_soft": -0.1}, V, "max_soft"), ({"reformulate": "yes"}, T, "reformulate")],
    "ResizeMix": [*_ALPHA, *_MIXER, *_MODE, ({"scale": (0.9, 0.1)}, V, "scale"), ({"scale": (0.0, 0.5)}, V, "scale"),
                  ({"scale": "x"}, T, "scale"), ({"antialias": "yes"}, T, "antialias")],
    "SaliencyMix": [*_ALPHA, *_MIXER, *_MODE],
    "Cutout": [({"size": 0}, V, "size"), ({"size": 2.5}, T, "size"), ({"num_holes": 0}, V, "num_holes"),
               ({"num_holes": 1.5}, T, "num_holes"), ({"value": "x"}, V, "value"), ({"value": 2.0}, V, "value"),
               ({"value": None}, T, "value"), *_P, *_SOB],
    "ElasticTransform": [({"alpha": -1.0}, V, "alpha"), ({"sigma": -1.0}, V, "sigma"), ({"sigma": (3.0, 1.0, 1.0)}, T, "sigma"),
                         *_INTERP, *_FILL, *_P, *_SOB],
    "GaussianBlur": [({"kernel_size": 4}, V, "kernel_size"), ({"kernel_size": 0}, V, "kernel_size"),
                     ({"kernel_size": 3.0}, T, "kernel_size"), ({"sigma": -1.0}, V, "sigma"),
                     ({"sigma": (2.0, 1.0)}, V, "sigma"), *_P, *_SOB],
    "RandomRain": [({"slant_range": (10, -10)}, V, "slant_range"), ({"drop_width": 0}, V, "drop_width"),
                   ({"drop_color": (1, 2)}, T, "drop_color"), ({"blur_value": 0}, V, "blur_value"),
                   ({"brightness_coefficient": 0}, V, "brightness_coefficient"), ({"rain_type": "hail"}, V, "rain_type"),
                   ({"drop_length": 0}, V, "drop_length"), *_P, *_SOB],
    "RandomSnow": [({"brightness_coeff": 0}, V, "brightness_coeff"), ({"snow_point_range": (0.5, 0.1)}, V, "snow_point_range"),
                   ({"snow_point_range": (0.1, 1.5)}, V, "snow_point_range"), ({"method": "x"}, V, "method"), *_P, *_SOB],
    "RandomFog": [({"alpha_coef": 1.5}, V, "alpha_coef"), ({"fog_coef_range": (0.9, 0.1)}, V, "fog_coef_range"),
                  ({"fog_coef_range": "a"}, T, "fog_coef_range"), *_P, *_SOB],
    "RandomSunFlare": [({"flare_roi": (0.5, 0, 0.1, 1)}, V, "flare_roi"), ({"flare_roi": (0, 0, 1)}, T, "flare_roi"),
                       ({"src_radius": 1}, V, "src_radius"), ({"src_color": (1, 2)}, T, "src_color"),
                       ({"angle_range": (0, 2)}, V, "angle_range"), ({"num_flare_circles_range": (0, 3)}, V, "num_flare_circles_range"),
                       ({"method": "lens"}, V, "method"), *_P, *_SOB],
    "RandomShadow": [({"shadow_roi": (0, 0, 1.5, 1)}, V, "shadow_roi"), ({"num_shadows_limit": (3, 1)}, V, "num_shadows_limit"),
                     ({"shadow_dimension": 2}, V, "shadow_dimension"), ({"shadow_intensity_range": (0, 2)}, V, "shadow_intensity_range"),
                     *_P, *_SOB],
    "Spatter": [({"mean": (0.8, 0.2)}, V, "mean"), ({"std": 1.5}, V, "std"), ({"gauss_sigma": -1}, V, "gauss_sigma"),
                ({"cutout_threshold": "a"}, T, "cutout_threshold"), ({"intensity": 2}, V, "intensity"),
                ({"mode": "oil"}, V, "mode"), ({"color": (1, 2)}, T, "color"), *_P, *_SOB],
    "RandomCorruption": [({"names": ("nosuch",)}, V, "names"), ({"names": "fog"}, T, "names"), ({"names": ()}, T, "names"),
                         ({"severity": 6}, V, "severity"), ({"severity": (4, 2)}, V, "severity"),
                         ({"severity": 2.5}, T, "severity"), ({"constants": "mnist"}, V, "constants"), *_P, *_SOB],
    "GaussianNoise": [({"sigma": -0.1}, V, "sigma"), ({"mean": NAN}, V, "mean"), ({"mean": "0"}, T, "mean"),
                      ({"clip": "yes"}, T, "clip"), *_P, *_SOB],
    "ManifoldMixup": [({"layers": ["nosuch"]}, V, "layers"), ({"layers": 5}, T, "layers"),
                      ({"layers": ["1", "1"]}, V, "layers"), ({"layers": [], "include_input": False}, V, "layers"),
                      ({"alpha": 0.0}, V, "alpha"), ({"alpha": "2"}, T, "alpha"),
                      ({"include_input": "yes"}, T, "include_input"), *_HOOK],
    "MixUp": [*_ALPHA, *_MIXER, *_MODE],
    "MixUpCutMix": [({"mixup_alpha": -1.0}, V, "mixup_alpha"), ({"cutmix_alpha": -1.0}, V, "cutmix_alpha"),
                    ({"switch_prob": 1.5}, V, "switch_prob"), ({"switch_prob": "x"}, T, "switch_prob"),
                    *_MIXER, *_MODE],
    "MoEx": [({"layer": "nosuch"}, V, "layer"), ({"layer": 3}, T, "layer"), ({"norm": "nosuch"}, V, "norm"),
             ({"p": 1.5}, V, "p"), ({"lam": 1.5}, V, "lam"), ({"lam": "x"}, T, "lam"), ({"eps": 0.0}, V, "eps"),
             ({"groups": 2}, V, "groups"), ({"norm": "gn"}, V, "groups"), ({"norm": "gn", "groups": 0}, V, "groups"),
             ({"where": "nosuch"}, V, "where"), *_HOOK],
    "Normalize": [({"std": (0.0, 1.0, 1.0)}, V, "std"), ({"std": (-1.0, 1.0, 1.0)}, V, "std"),
                  ({"mean": (0.5, 0.5)}, V, "mean"), ({"mean": "x"}, T, "mean"), ({"mean": (NAN, 0.5, 0.5)}, V, "mean")],
    "Pad": [({"padding": -1}, V, "padding"), ({"padding": (1, 2, 3)}, V, "padding"), ({"padding": 1.5}, V, "padding"),
            ({"padding_mode": "nosuch"}, V, "padding_mode"), *_FILL],
    "RandAugment": [({"num_ops": -1}, V, "num_ops"), ({"num_ops": 1.5}, T, "num_ops"), ({"magnitude": 40}, V, "magnitude"),
                    ({"magnitude": -1}, V, "magnitude"), ({"num_magnitude_bins": 1}, V, "num_magnitude_bins"),
                    *_INTERP, *_FILL, *_P, *_SOB],
    "RandomAdjustSharpness": [({"sharpness_factor": -1.0}, V, "sharpness_factor"),
                              ({"sharpness_factor": "x"}, T, "sharpness_factor"), *_P, *_SOB],
    "RandomAffine": [({"degrees": -5}, V, "degrees"), ({"degrees": "x"}, T, "degrees"),
                     ({"translate": (1.5, 0.0)}, V, "translate"), ({"translate": (0.1,)}, T, "translate"),
                     ({"scale": (0.0, 1.0)}, V, "scale"), ({"scale": (1.2, 0.8)}, V, "scale"),
                     ({"shear": -5}, V, "shear"), ({"shear": "x"}, T, "shear"), ({"center": (1.0,)}, T, "center"),
                     *_INTERP, *_FILL, *_P, *_SOB],
    "RandomApply": [*_CONTAINER, *_P, *_SOB],
    "RandomAutocontrast": [*_P, *_SOB],
    "RandomChoice": [*_CONTAINER, ({"transforms": []}, V, "transforms"), ({"p": [0.5, 0.5]}, V, "p"), ({"p": [-1.0]}, V, "p"), ({"p": [0.0]}, V, "p"),
                     ({"p": 0.5}, T, "p"), *_SOB],
    "RandomCrop": [*_SIZE, ({"padding": -1}, V, "padding"), ({"padding_mode": "nosuch"}, V, "padding_mode"),
                   ({"pad_if_needed": "yes"}, T, "pad_if_needed"), *_FILL, *_P, *_SOB],
    "RandomEqualize": [*_P, *_SOB],
    "RandomErasing": [({"scale": (0.5, 0.1)}, V, "scale"), ({"scale": (0.1, 1.5)}, V, "scale"),
                      ({"ratio": (0.0, 1.0)}, V, "ratio"), ({"ratio": (3.0, 0.3)}, V, "ratio"),
                      ({"value": "nosuch"}, V, "value"), ({"value": 2.0}, V, "value"), *_P, *_SOB],
    "RandomGamma": [({"gamma": (-1.0, 1.0)}, V, "gamma"), ({"gamma": (1.2, 0.8)}, V, "gamma"),
                    ({"gamma": "x"}, T, "gamma"), ({"gain": -1.0}, V, "gain"), *_P, *_SOB],
    "RandomGrayscale": [*_P, *_SOB],
    "RandomHorizontalFlip": [*_P, *_SOB],
    "RandomInvert": [*_P, *_SOB],
    "RandomOrder": [*_CONTAINER],
    "RandomPerspective": [({"distortion_scale": 1.5}, V, "distortion_scale"),
                          ({"distortion_scale": -0.1}, V, "distortion_scale"), *_INTERP, *_FILL, *_P, *_SOB],
    "RandomPosterize": [({"bits": -1}, V, "bits"), ({"bits": 9}, V, "bits"), ({"bits": 4.5}, T, "bits"), *_P, *_SOB],
    "RandomResizedCrop": [*_SIZE, ({"scale": (0.9, 0.1)}, V, "scale"), ({"scale": (-0.1, 1.0)}, V, "scale"),
                          ({"ratio": (-1.0, 1.0)}, V, "ratio"), ({"ratio": (2.0, 0.5)}, V, "ratio"),
                          ({"method": "nosuch"}, V, "method"), ({"antialias": "yes"}, T, "antialias"),
                          *_INTERP, *_P, *_SOB],
    "RandomRotation": [({"degrees": -5}, V, "degrees"), ({"degrees": (10, -10)}, V, "degrees"),
                       ({"center": (1.0, 2.0, 3.0)}, T, "center"), ({"expand": "yes"}, T, "expand"),
                       ({"expand": True}, V, "expand"),
                       *_INTERP, *_FILL, *_P, *_SOB],
    "RandomSolarize": [({"threshold": 1.5}, V, "threshold"), ({"threshold": -0.5}, V, "threshold"),
                       ({"threshold": "x"}, T, "threshold"), *_P, *_SOB],
    "RandomVerticalFlip": [*_P, *_SOB],
    # non-rigid warps (h-geoB)
    "GridDistortion": [({"num_steps": 0}, V, "num_steps"), ({"num_steps": "x"}, T, "num_steps"),
                       ({"distort_limit": (0.5, -0.5)}, V, "distort_limit"), ({"distort_limit": "x"}, T, "distort_limit"),
                       ({"interpolation": "cubicx"}, V, "interpolation"), ({"normalized": "yes"}, T, "normalized"), *_P, *_SOB],
    "OpticalDistortion": [({"distort_limit": (0.5, -0.5)}, V, "distort_limit"), ({"distort_limit": "x"}, T, "distort_limit"),
                          ({"mode": "barrel"}, V, "mode"), ({"interpolation": "cubicx"}, V, "interpolation"), *_P, *_SOB],
    "PiecewiseAffine": [({"scale": -0.1}, V, "scale"), ({"scale": "x"}, T, "scale"), ({"nb_rows": 1}, V, "nb_rows"),
                        ({"nb_rows": 2.5}, T, "nb_rows"), ({"nb_cols": (5, 3)}, V, "nb_cols"),
                        ({"absolute_scale": "yes"}, T, "absolute_scale"), *_P, *_SOB],
    "ThinPlateSpline": [({"scale_range": (0.5, 0.2)}, V, "scale_range"), ({"scale_range": "x"}, T, "scale_range"),
                        ({"num_control_points": 1}, V, "num_control_points"),
                        ({"num_control_points": 2.5}, T, "num_control_points"), *_P, *_SOB],
    # dihedral, resize/pad family, SomeOf / OneOrOther / Identity (h-geoA)
    "RandomRotate90": [*_P, *_SOB],
    "Transpose": [*_P, *_SOB],
    "D4": [*_P, *_SOB],
    "Identity": [({"p": 0.5}, T, "p")],
    "LongestMaxSize": [({"max_size": 0}, V, "max_size"), ({"max_size": "8"}, T, "max_size"),
                       ({"max_size": 8, "max_size_hw": (8, 8)}, V, "max_size"),
                       ({"max_size": None, "max_size_hw": (None, None)}, T, "max_size_hw"),
                       ({"antialias": "yes"}, T, "antialias"), ({"size": 0}, V, "size"), *_INTERP, *_P],
    "SmallestMaxSize": [({"max_size": 0}, V, "max_size"), ({"max_size": [8, 2.5]}, T, "max_size"),
                        ({"max_size": None, "max_size_hw": (0, 8)}, V, "max_size_hw"),
                        ({"mask_interpolation": "random"}, V, "mask_interpolation"), *_INTERP, *_P],
    "RandomScale": [({"scale_limit": (-1.5, 0.1)}, V, "scale_limit"), ({"scale_limit": "x"}, T, "scale_limit"),
                    *_INTERP, *_P],
    "RandomResize": [({"min_size": 0}, V, "min_size"), ({"max_size": 8}, V, "max_size"),
                     ({"min_size": 2.5}, T, "min_size"), *_INTERP, *_P],
    "ScaleJitter": [({"target_size": 8}, T, "target_size"), ({"scale_range": (0.0, 1.0)}, V, "scale_range"),
                    ({"scale_range": (2.0, 1.0)}, V, "scale_range"), *_INTERP, *_P],
    "RandomShortestSize": [({"min_size": []}, T, "min_size"), ({"min_size": 0}, V, "min_size"),
                           ({"max_size": 0}, V, "max_size"), *_INTERP, *_P],
    "PadIfNeeded": [({"min_height": None}, V, "min_height"), ({"position": "middle"}, V, "position"),
                    ({"border_mode": 3}, V, "border_mode"), ({"border_mode": "nosuch"}, V, "border_mode"), *_FILL],
    "Letterbox": [*_SIZE, ({"interpolation": "random"}, V, "interpolation"), *_FILL],
    # AugMix and timm's policies (h-augmix)
    "AugMix": [({"severity": 0}, V, "severity"), ({"severity": "3"}, T, "severity"), ({"mixture_width": 0}, V, "mixture_width"),
               ({"chain_depth": -2}, V, "chain_depth"), ({"alpha": -1}, V, "alpha"), ({"all_ops": "yes"}, T, "all_ops"),
               ({"interpolation": "cubicx"}, V, "interpolation"), ({"num_splits": -1}, V, "num_splits"), *_P, *_SOB],
    "TimmRandAugment": [({"prob": 1.5}, V, "prob"), ({"ops": ["Nope"]}, V, "ops"), ({"weights": [1.0]}, V, "weights"),
                        ({"magnitude_std": -1}, V, "magnitude_std"), ({"magnitude": "x"}, T, "magnitude"), *_P],
    "TimmAugMix": [({"width": 0}, V, "width"), ({"depth": -2}, V, "depth"), ({"alpha": -1}, V, "alpha"),
                   ({"blended": "yes"}, T, "blended"), *_P],
    "ThreeAugment": [({"magnitude_std": -1}, V, "magnitude_std"), ({"img_mean": "x"}, T, "img_mean"), *_P],
    # detection (h-det)
    "RandomIoUCrop": [({"min_scale": 1.5}, V, "min_scale"), ({"min_scale": "x"}, T, "min_scale"),
                      ({"min_aspect_ratio": 3.0}, V, "min_aspect_ratio"), ({"trials": 0}, V, "trials"),
                      ({"size": 0}, V, "size"), ({"rounds": 0}, V, "rounds"), *_SOB],
    "RandomZoomOut": [({"side_range": (0.5, 2.0)}, V, "side_range"), ({"side_range": (3.0, 2.0)}, V, "side_range"),
                      ({"side_range": "x"}, T, "side_range"), ({"fill": "x"}, T, "fill"), *_P, *_SOB],
    "BBoxSafeRandomCrop": [({"erosion_rate": 1.5}, V, "erosion_rate"), ({"erosion_rate": "x"}, T, "erosion_rate"), *_P, *_SOB],
    "RandomSizedBBoxSafeCrop": [({"height": 0}, V, "size"), ({"height": 8.5}, T, "size"),
                                ({"erosion_rate": 1.5}, V, "erosion_rate"), *_P, *_SOB],
    "AtLeastOneBBoxRandomCrop": [({"height": 0}, V, "height"), ({"height": "8"}, T, "height"),
                                 ({"erosion_factor": -1}, V, "erosion_factor"), *_P],
    "CropNonEmptyMaskIfExists": [({"height": 0}, V, "height"), ({"width": 8.5}, T, "width"),
                                 ({"ignore_values": "x"}, T, "ignore_values"), ({"ignore_channels": [1.5]}, T, "ignore_channels"), *_P],
    "ClampBoundingBoxes": [({"p": 0.5}, T, "p")],
    "RandomPhotometricDistort": [({"brightness": (1.5, 0.5)}, V, "brightness"), ({"brightness": "x"}, T, "brightness"),
                                 ({"hue": (-0.6, 0.1)}, V, "hue"), *_P, *_SOB],
    "SomeOf": [*_CONTAINER, ({"n": 5}, V, "n"), ({"n": "2"}, T, "n"), *_P],
    "OneOrOther": [({"p": 1.5}, V, "p"), ({"p": "0.5"}, T, "p")],
    "Resize": [*_SIZE, ({"size": 8, "max_size": 4}, V, "max_size"),
               ({"size": (8, 8), "max_size": 16}, V, "max_size"), ({"antialias": "yes"}, T, "antialias"), *_INTERP],
    "SaltAndPepperNoise": [({"amount": 1.5}, V, "amount"), ({"amount": -0.1}, V, "amount"),
                           ({"salt_vs_pepper": -1.0}, V, "salt_vs_pepper"), ({"per_channel": "x"}, T, "per_channel"),
                           *_P, *_SOB],
    "SamplePairing": [*_MIXER],
    "StyleAugment": [({"encoder": 5}, T, "encoder"), ({"decoder": "net"}, T, "decoder"), ({"styles": [1, 2]}, T, "styles"),
                     ({"styles": torch.zeros(2, 4, 8, 8)}, V, "styles"), ({"alpha": 2.0}, V, "alpha"),
                     ({"alpha": (0.8, 0.2)}, V, "alpha"), ({"mode": "nosuch"}, V, "mode"), *_P, *_SOB],
    "TrivialAugmentWide": [({"num_magnitude_bins": 1}, V, "num_magnitude_bins"),
                           ({"num_magnitude_bins": 2.5}, T, "num_magnitude_bins"), *_INTERP, *_FILL, *_P, *_SOB],
    # resamplers (scikit-learn style: checked at construction or in fit_resample)
    "SMOTE": [({"k_neighbors": 0}, V, "k_neighbors"), ({"k_neighbors": 2.5}, T, "k_neighbors"), *_RESAMPLER],
    "BorderlineSMOTE": [({"k_neighbors": 0}, V, "k_neighbors"), ({"m_neighbors": 0}, V, "m_neighbors"),
                        ({"kind": "nosuch"}, V, "kind"), *_RESAMPLER],
    "ADASYN": [({"n_neighbors": 0}, V, "n_neighbors"), ({"n_neighbors": "5"}, T, "n_neighbors"), *_RESAMPLER],
    "RandomOverSampler": [({"shrinkage": -1.0}, V, "shrinkage"), ({"shrinkage": "x"}, T, "shrinkage"), *_RESAMPLER],
    "SMOTENC": [({"categorical_features": [7]}, V, "categorical_features"),
                ({"categorical_features": "x"}, T, "categorical_features"),
                ({"categorical_features": [0, 1, 2]}, V, "categorical_features"),
                ({"categorical_features": "auto"}, V, "categorical_features"),
                ({"k_neighbors": 0}, V, "k_neighbors"), ({"k_neighbors": 2.5}, T, "k_neighbors"), *_RESAMPLER],
    "SMOTEN": [({"k_neighbors": 0}, V, "k_neighbors"), ({"k_neighbors": "5"}, T, "k_neighbors"), *_RESAMPLER],
    # under-samplers and cleaners (issue 28)
    "RandomUnderSampler": [({"replacement": "yes"}, T, "replacement"), *_RESAMPLER],
    "NearMiss": [({"version": 4}, V, "version"), ({"n_neighbors": 0}, V, "n_neighbors"),
                 ({"n_neighbors_ver3": 2.5}, T, "n_neighbors_ver3"), ({"n_jobs": 0}, V, "n_jobs"), *_UNDER],
    "TomekLinks": [({"n_jobs": "2"}, T, "n_jobs"), ({"sampling_strategy": {0: 5}}, V, "sampling_strategy"), *_UNDER],
    "EditedNearestNeighbours": [({"n_neighbors": 0}, V, "n_neighbors"), ({"n_neighbors": 2.5}, T, "n_neighbors"),
                                ({"kind_sel": "nosuch"}, V, "kind_sel"), *_UNDER],
    "RepeatedEditedNearestNeighbours": [({"max_iter": 0}, V, "max_iter"), ({"kind_sel": "nosuch"}, V, "kind_sel"),
                                        ({"n_neighbors": "3"}, T, "n_neighbors"), *_UNDER],
    "AllKNN": [({"allow_minority": "yes"}, T, "allow_minority"), ({"n_neighbors": 0}, V, "n_neighbors"), *_UNDER],
    "NeighbourhoodCleaningRule": [({"threshold_cleaning": 0.0}, V, "threshold_cleaning"),
                                  ({"threshold_cleaning": "x"}, T, "threshold_cleaning"),
                                  ({"edited_nearest_neighbours": 5}, T, "edited_nearest_neighbours"), *_UNDER],
    "CondensedNearestNeighbour": [({"n_neighbors": 0}, V, "n_neighbors"), ({"n_seeds_S": 0}, V, "n_seeds_S"),
                                  ({"n_neighbors": 50}, V, "n_neighbors"), *_RESAMPLER],
    "OneSidedSelection": [({"n_neighbors": 0}, V, "n_neighbors"), ({"n_seeds_S": 1.5}, T, "n_seeds_S"), *_RESAMPLER],
    "InstanceHardnessThreshold": [({"cv": 1}, V, "cv"), ({"estimator": 5}, T, "estimator"), *_RESAMPLER],
    "ClusterCentroids": [({"voting": "nosuch"}, V, "voting"), ({"estimator": 5}, T, "estimator"), *_RESAMPLER],
    "SVMSMOTE": [({"k_neighbors": 0}, V, "k_neighbors"), ({"m_neighbors": 0}, V, "m_neighbors"),
                 ({"out_step": 1.5}, V, "out_step"), ({"svm_estimator": 5}, T, "svm_estimator"), *_RESAMPLER],
    "KMeansSMOTE": [({"k_neighbors": 0}, V, "k_neighbors"), ({"kmeans_estimator": 0}, V, "kmeans_estimator"),
                    ({"kmeans_estimator": "x"}, T, "kmeans_estimator"), ({"density_exponent": "x"}, T, "density_exponent"),
                    ({"cluster_balance_threshold": 5.0}, V, "cluster_balance_threshold"), *_RESAMPLER],
    "SMOTEENN": [({"smote": 5}, T, "smote"), ({"enn": 5}, T, "enn"), *_RESAMPLER],
    "SMOTETomek": [({"smote": 5}, T, "smote"), ({"tomek": 5}, T, "tomek"), *_RESAMPLER],
    # selectors
    "ConfidenceFilter": [({"tau": 1.5}, V, "tau"), ({"tau": "x"}, T, "tau"),
                         ({"drop_duplicates_within": -1.0}, V, "drop_duplicates_within"), *_CLASSIFIER, *_SELECTOR],
    "PUFilter": [({"threshold": 1.5}, V, "threshold"), ({"n_splits": 1}, V, "n_splits"),
                 ({"n_splits": 2.5}, T, "n_splits"), *_CLASSIFIER, *_SELECTOR],
    "DistanceFilter": [({"k": 0}, V, "k"), ({"k": 2.5}, T, "k"), ({"quantile": 1.5}, V, "quantile"),
                       ({"quantile": -0.1}, V, "quantile"), *_SELECTOR],
}


# issue #23 part A (blur, filters, noise, quality): its own table, merged here
import cases_pixel as _cases_pixel  # noqa: E402

BASE_KWARGS.update(_cases_pixel.BASE_KWARGS)
CTOR_CASES.update(_cases_pixel.CTOR_CASES)

import bad_input_cases_pixel_b as _pixel_b  # noqa: E402  (issue #23 part B: tone/colour, dropout)

CTOR_CASES.update(_pixel_b.CTOR_CASES)
OVERRIDES.update(_pixel_b.OVERRIDES)


def case_for(name: str, case: Case) -> Case:
    """``case`` with the entry's ``OVERRIDES`` applied."""
    return replace(case, **OVERRIDES.get((name, case.id), {}))


def first_call(kind: str, obj: Any) -> None:
    """Use a freshly built object once on valid data: some settings can only be checked against the
    data (a geometric ``fill`` is in the image's scale; resamplers check hyper-parameters in
    ``fit_resample`` as scikit-learn does), so a bad one may raise here instead of in the constructor."""
    if kind == "transform":
        obj(images(), generator=gen())
    elif kind == "mixer":
        obj(images(b=4), labels(4), generator=gen())
    elif kind == "resampler":
        obj.fit_resample(*_tab())
    elif kind == "selector":
        obj.fit(*_real()).select(*_syn())


def ctor_kwargs(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``BASE_KWARGS[name]`` (factories called) overridden by ``kwargs``."""
    base = {k: (v() if callable(v) else v) for k, v in BASE_KWARGS.get(name, {}).items()}
    return {**base, **kwargs}


# -- the config boundary ---------------------------------------------------------------------------

# Config-boundary checks that live in tests/test_train.py (counted here, not duplicated): each runs
# ``python -m torchaug.train`` with a bad override and checks the message.
CONFIG_TESTS_ELSEWHERE: list[tuple[str, str, str]] = [
    ("tests/test_train.py", "test_cli_unknown_recipe_lists_choices", "exit 1, lists the recipes"),
    ("tests/test_train.py", "test_cli_unknown_key_lists_valid_keys", "exit 2, lists the valid keys"),
]

# In-process config cases of test_bad_inputs.py: (overrides, how it ends, text the message names)
CONFIG_CASES: list[tuple[list[str], str, str]] = [
    (["transforms=nosuch"], "MissingConfigException", "transforms"),
    (["mixer=nosuch"], "MissingConfigException", "mixer"),
    (["hooks=nosuch"], "MissingConfigException", "hooks"),
    (["resampler=nosuch"], "MissingConfigException", "resampler"),
    (["trainer.max_epoch=3"], "ConfigCompositionException", "max_epoch"),
    (["mixer=mixup", "mixer.alpha=-1"], "ValueError", "alpha"),
    (["mixer=cutmix", "mixer.mode=nosuch"], "ValueError", "mode"),
    (["resampler=smote", "resampler.k_neighbors=0"], "ValueError", "k_neighbors"),
]


# -- the count -------------------------------------------------------------------------------------


def count() -> dict[str, dict[str, int]]:
    """Cases per kind and how they end: {kind: {"entries", "input", "ctor", "works", "ValueError", ...}}."""
    from torchaug import registry

    registry.load_all()
    table: dict[str, dict[str, int]] = {}
    for entry in registry.registered():
        row = table.setdefault(entry.kind, {"entries": 0, "input": 0, "ctor": 0, WORKS: 0, "ValueError": 0,
                                            "TypeError": 0, "skipped without CUDA": 0})
        row["entries"] += 1
        for case in INPUT_CASES[entry.kind]:
            if case.needs_cuda and not torch.cuda.is_available():
                row["skipped without CUDA"] += 1
                continue
            case = case_for(entry.name, case)
            row["input"] += 1
            row[_ending(case.expect)] += 1
        for _, exc, _ in CTOR_CASES.get(entry.name, []):
            row["ctor"] += 1
            row[exc.__name__] += 1
    return table


def main() -> None:
    table = count()
    cols = ["entries", "input", "ctor", WORKS, "ValueError", "TypeError", "skipped without CUDA"]
    print("| kind | " + " | ".join(cols) + " | cases |")
    print("|---" * (len(cols) + 2) + "|")
    total = dict.fromkeys(cols, 0)
    for kind, row in table.items():
        for c in cols:
            total[c] += row[c]
        print(f"| {kind} | " + " | ".join(str(row[c]) for c in cols) + f" | {row['input'] + row['ctor']} |")
    print("| **all** | " + " | ".join(str(total[c]) for c in cols) + f" | {total['input'] + total['ctor']} |")
    ends: dict[str, int] = {}
    for _, end, _ in CONFIG_CASES:
        ends[end] = ends.get(end, 0) + 1
    print(f"\nconfig boundary: {len(CONFIG_CASES)} in-process cases ({', '.join(f'{v} {k}' for k, v in ends.items())}) "
          f"+ {len(CONFIG_TESTS_ELSEWHERE)} CLI tests in tests/test_train.py")


if __name__ == "__main__":
    main()
