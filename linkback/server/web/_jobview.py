"""The job a dashboard page follows (``?job=N``): its row, with the live progress while it runs."""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException, Request

from linkback.faces import plain
from linkback.server._app import ServerState, state_of
from linkback.server._jobs import read_job


def with_live_progress(server: ServerState, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the runner's live progress while the job runs (stored progress otherwise)."""
    live = server.jobs.live_progress(row["job_id"]) if row["state"] == "running" else None
    row["progress"] = plain(live or row["progress"])
    return row


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
