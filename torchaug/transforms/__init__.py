"""Random per-sample image transforms over ``(B, C, H, W)`` batches (needs torch alone)."""

from torchaug.transforms._base import Params, RandomTransform
from torchaug.transforms.color import *  # noqa: F401,F403
from torchaug.transforms.color import __all__ as _color
from torchaug.transforms.containers import *  # noqa: F401,F403
from torchaug.transforms.containers import __all__ as _containers
from torchaug.transforms.geometry import *  # noqa: F401,F403
from torchaug.transforms.geometry import __all__ as _geometry
from torchaug.transforms.noise import *  # noqa: F401,F403
from torchaug.transforms.noise import __all__ as _noise
from torchaug.transforms.occlusion import *  # noqa: F401,F403
from torchaug.transforms.occlusion import __all__ as _occlusion
from torchaug.transforms.policies import *  # noqa: F401,F403
from torchaug.transforms.policies import __all__ as _policies
from torchaug.transforms.blur import *  # noqa: F401,F403
from torchaug.transforms.blur import __all__ as _blur
from torchaug.transforms.filters import *  # noqa: F401,F403
from torchaug.transforms.filters import __all__ as _filters
from torchaug.transforms.pixel_noise import *  # noqa: F401,F403
from torchaug.transforms.pixel_noise import __all__ as _pixel_noise
from torchaug.transforms.quality import *  # noqa: F401,F403
from torchaug.transforms.quality import __all__ as _quality
from torchaug.transforms.dropout import *  # noqa: F401,F403
from torchaug.transforms.dropout import __all__ as _dropout
from torchaug.transforms.tone import *  # noqa: F401,F403
from torchaug.transforms.tone import __all__ as _tone
from torchaug.transforms.weather import *  # noqa: F401,F403
from torchaug.transforms.weather import __all__ as _weather
from torchaug.transforms.distortion import *  # noqa: F401,F403
from torchaug.transforms.distortion import __all__ as _distortion
from torchaug.transforms.dihedral import *  # noqa: F401,F403
from torchaug.transforms.dihedral import __all__ as _dihedral
from torchaug.transforms.resize import *  # noqa: F401,F403
from torchaug.transforms.resize import __all__ as _resize
from torchaug.transforms.detection import *  # noqa: F401,F403
from torchaug.transforms.detection import __all__ as _detection
from torchaug.transforms.targets import boxes_valid
from torchaug.transforms.augmix import *  # noqa: F401,F403
from torchaug.transforms.augmix import __all__ as _augmix
from torchaug.transforms.timm_policies import *  # noqa: F401,F403
from torchaug.transforms.timm_policies import __all__ as _timm_policies
from torchaug.transforms.views import MultiView
from torchaug.transforms.style import *  # noqa: F401,F403
from torchaug.transforms.style import __all__ as _style

__all__ = ["Params", "RandomTransform", "boxes_valid", "MultiView", *_color, *_containers, *_geometry, *_noise, *_occlusion,
           *_policies, *_blur, *_filters, *_pixel_noise, *_quality, *_dropout, *_tone, *_weather, *_distortion, *_dihedral,
           *_resize, *_detection, *_augmix, *_timm_policies, *_style]
