"""Datasets and datamodules (Lightning)."""

from torchaug.data.base import ClassificationDataModule, TensorPairDataset
from torchaug.data.datasets import CIFAR10DataModule, DigitsDataModule, ImageFolderDataModule, TabularDataModule
from torchaug.data.stream import ImageFileDataset, ImageFolderStreamDataModule, build_index
from torchaug.mixing.collate import AugmentCollate

__all__ = ["AugmentCollate", "CIFAR10DataModule", "ImageFileDataset", "ImageFolderStreamDataModule", "build_index", "ClassificationDataModule", "DigitsDataModule", "ImageFolderDataModule",
           "TabularDataModule", "TensorPairDataset"]
