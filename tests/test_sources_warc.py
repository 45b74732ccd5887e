"""linkback.sources.warc: real archives, the broken corpus in tests/data/broken, ARC, limits."""

from __future__ import annotations

import collections
import csv
import gzip
import json
import subprocess
import sys
import zlib
from datetime import datetime, timezone
from pathlib import Path

import brotli
import pytest
from conftest import REPO_DATA, ROOT, shared_path

from linkback.errors import NotAnArchive, SourceError
from linkback.records import FetchedPage
from linkback.sources import YIELDED_ANYWAY, ReadStats, iter_archive, iter_paths, sniff_archive
from linkback.sources._body import dechunk, decode_payload

WARC = REPO_DATA / "warc"
BROKEN = REPO_DATA / "broken"


def read(path: Path, **kw) -> tuple[list[FetchedPage], ReadStats]:
    stats = ReadStats()
    pages = list(iter_archive(path, stats=stats, **kw))
    return pages, stats


# --------------------------------------------------------------------------- bundled real files

# file: (pages, records, skipped)
REAL = {
    "resiliparse/warcfile.warc.gz": (16, 50, {"warcinfo": 1, "request": 17, "metadata": 16}),
    "resiliparse/clipped.warc.gz": (0, 1, {"truncated_gzip": 1}),
    "jwarc/cc.warc.gz": (1, 1, {}),
    "aut/issue-514.warc": (2, 8, {"warcinfo": 1, "request": 2, "metadata": 1, "resource_not_http": 2}),
    "warcio/example-iana.org-chunked.warc": (1, 3, {"warcinfo": 1, "request": 1}),
    "ia-web-commons/link-extraction-test.warc": (9, 10, {"warcinfo": 1}),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_bundled_real_archive_counts(name):
    pages, stats = read(WARC / name)
    n_pages, n_records, skipped = REAL[name]
    assert (len(pages), stats.records, dict(stats.skipped)) == (n_pages, n_records, skipped)
    assert stats.responses == n_pages
    assert stats.bytes == (WARC / name).stat().st_size
    for page in pages:
        assert page.via == "warc" and page.final_url == page.url and page.source == str(WARC / name)
        assert page.fetched_at.tzinfo is timezone.utc
        # the hand-made ia-web-commons file has no WARC-Record-IDs
        assert page.record_id.startswith("<urn:") or (name.startswith("ia-web") and page.record_id == "")


def test_common_crawl_excerpt_fields():
    pages, _ = read(WARC / "resiliparse" / "warcfile.warc.gz")
    first = pages[0]
    assert first.offset == 940  # the byte offset of its gzip member, as warcio reports it
    assert first.status == 200
    assert first.headers[0][0] and first.header("content-type") is not None
    assert first.body.lstrip().lower().startswith((b"<!doctype", b"<html"))
    assert len({p.url for p in pages}) == 16


def test_chunked_body_is_dechunked_and_headers_kept_in_order():
    (page,), _ = read(WARC / "warcio" / "example-iana.org-chunked.warc")
    assert page.url == "http://www.iana.org/"
    assert page.fetched_at == datetime(2017, 3, 6, 16, 54, 9, tzinfo=timezone.utc)
    assert page.body.startswith(b"<!doctype html>") and page.body.rstrip().endswith(b"</html>")
    assert b"\r\n001c37\r\n" not in page.body
    assert [k for k, _ in page.headers][:6] == [
        "Vary",
        "Last-Modified",
        "Content-Type",
        "Cache-Control",
        "Transfer-Encoding",
        "Date",
    ]


def test_link_extraction_pages_pair_with_expected_json():
    pages, _ = read(WARC / "ia-web-commons" / "link-extraction-test.warc")
    expected = json.loads((WARC / "ia-web-commons" / "link-extraction-expected.json").read_text())
    assert [p.url for p in pages] == [r["warc_target_uri"] for r in expected["records"]]
    assert all(p.status == 200 and b"<" in p.body for p in pages)


def test_bundle_has_source_notes_and_stays_small():
    total = sum(p.stat().st_size for p in WARC.rglob("*") if p.is_file())
    assert total < 6_500_000  # the demo's two real crawls are most of it
    notes = (WARC / "SOURCE.txt").read_text()
    for p in WARC.rglob("*"):
        if p.is_file() and p.name != "SOURCE.txt":
            assert p.name in notes, p


# --------------------------------------------------------------------------- broken corpus

# file: (pages, records, skipped, error offsets)
BROKEN_EXPECTED = {
    "bad-date.warc": (1, 2, {"warcinfo": 1, "bad_date": 1}, []),
    "bad-http-headers.warc": (2, 5, {"warcinfo": 1, "bad_http_headers": 2}, []),
    "content-length-too-long.warc": (3, 5, {"warcinfo": 1, "bad_content_length": 1}, [405]),
    "content-length-too-long.warc.gz": (3, 5, {"warcinfo": 1, "bad_content_length": 1}, [304]),
    "content-length-too-short.warc": (3, 5, {"warcinfo": 1, "bad_content_length": 1}, [405]),
    "content-length-too-short.warc.gz": (3, 5, {"warcinfo": 1, "bad_content_length": 1}, [304]),
    "corrupt-gzip-member.warc.gz": (3, 8, {"warcinfo": 1, "request": 3, "metadata": 1, "corrupt_gzip": 1}, [11845]),
    "garbage-between-records.warc": (3, 4, {"warcinfo": 1, "garbage_bytes": 1}, [1838]),
    "long-target-uri.warc": (1, 3, {"warcinfo": 1, "url_too_long": 1}, []),
    "lying-encodings.warc": (2, 3, {"warcinfo": 1, "bad_content_encoding": 1, "bad_chunked_encoding": 1}, []),
    "non-utf8-headers.warc": (2, 3, {"warcinfo": 1, "non_utf8_headers": 1}, []),
    "truncated-gzip.warc.gz": (1, 6, {"warcinfo": 1, "request": 2, "metadata": 1, "truncated_gzip": 1}, [12685]),
    "truncated-record.warc": (2, 4, {"warcinfo": 1, "truncated_record": 1}, [2952]),
    "whole-file-gzip.warc.gz": (3, 4, {"warcinfo": 1}, []),
}
NOT_ARCHIVES = {
    "empty.warc": "not a WARC or ARC file (empty file)",
    "not-a-warc.warc": "not a WARC or ARC file (file starts with b'<!DOCTYPE html>\\n')",
    "random-bytes.warc": "not a WARC or ARC file (file starts with b'\\xe7\\x86\\xaf[",
    "random-gzip.warc.gz": "gzip data that does not decompress (Error -3 while decompressing data",
}


@pytest.mark.parametrize("name", sorted(BROKEN_EXPECTED))
def test_broken_archive_counts(name):
    path = BROKEN / name
    pages, stats = read(path)
    n_pages, n_records, skipped, offsets = BROKEN_EXPECTED[name]
    assert (len(pages), stats.records, dict(stats.skipped)) == (n_pages, n_records, skipped)
    assert len(stats.errors) == len(offsets)
    for message, offset in zip(stats.errors, offsets):
        assert message.startswith(f"{path} at byte {offset}: "), message


@pytest.mark.parametrize("name", sorted(NOT_ARCHIVES))
def test_not_an_archive_raises_one_clear_line(name):
    path = BROKEN / name
    with pytest.raises(NotAnArchive) as info:
        sniff_archive(path)
    assert info.value.path == str(path) and info.value.offset == 0
    assert str(info.value).startswith(f"{path} at byte 0: {NOT_ARCHIVES[name]}")
    assert "\n" not in str(info.value)
    stats = ReadStats()
    with pytest.raises(NotAnArchive):
        list(iter_archive(path, stats=stats))
    assert stats.skipped == {"not_an_archive": 1} and stats.errors == [str(info.value)]


def test_broken_readme_lists_every_file_with_its_counts():
    readme = (BROKEN / "README.md").read_text()
    files = {p.name for p in BROKEN.iterdir()} - {"README.md", "make_broken.py", "__pycache__"}
    assert files == set(BROKEN_EXPECTED) | set(NOT_ARCHIVES)
    for name in files:
        assert f"`{name}`" in readme, name
    for name, (n_pages, _, skipped, _) in BROKEN_EXPECTED.items():
        line = next(line for line in readme.splitlines() if f"`{name}`" in line)
        assert f"{n_pages} page" in line, line
        for key, count in skipped.items():
            if key not in ("warcinfo", "request", "metadata"):
                assert f"{key}={count}" in line, (name, key)


def test_broken_corpus_is_what_the_generator_makes(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_broken", BROKEN / "make_broken.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.HERE = tmp_path
    module.main()
    for made in tmp_path.iterdir():
        assert made.read_bytes() == (BROKEN / made.name).read_bytes(), made.name


def test_truncated_gzip_keeps_what_came_before_and_names_the_offset():
    path = BROKEN / "truncated-gzip.warc.gz"
    pages, stats = read(path)
    assert [p.offset for p in pages] == [940]
    full, _ = read(WARC / "resiliparse" / "warcfile.warc.gz")
    assert pages[0] == FetchedPage(**{**_fields(full[0]), "source": str(path)})
    assert stats.errors == [
        f"{path} at byte 12685: gzip member cut short: the file ends inside it (truncated download?); "
        "records before it were read"
    ]


def _fields(page: FetchedPage) -> dict:
    return {name: getattr(page, name) for name in FetchedPage.__slots__}


def test_clipped_record_is_counted_not_yielded():
    path = WARC / "resiliparse" / "clipped.warc.gz"
    pages, stats = read(path)
    assert pages == [] and stats.records == 1 and stats.skipped == {"truncated_gzip": 1}
    assert stats.errors[0].startswith(f"{path} at byte 0: gzip member cut short")


def test_wrong_content_length_skips_only_that_record():
    pages, stats = read(BROKEN / "content-length-too-short.warc")
    assert "http://www.iana.org/" not in {p.url for p in pages}
    good, _ = read(WARC / "ia-web-commons" / "link-extraction-test.warc")
    assert [p.body for p in pages] == [p.body for p in good[:3]]


def test_non_utf8_header_bytes_are_kept_as_latin1():
    pages, _ = read(BROKEN / "non-utf8-headers.warc")
    page = pages[0]
    assert page.url == "http://example.com/caf\xe9"
    assert ("X-\xff\xfe", "\x80\x81") in page.headers
    assert page.header("Set-Cookie") == "name=Jos\xe9"
    assert page.body == b"<p>caf\xe9 cr\xe8me</p>\r\n"


def test_bad_date_falls_back_to_the_warcinfo_date():
    (page,), stats = read(BROKEN / "bad-date.warc")
    assert page.fetched_at == datetime(2017, 3, 6, 16, 54, 9, tzinfo=timezone.utc)
    assert stats.skipped["bad_date"] == 1 and "bad_date" in YIELDED_ANYWAY


def test_lying_encodings_yield_the_raw_body():
    pages, _ = read(BROKEN / "lying-encodings.warc")
    assert [p.body for p in pages] == [b"<html><body><a href='/x'>x</a></body></html>"] * 2


def test_warc_header_over_the_limit_is_skipped_and_reading_goes_on(tmp_path):
    recs = (BROKEN / "long-target-uri.warc").read_bytes()
    good = (WARC / "warcio" / "example-iana.org-chunked.warc").read_bytes()
    huge = recs.replace(b"a" * 100_000, b"b" * (2 << 20))
    path = tmp_path / "huge-header.warc"
    path.write_bytes(good + huge + good)
    pages, stats = read(path)
    assert [p.url for p in pages] == [
        "http://www.iana.org/",
        "http://www.example.com/html4.html",
        "http://www.iana.org/",
    ]
    assert stats.skipped["bad_warc_header"] == 1
    assert stats.errors == [
        f"{path} at byte {len(good) + recs.index(b'WARC/1.0', 10)}: unreadable WARC record header "
        "(Maximum header length exceeded.); record skipped"
    ]


# --------------------------------------------------------------------------- limits


@pytest.mark.slow
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_50mb_body_is_cut_with_bounded_memory(tmp_path, compress):
    """A 50 MB response is yielded with max_body_bytes of body, and peak RSS grows far less."""
    path = tmp_path / ("big.warc.gz" if compress else "big.warc")
    size = 50 * 2**20
    http_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % size
    head = (
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:big>\r\n"
        b"WARC-Date: 2024-05-01T00:00:00Z\r\nWARC-Target-URI: http://example.com/big\r\n"
        b"Content-Type: application/http;msgtype=response\r\nContent-Length: %d\r\n\r\n" % (len(http_head) + size)
    )
    tail = (WARC / "warcio" / "example-iana.org-chunked.warc").read_bytes()
    opener = (lambda p: gzip.open(p, "wb", compresslevel=1)) if compress else (lambda p: open(p, "wb"))
    with opener(path) as fh:
        fh.write(head + http_head)
        block = b"<p>" + b"x" * (2**20 - 7) + b"</p>"
        for _ in range(50):
            fh.write(block)
        fh.write(b"\r\n\r\n")
    if compress:
        with open(path, "ab") as fh:
            fh.write(gzip.compress(tail))
    else:
        with open(path, "ab") as fh:
            fh.write(tail)
    script = f"""
import resource, sys
from linkback.sources import ReadStats, iter_archive
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stats = ReadStats()
out = [(p.url, len(p.body)) for p in iter_archive({str(path)!r}, stats=stats, max_body_bytes=2**20)]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(out, dict(stats.skipped), (after - before) // 1024)
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    grown_mb = int(res.stdout.split()[-1])
    assert res.stdout.startswith("[('http://example.com/big', 1048576), ('http://www.iana.org/', ")
    assert "'body_truncated': 1" in res.stdout
    assert grown_mb < 30, res.stdout  # reading all 50 MB would grow it by 50+


def test_decode_payload_gzip_deflate_br_and_bomb():
    html = b"<html>" + b"a" * 5000 + b"</html>"
    assert decode_payload(gzip.compress(html), transfer_encoding=None, content_encoding="gzip", limit=10**6) == (
        html,
        [],
    )
    assert (
        decode_payload(zlib.compress(html), transfer_encoding=None, content_encoding="deflate", limit=10**6)[0] == html
    )
    raw_deflate = zlib.compressobj(wbits=-15)
    data = raw_deflate.compress(html) + raw_deflate.flush()
    assert decode_payload(data, transfer_encoding=None, content_encoding="Deflate", limit=10**6)[0] == html
    assert decode_payload(brotli.compress(html), transfer_encoding=None, content_encoding="br", limit=10**6)[0] == html
    bomb = gzip.compress(b"\0" * (100 * 2**20))
    body, notes = decode_payload(bomb, transfer_encoding=None, content_encoding="gzip", limit=2**20)
    assert len(body) == 2**20 and notes == ["body_truncated"]
    assert decode_payload(b"plain", transfer_encoding=None, content_encoding="gzip", limit=100) == (
        b"plain",
        ["bad_content_encoding"],
    )
    assert decode_payload(b"x", transfer_encoding=None, content_encoding="compress", limit=9)[1] == [
        "unsupported_content_encoding"
    ]


def test_dechunk():
    assert dechunk(b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n") == b"Wikipedia"
    assert dechunk(b"4\nWiki\n0\n\n") == b"Wikipedia"[:4]
    assert dechunk(b"<html>not chunked") is None
    assert dechunk(b"4\r\nWiki\r\n5\r\nped") == b"Wikiped"  # cut off by the body limit


# --------------------------------------------------------------------------- ARC

ARC_VERSION_BLOCK = b"1 0 InternetArchive\nURL IP-address Archive-date Content-type Archive-length\n"


def _arc_records() -> list[bytes]:
    header = b"filedesc://linkback-test.arc 0.0.0.0 20080430204825 text/plain %d\n" % len(ARC_VERSION_BLOCK)
    recs = [header + ARC_VERSION_BLOCK + b"\n"]
    pages = [
        (b"http://www.archive.org/", b"<html><a href='/about/'>About</a></html>", b"20080430204826"),
        (b"http://www.archive.org/about/", b"<html><a href='http://example.org/'>x</a></html>", b"20080430204830"),
    ]
    for url, body, date in pages:
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        recs.append(b"%s 207.241.229.39 %s text/html %d\n" % (url, date, len(http)) + http + b"\n")
    dns = b"20080430204825\nwww.archive.org.\t1589\tIN\tA\t207.241.229.39\n"
    recs.append(b"dns:www.archive.org 68.87.76.178 20080430204825 text/dns %d\n" % len(dns) + dns + b"\n")
    return recs


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip-per-record"])
def test_arc_file_is_read(tmp_path, compress):
    recs = _arc_records()
    path = tmp_path / ("test.arc.gz" if compress else "test.arc")
    path.write_bytes(b"".join(gzip.compress(r) for r in recs) if compress else b"".join(recs))
    assert sniff_archive(path) == "arc"
    pages, stats = read(path)
    assert [(p.url, p.status, p.fetched_at) for p in pages] == [
        ("http://www.archive.org/", 200, datetime(2008, 4, 30, 20, 48, 26, tzinfo=timezone.utc)),
        ("http://www.archive.org/about/", 200, datetime(2008, 4, 30, 20, 48, 30, tzinfo=timezone.utc)),
    ]
    assert pages[0].body == b"<html><a href='/about/'>About</a></html>"
    assert pages[1].header("content-type") == "text/html"
    assert stats.records == 4 and dict(stats.skipped) == {"warcinfo": 1, "dns": 1}
    offsets = [0]
    for r in recs[:-1]:
        offsets.append(offsets[-1] + len(gzip.compress(r) if compress else r))
    assert [p.offset for p in pages] == offsets[1:3]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip-per-record"])
def test_truncated_arc_record_is_counted_not_yielded(tmp_path, compress):
    recs = _arc_records()
    parts = [gzip.compress(r) for r in recs[:3]] if compress else recs[:3]
    path = tmp_path / ("cut.arc.gz" if compress else "cut.arc")
    path.write_bytes(b"".join(parts)[:-30])  # the file ends 30 bytes before the 2nd page's end
    pages, stats = read(path)
    assert [p.url for p in pages] == ["http://www.archive.org/"]
    assert stats.skipped == {"warcinfo": 1, "truncated_record": 1}
    second = len(parts[0]) + len(parts[1])
    assert stats.errors == [
        f"{path} at byte {second}: record cut short: {'38' if compress else '29'} bytes of its block are missing"
    ]


# --------------------------------------------------------------------------- paths and sniffing


def test_sniff_uses_magic_bytes_not_names(tmp_path):
    odd = tmp_path / "records.bin"
    odd.write_bytes((WARC / "jwarc" / "cc.warc.gz").read_bytes())
    assert sniff_archive(odd) == "warc"
    assert sniff_archive(WARC / "aut" / "issue-514.warc") == "warc"
    (page,), _ = read(odd)
    assert page.url == "http://commoncrawl.org/"


@pytest.mark.parametrize("writer", ["ZstdWriter", "Lz4Writer"])
def test_sniff_reads_through_zstd_and_lz4(tmp_path, writer):
    # The sniffer decompresses these with FastWARC's readers (it once imported names FastWARC 2 lacks).
    import fastwarc.stream_io

    path = tmp_path / "records.bin"
    with getattr(fastwarc.stream_io, writer)(str(path)) as out:
        out.write((WARC / "aut" / "issue-514.warc").read_bytes())
    assert sniff_archive(path) == "warc"
    broken = tmp_path / "broken.bin"
    broken.write_bytes(path.read_bytes()[:4] + b"\xff" * 60)
    with pytest.raises(NotAnArchive, match="does not decompress"):
        sniff_archive(broken)


def test_missing_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="cannot open"):
        sniff_archive(tmp_path / "nope.warc")


def test_iter_paths(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ["a/x.warc.gz", "a/b/y.arc", "a/b/z.WARC", "a/notes.txt", "w.warc"]:
        (tmp_path / name).write_bytes(b"WARC/1.0\r\n")
    got = iter_paths([str(tmp_path / "a"), str(tmp_path / "*.warc"), str(tmp_path / "a" / "x.warc.gz")])
    assert got == sorted(
        [
            tmp_path / "a" / "x.warc.gz",
            tmp_path / "a" / "b" / "y.arc",
            tmp_path / "a" / "b" / "z.WARC",
            tmp_path / "w.warc",
        ]
    )
    with pytest.raises(SourceError, match="does not exist"):
        iter_paths([str(tmp_path / "missing.warc")])
    with pytest.raises(SourceError, match="matches no files"):
        iter_paths([str(tmp_path / "*.arc.gz")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no WARC/ARC files"):
        iter_paths([str(tmp_path / "empty")])


# --------------------------------------------------------------------------- shared real data


def _shared_counts() -> tuple[Path, dict, dict[str, list[dict]]]:
    root = shared_path("02_warc")
    counts = json.loads((root / "counts.json").read_text())
    rows: dict[str, list[dict]] = collections.defaultdict(list)
    with open(root / "responses.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            rows[row["file"]].append(row)
    return root, counts, rows


@pytest.mark.shared
def test_every_shared_warc_reads_and_matches_the_inventory():
    root, counts, rows = _shared_counts()
    # The WAT beside the WARCs (.warc.wat.gz) is left out of the directory: named, it is read.
    files = sorted(p for p in root.rglob("*.warc*") if p.name != "real-pages-1169.warc.gz")
    assert len(files) == 12 and len(iter_paths([str(root)])) == 11
    for path in files:
        rel = path.relative_to(root).as_posix()
        pages, stats = read(path)
        assert stats.records == sum(counts[rel]["records"].values()), rel
        http_rows = [r for r in rows[rel] if r["http_status"]]
        if rel == "resiliparse/clipped.warc.gz":  # its one response is cut short
            assert pages == [] and stats.skipped == {"truncated_gzip": 1}
            continue
        assert [p.url for p in pages] == [r["target_uri"] for r in http_rows], rel
        assert [p.status for p in pages] == [int(r["http_status"]) for r in http_rows], rel
        assert stats.skipped["dns"] == len(rows[rel]) - len(http_rows), rel
        assert not [e for e in stats.errors], (rel, stats.errors)


@pytest.mark.shared
def test_wat_and_wet_yield_no_pages_and_say_why():
    root = shared_path("02_warc", "commoncrawl-whirlwind")
    assert read(root / "whirlwind.warc.wat.gz")[1].skipped == {"warcinfo": 1, "metadata": 1}
    pages, stats = read(root / "whirlwind.warc.wet.gz")
    assert pages == [] and stats.skipped == {"warcinfo": 1, "conversion": 1}


@pytest.mark.shared
def test_clueweb_quirks():
    pages, stats = read(shared_path("02_warc", "resiliparse", "clueweb-quirk.warc.gz"))
    assert len(pages) == 29
    # WARC-Date: 2008-10-294T05:21:46-0700 (a stray digit), read leniently.
    assert {p.fetched_at for p in pages} == {datetime(2008, 10, 29, 12, 21, 46, tzinfo=timezone.utc)}
    # Content-Encoding: gzip is declared but the bodies were stored decoded: kept raw, counted.
    assert stats.skipped == {"warcinfo": 1, "bad_date": 29, "bad_content_encoding": 29}
    assert pages[0].header("content-type") == "text/html; charset=EUC-JP"
    assert pages[0].body.startswith(b"<html>")


@pytest.mark.shared
@pytest.mark.slow
def test_real_pages_1169():
    pages, stats = read(shared_path("02_warc", "real-pages-1169.warc.gz"))
    assert len(pages) == stats.records == 1169 and not stats.skipped and not stats.errors


def _split_everywhere(path: Path) -> tuple[list, ReadStats, list, ReadStats]:
    """The file read whole, and read as byte ranges cut at every record offset."""
    from linkback.sources import iter_record_offsets

    whole_stats = ReadStats()
    whole = [(p.url, p.offset, p.body, p.fetched_at) for p in iter_archive(path, stats=whole_stats)]
    cuts = [off for off, _ in iter_record_offsets(path)] or [0]
    if cuts[0] != 0:
        cuts.insert(0, 0)
    cuts.append(-1)
    stats = ReadStats()
    parts = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        parts += [
            (p.url, p.offset, p.body, p.fetched_at) for p in iter_archive(path, stats=stats, start=start, end=end)
        ]
    return whole, whole_stats, parts, stats


_SPLITTABLE = [
    p
    for p in sorted(BROKEN.glob("*.warc*"))
    if p.stat().st_size > 0 and "not-a" not in p.name and "random" not in p.name
]


@pytest.mark.parametrize("path", [*sorted(WARC.rglob("*.warc*")), *_SPLITTABLE], ids=lambda p: p.name)
def test_byte_ranges_at_record_offsets_read_exactly_what_the_whole_file_gives(path: Path) -> None:
    # Ingest workers share a file this way; damage (cut members, wrong lengths, one gzip
    # stream for the whole file, a warcinfo date needed as fallback) must not change a thing.
    whole, whole_stats, parts, stats = _split_everywhere(path)
    assert parts == whole
    assert (stats.records, stats.responses, stats.skipped) == (
        whole_stats.records,
        whole_stats.responses,
        whole_stats.skipped,
    )
