"""Stateless batched kernels: ``(x, per-sample parameter tensors) -> x``. No randomness."""

from torchaug.functional.color import *  # noqa: F401,F403
from torchaug.functional.color import __all__ as _color
from torchaug.functional.geometry import *  # noqa: F401,F403
from torchaug.functional.geometry import __all__ as _geometry
from torchaug.functional.noise import *  # noqa: F401,F403
from torchaug.functional.noise import __all__ as _noise
from torchaug.functional.dropout import *  # noqa: F401,F403
from torchaug.functional.dropout import __all__ as _dropout
from torchaug.functional.tone import *  # noqa: F401,F403
from torchaug.functional.tone import __all__ as _tone

__all__ = [*_color, *_geometry, *_noise, *_dropout, *_tone]
