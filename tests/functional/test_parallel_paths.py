"""The CPU fast paths: work spread over Python threads, ColorJitter grouped by hue position.

Every fast path must give exactly the result of the plain path (same bits), whatever the
number of threads; the tests run with one intra-op thread (``OMP_NUM_THREADS=1`` in CI), so
they raise ``torch.set_num_threads`` themselves to exercise the thread pool.
"""

from __future__ import annotations

import threading

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from torchaug.functional import color as FC
from torchaug.functional import geometry as FG
from torchaug._cpu import parallel as P
from torchaug._cpu.parallel import parallel_for
from torchaug._cpu.thresholds import THRESHOLDS


@pytest.fixture
def threads():
    """Run the test body with ``n`` torch threads, restoring the setting afterwards."""
    before = torch.get_num_threads()

    def set_to(n: int) -> None:
        torch.set_num_threads(n)

    yield set_to
    torch.set_num_threads(before)


def _jitter_args(b: int, seed: int = 0, enabled=(True, True, True, True)):
    g = torch.Generator().manual_seed(seed)
    facs = [0.3 + 1.4 * torch.rand(b, generator=g) for _ in range(3)] + [torch.rand(b, generator=g) - 0.5]
    facs = [f if e else None for f, e in zip(facs, enabled)]
    order = torch.rand(b, 4, generator=g).argsort(1)
    return facs, order


@pytest.mark.parametrize("n", [1, 2, 3])
def test_parallel_for_runs_every_item_once_and_restores_threads(threads, n):
    threads(n)
    seen, names = [], set()
    lock = threading.Lock()

    def fn(i: int) -> None:
        with lock:
            seen.append(i)
            names.add(threading.current_thread().name)
        assert torch.get_num_threads() == 1  # one intra-op thread inside the loop

    parallel_for(fn, list(range(7)), torch.device("cpu"))
    assert sorted(seen) == list(range(7))
    assert torch.get_num_threads() == n
    assert (len(names) > 1) == (n > 1)  # the caller took the first share, pool threads the others


def test_parallel_for_keeps_small_loops_on_one_thread(threads):
    threads(2)
    names = set()

    def fn(i: int) -> None:
        names.add(threading.current_thread().name)

    parallel_for(fn, list(range(8)), torch.device("cpu"), work_bytes=THRESHOLDS.parallel_min_bytes - 1)
    assert names == {threading.current_thread().name}
    parallel_for(fn, list(range(8)), torch.device("cpu"), work_bytes=THRESHOLDS.parallel_min_bytes)
    assert len(names) == 2
    assert P.thread_budget(torch.device("cpu"), 0) == 1 and P.thread_budget(torch.device("cpu")) == 2


def test_parallel_for_raises_item_errors_and_runs_nested_loops_inline(threads):
    threads(2)

    def bad(i: int) -> None:
        if i == 3:
            raise ValueError("item 3")

    with pytest.raises(ValueError, match="item 3"):
        parallel_for(bad, list(range(4)), torch.device("cpu"))
    assert torch.get_num_threads() == 2
    out = []

    def outer(i: int) -> None:
        inner = []
        parallel_for(inner.append, [10 * i, 10 * i + 1], torch.device("cpu"))
        out.append(inner)

    parallel_for(outer, [0, 1], torch.device("cpu"))
    assert sorted(out) == [[0, 1], [10, 11]]


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize(
    "enabled", [(True, True, True, True), (True, False, True, True), (False, False, False, True), (True, True, True, False)]
)
def test_grouped_color_jitter_equals_one_pass_bit_for_bit(threads, dtype, enabled, force_thresholds):
    # sorting by hue position and skipping identity work must not change a single bit, with one
    # or two threads and with chunks smaller than a group
    force_thresholds(parallel_min_bytes=0)  # spread even this tiny batch over the threads
    b = 40
    x = torch.randint(0, 256, (b, 3, 6, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    x = x if dtype == torch.uint8 else x.float() / 255
    facs, order = _jitter_args(b, enabled=enabled)
    ref = FC._color_jitter(x, *facs, order)
    for n in (1, 2):
        threads(n)
        assert torch.equal(FC.color_jitter(x, *facs, order), ref)
    force_thresholds(jitter_chunk_bytes=3 * 6 * 7 * 4 * 3)  # 3 samples per chunk
    assert torch.equal(FC.color_jitter(x, *facs, order), ref)
    xc = x.contiguous(memory_format=torch.channels_last)
    out = FC.color_jitter(xc, *facs, order)
    assert out.is_contiguous(memory_format=torch.channels_last) and torch.equal(out, ref)


def test_hue_matches_torchvision_on_ties_greys_and_extremes():
    g = torch.Generator().manual_seed(0)
    n = 600
    x = torch.randint(0, 256, (n, 3, 4, 4), dtype=torch.uint8, generator=g)
    x[:100, 1] = x[:100, 0]  # r == g
    x[100:200, 2] = x[100:200, 1]  # g == b
    x[200:300, 0] = x[200:300, 2]  # r == b
    x[300:400] = x[300:400, :1]  # grey
    x[400:450, 0] = 255
    x[450:500, 1] = 0
    vals = [0.5, -0.5, 0.0, 0.37, -0.21, 0.05]  # sample i gets vals[i % 6]
    f = torch.tensor(vals).repeat(n // len(vals))

    def torchvision(img: torch.Tensor) -> torch.Tensor:
        ref = torch.empty_like(img)
        for k, v in enumerate(vals):  # torchvision takes one factor per call: one call per value
            ref[k :: len(vals)] = TF.adjust_hue(img[k :: len(vals)], v)
        return ref

    out, ref = FC.adjust_hue(x, f), torchvision(x)
    d = (out.int() - ref.int()).abs()
    assert int(d.max()) <= 1 and float((d > 0).float().mean()) < 1e-3
    xf = x.float() / 255
    torch.testing.assert_close(FC.adjust_hue(xf, f), torchvision(xf), rtol=0, atol=1e-5)
    assert torch.equal(FC.adjust_hue(x[300:400], f[300:400]), x[300:400])  # greys have no hue


def test_resized_crop_loop_is_the_same_with_threads(threads):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (6, 3, 20, 24), dtype=torch.uint8, generator=g)
    top, left = torch.tensor([0, 2, 5, 1, 0, 3]), torch.tensor([0, 4, 1, 7, 2, 0])
    height, width = torch.tensor([20, 9, 15, 6, 18, 12]), torch.tensor([24, 11, 20, 17, 8, 21])
    outs = []
    for n in (1, 2, 3):
        threads(n)
        outs.append(FG.resized_crop(x, top, left, height, width, (16, 16), method="loop"))
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    ref = torch.stack([
        TF.resized_crop(x[i], int(top[i]), int(left[i]), int(height[i]), int(width[i]), [16, 16], antialias=True)
        for i in range(6)
    ])
    assert torch.equal(outs[0], ref)


def test_one_op_thread_keeps_the_loop_budget(threads):
    from torchaug._cpu.parallel import one_op_thread

    threads(2)
    seen = set()
    with one_op_thread(torch.device("cpu")):
        assert torch.get_num_threads() == 1
        parallel_for(lambda i: seen.add(threading.current_thread().name), [0, 1, 2, 3], torch.device("cpu"))
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2 and len(seen) == 2  # the loop still used two threads


def test_memory_bound_transforms_restore_the_thread_count(threads):
    from torchaug.transforms import ColorJitter, Compose, RandomCrop, RandomErasing, RandomHorizontalFlip

    threads(2)
    x = torch.randint(0, 256, (8, 3, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    pipe = Compose([RandomCrop(10, padding=2), RandomHorizontalFlip(), ColorJitter(0.4, 0.4, 0.4, 0.1), RandomErasing()])
    out2, params = pipe(x, generator=torch.Generator().manual_seed(1), return_params=True)
    assert torch.get_num_threads() == 2
    threads(1)
    assert torch.equal(pipe(x, params=params), out2)  # the same result with one thread


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_parallel_for_works_in_a_forked_child(threads):
    import multiprocessing as mp

    threads(2)
    parallel_for(lambda i: None, [0, 1, 2], torch.device("cpu"))  # the parent's pool exists now
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_child_parallel_sum, (2,)).get(timeout=60) == 45  # hangs without the fork hook


def _child_parallel_sum(n: int) -> int:
    torch.set_num_threads(n)
    seen = []
    parallel_for(seen.append, list(range(10)), torch.device("cpu"))
    return sum(seen)
