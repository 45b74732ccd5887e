"""``linkback visits``: read traffic files on this side and store their visits, in batches, in the
store (or the server that owns it), so memory stays bounded however long the log."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from linkback.faces import ProgressFn, iso
from linkback.traffic._exports import MAX_VISITS, ExportRow, read_export
from linkback.traffic._fast import read_combined_visits
from linkback.traffic._files import MAX_LINE_BYTES, STREAM_ERRORS, LogStats, describe_damage, open_file
from linkback.traffic._formats import LineFormat, W3CFormat
from linkback.traffic._read import iter_traffic_paths, read_hits, sniff_file_or_damage
from linkback.traffic._store import VisitFile, begin_visit_import, finish_visit_import, record_visits
from linkback.traffic._visits import VisitBuilder, line_key, referrer_of
from linkback.urls import split_host

__all__ = ["FileResult", "read_visits"]

#: Bytes of a file its fingerprint covers.
FINGERPRINT_BYTES = 64 * 1024
#: Refused lines a file's result quotes (all are counted).
RESULT_ERRORS = 20
#: Visits handed to the store at a time; to a server, fewer (its actions take bodies up to 1 MiB).
BATCH = 20_000
REMOTE_BATCH = 1_000


@dataclass
class FileResult:
    """What reading one file did."""

    name: str
    status: str = "read"  # read, partial (read up to damage), already (read before: skipped), failed, skipped
    format: str = ""
    lines: int = 0
    parsed: int = 0
    visits: int = 0
    added: int = 0
    skipped: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    first_visit: datetime | None = None
    last_visit: datetime | None = None


def fingerprint(path: str) -> tuple[str, int]:
    """(SHA-256 of the file's first 64 KiB as stored, its size)."""
    with open(path, "rb") as fh:
        head = fh.read(FINGERPRINT_BYTES)
        size = os.fstat(fh.fileno()).st_size
    return hashlib.sha256(head).hexdigest(), size


def read_visits(
    store: Any,
    inputs: Iterable[str | os.PathLike[str]],
    *,
    host: str | None = None,
    scheme: str = "https",
    max_line_bytes: int = MAX_LINE_BYTES,
    progress: ProgressFn | None = None,
) -> list[FileResult]:
    """Read the access logs and analytics exports ``inputs`` names (files, directories, globs) and
    store their visits in ``store`` (a :class:`~linkback.store.Store`, or a server's
    :class:`~linkback.faces.RemoteStore`). ``host`` is the site the logs are for (required for
    logs whose lines name no host, and for exports); ``scheme`` the pages' scheme when a line does
    not tell. One :class:`FileResult` per file. Raises SourceError when an input names nothing,
    URLError for an unusable ``host`` — before anything is stored."""
    VisitBuilder(host, scheme, lambda rows: None)  # checks host and scheme before any file is read
    listing = LogStats()
    paths = iter_traffic_paths(inputs, listing)
    results = [FileResult(name, status="skipped", error=problem) for name, problem in _problems(listing)]
    for done, path in enumerate(paths):
        if progress is not None:
            progress({"done": done, "total": len(paths), "stage": os.fspath(path)})
        results.append(_read_file(store, os.fspath(path), host or "", scheme, max_line_bytes, progress))
    if progress is not None:
        progress({"done": len(paths), "total": len(paths), "stage": "done"})
    return results


def _problems(stats: LogStats) -> list[tuple[str, str]]:
    return [tuple(line.split(": ", 2)[::2]) for line in stats.errors]  # type: ignore[misc]


def _read_file(store: Any, path: str, site: str, scheme: str, cap: int, progress: ProgressFn | None) -> FileResult:
    result = FileResult(path)
    try:
        kind, damage = sniff_file_or_damage(path)
        digest, size = fingerprint(path)
    except (OSError, ValueError, *STREAM_ERRORS) as exc:
        result.status, result.error = "failed", getattr(exc, "strerror", None) or str(exc)
        return result
    if kind is None:
        result.status, result.error = "failed", damage or "not an access log or analytics export linkback reads"
        return result
    result.format = kind if isinstance(kind, str) else kind.name
    if isinstance(kind, str) and not site:
        result.status, result.error = "failed", f"a {kind} export does not name its site: give --host"
        return result
    if isinstance(kind, W3CFormat) and not kind.has_referer:
        result.status, result.error = "failed", "its #Fields have no cs(Referer): it cannot tell where visits came from"
        return result
    info: VisitFile = {"name": path, "fingerprint": digest, "size": size, "format": result.format, "site": site}
    begun = begin_visit_import(store, file=info)
    if begun["already"]:
        result.status = "already"
        return result
    import_id = int(begun["import_id"])

    def flush(rows: dict[str, list[Any]]) -> None:
        result.added += record_visits(store, import_id=import_id, rows=rows, replace=isinstance(kind, str))["added"]
        if progress is not None:
            progress({"stage": path, "rows": builder.rows})

    remote = getattr(store, "remote", None) is not None
    builder = VisitBuilder(site or None, scheme, flush, batch=REMOTE_BATCH if remote else BATCH)
    if isinstance(kind, str):
        _read_export(path, kind, site, builder, result)
    else:
        _read_log(path, kind, builder, result, cap)
    builder.close()
    result.visits = builder.rows
    result.dropped = dict(builder.drops)
    if builder.drops["no_host"]:
        no_host = f"{builder.drops['no_host']:,} requests name no host: give --host to read them"
        result.error = f"{result.error}; {no_host}" if result.error else no_host
    result.channels = dict(builder.channels.most_common())
    to_time = lambda ts: None if ts is None else datetime.fromtimestamp(ts, UTC)  # noqa: E731
    result.first_visit, result.last_visit = to_time(builder.first), to_time(builder.last)
    errors = result.errors
    if result.status == "partial":
        # First, so that the stored list's cut never drops it: begin_visit_import reads it to read
        # the file again (a repaired copy can have the same size and first 64 KiB).
        errors = [{"line": result.lines, "reason": result.error, "rest_unread": True}, *errors]
    summary = {
        "name": path, "lines": result.lines, "parsed": result.parsed, "visits": result.visits, "added": result.added,
        "skipped": result.skipped, "dropped": result.dropped, "errors": errors,
        "first_visit": iso(result.first_visit) if result.first_visit else None,
        "last_visit": iso(result.last_visit) if result.last_visit else None,
    }  # fmt: skip
    finish_visit_import(store, import_id=import_id, summary=summary)
    return result


def _read_log(path: str, fmt: LineFormat | W3CFormat, builder: VisitBuilder, result: FileResult, cap: int) -> None:
    stats = LogStats()
    if fmt.name == "combined":
        read_combined_visits(path, builder, stats, cap)  # the hot loop: most logs are combined
    else:
        add = builder.add_hit
        for _, line, hit in read_hits(path, fmt, stats, max_line_bytes=cap):
            add(hit, line)
    result.lines, result.parsed = stats.lines, stats.parsed
    result.skipped = sum(n for key, n in stats.skipped.items() if key != "comment")
    for text in stats.errors:
        where, _, what = text.partition(": ")
        line = where.rpartition(":")[2]
        if line.isdigit() and len(result.errors) < RESULT_ERRORS:
            result.errors.append({"line": int(line), "reason": what})
        elif not line.isdigit():
            result.error = what  # a file problem: the stream broke off
    if stats.file_problems:
        result.status = "partial"


def _read_export(path: str, kind: str, site: str, builder: VisitBuilder, result: FileResult) -> None:
    refused: list[tuple[int, str]] = []
    totals: dict[int, list[Any]] = {}
    site_parts = split_host(builder.default_host)
    page = (None, builder.default_host, site_parts.domain, site_parts.rhost, None)
    try:
        with open_file(path) as fh:
            for row in read_export(fh, kind, refused):
                got = _export_visit(row, kind, site, builder)
                if isinstance(got, str):
                    result.lines += 1
                    builder.drops[got] += row.visits
                    continue
                key, ts, referrer, tagged = got
                if _add_total(totals, key, [ts, page, referrer, tagged, row.visits], row, refused):
                    result.lines += 1
    except STREAM_ERRORS as exc:  # a compressed export cut short: its rows before the cut count, as a log's do
        result.status = "partial"
        result.error = f"after {result.lines + len(refused):,} rows: {describe_damage(path, exc)}"
    result.lines += len(refused)
    result.parsed = result.lines - len(refused)
    result.skipped = len(refused)
    result.errors = [{"line": line, "reason": reason} for line, reason in refused[:RESULT_ERRORS]]
    for key, (ts, page_, referrer, tagged, visits) in totals.items():
        builder.add_count(key, ts, page_, referrer, tagged, visits)


def _add_total(totals: dict[int, list[Any]], key: int, entry: list[Any], row: ExportRow,
               refused: list[tuple[int, str]]) -> bool:  # fmt: skip
    """Add an export row's count to its key's; False (the row refused) when the sum would not fit
    the one stored row the key has. Rows that differ only in columns not kept (utm_content...)
    share a key."""
    held = totals.get(key)
    if held is None:
        totals[key] = entry
    elif held[4] + row.visits > MAX_VISITS:
        why = f"visit count {row.visits:,} takes the total of its day and source {entry[3][0]!r} over {MAX_VISITS:,}"
        refused.append((row.line_no, why + ", the most one row can hold"))
        return False
    else:
        held[4] += row.visits
    return True


def _export_visit(row: ExportRow, kind: str, site: str, builder: VisitBuilder) -> tuple | str:
    """(key, time, referrer, (source, medium, campaign, channel)) of an export row, or a drop reason."""
    from linkback.traffic._channels import channel, source_category  # noqa: PLC0415

    source = row.source
    if source.lower() in ("direct / none", "direct", "(direct)"):
        source = "(direct)"
    referrer: tuple = (None, None, None, "", "", "")
    text = row.referrer or (source if _looks_like_host(source) else "")
    if text and source != "(direct)":
        url = text if "://" in text else "https://" + text
        found = referrer_of(url, "", builder.sites)
        if len(found) == 1:
            return found[0]  # the site itself, or spam
        referrer = found if row.referrer else (None, *found[1:])
        derived_medium = found[4]
    else:
        derived_medium = "(none)" if source == "(direct)" else ""
    category = source_category(source)
    medium = row.medium or derived_medium or {"search": "organic", "email": "email"}.get(category, "referral")
    ch = row.channel or channel(source or "(not set)", medium, row.campaign, category)
    day = datetime(row.day.year, row.day.month, row.day.day, tzinfo=UTC)
    key = line_key("\x00".join((kind, site, row.day.isoformat(), source, medium, row.campaign, row.referrer, ch)))
    return key, day.timestamp(), referrer, (source or "(not set)", medium, row.campaign, ch)


def _looks_like_host(text: str) -> bool:
    return "." in text and not any(c.isspace() or c in "/:@" for c in text.strip())
