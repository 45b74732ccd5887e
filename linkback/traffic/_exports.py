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
with its line number and reason; the rest are read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from linkback.traffic._formats import in_window

_EPOCH_DAY = date(1970, 1, 1)

__all__ = ["ExportRow", "read_export", "sniff_export"]


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


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


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


def _count(text: str) -> int | None:
    text = text.strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
    if text.endswith(".0"):
        text = text[:-2]
    return int(text) if text.isdigit() else None


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
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
    try:
        if kind == "plausible":
            yield from _plausible(text, refuse)
        else:
            yield from _ga4(text, refuse)
    finally:
        text.detach()  # the caller closes its file


def _plausible(text: io.TextIOWrapper, refuse: list[tuple[int, str]]) -> Iterator[ExportRow]:
    reader = csv.reader(text)
    header = [h.strip().lower() for h in next(reader, [])]
    at = {name: i for i, name in enumerate(header)}
    count_at = at.get("visits", at.get("visitors"))
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = at.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        day = _day(cell("date"))
        visits = _count(row[count_at]) if count_at is not None and count_at < len(row) else None
        if day is None:
            refuse.append((line, f"date {cell('date')!r} is not a date"))
            continue
        if visits is None:
            refuse.append((line, "no visit count"))
            continue
        source = cell("utm_source") or cell("source")
        yield ExportRow(day, source, cell("utm_medium"), cell("utm_campaign"), cell("referrer"), cell("channel"),
                        visits, line)  # fmt: skip


def _ga4(text: io.TextIOWrapper, refuse: list[tuple[int, str]]) -> Iterator[ExportRow]:
    start: date | None = None
    header: list[str] | None = None
    line = 0
    for raw in text:
        line += 1
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
        row = next(csv.reader([raw]), [])
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
    visits = _count(values[count_name]) if count_name else None
    if visits is None:
        return "no session count"
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


def decode_head(data: bytes) -> str:
    """The first bytes of an export as text, for :func:`sniff_export`."""
    return _decode(data)
