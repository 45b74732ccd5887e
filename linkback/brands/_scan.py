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
from collections.abc import Callable, KeysView
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import ahocorasick_rs
from selectolax.lexbor import LexborHTMLParser

from linkback.urls import split_host

#: Characters of text kept either side of a hit as its snippet.
SNIPPET_CHARS = 80
#: Hits kept per page and term: a page that repeats a brand a hundred times is one mention.
HITS_PER_TERM = 1
#: Elements whose text is not what a reader of the page reads as its content.
HIDDEN_TAGS = ["script", "style", "noscript", "template", "nav"]
_HIDDEN_SELECTOR = ", ".join(HIDDEN_TAGS)
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


class _Pattern(NamedTuple):
    """One string an automaton looks for, and what finding it means."""

    key: str  # folded
    check_start: bool  # the character before a hit must not be a word character
    check_end: bool  # nor the one after it
    who: tuple[tuple[str, str], ...]  # (term, site) pairs whose key it is; () for a trigger only
    triggers: bool  # a word of a phrase: the page is searched for phrases once it is found


class Scanner:
    """The automata of a :class:`BrandTerms`; :meth:`scan` finds them in one text.

    Terms are looked for in the page's text as it is (folded), not in its flattening (whitespace
    runs as one space): flattening a page costs more than the search. Terms of one word are found
    by one automaton; a term of several words, whose words may be apart by any whitespace there,
    by a regular expression of its own, and only on pages where each of its words of four letters
    or more (or its longest) occurs as a word, which the automaton finds as well (its
    *triggers*): a phrase's words are words wherever the phrase is."""

    def __init__(self, terms: BrandTerms) -> None:
        owners: dict[str, list[tuple[str, str]]] = {}
        # A term given twice for one site is one term: one hit a page, one stored row.
        for term, site in dict.fromkeys(terms.terms):
            key = fold(term)
            if key:
                owners.setdefault(key, []).append((term, site))
        self.empty = not owners
        phrases = [key for key in owners if " " in key]
        needs = {key: _triggers(key) for key in phrases}
        triggers = set().union(*needs.values())
        words = [key for key in owners if " " not in key] + sorted(triggers.difference(owners))
        self.words = [_pattern(key, tuple(owners.get(key, ())), key in triggers) for key in words]
        self.phrases = [_pattern(key, tuple(owners[key]), False) for key in phrases]
        #: Per phrase, a regular expression that finds it in text that is folded but not flat.
        self.phrase_res = [re.compile(r"\s+".join(map(re.escape, key.split(" ")))) for key in phrases]
        index = {key: i for i, key in enumerate(words)}
        #: Per phrase, the indexes (in ``words``) of the words a page must have for it to be there.
        self.phrase_needs = [frozenset(index[w] for w in needs[key]) for key in phrases]
        #: The phrases to try on a page, by one of their triggers (their least word, any would do).
        self.phrases_by_trigger: dict[int, list[int]] = {}
        for i, key in enumerate(phrases):
            self.phrases_by_trigger.setdefault(index[min(needs[key])], []).append(i)
        # Every occurrence (overlapping), in order of where it ends: a term inside a longer
        # one's hit may be the word that counts.
        self.word_automaton = _automaton(words)
        self.phrase_automaton = _automaton(phrases)
        if terms.domains is None:
            self.domains = {site: frozenset((site_domain(site),)) for _, site in terms.terms}
        else:
            self.domains = {site: frozenset(d) for site, d in terms.domains}

    def scan(self, text: str, link_domains: frozenset[str]) -> list[Hit]:
        """The terms found in ``text`` (whole words, case-folded), one hit per term and site, with
        a snippet of the flattened text around the first occurrence. ``link_domains``: the
        registrable domains the page links to."""
        if self.empty or not text:
            return []
        text, folded = _normalized_and_folded(text)
        try:
            return self._scan_in_place(text, folded, link_domains)
        except _FarApart:
            # Hits among long runs of whitespace (a hostile page, mostly): each snippet could
            # flatten most of the page; flattening it once bounds the work.
            flat_folded = " ".join(folded.split())  # the flattening folded (folding makes no whitespace)
            found = [
                (patterns[idx], start)
                for patterns, automaton in ((self.words, self.word_automaton), (self.phrases, self.phrase_automaton))
                for idx, start in _first_hits(automaton, patterns, flat_folded).items()
            ]
            return self._flat_hits(text, flat_folded, found, link_domains)

    def _scan_in_place(self, text: str, folded: str, link_domains: frozenset[str]) -> list[Hit]:
        found = _first_hits(self.word_automaton, self.words, folded)
        if not found:
            return []  # no word, so no phrase either: each needs its trigger words
        hits: list[Hit] = []
        hunt_phrases = False
        to_text = _offset_map(text, folded)
        for idx, start in found.items():
            pattern = self.words[idx]
            hunt_phrases = hunt_phrases or pattern.triggers
            if pattern.who:
                a, b = to_text(start), to_text(start + len(pattern.key))
                hits.extend(self._hits(pattern.who, _snippet_of_hit(text, a, b), link_domains))
        if hunt_phrases:
            hits.extend(self._phrases_in(text, folded, to_text, found.keys(), link_domains))
        return hits

    def _phrases_in(
        self, text: str, folded: str, to_text: Callable[[int], int], words: KeysView[int], link_domains: frozenset[str]
    ) -> list[Hit]:
        """The hits of the phrases whose every trigger is among ``words`` (found on the page), each
        looked for on its own (a few of them on a page, where an automaton would read the whole
        page again), in ``folded`` as it is: its words may be apart by any whitespace, which
        flattening the page to look for them would cost more than the search."""
        hits: list[Hit] = []
        candidates = sorted(i for word in words for i in self.phrases_by_trigger.get(word, ()))
        for i in candidates:
            if words >= self.phrase_needs[i]:
                pattern = self.phrases[i]
                span = _first_whole_re(folded, self.phrase_res[i], pattern)
                if span is not None:
                    snippet = _snippet_of_hit(text, to_text(span[0]), to_text(span[1]))
                    hits.extend(self._hits(pattern.who, snippet, link_domains))
        return hits

    def _flat_hits(
        self, text: str, flat_folded: str, found: list[tuple[_Pattern, int]], link_domains: frozenset[str]
    ) -> list[Hit]:
        """The hits of patterns ``found`` at those positions of ``flat_folded``, the flattening of
        ``text`` folded; the flat text itself is made only if one of them has a snippet to cut."""
        hits: list[Hit] = []
        flat, to_flat = "", None
        for pattern, start in found:
            if not pattern.who:
                continue  # a trigger only
            if to_flat is None:
                flat = " ".join(text.split())
                to_flat = _offset_map(flat, flat_folded)
            snippet = _snippet(flat, to_flat(start), to_flat(start + len(pattern.key)))
            hits.extend(self._hits(pattern.who, snippet, link_domains))
        return hits

    def _hits(self, who: tuple[tuple[str, str], ...], snippet: str, link_domains: frozenset[str]) -> list[Hit]:
        none: frozenset[str] = frozenset()
        return [Hit(term, site, snippet, bool(self.domains.get(site, none) & link_domains)) for term, site in who]


def _triggers(phrase: str) -> set[str]:
    """The words of ``phrase`` a page must have for the phrase to be on it: those of four
    characters or more (the shorter ones, "of", "the", are on every page), else its longest."""
    words = phrase.split(" ")
    return {w for w in words if len(w) >= 4} or {max(words, key=len)}


def _pattern(key: str, who: tuple[tuple[str, str], ...], triggers: bool) -> _Pattern:
    # The boundary is looked at only on the side of the term that needs it (C++).
    return _Pattern(key, _wordy(key[0]), _wordy(key[-1]), who, triggers)


#: Up to this many characters of terms, the automaton is a DFA: searches twice as fast as the
#: default NFA, built in ~5 ms for 1,000 terms, but its memory grows with the terms (~100 MB at
#: a million characters).
DFA_MAX_CHARS = 200_000


def _automaton(keys: list[str]) -> ahocorasick_rs.AhoCorasick | None:
    if not keys:
        return None
    small = sum(map(len, keys)) <= DFA_MAX_CHARS
    implementation = ahocorasick_rs.Implementation.DFA if small else None
    return ahocorasick_rs.AhoCorasick(keys, matchkind=ahocorasick_rs.MatchKind.Standard, implementation=implementation)


def _normalized_and_folded(text: str) -> tuple[str, str]:
    """``text`` in NFC, and its case folding."""
    if text.isascii():
        return text, text.lower()  # ASCII text is NFC, and case-folds as it lower-cases
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text, text.casefold()


def _first_hits(automaton: ahocorasick_rs.AhoCorasick | None, patterns: list[_Pattern], folded: str) -> dict[int, int]:
    """Where in ``folded`` each pattern first occurs as a whole word, by the pattern's index."""
    found: dict[int, int] = {}
    if automaton is None:
        return found
    size = len(folded)
    # Most candidates are a pattern already found (skipped at once) or part of a longer word.
    for idx, start, end in automaton.find_matches_as_indexes(folded, overlapping=True):
        if idx in found:
            continue
        _key, check_start, check_end, _who, _triggers = patterns[idx]
        # _wordy, inlined: called for most of the ~130 candidates a page has.
        if check_start and start:
            c = folded[start - 1]
            if c.isalnum() and (c < "\u0e00" or _UNSPACED.match(c) is None):
                continue
        if check_end and end < size:
            c = folded[end]
            if c.isalnum() and (c < "\u0e00" or _UNSPACED.match(c) is None):
                continue
        found[idx] = start
    return found


def _first_whole_re(folded: str, regex: re.Pattern[str], pattern: _Pattern) -> tuple[int, int] | None:
    """Where ``regex`` (a phrase, its words apart by any whitespace) first matches ``folded`` as
    a whole word (as :func:`_first_hits` decides), or None."""
    size = len(folded)
    match = regex.search(folded)
    while match is not None:
        start, end = match.span()
        if not (pattern.check_start and start and _wordy(folded[start - 1])) and not (
            pattern.check_end and end < size and _wordy(folded[end])
        ):
            return start, end
        match = regex.search(folded, start + 1)
    return None


#: The characters whose case folding is longer than they are (``ß`` -> ``ss``), as a regular
#: expression's character class: the only ones that shift positions between a text and its
#: folding. Written out, not worked out at import (a walk over every code point: 0.15 s of CPU in
#: each worker); a test checks it against this Python's Unicode tables.
EXPANDING_FOLDS = (
    "\u00df\u0130\u0149\u01f0\u0390\u03b0\u0587\u1e96-\u1e9a\u1e9e\u1f50\u1f52\u1f54\u1f56"
    "\u1f80-\u1faf\u1fb2-\u1fb4\u1fb6-\u1fb7\u1fbc\u1fc2-\u1fc4\u1fc6-\u1fc7\u1fcc"
    "\u1fd2-\u1fd3\u1fd6-\u1fd7\u1fe2-\u1fe4\u1fe6-\u1fe7\u1ff2-\u1ff4\u1ff6-\u1ff7\u1ffc"
    "\ufb00-\ufb06\ufb13-\ufb17"
)
_EXPANDING = re.compile(f"[{EXPANDING_FOLDS}]")


def _offset_map(text: str, folded: str):  # noqa: ANN202 - a small closure
    """Position in ``folded`` -> position in ``text``. Case folding may turn one character into
    several (``ß`` -> ``ss``), never into none; only those few shift later positions."""
    if len(text) == len(folded):
        return lambda i: i
    starts: list[int] = []  # folded position just after each expansion
    shift: list[int] = []  # total extra characters up to there
    extra = 0
    for m in _EXPANDING.finditer(text):
        extra += len(m.group().casefold()) - 1
        starts.append(m.start() + extra + 1)
        shift.append(extra)

    def to_text(i: int) -> int:
        k = bisect.bisect_right(starts, i)
        return i - (shift[k - 1] if k else 0)

    return to_text


def _snippet(flat: str, a: int, b: int) -> str:
    lo, hi = max(0, a - SNIPPET_CHARS), min(len(flat), b + SNIPPET_CHARS)
    return ("…" if lo > 0 else "") + flat[lo:hi].strip() + ("…" if hi < len(flat) else "")


def _snippet_of_hit(text: str, a: int, b: int) -> str:
    """:func:`_snippet` of the text's flattening around ``text[a:b]`` (a hit, which begins and
    ends with no whitespace), for which only the hit and the text around it are flattened, not
    all of it."""
    before, more_before = _flat_before(text, a)
    after, more_after = _flat_after(text, b)
    hit = " ".join(text[a:b].split())
    return ("…" if more_before else "") + (before + hit + after).strip() + ("…" if more_after else "")


class _FarApart(Exception):
    """A snippet's words are further apart than :data:`_WIDEST` characters of text."""


#: The most text flattened for one side of one snippet; beyond it, the whole page is flattened.
_WIDEST = 64 * SNIPPET_CHARS


def _flat_before(text: str, a: int) -> tuple[str, bool]:
    """The last :data:`SNIPPET_CHARS` characters of the flattening of ``text[:a]`` (with the
    space before the hit), and whether there are more. Flattens a piece that grows until it
    holds that many: a run of whitespace may be any length."""
    width = 2 * SNIPPET_CHARS
    while True:
        lo = max(0, a - width)
        piece = text[lo:a]
        flat = " ".join(piece.split())
        if flat and piece[-1].isspace():
            flat += " "
        if len(flat) > SNIPPET_CHARS or lo == 0:
            return flat[-SNIPPET_CHARS:], len(flat) > SNIPPET_CHARS
        if width >= _WIDEST:
            raise _FarApart
        width *= 4


def _flat_after(text: str, b: int) -> tuple[str, bool]:
    """:func:`_flat_before`, after the hit: the first characters of the flattening of ``text[b:]``."""
    width = 2 * SNIPPET_CHARS
    while True:
        hi = min(len(text), b + width)
        piece = text[b:hi]
        flat = " ".join(piece.split())
        if flat and piece[0].isspace():
            flat = " " + flat
        if len(flat) > SNIPPET_CHARS or hi == len(text):
            return flat[:SNIPPET_CHARS], len(flat) > SNIPPET_CHARS
        if width >= _WIDEST:
            raise _FarApart
        width *= 4


def visible_text(tree: LexborHTMLParser, hidden: list[Any] | None = None) -> str:
    """The body's text without menus, scripts and styles. It changes ``tree`` (those elements
    are removed): call it last, on a tree nobody reads after. ``hidden``: the body's ``nav``,
    ``noscript`` and ``template`` elements as extract() found them (:attr:`ParsedPage.hidden`),
    which also removed its scripts and styles; None: they are looked for here."""
    body = tree.body
    if body is None:
        return ""
    # Detached, not destroyed: a nav inside a nav is met after its outer one. One walk for the
    # five tags (strip_tags walks the document once per tag), or none: extract()'s.
    for node in body.css(_HIDDEN_SELECTOR) if hidden is None else hidden:
        node.decompose(recursive=False)
    # Text nodes of ASCII whitespace alone (the markup's indentation, mostly) are left out: they
    # would become one space between their neighbours anyway, as the separator does.
    return body.text(separator=" ", skip_empty=True)


_SCANNERS: dict[str, Scanner] = {}


def scanner_for(terms: BrandTerms) -> Scanner:
    """The automaton of ``terms``, built once per process (workers see the same terms for every
    range of an ingest)."""
    scanner = _SCANNERS.get(terms.digest)
    if scanner is None:
        _SCANNERS.clear()  # one set of terms at a time: an old one is not used again
        scanner = _SCANNERS[terms.digest] = Scanner(terms)
    return scanner
