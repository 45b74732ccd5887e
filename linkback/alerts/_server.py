"""Alerts in the server: evaluated after the jobs that change links and ranks, now and then on
the runner's passes (mentions verified add links too), and delivered on those passes.

The server's job runner owns a :class:`AlertPasses`; each of its dispatch passes asks it
whether anything is due (one small query) and, if so, hands one evaluation-and-delivery to the
runner's thread pool, one at a time. The job lanes call :func:`after_job` when a job ends.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from linkback.alerts._deliver import deliver_alerts
from linkback.alerts._evaluate import evaluate_alerts
from linkback.alerts._mail import AlertSettings
from linkback.store import Store

log = logging.getLogger("linkback.server")

#: Jobs after which the rules look again: they add links, losses, checks or ranks.
EVALUATE_AFTER = frozenset({"ingest", "rank", "import", "crawl", "monitor", "refbacks"})
#: The rules also look this often (seconds) on the runner's passes.
EVALUATE_EVERY = 300.0
#: A round that failed (the database, a bug) is not tried again for this long (seconds).
PAUSE_AFTER_FAILURE = 30.0


def after_job(job_store: Callable[[], Store], kind: str, state: str) -> None:
    """Let the rules look at what a finished job changed; a failure is logged, never raised (the
    job's own outcome is already stored). The runner delivers what this makes on its next pass."""
    if state != "done" or kind not in EVALUATE_AFTER:
        return
    store = job_store()
    try:
        evaluate_alerts(store)
    except Exception:  # noqa: BLE001 - alerts must not take the job lane down
        log.exception("evaluating alert rules after a %s job failed", kind)
    finally:
        store.close()


class AlertPasses:
    """The alert work of the server's :class:`~linkback.server._runner.JobRunner`."""

    def __init__(self, runner: Any, *, evaluate_every: float = EVALUATE_EVERY) -> None:
        self.runner = runner
        self.evaluate_every = evaluate_every
        self._busy = False
        self._lock = threading.Lock()
        self._evaluated_at = -math.inf
        #: After a round that failed, none starts before this (monotonic seconds): no hot loop.
        self._resume_at = -math.inf

    def dispatch(self, con: Any, now: datetime) -> None:
        """Start a round of alert work in the runner's pool if any is due and none is running."""
        with self._lock:
            if self._busy or time.monotonic() < self._resume_at:
                return
            evaluate = time.monotonic() - self._evaluated_at >= self.evaluate_every
            if not evaluate and not _anything_due(con, now):
                return
            self._busy = True
            if evaluate:
                self._evaluated_at = time.monotonic()
        try:
            self.runner._pool.submit(self._round, evaluate)
        except RuntimeError:  # the pool is shutting down with the server
            with self._lock:
                self._busy = False

    def _round(self, evaluate: bool) -> None:
        runner = self.runner
        cursor = runner.store.con.cursor()
        store = Store.borrowing(cursor, runner.store.path, writer=runner.writer.call)
        store.fetcher = runner.fetcher
        try:
            if evaluate:
                evaluate_alerts(store)
            settings = AlertSettings.from_env(strict=False)
            deliver_alerts(store, settings=settings, retry_seconds=runner.webhook_retry_seconds)
        except Exception:  # noqa: BLE001 - the runner must outlive one bad round
            log.exception("alerts: evaluation or delivery failed")
            self._resume_at = time.monotonic() + PAUSE_AFTER_FAILURE
        finally:
            cursor.close()
            with self._lock:
                self._busy = False


def _anything_due(con: Any, now: datetime) -> bool:
    rows = con.execute(
        "SELECT 1 FROM alerts a JOIN alert_rules r USING (rule_id) "
        "WHERE a.next_attempt_at <= ? AND r.channel IN ('webhook', 'email') LIMIT 1",
        [now],
    ).fetchall()
    return bool(rows)
