"""Read RSS, Atom and RDF feeds and XML sitemaps into the post URLs ``linkback send`` works on.

:func:`parse_feed` takes the bytes the SSRF-safe fetcher got and the URL they came from (the
fetcher does all network access; nothing here fetches, not even a DTD) and returns a
:class:`Feed`: its kind, title, and one :class:`FeedEntry` per post (URL, date, title and a hash
of the content, so a post edited without a new date is still seen as changed), or, for a
sitemap index, the child sitemap URLs.

Kinds, told by the XML root whatever its namespace prefix:

* ``rss``  — RSS 0.9x and 2.0 (``<rss>``): URL from ``<link>``, else a permalink ``<guid>``
  (``isPermaLink="true"``, or no such attribute and an absolute URL); FeedBurner's
  ``origLink`` before both. Date ``pubDate`` (RFC 822, any zone; junk gives None), else
  ``dc:date``. Content ``content:encoded``, else ``description``.
* ``atom`` — Atom 1.0 (and 0.3): the first ``<link rel="alternate">`` (or without ``rel``),
  resolved against ``xml:base`` (of any ancestor and the link itself) and the feed URL. Date
  ``updated``, else ``published``. Content ``content``, else ``summary``.
* ``rdf``  — RSS 1.0 and 0.90 (``<rdf:RDF>``): ``<link>``, else ``rdf:about``; ``dc:date``.
* ``sitemap`` — ``<urlset>``: ``<loc>`` and ``<lastmod>`` (W3C datetime, date-only included);
  also a plain-text sitemap (one absolute URL a line, as sitemaps.org allows).
* ``sitemapindex`` — ``<sitemapindex>``: the child ``<loc>`` URLs, in :attr:`Feed.sitemaps`.

Entry URLs are in the stored form of :func:`linkback.urls.resolve`: http(s) only, normalised,
fragment dropped. An entry without a usable URL is left out; a URL seen twice keeps its first
entry. Dates are aware UTC (a time without a zone is taken as UTC). ``content_hash`` is the
SHA-256 of the content (or summary) text as given, after XML parsing (so CDATA and escaped
markup hash alike; Atom xhtml content hashes its serialisation); sitemaps have none. At most
``max_entries`` entries (or child sitemaps) are read and parsing stops there, so
``len(entries) == max_entries`` means the rest may not have been read.

Bodies may be gzipped (told by the magic bytes, whatever the URL says); the decompressed XML is
capped at :data:`MAX_XML_BYTES` (sitemaps.org allows 50 MB). Whitespace before ``<?xml`` (a
common WordPress fault) is tolerated. Encodings other than those expat reads itself (UTF-8,
UTF-16, ISO-8859-1, US-ASCII) are decoded by Python: windows-1252, Shift_JIS, GB2312, ...

Security: the XML comes from anyone, so it is parsed through defusedxml: a document that
declares any entity (billion laughs, quadratic blow-up, XXE, parameter entities) is refused at
the declaration, before anything is expanded, and no external entity or DTD is ever loaded.
A bare ``<!DOCTYPE>`` (RSS 0.91's Netscape DTD) is allowed, and the HTML entities that DTD
defines (``&eacute;``...) are known without reading it. Elements nest at most
:data:`MAX_DEPTH` deep.

Anything that is not a feed or sitemap, is broken (the error gives the line and column) or is
hostile raises :class:`~linkback.errors.SourceError` whose ``path`` is the URL.

Why not feedparser: it reads no sitemaps, sanitises content (so no hash "as given"), resolves
links with urllib rather than WHATWG rules, and recovers broken XML with a regex parser where
an error naming the position is wanted here; RSS/Atom/RDF link, date and content take ~100
lines on top of defusedxml, which the project already uses for XML from strangers.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import html
import html.entities
import io
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, tostring

from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import XMLParser as _DefusedXMLParser
from defusedxml.ElementTree import iterparse as _defused_iterparse

from ..errors import SourceError
from ..urls import resolve

__all__ = ["KINDS", "MAX_DEPTH", "MAX_XML_BYTES", "Feed", "FeedEntry", "parse_feed"]

#: The kinds :func:`parse_feed` tells apart.
KINDS = ("rss", "atom", "rdf", "sitemap", "sitemapindex")
#: Most bytes of XML read from a gzipped body once decompressed (a gzip bomb stops here).
MAX_XML_BYTES = 64 * 1024 * 1024
#: Deepest element nesting read (a feed needs about 6; deeper is an attack on recursion).
MAX_DEPTH = 256

_CHUNK = 64 * 1024

XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
ATOM = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS1 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
FEEDBURNER = "http://rssnamespace.org/feedburner/ext/1.0"

_ALTERNATE = ("alternate", "http://www.iana.org/assignments/relation/alternate")
_HTML_ENTITIES = {name: chr(cp) for name, cp in html.entities.name2codepoint.items()}
_UTF8_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\n"
# Encodings expat decodes itself; for any other the document declares, Python decodes.
_EXPAT_ENCODINGS = frozenset({"utf-8", "utf-16", "iso-8859-1", "us-ascii"})
_XML_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
_HTML_START = re.compile(rb"(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One post: its stored-form URL, its date (aware UTC) when the feed gives one, its title
    (plain text, whitespace collapsed; ``""`` if none) and the SHA-256 hex of its content or
    summary as given (``""`` if it has none; always ``""`` in a sitemap)."""

    url: str
    updated: datetime | None
    title: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed or sitemap. ``kind`` is one of :data:`KINDS`; ``title`` is the feed's
    (``""`` for a sitemap); ``sitemaps`` holds a sitemap index's child sitemap URLs."""

    kind: str
    title: str
    entries: tuple[FeedEntry, ...]
    sitemaps: tuple[str, ...] = ()


def parse_feed(body: bytes, url: str, *, max_entries: int = 10_000) -> Feed:
    """Parse a fetched feed or sitemap; ``url`` is where ``body`` came from: the base of
    relative links and the ``path`` of every :class:`~linkback.errors.SourceError`.
    See the module docstring for what is read."""
    if max_entries < 1:
        raise ValueError(f"max_entries must be at least 1, not {max_entries}")
    stream = _Body(body, url)
    head = stream.head()
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its BOM: expat reads it
        return _parse_xml(stream, url, max_entries)
    if head.startswith(_UTF8_BOM):
        stream.skip(len(_UTF8_BOM))
        head = head[len(_UTF8_BOM) :]
    # Whitespace before "<?xml" is a fatal error to expat.
    skip = len(head) - len(head.lstrip(_SPACE))
    stream.skip(skip)
    head = head[skip:]
    if not head:
        raise SourceError("empty body: not a feed or sitemap", path=url)
    if head.startswith(b"<"):
        if _HTML_START.match(head):
            raise SourceError(_HTML_PAGE, path=url)
        return _parse_xml(stream, url, max_entries, _declared_encoding(head))
    if head.startswith((b"{", b"[")):
        raise SourceError("JSON (a JSON Feed?) is not read: give the RSS or Atom feed's URL", path=url)
    return _parse_text_sitemap(stream.read(), url, max_entries)


_HTML_PAGE = (
    "an HTML page, not a feed or sitemap: give the URL of the feed the page names in its "
    '<link rel="alternate" type="application/rss+xml"> (or atom+xml)'
)


# --- the bytes ----------------------------------------------------------------------------------


class _Body:
    """The body for iterparse, decompressed on the fly when gzipped; gzip faults and a body
    past :data:`MAX_XML_BYTES` raise SourceError."""

    def __init__(self, body: bytes, url: str) -> None:
        self._url = url
        self._pending = b""
        if body.startswith(b"\x1f\x8b"):
            self._raw: Any = gzip.GzipFile(fileobj=io.BytesIO(body), mode="rb")
            self._gzip = True
        else:
            self._raw = io.BytesIO(body)
            self._gzip = False
        self._left = MAX_XML_BYTES

    def _read_raw(self, n: int) -> bytes:
        if not self._gzip:
            return self._raw.read(n)
        try:
            data = self._raw.read(min(n, self._left + 1) if n >= 0 else self._left + 1)
        except EOFError:
            raise SourceError("gzip data breaks off: the body is truncated", path=self._url) from None
        except (OSError, zlib.error) as e:
            raise SourceError(f"broken gzip data: {e}", path=self._url) from None
        self._left -= len(data)
        if self._left < 0:
            raise SourceError(f"decompressed body larger than {MAX_XML_BYTES:,} bytes", path=self._url)
        return data

    def head(self) -> bytes:
        """The next bytes, left unread: a chunk, not counting blank ones before it (dropped, so
        that a body of whitespace takes no memory)."""
        while len(self._pending) < _CHUNK:
            more = self._read_raw(_CHUNK)
            if not more:
                break
            if self._pending or more.lstrip(_SPACE + _UTF8_BOM):
                self._pending += more
        return self._pending

    def skip(self, n: int) -> None:
        self._pending = self._pending[n:]

    def read(self, n: int = -1) -> bytes:
        if not self._pending:
            return self._read_raw(n)
        if n < 0:
            out, self._pending = self._pending, b""
            return out + self._read_raw(-1)
        out, self._pending = self._pending[:n], self._pending[n:]
        return out


class _Decoded:
    """The body decoded by Python, for a document in an encoding expat lacks."""

    def __init__(self, stream: _Body, codec: str) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(codec)("replace")

    def read(self, n: int = -1) -> str:
        while True:
            data = self._stream.read(n)
            text = self._decoder.decode(data, final=not data)
            if text or not data:
                return text


def _declared_encoding(head: bytes) -> str | None:
    """The Python codec for the encoding the XML declaration names, when expat cannot read it."""
    end = head.find(b"?>", 0, 1024)
    m = _XML_DECL_ENCODING.match(head[: end + 2]) if head.startswith(b"<?xml") and end > 0 else None
    if m is None:
        return None
    name = m.group(1).decode("ascii")
    if name.lower() in _EXPAT_ENCODINGS:
        return None
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return None  # expat says "unknown encoding"
    return codec.name if getattr(codec, "_is_text_encoding", True) else None


def _parse_text_sitemap(data: bytes, url: str, max_entries: int) -> Feed:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError("not XML, and not a text sitemap (not UTF-8): not a feed or sitemap", path=url) from None
    out = _Collector("sitemap", max_entries)
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        stored, reason = resolve(line, "")
        if reason and not out.entries:
            raise SourceError(
                f"not XML, and line {n} is not an absolute http(s) URL as in a text sitemap "
                f"({line[:60]!r}): not a feed or sitemap",
                path=url,
            )
        if not reason and out.add(stored, None, "", ""):
            break
    return out.feed()


# --- XML ----------------------------------------------------------------------------------------


def _parse_xml(stream: _Body, url: str, max_entries: int, codec: str | None = None) -> Feed:
    parser = _DefusedXMLParser(target=TreeBuilder(), forbid_dtd=False, forbid_entities=True, forbid_external=True)
    # Reached only for a document with an external DTD (RSS 0.91's), which is never read.
    parser.entity.update(_HTML_ENTITIES)
    # A str source makes expat read UTF-8, whatever the declaration says.
    source: Any = _Decoded(stream, codec) if codec else stream
    reader: _Reader | None = None
    stack: list[tuple[Element, str]] = []
    base_url = _join(url, "")  # "" when ``url`` is no absolute URL: then relative links are dropped
    try:
        for event, el in _defused_iterparse(source, events=("start", "end"), parser=parser):
            if event == "start":
                base = stack[-1][1] if stack else base_url
                if XML_BASE in el.attrib:
                    base = _join(el.attrib[XML_BASE], base)
                if reader is None:
                    reader = _reader_for(el, url, max_entries)
                elif len(stack) >= MAX_DEPTH:
                    raise SourceError(f"XML nested deeper than {MAX_DEPTH} elements", path=url)
                stack.append((el, base))
            else:
                base = stack.pop()[1]
                if reader is not None and reader.end(el, stack[-1][0] if stack else None, base):
                    break
    except EntitiesForbidden as e:
        raise SourceError(
            f"refused: the XML declares the entity {e.name!r}; declared entities are how "
            "billion-laughs and XXE attacks work, and no feed or sitemap needs one",
            path=url,
        ) from None
    except ExternalReferenceForbidden as e:
        raise SourceError(f"refused: the XML refers to an external entity ({e.sysid!r})", path=url) from None
    except DefusedXmlException as e:
        raise SourceError(f"refused: {e}", path=url) from None
    except ParseError as e:
        line, column = e.position
        what = str(e).rsplit(": line ", 1)[0]
        raise SourceError(f"broken XML: {what} at line {line}, column {column}", path=url) from None
    except (ValueError, LookupError) as e:  # an encoding expat refuses, a NUL byte ...
        raise SourceError(f"cannot read the XML: {e}", path=url) from None
    if reader is None:  # pragma: no cover - expat reports "no element found" first
        raise SourceError("no root element: not a feed or sitemap", path=url)
    return reader.out.feed()


def _reader_for(root: Element, url: str, max_entries: int) -> _Reader:
    ns, local = _split(root.tag)
    if local == "rss":
        return _RSS(ns, _Collector("rss", max_entries))
    if local == "feed" and ns in (ATOM, ATOM03, ""):
        return _Atom(ns, _Collector("atom", max_entries))
    if local == "RDF" and ns == RDF:
        return _RDF(_Collector("rdf", max_entries))
    if local == "urlset":
        return _Sitemap(ns, _Collector("sitemap", max_entries))
    if local == "sitemapindex":
        return _Sitemap(ns, _Collector("sitemapindex", max_entries))
    if local == "html":
        raise SourceError(_HTML_PAGE, path=url)
    raise SourceError(
        f"not a feed or sitemap: the XML's root element is <{local}>" + (f" in namespace {ns}" if ns else ""),
        path=url,
    )


class _Collector:
    """Entries (or child sitemaps) kept in order, each URL once, up to ``max_entries``."""

    def __init__(self, kind: str, max_entries: int) -> None:
        self.kind = kind
        self.title = ""
        self.entries: list[FeedEntry] = []
        self.sitemaps: list[str] = []
        self._seen: set[str] = set()
        self._max = max_entries

    def add(self, url: str, updated: datetime | None, title: str, content: str) -> bool:
        """Keep an entry for the stored-form ``url``; True once ``max_entries`` are kept."""
        if url not in self._seen:
            self._seen.add(url)
            if self.kind == "sitemapindex":
                self.sitemaps.append(url)
            else:
                digest = hashlib.sha256(content.encode("utf-8")).hexdigest() if content.strip() else ""
                self.entries.append(FeedEntry(url, updated, title, digest))
        return len(self._seen) >= self._max

    def feed(self) -> Feed:
        return Feed(self.kind, self.title, tuple(self.entries), tuple(self.sitemaps))


class _Reader:
    out: _Collector

    def end(self, el: Element, parent: Element | None, base: str) -> bool:
        """Handle an element just closed; True when no more entries are wanted."""
        raise NotImplementedError


class _RSS(_Reader):
    def __init__(self, ns: str, out: _Collector) -> None:
        self.out = out
        q = _qualifier(ns)
        self.item, self.channel, self.title, self.link = q("item"), q("channel"), q("title"), q("link")
        self.guid, self.pub_date, self.description = q("guid"), q("pubDate"), q("description")
        self.parents = (self.channel, q("rss"))

    def end(self, el: Element, parent: Element | None, base: str) -> bool:
        if parent is None:
            return False
        if el.tag == self.item and parent.tag in self.parents:
            url = _first_url(base, el.find(f"{{{FEEDBURNER}}}origLink"), el.find(self.link))
            if not url:
                guid = el.find(self.guid)
                if guid is not None:
                    permalink = guid.get("isPermaLink", "").strip().lower()
                    text = _text(guid).strip()
                    if permalink == "true" or (permalink == "" and not resolve(text, "")[1]):
                        url = _first_url(base, guid)
            full = False
            if url:
                updated = _rfc822(_text(el.find(self.pub_date))) or _w3c(_text(el.find(f"{{{DC}}}date")))
                content = _first_text(el.find(f"{{{CONTENT}}}encoded"), el.find(self.description))
                full = self.out.add(url, updated, _collapse(_text(el.find(self.title))), content)
            el.clear()
            return full
        if el.tag == self.title and parent.tag == self.channel and not self.out.title:
            self.out.title = _collapse(_text(el))
        return False


class _Atom(_Reader):
    def __init__(self, ns: str, out: _Collector) -> None:
        self.out = out
        q = _qualifier(ns)
        self.feed, self.entry, self.title, self.link = q("feed"), q("entry"), q("title"), q("link")
        self.content, self.summary = q("content"), q("summary")
        # Atom 0.3 said "modified" and "issued".
        self.dates = (q("updated"), q("modified"), q("published"), q("issued"))

    def end(self, el: Element, parent: Element | None, base: str) -> bool:
        if parent is None or parent.tag != self.feed:
            return False
        if el.tag == self.entry:
            links = [ln for ln in el.iterfind(self.link) if ln.get("rel", "alternate").strip().lower() in _ALTERNATE]
            url = _first_url(base, *links, attr="href")
            full = False
            if url:
                updated = next(filter(None, (_w3c(_text(el.find(t))) for t in self.dates)), None)
                content = el.find(self.content)
                text = _inner(content) if content is not None and content.get("src") is None else ""
                if not text.strip():
                    text = _inner(el.find(self.summary))
                full = self.out.add(url, updated, _text_construct(el.find(self.title)), text)
            el.clear()
            return full
        if el.tag == self.title and not self.out.title:
            self.out.title = _text_construct(el)
        return False


class _RDF(_Reader):
    def __init__(self, out: _Collector) -> None:
        self.out = out
        self.items = {f"{{{RSS1}}}item": RSS1, f"{{{RSS090}}}item": RSS090}
        self.channels = {f"{{{RSS1}}}channel": RSS1, f"{{{RSS090}}}channel": RSS090}
        self.parents = (f"{{{RDF}}}RDF", *self.channels)

    def end(self, el: Element, parent: Element | None, base: str) -> bool:
        if parent is None:
            return False
        ns = self.items.get(el.tag)
        if ns is not None and parent.tag in self.parents:
            url = _first_url(base, el.find(f"{{{ns}}}link"))
            if not url and el.get(f"{{{RDF}}}about"):
                url = _resolve(el.get(f"{{{RDF}}}about", ""), base)
            full = False
            if url:
                updated = _w3c(_text(el.find(f"{{{DC}}}date")))
                content = _first_text(el.find(f"{{{CONTENT}}}encoded"), el.find(f"{{{ns}}}description"))
                full = self.out.add(url, updated, _collapse(_text(el.find(f"{{{ns}}}title"))), content)
            el.clear()
            return full
        ns = self.channels.get(parent.tag)
        if ns is not None and el.tag == f"{{{ns}}}title" and not self.out.title:
            self.out.title = _collapse(_text(el))
        return False


class _Sitemap(_Reader):
    def __init__(self, ns: str, out: _Collector) -> None:
        self.out = out
        q = _qualifier(ns)
        self.item = q("sitemap") if out.kind == "sitemapindex" else q("url")
        self.loc, self.lastmod = q("loc"), q("lastmod")

    def end(self, el: Element, parent: Element | None, base: str) -> bool:
        if el.tag != self.item or parent is None:
            return False
        url = _first_url(base, el.find(self.loc))
        full = bool(url) and self.out.add(url, _w3c(_text(el.find(self.lastmod))), "", "")
        el.clear()
        return full


# --- helpers ------------------------------------------------------------------------------------


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _qualifier(ns: str) -> Callable[[str], str]:
    return (lambda local: f"{{{ns}}}{local}") if ns else (lambda local: local)


def _join(href: str, base: str) -> str:
    """``base`` moved by an ``xml:base`` value (or the stored form of an absolute URL, when
    ``base`` is ``""``); unchanged when that is not usable."""
    stored, reason = resolve(href.strip(), base)
    return base if reason else stored


def _resolve(href: str, base: str) -> str:
    href = href.strip()
    if not href:
        return ""  # an empty reference would resolve to the base itself
    stored, reason = resolve(href, base)
    return "" if reason else stored


def _first_url(base: str, *els: Element | None, attr: str = "") -> str:
    """The first usable URL among ``els`` (their text, or attribute ``attr``), each resolved
    against its own ``xml:base``."""
    for el in els:
        if el is None:
            continue
        href = el.get(attr, "") if attr else _text(el)
        where = _join(el.attrib[XML_BASE], base) if XML_BASE in el.attrib else base
        url = _resolve(href, where)
        if url:
            return url
    return ""


def _text(el: Element | None) -> str:
    return "".join(el.itertext()) if el is not None else ""


def _first_text(*els: Element | None) -> str:
    """The text of the first of ``els`` that has some besides whitespace, else ``""``."""
    for el in els:
        text = _text(el)
        if text.strip():
            return text
    return ""


def _inner(el: Element | None) -> str:
    """An element's content as given: its text, or its markup when it holds elements."""
    if el is None:
        return ""
    if not len(el):
        return el.text or ""
    return (el.text or "") + "".join(tostring(child, encoding="unicode") for child in el)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _text_construct(el: Element | None) -> str:
    """An Atom text construct as plain text: type html has its markup stripped."""
    if el is None:
        return ""
    if el.get("type", "text").strip().lower() == "html":
        return _collapse(html.unescape(_TAG.sub(" ", _text(el))))
    return _collapse(_text(el))


_W3C = re.compile(
    r"(\d{4})(?:-(\d\d)(?:-(\d\d)(?:[Tt ]\s*(\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?)?)?"
    r"\s*([Zz]|(?:UTC|GMT)|[+-]\d\d(?::?\d\d)?)?"
)


def _w3c(text: str) -> datetime | None:
    """A W3C datetime (ISO 8601 profile: ``2024``, ``2024-05``, ``2024-05-06``,
    ``2024-05-06T07:08Z``, ``2024-05-06T07:08:09.5+02:00``) as aware UTC, or None."""
    m = _W3C.fullmatch(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    offset = timedelta(0)
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        if zone[0] == "-":
            offset = -offset
    try:
        dt = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=timezone(offset),
        )
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _rfc822(text: str) -> datetime | None:
    """An RSS date (RFC 822/2822, with the US zone names and 2-digit years) as aware UTC;
    an ISO date is also taken; anything else is None. An unknown zone is taken as UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return _w3c(text)
    try:
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
