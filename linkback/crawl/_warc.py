"""WARC files of a crawl, written by a downloader middleware on warcio, and the pages they hold
handed to ingest as they are written.

:class:`WarcWriterMiddleware` sits at order 950, below every built-in middleware on the way
back, so it sees each response as downloaded: a redirect before RedirectMiddleware follows it
(each hop is its own pair of records), a gzip body before HttpCompressionMiddleware decodes it,
robots.txt too. Per fetch it writes a ``response`` and a ``request`` record, each naming the
other in ``WARC-Concurrent-To``, the response with ``WARC-IP-Address``; every record is its own
gzip member, and the file is flushed after each fetch (a ``kill -9`` loses no record it was
told of). Files are rotated once they pass ``LINKBACK_WARC_MAX_BYTES``.

A response whose payload has the digest of the URL's newest full response record, in this
crawl or an earlier crawl of the directory (:mod:`linkback.crawl._frontier`), is written as a
``revisit`` record (profile identical-payload-digest, ``WARC-Refers-To``,
``WARC-Refers-To-Target-URI``, ``WARC-Refers-To-Date``) with its HTTP headers and no payload.
linkback's own extension fields ``Linkback-Refers-To-File`` and ``Linkback-Refers-To-Offset``
name the file (in the same directory) and offset of the record it refers to, so that
``linkback ingest`` reads the revisit as a page again (:mod:`linkback.sources.warc`).

Each record written is also a :class:`~linkback.records.FetchedPage` (the same URL, date,
headers, decoded body, file and offset that reading the record back gives) handed to the
crawl's live ingest, so the store gets exactly what ingesting the files later would give.

Scrapy hands over parsed headers, not the bytes on the wire: repeated headers are all kept (in
the order received per name), the reason phrase is the standard one for the status, and
``Transfer-Encoding`` is left out because Twisted has already de-chunked the body. The
``warcinfo`` record of each file says so.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import linkback
from linkback.crawl._decompress import decoded_body
from linkback.crawl._frontier import Archived
from linkback.records import FetchedPage
from linkback.sources._body import partial_body
from linkback.sources.warc import RENDERED_STATUS

if TYPE_CHECKING:
    from linkback.crawl._live import CrawlContext

WARC_FILES = "warc/files"
NOT_WIRE = (
    "HTTP headers as parsed by Scrapy (all repeated headers kept), not the bytes on the wire; reason "
    "phrases are the standard ones; Transfer-Encoding dropped, bodies de-chunked, Content-Encoding kept"
)
#: linkback's fields on a revisit record: where the record it refers to is.
REFERS_TO_FILE = "Linkback-Refers-To-File"
REFERS_TO_OFFSET = "Linkback-Refers-To-Offset"


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


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest of ``body``, as warcio writes it.

    >>> payload_digest(b"hi")
    'sha1:YIVV7ELYGQTASQUNN5I3FRNPJQF542SC'
    """
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")  # noqa: S324 - WARC's digest


def record_id() -> str:
    """A new ``<urn:uuid:...>`` record id. From :mod:`random`, not ``uuid4()``: ids need to be
    unique, not secret, and ``os.urandom`` costs a system call (slow on some VMs) per record."""
    return f"<urn:uuid:{uuid.UUID(int=_random.getrandbits(128), version=4)}>"


_random = random.Random()


class _Counting:
    """A file that counts what is written to it: the offset of the next record, without a
    ``tell()`` (which flushes the buffer) per record."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.position = 0

    def write(self, data: bytes) -> int:
        self.position += len(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _bytes_record(writer: WARCWriter, uri: str, record_type: str, body: bytes, **fields: Any) -> Any:
    """A record of ``body`` with its length stated. Given no length, warcio copies the payload
    into temporary files and leaves one unclosed per record (a ResourceWarning each; past 512 KiB
    a file on disk held open until the record is collected)."""
    return writer.create_warc_record(uri, record_type, payload=io.BytesIO(body), length=len(body), **fields)


def warc_date(moment: datetime) -> str:
    """``2026-01-02T03:04:05.123456Z``: WARC 1.1 dates keep the microseconds, which the page's
    observation key (URL and fetch time) needs to tell two fetches in one second apart."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WarcWriterMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        from linkback.crawl._live import context_of  # noqa: PLC0415

        settings = crawler.settings
        self.directory = Path(settings["LINKBACK_WARC_DIR"])
        self.prefix = settings.get("LINKBACK_WARC_PREFIX", "linkback")
        self.max_bytes = settings.getint("LINKBACK_WARC_MAX_BYTES", 10**9)
        self.max_body = settings.getint("DOWNLOAD_MAXSIZE") or 10 * 2**20
        self.context: CrawlContext | None = context_of(settings)
        self.stats = crawler.stats
        self.stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.serial = 0
        self.file: _Counting | None = None
        self.path: Path | None = None
        self.records = 0  # in the open file
        self.writer: WARCWriter | None = None
        self.files: list[str] = []
        if self.context is not None:
            self.context.warc = self  # the spider writes rendered pages through it
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcWriterMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if "cached" not in response.flags:
            self._write_fetch(request, response)
        return response

    def _open(self) -> WARCWriter:
        if self.writer is not None:
            return self.writer
        self.serial += 1
        path = self.directory / f"{self.prefix}-{self.stamp}-{self.serial:05d}.warc.gz"
        while path.exists():  # a resumed crawl in the same second as the one it resumes
            self.stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + f"-{uuid.uuid4().hex[:6]}"
            path = self.directory / f"{self.prefix}-{self.stamp}-{self.serial:05d}.warc.gz"
        # The archive is the user's: readable by its owner only, like the database.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.file = _Counting(os.fdopen(fd, "wb", buffering=1 << 16))
        self.path = path
        self.records = 0
        self.writer = WARCWriter(self.file, gzip=True, warc_version="1.1")
        info = {"software": f"linkback/{linkback.__version__} (Scrapy)", "format": "WARC File Format 1.1"}
        info["http-header-note"] = NOT_WIRE
        self._write(self.writer.create_warcinfo_record(path.name, info))
        self.files.append(str(path))
        self._count()
        return self.writer

    def _write(self, record: Any) -> int:
        """Write ``record``; its offset in the file."""
        assert self.file is not None and self.writer is not None
        offset = self.file.position
        self.writer.write_record(record)
        self.records += 1
        return offset

    def _write_fetch(self, request: Request, response: Response) -> None:
        writer = self._open()
        assert self.path is not None and self.file is not None
        request_id, response_id = record_id(), record_id()
        fetched_at = datetime.now(UTC)
        status_line = f"{response.status} {_reason(response.status)}".strip()
        protocol = response.protocol or "HTTP/1.1"
        pairs = _header_pairs(response.headers, drop=("transfer-encoding",))
        http_headers = StatusAndHeaders(status_line, pairs, protocol=protocol)
        digest = payload_digest(response.body)
        warc_headers = {
            "WARC-Record-ID": response_id,
            "WARC-Concurrent-To": request_id,
            "WARC-Date": warc_date(fetched_at),
        }
        if response.ip_address is not None:
            warc_headers["WARC-IP-Address"] = str(response.ip_address)
        context = self.context
        earlier = context.archived.get(response.url) if context is not None else None
        if earlier is not None and earlier.digest == digest:
            warc_headers.update({
                "WARC-Refers-To": earlier.record_id,
                REFERS_TO_FILE: earlier.file,
                REFERS_TO_OFFSET: str(earlier.offset),
            })  # fmt: skip
            record = writer.create_revisit_record(
                response.url, digest, response.url, warc_date(earlier.date), http_headers, warc_headers
            )
            if self.stats is not None:
                self.stats.inc_value("warc/revisits")
        else:
            # Stated, it spares warcio hashing the body again (a revisit states its own: one only).
            warc_headers["WARC-Payload-Digest"] = digest
            record = _bytes_record(
                writer, response.url, "response", response.body, http_headers=http_headers,
                warc_headers_dict=warc_headers,
            )  # fmt: skip
            earlier = None
        offset = self._write(record)
        request.meta["warc_record_id"] = response_id  # for a rendering of it to refer to
        self._write(self._request_record(writer, request, request_id, response_id, protocol, fetched_at))
        self.file.flush()  # the records are the OS's before anything says the page was fetched
        if self.stats is not None:
            self.stats.inc_value("warc/records", 2)
        if context is not None:
            if earlier is None:
                archived = Archived(digest, response_id, fetched_at, self.path.name, offset)
                context.archived[response.url] = archived
                context.frontier.record(response.url, archived)
            context.page(self._page(response, pairs, fetched_at, response_id, offset))
        if self.file.position >= self.max_bytes:
            self.close()

    def write_rendered(self, url: str, status: int, html: str, refers_to: str, *, truncated: bool = False) -> None:
        """Archive a page as rendered (``--render``): a ``conversion`` record of its DOM, which
        refers to the response it was rendered from, and hand it to ingest as a page.
        ``truncated``: the renderer cut the DOM at its size limit; the record says so
        (``WARC-Truncated: length``), and the page is partial whether read now or from the file."""
        writer = self._open()
        assert self.path is not None and self.file is not None
        rendered_at = datetime.now(UTC)
        content_type = "text/html; charset=utf-8"
        body = html.encode("utf-8", "surrogatepass")
        headers = {"WARC-Record-ID": record_id(), "WARC-Date": warc_date(rendered_at), RENDERED_STATUS: str(status)}
        if refers_to:
            headers["WARC-Refers-To"] = refers_to
        if truncated:
            headers["WARC-Truncated"] = "length"
        record = _bytes_record(
            writer, url, "conversion", body, warc_content_type=content_type, warc_headers_dict=headers
        )
        offset = self._write(record)
        self.file.flush()
        if self.stats is not None:
            self.stats.inc_value("warc/records")
            self.stats.inc_value("render/pages")
        if self.context is not None:
            self.context.page(
                FetchedPage(
                    url=url, status=status, headers=(("Content-Type", content_type),), body=body,
                    fetched_at=rendered_at, final_url=url, via="crawl", record_id=headers["WARC-Record-ID"],
                    source=str(self.path), offset=offset, truncated=truncated,
                )
            )  # fmt: skip
        if self.file.position >= self.max_bytes:
            self.close()

    def _page(
        self, response: Response, pairs: list[tuple[str, str]], fetched_at: datetime, record_id: str, offset: int
    ) -> FetchedPage:
        """The page reading the record back gives (:func:`linkback.sources.warc.iter_archive`).

        Scrapy cancels a download past ``DOWNLOAD_MAXSIZE`` (it is never archived), so a record
        holds all the bytes sent; only decoding them can stop at the limit, here as when the
        record is read back: the page is then partial (``truncated``). The decoded body stays with
        the response: the spider reads it, not a second decoding (:mod:`linkback.crawl._decompress`)."""
        decoded = decoded_body(response, self.max_body)
        assert self.path is not None
        return FetchedPage(
            url=response.url,
            status=response.status,
            headers=tuple(pairs),
            body=decoded.body,
            fetched_at=fetched_at,
            final_url=response.url,
            via="crawl",
            record_id=record_id,
            source=str(self.path),
            offset=offset,
            truncated=partial_body(decoded.notes),
        )

    def _request_record(
        self,
        writer: WARCWriter,
        request: Request,
        request_id: str,
        response_id: str,
        protocol: str,
        fetched_at: datetime,
    ) -> Any:
        parts = urlparse_cached(request)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = _header_pairs(request.headers)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc))
        http_headers = StatusAndHeaders(f"{request.method} {target} {protocol}", headers, is_http_request=True)
        return _bytes_record(
            writer,
            request.url,
            "request",
            request.body,
            http_headers=http_headers,
            warc_headers_dict={
                "WARC-Record-ID": request_id,
                "WARC-Concurrent-To": response_id,
                "WARC-Date": warc_date(fetched_at),
            },
        )

    def close(self, *_: Any, **__: Any) -> None:
        if self.file is not None:
            self.file.close()
            if self.context is not None and self.path is not None:
                self.context.file_closed(self.path, self.records)
        self.file = self.writer = self.path = None
        self._count()

    def _count(self) -> None:
        if self.stats is not None:
            self.stats.set_value(WARC_FILES, list(self.files))
