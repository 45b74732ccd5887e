"""The page, host and domain graphs of the live links in a store, as :class:`CSRGraph` arrays.

DuckDB does the set work (filtering, grouping links into distinct node pairs, numbering the
nodes with a hash join) in parallel C++; only integer arrays cross into numpy. Which links count is
decided here, once, for every rank:

* a link passes authority when it is live (``lost_at IS NULL``), not nofollow/ugc/sponsored (page
  level nofollow is already folded into ``nofollow``), and of a kind a crawler follows as a vote:
  :data:`AUTHORITY_KINDS`. Canonical, alternate, feed and form links are references, not votes;
* the domain graph has one edge per (source domain, target domain) pair with at least one such link
  between *different* registrable domains: a second link from the same domain adds nothing;
* the host graph, as Common Crawl's, links hosts (www.example.com and blog.example.com are two);
* the page graph has internal and external links; pages are identified by DuckDB's 64-bit
  ``hash(url)`` so tens of millions of URLs never travel as strings (a collision among 50 M URLs
  has a probability of about 1e-4; it would merge two pages' ranks, nothing worse).
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


@dataclass(frozen=True)
class LabelledGraph:
    """A graph and the label of each node: ``labels[i]`` is node ``i`` (strings, or uint64 URL hashes)."""

    graph: CSRGraph
    labels: pa.Array

    @property
    def n(self) -> int:
        return self.graph.n


def _numbered(con: duckdb.DuckDBPyConnection, nodes_sql: str, table: str) -> None:
    """TEMP ``table(label, id)``: each distinct label of ``nodes_sql`` numbered 0..n-1."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, (row_number() OVER () - 1)::INTEGER AS id FROM ({nodes_sql})"
    )


def _graph(con: duckdb.DuckDBPyConnection, pairs: str, nodes: str) -> LabelledGraph:
    """The graph of the edges in TEMP table ``pairs(s, t)`` over the numbered ``nodes`` table."""
    (n,) = con.execute(f"SELECT count(*) FROM {nodes}").fetchall()[0]
    edges = con.sql(
        f"SELECT a.id AS s, b.id AS t FROM {pairs} p JOIN {nodes} a ON p.s = a.label JOIN {nodes} b ON p.t = b.label"
    ).to_arrow_table()
    src = edges.column("s").to_numpy() if edges.num_rows else np.zeros(0, np.int32)
    dst = edges.column("t").to_numpy() if edges.num_rows else np.zeros(0, np.int32)
    labels = con.sql(f"SELECT label FROM {nodes} ORDER BY id").to_arrow_table().column("label").combine_chunks()
    return LabelledGraph(from_edges(src, dst, int(n)), labels)


def domain_graph(con: duckdb.DuckDBPyConnection) -> LabelledGraph:
    """The domain graph of dofollow external links, over every domain the store knows.

    Leaves TEMP table ``_domain_pairs(s, t, links, passes)`` — every live external (source domain,
    target domain) pair with its number of links and whether one of them passes authority — for the
    per-domain counts that go with the ranks.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _domain_pairs AS
        SELECT source_domain AS s, target_domain AS t, count(*) AS links, bool_or({PASSES}) AS passes
        FROM links
        WHERE lost_at IS NULL AND source_domain <> target_domain
        GROUP BY ALL"""
    )
    _numbered(
        con,
        "SELECT s AS label FROM _domain_pairs UNION SELECT t FROM _domain_pairs "
        "UNION SELECT domain FROM pages WHERE domain IS NOT NULL",
        "_domain_ids",
    )
    con.execute("CREATE OR REPLACE TEMP VIEW _domain_edges AS SELECT s, t FROM _domain_pairs WHERE passes")
    return _graph(con, "_domain_edges", "_domain_ids")


def host_graph(con: duckdb.DuckDBPyConnection) -> tuple[LabelledGraph, pa.Array]:
    """The host graph: one edge per pair of different hosts with a link that passes authority.

    Also returns each node's registrable domain (as the links recorded it), in node order.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _host_pairs AS
        SELECT DISTINCT source_host AS s, source_domain AS sd, target_host AS t, target_domain AS td FROM links
        WHERE {PASSES} AND source_host <> target_host"""
    )
    _numbered(
        con,
        # any_value: a host has one registrable domain; GROUP BY guards the numbering against a NULL twin
        "SELECT label, any_value(domain) AS domain FROM (SELECT s AS label, sd AS domain FROM _host_pairs "
        "UNION SELECT t, td FROM _host_pairs UNION SELECT host, domain FROM pages WHERE host IS NOT NULL) GROUP BY label",
        "_host_ids",
    )
    graph = _graph(con, "_host_pairs", "_host_ids")
    domains = con.sql("SELECT domain FROM _host_ids ORDER BY id").to_arrow_table().column("domain").combine_chunks()
    return graph, domains


def page_graph(con: duckdb.DuckDBPyConnection) -> LabelledGraph:
    """The page graph of authority-passing links, internal and external; labels are ``hash(url)``."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _page_pairs AS
        SELECT hash(source_url) AS s, hash(target_url) AS t FROM links
        WHERE {PASSES} AND source_url <> target_url"""
    )
    _numbered(con, "SELECT s AS label FROM _page_pairs UNION SELECT t FROM _page_pairs", "_page_ids")
    return _graph(con, "_page_pairs", "_page_ids")


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Free what the graph builders left behind."""
    con.execute("DROP VIEW IF EXISTS _domain_edges")
    for table in ("_domain_pairs", "_domain_ids", "_host_pairs", "_host_ids", "_page_pairs", "_page_ids"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
