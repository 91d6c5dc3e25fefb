"""Style transfer: AdaIN / Gram helpers, the VGG encoder, Gatys transfer, the AdaIN module, StyleAugment."""

from __future__ import annotations

import pytest
import torch

from torchaug.generative._vgg import VGGEncoder
from torchaug.generative.style import (
    AdaINDecoder,
    AdaINStyleTransfer,
    StyleAugment,
    adain,
    calc_mean_std,
    gatys_transfer,
    gram_matrix,
    random_crops,
)
from gen_support import fit, one_thread  # noqa: F401

SHALLOW = ("relu1_1", "relu2_1")


@pytest.fixture(scope="module")
def module16():
    torch.manual_seed(0)
    styles = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    return AdaINStyleTransfer((3, 16, 16), layers=SHALLOW, styles=styles, style_size=16, lr=1e-3)


def test_adain_output_has_the_style_channel_mean_and_std():
    g = torch.Generator().manual_seed(0)
    c = torch.randn(2, 8, 6, 6, generator=g) * 3 + 1
    s = torch.randn(2, 8, 5, 7, generator=g) * torch.rand(1, 8, 1, 1, generator=g) * 4 - 2
    out = adain(c, s)
    (mo, so), (ms, ss) = calc_mean_std(out), calc_mean_std(s)
    torch.testing.assert_close(mo, ms, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(so, ss, atol=1e-3, rtol=1e-3)
    assert out.shape == c.shape


def test_gram_matches_a_direct_computation():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(2, 4, 3, 5, generator=g)
    direct = torch.empty(2, 4, 4)
    for b in range(2):
        for i in range(4):
            for j in range(4):
                direct[b, i, j] = (f[b, i] * f[b, j]).sum()
    torch.testing.assert_close(gram_matrix(f, normalize=False), direct)
    torch.testing.assert_close(gram_matrix(f), direct / 15)


def test_bad_feature_shapes_raise():
    with pytest.raises(ValueError, match="adain"):
        adain(torch.zeros(2, 3, 4, 4), torch.zeros(2, 4, 4, 4))
    with pytest.raises(ValueError, match="gram_matrix"):
        gram_matrix(torch.zeros(3, 4))


def test_random_encoder_is_seeded_and_normalised():
    a, b = VGGEncoder(SHALLOW, seed=3), VGGEncoder(SHALLOW, seed=3)
    x = torch.rand(2, 3, 16, 16)
    fa, fb = a(x), b(x)
    assert [f.shape[1] for f in fa] == [64, 128] and fa[1].shape[-1] == 8
    for u, v in zip(fa, fb):
        assert torch.equal(u, v)
    assert 0.5 < float(fa[0].mean()) < 2.0  # per-layer normalisation: mean activation about 1
    assert not any(p.requires_grad for p in a.parameters())
    assert "random" in a.kind


def test_missing_pretrained_weights_fail_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="vgg19-dcbb9e9d.pth") as info:
        VGGEncoder(SHALLOW, weights="imagenet")
    assert str(tmp_path) in str(info.value) and "Nothing is downloaded" in str(info.value)
    with pytest.raises(FileNotFoundError, match="weights"):
        AdaINStyleTransfer((3, 16, 16), layers=SHALLOW, weights_path=str(tmp_path / "nope.pth"),
                           styles=torch.rand(1, 3, 16, 16))


def test_local_weight_file_is_loaded(tmp_path):
    src = VGGEncoder(SHALLOW, seed=7)
    state = {f"features.{k}": v for k, v in src.features.state_dict().items()}
    torch.save(state, tmp_path / "vgg.pth")
    enc = VGGEncoder(SHALLOW, weights_path=tmp_path / "vgg.pth")
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(enc(x)[1], src(x)[1]) and "imagenet" in enc.kind


@pytest.mark.parametrize("last,size", [("relu1_1", 8), ("relu2_1", 16), ("relu3_1", 32), ("relu4_1", 24)])
def test_decoder_output_shapes(last, size):
    dec = AdaINDecoder(last)
    enc = VGGEncoder(("relu1_1", last) if last != "relu1_1" else ("relu1_1",))
    feats = enc(torch.rand(2, 3, size, size))
    assert dec(feats[-1]).shape == (2, 3, size, size)


def test_alpha_zero_is_the_identity_in_feature_space(module16):
    c = torch.rand(2, 3, 16, 16)
    s = torch.rand(2, 3, 16, 16)
    _, t, _ = module16(c, s, alpha=0.0)
    torch.testing.assert_close(t, module16.encode(c)[-1])
    _, t1, fs = module16(c, s, alpha=1.0)
    torch.testing.assert_close(calc_mean_std(t1)[0], calc_mean_std(fs[-1])[0], atol=1e-4, rtol=1e-4)


def test_random_crops_are_crops_of_the_bank():
    bank = torch.arange(2 * 3 * 10 * 10).view(2, 3, 10, 10)
    crops = random_crops(bank, 5, 4, torch.Generator().manual_seed(0))
    assert crops.shape == (5, 3, 4, 4)
    for crop in crops:
        v = int(crop[0, 0, 0])
        n, r, col = v // 300, (v % 100) // 10, v % 10
        assert torch.equal(crop, bank[n, :, r:r + 4, col:col + 4])


def test_gatys_moves_style_statistics_towards_the_style():
    g = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 16, 16, generator=g) * 0.3
    style = torch.rand(1, 3, 16, 16, generator=g) ** 3
    enc = VGGEncoder(SHALLOW)
    out = gatys_transfer(content, style, encoder=enc, content_layers=("relu2_1",), style_layers=SHALLOW,
                         steps=30, style_weight=10.0, tv_weight=0.0)
    assert out.shape == content.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    go, gc, gs = (gram_matrix(enc(v)[0]) for v in (out, content, style))
    assert (go - gs).norm() < 0.5 * (gc - gs).norm()
    adam = gatys_transfer((content[0] * 255).to(torch.uint8), style, encoder=enc, style_layers=SHALLOW,
                          steps=3, optimizer="adam")
    assert adam.dtype == torch.uint8 and adam.shape == (3, 16, 16)
    with pytest.raises(ValueError, match="encoder does not output"):
        gatys_transfer(content, style, encoder=enc, style_layers=("relu3_1",), steps=1)


def test_adain_module_trains_one_step(module16, tmp_path):
    x = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    y = torch.zeros(8, dtype=torch.long)
    before = [p.detach().clone() for p in module16.decoder.parameters()]
    enc_before = [p.detach().clone() for p in module16.encoder.parameters()]
    fit(module16, x, y, epochs=1, root=tmp_path, batch_size=8)
    assert any(not torch.equal(a, b) for a, b in zip(before, module16.decoder.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(enc_before, module16.encoder.parameters()))
    out = module16.stylize(x[:2], torch.rand(1, 3, 16, 16))
    assert out.shape == (2, 3, 16, 16) and out.dtype == torch.uint8
    m = module16.transfer_metrics(x[:2].float() / 255, torch.rand(2, 3, 16, 16))
    assert set(m) == {"style_progress", "content_distance", "target_distance"}
    from torchaug.generative.style import evaluate_style_transfer

    ev = evaluate_style_transfer(module16, x, alphas=(1.0, 0.0), batch_size=5)
    assert abs(ev["target_distance@alpha=0.0"]) < 1e-5 and ev["target_distance@alpha=1.0"] > 0


def test_style_augment_stylises_a_fraction_p(module16):
    x = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    none = StyleAugment(module16, p=0.0)
    assert torch.equal(none(x), x)
    half = StyleAugment(module16, p=0.5, alpha=0.5)
    out = half(x, generator=torch.Generator().manual_seed(1))
    changed = (out - x).flatten(1).abs().amax(1) > 0
    assert 16 <= int(changed.sum()) <= 48
    gauss = StyleAugment(module16, p=1.0, mode="gaussian")
    out = gauss(x[:4], generator=torch.Generator().manual_seed(1))
    assert out.shape == x[:4].shape and not torch.equal(out, x[:4])
    m, s = gauss.sample_styles(1000, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert (s > 0).all() and torch.allclose(m.mean(0), gauss.style_mean.mean(0), atol=0.3)
    grey = (x[:2, :1] * 255).to(torch.uint8)
    assert gauss(grey).shape == (2, 1, 16, 16) and gauss(grey).dtype == torch.uint8
    with pytest.raises(ValueError, match="StyleAugment"):
        StyleAugment(module16, mode="other")
    with pytest.raises(ValueError, match="divisible"):
        half(torch.rand(1, 3, 15, 15))


def test_style_augment_passes_the_transform_contract():
    from torchaug import registry
    from tests.test_contract import test_transform_bad_input, test_transform_contract

    entry = next(e for e in registry.registered("transform") if e.name == "StyleAugment")
    for dtype in (torch.uint8, torch.float32):
        test_transform_contract(entry, dtype, torch.device("cpu"))
    for bad in ("rank2", "int32", "list"):
        test_transform_bad_input(entry, bad)


def test_cosine_schedule_decays_the_decoder_lr(tmp_path):
    styles = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    m = AdaINStyleTransfer((3, 8, 8), layers=("relu1_1",), styles=styles, style_size=8, lr=1e-3)
    assert m.lr_schedule == "cosine"
    x = torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8)
    trainer = fit(m, x, torch.zeros(8, dtype=torch.long), epochs=2, root=tmp_path, batch_size=2)
    lr = trainer.optimizers[0].param_groups[0]["lr"]
    assert lr < 1e-4  # 8 steps of a cosine to 0 over 8 steps
    const = AdaINStyleTransfer((3, 8, 8), layers=("relu1_1",), styles=styles, style_size=8, lr_schedule="constant")
    assert isinstance(const.configure_optimizers(), torch.optim.Adam)
    with pytest.raises(ValueError, match="lr_schedule"):
        AdaINStyleTransfer((3, 8, 8), layers=("relu1_1",), styles=styles, lr_schedule="step")


def test_decoder_from_continues_an_earlier_decoder(module16, tmp_path):
    import lightning as L

    trainer = L.Trainer(logger=False, enable_checkpointing=False, accelerator="cpu", default_root_dir=str(tmp_path))
    trainer.strategy.connect(module16)
    trainer.save_checkpoint(tmp_path / "a.ckpt")
    styles = torch.rand(2, 3, 16, 16)
    m = AdaINStyleTransfer((3, 16, 16), layers=SHALLOW, styles=styles, decoder_from=str(tmp_path / "a.ckpt"))
    for a, b in zip(m.decoder.parameters(), module16.decoder.parameters()):
        assert torch.equal(a, b)
    (tmp_path / "b.ckpt").write_bytes((tmp_path / "a.ckpt").read_bytes())
    trainer.strategy.connect(m)
    trainer.save_checkpoint(tmp_path / "c.ckpt")
    (tmp_path / "a.ckpt").unlink()  # loading c must not need the file its decoder came from
    assert torch.equal(AdaINStyleTransfer.from_checkpoint(tmp_path / "c.ckpt").decoder.net[1].weight,
                       m.decoder.net[1].weight)
    with pytest.raises(FileNotFoundError, match="decoder_from"):
        AdaINStyleTransfer((3, 16, 16), layers=SHALLOW, styles=styles, decoder_from=str(tmp_path / "a.ckpt"))
    with pytest.raises(ValueError, match="decoder_from"):
        AdaINStyleTransfer((3, 16, 16), layers=("relu1_1",), styles=styles, decoder_from=str(tmp_path / "b.ckpt"))


def test_generative_style_augment_is_the_transform_on_the_models_networks(module16, tmp_path):
    """torchaug.generative.StyleAugment(model) == torchaug.transforms.StyleAugment(model.encoder, model.decoder,
    model.style_bank), bit for bit; it is a RandomTransform (params, replay), its old state-dict layout loads,
    and built from a checkpoint path it saves as a config."""
    import lightning as L

    from torchaug import transforms
    from torchaug.config_io import from_config, to_config
    from torchaug.functional.moments import instance_moments

    x = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    for mode in ("bank", "gaussian"):
        wrapped = StyleAugment(module16, p=0.5, alpha=0.4, mode=mode)
        plain = transforms.StyleAugment(module16.encoder, module16.decoder, module16.style_bank, p=0.5, alpha=0.4,
                                        mode=mode)
        assert isinstance(wrapped, transforms.StyleAugment) and wrapped.model is module16
        a, params = wrapped(x, generator=torch.Generator().manual_seed(1), return_params=True)
        assert torch.equal(a, plain(x, generator=torch.Generator().manual_seed(1)))
        assert torch.equal(wrapped(x, params=params), a)
    f = torch.randn(2, 8, 5, 5)
    assert all(torch.equal(u, v) for u, v in zip(calc_mean_std(f), instance_moments(f)))
    # the earlier layout: the networks under model.encoder. / model.decoder.
    state = {(f"model.{k}" if k.startswith(("encoder.", "decoder.")) else k): v for k, v in wrapped.state_dict().items()}
    again = StyleAugment(module16, mode="gaussian")
    again.load_state_dict(state)
    assert "encoder.features.0.weight" in again.state_dict() and not any(k.startswith("model.") for k in again.state_dict())
    # from a path: recorded, written back as torchaug.generative.StyleAugment(model=<path>)
    trainer = L.Trainer(logger=False, enable_checkpointing=False, accelerator="cpu", default_root_dir=str(tmp_path))
    trainer.strategy.connect(module16)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    cfg = to_config(StyleAugment(str(tmp_path / "m.ckpt"), p=1.0))
    assert cfg == {"_target_": "torchaug.generative.StyleAugment", "model": str(tmp_path / "m.ckpt"), "p": 1.0}
    back = from_config(cfg)
    assert type(back) is StyleAugment and back.p == 1.0  # (its bank is the checkpoint's styles source, not module16's tensor)
    assert torch.equal(back.decoder.net[1].weight, module16.decoder.net[1].weight)
