"""Ingest: archives → FetchedPage → extract() in worker processes → Arrow batches → the store.

The main process reads archives as streams and writes to the database (its one owner); ``workers``
processes run :func:`linkback.extract.extract` on batches of pages and hand back Arrow record
batches, so what crosses the process boundary is compact columnar data. At most a few batches
are in flight at once, which bounds memory whatever the archive size.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from linkback.errors import SourceError
from linkback.extract import extract
from linkback.records import FetchedPage, Link, PageFacts
from linkback.sources.warc import ReadStats, iter_archive, iter_paths, sniff_archive
from linkback.store import Store
from linkback.store import _write as write
from linkback.store._arrow import to_batches

#: Pages per batch handed to a worker: small, so that every worker stays busy.
BATCH_PAGES = 64
#: A batch is also cut when its bodies reach this many bytes.
BATCH_BYTES = 8 * 2**20
#: Extracted batches are written together, one transaction per this many pages or links:
#: each commit has a fixed cost, and a transaction is also the unit an interrupt can lose.
WRITE_PAGES = 1000
WRITE_LINKS = 200_000


@dataclass
class ExtractedBatch:
    """What a worker returns for one batch of pages."""

    observations: pa.RecordBatch
    links: pa.RecordBatch
    html_pages: int
    skipped: Counter[str]


def extract_batch(pages: list[FetchedPage]) -> ExtractedBatch:
    """Run extract() over pages and return columnar batches (runs in worker processes)."""
    facts: list[PageFacts] = []
    per_page: list[list[Link]] = []
    skipped: Counter[str] = Counter()
    html_pages = 0
    for page in pages:
        pf, page_links = extract(page)
        if pf.skipped:
            skipped[f"page/{pf.skipped}"] += 1
        else:
            html_pages += 1
        for reason, count in pf.skipped_links:
            skipped[f"link/{reason}"] += count
        facts.append(pf)
        per_page.append(page_links)

    observations, link_batch = to_batches(facts, per_page)
    return ExtractedBatch(
        observations=observations,
        links=link_batch,
        html_pages=html_pages,
        skipped=skipped,
    )


@dataclass
class FileSummary:
    path: str
    status: str  # ingested, already_ingested, failed
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
    refreshed_pages: int = 0
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
) -> Iterator[tuple[int, ExtractedBatch]]:
    """(offset of the batch's last record, its extraction), in archive order."""
    if pool is None:
        for batch in _batches(pages):
            yield batch[-1].offset, extract_batch(batch)
        return
    in_flight: deque[tuple[int, Future[ExtractedBatch]]] = deque()
    for batch in _batches(pages):
        in_flight.append((batch[-1].offset, pool.submit(extract_batch, batch)))
        # Every worker busy and one batch queued each, no more: memory stays bounded.
        while len(in_flight) > 2 * workers:
            offset, fut = in_flight.popleft()
            yield offset, fut.result()
    while in_flight:
        offset, fut = in_flight.popleft()
        yield offset, fut.result()


def _merge(results: list[ExtractedBatch]) -> ExtractedBatch:
    """Several extracted batches as one (page_idx shifted to index the merged pages)."""
    if len(results) == 1:
        return results[0]
    shifted = []
    offset = 0
    for r in results:
        idx = pc.add(r.links.column("page_idx"), pa.scalar(offset, pa.int32()))
        shifted.append(r.links.set_column(0, "page_idx", idx))
        offset += r.observations.num_rows
    skipped: Counter[str] = Counter()
    for r in results:
        skipped.update(r.skipped)
    return ExtractedBatch(
        observations=pa.Table.from_batches([r.observations for r in results]).combine_chunks().to_batches()[0],
        links=pa.Table.from_batches(shifted).combine_chunks().to_batches()[0]
        if any(b.num_rows for b in shifted)
        else results[0].links,
        html_pages=sum(r.html_pages for r in results),
        skipped=skipped,
    )


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def ingest(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    store: Store,
    workers: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> IngestSummary:
    """Ingest WARC/ARC files (paths, directories or globs) into ``store``.

    Each batch is one transaction; link state is re-derived at the end (also after Ctrl-C, for
    the batches that committed). A file whose bytes were ingested before is skipped.
    """
    paths = iter_paths([str(p) for p in inputs])
    workers = default_workers() if workers is None else max(1, workers)
    progress = Progress(total_bytes=sum(p.stat().st_size for p in paths))
    summary = IngestSummary()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("forkserver")) if workers > 1 else None
    try:
        for path in paths:
            progress.current = str(path)
            try:
                sniff_archive(path)
            except SourceError as exc:
                summary.files.append(FileSummary(str(path), "failed", errors=[str(exc)]))
                continue
            summary.files.append(_ingest_file(path, store, pool, workers, progress, on_progress))
            progress.done_bytes = sum(p.stat().st_size for p in paths[: len(summary.files)])
            if on_progress:
                on_progress(progress)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if pool is not None:
            pool.shutdown(wait=not summary.interrupted, cancel_futures=True)
        # The committed batches are folded into link state even after an interrupt.
        summary.refreshed_pages = write.refresh(store)
    return summary


def _ingest_file(
    path: Path,
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
    base_bytes = progress.done_bytes
    next_id = write.next_obs_id(store)

    def write_pending(pending: list[ExtractedBatch]) -> None:
        nonlocal next_id
        merged = _merge(pending)
        added, dups, n_links = write.add_batch(
            store, archive_id=archive_id, first_obs_id=next_id, observations=merged.observations, links=merged.links
        )
        next_id += added
        fs.pages += added
        fs.duplicates += dups
        fs.links += n_links
        fs.html_pages += merged.html_pages
        fs.skipped.update(merged.skipped)
        progress.pages += added
        progress.links += n_links

    pending: list[ExtractedBatch] = []
    pending_pages = pending_links = 0
    for last_offset, result in _extracted(iter_archive(path, stats=stats), pool, workers):
        pending.append(result)
        pending_pages += result.observations.num_rows
        pending_links += result.links.num_rows
        if pending_pages >= WRITE_PAGES or pending_links >= WRITE_LINKS:
            write_pending(pending)
            pending, pending_pages, pending_links = [], 0, 0
        progress.records = stats.records
        if last_offset >= 0:
            progress.done_bytes = base_bytes + last_offset
        if on_progress:
            on_progress(progress)
    if pending:
        write_pending(pending)

    fs.records = stats.records
    fs.responses = stats.responses
    fs.skipped.update({f"record/{k}": v for k, v in stats.skipped.items()})
    fs.errors.extend(stats.errors)
    write.finish_archive(
        store, archive_id, records=fs.records, pages=fs.pages, links=fs.links, skipped=dict(fs.skipped)
    )
    return fs
