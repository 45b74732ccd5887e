"""The page, host and domain graphs of the live links in a store, as :class:`CSRGraph` arrays.

Which links count is decided here, once, for every rank:

* a link passes authority when it is live (``lost_at IS NULL``), not nofollow/ugc/sponsored (page
  level nofollow is already folded into ``nofollow``), not on a page marked noindex (readers see
  and click it, but a search engine drops the page), and of a kind a crawler follows as a vote:
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
The page graph needs no dictionary of its own: its source pages are the host graph's, and its
target pages are numbered in numpy from the targets' hashes, which the same pass streams out.
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
    "lost_at IS NULL AND NOT (coalesce(nofollow, false) OR coalesce(ugc, false) OR coalesce(sponsored, false)"
    f" OR coalesce(noindex, false)) AND kind IN ({_KINDS_SQL})"
)

_TEMP_TABLES = ("_sources", "_domain_ids", "_host_ids", "_source_ids")


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


def _node_dictionaries(con: duckdb.DuckDBPyConnection, sources_sql: str) -> tuple[int, int]:
    """The TEMP dictionaries ``_domain_ids`` and ``_host_ids(label, domain, id)`` of every domain
    and host the links and pages name: the links' targets, the live links' sources
    (``sources_sql``: rows of ``host, domain``) and the pages. Returns (domains, hosts)."""
    n_domains = _dictionary(
        con,
        "_domain_ids",
        "SELECT DISTINCT target_domain AS label FROM links WHERE target_domain IS NOT NULL "
        f"UNION SELECT DISTINCT domain FROM ({sources_sql}) WHERE domain IS NOT NULL "
        "UNION SELECT DISTINCT domain FROM pages WHERE domain IS NOT NULL",
    )
    n_hosts = _dictionary(
        con,
        "_host_ids",
        # any_value: a host has one registrable domain; grouping keeps one row per host regardless
        "SELECT label, any_value(domain) AS domain FROM ("
        "  SELECT target_host AS label, any_value(target_domain) AS domain FROM links GROUP BY target_host"
        f"  UNION ALL SELECT host, domain FROM ({sources_sql}) UNION ALL SELECT host, domain FROM pages"
        ") WHERE label IS NOT NULL GROUP BY label",
        extra=", domain",
    )
    return n_domains, n_hosts


def _labels(con: duckdb.DuckDBPyConnection, table: str, column: str = "label") -> pa.Array:
    """``column`` of the dictionary ``table`` in id order: read as stored and put in place by a
    scatter of the ids (linear), not an ORDER BY (a sort of tens of millions of rows)."""
    table_ = con.sql(f"SELECT {column}, id FROM {table}").to_arrow_table()
    ids = table_.column("id").to_numpy()
    row_of_id = np.empty(ids.shape[0], dtype=np.int64)
    row_of_id[ids] = np.arange(ids.shape[0])
    return table_.column(column).combine_chunks().take(pa.array(row_of_id))


def _pairs(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    """The integer columns of ``sql`` as numpy arrays (streamed from DuckDB as Arrow). Each column
    leaves the Arrow table as it is converted, so at most one column is held twice."""
    table = con.sql(sql).to_arrow_table()
    out = {}
    for name in list(table.column_names):
        out[name] = table.column(name).to_numpy()
        table = table.drop_columns([name])
    return out


@dataclass
class PageLinks:
    """The authority-passing links as the site graphs' pass streams them out: each link's source
    page (an index into ``source_hash``, the pages' ``hash(url)``) and its target's ``hash(url)``.

    :meth:`graph` numbers the pages and builds the page graph. It is a step of its own so that its
    temporaries (sorts over tens of millions of hashes) come after the site graphs are freed, and
    it empties this holder as it goes, so nothing is held twice.
    """

    source: np.ndarray | None
    target_hash: np.ndarray | None
    source_hash: np.ndarray | None

    def graph(self) -> LabelledGraph:
        """The page graph over the pages that take part in a link between two different URLs."""
        src, dst, labels = _number_pages(self)
        keep = src != dst
        src, dst = src[keep], dst[keep]
        del keep
        used = np.zeros(labels.shape[0], dtype=bool)
        used[src] = True
        used[dst] = True
        new_id = (np.cumsum(used, dtype=np.int64) - 1).astype(np.int32)
        graph = from_edges(new_id[src], new_id[dst], int(used.sum()))
        return LabelledGraph(graph, pa.array(labels[used], type=pa.uint64()))


def _take(links: PageLinks, name: str) -> np.ndarray:
    value = getattr(links, name)
    if value is None:
        raise ValueError(f"PageLinks.{name} was already used: a PageLinks builds one graph")
    setattr(links, name, None)
    return value


def _number_pages(links: PageLinks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source node, target node, label per node): source pages keep their ids, target pages that
    never link get the next ones. The target hashes arrive clustered (the links are stored by
    target), so only the first of each run of equal hashes is looked up."""
    target_hash = _take(links, "target_hash")
    head = np.empty(target_hash.shape[0], dtype=bool)
    if head.size:
        head[0] = True
        np.not_equal(target_hash[1:], target_hash[:-1], out=head[1:])
    run = np.cumsum(head, dtype=np.int32) - 1
    heads = target_hash[head]
    del head, target_hash
    # distinct heads and each head's index among them, with int32 temporaries where numpy's
    # unique(return_inverse=True) would hold several int64 arrays of the same length
    perm = np.argsort(heads)
    heads = heads[perm]
    new = np.empty(heads.shape[0], dtype=bool)
    if new.size:
        new[0] = True
        np.not_equal(heads[1:], heads[:-1], out=new[1:])
    distinct = heads[new]
    del heads
    run_key = np.empty(perm.shape[0], dtype=np.int32)
    run_key[perm] = np.cumsum(new, dtype=np.int32) - 1
    del perm, new

    source_hash = _take(links, "source_hash")
    source = _take(links, "source")
    n_sources = source_hash.shape[0]
    order = np.argsort(source_hash, kind="stable")
    sorted_hash = source_hash[order]
    # Two source URLs with one hash are one page, as everywhere else pages are keyed by hash:
    # each takes the id of the first of its group (the one ``searchsorted`` finds for targets).
    first = np.ones(n_sources, dtype=bool)
    np.not_equal(sorted_hash[1:], sorted_hash[:-1], out=first[1:])
    if not first.all():
        group_start = np.maximum.accumulate(np.where(first, np.arange(n_sources), 0))
        canonical = np.empty(n_sources, dtype=source.dtype)
        canonical[order] = order[group_start]
        source = canonical[source]
        del group_start, canonical
    del first
    at = np.searchsorted(sorted_hash, distinct)
    found = at < n_sources
    found[found] = sorted_hash[at[found]] == distinct[found]
    del sorted_hash
    node_of_distinct = np.empty(distinct.shape[0], dtype=np.int32)
    node_of_distinct[found] = order[at[found]]
    del order, at
    node_of_distinct[~found] = n_sources + np.arange(int((~found).sum()), dtype=np.int32)
    labels = np.concatenate([source_hash, distinct[~found]])
    del source_hash, distinct, found
    node_of_run = node_of_distinct[run_key]
    del node_of_distinct, run_key
    return source, node_of_run[run], labels


def site_graphs(
    con: duckdb.DuckDBPyConnection,
) -> tuple[LabelledGraph, DomainCounts, LabelledGraph, pa.Array, PageLinks]:
    """The domain graph with its per-domain counts, the host graph with each host's domain, and
    the page edges (:meth:`PageLinks.graph` builds the page graph from them when it is needed).

    The domain graph has authority-passing links between different domains, over every domain the
    store knows; the host graph the same between different hosts. All three come out of one pass over
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
    n_domains, n_hosts = _node_dictionaries(con, "SELECT host, domain FROM _sources")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _source_ids AS
        SELECT p.label, h.id AS host_id, d.id AS domain_id, (row_number() OVER () - 1)::INTEGER AS id
        FROM _sources p JOIN _host_ids h ON h.label = p.host JOIN _domain_ids d ON d.label = p.domain"""
    )
    con.execute("DROP TABLE _sources")
    per_source = _pairs(con, "SELECT host_id, domain_id, hash(label) AS page FROM _source_ids ORDER BY id")
    edges = _pairs(
        con,
        f"""SELECT s.id AS s, th.id AS th, td.id AS td, coalesce({PASSES}, false) AS passes,
        hash(l.target_url) AS tu
        FROM links l JOIN _source_ids s ON l.source_url = s.label
        JOIN _host_ids th ON l.target_host = th.label JOIN _domain_ids td ON l.target_domain = td.label
        WHERE l.lost_at IS NULL""",
    )
    con.execute("DROP TABLE _source_ids")  # the largest dictionary (URLs); DuckDB can reuse its memory
    source, passes = edges["s"], edges["passes"]
    target_page = edges.pop("tu")[passes]  # the full column goes at once: it is the largest
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
    pages = PageLinks(source[passes], target_page, per_source.pop("page"))
    del src, dst, edges, source, passes, target_page
    return (
        LabelledGraph(domain_graph, _labels(con, "_domain_ids")),
        counts,
        LabelledGraph(host_graph, _labels(con, "_host_ids")),
        _labels(con, "_host_ids", "domain"),
        pages,
    )


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Free what the graph builders left behind."""
    for table in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def edge_graphs(
    con: duckdb.DuckDBPyConnection,
) -> tuple[LabelledGraph, DomainCounts, LabelledGraph, pa.Array, PageLinks]:
    """What :func:`site_graphs` returns, with the domain and host graphs
    and the domain counts made from ``domain_edges`` / ``host_edges`` (one row per pair: its live
    links and, of those, the ones passing authority by the same ``PASSES``) instead of a join of
    every link against the dictionaries. The nodes are the same (every domain and host the links
    and pages name), so the ranks are the same. The page graph needs every link by nature: its
    pass reads two hashes per authority-passing link, with no join and no grouping."""
    n_domains, n_hosts = _node_dictionaries(
        con,
        "SELECT source_host AS host, any_value(source_domain) AS domain FROM links WHERE lost_at IS NULL "
        "GROUP BY source_host",
    )
    d = _pairs(
        con,
        "SELECT s.id AS s, t.id AS t, e.links AS n, e.dofollow_links AS f FROM domain_edges e "
        "JOIN _domain_ids s ON s.label = e.source_domain JOIN _domain_ids t ON t.label = e.target_domain",
    )
    dofollow = d["f"] > 0
    domain_graph = from_edges(d["s"][dofollow], d["t"][dofollow], n_domains)
    counts = DomainCounts(
        np.diff(from_edges(d["s"], d["t"], n_domains).indptr),
        np.diff(domain_graph.indptr),
        np.bincount(d["t"], weights=d["n"], minlength=n_domains).astype(np.int64),
        domain_graph.out_degree,
    )
    # site_graphs keeps a link only where both ends have a registrable domain (an IP host has none)
    h = _pairs(
        con,
        "SELECT s.id AS s, t.id AS t FROM host_edges e JOIN _host_ids s ON s.label = e.source_host "
        "JOIN _host_ids t ON t.label = e.target_host "
        "WHERE e.dofollow_links > 0 AND s.domain IS NOT NULL AND t.domain IS NOT NULL",
    )
    host_graph = from_edges(h["s"], h["t"], n_hosts)
    p = _pairs(
        con,
        f"SELECT hash(source_url) AS s, hash(target_url) AS t FROM links WHERE {PASSES} AND source_host IS NOT NULL"
        " AND source_domain IS NOT NULL AND target_host IS NOT NULL AND target_domain IS NOT NULL",
    )
    source_hash, source = np.unique(p["s"], return_inverse=True)
    pages = PageLinks(source.astype(np.int32), p["t"], source_hash)
    return (
        LabelledGraph(domain_graph, _labels(con, "_domain_ids")),
        counts,
        LabelledGraph(host_graph, _labels(con, "_host_ids")),
        _labels(con, "_host_ids", "domain"),
        pages,
    )
