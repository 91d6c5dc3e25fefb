"""Per-sample selection on CPU: ``where(keep, a, b)`` as bit operations, and applying an op only to
the selected samples of a batch, written into that batch's own memory.

These carry the per-sample probability ``p`` of every transform (the samples not selected are
returned unchanged): :class:`torchaug.transforms._base.RandomTransform` calls them, transforms
never do. Both are registered fast paths (:mod:`torchaug._cpu.registry`) of ``torch.where``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch

from torchaug._cpu.parallel import one_op_thread
from torchaug._cpu.registry import fast_path
from torchaug._cpu.thresholds import THRESHOLDS
from torchaug._devpath import cpu_path

_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def owns_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` is a whole dense tensor of its own storage, shared with no view of ``b``."""
    return (
        a.untyped_storage().data_ptr() != b.untyped_storage().data_ptr()
        and a.storage_offset() == 0
        and (a.is_contiguous() or a.is_contiguous(memory_format=torch.channels_last))
        and a.untyped_storage().nbytes() == a.numel() * a.element_size()
    )


def where_samples_plain(keep: torch.Tensor, a: torch.Tensor, b: torch.Tensor, **_: bool) -> torch.Tensor:
    """``torch.where(keep.view(-1, 1, 1, 1), a, b)``: the reference of :func:`where_samples`."""
    return torch.where(keep.view(-1, *([1] * (a.ndim - 1))), a, b)


def _where_applies(keep: torch.Tensor, a: torch.Tensor, b: torch.Tensor, **_: bool) -> bool:
    return (
        cpu_path(a)
        and a.element_size() in _BITS
        and a.shape == b.shape
        and a.dtype == b.dtype
        and not a.is_complex()
        and a.ndim > 0
    )


def _select_examples(x: torch.Tensor, g: torch.Generator) -> list:
    keep = torch.rand(x.shape[0], generator=g) < 0.5
    other = torch.flip(x, (-1,))
    if x.is_floating_point():  # NaN and -0.0 must survive bit for bit
        other = other.clone()
        other[0, 0, 0, :2] = torch.tensor([float("nan"), -0.0], dtype=x.dtype)
    return [((keep, other, x), {}), ((keep, other.contiguous(), x), {"overwrite_a": True}),
            ((keep, other.contiguous(), x.contiguous()), {"overwrite_b": True})]


@fast_path(plain=where_samples_plain, applies=_where_applies, examples=_select_examples, mutates=(1, 2))
def where_samples(
    keep: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, overwrite_a: bool = False, overwrite_b: bool = False
) -> torch.Tensor:
    """``torch.where(keep.view(-1, 1, 1, 1), a, b)``: sample ``i`` of ``a`` where ``keep[i]``, else of ``b``.

    Bit-exact for every dtype (NaN and -0.0 included). On CPU it runs as integer bit operations
    on the tensors' bits (``b ^ ((a ^ b) & mask)`` with an all-ones/all-zeros mask per sample),
    with one intra-op thread (a copy-like pass): ``torch.where``'s CPU kernel with a
    ``(B, 1, 1, 1)`` condition is ~10x slower (measured: 9.9 ms against 0.8 ms for 32x3x224x224
    uint8, 1 thread). Other devices, or ``a``/``b`` of different shapes or dtypes, use
    ``torch.where``.

    ``overwrite_a=True`` lets the CPU path write the result into ``a`` (a fresh, dense tensor that
    shares no memory with ``b``): no new multi-megabyte tensor, whose first touch page-faults in
    (on the benchmark machine that doubled the time of a ``p=0.5`` flip of 32x3x224x224 uint8).
    ``overwrite_b=True`` writes it into ``b`` instead, using such an ``a`` as the temporary.
    """
    if not _where_applies(keep, a, b):
        return where_samples_plain(keep, a, b)
    it = _BITS[a.element_size()]
    with one_op_thread(a.device):
        m = torch.neg(keep.to(device=a.device, dtype=it)).view(-1, *([1] * (a.ndim - 1)))  # 0 or all bits set
        ai, bi = a.view(it), b.view(it)
        out = ai.bitwise_xor_(bi) if (overwrite_a or overwrite_b) and owns_memory(a, b) else torch.bitwise_xor(ai, bi)
        out.bitwise_and_(m)
        return (bi.bitwise_xor_(out) if overwrite_b else out.bitwise_xor_(bi)).view(a.dtype)


#: ``fn(part, rows, out)`` of :func:`apply_into`: the op on ``part = x[rows]`` (a slice of samples),
#: written into ``out`` when it is given (``out is part``), else returned as a new tensor
IntoFn = Callable[[torch.Tensor, slice, "torch.Tensor | None"], torch.Tensor]


def apply_into_plain(x: torch.Tensor, apply: torch.Tensor | None, fn: IntoFn) -> torch.Tensor:
    """``where(apply, fn(x), x)``: the reference of :func:`apply_into` (a new tensor)."""
    new = fn(x, slice(0, x.shape[0]), None)
    return new if apply is None else torch.where(apply.view(-1, *([1] * (x.ndim - 1))), new, x)


def _flip_fn(part: torch.Tensor, rows: slice, out: torch.Tensor | None) -> torch.Tensor:
    new = part.flip(-1)
    return new if out is None else out.copy_(new)


def _into_examples(x: torch.Tensor, g: torch.Generator) -> list:
    keep = torch.rand(x.shape[0], generator=g) < 0.5
    return [((x.clone(), keep, _flip_fn), {}), ((x.clone(), None, _flip_fn), {}),
            ((x.clone(), torch.zeros_like(keep), _flip_fn), {})]


@fast_path(plain=apply_into_plain, applies=lambda x, apply, fn: cpu_path(x), examples=_into_examples,
           thresholds=("into_chunk_bytes", "into_run_min_bytes"), mutates=(0,))
def apply_into(x: torch.Tensor, apply: torch.Tensor | None, fn: IntoFn) -> torch.Tensor:
    """``x[i] = fn(x)[i]`` where ``apply[i]`` (None: every sample), written into ``x`` (CPU); returns ``x``.

    ``fn(part, rows, out)`` maps a slice of samples ``part = x[rows]`` to a tensor of the same shape
    and dtype, sample by sample, written into ``out`` when it is given (then ``out is part``).
    ``apply=None``: one call on the whole batch, into ``x``. Otherwise (``apply`` is read on the
    host): samples of at least ``THRESHOLDS.into_run_min_bytes`` are rewritten run by run of
    consecutive selected samples, into ``x``; smaller ones block by block of about
    ``THRESHOLDS.into_chunk_bytes``, skipping blocks without a selected sample and merging partly
    selected blocks with :func:`where_samples`. Exact for every dtype.
    """
    b = x.shape[0]
    if apply is None:
        return fn(x, slice(0, b), x)
    sel = apply.tolist()
    sample_bytes = x[0].numel() * x.element_size()
    if sample_bytes >= THRESHOLDS.into_run_min_bytes:
        i = 0
        for chosen, run in itertools.groupby(sel):
            j = i + len(list(run))
            if chosen:
                part = x[i:j]
                fn(part, slice(i, j), part)
            i = j
        return x
    rows = max(1, THRESHOLDS.into_chunk_bytes // max(1, sample_bytes))
    for i in range(0, b, rows):
        j = min(b, i + rows)
        n = sum(sel[i:j])
        if n == 0:
            continue
        part = x[i:j]
        if n == j - i:
            fn(part, slice(i, j), part)
        else:
            where_samples(apply[i:j], fn(part, slice(i, j), None), part, overwrite_b=True)
    return x


def copy_rows_plain(out: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``out.index_copy_(0, index, src)``: the reference of :func:`copy_rows_`."""
    return out.index_copy_(0, index, src)


def _sample_rows(t: torch.Tensor) -> int:
    """Bytes per sample when every sample of ``t`` is one dense block (contiguous or
    channels_last), else 0."""
    if t.ndim < 2 or (t.storage_offset() * t.element_size()) % 8:
        return 0
    dense = t.is_contiguous() or (t.ndim == 4 and t.is_contiguous(memory_format=torch.channels_last))
    return t[0].numel() * t.element_size() if dense and t.stride(0) == t[0].numel() else 0


def _rows_applies(out: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> bool:
    row = _sample_rows(out)
    return (cpu_path(out) and out.dtype == src.dtype and row > 0 and row == _sample_rows(src)
            and out.stride()[1:] == src.stride()[1:] and row % 8 == 0)


def _rows_examples(x: torch.Tensor, g: torch.Generator) -> list:
    fmt = _format_of(x)
    y = torch.cat([x] * 8, 1).contiguous(memory_format=fmt)  # samples of a multiple of 8 bytes
    index = torch.randperm(x.shape[0], generator=g)[: max(1, x.shape[0] // 2)]
    src = torch.flip(y[: index.numel()], (-1,)).contiguous(memory_format=fmt)
    return [((y, index, src), {})]


def _format_of(x: torch.Tensor) -> torch.memory_format:
    cl = x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if cl else torch.contiguous_format


@fast_path(plain=copy_rows_plain, applies=_rows_applies, examples=_rows_examples, mutates=(0,))
def copy_rows_(out: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``out.index_copy_(0, index, src)`` (sample ``index[i]`` of ``out`` becomes ``src[i]``); returns ``out``.

    On CPU, samples stored as dense blocks of a multiple of 8 bytes are copied as int64 rows: the
    uint8 ``index_copy_`` kernel moves one byte at a time (6 of 12 uint8 samples of 3x224x224:
    743 us, as int64 rows 128 us, one thread). Elsewhere, or for other layouts, ``index_copy_``
    (uint16, which has no CPU ``index_copy_``, through its int16 bits).
    """
    if not _rows_applies(out, index, src):
        if out.dtype == torch.uint16 and src.dtype == torch.uint16:  # no uint16 index_copy_ on CPU: the same bits
            out.view(torch.int16).index_copy_(0, index, src.view(torch.int16))
            return out
        return copy_rows_plain(out, index, src)
    n = out[0].numel()  # each sample one dense block, laid out alike in ``out`` and ``src``
    wide = out.as_strided((out.shape[0], n), (n, 1), out.storage_offset()).view(torch.int64)
    part = src.as_strided((src.shape[0], n), (n, 1), src.storage_offset()).view(torch.int64)
    wide.index_copy_(0, index, part)
    return out


def run_by_group_into(
    out: torch.Tensor, x: torch.Tensor, group: torch.Tensor, counts: list[int],
    fn: Callable[[int, torch.Tensor, torch.Tensor | None], torch.Tensor], skip: int | None = None,
) -> torch.Tensor:
    """:func:`run_by_group` writing each group's result into its samples' rows of ``out`` (which
    may be ``x`` itself: every group reads its own rows before writing them) by
    :func:`copy_rows_`; a group that holds the whole batch gets ``rows=None`` and the batch itself.
    Group ``skip`` is left out (with ``out is x``: its samples stay as they are; otherwise they
    are copied). No gathered copy of the batch and no reordering pass: on CPU, one gather and one
    row copy per sample that some group changes. Returns ``out``."""
    b = x.shape[0]
    order = torch.argsort(group, stable=True)
    first = 0
    for k, n in enumerate(counts):
        if n:
            rows = None if n == b else order[first:first + n]
            if k != skip:
                res = fn(k, x if rows is None else x.index_select(0, rows), rows)
            elif out is not x:
                res = x if rows is None else x.index_select(0, rows)
            else:
                res = None
            if res is not None and res is not out:
                if rows is None:
                    out.copy_(res)
                else:
                    copy_rows_(out, rows, res)
        first += n
    return out


def run_by_group(
    x: torch.Tensor, group: torch.Tensor, counts: list[int],
    fn: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Run ``fn(k, x_k, rows_k)`` on the samples of every group ``k`` with ``counts[k] > 0``
    (``rows_k``: their indices, ascending; ``x_k``: those samples) and put each result back at
    its samples' places: ``(B, ...)`` in ``x``'s sample order.

    ``group`` ``(B,)`` int64 holds each sample's group, ``counts`` its histogram (the caller read it
    already to skip empty groups). One stable sort puts the groups together, so each ``x_k`` is a
    slice of one gathered copy and one gather restores the order: row gathers by ``index_select``
    (on CPU, uint8 ``x[rows]`` and ``out.index_copy_`` measured ~25x slower). Groups run in
    ascending ``k``, so a random stream drawn inside ``fn`` is consumed in a fixed order.
    """
    order = torch.argsort(group, stable=True)
    xs = x.index_select(0, order)
    parts, first = [], 0
    for k, n in enumerate(counts):
        if n:
            parts.append(fn(k, xs[first:first + n], order[first:first + n]))
        first += n
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel(), device=order.device)
    out = torch.cat(parts).index_select(0, inverse)
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        out = out.contiguous(memory_format=torch.channels_last)
    return out
