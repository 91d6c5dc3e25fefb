"""The imbalanced-learn interface every torchaug sampler shares: one base class, one place.

``BaseSampler`` is a scikit-learn estimator with imbalanced-learn's sampler API. Subclasses
implement only ``_fit_resample(X, y, io)`` on normalised data and get, from here:

- **containers in and out** (:class:`SamplerIO`): numpy arrays, torch tensors (any device),
  lists (lists back), pandas DataFrames (column names, per-column dtypes and a fresh index
  back; a Series or one-column DataFrame ``y`` keeps its name/columns and takes ``X``'s index),
  scipy sparse matrices/arrays (densified for the computation, the same sparse format back),
  pandas sparse columns (sparse dtypes back);
- **target forms**: 1-D labels; an ``(n, 1)`` column (an ``(n_res, 1)`` column back); a one-vs-all
  ``(n, K)`` indicator (each row exactly one 1: resampled on its argmax, an ``(n_res, K)``
  indicator of the same dtype back); continuous and multilabel targets raise ``ValueError``;
- ``n_features_in_``, ``feature_names_in_`` (string column names of a DataFrame), and
  :meth:`get_feature_names_out` (one output feature per input feature);
- :meth:`set_output` (``transform="pandas"`` returns a DataFrame ``X`` and a Series ``y``;
  ``"default"``/``None`` the input's containers; scikit-learn's global ``transform_output``
  config is honoured too);
- sampler tags (``__sklearn_tags__``: imbalanced-learn's ``Tags`` with ``estimator_type="sampler"``
  and ``sampler_tags.sample_indices`` when imbalanced-learn is installed, scikit-learn's otherwise),
  set from the class attributes ``_tag_sample_indices``, ``_tag_string``, ``_tag_allow_nan``,
  ``_tag_sparse``;
- scikit-learn estimator plumbing: ``get_params``/``set_params``/``clone`` (constructors only store
  their arguments), so samplers work in ``imblearn.pipeline.Pipeline``, ``cross_validate`` and
  ``GridSearchCV``.

The core ``_fit_resample`` receives ``X`` as a torch tensor (tensor input) or a dense numpy array
(every other input; object dtype for mixed DataFrames), ``y`` as 1-D labels (tensor or numpy),
and the :class:`SamplerIO` describing the input (column dtypes, names); it returns
``(X_res, y_res)`` in the same kinds (numpy or tensor), original rows first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, OneToOneFeatureMixin

from torchaug._validation import describe

__all__ = ["BaseSampler", "SamplerIO"]

_OUTPUTS = ("default", "pandas")


def _is_dataframe(x: Any) -> bool:
    return type(x).__name__ == "DataFrame" and hasattr(x, "columns") and hasattr(x, "dtypes")


def _is_series(x: Any) -> bool:
    return type(x).__name__ == "Series" and hasattr(x, "dtype") and hasattr(x, "name")


def _issparse(x: Any) -> bool:
    try:
        from scipy import sparse
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return False
    return sparse.issparse(x)


class SamplerIO:
    """What came in to ``fit_resample`` and how to give it back.

    ``SamplerIO(X, y, owner)`` records the containers and normalises them: ``.X`` (tensor or
    dense numpy array, 2-D) and ``.y`` (1-D labels, tensor or numpy). ``restore(X_res, y_res,
    sampler)`` converts the core's results back into the input's containers.
    """

    def __init__(self, X: Any, y: Any, owner: str) -> None:
        self.owner = owner
        # ---- X
        self.x_kind = "array"
        self.columns = None
        self.dtypes = None
        self.sparse_type = None
        self.sparse_format = None
        if isinstance(X, torch.Tensor):
            self.x_kind = "tensor"
            Xc: Any = X
        elif _is_dataframe(X):
            self.x_kind = "dataframe"
            self.columns = X.columns
            self.dtypes = X.dtypes
            self.index = X.index
            Xc = _frame_to_numpy(X)
        elif _issparse(X):
            self.x_kind = "sparse"
            self.sparse_type = type(X)
            self.sparse_format = X.format
            Xc = X.toarray()
        elif isinstance(X, (list, tuple)):
            self.x_kind = "list"
            Xc = _asarray(X, owner, "X")
        else:
            Xc = _asarray(X, owner, "X") if not isinstance(X, np.ndarray) else X
        self.X = Xc
        # ---- y
        self.y_kind = "array"
        self.y_name = None
        self.y_dtype = None
        self.y_columns = None
        self.y_form = "1d"  # "1d" | "column" | "ova"
        self.n_ova = 0
        if isinstance(y, torch.Tensor):
            self.y_kind = "tensor"
            yc: Any = y
        elif _is_series(y):
            self.y_kind = "series"
            self.y_name, self.y_dtype = y.name, y.dtype
            yc = y.to_numpy()
        elif _is_dataframe(y):
            self.y_kind = "dataframe"
            self.y_columns, self.y_dtype = y.columns, y.dtypes
            yc = y.to_numpy()
        elif isinstance(y, (list, tuple)):
            self.y_kind = "list"
            yc = _asarray(y, owner, "y")
        else:
            yc = y if isinstance(y, np.ndarray) else _asarray(y, owner, "y")
        self.y_in_dtype = yc.dtype
        if yc.ndim == 2:
            n, k = yc.shape
            if k == 1:
                self.y_form = "column"
                yc = yc.reshape(-1)
            else:
                self.y_form = "ova"
                self.n_ova = k
                yc = _ova_labels(yc, owner)
        self.y = yc

    # ---- back to the caller's containers
    def restore(self, X_res: Any, y_res: Any, sampler: "BaseSampler | None" = None) -> tuple[Any, Any]:
        if self.y_form == "column":
            y_res = y_res.reshape(-1, 1)
        elif self.y_form == "ova":
            if isinstance(y_res, torch.Tensor):
                y_res = torch.nn.functional.one_hot(y_res.long(), self.n_ova).to(self.y_in_dtype)
            else:
                y_res = (np.asarray(y_res).reshape(-1, 1) == np.arange(self.n_ova)).astype(self.y_in_dtype)
        # X
        if self.x_kind == "dataframe":
            import pandas as pd

            X_out = pd.DataFrame(X_res, columns=self.columns)
            X_out = _restore_dtypes(X_out, self.dtypes)
        elif self.x_kind == "sparse":
            X_out = self.sparse_type(X_res).asformat(self.sparse_format)
        elif self.x_kind == "list":
            X_out = X_res.tolist()
        else:
            X_out = X_res
        # y
        if self.y_kind == "series":
            import pandas as pd

            y_out = pd.Series(y_res, dtype=self.y_dtype, name=self.y_name)
        elif self.y_kind == "dataframe":
            import pandas as pd

            y_out = pd.DataFrame(np.asarray(y_res), columns=self.y_columns)
            y_out = _restore_dtypes(y_out, self.y_dtype)
        elif self.y_kind == "list":
            y_out = np.asarray(y_res).tolist() if not isinstance(y_res, torch.Tensor) else y_res.tolist()
        else:
            y_out = y_res
        # set_output / sklearn's global transform_output
        if sampler is not None and _output_container(sampler) == "pandas":
            X_out, y_out = _to_pandas(X_out, y_out, sampler, self)
        if _is_dataframe(X_out) and (_is_series(y_out) or _is_dataframe(y_out)):
            y_out.index = X_out.index
        return X_out, y_out


def _asarray(v: Any, owner: str, name: str) -> np.ndarray:
    try:
        return np.asarray(v)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{owner}: {name} must be array-like (rectangular); got {describe(v)} ({e})") from None


def _frame_to_numpy(df: Any) -> np.ndarray:
    """A DataFrame as one dense array: its common dtype when every column is numeric (sparse columns
    densified), an object array otherwise (mixed or categorical columns)."""
    import pandas as pd

    kinds = []
    for dt in df.dtypes:
        if isinstance(dt, pd.SparseDtype):
            dt = dt.subtype
        kinds.append(getattr(dt, "kind", "O") if isinstance(dt, np.dtype) else "O")
    if all(k in "fiub" for k in kinds):
        sparse_cols = {c: dt.subtype for c, dt in df.dtypes.items() if isinstance(dt, pd.SparseDtype)}
        return (df.astype(sparse_cols) if sparse_cols else df).to_numpy()
    return df.to_numpy(dtype=object)


def _restore_dtypes(frame: Any, dtypes: Any) -> Any:
    try:
        return frame.astype(dtypes)
    except (TypeError, ValueError):
        # a column whose values no longer fit its old dtype keeps the dtype pandas infers
        out = frame.copy()
        for col in frame.columns:
            try:
                out[col] = frame[col].astype(dtypes[col])
            except (TypeError, ValueError):
                pass
        return out


def _ova_labels(y: Any, owner: str) -> Any:
    """One-vs-all ``(n, K)`` indicator -> 1-D column index; anything else 2-D raises."""
    msg = (
        f"{owner}: y must be 1-D class labels, an (n, 1) column or a one-vs-all (n, K) indicator "
        "(one 1 per row); multilabel and multioutput targets are not supported; got "
    )
    if isinstance(y, torch.Tensor):
        if y.is_complex() or not bool(((y == 0) | (y == 1)).all()) or not bool((y.sum(1) == 1).all()):
            raise ValueError(msg + describe(y))
        return y.argmax(1)
    if y.dtype.kind not in "iufb":
        raise ValueError(msg + describe(y))
    if not np.isin(y, (0, 1)).all() or not (y.sum(1) == 1).all():
        raise ValueError(msg + describe(y))
    return y.argmax(1)


def _output_container(sampler: Any) -> str:
    cfg = getattr(sampler, "_sklearn_output_config", {}).get("transform")
    if cfg is None:
        try:
            from sklearn import get_config

            cfg = get_config().get("transform_output", "default")
        except ImportError:  # pragma: no cover
            cfg = "default"
    return cfg


def _to_pandas(X_out: Any, y_out: Any, sampler: Any, io: SamplerIO) -> tuple[Any, Any]:
    import pandas as pd

    if not _is_dataframe(X_out):
        if isinstance(X_out, torch.Tensor):
            Xn = X_out.detach().cpu().numpy()
        elif _issparse(X_out):
            Xn = X_out.toarray()
        else:
            Xn = np.asarray(X_out)
        X_out = pd.DataFrame(Xn, columns=sampler.get_feature_names_out())
    if not (_is_series(y_out) or _is_dataframe(y_out)):
        yn = y_out.detach().cpu().numpy() if isinstance(y_out, torch.Tensor) else np.asarray(y_out)
        y_out = pd.Series(yn, name=io.y_name) if yn.ndim == 1 else pd.DataFrame(yn)
    return X_out, y_out


class BaseSampler(OneToOneFeatureMixin, BaseEstimator):
    """Base of every torchaug sampler: imbalanced-learn's sampler interface (see module docstring).

    Subclasses set ``_sampling_type`` (``"over-sampling"``, ``"under-sampling"``,
    ``"clean-sampling"``), the ``_tag_*`` class attributes, and implement
    ``_fit_resample(X, y, io) -> (X_res, y_res)`` (and optionally ``_fit(X, y, io)`` for
    :meth:`fit`, which by default runs ``_fit_resample`` and drops its result).
    """

    __torchaug_public__ = False
    _estimator_type = "sampler"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # "not public" is not inherited: a concrete sampler is public unless it says otherwise, so the
        # registry test (tests/test_contract.py) sees every sampler (private bases start with "_")
        super().__init_subclass__(**kwargs)
        if "__torchaug_public__" not in cls.__dict__:
            cls.__torchaug_public__ = True
    _sampling_type = "over-sampling"
    _tag_sample_indices = False
    _tag_string = False
    _tag_allow_nan = False
    _tag_sparse = True

    # ---- imbalanced-learn API
    def fit(self, X: Any, y: Any) -> "BaseSampler":
        """Check the inputs and compute ``sampling_strategy_`` (use :meth:`fit_resample`)."""
        io = self._begin(X, y)
        self._fit(io.X, io.y, io)
        return self

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Resample ``X`` ``(n, d)`` with labels ``y`` (``(n,)``, ``(n, 1)`` or one-vs-all ``(n, K)``).

        Returns ``(X_res, y_res)`` in the containers they came in (see the module docstring):
        the ``n`` original rows first, then the new ones (over-samplers), or the kept rows.
        """
        io = self._begin(X, y)
        X_res, y_res = self._fit_resample(io.X, io.y, io)
        return io.restore(X_res, y_res, self)

    def _fit(self, X: Any, y: Any, io: SamplerIO) -> None:
        """What :meth:`fit` does after the conversion: by default the whole resampling, result
        dropped (samplers that can check their inputs and resolve ``sampling_strategy_`` without
        sampling override it, as the over-sampler base does)."""
        self._fit_resample(X, y, io)

    def _begin(self, X: Any, y: Any) -> SamplerIO:
        io = SamplerIO(X, y, type(self).__name__)
        Xc = io.X
        if getattr(Xc, "ndim", None) == 2:
            self.n_features_in_ = int(Xc.shape[1])
        names = None
        if io.columns is not None:
            cols = list(io.columns)
            if all(isinstance(c, str) for c in cols):
                names = np.asarray(cols, dtype=object)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return io

    def set_output(self, *, transform: str | None = None) -> "BaseSampler":
        """Choose the container of ``fit_resample``'s outputs: ``"pandas"`` (a DataFrame ``X``
        with :meth:`get_feature_names_out` columns and a Series ``y``), ``"default"`` (the
        input's containers) or ``None`` (leave the setting unchanged). Returns ``self``."""
        if transform is None:
            return self
        if transform not in _OUTPUTS:
            raise ValueError(f"{type(self).__name__}: set_output transform must be one of {list(_OUTPUTS)} or None; "
                             f"got {transform!r}")
        if transform == "pandas":
            try:
                import pandas  # noqa: F401
            except ImportError:
                raise ValueError(f"{type(self).__name__}: set_output(transform='pandas') needs pandas installed") from None
        self._sklearn_output_config = {"transform": transform}
        return self

    # ---- tags
    def __sklearn_tags__(self) -> Any:
        base = super().__sklearn_tags__()
        try:
            from imblearn.utils._tags import InputTags, SamplerTags, Tags
        except ImportError:
            tags = base
            tags.estimator_type = "sampler"
            inp = tags.input_tags
        else:
            tags = Tags(
                estimator_type="sampler",
                target_tags=base.target_tags,
                transformer_tags=None,
                regressor_tags=None,
                classifier_tags=None,
                sampler_tags=SamplerTags(sample_indices=self._tag_sample_indices),
                non_deterministic=base.non_deterministic,
                requires_fit=base.requires_fit,
            )
            inp = InputTags()
            inp.dataframe = True
            tags.input_tags = inp
        tags.target_tags.required = True
        inp.two_d_array = True
        inp.sparse = self._tag_sparse
        inp.string = self._tag_string
        inp.allow_nan = self._tag_allow_nan
        return tags
