"""Learned generators for augmentation: VAE, DCGAN, latent-space augmentation, synthetic data sets.

Importing this package imports Lightning (the generators are LightningModules).
"""

from torchaug.generative._nets import SUPPORTED_SIZES, load_generator
from torchaug.generative.dcgan import DCGAN
from torchaug.generative.latent import VAECodec, latent_augment, latent_smote
from torchaug.generative.synthetic import SyntheticAugmentedDataModule, SyntheticDataset, synthetic_counts
from torchaug.generative.vae import VAE

__all__ = [
    "DCGAN",
    "SUPPORTED_SIZES",
    "SyntheticAugmentedDataModule",
    "SyntheticDataset",
    "VAE",
    "VAECodec",
    "latent_augment",
    "latent_smote",
    "load_generator",
    "synthetic_counts",
]
