"""Over-samplers of the SMOTE family, computed with torch on CPU or GPU.

All samplers are scikit-learn estimators with imbalanced-learn's constructor arguments,
defaults and ``fit_resample`` semantics; they drop into ``imblearn.pipeline.Pipeline``.

Common behaviour:

- ``fit_resample(X, y)`` returns the original rows first, then the synthetic rows (grouped
  by class in sorted label order). numpy (or any array-like) in gives numpy out; a tensor in
  gives a tensor out on the same device, or on ``device`` when that is set. Work happens on
  ``device`` (default: the data's device); randomness is drawn there from a
  ``torch.Generator`` seeded with ``random_state`` (``None``: torch's global RNG).
- ``X`` must be a 2-D floating array without NaN/inf. ``y`` holds class labels: integers,
  integral floats, booleans or (numpy only) strings; fractional float labels are rejected.
- After a call, ``sampling_strategy_`` (ordered dict ``{label: n_generated}``), ``sources_``
  (row index into ``X`` of the source sample of each synthetic row) and, for the SMOTE
  family, ``neighbors_`` (row index into ``X`` of the neighbour it was interpolated towards)
  describe what was done.
- A class to over-sample with no more than ``k_neighbors`` samples raises a ``ValueError``
  (imbalanced-learn raises too, from scikit-learn's ``NearestNeighbors``, with a less direct
  message).
"""

from __future__ import annotations

from collections import OrderedDict
from numbers import Integral, Real
from typing import Any, Mapping

import numpy as np
import torch
from sklearn.base import clone

from torchaug._validation import describe
from torchaug.registry import register
from torchaug.resampling._base import BaseSampler, SamplerIO
from torchaug.resampling._strategy import resolve_sampling_strategy
from torchaug.resampling.neighbors import _knn

__all__ = ["SMOTE", "BorderlineSMOTE", "ADASYN", "RandomOverSampler"]


class _Data:
    """Validated inputs of one ``fit_resample`` call."""

    def __init__(self, sampler: "_BaseOverSampler", X: Any, y: Any) -> None:
        owner = type(sampler).__name__
        self.owner = owner
        # ---- X
        if isinstance(X, torch.Tensor):
            self.is_torch = True
            X = X.detach()
            Xt = X
        else:
            self.is_torch = False
            Xn = np.asarray(X)
            if Xn.dtype.kind != "f":
                raise TypeError(
                    f"{owner}: X must be a floating array of shape (n_samples, n_features); got {describe(Xn)} "
                    "(convert it with .astype(np.float32))"
                )
            self.X_np = Xn
            Xt = torch.from_numpy(np.ascontiguousarray(Xn))
        if Xt.ndim != 2:
            raise ValueError(f"{owner}: X must be 2-D of shape (n_samples, n_features); got {describe(X)}")
        if not Xt.is_floating_point():
            raise TypeError(
                f"{owner}: X must be floating (float16/32/64) of shape (n_samples, n_features); got {describe(X)}"
            )
        if Xt.shape[0] == 0 or Xt.shape[1] == 0:
            raise ValueError(f"{owner}: X must hold at least one sample and one feature; got {describe(X)}")
        device = torch.device(sampler.device) if sampler.device is not None else Xt.device
        self.device = device
        self.X_in = X
        self.X = Xt.to(device)
        # NaN/inf propagate into the column sums: one cheap reduction, the exact check only if it
        # flags something (a sum can also overflow with finite values)
        if not bool(torch.isfinite(self.X.sum(0)).all()) and not bool(torch.isfinite(self.X).all()):
            raise ValueError(f"{owner}: X contains NaN or inf values ({describe(X)})")
        n = Xt.shape[0]
        # ---- y (converted to X's container kind: tensor with tensor X, numpy with array X)
        if self.is_torch and not isinstance(y, torch.Tensor):
            yn = np.asarray(y)
            if yn.dtype.kind not in "iubf":
                raise TypeError(f"{owner}: with a tensor X, y must hold numeric class labels; got {describe(yn)}")
            y = torch.from_numpy(np.ascontiguousarray(yn))
        elif not self.is_torch and isinstance(y, torch.Tensor):
            y = y.detach().cpu().numpy()
        if isinstance(y, torch.Tensor):
            if y.ndim != 1:
                raise ValueError(f"{owner}: y must be 1-D class labels of shape ({n},); got {describe(y)}")
            if y.shape[0] != n:
                raise ValueError(f"{owner}: X and y must have the same length; got {n} rows in X and {describe(y)}")
            if y.is_complex():
                raise TypeError(f"{owner}: y must hold class labels; got {describe(y)}")
            if y.is_floating_point():
                if not bool(torch.isfinite(y).all()) or not bool((y == y.round()).all()):
                    raise ValueError(
                        f"{owner}: y must hold integer class labels; got {describe(y)} with non-integer values"
                    )
            self.y_in = y
            classes, codes = torch.unique(y, sorted=True, return_inverse=True)
            self.classes_t = classes
            self.classes = classes.cpu().tolist()
            self.y_np = y.cpu().numpy()
            self.codes = codes.to(device)
        else:
            yn = np.asarray(y)
            if yn.ndim != 1:
                raise ValueError(f"{owner}: y must be 1-D class labels of shape ({n},); got {describe(yn)}")
            if yn.shape[0] != n:
                raise ValueError(f"{owner}: X and y must have the same length; got {n} rows in X and {len(yn)} labels")
            if yn.dtype.kind == "f":
                if not np.isfinite(yn).all() or not (yn == np.round(yn)).all():
                    raise ValueError(
                        f"{owner}: y must hold integer class labels; got {describe(yn)} with non-integer values"
                    )
            elif yn.dtype.kind not in "iubUSO":
                raise TypeError(f"{owner}: y must hold class labels (integers or strings); got {describe(yn)}")
            classes_np, codes = np.unique(yn, return_inverse=True)
            self.classes_np = classes_np
            self.classes = classes_np.tolist()
            self.y_np = yn
            self.y_in = yn
            self.codes = torch.from_numpy(codes.reshape(-1).astype(np.int64)).to(device)
        counts = torch.bincount(self.codes, minlength=len(self.classes)).cpu().tolist()
        self.counts = counts
        self.stats = OrderedDict(zip(self.classes, counts))
        if len(self.classes) < 2:
            raise ValueError(f"{owner}: y must hold at least 2 classes to resample; got only class {self.classes}")

    def code_of(self, label: Any) -> int:
        return self.classes.index(label)

    def output(
        self, X_new: torch.Tensor, codes_new: torch.Tensor, extra: dict[str, torch.Tensor | None]
    ) -> tuple[Any, Any, dict[str, Any]]:
        """Original rows first, then the synthetic ones, in the caller's container type."""
        X_new = X_new.to(self.X.dtype)
        if self.is_torch:
            out_dev = self.device
            X_res = torch.cat([self.X_in.to(out_dev), X_new.to(out_dev)])
            y_new = self.classes_t.to(codes_new.device)[codes_new].to(out_dev)
            y_res = torch.cat([self.y_in.to(out_dev), y_new.to(self.y_in.dtype)])
            conv = {key: (None if v is None else v.to(out_dev)) for key, v in extra.items()}
        else:
            X_res = np.concatenate([self.X_np, X_new.cpu().numpy()])
            y_new = self.classes_np[codes_new.cpu().numpy()]
            y_res = np.concatenate([self.y_np, y_new.astype(self.y_np.dtype, copy=False)])
            conv = {key: (None if v is None else v.cpu().numpy()) for key, v in extra.items()}
        return X_res, y_res, conv


def _make_generator(random_state: Any, device: torch.device, owner: str) -> torch.Generator | None:
    if random_state is None:
        return None
    if isinstance(random_state, torch.Generator):
        if random_state.device.type != device.type:
            raise ValueError(
                f"{owner}: random_state generator must live on the compute device type '{device.type}'; "
                f"got one on '{random_state.device.type}'"
            )
        return random_state
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        g = torch.Generator(device=device)
        g.manual_seed(int(random_state))
        return g
    raise TypeError(f"{owner}: random_state must be None, an int or a torch.Generator; got {describe(random_state)}")


def _check_int(v: Any, *, owner: str, name: str, low: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, Integral):
        raise TypeError(f"{owner}: {name} must be an integer >= {low}; got {describe(v)}")
    if v < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}; got {v!r}")
    return int(v)


def _rows(X: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``X[idx]`` for a 1-D index (``index_select`` is faster than advanced indexing on CPU)."""
    return torch.index_select(X, 0, idx)


def _take(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.index_select(t, 0, idx)


def _pick(nn: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``nn[rows, cols]`` through a flat ``index_select``."""
    return torch.index_select(nn.reshape(-1), 0, rows * nn.shape[1] + cols)


def _cat(parts: list[torch.Tensor], empty: torch.Tensor) -> torch.Tensor:
    if not parts:
        return empty
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def _work_dtype(X: torch.Tensor) -> torch.dtype:
    return X.dtype if X.dtype in (torch.float32, torch.float64) else torch.float32


class _BaseOverSampler(BaseSampler):
    """Shared ``fit``/``fit_resample`` plumbing of the over-samplers (imblearn interface: ``BaseSampler``).

    Subclasses define ``_generate(data, code, label, n_new, generator)`` returning
    ``(X_new, sources, neighbours_or_None)`` for one class, or ``None`` to add nothing.
    """

    __torchaug_public__ = False
    _sampling_type = "over-sampling"

    def _validate_params(self) -> None:  # subclasses check their own hyper-parameters
        if self.device is not None and not isinstance(self.device, (str, torch.device)):
            raise TypeError(
                f"{type(self).__name__}: device must be None, a str or a torch.device; got {describe(self.device)}"
            )

    def _setup(self, X: Any, y: Any) -> _Data:
        self._validate_params()
        data = _Data(self, X, y)
        self.sampling_strategy_ = resolve_sampling_strategy(
            self.sampling_strategy, data.y_np, data.stats, owner=type(self).__name__
        )
        self.n_features_in_ = data.X.shape[1]
        self.classes_ = np.asarray(data.classes)
        return data

    def _fit(self, X: Any, y: Any, io: SamplerIO | None = None) -> None:
        self._setup(X, y)

    def _fit_resample(self, X: Any, y: Any, io: SamplerIO | None = None) -> tuple[Any, Any]:
        data = self._setup(X, y)
        owner = type(self).__name__
        g = _make_generator(self.random_state, data.device, owner)
        plan = [(data.code_of(label), label, int(n)) for label, n in self.sampling_strategy_.items()]
        X_parts, code_parts, src_parts, nbr_parts = [], [], [], []
        for code, label, n_new in plan:
            res = self._generate(data, code, label, n_new, g)
            if res is None:
                continue
            X_new, src, nbr = res
            X_parts.append(X_new)
            code_parts.append(torch.full((X_new.shape[0],), code, dtype=torch.long, device=data.device))
            src_parts.append(src)
            nbr_parts.append(nbr)
        d = data.X.shape[1]
        X_new = _cat(X_parts, data.X.new_empty(0, d))
        codes_new = _cat(code_parts, data.codes.new_empty(0))
        extra: dict[str, torch.Tensor | None] = {"sources_": _cat(src_parts, data.codes.new_empty(0))}
        if self._has_neighbors:
            extra["neighbors_"] = _cat(nbr_parts, data.codes.new_empty(0))
        X_res, y_res, conv = data.output(X_new, codes_new, extra)
        for key, v in conv.items():
            setattr(self, key, v)
        self._after(data, conv)
        return X_res, y_res

    _has_neighbors = True

    def _after(self, data: _Data, conv: dict[str, Any]) -> None:
        """Hook for subclass attributes computed after resampling."""

    @staticmethod
    def _interpolate(
        base: torch.Tensor, other: torch.Tensor, steps: torch.Tensor, dtype: torch.dtype
    ) -> torch.Tensor:
        """``base + steps * (other - base)`` (Chawla et al. 2002, Sec. 4.2)."""
        base = base.to(dtype)
        return torch.addcmul(base, steps.to(dtype), other.to(dtype) - base)


def _is_neighbors_object(v: Any) -> bool:
    return not isinstance(v, type) and callable(getattr(v, "kneighbors", None)) and callable(getattr(v, "fit", None))


def _check_neighbors(v: Any, *, owner: str, name: str) -> None:
    """``k_neighbors``-style parameter: an int >= 1, or an object with ``fit``/``kneighbors`` (e.g. a
    ``NearestNeighbors``) whose ``n_neighbors`` counts the query itself, as in imbalanced-learn."""
    if _is_neighbors_object(v):
        n = getattr(v, "n_neighbors", None)
        if isinstance(n, bool) or not isinstance(n, Integral) or n < 2:
            raise ValueError(
                f"{owner}: a neighbours object given as {name} must have an integer n_neighbors >= 2 "
                f"(the query itself plus at least one neighbour); got n_neighbors={n!r}"
            )
        return
    if isinstance(v, bool) or not isinstance(v, Integral):
        raise TypeError(
            f"{owner}: {name} must be an integer >= 1 or a neighbours object with fit/kneighbors "
            f"(e.g. sklearn.neighbors.NearestNeighbors); got {describe(v)}"
        )
    if v < 1:
        raise ValueError(f"{owner}: {name} must be an integer >= 1; got {v!r}")


def _n_neighbors(v: Any) -> int:
    """Neighbours per query that ``v`` gives (an object's ``n_neighbors`` includes the query itself)."""
    return int(v.n_neighbors) - 1 if _is_neighbors_object(v) else int(v)


def _neighbors(Q: torch.Tensor, R: torch.Tensor, spec: Any, *, exclude: torch.Tensor | None) -> torch.Tensor:
    """Indices ``(n_q, k)`` into ``R`` of the nearest rows to each row of ``Q``.

    ``spec`` an int: exact torch kNN (:func:`knn`'s core), ``exclude`` dropping one row per query by
    index. ``spec`` a neighbours object: a clone is fitted on ``R`` (host numpy) and queried for
    ``n_neighbors`` rows, the first column (the query itself) dropped, as imbalanced-learn does.
    """
    if not _is_neighbors_object(spec):
        _, idx = _knn(Q, R, int(spec), exclude=exclude)
        return idx
    nn = clone(spec)
    nn.fit(R.detach().cpu().numpy())
    ind = np.asarray(nn.kneighbors(Q.detach().cpu().numpy(), return_distance=False))
    return torch.from_numpy(np.ascontiguousarray(ind[:, 1:])).to(device=Q.device, dtype=torch.long)


def _class_neighbors(data: _Data, idx_c: torch.Tensor, spec: Any, *, owner: str, name: str, label: Any) -> torch.Tensor:
    """k nearest same-class neighbours (local indices into ``idx_c``), self excluded by index."""
    k = _n_neighbors(spec)
    n_c = idx_c.numel()
    if n_c <= k:
        raise ValueError(
            f"{owner}: {name}={k} needs more than {k} samples in every class that is over-sampled; "
            f"class {label!r} has {n_c} (lower {name} or leave the class out of sampling_strategy)"
        )
    Xc = _rows(data.X, idx_c)
    return _neighbors(Xc, Xc, spec, exclude=torch.arange(n_c, device=Xc.device))


@register("resampler", example=lambda: SMOTE(k_neighbors=3, random_state=0))
class SMOTE(_BaseOverSampler):
    """SMOTE: Synthetic Minority Over-sampling TEchnique (Chawla et al., JAIR 16, 2002).

    Each synthetic sample is ``x_i + u * (x_nn - x_i)`` with ``u ~ U[0, 1)``, ``x_i`` drawn
    uniformly with replacement from the class being over-sampled and ``x_nn`` drawn uniformly
    from the ``k_neighbors`` nearest same-class neighbours of ``x_i`` (exact kNN, see
    :func:`torchaug.resampling.knn`). This is the paper's rule (Sec. 4.2: the difference
    between the feature vector and its neighbour, times a random number in [0, 1], added to the
    feature vector); some write-ups use ``|x_i - x_nn|``, which leaves the segment. Sources are
    drawn with replacement like imbalanced-learn (the paper cycles through the minority
    samples ``N/100`` times each).

    Args:
        sampling_strategy: which classes to over-sample and how far (imbalanced-learn forms:
            'auto', 'minority', 'not majority', 'not minority', 'all', float for binary
            targets, dict of final counts, callable ``y -> dict``).
        k_neighbors: neighbours per source sample (paper: 5).
        random_state: ``None`` (torch global RNG), int seed or ``torch.Generator``.
        device: where to compute (default: the data's device); tensor outputs go there.

    ``fit_resample(X (n, d), y (n,)) -> (X_res (n + m, d), y_res (n + m,))``.
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        k_neighbors: Any = 5,
        random_state: Any = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = k_neighbors
        self.random_state = random_state
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        _check_neighbors(self.k_neighbors, owner=type(self).__name__, name="k_neighbors")

    def _generate(self, data, code, label, n_new, g):
        if n_new == 0:
            return None
        dev = data.device
        idx_c = (data.codes == code).nonzero().squeeze(1)
        nn = _class_neighbors(data, idx_c, self.k_neighbors, owner=type(self).__name__, name="k_neighbors", label=label)
        k = nn.shape[1]
        rows = torch.randint(0, idx_c.numel(), (n_new,), generator=g, device=dev)
        cols = torch.randint(0, k, (n_new,), generator=g, device=dev)
        wd = _work_dtype(data.X)
        steps = torch.rand(n_new, 1, generator=g, device=dev, dtype=wd)
        src = _take(idx_c, rows)
        nbr = _take(idx_c, _pick(nn, rows, cols))
        return self._interpolate(_rows(data.X, src), _rows(data.X, nbr), steps, wd), src, nbr


@register("resampler", example=lambda: BorderlineSMOTE(k_neighbors=3, m_neighbors=5, random_state=0))
class BorderlineSMOTE(_BaseOverSampler):
    """Borderline-SMOTE (Han, Wang & Mao, ICIC 2005), imbalanced-learn semantics.

    For each class to over-sample, the ``m_neighbors`` nearest neighbours of its samples in the
    whole data set decide which samples are *in danger*: ``m/2 <= m' < m`` neighbours from other
    classes (``m' = m`` is noise and is not used). Only samples in danger are sources.

    - ``kind="borderline-1"``: SMOTE between a danger sample and one of its ``k_neighbors``
      nearest neighbours *of its own class*.
    - ``kind="borderline-2"``: the neighbour is one of the ``k_neighbors`` nearest neighbours
      in the *whole* data set; towards a neighbour of another class the step is
      ``u ~ U[0, 0.5)`` (closer to the source: Han et al. 2005, imbalanced-learn's
      ``step_size=0.5``), towards one of its own class ``u ~ U[0, 1)``.

    A class with no sample in danger gets no synthetic samples (as in imbalanced-learn).
    ``in_danger_indices_`` maps each class label to the row indices of its danger samples.
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        k_neighbors: Any = 5,
        m_neighbors: Any = 10,
        kind: str = "borderline-1",
        random_state: Any = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = k_neighbors
        self.m_neighbors = m_neighbors
        self.kind = kind
        self.random_state = random_state
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        _check_neighbors(self.k_neighbors, owner=owner, name="k_neighbors")
        _check_neighbors(self.m_neighbors, owner=owner, name="m_neighbors")
        if self.kind not in ("borderline-1", "borderline-2"):
            raise ValueError(f"{owner}: kind must be one of ['borderline-1', 'borderline-2']; got {self.kind!r}")

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        self._danger: dict[Any, torch.Tensor] = {}
        return super().fit_resample(X, y)

    fit_resample.__doc__ = _BaseOverSampler.fit_resample.__doc__

    def _after(self, data: _Data, conv: dict[str, Any]) -> None:
        self.in_danger_indices_ = {
            label: (idx.to(data.device) if data.is_torch else idx.cpu().numpy()) for label, idx in self._danger.items()
        }

    def _generate(self, data, code, label, n_new, g):
        if n_new == 0:
            return None
        owner = type(self).__name__
        k, m = _n_neighbors(self.k_neighbors), _n_neighbors(self.m_neighbors)
        dev = data.device
        n = data.X.shape[0]
        if m > n - 1:
            raise ValueError(f"{owner}: m_neighbors={m} needs more than {m} samples in X; got {n}")
        idx_c = (data.codes == code).nonzero().squeeze(1)
        nn_m = _neighbors(_rows(data.X, idx_c), data.X, self.m_neighbors, exclude=idx_c)
        n_other = (data.codes[nn_m] != code).sum(1)
        danger = (n_other >= m / 2) & (n_other < m)
        danger_idx = idx_c[danger]
        if danger_idx.numel() == 0:
            return None
        self._danger[label] = danger_idx
        if self.kind == "borderline-1":
            n_c = idx_c.numel()
            if n_c <= k:
                raise ValueError(
                    f"{owner}: k_neighbors={k} needs more than {k} samples in every class that is over-sampled; "
                    f"class {label!r} has {n_c}"
                )
            ref_idx = idx_c
            local = danger.nonzero().squeeze(1)
            nn = _neighbors(_rows(data.X, danger_idx), _rows(data.X, idx_c), self.k_neighbors, exclude=local)
        else:
            if n <= k:
                raise ValueError(f"{owner}: k_neighbors={k} needs more than {k} samples in X; got {n}")
            ref_idx = torch.arange(n, device=dev)
            nn = _neighbors(_rows(data.X, danger_idx), data.X, self.k_neighbors, exclude=danger_idx)
        rows = torch.randint(0, danger_idx.numel(), (n_new,), generator=g, device=dev)
        cols = torch.randint(0, k, (n_new,), generator=g, device=dev)
        wd = _work_dtype(data.X)
        steps = torch.rand(n_new, 1, generator=g, device=dev, dtype=wd)
        src = _take(danger_idx, rows)
        nbr = _take(ref_idx, _pick(nn, rows, cols))
        if self.kind == "borderline-2":
            # towards a neighbour of another class the step is U[0, 0.5) (Han et al. 2005; imblearn's
            # step_size=0.5): the same uniform draw, halved
            other = (data.codes[nbr] != code).unsqueeze(1)
            steps = torch.where(other, steps * 0.5, steps)
        return self._interpolate(_rows(data.X, src), _rows(data.X, nbr), steps, wd), src, nbr


@register("resampler", example=lambda: ADASYN(n_neighbors=7, random_state=0))
class ADASYN(_BaseOverSampler):
    """ADASYN: adaptive synthetic sampling (He, Bai, Garcia & Li, IJCNN 2008), imbalanced-learn semantics.

    For each class to over-sample with ``G`` new samples, each sample ``x_i`` of the class
    gets ``g_i = rint(G * r_i / sum(r))`` synthetic samples, where ``r_i`` is the fraction of its
    ``n_neighbors`` nearest neighbours (whole data set) from other classes. Each is
    ``x_i + u * (x_nn - x_i)`` with ``x_nn`` one of ``x_i``'s ``n_neighbors`` nearest same-class
    neighbours and ``u ~ U[0, 1)``. Because of the rounding the number generated can differ
    slightly from ``G`` (as in imbalanced-learn). A class whose samples have no neighbours
    from other classes raises ``ValueError`` (imbalanced-learn raises ``RuntimeError``).
    """

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        n_neighbors: Any = 5,
        random_state: Any = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.random_state = random_state
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        _check_neighbors(self.n_neighbors, owner=type(self).__name__, name="n_neighbors")

    def _generate(self, data, code, label, n_new, g):
        if n_new == 0:
            return None
        owner = type(self).__name__
        k = _n_neighbors(self.n_neighbors)
        dev = data.device
        n = data.X.shape[0]
        if k > n - 1:
            raise ValueError(f"{owner}: n_neighbors={k} needs more than {k} samples in X; got {n}")
        idx_c = (data.codes == code).nonzero().squeeze(1)
        nn_all = _neighbors(_rows(data.X, idx_c), data.X, self.n_neighbors, exclude=idx_c)
        ratio = (data.codes[nn_all] != code).sum(1).to(torch.float64) / k
        total = ratio.sum()
        if not bool(total > 0):
            raise ValueError(
                f"{owner}: no sample of class {label!r} has a neighbour from another class among its "
                f"n_neighbors={k}; ADASYN cannot weight the samples (use SMOTE)"
            )
        ratio = ratio / total
        per_sample = torch.round(ratio * n_new).to(torch.long)
        m = int(per_sample.sum())
        if m == 0:
            raise ValueError(f"{owner}: no samples would be generated for class {label!r} with these settings")
        nn = _class_neighbors(data, idx_c, self.n_neighbors, owner=owner, name="n_neighbors", label=label)
        rows = torch.repeat_interleave(torch.arange(idx_c.numel(), device=dev), per_sample, output_size=m)
        cols = torch.randint(0, k, (m,), generator=g, device=dev)
        wd = _work_dtype(data.X)
        steps = torch.rand(m, 1, generator=g, device=dev, dtype=wd)
        src = _take(idx_c, rows)
        nbr = _take(idx_c, _pick(nn, rows, cols))
        return self._interpolate(_rows(data.X, src), _rows(data.X, nbr), steps, wd), src, nbr


@register("resampler", example=lambda: RandomOverSampler(random_state=0))
class RandomOverSampler(_BaseOverSampler):
    """Random over-sampling with replacement, optionally a smoothed bootstrap (imbalanced-learn semantics).

    Duplicates rows drawn uniformly with replacement from each class to over-sample. With
    ``shrinkage`` (a float >= 0, or a dict ``{label: float}`` covering every over-sampled class),
    each duplicate gets Gaussian noise with per-feature standard deviation
    ``shrinkage * h * std_class`` where ``h = (4 / ((d + 2) n)) ** (1 / (d + 4))`` is the
    Silverman-style bandwidth imbalanced-learn uses (ROSE, Menardi & Torelli 2014).
    ``sample_indices_`` holds the rows of ``X`` behind every output row (like imbalanced-learn).

    Without ``shrinkage`` rows are only copied, so ``X`` may hold anything a 2-D array holds
    (integers, booleans, strings/objects, NaN; not complex), as in imbalanced-learn; with
    ``shrinkage`` it must be floating and finite like the other samplers' ``X``.
    """

    _has_neighbors = False
    _tag_sample_indices = True
    _tag_string = True
    _tag_allow_nan = True

    def _fit(self, X: Any, y: Any, io: SamplerIO | None = None) -> None:
        if self.shrinkage is not None:
            super()._fit(X, y, io)
        else:  # any X: the checks are those of the copying path
            self._fit_resample(X, y, io)

    def _fit_resample(self, X: Any, y: Any, io: SamplerIO | None = None) -> tuple[Any, Any]:
        if self.shrinkage is not None:
            return super()._fit_resample(X, y, io)
        owner = type(self).__name__
        if X.ndim != 2:
            raise ValueError(f"{owner}: X must be 2-D of shape (n_samples, n_features); got {describe(X)}")
        if (X.is_complex() if isinstance(X, torch.Tensor) else X.dtype.kind == "c"):
            raise TypeError(f"{owner}: X must hold real values, strings or objects, not complex; got {describe(X)}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{owner}: X must hold at least one sample and one feature; got {describe(X)}")
        # the sampling needs only the labels: run it on a one-column placeholder, then copy X's rows
        if isinstance(X, torch.Tensor):
            holder: Any = torch.zeros(X.shape[0], 1, dtype=torch.float32, device=X.device)
        else:
            holder = np.zeros((X.shape[0], 1), dtype=np.float32)
        _, y_res = super()._fit_resample(holder, y, io)
        self.n_features_in_ = int(X.shape[1])
        src = self.sources_
        if isinstance(X, torch.Tensor):
            dev = src.device
            Xd = X.detach().to(dev)
            return torch.cat([Xd, torch.index_select(Xd, 0, src)]), y_res
        return np.concatenate([X, X[src]]), y_res

    def __init__(
        self,
        sampling_strategy: Any = "auto",
        shrinkage: float | Mapping[Any, float] | None = None,
        random_state: Any = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.shrinkage = shrinkage
        self.random_state = random_state
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        s = self.shrinkage
        if s is None:
            return
        values = s.values() if isinstance(s, Mapping) else [s]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, Real):
                raise TypeError(f"{owner}: shrinkage must be None, a float >= 0 or a dict of floats; got {s!r}")
            if not v >= 0 or v != v or v == float("inf"):
                raise ValueError(f"{owner}: shrinkage factors must be finite and >= 0; got {s!r}")

    def _setup(self, X: Any, y: Any) -> _Data:
        data = super()._setup(X, y)
        s = self.shrinkage
        if isinstance(s, Mapping):
            missing = [c for c in self.sampling_strategy_ if c not in s]
            if missing:
                raise ValueError(
                    f"{type(self).__name__}: shrinkage must give a factor for every class that is over-sampled; "
                    f"missing {missing}"
                )
            self.shrinkage_ = {c: float(s[c]) for c in self.sampling_strategy_}
        elif s is None:
            self.shrinkage_ = None
        else:
            self.shrinkage_ = {c: float(s) for c in self.sampling_strategy_}
        return data

    def _generate(self, data, code, label, n_new, g):
        dev = data.device
        idx_c = (data.codes == code).nonzero().squeeze(1)
        src = _take(idx_c, torch.randint(0, idx_c.numel(), (n_new,), generator=g, device=dev))
        if self.shrinkage_ is None:
            return _rows(data.X, src), src, None
        n, d = data.X.shape
        wd = _work_dtype(data.X)
        h = (4.0 / ((d + 2) * n)) ** (1.0 / (d + 4))
        scale = _rows(data.X, idx_c).to(torch.float64).std(0, correction=0).to(wd) * (self.shrinkage_[label] * h)
        noise = torch.randn(n_new, d, generator=g, device=dev, dtype=wd)
        return torch.addcmul(_rows(data.X, src).to(wd), noise, scale), src, None

    def _after(self, data: _Data, conv: dict[str, Any]) -> None:
        src = conv["sources_"]
        n = data.X.shape[0]
        if data.is_torch:
            self.sample_indices_ = torch.cat([torch.arange(n, device=src.device), src])
        else:
            self.sample_indices_ = np.concatenate([np.arange(n), src])
