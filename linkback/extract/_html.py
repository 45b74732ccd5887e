"""The DOM walk over the page's one Lexbor tree (:class:`._parsed.ParsedPage`): one combined CSS
query, a few dictionary look-ups per link.

What becomes a link (kind):

* ``a[href]``, ``area[href]`` → text; an ``a`` whose text is empty but holds an ``img`` → image,
  with the image's alt as anchor. ``alt`` is the first non-empty alt of an ``img`` in the link
  (for ``area``, its own alt, which is also its anchor).
* ``link[rel~=canonical]`` → canonical (the first also sets ``PageFacts.canonical``);
  ``link[rel~=alternate]`` → alternate, or feed when ``type`` is RSS or Atom; ``alternate
  stylesheet`` is a stylesheet and is not a link.
* ``iframe[src]``, ``frame[src]`` → frame; ``form[action]`` → form. A form without ``action`` (or
  with an empty one) submits to the page itself, a self-link that says nothing: no link.
* ``<meta http-equiv=refresh>`` with a URL → redirect.

Anchors and contexts are the text a reader sees: the body's ``script`` and ``style`` elements
are removed from the tree first (they hold no link; see :mod:`._parsed` on the shared tree).

Everything resolves against the first ``<base href>`` (itself resolved against the page URL) or
the page URL, in the document's encoding. Hrefs that give no URL are counted by reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from selectolax.lexbor import LexborHTMLParser

from linkback.extract import _robots
from linkback.extract._sections import INLINE, classify_cached, window
from linkback.records import Link, rel_tokens
from linkback.urls import host_of, resolve, split_host

_SELECT = (
    "a[href],area[href],a[href] img,body script,body style,"
    "link[rel~=canonical i][href],link[rel~=alternate i][href],"
    "base[href],iframe[src],frame[src],form[action],title,"
    "meta[name=robots i],meta[name=googlebot i],meta[http-equiv=refresh i]"
)
#: Elements of the body whose text a reader of the page does not read as its content (menus, and
#: what a browser shows only without scripts): not removed here (their links are links), but
#: found by the same walk for the visible text's reader, when it asks (``hidden``).
_HIDDEN = frozenset({"nav", "noscript", "template"})
_SELECT_HIDDEN = _SELECT + ",body nav,body noscript,body template"
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})
#: Elements of the body whose text nobody reading the page sees (a browser renders none of it).
#: The walk removes them before it reads any text, so that no anchor or context holds a
#: ``<script type="text/template">`` of markup, an inline ``document.write(...)`` or an SVG's
#: CSS, as 158 of the links on the 1,169 real pages did.
_UNSEEN = frozenset({"script", "style"})
#: How far up the tree a link's context block is looked for.
_BLOCK_DEPTH = 6
#: Characters of block text a page may compute for contexts, as a multiple of its size.
_CONTEXT_BUDGET = 4


class Limits(NamedTuple):
    max_links: int
    max_anchor_chars: int
    max_context_chars: int
    max_title_chars: int
    max_ancestors: int


class HeadFacts(NamedTuple):
    title: str
    lang: str
    canonical: str
    noindex: bool
    nofollow: bool


def _norm(text: str) -> str:
    return " ".join(text.split())


#: What a page's href resolves to: (url, host, domain, rhost, internal), or ("", reason).
_Resolution = tuple[str, ...] | tuple[str, str, str, str, bool]
#: A link without rel: rel_tokens(None), without the call.
_NO_REL = rel_tokens(None)
#: Link is a NamedTuple; tuple.__new__ builds one without the Python frame of its generated __new__.
_new_tuple = tuple.__new__


class _Page:
    """Per-page state: resolution and section caches, the skip counter.

    This is the per-link hot path (~150 links a page): caches are keyed so that each distinct
    href is resolved, hosted and split once, and each ancestor is classified once."""

    __slots__ = (
        "base",
        "encoding",
        "domain",
        "resolved",
        "sections",
        "texts",
        "budget",
        "skipped",
        "nofollow",
        "links",
        "max_links",
        "max_ancestors",
        "max_context",
    )

    def __init__(self, base: str, encoding: str, domain: str, limits: Limits, size: int) -> None:
        self.base = base
        self.encoding = encoding
        self.domain = domain
        self.max_links = limits.max_links
        self.max_ancestors = limits.max_ancestors
        self.max_context = limits.max_context_chars
        self.resolved: dict[str, _Resolution] = {}
        self.sections: dict[int, str] = {}
        self.texts: dict[int, str] = {}
        self.budget = _CONTEXT_BUDGET * size + 65536
        self.skipped: Counter[str] = Counter()
        self.nofollow = False
        self.links: list[Link] = []

    def resolution(self, href: str) -> _Resolution:
        """What ``href`` resolves to on this page (see ``_Resolution``), not cached."""
        url, reason = resolve(href, self.base, self.encoding)
        if reason:
            return "", reason
        host = host_of(url)
        hp = split_host(host)
        return url, host, hp.domain, hp.rhost, hp.domain == self.domain

    def place(self, node, anchor: str, want_context: bool) -> tuple[str, str] | None:  # noqa: ANN001
        """(section, context) of a link element (see :mod:`._sections`); None for one that is no
        longer in the tree: it was inside a removed ``script`` or ``style`` (an SVG's, where an
        ``<a>`` is an element), which renders nothing."""
        sections = self.sections
        parent = p = node.parent
        if parent is None:
            return None
        path: list[int] = []
        sec = None
        steps = 0
        limit = self.max_ancestors
        while p is not None and steps < limit:
            mid = p.mem_id
            sec = sections.get(mid)
            if sec is not None:
                break
            sec = classify_cached(p.tag, p.attributes)
            if sec is not None:
                sections[mid] = sec
                break
            path.append(mid)
            p = p.parent
            steps += 1
        if sec is None:
            sec = "content"
        for mid in path:
            sections[mid] = sec
        if not want_context or parent is None:
            return sec, ""
        block = parent
        for _ in range(3):
            if block.tag not in INLINE:
                break
            up = block.parent
            if up is None:
                break
            block = up
        if block is parent and node.prev is None and node.next is None:
            return sec, anchor[: self.max_context]  # the link is all its parent holds
        bid = block.mem_id
        text = self.texts.get(bid)
        if text is None:
            if self.budget <= 0:
                return sec, ""
            raw = block.text()
            self.budget -= len(raw)
            text = self.texts[bid] = _norm(raw)
        return sec, window(text, anchor, self.max_context)

    def add(
        self,
        node,  # noqa: ANN001
        href: str,
        kind: str,
        anchor: str = "",
        alt: str = "",
        rel: str | None = None,
    ) -> str:
        """Resolve and append one link; returns its URL ("" when skipped)."""
        got = self.resolved.get(href)
        if got is None:
            got = self.resolved[href] = self.resolution(href)
        url = got[0]
        if not url:
            self.skipped[got[1]] += 1
            return ""
        links = self.links
        if len(links) >= self.max_links:
            self.skipped["too_many_links"] += 1
            return ""
        toks, nofollow, ugc, sponsored = _NO_REL if rel is None else rel_tokens(rel)
        if node is None:
            section, context = "content", ""
        else:
            placed = self.place(node, anchor, kind == "text" or kind == "image")
            if placed is None:
                return ""
            section, context = placed
        links.append(
            _new_tuple(
                Link,
                (
                    url,
                    got[1],
                    got[2],
                    got[3],
                    anchor,
                    alt,
                    toks,
                    nofollow or self.nofollow,
                    ugc,
                    sponsored,
                    kind,
                    section,
                    context,
                    got[4],
                ),
            )
        )
        return url


def extract_html(
    tree: LexborHTMLParser,
    size: int,
    doc_url: str,
    encoding: str,
    domain: str,
    limits: Limits,
    page_nofollow: bool,
    page_noindex: bool,
    hidden: list[Any] | None = None,
) -> tuple[HeadFacts, list[Link], Counter[str]]:
    """The head facts, the links and the skip counts of a parsed page (``size`` bytes of HTML);
    with ``hidden``, the body's ``nav``, ``noscript`` and ``template`` elements are added to it."""
    if hidden is None:
        nodes = tree.css(_SELECT)
    else:
        nodes = []
        for node in tree.css(_SELECT_HIDDEN):
            (hidden if node.tag in _HIDDEN else nodes).append(node)
    tags = [n.tag for n in nodes]

    base = doc_url
    title = ""
    refresh: list[str] = []
    noindex, nofollow = page_noindex, page_nofollow
    have_base = have_title = False
    for i, tag in enumerate(tags):
        if tag == "meta":
            attrs = nodes[i].attributes
            content = attrs.get("content") or ""
            if attrs.get("http-equiv") is not None:
                url = _robots.refresh_url(content)
                if url is not None:
                    refresh.append(url)
            else:
                ni, nf = _robots.tokens(content)
                noindex |= ni
                nofollow |= nf
        elif tag == "base" and not have_base:
            have_base = True
            got = resolve(nodes[i].attributes.get("href") or "", doc_url, encoding)
            if got[0]:
                base = got[0]
        elif tag == "title" and not have_title:
            have_title = True
            title = _norm(nodes[i].text())[: limits.max_title_chars]

    page = _Page(base, encoding, domain, limits, size)
    for i, tag in enumerate(tags):
        if tag in _UNSEEN:
            nodes[i].decompose()  # found by the one walk above: no walk of their own
    page.nofollow = nofollow
    max_anchor = limits.max_anchor_chars
    canonical = ""
    n = len(nodes)
    for i in range(n):
        tag = tags[i]
        if tag == "a" or tag == "area":
            node = nodes[i]
            attrs = node.attributes
            if "href" not in attrs:
                # Lexbor's a[href] also matches SVG's <a xlink:href>, which a browser's
                # document.links leaves out; its href is not the page's own URL.
                continue
            alt = ""
            if tag == "a":
                j = i + 1
                has_img = False
                while j < n and (tags[j] == "img" or tags[j] in _UNSEEN):
                    if tags[j] == "img":
                        has_img = True
                        if not alt:
                            alt = _norm(nodes[j].attributes.get("alt") or "")[:max_anchor]
                    j += 1
                anchor = " ".join(node.text().split())[:max_anchor]  # _norm, inlined: once per link
                kind = "image" if has_img and not anchor else "text"
                if kind == "image":
                    anchor = alt
            else:
                anchor = alt = _norm(attrs.get("alt") or "")[:max_anchor]
                kind = "text"
            page.add(node, attrs.get("href") or "", kind, anchor, alt, attrs.get("rel"))
        elif tag == "link":
            attrs = nodes[i].attributes
            toks = rel_tokens(attrs.get("rel"))[0]
            if "canonical" in toks:
                url = page.add(None, attrs.get("href") or "", "canonical", rel=attrs.get("rel"))
                if url and not canonical:
                    canonical = url
            elif "stylesheet" not in toks:
                mime = (attrs.get("type") or "").strip().lower()
                kind = "feed" if mime in _FEED_TYPES else "alternate"
                page.add(None, attrs.get("href") or "", kind, rel=attrs.get("rel"))
        elif tag == "iframe" or tag == "frame":
            node = nodes[i]
            page.add(node, node.attributes.get("src") or "", "frame")
        elif tag == "form":
            node = nodes[i]
            action = node.attributes.get("action") or ""
            if action.strip():
                page.add(node, action, "form")
    for url in refresh:
        page.add(None, url, "redirect")

    lang = ""
    root = tree.root
    if root is not None:
        lang = (root.attributes.get("lang") or "").strip().lower()
    return HeadFacts(title, lang, canonical, noindex, nofollow), page.links, page.skipped
