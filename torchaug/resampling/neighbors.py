"""Exact k nearest neighbours in torch, on any device, with bounded memory.

Algorithm (one pass over the queries in row chunks):

1. Centre both point sets on the reference mean (distances do not change, the norms that
   drive the rounding error shrink).
2. For a chunk of ``r`` query rows compute the ranking scores
   ``s_ij = ||y_j||^2 - 2 <x_i, y_j>`` against *all* reference rows with a single GEMM on
   augmented operands ``[-2 x, 1] . [y, ||y||^2]`` (float32 for float32/float16/bfloat16
   data, float64 for float64 data; ``||x_i||^2`` is constant along a row and not needed).
3. Keep ``C = k + margin`` candidates per row in two stages: the minimum of every group of
   ``g`` consecutive columns (a cheap vectorised reduction), ``topk`` over the group minima,
   then ``topk`` inside the ``C`` selected groups. This is exact (the ``C`` smallest entries
   always lie in the ``C`` groups with the smallest minima) and several times cheaper than a
   ``topk`` over the full row on CPU.
4. Re-rank the candidates by their *exact* squared distance ``sum((x_i - y_j)^2)`` from
   direct differences in float64. Ties are broken by the smaller reference index.
5. Certify each row: with the rigorous forward error bound ``E_i`` of the GEMM scores
   (``2 (d + 7) u (||x_i|| + max_j ||y_j||)^2``, ``u`` the unit round-off), every point that
   is not a candidate has exact squared distance ``>= s_(C) + ||x_i||^2 - E_i``. If the k-th
   re-ranked distance is below that, the row's neighbour set is provably the exact one
   (up to true ties). The rare rows that fail (tight clusters far from the origin) are
   recomputed with float64 scores.

Self exclusion is by *index* (the query's own row is masked out of the score matrix), so
duplicate points are still neighbours of each other, as in scikit-learn's
``NearestNeighbors.kneighbors()`` without arguments.

Memory: ``memory_budget`` bounds everything the search allocates: the augmented reference
copy (``(d + 1) x m`` values), the outputs, and per chunk ``r x m`` scores plus the small
selection and re-ranking blocks; ``r`` is chosen to fit (at least one row). TF32 (CUDA) and bf16
(oneDNN on CPU) matmuls are switched off during the search (they would void the error bound),
through PyTorch's per-backend ``fp32_precision`` API where it exists.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch

from torchaug._validation import check_finite, describe
from torchaug._cpu.parallel import parallel_for, thread_budget

__all__ = ["knn", "DEFAULT_MEMORY_BUDGET"]

#: Default byte budget for the per-chunk working memory of :func:`knn` (256 MiB).
DEFAULT_MEMORY_BUDGET = 256 * 2**20

_MAX_AUTO_ROWS = 2048  # larger chunks stop helping GEMM/topk throughput on CPU


def _margin(k: int) -> int:
    return max(4, k // 2)


def _matmul_backends(device: torch.device) -> list[Any]:
    """The ``torch.backends.*.matmul`` objects of PyTorch's new precision API that govern ``device``
    (empty with an older torch, which only has the legacy ``set_float32_matmul_precision``)."""
    names = {"cuda": ("cuda",), "cpu": ("mkldnn",)}.get(device.type, ())
    out = []
    for name in names:
        matmul = getattr(getattr(torch.backends, name, None), "matmul", None)
        if matmul is not None and hasattr(matmul, "fp32_precision"):
            out.append(matmul)
    return out


@contextmanager
def _highest_matmul_precision(device: torch.device) -> Iterator[None]:
    """TF32 / bf16 matmuls would void the error bound: force full float32 GEMMs.

    Uses PyTorch's per-backend API (``torch.backends.cuda.matmul.fp32_precision``, and
    ``torch.backends.mkldnn.matmul.fp32_precision`` whose ``"bf16"`` the legacy ``"medium"``
    setting turns on for CPU) when it exists: once a user has set precision with that API (or
    with ``torch.backends.fp32_precision``), the legacy ``torch.get_float32_matmul_precision()``
    raises "mix of the legacy and new APIs". Older torch: the legacy call, CUDA only.
    """
    backends = _matmul_backends(device)
    if backends:
        previous = [b.fp32_precision for b in backends]
        for b in backends:
            b.fp32_precision = "ieee"
        try:
            yield
        finally:
            for b, p in zip(backends, previous):
                b.fp32_precision = p
        return
    if device.type != "cuda" or hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        yield
        return
    previous_legacy = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous_legacy)


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
    diff = R.index_select(0, cand.reshape(-1)).view(*cand.shape, R.shape[1]).to(rd) - Q.to(rd).unsqueeze(1)
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
) -> tuple[torch.Tensor, torch.Tensor]:
    """Core search: for each row of ``Q`` the ``k`` nearest rows of ``R``.

    ``exclude`` (``(n_q,)`` int64, optional) names one row of ``R`` per query that must not be
    returned (its own index for self queries). Returns float64 squared distances ``(n_q, k)``
    (float32 on MPS) sorted ascending, and int64 indices into ``R``.
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
        # augmented, centred reference operand (d + 1, n_pad): [-2 x, 1] . [y, ||y||^2] gives the
        # score ||y||^2 - 2 <x, y> in one GEMM; padding columns score +inf
        g = _group_size(nr, C)
        n_pad = -(-nr // g) * g
        RaT = torch.empty(d + 1, n_pad, dtype=cd, device=device)
        for c0 in range(0, nr, 65536):  # bounded temporaries
            c1 = min(nr, c0 + 65536)
            torch.sub(R[c0:c1].to(cd).T, mean.unsqueeze(1), out=RaT[:d, c0:c1])
            RaT[d, c0:c1] = RaT[:d, c0:c1].square().sum(0)
        RaT[:d, nr:] = 0.0
        RaT[d, nr:] = math.inf
        if certify:
            bmax = RaT[d, :nr].max().to(rd).sqrt()
            bad = torch.zeros(nq, dtype=torch.bool, device=device)

        item = torch.finfo(cd).bits // 8
        fixed = (d + 1) * n_pad * item + nq * (k * 16 + 8) + 4 * 2**20
        per_row = (
            n_pad * item  # scores
            + (n_pad // g) * (item + 8)  # group minima, their topk
            + C * g * (item + 16)  # gathered groups and their index
            + C * d * (item + 24)  # exact re-ranking block
            + (d + 1) * item * 2
            + 256
        )
        per_row = per_row * 3 // 2  # allocator slack
        # CPU: chunks go to parallel_for's single-threaded workers (one parallel region per call
        # instead of one per op: robust on busy machines); other devices: one stream of chunks
        workers = thread_budget(device)
        if chunk_size is None:
            rows = max(1, min(_MAX_AUTO_ROWS, (int(memory_budget) - fixed) // (per_row * workers)))
            if workers > 1:
                rows = min(rows, max(64, -(-nq // (4 * workers))))
        else:
            rows = int(chunk_size)
        rows = min(rows, nq)
        starts = range(0, nq, rows)

        out_d = torch.empty(nq, k, dtype=rd, device=device)
        out_i = torch.empty(nq, k, dtype=torch.long, device=device)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=nq, unit="pt", desc="knn")
        local = threading.local()

        def run(a: int) -> None:
            if not hasattr(local, "buf"):
                local.buf = torch.empty(rows, n_pad, dtype=cd, device=device)
                local.qbuf = torch.empty(rows, d + 1, dtype=cd, device=device)
                local.qbuf[:, d] = 1.0
            b = min(nq, a + rows)
            r = b - a
            Qa = local.qbuf[:r]
            torch.sub(Q[a:b].to(cd), mean, out=Qa[:, :d])
            if certify:
                qnorm = Qa[:, :d].to(rd).square().sum(1)
            Qa[:, :d] *= -2.0
            S = local.buf[:r]
            torch.mm(Qa, RaT, out=S)
            if exclude is not None:
                S[torch.arange(r, device=device), exclude[a:b]] = math.inf
            vals, cand = _smallest(S, C, g)
            d2, idx = _exact_topk(Q[a:b], R, cand, k)
            out_d[a:b] = d2
            out_i[a:b] = idx
            if certify:
                # every non-candidate j has exact d2 >= s_(C) + ||x||^2 - E  (rigorous bound E)
                err = 2.0 * (d + 7) * u * (qnorm.sqrt() + bmax).square()
                bound = vals.amax(1).to(rd) + qnorm - err
                bad[a:b] = d2[:, k - 1] >= bound
            if bar is not None:
                bar.update(r)

        parallel_for(run, list(starts), device)
        if bar is not None:
            bar.close()
        del local, RaT

        if certify:
            redo = bad.nonzero().squeeze(1)
            if redo.numel():
                _recompute(Q, R, k, C, redo, exclude, out_d, out_i, rows)
    return out_d, out_i


def _group_size(n: int, C: int) -> int:
    """Group width for the two-stage selection (1 = plain ``topk``).

    Groups of 64 once there are at least ``4 C`` of them: the second ``topk`` then runs over
    ``64 C >= 256`` gathered columns, where CPU ``topk`` is in its fast (partial selection) regime,
    and the first over few group minima (measured in docs/resampling.md)."""
    return 64 if n >= 256 * C else 1


def _smallest(S: torch.Tensor, C: int, g: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``C`` smallest entries of each row of ``S`` (unsorted): values and column indices.

    Two stages when ``g > 1``: the minimum of each group of ``g`` consecutive columns (a cheap
    vectorised reduction), ``topk`` over the group minima, then ``topk`` inside the ``C``
    selected groups. Exact: the ``C`` smallest entries always lie in the ``C`` groups with the
    smallest minima (each group holding one of them has a minimum no larger than it).
    """
    if g == 1:
        return S.topk(C, dim=1, largest=False, sorted=False)
    r, n = S.shape
    Sv = S.view(r, n // g, g)
    _, gidx = Sv.amin(-1).topk(C, dim=1, largest=False, sorted=False)
    rows = gidx + torch.arange(0, r * (n // g), n // g, device=S.device).unsqueeze(1)
    sel = Sv.reshape(r * (n // g), g).index_select(0, rows.reshape(-1)).view(r, C * g)  # whole groups: much cheaper than gather
    vals, pos = sel.topk(C, dim=1, largest=False, sorted=False)
    return vals, gidx.gather(1, pos // g) * g + pos % g


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
        memory_budget: bytes the search may allocate (the ``(d + 1) x m`` augmented reference
            copy, the outputs and one chunk's ``rows x m`` scores plus its selection and
            re-ranking blocks); default 256 MiB. At least one row per chunk is processed even
            if the budget is smaller than that.
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

    Example::

        dist, idx = knn(torch.randn(10_000, 32), k=5)            # self excluded
        dist, idx = knn(queries, k=3, Y=reference, progress=True)  # queries vs a reference set
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
        # a value check: the policy of torchaug._validation.set_value_checks decides (default: CPU only,
        # so the GPU path does not wait for a read-back; "always" checks everywhere, "never" nowhere)
        check_finite(t, owner=owner, name=name)
    d2, idx = _knn(
        X, R, k, exclude=exclude, chunk_size=chunk_size, memory_budget=memory_budget, progress=progress
    )
    dist = d2.sqrt().to(X.dtype)
    if as_numpy:
        return dist.numpy(), idx.numpy()
    return dist, idx
