"""The toxicity signals: one registry (:data:`SIGNALS`) that the scoring code, ``docs/toxicity.md``
and the tests all read, the thresholds and vocabularies each signal uses, how fired signals
combine into 0–100, and how the allow and deny lists are read.

A signal's weight is the toxicity it gives on its own; several combine as a noisy-OR,
``100 · (1 − Π(1 − weight))``, so each one adds to the score and the score never passes 100.

**Evidence.** A signal that judges how a site behaves needs enough of the site to judge: one or two
crawled pages of a domain say nothing of how it links. The page-based domain signals need at least
``*_MIN_PAGES`` of the domain's HTML pages and count with a weight in proportion to them up to
``FULL_EVIDENCE_PAGES`` (their *strength*); the link signals that mean repetition count distinct
pages, of one host where a template is meant. The reports say how much evidence each signal had.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import duckdb

from linkback.errors import URLError
from linkback.urls import normalize, registrable_domain_or_none, split_host

# --- thresholds (docs/toxicity.md quotes these names) ------------------------------------------

#: link_farm: a domain needs dofollow links to at least this many domains ...
LINK_FARM_MIN_LINKED_DOMAINS = 50
#: ... and at least this many linked domains per HTML page of its own in the store ...
LINK_FARM_MIN_DOMAINS_PER_PAGE = 10.0
#: ... of which it needs at least this many: one or two crawled pages of a site are not a link farm.
LINK_FARM_MIN_PAGES = 3

#: The page-based domain signals (link_farm, thin_page) have their full weight from this many HTML
#: pages of the domain on, and a part in proportion below (3 of 10 pages: 0.3 of the weight).
FULL_EVIDENCE_PAGES = 10

#: spammy_name: a registrable label with at least this many digits ...
SPAMMY_MIN_DIGITS = 4
#: ... or at least this many hyphens (an IDN's ``xn--`` prefix does not count) ...
SPAMMY_MIN_HYPHENS = 2
#: ... or at least this many characters.
SPAMMY_MIN_LENGTH = 25

#: low_trust: only domains with at least this Domain Rating ...
LOW_TRUST_MIN_DR = 30.0
#: ... whose TrustRank is below this fraction of their DR (when the run had trust seeds at all).
LOW_TRUST_RATIO = 0.2

#: thin_page: a page with no title, at most this many internal links and a link out is thin ...
THIN_MAX_INTERNAL_LINKS = 2
#: ... and the signal fires when at least this share of a domain's HTML pages are thin ...
THIN_MIN_SHARE = 0.5
#: ... and it has at least this many of them.
THIN_MIN_PAGES = 3

#: spam_neighbour: anti-trust (0–100, propagated backwards from the spam seeds) at least this.
SPAM_NEIGHBOUR_MIN_ANTI_TRUST = 40.0

#: sitewide: the page sections that are repeated templates ...
TEMPLATE_SECTIONS = ("footer", "aside", "nav", "header")
#: ... and how many distinct pages of one source host must link to the target from them (a template
#: belongs to one site: the blogs of a platform such as wordpress.com are many sites of one domain).
SITEWIDE_MIN_PAGES = 5

#: identical_anchors: one source domain uses one (non-empty) anchor for the target on this many
#: distinct pages (the same anchor repeated on one page, e.g. a share button per comment, is one page).
IDENTICAL_ANCHOR_MIN_PAGES = 10

#: off_topic: title words shorter than this are not content words.
OFF_TOPIC_MIN_WORD_LENGTH = 3
#: off_topic: the target's topic needs the titles of at least this many of its pages.
OFF_TOPIC_MIN_TARGET_PAGES = 3
#: off_topic: a domain's category (``linkback categorize``) is used when at least this sure (0–1).
OFF_TOPIC_MIN_CATEGORY_CONFIDENCE = 0.3

# The most abused TLDs in Spamhaus's rankings (https://www.spamhaus.org/statistics/tlds/, now
# https://www.spamhaus.org/reputation-statistics/), 2016-2024, plus Freenom's free TLDs (tk, ml,
# ga, cf, gq), reported as the top phishing TLDs by Interisle's Phishing Landscape 2022. Large
# ccTLDs that rank high by count (cn, ru) are left out: most of their sites are ordinary ones.
SPAM_TLDS = frozenset(
    "accountant bar bid bond buzz cam cf cfd click cricket cyou date download faith fit ga gdn gq icu"
    " loan men ml monster party quest racing rest review sbs science stream tk top trade webcam win work xyz"
    " zip".split()
)

# Terms of the niches that buy links (gambling, pharma, payday loans, counterfeits, adult, essay
# mills) and their buying words, in English, German, French, Spanish, Italian, Portuguese and Dutch;
# matched as whole words after folding case and accents, so "Préstamos" matches "prestamos".
COMMERCIAL_TERMS = frozenset(
    (
        "casino|casinos|online casino|poker|slots|slot machines|free spins|betting|sportsbook|gambling|"
        "payday loan|payday loans|cash advance|viagra|cialis|levitra|online pharmacy|replica|replicas|"
        "cheap|buy|discount|porn|xxx|escort|escorts|essay writing|write my essay|weight loss|diet pills|"
        "forex|binary options|"
        "kaufen|günstig|billig|kredit|spielautomaten|"  # German
        "acheter|pas cher|prêt rapide|crédit rapide|casino en ligne|"  # French
        "comprar|barato|préstamo|préstamos|apuestas|"  # Spanish (and Portuguese comprar, barato)
        "comprare|economico|scommesse|prestito|"  # Italian
        "apostas|empréstimo|"  # Portuguese
        "kopen|goedkoop|lening"  # Dutch
    ).split("|")
)


@dataclass(frozen=True)
class Signal:
    """One toxicity signal: ``level`` "domain" (of the linking domain, scored for every domain by
    :func:`~linkback.quality.score_domains`) or "link" (of one backlink to a target)."""

    name: str
    level: str
    weight: float
    description: str  # what fires it
    why: str  # why it goes with link spam


#: Every signal, in the order reports list them.
SIGNALS: tuple[Signal, ...] = (
    Signal(
        "link_farm",
        "domain",
        0.5,
        f"The domain has dofollow links to at least `LINK_FARM_MIN_LINKED_DOMAINS` ({LINK_FARM_MIN_LINKED_DOMAINS})"
        f" domains and at least `LINK_FARM_MIN_DOMAINS_PER_PAGE` ({LINK_FARM_MIN_DOMAINS_PER_PAGE:g}) linked domains"
        f" per HTML page it has in the store, and has at least `LINK_FARM_MIN_PAGES` ({LINK_FARM_MIN_PAGES}) such"
        f" pages. Full weight from `FULL_EVIDENCE_PAGES` ({FULL_EVIDENCE_PAGES}) pages, in proportion below.",
        "Pages that exist to link out to many unrelated sites are the definition of a link farm;"
        " editorial sites link to a few domains per page.",
    ),
    Signal(
        "spam_tld",
        "domain",
        0.25,
        "The domain's TLD is in `SPAM_TLDS`: the most abused TLDs in Spamhaus's rankings and the free Freenom TLDs.",
        "Cheap or free TLDs are registered in bulk for throw-away spam and link networks.",
    ),
    Signal(
        "spammy_name",
        "domain",
        0.15,
        f"The label before the public suffix has at least `SPAMMY_MIN_DIGITS` ({SPAMMY_MIN_DIGITS}) digits, or"
        f" `SPAMMY_MIN_HYPHENS` ({SPAMMY_MIN_HYPHENS}) hyphens, or `SPAMMY_MIN_LENGTH` ({SPAMMY_MIN_LENGTH})"
        " characters. IDN (`xn--`) labels and IP addresses are not judged.",
        "Generated and keyword-stuffed names (best-cheap-loans-2024) are typical of bulk-registered"
        " domains; real brands are short.",
    ),
    Signal(
        "low_trust",
        "domain",
        0.3,
        f"The run had trust seeds, the domain's DR is at least `LOW_TRUST_MIN_DR` ({LOW_TRUST_MIN_DR:g}) and its"
        f" TrustRank is below `LOW_TRUST_RATIO` ({LOW_TRUST_RATIO:g}) times its DR.",
        "Authority that does not come from the trusted part of the web was usually built with links"
        " (Majestic's Trust Flow versus Citation Flow).",
    ),
    Signal(
        "thin_page",
        "domain",
        0.3,
        f"At least `THIN_MIN_SHARE` ({THIN_MIN_SHARE:g}) of the domain's HTML pages in the store, and at least"
        f" `THIN_MIN_PAGES` ({THIN_MIN_PAGES}) of them, have no title, at most `THIN_MAX_INTERNAL_LINKS`"
        f" ({THIN_MAX_INTERNAL_LINKS}) internal links and a link out. Full weight from `FULL_EVIDENCE_PAGES`"
        f" ({FULL_EVIDENCE_PAGES}) pages, in proportion below. An approximation: the store keeps no page text.",
        "Pages with no title and no navigation are doorway and auto-generated pages made to carry links.",
    ),
    Signal(
        "spam_neighbour",
        "domain",
        0.5,
        f"The domain's anti-trust is at least `SPAM_NEIGHBOUR_MIN_ANTI_TRUST` ({SPAM_NEIGHBOUR_MIN_ANTI_TRUST:g}):"
        " it links, directly or in a few steps, to the spam seeds or the deny list.",
        "Sites that link to spam are usually part of the same network.",
    ),
    Signal(
        "sitewide",
        "link",
        0.3,
        f"The link sits in a template section (`TEMPLATE_SECTIONS`: {', '.join(TEMPLATE_SECTIONS)}) and its source"
        f" host links to the target from such sections on at least `SITEWIDE_MIN_PAGES` ({SITEWIDE_MIN_PAGES})"
        " pages.",
        "Footer and sidebar links repeated on every page are how links are sold and exchanged.",
    ),
    Signal(
        "comment_section",
        "link",
        0.3,
        "The link is in a comment section.",
        "Comments are open to anyone; comment spam is the cheapest link there is.",
    ),
    Signal(
        "commercial_anchor",
        "link",
        0.35,
        "The anchor is an exact match for one of the target's keywords (`site_profiles`), or contains a"
        " term of `COMMERCIAL_TERMS` (casino, payday loan, viagra, replica, cheap, buy ... in 7 languages)"
        " and is not the target's brand or URL.",
        "People link with the site's name or URL; exact money keywords are what paid links ask for.",
    ),
    Signal(
        "identical_anchors",
        "link",
        0.3,
        "The source domain links to the target with this same non-empty anchor (case folded) from at least"
        f" `IDENTICAL_ANCHOR_MIN_PAGES` ({IDENTICAL_ANCHOR_MIN_PAGES}) pages.",
        "One anchor repeated across a site is placed, not written.",
    ),
    Signal(
        "reciprocal",
        "link",
        0.25,
        "The target's domain has a live dofollow link back to the source domain (A↔B).",
        "Link exchanges: two sites linking to each other to pass rank.",
    ),
    Signal(
        "link_cycle",
        "link",
        0.2,
        "Live dofollow links close a cycle of three domains: the target's domain links to a domain"
        " that links to the source domain; not when `reciprocal` fires (the cycle is then no more evidence).",
        "Three-way exchanges hide a reciprocal link (A→B→C→A).",
    ),
    Signal(
        "off_topic",
        "link",
        0.2,
        f"The source page's title shares no content word (`OFF_TOPIC_MIN_WORD_LENGTH` ({OFF_TOPIC_MIN_WORD_LENGTH})"
        " letters or more, not a stop word) with any title of the target's pages in the store; only when the"
        f" target has at least `OFF_TOPIC_MIN_TARGET_PAGES` ({OFF_TOPIC_MIN_TARGET_PAGES}) titled pages and the"
        " source page is not in a language none of them is in. The categories of `linkback categorize` come"
        " first where the source and target domains both have one at least `OFF_TOPIC_MIN_CATEGORY_CONFIDENCE`"
        f" ({OFF_TOPIC_MIN_CATEGORY_CONFIDENCE:g}) sure: the same Tier-1 category never fires; a different one"
        " fires when the target has too few titled pages to compare titles.",
        "Links from pages about something else were rarely given for the content.",
    ),
)

WEIGHTS: dict[str, float] = {s.name: s.weight for s in SIGNALS}
DOMAIN_SIGNALS: tuple[Signal, ...] = tuple(s for s in SIGNALS if s.level == "domain")
LINK_SIGNALS: tuple[Signal, ...] = tuple(s for s in SIGNALS if s.level == "link")
assert SIGNALS == DOMAIN_SIGNALS + LINK_SIGNALS, "domain signals come first: their bits are a link's low bits"

#: What an allow-listed source gets instead of its signals (score 0), and a deny-listed one (100).
ALLOWED, DENIED = "allowed", "denied"

#: Each signal's bit (its index in SIGNALS): the SQL carries a link's or a domain's signals as one
#: integer and looks its score up in :func:`score_table`.
BITS: dict[str, int] = {s.name: 1 << i for i, s in enumerate(SIGNALS)}


#: The domain signals whose weight depends on how many of the domain's pages the store has.
PAGE_SIGNALS = ("link_farm", "thin_page")


def evidence_strength(pages: int) -> float:
    """The part of a page-based signal's weight that ``pages`` HTML pages of a domain give it: in
    proportion up to :data:`FULL_EVIDENCE_PAGES`, then all of it."""
    return min(1.0, max(0, pages) / FULL_EVIDENCE_PAGES)


def combine(fired: Iterable[str] | Mapping[str, float]) -> int:
    """0–100 from the fired signals: ``100 · (1 − Π(1 − weight · strength))``, half rounded up.

    ``fired`` is their names (each with its full weight) or a mapping of names to strengths 0–1
    (:func:`evidence_strength` for the page-based ones)."""
    strengths = dict(fired) if isinstance(fired, Mapping) else dict.fromkeys(fired, 1.0)
    keep = 1.0
    for s in SIGNALS:
        if s.name in strengths:
            keep *= 1.0 - s.weight * min(1.0, max(0.0, strengths[s.name]))
    return math.floor(100.0 * (1.0 - keep) + 0.5)


def keep_table(signals: tuple[Signal, ...]) -> tuple[float, ...]:
    """``Π(1 − weight)`` of every bitmask over ``signals`` (bit i is ``signals[i]``), for the SQL to
    look up (``table[mask + 1]``): the part of a score the signals leave."""
    out = []
    for mask in range(1 << len(signals)):
        keep = 1.0
        for i, s in enumerate(signals):
            if mask >> i & 1:
                keep *= 1.0 - s.weight
        out.append(keep)
    return tuple(out)


def names_of(mask: int) -> list[str]:
    """The names of the signals in a bitmask of :data:`BITS`, in :data:`SIGNALS` order."""
    return [name for name, bit in BITS.items() if mask & bit]


@lru_cache(maxsize=1)
def score_table() -> tuple[int, ...]:
    """:func:`combine` of every bitmask, for the SQL to look up (``table[mask + 1]``)."""
    return tuple(combine(names_of(mask)) for mask in range(1 << len(SIGNALS)))


def signals_table() -> str:
    """The Markdown table of :data:`SIGNALS` that docs/toxicity.md carries (a test keeps it current)."""
    rows = ["| signal | level | weight | fires when | why it goes with spam |", "|---|---|---|---|---|"]
    for s in SIGNALS:
        rows.append(f"| `{s.name}` | {s.level} | {s.weight:g} | {s.description} | {s.why} |")
    return "\n".join(rows) + "\n"


# --- words, for commercial anchors and off-topic titles ----------------------------------------

_WORD = re.compile(r"[^\W_]+")

#: off_topic: stop words and the words every site's titles use (English, German, French, Spanish,
#: Italian, Dutch); a title left with none has no topic to compare.
OFF_TOPIC_STOPWORDS = frozenset(
    """the and for with from about your our you are this that these how what why when who was were
    not but all any new more best top home page welcome blog news index default untitled official
    site website online com net org www html http https
    der die das und mit von für fur ist ein eine den dem des auf aus bei nicht sie wir
    les des une pour avec dans sur par est pas vous nous qui que
    los las una para con por del como que mas sus
    gli della delle per con che non una
    het een van voor met niet zijn
    """.split()
)


def _fold(text: str) -> str:
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.casefold()


def words(text: str | None) -> list[str]:
    """The words of ``text``, case and accents folded ("Préstamos!" → ``["prestamos"]``)."""
    return _WORD.findall(_fold(text)) if text else []


def _phrases(terms: frozenset[str]) -> dict[int, frozenset[str]]:
    by_length: dict[int, set[str]] = {}
    for term in terms:
        folded = " ".join(words(term))
        if folded:
            by_length.setdefault(folded.count(" ") + 1, set()).add(folded)
    return {n: frozenset(v) for n, v in by_length.items()}


_COMMERCIAL = _phrases(COMMERCIAL_TERMS)


def has_commercial_term(anchor: str | None) -> bool:
    """Whether ``anchor`` contains a :data:`COMMERCIAL_TERMS` phrase as whole words."""
    ws = words(anchor)
    for n, phrases in _COMMERCIAL.items():
        for i in range(len(ws) - n + 1):
            if " ".join(ws[i : i + n]) in phrases:
                return True
    return False


def title_words_sql(column: str) -> str:
    """SQL for the content words of the title in ``column``: letters only, lower case without
    accents, at least ``$min_word`` letters and not in ``$stopwords`` (bind :func:`title_params`).
    In SQL, not Python, so that a target with millions of backlinks never ships its titles out."""
    return (
        f"list_filter(regexp_split_to_array(strip_accents(lower(coalesce({column}, ''))), '[^\\p{{L}}]+'),"
        " lambda w: length(w) >= $min_word AND NOT list_contains($stopwords, w))"
    )


def title_params() -> dict[str, object]:
    return {"min_word": OFF_TOPIC_MIN_WORD_LENGTH, "stopwords": sorted(OFF_TOPIC_STOPWORDS)}


# --- allow and deny lists ----------------------------------------------------------------------


@dataclass(frozen=True)
class Lists:
    """The lists as ``linkback.quality`` stores them (``normalize_entry``): a URL matches that
    page, a host that host, a domain (or a public suffix) itself and every host under it."""

    urls: dict[str, str]  # stored-form URL -> "allow" | "deny"
    sites: dict[str, str]  # host, domain or public suffix -> "allow" | "deny"


def _put(into: dict[str, str], key: str, verdict: str) -> None:
    # One entry on both lists is a contradiction; deny is the safe reading.
    if into.get(key) != "deny":
        into[key] = verdict


def read_lists(con: duckdb.DuckDBPyConnection) -> Lists:
    """The allow and deny lists of the store, one verdict per entry."""
    urls: dict[str, str] = {}
    sites: dict[str, str] = {}
    for verdict, entry in con.execute(
        "SELECT list, entry FROM quality_lists WHERE list IN ('allow', 'deny')"
    ).fetchall():
        text = (entry or "").strip()
        if text.lower().startswith("domain:"):  # Google's disavow syntax, pasted in
            text = text[len("domain:") :].strip()
        if "/" in text:
            forms = [text] if "://" in text else ["http://" + text, "https://" + text]
            for form in forms:
                _put(urls, form, verdict)
                try:
                    _put(urls, normalize(form), verdict)
                except URLError:
                    pass
        elif text:
            _put(sites, text.lower().rstrip("."), verdict)
    return Lists(urls, sites)


def domain_entries(lists: Lists) -> tuple[dict[str, str], dict[str, str]]:
    """The site entries that cover whole registrable domains: domains themselves (matched exactly)
    and public suffixes or TLDs (matched as suffixes). A host entry covers only part of a domain."""
    exact: dict[str, str] = {}
    suffixes: dict[str, str] = {}
    for entry, verdict in lists.sites.items():
        if registrable_domain_or_none(entry) is None:
            suffixes[entry] = verdict
        elif split_host(entry).domain == entry:
            exact[entry] = verdict
    return exact, suffixes
