"""CPU scratch buffers: reused across calls, released by ``free_cpu_scratch`` and with their thread."""

from __future__ import annotations

import gc
import threading

import torch

import torchaug
from torchaug._cpu.scratch import scratch
from torchaug.transforms import ColorJitter


def test_free_cpu_scratch_releases_every_threads_buffers_and_results_stay_equal():
    x = torch.randint(0, 256, (64, 3, 64, 64), dtype=torch.uint8)
    jitter = ColorJitter(0.4, 0.4, 0.4, 0.1)
    before = jitter(x, generator=torch.Generator().manual_seed(0))
    other = threading.Thread(target=lambda: scratch("test-other-thread", (1000,), torch.float32, torch.device("cpu")))
    keep = threading.Event()
    done = threading.Event()

    def hold():  # a live thread with its own buffer
        scratch("test-live-thread", (4096,), torch.float32, torch.device("cpu"))
        done.set()
        keep.wait(10)

    live = threading.Thread(target=hold)
    live.start()
    done.wait(10)
    other.start()
    other.join()
    gc.collect()
    held = torchaug.cpu_scratch_bytes()
    assert held >= 4096 * 4  # the live thread's buffer counts; the finished thread's went with it
    assert torchaug.free_cpu_scratch() == held and torchaug.cpu_scratch_bytes() == 0
    keep.set()
    live.join()
    after = jitter(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(before, after) and torchaug.cpu_scratch_bytes() > 0


def test_scratch_reuses_its_buffer_across_calls():
    cpu = torch.device("cpu")
    a = scratch("test-reuse", (8, 8), torch.float32, cpu)
    b = scratch("test-reuse", (4, 8), torch.float32, cpu)
    assert a.data_ptr() == b.data_ptr()
