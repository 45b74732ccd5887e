"""The overview page's cheaper report calls give what it showed from the full reports:
``anchor_mix`` is the head of ``anchors()`` and its links per class, ``overview_breakdown`` is
``overview()`` without the distinct referring pages and hosts, and the breakdown, categories and
TLDs read from ``refdomain_table`` (the referring domains read once) are those of the reports."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from linkrows import insert, link, ts
from test_reports import build_store

from linkback import reports
from linkback.categories import NOT_CATEGORIZED, UNKNOWN, categories
from linkback.categories._reports import categories_of
from linkback.errors import LinkbackError
from linkback.reports import _groups
from linkback.reports._groups import TOP_ANCHORS, anchor_mix, tlds_of
from linkback.reports._overview import overview_breakdown, refdomain_table
from linkback.store import Store

TARGET = "example.com"
ANCHORS = ["Example", "example.com", "https://example.com/", "click here", "best widgets", "", "read more",
           "widgets example", "here", "Example Inc", "cheap stuff", "more", "see this", "www.example.com"]  # fmt: skip


def _store(seed: int, counts: list[int]) -> Store:
    """Links to TARGET: anchor i on ``counts[i]`` links, from random domains, some image links."""
    rng = random.Random(seed)
    rows = []
    for i, n in enumerate(counts):
        for k in range(n):
            source = f"https://s{rng.randrange(6)}-{i % 3}.org/p{k}"
            kind = "image" if i % 5 == 4 else "text"
            rows.append(link(source, f"https://{TARGET}/x{k % 4}", anchor=ANCHORS[i % len(ANCHORS)], kind=kind))
    store = Store(":memory:")
    insert(store, "links", sorted(rows, key=lambda r: r["target_rhost"]))
    return store


def _expected(store: Store) -> dict[str, Any]:
    every = reports.anchors(store, TARGET)
    classes: Counter[str] = Counter()
    for row in every:
        classes[row["anchor_class"]] += row["links"]
    return {"top": [(r["anchor"], r["anchor_class"], r["links"]) for r in every[:TOP_ANCHORS]],
            "classes": classes.most_common()}  # fmt: skip


@pytest.fixture
def full_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times anchor_mix fell back to anchors() (the real function, counted)."""
    calls: list[int] = []
    real = _groups.anchors

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_groups, "anchors", counted)
    yield calls


@pytest.mark.parametrize(
    ("counts", "fast"),
    [
        ([30, 1, 25, 2, 21, 3, 17, 4, 13, 5, 11, 6, 9, 7], None),  # distinct head
        ([5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1], False),  # ties everywhere
        ([40, 36, 33, 29, 26, 22, 19, 15, 12, 9, 9, 2], False),  # a tie at the tenth row
        ([3, 2, 1], None),  # fewer anchors than the head
    ],
)
def test_anchor_mix_is_the_head_and_class_totals_of_anchors(
    counts: list[int], fast: bool | None, full_calls: list[int]
) -> None:
    for seed in range(3):
        store = _store(seed, counts)
        full_calls.clear()
        mix = anchor_mix(store, TARGET)
        took_fallback = bool(full_calls)
        got = {"top": [(r["anchor"], r["anchor_class"], r["links"]) for r in mix["top"]], "classes": mix["classes"]}
        assert got == _expected(store)
        if fast is False:
            assert took_fallback


def test_anchor_mix_without_ties_reads_no_pairs(full_calls: list[int]) -> None:
    # Class totals distinct too: one anchor of each class, counts far apart.
    store = _store(0, [64, 32, 16, 8, 4, 2])
    mix = anchor_mix(store, TARGET)
    assert not full_calls
    got = {"top": [(r["anchor"], r["anchor_class"], r["links"]) for r in mix["top"]], "classes": mix["classes"]}
    assert got == _expected(store)


def test_overview_breakdown_is_overview_without_pages_and_hosts() -> None:
    with build_store() as store:
        full, part = reports.overview(store, TARGET), overview_breakdown(store, TARGET)
        assert list(part) == list(full)
        assert part["referring_pages"] is None and part["referring_hosts"] is None
        assert full["referring_pages"] and full["referring_hosts"]
        assert {k: v for k, v in part.items() if not k.startswith("referring_")} == {
            k: v for k, v in full.items() if not k.startswith("referring_")
        }
        assert part["referring_domains"] == full["referring_domains"]


# --- the overview page's referring domains, read once (refdomain_table) ----------------------------

#: Source domains of the shared-table stores: TLDs and countries, IP addresses (a NULL TLD), a
#: trailing dot, and None (a link whose source has no registrable domain).
_SOURCES = ["a.org", "b.org", "c.co.uk", "d.de", "e.de", "f.com", "g.com", "h.fr", "192.0.2.7", "[2001:db8::1]",
            "i.example.", "j.io", None]  # fmt: skip
_TIERS = [("Sports", "Soccer"), ("Sports", None), ("Travel", "Hotels"), ("Travel", None), (None, None)]
#: DR values on and around the band edges, a NaN, and toxicity on and around its band edges.
_DRS = [0.0, 9.999, 10.0, 29.5, 30.0, 59.99, 60.0, 99.0, 100.0, float("nan")]
_TOXICITY = [0, 1, 29, 30, 59, 60, 100]


def _shared_store(seed: int, links: int, *, ranked: bool = True) -> Store:
    """``links`` links to TARGET from about 150 domains (some lost, some internal, a few to another
    target), with ranks (several domains tied on DR) in the newest of two completed runs, and
    categories (ties in domains per category, confidences below and above the thresholds)."""
    rng = random.Random(seed)
    names = [f"s{i}.{s}" if s and not s[0].isdigit() and s[0] != "[" else s for i, s in
             enumerate(rng.choice(_SOURCES) for _ in range(150))]  # fmt: skip
    rows = []
    for k in range(links):
        name = rng.choice(names)
        row = link(f"https://x{k % 7}.{name or 'n.org'}/p{k}", f"https://{TARGET}/x{k % 5}")
        row["source_domain"] = name
        row["lost_at"] = ts("2024-05-01") if rng.random() < 0.1 else None
        row["internal"] = rng.random() < 0.05
        rows.append(row)
    rows += [link(f"https://s0.a.org/q{k}", f"https://other.example/{k}") for k in range(5)]
    store = Store(":memory:")
    insert(store, "links", sorted(rows, key=lambda r: r["target_rhost"]))
    if not ranked:
        return store
    runs = [{"run_id": r, "started_at": ts("2024-06-01"), "completed_at": ts(f"2024-06-0{r}")} for r in (1, 2)]
    insert(store, "rank_runs", [*runs, {"run_id": 3, "started_at": ts("2024-06-09")}])  # 3: not completed
    ranks, cats = [], []
    for d in sorted({n for n in names if n is not None} | {TARGET}):
        for run in (1, 2):
            if rng.random() < 0.8:
                dr = rng.choice([*_DRS, None])
                ranks.append({"run_id": run, "domain": d, "dr": dr, "toxicity": rng.choice([*_TOXICITY, None])})
        if rng.random() < 0.75:
            tier1, tier2 = rng.choice(_TIERS)
            cats.append({"domain": d, "tier1": tier1, "tier2": tier2, "confidence": rng.choice([0.2, 0.5, 0.9])})
    insert(store, "domain_ranks", ranks)
    insert(store, "domain_categories", cats)
    return store


def _expected_categories(store: Store, tier: int, min_confidence: float) -> list[dict[str, Any]]:
    """categories() worked out in Python from the stored rows."""
    live = store.con.execute(
        "SELECT source_domain, count(*) FROM links WHERE target_domain = ? AND lost_at IS NULL"
        " AND NOT coalesce(internal, false) GROUP BY 1",
        [TARGET],
    ).fetchall()
    (run,) = store.con.execute("SELECT max(run_id) FROM rank_runs WHERE completed_at IS NOT NULL").fetchone()
    dr = dict(store.con.execute("SELECT domain, dr FROM domain_ranks WHERE run_id = ?", [run]).fetchall())
    read = {d: (t1, t2, c) for d, t1, t2, c in store.con.execute(
        "SELECT domain, tier1, tier2, confidence FROM domain_categories").fetchall()}  # fmt: skip
    groups: dict[tuple[str, str | None], list[tuple[str | None, int, float | None]]] = {}
    for domain, n in live:
        if domain not in read:
            key: tuple[str, str | None] = (NOT_CATEGORIZED, None)
        else:
            t1, t2, c = read[domain]
            key = (t1, t2 if tier == 2 else None) if t1 is not None and c >= min_confidence else (UNKNOWN, None)
        groups.setdefault(key, []).append((domain, n, read[domain][2] if domain in read else None))
    total = sum(len(g) for g in groups.values())

    def example_order(item: tuple[str | None, int, float | None]) -> tuple[Any, ...]:
        rating = dr.get(item[0])
        return (rating is None, not (rating is not None and math.isnan(rating)),
                0 if rating is None or math.isnan(rating) else -rating, -item[1], item[0])  # fmt: skip

    out = []
    for (t1, t2), members in groups.items():
        confidences = [c for _, _, c in members if c is not None]
        named = [m for m in members if m[0] is not None]
        out.append({
            "category": t1 if t2 is None else f"{t1} > {t2}",
            "tier1": None if t1 in (UNKNOWN, NOT_CATEGORIZED) else t1,
            "tier2": t2,
            "domains": len(members),
            "share": len(members) / total,
            "links": sum(n for _, n, _ in members),
            "confidence": round(sum(confidences) / len(confidences), 3) if confidences else None,
            "examples": " ".join(str(d) for d, _, _ in sorted(named, key=example_order)[:3]),
        })  # fmt: skip
    return sorted(out, key=lambda r: (r["tier1"] is None, -r["domains"], r["category"]))


@pytest.mark.parametrize(("links", "few"), [(400, True), (2600, False)])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_shared_table_gives_what_the_reports_give(links: int, few: bool, seed: int) -> None:
    store = _shared_store(seed, links)
    table = refdomain_table(store, TARGET)
    assert table.few is few and table.run is not None and table.run[0] == 2
    live = store.con.execute(
        "SELECT source_domain, count(*) FROM links WHERE target_domain = ? AND lost_at IS NULL"
        " AND NOT coalesce(internal, false) GROUP BY 1",
        [TARGET],
    ).fetchall()
    assert sorted(zip(table.rows.column("domain").to_pylist(), table.rows.column("links").to_pylist()),
                  key=str) == sorted(live, key=str)  # fmt: skip
    assert None in table.rows.column("domain").to_pylist()  # the NULL source domain is a row of its own

    breakdown = overview_breakdown(store, TARGET, refdomains=table)
    assert breakdown == overview_breakdown(store, TARGET)
    assert sum(breakdown[k] for k in breakdown if k.startswith("refdomains_dr_")) > 0
    assert sum(breakdown[k] for k in breakdown if k.startswith("refdomains_toxicity_")) > 0
    for tier, min_confidence, limit in [(1, 0.0, None), (2, 0.0, None), (1, 0.5, None), (2, 0.9, 3), (1, 0.0, 0)]:
        got = categories_of(store, table, tier=tier, min_confidence=min_confidence, limit=limit)
        assert got == categories(store, TARGET, tier=tier, min_confidence=min_confidence, limit=limit)
        want = _expected_categories(store, tier, min_confidence)[:limit]
        assert [{**r, "share": pytest.approx(r["share"])} for r in got] == want
    for limit in (None, 3, 0):
        assert tlds_of(store, table, limit=limit) == reports.tlds(store, TARGET, limit=limit)
    every = tlds_of(store, table)
    assert {r["tld"] for r in every} >= {None, "org", "uk", "example"} and len(every) >= 6


def test_the_shared_table_before_a_rank_run_and_for_a_target_without_links() -> None:
    store = _shared_store(3, 300, ranked=False)
    table = refdomain_table(store, TARGET)
    assert table.run is None and set(table.rows.column("dr").to_pylist()) == {None}
    assert overview_breakdown(store, TARGET, refdomains=table) == overview_breakdown(store, TARGET)
    assert categories_of(store, table) == categories(store, TARGET)
    assert tlds_of(store, table, limit=10) == reports.tlds(store, TARGET, limit=10)
    with pytest.raises(ValueError, match="other.example"):
        overview_breakdown(store, TARGET, refdomains=refdomain_table(store, "other.example"))
    empty = refdomain_table(store, "nothing.example")
    assert empty.rows.num_rows == 0
    for shared, full in ((categories_of, categories), (tlds_of, reports.tlds)):
        with pytest.raises(LinkbackError) as want:
            full(store, "nothing.example")
        with pytest.raises(type(want.value), match=re.escape(str(want.value))):
            shared(store, empty)
