"""``extract(page) -> (PageFacts, [Link])``: the pure function at the heart of ingest (DESIGN §1.2).

No I/O and no set-up: the same call runs in-process, in a process pool and in a Spark task; its
input and outputs pickle. It never raises on a page's content (bad bytes, bad markup, bad URLs);
it says what it skipped instead.

**What is parsed.** The page URL must normalise (else ``skipped="invalid_url"``, ``url`` holds the
raw value and there are no links). Then, by HTTP status:

* 3xx with a ``Location`` → ``skipped="redirect"`` and one ``kind="redirect"`` link to it,
  resolved against the page URL, whatever the body (the body of a redirect is not the page).
  A 3xx without a usable Location is treated like a 2xx.
* 4xx and 5xx → ``skipped="http_error"``: the facts (status, type, robots headers), no links.
  An error page's links are the server's boilerplate, not the page's.
* otherwise the body is parsed when it is HTML: ``Content-Type`` ``text/html`` or
  ``application/xhtml+xml``; when the type is missing, ``unknown/unknown``, ``application/unknown``
  or ``*/*``, the first bytes are sniffed (WHATWG MIME sniffing's HTML patterns). Anything else is
  ``skipped="not_html"``.

**Charset** (``PageFacts.charset``): BOM, header, ``<meta>`` prescan, UTF-8 if valid, else
charset-normalizer — see :mod:`linkback.extract._charset`. Undecodable bytes become U+FFFD.

**Links** (kinds, base href, rel, sections, context): :mod:`linkback.extract._html` and
:mod:`linkback.extract._sections`. Page-level ``noindex``/``nofollow`` come from meta robots and
``X-Robots-Tag`` (:mod:`linkback.extract._robots`); page nofollow sets ``Link.nofollow`` on every
link. ``internal`` compares the target's registrable domain with that of the document URL (the
final URL when the source followed redirects). ``n_internal``/``n_external`` count the text and
image links only: canonical, alternate, feed, frame, form and redirect links are not outlinks a
reader can follow.

**Limits** (:class:`ExtractLimits`): a body longer than ``max_parse_bytes`` is parsed up to that
many bytes and ``skipped_links`` gets ``("page_truncated", 1)``; links past ``max_links`` are
counted as ``too_many_links``; markup nested deep enough to make parsing quadratic is flattened
first (``("deep_nesting", 1)``; its links keep their URLs and anchors but get section ``content``).
``skipped_links`` also counts ``non_http_scheme``, ``invalid_url`` and ``url_too_long`` hrefs.

**Partial captures** (``PageFacts.truncated``): the page's body was cut before it came here
(``FetchedPage.truncated``), or the limits left links of the body unread (``page_truncated``,
``too_many_links``). Either way the links are only some of the page's; the store takes them as
seen, and the links they lack as not lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from linkback.errors import URLError
from linkback.extract import _charset, _robots
from linkback.extract._html import Limits, extract_html
from linkback.extract._parsed import DEFAULT_LIMITS, ExtractLimits, ParsedPage, noscript_ids
from linkback.records import FetchedPage, Link, PageFacts
from linkback.urls import host_of, normalize, resolve, split_host

__all__ = ["DEFAULT_LIMITS", "ExtractLimits", "ParsedPage", "extract", "noscript_ids"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_UNKNOWN_TYPES = frozenset({"", "unknown/unknown", "application/unknown", "*/*"})
# WHATWG MIME sniffing, "the rules for identifying an unknown MIME type": tags that make it HTML.
_HTML_STARTS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
)
_SNIFF_BYTES = 512


class _RecordFacts(TypedDict):
    """The PageFacts fields every outcome copies from the fetched record."""

    status: int
    fetched_at: datetime
    via: str
    record_id: str
    source: str
    offset: int
    truncated: bool


class _HeaderFacts(_RecordFacts):
    """The PageFacts fields known once the URL and the headers are read."""

    url: str
    host: str
    domain: str
    rhost: str
    final_url: str
    content_type: str
    noindex: bool
    nofollow: bool


def _essence(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _sniff_html(body: bytes) -> bool:
    head = body[:_SNIFF_BYTES]
    found = _charset.bom(head)
    if found is not None:
        head = head[found[1] :]
    head = head.lstrip(b"\t\n\x0c\r ").lower()
    for start in _HTML_STARTS:
        if head.startswith(start):
            end = head[len(start) : len(start) + 1]
            if end in (b" ", b">") or (start == b"<!--" and end != b""):
                return True
    return False


def extract(page: FetchedPage | ParsedPage, *, limits: ExtractLimits = DEFAULT_LIMITS) -> tuple[PageFacts, list[Link]]:
    """What one fetched page says: its facts and its outgoing links (see the module docstring).

    ``page`` may be a :class:`ParsedPage` that other readers of the same page (verification,
    discovery, the sender) share: its decoding and tree are then used, not made again, and its
    own limits apply.

    >>> from datetime import datetime, timezone
    >>> page = FetchedPage(url="https://example.com/post", status=200,
    ...     headers=(("Content-Type", "text/html"),), fetched_at=datetime(2024, 5, 1, tzinfo=timezone.utc),
    ...     body=b'<p>See <a href="/x" rel="ugc">this</a>.</p>')
    >>> facts, links = extract(page)
    >>> links[0].target_url, links[0].anchor, links[0].rel, links[0].ugc, links[0].context
    ('https://example.com/x', 'this', ('ugc',), True, 'See this.')
    """
    parsed = None
    if isinstance(page, ParsedPage):
        parsed = page
        page, limits = parsed.page, parsed.limits
    common: _RecordFacts = {
        "status": page.status,
        "fetched_at": page.fetched_at,
        "via": page.via,
        "record_id": page.record_id,
        "source": page.source,
        "offset": page.offset,
        "truncated": page.truncated,
    }
    try:
        url = normalize(page.url)
    except URLError:
        return PageFacts(url=page.url, host="", domain="", rhost="", skipped="invalid_url", **common), []
    final_url = ""
    if page.final_url:
        try:
            final_url = normalize(page.final_url)
        except URLError:
            final_url = ""
    doc_url = final_url or url
    hp = split_host(host_of(url))
    doc_domain = split_host(host_of(doc_url)).domain if final_url else hp.domain

    content_type_header = ""
    robots: list[str] = []
    location = content_language = None
    for key, value in page.headers:
        lkey = key.lower()
        if lkey == "content-type":
            if not content_type_header:
                content_type_header = value
        elif lkey == "x-robots-tag":
            robots.append(value)
        elif lkey == "location":
            if location is None:
                location = value
        elif lkey == "content-language":
            if content_language is None:
                content_language = value
    content_type = _essence(content_type_header)
    noindex, nofollow = _robots.header(robots) if robots else (False, False)
    facts: _HeaderFacts = {
        "url": url,
        "host": hp.host,
        "domain": hp.domain,
        "rhost": hp.rhost,
        "final_url": final_url,
        "content_type": content_type,
        "noindex": noindex,
        "nofollow": nofollow,
        **common,
    }

    status = page.status
    if 300 <= status < 400 and location is not None and location.strip():
        target, reason = resolve(location, doc_url)
        if reason:
            return PageFacts(skipped="redirect", skipped_links=((reason, 1),), **facts), []
        thp = split_host(host_of(target))
        link = Link(
            target,
            thp.host,
            thp.domain,
            thp.rhost,
            rel=(),
            nofollow=nofollow,
            kind="redirect",
            internal=thp.domain == doc_domain,
        )
        return PageFacts(skipped="redirect", **facts), [link]
    if status >= 400:
        return PageFacts(skipped="http_error", **facts), []
    body = page.body
    if content_type not in _HTML_TYPES and not (content_type in _UNKNOWN_TYPES and _sniff_html(body)):
        return PageFacts(skipped="not_html", **facts), []

    if parsed is None:
        parsed = ParsedPage(page, limits=limits)
    encoding = parsed.encoding
    head, links, skipped = extract_html(
        parsed.tree,
        len(parsed.data),
        doc_url,
        encoding,
        doc_domain,
        Limits(
            limits.max_links,
            limits.max_anchor_chars,
            limits.max_context_chars,
            limits.max_title_chars,
            limits.max_ancestors,
        ),
        nofollow,
        noindex,
        parsed.hidden,
    )
    n_internal = n_external = 0
    for link in links:
        if link.kind == "text" or link.kind == "image":
            if link.internal:
                n_internal += 1
            else:
                n_external += 1
    lang = head.lang
    if not lang and content_language:
        lang = content_language.split(",")[0].strip().lower()
    facts["noindex"], facts["nofollow"] = head.noindex, head.nofollow
    if "too_many_links" in skipped or ("page_truncated", 1) in parsed.notes:
        facts["truncated"] = True
    return PageFacts(
        title=head.title,
        lang=lang,
        canonical=head.canonical,
        charset=encoding,
        n_internal=n_internal,
        n_external=n_external,
        skipped_links=tuple(sorted(skipped.items())) + parsed.notes,
        **facts,
    ), links
