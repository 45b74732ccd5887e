"""Link graphs as compressed sparse rows of in-links, built from integer edge arrays.

Ranks pull authority *into* a page from the pages linking to it, so the graph is stored the way the
solver reads it: row ``v`` lists the sources of the links to ``v`` (the CSR of Aᵀ, which is also the
backlink view "who links to v"). Storing it this way saves a second sort/transpose of every edge at
rank time, which on 10M edges costs as much as the whole PageRank solve.

``from_edges`` builds it with numba kernels (a radix sort by target, then by source within each
row), compiled on the first call and cached next to this file like ``_pagerank``'s; ``numba_module``
and ``kernel_lock`` are the numba import and launch lock the two modules share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np

# Replaced by numba.prange in ``_kernels`` before the kernels are compiled (numba resolves globals at
# compile time); as plain ``range`` the kernels below also run, slowly, as ordinary Python.
prange = range

# Rows up to _SMALL_ROW long are sorted by insertion, longer ones by an LSD radix sort of the node
# ids with digits of about _NARROW_DIGIT bits (fewer counters to clear for short rows) or, from
# _WIDE_FROM entries on, _WIDE_DIGIT bits (fewer passes).
_SMALL_ROW = 16
_NARROW_DIGIT = 6
_WIDE_DIGIT = 11
_WIDE_FROM = 256
# Out-degrees are counted per bucket of 2**_SOURCE_SHIFT sources, in cache (see ``from_edges``).
_SOURCE_SHIFT = 16
# Below this many edges a single thread does the whole build (a parallel launch costs more).
_PARALLEL_MIN_EDGES = 1 << 17
# Edges per bucket of targets, on average (``_bucket_shift``): fewer, larger buckets make the pass
# that fills them faster (fewer write streams) and the pass that sorts each one slower (out of cache).
_BUCKET_EDGES = 65536


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


# -- kernels (compiled by numba in ``_kernels``) -----------------------------------------------------


def _count(src, dst, n, drop, shift, hist, bad):  # pragma: no cover - compiled by numba
    """Pass 1: ``hist[c, b]`` = the kept edges of chunk c (of the edge list) whose target is in bucket
    b = ``dst >> shift``; ``bad[c]`` = 1 if chunk c has an endpoint outside 0..n-1 (it stops there)."""
    chunks = hist.shape[0]
    m = src.shape[0]
    for c in prange(chunks):
        h = hist[c]
        for i in range(m * c // chunks, m * (c + 1) // chunks):
            s = src[i]
            d = dst[i]
            if s < 0 or s >= n or d < 0 or d >= n:
                bad[c] = 1
                break
            if drop and s == d:
                continue
            h[d >> shift] += 1


def _partition(src, dst, drop, shift, slot, indices, low):  # pragma: no cover - compiled by numba
    """Pass 2: each kept edge to its target's bucket, in input order: the source into ``indices`` and
    the target's offset in its bucket into ``low``. ``slot[c, b]`` is chunk c's next slot in bucket b."""
    chunks = slot.shape[0]
    m = src.shape[0]
    mask = (1 << shift) - 1
    for c in prange(chunks):
        at = slot[c]
        for i in range(m * c // chunks, m * (c + 1) // chunks):
            s = src[i]
            d = dst[i]
            if drop and s == d:
                continue
            b = d >> shift
            k = at[b]
            indices[k] = s
            low[k] = d & mask
            at[b] = k + 1


def _sort_row(indices, a, e, tmp, counts, bits):  # pragma: no cover - compiled by numba
    """Sort ``indices[a:e]`` in place: insertion sort if short, else an LSD radix sort of its ``bits``
    -bit ids through ``tmp`` (at least e - a long) with ``counts`` (at least 2**_WIDE_DIGIT + 1)."""
    size = e - a
    if size <= _SMALL_ROW:
        for i in range(a + 1, e):
            x = indices[i]
            j = i - 1
            while j >= a and indices[j] > x:
                indices[j + 1] = indices[j]
                j -= 1
            indices[j + 1] = x
        return
    digit = _WIDE_DIGIT if size >= _WIDE_FROM else _NARROW_DIGIT
    passes = (bits + digit - 1) // digit
    digit = (bits + passes - 1) // passes
    radix = 1 << digit
    mask = radix - 1
    s = indices[a:e]
    t = tmp[:size]
    for p in range(passes):
        shift = digit * p
        counts[: radix + 1] = 0
        for i in range(size):
            counts[((s[i] >> shift) & mask) + 1] += 1
        for j in range(radix):
            counts[j + 1] += counts[j]
        for i in range(size):
            x = s[i]
            k = (x >> shift) & mask
            t[counts[k]] = x
            counts[k] += 1
        s, t = t, s
    if passes & 1:
        indices[a:e] = s


def _rows(start, shift, n, parts, indices, low, dedupe, indptr, length):  # pragma: no cover
    """Pass 3, per bucket: a counting sort of its edges by target (all in cache: a bucket is a few
    thousand targets and tens of thousands of edges), then each row sorted and, with ``dedupe``, its
    distinct sources moved to its start. ``indptr[v]`` = row v's start, ``length[v]`` its distinct
    sources (``parts``: bucket ranges of about equal work, one per thread)."""
    width = 1 << shift
    bits = 1
    while (1 << bits) < n:
        bits += 1
    for p in prange(parts.shape[0] - 1):
        b0 = parts[p]
        b1 = parts[p + 1]
        biggest = 0
        for b in range(b0, b1):
            biggest = max(biggest, start[b + 1] - start[b])
        scratch = np.empty(biggest, dtype=indices.dtype)
        at = np.empty(width + 1, dtype=np.int64)
        counts = np.empty((1 << _WIDE_DIGIT) + 1, dtype=np.int64)
        for b in range(b0, b1):
            bs = start[b]
            be = start[b + 1]
            v0 = b << shift
            v1 = min(v0 + width, n)
            # counting sort of the bucket by target, stable (rows keep their input order)
            at[: v1 - v0 + 1] = 0
            for k in range(bs, be):
                at[low[k] + 1] += 1
            longest = 0
            acc = bs
            for j in range(v1 - v0):
                cnt = at[j + 1]
                longest = max(longest, cnt)
                at[j] = acc
                indptr[v0 + j] = acc
                acc += cnt
            if longest < be - bs:  # more than one row: move the edges into place
                scratch[: be - bs] = indices[bs:be]
                for k in range(bs, be):
                    j = low[k]
                    q = at[j]
                    indices[q] = scratch[k - bs]
                    at[j] = q + 1
            for v in range(v0, v1):
                a = indptr[v]
                e = be if v == v1 - 1 else indptr[v + 1]
                _sort_row(indices, a, e, scratch, counts, bits)
                if dedupe and e > a:
                    w = a + 1
                    for i in range(a + 1, e):
                        x = indices[i]
                        if x != indices[w - 1]:
                            indices[w] = x
                            w += 1
                    length[v] = w - a
                elif dedupe:
                    length[v] = 0


def _compact(indptr, length, indices):  # pragma: no cover - compiled by numba
    """Close the gaps the merged repeats left: rows moved down in order, ``indptr`` rewritten."""
    n = indptr.shape[0] - 1
    w = 0
    for v in range(n):
        a = indptr[v]
        k = length[v]
        indptr[v] = w
        if w != a:
            for i in range(k):
                indices[w + i] = indices[a + i]
        w += k
    indptr[n] = w
    return w


def _source_count(indices, hist):  # pragma: no cover - compiled by numba
    """``hist[c, b]`` = the edges of chunk c of ``indices`` from bucket b = ``src >> _SOURCE_SHIFT``."""
    chunks = hist.shape[0]
    m = indices.shape[0]
    for c in prange(chunks):
        h = hist[c]
        for i in range(m * c // chunks, m * (c + 1) // chunks):
            h[indices[i] >> _SOURCE_SHIFT] += 1


def _source_partition(indices, slot, low):  # pragma: no cover - compiled by numba
    """Each source's offset in its bucket to the bucket's part of ``low`` (chunk c's next is ``slot[c]``)."""
    chunks = slot.shape[0]
    m = indices.shape[0]
    mask = (1 << _SOURCE_SHIFT) - 1
    for c in prange(chunks):
        at = slot[c]
        for i in range(m * c // chunks, m * (c + 1) // chunks):
            x = indices[i]
            b = x >> _SOURCE_SHIFT
            k = at[b]
            low[k] = x & mask
            at[b] = k + 1


def _source_tally(start, low, out_degree):  # pragma: no cover - compiled by numba
    """``out_degree`` from the partitioned sources: each bucket counts into its own slice, in cache."""
    for b in prange(start.shape[0] - 1):
        deg = out_degree[b << _SOURCE_SHIFT :]
        for k in range(start[b], start[b + 1]):
            deg[low[k]] += 1


def numba_module():
    """Import numba for linkback's kernels, on the workqueue threading layer unless the user chose one.

    numba's default (GNU OpenMP here) makes every kernel launch wait for a spinning worker to be
    scheduled: on a busy 2-core machine 15-40 ms per call, against 0.4 ms with workqueue. workqueue is
    not safe for concurrent launches from several Python threads: callers hold :data:`KERNEL_LOCK`.
    """
    import os

    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"
    return numba


#: The lock every parallel numba kernel launch of linkback runs under (see :func:`numba_module`).
KERNEL_LOCK = threading.Lock()


def compile_kernels(
    namespace: dict[str, Any],
    *,
    parallel: dict[str, Callable[..., Any]],
    sequential: dict[str, Callable[..., Any]] | None = None,
    callees: tuple[str, ...] = (),
) -> SimpleNamespace:
    """A module's numba kernels, compiled (or loaded from the cache next to the module) on first use.

    ``namespace`` is the module's globals: its ``prange`` becomes numba's, and each function named
    in ``callees`` (called from other kernels) is replaced by its compiled self first, since numba
    resolves globals when it compiles. ``parallel`` kernels get ``parallel=True``.
    """
    numba = numba_module()
    namespace["prange"] = numba.prange
    seq = numba.njit(cache=True, nogil=True)
    par = numba.njit(parallel=True, cache=True, nogil=True)
    for name in callees:
        namespace[name] = seq(namespace[name])
    return SimpleNamespace(
        **{name: par(fn) for name, fn in parallel.items()},
        **{name: seq(fn) for name, fn in (sequential or {}).items()},
        threads=numba.get_num_threads,
    )


@cache
def _kernels() -> SimpleNamespace:
    return compile_kernels(
        globals(),
        parallel={
            "count": _count,
            "partition": _partition,
            "rows": _rows,
            "source_count": _source_count,
            "source_partition": _source_partition,
            "source_tally": _source_tally,
        },
        sequential={"compact": _compact},
        callees=("_sort_row",),  # called from ``_rows``
    )


def _check_range(src: np.ndarray, dst: np.ndarray, n: int) -> None:
    if src.size:
        lo = min(int(src.min()), int(dst.min()))
        hi = max(int(src.max()), int(dst.max()))
        if lo < 0 or hi >= n:
            raise ValueError(f"edge endpoints must lie in 0..{n - 1}, found {lo}..{hi}")


def _bucket_shift(n: int, m: int) -> int:
    """log2 of the targets per bucket: about _BUCKET_EDGES edges a bucket, 256..65536 targets (the
    offset of a target in its bucket is kept as a uint16)."""
    width = _BUCKET_EDGES * max(n, 1) / max(m, 1)
    return int(min(16, max(8, np.ceil(np.log2(max(width, 1.0))))))


def _slots(hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From per-chunk bucket counts ``hist[c, b]``: each bucket's start (and the total at the end),
    and each chunk's first slot in each bucket (the edges of every earlier bucket, then of the
    earlier chunks in this one), so the chunks fill the buckets in order, in parallel."""
    chunks, nb = hist.shape
    slot = np.ascontiguousarray(np.cumsum(hist.T.ravel()).reshape(nb, chunks).T - hist)
    start = np.empty(nb + 1, dtype=np.int64)
    start[:nb] = slot[0]
    start[nb] = hist.sum()
    return start, slot


def _balanced(cum: np.ndarray, parts: int) -> np.ndarray:
    """Split buckets 0..len(cum)-2 into ``parts`` ranges of about equal work (edges + buckets)."""
    nb = cum.shape[0] - 1
    work = cum + np.arange(nb + 1)
    cuts = np.searchsorted(work, work[-1] * np.arange(1, parts) // parts)
    return np.concatenate(([0], cuts, [nb])).astype(np.int64)


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
    ``n`` may exceed the largest id: the extra nodes are isolated (and dangling). With
    ``dedupe=False`` the graph is a multigraph: repeats are kept, each row still ascending.

    The build is a radix sort by target in numba kernels, parallel over the edges, then over
    buckets of targets: one pass counts the edges per bucket (and checks the ids), one moves each
    edge to its bucket, and one, per bucket and in cache, sorts the bucket's edges by target, sorts
    each row by source (insertion sort if short, else an LSD radix sort) and merges its repeats.
    ``out_degree`` counts the distinct kept edges, so a repeated link also does not dilute what a
    page passes on. Besides the result it holds 2 bytes per edge and a few arrays of n; merged
    repeats are given back at the end. On 10M edges (2 cores) it takes about 0.2 s where scipy's
    COO→CSR took 0.75 s, on 40M 0.7 s against 3.9 s. The first call in a process imports numba and
    loads the cached kernels (about 0.5 s; compiling them, once per machine, takes about 12 s).
    """
    src = np.asarray(src)
    dst = np.asarray(dst)
    if src.shape != dst.shape or src.ndim != 1:
        raise ValueError(f"src and dst must be 1-d arrays of equal length, got {src.shape} and {dst.shape}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n > np.iinfo(np.int32).max:
        raise ValueError(f"n={n} does not fit int32 node ids")
    # One compiled variant per pair of int32/int64 arrays: anything else is checked and converted here.
    if src.dtype not in (np.int32, np.int64) or dst.dtype not in (np.int32, np.int64):
        _check_range(src, dst, n)
        src = src.astype(np.int64)
        dst = dst.astype(np.int64)
    src = np.ascontiguousarray(src)
    dst = np.ascontiguousarray(dst)
    m = src.shape[0]
    kern = _kernels()
    threads = kern.threads() if m >= _PARALLEL_MIN_EDGES else 1
    shift = _bucket_shift(n, m)
    hist = np.zeros((threads, (n >> shift) + 1), dtype=np.int64)
    bad = np.zeros(threads, dtype=np.uint8)
    with KERNEL_LOCK:
        kern.count(src, dst, n, drop_self_loops, shift, hist, bad)
    if bad.any():
        _check_range(src, dst, n)
    start, slot = _slots(hist)
    del hist
    kept = int(start[-1])
    indices = np.empty(kept, dtype=np.int32)
    low = np.empty(kept, dtype=np.uint16)
    indptr = np.empty(n + 1, dtype=np.int64)
    indptr[n] = kept
    length = np.empty(n if dedupe else 0, dtype=np.int32)
    with KERNEL_LOCK:
        kern.partition(src, dst, drop_self_loops, shift, slot, indices, low)
        del slot
        kern.rows(start, shift, n, _balanced(start, threads), indices, low, dedupe, indptr, length)
    if dedupe:
        distinct = int(kern.compact(indptr, length, indices))
        del length
        if distinct < kept:
            indices.resize(distinct, refcheck=False)  # gives the tail back without a copy
    # out-degrees: a bincount, but over sources first moved to buckets of 65536 (reusing ``low``),
    # so the counters being incremented stay in cache; a plain bincount misses it on every edge
    # once n is in the millions.
    hist = np.zeros((threads, (n >> _SOURCE_SHIFT) + 1), dtype=np.int64)
    out_degree = np.zeros(n, dtype=np.int64)
    with KERNEL_LOCK:
        kern.source_count(indices, hist)
        start, slot = _slots(hist)
        kern.source_partition(indices, slot, low)
        kern.source_tally(start, low, out_degree)
    return CSRGraph(n=n, indptr=indptr, indices=indices, out_degree=out_degree)
