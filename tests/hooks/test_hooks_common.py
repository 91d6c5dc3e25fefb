"""What both hooks share: configs, copying/pickling, composition, imports, the Beta sampler."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from torchaug.hooks import ManifoldMixup, MoEx
from torchaug.mixing._random import sample_beta
from torchaug.mixing.targets import one_hot

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "hooks"


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
    )


class Staged(nn.Module):
    """Named like the project's models: stem, layer1, layer2, head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layer1 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def forward(self, x):
        return self.head(self.layer2(self.layer1(self.stem(x))))


@pytest.mark.parametrize("name,cls", [("moex", MoEx), ("manifold_mixup", ManifoldMixup)])
def test_configs_instantiate_as_partials_taking_the_model(name, cls):
    pytest.importorskip("hydra")
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(CONFIGS / f"{name}.yaml")
    factory = instantiate(cfg)
    model = Staged().train()
    hook = factory(model)
    assert isinstance(hook, cls) and hook.attached
    model(torch.rand(4, 3, 8, 8))
    assert hook.last_params["perm"] is not None
    y = hook.mix_targets(one_hot(torch.tensor([0, 1, 2, 0]), 3))
    torch.testing.assert_close(y.sum(1), torch.ones(4))
    if name == "moex":  # the official CIFAR setting, right after the stem
        assert (hook.layer, hook.where, hook.norm, hook.p, hook.lam) == ("layer1", "input", "pono", 0.25, 0.5)
    else:
        assert hook.choices == ["<input>", "layer1", "layer2"] and hook.alpha == 2.0


def test_none_config_is_null():
    from omegaconf import OmegaConf

    text = (CONFIGS / "none.yaml").read_text()
    assert "# @package _global_" in text
    assert OmegaConf.load(CONFIGS / "none.yaml").hooks is None


@pytest.mark.parametrize("make", [lambda m: MoEx(m, "1", p=1.0), lambda m: ManifoldMixup(m, ["1", "3"])])
def test_deepcopy_and_pickle_carry_a_working_hook(make):
    model = _net()
    hook = make(model)
    hook.generator = torch.Generator().manual_seed(5)
    x = torch.rand(4, 3, 8, 8)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        clone_hook = next(iter(clone._forward_pre_hooks.values())).__self__
        assert type(clone_hook) is type(hook) and clone_hook is not hook and clone_hook.model is clone
        clone.train()
        model.train()
        clone_hook.generator = torch.Generator().manual_seed(9)
        hook.generator = torch.Generator().manual_seed(9)
        torch.testing.assert_close(clone(x), model(x), rtol=0, atol=0)
        assert torch.equal(clone_hook.last_params["perm"], hook.last_params["perm"])
        clone_hook.remove()
        assert not any(m._forward_hooks or m._forward_pre_hooks for m in clone.modules())
        assert hook.attached  # the original is untouched
    hook.remove()


def test_hook_pickles_on_its_own():
    model = _net()
    hook = MoEx(model, "1", norm="gn", groups=2, p=0.5, lam=0.8, generator=torch.Generator().manual_seed(1))
    again = pickle.loads(pickle.dumps(hook))
    assert repr(again) == repr(hook) and again.model is not model and again.attached


def test_reproducible_with_a_seeded_generator_and_global_rng():
    x = torch.rand(4, 3, 8, 8)
    outs = []
    for _ in range(2):
        model = _net()
        MoEx(model, "1", p=0.5, generator=torch.Generator().manual_seed(3))
        ManifoldMixup(model, ["3"], generator=torch.Generator().manual_seed(4))
        model.train()
        outs.append(torch.stack([model(x).detach() for _ in range(3)]))
    assert torch.equal(outs[0], outs[1])
    glob = []
    for _ in range(2):
        model = _net()
        MoEx(model, "1")
        model.train()
        torch.manual_seed(11)
        glob.append(model(x).detach())
    assert torch.equal(glob[0], glob[1])


def test_moex_and_manifold_mixup_compose_in_order():
    model = _net()
    moex_hook = MoEx(model, "1", p=1.0, lam=0.8, generator=torch.Generator().manual_seed(0))
    mm = ManifoldMixup(model, ["3"], include_input=False, generator=torch.Generator().manual_seed(1))
    model.train()
    model(torch.rand(5, 3, 8, 8))
    y = one_hot(torch.arange(5) % 3, 3)
    y1 = moex_hook.mix_targets(y)
    y2 = mm.mix_targets(y1)
    p1, p2 = moex_hook.last_params, mm.last_params
    expected = p2["lam"] * (0.8 * y + 0.2 * y[p1["perm"]]) + (1 - p2["lam"]) * (0.8 * y + 0.2 * y[p1["perm"]])[p2["perm"]]
    torch.testing.assert_close(y2, expected)
    torch.testing.assert_close(y2.sum(1), torch.ones(5))


def test_context_manager_removes():
    model = _net()
    with MoEx(model, "1") as hook:
        assert hook.attached
    assert not hook.attached and not model[1]._forward_hooks


def test_mix_targets_input_errors():
    model = _net()
    hook = MoEx(model, "1")
    with pytest.raises(TypeError, match="MoEx: y must be"):
        hook.mix_targets([1, 2])
    with pytest.raises(ValueError, match="soft targets"):
        hook.mix_targets(torch.zeros(4, dtype=torch.long))


def test_importing_hooks_needs_neither_lightning_nor_hydra():
    code = (
        "import sys, torchaug.hooks; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('lightning', 'hydra', 'omegaconf', 'pytorch_lightning')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("alpha", [0.4, 2.0])
def test_sample_beta_matches_the_beta_distribution(alpha):
    st = pytest.importorskip("scipy.stats")
    g = torch.Generator().manual_seed(0)
    s = sample_beta(alpha, 4000, generator=g, device="cpu")
    assert s.dtype == torch.float32 and ((s >= 0) & (s <= 1)).all()
    assert st.kstest(s.double().numpy(), "beta", args=(alpha, alpha)).pvalue > 1e-3
    again = sample_beta(alpha, 4000, generator=torch.Generator().manual_seed(0), device="cpu")
    assert torch.equal(s, again)


def test_sample_beta_small_shapes_stay_finite():
    s = sample_beta(0.02, 2000, generator=torch.Generator().manual_seed(1), device="cpu")
    assert torch.isfinite(s).all() and ((s < 0.01) | (s > 0.99)).float().mean() > 0.9
