"""One decoding and one parse of a fetched page, shared by everything that reads it.

Extraction, Webmention verification, endpoint discovery, the sender and the microformats reader
all read the same fetched HTML. Each used to decode and parse it again, with its own charset
rules (UTF-8 with replacement in one, windows-1252 in another, the header alone in a third), so
one page could say different things to each of them. :class:`ParsedPage` decides the encoding
once, as :func:`linkback.extract.extract` does (:mod:`._charset`: BOM, the ``charset`` given by
the caller, the Content-Type's charset, the ``<meta>`` prescan, UTF-8 when valid, else
detection), and builds the Lexbor tree once. Both are made on first use, so a redirect or an
error page costs nothing.

**The tree** is what extraction has always parsed: the first ``limits.max_parse_bytes`` of the
body, as UTF-8, scripting off (``<noscript>`` content is markup, as for a reader without
JavaScript and for the index). Readers that follow a browser running scripts (verification,
discovery) take :meth:`ParsedPage.scripted`: the same tree, whose elements inside ``<noscript>``
they leave out (:func:`noscript_ids`). The one case this cannot express is a ``<noscript>`` in
the ``<head>``: without scripting, a tag that does not belong in the head ends it and lands in
the body, outside the ``<noscript>``, while with scripting the whole block is text. Only pages
with a ``<noscript>`` in the head (a tracking pixel, typically) get a second tree for those
readers, built with scripting on from the same decoded bytes. A page nested deeply enough to
make parsing quadratic (:func:`._nesting.too_deep`, never met on the 1,169 real pages of the
shared corpus) is flattened first (``deep`` is then set and ``notes`` says ``deep_nesting``);
readers that need the page's structure on such a hostile page may parse :attr:`ParsedPage.text`
their own bounded way.

**Purity.** A ParsedPage is a cache over a :class:`~linkback.records.FetchedPage`: it pickles as
that page and its limits (the tree is rebuilt where it is unpickled), so ``extract(parsed)`` keeps
the picklable-input contract. The tree is shared: a reader that changes it must undo the change,
with one exception: extraction removes the body's ``script`` and ``style`` elements, which hold no
link and no text a reader of the page sees (none of the readers here reads them, and the
microformats rules leave their text out too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from linkback.extract import _charset, _nesting
from linkback.records import FetchedPage

__all__ = ["DEFAULT_LIMITS", "ExtractLimits", "ParsedPage", "noscript_ids"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractLimits:
    """Bounds on the work one page may cost. All keyword-only; the defaults suit the open web."""

    #: Bytes of body parsed; the rest is ignored and the page says ("page_truncated", 1).
    max_parse_bytes: int = 5 * 2**20
    #: Links kept per page; the rest are counted as "too_many_links".
    max_links: int = 20_000
    #: Anchor (and alt) text is cut to this many characters after whitespace normalisation.
    max_anchor_chars: int = 256
    #: Characters of text around a link kept as its context.
    max_context_chars: int = 100
    #: The <title> is cut to this many characters.
    max_title_chars: int = 512
    #: Ancestors looked at to find a link's section (beyond: "content").
    max_ancestors: int = 64


ExtractLimits.__module__ = "linkback.extract"  # its public home; pickles by that name
DEFAULT_LIMITS = ExtractLimits()


class ParsedPage:
    """A fetched page's body decoded once and parsed once (see the module docstring).

    ``charset`` is a declaration from outside the body that wins over the Content-Type header
    (the fetcher's parsed charset parameter, a caller's override); usually None.
    """

    __slots__ = (
        "page", "limits", "charset", "content_type_header", "_decoded", "_tree", "_text", "_scripted", "hidden",
    )  # fmt: skip

    def __init__(self, page: FetchedPage, *, limits: ExtractLimits = DEFAULT_LIMITS, charset: str | None = None):
        self.page = page
        self.limits = limits
        self.charset = charset or None
        self.content_type_header = page.header("content-type") or ""
        self._decoded: tuple[str, bytes, bool, tuple[tuple[str, int], ...]] | None = None
        self._tree: LexborHTMLParser | None = None
        self._text: str | None = None
        self._scripted: LexborHTMLParser | None = None
        #: A list to have extract() put the body's ``nav``, ``noscript`` and ``template`` elements
        #: in, found by its own walk, for a reader of the visible text that comes after it
        #: (:func:`linkback.brands.visible_text`); None: not wanted (extract() does not look).
        self.hidden: list[Any] | None = None

    @classmethod
    def from_text(
        cls, text: str, url: str = "", content_type: str = "text/html", *, limits: ExtractLimits = DEFAULT_LIMITS
    ) -> ParsedPage:
        """A page whose body is already text (UTF-8 from here on; lone surrogates become U+FFFD)."""
        try:
            body = text.encode("utf-8")
        except UnicodeEncodeError:
            body = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")
        page = FetchedPage(url=url, status=200, headers=(("Content-Type", content_type),), body=body, fetched_at=_EPOCH)
        return cls(page, limits=limits, charset="utf-8")

    def __reduce__(self) -> tuple:
        return (_rebuild, (self.page, self.limits, self.charset))

    # --- decoding ---------------------------------------------------------------------------

    def _decode(self) -> tuple[str, bytes, bool, tuple[tuple[str, int], ...]]:
        if self._decoded is None:
            body = self.page.body
            notes: list[tuple[str, int]] = []
            if len(body) > self.limits.max_parse_bytes:
                body = body[: self.limits.max_parse_bytes]
                notes.append(("page_truncated", 1))
            encoding, skip = _charset.choose(body, self.content_type_header, charset=self.charset)
            if encoding == "utf-8":
                data = body[skip:] if skip else body
            else:
                try:
                    data = body[skip:].decode(_charset.codec(encoding), "replace").encode("utf-8")
                except LookupError:  # a name Python has no codec for: read it as UTF-8
                    encoding, data = "utf-8", body[skip:]
            deep = _nesting.too_deep(data)
            if deep:
                notes.append(("deep_nesting", 1))
            self._decoded = (encoding, data, deep, tuple(notes))
        return self._decoded

    @property
    def encoding(self) -> str:
        """The WHATWG name of the encoding the body is read in (``PageFacts.charset``)."""
        return self._decode()[0]

    @property
    def data(self) -> bytes:
        """The parsed part of the body as UTF-8 bytes (BOM dropped; before any flattening)."""
        return self._decode()[1]

    @property
    def deep(self) -> bool:
        """Whether the markup nests deeply enough that :attr:`tree` was built flattened."""
        return self._decode()[2]

    @property
    def notes(self) -> tuple[tuple[str, int], ...]:
        """What parsing left out: ``("page_truncated", 1)``, ``("deep_nesting", 1)``."""
        return self._decode()[3]

    @property
    def text(self) -> str:
        """:attr:`data` as text (bytes invalid in the encoding are U+FFFD)."""
        if self._text is None:
            self._text = self.data.decode("utf-8", "replace")
        return self._text

    @property
    def tree(self) -> LexborHTMLParser:
        """The Lexbor tree, built on first use, scripting off."""
        if self._tree is None:
            data = self.data
            self._tree = LexborHTMLParser(_nesting.flatten(data) if self.deep else data)
        return self._tree

    def scripted(self) -> tuple[LexborHTMLParser, bool]:
        """The page as a browser running scripts parses it: ``(tree, skip_noscript)``. Usually
        the shared :attr:`tree`, with ``skip_noscript`` True: leave out the elements
        :func:`noscript_ids` names. For a page with a ``<noscript>`` in its head, a tree parsed
        with scripting on (once), and False."""
        tree = self.tree
        if tree.css_first("head noscript") is None:
            return tree, True
        if self._scripted is None:
            data = self.data
            self._scripted = LexborHTMLParser(_nesting.flatten(data) if self.deep else data, scripting=True)
        return self._scripted, False

    @property
    def url(self) -> str:
        """The URL the body came from: the final URL after redirects, else the requested one."""
        return self.page.final_url or self.page.url


def _rebuild(page: FetchedPage, limits: ExtractLimits, charset: str | None) -> ParsedPage:
    return ParsedPage(page, limits=limits, charset=charset)


def noscript_ids(tree: LexborHTMLParser, selector: str) -> frozenset[int]:
    """``mem_id`` of the elements matching ``selector`` (a comma-separated list of simple
    selectors) that sit inside a ``<noscript>``: with scripting on, as in the browsers that show
    the page, those are text, not elements. Empty at once when the page has no ``<noscript>``."""
    if tree.css_first("noscript") is None:
        return frozenset()
    inside = ",".join("noscript " + part for part in selector.split(","))
    return frozenset(node.mem_id for node in tree.css(inside))
