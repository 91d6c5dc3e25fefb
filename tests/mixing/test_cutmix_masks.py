"""CutMix of segmentation masks: the pasted box carries the partner's mask; images and labels unchanged."""

from __future__ import annotations

import pytest
import torch

from torchaug.mixing import CutMix


@pytest.mark.parametrize("mode", ["batch", "elem"])
def test_cutmix_mask_follows_the_pasted_box(mode):
    g = torch.Generator().manual_seed(0)
    b, h, w = 6, 20, 24
    # image channel 0 encodes the sample id, the mask is that id too: they must stay aligned
    ids = torch.arange(b, dtype=torch.uint8).view(b, 1, 1, 1)
    x = ids.expand(b, 3, h, w).contiguous() * 10
    mask = ids[:, 0].expand(b, h, w).contiguous()
    y = torch.arange(b) % 3
    cm = CutMix(alpha=1.0, num_classes=3, mode=mode)
    ref_x, ref_y, p = cm(x.clone(), y, generator=torch.Generator().manual_seed(1), return_params=True)
    m2 = cm.mix_mask(mask, p)
    assert m2.shape == mask.shape and m2.dtype == mask.dtype
    assert torch.equal(m2 * 10, ref_x[:, 0])
    assert (m2 != mask).any()
    # the same call without masks gives the same images and labels (behaviour unchanged)
    x2, y2 = cm(x.clone(), y, generator=torch.Generator().manual_seed(1))
    assert torch.equal(x2, ref_x) and torch.equal(y2, ref_y)
    # last_params by default, multi-channel masks
    onehot = torch.nn.functional.one_hot(mask.long(), b).permute(0, 3, 1, 2).float()
    assert torch.equal(cm.mix_mask(onehot).argmax(1).to(torch.uint8), m2)


def test_cutmix_mask_errors():
    cm = CutMix(alpha=1.0, num_classes=3)
    with pytest.raises(ValueError, match="no params"):
        cm.mix_mask(torch.zeros(2, 4, 4))
    cm(torch.zeros(2, 3, 4, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="mask must be"):
        cm.mix_mask(torch.zeros(3, 4, 4))
