"""Stateless batched kernels: ``(x, per-sample parameter tensors) -> x``. No randomness."""

from torchaug.functional.color import *  # noqa: F401,F403
from torchaug.functional.color import __all__ as _color
from torchaug.functional.geometry import *  # noqa: F401,F403
from torchaug.functional.geometry import __all__ as _geometry
from torchaug.functional.noise import *  # noqa: F401,F403
from torchaug.functional.noise import __all__ as _noise

__all__ = [*_color, *_geometry, *_noise]
