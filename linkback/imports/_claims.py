"""An export file into claims: find its header, read each row, say why a row is refused.

A **claim** is what a tool says about a link to the site, kept as the tool said it until
linkback checks it: who links (a page, or a whole domain), to what (a page, or the site the
export is about), with which anchor and rel, seen when; and the tool's own numbers beside it
(``metrics``). Each claim has a key — its tool, level, source, target and (for a vendor's link)
anchor — so importing the same rows again finds them, and a newer export updates them.

Each row is read on its own: a row that cannot be read (a bad URL, a required cell left empty,
a number or a date that does not parse, a line that is not valid CSV) is refused with its line
number and the reason, and the others are read. The first refused rows are kept; all of them
are counted, by the kind of their reason (the reason without the cell: "bad URL in 'Target URL'").
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from linkback.imports import _csvread
from linkback.imports._formats import (
    BY_NAME,
    Format,
    Match,
    UnrecognisedFile,
    candidates,
    match,
    norm,
    unrecognised,
)
from linkback.imports._values import (
    MAX_ANCHOR_CHARS,
    SLASHED_DATE,
    BadValue,
    clean_text,
    parse_bool,
    parse_date,
    parse_flag,
    parse_float,
    parse_host,
    parse_int,
    parse_rating,
    parse_url,
    slashed_date_order,
)
from linkback.urls import host_of, split_host

#: Lines searched for the header (Moz puts a few lines of preamble above it).
HEADER_SEARCH_LINES = 30
#: Refused rows whose reasons are kept (all of them are counted).
KEEP_REJECTS = 100

#: Claim attributes a file may give; a file that has the column sets it, even to empty.
ATTRIBUTES = ("anchor", "nofollow", "ugc", "sponsored", "kind", "first_seen", "last_seen", "lost_at", "notes", "tags")
#: Derived inputs: they set attributes instead of being kept as they are.
_KIND_FLAGS = ("image", "frame", "form", "redirect", "text")
_DERIVED = frozenset({"follow", "rel", "link_type", "lost", *_KIND_FLAGS})
#: Ahrefs' link types as linkback's link kinds.
_LINK_TYPES = {"text": "text", "image": "image", "img": "image", "redirect": "redirect", "frame": "frame",
               "iframe": "frame", "form": "form", "canonical": "canonical", "alternate": "alternate"}  # fmt: skip


@dataclass(slots=True)
class Claim:
    key: int
    level: str
    source_url: str | None
    source_host: str | None
    target_url: str | None
    target_host: str
    #: The attributes this file gives (None: the column is there, the cell empty).
    values: dict[str, Any]
    #: The tool's numbers and labels this file gives (None: the column is there, the cell empty).
    metrics: dict[str, Any]
    line: int = 0

    @property
    def source_domain(self) -> str | None:
        host = self.source_host or (host_of(self.source_url) if self.source_url else None)
        return split_host(host).domain if host else None


@dataclass
class ParsedFile:
    """What reading one export gave: its format and encoding, and counts of what was read.

    :func:`read_export` gives it before any row is read: its rows come from :meth:`stream`,
    which counts as it goes. :func:`parse_file` reads them all into ``claims``.
    """

    name: str
    format: Format
    encoding: str
    claims: list[Claim]
    rows: int = 0
    duplicates: int = 0
    rejected: int = 0
    #: The first refused rows (:data:`KEEP_REJECTS`), each ``{line, reason}``.
    rejects: list[dict[str, Any]] = field(default_factory=list)
    #: Every refused row, counted by the kind of its reason (:func:`reason_kind`).
    reasons: dict[str, int] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    preamble: int = 0
    #: Claims read (those in ``claims``, or those :meth:`stream` gave).
    claimed: int = 0
    _rows: Iterator[_csvread.Record] = field(default_factory=lambda: iter(()), repr=False)
    _reader: _RowReader | None = field(default=None, repr=False)
    _progress: Callable[[int], None] | None = field(default=None, repr=False)
    _seen: ClaimKeys | None = field(default=None, repr=False)

    def reject(self, line: int, reason: str, kind: str = "") -> None:
        """Count a refused row; keep its line and reason among the first :data:`KEEP_REJECTS`."""
        self.rejected += 1
        if len(self.rejects) < KEEP_REJECTS:
            self.rejects.append({"line": line, "reason": reason})
        kind = kind or reason_kind(reason)
        if kind not in self.reasons and len(self.reasons) >= KEEP_REASONS:
            kind = OTHER_REASONS
        self.reasons[kind] = self.reasons.get(kind, 0) + 1

    def reasons_by_count(self) -> dict[str, int]:
        """:attr:`reasons`, the most frequent first (then by name)."""
        return dict(sorted(self.reasons.items(), key=lambda item: (-item[1], item[0])))

    def keys(self) -> Any:
        """The keys of the claims :meth:`stream` gave, as a sorted NumPy array (8 bytes each)."""
        return (self._seen or ClaimKeys()).sorted()

    def stream(self) -> Iterator[Claim]:
        """The file's claims, read a row at a time (once); each refused row is counted, and each
        claim a row before it already made (same key) is a duplicate."""
        self._seen = seen = ClaimKeys()
        claims = self._claims()
        while batch := list(itertools.islice(claims, _DEDUPE_BATCH)):
            for claim, first in zip(batch, seen.add(c.key for c in batch), strict=True):
                if first:
                    self.claimed += 1
                    yield claim
                else:
                    self.duplicates += 1

    def _claims(self) -> Iterator[Claim]:
        reader = self._reader
        assert reader is not None, "stream() reads a file read_export() opened"
        self._reader = None
        for record in self._rows:
            self.rows += 1
            if self._progress is not None and self.rows % 5000 == 0:
                self._progress(self.rows)
            if record.error:
                self.reject(record.line, record.error)
                continue
            try:
                claim = reader.claim(record.fields)
            except BadValue as exc:
                self.reject(record.line, str(exc), exc.kind)
                continue
            claim.line = record.line
            yield claim


#: Refused rows are counted by at most this many kinds of reason; the rest as :data:`OTHER_REASONS`.
KEEP_REASONS = 50
OTHER_REASONS = "other reasons"
#: Claims whose keys are checked against those before them at once.
_DEDUPE_BATCH = 256


def reason_kind(reason: str) -> str:
    """A refused row's reason without what is particular to the row (a cell, its lines): the kind
    of reason refused rows are counted by. (A cell's reason has its kind from :class:`BadValue`.)"""
    if reason.startswith("not UTF-8"):
        return "not UTF-8"
    if "fields where the header has" in reason:
        return "not valid CSV: not the header's number of fields"
    if reason.startswith("not valid CSV"):
        return "not valid CSV"
    return reason


class ClaimKeys:
    """The keys of the claims a file has given so far, to tell a claim an earlier row made: 8
    bytes a key in a sorted NumPy array, and the latest few in a set, merged into it now and then
    (a Python set costs some 60 bytes a key: 44 MB for a 200 MB export)."""

    #: Keys held in the set before they are merged into the array.
    MERGE_AT = 1 << 16

    def __init__(self) -> None:
        import numpy as np  # noqa: PLC0415 - only once a file is read

        self._np = np
        self._sorted = np.empty(0, np.int64)
        self._recent: set[int] = set()

    def add(self, keys: Iterable[int]) -> list[bool]:
        """Add ``keys``; for each, whether it is new (neither added before nor earlier in ``keys``)."""
        np = self._np
        given = np.fromiter(keys, np.int64)
        found = [False] * len(given)
        if len(self._sorted):
            at = np.searchsorted(self._sorted, given).clip(max=len(self._sorted) - 1)
            found = (self._sorted[at] == given).tolist()
        new = []
        for key, before in zip(given.tolist(), found, strict=True):
            is_new = not before and key not in self._recent
            if is_new:
                self._recent.add(key)
            new.append(is_new)
        if len(self._recent) >= self.MERGE_AT:
            self.sorted()
        return new

    def sorted(self) -> Any:
        """Every key added, sorted."""
        if self._recent:
            np = self._np
            recent = np.fromiter(self._recent, np.int64, len(self._recent))
            self._sorted = np.sort(np.concatenate((self._sorted, recent)), kind="stable")
            self._recent = set()
        return self._sorted


#: (the header line, or None for a headerless list; its index; its delimiter; the format
#: matched; the index of the line the rows start at)
_Header = tuple[str | None, int, str, Match, int]


#: Files an export is often packed in (a download saved under its export's name, .csv).
_PACKED = (
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"BZh", "a bzip2 file"),
    (b"(\xb5/\xfd", "a zstandard file"),
)


def parse_file(
    name: str,
    data: bytes,
    *,
    site: str | None = None,
    file_format: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> ParsedFile:
    """Read one export, all its claims in ``claims``; raises :class:`UnrecognisedFile` when it is
    no format known (or asked)."""
    parsed = read_export(name, data, site=site, file_format=file_format, progress=progress)
    parsed.claims = list(parsed.stream())
    return parsed


def read_export(
    name: str,
    data: bytes | BinaryIO,
    *,
    site: str | None = None,
    file_format: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> ParsedFile:
    """Open one export (its bytes, or a binary file open at any position, which is read from its
    start a chunk at a time, never held whole): its format found by its header, its rows left to
    :meth:`ParsedFile.stream` (``progress(rows)`` every 5,000); raises :class:`UnrecognisedFile`
    when it is no format known (or asked). The file must stay open, and be read by nothing else,
    until the stream ends."""
    chunks = _chunks_of(io.BytesIO(data) if isinstance(data, bytes) else data)
    start = next(chunks(), b"")
    for magic, what in _PACKED:
        if start.startswith(magic):
            raise UnrecognisedFile(f"this is {what}, not an export's text: unpack it and import the file inside")
    encoding = _csvread.sniff_encoding(chunks)
    formats = candidates(file_format)
    found = _find_header(_csvread.text_lines(chunks(), encoding), formats)
    header_line, index, delimiter, matched, rows_from = found
    fmt = matched.format
    host = site_host(site)
    if fmt.needs_site and host is None:
        raise UnrecognisedFile(
            f"this looks like {fmt.title} ({fmt.name}), which does not say which site it is about: "
            "give it with --site (a domain or host)"
        )
    width = len(matched.header) if header_line is not None else 1
    first = index + 1 if header_line is None else index + 2  # the 1-based number of the first row's line

    def rows() -> Iterator[str]:
        return itertools.islice(_csvread.text_lines(chunks(), encoding), rows_from, None)

    reader = _RowReader(matched, host, _date_order(matched, chunks, encoding, rows, delimiter, width))
    return ParsedFile(
        name, fmt, encoding.name, [], ignored=matched.ignored, preamble=index,
        _rows=_csvread.records(rows(), first, delimiter, width), _reader=reader, _progress=progress,
    )  # fmt: skip


def _chunks_of(file: BinaryIO) -> Callable[[], Iterator[bytes]]:
    """The bytes of ``file`` from its start, a chunk at a time, each time it is called."""

    def chunks() -> Iterator[bytes]:
        file.seek(0)
        while chunk := file.read(_csvread.CHUNK_BYTES):
            yield chunk

    return chunks


def _date_order(
    matched: Match,
    chunks: Callable[[], Iterator[bytes]],
    encoding: _csvread.Encoding,
    rows: Callable[[], Iterator[str]],
    delimiter: str,
    width: int,
) -> tuple[bool | None, str]:
    """Whether the file writes ``a/b/yyyy`` dates day or month first, from all its date cells:
    a first pass over the rows, when the file has such a date at all (its header and preamble
    are searched too: a date there only costs the pass, which reads the rows' cells alone)."""
    dates = [i for name, i in matched.columns.items() if matched.format.field(name).kind == "date"]
    cells: list[str] | Iterator[str] = []
    if dates and any(SLASHED_DATE.search(block) for block in _csvread.text_blocks(chunks(), encoding)):
        records = (r for r in _csvread.records(rows(), 1, delimiter, width) if not r.error)
        cells = (r.fields[i] for r in records for i in dates)
    return slashed_date_order(cells, day_first_headers=matched.day_first)


def _find_header(lines: Iterable[str], formats: Sequence[Format]) -> _Header:
    """The line among the first HEADER_SEARCH_LINES that reads as the most columns of a format;
    else, if a list is allowed and the first line that is not blank is a URL, that line (the
    first row of a headerless list); else :class:`UnrecognisedFile`."""
    best: _Header | None = None
    first: tuple[str, int] | None = None  # the first line that is not blank, and its index
    for index, line in enumerate(lines):
        if index >= HEADER_SEARCH_LINES and (best is not None or first is not None):
            break
        if not line.strip():
            continue
        first = first or (line, index)
        if index >= HEADER_SEARCH_LINES:
            break
        delimiter = _csvread.sniff_delimiter(line)
        header = _csvread.split_line(line, delimiter)
        if not header:
            continue
        found = match(header, formats)
        if found is not None and (best is None or len(found.columns) > len(best[3].columns)):
            best = (line, index, delimiter, found, index + 1)
    if best is not None:
        return best
    line, index = first or ("", 0)
    if "list" in {f.name for f in formats} and _is_url_line(line):
        return (None, index, "\t", Match(BY_NAME["list"], {"source_url": 0}, ["URL"], (), False), index)
    header = _csvread.split_line(line, _csvread.sniff_delimiter(line)) if line else None
    raise unrecognised(header, formats)


def _is_url_line(line: str) -> bool:
    """A headerless list: its first line is one URL and nothing else."""
    text = line.strip()
    if not text or any(c in text for c in ",\t;") or " " in text:
        return False
    try:
        return parse_url(text) is not None and ("://" in text or "/" in text or "." in text)
    except BadValue:
        return False


def site_host(site: str | None) -> str | None:
    """The host ``--site`` names (a domain, a host or a URL), or None; ValueError when it is none."""
    if site is None or not site.strip():
        return None
    try:
        return parse_host(site, "--site")
    except BadValue as exc:
        raise ValueError(f"--site {site!r}: {exc}; give a domain or host, like example.com") from None


def _anchor(cell: str, header: str) -> str:
    return clean_text(cell, MAX_ANCHOR_CHARS) or ""


def _text(cell: str, header: str) -> str | None:
    return clean_text(cell)


#: How a cell of each kind of field is read: ``parser(cell, header)``.
_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "url": parse_url,
    "host": parse_host,
    "int": parse_int,
    "float": parse_float,
    "rating": parse_rating,
    "bool": parse_bool,
    "flag": parse_flag,
    "follow": lambda cell, header: _follow(cell, header),
    "anchor": _anchor,
    "text": _text,
    "rel": _text,
    "link_type": _text,
}
_IDENTITY = frozenset({"source_url", "source_host", "target_url"})


class _RowReader:
    """One format's rows into claims."""

    def __init__(self, matched: Match, site: str | None, date_order: tuple[bool | None, str] = (False, "")) -> None:
        self.fmt = matched.format
        self.site = site
        day_first, undecided = date_order

        def date(cell: str, header: str) -> Any:
            return parse_date(cell, header, day_first=day_first, undecided=undecided)

        # (field name, column index, header as the file spells it, parser, where it goes), once.
        self.cells = []
        for f in self.fmt.fields:
            if f.name in matched.columns:
                index = matched.columns[f.name]
                parser = date if f.kind == "date" else _PARSERS[f.kind]
                where = "value" if f.name in ATTRIBUTES else "" if f.name in _DERIVED | _IDENTITY else "metric"
                self.cells.append((f.name, index, matched.header[index].strip(), parser, where))
        self.required = [(name, self._header(name)) for name in self.fmt.required if name != "anchor"]

    def _header(self, name: str) -> str:
        return next((h for n, _, h, _, _ in self.cells if n == name), name)

    def claim(self, row: list[str]) -> Claim:
        values: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        read: dict[str, Any] = {}
        for name, index, header, parser, where in self.cells:
            value = read[name] = parser(row[index], header)
            if where == "value":
                values[name] = value
            elif where == "metric":
                metrics[name] = value
        for name, header in self.required:
            if read.get(name) is None:
                raise BadValue(f"missing {header!r} (a required column)")
        _derive(read, values, metrics)
        return self._identify(read, values, metrics)

    def _identify(self, read: dict[str, Any], values: dict[str, Any], metrics: dict[str, Any]) -> Claim:
        level = self.fmt.level
        source_url = read.get("source_url")
        source_host = read.get("source_host") or (host_of(source_url) if source_url else None)
        target_url = read.get("target_url")
        if target_url is None and self.site is None:
            raise BadValue(f"missing {self._header('target_url')!r} and no --site to stand for it")
        target_host = host_of(target_url) if target_url else str(self.site)
        anchor_key = ""
        if level == "anchor" or (level == "link" and self.fmt.via != "tracked"):
            anchor_key = values.get("anchor") or ""
        source = source_url if level == "link" else source_host if level == "domain" else ""
        target = target_url or target_host
        key = _key(self.fmt.via, level, source or "", target, anchor_key)
        return Claim(key, level, source_url if level == "link" else None, source_host if level in ("link", "domain")
                     else None, target_url, target_host, values, metrics)  # fmt: skip


def _follow(cell: str, header: str) -> bool | None:
    """EXPECTED FOLLOW / Followable: yes/no, or the words follow, dofollow, nofollow."""
    word = norm(cell)
    if word in ("follow", "dofollow", "do follow", "followed"):
        return True
    if word in ("nofollow", "no follow", "not followed"):
        return False
    return parse_bool(cell, header)


def _derive(read: dict[str, Any], values: dict[str, Any], metrics: dict[str, Any]) -> None:
    """The attributes some columns stand for: follow and rel words, link types and kind flags,
    Semrush's "lost link" (lost when last seen)."""
    if "follow" in read:
        follow = read["follow"]
        values["nofollow"] = None if follow is None else not follow
    if "rel" in read:
        rel = set(norm(read["rel"] or "").split())
        values["nofollow"] = "nofollow" in rel
        values["ugc"] = "ugc" in rel
        values["sponsored"] = "sponsored" in rel
        metrics["rel"] = read["rel"]
    if "link_type" in read:
        raw = read["link_type"]
        values["kind"] = _LINK_TYPES.get(norm(raw or ""))
        metrics["link_type"] = raw
    flags = [name for name in _KIND_FLAGS if name in read]
    if flags:
        on = [name for name in flags if read[name]]
        # With a flag for every other kind (Majestic's), a link flagged as none of them is text.
        every_other = {"image", "redirect", "frame"} <= set(flags) and "text" not in flags
        values["kind"] = on[0] if on else "text" if every_other else None
        for name in flags:
            if name != "text":
                metrics[name] = read[name]
    if "lost" in read:
        metrics["lost"] = read["lost"]
        values["lost_at"] = read.get("last_seen") if read["lost"] else None


def _key(via: str, level: str, source: str, target: str, anchor: str) -> int:
    """A claim's identity as a signed 64-bit number (what DuckDB's BIGINT holds)."""
    text = "\x1f".join((via, level, source, target, anchor)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little", signed=True)
