"""Ingest: archives → FetchedPage → extract() in worker processes → Arrow batches → the store.

The main process reads archives as streams and writes to the database (its one owner); ``workers``
processes run :func:`linkback.extract.extract` on batches of pages and hand back Arrow record
batches, so what crosses the process boundary is compact columnar data. At most a few batches
are in flight at once, which bounds memory whatever the archive size.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa

from linkback.errors import SourceError
from linkback.extract import extract
from linkback.records import FetchedPage, Link, PageFacts
from linkback.sources.warc import ReadStats, iter_archive, iter_paths, sniff_archive
from linkback.store import Store
from linkback.store import _write as write
from linkback.store._arrow import to_batches

#: Pages per batch handed to a worker, and per transaction.
BATCH_PAGES = 250
#: A batch is also cut when its bodies reach this many bytes.
BATCH_BYTES = 24 * 2**20


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

    def apply(batch_pages: list[FetchedPage], result: ExtractedBatch) -> None:
        nonlocal next_id
        added, dups, n_links = write.add_batch(
            store,
            archive_id=archive_id,
            first_obs_id=next_id,
            observations=result.observations,
            links=result.links,
        )
        next_id += added
        fs.pages += added
        fs.duplicates += dups
        fs.links += n_links
        fs.html_pages += result.html_pages
        fs.skipped.update(result.skipped)
        progress.pages += added
        progress.links += n_links
        progress.records = stats.records
        last = batch_pages[-1]
        if last.offset >= 0:
            progress.done_bytes = base_bytes + last.offset
        if on_progress:
            on_progress(progress)

    pages = iter_archive(path, stats=stats)
    if pool is None:
        for batch in _batches(pages):
            apply(batch, extract_batch(batch))
    else:
        in_flight: list[tuple[list[FetchedPage], Future[ExtractedBatch]]] = []
        for batch in _batches(pages):
            in_flight.append((batch, pool.submit(extract_batch, batch)))
            # Keep every worker busy and one batch queued, no more: memory stays bounded.
            while len(in_flight) > workers + 1:
                done_batch, fut = in_flight.pop(0)
                apply(done_batch, fut.result())
        for done_batch, fut in in_flight:
            apply(done_batch, fut.result())

    fs.records = stats.records
    fs.responses = stats.responses
    fs.skipped.update({f"record/{k}": v for k, v in stats.skipped.items()})
    fs.errors.extend(stats.errors)
    write.finish_archive(
        store, archive_id, records=fs.records, pages=fs.pages, links=fs.links, skipped=dict(fs.skipped)
    )
    return fs
