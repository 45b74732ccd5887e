"""Schema 14: the site and list keys of older stores, held as they were typed (``bücher.de``,
``München.DE.``; an alert rule's ``example.com.``), rewritten into the one stored form when the
store is opened, and merged where two spellings of one site meet; a key no check accepts stays."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from linkrows import insert

from linkback import alerts as al
from linkback import quality, schema
from linkback.brands import unlinked
from linkback.brands._store import load_terms
from linkback.ingest import ingest_pages
from linkback.quality._signals import read_lists
from linkback.rank import rank
from linkback.records import FetchedPage
from linkback.reports import anchors
from linkback.store import Store

BUECHER, BUECHER_ASCII = "bücher.de", "xn--bcher-kva.de"
MUENCHEN_ASCII = "xn--mnchen-3ya.de"
ZUERICH_ASCII = "xn--zrich-kva.example"


def day(n: int) -> datetime:
    return datetime(2024, 5, n, tzinfo=UTC)


def _page(url: str, body: str) -> FetchedPage:
    return FetchedPage(
        url=url,
        status=200,
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        fetched_at=day(1),
        body=f"<html><body>{body}</body></html>".encode(),
    )


PAGES = [
    _page("https://links.example/c", '<p>Ein Buch.</p><a href="https://bücher.de/">buch</a>'),
    _page("https://mention.example/d", "<p>Das Buch ist gut.</p>"),
    _page("https://other.example/e", "<p>Ein Buch und noch ein Buch.</p>"),
    _page("https://münchen.de/p", '<p>Hier.</p><a href="https://bücher.de/x">hier</a>'),
]

#: ``site_profiles`` as the older code left them: (site, brands, keywords).
PROFILES = [
    (BUECHER, "buch", "bücher kaufen"),
    # Two spellings and the stored form: the row under the stored form is the profile.
    ("München.DE.", "Munich Old", ""),
    ("münchen.de", "Munich Older", ""),
    (MUENCHEN_ASCII, "Munich", ""),
    # Two spellings, no stored form: the first in code-point order ("Z" < "z").
    ("Zürich.example", "Zurich Upper", ""),
    ("zürich.example", "Zurich Lower", ""),
    ("*.example.org", "Star", ""),  # refused now (an older check let it in): left as it is
]

#: ``quality_lists`` as the older code left them: (list, entry, note, added_at).
LIST_ENTRIES = [
    ("allow", "münchen.de", "old", day(1)),
    ("deny", "München.DE.", "newest", day(3)),  # the newest of the entry wins, on either list
    ("allow", MUENCHEN_ASCII, "middle", day(2)),
    ("allow", "zürich.example", "tie", day(4)),  # as new as the deny row: deny, the safe reading
    ("deny", "Zürich.example", "tie", day(4)),
    ("deny", "https://Bücher.de/x", "a page", day(1)),
    ("deny", "a..b.net", "garbage", day(1)),  # refused now: left as it is
    ("allow", "fine.example", "untouched", day(1)),
]


def _v13_store(path: str) -> None:
    """A store file as schema 13 left it, written by the code before site keys had one form."""
    with Store(path) as store:
        quality.set_profile(store, BUECHER_ASCII, brands=["buch"])
        ingest_pages(store, PAGES, via="warc")
        con = store.con
        # Its mentions under the Unicode spelling; one page found under both spellings, whose
        # row under the stored form is the one kept.
        con.execute("UPDATE brand_mentions SET site = ? WHERE url <> 'https://other.example/e'", [BUECHER])
        con.execute(
            "INSERT INTO brand_mentions SELECT * REPLACE (? AS site, 'under the spelling' AS snippet) "
            "FROM brand_mentions WHERE url = 'https://other.example/e'",
            [BUECHER],
        )
        con.execute("DELETE FROM site_profiles")
        con.executemany("INSERT INTO site_profiles VALUES (?, ?, ?)", PROFILES)
        con.executemany("INSERT INTO quality_lists VALUES (?, ?, ?, ?)", LIST_ENTRIES)
        # Alert rules typed with a trailing dot before parse_target dropped it, next to the feed
        # made since under the stored form.
        al.alert_rule_add(store, "example.com", "new_link", channel="atom")
        con.execute(
            "UPDATE alert_rules SET rule_id = 0, site = 'example.com.', secret = 'old-token'; "
            "INSERT INTO alert_rules SELECT * REPLACE (1 AS rule_id, 'example.com' AS site, 'feed-token' AS secret) "
            "FROM alert_rules"
        )
        insert(store, "alerts", [
            {"alert_id": 1, "alert_key": 1, "rule_id": 0, "site": "example.com.", "event": "new_link",
             "title": "a link", "created_at": day(1)},
        ])  # fmt: skip
        con.execute("UPDATE meta SET value = '13' WHERE key = 'schema_version'")


@pytest.fixture
def migrated(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Store:
    path = str(tmp_path / "v13.duckdb")
    _v13_store(path)
    with caplog.at_level(logging.WARNING, logger="linkback.store"), Store(path) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        yield store


def _rows(store: Store, sql: str) -> list[tuple]:
    return store.con.execute(sql).fetchall()


def test_profiles_are_one_per_site_under_the_stored_form(migrated: Store) -> None:
    assert _rows(migrated, "SELECT site, brands FROM site_profiles ORDER BY site") == [
        ("*.example.org", "Star"),
        (BUECHER_ASCII, "buch"),
        (MUENCHEN_ASCII, "Munich"),
        (ZUERICH_ASCII, "Zurich Upper"),
    ]
    assert quality.get_profile(migrated, BUECHER) == {
        "site": BUECHER_ASCII, "brands": ["buch"], "keywords": ["bücher kaufen"]
    }  # fmt: skip
    assert load_terms(migrated.con).terms == (
        ("Star", "*.example.org"),
        ("buch", BUECHER_ASCII),
        ("Munich", MUENCHEN_ASCII),
        ("Zurich Upper", ZUERICH_ASCII),
    )
    # The anchor classes read the profile of the report's target: a brand's anchor is branded.
    assert {row["anchor"]: row["anchor_class"] for row in anchors(migrated, BUECHER)}["buch"] == "branded"


def test_mentions_follow_their_site_and_unlinked_lists_them(migrated: Store) -> None:
    assert _rows(migrated, "SELECT DISTINCT site FROM brand_mentions") == [(BUECHER_ASCII,)]
    # The page found under both spellings keeps one row: the one under the stored form.
    assert _rows(migrated, "SELECT snippet <> 'under the spelling' FROM brand_mentions WHERE url LIKE '%other%'") == [
        (True,)
    ]
    assert [row["url"] for row in unlinked(migrated, BUECHER)] == [
        "https://mention.example/d",
        "https://other.example/e",
    ]


def test_list_entries_are_one_per_entry_the_newest_winning(migrated: Store) -> None:
    assert [(e["list"], e["entry"], e["note"]) for e in quality.list_entries(migrated)] == [
        ("deny", "a..b.net", "garbage"),
        ("allow", "fine.example", "untouched"),
        ("deny", "https://xn--bcher-kva.de/x", "a page"),
        ("deny", MUENCHEN_ASCII, "newest"),
        ("deny", ZUERICH_ASCII, "tie"),
    ]
    assert read_lists(migrated.con).sites[MUENCHEN_ASCII] == "deny"
    # Toxicity reads the lists: the Unicode deny entry now names the referring domain.
    rank(migrated, seeds=[])
    by_source = {row["source_url"]: row["signals"] for row in quality.toxic_links(migrated, BUECHER)}
    assert by_source[f"https://{MUENCHEN_ASCII}/p"] == ["denied"]
    # And the list commands find what the older code stored, in any spelling.
    assert quality.remove_from_list(migrated, "deny", ["MÜNCHEN.de"]) == 1


def test_alert_rules_and_alerts_drop_the_trailing_dot_and_the_feed_keeps_its_token(migrated: Store) -> None:
    assert _rows(migrated, "SELECT rule_id, site, secret FROM alert_rules ORDER BY rule_id") == [
        (0, "example.com", "feed-token"),
        (1, "example.com", "feed-token"),
    ]
    assert al.feed_token(migrated.con, "example.com") == "feed-token"
    assert [a["title"] for a in al.alerts(migrated, site="example.com")] == ["a link"]


def test_a_refused_key_is_left_as_it_is_and_named(migrated: Store, caplog: pytest.LogCaptureFixture) -> None:
    assert _rows(migrated, "SELECT entry, note FROM quality_lists WHERE entry = 'a..b.net'") == [
        ("a..b.net", "garbage")
    ]
    assert _rows(migrated, "SELECT brands FROM site_profiles WHERE site = '*.example.org'") == [("Star",)]
    (warning,) = [r.getMessage() for r in caplog.get_records("setup") if r.name == "linkback.store"]
    assert warning == (
        "schema 14: keys left as they were (not a domain, host or URL): "
        "site_profiles.site: 1 ('*.example.org'); quality_lists.entry: 1 ('a..b.net')"
    )


def test_a_store_with_nothing_to_rewrite_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = str(tmp_path / "plain.duckdb")
    with Store(path) as store:
        quality.add_to_list(store, "deny", ["münchen.de"])
        quality.set_profile(store, BUECHER, brands=["buch"])
        before = [_rows(store, f"SELECT * FROM {t} ORDER BY ALL") for t in ("quality_lists", "site_profiles")]
    con = duckdb.connect(path)
    con.execute("UPDATE meta SET value = '13' WHERE key = 'schema_version'")
    con.close()
    with caplog.at_level(logging.WARNING, logger="linkback.store"), Store(path) as store:
        after = [_rows(store, f"SELECT * FROM {t} ORDER BY ALL") for t in ("quality_lists", "site_profiles")]
    assert after == before and not [r for r in caplog.records if r.name == "linkback.store"]
