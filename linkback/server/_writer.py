"""The one writer of the server's database: a thread that commits work in groups.

DuckDB commits one small transaction in about a millisecond, so a receiver that committed
every Webmention on its own would top out near a thousand a second with nothing left for
anything else. Here every write is a job on one queue; the thread takes whatever has piled
up, runs it in one transaction and only then resolves the callers' futures — so an answer is
never sent before its data is durable, and under load one commit carries many requests.

Receipts (:class:`~linkback.mentions.Receipt`) are merged into a single INSERT per group.
A job that fails rolls back only itself: the group is re-run one job at a time.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import duckdb

from linkback.mentions import Receipt, receive_many
from linkback.store import Store

log = logging.getLogger("linkback.server")

MAX_GROUP = 512

Job = Callable[[Store], Any]


class DbWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.SimpleQueue[tuple[str, Any, Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="linkback-writer", daemon=True)
        self.commits = 0
        self.jobs = 0
        self.receipts = 0  # stored so far; the runner reads it to see a flood coming
        self._thread.start()

    # --- callers ---------------------------------------------------------------------------------

    def submit(self, job: Job, *, own_transaction: bool = False) -> Future:
        """Run ``job(store)`` on the writer thread; its result (or exception) comes in the future.

        ``own_transaction`` jobs manage their transaction themselves (the index's add_batch)
        and run alone, between groups.
        """
        future: Future = Future()
        self._queue.put(("alone" if own_transaction else "job", job, future))
        return future

    def receive(self, receipt: Receipt) -> Future:
        """Store one receipt; the future gives (mention_id, is_new) once it is committed."""
        future: Future = Future()
        self._queue.put(("receipt", receipt, future))
        return future

    def call(self, job: Job, transaction: bool = True) -> Any:
        """``job(store)`` on the writer thread, waited for: what :meth:`Store.write` calls in the server.

        A transaction=True job may share its transaction with others (group commit); if any of
        them fails the group is re-run one job at a time, so a job must not act outside the
        database before it returns.
        """
        if threading.current_thread() is self._thread:
            # Already on the writer (a job that writes through a store it was handed): run inline.
            return job(self.store) if not transaction else self._inline(job)
        return self.submit(job, own_transaction=not transaction).result()

    def _inline(self, job: Job) -> Any:
        with self.store.transaction():
            return job(self.store)

    async def run(self, job: Job) -> Any:
        return await asyncio.wrap_future(self.submit(job))

    async def receive_async(self, receipt: Receipt) -> tuple[int, bool]:
        return await asyncio.wrap_future(self.receive(receipt))

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    # --- the thread ------------------------------------------------------------------------------

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            group = [item]
            while len(group) < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
            self._run_group(group)

    def _run_group(self, group: list[tuple[str, Any, Future]]) -> None:
        # Receipts first, in a transaction of their own, answered as soon as it commits: their
        # senders are waiting, while the jobs (the runner's outcomes, admin changes) are
        # background work that would otherwise add its time to every receipt's answer.
        # (Receipts already ran before the jobs of their group; the order is unchanged.)
        receipts = [item for item in group if item[0] == "receipt"]
        jobs = [item for item in group if item[0] == "job"]
        for together in (receipts, jobs):
            if not together:
                continue
            try:
                results = self._transaction(together)
            except Exception:  # noqa: BLE001 - find the culprit: one job at a time
                for item in together:
                    try:
                        (result,) = self._transaction([item])
                    except Exception as exc:  # noqa: BLE001
                        item[2].set_exception(exc)
                    else:
                        item[2].set_result(result)
            else:
                for item, result in zip(together, results):
                    item[2].set_result(result)
        for _kind, job, future in (item for item in group if item[0] == "alone"):
            try:
                future.set_result(job(self.store))
            except Exception as exc:  # noqa: BLE001
                log.warning("store job failed: %s", exc)
                future.set_exception(exc)
            self.jobs += 1

    def _transaction(self, items: list[tuple[str, Any, Future]]) -> list[Any]:
        results: list[Any] = [None] * len(items)
        receipts = [(i, item[1]) for i, item in enumerate(items) if item[0] == "receipt"]
        if receipts:
            batch, now = [r for _, r in receipts], datetime.now(UTC)
            try:
                # Most receipts are new pairs: a plain INSERT costs half an upsert. When one is
                # not, the transaction held nothing else: run it again as upserts.
                with self.store.transaction() as store:
                    ids = receive_many(store.con, batch, now, assume_new=True)
            except duckdb.ConstraintException:
                with self.store.transaction() as store:
                    ids = receive_many(store.con, batch, now)
            for (i, _), result in zip(receipts, ids):
                results[i] = result
            self.receipts += len(receipts)
        else:
            # Jobs may write through the store they are given (Store.write): the open
            # transaction is theirs to join.
            with self.store.transaction() as store:
                for i, (kind, job, _) in enumerate(items):
                    if kind == "job":
                        results[i] = job(store)
        self.commits += 1
        self.jobs += len(items)
        return results
