"""What only a device other than the plain CPU path shows: compiled augmenters, CUDA generators,
two-GPU DDP. Each runs on every device of the ``device`` fixture (``cpu:accel`` runs the GPU
code path on CPU tensors); the compiled runs use inductor on CUDA and ``aot_eager`` on the CPU
(same graph capture, no C++ build in CI)."""

from __future__ import annotations

import pytest
import torch

from tests_support import generator_on
from torchaug.mixing import MixUp
from torchaug.transforms import ColorJitter, Compose, RandomHorizontalFlip, RandomResizedCrop


def _three(device):
    """Three representative augmenters: a colour op, a geometric pipeline, a mixer."""
    return [
        ("ColorJitter", ColorJitter(0.4, 0.4, 0.4, 0.1).to(device)),
        ("RandomResizedCrop+flip", Compose([RandomResizedCrop(24), RandomHorizontalFlip()]).to(device)),
        ("MixUp", MixUp(alpha=1.0, num_classes=10).to(device)),
    ]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["ColorJitter", "RandomResizedCrop+flip", "MixUp"])
def test_compiled_augmenters_match_eager(which, device):
    torch._dynamo.reset()
    name, aug = _three(device)[which]
    x = torch.randint(0, 256, (6, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8).to(device)
    xf = x.float() / 255
    y = torch.arange(6, device=device) % 10
    args = (xf, y) if name == "MixUp" else (xf,)
    params = aug(*args, generator=generator_on(device, 1), return_params=True)[-1]
    eager = aug(*args, params=params)
    backend = "inductor" if device.type == "cuda" else "aot_eager"
    compiled = torch.compile(lambda *a: aug(*a, params=params), backend=backend)
    out = compiled(*args)
    for e, c in zip(eager if isinstance(eager, tuple) else (eager,), out if isinstance(out, tuple) else (out,)):
        torch.testing.assert_close(c, e, atol=1e-5, rtol=1e-5)


def test_device_generators_reproduce_and_differ(device):
    t = ColorJitter(0.4, 0.4, 0.4, 0.1).to(device)
    x = torch.randint(0, 256, (8, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8).to(device)
    a = t(x, generator=generator_on(device, 3))
    b = t(x, generator=generator_on(device, 3))
    c = t(x, generator=generator_on(device, 4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    if device.type == "cuda":  # a CPU generator for CUDA data is refused by name
        with pytest.raises(ValueError, match="generator"):
            t(x, generator=torch.Generator().manual_seed(0))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices (DDP over NCCL)")
def test_ddp_on_two_gpus(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "run"
    args = ["trainer.accelerator=gpu", "trainer.devices=2", "trainer.strategy=ddp", "trainer.max_epochs=1",
            "+trainer.limit_train_batches=3", "+trainer.limit_val_batches=1", "trainer.enable_progress_bar=false",
            "data.subset=128", "data.batch_size=32", "mixer=mixup", f"hydra.run.dir={out}"]
    res = subprocess.run([sys.executable, "-m", "torchaug.train", *args], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
