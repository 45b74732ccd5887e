"""Alerts as faces (one function, three faces; see :mod:`linkback.faces`): what ``linkback
alerts``, the ``/api/v1`` routes and the dashboard call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from linkback.alerts._deliver import deliver_alerts
from linkback.alerts._evaluate import evaluate_alerts
from linkback.alerts._rules import (
    EVENTS,
    RULE_COLUMNS,
    add_rule,
    check_choice,
    feed_path,
    feed_token,
    list_rules,
    remove_rule,
    rule_site,
)
from linkback.faces import ProgressFn, action, job, report

if TYPE_CHECKING:
    from linkback.store import Store

#: Columns of the ``alerts`` report, in order.
ALERT_COLUMNS = (
    "alert_id", "rule_id", "site", "event", "channel", "title", "source_url", "target_url", "evidence", "detail",
    "created_at", "delivered_at", "attempts", "next_attempt_at", "last_error",
)  # fmt: skip


@report(columns=RULE_COLUMNS)
def alert_rules(store: Store, *, site: str | None = None) -> list[dict[str, Any]]:
    """The alert rules (of one site, or all), each with its channel and filters, how many alerts it
    made and how many wait for delivery (``pending``). Secrets are never shown."""
    return list_rules(store.con, site=site)


@action()
def alert_rule_add(
    store: Store,
    site: str,
    event: str,
    *,
    channel: str,
    address: str = "",
    secret: str = "",
    schedule: str = "immediate",
    min_dr: float | None = None,
    follow_only: bool = False,
) -> dict[str, Any]:
    """Tell of ``event`` (new_link, lost_link, changed, broken_target or toxic_domain) on ``site``'s
    links through ``channel``: ``webhook`` (``address`` a URL, signed with ``secret``, made here
    when empty and then returned once), ``email`` (``address`` an email address, ``schedule``
    immediate, daily or weekly) or ``atom`` (the site's feed: ``feed`` is its path, with its
    token). ``min_dr`` keeps links from referring domains with at least that DR, ``follow_only``
    followed links. The rule starts looking now: what happened before is not news."""
    return add_rule(
        store, site, event, channel=channel, address=address, secret=secret, schedule=schedule, min_dr=min_dr,
        follow_only=follow_only,
    )  # fmt: skip


@action()
def alert_rule_remove(store: Store, rule_id: int) -> bool:
    """Remove an alert rule; False when there is no such rule. Its alerts stay listed, and those
    not delivered yet are not sent."""
    return remove_rule(store, int(rule_id))


@report(columns=ALERT_COLUMNS)
def alerts(
    store: Store, *, site: str | None = None, event: str | None = None, limit: int | None = 100
) -> list[dict[str, Any]]:
    """The alerts, newest first: what changed (``title``, and its facts in ``detail``, a JSON
    object), where the evidence is (a dashboard path), and how its delivery went. ``site`` and
    ``event`` filter; ``limit`` (100) caps the rows, None or 0 for all."""
    from linkback.reports._select import check_limit, fetch_rows  # noqa: PLC0415

    clauses, params = ["true"], []
    if site is not None:
        clauses.append("a.site = ?")
        params.append(rule_site(site))
    if event is not None:
        clauses.append("a.event = ?")
        params.append(check_choice("event", event, EVENTS))
    limit_sql, limit_params = check_limit(limit or None)
    return fetch_rows(
        store.con,
        f"""SELECT a.alert_id, a.rule_id, a.site, a.event, r.channel, a.title, a.source_url, a.target_url,
                   a.evidence, a.detail, a.created_at, a.delivered_at, a.attempts, a.next_attempt_at, a.last_error
            FROM alerts a LEFT JOIN alert_rules r USING (rule_id)
            WHERE {" AND ".join(clauses)}
            ORDER BY a.created_at DESC, a.alert_id DESC{limit_sql}""",
        [*params, *limit_params],
        utc_columns=("created_at", "delivered_at", "next_attempt_at"),
    )


@report(columns=("site", "path"), one=True)
def alert_feed(store: Store, site: str) -> dict[str, Any]:
    """Where ``site``'s Atom feed of alerts is read: its path on the server, with the token that
    opens it (the dashboard's admin session opens it too)."""
    name = rule_site(site)
    token = feed_token(store.con, name)
    if token is None:
        raise ValueError(f"{name} has no atom alert rule: add one with 'linkback alerts add {name} EVENT --atom'")
    return {"site": name, "path": feed_path(name, token)}


@job("alerts_run")
def alerts_run(
    store: Store,
    *,
    allow_private: bool = False,
    allow_private_hosts: Sequence[str] = (),
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Let every rule look for changes now, then deliver what is due (webhooks, immediate emails,
    digests whose time has come). Email settings come from the ``LINKBACK_SMTP_*`` variables of
    whoever runs it (the server's, through a server). ``allow_private`` and
    ``allow_private_hosts`` let webhooks reach private addresses (all, or those entries). Returns
    the alerts made and the deliveries."""
    if progress is not None:
        progress({"done": 0, "total": 2, "stage": "evaluating"})
    made = evaluate_alerts(store)
    if progress is not None:
        progress({"done": 1, "total": 2, "stage": "delivering"})
    sent = deliver_alerts(store, allow_private=allow_private, allow_private_hosts=allow_private_hosts)
    if progress is not None:
        progress({"done": 2, "total": 2, "stage": "done"})
    return {**made, "delivery": sent}
