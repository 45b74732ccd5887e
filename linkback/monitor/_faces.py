"""The monitor's faces (one function, three faces; see :mod:`linkback.faces`): the ``monitor``
job, the ``ledger`` and ``link_timeline`` reports, and the ``monitor_add``, ``monitor_sync`` and
``monitor_pause`` actions. ``linkback monitor ...``, ``/api/v1`` and a server's job runner all
call these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from linkback.faces import ProgressFn, action, job, report
from linkback.monitor._ledger import ORIGINS, NoSuchLink, add_link, set_paused, sync
from linkback.monitor._verdict import DEFAULT_CONFIRM_AFTER, LOST_REASONS, UNKNOWN_REASONS, VERDICTS

if TYPE_CHECKING:
    from linkback.store import Store

#: Columns of :func:`ledger`, in order (the JSON keys and CSV header).
LEDGER_COLUMNS = (
    "link_id", "source", "target", "origin", "verdict", "reason", "anchor", "rel", "section", "found_in", "pending",
    "failures", "checked_at", "next_check_at", "interval_days", "paused", "expected_anchor", "expected_follow", "notes",
    "tags", "added_at", "first_checked_at", "changed_at", "live_since",
)  # fmt: skip
#: Columns of :func:`link_timeline`, in order.
TIMELINE_COLUMNS = (
    "check_id", "link_id", "checked_at", "status", "final_url", "redirects", "ip", "canonical", "noindex", "found",
    "found_in", "rendered", "anchor", "rel", "nofollow", "section", "error", "detail", "render_note", "warc_path",
    "warc_offset", "verdict", "reason", "changes",
)  # fmt: skip
REASONS = (*LOST_REASONS, *UNKNOWN_REASONS)
_TIMES = ("checked_at", "next_check_at", "added_at", "first_checked_at", "changed_at", "live_since")


def _values(name: str, given: str | Sequence[str] | None, allowed: Sequence[str]) -> list[str]:
    from linkback.reports._select import check_choice  # noqa: PLC0415

    values = [given] if isinstance(given, str) else list(given or ())
    for value in values:
        check_choice(name, value, allowed)
    return values


@report(columns=LEDGER_COLUMNS)
def ledger(
    store: Store,
    target: str | None = None,
    *,
    verdict: str | Sequence[str] | None = None,
    reason: str | Sequence[str] | None = None,
    origin: str | Sequence[str] | None = None,
    unchecked: bool | None = None,
    limit: int | None = None,
    after: int | None = None,
) -> list[dict[str, Any]]:
    """The link ledger: the backlinks the monitor keeps true, one row per link in ledger order.

    ``target`` (a domain, a host or a URL prefix) keeps the links to it; ``verdict`` (live,
    changed, lost, unknown), ``reason`` (removed, page_gone, redirected, noindex, canonicalized,
    nofollowed, crawl_error, robots, blocked, unconfirmed, truncated) and ``origin`` (added, claim,
    mention, index) take one value or several; ``unchecked`` True keeps the links never checked, False the
    others. ``after`` is the last ``link_id`` of the previous page: the next page starts past it.
    ``target`` is the linked page, or the site for a link to any of its pages.
    """
    from linkback.reports._select import as_target, check_limit, fetch_rows, target_clauses  # noqa: PLC0415

    clauses: list[str] = ["true"]
    params: list[Any] = []
    if target:
        where, target_params = target_clauses(as_target(target))
        clauses += where
        params += target_params
    for column, given, allowed in (
        ("verdict", verdict, VERDICTS),
        ("reason", reason, REASONS),
        ("origin", origin, ORIGINS),
    ):
        values = _values(column, given, allowed)
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params += values
    if unchecked is not None:
        clauses.append("checked_at IS NULL" if unchecked else "checked_at IS NOT NULL")
    if after is not None:
        clauses.append("link_id > ?")
        params.append(int(after))
    limit_sql, limit_params = check_limit(limit)
    sql = f"""
        SELECT link_id, source_url AS source, coalesce(target_url, target_host) AS target, origin, verdict, reason,
          anchor, rel, section, found_in, pending, failures, checked_at, next_check_at, interval_days,
          coalesce(paused, false) AS paused, expected_anchor, expected_follow, notes, tags, added_at, first_checked_at,
          changed_at, live_since
        FROM ledger WHERE {" AND ".join(clauses)} ORDER BY link_id{limit_sql}
    """
    return fetch_rows(store.con, sql, [*params, *limit_params], utc_columns=_TIMES)


@report(columns=TIMELINE_COLUMNS)
def link_timeline(store: Store, link_id: int, *, limit: int | None = None) -> list[dict[str, Any]]:
    """One ledger link's checks, oldest first: each fetch's evidence (status, redirect hops as a
    JSON list, final URL, address, canonical, noindex, whether and where the link was found, its
    anchor, rel and section, the error, the WARC file and offset of the response) and the verdict
    and reason after it, with what changed (a JSON object ``{field: [before, after]}``)."""
    from linkback.reports._select import check_limit, fetch_rows  # noqa: PLC0415

    if not store.con.execute("SELECT 1 FROM ledger WHERE link_id = ?", [int(link_id)]).fetchall():
        raise NoSuchLink(f"no ledger link {link_id}: 'linkback monitor list' shows them")
    limit_sql, limit_params = check_limit(limit)
    sql = f"""SELECT {", ".join(TIMELINE_COLUMNS)} FROM link_checks WHERE link_id = ?
        ORDER BY check_id{limit_sql}"""
    return fetch_rows(store.con, sql, [int(link_id), *limit_params], utc_columns=("checked_at",))


@action()
def monitor_add(
    store: Store,
    source_url: str,
    target_url: str,
    *,
    anchor: str | None = None,
    follow: bool | None = None,
    note: str | None = None,
    tags: str | None = None,
) -> dict[str, Any]:
    """Put a link in the ledger: the page that links (``source_url``) and the page of your site it
    links to (``target_url``; a bare domain or host stands for any of its pages), with the anchor
    and follow you expect, a note and tags (space-separated). A link already there gets the values
    given and is resumed. Returns its ledger row, ``added`` False when it was there."""
    return add_link(store, source_url, target_url, anchor=anchor, follow=follow, note=note, tags=tags)


@action()
def monitor_sync(store: Store, site: str | None = None) -> dict[str, Any]:
    """Fill the ledger from what linkback knows: imported claims of single links, verified or
    approved mentions, and the index's live links to ``site`` (a domain, a host or a URL prefix)
    or, without one, to every site of ``linkback site list``. Each link enters once; counts of
    what was found and added, by origin."""
    return sync(store, site)


@action()
def monitor_pause(store: Store, ids: Sequence[int], *, paused: bool = True) -> dict[str, Any]:
    """Pause the checks of these ledger links (``paused`` False resumes them); a paused link
    keeps its verdict and timeline, and is checked again only when named."""
    return set_paused(store, ids, paused)


@job("monitor")
def monitor(
    store: Store,
    *,
    ids: Sequence[int] = (),
    all_links: bool = False,
    limit: int | None = None,
    render: str = "auto",
    confirm_after: float = DEFAULT_CONFIRM_AFTER,
    allow_private: bool = False,
    allow_private_hosts: Sequence[str] = (),
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Check ledger links on the live web: those due (or ``ids``, paused or not, or every unpaused
    one with ``all_links``), at most ``limit``. Each source page is fetched once per check,
    politely (robots.txt, one connection per host, a delay between requests), through the SSRF
    guard; a link missing from the raw HTML is looked for in the page rendered by headless
    Chromium (``render`` auto; always; never), and a loss (removed, redirected, page gone) is
    reported only once a second fetch agrees. That fetch is made by a later run, ``confirm_after``
    seconds (an hour) or more after the first, so an outage or a deploy shorter than that is no
    loss; with ``confirm_after`` 0 it is made in this run, seconds later. Every response is kept
    in WARC files beside the database. Returns the run's summary: ``pending`` counts the losses
    seen once and left to confirm, ``pending_from`` is when the first of them is due.

    ``allow_private_hosts``: the private hosts, addresses and networks the checks may reach
    (``--allow-private-host``), besides those of ``LINKBACK_ALLOW_PRIVATE_HOSTS``. A server
    checks with its own guard: asking it for ``allow_private``, or an entry, it was not started
    with is an error.
    """
    from linkback.fetch import policy_from_env, refuse_widening, system_resolver  # noqa: PLC0415
    from linkback.monitor._run import default_warc_dir, run_checks  # noqa: PLC0415

    fetcher = getattr(store, "fetcher", None)
    if fetcher is not None:
        refuse_widening(fetcher.policy, allow_private, allow_private_hosts, "run")
        policy, resolver = fetcher.policy, fetcher.resolver
    else:
        policy = policy_from_env(allow_private, allow_private_hosts)
        resolver = system_resolver
    return run_checks(
        store,
        policy=policy,
        resolver=resolver,
        ids=list(ids) or None,
        all_links=all_links,
        limit=limit,
        render=render,
        confirm_after=confirm_after,
        warc_dir=default_warc_dir(store),
        progress=progress,
    )
