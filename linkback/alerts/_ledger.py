"""The changes the monitor found: ledger checks whose verdict turned ``lost``, or that saw the
link's anchor, rel or section change (``link_checks.changes``: ``{field: [before, after]}``)."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from linkback.alerts import _events
from linkback.alerts._events import (
    LINK_FIELDS,
    Event,
    Look,
    clean_line,
    dr_text,
    passes,
    query_rows,
    quoted,
    unfollowed,
)
from linkback.faces import plain
from linkback.reports._ranks import domain_ranks_of
from linkback.reports._select import target_clauses


def changed_links(con: duckdb.DuckDBPyConnection, look: Look) -> tuple[list[Event], int]:
    return ledger_events(con, look, "changed")


def ledger_events(con: duckdb.DuckDBPyConnection, look: Look, verdict: str) -> tuple[list[Event], int]:
    """Checks since the last look whose verdict turned ``lost``, or that found a change."""
    clauses, params = target_clauses(look.target)
    lo, hi = look.checks
    rows = query_rows(
        con,
        f"""
        WITH recent AS (SELECT DISTINCT link_id FROM link_checks WHERE check_id > ? AND check_id <= ?),
        hist AS (
          SELECT c.*, lag(c.verdict) OVER (PARTITION BY c.link_id ORDER BY c.check_id) AS prev_verdict
          FROM link_checks c WHERE c.link_id IN (SELECT link_id FROM recent) AND c.check_id <= ?)
        SELECT g.link_id, g.source_url, g.source_host, g.source_domain, g.target_url, g.target_host, g.rel AS known_rel,
               h.check_id, h.checked_at, h.verdict, h.reason, h.changes, h.anchor, h.rel, h.nofollow, h.section,
               h.status, h.prev_verdict
        FROM hist h JOIN ledger g USING (link_id)
        WHERE h.check_id > ? AND h.verdict = ? AND {" AND ".join(clauses)}
          AND (h.prev_verdict IS DISTINCT FROM h.verdict
               OR (h.verdict = 'changed' AND coalesce(trim(h.changes), '') NOT IN ('', '{{}}', 'null')))
        ORDER BY h.check_id""",
        [lo, hi, hi, lo, verdict, *params],
        ("checked_at",),
    )
    ranks = domain_ranks_of(con, look.runs[1], (r["source_domain"] for r in rows))
    events = []
    for row in rows:
        changes = _changes(row["changes"])
        dr = ranks[row["source_domain"]][0] if row["source_domain"] in ranks else None
        if verdict == "lost":
            followed = row["reason"] == "nofollowed" or not unfollowed(row["known_rel"], False)
        else:
            # A nofollow the rel does not explain is the page's (meta robots): it held before too.
            page_nofollow = bool(row["nofollow"]) and not unfollowed(row["rel"], False)
            rel_before = changes.get("rel", [row["rel"]])[0]
            followed = not unfollowed(rel_before, page_nofollow) or not unfollowed(row["rel"], row["nofollow"])
        if passes(look, dr, followed):
            events.append(_ledger_event(row, verdict, changes, dr, followed))
    events.sort(key=lambda e: -(e.detail["dr"] or -1))
    return events[: _events.CAP], len(events)


def _changes(text: str | None) -> dict[str, list[Any]]:
    """A check's ``changes``: ``{field: [before, after]}``; anything else reads as no change."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): list(v) for k, v in value.items() if isinstance(v, (list, tuple)) and len(v) == 2}


def _ledger_event(row: dict[str, Any], verdict: str, changes: dict[str, list[Any]], dr: float | None,
                  followed: bool) -> Event:  # fmt: skip
    where = f"to {row['target_url'] or row['target_host']} from {row['source_host']}{dr_text(dr)}"
    if verdict == "lost":
        title = f"Lost link {where}: {row['reason'] or 'gone'}"
    else:
        said = [f"{name} {quoted(changes[name][0] or '(none)', 60)} → {quoted(changes[name][1] or '(none)', 60)}"
                for name in LINK_FIELDS if name in changes]  # fmt: skip
        title = f"Link {where} changed" + (": " + "; ".join(said) if said else f": {row['reason'] or 'changed'}")
    detail = {k: row[k] for k in ("link_id", "check_id", "checked_at", "source_url", "target_url", "target_host",
                                  "verdict", "reason", "anchor", "rel", "section", "status", "prev_verdict")}  # fmt: skip
    return Event(
        key=("check", row["link_id"], row["check_id"]),
        title=clean_line(title),
        evidence=f"/monitor/{row['link_id']}",
        source_url=row["source_url"],
        target_url=row["target_url"] or row["target_host"],
        detail=plain({**detail, "changes": changes, "dr": dr, "followed": followed}),
    )
