"""Datasets and datamodules (Lightning)."""

from torchaug.data.base import ClassificationDataModule, TensorPairDataset
from torchaug.data.datasets import CIFAR10DataModule, DigitsDataModule, ImageFolderDataModule, TabularDataModule

__all__ = ["CIFAR10DataModule", "ClassificationDataModule", "DigitsDataModule", "ImageFolderDataModule",
           "TabularDataModule", "TensorPairDataset"]
