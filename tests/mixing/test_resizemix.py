"""ResizeMix: the partner resized into the box (F.interpolate), label = exact pasted area, tau ~ U(0.1, 0.8)."""

import pytest
import torch
import torch.nn.functional as F

from torchaug import accelerator_path
from torchaug.mixing import ResizeMix, mix_targets, one_hot


def _batch(b=6, h=20, w=16, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.float() / 255


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
def test_box_holds_the_resized_partner_and_label_is_its_area(mode):
    b, k, h, w = 8, 4, 20, 16
    x, y = _batch(b, h, w), torch.arange(b) % k
    m = ResizeMix(num_classes=k, mode=mode)
    for seed in range(3):
        xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(seed), return_params=True)
        for i in range(b):
            y0, y1, x0, x1 = (int(v) for v in p["box"][i])
            j = int(p["perm"][i])
            patch = F.interpolate(x[j : j + 1], size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False)[0]
            torch.testing.assert_close(xm[i, :, y0:y1, x0:x1], patch, rtol=0, atol=1e-5)
            outside = torch.ones(h, w, dtype=torch.bool)
            outside[y0:y1, x0:x1] = False
            assert torch.equal(xm[i][:, outside], x[i][:, outside])
            assert abs(float(p["lam"][i]) - (1 - (y1 - y0) * (x1 - x0) / (h * w))) < 1e-6
        torch.testing.assert_close(ym, mix_targets(one_hot(y, k), p["perm"], p["lam"]))
        if mode == "batch":
            assert (p["box"] == p["box"][0]).all()


def test_tau_is_uniform_in_the_paper_range():
    stats = pytest.importorskip("scipy.stats")
    h = w = 200
    x, y = torch.zeros(500, 1, h, w), torch.zeros(500, dtype=torch.long)
    _, _, p = ResizeMix(num_classes=2, mode="elem")(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    side = (p["box"][:, 1] - p["box"][:, 0]).double() / h  # floor(tau H) / H
    assert float(side.min()) >= 0.1 - 1e-9 and float(side.max()) < 0.8
    assert stats.kstest(side.numpy() + 0.5 / h, stats.uniform(0.1, 0.7).cdf).statistic < 0.07
    assert torch.equal(p["box"][:, 1] - p["box"][:, 0], p["box"][:, 3] - p["box"][:, 2])  # square image: square patch


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_accelerator_path_equals_cpu_path(dtype):
    x, y = _batch(6, dtype=dtype), torch.arange(6) % 3
    m = ResizeMix(num_classes=3)
    xc, yc, p = m(x, y, generator=torch.Generator().manual_seed(1), return_params=True)
    with accelerator_path():
        xa, ya = m(x, y, params=p)
    tol = 1e-5 if dtype == torch.float32 else 1
    assert (xc.float() - xa.float()).abs().max() <= tol
    assert torch.equal(yc, ya)


def test_errors():
    with pytest.raises(ValueError, match="ResizeMix: scale"):
        ResizeMix(scale=(0.0, 0.5), num_classes=2)
    with pytest.raises(ValueError, match="ResizeMix: antialias"):
        ResizeMix(antialias=True, mode="elem", num_classes=2)
