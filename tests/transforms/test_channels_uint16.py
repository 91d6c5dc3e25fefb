"""Issue 18: channel counts other than 1 and 3, and uint16, work wherever an op's maths is defined;
otherwise a clear error naming the op. Runs over the registry, so new transforms are covered."""

from __future__ import annotations

import pytest
import torch

from torchaug import registry

registry.load_all()
TRANSFORMS = registry.registered("transform")


@pytest.mark.parametrize("entry", TRANSFORMS, ids=[e.name for e in TRANSFORMS])
def test_other_channel_counts_work_or_name_the_op(entry):
    for c in (1, 2, 4):
        x = torch.randint(0, 256, (3, c, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(c))
        t = entry.example()
        try:
            out = t(x, generator=torch.Generator().manual_seed(0))
        except (ValueError, TypeError) as err:
            assert entry.name in str(err), err
            continue
        assert out.shape[:2] == (3, c) and out.dtype in (torch.uint8, torch.float32)


@pytest.mark.parametrize("entry", TRANSFORMS, ids=[e.name for e in TRANSFORMS])
def test_uint16_matches_the_float_maths_or_names_the_op(entry):
    x = torch.randint(0, 65536, (3, 3, 16, 16), dtype=torch.int32, generator=torch.Generator().manual_seed(0)).to(torch.uint16)
    t = entry.example()
    try:
        out, p = t(x, generator=torch.Generator().manual_seed(1), return_params=True)
    except TypeError as err:
        if "return_params" in str(err):  # a transform without replay: it must refuse uint16 by name
            with pytest.raises(TypeError, match=entry.name):
                t(x)
            return
        assert entry.name in str(err) and "uint16" in str(err), err
        assert getattr(t, "supports_uint16", False) is False or hasattr(t, "transforms")
        return
    assert out.dtype == torch.uint16 and out.shape[:2] == (3, 3)
    ref = t(x.to(torch.float64) / 65535, params=p)
    diff = (out.to(torch.float64) / 65535 - ref).abs().max().item()
    assert diff <= 1.5 / 65535, diff  # exact for index ops; float maths rounded once for warps/resizes
