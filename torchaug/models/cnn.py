"""Small CNN for 8x8 digits and 32x32 images (fast on CPU)."""

from __future__ import annotations

from torch import Tensor, nn


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """Three conv stages and a linear head: ``(B, C, H, W) -> (B, num_classes)``, H, W >= 4.

    Submodules are named like a ResNet's (``stem``, ``layer1``..``layer3``, ``head``) so feature
    hooks address the same names on both: ``layer1`` keeps the input resolution, ``layer2`` and
    ``layer3`` halve it.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: int = 32, dropout: float = 0.0) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(*_conv_bn_relu(in_channels, w))
        self.layer1 = nn.Sequential(*_conv_bn_relu(w, w))
        self.layer2 = nn.Sequential(nn.MaxPool2d(2), *_conv_bn_relu(w, 2 * w), *_conv_bn_relu(2 * w, 2 * w))
        self.layer3 = nn.Sequential(nn.MaxPool2d(2), *_conv_bn_relu(2 * w, 4 * w))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(4 * w, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.layer3(self.layer2(self.layer1(self.stem(x)))))
