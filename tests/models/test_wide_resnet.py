"""WideResNet: WRN-40-2's size, shapes, named groups, argument errors."""

from __future__ import annotations

import pytest
import torch

from torchaug.models import WideResNet


def test_wrn_40_2_size_and_shapes():
    m = WideResNet(num_classes=10)
    assert abs(sum(p.numel() for p in m.parameters()) / 1e6 - 2.24) < 0.01  # WRN-40-2: 2.2 M parameters
    assert len(m.layer1) == len(m.layer2) == len(m.layer3) == 6  # (40 - 4) / 6 blocks per group
    assert m(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    small = WideResNet(in_channels=1, num_classes=4, depth=10, widen_factor=1, dropout=0.3).train()
    assert small(torch.zeros(3, 1, 16, 16)).shape == (3, 4)


@pytest.mark.parametrize("kwargs, match", [({"depth": 12}, "depth"), ({"widen_factor": 0}, "widen_factor"),
                                           ({"dropout": 1.0}, "dropout")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WideResNet(**kwargs)
