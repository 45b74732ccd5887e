"""What a verified mention is: its type, author, date and content, read from the source's microformats.

:func:`interpret` follows spec §7 (PTD, webmention.io, mf2util, the IndieWeb authorship
algorithm) with these choices:

* **Which item.** Among the page's h-entry items (top level and h-feed children, breadth-first)
  the one whose ``url`` is the source URL, else the first (CDISP; webmention.rocks prefers the
  self-URL entry, which makes a feed page that contains the permalinked entry work).
* **Type.** rsvp → repost → like → bookmark → reply → mention, as webmention.io orders them, but a
  property counts only when it holds *this* target — as a URL string or as a nested object
  (h-cite) whose ``url`` or value is the target — compared in the stored form of
  :mod:`linkback.urls` (so fragment-insensitive; http/https and trailing slashes still differ).
  A like of some other URL that also links to us is a mention (spec §7, our rec.). An RSVP is
  an ``in-reply-to`` the target with ``p-rsvp`` yes/no/maybe/interested.
* **Author.** h-entry ``author``, else the parent h-feed's, else the page's ``rel=author``, else
  (our addition) ``<meta name=author>`` as a name. An h-card is used directly, a plain string is a
  name, an absolute http(s) URL is an *author page*. An author page is fetched through the
  injected ``fetch_author_page(url) -> html | None`` callback and searched for the first h-card
  with ``url == uid == page``, else one whose ``url`` is in the page's ``rel=me``, else one with
  ``url == page``; when there is no callback, the fetch fails (returns None or raises) or no
  h-card qualifies, the author is just ``Author(url=page)``.
* **Name.** ``p-name`` unless it is only the start of the content (mf2's implied name of a
  note repeats the text; PTD's "name is not a prefix of content" test), in which case "".
* **Summary.** ``p-summary``; when there is none and no content either, and always when the page
  has no h-entry, the ``excerpt`` the caller took around the link.
* **Safety.** Every URL goes through :func:`~._sanitize.safe_url` (absolute http(s) or ""),
  ``content_html`` through :func:`~._sanitize.sanitize_html`, and every plain-text field has
  tag-like sequences and control characters removed (:func:`~._sanitize.strip_markup`).
* **Cost.** html5lib (what mf2py's own tests use, and what builds a browser's tree) spends time
  quadratic in the nesting depth, so markup nested deeper than Chromium's 512 elements is cut
  first (:func:`~._sanitize.limit_nesting`); an h-entry below that depth is lost, as it would be
  for any reader. Even so html5lib costs ~60 µs an element: a 1 MB page of tiny elements takes
  seconds, so run this in a worker, not on the request path.
* **One decoding.** Given the source as a :class:`~linkback.extract.ParsedPage` (what the
  verifier and the extractor read), mf2py gets its decoded text — mf2py builds its own tree
  (Beautiful Soup over html5lib) and takes no Lexbor tree — and ``<title>`` and
  ``<meta name=author>`` come from the page's shared tree. ``fetch_author_page`` may also return a
  ParsedPage.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import mf2py
from selectolax.lexbor import LexborHTMLParser

from linkback.extract import ParsedPage
from linkback.protocols._sanitize import (
    limit_nesting,
    plain_text,
    safe_url,
    sanitize_html,
    strip_markup,
    truncate,
    usv,
)
from linkback.urls import normalize, resolve

__all__ = ["Author", "Interpretation", "RSVP_VALUES", "TYPES", "interpret", "parse_published"]

#: Mention type -> jf2 ``wm-property``.
TYPES = {
    "rsvp": "rsvp",
    "repost": "repost-of",
    "like": "like-of",
    "bookmark": "bookmark-of",
    "reply": "in-reply-to",
    "mention": "mention-of",
}
RSVP_VALUES = frozenset({"yes", "no", "maybe", "interested"})
# Precedence after rsvp, as webmention.io orders them.
_ORDER = (("repost", "repost-of"), ("like", "like-of"), ("bookmark", "bookmark-of"), ("reply", "in-reply-to"))

# html5lib builds the tree a browser would; mf2py's own tests assume it.
_PARSER = "html5lib"
_MAX_NAME = 500
_MAX_SUMMARY = 500
_MAX_PHOTOS = 20
_OTHER_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S*\Z")
_DATE = re.compile(
    r"\s*(\d{4}-\d{2}-\d{2})(?:[Tt ]\s*(\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?))?"
    r"\s*(Z|z|[+-]\d{1,2}(?::?\d{2})?)?"
)


@dataclass(frozen=True)
class Author:
    """A mention's author; every field may be "" and the URLs are http(s) or ""."""

    name: str = ""
    url: str = ""
    photo: str = ""


@dataclass(frozen=True)
class Interpretation:
    """A mention read as webmention.io's jf2 entry reads it (spec §6.1).

    ``published`` is aware and in UTC. A source time without a zone is taken as UTC (there is
    nothing better to assume, and webmention.io's XRay does the same); a date alone is midnight
    UTC. ``rsvp`` is set only for the rsvp type. ``url`` is the entry's URL, else the source
    URL. ``photo`` holds only http(s) URLs.
    """

    type: str
    property: str
    rsvp: str = ""
    author: Author = field(default_factory=Author)
    published: datetime | None = None
    name: str = ""
    content_html: str = ""
    content_text: str = ""
    summary: str = ""
    url: str = ""
    photo: tuple[str, ...] = ()


# --- reading mf2 values ----------------------------------------------------------------------


def _props(item: Any) -> dict:
    props = item.get("properties") if isinstance(item, dict) else None
    return props if isinstance(props, dict) else {}


def _first(item: Any, name: str) -> Any:
    values = _props(item).get(name)
    return values[0] if isinstance(values, list) and values else None


def _types(item: Any) -> list:
    types = item.get("type") if isinstance(item, dict) else None
    return types if isinstance(types, list) else []


def _url_of(value: Any) -> str:
    """The URL an mf2 value stands for: a string, ``{"value", "alt"}``, or an object's ``url``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "properties" in value:
            got = _url_of(_first(value, "url"))
            if got:
                return got
        inner = value.get("value")
        return inner if isinstance(inner, str) else ""
    return ""


def _text_of(value: Any) -> str:
    """The text an mf2 value stands for: a string, an e-* ``{"value", "html"}``, an object's name."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "properties" in value:
            got = _text_of(_first(value, "name"))
            if got:
                return got
        inner = value.get("value")
        return inner if isinstance(inner, str) else ""
    return ""


def _stored(url: str, base: str) -> str:
    """``url`` in the stored form (fragment dropped), or "" when it is not an http(s) URL."""
    if not url or len(url) > 8192:
        return ""
    return resolve(url.strip(), base)[0]


def _entries(parsed: dict) -> list[tuple[dict, dict | None]]:
    """(h-entry, parent h-feed or None) in breadth-first order over items and children."""
    found: list[tuple[dict, dict | None]] = []
    queue: deque[tuple[Any, dict | None]] = deque((item, None) for item in parsed.get("items") or [])
    seen = 0
    while queue and seen < 10000:
        item, parent = queue.popleft()
        seen += 1
        if not isinstance(item, dict):
            continue
        types = _types(item)
        if "h-entry" in types:
            found.append((item, parent))
        feed = item if "h-feed" in types else parent
        for child in item.get("children") or []:
            queue.append((child, feed))
    return found


def _cards(parsed: dict) -> list[dict]:
    """Every h-card on a page: top-level items and their children, breadth-first."""
    cards: list[dict] = []
    queue: deque[Any] = deque(parsed.get("items") or [])
    seen = 0
    while queue and seen < 10000:
        item = queue.popleft()
        seen += 1
        if not isinstance(item, dict):
            continue
        if "h-card" in _types(item):
            cards.append(item)
        queue.extend(item.get("children") or [])
    return cards


def _parse(html: str, url: str) -> dict:
    if "<" not in html:
        # No markup, no microformats; and Beautiful Soup would warn that it looks like a URL.
        return {"items": [], "rels": {}}
    if html.startswith("<?xml"):
        # An XHTML page's declaration makes Beautiful Soup warn about XML; whitespace before it
        # changes nothing for an HTML parser.
        html = "\n" + html
    try:
        parsed = mf2py.parse(doc=html, url=url or None, html_parser=_PARSER)
    except Exception:  # noqa: BLE001 - third-party HTML must never take the worker down
        return {"items": [], "rels": {}}
    return parsed if isinstance(parsed, dict) else {"items": [], "rels": {}}


def parse_published(value: str) -> datetime | None:
    """An mf2 date-time as an aware UTC datetime (see :class:`Interpretation`), or None.

    >>> parse_published("2015-11-07T12:00:00-0500").isoformat(), parse_published("2015-11-07 12:00").isoformat()
    ('2015-11-07T17:00:00+00:00', '2015-11-07T12:00:00+00:00')
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    try:
        got = datetime.fromisoformat(text)
    except ValueError:
        m = _DATE.match(text)
        if m is None:
            return None
        day, clock, zone = m.groups()
        if zone in ("Z", "z"):
            zone = "+00:00"
        elif zone:
            sign, digits = zone[0], zone[1:].replace(":", "")
            hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "00")
            zone = f"{sign}{int(hours):02d}:{minutes}"
        if clock:
            hour, rest = clock.split(":", 1)
            clock = f"{int(hour):02d}:{rest.replace(',', '.')}"
        try:
            got = datetime.fromisoformat(day + ("T" + clock if clock else "") + (zone or ""))
        except ValueError:
            return None
    if got.tzinfo is None:
        return got.replace(tzinfo=UTC)
    try:
        return got.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


# --- type ---------------------------------------------------------------------------------


def _refers(values: Any, target: str, base: str) -> bool:
    """Whether a property's values name ``target`` (as a URL or a nested object's url/value)."""
    if not isinstance(values, list):
        return False
    for value in values[:100]:
        candidates: list[Any] = []
        if isinstance(value, str):
            candidates.append(value)
        elif isinstance(value, dict):
            urls = _props(value).get("url")
            if isinstance(urls, list):
                candidates.extend(urls[:20])
            candidates.append(value.get("value"))
        for c in candidates:
            if isinstance(c, str) and _stored(c, base) == target:
                return True
            if isinstance(c, dict) and _stored(_url_of(c), base) == target:
                return True
    return False


def _classify(entry: dict, target: str, base: str) -> tuple[str, str]:
    """(type, rsvp value) of ``entry`` towards ``target``."""
    props = _props(entry)
    if _refers(props.get("in-reply-to"), target, base):
        rsvp = " ".join(_text_of(_first(entry, "rsvp")).split()).lower()
        if rsvp in RSVP_VALUES:
            return "rsvp", rsvp
    for kind, name in _ORDER:
        if _refers(props.get(name), target, base):
            return kind, ""
    return "mention", ""


# --- author -------------------------------------------------------------------------------


def _card_author(card: dict, base: str, fallback_url: str = "") -> Author:
    name = strip_markup(_text_of(_first(card, "name")) or _text_of(card.get("value")))
    url = safe_url(_url_of(_first(card, "url")), base_url=base) or fallback_url
    photo = safe_url(_url_of(_first(card, "photo")), base_url=base)
    if name and (name == url or name.startswith(("http://", "https://"))) and safe_url(name):
        name = ""  # a card with only a URL has it as its implied name too
    return Author(name[:_MAX_NAME], url, photo)


def _fetch(fetch: Callable[[str], str | ParsedPage | None] | None, url: str) -> str | None:
    if fetch is None:
        return None
    try:
        page = fetch(url)
    except Exception:  # noqa: BLE001 - the callback's failure is "no author page"
        return None
    if isinstance(page, ParsedPage):
        page = page.text
    if isinstance(page, bytes):
        page = page.decode("utf-8", "replace")
    return page if isinstance(page, str) and page else None


def _author_page(url: str, fetch: Callable[[str], str | ParsedPage | None] | None) -> Author:
    """The author an author page describes (spec §7's three rules), or just its URL."""
    page_url = safe_url(url)
    if not page_url:
        return Author()
    html = _fetch(fetch, page_url)
    if html is None:
        return Author(url=page_url)
    parsed = _parse(limit_nesting(usv(html)), page_url)
    cards = _cards(parsed)
    if not cards:
        return Author(url=page_url)
    page = _stored(page_url, "")

    def urls(card: dict, prop: str) -> set[str]:
        values = _props(card).get(prop)
        if not isinstance(values, list):
            return set()
        return {_stored(_url_of(v), page_url) for v in values[:50]} - {""}

    for card in cards:
        if page in urls(card, "url") and page in urls(card, "uid"):
            return _card_author(card, page_url, page_url)
    rels = parsed.get("rels")
    if not isinstance(rels, dict):
        rels = {}
    me = {_stored(u, page_url) for u in (rels.get("me") or [])[:200] if isinstance(u, str)} - {""}
    if me:
        for card in cards:
            if urls(card, "url") & me:
                return _card_author(card, page_url, page_url)
    for card in cards:
        if page in urls(card, "url"):
            return _card_author(card, page_url, page_url)
    return Author(url=page_url)


def _author_value(value: Any, base: str, fetch: Callable[[str], str | ParsedPage | None] | None) -> Author:
    if isinstance(value, dict):
        if "h-card" in _types(value) or "properties" in value:
            return _card_author(value, base)
        value = _text_of(value)
    if not isinstance(value, str):
        return Author()
    text = value.strip()
    if text[:8].lower().startswith(("http://", "https://")):
        return _author_page(text, fetch)
    if _OTHER_SCHEME.match(text):
        return Author()  # a javascript:, mailto: ... author link names nobody
    return Author(name=strip_markup(text)[:_MAX_NAME])


def _rel_author(parsed: dict, fetch: Callable[[str], str | ParsedPage | None] | None) -> Author:
    rels = parsed.get("rels")
    values = rels.get("author") if isinstance(rels, dict) else None
    if isinstance(values, list):
        for value in values:
            if isinstance(value, str) and safe_url(value):
                return _author_page(value, fetch)
    return Author()


class _Head:
    """``<title>`` and ``<meta name=author>``, from the page's shared tree, or read with Lexbor
    only when needed."""

    def __init__(self, html: str | ParsedPage) -> None:
        self.title = ""
        self.author = ""
        try:
            tree = html.tree if isinstance(html, ParsedPage) else LexborHTMLParser(html)
        except Exception:  # noqa: BLE001
            return
        node = tree.css_first("title")
        if node is not None:
            self.title = strip_markup(node.text())[:_MAX_NAME]
        node = tree.css_first("meta[name=author i][content]")
        if node is not None:
            self.author = strip_markup(node.attributes.get("content") or "")[:_MAX_NAME]


# --- the whole thing --------------------------------------------------------------------


def _is_prefix(name: str, content: str) -> bool:
    a = " ".join(name.split()).rstrip("….")
    b = " ".join(content.split())
    return bool(a and b) and (b.startswith(a) or a.startswith(b))


def _content_text(value: str) -> str:
    lines = (" ".join(strip_markup(line).split()) for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def interpret(
    html: str | ParsedPage,
    source_url: str,
    target_url: str,
    *,
    excerpt: str = "",
    fetch_author_page: Callable[[str], str | ParsedPage | None] | None = None,
) -> Interpretation:
    """Read the mention ``source_url`` makes of ``target_url`` from the source's ``html`` (its
    text, or the :class:`~linkback.extract.ParsedPage` the verifier read).

    Pure apart from ``fetch_author_page``, called at most once, with an http(s) URL, when the
    author is only known by a URL (see the module docstring). Never raises on the HTML; an
    invalid ``target_url`` raises :class:`~linkback.errors.URLError`.
    """
    target = normalize(target_url)
    page: ParsedPage | None = None
    if isinstance(html, ParsedPage):
        page, text = html, html.text
    else:
        text = html
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # Every parser here (html5lib, Lexbor) takes time quadratic in the nesting depth.
    html = limit_nesting(usv(text or ""))
    source = safe_url(source_url)
    parsed = _parse(html, source)
    entries = _entries(parsed)
    head: _Head | None = None

    if not entries:
        head = _Head(page or html)
        author = _rel_author(parsed, fetch_author_page)
        if author == Author() and head.author:
            author = Author(name=head.author)
        return Interpretation(
            type="mention",
            property=TYPES["mention"],
            author=author,
            name=head.title,
            summary=truncate(strip_markup(excerpt), _MAX_SUMMARY),
            url=source,
        )

    me = _stored(source, "")
    entry, feed = entries[0]
    for candidate, parent in entries:
        values = _props(candidate).get("url")
        if isinstance(values, list) and me and any(_stored(_url_of(v), source) == me for v in values[:20]):
            entry, feed = candidate, parent
            break

    kind, rsvp = _classify(entry, target, source)

    author = Author()
    for holder in (entry, feed):
        value = _first(holder, "author") if holder is not None else None
        if value is not None:
            author = _author_value(value, source, fetch_author_page)
            break
    else:
        author = _rel_author(parsed, fetch_author_page)
    if author == Author():
        head = head or _Head(page or html)
        if head.author:
            author = Author(name=head.author)

    content = _first(entry, "content")
    content_html = content_text = ""
    if isinstance(content, dict):
        raw = content.get("html")
        if isinstance(raw, str) and raw.strip():
            content_html = sanitize_html(raw, base_url=source)
        value = content.get("value")
        content_text = _content_text(value) if isinstance(value, str) else plain_text(content_html, 100_000)
    elif isinstance(content, str):
        content_text = _content_text(content)

    name = strip_markup(_text_of(_first(entry, "name")))[:_MAX_NAME]
    if name and content_text and _is_prefix(name, content_text):
        name = ""

    summary = strip_markup(_text_of(_first(entry, "summary")))
    if not summary and not content_text:
        summary = strip_markup(excerpt)
    summary = truncate(summary, _MAX_SUMMARY)

    url = ""
    values = _props(entry).get("url")
    if isinstance(values, list):
        urls = [safe_url(_url_of(v), base_url=source) for v in values[:20]]
        urls = [u for u in urls if u]
        url = next((u for u in urls if _stored(u, "") == me), urls[0] if urls else "")
    photos: list[str] = []
    values = _props(entry).get("photo")
    if isinstance(values, list):
        for v in values[:100]:
            u = safe_url(_url_of(v), base_url=source)
            if u and u not in photos:
                photos.append(u)
            if len(photos) >= _MAX_PHOTOS:
                break

    published = parse_published(_text_of(_first(entry, "published")))

    return Interpretation(
        type=kind,
        property=TYPES[kind],
        rsvp=rsvp,
        author=author,
        published=published,
        name=name,
        content_html=content_html,
        content_text=content_text,
        summary=summary,
        url=url or source,
        photo=tuple(photos),
    )
