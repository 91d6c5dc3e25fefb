"""Classifiers: a small CNN, PreAct ResNet-18 (as in the mixup paper) and an MLP."""

from torchaug.models.cnn import SmallCNN
from torchaug.models.mlp import MLP
from torchaug.models.preact_resnet import PreActResNet18
from torchaug.models.torchvision_models import torchvision_model
from torchaug.models.wide_resnet import WideResNet

__all__ = ["MLP", "PreActResNet18", "SmallCNN", "torchvision_model", "WideResNet"]
