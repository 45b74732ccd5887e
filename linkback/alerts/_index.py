"""The changes linkback's own index shows: new and lost links, pages that broke, and referring
domains that are toxic (with the newest rank run)."""

from __future__ import annotations

import re
from typing import Any

import duckdb

from linkback.alerts import _events
from linkback.alerts._events import Event, Finder, Look, backlinks_path, clean_line, dr_text, query_rows, quoted, total
from linkback.alerts._ledger import changed_links, ledger_events
from linkback.faces import plain
from linkback.quality import DISAVOW_MIN_SCORE
from linkback.reports._select import DOFOLLOW, link_where, target_clauses
from linkback.urls import Target


def _filtered(inner: str) -> str:
    """``inner`` (rows with ``source_domain`` and ``followed``) with the rule's filters, DR, the
    total and the cap: parameters after inner's are run_id, min_dr, min_dr, follow_only, cap."""
    return f"""
        SELECT * FROM (
          SELECT c.*, r.dr AS dr, count(*) OVER () AS total
          FROM ({inner}) c LEFT JOIN domain_ranks r ON r.run_id = ? AND r.domain = c.source_domain
          WHERE (CAST(? AS DOUBLE) IS NULL OR coalesce(r.dr, -1) >= ?) AND (NOT ? OR c.followed)
        ) ORDER BY dr DESC NULLS LAST, source_url, target_url LIMIT ?"""


def _filter_params(look: Look) -> list[Any]:
    run = look.runs[1]
    return [-1 if run is None else run, look.min_dr, look.min_dr, look.follow_only, _events.CAP]


def new_links(con: duckdb.DuckDBPyConnection, look: Look) -> tuple[list[Event], int]:
    where, params = link_where(look.target)
    inner = f"""
        SELECT source_url, source_host, source_domain, target_url, kind, anchor, rel, section, first_seen,
               {DOFOLLOW} AS followed
        FROM links l
        WHERE {where} AND EXISTS (
          SELECT 1 FROM observations o WHERE o.obs_id > ? AND o.obs_id <= ?
            AND o.url = l.source_url AND o.fetched_at = l.first_seen)"""
    rows = query_rows(con, _filtered(inner), [*params, *look.obs, *_filter_params(look)], ("first_seen",))
    events = []
    for row in rows:
        anchor = f": {quoted(row['anchor'])}" if row["anchor"] else ""
        follow = "" if row["followed"] else " (not followed)"
        events.append(
            Event(
                key=(row["source_url"], row["target_url"], row["kind"], row["anchor"]),
                title=clean_line(
                    f"New link to {row['target_url']} from {row['source_host']}{dr_text(row['dr'])}{anchor}{follow}"
                ),  # fmt: skip
                evidence=backlinks_path(row["target_url"], from_domain=row["source_host"]),
                source_url=row["source_url"],
                target_url=row["target_url"],
                detail=_link_detail(row, "first_seen"),
            )
        )
    return events, total(rows)


def lost_links(con: duckdb.DuckDBPyConnection, look: Look) -> tuple[list[Event], int]:
    index, index_total = _index_losses(con, look)
    ledger, ledger_total = ledger_events(con, look, "lost")
    return index + ledger, index_total + ledger_total


def _index_losses(con: duckdb.DuckDBPyConnection, look: Look) -> tuple[list[Event], int]:
    where, params = link_where(look.target, include_lost=True)
    inner = f"""
        SELECT source_url, source_host, source_domain, target_url, kind, anchor, rel, section, first_seen, last_seen,
               lost_at, lost_reason, {DOFOLLOW} AS followed
        FROM links l
        WHERE {where} AND lost_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM observations o WHERE o.obs_id > ? AND o.obs_id <= ?
                        AND o.url = l.source_url AND o.fetched_at = l.lost_at)
          AND NOT EXISTS (SELECT 1 FROM ledger g WHERE g.source_url = l.source_url AND (g.target_url = l.target_url
                OR (g.target_url IS NULL AND g.target_host IN (l.target_host, l.target_domain))))"""
    utc = ("first_seen", "last_seen", "lost_at")
    rows = query_rows(con, _filtered(inner), [*params, *look.obs, *_filter_params(look)], utc)
    events = []
    for row in rows:
        anchor = f" {quoted(row['anchor'])}" if row["anchor"] else ""
        events.append(
            Event(
                key=(row["source_url"], row["target_url"], row["kind"], row["anchor"], plain(row["lost_at"])),
                title=clean_line(
                    f"Lost link{anchor} to {row['target_url']} from {row['source_host']}"
                    f"{dr_text(row['dr'])}: {row['lost_reason'] or 'gone'}"
                ),  # fmt: skip
                evidence=backlinks_path(row["target_url"], from_domain=row["source_host"], include_lost="true"),
                source_url=row["source_url"],
                target_url=row["target_url"],
                detail=_link_detail(row, "first_seen", "last_seen", "lost_at", "lost_reason"),
            )
        )
    return events, total(rows)


def _link_detail(row: dict[str, Any], *extra: str) -> dict[str, Any]:
    keys = ("source_url", "target_url", "anchor", "rel", "kind", "section", "dr", "followed", *extra)
    return plain({k: row[k] for k in keys})


def _page_clauses(target: Target) -> tuple[list[str], list[Any]]:
    """:func:`target_clauses` for ``pages`` (its columns are ``rhost`` and ``domain``)."""
    clauses, params = target_clauses(target)
    renamed = [re.sub(r"\btarget_(rhost|domain|url)\b", r"p.\1", clause) for clause in clauses]
    return renamed, params


def broken_targets(con: duckdb.DuckDBPyConnection, look: Look) -> tuple[list[Event], int]:
    pages, page_params = _page_clauses(look.target)
    where, link_params = link_where(look.target)
    run = look.runs[1]
    rows = query_rows(
        con,
        f"""
        WITH hit AS (
          SELECT DISTINCT url FROM observations
          WHERE obs_id > ? AND obs_id <= ? AND status >= 400 AND status <> 429),
        broken AS (
          SELECT p.url, p.status, p.last_seen FROM pages p SEMI JOIN hit USING (url)
          WHERE p.status >= 400 AND p.status <> 429 AND {" AND ".join(pages)}),
        linking AS (
          SELECT b.url, b.status, b.last_seen, l.source_domain, {DOFOLLOW} AS followed, r.dr
          FROM broken b JOIN links l ON l.target_url = b.url
          LEFT JOIN domain_ranks r ON r.run_id = ? AND r.domain = l.source_domain
          WHERE {where})
        SELECT url, status, last_seen, count(*) AS links, count(DISTINCT source_domain) AS domains, max(dr) AS dr,
               count(*) OVER () AS total
        FROM linking
        WHERE (CAST(? AS DOUBLE) IS NULL OR coalesce(dr, -1) >= ?) AND (NOT ? OR followed)
        GROUP BY url, status, last_seen ORDER BY domains DESC, url LIMIT ?""",
        [*look.obs, *page_params, -1 if run is None else run, *link_params, *_filter_params(look)[1:]],
        ("last_seen",),
    )
    since = _broken_since(con, [r["url"] for r in rows])
    events = []
    for row in rows:
        links, domains = row["links"], row["domains"]
        title = (f"{row['url']} answers {row['status']}: {links:,} link{'s' * (links != 1)} from {domains:,} "
                 f"domain{'s' * (domains != 1)} point at it")  # fmt: skip
        events.append(
            Event(
                key=(row["url"], since.get(row["url"], "")),
                title=clean_line(title),
                evidence=backlinks_path(row["url"]),
                target_url=row["url"],
                detail=plain(
                    {k: row[k] for k in ("url", "status", "last_seen", "links", "domains", "dr")}
                    | {"since": since.get(row["url"])}
                ),  # fmt: skip
            )
        )
    return events, total(rows)


def _broken_since(con: duckdb.DuckDBPyConnection, urls: list[str]) -> dict[str, str]:
    """When each page's current run of error answers began (its first error after its last success)."""
    if not urls:
        return {}
    rows = con.execute(
        """
        WITH seen AS (SELECT url, fetched_at, status FROM observations WHERE list_contains(?, url)),
        ok AS (SELECT url, max(fetched_at) AS ok_at FROM seen WHERE status < 400 GROUP BY url)
        SELECT s.url, min(s.fetched_at)::TIMESTAMP FROM seen s LEFT JOIN ok USING (url)
        WHERE s.status >= 400 AND (ok.ok_at IS NULL OR s.fetched_at > ok.ok_at)
        GROUP BY s.url""",
        [urls],
    ).fetchall()
    return {url: plain(at) for url, at in rows}


def toxic_domains(con: duckdb.DuckDBPyConnection, look: Look) -> tuple[list[Event], int]:
    """Toxic referring domains that are news: a domain that began to link since the last look,
    or (after a new rank run) one that has turned toxic since the run looked at last."""
    before, latest = look.runs
    if latest is None:
        return [], 0
    new_run = before is None or latest > before
    where, params = link_where(look.target)
    lo, hi = look.obs
    first_sighting = "SELECT 1 FROM observations o WHERE o.url = l.source_url AND o.fetched_at = l.first_seen"
    rows = query_rows(
        con,
        f"""
        WITH ref AS (
          SELECT source_domain, count(*) AS links, bool_or({DOFOLLOW}) AS followed, min(first_seen) AS first_seen
          FROM links WHERE {where} GROUP BY source_domain),
        fresh AS (
          SELECT DISTINCT source_domain FROM links l
          WHERE {where} AND EXISTS ({first_sighting} AND o.obs_id > ? AND o.obs_id <= ?)),
        old AS (
          SELECT DISTINCT source_domain FROM links l
          WHERE {where} AND source_domain IN (SELECT source_domain FROM fresh)
            AND EXISTS ({first_sighting} AND o.obs_id <= ?))
        SELECT ref.*, ref.source_domain AS domain, r.dr, r.toxicity, r.signals, p.toxicity AS toxicity_before,
               count(*) OVER () AS total
        FROM ref JOIN domain_ranks r ON r.run_id = ? AND r.domain = ref.source_domain
        LEFT JOIN domain_ranks p ON p.run_id = ? AND p.domain = ref.source_domain
        WHERE r.toxicity >= ?
          AND ref.source_domain NOT IN (SELECT entry FROM quality_lists WHERE list = 'allow')
          AND ((? AND coalesce(p.toxicity, -1) < ?)
               OR (ref.source_domain IN (SELECT source_domain FROM fresh)
                   AND ref.source_domain NOT IN (SELECT source_domain FROM old)))
          AND (CAST(? AS DOUBLE) IS NULL OR r.dr >= ?) AND (NOT ? OR ref.followed)
        ORDER BY r.toxicity DESC, ref.links DESC, ref.source_domain LIMIT ?""",
        [*params, *params, lo, hi, *params, lo, latest, -1 if before is None else before, DISAVOW_MIN_SCORE,
         new_run, DISAVOW_MIN_SCORE, *_filter_params(look)[1:]],
        ("first_seen",),
    )  # fmt: skip
    events = []
    for row in rows:
        title = (f"New toxic referring domain {row['domain']} (toxicity {row['toxicity']}) links to {look.site}: "
                 f"{row['links']:,} link{'s' * (row['links'] != 1)}")  # fmt: skip
        events.append(
            Event(
                key=(row["domain"],),
                title=clean_line(title),
                evidence=backlinks_path(look.site, from_domain=row["domain"]),
                source_url=row["domain"],
                detail=_toxic_detail(row, latest),
            )
        )
    return events, total(rows)


def _toxic_detail(row: dict[str, Any], run_id: int) -> dict[str, Any]:
    keys = ("domain", "dr", "toxicity", "toxicity_before", "links", "followed", "first_seen")
    return plain({k: row[k] for k in keys} | {"signals": (row["signals"] or "").split(), "run_id": run_id})


FINDERS: dict[str, Finder] = {
    "new_link": new_links,
    "lost_link": lost_links,
    "changed": changed_links,
    "broken_target": broken_targets,
    "toxic_domain": toxic_domains,
}
