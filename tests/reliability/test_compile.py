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


def _model_with_hook(name: str):
    torch.manual_seed(0)
    model = SmallCNN(num_classes=10, in_channels=1, width=8)
    hook = MoEx(model, layer="layer1", p=1.0) if name == "moex" else ManifoldMixup(model, layers=["layer1", "layer2"], alpha=2.0)
    return model, hook


def _step(model, hook, x, y, seed):
    """One training forward/backward with the hook's draws from ``seed``: (logits, mixed targets, grads)."""
    hook.generator = torch.Generator().manual_seed(seed)
    model.zero_grad()
    logits = model(x)
    y_mix = hook.mix_targets(y)
    torch.sum(-y_mix * torch.log_softmax(logits, 1), 1).mean().backward()
    return logits.detach(), y_mix, [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("name", ["moex", "manifold_mixup"])
def test_compiled_model_with_hook_matches_eager(name):
    model, hook = _model_with_hook(name)
    compiled = torch.compile(model, backend=BACKEND)
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    y = torch.nn.functional.one_hot(torch.arange(8) % 10, 10).float()
    model.train()
    for seed in (3, 4):  # a second draw reuses the compiled graphs with new random parameters
        ref = _step(model, hook, x, y, seed)
        got = _step(compiled, hook, x, y, seed)
        torch.testing.assert_close(got[0], ref[0], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(got[1], ref[1])
        for gc, ge in zip(got[2], ref[2]):
            torch.testing.assert_close(gc, ge, rtol=1e-4, atol=1e-5)
    assert hook.last_stats  # the hook fired inside the compiled forward
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-5)  # inactive in eval


def test_training_with_a_compiled_model_and_moex(tmp_path):
    from torch._dynamo.utils import counters

    from torchaug.train import train

    cfg = make_cfg(tmp_path, *FAST, "trainer.max_epochs=1", "hooks=moex", "hooks.p=1.0", "data.subset=64",
                   "data.batch_size=32", "+trainer.limit_val_batches=1", "test=false",
                   f"+module.compile={{backend: {BACKEND}}}")
    counters.clear()
    results = train(cfg)
    assert counters["frames"]["ok"] > 0  # Dynamo compiled frames of the model's forward
    assert results["augmentation"]["hook/batches"] == 2 and results["augmentation"]["hook/applied"] == 1.0
    assert torch.isfinite(torch.tensor(results["val/loss"]))
    state = torch.load(results["checkpoint"], map_location="cpu", weights_only=False)["state_dict"]
    assert "model.stem.0.weight" in state and not any("_orig_mod" in k for k in state)  # eager keys
