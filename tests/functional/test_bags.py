"""Bilinear resizing as embedding_bag row sums: equal to F.interpolate (and a channel mix of it)."""

import pytest
import torch
import torch.nn.functional as F

from torchaug.functional._bags import resize_bilinear_bags


def _layouts(x):
    return {
        "planar": x,
        "channels_last": x.contiguous(memory_format=torch.channels_last),
        "strided": x.transpose(2, 3).contiguous().transpose(2, 3),
        "uint8": (x * 255).round().to(torch.uint8),
        "half": x.half(),
        "float64": x.double(),
    }


@pytest.mark.parametrize("layout", ["planar", "channels_last", "strided", "uint8", "half", "float64"])
@pytest.mark.parametrize(("shape", "size"), [((3, 3, 80, 72), (64, 64)), ((2, 1, 50, 300), (7, 120)),
                                            ((2, 3, 17, 9), (40, 33)), ((2, 4, 64, 64), (64, 64)),
                                            ((4, 3, 224, 224), (22, 179))])
@pytest.mark.parametrize("mixed", [False, True])
def test_equals_interpolate(layout, shape, size, mixed):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    xx = _layouts(x)[layout]
    ref = F.interpolate(xx.double() if layout == "float64" else xx.float(), size, mode="bilinear", align_corners=False)
    c = shape[1]
    mix = tuple(float(v) for v in torch.rand(c, generator=torch.Generator().manual_seed(2))) if mixed else None
    if mixed:
        ref = (ref * torch.tensor(mix, dtype=ref.dtype).view(1, c, 1, 1)).sum(1)
    ours = resize_bilinear_bags(xx, size, mix)
    assert ours.shape == ref.shape and ours.dtype == ref.dtype
    scale = 255.0 if layout == "uint8" else 1.0
    torch.testing.assert_close(ours, ref, atol=2e-6 * scale * c, rtol=1e-6)


def test_mix_length_is_checked():
    with pytest.raises(ValueError, match="mix must have one weight per channel"):
        resize_bilinear_bags(torch.rand(1, 3, 8, 8), (4, 4), (1.0, 0.0))
