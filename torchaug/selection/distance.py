"""Distance baseline: keep synthetic samples close to the real samples of their class.

For each class, the distance of a synthetic sample to its k-th nearest real sample of the class
(exact kNN, :func:`torchaug.resampling.knn`) is compared with the real-to-real k-th-neighbour
distances of that class (self excluded): a sample is kept if its distance is at most their
``quantile``. Its score is the share of real samples whose k-th-neighbour distance is at least the
sample's distance (1 = deep inside the class, 0 = farther out than every real sample).
"""

from __future__ import annotations

import torch

from torchaug._validation import check_number
from torchaug.registry import register
from torchaug.resampling import knn
from torchaug.selection._base import BaseSelector, check_threshold


@register("selector", example=lambda: DistanceFilter(k=3))
class DistanceFilter(BaseSelector):
    """Keep synthetic samples within the ``quantile`` of their class's real k-th-neighbour distances.

    Args:
        k: neighbour rank (clipped to the class's real count minus one, at least 1).
        quantile: in [0, 1]; 0.95 keeps samples no farther out than 95% of the real samples are.
        keep_fraction: if set, keep instead the closest ``keep_fraction`` of each class.
        device: where the real data and the kNN search live.

    Deterministic (no randomness); ``random_state`` is accepted for a uniform API and unused.
    """

    def __init__(self, k: int = 5, quantile: float = 0.95, keep_fraction: float | None = None,
                 random_state: int | None = None, device: str | torch.device | None = None) -> None:
        owner = type(self).__name__
        super().__init__(keep_fraction=keep_fraction, random_state=random_state, device=device)
        self.k = int(check_number(k, owner=owner, name="k", low=1, integer=True))
        self.quantile = check_threshold(quantile, owner, "quantile")

    def _fit(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.real_kth_: dict[int, torch.Tensor] = {}
        self.radius_: dict[int, float] = {}
        for c in self.classes_:
            Xc = X[y == c]
            if Xc.shape[0] < 2:
                d = torch.zeros(1, dtype=torch.float64, device=X.device)
            else:
                k = min(self.k, Xc.shape[0] - 1)
                d = knn(Xc, k)[0][:, k - 1].double().contiguous()
            self.real_kth_[int(c)] = torch.sort(d).values
            self.radius_[int(c)] = float(torch.quantile(d, self.quantile))

    def _score_class(self, c: int, X_c: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.X_real_[self.y_real_ == c]
        k = min(self.k, real.shape[0])
        d = knn(X_c.to(real.dtype), k, Y=real)[0][:, k - 1].double().contiguous()
        ref = self.real_kth_[int(c)]
        below = torch.searchsorted(ref, d, right=False)  # real distances strictly below d
        score = 1.0 - below.double() / ref.numel()
        return score, d <= self.radius_[int(c)]
