"""Datasets and datamodules (Lightning)."""

from torchaug.data.base import ClassificationDataModule, TensorPairDataset
from torchaug.data.datasets import CIFAR10DataModule, DigitsDataModule, ImageFolderDataModule, TabularDataModule
from torchaug.data.shards import ShardDataModule, ShardDataset, write_shards
from torchaug.data.stream import ImageFileDataset, ImageFolderStreamDataModule, build_index
from torchaug.mixing.collate import AugmentCollate

__all__ = ["AugmentCollate", "CIFAR10DataModule", "ClassificationDataModule", "DigitsDataModule", "ImageFileDataset",
           "ImageFolderDataModule", "ImageFolderStreamDataModule", "ShardDataModule", "ShardDataset", "TabularDataModule",
           "TensorPairDataset", "build_index", "write_shards"]
