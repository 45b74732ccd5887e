"""A compressed response is decompressed once per crawl, zstd as far as gzip, archived as received.

The WARC middleware decodes a body for the store and the spider then reads the same bytes; both
once decoded each body again (a decompression bomb up to the cap twice more). A zstd body cut at
the cap reached the spider undecoded (no links) and the store raw. One crawl in a subprocess
(this file, run as a script) counts every decoding of each body, by its compressed bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from linkback.sources._body import decode_payload
from linkback.store import Store

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

WWW = "www.site.test"
CAP = 10 * 2**20  # the crawl's cap on a response (DEFAULT_MAX_BYTES)


def _html(title: str, href: str, padding: int = 0) -> bytes:
    head = f'<!doctype html><html><head><title>{title}</title></head><body><a href="{href}">on</a>'
    return head.encode() + b" " * padding + b"</body></html>"


#: path: (Content-Encoding, the body as served, the link on the page).
COMPRESSED = {
    "/page.gz": ("gzip", gzip.compress(_html("gzip page", "/from-gz")), "/from-gz"),
    "/bomb.gz": ("gzip", gzip.compress(_html("gzip bomb", "/after-gz", CAP + 1)), "/after-gz"),
    "/page.zst": ("zstd", zstd.compress(_html("zstd page", "/from-zst")), "/from-zst"),
    "/bomb.zst": ("zstd", zstd.compress(_html("zstd bomb", "/after-zst", CAP + 1)), "/after-zst"),
}


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324 - a name for a body, not a secret


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    from webkit import HostWeb, Page  # noqa: PLC0415 - the script (below) runs without the test helpers

    out = tmp_path_factory.mktemp("crawl")
    with HostWeb() as web:
        web.html(WWW, "/", *COMPRESSED)
        for path, (coding, body, link) in COMPRESSED.items():
            web.pages[WWW, path] = Page(body, 200, {"Content-Type": "text/html", "Content-Encoding": coding})
            web.html(WWW, link)
        args = {
            "seeds": [web.url(WWW)], "resolve": {WWW: "127.0.0.1"}, "allow_private": True, "out": str(out / "warc"),
            "db": str(out / "crawl.duckdb"), "delay": 0, "depth": 2, "flush_seconds": 0.2,
        }  # fmt: skip
        done = subprocess.run(
            [sys.executable, __file__, json.dumps(args)], capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 0, done.stderr[-3000:]
    return web, json.loads(done.stdout.strip().splitlines()[-1]), out


def test_each_compressed_body_is_decoded_once(crawled: tuple[Any, dict[str, Any], Path]) -> None:
    _, result, _ = crawled
    decodings = result["decodings"]
    assert {path: decodings.get(_digest(body), 0) for path, (_, body, _) in COMPRESSED.items()} == dict.fromkeys(
        COMPRESSED, 1
    )


def test_a_zstd_body_cut_at_the_cap_is_read_as_far_as_a_gzip_one(crawled: tuple[Any, dict[str, Any], Path]) -> None:
    web, result, out = crawled
    summary = result["summary"]
    assert summary["pages"] == 1 + 2 * len(COMPRESSED)  # every page's link was followed
    assert summary["errors"] == {"too-big": 2} and summary["unfetched"] == {"too-big": 2}
    assert sorted(u["url"] for u in summary["unfetched_urls"]) == [web.url(WWW, "/bomb.gz"), web.url(WWW, "/bomb.zst")]
    with Store(out / "crawl.duckdb") as store:
        rows = store.con.execute("SELECT url, title, n_internal, truncated FROM pages").fetchall()
    pages = {url: (title, links, truncated) for url, title, links, truncated in rows}
    # Stored decoded (title, the one link), the bombs partial: zstd was stored raw, a page of no links.
    for path, (coding, _, _) in COMPRESSED.items():
        title = f"{coding} {'bomb' if 'bomb' in path else 'page'}"
        assert pages[web.url(WWW, path)] == (title, 1, "bomb" in path), path


def test_the_warc_keeps_each_body_as_received(crawled: tuple[Any, dict[str, Any], Path]) -> None:
    web, result, _ = crawled
    archived = {}
    for path in result["summary"]["warc_files"]:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response":
                    encoding = record.http_headers.get_header("Content-Encoding")
                    archived[record.rec_headers.get_header("WARC-Target-URI")] = (encoding, record.raw_stream.read())
    for path, (coding, body, _) in COMPRESSED.items():
        assert archived[web.url(WWW, path)] == (coding, body), path


@pytest.mark.parametrize(("coding", "compress"), [("gzip", gzip.compress), ("zstd", zstd.compress)])
def test_zstd_is_decoded_as_far_as_it_goes_as_gzip_is(coding: str, compress: Any) -> None:
    page = _html("page", "/next")

    def decoded(data: bytes, limit: int = 2**20) -> tuple[bytes, list[str]]:
        return decode_payload(data, transfer_encoding=None, content_encoding=coding, limit=limit)

    assert decoded(compress(page)) == (page, [])
    bomb = page + b" " * 2**20
    assert decoded(compress(bomb), limit=1000) == (bomb[:1000], ["body_truncated"])
    # Cut on the way (blocks missing at the end): the blocks there decoded, nothing said.
    text = page + b"".join(hashlib.sha256(b"%d" % n).hexdigest().encode() for n in range(2**14))
    body, notes = decoded(compress(text)[:-1000])
    assert text.startswith(body) and len(page) < len(body) < len(text) and notes == []
    assert decoded(b"not compressed at all") == (b"not compressed at all", ["bad_content_encoding"])


def test_a_zstd_body_is_read_across_its_frames_up_to_the_cap() -> None:
    frames = zstd.compress(b"one ") + zstd.compress(b"two ") + zstd.compress(b"three")
    assert decode_payload(frames, transfer_encoding=None, content_encoding="zstd", limit=100) == (b"one two three", [])
    assert decode_payload(frames, transfer_encoding=None, content_encoding="zstd", limit=6) == (
        b"one tw",
        ["body_truncated"],
    )


@pytest.mark.parametrize("coding", ["gzip", "x-gzip"])
def test_a_gzip_body_is_read_across_its_members_up_to_the_cap(coding: str) -> None:
    members = gzip.compress(b"one ") + gzip.compress(b"two ") + gzip.compress(b"three")
    assert decode_payload(members, transfer_encoding=None, content_encoding=coding, limit=100) == (b"one two three", [])
    assert decode_payload(members, transfer_encoding=None, content_encoding=coding, limit=6) == (
        b"one tw",
        ["body_truncated"],
    )
    # Bytes after the last member that are no member end the body; so does a damaged member.
    for tail in (b"trailing junk", b"\x1f\x8b\x08damaged"):
        assert decode_payload(members + tail, transfer_encoding=None, content_encoding=coding, limit=100)[0] == (
            b"one two three"
        )


def _count_decodings() -> Counter[str]:
    """Count each decoding of a body, by the digest of the bytes decoded: linkback's decoder
    (the archive's and the store's) and Scrapy's (HttpCompressionMiddleware's)."""
    from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware  # noqa: PLC0415

    from linkback.sources import _body  # noqa: PLC0415

    counts: Counter[str] = Counter()
    ours, scrapys = _body._decode_one, HttpCompressionMiddleware._decode

    def our_decoding(coding: str, data: bytes, limit: int) -> tuple[bytes, bool]:
        counts[_digest(data)] += 1
        return ours(coding, data, limit)

    def scrapys_decoding(body: bytes, encoding: bytes, max_size: int) -> bytes:
        counts[_digest(body)] += 1
        return scrapys(body, encoding, max_size)

    _body._decode_one = our_decoding  # type: ignore[assignment]
    HttpCompressionMiddleware._decode = staticmethod(scrapys_decoding)  # type: ignore[method-assign,assignment]
    return counts


if __name__ == "__main__":
    from linkback.crawl import run_crawl

    kwargs = json.loads(sys.argv[1])
    decodings = _count_decodings()
    summary = run_crawl(kwargs.pop("seeds"), **kwargs).as_dict()
    print(json.dumps({"summary": summary, "decodings": decodings}))


def test_a_stopped_crawls_file_is_measured_past_a_record_over_a_mebibyte(tmp_path: Path) -> None:
    # A member that ends inside the decompressor's unconsumed tail (a record over 1 MiB once
    # decompressed) made the catch-up of a stopped crawl spin for ever.
    from linkback.crawl._live import whole_members_end  # noqa: PLC0415

    big = gzip.compress(b"<p>the same paragraph of a long page</p>\n" * 75_000)
    small = gzip.compress(b"second record")
    path = tmp_path / "stopped.warc.gz"
    path.write_bytes(big + small + big[:100])  # the last record torn by the stop
    assert whole_members_end(path) == len(big) + len(small)
