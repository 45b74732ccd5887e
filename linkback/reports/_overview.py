"""The summary card of a target: :func:`overview`."""

from __future__ import annotations

from typing import Any

from linkback.records import LINK_KINDS
from linkback.reports._domains import require_links
from linkback.reports._ranks import DR_BUCKETS, domain_ratings, latest_run
from linkback.reports._select import DOFOLLOW, as_target, fetch_rows, link_where
from linkback.store import Store
from linkback.urls import Target

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
