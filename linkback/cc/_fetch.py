"""``cc fetch``: a host's pages from Common Crawl, record by record, into the index.

The index-driven pattern of cc-pyspark (``cc_index_word_count``): look the captures up in the
URL index (:mod:`linkback.cc._index`), then fetch just those WARC records from the data server by
HTTP range request — ``Range: bytes=OFFSET-(OFFSET+LENGTH-1)`` on ``{data}/{filename}``. Common
Crawl gzips each record on its own, so every range is a whole gzip member: a WARC file of one
record, read by :func:`linkback.sources.warc.iter_archive` like any other. The pages then take the
one path of every page, :func:`linkback.ingest.ingest_pages` (``via="commoncrawl"``), filed under
one archive row per crawl (``commoncrawl:CC-MAIN-...``); a capture stored before adds nothing.

A range answered with anything but 206 and exactly LENGTH bytes of the asked range is skipped and
counted (``range_ignored``, ``bad_range``, ``short_body``, ``long_body``, ``status_NNN``), as is
a record that is no readable response (``record/<reason>`` with the reader's keys); the message
of an answer that came after a redirect names where it was redirected to. An index line whose
filename would leave the data URL's path (``..``, percent-encoded or not) is never fetched
(``unsafe_filename``). Requests run a few at a time (``concurrency``), each retried with backoff
on 503/429 (:mod:`linkback.cc._http`); each may take ``timeout`` seconds in all (a server that drips
its answer is cut off then), and one that timed out twice is not tried again. After
:data:`MAX_FAILED_RECORDS` records in a row that the data server did not answer (a timeout, a
broken connection, 5xx or 429 after the retries) the rest are not fetched (``gave_up``), as the
index stops after as many pages in a row.

The index is read as the records are fetched, never held whole: a query of millions of captures
needs the memory of one index page and the records in flight. A record the index names twice (a
host asked for twice, or under its domain too) is fetched once when the two lines are less than
:data:`REMEMBERED_RECORDS` captures apart (``same_record``); further apart, the store's own check
(a capture stored before adds nothing) keeps it once, at the cost of one more request.
"""

from __future__ import annotations

import io
import os
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import ada_url

from linkback.cc._http import DEFAULT_TIMEOUT, RETRY_REASONS, RETRY_STATUSES, Polite, RetryPolicy, redirected
from linkback.cc._index import (
    MATCH_TYPES,
    MAX_ERRORS,
    Capture,
    IndexStats,
    captures,
    index_endpoint,
    num_pages,
    under,
)
from linkback.errors import FetchError, LinkbackError, SourceError
from linkback.faces import ProgressFn, job
from linkback.fetch import Fetcher, policy_from_env, refuse_widening
from linkback.records import FetchedPage
from linkback.sources.warc import ReadStats, iter_archive
from linkback.store import Store

DEFAULT_INDEX_URL = "https://index.commoncrawl.org/"
DEFAULT_DATA_URL = "https://data.commoncrawl.org/"
#: Settings: where the URL index and the WARC files are (tests point them at local servers).
INDEX_URL_ENV = "LINKBACK_CC_INDEX_URL"
DATA_URL_ENV = "LINKBACK_CC_DATA_URL"
#: Requests in flight at once: Common Crawl asks for moderation, and throttles with 503.
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
#: A WARC record longer than this is not fetched (Common Crawl cuts payloads at 1 MiB; a
#: record's length beyond a few MB is a bad index line).
MAX_RECORD_BYTES = 16 * 2**20
#: Records in a row the data server did not answer before the rest are not asked for.
MAX_FAILED_RECORDS = 10
#: Records (filename and offset) remembered to fetch each once: the last this many to the last
#: twice as many, as 64-bit hashes (a few tens of MB at most, whatever the number of captures).
REMEMBERED_RECORDS = 100_000
#: What a record's fetch ends in when the server, not the record, is at fault.
_SERVER_TROUBLE = frozenset({f"fetch_{reason}" for reason in RETRY_REASONS} | {f"status_{s}" for s in RETRY_STATUSES})


def cc_index_url() -> str:
    """``$LINKBACK_CC_INDEX_URL``, else Common Crawl's index server."""
    return os.environ.get(INDEX_URL_ENV, "").strip() or DEFAULT_INDEX_URL


def cc_data_url() -> str:
    """``$LINKBACK_CC_DATA_URL``, else Common Crawl's data server."""
    return os.environ.get(DATA_URL_ENV, "").strip() or DEFAULT_DATA_URL


@dataclass
class _Run:
    """What one ``cc fetch`` counts."""

    found: int = 0
    fetched: int = 0  # records fetched and read as a page
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    index_read: bool = False  # every capture found: ``found`` is the total

    def skip(self, key: str, message: str) -> None:
        self.skipped[key] += 1
        if message and len(self.errors) < MAX_ERRORS:
            self.errors.append(message)


class _GiveUp:
    """Records in a row the data server failed, counted as they end (in the fetching threads);
    past :data:`MAX_FAILED_RECORDS` the records not yet started are not asked for."""

    def __init__(self, data: str) -> None:
        self.data = data
        self.in_a_row = 0
        self.gave_up = threading.Event()
        self.message = ""
        self._lock = threading.Lock()

    def ended(self, key: str) -> None:
        """Count how a record ended (its skip key, "" when fetched)."""
        with self._lock:
            if key not in _SERVER_TROUBLE:
                self.in_a_row = 0
                return
            self.in_a_row += 1
            if self.in_a_row >= MAX_FAILED_RECORDS and not self.gave_up.is_set():
                self.message = f"{self.data}: {self.in_a_row} records in a row failed ({key}); the rest not fetched"
                self.gave_up.set()


class _SeenRecords:
    """Whether a record (filename, offset) was passed on before, in bounded memory: two sets of
    hashes, the older dropped when the newer is full (see :data:`REMEMBERED_RECORDS`)."""

    def __init__(self) -> None:
        self.size = REMEMBERED_RECORDS
        self.newer: set[int] = set()
        self.older: set[int] = set()

    def first_time(self, capture: Capture) -> bool:
        key = hash((capture.filename, capture.offset))
        if key in self.newer or key in self.older:
            return False
        self.newer.add(key)
        if len(self.newer) >= self.size:
            self.older, self.newer = self.newer, set()
        return True


@job("cc_fetch")
def cc_fetch(
    store: Store,
    *,
    hosts: Sequence[str],
    crawl: str,
    limit: int | None = None,
    match_type: str = "host",
    index_url: str = "",
    data_url: str = "",
    concurrency: int = DEFAULT_CONCURRENCY,
    backoff: float = 1.0,
    timeout: float = DEFAULT_TIMEOUT,
    allow_private: bool = False,
    allow_private_hosts: Sequence[str] = (),
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Look up the status-200 HTML captures of ``hosts`` in the URL index of ``crawl``
    (``CC-MAIN-2024-10``), fetch each WARC record by range request and ingest the pages; the
    counts (captures found, fetched, pages stored, skipped by reason). ``limit`` caps the captures
    fetched; ``match_type`` is ``host``, ``domain`` (with subdomains), ``prefix`` or ``exact``;
    ``index_url`` and ``data_url`` default to ``$LINKBACK_CC_INDEX_URL`` / ``$LINKBACK_CC_DATA_URL``
    or Common Crawl's servers. ``backoff``: seconds before the first retry of a throttled request;
    ``timeout``: seconds one request may take in all, its body included.
    ``allow_private`` and ``allow_private_hosts`` (``--allow-private-host`` entries) let it reach
    private addresses (a local mirror), all or those; a server refuses what it was not started with."""
    from linkback.ingest import ingest_pages  # noqa: PLC0415 - heavy
    from linkback.store import _write as write  # noqa: PLC0415

    hosts = _checked_hosts(hosts)
    if match_type not in MATCH_TYPES:
        raise LinkbackError(f"match type {match_type!r}: use one of {', '.join(MATCH_TYPES)}")
    if limit is not None and limit < 1:
        raise LinkbackError("the limit must be at least 1")
    if not 0 < timeout <= 3600:  # NaN too
        raise LinkbackError(f"timeout {timeout!r}: give seconds, more than 0 and at most 3600")
    concurrency = min(max(concurrency, 1), MAX_CONCURRENCY)
    endpoint = index_endpoint(index_url or cc_index_url(), crawl)
    data = _checked_data_url(data_url or cc_data_url())
    fetcher, own = _fetcher(store, allow_private, allow_private_hosts)
    http = Polite(fetcher, RetryPolicy(backoff=max(backoff, 0.0), timeout=timeout))
    run, stats = _Run(), IndexStats()
    try:
        _report(progress, stage="index", done=0, total=None)
        # Every query's page count first: an index that refuses one is an error before anything is written.
        page_counts = [num_pages(http, endpoint, host, match_type) for host in hosts]
        found = _captures(http, endpoint, list(zip(hosts, page_counts, strict=True)), match_type, limit, stats, run)
        label = f"commoncrawl:{crawl.strip()}"
        archive = write.begin_archive(store, path=endpoint, size=0, fingerprint=label)
        pages = _pages(http, data, found, run, concurrency, label, progress)
        stored = ingest_pages(store, pages, via="commoncrawl", archive=archive)
        write.cluster_links(store)
    finally:
        if own:
            fetcher.close()
    return {
        "crawl": crawl.strip(),
        "hosts": hosts,
        "index": {"pages": stats.pages, "lines": stats.lines, "skipped": dict(stats.skipped)},
        "captures": run.found,
        "fetched": run.fetched,
        "pages": stored.pages,
        "duplicates": stored.duplicates,
        "html_pages": stored.html_pages,
        "links": stored.links,
        "skipped": dict(run.skipped),
        "extract": dict(stored.skipped),
        "retries": dict(http.retries),
        "errors": (stats.errors + run.errors)[:MAX_ERRORS],
    }


def _report(progress: ProgressFn | None, **counters: Any) -> None:
    if progress is not None:
        progress(counters)


def _checked_hosts(hosts: Sequence[str]) -> list[str]:
    out = []
    for host in hosts:
        name = host.strip().lower()
        if "://" in name:  # a URL: its host (and path, for prefix queries) is what the index takes
            name = name.split("://", 1)[1]
        if not name or any(c.isspace() for c in name):
            raise LinkbackError(f"{host!r} is not a host (give one like example.com)")
        out.append(name)
    if not out:
        raise LinkbackError("name at least one host")
    return list(dict.fromkeys(out))  # a host given twice is asked for once


def _checked_data_url(text: str) -> str:
    """The data URL, ending in ``/``; an error saying so when it is no http(s) URL of a folder (each
    record's URL is the filename after it: anything else would fail every record, one by one, as
    a filename that leaves it)."""
    data = text.strip().rstrip("/") + "/"
    try:
        url: ada_url.URL | None = ada_url.URL(data)
    except ValueError:
        url = None
    if url is None or url.protocol not in ("http:", "https:") or url.search or url.hash:
        raise LinkbackError(f"the data URL {text!r} is not an http(s) URL of a folder (like {DEFAULT_DATA_URL})")
    return data


def _fetcher(store: Store, allow_private: bool, allow_private_hosts: Sequence[str]) -> tuple[Fetcher, bool]:
    """The server's fetcher (its guard) when a server runs the job, else one of our own."""
    fetcher = getattr(store, "fetcher", None)
    if fetcher is not None:
        refuse_widening(fetcher.policy, allow_private, allow_private_hosts, "fetch")
        return fetcher, False
    return Fetcher(policy=policy_from_env(allow_private, allow_private_hosts)), True


def _captures(
    http: Polite,
    endpoint: str,
    queries: list[tuple[str, int]],
    match_type: str,
    limit: int | None,
    stats: IndexStats,
    run: _Run,
) -> Iterator[Capture]:
    """The captures to fetch, as the index pages come, once each (see :class:`_SeenRecords`);
    ``queries``: each host and its page count. ``run.found`` counts them."""
    seen = _SeenRecords()
    for host, pages in queries:
        for capture in captures(http, endpoint, host, match_type, stats, pages=pages):
            if not seen.first_time(capture):
                stats.skipped["same_record"] += 1
                continue
            run.found += 1
            yield capture
            if limit is not None and run.found >= limit:
                run.index_read = True
                return
    run.index_read = True


def _pages(
    http: Polite,
    data: str,
    found: Iterable[Capture],
    run: _Run,
    concurrency: int,
    label: str,
    progress: ProgressFn | None,
) -> Iterator[FetchedPage]:
    """The pages of ``found``, in order, fetched ``concurrency`` at a time while ``found`` reads the
    index: at most twice that many records are held at once, whatever the number of captures.
    Once the data server is given up (:class:`_GiveUp`), the index is read no further."""
    in_flight: deque[Future[tuple[list[FetchedPage], str, str]]] = deque()
    give_up = _GiveUp(data)
    done = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="linkback-cc") as pool:
        try:
            for capture in found:
                if give_up.gave_up.is_set():
                    run.skip("gave_up", "")
                    break
                in_flight.append(pool.submit(_ended, give_up, http, data, capture, label))
                while len(in_flight) >= 2 * concurrency:
                    done += 1
                    yield from _taken(in_flight.popleft(), run, progress, done)
            while in_flight:
                done += 1
                yield from _taken(in_flight.popleft(), run, progress, done)
        finally:
            for fut in in_flight:
                fut.cancel()
            close = getattr(found, "close", None)
            if close is not None:
                close()  # a generator reading the index: its page in hand let go
            if give_up.message:
                run.errors[MAX_ERRORS - 1 :] = []
                run.errors.insert(0, give_up.message)


def _taken(
    fut: Future[tuple[list[FetchedPage], str, str]], run: _Run, progress: ProgressFn | None, done: int
) -> list[FetchedPage]:
    pages, key, message = fut.result()
    if pages:
        run.fetched += 1
    else:
        run.skip(key, message)
    total = run.found if run.index_read else None  # not known while the index is being read
    _report(progress, stage="fetch", done=done, total=total, fetched=run.fetched, skipped=sum(run.skipped.values()))
    return pages


def _ended(
    give_up: _GiveUp, http: Polite, data: str, capture: Capture, label: str
) -> tuple[list[FetchedPage], str, str]:
    """:func:`_record`, unless the data server was given up; counted towards giving it up."""
    if give_up.gave_up.is_set():
        return [], "gave_up", ""
    pages, key, message = _record(http, data, capture, label)
    give_up.ended(key)
    return pages, key, message


def _said_at(where: str, text: str) -> str:
    """``where: text``, the place said once (the reader's messages name it already)."""
    return text if text.startswith(where) else f"{where}: {text}"


def _record(http: Polite, data: str, capture: Capture, label: str) -> tuple[list[FetchedPage], str, str]:
    """One capture's record fetched and read: (its page, "", "") or ([], skip key, message)."""
    url = data + capture.filename
    where = f"{url} bytes {capture.offset}+{capture.length} ({capture.url})"
    if not under(data, url):  # parse_line refused these already: this is the last word
        return [], "unsafe_filename", f"{where}: the filename leaves the data URL's path"
    if capture.length > MAX_RECORD_BYTES:
        return [], "record_too_long", f"{where}: longer than {MAX_RECORD_BYTES:,} bytes"
    last = capture.offset + capture.length - 1
    try:
        result = http.get(url, max_bytes=capture.length, headers={"Range": f"bytes={capture.offset}-{last}"})
    except FetchError as exc:  # it names the URL it failed at: the record's, or where it was sent
        detail = str(exc).removeprefix(f"{url}: ") if exc.url == url else str(exc)
        return [], f"fetch_{exc.reason}", f"{where}: {detail}"
    where += redirected(result.redirects)
    if result.status == 200:
        return [], "range_ignored", f"{where}: the server sent the whole file (200), not the range"
    if result.status != 206:
        return [], f"status_{result.status}", f"{where}: status {result.status}"
    content_range = (result.header("content-range") or "").strip()
    if not content_range.startswith(f"bytes {capture.offset}-{last}/"):
        return [], "bad_range", f"{where}: Content-Range {content_range or '(none)'} is not the range asked for"
    if result.truncated:
        return [], "long_body", f"{where}: more than the {capture.length:,} bytes asked for came"
    if len(result.body) != capture.length:
        return [], "short_body", f"{where}: {len(result.body):,} of the {capture.length:,} bytes asked for came"
    stats = ReadStats()
    try:
        pages = [
            replace(page, source=label, offset=capture.offset)
            for page in iter_archive(_Named(result.body, where), stats=stats, max_body_bytes=MAX_RECORD_BYTES)
        ]
    except SourceError as exc:
        return [], "record/not_an_archive", _said_at(where, str(exc))
    if not pages:
        reason = next(iter(stats.skipped), "no_response")
        return [], f"record/{reason}", _said_at(where, stats.errors[0] if stats.errors else "no response record in it")
    return pages, "", ""


class _Named(io.BytesIO):
    """A record's bytes with a name for the reader's messages."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name
