"""CutMix / MixUpCutMix ``cutmix_minmax`` and ``correct_lam`` with timm ``Mixup`` semantics."""

import numpy as np
import pytest
import torch

from torchaug.mixing import CutMix, MixUpCutMix
from torchaug.mixing.cutmix import box_minmax_on_host, sample_boxes_minmax


def _batch(b=6, seed=0, h=20, w=24):
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.mark.peer
@pytest.mark.parametrize("minmax,correct", [((0.2, 0.8), True), (None, False), (None, True)])
def test_matches_timm_given_the_same_draws(minmax, correct, device):
    mixup = pytest.importorskip("timm.data.mixup")
    k, b = 10, 6
    x, y = _batch(b), torch.arange(b) % k
    for seed in range(4):
        tm = mixup.Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, cutmix_minmax=minmax, correct_lam=correct,
                         num_classes=k, label_smoothing=0.1)
        np.random.seed(seed)
        xt, yt = tm(x.clone(), y)
        np.random.seed(seed)
        np.random.rand()  # timm's "apply or not"
        lam0 = float(np.random.beta(1.0, 1.0))
        (yl, yh, xl, xh), lam = mixup.cutmix_bbox_and_lam(x.shape, lam0, ratio_minmax=minmax, correct_lam=correct)
        params = {"perm": torch.arange(b).flip(0), "lam": torch.full((b,), float(lam)), "image_lam": torch.ones(b),
                  "box": torch.tensor([[int(yl), int(yh), int(xl), int(xh)]] * b)}
        m = CutMix(1.0, num_classes=k, label_smoothing=0.1, cutmix_minmax=minmax, correct_lam=correct).to(device)
        xo, yo = m(x.to(device), y.to(device), params={kk: v.to(device) for kk, v in params.items()})
        assert torch.equal(xo.cpu(), xt)
        torch.testing.assert_close(yo.cpu(), yt, rtol=0, atol=1e-6)


@pytest.mark.peer
def test_minmax_box_sides_have_timms_distribution():
    """timm draws sides with np.random.randint(int(H lo), int(H hi)) and corners in [0, H - side]:
    our uniforms give the same support and frequencies (20 000 draws, max gap < 0.02)."""
    h, w, mm = 20, 24, (0.2, 0.8)
    u = torch.rand(20000, 4, generator=torch.Generator().manual_seed(0))
    box, lam = sample_boxes_minmax(u, mm, h, w)
    rs = np.random.RandomState(0)
    ref_h = rs.randint(int(h * mm[0]), int(h * mm[1]), size=20000)
    ref_y = np.array([rs.randint(0, h - c + 1) for c in ref_h[:2000]])
    ours_h = (box[:, 1] - box[:, 0]).numpy()
    assert set(np.unique(ours_h)) == set(np.unique(ref_h))
    fo = np.bincount(ours_h, minlength=h + 1) / len(ours_h)
    fr = np.bincount(ref_h, minlength=h + 1) / len(ref_h)
    assert np.abs(fo - fr).max() < 0.02
    assert int(box[:, 0].min()) == 0 and bool(((box[:, 1] <= h) & (box[:, 3] <= w)).all())
    assert abs(float((box[:, 0] / (h - (box[:, 1] - box[:, 0]))).mean()) - float(np.mean(ref_y / (h - ref_h[:2000])))) < 0.03
    area = ((box[:, 1] - box[:, 0]) * (box[:, 3] - box[:, 2])).float()
    torch.testing.assert_close(lam, 1 - area / (h * w))
    corners, lam1 = box_minmax_on_host(u[7].tolist(), mm, h, w)
    assert corners == box[7].tolist() and abs(lam1 - float(lam[7])) < 1e-6


@pytest.mark.parametrize("mode", ["batch", "elem"])
def test_minmax_label_is_kept_area_and_alpha_unused(mode):
    x, y = _batch(8), torch.arange(8) % 4
    for cls in (CutMix, MixUpCutMix):
        kw = dict(switch_prob=1.0, cutmix_alpha=0.0) if cls is MixUpCutMix else dict(alpha=0.0)
        m = cls(num_classes=4, cutmix_minmax=(0.3, 0.6), mode=mode, **kw)
        xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
        side = p["box"][:, 1] - p["box"][:, 0]
        assert bool(((side >= 6) & (side < 12)).all())  # [int(20 * 0.3), int(20 * 0.6))
        area = (side * (p["box"][:, 3] - p["box"][:, 2])).float() / (20 * 24)
        torch.testing.assert_close(p["lam"], 1 - area)
        assert not torch.equal(xm, x)


@pytest.mark.parametrize("mode", ["batch", "elem"])
def test_correct_lam_false_keeps_the_drawn_lambda(mode):
    x, y = _batch(16, h=10, w=10), torch.arange(16) % 4
    _, _, pt = CutMix(1.0, num_classes=4, mode=mode)(x, y, generator=torch.Generator().manual_seed(3), return_params=True)
    _, yf, pf = CutMix(1.0, num_classes=4, mode=mode, correct_lam=False)(
        x, y, generator=torch.Generator().manual_seed(3), return_params=True)
    assert torch.equal(pt["box"], pf["box"])  # same draws, same boxes
    area = ((pf["box"][:, 1] - pf["box"][:, 0]) * (pf["box"][:, 3] - pf["box"][:, 2])).float() / 100
    torch.testing.assert_close(pt["lam"], 1 - area)
    # uncorrected: the box side is floor(10 sqrt(1 - lam)) when unclipped, so lam is in
    # ((1 - (side+1)/10)^2 ... ] and differs from the kept area for clipped boxes
    side = (pf["box"][:, 1] - pf["box"][:, 0]).float()
    clipped = (pf["box"][:, 0] == 0) | (pf["box"][:, 1] == 10) | (pf["box"][:, 2] == 0) | (pf["box"][:, 3] == 10)
    unclipped = ~clipped & (side > 0)
    s = torch.sqrt(1 - pf["lam"]) * 10
    assert bool((s[unclipped].floor() >= side[unclipped] - 1).all())
    assert not torch.allclose(pf["lam"], pt["lam"])


def test_bad_options():
    with pytest.raises(ValueError, match="CutMix: cutmix_minmax"):
        CutMix(num_classes=2, cutmix_minmax=(0.8, 0.2))
    with pytest.raises(TypeError, match="MixUpCutMix: correct_lam"):
        MixUpCutMix(num_classes=2, correct_lam="yes")
