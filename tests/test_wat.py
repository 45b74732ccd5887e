"""The WAT lite ingest: Common Crawl's WAT files read as pages and links, measured against WARC ingest.

Real data: Common Crawl's whirlwind WAT (its one metadata record describes a request: no links),
WATs made by bench/make_wat.py from real WARCs (whirlwind, and the bundled 117 real pages), whose
links are parsed there with selectolax, not with linkback's extract(); and a WAT built from what
ia-web-commons itself extracts from its test pages (the expected tables of its test suite).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO_DATA, ROOT
from typer.testing import CliRunner

from linkback.cli import app
from linkback.ingest import ingest
from linkback.sources import is_wat, iter_wat
from linkback.sources._wat_links import wat_page
from linkback.sources.warc import ReadStats
from linkback.sources.wat import CANNOT_KNOW, LITE_NOTE
from linkback.store import Store

WHIRLWIND = REPO_DATA / "whirlwind"
REAL = REPO_DATA / "warc" / "real-pages" / "sample.warc.gz"
IA = REPO_DATA / "warc" / "ia-web-commons"


def _make_wat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_wat", ROOT / "bench" / "make_wat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_wat"] = module
    spec.loader.exec_module(module)
    return module


make_wat = _make_wat()


@pytest.fixture(scope="module")
def sample_wat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The WAT of the 117 bundled real pages (made once for the module)."""
    wat = tmp_path_factory.mktemp("wat") / "sample.warc.wat.gz"
    make_wat.make_wat(REAL, wat)
    return wat


def _links(store: Store, kinds: tuple[str, ...] = ("text", "image")) -> set[tuple[str, str]]:
    marks = ",".join("?" * len(kinds))
    rows = store.con.execute(f"SELECT source_url, target_url FROM links WHERE kind IN ({marks})", list(kinds))
    return set(rows.fetchall())


def _ingested(tmp_path: Path, name: str, path: Path) -> Store:
    store = Store(tmp_path / f"{name}.duckdb")
    summary = ingest([path], store=store, workers=1)
    assert [f.status for f in summary.files] == ["ingested"], summary.files
    return store


def test_common_crawls_whirlwind_wat_is_told_and_ingested_as_what_it_is(tmp_path: Path) -> None:
    wat = WHIRLWIND / "whirlwind.warc.wat.gz"
    assert is_wat(wat) and not is_wat(WHIRLWIND / "whirlwind.warc.gz") and not is_wat(REAL)
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([wat], store=store, workers=1).files
        # a warcinfo and the metadata of a request record: no page in either, both counted
        assert (f.status, f.note, f.records, f.pages) == ("ingested", LITE_NOTE, 2, 0)
        assert f.skipped == {"record/warcinfo": 1, "record/request": 1}
        assert not f.errors


def test_a_wat_of_whirlwind_gives_the_links_warc_ingest_finds(tmp_path: Path) -> None:
    wat = tmp_path / "whirlwind.warc.wat.gz"
    make_wat.make_wat(WHIRLWIND / "whirlwind.warc.gz", wat)
    with _ingested(tmp_path, "wat", wat) as lite, _ingested(tmp_path, "warc", WHIRLWIND / "whirlwind.warc.gz") as full:
        links = _links(lite)
        assert len(links) > 100  # a Wikipedia article
        assert links == _links(full)
        for kinds in (("canonical",), ("alternate", "feed")):
            assert _links(lite, kinds) == _links(full, kinds)
        page = "SELECT url, status, title, lang, canonical, n_internal + n_external FROM pages"
        assert lite.con.execute(page).fetchall() == full.con.execute(page).fetchall()
        # what a WAT cannot know is stored unknown, not made up
        unknown = "SELECT count(*) FILTER (section IS NOT NULL OR context IS NOT NULL), count(*) FROM links"
        assert lite.con.execute(unknown).fetchall()[0][0] == 0
        assert full.con.execute(unknown).fetchall()[0][0] > 0


def test_real_pages_through_their_wat_match_warc_ingest(tmp_path: Path, sample_wat: Path) -> None:
    wat = sample_wat
    with _ingested(tmp_path, "wat", wat) as lite, _ingested(tmp_path, "warc", REAL) as full:
        a, b = _links(lite), _links(full)
        assert len(b) > 10_000
        # The same links, but for hrefs the generator decoded in another charset than extract() (it
        # tries the declared one, then UTF-8, then cp1252; extract() also detects): < 0.1 %.
        assert len(a ^ b) <= len(b) // 1000
        for kinds in (("canonical",), ("alternate", "feed"), ("frame",), ("form",), ("redirect",)):
            assert _links(lite, kinds) == _links(full, kinds), kinds
        count = "SELECT count(*), count(DISTINCT target_domain) FROM links WHERE nofollow"
        assert lite.con.execute(count).fetchall() == full.con.execute(count).fetchall()


def test_ia_web_commons_own_extraction_ingests_as_warc_ingest_reads_its_pages(tmp_path: Path) -> None:
    """A WAT of what ia-web-commons extracts (its test suite's expected tables, raw and unresolved)
    from the pages of link-extraction-test.warc: the a-links resolve to what WARC ingest finds."""
    expected = json.loads((IA / "link-extraction-expected.json").read_text())["records"]
    wat = tmp_path / "ia.warc.wat.gz"
    with open(wat, "wb") as fh:
        for i, record in enumerate(expected):
            head: dict = {}
            links = []
            for link in record["expected_links"]:
                if link["path"] == "__base__":
                    head["Base"] = link["url"]
                elif link["path"] == "LINK@/href":
                    head.setdefault("Link", []).append({k: v for k, v in link.items() if k != "anchor_text"})
                elif not link["path"].startswith("__"):
                    entry = {"path": link["path"], "url": link["url"]}
                    if "rel" in link:
                        entry["rel"] = link["rel"]
                    links.append(entry)
            doc = {"Envelope": {"WARC-Header-Metadata": {
                "WARC-Type": "response", "WARC-Target-URI": record["warc_target_uri"],
                "WARC-Date": f"2024-05-01T00:00:{i:02d}Z"}, "Payload-Metadata": {"HTTP-Response-Metadata": {
                    "Response-Message": {"Status": "200"}, "Headers": {"Content-Type": "text/html"},
                    "HTML-Metadata": {"Head": head, "Links": links}}}}}  # fmt: skip
            fh.write(make_wat.metadata_record(record["warc_target_uri"], "2024-05-01T00:00:00Z", f"<urn:x:{i}>", doc))
    with _ingested(tmp_path, "wat", wat) as lite, _ingested(tmp_path, "warc", IA / "link-extraction-test.warc") as full:
        a, b = _links(lite), _links(full)
        assert len(a) >= 10
        # ia-web-commons misses no a-link extract() finds here; what it has beyond them is markup a
        # browser does not treat as a link (an <a href> inside <svg>, which extract() leaves out)
        assert b <= a and len(a - b) <= 2


def _doc(status: int = 200, headers: dict | None = None, html: dict | None = None) -> dict:
    response: dict = {"Response-Message": {"Status": str(status)}, "Headers": headers or {}}
    if html is not None:
        response["HTML-Metadata"] = html
    return {"Envelope": {
        "WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Target-URI": "https://Example.com/a/page",
                                 "WARC-Date": "2024-05-01T10:00:00Z"},
        "Payload-Metadata": {"HTTP-Response-Metadata": response}}}  # fmt: skip


def test_one_record_gives_the_rows_extract_would() -> None:
    html = {
        "Head": {
            "Title": "  A   page ",
            "Base": "/b/",
            "Metas": [{"name": "HTML@/lang", "content": "EN"}, {"http-equiv": "refresh", "content": "5; url=/r"}],
            "Link": [
                {"path": "LINK@/href", "url": "/canon", "rel": "canonical"},
                {"path": "LINK@/href", "url": "/feed.xml", "rel": "alternate", "type": "application/rss+xml"},
                {"path": "LINK@/href", "url": "/style.css", "rel": "stylesheet"},
            ],
        },
        "Links": [
            {"path": "A@/href", "url": "x", "text": "Read  more", "rel": "nofollow UGC"},
            {"path": "IMG@/src", "url": "logo.png", "alt": "Logo"},
            {"path": "A@/href", "url": "https://other.org/"},
            {"path": "A@/href", "url": "mailto:me@example.com", "text": "mail"},
            {"path": "IFRAME@/src", "url": "//video.example.net/v"},
            {"path": "FORM@/action", "url": "/search"},
            {"path": "SCRIPT@/src", "url": "/app.js"},
        ],
    }
    got = wat_page(_doc(html=html))
    assert not isinstance(got, str)
    facts, links = got
    assert (facts.url, facts.title, facts.lang, facts.canonical) == (
        "https://example.com/a/page", "A page", "en", "https://example.com/canon")  # fmt: skip
    assert facts.skipped_links == (("non_http_scheme", 1),)
    rows = [(link.kind, link.target_url, link.anchor, link.nofollow, link.ugc, link.internal) for link in links]
    assert rows == [
        ("canonical", "https://example.com/canon", "", False, False, True),
        ("feed", "https://example.com/feed.xml", "", False, False, True),
        ("text", "https://example.com/b/x", "Read more", True, True, True),
        ("image", "https://other.org/", "Logo", False, False, False),  # an empty link right after an image
        ("frame", "https://video.example.net/v", "", False, False, False),
        ("form", "https://example.com/search", "", False, False, True),
        ("redirect", "https://example.com/r", "", False, False, True),
    ]
    assert (facts.n_internal, facts.n_external) == (1, 1)


def test_status_robots_and_type_decide_as_in_extract() -> None:
    redirect = wat_page(_doc(301, {"Location": "/moved"}, {"Links": [{"path": "A@/href", "url": "/x"}]}))
    assert not isinstance(redirect, str)
    assert redirect[0].skipped == "redirect" and [link.target_url for link in redirect[1]] == [
        "https://example.com/moved"
    ]
    gone = wat_page(_doc(404, html={"Links": [{"path": "A@/href", "url": "/x"}]}))
    assert not isinstance(gone, str) and gone[0].skipped == "http_error" and gone[1] == []
    image = wat_page(_doc(200, {"Content-Type": "image/png"}))
    assert not isinstance(image, str) and image[0].skipped == "not_html"
    robots = {"Head": {"Metas": [{"name": "ROBOTS", "content": "noindex, nofollow"}]},
              "Links": [{"path": "A@/href", "url": "/x", "text": "x"}]}  # fmt: skip
    nofollow = wat_page(_doc(html=robots))
    assert not isinstance(nofollow, str)
    assert (nofollow[0].noindex, nofollow[0].nofollow, nofollow[1][0].nofollow) == (True, True, True)
    header = wat_page(_doc(headers={"X-Robots-Tag": "nofollow"}, html={"Links": [{"path": "A@/href", "url": "/x"}]}))
    assert not isinstance(header, str) and header[1][0].nofollow
    request = _doc()
    request["Envelope"]["WARC-Header-Metadata"]["WARC-Type"] = "request"
    assert wat_page(request) == "request"


def test_bad_json_is_counted_with_where_and_reading_goes_on(tmp_path: Path) -> None:
    wat = tmp_path / "bad.warc.wat.gz"
    members = list(make_wat.wat_records(WHIRLWIND / "whirlwind.warc.gz"))
    bad = [
        make_wat.metadata_record("https://example.com/", "2024-05-01T00:00:00Z", "<urn:x:1>", b'{"Envelope": {'),
        make_wat.metadata_record("https://example.com/", "2024-05-01T00:00:00Z", "<urn:x:2>", b'["not", "a", "doc"]'),
        # Nested deeper than the JSON parser goes: RecursionError, which stopped the ingest.
        make_wat.metadata_record("https://example.com/", "2024-05-01T00:00:00Z", "<urn:x:3>", b"[" * 200_000),
    ]
    wat.write_bytes(members[0] + bad[0] + b"".join(members[1:3]) + bad[1] + bad[2] + b"".join(members[3:]))
    stats = ReadStats()
    pages = list(iter_wat(wat, stats=stats))
    assert [facts.url for facts, _ in pages] == ["https://an.wikipedia.org/wiki/Escopete"]
    assert stats.skipped["bad_json"] == 3 and len(stats.errors) == 3
    assert str(wat) in stats.errors[0] and str(len(members[0])) in stats.errors[0]  # the file and the byte offset
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([wat], store=store, workers=1).files
        assert (f.status, f.pages, f.skipped["record/bad_json"]) == ("ingested", 1, 3)


def test_a_cut_wat_keeps_what_came_before_and_says_where_it_was_cut(tmp_path: Path, sample_wat: Path) -> None:
    full = sample_wat
    cut = tmp_path / "cut.warc.wat.gz"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([cut], store=store, workers=1).files
        # as for a cut WARC: the cut gzip member is dropped and said where, the file counts as read
        assert f.status == "ingested" and 10 < f.pages < 117 and f.skipped["record/truncated_gzip"] == 1
        assert "gzip member cut short" in f.errors[0] and str(cut) in f.errors[0]


def test_the_command_ingests_a_wat_says_it_was_lite_and_reports_read_it(tmp_path: Path, sample_wat: Path) -> None:
    wat = sample_wat
    db = str(tmp_path / "db.duckdb")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(wat), "--db", db, "-q", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "WAT lite ingest" in result.output
    for line in CANNOT_KNOW:
        assert line in result.output
    with Store(db, read_only=True) as store:
        (domain,) = store.con.execute(
            "SELECT target_domain FROM links WHERE NOT internal GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchall()[0]
    for report in ("overview", "backlinks", "refdomains", "anchors"):
        result = runner.invoke(app, [report, domain, "--db", db])
        assert result.exit_code == 0, (report, result.output)
        assert domain in result.output
    again = runner.invoke(app, ["ingest", str(wat), "--db", db, "--format", "json"])
    assert json.loads(again.output)["files"][0]["status"] == "already_ingested"


def test_with_or_without_workers_the_same_rows(tmp_path: Path, sample_wat: Path) -> None:
    rows = []
    for workers in (1, 2):
        with Store(tmp_path / f"db{workers}.duckdb") as store:
            (f,) = ingest([sample_wat], store=store, workers=workers).files
            assert (f.status, f.pages, f.records, f.note) == ("ingested", 117, 118, LITE_NOTE)
            rows.append(
                store.con.execute("SELECT * EXCLUDE (first_seen, last_seen) FROM links ORDER BY ALL").fetchall()
            )
    assert len(rows[0]) > 10_000 and rows[0] == rows[1]


def test_a_record_larger_than_any_wat_holds_is_skipped_unread(tmp_path: Path, monkeypatch) -> None:
    from linkback.sources import wat as wat_module

    wat = tmp_path / "big.warc.wat.gz"
    members = list(make_wat.wat_records(WHIRLWIND / "whirlwind.warc.gz"))
    wat.write_bytes(b"".join(members))
    everything = list(iter_wat(wat, stats=ReadStats()))
    monkeypatch.setattr(wat_module, "MAX_WAT_RECORD_BYTES", 2000)  # the real one: 16 MiB
    stats = ReadStats()
    kept = list(iter_wat(wat, stats=stats))
    assert stats.skipped["record_too_large"] >= 1 and len(kept) == len(everything) - stats.skipped["record_too_large"]
    assert "a metadata record of" in stats.errors[0] and str(wat) in stats.errors[0]


@pytest.mark.parametrize("into_header", [40, 120, 250])
def test_a_wat_cut_inside_a_record_header_counts_a_cut_record_not_bad_json(tmp_path: Path, into_header: int) -> None:
    # FastWARC hands over the fields of a header the file ends inside (no Content-Length): the
    # JSON then is empty, which read as damage of another kind.
    data = gzip.decompress((WHIRLWIND / "whirlwind.warc.wat.gz").read_bytes())
    last = data.rindex(b"WARC/1.0\r\n")
    cut = tmp_path / "cut.warc.wat"
    cut.write_bytes(data[: last + into_header])
    stats = ReadStats()
    assert list(iter_wat(cut, stats=stats)) == []
    assert stats.skipped["truncated_record"] == 1 and stats.skipped["bad_json"] == 0
    assert "ends inside its header" in stats.errors[0] and str(last) in stats.errors[0]
