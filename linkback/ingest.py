"""Ingest: archives → FetchedPage → extract() in worker processes → Arrow batches → the store.

The main process writes to the database (its one owner). ``workers`` processes each read a byte
range of a WARC themselves and hand back Arrow record batches (:mod:`linkback.batches`), so page
bodies never cross a process boundary, only compact columnar data; at most a few ranges per
worker are in flight at once, which bounds memory whatever the archive size. The workers run at
a lower priority (:mod:`linkback._workers`), so the one writer keeps up with them; with one
process, or for ARC files, the main process reads the archive as a stream itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from linkback import _workers
from linkback._workers import default_workers
from linkback.batches import ExtractedBatch, extract_batch, extract_range
from linkback.errors import SourceError
from linkback.records import FetchedPage
from linkback.sources.warc import RangeBounds, ReadStats, iter_archive, iter_paths, sniff_archive
from linkback.store import Store
from linkback.store import _write as write

log = logging.getLogger("linkback.ingest")

#: Pages per batch handed to a worker: small, so that every worker stays busy.
BATCH_PAGES = 64
#: A batch is also cut when its bodies reach this many bytes.
BATCH_BYTES = 8 * 2**20
#: Extracted batches are written together, one transaction per this many pages or links:
#: each commit has a fixed cost, and a transaction is also the unit an interrupt can lose.
WRITE_PAGES = 500
WRITE_LINKS = 100_000
#: With workers, the main process writes in smaller steps, so that it keeps pace with them and
#: little is left to write once they are done.
WRITE_PAGES_WITH_WORKERS = 250
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


def _batches(pages: Iterator[FetchedPage]) -> Iterator[list[FetchedPage]]:
    batch: list[FetchedPage] = []
    size = 0
    for page in pages:
        batch.append(page)
        size += len(page.body)
        if len(batch) >= BATCH_PAGES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _extracted(
    pages: Iterator[FetchedPage], pool: ProcessPoolExecutor | None, workers: int
) -> Iterator[tuple[int, ExtractedBatch, bool]]:
    """(offset of the batch's last record, its extraction, whether all work is handed out), in
    archive order."""
    if pool is None:
        for batch in _batches(pages):
            yield batch[-1].offset, extract_batch(batch), False
        return
    in_flight: deque[tuple[int, Future[ExtractedBatch]]] = deque()
    for batch in _batches(pages):
        in_flight.append((batch[-1].offset, pool.submit(extract_batch, batch)))
        # Every worker busy and one batch queued each, no more: memory stays bounded.
        while len(in_flight) > 2 * workers:
            offset, fut = in_flight.popleft()
            yield offset, fut.result(), False
    while in_flight:
        offset, fut = in_flight.popleft()
        yield offset, fut.result(), True


def _extracted_ranges(
    path: Path, pool: ProcessPoolExecutor, workers: int, stats: ReadStats
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
    work = _workers.take_early_work(path) or _workers.RangeWork(_workers.ranges(path))
    expected = 0  # where the next range's first record must be

    def collect(draining: bool) -> tuple[int, ExtractedBatch, bool]:
        nonlocal expected
        end, fut = work.in_flight.popleft()
        batch, part, bounds = pickle.loads(fut.result())
        if bounds.first != expected:
            if expected >= 0:
                batch, part, bounds = extract_range(str(path), expected, end)
            else:
                batch, part, bounds = extract_batch([]), ReadStats(), RangeBounds()
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
    """Several extracted batches as one (page_idx shifted to index the merged pages)."""
    if len(results) == 1:
        return results[0]
    offsets = [0]
    for r in results[:-1]:
        offsets.append(offsets[-1] + r.observations.num_rows)
    skipped: Counter[str] = Counter()
    for r in results:
        skipped.update(r.skipped)
    return ExtractedBatch(
        observations=_concat([r.observations for r in results]),
        links=_concat([_shift(r.links, off) for r, off in zip(results, offsets, strict=True)]),
        first_seen_links=_concat([_shift(r.first_seen_links, off) for r, off in zip(results, offsets, strict=True)]),
        html_pages=sum(r.html_pages for r in results),
        skipped=skipped,
    )


def _shift(batch: pa.RecordBatch, offset: int) -> pa.RecordBatch:
    idx = pc.add(batch.column("page_idx"), pa.scalar(offset, pa.int32()))
    return batch.set_column(0, "page_idx", idx)


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    table = pa.Table.from_batches(batches).combine_chunks()
    return table.to_batches()[0] if table.num_rows else batches[0]


def checkpoint_threshold(archive_bytes: int) -> int:
    """How much log the database gathers before it checkpoints, ingesting an archive of this
    size with workers (see CHECKPOINT_LOG_PER_ARCHIVE_BYTE)."""
    low, high = CHECKPOINT_WITH_WORKERS_BOUNDS
    return min(max(int(CHECKPOINT_LOG_PER_ARCHIVE_BYTE * archive_bytes), low), high)


def ingest(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    store: Store,
    workers: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> IngestSummary:
    """Ingest WARC/ARC files (paths, directories or globs) into ``store``.

    Each write batch is one transaction that also derives its pages' link state, so Ctrl-C or a
    crash keeps exactly the committed batches, complete. A file whose bytes were ingested before
    is skipped; an interrupted file is resumed where it stopped (its committed captures are
    recognised and skipped).
    """
    paths = iter_paths([str(p) for p in inputs])
    workers = default_workers() if workers is None else max(1, workers)
    progress = Progress(total_bytes=sum(p.stat().st_size for p in paths))
    summary = IngestSummary()
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
    pool = None
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
            summary.files.append(_ingest_file(path, kind, store, pool, workers, progress, on_progress))
            progress.done_bytes = sum(p.stat().st_size for p in paths[: len(summary.files)])
            progress.records = summary.total("records")
            if on_progress:
                on_progress(progress)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if pool is not None:
            pool.shutdown(wait=not summary.interrupted, cancel_futures=True)
        summary.reclustered = write.cluster_links(store)
        store.con.execute(f"SET memory_limit = '{previous_limit}'")
        store.con.execute(f"SET checkpoint_threshold = '{previous_checkpoint}'")
        store.con.execute(f"SET threads = {int(previous_threads)}")
        _checkpoint(store)
    return summary


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
    previous = write.archive_by_fingerprint(store, fingerprint)
    if previous is not None and previous[2] is not None:
        return FileSummary(
            str(path), "already_ingested", note=f"same bytes as {previous[1]}, ingested {previous[2]:%Y-%m-%d %H:%M}"
        )
    archive_id = write.begin_archive(store, path=str(path), size=path.stat().st_size, fingerprint=fingerprint)
    stats = ReadStats()
    fs = FileSummary(str(path), "ingested")
    base_bytes, base_records = progress.done_bytes, progress.records

    def write_pending(pending: list[ExtractedBatch]) -> None:
        merged = _merge(pending)
        added, dups, n_links = write.add_batch(
            store,
            archive_id=archive_id,
            observations=merged.observations,
            links=merged.links,
            first_seen_links=merged.first_seen_links,
        )
        fs.pages += added
        fs.duplicates += dups
        fs.links += n_links
        fs.html_pages += merged.html_pages
        fs.skipped.update(merged.skipped)

    pending: list[ExtractedBatch] = []
    pending_pages = pending_links = 0
    write_pages = WRITE_PAGES if pool is None else WRITE_PAGES_WITH_WORKERS
    if pool is not None:
        store.con.execute(f"SET checkpoint_threshold = '{checkpoint_threshold(path.stat().st_size)}B'")
    checkpointed = False
    if pool is not None and kind == "warc":
        results = _extracted_ranges(path, pool, workers, stats)
    else:
        results = _extracted(iter_archive(path, stats=stats), pool, workers)
    for last_offset, result, draining in results:
        pending.append(result)
        pending_pages += result.observations.num_rows
        pending_links += result.links.num_rows
        # Once the last work is handed out, each result is written as it comes: whatever is
        # still pending when the workers finish is written while nothing else runs.
        if draining or pending_pages >= write_pages or pending_links >= WRITE_LINKS:
            write_pending(pending)
            pending, pending_pages, pending_links = [], 0, 0
        if draining and not checkpointed:
            # Into the file with what is written so far while the workers finish their last
            # ranges: the checkpoint at the end then has only those to write.
            _checkpoint(store)
            checkpointed = True
        # The bar counts pages as they are extracted: writes come in batches of hundreds.
        progress.pages += result.observations.num_rows
        progress.links += result.links.num_rows
        progress.records = base_records + stats.records
        if last_offset >= 0:
            # (offsets in a whole-file gzip's decompressed copy run past the file's size)
            progress.done_bytes = base_bytes + min(last_offset, path.stat().st_size)
        if on_progress:
            on_progress(progress)
    if pending:
        write_pending(pending)

    fs.records = stats.records
    fs.responses = stats.responses
    fs.skipped.update({f"record/{k}": v for k, v in stats.skipped.items()})
    fs.errors.extend(stats.errors)
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


def record_pages(store: Store, pages: list[FetchedPage], *, origin: str) -> int:
    """Add live fetches (a verified mention's source page, a crawl) to the index; pages added.

    They are observations like any archived capture; each ``origin`` (``webmention``,
    ``pingback``...) gets one pseudo-archive so ``archives`` says where every observation came from.
    """
    if not pages:
        return 0
    return record_extracted(store, extract_batch(pages), origin=origin)


def record_extracted(store: Store, batch: ExtractedBatch, *, origin: str) -> int:
    """:func:`record_pages` for pages already extracted (by :func:`extract_batch`)."""
    marker = f"live:{origin}"
    archive_id = write.begin_archive(store, path=marker, size=0, fingerprint=marker)
    added, _dups, _links = write.add_batch(
        store,
        archive_id=archive_id,
        observations=batch.observations,
        links=batch.links,
        first_seen_links=batch.first_seen_links,
    )
    return added
