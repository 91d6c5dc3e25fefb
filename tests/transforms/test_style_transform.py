"""StyleAugment as a RandomTransform (torchaug.transforms.style): params, replay, region, targets, errors, isolation.

The networks here are the registry's tiny example (a random 1x1-conv encoder and its pseudo-inverse decoder) or
small random convolutions; the trained-AdaIN form is tested in tests/generative/test_style.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from torchaug.functional.moments import adain_stats
from torchaug.transforms import StyleAugment
from torchaug.transforms.style import _tiny_example

ROOT = Path(__file__).resolve().parents[2]


def _x(b=8, c=3, size=16, dtype=torch.uint8, seed=0):
    x = torch.randint(0, 256, (b, c, size, size), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _like(t: StyleAugment, **kw) -> StyleAugment:
    """The example's networks and styles with other settings."""
    styles = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    return StyleAugment(t.encoder, t.decoder, styles, **kw)


def test_importing_transforms_does_not_import_generative():
    code = ("import sys, torchaug.transforms; bad = [m for m in sys.modules if m.startswith('torchaug.generative') "
            "or m.split('.')[0] in ('lightning', 'pytorch_lightning', 'hydra')]; assert not bad, bad; "
            "assert torchaug.transforms.StyleAugment.__module__ == 'torchaug.transforms.style'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_example_decoder_inverts_its_encoder():
    t = _tiny_example()
    x = _x(dtype=torch.float32)
    torch.testing.assert_close(t.decoder(t.encoder(x)), x, atol=1e-5, rtol=0)


def test_output_is_the_adain_formula_on_the_selected_images():
    t = _like(_tiny_example(), p=0.5, alpha=0.7)
    x = _x(b=16)
    out, params = t(x, generator=torch.Generator().manual_seed(3), return_params=True)
    assert set(params) == {"apply", "style_mean", "style_std", "alpha"}
    assert params["style_mean"].shape == (16, 8) and params["alpha"].shape == (16,)
    apply = params["apply"]
    assert 0 < int(apply.sum()) < 16
    # bank mode: every drawn target is one of the bank's images' statistics
    d = (params["style_mean"][:, None] - t.style_mean[None]).abs().sum(-1)
    assert bool((d.amin(1) == 0).all())
    x01 = x.float() / 255
    fc = t.encoder(x01)
    tt = 0.7 * adain_stats(fc, params["style_mean"], params["style_std"]) + 0.3 * fc
    want = t.decoder(tt).clamp(0, 1).mul(255).round().to(torch.uint8)
    want = torch.where(apply.view(-1, 1, 1, 1), want, x)
    assert torch.equal(out, want)
    assert not torch.equal(out[apply], x[apply]) and torch.equal(out[~apply], x[~apply])


def test_same_seed_same_result_and_replay():
    t = _tiny_example()
    x = _x(dtype=torch.float32)
    a, params = t(x, generator=torch.Generator().manual_seed(5), return_params=True)
    b = t(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(t(x, params=params), a)
    c = t(x, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(a, c)


def test_region_keeps_the_pixels_outside_the_mask():
    t = _like(_tiny_example(), p=1.0)
    x = _x(b=4)
    full, params = t(x, generator=torch.Generator().manual_seed(0), return_params=True)
    region = torch.zeros(4, 16, 16, dtype=torch.bool)
    region[:, :8] = True
    out = t(x, params=params, region=region)
    assert torch.equal(out[:, :, :8], full[:, :, :8]) and torch.equal(out[:, :, 8:], x[:, :, 8:])


def test_targets_pass_through_unchanged():
    t = _like(_tiny_example(), p=1.0)
    x = _x(b=2)
    masks = torch.randint(0, 3, (2, 1, 16, 16), generator=torch.Generator().manual_seed(1))
    boxes = torch.tensor([[[1.0, 2.0, 9.0, 12.0]], [[0.0, 0.0, 4.0, 5.0]]])
    out = t({"image": x, "masks": masks, "boxes": boxes}, generator=torch.Generator().manual_seed(2))
    assert torch.equal(out["masks"], masks) and torch.equal(out["boxes"], boxes)
    assert torch.equal(out["image"], t(x, generator=torch.Generator().manual_seed(2)))


def test_same_on_batch_alpha_range_and_gaussian_mode():
    base = _tiny_example()
    x = _x(b=6, dtype=torch.float32)
    _, p = _like(base, p=1.0, same_on_batch=True)(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert bool((p["style_mean"] == p["style_mean"][:1]).all()) and bool((p["alpha"] == p["alpha"][0]).all())
    t = _like(base, p=1.0, alpha=(0.2, 0.6))
    assert t.alpha == (0.2, 0.6)
    _, p = t(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert float(p["alpha"].min()) >= 0.2 and float(p["alpha"].max()) <= 0.6 and len(set(p["alpha"].tolist())) == 6
    assert _like(base, alpha=0.25).alpha == 0.25
    g = _like(base, p=1.0, mode="gaussian")
    m, s = g.sample_styles(2000, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert bool((s > 0).all())
    torch.testing.assert_close(m.mean(0), g.gauss_mean[:8], atol=0.05, rtol=0)
    out = g(x, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and not torch.equal(out, x)


def test_grey_images_and_dtypes_are_kept():
    t = _like(_tiny_example(), p=1.0)
    grey = _x(b=3, c=1)
    out = t(grey, generator=torch.Generator().manual_seed(0))
    assert out.shape == grey.shape and out.dtype == torch.uint8
    half = _x(b=3, dtype=torch.float32).to(torch.bfloat16)
    assert t(half, generator=torch.Generator().manual_seed(0)).dtype == torch.bfloat16
    single = t(_x(b=1)[0], generator=torch.Generator().manual_seed(0))
    assert single.shape == (3, 16, 16)


def test_networks_are_frozen_and_stay_in_eval_mode():
    enc = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    dec = nn.Conv2d(4, 3, 3, padding=1)
    t = StyleAugment(enc, dec, torch.rand(2, 3, 8, 8))
    t.train()
    assert t.training and not enc.training and not dec.training
    assert not any(p.requires_grad for p in t.parameters())
    assert "encoder" in dict(t.named_children()) and "style_mean" in t.state_dict()


def test_feature_lists_and_downsampling_decoders():
    class ListEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3, padding=1)
            self.b = nn.Conv2d(4, 6, 3, stride=2, padding=1)

        def forward(self, x):
            f1 = torch.relu(self.a(x))
            return [f1, torch.relu(self.b(f1))]

    dec = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(6, 3, 3, padding=1))
    dec.downsample = 2
    t = StyleAugment(ListEncoder(), dec, torch.rand(3, 3, 8, 8), p=1.0)
    assert t.style_mean.shape == (3, 6) and t.size_multiple == 2
    assert t(_x(b=2), generator=torch.Generator().manual_seed(0)).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="divisible by 2"):
        t(_x(b=2, size=15))
    with pytest.raises(ValueError, match="at least 4"):
        t(_x(b=2, size=2))


def test_bad_arguments_and_networks_name_what_is_wrong():
    enc, dec = _tiny_example().encoder, _tiny_example().decoder
    styles = torch.rand(2, 3, 8, 8)
    with pytest.raises(TypeError, match="encoder must be an nn.Module"):
        StyleAugment(lambda x: x, dec, styles)
    with pytest.raises(TypeError, match="decoder must be an nn.Module"):
        StyleAugment(enc, None, styles)
    with pytest.raises(TypeError, match="styles must be a tensor"):
        StyleAugment(enc, dec, "sklearn")
    with pytest.raises(ValueError, match="styles"):
        StyleAugment(enc, dec, torch.rand(2, 4, 8, 8))
    with pytest.raises(ValueError, match="mode"):
        StyleAugment(enc, dec, styles, mode="other")
    with pytest.raises(ValueError, match="alpha"):
        StyleAugment(enc, dec, styles, alpha=1.5)

    class Flat(nn.Module):
        def forward(self, x):
            return x.flatten(1)

    with pytest.raises(TypeError, match="encoder must return"):
        StyleAugment(Flat(), dec, styles)
    shrink = StyleAugment(enc, nn.Sequential(nn.Conv2d(8, 3, 1), nn.AvgPool2d(2)), styles, p=1.0)
    with pytest.raises(ValueError, match="decoder must give back"):
        shrink(_x(b=2))
    t = StyleAugment(enc, dec, styles)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        t(_x(b=2, c=2))
