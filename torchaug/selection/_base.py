"""Shared machinery of the synthetic-sample selectors: input checks, per-class keep rules, classifiers.

Every selector follows one API:

- ``fit(X_real, y_real)``: learn what the real data of each class looks like;
- ``select(X_syn, y_syn) -> indices``: indices (ascending) of the synthetic rows to keep; afterwards
  ``scores_`` holds one score in [0, 1] per synthetic row (higher = more like a real member of its
  intended class) and ``per_class_`` maps each class to ``(kept, total)``.

``X`` is ``(n, d)`` features (numpy or torch, any device); ``y`` is ``(n,)`` integer labels. Returned
indices and scores are numpy arrays for numpy input and torch tensors on ``X_syn``'s device otherwise.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from torchaug._cpu.threads import cpu_threads
from torchaug._validation import check_choice, check_number, check_probability, describe

log = logging.getLogger("torchaug.selection")

CLASSIFIERS = ("logreg", "quadratic", "mlp", "cnn")


def as_features(X: Any, *, owner: str, name: str) -> tuple[torch.Tensor, bool]:
    """``(n, d)`` float tensor (float64 on CPU for numpy input) and whether the input was numpy."""
    is_np = isinstance(X, np.ndarray)
    if is_np:
        if not np.issubdtype(X.dtype, np.number):
            raise TypeError(f"{owner}: {name} must be a numeric (n, d) array; got {describe(X)}")
        X = torch.from_numpy(np.ascontiguousarray(X))
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{owner}: {name} must be a numpy array or torch tensor of shape (n, d); got {describe(X)}")
    if X.dim() != 2:
        raise ValueError(f"{owner}: {name} must have shape (n, d); got {describe(X)}")
    if X.dtype == torch.bool or X.is_complex():
        raise TypeError(f"{owner}: {name} must be real numbers; got {describe(X)}")
    if not X.is_floating_point():
        X = X.double()
    if not bool(torch.isfinite(X).all()):
        raise ValueError(f"{owner}: {name} must be finite (no NaN or inf)")
    return X, is_np


def as_labels(y: Any, n: int, device: torch.device, *, owner: str, name: str) -> torch.Tensor:
    if isinstance(y, np.ndarray):
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{owner}: {name} must hold integer class labels; got {describe(y)}")
        y = torch.from_numpy(np.ascontiguousarray(y))
    if isinstance(y, (list, tuple)):
        y = torch.as_tensor(y)
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{owner}: {name} must be a numpy array or torch tensor of shape (n,); got {describe(y)}")
    if y.is_floating_point() or y.dtype == torch.bool or y.is_complex():
        raise TypeError(f"{owner}: {name} must hold integer class labels; got {describe(y)}")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{owner}: {name} must have shape ({n},) to match the features; got {describe(y)}")
    return y.to(device=device, dtype=torch.long)


def check_seed(random_state: Any, *, owner: str) -> int | None:
    if random_state is None:
        return None
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(f"{owner}: random_state must be an int or None; got {describe(random_state)}")
    return int(random_state)


class _MLP(nn.Module):
    """Small torch MLP (one hidden ReLU layer) used as the selectors' ``"mlp"`` classifier."""

    __torchaug_public__ = False

    def __init__(self, d: int, k: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _CNN(nn.Module):
    """Small torch CNN on flattened images ``(N, C*H*W)`` (the selectors' ``"cnn"`` classifier)."""

    __torchaug_public__ = False

    def __init__(self, image_shape: tuple[int, ...], k: int, hidden: int) -> None:
        super().__init__()
        c = image_shape[0]
        self.net = nn.Sequential(
            nn.Unflatten(1, tuple(image_shape)),
            nn.Conv2d(c, hidden, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(hidden, k),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def check_image_shape(classifier: str, image_shape: Any, *, owner: str) -> tuple[int, ...] | None:
    """``image_shape`` ``(C, H, W)`` is required by (and only used for) the ``"cnn"`` classifier."""
    if image_shape is None:
        if classifier == "cnn":
            raise ValueError(f"{owner}: classifier='cnn' needs image_shape=(C, H, W) of the flattened features; got None")
        return None
    shape = tuple(image_shape)
    if len(shape) != 3 or not all(isinstance(v, int) and v > 0 for v in shape) or min(shape[1:]) < 2:
        raise ValueError(f"{owner}: image_shape must be (C, H, W) with positive ints and H, W >= 2; got {image_shape!r}")
    return shape


def fit_classifier(
    kind: str,
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    n_classes: int,
    *,
    seed: int,
    device: torch.device,
    sample_weight: torch.Tensor | None = None,
    hidden: int = 64,
    epochs: int = 300,
    C: float = 1.0,
    image_shape: tuple[int, ...] | None = None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Train a ``kind`` classifier on ``(X_train, y_train)`` (labels in ``[0, n_classes)``); returns
    ``predict_proba(X) -> (m, n_classes)`` float64 probabilities on ``device``.

    ``"logreg"`` / ``"quadratic"``: scikit-learn ``LogisticRegression(C=C)`` on standardized features
    (``"quadratic"`` also on their squares: ellipsoidal boundaries, the form of a Gaussian class model)
    on CPU. ``"mlp"``: a torch MLP (``hidden`` ReLU units, Adam 1e-2, weight decay 1e-4, ``epochs``
    full-batch steps) on ``device``, initialised from ``seed``. ``"cnn"``: the same training with a
    two-layer CNN (``hidden`` channels) on the features reshaped to ``image_shape``.
    """
    neural = kind in ("mlp", "cnn")
    dtype = torch.float32 if neural else torch.float64
    Xt = X_train.to(device=device, dtype=dtype)
    mu = Xt.mean(0, keepdim=True)
    sd = Xt.std(0, keepdim=True, unbiased=False).clamp_min(1e-8)
    Xt_s = (Xt - mu) / sd

    def prep(x: torch.Tensor) -> torch.Tensor:
        return (x.to(device=device, dtype=dtype) - mu) / sd

    if kind in ("logreg", "quadratic"):
        from sklearn.linear_model import LogisticRegression

        def feats(a: torch.Tensor) -> np.ndarray:
            a_np = a.cpu().numpy()
            return np.hstack([a_np, a_np * a_np]) if kind == "quadratic" else a_np

        clf = LogisticRegression(C=C, max_iter=2000)
        sw = None if sample_weight is None else sample_weight.cpu().numpy()
        clf.fit(feats(Xt_s), y_train.cpu().numpy(), sample_weight=sw)

        def predict_lr(x: torch.Tensor) -> torch.Tensor:
            p = np.zeros((x.shape[0], n_classes))
            if x.shape[0]:
                p[:, clf.classes_] = clf.predict_proba(feats(prep(x)))
            return torch.from_numpy(p).to(device)

        return predict_lr
    with torch.random.fork_rng(devices=[]):  # seed the CPU initialisation only; global RNG state restored
        torch.default_generator.manual_seed(seed)
        if kind == "cnn":
            if image_shape is None or int(np.prod(image_shape)) != Xt.shape[1]:
                raise ValueError(f"fit_classifier: image_shape {image_shape} does not match {Xt.shape[1]} features")
            model: nn.Module = _CNN(image_shape, n_classes, hidden).to(device)
        else:
            model = _MLP(Xt.shape[1], n_classes, hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    yt = y_train.to(device)
    w = None if sample_weight is None else sample_weight.to(device=device, dtype=torch.float32)
    # tiny nets on CPU train far faster on one thread (no sync overhead, no contention)
    with cpu_threads(device, 1 if Xt.numel() * hidden < 50_000_000 else None):
        for _ in range(epochs):
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(Xt_s), yt, reduction="none")
            loss = (loss * w).sum() / w.sum() if w is not None else loss.mean()
            loss.backward()
            opt.step()
    model.eval()

    def predict_net(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.softmax(model(prep(x)), 1).double()

    return predict_net


class NotFittedError(ValueError, RuntimeError):
    """``select`` called before ``fit``: a ``ValueError`` (as scikit-learn's ``NotFittedError``) and a ``RuntimeError``."""


class BaseSelector:
    """Base class of the selectors (not itself a selector)."""

    __torchaug_public__ = False

    def __init__(self, *, keep_fraction: float | None = None, random_state: int | None = None,
                 device: str | torch.device | None = None) -> None:
        owner = type(self).__name__
        if keep_fraction is not None:
            check_number(keep_fraction, owner=owner, name="keep_fraction", low=0.0, high=1.0, low_inclusive=False)
        self.keep_fraction = keep_fraction
        self.random_state = check_seed(random_state, owner=owner)
        self.device = None if device is None else torch.device(device)

    def _set_classifier(self, classifier: str, C: float, hidden: int, epochs: int,
                        image_shape: tuple[int, ...] | None) -> None:
        """Validate and store the settings of the classifier a selector trains (see :func:`fit_classifier`)."""
        owner = type(self).__name__
        self.classifier = check_classifier(classifier, owner)
        self.image_shape = check_image_shape(self.classifier, image_shape, owner=owner)
        self.C = float(check_number(C, owner=owner, name="C", low=0.0, low_inclusive=False))
        self.hidden = int(check_number(hidden, owner=owner, name="hidden", low=1, integer=True))
        self.epochs = int(check_number(epochs, owner=owner, name="epochs", low=1, integer=True))

    def _train_classifier(self, X: torch.Tensor, y: torch.Tensor, n_classes: int, *, seed: int,
                          device: torch.device, sample_weight: torch.Tensor | None = None):
        return fit_classifier(self.classifier, X, y, n_classes, seed=seed, device=device, sample_weight=sample_weight,
                              hidden=self.hidden, epochs=self.epochs, C=self.C, image_shape=self.image_shape)

    # ----------------------------------------------------------------- fit
    def fit(self, X_real: Any, y_real: Any) -> "BaseSelector":
        """Store the real samples ``X_real`` ``(n, d)`` with labels ``y_real`` ``(n,)`` per class."""
        owner = f"{type(self).__name__}.fit"
        X, _ = as_features(X_real, owner=owner, name="X_real")
        if X.shape[0] == 0:
            raise ValueError(f"{owner}: X_real must hold at least one real sample; got {describe(X_real)}")
        y = as_labels(y_real, X.shape[0], X.device, owner=owner, name="y_real")
        dev = self.device or X.device
        self.X_real_ = X.to(dev)
        self.y_real_ = y.to(dev)
        self.classes_ = torch.unique(y).cpu().tolist()
        self.n_features_in_ = X.shape[1]
        self._fit(self.X_real_, self.y_real_)
        return self

    def _fit(self, X: torch.Tensor, y: torch.Tensor) -> None:
        """Subclass hook after the real data is stored."""

    # -------------------------------------------------------------- select
    def _check_syn(self, X_syn: Any, y_syn: Any, owner: str) -> tuple[torch.Tensor, torch.Tensor, bool, torch.device]:
        if not hasattr(self, "X_real_"):
            raise NotFittedError(f"{owner}: call fit(X_real, y_real) before select")
        X, is_np = as_features(X_syn, owner=owner, name="X_syn")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{owner}: X_syn must have {self.n_features_in_} features like X_real; "
                             f"got {X.shape[1]} (shape {tuple(X.shape)})")
        y = as_labels(y_syn, X.shape[0], X.device, owner=owner, name="y_syn")
        missing = sorted(set(torch.unique(y).cpu().tolist()) - set(self.classes_))
        if missing:
            raise ValueError(f"{owner}: y_syn has classes {missing} with no real samples in X_real "
                             f"(real classes: {self.classes_}); every synthetic class needs real samples")
        return X, y, is_np, X.device

    def select(self, X_syn: Any, y_syn: Any) -> Any:
        """Indices (ascending) of the synthetic rows of ``X_syn`` ``(m, d)`` / ``y_syn`` ``(m,)`` to keep.

        Sets ``scores_`` ``(m,)`` in [0, 1] and ``per_class_`` ``{class: (kept, total)}``.
        """
        owner = f"{type(self).__name__}.select"
        X, y, is_np, out_dev = self._check_syn(X_syn, y_syn, owner)
        dev = self.X_real_.device
        X = X.to(device=dev, dtype=self.X_real_.dtype if self.X_real_.is_floating_point() else X.dtype)
        y = y.to(dev)
        scores = torch.zeros(X.shape[0], dtype=torch.float64, device=dev)
        keep = torch.zeros(X.shape[0], dtype=torch.bool, device=dev)
        per_class: dict[int, tuple[int, int]] = {}
        self._prepare(X, y)
        for c in torch.unique(y).cpu().tolist():  # loop over classes (few), not samples
            idx = torch.nonzero(y == c).flatten()
            s, k = self._score_class(c, X[idx], idx)
            s = s.to(torch.float64).clamp(0.0, 1.0)
            if self.keep_fraction is not None:
                n_keep = max(1, int(round(self.keep_fraction * idx.numel())))
                order = torch.argsort(s, descending=True, stable=True)
                k = torch.zeros_like(k)
                k[order[:n_keep]] = True
            scores[idx] = s
            keep[idx] = k
            per_class[int(c)] = (int(k.sum()), int(idx.numel()))
        self.per_class_ = per_class
        kept = torch.nonzero(keep).flatten()
        if is_np:
            self.scores_ = scores.cpu().numpy()
            return kept.cpu().numpy()
        self.scores_ = scores.to(out_dev)
        return kept.to(out_dev)

    def _prepare(self, X_syn: torch.Tensor, y_syn: torch.Tensor) -> None:
        """Subclass hook: work on all synthetic rows at once before the per-class scoring."""

    def _score_class(self, c: int, X_syn_c: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores in [0, 1] and the keep mask of one class's synthetic rows."""
        raise RuntimeError(f"{type(self).__name__} must define _score_class")

    def _seed(self, c: int) -> int:
        """Seed for class ``c`` (from ``random_state``; from torch's global RNG when it is None)."""
        if self.random_state is None:
            return int(torch.randint(0, 2**31 - 1, (1,)))
        return (self.random_state * 1_000_003 + int(c) * 7919) % (2**31 - 1)

    def _generator(self, c: int) -> torch.Generator:
        return torch.Generator().manual_seed(self._seed(c))

    def __repr__(self) -> str:
        keys = [k for k in vars(self) if not k.endswith("_") and not k.startswith("_")]
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in keys)})"


def check_classifier(v: Any, owner: str) -> str:
    return check_choice(v, CLASSIFIERS, owner=owner, name="classifier")


def check_threshold(v: Any, owner: str, name: str = "threshold") -> float:
    return check_probability(v, owner=owner, name=name)
