"""The link-level report: :func:`backlinks`, one row per link."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from linkback.reports._cursor import Key, Order, after_sql, read_cursor, register_orders
from linkback.reports._domains import require_links
from linkback.reports._ranks import domain_ratings, latest_run, url_ratings_by_hash
from linkback.reports._select import as_target, check_choice, check_limit, fetch_rows, link_where, target_clauses
from linkback.store import Store
from linkback.urls import Target, host_of, split_host

#: Columns of :func:`backlinks`, in order (the JSON keys and CSV header).
BACKLINK_COLUMNS = (
    "source_url",
    "target_url",
    "anchor",
    "rel",
    "nofollow",
    "ugc",
    "sponsored",
    "noindex",
    "kind",
    "section",
    "first_seen",
    "last_seen",
    "lost_at",
    "lost_reason",
    "source_dr",
    "source_ur",
    "visits",
)
#: The columns read from ``links``; the ranks come from the newest rank run.
_STORED_COLUMNS = (*BACKLINK_COLUMNS[:-3], "source_domain", "hash(source_url) AS source_url_hash")

#: What makes a link's row unique (the key ingest derives ``links`` by): the last keys of every
#: sort, so each is a total order and a page's cursor (``after``) skips and repeats no row.
LINK_IDENTITY: Order = (Key("source_url"), Key("target_url"), Key("kind"), Key("anchor"))


def _source_domain(row: Mapping[str, Any]) -> str:
    return split_host(host_of(row["source_url"])).domain


#: The keys of each ``sort`` of :func:`backlinks`: newest first for dates, A-Z for the domain,
#: highest first for the source's Domain Rating and URL Rating (unrated sources last).
BACKLINK_ORDERS: dict[str, Order] = {
    "first_seen": (Key("first_seen", desc=True, kind="time"), *LINK_IDENTITY),
    "last_seen": (Key("last_seen", desc=True, kind="time"), *LINK_IDENTITY),
    "source_domain": (Key("source_domain", from_row=_source_domain), *LINK_IDENTITY),
    "source_dr": (Key("source_dr", desc=True, kind="number", sql="_rank.dr"), *LINK_IDENTITY),
    "source_ur": (Key("source_ur", desc=True, kind="number", sql="_rank.ur"), *LINK_IDENTITY),
}
#: ``sort`` choices of :func:`backlinks` and their ORDER BY.
BACKLINK_SORTS = register_orders("backlinks", BACKLINK_ORDERS)
#: The join that gives the sorts by rank their ``_rank`` (the newest completed rank run's).
_RANK_JOINS = {
    "source_dr": " LEFT JOIN (SELECT domain, dr FROM domain_ranks WHERE run_id = ("
    "SELECT max(run_id) FROM rank_runs WHERE completed_at IS NOT NULL)) _rank ON _rank.domain = links.source_domain",
    "source_ur": " LEFT JOIN (SELECT url_hash, ur FROM page_ranks) _rank ON _rank.url_hash = hash(links.source_url)",
}


def backlinks(
    store: Store,
    target: str | Target,
    *,
    follow: bool | None = None,
    nofollow: bool | None = None,
    ugc: bool | None = None,
    sponsored: bool | None = None,
    noindex: bool | None = None,
    kind: str | Sequence[str] | None = None,
    section: str | Sequence[str] | None = None,
    from_domain: str | None = None,
    from_url: str | None = None,
    anchor: str | None = None,
    internal: bool = False,
    include_lost: bool = False,
    sort: str = "first_seen",
    limit: int | None = None,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """The links to ``target``, one row each, with :data:`BACKLINK_COLUMNS` (``visits``: the
    visits read from access logs that came from the link's page to its target).

    External live links by default; ``internal=True`` lists links from inside the target's own
    site instead ("what links here"), ``include_lost=True`` adds lost links (``lost_at`` and
    ``lost_reason`` set). ``noindex`` is true for a link on a page marked noindex: readers see
    it, search engines give it no weight. ``follow`` True keeps followed links (none of
    nofollow, ugc, sponsored, noindex), False the others; ``nofollow``/``ugc``/``sponsored``/
    ``noindex`` True keep links with the flag, False without; ``kind``/``section`` take one
    value or several; ``from_domain`` is a referring domain or host, ``from_url`` one referring
    page (its URL exactly as ``source_url`` shows it); ``anchor`` a case-insensitive substring.
    ``sort`` is one of :data:`BACKLINK_SORTS` (dates newest first, ``source_dr``/``source_ur``
    highest first); ``limit=None`` returns every row. ``after`` is the cursor of the previous
    page (:func:`~linkback.reports._cursor.next_cursor` of its last row): the rows that follow
    it in this sort. A target the index has no link to at all raises
    :class:`~linkback.errors.TargetNotFound`.
    """
    filters = {k: v for k, v in locals().items() if k not in ("store", "target", "sort", "limit", "after")}
    check_choice("sort", sort, BACKLINK_SORTS)
    values = None if after is None else read_cursor("backlinks", sort, after)
    if values is not None and sort == "source_domain":
        # The cursor derives the domain from the URL; the stored one is what the rows sort by.
        values[0] = _stored_source_domain(store, target, values[1:]) or values[0]
    sql, params = _query(target, sort, limit, values, filters)
    rows = fetch_rows(store.con, sql, params, utc_columns=("first_seen", "last_seen", "lost_at"))
    if not rows:
        require_links(store, target)
    run = latest_run(store.con)
    dr = domain_ratings(store.con, run[0] if run else None, (r["source_domain"] for r in rows))
    ur = url_ratings_by_hash(store.con, (r["source_url_hash"] for r in rows)) if run else {}
    from linkback.traffic._reports import link_visits  # noqa: PLC0415 - traffic reads these reports' helpers

    for row, visits in zip(rows, link_visits(store, target, rows)):
        row["source_dr"] = dr.get(row.pop("source_domain"))
        row["source_ur"] = ur.get(row.pop("source_url_hash"))
        row["visits"] = visits  # from the referring page to the link's target (linkback visits)
    return rows


def backlinks_query(
    target: str | Target,
    *,
    sort: str = "first_seen",
    limit: int | None = None,
    after: str | None = None,
    **filters: Any,
) -> tuple[str, list[Any]]:
    """The SQL and parameters :func:`backlinks` runs (for EXPLAIN and benchmarks)."""
    check_choice("sort", sort, BACKLINK_SORTS)
    values = None if after is None else read_cursor("backlinks", sort, after)
    return _query(target, sort, limit, values, filters)


def _query(
    target: str | Target, sort: str, limit: int | None, after: list[Any] | None, filters: dict[str, Any]
) -> tuple[str, list[Any]]:
    where, params = link_where(target, **filters)
    if after is not None:
        after_where, after_params = after_sql(BACKLINK_ORDERS[sort], after)
        where, params = f"{where} AND {after_where}", params + after_params
    limit_sql, limit_params = check_limit(limit)
    join = _RANK_JOINS.get(sort, "")
    order = BACKLINK_SORTS[sort]
    sql = f"SELECT {', '.join(_STORED_COLUMNS)} FROM links{join} WHERE {where} ORDER BY {order}{limit_sql}"
    return sql, params + limit_params


def _stored_source_domain(store: Store, target: str | Target, identity: list[Any]) -> str | None:
    """The ``source_domain`` stored with the link whose identity is ``identity`` (None once gone)."""
    clauses, params = target_clauses(as_target(target))
    # Its target's reversed host: links are clustered on it, so the scan reads a few row groups.
    clauses.append("target_rhost = ?")
    params.append(split_host(host_of(identity[1] or "")).rhost)
    for key, value in zip(LINK_IDENTITY, identity, strict=True):
        # Equalities, not IS NOT DISTINCT FROM: the scan applies them with the zone maps.
        clauses.append(f"{key.name} = ?" if value is not None else f"{key.name} IS NULL")
        params += [] if value is None else [value]
    rows = store.con.execute(f"SELECT source_domain FROM links WHERE {' AND '.join(clauses)} LIMIT 1", params).fetchall()
    return rows[0][0] if rows else None
