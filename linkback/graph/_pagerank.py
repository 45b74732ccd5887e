"""PageRank and its personalised form (TrustRank) by power iteration over the in-link CSR.

One solver covers URL Rating, Domain Rating, TrustRank and anti-trust (on the reversed graph):
they differ only in the graph and the preference vector (../shared/specs/webgraph-perf.md §6).

An iteration is one call of a numba kernel (``_step``). It reads no per-edge weight: a compact vector
holds ``x[u] / outdeg(u)`` for the nodes ``u`` that link at all, and each row sums it over its sources.
The rows are renumbered once per call (``_Layout``): linking nodes first, so row v < nl is also entry v
of that vector, and each part by in-degree, so rows of one length come in runs and the row loop's exit
is predicted. The few rows with ``_HEAVY_ROW`` in-links or more (on a power-law graph 1.4 % of the rows,
half the edges) are summed first, one segment of 65,536 sources (512 KB, kept in L2) at a time, over
16-bit columns (segmented CSR, Zhang et al. 2017, "Making caches work for graph analytics"); the others
read 32-bit columns from the whole vector (in L3). The same call applies the damping and teleport,
measures the L1 change and writes the next compact vector. Per iteration that touches 2 bytes per heavy
edge, 4 per light edge, 20 per node and 20 per linking node (``_Layout.bytes_per_iteration``: 56 MB on
``bench/bench_pagerank.py``'s 1M-node/10M-edge graph, against 67 MB for 4-byte columns); it runs about
30 % faster than one pull over the plain CSR, whose cost was ~1 M mispredicted row exits and ~10 M
gathers from L3 more than its bytes. Sums are per fixed block, in block order: the result does not
depend on the thread count.
numba is imported and the kernels are compiled on the first call, not at import, and the machine
code is cached next to this file (``cache=True``), so later processes only load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

import numpy as np

from linkback.graph._csr import KERNEL_LOCK, CSRGraph, compile_kernels

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
_U3 = np.uint64(3)
_U4 = np.uint64(4)

# Rows with at least _HEAVY_ROW in-links are summed segment by segment: 2**_SEGMENT_BITS sources at a
# time (512 KB of float64, which stays in a 1 MB L2), with 16-bit columns. Their rows are cut into
# _HEAVY_CHUNKS ranges of about equal work — a constant, so the sums do not depend on the thread count.
_HEAVY_ROW = 64
_SEGMENT_BITS = 16
_HEAVY_CHUNKS = 8


def _step(
    bounds,
    nl,
    h1,
    h2,
    indptr,
    cols,
    hq,
    hptr,
    hcols,
    nseg,
    shift,
    hsum,
    degree,
    xs,
    xs_next,
    x,
    y,
    p,
    alpha,
    c,
    delta,
    mass,
):  # pragma: no cover - compiled by numba
    """One iteration: y = α·Aᵀ(x/outdeg) + c·p (p uniform when empty) and the next compact vector.

    Rows are numbered linking nodes first (0..nl-1, so row v < nl is also entry v of ``xs``), each part
    by in-degree; the heavy ones (h1..nl-1 and h2..n-1) come last in each part. Pass 1 sums each heavy
    row i (``hsum[i]``) over the segments in order, chunk ``hq[q]..hq[q+1]`` at a time: entry
    ``q·…+s·cnt+i`` of ``hptr`` starts row i's 16-bit columns in segment s. Pass 2 sums the light rows
    (``indptr``/``cols``, empty for heavy rows) in blocks of similar work (``bounds``), and per block
    puts Σ|y − x| in ``delta`` and the part of y on linking nodes in ``mass`` (1 − mass is the next
    dangling mass). Summing per block, in block order, keeps results independent of the thread count.
    """
    n = y.shape[0]
    uniform = p.shape[0] == 0
    add = c / n
    for q in prange(hq.shape[0] - 1):
        a = hq[q]
        e = hq[q + 1]
        for i in range(a, e):
            hsum[i] = 0.0
        for s in range(nseg):
            base = np.uint64(s << shift)
            at = a * nseg + s * (e - a) - a
            for i in range(a, e):
                k = np.uint64(hptr[at + i])
                end = np.uint64(hptr[at + i + 1])
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                while k + _U4 <= end:
                    s0 += xs[base + hcols[k]]
                    s1 += xs[base + hcols[k + _U1]]
                    s2 += xs[base + hcols[k + _U2]]
                    s3 += xs[base + hcols[k + _U3]]
                    k += _U4
                while k < end:
                    s0 += xs[base + hcols[k]]
                    k += _U1
                hsum[i] += (s0 + s1) + (s2 + s3)
    heavy_at = nl - h1  # hsum index of the first heavy non-linking row
    for b in prange(bounds.shape[0] - 1):
        d = 0.0
        mb = 0.0
        for part in range(2):  # linking rows (they also write xs_next), then the others
            r0 = bounds[b] if part == 0 else max(bounds[b], nl)
            r1 = min(bounds[b + 1], nl) if part == 0 else bounds[b + 1]
            hv = h1 if part == 0 else h2
            off = h1 if part == 0 else h2 - heavy_at
            for v in range(r0, r1):
                k = np.uint64(indptr[v])
                end = np.uint64(indptr[v + 1])
                # Two independent sums, so a long row is not held up by one chain of dependent additions.
                s0 = 0.0
                s1 = 0.0
                while k + _U2 <= end:
                    s0 += xs[cols[k]]
                    s1 += xs[cols[k + _U1]]
                    k += _U2
                if k < end:
                    s0 += xs[cols[k]]
                sv = hsum[v - off] if v >= hv else s0 + s1
                yv = alpha * sv + (add if uniform else c * p[v])
                d += abs(yv - x[v])
                y[v] = yv
                if part == 0:
                    xs_next[v] = yv / degree[v]
                    mb += yv
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


def _order(indeg, out_degree, heavy, old, new, light, degree):  # pragma: no cover - compiled by numba
    """The row order of ``_step``: linking nodes first, each part by min(in-degree, ``heavy``), stable
    (a counting sort), so rows of equal length come in runs and the row loop's exit is predictable.
    Fills ``old`` (new row -> node), ``new`` (node -> new row), ``light`` (the row's in-degree, 0 if
    heavy) and ``degree`` (out-degree of the linking rows); returns where the heavy linking rows, the
    non-linking rows and their heavy rows start."""
    n = indeg.shape[0]
    start = np.zeros(2 * heavy + 3, dtype=np.int64)
    for v in range(n):
        start[min(indeg[v], heavy) + (0 if out_degree[v] > 0 else heavy + 1) + 1] += 1
    for k in range(2 * heavy + 2):
        start[k + 1] += start[k]
    h1 = start[heavy]
    nl = start[heavy + 1]
    h2 = start[2 * heavy + 1]
    for v in range(n):
        d = indeg[v]
        linking = out_degree[v] > 0
        key = min(d, heavy) + (0 if linking else heavy + 1)
        r = start[key]
        start[key] = r + 1
        old[r] = v
        new[v] = r
        light[r] = d if d < heavy else 0
        if linking:
            degree[r] = out_degree[v]
    return nl, h1, h2


def _layout(old, new, old_indptr, old_cols, indptr, cols, h1, nl, h2, hq, nseg, shift, hptr, hcols):  # pragma: no cover
    """The columns of ``_step``, renumbered by ``new`` (node -> new row): the light rows' into ``cols``
    (row ``v`` of ``indptr``); the heavy rows' low 16 bits into ``hcols``, chunk by chunk of ``hq``,
    segment by segment, row by row, with ``hptr`` (zeros on entry) their starts."""
    mask = (1 << shift) - 1
    hl = nl - h1  # heavy linking rows, first in hsum
    for u in prange(old_indptr.shape[0] - 1):  # in the graph's order: reads stream, writes scatter
        v = new[u]
        if v < h1 or nl <= v < h2:
            w = np.int64(indptr[v]) - old_indptr[u]
            for k in range(old_indptr[u], old_indptr[u + 1]):
                cols[w + k] = new[old_cols[k]]
        else:  # a heavy row: count its columns per segment
            i = v - h1 if v < nl else v - h2 + hl
            q = np.searchsorted(hq, i, side="right") - 1
            at = hq[q] * nseg + i - hq[q] + 1
            for k in range(old_indptr[u], old_indptr[u + 1]):
                hptr[at + (new[old_cols[k]] >> shift) * (hq[q + 1] - hq[q])] += 1
    for j in range(hptr.shape[0] - 1):  # counts (at j + 1) to starts
        hptr[j + 1] += hptr[j]
    for q in prange(hq.shape[0] - 1):
        a = hq[q]
        e = hq[q + 1]
        for i in range(a, e):
            u = old[h1 + i if i < hl else h2 + i - hl]
            for k in range(old_indptr[u], old_indptr[u + 1]):
                t = new[old_cols[k]]
                j = a * nseg + (t >> shift) * (e - a) + i - a
                hcols[hptr[j]] = t & mask
                hptr[j] += 1
    for j in range(hptr.shape[0] - 1, 0, -1):  # ends back to starts
        hptr[j] = hptr[j - 1]
    hptr[0] = 0


@cache
def _kernels() -> SimpleNamespace:
    return compile_kernels(
        globals(), parallel={"step": _step, "layout": _layout}, sequential={"order": _order, "bounds": _bounds}
    )


@dataclass(frozen=True)
class _Layout:
    """The graph as ``_step`` reads it (rows renumbered, see there); ``old``/``new`` map the ids."""

    old: np.ndarray  # new row -> graph node id
    new: np.ndarray  # graph node id -> new row
    nl: int
    h1: int
    h2: int
    degree: np.ndarray  # out-degree of the linking rows 0..nl-1
    indptr: np.ndarray
    cols: np.ndarray
    bounds: np.ndarray
    hq: np.ndarray
    nseg: int
    hptr: np.ndarray
    hcols: np.ndarray

    @classmethod
    def of(cls, graph: CSRGraph, kern: SimpleNamespace) -> _Layout:
        n = graph.n
        old = np.empty(n, dtype=np.int32)
        new = np.empty(n, dtype=np.uint32)  # ids >= 0: unsigned, see _U1
        starts = np.zeros(n + 1, dtype=np.int64)  # of the light rows: 0 + their in-degrees, summed below
        degree = np.empty(n, dtype=np.int32)
        indeg = np.diff(graph.indptr)
        # _order counts rows per in-degree up to the threshold: past the largest in-degree, no row is heavy
        # and a larger threshold would only grow its table (a threshold of 1e9 would need 16 GB).
        heavy_row = min(_HEAVY_ROW, int(indeg.max(initial=0)) + 1)
        order = kern.order(indeg, graph.out_degree, heavy_row, old, new, starts[1:], degree)
        nl, h1, h2 = (int(v) for v in order)
        np.cumsum(starts[1:], out=starts[1:])
        heavy = np.concatenate((old[h1:nl], old[h2:]))
        hdeg = graph.indptr[heavy + 1] - graph.indptr[heavy]
        indptr = starts.astype(np.uint32 if starts[-1] <= np.iinfo(np.uint32).max else np.uint64)
        blocks = int(min(256, max(1, (int(starts[-1]) + n) // 32768)))
        hwork = np.zeros(hdeg.size + 1, dtype=np.int64)
        np.cumsum(hdeg, out=hwork[1:])
        hq = np.searchsorted(hwork, hwork[-1] * np.arange(_HEAVY_CHUNKS + 1) // _HEAVY_CHUNKS).astype(np.int64)
        hq[0], hq[-1] = 0, hdeg.size
        nseg = (nl + (1 << _SEGMENT_BITS) - 1) >> _SEGMENT_BITS
        hptr = np.zeros(hdeg.size * nseg + 1, dtype=np.int64)
        hcols = np.empty(int(hwork[-1]), dtype=np.uint16)
        cols = np.empty(int(starts[-1]), dtype=np.uint32)
        kern.layout(
            old, new, graph.indptr, graph.indices, indptr, cols, h1, nl, h2, hq, nseg, _SEGMENT_BITS, hptr, hcols
        )
        return cls(
            old=old,
            new=new,
            nl=nl,
            h1=h1,
            h2=h2,
            degree=degree[:nl],
            indptr=indptr,
            cols=cols,
            bounds=kern.bounds(starts, blocks),
            hq=hq,
            nseg=nseg,
            hptr=hptr,
            hcols=hcols,
        )

    def bytes_per_iteration(self) -> int:
        """What one ``_step`` moves at least: each column once (4 B light, 2 B heavy), the pointers,
        x read and y written (8 B per node each), the heavy rows' sums written and read, and per
        linking node its out-degree (4 B), the compact vector gathered from (8 B, once: it stays in
        cache) and the next one written (8 B)."""
        n = self.old.shape[0]
        return (
            self.cols.nbytes + self.hcols.nbytes + self.indptr.nbytes + self.hptr.nbytes
            + 16 * n + 16 * int(self.hq[-1]) + 20 * self.nl
        )  # fmt: skip


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
    with KERNEL_LOCK:
        lay = _Layout.of(graph, kern)
    nl = lay.nl
    blocks = lay.bounds.shape[0] - 1
    x = np.full(n, 1.0 / n) if p is None else p[lay.old]
    y = np.empty(n, dtype=np.float64)
    xs = np.empty(nl, dtype=np.float64)
    xs_next = np.empty(nl, dtype=np.float64)
    np.divide(x[:nl], lay.degree, out=xs)
    mass_linking = float(x[:nl].sum())
    pvec = np.empty(0, dtype=np.float64) if p is None else x.copy()
    hsum = np.empty(lay.hq[-1], dtype=np.float64)
    part_delta = np.empty(blocks, dtype=np.float64)
    part_mass = np.empty(blocks, dtype=np.float64)
    delta = np.inf
    it = 0
    with KERNEL_LOCK:
        while it < max_iter:
            lost = 1.0 - mass_linking  # dangling mass (x sums to 1), redistributed with the teleport
            c = damping * lost + (1.0 - damping)
            kern.step(
                lay.bounds, nl, lay.h1, lay.h2, lay.indptr, lay.cols, lay.hq, lay.hptr, lay.hcols, lay.nseg, _SEGMENT_BITS,
                hsum, lay.degree, xs, xs_next, x, y, pvec, damping, c, part_delta, part_mass,
            )  # fmt: skip
            delta = float(part_delta.sum())
            mass_linking = float(part_mass.sum())
            x, y = y, x
            xs, xs_next = xs_next, xs
            it += 1
            if delta < tol:
                break
    x = x[lay.new]  # back to the graph's node ids
    x /= x.sum()  # remove rounding drift so the scores are a probability vector
    return PageRankResult(scores=x, iterations=it, delta=delta, tol=tol)
