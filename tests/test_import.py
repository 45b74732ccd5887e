"""``linkback import``: vendor exports into claims, and the ``claims`` report.

Each format is read from a fixture built from its documented header (tests/data/imports/README.md
says where each header list comes from): a UTF-16 LE Ahrefs export, localised Search Console
headers, ``"1,240"`` counts, both date forms, Moz's preamble, Majestic's broken rows.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from serverkit import ADMIN, start_linkback
from typer.testing import CliRunner

from linkback.cli import app
from linkback.imports import claims, import_claims, import_files
from linkback.imports._claims import ParsedFile, parse_file
from linkback.imports._formats import UnrecognisedFile
from linkback.imports._values import BadValue, parse_date, parse_float, parse_int
from linkback.store import Store

DATA = Path(__file__).parent / "data" / "imports"
SITE = "example.com"
TOKEN = "import-token"


def parse(name: str, **kw: Any) -> ParsedFile:
    return parse_file(name, (DATA / name).read_bytes(), **kw)


def by_source(parsed: ParsedFile) -> dict[str, Any]:
    return {c.source_url or c.source_host or c.target_url: c for c in parsed.claims}


def day(y: int, m: int, d: int, *hms: int) -> datetime:
    return datetime(y, m, d, *hms, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    return Store(":memory:")


# --- formats ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "encoding", "rows", "n_claims", "rejected"),
    [
        ("ahrefs-backlinks-utf16.tsv", "ahrefs-backlinks", "utf-16-le", 3, 3, 0),
        ("ahrefs-backlinks.csv", "ahrefs-backlinks", "utf-8", 3, 3, 0),
        ("ahrefs-refdomains.tsv", "ahrefs-refdomains", "utf-16-le", 3, 3, 0),
        ("ahrefs-anchors.csv", "ahrefs-anchors", "utf-8", 3, 3, 0),
        ("semrush-backlinks.csv", "semrush-backlinks", "utf-8", 2, 2, 0),
        ("majestic.csv", "majestic", "utf-8", 7, 4, 3),
        ("moz-ose.csv", "moz", "utf-8", 2, 2, 0),
        ("bing-backlinks.csv", "bing-backlinks", "utf-8-sig", 2, 2, 0),
        ("bing-domains.csv", "bing-domains", "utf-8-sig", 2, 2, 0),
        ("gsc-top-linking-sites.csv", "gsc-linking-sites", "utf-8", 3, 3, 0),
        ("gsc-top-linking-sites-fr.csv", "gsc-linking-sites", "utf-8", 1, 1, 0),
        ("gsc-top-linked-pages.csv", "gsc-linked-pages", "utf-8", 2, 2, 0),
        ("gsc-top-linked-pages-es.csv", "gsc-linked-pages", "utf-8", 1, 1, 0),
        ("gsc-latest-links.csv", "gsc-latest-links", "utf-8", 3, 3, 0),
        ("gsc-latest-links-de.csv", "gsc-latest-links", "utf-8", 2, 2, 0),
        ("gsc-more-sample-links.csv", "gsc-sample-links", "utf-8", 2, 2, 0),
        ("tracked.csv", "tracked", "utf-8", 2, 2, 0),
        ("urls.txt", "list", "utf-8", 4, 3, 1),
    ],
)
def test_each_format_is_recognised_by_its_header(
    name: str, fmt: str, encoding: str, rows: int, n_claims: int, rejected: int
) -> None:
    parsed = parse(name, site=SITE)
    assert (parsed.format.name, parsed.encoding) == (fmt, encoding)
    assert (parsed.rows, len(parsed.claims), parsed.rejected) == (rows, n_claims, rejected), parsed.rejects


def test_ahrefs_utf16_tsv_and_utf8_csv_give_the_same_claims_with_metrics() -> None:
    utf16, utf8 = parse("ahrefs-backlinks-utf16.tsv"), parse("ahrefs-backlinks.csv")
    assert [(c.key, c.values, c.metrics) for c in utf16.claims] == [(c.key, c.values, c.metrics) for c in utf8.claims]
    blog, forum, partner = (by_source(utf16)[u] for u in (
        "https://blog.example.org/posts/link-audits", "https://forum.example.net/t/123",
        "https://partner.example.co.uk/partners"))  # fmt: skip
    assert blog.target_url == "https://example.com/" and blog.values["anchor"] == "Example"
    assert blog.metrics["dr"] == 71.0 and blog.metrics["ur"] == 23.5 and blog.metrics["domain_traffic"] == 1240
    assert blog.values["first_seen"] == day(2024, 1, 2, 10, 11, 12) and blog.values["lost_at"] is None
    assert (forum.values["nofollow"], forum.values["ugc"], forum.values["sponsored"]) == (True, True, False)
    assert partner.values["kind"] == "image" and partner.values["sponsored"] is True
    assert partner.values["lost_at"] == day(2026, 8, 25, 13) and partner.metrics["drop_reason"] == "link removed"
    assert "Left context" in utf16.ignored


def test_ahrefs_referring_domains_and_anchors_are_claims_about_the_site() -> None:
    domains = by_source(parse("ahrefs-refdomains.tsv", site=SITE))
    spam = domains["spammy.example"]
    assert spam.level == "domain" and spam.source_url is None and spam.target_host == SITE
    assert spam.metrics["is_spam"] is True and domains["blog.example.org"].metrics["dofollow_refdomains"] == 1530
    assert domains["forum.example.net"].values["lost_at"] == day(2026, 9, 10)
    anchors = parse("ahrefs-anchors.csv", site=SITE).claims
    assert [(c.level, c.values["anchor"], c.metrics["ref_domains"]) for c in anchors] == [
        ("anchor", "Example", 2), ("anchor", "pricing", 1), ("anchor", "", 1)]  # fmt: skip


def test_search_console_exports_counts_dates_and_domain_level_claims() -> None:
    sites = by_source(parse("gsc-top-linking-sites.csv", site=SITE))
    blog = sites["blog.example.org"]
    assert blog.level == "domain" and blog.metrics == {"linking_pages": 1240, "target_pages": 12}
    pages = by_source(parse("gsc-top-linked-pages.csv"))
    assert (
        pages["https://example.com/"].level == "page"
        and pages["https://example.com/"].metrics["incoming_links"] == 2100
    )
    latest = by_source(parse("gsc-latest-links.csv", site=SITE))
    assert latest["https://blog.example.org/posts/link-audits"].values["last_seen"] == day(2026, 9, 28)
    assert latest["https://forum.example.net/t/123"].values["last_seen"] == day(2026, 9, 15)  # "Sep 15, 2026"
    assert {c.target_url for c in latest.values()} == {None} and {c.target_host for c in latest.values()} == {SITE}
    sample = parse("gsc-more-sample-links.csv", site=SITE)
    assert all(c.values == {} for c in sample.claims)  # no column for dates: nothing to say about them


def test_localised_search_console_headers() -> None:
    german = by_source(parse("gsc-latest-links-de.csv", site=SITE))
    assert german["https://blog.example.org/posts/link-audits"].values["last_seen"] == day(2026, 9, 28)  # 28.09.2026
    assert german["https://forum.example.net/t/123"].values["last_seen"] == day(2026, 4, 3)  # 03/04/2026, day first
    assert parse("gsc-top-linking-sites-fr.csv", site=SITE).claims[0].metrics["linking_pages"] == 1240  # "1 240"
    assert parse("gsc-top-linked-pages-es.csv").claims[0].metrics["incoming_links"] == 2100  # "2.100"


def test_moz_preamble_scheme_less_urls_and_followable() -> None:
    parsed = parse("moz-ose.csv")
    assert parsed.preamble == 6
    blog, forum = parsed.claims
    assert (blog.source_url, blog.target_url) == ("https://blog.example.org/posts/link-audits", "https://example.com/")
    assert blog.metrics["pa"] == 45 and blog.metrics["da"] == 60 and blog.metrics["domain_linking_domains"] == 1530
    assert blog.values["nofollow"] is False and forum.values["nofollow"] is True
    assert forum.metrics["spam_score"] == 3  # "3%"


def test_majestic_rows_that_are_not_valid_csv_are_refused_and_the_rest_kept() -> None:
    parsed = parse("majestic.csv")
    assert [r["line"] for r in parsed.rejects] == [4, 5, 8]
    assert all(r["reason"].startswith("not valid CSV") for r in parsed.rejects)
    assert "4 fields where the header has 20" in parsed.rejects[2]["reason"]
    claims_ = by_source(parsed)
    # The lines after the unclosed quote on line 5 are rows of their own: kept, with their lines.
    assert claims_["http://news.example.io/weekly/42"].line == 6
    assert claims_["http://img.example.com/gallery"].values["kind"] == "image"
    assert claims_["http://blog.example.org/posts/link-audits"].values["kind"] == "text"  # flagged as no other kind
    forum = claims_["http://forum.example.net/t/123"]
    assert forum.values["nofollow"] is True and forum.metrics["tf"] == 11 and forum.metrics["cf"] == 22
    assert forum.values["first_seen"] == day(2023, 5, 2) and forum.values["last_seen"] == day(2026, 8, 30)


def test_semrush_bing_tracked_and_lists() -> None:
    semrush = by_source(parse("semrush-backlinks.csv"))
    directory = semrush["http://dir.example.info/web/seo"]
    assert directory.values["kind"] == "image" and directory.metrics["sitewide"] is True
    assert semrush["https://blog.example.org/posts/link-audits"].values["kind"] == "text"
    assert directory.values["lost_at"] == day(2026, 6, 30) and directory.metrics["ascore"] == 12  # lost when last seen
    bing = parse("bing-backlinks.csv").claims
    assert [c.values["anchor"] for c in bing] == ["Example", "launch post"]
    tracked = by_source(parse("tracked.csv"))
    guest = tracked["https://blog.example.org/posts/link-audits"]
    assert guest.values == {
        "nofollow": False,
        "anchor": "Example",
        "notes": "guest post, paid 2024",
        "tags": "guest,2024",
    }
    assert tracked["https://partner.example.co.uk/partners"].values["nofollow"] is True  # "nofollow"
    urls = parse("urls.txt", site=SITE)
    assert [c.source_url for c in urls.claims][-1] == "https://old.example.edu/links.html"
    assert urls.rejects == [{"line": 4, "reason": urls.rejects[0]["reason"]}] and "bad URL" in urls.rejects[0]["reason"]


def test_encodings_delimiters_and_headers_as_spreadsheets_write_them() -> None:
    # Excel on Windows: Windows-1252 bytes, semicolons, headers in other case and spacing.
    sheet = "url from;Expected Landing Page URL\r\nhttps://caf\u00e9.example.fr/menu;https://example.com/\r\n"
    parsed = parse_file("sheet.csv", sheet.encode("cp1252"))
    assert (parsed.format.name, parsed.encoding) == ("tracked", "cp1252")
    assert parsed.claims[0].source_url == "https://xn--caf-dma.example.fr/menu"  # IDN hosts as punycode
    swapped = parse_file(
        "swapped.csv", b"Target URL,Anchor,Referring page URL\nhttps://example.com/,a,https://b.example/\n"
    )
    assert swapped.claims[0].source_url == "https://b.example/"  # by header, not by position
    # A packed file under an export's name says what it is.
    import gzip
    import io
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as z:
        z.writestr("export.csv", "Referring page URL,Target URL\n")
    for data, what in ((packed.getvalue(), "a zip archive"), (gzip.compress(b"a,b\n"), "a gzip file")):
        with pytest.raises(UnrecognisedFile, match=f"this is {what}, not an export's text: unpack it"):
            parse_file("export.csv", data)
    # UTF-16 whose byte order mark was lost, in either byte order.
    text = "Referring page URL\tTarget URL\nhttps://b.example/\thttps://example.com/\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        parsed = parse_file("no-bom.tsv", text.encode(encoding))
        assert (parsed.encoding, parsed.claims[0].source_url) == (encoding, "https://b.example/")


def test_malformed_rows_give_their_line_and_reason() -> None:
    parsed = parse("ahrefs-malformed.csv")
    reasons = {r["line"]: r["reason"] for r in parsed.rejects}
    assert sorted(reasons) == [3, 4, 5, 6]
    assert "bad URL" in reasons[3] and "javascript" in reasons[3]
    assert "missing 'Referring page URL'" in reasons[4]
    assert "unparseable number 'twelve'" in reasons[5]
    assert "unparseable date 'yesterday'" in reasons[6]
    assert [c.line for c in parsed.claims] == [2, 7]


def test_values_in_the_forms_exports_write_them() -> None:
    assert [parse_int(v) for v in ("1,240", "1.240", "1 240", "1\u00a0240", "12", "12.0", "3%", "", "-")] == [
        1240, 1240, 1240, 1240, 12, 12, 3, None, None]  # fmt: skip
    assert [parse_float(v) for v in ("45", "45.5", "45,5", "1,240.5", "1.240,5", "1,240")] == [
        45.0, 45.5, 45.5, 1240.5, 1240.5, 1240.0]  # fmt: skip
    assert parse_date("Sep 15, 2026") == parse_date("2026-09-15") == parse_date("15 September 2026") == day(2026, 9, 15)
    assert parse_date("2026-09-15T10:00:00+02:00") == day(2026, 9, 15, 8)
    assert parse_date("09/15/2026") == parse_date("15/09/2026") == day(2026, 9, 15)
    assert parse_date("03/04/2026") == day(2026, 3, 4) and parse_date("03/04/2026", day_first=True) == day(2026, 4, 3)
    # A zone that moves the moment past year 9999 or before year 1 is a bad value, not a crash.
    for bad in ("soon", "2026-13-01", "Foo 3, 2026", "9999-12-31T23:30:00-02:00", "0001-01-01T00:30:00+02:00"):
        with pytest.raises(BadValue):
            parse_date(bad)
    with pytest.raises(BadValue):
        parse_int("12 apples")
    with pytest.raises(BadValue, match="unparseable number"):
        parse_float("9" * 5000)  # no float: it would be stored as Infinity, which JSON has not


def test_a_line_ends_only_at_cr_or_lf_not_at_a_unicode_separator_in_a_cell() -> None:
    text = (
        "Referring page URL,Target URL,Anchor\n"
        "https://a.example.org/,https://example.com/,one\u2028two\n"
        "https://b.example.org/,https://example.com/,page\x0cbreak\x0bvt\n"
        "javascript:alert(1),https://example.com/,bad\n"
        "https://c.example.org/,https://example.com/,three\n"
    )
    parsed = parse_file("seps.csv", text.encode(), site="example.com")
    assert [(c.line, c.source_url) for c in parsed.claims] == [
        (2, "https://a.example.org/"), (3, "https://b.example.org/"), (5, "https://c.example.org/")]  # fmt: skip
    assert [r["line"] for r in parsed.rejects] == [4]


def test_an_unrecognised_file_says_which_headers_it_saw_and_which_formats_it_knows(store: Store) -> None:
    result = import_files(store, [DATA / "unknown.csv", DATA / "ahrefs-backlinks.csv"])
    unknown, ahrefs = result["files"]
    assert unknown["status"] == "failed" and ahrefs["status"] == "imported"
    assert "'Keyword', 'Position', 'Volume'" in unknown["error"]
    assert (
        "ahrefs-backlinks (Referring page URL, Target URL)" in unknown["error"]
        and "gsc-latest-links" in unknown["error"]
    )
    asked = import_files(store, [DATA / "ahrefs-backlinks.csv"], file_format="semrush")["files"][0]
    assert asked["status"] == "failed" and "not the format asked for" in asked["error"]
    no_site = import_files(store, [DATA / "gsc-latest-links.csv"])["files"][0]
    assert no_site["status"] == "failed" and "--site" in no_site["error"]
    with pytest.raises(ValueError, match="unknown file format"):
        import_files(store, [DATA / "ahrefs-backlinks.csv"], file_format="excel")


# --- storing ---------------------------------------------------------------------------------------


def count(store: Store, table: str) -> int:
    return int(store.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


@pytest.mark.parametrize("batch_claims", [1, 2, 10_000])
def test_reimport_adds_nothing_and_a_newer_export_updates_what_changed(
    store: Store, batch_claims: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkback.imports import _store

    monkeypatch.setattr(_store, "BATCH_CLAIMS", batch_claims)  # a file's claims merged a batch at a time
    first = import_files(store, [DATA / "ahrefs-backlinks.csv"])
    assert (first["added"], first["changed"], first["unchanged"]) == (3, 0, 0)
    again = import_files(store, [DATA / "ahrefs-backlinks.csv", DATA / "ahrefs-backlinks-utf16.tsv"])
    assert (again["added"], again["changed"], again["unchanged"]) == (0, 0, 6)
    assert count(store, "claims") == 3 and count(store, "claim_imports") == 2  # the TSV is another file
    newer = import_files(store, [DATA / "ahrefs-backlinks-newer.csv"])
    assert (newer["added"], newer["changed"], newer["unchanged"]) == (1, 2, 1)
    rows = {r["source"]: r for r in claims(store, SITE, via="ahrefs")}
    assert json.loads(rows["https://blog.example.org/posts/link-audits"]["metrics"])["dr"] == 72
    forum = rows["https://forum.example.net/t/123"]
    assert forum["lost_at"] == day(2026, 9, 10) and json.loads(forum["metrics"])["drop_reason"] == "page not found"
    assert rows["https://news.example.io/weekly/42"]["status"] == "unverified"


def test_an_export_without_a_column_keeps_what_another_export_said(store: Store) -> None:
    import_files(store, [DATA / "gsc-latest-links.csv"], site=SITE)
    sample = import_files(store, [DATA / "gsc-more-sample-links.csv"], site=SITE)
    assert (sample["added"], sample["changed"], sample["unchanged"]) == (1, 0, 1)
    rows = {r["source"]: r for r in claims(store, SITE, via="gsc")}
    assert rows["https://blog.example.org/posts/link-audits"]["last_seen"] == day(2026, 9, 28)


def test_a_file_is_written_whole_or_not_at_all(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from linkback.imports import _store

    import_files(store, [DATA / "bing-backlinks.csv"])
    original = _store._insert

    def broken(*args: Any) -> None:
        original(*args)
        raise RuntimeError("disk full")

    monkeypatch.setattr(_store, "_insert", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        import_files(store, [DATA / "semrush-backlinks.csv"])
    assert count(store, "claims") == 2 and count(store, "claim_imports") == 1  # Bing's, and nothing of Semrush


def test_a_file_written_in_batches_is_still_written_whole_or_not_at_all(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkback.imports import _store

    monkeypatch.setattr(_store, "BATCH_CLAIMS", 1)
    original, calls = _store._insert, []

    def broken_second(*args: Any) -> None:
        calls.append(1)
        original(*args)
        if len(calls) == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(_store, "_insert", broken_second)
    with pytest.raises(RuntimeError, match="disk full"):
        import_files(store, [DATA / "ahrefs-backlinks.csv"])
    assert count(store, "claims") == 0 and count(store, "claim_imports") == 0


def _big_export(rows: int) -> bytes:
    header, *sample = (DATA / "ahrefs-backlinks.csv").read_text().splitlines()
    lines = [header]
    for i in range(rows):
        lines.append(sample[i % 2].replace("https://blog.example.org/posts/link-audits", f"https://b{i % 50}.example.org/p{i}"))
        lines[-1] = lines[-1].replace("https://forum.example.net/t/123", f"https://f{i % 50}.example.net/t{i}")
    return ("\n".join(lines) + "\n").encode()


def test_a_large_export_is_never_all_python_objects_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A claim as a Python object costs ~1.4 KB, over five times its row: a 220 MB export took
    # 10.8 GB when a file's claims were all read before any was written. Read a batch at a time
    # into Arrow (which tracemalloc does not count), the Python heap stays within a few times the
    # file's size (its text, the parsers' bounded caches, one batch).
    import tracemalloc

    from linkback.imports import _store
    from linkback.imports._claims import read_export

    monkeypatch.setattr(_store, "BATCH_CLAIMS", 200)
    data = _big_export(4000)
    _store.spool(read_export("warm.csv", _big_export(10)))  # (the first call loads the suffix list)
    tracemalloc.start()
    try:
        parsed = read_export("big.csv", data)
        spooled = _store.spool(parsed)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed.claimed == 4000 and sum(b.num_rows for b in spooled.batches) == 4000
    assert peak < 4.5 * len(data), (peak, len(data))  # (was 9.5 times)


def test_claims_join_the_index_on_normalised_urls(store: Store) -> None:
    store.con.execute(
        "INSERT INTO links (source_url, source_host, source_domain, target_url, target_host, target_domain, "
        "target_rhost, anchor, kind, internal) VALUES ('https://blog.example.org/posts/link-audits', "
        "'blog.example.org', 'example.org', 'https://example.com/', 'example.com', 'example.com', 'com.example', "
        "'Example', 'text', false)"
    )
    import_files(
        store, [DATA / "bing-backlinks.csv", DATA / "bing-domains.csv", DATA / "ahrefs-anchors.csv"], site=SITE
    )
    indexed = {(r["level"], r["source"] or r["anchor"]): r["indexed"] for r in claims(store, SITE)}
    assert indexed[("link", "https://blog.example.org/posts/link-audits")] is True
    assert indexed[("link", "https://news.example.io/weekly/42")] is False
    assert indexed[("domain", "blog.example.org")] is True and indexed[("domain", "news.example.io")] is False
    assert indexed[("anchor", "Example")] is None  # a count, not a link
    assert {r["level"] for r in claims(store, SITE, level="domain")} == {"domain"}
    assert claims(store, SITE, verified=True) == [] and len(claims(store, SITE, verified=False)) == 7
    assert [r["source"] for r in claims(store, "https://example.com/blog/")] == ["https://news.example.io/weekly/42"]


def test_the_schema_has_the_claims_tables(store: Store) -> None:
    from linkback import schema

    assert store.schema_version == schema.SCHEMA_VERSION >= 6
    assert {"claims", "claim_imports"} <= {r[0] for r in store.con.execute("SHOW TABLES").fetchall()}


# --- the three faces -------------------------------------------------------------------------------

runner = CliRunner()


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args), env={"COLUMNS": "80"})
    return result


def test_the_cli_prints_a_summary_per_file_in_80_columns(tmp_path: Path) -> None:
    db = str(tmp_path / "c.duckdb")
    files = [str(DATA / n) for n in ("majestic.csv", "ahrefs-backlinks-utf16.tsv", "gsc-latest-links-de.csv")]
    result = cli("import", *files, "--site", SITE, "--db", db)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert any("majestic" in line and " 4 " in line for line in lines)
    assert any("line 4: not valid CSV" in line for line in lines)
    failed = cli("import", str(DATA / "unknown.csv"), str(tmp_path / "absent.csv"), "--db", db)
    assert failed.exit_code == 1 and "'Keyword'" in failed.stderr and "absent.csv" in failed.stderr
    shown = cli("claims", SITE, "--via", "majestic", "--db", db)
    assert shown.exit_code == 0 and "4 claims for example.com" in shown.stdout


def _app(db: str) -> Any:
    from linkback.server import Settings, create_app

    return create_app(Settings(db=db, admin_token=TOKEN))


def test_the_cli_and_the_api_give_the_same_claims_rows_and_the_job_route_takes_bytes(tmp_path: Path) -> None:
    from serverkit import wait_for

    db = str(tmp_path / "a.duckdb")
    with Store(db) as store:
        import_files(store, sorted(DATA.glob("[abgmst]*.*")), site=SITE)
    cases = (
        ([SITE], {"target": SITE}),
        ([SITE, "--via", "ahrefs", "--via", "moz", "--sort", "last_seen"],
         {"target": SITE, "via": ["ahrefs", "moz"], "sort": "last_seen"}),
        (["https://example.com/pricing", "--unverified"], {"target": "https://example.com/pricing", "verified": False}),
    )  # fmt: skip
    local = []
    for args, _ in cases:
        result = cli("claims", *args, "--format", "json", "--limit", "0", "--db", db)
        assert result.exit_code == 0, result.output
        local.append(json.loads(result.stdout))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(_app(db)) as client:
        for (_, params), rows in zip(cases, local, strict=True):
            resp = client.get("/api/v1/reports/claims", params=params, headers=auth)
            assert resp.status_code == 200, resp.text
            assert rows and resp.json() == rows
        assert client.post("/api/v1/jobs/import", json={"files": [{"name": "x"}]}, headers=auth).status_code == 422
        data = base64.b64encode(b"https://new.example.net/a\n").decode()
        body = {"files": [{"name": "new.txt", "data": data}], "site": SITE}
        queued = client.post("/api/v1/jobs/import", json=body, headers=auth)
        assert queued.status_code == 202

        def done() -> Any:
            job = client.get(queued.headers["location"], headers=auth).json()
            return job["state"] == "done" and job

        assert wait_for(done)["result"]["files"][0]["added"] == 1
        # The file's bytes are not kept in the jobs table once the job has ended; its name is.
        kept = client.get(queued.headers["location"], params={"params": "true"}, headers=auth).json()["params"]
        assert kept["files"] == [{"name": "new.txt"}] and data not in json.dumps(kept)


def test_an_import_through_a_running_server_is_a_job(tmp_path: Path) -> None:
    alone = str(tmp_path / "alone.duckdb")
    files = [str(DATA / "ahrefs-backlinks.csv"), str(DATA / "gsc-latest-links.csv"), str(DATA / "unknown.csv")]
    local = cli("import", *files, "--site", SITE, "--format", "json", "--db", alone)
    server = start_linkback(tmp_path, sites=[], advertise=True)
    try:
        db = server.state.settings.db
        served = cli("import", *files, "--site", SITE, "--format", "json", "--db", db)
        assert served.exit_code == local.exit_code == 1  # unknown.csv failed, the others imported
        assert json.loads(served.stdout) == json.loads(local.stdout)
        listed = cli("claims", SITE, "--format", "json", "--db", db)
        assert [r["source"] for r in json.loads(listed.stdout)] == [
            r["source"] for r in json.loads(cli("claims", SITE, "--format", "json", "--db", alone).stdout)]  # fmt: skip
        jobs = httpx.get(server.url + "/api/v1/jobs", headers=ADMIN).json()
        assert [(j["kind"], j["state"]) for j in jobs] == [("import", "done")]
    finally:
        server.stop()


def test_import_claims_reads_base64_and_refuses_what_is_not(store: Store) -> None:
    ok = base64.b64encode((DATA / "bing-backlinks.csv").read_bytes()).decode()
    result = import_claims(store, files=[{"name": "b.csv", "data": ok}, {"name": "x", "data": "%%%"}])
    assert [f["status"] for f in result["files"]] == ["imported", "failed"]
    assert result["files"][1]["error"] == "its data is not base64"


def test_a_pipe_a_device_a_directory_or_a_huge_file_is_refused_unread(tmp_path: Path, monkeypatch) -> None:
    """/dev/zero never ends and a FIFO with no writer never starts: neither is opened for reading.
    A file over the size an import holds in memory is refused with how to go on."""
    from linkback.imports import _job

    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    big = tmp_path / "big.csv"
    big.write_bytes((DATA / "majestic.csv").read_bytes())
    monkeypatch.setattr(_job, "MAX_IMPORT_BYTES", 100)  # the real cap is 256 MB
    tiny = tmp_path / "tiny.csv"
    tiny.write_bytes(b"Source URL,Target URL\n")
    files, refused = _job.read_import_files([fifo, "/dev/zero", tmp_path, big, tiny])
    assert [f["name"] for f in files] == [str(tiny)]
    reasons = {r["name"]: r["reason"] for r in refused}
    assert reasons[str(fifo)] == reasons["/dev/zero"] == "not a regular file"
    assert reasons[str(tmp_path)] == "a directory, not an export file"
    assert reasons[str(big)].startswith("larger than 0 MB: split the export")
    monkeypatch.undo()
    result = cli("import", str(fifo), str(DATA / "majestic.csv"), "--site", SITE, "--db", str(tmp_path / "i.duckdb"))
    assert result.exit_code == 1 and "not a regular file" in result.stderr  # the pipe failed, the export imported


def test_an_unknown_header_of_a_million_columns_is_quoted_in_part() -> None:
    from linkback.imports._formats import FORMATS, unrecognised

    message = str(unrecognised([f"col{i}" for i in range(1_000_000)], FORMATS))
    assert "'col19', ... (1,000,000 columns)" in message and "'col20'" not in message and len(message) < 3000


def test_files_are_imported_a_few_at_a_time_with_the_same_summary(tmp_path: Path, monkeypatch) -> None:
    from linkback.imports import _job

    names = ["ahrefs-backlinks.csv", "bing-backlinks.csv", "unknown.csv", "semrush-backlinks.csv"]
    paths = [DATA / n for n in names] + [tmp_path / "missing.csv"]
    with Store(tmp_path / "whole.duckdb") as store:
        whole = import_files(store, paths, site=SITE)
    calls = []
    real = _job.import_claims

    def counted(store, *, files, **kw):  # noqa: ANN001, ANN003, ANN202
        calls.append([f["name"] for f in files])
        return real(store, files=files, **kw)

    monkeypatch.setattr(_job, "import_claims", counted)
    monkeypatch.setattr(_job, "JOB_BYTES", 1)  # each file a job of its own: one file's bytes held at once
    with Store(tmp_path / "apart.duckdb") as store:
        apart = import_files(store, paths, site=SITE)
    assert calls == [[str(p)] for p in paths[:4]]
    assert apart == whole and whole["failed"] == 2 and whole["files"][-1]["name"] == str(paths[-1])


def test_no_store_is_made_for_files_none_of_which_could_be_read(tmp_path: Path) -> None:
    opened = []
    result = import_files(lambda: opened.append(1), [tmp_path / "missing.csv", tmp_path], site=SITE)
    assert opened == [] and result["failed"] == 2 and [f["status"] for f in result["files"]] == ["failed"] * 2


def test_metrics_stored_in_other_words_but_equal_are_unchanged(store: Store) -> None:
    import_files(store, [DATA / "ahrefs-backlinks.csv"])
    (before,) = store.con.execute("SELECT metrics FROM claims ORDER BY claim_id LIMIT 1").fetchall()[0]
    reordered = json.dumps(dict(reversed(list(json.loads(before).items()))), separators=(",", ":"))
    assert reordered != before
    store.con.execute("UPDATE claims SET metrics = ? WHERE claim_id = (SELECT min(claim_id) FROM claims)", [reordered])
    again = import_files(store, [DATA / "ahrefs-backlinks.csv"])
    assert (again["added"], again["changed"], again["unchanged"]) == (0, 0, 3)
    assert store.con.execute("SELECT metrics FROM claims ORDER BY claim_id LIMIT 1").fetchall()[0][0] == reordered


def test_a_bad_site_is_an_error_line_not_a_traceback(tmp_path: Path) -> None:
    result = cli("import", str(DATA / "ahrefs-backlinks.csv"), "--site", "bad host!", "--db", str(tmp_path / "x.duckdb"))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    assert "--site 'bad host!'" in result.stderr and not (tmp_path / "x.duckdb").exists()


# --- the files' bytes: as they are in one process, uploaded to a server ------------------------------


def test_an_import_in_one_process_never_base64_encodes_and_json_still_takes_base64(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_base64(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("base64 in one process")

    with monkeypatch.context() as patched:
        patched.setattr(base64, "b64encode", no_base64)
        patched.setattr(base64, "b64decode", no_base64)
        result = cli("import", str(DATA / "bing-backlinks.csv"), "--db", str(tmp_path / "c.duckdb"), "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["added"] == 2
        with Store(":memory:") as store:
            given = import_claims(store, files=[{"name": "b.csv", "data": (DATA / "bing-backlinks.csv").read_bytes()}])
            assert given["added"] == 2
    with Store(":memory:") as store:  # text is base64, as JSON carries it; bad base64 says so
        ok = base64.b64encode((DATA / "bing-backlinks.csv").read_bytes()).decode()
        result = import_claims(store, files=[{"name": "b.csv", "data": ok}, {"name": "x", "data": "%%%"}])
        assert [f["status"] for f in result["files"]] == ["imported", "failed"]
        assert result["files"][1]["error"] == "its data is not base64"


def _uploads_dir(db: str) -> Path:
    return Path(f"{db}.uploads")


def _ended(client: TestClient, location: str) -> dict[str, Any]:
    from serverkit import wait_for

    def ended() -> Any:
        job = client.get(location, headers={"Authorization": f"Bearer {TOKEN}"}).json()
        return job["state"] not in ("queued", "running") and job

    return wait_for(ended)  # type: ignore[return-value]


def test_a_multipart_upload_is_the_cli_import_and_its_file_is_gone_after_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["ahrefs-backlinks.csv", "gsc-latest-links.csv"]
    monkeypatch.chdir(DATA)  # the CLI names a file as it was given: here, as the upload does
    local = cli("import", *names, "--site", SITE, "--format", "json", "--db", str(tmp_path / "cli.duckdb"))
    assert local.exit_code == 0, local.output
    db = str(tmp_path / "served.duckdb")
    Store(db).close()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(_app(db)) as client:
        files = [("files", (n, (DATA / n).read_bytes(), "text/csv")) for n in names]
        queued = client.post("/api/v1/jobs/import", data={"site": SITE}, files=files, headers=auth)
        assert queued.status_code == 202, queued.text
        job = _ended(client, queued.headers["location"])
        assert job["state"] == "done" and job["result"] == json.loads(local.stdout)
        assert list(_uploads_dir(db).iterdir()) == []  # read, then deleted
        kept = client.get(queued.headers["location"], params={"params": "true"}, headers=auth).json()["params"]
        assert kept["files"] == [{"name": n} for n in names]
        served = client.get("/api/v1/reports/claims", params={"target": SITE}, headers=auth).json()
        # JSON is still taken, its data base64: text that is not is the job's failure, as it was.
        body = {"files": [{"name": "x.csv", "data": "%%%"}]}
        failed = _ended(client, client.post("/api/v1/jobs/import", json=body, headers=auth).headers["location"])
        assert failed["result"]["files"][0]["error"] == "its data is not base64"
    assert list(_uploads_dir(db).iterdir()) == []
    claims_cli = cli("claims", SITE, "--format", "json", "--limit", "0", "--db", str(tmp_path / "cli.duckdb"))
    def rows(claims: list[dict[str, Any]]) -> list[tuple[str, ...]]:  # (a source's claims tie in the sort)
        return sorted(tuple(json.dumps(c[k]) for k in ("via", "source", "target", "anchor", "metrics")) for c in claims)

    assert served and rows(served) == rows(json.loads(claims_cli.stdout))


def test_an_oversized_upload_is_413_and_nothing_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from linkback.server import api
    from linkback.server._bodylimit import BodyLimit

    small = tuple(
        BodyLimit(lim.path, 2**20, lim.answer, stream=True) if lim.path == "/api/v1/jobs/import" else lim
        for lim in api.BODY_LIMITS
    )
    monkeypatch.setattr(api, "BODY_LIMITS", small)
    db = str(tmp_path / "o.duckdb")
    Store(db).close()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    big = b"https://example.net/a\n" * 100_000  # 2.2 MB
    with TestClient(_app(db)) as client:
        declared = client.post("/api/v1/jobs/import", files=[("files", ("big.txt", big))], headers=auth)
        assert declared.status_code == 413 and "too large" in declared.json()["detail"]

        def chunks() -> Any:  # no Content-Length: counted as it comes, cut past the limit
            boundary = b'--x\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
            yield boundary
            for i in range(0, len(big), 65536):
                yield big[i : i + 65536]
            yield b"\r\n--x--\r\n"

        streamed = client.post(
            "/api/v1/jobs/import", content=chunks(), headers={**auth, "Content-Type": "multipart/form-data; boundary=x"}
        )
        assert streamed.status_code == 413
        small_json = client.post("/api/v1/jobs/import", json={"files": []}, headers=auth)
        assert small_json.status_code == 202  # JSON is held to the jobs' own limit, not the upload's
        assert [j["kind"] for j in client.get("/api/v1/jobs", headers=auth).json()] == ["import"]
    assert not _uploads_dir(db).exists() or list(_uploads_dir(db).iterdir()) == []


def test_a_queued_upload_survives_a_restart_and_a_lost_one_fails_saying_so(tmp_path: Path) -> None:
    from linkback.server._jobs import queue_job
    from linkback.server._uploads import Uploads

    db = str(tmp_path / "r.duckdb")
    uploads = Uploads(db)
    with (DATA / "bing-backlinks.csv").open("rb") as f:
        kept = uploads.save(f)
    with (DATA / "bing-backlinks.csv").open("rb") as f:
        lost = uploads.save(f)
    orphan = uploads.save(__import__("io").BytesIO(b"left by a server killed before it queued the job"))
    with Store(db) as store:  # queued by a server that stopped before running them
        ok = queue_job(store, "import", {"files": [{"name": "b.csv", "upload": kept}]})
        gone = queue_job(store, "import", {"files": [{"name": "lost.csv", "upload": lost}]})
    uploads.path(lost).unlink()
    with TestClient(_app(db)) as client:
        assert not uploads.path(orphan).exists()  # no queued job names it: swept at start
        done = _ended(client, f"/api/v1/jobs/{ok}")
        assert done["state"] == "done" and done["result"]["added"] == 2
        failed = _ended(client, f"/api/v1/jobs/{gone}")
        assert failed["state"] == "failed" and "'lost.csv' is no longer on the server" in failed["error"]
        assert "upload it again" in failed["error"]
    assert list(_uploads_dir(db).iterdir()) == []


def test_the_cli_through_a_server_uploads_the_bytes_without_base64(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_linkback(tmp_path, sites=[], advertise=True)
    try:
        db = server.state.settings.db

        def no_base64(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("base64 on the way")

        with monkeypatch.context() as patched:
            patched.setattr(base64, "b64encode", no_base64)
            patched.setattr(base64, "b64decode", no_base64)
            served = cli("import", str(DATA / "bing-backlinks.csv"), "--format", "json", "--db", db)
        assert served.exit_code == 0, served.output
        assert json.loads(served.stdout)["added"] == 2
        jobs = httpx.get(server.url + "/api/v1/jobs", headers=ADMIN).json()
        assert [(j["kind"], j["state"]) for j in jobs] == [("import", "done")]
        assert list(_uploads_dir(db).iterdir()) == []
    finally:
        server.stop()
