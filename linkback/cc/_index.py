"""The Common Crawl URL index (a pywb CDX server): which captures of a host a crawl holds, and where.

The API, as the pywb manual documents it (``docs/manual/cdxserver_api.rst``) and
``index.commoncrawl.org`` serves it:

* ``GET {index}/{CRAWL}-index?url=example.com&matchType=host&output=json`` answers one JSON
  object a line (NDJSON); Common Crawl's lines carry ``urlkey``, ``timestamp``, ``url``, ``mime``,
  ``mime-detected``, ``status``, ``digest``, ``length``, ``offset``, ``filename``, ``languages``,
  ``encoding`` — numbers as strings (``"offset": "272838009"``). A query matching nothing is a
  404 ("No Captures found").
* ``matchType`` is ``exact``, ``prefix``, ``host`` or ``domain`` (the host and its subdomains).
* ``filter==status:200`` keeps lines whose field equals the value (``filter=`` repeats).
* Pagination: ``showNumPages=true`` answers ``{"pages": N, "pageSize": 5, "blocks": M}``, then
  ``page=0`` ... ``page=N-1`` each answer a page of lines.

Every request goes through the SSRF-guarded :class:`~linkback.fetch.Fetcher` (with the retries of
:mod:`linkback.cc._http`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlencode

import ada_url

from linkback.cc._http import Polite, redirected
from linkback.errors import FetchError, LinkbackError

MatchType = Literal["host", "domain", "prefix", "exact"]
MATCH_TYPES = ("host", "domain", "prefix", "exact")
#: MIME types of pages worth extracting links from (the CDX ``mime-detected``, else ``mime``).
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: An index page larger than this is an error, not something to parse (CC's are a few MB).
MAX_INDEX_PAGE_BYTES = 128 * 2**20
#: Error lines kept in a summary (all are counted).
MAX_ERRORS = 50
#: Index pages one query may have: Common Crawl's largest domains have a few thousand a crawl.
MAX_INDEX_PAGES = 100_000
#: Pages in a row answered 404 before the rest are not asked (the count said they were there).
MAX_MISSING_PAGES = 10
#: Characters a URL parser drops from a URL (WHATWG: tab, LF, CR), so ``.\t.`` is ``..`` to it.
_DROPPED = re.compile(r"[\t\n\r]")
#: A made-up data URL prefix a filename is resolved under, to see whether it stays there.
_PROBE = "https://data.invalid/probe/prefix/"


@dataclass(frozen=True)
class Capture:
    """One CDX line: a WARC record's place in Common Crawl's data."""

    url: str
    timestamp: str
    filename: str
    offset: int
    length: int
    status: int
    mime: str
    digest: str = ""


@dataclass
class IndexStats:
    pages: int = 0  # index pages read
    lines: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def error(self, key: str, message: str) -> None:
        self.skipped[key] += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)


def index_endpoint(index_url: str, crawl: str) -> str:
    """``https://index.commoncrawl.org/`` and ``CC-MAIN-2024-10`` → ``.../CC-MAIN-2024-10-index``."""
    crawl = crawl.strip()
    if not crawl or "/" in crawl or "?" in crawl:
        raise LinkbackError(f"{crawl!r} is not a crawl name (like CC-MAIN-2024-10)")
    return f"{index_url.rstrip('/')}/{crawl}-index"


def query_url(endpoint: str, host: str, match_type: str, *, page: int | None = None) -> str:
    params: list[tuple[str, str]] = [("url", host), ("matchType", match_type), ("output", "json")]
    params.append(("filter", "=status:200"))  # the server drops the rest; checked here again
    params += [("showNumPages", "true")] if page is None else [("page", str(page))]
    return f"{endpoint}?{urlencode(params)}"


def num_pages(http: Polite, endpoint: str, host: str, match_type: str) -> int:
    """How many index pages the query has (0: no capture)."""
    url = query_url(endpoint, host, match_type)
    result = http.get(url, max_bytes=1 << 20)
    if result.status == 404:
        return 0
    if result.status != 200:
        raise LinkbackError(f"the URL index answered {result.status} to {url}{redirected(result.redirects)}")
    try:
        answer = json.loads(result.body)
        pages = int(answer["pages"])
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise LinkbackError(f"the URL index's page count is not JSON with 'pages': {url}") from None
    if not 0 <= pages <= MAX_INDEX_PAGES:
        raise LinkbackError(
            f"the URL index says the query has {pages:,} pages ({url}); cc fetch reads at most "
            f"{MAX_INDEX_PAGES:,}: ask for a narrower host or prefix"
        )
    return pages


def captures(
    http: Polite,
    endpoint: str,
    host: str,
    match_type: str,
    stats: IndexStats,
    *,
    first_page: int = 0,
    pages: int | None = None,
) -> Iterator[Capture]:
    """The status-200 HTML captures of ``host`` in the index, page by page; other lines counted in
    ``stats.skipped`` (``not_200``, ``not_html``, ``bad_line``), and a page that cannot be fetched
    (after its retries: a broken answer, a timeout) as ``index_page_failed``, the pages after it
    still read, up to :data:`MAX_MISSING_PAGES` failures in a row. ``pages``: the query's page
    count, when :func:`num_pages` was asked already."""
    if pages is None:
        pages = num_pages(http, endpoint, host, match_type)
    missing = failed = 0
    for page in range(first_page, pages):
        url = query_url(endpoint, host, match_type, page=page)
        try:
            result = http.get(url, max_bytes=MAX_INDEX_PAGE_BYTES)
        except FetchError as exc:  # one page that never came (after its retries): the others still count
            failed += 1
            said = str(exc) if exc.url == url else f"{url}: {exc}"  # the error names where it failed
            if failed >= MAX_MISSING_PAGES:
                stats.error("index_page_failed", f"{said}; {failed} pages in a row failed: the rest not asked")
                return
            stats.error("index_page_failed", said)
            continue
        failed = 0
        if result.status == 404:
            missing += 1
            if missing >= MAX_MISSING_PAGES:  # an index that lied about its page count
                stats.error("index_page_failed", f"{url}: {missing} pages in a row not found; the rest not asked")
                return
            continue
        missing = 0
        if result.status != 200 or result.truncated:
            what = "larger than the limit" if result.truncated else f"status {result.status}"
            stats.error("index_page_failed", f"{url}{redirected(result.redirects)}: {what}")
            continue
        stats.pages += 1
        for number, line in enumerate(result.body.splitlines(), start=1):
            if not line.strip():
                continue
            stats.lines += 1
            capture = parse_line(line, stats, where=f"{url} line {number}")
            if capture is not None:
                yield capture


def parse_line(line: bytes, stats: IndexStats, *, where: str) -> Capture | None:
    """One CDX JSON line as a :class:`Capture`, or None (counted) when it is no HTML page or bad."""
    try:
        row = json.loads(line)
        capture = Capture(
            url=str(row["url"]),
            timestamp=str(row.get("timestamp", "")),
            filename=str(row["filename"]),
            offset=int(row["offset"]),
            length=int(row["length"]),
            status=int(row.get("status") or 0),
            mime=str(row.get("mime-detected") or row.get("mime") or "").split(";")[0].strip().lower(),
            digest=str(row.get("digest", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        stats.error("bad_line", f"{where}: not a CDX JSON line with url, filename, offset and length ({exc})")
        return None
    if capture.offset < 0 or capture.length <= 0:
        stats.error("bad_line", f"{where}: offset or length out of range")
        return None
    if not safe_filename(capture.filename):
        stats.error("unsafe_filename", f"{where}: filename {capture.filename[:200]!r} leaves the data URL's path")
        return None
    if capture.status != 200:
        stats.skipped["not_200"] += 1
        return None
    if capture.mime not in HTML_TYPES:
        stats.skipped["not_html"] += 1
        return None
    return capture


def safe_filename(name: str) -> bool:
    """Whether a CDX ``filename`` is a plain relative path that stays under the data URL: printable;
    no ``..``, leading slash, query or fragment even once percent-decoded (``%2e%2e``, ``%252e``),
    with the tabs and newlines a URL parser drops taken out and backslashes read as slashes; and,
    resolved by the fetcher's URL parser under a prefix, still under that prefix."""
    if not name or not name.isprintable():
        return False
    text = name
    for _ in range(5):  # decoded until it no longer changes (a server may decode twice)
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    text = _DROPPED.sub("", text).replace("\\", "/")
    if text.startswith("/") or ".." in text or "?" in text or "#" in text:
        return False
    return under(_PROBE, _PROBE + name)


def under(prefix: str, url: str) -> bool:
    """Whether ``url``, as the fetcher's URL parser normalises it, is under ``prefix`` (a URL ending
    in ``/``, normalised the same way)."""
    try:
        return ada_url.URL(url).href.startswith(ada_url.URL(prefix).href)
    except ValueError:
        return False
