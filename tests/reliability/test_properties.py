"""Property-based tests (hypothesis) for the transforms and the mixers (issue #9).

Over batch shapes ``(B, C, H, W)`` including 1x1 and odd sizes, dtypes uint8 / float32 /
float16 / bfloat16, constant and random images, and parameter ranges:

- every registered transform keeps batch size, channels, dtype and device (and the image size
  when it declares ``keeps_size``), returns finite values in [0, 1] for float input, or refuses
  the input with a ``ValueError``/``TypeError`` of our own (``"Owner: ..."``), never a torch error;
  on the 16x16 RGB images its example was built for it must work;
- ``p = 0`` is the identity;
- every registered mixer keeps shape/dtype/device, its pixels are the documented blend of the
  returned parameters, its soft targets rows sum to 1 and stay in ``[s/K, 1 - s + s/K]``, they
  equal ``λ ỹ + (1 - λ) ỹ[perm]``; CutMix's ``λ`` equals the kept area, SamplePairing averages
  50/50 and keeps the labels; ``p = 0`` returns the images and the smoothed one-hot targets.

Derandomized with no example database, so CI runs the same examples every time.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from torchaug import registry
from torchaug.mixing import CutMix, FMix, MixUp, MixUpCutMix, ResizeMix, SaliencyMix, SamplePairing
from torchaug.mixing.targets import mix_targets, one_hot

registry.load_all()
TRANSFORMS = registry.registered("transform")
MIXERS = registry.registered("mixer")
NAMES = {e.name for e in registry.registered()}
DTYPES = [torch.uint8, torch.float32, torch.float16, torch.bfloat16]
K = 10

# the device fixture is per test, shared by its examples (the accelerator path stays on for all of them)
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_EXAMPLES: dict[str, Any] = {}


def example(entry: registry.Entry) -> Any:
    if entry.name not in _EXAMPLES:
        torch.manual_seed(0)
        _EXAMPLES[entry.name] = entry.example()
    return copy.deepcopy(_EXAMPLES[entry.name])


@st.composite
def batches(draw: Any, max_b: int = 4, min_b: int = 1, channels: tuple[int, ...] = (1, 3)) -> torch.Tensor:
    """Image batches: sizes from 1x1 to 20x20 (odd ones included), four dtypes, random or constant."""
    b = draw(st.integers(min_b, max_b))
    c = draw(st.sampled_from(channels))
    h = draw(st.one_of(st.integers(1, 5), st.integers(6, 20)))
    w = draw(st.one_of(st.integers(1, 5), st.integers(6, 20)))
    dtype = draw(st.sampled_from(DTYPES))
    content = draw(st.sampled_from(["random", "random", "zeros", "ones"]))
    seed = draw(st.integers(0, 2**16))
    if content == "random":
        x = torch.randint(0, 256, (b, c, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    else:
        x = torch.full((b, c, h, w), 0 if content == "zeros" else 255, dtype=torch.uint8)
    return x if dtype == torch.uint8 else (x.to(torch.float32) / 255).to(dtype)


def _our_error(err: Exception) -> bool:
    """A ValueError/TypeError raised by our validation: ``"Owner: ..."`` with a registered owner."""
    owner = str(err).split(":", 1)[0].split(".")[0]
    return isinstance(err, (ValueError, TypeError)) and owner in NAMES


def _check_image_out(t: Any, x: torch.Tensor, out: Any) -> None:
    assert isinstance(out, torch.Tensor)
    assert out.shape[:2] == x.shape[:2] and out.device == x.device
    float_output = getattr(t, "float_output", False)
    assert out.dtype == (torch.float32 if float_output and x.dtype == torch.uint8 else x.dtype)
    if getattr(t, "keeps_size", False):
        assert out.shape == x.shape
    if out.is_floating_point():
        o = out.float()
        assert torch.isfinite(o).all()
        if not float_output:
            assert o.min() >= 0 and o.max() <= 1, (float(o.min()), float(o.max()))


@settings(max_examples=250, **SETTINGS)
@given(entry=st.sampled_from(TRANSFORMS), x=batches(), seed=st.integers(0, 2**16))
def test_transform_keeps_shape_dtype_device_and_range(entry: registry.Entry, x: torch.Tensor, seed: int, device) -> None:
    t = example(entry)
    t = t.to(device) if isinstance(t, torch.nn.Module) else t
    x = x.to(device)
    must_work = x.shape[1] == 3 and min(x.shape[-2:]) >= 16  # the size its example was built for
    try:
        out = t(x, generator=torch.Generator(device).manual_seed(seed))
    except Exception as err:  # noqa: BLE001 - the property is about which errors
        assert _our_error(err) and not must_work, f"{entry.name} on {tuple(x.shape)} {x.dtype}: {type(err).__name__}: {err}"
        event("refused (ValueError/TypeError of ours)")
        return
    event("worked")
    _check_image_out(t, x, out)


def _has_scalar_p(t: Any) -> bool:
    return isinstance(getattr(t, "p", None), float) and getattr(t, "keeps_size", True)


P_TRANSFORMS = [e for e in TRANSFORMS if _has_scalar_p(example(e)) and getattr(example(e), "keeps_size", True)]


@settings(max_examples=120, **SETTINGS)
@given(entry=st.sampled_from(P_TRANSFORMS), x=batches(), seed=st.integers(0, 2**16))
def test_transform_p0_is_identity(entry: registry.Entry, x: torch.Tensor, seed: int, device) -> None:
    t = example(entry)
    t = t.to(device) if isinstance(t, torch.nn.Module) else t
    t.p = 0.0
    x = x.to(device)
    try:
        out = t(x, generator=torch.Generator(device).manual_seed(seed))
    except Exception as err:  # noqa: BLE001
        assert _our_error(err), f"{entry.name} on {tuple(x.shape)} {x.dtype}: {type(err).__name__}: {err}"
        return
    assert out.dtype == x.dtype and torch.equal(out, x), entry.name


def test_p0_covers_the_probability_transforms() -> None:
    assert len(P_TRANSFORMS) >= 20, [e.name for e in P_TRANSFORMS]


# -- mixers ----------------------------------------------------------------------------------------

MIXER_FACTORIES = {
    "MixUp": lambda a, **kw: MixUp(alpha=a, **kw),
    "CutMix": lambda a, **kw: CutMix(alpha=a, **kw),
    "MixUpCutMix": lambda a, **kw: MixUpCutMix(mixup_alpha=a, cutmix_alpha=a, switch_prob=0.5, **kw),
    "SamplePairing": lambda a, mode, **kw: SamplePairing(**kw),
}


#: mixers whose pixels are not a blend plus one box (masks, resized partners): their own property test below
MASK_MIXER_FACTORIES = {
    "FMix": lambda a, **kw: FMix(alpha=a, **kw),
    "ResizeMix": lambda a, **kw: ResizeMix(alpha=a, **kw),
    "SaliencyMix": lambda a, **kw: SaliencyMix(alpha=a, **kw),
}


def test_every_registered_mixer_has_a_property_factory() -> None:
    assert {e.name for e in MIXERS} == set(MIXER_FACTORIES) | set(MASK_MIXER_FACTORIES)


@settings(max_examples=120, **SETTINGS)
@given(
    name=st.sampled_from(sorted(MASK_MIXER_FACTORIES)),
    x=batches(max_b=6, min_b=1),
    alpha=st.floats(0.05, 4.0),
    s=st.sampled_from([0.0, 0.1]),
    mode=st.sampled_from(["batch", "elem"]),
    p=st.sampled_from([1.0, 0.5, 0.0]),
    seed=st.integers(0, 2**16),
)
def test_mask_mixer_properties(name: str, x: torch.Tensor, alpha: float, s: float, mode: str, p: float, seed: int) -> None:
    m = MASK_MIXER_FACTORIES[name](alpha, num_classes=K, label_smoothing=s, p=p, mode=mode)
    b = x.shape[0]
    y = torch.randint(0, K, (b,), generator=torch.Generator().manual_seed(seed))
    xm, ym, params = m(x, y, generator=torch.Generator().manual_seed(seed), return_params=True)
    assert xm.shape == x.shape and xm.dtype == x.dtype
    if xm.is_floating_point():
        assert torch.isfinite(xm.float()).all() and xm.min() >= 0 and xm.max() <= 1
    y_s = one_hot(y, K, label_smoothing=s)
    torch.testing.assert_close(ym.sum(1), torch.ones(b))
    assert ym.min() >= s / K - 1e-6 and ym.max() <= 1 - s + s / K + 1e-6
    lam = params["lam"]
    assert ((lam >= 0) & (lam <= 1)).all()
    torch.testing.assert_close(ym, mix_targets(y_s, params["perm"], lam))
    if p == 0.0 or b == 1:
        assert torch.equal(xm, x)
        torch.testing.assert_close(ym, y_s)


def _expected_pixels(x: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """The documented blend: ``image_lam x + (1 - image_lam) x[perm]`` outside ``box``, ``x[perm]`` inside."""
    b, _, h, w = x.shape
    xf = x.double()
    partner = xf[params["perm"]]
    wself = params["image_lam"].double().view(b, 1, 1, 1).expand(b, 1, h, w).clone()
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    box = params["box"]
    inside = ((ys >= box[:, 0, None, None]) & (ys < box[:, 1, None, None])
              & (xs >= box[:, 2, None, None]) & (xs < box[:, 3, None, None]))
    wself[inside.unsqueeze(1)] = 0.0
    return wself * xf + (1 - wself) * partner


_TOL = {torch.uint8: 1.0, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1e-2}


@settings(max_examples=250, **SETTINGS)
@given(
    name=st.sampled_from(sorted(MIXER_FACTORIES)),
    x=batches(max_b=7),
    alpha=st.floats(0.05, 4.0),
    s=st.sampled_from([0.0, 0.1, 0.25]),
    mode=st.sampled_from(["batch", "pair", "elem"]),
    pairing=st.sampled_from(["shift", "random", "roll"]),
    p=st.sampled_from([1.0, 1.0, 0.5, 0.0]),
    soft=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mixer_properties(name: str, x: torch.Tensor, alpha: float, s: float, mode: str, pairing: str, p: float,
                          soft: bool, seed: int, device) -> None:
    m = MIXER_FACTORIES[name](alpha, num_classes=K, label_smoothing=s, p=p, mode=mode, pairing=pairing).to(device)
    b = x.shape[0]
    y = torch.randint(0, K, (b,), generator=torch.Generator().manual_seed(seed))
    y_in = one_hot(y, K) if soft else y
    xm, ym, params = m(x.to(device), y_in.to(device), generator=torch.Generator(device).manual_seed(seed), return_params=True)
    assert xm.device.type == device.type and ym.device.type == device.type
    xm, ym = xm.cpu(), ym.cpu()
    params = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in params.items()}

    # shape, dtype, device, range
    assert xm.shape == x.shape and xm.dtype == x.dtype and xm.device == x.device
    if xm.is_floating_point():
        assert torch.isfinite(xm.float()).all() and xm.min() >= 0 and xm.max() <= 1
    # soft targets: rows sum to 1, within the smoothing bounds, and the documented label mix
    y_s = one_hot(y, K, label_smoothing=s)
    assert ym.shape == (b, K) and ym.dtype == torch.float32
    torch.testing.assert_close(ym.sum(1), torch.ones(b))
    assert ym.min() >= s / K - 1e-6 and ym.max() <= 1 - s + s / K + 1e-6
    lam = params["lam"]
    assert ((lam >= 0) & (lam <= 1)).all()
    torch.testing.assert_close(ym, mix_targets(y_s, params["perm"], lam))
    # pixels are the documented blend of the returned parameters
    diff = (xm.double() - _expected_pixels(x, params)).abs().max()
    assert diff <= _TOL[x.dtype] * (255 if x.dtype == torch.uint8 else 1), float(diff)

    mixed = params["mixed"]
    if p == 0.0 or b == 1:
        assert not mixed.any() and torch.equal(xm, x)
        torch.testing.assert_close(ym, y_s)
    box = params["box"]
    area = ((box[:, 1] - box[:, 0]).clamp_min(0) * (box[:, 3] - box[:, 2]).clamp_min(0)).float()
    if name == "CutMix":  # λ equals the kept area; pixels outside the box untouched
        torch.testing.assert_close(lam, 1 - area / (x.shape[-2] * x.shape[-1]))
        assert (params["image_lam"] == 1).all()
    if name == "SamplePairing":  # 50/50 pixels, the sample keeps its own label
        torch.testing.assert_close(params["image_lam"], torch.where(mixed, 0.5, 1.0))
        assert (lam == 1).all() and (area == 0).all()
        torch.testing.assert_close(ym, y_s)
    if name == "MixUp":
        torch.testing.assert_close(params["image_lam"], lam)
        assert (area == 0).all()
    assert (lam[~mixed] == 1).all() and (area[~mixed] == 0).all()


@settings(max_examples=40, **SETTINGS)
@given(x=batches(max_b=6, min_b=2), seed=st.integers(0, 2**16))
def test_samplepairing_averages_the_pair(x: torch.Tensor, seed: int) -> None:
    m = SamplePairing(num_classes=K)
    xm, _, params = m(x, torch.zeros(x.shape[0], dtype=torch.long), generator=torch.Generator().manual_seed(seed),
                      return_params=True)
    avg = (x.double() + x.double()[params["perm"]]) / 2
    tol = _TOL[x.dtype] * (255 if x.dtype == torch.uint8 else 1)
    assert params["mixed"].all() and (xm.double() - avg).abs().max() <= tol
