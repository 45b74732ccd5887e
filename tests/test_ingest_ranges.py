"""Workers read a WARC gzipped per record in byte ranges cut blind; the ranges must join up into
exactly one reading of the file, whatever the cuts hit (damage, a gzip member inside a record)."""

from __future__ import annotations

import gzip
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import REPO_DATA

import linkback._workers as workers_module
from linkback._workers import ranges
from linkback.batches import ExtractedBatch, extract_batch
from linkback.ingest import _extracted_ranges, _merge, ingest
from linkback.sources import RangeBounds, ReadStats, gzip_per_record, iter_archive
from linkback.store import Store

GZ_WARCS = sorted(
    p
    for p in [*(REPO_DATA / "warc").rglob("*.warc.gz"), *(REPO_DATA / "broken").glob("*.warc.gz")]
    if "random" not in p.name
)


def whole(path: Path) -> tuple[ExtractedBatch, ReadStats]:
    stats = ReadStats()
    return extract_batch(list(iter_archive(path, stats=stats))), stats


def in_ranges(path: Path) -> tuple[ExtractedBatch, ReadStats]:
    """What ingest's main process gets from workers reading ``path`` range by range (threads
    stand in for the processes: the joining of the ranges is what is tested here)."""
    stats = ReadStats()
    with ThreadPoolExecutor(2) as pool:
        parts = [batch for _, batch, _ in _extracted_ranges(path, pool, 2, stats)]
    return _merge(parts), stats


def same_reading(a: tuple[ExtractedBatch, ReadStats], b: tuple[ExtractedBatch, ReadStats]) -> None:
    (batch_a, stats_a), (batch_b, stats_b) = a, b
    assert batch_a.observations.to_pylist() == batch_b.observations.to_pylist()
    assert batch_a.links.to_pylist() == batch_b.links.to_pylist()
    assert batch_a.skipped == batch_b.skipped
    assert (stats_a.records, stats_a.responses, stats_a.skipped, stats_a.errors) == (
        stats_b.records,
        stats_b.responses,
        stats_b.skipped,
        stats_b.errors,
    )


def test_files_gzipped_per_record_are_told_from_the_rest() -> None:
    assert gzip_per_record(REPO_DATA / "warc" / "aut" / "example.warc.gz")
    assert gzip_per_record(REPO_DATA / "broken" / "truncated-gzip.warc.gz")
    # One gzip stream for the whole file: no place to start but its beginning.
    assert not gzip_per_record(REPO_DATA / "broken" / "whole-file-gzip.warc.gz")
    assert not gzip_per_record(REPO_DATA / "warc" / "jwarc" / "cc.warc.gz")
    assert not gzip_per_record(REPO_DATA / "broken" / "random-gzip.warc.gz")
    assert not gzip_per_record(REPO_DATA / "broken" / "garbage-between-records.warc")


#: Cut sizes: most cuts fall inside a record (500, 3,000) or between a few (40,000). On the two
#: multi-megabyte archives, 500-byte cuts only repeat what 3,000 shows (5,000-7,000 ranges, 50 s
#: of the suite's budget): they are cut at 3,000 and 40,000; the small files at all three.
SPLITS = (500, 3_000, 40_000)
CUTS = [(p, s) for p in GZ_WARCS for s in SPLITS if not (s == 500 and p.stat().st_size > 1_000_000)]


@pytest.mark.parametrize(("path", "split"), CUTS, ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_ranges_cut_blind_read_what_the_whole_file_gives(
    path: Path, split: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers_module, "SPLIT_BYTES", split)
    cuts = list(ranges(path))
    if gzip_per_record(path) and path.stat().st_size > split:
        assert len(cuts) > 1 and all(align for start, _, align in cuts if start > 0)
    same_reading(in_ranges(path), whole(path))


# A record whose payload holds, byte for byte, a gzip member with a WARC record in it: a .warc.gz
# served over HTTP and archived, its outer member written with stored (uncompressed) deflate
# blocks. A reader that aligns inside the outer record takes the inner one for a record start.
def _member(record: bytes, *, stored: bool = False) -> bytes:
    if not stored:
        return gzip.compress(record, mtime=0)
    z = zlib.compressobj(0, zlib.DEFLATED, 31)
    return z.compress(record) + z.flush()


def _record(uri: str, html: bytes, content_type: str = "text/html") -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n" + html
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Target-URI: {uri}\r\nWARC-Date: 2024-05-01T12:00:00Z\r\n"
        f"WARC-Record-ID: <urn:uuid:{abs(hash(uri)):032x}>\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
    ).encode()
    return head + http + b"\r\n\r\n"


def _trap_archive(path: Path) -> tuple[int, int]:
    """Write the archive; (offset of the record holding the trap, offset of the trap)."""
    inner = _member(_record("http://fake.example/", b'<a href="http://fake-target.example/">fake</a>'))
    page = b'<html><body><a href="http://real-target.example/">real</a>'
    members = [
        _member(_record("http://one.example/", page + b"</body></html>")),
        _member(
            _record("http://two.example/archive.warc.gz", b"\x00" * 300 + inner + b"\x00" * 300, "application/gzip"),
            stored=True,
        ),
        _member(_record("http://three.example/", page + b"</body></html>")),
        _member(_record("http://four.example/", page + b"</body></html>")),
    ]
    path.write_bytes(b"".join(members))
    outer = len(members[0])
    return outer, path.read_bytes().index(inner)


def test_a_range_that_aligns_on_a_false_start_is_read_again_from_the_true_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trap.warc.gz"
    outer, trap = _trap_archive(path)
    assert gzip_per_record(path)
    # The worker of a range cut inside the outer record does begin at the trap...
    bounds = RangeBounds()
    fake = list(iter_archive(path, stats=ReadStats(), start=outer + 1, end=-1, align=True, bounds=bounds))
    assert bounds.first == trap and fake[0].url == "http://fake.example/"
    # ...and ingest notices, since the range before it ended at another record.
    monkeypatch.setattr(workers_module, "SPLIT_BYTES", trap)
    got = in_ranges(path)
    same_reading(got, whole(path))
    assert "http://fake.example/" not in got[0].observations.column("url").to_pylist()
    assert got[0].observations.num_rows == 4


def test_ingest_with_workers_cuts_the_archive_blind_and_gets_the_same_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trap.warc.gz"
    _, trap = _trap_archive(path)
    monkeypatch.setattr(workers_module, "SPLIT_BYTES", trap)
    with Store(tmp_path / "one.duckdb") as one, Store(tmp_path / "two.duckdb") as two:
        ingest([path], store=one, workers=1)
        ingest([path], store=two, workers=2)
        query = "SELECT source_url, target_url, anchor FROM links ORDER BY ALL"
        assert one.con.execute(query).fetchall() == two.con.execute(query).fetchall()
        assert len(two.con.execute(query).fetchall()) == 3


def test_with_workers_the_database_checkpoints_about_twice_per_archive() -> None:
    from linkback.ingest import CHECKPOINT_WITH_WORKERS_BOUNDS, checkpoint_threshold

    low, high = CHECKPOINT_WITH_WORKERS_BOUNDS
    assert checkpoint_threshold(1_000) == low
    assert checkpoint_threshold(100 * 2**20) == 150 * 2**20  # log ~3x the archive: ~2 checkpoints
    assert checkpoint_threshold(2**30) == high


def test_records_sharing_the_first_gzip_member_are_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # FastWARC gives the second record of a first member holding two (warcinfo and a response)
    # an offset that is not its own: no cut may fall inside or at the end of that member.
    page = b'<html><body><a href="http://target.example/">t</a></body></html>'
    warcinfo = (
        b"WARC/1.0\r\nWARC-Type: warcinfo\r\nWARC-Date: 2024-05-01T12:00:00Z\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000000000000000000000000001>\r\nContent-Length: 0\r\n\r\n\r\n\r\n"
    )
    first = _member(warcinfo + _record("http://one.example/", page))
    rest = [_member(_record(f"http://{n}.example/", page)) for n in ("two", "three", "four")]
    path = tmp_path / "shared-first-member.warc.gz"
    path.write_bytes(first + b"".join(rest))
    assert gzip_per_record(path) == len(first)
    for split in (40, len(first) - 1, len(first), len(first) + 1, 300):
        monkeypatch.setattr(workers_module, "SPLIT_BYTES", split)
        assert all(start > len(first) for start, _, _ in ranges(path) if start > 0)
        got = in_ranges(path)
        same_reading(got, whole(path))
        assert got[0].observations.num_rows == 4
