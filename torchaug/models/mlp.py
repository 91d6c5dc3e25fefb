"""Multi-layer perceptron for tabular features or flattened images."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn


class MLP(nn.Module):
    """``(B, in_features)`` (or any ``(B, ...)``, flattened) ``-> (B, num_classes)``.

    Hidden blocks are Linear-BatchNorm-ReLU-Dropout.
    """

    def __init__(self, in_features: int, num_classes: int, hidden: Sequence[int] = (128, 128), dropout: float = 0.1) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        cin = in_features
        for h in hidden:
            layers += [nn.Linear(cin, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            cin = h
        layers.append(nn.Linear(cin, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
