"""timm's transform strings: parsed like timm, each op equal to timm's PIL op at fixed magnitude and sign."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from torchaug.transforms import ThreeAugment, TimmAugMix, TimmRandAugment, from_timm_string
from torchaug.transforms.timm_policies import TIMM_OPS, apply_timm_op, timm_op_args

A = pytest.importorskip("timm.data.auto_augment")
Image = pytest.importorskip("PIL.Image")

HP = {"translate_const": 14, "img_mean": (124, 116, 104)}
MEAN = (124 / 255, 116 / 255, 104 / 255)


@pytest.mark.parametrize(
    "config",
    ["rand-m9-mstd0.5-inc1", "rand-m9-mstd0.5", "rand-m7-n3-p0.7-mmax8", "rand-m10-mstd101-inc1", "rand-m6-tweights",
     "rand-m9-n1-t3a", "rand-m8-n2-t3aw-mstd1"],
)
def test_rand_strings_parse_like_timm(config):
    ref = A.rand_augment_transform(config, dict(HP))
    ours = from_timm_string(config, img_size=32, mean=MEAN)
    assert isinstance(ours, TimmRandAugment)
    assert list(ours.ops) == [op.name for op in ref.ops]
    assert ours.num_layers == ref.num_layers
    assert all(op.prob == ours.prob and op.magnitude == ours.magnitude for op in ref.ops)
    assert all(op.magnitude_std == ours.magnitude_std and op.magnitude_max == ours.magnitude_max for op in ref.ops)
    if ref.choice_weights is None:
        assert ours.weights is None
    else:
        np.testing.assert_allclose(np.array(ours.weights) / sum(ours.weights), ref.choice_weights, rtol=1e-12)
    assert ours.img_mean == HP["img_mean"] and ours.translate_const == HP["translate_const"]


@pytest.mark.parametrize("config", ["augmix-m3-w3", "augmix-m5-w4-d2", "augmix-m3-w3-d-1-a0.5-b1", "augmix-m9-mstd0.5"])
def test_augmix_strings_parse_like_timm(config):
    if "d-1" in config:  # timm's own parser chokes on the '-1' of 'd-1' ('1' has no key); depth -1 is its default
        ref = A.augment_and_mix_transform(config.replace("-d-1", ""), dict(HP))
    else:
        ref = A.augment_and_mix_transform(config, dict(HP))
    ours = from_timm_string(config, img_size=32, mean=MEAN)
    assert isinstance(ours, TimmAugMix)
    assert (ours.width, ours.depth, ours.alpha, ours.blended) == (ref.width, ref.depth, ref.alpha, ref.blended)
    assert {op.magnitude for op in ref.ops} == {ours.magnitude}
    assert {op.magnitude_std for op in ref.ops} == {ours.magnitude_std}
    assert all(op.prob == 1.0 for op in ref.ops)
    from torchaug.transforms.timm_policies import _AUGMIX_TRANSFORMS

    assert list(_AUGMIX_TRANSFORMS) == [op.name for op in ref.ops]


def test_3a_parses_like_timm():
    ref = A.auto_augment_transform("3a", dict(HP))
    assert [[(op.name, op.prob, op.magnitude) for op in sp] for sp in ref.policy] == [
        [("Solarize", 1.0, 5)], [("Desaturate", 1.0, 10)], [("GaussianBlurRand", 1.0, 10)]]
    ours = from_timm_string("3a", mean=MEAN)
    assert isinstance(ours, ThreeAugment)
    x = torch.randint(0, 256, (300, 3, 16, 16), dtype=torch.uint8)
    _, p = ours(x, generator=torch.Generator().manual_seed(0), return_params=True)
    names = [TIMM_OPS[i] for i in p["op"][:, 0].tolist()]
    assert {n: names.count(n) for n in set(names)}.keys() == {"Solarize", "Desaturate", "GaussianBlurRand"}
    sol = p["op"][:, 0] == TIMM_OPS.index("Solarize")
    assert (p["arg"][sol] == 128).all()  # magnitude 5: threshold int(0.5 * 256)
    des = p["op"][:, 0] == TIMM_OPS.index("Desaturate")
    assert (p["arg"][des] == 0).all()  # magnitude 10: colour factor 0 (greyscale)
    blur = p["op"][:, 0] == TIMM_OPS.index("GaussianBlurRand")
    r = p["radius"][blur]
    assert (r >= 0.1).all() and (r <= 2.0).all() and r.std() > 0.3


@pytest.mark.parametrize(
    "config, match",
    [("rand-m9-x3", "'x3'"), ("rand-m9-tfoo", "tfoo"), ("augmix-m3-q1", "'q1'"), ("3a-m3", "'m3'"), ("cutout-m1", "'cutout'")],
)
def test_unknown_sections_name_the_token(config, match):
    with pytest.raises(ValueError, match=match):
        from_timm_string(config)


def _image(seed=0, size=32):
    g = torch.Generator().manual_seed(seed)
    base = torch.randint(0, 256, (1, 3, size // 4, size // 4), generator=g).float()
    x = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


_GEOMETRIC = {"Rotate", "ShearX", "ShearY", "TranslateX", "TranslateY", "TranslateXRel", "TranslateYRel"}


@pytest.mark.parametrize("name", [n for n in TIMM_OPS if n != "GaussianBlurRand"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_each_op_matches_timms_pil_op(name, sign, monkeypatch):
    x = _image()
    img = Image.fromarray(x[0].permute(1, 2, 0).numpy())
    level = 7.0
    # timm's _randomly_negate negates when random.random() > 0.5
    monkeypatch.setattr(A.random, "random", lambda: 0.9 if sign < 0 else 0.1)
    hp = dict(HP, interpolation=Image.BILINEAR)
    ref = torch.from_numpy(np.array(A.AugmentOp(name, prob=1.0, magnitude=level, hparams=hp)(img))).permute(2, 0, 1)[None]
    monkeypatch.setattr(A.random, "random", random.random)
    op = torch.tensor([TIMM_OPS.index(name)])
    arg = timm_op_args(op, torch.tensor([level]), torch.tensor([sign]), (32, 32), translate_const=14)
    ours = apply_timm_op(x, op, arg, fill=HP["img_mean"])
    d = (ours.int() - ref.int()).abs().float()
    if name in _GEOMETRIC:
        # bilinear warps: the same maps; PIL and torch differ at the image border (fill blending) and by rounding
        assert d.mean() <= 2.0 and (d <= 2).float().mean() >= 0.93, (d.mean(), (d <= 2).float().mean())
    elif name == "GaussianBlur":
        # PIL's extended box blur approximates the gaussian of sigma = radius
        assert d.mean() <= 1.0 and d.max() <= 10
    else:
        assert d.max() <= 1, d.max()  # PIL's integer rounding


def test_gaussian_blur_rand_radius_replays_pil():
    x = _image(1)
    img = Image.fromarray(x[0].permute(1, 2, 0).numpy())
    from PIL import ImageFilter

    ref = torch.from_numpy(np.array(img.filter(ImageFilter.GaussianBlur(radius=1.2)))).permute(2, 0, 1)[None]
    op = torch.tensor([TIMM_OPS.index("GaussianBlurRand")])
    ours = apply_timm_op(x, op, torch.tensor([2.0]), radius=torch.tensor([1.2]))
    d = (ours.int() - ref.int()).abs().float()
    assert d.mean() <= 1.0 and d.max() <= 10


def test_rand_augment_per_sample_and_reproducible():
    t = from_timm_string("rand-m9-mstd0.5-inc1", img_size=32)
    x = _image().expand(64, -1, -1, -1).contiguous()
    a, p = t(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert torch.equal(a, t(x, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(t(x, params=p), a)
    assert p["op"].shape == (64, 2)
    fired = p["op"] >= 0
    assert 0.35 < fired.float().mean() < 0.65  # p0.5 per op
    assert len({tuple(r) for r in p["op"].tolist()}) > 20  # every sample its own ops
    # weighted sets sample without replacement (timm's np.random.choice(replace=False))
    tw = from_timm_string("rand-m9-n3-p1.0-tweights", img_size=32)
    _, pw = tw(x, generator=torch.Generator().manual_seed(1), return_params=True)
    assert all(len(set(r)) == 3 for r in pw["op"].tolist())


def test_augmix_weights_and_output():
    t = from_timm_string("augmix-m3-w3", img_size=32)
    x = _image().expand(16, -1, -1, -1).contiguous()
    out, p = t(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert out.dtype == torch.uint8 and out.shape == x.shape
    torch.testing.assert_close(p["weights"].sum(1), torch.ones(16))
    p2 = dict(p, m=torch.zeros(16))
    assert torch.equal(t(x, params=p2), x)  # m = 0 keeps the original (PIL's blend(img, mixed, 0))
    tb = from_timm_string("augmix-m3-w3-b1", img_size=32)
    assert tb(x, generator=torch.Generator().manual_seed(0)).shape == x.shape


def test_augmix_mix_matches_timms_formula_given_the_chains():
    # the chains are replayed by making every op the identity-like Brightness at factor 1 is not
    # possible through timm; instead compare the mixing step: depth-1 chains of Invert / Equalize / AutoContrast
    t = TimmAugMix(width=3, depth=1)
    x = _image(2)
    ops = torch.tensor([[[TIMM_OPS.index("Invert")], [TIMM_OPS.index("Equalize")], [TIMM_OPS.index("AutoContrast")]]])
    w = torch.tensor([[0.2, 0.5, 0.3]])
    m = torch.tensor([0.6])
    params = {"op": ops, "arg": torch.zeros(1, 3, 1, dtype=torch.float64), "radius": torch.zeros(1, 3, 1, dtype=torch.float64),
              "weights": w, "m": m}
    ours = t(x, params=params)
    img = Image.fromarray(x[0].permute(1, 2, 0).numpy())
    from PIL import ImageOps

    augs = [ImageOps.invert(img), ImageOps.equalize(img), ImageOps.autocontrast(img)]
    mixed = np.zeros_like(np.asarray(img), dtype=np.float32)
    for wi, a in zip(w[0].numpy(), augs):
        mixed += wi * np.asarray(a, dtype=np.float32)
    mixed = Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))
    ref = torch.from_numpy(np.array(Image.blend(img, mixed, float(m)))).permute(2, 0, 1)[None]
    assert (ours.int() - ref.int()).abs().max() <= 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="ops"):
        TimmRandAugment(ops=["NotAnOp"])
    with pytest.raises(ValueError, match="weights"):
        TimmRandAugment(ops=["Rotate", "Invert"], weights=[1.0])
    with pytest.raises(ValueError, match="depth"):
        TimmAugMix(depth=0)
    with pytest.raises(TypeError, match="config"):
        from_timm_string(3)
    assert math.isinf(from_timm_string("rand-m9-mstd101").magnitude_std)


def test_targets_move_with_rand_augment_and_augmix_refuses_them():
    from torchvision import tv_tensors as tv

    x = torch.zeros(1, 3, 24, 24, dtype=torch.uint8)
    x[:, :, 9:17, 5:13] = 255
    m = torch.zeros(1, 1, 24, 24, dtype=torch.uint8)
    m[:, :, 9:17, 5:13] = 1
    for name in ("Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"):
        t = TimmRandAugment(magnitude=9, num_layers=1, prob=1.0, ops=[name], img_mean=0)
        out, mo = t(tv.Image(x), tv.Mask(m), generator=torch.Generator().manual_seed(0))
        obj = out[0].float().mean(0) > 127
        assert (obj ^ mo[0, 0].bool()).sum() <= 12, name  # the boundary band of a bilinear vs nearest warp
    with pytest.raises(TypeError, match="TimmAugMix"):
        TimmAugMix()(tv.Image(x), tv.Mask(m))
    assert TimmAugMix()(x).shape == x.shape  # images alone are fine
