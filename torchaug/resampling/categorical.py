"""SMOTE for categorical features: SMOTENC (mixed) and SMOTEN (all categorical), imblearn semantics.

Both inherit the imbalanced-learn interface of :class:`torchaug.resampling._base.BaseSampler`
(pandas, lists, sparse, tensors; target forms; tags). Categories are encoded per column into
integer codes (sorted values, like scikit-learn's encoders): on the device for tensor input
(``torch.unique``), on the host for numpy / object / pandas input (``np.unique``; a host step that
object data needs anyway). Everything after the encoding (the neighbour search, interpolation,
the votes) runs in torch on the compute device.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import clone

from torchaug._validation import check_finite, describe
from torchaug.registry import register
from torchaug.resampling._base import SamplerIO
from torchaug.resampling.samplers import (
    _BaseOverSampler,
    _check_neighbors,
    _make_generator,
    _n_neighbors,
    _neighbors,
    _pick,
    _rows,
    _take,
    _work_dtype,
)

__all__ = ["SMOTENC", "SMOTEN"]


# ---- encoding ----------------------------------------------------------------------------------------


def _encode(X: Any, cols: np.ndarray, owner: str, device: torch.device) -> tuple[torch.Tensor, list[Any]]:
    """Integer codes ``(n, len(cols))`` (int64, on ``device``) and each column's sorted categories
    (a tensor on X's device for tensor X, a numpy array otherwise)."""
    n = X.shape[0]
    codes = torch.empty(n, len(cols), dtype=torch.long, device=device)
    cats: list[Any] = []
    for j, c in enumerate(cols.tolist()):
        if isinstance(X, torch.Tensor):
            col = X[:, c]
            if col.is_floating_point():
                check_finite(col, owner=owner, name=f"X (categorical column {c})")
            values, inv = torch.unique(col, sorted=True, return_inverse=True)
            codes[:, j] = inv.to(device)
        else:
            col = X[:, c]
            if col.dtype.kind == "f" and not np.isfinite(col).all():
                raise ValueError(f"{owner}: X contains NaN or inf values in categorical column {c}")
            if col.dtype.kind == "O":  # Python objects: a host pass over them is unavoidable
                kinds = {type(v) for v in col.tolist()}
                if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in col.tolist()):
                    raise ValueError(f"{owner}: X contains missing values (None/NaN) in categorical column {c}")
                if len(kinds) > 1 and any(issubclass(k, str) for k in kinds):
                    raise TypeError(
                        f"{owner}: categorical column {c} of X mixes strings with other types "
                        f"({sorted(k.__name__ for k in kinds)}); give each column one type"
                    )
            try:
                values, inv = np.unique(col, return_inverse=True)
            except TypeError as e:
                raise TypeError(f"{owner}: categorical column {c} of X cannot be sorted into categories ({e})") from None
            codes[:, j] = torch.from_numpy(inv.reshape(-1).astype(np.int64)).to(device)
        cats.append(values)
    return codes, cats


def _decode_into(out: Any, rows: slice, cols: np.ndarray, codes: torch.Tensor, cats: list[Any]) -> None:
    """Write the categories of ``codes`` ``(m, q)`` into ``out[rows, cols]`` (tensor or numpy ``out``)."""
    if isinstance(out, torch.Tensor):
        for j, c in enumerate(cols.tolist()):
            vals = cats[j].to(out.device)
            out[rows, c] = vals[codes[:, j].to(out.device)].to(out.dtype)
    else:
        cn = codes.cpu().numpy()
        for j, c in enumerate(cols.tolist()):
            out[rows, c] = cats[j][cn[:, j]]


def _vote(codes_nb: torch.Tensor, g: torch.Generator | None, *, random_ties: bool) -> torch.Tensor:
    """Most frequent code per column among each row's neighbours.

    ``codes_nb`` ``(m, k, q)``; returns ``(m, q)``. Ties: uniformly at random (``random_ties``, as
    imblearn's SMOTENC) or the smallest code (imblearn's SMOTEN, ``scipy.stats.mode``). Each of the
    ``k`` entries counts how many entries share its code (``k x k`` comparisons, independent of the
    number of categories); the entry with the largest count wins.
    """
    m, k, q = codes_nb.shape
    counts = (codes_nb.unsqueeze(2) == codes_nb.unsqueeze(1)).sum(2)  # (m, k, q): entries sharing my code
    if random_ties:
        # counts are integers: noise in [0, 0.5) never reorders different counts; among tied categories
        # each has the same number of entries, so each wins with the same probability
        key = counts.to(torch.float32) + torch.rand(m, k, q, generator=g, device=codes_nb.device) * 0.5
    else:
        # larger count first, then the smaller code
        top = codes_nb.amax(1, keepdim=True) + 1
        key = counts * top - codes_nb
    pos = key.argmax(1, keepdim=True)  # (m, 1, q)
    return codes_nb.gather(1, pos).squeeze(1)


def _resolve_categorical(spec: Any, io: SamplerIO | None, n_features: int, owner: str) -> np.ndarray:
    """``categorical_features`` -> sorted column indices."""
    if isinstance(spec, str) and spec == "auto":
        if io is None or io.dtypes is None:
            raise ValueError(
                f"{owner}: categorical_features='auto' needs a pandas DataFrame X (its 'category' columns); "
                "pass column indices, names or a boolean mask for other inputs"
            )
        import pandas as pd

        mask = np.array([isinstance(dt, pd.CategoricalDtype) for dt in io.dtypes])
        return np.flatnonzero(mask)
    if isinstance(spec, (str, bytes)) or spec is None or not hasattr(spec, "__len__") and not hasattr(spec, "__array__"):
        raise TypeError(
            f"{owner}: categorical_features must be 'auto', column indices, column names or a boolean mask; got {describe(spec)}"
        )
    arr = np.asarray(spec.cpu() if isinstance(spec, torch.Tensor) else spec)
    if arr.ndim != 1:
        raise ValueError(f"{owner}: categorical_features must be 1-D; got shape {arr.shape}")
    if arr.dtype.kind == "b":
        if arr.shape[0] != n_features:
            raise ValueError(
                f"{owner}: a boolean categorical_features mask must have one entry per feature ({n_features}); "
                f"got {arr.shape[0]}"
            )
        return np.flatnonzero(arr)
    if arr.dtype.kind in "iu":
        bad = arr[(arr < -n_features) | (arr >= n_features)]
        if bad.size:
            raise ValueError(f"{owner}: categorical_features indices must be in [0, {n_features}); got {bad.tolist()}")
        idx = np.unique(arr % n_features)
        if idx.size != arr.size:
            raise ValueError(f"{owner}: categorical_features names a column twice: {arr.tolist()}")
        return idx
    if arr.dtype.kind in "UO" and arr.size and all(isinstance(v, str) for v in arr.tolist()):
        if io is None or io.columns is None:
            raise ValueError(f"{owner}: categorical_features given by name needs a pandas DataFrame X; got names {arr.tolist()}")
        cols = [str(c) for c in io.columns]
        missing = [v for v in arr.tolist() if v not in cols]
        if missing:
            raise ValueError(f"{owner}: categorical_features names columns that X does not have: {missing}; X has {cols}")
        return np.unique([cols.index(v) for v in arr.tolist()])
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    raise TypeError(
        f"{owner}: categorical_features must be 'auto', column indices, column names or a boolean mask; got {describe(spec)}"
    )


def _is_real_object(col: np.ndarray) -> bool:
    return all(isinstance(v, Real) and not isinstance(v, bool) for v in col.tolist())


def _continuous_part(X: Any, cont: np.ndarray, io: SamplerIO | None, owner: str) -> Any:
    """The continuous columns as a floating tensor or numpy array (checked, never silently cast)."""
    what = f"{owner}: the continuous columns of X (all but categorical_features) must be floating"
    if isinstance(X, torch.Tensor):
        if not X.is_floating_point():
            raise TypeError(f"{what}; got {describe(X)} (give categories as floats in a float tensor, or use numpy/pandas)")
        return X[:, torch.as_tensor(cont, device=X.device)]
    if io is not None and io.dtypes is not None:
        import pandas as pd

        kinds = []
        for c in cont.tolist():
            dt = io.dtypes.iloc[c]
            dt = dt.subtype if isinstance(dt, pd.SparseDtype) else dt
            if not (isinstance(dt, np.dtype) and dt.kind == "f"):
                raise TypeError(f"{what}; column {io.columns[c]!r} is {dt} (cast it with .astype('float32'))")
            kinds.append(dt)
        return np.asarray(X[:, cont], dtype=np.result_type(*kinds))
    if X.dtype.kind == "f":
        return X[:, cont]
    if X.dtype.kind == "O":
        part = X[:, cont]
        if not _is_real_object(part.reshape(-1)):
            raise TypeError(f"{what} (real numbers); an object array X holds non-numeric values in columns {cont.tolist()}")
        return part.astype(np.float64)
    raise TypeError(f"{what}; got {describe(X)} (cast X to float, or pass a DataFrame / object array)")


# ---- SMOTENC -----------------------------------------------------------------------------------------


@register("resampler", example=lambda: SMOTENC(categorical_features=[0], k_neighbors=3, random_state=0))
class SMOTENC(_BaseOverSampler):
    """SMOTE-NC: SMOTE for nominal and continuous features (Chawla et al., JAIR 16, 2002, Sec. 6.1).

    imbalanced-learn semantics: for each class to over-sample, ``Med`` is the median over the
    continuous features of their standard deviation within the class (``median_std_[label]``);
    distances are Euclidean on the continuous features plus ``Med**2`` for every categorical
    feature that differs (one-hot columns scaled by ``Med / sqrt(2)``). Each new sample
    interpolates the continuous features between a class sample and one of its ``k_neighbors``
    nearest same-class neighbours (``u ~ U[0, 1)``, as SMOTE) and takes, for each categorical
    feature, the category most frequent among those ``k`` neighbours (ties at random).

    Args:
        categorical_features: ``'auto'`` (a DataFrame's ``category`` columns), column indices,
            column names (DataFrame) or a boolean mask.
        sampling_strategy, k_neighbors (int or a neighbours object with ``kneighbors``),
        random_state, device: as :class:`SMOTE`.

    ``fit_resample(X (n, d), y) -> (X_res (n + m, d), y_res)``; ``X`` a float tensor (categories as
    float values, encoded on its device), a numpy array (floating, or object with strings), a list
    or a DataFrame (float continuous columns; categorical columns of any dtype: category, object,
    int, ...; dtypes kept). Attributes: ``categorical_features_``, ``continuous_features_``,
    ``categories_``, ``median_std_``, ``sampling_strategy_``, ``sources_``, ``neighbors_``.
    """

    _tag_string = True
    _tag_sparse = False

    def __init__(
        self,
        categorical_features: Any = "auto",
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        device: str | torch.device | None = None,
    ) -> None:
        self.categorical_features = categorical_features
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        _check_neighbors(self.k_neighbors, owner=type(self).__name__, name="k_neighbors")

    def _columns(self, X: Any, io: SamplerIO | None) -> tuple[np.ndarray, np.ndarray]:
        owner = type(self).__name__
        if getattr(X, "ndim", None) != 2:
            raise ValueError(f"{owner}: X must be 2-D of shape (n_samples, n_features); got {describe(X)}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{owner}: X must hold at least one sample and one feature; got {describe(X)}")
        d = X.shape[1]
        cat = _resolve_categorical(self.categorical_features, io, d, owner)
        cont = np.setdiff1d(np.arange(d), cat)
        if cat.size == d:
            raise ValueError(f"{owner}: categorical_features covers every feature; SMOTENC needs continuous features "
                             "too (use SMOTEN for all-categorical data)")
        if cat.size == 0:
            raise ValueError(f"{owner}: categorical_features selects no feature; SMOTENC needs categorical features "
                             "(use SMOTE for all-continuous data)")
        return cat, cont

    def _fit(self, X: Any, y: Any, io: SamplerIO | None = None) -> None:
        self._validate_params()
        cat, cont = self._columns(X, io)
        self._setup(_continuous_part(X, cont, io, type(self).__name__), y)
        self.n_features_in_ = int(X.shape[1])

    def _fit_resample(self, X: Any, y: Any, io: SamplerIO | None = None) -> tuple[Any, Any]:
        owner = type(self).__name__
        self._validate_params()
        cat, cont = self._columns(X, io)
        Xc = _continuous_part(X, cont, io, owner)
        data = self._setup(Xc, y)
        self.n_features_in_ = int(X.shape[1])
        self.categorical_features_, self.continuous_features_ = cat, cont
        dev = data.device
        codes, cats = _encode(X, cat, owner, dev)
        self.categories_ = cats
        n_cats = [len(c) for c in cats]
        g = _make_generator(self.random_state, dev, owner)
        wd = _work_dtype(data.X)
        self.median_std_ = {}
        parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        for label, n_new in self.sampling_strategy_.items():
            n_new = int(n_new)
            if n_new == 0:
                continue
            code = data.code_of(label)
            idx_c = (data.codes == code).nonzero().squeeze(1)
            k = _n_neighbors(self.k_neighbors)
            if idx_c.numel() <= k:
                raise ValueError(
                    f"{owner}: k_neighbors={k} needs more than {k} samples in every class that is over-sampled; "
                    f"class {label!r} has {idx_c.numel()} (lower k_neighbors or leave the class out of sampling_strategy)"
                )
            Xcc = _rows(data.X, idx_c).to(wd)
            std = Xcc.to(torch.float64).std(0, correction=0)
            med = torch.quantile(std, 0.5)  # the median as numpy computes it (mean of the middle two)
            self.median_std_[label] = float(med)
            codes_c = _take(codes, idx_c)
            # one-hot categories scaled by Med / sqrt(2): a differing category adds Med**2 to the squared distance
            offs = torch.tensor([0] + list(np.cumsum(n_cats)[:-1]), dtype=torch.long, device=dev)
            onehot = torch.zeros(idx_c.numel(), int(sum(n_cats)), dtype=wd, device=dev)
            onehot.scatter_(1, codes_c + offs, (med / math.sqrt(2)).to(wd).expand(idx_c.numel(), len(cats)).contiguous())
            feats = torch.cat([Xcc, onehot], 1)
            nn = _neighbors(feats, feats, self.k_neighbors, exclude=torch.arange(idx_c.numel(), device=dev))
            k = nn.shape[1]
            rows = torch.randint(0, idx_c.numel(), (n_new,), generator=g, device=dev)
            cols = torch.randint(0, k, (n_new,), generator=g, device=dev)
            steps = torch.rand(n_new, 1, generator=g, device=dev, dtype=wd)
            src = _take(idx_c, rows)
            nbr = _take(idx_c, _pick(nn, rows, cols))
            x_new = self._interpolate(_rows(data.X, src), _rows(data.X, nbr), steps, wd)
            # categories: the majority among the source's k neighbours (imblearn: ties at random)
            nb_codes = codes_c[_take(nn, rows)]  # (n_new, k, q)
            cat_new = _vote(nb_codes, g, random_ties=True)
            parts.append((x_new, cat_new, torch.full((n_new,), code, dtype=torch.long, device=dev), src, nbr))
        return self._assemble(X, data, parts, cat, cont, cats)

    def _assemble(self, X: Any, data: Any, parts: list, cat: np.ndarray, cont: np.ndarray, cats: list) -> tuple[Any, Any]:
        dev = data.device
        q = len(cat)
        cont_new = torch.cat([p[0] for p in parts]) if parts else data.X.new_empty(0, data.X.shape[1])
        cat_new = torch.cat([p[1] for p in parts]) if parts else torch.empty(0, q, dtype=torch.long, device=dev)
        codes_new = torch.cat([p[2] for p in parts]) if parts else data.codes.new_empty(0)
        src = torch.cat([p[3] for p in parts]) if parts else data.codes.new_empty(0)
        nbr = torch.cat([p[4] for p in parts]) if parts else data.codes.new_empty(0)
        Xc_res, y_res, conv = data.output(cont_new, codes_new, {"sources_": src, "neighbors_": nbr})
        for key, v in conv.items():
            setattr(self, key, v)
        n = X.shape[0]
        m = cont_new.shape[0]
        if isinstance(X, torch.Tensor):
            out = X.new_empty(n + m, X.shape[1], device=Xc_res.device)
            out[:n] = X.to(out.device)
            out[n:, torch.as_tensor(cont, device=out.device)] = Xc_res[n:].to(out.dtype)
        else:
            out = np.empty((n + m, X.shape[1]), dtype=X.dtype)
            out[:n] = X
            out[n:, cont] = Xc_res[n:]
        _decode_into(out, slice(n, n + m), cat, cat_new, cats)
        return out, y_res


# ---- SMOTEN ------------------------------------------------------------------------------------------


def _vdm_tables(codes: torch.Tensor, ycodes: torch.Tensor, n_cats: list[int], n_classes: int) -> list[torch.Tensor]:
    """Value difference metric (Stanfill & Waltz 1986; imblearn's defaults k=1, r=2): per feature ``f`` a
    ``(C_f, C_f)`` table ``D_f[a, b] = (sum_c |P(c | x_f = a) - P(c | x_f = b)|) ** 2``."""
    out = []
    for j, c in enumerate(n_cats):
        cnt = torch.bincount(codes[:, j] * n_classes + ycodes, minlength=c * n_classes).view(c, n_classes)
        p = cnt.to(torch.float64)
        p = p / p.sum(1, keepdim=True).clamp_min(1)
        out.append(torch.cdist(p, p, p=1).square())
    return out


def _vdm_matrix(codes_c: torch.Tensor, tables: list[torch.Tensor]) -> torch.Tensor:
    """The full ``(n_c, n_c)`` VDM distance matrix (for a neighbours object with a precomputed metric)."""
    dist = torch.zeros(codes_c.shape[0], codes_c.shape[0], dtype=torch.float64, device=codes_c.device)
    for j, tab in enumerate(tables):
        dist += torch.take(tab, codes_c[:, j].unsqueeze(1) * tab.shape[1] + codes_c[:, j].unsqueeze(0))
    return dist


def _vdm_neighbors(codes_c: torch.Tensor, tables: list[torch.Tensor], k: int, memory: int = 64 * 2**20) -> torch.Tensor:
    """The ``k`` nearest other rows of each row under the VDM (self excluded by index), ``(n_c, k)``."""
    n = codes_c.shape[0]
    dev = codes_c.device
    rows = max(1, min(n, memory // (8 * max(n, 1) * 2)))
    out = torch.empty(n, k, dtype=torch.long, device=dev)
    for a in range(0, n, rows):
        b = min(n, a + rows)
        dist = torch.zeros(b - a, n, dtype=torch.float64, device=dev)
        for j, tab in enumerate(tables):
            # D_f[code of the query row, code of every reference row], one flat gather of (rows, n)
            flat = codes_c[a:b, j].unsqueeze(1) * tab.shape[1] + codes_c[:, j].unsqueeze(0)
            dist += torch.take(tab, flat)
        dist[torch.arange(b - a, device=dev), torch.arange(a, b, device=dev)] = math.inf
        out[a:b] = dist.topk(k, dim=1, largest=False, sorted=True).indices
    return out


@register("resampler", example=lambda: SMOTEN(k_neighbors=3, random_state=0))
class SMOTEN(_BaseOverSampler):
    """SMOTE-N: SMOTE for nominal features only (Chawla et al., JAIR 16, 2002, Sec. 6.2), imblearn semantics.

    Distances are the value difference metric over the whole data set (per feature, the squared L1
    distance between the class distributions of two categories, summed over features). Each new
    sample of a class takes a class sample ``x`` drawn uniformly with replacement and, for every
    feature, the most frequent category among ``x`` and its ``k_neighbors`` nearest same-class
    neighbours (ties: the smallest category, as ``scipy.stats.mode``).

    ``X``: any 2-D array of categories (strings, objects, integers, booleans, floats), a
    DataFrame (dtypes kept), a list, a tensor (categories encoded on its device), or a sparse
    matrix (densified). Attributes: ``categories_``, ``sampling_strategy_``, ``sources_`` (the
    class sample behind each new row), ``neighbors_`` (``(m, k)``: its neighbours).
    """

    _tag_string = True
    _has_neighbors = False

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        device: str | torch.device | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.device = device

    def _validate_params(self) -> None:
        super()._validate_params()
        _check_neighbors(self.k_neighbors, owner=type(self).__name__, name="k_neighbors")

    def _prepare(self, X: Any, y: Any) -> tuple[Any, torch.Tensor, list[Any]]:
        owner = type(self).__name__
        self._validate_params()
        if getattr(X, "ndim", None) != 2:
            raise ValueError(f"{owner}: X must be 2-D of shape (n_samples, n_features); got {describe(X)}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{owner}: X must hold at least one sample and one feature; got {describe(X)}")
        if (X.is_complex() if isinstance(X, torch.Tensor) else X.dtype.kind == "c"):
            raise TypeError(f"{owner}: X must hold categories (strings, integers, booleans, real numbers); got {describe(X)}")
        dev = torch.device(self.device) if self.device is not None else (
            X.device if isinstance(X, torch.Tensor) else torch.device("cpu"))
        codes, cats = _encode(X, np.arange(X.shape[1]), owner, dev)
        holder = codes.to(torch.float32) if isinstance(X, torch.Tensor) else codes.cpu().numpy().astype(np.float32)
        data = self._setup(holder, y)
        self.n_features_in_ = int(X.shape[1])
        return data, codes.to(data.device), cats

    def _fit(self, X: Any, y: Any, io: SamplerIO | None = None) -> None:
        self._prepare(X, y)

    def _fit_resample(self, X: Any, y: Any, io: SamplerIO | None = None) -> tuple[Any, Any]:
        owner = type(self).__name__
        data, codes, cats = self._prepare(X, y)
        self.categories_ = cats
        dev = data.device
        n_cats = [len(c) for c in cats]
        g = _make_generator(self.random_state, dev, owner)
        tables = _vdm_tables(codes, data.codes, n_cats, len(data.classes))
        new_codes, new_y, srcs, nbrs = [], [], [], []
        for label, n_new in self.sampling_strategy_.items():
            n_new = int(n_new)
            if n_new == 0:
                continue
            code = data.code_of(label)
            idx_c = (data.codes == code).nonzero().squeeze(1)
            k = _n_neighbors(self.k_neighbors)
            if idx_c.numel() <= k:
                raise ValueError(
                    f"{owner}: k_neighbors={k} needs more than {k} samples in every class that is over-sampled; "
                    f"class {label!r} has {idx_c.numel()} (lower k_neighbors or leave the class out of sampling_strategy)"
                )
            codes_c = _take(codes, idx_c)
            if isinstance(self.k_neighbors, Integral):
                nn = _vdm_neighbors(codes_c, tables, k)
                # the neighbourhood includes the sample itself (imblearn: n_neighbors = k + 1, self first)
                hood = torch.cat([torch.arange(idx_c.numel(), device=dev).unsqueeze(1), nn], 1)
            else:
                # a neighbours object searches the precomputed VDM matrix (host), as imblearn does;
                # its n_neighbors rows (self included) form the neighbourhood
                dist = _vdm_matrix(codes_c, tables).cpu().numpy()
                est = clone(self.k_neighbors).set_params(metric="precomputed")
                est.fit(dist)
                hood = torch.from_numpy(np.ascontiguousarray(est.kneighbors(dist, return_distance=False))).to(dev)
                nn = hood[:, 1:]
            table = _vote(codes_c[hood], None, random_ties=False)  # (n_c, q): mode per class row
            rows = torch.randint(0, idx_c.numel(), (n_new,), generator=g, device=dev)
            new_codes.append(_take(table, rows))
            new_y.append(torch.full((n_new,), code, dtype=torch.long, device=dev))
            srcs.append(_take(idx_c, rows))
            nbrs.append(idx_c[_take(nn, rows)])
        q = len(cats)
        cn = torch.cat(new_codes) if new_codes else torch.empty(0, q, dtype=torch.long, device=dev)
        yc = torch.cat(new_y) if new_y else data.codes.new_empty(0)
        src = torch.cat(srcs) if srcs else data.codes.new_empty(0)
        nbr = torch.cat(nbrs) if nbrs else torch.empty(0, _n_neighbors(self.k_neighbors), dtype=torch.long, device=dev)
        _, y_res, conv = data.output(cn.to(data.X.dtype), yc, {"sources_": src, "neighbors_": nbr})
        for key, v in conv.items():
            setattr(self, key, v)
        n, m = X.shape[0], cn.shape[0]
        if isinstance(X, torch.Tensor):
            out = X.new_empty(n + m, X.shape[1], device=y_res.device if isinstance(y_res, torch.Tensor) else dev)
            out[:n] = X.to(out.device)
        else:
            out = np.empty((n + m, X.shape[1]), dtype=X.dtype)
            out[:n] = X
        _decode_into(out, slice(n, n + m), np.arange(X.shape[1]), cn, cats)
        return out, y_res
