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

_TEMP_TABLES = ("_domain_ids", "_host_ids", "_page_ids")


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
    return con.sql(f"SELECT {column} FROM {table} ORDER BY id").to_arrow_table().column(column).combine_chunks()


def _pairs(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    """The integer columns of ``sql`` as numpy arrays (streamed from DuckDB as Arrow)."""
    table = con.sql(sql).to_arrow_table()
    return {name: table.column(name).to_numpy() for name in table.column_names}


def domain_graph(con: duckdb.DuckDBPyConnection) -> tuple[LabelledGraph, DomainCounts]:
    """The domain graph of authority-passing links between different domains, over every domain
    the store knows, and the per-domain counts that go with the ranks."""
    n = _dictionary(
        con,
        "_domain_ids",
        "SELECT DISTINCT target_domain AS label FROM links WHERE target_domain IS NOT NULL "
        "UNION SELECT DISTINCT source_domain FROM links WHERE source_domain IS NOT NULL "
        "UNION SELECT DISTINCT domain FROM pages WHERE domain IS NOT NULL",
    )
    edges = _pairs(
        con,
        f"""SELECT s.id AS s, t.id AS t, coalesce({PASSES}, false) AS passes
        FROM links l JOIN _domain_ids s ON l.source_domain = s.label JOIN _domain_ids t ON l.target_domain = t.label
        WHERE l.lost_at IS NULL AND l.source_domain <> l.target_domain""",
    )
    src, dst, passes = edges["s"], edges["t"], edges["passes"]
    every = from_edges(src, dst, n)
    backlinks = np.bincount(dst, minlength=n).astype(np.int64)
    refdomains = np.diff(every.indptr)
    del every
    graph = from_edges(src[passes], dst[passes], n)
    counts = DomainCounts(refdomains, np.diff(graph.indptr), backlinks, graph.out_degree)
    return LabelledGraph(graph, _labels(con, "_domain_ids")), counts


def host_graph(con: duckdb.DuckDBPyConnection) -> tuple[LabelledGraph, pa.Array]:
    """The host graph of authority-passing links between different hosts, and each node's
    registrable domain (as the links recorded it), in node order."""
    n = _dictionary(
        con,
        "_host_ids",
        # any_value: a host has one registrable domain; grouping keeps one row per host regardless
        "SELECT label, any_value(domain) AS domain FROM ("
        "  SELECT DISTINCT target_host AS label, target_domain AS domain FROM links"
        "  UNION SELECT DISTINCT source_host, source_domain FROM links"
        "  UNION SELECT DISTINCT host, domain FROM pages"
        ") WHERE label IS NOT NULL GROUP BY label",
        extra=", domain",
    )
    edges = _pairs(
        con,
        f"""SELECT s.id AS s, t.id AS t
        FROM links l JOIN _host_ids s ON l.source_host = s.label JOIN _host_ids t ON l.target_host = t.label
        WHERE {PASSES} AND l.source_host <> l.target_host""",
    )
    graph = from_edges(edges["s"], edges["t"], n)
    return LabelledGraph(graph, _labels(con, "_host_ids")), _labels(con, "_host_ids", "domain")


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
