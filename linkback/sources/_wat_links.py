"""One WAT record's JSON → the rows extract() gives for a page (see :mod:`linkback.sources.wat`).

Kept apart from :mod:`linkback.sources.wat` so that telling a WAT file (``is_wat``, which the
command runs before its heavy imports) does not load the URL layer and the extraction code.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from typing import Any

from linkback._gc import cycles_collected_after
from linkback.extract import _robots
from linkback.extract._parsed import DEFAULT_LIMITS, ExtractLimits
from linkback.records import Link, PageFacts, rel_tokens
from linkback.sources._dates import parse_lenient
from linkback.sources.warc import ReadStats, http_status
from linkback.urls import MAX_URL_LENGTH, HostParts, host_of, normalize, resolve, split_host

_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
_TEXT_PATHS = frozenset({"A@/href", "AREA@/href"})
_FRAME_PATHS = frozenset({"IFRAME@/src", "FRAME@/src"})
_WORD = re.compile(r"\S+")  # what str.split() splits out: the same whitespace
#: A text longer than this many times what is kept of it is not split whole (:func:`_collapsed`).
_SHORT = 16


class BadWat(ValueError):
    """A WAT record whose JSON lacks what a response's metadata must hold; ``key`` is what it is
    counted as (``bad_json``: not the document of a response at all)."""

    def __init__(self, message: str, key: str = "bad_json") -> None:
        super().__init__(message)
        self.key = key


def parse_record(
    raw: bytes, source: str, offset: int, stats: ReadStats, shared: Shared, limits: ExtractLimits = DEFAULT_LIMITS
) -> tuple[PageFacts, list[Link]] | None:
    """One metadata record's page, or None (the reason counted in ``stats``)."""
    try:
        # A lone surrogate ("\ud800") in a title or an anchor is kept as it is here: the Arrow
        # columns replace it with U+FFFD (store._arrow.utf8), where looking for one costs nothing.
        got = wat_page(_loads(raw), source=source, offset=offset, limits=limits, shared=shared)
    except BadWat as exc:
        stats.error(exc.key, f"WAT record: {str(exc)[:200]}", path=source, offset=offset)
        return None
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:  # JSONDecodeError: ValueError
        # RecursionError: JSON nested deeper than the parser goes (a hostile record).
        stats.error("bad_json", f"WAT record: {type(exc).__name__}: {str(exc)[:200]}", path=source, offset=offset)
        return None
    if isinstance(got, str):
        stats.skipped[got] += 1
        return None
    stats.responses += 1
    return got


class _LongNumber:
    """A JSON integer longer than any number a WAT holds, kept unconverted: int() of 5,000 digits
    raises an error that tells the user to change a Python setting."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))


def _json_int(text: str) -> int | _LongNumber:
    return int(text) if len(text) <= 20 else _LongNumber(text)


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        # Perhaps an integer of thousands of digits, which int() refuses: read again, keeping
        # numbers unconverted (not the first time: a parse_int costs a call for every number).
        return json.loads(raw, parse_int=_json_int)


def _status(value: Any) -> int:
    """A response's HTTP status: three digits, 100-999 (what the int16 column and the status rules
    hold), as a string (Common Crawl's) or an integer; else :class:`BadWat` (``bad_status``):
    ``Infinity``, ``200.0``, ``2**40``, 5,001 digits, ``"abc"``, missing."""
    if isinstance(value, str) and (status := http_status(value)) is not None:
        return status
    if type(value) is int and 100 <= value <= 999:  # not a bool
        return value
    shown = f"of {value.digits:,} digits" if isinstance(value, _LongNumber) else repr(str(value)[:40])
    raise BadWat(f"HTTP status {shown} is not a 3-digit status (100-999); record skipped", "bad_status")


def _obj(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise BadWat(f"{what} is not an object")
    return value


def _text(value: Any, what: str) -> str:
    """A value that holds text: a string, or a list of strings (tokens, as in ``rel: ["nofollow"]``)
    joined by spaces; missing is "". Anything else (an object, a number) is :class:`BadWat`
    (``bad_value``): stored as Python's text of it, it would pass for what the page said."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return " ".join(value)
    raise BadWat(f"{what} is {_json_type(value)}, not text; record skipped", "bad_value")


def _string(value: Any, what: str) -> str | None:
    """A value that must be one string (a URL, a path), or None when missing; anything else is
    :class:`BadWat` (``bad_value``)."""
    if value is None or isinstance(value, str):
        return value
    raise BadWat(f"{what} is {_json_type(value)}, not a string; record skipped", "bad_value")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float, _LongNumber)):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"


def _collapsed(text: str, limit: int) -> str:
    """``" ".join(text.split())[:limit]``, without splitting the whole of a text of megabytes
    (a title of 25 million words was 25 million strings)."""
    if len(text) <= _SHORT * limit:
        return " ".join(text.split())[:limit]
    words: list[str] = []
    size = 0
    for match in _WORD.finditer(text):
        start = match.start()
        words.append(text[start : min(match.end(), start + limit)])
        size += len(words[-1]) + 1
        if size > limit:
            break
    return " ".join(words)[:limit]


def wat_page(
    doc: dict,
    *,
    source: str = "",
    offset: int = -1,
    limits: ExtractLimits = DEFAULT_LIMITS,
    shared: Shared | None = None,
) -> tuple[PageFacts, list[Link]] | str:
    """One WAT JSON document as ``(facts, links)``, or the skip key of a record that holds no
    page (``request``, ``warcinfo``...). Raises :class:`BadWat` (a ValueError) on a document
    without the envelope of a response."""
    envelope = _obj(_obj(doc, "the document").get("Envelope"), "Envelope")
    warc = _obj(envelope.get("WARC-Header-Metadata"), "WARC-Header-Metadata")
    wtype = _text(warc.get("WARC-Type"), "WARC-Type") or "unknown"
    if wtype != "response":
        return wtype
    uri = warc.get("WARC-Target-URI")
    if not isinstance(uri, str) or not uri:
        return "no_target_uri"
    date = _text(warc.get("WARC-Date"), "WARC-Date")
    fetched = parse_lenient(date)
    if fetched is None:
        if date:  # a date that is none (or none in years 1-9999 once its zone is applied): damage
            raise BadWat(f"WARC-Date {date[:64]!r} is not a date in years 1-9999 UTC; record skipped", "no_date")
        return "no_date"
    payload = _obj(envelope.get("Payload-Metadata") or {}, "Payload-Metadata")
    http = payload.get("HTTP-Response-Metadata")
    if http is None:
        return "response_not_http"
    http = _obj(http, "HTTP-Response-Metadata")
    message = _obj(http.get("Response-Message") or {}, "Response-Message")
    status = _status(message.get("Status"))
    headers = {
        k.lower(): v if type(v) is str else _text(v, f"header {k[:40]!r}")
        for k, v in _obj(http.get("Headers") or {}, "Headers").items()
    }
    record_id = _text(warc.get("WARC-Record-ID"), "WARC-Record-ID")
    where = (record_id, source, offset)
    # The WAT's links are those of the response record as archived: cut short if it was.
    truncated = bool(warc.get("WARC-Truncated"))
    html = http.get("HTML-Metadata")
    return _page(uri, fetched, status, headers, html, where, limits, shared or Shared(), truncated=truncated)


def _page(
    uri: str,
    fetched_at: datetime,
    status: int,
    headers: dict[str, str],
    html: Any,
    where: tuple[str, str, int],
    limits: ExtractLimits,
    shared: Shared,
    *,
    truncated: bool = False,
) -> tuple[PageFacts, list[Link]]:
    record_id, source, offset = where
    common: dict[str, Any] = {
        "status": status, "fetched_at": fetched_at, "via": "warc", "record_id": record_id,
        "source": source, "offset": offset, "truncated": truncated,
    }  # fmt: skip
    try:
        url = normalize(uri)
    except ValueError:
        return PageFacts(url=uri, host="", domain="", rhost="", skipped="invalid_url", **common), []
    hp = split_host(host_of(url))
    robots = headers.get("x-robots-tag")
    noindex, nofollow = _robots.header([robots]) if robots else (False, False)
    facts: dict[str, Any] = {
        "url": url, "host": hp.host, "domain": hp.domain, "rhost": hp.rhost,
        "content_type": headers.get("content-type", "").partition(";")[0].strip().lower(),
        "noindex": noindex, "nofollow": nofollow, **common,
    }  # fmt: skip
    location = headers.get("location")
    if 300 <= status < 400 and location and location.strip():
        page = _Links(url, hp.domain, nofollow, limits, shared)
        page.add(location, "redirect")
        if page.skipped:
            return PageFacts(skipped="redirect", skipped_links=tuple(page.skipped.items()), **facts), []
        return PageFacts(skipped="redirect", **facts), page.links
    if status >= 400:
        return PageFacts(skipped="http_error", **facts), []
    if not isinstance(html, dict):
        return PageFacts(skipped="not_html", **facts), []
    return _html_page(url, hp, html, headers, facts, limits, shared)


def _html_page(
    url: str,
    hp: HostParts,
    html: dict,
    headers: dict[str, str],
    facts: dict[str, Any],
    limits: ExtractLimits,
    shared: Shared,
) -> tuple[PageFacts, list[Link]]:
    head = _obj(html.get("Head") or {}, "Head")
    lang, refresh = _metas(head, facts)
    base = url
    given_base = _string(head.get("Base"), "Head.Base")
    if given_base is not None:
        base = resolve(given_base, url)[0] or url
    page = _Links(base, hp.domain, facts["nofollow"], limits, shared)
    canonical = ""
    for link in _list(head.get("Link")):
        try:
            got = _head_link(page, link)
        except BadWat:
            page.refuse()
            continue
        canonical = canonical or got
    _body_links(page, html.get("Links"), limits.max_anchor_chars)
    for target in refresh:
        page.add(target, "redirect")
    if not lang:
        lang = headers.get("content-language", "").split(",")[0].strip().lower()
    n_internal = sum(1 for link in page.links if link.internal and link.kind in ("text", "image"))
    n_external = sum(1 for link in page.links if not link.internal and link.kind in ("text", "image"))
    title = _collapsed(_text(head.get("Title"), "Head.Title"), limits.max_title_chars)
    if "too_many_links" in page.skipped:  # as extract() says of a page whose links it stopped reading
        facts["truncated"] = True
    pf = PageFacts(
        title=title, lang=lang, canonical=canonical, n_internal=n_internal, n_external=n_external,
        skipped_links=tuple(sorted(page.skipped.items())), **facts,
    )  # fmt: skip
    return pf, page.links


def _metas(head: dict, facts: dict[str, Any]) -> tuple[str, list[str]]:
    """The page's language and meta refresh targets from ``Head.Metas``; meta robots set in ``facts``."""
    lang, refresh = "", []
    for meta in _list(head.get("Metas")):
        name, content = meta.get("name"), meta.get("content")  # (type() first: a page has dozens)
        name = (name if type(name) is str else _text(name, "a meta's name")).lower()
        if type(content) is not str:
            content = _text(content, "a meta's content")
        if name in ("robots", "googlebot"):
            ni, nf = _robots.tokens(content)
            facts["noindex"] |= ni
            facts["nofollow"] |= nf
        elif name == "html@/lang" and not lang:
            lang = content.strip().lower()
        elif (equiv := meta.get("http-equiv")) is not None and _text(equiv, "a meta's http-equiv").lower() == "refresh":
            target = _robots.refresh_url(content)
            if target is not None:
                refresh.append(target)
    return lang, refresh


def _head_link(page: _Links, link: dict) -> str:
    """Add one of ``Head.Link`` (canonical, alternate, feed); the canonical URL it gives, or ""."""
    href = _string(link.get("url"), "a link's url")
    rel = _text(link.get("rel"), "a link's rel")
    if href is None:
        return ""
    toks = rel_tokens(rel)[0]
    if "canonical" in toks:
        return page.add(href, "canonical", rel=rel)
    if "alternate" in toks and "stylesheet" not in toks:
        kind = "feed" if _text(link.get("type"), "a link's type").strip().lower() in _FEED_TYPES else "alternate"
        page.add(href, kind, rel=rel)
    return ""


def _body_links(page: _Links, links: Any, max_chars: int) -> None:
    """Add the links of ``HTML-Metadata.Links``; one with a value of the wrong type is refused."""
    image_alt: str | None = None  # the alt of an image just before, for an empty link after it
    long_text = _SHORT * max_chars
    for link in _list(links):
        try:
            # (type() checks first: these run for every link of a file)
            path, href = link.get("path"), link.get("url")
            if type(href) is not str:
                if href is None:
                    continue
                _string(href, "a link's url")
            if type(path) is not str:
                _string(path, "a link's path")
            if path in _TEXT_PATHS:
                text, rel = link.get("text"), link.get("rel")
                if type(text) is not str:
                    text = _text(text, "a link's text")
                anchor = _collapsed(text, max_chars) if len(text) > long_text else " ".join(text.split())[:max_chars]
                if type(rel) is not str:
                    rel = _text(rel, "a link's rel")
                alt, kind = "", "text"
                if not anchor and image_alt is not None and path == "A@/href":
                    anchor = alt = image_alt
                    kind = "image"
                page.add(href, kind, anchor, alt, rel)
            elif path in _FRAME_PATHS:
                page.add(href, "frame")
            elif path == "FORM@/action" and href.strip():
                page.add(href, "form")
            image_alt = None
            if path == "IMG@/src":
                image_alt = link.get("alt")
                if type(image_alt) is not str:
                    image_alt = _text(image_alt, "an image's alt")
                image_alt = _collapsed(image_alt, max_chars)
        except BadWat:
            page.refuse()
            image_alt = None


def _list(value: Any) -> list[dict]:
    """The objects of a JSON array (anything else in it, or a missing array, gives nothing)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


#: Absolute hrefs a file's shared caches hold before they start afresh...
_MAX_SHARED = 200_000
#: ...or bytes they hold (strings and entries): an href can be 8,192 characters, and a file of
#: long distinct ones filled 200,000 entries with gigabytes (74,000 hrefs of 1,169 real pages: 34 MB).
_MAX_SHARED_BYTES = 64 * 2**20
#: What an entry costs beside its strings: its dict slot, its tuple.
_ENTRY_BYTES = 160


class Shared:
    """Caches that hold across the pages of one file: absolute hrefs resolved, hosts split;
    bounded by entries and by bytes (see :data:`_MAX_SHARED_BYTES`)."""

    __slots__ = ("urls", "hosts", "held")

    def __init__(self) -> None:
        self.urls: dict[str, tuple[str, str, str]] = {}
        self.hosts: dict[str, HostParts] = {}
        self.held = 0  # bytes, roughly

    def url(self, href: str, base: str) -> tuple[str, str, str]:
        """``(url, reason, host)`` of an absolute href not in ``urls``, resolved and kept there."""
        url, reason = resolve(href, base)
        got = (url, reason, host_of(url) if url else "")
        # A longer href is refused by resolve() at once, and never stored: not worth holding.
        if len(href) <= MAX_URL_LENGTH:
            # The URL and its host are ASCII (percent-encoded, punycode): a byte a character.
            size = sys.getsizeof(href) + 2 * len(url) + _ENTRY_BYTES
            if self.held + size > _MAX_SHARED_BYTES or len(self.urls) >= _MAX_SHARED:
                self._start_afresh()
            self.held += size
            self.urls[href] = got
        return got

    def host(self, host: str) -> HostParts:
        """A host not in ``hosts``, split and kept there."""
        hp = split_host(host)
        size = 4 * sys.getsizeof(host) + _ENTRY_BYTES  # its four parts are no longer than it
        if self.held + size > _MAX_SHARED_BYTES:
            self._start_afresh()
        self.held += size
        self.hosts[host] = hp
        return hp

    def _start_afresh(self) -> None:
        self.urls.clear()
        self.hosts.clear()
        self.held = 0


class _Links:
    """One page's links as they are resolved: the caches and counters of extract()'s walk."""

    __slots__ = ("base", "domain", "nofollow", "max_links", "links", "skipped", "shared", "resolved")

    def __init__(
        self,
        base: str,
        domain: str,
        nofollow: bool,
        limits: ExtractLimits = DEFAULT_LIMITS,
        shared: Shared | None = None,
    ) -> None:
        self.base, self.domain, self.nofollow, self.max_links = base, domain, nofollow, limits.max_links
        self.links: list[Link] = []
        self.skipped: dict[str, int] = {}
        self.shared = shared if shared is not None else Shared()
        self.resolved: dict[str, tuple[str, str, str]] = {}

    def refuse(self) -> None:
        """Count a link whose values are not what a WAT holds (an object for a text...)."""
        self.skipped["bad_value"] = self.skipped.get("bad_value", 0) + 1

    def add(self, href: str, kind: str, anchor: str = "", alt: str = "", rel: str = "") -> str:
        """Resolve and keep one link; its URL, or "" (the reason counted)."""
        # An http(s) URL with "//" resolves the same against any base: such hrefs (most of a
        # WAT's) are resolved once per file, the others once per page.
        shared = self.shared
        if href.startswith(("https://", "http://")):
            got = shared.urls.get(href)
            if got is None:
                got = shared.url(href, self.base)
        else:
            got = self.resolved.get(href)
            if got is None:
                url, reason = resolve(href, self.base)
                got = self.resolved[href] = (url, reason, host_of(url) if url else "")
        url, reason, host = got
        if reason:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1
            return ""
        if len(self.links) >= self.max_links:
            self.skipped["too_many_links"] = self.skipped.get("too_many_links", 0) + 1
            return ""
        hp = shared.hosts.get(host)
        if hp is None:
            hp = shared.host(host)
        toks, nofollow, ugc, sponsored = rel_tokens(rel)
        self.links.append(
            Link(
                url,
                host,
                hp.domain,
                hp.rhost,
                anchor,
                alt,
                toks,
                nofollow or self.nofollow,
                ugc,
                sponsored,
                kind,
                "",
                "",
                hp.domain == self.domain,
            )  # fmt: skip
        )
        return url


#: A worker's caches, for the file it last parsed records of.
_worker_shared: dict[str, Shared] = {}


def lite_records(
    chunk: list[tuple[int, bytes]], source: str, stats: ReadStats | None = None, shared: Shared | None = None
) -> tuple[Any, ReadStats]:
    """The pages of some WAT records as one extracted batch (:func:`lite_batch`), and what
    parsing them counted (runs in ingest's workers)."""
    stats = stats if stats is not None else ReadStats()
    if shared is None:
        if source not in _worker_shared:
            _worker_shared.clear()
        shared = _worker_shared.setdefault(source, Shared())
    with cycles_collected_after():  # JSON documents and links: many objects, no cycle
        pages = []
        for offset, raw in chunk:
            got = parse_record(raw, source, offset, stats, shared)
            if got is not None:
                pages.append(got)
        return lite_batch(pages), stats


def lite_batch(extracted: list[tuple[PageFacts, list[Link]]]) -> Any:
    """:func:`linkback.batches.batch_of`, with the columns a WAT cannot know (section, context)
    set NULL rather than to a value it would only pretend to know."""
    import pyarrow as pa  # noqa: PLC0415

    from linkback.batches import batch_of  # noqa: PLC0415 - loads the extraction code

    out = batch_of(extracted)
    for name in ("links", "first_seen_links"):
        table = getattr(out, name)
        for col in ("section", "context"):
            i = table.schema.get_field_index(col)
            table = table.set_column(i, col, pa.nulls(table.num_rows, pa.string()))
        setattr(out, name, table)
    return out
