"""The endpoints each target advertised, kept across runs as its HTTP cache headers allow [WM §5.3].

A sender SHOULD respect HTTP cache headers on discovery. Each target's discovery answer (its
endpoints, already resolved against the URL after redirects) is stored in ``discovery_cache``
with the validators and the freshness the target gave (RFC 9111, as a private cache):

* ``Cache-Control: no-store``: nothing is stored (and an earlier entry is dropped).
* ``no-cache``: stored, never reused without revalidating.
* ``max-age=N`` (``s-maxage`` is for shared caches and ignored; ``private`` is fine for us), else
  ``Expires`` minus ``Date``: fresh that long, less the ``Age`` it had, at most
  :data:`MAX_FRESHNESS`. An invalid value is stale.
* No explicit freshness: not fresh (no heuristic freshness), but the ``ETag`` / ``Last-Modified``
  are kept, so the next run asks with ``If-None-Match`` / ``If-Modified-Since``; a 304 reuses the
  stored endpoints and renews the entry from the 304's headers.
* A target reached through a redirect is never fresh: the redirect's own cache headers are not
  seen, and the next run may be sent elsewhere. Its validators are kept for a conditional GET.

Only 2xx answers are stored; another status drops the entry. The functions here are pure but
for :func:`load_entries` and :func:`save_entries`, which take a DuckDB connection. A store
without the table (made between schema version 4's first release and this one) works without
the cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import duckdb

#: The longest a target's answer is reused without asking, whatever its headers say.
MAX_FRESHNESS = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One ``discovery_cache`` row."""

    target: str
    final_url: str
    webmention: str
    pingback: str
    trackback: str
    etag: str
    last_modified: str
    fetched_at: datetime
    expires_at: datetime | None

    @property
    def endpoints(self) -> tuple[str, str, str]:
        return self.webmention, self.pingback, self.trackback

    def fresh(self, now: datetime) -> bool:
        return self.expires_at is not None and now < _aware(self.expires_at)

    def validators(self) -> dict[str, str]:
        """The headers of a conditional GET of the target (empty when there is nothing to send)."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


_COLUMNS = [f.name for f in fields(CacheEntry)]


# --- the freshness rules (pure) --------------------------------------------------------------------


def cache_control(headers: Iterable[tuple[str, str]]) -> dict[str, str | None]:
    """The ``Cache-Control`` directives of a response (every field; names lower case, quotes
    taken off values). A repeated directive keeps its first value."""
    out: dict[str, str | None] = {}
    for name, value in headers:
        if name.lower() != "cache-control":
            continue
        for part in _split_commas(value):
            key, eq, arg = part.partition("=")
            key = key.strip().lower()
            if key and key not in out:
                arg = arg.strip()
                if len(arg) >= 2 and arg[0] == arg[-1] == '"':
                    arg = arg[1:-1]
                out[key] = arg if eq else None
    return out


def _split_commas(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    lname = name.lower()
    return next((v for k, v in headers if k.lower() == lname), None)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
        return _aware(parsed)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # a date a hostile server made up (year 99999...) is no date


def _seconds(value: str | None) -> int | None:
    """A delta-seconds value (RFC 9111 §1.2.2), None when it is not one."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def freshness(headers: Iterable[tuple[str, str]], received_at: datetime) -> tuple[bool, datetime | None]:
    """(storable, fresh until) for one response's headers, received at ``received_at``.

    ``storable`` is False for ``no-store``. ``fresh until`` is None when the answer must be
    revalidated before reuse: ``no-cache``, no explicit freshness, an invalid or past one.
    """
    headers = list(headers)
    directives = cache_control(headers)
    if "no-store" in directives:
        return False, None
    if "no-cache" in directives:
        return True, None
    if "max-age" in directives:
        seconds = _seconds(directives["max-age"])
        if seconds is None:
            return True, None
        lifetime = timedelta(seconds=min(seconds, MAX_FRESHNESS.total_seconds()))
    else:
        raw_expires = _header(headers, "expires")
        if raw_expires is None:
            return True, None
        expires = _http_date(raw_expires)
        if expires is None:
            return True, None  # "Expires: 0" and other invalid dates mean already expired
        date = _http_date(_header(headers, "date")) or _aware(received_at)
        lifetime = min(expires - date, MAX_FRESHNESS)
    age = _seconds(_header(headers, "age")) or 0
    until = _aware(received_at) + lifetime - timedelta(seconds=age)
    return True, (until if until > _aware(received_at) else None)


def entry_for(
    target: str,
    endpoints: tuple[str, str, str],
    *,
    status: int,
    headers: Iterable[tuple[str, str]],
    final_url: str,
    redirected: bool,
    received_at: datetime,
) -> CacheEntry | None:
    """The entry to store for a discovery answer, or None when nothing may or need be kept."""
    if not 200 <= status < 300:
        return None
    headers = list(headers)
    storable, until = freshness(headers, received_at)
    if redirected:
        until = None
    etag = (_header(headers, "etag") or "").strip()
    last_modified = (_header(headers, "last-modified") or "").strip()
    if not storable or (until is None and not etag and not last_modified):
        return None
    webmention, pingback, trackback = endpoints
    return CacheEntry(
        target, final_url, webmention, pingback, trackback, etag, last_modified, _aware(received_at), until
    )


def revalidated(
    entry: CacheEntry, headers: Iterable[tuple[str, str]], *, redirected: bool, received_at: datetime
) -> CacheEntry | None:
    """``entry`` renewed by a 304 answer: its freshness from the 304's headers (RFC 9111 §4.3.4:
    they replace the stored ones), new validators if it sent any. None for ``no-store``."""
    headers = list(headers)
    storable, until = freshness(headers, received_at)
    if not storable:
        return None
    if redirected:
        until = None  # see the module docstring
    return CacheEntry(
        entry.target,
        entry.final_url,
        entry.webmention,
        entry.pingback,
        entry.trackback,
        (_header(headers, "etag") or "").strip() or entry.etag,
        (_header(headers, "last-modified") or "").strip() or entry.last_modified,
        _aware(received_at),
        until,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- the store -------------------------------------------------------------------------------------


def _have_table(con: duckdb.DuckDBPyConnection) -> bool:
    # Asked, not tried: a failed statement would abort the caller's transaction.
    query = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'discovery_cache'"
    return bool(con.execute(query).fetchall()[0][0])


def load_entries(con: duckdb.DuckDBPyConnection, targets: Iterable[str]) -> dict[str, CacheEntry]:
    """The stored entries of ``targets``."""
    targets = sorted(set(targets))
    if not targets or not _have_table(con):
        return {}
    rows = con.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM discovery_cache WHERE target IN ({', '.join('?' for _ in targets)})",
        targets,
    ).fetchall()
    text = len(_COLUMNS) - 2  # every column but the two times is a string
    entries = {}
    for row in rows:
        strings: list[Any] = [v or "" for v in row[:text]]  # NULL reads as ""
        entries[row[0]] = CacheEntry(*strings, *row[text:])
    return entries


def save_entries(con: duckdb.DuckDBPyConnection, changes: Mapping[str, CacheEntry | None]) -> None:
    """Store each target's new entry; None drops the target's entry."""
    if not changes or not _have_table(con):
        return
    targets = list(changes)
    con.execute(f"DELETE FROM discovery_cache WHERE target IN ({', '.join('?' for _ in targets)})", targets)
    rows = [astuple(entry) for entry in changes.values() if entry is not None]
    if rows:
        con.executemany(
            f"INSERT INTO discovery_cache ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})", rows
        )
