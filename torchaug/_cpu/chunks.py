"""Run a per-sample kernel on chunks of the batch, one intra-op thread per chunk (CPU).

The blur/filter/noise/quality kernels treat every sample independently, and are each a chain of
a few whole-batch passes (cast, pad, convolution, rounding). With several OpenMP threads each
pass opens a parallel region, and on a busy machine every region waits for a time slice on
every core (see :mod:`torchaug._cpu.threads`): measured on the loaded 2-core machine, a 3x3 sharpen
of 256x3x32x32 uint8 went from 38,000 img/s with one thread to a few hundred with two. Here the
batch is split into one chunk per thread (:func:`torchaug._cpu.parallel.parallel_for`:
Python threads, one intra-op thread each; small batches run on one thread), so no pass waits
for another core. Results are the same as one call on the whole batch (every sample's
parameters are sliced with it), bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from torchaug._devpath import cpu_path
from torchaug._cpu.parallel import one_op_thread, parallel_for, thread_budget
from torchaug._cpu.registry import fast_path


def _keep_format(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``out`` in ``like``'s memory format (channels_last kept)."""
    if like.ndim == 4 and not like.is_contiguous() and like.is_contiguous(memory_format=torch.channels_last):
        return out.contiguous(memory_format=torch.channels_last)
    return out


def _run_whole(fn: Callable[..., torch.Tensor], x: torch.Tensor, per_sample: tuple[Any, ...] = (),
               shared: tuple[Any, ...] = (), *, work_factor: int = 4, chunk_bytes: int | None = None) -> torch.Tensor:
    """``fn(x, *per_sample, *shared)``: one call on the whole batch, the reference of :func:`run_chunked`."""
    return fn(x, *per_sample, *shared)


def _chunked_examples(x: torch.Tensor, g: torch.Generator) -> list:
    from torchaug.functional import blur as FB, noise as FN

    b = x.shape[0]
    k = 1 + 2 * torch.randint(0, 3, (b,), generator=g)
    noise = torch.randn(x.shape, generator=g) * 0.1
    cases = [((FB._median_blur_impl, x, (k,), (5,)), {"work_factor": 32}), ((FN.add_noise, x, (noise,)), {}),
             ((FN.add_noise, x, (noise,)), {"chunk_bytes": max(1, x[:3].numel() * 4)})]
    # (a float box blur of one-channel images differs by 1 ulp between batch sizes: PyTorch's CPU
    # convolution picks another algorithm. Known gap, docs/adding_a_transform.md; 3 channels are exact)
    if x.shape[1] == 3 or not x.is_floating_point():
        cases.append(((FB._box_blur_impl, x, (k,), (5,)), {}))
        sigma = (torch.rand(b, 2, generator=g) * 1.9 + 0.1).to(x.device)
        ks = (min(9, 2 * ((x.shape[-1] - 1) // 2) + 1), min(7, 2 * ((x.shape[-2] - 1) // 2) + 1))
        cases.append(((FN._gaussian_blur_whole, x, (sigma,), (ks,)), {"chunk_bytes": max(1, x[:2].numel() * 4)}))
    return cases


@fast_path(plain=_run_whole, examples=_chunked_examples, thresholds=("parallel_min_bytes",))
def run_chunked(
    fn: Callable[..., torch.Tensor], x: torch.Tensor, per_sample: tuple[Any, ...] = (), shared: tuple[Any, ...] = (),
    *, work_factor: int = 4, chunk_bytes: int | None = None,
) -> torch.Tensor:
    """``fn(x, *per_sample, *shared)`` for a kernel that maps each sample of ``x`` to a sample of
    the same shape. ``per_sample``: tensors ``(B, ...)`` sliced with ``x``; ``shared``: passed
    whole. ``work_factor``: bytes of work per element of ``x`` (for the threshold below which one
    thread runs the whole batch). ``chunk_bytes``: also split so that no chunk holds more than this
    many bytes of float32 image (chunks stay in cache), however many threads run them. Off the CPU:
    one plain call.
    """
    B = x.shape[0]
    if not cpu_path(x) or B < 2:
        return fn(x, *per_sample, *shared)
    with one_op_thread(x.device):
        n = min(thread_budget(x.device, x.numel() * work_factor), B)
        if chunk_bytes is not None:  # at least that many chunks, a multiple of the threads (even shares)
            need = -(-x.numel() * 4 // chunk_bytes)
            n = min(B, -(-need // n) * n)
        if n < 2:
            return fn(x, *per_sample, *shared)
        bounds = [round(i * B / n) for i in range(n + 1)]
        outs: list[torch.Tensor | None] = [None] * n

        def part(i: int) -> None:
            s, e = bounds[i], bounds[i + 1]
            outs[i] = fn(x[s:e], *(a[s:e] for a in per_sample), *shared)

        parallel_for(part, list(range(n)), x.device)
    out = torch.cat([o for o in outs if o is not None], dim=0)
    return _keep_format(out, x)
