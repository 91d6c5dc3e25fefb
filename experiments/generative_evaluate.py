"""Offline evaluation of the generators on scikit-learn's digits: ``python experiments/generative_evaluate.py``.

Per seed (the data split, the training and the sampling change with it):

1. **Quality** (generators trained on the full training split): for the conditional VAE and DCGAN,
   - *class consistency*: accuracy of a real-trained classifier (an MLP, 64 hidden ReLU units) on
     generated samples of each requested class (100 per class);
   - *CAS* (classification accuracy score, Ravuri & Vinyals 2019): a logistic regression trained on
     synthetic data only (as many samples per class as the real training split), tested on the real
     test split; next to the same classifier trained on the real training split;
   - *density / coverage* (Naeem et al. 2020, k=5) in the MLP's hidden-feature space, real test
     samples vs as many generated ones.
2. **Imbalance** (classes 3, 5 and 8 cut to 10% of their training samples, generators trained on that
   split only): balanced accuracy and minority recall (mean recall of 3, 5, 8) on the real test split of a
   logistic regression trained on real data only, random oversampling, SMOTE (k=5, pixels), and real +
   synthetic samples that top every class up to the majority count; with the VAE also SMOTE between its
   latent codes, decoded (DeepSMOTE-style, :func:`torchaug.generative.latent_smote`).

Prints (and with ``--out`` writes) a markdown report with mean ± std over the seeds; ``--grid-dir``
saves one sample grid per model (one row per class).
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

MINORITY = (3, 5, 8)


def _digits_split(seed: int, class_fractions: dict[int, float] | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    from torchaug.data import DigitsDataModule

    dm = DigitsDataModule(seed=seed, class_fractions=class_fractions)
    dm.setup("fit")
    return {k: (v.x, v.y) for k, v in dm._splits.items()}


def _flat(x: torch.Tensor) -> np.ndarray:
    return x.flatten(1).float().numpy() / 255.0


def _train_generator(kind: str, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor, *,
                     epochs: int, seed: int, root: Path) -> Any:
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from torchaug.generative import DCGAN, VAE

    L.seed_everything(seed, verbose=False)
    if kind == "cvae":
        module = VAE(num_classes=10, sample_shape=(1, 8, 8), latent_dim=16, base_channels=32, seed=seed)
    elif kind == "cdcgan":
        module = DCGAN(num_classes=10, sample_shape=(1, 8, 8), latent_dim=64, base_channels=32, seed=seed)
    elif kind == "acgan":
        module = DCGAN(num_classes=10, sample_shape=(1, 8, 8), latent_dim=64, base_channels=32, ac_gan=True, seed=seed)
    else:
        raise ValueError(f"evaluate: unknown model {kind!r}; choose from cvae, cdcgan, acgan")
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", default_root_dir=str(root),
                        num_sanity_val_steps=0)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed))
    trainer.fit(module, loader, DataLoader(TensorDataset(xv, yv), batch_size=256))
    return module.eval()


def _density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Naeem et al. (2020): k-NN balls around real samples; density counts fakes per ball (/k), coverage the
    share of real balls holding at least one fake."""
    r = torch.from_numpy(real).double()
    f = torch.from_numpy(fake).double()
    d_rr = torch.cdist(r, r)
    radii = d_rr.kthvalue(k + 1, dim=1).values  # +1: the point itself at distance 0
    inside = torch.cdist(f, r) <= radii.unsqueeze(0)  # (M, N)
    density = inside.sum().item() / (k * len(f))
    coverage = inside.any(0).float().mean().item()
    return density, coverage


def _logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)


def _scores(clf: Any, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score, recall_score

    pred = clf.predict(_flat(x))
    recalls = recall_score(y.numpy(), pred, labels=list(range(10)), average=None)
    return {"balanced_acc": float(balanced_accuracy_score(y.numpy(), pred)),
            "minority_recall": float(np.mean([recalls[c] for c in MINORITY])),
            "acc": float((pred == y.numpy()).mean())}


def quality(kind: str, seed: int, epochs: int, root: Path, grid_dir: Path | None) -> dict[str, float]:
    from sklearn.neural_network import MLPClassifier

    s = _digits_split(seed)
    (x, y), (xv, yv), (xt, yt) = s["train"], s["val"], s["test"]
    mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=seed).fit(_flat(x), y.numpy())

    def feats(a: torch.Tensor) -> np.ndarray:
        return np.maximum(_flat(a) @ mlp.coefs_[0] + mlp.intercepts_[0], 0)

    t0 = time.perf_counter()
    gen = _train_generator(kind, x, y, xv, yv, epochs=epochs, seed=seed, root=root / f"{kind}_{seed}")
    train_s = time.perf_counter() - t0
    g = torch.Generator().manual_seed(seed + 1000)
    want = torch.arange(1000) % 10
    xs = gen.sample(1000, y=want, generator=g)
    consistency = float((mlp.predict(_flat(xs)) == want.numpy()).mean())
    counts = torch.bincount(y, minlength=10)
    ys = torch.repeat_interleave(torch.arange(10), counts)
    x_syn = gen.sample(len(ys), y=ys, generator=g)
    cas = float(_logreg().fit(_flat(x_syn), ys.numpy()).score(_flat(xt), yt.numpy()))
    real_acc = float(_logreg().fit(_flat(x), y.numpy()).score(_flat(xt), yt.numpy()))
    fake_t = gen.sample(len(yt), y=yt, generator=g)
    density, coverage = _density_coverage(feats(xt), feats(fake_t))
    if grid_dir is not None and seed == 0:
        gen.save_sample_grid(grid_dir / f"generative_{kind}_digits.png", per_row=10)
    return {"consistency": consistency, "cas": cas, "real_acc": real_acc, "density": density,
            "coverage": coverage, "train_s": train_s}


def imbalance(kinds: list[str], seed: int, epochs: dict[str, int], root: Path) -> dict[str, dict[str, float]]:
    from torchaug.generative import SyntheticDataset, latent_smote, synthetic_counts
    from torchaug.resampling import SMOTE, RandomOverSampler, resample_images

    s = _digits_split(seed, {c: 0.1 for c in MINORITY})
    (x, y), (xv, yv), (xt, yt) = s["train"], s["val"], s["test"]
    out: dict[str, dict[str, float]] = {}

    def score(xtr: torch.Tensor, ytr: torch.Tensor) -> dict[str, float]:
        return _scores(_logreg().fit(_flat(xtr), ytr.numpy()), xt, yt)

    out["real only"] = score(x, y)
    out["random oversampling"] = score(*resample_images(RandomOverSampler(random_state=seed), x, y))
    out["SMOTE (pixels, k=5)"] = score(*resample_images(SMOTE(k_neighbors=5, random_state=seed), x, y))
    counts = synthetic_counts(torch.bincount(y, minlength=10).tolist(), balance=True)
    for kind in kinds:
        gen = _train_generator(kind, x, y, xv, yv, epochs=epochs[kind], seed=seed, root=root / f"imb_{kind}_{seed}")
        syn = SyntheticDataset(gen, class_counts=counts, seed=seed)
        out[f"real + {kind} (balanced)"] = score(torch.cat([x, syn.x]), torch.cat([y, syn.y]))
        if kind == "cvae":
            out["latent SMOTE (cvae codes, k=5)"] = score(*latent_smote(gen, x, y, SMOTE(k_neighbors=5, random_state=seed)))
    return out


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(prog="python experiments/generative_evaluate.py", description=__doc__.split("\n")[0])
    p.add_argument("--models", default="cvae,cdcgan", help="comma list of cvae, cdcgan, acgan")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--vae-epochs", type=int, default=60)
    p.add_argument("--gan-epochs", type=int, default=40)
    p.add_argument("--skip-imbalance", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 is fastest for these tiny nets)")
    p.add_argument("--workdir", default="outputs/generative_eval")
    p.add_argument("--grid-dir", default=None, help="save one sample grid per model (seed 0) here")
    p.add_argument("--out", default=None, help="also write the markdown report here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits

    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    epochs = {k: args.vae_epochs if k == "cvae" else args.gan_epochs for k in kinds}
    root = Path(args.workdir)
    grid_dir = Path(args.grid_dir) if args.grid_dir else None
    start = time.perf_counter()
    q: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    imb: dict[str, list[dict[str, float]]] = {}
    with threadpool_limits(args.threads):
        for seed in args.seeds:
            for kind in kinds:
                q[kind].append(quality(kind, seed, epochs[kind], root, grid_dir))
                print(f"seed {seed} {kind}: {q[kind][-1]}", file=sys.stderr, flush=True)
            if not args.skip_imbalance:
                for name, sc in imbalance(kinds, seed, epochs, root).items():
                    imb.setdefault(name, []).append(sc)
                print(f"seed {seed} imbalance done", file=sys.stderr, flush=True)
    lines = [f"Seeds {args.seeds}; epochs {epochs}; {time.perf_counter() - start:.0f} s in all.", "",
             "| model | class consistency | CAS | real-data accuracy (same classifier) | density | coverage | train time (s) |",
             "|---|---|---|---|---|---|---|"]
    for kind in kinds:
        r = q[kind]
        lines.append(f"| {kind} | " + " | ".join(mean_std([d[m] for d in r]) for m in
                                                  ("consistency", "cas", "real_acc", "density", "coverage"))
                     + f" | {statistics.mean(d['train_s'] for d in r):.0f} |")
    if imb:
        lines += ["", "Imbalanced digits (classes 3, 5, 8 at 10%), logistic regression on pixels, real test split:", "",
                  "| training data | balanced accuracy | minority recall (3, 5, 8) |", "|---|---|---|"]
        for name, r in imb.items():
            lines.append(f"| {name} | {mean_std([d['balanced_acc'] for d in r])} | {mean_std([d['minority_recall'] for d in r])} |")
    return emit(lines, args.out)


if __name__ == "__main__":
    main()
