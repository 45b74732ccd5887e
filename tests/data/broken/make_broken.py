"""Regenerate the broken-archive corpus from the real files in ../warc (deterministic).

    python tests/data/broken/make_broken.py

Each file damages real records in one way; README.md lists what each must read as, and
tests/test_sources_warc.py asserts exactly that.
"""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARC = HERE.parent / "warc"


def split_records(data: bytes) -> list[bytes]:
    """The records of an uncompressed WARC, each with its trailing CRLFCRLF."""
    out = []
    pos = 0
    while data[pos:].strip():
        while data[pos : pos + 1] in (b"\r", b"\n"):
            pos += 1
        hend = data.index(b"\r\n\r\n", pos) + 4
        length = int(re.search(rb"\r\nContent-Length: *(\d+)", data[pos:hend], re.I).group(1))
        end = hend + length
        out.append(data[pos:end] + b"\r\n\r\n")
        pos = end
    return out


def set_length(record: bytes, length: int) -> bytes:
    return re.sub(rb"(\r\nContent-Length: *)\d+", b"\\g<1>%d" % length, record, count=1)


def gz(record: bytes) -> bytes:
    return gzip.compress(record, mtime=0)


def warc_record(headers: list[tuple[bytes, bytes]], block: bytes) -> bytes:
    head = b"WARC/1.0\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return head + b"Content-Length: %d\r\n\r\n" % len(block) + block + b"\r\n\r\n"


def response(n: int, uri: bytes, http_block: bytes, *, date: bytes = b"2017-03-06T16:54:09Z") -> bytes:
    return warc_record(
        [
            (b"WARC-Type", b"response"),
            (b"WARC-Record-ID", b"<urn:uuid:00000000-0000-4000-8000-%012d>" % n),
            (b"WARC-Date", date),
            (b"WARC-Target-URI", uri),
            (b"Content-Type", b"application/http;msgtype=response"),
        ],
        http_block,
    )


def main() -> None:
    iana = split_records((WARC / "warcio" / "example-iana.org-chunked.warc").read_bytes())
    links = split_records((WARC / "ia-web-commons" / "link-extraction-test.warc").read_bytes())
    info, resp, _request = iana
    good = links[1:4]  # three real response records
    out: dict[str, bytes] = {}

    # Content-Length of the iana response 10 bytes too long / too short.
    hend = resp.index(b"\r\n\r\n") + 4
    real_len = len(resp) - hend - 4
    long_rec = set_length(resp, real_len + 10)
    short_rec = set_length(resp, real_len - 10)
    out["content-length-too-long.warc"] = b"".join([info, long_rec, *good])
    out["content-length-too-short.warc"] = b"".join([info, short_rec, *good])
    out["content-length-too-long.warc.gz"] = b"".join(map(gz, [info, long_rec, *good]))
    out["content-length-too-short.warc.gz"] = b"".join(map(gz, [info, short_rec, *good]))

    # A real Common Crawl excerpt cut in the middle of the 6th record's gzip member (offset 12685).
    cc = (WARC / "resiliparse" / "warcfile.warc.gz").read_bytes()
    out["truncated-gzip.warc.gz"] = cc[: 12685 + 200]
    # Its first 9 records (to offset 37659) with one byte of the 4th record's deflate data flipped
    # (the metadata record's member at offset 11845).
    bad = bytearray(cc[:37659])
    bad[11845 + 60] ^= 0xFF
    out["corrupt-gzip-member.warc.gz"] = bytes(bad)

    # An uncompressed file cut in the middle of its last record's body.
    whole = b"".join([info, *good])
    out["truncated-record.warc"] = whole[: len(whole) - 300]

    # Junk between two records; a whole-file (single-member) gzip, which is valid.
    out["garbage-between-records.warc"] = b"".join([info, good[0], b"this is not a record\r\n" * 5, *good[1:]])
    out["whole-file-gzip.warc.gz"] = gzip.compress(b"".join([info, *good]), mtime=0)

    # Not archives at all, whatever the name says.
    out["not-a-warc.warc"] = b"<!DOCTYPE html>\n<html><head><title>404</title></head><body>Not found</body></html>\n"
    out["empty.warc"] = b""
    out["random-bytes.warc"] = random.Random(514).randbytes(4096)
    out["random-gzip.warc.gz"] = b"\x1f\x8b\x08\x00" + random.Random(493).randbytes(4092)

    # HTTP blocks that do not parse, among good records.
    garbage_http = response(1, b"http://example.com/garbage", b"\x00\xff\xfe garbage, no status line\r\n\r\n<html>")
    no_status = response(2, b"http://example.com/no-status", b"<html><body>a body with no HTTP head</body></html>")
    out["bad-http-headers.warc"] = b"".join([info, good[0], garbage_http, no_status, good[1]])

    # Non-UTF-8 bytes in the target URI and in HTTP header names and values.
    latin = response(
        3,
        b"http://example.com/caf\xe9",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=iso-8859-1\r\nX-\xff\xfe: \x80\x81\r\n"
        b"Set-Cookie: name=Jos\xe9\r\nContent-Length: 21\r\n\r\n<p>caf\xe9 cr\xe8me</p>\r\n",
    )
    out["non-utf8-headers.warc"] = b"".join([info, latin, good[0]])

    # A 100 KB WARC-Target-URI (skipped as url_too_long). (A 2 MiB one, over the header limit, is
    # made by the test itself: too big to commit.)
    ok_http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<p>long</p>\r\n"
    out["long-target-uri.warc"] = b"".join(
        [info, response(4, b"http://example.com/" + b"a" * 100_000, ok_http), good[0]]
    )
    # Encodings that lie: Content-Encoding gzip on a plain body, chunked framing that is not.
    plain = b"<html><body><a href='/x'>x</a></body></html>"
    lie_gzip = response(
        6,
        b"http://example.com/not-gzip",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n" + plain,
    )
    lie_chunked = response(
        7,
        b"http://example.com/not-chunked",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n" + plain,
    )
    out["lying-encodings.warc"] = b"".join([info, lie_gzip, lie_chunked])

    # A WARC-Date that is not a date: the warcinfo record's date (2017-03-06T16:54:09Z) is used.
    out["bad-date.warc"] = b"".join([info, response(8, b"http://example.com/when", ok_http, date=b"last tuesday")])

    for name, data in out.items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
