"""What a server asks with ``Retry-After`` (RFC 9110 §10.2.3): the crawler and the monitor both
wait it out, each its own way."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str, now: datetime, cap: float) -> float | None:
    """How long ``Retry-After: value`` asks to wait, between 0 and ``cap``; None if unreadable.

    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> retry_after_seconds("2", now, 60), retry_after_seconds("Thu, 01 Jan 2026 00:01:30 GMT", now, 60)
    (2.0, 60.0)
    >>> retry_after_seconds("soon", now, 60) is None
    True
    """
    value, cap = value.strip(), float(cap)
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), cap)
