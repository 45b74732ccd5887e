"""A corrupt first gzip member costs its own record, as the same damage in any later member does.

Before, telling the file's kind decompressed the first member only: damage there made the whole
file "gzip data that does not decompress", 0 of its 16 responses read (a WAT without a warcinfo
record likewise), while the reader itself would have skipped to the next member.
"""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import pytest

from linkback.errors import NotAnArchive
from linkback.ingest import ingest
from linkback.sources import sniff_archive
from linkback.sources.wat import LITE_NOTE
from linkback.store import Store

URIS = [f"http://page{i}.example/" for i in range(6)]


def _member(headers: dict[str, str], block: bytes) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return gzip.compress(f"{head}Content-Length: {len(block)}\r\n\r\n".encode() + block + b"\r\n\r\n")


def _warcinfo() -> bytes:
    fields = b"software: test\r\nformat: WARC File Format 1.0\r\n" * 8  # long enough to hold the damage
    return _member({"WARC-Type": "warcinfo", "WARC-Date": "2024-03-01T12:00:00Z"}, fields)


def _response(uri: str) -> bytes:
    http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<a href='http://t.example/{uri[7:]}'>x</a>"
    fields = {"WARC-Type": "response", "WARC-Target-URI": uri, "WARC-Date": "2024-03-01T12:00:00Z"}
    fields |= {"WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>", "Content-Type": "application/http; msgtype=response"}
    return _member(fields, http.encode())


def _metadata(uri: str) -> bytes:
    doc = (
        '{"Envelope": {"WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Target-URI": "%s", '
        '"WARC-Date": "2024-03-01T12:00:00Z"}, "Payload-Metadata": {"HTTP-Response-Metadata": '
        '{"Response-Message": {"Status": "200"}, "Headers": {"Content-Type": "text/html"}, '
        '"HTML-Metadata": {"Head": {"Title": "t"}, "Links": [{"path": "A@/href", "url": "http://t.example/"}]}}}}}'
    ) % uri
    return _member(
        {"WARC-Type": "metadata", "WARC-Date": "2024-03-01T12:00:00Z", "Content-Type": "application/json"}, doc.encode()
    )


def _corrupt(member: bytes) -> bytes:
    # the first deflate block's type made the reserved one: the member still starts like one
    return member[:10] + b"\xff" + member[11:]


@pytest.mark.parametrize("first", ["warcinfo", "response"])
def test_a_corrupt_first_member_costs_only_its_record(tmp_path: Path, first: str) -> None:
    responses = [_response(uri) for uri in URIS]
    members = [_warcinfo(), *responses] if first == "warcinfo" else responses
    warc = tmp_path / "first-corrupt.warc.gz"
    warc.write_bytes(_corrupt(members[0]) + b"".join(members[1:]))
    assert sniff_archive(warc) == "warc"
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([warc], store=store, workers=1).files
        pages = len(URIS) if first == "warcinfo" else len(URIS) - 1
        assert (f.status, f.pages, f.skipped["record/corrupt_gzip"]) == ("ingested", pages, 1)
        assert f.errors == [f"{warc} at byte 0: corrupt gzip member" + f.errors[0].partition("corrupt gzip member")[2]]
        urls = {url for (url,) in store.con.execute("SELECT url FROM observations").fetchall()}
        assert urls == set(URIS[len(URIS) - pages :])


def test_a_wat_without_warcinfo_whose_first_member_is_corrupt_is_read_as_a_wat(tmp_path: Path) -> None:
    members = [_metadata(uri) for uri in URIS]
    wat = tmp_path / "first-corrupt.warc.wat.gz"
    wat.write_bytes(_corrupt(members[0]) + b"".join(members[1:]))
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([wat], store=store, workers=1).files
        assert (f.status, f.note, f.pages, f.skipped["record/corrupt_gzip"]) == ("ingested", LITE_NOTE, 5, 1)


def test_gzip_data_with_no_warc_record_anywhere_is_still_not_an_archive(tmp_path: Path) -> None:
    not_warc = tmp_path / "not.warc.gz"
    not_warc.write_bytes(_corrupt(gzip.compress(b"x" * 1000)) + gzip.compress(b"just text, no record"))
    with pytest.raises(NotAnArchive, match="gzip data that does not decompress"):
        sniff_archive(not_warc)
    # ...while the same damage before a WARC record is only that member's
    warc = tmp_path / "then-warc.warc.gz"
    warc.write_bytes(not_warc.read_bytes() + _response(URIS[0]))
    assert sniff_archive(warc) == "warc"
