"""The classifier: a domain's words, matched against each category's word list, weighted, summed.

Deterministic and transparent: the same pages give the same category, and the category comes
with the words that decided it. What a domain is read from (a :class:`Document`) are its pages'
titles and URL words, its host names, the text of its pages' content links (anchor and the words
around it), its menu, and the anchors of the links other sites point at it.

Each word or phrase found adds ``field weight × (1 + ln count) × specificity`` to the categories
whose list has it: a title says more than a menu (:data:`FIELD_WEIGHTS`), a word repeated counts
less each time, and a word listed under several Tier-1 categories says less than one listed under
one (an inverse document frequency over the categories), shared among them. A Tier-1 category's
score is its own plus its Tier-2 nodes'. The best Tier-1 wins; its best Tier-2 node, when one
scored, is the Tier-2 category. The confidence is the winner's share of all scores, times how much
evidence there was (one title word is not much).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from linkback.categories._taxonomy import Taxonomy, taxonomy
from linkback.categories._terms import BOILERPLATE, GENERIC_NAME_WORDS, TERMS

#: What a word found in each field is worth.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 3.0,  # the pages' titles
    "url": 2.0,  # the words of the pages' URL paths
    "host": 2.0,  # the host names (recyclingmagazin.de: "recycling")
    "text": 1.0,  # the anchors and text around the pages' content links
    "inbound": 1.0,  # the anchors and text of other sites' links to the domain
    "nav": 0.5,  # the anchors of the pages' menus and headers
}
#: The most evidence one field gives, before its weight: a page full of links to other stories,
#: or a menu of every section, must not drown out what the titles say.
FIELD_CAPS: dict[str, float] = {"title": 12.0, "url": 6.0, "host": 3.0, "text": 6.0, "inbound": 6.0, "nav": 4.0}
#: A phrase of two or three words is this much more specific than a word.
PHRASE_WEIGHT = 1.5
#: Below this score no category is given (a menu word or two is not enough to say).
MIN_SCORE = 1.5
#: How evidence turns into confidence: ``1 - exp(-score / EVIDENCE_SCALE)`` (one title word: 0.5).
EVIDENCE_SCALE = 4.0
#: Words of a host name shorter than this are not looked for inside it ("auto" in "autor").
MIN_HOST_WORD = 5
#: Evidence words kept with a category.
EVIDENCE_WORDS = 6
#: Changes when the word lists or the weights change: stored categories of an older version are
#: made again by the next ``categorize``.
CLASSIFIER_VERSION = "iab-3.1/1"

_WORD = re.compile(r"[^\W_]+")
# Scripts written without spaces between words: their terms are found anywhere in the text.
_UNSPACED = re.compile(
    "[\u0900-\u0dff\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_URL_NOISE = frozenset("www html htm php asp aspx jsp cgi index default id page pages amp utm".split())


def fold(text: str) -> str:
    """Case and accents folded, the same for the text and the word lists (``Fußball`` → ``fussball``)."""
    text = text.casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFKC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def words_of(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class Document:
    """What the store knows of one domain, as text per field (see :data:`FIELD_WEIGHTS`)."""

    domain: str
    titles: Sequence[str] = ()
    urls: Sequence[str] = ()
    hosts: Sequence[str] = ()
    text: Sequence[str] = ()
    nav: Sequence[str] = ()
    inbound: Sequence[str] = ()

    def fields(self) -> Iterable[tuple[str, Sequence[str]]]:
        yield "title", self.titles
        yield "url", [url_words(u) for u in self.urls]
        yield "text", self.text
        yield "inbound", self.inbound
        yield "nav", self.nav


def url_words(url: str) -> str:
    """The words of a URL's path, query left out: ``/rezepte/saftiger-zitronenkuchen.html`` →
    ``rezepte saftiger zitronenkuchen``. Numbers, ids and file endings say nothing."""
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:
        return ""
    out = [w for w in re.split(r"[^\w]+|_", path) if len(w) > 2 and not any(c.isdigit() for c in w)]
    return " ".join(w for w in out if w.lower() not in _URL_NOISE)


@dataclass
class Category:
    """The category of one domain; ``tier1`` is None when there was too little to say."""

    domain: str
    tier1: str | None
    tier1_id: str | None
    tier2: str | None
    tier2_id: str | None
    confidence: float
    score: float
    evidence: str  # the words that decided it, most weighty first: "kuchen ×3, rezept ×2, backen"
    alternatives: list[dict[str, float | str]] = field(default_factory=list)  # top Tier-1 with shares


# --- the vocabulary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    words: dict[str, tuple[str, ...]]  # exact word -> node keys
    prefixes: dict[str, tuple[str, ...]]  # "fussball" of "fussball*"
    suffixes: dict[str, tuple[str, ...]]  # "kuchen" of "*kuchen"
    phrases: dict[tuple[str, ...], tuple[str, ...]]  # ("theme", "park") -> node keys
    phrase_prefixes: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]]  # ("theme",) -> [("park", keys)]
    unspaced: dict[str, tuple[str, ...]]  # "彩票" -> node keys
    specificity: dict[tuple[str, ...], float]  # node keys -> weight of a term listed there
    longest_phrase: int = 3


def _name_terms(names: Iterable[str]) -> list[str]:
    """Terms from the taxonomy's names: each part of "Bars & Restaurants", "Auto Buying and
    Selling" ... that says something on its own."""
    out = []
    for name in names:
        for part in re.split(r"\s*(?:&|,|/|\(|\)|\band\b)\s*", name):
            ws = words_of(part)
            if not ws or len(ws) > 3:
                continue
            if len(ws) == 1 and (ws[0] in GENERIC_NAME_WORDS or len(ws[0]) < 3):
                continue
            out.append(" ".join(ws))
    return out


def _entries(tax: Taxonomy) -> dict[str, set[str]]:
    """Node key -> its terms: the curated list and its names."""
    terms: dict[str, set[str]] = defaultdict(set)
    for key, text in TERMS.items():
        tax.get(key)  # a list must name a node of the bundled taxonomy
        terms[key].update(t.strip() for t in text.split(",") if t.strip())
    for node in tax.nodes.values():
        names = [node.tier2 or node.tier1, *node.below]
        terms[node.key].update(_name_terms(names))
    return terms


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The word lists of every category, as lookup tables (built once)."""
    tax = taxonomy()
    by_term: dict[str, set[str]] = defaultdict(set)
    for key, terms in _entries(tax).items():
        for term in terms:
            by_term[fold(term)].add(key)
    n_tier1 = len(tax.tier1())
    words: dict[str, tuple[str, ...]] = {}
    prefixes: dict[str, tuple[str, ...]] = {}
    suffixes: dict[str, tuple[str, ...]] = {}
    phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
    phrase_prefixes: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    unspaced: dict[str, tuple[str, ...]] = {}
    specificity: dict[tuple[str, ...], float] = {}
    for term, key_set in sorted(by_term.items()):
        keys = tuple(sorted(key_set))
        tier1s = {k.split(" > ")[0] for k in keys}
        specificity[keys] = math.log(1 + n_tier1 / len(tier1s)) / math.log(1 + n_tier1)
        if _UNSPACED.search(term):
            unspaced[term.replace("*", "")] = keys
            continue
        star_end, star_start = term.endswith("*"), term.startswith("*")
        ws = words_of(term)
        if not ws or (len(ws) == 1 and len(ws[0]) < 2):
            continue  # "c++" is no word to look for
        if len(ws) == 1:
            table = prefixes if star_end else suffixes if star_start else words
            table[ws[0]] = keys
        elif star_end:
            phrase_prefixes[tuple(ws[:-1])].append((ws[-1], keys))
        else:
            phrases[tuple(ws)] = keys
    for phrase in BOILERPLATE:
        phrases[tuple(words_of(phrase))] = ()
    longest = max([len(p) for p in phrases] + [len(p) + 1 for p in phrase_prefixes] + [1])
    return Vocabulary(words, prefixes, suffixes, phrases, dict(phrase_prefixes), unspaced, specificity, longest)


@lru_cache(maxsize=200_000)
def _match_word(word: str) -> tuple[str, ...] | None:
    """The node keys of one word: itself, its English singular, a listed beginning or ending."""
    v = vocabulary()
    keys = v.words.get(word)
    if keys is not None:
        return keys
    if len(word) > 4 and word.endswith("s"):
        # English plurals: "recipes", "churches"; not "deportees" -> "deporte"
        stem = word[:-2] if re.search(r"(?:ss|x|z|ch|sh)es$", word) else word[:-1]
        if stem in v.words:
            return v.words[stem]
    # A German compound is what its last part is (Internetrecht is law, Zitronenkuchen cake): a
    # listed ending of five letters or more goes before a listed beginning.
    length = next((k for k in range(len(word) - 1, 3, -1) if word[-k:] in v.suffixes), 0)
    ending = v.suffixes[word[-length:]] if length else None
    if ending is not None and length >= 5:
        return ending
    for k in range(len(word), 2, -1):
        keys = v.prefixes.get(word[:k])
        if keys is not None:
            return keys
    return ending


def _match_phrase(v: Vocabulary, ws: list[str], i: int) -> tuple[int, tuple[str, ...]] | None:
    """The longest listed phrase starting at ``ws[i]``: (its length, its node keys)."""
    for n in range(min(v.longest_phrase, len(ws) - i), 1, -1):
        head = tuple(ws[i : i + n])
        keys = v.phrases.get(head)
        if keys is None and head[-1].endswith("s"):
            keys = v.phrases.get((*head[:-1], head[-1][:-1]))
        if keys is not None:
            return n, keys
        for prefix, pkeys in v.phrase_prefixes.get(head[:-1], ()):
            if head[-1].startswith(prefix):
                return n, pkeys
    return None


def matches(text: str) -> Iterable[tuple[str, tuple[str, ...], bool]]:
    """The listed words and phrases in ``text``: (the words as found, node keys, is a phrase)."""
    v = vocabulary()
    ws = words_of(text)
    i = 0
    while i < len(ws):
        found = _match_phrase(v, ws, i)
        if found is not None:
            n, keys = found
            if keys:
                yield " ".join(ws[i : i + n]), keys, True
            i += n
            continue
        word_keys = _match_word(ws[i])
        if word_keys:
            yield ws[i], word_keys, False
        i += 1
    if v.unspaced and _UNSPACED.search(text):
        folded = fold(text)
        for term, keys in v.unspaced.items():
            for _ in range(folded.count(term)):
                yield term, keys, False


def host_matches(host: str) -> Iterable[tuple[str, tuple[str, ...], bool]]:
    """Listed words inside a host's labels (``backenmachtgluecklich`` holds ``backen``): whole
    words of at least :data:`MIN_HOST_WORD` letters, the longest at each place."""
    v = vocabulary()
    labels = [w for w in words_of(host.replace(".", " ")) if w not in ("www",)]
    for label in labels[:-1] if len(labels) > 1 else labels:  # the public suffix says nothing
        i = 0
        while i <= len(label) - MIN_HOST_WORD:
            for k in range(len(label) - i, MIN_HOST_WORD - 1, -1):
                piece = label[i : i + k]
                keys = v.words.get(piece) or v.prefixes.get(piece)
                if keys:
                    yield piece, keys, False
                    i += k
                    break
            else:
                i += 1


# --- scoring -------------------------------------------------------------------------------------


def _field_hits(doc: Document) -> dict[tuple[str, str], tuple[int, tuple[str, ...], bool]]:
    """(field, words found) -> (count, node keys, is a phrase)."""
    hits: dict[tuple[str, str], tuple[int, tuple[str, ...], bool]] = {}

    def add(field_name: str, found: Iterable[tuple[str, tuple[str, ...], bool]]) -> None:
        for term, keys, phrase in found:
            n, _, _ = hits.get((field_name, term), (0, keys, phrase))
            hits[(field_name, term)] = (n + 1, keys, phrase)

    for name, texts in doc.fields():
        for text in texts:
            if text:
                add(name, matches(text))
    for host in dict.fromkeys(doc.hosts):
        add("host", host_matches(host))
    return hits


def _evidence(count: int, keys: tuple[str, ...], phrase: bool, v: Vocabulary) -> float:
    """What a word found ``count`` times in one field says: sublinear in the count, less when
    several categories list it, more for a phrase."""
    return (1 + math.log(count)) * v.specificity[keys] * (PHRASE_WEIGHT if phrase else 1.0)


def classify(doc: Document) -> Category:
    """The category of one domain, with its confidence and the words behind it."""
    tax, v = taxonomy(), vocabulary()
    node_scores: dict[str, float] = defaultdict(float)
    word_weight: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # tier1 -> word -> weight
    word_count: dict[str, int] = defaultdict(int)
    hits = _field_hits(doc)
    mass: dict[str, float] = defaultdict(float)
    for (field_name, _term), (count, keys, phrase) in hits.items():
        mass[field_name] += _evidence(count, keys, phrase, v)
    for (field_name, term), (count, keys, phrase) in hits.items():
        # A field's evidence counts up to its cap; past it, each word's part shrinks alike.
        scale = min(1.0, FIELD_CAPS[field_name] / mass[field_name])
        weight = FIELD_WEIGHTS[field_name] * scale * _evidence(count, keys, phrase, v)
        word_count[term] += count
        for key in keys:
            node_scores[key] += weight / len(keys)
            word_weight[key.split(" > ")[0]][term] += weight / len(keys)
    tier1_scores: dict[str, float] = defaultdict(float)
    for key, score in node_scores.items():
        tier1_scores[key.split(" > ")[0]] += score
    ranked = sorted(tier1_scores.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(tier1_scores.values())
    alternatives: list[dict[str, float | str]] = [
        {"tier1": name, "share": round(score / total, 3)} for name, score in ranked[:3]
    ]
    if not ranked or ranked[0][1] < MIN_SCORE:
        score = ranked[0][1] if ranked else 0.0
        return Category(doc.domain, None, None, None, None, 0.0, round(score, 3), "", alternatives)
    best, best_score = ranked[0]
    children = sorted(
        ((node_scores[n.key], n) for n in tax.children(best) if node_scores.get(n.key, 0.0) > 0),
        key=lambda sn: (-sn[0], sn[1].key),
    )
    tier2 = children[0][1] if children else None
    confidence = (best_score / total) * (1 - math.exp(-best_score / EVIDENCE_SCALE))
    evidence = sorted(word_weight[best].items(), key=lambda tw: (-tw[1], tw[0]))[:EVIDENCE_WORDS]
    return Category(
        doc.domain,
        best,
        tax.get(best).id,
        tier2.tier2 if tier2 else None,
        tier2.id if tier2 else None,
        round(confidence, 3),
        round(best_score, 3),
        ", ".join(t if word_count[t] == 1 else f"{t} ×{word_count[t]}" for t, _ in evidence),
        alternatives,
    )
