"""Manifold Mixup: one λ per batch at one uniformly chosen layer (or the input); targets follow."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from torchaug.hooks import INPUT, ManifoldMixup
from torchaug.hooks import _base as hooks_base
from torchaug.mixing.targets import one_hot


class Square(nn.Module):
    def forward(self, x):
        return x * x


def _mlp() -> nn.Sequential:
    """Non-linear between the mixing points, so where the mix happens changes the output."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), Square(), nn.Linear(6, 6), Square(), nn.Linear(6, 3))


def _expected(model: nn.Sequential, x: torch.Tensor, choice: str, perm, lam) -> torch.Tensor:
    """Run the pieces by hand (hooks off), mixing after ``choice``."""
    mix = lambda h: lam * h + (1 - lam) * h[perm]  # noqa: E731
    was = [m.training for m in model.modules()]
    model.eval()  # hooks act only in training mode
    h = mix(x) if choice == INPUT else x
    for name, module in model.named_children():
        h = module(h)
        if name == choice:
            h = mix(h)
    for m, t in zip(model.modules(), was):
        m.training = t
    return h


def test_mixes_at_the_chosen_layer_with_one_lambda():
    model = _mlp()
    # after the non-linear Square layers (mixing right after a Linear equals mixing its input)
    hook = ManifoldMixup(model, ["1", "3"], alpha=2.0, generator=torch.Generator().manual_seed(0))
    assert hook.choices == [INPUT, "1", "3"]
    x = torch.randn(8, 4)
    model.train()
    seen = set()
    for _ in range(12):
        out = model(x)
        p = hook.last_params
        assert p["lam"].shape == () and p["perm"].shape == (8,) and bool(p["applied"])
        choice = hook.choices[int(p["layer"])]
        assert hook.last_layer == choice
        seen.add(choice)
        torch.testing.assert_close(out, _expected(model, x, choice, p["perm"], p["lam"]), rtol=1e-5, atol=1e-5)
        # and not as if mixed elsewhere (when the mix changes anything at all)
        others = [c for c in hook.choices if c != choice]
        if not torch.equal(p["perm"], torch.arange(8)) and float(p["lam"]) < 0.98:
            assert all(not torch.allclose(out, _expected(model, x, c, p["perm"], p["lam"]), atol=1e-4) for c in others)
    assert seen == set(hook.choices)


def test_targets_follow_and_sum_to_one():
    model = _mlp()
    hook = ManifoldMixup(model, ["2"], generator=torch.Generator().manual_seed(1))
    model.train()
    model(torch.randn(6, 4))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    y = one_hot(labels, 3)
    perm, lam = hook.last_params["perm"], hook.last_params["lam"]
    ym = hook.mix_targets(y)
    torch.testing.assert_close(ym, lam * y + (1 - lam) * y[perm])
    torch.testing.assert_close(ym.sum(1), torch.ones(6))
    stats = hook.last_stats
    assert set(stats) == {"applied", "lam", f"mixed_at/{INPUT}", "mixed_at/2"}
    assert float(sum(v for k, v in stats.items() if k.startswith("mixed_at/"))) == 1.0


def test_layer_choice_uniform_and_lambda_beta_distributed():
    st = pytest.importorskip("scipy.stats")
    model = nn.Sequential(nn.Identity(), nn.Identity(), nn.Identity())
    hook = ManifoldMixup(model, ["0", "1", "2"], alpha=0.4, generator=torch.Generator().manual_seed(2))
    model.train()
    x = torch.randn(2, 3)
    layers, lams = [], []
    for _ in range(400):
        model(x)
        layers.append(int(hook.last_params["layer"]))
        lams.append(float(hook.last_params["lam"]))
    counts = torch.bincount(torch.tensor(layers), minlength=4).float() / 400
    assert (counts - 0.25).abs().max() < 0.08, counts
    assert st.kstest(lams, "beta", args=(0.4, 0.4)).pvalue > 1e-3


def test_input_is_mixed_by_a_pre_hook_on_the_model():
    model = _mlp()
    first_in = {}
    model[0].register_forward_pre_hook(lambda m, a: first_in.__setitem__("x", a[0].detach().clone()))
    hook = ManifoldMixup(model, [], include_input=True, generator=torch.Generator().manual_seed(0))
    assert hook.choices == [INPUT]
    x = torch.randn(4, 4)
    model.train()
    out = model(x)
    p = hook.last_params
    torch.testing.assert_close(first_in["x"], torch.lerp(x[p["perm"]], x, p["lam"]))
    torch.testing.assert_close(out, _expected(model, x, INPUT, p["perm"], p["lam"]), rtol=1e-5, atol=1e-5)


def test_eval_disabled_remove_and_gradients():
    model = _mlp()
    ref = copy.deepcopy(model)
    x = torch.randn(4, 4)
    hook = ManifoldMixup(model, ["0", "2"])
    model.eval()
    torch.testing.assert_close(model(x), ref.eval()(x), rtol=0, atol=0)
    assert hook.last_params["perm"] is None
    model.train()
    ref.train()
    with hook.disabled():
        torch.testing.assert_close(model(x), ref(x), rtol=0, atol=0)
    xg = x.clone().requires_grad_(True)
    y = one_hot(torch.tensor([0, 1, 2, 0]), 3)
    logits = model(xg)
    loss = torch.sum(-hook.mix_targets(y) * F.log_softmax(logits, 1), 1).mean()
    loss.backward()
    assert torch.isfinite(xg.grad).all() and xg.grad.abs().sum() > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    hook.remove()
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    torch.testing.assert_close(model(x), ref(x), rtol=0, atol=0)


def test_reproducible_and_sync_free_path_identical(monkeypatch):
    x = torch.randn(6, 4)

    def run():
        model = _mlp()
        hook = ManifoldMixup(model, ["0", "2"], generator=torch.Generator().manual_seed(7))
        model.train()
        outs, params = [], []
        for _ in range(6):
            outs.append(model(x).detach())
            params.append({k: v.clone() for k, v in hook.last_params.items()})
        return torch.stack(outs), params

    a, pa = run()
    b, pb = run()
    assert torch.equal(a, b)
    monkeypatch.setattr(hooks_base, "_HOST_BRANCH_ON_CPU", False)
    c, pc = run()
    torch.testing.assert_close(c, a, rtol=0, atol=0)
    for p, q in zip(pa, pc):
        assert all(torch.equal(p[k], q[k]) for k in p)


def test_errors():
    model = _mlp()
    with pytest.raises(ValueError, match="at least one"):
        ManifoldMixup(model, [], include_input=False)
    with pytest.raises(ValueError, match="repeat"):
        ManifoldMixup(model, ["0", "0"])
    with pytest.raises(ValueError, match=r"ManifoldMixup: layers must name a submodule.*close matches"):
        ManifoldMixup(model, ["00"])
    with pytest.raises(ValueError, match="alpha"):
        ManifoldMixup(model, ["0"], alpha=0.0)
    with pytest.raises(TypeError, match="include_input"):
        ManifoldMixup(model, ["0"], include_input=1)
    hook = ManifoldMixup(model, ["0"])
    model.train()
    with pytest.raises(TypeError, match="floating"):
        model(torch.zeros(2, 4, dtype=torch.long))
    hook.remove()

    class Tupled(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.LSTM(4, 4, batch_first=True)

        def forward(self, x):
            return self.inner(x)[0]

    m2 = Tupled().train()
    ManifoldMixup(m2, ["inner"], include_input=False)
    with pytest.raises(TypeError, match="output of layer 'inner'"):
        m2(torch.randn(2, 3, 4))


def test_single_string_layer_and_any_rank():
    model = _mlp()
    hook = ManifoldMixup(model, "2", include_input=False)
    assert hook.choices == ["2"]
    model.train()
    out = model(torch.randn(3, 4))
    assert out.shape == (3, 3) and int(hook.last_params["layer"]) == 0


def test_torchvision_resnet18_and_torchaug_preact():
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    for model in (tv.models.resnet18(weights=None, num_classes=3),):
        hook = ManifoldMixup(model, ["layer1", "layer2"], generator=torch.Generator().manual_seed(0))
        model.train()
        out = model(torch.rand(2, 3, 16, 16))
        assert out.shape == (2, 3) and torch.isfinite(out).all()
        assert hook.last_layer in (INPUT, "layer1", "layer2")
        hook.remove()
    models = pytest.importorskip("torchaug.models")
    model = models.PreActResNet18(num_classes=3, width=8).train()
    hook = ManifoldMixup(model, ["layer1", "layer2"], alpha=2.0)
    model(torch.rand(2, 3, 8, 8)).sum().backward()
    assert hook.last_layer in (INPUT, "layer1", "layer2")
