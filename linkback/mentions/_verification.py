"""Verifying one mention: fetch the source, find the link, read the entry, score it (WM §3.2.2).

The job runner calls :func:`verify` from worker threads; it does the fetching and nothing else
that touches the store: what it needs from the database comes in :class:`Known`, and what it
found goes back as an :class:`~linkback.mentions._store.Outcome` plus the source page extracted once, which
the runner adds to the backlink index (extracted once, here: its link counts are a spam signal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from linkback.errors import BlockedAddress, FetchError, FetchLimit
from linkback.fetch import Fetcher, FetchLimits
from linkback.ingest import ExtractedBatch, extract_batch
from linkback.mentions._moderation import SpamFacts, decide, spam_score, spam_signals
from linkback.mentions._store import Outcome
from linkback.protocols._mf2 import interpret
from linkback.protocols._verify import decode_body, find_link
from linkback.urls import host_of


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
        return Outcome("retry", f"source_{exc.reason}"), None

    if result.status == 410:
        return Outcome("deleted", "gone"), None
    if result.status >= 500 or result.status == 429:
        return Outcome("retry", f"source_status_{result.status}"), None
    if result.status >= 400 or result.status < 200:
        return Outcome("rejected" if result.status != 404 else "deleted", "source_not_found"), None

    check = find_link(result.body, result.content_type, result.final_url or source, target, charset=result.charset)
    if check.meta_gone:
        return Outcome("deleted", "gone"), None
    if not check.found:
        return Outcome("deleted", check.reason or "no_link_found"), None

    is_html = result.content_type in HTML_TYPES
    content: dict = {"url": source, "name": check.title or row.get("name") or "", "summary": check.excerpt}
    has_date = False
    if is_html:
        text = decode_body(result.body, result.content_type, charset=result.charset)
        found = interpret(
            text,
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
    else:
        content.update(type="mention", wm_property="mention-of", author_name=row.get("author_name") or "")

    addresses: Sequence[str] = ()
    if resolve_source is not None and protocol in ("trackback", "pingback") and row.get("sender_ip"):
        try:
            addresses = resolve_source(host_of(result.final_url or source))
        except (OSError, FetchError):
            addresses = ()
    extracted = extract_batch([result.to_fetched_page(via=protocol)]) if is_html else None
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
        )
    )
    score = spam_score(fired)
    outcome = Outcome(
        "verified",
        content=content,
        spam_score=score,
        spam_reasons=tuple(fired),
        decision=decide(known.policy, known.rule, score),
    )
    return outcome, extracted


AUTHOR_PAGE_LIMITS = FetchLimits(max_redirects=5, max_bytes=500_000, timeout=5.0)


def _author_page(fetcher: Fetcher, url: str) -> str | None:
    """The author page the authorship algorithm asks for (same guard, tighter limits)."""
    try:
        result = fetcher.fetch(url, accept="text/html", limits=AUTHOR_PAGE_LIMITS)
    except FetchError:
        return None
    if result.status != 200 or result.content_type not in HTML_TYPES:
        return None
    return result.body.decode(result.charset or "utf-8", errors="replace")


def _outlinks(extracted: ExtractedBatch | None) -> int:
    """Outlinks of the source page as the index counts them (internal + external)."""
    if extracted is None:
        return 0
    obs = extracted.observations
    return sum(obs.column(name)[0].as_py() or 0 for name in ("n_internal", "n_external"))
