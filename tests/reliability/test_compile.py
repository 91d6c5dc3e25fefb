"""``torch.compile`` of a model with a feature hook (MoEx, Manifold Mixup) attached.

The hooks draw from a ``torch.Generator`` and branch on the CPU; Dynamo cannot trace generator
arguments and splits the graph there (graph breaks, not errors): the compiled model must give
the eager model's outputs and gradients. The tests use the ``aot_eager`` backend (Dynamo +
AOTAutograd, no C++ code generation) to stay short; set ``TORCHAUG_COMPILE_BACKEND=inductor``
to run them through Inductor. Skipped only where Dynamo is unsupported (``is_dynamo_supported``).
"""

from __future__ import annotations

import os

import pytest
import torch
from test_train import FAST, make_cfg

from torchaug.hooks import ManifoldMixup, MoEx
from torchaug.models import SmallCNN

if not torch._dynamo.is_dynamo_supported():
    pytest.skip("torch.compile (Dynamo) is not supported on this platform/Python", allow_module_level=True)

BACKEND = os.environ.get("TORCHAUG_COMPILE_BACKEND", "aot_eager")


def _module(name: str):
    """A ClassifierModule whose model is compiled (``compile=``) after the hook was attached."""
    from torchaug.lightning import ClassifierModule

    torch.manual_seed(0)
    factory = (lambda m: MoEx(m, layer="layer1", p=1.0)) if name == "moex" else (
        lambda m: ManifoldMixup(m, layers=["layer1", "layer2"], alpha=2.0))
    return ClassifierModule(SmallCNN(num_classes=10, in_channels=1, width=8), num_classes=10, hook=factory,
                            compile={"backend": BACKEND})


def _step(forward, module, x, y, seed):
    """One training forward/backward with the hook's draws from ``seed``: (logits, mixed targets, grads)."""
    module.hook.generator = torch.Generator().manual_seed(seed)
    module.zero_grad()
    logits = forward(x)
    y_mix = module.hook.mix_targets(y)
    module.compute_loss(logits, y_mix).backward()
    return logits.detach(), y_mix, [p.grad.clone() for p in module.parameters()]


@pytest.mark.parametrize("name", ["moex", "manifold_mixup"])
def test_compiled_model_with_hook_matches_eager_and_trains(name):
    from torch._dynamo.utils import counters

    module = _module(name)
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    y = torch.nn.functional.one_hot(torch.arange(8) % 10, 10).float()
    module.train()
    counters.clear()
    for seed in (3, 4):  # a second draw reuses the compiled graphs with new random parameters
        ref = _step(module.model, module, x, y, seed)  # eager
        got = _step(module, module, x, y, seed)  # ClassifierModule.forward: the compiled model
        torch.testing.assert_close(got[0], ref[0], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(got[1], ref[1])
        for gc, ge in zip(got[2], ref[2]):
            torch.testing.assert_close(gc, ge, rtol=1e-4, atol=1e-5)
    assert counters["frames"]["ok"] > 0  # Dynamo compiled frames of the model
    assert module.hook.last_stats  # the hook fired inside the compiled forward

    # a training step through the compiled model moves the weights; checkpoints keep the eager keys
    before = [p.detach().clone() for p in module.parameters()]
    torch.optim.SGD(module.parameters(), lr=0.1).step()
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))
    assert "model.stem.0.weight" in module.state_dict() and not any("_orig_mod" in k for k in module.state_dict())
    module.eval()
    with torch.no_grad():
        torch.testing.assert_close(module(x), module.model(x), rtol=1e-4, atol=1e-5)  # hook inactive in eval


def test_compile_option_from_the_config(tmp_path):
    """``+module.compile={...}`` reaches ClassifierModule through the builder (no training: cheap)."""
    from torchaug.lightning.build import build

    cfg = make_cfg(tmp_path, *FAST, "hooks=moex", f"+module.compile={{backend: {BACKEND}}}", "data.subset=64")
    module = build(cfg, tmp_path).module
    assert module._compiled_model is not None and module.hook is not None
    assert all(not k.startswith("_compiled") for k in module.state_dict())
