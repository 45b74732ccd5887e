"""Storing visits: three actions (one function, three faces: a server that owns the store runs
them) and :func:`read_visits`, which reads files on this side and hands the visits over in batches.

A file is one row of ``visit_imports``, found again by the SHA-256 of its first 64 KiB, its size
and the site it was read for: a file read to its end before is not read again. Any other file is
read and each visit stored unless its ``visit_key`` is (the same line in a rotated copy, or a log
that grew). A read that stopped at damage did not reach the end: its stored ``errors`` begin with
an entry marked ``rest_unread``, and the file is read again (a repaired copy may have the same size
and first 64 KiB; what was stored from the damaged one adds nothing). An export's row replaces the
stored row of the same key (a newer export of the same days has the final counts).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from typing_extensions import TypedDict  # pydantic reads it as the API's body on Python < 3.12

from linkback import schema
from linkback.faces import action

if TYPE_CHECKING:
    from linkback.store import Store

__all__ = ["VisitFile", "begin_visit_import", "finish_visit_import", "record_visits"]

#: Refused lines kept in ``visit_imports.errors``.
STORED_ERRORS = 100

_ROW_COLUMNS = [n for n in schema.VISITS.names if n != "import_id"]
_BATCH_SCHEMA = pa.schema([schema.VISITS.field(n) for n in _ROW_COLUMNS])


class VisitFile(TypedDict):
    """A traffic file as its reader saw it."""

    name: str
    fingerprint: str
    size: int
    format: str
    site: str


@action("begin_visit_import")
def begin_visit_import(store: Store, *, file: VisitFile) -> dict[str, Any]:
    """The ``visit_imports`` row of a traffic file about to be read: ``{"import_id", "already"}``.
    ``already`` is true when the same file (first 64 KiB, size, site) was read to its end
    before: reading it again would add nothing. A read that stopped at damage (``errors`` begin
    with ``rest_unread``) did not get there."""

    def write(store: Store) -> dict[str, Any]:
        found = store.con.execute(
            "SELECT import_id, read_at IS NOT NULL AND size = ? "
            "AND NOT coalesce(json_extract(errors, '$[0].rest_unread')::BOOLEAN, false) FROM visit_imports "
            "WHERE fingerprint = ? AND site = ? AND format = ? ORDER BY import_id DESC LIMIT 1",
            [int(file["size"]), file["fingerprint"], file["site"], file["format"]],
        ).fetchall()
        if found:
            return {"import_id": int(found[0][0]), "already": bool(found[0][1])}
        (import_id,) = store.next_ids("visit_import_id_seq", 1)
        store.con.execute(
            "INSERT INTO visit_imports (import_id, fingerprint, size, name, format, site, first_read_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [import_id, file["fingerprint"], int(file["size"]), file["name"], file["format"], file["site"],
             datetime.now(UTC)],
        )  # fmt: skip
        return {"import_id": import_id, "already": False}

    return store.write(write)


@action("record_visits")
def record_visits(store: Store, *, import_id: int, rows: dict[str, list[Any]], replace: bool = False) -> dict[str, int]:
    """Store a batch of visits (columns of ``visits`` but ``import_id``; ``visited_at`` in
    microseconds since 1970 UTC) read from the file ``import_id``: ``{"added", "duplicates"}``.
    A row whose ``visit_key`` is stored already adds nothing, or with ``replace`` (an export's
    rows) replaces the stored one."""
    try:
        table = pa.table({name: rows[name] for name in _ROW_COLUMNS}, schema=_BATCH_SCHEMA)
    except KeyError as exc:
        raise ValueError(f"rows: no column {exc.args[0]!r}") from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
        # OverflowError: a number past 64 bits (a server's body can hold any); too big for int32
        # is ArrowInvalid.
        raise ValueError(f"rows: {exc}") from None
    if table.num_rows == 0:
        return {"added": 0, "duplicates": 0}

    def write(store: Store) -> dict[str, int]:
        con = store.con
        con.register("_visit_batch", table)
        try:
            (lo, hi) = con.execute("SELECT min(visited_at), max(visited_at) FROM _visit_batch").fetchall()[0]
            # Visits come in time order, so the range finds the few row groups a re-read overlaps.
            if replace:
                con.execute(
                    "DELETE FROM visits WHERE visited_at BETWEEN ? AND ? AND visit_key IN "
                    "(SELECT visit_key FROM _visit_batch)",
                    [lo, hi],
                )
                new = "true"
            else:
                new = "NOT EXISTS (SELECT 1 FROM visits v WHERE v.visited_at BETWEEN ? AND ? AND v.visit_key = b.visit_key)"
            (added,) = con.execute(
                f"INSERT INTO visits (import_id, {', '.join(_ROW_COLUMNS)}) "
                f"SELECT ?, {', '.join('b.' + c for c in _ROW_COLUMNS)} FROM _visit_batch b WHERE {new}",
                [import_id] + ([] if replace else [lo, hi]),
            ).fetchall()[0]
        finally:
            con.unregister("_visit_batch")
        added = int(added)
        return {"added": added, "duplicates": table.num_rows - added}

    return store.write(write)


@action("finish_visit_import")
def finish_visit_import(store: Store, *, import_id: int, summary: dict[str, Any]) -> dict[str, Any]:
    """Close a file's read: its counts (``lines``, ``parsed``, ``visits``, ``added``,
    ``skipped``, ``dropped``, ``errors``, ``first_visit``, ``last_visit`` as ISO times) and the
    time it was read. The file's ``added`` stored is every visit it brought: a read that resumes
    one cut short (killed after some batches were committed) adds only the rest."""

    def when(key: str) -> datetime | None:
        value = summary.get(key)
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) and value else None

    def write(store: Store) -> dict[str, Any]:
        store.con.execute(
            "UPDATE visit_imports SET name = coalesce(?, name), lines = ?, parsed = ?, visits = ?, "
            "added = greatest(?, (SELECT count(*) FROM visits WHERE import_id = ?)), "
            "skipped = ?, dropped = ?, errors = ?, first_visit = ?, last_visit = ?, read_at = ? WHERE import_id = ?",
            [summary.get("name"), *(int(summary.get(k) or 0) for k in ("lines", "parsed", "visits", "added")),
             import_id, int(summary.get("skipped") or 0),
             json.dumps(summary.get("dropped") or {}), json.dumps(list(summary.get("errors") or [])[:STORED_ERRORS]),
             when("first_visit"), when("last_visit"), datetime.now(UTC), import_id],
        )  # fmt: skip
        return {"import_id": import_id}

    return store.write(write)
