"""Learned generators for augmentation: VAE, DCGAN, latent-space augmentation, synthetic data sets.

Importing this package imports Lightning (the generators are LightningModules).
"""

from torchaug.generative._nets import SUPPORTED_SIZES, load_generator
from torchaug.generative.dcgan import DCGAN
from torchaug.generative.vae import VAE

__all__ = ["DCGAN", "SUPPORTED_SIZES", "VAE", "load_generator"]
