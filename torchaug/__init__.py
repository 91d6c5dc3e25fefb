"""torchaug: PyTorch-native training-time data augmentation.

Subpackages are imported lazily: ``torchaug.transforms``, ``torchaug.mixing``,
``torchaug.resampling`` and ``torchaug.hooks`` need torch alone (no Lightning, no Hydra).
"""

from torchaug._devpath import accelerator_path
from torchaug._cpu.threads import cpu_threading, set_cpu_threading
from torchaug._cpu.malloc import keep_freed_memory
from torchaug._cpu.scratch import cpu_scratch_bytes, free_cpu_scratch
from torchaug._validation import set_value_checks, value_checks

__version__ = "0.1.0"
__all__ = ["__version__", "accelerator_path", "cpu_scratch_bytes", "cpu_threading", "free_cpu_scratch", "keep_freed_memory",
           "set_cpu_threading", "set_value_checks", "value_checks"]
