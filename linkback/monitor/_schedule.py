"""On schedule: the server's job runner asks, now and then, whether ledger links are due, and
queues one ``monitor`` job when they are and none is queued or running already."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from linkback.monitor._ledger import any_due

if TYPE_CHECKING:
    from linkback.store import Store

log = logging.getLogger("linkback.monitor")

#: Links one scheduled job checks at most (the most overdue first): a job's links are held in
#: memory while it runs, and the rest are due for the next job, queued as soon as this one ends.
SCHEDULED_LIMIT = 50_000
#: After a monitor job failed, the next is queued no sooner than this.
RETRY_AFTER_FAILURE = timedelta(minutes=10)


def queue_due(store: Store, con: Any, now: datetime | None = None) -> int | None:
    """Queue a ``monitor`` job (through ``store``'s writer) if links are due and no monitor job
    waits or runs; its id, else None. ``con`` is the caller's cursor, for the reads."""
    from linkback.server._jobs import queue_job  # noqa: PLC0415 - the server's queue

    now = now or datetime.now(UTC)
    try:
        if not any_due(con, now):
            return None
        # One at a time; and after a run that failed, a pause, not a new run every look.
        busy = con.execute(
            "SELECT 1 FROM jobs WHERE kind = 'monitor' AND (state IN ('queued', 'running') "
            "OR (state = 'failed' AND finished_at > ?)) LIMIT 1",
            [now - RETRY_AFTER_FAILURE],
        ).fetchall()
        if busy:
            return None
        return queue_job(store, "monitor", {"limit": SCHEDULED_LIMIT})
    except Exception:  # noqa: BLE001 - a failed look must not stop the job lane; the next one may work
        log.exception("monitor: cannot queue the due checks")
        return None
