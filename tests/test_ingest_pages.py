"""``ingest_pages``: the one way pages reach the index, whatever yields them — an archive file (by
path or as a file object), a live source that flushes, pages that name their archive."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO_DATA

from linkback.errors import NotAnArchive
from linkback.ingest import FLUSH, ArchivePages, Flush, PagesSummary, ingest, ingest_pages, record_pages
from linkback.records import FetchedPage
from linkback.sources import ReadStats, iter_archive
from linkback.store import Store

CRAWL = REPO_DATA / "warc" / "aut" / "example.warc.gz"  # 261 responses


def _page(url: str, *hrefs: str, when: datetime | None = None, source: str = "", offset: int = -1) -> FetchedPage:
    links = "".join(f'<a href="{h}">{h}</a>' for h in hrefs)
    return FetchedPage(
        url=url,
        status=200,
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        body=f"<!doctype html><title>t</title><body>{links}</body>".encode(),
        fetched_at=when or datetime(2026, 1, 1, tzinfo=UTC),
        via="crawl",
        source=source,
        offset=offset,
    )


def _rows(store: Store) -> list[tuple]:
    return store.con.execute(
        "SELECT o.url, o.fetched_at, o.status, o.via, o.record_offset, a.path, "
        "(SELECT count(*) FROM link_observations l WHERE l.obs_id = o.obs_id) "
        "FROM observations o JOIN archives a USING (archive_id) ORDER BY o.url, o.fetched_at"
    ).fetchall()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_archive_as_pages_gives_what_ingest_of_the_file_gives(tmp_path: Path, workers: int) -> None:
    with Store(tmp_path / "file.duckdb") as by_file:
        ingest([CRAWL], store=by_file, workers=workers)
        expected = _rows(by_file)
    with Store(tmp_path / "pages.duckdb") as by_pages:
        archive_id = 1
        by_pages.write(
            lambda s: s.con.execute(
                "INSERT INTO archives (archive_id, path, size, fingerprint, started_at) VALUES (1, ?, 0, 'x', now())",
                [str(CRAWL)],
            )
        )
        summary = ingest_pages(by_pages, ArchivePages(CRAWL), workers=workers, archive=archive_id)
        got = _rows(by_pages)
    assert got == expected and len(got) == 261
    assert summary.pages == 261 and summary.extracted == 261 and summary.duplicates == 0


def test_the_reader_takes_a_file_object_as_well_as_a_path(tmp_path: Path) -> None:
    by_path = [(p.url, p.fetched_at, p.body, p.offset) for p in iter_archive(CRAWL, stats=ReadStats())]
    with open(CRAWL, "rb") as fh:
        opened = list(iter_archive(fh, stats=ReadStats()))
    in_memory = list(iter_archive(io.BytesIO(CRAWL.read_bytes()), stats=ReadStats()))
    for pages in (opened, in_memory):
        assert [(p.url, p.fetched_at, p.body, p.offset) for p in pages] == by_path
    assert opened[0].source == str(CRAWL)  # named by the file's name
    assert in_memory[0].source == "<file object>"
    stats = ReadStats()
    with pytest.raises(NotAnArchive, match="<file object> at byte 0"):
        list(iter_archive(io.BytesIO(b"<html>not an archive</html>"), stats=stats))
    assert stats.skipped["not_an_archive"] == 1
    # And as a source for ingest: a file object is read as a stream, with workers or without.
    with Store(tmp_path / "db.duckdb") as store:
        summary = ingest_pages(store, ArchivePages(io.BytesIO(CRAWL.read_bytes())), workers=2)
    assert summary.pages == 261


def test_a_flush_writes_what_came_before_it_before_the_source_goes_on(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        seen_at_flush: list[int] = []

        def pages() -> Iterator[FetchedPage | Flush]:
            for n in range(3):
                yield _page(f"https://a.example/{n}", "https://b.example/")
            yield FLUSH
            # Pulled again: the three pages are stored, in their own transaction.
            seen_at_flush.append(store.con.execute("SELECT count(*) FROM observations").fetchall()[0][0])
            yield _page("https://a.example/3", "https://b.example/")

        summary = ingest_pages(store, pages(), via="crawl")
        assert seen_at_flush == [3]
        assert summary.pages == 4 and summary.links == 4
        archives = store.con.execute(
            "SELECT DISTINCT a.path FROM observations JOIN archives a USING (archive_id)"
        ).fetchall()
        assert archives == [("live:crawl",)]


def test_pages_are_filed_under_the_archive_their_source_names(tmp_path: Path) -> None:
    ids = {"one.warc.gz": 7, "two.warc.gz": 8}
    when = datetime(2026, 1, 1, tzinfo=UTC)
    pages = [
        _page("https://a.example/1", when=when, source="one.warc.gz", offset=10),
        _page("https://a.example/2", when=when, source="one.warc.gz", offset=20),
        _page("https://a.example/1", when=when + timedelta(days=1), source="two.warc.gz", offset=30),
    ]
    with Store(tmp_path / "db.duckdb") as store:
        for name, archive_id in ids.items():
            store.write(
                lambda s, n=name, i=archive_id: s.con.execute(
                    "INSERT INTO archives (archive_id, path, size, fingerprint, started_at) VALUES (?, ?, 0, ?, now())",
                    [i, n, n],
                )
            )
        ingest_pages(store, pages, archive=lambda source: ids[source])
        rows = store.con.execute(
            "SELECT url, archive_id, record_offset FROM observations ORDER BY record_offset"
        ).fetchall()
    assert rows == [("https://a.example/1", 7, 10), ("https://a.example/2", 7, 20), ("https://a.example/1", 8, 30)]


def test_via_replaces_the_pages_own(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        ingest_pages(store, [_page("https://a.example/", "https://b.example/")], via="webmention")
        vias = store.con.execute("SELECT via FROM observations UNION ALL SELECT via FROM links").fetchall()
    assert vias == [("webmention",), ("webmention",)]


def test_the_same_capture_twice_is_stored_once(tmp_path: Path) -> None:
    page = _page("https://a.example/", "https://b.example/")
    with Store(tmp_path / "db.duckdb") as store:
        first = ingest_pages(store, [page, page])
        again = ingest_pages(store, [page])
    assert (first.pages, first.duplicates, again.pages, again.duplicates) == (1, 1, 0, 1)


def test_record_pages_goes_through_ingest_pages(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        added = record_pages(store, [_page("https://a.example/", "https://b.example/")], origin="pingback")
        (path,) = store.con.execute("SELECT a.path FROM observations JOIN archives a USING (archive_id)").fetchall()[0]
    assert added == 1 and path == "live:pingback"


def test_a_live_source_fed_from_another_thread(tmp_path: Path) -> None:
    """The shape of a crawl's live ingest: a queue filled elsewhere, flushed now and then."""
    import queue

    todo: queue.SimpleQueue[FetchedPage | Flush | None] = queue.SimpleQueue()

    def source() -> Iterator[FetchedPage | Flush]:
        while (item := todo.get()) is not None:
            yield item

    result: list[PagesSummary] = []
    with Store(tmp_path / "db.duckdb") as store:
        thread = threading.Thread(target=lambda: result.append(ingest_pages(store, source(), workers=2)))
        thread.start()
        for n in range(150):
            todo.put(_page(f"https://a.example/{n}", f"https://b.example/{n}"))
            if n % 50 == 49:
                todo.put(FLUSH)
        todo.put(None)
        thread.join()
        (stored,) = store.con.execute("SELECT count(*) FROM links").fetchall()[0]
    assert result[0].pages == 150 and stored == 150
