"""MoEx: the moment exchange itself, the hook's life cycle, targets, and the official MoEx+CutMix loss."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from torchaug.hooks import MoEx, feature_moments, moex
from torchaug.hooks import _base as hooks_base
from torchaug.mixing.targets import mix_targets, one_hot

EPS = 1e-5
NORMS = [("pono", None), ("bn", None), ("in", None), ("ln", None), ("gn", 2)]


def _net(c: int = 6) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 5),
    )


def _feat(b=4, c=6, h=5, w=4, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    scale = torch.rand(b, 1, 1, 1, generator=g) * 3 + 0.5
    shift = torch.randn(b, c, 1, 1, generator=g)
    return (torch.randn(b, c, h, w, generator=g) * scale + shift).to(dtype)


def _capture(module: nn.Module) -> dict:
    """Register (after MoEx) a forward hook that records what the next module sees."""
    seen: dict = {}
    module.register_forward_hook(lambda m, a, o: seen.__setitem__("out", o.detach().clone()))
    return seen


# -- the exchange -------------------------------------------------------------------------
@pytest.mark.parametrize("norm,groups", NORMS)
def test_identity_permutation_leaves_features_unchanged(norm, groups):
    x = _feat()
    out = moex(x, torch.arange(4), norm, groups=groups)
    torch.testing.assert_close(out, x, rtol=1e-5, atol=1e-5)


def test_pono_mean_is_donors_and_variance_follows_formula():
    x = _feat(b=5, c=8)
    perm = torch.tensor([3, 0, 4, 1, 2])
    out = moex(x, perm, "pono", eps=EPS)
    mean_a, var_a = x.mean(1), x.var(1)  # every position (B, H, W)
    mean_o, var_o = out.mean(1), out.var(1)
    torch.testing.assert_close(mean_o, mean_a[perm], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(var_o, var_a / (var_a + EPS) * (var_a[perm] + EPS), rtol=1e-4, atol=1e-6)
    # the normalised feature is kept: (out - μ_b)/σ'_b == (x - μ_a)/σ_a
    sa = (var_a + EPS).sqrt().unsqueeze(1)
    sb = (var_a[perm] + EPS).sqrt().unsqueeze(1)
    torch.testing.assert_close((out - mean_a[perm].unsqueeze(1)) / sb, (x - mean_a.unsqueeze(1)) / sa, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("norm,groups", [n for n in NORMS if n[0] != "bn"])
def test_every_norm_takes_the_donors_moments(norm, groups):
    x = _feat(b=4, c=6)
    perm = torch.tensor([2, 3, 1, 0])
    out = moex(x, perm, norm, eps=EPS, groups=groups)
    dims = {"pono": (1,), "in": (2, 3), "ln": (1, 2, 3)}
    if norm == "gn":
        xa, xo = x.reshape(4, groups, -1), out.reshape(4, groups, -1)
        d = (2,)
    else:
        xa, xo, d = x, out, dims[norm]
    mean_a, var_a = xa.mean(d, keepdim=True), xa.var(d, keepdim=True)
    mean_o, var_o = xo.mean(d, keepdim=True), xo.var(d, keepdim=True)
    torch.testing.assert_close(mean_o, mean_a[perm], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(var_o, var_a / (var_a + EPS) * (var_a[perm] + EPS), rtol=1e-4, atol=1e-5)
    # feature_moments gives the same moments, broadcastable to x
    mean, std = feature_moments(x, norm, eps=EPS, groups=groups)
    torch.testing.assert_close(((x - mean) / std).mean(d if norm != "gn" else (1, 2, 3)).abs().max(), torch.tensor(0.0), atol=1e-5, rtol=0)


def test_bn_moments_are_shared_so_features_stay():
    x = _feat()
    mean, std = feature_moments(x, "bn", eps=EPS)
    assert mean.shape == (1, 6, 1, 1)
    torch.testing.assert_close(mean, x.mean((0, 2, 3), keepdim=True))
    torch.testing.assert_close(std, (x.var((0, 2, 3), keepdim=True) + EPS).sqrt())
    assert torch.equal(moex(x, torch.tensor([1, 2, 3, 0]), "bn"), x)


def test_matches_direct_formula_with_a_different_permutation_per_call():
    x = _feat(b=3, c=4)
    perm = torch.tensor([1, 2, 0])
    mu = x.mean(1, keepdim=True)
    sd = (x.var(1, keepdim=True) + EPS).sqrt()
    expected = (x - mu) / sd * sd[perm] + mu[perm]
    torch.testing.assert_close(moex(x, perm), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtype_preserved_and_statistics_in_float32(dtype):
    x32 = _feat(b=4, c=8)
    x = x32.to(dtype)
    perm = torch.tensor([1, 0, 3, 2])
    out = moex(x, perm)
    assert out.dtype == dtype and out.shape == x.shape
    ref = moex(x.float(), perm)
    tol = {torch.float16: 2e-3, torch.bfloat16: 2e-2, torch.float64: 1e-6}[dtype]
    torch.testing.assert_close(out.float(), ref, rtol=tol, atol=tol * 4)
    assert torch.isfinite(out).all()


def test_channels_last_preserved():
    x = _feat().contiguous(memory_format=torch.channels_last)
    out = moex(x, torch.tensor([1, 0, 3, 2]), "gn", groups=3)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, moex(x.contiguous(), torch.tensor([1, 0, 3, 2]), "gn", groups=3))


def test_functional_errors():
    with pytest.raises(ValueError, match="4-D"):
        moex(torch.rand(4, 6), torch.arange(4))
    with pytest.raises(TypeError, match="floating"):
        moex(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.arange(2))
    with pytest.raises(ValueError, match="perm"):
        moex(_feat(), torch.arange(3))
    with pytest.raises(ValueError, match="divisible"):
        moex(_feat(c=6), torch.arange(4), "gn", groups=4)
    with pytest.raises(ValueError, match="at least 2"):
        moex(torch.rand(2, 1, 4, 4), torch.arange(2), "pono")
    with pytest.raises(ValueError, match="norm"):
        moex(_feat(), torch.arange(4), "batch")


# -- the hook -----------------------------------------------------------------------------
def test_hook_exchanges_at_the_layer_and_records_params():
    model = _net()
    seen_in = {}
    model[2].register_forward_pre_hook(lambda m, a: seen_in.__setitem__("x", a[0].detach().clone()))
    hook = MoEx(model, "1", generator=torch.Generator().manual_seed(0))
    x = torch.rand(4, 3, 8, 8)
    model.train()
    model(x)
    params = hook.last_params
    assert params["perm"].shape == (4,) and params["perm"].dtype == torch.int64
    assert bool(params["applied"]) and float(params["lam"]) == pytest.approx(0.9)
    with hook.disabled():
        plain = model[1](model[0](x))
    torch.testing.assert_close(seen_in["x"], moex(plain, params["perm"]), rtol=1e-5, atol=1e-5)


def test_eval_mode_and_disabled_change_nothing():
    model = _net()
    x = torch.rand(4, 3, 8, 8)
    model.eval()
    with torch.no_grad():
        ref = model(x)
    hook = MoEx(model, "1")
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref, rtol=0, atol=0)
    assert hook.last_params["applied"] is None
    y = one_hot(torch.tensor([0, 1, 2, 3]), 5)
    assert torch.equal(hook.mix_targets(y), y)
    # training mode with the hook disabled: same as training without the hook
    model.train()
    with hook.disabled():
        a = model(x)
    assert hook.enabled
    hook.remove()
    torch.testing.assert_close(a, model(x), rtol=0, atol=0)


def test_remove_leaves_the_model_as_it_was():
    model = _net()
    before = copy.deepcopy(model)
    x = torch.rand(4, 3, 8, 8)
    hook = MoEx(model, "2", where="input", p=1.0)
    model.train()
    model(x).sum().backward()  # training with the hook changes nothing in the weights' values
    hook.remove()
    hook.remove()  # idempotent
    assert not hook.attached
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    for (n, p), (_, q) in zip(model.state_dict().items(), before.state_dict().items()):
        assert torch.equal(p, q), n
    model.zero_grad()
    torch.testing.assert_close(model(x), before(x), rtol=0, atol=0)


def test_gradients_flow_through_the_exchange():
    model = _net()
    hook = MoEx(model, "1", p=1.0)
    model.train()
    x = torch.rand(4, 3, 8, 8, requires_grad=True)
    y = hook.mix_targets(one_hot(torch.tensor([0, 1, 2, 3]), 5))
    logits = model(x)
    y = hook.mix_targets(one_hot(torch.tensor([0, 1, 2, 3]), 5))
    loss = torch.sum(-y * F.log_softmax(logits, 1), 1).mean()
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert model[0].weight.grad.abs().sum() > 0


def test_unknown_layer_and_non_4d_layer_errors():
    model = _net()
    named = nn.Module()
    named.layer1, named.layer2 = nn.Identity(), nn.Identity()
    with pytest.raises(ValueError, match=r"close matches: \['layer\d', 'layer\d'\]") as info:
        MoEx(named, "layer")
    assert "named_modules" in str(info.value)
    with pytest.raises(ValueError, match="valid names"):
        MoEx(model, "conv9")
    with pytest.raises(TypeError, match="layer"):
        MoEx(model, 3)
    hook = MoEx(model, "6")  # the Linear head: (B, 5)
    model.train()
    with pytest.raises(ValueError, match=r"MoEx: the output of layer '6' must be a 4-D feature map"):
        model(torch.rand(2, 3, 8, 8))
    hook.remove()
    model.eval()
    MoEx(model, "6")
    model(torch.rand(2, 3, 8, 8))  # eval: nothing checked, nothing done


def test_constructor_validation():
    model = _net()
    with pytest.raises(ValueError, match="groups must be given"):
        MoEx(model, "1", norm="gn")
    with pytest.raises(ValueError, match="only used with norm='gn'"):
        MoEx(model, "1", groups=2)
    with pytest.raises(ValueError, match="p must be"):
        MoEx(model, "1", p=1.5)
    with pytest.raises(ValueError, match="lam"):
        MoEx(model, "1", lam=-0.1)
    with pytest.raises(ValueError, match="norm"):
        MoEx(model, "1", norm="batchnorm")
    with pytest.raises(TypeError, match="generator"):
        MoEx(model, "1", generator=0)
    with pytest.warns(UserWarning, match="unchanged"):
        MoEx(model, "1", norm="bn").remove()
    hook = MoEx(model, "1", norm="gn", groups=4)  # 6 channels
    model.train()
    with pytest.raises(ValueError, match="divisible"):
        model(torch.rand(2, 3, 8, 8))
    hook.remove()


def test_probability_and_sync_free_path(monkeypatch):
    x = torch.rand(6, 3, 8, 8)

    def run(seed):
        model = _net()
        hook = MoEx(model, "1", p=0.5, generator=torch.Generator().manual_seed(seed))
        model.train()
        outs, applied = [], []
        for _ in range(40):
            outs.append(model(x).detach())
            applied.append(bool(hook.last_params["applied"]))
        return torch.stack(outs), applied

    out_host, applied = run(3)
    assert 8 <= sum(applied) <= 32  # Binomial(40, 0.5)
    monkeypatch.setattr(hooks_base, "_HOST_BRANCH_ON_CPU", False)
    out_where, applied2 = run(3)
    assert applied == applied2
    torch.testing.assert_close(out_where, out_host, rtol=0, atol=0)


def test_p_zero_never_applies():
    model = _net()
    hook = MoEx(model, "1", p=0.0)
    model.train()
    x = torch.rand(3, 3, 8, 8)
    out = model(x)
    assert not bool(hook.last_params["applied"])
    y = one_hot(torch.tensor([0, 1, 2]), 5)
    assert torch.equal(hook.mix_targets(y), y)
    with hook.disabled():
        torch.testing.assert_close(out, model(x), rtol=0, atol=0)


# -- targets ------------------------------------------------------------------------------
def test_targets_are_lambda_mixed_and_sum_to_one():
    model = _net()
    hook = MoEx(model, "1", lam=0.7, num_classes=5, generator=torch.Generator().manual_seed(1))
    model.train()
    model(torch.rand(5, 3, 8, 8))
    labels = torch.tensor([0, 1, 2, 3, 4])
    perm = hook.last_params["perm"]
    y = hook.mix_targets(labels)  # int labels accepted with num_classes
    expected = 0.7 * one_hot(labels, 5) + 0.3 * one_hot(labels[perm], 5)
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(y.sum(1), torch.ones(5))
    smooth = one_hot(labels, 5, label_smoothing=0.1)
    torch.testing.assert_close(hook.mix_targets(smooth).sum(1), torch.ones(5))
    with pytest.raises(ValueError, match="one row per sample"):
        hook.mix_targets(one_hot(labels[:3], 5))
    hook.num_classes = None
    with pytest.raises(ValueError, match="num_classes"):
        hook.mix_targets(labels)


@pytest.mark.parametrize("per_sample", [False, True])
def test_shared_permutation_reproduces_official_moex_cutmix_loss(per_sample):
    """Mixer first, then MoEx on the mixed targets, with the mixer's permutation shared."""
    torch.manual_seed(0)
    b, k, lam = 6, 5, 0.9
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    perm = torch.randperm(b)
    cut = torch.rand(b) if per_sample else torch.tensor(0.35)  # CutMix's box-area weight
    x = torch.rand(b, 3, 8, 8)
    model = _net()
    hook = MoEx(model, "1", lam=lam, p=1.0)
    model.train()
    y_mixer = mix_targets(one_hot(labels, k), perm, cut)  # what a CutMix mixer returns
    hook.set_next_perm(perm)
    logits = model(x)
    assert torch.equal(hook.last_params["perm"], perm)
    y = hook.mix_targets(y_mixer)
    ours = torch.sum(-y * F.log_softmax(logits, 1), 1)
    # the official ImageNet/main_moex_cutmix.py loss, written out
    ce = lambda t: F.cross_entropy(logits, t, reduction="none")  # noqa: E731
    target_a, target_b = labels, labels[perm]
    target_c = target_b[perm]
    if per_sample:
        # per-sample box weights c_i: the partner's features carry its own weight c_π(i) (the official
        # code only ever has one scalar weight per batch; its tensor branch would use c_i here)
        cp = cut[perm]
        official = ce(target_a) * cut * lam + ce(target_b) * ((1 - cut) * lam + cp * (1 - lam)) + ce(target_c) * (1 - cp) * (1 - lam)
    else:
        official = ce(target_a) * cut * lam + ce(target_b) * ((1 - cut) * lam + cut * (1 - lam)) + ce(target_c) * (1 - cut) * (1 - lam)
    torch.testing.assert_close(ours, official, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y.sum(1), torch.ones(b))
    # the shared permutation is used once
    model(x)
    assert hook._next_perm is None


def test_set_next_perm_validation():
    model = _net()
    hook = MoEx(model, "1")
    with pytest.raises(TypeError, match="int64"):
        hook.set_next_perm(torch.arange(4).float())
    hook.set_next_perm(torch.arange(3))
    model.train()
    with pytest.raises(ValueError, match="batch size 4"):
        model(torch.rand(4, 3, 8, 8))


# -- placement on real models -------------------------------------------------------------
@pytest.fixture(scope="module")
def resnet18():
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    return tv.models.resnet18(weights=None, num_classes=4)


@pytest.mark.parametrize("layer,where", [("layer1", "output"), ("maxpool", "output"), ("relu", "output"), ("layer1", "input")])
def test_torchvision_resnet18(resnet18, layer, where):
    model = resnet18  # shared: every test removes what it attached
    target = dict(model.named_modules())[layer]
    seen: dict = {}

    def watch(store):  # registered after MoEx: sees what the rest of the network gets
        if where == "output":
            return target.register_forward_hook(lambda m, a, o: store.__setitem__("h", o.detach().clone()))
        return target.register_forward_pre_hook(lambda m, a: store.__setitem__("h", a[0].detach().clone()))

    hook = MoEx(model, layer, where=where, generator=torch.Generator().manual_seed(0))
    seen_handle = watch(seen)
    x = torch.rand(3, 3, 16, 16)
    model.train()
    out = model(x)
    assert out.shape == (3, 4) and torch.isfinite(out).all()
    perm = hook.last_params["perm"]
    seen_handle.remove()
    plain: dict = {}
    with hook.disabled():
        handle = watch(plain)
        model(x)  # train-mode BatchNorm: same batch statistics, so the same un-exchanged feature
        handle.remove()
    torch.testing.assert_close(seen["h"], moex(plain["h"], perm), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(seen["h"], plain["h"])
    hook.remove()
    assert not target._forward_hooks and not target._forward_pre_hooks and not model._forward_pre_hooks


@pytest.mark.parametrize("name", ["SmallCNN", "PreActResNet18"])
def test_torchaug_models_after_the_stem(name):
    models = pytest.importorskip("torchaug.models")
    torch.manual_seed(0)
    model = getattr(models, name)(num_classes=3, width=8)
    stem = model.stem if name == "SmallCNN" else model.conv1
    seen: dict = {}
    hook = MoEx(model, "layer1", where="input", p=1.0, lam=0.5)
    model.layer1.register_forward_pre_hook(lambda m, a: seen.__setitem__("h", a[0].detach().clone()))
    model.train()
    x = torch.rand(4, 3, 8, 8)
    model(x).sum().backward()
    perm = hook.last_params["perm"]
    with torch.no_grad():
        plain = stem(x)
    torch.testing.assert_close(seen["h"], moex(plain, perm), rtol=1e-4, atol=1e-5)
    assert all(p.grad is not None for p in stem.parameters())
    hook.remove()
