"""Analytics exports as visit counts: Plausible's ``imported_sources`` CSV and GA4's CSV downloads.

An export holds no single visits, only counts per day (or per the period it covers) and source,
so each row becomes one :class:`ExportRow` whose ``visits`` is its count.

* **Plausible** (Settings → Imports & Exports → Export, ``imported_sources_YYYYMMDD_YYYYMMDD.csv``):
  ``date, source, referrer, utm_source, utm_medium, utm_campaign, ..., visitors, visits, ...``.
* **GA4** (a report's Share → Download CSV): ``#`` comment lines (``# Start date: 20240101``,
  ``# End date: ...``), then a table whose first column is a session (or first user) dimension:
  ``Session source / medium``, ``Session source`` (with ``Session medium`` beside it, optionally
  ``Session campaign``) or ``Session default channel group`` (also "primary"), optionally a
  ``Date`` column, and a ``Sessions`` column. Numbers may carry thousands separators (``"1,234"``).
  Without a ``Date`` column a row counts for the report's start date.

Headers are matched case-insensitively, never by position. A row that cannot be read is refused
with its line number and reason; the rest are read. A count over :data:`MAX_VISITS` (what the
``visits`` column holds) is refused, not stored cut or wrapped. Rows are read as the CSV imports
read theirs (:mod:`linkback.imports._csvread`): strictly, a cell up to
:data:`~linkback.imports._csvread.MAX_FIELD_CHARS` characters, a row with a stray quote costing
that row only; a line longer than :data:`MAX_LINE_CHARS` is refused and dropped as it is read, so
memory stays bounded whatever a cell holds.

An export is UTF-8 (with or without a byte-order mark) when all of it is, else Windows-1252, as an
older Excel saves a CSV; sniffing its first bytes and reading it decide by the same rule
(:func:`_encoding`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from linkback import schema
from linkback.imports._csvread import MAX_FIELD_CHARS, records, split_line
from linkback.traffic._files import STREAM_ERRORS
from linkback.traffic._formats import in_window

_EPOCH_DAY = date(1970, 1, 1)

__all__ = ["MAX_VISITS", "ExportRow", "read_export", "sniff_export"]

#: The largest count one row can hold: ``visits.visits`` is a 32-bit integer. Reports sum it as a
#: HUGEINT, so any number of rows at this count add up without overflowing.
MAX_VISITS = 2 ** (schema.VISITS.field("visits").type.bit_width - 1) - 1
_MAX_DIGITS = len(str(MAX_VISITS))
#: Bytes read at a time when an export is checked for UTF-8.
_CHUNK_BYTES = 1 << 20
#: A line (its line end included) longer than this is refused unread. csv's field limit bounds a
#: cell only once its line is held, so the line is bounded first, to the same size.
MAX_LINE_CHARS = MAX_FIELD_CHARS
_TOO_LONG = f"line longer than {MAX_LINE_CHARS:,} characters: not read"


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One row of an export: ``visits`` counted on ``day`` from ``source``/``medium``/``campaign``
    (``""`` when the export has no such column), the ``referrer`` URL when it gives one, and the
    export's own ``channel`` when it names one. ``line_no`` is the row's line in the file."""

    day: date
    source: str
    medium: str
    campaign: str
    referrer: str
    channel: str
    visits: int
    line_no: int


_GA4_DIMENSIONS = {
    "session source / medium": "source/medium",
    "first user source / medium": "source/medium",
    "session source": "source",
    "first user source": "source",
    "session default channel group": "channel",
    "session primary channel group (default channel group)": "channel",
    "session primary channel group": "channel",
    "first user default channel group": "channel",
    "first user primary channel group (default channel group)": "channel",
}
_GA4_MEDIUM = ("session medium", "first user medium")
_GA4_CAMPAIGN = ("session campaign", "first user campaign")
_GA4_COUNTS = ("sessions", "total users", "users")
_GA4_DAY = re.compile(r"#\s*(start|end) date:\s*(\d{8})\s*$", re.IGNORECASE)


def _encoding(chunks: Iterable[bytes], *, whole: bool = True) -> str:
    """``"utf-8"`` when the bytes of ``chunks`` (after any BOM) are UTF-8, else ``"cp1252"``.
    ``whole=False`` when they are only the file's first bytes: a character cut at their end is
    not a reason to call the file Windows-1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in chunks:
            decoder.decode(chunk)
        decoder.decode(b"", final=whole)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _decode(data: bytes, *, whole: bool) -> str:
    data = data.removeprefix(codecs.BOM_UTF8)
    encoding = _encoding([data], whole=whole)
    # Incremental: a character cut at the end of a head is left out, not made U+FFFD. "replace":
    # cp1252 leaves five bytes undefined, and they must not fail the file.
    return codecs.getincrementaldecoder(encoding)("replace").decode(data, final=whole)


def _text(fh: BinaryIO) -> io.TextIOWrapper:
    """``fh`` as text, decoded as :func:`_encoding` finds it: read once to tell (a file that turns
    out not to be UTF-8 in its last rows must not have been read as UTF-8 before them), then
    from the start. ``fh`` must be seekable (files, gzip, bzip2 and xz streams are)."""
    start = fh.tell()
    if fh.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
        fh.seek(start)  # no BOM: its bytes are the file's
    begin = fh.tell()
    encoding = _encoding(_chunks(fh))
    fh.seek(begin)
    return io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    """The rest of ``fh`` in pieces, up to where a compressed stream breaks off (reading the rows
    meets the break again, and says so)."""
    try:
        while chunk := fh.read(_CHUNK_BYTES):
            yield chunk
    except STREAM_ERRORS:
        return


def sniff_export(head: str) -> str | None:
    """``"plausible"``, ``"ga4"`` or None for a file that starts with ``head`` (decoded text)."""
    lines = [ln for ln in head.splitlines() if ln.strip()]
    if not lines:
        return None
    if lines[0].lstrip().startswith("#"):
        for ln in lines:
            if not ln.startswith("#"):
                first = next(csv.reader([ln]), [])
                return (
                    "ga4" if first and first[0].strip().lower() in _GA4_DIMENSIONS or _ga4_date_first(first) else None
                )
        return None
    header = {h.strip().lower() for h in next(csv.reader([lines[0]]), [])}
    if "date" in header and ("visits" in header or "visitors" in header) and header & {"source", "referrer"}:
        return "plausible"
    return None


def _ga4_date_first(first: list[str]) -> bool:
    return len(first) > 1 and first[0].strip().lower() == "date" and first[1].strip().lower() in _GA4_DIMENSIONS


def _count(text: str, what: str) -> int | str:
    """The count in a cell (``"1,234"``, ``"12.0"``), or why it is none: not a whole number, or
    one over :data:`MAX_VISITS` (``what`` names it in the reason)."""
    text = text.strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
    if text.endswith(".0"):
        text = text[:-2]
    # isdecimal, not isdigit: int() refuses digits such as "²". Its length is checked before
    # int() is asked: a cell of thousands of digits would raise (Python's int limit) or be slow.
    if not text.isdecimal():
        return f"no {what} count"
    digits = text.lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS or int(digits) > MAX_VISITS:
        shown = f"{int(digits):,}" if len(digits) <= 24 else f"{digits[:20]}... ({len(digits):,} digits)"
        return f"{what} count {shown} is over {MAX_VISITS:,}, the most one row can hold"
    return int(digits)


def _day(text: str) -> date | None:
    """The day of an export's row, or None when it is none, or none of the web (as a log line's
    time: since 1990, not past tomorrow)."""
    text = text.strip()
    try:
        if len(text) == 8 and text.isdigit():
            day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        else:
            day = date.fromisoformat(text[:10])
    except ValueError:
        return None
    return day if in_window((day - _EPOCH_DAY).days * 86_400) else None


def read_export(fh: BinaryIO, kind: str, refuse: list[tuple[int, str]]) -> Iterator[ExportRow]:
    """The rows of the export in ``fh`` (``kind`` from :func:`sniff_export`); rows that cannot be
    read are appended to ``refuse`` as ``(line, reason)``."""
    text = _text(fh)
    try:
        if kind == "plausible":
            yield from _plausible(text, refuse)
        else:
            yield from _ga4(text, refuse)
    finally:
        text.detach()  # the caller closes its file


def _lines(text: io.TextIOWrapper) -> Iterator[str | None]:
    """The physical lines of ``text``, line ends kept; None for one longer than
    :data:`MAX_LINE_CHARS`, whose characters are dropped as they are read, never held whole."""
    limit = MAX_LINE_CHARS + 1
    lf_may_follow = False  # a too-long line cut right after a CR: a LF next is the rest of its "\r\n"
    while piece := text.readline(limit):
        if lf_may_follow:
            lf_may_follow = False
            if piece == "\n":
                continue
        if len(piece) < limit:
            yield piece
            continue
        while len(piece) == limit and piece[-1] not in "\r\n":
            piece = text.readline(limit)
        lf_may_follow = len(piece) == limit and piece.endswith("\r")
        yield None


class _UpToLongLine:
    """The lines of :func:`_lines` up to the next one too long, or the end: ``taken`` counts them,
    ``cut`` says a too-long line ended them (it is consumed, not counted). The csv reader stops
    there, so a row never runs on past a line that was not read."""

    def __init__(self, lines: Iterator[str | None]) -> None:
        self._lines = lines
        self._done = False
        self.taken = 0
        self.cut = False

    def __iter__(self) -> _UpToLongLine:
        return self

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        line = next(self._lines, "")
        if not line:  # the end (""), or a line too long (None)
            self._done, self.cut = True, line is None
            raise StopIteration
        self.taken += 1
        return line


def _plausible(text: io.TextIOWrapper, refuse: list[tuple[int, str]]) -> Iterator[ExportRow]:
    lines = _lines(text)
    first = next(lines, "")
    names = None if first is None else split_line(first, ",")
    if names is None:
        refuse.append((1, f"header: {_TOO_LONG if first is None else 'not valid CSV (unbalanced quotes)'}"))
        return
    header = [h.strip().lower() for h in names]
    at = {name: i for i, name in enumerate(header)}
    count_at = at.get("visits", at.get("visitors"))
    line_no = 1
    while True:
        segment = _UpToLongLine(lines)
        for record in records(segment, line_no + 1, ",", len(header)):
            got = record.error or _plausible_row(at, count_at, record.fields, record.line)
            if isinstance(got, str):
                refuse.append((record.line, got))
            else:
                yield got
        line_no += segment.taken
        if not segment.cut:
            return
        line_no += 1
        refuse.append((line_no, _TOO_LONG))


def _plausible_row(at: dict[str, int], count_at: int | None, row: list[str], line: int) -> ExportRow | str:
    def cell(name: str) -> str:
        i = at.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    day = _day(cell("date"))
    visits = _count(row[count_at] if count_at is not None and count_at < len(row) else "", "visit")
    if day is None:
        return f"date {cell('date')!r} is not a date"
    if isinstance(visits, str):
        return visits
    source = cell("utm_source") or cell("source")
    return ExportRow(day, source, cell("utm_medium"), cell("utm_campaign"), cell("referrer"), cell("channel"),
                     visits, line)  # fmt: skip


def _ga4(text: io.TextIOWrapper, refuse: list[tuple[int, str]]) -> Iterator[ExportRow]:
    start: date | None = None
    header: list[str] | None = None
    for line, raw in enumerate(_lines(text), 1):
        if raw is None:
            refuse.append((line, _TOO_LONG))
            continue
        stripped = raw.strip()
        if stripped.startswith("#"):
            m = _GA4_DAY.match(stripped)
            if m and m.group(1).lower() == "start":
                start = _day(m.group(2))
            header = None  # a new section
            continue
        if not stripped:
            header = None
            continue
        # One line at a time, as GA4 writes its rows: a stray quote costs its own line, never the
        # lines after it.
        row = split_line(raw, ",")
        if row is None:
            refuse.append((line, "not valid CSV (unbalanced quotes)"))
            header = [] if header is None else header  # a broken header: its section is not read
            continue
        if header is None:
            names = [h.strip().lower() for h in row]
            header = names if any(n in _GA4_DIMENSIONS for n in names) else []
            continue
        if header:
            got = _ga4_row(header, row, start, line)
            if isinstance(got, str):
                refuse.append((line, got))
            elif got is not None:
                yield got


def _ga4_row(header: list[str], row: list[str], start: date | None, line: int) -> ExportRow | str | None:
    values = {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header)}
    dim = next(n for n in header if n in _GA4_DIMENSIONS)
    value = values[dim]
    if not value or value.lower() in ("grand total", "total"):
        return None
    count_name = next((n for n in _GA4_COUNTS if n in values), None)
    visits = _count(values[count_name] if count_name else "", "session")
    if isinstance(visits, str):
        return visits
    day = _day(values["date"]) if "date" in values else start
    if day is None:
        return "no date: neither a Date column nor a '# Start date:' line"
    source = medium = campaign = channel = ""
    kind = _GA4_DIMENSIONS[dim]
    if kind == "source/medium":
        source, _, medium = (part.strip() for part in value.partition(" / "))
    elif kind == "source":
        source = value
        medium = next((values[n] for n in _GA4_MEDIUM if n in values), "")
    else:
        channel = value
    campaign = next((values[n] for n in _GA4_CAMPAIGN if n in values), "")
    return ExportRow(day, source, medium, campaign, "", channel, visits, line)


def decode_head(data: bytes, *, whole: bool = False) -> str:
    """The first bytes of an export as text, for :func:`sniff_export`; ``whole`` when they are
    all of it."""
    return _decode(data, whole=whole)
