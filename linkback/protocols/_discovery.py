"""Where does a target take its linkbacks? Webmention endpoint discovery [WM §3.1.2], pure.

The sender fetches the target (following redirects) and hands the response here: the headers,
the body, and the URL it ended on. Nothing here does I/O.

* :func:`parse_link_header` reads HTTP ``Link`` fields by RFC 8288 §3 (Appendix B's algorithm,
  with recovery from a malformed member instead of giving up on the rest of the field).
* :func:`webmention_endpoint` finds the Webmention endpoint, in the order the Recommendation
  gives and webmention.rocks discovery tests 1–23 check:

  1. the first ``Link`` header value (header name in any case, every field, every
     comma-separated value) whose ``rel`` holds the token ``webmention`` (or the pre-REC
     ``http://webmention.org/``), resolved against ``final_url``;
  2. else, when the body is HTML, the first ``<link>`` or ``<a>`` element *in document order*
     with that rel token *and* an ``href`` attribute. A rel-webmention element without ``href``
     is skipped (rocks 20); ``href=""`` is the page itself (rocks 15). Only real HTML
     elements count: nothing in comments, ``<script>``, ``<template>``, ``<textarea>``,
     ``<noscript>`` (parsed with scripting on, as the browsers that show the page), escaped
     markup, nor ``<a>``/``<link>`` inside SVG or MathML, nor other elements carrying a rel
     (``<b rel=webmention href>``). A ``Link`` header with some other rel does not stop this
     step (webmention.rocks#27).

  The endpoint comes back in the stored form of :mod:`linkback.urls` (WHATWG-parsed, fragment
  dropped, query kept exactly — rocks 21). A candidate that gives no http(s) URL (``mailto:``,
  unparsable) is passed over and discovery goes on to the next one: the sender could not post
  to it anyway.
* :func:`sender_endpoints` runs Webmention, Pingback and TrackBack discovery on one response in
  one call; :attr:`Endpoints.preferred` says which one to use (webmention > pingback >
  trackback).

**Relative endpoints and ``<base>``.** The Recommendation says to resolve a relative endpoint
"relative to the target URL according to [URL]". We resolve against the URL *after redirects*
(rocks 23: a relative endpoint on a page reached by a 302). For the ``Link`` header that is the
whole rule (RFC 8288: a base URI carried in the body is not used). For ``<link>``/``<a>`` we use
the document's base URL as HTML defines it — the first ``<base href>``, itself resolved against
the final URL — because that is what the element's URL *is* in every browser, and what
linkback's extractor and Webmention verifier already do. With no ``<base>`` (the usual case and
every webmention.rocks test) the two readings agree. A ``<base>`` that gives no http(s) URL is
ignored. Queries in non-UTF-8 pages are percent-encoded in the page's encoding, as WHATWG says.

**Bodies.** An HTML body is decoded and parsed as the extractor decodes and parses it, through
one :class:`~linkback.extract.ParsedPage` (:func:`page_endpoints` takes the one the caller already
has): a BOM, then the ``charset`` argument, the Content-Type's charset, the ``<meta>`` prescan,
UTF-8 when the bytes are valid UTF-8, else detection (:mod:`linkback.extract._charset`). So an
endpoint with a non-ASCII path or query resolves to the URL the index would store for the same
``<a>``. Only the first :data:`MAX_PARSE_BYTES` are parsed. The elements inside ``<noscript>``
are left out (``ParsedPage.scripted``). A page nested deeply enough to make parsing quadratic
(``ParsedPage.deep``) is parsed here its own way: stripped of the tags discovery does not need,
in one linear pass (see :func:`_parse_deep`), so no page can make discovery slow. The body is
HTML when the media type is ``text/html`` or ``application/xhtml+xml``; with no (or an
"unknown") media type, when its first non-space character is ``<``. Any other type
(``image/png``, ``text/plain``, JSON) is searched by header only.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from linkback.extract import ExtractLimits, ParsedPage, _nesting, noscript_ids
from linkback.protocols._pingback import discover_endpoint as _pingback_endpoint
from linkback.protocols._trackback import discover_ping_url as _trackback_ping_url
from linkback.records import FetchedPage
from linkback.urls import resolve

__all__ = [
    "DISCOVERY_LIMITS",
    "MAX_PARSE_BYTES",
    "WEBMENTION_RELS",
    "Endpoints",
    "page_endpoints",
    "parse_link_header",
    "sender_endpoints",
    "webmention_endpoint",
]

#: rel tokens that name a Webmention endpoint: the registered one and the pre-Recommendation
#: URI (still served by old sites, e.g. ``rel="webmention http://webmention.org/"``). Compared
#: ASCII-case-insensitively, in headers (RFC 8288 §2.1) and HTML alike.
WEBMENTION_RELS = frozenset({"webmention", "http://webmention.org/", "http://webmention.org"})

#: How much of a body is parsed (bytes, or characters of a ``str`` body). An endpoint sits in
#: the head or near the top of the page; the rest is not worth parsing.
MAX_PARSE_BYTES = 2 * 1024 * 1024
#: The limits of a :class:`~linkback.extract.ParsedPage` made for discovery alone.
DISCOVERY_LIMITS = ExtractLimits(max_parse_bytes=MAX_PARSE_BYTES)
_WHOLE = ExtractLimits(max_parse_bytes=sys.maxsize)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_UNKNOWN_TYPES = frozenset({"", "unknown/unknown", "application/unknown", "*/*"})
_SELECT = "a[href],link[href],base[href]"
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_HTML_SPACE = re.compile(r"[\t\n\x0c\r ]+")  # HTML's ASCII whitespace: rel token separators
_HEADER_SPACE = re.compile(r"[\t\n\r ]+")  # RWS, with line folds tolerated
# Foreign content: an <a> or <link> under <svg>/<math> is an SVG/MathML element, unless an HTML
# integration point lies in between (HTML §13.2.6.5).
_FOREIGN_ROOTS = frozenset({"svg", "math"})
_INTEGRATION_POINTS = frozenset({"foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext"})
_MAX_ANCESTORS = 1024
# Tags whose removal cannot change which <a>/<link> elements a page has, or their order: all
# but these (discovery's own, foreign content and its integration points, and the elements
# whose content is not markup). "[^<>]*" stops at the next "<", so the substitution is linear
# even on "<b <b <b ..." with no ">" (a tag whose attribute holds "<" is simply left alone).
_KEEP_TAGS = (
    rb"a|link|base|svg|math|foreignobject|desc|title|mi|mo|mn|ms|mtext|annotation-xml|template|"
    rb"script|style|textarea|xmp|iframe|noembed|noframes|noscript|plaintext|html|head|body"
)
_FLATTEN = re.compile(rb"<(?!/?(?:" + _KEEP_TAGS + rb")[\s/>])/?[A-Za-z][^<>]*>", re.I)


# --- Link header ------------------------------------------------------------------------------


def _skip_member(value: str, i: int, stops: str) -> int:
    """Index of the first character of ``stops`` at or after ``i`` that is outside a quoted
    string and outside ``<...>`` (or ``len(value)``)."""
    n = len(value)
    while i < n:
        c = value[i]
        if c in stops:
            return i
        if c == '"':
            _, i = _quoted(value, i)
            continue
        if c == "<":
            end = value.find(">", i + 1)
            i = n if end < 0 else end + 1
            continue
        i += 1
    return n


def _quoted(value: str, i: int) -> tuple[str, int]:
    """The quoted-string starting at ``value[i] == '"'`` (backslash escapes undone) and the index
    after its closing quote; an unterminated one runs to the end of the field."""
    out: list[str] = []
    n = len(value)
    i += 1
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n:
            out.append(value[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), n


def _rel_tokens(text: str) -> frozenset[str]:
    return frozenset(t for t in _HEADER_SPACE.split(text.translate(_ASCII_UPPER)) if t)


def _parse_field(value: str, out: list[tuple[str, frozenset[str]]]) -> None:
    """Append the link-values of one ``Link`` field value to ``out``."""
    n = len(value)
    i = 0
    while i < n:
        while i < n and value[i] in " \t\r\n,":  # OWS and empty list elements (RFC 9110 §5.6.1)
            i += 1
        if i >= n:
            return
        if value[i] != "<":  # not a link-value: skip to the next member
            i = _skip_member(value, i, ",")
            continue
        end = value.find(">", i + 1)
        if end < 0:
            return  # "<" never closed: nothing after it can be trusted
        uri = value[i + 1 : end]
        i = end + 1
        rel: str | None = None
        while i < n:
            while i < n and value[i] in " \t\r\n":
                i += 1
            if i >= n or value[i] == ",":
                break
            if value[i] != ";":  # junk after a parameter: skip to the next ";" or ","
                i = _skip_member(value, i, ";,")
                continue
            i += 1
            start = i
            while i < n and value[i] not in "=;,":
                i += 1
            name = value[start:i].strip(" \t\r\n").translate(_ASCII_UPPER)
            param = ""
            if i < n and value[i] == "=":
                i += 1
                while i < n and value[i] in " \t\r\n":
                    i += 1
                if i < n and value[i] == '"':
                    param, i = _quoted(value, i)
                else:
                    start = i
                    while i < n and value[i] not in ";,":
                        i += 1
                    param = value[start:i].strip(" \t\r\n")
            if name == "rel" and rel is None:  # "occurrences after the first MUST be ignored"
                rel = param
        out.append((uri, _rel_tokens(rel) if rel else frozenset()))


def parse_link_header(values: Iterable[str]) -> list[tuple[str, frozenset[str]]]:
    """Every link-value of the given ``Link`` field values, in order: ``(uri-ref, rel tokens)``.

    ``values`` holds one string per ``Link`` field (a response may carry several, and one field
    may list several comma-separated links); a lone string is taken as one field. The URI
    reference is returned as written between ``<`` and ``>`` (unresolved); the rel tokens are
    lower-cased (ASCII), split on whitespace, from the first ``rel`` parameter, quoted or not.
    Commas and semicolons inside ``<...>`` or a quoted string do not split. A malformed member
    is skipped and parsing goes on with the next one; a link-value without ``rel`` has no tokens.

    >>> links = parse_link_header(['</a,b>; rel="Webmention other", <https://x.test/>; rel=next'])
    >>> [(uri, sorted(rels)) for uri, rels in links]
    [('/a,b', ['other', 'webmention']), ('https://x.test/', ['next'])]
    """
    if isinstance(values, str):
        values = [values]
    out: list[tuple[str, frozenset[str]]] = []
    for value in values:
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        _parse_field(value, out)
    return out


# --- the response -----------------------------------------------------------------------------


def _header_items(headers: Any) -> list[tuple[str, str]]:
    """(name, value) pairs from a list of pairs, an ``httpx.Headers`` (every field, via
    ``multi_items``) or a plain mapping; bytes are read as Latin-1."""
    if headers is None:
        return []
    if hasattr(headers, "multi_items"):
        items = headers.multi_items()
    elif isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    out = []
    for name, value in items:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        out.append((name, value))
    return out


def _header(headers: list[tuple[str, str]], wanted: str) -> list[str]:
    return [value for name, value in headers if name.strip().translate(_ASCII_UPPER) == wanted]


def _is_html(content_type: str, body: bytes | str) -> bool:
    mime = content_type.partition(";")[0].strip().translate(_ASCII_UPPER)
    if mime in _HTML_TYPES:
        return True
    if mime not in _UNKNOWN_TYPES:
        return False
    head = body[:1024]
    if isinstance(head, bytes):
        return head.lstrip(b"\xef\xbb\xbf\t\n\x0c\r ")[:1] == b"<"
    return head.lstrip("\ufeff\t\n\x0c\r ")[:1] == "<"


class _Response:
    """One fetched response; its HTML body decoded and parsed at most once (a ParsedPage)."""

    __slots__ = ("headers", "body", "final_url", "content_type", "charset", "_parsed")

    def __init__(
        self,
        headers: Any,
        body: bytes | str | None,
        final_url: str,
        content_type: str,
        charset: str | None,
        parsed: ParsedPage | None = None,
    ) -> None:
        self.headers = _header_items(headers)
        self.body: bytes | str = body or b""
        self.final_url = final_url
        if not content_type:
            found = _header(self.headers, "content-type")
            content_type = found[0] if found else ""
        self.content_type = content_type
        self.charset = charset
        self._parsed = parsed

    def is_html(self) -> bool:
        return bool(self.body) and _is_html(self.content_type, self.body)

    def parsed(self) -> ParsedPage:
        """The body as the extractor reads it, at most :data:`MAX_PARSE_BYTES` of it."""
        if self._parsed is None:
            body = self.body
            if isinstance(body, str):
                self._parsed = ParsedPage.from_text(
                    body[:MAX_PARSE_BYTES], self.final_url, self.content_type or "text/html", limits=_WHOLE
                )
            else:
                # The Content-Type given (or found) first: it is the one the charset comes from.
                headers = (("Content-Type", self.content_type),) if self.content_type else ()
                page = FetchedPage(url=self.final_url, status=200, headers=headers, body=body, fetched_at=_EPOCH)
                self._parsed = ParsedPage(page, limits=DISCOVERY_LIMITS, charset=self.charset)
        return self._parsed

    def link_endpoint(self) -> str | None:
        for uri, rels in parse_link_header(_header(self.headers, "link")):
            if rels & WEBMENTION_RELS:
                url, reason = resolve(uri, self.final_url)
                if not reason:
                    return url
        return None


def _in_foreign_content(node: Any) -> bool:
    """Whether an element is an SVG or MathML one (an ``<a>`` in ``<svg>``), not HTML."""
    p = node.parent
    steps = 0
    while p is not None and steps < _MAX_ANCESTORS:
        tag = (p.tag or "").translate(_ASCII_UPPER)
        if tag in _FOREIGN_ROOTS:
            return True
        if tag in _INTEGRATION_POINTS:
            return False
        if tag == "annotation-xml":
            encoding = (p.attributes.get("encoding") or "").strip().translate(_ASCII_UPPER)
            if encoding in _HTML_TYPES:
                return False
        p = p.parent
        steps += 1
    return False


def _parse_deep(data: bytes) -> LexborHTMLParser | None:
    """A page nested too deeply to parse as it is (``ParsedPage.deep``), parsed for discovery,
    or None when it is hostile.

    Lexbor spends time quadratic in the depth of open elements (see :mod:`linkback.extract._nesting`).
    Such a page loses every tag discovery does not need (:data:`_FLATTEN`; a one-pass, linear
    substitution); if it is still too deep after that, no HTML endpoint is taken from it.
    """
    data = _FLATTEN.sub(b" ", data)
    if _nesting.too_deep(data):
        return None
    # Scripting on, as in the browsers that show the page: <noscript> content is text.
    return LexborHTMLParser(data, scripting=True)


def _html_endpoint(parsed: ParsedPage, final_url: str) -> str | None:
    """The first ``<link>``/``<a>`` with rel webmention and an href, resolved (see the module
    docstring), or None."""
    encoding = parsed.encoding
    if parsed.deep:
        tree = _parse_deep(parsed.data)
        if tree is None:
            return None
        hidden: frozenset[int] = frozenset()
    else:
        tree, skip_noscript = parsed.scripted()
        hidden = noscript_ids(tree, _SELECT) if skip_noscript else frozenset()
    nodes = tree.css(_SELECT)
    base = final_url
    for node in nodes:
        # The document base URL is the first <base href> in tree order, wherever it sits: an
        # <a> before it resolves against it too, once the page is parsed.
        if node.tag == "base" and node.mem_id not in hidden:
            href = node.attributes.get("href")
            if href is not None:
                got, reason = resolve(href, final_url, encoding)
                if not reason:
                    base = got
                break
    for node in nodes:
        tag = node.tag
        if tag != "a" and tag != "link":
            continue
        attrs = node.attributes
        href = attrs.get("href")
        rel = attrs.get("rel")
        if href is None or not rel:  # a[href] also matches SVG's xlink:href
            continue
        tokens = _HTML_SPACE.split(rel.translate(_ASCII_UPPER))
        if WEBMENTION_RELS.isdisjoint(tokens) or node.mem_id in hidden or _in_foreign_content(node):
            continue
        url, reason = resolve(href, base, encoding)
        if not reason:
            return url
    return None


def _webmention(resp: _Response) -> str | None:
    found = resp.link_endpoint()
    if found is not None:
        return found
    if not resp.is_html():
        return None
    return _html_endpoint(resp.parsed(), resp.final_url)


def webmention_endpoint(
    headers: Iterable[tuple[str, str]] | Any,
    body: bytes | str | None,
    final_url: str,
    *,
    content_type: str = "",
    charset: str | None = None,
) -> str | None:
    """The Webmention endpoint a fetched target advertises, or None (see the module docstring).

    ``headers`` are the response's header fields as ``(name, value)`` pairs (every field, in
    order; an ``httpx.Headers`` also works); ``body`` its body (bytes, or text already decoded);
    ``final_url`` the URL the fetch ended on after redirects. ``content_type`` is the
    Content-Type header value (taken from ``headers`` when not given); ``charset`` overrides its
    charset parameter. Returns the endpoint in stored form — absolute http(s), fragment dropped,
    query kept. The caller still applies its SSRF guard before posting to it. Never raises on
    the response, however broken.

    >>> webmention_endpoint([("LinK", "<22/webmention>; rel=webmention")], b"", "https://x.test/test/22")
    'https://x.test/test/22/webmention'
    """
    return _webmention(_Response(headers, body, final_url, content_type, charset))


@dataclass(frozen=True)
class Endpoints:
    """Every linkback endpoint one target advertises (None where it advertises none)."""

    webmention: str | None = None
    pingback: str | None = None
    trackback: str | None = None

    @property
    def preferred(self) -> tuple[str, str] | None:
        """``(protocol, url)`` of the one to use — webmention, else pingback, else trackback —
        or None when the target takes no linkbacks."""
        for name in ("webmention", "pingback", "trackback"):
            url = getattr(self, name)
            if url:
                return name, url
        return None


def sender_endpoints(
    headers: Iterable[tuple[str, str]] | Any,
    body: bytes | str | None,
    final_url: str,
    *,
    content_type: str = "",
    charset: str | None = None,
) -> Endpoints:
    """Webmention, Pingback and TrackBack discovery on one fetched target, parsing it once.

    * ``webmention``: :func:`webmention_endpoint`.
    * ``pingback``: :func:`linkback.protocols._pingback.discover_endpoint` (``X-Pingback``,
      else the spec's ``<link rel="pingback">`` regex on an HTML body), then resolved against
      ``final_url`` to the stored form; None unless it gives an http(s) URL.
    * ``trackback``: :func:`linkback.protocols._trackback.discover_ping_url` on an HTML body,
      for the RDF block describing ``final_url``.

    Arguments as for :func:`webmention_endpoint`.
    """
    return _endpoints(_Response(headers, body, final_url, content_type, charset))


def page_endpoints(parsed: ParsedPage) -> Endpoints:
    """:func:`sender_endpoints` on a fetched target already decoded and parsed, the one
    :class:`~linkback.extract.ParsedPage` every reader of the page shares (build it with
    :data:`DISCOVERY_LIMITS` when discovery is its only reader): headers, body, final URL and
    charset are the page's."""
    page = parsed.page
    return _endpoints(_Response(page.headers, page.body, parsed.url, parsed.content_type_header, parsed.charset, parsed))


def _endpoints(resp: _Response) -> Endpoints:
    webmention = _webmention(resp)
    html = resp.is_html()
    pingback = None
    # The spec's client regex, on the bytes: not a parse.
    found = _pingback_endpoint(resp.headers, resp.body[:MAX_PARSE_BYTES] if html else b"")
    if found:
        url, reason = resolve(found.strip(), resp.final_url)
        pingback = None if reason else url
    trackback = None
    if html:
        trackback = _trackback_ping_url(resp.parsed().text, resp.final_url)
    return Endpoints(webmention, pingback, trackback)
