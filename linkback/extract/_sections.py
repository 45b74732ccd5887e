"""Where on a page a link sits (its section) and the text around it (its context).

**Section.** The nearest ancestor that says something decides; a link with no such ancestor is
``content``. For each ancestor, in this order:

1. ``role``: navigation → nav, banner → header, contentinfo → footer, complementary → aside,
   comment → comment, main → content;
2. ``id`` and ``class`` together (not on ``<body>``/``<html>``, whose classes describe the whole
   page) containing ``comment`` (WordPress ``#comments``, ``.comment-body``, ``.comments-area``,
   ``<footer class=comment-meta>``, microformats ``p-comment``, ...), ``disqus`` or the id
   ``respond`` (WordPress's comment form) → comment, except the page-state classes
   ``comments-open``/``comments-closed``/``no-comments``;
3. the element: ``<nav>``/``<menu>`` → nav, ``<header>`` → header, ``<footer>`` → footer,
   ``<aside>`` → aside, ``<main>``/``<body>``/``<html>`` → content (the walk stops there);
4. ``id`` and ``class`` as whole words (split on anything not a letter or digit): sidebar/aside → aside;
   nav/navbar/navigation/menu/menubar/breadcrumb(s) → nav; footer → footer; header/masthead → header.

Nearest wins, so a plain ``<footer>`` inside a comment is footer. The walk is bounded (:attr:`ExtractLimits.max_ancestors` elements up; beyond that the link is
``content``) and memoised per element, so links that share ancestors cost one step each.

**Context.** The whitespace-normalised text of the link's parent element, skipping up to three
inline parents (``<p>See <em><a>x</a></em> there</p>`` gives the ``p``), cut to a window of ``max_context_chars`` centred on the first
occurrence of the anchor text. Each block's text is computed once per page, and a page spends at
most a fixed multiple of its own size on it: past that budget links get no context.
"""

from __future__ import annotations

import re

_ROLE = {
    "navigation": "nav",
    "banner": "header",
    "contentinfo": "footer",
    "complementary": "aside",
    "comment": "comment",
    "main": "content",
}
_TAG = {
    "nav": "nav",
    "menu": "nav",
    "header": "header",
    "footer": "footer",
    "aside": "aside",
    "main": "content",
    "body": "content",
    "html": "content",
}
_WORDS = {
    "sidebar": "aside",
    "aside": "aside",
    "nav": "nav",
    "navbar": "nav",
    "navigation": "nav",
    "menu": "nav",
    "menubar": "nav",
    "breadcrumb": "nav",
    "breadcrumbs": "nav",
    "footer": "footer",
    "header": "header",
    "masthead": "header",
}
_PAGE = frozenset({"body", "html"})
_NOT_COMMENT = re.compile(r"comments-open|comments-closed|no-comments")
_WORD = re.compile(r"(?<![a-z0-9])(" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")(?![a-z0-9])")

#: Inline elements a link's context block is looked for above (up to three of them).
INLINE = frozenset(
    "a abbr b bdi bdo cite code data dfn em font i kbd mark q s samp small span strong sub sup time u var".split()
)


def classify(tag: str, attrs: dict[str, str | None]) -> str | None:
    """The section one element declares, or None when it declares none (see module docstring).

    >>> classify("div", {"class": "widget-area sidebar-left"}), classify("div", {"id": "comments"})
    ('aside', 'comment')
    """
    if not attrs:
        return _TAG.get(tag)
    role = attrs.get("role")
    if role:
        for token in role.lower().split():
            sec = _ROLE.get(token)
            if sec is not None:
                return sec
    ident = attrs.get("id")
    cls = attrs.get("class")
    names = f"{ident or ''} {cls or ''}".lower() if (ident or cls) and tag not in _PAGE else ""
    if names and (
        ("comment" in names and not _NOT_COMMENT.search(names)) or "disqus" in names or names.startswith("respond ")
    ):
        return "comment"
    sec = _TAG.get(tag)
    if sec is not None or not names:
        return sec
    m = _WORD.search(names)
    return None if m is None else _WORDS[m.group(1)]


#: classify() per (tag, role, id, class), the only things it reads: pages repeat the same
#: container markup (``<li class="menu-item">``, ``<div class="post">``) over and over, and the
#: attribute dict is cheap next to the string work. None is stored as "" (no section is "").
_CLASSIFIED: dict[tuple[str, str | None, str | None, str | None], str] = {}
_CLASSIFIED_MAX = 1 << 13


def classify_cached(tag: str, attrs: dict[str, str | None]) -> str | None:
    """:func:`classify`, memoised on what it reads (same answers, fewer string operations)."""
    if not attrs:
        return _TAG.get(tag)
    key = (tag, attrs.get("role"), attrs.get("id"), attrs.get("class"))
    sec = _CLASSIFIED.get(key)
    if sec is None:
        if len(_CLASSIFIED) >= _CLASSIFIED_MAX:
            _CLASSIFIED.clear()  # bounded memory in long-running workers; refills from the pages at hand
        sec = _CLASSIFIED[key] = classify(tag, attrs) or ""
    return sec or None


def window(text: str, anchor: str, size: int) -> str:
    """At most ``size`` characters of ``text`` centred on the first ``anchor`` in it."""
    if len(text) <= size:
        return text
    pos = text.find(anchor) if anchor else -1
    if pos < 0:
        head = text[:size]
        if text[size] != " " and " " in head:
            head = head[: head.rfind(" ")]  # drop a word cut at the end
        return head.rstrip()
    extra = size - len(anchor)
    if extra <= 0:
        return anchor[:size]
    half = extra // 2
    n = len(text)
    # the window [start, end) of ``size`` characters, clamped to the text (conditionals rather
    # than max()/min(): this runs for most links of a page)
    start = pos - half if pos > half else 0
    end = start + size
    if end > n:
        end = n
        start = n - size if n > size else 0
    out = text[start:end]
    if start > 0 and text[start - 1] != " " and " " in out[:half]:
        out = out[out.index(" ") + 1 :]  # drop a word cut at the start
    if end < n and text[end] != " ":
        cut = out.rfind(" ")
        if cut >= len(out) - half:
            out = out[:cut]  # and one cut at the end
    return out.strip()
