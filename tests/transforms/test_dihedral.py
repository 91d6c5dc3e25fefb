"""RandomRotate90, Transpose, D4: albumentations 2.0.8 parity (images, masks, boxes, keypoints), the
non-square rule, and keypoints that land where their one-pixel masks go."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchaug.transforms import D4, RandomRotate90, Transpose
from torchaug.transforms.dihedral import D4_ELEMENTS, apply_d4, d4_points

AF = pytest.importorskip("albumentations.augmentations.geometric.functional")

S = 7


def _batch(n=8, c=3, h=S, w=S, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8)


def _hwc(t):
    return t.permute(1, 2, 0).numpy()


def test_d4_elements_equal_albumentations_images_masks_boxes_keypoints():
    x = _batch()
    m = (_batch(c=1, seed=1) > 128).to(torch.uint8)
    e = torch.arange(8)
    t = D4()
    out = t(x, params={"group_member": e})
    mo = t.transform_mask(m, {"group_member": e})
    boxes = torch.tensor([[1.0, 2.0, 4.0, 6.0]]).expand(8, 1, 4)
    pts = torch.tensor([[1.0, 2.0], [5.0, 0.0], [3.0, 6.0]]).expand(8, 3, 2)
    bo = t.transform_boxes(boxes, {"group_member": e}, (S, S))
    po = t.transform_points(pts + 0.5, {"group_member": e}, (S, S)) - 0.5  # centres of pixel indices
    for i, name in enumerate(D4_ELEMENTS):
        np.testing.assert_array_equal(_hwc(out[i]), AF.d4(_hwc(x[i]), name), err_msg=name)
        np.testing.assert_array_equal(mo[i, 0].numpy(), AF.d4(m[i, 0].numpy(), name), err_msg=name)
        nb = AF.bboxes_d4(boxes[i].numpy() / S, name) * S  # albumentations boxes are normalised
        np.testing.assert_allclose(bo[i].numpy(), nb, atol=1e-5, err_msg=name)
        kp = np.concatenate([pts[i].numpy(), np.zeros((3, 2))], axis=1).astype(np.float32)  # x, y, angle, scale
        np.testing.assert_allclose(po[i].numpy(), AF.keypoints_d4(kp, name, (S, S))[:, :2], atol=1e-5, err_msg=name)


def test_rotate90_factor_equals_albumentations_and_np_rot90():
    x = _batch(n=4)
    k = torch.arange(4)
    out = RandomRotate90()(x, params={"factor": k})
    pts = torch.tensor([[1.0, 2.0], [6.0, 3.0]]).expand(4, 2, 2)
    po = RandomRotate90().transform_points(pts + 0.5, {"factor": k}, (S, S)) - 0.5
    for i in range(4):
        np.testing.assert_array_equal(_hwc(out[i]), AF.rot90(_hwc(x[i]), i))
        np.testing.assert_array_equal(_hwc(out[i]), np.rot90(_hwc(x[i]), i))
        kp = np.concatenate([pts[i].numpy(), np.zeros((2, 2))], axis=1).astype(np.float32)
        np.testing.assert_allclose(po[i].numpy(), AF.keypoints_rot90(kp, i, (S, S))[:, :2], atol=1e-5)


def test_transpose_equals_albumentations_and_takes_non_square_with_p1():
    x = _batch(n=3, h=5, w=9)
    out = Transpose(p=1.0)(x)
    assert out.shape == (3, 3, 9, 5)
    for i in range(3):
        np.testing.assert_array_equal(_hwc(out[i]), AF.transpose(_hwc(x[i])))
    boxes = torch.tensor([[[1.0, 2.0, 4.0, 3.0]]])
    nb = AF.bboxes_transpose(boxes[0].numpy() / np.array([9, 5, 9, 5])) * np.array([5, 9, 5, 9])
    np.testing.assert_allclose(Transpose(p=1.0).transform_boxes(boxes, {}, (5, 9))[0].numpy(), nb, atol=1e-5)


def test_non_square_rule():
    x = _batch(n=2, h=5, w=9)
    for op in (RandomRotate90(), D4()):
        with pytest.raises(ValueError, match="square"):
            op(x)
    with pytest.raises(ValueError, match="p=1"):
        Transpose(p=0.5)(x)


@pytest.mark.parametrize("op", [RandomRotate90(), D4(), Transpose(p=0.5)], ids=lambda o: type(o).__name__)
def test_keypoint_lands_in_its_one_pixel_mask(op):
    n = 16
    g = torch.Generator().manual_seed(2)
    yx = torch.randint(0, S, (n, 2), generator=g)
    mask = torch.zeros(n, 1, S, S, dtype=torch.uint8)
    mask[torch.arange(n), 0, yx[:, 0], yx[:, 1]] = 1
    pts = yx.flip(1).float().unsqueeze(1) + 0.5  # the pixel's centre, xy
    x = _batch(n=n)
    _, params = op(x, generator=torch.Generator().manual_seed(5), return_params=True)
    mo = op.transform_mask(mask, params)
    mo = torch.where(params["apply"].view(-1, 1, 1, 1), mo, mask)
    po = torch.where(params["apply"].view(-1, 1, 1), op.transform_points(pts, params, (S, S)), pts)
    for i in range(n):
        yy, xx = torch.nonzero(mo[i, 0], as_tuple=True)
        assert (int(xx), int(yy)) == (int(po[i, 0, 0].floor()), int(po[i, 0, 1].floor())), i


def test_d4_draws_every_element_per_sample_and_replays():
    x = _batch(n=256, h=4, w=4)
    out, params = D4()(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert set(params["group_member"].tolist()) == set(range(8))
    assert torch.equal(D4()(x, params=params), out)
    assert torch.equal(apply_d4(x, params["group_member"]), out)


def test_d4_points_inverse_of_transpose_is_itself():
    pts = torch.rand(2, 5, 2) * S
    e = torch.full((2,), 7)
    torch.testing.assert_close(d4_points(d4_points(pts, e, (S, S)), e, (S, S)), pts)


def test_bad_arguments_name_the_op():
    with pytest.raises(ValueError, match="RandomRotate90"):
        RandomRotate90(p=2.0)
    with pytest.raises(TypeError, match="D4"):
        D4(same_on_batch=1)
