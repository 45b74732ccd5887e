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


#: Columns of :func:`imports`, in order.
IMPORT_COLUMNS = (
    "import_id",
    "name",
    "format",
    "via",
    "site",
    "target",
    "encoding",
    "rows",
    "claims",
    "added",
    "changed",
    "unchanged",
    "duplicates",
    "rejected",
    "rejects",
    "first_imported_at",
    "imported_at",
)


@report(columns=IMPORT_COLUMNS)
def imports(
    store: Store,
    *,
    via: str | Sequence[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The export files imported, newest first, one row each: its name, the format it was read
    as, rows read, claims added, changed and unchanged at its latest import, and rows refused
    (``rejects``: the first of them, a JSON list of ``{line, reason}``). A file imported again is
    still one row. ``target`` is the site its claims are about: the ``site`` it was imported for,
    or else the domain most of the claims it last listed link to (``linkback claims TARGET``).
    ``via`` takes one tool or several."""
    from linkback.reports._select import check_choice, check_limit, fetch_rows  # noqa: PLC0415

    clauses, params = ["true"], []
    values = [via] if isinstance(via, str) else list(via or ())
    for value in values:
        check_choice("via", value, VIAS)
    if values:
        clauses.append(f"via IN ({', '.join('?' for _ in values)})")
        params.extend(values)
    limit_sql, limit_params = check_limit(limit)
    # Only the listed imports' claims are grouped: the page asks for a few of many.
    sql = f"""
        WITH i AS (
          SELECT * FROM claim_imports WHERE {" AND ".join(clauses)}
          ORDER BY imported_at DESC, import_id DESC{limit_sql})
        SELECT i.import_id, i.name, i.format, i.via, i.site,
          coalesce(nullif(i.site, ''), t.domain) AS target, i.encoding, i.rows, i.claims, i.added,
          i.changed, i.unchanged, i.duplicates, i.rejected, i.rejects, i.first_imported_at, i.imported_at
        FROM i LEFT JOIN (
          SELECT import_id, mode(target_domain) AS domain FROM claims
          WHERE import_id IN (SELECT import_id FROM i) GROUP BY import_id) t USING (import_id)
        ORDER BY i.imported_at DESC, i.import_id DESC
    """
    return fetch_rows(store.con, sql, [*params, *limit_params], utc_columns=("first_imported_at", "imported_at"))
