"""The chunked CPU path of the issue-23 part A kernels (``torchaug._cpu.chunks``) equals one
plain call of the kernel on the whole batch, bit for bit."""

from __future__ import annotations

import pytest
import torch

from torchaug._cpu import parallel as _parallel
from torchaug.functional import blur as FB
from torchaug.functional import filters as FF
from torchaug.functional import pixel_noise as FP
from torchaug.functional import quality as FQ


@pytest.fixture
def two_threads(force_thresholds):
    force_thresholds(parallel_min_bytes=0)  # chunk even these small batches
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def _cases():
    g = torch.Generator().manual_seed(0)
    B = 5
    k = torch.tensor([3, 5, 7, 3, 5])
    ker = FB.motion_kernels(k, torch.rand(B, generator=g) * 360, torch.rand(B, generator=g) * 2 - 1, torch.zeros(B, 2), 7)
    P = (18 - 4) * (18 - 4)
    return {
        "filter2d": (FB.filter2d, FB._filter2d_impl, (ker,)),
        "filter2d_shared": (FB.filter2d, FB._filter2d_impl, (ker[0],)),
        "box_blur": (FB.box_blur, FB._box_blur_impl, (k, 7)),
        "median_blur": (FB.median_blur, FB._median_blur_impl, (k, 7)),
        "zoom_blur": (FB.zoom_blur, FB._zoom_blur_impl, (1 + torch.rand(B, 6, generator=g).cumsum(1) * 0.05, torch.tensor([1, 6, 3, 2, 5]))),
        "glass_blur": (lambda x, d: FB.glass_blur(x, 0.7, 2, d), lambda x, d: FB._glass_blur_impl(x, 0.7, 2, d),
                       (torch.randint(-2, 2, (B, P, 2, 2), generator=g),)),
        "unsharp_mask": (FF.unsharp_mask, FF._unsharp_mask_impl, (k, torch.zeros(B), torch.full((B,), 0.5), 10, 7)),
        "multiply": (FP.multiply, FP._multiply_impl, (0.5 + torch.rand(B, 1, 18, 18, generator=g),)),
        "add_field": (FP.add_field, FP._add_field_impl, (torch.randn(B, 3, 9, 9, generator=g) * 0.1,)),
        "iso_noise": (FP.iso_noise, FP._iso_noise_impl, (torch.full((B,), 0.05), torch.full((B,), 0.3),
                                                          torch.randn(B, 1, 18, 18, generator=g), torch.zeros(B, 1, 18, 18))),
        "jpeg": (FQ.jpeg_compress, FQ._jpeg_compress_outer, (torch.tensor([10, 50, 90, 50, 10]),)),
        "downscale": (lambda x, s: FQ.downscale(x, s, "linear", "nearest"), lambda x, s: FQ._downscale_impl(x, s, "linear", "nearest"),
                      (torch.tensor([0.2, 0.5, 0.9, 0.33, 1.0]),)),
        "pixelate": (FQ.pixelate, FQ._pixelate_impl, (torch.tensor([1, 2, 3, 4, 7]),)),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_chunked_equals_one_call(two_threads, name, dtype):
    x = torch.randint(0, 256, (5, 3, 18, 18), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    if dtype != torch.uint8:
        x = x.float() / 255
    public, plain, args = CASES[name]
    out = public(x, *args)
    torch.set_num_threads(1)
    ref = plain(x, *args)
    assert out.dtype == ref.dtype and torch.equal(out, ref), name
    cl = x.contiguous(memory_format=torch.channels_last)
    torch.set_num_threads(2)
    out_cl = public(cl, *args)
    assert out_cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(out_cl, ref), name
