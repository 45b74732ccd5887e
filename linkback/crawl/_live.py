"""What a crawl keeps while it runs: its frontier in DuckDB and its pages ingested as they come.

The reactor thread (Scrapy) never touches the database. It hands

* frontier changes (links found, pages done or failed, full response records) to a
  :class:`FrontierWriter` thread, which commits whatever has gathered in one transaction; a
  request is sent only once every answer that came before it is ended and committed
  (:meth:`CrawlContext.settled`, awaited by the download handler,
  :class:`linkback.crawl._gate.GatedDownloadHandler`), so a crawl killed at any moment
  fetches again only what was in flight;
* each record written to the WARC files, as a :class:`~linkback.records.FetchedPage`, to a
  :class:`LiveIngest` thread running :func:`linkback.ingest.ingest_pages`: batches go to the
  worker pool and the store while the crawl runs, flushed at least every ``FLUSH_SECONDS``.
  Each observation is filed under its WARC file's ``archives`` row with its record's offset, as
  ingesting the file would file it; a file closed (rotated, or at the end) gets its SHA-256,
  size and counts, so that ``linkback ingest`` of the directory later adds nothing.

Each thread writes through a store of its own (a cursor of the crawl's connection) with
:meth:`Store.write`: the frontier and the index are different tables, so their transactions
never conflict. :func:`catch_up` runs before a crawl: the files a stopped crawl left behind (a
torn last record cut off, the rest ingested) are made whole in the store first.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from linkback.crawl._frontier import Archived, Ending, Frontier, Start
from linkback.ingest import FLUSH, Flush, PagesSummary, file_fingerprint, ingest, ingest_pages
from linkback.records import FetchedPage
from linkback.store import Store
from linkback.store import _write as write

log = logging.getLogger("linkback.crawl")

#: Pages wait at most this long (seconds) before they are written to the store.
FLUSH_SECONDS = 2.0
#: The longest a request waits for the pages before it to be ended (see CrawlContext.settled).
SETTLE_SECONDS = 10.0
#: Provisional fingerprint of a WARC file the crawl is still writing.
PROVISIONAL = "crawl:"


class DurableChanges:
    """Numbered frontier changes and who waits for them: ``submitted`` counts the changes handed
    over, ``committed`` how many are stored; :meth:`durable` tells the reactor when what it has
    handed over is committed. The committing side (a thread here, the parent across a pipe)
    moves ``committed`` and calls :meth:`_fire`."""

    def __init__(self) -> None:
        self.submitted = self.committed = 0
        self.error: str = ""
        self._waiters: list[tuple[int, Any]] = []

    def change(
        self,
        *,
        queued: Sequence[tuple[str, int]] = (),
        done: Sequence[Ending] = (),
        records: Sequence[tuple[str, Archived]] = (),
    ) -> None:
        raise NotImplementedError

    def record(self, url: str, archived: Archived) -> None:
        self.change(records=[(url, archived)])

    def durable(self) -> Any:
        """None when every change handed over is committed, else a Deferred fired once it is
        (reactor thread only)."""
        if self.committed >= self.submitted or self.error:
            return None
        from twisted.internet import defer  # noqa: PLC0415

        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiters.append((self.submitted, waiter))
        return waiter

    def _fire(self) -> None:
        ready = [w for w in self._waiters if w[0] <= self.committed or self.error]
        self._waiters = [w for w in self._waiters if w not in ready]
        for _, waiter in ready:
            waiter.callback(None)


class FrontierWriter(DurableChanges):
    """Commits frontier changes from a thread of its own, batched; :meth:`durable` tells the
    reactor when what it has handed over is committed."""

    def __init__(self, frontier: Frontier) -> None:
        self.frontier = frontier
        self._cond = threading.Condition()
        self._queued: list[tuple[str, int]] = []
        self._done: list[Ending] = []
        self._records: list[tuple[str, Archived]] = []
        super().__init__()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="linkback-frontier", daemon=True)
        self._thread.start()

    def change(
        self,
        *,
        queued: Sequence[tuple[str, int]] = (),
        done: Sequence[Ending] = (),
        records: Sequence[tuple[str, Archived]] = (),
    ) -> None:
        """Hand over changes that are committed together (a page done and the links on it)."""
        with self._cond:
            self._queued.extend(queued)
            self._done.extend(done)
            self._records.extend(records)
            self.submitted += 1
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._queued or self._done or self._records or self._closing):
                    self._cond.wait()
                if self._closing and not (self._queued or self._done or self._records):
                    return
                queued, done, records = self._queued, self._done, self._records
                self._queued, self._done, self._records = [], [], []
                upto = self.submitted
            try:
                # Found before done: a page's links are queued in the transaction that ends it.
                self.frontier.commit(queued=queued, done=done, records=records)
            except Exception as exc:  # noqa: BLE001 - the crawl goes on; resuming it will fetch more again
                log.exception("crawl frontier: commit failed")
                self.error = f"{type(exc).__name__}: {exc}"
            self.committed = upto
            # Imported here, not before: Scrapy installs its reactor when the crawl starts.
            from twisted.internet import reactor  # noqa: PLC0415

            if reactor.running:  # type: ignore[attr-defined]
                reactor.callFromThread(self._fire)  # type: ignore[attr-defined]

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()


@dataclass(frozen=True)
class _Closed:
    path: Path
    records: int


_STOP = object()


class LiveIngest:
    """Ingests the pages a crawl hands over, from a thread of its own (see the module doc)."""

    def __init__(self, store: Store, *, workers: int = 1, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.store = store
        self.workers = workers
        self.flush_seconds = flush_seconds
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.archives: dict[str, int] = {}
        self.summary = PagesSummary()
        self.error = ""
        self._thread = threading.Thread(target=self._run, name="linkback-crawl-ingest", daemon=True)
        self._thread.start()

    def put(self, page: FetchedPage) -> None:
        self.queue.put(page)

    def file_closed(self, path: Path, records: int) -> None:
        self.queue.put(_Closed(path, records))

    def close(self) -> PagesSummary:
        self.queue.put(_STOP)
        self._thread.join()
        return self.summary

    def _run(self) -> None:
        try:
            self.summary = ingest_pages(
                self.store, self._pages(), via="crawl", workers=self.workers, archive=self._archive_of
            )
        except Exception as exc:  # noqa: BLE001 - the WARC files keep every page: `linkback ingest` them
            log.exception("crawl: live ingest failed")
            self.error = f"{type(exc).__name__}: {exc}"
            while self.queue.get() is not _STOP:  # let the crawl finish; its files are whole
                pass

    def _pages(self) -> Iterator[FetchedPage | Flush]:
        oldest = 0.0  # when the oldest page not yet flushed came
        while True:
            try:
                wait = max(oldest + self.flush_seconds - time.monotonic(), 0.0) if oldest else None
                item = self.queue.get(timeout=wait)
            except queue.Empty:
                yield FLUSH
                oldest = 0.0
                continue
            if item is _STOP:
                return
            if isinstance(item, _Closed):
                # Pulled again only once the flush is written: the file's pages are all stored.
                yield FLUSH
                oldest = 0.0
                self._finish(item)
                continue
            if not oldest:
                oldest = time.monotonic()
            yield item

    def _archive_of(self, source: str) -> int:
        if source not in self.archives:
            marker = PROVISIONAL + source
            self.archives[source] = write.begin_archive(self.store, path=source, size=0, fingerprint=marker)
        return self.archives[source]

    def _finish(self, closed: _Closed) -> None:
        archive_id = self._archive_of(str(closed.path))
        complete_archive(self.store, archive_id, closed.path, records=closed.records)


def complete_archive(store: Store, archive_id: int, path: Path, *, records: int) -> None:
    """The ``archives`` row of a crawl's WARC file once it is closed: its real fingerprint and
    size, and what it holds; ingesting the file again is then recognised as done."""
    fingerprint = file_fingerprint(path)
    (pages, links) = store.con.execute(
        "SELECT count(*), (SELECT count(*) FROM link_observations l SEMI JOIN observations o "
        "ON l.obs_id = o.obs_id AND o.archive_id = $id) FROM observations WHERE archive_id = $id",
        {"id": archive_id},
    ).fetchall()[0]
    store.write(
        lambda store: store.con.execute(
            "UPDATE archives SET fingerprint = ?, size = ? WHERE archive_id = ?",
            [fingerprint, path.stat().st_size, archive_id],
        )
    )
    write.finish_archive(store, archive_id, records=records, pages=int(pages), links=int(links), skipped={})


def whole_members_end(path: Path) -> int:
    """Where the last whole gzip member of ``path`` ends: a crawl killed while writing a record
    leaves it cut off after that point."""
    end = 0
    pos = 0
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            data = chunk
            while data:
                try:
                    decompressor.decompress(data, 1 << 20)
                    while decompressor.unconsumed_tail and not decompressor.eof:
                        decompressor.decompress(decompressor.unconsumed_tail, 1 << 20)
                except zlib.error:
                    return end
                if decompressor.eof:
                    used = len(data) - len(decompressor.unused_data)
                    pos += used
                    end = pos
                    data = decompressor.unused_data
                    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                else:
                    pos += len(data)
                    data = b""
    return end


def catch_up(store: Store, directory: Path, workers: int = 1) -> list[dict[str, Any]]:
    """Make the store whole for the WARC files an earlier crawl left in ``directory``: a file it
    was still writing when stopped has its torn last record cut off, and every file not yet
    ingested to its end is ingested (what is stored already is recognised and skipped)."""
    files = sorted(str(p) for p in directory.glob("*.warc.gz"))
    if not files:
        return []
    done = {
        path
        for (path,) in store.con.execute(
            "SELECT path FROM archives WHERE completed_at IS NOT NULL AND list_contains(?, path)", [files]
        ).fetchall()
    }
    todo = [Path(p) for p in files if p not in done]
    for path in todo:
        end = whole_members_end(path)
        if end < path.stat().st_size:
            log.warning("%s: cutting off a record torn at byte %d by the crawl's stop", path, end)
            with open(path, "r+b") as fh:
                fh.truncate(end)
        _set_fingerprint(store, path)
    if not todo:
        return []
    summary = ingest([str(p) for p in todo], store=store, workers=workers)
    return [{"path": f.path, "status": f.status, "pages": f.pages} for f in summary.files]


def _set_fingerprint(store: Store, path: Path) -> None:
    """A stopped crawl's file gets its real fingerprint: ingest finds its row by it."""
    params = [file_fingerprint(path), path.stat().st_size, PROVISIONAL + str(path)]
    store.write(
        lambda store: store.con.execute("UPDATE archives SET fingerprint = ?, size = ? WHERE fingerprint = ?", params)
    )


@dataclass
class CrawlContext:
    """What the crawl's Scrapy parts share with the threads that keep it."""

    start: Start
    frontier: FrontierWriter
    ingest: LiveIngest | None
    archived: dict[str, Archived] = field(default_factory=dict)
    renderer: Any = None  # a linkback.render.Renderer with --render
    warc: Any = None  # the WarcWriterMiddleware, once Scrapy has made it
    #: Pages whose answer came but that the spider has not ended yet, with the number of their
    #: answer in the order answers came (the reactor's own).
    unended: dict[str, int] = field(default_factory=dict)
    answers: int = 0
    #: Unended pages whose next request (a redirect's hop, a retry) is scheduled: it may wait
    #: behind the very requests that would wait for it (one connection per host), so they do
    #: not wait for it; the page is still in flight (a crawl stopped now fetches it again).
    hopping: set[str] = field(default_factory=set)
    #: Ctrl-C or SIGTERM: nothing more goes out, and the requests dropped are left queued in the
    #: frontier (not failed), so a resume sends them.
    stopping: bool = False
    _waiting: list[Any] = field(default_factory=list)

    def received(self, url: str) -> None:
        self.answers += 1
        self.unended[url] = self.answers
        self.hopping.discard(url)

    def hop(self, url: str) -> None:
        """The page ``url``, answered but not ended, goes on with another request."""
        if url in self.unended and url not in self.hopping:
            self.hopping.add(url)
            self._wake()

    def ended(self, url: str) -> None:
        self.unended.pop(url, None)
        self.hopping.discard(url)
        self._wake()

    def stop(self) -> None:
        """Ctrl-C or SIGTERM (reactor thread): see ``stopping``; no request waits any more."""
        self.stopping = True
        self._wake()

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if not waiter.called:
                waiter.callback(None)

    async def settled(self, own: str = "") -> bool:
        """Return once every answer that came before this call is ended (but the request's
        ``own`` page's: a redirect or a retry goes on with it, nor those of pages whose next hop
        is scheduled: see ``hopping``) and every frontier change made so far is committed
        (reactor thread); whether it had to wait. Answers that come while it waits do not hold
        it up (with many requests in flight there always are some). A page the spider never
        ends (a bug) holds nothing up for more than SETTLE_SECONDS."""
        from scrapy.utils.defer import maybe_deferred_to_future  # noqa: PLC0415
        from twisted.internet import defer, reactor  # noqa: PLC0415

        deadline = time.monotonic() + SETTLE_SECONDS
        waited = False
        before = self.answers
        while time.monotonic() < deadline and not self.stopping:
            if any(n <= before and url != own and url not in self.hopping for url, n in self.unended.items()):
                waited = True
                waiter: defer.Deferred[None] = defer.Deferred()
                self._waiting.append(waiter)
                timer: Any = reactor.callLater(deadline - time.monotonic(), _fire_once, waiter)  # type: ignore[attr-defined,arg-type]
                await maybe_deferred_to_future(waiter)
                if timer.active():
                    timer.cancel()
                continue
            durable = self.frontier.durable()
            if durable is None:
                return waited
            waited = True
            await maybe_deferred_to_future(durable)
        return waited

    def page(self, page: FetchedPage) -> None:
        if self.ingest is not None:
            self.ingest.put(page)

    def file_closed(self, path: Path, records: int) -> None:
        if self.ingest is not None:
            self.ingest.file_closed(path, records)


def _fire_once(waiter: Any) -> None:
    if not waiter.called:
        waiter.callback(None)


_CONTEXTS: dict[str, CrawlContext] = {}


def register(context: CrawlContext) -> str:
    """A key for ``context`` to put in the crawl's settings (Scrapy copies settings deeply)."""
    key = f"crawl-{id(context)}-{datetime.now(UTC).timestamp()}"
    _CONTEXTS[key] = context
    return key


def unregister(key: str) -> None:
    _CONTEXTS.pop(key, None)


def context_of(settings: Any) -> CrawlContext | None:
    return _CONTEXTS.get(settings.get("LINKBACK_CONTEXT") or "")
