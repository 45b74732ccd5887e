"""Backlink report latency on a synthetic 50 M-link index in the real ``links`` schema.

    python bench/bench_queries.py                       # 50 M links / 5 M domains (generates once)
    python bench/bench_queries.py --quick               # 200 k links, for the smoke test

For ~50 target domains with 300-700 backlinks each (picked by count, deterministically) it times
``backlinks``, ``refdomains`` and ``anchors``, and ``overview`` of the most-linked domain, three
ways side by side in the same run, interleaved per target:

* ``linkback``   - the real ``linkback.reports`` functions, in-process, on the clustered index;
* ``raw sorted`` - hand-written SQL for the same report on the same clustered index (the floor:
                   a range predicate on ``target_rhost`` that hits DuckDB's zone maps);
* ``raw unsorted`` - the same SQL on an unclustered copy of the same rows (the peer).

Goals (webgraph-perf.md §10): p50 <= 10 ms and p99 <= 50 ms per point query, overview < 1 s.
p99 is nearest-rank over all samples (targets x repetitions). Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Timer,
    dump_json,
    fmt,
    machine,
    median,
    now,
    peak_rss_mb,
    percentile,
    print_table,
    ratio,
    versions,
)
from gen_index import ensure_index, file_mb  # noqa: E402

from linkback.store import Store  # noqa: E402

GOAL_P50_MS, GOAL_P99_MS, GOAL_OVERVIEW_MS = 10.0, 50.0, 1000.0

# The domain filter: a range on target_rhost (contiguous in the clustered table, so zone maps
# skip every other row group) plus the exact domain.
_WHERE = "target_rhost >= $rhost AND target_rhost < $rhost || '/' AND target_domain = $domain"

RAW_SQL = {
    "backlinks": f"""
        SELECT source_url, target_url, anchor, rel, nofollow, kind, first_seen, last_seen, lost_at
        FROM links WHERE {_WHERE} AND NOT internal AND lost_at IS NULL
        ORDER BY first_seen DESC LIMIT 100""",
    "refdomains": f"""
        SELECT source_domain, count(*) AS links, count(*) FILTER (WHERE NOT nofollow) AS dofollow,
               min(first_seen) AS first_seen, max(last_seen) AS last_seen
        FROM links WHERE {_WHERE} AND NOT internal AND lost_at IS NULL
        GROUP BY source_domain ORDER BY links DESC, source_domain LIMIT 100""",
    "anchors": f"""
        SELECT anchor, count(*) AS links, count(DISTINCT source_domain) AS refdomains
        FROM links WHERE {_WHERE} AND NOT internal AND lost_at IS NULL
        GROUP BY anchor ORDER BY links DESC, anchor LIMIT 100""",
    "overview": f"""
        SELECT count(*) AS links, count(DISTINCT source_domain) AS refdomains,
               count(DISTINCT source_url) AS ref_pages, count(DISTINCT target_url) AS target_pages,
               count(*) FILTER (WHERE nofollow) AS nofollow, count(*) FILTER (WHERE lost_at IS NULL) AS live,
               count(*) FILTER (WHERE internal) AS internal
        FROM links WHERE {_WHERE}""",
}
KINDS = ("backlinks", "refdomains", "anchors")


def load_reports():
    """The real report functions, or (None, reason) while linkback.reports has not landed."""
    try:
        from linkback import reports
    except Exception as e:  # noqa: BLE001
        return None, f"linkback.reports not importable ({type(e).__name__}: {e})"
    missing = [k for k in (*KINDS, "overview") if not callable(getattr(reports, k, None))]
    if missing:
        return None, f"linkback.reports has no {', '.join(missing)} yet"
    return reports, ""


def _materialise(result) -> int:
    """Force a report result (list, generator, Arrow table, DuckDB relation, dataclass...)."""
    if result is None:
        return 0
    for attr in ("fetchall", "to_pylist"):
        if hasattr(result, attr) and callable(getattr(result, attr)):
            return len(getattr(result, attr)())
    if hasattr(result, "num_rows"):
        return int(result.num_rows)
    if isinstance(result, (str, bytes)):
        return 1
    try:
        return len(result)
    except TypeError:
        pass
    try:
        return sum(1 for _ in result)
    except TypeError:
        return 1


def make_report_call(reports, kind: str):
    fn = getattr(reports, kind)
    params = inspect.signature(fn).parameters
    kwargs = {}
    if kind != "overview" and "limit" in params:
        kwargs["limit"] = 100

    def call(store, domain: str) -> int:
        return _materialise(fn(store, domain, **kwargs))

    return call


def pick_targets(store: Store, n: int, lo: int, hi: int, seed: int) -> tuple[list[tuple[str, str, int]], tuple]:
    """~n domains with lo..hi links (filled up with the nearest counts if too few), and the top one.

    Cached in a ``bench_targets`` table in the DB, as the GROUP BY over 50 M rows takes seconds."""
    con = store.con
    key = f"{n}:{lo}:{hi}:{seed}"
    try:
        rows = con.execute(
            "SELECT domain, rhost, links, top FROM bench_targets WHERE key = ? ORDER BY ord", [key]
        ).fetchall()
    except Exception:  # noqa: BLE001
        rows = []
    if not rows:
        with Timer() as t:
            con.execute("""
                CREATE OR REPLACE TEMP TABLE _counts AS
                SELECT target_domain AS domain, any_value(target_rhost) AS rhost, count(*) AS links
                FROM links GROUP BY target_domain""")
            picked = con.execute(f"""
                SELECT domain, links FROM _counts
                ORDER BY (links BETWEEN {lo} AND {hi}) DESC,
                         CASE WHEN links BETWEEN {lo} AND {hi} THEN hash(domain, {seed}) ELSE abs(links - {(lo + hi) // 2}) END
                LIMIT {n}""").fetchall()
            top = con.execute("SELECT domain, links FROM _counts ORDER BY links DESC LIMIT 1").fetchone()
        print(f"picked {len(picked)} targets + the top domain in {t.seconds:.1f} s")
        from linkback.urls import reverse_host

        rows = [(d, reverse_host(d), c, False) for d, c in picked] + [(top[0], reverse_host(top[0]), top[1], True)]
        if not store.read_only:
            con.execute(
                "CREATE TABLE IF NOT EXISTS bench_targets (key VARCHAR, ord INT, domain VARCHAR, "
                "rhost VARCHAR, links BIGINT, top BOOLEAN)"
            )
            con.execute("DELETE FROM bench_targets WHERE key = ?", [key])
            con.executemany(
                "INSERT INTO bench_targets VALUES (?, ?, ?, ?, ?, ?)", [(key, i, *r) for i, r in enumerate(rows)]
            )
    targets = [(d, r, c) for d, r, c, is_top in rows if not is_top]
    top = next((d, r, c) for d, r, c, is_top in rows if is_top)
    return targets, top


def _raw(con, kind: str):
    sql = RAW_SQL[kind]

    def call(_store, domain: str, rhost: str) -> int:
        return len(con.execute(sql, {"rhost": rhost, "domain": domain}).fetchall())

    return call


def run(args) -> dict:
    if args.quick:
        args.links, args.domains = args.links or 200_000, args.domains or 20_000
        args.reps = min(args.reps, 2)
    links = args.links or 50_000_000
    domains = args.domains or 5_000_000
    db = args.db or (str(Path(tempfile.gettempdir()) / f"linkback-bench-{links}-{domains}.duckdb"))

    print(f"# bench_queries: {links:,} links over {domains:,} domains, db {db}")
    gen = ensure_index(
        db,
        links,
        domains,
        seed=args.seed,
        unsorted=not args.no_unsorted,
        memory_limit=args.gen_memory_limit,
        tmp_dir=args.tmp_dir,
    )
    for k in ("generate_sorted_s", "generate_unsorted_s"):
        if k in gen:
            print(f"{k}: {gen[k]:.1f} s")
    print(
        f"disk: sorted {gen['db_mb']:,.0f} MB"
        + (f", unsorted {gen['unsorted_mb']:,.0f} MB" if gen.get("unsorted_mb") else "")
        + (" (reused)" if gen["reused"] else "")
    )

    store = Store(db)  # read-write only to cache bench_targets; the bench writes nothing else
    stores = {"sorted": store}
    if gen.get("unsorted_db") and not args.no_unsorted:
        stores["unsorted"] = Store(gen["unsorted_db"], read_only=True)
    for st in stores.values():
        st.con.execute(f"SET memory_limit = '{args.memory_limit}'")
        st.con.execute("SET enable_progress_bar = false")
        if args.threads:
            st.con.execute(f"SET threads = {args.threads}")
    mem_limit = store.con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    print(f"duckdb memory_limit {mem_limit[0]}, threads {mem_limit[1]}")

    targets, top = pick_targets(store, args.targets, 300, 700, args.seed)
    counts = [c for _, _, c in targets]
    print(
        f"{len(targets)} targets, links per target: min {min(counts)}, median {median(counts):.0f}, "
        f"max {max(counts)}; top domain {top[0]} with {top[2]:,} links"
    )

    reports, why = load_reports()
    variants: dict[str, dict] = {}
    for kind in (*KINDS, "overview"):
        v = {}
        if reports is not None:
            rc = make_report_call(reports, kind)
            v["linkback"] = lambda st, d, r, rc=rc: rc(stores["sorted"], d)
        v["raw sorted"] = lambda st, d, r, f=_raw(stores["sorted"].con, kind): f(st, d, r)
        if "unsorted" in stores:
            v["raw unsorted"] = lambda st, d, r, f=_raw(stores["unsorted"].con, kind): f(st, d, r)
        variants[kind] = v

    # warm-up: a few targets through every variant (loads the row groups' metadata and caches)
    for d, r, _ in targets[:3]:
        for kind in KINDS:
            for f in variants[kind].values():
                f(None, d, r)

    samples: dict[tuple[str, str], list[float]] = {}
    rows_out: dict[tuple[str, str], int] = {}
    errors: dict[tuple[str, str], str] = {}
    cpu: dict[tuple[str, str], list[float]] = {}  # process CPU ms (all DuckDB threads), robust to load
    for _rep in range(args.reps):
        for d, r, _ in targets:
            for kind in KINDS:
                for name, f in variants[kind].items():
                    if (kind, name) in errors:
                        continue
                    c0, t0 = time.process_time(), now()
                    try:
                        n = f(None, d, r)
                    except Exception as e:  # noqa: BLE001 - report it in the table, keep measuring the rest
                        errors[(kind, name)] = f"{type(e).__name__}: {e}"[:120]
                        continue
                    samples.setdefault((kind, name), []).append((now() - t0) * 1000)
                    cpu.setdefault((kind, name), []).append((time.process_time() - c0) * 1000)
                    rows_out[(kind, name)] = rows_out.get((kind, name), 0) + n
    d, r, _ = top
    for _rep in range(max(3, args.reps)):
        for name, f in variants["overview"].items():
            if ("overview", name) in errors:
                continue
            c0, t0 = time.process_time(), now()
            try:
                n = f(None, d, r)
            except Exception as e:  # noqa: BLE001
                errors[("overview", name)] = f"{type(e).__name__}: {e}"[:120]
                continue
            samples.setdefault(("overview", name), []).append((now() - t0) * 1000)
            cpu.setdefault(("overview", name), []).append((time.process_time() - c0) * 1000)
            rows_out[("overview", name)] = n

    table, result_rows = [], []
    for kind in (*KINDS, "overview"):
        floor = median(samples.get((kind, "raw sorted"), []))
        unsorted = median(samples.get((kind, "raw unsorted"), []))
        names = (["linkback"] if reports is None else []) + list(variants[kind])
        for name in names:
            s = samples.get((kind, name), [])
            p50, p99 = median(s), percentile(s, 99)
            goal = f"p50<={GOAL_P50_MS:g} p99<={GOAL_P99_MS:g}" if kind != "overview" else f"<{GOAL_OVERVIEW_MS:g}"
            if name == "linkback" and reports is None:
                note = f"not available yet: {why}"
            elif (kind, name) in errors:
                note = f"error: {errors[(kind, name)]}"
            else:
                ok = (p50 <= GOAL_P50_MS and p99 <= GOAL_P99_MS) if kind != "overview" else p50 < GOAL_OVERVIEW_MS
                note = "meets goal" if ok else "MISSES goal"
                if name == "raw unsorted":
                    note = "peer"
                elif name == "raw sorted":
                    note = "floor (" + note + ")"
            vs_floor = ratio(p50, floor)
            unsorted_vs = ratio(unsorted, p50)
            cpu50 = median(cpu.get((kind, name), []))
            table.append(
                [
                    kind,
                    name,
                    len(s),
                    p50,
                    p99,
                    cpu50,
                    goal,
                    fmt(vs_floor, 2) + "x" if vs_floor else "-",
                    fmt(unsorted_vs, 1) + "x" if unsorted_vs else "-",
                    note,
                ]
            )
            result_rows.append(
                {
                    "query": kind,
                    "variant": name,
                    "samples": len(s),
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "cpu_p50_ms": cpu50,
                    "p50_vs_raw_sorted": vs_floor,
                    "unsorted_p50_over_this": unsorted_vs,
                    "rows_returned": rows_out.get((kind, name)),
                    "note": note,
                }
            )
    print()
    print_table(
        [
            "query",
            "variant",
            "n",
            "p50 ms",
            "p99 ms",
            "cpu p50 ms",
            "goal",
            "p50 / raw sorted",
            "raw unsorted / this",
            "note",
        ],
        table,
    )
    print(
        "wall-clock ms (p99 nearest-rank over targets x reps); cpu = process CPU time per query, all threads. "
        f"loadavg now {machine().get('loadavg_1m')}"
    )
    print(f"\npeak RSS {peak_rss_mb():,.0f} MB; overview target: {top[0]} ({top[2]:,} links)")
    for st in stores.values():
        st.close()
    return {
        "machine": machine(),
        "versions": versions("duckdb", "linkback"),
        "links": links,
        "domains": domains,
        "db": db,
        "generation": gen,
        "memory_limit": mem_limit[0],
        "threads": mem_limit[1],
        "targets": len(targets),
        "target_links_median": median(counts),
        "top_domain": top[0],
        "top_domain_links": top[2],
        "results": result_rows,
        "peak_rss_mb": peak_rss_mb(),
        "disk_sorted_mb": file_mb(db),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--links", type=int, default=None, help="default 50,000,000 (200,000 with --quick)")
    ap.add_argument("--domains", type=int, default=None, help="default 5,000,000 (20,000 with --quick)")
    ap.add_argument(
        "--db",
        default=None,
        help="generated DB (reused when its parameters match); "
        "the unsorted copy sits beside it as <stem>.unsorted.duckdb",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3, help="passes over the targets")
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit for the queries")
    ap.add_argument("--gen-memory-limit", default="8GB", help="DuckDB memory_limit while generating")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: DuckDB's, = cores)")
    ap.add_argument("--tmp-dir", default=None)
    ap.add_argument("--no-unsorted", action="store_true", help="skip the unclustered peer")
    ap.add_argument("--quick", action="store_true", help="tiny index (200 k links) for the smoke test")
    ap.add_argument("--json", default=None, help="write results as JSON to FILE ('-' = stdout)")
    args = ap.parse_args(argv)
    dump_json(run(args), args.json)


if __name__ == "__main__":
    main()
