"""The monitor's evidence: every response a check fetched, kept in WARC files (warcio).

Written as ``linkback crawl`` writes its files (:mod:`linkback.crawl._warc`): per fetch a
``response`` and a ``request`` record naming each other in ``WARC-Concurrent-To``, the response
with ``WARC-IP-Address``, every record its own gzip member, files readable by their owner only
and rotated once they pass ``max_bytes``. Each redirect hop is its own pair. A check row keeps
the file and the byte offset of its response record (``warc_path``, ``warc_offset``), where
``warcio`` or ``linkback ingest`` reads it.

The fetcher hands over decoded bodies (gzip undone) and does not report the bytes of its
request: ``Content-Encoding``, ``Transfer-Encoding`` and ``Content-Length`` are left out of the
stored response headers (warcio writes the length of what is stored), the request record is the
request as the fetcher builds it, and each file's ``warcinfo`` says so. A body cut at the size
limit is marked ``WARC-Truncated: length``.
"""

from __future__ import annotations

import io
import os
import threading
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import linkback
from linkback.fetch import DEFAULT_ACCEPT, FetchResult

NOT_WIRE = (
    "bodies as decoded by linkback's fetcher (Content-Encoding undone; Content-Encoding, Transfer-Encoding and "
    "Content-Length headers dropped); reason phrases are the standard ones; request records show the request as "
    "the fetcher builds it"
)
_DROPPED = frozenset({"content-encoding", "transfer-encoding", "content-length"})


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class CheckWarc:
    """WARC files under ``directory`` (created when the first record is written), thread-safe."""

    def __init__(
        self, directory: Path, *, prefix: str = "monitor", max_bytes: int = 10**9, user_agent: str = ""
    ) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.files: list[str] = []
        # Two runs in one second (or two processes) must not pick the same name.
        self._stamp = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
        self._serial = 0
        self._file: IO[bytes] | None = None
        self._writer: WARCWriter | None = None
        self._lock = threading.Lock()

    def write(self, result: FetchResult, ip: str) -> tuple[str, int]:
        """Store one fetch (its response and request records); the file and the offset of the
        response record."""
        with self._lock:
            writer, path = self._open()
            assert self._file is not None
            offset = self._file.tell()
            request_id, response_id = f"<urn:uuid:{uuid.uuid4()}>", f"<urn:uuid:{uuid.uuid4()}>"
            headers = [(k, v) for k, v in result.headers if k.lower() not in _DROPPED]
            http = StatusAndHeaders(f"{result.status} {_reason(result.status)}".strip(), headers, protocol="HTTP/1.1")
            warc_headers = {
                "WARC-Record-ID": response_id,
                "WARC-Concurrent-To": request_id,
                "WARC-Date": _warc_date(result.fetched_at),
            }
            if ip:
                warc_headers["WARC-IP-Address"] = ip
            if result.truncated:
                warc_headers["WARC-Truncated"] = "length"
            record = writer.create_warc_record(
                result.final_url,
                "response",
                payload=io.BytesIO(result.body),
                length=len(result.body),  # known: warcio would otherwise spool the body to a temporary file
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
            writer.write_record(record)
            writer.write_record(self._request(writer, result, request_id, response_id))
            self._file.flush()
            if self._file.tell() >= self.max_bytes:
                self._close_file()
            return path, offset

    def _request(self, writer: WARCWriter, result: FetchResult, request_id: str, response_id: str) -> Any:
        url = result.final_url
        rest = url.split("://", 1)[-1]
        slash = rest.find("/")
        host, target = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
        headers = [("Host", host), ("User-Agent", self.user_agent), ("Accept", DEFAULT_ACCEPT)]
        headers.append(("Accept-Encoding", "gzip, deflate"))
        http = StatusAndHeaders(f"GET {target} HTTP/1.1", headers, is_http_request=True)
        return writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=http,
            warc_headers_dict={
                "WARC-Record-ID": request_id,
                "WARC-Concurrent-To": response_id,
                "WARC-Date": _warc_date(result.fetched_at),
            },
        )

    def _open(self) -> tuple[WARCWriter, str]:
        if self._writer is not None:
            return self._writer, self.files[-1]
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._serial += 1
        path = self.directory / f"{self.prefix}-{self._stamp}-{self._serial:05d}.warc.gz"
        # The evidence is the user's: readable by its owner only, like the database.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._writer = WARCWriter(self._file, gzip=True, warc_version="1.1")
        info = {
            "software": f"linkback/{linkback.__version__} (monitor)",
            "format": "WARC File Format 1.1",
            "http-header-note": NOT_WIRE,
        }
        self._writer.write_record(self._writer.create_warcinfo_record(path.name, info))
        self.files.append(str(path))
        return self._writer, str(path)

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None

    def close(self) -> None:
        with self._lock:
            self._close_file()


def _warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
