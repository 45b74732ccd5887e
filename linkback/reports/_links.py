"""The link-level report: :func:`backlinks`, one row per link."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from linkback.reports._domains import require_links
from linkback.reports._ranks import domain_ratings, latest_run, url_ratings_by_hash
from linkback.reports._select import check_choice, check_limit, fetch_rows, link_where
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
