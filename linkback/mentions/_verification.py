"""Verifying one mention: fetch the source, find the link, read the entry, score it (WM §3.2.2).

The job runner calls :func:`verify` from worker threads; it does the fetching and nothing else
that touches the store: what it needs from the database comes in :class:`Known`, and what it
found goes back as an :class:`~linkback.mentions._store.Outcome` plus the source page extracted once, which
the runner adds to the backlink index (extracted once, here: its link counts are a spam signal),
with the link that verified the mention whatever the source's type (:func:`source_batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from linkback.batches import ExtractedBatch, batch_of
from linkback.errors import BlockedAddress, FetchError, FetchLimit, URLError
from linkback.extract import DEFAULT_LIMITS, ParsedPage, extract
from linkback.fetch import Fetcher, FetchLimits
from linkback.mentions._moderation import SpamFacts, decide, spam_score, spam_signals
from linkback.mentions._sites import page_key
from linkback.mentions._store import Outcome
from linkback.protocols._mf2 import interpret
from linkback.protocols._verify import LinkCheck, find_link_in
from linkback.records import FetchedPage, Link
from linkback.urls import host_of, normalize, split_host


@dataclass(frozen=True, slots=True)
class Known:
    """What the store knows that bears on one mention (looked up by the runner)."""

    policy: str = "auto"
    rule: str | None = None
    source_toxicity: int | None = None
    source_domain_known: bool = True
    approved_from_host: int = 0
    extra_words: Sequence[str] = ()


HTML_TYPES = ("text/html", "application/xhtml+xml")


def verify(
    row: dict,
    fetcher: Fetcher,
    known: Known,
    *,
    resolve_source: Callable[[str], Sequence[str]] | None = None,
) -> tuple[Outcome, ExtractedBatch | None]:
    """Verify the mention ``row`` (source, target, protocol, sender_ip... from the store).

    ``resolve_source`` gives the addresses of the source host, for the TrackBack/Pingback
    sender check; without it that signal is not used.
    """
    source, target, protocol = row["source"], row["target"], row["protocol"]
    if known.rule == "block":
        return Outcome("rejected", "blocked"), None
    try:
        result = fetcher.fetch(source)
    except BlockedAddress as exc:
        return Outcome("rejected", f"source_blocked_address:{exc.reason}"), None
    except FetchLimit as exc:
        if exc.reason == "timeout":
            return Outcome("retry", "source_timeout"), None
        return Outcome("rejected", f"source_{exc.reason}"), None
    except FetchError as exc:
        if exc.reason == "url":  # a URL the fetcher never fetches (user:password@...): no retry helps
            return Outcome("rejected", "source_url"), None
        return Outcome("retry", f"source_{exc.reason}"), None

    if result.status == 410:
        return Outcome("deleted", "gone"), None
    if result.status >= 500 or result.status == 429:
        return Outcome("retry", f"source_status_{result.status}"), None
    if result.status >= 400 or result.status < 200:
        return Outcome("rejected" if result.status != 404 else "deleted", "source_not_found"), None

    # One decoding and one parse of the source serve the link check, the microformats and the index.
    parsed = ParsedPage(result.to_fetched_page(via=protocol), charset=result.charset)
    check = find_link_in(parsed, target)
    if check.meta_gone:
        return Outcome("deleted", "gone"), None
    if not check.found:
        return Outcome("deleted", check.reason or "no_link_found"), None
    extracted = source_batch(parsed, target, check)
    if _is_the_target(result.final_url or source, extracted, target):
        # /post?v=1 or /%70ost is the post itself when it ends there or names it as canonical:
        # a page does not mention itself, however many URLs reach it.
        return Outcome("rejected", "source_is_target"), None

    is_html = result.content_type in HTML_TYPES
    content: dict = {"url": source, "name": check.title or row.get("name") or "", "summary": check.excerpt}
    has_date = False
    published = None
    if is_html:
        found = interpret(
            parsed,
            result.final_url or source,
            target,
            excerpt=check.excerpt,
            fetch_author_page=lambda url: _author_page(fetcher, url),
        )
        content = {
            "type": found.type,
            "wm_property": found.property,
            "rsvp": found.rsvp,
            "author_name": found.author.name or row.get("author_name") or "",
            "author_url": found.author.url,
            "author_photo": found.author.photo,
            "url": found.url or source,
            "published": found.published,
            "name": found.name or row.get("name") or "",
            "content_html": found.content_html,
            "content_text": found.content_text,
            "summary": found.summary or check.excerpt,
        }
        has_date = found.published is not None
        published = found.published
    else:
        content.update(type="mention", wm_property="mention-of", author_name=row.get("author_name") or "")

    addresses: Sequence[str] = ()
    if resolve_source is not None and protocol in ("trackback", "pingback") and row.get("sender_ip"):
        try:
            addresses = resolve_source(host_of(result.final_url or source))
        except (OSError, FetchError):
            addresses = ()
    outlinks = _outlinks(extracted)
    fired = spam_signals(
        SpamFacts(
            protocol=protocol,
            section=check.section,
            outlinks=outlinks,
            sender_ip=row.get("sender_ip") or "",
            source_addresses=addresses,
            text=" ".join(str(content.get(k) or "") for k in ("name", "content_text", "summary", "author_name")),
            extra_words=known.extra_words,
            source_toxicity=known.source_toxicity,
            source_domain_known=known.source_domain_known,
            has_date=has_date,
            approved_from_host=known.approved_from_host,
            element=check.element,
            published=published,
            checked_at=result.fetched_at or datetime.now(UTC),
        )
    )
    score = spam_score(fired)
    outcome = Outcome(
        "verified",
        content=content,
        spam_score=score,
        spam_reasons=tuple(fired),
        decision=decide(known.policy, known.rule, score, protocol=protocol),
    )
    return outcome, extracted


#: What the index calls the link verification found, by the element that held it (a JSON
#: property or a URL in plain text is a link to the reader as much as an ``a`` is: "text").
_LINK_KIND = {"img": "image", "video": "image", "audio": "image", "source": "image", "iframe": "frame"}


def _is_the_target(final_url: str, extracted: ExtractedBatch, target: str) -> bool:
    """Is the source, where it ended or by its rel=canonical, the target page?"""
    try:
        wanted = page_key(normalize(target))
        names = [normalize(final_url)]
    except URLError:
        return False
    canonical = extracted.observations.column("canonical")
    if len(canonical) and canonical[0].as_py():
        names.append(canonical[0].as_py())
    return any(page_key(name) == wanted for name in names)


def source_batch(page: FetchedPage | ParsedPage, target: str, check: LinkCheck) -> ExtractedBatch:
    """The source page as the index stores it, with the link verification found.

    Extraction finds the ``a`` and ``img`` links of an HTML page; the link that verified the
    mention may be one it does not read (a JSON property, a URL in a text/plain page, a
    ``video``/``audio`` source, a bare ``img``). The issue wants every verified mention to be a
    link in the index, so that link is added to the page's links when extraction did not find
    it: one row, source → target, ``via`` the protocol, in the section verification saw it, its
    anchor the matched text (the URL itself in plain text, empty in JSON). The batch then goes
    through the same store path (:func:`linkback.ingest.record_extracted`) as any page.
    """
    facts, links = extract(page)
    try:
        wanted = normalize(target)
    except URLError:
        wanted = ""
    usable = facts.host and facts.status < 300  # a page the index keeps links of
    if wanted and usable and not any(link.target_url == wanted for link in links):
        thp = split_host(host_of(wanted))
        doc = facts.final_url or facts.url
        kind = _LINK_KIND.get(check.element, "text")
        link = Link(
            wanted,
            thp.host,
            thp.domain,
            thp.rhost,
            anchor=(check.anchor if check.element != "json" else "")[: DEFAULT_LIMITS.max_anchor_chars],
            nofollow=facts.nofollow,
            kind=kind,
            section=check.section or "content",
            context=_context(check.excerpt, check.anchor, DEFAULT_LIMITS.max_context_chars),
            internal=thp.domain == split_host(host_of(doc)).domain,
        )
        links = [*links, link]
        if kind in ("text", "image"):  # extraction's outlink counts, kept consistent
            count = "n_internal" if link.internal else "n_external"
            facts = replace(facts, **{count: getattr(facts, count) + 1})
    return batch_of([(facts, links)])


def _context(excerpt: str, anchor: str, size: int) -> str:
    """About ``size`` characters of ``excerpt`` around ``anchor``, as extraction keeps them."""
    text = " ".join(excerpt.split())
    if len(text) <= size:
        return text
    at = text.find(anchor) if anchor else -1
    start = max(0, min(len(text) - size, at + len(anchor) // 2 - size // 2)) if at >= 0 else 0
    return text[start : start + size].strip()


AUTHOR_PAGE_LIMITS = FetchLimits(max_redirects=5, max_bytes=500_000, timeout=5.0)


def _author_page(fetcher: Fetcher, url: str) -> ParsedPage | None:
    """The author page the authorship algorithm asks for (same guard, tighter limits)."""
    try:
        result = fetcher.fetch(url, accept="text/html", limits=AUTHOR_PAGE_LIMITS)
    except FetchError:
        return None
    if result.status != 200 or result.content_type not in HTML_TYPES:
        return None
    return ParsedPage(result.to_fetched_page(via="author"), charset=result.charset)


def _outlinks(extracted: ExtractedBatch | None) -> int:
    """Outlinks of the source page as the index counts them (internal + external)."""
    if extracted is None:
        return 0
    obs = extracted.observations
    return sum(obs.column(name)[0].as_py() or 0 for name in ("n_internal", "n_external"))
