"""Batch mixers (MixUp, CutMix, SamplePairing, MixUpCutMix), soft targets, the collate wrapper (torch only).

Every mixer is called as ``x_mixed, y_soft = mixer(x, y, generator=None)`` on a ``(B, C, H, W)``
uint8 or float batch with int64 ``(B,)`` or soft ``(B, K)`` labels, and can return the pairing
and λ it drew (``return_params=True``) so feature-space mixers compose with it.
"""

from torchaug.mixing._base import Mixer, mixing_stats, set_cpu_threads
from torchaug.mixing._params import MaskMixParams, MixCutParams, MixParams, MosaicParams
from torchaug.mixing._random import sample_beta, sample_pairing
from torchaug.mixing.collate import AugmentCollate, MixCollate
from torchaug.mixing.combined import MixUpCutMix
from torchaug.mixing.cutmix import CutMix
from torchaug.mixing.fmix import FMix
from torchaug.mixing.resizemix import ResizeMix
from torchaug.mixing.saliencymix import SaliencyMix
from torchaug.mixing.loss import JsdCrossEntropy, SoftTargetCrossEntropy
from torchaug.mixing.mixup import MixUp
from torchaug.mixing.mosaic import Mosaic
from torchaug.mixing.samplepairing import SamplePairing
from torchaug.mixing.targets import mix_targets, one_hot

__all__ = [
    "Mosaic",
    "AugmentCollate",
    "CutMix",
    "FMix",
    "JsdCrossEntropy",
    "MixCollate",
    "MixUp",
    "MixUpCutMix",
    "ResizeMix",
    "SaliencyMix",
    "Mixer",
    "MixParams",
    "MixCutParams",
    "MaskMixParams",
    "MosaicParams",
    "SamplePairing",
    "SoftTargetCrossEntropy",
    "mix_targets",
    "mixing_stats",
    "one_hot",
    "sample_beta",
    "sample_pairing",
    "set_cpu_threads",
]
