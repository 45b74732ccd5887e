"""What was sent, in the store: the ``sends`` history and the ``send_sources`` state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from linkback import schema


@dataclass(frozen=True, slots=True)
class SendRecord:
    """One notification (or the finding that there was no endpoint to notify)."""

    source: str
    target: str
    protocol: str
    endpoint: str
    status: str
    reason: str
    http_status: int | None
    answer: str
    location: str
    linked: bool
    attempts: int
    sent_at: datetime


_COLUMNS = [name for name in schema.SENDS.names if name != "send_id"]


def record_sends(con: duckdb.DuckDBPyConnection, records: Sequence[SendRecord]) -> None:
    if not records:
        return
    table = pa.Table.from_pylist([asdict(r) for r in records], schema=schema.SENDS.remove(0))
    con.register("_sends", table)
    try:
        con.execute(
            f"INSERT INTO sends (send_id, {', '.join(_COLUMNS)}) "
            f"SELECT nextval('send_id_seq'), {', '.join(_COLUMNS)} FROM _sends"
        )
    finally:
        con.unregister("_sends")


def previous_targets(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    """Targets an earlier send for ``source`` notified (or tried to), while the post linked to them."""
    rows = con.execute(
        "SELECT DISTINCT target FROM sends WHERE source = ? AND linked AND status <> 'dry_run'", [source]
    ).fetchall()
    return {r[0] for r in rows}


def history(con: duckdb.DuckDBPyConnection, source: str | None = None, limit: int | None = None) -> list[dict]:
    """Sends, newest first (all of them, or those for one post)."""
    where, params = ("WHERE source = ?", [source]) if source else ("", [])
    cur = con.execute(
        f"SELECT * FROM sends {where} ORDER BY sent_at DESC, send_id DESC" + (f" LIMIT {int(limit)}" if limit else ""),
        params,
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def source_state(con: duckdb.DuckDBPyConnection, url: str) -> dict | None:
    cur = con.execute("SELECT * FROM send_sources WHERE url = ?", [url])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return dict(zip(names, rows[0])) if rows else None


def save_source_state(con: duckdb.DuckDBPyConnection, state: dict) -> None:
    con.execute("DELETE FROM send_sources WHERE url = ?", [state["url"]])
    names = [n for n in schema.SEND_SOURCES.names if n in state]
    con.execute(
        f"INSERT INTO send_sources ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [state[n] for n in names],
    )
