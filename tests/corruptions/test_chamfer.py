"""Spatter's chamfer distance: the two row scans equal the relaxation (the definition), images of
every size down to one pixel included (the 5x5 moves reach past narrow images)."""

import pytest
import torch

from torchaug.corruptions._ops import chamfer_distance, chamfer_distance_relax


@pytest.mark.parametrize("hw", [(1, 1), (2, 1), (1, 2), (3, 2), (5, 1), (1, 7), (9, 13), (32, 32)])
def test_row_scans_equal_the_relaxation(hw):
    g = torch.Generator().manual_seed(sum(hw))
    edges = torch.rand(3, 1, *hw, generator=g) < 0.15
    edges[0] = False  # no edge at all: everything at the cap
    scans, relax = chamfer_distance(edges, 6.0), chamfer_distance_relax(edges, 6.0)
    assert scans.shape == edges.shape
    torch.testing.assert_close(scans, relax, atol=1e-5, rtol=0)
    assert torch.all(scans[0] == 6.0) and torch.all(scans[edges] == 0)
