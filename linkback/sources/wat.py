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
envelope, is counted as ``bad_json``, one whose HTTP status is not three digits, 100-999
(``Infinity``, ``2**40``, 5,001 digits) as ``bad_status``, one whose WARC-Date is not a date in
years 1-9999 UTC as ``no_date``, one with a value of another JSON type where text belongs (an
object for a title, a number for a header) as ``bad_value``: each with a message naming the file
and offset, and reading goes on. A link with such a value is refused alone (``link/bad_value``).
A list of strings is read as the tokens it holds (``rel: ["nofollow"]``). A lone surrogate in a
string (JSON ``"\\ud800"``) is replaced by U+FFFD: the page is kept. Damage to the file itself
(a corrupt or cut gzip member, a lying Content-Length, garbage) is skipped as in a WARC
(:func:`linkback.sources.warc.iter_metadata_blocks`): reading goes on at the next record, and a
record larger than :data:`MAX_WAT_RECORD_BYTES` is skipped unread (``record_too_large``).
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

from linkback.sources import _recovery as rec_
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

#: Records after the warcinfo that :func:`is_wat` looks at when the first ones say nothing...
_SNIFF_RECORDS = 8
#: ...in at most this many gzip members (damaged ones too), reading this much of each.
_SNIFF_MEMBERS = 32
_SNIFF_BYTES = 1 << 20
#: Names of WAT files (Common Crawl's end ``.warc.wat.gz``): what decides when the records do not.
_WAT_NAMES = (".wat.gz", ".wat")
#: Record types of a WARC, which a WAT never holds (it holds metadata records only).
_WARC_TYPES = frozenset({"request", "response", "resource", "revisit", "conversion", "continuation"})


def is_wat(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a WAT file, told by its first records: a ``metadata`` record of JSON
    with an ``Envelope`` says it is, a request, response... record says it is a WARC. A damaged
    record (a corrupt gzip member, garbage, JSON that does not parse) says nothing: the next ones
    are looked at, up to eight. When they leave it open, the name decides: the file's own or the
    one its warcinfo gives (``WARC-Filename``), ending ``.wat.gz`` or ``.wat``. ``linkback
    ingest`` and ``linkback spark`` both ask this. Never raises (a file it cannot open is not a WAT)."""
    source = os.fspath(path)
    try:
        says, named = _sniff(source)
    except OSError:
        return False
    except (ValueError, EOFError, zlib.error):
        says, named = None, False
    if says is not None:
        return says
    return named or source.lower().endswith(_WAT_NAMES)


def _sniff(source: str) -> tuple[bool | None, bool]:
    """(what the first records say: WAT, WARC or None, whether a warcinfo names a WAT file)."""
    named, looked = False, 0
    with open(source, "rb") as fh:
        data = rec_.FileBytes(fh.fileno())
        parts = _member_heads(data) if data[:2] == rec_.GZIP_MAGIC[:2] else iter([data])
        for part in parts:
            for rtype, fields, block in _records(part):
                if rtype == "warcinfo":
                    named = named or fields.get("warc-filename", "").lower().endswith(_WAT_NAMES)
                    continue
                if rtype in _WARC_TYPES:
                    return False, named
                json_type = fields.get("content-type", "").startswith("application/json")
                if rtype == "metadata" and json_type and b'"Envelope"' in block:
                    return True, named
                looked += 1
                if looked >= _SNIFF_RECORDS:
                    return None, named
    return None, named


def _member_heads(data: rec_.FileBytes) -> Iterator[bytes]:
    """The first bytes of each gzip member in turn; a corrupt one and garbage are skipped."""
    pos = 0
    for _ in range(_SNIFF_MEMBERS):
        if not 0 <= pos < len(data):
            return
        if data[pos : pos + 2] != rec_.GZIP_MAGIC[:2]:
            pos = rec_.next_gzip_record(data, pos)
            continue
        member = rec_.read_member(data, pos, head_len=_SNIFF_BYTES, stop_after=_SNIFF_BYTES)
        if not member.error:
            yield member.head
        pos = member.end if member.end is not None else rec_.next_gzip_record(data, pos + 1)


def _records(data: bytes | rec_.FileBytes) -> Iterator[tuple[str, dict[str, str], bytes]]:
    """(WARC-Type, header fields by lower-case name, the block's first bytes) of the plain WARC
    records in ``data``; what is not one is skipped to the next ``WARC/`` line."""
    pos = rec_.next_warc_line(data, 0)
    while pos >= 0:
        head = data[pos : pos + 65536]
        end = rec_.header_end(head)
        fields = _fields(head[:end]) if end >= 0 else {}
        length = fields.get("content-length", "")
        if not (length.isascii() and length.isdigit() and len(length) < 19):
            pos = rec_.next_warc_line(data, pos + 1)
            continue
        block_start = pos + end
        yield (
            fields.get("warc-type", "").lower(),
            fields,
            data[block_start : block_start + min(int(length), _SNIFF_BYTES)],
        )
        pos = rec_.next_warc_line(data, block_start + int(length))


def _fields(header: bytes) -> dict[str, str]:
    fields = {}
    for line in header.decode("latin-1").splitlines()[1:]:
        name, colon, value = line.partition(":")
        if colon:
            fields[name.strip().lower()] = value.strip()
    return fields


def iter_wat(path: str | os.PathLike[str], *, stats: ReadStats) -> Iterator[tuple[PageFacts, list[Link]]]:
    """The pages of a WAT file, as extract() would give them (see the module docstring)."""
    from linkback.sources import _wat_links  # noqa: PLC0415 - the parsing loads the URL layer

    source = os.fspath(path)
    shared = _wat_links.Shared()
    for offset, raw in wat_records(source, stats=stats):
        got = _wat_links.parse_record(raw, source, offset, stats, shared)
        if got is not None:
            yield got


#: The largest WAT metadata record read: one that declares more is skipped unread, as damage
#: (``record_too_large``). Common Crawl cuts a page at 1 MiB (5 MiB planned) and its WAT record
#: holds the page's head and links, not its text: kilobytes, a few MB for a page of links only.
#: Parsing 16 MiB of the smallest links JSON holds takes about 100 MB more.
MAX_WAT_RECORD_BYTES = 16 * 2**20


def wat_records(source: str, *, stats: ReadStats) -> Iterator[tuple[int, bytes]]:
    """``(offset, JSON bytes)`` of each metadata record of a WAT file; other records counted by
    type. Damage is skipped as in a WARC (:func:`linkback.sources.warc.iter_metadata_blocks`):
    a lying Content-Length or a corrupt gzip member costs its own record, not the rest of the file."""
    yield from iter_metadata_blocks(source, stats=stats, max_bytes=MAX_WAT_RECORD_BYTES)


#: Records per batch a WAT file is parsed in (here, or by one worker)...
WAT_BATCH_PAGES = 128
#: ...or fewer when their JSON reaches this many bytes (as ingest's BATCH_BYTES cuts a WARC's
#: batches): 2 batches per worker are in flight, each of them pickled once more on its way.
WAT_BATCH_BYTES = 8 * 2**20


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

        chunks = wat_chunks(wat_records(self.path, stats=self.stats))
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


def wat_chunks(records: Iterator[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    """``records`` in batches of :data:`WAT_BATCH_PAGES`, or fewer of :data:`WAT_BATCH_BYTES`."""
    chunk: list[tuple[int, bytes]] = []
    size = 0
    for item in records:
        chunk.append(item)
        size += len(item[1])
        if len(chunk) >= WAT_BATCH_PAGES or size >= WAT_BATCH_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk
