"""Mixed precision with transforms, a mixer and feature hooks.

- ``trainer.precision=bf16-mixed`` end to end through Lightning (transforms, MixUp, MoEx).
- float16: Lightning turns ``16-mixed`` into ``bf16-mixed`` on the CPU, so the fp16 path is tested
  directly: ``ClassifierModule``'s augmentation and a training step under
  ``torch.autocast("cpu", float16)`` with a ``GradScaler``, as Lightning's ``16-mixed`` does on a GPU.
- every registered transform, mixer and hook inside an autocast region (bf16 and fp16).

Lightning runs ``training_step`` (the model and its hooks) under ``torch.autocast``; the
augmentation in ``on_after_batch_transfer`` runs before it, in the batch's own dtype.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from test_train import FAST, make_cfg

from torchaug import registry
from torchaug.train import train

registry.load_all()


class DtypeProbe(L.Callback):
    """Test-only: record the logits' dtype and whether autocast was on in the first training step."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        def record(module, inputs, output):
            self.path.write_text(json.dumps({"logits": str(output.dtype), "autocast": torch.is_autocast_enabled("cpu")}))
            self.handle.remove()

        self.handle = pl_module.model.register_forward_hook(record)


def test_bf16_mixed_training_with_transforms_mixer_and_moex(tmp_path):
    probe = tmp_path / "probe.json"
    cfg = make_cfg(tmp_path, *FAST, "trainer.max_epochs=1", "trainer.precision=bf16-mixed", "hooks=moex",
                   "+trainer.limit_train_batches=3", "+trainer.limit_val_batches=1", "data.subset=96",
                   "data.batch_size=32", "test=false", "hooks.p=1.0",
                   f"+callbacks.probe={{_target_: test_precision.DtypeProbe, path: {probe}}}")
    results = train(cfg)
    seen = json.loads(probe.read_text())
    assert seen == {"logits": str(torch.bfloat16), "autocast": True}  # the model really ran in low precision
    aug = results["augmentation"]
    assert aug["mixer/batches"] == 3 and aug["hook/batches"] == 3 and aug["hook/applied"] > 0
    with open(tmp_path / "metrics.csv") as f:
        row = next(csv.DictReader(f))
    assert math.isfinite(float(row["train/loss"])) and math.isfinite(results["val/loss"])
    state = torch.load(results["checkpoint"], map_location="cpu", weights_only=False)["state_dict"]
    assert all(v.dtype == torch.float32 for k, v in state.items() if v.is_floating_point())  # fp32 master weights


@pytest.mark.parametrize("hook", ["moex", "manifold_mixup"])
def test_fp16_autocast_training_step_with_grad_scaler(hook):
    from torchaug.hooks import ManifoldMixup, MoEx
    from torchaug.lightning import ClassifierModule
    from torchaug.mixing import MixUp
    from torchaug.models import SmallCNN
    from torchaug.transforms import RandomAffine

    torch.manual_seed(0)
    factory = (lambda m: MoEx(m, layer="layer1", p=1.0)) if hook == "moex" else (
        lambda m: ManifoldMixup(m, layers=["layer1", "layer2"], alpha=2.0))
    module = ClassifierModule(SmallCNN(num_classes=10, in_channels=1, width=8), num_classes=10,
                              transforms=RandomAffine(degrees=10), mixer=MixUp(alpha=1.0, num_classes=10),
                              hook=factory, mean=[0.5], std=[0.25])
    module.aug_generator = torch.Generator().manual_seed(0)
    module.hook.generator = module.aug_generator
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    x = torch.randint(0, 256, (16, 1, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    y = torch.arange(16) % 10
    before = [p.detach().clone() for p in module.parameters()]
    for _ in range(2):
        xa, ya = module.augment(x, y)
        assert xa.dtype == torch.float32 and ya.shape == (16, 10)
        with torch.autocast("cpu", dtype=torch.float16):
            logits = module(xa)
            loss = module.compute_loss(logits, module.hook.mix_targets(ya))
        assert logits.dtype == torch.float16 and torch.isfinite(loss)
        assert module.hook.last_stats  # the hook fired inside the fp16 forward
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))  # the steps were taken
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in module.parameters())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_augmenters_inside_autocast_keep_dtype_and_stay_finite(dtype, device):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 16, 16, generator=g).to(device)
    y = torch.arange(4, device=device) % 10
    for entry in registry.registered("transform"):
        t = entry.example()
        if isinstance(t, torch.nn.Module):
            t = t.to(device)
        for inp in (x, (x * 255).to(torch.uint8), x.to(dtype)):
            with torch.autocast(device.type, dtype=dtype):
                out = t(inp, generator=torch.Generator(device).manual_seed(1))
            expected = torch.float32 if entry.name == "Normalize" and inp.dtype == torch.uint8 else inp.dtype
            assert out.dtype == expected and out.shape[0] == 4, (entry.name, inp.dtype)
            assert torch.isfinite(out.float()).all(), (entry.name, inp.dtype)
    for entry in registry.registered("mixer"):
        m = entry.example().to(device)
        for inp in (x, x.to(dtype)):
            with torch.autocast(device.type, dtype=dtype):
                xm, ym = m(inp, y, generator=torch.Generator(device).manual_seed(1))
            assert xm.dtype == inp.dtype and torch.isfinite(xm.float()).all(), entry.name
            assert ym.dtype == torch.float32
            torch.testing.assert_close(ym.sum(1), torch.ones(4, device=device))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("entry", registry.registered("hook"), ids=lambda e: e.name)
def test_hooks_under_autocast_match_float32_and_backpropagate(entry, dtype):
    model, hook = entry.example()
    model.train()
    x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.nn.functional.one_hot(torch.arange(8) % 10, 10).float()
    if hasattr(hook, "p"):
        hook.p = 1.0
    hook.generator = torch.Generator().manual_seed(3)
    ref = model(x)
    y_ref = hook.mix_targets(y)
    hook.generator = torch.Generator().manual_seed(3)  # the same draws under autocast
    with torch.autocast("cpu", dtype=dtype):
        out = model(x)
        y_mix = hook.mix_targets(y)
        loss = torch.sum(-y_mix * torch.log_softmax(out.float(), 1), 1).mean()
    assert out.dtype == dtype
    torch.testing.assert_close(y_mix, y_ref)  # same pairing and lambda as in float32
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.05)  # low-precision features, same result
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(gr is not None and gr.dtype == torch.float32 and torch.isfinite(gr).all() for gr in grads)
    hook.remove()
