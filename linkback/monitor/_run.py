"""A monitor run: the due ledger links checked concurrently, politely, their results stored in batches.

The links are grouped by source page (one fetch serves every ledger link of a page) and the
pages by host. ``connections`` worker threads (32 by default) share one guarded
:class:`~linkback.fetch.Fetcher`; the :class:`HostScheduler` gives a host to one worker at a
time (one connection per host) and no sooner than ``delay`` seconds — or the host's robots.txt
``Crawl-delay`` — after its previous check ended. A confirming fetch goes to the front of its
host's queue, after the same delay. Results flow to the calling thread, which stores them
through :meth:`~linkback.store.Store.write` in batches (the server's single writer, in a server).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkback import __version__
from linkback.faces import ProgressFn
from linkback.fetch import Fetcher, FetchLimits, GuardPolicy, Resolver, system_resolver
from linkback.ingest import record_pages
from linkback.monitor._check import PageChecker, PageTask, RecordingResolver
from linkback.monitor._ledger import LinkResult, LinkTask, apply_results, due_links
from linkback.monitor._verdict import Observation, step
from linkback.monitor._warc import CheckWarc
from linkback.records import FetchedPage
from linkback.urls import host_of

if TYPE_CHECKING:
    from linkback.store import Store

log = logging.getLogger("linkback.monitor")

USER_AGENT = f"linkback/{__version__} (+https://github.com/linkback/linkback; link monitor)"
DEFAULT_CONNECTIONS = 32
DEFAULT_DELAY = 1.0
RENDER_MODES = ("auto", "always", "never")
#: Results stored per write, and the longest a result waits to be stored (seconds).
BATCH_LINKS = 500
BATCH_SECONDS = 2.0


#: A host that asks (Retry-After) for a longer wait than this is left for the rest of the run:
#: its pages not checked yet stay due, and the next run checks them.
MAX_WAIT = 120.0


class HostScheduler:
    """Hands out page tasks so that each host has one at a time, ``delay_of(task)`` apart (the
    delay after a task, which may depend on what its check learnt: a robots.txt Crawl-delay, a
    Retry-After). A delay over :data:`MAX_WAIT` leaves the host's other tasks undone
    (``deferred``)."""

    def __init__(self, tasks: Sequence[PageTask], delay_of: Callable[[PageTask], float], stop: threading.Event) -> None:
        self._queues: dict[str, deque[PageTask]] = {}
        for task in tasks:
            self._queues.setdefault(task.host, deque()).append(task)
        self._seq = itertools.count()
        self._ready = [(0.0, next(self._seq), host) for host in self._queues]
        heapq.heapify(self._ready)
        self._busy = 0
        self._delay_of = delay_of
        self._stop = stop
        self._cond = threading.Condition()
        #: Tasks left undone, by host: their host asked for a longer wait than MAX_WAIT.
        self.deferred: dict[str, int] = {}

    def take(self) -> PageTask | None:
        """The next task whose host is free and rested; None when every task is done (or the
        run is stopping)."""
        with self._cond:
            while not self._stop.is_set():
                if not self._ready:
                    if self._busy == 0:
                        return None
                    self._cond.wait(0.5)
                    continue
                ready_at, _, host = self._ready[0]
                wait = ready_at - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, 0.5))
                    continue
                heapq.heappop(self._ready)
                self._busy += 1
                return self._queues[host].popleft()
            return None

    def finish(self, task: PageTask, follow_up: PageTask | None) -> None:
        """``task`` is done; ``follow_up`` (its confirming fetch) goes first in its host's queue."""
        delay = self._delay_of(task)
        with self._cond:
            self._busy -= 1
            pending = self._queues[task.host]
            if follow_up is not None:
                pending.appendleft(follow_up)
            if pending and delay > MAX_WAIT:
                self.deferred[task.host] = self.deferred.get(task.host, 0) + len(pending)
                pending.clear()
            if pending:
                heapq.heappush(self._ready, (time.monotonic() + delay, next(self._seq), task.host))
            self._cond.notify_all()


def page_tasks(links: Sequence[LinkTask]) -> list[PageTask]:
    """One task per source page, in the order of its first link; pages are scheduled by host
    name (any port of it: one server)."""
    pages: dict[str, PageTask] = {}
    for link in links:
        task = pages.get(link.source_url)
        if task is None:
            task = pages[link.source_url] = PageTask(link.source_url, host_of(link.source_url), [])
        task.links.append(link)
    return list(pages.values())


def default_warc_dir(store: Store) -> Path | None:
    """Where a store's check responses are kept: ``<database>.monitor/`` beside the file (none
    for an in-memory store)."""
    if store.path == ":memory:":
        return None
    db = Path(store.path).resolve()
    return db.with_name(db.name + ".monitor")


def run_checks(
    store: Store,
    *,
    policy: GuardPolicy,
    resolver: Resolver = system_resolver,
    ids: Sequence[int] | None = None,
    all_links: bool = False,
    limit: int | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    delay: float = DEFAULT_DELAY,
    timeout: float = 20.0,
    max_bytes: int = 5_000_000,
    render: str = "auto",
    warc_dir: Path | None = None,
    user_agent: str = USER_AGENT,
    renderer_factory: Callable[[], Any] | None = None,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    index: bool = True,
) -> dict[str, Any]:
    """Check the due ledger links (or ``ids``, or ``all_links``) and store what was found; the
    run's summary. ``renderer_factory`` makes the renderer (default: a :class:`linkback.render.Renderer`
    with the same guard); ``warc_dir`` None keeps no WARC files. ``index``: the pages fetched
    also go into the index (``via`` monitor, through :func:`linkback.ingest.ingest_pages`), so
    its links, the pages' status and the reports follow what the checks saw."""
    if render not in RENDER_MODES:
        raise ValueError(f"render must be one of {', '.join(RENDER_MODES)}, not {render!r}")
    if connections < 1:
        raise ValueError(f"connections must be at least 1, not {connections}")
    started = time.monotonic()
    links = due_links(store.con, now or datetime.now(UTC), ids=ids, all_links=all_links, limit=limit)
    tasks = page_tasks(links)
    recording = RecordingResolver(resolver)
    fetcher = Fetcher(
        policy=policy,
        limits=FetchLimits(max_bytes=max_bytes, timeout=timeout),
        resolver=recording,
        user_agent=user_agent,
    )
    warc = CheckWarc(warc_dir, user_agent=user_agent) if warc_dir is not None else None
    if renderer_factory is None:
        renderer_factory = _renderer_factory(policy, resolver, timeout, max_bytes, user_agent)
    checker = PageChecker(fetcher, recording, warc=warc, render=render, renderer_factory=renderer_factory)
    if index:
        checker.fetched = queue.SimpleQueue()
    tally = _Tally(len(links), len(tasks))
    try:
        _check_all(store, tasks, checker, connections, delay, tally, progress)
    finally:
        checker.close()
        fetcher.close()
        if warc is not None:
            warc.close()
    return tally.summary(checker, warc, time.monotonic() - started)


def _renderer_factory(
    policy: GuardPolicy, resolver: Resolver, timeout: float, max_bytes: int, agent: str
) -> Callable[[], Any]:
    def make() -> Any:
        from linkback.render import Renderer  # noqa: PLC0415 - playwright only when a page needs it

        return Renderer(policy=policy, resolver=resolver, timeout=timeout, max_bytes=max_bytes, user_agent=agent)

    return make


class _Tally:
    def __init__(self, links: int, pages: int) -> None:
        self.links, self.pages = links, pages
        self.done = self.confirmations = self.changed = self.stored = self.indexed = 0
        self.deferred: dict[str, int] = {}
        self.verdicts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def count(self, results: list[LinkResult]) -> None:
        for result in results:
            obs, last = result.steps[-1]
            if result.link.state.pending == "removed":
                self.confirmations += 1
            if result.final:  # a link waiting for its confirming fetch is not done yet
                self.done += 1
                self.verdicts[last.state.verdict or ""] += 1
                if last.state.verdict in ("lost", "unknown", "changed"):
                    self.reasons[f"{last.state.verdict}/{last.state.reason}"] += 1
            self.changed += any(bool(s.changes) for _, s in result.steps)
            if obs.error:
                self.errors[obs.error] += 1

    def summary(self, checker: PageChecker, warc: CheckWarc | None, seconds: float) -> dict[str, Any]:
        return {
            "links": self.links,
            "checked": self.done,
            "pages": self.pages,
            "fetches": checker.fetches + checker.robots.fetches,
            "confirmations": self.confirmations,
            "checks_stored": self.stored,
            "pages_indexed": self.indexed,
            "verdicts": dict(sorted(self.verdicts.items())),
            "reasons": dict(sorted(self.reasons.items())),
            "errors": dict(sorted(self.errors.items())),
            "with_changes": self.changed,
            # Pages left for the next run: their host asked (Retry-After) for a longer wait.
            "deferred": dict(sorted(self.deferred.items())),
            "rendered": checker.rendered,
            "render_note": checker.render_note,
            "warc_files": list(warc.files) if warc is not None else [],
            "warc_errors": checker.warc_errors,
            "seconds": round(seconds, 3),
        }


def _check_all(
    store: Store,
    tasks: list[PageTask],
    checker: PageChecker,
    connections: int,
    delay: float,
    tally: _Tally,
    progress: ProgressFn | None,
) -> None:
    stop = threading.Event()
    scheduler = HostScheduler(tasks, lambda task: _delay_after(task, checker, delay), stop)
    tally.deferred = scheduler.deferred
    results: queue.SimpleQueue[list[LinkResult] | None] = queue.SimpleQueue()

    def work() -> None:
        try:
            while (task := scheduler.take()) is not None:
                try:
                    found, follow_up = checker.check(task)
                except Exception as exc:  # noqa: BLE001 - one page's bug must not stop the run
                    log.exception("monitor: checking %s failed", task.source_url)
                    found, follow_up = _failed(task, exc), None
                results.put(found)
                scheduler.finish(task, follow_up)
        finally:
            results.put(None)

    workers = [
        threading.Thread(target=work, name=f"linkback-monitor-{i}", daemon=True)
        for i in range(min(connections, max(len({t.host for t in tasks}), 1)))
    ]
    for worker in workers:
        worker.start()
    running, batch, flushed_at = len(workers), [], time.monotonic()
    try:
        _report(progress, tally, checker)
        while running:
            try:
                item = results.get(timeout=BATCH_SECONDS)
            except queue.Empty:
                item = []
            if item is None:
                running -= 1
            else:
                batch += item
                tally.count(item)
            if batch and (len(batch) >= BATCH_LINKS or time.monotonic() - flushed_at >= BATCH_SECONDS or not running):
                tally.stored += apply_results(store, batch)
                tally.indexed += _index_fetched(store, checker)
                batch, flushed_at = [], time.monotonic()
                _report(progress, tally, checker)
    except BaseException as exc:
        stop.set()  # Ctrl-C or a failed write: the workers stop after the page they are on
        for worker in workers:
            worker.join(timeout=30)
        if isinstance(exc, KeyboardInterrupt):  # what was checked is kept
            while True:
                try:
                    item = results.get_nowait()
                except queue.Empty:
                    break
                batch += item or []
            apply_results(store, batch)
            _index_fetched(store, checker)
        raise
    tally.indexed += _index_fetched(store, checker)
    _report(progress, tally, checker, stage="done")


def _delay_after(task: PageTask, checker: PageChecker, delay: float) -> float:
    """The wait before the host's next page: the run's delay, its robots.txt Crawl-delay, or what
    it asked with Retry-After, whichever is longest."""
    return max(delay, checker.robots.crawl_delay(task.source_url), checker.retry_after.get(task.host, 0.0))


def _index_fetched(store: Store, checker: PageChecker) -> int:
    """The pages fetched since the last call, into the index (this thread writes, as for results)."""
    if checker.fetched is None:
        return 0
    pages: list[FetchedPage] = []
    while True:
        try:
            pages.append(checker.fetched.get_nowait())
        except queue.Empty:
            break
    if not pages:
        return 0
    return record_pages(store, pages, origin="monitor")  # via monitor, one pseudo-archive


def _failed(task: PageTask, exc: Exception) -> list[LinkResult]:
    obs = Observation(
        datetime.now(UTC), source_url=task.source_url, error="internal", detail=f"{type(exc).__name__}: {exc}"[:500]
    )
    return [LinkResult(link, [(obs, step(link.state, obs))]) for link in task.links]


def _report(progress: ProgressFn | None, tally: _Tally, checker: PageChecker, stage: str = "checking") -> None:
    if progress is not None:
        progress({"done": tally.done, "total": tally.links, "unit": "links", "stage": stage,
                  "fetches": checker.fetches + checker.robots.fetches, "stored": tally.stored})  # fmt: skip
