"""The WARC writers of ``linkback crawl`` and of the link monitor, run for many records: no
temporary file is left open, and the files read back whole, with linkback's reader and with
warcio's, every digest checked.

warcio copies a payload whose length it is not told into temporary files and leaves one unclosed
per record (closed only when the record is collected, with a ResourceWarning; past 512 KiB it is
a file on disk). Both writers state every length, so no such file is made.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from linkback.fetch import FetchResult
from linkback.records import FetchedPage
from linkback.sources.warc import ReadStats, iter_archive

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc/self/fd")

#: Past warcio's in-memory spool (512 KiB): a temporary file of it is a file on disk.
LARGE = b"<p>" + b"x" * 600_000


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _resource_warnings(write: Callable[[], None]) -> list[str]:
    """The ResourceWarnings raised while ``write`` runs, collecting what it dropped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        write()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def _records(path: str) -> Iterator[tuple[Any, bytes]]:
    """Each record of ``path`` and its payload, read by warcio with every digest checked (a
    wrong one raises)."""
    with open(path, "rb") as f:
        for record in ArchiveIterator(f, check_digests="raise"):
            payload = record.content_stream().read()
            if record.rec_type != "warcinfo":
                assert record.digest_checker.passed is not False, record.digest_checker.problems
            names = [name for name, _ in record.rec_headers.headers]
            assert len(names) == len(set(names)), f"a field repeated in a {record.rec_type} record: {names}"
            yield record, payload


def _read_back(paths: Sequence[str]) -> list[FetchedPage]:
    return [page for path in paths for page in iter_archive(path, stats=ReadStats())]


# --- linkback crawl --------------------------------------------------------------------------------


class _Frontier:
    """The crawl's frontier as the WARC writer uses it: records the response records it is told of."""

    def __init__(self) -> None:
        self.records: list[tuple[str, Any]] = []

    def record(self, url: str, archived: Any) -> None:
        self.records.append((url, archived))


class _Ingest:
    """The crawl's live ingest as the WARC writer feeds it: keeps the pages it is handed."""

    def __init__(self) -> None:
        self.pages: list[FetchedPage] = []

    def put(self, page: FetchedPage) -> None:
        self.pages.append(page)

    def file_closed(self, path: Path, records: int) -> None:
        pass


def _crawl_writer(directory: Path, ingest: _Ingest) -> tuple[Any, str]:
    """The crawl's WARC writer, as Scrapy makes it, and the key of the crawl context it feeds."""
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from linkback.crawl._frontier import Start
    from linkback.crawl._live import CrawlContext, register
    from linkback.crawl._warc import WarcWriterMiddleware

    start = Start(run=1, resumed=False, queued=[], seen=set(), fetched=0)
    context = CrawlContext(start=start, frontier=_Frontier(), ingest=ingest)  # type: ignore[arg-type]
    key = register(context)
    settings = {"LINKBACK_WARC_DIR": str(directory), "LINKBACK_CONTEXT": key}
    return WarcWriterMiddleware(get_crawler(Spider, settings)), key


def test_the_crawler_leaves_no_temporary_file_open_and_its_records_read_back(tmp_path: Path) -> None:
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from linkback.crawl._live import unregister

    ingest = _Ingest()
    middleware, key = _crawl_writer(tmp_path, ingest)
    bodies = {f"https://site.example/{n}": f'<a href="/{n + 1}">next</a>'.encode() for n in range(60)}
    bodies["https://site.example/empty"] = b""
    bodies["https://site.example/large"] = LARGE

    def fetch(url: str, body: bytes) -> None:
        request = Request(url, method="POST", body=b"q=1") if url.endswith("/1") else Request(url)
        headers = {"Content-Type": "text/html"}
        middleware.process_response(request, HtmlResponse(url, status=200, headers=headers, body=body, request=request))

    def crawl() -> None:
        for url, body in bodies.items():
            fetch(url, body)
        for url in ("https://site.example/0", "https://site.example/large"):
            fetch(url, bodies[url])  # unchanged: a revisit record
        middleware.write_rendered("https://site.example/rendered", 200, "<p>é</p>" * 10, "<urn:uuid:x>")
        middleware.write_rendered("https://site.example/large#rendered", 200, LARGE.decode(), "")
        middleware.close()

    gc.collect()
    before = _open_files()
    try:
        assert _resource_warnings(crawl) == []
    finally:
        unregister(key)
    assert _open_files() == before

    (path,) = middleware.files
    records = list(_records(path))
    kinds = [record.rec_type for record, _ in records]
    assert kinds.count("response") == len(bodies) and kinds.count("request") == len(bodies) + 2
    assert kinds.count("revisit") == 2 and kinds.count("conversion") == 2
    stored = {record.rec_headers.get_header("WARC-Target-URI"): payload for record, payload in records
              if record.rec_type == "response"}  # fmt: skip
    assert stored == bodies
    # Read back, every page is the one live ingest was handed (revisits read through to the
    # response they refer to).
    assert _read_back(middleware.files) == ingest.pages
    assert len(ingest.pages) == len(bodies) + 4


# --- the link monitor ----------------------------------------------------------------------------


def _fetch_result(url: str, body: bytes, *, truncated: bool = False) -> FetchResult:
    return FetchResult(
        url=url, final_url=url, status=200, headers=(("Content-Type", "text/html"),), body=body, truncated=truncated,
        content_type="text/html", charset=None, redirects=(), fetched_at=datetime.now(UTC),
    )  # fmt: skip


def test_the_monitor_leaves_no_temporary_file_open_and_its_records_read_back(tmp_path: Path) -> None:
    from linkback.monitor._warc import CheckWarc

    results = [_fetch_result(f"https://site.example/{n}", f"<p>{n}</p>".encode()) for n in range(60)]
    results += [_fetch_result("https://site.example/empty", b"")]
    results += [_fetch_result("https://site.example/large", LARGE, truncated=True)]
    # Small files, so that rotation (each closed file) is in what is counted.
    warc = CheckWarc(tmp_path / "warc", max_bytes=4000, user_agent="linkback-test")
    written: list[tuple[str, int]] = []

    def check() -> None:
        written.extend(warc.write(result, "127.0.0.1") for result in results)
        warc.close()

    gc.collect()
    before = _open_files()
    assert _resource_warnings(check) == []
    assert _open_files() == before
    assert len(warc.files) > 2

    responses = {}
    for path in warc.files:
        for record, payload in _records(path):
            if record.rec_type == "response":
                responses[record.rec_headers.get_header("WARC-Target-URI")] = payload
    assert responses == {result.final_url: result.body for result in results}
    pages = _read_back(warc.files)
    assert [(p.url, p.body, p.truncated) for p in pages] == [(r.final_url, r.body, r.truncated) for r in results]
    # Each check's place in the files is its response record.
    assert [(p.source, p.offset) for p in pages] == written
