"""RandAugment, TrivialAugmentWide, AutoAugment: per-sample ops, torchvision replay parity."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from torchaug.transforms import OPS, AutoAugment, RandAugment, TrivialAugmentWide, apply_op
from torchaug.transforms.policies import _AUTO_POLICIES


def _images(dtype=torch.uint8, b=48, c=3, h=16, w=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else (x.to(torch.float32) / 255).to(dtype)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


_TV = v2.RandAugment()  # its _apply_image_or_video_transform applies one named op


def _replay(x, op, mag):
    y = x
    for k in range(op.shape[0]):
        y = _TV._apply_image_or_video_transform(
            y, OPS[int(op[k])], float(mag[k]), interpolation=v2.InterpolationMode.NEAREST, fill={}
        )
    return y


POLICIES = [
    lambda: RandAugment(),
    lambda: TrivialAugmentWide(),
    lambda: AutoAugment("imagenet"),
    lambda: AutoAugment("cifar10"),
    lambda: AutoAugment("svhn"),
]
POLICY_IDS = ["randaugment", "trivialaugmentwide", "autoaugment-imagenet", "autoaugment-cifar10", "autoaugment-svhn"]


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_policies_replay_torchvision_per_sample(make, dtype):
    x = _images(dtype)
    t = make()
    out, p = t(x, generator=_gen(1), return_params=True)
    for i in range(x.shape[0]):
        ref = _replay(x[i], p["op"][i], p["magnitude"][i])
        # uint8: ops chain exact (blends rounded as torchvision); float: 1e-5
        torch.testing.assert_close(out[i].double(), ref.double(), rtol=0, atol=0 if dtype == torch.uint8 else 1e-5)


def test_one_batch_applies_many_different_ops():
    x = _images(b=64)
    out, p = RandAugment(num_ops=2, magnitude=9)(x, generator=_gen(), return_params=True)
    ops = p["op"]
    assert ops.shape == (64, 2)
    assert len(set(ops.flatten().tolist())) >= 12  # nearly all 14 ops in one call
    mags = p["magnitude"]
    # signed ops get both signs; the magnitude bin is shared (RandAugment's M)
    rot = mags[ops == OPS.index("Rotate")]
    assert bool((rot.abs() - 9.0).abs().max() < 1e-4) and bool((rot > 0).any() and (rot < 0).any())
    # samples with a geometric op moved, samples with Identity twice did not
    ident = (ops == 0).all(1)
    torch.testing.assert_close(out[ident], x[ident], rtol=0, atol=0)


def test_trivialaugment_draws_per_sample_magnitude_bins():
    x = _images(b=128)
    _, p = TrivialAugmentWide()(x, generator=_gen(), return_params=True)
    rot = p["magnitude"][p["op"] == OPS.index("Rotate")]
    assert len(set(rot.abs().round(decimals=3).tolist())) > 3
    assert float(rot.abs().max()) <= 135.0


def test_autoaugment_policy_structure():
    for name, subs in _AUTO_POLICIES.items():
        assert len(subs) == 25 and all(len(s) == 2 for s in subs), name
    x = _images(b=128)
    t = AutoAugment("imagenet")
    _, p = t(x, generator=_gen(), return_params=True)
    assert p["policy"].shape == (128,) and len(set(p["policy"].tolist())) > 15
    # steps that fired use the sub-policy's op; the rest are Identity
    for i in range(128):
        sub = _AUTO_POLICIES["imagenet"][int(p["policy"][i])]
        for k in range(2):
            assert OPS[int(p["op"][i, k])] in (sub[k][0], "Identity")
    # (Equalize, 0.8) / (Equalize, 0.6) style probabilities: fired fraction is between 0 and 1
    fired = (p["op"] != 0).float().mean()
    assert 0.4 < float(fired) < 0.9
    assert AutoAugment(v2.AutoAugmentPolicy.CIFAR10).policy == "cifar10"


@pytest.mark.parametrize("make", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_and_range(make, dtype):
    x = _images(dtype, b=16)
    out = make()(x, generator=_gen())
    assert out.dtype == dtype and out.shape == x.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_p_same_on_batch_channels_last_and_grey():
    x = _images(b=32)
    torch.testing.assert_close(RandAugment(p=0.0)(x, generator=_gen()), x, rtol=0, atol=0)
    out, p = RandAugment(p=0.5)(x, generator=_gen(), return_params=True)
    torch.testing.assert_close(out[~p["apply"]], x[~p["apply"]], rtol=0, atol=0)
    _, p = RandAugment(same_on_batch=True)(x, generator=_gen(), return_params=True)
    assert bool((p["op"] == p["op"][0]).all())
    xc = x.contiguous(memory_format=torch.channels_last)
    assert TrivialAugmentWide()(xc, generator=_gen()).is_contiguous(memory_format=torch.channels_last)
    g = _images(c=1, b=24)
    out, p = RandAugment()(g, generator=_gen(), return_params=True)
    for i in range(24):
        torch.testing.assert_close(out[i], _replay(g[i], p["op"][i], p["magnitude"][i]), rtol=0, atol=0)


def test_fill_and_apply_op_direct():
    x = torch.full((2, 3, 8, 8), 100, dtype=torch.uint8)
    op = torch.tensor([OPS.index("TranslateX"), OPS.index("Invert")])
    out = apply_op(x, op, torch.tensor([3.0, 0.0]), fill=[255.0, 0.0, 0.0])
    assert bool((out[0, :, :, :3] == torch.tensor([255, 0, 0], dtype=torch.uint8).view(3, 1, 1)).all())
    assert bool((out[1] == 155).all())
    t = RandAugment(fill=1.0)
    assert t._fill_for(x) == 255.0


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("masked", [False, True])
def test_apply_op_into_out_equals_a_new_result(monkeypatch, dtype, masked):
    # out=x (a chain over a batch the caller owns): every op's samples rewritten in their rows, the
    # Identity ones not touched; another out gets every sample; both equal the plain call
    from torchaug.transforms import policies

    if masked:
        monkeypatch.setattr(policies, "_GATHER_ON_CPU", False)
    x = _images(dtype, b=len(OPS) + 4)
    op = torch.cat([torch.arange(len(OPS)), torch.tensor([OPS.index("Identity"), 0, OPS.index("Rotate"), 5])])
    mag = torch.linspace(-0.9, 0.9, op.numel(), dtype=torch.float64) * 20
    ref = apply_op(x, op, mag, interpolation="bilinear")
    y = x.clone()
    ident = (op == OPS.index("Identity")).nonzero().flatten()
    keep = y[ident].clone()
    assert apply_op(y, op, mag, interpolation="bilinear", out=y) is y
    assert torch.equal(y, ref) and torch.equal(y[ident], keep)
    other = torch.zeros_like(x)
    assert apply_op(x, op, mag, interpolation="bilinear", out=other) is other and torch.equal(other, ref)
    whole = x.clone()  # one op for the whole batch
    one = torch.full_like(op, OPS.index("Invert"))
    assert torch.equal(apply_op(whole, one, mag, out=whole), apply_op(x, one, mag))
    with pytest.raises(ValueError, match=r"apply_op: out must be a tensor of the input's shape"):
        apply_op(x, op, mag, out=x[:2])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill", [None, 77.0, [255.0, 10.4, 0.5]])
def test_translations_equal_torchvision_affine(dtype, interpolation, fill):
    # whole-pixel moves run as a crop of the fill-padded image, not a warp: same pixels
    x = _images(dtype, b=10)
    mags = torch.tensor([0.0, 3.7, -3.7, 19.0, -19.0, 25.0, -40.0, 1.0, -1.0, 9.9], dtype=torch.float64)
    op = torch.tensor([OPS.index("TranslateX"), OPS.index("TranslateY")] * 5)
    if fill is not None and dtype != torch.uint8:
        fill = [v / 255 for v in fill] if isinstance(fill, list) else fill / 255
    out = apply_op(x, op, mags, interpolation=interpolation, fill=fill)
    mode = v2.InterpolationMode.NEAREST if interpolation == "nearest" else v2.InterpolationMode.BILINEAR
    for i in range(10):
        ref = _TV._apply_image_or_video_transform(x[i], OPS[int(op[i])], float(mags[i]), interpolation=mode,
                                                  fill={type(x[i]): fill} if fill is not None else {})
        torch.testing.assert_close(out[i], ref, rtol=0, atol=0 if dtype == torch.uint8 else 1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="AutoAugment: policy"):
        AutoAugment("mnist")
    with pytest.raises(ValueError, match="RandAugment: magnitude"):
        RandAugment(magnitude=31)
    with pytest.raises(ValueError, match="RandAugment: interpolation"):
        RandAugment(interpolation="bicubic")
    with pytest.raises(ValueError, match="TrivialAugmentWide: x must have 1 or 3 channels"):
        TrivialAugmentWide()(torch.zeros(2, 4, 8, 8, dtype=torch.uint8))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_masked_path_equals_gather_path(monkeypatch, dtype):
    # accelerators run every kernel on the whole batch and select with torch.where (no host
    # sync); CPU gathers the samples that chose each op. Both must give the same result.
    from torchaug.transforms import policies

    x = _images(dtype, b=32)
    t = RandAugment(num_ops=3)
    out, p = t(x, generator=_gen(7), return_params=True)
    monkeypatch.setattr(policies, "_GATHER_ON_CPU", False)
    masked = t(x, params=p)
    torch.testing.assert_close(masked, out, rtol=0, atol=0)


@pytest.mark.parametrize("make", [lambda: RandAugment(2, 9), lambda: TrivialAugmentWide(), lambda: AutoAugment("svhn")],
                         ids=["RandAugment", "TrivialAugmentWide", "AutoAugment"])
def test_policies_move_masks_boxes_and_keypoints_with_their_geometric_ops(make):
    """Issue 17 item 3: with a sampled ShearX/Y, TranslateX/Y or Rotate the targets move too."""
    from torchaug.transforms.policies import OPS, op_matrix  # noqa: F401  (public helper)

    b, h, w = 32, 32, 32
    x = torch.zeros(b, 3, h, w, dtype=torch.uint8)
    x[:, :, 8:20, 10:22] = 255
    m = torch.zeros(b, h, w, dtype=torch.uint8)
    m[:, 8:20, 10:22] = 1
    boxes = torch.tensor([[10.0, 8.0, 22.0, 20.0]]).expand(b, 1, 4).clone()
    t = make()
    out, params = t({"image": x, "mask": m, "boxes": boxes, "keypoints": torch.tensor([[[16.0, 14.0]]]).expand(b, 1, 2)},
                    generator=torch.Generator().manual_seed(0), return_params=True)
    geo = {OPS.index(n) for n in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")}
    moved = [i for i in range(b) if any(int(o) in geo for o in params["op"][i]) and not torch.equal(out["mask"][i], m[i])]
    assert moved, "the seed drew no geometric op that moved the square"
    # replay the image alone with a mask-like image: the mask equals the image's geometry exactly
    probe = t(m.unsqueeze(1).expand(b, 3, h, w).mul(255).contiguous(), params=params)
    for i in moved:
        same = (probe[i, 0] > 0) == (out["mask"][i] == 1)
        if not ({int(o) for o in params["op"][i]} - geo - {OPS.index("Identity")}):  # geometric ops only
            assert bool(same.all()), i
        ys, xs = torch.nonzero(out["mask"][i], as_tuple=True)
        if len(xs):
            bx = out["boxes"][i, 0]
            assert xs.min() >= bx[0] - 1 and xs.max() + 1 <= bx[2] + 1 and ys.min() >= bx[1] - 1 and ys.max() + 1 <= bx[3] + 1
