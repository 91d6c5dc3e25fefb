"""Lightning integration: ``ClassifierModule``, callbacks and the run builder."""

from torchaug.lightning.module import ClassifierModule

__all__ = ["ClassifierModule"]
