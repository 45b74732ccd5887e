"""Partial captures: a page whose body is known to be cut (``WARC-Truncated``, past the reader's
``max_body_bytes``, past extraction's limits, the crawler's rendered DOM cut at its size) shows
the links it has, and says nothing of those it lacks.

The link state is derived from real WARC files written here with warcio and ingested the way
``linkback ingest`` reads them: a truncated capture newer than a whole one moves the last seen
of the links it has and ends none; only a later whole capture makes a link ``removed``; the
order and grouping of the captures (one file, several, either order) changes nothing.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from linkback import schema
from linkback.cli import app
from linkback.extract import ExtractLimits, extract
from linkback.fetch import FetchResult
from linkback.ingest import ingest
from linkback.records import FetchedPage
from linkback.sources._wat_links import wat_page
from linkback.sources.warc import ReadStats, iter_archive
from linkback.spark import _layout
from linkback.store import Store

PAGE = "https://site.example/post"
A, B = "https://a.example/", "https://b.example/"
#: The reader's default limit: a body past it is cut (``body_truncated``).
MAX_BODY = 10 * 2**20


def day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


@dataclass(frozen=True)
class Capture:
    """One response record: the page at ``when`` with links to ``targets``, cut by ``cut``:
    "" (whole), "warc" (its producer cut the body and says so with WARC-Truncated) or "size" (the
    body runs past the reader's limit, and the links after it are past the cut)."""

    when: int
    targets: tuple[str, ...]
    cut: str = ""
    status: int = 200
    url: str = PAGE

    def body(self) -> bytes:
        links = "".join(f'<p><a href="{t}">to {t}</a></p>' for t in self.targets)
        html = f"<!doctype html><html><head><title>post</title></head><body>{links}"
        if self.cut == "warc":
            return html.encode() + b"<p>the rest of the page is not her"  # cut mid-sentence
        if self.cut == "size":
            # B, when this capture has it, sits past the limit: the reader never sees it.
            first, *rest = self.targets
            head = f'<!doctype html><html><body><p><a href="{first}">to {first}</a></p><!-- '.encode()
            filler = b"x" * (MAX_BODY + 1024)
            tail = "".join(f'<p><a href="{t}">to {t}</a></p>' for t in rest)
            return head + filler + f" --> {tail}</body></html>".encode()
        return (html + "</body></html>").encode()


def write_warc(path: Path, captures: list[Capture]) -> Path:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for c in captures:
            body = c.body()
            extra = [("Location", "https://elsewhere.example/")] if 300 <= c.status < 400 else []
            http = StatusAndHeaders(f"{c.status} X", [("Content-Type", "text/html; charset=utf-8"), *extra],
                                    protocol="HTTP/1.1")  # fmt: skip
            warc_headers = {"WARC-Date": day(c.when).strftime("%Y-%m-%dT%H:%M:%SZ")}
            if c.cut == "warc":
                warc_headers["WARC-Truncated"] = "length"
            writer.write_record(writer.create_warc_record(
                c.url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
                warc_headers_dict=warc_headers))  # fmt: skip
    return path


def ingest_files(tmp_path: Path, files: list[list[Capture]], name: str = "store") -> Store:
    """A store with ``files`` ingested in order, each a WARC file of its own (its captures one batch)."""
    folder = tmp_path / name
    folder.mkdir()
    store = Store(folder / "db.duckdb")
    paths = [str(write_warc(folder / f"{n}.warc.gz", captures)) for n, captures in enumerate(files)]
    for path in paths:  # one command per file: the order of the files is the order of ingest
        summary = ingest([path], store=store, workers=1)
        assert [f.status for f in summary.files] == ["ingested"]
    return store


def link_state(store: Store) -> list[tuple]:
    return store.con.execute(
        "SELECT target_url, first_seen, last_seen, lost_at, lost_reason FROM links WHERE source_url = ? ORDER BY ALL",
        [PAGE],
    ).fetchall()


def page_row(store: Store) -> tuple:
    return store.con.execute(
        "SELECT last_seen, observations, truncated, n_external FROM pages WHERE url = ?", [PAGE]
    ).fetchone()


def captures(store: Store) -> list[tuple]:
    return store.con.execute(
        "SELECT fetched_at, status, truncated FROM observations WHERE url = ? ORDER BY fetched_at", [PAGE]
    ).fetchall()


# --- the history: whole (A, B), then truncated (A), then whole (A) -------------------------------

CUTS = ["warc", "size"]


def history(cut: str) -> tuple[Capture, Capture, Capture]:
    return (Capture(1, (A, B)), Capture(2, (A, B) if cut == "size" else (A,), cut), Capture(3, (A,)))


#: Ways to hand the same captures to ingest: files in order (each a list of captures: one file,
#: one batch). ``w1``, ``t`` and ``w2`` are the whole, truncated and later whole captures.
ARRANGEMENTS = {
    "one file each, in time order": [["w1"], ["t"], ["w2"]],
    "truncated first, whole later": [["t"], ["w2"], ["w1"]],
    "all in one batch": [["w1", "t", "w2"]],
    "all in one batch, truncated first": [["t", "w2", "w1"]],
    "two archives": [["w1", "w2"], ["t"]],
    "two archives, truncated first": [["t"], ["w2", "w1"]],
}
BEFORE_THE_SECOND_WHOLE = {
    "in time order": [["w1"], ["t"]],
    "truncated first": [["t"], ["w1"]],
    "one batch": [["t", "w1"]],
}


def arranged(cut: str, files: list[list[str]]) -> list[list[Capture]]:
    w1, t, w2 = history(cut)
    named = {"w1": w1, "t": t, "w2": w2}
    return [[named[n] for n in file] for file in files]


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("arrangement", list(BEFORE_THE_SECOND_WHOLE))
def test_a_truncated_capture_moves_last_seen_of_its_links_and_loses_none(
    tmp_path: Path, cut: str, arrangement: str
) -> None:
    with ingest_files(tmp_path, arranged(cut, BEFORE_THE_SECOND_WHOLE[arrangement])) as store:
        assert captures(store) == [(day(1), 200, False), (day(2), 200, True)]
        assert link_state(store) == [
            (A, day(1), day(2), None, None),  # seen in the truncated capture: live until then
            (B, day(1), day(1), None, None),  # not in the part read: not removed
        ]
        # The page's newest capture is partial: pages says so, and counts the links of that part.
        assert page_row(store) == (day(2), 2, True, 1)


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("arrangement", list(ARRANGEMENTS))
def test_a_later_whole_capture_removes_the_link_at_that_capture_in_any_order(
    tmp_path: Path, cut: str, arrangement: str
) -> None:
    with ingest_files(tmp_path, arranged(cut, ARRANGEMENTS[arrangement])) as store:
        assert captures(store) == [(day(1), 200, False), (day(2), 200, True), (day(3), 200, False)]
        assert link_state(store) == [
            (A, day(1), day(3), None, None),
            (B, day(1), day(1), day(3), "removed"),  # at the whole capture, not the truncated one
        ]
        assert page_row(store) == (day(3), 3, False, 1)


def test_a_page_seen_once_truncated_has_its_links_live(tmp_path: Path) -> None:
    with ingest_files(tmp_path, [[Capture(1, (A, B), "warc")]]) as store:
        assert link_state(store) == [(A, day(1), day(1), None, None), (B, day(1), day(1), None, None)]
        assert page_row(store) == (day(1), 1, True, 2)


@pytest.mark.parametrize(("status", "reason"), [(404, "page_gone"), (301, "redirected")])
def test_a_truncated_404_or_redirect_still_ends_the_links(tmp_path: Path, status: int, reason: str) -> None:
    files = [[Capture(1, (A, B))], [Capture(2, (), "warc", status=status)]]
    with ingest_files(tmp_path, files) as store:
        assert captures(store) == [(day(1), 200, False), (day(2), status, True)]
        ended = [(A, day(1), day(1), day(2), reason), (B, day(1), day(1), day(2), reason)]
        hop = [("https://elsewhere.example/", day(2), day(2), None, None)] if status == 301 else []
        assert link_state(store) == ended + hop  # the redirect is the page's one link now


def test_a_truncated_capture_between_two_whole_ones_ends_nothing(tmp_path: Path) -> None:
    """Whole (A, B), truncated (A), whole (A, B): B was on the page all along."""
    files = [[Capture(1, (A, B)), Capture(2, (A,), "warc"), Capture(3, (A, B))]]
    with ingest_files(tmp_path, files) as store:
        assert link_state(store) == [(A, day(1), day(3), None, None), (B, day(1), day(3), None, None)]


def test_workers_reading_byte_ranges_mark_the_same_captures(tmp_path: Path) -> None:
    w1, t, w2 = history("warc")
    path = write_warc(tmp_path / "all.warc.gz", [w1, t, w2])
    with Store(tmp_path / "db.duckdb") as store:
        ingest([str(path)], store=store, workers=2)
        assert captures(store) == [(day(1), 200, False), (day(2), 200, True), (day(3), 200, False)]
        assert link_state(store)[1] == (B, day(1), day(1), day(3), "removed")


# --- where truncation comes from ---------------------------------------------------------------


def test_the_reader_marks_cut_bodies_truncated_and_whole_ones_not(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "a.warc.gz", [Capture(1, (A,)), Capture(2, (A,), "warc"), Capture(3, (A, B), "size")])
    stats = ReadStats()
    pages = list(iter_archive(path, stats=stats))
    assert [(p.fetched_at, p.truncated) for p in pages] == [(day(1), False), (day(2), True), (day(3), True)]
    assert stats.skipped["warc_truncated"] == 1 and stats.skipped["body_truncated"] == 1
    # A body whose decoding runs past the limit is cut there too (a small record, a large page).
    gzipped = tmp_path / "gz.warc.gz"
    with gzipped.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        body = gzip.compress(b"<a href='https://a.example/'>a</a>" + b" " * 5000)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                                protocol="HTTP/1.1")  # fmt: skip
        writer.write_record(writer.create_warc_record(
            PAGE, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
            warc_headers_dict={"WARC-Date": "2024-01-01T00:00:00Z"}))  # fmt: skip
    (page,) = iter_archive(gzipped, stats=ReadStats(), max_body_bytes=1000)
    assert len(page.body) == 1000 and page.truncated


@pytest.mark.parametrize(
    ("encoding", "body", "partial"),
    [
        ("gzip", b"<a href='https://a.example/'>a</a> and not gzip at all", True),  # bad_content_encoding
        ("x-unheard-of", b"<a href='https://a.example/'>a</a>", True),  # unsupported_content_encoding
        ("gzip", gzip.compress(b"<a href='https://a.example/'>a</a>", mtime=0), False),
    ],
    ids=["bad_content_encoding", "unsupported_content_encoding", "whole"],  # fixed: xdist's workers must agree
)
def test_a_body_that_would_not_decompress_is_no_whole_capture(
    tmp_path: Path, encoding: str, body: bytes, partial: bool
) -> None:
    """Its raw bytes are kept and give no link: taken as whole, every link of the page would be
    removed by one unreadable capture."""
    path = tmp_path / "enc.warc.gz"
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", encoding)],
                                protocol="HTTP/1.1")  # fmt: skip
        writer.write_record(writer.create_warc_record(
            PAGE, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
            warc_headers_dict={"WARC-Date": "2024-01-01T00:00:00Z"}))  # fmt: skip
    (page,) = iter_archive(path, stats=ReadStats())
    assert page.truncated is partial


def test_extraction_that_stops_early_marks_the_capture_truncated() -> None:
    links = "".join(f'<a href="https://t{n}.example/">{n}</a>' for n in range(5))
    page = FetchedPage(PAGE, 200, (("Content-Type", "text/html"),), f"<body>{links}</body>".encode(), day(1))
    assert not extract(page)[0].truncated
    facts, got = extract(page, limits=ExtractLimits(max_links=2))
    assert facts.truncated and len(got) == 2
    facts, got = extract(page, limits=ExtractLimits(max_parse_bytes=60))
    assert facts.truncated and len(got) < 5
    # A cut body says so whatever the status: whether it decides anything is the store's business.
    gone = FetchedPage(PAGE, 404, (), b"not fou", day(1), truncated=True)
    assert extract(gone)[0].truncated


def test_a_wat_record_of_a_truncated_response_is_truncated() -> None:
    def doc(**warc: str) -> dict:
        html = {"Head": {"Title": "t"}, "Links": [{"path": "A@/href", "url": A, "text": "a"}]}
        response = {
            "Response-Message": {"Status": "200"},
            "Headers": {"Content-Type": "text/html"},
            "HTML-Metadata": html,
        }
        header = {"WARC-Type": "response", "WARC-Target-URI": PAGE, "WARC-Date": "2024-01-01T00:00:00Z", **warc}
        return {"Envelope": {"WARC-Header-Metadata": header, "Payload-Metadata": {"HTTP-Response-Metadata": response}}}

    whole, cut = wat_page(doc()), wat_page(doc(**{"WARC-Truncated": "length"}))
    assert not isinstance(whole, str) and not isinstance(cut, str)
    assert not whole[0].truncated and cut[0].truncated and cut[1] == whole[1]


def test_a_live_fetch_cut_at_its_size_limit_is_a_truncated_page() -> None:
    result = FetchResult(
        url=PAGE, final_url=PAGE, status=200, headers=(), body=b"<a href='x'>", truncated=True,
        content_type="text/html", charset=None, redirects=(), fetched_at=day(1),
    )  # fmt: skip
    assert result.to_fetched_page(via="webmention").truncated


def test_the_crawler_says_which_pages_it_kept_cut(tmp_path: Path) -> None:
    """A response is archived whole (Scrapy cancels one past DOWNLOAD_MAXSIZE), but decoding it
    can stop at the limit; a rendered DOM cut at the renderer's size is archived with
    WARC-Truncated. The page handed to live ingest is partial exactly when reading the record
    back gives a partial page."""
    from scrapy import Request, Spider
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from linkback.crawl._warc import WarcWriterMiddleware

    limit = 1000
    middleware = WarcWriterMiddleware(
        get_crawler(Spider, {"LINKBACK_WARC_DIR": str(tmp_path), "DOWNLOAD_MAXSIZE": limit})
    )
    live = []
    for n, size in enumerate((100, 5000)):
        url = f"https://site.example/{n}"
        body = gzip.compress(f'<a href="{A}">a</a>'.encode() + b" " * size)
        headers = {"Content-Type": "text/html", "Content-Encoding": "gzip"}
        response = HtmlResponse(url, status=200, headers=headers, body=body, request=Request(url))
        middleware.process_response(Request(url), response)
        pairs = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
        live.append(middleware._page(response, pairs, day(1), "<urn:x>", 0).truncated)
    middleware.write_rendered(PAGE, 200, f'<a href="{A}">a</a>', "", truncated=True)
    middleware.write_rendered(PAGE + "?whole", 200, f'<a href="{A}">a</a>', "")
    middleware.close()
    (warc,) = tmp_path.glob("*.warc.gz")
    pages = list(iter_archive(warc, stats=ReadStats(), max_body_bytes=limit))
    assert live == [False, True]
    assert [(p.url, p.truncated) for p in pages] == [
        ("https://site.example/0", False),
        ("https://site.example/1", True),
        (PAGE, True),
        (PAGE + "?whole", False),
    ]
    # A later crawl's revisit of each response (the same payload) is cut where the response was.
    revisits = tmp_path / "later.warc.gz"
    with revisits.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for original in pages[:2]:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                                    protocol="HTTP/1.1")  # fmt: skip
            fields = {"WARC-Date": "2024-01-02T00:00:00Z", "WARC-Refers-To": original.record_id,
                      "Linkback-Refers-To-File": warc.name, "Linkback-Refers-To-Offset": str(original.offset)}  # fmt: skip
            writer.write_record(
                writer.create_revisit_record(original.url, "sha1:X", original.url, "2024-01-01T00:00:00Z", http, fields)
            )
    again = [(p.url, p.truncated) for p in iter_archive(revisits, stats=ReadStats(), max_body_bytes=limit)]
    assert again == [("https://site.example/0", False), ("https://site.example/1", True)]


# --- stores and indexes from before schema 13 -----------------------------------------------------


def test_a_store_of_the_previous_schema_opens_with_its_captures_whole_and_its_state_unchanged(
    tmp_path: Path,
) -> None:
    files = [[Capture(1, (A, B)), Capture(2, (A,), url=PAGE + "?other")], [Capture(3, (A,))]]
    with ingest_files(tmp_path, files) as built:
        path = built.path
    con = duckdb.connect(path)
    # The file as schema 12 left it: neither column, and the version to say so.
    con.execute("ALTER TABLE observations DROP COLUMN truncated")
    con.execute("ALTER TABLE pages DROP COLUMN truncated")
    con.execute("UPDATE meta SET value = '12' WHERE key = 'schema_version'")
    links_before = con.execute("SELECT * FROM links ORDER BY ALL").fetchall()
    pages_before = con.execute("SELECT * FROM pages ORDER BY ALL").fetchall()
    con.close()

    with Store(path) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        for table in ("observations", "pages"):
            names = [r[0] for r in store.con.execute(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}' ORDER BY column_index").fetchall()]  # fmt: skip
            assert names == schema.TABLES[table].names
        assert store.con.execute("SELECT DISTINCT truncated FROM observations").fetchall() == [(False,)]
        assert store.con.execute("SELECT * FROM links ORDER BY ALL").fetchall() == links_before
        assert store.con.execute("SELECT * EXCLUDE (truncated) FROM pages ORDER BY ALL").fetchall() == pages_before
        assert store.con.execute("SELECT DISTINCT truncated FROM pages").fetchall() == [(False,)]
        assert link_state(store)[1] == (B, day(1), day(1), day(3), "removed")
        # And it takes partial captures from now on: one after the last whole capture loses nothing.
        ingest([str(write_warc(tmp_path / "late.warc.gz", [Capture(4, (), "warc")]))], store=store, workers=1)
        assert link_state(store) == [(A, day(1), day(3), None, None), (B, day(1), day(1), day(3), "removed")]
        assert page_row(store) == (day(4), 3, True, 0)


def test_a_parquet_index_written_before_schema_13_attaches_with_its_captures_whole(tmp_path: Path) -> None:
    with ingest_files(tmp_path, [[Capture(1, (A, B))], [Capture(2, (A,))]]) as built:
        db = built.path
        want = built.con.execute("SELECT * FROM pages ORDER BY ALL").fetchall()
    index = tmp_path / "index"
    result = CliRunner().invoke(app, ["export", "--parquet", str(index), "--db", db])
    assert result.exit_code == 0, result.output
    # The files as linkback wrote them at schema 12: no truncated column, the manifest says 12.
    for table in ("observations", "pages"):
        for part in (index / table).glob("part-*.parquet"):
            pq.write_table(pq.read_table(part).drop_columns(["truncated"]), part, compression="zstd")
    manifest = json.loads((index / _layout.MANIFEST).read_text())
    (index / _layout.MANIFEST).write_text(json.dumps({**manifest, "schema_version": 12}))

    with Store(index) as attached:
        assert attached.con.execute("SELECT DISTINCT truncated FROM observations").fetchall() == [(False,)]
        assert attached.con.execute("SELECT * FROM pages ORDER BY ALL").fetchall() == want
        assert link_state(attached)[1] == (B, day(1), day(1), day(2), "removed")
    # A file of the current version still has to hold every column.
    (index / _layout.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(Exception, match="missing truncated"):
        Store(index)
