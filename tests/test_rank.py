"""`rank`: graphs from the store, Domain/URL Rating, TrustRank, anti-trust, runs and DR history (issue #3)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linkrows import insert, link, store_of, ts

from linkback.graph._from_store import PageLinks, _number_pages
from linkback.graph._scale import rating
from linkback.rank import SeedFileError, latest_run, parse_seeds, rank
from linkback.store import Store

_SCRATCH: list[Store] = []


def domain_ratings(links, **kwargs) -> dict[str, float]:
    """DR of every domain of a store holding just ``links`` (one scratch store, emptied each time:
    creating a store costs more than ranking a small one)."""
    if not _SCRATCH:
        _SCRATCH.append(Store(":memory:"))
    store = _SCRATCH[0]
    for table in ("links", "pages", "domain_ranks", "host_ranks", "page_ranks", "rank_runs"):
        store.con.execute(f"DELETE FROM {table}")
    insert(store, "links", links)
    run = rank(store, seeds=kwargs.pop("seeds", []), tol=kwargs.pop("tol", 1e-12), **kwargs).run_id
    return dict(store.con.execute("SELECT domain, dr FROM domain_ranks WHERE run_id = ?", [run]).fetchall())


def ranks_of(store: Store, column: str) -> dict[str, float]:
    return dict(store.con.execute(f"SELECT domain, {column} FROM domain_ranks").fetchall())


# A small web: hub.org is linked by many domains; spoke domains link around.
WEB = [
    link("https://a.com/1", "https://hub.org/"),
    link("https://b.com/1", "https://hub.org/x"),
    link("https://c.com/1", "https://hub.org/"),
    link("https://d.com/1", "https://hub.org/"),
    link("https://hub.org/", "https://a.com/"),
    link("https://a.com/2", "https://b.com/"),
    link("https://b.com/2", "https://c.com/"),
    link("https://hub.org/", "https://hub.org/about"),  # internal: not in the domain graph
]


def test_rank_stores_a_run_with_its_parameters_and_a_row_per_domain() -> None:
    with store_of(WEB) as store:
        summary = rank(store, seeds=["hub.org"])
        assert summary.run_id == 1 and summary.domains == 5
        assert summary.domain_edges == 7  # a, b, c, d → hub.org; hub.org → a; a → b; b → c
        run = store.con.execute("SELECT params, completed_at FROM rank_runs").fetchall()[0]
        params = json.loads(run[0])
        assert params["damping"] == 0.85 and params["trust_seeds_found"] == 1 and run[1] is not None
        dr = ranks_of(store, "dr")
        assert max(dr, key=dr.get) == "hub.org"
        assert dr["d.com"] == 0.0  # nobody links to d.com
        counts = store.con.execute(
            "SELECT refdomains, dofollow_refdomains, backlinks, linked_domains FROM domain_ranks WHERE domain = 'hub.org'"
        ).fetchall()[0]
        assert counts == (4, 4, 4, 1)
        assert latest_run(store.con)[0] == 1


def test_every_run_is_kept_as_dr_history() -> None:
    with store_of(WEB) as store:
        rank(store, seeds=[])
        insert(store, "links", [link("https://e.com/1", "https://d.com/")])
        rank(store, seeds=[])
        history = store.con.execute(
            "SELECT run_id, dr FROM domain_ranks WHERE domain = 'd.com' ORDER BY run_id"
        ).fetchall()
        assert [r[0] for r in history] == [1, 2]
        assert history[0][1] == 0.0 < history[1][1]
        assert latest_run(store.con)[0] == 2


def test_page_and_host_ranks_hold_the_latest_run_only() -> None:
    with store_of(WEB) as store:
        rank(store, seeds=[])
        rank(store, seeds=[])
        (pages,) = store.con.execute("SELECT count(*) FROM page_ranks").fetchall()[0]
        (hosts,) = store.con.execute("SELECT count(*) FROM host_ranks").fetchall()[0]
        assert pages == len({u for row in WEB for u in (row["source_url"], row["target_url"])})
        assert hosts == 5
        top = store.con.execute("SELECT p.ur FROM page_ranks p WHERE p.url_hash = hash('https://hub.org/')").fetchall()[
            0
        ][0]
        assert top == max(r for (r,) in store.con.execute("SELECT ur FROM page_ranks").fetchall())


def test_ratings_are_monotonic_and_capped() -> None:
    raw = np.array([1.0, 1.5, 10.0, 1e3, 1e6, 1e9])
    out = rating(raw)
    assert out[0] == 0.0 and np.all(np.diff(out) >= 0) and out[-1] == 100.0
    assert out[2] == pytest.approx(100 / 6)


def test_nofollow_ugc_sponsored_lost_and_non_vote_kinds_pass_nothing() -> None:
    base = [link("https://a.com/1", "https://b.com/")]
    extra = [
        link("https://c.com/1", "https://b.com/", nofollow=True),
        link("https://c.com/2", "https://b.com/", ugc=True),
        link("https://c.com/3", "https://b.com/", sponsored=True),
        link("https://c.com/4", "https://b.com/", lost_at=ts("2024-02-01"), lost_reason="removed"),
        link("https://c.com/5", "https://b.com/feed", kind="feed"),
        link("https://c.com/6", "https://b.com/", kind="canonical"),
    ]
    before, after = domain_ratings(base), domain_ratings(base + extra)
    assert after["b.com"] == pytest.approx(before["b.com"], abs=1e-9) and after["c.com"] == pytest.approx(0.0)


def test_trust_is_zero_where_no_seed_reaches_and_seeds_score_highest() -> None:
    with store_of(WEB + [link("https://x.net/1", "https://y.net/")]) as store:
        rank(store, seeds=["a.com"])
        trust = ranks_of(store, "trust")
        assert trust["x.net"] == 0.0 and trust["y.net"] == 0.0 and trust["d.com"] == 0.0
        assert trust["b.com"] > 0 and trust["hub.org"] > 0
        assert trust["a.com"] == max(trust.values()) == 100.0


def test_anti_trust_flows_backwards_from_spam_seeds_and_the_deny_list() -> None:
    spam = WEB + [link("https://e.com/1", "https://spam.biz/"), link("https://spam.biz/1", "https://f.com/")]
    with store_of(spam) as store:
        rank(store, seeds=[], spam_seeds=["spam.biz"])
        anti = ranks_of(store, "anti_trust")
        assert anti["e.com"] > 0  # links to spam
        assert anti["f.com"] == 0.0  # is linked by spam: that is not its fault
        store.con.execute("INSERT INTO quality_lists VALUES ('deny', 'hub.org', 'test', now())")
        rank(store, seeds=[], spam_seeds=[])
        run = latest_run(store.con)[0]
        anti = dict(store.con.execute("SELECT domain, anti_trust FROM domain_ranks WHERE run_id = ?", [run]).fetchall())
        assert anti["a.com"] > 0 and anti["spam.biz"] == 0.0


def test_seed_files_take_domains_hosts_and_urls_and_name_a_bad_line() -> None:
    assert parse_seeds(["# c", "", "en.wikipedia.org", "https://www.bbc.co.uk/news", "w3.org # x"]) == [
        "bbc.co.uk",
        "w3.org",
        "wikipedia.org",
    ]
    with pytest.raises(SeedFileError, match="line 2"):
        parse_seeds(["w3.org", "not a domain"])


def test_a_failed_run_leaves_the_previous_ranks(monkeypatch) -> None:
    import linkback.rank as rank_module

    with store_of(WEB) as store:
        rank(store, seeds=[])

        def boom(con, run_id):
            raise RuntimeError("interrupted")

        monkeypatch.setattr(rank_module, "score_domains", boom)
        with pytest.raises(RuntimeError):
            rank(store, seeds=[])
        assert store.con.execute("SELECT count(DISTINCT run_id) FROM domain_ranks").fetchall()[0][0] == 1
        assert store.con.execute("SELECT count(*) FROM rank_runs").fetchall()[0][0] == 1
        assert store.con.execute("SELECT count(*) FROM page_ranks").fetchall()[0][0] > 0


# --- properties of Domain Rating (hypothesis) ------------------------------------------------------

DOMAINS = [f"d{i}.com" for i in range(8)]
domain_edges = st.lists(st.tuples(st.sampled_from(DOMAINS), st.sampled_from(DOMAINS)), max_size=25)
PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def web_of(edges, page: str = "p") -> list[dict]:
    return [link(f"https://{s}/{page}{i}", f"https://{t}/") for i, (s, t) in enumerate(edges) if s != t]


@PROPERTY
@given(domain_edges, st.sampled_from(DOMAINS), st.sampled_from(DOMAINS))
def test_adding_a_dofollow_link_never_lowers_the_targets_dr(edges, source, target) -> None:
    if source == target:
        return
    before = domain_ratings(web_of(edges))
    after = domain_ratings(web_of(edges) + [link(f"https://{source}/new", f"https://{target}/")])
    assert after[target] >= before.get(target, 0.0) - 1e-9


@PROPERTY
@given(domain_edges.filter(bool), st.data())
def test_a_second_link_from_the_same_domain_or_a_nofollow_link_changes_nothing(edges, data) -> None:
    source, target = data.draw(st.sampled_from([e for e in edges if e[0] != e[1]] or [("d0.com", "d1.com")]))
    base = web_of(edges) + [link(f"https://{source}/first", f"https://{target}/")]
    before = domain_ratings(base)
    again = domain_ratings(base + [link(f"https://{source}/second", f"https://{target}/other")])
    nofollow = domain_ratings(base + [link(f"https://{target}/nf", f"https://{source}/", nofollow=True)])
    assert again == pytest.approx(before, abs=1e-9)
    assert nofollow == pytest.approx(before, abs=1e-9)


@PROPERTY
@given(st.integers(min_value=2, max_value=6))
def test_of_two_equal_linkers_the_one_linking_to_fewer_domains_passes_more(others) -> None:
    links = [link("https://focused.com/", "https://t1.com/"), link("https://spread.com/", "https://t2.com/")]
    links += [link(f"https://spread.com/{i}", f"https://other{i}.com/") for i in range(others)]
    dr = domain_ratings(links)
    assert dr["focused.com"] == pytest.approx(0.0, abs=1e-9) and dr["spread.com"] == pytest.approx(0.0, abs=1e-9)
    assert dr["t1.com"] > dr["t2.com"]


@PROPERTY
@given(domain_edges, st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=20))
def test_a_domains_dr_does_not_move_when_an_unrelated_part_of_the_web_grows(edges, unrelated) -> None:
    before = domain_ratings(web_of(edges))
    grown = [link(f"https://u{s}.net/x{i}", f"https://u{t}.net/") for i, (s, t) in enumerate(unrelated) if s != t]
    after = domain_ratings(web_of(edges) + grown)
    assert {d: after[d] for d in before} == pytest.approx(before, abs=1e-6)


def test_the_bundled_seed_files_parse() -> None:
    from linkback.rank import default_seeds_path, read_seeds

    assert len(read_seeds(default_seeds_path("trust"))) >= 40
    assert read_seeds(default_seeds_path("spam")) == []


def test_page_numbering_merges_equal_hashes_and_keeps_unclustered_targets_apart() -> None:
    source_hash = np.array([30, 10, 30, 20], dtype=np.uint64)  # sources 0 and 2 share a hash
    source = np.array([0, 2, 1, 3, 3, 1], dtype=np.int32)
    target_hash = np.array([99, 99, 10, 77, 99, 30], dtype=np.uint64)  # 99 in two runs; 10, 30 are sources
    src, dst, labels = _number_pages(PageLinks(source, target_hash, source_hash))
    edges = {(int(labels[s]), int(labels[t])) for s, t in zip(src, dst)}
    assert edges == {(30, 99), (10, 10), (20, 77), (20, 99), (10, 30)}
    links = PageLinks(source, target_hash, source_hash)
    graph = links.graph()
    assert graph.n == 5  # 10, 20, 30, 77, 99: the self-link of 10 adds no node of its own, 10 → 30 does
    labels = graph.labels.to_numpy()
    src, dst = graph.graph.edges()
    assert {(int(labels[s]), int(labels[t])) for s, t in zip(src, dst)} == {(30, 99), (20, 77), (20, 99), (10, 30)}
    with pytest.raises(ValueError, match="already used"):
        links.graph()


def test_the_page_graph_has_one_edge_per_passing_link_between_two_urls() -> None:
    rng = np.random.default_rng(7)
    urls = [f"https://s{i % 7}.com/p{i}" for i in range(40)]
    rows = [
        link(urls[a], urls[b], nofollow=bool(rng.random() < 0.2)) for a, b in rng.integers(0, len(urls), size=(300, 2))
    ]
    with store_of(rows) as store:
        rank(store, seeds=[])
        expected = {
            (r[0], r[1])
            for r in store.con.execute(
                "SELECT DISTINCT hash(source_url), hash(target_url) FROM links"
                " WHERE NOT nofollow AND source_url <> target_url"
            ).fetchall()
        }
        nodes = {u for pair in expected for u in pair}
        stored = {r[0] for r in store.con.execute("SELECT url_hash FROM page_ranks").fetchall()}
        assert stored == nodes
        (edges,) = store.con.execute("SELECT page_edges FROM rank_runs").fetchall()[0]
        assert edges == len(expected)
