"""Exact k nearest neighbours in torch, on any device, with bounded memory.

Algorithm (one pass over the queries in row chunks):

1. Centre both point sets on the reference mean (distances do not change, the norms that
   drive the rounding error shrink).
2. For a chunk of ``r`` query rows compute the ranking scores
   ``s_ij = ||y_j||^2 - 2 <x_i, y_j>`` against *all* reference rows with one
   ``addmm`` (float32 GEMM for float32/float16/bfloat16 data, float64 for float64 data);
   ``||x_i||^2`` is constant along a row and not needed for ranking.
3. Keep ``C = k + margin`` candidates per row with ``topk``; gather them and re-rank them by
   their *exact* squared distance ``sum((x_i - y_j)^2)`` computed from direct differences in
   float64. Ties are broken by the smaller reference index.
4. Certify each row: with the rigorous forward error bound ``E_i`` of the GEMM formula
   (``2 (d + 6) u (||x_i|| + max_j ||y_j||)^2``, ``u`` the unit round-off), every point that
   is not a candidate has exact squared distance ``>= s_(C) + ||x_i||^2 - E_i``. If the k-th
   re-ranked distance is below that, the row's neighbour set is provably the exact one
   (up to true ties). The rare rows that fail are recomputed with float64 scores.

Self exclusion is by *index* (the query's own row is masked out of the score matrix), so
duplicate points are still neighbours of each other, as in scikit-learn's
``NearestNeighbors.kneighbors()`` without arguments.

Memory: the working set of one chunk is ``r * n_ref`` scores plus ``r * C * d`` float64
re-ranking values; ``r`` is chosen so this fits ``memory_budget`` bytes (or is given as
``chunk_size``). On top of that the function holds a centred copy of the data
(``(n_query + n_ref) * d`` values of the compute dtype).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch

from torchaug._validation import describe

__all__ = ["knn", "DEFAULT_MEMORY_BUDGET"]

#: Default byte budget for the per-chunk working memory of :func:`knn` (256 MiB).
DEFAULT_MEMORY_BUDGET = 256 * 2**20

_MAX_AUTO_ROWS = 2048  # larger chunks stop helping GEMM/topk throughput on CPU


def _margin(k: int) -> int:
    return max(4, k // 2)


@contextmanager
def _highest_matmul_precision(device: torch.device) -> Iterator[None]:
    """TF32 / bf16 matmuls would void the error bound: force full float32 GEMMs."""
    if device.type != "cuda":
        yield
        return
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def _rerank_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _exact_topk(
    Q: torch.Tensor, R: torch.Tensor, cand: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact squared distances of ``Q`` rows to their candidate rows of ``R``; k best, sorted.

    Ties are broken by the smaller reference index (deterministic on every device).
    """
    rd = _rerank_dtype(Q.device)
    cand, _ = cand.sort(dim=1)
    diff = R[cand].to(rd) - Q.to(rd).unsqueeze(1)
    d2 = diff.square_().sum(-1)
    d2, order = d2.sort(dim=1, stable=True)
    return d2[:, :k], cand.gather(1, order[:, :k])


def _check_points(t: Any, *, owner: str, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{owner}: {name} must be a torch.Tensor or numpy array; got {describe(t)}")
    if t.ndim != 2:
        raise ValueError(f"{owner}: {name} must be a 2-D (n_samples, n_features) tensor; got {describe(t)}")
    if not t.is_floating_point():
        raise TypeError(f"{owner}: {name} must be a floating tensor; got {describe(t)}")
    if t.shape[1] == 0:
        raise ValueError(f"{owner}: {name} must have at least one feature; got {describe(t)}")
    return t


def _knn(
    Q: torch.Tensor,
    R: torch.Tensor,
    k: int,
    *,
    exclude: torch.Tensor | None = None,
    chunk_size: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: bool = False,
    same: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Core search: for each row of ``Q`` the ``k`` nearest rows of ``R``.

    ``exclude`` (``(n_q,)`` int64, optional) names one row of ``R`` per query that must not be
    returned (its own index for self queries). ``same`` says ``Q`` and ``R`` are the same
    tensor (saves a copy). Returns float64 squared distances ``(n_q, k)`` (float32 on MPS)
    sorted ascending, and int64 indices into ``R``.
    """
    device = R.device
    nq, d = Q.shape
    nr = R.shape[0]
    navail = nr - (1 if exclude is not None else 0)
    cd = torch.float64 if R.dtype == torch.float64 and device.type != "mps" else torch.float32
    u = 2.0**-53 if cd == torch.float64 else 2.0**-24
    rd = _rerank_dtype(device)
    if nq == 0:
        return torch.empty(0, k, dtype=rd, device=device), torch.empty(0, k, dtype=torch.long, device=device)
    C = min(navail, k + _margin(k))
    certify = C < navail

    with _highest_matmul_precision(device), torch.no_grad():
        mean = R.mean(0, dtype=rd).to(cd)
        Rc = R.to(cd) - mean
        Qc = Rc if same else Q.to(cd) - mean
        rnorm = Rc.square().sum(1)
        if certify:
            qnorm = Qc.to(rd).square().sum(1)
            bmax = rnorm.max().to(rd).sqrt()
            err = 2.0 * (d + 6) * u * (qnorm.sqrt() + bmax).square()
            bad = torch.zeros(nq, dtype=torch.bool, device=device)

        item = torch.finfo(cd).bits // 8
        per_row = nr * item + C * (8 + item) + 3 * C * d * 8 + 64
        if chunk_size is None:
            rows = max(1, min(_MAX_AUTO_ROWS, int(memory_budget) // per_row))
        else:
            rows = int(chunk_size)
        rows = min(rows, nq)

        out_d = torch.empty(nq, k, dtype=rd, device=device)
        out_i = torch.empty(nq, k, dtype=torch.long, device=device)
        buf = torch.empty(rows, nr, dtype=cd, device=device)
        rnorm_row = rnorm.unsqueeze(0)
        RcT = Rc.T
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=nq, unit="pt", desc="knn")
        for a in range(0, nq, rows):
            b = min(nq, a + rows)
            S = buf[: b - a]
            torch.addmm(rnorm_row, Qc[a:b], RcT, beta=1.0, alpha=-2.0, out=S)
            if exclude is not None:
                S[torch.arange(b - a, device=device), exclude[a:b]] = math.inf
            vals, cand = S.topk(C, dim=1, largest=False, sorted=False)
            d2, idx = _exact_topk(Q[a:b], R, cand, k)
            out_d[a:b] = d2
            out_i[a:b] = idx
            if certify:
                # every non-candidate j has exact d2 >= s_(C) + ||x||^2 - E
                bound = vals.amax(1).to(rd) + qnorm[a:b] - err[a:b]
                bad[a:b] = d2[:, k - 1] >= bound
            if bar is not None:
                bar.update(b - a)
        if bar is not None:
            bar.close()
        del buf, S

        if certify:
            redo = bad.nonzero().squeeze(1)
            if redo.numel():
                _recompute(Q, R, k, C, redo, exclude, out_d, out_i, rows)
    return out_d, out_i


def _recompute(
    Q: torch.Tensor,
    R: torch.Tensor,
    k: int,
    C: int,
    redo: torch.Tensor,
    exclude: torch.Tensor | None,
    out_d: torch.Tensor,
    out_i: torch.Tensor,
    rows: int,
) -> None:
    """Rows whose float32 candidate set could not be certified: float64 scores, then re-rank."""
    rd = _rerank_dtype(R.device)
    mean = R.mean(0, dtype=rd)
    Rc = R.to(rd) - mean
    rnorm = Rc.square().sum(1).unsqueeze(0)
    rows = max(1, rows // 2)
    for a in range(0, redo.numel(), rows):
        sel = redo[a : a + rows]
        Qs = Q[sel]
        S = torch.addmm(rnorm, Qs.to(rd) - mean, Rc.T, beta=1.0, alpha=-2.0)
        if exclude is not None:
            S[torch.arange(sel.numel(), device=S.device), exclude[sel]] = math.inf
        _, cand = S.topk(C, dim=1, largest=False, sorted=False)
        d2, idx = _exact_topk(Qs, R, cand, k)
        out_d[sel] = d2
        out_i[sel] = idx


def knn(
    X: torch.Tensor | np.ndarray,
    k: int,
    *,
    Y: torch.Tensor | np.ndarray | None = None,
    chunk_size: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    exclude_self: bool = True,
    progress: bool = False,
) -> tuple[torch.Tensor, torch.Tensor] | tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (Euclidean) of every row of ``X`` among the rows of ``Y``.

    Args:
        X: ``(n, d)`` query points, any floating dtype, any device (numpy arrays are accepted
            and give numpy results).
        k: number of neighbours, ``1 <= k <= n_ref`` (``n_ref - 1`` with self exclusion).
        Y: ``(m, d)`` reference points on the same device; ``None`` searches ``X`` itself.
        chunk_size: query rows per chunk; overrides ``memory_budget``.
        memory_budget: byte budget for one chunk's working memory (``rows x m`` scores and the
            ``rows x C x d`` re-ranking block); default 256 MiB. At least one row is processed.
        exclude_self: with ``Y=None``, drop each point itself (by index, so exact duplicates
            are still found as neighbours at distance 0). Ignored when ``Y`` is given.
        progress: show a tqdm progress bar over query rows.

    Returns:
        ``(dist, idx)``: ``(n, k)`` Euclidean distances (in ``X``'s dtype, computed exactly in
        float64 from direct differences) sorted ascending, and ``(n, k)`` int64 indices into
        ``Y`` (or ``X``). Neighbour sets equal scikit-learn's ``NearestNeighbors`` except for
        true ties, which are broken by the smaller index.

    The matrix-product form ``||a||^2 + ||b||^2 - 2ab`` is used only to pick ``k + margin``
    candidates; they are re-ranked exactly and each row is certified with a rigorous
    rounding-error bound (rows that fail are recomputed in float64), see the module docstring.
    """
    owner = "knn"
    as_numpy = isinstance(X, np.ndarray)
    if as_numpy:
        X = torch.from_numpy(np.ascontiguousarray(X))
    if isinstance(Y, np.ndarray):
        Y = torch.from_numpy(np.ascontiguousarray(Y))
    X = _check_points(X, owner=owner, name="X")
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"{owner}: k must be an integer; got {describe(k)}")
    same = Y is None
    if same:
        R = X
    else:
        R = _check_points(Y, owner=owner, name="Y")
        if R.shape[1] != X.shape[1]:
            raise ValueError(
                f"{owner}: Y must have the same number of features as X ({X.shape[1]}); got {describe(R)}"
            )
        if R.device != X.device:
            raise ValueError(f"{owner}: Y must be on X's device {X.device}; got {R.device}")
        if R.dtype != X.dtype:
            R = R.to(X.dtype)
    exclude = torch.arange(X.shape[0], device=X.device) if same and exclude_self else None
    navail = R.shape[0] - (1 if exclude is not None else 0)
    if not 1 <= k <= navail:
        what = "n_samples - 1 (self excluded)" if exclude is not None else "the number of reference points"
        raise ValueError(f"{owner}: k must be in [1, {what} = {navail}]; got {k}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"{owner}: chunk_size must be a positive integer or None; got {chunk_size!r}")
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, int) or memory_budget < 1:
        raise ValueError(f"{owner}: memory_budget must be a positive number of bytes; got {memory_budget!r}")
    for t, name in ((X, "X"), (R, "Y")):
        if t.numel() and t.device.type == "cpu" and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{owner}: {name} contains NaN or inf values ({describe(t)})")
    d2, idx = _knn(
        X, R, k, exclude=exclude, chunk_size=chunk_size, memory_budget=memory_budget, progress=progress, same=same
    )
    dist = d2.sqrt().to(X.dtype)
    if as_numpy:
        return dist.numpy(), idx.numpy()
    return dist, idx
