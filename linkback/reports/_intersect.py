"""Prospects from competitors' links: :func:`intersect` (the domains or pages that link to several
targets but not to yours, the "link intersect" or "backlink gap") and :func:`linked_domains`
(where a domain links out, for judging a prospect).

Each target's links are read by its ``target_rhost`` range (``links`` is clustered on it), so an
intersect costs about what the targets' own reports cost, however large the index.
"""

from __future__ import annotations

import uuid
from typing import Any

import pyarrow as pa

from linkback.errors import LinkbackError
from linkback.faces import report
from linkback.reports._compare import parse_targets, require_each
from linkback.reports._cursor import Key, Order, after_sql, read_cursor, register_orders
from linkback.reports._ranks import _string_literal, domain_ranks_of, latest_run
from linkback.reports._select import (
    DOFOLLOW,
    as_target,
    check_choice,
    check_limit,
    fetch_rows,
    link_where,
)
from linkback.store import Store
from linkback.urls import Target

INTERSECT_COLUMNS = ("source", "domain", "dr", "targets", "links", "cells")
_TARGETS = Key("targets", desc=True, kind="number")
_DR = Key("dr", desc=True, kind="number")
_LINKS = Key("links", desc=True, kind="number")
_SOURCE = Key("source")
#: The keys of each ``sort`` of :func:`intersect`; the source last, so each is a total order.
INTERSECT_ORDERS: dict[str, Order] = {
    "targets": (_TARGETS, _DR, _LINKS, _SOURCE),
    "dr": (_DR, _TARGETS, _LINKS, _SOURCE),
    "links": (_LINKS, _TARGETS, _DR, _SOURCE),
}
INTERSECT_SORTS = register_orders("intersect", INTERSECT_ORDERS)

LINKED_DOMAIN_COLUMNS = ("domain", "dr", "links", "dofollow", "linking_pages", "first_seen", "last_seen")
_DOMAIN = Key("domain")
LINKED_DOMAIN_ORDERS: dict[str, Order] = {
    "links": (_LINKS, _DOMAIN),
    "dofollow": (Key("dofollow", desc=True, kind="number"), _LINKS, _DOMAIN),
    "dr": (_DR, _LINKS, _DOMAIN),
    "linking_pages": (Key("linking_pages", desc=True, kind="number"), _LINKS, _DOMAIN),
    "first_seen": (Key("first_seen", desc=True, kind="time"), _DOMAIN),
    "last_seen": (Key("last_seen", desc=True, kind="time"), _DOMAIN),
    "domain": (_DOMAIN,),
}
LINKED_DOMAIN_SORTS = register_orders("linked_domains", LINKED_DOMAIN_ORDERS)


class SourceNotFound(LinkbackError):
    """The index has no link at all on the pages of ``linked_domains``'s DOMAIN."""

    #: What the API answers (the route exists; the thing asked for does not).
    http_status = 404

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(
            f"no links on pages of '{source}' in this index: linked-domains reads the links on a site's own "
            "pages, so ingest or crawl them first"
        )


def _page(report: str, orders: dict[str, Order], sort: str, after: str | None) -> tuple[str, list[Any]]:
    """`` WHERE`` the rows after cursor ``after`` (nothing for the first page)."""
    if after is None:
        return "", []
    sql, params = after_sql(orders[sort], read_cursor(report, sort, after))
    return f" WHERE {sql}", params


# --- intersect -------------------------------------------------------------------------------------


@report(columns=INTERSECT_COLUMNS)
def intersect(
    store: Store,
    targets: list[str],
    *,
    exclude: list[str] | None = None,
    min_targets: int = 2,
    pages: bool = False,
    follow: bool | None = None,
    sort: str = "targets",
    limit: int | None = None,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """The referring domains (the referring pages with ``pages``) that link to at least
    ``min_targets`` of ``targets`` but to none of ``exclude`` (your own site: the "link
    intersect", or backlink gap), with :data:`INTERSECT_COLUMNS`.

    Targets and excluded ones are domains, hosts or URL prefixes (a repeated one counts once);
    live external links count, followed ones only with ``follow=True`` (then a domain with only
    a nofollow link to an excluded target is still listed). ``source`` is the referring domain
    (or page URL), ``domain`` its registrable domain and ``dr`` that domain's Domain Rating in the
    newest rank run (None before one); ``targets`` how many of the targets it links to and
    ``links`` its links to them. ``cells`` has one entry per target, in the order given:
    ``{"target", "links", "source_url", "target_url"}``, the links to that target and the first of
    them (by source URL, then target URL), or 0 and None. ``sort`` is one of
    :data:`INTERSECT_SORTS`: ``targets`` ranks by how many targets, then DR, then links; ``after``
    a cursor for the page after a row (:func:`~linkback.reports._cursor.next_cursor`).
    """
    tgts = parse_targets(targets)
    shut = parse_targets(exclude or [], name="exclude")
    _check_intersect(store, tgts, shut, min_targets)
    order = INTERSECT_SORTS[check_choice("sort", sort, INTERSECT_SORTS)]
    paged, paged_params = _page("intersect", INTERSECT_ORDERS, sort, after)
    limit_sql, limit_params = check_limit(limit)
    run = latest_run(store.con)
    grouped, params = _grouped_sql(tgts, shut, pages=pages, follow=follow, min_targets=min_targets)
    rows = None
    if run is not None and sort == "targets" and limit is not None:
        rows = _top_tiers(store, grouped, params, run[0], after, paged, paged_params, order, limit_params[0])
    if rows is None:
        ranks = "(SELECT NULL::UBIGINT AS dk, NULL::DOUBLE AS dr WHERE false)"
        if run is not None:
            ranks = f"(SELECT hash(domain) AS dk, dr FROM domain_ranks WHERE run_id = {int(run[0])})"
        sql = f"""
SELECT * FROM (
  SELECT g.source, g.domain, r.dr, g.targets, g.links
  FROM ({grouped}) g LEFT JOIN {ranks} r ON r.dk = hash(g.domain)
){paged}
ORDER BY {order}{limit_sql}"""
        rows = fetch_rows(store.con, sql, params + paged_params + limit_params)
    column = "source_url" if pages else "source_domain"
    cells = _cells(store, tgts, column, [r["source"] for r in rows], follow)
    return [
        {**row, "cells": [cells.get((i, row["source"])) or _no_cell(tgt) for i, tgt in enumerate(tgts)]} for row in rows
    ]


_CANDIDATES = pa.schema(
    [
        ("source", pa.string()),
        ("domain", pa.string()),
        ("dr", pa.float64()),
        ("targets", pa.int64()),
        ("links", pa.int64()),
    ]
)


def _top_tiers(
    store: Store,
    grouped: str,
    params: list[Any],
    run_id: int,
    after: str | None,
    paged: str,
    paged_params: list[Any],
    order: str,
    limit: int,
) -> list[dict[str, Any]] | None:
    """The page of the ``targets`` sort without rating every source: it ranks by how many
    targets first, so only the sources of the tiers that reach into the page need their DR, and
    a few thousand are looked up by name from the rank run's index (milliseconds) instead of
    joining the run's every domain (hundreds of milliseconds at 5 M). None when those tiers hold
    more sources than that: then the join it is."""
    top = read_cursor("intersect", "targets", after)[0] if after is not None else None
    within = "" if top is None else f"WHERE targets <= {int(top)}"
    # After a cursor, as many of its tier as there are may come before it: the tiers below must
    # fill the page by themselves.
    before = "0" if top is None else f"coalesce((SELECT n FROM tiers WHERE targets = {int(top)}), 0)"
    sql = f"""
WITH g AS MATERIALIZED ({grouped}),
tiers AS (SELECT targets, count(*) AS n FROM g {within} GROUP BY targets),
upto AS (SELECT targets, sum(n) OVER (ORDER BY targets DESC) AS upto FROM tiers),
lowest AS (SELECT coalesce(max(targets) FILTER (WHERE upto - {before} >= {int(limit)}), min(targets)) AS t FROM upto),
wanted AS (SELECT * FROM g WHERE targets >= (SELECT t FROM lowest) {within.replace("WHERE", "AND")})
SELECT source, domain, targets, links FROM wanted WHERE (SELECT count(*) FROM wanted) <= {_LITERAL_KEYS}
UNION ALL SELECT NULL, NULL, -1, NULL WHERE (SELECT count(*) FROM wanted) > {_LITERAL_KEYS}"""
    found = store.con.execute(sql, params).fetchall()
    if any(targets == -1 for _, _, targets, _ in found):
        return None
    ratings = domain_ranks_of(store.con, run_id, (domain for _, domain, _, _ in found))
    candidates = pa.Table.from_pylist(
        [
            {
                "source": source,
                "domain": domain,
                "dr": ratings.get(domain, (None, None))[0],
                "targets": n,
                "links": links,
            }
            for source, domain, n, links in found
        ],
        schema=_CANDIDATES,
    )
    # Ordered and paged by the same SQL as the join's rows, so the two ways give the same page.
    name = f"_intersect_{uuid.uuid4().hex}"  # one per call: a server's requests may share the connection
    store.con.register(name, candidates)
    try:
        return fetch_rows(store.con, f"SELECT * FROM {name}{paged} ORDER BY {order} LIMIT {int(limit)}", paged_params)
    finally:
        store.con.unregister(name)


def _no_cell(tgt: Target) -> dict[str, Any]:
    return {"target": tgt.value, "links": 0, "source_url": None, "target_url": None}


#: Fewer targets than this fit a BIGINT of bits beside the excluded bit; more (up to MAX_TARGETS) a HUGEINT.
_BIGINT_TARGETS = 62


def _grouped_sql(
    tgts: list[Target], shut: list[Target], *, pages: bool, follow: bool | None, min_targets: int
) -> tuple[str, list[Any]]:
    """SQL of the sources (domains, or pages) linking to ``min_targets`` of ``tgts`` and to none
    of ``shut``, with ``source``, ``domain``, ``targets`` and ``links``. One group-by over the
    targets' links and the excluded ones' (each read by its range of the clustered table), each
    link carrying its target's bit: a source's targets are the bits it has, and a source with
    the excluded bit goes. Sources are grouped by the 64-bit hash of their name, as the other
    reports group them; the per-target counts are taken for the rows returned only."""
    wide = "BIGINT" if len(tgts) < _BIGINT_TARGETS else "HUGEINT"  # a bit per target, one for the excluded
    excluded = f"(1::{wide} << {62 if wide == 'BIGINT' else 126})"
    key = "hash(source_url)" if pages else "hash(source_domain)"
    name = "source_url" if pages else "source_domain"
    domain = "source_domain" if pages else "NULL::VARCHAR"  # by domain, the source is the domain
    parts, params = [], []
    for i, tgt in enumerate(tgts):
        where, p = link_where(tgt, follow=follow)
        parts.append(f"SELECT {key} AS k, (1::{wide} << {i}) AS bit, 1 AS w, {name} AS source, {domain} AS domain "
                     f"FROM links WHERE {where}")  # fmt: skip
        params += p
    for tgt in shut:
        where, p = link_where(tgt, follow=follow)
        parts.append(f"SELECT {key}, {excluded}, 0, NULL::VARCHAR, NULL::VARCHAR FROM links WHERE {where}")
        params += p
    sql = f"""
SELECT any_value(source) AS source, any_value({"domain" if pages else "source"}) AS domain,
       bit_count(bit_or(bit))::BIGINT AS targets, sum(w)::BIGINT AS links
FROM ({" UNION ALL ".join(parts)})
GROUP BY k
HAVING bit_or(bit) & {excluded} = 0 AND bit_count(bit_or(bit)) >= {int(min_targets)}"""
    return sql, params


def _check_intersect(store: Store, tgts: list[Target], shut: list[Target], min_targets: int) -> None:
    """Clear errors for a call that cannot mean what it says: K out of range, a target that is
    also excluded, a target (or excluded one) the index has no link to at all."""
    if isinstance(min_targets, bool) or not isinstance(min_targets, int) or min_targets < 1:
        raise ValueError(f"min_targets must be a whole number >= 1, not {min_targets!r}")
    if min_targets > len(tgts):
        given = f"{len(tgts)} distinct target{'s' if len(tgts) != 1 else ''}"
        raise ValueError(f"min_targets {min_targets} is more than the {given} given: no source can link to that many")
    both = {(t.kind, t.value) for t in tgts} & {(t.kind, t.value) for t in shut}
    if both:
        names = ", ".join(sorted(value for _, value in both))
        raise ValueError(f"{names}: both a target and excluded; a source cannot link to it and not link to it")
    require_each(store, [*tgts, *shut])


#: Up to this many sources, the cells are read with an IN list of literals, which DuckDB applies
#: in the scan (the URL columns are then read for those rows only); above, a semi join.
_LITERAL_KEYS = 2000


def _cells(
    store: Store, tgts: list[Target], column: str, sources: list[str], follow: bool | None
) -> dict[tuple[int, str], dict[str, Any]]:
    """The cell of each of ``sources`` (values of ``column``: domains or page URLs) and each
    target it links to: its links to that target and the first of them (by source URL, then
    target URL). Only for the rows returned, so the string minimum is not taken over every link."""
    if not sources:
        return {}
    if len(sources) <= _LITERAL_KEYS:
        wanted, extra = f"{column} IN ({', '.join(_string_literal(s) for s in sorted(set(sources)))})", []
    else:
        wanted, extra = f"{column} IN (SELECT unnest(?::VARCHAR[]))", [sources]
    parts, params = [], []
    for i, tgt in enumerate(tgts):
        where, p = link_where(tgt, follow=follow)
        parts.append(
            f"SELECT {i} AS t, {column} AS source, source_url, target_url FROM links WHERE {where} AND {wanted}"
        )
        params += p + extra
    rows = store.con.execute(
        f"""SELECT t, source, count(*), min({{'s': source_url, 'u': target_url}})
        FROM ({" UNION ALL ".join(parts)}) GROUP BY t, source""",
        params,
    ).fetchall()
    return {
        (t, source): {"target": tgts[t].value, "links": n, "source_url": first["s"], "target_url": first["u"]}
        for t, source, n, first in rows
    }


# --- linked_domains --------------------------------------------------------------------------------


def _source_clauses(source: Target) -> tuple[str, list[Any]]:
    """The condition selecting the links on the pages of ``source`` (a domain, host or URL prefix)."""
    if source.kind == "domain":
        return "source_domain = ?", [source.domain]
    if source.kind == "host":
        return "source_host = ?", [source.value]
    prefixes = source.prefixes()
    return "(" + " OR ".join("starts_with(source_url, ?)" for _ in prefixes) + ")", list(prefixes)


@report(columns=LINKED_DOMAIN_COLUMNS)
def linked_domains(
    store: Store,
    domain: str,
    *,
    follow: bool | None = None,
    sort: str = "links",
    limit: int | None = None,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """Where ``domain`` (or a host, or the pages under a URL prefix) links out: one row per other
    domain its pages have a live link to, with :data:`LINKED_DOMAIN_COLUMNS`.

    ``links`` and ``dofollow`` count its links to that domain, ``linking_pages`` its pages that
    have them, ``first_seen``/``last_seen`` the range over those links, ``dr`` the linked
    domain's Domain Rating in the newest rank run (None before one). ``follow`` True keeps
    followed links only, False the others. ``sort`` is one of :data:`LINKED_DOMAIN_SORTS`
    (counts, DR and dates descending); ``after`` a cursor for the page after a row
    (:func:`~linkback.reports._cursor.next_cursor`). Links are read by source, which the index
    is not clustered on: it scans the ``source_domain`` column.
    """
    source = as_target(domain)
    order = LINKED_DOMAIN_SORTS[check_choice("sort", sort, LINKED_DOMAIN_SORTS)]
    paged, paged_params = _page("linked_domains", LINKED_DOMAIN_ORDERS, sort, after)
    limit_sql, limit_params = check_limit(limit)
    where, params = _source_clauses(source)
    if follow is True:
        where += f" AND {DOFOLLOW}"
    elif follow is False:
        where += f" AND NOT ({DOFOLLOW})"
    run = latest_run(store.con)
    # DR joined for every linked domain only when it sorts the rows; else looked up for the page.
    ranks = "(SELECT NULL::VARCHAR AS domain, NULL::DOUBLE AS dr WHERE false)"
    if run is not None and sort == "dr":
        ranks = f"(SELECT domain, dr FROM domain_ranks WHERE run_id = {int(run[0])})"
    sql = f"""
SELECT * FROM (
  SELECT g.domain, r.dr, g.links, g.dofollow, g.linking_pages, g.first_seen, g.last_seen
  FROM (
    SELECT target_domain AS domain, count(*) AS links, count(*) FILTER (WHERE {DOFOLLOW}) AS dofollow,
           count(DISTINCT source_url) AS linking_pages, min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM links
    WHERE {where} AND lost_at IS NULL AND NOT coalesce(internal, false) AND target_domain IS NOT NULL
    GROUP BY target_domain
  ) g LEFT JOIN {ranks} r USING (domain)
){paged}
ORDER BY {order}{limit_sql}"""
    rows = fetch_rows(store.con, sql, params + paged_params + limit_params, utc_columns=("first_seen", "last_seen"))
    if not rows and after is None:
        clause, clause_params = _source_clauses(source)
        if not store.con.execute(f"SELECT 1 FROM links WHERE {clause} LIMIT 1", clause_params).fetchall():
            raise SourceNotFound(source.value)
    if run is not None and sort != "dr":
        ratings = domain_ranks_of(store.con, run[0], (r["domain"] for r in rows))
        for row in rows:
            row["dr"] = ratings.get(row["domain"], (None, None))[0]
    return rows
