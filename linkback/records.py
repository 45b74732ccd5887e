"""The records that flow through linkback (DESIGN §1).

Every source yields :class:`FetchedPage`; :func:`linkback.extract.extract` turns one into
:class:`PageFacts` and a list of :class:`Link`. All three are frozen, slotted and picklable,
because extraction runs in process pools and Spark tasks as well as in-process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

#: Link kinds, exactly as the issue and the schema name them.
LINK_KINDS = ("text", "image", "redirect", "canonical", "alternate", "feed", "frame", "form")
#: Where on the page a link sits.
SECTIONS = ("content", "nav", "header", "footer", "aside", "comment")
#: How a page reached linkback.
VIAS = ("warc", "crawl", "webmention", "pingback", "trackback", "refback", "import")


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """One HTTP response, whatever source it came from.

    ``url`` is the requested URL (``WARC-Target-URI``), ``final_url`` the URL after redirects when
    the source followed them (a crawler); archives record each hop as its own response, so for
    them ``final_url == url``. ``headers`` are the HTTP response headers in wire order.
    ``fetched_at`` is timezone-aware UTC. ``source``/``offset`` say where the record was read,
    so an error about it can name the file and byte offset. ``truncated``: the body is known to
    be only part of what the server sent (cut at a size limit, or ``WARC-Truncated``), so the
    links it lacks may be in the part that is missing.
    """

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    final_url: str = ""
    via: str = "warc"
    record_id: str = ""
    source: str = ""
    offset: int = -1
    truncated: bool = False

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


@dataclass(frozen=True, slots=True)
class PageFacts:
    """What one observation says about its page.

    ``url`` is the stored (normalised) form of the page URL; ``host``, ``domain`` (registrable
    domain, Public Suffix List) and ``rhost`` (reversed host, ``com.example.www``) are derived
    from it once, here. ``noindex``/``nofollow`` come from ``<meta name=robots>`` and
    ``X-Robots-Tag``. ``skipped`` names why the body was not parsed as HTML ("" when it was);
    ``skipped_links`` counts the hrefs that gave no link, by reason (``non_http_scheme``, ...).
    ``truncated``: the links are known to be only some of the page's (its body was cut before it
    came here, or extraction stopped at a limit): a link missing from them is not lost.
    """

    url: str
    status: int
    fetched_at: datetime
    host: str
    domain: str
    rhost: str
    final_url: str = ""
    via: str = "warc"
    title: str = ""
    lang: str = ""
    canonical: str = ""
    noindex: bool = False
    nofollow: bool = False
    charset: str = ""
    content_type: str = ""
    n_internal: int = 0
    n_external: int = 0
    skipped: str = ""
    skipped_links: tuple[tuple[str, int], ...] = ()
    record_id: str = ""
    source: str = ""
    offset: int = -1
    truncated: bool = False


class Link(NamedTuple):
    """One link found on a page, resolved as a browser resolves it.

    ``<a href="/x" rel="nofollow ugc">Read <b>more</b></a>`` on ``https://example.com/post`` is
    ``Link(target_url="https://example.com/x", anchor="Read more", rel=("nofollow", "ugc"),
    nofollow=True, ugc=True, kind="text", ...)``. ``rel`` keeps the link's own rel tokens
    (lower-cased, de-duplicated, in order); ``nofollow`` is also true when the page as a whole is
    nofollow. For ``kind="image"`` the anchor is the image's alt text; ``alt`` always holds the alt
    of an image inside the link, if any. ``internal`` means same registrable domain as the page.

    A NamedTuple rather than a dataclass: pages carry ~150 links each and extraction builds
    hundreds of thousands a second, where a frozen dataclass costs 5x more to construct.
    """

    target_url: str
    target_host: str
    target_domain: str
    target_rhost: str
    anchor: str = ""
    alt: str = ""
    rel: tuple[str, ...] = ()
    nofollow: bool = False
    ugc: bool = False
    sponsored: bool = False
    kind: str = "text"
    section: str = "content"
    context: str = ""
    internal: bool = False


@lru_cache(maxsize=4096)
def rel_tokens(value: str | None) -> tuple[tuple[str, ...], bool, bool, bool]:
    """A link's ``rel`` as :class:`Link` keeps it (tokens lower-cased, de-duplicated, in order) and
    its three flags: ``(tokens, nofollow, ugc, sponsored)``. One rule for every reader of links
    (the HTML extractor, the WAT reader); a page repeats few distinct values, hence the cache."""
    if not value:
        return (), False, False, False
    toks = tuple(dict.fromkeys(value.lower().split()))
    return toks, "nofollow" in toks, "ugc" in toks, "sponsored" in toks
