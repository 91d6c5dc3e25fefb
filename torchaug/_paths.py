"""Where the Hydra configs live: the source tree's ``configs/`` or the installed ``torchaug/conf``."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def config_dir() -> Path:
    """The primary Hydra config folder (holds ``train.yaml`` and the groups, ``recipe/`` included)."""
    for candidate in (_PACKAGE.parent / "configs", _PACKAGE / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"torchaug: no Hydra configs in {_PACKAGE.parent / 'configs'} or {_PACKAGE / 'conf'}")
