"""The CPU thread policy: every call leaves the caller's ``torch.get_num_threads()`` as it was (also when
it raises), and ``set_cpu_threading(False)`` stops torchaug from touching thread settings at all, with
identical results."""

from __future__ import annotations

import pytest
import torch

import torchaug
from torchaug import registry
from torchaug.resampling import knn
from torchaug.transforms import ColorJitter, RandomResizedCrop

registry.load_all()
TRANSFORMS = registry.registered("transform")
MIXERS = registry.registered("mixer")


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _images(b=8, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, size, size), generator=g, dtype=torch.uint8)


def _big_calls():
    """Calls that take the multi-threaded paths (parallel_for, the kNN workers) on 2 threads."""
    x = _images(64, 64)
    g = torch.Generator().manual_seed(0)
    return [lambda: ColorJitter(0.4, 0.4, 0.4, 0.1)(x, generator=g),
            lambda: RandomResizedCrop(48)(x, generator=g),
            lambda: knn(torch.randn(600, 8, generator=g), 3, chunk_size=50)]


@pytest.mark.parametrize("entry", TRANSFORMS + MIXERS, ids=[e.name for e in TRANSFORMS + MIXERS])
def test_every_augmenter_restores_the_callers_threads(entry, two_threads):
    aug = entry.example()
    x = _images()
    g = torch.Generator().manual_seed(1)
    if entry.kind == "mixer":
        aug(x.float() / 255, torch.arange(8) % aug.num_classes, generator=g)
    else:
        aug(x, generator=g)
    assert torch.get_num_threads() == 2
    with pytest.raises((ValueError, TypeError)):
        aug(torch.zeros(2, 3, 8, 8, dtype=torch.int32)) if entry.kind == "transform" else aug(x.float(), torch.zeros(8))
    assert torch.get_num_threads() == 2


def test_parallel_paths_restore_the_callers_threads(two_threads):
    for call in _big_calls():
        call()
        assert torch.get_num_threads() == 2


def test_policy_off_never_sets_threads_and_gives_the_same_results(two_threads, monkeypatch):
    expected = [call() for call in _big_calls()]
    small = [(e, e.example()) for e in TRANSFORMS[:40]]
    calls = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n) or real(n))
    torchaug.set_cpu_threading(False)
    try:
        assert not torchaug.cpu_threading()
        got = [call() for call in _big_calls()]
        for _, t in small:
            t(_images(), generator=torch.Generator().manual_seed(1))
    finally:
        torchaug.set_cpu_threading(True)
    assert calls == []
    for a, b in zip(expected, got):
        for ta, tb in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            assert torch.equal(ta, tb)


def test_set_cpu_threading_rejects_non_bools():
    with pytest.raises(TypeError, match="set_cpu_threading: enabled must be True or False; got 1"):
        torchaug.set_cpu_threading(1)
