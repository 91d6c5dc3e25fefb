"""Every mixer keeps ``channels_last`` on every pairing and mode, on the CPU path and the
accelerator path (issue: the generic kernel's ``lerp``/``where`` returned NCHW)."""

from __future__ import annotations

import pytest
import torch

from tests_support import generator_on
from torchaug import registry
from torchaug.mixing._base import MODES, PAIRINGS

registry.load_all()
MIXERS = registry.registered("mixer")


@pytest.mark.parametrize("entry", MIXERS, ids=[e.name for e in MIXERS])
@pytest.mark.parametrize("pairing", PAIRINGS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("inplace", [False, True])
def test_mixers_keep_channels_last(entry, pairing, mode, dtype, inplace, device):
    m = entry.example().to(device)
    m.pairing, m.mode, m.inplace = pairing, mode, inplace
    x = torch.randint(0, 256, (5, 3, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    x = (x if dtype == torch.uint8 else x.float() / 255).to(device).contiguous(memory_format=torch.channels_last)
    ref = x.contiguous()
    y = torch.arange(5, device=device) % m.num_classes
    xm, _, params = m(x.clone(memory_format=torch.channels_last), y, generator=generator_on(device, 1), return_params=True)
    assert xm.is_contiguous(memory_format=torch.channels_last), (pairing, mode)
    m.inplace = False
    expected, _ = m(ref, y, params=params)  # the same draws on an NCHW batch: the same pixels
    assert torch.equal(xm, expected)
