"""The ``claims`` report: what tools say links to a site, beside what linkback's own index holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from linkback.faces import report
from linkback.imports._formats import LEVELS, VIAS

if TYPE_CHECKING:
    from linkback.store import Store

#: Columns of :func:`claims`, in order (the JSON keys and CSV header).
CLAIM_COLUMNS = (
    "claim_id",
    "via",
    "level",
    "source",
    "target",
    "anchor",
    "nofollow",
    "ugc",
    "sponsored",
    "kind",
    "first_seen",
    "last_seen",
    "lost_at",
    "status",
    "indexed",
    "metrics",
    "notes",
    "tags",
    "imported_at",
    "updated_at",
)

#: ``sort`` choices of :func:`claims`: source A-Z; dates newest first.
CLAIM_SORTS = {
    "source": "coalesce(source_url, source_host) NULLS LAST, coalesce(target_url, target_host), via, claim_id",
    "last_seen": "last_seen DESC NULLS LAST, claim_id",
    "imported_at": "imported_at DESC, claim_id",
    "updated_at": "updated_at DESC, claim_id",
}

# The target a claim names: its page, or else the site the import was for (a domain stands for
# all its hosts, as a TARGET does).
_SAME_TARGET = """(CASE WHEN c.target_url IS NOT NULL THEN l.target_url = c.target_url
  WHEN c.target_host = c.target_domain THEN l.target_domain = c.target_domain
  ELSE l.target_host = c.target_host END)"""
_INDEXED = f"""CASE c.level
  WHEN 'link' THEN EXISTS (SELECT 1 FROM links l WHERE l.source_url = c.source_url AND l.lost_at IS NULL
    AND {_SAME_TARGET})
  WHEN 'domain' THEN EXISTS (SELECT 1 FROM links l WHERE (l.source_domain = c.source_host OR l.source_host = c.source_host)
    AND l.lost_at IS NULL AND {_SAME_TARGET})
  END"""


@report(columns=CLAIM_COLUMNS)
def claims(
    store: Store,
    target: str,
    *,
    via: str | Sequence[str] | None = None,
    level: str | Sequence[str] | None = None,
    verified: bool | None = None,
    sort: str = "source",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The backlinks tools claim for ``target`` (imported with ``linkback import``), one row each.

    ``source`` is the linking page (or, for a ``domain``-level claim, the referring domain);
    ``target`` the linked page, or the site the export was about. ``status`` is ``unverified``
    until linkback has checked the claim on the live web, then that check's verdict; ``indexed``
    says whether linkback's own index holds a live link that matches it (empty for ``page`` and
    ``anchor`` claims, which are counts). ``metrics`` is the tool's own numbers, as a JSON object.
    ``via`` and ``level`` take one value or several; ``verified`` True keeps the checked claims,
    False the unverified ones. ``sort`` is one of :data:`CLAIM_SORTS`.
    """
    from linkback.reports._select import as_target, check_choice, check_limit, fetch_rows, target_clauses  # noqa: PLC0415

    clauses, params = target_clauses(as_target(target))
    for column, given, allowed in (("via", via, VIAS), ("level", level, LEVELS)):
        values = [given] if isinstance(given, str) else list(given or ())
        for value in values:
            check_choice(column, value, allowed)
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if verified is not None:
        clauses.append("checked_at IS NOT NULL" if verified else "checked_at IS NULL")
    order = CLAIM_SORTS[check_choice("sort", sort, CLAIM_SORTS)]
    limit_sql, limit_params = check_limit(limit)
    sql = f"""
        SELECT c.claim_id, c.via, c.level, coalesce(c.source_url, c.source_host) AS source,
          coalesce(c.target_url, c.target_host) AS target, c.anchor, c.nofollow, c.ugc, c.sponsored, c.kind,
          c.first_seen, c.last_seen, c.lost_at,
          CASE WHEN c.checked_at IS NULL THEN 'unverified' ELSE c.verdict END AS status,
          {_INDEXED} AS indexed,
          c.metrics, c.notes, c.tags, c.imported_at, c.updated_at
        FROM (SELECT * FROM claims WHERE {" AND ".join(clauses)} ORDER BY {order}{limit_sql}) c
        ORDER BY {order}
    """
    return fetch_rows(
        store.con,
        sql,
        [*params, *limit_params],
        utc_columns=("first_seen", "last_seen", "lost_at", "imported_at", "updated_at"),
    )
