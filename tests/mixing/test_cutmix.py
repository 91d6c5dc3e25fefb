"""CutMix: one axis-aligned box per sample, label weight = area, modes, fast path = reference."""

import pytest
import torch
import torch.nn.functional as F

from torchaug.mixing import CutMix, mix_targets, one_hot
from torchaug.mixing import _kernels as K
from torchaug.mixing.cutmix import box_on_host, sample_boxes


def _batch(b=8, dtype=torch.float32, seed=0, h=12, w=10):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, 255, (b, 3, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _assert_one_box(changed: torch.Tensor) -> tuple[int, int, int, int]:
    """``changed`` (H, W) bool: True exactly on one axis-aligned rectangle; return it."""
    ys, xs = torch.nonzero(changed, as_tuple=True)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    rect = torch.zeros_like(changed)
    rect[y0:y1, x0:x1] = True
    assert torch.equal(rect, changed), "the pasted region is not one axis-aligned box"
    return y0, y1, x0, x1


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_pasted_region_is_one_box_and_label_weight_is_its_area(mode, dtype):
    b, k = 9, 5
    x, y = _batch(b, dtype), torch.arange(b) % k
    m = CutMix(1.0, num_classes=k, mode=mode)
    for seed in range(4):
        xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(seed), return_params=True)
        h, w = x.shape[-2:]
        for i in range(b):
            j = int(p["perm"][i])
            from_partner = (xm[i] == x[j]).all(0) & (x[i] != x[j]).any(0)
            changed = (xm[i] != x[i]).any(0)
            y0, y1, x0, x1 = (int(v) for v in p["box"][i])
            if y1 > y0 and x1 > x0:
                assert _assert_one_box(changed) == (y0, y1, x0, x1)
                assert from_partner.sum() == changed.sum()  # every changed pixel is the partner's
            else:
                assert not changed.any()
            area = (y1 - y0) * (x1 - x0) / (h * w)
            assert abs(float(p["lam"][i]) - (1 - area)) < 1e-6
            # the partner's label weight equals the box area
            if int(y[j]) != int(y[i]):
                assert abs(float(ym[i, y[j]]) - area) < 1e-6
        torch.testing.assert_close(ym.sum(1), torch.ones(b))
        torch.testing.assert_close(ym, mix_targets(one_hot(y, k), p["perm"], p["lam"]))


def test_batch_mode_one_box_elem_mode_many():
    x, y = _batch(12), torch.arange(12) % 3
    _, _, pb = CutMix(1.0, num_classes=3, mode="batch")(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert (pb["box"] == pb["box"][0]).all()
    _, _, pe = CutMix(1.0, num_classes=3, mode="elem")(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert torch.unique(pe["box"], dim=0).shape[0] > 6
    _, _, pp = CutMix(1.0, num_classes=3, mode="pair")(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert torch.equal(pp["box"], pp["box"][pp["perm"]])


def test_box_geometry_matches_the_paper():
    n = 20000
    g = torch.Generator().manual_seed(0)
    lam = torch.rand(n, generator=g)
    centre = torch.rand(n, 2, generator=g)
    box, lam_area = sample_boxes(lam, centre, 32, 32)
    assert (box[:, 1] >= box[:, 0]).all() and (box[:, 3] >= box[:, 2]).all()
    assert box.min() >= 0 and box.max() <= 32
    # sides ∝ sqrt(1-λ) before clipping: never larger than the unclipped box
    side = (32 * torch.sqrt(1 - lam)).floor()
    assert ((box[:, 1] - box[:, 0]) <= side).all()
    # clipping only shrinks the box: realised λ >= drawn λ (up to flooring)
    assert (lam_area >= lam - 0.07).all()
    # λ ~ U(0,1) (α=1): mean of the realised λ is above 1/2 because of clipping, but not by much
    assert 0.5 < float(lam_area.mean()) < 0.75


@pytest.mark.parametrize("size", [(32, 32), (7, 13), (224, 224)])
def test_host_boxes_equal_tensor_boxes(size):
    """The CPU batch-wide path (Python numbers) draws the boxes of the tensor path."""
    h, w = size
    g = torch.Generator().manual_seed(h * w)
    lam = torch.rand(3000, generator=g)
    lam[:3] = torch.tensor([0.0, 1.0, 0.5])
    centre = torch.rand(3000, 2, generator=g)
    box, lam_area = sample_boxes(lam, centre, h, w)
    host = [box_on_host(float(l), float(c[0]), float(c[1]), h, w) for l, c in zip(lam, centre)]
    assert torch.equal(box, torch.tensor([b for b, _ in host]))
    assert torch.allclose(lam_area, torch.tensor([a for _, a in host]), atol=1e-6, rtol=0)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("mode", ["batch", "elem"])
@pytest.mark.parametrize("b", [2, 3, 6, 7])
@pytest.mark.parametrize("p", [1.0, 0.6])
def test_fast_paths_equal_reference(dtype, mode, b, p):
    x, y = _batch(b, dtype), torch.arange(b) % 3
    m = CutMix(1.0, num_classes=3, mode=mode, p=p)
    out, ys, prm = m(x.clone(), y, generator=torch.Generator().manual_seed(b), return_params=True)
    mask = K.box_mask(prm["box"], *x.shape[-2:])
    ref = torch.where(mask, x[prm["perm"]], x)
    assert torch.equal(out, ref)
    xi = x.clone()
    inpl, yi = m(xi, y, params=prm, inplace=True)
    assert inpl.data_ptr() == xi.data_ptr() and torch.equal(inpl, ref)
    assert torch.equal(ys, yi)
    generic = m._apply_generic(x, m.params_type(**{k: v for k, v in prm.items() if k != "offset"}), False)
    assert torch.equal(generic, ref)


def test_channels_last_kept():
    x = _batch(4).contiguous(memory_format=torch.channels_last)
    out, _ = CutMix(1.0, num_classes=3, mode="elem")(x, torch.arange(4) % 3, generator=torch.Generator().manual_seed(0))
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_alpha_zero_and_batch_of_one():
    x, y = _batch(4), torch.arange(4) % 3
    xm, ym = CutMix(0.0, num_classes=3)(x, y)
    assert torch.equal(xm, x) and torch.equal(ym, F.one_hot(y, 3).float())
    xm, ym = CutMix(1.0, num_classes=3)(x[:1], y[:1])
    assert torch.equal(xm, x[:1])


def test_errors_name_the_class():
    m = CutMix(1.0, num_classes=3)
    with pytest.raises(ValueError, match="CutMix: y"):
        m(_batch(4), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="CutMix: alpha"):
        CutMix(-0.5, num_classes=3)
