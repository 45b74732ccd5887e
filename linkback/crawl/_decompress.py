"""Compressed responses decoded for the spider, cut at the crawl's size cap instead of dropped.

Scrapy's HttpCompressionMiddleware drops a response whose body decompresses past
``DOWNLOAD_MAXSIZE`` (a decompression bomb: 1 GB of zeros in 1 MB of gzip). By then the WARC
middleware (below it, :mod:`linkback.crawl._warc`) has archived the response and handed the
store its page, decoded up to the cap and marked truncated. :class:`CappedDecompressionMiddleware`
hands the spider that same cut body, flagged :data:`TRUNCATED`, so the crawl keeps the page as
archive and store do: fetched, partial (``too-big``), its links up to the cut followed.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.utils._compression import _DecompressionMaxSizeExceeded  # private: Scrapy is pinned to its minor

from linkback.sources._body import decode_payload

#: The flag of a response whose body was cut at ``DOWNLOAD_MAXSIZE`` while it was decompressed.
TRUNCATED = "truncated"


class CappedDecompressionMiddleware(HttpCompressionMiddleware):
    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if not isinstance(exc.__cause__, _DecompressionMaxSizeExceeded):
                raise
        max_size = request.meta.get("download_maxsize", self._max_size)
        encoding = b", ".join(response.headers.getlist("Content-Encoding")).decode("latin-1")
        # The same decoding the WARC middleware gave the store: the spider sees the page stored.
        body, _ = decode_payload(response.body, transfer_encoding=None, content_encoding=encoding, limit=max_size)
        headers = response.headers.copy()
        del headers["Content-Encoding"]
        cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
        kwargs: dict[str, Any] = {"encoding": None} if issubclass(cls, TextResponse) else {}
        return response.replace(cls=cls, body=body, headers=headers, flags=[*response.flags, TRUNCATED], **kwargs)
