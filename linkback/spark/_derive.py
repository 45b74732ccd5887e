"""Stage 2: what ``linkback ingest`` derives from the observations, in Spark SQL.

The same rules as :func:`linkback.store._write._derive_pages` (and the same SQL fragments: the
statuses that decide a loss, the columns taken from the newest observation), over all
observations at once instead of batch by batch:

* ``links``: one row per (source_url, target_url, kind, anchor); first/last seen over the
  observations of its page that had it, its other columns from the newest of those; lost at the
  first *decisive* observation of the page after ``last_seen`` (2xx: ``removed``, 3xx:
  ``redirected``, 404/410/451: ``page_gone``); a truncated 2xx capture is not decisive.
* ``pages``: one row per URL, its columns from its newest observation.
* ``host_edges`` / ``domain_edges``: live links between two different hosts (domains), counted,
  and those of them that pass authority as ``linkback rank`` decides it
  (:data:`linkback.graph._from_store.PASSES`).

One difference from the store: where a page has the same link (target, kind, anchor) twice in
its newest observation with different attributes (rel, section, context...), the first on the
page gives them, here always; the store does so for a page it sees once, but where it derives
the state of a page seen before it takes one of them, which one unspecified.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linkback.graph._from_store import PASSES
from linkback.store._write import _DECISIVE, _LINK_ATTRS, _PAGE_ATTRS

_LINK_STRUCT = ", ".join(f"'{c}', l.{c}" for c in _LINK_ATTRS)
_PAGE_STRUCT = ", ".join(f"'{c}', {c}" for c in _PAGE_ATTRS)

SEEN = f"""
SELECT o.url AS source_url, l.target_url, l.kind, l.anchor,
  min(o.fetched_at) AS first_seen, max(o.fetched_at) AS last_seen,
  max_by(named_struct('via', o.via, 'source_host', o.host, 'source_domain', o.domain,
                      'noindex', coalesce(o.noindex, false), {_LINK_STRUCT}),
         named_struct('at', o.fetched_at, 'seq', -l.link_seq)) AS a
FROM _lb_links l JOIN _lb_obs o ON l.obs_id = o.obs_id
GROUP BY o.url, l.target_url, l.kind, l.anchor
"""

LOST = f"""
WITH last AS (SELECT DISTINCT source_url, last_seen FROM _lb_seen),
decisive AS (SELECT o.url, o.fetched_at, o.status FROM _lb_obs o WHERE {_DECISIVE}),
lost AS (
  SELECT t.source_url, t.last_seen, min_by(d.status, d.fetched_at) AS status, min(d.fetched_at) AS lost_at
  FROM last t JOIN decisive d ON d.url = t.source_url AND d.fetched_at > t.last_seen
  GROUP BY t.source_url, t.last_seen
)
SELECT s.source_url, s.a.source_host AS source_host, s.a.source_domain AS source_domain,
  s.target_url, {", ".join(f"s.a.{c} AS {c}" for c in _LINK_ATTRS)},
  s.kind, s.anchor, s.first_seen, s.last_seen, x.lost_at,
  CASE WHEN x.status IS NULL THEN NULL
       WHEN x.status BETWEEN 300 AND 399 THEN 'redirected'
       WHEN x.status >= 400 THEN 'page_gone'
       ELSE 'removed' END AS lost_reason,
  s.a.via AS via, s.a.noindex AS noindex
FROM _lb_seen s LEFT JOIN lost x ON s.source_url = x.source_url AND s.last_seen = x.last_seen
"""

PAGES = f"""
SELECT url, p.*, first_seen, last_seen, observations FROM (
  SELECT url, max_by(named_struct({_PAGE_STRUCT}), fetched_at) AS p,
    min(fetched_at) AS first_seen, max(fetched_at) AS last_seen, CAST(count(*) AS INT) AS observations
  FROM _lb_obs GROUP BY url)
"""

HOST_EDGES = f"""
SELECT source_host, target_host, target_rhost, count(*) AS links,
  sum(CASE WHEN {PASSES} THEN 1 ELSE 0 END) AS dofollow_links
FROM _lb_derived
WHERE lost_at IS NULL AND source_host IS NOT NULL AND target_host IS NOT NULL AND source_host <> target_host
GROUP BY source_host, target_host, target_rhost
"""

DOMAIN_EDGES = f"""
SELECT source_domain, target_domain, count(*) AS links,
  sum(CASE WHEN {PASSES} THEN 1 ELSE 0 END) AS dofollow_links
FROM _lb_derived
WHERE lost_at IS NULL AND source_domain IS NOT NULL AND target_domain IS NOT NULL
  AND source_domain <> target_domain
GROUP BY source_domain, target_domain
"""


def derive(spark: Any, obs: Any, links: Any) -> dict[str, Any]:
    """The derived tables as DataFrames (``links`` persisted: the edges are made from it)."""
    from pyspark import StorageLevel  # noqa: PLC0415

    obs.createOrReplaceTempView("_lb_obs")
    links.createOrReplaceTempView("_lb_links")
    spark.sql(SEEN).createOrReplaceTempView("_lb_seen")
    derived = spark.sql(LOST).persist(StorageLevel.MEMORY_AND_DISK)
    derived.createOrReplaceTempView("_lb_derived")
    return {
        "links": derived,
        "pages": spark.sql(PAGES),
        "host_edges": spark.sql(HOST_EDGES),
        "domain_edges": spark.sql(DOMAIN_EDGES),
    }


def write(
    spark: Any, tables: dict[str, Any], out: str, *, mode: str, write_table: Callable[..., None]
) -> dict[str, int]:
    """Write the derived tables; their row counts (read from the files' footers), and the live
    links (``live_links``)."""
    counts: dict[str, int] = {}
    for name, df in tables.items():
        write_table(df, out, name, mode=mode)
        counts[name] = spark.read.parquet(f"{out.rstrip('/')}/{name}").count()
    counts["live_links"] = tables["links"].where("lost_at IS NULL").count()
    tables["links"].unpersist()
    return counts
