"""A monitor run: the due ledger links checked concurrently, politely, their results stored in batches.

The links are grouped by source page (one fetch serves every ledger link of a page) and the
pages by host. ``connections`` worker threads (32 by default) share one guarded
:class:`~linkback.fetch.Fetcher`; the :class:`HostScheduler` gives a host to one worker at a
time (one connection per host) and no sooner than ``delay`` seconds — or the host's robots.txt
``Crawl-delay`` — after its previous check ended; a redirect to another host waits for that
host's turn the same way. Results flow to the calling thread, which stores them through
:meth:`~linkback.store.Store.write` in batches (the server's single writer, in a server): the
pages fetched into the index first, then the checks, so a check stored is one whose page the
index has, and a link whose check was cut short (a crash, ``kill -9``) is due at the next run.

A loss seen once (removed, redirected away, page gone) waits for a second fetch. With
``confirm_after`` (an hour by default) the run does not wait for it: the link is stored
``pending`` and due ``confirm_after`` after that fetch, and the first run that starts once it is
due (the server's schedule, or ``linkback monitor run``) confirms or clears it, so a site down or
mid-deploy for less than that is no loss and sends no alert. The summary counts the links left
pending (``pending``) and says from when they are due (``pending_from``). With ``confirm_after``
0 the confirming fetch is made in the same run: it goes to the front of its host's queue, after
the same delay, and a run killed before it leaves the link due at once.

A page rendered in headless Chromium (``render``) is rendered in the host slot its check fetched
it in, and the slot is given back once the rendering's last request to that host has ended (a
script's request may outlive ``render()``), so the host rests from then; a 429 or 503 a rendering
gets delays its host as a page fetch's does (:class:`RenderFetcher`). Within a rendering the
browser's requests go in parallel, as any browser's visit does.
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
from linkback.fetch import Fetcher, FetchLimits, FetchResult, GuardPolicy, Resolver, system_resolver
from linkback.ingest import record_pages
from linkback.monitor._check import HostHold, HostWaits, PageChecker, PageTask, RecordingResolver, RunStopping
from linkback.monitor._ledger import LinkResult, LinkTask, apply_results, due_links
from linkback.monitor._verdict import DEFAULT_CONFIRM_AFTER, Observation, confirm_delay, step
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
    """Hands out page tasks and host slots: one request at a time per host, and none sooner than
    the rest its last one asked (the run's delay, a robots.txt Crawl-delay, a Retry-After). A
    task holds its host's slot from :meth:`take`; a redirect hop to another host takes that
    host's with :meth:`hold` (see :class:`~linkback.monitor._check.HostHold`), so no host gets a
    second connection through a redirect. A host resting longer than :data:`MAX_WAIT` has its
    tasks left undone (``deferred``), and a hop to it raises HostWaits."""

    def __init__(self, tasks: Sequence[PageTask], stop: threading.Event) -> None:
        self._queues: dict[str, deque[PageTask]] = {}
        for task in tasks:
            self._queues.setdefault(task.host, deque()).append(task)
        self._seq = itertools.count()
        self._ready: list[tuple[float, int, str]] = []  # (free at, order, host) of hosts with tasks
        self._offered: set[str] = set()  # the hosts on _ready
        self._held: set[str] = set()
        self._free_at: dict[str, float] = {}
        self._running = 0
        self._stop = stop
        self._cond = threading.Condition()
        #: Tasks left undone, by host: their host asked for a longer wait than MAX_WAIT.
        self.deferred: dict[str, int] = {}
        for host in self._queues:
            self._offer(host)

    def take(self) -> PageTask | None:
        """The next task whose host is free and rested, its slot held; None when every task is
        done (or the run is stopping)."""
        with self._cond:
            while not self._stop.is_set():
                if not self._ready:
                    if self._running == 0:
                        return None
                    self._cond.wait(0.5)
                    continue
                ready_at, _, host = self._ready[0]
                wait = ready_at - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, 0.5))
                    continue
                heapq.heappop(self._ready)
                self._offered.discard(host)
                if host in self._held:
                    continue  # a redirect hop holds it: its release offers the host again
                if self._free_at.get(host, 0.0) > ready_at:
                    self._offer(host)  # a hop used it since it was offered: rested first
                    continue
                self._held.add(host)
                self._running += 1
                return self._queues[host].popleft()
            return None

    def hold(self, host: str) -> None:
        """Take ``host``'s slot for a redirect hop once it is free and rested (see HostSlots)."""
        with self._cond:
            while True:
                if self._stop.is_set():
                    raise RunStopping
                wait = self._free_at.get(host, 0.0) - time.monotonic()
                if wait > MAX_WAIT:
                    self._defer(host, 1)
                    raise HostWaits(host)
                if host not in self._held and wait <= 0:
                    self._held.add(host)
                    return
                self._cond.wait(min(wait, 0.5) if wait > 0 else 0.5)

    def release(self, host: str, rest: float) -> None:
        with self._cond:
            self._release(host, rest)

    def finish(self, task: PageTask, follow_up: PageTask | None, held: str | None, rest: float) -> None:
        """``task`` is done, its worker holding ``held`` (given back, to rest ``rest`` seconds);
        ``follow_up`` (its confirming fetch) goes first in its host's queue."""
        with self._cond:
            self._running -= 1
            if follow_up is not None:
                self._queues[task.host].appendleft(follow_up)
            if held is not None:
                self._release(held, rest)
            self._offer(task.host)
            self._cond.notify_all()

    def _release(self, host: str, rest: float) -> None:
        self._held.discard(host)
        self._free_at[host] = time.monotonic() + rest
        self._offer(host)
        self._cond.notify_all()

    def _offer(self, host: str) -> None:
        """Put ``host`` on the ready heap when it has tasks, nobody holds it and it is not there
        yet; a host that must rest longer than MAX_WAIT has its tasks left for the next run."""
        queued = self._queues.get(host)
        if not queued or host in self._held or host in self._offered:
            return
        free_at = self._free_at.get(host, 0.0)
        if free_at - time.monotonic() > MAX_WAIT:
            self._defer(host, len(queued))
            queued.clear()
            return
        heapq.heappush(self._ready, (free_at, next(self._seq), host))
        self._offered.add(host)

    def _defer(self, host: str, pages: int) -> None:
        self.deferred[host] = self.deferred.get(host, 0) + pages


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
    confirm_after: float = DEFAULT_CONFIRM_AFTER,
    timeout: float = 20.0,
    max_bytes: int = 5_000_000,
    render: str = "auto",
    warc_dir: Path | None = None,
    user_agent: str = USER_AGENT,
    renderer_factory: Callable[[Fetcher], Any] | None = None,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    index: bool = True,
) -> dict[str, Any]:
    """Check the due ledger links (or ``ids``, or ``all_links``) and store what was found; the
    run's summary. ``renderer_factory`` makes the renderer from the fetcher its requests must go
    through (a :class:`RenderFetcher` with the run's guard; default: a
    :class:`linkback.render.Renderer`); ``warc_dir`` None keeps no WARC files. ``index``: the pages fetched
    also go into the index (``via`` monitor, through :func:`linkback.ingest.ingest_pages`), so
    its links, the pages' status and the reports follow what the checks saw. ``confirm_after``:
    seconds after a loss seen once that it is checked again, by a later run (0: a confirming fetch
    in this run; see the module docstring)."""
    confirm = confirm_delay(confirm_after)
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
    make_renderer = renderer_factory or _renderer_factory(timeout, max_bytes)
    render_fetcher = RenderFetcher(
        lambda url, result: checker.note_retry_after(url, result),
        policy=policy, limits=FetchLimits(max_bytes=max_bytes, timeout=min(timeout, 15.0)), resolver=resolver,
        user_agent=user_agent,
    )  # fmt: skip
    checker = PageChecker(
        fetcher, recording, warc=warc, render=render, renderer_factory=lambda: make_renderer(render_fetcher),
        confirm_after=confirm,
    )  # fmt: skip
    checker.after_render = lambda url: render_fetcher.settle(host_of(url), timeout)
    if index:
        checker.fetched = queue.SimpleQueue()
    tally = _Tally(len(links), len(tasks), confirm_after)
    try:
        _check_all(store, tasks, checker, connections, delay, tally, progress)
    finally:
        checker.close()
        render_fetcher.close()
        fetcher.close()
        if warc is not None:
            warc.close()
    return tally.summary(checker, warc, time.monotonic() - started)


def _renderer_factory(timeout: float, max_bytes: int) -> Callable[[Fetcher], Any]:
    def make(fetcher: Fetcher) -> Any:
        from linkback.render import Renderer  # noqa: PLC0415 - playwright only when a page needs it

        return Renderer(policy=fetcher.policy, resolver=fetcher.resolver, timeout=timeout, max_bytes=max_bytes,
                        fetcher=fetcher)  # fmt: skip

    return make


class RenderFetcher(Fetcher):
    """The renderer's fetcher in a run: the run's guard, and what the run's politeness needs of a
    rendering. A 429 or 503 it gets is noted as a page fetch's is (``noted``: the host's next
    request waits its Retry-After), and it counts the requests out per host, so that a check can
    wait (:meth:`settle`) for its rendering's last request to the page's host before it gives the
    host back: a script's request may outlive ``render()`` (the browser's settle time), and the
    host rests from when the rendering really ended. Within one rendering the browser's requests
    go in parallel, as a browser's do: one at a time, a page of many scripts would not render
    before its deadline, and its links would be read from half a page."""

    def __init__(self, noted: Callable[[str, FetchResult], None], **fetcher: Any) -> None:
        super().__init__(**fetcher)
        self._noted = noted
        self._out: Counter[str] = Counter()
        self._changed = threading.Condition()

    def fetch(self, url: str, **options: Any) -> FetchResult:
        host = host_of(url)
        with self._changed:
            self._out[host] += 1
        try:
            result = super().fetch(url, **options)
        finally:
            with self._changed:
                self._out[host] -= 1
                if self._out[host] <= 0:
                    del self._out[host]
                self._changed.notify_all()
        self._noted(result.final_url, result)
        return result

    def settle(self, host: str, timeout: float) -> None:
        """Wait, ``timeout`` seconds at the most, until no request to ``host`` is out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._out.get(host, 0) > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)


class _Tally:
    def __init__(self, links: int, pages: int, confirm_after: float) -> None:
        self.links, self.pages, self.confirm_after = links, pages, confirm_after
        self.done = self.confirmations = self.changed = self.stored = self.indexed = self.pending = 0
        self.pending_from: datetime | None = None
        self.deferred: dict[str, int] = {}
        self.verdicts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def count(self, results: list[LinkResult]) -> None:
        for result in results:
            obs, last = result.steps[-1]
            if result.link.state.pending:  # this fetch confirms (or clears) a loss seen once
                self.confirmations += 1
            if result.final:  # a link waiting for its confirming fetch is not done yet
                self.done += 1
                self.verdicts[last.state.verdict or ""] += 1
                if last.state.verdict in ("lost", "unknown", "changed"):
                    self.reasons[f"{last.state.verdict}/{last.state.reason}"] += 1
                if last.state.pending:  # a loss seen once, for a later run to confirm or clear
                    self.pending += 1
                    due = last.state.next_check_at
                    if due is not None and (self.pending_from is None or due < self.pending_from):
                        self.pending_from = due
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
            # Losses seen once and not confirmed yet, and the earliest moment a run re-checks one.
            "pending": self.pending,
            "pending_from": self.pending_from,
            "confirm_after": self.confirm_after,
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
    scheduler = HostScheduler(tasks, stop)
    tally.deferred = scheduler.deferred
    results: queue.SimpleQueue[list[LinkResult] | None] = queue.SimpleQueue()

    def rest_after(url: str) -> float:
        return _delay_after(url, checker, delay)

    def work() -> None:
        try:
            while (task := scheduler.take()) is not None:
                hold = HostHold(scheduler, task.host, task.source_url, rest_after)
                follow_up = None
                try:
                    found, follow_up = checker.check(task, hold)
                    results.put(found)
                except (RunStopping, HostWaits):
                    pass  # left undone, so still due: the next run checks it
                except Exception as exc:  # noqa: BLE001 - one page's bug must not stop the run
                    log.exception("monitor: checking %s failed", task.source_url)
                    results.put(_failed(task, exc))
                scheduler.finish(task, follow_up, hold.host, hold.rest())
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
                # The pages first: a run killed between the two writes has the pages in the index
                # and its checks still due, rather than checks stored whose pages never arrive.
                tally.indexed += _index_fetched(store, checker)
                tally.stored += apply_results(store, batch)
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
            _index_fetched(store, checker)
            apply_results(store, batch)
        raise
    tally.indexed += _index_fetched(store, checker)
    _report(progress, tally, checker, stage="done")


def _delay_after(url: str, checker: PageChecker, delay: float) -> float:
    """The wait before the next request to the host of ``url``, after one to ``url``: the run's
    delay, its robots.txt Crawl-delay, or what it asked with Retry-After, whichever is longest."""
    return max(delay, checker.robots.crawl_delay(url), checker.retry_after.get(host_of(url), 0.0))


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
