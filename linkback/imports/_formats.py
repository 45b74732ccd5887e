"""The export formats linkback reads, each recognised by its header set (never by column position).

A header is compared by its words only: case, punctuation and spacing do not count, so
``Ref. domains``, ``ref domains`` and ``REF DOMAINS`` are one name. A format lists the fields it
knows, each with the names vendors (and their localised UIs) give its column; it is recognised
when the columns it *requires* are all there, at least one of its *signature* columns is (when
it has any), and none of the columns that rule it out. Extra columns are ignored (and listed);
missing optional ones are simply not read. When several formats fit, the one that reads the
most columns wins. Where each header list comes from: tests/data/imports/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from linkback.errors import SourceError

#: ``via`` of the claims each tool's exports give.
VIAS = ("ahrefs", "semrush", "gsc", "bing", "majestic", "moz", "list", "tracked")
#: What a claim says links: a page (``link``), a whole referring domain (``domain``), one of the
#: site's pages with the vendor's counts (``page``), or an anchor text with its counts (``anchor``).
LEVELS = ("link", "domain", "page", "anchor")


def norm(header: str) -> str:
    """A header's words: ``"Ref. domains"`` -> ``"ref domains"``, ``"\\ufeffURL "`` -> ``"url"``."""
    return " ".join(re.sub(r"[\W_]+", " ", header.casefold()).split())


@dataclass(frozen=True)
class Field:
    """A column a format knows: where its value goes, how it is read, what vendors call it.

    ``name`` is a claim attribute (``source_url``, ``anchor``, ``first_seen``...), one of the
    derived inputs (``follow``, ``rel``, ``link_type``, the kind flags, ``lost``), or else a key
    of the claim's ``metrics``. ``kind`` says how a cell is read (see :mod:`._claims`).
    """

    name: str
    kind: str
    headers: tuple[str, ...]
    aliases: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "aliases", frozenset(norm(h) for h in self.headers))


def F(name: str, kind: str, *headers: str) -> Field:  # noqa: N802 - reads as a table below
    return Field(name, kind, headers)


@dataclass(frozen=True)
class Format:
    name: str
    via: str
    level: str
    title: str
    fields: tuple[Field, ...]
    required: tuple[str, ...]
    signature: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    #: The file does not say which site is linked to: ``--site`` does.
    needs_site: bool = False

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def describe(self) -> str:
        """``ahrefs-refdomains (Domain; and DR or Dofollow ref. domains or ...)``: what it is known by."""
        known = ", ".join(self.field(n).headers[0] for n in self.required)
        if self.signature:
            some = [self.field(n).headers[0] for n in self.signature]
            known += f"; and {' or '.join(some[:3])}{' or ...' if len(some) > 3 else ''}"
        return f"{self.name} ({known})"


# --- shared fields -----------------------------------------------------------------------------

_FIRST_SEEN = F("first_seen", "date", "First seen", "First Seen Date", "First found", "Date first seen")
_LAST_SEEN = F("last_seen", "date", "Last seen", "Last check", "Last checked", "Date last seen")
_LOST = F("lost_at", "date", "Lost", "Day lost", "Date lost", "Lost date")
_DR = F("dr", "rating", "Domain rating", "DR", "Domain Rating (DR)")

# Search Console's Links export, by UI language. English from the spec; the others assumed
# from the UI's wording (see tests/data/imports/README.md), Hebrew from a public importer.
_GSC_SITE = ("Site", "Website", "Sitio", "Sitio web", "אתר")
_GSC_LINKING_PAGES = ("Linking pages", "Verlinkende Seiten", "Pages contenant des liens", "Páginas que enlazan",
                      "דפים מקשרים")  # fmt: skip
_GSC_TARGET_PAGES = ("Target pages", "Zielseiten", "Pages cibles", "Páginas de destino", "דפי יעד")
_GSC_TARGET_PAGE = ("Target page", "Zielseite", "Page cible", "Página de destino", "דף יעד")
_GSC_INCOMING = ("Incoming links", "Eingehende Links", "Liens entrants", "Enlaces entrantes", "קישורים נכנסים")
_GSC_LINKING_SITES = ("Linking sites", "Verlinkende Websites", "Sites contenant des liens", "Sitios que enlazan",
                      "אתרים מקשרים")  # fmt: skip
_GSC_LINKING_PAGE = ("Linking page", "Verlinkende Seite", "Page contenant des liens", "Página que enlaza", "דף מקשר")
_GSC_LAST_CRAWLED = ("Last crawled", "Zuletzt gecrawlt", "Dernière exploration", "Último rastreo", "נסרק לאחרונה")

#: Headers of localised exports whose dates are written day first (``15/09/2026``).
DAY_FIRST_HEADERS = frozenset(
    norm(h)
    for names in (_GSC_SITE, _GSC_LINKING_PAGES, _GSC_TARGET_PAGE, _GSC_LINKING_PAGE, _GSC_LAST_CRAWLED)
    for h in names[1:]
    if norm(h) != "site"
)

FORMATS: tuple[Format, ...] = (
    Format(
        "ahrefs-backlinks", "ahrefs", "link", "Ahrefs backlinks",
        (
            F("source_url", "url", "Referring page URL", "Referring page", "Ref. page URL", "Referring Page URL"),
            F("target_url", "url", "Target URL", "Link URL"),
            F("anchor", "anchor", "Anchor", "Link Anchor", "Anchor text"),
            F("title", "text", "Referring page title", "Referring Page Title"),
            _DR,
            F("ur", "rating", "UR", "URL rating", "URL Rating (UR)"),
            F("http_code", "int", "Referring page HTTP code"),
            F("domain_traffic", "int", "Domain traffic"),
            F("page_traffic", "int", "Page traffic", "Traffic"),
            F("ref_domains", "int", "Referring domains"),
            F("linked_domains", "int", "Linked domains"),
            F("external_links", "int", "External links", "External Links Count"),
            F("keywords", "int", "Keywords", "Keywords Ranking"),
            F("language", "text", "Language"),
            F("platform", "text", "Platform"),
            F("link_type", "link_type", "Type", "Link type"),
            F("content", "bool", "Content"),
            F("nofollow", "bool", "Nofollow"),
            F("ugc", "bool", "UGC"),
            F("sponsored", "bool", "Sponsored"),
            F("rendered", "bool", "Rendered"),
            F("raw", "bool", "Raw"),
            F("is_spam", "bool", "Is spam"),
            F("lost_status", "text", "Lost status", "Backlink Status"),
            F("drop_reason", "text", "Drop reason"),
            F("discovered_status", "text", "Discovered status"),
            F("links_in_group", "int", "Links in group"),
            _FIRST_SEEN, _LAST_SEEN, _LOST,
        ),
        required=("source_url", "target_url"),
    ),
    Format(
        "ahrefs-refdomains", "ahrefs", "domain", "Ahrefs referring domains",
        (
            F("source_host", "host", "Domain", "Referring domain"),
            _DR,
            F("ahrefs_rank", "int", "Ahrefs Rank"),
            F("is_spam", "bool", "Is spam"),
            F("dofollow_refdomains", "int", "Dofollow ref. domains"),
            F("dofollow_linked_domains", "int", "Dofollow linked domains"),
            F("domain_traffic", "int", "Traffic", "Domain traffic"),
            F("keywords", "int", "Keywords"),
            F("links_to_target", "int", "Links to target", "Backlinks"),
            F("new_links", "int", "New links"),
            F("lost_links", "int", "Lost links"),
            F("dofollow_links", "int", "Dofollow links", "Dofollow"),
            _FIRST_SEEN, _LAST_SEEN, _LOST,
        ),
        required=("source_host",),
        signature=("dr", "dofollow_refdomains", "links_to_target", "dofollow_links", "is_spam", "ahrefs_rank"),
        excludes=("backlinks count", "referring page url", "target url"),
        needs_site=True,
    ),
    Format(
        "ahrefs-anchors", "ahrefs", "anchor", "Ahrefs anchors",
        (
            F("anchor", "anchor", "Anchor", "Anchor text"),
            F("ref_domains", "int", "Referring domains", "Ref. domains"),
            F("dofollow_links", "int", "Dofollow links", "Dofollow"),
            F("links_to_target", "int", "Links to target", "Backlinks"),
            F("traffic", "int", "Traffic"),
            _FIRST_SEEN, _LOST,
        ),
        required=("anchor",),
        signature=("ref_domains", "dofollow_links", "links_to_target"),
        excludes=("referring page url", "target url", "source url", "domain", "url"),
        needs_site=True,
    ),
    Format(
        "semrush-backlinks", "semrush", "link", "Semrush backlinks",
        (
            F("source_url", "url", "Source url"),
            F("target_url", "url", "Target url"),
            F("anchor", "anchor", "Anchor"),
            F("title", "text", "Source title"),
            F("ascore", "int", "Page ascore", "Page score"),
            F("trust_score", "int", "Page trust score"),
            F("external_links", "int", "External links"),
            F("internal_links", "int", "Internal links"),
            F("nofollow", "bool", "Nofollow"),
            F("sponsored", "bool", "Sponsored"),
            F("ugc", "bool", "Ugc"),
            F("text", "flag", "Text"),
            F("frame", "flag", "Frame"),
            F("form", "flag", "Form"),
            F("image", "flag", "Image"),
            F("sitewide", "bool", "Sitewide"),
            F("new", "bool", "New link"),
            F("lost", "bool", "Lost link"),
            _FIRST_SEEN, _LAST_SEEN,
        ),
        required=("source_url", "target_url"),
        signature=("ascore", "trust_score", "title", "sitewide", "new", "lost", "frame", "form"),
    ),
    Format(
        "majestic", "majestic", "link", "Majestic backlinks",
        (
            F("source_url", "url", "Source URL"),
            F("target_url", "url", "Target URL"),
            F("anchor", "anchor", "Anchor Text"),
            F("last_seen", "date", "Source Crawl Date", "Last Seen"),
            F("first_seen", "date", "Source First Found Date", "First Indexed Date"),
            F("lost_at", "date", "Date Lost", "Lost Date"),
            F("nofollow", "flag", "FlagNoFollow"),
            F("image", "flag", "FlagImageLink"),
            F("redirect", "flag", "FlagRedirect"),
            F("frame", "flag", "FlagFrame"),
            F("old_crawl", "flag", "FlagOldCrawl"),
            F("alt_text", "flag", "FlagAltText"),
            F("mention", "flag", "FlagMention"),
            F("deleted", "flag", "FlagDeleted"),
            F("cf", "int", "SourceCitationFlow"),
            F("tf", "int", "SourceTrustFlow"),
            F("target_cf", "int", "TargetCitationFlow"),
            F("target_tf", "int", "TargetTrustFlow"),
            F("topic", "text", "SourceTopicalTrustFlow_Topic_0"),
            F("topic_tf", "int", "SourceTopicalTrustFlow_Value_0"),
        ),
        required=("source_url", "target_url"),
        signature=("nofollow", "tf", "cf", "last_seen", "first_seen", "image", "redirect"),
    ),
    Format(
        "moz", "moz", "link", "Moz links",
        (
            F("source_url", "url", "URL", "Source URL"),
            F("target_url", "url", "Target URL"),
            F("anchor", "anchor", "Anchor Text"),
            F("title", "text", "Title"),
            F("spam_score", "int", "Spam Score"),
            F("pa", "int", "Page Authority"),
            F("da", "int", "Domain Authority"),
            F("page_linking_domains", "int", "Number of Domains Linking to this Page"),
            F("domain_linking_domains", "int", "Number of Domains Linking to Domain"),
            F("links", "int", "Number of Links"),
            F("origin", "text", "Origin"),
            F("link_equity", "bool", "Link Equity"),
            F("follow", "follow", "Followable"),
            F("nofollow", "bool", "Only rel=nofollow"),
            F("redirect", "flag", "301"),
            F("rel", "rel", "Link Type"),
            F("first_seen", "date", "Date First Seen", "First Seen"),
            F("last_seen", "date", "Date Last Seen", "Last Seen"),
            F("lost_at", "date", "Date Lost"),
        ),
        required=("source_url", "target_url"),
        signature=("pa", "da", "spam_score", "page_linking_domains", "domain_linking_domains", "follow", "origin"),
    ),
    Format(
        "bing-backlinks", "bing", "link", "Bing Webmaster Tools backlinks",
        (
            F("source_url", "url", "Source Url"),
            F("target_url", "url", "Target Url"),
            F("anchor", "anchor", "Anchor Text"),
        ),
        required=("source_url", "target_url"),
    ),
    Format(
        "bing-domains", "bing", "domain", "Bing Webmaster Tools referring domains",
        (F("source_host", "host", "Domain"), F("backlinks", "int", "Backlinks Count", "Backlinks")),
        required=("source_host", "backlinks"),
        needs_site=True,
    ),
    Format(
        "gsc-linking-sites", "gsc", "domain", "Search Console top linking sites",
        (
            F("source_host", "host", *_GSC_SITE),
            F("linking_pages", "int", *_GSC_LINKING_PAGES),
            F("target_pages", "int", *_GSC_TARGET_PAGES),
        ),
        required=("source_host",),
        signature=("linking_pages", "target_pages"),
        needs_site=True,
    ),
    Format(
        "gsc-linked-pages", "gsc", "page", "Search Console top linked pages",
        (
            F("target_url", "url", *_GSC_TARGET_PAGE),
            F("incoming_links", "int", *_GSC_INCOMING),
            F("linking_sites", "int", *_GSC_LINKING_SITES),
        ),
        required=("target_url",),
        signature=("incoming_links", "linking_sites"),
    ),
    Format(
        "gsc-latest-links", "gsc", "link", "Search Console latest links",
        (F("source_url", "url", *_GSC_LINKING_PAGE), F("last_seen", "date", *_GSC_LAST_CRAWLED)),
        required=("source_url", "last_seen"),
        needs_site=True,
    ),
    Format(
        "gsc-sample-links", "gsc", "link", "Search Console more sample links",
        (F("source_url", "url", *_GSC_LINKING_PAGE),),
        required=("source_url",),
        needs_site=True,
    ),
    Format(
        "tracked", "tracked", "link", "links I track",
        (
            F("source_url", "url", "URL FROM", "Source URL", "Link from"),
            F("target_url", "url", "EXPECTED LANDING PAGE URL", "Expected target", "Expected target URL"),
            F("follow", "follow", "EXPECTED FOLLOW", "Expected follow"),
            F("anchor", "anchor", "EXPECTED ANCHOR", "Expected anchor"),
            F("notes", "text", "NOTES", "Note"),
            F("tags", "text", "TAGS", "Tag"),
        ),
        required=("source_url", "target_url"),
    ),
    Format(
        "list", "list", "link", "a list of URLs",
        (F("source_url", "url", "URL", "URLs", "Link", "Links", "Backlink", "Backlinks", "Linking URL"),),
        required=("source_url",),
        excludes=("target url",),
        needs_site=True,
    ),
)  # fmt: skip

BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}
#: What ``file_format`` accepts: a format's name, a tool's name (any of its formats), or auto.
CHOICES = ("auto", *VIAS, *(f.name for f in FORMATS if f.name not in VIAS))


class UnrecognisedFile(SourceError):
    """No known export header was found (or not the one asked for)."""


@dataclass(frozen=True)
class Match:
    """A header recognised: the format, the column of each field it reads, and what it ignores."""

    format: Format
    columns: dict[str, int]
    header: list[str]
    ignored: tuple[str, ...]
    day_first: bool


def candidates(file_format: str) -> Sequence[Format]:
    """The formats ``file_format`` allows (see :data:`CHOICES`)."""
    if file_format == "auto":
        return FORMATS
    if file_format in VIAS:
        return [f for f in FORMATS if f.via == file_format]
    if file_format in BY_NAME:
        return [BY_NAME[file_format]]
    raise ValueError(f"unknown file format {file_format!r}; choose from {', '.join(CHOICES)}")


def match(header: list[str], formats: Sequence[Format]) -> Match | None:
    """The format ``header`` is, by its header set, or None."""
    names = [norm(h) for h in header]
    best: Match | None = None
    for fmt in formats:
        if any(excluded in names for excluded in fmt.excludes):
            continue
        columns: dict[str, int] = {}
        used: set[int] = set()
        for fld in fmt.fields:
            index = next((i for i, n in enumerate(names) if n in fld.aliases and i not in used), None)
            if index is not None:
                columns[fld.name] = index
                used.add(index)
        if not all(r in columns for r in fmt.required):
            continue
        if fmt.signature and not any(s in columns for s in fmt.signature):
            continue
        if best is None or len(columns) > len(best.columns):
            ignored = tuple(h.strip()[:60] for i, h in enumerate(header) if i not in used and names[i])[:HEADER_SHOWN]
            day_first = any(names[i] in DAY_FIRST_HEADERS for i in used)
            best = Match(fmt, columns, header, ignored, day_first)
    return best


#: The columns of a header an error quotes (a hostile file may have a million).
HEADER_SHOWN = 20


def unrecognised(header: list[str] | None, formats: Sequence[Format]) -> UnrecognisedFile:
    shown = [repr(h.strip()[:60]) for h in (header or [])[:HEADER_SHOWN]]
    if header and len(header) > HEADER_SHOWN:
        shown.append(f"... ({len(header):,} columns)")
    seen = ", ".join(shown) if header else "nothing"
    known = "; ".join(f.describe() for f in formats)
    which = "a known export" if len(formats) == len(FORMATS) else "the format asked for"
    return UnrecognisedFile(f"not {which}: its header has {seen}; the formats known by their columns are: {known}")
