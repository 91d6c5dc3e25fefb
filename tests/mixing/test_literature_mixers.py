"""FMix, ResizeMix, SaliencyMix: contract-style checks (dtype, memory format, replay, generator, p,
label smoothing) and the MixCollate path, where constant images make pixels equal the label weights."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from torchaug.mixing import FMix, MixCollate, ResizeMix, SaliencyMix, mix_targets, one_hot
from tests_support import generator_on, no_host_sync

FACTORIES = {
    "FMix": lambda **kw: FMix(1.0, 3.0, num_classes=5, **kw),
    "FMixSoft": lambda **kw: FMix(1.0, 3.0, 0.2, num_classes=5, **kw),
    "ResizeMix": lambda **kw: ResizeMix(num_classes=5, **kw),
    "SaliencyMix": lambda **kw: SaliencyMix(1.0, num_classes=5, **kw),
}


def _x(dtype, b=6, h=16, w=20, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    x = x if dtype == torch.uint8 else x.float() / 255
    return x.to(device)


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("mode", ["batch", "elem"])
def test_contract(name, dtype, mode, device):
    m = FACTORIES[name](mode=mode, label_smoothing=0.1)
    x, y = _x(dtype, device=device), torch.arange(6, device=device) % 5
    m(x, y, generator=generator_on(device, 1))  # warm caches
    with no_host_sync(device):
        xm, ym, p = m(x, y, generator=generator_on(device, 1), return_params=True)
    assert xm.shape == x.shape and xm.dtype == dtype and xm.device == x.device
    torch.testing.assert_close(ym.sum(1), torch.ones(6, device=device))
    torch.testing.assert_close(ym, mix_targets(one_hot(y, 5, label_smoothing=0.1), p["perm"], p["lam"]))
    xm2, ym2 = m(x, y, generator=generator_on(device, 1))
    assert torch.equal(xm, xm2) and torch.equal(ym, ym2)
    xr, yr = m(x, y, params=p)
    assert torch.equal(xr, xm) and torch.equal(yr, ym)
    xo, _ = m(x, y, generator=generator_on(device, 2))
    assert not torch.equal(xo, xm)


@pytest.mark.parametrize("name", FACTORIES)
def test_channels_last_and_p(name):
    m = FACTORIES[name]()
    x, y = _x(torch.float32), torch.arange(6) % 5
    xc = x.contiguous(memory_format=torch.channels_last)
    a, ya = m(x, y, generator=torch.Generator().manual_seed(0))
    b, yb = m(xc, y, generator=torch.Generator().manual_seed(0))
    assert b.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(a, b) and torch.equal(ya, yb)
    off = FACTORIES[name](p=0.0)
    xo, yo = off(x, y)
    assert torch.equal(xo, x) and torch.equal(yo, one_hot(y, 5))
    half = FACTORIES[name](p=0.5, mode="elem")
    xh, yh, ph = half(_x(torch.float32, b=32), torch.arange(32) % 5, generator=torch.Generator().manual_seed(0),
                      return_params=True)
    untouched = ~ph["mixed"]
    assert 0 < int(untouched.sum()) < 32
    assert torch.equal(xh[untouched], _x(torch.float32, b=32)[untouched])
    assert bool((ph["lam"][untouched] == 1).all())


class Constant(Dataset):
    """uint8 (3, 24, 24) images whose pixels all equal 10 * label."""

    def __len__(self):
        return 24

    def __getitem__(self, i):
        return torch.full((3, 24, 24), 10 * (i % 5), dtype=torch.uint8), i % 5


@pytest.mark.parametrize("name", FACTORIES)
def test_mix_collate_labels_are_the_pixel_weights(name):
    loader = DataLoader(Constant(), batch_size=8, collate_fn=MixCollate(FACTORIES[name](mode="elem")), num_workers=0)
    torch.manual_seed(0)
    for x, y in loader:
        assert x.dtype == torch.uint8 and y.shape == (8, 5)
        expected = (y * (10 * torch.arange(5.0))).sum(1)
        # every pixel is the mixture the label describes (uint8: rounded, plus 1/128 soft-mask grid)
        assert (x.float().mean((1, 2, 3)) - expected).abs().max() <= 0.51
        assert np.isclose(float(y.sum()), 8.0)
