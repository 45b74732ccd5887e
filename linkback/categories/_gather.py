"""What the store knows of each domain, read as :class:`~._classify.Document` s.

The store keeps no page text: a domain is read from its pages' titles and URLs, its hosts, the
anchors and surrounding words of its pages' content links (``links.context``: the words around
each link, the nearest thing to the page's text the store has), its menus, and the anchors and
surrounding words of other sites' links to it. Each part is capped per domain (a sample chosen by
a hash, the same every time), so a domain with a million pages costs what one with a hundred does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from linkback.categories._classify import Document

#: Pages of a domain read (titles, URLs).
MAX_PAGES = 200
#: Content links of a domain's pages read (anchor and the words around it).
MAX_TEXT_LINKS = 400
#: Distinct menu anchors of a domain read.
MAX_NAV = 150
#: Links from other sites to the domain read.
MAX_INBOUND = 200

# The same definitions as linkback.quality._evidence (a 2xx page that is HTML): not imported,
# because the quality package reads the categories.
PAGE_OK = "(status IS NULL OR status BETWEEN 200 AND 299)"
HTML = "(trim(coalesce(title, '')) <> '' OR coalesce(n_internal, 0) + coalesce(n_external, 0) > 0)"

#: TEMP table of the domains being read.
BATCH = "_categories_batch"

_PAGES = f"""
SELECT domain, list(title ORDER BY h) FILTER (WHERE trim(coalesce(title, '')) <> ''), list(url ORDER BY h),
       list(DISTINCT host), count(*), max(last_seen)
FROM (
  SELECT domain, title, url, host, last_seen, hash(url) AS h,
         row_number() OVER (PARTITION BY domain ORDER BY hash(url), url) AS n
  FROM pages WHERE domain IN (SELECT domain FROM {BATCH}) AND {PAGE_OK} AND {HTML}
) WHERE n <= $max_pages
GROUP BY domain"""

# A link's context holds the words of its neighbours too: each distinct one is read once.
_TEXT = f"""
SELECT source_domain, list(anchor), list(context)
FROM (
  SELECT source_domain, anchor, context,
         row_number() OVER (PARTITION BY source_domain ORDER BY hash(context), context) AS n
  FROM (SELECT DISTINCT source_domain, anchor, context FROM links
        WHERE source_domain IN (SELECT domain FROM {BATCH}) AND section = 'content' AND kind = 'text')
) WHERE n <= $max_text
GROUP BY source_domain"""

_NAV = f"""
SELECT source_domain, list(anchor)
FROM (
  SELECT source_domain, anchor, row_number() OVER (PARTITION BY source_domain ORDER BY hash(anchor), anchor) AS n
  FROM (SELECT DISTINCT source_domain, anchor FROM links
        WHERE source_domain IN (SELECT domain FROM {BATCH}) AND section IN ('nav', 'header')
          AND coalesce(internal, false) AND trim(coalesce(anchor, '')) <> '')
) WHERE n <= $max_nav
GROUP BY source_domain"""

_INBOUND = f"""
SELECT target_domain, list(anchor), list(context)
FROM (
  SELECT target_domain, anchor, context,
         row_number() OVER (PARTITION BY target_domain ORDER BY hash(source_url, anchor), source_url) AS n
  FROM (SELECT DISTINCT target_domain, source_url, anchor, context FROM links
        WHERE target_domain IN (SELECT domain FROM {BATCH}) AND NOT coalesce(internal, false)
          AND source_domain <> target_domain)
) WHERE n <= $max_inbound
GROUP BY target_domain"""


def _run(con: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def documents(con: duckdb.DuckDBPyConnection, domains: Sequence[str]) -> dict[str, tuple[Document, dict[str, Any]]]:
    """The :class:`Document` of each of ``domains`` that has an HTML page in the store, with
    what was read of it (``pages``, ``links``, ``seen_until``)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {BATCH} AS SELECT unnest(?::VARCHAR[]) AS domain", [list(domains)])
    try:
        pages = _run(con, _PAGES, max_pages=MAX_PAGES)
        text = {d: (a, c) for d, a, c in _run(con, _TEXT, max_text=MAX_TEXT_LINKS)}
        nav = dict(_run(con, _NAV, max_nav=MAX_NAV))
        inbound = {d: (a, c) for d, a, c in _run(con, _INBOUND, max_inbound=MAX_INBOUND)}
    finally:
        con.execute(f"DROP TABLE IF EXISTS {BATCH}")
    out: dict[str, tuple[Document, dict[str, Any]]] = {}
    for domain, titles, urls, hosts, n_pages, seen_until in pages:
        anchors, contexts = text.get(domain, ([], []))
        in_anchors, in_contexts = inbound.get(domain, ([], []))
        menu = nav.get(domain, [])
        doc = Document(
            domain,
            titles=titles or [],
            urls=urls or [],
            hosts=sorted(hosts or []),
            text=[t for t in (*anchors, *contexts) if t],
            nav=[t for t in menu if t],
            inbound=[t for t in (*in_anchors, *in_contexts) if t],
        )
        read = {"pages": int(n_pages), "links": len(anchors) + len(menu) + len(in_anchors), "seen_until": seen_until}
        out[domain] = (doc, read)
    return out
