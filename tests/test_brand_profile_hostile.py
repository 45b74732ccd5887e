"""Site profiles and the allow/deny lists against hostile input: a brand term replaced (its
mentions go with it), an IDN given in Unicode (one key for every spelling of a host, in new
stores and in stores written before), a term holding a line break, and the term limits, which
the CLI, the API and the dashboard enforce alike (they are ``set_profile``'s)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serverkit import Settings
from test_dashboard_monitor import TOKEN, sign_in
from typer.testing import CliRunner

from linkback import quality
from linkback.brands import rescan, unlinked
from linkback.brands._store import load_terms
from linkback.cli import app as cli
from linkback.errors import URLError
from linkback.ingest import ingest_pages
from linkback.quality._signals import read_lists
from linkback.records import FetchedPage
from linkback.reports import anchors
from linkback.server import create_app
from linkback.store import Store

BUECHER, BUECHER_ASCII = "bücher.de", "xn--bcher-kva.de"
MUENCHEN, MUENCHEN_ASCII = "münchen.de", "xn--mnchen-3ya.de"
#: Every character str.splitlines() breaks a line at.
LINE_BREAKS = ("\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _page(url: str, body: str) -> FetchedPage:
    return FetchedPage(
        url=url,
        status=200,
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        fetched_at=datetime(2024, 5, 1, tzinfo=UTC),
        body=f"<html><body>{body}</body></html>".encode(),
    )


PAGES = [
    _page("https://news.example/a", "<p>Acme makes things, and so does Qwerty.</p>"),
    _page("https://blog.example/b", "<p>Only Acme here.</p>"),
    _page("https://links.example/c", '<p>Ein Buch.</p><a href="https://bücher.de/">buch</a>'),
    _page("https://mention.example/d", "<p>Das Buch ist gut.</p>"),
]


def _terms_by_url(store: Store, site: str) -> dict[str, list[str]]:
    return {row["url"]: row["terms"] for row in unlinked(store, site)}


def _site_keys(store: Store) -> list[str]:
    return [site for (site,) in store.con.execute("SELECT site FROM site_profiles ORDER BY site").fetchall()]


# -- a brand replaced ---------------------------------------------------------------------------


def test_unlinked_lists_only_the_profiles_current_terms(tmp_path: Path) -> None:
    with Store(str(tmp_path / "s.duckdb")) as store:
        quality.set_profile(store, "acme.example", brands=["Acme", "Qwerty"])
        ingest_pages(store, PAGES, via="warc")
        assert _terms_by_url(store, "acme.example") == {
            "https://blog.example/b": ["Acme"],
            "https://news.example/a": ["Acme", "Qwerty"],
        }
        quality.set_profile(store, "acme.example", brands=["Qwerty"])
        assert _terms_by_url(store, "acme.example") == {"https://news.example/a": ["Qwerty"]}
        # The hits of the term removed went with it (derived data), in set_profile's own write.
        assert store.con.execute("SELECT DISTINCT term FROM brand_mentions").fetchall() == [("Qwerty",)]
        # A store where they linger (set before set_profile dropped them, or found by an ingest that
        # ran with the earlier terms): the report reads the current terms only, rescan drops them.
        store.con.execute(
            "INSERT INTO brand_mentions SELECT * REPLACE ('Acme' AS term) FROM brand_mentions "
            "UNION ALL SELECT * REPLACE ('Gone Corp' AS term, 'https://blog.example/b' AS url) FROM brand_mentions"
        )
        assert _terms_by_url(store, "acme.example") == {"https://news.example/a": ["Qwerty"]}
        assert rescan(store)["dropped"] == 2
        assert store.con.execute("SELECT count(*), any_value(term) FROM brand_mentions").fetchall() == [(1, "Qwerty")]


# -- IDNs ---------------------------------------------------------------------------------------


def test_every_spelling_of_a_host_is_one_entry() -> None:
    for spelling in (BUECHER, "Bücher.DE.", BUECHER_ASCII, "XN--BCHER-KVA.DE", "domain:bücher.de", "bücher。de"):
        assert quality.normalize_entry(spelling) == BUECHER_ASCII, spelling
    assert quality.normalize_entry("https://Bücher.de/x") == "https://xn--bcher-kva.de/x"
    assert quality.normalize_entry("192.0.2.1") == "192.0.2.1"
    # The URL parser reads "3.14" as the address 3.0.0.14, and a backslash as a path: not hosts.
    # Nor what no DNS name can be, which the URL parser takes (the imports refuse them alike).
    for bad in ("3.14", "a.example\\b", "ex ample.com", "localhost", "a.example:8080", "*.example.org", "a..b.net"):
        with pytest.raises(URLError, match="is not a domain, host or URL"):
            quality.normalize_entry(bad)


def test_an_idn_profile_and_list_entries_in_unicode_are_the_punycode_ones(tmp_path: Path) -> None:
    with Store(str(tmp_path / "s.duckdb")) as store:
        saved = quality.set_profile(store, BUECHER, brands=["buch"])
        ingest_pages(store, PAGES, via="warc")
        assert saved["site"] == BUECHER_ASCII and _site_keys(store) == [BUECHER_ASCII]
        assert quality.get_profile(store, BUECHER_ASCII)["brands"] == ["buch"]
        # The anchor classes read the profile of the report's target, whichever spelling was given.
        by_anchor = {row["anchor"]: row["anchor_class"] for row in anchors(store, BUECHER)}
        assert by_anchor["buch"] == "branded"
        assert list(_terms_by_url(store, BUECHER_ASCII)) == ["https://mention.example/d"]
        # A Unicode entry is the one toxicity and disavow read; the other spelling moves it.
        assert quality.add_to_list(store, "deny", [MUENCHEN]) == [MUENCHEN_ASCII]
        assert read_lists(store.con).sites == {MUENCHEN_ASCII: "deny"}
        quality.add_to_list(store, "allow", [MUENCHEN_ASCII.upper()])
        assert [(e["list"], e["entry"]) for e in quality.list_entries(store)] == [("allow", MUENCHEN_ASCII)]
        assert quality.remove_from_list(store, "allow", [MUENCHEN]) == 1


def test_a_store_with_unicode_keys_is_read_once_opened_and_kept_so_by_the_next_write(tmp_path: Path) -> None:
    """Stores written before hosts were punycoded hold an IDN as typed: opening one rewrites its
    keys (schema 14: tests/test_migration_unicode_keys.py), so profile, unlinked and ingest's
    terms find it under either spelling; writing the profile or an entry again keeps one row,
    under the punycode, with the mentions already found."""
    path = str(tmp_path / "s.duckdb")
    with Store(path) as store:
        quality.set_profile(store, BUECHER_ASCII, brands=["buch"])
        ingest_pages(store, PAGES, via="warc")
        # As the earlier code stored them: the Unicode spelling, the hits under it too.
        store.con.execute("UPDATE site_profiles SET site = ?", [BUECHER])
        store.con.execute("INSERT INTO brand_mentions SELECT * REPLACE (? AS site) FROM brand_mentions", [BUECHER])
        store.con.execute("DELETE FROM brand_mentions WHERE site = ?", [BUECHER_ASCII])
        store.con.execute("INSERT INTO quality_lists VALUES ('deny', ?, '', now())", [MUENCHEN])
        store.con.execute("UPDATE meta SET value = '13' WHERE key = 'schema_version'")
    with Store(path) as store:
        assert quality.get_profile(store, BUECHER_ASCII)["brands"] == ["buch"]
        assert list(_terms_by_url(store, BUECHER_ASCII)) == ["https://mention.example/d"]
        assert load_terms(store.con).terms == (("buch", BUECHER_ASCII),)
        quality.set_profile(store, BUECHER, brands=["buch"])
        assert _site_keys(store) == [BUECHER_ASCII]
        assert list(_terms_by_url(store, BUECHER)) == ["https://mention.example/d"]
        assert store.con.execute("SELECT DISTINCT site FROM brand_mentions").fetchall() == [(BUECHER_ASCII,)]
        quality.add_to_list(store, "allow", [MUENCHEN])
        assert [(e["list"], e["entry"]) for e in quality.list_entries(store)] == [("allow", MUENCHEN_ASCII)]


# -- the terms ----------------------------------------------------------------------------------


def test_a_term_with_a_line_break_of_any_kind_is_refused_by_name(tmp_path: Path) -> None:
    with Store(str(tmp_path / "s.duckdb")) as store:
        quality.set_profile(store, "zzz.example", brands=["Zzz"])
        for line_break in LINE_BREAKS:
            for field in ("brands", "keywords"):
                term = f"Rival{line_break}Widgets"
                with pytest.raises(
                    ValueError, match="^" + re.escape(f"{field}: the term {term!r} holds a line break (U+")
                ):
                    quality.set_profile(store, "zzz.example", **{field: [term]})
        assert quality.get_profile(store, "zzz.example")["brands"] == ["Zzz"]
        # Around a term, a line break is whitespace, stripped like a space.
        assert quality.set_profile(store, "zzz.example", brands=["\u2028Zzz\n"])["brands"] == ["Zzz"]
        # A profile stored with one inside a term is read as the scan reads it: two terms.
        store.con.execute("UPDATE site_profiles SET brands = ?", ["Rival\u2028Widgets"])
        assert quality.get_profile(store, "zzz.example")["brands"] == ["Rival", "Widgets"]
        assert load_terms(store.con).terms == (("Rival", "zzz.example"), ("Widgets", "zzz.example"))


TOO_MANY = [f"t{i}" for i in range(51)]
TOO_MANY_MESSAGE = "brands: 51 terms given; at most 50"
TOO_LONG_MESSAGE = "brands: a term has 201 characters; at most 200"


def test_the_term_limits_are_set_profiles_on_every_face(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    with Store(db) as store:
        assert len(quality.set_profile(store, "acme.example", keywords=TOO_MANY)["keywords"]) == 51  # more kept
        with pytest.raises(
            ValueError, match="keywords: 1001 terms given; at most 1000"
        ):
            quality.set_profile(store, "acme.example", keywords=[f"k{i}" for i in range(1001)])
    for brands, message in ((TOO_MANY, TOO_MANY_MESSAGE), (["x" * 201], TOO_LONG_MESSAGE)):
        args = [w for b in brands for w in ("--brand", b)]
        result = CliRunner().invoke(cli, ["profile", "acme.example", *args, "--db", db])
        assert result.exit_code != 0 and message in " ".join(result.output.split()), result.output
    served = str(tmp_path / "served.duckdb")
    with TestClient(create_app(Settings(db=served, admin_token=TOKEN))) as client:
        csrf = sign_in(client)
        for brands, message in ((TOO_MANY, TOO_MANY_MESSAGE), (["x" * 201], TOO_LONG_MESSAGE)):
            api = client.post("/api/v1/actions/set_profile", json={"site": "acme.example", "brands": brands},
                              headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
            assert api.status_code == 400 and api.json()["detail"].startswith(message), api.text
            form = client.post("/do/unlinked/brands", data={"csrf": csrf, "site": "acme.example",
                                                            "brands": "\n".join(brands)})  # fmt: skip
            assert form.status_code == 400 and message in unescape(form.text)
        assert quality.get_profile(client.app.state.linkback.request_store(), "acme.example")["brands"] == []
