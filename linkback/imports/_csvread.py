"""Bytes of an export into text, and text into records with their line numbers.

**Encoding** is sniffed from the bytes, as the exports are written: ``FF FE`` is UTF-16 LE
(Ahrefs' default export, tab-separated), ``FE FF`` UTF-16 BE, ``EF BB BF`` UTF-8 with a BOM
(Bing, Excel); text whose every other byte is zero is UTF-16 that lost its BOM (the zeros
first: big-endian); otherwise UTF-8 if it decodes, else Windows-1252 (older tools and spreadsheets on
Windows), else Latin-1, which decodes anything.

**Records** come from Python's :mod:`csv` module, strictly: a row it cannot parse is "not valid
CSV". Some exports (Majestic's, notably) hold rows with a stray quote, which makes a CSV reader
swallow the lines after it into one field. A record that spans several lines and does not have
the header's number of fields is therefore split back into its lines, and each line that parses
on its own into the right number of fields is kept: one broken row costs one row.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: The largest field the reader accepts. csv's own default (128 KiB) is raised to this once, and
#: never to "unlimited": a stray quote would otherwise gather a whole file into one field.
MAX_FIELD_CHARS = 1 << 20
if csv.field_size_limit() < MAX_FIELD_CHARS:
    csv.field_size_limit(MAX_FIELD_CHARS)

DELIMITERS = ("\t", ",", ";")


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of an export's bytes; see the module's docstring."""
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", errors="replace"), "utf-16-le"
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="replace"), "utf-16-be"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        return data.decode("utf-16-le", errors="replace"), "utf-16-le"  # UTF-16 that lost its BOM
    if len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] != 0:
        return data.decode("utf-16-be", errors="replace"), "utf-16-be"  # the same, big-endian
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


#: A line end as CSV has them. Not str.splitlines(), which also ends a line at U+2028, U+0085,
#: a form feed or a vertical tab: characters a cell may hold (an anchor copied from a page).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def line_matches(text: str, start: int = 0) -> Iterator[re.Match[str]]:
    """The physical lines of ``text`` from offset ``start``, one at a time (``.group()``, ``.end()``):
    an export is read a line at a time, never held as a list of all its lines."""
    return _LINE.finditer(text, start)


def split_line(line: str, delimiter: str) -> list[str] | None:
    """One physical line as fields, or None when it is not a complete CSV record by itself."""
    try:
        rows = list(csv.reader([line], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else [] if not rows else None


def sniff_delimiter(line: str) -> str:
    """The delimiter a header line uses: the one that splits it into the most fields."""
    best, most = ",", 0
    for delimiter in DELIMITERS:
        fields = split_line(line, delimiter)
        if fields is not None and len(fields) > most:
            best, most = delimiter, len(fields)
    return best


@dataclass(frozen=True, slots=True)
class Record:
    """A data row: its fields, or why it is not one (``error``), and its first line (1-based)."""

    line: int
    fields: list[str]
    error: str = ""


def records(lines: Iterable[str], first: int, delimiter: str, width: int) -> Iterator[Record]:
    """The records of ``lines`` (those after the header), each with the number of its first
    line (``first`` is the first's); ``width`` is the header's number of fields. Blank lines
    are skipped."""
    feed = _Feed(iter(lines))
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    while True:
        feed.taken = []
        try:
            fields = next(reader)
            error = ""
        except StopIteration:
            return
        except csv.Error as exc:
            fields, error = [], f"not valid CSV ({exc})"
        span, line = feed.taken, first
        first += len(span)
        if not span:
            return  # (an error that read nothing: nothing is left to read)
        if not error and not any(f.strip() for f in fields):
            continue  # a blank line, or a row of empty cells
        if not error and _fits(fields, width):
            yield Record(line, _trimmed(fields, width))
            continue
        if not error:
            error = _width_error(fields, width)
        yield from _salvage(span, line, delimiter, width, error)


def _fits(fields: list[str], width: int) -> bool:
    # Trailing empty cells past the header's width are a spreadsheet's habit, not damage.
    return len(fields) == width or (len(fields) > width and not any(f.strip() for f in fields[width:]))


def _trimmed(fields: list[str], width: int) -> list[str]:
    return fields[:width]


def _salvage(span: list[str], first: int, delimiter: str, width: int, error: str) -> Iterator[Record]:
    """A record that is not valid: when it swallowed several lines, each line that is a whole
    record of its own is kept, and the others are reported, each with its own reason."""
    if len(span) <= 1:
        yield Record(first, [], error)
        return
    for offset, line in enumerate(span):
        if not line.strip():
            continue
        fields = split_line(line, delimiter)
        if fields is not None and _fits(fields, width):
            yield Record(first + offset, _trimmed(fields, width))
        elif offset == 0 or fields is None:
            yield Record(first + offset, [], error if offset == 0 else "not valid CSV (unbalanced quotes)")
        else:
            yield Record(first + offset, [], _width_error(fields, width))


def _width_error(fields: list[str], width: int) -> str:
    return f"not valid CSV: {len(fields)} fields where the header has {width}"


class _Feed:
    """The lines the csv reader reads, keeping those of the record being read (``taken``), so
    that each record knows its lines."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        return line
