"""SamplePairing: 50/50 average, first label kept, partners never mutual."""

import pytest
import torch
import torch.nn.functional as F

from torchaug.mixing import MixUp, SamplePairing, mix_targets, one_hot


def _batch(b=8, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, 8, 8), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


@pytest.mark.parametrize("b", [2, 3, 8, 9])
@pytest.mark.parametrize("pairing", ["roll", "shift", "random"])
def test_average_and_first_label(b, pairing):
    k = 4
    x, y = _batch(b, torch.float64), torch.arange(b) % k
    m = SamplePairing(num_classes=k, label_smoothing=0.1, pairing=pairing)
    xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(b), return_params=True)
    torch.testing.assert_close(xm, 0.5 * x + 0.5 * x[p["perm"]], rtol=0, atol=1e-12)
    torch.testing.assert_close(ym, one_hot(y, k, label_smoothing=0.1).to(ym.dtype))
    assert (p["lam"] == 1).all() and (p["image_lam"] == 0.5).all() and p["mixed"].all()
    # targets compose with the documented formula
    torch.testing.assert_close(mix_targets(one_hot(y, k), p["perm"], p["lam"]), F.one_hot(y, k).float())


def test_uint8_rounding_and_no_mutual_partners():
    x, y = _batch(10, torch.uint8), torch.arange(10) % 3
    xm, _, p = SamplePairing(num_classes=3)(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert xm.dtype == torch.uint8
    ref = ((x.double() + x[p["perm"]].double()) / 2).round()
    assert (xm.double() - ref).abs().max() <= 1
    assert not (p["perm"][p["perm"]] == torch.arange(10)).any()
    # no two outputs are the same average of a pair
    assert torch.unique(xm.flatten(1), dim=0).shape[0] == 10


def test_p_and_stats():
    x, y = _batch(64), torch.arange(64) % 3
    m = SamplePairing(num_classes=3, p=0.25)
    xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(1), return_params=True)
    keep = ~p["mixed"]
    assert torch.equal(xm[keep], x[keep])
    assert 0.05 < float(m.last_stats["mixed_fraction"]) < 0.5
    assert float(m.last_stats["lam_mean"]) == 1.0


def test_differs_from_mixup_at_half():
    x, y = _batch(6), torch.tensor([0, 0, 0, 1, 1, 1])  # MixUp's "shift" pairs the halves: labels differ
    _, ym = SamplePairing(num_classes=3)(x, y, generator=torch.Generator().manual_seed(0))
    _, ym2 = MixUp(1.0, num_classes=3)(x, y, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ym, F.one_hot(y, 3).float()) and not torch.equal(ym2, ym)
