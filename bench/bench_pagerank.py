"""PageRank on a generated power-law graph: linkback vs networkit, igraph (PRPACK) and networkx.

The graph follows ../shared/specs/webgraph-perf.md §5: n nodes, m distinct edges, only 30 % of the
nodes have out-links (70 % dangling, like Common Crawl host graphs), targets drawn from Zipf(0.9),
fixed seed. Every implementation starts from the same numpy edge arrays and its time includes
building its own graph from them, then ranks with α = 0.85, dangling mass spread uniformly, to an L1
step below 1e-6. Results are checked against linkback's (top-1000 overlap, L1 distance).
linkback's table rows are medians of warm runs; the one-off cost of its first call in a process
(importing numba and loading the kernels it compiled and cached on an earlier run) is printed
separately, as is one iteration against the memory-bandwidth floor of the bytes it touches.

Peak RSS is the kernel's high-water mark (VmHWM), reset before each implementation through
/proc/self/clear_refs, so each row is that implementation's own peak inside this one process
(graph arrays and imported libraries included).

    python bench/bench_pagerank.py              # 1M nodes / 10M edges (networkx only with --with-networkx)
    python bench/bench_pagerank.py --quick      # 10k / 100k, networkx included
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import dump_json, machine, median, peak_rss_mb, print_table, ratio, versions  # noqa: E402

from linkback.graph import from_edges, pagerank  # noqa: E402
from linkback.graph._csr import KERNEL_LOCK  # noqa: E402
from linkback.graph._pagerank import _kernels, _Layout  # noqa: E402

DAMPING = 0.85
TOL = 1e-6


def power_law_edges(n: int, m: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """m distinct, loop-free edges: sources uniform over a 30 % linking subset, targets Zipf(0.9).

    Target ranks are shuffled over the node ids, and the edge order is shuffled, so no implementation
    gets pre-sorted input or an id order that happens to suit its cache.
    """
    rng = np.random.default_rng(seed)
    linkers = rng.choice(n, size=max(1, int(0.3 * n)), replace=False).astype(np.int64)
    weights = np.arange(1, n + 1, dtype=np.float64) ** -0.9
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    rank_to_node = rng.permutation(n).astype(np.int64)
    keys = np.empty(0, dtype=np.int64)
    while keys.size < m:
        k = int((m - keys.size) * 1.3) + 16
        src = linkers[rng.integers(0, linkers.size, k)]
        dst = rank_to_node[np.minimum(np.searchsorted(cdf, rng.random(k)), n - 1)]
        fresh = src[src != dst] * n + dst[src != dst]
        keys = np.unique(np.concatenate([keys, fresh]))
    keys = keys[rng.permutation(keys.size)[:m]]
    return (keys // n).astype(np.int32), (keys % n).astype(np.int32)


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (Linux ≥ 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def hwm_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


@dataclass
class Run:
    name: str
    build_s: float
    rank_s: float
    iterations: int | None
    scores: np.ndarray
    peak_mb: float = float("nan")

    @property
    def total_s(self) -> float:
        return self.build_s + self.rank_s


def run_linkback(src: np.ndarray, dst: np.ndarray, n: int) -> Run:
    t0 = time.perf_counter()
    g = from_edges(src, dst, n)
    t1 = time.perf_counter()
    res = pagerank(g, damping=DAMPING, tol=TOL)
    t2 = time.perf_counter()
    return Run("linkback", t1 - t0, t2 - t1, res.iterations, res.scores)


def run_networkit(src: np.ndarray, dst: np.ndarray, n: int) -> Run:
    import networkit as nk

    nk.setNumberOfThreads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    g = nk.Graph(n, directed=True)
    g.addEdges((src.astype(np.uint64), dst.astype(np.uint64)))  # its node id type; int32 input crashes it
    t1 = time.perf_counter()
    pr = nk.centrality.PageRank(g, damp=DAMPING, tol=TOL, distributeSinks=nk.centrality.SinkHandling.DistributeSinks)
    pr.norm = nk.centrality.Norm.L1_NORM
    pr.run()
    scores = np.asarray(pr.scores())
    t2 = time.perf_counter()
    return Run(
        f"networkit ({nk.getMaxNumberOfThreads()} threads)",
        t1 - t0,
        t2 - t1,
        pr.numberOfIterations(),
        scores / scores.sum(),
    )


def run_igraph(src: np.ndarray, dst: np.ndarray, n: int) -> Run:
    import igraph as ig

    t0 = time.perf_counter()
    g = ig.Graph(n=n, edges=np.column_stack((src, dst)), directed=True)
    t1 = time.perf_counter()
    scores = np.asarray(g.pagerank(damping=DAMPING, implementation="prpack"))
    t2 = time.perf_counter()
    return Run("igraph PRPACK", t1 - t0, t2 - t1, None, scores / scores.sum())


def run_networkx(src: np.ndarray, dst: np.ndarray, n: int) -> Run:
    import networkx as nx

    t0 = time.perf_counter()
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(src.tolist(), dst.tolist()))
    t1 = time.perf_counter()
    res = nx.pagerank(g, alpha=DAMPING, tol=TOL / n)  # networkx stops at err < N·tol
    t2 = time.perf_counter()
    return Run("networkx", t1 - t0, t2 - t1, None, np.array([res[i] for i in range(n)]))


def measured(fn: Callable[[np.ndarray, np.ndarray, int], Run], reps: int, *args) -> Run:
    """Median of ``reps`` runs by total time, with this implementation's own peak RSS."""
    gc.collect()
    reset_peak_rss()
    runs = [fn(*args) for _ in range(reps)]
    best = sorted(runs, key=lambda r: r.total_s)[len(runs) // 2]
    best.peak_mb = hwm_mb()
    return best


def ms_per_iteration(g, reps: int = 5) -> float:
    """linkback's steady-state cost of one iteration: the time of a 20-iteration call minus a
    5-iteration one, over the iterations they actually ran (a median over ``reps`` pairs). Counting
    the iterations matters: with a tol no step can reach, the power iteration still stops once the
    step is exactly 0 (here after 24 iterations), and dividing by the requested ones would flatter it."""
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        short = pagerank(g, damping=DAMPING, tol=1e-300, max_iter=5)
        t1 = time.perf_counter()
        long = pagerank(g, damping=DAMPING, tol=1e-300, max_iter=20)
        t2 = time.perf_counter()
        if long.iterations > short.iterations:
            samples.append(((t2 - t1) - (t1 - t0)) / (long.iterations - short.iterations) * 1000)
    return median(samples) if samples else float("nan")


def kernel_bytes(g) -> int:
    """What one iteration of linkback's kernel moves at least, for its layout of ``g`` (see _pagerank)."""
    with KERNEL_LOCK:
        return _Layout.of(g, _kernels()).bytes_per_iteration()


def read_bandwidth_gbs(mb: int = 400, threads: int = 1) -> float:
    """Streaming read bandwidth: numpy sums over an array far larger than the caches, ``threads`` slices at once."""
    from concurrent.futures import ThreadPoolExecutor

    a = np.ones(mb * 2**20 // 8)
    parts = np.array_split(a, threads)
    with ThreadPoolExecutor(threads) as pool:  # numpy releases the GIL in sum
        list(pool.map(np.sum, parts))
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            list(pool.map(np.sum, parts))
            samples.append(time.perf_counter() - t0)
    return a.nbytes / median(samples) / 1e9


def first_call_s() -> float:
    """A fresh interpreter's first ``pagerank`` on a 3-node graph: numba import + loading the cached kernels."""
    code = (
        "import time, numpy as np; from linkback.graph import from_edges, pagerank; "
        "g = from_edges(np.array([0, 1]), np.array([1, 2]), 3); t = time.perf_counter(); pagerank(g); "
        "print(time.perf_counter() - t)"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def kernel_threads() -> tuple[int, str]:
    """Threads and threading layer numba runs linkback's kernels with (after a first call)."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "?"
    return numba.get_num_threads(), layer


def top_overlap(a: np.ndarray, b: np.ndarray, k: int = 1000) -> float:
    k = min(k, a.size)
    return len(np.intersect1d(np.argsort(-a)[:k], np.argsort(-b)[:k])) / k


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--edges", type=int, default=10_000_000)
    ap.add_argument("--quick", action="store_true", help="10k nodes / 100k edges, networkx included")
    ap.add_argument("--with-networkx", action="store_true", help="run networkx at full size (~2 min, 4.5 GB)")
    ap.add_argument("--reps", type=int, default=3, help="runs of linkback and networkit (median); peers once")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", help="write the results to FILE ('-' for stdout)")
    args = ap.parse_args(argv)
    n, m = (10_000, 100_000) if args.quick else (args.nodes, args.edges)

    t0 = time.perf_counter()
    src, dst = power_law_edges(n, m, args.seed)
    indeg = np.bincount(dst, minlength=n)
    dangling = 1 - np.unique(src).size / n
    print(
        f"graph: n={n:,} m={m:,} distinct edges, {dangling:.0%} dangling, max in-degree {indeg.max():,}, "
        f"generated in {time.perf_counter() - t0:.1f} s; α={DAMPING}, stop at L1 step < {TOL:g}"
    )

    runs = [measured(run_linkback, args.reps, src, dst, n)]
    peers: list[tuple[str, Callable, int]] = [
        ("networkit", run_networkit, args.reps),
        ("igraph", run_igraph, 1),
    ]
    if args.quick or args.with_networkx:
        peers.append(("networkx", run_networkx, 1))
    skipped = []
    for module, fn, reps in peers:
        try:
            __import__(module)
        except ImportError:
            skipped.append(module)
            continue
        runs.append(measured(fn, reps, src, dst, n))

    ours = runs[0]
    rows = []
    for r in runs:
        it_ms = r.rank_s / r.iterations * 1000 if r.iterations else None
        rows.append(
            [
                r.name,
                f"{r.build_s:.3f}",
                f"{r.rank_s:.3f}",
                f"{r.total_s:.3f}",
                r.iterations if r.iterations is not None else "-",
                f"{it_ms:.2f}" if it_ms else "-",
                f"{ratio(r.total_s, ours.total_s):.1f}",
                f"{r.peak_mb:.0f}",
                f"{top_overlap(ours.scores, r.scores):.3f}",
                f"{np.abs(ours.scores - r.scores).sum():.1e}",
            ]
        )
    print()
    print_table(
        [
            "implementation",
            "build s",
            "rank s",
            "total s",
            "iterations",
            "ms/iteration",
            "× linkback",
            "peak RSS MB",
            "top-1000 overlap",
            "L1 vs linkback",
        ],
        rows,
    )
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)}")
    if not (args.quick or args.with_networkx):
        print(
            "networkx not run at this size (--with-networkx); spec anchor on this graph: 105 s (55 s build + 50 s rank)"
        )

    threads, layer = kernel_threads()
    bw1 = read_bandwidth_gbs()
    bw = read_bandwidth_gbs(threads=threads) if threads > 1 else bw1
    linking = n - round(dangling * n)
    g = from_edges(src, dst, n)
    # The minimal bytes of a pull iteration over the in-link CSR (the spec's ≈ 4m + 36n): int32 sources
    # (4 B/edge), uint32 row pointers, x read and y written (8 B/node each), and per linking node its
    # position and out-degree (4 B each), the compact x/outdeg it gathers from (8 B, counted once: it
    # stays in cache) and the next one it writes (8 B).
    floor_bytes = 4 * m + 4 * (n + 1) + 16 * n + 24 * linking
    # What linkback's kernel moves: 16-bit columns for the rows it sums segment by segment, 4 B for the
    # others (``_Layout.bytes_per_iteration``) — fewer bytes, so a lower floor.
    own_bytes = kernel_bytes(g)
    it_ms = ms_per_iteration(g)
    del g
    print()
    for label, nbytes in (
        ("4m + 4(n+1) + 16n + 24·linking nodes", floor_bytes),
        ("the bytes linkback's kernel moves", own_bytes),
    ):
        ms = nbytes / (bw * 1e9) * 1000
        ms1 = nbytes / (bw1 * 1e9) * 1000
        print(
            f"memory-bandwidth floor ({label}): {nbytes / 1e6:.0f} MB/iteration at {bw:.1f} GB/s read with "
            f"{threads} thread(s) = {ms:.2f} ms/iteration ({ms1:.2f} ms at the {bw1:.1f} GB/s of one thread): "
            f"linkback {it_ms / ms:.1f}× ({it_ms / ms1:.1f}× the one-thread floor)"
        )
    floor_ms = floor_bytes / (bw * 1e9) * 1000
    print(f"linkback steady state: {it_ms:.2f} ms/iteration")
    cold = first_call_s()
    print(
        f"linkback kernels: numba, {threads} thread(s), {layer} layer; a fresh process's first call "
        f"costs {cold:.2f} s (numba import + loading the cached machine code), not in the table"
    )
    bad = [
        r.name
        for r in runs[1:]
        if top_overlap(ours.scores, r.scores) < 0.99 or np.abs(ours.scores - r.scores).sum() >= 1e-5
    ]
    print(
        "agreement: "
        + (f"FAILED for {', '.join(bad)}" if bad else "every peer's top-1000 overlap ≥ 0.99 and L1 < 1e-5")
    )
    dump_json(
        {
            "machine": machine(),
            "versions": versions("numpy", "scipy", "networkit", "igraph", "networkx"),
            "graph": {"n": n, "m": m, "dangling": dangling, "max_indegree": int(indeg.max())},
            "runs": [{k: v for k, v in vars(r).items() if k != "scores"} | {"total_s": r.total_s} for r in runs],
            "bandwidth_gbs": bw,
            "bandwidth_1thread_gbs": bw1,
            "kernel_threads": threads,
            "first_call_s": cold,
            "floor_bytes_per_iteration": floor_bytes,
            "kernel_bytes_per_iteration": own_bytes,
            "floor_ms_per_iteration": floor_ms,
            "linkback_ms_per_iteration": it_ms,
            "agreement_failed": bad,
        },
        args.json,
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
