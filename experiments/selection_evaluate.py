"""Does filtering synthetic samples help? ``python experiments/selection_evaluate.py --seeds 0 1 2``.

Two imbalanced problems, a logistic regression (scikit-learn, ``max_iter=2000``) as the classifier:

- **digits** (scikit-learn's 8x8 digits, features = flattened pixels / 16): stratified 70/30
  train/test split per seed, classes 3, 5 and 8 cut to 10% of their training samples; minority recall
  = mean recall of 3, 5, 8 on the (untouched) test split.
- **breast cancer** (scikit-learn's Wisconsin set, 30 features standardized on the training split):
  stratified 70/30 split, malignant cut to 10% of its training samples; minority recall = recall of
  malignant.

Training sets: no resampling; SMOTE (k=5, every class up to the majority); SMOTE followed by each
filter (PUFilter, ConfidenceFilter, DistanceFilter — the latter is the distance baseline); on digits
also samples from a conditional VAE (:mod:`torchaug.generative`, trained on the imbalanced training
split, ``--vae-epochs``) topping every class up to the majority, alone and followed by each filter.
The VAE cannot model the 30 tabular features (it is an image model), so breast cancer has no VAE rows.
Filters use their defaults: ``PUFilter()`` (logistic regression, threshold 0.5, 5-fold
cross-fitting; also with ``classifier="quadratic"``), ``ConfidenceFilter()`` (logistic regression, tau 0.5), ``DistanceFilter()``
(k 5, quantile 0.95). Prints (and with ``--out`` writes) a markdown report with mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments._report import emit, mean_std  # noqa: E402

DIGITS_MINORITY = (3, 5, 8)


def _filters(seed: int) -> dict[str, Any]:
    from torchaug.selection import ConfidenceFilter, DistanceFilter, PUFilter

    return {"PU filter": PUFilter(random_state=seed),
            "PU filter (quadratic)": PUFilter(classifier="quadratic", random_state=seed),
            "confidence filter": ConfidenceFilter(random_state=seed),
            "distance filter (baseline)": DistanceFilter()}


def _cut(X: np.ndarray, y: np.ndarray, classes: tuple[int, ...], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    keep = np.ones(len(y), dtype=bool)
    for c in classes:
        idx = np.flatnonzero(y == c)
        n_keep = max(2, int(round(fraction * len(idx))))
        order = torch.randperm(len(idx), generator=g).numpy()
        keep[idx[order[n_keep:]]] = False
    return X[keep], y[keep]


def load(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """Imbalanced train split and untouched test split of ``name`` ("digits" or "cancer")."""
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split

    if name == "digits":
        d = load_digits()
        X, y, minority = d.data / 16.0, d.target, DIGITS_MINORITY
    elif name == "cancer":
        d = load_breast_cancer()
        X, y, minority = d.data, d.target, (0,)  # 0 = malignant
    else:
        raise ValueError(f"evaluate: dataset must be digits or cancer; got {name!r}")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    Xtr, ytr = _cut(Xtr, ytr, minority, 0.1, seed)
    if name == "cancer":
        mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-12
        Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    return Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64), minority


def score(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray, minority: tuple[int, ...]) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, recall_score

    pred = LogisticRegression(max_iter=2000).fit(Xtr, ytr).predict(Xte)
    labels = np.unique(yte)
    rec = dict(zip(labels.tolist(), recall_score(yte, pred, labels=labels, average=None)))
    return {"balanced_acc": float(balanced_accuracy_score(yte, pred)),
            "minority_recall": float(np.mean([rec[c] for c in minority]))}


def train_vae(X: np.ndarray, y: np.ndarray, *, epochs: int, seed: int, root: Path) -> Any:
    """Conditional VAE (latent 16, 32 base channels) on the 8x8 digit images of the training split."""
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from torchaug.generative import VAE

    L.seed_everything(seed, verbose=False)
    x = torch.from_numpy(np.round(X * 255.0)).to(torch.uint8).view(-1, 1, 8, 8)
    module = VAE(num_classes=10, sample_shape=(1, 8, 8), latent_dim=16, base_channels=32, seed=seed)
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", default_root_dir=str(root),
                        limit_val_batches=0, num_sanity_val_steps=0)
    loader = DataLoader(TensorDataset(x, torch.from_numpy(y)), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    trainer.fit(module, loader)
    return module.eval()


def run_seed(name: str, seed: int, *, vae_epochs: int, root: Path) -> dict[str, dict[str, float]]:
    from torchaug.resampling import SMOTE
    from torchaug.selection import select_synthetic

    Xtr, ytr, Xte, yte, minority = load(name, seed)
    n = len(ytr)
    out: dict[str, dict[str, float]] = {"no resampling": score(Xtr, ytr, Xte, yte, minority)}

    def with_synthetic(label: str, Xs: np.ndarray, ys: np.ndarray) -> None:
        out[label] = {**score(np.vstack([Xtr, Xs]), np.concatenate([ytr, ys]), Xte, yte, minority), "kept": 1.0}
        for fname, sel in _filters(seed).items():
            t0 = time.perf_counter()
            keep, _, _ = select_synthetic(sel, Xtr, ytr, Xs, ys)
            sec = time.perf_counter() - t0
            res = score(np.vstack([Xtr, Xs[keep]]), np.concatenate([ytr, ys[keep]]), Xte, yte, minority)
            out[f"{label} + {fname}"] = {**res, "kept": len(keep) / max(len(ys), 1), "select_s": sec}

    X_res, y_res = SMOTE(k_neighbors=5, random_state=seed).fit_resample(Xtr, ytr)
    with_synthetic("SMOTE (k=5)", X_res[n:], y_res[n:])
    if name == "digits" and vae_epochs > 0:
        vae = train_vae(Xtr, ytr, epochs=vae_epochs, seed=seed, root=root / f"vae_{seed}")
        counts = np.bincount(ytr, minlength=10)
        ys = np.repeat(np.arange(10), counts.max() - counts)
        g = torch.Generator().manual_seed(seed + 1000)
        xs = vae.sample(len(ys), y=torch.from_numpy(ys), generator=g, dtype=torch.float32)
        with_synthetic(f"CVAE samples ({vae_epochs} epochs)", xs.flatten(1).double().numpy(), ys)
    return out


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(prog="python experiments/selection_evaluate.py", description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--datasets", nargs="+", default=["digits", "cancer"], choices=["digits", "cancer"])
    p.add_argument("--vae-epochs", type=int, default=30, help="0 skips the generator rows")
    p.add_argument("--skip-generator", action="store_true", help="same as --vae-epochs 0")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workdir", default="outputs/selection_eval")
    p.add_argument("--out", default=None, help="also write the markdown report here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    vae_epochs = 0 if args.skip_generator else args.vae_epochs
    t0 = time.perf_counter()
    lines = [f"Seeds {args.seeds}; logistic regression; VAE epochs {vae_epochs}.", ""]
    for name in args.datasets:
        runs = [run_seed(name, s, vae_epochs=vae_epochs, root=Path(args.workdir)) for s in args.seeds]
        title = {"digits": "Imbalanced digits (3, 5, 8 at 10%)", "cancer": "Imbalanced breast cancer (malignant at 10%)"}[name]
        minority = "minority recall (3, 5, 8)" if name == "digits" else "minority recall (malignant)"
        lines += [f"### {title}", "", f"| training data | balanced accuracy | {minority} | synthetic kept | selection time (s) |",
                  "|---|---|---|---|---|"]
        for row in runs[0]:
            vals = {k: [r[row][k] for r in runs] for k in runs[0][row]}
            kept = mean_std(vals["kept"]) if "kept" in vals else "-"
            sec = f"{statistics.mean(vals['select_s']):.2f}" if "select_s" in vals else "-"
            lines.append(f"| {row} | {mean_std(vals['balanced_acc'])} | {mean_std(vals['minority_recall'])} | {kept} | {sec} |")
        lines.append("")
    lines.append(f"{time.perf_counter() - t0:.0f} s in all.")
    return emit(lines, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
