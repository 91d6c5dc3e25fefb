"""Parity with timm's Mixup and torchvision v2's MixUp/CutMix given the same λ, pairing and box."""

import numpy as np
import pytest
import torch

from torchaug.mixing import CutMix, MixUp

pytestmark = pytest.mark.peer


def _ours(mixer, x, y, params, device):
    """Our mixer on ``device`` replaying ``params``; results back on the CPU for the comparison."""
    params = {k: v.to(device) for k, v in params.items()}
    xo, yo = mixer.to(device)(x.to(device), y.to(device), params=params)
    return xo.cpu(), yo.cpu()


def _batch(b=8, seed=0, h=16, w=16):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_mixup_matches_timm_batch_mode(smoothing, device):
    mixup = pytest.importorskip("timm.data.mixup")
    k, b = 10, 8
    x, y = _batch(b), torch.arange(b) % k
    np.random.seed(0)
    tm = mixup.Mixup(mixup_alpha=1.0, cutmix_alpha=0.0, label_smoothing=smoothing, num_classes=k)
    xt = x.clone()
    xt, yt = tm(xt, y)  # in place on xt
    np.random.seed(0)
    np.random.rand()  # timm's draw of "apply or not"
    lam = float(np.random.beta(1.0, 1.0))
    params = {"perm": torch.arange(b).flip(0), "lam": torch.full((b,), lam)}
    xo, yo = _ours(MixUp(1.0, num_classes=k, label_smoothing=smoothing), x, y, params, device)
    torch.testing.assert_close(xo, xt, rtol=0, atol=1e-6)
    torch.testing.assert_close(yo, yt, rtol=0, atol=1e-6)


def test_cutmix_matches_timm_box_and_lambda(device):
    mixup = pytest.importorskip("timm.data.mixup")
    k, b = 10, 6
    x, y = _batch(b, h=20, w=24), torch.arange(b) % k
    tm = mixup.Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=k, label_smoothing=0.0)
    np.random.seed(3)
    xt = x.clone()
    xt, yt = tm(xt, y)
    np.random.seed(3)
    np.random.rand()
    lam0 = float(np.random.beta(1.0, 1.0))
    (yl, yh, xl, xh), lam = mixup.cutmix_bbox_and_lam(x.shape, lam0, correct_lam=True)
    params = {
        "perm": torch.arange(b).flip(0),
        "lam": torch.full((b,), float(lam)),
        "image_lam": torch.ones(b),
        "box": torch.tensor([[yl, yh, xl, xh]] * b),
    }
    xo, yo = _ours(CutMix(1.0, num_classes=k), x, y, params, device)
    assert torch.equal(xo, xt)
    torch.testing.assert_close(yo, yt, rtol=0, atol=1e-6)


def test_mixup_matches_torchvision_v2(device):
    v2 = pytest.importorskip("torchvision.transforms.v2")
    k, b = 5, 7
    x, y = _batch(b), torch.arange(b) % k
    torch.manual_seed(0)
    xt, yt = v2.MixUp(alpha=1.0, num_classes=k)(x, y)
    torch.manual_seed(0)
    lam = float(torch.distributions.Beta(torch.tensor([1.0]), torch.tensor([1.0])).sample())
    params = {"perm": (torch.arange(b) - 1) % b, "lam": torch.full((b,), lam)}  # roll(1, 0)
    xo, yo = _ours(MixUp(1.0, num_classes=k), x, y, params, device)
    torch.testing.assert_close(xo, xt, rtol=0, atol=1e-6)
    torch.testing.assert_close(yo, yt, rtol=0, atol=1e-6)


def test_cutmix_matches_torchvision_v2(device):
    v2 = pytest.importorskip("torchvision.transforms.v2")
    k, b, h, w = 5, 6, 20, 24
    x, y = _batch(b, h=h, w=w), torch.arange(b) % k
    torch.manual_seed(1)
    xt, yt = v2.CutMix(alpha=1.0, num_classes=k)(x, y)
    # recover torchvision's box from its output, then replay it
    changed = (xt != x).any(0).any(0)
    ys, xs = torch.nonzero(changed, as_tuple=True)
    box = [int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1]
    lam = 1 - (box[1] - box[0]) * (box[3] - box[2]) / (h * w)
    params = {
        "perm": (torch.arange(b) - 1) % b,
        "lam": torch.full((b,), lam),
        "image_lam": torch.ones(b),
        "box": torch.tensor([box] * b),
    }
    xo, yo = _ours(CutMix(1.0, num_classes=k), x, y, params, device)
    assert torch.equal(xo, xt)
    torch.testing.assert_close(yo, yt, rtol=0, atol=1e-6)


def test_our_lambda_distribution_matches_torch_beta():
    """Same Beta as torch.distributions (which timm/torchvision-style code uses), by moments."""
    from torchaug.mixing import sample_beta

    torch.manual_seed(0)
    ref = torch.distributions.Beta(0.4, 0.4).sample((40000,))
    ours = sample_beta(0.4, 40000, generator=torch.Generator().manual_seed(0), device="cpu")
    assert abs(float(ref.mean() - ours.mean())) < 0.01
    assert abs(float(ref.var() - ours.var())) < 0.01
    # and the same shape: U-shaped mass near the ends
    assert abs(float((ref < 0.1).float().mean() - (ours < 0.1).float().mean())) < 0.015
