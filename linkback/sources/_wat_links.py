"""One WAT record's JSON → the rows extract() gives for a page (see :mod:`linkback.sources.wat`).

Kept apart from :mod:`linkback.sources.wat` so that telling a WAT file (``is_wat``, which the
command runs before its heavy imports) does not load the URL layer and the extraction code.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from linkback._gc import cycles_collected_after
from linkback.extract import _robots
from linkback.extract._parsed import DEFAULT_LIMITS, ExtractLimits
from linkback.records import Link, PageFacts, rel_tokens
from linkback.sources._dates import parse_lenient
from linkback.sources.warc import ReadStats
from linkback.urls import HostParts, host_of, normalize, resolve, split_host

_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
_TEXT_PATHS = frozenset({"A@/href", "AREA@/href"})
_FRAME_PATHS = frozenset({"IFRAME@/src", "FRAME@/src"})


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
        got = wat_page(json.loads(raw), source=source, offset=offset, limits=limits, shared=shared)
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


def _status(value: Any) -> int:
    """A response's HTTP status, 100-999 (what the int16 column and the status rules hold), or
    :class:`BadWat` (``bad_status``): ``Infinity``, ``1e300``, ``2**40``, ``"abc"``, missing."""
    try:
        status = int(value)
        whole = isinstance(value, str) or status == value
    except (TypeError, ValueError, OverflowError):
        status, whole = 0, False
    if isinstance(value, bool) or not whole or not 100 <= status <= 999:
        raise BadWat(f"HTTP status {str(value)[:40]!r} is not a status (100-999); record skipped", "bad_status")
    return status


def _obj(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise BadWat(f"{what} is not an object")
    return value


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
    wtype = str(warc.get("WARC-Type") or "unknown")
    if wtype != "response":
        return wtype
    uri = warc.get("WARC-Target-URI")
    if not isinstance(uri, str) or not uri:
        return "no_target_uri"
    date = str(warc.get("WARC-Date") or "")
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
    headers = {str(k).lower(): str(v) for k, v in _obj(http.get("Headers") or {}, "Headers").items()}
    record_id = str(warc.get("WARC-Record-ID") or "")
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
    lang, refresh = "", []
    for meta in _list(head.get("Metas")):
        name = str(meta.get("name") or "").lower()
        content = str(meta.get("content") or "")
        if name in ("robots", "googlebot"):
            ni, nf = _robots.tokens(content)
            facts["noindex"] |= ni
            facts["nofollow"] |= nf
        elif name == "html@/lang" and not lang:
            lang = content.strip().lower()
        elif str(meta.get("http-equiv") or "").lower() == "refresh":
            target = _robots.refresh_url(content)
            if target is not None:
                refresh.append(target)
    base = url
    if isinstance(head.get("Base"), str):
        got = resolve(head["Base"], url)[0]
        base = got or url
    page = _Links(base, hp.domain, facts["nofollow"], limits, shared)
    canonical = ""
    for link in _list(head.get("Link")):
        rel = str(link.get("rel") or "")
        toks = rel_tokens(rel)[0]
        href = link.get("url")
        if not isinstance(href, str):
            continue
        if "canonical" in toks:
            got = page.add(href, "canonical", rel=rel)
            canonical = canonical or got
        elif "alternate" in toks and "stylesheet" not in toks:
            kind = "feed" if str(link.get("type") or "").strip().lower() in _FEED_TYPES else "alternate"
            page.add(href, kind, rel=rel)
    image_alt: str | None = None  # the alt of an image just before, for an empty link after it
    for link in _list(html.get("Links")):
        path, href = link.get("path"), link.get("url")
        if not isinstance(href, str):
            continue
        if path in _TEXT_PATHS:
            anchor = " ".join(str(link.get("text") or "").split())[: limits.max_anchor_chars]
            alt, kind = "", "text"
            if not anchor and image_alt is not None and path == "A@/href":
                anchor = alt = image_alt
                kind = "image"
            page.add(href, kind, anchor, alt, str(link.get("rel") or ""))
        elif path in _FRAME_PATHS:
            page.add(href, "frame")
        elif path == "FORM@/action" and href.strip():
            page.add(href, "form")
        image_alt = (
            " ".join(str(link.get("alt") or "").split())[: limits.max_anchor_chars] if path == "IMG@/src" else None
        )
    for target in refresh:
        page.add(target, "redirect")
    if not lang:
        lang = headers.get("content-language", "").split(",")[0].strip().lower()
    n_internal = sum(1 for link in page.links if link.internal and link.kind in ("text", "image"))
    n_external = sum(1 for link in page.links if not link.internal and link.kind in ("text", "image"))
    title = " ".join(str(head.get("Title") or "").split())[: limits.max_title_chars]
    if "too_many_links" in page.skipped:  # as extract() says of a page whose links it stopped reading
        facts["truncated"] = True
    pf = PageFacts(
        title=title, lang=lang, canonical=canonical, n_internal=n_internal, n_external=n_external,
        skipped_links=tuple(sorted(page.skipped.items())), **facts,
    )  # fmt: skip
    return pf, page.links


def _list(value: Any) -> list[dict]:
    """The objects of a JSON array (anything else in it, or a missing array, gives nothing)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


#: Absolute hrefs a file's shared cache holds before it starts afresh (memory stays bounded).
_MAX_SHARED = 200_000


class Shared:
    """Caches that hold across the pages of one file: absolute hrefs resolved, hosts split."""

    __slots__ = ("urls", "hosts")

    def __init__(self) -> None:
        self.urls: dict[str, tuple[str, str, str]] = {}
        self.hosts: dict[str, HostParts] = {}


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

    def add(self, href: str, kind: str, anchor: str = "", alt: str = "", rel: str = "") -> str:
        """Resolve and keep one link; its URL, or "" (the reason counted)."""
        # An http(s) URL with "//" resolves the same against any base: such hrefs (most of a
        # WAT's) are resolved once per file, the others once per page.
        absolute = href.startswith(("https://", "http://"))
        cache = self.shared.urls if absolute else self.resolved
        got = cache.get(href)
        if got is None:
            url, reason = resolve(href, self.base)
            got = cache[href] = (url, reason, host_of(url) if url else "")
            if absolute and len(cache) > _MAX_SHARED:
                cache.clear()
        url, reason, host = got
        if reason:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1
            return ""
        if len(self.links) >= self.max_links:
            self.skipped["too_many_links"] = self.skipped.get("too_many_links", 0) + 1
            return ""
        hosts = self.shared.hosts
        hp = hosts.get(host)
        if hp is None:
            hp = hosts[host] = split_host(host)
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
