"""PageRank and its personalised form (TrustRank) by power iteration over the in-link CSR.

One solver covers URL Rating, Domain Rating, TrustRank and anti-trust (on the reversed graph):
they differ only in the graph and the preference vector (../shared/specs/webgraph-perf.md §6).

An iteration is one pass of a numba kernel over the in-link rows (``_step``). It reads no per-edge
weight: a compact vector holds ``x[u] / outdeg(u)`` for the nodes ``u`` that link at all, and each
row sums it over its sources (int32 ids renumbered into that vector). The same pass applies the
damping and teleport, measures the L1 change and writes the next compact vector, so an iteration
touches 4 bytes per edge, 20 per node and 24 per linking node (``bench/bench_pagerank.py``'s floor).
numba is imported and the kernels are compiled on the first call, not at import, and the machine
code is cached next to this file (``cache=True``), so later processes only load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

import numpy as np

from linkback.graph._csr import KERNEL_LOCK, CSRGraph, numba_module

# Replaced by numba.prange in ``_kernels`` before the kernels are compiled (numba resolves globals at
# compile time); as plain ``range`` the kernels below also run, slowly, as ordinary Python.
prange = range


@dataclass(frozen=True)
class PageRankResult:
    """``scores`` (float64, sums to 1), the ``iterations`` run and the last L1 change ``delta``."""

    scores: np.ndarray
    iterations: int
    delta: float
    tol: float

    @property
    def converged(self) -> bool:
        """Whether the last step moved the vector by less than ``tol`` in L1."""
        return self.delta < self.tol


# Unsigned constants: per-edge indices are kept unsigned so numba emits no negative-index fix-up
# (two extra instructions and a select per load); mixing uint64 with a plain int would give float64.
_U1 = np.uint64(1)
_U2 = np.uint64(2)


def _step(
    bounds, first, indptr, cols, linkers, degree, xs, xs_next, x, y, p, alpha, c, delta, mass
):  # pragma: no cover
    """One iteration: y = α·Aᵀ(x/outdeg) + c·p (p uniform when empty) and the next compact vector.

    Rows are cut into blocks of similar work (``bounds``); ``first[b]`` is the index in ``linkers``
    of the first linking node at or after the start of block b. Per block, ``delta`` gets Σ|y − x|
    and ``mass`` the part of y on linking nodes (1 − mass is the dangling mass of the next step).
    Summing those per block, in block order, keeps results independent of the number of threads.
    """
    n = y.shape[0]
    uniform = p.shape[0] == 0
    add = c / n
    for b in prange(bounds.shape[0] - 1):
        j = first[b]
        jend = first[b + 1]
        d = 0.0
        mb = 0.0
        for v in range(bounds[b], bounds[b + 1]):
            k = np.uint64(indptr[v])
            e = np.uint64(indptr[v + 1])
            # Two independent sums, so a long row is not held up by one chain of dependent additions.
            s0 = 0.0
            s1 = 0.0
            while k + _U2 <= e:
                s0 += xs[cols[k]]
                s1 += xs[cols[k + _U1]]
                k += _U2
            if k < e:
                s0 += xs[cols[k]]
            yv = alpha * (s0 + s1) + (add if uniform else c * p[v])
            d += abs(yv - x[v])
            y[v] = yv
            if j < jend and linkers[j] == v:
                xs_next[j] = yv / degree[j]
                mb += yv
                j += 1
        delta[b] = d
        mass[b] = mb


def _bounds(indptr, blocks):  # pragma: no cover - compiled by numba
    """Row starts of ``blocks`` blocks of about equal work (edges + rows), and n at the end."""
    n = indptr.shape[0] - 1
    total = indptr[n] + n
    out = np.empty(blocks + 1, dtype=np.int64)
    out[0] = 0
    for b in range(1, blocks):
        target = total * b // blocks
        lo = out[b - 1]
        hi = n
        while lo < hi:  # first v with indptr[v] + v >= target
            mid = (lo + hi) // 2
            if indptr[mid] + mid < target:
                lo = mid + 1
            else:
                hi = mid
        out[b] = lo
    out[blocks] = n
    return out


@cache
def _kernels() -> SimpleNamespace:
    """Import numba and compile the kernels (or load them from the on-disk cache) on first use."""
    numba = numba_module()
    global prange
    prange = numba.prange
    par = numba.njit(parallel=True, cache=True, nogil=True)
    return SimpleNamespace(
        step=par(_step),
        bounds=numba.njit(cache=True, nogil=True)(_bounds),
    )


def _preference(n: int, personalization: np.ndarray | None) -> np.ndarray | None:
    """The normalised preference vector, or None for uniform (kept scalar: no n-vector to read)."""
    if personalization is None:
        return None
    p = np.asarray(personalization, dtype=np.float64)
    if p.shape != (n,):
        raise ValueError(f"personalization must have shape ({n},), got {p.shape}")
    if not np.all(np.isfinite(p)) or (p < 0).any():
        raise ValueError("personalization must be finite and non-negative")
    total = p.sum()
    if total <= 0:
        raise ValueError("personalization must have a positive entry (at least one seed)")
    return p / total


def pagerank(
    graph: CSRGraph,
    *,
    damping: float = 0.85,
    tol: float = 1e-6,
    max_iter: int = 200,
    personalization: np.ndarray | None = None,
) -> PageRankResult:
    """PageRank of every node: x ← α·(Aᵀ D⁻¹ x + dangling(x)·p) + (1−α)·p until L1(Δx) < ``tol``.

    Without ``personalization`` p is uniform: classic PageRank with dangling mass spread uniformly,
    the same fixed point as ``networkx.pagerank`` (which must be run with tol=tol/N, since it stops at
    err < N·tol). With it, p is that vector normalised — uniform over trusted seeds gives TrustRank
    (Gyöngyi et al. 2004); on the reversed graph over spam seeds, anti-trust rank.

    Dangling mass goes back to p, not to every node, and the iteration starts from p: then a node not
    reachable from the seeds never receives any mass and scores exactly 0, rather than a tiny positive
    leak a user would read as "some trust". With uniform p both choices are the standard ones.

    The first call in a process imports numba and loads the compiled kernels (compiling them once
    per machine, a few seconds, if the cache next to this module is missing or stale).
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    if tol <= 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    n = graph.n
    p = _preference(n, personalization)
    if n == 0:
        return PageRankResult(scores=np.zeros(0), iterations=0, delta=0.0, tol=tol)
    kern = _kernels()
    m = graph.m
    # Renumber the sources into the nodes that link at all: on web graphs most nodes are dangling
    # (70–75 %), so the vector every row gathers from shrinks to a quarter and stays in cache.
    linkers = np.flatnonzero(graph.out_degree > 0).astype(np.int32)
    nl = linkers.size
    column = np.zeros(n, dtype=np.int32)
    column[linkers] = np.arange(nl, dtype=np.int32)
    cols = np.take(column, graph.indices).astype(np.uint32, copy=False)  # ids ≥ 0: unsigned, see _U1
    del column
    indptr = graph.indptr.astype(np.uint32 if m <= np.iinfo(np.uint32).max else np.uint64)
    blocks = int(min(256, max(1, (m + n) // 32768)))
    bounds = kern.bounds(np.asarray(graph.indptr, dtype=np.int64), blocks)
    first = np.searchsorted(linkers, bounds).astype(np.int64)
    degree = graph.out_degree[linkers].astype(np.int32)
    x = np.full(n, 1.0 / n) if p is None else p.copy()
    y = np.empty(n, dtype=np.float64)
    xs = np.empty(nl, dtype=np.float64)
    xs_next = np.empty(nl, dtype=np.float64)
    np.divide(x[linkers], degree, out=xs)
    mass_linking = float(x[linkers].sum())
    pvec = np.empty(0, dtype=np.float64) if p is None else p
    part_delta = np.empty(blocks, dtype=np.float64)
    part_mass = np.empty(blocks, dtype=np.float64)
    delta = np.inf
    it = 0
    with KERNEL_LOCK:
        while it < max_iter:
            lost = 1.0 - mass_linking  # dangling mass (x sums to 1), redistributed with the teleport
            c = damping * lost + (1.0 - damping)
            kern.step(
                bounds, first, indptr, cols, linkers, degree, xs, xs_next, x, y, pvec, damping, c, part_delta, part_mass
            )
            delta = float(part_delta.sum())
            mass_linking = float(part_mass.sum())
            x, y = y, x
            xs, xs_next = xs_next, xs
            it += 1
            if delta < tol:
                break
    x /= x.sum()  # remove rounding drift so the scores are a probability vector
    return PageRankResult(scores=x, iterations=it, delta=delta, tol=tol)
