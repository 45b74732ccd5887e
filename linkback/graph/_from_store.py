"""The page, host and domain graphs of the live links in a store, as :class:`CSRGraph` arrays.

Which links count is decided here, once, for every rank:

* a link passes authority when it is live (``lost_at IS NULL``), not nofollow/ugc/sponsored (page
  level nofollow is already folded into ``nofollow``), and of a kind a crawler follows as a vote:
  :data:`AUTHORITY_KINDS`. Canonical, alternate, feed and form links are references, not votes;
* the domain graph links *different* registrable domains, the host graph (as Common Crawl's)
  different hosts — www.example.com and blog.example.com are two — and the page graph has internal
  and external links between different URLs. Repeated links between two nodes count once
  (:func:`~linkback.graph.from_edges` merges them).

How it is built: DuckDB numbers the nodes (a dictionary table of the distinct labels), then streams
one ``(source id, target id)`` pair per link out of a hash join against that dictionary — the
dictionary is the small side, so no hash table ever holds one entry per distinct link, which is
what made a ``GROUP BY (source, target)`` spill at 50 M links. Merging repeated pairs, counting
referring domains and backlinks, all happen in numpy on integer arrays. Pages are identified by
DuckDB's 64-bit ``hash(url)``, so tens of millions of URLs never travel as strings (a collision among
50 M URLs has a probability of about 1e-4; it would merge two pages' ranks, nothing worse).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from linkback.graph._csr import CSRGraph, from_edges

#: Link kinds that count as a vote for their target.
AUTHORITY_KINDS = ("text", "image", "redirect", "frame")

_KINDS_SQL = ", ".join(f"'{kind}'" for kind in AUTHORITY_KINDS)
#: A live link that passes authority.
PASSES = (
    "lost_at IS NULL AND NOT (coalesce(nofollow, false) OR coalesce(ugc, false) OR coalesce(sponsored, false))"
    f" AND kind IN ({_KINDS_SQL})"
)

_TEMP_TABLES = ("_sources", "_domain_ids", "_host_ids", "_source_ids", "_page_ids")


@dataclass(frozen=True)
class LabelledGraph:
    """A graph and the label of each node: ``labels[i]`` is node ``i`` (strings, or uint64 URL hashes)."""

    graph: CSRGraph
    labels: pa.Array

    @property
    def n(self) -> int:
        return self.graph.n


@dataclass(frozen=True)
class DomainCounts:
    """Per domain (node order of the domain graph), over live links between different domains."""

    refdomains: np.ndarray  # domains linking to it
    dofollow_refdomains: np.ndarray  # domains linking to it with a link that passes authority
    backlinks: np.ndarray  # links to it
    linked_domains: np.ndarray  # domains it links to with a link that passes authority


def _dictionary(con: duckdb.DuckDBPyConnection, table: str, labels_sql: str, extra: str = "") -> int:
    """TEMP ``table(label, id[, extra])`` numbering the distinct labels of ``labels_sql`` 0..n-1."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT label{extra}, (row_number() OVER () - 1)::INTEGER AS id FROM ({labels_sql})"
    )
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _labels(con: duckdb.DuckDBPyConnection, table: str, column: str = "label") -> pa.Array:
    """``column`` of the dictionary ``table`` in id order: read as stored and put in place by a
    scatter of the ids (linear), not an ORDER BY (a sort of tens of millions of rows)."""
    table_ = con.sql(f"SELECT {column}, id FROM {table}").to_arrow_table()
    ids = table_.column("id").to_numpy()
    row_of_id = np.empty(ids.shape[0], dtype=np.int64)
    row_of_id[ids] = np.arange(ids.shape[0])
    return table_.column(column).combine_chunks().take(pa.array(row_of_id))


def _pairs(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    """The integer columns of ``sql`` as numpy arrays (streamed from DuckDB as Arrow)."""
    table = con.sql(sql).to_arrow_table()
    return {name: table.column(name).to_numpy() for name in table.column_names}


def site_graphs(con: duckdb.DuckDBPyConnection) -> tuple[LabelledGraph, DomainCounts, LabelledGraph, pa.Array]:
    """The domain graph with its per-domain counts, and the host graph with each host's domain.

    The domain graph has authority-passing links between different domains, over every domain the
    store knows; the host graph the same between different hosts. Both come out of one pass over
    the links. ``links`` is clustered on the target, so looking a target up in a dictionary hits
    the same entry many times in a row and stays in cache, while the sources arrive in random order
    and every lookup is a cache miss: so each link looks up only its source *page*, once, and the
    page's host and domain ids come from small per-page arrays.
    """
    # Each source page once (the one aggregation over randomly ordered sources), then the
    # dictionaries from it, the clustered targets (cheap: equal values arrive together) and pages.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _sources AS
        SELECT source_url AS label, any_value(source_host) AS host, any_value(source_domain) AS domain
        FROM links WHERE lost_at IS NULL GROUP BY source_url"""
    )
    n_domains = _dictionary(
        con,
        "_domain_ids",
        "SELECT DISTINCT target_domain AS label FROM links WHERE target_domain IS NOT NULL "
        "UNION SELECT DISTINCT domain FROM _sources WHERE domain IS NOT NULL "
        "UNION SELECT DISTINCT domain FROM pages WHERE domain IS NOT NULL",
    )
    n_hosts = _dictionary(
        con,
        "_host_ids",
        # any_value: a host has one registrable domain; grouping keeps one row per host regardless
        "SELECT label, any_value(domain) AS domain FROM ("
        "  SELECT target_host AS label, any_value(target_domain) AS domain FROM links GROUP BY target_host"
        "  UNION ALL SELECT host, domain FROM _sources UNION ALL SELECT host, domain FROM pages"
        ") WHERE label IS NOT NULL GROUP BY label",
        extra=", domain",
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _source_ids AS
        SELECT p.label, h.id AS host_id, d.id AS domain_id, (row_number() OVER () - 1)::INTEGER AS id
        FROM _sources p JOIN _host_ids h ON h.label = p.host JOIN _domain_ids d ON d.label = p.domain"""
    )
    con.execute("DROP TABLE _sources")
    per_source = _pairs(con, "SELECT host_id, domain_id FROM _source_ids ORDER BY id")
    edges = _pairs(
        con,
        f"""SELECT s.id AS s, th.id AS th, td.id AS td, coalesce({PASSES}, false) AS passes
        FROM links l JOIN _source_ids s ON l.source_url = s.label
        JOIN _host_ids th ON l.target_host = th.label JOIN _domain_ids td ON l.target_domain = td.label
        WHERE l.lost_at IS NULL""",
    )
    source, passes = edges["s"], edges["passes"]
    # domains: every live link between different domains; the graph keeps those passing authority
    src, dst = per_source["domain_id"][source], edges["td"]
    external = src != dst
    src, dst, dofollow = src[external], dst[external], passes[external]
    backlinks = np.bincount(dst, minlength=n_domains).astype(np.int64)
    refdomains = np.diff(from_edges(src, dst, n_domains).indptr)
    domain_graph = from_edges(src[dofollow], dst[dofollow], n_domains)
    del src, dst, external, dofollow
    counts = DomainCounts(refdomains, np.diff(domain_graph.indptr), backlinks, domain_graph.out_degree)
    # hosts: links passing authority between different hosts
    src, dst = per_source["host_id"][source[passes]], edges["th"][passes]
    host_graph = from_edges(src, dst, n_hosts)  # drops the links inside one host as self-loops
    del src, dst, edges, source, passes
    return (
        LabelledGraph(domain_graph, _labels(con, "_domain_ids")),
        counts,
        LabelledGraph(host_graph, _labels(con, "_host_ids")),
        _labels(con, "_host_ids", "domain"),
    )


def page_graph(con: duckdb.DuckDBPyConnection) -> LabelledGraph:
    """The page graph of authority-passing links, internal and external; labels are ``hash(url)``."""
    live = f"FROM links WHERE {PASSES} AND source_url <> target_url"
    n = _dictionary(
        con,
        "_page_ids",
        f"SELECT DISTINCT hash(source_url) AS label {live} UNION SELECT DISTINCT hash(target_url) {live}",
    )
    edges = _pairs(
        con,
        f"""SELECT s.id AS s, t.id AS t
        FROM (SELECT hash(source_url) AS su, hash(target_url) AS tu {live}) l
        JOIN _page_ids s ON l.su = s.label JOIN _page_ids t ON l.tu = t.label""",
    )
    graph = from_edges(edges["s"], edges["t"], n)
    return LabelledGraph(graph, _labels(con, "_page_ids"))


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Free what the graph builders left behind."""
    for table in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
