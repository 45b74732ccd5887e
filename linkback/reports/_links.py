"""The link-level reports: :func:`overview` (the summary card) and :func:`backlinks` (the list)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from linkback.records import LINK_KINDS
from linkback.reports._domains import require_links
from linkback.reports._ranks import DR_BUCKETS, domain_ratings, latest_run, url_ratings_by_hash
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
)
#: The columns read from ``links``; the ranks come from the newest rank run.
_STORED_COLUMNS = (*BACKLINK_COLUMNS[:-2], "source_domain", "hash(source_url) AS source_url_hash")

#: ``sort`` choices of :func:`backlinks`: newest first for dates, A-Z for the domain, highest
#: first for the source's Domain Rating and URL Rating (unrated sources last).
BACKLINK_SORTS = {
    "first_seen": "first_seen DESC NULLS LAST, source_url, target_url",
    "last_seen": "last_seen DESC NULLS LAST, source_url, target_url",
    "source_domain": "source_domain, source_url, target_url",
    "source_dr": "_rank.dr DESC NULLS LAST, source_url, target_url",
    "source_ur": "_rank.ur DESC NULLS LAST, source_url, target_url",
}
#: The join that gives the sorts by rank their ``_rank`` (the newest completed rank run's).
_RANK_JOINS = {
    "source_dr": " LEFT JOIN (SELECT domain, dr FROM domain_ranks WHERE run_id = ("
    "SELECT max(run_id) FROM rank_runs WHERE completed_at IS NOT NULL)) _rank ON _rank.domain = links.source_domain",
    "source_ur": " LEFT JOIN (SELECT url_hash, ur FROM page_ranks) _rank ON _rank.url_hash = hash(links.source_url)",
}

#: Keys of :func:`overview`, in order.
OVERVIEW_COLUMNS = (
    "target",
    "target_kind",
    "backlinks",
    "referring_pages",
    "referring_hosts",
    "referring_domains",
    "dofollow",
    "dofollow_share",
    "nofollow",
    "ugc",
    "sponsored",
    "noindex",
    *(f"kind_{k}" for k in LINK_KINDS),
    "kind_other",
    "first_seen",
    "last_seen",
    "lost",
    "dr",
    "ranked_at",
    *(f"refdomains_dr_{low}_{high}" for low, high in DR_BUCKETS),
)


def overview(store: Store, target: str | Target, *, internal: bool = False) -> dict[str, Any]:
    """The summary of the links to ``target`` (a domain, host or URL prefix).

    Counts are over live links (external ones, or internal ones with ``internal=True``):
    ``backlinks``, distinct ``referring_pages``/``referring_hosts``/``referring_domains``,
    ``dofollow`` (neither nofollow, ugc nor sponsored, nor on a noindex page) and its
    ``dofollow_share`` (0..1, None without links), the ``nofollow``/``ugc``/``sponsored`` flag
    counts and ``noindex`` (links on pages marked noindex), one ``kind_<kind>`` count
    per link kind (``kind_other`` for none of them), the ``first_seen``..``last_seen`` range;
    ``lost`` counts the lost links. From the newest rank run (None before one): ``dr``, the Domain
    Rating of the target's domain, ``ranked_at`` when that run completed, and the referring
    domains by DR band, ``refdomains_dr_0_10`` .. ``refdomains_dr_90_100``.
    """
    tgt = as_target(target)
    where, params = link_where(tgt, internal=internal, include_lost=True)
    live = "lost_at IS NULL"
    # Distinct counts over 64-bit hashes, not strings: a third faster on a domain with millions
    # of links, and a collision (which would undercount by one) has odds of about n²/2^65.
    kinds = ",\n  ".join(f"count(*) FILTER (WHERE {live} AND kind = '{k}') AS kind_{k}" for k in LINK_KINDS)
    known = ", ".join(f"'{k}'" for k in LINK_KINDS)
    sql = f"""
SELECT
  count(*) FILTER (WHERE {live}) AS backlinks,
  count(DISTINCT hash(source_url)) FILTER (WHERE {live}) AS referring_pages,
  count(DISTINCT hash(source_host)) FILTER (WHERE {live}) AS referring_hosts,
  count(DISTINCT hash(source_domain)) FILTER (WHERE {live}) AS referring_domains,
  count(*) FILTER (WHERE {live} AND {DOFOLLOW}) AS dofollow,
  count(*) FILTER (WHERE {live} AND coalesce(nofollow, false)) AS nofollow,
  count(*) FILTER (WHERE {live} AND coalesce(ugc, false)) AS ugc,
  count(*) FILTER (WHERE {live} AND coalesce(sponsored, false)) AS sponsored,
  count(*) FILTER (WHERE {live} AND coalesce(noindex, false)) AS noindex,
  {kinds},
  count(*) FILTER (WHERE {live} AND (kind IS NULL OR kind NOT IN ({known}))) AS kind_other,
  min(first_seen) FILTER (WHERE {live}) AS first_seen,
  max(last_seen) FILTER (WHERE {live}) AS last_seen,
  count(*) FILTER (WHERE lost_at IS NOT NULL) AS lost
FROM links
WHERE {where}"""
    (row,) = fetch_rows(store.con, sql, params)
    if not row["backlinks"] and not row["lost"]:
        require_links(store, tgt)
    row["dofollow_share"] = row["dofollow"] / row["backlinks"] if row["backlinks"] else None
    row["target"] = tgt.value
    row["target_kind"] = tgt.kind
    row.update(_rank_summary(store, tgt, where, params))
    return {k: row[k] for k in OVERVIEW_COLUMNS}


def _rank_summary(store: Store, tgt: Target, where: str, params: list[Any]) -> dict[str, Any]:
    """The target domain's DR and its referring domains by DR band, from the newest rank run."""
    bands = [f"refdomains_dr_{low}_{high}" for low, high in DR_BUCKETS]
    run = latest_run(store.con)
    if run is None:
        return {"dr": None, "ranked_at": None, **dict.fromkeys(bands)}
    run_id, ranked_at = run
    dr = domain_ratings(store.con, run_id, [tgt.domain]).get(tgt.domain)
    counts = dict.fromkeys(bands, 0)
    rows = store.con.execute(
        f"""SELECT least(floor(r.dr / 10), 9)::INTEGER AS band, count(*)
        FROM (SELECT DISTINCT source_domain FROM links WHERE {where} AND lost_at IS NULL) s
        JOIN domain_ranks r ON r.domain = s.source_domain AND r.run_id = ?
        GROUP BY band""",
        [*params, run_id],
    ).fetchall()
    for band, n in rows:
        counts[bands[band]] = n
    return {"dr": dr, "ranked_at": ranked_at, **counts}


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
    anchor: str | None = None,
    internal: bool = False,
    include_lost: bool = False,
    sort: str = "first_seen",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The links to ``target``, one row each, with :data:`BACKLINK_COLUMNS`.

    External live links by default; ``internal=True`` lists links from inside the target's own
    site instead ("what links here"), ``include_lost=True`` adds lost links (``lost_at`` and
    ``lost_reason`` set). ``noindex`` is true for a link on a page marked noindex: readers see
    it, search engines give it no weight. ``follow`` True keeps followed links (none of
    nofollow, ugc, sponsored, noindex), False the others; ``nofollow``/``ugc``/``sponsored``/
    ``noindex`` True keep links with the flag, False without; ``kind``/``section`` take one
    value or several; ``from_domain`` is a referring domain or host; ``anchor`` a
    case-insensitive substring. ``sort`` is one of :data:`BACKLINK_SORTS` (dates newest first,
    ``source_dr``/``source_ur`` highest first); ``limit=None`` returns every row. A target the
    index has no link to at all raises :class:`~linkback.errors.TargetNotFound`.
    """
    sql, params = backlinks_query(**{k: v for k, v in locals().items() if k != "store"})
    rows = fetch_rows(store.con, sql, params, utc_columns=("first_seen", "last_seen", "lost_at"))
    if not rows:
        require_links(store, target)
    run = latest_run(store.con)
    dr = domain_ratings(store.con, run[0] if run else None, (r["source_domain"] for r in rows))
    ur = url_ratings_by_hash(store.con, (r["source_url_hash"] for r in rows)) if run else {}
    for row in rows:
        row["source_dr"] = dr.get(row.pop("source_domain"))
        row["source_ur"] = ur.get(row.pop("source_url_hash"))
    return rows


def backlinks_query(
    target: str | Target, *, sort: str = "first_seen", limit: int | None = None, **filters: Any
) -> tuple[str, list[Any]]:
    """The SQL and parameters :func:`backlinks` runs (for EXPLAIN and benchmarks)."""
    order = BACKLINK_SORTS[check_choice("sort", sort, BACKLINK_SORTS)]
    where, params = link_where(target, **filters)
    limit_sql, limit_params = check_limit(limit)
    join = _RANK_JOINS.get(sort, "")
    sql = f"SELECT {', '.join(_STORED_COLUMNS)} FROM links{join} WHERE {where} ORDER BY {order}{limit_sql}"
    return sql, params + limit_params
