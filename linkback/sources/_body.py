"""HTTP payload decoding for archived responses: de-chunking and Content-Encoding, bounded.

Archives store the bytes as they came off the wire, but crawlers disagree about what "the wire" was:
some keep ``Transfer-Encoding: chunked`` framing and gzip bodies, some decode them and keep the
headers anyway. So every step here is defensive: a step that fails leaves the bytes as they were
and names what went wrong (the caller counts it), and no step ever produces more than ``limit``
bytes, so a decompression bomb costs at most ``limit`` bytes of memory.
"""

from __future__ import annotations

import sys
import zlib

try:  # brotli is optional: without it, "br" bodies are yielded raw and counted.
    import brotli as _brotli
except ImportError:  # pragma: no cover - exercised only where brotli is absent
    _brotli = None

try:  # zstd as Scrapy decodes it (Python 3.14's module, backported before): without it, like brotli.
    if sys.version_info >= (3, 14):
        from compression import zstd as _zstd
    else:
        from backports import zstd as _zstd
except ImportError:  # pragma: no cover - exercised only where neither is installed
    _zstd = None  # type: ignore[assignment]

__all__ = ["decode_payload", "dechunk"]

_DECODE_ERRORS: tuple[type[Exception], ...] = (
    (zlib.error,) + ((_brotli.error,) if _brotli else ()) + ((_zstd.ZstdError,) if _zstd else ())
)


def dechunk(data: bytes) -> bytes | None:
    """``data`` with HTTP/1.1 chunked framing removed, or None if it is not validly chunked.

    A body cut short (the archive's body limit, a clipped record) keeps the chunks that are
    there; trailers after the last chunk are dropped.
    """
    out = bytearray()
    pos = 0
    n = len(data)
    while pos < n:
        eol = data.find(b"\n", pos, pos + 1024)
        if eol < 0:
            # The size line itself was cut off: accept only if we have consumed something.
            return bytes(out) if out else None
        line = data[pos:eol].strip()
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or len(size_text) > 16:
            return None
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        if size < 0:
            return None
        pos = eol + 1
        if size == 0:
            return bytes(out)
        out += data[pos : pos + size]
        pos += size
        # Each chunk is followed by CRLF; tolerate a bare LF, and a cut-off tail.
        if data.startswith(b"\r\n", pos):
            pos += 2
        elif data.startswith(b"\n", pos):
            pos += 1
        elif pos < n:
            return None
    return bytes(out)


def _inflate(data: bytes, wbits: int, limit: int) -> tuple[bytes, bool]:
    """Decompress with zlib, at most ``limit`` bytes out; (output, was_cut). A gzip body of
    several members one after another (``cat a.gz b.gz``) is read to its last, as Scrapy's and
    Python's gzip readers read it; other bytes after a member end the body."""
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, limit + 1)
    while wbits > zlib.MAX_WBITS and d.eof and d.unused_data[:2] == b"\x1f\x8b" and len(out) <= limit:
        rest = d.unused_data
        d = zlib.decompressobj(wbits)
        try:
            out += d.decompress(rest, limit + 1 - len(out))
        except zlib.error:
            break  # a damaged member after whole ones: what came before stands
    if len(out) > limit:
        return out[:limit], True
    return out, False


def _unzstd(data: bytes, limit: int) -> tuple[bytes, bool]:
    """Decompress zstd frames one after another, at most ``limit`` bytes out; (output, was_cut).
    A frame cut short gives what it holds, as zlib gives of a cut gzip stream; bytes after a
    frame that are no frame end the body, as they do after a gzip stream."""
    assert _zstd is not None
    pieces: list[bytes] = []
    size = 0
    rest = data
    while rest:
        decompressor = _zstd.ZstdDecompressor()
        try:
            piece = decompressor.decompress(rest, limit + 1 - size)
        except _zstd.ZstdError:
            if not pieces:
                raise
            break
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            return b"".join(pieces)[:limit], True
        if not decompressor.eof:
            break
        rest = decompressor.unused_data
    return b"".join(pieces), False


def _decode_one(coding: str, data: bytes, limit: int) -> tuple[bytes, bool]:
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, 16 + zlib.MAX_WBITS, limit)
    if coding == "deflate":
        # RFC 9110 says zlib-wrapped; many servers send raw deflate.
        try:
            return _inflate(data, zlib.MAX_WBITS, limit)
        except zlib.error:
            return _inflate(data, -zlib.MAX_WBITS, limit)
    if coding == "br":
        if _brotli is None:
            raise LookupError("br")
        dec = _brotli.Decompressor()
        out = dec.process(data, output_buffer_limit=limit + 1)
        if len(out) > limit:
            return out[:limit], True
        return out, False
    if coding == "zstd":
        if _zstd is None:
            raise LookupError("zstd")
        return _unzstd(data, limit)
    raise LookupError(coding)


#: Notes of a page whose body is known to be only part of the response, or none of it readable
#: (compressed bytes that would not decompress, kept raw: extraction finds no link in them, and
#: every link of the page would read as removed). A body that only claimed to be chunked is the
#: whole page. ``warc_truncated`` is the WARC reader's note of a ``WARC-Truncated`` record.
PARTIAL_BODY = frozenset({"body_truncated", "warc_truncated", "bad_content_encoding", "unsupported_content_encoding"})


def partial_body(notes: list[str] | tuple[str, ...]) -> bool:
    """Do a page's reading ``notes`` say its body is not the whole page (``FetchedPage.truncated``)?
    Every reader of archived or fetched bodies asks this, so that each calls the same pages partial."""
    return not PARTIAL_BODY.isdisjoint(notes)


def decode_payload(
    raw: bytes,
    *,
    transfer_encoding: str | None,
    content_encoding: str | None,
    limit: int,
) -> tuple[bytes, list[str]]:
    """The entity body of an HTTP payload, and the names of the decoding steps that failed.

    ``raw`` is the payload as archived (after the HTTP headers). The result never exceeds
    ``limit`` bytes; ``"body_truncated"`` is among the notes when decoding had to stop there.
    Notes: ``bad_chunked_encoding`` (header says chunked, bytes are not: kept as they are),
    ``bad_content_encoding`` (decoding failed: raw bytes kept), ``unsupported_content_encoding``.
    """
    notes: list[str] = []
    body = raw
    if transfer_encoding and "chunked" in transfer_encoding.lower():
        plain = dechunk(body)
        if plain is None:
            notes.append("bad_chunked_encoding")
        else:
            body = plain
    if content_encoding:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        decoded = body
        cut = False
        try:
            for coding in reversed(codings):  # the last-applied coding is listed last
                decoded, step_cut = _decode_one(coding, decoded, limit)
                cut = cut or step_cut
        except LookupError:
            notes.append("unsupported_content_encoding")
        except _DECODE_ERRORS:
            notes.append("bad_content_encoding")
        else:
            body = decoded
            if cut:
                notes.append("body_truncated")
    if len(body) > limit:
        body = body[:limit]
        if "body_truncated" not in notes:
            notes.append("body_truncated")
    return body, notes
