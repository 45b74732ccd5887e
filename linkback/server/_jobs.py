"""The server's jobs: ingest, rank, send and refbacks asked for through ``/api/v1/jobs``.

The queue is the ``jobs`` table, so a job asked for before a crash is still there after a
restart; one that was running then is marked ``interrupted`` (its committed work is kept: ingest
and rank are made of whole transactions, and running the same job again finishes it). Jobs run
one at a time per lane — ``heavy`` for ingest and rank, which want the cores and the memory, and
``light`` for sends and refbacks, so that a long ingest does not hold up a blog's notifications.
Each job reads through a cursor of its own and writes through the server's single writer
(:meth:`Store.write` on the store it is given). Progress is kept in memory while it runs (and
saved now and then), so following a job costs no query. Files uploaded for a job (an import's
exports) wait on disk until it runs, and go when it ends (:mod:`linkback.server._uploads`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from linkback.alerts._server import after_job
from linkback.faces import FACES, Face, load_all, plain
from linkback.server._uploads import Uploads, uploads_named
from linkback.store import Store

log = logging.getLogger("linkback.server")

LANES = {"ingest": "heavy", "rank": "heavy", "import": "light", "send": "light", "refbacks": "light"}
LANES["alerts_run"] = "light"  # linkback.alerts: the rules look for changes, then what is due is delivered
LANES["monitor"] = "monitor"  # linkback.monitor: link checks, queued by the lane itself when links are due
LANES["crawl"] = "crawl"  # linkback crawl: hours of polite waiting, in a process of its own; holds up nothing else
LANES["categorize"] = "heavy"  # linkback.categories: reads every new domain's pages and links, as rank does
LANES["cc_fetch"] = "commoncrawl"  # linkback.cc: waits on Common Crawl's throttled servers; holds up no ingest
LANES["cc_graph_import"] = "heavy"  # linkback.cc: streams a web graph release of many GB


def lane_of(kind: str) -> str:
    """The lane a kind of job runs in: a kind named in no lane runs in the heavy one (a job no
    lane took would wait queued for ever)."""
    return LANES.get(kind, "heavy")


def kinds_of(lane: str) -> list[str]:
    """The kinds of job one lane runs: every registered job is in exactly one lane."""
    return [kind for kind in sorted({*LANES, *job_faces()}) if lane_of(kind) == lane]


#: Progress is written to the table at most this often (seconds).
SAVE_PROGRESS_EVERY = 2.0
JOB_COLUMNS = ("job_id", "kind", "state", "progress", "result", "error", "created_at", "started_at", "finished_at")


def job_faces() -> dict[str, Face]:
    return {name: face for name, face in load_all().items() if face.kind == "job"}


def queue_job(store: Store, kind: str, params: dict[str, Any]) -> int:
    """Put a job on the queue (one write); its id."""

    def put(store: Store) -> int:
        (job_id,) = store.next_ids("job_id_seq", 1)
        store.con.execute(
            "INSERT INTO jobs (job_id, kind, params, state, progress, result, error, created_at) "
            "VALUES (?, ?, ?, 'queued', '{}', '{}', '', ?)",
            [job_id, kind, json.dumps(plain(params), allow_nan=False), datetime.now(UTC)],
        )
        return job_id

    return store.write(put)


def read_job(con: Any, job_id: int, *, params: bool = False, result: bool = True) -> dict[str, Any] | None:
    """A job's row; its parameters (which can be large: a refbacks job's candidates) only when
    asked for, its result unless told not to."""
    columns = [c for c in JOB_COLUMNS if result or c != "result"] + (["params"] if params else [])
    cur = con.execute(f"SELECT {', '.join(columns)} FROM jobs WHERE job_id = ?", [job_id])
    rows = cur.fetchall()
    if not rows:
        return None
    row = dict(zip(columns, rows[0]))
    for key in ("progress", "result", "params"):
        if key in row:
            row[key] = json.loads(row[key] or "{}")
    return row


def list_jobs(con: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The latest jobs, without their parameters and results."""
    cur = con.execute(f"SELECT job_id FROM jobs ORDER BY job_id DESC LIMIT {int(limit)}")
    return [job for (job_id,) in cur.fetchall() if (job := read_job(con, job_id, result=False)) is not None]


def cancel_job(store: Store, job_id: int) -> bool:
    """Cancel a job that has not started (one write); False when it is not queued."""

    def cancel(store: Store) -> bool:
        rows = store.con.execute(
            "UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE job_id = ? AND state = 'queued' RETURNING job_id",
            [datetime.now(UTC), job_id],
        ).fetchall()
        return bool(rows)

    return store.write(cancel)


class JobLanes:
    """Runs queued jobs: one thread per lane, each taking the oldest queued job of its kinds."""

    def __init__(self, job_store: Callable[[], Store], *, poll_seconds: float = 1.0) -> None:
        # A store whose writes go to the server's writer; each job gets one of its own.
        self.store = job_store()
        self._job_store = job_store
        self.uploads = Uploads(self.store.path)
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.progress: dict[int, dict[str, Any]] = {}
        self._threads = [
            threading.Thread(target=self._loop, args=(lane,), name=f"linkback-jobs-{lane}", daemon=True)
            for lane in sorted(set(LANES.values()))
        ]

    def start(self) -> None:
        # A job that was running when the server stopped did not finish: say so.
        self.store.write(
            lambda store: store.con.execute(
                "UPDATE jobs SET state = 'interrupted', finished_at = ?, "
                "error = 'the server stopped while it ran; what it committed is kept: run it again to finish' "
                "WHERE state = 'running'",
                [datetime.now(UTC)],
            )
        )
        self.uploads.sweep(self._queued_uploads())
        for thread in self._threads:
            thread.start()

    def _queued_uploads(self) -> list[str]:
        """The uploaded files queued jobs will read (those of an ended job are not needed)."""
        payloads = {name: face.payload for name, face in job_faces().items() if face.payload}
        if not payloads:
            return []
        rows = self.store.con.execute(
            "SELECT kind, params FROM jobs WHERE state = 'queued' AND list_contains(?, kind)", [sorted(payloads)]
        ).fetchall()
        return [upload for kind, params in rows for upload in uploads_named(params, payloads[kind])]

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self.uploads.close()

    def live_progress(self, job_id: int) -> dict[str, Any] | None:
        with self._lock:
            progress = self.progress.get(job_id)
            return dict(progress) if progress is not None else None

    def _loop(self, lane: str) -> None:
        kinds = kinds_of(lane)
        cursor = self.store.con.cursor()
        look_at = 0.0  # when the monitor lane next looks for due ledger links
        try:
            while not self._stop.is_set():
                if lane == LANES["monitor"] and time.monotonic() >= look_at:
                    from linkback.monitor._schedule import queue_due  # noqa: PLC0415

                    look_at = time.monotonic() + max(1.0, 20 * self.poll_seconds)
                    queue_due(self.store, cursor)
                rows = cursor.execute(
                    "SELECT job_id, kind, params FROM jobs WHERE state = 'queued' AND list_contains(?, kind) "
                    "ORDER BY job_id LIMIT 1",
                    [kinds],
                ).fetchall()
                if rows:
                    try:
                        self._run(*rows[0])
                    except Exception:  # noqa: BLE001 - the lane outlives a failure of its own bookkeeping
                        log.exception("job lane %s: job %s", lane, rows[0][0])
                        self._stop.wait(self.poll_seconds)
                    continue
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
        finally:
            cursor.close()

    def _run(self, job_id: int, kind: str, params_json: str) -> None:
        started = datetime.now(UTC)
        self.store.write(
            lambda store: store.con.execute(
                "UPDATE jobs SET state = 'running', started_at = ? WHERE job_id = ?", [started, job_id]
            )
        )
        saved_at = [time.monotonic()]

        def progress(counters: dict[str, Any]) -> None:
            with self._lock:
                self.progress[job_id] = plain(counters)
            if time.monotonic() - saved_at[0] >= SAVE_PROGRESS_EVERY:
                saved_at[0] = time.monotonic()
                snapshot = json.dumps(plain(counters))
                self.store.write(
                    lambda store: store.con.execute("UPDATE jobs SET progress = ? WHERE job_id = ?", [snapshot, job_id])
                )

        state, result, error = "done", {}, ""
        store = self._job_store()
        # The server's own queries run on one DuckDB thread; a rank's graph building wants them all.
        threads = store.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        if kind == "rank":
            store.con.execute("RESET threads")
        face = FACES.get(kind) or job_faces().get(kind)
        files = face.payload if face is not None else ()
        try:
            if face is None or face.kind != "job":
                raise ValueError(f"no job kind {kind!r}")
            params = json.loads(params_json or "{}")
            self.uploads.bind(files, params)
            result = face.fn(store, progress=progress, **params)
        except Exception as exc:  # noqa: BLE001 - a failed job is recorded; the lane goes on
            log.warning("job %s (%s) failed: %s", job_id, kind, exc)
            state, error = "failed", f"{exc}" if _expected(exc) else f"{type(exc).__name__}: {exc}"
        finally:
            store.con.execute(f"SET threads = {int(threads)}")
            store.close()
            # Read or not, the job's uploads are done with (all it named, even past one missing).
            self.uploads.discard(uploads_named(params_json, files))
        # Before the job shows as ended: whoever sees it done finds the alerts it caused.
        after_job(self._job_store, kind, state)
        final = json.dumps(self.live_progress(job_id) or {})
        try:
            payload = json.dumps(plain(result), allow_nan=False)
        except ValueError as exc:  # a NaN in a result: say so rather than store what JSON cannot read
            state, error, payload = "failed", f"its result cannot be stored as JSON: {exc}", "{}"
        kept = _without_payload(kind, params_json)
        self.store.write(
            lambda store: store.con.execute(
                "UPDATE jobs SET state = ?, result = ?, error = ?, progress = ?, finished_at = ?, params = ?"
                " WHERE job_id = ?",
                [state, payload, error, final, datetime.now(UTC), kept, job_id],
            )
        )
        with self._lock:
            self.progress.pop(job_id, None)


def _without_payload(kind: str, params_json: str | None) -> str | None:
    """The job's parameters as kept once it has ended: what a ``payload`` parameter carried (a
    file's bytes) is dropped; of a list of named items only the names stay."""
    face = FACES.get(kind) or job_faces().get(kind)
    if face is None or not face.payload or not params_json:
        return params_json
    params = json.loads(params_json)
    for name in face.payload:
        value = params.get(name)
        if isinstance(value, list):
            params[name] = [{"name": v.get("name")} if isinstance(v, dict) else None for v in value]
        elif name in params:
            params[name] = None
    return json.dumps(params)


def _expected(exc: Exception) -> bool:
    from linkback.errors import LinkbackError  # noqa: PLC0415

    return isinstance(exc, (LinkbackError, ValueError))
