"""Queueing signed webhook calls for mention events (new, approved, deleted).

The call itself is made by the server's job runner from ``webhook_deliveries``, signed with the
site's secret, and retried with backoff; queueing happens in the same transaction as the change
it reports, so an event is never lost and never sent for a change that was rolled back.
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from linkback.mentions._render import jf2_entry
from linkback.mentions._store import get

EVENTS = ("new", "approved", "deleted")


def queue_webhook(con: duckdb.DuckDBPyConnection, mention_id: int, event: str, now: datetime) -> bool:
    """Queue the site's webhook call for ``event`` of a mention; False when the site has none."""
    if event not in EVENTS:
        raise ValueError(f"event must be one of {', '.join(EVENTS)}")
    row = get(con, mention_id)
    if row is None:
        return False
    site = con.execute("SELECT coalesce(webhook_url, '') FROM sites WHERE site = ?", [row["site"]]).fetchall()
    if not site or not site[0][0]:
        return False
    payload: dict = {"event": event, "id": mention_id, "source": row["source"], "target": row["target"]}
    if event == "deleted":
        payload["deleted"] = True
    else:
        payload["post"] = jf2_entry(row)
    con.execute(
        "INSERT INTO webhook_deliveries (delivery_id, site, event, mention_id, payload, created_at, attempts, "
        "next_attempt_at) VALUES (nextval('delivery_id_seq'), ?, ?, ?, ?, ?, 0, ?)",
        [row["site"], event, mention_id, json.dumps(payload, default=str, sort_keys=True), now, now],
    )
    return True
