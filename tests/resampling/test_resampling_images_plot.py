"""Image resampling (pixels and a codec's latent space), the scatter picture, configs, import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from torchaug.resampling import SMOTE, Codec, RandomOverSampler, resample_images, save_resampling_scatter

ROOT = Path(__file__).resolve().parents[2]


def _images(n=(30, 8), seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (sum(n), 1, 6, 6), generator=g, dtype=torch.uint8)
    y = torch.cat([torch.full((m,), i, dtype=torch.long) for i, m in enumerate(n)])
    return x, y


def test_resample_images_pixels_uint8():
    x, y = _images()
    s = SMOTE(k_neighbors=3, random_state=0)
    xr, yr = resample_images(s, x, y)
    assert xr.dtype == torch.uint8 and xr.shape == (60, 1, 6, 6) and yr.dtype == torch.int64
    assert torch.equal(xr[:38], x) and torch.equal(yr[:38], y)
    assert torch.equal(torch.bincount(yr), torch.tensor([30, 30]))
    # each synthetic image is the SMOTE point rounded to the nearest grey level
    a = x[s.sources_].reshape(22, -1).double()
    b = x[s.neighbors_].reshape(22, -1).double()
    p = xr[38:].reshape(22, -1).double()
    v = b - a
    grid = torch.linspace(0, 1, 4001, dtype=torch.float64)[:, None, None]
    dev = (a + grid * v - p).abs().amax(-1).amin(0)  # best u on a fine grid, worst pixel
    assert (dev <= 0.5 + 1e-3 * v.abs().amax(1)).all()
    assert not torch.equal(p, a)


def test_resample_images_float():
    x, y = _images()
    xf = x.float() / 255
    xr, yr = resample_images(RandomOverSampler(random_state=0), xf, y)
    assert xr.dtype == torch.float32 and xr.shape[0] == 60 and float(xr.min()) >= 0 and float(xr.max()) <= 1


class PCACodec:
    """A tiny linear codec: the top principal directions of the training images."""

    def __init__(self, x01: torch.Tensor, dim: int) -> None:
        flat = x01.reshape(len(x01), -1).double()
        self.mean = flat.mean(0)
        self.shape = x01.shape[1:]
        _, _, v = torch.linalg.svd(flat - self.mean, full_matrices=False)
        self.V = v[:dim].T  # (D_pixels, dim)
        self.encoded = 0

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self.encoded += len(x)
        return ((x.reshape(len(x), -1).double() - self.mean) @ self.V).float()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return (z.double() @ self.V.T + self.mean).reshape(-1, *self.shape).float().clamp(0, 1)


def test_resample_images_in_codec_space():
    x, y = _images()
    codec = PCACodec(x.float() / 255, dim=5)
    assert isinstance(codec, Codec)
    s = SMOTE(k_neighbors=3, random_state=0)
    xr, yr = resample_images(s, x, y, codec=codec, batch_size=16)
    assert codec.encoded == 38  # encoded in batches of 16
    assert xr.dtype == torch.uint8 and xr.shape == (60, 1, 6, 6) and torch.equal(xr[:38], x)
    # synthetic images are decoded interpolations of latent codes: in the codec's affine subspace
    new = xr[38:].double() / 255
    back = codec.decode(codec.encode(new.float())).double()
    assert (back - new).abs().max() < 0.02  # only uint8 quantisation and clamping move them off it
    z = codec.encode(x.float() / 255)
    zn = codec.encode(new.float())
    a, b = z[s.sources_], z[s.neighbors_]
    v = b - a
    u = ((zn - a) * v).sum(1) / (v * v).sum(1)
    assert ((u > -0.05) & (u < 1.05)).all()


def test_resample_images_bad_inputs():
    x, y = _images()
    with pytest.raises(TypeError, match="resample_images: sampler"):
        resample_images(object(), x, y)
    with pytest.raises(ValueError, match="resample_images: labels"):
        resample_images(SMOTE(), x, y[:-1])
    with pytest.raises(TypeError, match="resample_images: codec"):
        resample_images(SMOTE(), x, y, codec=object())
    with pytest.raises(ValueError, match="resample_images: images"):
        resample_images(SMOTE(), x[:, 0, 0], y)


def test_scatter_png(tmp_path):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (80, 5)), rng.normal(2, 1, (15, 5))]).astype(np.float32)
    y = np.r_[np.zeros(80, int), np.ones(15, int)]
    out = save_resampling_scatter(SMOTE(random_state=0), X, y, tmp_path / "sub" / "smote.png")
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 2000
    out2 = save_resampling_scatter(SMOTE(random_state=0), torch.from_numpy(X[:, :1]), torch.from_numpy(y),
                                   tmp_path / "one_feature.png")
    assert out2.exists()


def test_import_does_not_pull_heavy_modules():
    code = (
        "import sys, torchaug.resampling; "
        "bad = [m for m in ('imblearn', 'lightning', 'hydra', 'matplotlib', 'pytorch_lightning') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(
    "name, cls, kw",
    [
        ("smote", "SMOTE", {"k_neighbors": 5}),
        ("borderline_smote", "BorderlineSMOTE", {"m_neighbors": 10, "kind": "borderline-1"}),
        ("adasyn", "ADASYN", {"n_neighbors": 5}),
        ("random_oversampler", "RandomOverSampler", {"shrinkage": None}),
    ],
)
def test_configs_instantiate(name, cls, kw):
    hydra_utils = pytest.importorskip("hydra.utils")
    from omegaconf import OmegaConf

    cfg = OmegaConf.merge({"seed": 3}, {"resampler": OmegaConf.load(ROOT / "configs" / "resampler" / f"{name}.yaml")})
    obj = hydra_utils.instantiate(cfg.resampler)
    assert type(obj).__name__ == cls and obj.random_state == 3
    assert all(obj.get_params()[k] == v for k, v in kw.items())
    X = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    y = np.r_[np.zeros(40, int), np.ones(20, int)]
    Xr, yr = obj.fit_resample(X, y)
    assert len(Xr) >= 60


def test_none_config_is_null():
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(ROOT / "configs" / "resampler" / "none.yaml")
    assert "resampler" in cfg and cfg.resampler is None
