"""RandomErasing and Cutout: per-sample boxes, replay against torchvision's erase, fills, p."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from torchaug.transforms import Cutout, RandomErasing


def _images(dtype=torch.uint8, b=32, c=3, h=24, w=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, 255, (b, c, h, w), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else (x.to(torch.float32) / 255).to(dtype)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("value", [0.0, (0.2, 0.4, 0.6)])
def test_random_erasing_replays_torchvision(dtype, value):
    x = _images(dtype)
    t = RandomErasing(p=0.7, value=value)
    out, p = t(x, generator=_gen(), return_params=True)
    scale = 255 if dtype == torch.uint8 else 1.0
    v = torch.tensor(value if isinstance(value, tuple) else (value,) * 3) * scale
    v = v.round().to(dtype) if dtype == torch.uint8 else v.to(dtype)
    for i in range(x.shape[0]):
        if bool(p["apply"][i]):
            ref = TF.erase(x[i], int(p["top"][i]), int(p["left"][i]), int(p["height"][i]), int(p["width"][i]), v.view(3, 1, 1))
        else:
            ref = x[i]
        torch.testing.assert_close(out[i], ref, rtol=0, atol=0)
    assert 0 < int(p["apply"].sum()) < x.shape[0]


def test_random_erasing_boxes_follow_scale_and_ratio():
    x = _images(b=256, h=40, w=40)
    t = RandomErasing(p=1.0, scale=(0.05, 0.2), ratio=(0.5, 2.0))
    _, p = t(x, generator=_gen(1), return_params=True)
    h, w = p["height"].double(), p["width"].double()
    area = h * w / (40 * 40)
    # rounding of h and w moves the area a little around the drawn fraction
    assert float(area.min()) > 0.03 and float(area.max()) < 0.25
    ar = h / w
    assert float(ar.min()) > 0.5 * 0.7 and float(ar.max()) < 2.0 / 0.7
    assert len(set(zip(p["top"].tolist(), p["left"].tolist()))) > 100  # every sample its own box
    assert bool((p["top"] + p["height"] <= 40).all()) and bool((p["left"] + p["width"] <= 40).all())


def test_random_erasing_gives_up_like_torchvision():
    # no box of this scale fits: torchvision leaves the image unchanged after 10 tries
    x = _images(b=8, h=4, w=4)
    out, p = RandomErasing(p=1.0, scale=(0.99, 1.0), ratio=(1.0, 1.0))(x, generator=_gen(), return_params=True)
    assert torch.equal(out, x) and bool((p["height"] == 0).all())


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_erasing_random_value(dtype):
    x = _images(dtype, b=16)
    out, p = RandomErasing(p=1.0, value="random", scale=(0.2, 0.3))(x, generator=_gen(), return_params=True)
    noise = p["noise"]
    assert noise.shape == x.shape
    i = 0
    t, l_, h, w = (int(p[k][i]) for k in ("top", "left", "height", "width"))
    patch = out[i, :, t : t + h, l_ : l_ + w]
    expect = noise[i, :, t : t + h, l_ : l_ + w]
    expect = (expect * 255).round().to(torch.uint8) if dtype == torch.uint8 else expect
    torch.testing.assert_close(patch, expect, rtol=0, atol=0)
    assert patch.float().std() > 0  # values differ per pixel
    if dtype != torch.uint8:
        assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_random_erasing_p0_dtypes_format():
    x = _images(torch.float32)
    torch.testing.assert_close(RandomErasing(p=0.0)(x, generator=_gen()), x, rtol=0, atol=0)
    for dtype in (torch.float16, torch.bfloat16):
        out = RandomErasing(p=1.0, value=0.5)(x.to(dtype), generator=_gen())
        assert out.dtype == dtype and bool(((out == 0.5) | (out == x.to(dtype))).all())
    xc = x.contiguous(memory_format=torch.channels_last)
    assert RandomErasing(p=1.0)(xc, generator=_gen()).is_contiguous(memory_format=torch.channels_last)
    one = RandomErasing(p=1.0)(x[0], generator=_gen())
    assert one.shape == x[0].shape


def test_random_erasing_bad_arguments():
    with pytest.raises(ValueError, match="RandomErasing: value"):
        RandomErasing(value="noise")
    with pytest.raises(ValueError, match="RandomErasing: scale"):
        RandomErasing(scale=(0.5, 0.1))
    with pytest.raises(ValueError, match="RandomErasing: value must have one entry per channel"):
        RandomErasing(p=1.0, value=(0.1, 0.2))(torch.zeros(2, 3, 8, 8), generator=_gen())


def test_cutout_square_clipped_and_centre_uniform():
    x = _images(b=512, h=32, w=32)
    out, p = Cutout(size=16)(x, generator=_gen(), return_params=True)
    h, w = p["height"][:, 0], p["width"][:, 0]
    assert bool((h <= 16).all()) and bool((w <= 16).all()) and bool((h >= 8).all())
    assert float((h == 16).float().mean()) > 0.3 and float((h < 16).float().mean()) > 0.3  # clipped at borders
    zeros = (out == 0).all(1).flatten(1).sum(1)
    torch.testing.assert_close(zeros, h * w)  # exactly the clipped square is zero (inputs are >= 1)
    centre_y = p["top"][:, 0] + h - 8  # the unclipped square ends at centre + 8
    cy = torch.where(p["top"][:, 0] > 0, p["top"][:, 0] + 8, centre_y)
    assert float(cy.float().mean()) == pytest.approx(15.5, abs=1.5)
    for i in range(4):
        ref = TF.erase(x[i], int(p["top"][i, 0]), int(p["left"][i, 0]), int(h[i]), int(w[i]), torch.tensor(0, dtype=torch.uint8))
        assert torch.equal(out[i], ref)


def test_cutout_holes_value_and_p():
    x = _images(torch.float32, b=8, h=32, w=32)
    out, p = Cutout(size=4, num_holes=3, value=(1.0, 0.5, 0.0), p=0.5)(x, generator=_gen(2), return_params=True)
    assert p["top"].shape == (8, 3)
    apply = p["apply"]
    torch.testing.assert_close(out[~apply], x[~apply], rtol=0, atol=0)
    filled = (out[:, 0] == 1.0) & (out[:, 1] == 0.5) & (out[:, 2] == 0.0)
    assert bool(filled[apply].flatten(1).any(1).all())
    with pytest.raises(ValueError, match="Cutout: size"):
        Cutout(size=0)
    with pytest.raises(ValueError, match="Cutout: value"):
        Cutout(value="random")
    assert math.isclose(Cutout(size=8).size, 8)


def test_random_erasing_same_on_batch_draws_one_box():
    x = _images(b=16, h=24, w=20)
    out, p = RandomErasing(p=1.0, same_on_batch=True)(x, generator=_gen(3), return_params=True)
    for k in ("top", "left", "height", "width"):
        assert bool((p[k] == p[k][0]).all())
    assert int(p["height"][0]) > 0 and int(p["top"][0]) + int(p["height"][0]) <= 24
    assert int(p["left"][0]) + int(p["width"][0]) <= 20
