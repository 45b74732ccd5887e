"""ARC (the Internet Archive's pre-WARC format) via warcio, which converts each record to WARC.

An uncompressed ARC file is framed here, not by warcio: each record is a header line
(``URL IP-address Archive-date Content-type Archive-length``), ``Archive-length`` bytes and a
newline. A record's length is believed only when it ends at the next record's header line (or at
the end of the file): a length that is too long would otherwise swallow the records after it
(their links stored as the lying record's), one too short would stop the file. Such a record is
skipped as ``bad_content_length`` and reading goes on at the next line that parses as an ARC
header, as the WARC reader does with the next ``WARC/`` line. warcio then parses each record
that frames right from its own offset.

A file gzipped record by record is read by warcio's iterator: each record ends with its gzip
member, so a wrong length cannot run into the next; damage there stops the file
(``arc_unreadable``, the rest counted as :data:`~linkback.sources.warc.UNREAD_REST`).
"""

from __future__ import annotations

import mmap
import re
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from ..records import FetchedPage
from . import _recovery as rec_
from ._body import decode_payload, partial_body
from ._dates import parse_lenient

if TYPE_CHECKING:
    from .warc import ReadStats

_READ_ERRORS = (ArchiveLoadFailed, OSError, EOFError, ValueError, zlib.error)

#: Longer ARC header lines are not taken as one (an URL is skipped past 32 KiB anyway).
MAX_HEADER_LINE = 64 * 1024
#: An ARC version-1 header line: URL (which warcio lets hold spaces), IP address, 8-17 digit
#: date, content type, length; the same split as warcio's (the last four fields by spaces).
_HEADER = rb"[A-Za-z][A-Za-z0-9+.\-]*:[^\n]{0,%d} \S+ \d{8,17} \S+ (\d{1,18})\r?\n" % MAX_HEADER_LINE
_HEADER_HERE = re.compile(_HEADER)
_HEADER_LINE = re.compile(rb"(?m)^" + _HEADER)
_BLANK = b"\r\n"
_PADDING = b"\r\n\t \x00"


def next_header(mm, after: int) -> int:
    """Offset of the next line at or after ``after`` that parses as an ARC header line, or -1."""
    m = _HEADER_LINE.search(mm, after)
    return m.start() if m else -1


def _skip_blank(mm, pos: int) -> int:
    size = len(mm)
    while pos < size and mm[pos] in _BLANK:
        pos += 1
    return pos


def iter_arc(source: str, *, stats: ReadStats, max_body_bytes: int) -> Iterator[FetchedPage]:
    """Pages from an ARC file (plain or gzipped per record); see the module docstring for how
    damage is found and skipped."""
    with open(source, "rb") as fh:
        if fh.read(2) == rec_.GZIP_MAGIC[:2]:
            fh.seek(0)
            yield from _iter_gzipped(fh, source, stats, max_body_bytes)
            return
        if fh.seek(0, 2) == 0:
            return
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield from _iter_plain(fh, mm, source, stats, max_body_bytes)
        finally:
            mm.close()


def _iter_plain(fh, mm, source: str, stats: ReadStats, max_body_bytes: int) -> Iterator[FetchedPage]:
    size = len(mm)
    pos = _skip_blank(mm, 0)
    while pos < size:
        m = _HEADER_HERE.match(mm, pos)
        if m is None:
            nxt = next_header(mm, pos + 1)
            _count_garbage(mm, pos, nxt, stats, source, "that are not an ARC record")
            if nxt < 0:
                return
            pos = nxt
            continue
        stats.records += 1
        length = int(m.group(1))
        end = m.end() + length
        after = _skip_blank(mm, end)
        ends_well = end <= size and (end == size or mm[end] in _BLANK)
        framed = _framed_end(mm, end, after, ends_well)
        if framed >= 0:
            yield from _read_one(fh, pos, source, stats, max_body_bytes)
            pos = framed
            continue
        nxt = next_header(mm, m.end())
        if nxt < 0 and end > size:
            pass  # the file ends inside the record: warcio's short read says how much is missing
        elif nxt < 0 and not ends_well:
            stats.error("bad_content_length", f"ARC record's length ({length:,}) does not end where the "
                        "record does, and no ARC record follows; record skipped", path=source,
                        offset=pos)  # fmt: skip
            return
        elif nxt < 0 or (ends_well and nxt >= after):
            # Its length holds: what follows it is not a record.
            yield from _read_one(fh, pos, source, stats, max_body_bytes)
            _count_garbage(mm, after, nxt, stats, source, "after an ARC record")
            if nxt < 0:
                return
            pos = nxt
            continue
        else:
            where = f"runs {end - size:,} bytes past the end of the file" if end > size else (
                "does not end at the next record's header line")  # fmt: skip
            stats.error("bad_content_length", f"ARC record's length ({length:,}) {where}; record skipped, "
                        f"reading goes on at byte {nxt}", path=source, offset=pos)  # fmt: skip
            pos = nxt
            continue
        yield from _read_one(fh, pos, source, stats, max_body_bytes)
        pos = after


def _framed_end(mm, end: int, after: int, ends_well: bool) -> int:  # noqa: ANN001
    """Where the next record starts when a record's length frames it exactly, else -1: its body
    ends with a newline and the next header (or the end of the file) follows the blank lines; or
    the next header starts right at its end (the length counted the newline after the body, or
    the writer put none there: warcio reads both)."""
    size = len(mm)
    if ends_well and (after >= size or _HEADER_HERE.match(mm, after)):
        return after
    if end < size and _HEADER_HERE.match(mm, end):
        return end
    return -1


def _count_garbage(mm, start: int, nxt: int, stats: ReadStats, source: str, what: str) -> None:  # noqa: ANN001
    """Count the bytes from ``start`` to the next header ``nxt`` (-1: the end) as garbage, unless
    they are padding only (looked at in their first 64 KiB: the rest of a huge file is not copied)."""
    upto = nxt if nxt >= 0 else len(mm)
    if upto - start > 65536 or bytes(mm[start:upto]).strip(_PADDING):
        stats.error("garbage_bytes", f"{upto - start} bytes {what} skipped", path=source, offset=start)


def _read_one(fh, offset: int, source: str, stats: ReadStats, max_body_bytes: int) -> Iterator[FetchedPage]:
    """The record at ``offset`` of a plain ARC file, which warcio parses from there."""
    fh.seek(offset)
    it = ArchiveIterator(fh, arc2warc=True)
    try:
        record = next(iter(it))
        page = _page(record, source, lambda: offset, stats, max_body_bytes)
    except StopIteration:
        return
    except _READ_ERRORS as exc:
        stats.error("arc_unreadable", f"ARC record unreadable ({exc}); record skipped", path=source, offset=offset)
        return
    finally:
        it.close()
    if page is not None:
        yield page


def _iter_gzipped(fh, source: str, stats: ReadStats, max_body_bytes: int) -> Iterator[FetchedPage]:
    from .warc import UNREAD_REST  # noqa: PLC0415

    it = ArchiveIterator(fh, arc2warc=True)
    offset = 0
    try:
        for record in it:
            stats.records += 1

            def offset_of() -> int:
                nonlocal offset
                offset = it.get_record_offset()  # reads the rest of the record: only after the body
                return offset

            page = _page(record, source, offset_of, stats, max_body_bytes)
            if page is not None:
                yield page
    except _READ_ERRORS as exc:
        stats.error(
            "arc_unreadable", f"ARC record unreadable ({exc}); rest of file skipped", path=source, offset=offset
        )
        stats.skipped[UNREAD_REST] += 1


def _page(
    record, source: str, offset_of: Callable[[], int], stats: ReadStats, max_body_bytes: int
) -> FetchedPage | None:
    """The page of one (converted) ARC record; None when it is counted as skipped."""
    from .warc import MAX_URL_CHARS  # noqa: PLC0415

    if record.rec_type != "response":
        stats.skipped[record.rec_type or "unknown"] += 1
        return None
    uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip()
    http = record.http_headers
    if uri.startswith("dns:"):
        stats.skipped["dns"] += 1
        return None
    if not uri:
        stats.skipped["no_target_uri"] += 1
        return None
    if len(uri) > MAX_URL_CHARS:
        stats.skipped["url_too_long"] += 1
        return None
    try:
        status = int(http.get_statuscode()) if http is not None else 0
    except (TypeError, ValueError):
        status = 0
    if not 100 <= status <= 999:
        stats.skipped["bad_http_headers"] += 1
        return None
    raw = record.raw_stream.read(max_body_bytes + 1)
    missing = getattr(record.raw_stream, "limit", 0) if len(raw) <= max_body_bytes else 0
    offset = offset_of()
    if missing > 0:
        stats.error(
            "truncated_record",
            f"record cut short: {missing} bytes of its block are missing",
            path=source,
            offset=offset,
        )
        return None
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
        return None
    for note in notes:
        stats.skipped[note] += 1
    stats.responses += 1
    return FetchedPage(
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
        truncated=partial_body(notes),
    )
