"""Transforms with ``gather_selected``: with p < 1 the CPU path filters only the selected samples, in
one call, and gives the pixels of the plain path (the whole batch, then the unselected samples kept)."""

import pytest
import torch

from torchaug import accelerator_path
from torchaug import registry

registry.load_all()
GATHERED = [e for e in registry.registered("transform") if getattr(e.cls, "gather_selected", False)]


@pytest.mark.parametrize("entry", GATHERED, ids=[e.name for e in GATHERED])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_gathered_path_equals_the_plain_path(entry, dtype, monkeypatch):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (9, 3, 40, 40), generator=g, dtype=torch.uint8)
    x = x if dtype == torch.uint8 else x.float() / 255
    x0 = x.clone()
    t = entry.example()
    t.p = 0.5
    sizes = []
    original = type(t).transform

    def spy(self, xx, params, *args, **kwargs):
        sizes.append(xx.shape[0])
        return original(self, xx, params, *args, **kwargs)

    monkeypatch.setattr(type(t), "transform", spy)
    out, params = t(x, generator=torch.Generator().manual_seed(3), return_params=True)
    chosen = int(params["apply"].sum())
    assert 0 < chosen < 9 and sizes == [chosen] and torch.equal(x, x0)
    with accelerator_path():  # the plain path: the whole batch, then the unselected samples kept
        plain = t(x, params=params)
    assert torch.equal(out, plain)
    assert torch.equal(out[~params["apply"]], x[~params["apply"]])
