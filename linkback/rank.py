"""Rank: the store's graphs → URL Rating, host ranks, Domain Rating, TrustRank, anti-trust, toxicity.

``rank(store)`` builds the domain, host and page graphs from the live links (DuckDB → CSR arrays),
ranks each with the one PageRank solver, maps the results to 0–100 (:mod:`linkback.graph._scale`),
scores every domain's toxicity, and stores it all as one new run in a single transaction: a run
that fails or is interrupted leaves the previous run's ranks in place. Each run keeps its time and
parameters in ``rank_runs`` and its domains in ``domain_ranks`` (the DR history); host and page
ranks are replaced by the newest run.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TypedDict

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkback import schema
from linkback.errors import LinkbackError
from linkback.graph import from_edges, pagerank
from linkback.graph._from_store import (
    AUTHORITY_KINDS,
    drop_temp_tables,
    edge_graphs,
    site_graphs,
)
from linkback.graph._harmonic import harmonic_centrality
from linkback.graph._scale import rating, raw_rank, trust_scale
from linkback.quality._toxicity import score_domains
from linkback.reports._ranks import latest_run  # noqa: F401 - re-exported: the run rank() just stored
from linkback.store import Store
from linkback.store._attach import has_edges
from linkback.urls import registrable_domain_or_none

#: The stages of a run, in order, as the progress callback names them.
STAGES = (
    "domain and host graphs",
    "Domain Rating",
    "TrustRank",
    "anti-trust",
    "host ranks",
    "page graph",
    "URL Rating",
    "toxicity and storing",
)

#: DuckDB's memory limit while ranking (it spills to disk beyond it); the graphs live outside it.
RANK_MEMORY_LIMIT = "3GB"
#: DuckDB's limit while the ranks are computed outside it.
IDLE_MEMORY_LIMIT = "256MB"

#: Graphs of at most this many hosts get exact harmonic centrality; larger ones HyperBall.
HARMONIC_EXACT_MAX = 20_000
#: HyperBall's HyperLogLog counters: 2**5 registers per host, a relative standard error of
#: 1.04/sqrt(32) = 18 % per value. The errors of hosts in one component are shared, so the order of
#: hosts is far more stable than the values. 2**6 (13 %) takes twice as long, more than the 3-minute
#: budget of ranking a 50M-link index leaves.
HYPERBALL_REGISTERS_LOG2 = 5

Progress = Callable[[str, int], None]


class SeedFileError(LinkbackError, ValueError):
    """A seed file line is not a domain."""


def default_seeds_path(kind: str = "trust") -> Path:
    """The bundled seed file: ``trust`` (TrustRank) or ``spam`` (anti-trust)."""
    return Path(__file__).parent / "data" / f"{kind}_seeds.txt"


def parse_seeds(lines: Iterable[str], *, source: str = "seeds") -> list[str]:
    """Registrable domains from seed-file lines: one domain, host or URL per line, ``#`` comments."""
    domains: list[str] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        host = text.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        domain = registrable_domain_or_none(host.lower())
        if domain is None or " " in text:
            raise SeedFileError(f"{source}, line {number}: {text!r} is not a domain")
        domains.append(domain)
    return sorted(set(domains))


def read_seeds(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        return parse_seeds(path.read_text(encoding="utf-8").splitlines(), source=str(path))
    except OSError as exc:
        raise SeedFileError(f"{path}: cannot read seed file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise SeedFileError(f"{path}: not UTF-8 (byte {exc.start})") from exc


@dataclass
class RankSummary:
    """What one run computed; ``params`` is what ``rank_runs.params`` stores."""

    run_id: int
    started_at: datetime
    seconds: float
    pages: int
    page_edges: int
    hosts: int
    host_edges: int
    domains: int
    domain_edges: int
    params: dict[str, object] = field(default_factory=dict)
    iterations: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        return out


def _seed_positions(labels: pa.Array, seeds: Sequence[str]) -> np.ndarray:
    if not seeds or len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    found = pc.index_in(pa.array(list(seeds), pa.string()), value_set=labels)
    return np.asarray(found.drop_null().to_numpy(), dtype=np.int64)


class _Solve(TypedDict):
    """How every PageRank of one run is solved (the keywords of pagerank and _seeded)."""

    damping: float
    tol: float
    max_iter: int


def _seeded(graph, positions: np.ndarray, *, damping: float, tol: float, max_iter: int) -> tuple[np.ndarray, int]:
    if positions.size == 0:
        return np.zeros(graph.n), 0
    preference = np.zeros(graph.n)
    preference[positions] = 1.0
    result = pagerank(graph, damping=damping, tol=tol, max_iter=max_iter, personalization=preference)
    return trust_scale(result, positions.size, damping), result.iterations


def _deny_domains(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("SELECT entry FROM quality_lists WHERE list = 'deny'").fetchall()
    return [d for (entry,) in rows if "/" not in entry and (d := registrable_domain_or_none(entry)) is not None]


def rank(
    store: Store,
    *,
    damping: float = 0.85,
    tol: float = 1e-6,
    max_iter: int = 200,
    seeds: Sequence[str] | str | Path | None = None,
    spam_seeds: Sequence[str] | str | Path | None = None,
    harmonic_exact_max: int = HARMONIC_EXACT_MAX,
    on_progress: Progress | None = None,
) -> RankSummary:
    """Compute every rank and toxicity score and store them as a new run; see the module docs.

    ``seeds`` are the TrustRank seeds (a list of domains or a seed file; default: the bundled
    :func:`default_seeds_path` file); ``spam_seeds`` the anti-trust seeds (default: the bundled,
    empty file) — the deny list's domains are always spam seeds too. ``on_progress(stage, i)`` is
    called as stage ``i`` of :data:`STAGES` starts.
    """
    if store.read_only:
        raise LinkbackError(f"{store.path} is open read-only; rank needs to write")
    # In a server, rank reads through a cursor of its own and its writes go to the one writer.
    if not 0.0 < damping < 1.0:
        raise ValueError(f"damping must be in (0, 1), got {damping}")
    trust_list = _seed_list(seeds, "trust")
    spam_list = sorted(set(_seed_list(spam_seeds, "spam")) | set(_deny_domains(store.con)))

    def stage(i: int) -> None:
        if on_progress is not None:
            on_progress(STAGES[i], i)

    con = store.con
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    solve: _Solve = {"damping": damping, "tol": tol, "max_iter": max_iter}
    iterations: dict[str, int] = {}
    counts: dict[str, int] = {}
    (old_limit,) = con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
    con.execute(f"SET memory_limit = '{RANK_MEMORY_LIMIT}'")
    try:
        # Each stage keeps only its per-node results; graphs and edge tables are freed as it ends.
        stage(0)
        # An attached Parquet index has the domain and host edges aggregated (linkback.store._attach).
        graphs = edge_graphs(con) if has_edges(con) else site_graphs(con)
        domains, domain_counts, hosts, host_domain, page_links = graphs
        counts["domains"], counts["domain_edges"] = domains.n, domains.graph.m
        counts["hosts"], counts["host_edges"] = hosts.n, hosts.graph.m
        drop_temp_tables(con)
        # The graphs live in numpy from here to the storing stage: squeezing DuckDB's limit makes it
        # give back the links table's blocks it cached while scanning (GBs at 50 M links), which
        # would otherwise sit beside the page graph's build at the peak.
        try:
            con.execute(f"SET memory_limit = '{IDLE_MEMORY_LIMIT}'")
        except duckdb.Error:
            pass  # what it holds cannot be evicted (an in-memory store): it keeps its limit
        stage(1)
        result = pagerank(domains.graph, **solve)
        iterations["domain"] = result.iterations
        domain_raw = raw_rank(domains.graph, result, damping)
        del result
        stage(2)
        trust_at = _seed_positions(domains.labels, trust_list)
        trust, iterations["trust"] = _seeded(domains.graph, trust_at, **solve)
        stage(3)
        spam_at = _seed_positions(domains.labels, spam_list)
        src, dst = domains.graph.edges()
        backwards = from_edges(dst, src, counts["domains"])
        del src, dst
        anti_trust, iterations["anti_trust"] = _seeded(backwards, spam_at, **solve)
        del backwards
        domain_ranks_arrow = pa.table(
            {
                "domain": domains.labels,
                "dr": rating(domain_raw),
                "raw_rank": domain_raw,
                "trust": trust,
                "anti_trust": anti_trust,
                "refdomains": domain_counts.refdomains,
                "dofollow_refdomains": domain_counts.dofollow_refdomains,
                "backlinks": domain_counts.backlinks,
                "linked_domains": domain_counts.linked_domains,
            }
        )
        del domains, domain_counts, domain_raw, trust, anti_trust
        stage(4)
        host_result = pagerank(hosts.graph, **solve)
        iterations["host"] = host_result.iterations
        host_raw = raw_rank(hosts.graph, host_result, damping)
        del host_result
        harmonic = harmonic_centrality(
            hosts.graph, exact_max_nodes=harmonic_exact_max, registers_log2=HYPERBALL_REGISTERS_LOG2
        )
        iterations["harmonic"] = harmonic.iterations
        host_ranks_arrow = pa.table(
            {
                "host": hosts.labels,
                "domain": host_domain,
                "hr": rating(host_raw),
                "raw_rank": host_raw,
                "harmonic": harmonic.scores,
            }
        )
        harmonic_method = "exact" if harmonic.exact else "hyperball"
        del hosts, host_domain, host_raw, harmonic
        stage(5)
        pages = page_links.graph()
        del page_links
        counts["pages"], counts["page_edges"] = pages.n, pages.graph.m
        stage(6)
        page_result = pagerank(pages.graph, **solve)
        iterations["page"] = page_result.iterations
        page_raw = raw_rank(pages.graph, page_result, damping)
        page_ranks_arrow = pa.table({"url_hash": pages.labels, "ur": rating(page_raw), "raw_rank": page_raw})
        del pages, page_result, page_raw
        stage(7)
        con.execute(f"SET memory_limit = '{RANK_MEMORY_LIMIT}'")
        params: dict[str, object] = {
            **solve,
            "authority_kinds": list(AUTHORITY_KINDS),
            "trust_seeds": len(trust_list),
            "trust_seeds_found": int(trust_at.size),
            "spam_seeds": len(spam_list),
            "spam_seeds_found": int(spam_at.size),
            "harmonic": harmonic_method,
            "iterations": iterations,
        }
        counts = {k: counts[k] for k in ("pages", "page_edges", "hosts", "host_edges", "domains", "domain_edges")}
        tables = {"domain_ranks": domain_ranks_arrow, "host_ranks": host_ranks_arrow, "page_ranks": page_ranks_arrow}
        del host_ranks_arrow, page_ranks_arrow, domain_ranks_arrow
        run_id, seconds = store.write(functools.partial(_store_run, started=started, clock=clock, params=params,
                                                        counts=counts, tables=tables))  # fmt: skip
        del tables
        # The ART indexes the reports' key lookups use; built after the commit so that building
        # them never holds the run's data in memory, and a failure here loses no ranks.
        store.write(_index_ranks, transaction=False)
    finally:
        drop_temp_tables(con)
        con.execute(f"SET memory_limit = '{old_limit}'")
    return RankSummary(
        run_id=int(run_id),
        started_at=started,
        seconds=round(seconds, 3),
        **counts,
        params=params,
        iterations=iterations,
    )


def _store_run(
    store: Store,
    started: datetime,
    clock: float,
    params: dict[str, object],
    counts: dict[str, int],
    tables: dict[str, pa.Table],
) -> tuple[int, float]:
    """Store one run: its row, the domain ranks added to the history, host and page ranks replaced."""
    con = store.con
    (run_id,) = store.next_ids("run_id_seq", 1)
    con.execute(
        "INSERT INTO rank_runs (run_id, started_at, params, pages, page_edges, hosts, host_edges, domains,"
        " domain_edges) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, started, json.dumps(params), *counts.values()],
    )
    for name, table in tables.items():
        con.register(f"_{name}_arrow", table)
    try:
        # ART indexes make the reports' few-key lookups take milliseconds; rebuilt after the bulk
        # insert, which is far cheaper than maintaining them row by row.
        con.execute("DROP INDEX IF EXISTS domain_ranks_domain")
        con.execute(
            "INSERT INTO domain_ranks SELECT ?, domain, dr, raw_rank, trust, anti_trust, refdomains,"
            " dofollow_refdomains, backlinks, linked_domains, NULL, NULL FROM _domain_ranks_arrow ORDER BY domain",
            [run_id],
        )
        # The newest run replaces host and page ranks: a new table, not a DELETE of every row,
        # which would keep tens of millions of row versions in memory until the commit.
        for table, order in (("host_ranks", "host"), ("page_ranks", "url_hash")):
            con.execute(f"DROP TABLE {table}")
            con.execute(schema.create_table_sql(table, if_not_exists=False))
            con.execute(f"INSERT INTO {table} SELECT * FROM _{table}_arrow ORDER BY {order}")
    finally:
        for name in tables:
            try:
                con.unregister(f"_{name}_arrow")
            except duckdb.Error:
                pass  # an aborted transaction: the write rolls back, views and all
    score_domains(con, run_id)
    seconds = time.perf_counter() - clock
    con.execute(
        "UPDATE rank_runs SET completed_at = ?, seconds = ? WHERE run_id = ?",
        [datetime.now(timezone.utc), seconds, run_id],
    )
    return int(run_id), seconds


def _index_ranks(store: Store) -> None:
    store.con.execute("CREATE INDEX IF NOT EXISTS domain_ranks_domain ON domain_ranks (domain)")
    store.con.execute("CREATE INDEX IF NOT EXISTS page_ranks_url ON page_ranks (url_hash)")


def _seed_list(seeds: Sequence[str] | str | Path | None, kind: str) -> list[str]:
    if seeds is None:
        return read_seeds(default_seeds_path(kind))
    if isinstance(seeds, (str, Path)):
        return read_seeds(seeds)
    return parse_seeds(seeds, source=f"{kind} seeds")

