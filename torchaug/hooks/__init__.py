"""Feature-space augmentation as forward hooks on named layers of any model (needs torch alone).

- :class:`MoEx`: Moment Exchange (Li et al., CVPR 2021) on one layer's feature map.
- :class:`ManifoldMixup`: mixes the hidden state of a random listed layer (Verma et al., ICML 2019).

Both attach at construction, act only in training mode, record the permutation ``π`` and
weight ``λ`` of the last forward (``hook.last_params``) and turn soft targets into
``λ·y + (1 − λ)·y[π]`` with ``hook.mix_targets(y)``; ``hook.remove()`` detaches them.
"""

from torchaug.hooks._base import FeatureHook
from torchaug.hooks.manifold_mixup import INPUT, ManifoldMixup
from torchaug.hooks.moex import NORMS, MoEx, feature_moments, moex

__all__ = ["INPUT", "NORMS", "FeatureHook", "ManifoldMixup", "MoEx", "feature_moments", "moex"]
