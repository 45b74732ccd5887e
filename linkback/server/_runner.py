"""The background runner of received linkbacks: verifies queued mentions and delivers webhooks.

(Long work asked for through the API — ingest, rank, send, refbacks — runs in
:mod:`linkback.server._jobs`.)

The queue is the ``mentions`` table itself (``status = 'queued'``, ``next_attempt_at``), and the
webhook queue is ``webhook_deliveries``; so whatever was acknowledged before a crash or a
``kill -9`` is still due after a restart, and nothing needs replaying. Fetches run in a small
thread pool; every write goes through the server's :class:`~linkback.server._writer.DbWriter`.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from linkback import mentions
from linkback.alerts._server import AlertPasses
from linkback.batches import ExtractedBatch
from linkback.errors import FetchError, LinkbackError
from linkback.fetch import Fetcher
from linkback.ingest import record_extracted
from linkback.mentions._verification import Known, verify
from linkback.mentions._webhooks import queue_webhook
from linkback.reports._ranks import domain_ranks_of, latest_run
from linkback.secrets import sign
from linkback.server._writer import DbWriter
from linkback.store import Store
from linkback.urls import host_of, registrable_domain

log = logging.getLogger("linkback.server")

WEBHOOK_ATTEMPTS = 8
#: Shortest time between two dispatch passes.
MIN_PASS_SECONDS = 0.05
#: Above this many notifications stored per second, passes are this far apart.
BUSY_INTAKE_PER_SECOND = 200
BUSY_PASS_SECONDS = 0.5


def webhook_delay(attempts: int, base: float = 10.0) -> timedelta:
    """10 s, 30 s, 90 s... after the n-th failed delivery, at most an hour."""
    return timedelta(seconds=min(3600.0, base * 3 ** max(0, attempts - 1)))


class JobRunner:
    def __init__(
        self,
        store: Store,
        writer: DbWriter,
        fetcher: Fetcher,
        *,
        workers: int = 4,
        poll_seconds: float = 1.0,
        resolve_source=None,  # noqa: ANN001 - Callable[[str], Sequence[str]] | None
        webhook_retry_seconds: float = 10.0,
    ) -> None:
        self.webhook_retry_seconds = webhook_retry_seconds
        self.store = store
        self.writer = writer
        self.fetcher = fetcher
        self.poll_seconds = poll_seconds
        self.resolve_source = resolve_source
        self.workers = workers
        self._rate_at, self._rate_receipts, self._intake_rate = time.monotonic(), 0, 0.0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="linkback-verify")
        self._inflight: set[int] = set()
        self._inflight_hooks: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._reader = store.con.cursor()
        self._thread = threading.Thread(target=self._loop, name="linkback-runner", daemon=True)
        self.verified = 0
        self.alerts = AlertPasses(self)  # evaluates alert rules now and then, delivers what is due

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- the loop --------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._dispatch()
            except Exception:  # noqa: BLE001 - the runner must outlive one bad row
                log.exception("job runner: dispatch failed")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            # Under a flood every request wakes the runner; a pass costs queries, so passes are
            # spaced out a little (the work itself is bounded by the pool, below). While
            # notifications pour in, verification waits longer: it is deferred work on a durable
            # queue, and answering the senders comes first (WM §4.2).
            rest = self._pass_spacing() - (time.monotonic() - started)
            if rest > 0 and not self._stop.is_set():
                self._stop.wait(rest)

    def _pass_spacing(self) -> float:
        now, receipts = time.monotonic(), self.writer.receipts
        elapsed = now - self._rate_at
        if elapsed >= 0.5:
            self._intake_rate = (receipts - self._rate_receipts) / elapsed
            self._rate_at, self._rate_receipts = now, receipts
        return BUSY_PASS_SECONDS if self._intake_rate > BUSY_INTAKE_PER_SECOND else MIN_PASS_SECONDS

    def _dispatch(self) -> None:
        now = datetime.now(UTC)
        with self._lock:
            busy = list(self._inflight)
            hooks_busy = list(self._inflight_hooks)
        # Only as many as the pool can start soon: the rest stay queued in the table.
        room = 2 * self.workers - len(busy)
        if room > 0:
            rows = mentions.due(self._reader, now, limit=room, exclude=busy)
            if rows:
                context = PassContext.load(self._reader)
                for row in rows:
                    known = known_facts(self._reader, row, context)
                    with self._lock:
                        self._inflight.add(row["mention_id"])
                    self._pool.submit(self._verify_one, row, known)
        for delivery in _due_deliveries(self._reader, now, exclude=hooks_busy):
            with self._lock:
                self._inflight_hooks.add(delivery["delivery_id"])
            self._pool.submit(self._deliver, delivery)
        self.alerts.dispatch(self._reader, now)

    def _verify_one(self, row: dict, known: Known) -> None:
        mention_id = row["mention_id"]
        try:
            try:
                outcome, page = verify(row, self.fetcher, known, resolve_source=self.resolve_source)
            except (LinkbackError, ValueError) as exc:
                outcome, page = mentions.Outcome("rejected", f"error:{type(exc).__name__}"), None
            except Exception as exc:  # noqa: BLE001 - a parser bug must not wedge the queue
                log.exception("verifying mention %s failed", mention_id)
                outcome, page = mentions.Outcome("retry", f"error:{type(exc).__name__}"), None
            self.apply(mention_id, outcome, page, protocol=row["protocol"]).result()
            self.verified += 1
        finally:
            with self._lock:
                self._inflight.discard(mention_id)
            self._wake.set()  # room in the pool: take the next ones

    def apply(self, mention_id: int, outcome: mentions.Outcome, page: ExtractedBatch | None, *, protocol: str):
        """Add a verified source page to the index, then store the outcome (and queue its webhooks).

        In that order so that whoever sees a mention verified also finds its link in the index.
        """

        def store_outcome(store: Store) -> list[str]:
            now = datetime.now(UTC)
            events = mentions.record_outcome(store.con, mention_id, outcome, now)
            for event in events:
                queue_webhook(store.con, mention_id, event, now)
            return events

        if page is not None and outcome.status == "verified":
            indexed = self.writer.submit(
                lambda store: record_extracted(store, page, origin=protocol), own_transaction=True
            )
            try:
                indexed.result()
            except Exception:  # noqa: BLE001 - the mention's own outcome must still be stored
                log.exception("adding the source page of mention %s to the index failed", mention_id)
        return self.writer.submit(store_outcome)

    # --- webhooks --------------------------------------------------------------------------------

    def _deliver(self, delivery: dict) -> None:
        delivery_id = delivery["delivery_id"]
        try:
            body = delivery["payload"].encode()
            error = ""
            try:
                result = self.fetcher.fetch(
                    delivery["webhook_url"],
                    method="POST",
                    data=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Linkback-Event": delivery["event"],
                        "X-Linkback-Delivery": str(delivery_id),
                        "X-Linkback-Signature": sign(delivery["webhook_secret"], body),
                    },
                    follow_redirects=False,
                )
                if not 200 <= result.status < 300:
                    error = f"HTTP {result.status}"
            except FetchError as exc:
                error = str(exc)

            def record(store: Store) -> None:
                now = datetime.now(UTC)
                attempts = int(delivery["attempts"] or 0) + 1
                if not error:
                    store.con.execute(
                        "UPDATE webhook_deliveries SET attempts = ?, delivered_at = ?, next_attempt_at = NULL, "
                        "last_error = '' WHERE delivery_id = ?",
                        [attempts, now, delivery_id],
                    )
                    return
                retry = (
                    now + webhook_delay(attempts, self.webhook_retry_seconds) if attempts < WEBHOOK_ATTEMPTS else None
                )
                store.con.execute(
                    "UPDATE webhook_deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE delivery_id = ?",
                    [attempts, retry, error, delivery_id],
                )

            self.writer.submit(record).result()
        finally:
            with self._lock:
                self._inflight_hooks.discard(delivery_id)
            self._wake.set()  # the mention's next webhook may go now


@dataclass(frozen=True, slots=True)
class PassContext:
    """What every mention of one dispatch pass shares: policies, rules, the latest rank run."""

    policies: dict[str, str]
    rules: list[tuple[str, str, str]]
    run_id: int | None

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> PassContext:
        run = latest_run(con)
        return cls(
            dict(con.execute("SELECT site, policy FROM sites").fetchall()),
            mentions.stored_rules(con),
            None if run is None else run[0],
        )


def known_facts(con: duckdb.DuckDBPyConnection, row: dict, context: PassContext | None = None) -> Known:
    """What the store knows about a mention's source and site."""
    context = context or PassContext.load(con)
    domain = registrable_domain(host_of(row["source"]))
    toxicity, known_domain = None, True
    if context.run_id is not None:
        ranked = domain_ranks_of(con, context.run_id, [domain])
        known_domain = domain in ranked
        toxicity = ranked[domain][1] if known_domain else None
    return Known(
        policy=context.policies.get(row["site"], "auto"),
        rule=mentions.rule_for(context.rules, row["site"], row["source"]),
        source_toxicity=toxicity,
        source_domain_known=known_domain,
        approved_from_host=mentions.approved_from_host(con, host_of(row["source"])),
        extra_words=tuple(mentions.spam_words(context.rules, row["site"])),
    )


def _due_deliveries(con: duckdb.DuckDBPyConnection, now: datetime, exclude: list[int]) -> list[dict]:
    """Due webhook calls, one per mention at a time and in order: a mention's ``approved`` is
    not sent while its ``new`` is still being delivered or waits for a retry."""
    cur = con.execute(
        """
        SELECT d.delivery_id, d.event, d.payload, d.attempts, s.webhook_url,
               coalesce(s.webhook_secret, '') AS webhook_secret
        FROM (
            SELECT *, row_number() OVER (PARTITION BY mention_id ORDER BY delivery_id) AS rn
            FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL
        ) d JOIN sites s USING (site)
        WHERE d.rn = 1 AND d.next_attempt_at <= ? AND coalesce(s.webhook_url, '') <> ''
        ORDER BY d.next_attempt_at LIMIT 32
        """,
        [now],
    )
    names = [d[0] for d in cur.description]
    busy = set(exclude)
    return [row for row in (dict(zip(names, r)) for r in cur.fetchall()) if row["delivery_id"] not in busy]
