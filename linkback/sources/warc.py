"""Read WARC and ARC files as a stream of :class:`~linkback.records.FetchedPage`.

One page per HTTP ``response`` record; every other record is counted in :class:`ReadStats` and
skipped. WARC (gzipped per record, gzipped whole, or plain) is read with FastWARC; ARC with
warcio, which converts ARC records on the fly. The format is told by magic bytes, not by name.

Damage policy. A damaged record is skipped and counted under a stable key, with a message naming
the file and byte offset in ``stats.errors``; the reader then finds the next readable record and
goes on: the next gzip member holding a WARC record (gzipped per record), the next line starting
``WARC/<digit>`` (plain WARC, and a file gzipped as one stream, which is then decompressed to a
temporary file to be searched; offsets after that point are in the decompressed data). A record
whose Content-Length runs past its own bytes (``bad_content_length``) is found before its block
is read, however large the length: it never swallows the records after it. A file that dies
midway (a truncated gzip member, a cut-off record) does **not** raise: everything before the
damage is yielded, the damage is counted, and the caller can move on to the next file. When the
reader has to give up before the end of the file, it counts :data:`UNREAD_REST` once
(``stats.read_to_end`` is then false): ingest must not record such a file as complete. Only a
file that is unusable as a whole raises: :class:`~linkback.errors.NotAnArchive` (not WARC/ARC at
all, or empty) and :class:`~linkback.errors.SourceError` (cannot be opened).

A ``revisit`` record that ``linkback crawl`` wrote (an unchanged payload: it names the file and
offset of the response it repeats) is a page again: its own URL, date and HTTP headers, the body
of that response; one that cannot be resolved so is skipped as ``revisit_unresolved``. Revisit
records of other producers are skipped as ``revisit``. A ``conversion`` record that
``linkback crawl --render`` wrote (field ``Linkback-Rendered-Status``) is the page as rendered in
headless Chromium: a page too, at its own date, whose body is the rendered DOM.

Skip keys (``stats.skipped``): record types ``warcinfo``, ``request``, ``metadata``, ``revisit``,
``conversion``, ``continuation``, ``unknown``; ``dns``, ``resource_not_http``,
``response_not_http``, ``no_target_uri``, ``url_too_long``, ``bad_http_headers``, ``no_date``;
damage: ``truncated_record``, ``truncated_gzip``, ``corrupt_gzip``, ``bad_content_length``,
``bad_warc_header``, ``garbage_bytes``, ``arc_unreadable``, ``not_an_archive``, ``unread_rest``
(not a record: the rest of the file from the offset in its message was not read). The keys in
:data:`YIELDED_ANYWAY` count pages that *were* yielded, with a caveat: ``body_truncated`` (body
cut at ``max_body_bytes``), ``bad_content_encoding`` (raw body kept), ``bad_chunked_encoding``,
``unsupported_content_encoding``, ``bad_date`` (date parsed leniently or taken from the warcinfo
record or HTTP ``Date``), ``non_utf8_headers`` (decoded as Latin-1), ``warc_truncated`` (the
producer set ``WARC-Truncated``).

Why records cut short by damage are dropped rather than yielded: nothing says where their block
ends, nor that what is there is the start of the page. A page whose body is known to be partial
(``body_truncated``, ``warc_truncated``, and a revisit of such a response) is yielded with
``FetchedPage.truncated`` set: its links are evidence that they were there, and the store does
not take the links it lacks as removed (:mod:`linkback.store._write`).
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, cast

from fastwarc.warc import ArchiveIterator, WarcRecordType

from ..errors import NotAnArchive, SourceError
from ..records import FetchedPage
from . import _recovery as rec_
from ._body import decode_payload, partial_body
from ._dates import parse_lenient, utc_or_none
from ._paths import ARCHIVE_SUFFIXES, iter_paths, sniff_archive

__all__ = [
    "UNREAD_REST",
    "RangeBounds",
    "ReadStats",
    "YIELDED_ANYWAY",
    "gzip_per_record",
    "http_status",
    "iter_archive",
    "iter_metadata_blocks",
    "iter_paths",
    "iter_record_offsets",
    "sniff_archive",
    "ARCHIVE_SUFFIXES",
]

#: Keys of ``ReadStats.skipped`` that count yielded pages with a caveat, not dropped records.
YIELDED_ANYWAY = frozenset(
    {
        "body_truncated",
        "bad_content_encoding",
        "bad_chunked_encoding",
        "unsupported_content_encoding",
        "bad_date",
        "non_utf8_headers",
        "warc_truncated",
    }
)
#: Counted once in ``ReadStats.skipped`` when the reader gave up before the end of a file.
UNREAD_REST = "unread_rest"
#: A file gzipped as one stream is decompressed to a temporary file to resynchronise after
#: damage; no more than this many times its own size (a gzip bomb must not fill the disk).
SPOOL_MAX_RATIO = 100
#: Longer WARC-Target-URIs are skipped as ``url_too_long``.
MAX_URL_CHARS = 32 * 1024
#: A WARC or HTTP header block longer than this is damage (FastWARC's default is 32 KiB).
MAX_HEADER_BYTES = 1 << 20

_TYPE_KEYS = {
    int(t): str(t)
    for t in (
        WarcRecordType.warcinfo,
        WarcRecordType.request,
        WarcRecordType.metadata,
        WarcRecordType.revisit,
        WarcRecordType.conversion,
        WarcRecordType.continuation,
        WarcRecordType.unknown,
    )
}


@dataclass
class RangeBounds:
    """Where the reader of a byte range began and where the next range's records begin."""

    #: Offset of the first record read (-1: the range holds none and the file ends in it).
    first: int = -1
    #: Offset of the first record at or after the range's end (-1: the file ended first, or
    #: the rest of it could not be read).
    next: int = -1


@dataclass
class ReadStats:
    """What reading one or more archives did. Pass the same instance to several files to sum them.

    ``records`` counts WARC/ARC records seen (any type), ``responses`` the pages yielded,
    ``bytes`` the input bytes (file sizes) read. ``errors`` holds one line per damage event:
    ``"<file> at byte <offset>: <what>"``.
    """

    records: int = 0
    responses: int = 0
    bytes: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: list[str] = field(default_factory=list)

    def error(self, key: str, message: str, *, path: str, offset: int) -> None:
        self.skipped[key] += 1
        self.errors.append(str(SourceError(message, path=path, offset=offset)))

    @property
    def read_to_end(self) -> bool:
        """False if a reader gave up before the end of a file (:data:`UNREAD_REST`)."""
        return not self.skipped[UNREAD_REST]


# --------------------------------------------------------------------------- the reader


def iter_archive(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    stats: ReadStats,
    max_body_bytes: int = 10 * 2**20,
    start: int = 0,
    end: int = -1,
    align: bool = False,
    bounds: RangeBounds | None = None,
) -> Iterator[FetchedPage]:
    """Yield one FetchedPage per HTTP response record of the WARC or ARC file at ``path``.

    Bodies are de-chunked and Content-Encoding-decoded, and cut at ``max_body_bytes`` (counted
    as ``body_truncated``; memory stays bounded by that limit). Everything else that is not a
    page, or is damaged, is counted in ``stats`` (see the module docstring for the keys).

    ``start``/``end`` read only the WARC records that begin in that byte range (``start`` must
    be a record offset, as :func:`iter_record_offsets` gives; ``end=-1``: to the end of the
    file). That is how ingest workers share one file. ARC files are always read whole.

    ``align=True`` takes ``start`` as any byte offset of a file gzipped per record (see
    :func:`gzip_per_record`): reading begins at the first gzip member at or after it that holds a
    WARC record, so a file can be cut in equal byte ranges without a pass over it first.
    ``bounds`` is filled in with where reading began and the offset of the first record past
    ``end``: a range was read as one reading of the whole file would read it when its ``first``
    is the previous range's ``next``.

    ``path`` may also be a binary file object (an open file, a download, a ``BytesIO``): a real
    file is read through its descriptor, anything else from a temporary copy (the reader needs
    to seek and read the bytes by position); its ``name``, if it has one, names it in messages.
    """
    if not isinstance(path, (str, os.PathLike)):
        with _file_path(path) as (opened, name):
            yield from _iter_path(opened, name, stats, max_body_bytes, start, end, align, bounds)
        return
    yield from _iter_path(os.fspath(path), os.fspath(path), stats, max_body_bytes, start, end, align, bounds)


@contextlib.contextmanager
def _file_path(fileobj: BinaryIO) -> Iterator[tuple[str, str]]:
    """(a path to open for ``fileobj``'s bytes, the name to give it in messages)."""
    name = getattr(fileobj, "name", None)
    label = name if isinstance(name, str) and name else "<file object>"
    try:
        fd = fileobj.fileno()
        regular = stat.S_ISREG(os.fstat(fd).st_mode) and os.path.exists(f"/dev/fd/{fd}")
    except (AttributeError, OSError, ValueError):
        regular = False
    if regular:
        yield f"/dev/fd/{fd}", label
        return
    with tempfile.NamedTemporaryFile(prefix="linkback-", suffix=".warc") as copy:
        shutil.copyfileobj(fileobj, copy, 4 * 2**20)
        copy.flush()
        yield copy.name, label


def _iter_path(
    source: str,
    label: str,
    stats: ReadStats,
    max_body_bytes: int,
    start: int,
    end: int,
    align: bool,
    bounds: RangeBounds | None,
) -> Iterator[FetchedPage]:
    try:
        kind = sniff_archive(source)
    except NotAnArchive as exc:
        if label != source:  # a file object: name it, not the descriptor it was read through
            exc = NotAnArchive(str(exc).removeprefix(f"{source} at byte 0: "), path=label, offset=0)
        stats.skipped["not_an_archive"] += 1
        stats.errors.append(str(exc))
        raise exc from None
    size = os.path.getsize(source)
    if kind == "arc":
        from ._arc import iter_arc  # noqa: PLC0415

        stats.bytes += size
        yield from iter_arc(source, stats=stats, max_body_bytes=max_body_bytes)
    else:
        stats.bytes += max((size if end < 0 else min(end, size)) - start, 0)
        reader = _WarcReader(source, stats, max_body_bytes, start=start, end=end, align=align)
        reader.source = label
        yield from reader.run()
        if bounds is not None:
            bounds.first, bounds.next = reader.first, reader.next


def gzip_per_record(path: str | os.PathLike[str], *, probe_bytes: int = 1 << 20) -> int:
    """Is the file a WARC gzipped record by record (as WARC writers do), so that it can be cut at
    any byte past its first gzip member and each reader find its first record itself
    (``iter_archive(align=True)``)? The end of that first member if so (true), else 0.

    Tells by its first gzip member: a WARC record that ends within ``probe_bytes`` and is
    followed by another member. A file gzipped as one stream, plain WARC and ARC are not. Cut
    only past the first member: FastWARC gives records that share it with another (a warcinfo
    and a response in one member) offsets that are not theirs.
    """
    with open(os.fspath(path), "rb") as fh:
        data = fh.read(probe_bytes)
    if not data.startswith(rec_.GZIP_MAGIC):
        return 0
    first = rec_.read_member(data, 0, head_len=64)
    if first.end is None or not rec_.is_warc_start(first.head) or not data.startswith(rec_.GZIP_MAGIC, first.end):
        return 0
    return first.end


def iter_record_offsets(path: str | os.PathLike[str]) -> Iterator[tuple[int, bool]]:
    """(byte offset, is a response) of each WARC record, read fast: headers only, no bodies.

    Stops quietly at the first damage (a wrong length, a cut gzip member...): the records from
    there on are for :func:`iter_archive`, which reads damaged files carefully and counts what
    it skips. Use the offsets to split a file between readers.
    """
    source = os.fspath(path)
    with open(source, "rb") as fh, open(source, "rb") as probe:
        gz = probe.read(2) == rec_.GZIP_MAGIC[:2]
        it = ArchiveIterator(
            fh, parse_http=False, quirks_mode=False, max_header_len=MAX_HEADER_BYTES, fsspec_args=False
        )
        last = -1
        try:
            for record in it:
                offset = record.stream_pos
                if offset <= last:
                    return
                if gz and offset:
                    # A reader can only start where a gzip member starts; a file gzipped as one
                    # stream has no such place after the first.
                    probe.seek(offset)
                    if probe.read(2) != rec_.GZIP_MAGIC[:2]:
                        return
                last = offset
                yield offset, record.record_type == WarcRecordType.response
        except OSError:
            return


class _OneStreamDamaged(Exception):
    """Damage in a file gzipped as one stream: go on in a decompressed copy."""


@dataclass(slots=True)
class _Pending:
    """A record read but not yet released: it is released once the next record's header parses
    (which proves this record's Content-Length was right), or dropped if it proves wrong."""

    offset: int
    page: FetchedPage | None
    reason: str = ""
    notes: tuple[str, ...] = ()
    declared_end: int = -1  # uncompressed files: where the block should end
    content_length: int = -1
    short: bool = False
    message: str = ""  # for damage reasons: what went wrong, for stats.errors
    resume: int = -1  # its length overruns it: reading goes on here, not where its length says
    replayed: bool = False  # read again after a switch to the decompressed copy: released before
    block: bytes | None = None  # a metadata record's block (iter_metadata_blocks), in place of a page

    def mark(self, key: str, message: str) -> None:
        self.reason, self.message = key, message


_THREE_DIGITS = re.compile(r"[1-9][0-9][0-9]")


def http_status(text: str) -> int | None:
    """An HTTP status as an archive writes it: three ASCII digits, 100-999; None for anything
    else (``2000``, ``２00``, 5,001 digits, whose int() raises an error naming a Python setting).

    >>> http_status("404"), http_status("0404"), http_status("2" * 5001)
    (404, None, None)
    """
    return int(text) if _THREE_DIGITS.fullmatch(text) else None


def _text(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("latin-1"), True


#: What of a warcinfo record's block is read to find its ``software`` field.
_WARCINFO_PEEK = 4096
#: The ``software`` of the WARC files ``linkback crawl`` writes (linkback.crawl._warc).
_CRAWLER_SOFTWARE = re.compile(rb"^software:\s*linkback/\S+ \(Scrapy\)\s*$", re.MULTILINE | re.IGNORECASE)


def _peek_block(record, declared: int) -> bytes:
    return record.reader.read(min(max(declared, 0), _WARCINFO_PEEK)) if record.reader is not None else b""


#: The field of a ``conversion`` record ``linkback crawl --render`` writes: the rendered page's
#: HTTP status. The record's block is the page's DOM as Chromium rendered it.
RENDERED_STATUS = "Linkback-Rendered-Status"


def _linkback_revisit(record) -> tuple[str, int, str] | None:
    """(file, offset, record id) of the response a revisit record ``linkback crawl`` wrote
    refers to (its fields ``Linkback-Refers-To-File`` and ``-Offset``; profile
    identical-payload-digest); None for any other revisit record, which is skipped."""
    profile = record.headers.get("WARC-Profile") or ""
    name = record.headers.get("Linkback-Refers-To-File")
    offset = record.headers.get("Linkback-Refers-To-Offset") or ""
    if not name or not offset.isdigit() or not profile.endswith("/revisit/identical-payload-digest"):
        return None
    return name, int(offset), record.headers.get("WARC-Refers-To") or ""


def via_of_warcinfo(block: bytes) -> str:
    r"""How pages of a file reached linkback, from its warcinfo block: ``crawl`` for a file
    ``linkback crawl`` wrote (the crawl is an archive the user keeps: ingesting it again later
    still says so), ``warc`` for any other archive.

    >>> via_of_warcinfo(b"software: linkback/0.1.0 (Scrapy)\r\nformat: WARC File Format 1.1\r\n")
    'crawl'
    >>> via_of_warcinfo(b"software: Heritrix/3.4.0 http://crawler.archive.org\r\n")
    'warc'
    """
    return "crawl" if _CRAWLER_SOFTWARE.search(block) else "warc"


def _no_date(record, pend: _Pending) -> _Pending:
    """``pend`` skipped as ``no_date``; said where when it had a WARC-Date that is none."""
    raw = record.headers.get("WARC-Date")
    if raw:
        pend.mark(
            "no_date", f"WARC-Date {raw[:64]!r} is not a date in years 1-9999 UTC, and no other date; record skipped"
        )
    else:
        pend.reason = "no_date"
    return pend


class _WarcReader:
    def __init__(
        self, source: str, stats: ReadStats, max_body: int, *, start: int = 0, end: int = -1, align: bool = False
    ) -> None:
        self.path = source  # what is opened
        self.source = source  # what messages and pages name (a file object's name)
        self.stats = stats
        self.max_body = max_body
        self.start = start
        self.end = end
        self.align = align
        self.first = -1  # where reading began
        self.next = -1  # the first record at or after ``end``
        self.warcinfo_date: datetime | None = None
        self.via = "warc"  # "crawl" when the file's warcinfo says linkback's crawler wrote it
        self.released = 0  # records released (yielded or counted), in order
        self.replay = 0  # reading a decompressed copy: this many records were released before
        self.decompressed = False  # offsets are in the decompressed data of a one-stream gzip

    # -- damage bookkeeping
    def _damage(self, key: str, message: str, offset: int) -> None:
        if self.decompressed:
            message += " (offset in the decompressed data)"
        self.stats.error(key, message, path=self.source, offset=offset)

    def _give_up(self, key: str, message: str, offset: int) -> None:
        """Count damage after which the rest of the file is not read."""
        self._damage(key, message, offset)
        self.stats.skipped[UNREAD_REST] += 1

    def _release(self, pending: _Pending | None) -> Iterator[FetchedPage]:
        if pending is None or pending.replayed:
            return
        self.released += 1
        if pending.reason:
            if pending.message:
                self._damage(pending.reason, pending.message, pending.offset)
            else:
                self.stats.skipped[pending.reason] += 1
            return
        for note in pending.notes:
            self.stats.skipped[note] += 1
        self.stats.responses += 1
        assert pending.page is not None
        yield pending.page

    # -- main loop
    def run(self) -> Iterator[FetchedPage]:
        with open(self.path, "rb") as fh:
            mm = rec_.FileBytes(fh.fileno())  # not an mmap: a file cut short under it would be a SIGBUS
            gz = mm[:2] == rec_.GZIP_MAGIC[:2]
            pos: int = self.start
            if self.align and pos > 0:
                pos = rec_.next_gzip_record(mm, pos) if gz else -1
                if pos < 0:
                    return
            self.first = pos
            if pos > 0:
                self.warcinfo_date, self.via = self._leading_warcinfo(fh)
            try:
                yield from self._loop(fh, mm, gz, pos)
            except _OneStreamDamaged:
                yield from self._read_decompressed(mm)

    def _loop(self, fh, mm, gz: bool, pos: int) -> Iterator[FetchedPage]:
        size = len(mm)
        end = self.end
        pending: _Pending | None = None
        counted = 0  # records read in this loop (a decompressed copy's replay included)
        while pos >= 0:
            # A file object, not the path: FastWARC picks the decompressor for a path by
            # its name, and we go by magic bytes. After damage it restarts at ``pos``.
            fh.seek(pos)
            it = ArchiveIterator(
                fh,
                parse_http=False,
                quirks_mode=False,
                max_header_len=MAX_HEADER_BYTES,
                fsspec_args=False,
            )
            past_end = False
            resume = -1
            try:
                for record in it:
                    if 0 <= end <= record.stream_pos:
                        past_end = True  # the next range's first record: not ours
                        self.next = record.stream_pos
                        break
                    counted += 1
                    replayed = counted <= self.replay
                    if not replayed:
                        self.stats.records += 1
                    yield from self._release(pending)
                    pending = self._read(record, mm, gz)
                    pending.replayed = replayed
                    if pending.resume >= 0:
                        # Its length runs into the records after it: read on from where it
                        # really ends, not from where FastWARC would.
                        resume = pending.resume
                        break
            except OSError as exc:
                self._one_stream_check(mm, gz, pending)
                new_pos, pending = self._resync(mm, gz, pos, pending, str(exc))
                yield from self._release(pending)
                pending = None
                if 0 <= new_pos <= pos:  # never loop on the same bytes
                    self._give_up("garbage_bytes", "cannot resynchronise; rest of file skipped", new_pos)
                    new_pos = -1
                pos = new_pos
                continue
            if past_end or resume >= 0:
                # The next record's header parsed, which proves the pending one whole.
                yield from self._release(pending)
                pending = None
                pos = resume if resume >= 0 else -1
                continue
            if pending is not None and pending.short:
                self._one_stream_check(mm, gz, pending)
            pending, pos = self._finish(mm, gz, size, pos, pending)
            yield from self._release(pending)
            pending = None

    # -- a file gzipped as one stream
    def _one_stream_check(self, mm, gz: bool, pending: _Pending | None) -> None:
        """Damage inside a file gzipped as one stream: FastWARC cannot be started anywhere but
        at its beginning, so the reading goes on in a decompressed copy (whole reads only)."""
        if not gz or pending is None or self.start > 0 or self.end >= 0 or self.replay:
            return
        first = rec_.read_member(mm, 0, head_len=0)  # one stream: the whole file, once
        if first.end is None:
            return  # cut or corrupt: counted as such where the reading ends
        if rec_.next_gzip_record(mm, first.end) >= 0:
            # Gzipped per record (garbage may follow the first member: it is skipped as such):
            # a record's own member tells where it ends.
            return
        self.stats.records -= 1  # the pending record is read again there
        raise _OneStreamDamaged

    def _read_decompressed(self, mm) -> Iterator[FetchedPage]:
        """Read the file again from a decompressed copy, as a plain WARC, skipping the records
        already released; damage in it is then found and skipped as in any plain WARC."""
        with tempfile.TemporaryFile(prefix="linkback-") as copy:
            problem = rec_.spool_gzip(mm, copy, max_bytes=SPOOL_MAX_RATIO * max(len(mm), 1 << 20))
            copy.flush()
            self.replay, self.decompressed = self.released, True
            if copy.tell():
                yield from self._loop(copy, rec_.FileBytes(copy.fileno()), False, 0)
        self.decompressed = False
        if problem is not None:
            key, message, offset = problem
            if key == "spool_limit":
                self._give_up("garbage_bytes", message, offset)
            else:
                self._damage(key, message, offset)

    def _leading_warcinfo(self, fh) -> tuple[datetime | None, str]:
        """The date of the file's warcinfo record (the fallback for records with a malformed
        WARC-Date) and the ``via`` it implies, for a reader that starts past it."""
        fh.seek(0)
        it = ArchiveIterator(fh, parse_http=False, max_header_len=MAX_HEADER_BYTES, fsspec_args=False)
        try:
            record = next(iter(it), None)
            if record is None or record.record_type != WarcRecordType.warcinfo:
                return None, "warc"
            via = via_of_warcinfo(_peek_block(record, record.content_length))
        except OSError:
            return None, "warc"
        return utc_or_none(record.record_date) or parse_lenient(record.headers.get("WARC-Date")), via

    # -- one record
    def _pending(self, record, mm, gz: bool) -> _Pending:
        """A record about to be read; marked ``bad_content_length`` (``resume`` set) if its
        length is already seen to run past its own bytes."""
        declared = record.content_length
        declared_end = -1
        if not gz:
            hend = rec_.header_end(mm, record.stream_pos)
            declared_end = hend + declared if hend >= 0 else len(mm) + 1  # no blank line: header cut off
        pend = _Pending(record.stream_pos, None, declared_end=declared_end, content_length=declared)
        self._overrun(mm, gz, pend, read=False)
        return pend

    def _read(self, record, mm, gz: bool) -> _Pending:
        offset = record.stream_pos
        rtype = record.record_type
        declared = record.content_length
        pend = self._pending(record, mm, gz)
        if pend.resume >= 0:
            return pend
        peeked = 0
        if rtype == WarcRecordType.warcinfo:
            self.warcinfo_date = utc_or_none(record.record_date) or parse_lenient(record.headers.get("WARC-Date"))
            try:
                head = _peek_block(record, declared)
            except OSError:
                head = b""
            peeked = len(head)
            self.via = via_of_warcinfo(head)
        if rtype == WarcRecordType.conversion and record.headers.get(RENDERED_STATUS):
            return self._read_rendered(record, mm, gz, pend)
        refers_to = _linkback_revisit(record) if rtype == WarcRecordType.revisit else None
        if rtype not in (WarcRecordType.response, WarcRecordType.resource) and refers_to is None:
            pend.reason = _TYPE_KEYS.get(int(rtype), "unknown")
            pend.short = self._drain(record, declared - peeked, pend)
            return self._checked(mm, gz, pend)
        uri_raw = (record.headers.get_bytes(b"WARC-Target-URI") or b"").strip()
        if uri_raw.startswith(b"<") and uri_raw.endswith(b">"):  # WARC/0.17-era producers (wget)
            uri_raw = uri_raw[1:-1]
        uri, uri_latin1 = _text(uri_raw)
        if uri.startswith("dns:"):
            pend.reason = "dns"
        elif not record.is_http:
            pend.reason = "resource_not_http" if rtype == WarcRecordType.resource else "response_not_http"
        elif not uri:
            pend.reason = "no_target_uri"
        elif len(uri) > MAX_URL_CHARS:
            pend.reason = "url_too_long"
        if pend.reason:
            pend.short = self._drain(record, declared, pend)
            return self._checked(mm, gz, pend)
        try:
            record.parse_http(quirks_mode=True, max_header_len=MAX_HEADER_BYTES)
        except OSError:
            pend.reason = "bad_http_headers"
            return pend
        http = record.http_headers
        status = http.status_code if http is not None else None
        line = http.status_line if http is not None else None
        if status is None or not line or not line.startswith("HTTP/") or not 100 <= status <= 999:
            pend.reason = "bad_http_headers"
            if line and line.startswith("HTTP/"):  # a response whose status is none (2000, 5,001 digits): say so
                shown = f"{line[:40]!r}" + (f" (of {len(line):,} characters)" if len(line) > 40 else "")
                pend.mark(
                    "bad_http_headers", f"HTTP status line {shown} has no 3-digit status (100-999); record skipped"
                )
            pend.short = self._drain(record, record.content_length, pend)
            return self._checked(mm, gz, pend)
        notes: list[str] = []
        headers = []
        bad_text = uri_latin1
        for k, v in http.items_bytes():
            ks, b1 = _text(k)
            vs, b2 = _text(v)
            bad_text = bad_text or b1 or b2
            headers.append((ks, vs))
        if bad_text:
            notes.append("non_utf8_headers")
        remaining = record.content_length
        # read(n) allocates n bytes up front: ask for no more than the record can hold
        raw = record.reader.read(min(remaining, self.max_body + 1))
        got = len(raw)
        if got > self.max_body:
            got += record.reader.consume()
            raw = raw[: self.max_body]
            notes.append("body_truncated")
        if got < remaining:
            pend.short = True
            pend.mark("truncated_record", f"record cut short: {remaining - got} bytes of its block are missing")
            return self._checked(mm, gz, pend)
        te = ce = None
        for k, v in headers:
            kl = k.lower()
            if kl == "transfer-encoding" and te is None:
                te = v
            elif kl == "content-encoding" and ce is None:
                ce = v
        if refers_to is not None:
            original = self._revisited(refers_to, uri)
            if original is None:
                pend.reason = "revisit_unresolved"
                return pend
            # The same payload as the response it repeats: cut where that one was cut.
            body, more = original.body, ["body_truncated"] if original.truncated else list[str]()
        else:
            body, more = decode_payload(raw, transfer_encoding=te, content_encoding=ce, limit=self.max_body)
        notes += [n for n in more if n not in notes]
        fetched_at, fallback = self._date(record)
        if fetched_at is None:
            return _no_date(record, pend)
        if fallback:
            notes.append("bad_date")
        if record.headers.get("WARC-Truncated"):
            notes.append("warc_truncated")
        pend.page = FetchedPage(
            url=uri,
            status=status,
            headers=tuple(headers),
            body=body,
            fetched_at=fetched_at,
            final_url=uri,
            via=self.via,
            record_id=record.record_id or "",
            source=self.source,
            offset=offset,
            truncated=partial_body(notes),
        )
        pend.notes = tuple(notes)
        return pend

    def _read_rendered(self, record, mm, gz: bool, pend: _Pending) -> _Pending:
        """A page as ``linkback crawl --render`` rendered it: its DOM, the conversion's block."""
        uri, _ = _text((record.headers.get_bytes(b"WARC-Target-URI") or b"").strip())
        status = record.headers.get(RENDERED_STATUS) or ""
        code = http_status(status)
        if not uri or len(uri) > MAX_URL_CHARS or code is None:
            pend.reason = "conversion"
            if code is None:
                pend.mark(
                    "conversion", f"{RENDERED_STATUS} {status[:40]!r} is not a 3-digit HTTP status; record skipped"
                )
            pend.short = self._drain(record, record.content_length, pend)
            return self._checked(mm, gz, pend)
        remaining = record.content_length
        raw = record.reader.read(min(remaining, self.max_body + 1))
        got, notes = len(raw), []
        if got > self.max_body:
            got += record.reader.consume()
            raw = raw[: self.max_body]
            notes.append("body_truncated")
        if got < remaining:
            pend.short = True
            pend.mark("truncated_record", f"record cut short: {remaining - got} bytes of its block are missing")
            return self._checked(mm, gz, pend)
        fetched_at = utc_or_none(record.record_date)
        if fetched_at is None:
            return _no_date(record, pend)
        if record.headers.get("WARC-Truncated"):  # the DOM cut at the renderer's size limit
            notes.append("warc_truncated")
        content_type = record.headers.get("Content-Type") or "text/html"
        pend.page = FetchedPage(
            url=uri,
            status=code,
            headers=(("Content-Type", content_type),),
            body=raw,
            fetched_at=fetched_at,
            final_url=uri,
            via=self.via,
            record_id=record.record_id or "",
            source=self.source,
            offset=pend.offset,
            truncated=partial_body(notes),
        )
        pend.notes = tuple(notes)
        return pend

    def _date(self, record) -> tuple[datetime | None, bool]:
        """The record's date in UTC, and whether it is a fallback (``bad_date``): its WARC-Date
        read leniently, the warcinfo record's, the HTTP ``Date``. A WARC-Date with no UTC instant
        (``0001-01-01T00:00:00+01:00`` is in year 0) is as bad as a malformed one."""
        got = utc_or_none(record.record_date)
        if got is not None:
            return got, False
        lenient = parse_lenient(record.headers.get_bytes(b"WARC-Date"))
        return lenient or self.warcinfo_date or utc_or_none(record.http_date), True

    def _revisited(self, refers_to: tuple[str, int, str], uri: str) -> FetchedPage | None:
        """The page of the record a linkback revisit refers to: in the file it names, in the
        same directory as this one; None if it cannot be read there."""
        name, offset, record_id = refers_to
        if not os.path.isabs(self.source) or os.sep in name or name in ("", ".", ".."):
            return None
        path = os.path.join(os.path.dirname(self.source), name)
        if not os.path.isfile(path):
            return None
        try:
            pages = iter_archive(path, stats=ReadStats(), max_body_bytes=self.max_body, start=offset, end=offset + 1)
            page = next(iter(pages), None)
        except (SourceError, OSError):
            return None
        # Only a response of a file linkback's crawler wrote, at that offset, of that URL.
        if page is None or page.offset != offset or page.url != uri or page.via != "crawl":
            return None
        if record_id and page.record_id != record_id:
            return None
        return page

    def _checked(self, mm, gz: bool, pend: _Pending) -> _Pending:
        """A record whose block came out short: cut off by the end of the file, or a length
        that ran past its own gzip member into the records after it?"""
        if pend.short:
            self._overrun(mm, gz, pend, read=True)
        return pend

    def _overrun(self, mm, gz: bool, pend: _Pending, *, read: bool) -> bool:
        """Does the record's Content-Length run past its own bytes while more records follow?
        Then it is marked ``bad_content_length`` and ``pend.resume`` says where the next one
        starts. Checked before the block is read wherever reading it could cost more than
        ``max_body`` (a length of 10**12 must not read, let alone decompress, the rest of the
        file), and after a read that came out short (``read``)."""
        size = len(mm)
        if not gz:
            if pend.declared_end <= size:
                return False  # a wrong length inside the file: found when the next header fails
            hend = rec_.header_end(mm, pend.offset)
            nxt = rec_.next_warc_line(mm, hend) if hend >= 0 else -1
            if nxt < 0:
                return False  # the file really ends inside it: truncated_record
            where = f"runs {pend.declared_end - size:,} bytes past the end of the file"
            resume = nxt
        else:
            if not read and pend.content_length <= self.max_body:
                return False  # reading it costs little; a wrong length is found after
            if mm[pend.offset : pend.offset + 2] != rec_.GZIP_MAGIC[:2]:
                return False  # one gzip stream for the whole file: see _one_stream_check
            member = rec_.read_member(mm, pend.offset, stop_after=(1 << 16) + pend.content_length)
            hend = rec_.header_end(member.head)
            if member.end is None or member.end >= size or hend < 0 or member.size >= hend + pend.content_length:
                return False  # cut or corrupt member, the last one, or long enough
            where = f"runs {hend + pend.content_length - member.size:,} bytes past its gzip member"
            resume = member.end
        pend.short = False
        pend.mark(
            "bad_content_length",
            f"record's Content-Length ({pend.content_length:,}) {where}; record skipped, "
            f"reading goes on at byte {resume}",
        )
        pend.resume = resume
        return True

    def _drain(self, record, expected: int, pend: _Pending) -> bool:
        """Consume a skipped record's block; True if the stream ended before ``expected`` bytes."""
        try:
            got = record.reader.consume() if record.reader is not None else 0
        except OSError:
            return True
        return got < expected

    # -- end of file
    def _finish(self, mm, gz: bool, size: int, pos: int, pending: _Pending | None) -> tuple[_Pending | None, int]:
        """Check the end of the file once FastWARC has stopped: (the pending record, marked if
        it was cut off; where reading goes on if readable records follow damage, else -1)."""
        resume = -1
        if gz:
            start = pending.offset if pending is not None else pos
            if mm[start : start + 2] != rec_.GZIP_MAGIC[:2]:  # a whole-file gzip: check it all
                start = pos
            while start < size:
                if mm[start : start + 2] != rec_.GZIP_MAGIC[:2]:
                    resume = rec_.next_gzip_record(mm, start)
                    if resume >= 0:
                        self._damage("garbage_bytes", f"{resume - start} bytes that are not gzip", start)
                    elif mm[start:size].strip(b"\r\n\t \x00"):
                        self._damage("garbage_bytes", f"{size - start} bytes after the last gzip member", start)
                    break
                member = rec_.read_member(mm, start, head_len=0)
                if member.truncated or member.error:
                    key = "truncated_gzip" if member.truncated else "corrupt_gzip"
                    what = (
                        "gzip member cut short: the file ends inside it (truncated download?); "
                        "records before it were read"
                        if member.truncated
                        else f"corrupt gzip data ({member.error})"
                    )
                    if pending is not None and pending.offset == start:
                        pending.mark(key, what)
                    else:
                        self._damage(key, what, start)
                    if member.error:
                        resume = rec_.next_gzip_record(mm, start + 1)
                    break
                start = member.end  # type: ignore[assignment]
        if pending is not None and pending.reason not in ("truncated_gzip", "corrupt_gzip"):
            if pending.short or (not gz and pending.declared_end > size):
                pending.mark(
                    "truncated_record",
                    "record cut short: the file ends inside it",
                )
        if 0 <= resume <= pos:
            resume = -1  # never read the same bytes twice
        return pending, resume

    # -- damage in the middle
    def _resync(self, mm, gz: bool, pos: int, pending: _Pending | None, err: str) -> tuple[int, _Pending | None]:
        return (self._resync_gz if gz else self._resync_plain)(mm, pos, pending, err)

    def _resync_plain(self, mm, pos: int, pending: _Pending | None, err: str) -> tuple[int, _Pending | None]:
        if pending is not None:
            end = pending.declared_end
            if 0 <= end and mm[end : end + 4] in (b"\r\n\r\n", b"\n\n", b"\r\n"):
                after = end
            else:
                pending.mark(
                    "bad_content_length",
                    f"record's Content-Length ({pending.content_length}) does not match its block; record skipped",
                )
                return rec_.next_warc_line(mm, pending.offset + 1), pending
        else:
            after = pos
        nxt = rec_.next_warc_line(mm, after)
        if nxt < 0:
            if mm[after:].strip(b"\r\n\t \x00"):
                self._damage("garbage_bytes", f"{len(mm) - after} bytes that are not a WARC record ({err})", after)
            return -1, pending
        if mm[after:nxt].strip(b"\r\n\t \x00"):
            self._damage("garbage_bytes", f"{nxt - after} bytes between records skipped ({err})", after)
            return nxt, pending
        self._damage("bad_warc_header", f"unreadable WARC record header ({err}); record skipped", nxt)
        return rec_.next_warc_line(mm, nxt + 1), pending

    def _resync_gz(self, mm, pos: int, pending: _Pending | None, err: str) -> tuple[int, _Pending | None]:
        start = pos
        if pending is not None and mm[pending.offset : pending.offset + 2] != rec_.GZIP_MAGIC[:2]:
            self._give_up("garbage_bytes", f"unreadable data inside a whole-file gzip ({err}); rest skipped", pos)
            return -1, pending
        if pending is not None:
            first = rec_.read_member(mm, pending.offset, head_len=65536)
            if first.end is None:  # cannot happen for a record FastWARC read, but be safe
                pending.mark("corrupt_gzip", f"gzip member unreadable ({first.error or 'truncated'})")
                return rec_.next_gzip_record(mm, pending.offset + 1), pending
            hend = rec_.header_end(first.head)
            expected = hend + pending.content_length if hend >= 0 else -1
            if expected >= 0 and first.size != expected:
                extra = rec_.read_member(mm, pending.offset, head_len=0, sample_from=expected)
                whole_file = first.size > expected and rec_.next_warc_line(extra.tail_sample, 0) >= 0
                if whole_file:
                    self._give_up(
                        "garbage_bytes",
                        f"unreadable data inside a whole-file gzip ({err}); rest skipped",
                        pending.offset,
                    )
                    return -1, pending
                if first.size < expected or extra.tail_sample.strip(b"\r\n"):
                    pending.mark(
                        "bad_content_length",
                        f"record's Content-Length ({pending.content_length}) does not match its gzip member; "
                        "record skipped",
                    )
                    return first.end, pending
            start = first.end
        if mm[start : start + 2] != rec_.GZIP_MAGIC[:2]:
            nxt = rec_.next_gzip_record(mm, start)
            self._damage(
                "garbage_bytes", f"{(nxt if nxt >= 0 else len(mm)) - start} bytes that are not gzip ({err})", start
            )
            return nxt, pending
        member = rec_.read_member(mm, start, head_len=64)
        if member.truncated:
            self._damage("truncated_gzip", "gzip member cut short: the file ends inside it", start)
            return -1, pending
        if member.error:
            self._damage("corrupt_gzip", f"corrupt gzip member ({member.error}); skipped", start)
            return rec_.next_gzip_record(mm, start + 1), pending
        self._damage("bad_warc_header", f"unreadable WARC record header ({err}); record skipped", start)
        return member.end, pending  # type: ignore[return-value]


# --------------------------------------------------------------------------- WAT files


def iter_metadata_blocks(source: str, *, stats: ReadStats, max_bytes: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, block)`` of each ``metadata`` record of a WARC file (a WAT), every other
    record counted by its type, read with :func:`iter_archive`'s damage policy: a damaged gzip
    member, garbage or a Content-Length that runs past its record's bytes is counted where it
    is, and reading goes on at the next readable record. A block longer than ``max_bytes`` is
    skipped unread (``record_too_large``)."""
    stats.bytes += os.path.getsize(source)
    # run() is typed for pages; this reader's _release yields blocks instead
    yield from cast(Iterator[tuple[int, bytes]], _MetadataReader(source, stats, max_bytes).run())


class _MetadataReader(_WarcReader):
    """The reader of :func:`iter_metadata_blocks`: pending records hold a block, not a page."""

    def _read(self, record, mm, gz: bool) -> _Pending:
        pend = self._pending(record, mm, gz)
        if pend.resume >= 0:
            return pend
        declared = record.content_length
        if record.record_type != WarcRecordType.metadata:
            pend.reason = str(record.record_type)
        elif "Content-Length" not in record.headers:
            # FastWARC hands over a record whose header the file ends inside, with the fields
            # read so far. Not re-marked at the end of the file: this says more.
            pend.mark("truncated_record", "record cut short: the file ends inside its header (truncated download?)")
            pend.declared_end = -1
            return pend
        elif declared > self.max_body:  # not read into memory
            pend.mark("record_too_large", f"a metadata record of {declared:,} bytes")
        else:
            return self._read_block(record, mm, gz, pend)
        pend.short = self._drain(record, declared, pend)
        return self._checked(mm, gz, pend)

    def _read_block(self, record, mm, gz: bool, pend: _Pending) -> _Pending:
        raw = record.reader.read(pend.content_length)
        if len(raw) < pend.content_length:
            pend.short = True
            pend.mark(
                "truncated_record", f"record cut short: {pend.content_length - len(raw)} bytes of its block are missing"
            )
            return self._checked(mm, gz, pend)
        pend.block = raw
        return pend

    def _release(self, pending: _Pending | None) -> Iterator:  # type: ignore[override]
        if pending is None or pending.replayed or pending.reason or pending.block is None:
            yield from super()._release(pending)  # counted, never a page: _read makes none
            return
        self.released += 1
        yield pending.offset, pending.block
