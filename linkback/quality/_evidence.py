"""How much evidence each fired signal had, in words: the ``reasons`` that the toxicity reports
and the disavow file give beside the signal names.

A reason is the signal's name, then what it was judged on, e.g. ``link_farm (4 pages, 40% weight;
31 linked domains/page)``, ``sitewide (7 pages of one host)``, ``comment_section (2 of 9 links)``.
The page counts of the domain signals are read when the report is made (the signals themselves
were fired by the last ``linkback rank``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb

from linkback.quality._signals import LINK_SIGNALS, PAGE_SIGNALS, THIN_MAX_INTERNAL_LINKS, evidence_strength

# The same definitions as the scoring SQL of :mod:`linkback.quality._toxicity` (it imports them).
PAGE_OK = "(status IS NULL OR status BETWEEN 200 AND 299)"
# An HTML page: the store keeps no content type, and what it keeps of an image or a robots.txt
# (2xx, not parsed) has no title and no outlinks; an HTML page with neither carries no link either.
HTML = "(trim(coalesce(title, '')) <> '' OR coalesce(n_internal, 0) + coalesce(n_external, 0) > 0)"
THIN = "trim(coalesce(title, '')) = '' AND coalesce(n_internal, 0) <= $thin_internal AND coalesce(n_external, 0) > 0"


@dataclass(frozen=True)
class DomainFacts:
    """What the page-based signals of one domain were judged on."""

    pages: int  # its 2xx HTML pages in the store
    thin: int  # of which thin
    linked_domains: int  # domains it links to (dofollow), in the rank run


def domain_facts(con: duckdb.DuckDBPyConnection, run_id: int, domains: Iterable[str]) -> dict[str, DomainFacts]:
    """:class:`DomainFacts` of ``domains`` (those the reports show with a page-based signal: few)."""
    wanted = sorted(set(domains))
    if not wanted:
        return {}
    rows = con.execute(
        f"""
WITH want AS (SELECT unnest($domains::VARCHAR[]) AS domain),
counted AS (
  SELECT domain, count(*) AS pages, count(*) FILTER (WHERE {THIN}) AS thin FROM pages
  WHERE domain IN (SELECT domain FROM want) AND {PAGE_OK} AND {HTML} GROUP BY domain
)
SELECT w.domain, coalesce(c.pages, 0), coalesce(c.thin, 0), coalesce(r.linked_domains, 0)
FROM want w LEFT JOIN counted c ON c.domain = w.domain
LEFT JOIN domain_ranks r ON r.run_id = $run_id AND r.domain = w.domain""",
        {"domains": wanted, "run_id": run_id, "thin_internal": THIN_MAX_INTERNAL_LINKS},
    ).fetchall()
    return {d: DomainFacts(int(p), int(t), int(n)) for d, p, t, n in rows}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _weight_note(pages: int) -> str:
    strength = evidence_strength(pages)
    return "" if strength >= 1 else f", {strength:.0%} weight"


def domain_reason(name: str, facts: DomainFacts | None) -> str:
    """The reason for a domain signal: with its page counts when it is a page-based one."""
    if facts is None or name not in PAGE_SIGNALS:
        return name
    pages = facts.pages
    if name == "link_farm":
        per_page = facts.linked_domains / max(pages, 1)
        return f"link_farm ({_count(pages, 'page')}{_weight_note(pages)}; {per_page:.0f} linked domains/page)"
    return f"thin_page ({facts.thin} of {_count(pages, 'page')} thin{_weight_note(pages)})"


@dataclass(frozen=True)
class LinkFacts:
    """What the link signals of one link (or of one referring domain's links) were judged on."""

    sitewide_pages: int | None = None  # pages of the source host linking from templates
    identical_pages: int | None = None  # pages of the source domain with the same anchor
    reciprocal_pages: int | None = None  # pages of the target's domain linking back
    topic_pages: int = 0  # titled pages of the target its topic came from
    fired_links: Mapping[str, int] | None = None  # per link signal, how many of the links it fired on
    links: int = 1


def link_reason(name: str, facts: LinkFacts) -> str:
    """The reason for a link signal, with what it counted."""
    notes = []
    if facts.fired_links is not None and facts.links > 1:
        notes.append(f"{facts.fired_links.get(name, 0)} of {facts.links} links")
    if name == "sitewide" and facts.sitewide_pages:
        notes.append(f"{_count(facts.sitewide_pages, 'page')} of one host")
    elif name == "identical_anchors" and facts.identical_pages:
        notes.append(_count(facts.identical_pages, "page"))
    elif name == "reciprocal" and facts.reciprocal_pages:
        n = facts.reciprocal_pages
        notes.append(f"{_count(n, 'page')} {'links' if n == 1 else 'link'} back")
    elif name == "off_topic" and facts.topic_pages:
        notes.append(f"target topic from {_count(facts.topic_pages, 'page')}")
    return f"{name} ({'; '.join(notes)})" if notes else name


_LINK_NAMES = frozenset(s.name for s in LINK_SIGNALS)


def reasons(signals: list[str], domain: DomainFacts | None, link: LinkFacts) -> str:
    """``signals`` (names, in registry order) as one line of reasons, each with its evidence."""
    return ", ".join(link_reason(n, link) if n in _LINK_NAMES else domain_reason(n, domain) for n in signals)
