"""One damaged record never costs the rest of an archive (issue 13, item 8).

The damaged archives are made here from the bundled real crawl (aut/example.warc.gz, 822 records,
261 responses): one record's Content-Length is patched, the file written gzipped per record, as
one gzip stream, or plain. Whatever the length (far too large or a little too large), the reader
skips that one record, names the file and offset, and reads every other record; the byte ranges
ingest workers read join up into the same reading; a file whose reading had to stop early is not
recorded as complete.
"""

from __future__ import annotations

import collections
import functools
import gzip
import re
from pathlib import Path

import pytest
from conftest import REPO_DATA
from test_ingest_ranges import in_ranges, same_reading, whole

import linkback._workers as workers_module
import linkback.sources.warc as warc_module
from linkback.ingest import ingest
from linkback.sources import ReadStats, iter_archive
from linkback.sources import _recovery as rec_
from linkback.store import Store

CRAWL = REPO_DATA / "warc" / "aut" / "example.warc.gz"
DAMAGED = 5  # the 6th record: the response for http://www.archive.org/
LAYOUTS = ["gzip-per-record", "gzip-whole-file", "plain"]
# far past the end of the file, and a little too long (into the next record)
LENGTHS = [10**8, 10**10, 10**12, "+10", "+400"]
# A little too long was already read right but in one gzip stream; far too long nowhere.
HARD_CASES = [(layout, 10**12) for layout in LAYOUTS] + [("gzip-whole-file", "+10")]


@functools.cache
def _records() -> tuple[bytes, ...]:
    """The crawl's records, uncompressed, one per gzip member."""
    data, out, pos = CRAWL.read_bytes(), [], 0
    while pos < len(data):
        member = rec_.read_member(data, pos, head_len=1 << 30)
        out.append(member.head)
        pos = member.end
    return tuple(out)


def _declared(record: bytes) -> int:
    return int(re.search(rb"Content-Length: (\d+)", record).group(1))


def damaged(tmp_path: Path, layout: str, length: int | str, index: int = DAMAGED, *, keep: int = 0) -> Path:
    """The crawl (its first ``keep`` records if given) with record ``index`` declaring ``length``
    (or its own length plus "+N")."""
    records = list(_records()[: keep or None])
    if isinstance(length, str):
        length = _declared(records[index]) + int(length)
    records[index] = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % length, records[index], count=1)
    if layout == "gzip-per-record":
        path, data = tmp_path / "damaged.warc.gz", b"".join(gzip.compress(r, mtime=0) for r in records)
    elif layout == "gzip-whole-file":
        path, data = tmp_path / "damaged.warc.gz", gzip.compress(b"".join(records), mtime=0)
    else:
        path, data = tmp_path / "damaged.warc", b"".join(records)
    path.write_bytes(data)
    return path


def _offset_of(layout: str, index: int) -> int:
    """Where record ``index`` starts: in the file, or in the decompressed data of one stream."""
    records = _records()
    if layout == "gzip-per-record":
        return sum(len(gzip.compress(r, mtime=0)) for r in records[:index])
    return sum(len(r) for r in records[:index])


def _pages(path: Path) -> tuple[list[tuple], ReadStats]:
    stats = ReadStats()
    return [(p.url, p.fetched_at, p.status, p.body) for p in iter_archive(path, stats=stats)], stats


@pytest.mark.parametrize("length", LENGTHS, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_wrong_content_length_costs_only_its_own_record(tmp_path: Path, layout: str, length: int | str) -> None:
    intact, intact_stats = _pages(CRAWL)
    path = damaged(tmp_path, layout, length)
    pages, stats = _pages(path)
    lost = [p for p in intact if p not in pages]
    assert [url for url, *_ in lost] == ["http://www.archive.org/"]
    assert pages == [p for p in intact if p not in lost]
    assert stats.records == intact_stats.records == 822
    assert stats.skipped == intact_stats.skipped + collections.Counter(bad_content_length=1)
    assert stats.read_to_end
    (error,) = stats.errors
    assert error.startswith(f"{path} at byte {_offset_of(layout, DAMAGED)}: record's Content-Length ("), error
    assert "record skipped" in error
    assert ("decompressed data" in error) == (layout == "gzip-whole-file")


@pytest.mark.parametrize(("layout", "length"), HARD_CASES, ids=str)
def test_the_first_and_the_last_record_damaged(tmp_path: Path, layout: str, length: int | str) -> None:
    last = len(_records()) - 1
    for index, kept in ((0, 822), (last, 822)):
        path = damaged(tmp_path, layout, length, index)
        pages, stats = _pages(path)
        assert len(pages) == 261 and stats.records == kept, (index, stats.skipped, stats.errors)
        assert sum(stats.skipped[k] for k in ("bad_content_length", "truncated_record")) == 1, stats.skipped


# The first 150 records are enough for what follows, and quicker to extract.
KEEP = 150
RESPONSES = 47  # HTTP responses among them


@pytest.mark.parametrize(("layout", "length"), HARD_CASES, ids=str)
def test_byte_ranges_read_a_damaged_file_as_one_reading_does(
    tmp_path: Path, layout: str, length: int | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cuts every 2,100 bytes: the first inside the damaged record's gzip member (2,052-2,690).
    monkeypatch.setattr(workers_module, "SPLIT_BYTES", 2_100)
    monkeypatch.setattr(workers_module, "RANGE_BYTES", 2_100)
    path = damaged(tmp_path, layout, length, keep=KEEP)
    ranged = in_ranges(path)
    same_reading(ranged, whole(path))
    assert ranged[0].observations.num_rows == RESPONSES - 1 and ranged[1].records == KEEP


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ingest_skips_the_damaged_record_with_one_worker_or_two(tmp_path: Path, layout: str) -> None:
    path = damaged(tmp_path, layout, 10**8, keep=KEEP)
    with Store(tmp_path / "one.duckdb") as one, Store(tmp_path / "two.duckdb") as two:
        (first,) = ingest([path], store=one, workers=1).files
        (second,) = ingest([path], store=two, workers=2).files
        for summary in (first, second):
            assert (summary.status, summary.records, summary.pages) == ("ingested", KEEP, RESPONSES - 1)
            assert summary.skipped["record/bad_content_length"] == 1 and len(summary.errors) == 1
        query = "SELECT source_url, target_url, anchor, first_seen FROM links ORDER BY ALL"
        assert one.con.execute(query).fetchall() == two.con.execute(query).fetchall()
        assert ingest([path], store=one, workers=1).files[0].status == "already_ingested"


def test_a_file_read_only_up_to_damage_is_not_recorded_as_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One gzip stream is searched past damage in a decompressed copy; when that copy may not be
    # made (here: no room at all), the reading stops at the damaged record.
    path = damaged(tmp_path, "gzip-whole-file", 10**8, keep=KEEP)
    monkeypatch.setattr(warc_module, "SPOOL_MAX_RATIO", 0)
    with Store(tmp_path / "db.duckdb") as store:
        (cut,) = ingest([path], store=store, workers=1).files
        assert cut.status == "partial" and cut.pages == 1  # robots.txt comes before the damage
        assert cut.skipped["record/unread_rest"] == 1
        assert any(f"{path} at byte " in e and "rest not read" in e for e in cut.errors), cut.errors
        completed = "SELECT completed_at FROM archives WHERE path = ?"
        assert store.con.execute(completed, [str(path)]).fetchall() == [(None,)]
        # A later run reads it again (here with the copy allowed): the rest comes in, once.
        (again,) = ingest([path], store=store, workers=1).files
        assert again.status == "partial" and again.duplicates == 1 and again.pages == 0
        monkeypatch.setattr(warc_module, "SPOOL_MAX_RATIO", 100)
        (whole_run,) = ingest([path], store=store, workers=1).files
        assert (whole_run.status, whole_run.pages, whole_run.duplicates) == ("ingested", RESPONSES - 2, 1)
        assert store.con.execute(completed, [str(path)]).fetchall()[0][0] is not None
        assert ingest([path], store=store, workers=1).files[0].status == "already_ingested"
        assert store.con.execute("SELECT count(*) FROM pages").fetchall() == [(RESPONSES - 1,)]


def test_garbage_right_after_the_first_member_costs_only_itself(tmp_path: Path) -> None:
    # A file gzipped per record whose first member is followed by garbage, not by another
    # member, was taken for one gzip stream: the rest of the file was lost and it counted as read.
    intact, _ = _pages(CRAWL)
    records = [gzip.compress(r, mtime=0) for r in _records()[:KEEP]]
    path = tmp_path / "garbage.warc.gz"
    path.write_bytes(records[0] + b"\x00garbage" * 50 + b"".join(records[1:]))
    pages, stats = _pages(path)
    assert pages == intact[:RESPONSES] and stats.records == KEEP and stats.read_to_end
    (error,) = stats.errors
    assert error.startswith(f"{path} at byte {len(records[0])}: 400 bytes that are not gzip")


# --- a file cut short while it is read --------------------------------------------------------

_CUT_WHILE_READ = """
import os, sys
from linkback.sources import ReadStats, iter_archive
path, stats, pages = sys.argv[1], ReadStats(), 0
for page in iter_archive(path, stats=stats):
    pages += 1
    if pages == 3:  # another program overwrites the file: it is cut to a quarter under the reader
        os.truncate(path, os.path.getsize(path) // 4)
print(pages, stats.read_to_end, sorted(stats.skipped))
"""


@pytest.mark.parametrize("layout", ["gzip per record", "plain"])
def test_a_file_cut_short_while_it_is_read_is_damage_not_a_crash(tmp_path: Path, layout: str) -> None:
    """The reader (``ingest --workers 1`` reads in its own process) sees the end of the file where
    the cut is, counts the damage and ends; a mapped file would have been a SIGBUS there, which
    kills the process whatever Python does."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    data = (REPO_DATA / "warc" / "real-pages" / "sample.warc.gz").read_bytes()
    path = tmp_path / ("cut.warc.gz" if layout == "gzip per record" else "cut.warc")
    path.write_bytes(data if layout == "gzip per record" else gzip.decompress(data))
    whole_pages = sum(1 for _ in iter_archive(path, stats=ReadStats()))
    done = subprocess.run(
        [sys.executable, "-c", _CUT_WHILE_READ, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{done.returncode}: {done.stderr[-2000:]}"
    pages, read_to_end, _skipped = done.stdout.split(" ", 2)
    assert 3 <= int(pages) < whole_pages
