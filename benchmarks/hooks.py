"""Overhead of the feature-space hooks per training step (forward + backward + SGD step).

    python benchmarks/hooks.py                     # both models, markdown table on stdout
    python benchmarks/hooks.py --models small_cnn --reps 10 --out docs/hooks_bench.md

For each model, one copy per configuration (no hook, MoEx with each ``norm``, Manifold
Mixup), all with the same initial weights; the steps of the configurations are interleaved
(round robin) so that load from other processes spreads evenly, and the median step time is
reported next to the fastest step; the overhead is computed from the fastest steps (the
least disturbed by other processes on a shared machine). The last column times the hook's
own operation alone (fastest of the repeats; forward + backward on the hooked feature's
shape), which is much less sensitive to noise than a difference of two step times.

Models: ``torchaug.models.SmallCNN`` (width 32) on 128x3x32x32 with MoEx after the stem
(``layer1`` input) and Manifold Mixup over {input, layer1, layer2}; torchvision
``resnet18(weights=None)`` on 64x3x64x64 with MoEx after the stem (``maxpool``, the official
placement) and Manifold Mixup over {input, layer1, layer2}.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from torchaug.hooks import ManifoldMixup, MoEx, moex  # noqa: E402
from torchaug.mixing.targets import one_hot  # noqa: E402

NUM_CLASSES = 10


def _models() -> dict[str, dict[str, Any]]:
    from torchaug.models import SmallCNN

    def resnet18() -> nn.Module:
        import torchvision

        return torchvision.models.resnet18(weights=None, num_classes=NUM_CLASSES)

    return {
        "small_cnn": {
            "build": lambda: SmallCNN(num_classes=NUM_CLASSES, width=32),
            "shape": (128, 3, 32, 32),
            "moex": {"layer": "layer1", "where": "input"},
            "feature": (128, 32, 32, 32),
            "mm_layers": ["layer1", "layer2"],
            "label": "SmallCNN(width=32), 128x3x32x32",
        },
        "resnet18": {
            "build": resnet18,
            "shape": (64, 3, 64, 64),
            "moex": {"layer": "maxpool"},
            "feature": (64, 64, 16, 16),
            "mm_layers": ["layer1", "layer2"],
            "label": "torchvision resnet18, 64x3x64x64",
        },
    }


CONFIGS: list[tuple[str, dict[str, Any] | None]] = [
    ("no hook", None),
    ("MoEx pono", {"norm": "pono"}),
    ("MoEx bn", {"norm": "bn"}),
    ("MoEx in", {"norm": "in"}),
    ("MoEx ln", {"norm": "ln"}),
    ("MoEx gn (8 groups)", {"norm": "gn", "groups": 8}),
    ("Manifold Mixup", {"manifold": True}),
]


DEVICE = torch.device("cpu")


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def _attach(model: nn.Module, spec: dict[str, Any], cfg: dict[str, Any] | None, g: torch.Generator) -> Any:
    if cfg is None:
        return None
    if cfg.get("manifold"):
        return ManifoldMixup(model, spec["mm_layers"], alpha=2.0, generator=g)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # norm="bn" warns that features stay unchanged
        return MoEx(model, **spec["moex"], **cfg, p=1.0, lam=0.9, generator=g)


def _op_time(cfg: dict[str, Any] | None, feature: tuple[int, ...], reps: int) -> float:
    """Fastest ms of the hook's own operation (forward + backward) on the hooked feature shape."""
    if cfg is None:
        return 0.0
    g = torch.Generator().manual_seed(0)
    x = torch.randn(feature, generator=g).to(DEVICE).requires_grad_(True)
    perm = torch.randperm(feature[0], generator=g).to(DEVICE)
    lam = torch.tensor(0.7, device=DEVICE)
    if cfg.get("manifold"):
        op: Callable[[], torch.Tensor] = lambda: torch.lerp(x[perm], x, lam)  # noqa: E731
    else:
        op = lambda: moex(x, perm, cfg["norm"], groups=cfg.get("groups"))  # noqa: E731
    times = []
    for i in range(reps + 2):
        _sync()
        t0 = time.perf_counter()
        op().sum().backward()
        _sync()
        if i >= 2:
            times.append(time.perf_counter() - t0)
        x.grad = None
    return 1000 * min(times)


def bench(name: str, reps: int, warmup: int) -> list[dict[str, Any]]:
    spec = _models()[name]
    torch.manual_seed(0)
    base = spec["build"]()
    state = {k: v.clone() for k, v in base.state_dict().items()}
    g_data = torch.Generator().manual_seed(0)
    x = torch.rand(spec["shape"], generator=g_data).to(DEVICE)
    y = one_hot(torch.randint(0, NUM_CLASSES, (spec["shape"][0],), generator=g_data), NUM_CLASSES).to(DEVICE)
    runs = []
    for label, cfg in CONFIGS:
        model = spec["build"]()
        model.load_state_dict(state)
        model.to(DEVICE).train()
        hook = _attach(model, spec, cfg, torch.Generator(DEVICE).manual_seed(1))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        runs.append({"label": label, "cfg": cfg, "model": model, "hook": hook, "opt": opt, "times": []})

    def step(run: dict[str, Any]) -> float:
        _sync()
        t0 = time.perf_counter()
        logits = run["model"](x)
        target = run["hook"].mix_targets(y) if run["hook"] is not None else y
        loss = torch.sum(-target * F.log_softmax(logits, 1), 1).mean()
        run["opt"].zero_grad(set_to_none=True)
        loss.backward()
        run["opt"].step()
        _sync()
        return time.perf_counter() - t0

    for i in range(warmup + reps):
        for run in runs:
            t = step(run)
            if i >= warmup:
                run["times"].append(t)
    base_min = 1000 * min(runs[0]["times"])
    rows = []
    for run in runs:
        ms_min = 1000 * min(run["times"])
        rows.append({
            "model": spec["label"],
            "config": run["label"],
            "ms": 1000 * statistics.median(run["times"]),
            "ms_min": ms_min,
            "overhead": 100 * (ms_min - base_min) / base_min,
            "op_ms": _op_time(run["cfg"], spec["feature"], reps=max(5, reps)),
        })
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| model, batch | hook | ms / step (fastest) | ms / step (median) | overhead vs no hook (fastest) | hook op alone, fwd+bwd (ms) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        over = "—" if r["config"] == "no hook" else f"{r['overhead']:+.1f} %"
        op = "—" if r["config"] == "no hook" else f"{r['op_ms']:.2f}"
        lines.append(f"| {r['model']} | {r['config']} | {r['ms_min']:.1f} | {r['ms']:.1f} | {over} | {op} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["small_cnn", "resnet18"], choices=["small_cnn", "resnet18"])
    parser.add_argument("--reps", type=int, default=8, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="also write the markdown table to this file")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    rows: list[dict[str, Any]] = []
    for name in args.models:
        rows += bench(name, args.reps, args.warmup)
    header = (
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{args.threads} threads, {args.reps} timed steps per configuration (interleaved), {DEVICE}"
    )
    text = header + "\n\n" + table(rows)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
