"""The shared contract every registered augmenter passes, and a check that none is unregistered."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil

import pytest
import torch
from torch import nn

from tests_support import generator_on, no_host_sync
from torchaug import registry

registry.load_all()


def _ids(entries):
    return [e.name for e in entries]


TRANSFORMS = registry.registered("transform")
MIXERS = registry.registered("mixer")
HOOKS = registry.registered("hook")
RESAMPLERS = registry.registered("resampler")


def _public_classes():
    """Public classes defined in the augmenter packages that look like augmenters."""
    found = {}
    for pkg_name in registry.PUBLIC_PACKAGES:
        try:
            pkg = importlib.import_module(pkg_name)
        except ModuleNotFoundError:
            continue
        modules = [pkg]
        for info in pkgutil.walk_packages(pkg.__path__, pkg_name + "."):
            modules.append(importlib.import_module(info.name))
        for mod in modules:
            for name, obj in vars(mod).items():
                if (
                    inspect.isclass(obj)
                    and obj.__module__ == mod.__name__
                    and not name.startswith("_")
                    and not inspect.isabstract(obj)
                    and getattr(obj, "__torchaug_public__", True)
                    and (issubclass(obj, nn.Module) or hasattr(obj, "fit_resample")
                         or (hasattr(obj, "fit") and hasattr(obj, "select")))
                ):
                    found[name] = obj
    return found


def test_every_public_augmenter_is_registered():
    names = {e.name for e in registry.registered()}
    missing = sorted(set(_public_classes()) - names)
    assert not missing, f"public augmenters missing from the registry: {missing}"


def test_registry_is_populated():
    assert MIXERS, "no mixer registered"


def _images(dtype, b=3, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, 16, 16), generator=g, dtype=torch.uint8).to(device)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


@pytest.mark.parametrize("entry", TRANSFORMS, ids=_ids(TRANSFORMS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_transform_contract(entry, dtype, device):
    t = entry.example()
    if isinstance(t, nn.Module):
        t = t.to(device)  # moving the module must keep working (nn.Module._apply is not to be shadowed)
    x = _images(dtype, device=device)
    t(x, generator=generator_on(device, 1))  # warm-up: constants are made once per device
    # parameters drawn on the data's device, nothing read back (except where an op declares why)
    with no_host_sync(device) if not getattr(t, "reads_back", None) else contextlib.nullcontext():
        out = t(x, generator=generator_on(device, 1))
    assert isinstance(out, torch.Tensor)
    # a transform that ends the uint8 stage (Normalize) declares float_output and returns float32
    float_output = getattr(t, "float_output", False)
    expected_dtype = torch.float32 if float_output and dtype == torch.uint8 else dtype
    assert out.shape[:2] == x.shape[:2] and out.dtype == expected_dtype and out.device == x.device
    again = t(x, generator=generator_on(device, 1))
    torch.testing.assert_close(out, again, rtol=0, atol=0)
    one = t(x[:1], generator=generator_on(device, 2))
    assert one.shape[0] == 1
    single = t(x[0], generator=generator_on(device, 2))
    assert single.ndim == 3
    if dtype.is_floating_point and not float_output:
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0 + 1e-6


@pytest.mark.parametrize("entry", TRANSFORMS, ids=_ids(TRANSFORMS))
@pytest.mark.parametrize("bad", ["rank2", "int32", "list"])
def test_transform_bad_input(entry, bad):
    t = entry.example()
    x = {"rank2": torch.zeros(4, 4), "int32": torch.zeros(2, 3, 8, 8, dtype=torch.int32), "list": [1, 2]}[bad]
    with pytest.raises((ValueError, TypeError)) as info:
        t(x)
    assert type(t).__name__ in str(info.value) or "x" in str(info.value)


@pytest.mark.parametrize("entry", MIXERS, ids=_ids(MIXERS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("b", [1, 5])
def test_mixer_contract(entry, dtype, b, device):
    m = entry.example().to(device)
    k = m.num_classes
    x = _images(dtype, b=b, device=device)
    y = torch.arange(b, device=device) % k
    m(x, y, generator=generator_on(device, 3))
    with no_host_sync(device):
        xm, ym = m(x, y, generator=generator_on(device, 3))
    assert xm.shape == x.shape and xm.dtype == x.dtype and xm.device == x.device
    assert ym.shape == (b, k) and ym.is_floating_point()
    torch.testing.assert_close(ym.sum(1), torch.ones(b, device=device))
    xm2, ym2 = m(x, y, generator=generator_on(device, 3))
    assert torch.equal(xm, xm2) and torch.equal(ym, ym2)


@pytest.mark.parametrize("entry", MIXERS, ids=_ids(MIXERS))
def test_mixer_bad_input(entry):
    m = entry.example()
    x = _images(torch.float32, b=4)
    with pytest.raises((ValueError, TypeError), match=type(m).__name__):
        m(x, torch.zeros(4))  # float labels of shape (B,)
    with pytest.raises((ValueError, TypeError), match=type(m).__name__):
        m(x, torch.zeros(3, dtype=torch.long))  # wrong length
    with pytest.raises((ValueError, TypeError), match=type(m).__name__):
        m(x[0, 0], torch.zeros(4, dtype=torch.long))  # wrong rank
    with pytest.raises((ValueError, TypeError), match=type(m).__name__):
        m(x, torch.full((4,), m.num_classes, dtype=torch.long))  # out of range


@pytest.mark.parametrize("entry", HOOKS, ids=_ids(HOOKS))
def test_hook_contract(entry, device):
    model, hook = entry.example()
    model.to(device)
    x = torch.rand(4, 3, 16, 16, device=device)
    model.train()
    torch.manual_seed(0)
    model(x)
    with no_host_sync(device):
        out = model(x)
    assert torch.isfinite(out).all()
    model.eval()
    with torch.no_grad():
        a = model(x)
    hook.remove()
    with torch.no_grad():
        b = model(x)
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("entry", RESAMPLERS, ids=_ids(RESAMPLERS))
def test_resampler_contract(entry):
    import numpy as np

    s = entry.example()
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (40, 4)), rng.normal(3, 1, (12, 4))]).astype(np.float32)
    y = np.array([0] * 40 + [1] * 12)
    Xr, yr = s.fit_resample(X, y)
    assert isinstance(Xr, np.ndarray) and Xr.shape[1] == 4 and len(Xr) == len(yr)
    if hasattr(s, "sample_indices_"):  # selections (under-samplers, cleaners, RandomOverSampler)
        np.testing.assert_array_equal(Xr, X[s.sample_indices_])
        np.testing.assert_array_equal(yr, y[s.sample_indices_])
    if getattr(s, "_sampling_type", "over-sampling") != "over-sampling":  # under-samplers and cleaners
        assert len(Xr) <= len(X) and set(np.unique(yr)) == {0, 1}
    elif not hasattr(s, "smote_"):  # over-samplers: original rows first (combined samplers clean them)
        assert len(Xr) >= len(X)
        np.testing.assert_array_equal(Xr[: len(X)], X)
    with pytest.raises((ValueError, TypeError)):
        s.fit_resample(X, y[:-1])


@pytest.mark.parametrize("entry", MIXERS, ids=_ids(MIXERS))
def test_mixer_commutes_with_normalisation(entry):
    """Mixed pixels are convex combinations or copies, so a batch normalised before mixing (as timm
    mixes on the device) gives the normalised mixture; such batches are accepted, not rejected."""
    m = entry.example()
    x = _images(torch.float32, b=6)
    y = torch.arange(6) % m.num_classes
    mean, std = torch.tensor([0.49, 0.48, 0.45]).view(1, 3, 1, 1), torch.tensor([0.25, 0.24, 0.26]).view(1, 3, 1, 1)
    xm, ym, params = m(x, y, generator=torch.Generator().manual_seed(4), return_params=True)
    xn_m, yn_m = m((x - mean) / std, y, params=params)
    torch.testing.assert_close(xn_m, (xm - mean) / std, rtol=1e-5, atol=1e-5)
    assert torch.equal(yn_m, ym) and float(xn_m.min()) < 0.0


ACCELERATED = ["cpu:accel"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("entry", TRANSFORMS, ids=_ids(TRANSFORMS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("target", ACCELERATED)
def test_transform_accelerator_path_equals_cpu_path(entry, dtype, target):
    """The same drawn parameters give the same images on the CPU path and on the path GPUs take
    (``cpu:accel``: ``torchaug.accelerator_path``, one-pass kernels, masked selection, poisoned scratch
    memory; ``cuda``: the GPU itself). With the CPU path's parity to the peers, this carries every
    parity test over to the accelerator path."""
    from torchaug import accelerator_path

    t = entry.example()
    if "return_params" not in inspect.signature(t.forward).parameters:
        pytest.skip(f"{entry.name} draws no replayable parameters")
    x = _images(dtype, b=4, seed=5)
    out, params = t(x, generator=torch.Generator().manual_seed(6), return_params=True)
    if target == "cuda":
        dev = torch.device("cuda")
        t = t.to(dev) if isinstance(t, nn.Module) else t
        acc = t(x.to(dev), params=_to(params, dev)).cpu()
    else:
        with accelerator_path():
            acc = t(x, params=params)
    tol = 1.0 if dtype == torch.uint8 else 1e-5
    torch.testing.assert_close(acc.double(), out.double(), atol=tol, rtol=0)


def _to(params, device):
    if isinstance(params, torch.Tensor):
        return params.to(device)
    if isinstance(params, dict):
        return {k: _to(v, device) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return type(params)(_to(v, device) for v in params)
    return params
