"""Link graphs as compressed sparse rows of in-links, built from integer edge arrays.

Ranks pull authority *into* a page from the pages linking to it, so the graph is stored the way the
solver reads it: row ``v`` lists the sources of the links to ``v`` (the CSR of Aᵀ, which is also the
backlink view "who links to v"). Storing it this way saves a second sort/transpose of every edge at
rank time, which on 10M edges costs as much as the whole PageRank solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class CSRGraph:
    """A directed graph of ``n`` nodes (0..n-1) with distinct edges src→dst and no self-loops.

    ``indptr`` (int64, length n+1) and ``indices`` (int32) are the in-link rows: the sources linking
    to node ``v`` are ``indices[indptr[v]:indptr[v+1]]``, ascending. ``out_degree[u]`` (int64) is the
    number of distinct other nodes ``u`` links to; nodes with out-degree 0 are *dangling*.
    """

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    out_degree: np.ndarray

    @property
    def m(self) -> int:
        """Number of distinct edges."""
        return int(self.indices.shape[0])

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """The edges as ``(src, dst)`` arrays, grouped by target — for checks and exports."""
        dst = np.repeat(np.arange(self.n, dtype=np.int32), np.diff(self.indptr))
        return self.indices.copy(), dst


def from_edges(
    src: np.ndarray,
    dst: np.ndarray,
    n: int,
    *,
    drop_self_loops: bool = True,
    dedupe: bool = True,
) -> CSRGraph:
    """Build a :class:`CSRGraph` from parallel arrays of edge endpoints in ``0..n-1``.

    The URL Rating rules (issue #3) are applied here, once, so every rank computed on the graph
    inherits them: several links between the same two nodes count once (``dedupe``) and a node's
    links to itself are ignored (``drop_self_loops``), so neither can be used to inflate a score.
    ``n`` may exceed the largest id: the extra nodes are isolated (and dangling).

    The build is a linear-time counting sort by target (scipy's COO→CSR, in C), then a per-row sort
    of the sources and a merge of equal neighbours; no Python loop touches an edge. ``out_degree``
    counts the distinct kept edges, so a repeated link also does not dilute what a page passes on. On 10M edges it
    takes a fraction of a second, where a full ``np.sort`` of a combined int64 key takes about a second.
    """
    src = np.asarray(src)
    dst = np.asarray(dst)
    if src.shape != dst.shape or src.ndim != 1:
        raise ValueError(f"src and dst must be 1-d arrays of equal length, got {src.shape} and {dst.shape}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n > np.iinfo(np.int32).max:
        raise ValueError(f"n={n} does not fit int32 node ids")
    if src.size:
        lo = min(int(src.min()), int(dst.min()))
        hi = max(int(src.max()), int(dst.max()))
        if lo < 0 or hi >= n:
            raise ValueError(f"edge endpoints must lie in 0..{n - 1}, found {lo}..{hi}")
    src = src.astype(np.int32, copy=False)
    dst = dst.astype(np.int32, copy=False)
    if drop_self_loops:
        keep = src != dst
        if not keep.all():
            src, dst = src[keep], dst[keep]
    if dedupe:
        # Pattern only: one byte of data per edge; summing duplicates (bool OR) merges repeats.
        ones = np.ones(src.shape[0], dtype=np.bool_)
        mat = sp.coo_matrix((ones, (dst, src)), shape=(n, n)).tocsr()  # counting sort + per-row sort + merge
        indptr, indices = mat.indptr, mat.indices
    else:  # a multigraph on purpose: keep repeats, in (dst, src) order
        order = np.lexsort((src, dst))
        indices = src[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(dst, minlength=n), out=indptr[1:])
    indptr = indptr.astype(np.int64, copy=False)
    indices = indices.astype(np.int32, copy=False)
    out_degree = np.bincount(indices, minlength=n).astype(np.int64, copy=False)
    return CSRGraph(n=n, indptr=indptr, indices=indices, out_degree=out_degree)
