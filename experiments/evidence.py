"""Evidence study (issue 29): does each method help where the literature says it should, and do our
implementations train like the reference ones?

    python experiments/evidence.py pilot            # <= 3 configurations x (ERM, MixUp), 1 seed, validation split
    python experiments/evidence.py main             # every method, 5 seeds, on the configuration the pilot chose
    python experiments/evidence.py fidelity         # ours vs timm / torchvision in the same loop, 5 seeds
    python experiments/evidence.py check            # CutMix with the paper's CIFAR probability 0.5, 5 seeds
    python experiments/evidence.py report           # tables (markdown) from the JSON results

Data: CIFAR-10 from the JPEG tree (``--root``, default ``/tmp/cifar10``; unpack
``../shared/data/cifar10-jpeg.tar.gz`` there), ``per_class`` training images per class, 100 validation
images per class (other training images), 5,000 test images (500 per class). One plain training loop
(SGD, momentum 0.9, weight decay 5e-4, cosine learning rate, batch 128, soft-target cross-entropy),
the data held as one uint8 tensor; every method uses the standard augmentation (RandomCrop(32,
padding=4) + RandomHorizontalFlip, batched on the tensor) and adds its own part:

- ``mixup``: MixUp, alpha = 1 (Zhang et al. 2018, CIFAR-10 setting);
- ``cutmix``: CutMix, alpha = 1 (Yun et al. 2019), on every sample; ``cutmix_p05`` (stage ``check``):
  each sample mixed with probability 0.5, the ``--cutmix_prob 0.5`` of the authors' CIFAR runs;
- ``samplepairing``: SamplePairing with its schedule scaled to the run (Inoue 2018: off for the
  first 10% of the epochs, then 8 epochs on and 2 off, off for the last 20%);
- ``moex``: MoEx with PONO on the input of ``layer1``, p = 0.25, lam = 0.5 (Li et al. 2021, their
  CIFAR setting for ResNets: p 0.25, lambda 0.5);
- ``manifold_mixup``: Manifold Mixup over input, ``layer1``, ``layer2``, alpha = 2 (Verma et al. 2019);
- ``randaugment``: RandAugment(2, 9) (Cubuk et al. 2020); ``trivialaugment``: TrivialAugmentWide
  (Müller & Hutter 2021); ``autoaugment``: AutoAugment CIFAR-10 policy (Cubuk et al. 2019).

Fidelity runs swap one of ours for the peer with the same settings: timm's ``Mixup`` (mixup or
cutmix alone, per batch), torchvision v2's ``MixUp`` / ``CutMix``, and torchvision's RandAugment /
TrivialAugmentWide / AutoAugment applied per image.

Each finished run writes ``experiments/results/evidence/<stage>/<config>/<method>/seed<k>.json``; a
run whose file exists is skipped, so the study resumes where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from torchaug.models.cnn import SmallCNN  # noqa: E402

RESULTS = ROOT / "experiments" / "results" / "evidence"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

#: the pilot's candidate settings (images per class, network width, epochs): all regimes where ERM
#: overfits (train accuracy ~1) on 2 CPU cores in about 1-2 minutes a run
PILOT = {
    "n100_w32_e100": dict(per_class=100, width=32, epochs=100),
    "n100_w64_e60": dict(per_class=100, width=64, epochs=60),
    "n50_w32_e150": dict(per_class=50, width=32, epochs=150),
}
MAIN_METHODS = ["erm", "mixup", "cutmix", "samplepairing", "moex", "manifold_mixup", "randaugment", "trivialaugment"]
FIDELITY = {  # ours -> the peers run in the same loop
    "mixup": ["mixup_timm", "mixup_tv"],
    "cutmix": ["cutmix_timm", "cutmix_tv"],
    "randaugment": ["randaugment_tv"],
    "trivialaugment": ["trivialaugment_tv"],
    "autoaugment": ["autoaugment_tv"],
}


# -- data ---------------------------------------------------------------------------------------
def load_split(root: Path, split: str, per_class: int, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` images per class (files sorted, from ``offset``) as uint8 ``(N, 3, 32, 32)``, labels ``(N,)``."""
    from PIL import Image

    cache = Path("/tmp/torchaug-evidence-cache") / f"{split}_{per_class}_{offset}.pt"
    if cache.exists():
        return torch.load(cache)
    xs, ys = [], []
    for c, name in enumerate(CLASSES):
        files = sorted((root / split / name).glob("*.jpg"))[offset : offset + per_class]
        if len(files) < per_class:
            raise ValueError(f"evidence: {root / split / name} has {len(files)} images from {offset}; need {per_class}")
        for f in files:
            xs.append(torch.from_numpy(np.asarray(Image.open(f).convert("RGB"))).permute(2, 0, 1))
            ys.append(c)
    out = (torch.stack(xs), torch.tensor(ys))
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, cache)
    return out


# -- methods ------------------------------------------------------------------------------------
def _per_image(t: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    return lambda x, generator=None: torch.stack([t(img) for img in x])


def build(method: str, model: torch.nn.Module, epochs: int, g: torch.Generator) -> dict[str, Any]:
    """The pieces of one method: ``extra`` transform (after crop + flip, uint8), ``mixer`` (x, y_int) ->
    (x, y_soft) on float batches, ``hook``, ``enabled_at(epoch)`` for the mixer."""
    from torchvision.transforms import v2

    from torchaug.hooks import ManifoldMixup, MoEx
    from torchaug.mixing import CutMix, MixUp, SamplePairing
    from torchaug.transforms import AutoAugment, RandAugment, TrivialAugmentWide

    K = 10
    spec: dict[str, Any] = {"extra": None, "mixer": None, "hook": None, "enabled_at": lambda e: True}
    if method == "mixup":
        m = MixUp(alpha=1.0, num_classes=K)
        spec["mixer"] = lambda x, y: m(x, y, generator=g)
    elif method in ("cutmix", "cutmix_p05"):
        m = CutMix(alpha=1.0, num_classes=K, p=0.5 if method == "cutmix_p05" else 1.0)
        spec["mixer"] = lambda x, y: m(x, y, generator=g)
    elif method == "samplepairing":
        m = SamplePairing(num_classes=K)
        start, final = max(1, epochs // 10), max(1, epochs // 5)
        spec["mixer"] = lambda x, y: m(x, y, generator=g)
        spec["enabled_at"] = lambda e: start <= e < epochs - final and (e - start) % 10 < 8
    elif method == "moex":
        spec["hook"] = MoEx(model, "layer1", where="input", norm="pono", p=0.25, lam=0.5, generator=g, num_classes=K)
    elif method == "manifold_mixup":
        spec["hook"] = ManifoldMixup(model, ["layer1", "layer2"], alpha=2.0, include_input=True, generator=g, num_classes=K)
    elif method in ("randaugment", "trivialaugment", "autoaugment"):
        spec["extra"] = {"randaugment": RandAugment(2, 9), "trivialaugment": TrivialAugmentWide(), "autoaugment": AutoAugment("cifar10")}[method]
    elif method in ("randaugment_tv", "trivialaugment_tv", "autoaugment_tv"):
        tv = {"randaugment_tv": v2.RandAugment(2, 9), "trivialaugment_tv": v2.TrivialAugmentWide(),
              "autoaugment_tv": v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)}[method]
        spec["extra"] = _per_image(tv)
    elif method in ("mixup_timm", "cutmix_timm"):
        from timm.data.mixup import Mixup

        tm = Mixup(mixup_alpha=1.0 if method == "mixup_timm" else 0.0, cutmix_alpha=1.0 if method == "cutmix_timm" else 0.0,
                   label_smoothing=0.0, num_classes=K)
        spec["mixer"] = lambda x, y: tm(x.clone(), y)
    elif method in ("mixup_tv", "cutmix_tv"):
        tvm = v2.MixUp(alpha=1.0, num_classes=K) if method == "mixup_tv" else v2.CutMix(alpha=1.0, num_classes=K)
        spec["mixer"] = lambda x, y: tvm(x, y)
    elif method != "erm":
        raise ValueError(f"evidence: unknown method {method!r}")
    return spec


# -- one run ------------------------------------------------------------------------------------
def run(config: dict[str, Any], method: str, seed: int, root: Path, *, evaluate_on: str) -> dict[str, Any]:
    from torchaug.transforms import Compose, RandomCrop, RandomHorizontalFlip

    torch.manual_seed(seed)
    np.random.seed(seed)  # timm's Mixup draws lam with numpy
    random.seed(seed)
    g = torch.Generator().manual_seed(seed)
    xtr, ytr = load_split(root, "train", config["per_class"])
    xev, yev = load_split(root, "train", 100, offset=4000) if evaluate_on == "val" else load_split(root, "test", 500)
    model = SmallCNN(num_classes=10, width=config["width"])
    spec = build(method, model, config["epochs"], g)
    base = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip()])
    mean = torch.tensor([0.491, 0.482, 0.447]).view(1, 3, 1, 1)
    std = torch.tensor([0.247, 0.243, 0.261]).view(1, 3, 1, 1)
    epochs, bs = config["epochs"], 128
    steps = epochs * math.ceil(len(xtr) / bs)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=steps, pct_start=0.15, anneal_strategy="cos")
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        mix_on = spec["mixer"] is not None and spec["enabled_at"](epoch)
        for i in range(0, len(xtr), bs):
            idx = order[i : i + bs]
            x = base(xtr[idx], generator=g)
            if spec["extra"] is not None:
                x = spec["extra"](x, generator=g)
            x = x.float().div_(255)
            y = F.one_hot(ytr[idx], 10).float()
            if mix_on:
                x, y = spec["mixer"](x, ytr[idx])
            x = (x - mean) / std
            logits = model(x)
            if spec["hook"] is not None:
                y = spec["hook"].mix_targets(y)
            loss = torch.sum(-y * F.log_softmax(logits, 1), 1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.time() - t0
    model.eval()

    def acc(x: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad(), spec["hook"].disabled() if spec["hook"] is not None else contextlib.nullcontext():
            pred = torch.cat([model((x[i : i + 500].float() / 255 - mean) / std).argmax(1) for i in range(0, len(x), 500)])
        return float((pred == y).float().mean())

    return {"method": method, "seed": seed, "config": config, "evaluated_on": evaluate_on,
            "accuracy": acc(xev, yev), "train_accuracy": acc(xtr, ytr), "train_seconds": round(seconds, 1),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def _run_all(stage: str, configs: dict[str, dict], methods: list[str], seeds: list[int], root: Path, evaluate_on: str) -> None:
    from tqdm import tqdm

    jobs = [(c, m, s) for s in seeds for c in configs for m in methods]
    for cname, method, seed in tqdm(jobs, desc=stage):
        path = RESULTS / stage / cname / method / f"seed{seed}.json"
        if path.exists():
            continue
        res = run(configs[cname], method, seed, root, evaluate_on=evaluate_on)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(res, indent=1))
        tqdm.write(f"{stage} {cname} {method} seed{seed}: {res['accuracy']:.4f} (train {res['train_accuracy']:.3f}, {res['train_seconds']} s)")


def _load(stage: str) -> dict[tuple[str, str], dict[int, dict]]:
    out: dict[tuple[str, str], dict[int, dict]] = {}
    for f in sorted((RESULTS / stage).glob("*/*/seed*.json")):
        r = json.loads(f.read_text())
        out.setdefault((f.parent.parent.name, r["method"]), {})[r["seed"]] = r
    return out


def chosen_config() -> str:
    """The pilot's choice: the configuration where MixUp's validation gain over ERM is largest (the
    validation split only; the test split is never looked at before the main runs)."""
    p = _load("pilot")
    gains = {c: p[(c, "mixup")][0]["accuracy"] - p[(c, "erm")][0]["accuracy"] for c in PILOT if (c, "mixup") in p and (c, "erm") in p}
    if not gains:
        raise SystemExit("evidence: run the pilot first (python experiments/evidence.py pilot)")
    return max(gains, key=gains.get)


def _order(method: str) -> int:
    """ERM first, then the methods in the study's order, then the peers and checks."""
    known = MAIN_METHODS + ["autoaugment"] + [p for peers in FIDELITY.values() for p in peers]
    return known.index(method) if method in known else len(known)


def _paired(runs: dict[int, dict], ref: dict[int, dict]) -> tuple[str, str]:
    """Paired difference of ``runs`` against ``ref`` over their common seeds: ("+d ± s pts", "wins/n")."""
    diffs = [runs[s]["accuracy"] - ref[s]["accuracy"] for s in sorted(runs) if s in ref]
    if not diffs:
        return "", ""
    sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    return f"{100 * statistics.mean(diffs):+.2f} ± {100 * sd:.2f} pts", f"{sum(d > 0 for d in diffs)}/{len(diffs)}"


def report() -> str:
    lines = []
    p = _load("pilot")
    if p:
        lines += ["**Pilot** (validation split, seed 0)", "", "| configuration | method | val accuracy | train accuracy | seconds |", "|---|---|---|---|---|"]
        for (c, m), runs in sorted(p.items()):
            r = runs[0]
            lines.append(f"| {c} | {m} | {r['accuracy']:.4f} | {r['train_accuracy']:.3f} | {r['train_seconds']} |")
        lines.append("")
    main_runs = _load("main")
    for stage in ("main", "fidelity", "check"):
        res = _load(stage)
        if not res:
            continue
        lines += [f"**{stage}** (test split, 5,000 images)", "",
                  "| configuration | method | seeds | test accuracy mean ± std | paired diff vs ERM (mean ± std) | wins vs ERM |",
                  "|---|---|---|---|---|---|"]
        for (c, m), runs in sorted(res.items(), key=lambda kv: (kv[0][0], _order(kv[0][1]))):
            accs = [runs[s]["accuracy"] for s in sorted(runs)]
            sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
            dtxt, wins = ("", "") if m == "erm" else _paired(runs, main_runs.get((c, "erm"), {}))
            lines.append(f"| {c} | {m} | {len(accs)} | {100 * statistics.mean(accs):.2f} ± {100 * sd:.2f} | {dtxt} | {wins} |")
        lines.append("")
    fid = _load("fidelity")
    if fid:
        both = {**main_runs, **fid}
        lines += ["**fidelity: the peer against ours**, same loop and seeds (goal: means within ±1 point)", "",
                  "| configuration | ours | peer | seeds | ours mean | peer mean | peer − ours (paired, mean ± std) | within ±1 pt |",
                  "|---|---|---|---|---|---|---|---|"]
        for (c, peer), runs in sorted(fid.items(), key=lambda kv: (kv[0][0], _order(kv[0][1]))):
            ours = next((o for o, peers in FIDELITY.items() if peer in peers), None)
            if ours is None or (c, ours) not in both:
                continue
            mine = both[(c, ours)]
            common = [s for s in sorted(runs) if s in mine]
            if not common:
                continue
            a = statistics.mean(mine[s]["accuracy"] for s in common)
            b = statistics.mean(runs[s]["accuracy"] for s in common)
            dtxt, _ = _paired({s: runs[s] for s in common}, mine)
            lines.append(f"| {c} | {ours} | {peer} | {len(common)} | {100 * a:.2f} | {100 * b:.2f} | {dtxt} | {'yes' if abs(b - a) <= 0.01 else '**no**'} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stage", choices=["pilot", "main", "fidelity", "check", "report"])
    ap.add_argument("--root", type=Path, default=Path(os.environ.get("CIFAR10_JPEG", "/tmp/cifar10")))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", nargs="*", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.stage == "report":
        print(report())
        return
    if args.stage == "pilot":
        _run_all("pilot", PILOT, ["erm", "mixup"], [0], args.root, "val")
        print(f"chosen: {chosen_config()}")
        return
    cname = chosen_config()
    config = {cname: PILOT[cname]}
    if args.stage == "main":
        _run_all("main", config, args.methods or MAIN_METHODS, list(range(args.seeds)), args.root, "test")
    elif args.stage == "check":
        _run_all("check", config, args.methods or ["cutmix_p05"], list(range(args.seeds)), args.root, "test")
    else:
        methods = args.methods or [peer for peers in FIDELITY.values() for peer in peers] + ["autoaugment"]
        _run_all("fidelity", config, methods, list(range(args.seeds)), args.root, "test")


if __name__ == "__main__":
    main()
