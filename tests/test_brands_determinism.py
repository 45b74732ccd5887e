"""Brand mentions stored do not depend on how ingest cuts the pages into writes.

A capture met twice (same URL and fetch time: ``obs_key``) is stored once, the first copy, with
its links; its mentions must be that copy's too, whether the two copies reach the store in one
write or in two (small batches, a flush, or ranges read by workers and written as they come).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from linkback import _workers, quality
from linkback import ingest as ingest_module
from linkback.ingest import FLUSH, Flush, ingest, ingest_pages
from linkback.records import FetchedPage
from linkback.sources.warc import ReadStats, iter_archive
from linkback.store import Store

TERMS = ["Acme", "Initech", "Globex"]
QUERY = "SELECT url, term, site, snippet, linked, first_seen, last_seen FROM brand_mentions ORDER BY ALL"
WHEN = datetime(2024, 5, 1, tzinfo=UTC)
DUP_URL = "https://dup.example/news"
FIRST_COPY = "<html><body><p>Initech ships a new stapler.</p></body></html>"
SECOND_COPY = "<html><body><p>Globex buys the stapler maker.</p></body></html>"


def _page(url: str, body: str) -> FetchedPage:
    return FetchedPage(
        url=url,
        status=200,
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        fetched_at=WHEN,
        body=body.encode(),
    )


def _mentions(tmp_path: Path, name: str, pages: list[FetchedPage | Flush]) -> list[tuple[object, ...]]:
    with Store(str(tmp_path / f"{name}.duckdb")) as store:
        quality.set_profile(store, "acme.example", brands=TERMS)
        ingest_pages(store, pages, via="warc")
        return store.con.execute(QUERY).fetchall()


def test_a_capture_met_twice_has_the_mentions_of_the_copy_stored_in_one_write_or_two(tmp_path: Path) -> None:
    first, second = _page(DUP_URL, FIRST_COPY), _page(DUP_URL, SECOND_COPY)
    other = _page("https://other.example/", "<p>Acme anvils.</p>")
    alone = _mentions(tmp_path, "alone", [first, other])  # the stored copy without the other one
    assert {(url, term) for url, term, *_ in alone} == {(DUP_URL, "Initech"), ("https://other.example/", "Acme")}
    one_write = _mentions(tmp_path, "one", [first, other, second])
    two_writes = _mentions(tmp_path, "two", [first, other, FLUSH, second])
    assert one_write == two_writes == alone


def test_a_page_captured_again_keeps_one_row_with_its_first_and_newest_capture_however_written(
    tmp_path: Path,
) -> None:
    """Pages seen before (or twice in a write) merge their mentions per page, site and term: the
    first and newest capture, the newest's snippet. New pages append theirs. Either way, and in
    any order of the captures and writes, the rows are the same."""
    from datetime import timedelta

    def at(days: int, text: str) -> FetchedPage:
        return replace(
            _page(DUP_URL, f"<html><body><p>{text}</p></body></html>"), fetched_at=WHEN + timedelta(days=days)
        )

    old, mid, new = at(0, "Acme is old news."), at(5, "Initech only."), at(9, "Acme is new news; Globex too.")
    other = _page("https://other.example/", "<p>Acme anvils.</p>")
    orders = {
        "one write": [old, mid, new, other],
        "one write, newest first": [new, other, old, mid],
        "a write each": [old, FLUSH, mid, FLUSH, new, FLUSH, other],
        "newest first, a write each": [new, FLUSH, mid, FLUSH, other, old],
    }
    results = {
        name: _mentions(tmp_path, name.replace(" ", "_").replace(",", ""), pages) for name, pages in orders.items()
    }
    want = {
        (DUP_URL, "Acme"): ("…Acme is new news; Globex too.", WHEN, WHEN + timedelta(days=9)),
        (DUP_URL, "Initech"): ("Initech only.", WHEN + timedelta(days=5), WHEN + timedelta(days=5)),
        (DUP_URL, "Globex"): ("Acme is new news; Globex too.", WHEN + timedelta(days=9), WHEN + timedelta(days=9)),
        ("https://other.example/", "Acme"): ("Acme anvils.", WHEN, WHEN),
    }
    for name, rows in results.items():
        got = {(url, term): (snippet, first, last) for url, term, _site, snippet, _linked, first, last in rows}
        assert set(got) == set(want), name
        for key, (snippet, first, last) in want.items():
            assert got[key][1:] == (first, last), (name, key)
            assert got[key][0].strip("…") == snippet.strip("…"), (name, key)
    assert len({tuple(rows) for rows in results.values()}) == 1, results


def _warc(path: Path, pages: int) -> None:
    """A WARC gzipped per record: ``pages`` pages, some naming Acme, with the capture at DUP_URL
    twice (same date, other text), near the start and at the end."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)

        def response(url: str, body: str) -> None:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            data = body.encode()
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(data),
                length=len(data),  # known: warcio then needs no temporary file to measure it
                http_headers=http,
                warc_headers_dict={"WARC-Date": "2024-05-01T00:00:00Z"},
            )
            writer.write_record(record)

        for i in range(pages):
            if i == 3:
                response(DUP_URL, FIRST_COPY)
            words = " ".join(f"word{j}" for j in range(i, i + 80))
            brand = "Acme" if i % 3 == 0 else "nobody"
            response(f"https://site{i}.example/page", f"<html><body><p>{brand} {words}</p></body></html>")
        response(DUP_URL, SECOND_COPY)


def _in_writes_of(path: Path, pages: int) -> Iterator[FetchedPage | Flush]:
    """The archive read here, in this process, a write every ``pages`` pages."""
    for i, page in enumerate(iter_archive(str(path), stats=ReadStats())):
        yield page
        if i % pages == pages - 1:
            yield FLUSH


def test_archive_with_a_capture_twice_stores_the_same_mentions_with_one_worker_two_or_serially(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warc = tmp_path / "dup.warc.gz"
    _warc(warc, 120)
    # Small ranges, each written as it comes: the two copies reach the store in different writes
    # with workers, in one write without (it holds up to WRITE_PAGES pages).
    monkeypatch.setattr(_workers, "SPLIT_BYTES", 8 * 1024)
    monkeypatch.setattr(ingest_module, "WRITE_PAGES_WITH_WORKERS", 1)
    assert len(list(_workers.ranges(warc))) >= 4
    results = {}
    for name, run in (
        ("workers 1", lambda store: ingest([warc], store=store, workers=1)),
        ("workers 2", lambda store: ingest([warc], store=store, workers=2)),
        ("serial", lambda store: ingest_pages(store, _in_writes_of(warc, 30), via="warc")),
    ):
        with Store(str(tmp_path / f"{name}.duckdb")) as store:
            quality.set_profile(store, "acme.example", brands=TERMS)
            run(store)
            assert store.con.execute("SELECT count(*) FROM observations").fetchall()[0][0] == 121, name
            results[name] = store.con.execute(QUERY).fetchall()
    terms_on_dup = {term for url, term, *_ in results["serial"] if url == DUP_URL}
    assert terms_on_dup == {"Initech"}  # the first copy, the one stored
    assert sum(term == "Acme" for _, term, *_ in results["serial"]) == 40
    assert results["workers 1"] == results["workers 2"] == results["serial"]
