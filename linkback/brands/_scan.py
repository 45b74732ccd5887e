"""Finding brand terms in a page's visible text: one Aho-Corasick automaton over every term.

Runs in ingest's worker processes (it imports neither the store nor DuckDB). The terms reach a
worker as a :class:`BrandTerms` (small, picklable) with each range of work; the automaton is built
once per worker and set of terms (:func:`scanner_for` keeps it by the terms' digest), not per page.

**Matching.** The text is the page body's text without ``script``, ``style``, ``noscript``,
``template`` and ``nav`` (the menus name the site's own sections, not a mention), whitespace runs
as one space, Unicode NFC, case-folded (``str.casefold``: ``STRASSE`` finds ``Straße``). A hit
counts only as a whole word: the characters either side of it must not be letters or digits (any
script), unless the term itself starts or ends with a non-word character (``C++``). Scripts
written without spaces between words (Chinese, Japanese, Thai) are no word of a Latin term: ``Acme``
is found in ``我喜欢Acme产品``; a term in such a script is found wherever it occurs.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import ahocorasick_rs
from selectolax.lexbor import LexborHTMLParser

from linkback.urls import split_host

#: Characters of text kept either side of a hit as its snippet.
SNIPPET_CHARS = 80
#: Hits kept per page and term: a page that repeats a brand a hundred times is one mention.
HITS_PER_TERM = 1
#: Elements whose text is not what a reader of the page reads as its content.
HIDDEN_TAGS = ["script", "style", "noscript", "template", "nav"]
#: Scripts written without spaces between words: Thai, Lao, kana, CJK ideographs.
_UNSPACED = re.compile("[\u0e00-\u0eff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _wordy(c: str) -> bool:
    """Whether ``c`` beside a term makes it part of a longer word."""
    # Below U+0E00 no character is of an unspaced script: most text never reaches the regex.
    return c.isalnum() and (c < "\u0e00" or _UNSPACED.match(c) is None)


def fold(text: str) -> str:
    """``text`` as terms and pages are compared: NFC, whitespace runs as one space, case-folded."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split()).casefold()


def site_domain(site: str) -> str:
    """The registrable domain a link must point into to count as a link to ``site``."""
    return split_host(site.split(":", 1)[0]).domain or site


@dataclass(frozen=True)
class BrandTerms:
    """The terms to look for and whose they are: ``terms`` are ``(term, site)`` pairs as the user
    gave them; ``domains`` gives each site the registrable domains a link to which counts as a
    link to it; None: each site's own (:func:`site_domain`), worked out by the :class:`Scanner`,
    in the workers, which have the Public Suffix List loaded already (ingest's main process
    would load it for this alone: 0.5 s of CPU)."""

    terms: tuple[tuple[str, str], ...]
    domains: tuple[tuple[str, tuple[str, ...]], ...] | None = None

    @cached_property
    def digest(self) -> str:
        h = hashlib.sha256(repr((self.terms, self.domains)).encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def __bool__(self) -> bool:
        return bool(self.terms)


class Hit(NamedTuple):
    term: str  # as the user gave it
    site: str
    snippet: str
    linked: bool  # the page links to one of the site's domains


class Scanner:
    """The automaton of a :class:`BrandTerms`; :meth:`scan` finds them in one text."""

    def __init__(self, terms: BrandTerms) -> None:
        owners: dict[str, list[tuple[str, str]]] = {}
        for term, site in terms.terms:
            key = fold(term)
            if key:
                owners.setdefault(key, []).append((term, site))
        #: Per term (by its index in the automaton): its folded key, whether the characters
        #: before and after a hit must not be word characters (only where the term itself begins
        #: or ends with one), and whose it is.
        self.keys = [(key, _wordy(key[0]), _wordy(key[-1]), tuple(who)) for key, who in owners.items()]
        self.empty = not owners
        # Every occurrence (overlapping), in order of where it ends: a term inside a longer
        # one's hit may be the word that counts.
        self.automaton = ahocorasick_rs.AhoCorasick(list(owners), matchkind=ahocorasick_rs.MatchKind.Standard)
        if terms.domains is None:
            self.domains = {site: frozenset((site_domain(site),)) for _, site in terms.terms}
        else:
            self.domains = {site: frozenset(d) for site, d in terms.domains}

    def scan(self, text: str, link_domains: frozenset[str]) -> list[Hit]:
        """The terms found in ``text`` (whole words, case-folded), one hit per term and site, with
        a snippet of the text around the first occurrence. ``link_domains``: the registrable
        domains the page links to."""
        if self.empty or not text:
            return []
        flat = " ".join(text.split())
        if flat.isascii():
            folded = flat.lower()  # ASCII text is NFC, and case-folds as it lower-cases
        else:
            if not unicodedata.is_normalized("NFC", flat):
                flat = unicodedata.normalize("NFC", flat)
            folded = flat.casefold()
        found: dict[int, int] = {}
        size = len(folded)
        keys = self.keys
        # Most candidates are a term already found (skipped at once) or part of a longer word:
        # the boundary is looked at only on the side of the term that needs it.
        for idx, start, end in self.automaton.find_matches_as_indexes(folded, overlapping=True):
            if idx in found:
                continue
            _key, check_start, check_end, _who = keys[idx]
            if check_start and start and _wordy(folded[start - 1]):
                continue
            if check_end and end < size and _wordy(folded[end]):
                continue
            found[idx] = start
        if not found:
            return []
        to_flat = _offset_map(flat, folded)
        hits: list[Hit] = []
        for idx, start in found.items():
            key, _, _, who = keys[idx]
            snippet = _snippet(flat, to_flat(start), to_flat(start + len(key)))
            for term, site in who:
                hits.append(Hit(term, site, snippet, bool(self.domains.get(site, frozenset()) & link_domains)))
        return hits


def _offset_map(flat: str, folded: str):  # noqa: ANN202 - a small closure
    """Position in ``folded`` -> position in ``flat``. Case folding may turn one character into
    several (``ß`` -> ``ss``), never into none; only those few shift later positions."""
    if len(flat) == len(folded):
        return lambda i: i
    expanding = [c for c in set(flat) if len(c.casefold()) > 1]
    starts: list[int] = []  # folded position just after each expansion
    shift: list[int] = []  # total extra characters up to there
    extra = 0
    for m in re.finditer("|".join(map(re.escape, expanding)), flat):
        extra += len(m.group().casefold()) - 1
        starts.append(m.start() + extra + 1)
        shift.append(extra)

    def to_flat(i: int) -> int:
        k = bisect.bisect_right(starts, i)
        return i - (shift[k - 1] if k else 0)

    return to_flat


def _snippet(flat: str, a: int, b: int) -> str:
    lo, hi = max(0, a - SNIPPET_CHARS), min(len(flat), b + SNIPPET_CHARS)
    return ("…" if lo > 0 else "") + flat[lo:hi].strip() + ("…" if hi < len(flat) else "")


def visible_text(tree: LexborHTMLParser) -> str:
    """The body's text without menus, scripts and styles. It changes ``tree`` (those elements
    are removed): call it last, on a tree nobody reads after."""
    tree.strip_tags(HIDDEN_TAGS)
    body = tree.body
    # Text nodes of ASCII whitespace alone (the markup's indentation, mostly) are left out: they
    # would become one space between their neighbours anyway, as the separator does.
    return body.text(separator=" ", skip_empty=True) if body is not None else ""


_SCANNERS: dict[str, Scanner] = {}


def scanner_for(terms: BrandTerms) -> Scanner:
    """The automaton of ``terms``, built once per process (workers see the same terms for every
    range of an ingest)."""
    scanner = _SCANNERS.get(terms.digest)
    if scanner is None:
        _SCANNERS.clear()  # one set of terms at a time: an old one is not used again
        scanner = _SCANNERS[terms.digest] = Scanner(terms)
    return scanner
