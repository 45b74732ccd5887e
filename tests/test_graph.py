"""Link graphs and PageRank/TrustRank (issue #3): agreement with networkx on real and generated graphs.

Self-loops and repeated links are dropped by ``from_edges`` (URL Rating rules); networkx counts a
self-loop as a link, so the networkx side is given the same distinct, loop-free edges before comparing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, shared_path
from hypothesis import given, settings
from hypothesis import strategies as st

from linkback.graph import CSRGraph, from_edges, pagerank

nx = pytest.importorskip("networkx")


def _networkx_scores(
    graph: CSRGraph, *, damping: float = 0.85, personalization=None, l1_tol: float = 1e-12
) -> np.ndarray:
    """networkx.pagerank on the same distinct edges, stopped at L1 step < l1_tol (it stops at err < N·tol)."""
    src, dst = graph.edges()
    g = nx.DiGraph()
    g.add_nodes_from(range(graph.n))
    g.add_edges_from(zip(src.tolist(), dst.tolist()))
    pers = None if personalization is None else dict(enumerate(personalization.tolist()))
    res = nx.pagerank(g, alpha=damping, tol=l1_tol / graph.n, max_iter=10_000, personalization=pers)
    return np.array([res[i] for i in range(graph.n)])


def _l1(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).sum())


def _assert_agrees_with_networkx(graph: CSRGraph) -> None:
    """Two checks. Same stopping rule (L1 step < 1e-6, both from uniform): the same iterates, so the
    same vector to rounding. And the fixed point: ours at L1 step < 1e-9 is within L1 1e-6 of networkx
    solved to 1e-12 — a step below 1e-6 alone only bounds the error by about α/(1−α)·1e-6 ≈ 6e-6."""
    ours = pagerank(graph, tol=1e-6)
    assert ours.converged
    assert _l1(ours.scores, _networkx_scores(graph, l1_tol=1e-6)) < 1e-9
    assert _l1(pagerank(graph, tol=1e-9).scores, _networkx_scores(graph)) < 1e-6


def _load_polblogs() -> CSRGraph:
    base = shared_path("06_link_graphs", "polblogs")
    ids = np.loadtxt(base / "polblogs_nodes.tsv", skiprows=1, usecols=0, dtype=np.int64, delimiter="\t")
    edges = np.loadtxt(base / "polblogs_edges.tsv", skiprows=1, usecols=(0, 1), dtype=np.int64, delimiter="\t")
    assert len(ids) == 1490 and len(edges) == 19090  # the counts SOURCE.txt states
    index = np.full(ids.max() + 1, -1)
    index[ids] = np.arange(len(ids))
    return from_edges(index[edges[:, 0]], index[edges[:, 1]], len(ids))


def _data_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]


def _load_wikispeedia() -> CSRGraph:
    base = shared_path("06_link_graphs", "wikispeedia")
    names = _data_lines(base / "articles.tsv")
    links = [ln.split("\t") for ln in _data_lines(base / "links.tsv")]
    assert len(names) == 4604 and len(links) == 119882
    index = {name: i for i, name in enumerate(names)}
    src = np.array([index[s] for s, _ in links])
    dst = np.array([index[t] for _, t in links])
    return from_edges(src, dst, len(names))


def _random_edges(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges from a third of the nodes only (so most are dangling), with repeats and self-loops added."""
    rng = np.random.default_rng(seed)
    linkers = rng.choice(n, size=max(1, n // 3), replace=False)
    src = linkers[rng.integers(0, len(linkers), m)]
    dst = rng.integers(0, n, m)
    loops = linkers[:5]
    src = np.concatenate([src, src[:20], loops])
    dst = np.concatenate([dst, dst[:20], loops])
    return src, dst


# -- from_edges ------------------------------------------------------------------------------------


def test_from_edges_counts_repeated_links_once_and_ignores_self_links() -> None:
    g = from_edges(np.array([0, 0, 0, 1, 2, 2, 1]), np.array([1, 1, 2, 2, 2, 0, 1]), 3)
    src, dst = g.edges()
    assert sorted(zip(src.tolist(), dst.tolist())) == [(0, 1), (0, 2), (1, 2), (2, 0)]
    assert g.out_degree.tolist() == [2, 1, 1]
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int32


def test_from_edges_stores_each_nodes_in_links_sorted_by_source() -> None:
    g = from_edges(np.array([3, 1, 2, 0]), np.array([4, 4, 4, 4]), 5)
    assert g.indices[g.indptr[4] : g.indptr[5]].tolist() == [0, 1, 2, 3]
    assert np.diff(g.indptr).tolist() == [0, 0, 0, 0, 4]


def test_from_edges_keeps_repeats_and_loops_only_when_asked() -> None:
    g = from_edges(np.array([0, 0, 1]), np.array([1, 1, 1]), 2, dedupe=False, drop_self_loops=False)
    assert g.m == 3 and g.out_degree.tolist() == [2, 1]


def test_from_edges_keeps_isolated_nodes_up_to_n() -> None:
    g = from_edges(np.array([0]), np.array([1]), 5)
    assert g.n == 5 and len(g.indptr) == 6 and g.out_degree.tolist() == [1, 0, 0, 0, 0]
    assert pagerank(g).scores.shape == (5,)


def test_from_edges_builds_an_empty_graph() -> None:
    empty = np.array([], dtype=np.int64)
    g = from_edges(empty, empty, 0)
    assert g.n == 0 and g.m == 0 and g.indptr.tolist() == [0]
    assert pagerank(g).scores.size == 0
    lonely = pagerank(from_edges(empty, empty, 4))
    np.testing.assert_allclose(lonely.scores, 0.25)


def test_from_edges_rejects_endpoints_outside_the_node_range() -> None:
    with pytest.raises(ValueError, match="0..2"):
        from_edges(np.array([0]), np.array([3]), 3)
    with pytest.raises(ValueError, match="equal length"):
        from_edges(np.array([0, 1]), np.array([1]), 3)


# -- PageRank against networkx -----------------------------------------------------------------------


@pytest.mark.shared
def test_pagerank_agrees_with_networkx_on_the_real_polblogs_graph() -> None:
    g = _load_polblogs()
    assert g.m == 19090 - 65 - 3  # 65 repeated links and 3 self-links are dropped
    _assert_agrees_with_networkx(g)


@pytest.mark.shared
def test_pagerank_agrees_with_networkx_on_the_real_wikispeedia_graph() -> None:
    g = _load_wikispeedia()
    _assert_agrees_with_networkx(g)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pagerank_agrees_with_networkx_on_generated_graphs_with_dangling_nodes_loops_and_repeats(seed: int) -> None:
    src, dst = _random_edges(seed, 300, 1500)
    g = from_edges(src, dst, 300)
    assert (g.out_degree == 0).sum() >= 150  # mostly dangling, as on the web
    _assert_agrees_with_networkx(g)


def test_pagerank_agrees_with_networkx_for_another_damping_and_a_personalization() -> None:
    src, dst = _random_edges(7, 200, 1000)
    g = from_edges(src, dst, 200)
    pers = np.random.default_rng(7).random(200)
    ours = pagerank(g, damping=0.6, personalization=pers, tol=1e-10)
    # networkx spreads dangling mass over the personalization vector too (dangling=None)
    assert _l1(ours.scores, _networkx_scores(g, damping=0.6, personalization=pers / pers.sum())) < 1e-6


@pytest.mark.parametrize("heavy_row, segment_bits", [(1, 3), (3, 2), (10**9, 16)])
def test_pagerank_agrees_with_networkx_whichever_rows_are_summed_segment_by_segment(
    monkeypatch: pytest.MonkeyPatch, heavy_row: int, segment_bits: int
) -> None:
    """Rows with many in-links are summed over 16-bit columns, one L2-sized segment of sources at a time:
    with tiny thresholds every row (or none) goes that way, over dozens of segments, and nothing changes."""
    from linkback.graph import _pagerank

    monkeypatch.setattr(_pagerank, "_HEAVY_ROW", heavy_row)
    monkeypatch.setattr(_pagerank, "_SEGMENT_BITS", segment_bits)
    src, dst = _random_edges(5, 300, 3000)
    g = from_edges(src, dst, 300)
    _assert_agrees_with_networkx(g)
    pers = np.random.default_rng(5).random(300)
    ours = pagerank(g, damping=0.6, personalization=pers, tol=1e-10)
    assert _l1(ours.scores, _networkx_scores(g, damping=0.6, personalization=pers / pers.sum())) < 1e-6


def test_pagerank_gives_the_same_bits_whatever_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    import numba

    from linkback.graph import _pagerank

    monkeypatch.setattr(_pagerank, "_HEAVY_ROW", 4)
    monkeypatch.setattr(_pagerank, "_SEGMENT_BITS", 4)
    src, dst = _random_edges(9, 2000, 40_000)
    g = from_edges(src, dst, 2000)
    before = numba.get_num_threads()
    runs = []
    try:
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            runs.append(pagerank(g, tol=1e-12).scores)
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(runs[0], r) for r in runs)


def test_pagerank_stops_at_max_iter_and_says_it_did_not_converge() -> None:
    src, dst = _random_edges(3, 200, 800)
    res = pagerank(from_edges(src, dst, 200), max_iter=2)
    assert res.iterations == 2 and not res.converged
    assert res.scores.sum() == pytest.approx(1.0)


def test_pagerank_rejects_a_personalization_without_any_seed() -> None:
    g = from_edges(np.array([0]), np.array([1]), 2)
    with pytest.raises(ValueError, match="seed"):
        pagerank(g, personalization=np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        pagerank(g, personalization=np.ones(3))


# -- TrustRank ---------------------------------------------------------------------------------------


def _trust_graph() -> CSRGraph:
    # seeds 0, 1 → 2, 3; 3 → 4 → 5 (5 dangling); 6 links into the seeds but nothing reaches it; 7 isolated
    src = np.array([0, 0, 1, 1, 3, 4, 6, 6])
    dst = np.array([2, 3, 2, 3, 4, 5, 0, 1])
    return from_edges(src, dst, 8)


def test_trustrank_gives_exactly_zero_to_nodes_the_seeds_cannot_reach() -> None:
    seeds = np.zeros(8)
    seeds[[0, 1]] = 1.0
    res = pagerank(_trust_graph(), personalization=seeds)
    assert res.scores[6] == 0.0 and res.scores[7] == 0.0
    assert (res.scores[:6] > 0).all()


def test_trustrank_seeds_hold_the_most_trust_and_trust_decays_along_links() -> None:
    seeds = np.zeros(8)
    seeds[[0, 1]] = 1.0
    s = pagerank(_trust_graph(), personalization=seeds).scores
    assert min(s[0], s[1]) > s[2:].max()
    assert s[3] > s[4] > s[5]  # each hop from the seeds passes on only α of the trust


def test_trustrank_normalises_the_seed_weights_so_scores_sum_to_one() -> None:
    g = _trust_graph()
    a = pagerank(g, personalization=np.array([1.0, 1, 0, 0, 0, 0, 0, 0]))
    b = pagerank(g, personalization=np.array([5.0, 5, 0, 0, 0, 0, 0, 0]))
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.scores.sum() == pytest.approx(1.0, abs=1e-12)


# -- properties --------------------------------------------------------------------------------------

edge_lists = st.integers(1, 30).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=120))
)


@settings(max_examples=60, deadline=None)
@given(edge_lists, st.randoms(use_true_random=False))
def test_pagerank_is_a_probability_vector_that_follows_the_nodes_when_they_are_relabelled(case, rnd) -> None:
    n, edges = case
    src = np.array([s for s, _ in edges], dtype=np.int64)
    dst = np.array([t for _, t in edges], dtype=np.int64)
    perm = np.array(rnd.sample(range(n), n))
    a = pagerank(from_edges(src, dst, n), tol=1e-12).scores
    b = pagerank(from_edges(perm[src], perm[dst], n), tol=1e-12).scores
    assert (a >= 0).all() and a.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(b[perm], a, rtol=0, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(edge_lists, st.data())
def test_repeating_a_link_or_adding_a_self_link_changes_no_score(case, data) -> None:
    n, edges = case
    src = np.array([s for s, _ in edges], dtype=np.int64)
    dst = np.array([t for _, t in edges], dtype=np.int64)
    extra = data.draw(st.integers(0, n - 1))
    base = pagerank(from_edges(src, dst, n)).scores
    if len(edges):
        again = pagerank(from_edges(np.append(src, src[0]), np.append(dst, dst[0]), n)).scores
        np.testing.assert_array_equal(again, base)
    looped = pagerank(from_edges(np.append(src, extra), np.append(dst, extra), n)).scores
    np.testing.assert_array_equal(looped, base)


# -- the bench still runs --------------------------------------------------------------------------


def test_bench_pagerank_quick_prints_its_comparison_table() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_pagerank.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| implementation" in proc.stdout
    assert "linkback" in proc.stdout and "floor" in proc.stdout
