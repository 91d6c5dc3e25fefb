"""Write a small image-folder tree of JPEGs of mixed sizes from scikit-learn's two sample photos (offline).

For tests, demos and the loader benchmark: ``root/{train,test}/<class>/*.jpg``, each file a random
crop of one photo (class ``c`` draws from photo ``c % 2``, flipped for odd ``c // 2``) resized to
a random size: shorter side in ``short_side``, aspect (long / short) in ``aspect``, landscape or
portrait at random. The default sizes are ImageNet-like (shorter side 256-500, aspect 1-1.5).

``python -m torchaug.data.sample_tree ROOT --per-class 1000 --classes 2``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def write_sample_tree(
    root: str | Path,
    *,
    classes: int = 2,
    per_class: int = 8,
    test_per_class: int = 4,
    short_side: tuple[int, int] = (256, 500),
    aspect: tuple[float, float] = (1.0, 1.5),
    quality: int = 90,
    seed: int = 0,
) -> Path:
    """Write the tree and return ``root``. Deterministic for a ``seed``."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = [Image.fromarray(im) for im in load_sample_images().images]
    rng = np.random.default_rng(seed)
    root = Path(root)
    for split, n in (("train", per_class), ("test", test_per_class)):
        for c in range(classes):
            d = root / split / f"class{c:03d}"
            d.mkdir(parents=True, exist_ok=True)
            photo = photos[c % 2]
            if (c // 2) % 2:
                photo = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            pw, ph = photo.size
            for i in range(n):
                s = int(rng.integers(short_side[0], short_side[1] + 1))
                long_ = int(round(s * rng.uniform(*aspect)))
                w, h = (long_, s) if rng.random() < 0.75 else (s, long_)
                cw = int(rng.integers(pw // 3, pw + 1))
                ch = min(ph, max(8, int(round(cw * h / w))))
                x0 = int(rng.integers(0, pw - cw + 1))
                y0 = int(rng.integers(0, ph - ch + 1))
                im = photo.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.Resampling.BILINEAR)
                im.save(d / f"{split}_{c:03d}_{i:05d}.jpg", format="JPEG", quality=quality)
    return root


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root")
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--per-class", type=int, default=8)
    ap.add_argument("--test-per-class", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    write_sample_tree(a.root, classes=a.classes, per_class=a.per_class, test_per_class=a.test_per_class, seed=a.seed)
    print(a.root)


if __name__ == "__main__":
    main()
