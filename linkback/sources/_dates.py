"""Lenient parsing of archive dates (WARC-Date, ARC 14-digit dates), always to aware UTC."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_ISOISH = re.compile(
    rb"^\s*(\d{4})-?(\d{2})-?(\d{2})\d*[T ]?(\d{2}):?(\d{2}):?(\d{2})(?:[.,]\d+)?\s*"
    rb"(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_DIGITS14 = re.compile(rb"^\s*(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")


def parse_lenient(value: str | bytes | None) -> datetime | None:
    """A best-effort UTC datetime from a malformed WARC/ARC date, or None.

    ``2008-10-294T05:21:46-0700`` (ClueWeb09's WARC/0.18 files: a stray digit in the day) gives
    2008-10-29 12:21:46 UTC; ``20080430204825`` (ARC) gives 2008-04-30 20:48:25 UTC. A date
    without a zone is taken as UTC, as the WARC standard requires.
    """
    if value is None:
        return None
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value
    m = _ISOISH.match(raw) or _DIGITS14.match(raw)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    zone = m.groups()[6] if len(m.groups()) > 6 else None
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
    if zone and zone.upper() != b"Z":
        sign = -1 if zone.startswith(b"-") else 1
        digits = zone[1:].replace(b":", b"")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
        try:
            dt -= sign * offset
        except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0, 9999-12-31T23:59-01:00 in 10000
            return None
    return dt


def as_utc(dt: datetime) -> datetime:
    """``dt`` in UTC (a naive one taken as UTC). Raises OverflowError for a date whose UTC
    instant is outside years 1-9999 (see :func:`utc_or_none`)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def utc_or_none(dt: datetime | None) -> datetime | None:
    """:func:`as_utc`, or None for no date or one with no UTC instant a datetime holds (a
    hostile ``WARC-Date`` of ``0001-01-01T00:00:00+01:00`` must not stop an ingest)."""
    if dt is None:
        return None
    try:
        return as_utc(dt)
    except OverflowError:
        return None
