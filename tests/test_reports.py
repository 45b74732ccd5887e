"""Reports over a small real store built from literal ``links`` and ``pages`` rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pyarrow.parquet as pq
import pytest
from linkrows import insert, link, ts

from linkback import reports, schema
from linkback.errors import TargetError, TargetNotFound
from linkback.store import Store
from linkback.urls import host_of, split_host

# The store every test reads: links to example.com of every sort, look-alike domains, lost links.
LINKS = [
    link(
        "https://a.org/p1",
        "https://example.com/",
        anchor="Example Home",
        first_seen=ts("2024-01-01"),
        last_seen=ts("2024-03-01"),
    ),
    link(
        "https://a.org/p2",
        "https://www.example.com/blog/post",
        anchor="great post",
        rel="nofollow",
        nofollow=True,
        section="comment",
        first_seen=ts("2024-01-02"),
        last_seen=ts("2024-02-20"),
    ),
    link(
        "https://blog.b.co.uk/x",
        "https://example.com/",
        anchor="example",
        alt="example",
        rel="ugc",
        ugc=True,
        kind="image",
        first_seen=ts("2024-01-02"),
        last_seen=ts("2024-02-01"),
    ),
    link(
        "https://c.de/y",
        "https://example.com/pricing",
        anchor="Pricing",
        rel="sponsored",
        sponsored=True,
        section="footer",
        first_seen=ts("2024-02-01"),
        last_seen=ts("2024-02-15"),
    ),
    link(
        "http://192.0.2.1/ip",
        "http://example.com/blog/",
        anchor="ip link",
        first_seen=ts("2024-01-05"),
        last_seen=ts("2024-01-06"),
    ),
    link(
        "https://news.c.de/z",
        "https://example.com/",
        anchor="EXAMPLE home page",
        kind="redirect",
        section=None,
        first_seen=ts("2024-01-10"),
        last_seen=ts("2024-01-10"),
    ),
    link(
        "https://d.com/gone",
        "https://example.com/",
        anchor="example",
        first_seen=ts("2024-01-01"),
        last_seen=ts("2024-02-01"),
        lost_at=ts("2024-02-10"),
        lost_reason="removed",
    ),
    link(
        "https://e.io/q",
        "https://www.example.com/blog/other",
        anchor="other",
        first_seen=ts("2024-01-03"),
        last_seen=ts("2024-02-01"),
        lost_at=ts("2024-02-10T13:00:00"),
        lost_reason="page_gone",
    ),
    link(
        "https://e.io/r",
        "https://example.com/pricing",
        anchor="prices",
        first_seen=ts("2024-01-03"),
        last_seen=ts("2024-03-01"),
        lost_at=ts("2024-03-05"),
        lost_reason="redirected",
    ),
    link("https://example.com/about", "https://example.com/", anchor="Home", section="nav"),
    link("https://www.example.com/blog/post", "https://example.com/pricing", anchor="our pricing"),
    # Look-alikes of example.com that a domain target must not match.
    link("https://f.net/1", "https://example-x.com/", anchor="x"),
    link("https://f.net/2", "https://examples.com/", anchor="x"),
    link("https://f.net/3", "https://notexample.com/", anchor="x"),
    link("https://f.net/4", "https://www.example-x.com/", anchor="x"),
    link("https://f.net/5", "https://example.co.uk/", anchor="x"),
]

PAGES = [
    {
        "url": "https://a.org/p1",
        "host": "a.org",
        "domain": "a.org",
        "rhost": "org.a",
        "status": 200,
        "title": "A",
        "lang": "en",
        "canonical": None,
        "noindex": False,
        "n_internal": 3,
        "n_external": 1,
        "first_seen": ts("2024-01-01"),
        "last_seen": ts("2024-03-01"),
        "observations": 2,
    },
    {
        "url": "https://c.de/y",
        "host": "c.de",
        "domain": "c.de",
        "rhost": "de.c",
        "status": 200,
        "title": "C",
        "lang": "de",
        "canonical": None,
        "noindex": False,
        "n_internal": 0,
        "n_external": 1,
        "first_seen": ts("2024-02-01"),
        "last_seen": ts("2024-02-15"),
        "observations": 1,
    },
]


def build_store(path: str = ":memory:") -> Store:
    store = Store(path)
    # Stored as ingest stores them: clustered on target_rhost.
    insert(store, "links", sorted(LINKS, key=lambda r: r["target_rhost"]))
    insert(store, "pages", PAGES)
    return store


@pytest.fixture
def store() -> Store:
    with build_store() as s:
        yield s


def urls(rows: list[dict[str, Any]], key: str = "source_url") -> set[str]:
    return {r[key] for r in rows}


LIVE_EXTERNAL = {
    "https://a.org/p1",
    "https://a.org/p2",
    "https://blog.b.co.uk/x",
    "https://c.de/y",
    "http://192.0.2.1/ip",
    "https://news.c.de/z",
}


# -- targets ---------------------------------------------------------------------------------


def test_domain_target_selects_every_host_of_the_domain_and_no_look_alike(store: Store) -> None:
    rows = reports.backlinks(store, "example.com")
    assert urls(rows) == LIVE_EXTERNAL
    assert {r["target_url"] for r in rows} >= {"https://www.example.com/blog/post", "https://example.com/"}
    for row in rows:
        host = host_of(row["target_url"])
        assert host in ("example.com", "www.example.com"), host


@pytest.mark.parametrize("look_alike", ["example-x.com", "examples.com", "notexample.com", "example.co.uk"])
def test_look_alike_domain_gets_only_its_own_links(store: Store, look_alike: str) -> None:
    rows = reports.backlinks(store, look_alike)
    assert rows and all(split_host(host_of(r["target_url"])).domain == look_alike for r in rows)


def test_host_target_selects_that_host_only(store: Store) -> None:
    assert urls(reports.backlinks(store, "www.example.com")) == {"https://a.org/p2"}
    with pytest.raises(TargetNotFound, match="example.com"):  # no link to that host at all
        reports.backlinks(store, "blog.example.com")


def test_url_prefix_target_with_scheme_matches_that_scheme_only(store: Store) -> None:
    assert urls(reports.backlinks(store, "https://example.com/pricing")) == {"https://c.de/y"}
    with pytest.raises(TargetNotFound):
        reports.backlinks(store, "https://example.com/blog")
    assert urls(reports.backlinks(store, "http://example.com/blog")) == {"http://192.0.2.1/ip"}


def test_url_prefix_target_without_scheme_matches_http_and_https(store: Store) -> None:
    rows = reports.backlinks(store, "example.com/", include_lost=True)
    assert {r["target_url"] for r in rows} == {
        "https://example.com/",
        "https://example.com/pricing",
        "http://example.com/blog/",
    }


@pytest.mark.parametrize("bad", ["", "not a domain", "com", "exa mple.com", "ftp://example.com/"])
def test_bad_target_raises_target_error(store: Store, bad: str) -> None:
    with pytest.raises(TargetError):
        reports.backlinks(store, bad)


# -- backlinks filters, sorts, limits --------------------------------------------------------


def test_backlinks_rows_have_the_documented_columns_in_order(store: Store) -> None:
    rows = reports.backlinks(store, "example.com")
    assert all(list(r) == list(reports.BACKLINK_COLUMNS) for r in rows)
    (row,) = [r for r in rows if r["source_url"] == "https://a.org/p2"]
    assert row == {
        "source_url": "https://a.org/p2",
        "target_url": "https://www.example.com/blog/post",
        "anchor": "great post",
        "rel": "nofollow",
        "nofollow": True,
        "ugc": False,
        "sponsored": False,
        "noindex": False,
        "kind": "text",
        "section": "comment",
        "first_seen": ts("2024-01-02"),
        "last_seen": ts("2024-02-20"),
        "lost_at": None,
        "lost_reason": None,
        "source_dr": None,
        "source_ur": None,
        "visits": 0,  # no access log read (tests/test_traffic_reports.py reads some)
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"follow": True}, {"https://a.org/p1", "http://192.0.2.1/ip", "https://news.c.de/z"}),
        ({"follow": False}, {"https://a.org/p2", "https://blog.b.co.uk/x", "https://c.de/y"}),
        ({"nofollow": True}, {"https://a.org/p2"}),
        ({"nofollow": False}, LIVE_EXTERNAL - {"https://a.org/p2"}),
        ({"ugc": True}, {"https://blog.b.co.uk/x"}),
        ({"sponsored": True}, {"https://c.de/y"}),
        ({"kind": "image"}, {"https://blog.b.co.uk/x"}),
        ({"kind": ["image", "redirect"]}, {"https://blog.b.co.uk/x", "https://news.c.de/z"}),
        ({"section": "comment"}, {"https://a.org/p2"}),
        ({"section": ["footer", "comment"]}, {"https://a.org/p2", "https://c.de/y"}),
        ({"from_domain": "c.de"}, {"https://c.de/y", "https://news.c.de/z"}),
        ({"from_domain": "news.c.de"}, {"https://news.c.de/z"}),
        ({"from_domain": "A.ORG"}, {"https://a.org/p1", "https://a.org/p2"}),
        ({"anchor": "home"}, {"https://a.org/p1", "https://news.c.de/z"}),
        ({"anchor": "EXAMPLE"}, {"https://a.org/p1", "https://blog.b.co.uk/x", "https://news.c.de/z"}),
        ({"follow": True, "anchor": "home", "kind": "text"}, {"https://a.org/p1"}),
    ],
)
def test_backlinks_filters(store: Store, filters: dict[str, Any], expected: set[str]) -> None:
    assert urls(reports.backlinks(store, "example.com", **filters)) == expected


def test_lost_links_are_excluded_unless_asked_for(store: Store) -> None:
    rows = reports.backlinks(store, "example.com", include_lost=True)
    lost = {r["source_url"]: r["lost_reason"] for r in rows if r["lost_at"] is not None}
    assert lost == {"https://d.com/gone": "removed", "https://e.io/q": "page_gone", "https://e.io/r": "redirected"}
    assert urls(rows) == LIVE_EXTERNAL | set(lost)


def test_internal_lists_links_inside_the_site_instead(store: Store) -> None:
    rows = reports.backlinks(store, "example.com", internal=True)
    assert urls(rows) == {"https://example.com/about", "https://www.example.com/blog/post"}
    assert urls(reports.backlinks(store, "example.com/pricing", internal=True)) == {"https://www.example.com/blog/post"}


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [("first_seen", "first_seen", True), ("last_seen", "last_seen", True), ("source_domain", None, False)],
)
def test_backlinks_sort(store: Store, sort: str, key: str | None, reverse: bool) -> None:
    rows = reports.backlinks(store, "example.com", sort=sort, include_lost=True)
    if key is None:
        domains = [split_host(host_of(r["source_url"])).domain for r in rows]
        assert domains == sorted(domains)
    else:
        values = [r[key] for r in rows]
        assert values == sorted(values, reverse=reverse)
    assert len(rows) == 9


def test_backlinks_limit_keeps_the_first_rows_of_the_sort(store: Store) -> None:
    every = reports.backlinks(store, "example.com", sort="last_seen")
    assert reports.backlinks(store, "example.com", sort="last_seen", limit=2) == every[:2]
    assert reports.backlinks(store, "example.com", limit=0) == []


@pytest.mark.parametrize(
    "bad",
    [{"sort": "anchor"}, {"kind": "link"}, {"section": ["content", "body"]}, {"limit": -1}, {"from_domain": "a b"}],
)
def test_backlinks_bad_option_values_raise_value_error(store: Store, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        reports.backlinks(store, "example.com", **bad)


# -- overview ---------------------------------------------------------------------------------


def test_overview_counts(store: Store) -> None:
    assert reports.overview(store, "example.com") == {
        "target": "example.com",
        "target_kind": "domain",
        "backlinks": 6,
        "referring_pages": 6,
        "referring_hosts": 5,  # a.org, blog.b.co.uk, c.de, news.c.de, 192.0.2.1
        "referring_domains": 4,  # a.org, b.co.uk, c.de, 192.0.2.1
        "dofollow": 3,
        "dofollow_share": 0.5,
        "nofollow": 1,
        "ugc": 1,
        "sponsored": 1,
        "noindex": 0,
        "kind_text": 4,
        "kind_image": 1,
        "kind_redirect": 1,
        "kind_canonical": 0,
        "kind_alternate": 0,
        "kind_feed": 0,
        "kind_frame": 0,
        "kind_form": 0,
        "kind_other": 0,
        "section_content": 3,
        "section_nav": 0,
        "section_header": 0,
        "section_footer": 1,
        "section_aside": 0,
        "section_comment": 1,
        "section_other": 1,
        "first_seen": ts("2024-01-01"),
        "last_seen": ts("2024-03-01"),
        "lost": 3,
        "dr": None,  # no rank run yet: the rank columns are empty
        "ranked_at": None,
        **{f"refdomains_dr_{low}_{low + 10}": None for low in range(0, 100, 10)},
        **{f"refdomains_toxicity_{band}": None for band in ("clean", "low", "medium", "high")},
    }


def test_overview_of_a_target_with_only_lost_links_counts_them(store: Store) -> None:
    row = reports.overview(store, "www.example.com/blog/other")  # e.io/q's link, lost
    assert (row["backlinks"], row["lost"], row["dofollow_share"], row["first_seen"]) == (0, 1, None, None)


def test_overview_internal(store: Store) -> None:
    row = reports.overview(store, "example.com", internal=True)
    assert (row["backlinks"], row["referring_pages"], row["lost"]) == (2, 2, 0)


# -- grouped reports --------------------------------------------------------------------------


def test_refdomains(store: Store) -> None:
    rows = reports.refdomains(store, "example.com")
    assert [tuple(r.values()) for r in rows] == [
        ("a.org", "org", None, None, 2, 1, 2, ts("2024-01-01"), ts("2024-03-01"), 0),
        ("c.de", "de", None, None, 2, 1, 2, ts("2024-01-10"), ts("2024-02-15"), 0),
        ("192.0.2.1", None, None, None, 1, 1, 1, ts("2024-01-05"), ts("2024-01-06"), 0),
        ("b.co.uk", "uk", None, None, 1, 0, 1, ts("2024-01-02"), ts("2024-02-01"), 0),
    ]
    assert list(rows[0]) == list(reports.REFDOMAIN_COLUMNS)  # dr is None before the first rank run


def test_refdomains_sorts_filters_and_limit(store: Store) -> None:
    assert [r["domain"] for r in reports.refdomains(store, "example.com", sort="domain")] == [
        "192.0.2.1",
        "a.org",
        "b.co.uk",
        "c.de",
    ]
    assert [r["domain"] for r in reports.refdomains(store, "example.com", sort="first_seen", limit=2)] == [
        "c.de",
        "192.0.2.1",
    ]
    assert [r["domain"] for r in reports.refdomains(store, "example.com", follow=True, sort="domain")] == [
        "192.0.2.1",
        "a.org",
        "c.de",
    ]
    lost = reports.refdomains(store, "example.com", include_lost=True, sort="domain")
    assert {"d.com", "e.io"} <= {r["domain"] for r in lost}


def test_anchors(store: Store) -> None:
    rows = reports.anchors(store, "example.com", include_lost=True)
    by_anchor = {r["anchor"]: r for r in rows}
    assert by_anchor["example"] == {
        "anchor": "example",
        "anchor_class": "branded",
        "links": 2,
        "referring_domains": 2,
        "dofollow": 1,
        "share": 2 / 9,
    }
    assert rows[0]["anchor"] == "example"
    assert sum(r["links"] for r in rows) == 9
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert [r["anchor"] for r in reports.anchors(store, "example.com", sort="anchor")] == sorted(
        r["anchor"] for r in reports.anchors(store, "example.com")
    )


def test_anchors_share_is_over_all_anchors_before_the_limit(store: Store) -> None:
    (top,) = reports.anchors(store, "example.com", limit=1)
    assert top["share"] == pytest.approx(1 / 6)


def test_pages_best_by_links(store: Store) -> None:
    rows = reports.pages(store, "example.com")
    assert [(r["target_url"], r["referring_domains"], r["backlinks"], r["dofollow"]) for r in rows] == [
        ("https://example.com/", 3, 3, 2),
        ("http://example.com/blog/", 1, 1, 1),
        ("https://example.com/pricing", 1, 1, 0),
        ("https://www.example.com/blog/post", 1, 1, 0),
    ]
    assert list(rows[0]) == list(reports.PAGE_COLUMNS)
    with_lost = reports.pages(store, "example.com", include_lost=True, sort="backlinks")
    assert with_lost[0]["target_url"] == "https://example.com/" and with_lost[0]["backlinks"] == 4


def test_tlds_maps_cctlds_to_countries(store: Store) -> None:
    rows = reports.tlds(store, "example.com", include_lost=True)
    table = {r["tld"]: (r["country_code"], r["country"], r["referring_domains"]) for r in rows}
    assert table == {
        "org": (None, "generic", 1),
        "com": (None, "generic", 1),
        "de": ("DE", "Germany", 1),
        "uk": ("GB", "United Kingdom", 1),
        "io": ("IO", "British Indian Ocean Territory", 1),
        None: (None, "IP address", 1),
    }
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert [list(r) for r in rows][0] == list(reports.TLD_COLUMNS)


def test_tlds_counts_referring_domains_not_links(store: Store) -> None:
    rows = reports.tlds(store, "example.com")
    assert {r["tld"]: r["referring_domains"] for r in rows} == {"org": 1, "de": 1, "uk": 1, None: 1}
    assert rows[-1]["tld"] is None


@pytest.mark.parametrize(
    ("tld", "expected"),
    [
        ("uk", ("GB", "United Kingdom")),
        ("gb", ("GB", "United Kingdom")),
        ("eu", ("EU", "European Union")),
        ("de", ("DE", "Germany")),
        ("xn--p1ai", ("RU", "Russia")),
        ("com", (None, "generic")),
        ("shop", (None, "generic")),
        ("JP", ("JP", "Japan")),
    ],
)
def test_country_of(tld: str, expected: tuple[str | None, str]) -> None:
    assert reports.country_of(tld) == expected


def test_cctld_table_has_every_two_letter_tld_of_the_public_suffix_list() -> None:
    from linkback.reports._countries import cctld_countries
    from linkback.urls import PSL_PATH

    two_letter = {
        line.strip()
        for line in PSL_PATH.read_text(encoding="utf-8").splitlines()
        if len(line.strip()) == 2 and line.strip().isascii() and line.strip().isalpha()
    }
    table = cctld_countries()
    assert two_letter and two_letter <= set(table)
    assert all(len(code) == 2 and code.isupper() for code, _ in table.values())


# -- history ----------------------------------------------------------------------------------


def test_history_by_day(store: Store) -> None:
    rows = reports.history(store, "example.com")
    assert list(rows[0]) == list(reports.HISTORY_COLUMNS)
    by_date = {r["date"]: r for r in rows}
    assert [r["date"] for r in rows] == sorted(by_date)
    assert sum(r["new"] for r in rows) == 9
    assert by_date[date(2024, 1, 1)]["new"] == 2  # a.org/p1, d.com
    feb10 = by_date[date(2024, 2, 10)]
    assert (feb10["lost"], feb10["lost_removed"], feb10["lost_page_gone"], feb10["lost_redirected"]) == (2, 1, 1, 0)
    assert feb10["lost_domains"] == 1  # d.com; e.io keeps a live link until 2024-03-05
    mar5 = by_date[date(2024, 3, 5)]
    assert (mar5["lost"], mar5["lost_redirected"], mar5["lost_domains"], mar5["new"]) == (1, 1, 1, 0)


def test_history_by_week_and_month(store: Store) -> None:
    weeks = reports.history(store, "example.com", by="week")
    assert all(r["date"].weekday() == 0 for r in weeks)
    assert {r["date"]: r["lost"] for r in weeks if r["lost"]} == {date(2024, 2, 5): 2, date(2024, 3, 4): 1}
    months = reports.history(store, "example.com", by="month")
    assert [(r["date"], r["new"], r["lost"], r["new_domains"]) for r in months] == [
        (date(2024, 1, 1), 8, 0, 6),
        (date(2024, 2, 1), 1, 2, 0),
        (date(2024, 3, 1), 0, 1, 0),
    ]
    assert reports.history(store, "example.com", by="month", limit=1) == months[-1:]


def test_history_counts_unknown_lost_reasons_as_other() -> None:
    with Store(":memory:") as s:
        insert(s, "links", [link("https://z.org/", "https://example.com/", lost_at=ts("2024-05-01"), lost_reason=None)])
        (row,) = [r for r in reports.history(s, "example.com") if r["lost"]]
        assert (row["lost"], row["lost_other"], row["lost_removed"]) == (1, 1, 0)


# -- export -----------------------------------------------------------------------------------


def _export(store: Store, what: str, fmt: str, **kw: Any) -> tuple[int, bytes]:
    out = io.BytesIO()
    n = reports.export(store, what, fmt, out, **kw)
    return n, out.getvalue()


@pytest.mark.parametrize("what", ["links", "pages"])
def test_export_jsonl(store: Store, what: str) -> None:
    n, data = _export(store, what, "jsonl", batch_rows=3)
    rows = [json.loads(line) for line in data.decode().splitlines()]
    assert n == len(rows) == len(LINKS if what == "links" else PAGES)
    assert all(list(r) == reports.EXPORT_SOURCES[what][0].names for r in rows)
    assert what == "links" or all(r["ur"] is None for r in rows)  # no rank run yet
    first = rows[0]
    expected = sorted(LINKS, key=lambda r: r["target_rhost"])[0] if what == "links" else PAGES[0]
    assert first["source_url" if what == "links" else "url"] == expected["source_url" if what == "links" else "url"]
    assert first["first_seen"] == expected["first_seen"].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_export_csv(store: Store) -> None:
    n, data = _export(store, "links", "csv", batch_rows=4)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert n == len(rows) == len(LINKS)
    assert list(rows[0]) == schema.column_names("links")
    lost = {r["source_url"]: (r["lost_at"], r["lost_reason"]) for r in rows if r["lost_at"]}
    assert lost == {
        "https://d.com/gone": ("2024-02-10T00:00:00Z", "removed"),
        "https://e.io/q": ("2024-02-10T13:00:00Z", "page_gone"),
        "https://e.io/r": ("2024-03-05T00:00:00Z", "redirected"),
    }


def test_export_parquet_streams_batches_as_row_groups(store: Store) -> None:
    n, data = _export(store, "links", "parquet", batch_rows=5)
    f = pq.ParquetFile(io.BytesIO(data))
    assert n == f.metadata.num_rows == len(LINKS)
    assert f.metadata.num_row_groups == 4  # 5 + 5 + 5 + 1: written batch by batch
    table = f.read()
    assert table.schema.names == schema.column_names("links")
    assert table.schema.field("first_seen").type == schema.LINKS.field("first_seen").type
    got = {(r["source_url"], r["target_url"]): r for r in table.to_pylist()}
    for row in LINKS:
        assert got[(row["source_url"], row["target_url"])] == row


def test_export_empty_table_writes_just_the_header(store: Store) -> None:
    with Store(":memory:") as empty:
        n, data = _export(empty, "pages", "csv")
        header = ",".join(f'"{c}"' for c in [*schema.column_names("pages"), "ur"])
        assert n == 0 and data.decode().splitlines() == [header]
        assert _export(empty, "links", "jsonl") == (0, b"")


@pytest.mark.parametrize(("what", "fmt"), [("observations", "csv"), ("links", "xml")])
def test_export_rejects_unknown_tables_and_formats(store: Store, what: str, fmt: str) -> None:
    with pytest.raises(ValueError):
        _export(store, what, fmt)


# -- the range predicate reaches the table scan ---------------------------------------------------


@pytest.fixture(scope="module")
def big_store() -> Store:
    """300,000 links to 3,000 domains, clustered on target_rhost as ingest stores them."""
    s = Store(":memory:")
    s.con.execute(
        """
        INSERT INTO links (source_url, source_host, source_domain, target_url, target_host,
                           target_domain, target_rhost, anchor, rel, kind, section, internal,
                           first_seen, last_seen)
        SELECT 'https://s' || (i % 997) || '.org/' || i, 's' || (i % 997) || '.org', 's' || (i % 997) || '.org',
               'https://d' || lpad((i // 100)::VARCHAR, 5, '0') || '.com/', 'd' || lpad((i // 100)::VARCHAR, 5, '0') || '.com',
               'd' || lpad((i // 100)::VARCHAR, 5, '0') || '.com', 'com.d' || lpad((i // 100)::VARCHAR, 5, '0'),
               'a' || (i % 7), '', 'text', 'content', false,
               TIMESTAMPTZ '2024-01-01 00:00:00+00', TIMESTAMPTZ '2024-02-01 00:00:00+00'
        FROM range(300000) t(i) ORDER BY 7
        """
    )
    yield s
    s.close()


def test_backlinks_query_pushes_the_target_rhost_range_into_the_table_scan(big_store: Store) -> None:
    sql, params = reports.backlinks_query("d01234.com", limit=50)
    plan = "\n".join(row[1] for row in big_store.con.execute("EXPLAIN ANALYZE " + sql, params).fetchall())
    flat = " ".join(plan.replace("│", " ").split())
    scan = flat[flat.index("TABLE_SCAN" if "TABLE_SCAN" in flat else "Table Scan") :]
    assert "target_rhost >= 'd01234.com'" not in scan  # the range is on the reversed host
    assert "target_rhost >= 'com.d01234'" in scan and "target_rhost < 'com.d01234/'" in scan
    import re

    scanned = re.search(r"Row Groups Scanned: (\d+) / (\d+)", scan)
    assert scanned, plan
    assert int(scanned.group(1)) < int(scanned.group(2)), plan
    assert len(reports.backlinks(big_store, "d01234.com")) == 100


# -- sorting backlinks by the source's ratings ------------------------------------------------------


def _ranked(store: Store) -> None:
    """A completed rank run (and a newer, interrupted one the reports must not read)."""
    insert(store, "rank_runs", [{"run_id": 1, "started_at": ts("2024-04-01"), "completed_at": ts("2024-04-01")}])
    insert(store, "rank_runs", [{"run_id": 2, "started_at": ts("2024-05-01")}])
    dr = {"a.org": 50.0, "c.de": 70.0, "b.co.uk": 10.0}
    insert(store, "domain_ranks", [{"run_id": 1, "domain": d, "dr": v} for d, v in dr.items()])
    insert(store, "domain_ranks", [{"run_id": 2, "domain": d, "dr": 100 - v} for d, v in dr.items()])
    ur = {"https://a.org/p2": 40.0, "https://blog.b.co.uk/x": 30.0, "https://news.c.de/z": 20.0, "https://c.de/y": 5.0}
    store.con.execute(
        "INSERT INTO page_ranks SELECT hash(unnest(?::VARCHAR[])), unnest(?::DOUBLE[]), 1.0",
        [list(ur), list(ur.values())],
    )


def test_backlinks_sort_by_source_dr_and_ur_highest_first(store: Store) -> None:
    _ranked(store)
    by_dr = reports.backlinks(store, "example.com", sort="source_dr")
    assert [r["source_dr"] for r in by_dr] == [70.0, 70.0, 50.0, 50.0, 10.0, None]
    assert [r["source_url"] for r in by_dr[:2]] == ["https://c.de/y", "https://news.c.de/z"]  # then by URL
    by_ur = reports.backlinks(store, "example.com", sort="source_ur", limit=3)
    assert [(r["source_url"], r["source_ur"]) for r in by_ur] == [
        ("https://a.org/p2", 40.0),
        ("https://blog.b.co.uk/x", 30.0),
        ("https://news.c.de/z", 20.0),
    ]
    unrated = reports.backlinks(store, "example.com", sort="source_ur")[-2:]
    assert [r["source_ur"] for r in unrated] == [None, None]


def test_backlinks_sort_by_rating_before_any_rank_run_keeps_every_row(store: Store) -> None:
    rows = reports.backlinks(store, "example.com", sort="source_dr")
    assert urls(rows) == LIVE_EXTERNAL and [r["source_url"] for r in rows] == sorted(LIVE_EXTERNAL)


# -- history keeps the latest periods ---------------------------------------------------------------


def test_history_limit_keeps_the_latest_periods_even_when_there_are_fewer() -> None:
    days = [ts(f"2024-01-{d:02d}") for d in range(1, 30)]  # 29 periods
    with Store(":memory:") as s:
        rows = [link(f"https://s{i}.org/", "https://example.com/", first_seen=d) for i, d in enumerate(days)]
        insert(s, "links", rows)
        every = reports.history(s, "example.com")
        assert len(every) == 29
        assert reports.history(s, "example.com", limit=30) == every
        assert reports.history(s, "example.com", limit=50) == every
        assert reports.history(s, "example.com", limit=29) == every
        assert [r["date"] for r in reports.history(s, "example.com", limit=3)] == [
            date(2024, 1, 27),
            date(2024, 1, 28),
            date(2024, 1, 29),
        ]
        assert reports.history(s, "example.com", limit=0) == []
