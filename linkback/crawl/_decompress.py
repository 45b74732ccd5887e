"""Compressed responses decoded once, for the store and the spider, cut at the crawl's size cap instead of dropped.

The WARC middleware (:mod:`linkback.crawl._warc`) archives a response as received and hands the
store its page, decoded up to ``DOWNLOAD_MAXSIZE`` by :func:`decoded_body`, which keeps what it
decoded with the response. :class:`CappedDecompressionMiddleware`, in the place of Scrapy's
HttpCompressionMiddleware, hands the spider that same body instead of decoding it again: a
decompression bomb (1 GB of zeros in 1 MB of gzip) costs one decoding up to the cap, not three.
Scrapy's middleware drops a body that decompresses past the cap; here it is cut there, flagged
:data:`TRUNCATED`, so the crawl keeps the page as archive and store do: fetched, partial
(``too-big``), its links up to the cut followed. A body our decoder cannot read (damaged, or a
coding it lacks), or one of several Content-Encoding headers, is left to Scrapy's, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.utils._compression import _DecompressionMaxSizeExceeded  # private: Scrapy is pinned to its minor

from linkback.sources._body import decode_payload

#: The flag of a response whose body was cut at ``DOWNLOAD_MAXSIZE`` while it was decompressed.
TRUNCATED = "truncated"
#: decode_payload's notes of a body it could not decode (kept raw).
_UNREAD = frozenset({"bad_content_encoding", "unsupported_content_encoding"})


@dataclass(frozen=True)
class DecodedBody:
    """A response's body with its Content-Encoding decoded, at most ``limit`` bytes, and the
    notes of :func:`~linkback.sources._body.decode_payload` on it."""

    body: bytes
    notes: tuple[str, ...]
    limit: int

    @property
    def readable(self) -> bool:
        return _UNREAD.isdisjoint(self.notes)

    @property
    def cut(self) -> bool:
        return "body_truncated" in self.notes


# Keyed by the response as downloaded: the entry goes with it (a redirect's, once followed).
_decoded: WeakKeyDictionary[Response, DecodedBody] = WeakKeyDictionary()


def content_encoding(response: Response) -> str | None:
    """The response's first Content-Encoding header, the one reading its WARC record back decodes."""
    values = response.headers.getlist("Content-Encoding")
    return values[0].decode("latin-1") if values else None


def decoded_body(response: Response, limit: int) -> DecodedBody:
    """``response``'s body decoded as reading its WARC record back decodes it, at most ``limit``
    bytes. A compressed body is decoded once: the result is kept with the response for the next
    stage that asks (with the same limit)."""
    kept = _decoded.get(response)
    if kept is not None and kept.limit == limit:
        return kept
    encoding = content_encoding(response)
    body, notes = decode_payload(response.body, transfer_encoding=None, content_encoding=encoding, limit=limit)
    decoded = DecodedBody(body, tuple(notes), limit)
    if encoding:
        _decoded[response] = decoded
    return decoded


def _decodes_once(response: Response) -> bool:
    """Is the body compressed, in codings of one Content-Encoding header (those the WARC reader
    decodes; a body with more than one such header is Scrapy's to decode, as before)?"""
    values = response.headers.getlist("Content-Encoding")
    return len(values) == 1 and any(c.strip().lower() not in (b"", b"identity") for c in values[0].split(b","))


class CappedDecompressionMiddleware(HttpCompressionMiddleware):
    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        max_size = request.meta.get("download_maxsize", self._max_size)
        if request.method != "HEAD" and max_size and _decodes_once(response):
            decoded = decoded_body(response, max_size)
            _decoded.pop(response, None)  # the spider's now: nothing decodes it again
            if decoded.readable:
                return _replaced(response, decoded.body, cut=decoded.cut)
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if not isinstance(exc.__cause__, _DecompressionMaxSizeExceeded):
                raise
        # Past the cap in Scrapy's decoder: the page cut there as the store has it, flagged.
        encoding = b", ".join(response.headers.getlist("Content-Encoding")).decode("latin-1")
        body, _ = decode_payload(response.body, transfer_encoding=None, content_encoding=encoding, limit=max_size)
        return _replaced(response, body, cut=True)


def _replaced(response: Response, body: bytes, *, cut: bool) -> Response:
    """``response`` with its body decoded (``cut``: at the size cap)."""
    headers = response.headers.copy()
    del headers["Content-Encoding"]
    cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
    kwargs: dict[str, Any] = {"encoding": None} if issubclass(cls, TextResponse) else {}
    if cut:
        kwargs["flags"] = [*response.flags, TRUNCATED]
    return response.replace(cls=cls, body=body, headers=headers, **kwargs)
