"""Page-level robots directives and the meta refresh URL.

* ``<meta name=robots|googlebot content=...>``: comma- or space-separated tokens; ``noindex``,
  ``nofollow``, and ``none`` (both) count, case-insensitive.
* ``X-Robots-Tag`` (every such header): the same tokens, optionally scoped by a user agent
  (``googlebot: noindex``). A scope holds until the next one; directives scoped to a user agent
  other than ``googlebot``, ``linkback`` or ``*`` are ignored, as Google ignores ``bingbot:`` ones.
  ``unavailable_after:``/``max-snippet:``-style directives are not user agents.
* Meta refresh: WHATWG "shared declarative refresh steps" — a number, then ``;`` or ``,``, then an
  optional ``url=``, then the URL (quotes stripped). ``content="5"`` refreshes the page itself and
  gives no link.
"""

from __future__ import annotations

import re

_VALUED = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_OUR_AGENTS = frozenset({"googlebot", "linkback", "*"})
_REFRESH = re.compile(r"[\t\n\f\r ]*[0-9.]+[\t\n\f\r ]*[;,]?[\t\n\f\r ]*(?:url[\t\n\f\r ]*=[\t\n\f\r ]*)?", re.I)


def tokens(content: str) -> tuple[bool, bool]:
    """(noindex, nofollow) from a robots meta ``content`` or a directive list."""
    words = content.lower().replace(",", " ").split()
    none = "none" in words
    return none or "noindex" in words, none or "nofollow" in words


def header(values: list[str]) -> tuple[bool, bool]:
    """(noindex, nofollow) from the values of every ``X-Robots-Tag`` header."""
    noindex = nofollow = False
    for value in values:
        applies = True
        for part in value.split(","):
            name, colon, rest = part.partition(":")
            key = name.strip().lower()
            if colon and key not in _VALUED and " " not in key:
                applies = key in _OUR_AGENTS
                part = rest
            if applies:
                ni, nf = tokens(part)
                noindex |= ni
                nofollow |= nf
    return noindex, nofollow


def refresh_url(content: str) -> str | None:
    """The URL a meta refresh ``content`` points to, or None when it names none."""
    m = _REFRESH.match(content)
    if m is None:
        return None
    rest = content[m.end() :]
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        end = rest.find(quote, 1)
        rest = rest[1:] if end < 0 else rest[1:end]
    rest = rest.strip()
    return rest or None
