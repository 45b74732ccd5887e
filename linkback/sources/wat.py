"""Common Crawl WAT files: the links ia-web-commons already extracted, ingested as a *lite* mode.

A WAT file is a WARC file of ``metadata`` records, one per record of the WARC it was made from,
each a JSON document (``Content-Type: application/json``)::

    Envelope
      WARC-Header-Metadata        WARC-Type, WARC-Target-URI, WARC-Date, WARC-Record-ID
      Payload-Metadata
        HTTP-Response-Metadata
          Response-Message        Status
          Headers                 {name: value} (one value per name)
          HTML-Metadata           (HTML pages only)
            Head                  Title, Base, Metas [{name|http-equiv|property, content}],
                                  Link [{path: LINK@/href, url, rel, type}]
            Links                 [{path: A@/href | IMG@/src | FORM@/action ..., url, text, rel, ...}]

URLs are the raw attribute values; :func:`wat_page` resolves them with :func:`linkback.urls.resolve`
against ``Head.Base`` (itself resolved against the page URL) or the page URL, and turns one
response's document into the same :class:`PageFacts` and :class:`Link` rows as
:func:`linkback.extract.extract`: the HTTP status rules (3xx ``Location`` → one redirect link,
4xx/5xx → no links, no ``HTML-Metadata`` → ``not_html``), rel tokens (nofollow, ugc, sponsored),
meta robots and ``X-Robots-Tag``, meta refresh, and kinds: ``A@/href``/``AREA@/href`` → text,
``LINK@/href`` with rel canonical / alternate (feed for RSS/Atom) → canonical / alternate / feed,
``IFRAME@/src``/``FRAME@/src`` → frame, ``FORM@/action`` → form. Other paths (``IMG@/src``,
``SCRIPT@/src``, CSS ``url()``...) are resources, not links, as in extract().

**What a WAT cannot say** (:data:`CANNOT_KNOW`, printed after a lite ingest): the section of a
link and its context (stored NULL), anchors and titles beyond the 100 characters Common Crawl kept,
the alt of an image inside a link (an ``A@/href`` without text right after an ``IMG@/src`` is taken
as an image link with that image's alt: ia-web-commons writes an image when it opens and a link
when it closes), the page's charset (links resolved as UTF-8), a second ``X-Robots-Tag`` header,
and brand mentions (no page text).

Records that hold no page are counted by the type of the record they describe (``warcinfo``,
``request``, ``metadata``, ``revisit``...); a record whose JSON does not parse, or lacks its
envelope, is counted as ``bad_json``, one whose HTTP status is not 100-999 (``Infinity``,
``2**40``) as ``bad_status``, one whose WARC-Date is not a date in years 1-9999 UTC as
``no_date``: each with a message naming the file and offset, and reading goes on. A lone
surrogate in a string (JSON ``"\\ud800"``) is replaced by U+FFFD: the page is kept. Damage to
the file itself (a corrupt or cut gzip member, a lying Content-Length, garbage) is skipped as in
a WARC (:func:`linkback.sources.warc.iter_metadata_blocks`): reading goes on at the next record.
"""

from __future__ import annotations

import gzip
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

from fastwarc.warc import ArchiveIterator, WarcRecordType

from linkback.sources.warc import ReadStats, iter_metadata_blocks

if TYPE_CHECKING:
    from linkback.records import Link, PageFacts

#: What :class:`linkback.ingest.FileSummary` notes for a file ingested from its WAT.
LITE_NOTE = "WAT lite ingest"
#: What a lite ingest cannot know, one line each (the command prints them after the summary).
CANNOT_KNOW = (
    "sections and link contexts: not in a WAT (stored NULL)",
    "anchor texts and titles: as Common Crawl cut them (100 characters)",
    "image links: inferred from record order; alts of other images unknown",
    "charset: unknown (links resolved as UTF-8); one X-Robots-Tag header only",
    "brand mentions: none found (a WAT holds no page text)",
)
#: Characters of anchor text Common Crawl's WAT keeps (the generator of bench/make_wat.py cuts there).
WAT_ANCHOR_CHARS = 100

_SNIFF_RECORDS = 4


def is_wat(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a WAT file: its first record after the warcinfo is a ``metadata``
    record of JSON with an ``Envelope``. Never raises (a file it cannot read is not a WAT)."""
    try:
        with open(path, "rb") as fh:
            for n, record in enumerate(ArchiveIterator(fh, parse_http=False, fsspec_args=False)):
                if record.record_type == WarcRecordType.warcinfo and n < _SNIFF_RECORDS:
                    continue
                if record.record_type != WarcRecordType.metadata:
                    return False
                if not (record.headers.get("Content-Type") or "").startswith("application/json"):
                    return False
                return b'"Envelope"' in record.reader.read(65536)
    except (OSError, ValueError, EOFError, gzip.BadGzipFile):
        return False
    return False


def iter_wat(path: str | os.PathLike[str], *, stats: ReadStats) -> Iterator[tuple[PageFacts, list[Link]]]:
    """The pages of a WAT file, as extract() would give them (see the module docstring)."""
    from linkback.sources import _wat_links  # noqa: PLC0415 - the parsing loads the URL layer

    source = os.fspath(path)
    shared = _wat_links.Shared()
    for offset, raw in wat_records(source, stats=stats):
        got = _wat_links.parse_record(raw, source, offset, stats, shared)
        if got is not None:
            yield got


#: The largest WAT metadata record read (Common Crawl's are kilobytes; a page's 20,000 links at
#: most, ~5 MB): a record that declares more is skipped unread, as damage.
MAX_WAT_RECORD_BYTES = 64 * 2**20


def wat_records(source: str, *, stats: ReadStats) -> Iterator[tuple[int, bytes]]:
    """``(offset, JSON bytes)`` of each metadata record of a WAT file; other records counted by
    type. Damage is skipped as in a WARC (:func:`linkback.sources.warc.iter_metadata_blocks`):
    a lying Content-Length or a corrupt gzip member costs its own record, not the rest of the file."""
    yield from iter_metadata_blocks(source, stats=stats, max_bytes=MAX_WAT_RECORD_BYTES)


#: Records per batch a WAT file is parsed in (here, or by one worker).
WAT_BATCH_PAGES = 128


class WatPages:
    """A WAT file as a source for :func:`linkback.ingest.ingest_pages`: it extracts itself
    (``extracted_by``), with or without a pool. This process reads the records (cheap: JSON
    text, no page bodies); their parsing goes to the workers when there are any."""

    #: ingest_pages asks a source with this set for its batches even without a pool.
    extracts_itself = True
    note = LITE_NOTE

    def __init__(self, path: str | os.PathLike[str], stats: ReadStats | None = None) -> None:
        self.path = os.fspath(path)
        self.stats = stats if stats is not None else ReadStats()

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(f"{self.path}: a WAT file holds no page bodies; ingest_pages reads it with extracted_by()")

    def extracted_by(self, pool: Executor | None, workers: int, brands: object = None) -> Iterator[Any]:
        """Batches of the file's pages (``linkback.ingest.Extracted``), in order, parsed here or by
        the ``pool``'s workers (records of JSON go to them, Arrow batches come back: as for a
        WARC, at most two batches per worker in flight). ``brands`` are not looked for: a WAT
        holds no page text."""
        from linkback.ingest import Extracted  # noqa: PLC0415 - ingest imports this module
        from linkback.sources._wat_links import Shared, lite_records  # noqa: PLC0415 - the URL layer

        chunks = _chunks(wat_records(self.path, stats=self.stats))
        if pool is None:
            shared = Shared()
            for chunk in chunks:
                batch, _ = lite_records(chunk, self.path, self.stats, shared)
                yield Extracted(chunk[-1][0], batch, False, self.path)
            return
        in_flight: deque[tuple[int, Future[tuple[Any, ReadStats]]]] = deque()

        def collect(draining: bool) -> Any:
            offset, fut = in_flight.popleft()
            batch, part = fut.result()
            self.stats.responses += part.responses
            self.stats.skipped.update(part.skipped)
            self.stats.errors.extend(part.errors)
            return Extracted(offset, batch, draining, self.path)

        for chunk in chunks:
            in_flight.append((chunk[-1][0], pool.submit(lite_records, chunk, self.path)))
            while len(in_flight) > 2 * workers:
                yield collect(False)
        while in_flight:
            yield collect(True)


def _chunks(records: Iterator[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for item in records:
        chunk.append(item)
        if len(chunk) >= WAT_BATCH_PAGES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
