"""Verification while a Pingback sender waits, without holding a request-serving thread.

Pingback's faults say whether the source links to the target, so the source is fetched while
the sender waits. Done in the shared request thread pool, 200 pings whose sources drip a byte a
second held every thread of it for the fetch's whole 10 s, and ``GET /api/count`` waited 40 s.
Here those fetches run in a pool of their own, bounded in threads and per source host; a ping
that finds no room is not fetched at all (the job runner does it later), and the request waits
for a fetch only until its deadline, then answers and leaves the fetch to finish in the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: Threads fetching Pingback sources at once, and at most this many for one source host.
WORKERS = 8
PER_HOST = 2
#: Seconds a Pingback request waits for its verification before it answers fault 0x32.
DEADLINE = 3.0


class VerifyPool:
    """A bounded thread pool with a per-host limit, that never queues: see :meth:`reserve`."""

    def __init__(self, workers: int = WORKERS, per_host: int = PER_HOST, deadline: float = DEADLINE) -> None:
        self.workers = workers
        self.per_host = per_host
        self.deadline = deadline
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="linkback-pingback")
        self._lock = threading.Lock()
        self._taken = 0
        self._by_host: dict[str, int] = {}
        #: Verifications refused for want of room (the job runner did them later).
        self.refused = 0

    def reserve(self, host: str) -> Slot | None:
        """A thread for a verification of a source on ``host``, or ``None`` when the pool or
        the host is at its limit. Every reserved task starts at once (never more tasks than
        threads), so a request's deadline counts from the start of its own fetch."""
        with self._lock:
            if self._taken >= self.workers or self._by_host.get(host, 0) >= self.per_host:
                self.refused += 1
                return None
            self._taken += 1
            self._by_host[host] = self._by_host.get(host, 0) + 1
        return Slot(self, host)

    def _release(self, host: str) -> None:
        with self._lock:
            self._taken -= 1
            left = self._by_host[host] - 1
            if left:
                self._by_host[host] = left
            else:
                del self._by_host[host]

    def close(self) -> None:
        """Wait for the running verifications (bounded by the fetcher's deadline): their
        outcomes must still reach the writer, so this comes before the writer closes."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class Slot:
    """One reserved thread of a :class:`VerifyPool`: :meth:`run` a task in it, or :meth:`cancel`."""

    def __init__(self, pool: VerifyPool, host: str) -> None:
        self._pool, self._host, self._used = pool, host, False

    def run(self, fn: Callable[[], T]) -> Future[T]:
        self._used = True
        try:
            future = self._pool._pool.submit(fn)
        except RuntimeError:  # the pool is shutting down
            self._pool._release(self._host)
            raise
        future.add_done_callback(lambda _f: self._pool._release(self._host))
        return future

    def cancel(self) -> None:
        if not self._used:
            self._used = True
            self._pool._release(self._host)
