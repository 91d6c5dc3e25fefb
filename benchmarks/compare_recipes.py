"""Train recipes over several seeds and print a markdown table of test metrics (mean ± std).

    python benchmarks/compare_recipes.py --recipes erm_digits mixup_digits --seeds 0 1 2
    python benchmarks/compare_recipes.py --recipes erm_cifar_small mixup_cifar_small \
        --seeds 0 1 --set data.root=/scratch/cifar10
    python benchmarks/compare_recipes.py --recipes smote_digits --variant none=resampler=none \
        --variant ros=resampler=random_oversampler --variant smote=
    python benchmarks/compare_recipes.py --recipes erm_cifar mixup_cifar --seeds 0   # a GPU: ours beside the paper's

Each run writes its usual outputs under ``--out/<recipe>/seed<k>``. "minority recall" is the mean test
recall of the classes the recipe cuts with ``data.class_fractions`` (shown when there are any).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments._report import mean_std  # noqa: E402
from torchaug._paths import config_dir  # noqa: E402
from torchaug.train import train  # noqa: E402


def run(recipe: str, seed: int, extra: list[str], out: Path) -> dict:
    overrides = [f"+recipe={recipe}", f"seed={seed}", "trainer.enable_progress_bar=false", *extra]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
        with open_dict(cfg):
            cfg.output_dir = str(out / recipe / f"seed{seed}")
        results = train(cfg, overrides=overrides)
        results["paper"] = OmegaConf.to_container(cfg.paper) if cfg.get("paper") else None
    minority = sorted(int(k) for k in (cfg.data.get("class_fractions") or {}))
    if minority and "test_per_class_recall" in results:
        results["minority_recall"] = statistics.mean(results["test_per_class_recall"][c] for c in minority)
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", required=True)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--set", nargs="*", default=[], help="overrides applied to every run")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL=OVERRIDE[,OVERRIDE...]",
                    help="run every recipe once per variant, e.g. --variant none=resampler=none (repeatable)")
    ap.add_argument("--out", type=Path, default=Path("outputs/compare"))
    args = ap.parse_args(argv)
    variants = [v.split("=", 1) for v in args.variant] or [["", ""]]
    rows = []
    for recipe in args.recipes:
        for label, spec in variants:
            name = f"{recipe} [{label}]" if label else recipe
            extra = [*args.set, *(o for o in spec.split(",") if o)]
            out = args.out / label if label else args.out
            runs = []
            for seed in args.seeds:
                t0 = time.perf_counter()
                r = run(recipe, seed, extra, out)
                r["wall"] = time.perf_counter() - t0
                runs.append(r)
                print(f"[{name} seed {seed}] test_acc={r.get('test_acc'):.4f} ({r['wall']:.0f} s)", file=sys.stderr)
            rows.append((name, runs))
    (args.out).mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({r: runs for r, runs in rows}, indent=2, default=str))
    has_minority = any("minority_recall" in x for _, runs in rows for x in runs)
    has_paper = any(runs[0].get("paper") for _, runs in rows)
    head = ("| recipe | test accuracy | balanced accuracy |" + (" minority recall |" if has_minority else "") + " epochs | s / run |"
            + (" test error % (ours) | paper's test error % | paper's row |" if has_paper else ""))
    print(f"\nseeds {args.seeds}; extra overrides {args.set or 'none'}\n")
    print(head)
    print("|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|")
    for recipe, runs in rows:
        cells = [mean_std([x["test_acc"] for x in runs], 4), mean_std([x["test_balanced_acc"] for x in runs], 4)]
        if has_minority:
            cells.append(mean_std([x["minority_recall"] for x in runs if "minority_recall" in x], 4))
        cells += [str(runs[0]["epochs"]), f"{statistics.mean(x['wall'] for x in runs):.0f}"]
        if has_paper:
            paper = runs[0].get("paper") or {}
            note = "" if paper.get("same_network", True) else " (another network: a reference, not a target)"
            if paper.get("metric"):
                note += f"; the paper's number is {paper['metric']}, ours the clean test error"
            cells += [mean_std([100 * (1 - x["test_acc"]) for x in runs], 2), str(paper.get("test_error", "")),
                      f"{paper.get('source', '')}: {paper.get('row', '')}{note}" if paper else ""]
        print(f"| `{recipe}` | " + " | ".join(cells) + " |")  # noqa: B023


if __name__ == "__main__":
    main()
