"""Does a fetched source link to the target? Webmention verification [WM §3.2.2, WM-IR].

The fetch is the caller's; :func:`find_link` only reads the body it got, by media type:

* **HTML** (``text/html``, ``application/xhtml+xml``; an empty type whose body starts with
  ``<``): the target must be the URL of a real element in the parsed tree — ``a[href]``,
  ``area[href]``, ``img[src]``, ``video[src]``, ``video[poster]``, ``audio[src]``,
  ``source[src]`` or ``iframe[src]``. Both sides are compared in the stored form of
  :mod:`linkback.urls` (hrefs resolved against ``<base href>`` or the source URL, in the
  page's encoding; fragments dropped on both sides, so ``target#frag`` matches and so does a link
  to ``target#comments``). Scheme, host case and default port are normalised away; ``http`` vs
  ``https`` and a trailing slash are not, as webmention.io decided (WMIO#4): they are different
  resources. A URL in the text, in an HTML comment, in escaped markup or in a ``<script>`` is
  no link, because none of them is an element.

  ``video[poster]`` and ``iframe[src]`` count because they embed the target exactly as
  ``img[src]`` does, which is what the spec's "and other similar links" covers. ``link[href]``
  (head metadata), ``srcset`` (candidate lists), ``form[action]`` and ``blockquote[cite]`` do
  not: none shows a reader a link.
* **JSON** (``application/json``, ``application/*+json``, ``text/json``): some string value
  anywhere in the tree (object values and array items, not keys) equals the target, exactly or
  once both are normalised. A longer string that merely contains it does not.
* **Plain text** (``text/plain``): the target (as given, or normalised) is a substring.
* Anything else is ``unsupported_type``; an empty body is ``empty``.

An HTML body is read exactly as the extractor reads it, from the same
:class:`~linkback.extract.ParsedPage` when the caller has one (:func:`find_link_in`): a BOM, else
the ``charset`` argument, else the Content-Type's ``charset``, else the ``<meta charset>``
prescan, else UTF-8 when valid, else detection (:mod:`linkback.extract._charset`). So the anchor,
the title and a link's query (percent-encoded in the page's encoding) are what the index stores
for the same page. The tree is the extractor's too (``ParsedPage.scripted``); what sits inside
``<noscript>`` is left out, as a browser running scripts shows it as text. JSON and plain text
are decoded by a BOM, the ``charset`` argument, the Content-Type's ``charset``, else UTF-8 with
replacement characters.

The first match also reports where it sits, for spam scoring and the pingback excerpt.

A page nested deeply enough to make parsing quadratic (``ParsedPage.deep``, a hostile page) is
read from its own parse of the same text, with the tags deeper than a browser would build them
(512 elements, Chromium's limit) removed (:func:`~._sanitize.limit_nesting`; links and images
stay), so its structure, and the excerpt, survive.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from selectolax.lexbor import LexborHTMLParser

from linkback.extract import ExtractLimits, ParsedPage, _charset, noscript_ids
from linkback.extract._sections import INLINE, classify
from linkback.protocols._sanitize import limit_nesting
from linkback.records import FetchedPage
from linkback.urls import normalize, resolve

__all__ = ["LinkCheck", "decode_body", "find_link", "find_link_in", "normalize_target"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_JSON_TYPES = frozenset({"application/json", "text/json"})
_TEXT_TYPES = frozenset({"text/plain"})

#: Elements whose URL attribute is a link to the target, and which attribute.
_LINK_ATTRS = {
    "a": ("href",),
    "area": ("href",),
    "img": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src",),
    "iframe": ("src",),
}
_SELECT = (
    "a[href],area[href],img[src],video[src],video[poster],audio[src],source[src],iframe[src],"
    "base[href],title,meta[http-equiv]"
)
_MAX_ANCESTORS = 64
_MAX_ANCHOR = 200
_EXCERPT_SIDE = 100
# Sentinels put around the matched element to find it in its block's text: private-use
# characters in an order no page has a reason to contain.
_MARK_START = "\ue000\ue001\ue000"
_MARK_END = "\ue001\ue000\ue001"
_COMMENT = re.compile(r"<!--(.*?)(?:-->|\Z)", re.S)
#: A body handed over as bytes or text is read whole, as it always was (fetches are bounded).
_WHOLE = ExtractLimits(max_parse_bytes=sys.maxsize)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LinkCheck:
    """What :func:`find_link` found.

    ``reason`` is ``""`` when found, else ``no_link_found``, ``only_in_comment`` (the target
    appears only inside an HTML comment), ``unsupported_type`` or ``empty``. ``element`` names
    what matched (``a``, ``area``, ``img``, ``video``, ``audio``, ``source``, ``iframe``,
    ``json`` or ``text``). ``position`` is where the first match sits, 0 at the start of the
    document and 1 at its end (by element order in HTML, string order in JSON, characters in
    text). ``section`` is the :mod:`linkback.extract._sections` section of the first match.
    ``meta_gone`` is set for ``<meta http-equiv="Status" content="410 Gone">``, which
    webmention.rocks treats as a deletion whatever the link check says.
    """

    found: bool
    reason: str = ""
    element: str = ""
    count: int = 0
    position: float = 0.0
    section: str = ""
    anchor: str = ""
    excerpt: str = ""
    title: str = ""
    meta_gone: bool = False


def normalize_target(target_url: str) -> str:
    """The stored form verification compares against (fragment dropped). Raises URLError."""
    return normalize(target_url)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _kind(mime: str, body: bytes | str) -> str:
    if mime in _HTML_TYPES:
        return "html"
    if mime in _JSON_TYPES or (mime.startswith("application/") and mime.endswith("+json")):
        return "json"
    if mime in _TEXT_TYPES:
        return "text"
    if not mime:
        head = body[:512]
        if isinstance(head, bytes):
            head = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0c")[:1]
            return "html" if head == b"<" else ""
        return "html" if head.lstrip("\ufeff \t\r\n\x0c")[:1] == "<" else ""
    return ""


def _decode(body: bytes, content_type: str, charset: str | None) -> str:
    """The text of a JSON or plain-text body; see the module docstring for the order."""
    return _charset.decode(body, content_type, charset=charset, meta=False, fallback=_utf8)[0]


def _utf8(body: bytes) -> str:
    return "utf-8"


def _as_page(body: bytes | str, content_type: str, source_url: str, charset: str | None) -> ParsedPage:
    """An HTML body handed over on its own, as the page the extractor would read."""
    if isinstance(body, str):
        return ParsedPage.from_text(body, source_url, content_type or "text/html", limits=_WHOLE)
    headers = (("Content-Type", content_type),) if content_type else ()
    page = FetchedPage(url=source_url, status=200, headers=headers, body=body, fetched_at=_EPOCH)
    return ParsedPage(page, limits=_WHOLE, charset=charset)


def decode_body(body: bytes | str, content_type: str, *, charset: str | None = None) -> str:
    """The text :func:`find_link` reads from ``body``: hand it to :func:`~._mf2.interpret` so
    that both see the same characters (a Latin-1 page declared only by ``<meta charset>``
    included). For HTML this is the extractor's decoding (``ParsedPage.text``); a caller that
    has the :class:`~linkback.extract.ParsedPage` passes that instead."""
    if isinstance(body, str):
        return body
    if not body:
        return ""
    kind = _kind(_media_type(content_type), body) or "html"
    if kind == "html":
        return _as_page(body, content_type, "", charset).text
    return _decode(body, content_type, charset)


def find_link(
    body: bytes | str,
    content_type: str,
    source_url: str,
    target_url: str,
    *,
    charset: str | None = None,
) -> LinkCheck:
    """Check that ``body`` (fetched from ``source_url``) links to ``target_url``.

    ``content_type`` is the response's Content-Type header (parameters allowed); ``charset``
    overrides its charset parameter. ``target_url`` must be an absolute http(s) URL: an invalid
    one raises :class:`~linkback.errors.URLError` (the receiver refuses those before fetching).
    Never raises on the body, however broken. A caller that also extracts or interprets the page
    calls :func:`find_link_in` with the page parsed once instead.
    """
    target = normalize(target_url)
    if not body:
        return LinkCheck(False, "empty")
    kind = _kind(_media_type(content_type), body)
    if kind == "html":
        return _check_html(_as_page(body, content_type, source_url, charset), source_url, target_url, target)
    return _check_other(kind, body, content_type, charset, target_url, target)


def find_link_in(parsed: ParsedPage, target_url: str) -> LinkCheck:
    """:func:`find_link` on a fetched page already decoded and parsed (shared with
    :func:`linkback.extract.extract` and the microformats reader): the source URL is the page's
    final URL, the media type its Content-Type header, the charset ``parsed.charset``."""
    target = normalize(target_url)
    body = parsed.page.body
    if not body:
        return LinkCheck(False, "empty")
    content_type = parsed.content_type_header
    kind = _kind(_media_type(content_type), body)
    if kind == "html":
        return _check_html(parsed, parsed.url, target_url, target)
    return _check_other(kind, body, content_type, parsed.charset, target_url, target)


def _check_other(
    kind: str, body: bytes | str, content_type: str, charset: str | None, target_url: str, target: str
) -> LinkCheck:
    if not kind:
        return LinkCheck(False, "unsupported_type")
    text = body if isinstance(body, str) else _decode(body, content_type, charset)
    if not text.strip():
        return LinkCheck(False, "empty")
    if kind == "json":
        return _check_json(text, target_url, target)
    return _check_text(text, target_url, target)


# --- HTML ---------------------------------------------------------------------------------


def _section(node) -> str:  # noqa: ANN001
    p = node.parent
    steps = 0
    while p is not None and steps < _MAX_ANCESTORS:
        tag = p.tag
        if tag is None or tag.startswith("-") or tag == "#document":
            break
        sec = classify(tag, p.attributes)
        if sec is not None:
            return sec
        p = p.parent
        steps += 1
    return "content"


def _anchor(node, tag: str) -> str:  # noqa: ANN001
    if tag == "a":
        text = _norm(node.text())
        if not text:
            for img in node.css("img[alt]"):
                text = _norm(img.attributes.get("alt") or "")
                if text:
                    break
    elif tag in ("img", "area"):
        text = _norm(node.attributes.get("alt") or "")
    else:
        text = _norm(node.attributes.get("title") or "")
    return text[:_MAX_ANCHOR]


def _outer_link(node):  # noqa: ANN001, ANN202
    """The ``a`` an image sits in, so the excerpt shows the link rather than half of it."""
    p = node.parent
    for _ in range(4):
        if p is None:
            break
        if p.tag == "a":
            return p
        p = p.parent
    return node


def _excerpt(node, anchor: str) -> str:  # noqa: ANN001
    """≈100 characters either side of ``node`` within its block (WordPress pingback style)."""
    node = _outer_link(node)
    block = node.parent
    for _ in range(4):
        if block is None or block.tag not in INLINE:
            break
        block = block.parent
    if block is None:
        return anchor
    node.insert_before(_MARK_START)
    node.insert_after(_MARK_END)
    raw = block.text()
    # The tree is shared with the extractor: take the marks out again.
    for mark in (node.prev, node.next):
        if mark is not None and mark.tag == "-text":
            mark.decompose()
    start = raw.find(_MARK_START)
    end = raw.find(_MARK_END, start + len(_MARK_START))
    if start < 0 or end < 0:
        return anchor
    raw_before = raw[:start].replace(_MARK_END, "").replace(_MARK_START, "")
    raw_after = raw[end + len(_MARK_END) :].replace(_MARK_END, "").replace(_MARK_START, "")
    before = _norm(raw_before)
    middle = _norm(raw[start + len(_MARK_START) : end])[:_MAX_ANCHOR] or anchor
    after = _norm(raw_after)
    if len(before) > _EXCERPT_SIDE:
        before = before[-_EXCERPT_SIDE:]
        cut = before.find(" ")
        if 0 <= cut < _EXCERPT_SIDE // 2:
            before = before[cut + 1 :]  # drop a word cut at the start
    if len(after) > _EXCERPT_SIDE:
        after = after[:_EXCERPT_SIDE]
        cut = after.rfind(" ")
        if cut > _EXCERPT_SIDE // 2:
            after = after[:cut]
    # Keep the text's own spacing at the link's edges: "the post, which" not "the post , which".
    if before and (raw_before[-1:].isspace() or not middle):
        before += " "
    if after and (raw_after[:1].isspace() or not middle):
        after = " " + after
    return (before + middle + after).strip()


def _position(tree, node, hidden: bool) -> float:  # noqa: ANN001
    """Where ``node`` sits among the document's elements, 0..1 (those in ``<noscript>`` not
    counted when ``hidden``: to a browser running scripts they are text)."""
    mid = node.mem_id
    skip = noscript_ids(tree, "*") if hidden else frozenset()
    index = -1
    total = 0
    for el in tree.root.traverse():
        if skip and el.mem_id in skip:
            continue
        if index < 0 and el.mem_id == mid:
            index = total
        total += 1
    if index < 0 or total <= 1:
        return 0.0
    return round(index / (total - 1), 4)


def _in_comment(text: str, target_url: str, target: str) -> bool:
    if "<!--" not in text:
        return False
    forms = {target, target_url.split("#", 1)[0]}
    for m in _COMMENT.finditer(text):
        chunk = m.group(1)
        if any(f and f in chunk for f in forms):
            return True
    return False


def _check_html(parsed: ParsedPage, source_url: str, target_url: str, target: str) -> LinkCheck:
    text = parsed.text
    if not text.strip():
        return LinkCheck(False, "empty")
    encoding = parsed.encoding
    if parsed.deep:
        # Scripting on, as in the browsers that show the page: <noscript> content is then text.
        tree = LexborHTMLParser(limit_nesting(text), scripting=True)
        hidden: frozenset[int] = frozenset()
        skip_noscript = False
    else:
        tree, skip_noscript = parsed.scripted()
        hidden = noscript_ids(tree, _SELECT) if skip_noscript else frozenset()
    nodes = [node for node in tree.css(_SELECT) if node.mem_id not in hidden] if hidden else tree.css(_SELECT)
    base = source_url
    title = ""
    meta_gone = have_base = have_title = False
    for node in nodes:
        tag = node.tag
        if tag == "base" and not have_base:
            have_base = True
            got = resolve(node.attributes.get("href") or "", source_url, encoding)[0]
            if got:
                base = got
        elif tag == "title" and not have_title:
            have_title = True
            title = _norm(node.text())[:500]
        elif tag == "meta":
            attrs = node.attributes
            if (attrs.get("http-equiv") or "").strip().lower() == "status":
                meta_gone = meta_gone or (attrs.get("content") or "").strip().startswith("410")

    cache: dict[str, str] = {}
    first = None
    first_tag = ""
    count = 0
    for node in nodes:
        tag = node.tag or ""  # None only for nodes that are not elements, which have no links
        names = _LINK_ATTRS.get(tag)
        if names is None:
            continue
        attrs = node.attributes
        for name in names:
            value = attrs.get(name)
            if value is None:
                continue  # Lexbor's a[href] also matches SVG's xlink:href
            url = cache.get(value)
            if url is None:
                url = cache[value] = resolve(value, base, encoding)[0]
            if url == target:
                count += 1
                if first is None:
                    first, first_tag = node, tag
    if first is None:
        reason = "only_in_comment" if _in_comment(text, target_url, target) else "no_link_found"
        return LinkCheck(False, reason, title=title, meta_gone=meta_gone)
    anchor = _anchor(first, first_tag)
    section = _section(first)
    position = _position(tree, first, not parsed.deep and skip_noscript)
    excerpt = _excerpt(first, anchor)
    return LinkCheck(True, "", first_tag, count, position, section, anchor, excerpt, title, meta_gone)


# --- JSON and text --------------------------------------------------------------------------


def _same_url(value: str, target_url: str, target: str) -> bool:
    if value == target_url or value == target:
        return True
    text = value.strip()
    if not text[:5].lower().startswith("http"):
        return False
    got = resolve(text, "")[0]
    return got == target


def _check_json(text: str, target_url: str, target: str) -> LinkCheck:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return LinkCheck(False, "no_link_found")
    stack = [data]
    seen = 0
    first = -1
    count = 0
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _same_url(item, target_url, target):
                count += 1
                if first < 0:
                    first = seen
            seen += 1
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    if not count:
        return LinkCheck(False, "no_link_found")
    position = round(first / (seen - 1), 4) if seen > 1 else 0.0
    return LinkCheck(True, "", "json", count, position, "content")


def _check_text(text: str, target_url: str, target: str) -> LinkCheck:
    best = -1
    needle = ""
    for form in (target_url.split("#", 1)[0], target):
        at = text.find(form) if form else -1
        if at >= 0 and (best < 0 or at < best):
            best, needle = at, form
    if best < 0:
        return LinkCheck(False, "no_link_found")
    count = text.count(needle)
    position = round(best / max(1, len(text) - len(needle)), 4) if len(text) > len(needle) else 0.0
    before = _norm(text[max(0, best - _EXCERPT_SIDE) : best])
    after = _norm(text[best + len(needle) : best + len(needle) + _EXCERPT_SIDE])
    excerpt = " ".join(part for part in (before, needle, after) if part)
    return LinkCheck(True, "", "text", count, min(position, 1.0), "content", needle, excerpt)
