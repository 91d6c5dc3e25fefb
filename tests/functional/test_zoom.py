"""zoom_out_resize: the canvas-free zoom-out + resize equals torchvision's F.pad + F.resize on random geometries."""

from __future__ import annotations

import pytest
import torch

from torchaug._devpath import accelerator_path
from torchaug.functional.zoom import zoom_out_resize

TF = pytest.importorskip("torchvision.transforms.v2.functional")


def _cases(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        h, w = (int(v) for v in torch.randint(5, 50, (2,), generator=g))
        oh, ow = (int(v) for v in torch.randint(4, 60, (2,), generator=g))  # up- and downscaling
        r = 1 + 3 * torch.rand(2, generator=g)
        ch, cw = int(h * r[0]), int(w * r[1])
        t, l_ = int((ch - h) * torch.rand(1, generator=g)), int((cw - w) * torch.rand(1, generator=g))
        yield h, w, oh, ow, ch, cw, t, l_


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_zoom_out_resize_matches_pad_then_resize(dtype, antialias):
    g = torch.Generator().manual_seed(1)
    for h, w, oh, ow, ch, cw, t, l_ in _cases():
        x = torch.randint(0, 256, (1, 3, h, w), generator=g, dtype=torch.uint8)
        x = x if dtype == torch.uint8 else x.float() / 255
        fill = [10, 20, 30] if dtype == torch.uint8 else [0.1, 0.2, 0.3]
        ref = TF.resize(TF.pad(x[0], [l_, t, cw - w - l_, ch - h - t], fill=fill), [oh, ow], antialias=antialias)
        args = [torch.tensor([v]) for v in (t, l_, ch, cw)]
        out = zoom_out_resize(x, *args, (oh, ow), fill, antialias=antialias)[0]
        case = (h, w, oh, ow, ch, cw, t, l_)
        if dtype == torch.uint8:  # the CPU path runs torchvision's own kernel on the canvas part
            assert (out.int() - ref.int()).abs().max() <= 1, case
        else:
            torch.testing.assert_close(out, ref, atol=1e-5, rtol=0, msg=str(case))
        with accelerator_path():  # the batched separable pass (no host read)
            acc = zoom_out_resize(x, *args, (oh, ow), fill, antialias=antialias)[0]
        assert (acc.double() - ref.double()).abs().max() <= (1 if dtype == torch.uint8 else 1e-5), case


def test_zoom_out_resize_batch_channels_last_and_identity_rows():
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 256, (3, 3, 30, 40), generator=g, dtype=torch.uint8).contiguous(memory_format=torch.channels_last)
    top, left = torch.tensor([0, 7, 0]), torch.tensor([0, 11, 3])
    ch, cw = torch.tensor([30, 75, 61]), torch.tensor([40, 90, 44])  # sample 0 not zoomed out
    out = zoom_out_resize(x, top, left, ch, cw, (24, 32), 5)
    assert out.is_contiguous(memory_format=torch.channels_last) and out.shape == (3, 3, 24, 32)
    for i in range(3):
        pad = [int(left[i]), int(top[i]), int(cw[i]) - 40 - int(left[i]), int(ch[i]) - 30 - int(top[i])]
        ref = TF.resize(TF.pad(x[i], pad, fill=5), [24, 32], antialias=True)
        assert (out[i].int() - ref.int()).abs().max() <= 1
    assert torch.equal(out[0], TF.resize(x[0], [24, 32], antialias=True))  # the plain resize, bit for bit
