"""Stateless batched kernels: ``(x, per-sample parameter tensors) -> x``. No randomness."""

from torchaug.functional.color import *  # noqa: F401,F403
from torchaug.functional.color import __all__ as _color
from torchaug.functional.geometry import *  # noqa: F401,F403
from torchaug.functional.geometry import __all__ as _geometry
from torchaug.functional.noise import *  # noqa: F401,F403
from torchaug.functional.noise import __all__ as _noise
from torchaug.functional.blur import *  # noqa: F401,F403
from torchaug.functional.blur import __all__ as _blur
from torchaug.functional.filters import *  # noqa: F401,F403
from torchaug.functional.filters import __all__ as _filters
from torchaug.functional.pixel_noise import *  # noqa: F401,F403
from torchaug.functional.pixel_noise import __all__ as _pixel_noise
from torchaug.functional.quality import *  # noqa: F401,F403
from torchaug.functional.quality import __all__ as _quality
from torchaug.functional.dropout import *  # noqa: F401,F403
from torchaug.functional.dropout import __all__ as _dropout
from torchaug.functional.tone import *  # noqa: F401,F403
from torchaug.functional.tone import __all__ as _tone
from torchaug.functional.moments import *  # noqa: F401,F403
from torchaug.functional.moments import __all__ as _moments

__all__ = [*_color, *_geometry, *_noise, *_blur, *_filters, *_pixel_noise, *_quality, *_dropout, *_tone, *_moments]
