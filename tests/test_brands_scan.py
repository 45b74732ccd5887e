"""The scanner's shortcuts change nothing: terms of one word are found in the page's text as it is
and their snippets flattened piecemeal; phrases are looked for only on pages with a trigger word.
Checked against the plain definition (flatten the whole text, fold it, search every term) on the
real pages' text and on generated texts full of whitespace runs and expanding case folds."""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkback.brands import BrandTerms, Scanner
from linkback.brands._scan import _EXPANDING, SNIPPET_CHARS, Hit, _wordy, fold, visible_text
from linkback.extract import ParsedPage, extract
from linkback.sources.warc import ReadStats, iter_archive

SAMPLE = Path(__file__).parent / "data" / "warc" / "real-pages" / "sample.warc.gz"


def reference_scan(terms: list[tuple[str, str]], text: str) -> set[tuple[str, str, str]]:
    """``(term, site, snippet)`` by the definition: the first whole-word occurrence of each folded
    term in the folded flat text, snippet cut from the flat text around it."""
    flat = " ".join(unicodedata.normalize("NFC", text).split())
    folded = flat.casefold()
    hits = set()
    for term, site in terms:
        key = fold(term)
        start = 0
        while key and (start := folded.find(key, start)) >= 0:
            end = start + len(key)
            if not (_wordy(key[0]) and start and _wordy(folded[start - 1])) and not (
                _wordy(key[-1]) and end < len(folded) and _wordy(folded[end])
            ):
                a, b = _to_flat(flat, start), _to_flat(flat, end)
                lo, hi = max(0, a - SNIPPET_CHARS), min(len(flat), b + SNIPPET_CHARS)
                snippet = ("…" if lo > 0 else "") + flat[lo:hi].strip() + ("…" if hi < len(flat) else "")
                hits.add((term, site, snippet))
                break
            start += 1
    return hits


def _to_flat(flat: str, folded_pos: int) -> int:
    """The position in ``flat`` whose folding begins at ``folded_pos``, one character at a time."""
    n = 0
    for i, c in enumerate(flat):
        if n >= folded_pos:
            return i
        n += len(c.casefold())
    return len(flat)


def scanned(terms: list[tuple[str, str]], text: str) -> set[tuple[str, str, str]]:
    hits: list[Hit] = Scanner(BrandTerms(tuple(terms))).scan(text, frozenset())
    return {(h.term, h.site, h.snippet) for h in hits}


def test_expanding_folds_are_every_character_whose_folding_is_longer() -> None:
    expected = {chr(i) for i in range(sys.maxunicode + 1) if len(chr(i).casefold()) > 1}
    listed = {chr(i) for i in range(sys.maxunicode + 1) if _EXPANDING.fullmatch(chr(i))}
    assert listed == expected, f"Unicode {unicodedata.unidata_version}: update EXPANDING_FOLDS"


def test_a_phrase_regex_spaces_are_the_whitespace_flattening_removes() -> None:
    # A phrase is searched with \s+ between its words in the unflattened text; the definition
    # flattens with str.split(). The two must agree on every character.
    every = [chr(i) for i in range(sys.maxunicode + 1)]
    regex_spaces = {c for c in every if re.fullmatch(r"\s", c)}
    split_on = {c for c in every if len(f"a{c}b".split()) == 2}
    assert regex_spaces == split_on and len(split_on) > 20


@pytest.fixture(scope="module")
def page_texts() -> list[str]:
    texts = []
    for page in iter_archive(str(SAMPLE), stats=ReadStats()):
        parsed = ParsedPage(page)
        facts, _ = extract(parsed)
        if not facts.skipped:
            texts.append(visible_text(parsed.tree))
    assert len(texts) > 20
    return texts


def test_the_visible_text_is_the_same_from_extracts_walk_as_from_its_own() -> None:
    # Ingest has extract()'s walk find the menus, noscripts and templates (ParsedPage.hidden),
    # saving the text a second walk over every page; the links and the text must not change.
    compared = 0
    for page in iter_archive(str(SAMPLE), stats=ReadStats()):
        walked, given = ParsedPage(page), ParsedPage(page)
        given.hidden = []
        found = extract(walked)
        assert extract(given) == found
        if found[0].skipped:
            continue
        assert visible_text(given.tree, given.hidden) == visible_text(walked.tree)
        compared += 1
    html = "<body><nav>menu<nav>inner</nav></nav><a href=/x>X<noscript>no</noscript></a><template>t</template>b</body>"
    page = ParsedPage.from_text(html, "https://a.example/")
    page.hidden = []
    extract(page)
    assert [n.tag for n in page.hidden] == ["nav", "nav", "noscript", "template"]
    assert visible_text(page.tree, page.hidden) == "X b"
    assert compared > 20


#: Words and phrases that occur on the sample's pages (and some that do not), with a term that
#: is also the trigger of a phrase, one whose trigger occurs without the phrase, and one ending
#: in a non-word character.
REAL_TERMS = [
    ("YouTube", "youtube.com"),
    ("Wikipedia", "wikipedia.org"),
    ("Facebook", "facebook.com"),
    ("Twitter", "twitter.com"),
    ("The", "the.example"),
    ("New York", "ny.example"),
    ("York", "york.example"),
    ("New York Times", "nytimes.com"),
    ("Privacy Policy", "policy.example"),
    ("of the", "ofthe.example"),
    ("Straße", "strasse.example"),
    ("C++", "cpp.example"),
    ("Nowhere Brand Ltd", "nowhere.example"),
]


def test_real_pages_find_what_the_definition_finds(page_texts: list[str]) -> None:
    total = 0
    for text in page_texts:
        expected = reference_scan(REAL_TERMS, text)
        assert scanned(REAL_TERMS, text) == expected
        total += len(expected)
    assert total > 100  # the terms really occur


_WORDS = st.sampled_from(
    ["Acme", "acme", "ACME", "Corp", "corp", "Straße", "STRASSE", "ß", "İ", "ﬁne", "x", "東京", "C++"]
)
_SPACES = st.sampled_from([" ", "  ", "\n", "\n\t  ", "\u00a0", "\u2003", " " * 300, ".", ", ", "-"])
_TEXTS = st.lists(st.tuples(_WORDS, _SPACES), max_size=60).map(lambda parts: "".join(w + s for w, s in parts))
_TERMS = st.lists(
    st.sampled_from(["Acme", "Acme Corp", "Corp", "Straße", "strasse acme", "ﬁne", "C++", "東京", "x acme x"]),
    min_size=1,
    max_size=4,
    unique=True,
)


@settings(max_examples=300, deadline=None)
@given(text=st.tuples(_SPACES, _TEXTS).map("".join), names=_TERMS)
def test_generated_texts_find_what_the_definition_finds(text: str, names: list[str]) -> None:
    terms = [(name, f"site{i}.example") for i, name in enumerate(names)]
    assert scanned(terms, text) == reference_scan(terms, text)


def test_hits_far_apart_in_whitespace_flatten_the_page_once_and_find_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hostile page: 300 terms, each alone between runs of 20,000 spaces. Flattening around
    # each hit would read most of the page 300 times; the scanner flattens it once instead.
    names = [f"Brand{i:03d}" for i in range(300)]
    text = (" " * 20_000).join(f"x {name} y" for name in names) + " Acme\n\n Corp"
    terms = [(name, "site.example") for name in [*names, "Acme Corp"]]
    flattened: list[int] = []
    real = Scanner._flat_hits

    def spy(self: Scanner, text: str, flat: str, *args: object) -> list[Hit]:
        flattened.append(len(flat))
        return real(self, text, flat, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Scanner, "_flat_hits", spy)
    hits = scanned(terms, text)
    assert hits == reference_scan(terms, text) and len(hits) == 301
    assert flattened == [len(" ".join(text.split()))]


def test_phrases_apart_by_megabytes_of_whitespace_are_found_as_the_definition_finds() -> None:
    # A hostile page: every phrase's words, then runs of whitespace between a first word and
    # what follows it, then one phrase whole. Each phrase is searched in the text as it is
    # (its words apart by any whitespace), never flattened: 0.05 CPU-s for these 300 phrases.
    names = [f"Acme Brand{i:03d}" for i in range(300)]
    text = " ".join(f"brand{i:03d}" for i in range(300)) + (" acme" + " " * 1000) * 2000 + " acme\n\t brand007 x"
    hits = scanned([(name, "site.example") for name in names], text)
    assert hits == reference_scan([(name, "site.example") for name in names], text)
    assert {term for term, _, _ in hits} == {"Acme Brand007"}
