"""The job a dashboard page follows (``?job=N``): its row, with the live progress while it runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request

from linkback.faces import plain
from linkback.server._app import ServerState, state_of
from linkback.server._jobs import read_job

#: A page that follows a job reloads every second while the job is young (most end within
#: seconds: the reader should not wait longer than the job), then every :data:`RELOAD_SECONDS`.
QUICK_RELOAD_SECONDS, RELOAD_SECONDS = 1, 3
QUICK_RELOAD_FOR = timedelta(seconds=20)


def with_live_progress(server: ServerState, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the runner's live progress while the job runs (stored progress otherwise),
    and ``reload``: in how many seconds a page showing it should reload (None once it ended)."""
    live = server.jobs.live_progress(row["job_id"]) if row["state"] == "running" else None
    row["progress"] = plain(live or row["progress"])
    row["reload"] = reload_seconds(row)
    return row


def reload_seconds(row: dict[str, Any], now: datetime | None = None) -> int | None:
    """In how many seconds a page following the job ``row`` reloads; None once it has ended."""
    if row["state"] not in ("queued", "running"):
        return None
    created = row.get("created_at")
    young = created is None or (now or datetime.now(UTC)) - created < QUICK_RELOAD_FOR
    return QUICK_RELOAD_SECONDS if young else RELOAD_SECONDS


def job_view(request: Request, job: str, kind: str, noun: str, *, params: bool = False) -> dict[str, Any] | None:
    """The ``kind`` job ``job`` names, or None when it names none; 404 for any other job or text
    (``noun`` names the kind in the message: "no monitor job 12")."""
    if not job:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", job):
        raise HTTPException(status_code=404, detail=f"no such {noun} job")
    server = state_of(request)
    row = read_job(server.reader(), int(job), params=params)
    if row is None or row["kind"] != kind:
        raise HTTPException(status_code=404, detail=f"no {noun} job {job}")
    return with_live_progress(server, row)
