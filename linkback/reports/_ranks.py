"""Ranks in the reports: the DR history of a domain, the DR of referring domains, the UR of pages.

Reports read the newest *completed* rank run and say which ("as of"); before the first run the
rank columns are empty (None) rather than an error, so every report works on a fresh index.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import duckdb

from linkback.reports._select import check_limit, fetch_rows
from linkback.store import Store
from linkback.urls import split_host

DOMAIN_HISTORY_COLUMNS = (
    "run_id",
    "as_of",
    "dr",
    "raw_rank",
    "trust",
    "anti_trust",
    "refdomains",
    "dofollow_refdomains",
    "backlinks",
    "linked_domains",
    "toxicity",
    "signals",
)

#: The "referring domains by DR bucket" breakdown of ``overview``: [low, high) bands of 10 points.
DR_BUCKETS = tuple((low, low + 10) for low in range(0, 100, 10))


def latest_run(con: duckdb.DuckDBPyConnection) -> tuple[int, datetime] | None:
    """``(run_id, completed_at)`` of the newest completed rank run, or None before the first."""
    rows = con.execute(
        "SELECT run_id, completed_at::TIMESTAMP FROM rank_runs WHERE completed_at IS NOT NULL "
        "ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    return (int(rows[0][0]), rows[0][1].replace(tzinfo=timezone.utc)) if rows else None


def domain_history(store: Store, domain: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per completed rank run that knows ``domain`` (a host or URL is reduced to its
    registrable domain), newest first, with :data:`DOMAIN_HISTORY_COLUMNS`; ``signals`` is the
    list of toxicity signals that fired."""
    host = domain.split("://", 1)[-1].split("/", 1)[0].lower()
    name = split_host(host).domain
    limit_sql, limit_params = check_limit(limit)
    rows = fetch_rows(
        store.con,
        f"""SELECT d.run_id, r.completed_at AS as_of, d.dr, d.raw_rank, d.trust, d.anti_trust, d.refdomains,
                  d.dofollow_refdomains, d.backlinks, d.linked_domains, d.toxicity, d.signals
           FROM domain_ranks d JOIN rank_runs r USING (run_id)
           WHERE d.domain = ? AND r.completed_at IS NOT NULL
           ORDER BY d.run_id DESC{limit_sql}""",
        [name, *limit_params],
        utc_columns=("as_of",),
    )
    for row in rows:
        row["signals"] = row["signals"].split() if row["signals"] else []
    return rows


def _string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# The lookups below inline their keys as SQL literals, the one place reports do: DuckDB answers an
# IN list of constants from the ART index rank builds (a few milliseconds), but scans the whole
# table for the same list given as parameters or a subquery (hundreds of milliseconds at 50 M).
# The keys are integers, or strings quoted with their quotes doubled, DuckDB's only escape.


def domain_ranks_of(
    con: duckdb.DuckDBPyConnection, run_id: int | None, domains: Iterable[str]
) -> dict[str, tuple[float, int | None]]:
    """``(dr, toxicity)`` of each of ``domains`` in run ``run_id`` (those the run knows)."""
    wanted = sorted({d for d in domains if d is not None})
    if run_id is None or not wanted:
        return {}
    keys = ", ".join(_string_literal(d) for d in wanted)
    rows = con.execute(
        f"SELECT domain, dr, toxicity FROM domain_ranks WHERE domain IN ({keys}) AND run_id = ?", [run_id]
    ).fetchall()
    return {domain: (dr, toxicity) for domain, dr, toxicity in rows}


def domain_ratings(con: duckdb.DuckDBPyConnection, run_id: int | None, domains: Iterable[str]) -> dict[str, float]:
    """DR of each of ``domains`` in run ``run_id`` (those the run knows)."""
    return {domain: dr for domain, (dr, _) in domain_ranks_of(con, run_id, domains).items()}


def url_ratings(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> dict[str, float]:
    """UR of each of ``urls`` in the newest run (those it ranked)."""
    wanted = sorted({u for u in urls if u is not None})
    if not wanted:
        return {}
    hashes = con.execute("SELECT u, hash(u) FROM unnest(?::VARCHAR[]) AS t(u)", [wanted]).fetchall()
    ratings = url_ratings_by_hash(con, (h for _, h in hashes))
    return {u: ratings[h] for u, h in hashes if h in ratings}


def url_ratings_by_hash(con: duckdb.DuckDBPyConnection, url_hashes: Iterable[int]) -> dict[int, float]:
    """UR by ``hash(url)`` (what ``page_ranks`` is keyed on) in the newest run."""
    keys = ", ".join(str(int(h)) for h in sorted(set(url_hashes)))
    if not keys:
        return {}
    rows = con.execute(f"SELECT url_hash, ur FROM page_ranks WHERE url_hash IN ({keys})").fetchall()
    return dict(rows)


def dr_buckets(con: duckdb.DuckDBPyConnection, run_id: int | None, domains: list[str]) -> dict[str, int]:
    """How many of ``domains`` fall in each DR band of :data:`DR_BUCKETS` (``dr_0_10`` ...)."""
    ratings = domain_ratings(con, run_id, domains)
    counts = {f"dr_{low}_{high}": 0 for low, high in DR_BUCKETS}
    for dr in ratings.values():
        low = min(int(dr // 10) * 10, 90)
        counts[f"dr_{low}_{low + 10}"] += 1
    return counts
