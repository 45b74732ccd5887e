"""Spam score of a verified mention, with its reasons, and the site policy's decision.

Each signal is named and weighted; the score is their noisy-OR, ``100 · (1 − Π(1 − w))``, as
for link toxicity. The signals follow what WordPress, Akismet and Simple Trackback Validation
look at (specs/linkback-protocols.md §8): where the link sits, how many links the page has, who
sent it (a TrackBack from an address that is not the source's host), words, the source domain's
toxicity and whether the domain is new to the index, how verification found the link (a markup
link, or only a JSON value or a URL in plain text) and the source's age (a date in the future, a
page a day old on a domain the index has never seen). Earlier approved mentions from the same
host halve the score (``known_sender``).

Moderation by id checks the ids first (:func:`missing_mentions`): an id that names no mention
is an error (:class:`NoSuchMention`), not "0 changed".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from linkback.errors import LinkbackError

if TYPE_CHECKING:
    import duckdb


class SpamSignal(NamedTuple):
    name: str
    weight: float
    doc: str


SPAM_SIGNALS: tuple[SpamSignal, ...] = (
    SpamSignal("link_in_comments", 0.35, "the link to you sits in the source page's comment section"),
    SpamSignal("link_in_boilerplate", 0.2, "the link sits in a nav, header, footer or sidebar, not the content"),
    SpamSignal("link_farm_page", 0.35, "the source page has more than 100 outgoing links"),
    SpamSignal(
        "sender_not_source", 0.5, "a TrackBack or Pingback came from an address the source host does not resolve to"
    ),
    SpamSignal("spam_words", 0.6, "the source's title, content or author contains a spam keyword"),
    SpamSignal("toxic_source", 0.4, "the source domain's toxicity in the latest rank run is 50 or more"),
    SpamSignal("new_source_domain", 0.15, "the index has never seen the source domain before this mention"),
    SpamSignal("no_date", 0.1, "the source gives no publication date (no h-entry dt-published)"),
    # Verification result: an HTML a/area/img/video/audio link is something a reader sees and
    # follows; a JSON property or a URL in a text/plain page satisfies the Recommendation (WM
    # §3.2.2) but is cheap to produce in bulk and shows the reader no link.
    SpamSignal("json_only", 0.15, "the source is JSON: the target is only a property value, not a link on a page"),
    SpamSignal("text_only", 0.2, "the source is plain text: the target URL only appears in it, not as a link"),
    # Source age.
    SpamSignal("future_date", 0.3, "the source says it was published more than a day in the future"),
    SpamSignal(
        "fresh_new_domain",
        0.2,
        "the source was published less than a day ago on a domain the index has never seen (a throwaway site?)",
    ),
)
SPAM_WEIGHTS = {s.name: s.weight for s in SPAM_SIGNALS}
#: Mitigating signal: listed with the reasons, halves the score.
KNOWN_SENDER = "known_sender"

#: Words that mark comment spam in any language users here write in; a site adds its own.
SPAM_WORDS = (
    "viagra", "cialis", "casino", "payday loan", "porn", "xxx", "escort", "replica watches",
    "buy followers", "crypto giveaway", "forex signals", "weight loss pills", "essay writing service",
)  # fmt: skip

APPROVE_BELOW = 30
SPAM_FROM = 70
#: Clock skew and zone-less dates (read as UTC) are forgiven up to this far in the future.
FUTURE_TOLERANCE = timedelta(days=1)
#: A source published less than this before verification is "fresh".
FRESH_SOURCE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SpamFacts:
    protocol: str
    section: str = "content"
    outlinks: int = 0
    sender_ip: str = ""
    source_addresses: Sequence[str] = ()
    text: str = ""
    extra_words: Sequence[str] = ()
    source_toxicity: int | None = None
    source_domain_known: bool = True
    has_date: bool = True
    approved_from_host: int = 0
    #: What held the link (:attr:`linkback.protocols._verify.LinkCheck.element`): ``a``,
    #: ``img``... ``json`` or ``text``; ``""`` when unknown.
    element: str = ""
    #: The source's publication date (aware) and when verification read it.
    published: datetime | None = None
    checked_at: datetime | None = None


def _words_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    terms = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    if not terms:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)")


def spam_signals(facts: SpamFacts) -> list[str]:
    """The names of the signals that fire, in :data:`SPAM_SIGNALS` order (+ ``known_sender``)."""
    fired = []
    if facts.section == "comment":
        fired.append("link_in_comments")
    elif facts.section in ("nav", "header", "footer", "aside"):
        fired.append("link_in_boilerplate")
    if facts.outlinks > 100:
        fired.append("link_farm_page")
    if (
        facts.protocol in ("trackback", "pingback")
        and facts.sender_ip
        and facts.source_addresses
        and facts.sender_ip not in facts.source_addresses
    ):
        fired.append("sender_not_source")
    pattern = _words_pattern((*SPAM_WORDS, *facts.extra_words))
    if pattern is not None and pattern.search(facts.text.lower()):
        fired.append("spam_words")
    if facts.source_toxicity is not None and facts.source_toxicity >= 50:
        fired.append("toxic_source")
    if not facts.source_domain_known:
        fired.append("new_source_domain")
    if not facts.has_date:
        fired.append("no_date")
    if facts.element == "json":
        fired.append("json_only")
    elif facts.element == "text":
        fired.append("text_only")
    if facts.published is not None and facts.checked_at is not None:
        age = facts.checked_at - facts.published
        if age < -FUTURE_TOLERANCE:
            fired.append("future_date")
        elif not facts.source_domain_known and age < FRESH_SOURCE:
            # A page a day old on a domain nobody has linked to or crawled is the pattern of
            # sites registered to send pings; a new-to-us domain with older posts is more likely
            # an established blog the index has not reached (new_source_domain alone covers it).
            fired.append("fresh_new_domain")
    if facts.approved_from_host > 0:
        fired.append(KNOWN_SENDER)
    return fired


def spam_score(fired: Iterable[str]) -> int:
    names = set(fired)
    keep = 1.0
    for name, weight in SPAM_WEIGHTS.items():
        if name in names:
            keep *= 1.0 - weight
    score = 100.0 * (1.0 - keep)
    if KNOWN_SENDER in names:
        score /= 2
    return math.floor(score + 0.5)


def decide(policy: str, rule: str | None, score: int, *, protocol: str = "") -> str:
    """``approved``, ``pending`` or ``spam`` for a verified mention.

    A block rule never gets here (the mention is refused); an allow rule approves whatever the
    score; otherwise a score of :data:`SPAM_FROM` or more is spam, and under the ``auto`` policy
    a score under :data:`APPROVE_BELOW` is approved. ``moderate`` and ``allowlist`` hold the rest.

    A Refback is never approved by policy: spam is still spam, the rest is ``pending``.
    """
    if protocol == "refback":
        # specs/linkback-protocols.md §9 (Refback): "unverified referer never shown; verified
        # one stored `pending`" — as wordpress-refback hands it to moderation with
        # comment_approved=0 (§5). Nobody sent it: the page's author never asked to be listed,
        # the referer may be a forged or private URL (§5: "referrer spam and leaks of private
        # URLs"), so a person decides, whatever the auto-approve policy or allowlist says.
        return "spam" if score >= SPAM_FROM else "pending"
    if rule == "allow":
        return "approved"
    if score >= SPAM_FROM:
        return "spam"
    if policy == "auto" and score < APPROVE_BELOW:
        return "approved"
    return "pending"


class NoSuchMention(LinkbackError):
    """Moderation named mention ids that do not exist: ``ids``, in the order given. Raised
    before anything changes."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = tuple(ids)
        many = len(self.ids) > 1
        super().__init__(f"no mention{'s' if many else ''} {', '.join(map(str, self.ids))}")


def missing_mentions(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> list[int]:
    """The ids among ``ids`` that name no mention, each once, in the order given."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        return []
    rows = con.execute("SELECT mention_id FROM mentions WHERE list_contains(?, mention_id)", [wanted]).fetchall()
    found = {mention_id for (mention_id,) in rows}
    return [i for i in wanted if i not in found]
