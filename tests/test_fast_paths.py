"""Every registered CPU fast path (``torchaug._cpu.registry``) equals its plain kernel bit for bit.

Generated from the registry: each fast path runs on its own examples for a few image batches
(uint8 and float32, contiguous and channels_last, odd sizes), with every threshold it names forced
both ways (the branch taken and not taken), against its plain kernel on the same arguments.
"""

from __future__ import annotations

import copy

import pytest
import torch

from torchaug._cpu.registry import fast_paths
from torchaug._cpu.thresholds import THRESHOLDS, Thresholds, override_thresholds

_PATHS = fast_paths()
_SHAPES = [(5, 3, 7, 9), (4, 3, 17, 16), (3, 1, 6, 11)]


def _images(shape, dtype, channels_last, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, shape, dtype=torch.uint8, generator=g)
    if dtype != torch.uint8:
        x = x.to(dtype) / 255
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _bits(t):
    if isinstance(t, torch.Tensor) and t.is_floating_point():
        return t.view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()])
    return t


def _copy(args, kwargs, mutates):
    """Fresh copies of the arguments a path writes into (aliases between them kept)."""
    memo = {}
    args = list(args)
    for i in mutates:
        args[i] = copy.deepcopy(args[i], memo)
    kwargs = {k: memo.get(id(v), v) for k, v in kwargs.items()}
    return args, kwargs


def _settings(fp):
    yield {}
    for name in fp.thresholds:
        yield {name: 0}
        yield {name: 1}
        yield {name: 1 << 60}


def test_registry_holds_the_known_fast_paths():
    names = {fp.name.rsplit(".", 1)[-1] for fp in _PATHS}
    assert {"where_samples", "apply_into", "_crop_windows", "_flip_into", "color_jitter_chunked",
            "_median_blur_impl", "run_chunked"} <= names


@pytest.mark.parametrize("fp", _PATHS, ids=[fp.name.rsplit(".", 2)[-2] + "." + fp.name.rsplit(".", 1)[-1] for fp in _PATHS])
def test_fast_path_equals_plain_kernel_bit_for_bit(fp):
    ran = 0
    for s, shape in enumerate(_SHAPES):
        for dtype in (torch.uint8, torch.float32):
            for cl in (False, True):
                x = _images(shape, dtype, cl, seed=s)
                for args, kwargs in fp.examples(x, torch.Generator().manual_seed(s)):
                    pa, pk = _copy(args, kwargs, fp.mutates)
                    ref = fp.plain(*pa, **pk)
                    for forced in _settings(fp):
                        with override_thresholds(**forced):
                            assert fp.applies(*args, **kwargs), f"{fp.name}: its example does not take the fast path"
                            fa, fk = _copy(args, kwargs, fp.mutates)
                            got = fp.fast(*fa, **fk)
                        assert got.shape == ref.shape and got.dtype == ref.dtype, (fp.name, forced)
                        assert torch.equal(_bits(got), _bits(ref)), (fp.name, shape, dtype, cl, forced)
                        ran += 1
    assert ran, f"{fp.name} registered no example"


def test_override_thresholds_restores_and_checks_names():
    before = THRESHOLDS.into_run_min_bytes
    with override_thresholds(into_run_min_bytes=1) as t:
        assert t.into_run_min_bytes == 1 and THRESHOLDS.into_run_min_bytes == 1
    assert THRESHOLDS.into_run_min_bytes == before
    with pytest.raises(TypeError, match="unknown threshold"):
        with override_thresholds(no_such_bytes=1):
            pass
    with pytest.raises(TypeError, match="non-negative int"):
        with override_thresholds(into_run_min_bytes=-1):
            pass
    with pytest.raises(Exception):  # frozen: only override_thresholds changes it
        THRESHOLDS.into_run_min_bytes = 3  # type: ignore[misc]
    assert isinstance(THRESHOLDS, Thresholds)


def test_public_kernels_take_the_fast_paths():
    """The dispatch of the public kernels goes through the predicates registered with the paths."""
    from torchaug.functional import geometry as FG

    x = _images((4, 3, 9, 10), torch.uint8, False, 0)
    top, left = torch.tensor([-2, 0, 1, 3]), torch.tensor([0, -1, 2, 4])
    fast = FG.crop(x, top, left, 8, 8, bounds=(2, 2, 2, 2))
    plain = FG.crop(x, top, left, 8, 8)
    assert torch.equal(fast, plain)
    y = x.clone()
    assert FG.hflip(y, out=y) is y and torch.equal(y, x.flip(-1))
