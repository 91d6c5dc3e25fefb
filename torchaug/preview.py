"""Render what an augmenter does into a PNG grid.

    python -m torchaug.preview transforms=imagenet_standard
    python -m torchaug.preview transforms=cifar_standard out=cifar.png draws=6 seed=1
    python -m torchaug.preview transforms=digits
    python -m torchaug.preview resampler=smote out=smote.png
    python -m torchaug.preview transforms=style_augment transforms.model=/path/to/adain/last.ckpt

``transforms=<name>`` composes ``configs/transforms/<name>.yaml`` (Hydra), and draws a grid:
one row per image, the original in the first column, ``draws`` augmented versions beside it
(each column one call of the pipeline on the whole batch, so every cell shows its sample's own
parameters). Images come from scikit-learn's bundled sample photos (``source=photos``,
``n`` crops of the two photos; resized to 32x32 when the pipeline outputs CIFAR-sized images)
or its 8x8 digits (``source=digits``, the default for ``transforms=digits*``). On photos a box
around the centre object is passed along as a target and drawn (``boxes=false`` to skip).

``resampler=<name>`` composes ``configs/resampler/<name>.yaml`` and calls
:func:`torchaug.resampling.plot.save_resampling_scatter` on an imbalanced three-class subset
of the digits features.

Keys of the chosen config are overridden Hydra-style: ``transforms.p=1.0``, ``transforms.model=<checkpoint>``
(``transforms=style_augment`` needs the path of a trained AdaIN checkpoint, e.g. from ``+recipe=style_train``).

Other arguments: ``out=`` (default ``preview_<name>.png``), ``n=`` rows, ``draws=`` columns,
``seed=``, ``size=`` (photo side in pixels, default 256). Matplotlib's Agg backend; no display.

The gallery of every registered transform (``docs/gallery.md`` and one small JPEG per transform
in ``docs/img/gallery/``, registry-driven, so new transforms appear by themselves)::

    python -m torchaug.preview --gallery docs
    python -m torchaug.preview --gallery docs --only Blur,MotionBlur   # a few (the page lists only them)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["main", "preview_transforms", "preview_views", "preview_resampler", "render_gallery", "sample_photos", "sample_digits", "load_config"]

_KEYS = {"transforms", "resampler", "out", "n", "draws", "seed", "source", "size", "boxes"}


def _config_dir() -> Path:
    try:
        from torchaug._paths import config_dir

        return config_dir()
    except ImportError:  # pragma: no cover - the lead's helper is missing
        return Path(__file__).resolve().parent.parent / "configs"


def load_config(group: str, name: str, *, seed: int = 0, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """Compose ``configs/<group>/<name>.yaml`` with Hydra (plus ``overrides`` such as ``"transforms.p=1.0"``)
    and instantiate it (None for null)."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from omegaconf import DictConfig, OmegaConf

    cdir = _config_dir()
    if not (cdir / group / f"{name}.yaml").is_file():
        options = sorted(p.stem for p in (cdir / group).glob("*.yaml"))
        raise ValueError(f"preview: {group} must be one of {options}; got {name!r}")
    with initialize_config_dir(str(cdir), version_base=None):
        cfg = compose(overrides=[f"+{group}={name}", f"+seed={seed}", *overrides])
    node = cfg.get(group)
    missing = sorted(OmegaConf.missing_keys(node)) if isinstance(node, DictConfig) else []  # full paths
    if missing:
        raise ValueError(f"preview: {group}={name} needs {', '.join(f'{k}=<value>' for k in missing)}")
    if node is None or (hasattr(node, "__len__") and len(node) == 0):
        return None
    return instantiate(node)


def sample_photos(n: int = 2, size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` square uint8 crops ``(n, 3, size, size)`` of scikit-learn's two sample photos and
    one xyxy box per image ``(n, 1, 4)`` around its centre object."""
    import torch.nn.functional as F
    from sklearn.datasets import load_sample_images

    photos = [torch.from_numpy(np.array(im)).permute(2, 0, 1) for im in load_sample_images().images]
    # (offset along the long side, as a fraction) and a box (fractions of the square) per photo
    crops = [(0.5, (0.02, 0.05, 0.55, 0.92)), (0.35, (0.2, 0.15, 0.85, 0.82)), (0.15, (0.2, 0.15, 0.8, 0.95)), (0.75, (0.3, 0.1, 0.9, 0.7))]
    imgs, boxes = [], []
    for i in range(n):
        photo = photos[i % len(photos)]
        frac, box = crops[i % len(crops)]
        h, w = photo.shape[-2:]
        side = min(h, w)
        left = int((w - side) * frac)
        sq = photo[:, :side, left : left + side].unsqueeze(0).float()
        imgs.append(F.interpolate(sq, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0])
        boxes.append(torch.tensor([box]) * size)
    x = torch.stack(imgs).round().clamp(0, 255).to(torch.uint8)
    return x, torch.stack(boxes).float()


def sample_digits(n: int = 4) -> torch.Tensor:
    """``n`` of scikit-learn's 8x8 digits as uint8 ``(n, 1, 8, 8)`` in [0, 255]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images[:n] * (255.0 / 16.0)).round().to(torch.uint8)
    return x.unsqueeze(1)


def _draw_grid(columns: list[torch.Tensor], boxes: list[torch.Tensor | None], path: Path, title: str) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    rows, cols = columns[0].shape[0], len(columns)
    fig = Figure(figsize=(1.9 * cols, 1.9 * rows + 0.4))
    FigureCanvasAgg(fig)
    for c, (imgs, bxs) in enumerate(zip(columns, boxes)):
        for r in range(rows):
            ax = fig.add_subplot(rows, cols, r * cols + c + 1)
            img = imgs[r]
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
            if bxs is not None:
                for b in bxs[r]:
                    x0, y0, x1, y1 = (float(v) for v in b)
                    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="yellow", linewidth=1.2))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("original" if c == 0 else f"draw {c}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def preview_transforms(
    transform: Any, path: str | Path, *, source: str = "photos", n: int = 3, draws: int = 5, seed: int = 0,
    size: int = 256, boxes: bool = True, title: str = "",
) -> Path:
    """Draw the grid for an instantiated transform (``None`` = identity) and save it to ``path``."""
    path = Path(path)
    g = torch.Generator().manual_seed(seed)
    if source == "digits":
        x, bx = sample_digits(n), None
    elif source == "photos":
        x, bx = sample_photos(n, size)
    else:
        raise ValueError(f"preview: source must be 'photos' or 'digits'; got {source!r}")
    use_boxes = boxes and bx is not None

    def run(inp: torch.Tensor, b: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if transform is None:
            return inp, b
        if b is not None:
            try:
                out = transform({"image": inp, "boxes": b}, generator=g)
                return out["image"], out["boxes"]
            except TypeError:  # a callable that takes images only
                pass
        try:
            return transform(inp, generator=g), None
        except TypeError:
            return transform(inp), None

    probe, _ = run(x, None)
    if source == "photos" and probe.shape[-1] < 64 <= size:  # a CIFAR pipeline: show CIFAR-sized images
        x, bx = sample_photos(n, int(probe.shape[-1]))
    columns, cboxes = [x], [bx if use_boxes else None]
    g.manual_seed(seed)
    for _ in range(draws):
        out, ob = run(x, bx if use_boxes else None)
        columns.append(out.detach().cpu())
        cboxes.append(ob if use_boxes else None)
    if any(c.shape[-2:] != columns[1].shape[-2:] for c in columns[1:]):
        raise ValueError("preview: the pipeline must give one output size")
    return _draw_grid(columns, cboxes, path, title)


def preview_views(
    multiview: Any, path: str | Path, *, n: int = 2, seed: int = 0, size: int = 256, title: str = "",
) -> Path:
    """The views of a :class:`~torchaug.transforms.MultiView` (e.g. ``configs/transforms/dino_views.yaml``)
    as a grid: one row per photo, the original then every view (each drawn at its own output size)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    x, _ = sample_photos(n, size)
    views = multiview(x, generator=torch.Generator().manual_seed(seed))
    columns = [x, *(v.detach().cpu() for v in views)]
    names = ["original"] + [f"view {i + 1} ({v.shape[-1]}px)" for i, v in enumerate(views)]
    fig = Figure(figsize=(1.6 * len(columns), 1.6 * n + 0.4))
    FigureCanvasAgg(fig)
    for c, imgs in enumerate(columns):
        for r in range(n):
            ax = fig.add_subplot(n, len(columns), r * len(columns) + c + 1)
            img = imgs[r]
            if img.is_floating_point():
                img = (img.clamp(0, 1) * 255).round().to(torch.uint8)
            ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(names[c], fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    return path


def preview_resampler(resampler: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Scatter of a resampler's output on an imbalanced digits subset (classes 0, 1, 2 kept at
    100%, 30% and 15%)."""
    from sklearn.datasets import load_digits

    from torchaug.resampling.plot import save_resampling_scatter

    d = load_digits()
    rng = np.random.default_rng(0)
    keep = np.zeros(len(d.target), dtype=bool)
    for cls, frac in ((0, 1.0), (1, 0.3), (2, 0.15)):
        idx = np.flatnonzero(d.target == cls)
        keep[rng.choice(idx, size=max(6, int(len(idx) * frac)), replace=False)] = True
    X, y = d.data[keep].astype(np.float32), d.target[keep]
    return Path(save_resampling_scatter(resampler, X, y, path, title=title))


def _first_doc_line(obj: Any) -> str:
    doc = (type(obj).__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split())


def _display(out: torch.Tensor, cell: int) -> torch.Tensor:
    """An output batch as uint8 RGB ``(n, 3, cell, cell)`` for the picture: floats outside [0, 1]
    (Normalize) are min-max rescaled per image, grey expanded, other sizes resized (nearest)."""
    import torch.nn.functional as F

    o = out.detach().cpu()
    if o.dtype != torch.uint8:
        o = o.float()
        lo, hi = o.amin(dim=(1, 2, 3), keepdim=True), o.amax(dim=(1, 2, 3), keepdim=True)
        outside = (lo < 0) | (hi > 1)
        o = torch.where(outside, (o - lo) / (hi - lo).clamp_min(1e-6), o)
        o = (o.clamp(0, 1) * 255).round().to(torch.uint8)
    if o.shape[1] == 1:
        o = o.expand(-1, 3, -1, -1)
    elif o.shape[1] != 3:
        o = o[:, :3]
    if o.shape[-2:] != (cell, cell):
        o = F.interpolate(o.float(), size=(cell, cell), mode="nearest").round().to(torch.uint8)
    return o


def _gallery_grid(columns: list[torch.Tensor], gap: int = 2) -> torch.Tensor:
    """Cells ``(n, 3, s, s)`` per column -> one uint8 ``(3, H, W)`` picture on a white background."""
    n, _, s, _ = columns[0].shape
    cols = len(columns)
    grid = torch.full((3, n * s + (n - 1) * gap, cols * s + (cols - 1) * gap), 255, dtype=torch.uint8)
    for c, col in enumerate(columns):
        for r in range(n):
            grid[:, r * (s + gap) : r * (s + gap) + s, c * (s + gap) : c * (s + gap) + s] = col[r]
    return grid


def render_gallery(
    out_dir: str | Path = "docs",
    *,
    names: list[str] | None = None,
    n: int = 2,
    draws: int = 3,
    size: int = 96,
    seed: int = 0,
    quality: int = 80,
) -> Path:
    """Render one small JPEG per registered transform into ``<out_dir>/img/gallery/<Name>.jpg``
    (``n`` sample photos as rows, the original then ``draws`` calls as columns, ``size`` pixels a
    cell) and write ``<out_dir>/gallery.md`` linking them. Returns the markdown path.

    Registry-driven: every ``registry.register("transform", example=...)`` entry is drawn with its
    registered example (``p`` set to 1 so every draw shows the op), in name order; ``names``
    restricts it to some. A transform that cannot run on the photos is listed with its error.
    """
    import copy

    from PIL import Image

    from torchaug import registry

    registry.load_all()
    entries = registry.registered("transform")
    if names is not None:
        known = {e.name: e for e in entries}
        missing = sorted(set(names) - set(known))
        if missing:
            raise ValueError(f"render_gallery: names must be registered transforms; unknown: {missing}")
        entries = [known[k] for k in names]
    out_dir = Path(out_dir)
    img_dir = out_dir / "img" / "gallery"
    img_dir.mkdir(parents=True, exist_ok=True)
    x, _ = sample_photos(n, size)
    lines = [
        "# Gallery: every registered transform",
        "",
        "Made by `python -m torchaug.preview --gallery docs` from scikit-learn's two sample photos "
        f"({size}x{size} crops). Each picture: the original on the left, then {draws} draws of the "
        "registered example (the one the contract tests use) with `p=1`; each row is one photo, each "
        "draw is one call on the batch, so each cell shows its sample's own parameters.",
        "",
    ]
    failed: list[str] = []
    index: list[str] = []
    body: list[str] = []
    small, _ = sample_photos(n, 16)

    def draw(t: Any, imgs: torch.Tensor) -> list[torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        cols = [_display(imgs, size)]
        for _ in range(draws):
            try:
                out = t(imgs.clone(), generator=g)
            except TypeError:
                out = t(imgs.clone())
            cols.append(_display(out, size))
        return cols

    for e in entries:
        try:
            torch.manual_seed(seed)
            t = copy.deepcopy(e.example())
            if isinstance(getattr(t, "p", None), float):
                t.p = 1.0
            try:
                cols = draw(t, x)
            except (ValueError, RuntimeError):  # an example sized for the 16x16 contract images
                cols = draw(t, small)
        except Exception as err:  # noqa: BLE001 - listed on the page, not hidden
            failed.append(f"- `{e.name}`: not rendered ({type(err).__name__}: {err})")
            continue
        grid = _gallery_grid(cols)
        path = img_dir / f"{e.name}.jpg"
        Image.fromarray(grid.permute(1, 2, 0).numpy()).save(path, quality=quality, optimize=True)
        anchor = e.name.lower()
        index.append(f"[{e.name}](#{anchor})")
        rel = path.relative_to(out_dir).as_posix()
        body += [f"### {e.name}", "", f"`{type(t).__name__}({t.extra_repr()})`" if hasattr(t, "extra_repr") else "",
                 "", _first_doc_line(t), "", f"![{e.name}]({rel})", ""]
    lines += [" · ".join(index), "", *body]
    if failed:
        lines += ["## Not rendered", "", *failed, ""]
    md = out_dir / "gallery.md"
    md.write_text("\n".join(lines))
    return md


def _gallery_main(argv: list[str]) -> Path:
    out = "docs"
    only: list[str] | None = None
    it = iter(argv)
    for a in it:
        if a == "--gallery":
            out = next(it, "docs")
        elif a.startswith("--gallery="):
            out = a.split("=", 1)[1]
        elif a == "--only":
            only = [s for s in next(it, "").split(",") if s]
        elif a.startswith("--only="):
            only = [s for s in a.split("=", 1)[1].split(",") if s]
        else:
            raise SystemExit(f"preview: --gallery takes [DIR] [--only A,B]; got {a!r}")
    md = render_gallery(out, names=only)
    print(f"wrote {md}")
    return md


def _parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """``(arguments, Hydra overrides)``: ``transforms.KEY=V`` / ``resampler.KEY=V`` go to the config."""
    args: dict[str, str] = {}
    overrides: list[str] = []
    for a in argv:
        if "=" not in a:
            raise SystemExit(f"preview: arguments are key=value ({', '.join(sorted(_KEYS))}); got {a!r}\n\n{__doc__}")
        k, v = a.split("=", 1)
        k = k.lstrip("+")
        if k.split(".", 1)[0] in ("transforms", "resampler") and "." in k:
            overrides.append(a)
            continue
        if k not in _KEYS:
            raise SystemExit(f"preview: unknown argument {k!r}; expected one of {sorted(_KEYS)}")
        args[k] = v
    if ("transforms" in args) == ("resampler" in args):
        raise SystemExit(f"preview: give exactly one of transforms=<config> or resampler=<config>\n\n{__doc__}")
    group = "transforms" if "transforms" in args else "resampler"
    stray = [o for o in overrides if o.lstrip("+").split(".", 1)[0] != group]
    if stray:
        raise SystemExit(f"preview: overrides must be for the chosen group {group}.KEY=VALUE; got {stray}")
    return args, overrides


def main(argv: list[str] | None = None) -> Path:
    """Command line entry point (``python -m torchaug.preview key=value ...``); returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a == "--gallery" or a.startswith("--gallery=") for a in argv):
        return _gallery_main(argv)
    args, overrides = _parse(argv)
    seed = int(args.get("seed", 0))
    if "resampler" in args:
        name = args["resampler"]
        sampler = load_config("resampler", name, seed=seed, overrides=overrides)
        if sampler is None:
            raise SystemExit(f"preview: resampler={name} is empty; nothing to draw")
        out = preview_resampler(sampler, args.get("out", f"preview_{name}.png"), title=f"resampler={name}")
    else:
        name = args["transforms"]
        t = load_config("transforms", name, seed=seed, overrides=overrides)
        source = args.get("source", "digits" if name.startswith("digits") else "photos")
        from torchaug.transforms.views import MultiView

        if isinstance(t, MultiView):  # a list of batches: one column per view
            out = preview_views(t, args.get("out", f"preview_{name}.png"), n=int(args.get("n", 2)), seed=seed,
                                size=int(args.get("size", 256)), title=f"transforms={name}")
            print(f"wrote {out}")
            return out
        out = preview_transforms(
            t, args.get("out", f"preview_{name}.png"), source=source, n=int(args.get("n", 3)),
            draws=int(args.get("draws", 5)), seed=seed, size=int(args.get("size", 256)),
            boxes=args.get("boxes", "true").lower() in ("1", "true", "yes"), title=f"transforms={name}",
        )
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
