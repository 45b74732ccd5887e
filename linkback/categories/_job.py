"""``categorize``: classify the domains of the store and keep their categories (``domain_categories``).

A domain is read again when it is new, when a page of it newer than the one last read came in, or
when its category was made by another version of the word lists; ``everything`` reads every one
again. The work goes in batches, each written in one transaction through :meth:`Store.write`, so
an interrupted run keeps what it finished and the next run takes up the rest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from linkback.categories._classify import CLASSIFIER_VERSION, Category, classify
from linkback.categories._gather import HTML, PAGE_OK, documents
from linkback.errors import LinkbackError
from linkback.faces import ProgressFn, job
from linkback.urls import split_host

if TYPE_CHECKING:
    from linkback.store import Store

#: Domains read and written per batch.
BATCH_SIZE = 2000

_COLUMNS = (
    "domain", "tier1", "tier1_id", "tier2", "tier2_id", "confidence", "score", "evidence", "alternatives",
    "pages", "links", "seen_until", "version", "categorized_at",
)  # fmt: skip


def _due(store: Store, everything: bool, only: Sequence[str] | None) -> list[str]:
    """The domains to read, in order: every domain with an HTML page (or those of ``only``) that
    has no category yet, a newer page than the one last read, or a category of another version."""
    con = store.con
    clauses = [PAGE_OK, HTML]
    params: list[Any] = []
    if only is not None:
        clauses.append("domain IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(only))
    pages = f"SELECT domain, max(last_seen) AS seen FROM pages WHERE {' AND '.join(clauses)} GROUP BY domain"
    stale = (
        ""
        if everything
        else " WHERE c.domain IS NULL OR c.version IS DISTINCT FROM ? OR c.seen_until IS DISTINCT FROM p.seen"
    )
    sql = f"SELECT p.domain FROM ({pages}) p LEFT JOIN domain_categories c USING (domain){stale} ORDER BY p.domain"
    rows = con.execute(sql, params + ([] if everything else [CLASSIFIER_VERSION])).fetchall()
    return [r[0] for r in rows if r[0]]


def _row(cat: Category, read: dict[str, Any], now: datetime) -> tuple:
    return (
        cat.domain, cat.tier1, cat.tier1_id, cat.tier2, cat.tier2_id, cat.confidence, cat.score, cat.evidence,
        json.dumps(cat.alternatives, ensure_ascii=False), read["pages"], read["links"], read["seen_until"],
        CLASSIFIER_VERSION, now,
    )  # fmt: skip


def _store_rows(store: Store, rows: list[tuple]) -> None:
    def write(store: Store) -> None:
        domains = [r[0] for r in rows]
        store.con.execute("DELETE FROM domain_categories WHERE domain IN (SELECT unnest(?::VARCHAR[]))", [domains])
        store.con.executemany(
            f"INSERT INTO domain_categories ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})", rows
        )

    store.write(write)


def domain_of(name: str) -> str:
    """The registrable domain of a domain, host or URL (``https://blog.example.com/x`` → ``example.com``)."""
    host = name.strip().lower().split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rstrip(".")
    if not host or any(c.isspace() for c in host):
        raise LinkbackError(f"{name!r} is not a domain or host (give one like example.com)")
    return split_host(host).domain


def _domains_of(names: Sequence[str]) -> list[str]:
    return [domain_of(name) for name in names]


@job("categorize")
def categorize(
    store: Store,
    *,
    domains: Sequence[str] | None = None,
    everything: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Classify the domains of the store by topic (IAB Content Taxonomy 3.1, Tier 1 and 2) and keep
    each one's category, confidence and evidence words; the run's counts.

    Only domains that are new or have newer pages since they were last read are read, unless
    ``everything``; ``domains`` (domains or hosts) limits the run to those. The result has
    ``domains`` (read), ``categorized`` (given a category), ``unknown`` (too little to say) and
    ``categories`` (how many domains each Tier-1 category got in this run).
    """
    only = _domains_of(domains) if domains is not None else None
    due = _due(store, everything, only)
    counts: dict[str, int] = {}
    done = categorized = 0
    if progress is not None:
        progress({"done": 0, "total": len(due), "unit": "domains", "stage": "categorize"})
    for start in range(0, len(due), BATCH_SIZE):
        batch = due[start : start + BATCH_SIZE]
        docs = documents(store.con, batch)
        now = datetime.now(UTC)
        rows = []
        for domain in batch:
            if domain not in docs:
                continue
            doc, read = docs[domain]
            cat = classify(doc)
            rows.append(_row(cat, read, now))
            if cat.tier1 is not None:
                categorized += 1
                counts[cat.tier1] = counts.get(cat.tier1, 0) + 1
        if rows:
            _store_rows(store, rows)
        done += len(batch)
        if progress is not None:
            progress({"done": done, "total": len(due), "unit": "domains", "stage": "categorize"})
    ordered = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return {"domains": done, "categorized": categorized, "unknown": done - categorized, "categories": ordered}
