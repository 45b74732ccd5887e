"""The reports of the categories: the mix of a target's referring domains (``categories``, what
the CLI's ``linkback categories`` and the dashboard's widget show) and one domain's category
(``domain_category``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from linkback.categories._classify import CLASSIFIER_VERSION, classify
from linkback.categories._gather import documents
from linkback.categories._job import domain_of
from linkback.categories._taxonomy import CREDIT, TAXONOMY_VERSION
from linkback.faces import report

if TYPE_CHECKING:
    from linkback.reports._overview import RefdomainTable
    from linkback.store import Store
    from linkback.urls import Target

#: Columns of :func:`categories`, in order.
CATEGORY_COLUMNS = ("category", "tier1", "tier2", "domains", "share", "links", "confidence", "examples")

#: The rows for referring domains with no category: read, but their pages said too little; and
#: not read yet (``linkback categorize`` has not run since they came in).
UNKNOWN = "(unknown)"
NOT_CATEGORIZED = "(not categorized)"

#: Example domains named per category.
EXAMPLES = 3
#: SQL: a group's :data:`EXAMPLES` domains in the order ``dr DESC NULLS LAST, links DESC, domain``
#: (NaN, the largest DR in DuckDB's order, first), as the smallest keys of a top-N aggregate, not
#: a list of every domain of the group sorted: a group holds up to a million domains on the most
#: linked target, and that sort was most of the report's time. A NULL domain is not an example.
_EXAMPLES = (
    "arg_min(domain, {'unranked': dr IS NULL, 'finite': NOT coalesce(isnan(dr), false),"
    f" 'dr': coalesce(-dr, 0), 'links': -links, 'domain': domain}}, {EXAMPLES})"
)


@report(columns=CATEGORY_COLUMNS)
def categories(
    store: Store,
    target: str | Target,
    *,
    tier: int = 1,
    min_confidence: float = 0.0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The mix of ``target``'s referring domains by topic (IAB Content Taxonomy 3.1), one row per
    category, most domains first.

    ``category`` is the Tier-1 name (``tier=1``) or ``Tier 1 > Tier 2`` (``tier=2``; a domain with
    no Tier-2 word counts under its Tier-1 name alone); ``domains`` the referring domains in it
    (with a live link to the target), ``share`` their fraction of all of them, ``links`` their
    links to the target, ``confidence`` the mean confidence of their categories (0-1) and
    ``examples`` up to three of them, highest Domain Rating first. Domains whose category has a
    confidence below ``min_confidence`` count as ``(unknown)``, like those whose pages said too
    little; ``(not categorized)`` are those ``linkback categorize`` has not read yet. The rows come
    last whatever their size. Categories: IAB Tech Lab Content Taxonomy 3.1, CC BY 3.0.
    """
    from linkback.reports._overview import refdomain_table  # noqa: PLC0415 - reports import much
    from linkback.reports._select import check_limit  # noqa: PLC0415

    _check(tier, min_confidence)
    check_limit(limit)  # a bad argument refused before the links are read
    return categories_of(store, refdomain_table(store, target), tier=tier, min_confidence=min_confidence, limit=limit)


def _check(tier: int, min_confidence: float) -> None:
    if tier not in (1, 2):
        raise ValueError(f"tier must be 1 or 2, not {tier!r}")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be between 0 and 1, not {min_confidence!r}")


def categories_of(
    store: Store,
    refdomains: RefdomainTable,
    *,
    tier: int = 1,
    min_confidence: float = 0.0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """:func:`categories` of ``refdomains.target`` from its referring domains already read
    (``linkback.reports._overview.refdomain_table``), as the dashboard's overview page reads them
    once for several of its parts."""
    from linkback.reports._select import check_limit, fetch_rows  # noqa: PLC0415 - reports import much

    _check(tier, min_confidence)
    limit_sql, limit_params = check_limit(limit)
    # A target with few links: the categories' rows of its referring domains by name
    # (milliseconds), not joined with every row of the table.
    read = "domain_categories"
    if refdomains.few:
        read = f"(SELECT * FROM domain_categories WHERE domain IN ({refdomains.domain_keys()}))"
    with refdomains.scan(store) as name:
        # Every value is a ? placeholder, in the order the query text names them.
        sql = f"""
WITH c AS (
  SELECT r.domain, r.links, r.dr, c.domain IS NOT NULL AS read, c.confidence,
         CASE WHEN c.confidence >= ? THEN c.tier1 END AS tier1,
         CASE WHEN c.confidence >= ? THEN c.tier2 END AS tier2
  FROM {name} r LEFT JOIN {read} c ON c.domain = r.domain
),
g AS (
  SELECT CASE WHEN NOT read THEN '{NOT_CATEGORIZED}' WHEN tier1 IS NULL THEN '{UNKNOWN}' ELSE tier1 END AS tier1,
         CASE WHEN ? = 2 THEN tier2 END AS tier2, count(*) AS domains, sum(links)::BIGINT AS links,
         avg(confidence) AS confidence, {_EXAMPLES} AS examples
  FROM c GROUP BY ALL
)
SELECT CASE WHEN tier2 IS NULL THEN tier1 ELSE tier1 || ' > ' || tier2 END AS category,
       CASE WHEN tier1 IN ('{UNKNOWN}', '{NOT_CATEGORIZED}') THEN NULL ELSE tier1 END AS tier1, tier2, domains,
       domains / sum(domains) OVER () AS share, links, round(confidence, 3) AS confidence, examples
FROM g
ORDER BY tier1 IN ('{UNKNOWN}', '{NOT_CATEGORIZED}'), domains DESC, category{limit_sql}"""
        rows = fetch_rows(store.con, sql, [min_confidence, min_confidence, tier, *limit_params])
    for row in rows:
        row["examples"] = " ".join(row["examples"] or [])
    if not rows:
        from linkback.reports._domains import require_links  # noqa: PLC0415

        require_links(store, refdomains.target)
    return rows


def _alternatives(best: list[dict[str, Any]]) -> str:
    """The best Tier-1 categories with their shares of the evidence: ``Sports 62%, Travel 20%``."""
    return ", ".join(f"{a['tier1']} {float(a['share']):.0%}" for a in best)


#: Columns of :func:`domain_category`.
DOMAIN_CATEGORY_COLUMNS = (
    "domain", "tier1", "tier1_id", "tier2", "tier2_id", "confidence", "evidence", "alternatives", "pages", "links",
    "categorized_at", "stored", "taxonomy",
)  # fmt: skip


@report(columns=DOMAIN_CATEGORY_COLUMNS, one=True)
def domain_category(store: Store, domain: str) -> dict[str, Any]:
    """The category of one domain (a host or URL stands for its registrable domain): its Tier-1
    and Tier-2 names and IAB ids, ``confidence`` (0-1), ``evidence`` (the words that decided it,
    weightiest first), ``alternatives`` (the three best Tier-1 categories with their shares of
    the evidence: ``Sports 62%, Travel 20%``), and what was read: ``pages`` and ``links``. ``stored`` is true when it comes
    from ``linkback categorize``; for a domain that run has not read yet it is worked out now
    from the store (and not kept), with ``categorized_at`` empty. ``tier1`` is empty when its
    pages said too little. Raises ``ValueError`` when the store has no page of the domain."""
    name = domain_of(domain)
    rows = store.con.execute(
        "SELECT domain, tier1, tier1_id, tier2, tier2_id, confidence, evidence, alternatives, pages, links,"
        " categorized_at::TIMESTAMP, version FROM domain_categories WHERE domain = ?",
        [name],
    ).fetchall()
    if rows and rows[0][-1] == CLASSIFIER_VERSION:
        *values, _version = rows[0]
        row = dict(zip(DOMAIN_CATEGORY_COLUMNS[:11], values))
        row["alternatives"] = _alternatives(json.loads(row["alternatives"] or "[]"))
        if row["categorized_at"] is not None:
            from datetime import timezone  # noqa: PLC0415

            row["categorized_at"] = row["categorized_at"].replace(tzinfo=timezone.utc)
        return {**row, "stored": True, "taxonomy": f"{TAXONOMY_VERSION} ({CREDIT})"}
    docs = documents(store.con, [name])
    if name not in docs:
        raise ValueError(f"{name}: the store has no HTML page of this domain to categorize it by")
    doc, read = docs[name]
    cat = classify(doc)
    return {
        "domain": name,
        "tier1": cat.tier1,
        "tier1_id": cat.tier1_id,
        "tier2": cat.tier2,
        "tier2_id": cat.tier2_id,
        "confidence": cat.confidence,
        "evidence": cat.evidence,
        "alternatives": _alternatives(cat.alternatives),
        "pages": read["pages"],
        "links": read["links"],
        "categorized_at": None,
        "stored": False,
        "taxonomy": f"{TAXONOMY_VERSION} ({CREDIT})",
    }
