"""Resampling evidence (issue 29, item 3): SMOTE-family methods against no resampling, random
oversampling and class weights on strongly imbalanced tabular problems, then the selection filters and
(on the digits, which are images) a generator.

    python experiments/resampling_evidence.py            # about a minute on 2 cores; writes JSON + prints tables
    python experiments/resampling_evidence.py --splits 50

Data (shipped with scikit-learn, nothing downloaded), each cut to a strong imbalance inside every split
(the minority class subsampled in the training part only; the test part keeps its natural ratio):

- ``cancer``: breast cancer Wisconsin, malignant (minority) kept at 8% of the benign count;
- ``digits9``: 8x8 digits, "9 against the rest", the nines kept at 4% of the rest.

Classifiers: logistic regression (standardised features) and 5-nearest-neighbours, the two the SMOTE
literature (Chawla et al. 2002; He & Garcia 2009) uses to show where oversampling helps. Metrics on the
test part: balanced accuracy, minority recall, average precision. Every split is paired: each method's
difference to "none", to random oversampling and to "class weights" (logistic regression only: kNN takes no weights) is
reported as mean ± std over the splits with its win count. Results: ``experiments/results/resampling_evidence.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "experiments" / "results" / "resampling_evidence.json"


def datasets() -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """name -> (X, y with minority = 1, minority : majority ratio kept in training)."""
    from sklearn.datasets import load_breast_cancer, load_digits

    c = load_breast_cancer()
    d = load_digits()
    return {
        "cancer": (c.data.astype(np.float32), (c.target == 0).astype(np.int64), 0.08),
        "digits9": (d.data.astype(np.float32), (d.target == 9).astype(np.int64), 0.04),
    }


def split(X: np.ndarray, y: np.ndarray, ratio: float, seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(ytr == 1), np.flatnonzero(ytr == 0)
    keep = rng.choice(pos, size=max(6, int(round(ratio * len(neg)))), replace=False)
    idx = np.sort(np.concatenate([neg, keep]))
    return Xtr[idx], ytr[idx], Xte, yte


def methods() -> dict[str, Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]]:
    from torchaug.resampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
    from torchaug.selection import ConfidenceFilter, DistanceFilter, PUFilter, filter_resampled

    def sampler(make):
        return lambda X, y, s: make(s).fit_resample(X, y)

    def filtered(selector):
        return lambda X, y, s: filter_resampled(selector(s), SMOTE(k_neighbors=5, random_state=s), X, y)

    return {
        "none": lambda X, y, s: (X, y),
        "random oversampling": sampler(lambda s: RandomOverSampler(random_state=s)),
        "SMOTE": sampler(lambda s: SMOTE(k_neighbors=5, random_state=s)),
        "Borderline-SMOTE 1": sampler(lambda s: BorderlineSMOTE(kind="borderline-1", random_state=s)),
        "ADASYN": sampler(lambda s: ADASYN(random_state=s)),
        "SMOTE + PU filter": filtered(lambda s: PUFilter(random_state=s)),
        "SMOTE + confidence filter": filtered(lambda s: ConfidenceFilter(random_state=s)),
        "SMOTE + distance filter": filtered(lambda s: DistanceFilter()),
    }


def generator_methods(epochs: int = 50) -> dict[str, Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]]:
    """``digits9`` only (the generators are image models): a conditional VAE (Kingma & Welling 2014;
    conditional as in Sohn et al. 2015) trained on the split's training images (8x8, both classes), then
    as many generated nines as it takes to balance the classes, added to the real rows. One model per split,
    shared by the two classifiers."""
    import tempfile

    import torch

    from experiments.generative_evaluate import _train_generator
    from torchaug.generative import SyntheticDataset

    cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def top_up(X: np.ndarray, y: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
        key = (s, X.shape, float(X.sum()))
        if key not in cache:
            x = torch.from_numpy(np.rint(X * (255 / 16))).to(torch.uint8).view(-1, 1, 8, 8)
            t = torch.from_numpy(y)
            with tempfile.TemporaryDirectory() as root:
                gen = _train_generator("cvae", x, t, x[:256], t[:256], epochs=epochs, seed=s, root=Path(root))
            need = int((y == 0).sum() - (y == 1).sum())
            syn = SyntheticDataset(gen, class_counts={1: need}, seed=s)
            xs = syn.x.flatten(1).float().numpy() * (16 / 255)
            cache[key] = (np.concatenate([X, xs.astype(X.dtype)]), np.concatenate([y, syn.y.numpy().astype(y.dtype)]))
        return cache[key]

    return {"cVAE top-up": top_up}


def classifiers(weighted: bool) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cw = "balanced" if weighted else None
    return {
        "logistic regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight=cw)),
        "5-NN": None if weighted else make_pipeline(StandardScaler(), KNeighborsClassifier(5)),
    }


def scores(clf: Any, X: np.ndarray, y: np.ndarray, Xte: np.ndarray, yte: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, balanced_accuracy_score, recall_score

    clf.fit(X, y)
    pred, prob = clf.predict(Xte), clf.predict_proba(Xte)[:, 1]
    return {"balanced accuracy": balanced_accuracy_score(yte, pred), "minority recall": recall_score(yte, pred),
            "average precision": average_precision_score(yte, prob)}


def study(n_splits: int) -> dict[str, Any]:
    from sklearn.base import clone
    from tqdm import tqdm

    res: dict[str, Any] = {}
    for dname, (X, y, ratio) in datasets().items():
        ms = {**methods(), **(generator_methods() if dname == "digits9" else {})}
        for s in tqdm(range(n_splits), desc=dname):
            Xtr, ytr, Xte, yte = split(X, y, ratio, s)
            for cname, clf in classifiers(False).items():
                for mname, m in ms.items():
                    Xr, yr = m(Xtr, ytr, s)
                    res.setdefault(f"{dname} | {cname} | {mname}", []).append(scores(clone(clf), np.asarray(Xr), np.asarray(yr), Xte, yte))
                weighted = classifiers(True)[cname]
                if weighted is not None:
                    res.setdefault(f"{dname} | {cname} | class weights", []).append(scores(clone(weighted), Xtr, ytr, Xte, yte))
    return res


def table(res: dict[str, Any]) -> str:
    metrics = ["balanced accuracy", "minority recall", "average precision"]
    lines = ["| data | classifier | method | " + " | ".join(metrics) + " | Δ balanced acc. vs none (wins) | Δ vs random oversampling (wins) | Δ vs class weights (wins) |",
             "|---|---|---|---|---|---|---|---|---|"]

    def paired(a: list[dict], b: list[dict] | None) -> str:
        if not b or a is b:
            return ""
        d = [x["balanced accuracy"] - y["balanced accuracy"] for x, y in zip(a, b)]
        return f"{100 * statistics.mean(d):+.1f} ± {100 * statistics.stdev(d):.1f} ({sum(v > 0 for v in d)}/{len(d)})"

    for key, runs in res.items():
        dname, cname, mname = key.split(" | ")
        cells = [f"{100 * statistics.mean(r[m] for r in runs):.1f} ± {100 * statistics.stdev(r[m] for r in runs):.1f}" for m in metrics]
        none = res.get(f"{dname} | {cname} | none")
        ros = res.get(f"{dname} | {cname} | random oversampling")
        cw = res.get(f"{dname} | {cname} | class weights")
        lines.append(f"| {dname} | {cname} | {mname} | " + " | ".join(cells) + f" | {paired(runs, none)} | {paired(runs, ros)} | {paired(runs, cw)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", type=int, default=20)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    res = study(args.splits)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"splits": args.splits, "results": res}, indent=1))
    print(table(res))


if __name__ == "__main__":
    main()
