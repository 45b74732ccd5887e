"""Bytes of an export into text, and text into records with their line numbers.

**Encoding** is sniffed from the bytes, as the exports are written: ``FF FE`` is UTF-16 LE
(Ahrefs' default export, tab-separated), ``FE FF`` UTF-16 BE, ``EF BB BF`` UTF-8 with a BOM
(Bing, Excel); text whose zero bytes fall at every other position is UTF-16 that lost its BOM
(see :func:`_bomless_utf16`); otherwise UTF-8 if it decodes, or if it would but for a few bytes
(a file cut mid-character, a row pasted in from another encoding): then the rows holding those
bytes are refused, each with its line, since a guessed character in an anchor would make a
different claim than the repaired file's. Else Windows-1252 (older tools and spreadsheets on
Windows), else Latin-1, which decodes anything. An export is never held whole, as bytes or as
text: the encoding is told by reading it a chunk at a time (:data:`CHUNK_BYTES`), once, or again
for a file that is not all UTF-8, and its text is decoded a chunk at a time (:func:`text_lines`).

**Records** come from Python's :mod:`csv` module, strictly: a row it cannot parse is "not valid
CSV". Some exports (Majestic's, notably) hold rows with a stray quote, which makes a CSV reader
swallow the lines after it into one field. A record that spans several lines is therefore split
back into its lines, and each line that parses on its own into the right number of fields kept
(one broken row costs one row), when its lines look like rows with a stray quote: each of them,
its quotes taken as text, has the header's number of fields, with URLs where the first line has
them. A record whose quotes open and close as CSV's do (a cell with a line break in it) is never
split so: it is kept whole when it has the header's number of fields, else refused whole. So is a
field over :data:`MAX_FIELD_CHARS` characters, its lines skipped unheld up to the end of its
record as CSV quotes it (an inch mark, ``5"``, does not end a quoted cell): one refused row.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

#: The largest field the reader accepts. csv's own default (128 KiB) is raised to this once, and
#: never to "unlimited": a stray quote would otherwise gather a whole file into one field.
MAX_FIELD_CHARS = 1 << 20
if csv.field_size_limit() < MAX_FIELD_CHARS:
    csv.field_size_limit(MAX_FIELD_CHARS)

DELIMITERS = ("\t", ",", ";")


#: Bytes read at a time: an export is never held whole, as bytes or as text.
CHUNK_BYTES = 1 << 16


@dataclass(frozen=True, slots=True)
class Encoding:
    """How an export's bytes are text: ``name`` as a summary reports it, the ``codec`` and
    ``errors`` handler that decode it, and the bytes of its BOM, skipped (``bom``)."""

    name: str
    codec: str
    errors: str = "strict"
    bom: int = 0


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of an export's bytes; see the module's docstring."""
    encoding = sniff_encoding(lambda: iter((data,)))
    return data[encoding.bom :].decode(encoding.codec, encoding.errors), encoding.name


def sniff_encoding(chunks: Callable[[], Iterator[bytes]]) -> Encoding:
    """The encoding of the export whose bytes ``chunks()`` gives, a piece at a time, from its start
    each time it is called (a file is read again, never held); see the module's docstring."""
    head = _head(chunks())
    if head.startswith(b"\xff\xfe"):
        return Encoding("utf-16-le", "utf-16-le", "replace", 2)
    if head.startswith(b"\xfe\xff"):
        return Encoding("utf-16-be", "utf-16-be", "replace", 2)
    if head.startswith(b"\xef\xbb\xbf"):
        return Encoding("utf-8-sig", "utf-8", "replace", 3)
    utf16 = _bomless_utf16(head)
    if utf16 is not None:
        return Encoding(utf16, utf16, "replace")
    # A file cut in the middle of its last character (an interrupted download) is UTF-8 all the
    # same, however few characters it has. UTF-8 is read with its bad bytes kept as lone
    # surrogates, which refuse their rows (see _UNDECODED).
    if _utf8_but_for_its_end(chunks()) or _mostly_utf8(chunks()):
        return Encoding("utf-8", "utf-8", "surrogateescape")
    if _decodes(chunks(), "cp1252"):
        return Encoding("cp1252", "cp1252", "replace")
    return Encoding("latin-1", "latin-1")


def _head(chunks: Iterator[bytes]) -> bytes:
    head = b""
    for chunk in chunks:
        head += chunk[: _UTF16_SAMPLE_BYTES - len(head)]
        if len(head) >= _UTF16_SAMPLE_BYTES:
            break
    return head


def _utf8_but_for_its_end(chunks: Iterable[bytes]) -> bool:
    """Whether the bytes are UTF-8, all of them or all but a character cut at their end."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in chunks:
            decoder.decode(chunk)
    except UnicodeDecodeError:
        return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    return True


def _decodes(chunks: Iterable[bytes], codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        for chunk in chunks:
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


#: How much of an export :func:`_bomless_utf16` looks at: enough rows to outweigh a header in a
#: script other than Latin.
_UTF16_SAMPLE_BYTES = 4096


def _bomless_utf16(data: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when ``data`` is UTF-16 without its BOM, else None.

    Text in UTF-8 or Windows-1252 holds no zero byte, while in UTF-16 every ASCII character has
    one (its high byte): the commas, digits, line ends and URLs of every row. Those zeros fall at
    odd offsets in little-endian, at even ones in big-endian; a letter outside Latin-1 (Hebrew
    ``05 D0``, say) has none, so the first character alone cannot tell. Hence: at least one
    character in eight with a zero on one side, and hardly any on the other (stray zeros in a
    damaged UTF-8 file fall on both sides alike)."""
    sample = data[:_UTF16_SAMPLE_BYTES]
    units = len(sample) // 2
    zeros_odd, zeros_even = sample[1::2].count(0), sample[0::2].count(0)
    for zeros, others, encoding in ((zeros_odd, zeros_even, "utf-16-le"), (zeros_even, zeros_odd, "utf-16-be")):
        if zeros > 0 and zeros * 8 >= units and others * 4 < zeros:
            return encoding
    return None


#: A byte that is not UTF-8, as the ``surrogateescape`` error handler keeps it: a lone surrogate,
#: which no decoded text holds otherwise, so :func:`records` can tell and refuse its row.
_UNDECODED = re.compile("[\udc80-\udcff]")
#: UTF-8 with bad bytes is still read as UTF-8 while it has this many multi-byte characters per bad byte.
_UTF8_CHARS_PER_BAD_BYTE = 10


def _mostly_utf8(chunks: Iterable[bytes]) -> bool:
    """Whether the bytes are UTF-8 but for a few bytes (kept as lone surrogates); not when they
    have too many of them (Windows-1252 text has as many as high bytes)."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    non_ascii = bad = 0
    for text in itertools.chain((decoder.decode(c) for c in chunks), (decoder.decode(b"", final=True),)):
        if not text.isascii():
            non_ascii += len(text) - len(text.encode("ascii", "ignore"))
            bad += len(_UNDECODED.findall(text))
    return 0 < bad <= non_ascii // (_UTF8_CHARS_PER_BAD_BYTE + 1)


#: A line end as CSV has them. Not str.splitlines(), which also ends a line at U+2028, U+0085,
#: a form feed or a vertical tab: characters a cell may hold (an anchor copied from a page).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def text_lines(chunks: Iterable[bytes], encoding: Encoding) -> Iterator[str]:
    """The physical lines of an export whose bytes ``chunks`` gives (from its start), decoded as
    ``encoding``, each with its line end: read a line at a time, never held whole."""
    for block in text_blocks(chunks, encoding):
        for m in _LINE.finditer(block):
            yield m.group()


def text_blocks(chunks: Iterable[bytes], encoding: Encoding) -> Iterator[str]:
    """The export's text (as :func:`text_lines` splits it) in pieces that each end where a line
    does, decoded a chunk at a time."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(encoding.errors)
    skip = encoding.bom
    pending: list[str] = []  # the text since the last line end (a line may span several chunks)
    for chunk in chunks:
        if skip:
            chunk, skip = chunk[skip:], max(0, skip - len(chunk))
        text = decoder.decode(chunk)
        # A CR that ends the chunk may be the first half of a CRLF: its line ends in the next one.
        cut = len(text) - 1 if text.endswith("\r") else len(text)
        end = max(text.rfind("\n", 0, cut), text.rfind("\r", 0, cut)) + 1
        if end == 0:
            pending.append(text)
            continue
        yield "".join((*pending, text[:end])) if pending else text[:end]
        pending = [text[end:]]
    rest = "".join((*pending, decoder.decode(b"", final=True)))
    if rest:
        yield rest


def split_line(line: str, delimiter: str) -> list[str] | None:
    """One physical line as fields, or None when it is not a complete CSV record by itself.

    For a header (and GA4's one-line rows, decoded without lone surrogates): a byte that was not
    UTF-8 (see :func:`decode`) is U+FFFD here, so that a column name holding one is shown as
    unreadable, and ignored or not matched, rather than shown as a surrogate escape. A header's
    names only find the columns and are never stored, so a row is not refused for them; a data row
    holding such a byte is refused by :func:`records`, which splits its lines with :func:`_split`."""
    fields = _split(line, delimiter)
    if fields is None or line.isascii():
        return fields
    return [_UNDECODED.sub("\ufffd", field) for field in fields]


def _split(line: str, delimiter: str) -> list[str] | None:
    try:
        rows = list(csv.reader([line], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else [] if not rows else None


def sniff_delimiter(line: str) -> str:
    """The delimiter a header line uses: the one that splits it into the most fields."""
    best, most = ",", 0
    for delimiter in DELIMITERS:
        fields = _split(line, delimiter)
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
    are skipped. A row holding bytes that were not UTF-8 (see :func:`decode`) is refused."""
    for record in _records(lines, first, delimiter, width):
        if all(map(str.isascii, record.fields)):
            yield record
            continue
        bad = next((m for f in record.fields if (m := _UNDECODED.search(f))), None)
        if bad is None:
            yield record
        else:
            byte = ord(bad.group()) - 0xDC00
            yield Record(
                record.line, [], f"not UTF-8: byte 0x{byte:02X} is no UTF-8 character (the rest of the file is UTF-8)"
            )


def _records(lines: Iterable[str], first: int, delimiter: str, width: int) -> Iterator[Record]:
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
        if not span:
            return  # (an error that read nothing: nothing is left to read)
        if error and len(span) > 1 and not _row_shaped(_first_lines(span, 2), delimiter, width):
            # Not a stray quote's swallowed rows but one record, a cell over the field limit or
            # one cut short: its lines are one refused row, whatever the cell held.
            span_end = first + len(span) - 1 + _skip_quoted(span, feed.lines, delimiter)
            first = span_end + 1
            yield Record(line, [], f"{error} (lines {line}-{span_end}, one record)")
            continue
        first += len(span)
        if not error and not any(f.strip() for f in fields):
            continue  # a blank line, or a row of empty cells
        if len(span) > 1 and not error and _row_shaped(span, delimiter, width):
            yield from _salvage(span, line, delimiter, width, "not valid CSV (unbalanced quotes)")
            continue
        if not error and _fits(fields, width):
            yield Record(line, _trimmed(fields, width))
            continue
        if error:
            yield from _salvage(span, line, delimiter, width, error)
        elif len(span) > 1:
            yield Record(line, [], f"{_width_error(fields, width)} (lines {line}-{first - 1}, one record)")
        else:
            yield Record(line, [], _width_error(fields, width))


def _first_lines(span: list[str], count: int) -> list[str]:
    return [line for line in span if line.strip()][:count]


#: A cell that is a URL (its scheme), as the URL columns of every row hold one.
_URL_CELL = re.compile(r"\s*[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _row_shaped(span: list[str], delimiter: str, width: int) -> bool:
    """Whether each line of ``span`` is a row with a stray quote: taken as text, its quotes
    leave it the header's number of fields, and the columns holding URLs on the first line hold
    URLs on each. A cell with a line break in it (the first line ends inside it) does not, unless
    what it holds was written to look like rows."""
    url_columns: list[int] | None = None
    for line in span:
        if not line.strip():
            continue
        fields = next(csv.reader([line], delimiter=delimiter, quoting=csv.QUOTE_NONE), [])
        if not _fits(fields, width):
            return False
        if url_columns is None:
            url_columns = [i for i, f in enumerate(fields[:width]) if _URL_CELL.match(f)]
        elif not all(_URL_CELL.match(fields[i]) for i in url_columns):
            return False
    return True


def _skip_quoted(span: list[str], rest: Iterator[str], delimiter: str) -> int:
    """When the record whose first lines are ``span`` is inside a quoted cell at the last of them,
    the lines of ``rest`` up to the one that ends the record are read and dropped (a line at a
    time, never held: the cell may be any size); how many."""
    quoted = False
    for line in span:
        quoted = _ends_quoted(line, delimiter, quoted)
    skipped = 0
    while quoted:
        dropped = next(rest, None)
        if dropped is None:
            break
        skipped += 1
        quoted = _ends_quoted(dropped, delimiter, quoted)
    return skipped


def _ends_quoted(line: str, delimiter: str, quoted: bool) -> bool:
    """Whether a record is inside a quoted cell at the end of ``line`` (``quoted``: at its start;
    else the line starts a field). As CSV quotes: a cell is quoted when its first character is a
    quote, and a quote in it ends it only when it is not doubled and the separator or the line's
    end follows it; any other quote in it (``5"``, an inch mark) is taken as text, as it is in a
    cell not quoted."""
    end, at = len(line.rstrip("\r\n")), 0
    while True:
        if quoted:
            close = line.find('"', at, end)
            if close < 0:
                return True
            after = close + 1
            if line.startswith('"', after):
                at = after + 1  # a doubled quote: one quote in the cell
            elif after == end:
                return False
            elif line.startswith(delimiter, after):
                quoted, at = False, after + 1
            else:
                at = after
        elif line.startswith('"', at) and at < end:
            quoted, at = True, at + 1
        else:
            separator = line.find(delimiter, at, end)
            if separator < 0:
                return False
            at = separator + 1


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
        fields = _split(line, delimiter)
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
