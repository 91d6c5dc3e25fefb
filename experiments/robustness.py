"""Robustness evidence (issue 26): AugMix against ERM at the same budget on CIFAR-10-C.

    python experiments/robustness.py run --threads 1     # erm and augmix, 3 seeds (resumable)
    python experiments/robustness.py report              # markdown tables from the JSON results

Setting: the evidence study's (``experiments/evidence.py``, ``docs/evidence.md``): CIFAR-10 from the
JPEG tree (``--root``, default ``/tmp/cifar10``), SmallCNN width 32, 50 training images per class,
150 epochs, SGD (momentum 0.9, nesterov, weight decay 5e-4, one-cycle cosine, peak lr 0.05), batch
128, RandomCrop(32, padding=4) + RandomHorizontalFlip under both methods. The evidence pilot chose
this setting as one where ERM fits the training set (train accuracy ~1), so a regulariser has room
to act and ERM does not underfit.

- ``erm``: cross-entropy on the crop + flip batch.
- ``augmix``: AugMix + Jensen-Shannon consistency, the paper's CIFAR setting (Hendrycks et al.,
  ICLR 2020, Sec. 4.1 and their ``cifar.py`` defaults): severity 3, mixture width 3, chain depth
  -1 (1..3), alpha 1, the operation list without the ImageNet-C-overlapping colour ops
  (``all_ops=False``), JSD weight lambda = 12, no label smoothing. Each batch is
  ``[clean; augmix_1; augmix_2]`` (:class:`torchaug.transforms.AugMix` with ``num_splits=3``, on the
  crop + flip batch, uint8) and the loss is :class:`torchaug.mixing.JsdCrossEntropy` (CE on the clean
  third + lambda * JS divergence of the three softmaxes). Same epochs and optimiser steps as ERM
  (each step sees three times the images, as in the paper).

Evaluation: a fixed subset of the test split, the first 100 files (sorted) of each class (1,000
images), clean and under all 19 corruptions of :data:`torchaug.corruptions.CORRUPTIONS` (15 benchmark
+ 4 extra) x 5 severities with the CIFAR-10-C constants of Hendrycks' ``make_cifar_c.py``
(``torchaug.corruptions.corrupt``, uint8, generated in memory in one batch per corruption and
severity, generator seeded ``1000 * severity + index of the corruption``: the same corrupted images for
every run; kept between processes in ``/tmp/torchaug-robustness-cache``, never committed). Reported: clean error, error per corruption (mean over the 5
severities), mean corruption error (mean over the 15 benchmark corruptions x 5 severities, and over
all 19), and the ImageNet-C normalisations with ERM (mean over its seeds) as the baseline:
``CE_c = sum_s E_{s,c} / sum_s E^ERM_{s,c}``, ``mCE = mean_c CE_c`` (ERM = 100 by definition) and
relative ``rCE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^ERM_{s,c} - E^ERM_clean)``.

Each finished run writes ``experiments/results/robustness/<method>/seed<k>.json`` (every error
number, so the report recomputes any summary); a run whose file exists is skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.evidence import load_split  # noqa: E402
from torchaug.models.cnn import SmallCNN  # noqa: E402

RESULTS = ROOT / "experiments" / "results" / "robustness"
METHODS = ("erm", "augmix")
#: the evidence pilot's choice (``n50_w32_e150``)
CONFIG = dict(per_class=50, width=32, epochs=150)
EVAL_PER_CLASS = 100
SEVERITIES = (1, 2, 3, 4, 5)
MEAN = (0.491, 0.482, 0.447)
STD = (0.247, 0.243, 0.261)


def _benchmark_corruptions() -> tuple[str, ...]:
    from torchaug.corruptions import CORRUPTIONS

    return CORRUPTIONS[:15]


# -- data ---------------------------------------------------------------------------------------
def corrupted_sets(x: torch.Tensor, names: tuple[str, ...] | None = None, batch: int = 500) -> dict[str, torch.Tensor]:
    """``name -> uint8 (5, N, C, H, W)``: ``x`` under each corruption at severities 1..5 (CIFAR constants),
    seeded per (corruption, severity) so every run sees the same images."""
    from torchaug.corruptions import CORRUPTIONS, corrupt

    names = tuple(CORRUPTIONS) if names is None else names
    out = {}
    for name in names:
        j = CORRUPTIONS.index(name)
        per_sev = []
        for s in SEVERITIES:
            g = torch.Generator().manual_seed(1000 * s + j)
            per_sev.append(torch.cat([corrupt(x[i : i + batch], name, s, generator=g, constants="cifar")
                                      for i in range(0, len(x), batch)]))
        out[name] = torch.stack(per_sev)
    return out


def cached_corrupted_sets(root: Path) -> dict[str, torch.Tensor]:
    """:func:`corrupted_sets` of the evaluation subset, kept in ``/tmp`` between processes (about 300 MB)."""
    cache = Path("/tmp/torchaug-robustness-cache") / f"cifar10c_test{EVAL_PER_CLASS}.pt"
    if cache.exists():
        return torch.load(cache)
    sets = corrupted_sets(load_split(root, "test", EVAL_PER_CLASS)[0])
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    torch.save(sets, tmp)
    tmp.replace(cache)  # atomic: a parallel run never reads half a file
    return sets


# -- training -----------------------------------------------------------------------------------
def train(method: str, xtr: torch.Tensor, ytr: torch.Tensor, *, epochs: int, width: int, seed: int) -> tuple[torch.nn.Module, float]:
    """Train SmallCNN with ``method`` on uint8 ``xtr``; returns the model (eval mode) and the seconds."""
    from torchaug.mixing import JsdCrossEntropy
    from torchaug.transforms import AugMix, Compose, RandomCrop, RandomHorizontalFlip

    if method not in METHODS:
        raise ValueError(f"robustness: method must be one of {METHODS}; got {method!r}")
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = SmallCNN(num_classes=10, width=width)
    base = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip()])
    augmix = AugMix(severity=3, mixture_width=3, chain_depth=-1, alpha=1.0, all_ops=False, num_splits=3)
    jsd = JsdCrossEntropy(num_splits=3, alpha=12.0, smoothing=0.0)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    bs = 128
    steps = epochs * math.ceil(len(xtr) / bs)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=steps, pct_start=0.15, anneal_strategy="cos")
    t0 = time.time()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), bs):
            idx = order[i : i + bs]
            x = base(xtr[idx], generator=g)
            if method == "augmix":
                x = augmix(x, generator=g)  # (3B): clean, view 1, view 2
            logits = model((x.float().div_(255) - mean) / std)
            loss = jsd(logits, ytr[idx]) if method == "augmix" else F.cross_entropy(logits, ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model, time.time() - t0


@torch.no_grad()
def error(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """Top-1 error (fraction) of ``model`` on uint8 ``x``."""
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    pred = torch.cat([model((x[i : i + batch].float() / 255 - mean) / std).argmax(1) for i in range(0, len(x), batch)])
    return float((pred != y).float().mean())


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, sets: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Clean error and ``{corruption: [error at severity 1..5]}``."""
    return {"clean_error": error(model, x, y),
            "corruption_errors": {n: [error(model, t[s], y) for s in range(t.shape[0])] for n, t in sets.items()}}


# -- summaries ----------------------------------------------------------------------------------
def mean_corruption_error(errs: dict[str, list[float]], names: tuple[str, ...]) -> float:
    """Unnormalised mean error over ``names`` x severities (the AugMix paper's CIFAR-10-C number)."""
    return statistics.mean(e for n in names for e in errs[n])


def normalized_ce(errs: dict[str, list[float]], ref: dict[str, list[float]], names: tuple[str, ...]) -> float:
    """ImageNet-C's mCE with ``ref`` as the baseline: ``mean_c sum_s E_sc / sum_s E^ref_sc``."""
    return statistics.mean(sum(errs[n]) / sum(ref[n]) for n in names)


def relative_ce(errs: dict[str, list[float]], clean: float, ref: dict[str, list[float]], ref_clean: float,
                names: tuple[str, ...]) -> float:
    """Relative mCE: ``mean_c sum_s (E_sc - E_clean) / sum_s (E^ref_sc - E^ref_clean)``."""
    def one(n: str) -> float:
        den = sum(e - ref_clean for e in ref[n])
        return sum(e - clean for e in errs[n]) / den if den else math.nan  # baseline unharmed by c: undefined

    return statistics.mean(one(n) for n in names)


def mean_reference(runs: list[dict[str, Any]]) -> tuple[dict[str, list[float]], float]:
    """Seed-mean corruption errors and clean error of ``runs`` (the ERM baseline)."""
    names = runs[0]["corruption_errors"]
    ref = {n: [statistics.mean(r["corruption_errors"][n][s] for r in runs) for s in range(len(SEVERITIES))] for n in names}
    return ref, statistics.mean(r["clean_error"] for r in runs)


# -- runs ---------------------------------------------------------------------------------------
def run(method: str, seed: int, root: Path, sets: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    xtr, ytr = load_split(root, "train", CONFIG["per_class"])
    xte, yte = load_split(root, "test", EVAL_PER_CLASS)
    model, seconds = train(method, xtr, ytr, epochs=CONFIG["epochs"], width=CONFIG["width"], seed=seed)
    sets = corrupted_sets(xte) if sets is None else sets
    res = evaluate(model, xte, yte, sets)
    return {"method": method, "seed": seed, "config": CONFIG, "eval_images": len(xte),
            "train_error": error(model, xtr, ytr), **res, "train_seconds": round(seconds, 1),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def run_all(root: Path, methods: list[str], seeds: list[int]) -> None:
    sets = None
    for seed in seeds:
        for method in methods:
            path = RESULTS / method / f"seed{seed}.json"
            if path.exists() or _claimed_elsewhere(path):
                continue
            if sets is None:
                sets = cached_corrupted_sets(root)
            path.parent.mkdir(parents=True, exist_ok=True)
            claim = path.with_suffix(".running")
            claim.write_text(str(os.getpid()))
            try:
                res = run(method, seed, root, sets)
                path.write_text(json.dumps(res, indent=1))
            finally:
                claim.unlink(missing_ok=True)
            print(f"{method} seed{seed}: clean {100 * res['clean_error']:.2f}% "
                  f"mCE {100 * mean_corruption_error(res['corruption_errors'], _benchmark_corruptions()):.2f}% "
                  f"(train error {100 * res['train_error']:.2f}%, {res['train_seconds']} s)", flush=True)


def _claimed_elsewhere(path: Path) -> bool:
    """A live process on this machine is running this (method, seed) already (parallel launches)."""
    claim = path.with_suffix(".running")
    try:
        os.kill(int(claim.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def _load(results: Path = RESULTS) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = {}
    for f in sorted(results.glob("*/seed*.json")):
        r = json.loads(f.read_text())
        out.setdefault(r["method"], {})[r["seed"]] = r
    return out


def _ms(v: list[float], scale: float = 100.0) -> str:
    if len(v) == 1:
        return f"{scale * v[0]:.2f}"
    return f"{scale * statistics.mean(v):.2f} ± {scale * statistics.stdev(v):.2f}"


def report(results: Path = RESULTS) -> str:
    from torchaug.corruptions import CORRUPTIONS

    res = _load(results)
    if "erm" not in res:
        return "robustness: no ERM runs yet (python experiments/robustness.py run)"
    bench, all19 = _benchmark_corruptions(), tuple(CORRUPTIONS)
    ref, ref_clean = mean_reference(list(res["erm"].values()))
    lines = ["| method | seeds | clean error % | mean corruption error % (15) | (19) | mCE, ERM = 100 (15) | relative mCE, ERM = 100 (15) | train error % |",
             "|---|---|---|---|---|---|---|---|"]
    for m in [m for m in METHODS if m in res]:
        runs = [res[m][s] for s in sorted(res[m])]
        lines.append(f"| {m} | {len(runs)} | {_ms([r['clean_error'] for r in runs])} "
                     f"| {_ms([mean_corruption_error(r['corruption_errors'], bench) for r in runs])} "
                     f"| {_ms([mean_corruption_error(r['corruption_errors'], all19) for r in runs])} "
                     f"| {_ms([normalized_ce(r['corruption_errors'], ref, bench) for r in runs])} "
                     f"| {_ms([relative_ce(r['corruption_errors'], r['clean_error'], ref, ref_clean, bench) for r in runs])} "
                     f"| {_ms([r['train_error'] for r in runs])} |")
    lines.append("")
    if "augmix" in res:
        common = sorted(set(res["erm"]) & set(res["augmix"]))
        if common:
            lines += [f"Paired by seed (augmix - erm, {len(common)} seeds; negative = AugMix better):", "",
                      "| quantity | difference (points) | seeds AugMix better |", "|---|---|---|"]

            def paired(f):
                d = [f(res["augmix"][s]) - f(res["erm"][s]) for s in common]
                return f"| {_ms(d)} | {sum(x < 0 for x in d)}/{len(d)} |"

            lines.append("| clean error " + paired(lambda r: r["clean_error"]))
            lines.append("| mean corruption error (15) " + paired(lambda r: mean_corruption_error(r["corruption_errors"], bench)))
            lines.append("| mean corruption error (19) " + paired(lambda r: mean_corruption_error(r["corruption_errors"], all19)))
            lines.append("")
    methods = [m for m in METHODS if m in res]
    lines += ["Error per corruption (%, mean over the 5 severities; mean ± std over seeds):", "",
              "| corruption | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for n in all19:
        cells = [_ms([statistics.mean(res[m][s]["corruption_errors"][n]) for s in sorted(res[m])]) for m in methods]
        lines.append(f"| {n}{'' if n in bench else ' (extra)'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stage", choices=["run", "report"])
    ap.add_argument("--root", type=Path, default=Path(os.environ.get("CIFAR10_JPEG", "/tmp/cifar10")))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=None, help="run this one seed only (parallel launches)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--methods", nargs="*", default=list(METHODS))
    ap.add_argument("--epochs", type=int, default=None, help="override (smoke runs only; writes under results/robustness-smoke)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    global RESULTS
    if args.epochs is not None:
        CONFIG["epochs"] = args.epochs
        RESULTS = ROOT / "experiments" / "results" / f"robustness-smoke-e{args.epochs}"
    if args.stage == "report":
        print(report(RESULTS))
        return
    run_all(args.root, args.methods, [args.seed] if args.seed is not None else list(range(args.seeds)))


if __name__ == "__main__":
    main()
