"""The verdict: a pure function of a ledger link's state and one new observation of its page.

:func:`step` takes the link's :class:`LinkState` (what the ledger row holds) and one
:class:`Observation` (one fetch of the source page, and what was found on it) and returns the
new state with the verdict after that observation and what changed. Several observations of one
check (a first fetch, then the fetch that confirms a loss) are a fold: :func:`decide`. Nothing
here reads a clock, the store or the network, so every rule below has a unit test.

What one observation says, in order:

* no page came: ``robots`` (robots.txt disallows us) or ``robots_unavailable`` (robots.txt
  answered 5xx or 429, or nothing: RFC 9309 says to fetch nothing) is ``unknown/robots``, never a
  failure that adds up to a loss; ``blocked`` (the SSRF
  guard refused the address or port) is ``unknown/blocked``; ``no_such_domain`` (NXDOMAIN) is a
  *loss* ``page_gone``; ``url`` (a source that cannot be fetched at all) is ``unknown/crawl_error``;
  anything else (timeout, connection, TLS, DNS failure that may pass...) is a *failure*;
* the page answered 401, 403 or 407: ``unknown/blocked``; 404, 410 or 451: a *loss* ``page_gone``;
  408, 429, any other 4xx and every 5xx: a *failure*;
* otherwise the page was read. Without the link: a *loss* ``redirected`` when the source now
  redirects to another page; ``unknown/truncated`` when the page was cut at the fetch's size
  limit (the link may be in the part not read); ``unknown/crawl_error`` when the page is not
  HTML (``not_html``: nothing was read), or when the link can only be seen rendered and this
  observation has no rendered page — the render failed, or the link was last found in the
  rendered page alone and this fetch is raw (such an observation settles nothing: the verdict
  before it stays, and a pending loss waits); else a *loss* ``removed``. With it:
  ``lost/noindex`` (meta robots or X-Robots-Tag), ``lost/canonicalized``
  (rel=canonical names another page), ``lost/nofollowed`` (it was followed — when last seen, or
  as the user expects — and is now nofollow, ugc or sponsored), ``changed`` (anchor, rel or
  section differ from the last check that found it, or the anchor from the one the user
  expects; ``reason`` names them), else ``live``.

A *failure* is never a loss until it repeats: the link keeps its verdict (``unknown/crawl_error``
before any), ``failures`` counts the checks in a row, and the third makes it ``lost/page_gone``.
A *loss* (the link cannot be reached: removed, redirected away, page gone) is one answer, and one
answer may be a blip — a login or consent redirect, a deploy's 404, a resolver's NXDOMAIN — so,
as link indexes re-crawl before they call a link lost, it is reported only when the next
observation that settles anything agrees: seen once, it sets ``pending`` to its reason and keeps
the verdict (``unknown/unconfirmed`` before any); the next observation confirms it when it is a
loss too (``lost`` with that observation's reason) and clears it otherwise. A link already lost
needs no second look to stay lost. ``noindex``, ``canonicalized`` and ``nofollowed`` are read on
a page that still carries the link — an edit of the page, not an answer that may pass — and hold
at once.

When the next observation comes is the caller's choice, given to :func:`step` as
``confirm_after``. None (or zero) means a confirming fetch follows in the same run, seconds later:
that catches a blip, but a site down for an hour answers 404 twice and is called lost. A duration
(the monitor's default is an hour) makes the observation that sees a loss first due again that
long after it, so a later run confirms or clears it: an outage or a deploy shorter than that is no
loss. The failures rule is the same either way.

``changed`` is the verdict of the one check that saw the change: a later check that finds the
link as it was then is ``live`` again. The next check is due ``confirm_after`` after the
observation that saw a loss first (when given), else after an interval: 1 day after a check that
changed anything, left a loss pending or failed, doubling (to 30 days) while the link holds.
:func:`next_check` is that rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

VERDICTS = ("live", "changed", "lost", "unknown")
LOST_REASONS = ("removed", "page_gone", "redirected", "noindex", "canonicalized", "nofollowed")
UNKNOWN_REASONS = ("crawl_error", "robots", "blocked", "unconfirmed", "truncated")
#: What a ``changed`` verdict's reason names (space-separated, in this order).
CHANGED_FIELDS = ("anchor", "rel", "section")
#: Failures in a row (timeout, 5xx, 429...) that make a link lost.
FAILURES_TO_LOSE = 3
MIN_INTERVAL_DAYS = 1.0
MAX_INTERVAL_DAYS = 30.0
#: Seconds after a loss seen once that the link is checked again, by a later run (0: in the same run).
DEFAULT_CONFIRM_AFTER = 3600.0
#: The longest ``confirm_after``: a loss waits no longer than the longest interval between checks.
MAX_CONFIRM_AFTER = MAX_INTERVAL_DAYS * 86400

#: Errors that say something final without a page (the rest are failures that may pass).
_ERROR_VERDICTS = {
    "robots": ("unknown", "robots"),
    "robots_unavailable": ("unknown", "robots"),
    "blocked": ("unknown", "blocked"),
    "url": ("unknown", "crawl_error"),
}
#: Errors that are a loss if a second observation agrees (see the module docstring).
_ERROR_LOSSES = {"no_such_domain": "page_gone"}
_BLOCKED_STATUSES = frozenset({401, 403, 407})
_GONE_STATUSES = frozenset({404, 410, 451})
_NOT_FOLLOWED_RELS = frozenset({"nofollow", "ugc", "sponsored"})


@dataclass(frozen=True)
class LinkState:
    """A ledger link as the verdict sees it (the ``ledger`` columns of the same names)."""

    verdict: str | None = None
    reason: str = ""
    anchor: str | None = None  # None until a check has found the link
    rel: str = ""
    nofollow: bool | None = None
    section: str = ""
    found_in: str = ""
    failures: int = 0
    pending: str = ""
    interval_days: float = MIN_INTERVAL_DAYS
    first_checked_at: datetime | None = None
    checked_at: datetime | None = None
    changed_at: datetime | None = None
    live_since: datetime | None = None
    next_check_at: datetime | None = None
    expected_anchor: str | None = None
    expected_follow: bool | None = None


@dataclass(frozen=True)
class Observation:
    """One fetch of the source page and what it showed about the link (a ``link_checks`` row's
    evidence). ``error`` is empty when a page came; ``found_in`` is ``raw``, ``rendered``,
    ``both`` or empty. The verdict reads the page's status, URLs, robots facts and the link;
    the rest is kept as evidence."""

    checked_at: datetime
    source_url: str = ""
    status: int | None = None
    error: str = ""
    detail: str = ""
    final_url: str = ""
    redirects: tuple[tuple[str, int], ...] = ()
    ip: str = ""
    canonical: str = ""
    noindex: bool = False
    found: bool = False
    found_in: str = ""
    rendered: bool = False
    render_note: str = ""
    anchor: str = ""
    rel: str = ""
    nofollow: bool = False
    section: str = ""
    warc_path: str = ""
    warc_offset: int | None = None
    #: The body was cut at the fetcher's size limit: a link not found may be in the rest.
    truncated: bool = False
    #: The page is no HTML (by its Content-Type): its links were not read.
    not_html: bool = False


@dataclass(frozen=True)
class Step:
    """The outcome of one observation: the link's new state (its verdict and reason included)
    and what changed, ``{field: [before, after]}``."""

    state: LinkState
    changes: dict[str, list[Any]] = field(default_factory=dict)


def same_page(a: str, b: str) -> bool:
    """Do two stored URLs (:mod:`linkback.urls` form) name the same page, the scheme and a
    slash ending the path aside? A site moved to https, or a link written with or without the
    slash, is still the page; anything else that differs (host, port, path, query) is another.

    >>> same_page("http://example.com/a/", "https://example.com/a"), same_page("https://a.example/", "https://b.example/")
    (True, False)
    >>> same_page("https://example.com/a?next=/", "https://example.com/a?next=")
    False
    """
    return _page_key(a) == _page_key(b)


def _page_key(url: str) -> str:
    rest = url.split("://", 1)[-1]
    path, question, query = rest.partition("?")  # a stored URL's first "?" starts its query
    return path.removesuffix("/") + question + query


def followed(nofollow: bool | None, rel: str) -> bool:
    """Does a link pass authority: no nofollow (its own or the page's), no ugc or sponsored?"""
    return not nofollow and not (_NOT_FOLLOWED_RELS & set(rel.split()))


def _was_followed(state: LinkState) -> bool | None:
    """Was the link followed when last seen (or, never seen, does the user expect it to be)?"""
    if state.reason == "nofollowed" and state.verdict == "lost":
        return True
    if state.anchor is not None and state.nofollow is not None:
        return followed(state.nofollow, state.rel)
    return state.expected_follow


def _classify(obs: Observation) -> tuple[str, str, str]:
    """What the observation says on its own: ``(kind, verdict, reason)`` where kind is
    ``final`` (verdict and reason hold), ``failure``, ``inconclusive``, ``loss`` (lost for
    ``reason`` if confirmed) or ``found``."""
    if obs.error:
        if obs.error in _ERROR_VERDICTS:
            verdict, reason = _ERROR_VERDICTS[obs.error]
            return "final", verdict, reason
        if obs.error in _ERROR_LOSSES:
            return "loss", "lost", _ERROR_LOSSES[obs.error]
        return "failure", "", ""
    status = obs.status or 0
    if status in _BLOCKED_STATUSES:
        return "final", "unknown", "blocked"
    if status in _GONE_STATUSES:
        return "loss", "lost", "page_gone"
    if status >= 400 or status < 200:
        return "failure", "", ""
    if not obs.found:
        if obs.final_url and obs.source_url and not same_page(obs.final_url, obs.source_url):
            return "loss", "lost", "redirected"
        if obs.truncated:
            return "final", "unknown", "truncated"
        if obs.not_html or obs.render_note.startswith("rendering failed"):
            return "inconclusive", "", ""
        return "loss", "lost", "removed"
    return "found", "", ""


def _judge_found(state: LinkState, obs: Observation) -> tuple[str, str, dict[str, list[Any]]]:
    """Verdict, reason and link changes of an observation that found the link."""
    changes: dict[str, list[Any]] = {}
    if state.anchor is not None:
        before = {"anchor": state.anchor, "rel": state.rel, "section": state.section}
        after = {"anchor": obs.anchor, "rel": obs.rel, "section": obs.section}
        for name in CHANGED_FIELDS:
            same = (
                set(before[name].split()) == set(after[name].split()) if name == "rel" else before[name] == after[name]
            )
            if not same:
                changes[name] = [before[name], after[name]]
    elif state.expected_anchor and obs.anchor != state.expected_anchor:
        changes["anchor"] = [state.expected_anchor, obs.anchor]
    if obs.noindex:
        return "lost", "noindex", changes
    if (
        obs.canonical
        and not same_page(obs.canonical, obs.source_url or obs.canonical)
        and not (obs.final_url and same_page(obs.canonical, obs.final_url))
    ):
        return "lost", "canonicalized", changes
    if not followed(obs.nofollow, obs.rel) and _was_followed(state):
        return "lost", "nofollowed", changes
    if changes:
        return "changed", " ".join(n for n in CHANGED_FIELDS if n in changes), changes
    return "live", "", changes


def _carried(state: LinkState, default_reason: str) -> tuple[str, str]:
    """The verdict a check that settles nothing leaves: the previous one (``changed`` was the
    news of its own check only, so it becomes ``live``), or ``unknown`` before any."""
    if state.verdict is None:
        return "unknown", default_reason
    if state.verdict == "changed":
        return "live", ""
    return state.verdict, state.reason


def next_interval(state: LinkState, news: bool) -> float:
    """Days to the next check: the shortest after news, doubling while the link holds."""
    if news or state.checked_at is None:
        return MIN_INTERVAL_DAYS
    return min(MAX_INTERVAL_DAYS, max(MIN_INTERVAL_DAYS, state.interval_days) * 2)


def confirm_delay(confirm_after: float) -> timedelta | None:
    """``confirm_after`` seconds as the verdict takes them (None: confirmed in the same run); a
    ValueError that says what is allowed when it is not a number of seconds from 0 to 30 days."""
    if (
        isinstance(confirm_after, bool)
        or not isinstance(confirm_after, (int, float))
        or not 0 <= confirm_after <= MAX_CONFIRM_AFTER  # NaN fails this too
    ):
        most = f"{MAX_CONFIRM_AFTER:.0f} (30 days)"
        raise ValueError(f"confirm_after must be a number of seconds from 0 to {most}, not {confirm_after!r}")
    return timedelta(seconds=confirm_after) if confirm_after else None


def next_check(
    checked_at: datetime, interval_days: float, confirm_after: timedelta | None, seen_once: bool
) -> datetime:
    """When a link checked at ``checked_at`` is due again: ``confirm_after`` later when that check
    saw a loss first (``seen_once``) and the loss is to be confirmed by a later run, else
    ``interval_days`` later. A loss still pending after a check that settled nothing (a failure, a
    page not read) waits the interval: the outage it may be is not re-checked every hour.

    >>> t = datetime(2026, 5, 1, 12, 0)
    >>> next_check(t, 1.0, timedelta(hours=1), True), next_check(t, 1.0, None, True)
    (datetime.datetime(2026, 5, 1, 13, 0), datetime.datetime(2026, 5, 2, 12, 0))
    """
    if seen_once and confirm_after:
        return checked_at + confirm_after
    return checked_at + timedelta(days=interval_days)


def step(state: LinkState, obs: Observation, confirm_after: timedelta | None = None) -> Step:
    """The link's state after one more observation of its page (see the module docstring).
    ``confirm_after``: how long after this observation a loss it sees first is checked again
    (None: the caller confirms it in the same run, and the state's due time is the interval's)."""
    kind, verdict, reason = _classify(obs)
    if reason == "removed" and state.found_in == "rendered" and not obs.rendered:
        kind = "inconclusive"  # last seen only rendered: a raw page cannot say it is gone
    failures, pending, seen_once = 0, "", False
    link_changes: dict[str, list[Any]] = {}
    if kind == "inconclusive":
        failures, pending = state.failures, state.pending
        verdict, reason = _carried(state, "crawl_error")
    elif kind == "failure":
        failures, pending = state.failures + 1, state.pending
        verdict, reason = ("lost", "page_gone") if failures >= FAILURES_TO_LOSE else _carried(state, "crawl_error")
        if verdict == "lost":
            pending = ""  # lost by the failures themselves: nothing left to confirm
    elif kind == "loss" and not state.pending and state.verdict != "lost":
        pending = reason  # one answer: lost only if the next one agrees
        verdict, reason = _carried(state, "unconfirmed")
        seen_once = True
    elif kind == "found":
        verdict, reason, link_changes = _judge_found(state, obs)

    decay = state.verdict == "changed" and verdict == "live"
    changes: dict[str, list[Any]] = {}
    if verdict != state.verdict and not decay:
        changes["verdict"] = [state.verdict, verdict]
    if reason != state.reason and not decay:
        changes["reason"] = [state.reason or None, reason or None]
    changes.update(link_changes)

    new = replace(
        state,
        verdict=verdict,
        reason=reason,
        failures=failures,
        pending=pending,
        checked_at=obs.checked_at,
        first_checked_at=state.first_checked_at or obs.checked_at,
    )
    if kind == "found":
        new = replace(new, anchor=obs.anchor, rel=obs.rel, nofollow=obs.nofollow, section=obs.section)
    if kind not in ("failure", "inconclusive"):
        new = replace(new, found_in=obs.found_in if obs.found else "")
    if (verdict, reason) != (state.verdict, state.reason):
        new = replace(new, changed_at=obs.checked_at)
    is_live = verdict in ("live", "changed")
    was_live = state.verdict in ("live", "changed") and state.live_since is not None
    new = replace(new, live_since=(state.live_since if was_live else obs.checked_at) if is_live else None)
    interval = next_interval(state, bool(changes) or bool(pending) or failures > 0)
    due = next_check(obs.checked_at, interval, confirm_after, seen_once)
    new = replace(new, interval_days=interval, next_check_at=due)
    return Step(new, changes)


def decide(state: LinkState, observations: Iterable[Observation], confirm_after: timedelta | None = None) -> list[Step]:
    """:func:`step` over several observations in order; one :class:`Step` per observation (the
    last one's state is the link's)."""
    steps: list[Step] = []
    for obs in observations:
        steps.append(step(state, obs, confirm_after))
        state = steps[-1].state
    return steps


def needs_confirmation(steps: Sequence[Step]) -> bool:
    """Did the last observation leave a loss waiting for its confirming fetch?"""
    return bool(steps) and bool(steps[-1].state.pending)
