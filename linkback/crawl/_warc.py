"""WARC files of a crawl, written by a downloader middleware on warcio.

:class:`WarcWriterMiddleware` sits at order 950, below every built-in middleware on the way
back, so it sees each response as downloaded: a redirect before RedirectMiddleware follows it
(each hop is its own pair of records), a gzip body before HttpCompressionMiddleware decodes it,
robots.txt too. Per fetch it writes a ``response`` and a ``request`` record, each naming the
other in ``WARC-Concurrent-To``, the response with ``WARC-IP-Address``; every record is its own
gzip member. Files are rotated once they pass ``LINKBACK_WARC_MAX_BYTES``.

Scrapy hands over parsed headers, not the bytes on the wire: repeated headers are all kept (in
the order received per name), the reason phrase is the standard one for the status, and
``Transfer-Encoding`` is left out because Twisted has already de-chunked the body. The
``warcinfo`` record of each file says so.
"""

from __future__ import annotations

import io
import os
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import linkback

WARC_FILES = "warc/files"
NOT_WIRE = (
    "HTTP headers as parsed by Scrapy (all repeated headers kept), not the bytes on the wire; reason "
    "phrases are the standard ones; Transfer-Encoding dropped, bodies de-chunked, Content-Encoding kept"
)


def _header_pairs(headers: Any, drop: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, values in headers.items():
        text = name.decode("latin-1")
        if text.lower() in drop:
            continue
        pairs.extend((text, value.decode("latin-1")) for value in values)
    return pairs


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class WarcWriterMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.directory = Path(settings["LINKBACK_WARC_DIR"])
        self.prefix = settings.get("LINKBACK_WARC_PREFIX", "linkback")
        self.max_bytes = settings.getint("LINKBACK_WARC_MAX_BYTES", 10**9)
        self.stats = crawler.stats
        self.stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.serial = 0
        self.file: IO[bytes] | None = None
        self.writer: WARCWriter | None = None
        self.files: list[str] = []
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcWriterMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if "cached" not in response.flags:
            self._write_pair(request, response)
        return response

    def _open(self) -> WARCWriter:
        if self.writer is not None:
            return self.writer
        self.serial += 1
        path = self.directory / f"{self.prefix}-{self.stamp}-{self.serial:05d}.warc.gz"
        # The archive is the user's: readable by its owner only, like the database.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.file = os.fdopen(fd, "wb")
        self.writer = WARCWriter(self.file, gzip=True, warc_version="1.1")
        info = {"software": f"linkback/{linkback.__version__} (Scrapy)", "format": "WARC File Format 1.1"}
        info["http-header-note"] = NOT_WIRE
        self.writer.write_record(self.writer.create_warcinfo_record(path.name, info))
        self.files.append(str(path))
        self._count()
        return self.writer

    def _write_pair(self, request: Request, response: Response) -> None:
        writer = self._open()
        request_id, response_id = f"<urn:uuid:{uuid.uuid4()}>", f"<urn:uuid:{uuid.uuid4()}>"
        status_line = f"{response.status} {_reason(response.status)}".strip()
        protocol = response.protocol or "HTTP/1.1"
        http_headers = StatusAndHeaders(
            status_line, _header_pairs(response.headers, drop=("transfer-encoding",)), protocol=protocol
        )
        warc_headers = {"WARC-Record-ID": response_id, "WARC-Concurrent-To": request_id}
        if response.ip_address is not None:
            warc_headers["WARC-IP-Address"] = str(response.ip_address)
        record = writer.create_warc_record(
            response.url,
            "response",
            payload=io.BytesIO(response.body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        writer.write_record(record)
        writer.write_record(self._request_record(writer, request, request_id, response_id, protocol))
        if self.stats is not None:
            self.stats.inc_value("warc/records", 2)
        assert self.file is not None
        if self.file.tell() >= self.max_bytes:
            self.close()

    def _request_record(
        self, writer: WARCWriter, request: Request, request_id: str, response_id: str, protocol: str
    ) -> Any:
        parts = urlparse_cached(request)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = _header_pairs(request.headers)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc))
        http_headers = StatusAndHeaders(f"{request.method} {target} {protocol}", headers, is_http_request=True)
        return writer.create_warc_record(
            request.url,
            "request",
            payload=io.BytesIO(request.body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Record-ID": request_id, "WARC-Concurrent-To": response_id},
        )

    def close(self, *_: Any, **__: Any) -> None:
        if self.file is not None:
            self.file.close()
        self.file = self.writer = None
        self._count()

    def _count(self) -> None:
        if self.stats is not None:
            self.stats.set_value(WARC_FILES, list(self.files))
