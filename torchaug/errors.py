"""Errors a user fixes in the configuration: one line naming the key and the fix.

``python -m torchaug.train`` prints a :class:`ConfigError` (and Hydra / OmegaConf composition
errors) as one line and exits with status 2; ``HYDRA_FULL_ERROR=1`` shows the full traceback.
Every other exception keeps its traceback.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration mistake. ``key`` is the dotted config key (``data.root``), ``fix`` what to do."""

    def __init__(self, key: str, problem: str, fix: str | None = None) -> None:
        self.key, self.problem, self.fix = key, problem, fix
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.key}: {self.problem}" if self.key else self.problem
        return f"{text} Fix: {self.fix}" if self.fix else text


class DataNotFoundError(ConfigError, FileNotFoundError):
    """The data a config points at is not there (and cannot be downloaded)."""


__all__ = ["ConfigError", "DataNotFoundError"]
