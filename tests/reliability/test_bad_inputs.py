"""Registry-driven bad-input sweep (issue #9, "Bad input").

For every registered augmenter, sampler and selector: the bad call inputs of its kind and its
bad constructor arguments (tables in ``bad_input_cases.py``). Each case either works, and the
result is checked (equal to the contiguous input's result, dtype kept, finite, in range), or
raises ``ValueError``/``TypeError`` whose message names the class and the argument. Any other
exception (a ``RuntimeError``/``IndexError`` from torch internals) fails the case. A registered
entry without cases fails :func:`test_every_registered_entry_has_cases`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import bad_input_cases as C
from torchaug import accelerator_path, registry
from torchaug._validation import value_checks

registry.load_all()
ENTRIES = registry.registered()


def _assert_same(a: Any, b: Any, tol: float) -> None:
    """Equal results: integers exactly, floats within ``tol`` (float summation order may differ)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
        t = tol if a.is_floating_point() else 0.0
        torch.testing.assert_close(a, b, rtol=t, atol=t, equal_nan=True)
    elif isinstance(a, np.ndarray):
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, np.asarray(b), rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(a, np.asarray(b))
    elif isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for u, v in zip(a, b):
            _assert_same(u, v, tol)
    else:
        assert a == b


_EXAMPLES: dict[str, Any] = {}


def _example(entry: registry.Entry) -> Any:
    """A fresh copy of the entry's example (built once: some build networks)."""
    if entry.name not in _EXAMPLES:
        torch.manual_seed(0)  # examples with random weights (hooks' models) are built identically
        _EXAMPLES[entry.name] = entry.example()
    return copy.deepcopy(_EXAMPLES[entry.name])


def _input_params() -> list[Any]:
    out = []
    for e in ENTRIES:
        for case in C.INPUT_CASES.get(e.kind, []):
            case = C.case_for(e.name, case)
            out.append(pytest.param(e, case, id=f"{e.name}-{case.id}"))
    return out


def _ctor_params() -> list[Any]:
    out = []
    for e in ENTRIES:
        for i, (kwargs, exc, arg) in enumerate(C.CTOR_CASES.get(e.name, [])):
            short = ",".join(f"{k}={v!r}"[:24] for k, v in kwargs.items())
            out.append(pytest.param(e, kwargs, exc, arg, id=f"{e.name}-{i}-{short}"))
    return out


def _assert_error(info: pytest.ExceptionInfo, owner: str, exc: type[Exception], arg: str) -> None:
    err = info.value
    assert isinstance(err, exc), f"expected {exc.__name__}, got {type(err).__name__}: {err}"
    msg = str(err)
    assert owner in msg, f"the message does not name {owner}: {msg}"
    assert arg in msg, f"the message does not name the argument {arg!r}: {msg}"


@pytest.mark.parametrize("path", ["cpu", "accel"])
@pytest.mark.parametrize(("entry", "case"), _input_params())
def test_bad_input(entry: registry.Entry, case: C.Case, path: str) -> None:
    """Each case on the CPU path and on the accelerator path (``torchaug.accelerator_path``: the
    branches a GPU takes, value checks as on a GPU, i.e. under ``set_value_checks("always")``)."""
    if case.needs_cuda and not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    if path == "cpu":
        _run_case(entry, case)
        return
    with accelerator_path(), value_checks("always"):
        _run_case(entry, case)


def _run_case(entry: registry.Entry, case: C.Case) -> None:
    obj = _example(entry)
    if case.expect == C.WORKS:
        out = case.run(obj)
        if case.same_as is not None:
            _assert_same(out, case.same_as(_example(entry)), case.tol)
        if case.check is not None:
            case.check(out, obj)
        return
    with pytest.raises((ValueError, TypeError)) as info:
        case.run(obj)
    _assert_error(info, case.owner or entry.name, case.expect, case.arg)


@pytest.mark.parametrize(("entry", "kwargs", "exc", "arg"), _ctor_params())
def test_bad_constructor_argument(entry: registry.Entry, kwargs: dict, exc: type[Exception], arg: str) -> None:
    kw = C.ctor_kwargs(entry.name, kwargs)
    with pytest.raises((ValueError, TypeError)) as info:
        C.first_call(entry.kind, entry.cls(**kw))
    _assert_error(info, entry.name, exc, arg)


def test_every_registered_entry_has_cases() -> None:
    names = {e.name for e in ENTRIES}
    no_ctor = sorted(n for n in names if not C.CTOR_CASES.get(n))
    assert not no_ctor, f"registered entries without constructor cases in bad_input_cases.CTOR_CASES: {no_ctor}"
    no_input = sorted(e.name for e in ENTRIES if not [c for c in C.INPUT_CASES.get(e.kind, []) if not c.needs_cuda])
    assert not no_input, f"registered entries whose kind has no input cases in bad_input_cases.INPUT_CASES: {no_input}"
    stale = sorted(set(C.CTOR_CASES) - names) + sorted({n for n, _ in C.OVERRIDES} - names)
    assert not stale, f"bad_input_cases names classes that are not registered: {stale}"
    ids = {k: {c.id for c in v} for k, v in C.INPUT_CASES.items()}
    kind = {e.name: e.kind for e in ENTRIES}
    bad_overrides = [key for key in C.OVERRIDES if key[1] not in ids[kind[key[0]]]]
    assert not bad_overrides, f"OVERRIDES name cases that do not exist: {bad_overrides}"


def test_the_count_covers_every_entry() -> None:
    table = C.count()
    assert sum(row["entries"] for row in table.values()) == len(ENTRIES)
    for kind, row in table.items():
        assert row["input"] + row["ctor"] == row[C.WORKS] + row["ValueError"] + row["TypeError"], kind


# -- the config boundary ---------------------------------------------------------------------------


def test_config_tests_elsewhere_exist() -> None:
    root = Path(__file__).resolve().parents[2]
    for path, name, _ in C.CONFIG_TESTS_ELSEWHERE:
        assert f"def {name}(" in (root / path).read_text(), f"{path}::{name} is gone; update CONFIG_TESTS_ELSEWHERE"


@pytest.mark.parametrize(("overrides", "ending", "named"), C.CONFIG_CASES, ids=[" ".join(c[0]) for c in C.CONFIG_CASES])
def test_config_boundary(overrides: list[str], ending: str, named: str) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from torchaug._paths import config_dir

    GlobalHydra.instance().clear()  # in case an earlier test in this worker left Hydra initialised
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        if ending != "ValueError":
            with pytest.raises(Exception) as info:
                compose(config_name="train", overrides=overrides)
            assert type(info.value).__name__ == ending
            assert named in str(info.value)
            return
        cfg = compose(config_name="train", overrides=overrides)
    group = overrides[0].split("=")[0]
    with pytest.raises(ValueError, match=named):
        obj = instantiate(cfg[group])
        if not hasattr(obj, "fit_resample"):
            obj = obj(num_classes=C.K)  # the builder injects num_classes into _partial_ mixers
        if hasattr(obj, "fit_resample"):
            obj.fit_resample(*C._tab())
