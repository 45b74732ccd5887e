"""``from_edges`` (the numba radix-sort build) against a plain numpy reference: lexsort/unique by
(target, source), in-link rows, out-degree by bincount — on small random edge lists with repeats
and self-loops (hypothesis), and on graphs big enough for the parallel path, many buckets, long rows
(both radix digit widths) and node ids past 2**22 (three radix passes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkback.graph import CSRGraph, from_edges


def _reference(src, dst, n: int, *, drop_self_loops: bool = True, dedupe: bool = True):
    src = np.asarray(src).astype(np.int64)
    dst = np.asarray(dst).astype(np.int64)
    if drop_self_loops:
        keep = src != dst
        src, dst = src[keep], dst[keep]
    if dedupe:
        key = np.unique(dst * max(n, 1) + src)
        dst, src = key // max(n, 1), key % max(n, 1)
    else:
        order = np.lexsort((src, dst))
        src, dst = src[order], dst[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=n), out=indptr[1:])
    return indptr, src.astype(np.int32), np.bincount(src, minlength=n).astype(np.int64)


def _assert_matches(g: CSRGraph, src, dst, n: int, **flags) -> None:
    indptr, indices, out_degree = _reference(src, dst, n, **flags)
    assert g.n == n
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int32 and g.out_degree.dtype == np.int64
    np.testing.assert_array_equal(g.indptr, indptr)
    np.testing.assert_array_equal(g.indices, indices)
    np.testing.assert_array_equal(g.out_degree, out_degree)


@st.composite
def _edge_lists(draw):
    n = draw(st.integers(1, 40))
    ids = st.integers(0, n - 1)
    pairs = draw(st.lists(st.tuples(ids, ids), max_size=300))
    pairs += draw(st.lists(st.sampled_from(pairs), max_size=50)) if pairs else []  # repeats
    dtype = draw(st.sampled_from([np.int32, np.int64]))
    src = np.array([s for s, _ in pairs], dtype=dtype)
    dst = np.array([d for _, d in pairs], dtype=dtype)
    return src, dst, n + draw(st.integers(0, 5))  # n may exceed the largest id


@settings(max_examples=200, deadline=None)
@given(_edge_lists(), st.booleans(), st.booleans())
def test_from_edges_matches_a_lexsort_reference(edges, drop_self_loops, dedupe) -> None:
    src, dst, n = edges
    g = from_edges(src, dst, n, drop_self_loops=drop_self_loops, dedupe=dedupe)
    _assert_matches(g, src, dst, n, drop_self_loops=drop_self_loops, dedupe=dedupe)


def _skewed(seed: int, n: int, m: int, hubs: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform sources, targets half uniform and half on a few hubs (rows of every length), plus
    repeated edges and self-loops."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, m)
    dst = np.where(rng.random(m) < 0.5, rng.integers(0, n, m), rng.integers(0, hubs, m) * (n // hubs))
    src = np.concatenate([src, src[: m // 10], dst[: m // 50]])
    dst = np.concatenate([dst, dst[: m // 10], dst[: m // 50]])
    return src, dst


@pytest.mark.parametrize(
    ("n", "m", "hubs"),
    [
        (300_000, 400_000, 20),  # parallel path, many buckets, a few rows of thousands
        (1_000, 300_000, 5),  # dense: one bucket, long rows full of repeats
        (70_000, 200_000, 3),  # more than one bucket of sources for the out-degrees
    ],
)
@pytest.mark.parametrize("dedupe", [True, False])
def test_from_edges_matches_the_reference_on_larger_skewed_graphs(n: int, m: int, hubs: int, dedupe: bool) -> None:
    src, dst = _skewed(n, n, m, hubs)
    _assert_matches(from_edges(src.astype(np.int32), dst, n, dedupe=dedupe), src, dst, n, dedupe=dedupe)


def test_from_edges_sorts_ids_above_2_to_the_22() -> None:
    n = (1 << 22) + 3  # 23-bit ids: three passes of wide digits, four of narrow ones
    src, dst = _skewed(5, n, 150_000, 4)
    _assert_matches(from_edges(src, dst, n), src, dst, n)


def test_from_edges_keeps_repeats_in_target_then_source_order_without_dedupe() -> None:
    src = np.array([2, 0, 2, 1, 0, 3, 3])
    dst = np.array([3, 3, 3, 3, 3, 3, 0])
    g = from_edges(src, dst, 4, dedupe=False, drop_self_loops=False)
    assert g.indices.tolist() == [3, 0, 0, 1, 2, 2, 3]
    assert g.indptr.tolist() == [0, 1, 1, 1, 7]
    assert g.out_degree.tolist() == [2, 1, 2, 2]


def test_from_edges_builds_empty_graphs() -> None:
    empty = np.array([], dtype=np.int32)
    for n in (0, 1, 100_000):
        g = from_edges(empty, empty, n)
        assert g.m == 0 and g.indptr.shape == (n + 1,) and not g.indptr.any() and not g.out_degree.any()
    # only self-loops: nothing is left
    g = from_edges(np.arange(5), np.arange(5), 5)
    assert g.m == 0 and g.indptr.tolist() == [0] * 6


def test_from_edges_accepts_other_integer_types_strided_and_read_only_arrays() -> None:
    edges = np.array([[0, 1], [2, 1], [0, 1], [1, 1], [1, 0]], dtype=np.int64)
    src, dst = edges[:, 0], edges[:, 1]  # strided views
    want = _reference(src, dst, 4)
    for s, d in [(src, dst), (src.astype(np.uint16), dst.astype(np.uint8)), (src.tolist(), dst.tolist())]:
        g = from_edges(s, d, 4)
        assert [a.tolist() for a in (g.indptr, g.indices, g.out_degree)] == [a.tolist() for a in want]
    ro_src, ro_dst = np.ascontiguousarray(src), np.ascontiguousarray(dst)
    ro_src.flags.writeable = ro_dst.flags.writeable = False
    assert from_edges(ro_src, ro_dst, 4).indices.tolist() == want[1].tolist()


def test_from_edges_rejects_bad_input_with_the_same_messages() -> None:
    with pytest.raises(ValueError, match=r"must lie in 0\.\.2, found 0\.\.3"):
        from_edges(np.array([0]), np.array([3]), 3)
    with pytest.raises(ValueError, match=r"must lie in 0\.\.2, found -1\.\.1"):
        from_edges(np.array([0, -1], dtype=np.int32), np.array([1, 1], dtype=np.int32), 3)
    big = np.zeros(300_000, dtype=np.int64)
    big[-1] = 7  # out of range in the last parallel chunk only
    with pytest.raises(ValueError, match=r"must lie in 0\.\.6, found 0\.\.7"):
        from_edges(big, big[::-1].copy(), 7)
    with pytest.raises(ValueError, match=r"found 0\.\.9"):
        from_edges(np.array([0], dtype=np.uint8), np.array([9], dtype=np.uint8), 5)
    with pytest.raises(ValueError, match="equal length"):
        from_edges(np.array([0, 1]), np.array([1]), 3)
    with pytest.raises(ValueError, match="equal length"):
        from_edges(np.zeros((2, 2)), np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="n must be >= 0"):
        from_edges(np.array([], dtype=np.int64), np.array([], dtype=np.int64), -1)
    with pytest.raises(ValueError, match="does not fit int32"):
        from_edges(np.array([0]), np.array([1]), 2**31)
