"""Uncompressed ARC files whose record lengths lie: the record is skipped, never the next ones."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from linkback.ingest import ingest
from linkback.sources.warc import ReadStats, iter_archive
from linkback.store import Store

VERSION_BLOCK = b"1 0 test\nURL IP-address Archive-date Content-type Archive-length\n"


def filedesc() -> bytes:
    return b"filedesc://t.arc 0.0.0.0 20080430204825 text/plain %d\n" % len(VERSION_BLOCK) + VERSION_BLOCK + b"\n"


def record(url: bytes, body: bytes, *, lie: int = 0) -> bytes:
    """One ARC record; ``lie`` is added to its declared length."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    return b"%s 1.2.3.4 20080430204825 text/html %d\n" % (url, len(http) + lie) + http + b"\n"


def page(n: int) -> bytes:
    return record(b"http://arc%d.example/" % n, b"<a href='https://t.example/arc%d'>a%d</a>" % (n, n))


def read(path: Path) -> tuple[list, ReadStats]:
    stats = ReadStats()
    return list(iter_archive(path, stats=stats)), stats


def offsets(parts: list[bytes]) -> list[int]:
    out, at = [], 0
    for part in parts:
        out.append(at)
        at += len(part)
    return out


def test_a_length_too_long_does_not_swallow_the_next_records(tmp_path: Path) -> None:
    # The tester's liar.arc: one record whose length is 400 too long, then three good ones.
    liar = record(b"http://liar.example/", b"<a href='https://t.example/arc9'>a9</a>", lie=400)
    parts = [filedesc(), liar, page(0), page(1), page(2)]
    path = tmp_path / "liar.arc"
    path.write_bytes(b"".join(parts))
    pages, stats = read(path)
    at = offsets(parts)
    assert [(p.url, p.offset) for p in pages] == [
        ("http://arc0.example/", at[2]),
        ("http://arc1.example/", at[3]),
        ("http://arc2.example/", at[4]),
    ]
    assert pages[0].body == b"<a href='https://t.example/arc0'>a0</a>"
    assert stats.skipped == {"warcinfo": 1, "bad_content_length": 1}
    assert stats.records == 5 and stats.read_to_end
    declared = len(liar) - len(liar.split(b"\n", 1)[0]) - 2 + 400
    assert stats.errors == [
        f"{path} at byte {at[1]}: ARC record's length ({declared}) does not end at the next record's "
        f"header line; record skipped, reading goes on at byte {at[2]}"
    ]


def test_a_length_too_short_skips_only_that_record(tmp_path: Path) -> None:
    parts = [filedesc(), page(0), record(b"http://short.example/", b"<p>" + b"x" * 200 + b"</p>", lie=-50), page(1)]
    path = tmp_path / "short.arc"
    path.write_bytes(b"".join(parts))
    pages, stats = read(path)
    assert [p.url for p in pages] == ["http://arc0.example/", "http://arc1.example/"]
    assert stats.skipped == {"warcinfo": 1, "bad_content_length": 1}
    at = offsets(parts)
    assert stats.errors[0].startswith(f"{path} at byte {at[2]}: ARC record's length (")
    assert stats.errors[0].endswith(f"reading goes on at byte {at[3]}")


def test_a_length_past_the_end_of_the_file_with_records_after_it(tmp_path: Path) -> None:
    parts = [filedesc(), record(b"http://huge.example/", b"<p>x</p>", lie=10**9), page(0)]
    path = tmp_path / "huge.arc"
    path.write_bytes(b"".join(parts))
    pages, stats = read(path)
    assert [p.url for p in pages] == ["http://arc0.example/"]
    assert stats.skipped == {"warcinfo": 1, "bad_content_length": 1}
    assert "bytes past the end of the file; record skipped, reading goes on at byte" in stats.errors[0]


def test_a_wrong_length_on_the_last_record_is_skipped(tmp_path: Path) -> None:
    # Nothing follows to resynchronise on: the record goes, the ones before it stay.
    parts = [filedesc(), page(0), record(b"http://last.example/", b"<p>" + b"x" * 100 + b"</p>", lie=-20)]
    path = tmp_path / "last.arc"
    path.write_bytes(b"".join(parts))
    pages, stats = read(path)
    assert [p.url for p in pages] == ["http://arc0.example/"]
    assert stats.skipped == {"warcinfo": 1, "bad_content_length": 1}
    assert "no ARC record follows" in stats.errors[0]


def test_a_body_holding_an_arc_header_line_is_not_cut(tmp_path: Path) -> None:
    # A right length is believed even when the body looks like ARC records inside.
    inner = page(7) + page(8)
    parts = [filedesc(), record(b"http://holder.example/", inner), page(0)]
    path = tmp_path / "holder.arc"
    path.write_bytes(b"".join(parts))
    pages, stats = read(path)
    assert [p.url for p in pages] == ["http://holder.example/", "http://arc0.example/"]
    assert pages[0].body == inner
    assert stats.skipped == {"warcinfo": 1} and not stats.errors


def test_garbage_between_records_is_counted_and_skipped(tmp_path: Path) -> None:
    parts = [filedesc(), page(0), b"\x00\xffnot a record\n", page(1)]
    path = tmp_path / "garbage.arc"
    path.write_bytes(b"".join(parts))
    pages, stats = read(path)
    assert [p.url for p in pages] == ["http://arc0.example/", "http://arc1.example/"]
    assert stats.skipped == {"warcinfo": 1, "garbage_bytes": 1}
    at = offsets(parts)
    assert stats.errors == [f"{path} at byte {at[2]}: {len(parts[2])} bytes after an ARC record skipped"]


def test_an_unparseable_record_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    bad_date = page(5).replace(b"20080430204825", b"2008043020482x", 1)  # not a header line
    parts = [filedesc(), page(0), bad_date, page(1)]
    path = tmp_path / "baddate.arc"
    path.write_bytes(b"".join(parts))
    pages, stats = read(path)
    assert [p.url for p in pages] == ["http://arc0.example/", "http://arc1.example/"]
    assert stats.skipped["garbage_bytes"] == 1 and stats.read_to_end


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip-per-record"])
def test_the_liars_links_are_not_stored_as_the_next_pages(tmp_path: Path, compress: bool) -> None:
    liar = record(b"http://liar.example/", b"<a href='https://t.example/arc9'>a9</a>", lie=400)
    parts = [filedesc(), liar, page(0), page(1), page(2)]
    path = tmp_path / ("liar.arc.gz" if compress else "liar.arc")
    path.write_bytes(b"".join(gzip.compress(p) for p in parts) if compress else b"".join(parts))
    with Store(tmp_path / "db.duckdb") as store:
        summary = ingest([path], store=store, workers=1)
        (f,) = summary.files
        assert f.status == "ingested" and f.pages == 3
        links = store.con.execute("SELECT source_url, target_url FROM links ORDER BY ALL").fetchall()
    assert links == [(f"http://arc{n}.example/", f"https://t.example/arc{n}") for n in range(3)]


@pytest.mark.parametrize("layout", ["length counts the newline", "no newline between records"])
def test_a_length_that_ends_right_at_the_next_header_is_exact(tmp_path: Path, layout: str) -> None:
    parts = [filedesc()]
    for n in range(4):
        one = page(n)
        if layout == "length counts the newline":
            header, rest = one.split(b"\n", 1)
            url, ip, date, mime, length = header.split(b" ")
            one = b" ".join([url, ip, date, mime, b"%d" % (int(length) + 1)]) + b"\n" + rest
        else:
            one = one[:-1]  # the body runs into the next header line
        parts.append(one)
    path = tmp_path / "tight.arc"
    path.write_bytes(b"".join(parts))
    pages, stats = read(path)
    assert [p.url for p in pages] == [f"http://arc{n}.example/" for n in range(4)]
    assert not stats.errors
