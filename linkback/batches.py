"""Pages → :func:`linkback.extract.extract` → Arrow batches: the work of ingest's worker processes.

A worker reads a byte range of an archive itself and hands back one :class:`ExtractedBatch`, so
page bodies never cross a process boundary; only compact columnar data does. This module does not
import the store (DuckDB): the forkserver the workers are forked from loads only what they run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pyarrow as pa

from linkback._gc import cycles_collected_after
from linkback.brands._scan import BrandTerms, Hit, scanner_for, visible_text
from linkback.brands._store import hit_batch
from linkback.extract import ParsedPage, extract
from linkback.records import FetchedPage, Link, PageFacts
from linkback.sources.warc import RangeBounds, ReadStats, iter_archive
from linkback.store._arrow import page_batches


@dataclass
class ExtractedBatch:
    """What a worker returns for one batch of pages (tables once ingest has merged several)."""

    observations: pa.RecordBatch | pa.Table
    links: pa.RecordBatch | pa.Table
    first_seen_links: pa.RecordBatch | pa.Table
    html_pages: int
    skipped: Counter[str]
    #: Brand terms found in the pages' text (:data:`linkback.brands._store.HIT_SCHEMA`); None
    #: when there were no terms to look for.
    mentions: pa.RecordBatch | pa.Table | None = None


def extract_batch(pages: list[FetchedPage], brands: BrandTerms | None = None) -> ExtractedBatch:
    """Run extract() over pages and return columnar batches (runs in worker processes); with
    ``brands``, their text is also scanned for those terms, on the tree extract() parsed."""
    with cycles_collected_after():
        return _extract_batch(pages, brands)


def _extract_batch(pages: list[FetchedPage], brands: BrandTerms | None) -> ExtractedBatch:
    if not brands:
        return batch_of([extract(page) for page in pages])
    scanner = scanner_for(brands)
    extracted: list[tuple[PageFacts, list[Link]]] = []
    hits: list[tuple[int, Hit]] = []
    texts: list[tuple[int, str, frozenset[str]]] = []
    for idx, page in enumerate(pages):
        parsed = ParsedPage(page)
        parsed.hidden = []  # found by extract()'s walk: the visible text needs no walk of its own
        facts, links = extract(parsed)
        extracted.append((facts, links))
        if not facts.skipped:
            texts.append((idx, visible_text(parsed.tree, parsed.hidden), frozenset(link.target_domain for link in links)))
    # The texts scanned one after another, not each between two extractions: the automaton then
    # stays in the CPU's caches (the scan costs ~40 % less).
    for idx, text, linked in texts:
        hits.extend((idx, hit) for hit in scanner.scan(text, linked))
    batch = batch_of(extracted)
    batch.mentions = hit_batch(hits)
    return batch


def batch_of(extracted: list[tuple[PageFacts, list[Link]]]) -> ExtractedBatch:
    """Columnar batches of pages already extracted, with their skip counts."""
    facts: list[PageFacts] = []
    per_page: list[list[Link]] = []
    skipped: Counter[str] = Counter()
    html_pages = 0
    for pf, page_links in extracted:
        if pf.skipped:
            skipped[f"page/{pf.skipped}"] += 1
        else:
            html_pages += 1
        for reason, count in pf.skipped_links:
            skipped[f"link/{reason}"] += count
        facts.append(pf)
        per_page.append(page_links)

    observations, link_batch, current = page_batches(facts, per_page)
    return ExtractedBatch(
        observations=observations,
        links=link_batch,
        first_seen_links=current,
        html_pages=html_pages,
        skipped=skipped,
    )


def extract_range(
    path: str, start: int, end: int, align: bool = False, brands: BrandTerms | None = None
) -> tuple[ExtractedBatch, ReadStats, RangeBounds]:
    """Read the records of ``path`` that begin in ``[start, end)`` and extract them (runs in
    workers). With ``align``, ``start`` is any byte offset: see :func:`linkback._workers.ranges`.
    ``brands``: terms to look for in the pages' text (:func:`extract_batch`)."""
    stats, bounds = ReadStats(), RangeBounds()
    pages = list(iter_archive(path, stats=stats, start=start, end=end, align=align, bounds=bounds))
    return extract_batch(pages, brands), stats, bounds
