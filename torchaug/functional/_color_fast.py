"""The CPU scheduler of ``color_jitter`` (and the chunks of ``color_jitter_fused``): cache-sized
chunks of samples, sorted so that every step runs only on the samples that need it, spread over
threads. A registered fast path (:mod:`torchaug._cpu.registry`) of the one-pass kernel
:func:`torchaug.functional.color._color_jitter`, equal bit for bit (``tests/test_fast_paths.py``).

Every sample runs its three slots and the hue: brightness, contrast and saturation are each
``x * a + ref * (1 - a)`` (``ref`` = 0, the mean grey level or the grey image), so one "slot"
applies whichever of the three a sample has at that point (identity where it has none; on uint8
data a factor of exactly 1 counts as none, see :func:`torchaug.functional.color._jitter_plan`).
On CPU, where reading a few small integers costs nothing, the identity work is skipped, which is
exact: the samples are sorted by how many operations they do before the hue, then by how many
after it, most first, so each slot's samples are contiguous runs of rows (a slot before the hue is
used by the samples with at least that many operations before it: a suffix; a slot after it by a
prefix of each of those groups, at most four runs), and each slot runs on its runs only; a slot
also skips the grey image or its mean when none of its samples needs them. That is about 270
tensor operations per chunk whatever the number of samples in it. Chunks hold about
``THRESHOLDS.jitter_chunk_bytes`` of float work buffer, so the ~60 passes over the data stay in the
core's cache (2-3x faster at 224x224), and are spread over ``torch.get_num_threads()`` Python
threads with one intra-op thread each (:func:`torchaug._cpu.parallel.parallel_for`, only above
``THRESHOLDS.parallel_min_bytes`` of work).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from torchaug._cpu.parallel import parallel_for, thread_budget
from torchaug._cpu.registry import fast_path
from torchaug._cpu.scratch import scratch
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug._devpath import cpu_path
from torchaug.functional import color as _c


def _work_bytes(x: torch.Tensor) -> int:
    """Bytes of the float32 work buffer of the whole batch."""
    return x.numel() * 4


def _chunks(x: torch.Tensor) -> list[tuple[int, int]]:
    """CPU chunks ``[(start, stop), ...]`` of about ``THRESHOLDS.jitter_chunk_bytes`` of float32
    each, at least one per thread when several threads share the batch, their count a multiple of
    the thread count and their sizes within one sample of each other, so that every thread gets
    an equal share (32 images of 224x224: 8 | 8 | 8 | 8; 256 of 32x32: 128 | 128, which took 4.5 ms
    against 6.4 ms as four chunks: fewer, larger ops contend less for the GIL)."""
    b = x.shape[0]
    size = max(1, THRESHOLDS.jitter_chunk_bytes // max(1, x[0].numel() * 4))
    n = thread_budget(x.device, _work_bytes(x))
    k = -(-b // size)
    if n > 1:
        k = min(b, max(k, n))
        k = min(b, -(-k // n) * n)
    bounds = [round(i * b / k) for i in range(k + 1)]
    return [(i, j) for i, j in zip(bounds[:-1], bounds[1:]) if j > i]


def _needs(plan: "_c._JitterPlan", rows: list[int]) -> dict[int, list[int]]:
    """Prefix counts of the contrast and saturation samples of each slot at ``rows``, read on the
    host: slot ``s`` of rows ``i:j`` needs the mean if ``n[j][s] > n[i][s]`` and the grey image if
    ``n[j][6 + s] > n[i][6 + s]``."""
    c = plan.codes
    counts = F.pad(torch.cat([c == _c.CONTRAST, c == _c.SATURATION], 1).to(torch.int32).cumsum(0), (0, 0, 1, 0))
    rows = sorted(set(rows))
    return dict(zip(rows, counts.index_select(0, torch.tensor(rows, device=c.device)).tolist()))


def _chunked_applies(x: torch.Tensor, *args, **kwargs) -> bool:
    return cpu_path(x) and x.shape[0] > 0


def _jitter_examples(x: torch.Tensor, g: torch.Generator) -> list:
    if x.shape[1] not in (1, 3):
        return []
    b = x.shape[0]
    f = lambda lo, hi: lo + (hi - lo) * torch.rand(b, generator=g)  # noqa: E731
    order = torch.rand(b, 4, generator=g).argsort(1)
    cases = [((x, f(0.5, 1.5), f(0.5, 1.5), f(0.5, 1.5), f(-0.3, 0.3), order), {}),
             ((x, f(0.5, 1.5), None, f(0.5, 1.5), f(-0.3, 0.3), order), {}),
             ((x, None, None, None, f(-0.5, 0.5), order), {}),
             ((x, f(0.5, 1.5), f(0.5, 1.5), f(0.5, 1.5), None, order), {}),
             ((x, *(torch.where(torch.rand(b, generator=g) < 0.5, f(0.5, 1.5), 1.0) for _ in range(3)),
               f(-0.3, 0.3), order), {}),  # identity factors (an op not drawn): slots left out on uint8
             ((x, f(0.5, 1.5), f(0.5, 1.5), f(0.5, 1.5), f(-0.3, 0.3), torch.arange(4).repeat(b, 1)), {})]
    return cases


@fast_path(plain=lambda *a, **k: _c._color_jitter(*a), applies=_chunked_applies, examples=_jitter_examples,
           thresholds=("jitter_chunk_bytes", "row_copy_min_bytes", "parallel_min_bytes"),
           name="torchaug.functional._color_fast.color_jitter_chunked")
def color_jitter_chunked(
    x: torch.Tensor,
    brightness_factor: torch.Tensor | None,
    contrast_factor: torch.Tensor | None,
    saturation_factor: torch.Tensor | None,
    hue_factor: torch.Tensor | None,
    order: torch.Tensor,
    *,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`torchaug.functional.color.color_jitter` on a non-empty CPU batch (see the module docstring)."""
    B = x.shape[0]
    plan = _c._jitter_plan(x, brightness_factor, contrast_factor, saturation_factor, hue_factor, order)
    key = plan.n_before * 4 + (3 - plan.n_after)  # before-hue count up, after-hue count down
    counts = torch.bincount(key, minlength=16).tolist()
    perm = None if max(counts) == B else torch.argsort(key, stable=True)
    if perm is not None:
        plan = plan.select(perm)
    starts = [sum(counts[:k]) for k in range(17)]  # first row of each key
    before = [starts[4 * (3 - s)] for s in range(3)]  # before-slot s: rows [before[s], B)
    # after-slot s: in each before-hue group k, the rows with more than s operations after the hue
    after = [[(starts[4 * k], starts[4 * k + 3 - s]) for k in range(4) if starts[4 * k + 3 - s] > starts[4 * k]]
             for s in range(3)]
    chunks = _chunks(x)
    needs = _needs(plan, [*(i for i, _ in chunks), B, *before, *(r for runs in after for run in runs for r in run)])
    # sorted row k is row perm[k] of the input and of the output. Large samples are gathered and
    # scattered one by one inside the (parallel) chunks; small ones with one gather per chunk and
    # one reorder pass over the batch (a reused buffer, put back in order below)
    large = x[0].numel() * x.element_size() >= THRESHOLDS.row_copy_min_bytes
    rows = perm.tolist() if perm is not None and large else None
    final = out
    if perm is None or rows is not None:
        out = torch.empty_like(x) if final is None else final  # each chunk reads its rows before writing them
    else:
        out = scratch("jitter_sorted", tuple(x.shape), x.dtype, x.device)
    wdt = _c._work_dtype(x)

    def one(ij: tuple[int, int]) -> None:
        i, j = ij
        y = scratch("jitter_work", (j - i, *x.shape[1:]), wdt, x.device)
        if rows is not None:
            for k, r in enumerate(rows[i:j]):
                y[k].copy_(x[r])
        elif perm is not None:
            y.copy_(torch.index_select(x, 0, perm[i:j], out=scratch("jitter_src", tuple(y.shape), x.dtype, x.device)))
        else:
            y.copy_(x[i:j])
        for s in range(3):
            _c._jitter_rows_(y, plan, s, max(i, before[s]), j, i, needs)
        if plan.hue is not None:  # the slots' grey plane is free during the hue: a smaller working set
            spare = _c._gray_plane(y)
            _c._hue_w(y, plan.hue[i:j], plan.bound, plan.integer, inplace=True, spare=spare)
        for s in range(3):
            for r0, r1 in after[s]:
                _c._jitter_rows_(y, plan, 3 + s, max(i, r0), min(j, r1), i, needs)
        res = _c._uint8_bits_(y) if plan.integer else y  # y holds integers in [0, 255] for uint8
        if rows is None:
            out[i:j].copy_(res)
        else:
            for k, r in enumerate(rows[i:j]):
                out[r].copy_(res[k])

    parallel_for(one, chunks, x.device, work_bytes=_work_bytes(x))
    if perm is not None and rows is None:  # back to the input's order (``index_copy_`` per chunk is ~10x slower)
        dest = torch.empty(x.shape, dtype=x.dtype, device=x.device) if final is None else final
        out = torch.index_select(out, 0, torch.argsort(perm), out=dest)
    return out if final is not None else _c._keep_format(out, x)
