"""Wide ResNet (Zagoruyko & Komodakis, BMVC 2016, "Wide Residual Networks"), the CIFAR variant.

``WRN-depth-k``: a 3x3 stem of 16 channels, three groups of ``(depth - 4) / 6`` pre-activation
basic blocks of ``16k, 32k, 64k`` channels (strides 1, 2, 2), BN-ReLU, global average pooling and
a linear classifier. WRN-40-2 (``depth=40, widen_factor=2``, 2.2 M parameters at 10 classes) is the
network of the AugMix paper's CIFAR experiments (Hendrycks et al., ICLR 2020, Table 1).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn


class WideBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 with an identity or 1x1-conv shortcut."""

    def __init__(self, cin: int, cout: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.dropout = dropout
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = F.relu(self.bn2(self.conv1(out)))
        if self.dropout:
            out = F.dropout(out, p=self.dropout, training=self.training)
        return self.conv2(out) + shortcut


class WideResNet(nn.Module):
    """``(B, C, H, W) -> (B, num_classes)``; groups named ``layer1``..``layer3`` (hooks can name them).

    ``depth`` must be ``6 n + 4`` (40 for WRN-40-2); ``widen_factor`` ``k``; ``dropout`` between
    the convolutions of each block (0 in the AugMix paper). He-normal conv init, BN weight 1, linear bias 0.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, depth: int = 40, widen_factor: int = 2,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise ValueError(f"WideResNet: depth must be 6 n + 4 with n >= 1 (e.g. 16, 28, 40); got {depth!r}")
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, int) or widen_factor < 1:
            raise ValueError(f"WideResNet: widen_factor must be an int >= 1; got {widen_factor!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"WideResNet: dropout must lie in [0, 1); got {dropout!r}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        groups, cin = [], widths[0]
        for i, w in enumerate(widths[1:]):
            blocks = [WideBasicBlock(cin if j == 0 else w, w, (1 if i == 0 else 2) if j == 0 else 1, float(dropout))
                      for j in range(n)]
            groups.append(nn.Sequential(*blocks))
            cin = w
        self.layer1, self.layer2, self.layer3 = groups
        self.bn = nn.BatchNorm2d(cin)
        self.linear = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        out = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        out = F.relu(self.bn(out))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))
