"""What runs in Spark's Python workers: work items in, extracted rows out, as Arrow batches.

This module needs no Spark: it is the function ``mapInArrow`` calls, fed :data:`WORK` batches
(one row per item) and yielding :data:`EXTRACTED` batches, and it can be called as it is. Each
item is one of

* ``range``: a byte range of a local WARC, cut by :func:`linkback._workers.ranges` exactly as
  ``linkback ingest --workers`` cuts it, read by :func:`linkback.batches.extract_range` (the same
  reader and the same ``extract()``); its :class:`~linkback.sources.warc.RangeBounds` go back to
  the driver, which checks that the ranges join up as ingest does;
* ``file``: a whole local file (an ARC file, which is read as one stream, as ingest reads it, or
  a WAT file, whose links Common Crawl extracted, read by ingest's WAT reader: lite rows);
* ``http``: an ``http(s)://`` URL, downloaded to a temporary file, then read whole;
* ``hadoop``: a file Spark read through Hadoop (``s3a://``, ``hdfs://``, ``file:``...), whose
  bytes arrive in the ``content`` column, written to a temporary file, then read whole.

A file read whole gives the same pages as its ranges joined up (that is what the join check
ensures); its pages are extracted BATCH_PAGES at a time, so a large file never sits in memory
as pages. One output row is an observation (``obs``), a link (``link``) or, once per item, the
counters of the item (``meta``): the other two columns of a row are null.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from linkback import schema
from linkback.batches import ExtractedBatch, extract_batch, extract_range
from linkback.errors import SourceError
from linkback.sources._wat_links import Shared, lite_records
from linkback.sources.warc import RangeBounds, ReadStats, iter_archive
from linkback.sources.wat import is_wat, wat_chunks, wat_records
from linkback.spark._layout import PAGE_BITS, RANGE_BITS

#: Pages extracted together when a file is read whole (ingest's batch size).
BATCH_PAGES = 64
#: Download chunk for http(s) inputs, and how long a download may stall.
DOWNLOAD_CHUNK = 1 << 20
DOWNLOAD_TIMEOUT = 60.0

KINDS = ("range", "file", "http", "hadoop")

WORK = pa.schema(
    [
        ("archive_id", pa.int32()),
        ("range_no", pa.int32()),
        ("kind", pa.string()),
        ("source", pa.string()),  # a path or a URL
        ("start", pa.int64()),
        ("end", pa.int64()),  # -1: to the end of the file
        ("align", pa.bool_()),
        ("content", pa.binary()),  # hadoop: the file's bytes
    ]
)

OBS = pa.struct(list(schema.OBSERVATIONS))
LINK = pa.struct(
    [
        schema.LINK_OBSERVATIONS.field("obs_id"),
        pa.field("link_seq", pa.int32()),  # the link's place in its page: the first of duplicates wins
        *(schema.LINK_OBSERVATIONS.field(n) for n in schema.LINK_OBSERVATIONS.names[1:]),
    ]
)
META = pa.struct(
    [
        ("archive_id", pa.int32()),
        ("range_no", pa.int32()),
        ("kind", pa.string()),
        ("source", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("first", pa.int64()),  # RangeBounds.first (ranges only)
        ("next", pa.int64()),  # RangeBounds.next (ranges only)
        ("records", pa.int64()),
        ("responses", pa.int64()),
        ("bytes", pa.int64()),
        ("html_pages", pa.int64()),
        ("pages", pa.int64()),  # observations extracted (before duplicates are dropped)
        ("links", pa.int64()),
        ("skipped", pa.string()),  # JSON {"record/...": n, "page/...": n, "link/...": n}
        ("errors", pa.string()),  # JSON list of messages
        ("failed", pa.string()),  # why the item gave nothing at all; empty when it was read
    ]
)
EXTRACTED = pa.schema([("obs", OBS), ("link", LINK), ("meta", META)])


@dataclass
class ItemResult:
    """What reading one work item came to (its ``meta`` row)."""

    records: int = 0
    responses: int = 0
    bytes: int = 0
    html_pages: int = 0
    pages: int = 0
    links: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    bounds: RangeBounds = field(default_factory=RangeBounds)
    failed: str = ""

    def add_read(self, stats: ReadStats) -> None:
        self.records += stats.records
        self.responses += stats.responses
        self.bytes += stats.bytes
        self.skipped.update({f"record/{k}": v for k, v in stats.skipped.items()})
        self.errors.extend(stats.errors)

    def add_extracted(self, batch: ExtractedBatch) -> None:
        self.html_pages += batch.html_pages
        self.pages += batch.observations.num_rows
        self.links += batch.links.num_rows
        self.skipped.update(batch.skipped)


def extract_work(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``'s function: every work item of ``batches`` (rows of :data:`WORK`) read and
    extracted, as batches of :data:`EXTRACTED`."""
    for batch in batches:
        contents = batch.column("content")
        items = batch.drop_columns(["content"]).to_pylist()
        for i, item in enumerate(items):
            # The bytes of a file Hadoop read stay in Arrow's buffer (no copy into Python).
            item["content"] = None if contents[i].is_valid is False else contents[i].as_buffer()
            yield from extract_item(item)


def extract_item(item: dict) -> Iterator[pa.RecordBatch]:
    """The rows of one work item: its observations and links, then its ``meta`` row."""
    result = ItemResult()
    kind = item["kind"]
    try:
        if kind == "range":
            batch, stats, bounds = extract_range(item["source"], item["start"], item["end"], item["align"])
            result.add_read(stats)
            result.bounds = bounds
            yield from _rows(item["archive_id"], item["range_no"], batch, result)
        elif kind in KINDS:
            with _local_copy(item) as path:
                yield from _whole_file(item, path, result)
        else:
            result.failed = f"unknown work kind {kind!r}"
    except (SourceError, OSError, _DownloadError) as exc:
        result.failed = str(exc)
    yield _meta_row(item, result)


def _whole_file(item: dict, path: str, result: ItemResult) -> Iterator[pa.RecordBatch]:
    """A file read as one stream, its pages extracted BATCH_PAGES at a time (a WAT's records
    parsed in ingest's batches, cut by count and bytes: :func:`~linkback.sources.wat.wat_chunks`;
    each chunk numbered as a range: obs_ids stay in read order)."""
    stats = ReadStats()
    try:
        if is_wat(path):
            # Common Crawl's links, parsed as `linkback ingest` parses a WAT (lite: no sections, no context).
            shared = Shared()
            for chunk_no, records in enumerate(wat_chunks(wat_records(path, stats=stats))):
                yield from _rows(item["archive_id"], chunk_no, lite_records(records, path, stats, shared)[0], result)
            return
        pages = iter_archive(path, stats=stats)
        for chunk_no, chunk in enumerate(_chunks(pages, BATCH_PAGES)):
            yield from _rows(item["archive_id"], chunk_no, extract_batch(chunk), result)
    finally:
        result.add_read(stats)
        if path != item["source"]:
            # Name the input in messages, not the temporary copy it was read from.
            result.errors = [e.replace(path, item["source"]) for e in result.errors]


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _rows(archive_id: int, range_no: int, batch: ExtractedBatch, result: ItemResult) -> Iterator[pa.RecordBatch]:
    """The observation and link rows of one extracted batch, with their obs_ids."""
    result.add_extracted(batch)
    n = batch.observations.num_rows
    if n == 0:
        return
    if n >= 1 << PAGE_BITS or range_no >= 1 << RANGE_BITS:
        raise SourceError(f"range {range_no} holds {n} pages: more than obs_id has room for")
    base = (archive_id << (RANGE_BITS + PAGE_BITS)) | (range_no << PAGE_BITS)
    obs_ids = pc.add(pa.array(range(n), pa.int64()), pa.scalar(base, pa.int64()))
    obs_cols = {
        "obs_id": obs_ids,
        "archive_id": pa.array([archive_id] * n, pa.int32()),
        **{name: batch.observations.column(name) for name in batch.observations.schema.names},
    }
    obs = pa.StructArray.from_arrays([obs_cols[f.name] for f in OBS], fields=list(OBS))
    yield pa.RecordBatch.from_arrays([obs, pa.nulls(n, LINK), pa.nulls(n, META)], schema=EXTRACTED)
    links = batch.links
    m = links.num_rows
    if m == 0:
        return
    link_cols = {
        "obs_id": pc.take(obs_ids, links.column("page_idx")),
        "link_seq": pa.array(range(m), pa.int32()),
        **{name: links.column(name) for name in links.schema.names if name != "page_idx"},
    }
    link = pa.StructArray.from_arrays([link_cols[f.name] for f in LINK], fields=list(LINK))
    yield pa.RecordBatch.from_arrays([pa.nulls(m, OBS), link, pa.nulls(m, META)], schema=EXTRACTED)


def _meta_row(item: dict, result: ItemResult) -> pa.RecordBatch:
    values = {
        "archive_id": item["archive_id"],
        "range_no": item["range_no"],
        "kind": item["kind"],
        "source": item["source"],
        "start": item["start"],
        "end": item["end"],
        "first": result.bounds.first,
        "next": result.bounds.next,
        "records": result.records,
        "responses": result.responses,
        "bytes": result.bytes,
        "html_pages": result.html_pages,
        "pages": result.pages,
        "links": result.links,
        "skipped": json.dumps(dict(result.skipped), sort_keys=True),
        "errors": json.dumps(result.errors),
        "failed": result.failed,
    }
    meta = pa.array([values], META)
    return pa.RecordBatch.from_arrays([pa.nulls(1, OBS), pa.nulls(1, LINK), meta], schema=EXTRACTED)


class _DownloadError(Exception):
    pass


@contextlib.contextmanager
def _local_copy(item: dict) -> Iterator[str]:
    """A local path holding the item's bytes: the file itself, or a temporary copy."""
    kind = item["kind"]
    if kind == "file":
        yield item["source"]
        return
    fd, path = tempfile.mkstemp(prefix="linkback-spark-", suffix=".warc")
    try:
        with os.fdopen(fd, "wb") as out:
            if kind == "hadoop":
                out.write(item["content"] if item["content"] is not None else b"")
            else:
                _download(item["source"], out)
        yield path
    finally:
        os.unlink(path)


def _download(url: str, out: BinaryIO) -> None:
    """Stream ``url`` into ``out``. The URLs are the user's own list of archives (as with curl),
    not addresses a stranger chose: no address guard, but errors say what and where."""
    import httpx  # noqa: PLC0415 - only http(s) inputs need it

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code != 200:
                raise _DownloadError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
            for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                out.write(chunk)
    except httpx.HTTPError as exc:
        raise _DownloadError(f"{url}: download failed ({type(exc).__name__}: {exc})") from None
