"""ARC (the Internet Archive's pre-WARC format) via warcio, which converts each record to WARC.

An uncompressed ARC file is framed here, not by warcio: each record is a header line
(``URL IP-address Archive-date Content-type Archive-length``), ``Archive-length`` bytes and a
newline. A record's length is believed only when it ends at the next record's header line (or at
the end of the file): a length that is too long would otherwise swallow the records after it
(their links stored as the lying record's), one too short would stop the file. Such a record is
skipped as ``bad_content_length`` and reading goes on at the next line that parses as an ARC
header, as the WARC reader does with the next ``WARC/`` line. warcio then parses each record
that frames right from its own offset.

An uncompressed file is read by position (``pread``, through
:class:`~linkback.sources._recovery.FileBytes`) a chunk at a time, not mapped: a file cut short
while it is read (a download overwritten, a disk filling) makes a mapped page past its new end a
SIGBUS, which kills the process where Python cannot catch it. Read by position, the cut is the
end of the file: the record it falls in is counted as damage and reading ends there. A line
longer than :data:`_LINE_SPAN` is never taken for a header line, so that finding one never needs
more of the file than that at a time.

A file gzipped record by record is read by warcio's iterator: each record ends with its gzip
member, so a wrong length cannot run into the next; damage there stops the file
(``arc_unreadable``, the rest counted as :data:`~linkback.sources.warc.UNREAD_REST`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Generator, Iterator
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
#: A longer line (its newline counted) is not taken for a header line: room for the URL's
#: MAX_HEADER_LINE and as much again for the scheme and the other four fields, which writers
#: keep to a few dozen bytes. The regexes above do not bound those fields; this does, so that a
#: line is judged from a bounded piece of the file.
_LINE_SPAN = 2 * MAX_HEADER_LINE
#: Bytes read from the file at a time. From 16 KiB to 1 MiB the framing is as fast: its time goes
#: to Python, not to reading.
_CHUNK = 64 * 1024
_BLANK = b"\r\n"
_NOT_BLANK = re.compile(rb"[^\r\n]")
_PADDING = b"\r\n\t \x00"


class _Window:
    """The bytes of a plain ARC file near one position: a chunk read with one ``pread`` through
    :class:`~linkback.sources._recovery.FileBytes`, which the framing looks at byte by byte and
    runs its regexes over (on the file itself each byte would be a system call). Its length is
    the file's; a chunk read before the file was cut short is cut at the new end once a read has
    found it."""

    __slots__ = ("_file", "_size", "_buf", "_base")

    def __init__(self, file: rec_.FileBytes) -> None:
        self._file = file
        self._size = len(file)  # changes only with a read, and the reads are all here
        self._buf = b""
        self._base = 0

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice) -> bytes:
        buf, i = self.at(key.start, key.stop - key.start)
        return buf[i : i + key.stop - key.start]

    def at(self, pos: int, need: int) -> tuple[bytes, int]:
        """A chunk and the index of ``pos`` in it. The chunk holds the byte before ``pos``, so
        that ``(?m)^`` matches at ``pos`` only where a line really starts, and ``need`` bytes
        from ``pos`` on, fewer only where the file ends first."""
        i = pos - self._base
        buf = self._buf
        if i < 0 or (i == 0 and pos > 0) or (i + need > len(buf) and self._base + len(buf) < self._size):
            start = max(pos - 1, 0)
            self._buf = self._file[start : start + max(need + 1, _CHUNK)]
            self._base = start
            if len(self._file) < self._size:  # cut short since it was opened: older chunks end here too
                self._size = len(self._file)
            return self._buf, pos - start
        if self._base + len(buf) > self._size:
            self._buf = buf = buf[: max(self._size - self._base, 0)]
        return buf, i

    def reaches_end(self) -> bool:
        """Whether the chunk :meth:`at` gave last holds the end of the file."""
        return self._base + len(self._buf) >= self._size


def next_header(w: _Window, after: int) -> int:
    """Offset of the next line at or after ``after`` that parses as an ARC header line, or -1;
    the file is searched a chunk at a time."""
    pos, need = after, 1  # the chunk at hand first: the next header is most often in it
    while True:
        buf, i = w.at(pos, need)
        # A match ends at its line's newline, so it is whole, and so are the lines before it.
        for m in _HEADER_LINE.finditer(buf, i):
            if m.end() - m.start() <= _LINE_SPAN:
                return pos - i + m.start()
        if w.reaches_end():
            return -1
        # The chunk's last line may run on past it: searched again with the next chunk, from its
        # start, unless it is already too long to be a header.
        nl = buf.rfind(b"\n", max(i - 1, 0))
        if nl >= 0:
            last = nl + 1
        else:
            last = 0 if pos == 0 else len(buf)  # no line starts in the chunk, but for the file's first
        if len(buf) - last >= _LINE_SPAN:
            last = len(buf)
        pos += last - i
        # Enough that the line left over starts past ``pos``: each chunk gets further.
        need = _CHUNK + _LINE_SPAN


def _header_at(w: _Window, pos: int) -> tuple[int, int] | None:
    """(offset just past it, the length it declares) if an ARC header line starts at ``pos``."""
    buf, i = w.at(pos, 1)
    # The regex stops at the line's newline: the chunk need hold no more of the file than that.
    if buf.find(b"\n", i, i + _LINE_SPAN) < 0:
        buf, i = w.at(pos, _LINE_SPAN)
    m = _HEADER_HERE.match(buf, i, i + _LINE_SPAN)
    return None if m is None else (pos - i + m.end(), int(m.group(1)))


def _is_blank(w: _Window, pos: int) -> bool:
    buf, i = w.at(pos, 1)
    return i < len(buf) and buf[i] in _BLANK


def _skip_blank(w: _Window, pos: int) -> int:
    while True:
        buf, i = w.at(pos, 1)
        if i >= len(buf):
            return pos
        m = _NOT_BLANK.search(buf, i)
        if m is not None:
            return pos + m.start() - i
        pos += len(buf) - i


def iter_arc(source: str, *, stats: ReadStats, max_body_bytes: int) -> Iterator[FetchedPage]:
    """Pages from an ARC file (plain or gzipped per record); see the module docstring for how
    damage is found and skipped."""
    with open(source, "rb") as fh:
        if fh.read(2) == rec_.GZIP_MAGIC[:2]:
            fh.seek(0)
            yield from _iter_gzipped(fh, source, stats, max_body_bytes)
            return
        yield from _iter_plain(fh, _Window(rec_.FileBytes(fh.fileno())), source, stats, max_body_bytes)


def _iter_plain(fh, w: _Window, source: str, stats: ReadStats, max_body_bytes: int) -> Iterator[FetchedPage]:
    pos = _skip_blank(w, 0)
    while pos < len(w):
        size = len(w)  # now: a read may have found the file cut short since the last record
        head = _header_at(w, pos)
        if head is None:
            nxt = next_header(w, pos + 1)
            _count_garbage(w, pos, nxt, stats, source, "that are not an ARC record")
            if nxt < 0:
                return
            pos = nxt
            continue
        stats.records += 1
        line_end, length = head
        end = line_end + length
        after = _skip_blank(w, end)
        ends_well = end <= size and (end == size or _is_blank(w, end))
        framed = _framed_end(w, end, after, ends_well)
        if framed >= 0:
            if not (yield from _read_one(fh, pos, source, stats, max_body_bytes)):
                return
            pos = framed
            continue
        nxt = next_header(w, line_end)
        if nxt < 0 and end > size:
            pass  # the file ends inside the record: warcio's short read says how much is missing
        elif nxt < 0 and not ends_well:
            stats.error("bad_content_length", f"ARC record's length ({length:,}) does not end where the "
                        "record does, and no ARC record follows; record skipped", path=source,
                        offset=pos)  # fmt: skip
            return
        elif nxt < 0 or (ends_well and nxt >= after):
            # Its length holds: what follows it is not a record.
            if not (yield from _read_one(fh, pos, source, stats, max_body_bytes)):
                return
            _count_garbage(w, after, nxt, stats, source, "after an ARC record")
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
        if not (yield from _read_one(fh, pos, source, stats, max_body_bytes)):
            return
        pos = after


def _framed_end(w: _Window, end: int, after: int, ends_well: bool) -> int:
    """Where the next record starts when a record's length frames it exactly, else -1: its body
    ends with a newline and the next header (or the end of the file) follows the blank lines; or
    the next header starts right at its end (the length counted the newline after the body, or
    the writer put none there: warcio reads both)."""
    size = len(w)
    if ends_well and (after >= size or _header_at(w, after)):
        return after
    if end < size and _header_at(w, end):
        return end
    return -1


def _count_garbage(w: _Window, start: int, nxt: int, stats: ReadStats, source: str, what: str) -> None:
    """Count the bytes from ``start`` to the next header ``nxt`` (-1: the end) as garbage, unless
    they are padding only (looked at in their first 64 KiB: the rest of a huge file is not copied)."""
    upto = nxt if nxt >= 0 else len(w)
    if upto - start > 65536 or w[start:upto].strip(_PADDING):
        stats.error("garbage_bytes", f"{upto - start} bytes {what} skipped", path=source, offset=start)


def _read_one(
    fh, offset: int, source: str, stats: ReadStats, max_body_bytes: int
) -> Generator[FetchedPage, None, bool]:
    """The record at ``offset`` of a plain ARC file, which warcio parses from there. False if
    the file ends before it: it was cut short after the framing read that part of it (from a
    chunk read before the cut), and it ends there now."""
    fh.seek(offset)
    it = ArchiveIterator(fh, arc2warc=True)
    try:
        record = next(iter(it))
        page = _page(record, source, lambda: offset, stats, max_body_bytes)
    except StopIteration:
        stats.records -= 1  # counted when its header line was framed, but it is not in the file now
        return False
    except _READ_ERRORS as exc:
        stats.error("arc_unreadable", f"ARC record unreadable ({exc}); record skipped", path=source, offset=offset)
        return True
    finally:
        it.close()
    if page is not None:
        yield page
    return True


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
