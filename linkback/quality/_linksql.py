"""The SQL of the link-level toxicity signals (:mod:`linkback.quality._toxicity` runs it): the
target's exchanges with its referring domains, its topic, and the query that scores each backlink.

Everything reads TEMP table :data:`LINKS`, the target's live external backlinks, which the caller
makes first.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from linkback.graph._from_store import PASSES
from linkback.quality._signals import DOMAIN_SIGNALS, title_params, title_words_sql
from linkback.urls import Target

LINKS = "_toxic_links"  # TEMP table: the target's live external backlinks


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """Run ``sql`` with those of the named ``params`` it uses (DuckDB refuses the others)."""
    return con.execute(sql, {k: params[k] for k in set(re.findall(r"\$(\w+)", sql))})


# The site a host is: the host without a leading "www." (www.example.com and example.com are one site).
_SITE = "regexp_replace({c}, '^www\\.', '')"


def exchanges(con: duckdb.DuckDBPyConnection, domain: str) -> dict[str, list[Any]]:
    """The exchanges of the sites of ``domain`` with its referring domains, over live dofollow
    links between domains: the (site, referring domain) pairs where the site links back (A↔B), with
    how many of its pages do, and those where a domain the site links to links to the referring
    domain (a cycle of three). An exchange is between two sites: on a platform such as
    wordpress.com, a blog linking to a site is not the blog that site linked to."""
    # Nothing orders links by source: each step is a scan of the source domains (seconds on 50M
    # links), so the second runs only when the target links out at all.
    passes = f"source_domain <> target_domain AND NOT coalesce(internal, false) AND {PASSES}"
    out = con.execute(
        f"SELECT {_SITE.format(c='source_host')}, target_domain, count(DISTINCT source_url) FROM links"
        f" WHERE source_domain = ? AND {passes} GROUP BY ALL",
        [domain],
    ).fetchall()
    if not out:
        return {"rc_sites": [], "rc_domains": [], "rc_pages": [], "cy_sites": [], "cy_domains": []}
    sites, domains, pages = (list(col) for col in zip(*out))
    refd = f"SELECT source_domain FROM {LINKS}"
    back = con.execute(
        f"SELECT s, d, n FROM (SELECT unnest(?::VARCHAR[]) AS s, unnest(?::VARCHAR[]) AS d, unnest(?::BIGINT[]) AS n)"
        f" WHERE d IN ({refd}) ORDER BY s, d",
        [sites, domains, pages],
    ).fetchall()
    cycle = con.execute(
        f"""SELECT DISTINCT o.s, l.target_domain
        FROM links l JOIN (SELECT unnest(?::VARCHAR[]) AS s, unnest(?::VARCHAR[]) AS b) o ON l.source_domain = o.b
        WHERE l.target_domain IN ({refd}) AND {passes}""",
        [sites, domains],
    ).fetchall()
    return {
        "rc_sites": [r[0] for r in back],
        "rc_domains": [r[1] for r in back],
        "rc_pages": [r[2] for r in back],
        "cy_sites": [r[0] for r in cycle],
        "cy_domains": [r[1] for r in cycle],
    }


# A page's language, as its primary subtag ("de-DE" and "de_ch" are both "de"; "" when unknown).
_LANG = "regexp_extract(lower(coalesce({c}, '')), '^[a-z]+')"


def topic(con: duckdb.DuckDBPyConnection, target: Target) -> dict[str, Any]:
    """The target's topic: the content words of its pages' titles (those the store has), the
    languages of those pages and how many there are (pages whose titles have content words)."""
    where = "domain = $domain" if target.kind == "domain" else "rhost = $rhost"
    prefixes = {f"p{i}": p for i, p in enumerate(target.prefixes())}
    if prefixes:
        where += " AND (" + " OR ".join(f"starts_with(url, ${k})" for k in prefixes) + ")"
    sql = f"""
SELECT count(*), coalesce(list_distinct(flatten(list(words))), []),
       coalesce(list_distinct(list(lang) FILTER (WHERE lang <> '')), [])
FROM (SELECT {title_words_sql("title")} AS words, {_LANG.format(c="lang")} AS lang
      FROM pages WHERE {where} AND title IS NOT NULL)
WHERE len(words) > 0"""
    values = {"domain": target.domain, "rhost": target.rhost, **prefixes, **title_params()}
    pages, words, langs = execute(con, sql, values).fetchall()[0]
    return {"topic_pages": pages, "topic": sorted(words), "topic_langs": sorted(langs)}


def _flag(name: str, condition: str) -> str:
    return f"CASE WHEN {condition} THEN $bit_{name} ELSE 0 END"


def target_category(con: duckdb.DuckDBPyConnection, target: Target, min_confidence: float) -> str | None:
    """The Tier-1 category of the target's domain (``linkback categorize``), when that sure."""
    rows = con.execute(
        "SELECT tier1 FROM domain_categories WHERE domain = ? AND tier1 IS NOT NULL AND confidence >= ?",
        [target.domain, min_confidence],
    ).fetchall()
    return rows[0][0] if rows else None


def scored_sql(with_titles: bool, with_categories: bool = False) -> str:
    """The backlinks with ``mask``, ``verdict``, ``toxicity``, the columns the reports show and the
    evidence of the link signals (``sw_pages``, ``ia_pages``, ``rc_pages``).

    ``with_categories``: the target's domain has a category (bind ``$target_tier1`` and
    ``$category_min``): a source domain of the same Tier-1 category is never off topic, one of
    another is when the titles cannot tell (``with_titles`` False)."""
    domain_mask = " | ".join(
        _flag(s.name, f"contains(' ' || signals || ' ', ' ' || $name_{s.name} || ' ')") for s in DOMAIN_SIGNALS
    )
    same_language = "(source_lang = '' OR len($topic_langs) = 0 OR list_contains($topic_langs, source_lang))"
    by_titles = (
        f"(len(source_words) > 0 AND NOT list_has_any(source_words, $topic) AND {same_language})"
        if with_titles
        else "false"
    )
    if with_categories:
        by_categories = "coalesce(dc.tier1 <> $target_tier1, false)"
        off_topic = _flag(
            "off_topic",
            f"NOT coalesce(dc.tier1 = $target_tier1, false) AND ({by_titles if with_titles else by_categories})",
        )
    else:
        off_topic = _flag("off_topic", by_titles) if with_titles else "0"
    categories = (
        "LEFT JOIN (SELECT domain, tier1 FROM domain_categories WHERE tier1 IS NOT NULL AND confidence >= $category_min"
        f" AND domain IN (SELECT source_domain FROM {LINKS})) dc ON dc.domain = w.source_domain"
        if with_categories
        else ""
    )
    titles = (
        f"LEFT JOIN (SELECT url, {title_words_sql('title')} AS source_words, {_LANG.format(c='lang')} AS source_lang"
        f" FROM pages WHERE url IN (SELECT source_url FROM {LINKS})) p ON p.url = w.source_url"
        if with_titles
        else ""
    )
    mask = " | ".join(
        [
            "coalesce(d.mask, 0)",
            _flag("sitewide", "list_contains($template, w.section) AND sw.source_host IS NOT NULL"),
            _flag("comment_section", "w.section = 'comment'"),
            _flag("commercial_anchor", "c.anchor IS NOT NULL"),
            _flag("identical_anchors", "ia.source_domain IS NOT NULL"),
            _flag("reciprocal", "rc.domain IS NOT NULL"),
            _flag("link_cycle", "cy.domain IS NOT NULL AND rc.domain IS NULL"),
            off_topic,
        ]
    )
    # A link's score: what its source domain's stored score leaves (1 - toxicity / 100; signals
    # that are list verdicts or stale names leave all of it) times what its link signals leave.
    domain_keep = (
        "CASE WHEN coalesce(d.mask, 0) = 0 THEN 1.0 WHEN d.toxicity IS NULL THEN $dkeep[d.mask + 1]"
        " ELSE 1 - d.toxicity / 100.0 END"
    )
    return f"""
WITH w AS (
  SELECT *, lower(trim(coalesce(anchor, ''))) AS anchor_key, {_SITE.format(c="target_host")} AS target_site
  FROM {LINKS}
),
sw AS (  -- grouped, not windowed: a window over millions of links costs ten times as much
  SELECT source_host, count(DISTINCT source_url) AS pages FROM {LINKS} WHERE list_contains($template, section)
  GROUP BY source_host HAVING count(DISTINCT source_url) >= $sitewide_pages
),
ia AS (
  SELECT source_domain, anchor_key, count(DISTINCT source_url) AS pages FROM w WHERE anchor_key <> ''
  GROUP BY source_domain, anchor_key HAVING count(DISTINCT source_url) >= $identical
),
d AS (
  SELECT domain, dr, toxicity, {domain_mask} AS mask FROM domain_ranks
  WHERE run_id = $run_id AND domain IN (SELECT source_domain FROM {LINKS})
),
c AS (SELECT unnest($c_anchors::VARCHAR[]) AS anchor, unnest($c_hosts::VARCHAR[]) AS target_host),
uv AS (SELECT unnest($v_urls::VARCHAR[]) AS url, unnest($v_url_verdicts::VARCHAR[]) AS verdict),
hv AS (SELECT unnest($v_hosts::VARCHAR[]) AS host, unnest($v_host_verdicts::VARCHAR[]) AS verdict),
dv AS (SELECT unnest($v_domains::VARCHAR[]) AS domain, unnest($v_domain_verdicts::VARCHAR[]) AS verdict),
sv AS (
  SELECT l.source_domain AS domain, arg_max(s.verdict, length(s.entry)) AS verdict
  FROM (SELECT DISTINCT source_domain FROM {LINKS}) l
  JOIN (SELECT unnest($v_suffixes::VARCHAR[]) AS entry, unnest($v_suffix_verdicts::VARCHAR[]) AS verdict) s
    ON ends_with(l.source_domain, '.' || s.entry)
  GROUP BY l.source_domain
),
rc AS (
  SELECT unnest($rc_sites::VARCHAR[]) AS site, unnest($rc_domains::VARCHAR[]) AS domain,
         unnest($rc_pages::BIGINT[]) AS pages
),
cy AS (SELECT unnest($cy_sites::VARCHAR[]) AS site, unnest($cy_domains::VARCHAR[]) AS domain),
m AS (
  SELECT w.source_url, w.source_host, w.source_domain, w.target_url, w.anchor, w.kind, w.section, w.dofollow,
         d.dr, coalesce(uv.verdict, hv.verdict, dv.verdict, sv.verdict) AS verdict, {mask} AS mask,
         {domain_keep} AS dkeep, sw.pages AS sw_pages, ia.pages AS ia_pages, rc.pages AS rc_pages
  FROM w
  LEFT JOIN d ON d.domain = w.source_domain
  LEFT JOIN sw ON sw.source_host = w.source_host
  LEFT JOIN ia ON ia.source_domain = w.source_domain AND ia.anchor_key = w.anchor_key
  LEFT JOIN c ON c.anchor = w.anchor AND c.target_host = w.target_host
  LEFT JOIN uv ON uv.url = w.source_url
  LEFT JOIN hv ON hv.host = w.source_host
  LEFT JOIN dv ON dv.domain = w.source_domain
  LEFT JOIN sv ON sv.domain = w.source_domain
  LEFT JOIN rc ON rc.domain = w.source_domain AND rc.site = w.target_site
  LEFT JOIN cy ON cy.domain = w.source_domain AND cy.site = w.target_site
  {titles}
  {categories}
)
SELECT *, CASE verdict WHEN 'deny' THEN 100 WHEN 'allow' THEN 0
  ELSE floor(100 * (1 - dkeep * $lkeep[(mask >> $dbits) + 1]) + 0.5)::INTEGER END AS toxicity
FROM m"""
