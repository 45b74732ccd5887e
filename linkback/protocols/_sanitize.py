"""Making third-party markup safe to show: a mention's content, URLs and plain text.

Everything a mention carries comes from a page someone else controls, and receivers that render
it have shipped XSS again and again (spec §6.1, "Consumers keep shipping XSS"; §9 receiver 8).
So what leaves this module is safe by construction, not by the caller's care:

* :func:`sanitize_html` keeps a small allow-list of inline and block tags (no headings, tables,
  forms, media players or frames), ``a[href]`` only for http, https and mailto, ``img[src]`` only
  for http and https, never ``style``/``class``/``id``/``on*``. Every link gets
  ``rel="nofollow ugc noopener"``: ``ugc`` because it is user-generated content in the sense
  of Google's link attributes, ``nofollow`` so a mention cannot buy rank. Relative URLs are
  resolved against the source page; with no base they are dropped.
* :func:`safe_url` is the one gate for every URL field (author url and photo, entry url, photos).
* :func:`plain_text` turns markup into one line of text for summaries and excerpts.
* :func:`limit_nesting` keeps a page's tree no deeper than a browser would build it, because
  every HTML parser we use (Lexbor, html5lib) spends time quadratic in the nesting depth: 20,000
  unclosed ``<div>`` (100 KB) cost Lexbor 1.3 s and mf2py with html5lib 100 s.

Plain-text results still need HTML-escaping when rendered; the sanitiser guarantees only that
they hold no markup of their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

import ada_url
import nh3
from selectolax.lexbor import LexborHTMLParser

from linkback.urls import MAX_URL_LENGTH

__all__ = [
    "ALLOWED_TAGS",
    "LINK_REL",
    "MAX_DEPTH",
    "limit_nesting",
    "plain_text",
    "safe_url",
    "sanitize_html",
    "strip_markup",
    "truncate",
]

#: Tags kept in sanitised content; others are unwrapped (their text stays).
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "cite",
        "code",
        "dd",
        "del",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
        "ul",
    }
)
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "time": {"datetime"},
    "ol": {"start"},
}
# Their content is code or a foreign document, never text a reader should see.
_DROP_WITH_CONTENT = {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math", "head"}
#: The rel every sanitised link carries.
LINK_REL = "nofollow ugc noopener"
# An <img> pointing at a remote host tells it who reads the page; these at least hold back the
# referrer and defer loading.
_IMG_EXTRA = {"img": {"referrerpolicy": "no-referrer", "loading": "lazy"}}

_C0_SPACE = "".join(map(chr, range(0x21)))
_HTTP = ("http://", "https://")
_BLOCK_TAG = re.compile(
    r"<(/?)(p|div|br|hr|li|dd|dt|h[1-6]|tr|td|th|blockquote|pre|ul|ol|dl|section|article|header|footer|"
    r"aside|nav|main|figure|figcaption|table|caption|address|details|summary)\b",
    re.I,
)
# What an HTML parser takes for a tag, a comment or a declaration: "<" then a letter, "/", "!"
# or "?". A complete one is removed; a "<" left open is split from what follows, because an
# open tag would swallow the markup of whatever template it is pasted into.
_TAG_LIKE = re.compile(r"<[A-Za-z!?/][^<>]*>")
_TAG_OPEN = re.compile(r"<(?=[A-Za-z!?/])")
_IMG_NO_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ufeff]")


def usv(text: str) -> str:
    """``text`` with lone surrogates (which no encoder accepts) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def safe_url(url: str, *, base_url: str = "") -> str:
    """``url`` as an absolute http(s) URL (resolved against ``base_url``), or ``""``.

    Anything else — ``javascript:``, ``data:``, ``vbscript:``, a relative URL with no base, an
    unparsable or over-long one — gives ``""``. The result is the WHATWG href, fragment kept.

    >>> safe_url("/me#card", base_url="https://example.com/post"), safe_url(" javascript:alert(1)")
    ('https://example.com/me#card', '')
    """
    if not isinstance(url, str):
        return ""
    text = url.strip(_C0_SPACE)
    if not text or len(text) > MAX_URL_LENGTH:
        return ""
    try:
        href = ada_url.join_url(base_url, text) if base_url else ada_url.URL(text).href
    except (ValueError, TypeError):
        return ""
    if not href.startswith(_HTTP) or len(href) > MAX_URL_LENGTH:
        return ""
    return href


def _keep_attr(tag: str, attr: str, value: str) -> str | None:
    # Runs after nh3's scheme check on absolute URLs, so only images need narrowing (no mailto:).
    if tag == "img" and attr == "src":
        scheme = value.strip(_C0_SPACE)[:8].lower()
        if ":" in scheme and not scheme.startswith(_HTTP):
            return None
    return value


def sanitize_html(html: str, *, base_url: str = "") -> str:
    """Third-party HTML reduced to a safe subset (see the module docstring).

    >>> sanitize_html('<p onclick="x()">Hi <a href="/a">there</a><script>evil()</script></p>',
    ...               base_url="https://example.com/")
    '<p>Hi <a href="https://example.com/a" rel="nofollow ugc noopener">there</a></p>'
    """
    if not html:
        return ""
    html = usv(html)
    if base_url and safe_url(base_url):

        def relative(url: str) -> str | None:
            return safe_url(url, base_url=base_url) or None

        url_relative: Callable[[str], str | None] | Literal["deny"] = relative
    else:
        url_relative = "deny"
    out = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_attr,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        set_tag_attribute_values=_IMG_EXTRA,
        url_relative=url_relative,
        strip_comments=True,
    )
    if "<img" in out:
        out = _IMG_NO_SRC.sub("", out)  # an image whose source was refused shows nothing
    return out.strip()


def strip_markup(text: str) -> str:
    """Text with control characters and anything tag-like removed, whitespace collapsed.

    For values that are text already (an mf2 ``name``): a payload such as ``"><svg onload=x>``
    written as text in the source stays inert even where a careless template forgets to escape.
    """
    if not text:
        return ""
    text = _CONTROL.sub("", usv(text))
    if "<" in text:
        text = _TAG_OPEN.sub("< ", _TAG_LIKE.sub("", text))
    return " ".join(text.split())


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, ending in "…" when cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def plain_text(html: str, limit: int = 500) -> str:
    """The visible text of an HTML fragment on one line, at most ``limit`` characters.

    Block boundaries become spaces, scripts and styles are dropped, entities decoded; a cut
    text ends in "…" at a word boundary.

    >>> plain_text("<p>One&amp;two</p><p>three <em>four</em></p><script>x()</script>")
    'One&two three four'
    """
    if not html:
        return ""
    html = usv(html)
    if "<" not in html and "&" not in html:
        return truncate(" ".join(_CONTROL.sub("", html).split()), limit)
    tree = LexborHTMLParser(_BLOCK_TAG.sub(r" <\1\2", html), is_fragment=True)
    tree.strip_tags(["script", "style", "template", "noscript", "head", "title"], recursive=True)
    root = tree.root
    text = root.text() if root is not None else ""
    return truncate(" ".join(_CONTROL.sub("", text).split()), limit)


# --- nesting ---------------------------------------------------------------------------------

#: Deepest tree kept: Chromium's ``kMaximumHTMLParserDOMTreeDepth``, past which Blink too stops
#: nesting elements (it makes them siblings instead).
MAX_DEPTH = 512

# One token: a comment, a raw-text element with its content (never markup), or a tag.
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    # [^<>] and not [^>]: a tag that never closes must not make every later "<" rescan the page.
    r"|<(script|style|textarea|title|xmp|noembed|noframes|plaintext)\b[^<>]*>.*?(?:</\1\s*>|\Z)"
    r"|<(/?)([A-Za-z][^\s/<>]*)[^<>]*>",
    re.S | re.I,
)
_VOID = frozenset(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param source track wbr".split()
)
# Elements whose start closes an open one of these (their end tags are optional), so that a page
# of unclosed <p>, <li> or <td> is not taken for a deep one.
_CLOSED_BY = {
    "p": frozenset({"p"}),
    "li": frozenset({"li", "p"}),
    "dt": frozenset({"dt", "dd", "p"}),
    "dd": frozenset({"dt", "dd", "p"}),
    "option": frozenset({"option"}),
    "optgroup": frozenset({"option", "optgroup"}),
    "tr": frozenset({"tr", "td", "th"}),
    "td": frozenset({"td", "th"}),
    "th": frozenset({"td", "th"}),
    "thead": frozenset({"thead", "tbody", "tfoot", "tr", "td", "th"}),
    "tbody": frozenset({"thead", "tbody", "tfoot", "tr", "td", "th"}),
    "tfoot": frozenset({"thead", "tbody", "tfoot", "tr", "td", "th"}),
}
_CLOSES_P = frozenset(
    "address article aside blockquote details div dl fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hgroup hr main menu nav ol pre section table ul".split()
)
# Kept however deep: "a" cannot nest (a new one closes the last), the void ones cannot at all.
_KEEP = frozenset({"a"}) | _VOID
# How far down the stack an end tag looks for its element; a stray end tag costs no more.
_END_TAG_REACH = 64


def limit_nesting(html: str, max_depth: int = MAX_DEPTH) -> str:
    """``html`` unchanged, or, when its elements nest deeper than ``max_depth``, with the tags
    beyond that depth removed (their text stays; ``a`` and void elements such as ``img`` stay
    too, so links survive).

    The depth is estimated in one linear pass that knows void elements, raw-text elements,
    comments and the common optional end tags; a page with at most ``max_depth`` tags is
    returned at once.
    """
    if html.count("<") <= max_depth:
        return html
    stack: list[str] = []
    dropped: dict[str, int] = {}
    cuts: list[tuple[int, int]] = []
    for m in _TOKEN.finditer(html):
        name = m.group(3)
        if name is None:
            continue  # comment or raw-text element: no nesting inside
        name = name.lower()
        if m.group(2):
            if dropped.get(name):
                dropped[name] -= 1
                cuts.append(m.span())
                continue
            low = max(0, len(stack) - _END_TAG_REACH)
            for i in range(len(stack) - 1, low - 1, -1):
                if stack[i] == name:
                    del stack[i:]
                    break
            continue
        if name in _VOID:
            continue
        closers = _CLOSED_BY.get(name)
        if closers is not None:
            while stack and stack[-1] in closers:
                stack.pop()
        elif name in _CLOSES_P and stack and stack[-1] == "p":
            stack.pop()
        if len(stack) >= max_depth and name not in _KEEP:
            dropped[name] = dropped.get(name, 0) + 1
            cuts.append(m.span())
            continue
        if name != "a" or not stack or stack[-1] != "a":
            stack.append(name)
    if not cuts:
        return html
    parts: list[str] = []
    at = 0
    for start, end in cuts:
        parts.append(html[at:start])
        at = end
    parts.append(html[at:])
    return "".join(parts)
