"""Batch mixers (MixUp, CutMix, SamplePairing), soft targets and the collate wrapper (torch only)."""

from torchaug.mixing.targets import mix_targets, one_hot

__all__ = ["mix_targets", "one_hot"]
