"""A damaged WAT record costs that record, not the rest of the file (as in a WARC).

A WAT is read with the WARC reader's damage policy (``iter_metadata_blocks``): a Content-Length
that runs past its record's gzip member (by 10**12, by 50 MB under the 64 MiB cap, by 300 bytes)
or falls short of it, a corrupt gzip member, garbage between members: the record is skipped and
counted where it is (the offset of the damaged record, not of the file's start), and reading goes
on at the next member. Before, a long length made FastWARC seek past the end of the file: one page
of ten ingested, the file recorded as complete, and nothing said but that it "ends inside" it.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import pytest
from test_hostile_records import _doc, _record

from linkback.ingest import ingest
from linkback.sources import iter_wat
from linkback.sources.warc import ReadStats
from linkback.store import Store

URIS = [f"http://page{i}.example/" for i in range(10)]


def _members() -> list[bytes]:
    return [_record(_doc(uri)) for uri in URIS]


def _with_length(member: bytes, delta: int) -> bytes:
    data = zlib.decompress(member, 16 + zlib.MAX_WBITS)
    n = int(re.search(rb"Content-Length: (\d+)", data).group(1))
    patched = data.replace(b"Content-Length: %d" % n, b"Content-Length: %d" % (n + delta), 1)
    return _gzip(patched)


def _gzip(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def _xored(member: bytes) -> bytes:
    # the deflate data, not the gzip header: the member still starts like one
    return member[:12] + bytes(b ^ 0x55 for b in member[12:-8]) + member[-8:]


DAMAGE = {
    "length +10**12": (lambda m: _with_length(m, 10**12), "bad_content_length"),
    "length +50 MB": (lambda m: _with_length(m, 50 * 2**20), "bad_content_length"),
    "length +300": (lambda m: _with_length(m, 300), "bad_content_length"),
    "length -30": (lambda m: _with_length(m, -30), "bad_content_length"),
    "corrupt member": (_xored, "corrupt_gzip"),
    "garbage member": (lambda m: b"\x00garbage" * 50, "garbage_bytes"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_second_record_costs_only_itself(tmp_path: Path, case: str) -> None:
    damage, key = DAMAGE[case]
    members = _members()
    members[1] = damage(members[1])
    wat = tmp_path / "damaged.warc.wat.gz"
    wat.write_bytes(b"".join(members))
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([wat], store=store, workers=1).files
        assert (f.status, f.pages, f.skipped[f"record/{key}"]) == ("ingested", 9, 1), f.errors
        assert len(f.errors) == 1 and f.errors[0].startswith(f"{wat} at byte {len(members[0])}: ")
        urls = {url for (url,) in store.con.execute("SELECT url FROM observations").fetchall()}
        assert urls == set(URIS) - {URIS[1]}


def test_with_two_workers_too_and_a_rerun_has_nothing_left_to_read(tmp_path: Path) -> None:
    members = _members()
    members[1] = _with_length(members[1], 10**12)
    wat = tmp_path / "lie.warc.wat.gz"
    wat.write_bytes(b"".join(members))
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([wat], store=store, workers=2).files
        assert (f.status, f.pages, f.skipped["record/bad_content_length"]) == ("ingested", 9, 1)
        assert "reading goes on at byte" in f.errors[0]
        (again,) = ingest([wat], store=store, workers=2).files
        assert again.status == "already_ingested"


def test_a_plain_wat_with_a_lying_length_is_read_on_past_it(tmp_path: Path) -> None:
    members = [zlib.decompress(m, 16 + zlib.MAX_WBITS) for m in _members()]
    members[1] = zlib.decompress(_with_length(_gzip(members[1]), 10**12), 16 + zlib.MAX_WBITS)
    wat = tmp_path / "lie.warc.wat"
    wat.write_bytes(b"".join(members))
    stats = ReadStats()
    pages = list(iter_wat(wat, stats=stats))
    assert [facts.url for facts, _ in pages] == [URIS[0], *URIS[2:]]
    assert stats.skipped["bad_content_length"] == 1 and stats.read_to_end
    assert f"at byte {len(members[0])}" in stats.errors[0]


def test_a_record_larger_than_the_cap_is_skipped_and_the_next_read(tmp_path: Path, monkeypatch) -> None:
    from linkback.sources import wat as wat_module

    members = _members()
    big = _doc("http://big.example/")
    big["Envelope"]["pad"] = "x" * 5000
    members[1] = _record(json.dumps(big).encode())
    wat = tmp_path / "big.warc.wat.gz"
    wat.write_bytes(b"".join(members))
    monkeypatch.setattr(wat_module, "MAX_WAT_RECORD_BYTES", 4000)
    stats = ReadStats()
    pages = list(iter_wat(wat, stats=stats))
    assert len(pages) == 9 and stats.skipped["record_too_large"] == 1 and stats.read_to_end
    assert f"at byte {len(members[0])}: a metadata record of" in stats.errors[0]
