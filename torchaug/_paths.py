"""Where the Hydra configs live: the source tree's ``configs/`` or the installed ``torchaug.conf``."""

from __future__ import annotations

from pathlib import Path


def config_dir() -> Path:
    """The primary Hydra config folder (holds ``train.yaml`` and the groups, ``recipe/`` included)."""
    source = Path(__file__).resolve().parent.parent / "configs"
    if (source / "train.yaml").is_file():
        return source
    from importlib.resources import files

    installed = Path(str(files("torchaug.conf")))
    if (installed / "train.yaml").is_file():
        return installed
    raise FileNotFoundError(f"torchaug: no Hydra configs found (looked in {source} and {installed})")
