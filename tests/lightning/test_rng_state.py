"""Checkpointed random state: CPU, CUDA (simulated on CPU) and the augmentation generator, restored
across device types without failing."""

from __future__ import annotations

import logging

import torch

from torchaug.lightning import module as mod
from torchaug.lightning.module import capture_rng_state, restore_rng_state


class FakeCudaGenerator:
    """Stands in for a torch.Generator on "cuda": Philox state of 16 bytes; refuses a CPU state as CUDA does."""

    device = torch.device("cuda")

    def __init__(self):
        self.state = torch.zeros(16, dtype=torch.uint8)
        self.seeded = None

    def get_state(self):
        return self.state.clone()

    def set_state(self, state):
        if state.numel() != 16:
            raise RuntimeError("RNG state is wrong size")
        self.state = state.clone()

    def manual_seed(self, seed):
        self.seeded = seed
        return self


def _fake_cuda(monkeypatch, n=2):
    saved = {}
    states = [torch.full((16,), i + 1, dtype=torch.uint8) for i in range(n)]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: states)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, i: saved.__setitem__(i, s.clone()))
    return states, saved


def test_checkpoint_carries_cuda_states_when_cuda_is_used(monkeypatch):
    states, restored = _fake_cuda(monkeypatch)
    g = FakeCudaGenerator()
    rng = capture_rng_state(g)
    assert [torch.equal(a, b) for a, b in zip(rng["cuda"], states)] == [True, True]
    assert rng["augment_device"] == "cuda" and rng["augment"].numel() == 16
    done = restore_rng_state(rng, FakeCudaGenerator())
    assert done == {"torch": "restored", "augment": "restored", "cuda": "restored"}
    assert torch.equal(restored[0], states[0]) and torch.equal(restored[1], states[1])


def test_cpu_checkpoint_has_no_cuda_part():
    rng = capture_rng_state(torch.Generator().manual_seed(0))
    assert "cuda" not in rng and rng["augment_device"] == "cpu"


def test_cpu_checkpoint_resumed_on_a_gpu_reseeds_instead_of_failing(caplog):
    cpu_state = capture_rng_state(torch.Generator().manual_seed(0))
    g = FakeCudaGenerator()
    with caplog.at_level(logging.WARNING):
        done = restore_rng_state(cpu_state, g, seed=3, rank=1, epoch=2)
    assert done["augment"].startswith("re-seeded (saved on cpu, resumed on cuda)") and "cuda" not in done
    from torchaug.seeding import derive_seed

    assert g.seeded == derive_seed(3, "augment", 1, "resumed", 2)  # reproducible
    assert "cannot move between device types" in caplog.text


def test_gpu_checkpoint_resumed_on_the_cpu(monkeypatch):
    states, _ = _fake_cuda(monkeypatch, n=1)
    gpu_state = capture_rng_state(FakeCudaGenerator())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    g = torch.Generator()
    done = restore_rng_state(gpu_state, g, seed=0)
    assert done["cuda"] == "skipped (no CUDA here)" and done["augment"].startswith("re-seeded")
    a = torch.rand(3, generator=g)
    g2 = torch.Generator()
    restore_rng_state(gpu_state, g2, seed=0)
    torch.testing.assert_close(a, torch.rand(3, generator=g2))


def test_old_checkpoint_without_device_key_is_told_apart_by_state_size():
    cpu = {"torch": torch.get_rng_state(), "augment": torch.Generator().get_state()}
    gpu = {"torch": torch.get_rng_state(), "augment": torch.zeros(16, dtype=torch.uint8)}
    assert mod._saved_device(cpu) == "cpu" and mod._saved_device(gpu) == "cuda"
    g = torch.Generator().manual_seed(5)
    expected = torch.rand(4, generator=torch.Generator().manual_seed(5))
    restore_rng_state({"torch": torch.get_rng_state(), "augment": g.get_state()}, torch.Generator())
    gen = torch.Generator()
    restore_rng_state({"torch": torch.get_rng_state(), "augment": g.get_state()}, gen)
    torch.testing.assert_close(torch.rand(4, generator=gen), expected)


def test_global_cpu_rng_is_restored():
    state = capture_rng_state(None)
    a = torch.rand(5)
    restore_rng_state(state, None)
    torch.testing.assert_close(torch.rand(5), a)
