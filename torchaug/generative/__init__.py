"""Learned generators for augmentation: VAE, DCGAN, latent-space augmentation, synthetic data sets,
style transfer (AdaIN, Gatys, StyleAugment) and neural augmentation (Perez & Wang 2017).

Importing this package imports Lightning (the generators are LightningModules).
"""

from torchaug.generative._nets import SUPPORTED_SIZES, load_generator
from torchaug.generative.dcgan import DCGAN
from torchaug.generative.latent import VAECodec, latent_augment, latent_smote
from torchaug.generative.neural_augment import NeuralAugment, same_class_partner
from torchaug.generative.adain import AdaINStyleTransfer, adain, calc_mean_std
from torchaug.generative.gatys import gatys_transfer, gram_matrix
from torchaug.generative.style import StyleAugment
from torchaug.generative.synthetic import SyntheticAugmentedDataModule, SyntheticDataset, synthetic_counts
from torchaug.generative.vae import VAE

__all__ = [
    "AdaINStyleTransfer",
    "DCGAN",
    "NeuralAugment",
    "StyleAugment",
    "adain",
    "calc_mean_std",
    "gatys_transfer",
    "gram_matrix",
    "same_class_partner",
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
