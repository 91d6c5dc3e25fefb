"""Commands: write a corrupted copy of an image-folder tree; evaluate a checkpoint on it (error, mCE).

``python -m torchaug.corruptions write SRC DST [--severities 1-5] [--names a,b] [--split test]``
reads ``SRC/<split>/<class>/*.{jpg,jpeg,png}`` and writes ``DST/<corruption>/<severity>/<class>/<stem>.png``
(lossless PNG, so nothing but the corruption changes the pixels). From the CIFAR-10 JPEG tree
(``cifar10/{train,test}/<class>/*.jpg``) this is CIFAR-10-C as an image folder: the 10,000 test
images x 19 corruptions x 5 severities, CIFAR-10-C's constants (``--constants auto`` picks them
at 32x32), with ``DST/manifest.json`` listing what was written. (Hendrycks' release stores the same
images as ``<corruption>.npy`` arrays of 50,000 = 5 x 10,000, severity-major.)

``python -m torchaug.corruptions evaluate CKPT TREE [--baseline CKPT]`` evaluates a
``torchaug.train`` checkpoint on such a tree: the top-1 error per corruption and severity, the mean
error, and (with a baseline checkpoint) Hendrycks & Dietterich's corruption error
``CE_c = sum_s E_{s,c} / sum_s E^baseline_{s,c}`` and ``mCE`` (their mean over the corruptions in
the tree; ImageNet-C uses AlexNet as the baseline). Writes ``--out`` (default ``TREE/eval``)
``.json`` and ``.png`` (a bar chart per corruption).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from torchaug.corruptions import CORRUPTIONS, constants_for, corrupt

EXTS = (".jpg", ".jpeg", ".png")


def _severities(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        lo, hi = int(a), int(b or a)
        if not 1 <= lo <= hi <= 5:
            raise argparse.ArgumentTypeError(f"--severities must be in 1..5 (e.g. 1-5 or 1,3); got {text!r}")
        out += range(lo, hi + 1)
    return sorted(set(out))


def _names(text: str | None) -> list[str]:
    if not text:
        return list(CORRUPTIONS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in CORRUPTIONS]
    if bad:
        raise argparse.ArgumentTypeError(f"--names: unknown corruptions {bad}; choose from {list(CORRUPTIONS)}")
    return names


def _files(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise SystemExit(f"torchaug.corruptions: no class folders in {root}")
    files = [(f, k) for k, c in enumerate(classes) for f in sorted((root / c).iterdir()) if f.suffix.lower() in EXTS]
    return classes, files


def _decode(path: Path) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_image, read_file

    return decode_image(read_file(str(path)), mode=ImageReadMode.RGB)


def _batches(files: list[tuple[Path, int]], batch: int):
    """Decoded ``(images uint8 (B, 3, H, W), labels, paths)`` of consecutive files of one size."""
    buf: list[torch.Tensor] = []
    meta: list[tuple[Path, int]] = []
    for f, k in files:
        im = _decode(f)
        if buf and (im.shape != buf[0].shape or len(buf) == batch):
            yield torch.stack(buf), torch.tensor([m[1] for m in meta]), [m[0] for m in meta]
            buf, meta = [], []
        buf.append(im)
        meta.append((f, k))
    if buf:
        yield torch.stack(buf), torch.tensor([m[1] for m in meta]), [m[0] for m in meta]


def write(src: Path, dst: Path, *, severities: list[int], names: list[str], split: str = "test",
          constants: str = "auto", batch: int = 256, seed: int = 0, device: str = "cpu",
          limit: int | None = None, progress: bool = True, writers: int = 2) -> dict[str, Any]:
    """Write the corrupted copy of ``src/<split>`` into ``dst`` (see the module docstring); returns the manifest."""
    from torchvision.io import encode_png
    from tqdm import tqdm

    root = src / split if (src / split).is_dir() else src
    classes, files = _files(root)
    if limit is not None:
        per: dict[int, int] = {}
        files = [(f, k) for f, k in files if per.setdefault(k, 0) < limit and not per.__setitem__(k, per[k] + 1)]
    dev = torch.device(device)
    g = torch.Generator(device=dev).manual_seed(seed)
    start = time.perf_counter()
    total = len(files) * len(names) * len(severities)
    bar = tqdm(total=total, unit="img", desc="corrupt", disable=not progress, file=sys.stderr)
    which = None

    def save(out: torch.Tensor, folder: Path, paths: list[Path]) -> None:
        for im, p in zip(out, paths):
            d = folder / p.parent.name
            d.mkdir(parents=True, exist_ok=True)
            (d / (p.stem + ".png")).write_bytes(encode_png(im, compression_level=1).numpy().tobytes())

    # PNG encoding and writing (as costly as the corruptions at 32x32) overlap the next batch's
    # corruption in writer threads (torchvision's encoder releases the GIL)
    with ThreadPoolExecutor(max_workers=max(1, writers)) as pool:
        pending: list[Any] = []
        for x, _, paths in _batches(files, batch):
            x = x.to(dev)
            which = which or constants_for(tuple(x.shape[-2:]), constants)
            for name in names:
                for s in severities:
                    out = corrupt(x, name, s, generator=g, constants=constants).cpu()
                    pending.append(pool.submit(save, out, dst / name / str(s), paths))
                    while len(pending) > 4 * max(1, writers):
                        pending.pop(0).result()
                        bar.update(len(paths))
        for f in pending:
            f.result()
            bar.update(len(paths))
    bar.close()
    manifest = {"source": str(root), "classes": classes, "images": len(files), "corruptions": names,
                "severities": severities, "constants": which, "seed": seed, "layout": "<corruption>/<severity>/<class>/<stem>.png",
                "seconds": round(time.perf_counter() - start, 2)}
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


@torch.no_grad()
def _errors(ckpt: Path, tree: Path, batch: int, device: str) -> tuple[dict[str, dict[int, float]], list[str]]:
    from torchaug.lightning.build import load_classifier

    corruptions = [c for c in CORRUPTIONS if (tree / c).is_dir()] + sorted(
        p.name for p in tree.iterdir() if p.is_dir() and p.name not in CORRUPTIONS and p.name != "eval"
        and any(q.name.isdigit() for q in p.iterdir()))
    if not corruptions:
        raise SystemExit(f"torchaug.corruptions evaluate: no <corruption>/<severity>/ folders in {tree}")
    model = mean = std = classes = None
    dev = torch.device(device)
    out: dict[str, dict[int, float]] = {}
    for c in corruptions:
        out[c] = {}
        for sdir in sorted((p for p in (tree / c).iterdir() if p.name.isdigit()), key=lambda p: int(p.name)):
            cls, files = _files(sdir)
            if classes is None:
                classes = cls
            elif cls != classes:
                raise SystemExit(f"torchaug.corruptions evaluate: {sdir} has classes {cls}, expected {classes}")
            wrong = n = 0
            for x, y, _ in _batches(files, batch):
                if model is None:
                    model, mean, std = load_classifier(ckpt, num_classes=len(classes), sample_shape=tuple(x.shape[1:]))
                    model = model.to(dev)
                    mean = None if mean is None else mean.to(dev)
                    std = None if std is None else std.to(dev)
                xf = x.to(dev).float() / 255
                if mean is not None:
                    xf = (xf - mean) / std
                pred = model(xf).argmax(1).cpu()
                wrong += int((pred != y).sum())
                n += len(y)
            out[c][int(sdir.name)] = wrong / max(n, 1)
    return out, classes or []


def evaluate(ckpt: Path, tree: Path, *, baseline: Path | None = None, out: Path | None = None, batch: int = 512,
             device: str = "cpu") -> dict[str, Any]:
    """Errors per corruption and severity, mean error, CE and mCE vs ``baseline``; writes JSON and PNG."""
    err, classes = _errors(ckpt, tree, batch, device)
    res: dict[str, Any] = {"checkpoint": str(ckpt), "tree": str(tree), "classes": classes, "error": err,
                           "mean_error": {c: sum(v.values()) / len(v) for c, v in err.items() if v}}
    allv = [e for v in err.values() for e in v.values()]
    res["mean"] = sum(allv) / len(allv) if allv else float("nan")
    if baseline is not None:
        berr, _ = _errors(baseline, tree, batch, device)
        ce = {c: sum(err[c].values()) / max(sum(berr[c].values()), 1e-12) for c in err if c in berr and err[c]}
        res.update({"baseline": str(baseline), "baseline_error": berr, "CE": ce,
                    "mCE": sum(ce.values()) / len(ce) if ce else float("nan")})
    out = out or (tree / "eval")
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(str(out) + ".json").write_text(json.dumps(res, indent=2))
    _chart(res, Path(str(out) + ".png"))
    res["json"], res["png"] = str(out) + ".json", str(out) + ".png"
    return res


def _chart(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(res["mean_error"])
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(names) + 2), 3.5))
    xs = range(len(names))
    w = 0.4 if "baseline_error" in res else 0.8
    ax.bar([i - (w / 2 if w < 0.8 else 0) for i in xs], [100 * res["mean_error"][n] for n in names], w, label="model")
    if "baseline_error" in res:
        b = res["baseline_error"]
        ax.bar([i + w / 2 for i in xs], [100 * sum(b[n].values()) / len(b[n]) for n in names], w, label="baseline")
    ax.set_xticks(list(xs), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("top-1 error (%), mean over severities")
    title = f"mean error {100 * res['mean']:.1f}%" + (f", mCE {100 * res['mCE']:.1f}%" if "mCE" in res else "")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(res: dict[str, Any]) -> str:
    """The markdown table of errors (%) per corruption and severity, with means and CE."""
    sev = sorted({s for v in res["error"].values() for s in v})
    head = "| corruption | " + " | ".join(f"s{s}" for s in sev) + " | mean |" + (" CE |" if "CE" in res else "")
    lines = [head, "|" + "---|" * (len(sev) + 2 + ("CE" in res))]
    for c, v in res["error"].items():
        row = [f"{100 * v[s]:.1f}" if s in v else "" for s in sev]
        ce = f" {100 * res['CE'][c]:.1f} |" if "CE" in res and c in res["CE"] else (" |" if "CE" in res else "")
        lines.append(f"| {c} | " + " | ".join(row) + f" | {100 * res['mean_error'][c]:.1f} |" + ce)
    lines.append(f"\nmean error: {100 * res['mean']:.2f}%" + (f"   mCE: {100 * res['mCE']:.2f}%" if "mCE" in res else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m torchaug.corruptions", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write a corrupted copy of an image-folder tree")
    w.add_argument("src", type=Path)
    w.add_argument("dst", type=Path)
    w.add_argument("--severities", type=_severities, default=[1, 2, 3, 4, 5])
    w.add_argument("--names", type=_names, default=list(CORRUPTIONS), help="comma-separated (default: all 19)")
    w.add_argument("--split", default="test")
    w.add_argument("--constants", choices=("auto", "cifar", "imagenet"), default="auto")
    w.add_argument("--batch", type=int, default=256)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--device", default="cpu")
    w.add_argument("--limit", type=int, default=None, help="at most N images per class")
    w.add_argument("--writers", type=int, default=2, help="threads that encode and write the PNGs")
    e = sub.add_parser("evaluate", help="evaluate a checkpoint on a corrupted tree")
    e.add_argument("ckpt", type=Path)
    e.add_argument("tree", type=Path)
    e.add_argument("--baseline", type=Path, default=None)
    e.add_argument("--out", type=Path, default=None, help="output path prefix (.json, .png); default TREE/eval")
    e.add_argument("--batch", type=int, default=512)
    e.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    if a.cmd == "write":
        m = write(a.src, a.dst, severities=a.severities, names=a.names, split=a.split, constants=a.constants,
                  batch=a.batch, seed=a.seed, device=a.device, limit=a.limit, writers=a.writers)
        print(f"wrote {m['images']} images x {len(m['corruptions'])} corruptions x {len(m['severities'])} severities "
              f"to {a.dst} in {m['seconds']} s (constants: {m['constants']})")
        return 0
    res = evaluate(a.ckpt, a.tree, baseline=a.baseline, out=a.out, batch=a.batch, device=a.device)
    print(table(res))
    print(f"wrote {res['json']} and {res['png']}")
    return 0
