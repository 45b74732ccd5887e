"""Ingest: sources of pages → extract() in worker processes → Arrow batches → the store.

:func:`ingest_pages` is the one way pages reach the index: it batches any iterable of
:class:`~linkback.records.FetchedPage`, has a pool of worker processes extract the batches, and
writes the results in order, from one thread, a few batches per transaction. Its sources are
archive files (:class:`ArchivePages`, what :func:`ingest` reads), a crawl as it runs
(:mod:`linkback.crawl`), and live fetches (:func:`record_pages`).

An archive file is also a source the workers can read themselves: each reads a byte range of a
WARC and hands back Arrow record batches (:mod:`linkback.batches`), so page bodies never cross a
process boundary, only compact columnar data; at most a few ranges per worker are in flight at
once, which bounds memory whatever the archive size. The workers run at a lower priority
(:mod:`linkback._workers`), so the one writer keeps up with them; with one process, or for ARC
files, the main process reads the archive as a stream itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from linkback import _workers
from linkback._workers import default_workers
from linkback.batches import ExtractedBatch, extract_batch, extract_range
from linkback.brands._scan import BrandTerms
from linkback.brands._store import load_terms
from linkback.errors import SourceError, WorkerLost
from linkback.records import FetchedPage
from linkback.sources.warc import RangeBounds, ReadStats, iter_archive, iter_paths, sniff_archive
from linkback.sources.wat import WatPages, is_wat
from linkback.store import Store
from linkback.store import _write as write
from linkback.store._arrow import scalar

log = logging.getLogger("linkback.ingest")

#: Pages per batch handed to a worker: small, so that every worker stays busy.
BATCH_PAGES = 64
#: A batch is also cut when its bodies reach this many bytes.
BATCH_BYTES = 8 * 2**20
#: Extracted batches are written together, one transaction per this many pages or links:
#: each commit has a fixed cost, and a transaction is also the unit an interrupt can lose.
#: Large enough to fill DuckDB's row groups (122,880 rows) of the link tables: a transaction
#: that does is written straight into the file, compressed once, where smaller ones go through
#: the log and are compressed again, row groups and all, at the next checkpoint (one process,
#: 3,507 pages re-crawled: 6.8–9.0 s of CPU in writes and checkpoints at 500 pages / 100k
#: links, 3.4–6.3 s at these).
WRITE_PAGES = 2000
WRITE_LINKS = 250_000
#: With workers, the main process writes in smaller steps, so that it keeps pace with them and
#: little is left to write once they are done.
WRITE_PAGES_WITH_WORKERS = 250
WRITE_LINKS_WITH_WORKERS = 100_000
#: DuckDB memory limit while ingesting.
INGEST_MEMORY_LIMIT = "384MB"
#: With worker processes, the database checkpoints whenever about this much log per archive
#: byte has built up (and once more while the workers read the last ranges): the main process
#: does it while the workers extract, instead of all at the end when nothing else runs. That
#: is about twice per archive: every checkpoint rewrites the row groups written or deleted from
#: since the one before, which for a re-crawl (each page's old link rows deleted) is most of
#: the table, so more of them cost more. With one process there is nothing to overlap, and
#: every checkpoint before the last only rewrites what the next one rewrites again.
CHECKPOINT_LOG_PER_ARCHIVE_BYTE = 1.5
#: ...within these bounds (bytes of log).
CHECKPOINT_WITH_WORKERS_BOUNDS = (48 * 2**20, 256 * 2**20)


@dataclass
class FileSummary:
    path: str
    status: str  # ingested, partial (read up to damage; not marked complete), already_ingested, failed
    records: int = 0
    responses: int = 0
    pages: int = 0
    html_pages: int = 0
    duplicates: int = 0
    links: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class IngestSummary:
    files: list[FileSummary] = field(default_factory=list)
    reclustered: bool = False
    interrupted: bool = False

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def skipped(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for f in self.files:
            out.update(f.skipped)
        return out

    @property
    def errors(self) -> list[str]:
        return [e for f in self.files for e in f.errors]

    def as_dict(self) -> dict:
        """Plain data (JSON): what an ingest job returns."""
        files = [{**asdict(f), "skipped": dict(f.skipped)} for f in self.files]
        return {"files": files, "reclustered": self.reclustered, "interrupted": self.interrupted}

    @classmethod
    def from_dict(cls, data: dict) -> IngestSummary:
        files = []
        for f in data.get("files", []):
            known = {k: v for k, v in f.items() if k in FileSummary.__dataclass_fields__}
            files.append(FileSummary(**{**known, "skipped": Counter(known.get("skipped") or {})}))
        return cls(files, bool(data.get("reclustered")), bool(data.get("interrupted")))


@dataclass
class Progress:
    """What ingest reports while it runs (for a progress bar)."""

    total_bytes: int
    done_bytes: int = 0
    records: int = 0
    pages: int = 0
    links: int = 0
    current: str = ""


def file_fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 2**20):
            h.update(chunk)
    return h.hexdigest()


class Flush:
    """What a live source yields when it has nothing more for now (:data:`FLUSH`):
    :func:`ingest_pages` writes every page it holds before it asks the source for more, so the
    pages reach the store while the source is still running (a crawl)."""

    def __repr__(self) -> str:
        return "FLUSH"


FLUSH = Flush()


class Extracted(NamedTuple):
    """One extracted batch on its way to the writer."""

    offset: int  # of the batch's last record in its archive (-1: not from an archive)
    batch: ExtractedBatch | None  # None for a flush
    draining: bool  # all work is handed out: write each batch as it comes
    source: str = ""  # the archive its pages were read from (FetchedPage.source)


def _batches(pages: Iterable[FetchedPage | Flush]) -> Iterator[list[FetchedPage] | Flush]:
    """Batches of BATCH_PAGES pages (or BATCH_BYTES of bodies), cut where the source changes
    (each batch belongs to one archive) and at a flush, which is passed on."""
    batch: list[FetchedPage] = []
    size = 0
    for page in pages:
        if isinstance(page, Flush):
            if batch:
                yield batch
                batch, size = [], 0
            yield page
            continue
        if batch and page.source != batch[-1].source:
            yield batch
            batch, size = [], 0
        batch.append(page)
        size += len(page.body)
        if len(batch) >= BATCH_PAGES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _extracted(
    pages: Iterable[FetchedPage | Flush],
    pool: ProcessPoolExecutor | None,
    workers: int,
    brands: BrandTerms | None = None,
) -> Iterator[Extracted]:
    """The batches of ``pages`` extracted, in order: here, or by the pool's workers (their text
    scanned for ``brands``)."""
    if pool is None:
        for batch in _batches(pages):
            if isinstance(batch, Flush):
                yield Extracted(-1, None, False)
            else:
                yield Extracted(batch[-1].offset, extract_batch(batch, brands), False, batch[-1].source)
        return
    in_flight: deque[tuple[int, str, Future[ExtractedBatch]]] = deque()
    for batch in _batches(pages):
        if isinstance(batch, Flush):
            while in_flight:  # what came before the flush is written before it returns
                offset, source, fut = in_flight.popleft()
                yield Extracted(offset, _workers.result(fut, pool), False, source)
            yield Extracted(-1, None, False)
            continue
        in_flight.append((batch[-1].offset, batch[-1].source, pool.submit(extract_batch, batch, brands)))
        # Every worker busy and one batch queued each, no more: memory stays bounded.
        while len(in_flight) > 2 * workers:
            offset, source, fut = in_flight.popleft()
            yield Extracted(offset, _workers.result(fut, pool), False, source)
    while in_flight:
        offset, source, fut = in_flight.popleft()
        yield Extracted(offset, _workers.result(fut, pool), True, source)


def _extracted_ranges(
    path: Path, pool: ProcessPoolExecutor, workers: int, stats: ReadStats, brands: BrandTerms | None = None
) -> Iterator[tuple[int, ExtractedBatch, bool]]:
    """Like :func:`_extracted`, but the workers read the archive themselves: the page bodies
    never pass through this process. Their read counts are added to ``stats``. The command line
    may have started the first ranges already (:func:`linkback._workers.start_early`).

    Each range must begin where the one before it found its next record (``RangeBounds``). A
    range whose worker aligned elsewhere (damage near the cut, or a false start it could not
    tell) is read again here from that record, so the whole is exactly one reading of the file;
    ranges after the point where that reading ends add nothing.
    """
    size = path.stat().st_size
    work = _workers.take_early_work(path)
    if work is not None and work.brands != brands:
        # Started with other brand terms than the store has now (the command line read them
        # before it opened the store: they changed since, or could not be read then).
        for _, fut in work.in_flight:
            fut.cancel()
        work = None
    work = work or _workers.RangeWork(_workers.ranges(path), brands=brands)
    expected = 0  # where the next range's first record must be

    def collect(draining: bool) -> tuple[int, ExtractedBatch, bool]:
        nonlocal expected
        end, fut = work.in_flight.popleft()
        batch, part, bounds = pickle.loads(_workers.result(fut, pool))
        if bounds.first != expected:
            if expected >= 0:
                batch, part, bounds = extract_range(str(path), expected, end, brands=brands)
            else:
                batch, part, bounds = extract_batch([], brands), ReadStats(), RangeBounds()
        expected = bounds.next
        stats.records += part.records
        stats.responses += part.responses
        stats.bytes += part.bytes
        stats.skipped.update(part.skipped)
        stats.errors.extend(part.errors)
        return (size if end < 0 else end), batch, draining

    # Every worker busy and a few ranges queued each, no more: memory stays bounded. Once a
    # range ends the reading of the file (the rest is unreadable), none more are handed out.
    while expected >= 0 and work.hand_out(pool, path, _workers.RANGES_PER_WORKER * workers + 1):
        yield collect(False)
    while work.in_flight:
        yield collect(True)


def _merge(results: list[ExtractedBatch]) -> ExtractedBatch:
    """Several extracted batches as one, of tables (page_idx shifted to index the merged pages)."""
    if len(results) == 1:
        return results[0]
    offsets = [0]
    for r in results[:-1]:
        offsets.append(offsets[-1] + r.observations.num_rows)
    skipped: Counter[str] = Counter()
    for r in results:
        skipped.update(r.skipped)
    hits = [_shift(r.mentions, off) for r, off in zip(results, offsets, strict=True) if r.mentions is not None]
    return ExtractedBatch(
        observations=_concat([r.observations for r in results]),
        links=_concat([_shift(r.links, off) for r, off in zip(results, offsets, strict=True)]),
        first_seen_links=_concat([_shift(r.first_seen_links, off) for r, off in zip(results, offsets, strict=True)]),
        html_pages=sum(r.html_pages for r in results),
        skipped=skipped,
        mentions=_concat(hits) if hits else None,
    )


def _shift(batch: pa.RecordBatch, offset: int) -> pa.RecordBatch:
    idx = pc.add(batch.column("page_idx"), scalar(offset, pa.int32()))
    return batch.set_column(0, "page_idx", idx)


def _concat(batches: list[pa.RecordBatch]) -> pa.Table:
    # The batches as the chunks of one table: nothing copied (DuckDB reads the chunks as they are).
    return pa.Table.from_batches(batches)


def checkpoint_threshold(archive_bytes: int) -> int:
    """How much log the database gathers before it checkpoints, ingesting an archive of this
    size with workers (see CHECKPOINT_LOG_PER_ARCHIVE_BYTE)."""
    low, high = CHECKPOINT_WITH_WORKERS_BOUNDS
    return min(max(int(CHECKPOINT_LOG_PER_ARCHIVE_BYTE * archive_bytes), low), high)


@dataclass
class PagesSummary:
    """What :func:`ingest_pages` did."""

    pages: int = 0  # observations added
    duplicates: int = 0  # captures the store had already (same URL and fetch time)
    html_pages: int = 0
    links: int = 0
    extracted: int = 0  # pages extracted: added, duplicates and pages not written (an interrupt)
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "skipped": dict(self.skipped)}


@dataclass
class PagesProgress:
    """What :func:`ingest_pages` reports after each extracted batch."""

    pages: int = 0  # extracted so far
    links: int = 0
    offset: int = -1  # of the last record extracted, in its archive (-1: not from an archive)
    source: str = ""  # that archive


class SplitPages(Protocol):
    """A source of pages that can also have the workers read it themselves (an archive file in
    byte ranges): page bodies then never pass through the writing process."""

    def extracted_by(
        self, pool: ProcessPoolExecutor, workers: int, brands: BrandTerms | None = None
    ) -> Iterator[Extracted] | None:
        """The source's pages extracted by ``pool`` (their text scanned for ``brands``), in
        order; None to be read here instead."""
        ...


#: Where :func:`ingest_pages` files each page's observation: one archive id for all of them, a
#: function of the page's ``source`` (a crawl's WARC files), or None for a pseudo-archive
#: ``live:<via>`` (pages fetched live and kept nowhere else).
ArchiveOf = int | Callable[[str], int] | None


def ingest_pages(
    store: Store,
    pages: Iterable[FetchedPage | Flush],
    *,
    via: str | None = None,
    progress: Callable[[PagesProgress], None] | None = None,
    workers: int = 1,
    pool: ProcessPoolExecutor | None = None,
    archive: ArchiveOf = None,
) -> PagesSummary:
    """Extract ``pages`` and add them to ``store``: the one way pages reach the index.

    Pages are cut into batches (BATCH_PAGES, or BATCH_BYTES of bodies), extracted here or by a
    pool of ``workers`` processes (``pool``, else one made for the call), and written in order
    by this thread alone, a few batches per transaction (:func:`linkback.store._write.add_batch`,
    which derives the pages' link state in the same transaction). ``via`` replaces the pages'
    own ``via``; a source may yield :data:`FLUSH` to have what it gave so far written before it
    gives more. A source that is a :class:`SplitPages` (an archive file) is read by the workers
    themselves. Ctrl-C keeps every committed transaction.
    """
    own_pool = None
    if pool is None and workers > 1:
        own_pool = pool = _workers.pool(workers)
    try:
        results: Iterator[Extracted] | None = None
        brands = load_terms(store.con)  # the site profiles' brand terms: looked for in every page
        split = getattr(pages, "extracted_by", None)
        if split is not None and (pool is not None or getattr(pages, "extracts_itself", False)):
            results = split(pool, workers, brands)
        if results is None:
            source = pages if via is None else _with_via(pages, via)
            results = _extracted(source, pool, workers, brands)
        return _write_extracted(store, results, _archive_ids(store, archive, via), progress, bool(pool))
    except (WorkerLost, KeyboardInterrupt):
        # Perhaps hung on a lost worker (Ctrl-C too may come while the watchdog waits on one):
        # shutdown() would wait for ever, and so would the interpreter's exit.
        if own_pool is not None:
            _workers.abandon(own_pool)
            own_pool = None
        raise
    except BrokenProcessPool as exc:
        raise WorkerLost() from exc
    finally:
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)


def _with_via(pages: Iterable[FetchedPage | Flush], via: str) -> Iterator[FetchedPage | Flush]:
    for page in pages:
        yield replace(page, via=via) if isinstance(page, FetchedPage) and page.via != via else page


def _archive_ids(store: Store, archive: ArchiveOf, via: str | None) -> Callable[[str], int]:
    if isinstance(archive, int):
        archive_id = archive
        return lambda _source: archive_id
    if archive is not None:
        return archive
    ids: list[int] = []

    def live(_source: str) -> int:
        if not ids:
            marker = f"live:{via or 'live'}"
            ids.append(write.begin_archive(store, path=marker, size=0, fingerprint=marker))
        return ids[0]

    return live


def _telling_what_was_written(results: Iterator[Extracted], written: PagesSummary) -> Iterator[Extracted]:
    """``results``; a worker that died on the way is a :class:`WorkerLost` that says what had been
    written by then (a file resumed at once counts it as its own, not as duplicates)."""
    try:
        yield from results
    except (BrokenProcessPool, WorkerLost) as exc:
        raise WorkerLost(written=written) from exc


def _write_extracted(
    store: Store,
    results: Iterator[Extracted],
    archive_of: Callable[[str], int],
    progress: Callable[[PagesProgress], None] | None,
    with_workers: bool,
) -> PagesSummary:
    """The single writer: extracted batches, merged a few at a time, one transaction each."""
    summary = PagesSummary()
    seen = PagesProgress()
    pending: list[ExtractedBatch] = []
    pending_source = ""
    pending_pages = pending_links = 0
    write_pages = WRITE_PAGES_WITH_WORKERS if with_workers else WRITE_PAGES
    write_links = WRITE_LINKS_WITH_WORKERS if with_workers else WRITE_LINKS
    checkpointed = False

    def write_pending() -> None:
        nonlocal pending, pending_pages, pending_links
        if not pending:
            return
        merged = _merge(pending)
        archive_id = archive_of(pending_source)

        added, dups, n_links = write.add_batch(
            store,
            archive_id=archive_id,
            observations=merged.observations,
            links=merged.links,
            first_seen_links=merged.first_seen_links,
            mentions=merged.mentions,
        )
        summary.pages += added
        summary.duplicates += dups
        summary.links += n_links
        summary.html_pages += merged.html_pages
        summary.skipped.update(merged.skipped)
        pending, pending_pages, pending_links = [], 0, 0

    for result in _telling_what_was_written(results, summary):
        if result.batch is None:  # a flush
            write_pending()
            continue
        if pending and result.source != pending_source:
            write_pending()  # one archive per transaction
        pending.append(result.batch)
        pending_source = result.source
        pending_pages += result.batch.observations.num_rows
        pending_links += result.batch.links.num_rows
        # Once the last work is handed out, each result is written as it comes: whatever is
        # still pending when the workers finish is written while nothing else runs.
        if result.draining or pending_pages >= write_pages or pending_links >= write_links:
            write_pending()
        if result.draining and not checkpointed:
            # Into the file with what is written so far while the workers finish their last
            # ranges: the checkpoint at the end then has only those to write.
            _checkpoint(store)
            checkpointed = True
        # Progress counts pages as they are extracted: writes come in batches of hundreds.
        summary.extracted += result.batch.observations.num_rows
        seen.pages = summary.extracted
        seen.links += result.batch.links.num_rows
        seen.offset, seen.source = result.offset, result.source
        if progress:
            progress(seen)
    write_pending()
    return summary


class ArchivePages:
    """The pages of one WARC or ARC file (a path or a binary file object), read as a stream by
    :func:`~linkback.sources.warc.iter_archive`; with workers, a WARC file (by path) is cut in
    byte ranges that the workers read themselves (:func:`_extracted_ranges`)."""

    def __init__(self, path: str | os.PathLike[str] | BinaryIO, stats: ReadStats | None = None) -> None:
        self.path = path
        self.stats = stats if stats is not None else ReadStats()

    def __iter__(self) -> Iterator[FetchedPage]:
        return iter_archive(self.path, stats=self.stats)

    def extracted_by(
        self, pool: ProcessPoolExecutor, workers: int, brands: BrandTerms | None = None
    ) -> Iterator[Extracted] | None:
        if not isinstance(self.path, (str, os.PathLike)) or sniff_archive(self.path) != "warc":
            return None  # ARC files and file objects are read here, as a stream
        path = Path(self.path)
        return (Extracted(offset, batch, draining, str(path)) for offset, batch, draining in _extracted_ranges(
            path, pool, workers, self.stats, brands))  # fmt: skip


def ingest(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    store: Store,
    workers: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> IngestSummary:
    """Ingest WARC/ARC files (paths, directories or globs) into ``store``.

    Each file is a source of pages for :func:`ingest_pages`. Each write batch is one
    transaction that also derives its pages' link state, so Ctrl-C or a crash keeps exactly the
    committed batches, complete. A file whose bytes were ingested before is skipped; an
    interrupted file is resumed where it stopped (its committed captures are recognised and
    skipped).
    """
    paths = iter_paths([str(p) for p in inputs])
    workers = default_workers() if workers is None else max(1, workers)
    progress = Progress(total_bytes=sum(p.stat().st_size for p in paths))
    summary = IngestSummary()
    pool = None
    with ingest_settings(store, workers):
        if workers > 1:
            pool = _workers.take_early_pool(workers) or _workers.pool(workers)
        try:
            for path in paths:
                progress.current = str(path)
                try:
                    kind = sniff_archive(path)
                except SourceError as exc:
                    summary.files.append(FileSummary(str(path), "failed", errors=[str(exc)]))
                    continue
                fs, pool = _ingest_file_retried(path, kind, store, pool, workers, progress, on_progress)
                summary.files.append(fs)
                progress.done_bytes = sum(p.stat().st_size for p in paths[: len(summary.files)])
                progress.records = summary.total("records")
                if on_progress:
                    on_progress(progress)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            if pool is not None and summary.interrupted:
                # Its workers killed, not left to finish: one may lie dead in the middle of
                # sending its result, which the pool's thread, and the interpreter's exit after
                # it, would wait for ever.
                _workers.abandon(pool)
            elif pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            summary.reclustered = write.cluster_links(store)
    _checkpoint(store)
    return summary


def _ingest_file_retried(
    path: Path,
    kind: str,
    store: Store,
    pool: ProcessPoolExecutor | None,
    workers: int,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
) -> tuple[FileSummary, ProcessPoolExecutor | None]:
    """:func:`_ingest_file`, and the pool to go on with: when a worker process dies, a new pool,
    and the file resumed on it once (the worker may have died of something else, between two
    files); if it dies again, or the file changed under it, the file failed. Its committed
    batches stay, as after a crash, and a later run resumes it."""
    identity = _workers.identity(path)
    before = replace(progress)
    written: object = None
    for attempt in (1, 2):
        try:
            fs = _ingest_file(path, kind, store, pool, workers, progress, on_progress)
            if attempt == 2 and isinstance(written, PagesSummary):
                # The first attempt's batches stay, and the second found them stored: they are
                # this run's pages, not duplicates.
                fs.pages, fs.links = fs.pages + written.pages, fs.links + written.links
                fs.duplicates -= written.pages
            return fs, pool
        except WorkerLost as exc:
            written = exc.written
            assert pool is not None
            _workers.abandon(pool)
            pool = _workers.pool(workers)
            for name in ("done_bytes", "records", "pages", "links"):
                setattr(progress, name, getattr(before, name))
            try:
                changed = _workers.identity(path) != identity
            except OSError:
                changed = True
            if changed:
                # Not resumed: the ranges and the captures already stored are of other bytes.
                message = "the file changed while it was read (a worker process reading it ended abruptly); run again to read it afresh"
            elif attempt == 2:
                message = f"{exc}, twice; what was stored before stays: run again to resume the file where it stopped"
            else:
                log.warning("%s: %s; resuming the file with new worker processes", path, exc)
                continue
            return FileSummary(str(path), "failed", errors=[f"{path}: {message}"]), pool
    raise AssertionError("unreachable")


@contextlib.contextmanager
def ingest_settings(store: Store, workers: int) -> Iterator[None]:
    """DuckDB set for a long ingest, and set back after it."""
    # DuckDB's buffer pool defaults to 80 % of RAM; ingest needs little of it (it spills to disk
    # beyond the limit), and this keeps the whole process tree well under 1 GB.
    (previous_limit, previous_checkpoint, previous_threads) = store.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('checkpoint_threshold'), current_setting('threads')"
    ).fetchall()[0]
    if workers > 1:
        # The workers keep the cores busy; DuckDB's own threads would only compete with them.
        store.con.execute("SET threads = 1")
    store.con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
    # Each commit is durable in the write-ahead log; checkpointing it into the file on every
    # commit (DuckDB does past 16 MB of log) rewrote the same row groups again and again.
    store.con.execute("SET checkpoint_threshold = '1GB'")
    try:
        yield
    finally:
        store.con.execute(f"SET memory_limit = '{previous_limit}'")
        store.con.execute(f"SET checkpoint_threshold = '{previous_checkpoint}'")
        store.con.execute(f"SET threads = {int(previous_threads)}")


def _checkpoint(store: Store) -> None:
    # On the store's writer (in a server, between other writes): a CHECKPOINT cannot run while
    # another connection is in the middle of a write. It only moves the log into the file, which
    # DuckDB does by itself later: one that cannot run now is skipped, not an error.
    import duckdb  # noqa: PLC0415 - loaded by the store already

    try:
        store.write(lambda store: store.con.execute("CHECKPOINT"), transaction=False)
    except duckdb.TransactionException as exc:
        log.warning("checkpoint skipped: %s", exc)


def _ingest_file(
    path: Path,
    kind: str,
    store: Store,
    pool: ProcessPoolExecutor | None,
    workers: int,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
) -> FileSummary:
    fingerprint = file_fingerprint(path)
    wat = kind == "warc" and is_wat(path)
    previous = write.archive_by_fingerprint(store, fingerprint)
    if previous is not None and previous[2] is not None and not (wat and _wat_read_as_warc(store, previous[0])):
        return FileSummary(
            str(path), "already_ingested", note=f"same bytes as {previous[1]}, ingested {previous[2]:%Y-%m-%d %H:%M}"
        )
    size = path.stat().st_size
    archive_id = write.begin_archive(store, path=str(path), size=size, fingerprint=fingerprint)
    pages: ArchivePages | WatPages = WatPages(path) if wat else ArchivePages(path)
    base_bytes, base_records, base_pages, base_links = (
        progress.done_bytes, progress.records, progress.pages, progress.links)  # fmt: skip

    def report(seen: PagesProgress) -> None:
        progress.pages, progress.links = base_pages + seen.pages, base_links + seen.links
        progress.records = base_records + pages.stats.records
        if seen.offset >= 0:
            # (offsets in a whole-file gzip's decompressed copy run past the file's size)
            progress.done_bytes = base_bytes + min(seen.offset, size)
        if on_progress:
            on_progress(progress)

    if pool is not None:
        store.con.execute(f"SET checkpoint_threshold = '{checkpoint_threshold(size)}B'")
    done = ingest_pages(store, pages, progress=report, workers=workers, pool=pool, archive=archive_id)
    stats = pages.stats
    fs = FileSummary(
        str(path), "ingested", pages=done.pages, html_pages=done.html_pages, duplicates=done.duplicates,
        links=done.links, skipped=done.skipped, records=stats.records, responses=stats.responses,
    )  # fmt: skip
    fs.skipped.update({f"record/{k}": v for k, v in stats.skipped.items()})
    fs.errors.extend(stats.errors)
    fs.note = getattr(pages, "note", "")  # a WAT's lite ingest says so
    if not stats.read_to_end:
        # Damage stopped the reading before the end of the file: what was read is stored, but
        # the archive stays without completed_at, so a later run (a newer reader, a repaired
        # copy) reads it again instead of refusing it as already ingested.
        fs.status = "partial"
        fs.note = "reading stopped at damage before the end of the file (see errors); not marked complete"
    write.finish_archive(
        store,
        archive_id,
        records=fs.records,
        pages=fs.pages,
        links=fs.links,
        skipped=dict(fs.skipped),
        complete=fs.status != "partial",
    )
    return fs


def _wat_read_as_warc(store: Store, archive_id: int) -> bool:
    """Whether a WAT file recorded as ingested was read as a WARC, as one whose first record
    was damaged once was (is_wat looked at that record only): nothing of it stored, its metadata
    records counted as records that hold no page. It is read again, into the same archive: with
    nothing of it stored, nothing can be doubled. An archive that holds a page or a link stays
    ingested."""
    row = store.con.execute("SELECT pages, links, skipped FROM archives WHERE archive_id = ?", [archive_id]).fetchone()
    if row is None or row[0] or row[1]:
        return False
    try:
        skipped = json.loads(row[2] or "{}")
    except ValueError:
        return False
    return isinstance(skipped, dict) and bool(skipped.get("record/metadata"))


def record_pages(store: Store, pages: list[FetchedPage], *, origin: str) -> int:
    """Add live fetches (a verified mention's source page) to the index; pages added.

    They are observations like any archived capture; each ``origin`` (``webmention``,
    ``pingback``...) gets one pseudo-archive so ``archives`` says where every observation came from.
    """
    if not pages:
        return 0
    return ingest_pages(store, pages, via=None, archive=_live_archive(store, origin)).pages


def _live_archive(store: Store, origin: str) -> int:
    marker = f"live:{origin}"
    return write.begin_archive(store, path=marker, size=0, fingerprint=marker)


def record_extracted(store: Store, batch: ExtractedBatch, *, origin: str) -> int:
    """:func:`record_pages` for pages already extracted (by :func:`extract_batch`), in one
    write (the server's writer runs it as one)."""
    added, _dups, _links = write.add_batch(
        store,
        archive_id=_live_archive(store, origin),
        observations=batch.observations,
        links=batch.links,
        first_seen_links=batch.first_seen_links,
    )
    return added
