"""Anchor classes (issue #3): what kind of text a backlink uses — the brand, the target keyword, a
naked URL, "click here" — configured per site by an :class:`AnchorProfile`.

>>> profile = AnchorProfile.for_target("example.com", keywords=("cheap flights",))
>>> classify_anchor("Example", kind="text", target_url="https://example.com/", profile=profile)
'branded'
>>> classify_anchor("Cheap Flights!", kind="text", target_url="https://example.com/", profile=profile)
'exact_match'
>>> classify_anchor("https://www.example.com/", kind="text", target_url="https://example.com/", profile=profile)
'naked_url'

**Normalisation.** Brands, keywords and anchors are compared as words: NFKD, accents and other
combining marks dropped, case-folded, split on everything that is not a letter or digit (so
"Café-Bar!" is the words ``cafe bar``). Soft hyphens and zero-width joiners are dropped first
("Wiki\u00adpedia" is one word); other invisible characters separate words. Terms in scripts
written without spaces (Chinese, Japanese, Korean, Thai, ...) are matched as substrings instead,
since their "words" are whole phrases.

**Speed.** Results are memoised per profile on the anchor text (and looked up per link only for
what depends on the link: its kind for blank anchors, its target for hosts under unknown suffixes),
so build one profile per site and reuse it. Backlink anchors repeat heavily ("Twitter", "here",
the brand), so batches run at several hundred thousand anchors a second.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

from linkback.urls import _get_psl, host_of, parse_target, resolve, split_host

__all__ = [
    "ANCHOR_CLASSES",
    "GENERIC_ANCHORS",
    "AnchorProfile",
    "classify_anchor",
    "classify_anchors",
]

#: The anchor classes, in the order :func:`classify_anchor` tries them: the first that applies wins.
#: ``empty`` and ``image`` exclude each other (they depend only on the link's kind).
ANCHOR_CLASSES = ("empty", "image", "naked_url", "branded", "exact_match", "partial_match", "generic", "other")

# English first, then German, French, Spanish, Italian, Portuguese, Dutch, Polish, Nordic;
# written with their accents for readability and normalised below like anchors.
_GENERIC_TEXT = (
    # English
    "click here|click|here|click this|tap here|this|this link|link|link here|links|go|go here|go to|"
    "read more|more|more here|read|read here|read this|read on|learn more|learn|continue|continue reading|"
    "keep reading|see more|see here|see|view|view more|find out more|more info|more information|info|"
    "details|more details|full article|full story|read the full story|read the article|read full article|"
    "article|this article|post|this post|page|this page|this site|site|website|this website|web site|"
    "the website|the site|their website|his website|her website|our website|your website|official site|"
    "official website|homepage|home page|home|visit|visit site|visit website|visit us|visit here|"
    "check it out|check this out|check out|source|sources|original|original article|original post|"
    "reference|ref|via|url|blog|download|download here|next|previous|prev|back|top|here s|website link|"
    # German
    "hier|hier klicken|klicken sie hier|klick hier|mehr|mehr erfahren|mehr lesen|mehr dazu|mehr info|"
    "mehr infos|mehr informationen|weiterlesen|weiter lesen|weiter|zum artikel|zur website|zur webseite|"
    "webseite|diese seite|hier lesen|jetzt lesen|quelle|zur quelle|link|details|"
    # French
    "ici|cliquez ici|cliquer ici|clique ici|en savoir plus|lire la suite|la suite|suite|lire plus|plus|"
    "voir plus|voir|source|site|site web|ce site|lien|ce lien|plus d infos|plus d information|"
    "plus d informations|lire l article|l article|"
    # Spanish
    "aquí|haga clic aquí|haz clic aquí|clic aquí|click aquí|pulse aquí|pincha aquí|leer más|más|"
    "más información|ver más|seguir leyendo|sigue leyendo|fuente|enlace|este enlace|sitio web|este sitio|"
    "página web|web|"
    # Italian
    "qui|clicca qui|clicca|leggi di più|leggi tutto|di più|continua a leggere|scopri di più|"
    "per saperne di più|fonte|sito|sito web|questo sito|altro|vedi|vedi altro|"
    # Portuguese
    "aqui|clique aqui|clica aqui|leia mais|saiba mais|mais|veja mais|ver mais|continue lendo|"
    "continuar lendo|continuar a ler|este site|"
    # Dutch
    "klik hier|lees meer|meer|meer info|meer informatie|lees verder|verder lezen|bron|deze site|"
    # Polish
    "tutaj|tu|kliknij tutaj|kliknij|więcej|czytaj więcej|czytaj dalej|źródło|strona|"
    # Nordic
    "här|klicka här|läs mer|mer|källa|her|klik her|klikk her|læs mere|les mer|mere|kilde"
)

# Anchors with no letters or digits that still mean "more" or "link"; compared with spaces removed.
_GENERIC_SYMBOLS = frozenset(
    ["»", "»»", "›", "→", "⟶", "➜", "➔", "↗", ">", ">>", "...", "…", "[…]", "[...]", "(...)", "🔗", "#", "¶", "+"]
)

_FUNCTION_WORDS = (
    "a an and at by de del der des die das du el en et for from in la le les of on or the to un une und "
    "y il lo di da do dos das em na no op het een voor van with about your our my für zu mit"
)

_WORD = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
# The soft hyphen and zero-width (non-)joiners sit inside words ("Wiki\u00adpedia"): dropped. Other
# invisible characters (zero-width space, word joiner, BOM) separate words like a space does.
_JOINERS = "\u00ad\u200c\u200d"
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# Scripts whose text runs words together: a term in them is matched as a substring. NFKD turns
# Hangul syllables into conjoining jamo (U+1100-U+11FF), hence that range.
_NO_SPACE = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)


def _combining_class() -> re.Pattern[str]:
    """A regex class of the BMP code points with a non-zero canonical combining class (accents and
    other marks) and of the joiners, built once: it strips them ~4x faster than testing each character. (Astral
    ranges would turn the class into a linear scan; those marks are handled in :func:`_words`.)"""
    ranges: list[list[int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.combining(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return re.compile("[" + _JOINERS + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]+")


# str.translate with a deletion table costs ~10x more than this on non-ASCII text.
_MARKS = _combining_class()
_INVISIBLE_RE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]+")


def _words(text: str) -> list[str]:
    """The normalised words of ``text`` (see the module docstring)."""
    if text.isascii():
        # Most anchors: ASCII, often plain words, where str.split is ~3x faster than the regex.
        low = text.lower()
        return low.split() if low.replace(" ", "").isalnum() else _ASCII_WORD.findall(low)
    text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    if _ASTRAL.search(text):
        text = "".join([c for c in text if not unicodedata.combining(c)])
    return _WORD.findall(text.casefold())


def _norm(text: str) -> str:
    return " ".join(_words(text))


#: Anchors that say nothing about the target, matched against the whole normalised anchor (so
#: "Click here!" and "READ MORE »" count, "click here for cheap flights" does not): English,
#: German, French, Spanish, Italian, Portuguese, Dutch, Polish and Nordic phrases.
GENERIC_ANCHORS: frozenset[str] = frozenset(_norm(p) for p in _GENERIC_TEXT.split("|"))

# Function words and one-word generic anchors do not count towards a keyword's "most words" (else
# "learn more" would partially match the keyword "learn more about pizza").
_STOPWORDS = frozenset(_norm(w) for w in _FUNCTION_WORDS.split()) | {p for p in GENERIC_ANCHORS if " " not in p}


def _as_terms(terms: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(terms, str):  # brands="acme" would otherwise iterate its letters
        terms = (terms,)
    out: dict[str, None] = {}
    for t in terms:
        n = _norm(t)
        if n:
            out[n] = None
    return tuple(out)


@dataclass(frozen=True)
class AnchorProfile:
    """The brand terms and target keywords of one site.

    ``brands`` and ``keywords`` are stored normalised (lower case, no accents, words separated by
    one space) and de-duplicated, so ``AnchorProfile(("ACME Inc.",))`` has ``brands ==
    ("acme inc",)`` and compares equal to ``AnchorProfile(("acme inc",))``.

    * A **brand** term matches where a run of consecutive anchor words spells it, with or without
      the spaces: the brand ``new york times`` matches "The New York Times", "NewYorkTimes" and
      "new-york-times"; ``nytimes`` matches "NYTimes" and "NY Times" but not "New York Times"
      (add that as a brand).
    * A **keyword** is an exact match when the anchor's words are exactly its words, and a partial
      match when the anchor contains at least half (rounded up) of its significant words — words
      that are not function words ("the", "of", "für" ...) or one-word generic anchors ("more",
      "here" ...); a keyword made only of those counts all its words.

    The profile also memoises classifications (not part of equality or the repr).
    """

    brands: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    _brands: tuple[tuple[str, bool], ...] = field(init=False, repr=False, compare=False)
    _exact: frozenset[str] = field(init=False, repr=False, compare=False)
    _partial: tuple[tuple[frozenset[str], int], ...] = field(init=False, repr=False, compare=False)
    _keyword_words: frozenset[str] = field(init=False, repr=False, compare=False)
    _nospace_keywords: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _memo: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        brands, keywords = _as_terms(self.brands), _as_terms(self.keywords)
        setattr_ = object.__setattr__
        setattr_(self, "brands", brands)
        setattr_(self, "keywords", keywords)
        # Brands are compared with the anchor's words joined without spaces (see _spells).
        setattr_(self, "_brands", tuple((b.replace(" ", ""), bool(_NO_SPACE.search(b))) for b in brands))
        setattr_(self, "_exact", frozenset(keywords))
        partial = []
        for k in keywords:
            words = frozenset(k.split())
            significant = (words - _STOPWORDS) or words
            partial.append((significant, (len(significant) + 1) // 2))
        setattr_(self, "_partial", tuple(partial))
        setattr_(self, "_keyword_words", frozenset().union(*(w for w, _ in partial)))
        setattr_(self, "_nospace_keywords", tuple(k.replace(" ", "") for k in keywords if _NO_SPACE.search(k)))
        setattr_(self, "_memo", {})

    @classmethod
    def for_target(cls, domain_or_host: str, brands: Sequence[str] = (), keywords: Sequence[str] = ()) -> AnchorProfile:
        """A profile for a site, with its default brand term added to ``brands``.

        ``domain_or_host`` is anything :func:`linkback.urls.parse_target` reads (a domain, host or
        URL prefix; it raises :class:`~linkback.errors.TargetError` otherwise). The default brand
        is the label of its registrable domain before the public suffix — ``www.nytimes.com`` →
        ``nytimes``, ``new-york-times.co.uk`` → ``new york times`` (hyphens read as spaces, so the
        hyphenated, spaced and run-together forms all match), ``xn--bcher-kva.de`` → ``bücher``.
        An IP address gives no default brand.

        >>> AnchorProfile.for_target("https://www.new-york-times.co.uk/news", brands=("NYT",)).brands
        ('new york times', 'nyt')
        """
        target = parse_target(domain_or_host)
        suffix = split_host(target.domain).suffix
        derived: list[str] = []
        if suffix and target.domain != suffix:
            label = target.domain[: -len(suffix) - 1].rsplit(".", 1)[-1]
            if label.startswith("xn--"):
                try:
                    label = codecs.decode(label[4:].encode("ascii"), "punycode")
                except (UnicodeError, ValueError):
                    pass  # keep the ASCII form: an anchor will not spell it, but nothing breaks
            derived.append(label.replace("-", " "))
        if isinstance(brands, str):
            brands = (brands,)
        return cls(tuple(derived) + tuple(brands), _as_terms(keywords))


# --- classification ----------------------------------------------------------------------------

_EMPTY = object()  # memo value for whitespace-only anchors: the class depends on the kind
_STRIP_AROUND = "<>()[]{}\"'“”‘’«»"
_STRIP_AFTER = ".,;:!?"
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")
_HOST_END = re.compile(r"[/?#:]")
_MEMO_MAX = 1 << 18


def _spells(term: str, compact: str, words: list[str]) -> bool:
    """Whether a run of consecutive ``words`` (joined as ``compact``) spells ``term`` exactly."""
    at = compact.find(term)
    if at < 0:
        return False
    starts, ends, pos = set(), set(), 0
    for w in words:
        starts.add(pos)
        pos += len(w)
        ends.add(pos)
    while at >= 0:
        if at in starts and at + len(term) in ends:
            return True
        at = compact.find(term, at + 1)
    return False


def _url_host(text: str) -> tuple[bool, str]:
    """``(True, "")`` when ``text`` is a URL or a host under a known public suffix; ``(False,
    host)`` when it is a host-like word under an unknown suffix (a naked URL only if it is the
    target's own host, e.g. ``intranet.local``); ``(False, "")`` when it is not a URL at all."""
    t = text.rstrip(_STRIP_AFTER).strip(_STRIP_AROUND).rstrip(_STRIP_AFTER)
    if "." not in t and "://" not in t:
        return False, ""
    if any(c.isspace() for c in t):
        return False, ""
    if "://" in t:
        _, reason = resolve(t, "")
        # Any scheme: "ftp://files.example.com" as link text is a naked URL too.
        return reason in ("", "non_http_scheme"), ""
    if t.startswith("//"):
        t = t[2:]
    hostpart = _HOST_END.split(t, 1)[0]
    if "@" in hostpart or not hostpart or hostpart.startswith("."):
        return False, ""  # an e-mail address, or a word such as ".NET"
    if hostpart.replace(".", "").isdigit() and not _IPV4.match(hostpart):
        return False, ""  # "3.14", "1.2.3": the URL parser would read them as IPv4 addresses
    url, reason = resolve("http://" + t, "")
    if reason:
        return False, ""
    host = host_of(url)
    if _IPV4.match(host) or host.startswith("["):
        return True, ""
    name = host.rstrip(".")
    if _get_psl().privatesuffix(name, accept_unknown=False) is not None:
        return True, ""
    return False, name


@lru_cache(maxsize=4096)
def _target_host(target_url: str) -> str:
    url, reason = resolve(target_url, "")
    return "" if reason else host_of(url).rstrip(".")


def _classify(anchor: str, profile: AnchorProfile) -> object:
    """The class of a non-empty anchor string, or a memo value (see :func:`classify_anchor`)."""
    text = anchor.strip()
    if not text:
        return _EMPTY
    host = ""
    if "." in text or "/" in text:
        is_url, host = _url_host(text)
        if is_url:
            return "naked_url"
    words = _words(text)
    if not words:
        symbols = _INVISIBLE_RE.sub("", "".join(text.split()))
        if not symbols:
            return _EMPTY
        return "generic" if symbols in _GENERIC_SYMBOLS else "other"
    rest = _classify_words(words, profile)
    return (host, rest) if host else rest


def _classify_words(words: list[str], profile: AnchorProfile) -> str:
    compact = "".join(words)
    for term, nospace in profile._brands:
        if term in compact and (nospace or _spells(term, compact, words)):
            return "branded"
    joined = " ".join(words)
    if joined in profile._exact:
        return "exact_match"
    if profile._partial:
        present = set(words)
        if not present.isdisjoint(profile._keyword_words):
            for significant, need in profile._partial:
                if len(significant & present) >= need:
                    return "partial_match"
        for k in profile._nospace_keywords:
            if k in compact:
                return "partial_match"
    if joined in GENERIC_ANCHORS:
        return "generic"
    return "other"


def classify_anchor(anchor: str | None, *, kind: str, target_url: str, profile: AnchorProfile) -> str:
    """The class of one link's anchor: one of :data:`ANCHOR_CLASSES`, the first rule that applies.

    1. **empty / image** — the anchor is missing, blank or only zero-width characters: ``"image"``
       when ``kind == "image"`` (an image link without alt text), else ``"empty"`` (also what
       redirects, canonicals and other kinds without text get).
    2. **naked_url** — the anchor is a URL or a bare host: with or without a scheme, ``www.``, a
       path or a trailing slash, possibly in ``<>``/quotes/brackets or followed by punctuation;
       any scheme with ``://``; a bare host needs a known public suffix (``example.com``, not
       ``node.js``), or to be the target's own host (``intranet.local`` linking to
       ``http://intranet.local/``), or an IPv4/IPv6 address. E-mail addresses are not URLs.
    3. **branded** — the anchor contains a brand term (see :class:`AnchorProfile`).
    4. **exact_match** — the anchor's words are exactly a keyword's words.
    5. **partial_match** — the anchor contains at least half of a keyword's significant words.
    6. **generic** — the whole anchor is in :data:`GENERIC_ANCHORS` ("click here", "hier",
       "en savoir plus" ...), or is only an arrow/ellipsis such as "»" or "[…]".
    7. **other** — anything else.

    An image link with alt text (``kind="image"``, the alt as anchor) goes through rules 2–7 like
    text: alt "Example logo" is ``"branded"`` for the brand ``example``.
    """
    if not anchor:
        return "image" if kind == "image" else "empty"
    memo = profile._memo
    result = memo.get(anchor)
    if result is None:
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        result = memo[anchor] = _classify(anchor, profile)
    if result.__class__ is str:
        return result
    if result is _EMPTY:
        return "image" if kind == "image" else "empty"
    host, rest = cast("tuple[str, str]", result)  # the memo's third kind of value (see _classify)
    return "naked_url" if host == _target_host(target_url) else rest


def classify_anchors(
    anchors: Sequence[str | None], kinds: Sequence[str], target_urls: Sequence[str], profile: AnchorProfile
) -> list[str]:
    """:func:`classify_anchor` over parallel sequences (one entry per link), memoised per anchor
    text: the target URL is consulted only for host-like anchors under unknown suffixes."""
    if not len(anchors) == len(kinds) == len(target_urls):
        raise ValueError(
            f"anchors, kinds and target_urls differ in length: {len(anchors)}, {len(kinds)}, {len(target_urls)}"
        )
    memo = profile._memo
    get = memo.get
    out: list[str] = []
    append = out.append
    for anchor, kind, target_url in zip(anchors, kinds, target_urls):
        if not anchor:
            append("image" if kind == "image" else "empty")
            continue
        result = get(anchor)
        if result is None:
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            result = memo[anchor] = _classify(anchor, profile)
        if result.__class__ is str:
            append(result)
        elif result is _EMPTY:
            append("image" if kind == "image" else "empty")
        else:
            host, rest = cast("tuple[str, str]", result)
            append("naked_url" if host == _target_host(target_url) else rest)
    return out
