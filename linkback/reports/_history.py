"""New and lost links over time."""

from __future__ import annotations

from typing import Any

from linkback.reports._domains import require_links
from linkback.reports._select import check_choice, check_limit, fetch_rows, link_where
from linkback.store import Store
from linkback.urls import Target

#: Why a link was lost, as ``links.lost_reason`` records it. ``noindex`` is no longer derived (a
#: link on a noindex page is live, flagged ``links.noindex``) but is still read in older stores.
LOST_REASONS = ("removed", "page_gone", "redirected", "noindex")

HISTORY_COLUMNS = (
    "date",
    "new",
    "lost",
    *(f"lost_{r}" for r in LOST_REASONS),
    "lost_other",
    "new_domains",
    "lost_domains",
)

#: ``by`` choices: each period is named by its first day (weeks start on Monday), in UTC.
PERIODS = ("day", "week", "month")


def history(
    store: Store,
    target: str | Target,
    *,
    by: str = "day",
    internal: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """New and lost links to ``target`` per day, week or month, oldest first.

    One row per period in which something happened, with :data:`HISTORY_COLUMNS`: ``date`` (a
    :class:`datetime.date`, the period's first day in UTC), ``new`` links (by ``first_seen``),
    ``lost`` links (by ``lost_at``) split by reason into ``lost_<reason>`` (``lost_other`` for
    an unknown or missing reason), and referring domains gained (``new_domains``: its first link
    appeared) and lost (``lost_domains``: its last live link was lost). ``limit`` keeps the
    most recent periods.
    """
    period = check_choice("by", by, PERIODS)
    where, params = link_where(target, internal=internal, include_lost=True)

    def bucket(column: str) -> str:
        return f"CAST(date_trunc('{period}', timezone('UTC', {column})) AS DATE)"

    reasons = ",\n    ".join(f"count(*) FILTER (WHERE lost_reason = '{r}') AS lost_{r}" for r in LOST_REASONS)
    known = ", ".join(f"'{r}'" for r in LOST_REASONS)
    sql = f"""
WITH sel AS (
  SELECT source_domain, first_seen, lost_at, lost_reason FROM links WHERE {where}
), gained AS (
  SELECT {bucket("first_seen")} AS date, count(*) AS new FROM sel
  WHERE first_seen IS NOT NULL GROUP BY ALL
), lost AS (
  SELECT {bucket("lost_at")} AS date, count(*) AS lost,
    {reasons},
    count(*) FILTER (WHERE lost_reason IS NULL OR lost_reason NOT IN ({known})) AS lost_other
  FROM sel WHERE lost_at IS NOT NULL GROUP BY ALL
), domains AS (
  SELECT min(first_seen) AS first_seen,
         CASE WHEN count(lost_at) = count(*) THEN max(lost_at) END AS lost_at
  FROM sel GROUP BY source_domain
), domains_gained AS (
  SELECT {bucket("first_seen")} AS date, count(*) AS new_domains FROM domains
  WHERE first_seen IS NOT NULL GROUP BY ALL
), domains_lost AS (
  SELECT {bucket("lost_at")} AS date, count(*) AS lost_domains FROM domains
  WHERE lost_at IS NOT NULL GROUP BY ALL
), dates AS (
  SELECT date FROM gained UNION SELECT date FROM lost
  UNION SELECT date FROM domains_gained UNION SELECT date FROM domains_lost
)
SELECT dates.date,
  coalesce(gained.new, 0) AS new,
  coalesce(lost.lost, 0) AS lost,
  {", ".join(f"coalesce(lost.lost_{r}, 0) AS lost_{r}" for r in LOST_REASONS)},
  coalesce(lost.lost_other, 0) AS lost_other,
  coalesce(domains_gained.new_domains, 0) AS new_domains,
  coalesce(domains_lost.lost_domains, 0) AS lost_domains
FROM dates
LEFT JOIN gained USING (date)
LEFT JOIN lost USING (date)
LEFT JOIN domains_gained USING (date)
LEFT JOIN domains_lost USING (date)
ORDER BY dates.date"""
    check_limit(limit)
    rows = fetch_rows(store.con, sql, params)
    if not rows:
        require_links(store, target)
    if limit is not None:
        # The most recent ``limit`` periods: all of them when there are fewer.
        rows = rows[max(len(rows) - limit, 0) :]
    return rows
