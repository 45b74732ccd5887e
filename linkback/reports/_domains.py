"""Which domains the index holds: the :func:`domains` report, and what a report says about a
TARGET the index has no link to (:func:`require_links`: the close matches of a typo)."""

from __future__ import annotations

from typing import Any

from linkback.errors import TargetNotFound
from linkback.reports._ranks import latest_run
from linkback.reports._select import DOFOLLOW, as_target, check_choice, check_limit, fetch_rows, target_clauses
from linkback.store import Store
from linkback.urls import Target

#: Columns of :func:`domains` with ``by="domain"``, in order.
DOMAIN_COLUMNS = ("domain", "dr", "referring_domains", "backlinks", "dofollow", "internal_links")
#: Columns of :func:`domains` with ``by="host"``, in order.
HOST_COLUMNS = ("host", "domain", "hr", "referring_domains", "backlinks", "dofollow", "internal_links")
#: ``by`` choices of :func:`domains`.
DOMAIN_GROUPS = ("domain", "host")
#: ``sort`` choices of :func:`domains` (descending; the name A-Z breaks ties).
DOMAIN_SORTS = {
    "referring_domains": "referring_domains DESC, backlinks DESC",
    "backlinks": "backlinks DESC",
    "dofollow": "dofollow DESC, backlinks DESC",
    "rating": "rating DESC NULLS LAST, backlinks DESC",
}

#: How close a domain's name must be to a missing TARGET's to be offered (Jaro-Winkler, 0..1),
#: and how many are offered.
CLOSE_MATCH_SIMILARITY = 0.85
CLOSE_MATCHES = 5

# The per-domain counts, the rows picked from them and their referring domains, for one call.
_COUNTS = "_domains_counts"
_PICKED = "_domains_picked"
_REFERRING = "_domains_referring"


def domains(
    store: Store, *, by: str = "domain", sort: str = "referring_domains", limit: int | None = None
) -> list[dict[str, Any]]:
    """The most linked domains (or hosts, ``by="host"``) in the index.

    One row per domain with :data:`DOMAIN_COLUMNS` (per host: :data:`HOST_COLUMNS`):
    ``referring_domains`` (distinct domains with a live link to it), ``backlinks`` (live links
    from other domains), ``dofollow`` (those that pass authority), ``internal_links`` (live links
    from inside its own domain), and from the newest rank run its Domain Rating ``dr`` (a host's
    ``hr``; None before a run). Every domain a live link points to is listed, so it is also the
    list of what the other reports can be asked about. ``sort`` is one of :data:`DOMAIN_SORTS`
    (``rating`` sorts by DR, or by HR for hosts).

    It stays fast on a large index: the counts come from one group-by over the live links, and
    the referring domains (a distinct count, ten times dearer) only for the rows returned, plus
    the few others that could still outrank them when sorting by referring domains.
    """
    check_choice("by", by, DOMAIN_GROUPS)
    order = DOMAIN_SORTS[check_choice("sort", sort, DOMAIN_SORTS)]
    limit_sql, limit_params = check_limit(limit)
    con = store.con
    key = "target_domain" if by == "domain" else "target_host"
    _count_links(con, by, key)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_PICKED} AS SELECT * FROM {_COUNTS} LIMIT 0")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_REFERRING} (name VARCHAR, referring_domains BIGINT)")
        if sort == "referring_domains":
            _pick_most_referred(con, key, limit)
        else:
            _pick(con, key, order, 0, limit)
        names = "name AS domain, rating AS dr" if by == "domain" else "name AS host, domain, rating AS hr"
        return fetch_rows(
            con,
            f"""SELECT {names}, coalesce(referring_domains, 0) AS referring_domains, backlinks, dofollow,
                   internal_links
            FROM {_PICKED} LEFT JOIN {_REFERRING} USING (name)
            ORDER BY {order}, name{limit_sql}""",
            limit_params,
        )
    finally:
        for table in (_COUNTS, _PICKED, _REFERRING):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _count_links(con: Any, by: str, key: str) -> None:
    """:data:`_COUNTS`: per domain (or host) its live links by kind, and its rating, in one
    group-by over the links."""
    external = "NOT coalesce(internal, false)"
    if by == "domain":
        run = latest_run(con)
        ratings = "SELECT domain AS name, dr AS rating FROM domain_ranks WHERE run_id = ?"
        params = [run[0] if run else None]
    else:
        # host_ranks holds the newest run only (and nothing before the first).
        ratings, params = "SELECT host AS name, hr AS rating FROM host_ranks", []
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_COUNTS} AS
        SELECT c.*, r.rating FROM (
          SELECT {key} AS name, any_value(target_domain) AS domain,
                 count(*) FILTER (WHERE {external}) AS backlinks,
                 count(*) FILTER (WHERE {external} AND {DOFOLLOW}) AS dofollow,
                 count(*) FILTER (WHERE NOT {external}) AS internal_links
          FROM links WHERE lost_at IS NULL AND {key} IS NOT NULL
          GROUP BY {key}
        ) c LEFT JOIN ({ratings}) r USING (name)""",
        params,
    )


def _pick_most_referred(con: Any, key: str, limit: int | None) -> None:
    """Pick rows of :data:`_COUNTS` until they hold the ``limit`` most referred.

    A domain's referring domains never exceed its backlinks, so once the ``limit``-th most
    referred of the most backlinked rows picked has more referring domains than the next row has
    backlinks, no row left can enter the top. Until then four times as many rows are picked.
    """
    (total,) = con.execute(f"SELECT count(*) FROM {_COUNTS}").fetchall()[0]
    picked, size = 0, total if limit is None else 2 * limit + 16
    while True:
        _pick(con, key, "backlinks DESC", picked, size - picked)
        picked = size
        if picked >= total or not limit:
            return
        nth = con.execute(
            f"SELECT referring_domains FROM {_REFERRING} ORDER BY referring_domains DESC LIMIT 1 OFFSET ?", [limit - 1]
        ).fetchall()
        (rest,) = con.execute(
            f"SELECT backlinks FROM {_COUNTS} ORDER BY backlinks DESC, name LIMIT 1 OFFSET ?", [picked]
        ).fetchall()[0]
        if nth and nth[0][0] > rest:
            return
        size *= 4


def _pick(con: Any, key: str, order: str, offset: int, count: int | None) -> None:
    """Add rows ``offset`` .. ``offset + count`` of :data:`_COUNTS` in ``order`` (all the rest
    for None) to :data:`_PICKED`, and their referring domains to :data:`_REFERRING`."""
    limit_sql, limit_params = check_limit(count)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _domains_new AS "
        f"SELECT * FROM {_COUNTS} ORDER BY {order}, name{limit_sql} OFFSET ?",
        [*limit_params, offset],
    )
    con.execute(f"INSERT INTO {_PICKED} SELECT * FROM _domains_new")
    # Hashes, not strings, in the distinct count: half the time (a collision, about n²/2^65,
    # would undercount by one).
    con.execute(
        f"""INSERT INTO {_REFERRING}
        SELECT l.{key}, count(DISTINCT hash(l.source_domain))
        FROM links l SEMI JOIN _domains_new p ON l.{key} = p.name
        WHERE l.lost_at IS NULL AND NOT coalesce(l.internal, false)
        GROUP BY l.{key}"""
    )
    con.execute("DROP TABLE _domains_new")


def require_links(store: Store, target: str | Target) -> None:
    """Raise :class:`~linkback.errors.TargetNotFound` if the index has no link at all to
    ``target`` (live or lost, internal or external), with the domains whose names are close.

    Reports call it only when they found nothing, so it costs nothing when there are rows.
    """
    tgt = as_target(target)
    clauses, params = target_clauses(tgt)
    if store.con.execute(f"SELECT 1 FROM links WHERE {' AND '.join(clauses)} LIMIT 1", params).fetchall():
        return
    raise TargetNotFound(tgt.value, close_domains(store, tgt))


def close_domains(store: Store, target: str | Target) -> list[str]:
    """Domains the index has links to whose names are close to ``target``'s, closest first.

    The target's own domain comes first when it has links (a host or URL prefix of a domain the
    index knows); then names within :data:`CLOSE_MATCH_SIMILARITY` by Jaro-Winkler similarity
    (which weighs a shared beginning: ``facebok.com`` is close to ``facebook.com``).
    """
    tgt = as_target(target)
    # The distinct targets of a table clustered on them: one cheap pass over one column.
    rows = store.con.execute(
        """SELECT domain, jaro_winkler_similarity(domain, $name) AS score
        FROM (SELECT DISTINCT target_domain AS domain FROM links WHERE target_domain IS NOT NULL)
        WHERE domain = $domain OR score >= $min
        ORDER BY domain = $domain DESC, score DESC, domain
        LIMIT $n""",
        {"name": tgt.domain, "domain": tgt.domain, "min": CLOSE_MATCH_SIMILARITY, "n": CLOSE_MATCHES},
    ).fetchall()
    return [domain for domain, _ in rows if domain != tgt.value]
