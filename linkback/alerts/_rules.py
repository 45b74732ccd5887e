"""Alert rules: which changes to a site's links to tell the user of, and how.

A rule watches one site (a registrable domain and its hosts, or one host) for one event, with
optional filters (``min_dr``, ``follow_only``), and delivers through one channel: a signed
``webhook``, ``email`` (at once, or a daily or weekly digest) or the site's ``atom`` feed.

A new rule starts looking at its creation: what the index, the ledger and the rank runs held
before it is not news. Its watermarks (``seen_obs_id``, ``seen_check_id``, ``seen_run_id``) say
how far it has looked; :func:`linkback.alerts.evaluate_alerts` moves them.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import duckdb

from linkback.reports._select import fetch_rows
from linkback.secrets import new_token
from linkback.urls import URLError, normalize, parse_target

if TYPE_CHECKING:
    from linkback.store import Store

#: What a rule can watch for.
EVENTS = ("new_link", "lost_link", "changed", "broken_target", "toxic_domain")
#: How it tells.
CHANNELS = ("webhook", "email", "atom")
#: When an email rule sends: at once, or a digest at 00:00 UTC (daily) or on Mondays at 00:00 UTC (weekly).
SCHEDULES = ("immediate", "daily", "weekly")

# A plain address, as a person types one: no display name, no comments, nothing a header could
# be bent with (whitespace, commas, angle brackets, quotes).
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def rule_site(site: str) -> str:
    """A rule's site as stored: a registrable domain or a host, lower case (punycode for IDNs)."""
    target = parse_target(site)
    if target.kind == "url_prefix":
        raise ValueError(f"site {site!r}: give a domain (with its subdomains) or a host, not a URL")
    return target.value


def email_address(text: str) -> str:
    """``text`` as a plain email address, or a ValueError saying why not."""
    address = text.strip()
    if not _EMAIL.fullmatch(address) or len(address) > 254:
        raise ValueError(f"address {text!r} is not a plain email address (like alerts@example.com)")
    return address


def webhook_address(text: str) -> str:
    try:
        url = normalize(text.strip())
    except URLError as exc:
        raise ValueError(f"address {text!r} is not a usable webhook URL: {exc}") from None
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"address {text!r}: a webhook URL is http:// or https://")
    return url


def feed_path(site: str, token: str) -> str:
    """Where the site's Atom feed is read (the token is its key)."""
    return f"/feeds/alerts/{quote(site, safe='')}.atom?token={quote(token, safe='')}"


def feed_token(con: duckdb.DuckDBPyConnection, site: str) -> str | None:
    """The token of ``site``'s Atom feed (every atom rule of a site shares it); None without one."""
    rows = con.execute(
        "SELECT secret FROM alert_rules WHERE site = ? AND channel = 'atom' AND coalesce(secret, '') <> '' "
        "ORDER BY rule_id LIMIT 1",
        [site],
    ).fetchall()
    return rows[0][0] if rows else None


def watermarks(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int | None]:
    """(newest observation, newest link check, newest completed rank run) now."""
    (obs,) = con.execute("SELECT coalesce(max(obs_id), 0) FROM observations").fetchall()[0]
    (check,) = con.execute("SELECT coalesce(max(check_id), 0) FROM link_checks").fetchall()[0]
    runs = con.execute("SELECT max(run_id) FROM rank_runs WHERE completed_at IS NOT NULL").fetchall()
    return int(obs), int(check), None if runs[0][0] is None else int(runs[0][0])


def check_rule(event: str, channel: str, address: str, schedule: str, min_dr: float | None) -> tuple[str, str]:
    """Validate a rule's parts; its (channel, address) as stored."""
    check_choice("event", event, EVENTS)
    check_choice("channel", channel, CHANNELS)
    check_choice("schedule", schedule, SCHEDULES)
    if min_dr is not None and not (math.isfinite(min_dr) and 0 <= min_dr <= 100):
        raise ValueError(f"min_dr must be between 0 and 100, not {min_dr!r}")
    if channel == "webhook":
        if schedule != "immediate":
            raise ValueError("a webhook is called at once: schedule must be immediate (digests are for email)")
        return channel, webhook_address(address)
    if channel == "email":
        return channel, email_address(address)
    if address.strip():
        raise ValueError("an atom rule takes no address: its alerts go to the site's feed")
    if schedule != "immediate":
        raise ValueError("an atom feed shows alerts as they come: schedule must be immediate")
    return channel, ""


def add_rule(
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
    """Add a rule (one write); its row, with the webhook's secret when it was made here and the
    feed's path for an atom rule."""
    name = rule_site(site)
    channel, address = check_rule(event, channel, address, schedule, min_dr)
    made_secret = channel == "webhook" and not secret

    def add(store: Store) -> int:
        con = store.con
        key = secret
        if channel == "webhook" and not key:
            key = new_token()
        elif channel == "atom":
            key = feed_token(con, name) or new_token()
        elif channel == "email":
            key = ""
        obs, check, run = watermarks(con)
        (rule_id,) = store.next_ids("rule_id_seq", 1)
        now = datetime.now(UTC)
        con.execute(
            "INSERT INTO alert_rules (rule_id, site, event, min_dr, follow_only, channel, address, secret, schedule, "
            "enabled, created_at, looked_at, seen_obs_id, seen_check_id, seen_run_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, true, ?, ?, ?, ?, ?)",
            [rule_id, name, event, min_dr, bool(follow_only), channel, address, key, schedule, now, now, obs, check,
             run],
        )  # fmt: skip
        return rule_id

    rule_id = store.write(add)
    (row,) = list_rules(store.con, rule_id=rule_id)
    (key,) = store.con.execute("SELECT secret FROM alert_rules WHERE rule_id = ?", [rule_id]).fetchall()[0]
    row["secret"] = key if made_secret else ""
    row["feed"] = feed_path(name, key) if channel == "atom" else ""
    return row


def remove_rule(store: Store, rule_id: int) -> bool:
    """Remove a rule (one write). Its alerts stay listed; those not yet delivered never will be."""

    def remove(store: Store) -> bool:
        found = store.con.execute("DELETE FROM alert_rules WHERE rule_id = ? RETURNING rule_id", [rule_id]).fetchall()
        if found:
            store.con.execute(
                "UPDATE alerts SET next_attempt_at = NULL, last_error = 'its rule was removed' "
                "WHERE rule_id = ? AND next_attempt_at IS NOT NULL",
                [rule_id],
            )
        return bool(found)

    return store.write(remove)


#: Columns of the ``alert_rules`` report, in order.
RULE_COLUMNS = (
    "rule_id", "site", "event", "channel", "address", "schedule", "min_dr", "follow_only", "enabled", "has_secret",
    "created_at", "looked_at", "alerts", "pending",
)  # fmt: skip


def list_rules(
    con: duckdb.DuckDBPyConnection, *, site: str | None = None, rule_id: int | None = None
) -> list[dict[str, Any]]:
    """The rules (one site's, or one rule), with how many alerts each made and how many wait for delivery."""
    clauses: list[str] = ["true"]
    params: list[Any] = []
    if site is not None:
        clauses.append("r.site = ?")
        params.append(rule_site(site))
    if rule_id is not None:
        clauses.append("r.rule_id = ?")
        params.append(rule_id)
    return fetch_rows(
        con,
        f"""SELECT r.rule_id, r.site, r.event, r.channel, r.address, r.schedule, r.min_dr, r.follow_only, r.enabled,
                   coalesce(r.secret, '') <> '' AS has_secret, r.created_at, r.looked_at,
                   count(a.alert_id) AS alerts, count(a.next_attempt_at) AS pending
            FROM alert_rules r LEFT JOIN alerts a USING (rule_id)
            WHERE {" AND ".join(clauses)}
            GROUP BY ALL ORDER BY r.site, r.rule_id""",
        params,
        utc_columns=("created_at", "looked_at"),
    )
