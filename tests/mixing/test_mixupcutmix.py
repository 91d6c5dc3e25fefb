"""MixUpCutMix: per-batch (or per-sample) choice between MixUp and CutMix."""

import pytest
import torch

from torchaug.mixing import MixUpCutMix, mix_targets, one_hot
from torchaug.mixing import _kernels as K


def _batch(b=8, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, 10, 10), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _reference(x, p):
    b = x.shape[0]
    mask = K.box_mask(p["box"], *x.shape[-2:]).double()
    w = p["image_lam"].double().view(b, 1, 1, 1) * (1 - mask)
    return w * x.double() + (1 - w) * x.double()[p["perm"]]


def test_per_batch_choice_covers_both():
    x, y = _batch(8, torch.float64), torch.arange(8) % 4
    m = MixUpCutMix(1.0, 1.0, switch_prob=0.5, num_classes=4)
    kinds = set()
    for seed in range(12):
        xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(seed), return_params=True)
        assert p["cutmix"].all() or not p["cutmix"].any()
        cut = bool(p["cutmix"][0])
        kinds.add(cut)
        if cut:
            assert (p["image_lam"] == 1).all()
        else:
            assert (p["box"] == 0).all()
        torch.testing.assert_close(xm, _reference(x, p), rtol=0, atol=1e-12)
        torch.testing.assert_close(ym, mix_targets(one_hot(y, 4), p["perm"], p["lam"]).double().float())
    assert kinds == {True, False}


@pytest.mark.parametrize("mode", ["pair", "elem"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_per_sample_choice(mode, dtype):
    x, y = _batch(16, dtype), torch.arange(16) % 4
    m = MixUpCutMix(0.8, 1.0, switch_prob=0.5, num_classes=4, mode=mode)
    xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert 0 < int(p["cutmix"].sum()) < 16
    ref = _reference(x.double() if dtype != torch.uint8 else x.double(), p)
    if dtype == torch.uint8:
        assert (xm.double() - ref.round()).abs().max() <= 1
    else:
        torch.testing.assert_close(xm.double(), ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(ym.sum(1), torch.ones(16))


def test_switch_prob_extremes_and_zero_alphas():
    x, y = _batch(6), torch.arange(6) % 3
    _, _, p = MixUpCutMix(1.0, 1.0, switch_prob=1.0, num_classes=3)(x, y, return_params=True)
    assert p["cutmix"].all()
    _, _, p = MixUpCutMix(1.0, 1.0, switch_prob=0.0, num_classes=3)(x, y, return_params=True)
    assert not p["cutmix"].any()
    m = MixUpCutMix(0.0, 1.0, switch_prob=0.3, num_classes=3)
    assert m.switch_prob == 1.0
    xm, _ = MixUpCutMix(0.0, 0.0, num_classes=3)(x, y)
    assert torch.equal(xm, x)
    with pytest.raises(ValueError, match="MixUpCutMix: switch_prob"):
        MixUpCutMix(1.0, 1.0, switch_prob=2.0, num_classes=3)
