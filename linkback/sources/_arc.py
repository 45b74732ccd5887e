"""ARC (the Internet Archive's pre-WARC format) via warcio, which converts each record to WARC."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from ..records import FetchedPage
from ._body import decode_payload
from ._dates import parse_lenient

if TYPE_CHECKING:
    from .warc import ReadStats

_READ_ERRORS = (ArchiveLoadFailed, OSError, EOFError, ValueError, zlib.error)


def iter_arc(source: str, *, stats: ReadStats, max_body_bytes: int) -> Iterator[FetchedPage]:
    """Pages from an ARC file (plain or gzipped per record). Damage stops the file: warcio
    cannot resynchronise inside ARC, so the rest is counted as ``arc_unreadable``."""
    from .warc import MAX_URL_CHARS, UNREAD_REST  # noqa: PLC0415

    with open(source, "rb") as fh:
        it = ArchiveIterator(fh, arc2warc=True)
        offset = 0
        try:
            for record in it:
                stats.records += 1
                if record.rec_type != "response":
                    stats.skipped[record.rec_type or "unknown"] += 1
                    continue
                uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip()
                http = record.http_headers
                if uri.startswith("dns:"):
                    stats.skipped["dns"] += 1
                    continue
                if not uri:
                    stats.skipped["no_target_uri"] += 1
                    continue
                if len(uri) > MAX_URL_CHARS:
                    stats.skipped["url_too_long"] += 1
                    continue
                try:
                    status = int(http.get_statuscode()) if http is not None else 0
                except (TypeError, ValueError):
                    status = 0
                if not 100 <= status <= 999:
                    stats.skipped["bad_http_headers"] += 1
                    continue
                raw = record.raw_stream.read(max_body_bytes + 1)
                missing = getattr(record.raw_stream, "limit", 0) if len(raw) <= max_body_bytes else 0
                offset = it.get_record_offset()  # reads the rest of the record: only after the body
                if missing > 0:
                    stats.error(
                        "truncated_record",
                        f"record cut short: {missing} bytes of its block are missing",
                        path=source,
                        offset=offset,
                    )
                    continue
                notes = []
                if len(raw) > max_body_bytes:
                    raw = raw[:max_body_bytes]
                    notes.append("body_truncated")
                headers = tuple((k, v) for k, v in http.headers)
                body, more = decode_payload(
                    raw,
                    transfer_encoding=http.get_header("Transfer-Encoding"),
                    content_encoding=http.get_header("Content-Encoding"),
                    limit=max_body_bytes,
                )
                notes += [n for n in more if n not in notes]
                fetched_at = parse_lenient(record.rec_headers.get_header("WARC-Date"))
                if fetched_at is None:
                    stats.skipped["no_date"] += 1
                    continue
                for note in notes:
                    stats.skipped[note] += 1
                stats.responses += 1
                yield FetchedPage(
                    url=uri,
                    status=status,
                    headers=headers,
                    body=body,
                    fetched_at=fetched_at,
                    final_url=uri,
                    via="warc",
                    record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
                    source=source,
                    offset=offset,
                )
        except _READ_ERRORS as exc:
            stats.error(
                "arc_unreadable", f"ARC record unreadable ({exc}); rest of file skipped", path=source, offset=offset
            )
            stats.skipped[UNREAD_REST] += 1
