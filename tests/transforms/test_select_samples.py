"""``where_samples``: the per-sample select behind ``p`` (bit ops on CPU) equals ``torch.where``."""

from __future__ import annotations

import pytest
import torch

from torchaug.transforms import RandomHorizontalFlip, RandomInvert
from torchaug._cpu.select import where_samples

_INT = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.view(_INT[t.element_size()])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.bool, torch.int64])
def test_where_samples_is_torch_where_bit_for_bit(dtype):
    g = torch.Generator().manual_seed(0)
    a = (torch.randn(6, 3, 4, 5, generator=g) * 100).to(dtype)
    b = (torch.randn(6, 3, 4, 5, generator=g) * 100).to(dtype)
    if dtype.is_floating_point:
        a[0, 0, 0, 0], b[1, 0, 0, 0], a[2, 1, 1, 1] = float("nan"), float("nan"), -0.0
    keep = torch.tensor([True, False, True, True, False, False])
    ref = torch.where(keep.view(-1, 1, 1, 1), a, b)
    for kp, aa in ((keep, a), (keep, a.contiguous(memory_format=torch.channels_last)), (keep[:1].expand(6), a)):
        out = where_samples(kp, aa, b)
        want = torch.where(kp.view(-1, 1, 1, 1), a, b)
        assert out.dtype == dtype and out.shape == a.shape and torch.equal(_bits(out), _bits(want))
    assert torch.equal(_bits(where_samples(keep, a, b)), _bits(ref))
    # a (B,) condition on other ranks, and mismatched inputs fall back to torch.where
    got = where_samples(keep, a[:, 0, 0], b[:, 0, 0])
    assert torch.equal(_bits(got), _bits(torch.where(keep.view(-1, 1), a[:, 0, 0], b[:, 0, 0])))
    assert torch.equal(_bits(where_samples(keep, a, b[:1])), _bits(torch.where(keep.view(-1, 1, 1, 1), a, b[:1])))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_p_blend_keeps_unselected_samples_exactly(dtype):
    x = torch.randint(0, 256, (16, 3, 5, 6), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    x = x if dtype == torch.uint8 else x.float() / 255
    for t in (RandomHorizontalFlip(p=0.5), RandomInvert(p=0.5)):
        out, params = t(x, generator=torch.Generator().manual_seed(3), return_params=True)
        apply = params["apply"]
        assert 0 < int(apply.sum()) < 16
        full = t.transform(x, params)
        assert torch.equal(out[apply], full[apply]) and torch.equal(out[~apply], x[~apply])


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_random_crop_row_copy_equals_slicing_the_padded_image(mode, channels_last):
    from torchaug.transforms import RandomCrop

    x = torch.randint(0, 256, (9, 3, 7, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(4))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    for xx, fill in ((x, 7), (x.float() / 255, 0.25)):  # fill in the image's own scale
        t = RandomCrop((6, 5), padding=(2, 3, 1, 2), fill=fill, padding_mode=mode)
        out, params = t(xx, generator=torch.Generator().manual_seed(5), return_params=True)
        pad_mode = {"edge": "replicate"}.get(mode, mode)
        kw = {"value": float(fill)} if mode == "constant" else {}
        xp = torch.nn.functional.pad(xx.float() if mode != "constant" else xx, (2, 1, 3, 2), mode=pad_mode, **kw).to(xx.dtype)
        ref = torch.stack([
            xp[i, :, int(params["top"][i]) + 3 : int(params["top"][i]) + 9, int(params["left"][i]) + 2 : int(params["left"][i]) + 7]
            for i in range(9)
        ])
        assert torch.equal(out, ref)
        assert out.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_where_samples_writes_into_a_only_when_it_owns_its_memory():
    g = torch.Generator().manual_seed(1)
    b = torch.randint(0, 256, (4, 3, 5, 6), generator=g, dtype=torch.uint8)
    keep = torch.tensor([True, False, False, True])
    a = b.flip(-1)  # a fresh tensor of its own
    want = torch.where(keep.view(-1, 1, 1, 1), a, b)
    out = where_samples(keep, a, b, overwrite_a=True)
    assert out.data_ptr() == a.data_ptr() and torch.equal(out, want)
    # ``a`` aliasing ``b`` (a transform that returned its input, or a view of it) or part of a
    # larger buffer: a new tensor, and ``a`` keeps its values
    flipped = b.flip(-1)
    for a2, b2 in ((b, b), (b[:, :, :, :], b), (torch.cat([flipped, b])[:4], b)):
        before = a2.clone()
        out = where_samples(keep, a2, b2, overwrite_a=True)
        assert out.data_ptr() != a2.data_ptr() and torch.equal(a2, before)
        assert torch.equal(out, torch.where(keep.view(-1, 1, 1, 1), before, b2))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_run_by_group_puts_every_result_back_in_place(dtype, channels_last):
    from torchaug._cpu.select import run_by_group

    g = torch.Generator().manual_seed(3)
    x = (torch.rand(11, 3, 5, 6, generator=g) * 200).to(dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    group = torch.tensor([2, 0, 2, 3, 0, 0, 2, 3, 2, 0, 3])
    counts = torch.bincount(group, minlength=4).tolist()  # group 1 is empty
    seen = []

    def fn(k, part, rows):
        seen.append((k, rows.tolist()))
        assert torch.equal(part, x[rows])
        return part + (k + 1) if k != 3 else part.flip(-1)

    out = run_by_group(x, group, counts, fn)
    assert seen == [(0, [1, 4, 5, 9]), (2, [0, 2, 6, 8]), (3, [3, 7, 10])]  # ascending groups, ascending rows
    for b in range(11):
        k = int(group[b])
        assert torch.equal(out[b], x[b] + (k + 1) if k != 3 else x[b].flip(-1))
    assert out.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


@pytest.mark.parametrize("into_x", [False, True])
def test_run_by_group_into_writes_each_group_into_its_rows(into_x):
    from torchaug._cpu.select import run_by_group_into

    g = torch.Generator().manual_seed(4)
    x = torch.randint(0, 200, (9, 3, 4, 5), generator=g, dtype=torch.uint8)
    x0 = x.clone()
    group = torch.tensor([1, 0, 1, 2, 0, 1, 2, 2, 0])
    counts = torch.bincount(group, minlength=3).tolist()
    seen = []

    def fn(k, part, rows):
        seen.append((k, None if rows is None else rows.tolist()))
        return part + 10 * (k + 1)

    out = x if into_x else torch.zeros_like(x)
    assert run_by_group_into(out, x, group, counts, fn, skip=2) is out
    assert seen == [(0, [1, 4, 8]), (1, [0, 2, 5])]  # group 2 skipped
    for b in range(9):
        k = int(group[b])
        assert torch.equal(out[b], x0[b] if k == 2 else x0[b] + 10 * (k + 1))
    seen.clear()
    whole = x0.clone()  # a group holding the whole batch gets rows=None and the batch itself
    run_by_group_into(whole, whole, torch.zeros(9, dtype=torch.long), [9, 0, 0], fn)
    assert seen == [(0, None)] and torch.equal(whole, x0 + 10)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.uint16])
def test_copy_rows_equals_index_copy_for_every_layout_pair(dtype):
    from torchaug._cpu.select import copy_rows_

    g = torch.Generator().manual_seed(5)
    x = torch.randint(0, 200, (6, 3, 4, 6), generator=g).to(dtype)
    index = torch.tensor([4, 0, 3])
    fmts = (torch.contiguous_format, torch.channels_last)
    for out_fmt in fmts:
        for src_fmt in fmts:
            src = torch.randint(0, 200, (3, 3, 4, 6), generator=g).to(dtype).contiguous(memory_format=src_fmt)
            out = copy_rows_(x.clone().contiguous(memory_format=out_fmt), index, src)
            ref = x.clone()
            for i, r in enumerate(index.tolist()):
                ref[r] = src[i]
            assert torch.equal(out, ref) and out.is_contiguous(memory_format=out_fmt)


def _out_transforms():
    from torchaug import registry
    from torchaug.transforms._base import RandomTransform, _accepts_out

    registry.load_all()
    return [e for e in registry.registered("transform")
            if isinstance(e.cls, type) and issubclass(e.cls, RandomTransform) and _accepts_out(e.cls)
            and e.cls.keeps_size]


@pytest.mark.parametrize("entry", _out_transforms(), ids=lambda e: e.name)
@pytest.mark.parametrize("channels_last", [False, True])
def test_p_blend_of_a_held_batch_copies_it_once_and_keeps_it(entry, channels_last):
    """A batch the caller holds, ``p < 1``: the base copies it and runs the op on the selected
    samples only (in place in the copy). Same images as the op on every sample merged by
    ``torch.where``; the caller's batch is untouched; channels-last stays channels-last."""
    t = entry.example()
    t.p = 0.5
    x = torch.randint(0, 256, (10, 3, 12, 14), dtype=torch.uint8, generator=torch.Generator().manual_seed(7))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    before = x.clone()
    out, params = t(x, generator=torch.Generator().manual_seed(8), return_params=True)
    apply = params["apply"]
    assert 0 < int(apply.sum()) < 10
    assert torch.equal(x, before)
    want = torch.where(apply.view(-1, 1, 1, 1), t.transform(x, params), x)
    assert torch.equal(out, want)
    if channels_last:
        assert out.is_contiguous(memory_format=torch.channels_last)
