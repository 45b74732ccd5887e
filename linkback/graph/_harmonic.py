"""Harmonic centrality, exact by bit-parallel BFS on small graphs and by HyperBall on large ones.

Harmonic centrality (Boldi & Vigna, "Axioms for centrality", 2014) of a node ``v`` is

    H(v) = Σ_{u ≠ v} 1 / d(u, v)

where d(u, v) is the number of links on a shortest path *from* ``u`` *to* ``v`` (1/∞ = 0). It counts
who can reach ``v`` along links, closer pages weighing more: the in-link direction, as for PageRank,
and what Common Crawl ranks its host graph by (HyperBall on the transposed graph). It is the
convention of ``networkx.harmonic_centrality`` on a ``DiGraph`` (which reverses the graph to get
distances *to* each node): on the path 0 → 1 → 2, H = [0, 1, 1.5].

Both methods grow, for every node at once, the ball B_t(v) of the nodes that reach ``v`` in at most
``t`` links: B_0(v) = {v} and B_t(v) = B_{t-1}(v) ∪ ⋃_{u→v} B_{t-1}(u), one union over the in-link
rows of the CSR per step. Then H(v) = Σ_t (|B_t(v)| − |B_{t-1}(v)|) / t. A ball only grows if one of
its in-neighbours' balls grew in the previous step, so a step gathers only the links whose source
changed; on web graphs the later steps touch a small fraction of the links.

For the exact method a union is a gather of the changed sources' rows followed by a segmented
reduction per target (``_segment_reduce``), in chunks of in-link rows of bounded size: numpy, no
Python loop over nodes or links. HyperBall's unions are a numba kernel per step, parallel over
blocks of in-link rows, that folds each changed in-neighbour's registers into the target's and
updates its estimate in place (on the 7.5 M-host graph of the 50 M-link bench, 2 cores, the host
ranks stage — PageRank and this — went from 31–36 s with the earlier numpy version to 14 s).

* **Exact** (n ≤ ``exact_max_nodes``): the "ball" is the BFS frontier and visited set as bitsets
  over the sources, 64 sources to a uint64 word, reduced with bitwise OR — 64 BFS per word in one
  pass. Work is at most (depth) · m · n / 64 word operations; sources go in blocks so that memory
  stays near 3 · n · (block words) · 8 bytes (one block up to ~16,000 nodes).
* **HyperBall** (Boldi & Vigna, "In-core computation of geometric centralities with HyperBall",
  2013): the ball is a HyperLogLog counter of 2**registers_log2 uint8 registers, node ids hashed
  with splitmix64 (``seed`` keys it), and a union is the register-wise max. Sizes use the standard
  HLL estimator with the linear-counting correction for small sets, so small balls are near exact.
  Each counter has a relative standard error of about 1.04 / sqrt(2**registers_log2) (13 % at 6,
  6.5 % at 8, 3.3 % at 10 — Common Crawl uses 10 for hosts). A node's successive ball sizes share
  most of their error, so H(v) has about the same relative error; and nodes whose balls hold mostly
  the same nodes (the giant in-component of a web graph) share it too, so all those scores can be
  off by a common ~σ while their ranks barely move. A node that joins a ball without raising one of
  its registers goes unseen, so HyperBall may stop a step or two before the exact depth.
  Memory: the registers twice (a step reads one copy and writes the other: 2 · n · 2**registers_log2
  bytes) and 18 bytes/node of sizes, scores and flags — 1 GB over the graph for 7M nodes at the
  default 64 registers, 0.6 GB at the 32 that ``linkback rank`` uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

import numpy as np

from linkback.graph._csr import KERNEL_LOCK, CSRGraph, compile_kernels
from linkback.graph._pagerank import _kernels as pagerank_kernels

# Replaced by numba.prange in ``_kernels`` before the kernels are compiled (numba resolves globals at
# compile time); as plain ``range`` the kernels below also run, slowly, as ordinary Python.
prange = range

# Bytes of gathered rows per chunk of in-link rows: large enough that the Python overhead per chunk
# is noise, small enough that the peak stays bounded on graphs of tens of millions of links.
_GATHER_BYTES = 16 << 20
# Budget for the exact method's per-block bitsets (frontier, seen, pending new rows).
_BLOCK_BYTES = 384 << 20
_ESTIMATE_BYTES = 32 << 20

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


@dataclass(frozen=True)
class HarmonicResult:
    """``scores`` (float64, H(v) per node), whether they are ``exact`` and the ``iterations``: the last
    step at which some ball grew (for the exact method, the longest distance counted; for HyperBall,
    the last step that changed a register)."""

    scores: np.ndarray
    exact: bool
    iterations: int


def harmonic_centrality(
    graph: CSRGraph,
    *,
    exact_max_nodes: int = 20_000,
    registers_log2: int = 6,
    max_iter: int | None = None,
    seed: int = 0,
) -> HarmonicResult:
    """Harmonic centrality H(v) = Σ_{u≠v} 1/d(u, v) over the nodes ``u`` that link to ``v`` in some steps.

    Exact when ``graph.n <= exact_max_nodes``, else estimated by HyperBall with 2**registers_log2
    registers per node (``seed`` picks the hash; the exact method ignores both). ``max_iter`` caps the
    steps: distances beyond it are not counted (None runs until no ball grows).
    """
    if not 4 <= registers_log2 <= 16:
        raise ValueError(f"registers_log2 must be in 4..16, got {registers_log2}")
    if max_iter is not None and max_iter < 0:
        raise ValueError(f"max_iter must be >= 0 or None, got {max_iter}")
    limit = np.inf if max_iter is None else max_iter
    if graph.n <= exact_max_nodes:
        scores, iterations = _exact(graph, limit)
        return HarmonicResult(scores=scores, exact=True, iterations=iterations)
    scores, iterations = _hyperball(graph, registers_log2, limit, seed)
    return HarmonicResult(scores=scores, exact=False, iterations=iterations)


# -- ball unions over the in-link rows ------------------------------------------------------------


def _chunks(graph: CSRGraph, max_edges: int) -> np.ndarray:
    """Target-node boundaries cutting the in-link rows into runs of about ``max_edges`` links
    (a run exceeds it by at most one node's in-degree)."""
    cuts = np.searchsorted(graph.indptr, np.arange(0, graph.m, max(1, max_edges), dtype=np.int64))
    return np.unique(np.concatenate([[0], cuts, [graph.n]]))


def _unions(
    rows: np.ndarray, graph: CSRGraph, changed: np.ndarray, bounds: np.ndarray, op: np.ufunc
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each target with an in-neighbour in ``changed``: (targets, ``op`` over those neighbours' rows).

    Unchanged neighbours are skipped: their ball was already merged into the target's in an earlier
    step, so only the links from changed sources can grow it.
    """
    indptr, indices = graph.indptr, graph.indices
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        e0, e1 = int(indptr[a]), int(indptr[b])
        if e0 == e1:
            continue
        src = indices[e0:e1]
        keep = changed[src]
        if not keep.any():
            continue
        dst = np.repeat(np.arange(a, b, dtype=np.int32), np.diff(indptr[a : b + 1]))[keep]
        starts = np.flatnonzero(np.concatenate([[True], dst[1:] != dst[:-1]]))
        yield dst[starts], _segment_reduce(rows, src[keep], starts, op)


def _exclusive_cumsum(x: np.ndarray) -> np.ndarray:
    out = np.zeros(x.size, dtype=np.int64)
    np.cumsum(x[:-1], out=out[1:])
    return out


def _as_items(rows: np.ndarray) -> np.ndarray:
    """A (k, w) C-contiguous array as k opaque items: fancy assignment then copies rows, ~5× faster."""
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).reshape(rows.shape[0])


def _segment_reduce(table: np.ndarray, ids: np.ndarray, starts: np.ndarray, op: np.ufunc) -> np.ndarray:
    """``op`` over the rows ``table[ids[s:e]]`` of each run [s, e) cut at ``starts``, one output row a run.

    A pairwise tree: each round merges neighbouring rows within every run, halving it, and retires
    runs of one row. ``op.reduceat(..., axis=0)`` does the same but calls its inner loop once per
    (run, column); with 64 one-byte registers and mostly short runs that was ~4× slower (1M links:
    ~410 ms against ~100 ms for the tree, of which ~45 ms is the unavoidable random gather).
    """
    out = np.empty((starts.size, table.shape[1]), dtype=table.dtype)
    out_items = _as_items(out)
    run = np.arange(starts.size)
    lengths = np.diff(starts, append=ids.size)
    while run.size:
        done = lengths == 1
        if done.any():
            out_items[run[done]] = _as_items(np.take(table, ids[starts[done]], axis=0))
            keep = ~done
            run, starts, lengths = run[keep], starts[keep], lengths[keep]
            if not run.size:
                break
        pairs = lengths // 2
        first = np.repeat(starts - 2 * _exclusive_cumsum(pairs), pairs) + 2 * np.arange(pairs.sum())
        merged = np.take(table, ids[first], axis=0)
        op(merged, np.take(table, ids[first + 1], axis=0), out=merged)
        odd = np.flatnonzero(lengths & 1)
        if odd.size:  # the odd row out joins its run's last pair
            last = np.cumsum(pairs)[odd] - 1
            rows = np.take(merged, last, axis=0)
            op(rows, np.take(table, ids[starts[odd] + lengths[odd] - 1], axis=0), out=rows)
            _as_items(merged)[last] = _as_items(rows)
        table, ids = merged, np.arange(merged.shape[0])
        starts, lengths = _exclusive_cumsum(pairs), pairs
    return out


# -- exact: bit-parallel BFS ----------------------------------------------------------------------

_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a (k, w) uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return _POPCOUNT8[words.view(np.uint8)].sum(axis=1, dtype=np.int64)


def _exact(graph: CSRGraph, limit: float) -> tuple[np.ndarray, int]:
    n = graph.n
    scores = np.zeros(n, dtype=np.float64)
    total_words = -(-n // 64)
    block_words = max(1, min(total_words, _BLOCK_BYTES // (24 * max(n, 1))))
    bounds = _chunks(graph, _GATHER_BYTES // (8 * block_words))
    deepest = 0
    for w0 in range(0, total_words, block_words):
        w = min(block_words, total_words - w0)
        sources = np.arange(w0 * 64, min(n, (w0 + w) * 64), dtype=np.int64)
        offset = sources - w0 * 64
        frontier = np.zeros((n, w), dtype=np.uint64)
        frontier[sources, offset >> 6] = np.left_shift(np.uint64(1), (offset & 63).astype(np.uint64))
        seen = frontier.copy()
        changed = np.zeros(n, dtype=np.bool_)
        changed[sources] = True
        t = 0
        while t < limit:
            t += 1
            found = []
            for targets, reached in _unions(frontier, graph, changed, bounds, np.bitwise_or):
                new = reached & ~np.take(seen, targets, axis=0)
                grew = new.any(axis=1)
                if grew.any():
                    targets, new = targets[grew], new[grew]
                    seen[targets] |= new  # chunks hold disjoint targets and _unions reads frontier only
                    scores[targets] += _popcount_rows(new) / t
                    found.append((targets, new))
            if not found:
                break
            deepest = max(deepest, t)
            frontier[changed] = 0
            changed[:] = False
            for targets, new in found:
                frontier[targets] = new
                changed[targets] = True
    return scores, deepest


# -- HyperBall ------------------------------------------------------------------------------------


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a fixed, well-mixed 64-bit hash (numpy uint64 arithmetic wraps)."""
    z = x + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _leading_zeros(x: np.ndarray) -> np.ndarray:
    """Leading zero bits of each uint64, by binary search (float log2 rounds wrongly near 2**k)."""
    x = x.copy()
    count = np.zeros(x.shape, dtype=np.int64)
    for s in (32, 16, 8, 4, 2, 1):
        top_clear = (x >> np.uint64(64 - s)) == 0
        count[top_clear] += s
        x[top_clear] <<= np.uint64(s)
    count[x == 0] = 64  # only when x was 0: 63 counted so far
    return count


def _init_registers(n: int, b: int, seed: int) -> np.ndarray:
    """One HLL counter per node holding only the node itself: register h>>(64−b) gets ρ(h<<b)."""
    key = _splitmix64(np.array([seed & _MASK64], dtype=np.uint64))
    h = _splitmix64(np.arange(n, dtype=np.uint64) ^ key)
    bucket = (h >> np.uint64(64 - b)).astype(np.int64)
    rho = np.minimum(_leading_zeros(h << np.uint64(b)) + 1, 64 - b + 1).astype(np.uint8)
    regs = np.zeros((n, 1 << b), dtype=np.uint8)
    regs[np.arange(n), bucket] = rho
    return regs


_INV_POW2 = np.ldexp(np.float32(1.0), -np.arange(65))  # exact powers of two; float32 halves the gather


def _hll_size(regs: np.ndarray) -> np.ndarray:
    """HLL cardinality estimate per row, with linear counting where the estimate is ≤ 2.5·m."""
    k, m = regs.shape
    alpha = {16: 0.673, 32: 0.697, 64: 0.709}.get(m, 0.7213 / (1 + 1.079 / m))
    out = np.empty(k, dtype=np.float64)
    step = max(1, _ESTIMATE_BYTES // (4 * m))  # bounds the float32 temporary of 2^-register
    for a in range(0, k, step):
        r = regs[a : a + step]
        est = alpha * m * m / np.take(_INV_POW2, r).sum(axis=1, dtype=np.float64)
        zeros = np.count_nonzero(r == 0, axis=1)
        small = (est <= 2.5 * m) & (zeros > 0)
        est[small] = m * np.log(m / zeros[small])
        out[a : a + step] = est
    return out


def _hyperball_step(
    bounds, indptr, indices, regs, next_regs, changed, next_changed, size, scores, t, alpha, inv_pow2, grown
):  # pragma: no cover - compiled by numba
    """Step ``t`` for the rows of each block: fold into ``next_regs[v]`` (equal to ``regs[v]`` on entry)
    the registers of v's in-neighbours that changed in step t−1, and where v's ball grew, add its
    growth in size divided by t to its score. ``grown[b]`` counts the rows of block b that grew.

    Reads ``regs`` and writes ``next_regs``, so a step sees only the balls of the step before,
    whatever order the blocks run in.
    """
    m = regs.shape[1]
    for b in prange(bounds.shape[0] - 1):
        count = 0
        for v in range(bounds[b], bounds[b + 1]):
            touched = False
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                if changed[u]:
                    touched = True
                    # A plain max, no branch: LLVM makes the row a couple of vector instructions.
                    for j in range(m):
                        next_regs[v, j] = max(next_regs[v, j], regs[u, j])
            grew = False
            if touched:
                for j in range(m):
                    if next_regs[v, j] != regs[v, j]:
                        grew = True
                        break
            next_changed[v] = grew
            if grew:
                count += 1
                total = 0.0
                zeros = 0
                for j in range(m):
                    r = next_regs[v, j]
                    total += inv_pow2[r]
                    if r == 0:
                        zeros += 1
                estimate = alpha * m * m / total
                if estimate <= 2.5 * m and zeros > 0:
                    estimate = m * np.log(m / zeros)
                scores[v] += (estimate - size[v]) / t
                size[v] = estimate
        grown[b] = count


def _copy_grown(bounds, grew, source, dest):  # pragma: no cover - compiled by numba
    """``dest[v] = source[v]`` for the rows that grew, so both register arrays agree again."""
    m = source.shape[1]
    for b in prange(bounds.shape[0] - 1):
        for v in range(bounds[b], bounds[b + 1]):
            if grew[v]:
                for j in range(m):
                    dest[v, j] = source[v, j]


@cache
def _kernels() -> SimpleNamespace:
    return compile_kernels(globals(), parallel={"step": _hyperball_step, "copy": _copy_grown})


def _hyperball(graph: CSRGraph, b: int, limit: float, seed: int) -> tuple[np.ndarray, int]:
    """HyperBall over the in-link rows, one numba kernel per step, parallel over blocks of rows."""
    n = graph.n
    m = 1 << b
    alpha = {16: 0.673, 32: 0.697, 64: 0.709}.get(m, 0.7213 / (1 + 1.079 / m))
    regs = _init_registers(n, b, seed)
    # Differences of estimates, not of true sizes, so that a node's error does not accumulate a
    # constant offset from the first ball.
    size = _hll_size(regs)
    next_regs = regs.copy()
    scores = np.zeros(n, dtype=np.float64)
    changed = np.ones(n, dtype=np.bool_)
    next_changed = np.zeros(n, dtype=np.bool_)
    # Many more blocks than threads: in-degrees are skewed, and the workqueue hands blocks out evenly.
    bounds = pagerank_kernels().bounds(np.asarray(graph.indptr, dtype=np.int64), min(256, max(1, graph.n)))
    grown = np.zeros(bounds.shape[0] - 1, dtype=np.int64)
    inv_pow2 = _INV_POW2.astype(np.float64)
    kern = _kernels()
    t = last = 0
    while t < limit:
        t += 1
        with KERNEL_LOCK:
            kern.step(
                bounds, graph.indptr, graph.indices, regs, next_regs, changed, next_changed,
                size, scores, float(t), alpha, inv_pow2, grown,
            )  # fmt: skip
        if not grown.any():
            break
        last = t
        with KERNEL_LOCK:
            kern.copy(bounds, next_changed, next_regs, regs)
        changed, next_changed = next_changed, changed
    return scores, last
