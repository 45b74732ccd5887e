"""Evaluating the rules: each looks at what changed since its last look and records alerts.

Each rule's look is one :meth:`~linkback.store.Store.write`: it reads the newest observation,
check and rank run numbers, finds the events between its watermarks and those, inserts the
alerts it has not made before (``alert_key``), and moves its watermarks, all in one transaction.
So a look that fails leaves nothing half done, two looks never see the same stretch of history,
and running the evaluation twice alerts once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from linkback.alerts import _events
from linkback.alerts._events import Event, Look, overflow
from linkback.alerts._index import FINDERS
from linkback.alerts._rules import watermarks
from linkback.urls import parse_target

if TYPE_CHECKING:
    from linkback.store import Store


def alert_key(rule_id: int, event: str, parts: tuple[Any, ...]) -> int:
    """A signed 64-bit hash of (rule, event, what changed and when): the same change alerts once."""
    text = json.dumps([rule_id, event, *parts], default=str, ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def first_delivery(channel: str, schedule: str, created: datetime) -> datetime | None:
    """When an alert is first due: at once, at the next digest (00:00 UTC; Mondays for weekly),
    or never for a feed (its reader fetches it)."""
    if channel == "atom":
        return None
    if schedule == "immediate":
        return created
    midnight = created.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule == "daily":
        return midnight + timedelta(days=1)
    return midnight + timedelta(days=7 - midnight.weekday())  # the next Monday, never today


def evaluate_alerts(store: Store, *, now: datetime | None = None) -> dict[str, Any]:
    """Let every enabled rule look at what changed since its last look; the alerts made, by event.

    Each rule's look is one write (see the module's docstring); a rule with nothing new to look
    at (no observation, check or rank run since its last look) costs no write. ``now`` is the
    alerts' time.
    """
    moment = now or datetime.now(UTC)
    current = watermarks(store.con)
    rules = store.con.execute(
        "SELECT rule_id, seen_obs_id, seen_check_id, seen_run_id FROM alert_rules WHERE enabled ORDER BY rule_id"
    ).fetchall()
    made: Counter[str] = Counter()
    for rule_id, *seen in rules:
        if not _news(tuple(seen), current):
            continue
        event, count = store.write(functools.partial(_look, rule_id=int(rule_id), now=moment))
        if count:
            made[event] += count
    return {"rules": len(rules), "alerts": sum(made.values()), "by_event": dict(made)}


def _news(seen: tuple[Any, ...], current: tuple[int, int, int | None]) -> bool:
    """Has anything been stored since a rule's watermarks ``seen``?"""
    obs, check, run = current
    return obs > int(seen[0] or 0) or check > int(seen[1] or 0) or (run is not None and run != seen[2])


def _look(store: Store, *, rule_id: int, now: datetime) -> tuple[str, int]:
    con = store.con
    cur = con.execute("SELECT * FROM alert_rules WHERE rule_id = ? AND enabled", [rule_id])
    found = cur.fetchall()
    if not found:  # removed or turned off since the list was read
        return "", 0
    rule = dict(zip([d[0] for d in cur.description], found[0]))
    obs, check, run = watermarks(con)
    seen_run = rule["seen_run_id"]
    if not _news((rule["seen_obs_id"], rule["seen_check_id"], seen_run), (obs, check, run)):
        return rule["event"], 0  # another look got here first
    look = Look(
        rule=rule,
        target=parse_target(rule["site"]),
        obs=(int(rule["seen_obs_id"] or 0), obs),
        checks=(int(rule["seen_check_id"] or 0), check),
        runs=(None if seen_run is None else int(seen_run), run),
    )
    events, total = FINDERS[rule["event"]](con, look)
    if total > len(events) and len(events) >= _events.CAP:
        events.append(overflow(look, len(events), total, (obs, check, run)))
    made = _insert(store, rule, events, now)
    con.execute(
        "UPDATE alert_rules SET looked_at = ?, seen_obs_id = ?, seen_check_id = ?, seen_run_id = ? WHERE rule_id = ?",
        [now, max(obs, look.obs[0]), max(check, look.checks[0]), run if run is not None else seen_run, rule_id],
    )
    return rule["event"], made


def _insert(store: Store, rule: dict[str, Any], events: list[Event], now: datetime) -> int:
    """Insert the alerts not made before; how many."""
    con = store.con
    keyed = {alert_key(rule["rule_id"], rule["event"], e.key): e for e in events}
    if not keyed:
        return 0
    old = {k for (k,) in con.execute("SELECT alert_key FROM alerts WHERE list_contains(?, alert_key)",
                                     [list(keyed)]).fetchall()}  # fmt: skip
    fresh = [(k, e) for k, e in keyed.items() if k not in old]
    if not fresh:
        return 0
    due = first_delivery(rule["channel"], rule["schedule"], now)
    ids = store.next_ids("alert_id_seq", len(fresh))
    con.executemany(
        "INSERT INTO alerts (alert_id, alert_key, rule_id, site, event, source_url, target_url, title, detail, "
        "evidence, created_at, attempts, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '')",
        [
            [alert_id, key, rule["rule_id"], rule["site"], rule["event"], e.source_url, e.target_url, e.title,
             json.dumps(e.detail, ensure_ascii=False, sort_keys=True), e.evidence, now, due]
            for alert_id, (key, e) in zip(ids, fresh)
        ],
    )  # fmt: skip
    return len(fresh)
