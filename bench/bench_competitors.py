"""Competitor reports on the generated 50 M-link index: ``intersect`` and ``compare`` of 5 targets.

    python bench/bench_competitors.py --db /tmp/lbbench/links-50m.duckdb \\
        --ranked /tmp/lbbench-yours/links-50m-ranked.duckdb     # a ranked copy, made once if absent
    python bench/bench_competitors.py --quick --db /tmp/x.duckdb # 20 k links, for the smoke test

The 5 targets are the domains ranked 11th to 15th by links ("popular-ish": ~200 k links each at
50 M), the excluded one (``--not``, "mine") the 16th. Timed side by side in the same run,
interleaved, medians of ``--reps``:

* ``intersect``: ``linkback.reports.intersect(store, 5 targets, exclude=[mine], limit=100)``, against
  the plain DuckDB SQL a user would write for it (printed): one GROUP BY over ``links`` with
  ``HAVING count(DISTINCT target_domain) >= 2``, the excluded domain's sources dropped;
* ``compare``: ``linkback.reports.compare(store, 5 targets, since=2025-07-01)`` (to today), against the plain SQL of
  its simplest part (referring domains, backlinks and dofollow links per target, printed);
* ``linked_domains`` of a referring domain (no goal; the index is not clustered on sources).

Goals (issue 16): intersect < 1 s, compare < 1.5 s (medians). With ``--ranked`` the reports read
a copy of the index with a rank run (DR orders the intersect and rates the compare's referring
domains); the copy is made and ranked once (``linkback rank`` takes ~2 min and ~5 GB at 50 M),
then reused. ``--explain`` prints DuckDB's profile of the intersect statement. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, dump_json, fmt, machine, median, now, peak_rss_mb, print_table, ratio, versions  # noqa: E402
from gen_index import ensure_index, file_mb  # noqa: E402

from linkback import reports  # noqa: E402
from linkback.errors import SchemaTooOld  # noqa: E402
from linkback.store import Store  # noqa: E402

GOALS_MS = {"intersect": 1000.0, "compare": 1500.0}
#: The period compare reads, to today (so the rank run rates the referring domains): the
#: generated links are first seen in 2024 and lost from July 2025 on.
SINCE = "2025-07-01"

PEER_INTERSECT = """SELECT source_domain, count(DISTINCT target_domain) AS targets, count(*) AS links
FROM links
WHERE target_domain IN ({targets}) AND lost_at IS NULL AND NOT internal
  AND source_domain NOT IN (
    SELECT source_domain FROM links WHERE target_domain = {mine} AND lost_at IS NULL AND NOT internal)
GROUP BY source_domain
HAVING count(DISTINCT target_domain) >= 2
ORDER BY targets DESC, links DESC, source_domain
LIMIT 100"""

PEER_COMPARE = """SELECT target_domain, count(DISTINCT source_domain) AS referring_domains, count(*) AS backlinks,
       count(*) FILTER (WHERE NOT (nofollow OR ugc OR sponsored)) AS dofollow
FROM links
WHERE target_domain IN ({targets}) AND NOT internal
  AND first_seen < DATE '{end}' AND (lost_at IS NULL OR lost_at >= DATE '{end}')
GROUP BY target_domain"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pick_targets(store: Store, first: int = 11, count: int = 6) -> list[tuple[str, int]]:
    """The domains ranked ``first``.. by live external links (a GROUP BY over the whole index)."""
    return store.con.execute(
        """SELECT target_domain, count(*) AS n FROM links WHERE lost_at IS NULL AND NOT internal
        GROUP BY target_domain ORDER BY n DESC, target_domain LIMIT ? OFFSET ?""",
        [count, first - 1],
    ).fetchall()


def ranked_copy(db: str, ranked: str) -> float | None:
    """A copy of ``db`` with a rank run at ``ranked`` (made once: the seconds it took, else None)."""
    path = Path(ranked)
    if path.exists():
        with Store(path) as st:  # our copy: migrated here if linkback's schema moved on since
            if reports.latest_rank_run(st) is not None:
                return None
    print(f"copying {db} to {ranked} and ranking it (once)...", flush=True)
    from linkback.rank import rank  # noqa: PLC0415

    with Timer() as t:
        shutil.copyfile(db, ranked)
        with Store(ranked) as st:
            st.con.execute("SET enable_progress_bar = false")
            rank(st)
    print(f"ranked copy made in {t.seconds:.0f} s", flush=True)
    return t.seconds


def _open(path: str) -> Store:
    """``path`` read-only, as the CLI opens it (migrated once first if an older linkback wrote it)."""
    try:
        return Store(path, read_only=True)
    except SchemaTooOld:
        Store(path).close()
        return Store(path, read_only=True)


def _explain(store: Store, targets: list[str], mine: str) -> None:
    """DuckDB's profile of the intersect statement, the slowest operators first."""
    con = store.con
    con.execute("PRAGMA enable_profiling = 'query_tree'")
    con.execute("PRAGMA profiling_output = '/dev/stderr'")
    reports.intersect(store, targets, exclude=[mine], limit=100)
    con.execute("PRAGMA disable_profiling")


def run(args: argparse.Namespace) -> dict:
    if args.quick:
        args.links, args.domains, args.reps = args.links or 20_000, args.domains or 2_000, min(args.reps, 2)
    links, domains = args.links or 50_000_000, args.domains or 5_000_000
    print(f"# bench_competitors: {links:,} links over {domains:,} domains, db {args.db}")
    if not (args.ranked and Path(args.ranked).exists()):  # a ranked copy made before needs no index
        gen = ensure_index(args.db, links, domains, unsorted=False, memory_limit=args.gen_memory_limit)
        print(f"disk {gen['db_mb']:,.0f} MB" + (" (reused)" if gen["reused"] else ""))
    rank_s = ranked_copy(args.db, args.ranked) if args.ranked else None
    path = args.ranked or args.db
    store = _open(path)
    con = store.con
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute("SET enable_progress_bar = false")
    settings = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    print(f"reading {path}; duckdb memory_limit {settings[0]}, threads {settings[1]}")
    with Timer() as t:
        picked = pick_targets(store)
    *named, (mine, mine_links) = picked
    targets = [d for d, _ in named]
    print(
        f"picked in {t.seconds:.1f} s: targets {', '.join(f'{d} ({n:,})' for d, n in named)}; not {mine} ({mine_links:,})"
    )
    source = reports.intersect(store, targets, exclude=[mine], limit=1)[0]["source"]
    listed = ", ".join(_literal(d) for d in targets)
    peer_intersect = PEER_INTERSECT.format(targets=listed, mine=_literal(mine))
    end = datetime.now(timezone.utc).date() + timedelta(days=1)  # a link counts today if not lost by its end
    peer_compare = PEER_COMPARE.format(targets=listed, end=end.isoformat())
    calls = {
        "intersect": lambda: reports.intersect(store, targets, exclude=[mine], limit=100),
        "intersect peer SQL": lambda: con.execute(peer_intersect).fetchall(),
        "compare": lambda: reports.compare(store, targets, since=SINCE),
        "compare peer SQL": lambda: con.execute(peer_compare).fetchall(),
        "linked_domains": lambda: reports.linked_domains(store, source, limit=100),
    }
    for call in calls.values():  # warm-up: row-group metadata, caches
        call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}  # process CPU, all DuckDB threads: robust to load
    rows: dict[str, int] = {}
    for _ in range(args.reps):
        for name, call in calls.items():
            c0, t0 = time.process_time(), now()
            rows[name] = len(call())
            samples[name].append((now() - t0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)
    if args.explain:
        _explain(store, targets, mine)
    table, results = [], []
    for name in calls:
        p50 = median(samples[name])
        product = name.split()[0] if name.endswith("peer SQL") else name
        goal = GOALS_MS.get(name)
        vs_peer = ratio(median(samples.get(f"{name} peer SQL", [])), p50)
        note = (
            "peer"
            if name.endswith("peer SQL")
            else ""
            if goal is None
            else "meets goal"
            if p50 < goal
            else "MISSES goal"
        )
        table.append([name, len(samples[name]), p50, min(samples[name]), median(cpu[name]), rows[name],
                      f"< {goal:g}" if goal else "-", fmt(vs_peer, 2) + "x" if vs_peer else "-", note])  # fmt: skip
        results.append({"call": name, "of": product, "samples": samples[name], "p50_ms": p50, "cpu_p50_ms": median(cpu[name]), "rows": rows[name],
                        "goal_ms": goal, "peer_over_this": vs_peer, "note": note})  # fmt: skip
    print()
    print_table(["call", "n", "p50 ms", "min ms", "cpu p50 ms", "rows", "goal ms", "peer / this", "note"], table)
    print(f"loadavg now {machine().get('loadavg_1m')}; peak RSS {peak_rss_mb():,.0f} MB")
    print(f"\nintersect peer SQL:\n{peer_intersect}\n\ncompare peer SQL (its counts only):\n{peer_compare}")
    store.close()
    return {
        "machine": machine(),
        "versions": versions("duckdb", "linkback"),
        "links": links,
        "db": path,
        "ranked_copy_s": rank_s,
        "targets": named,
        "mine": [mine, mine_links],
        "results": results,
        "peak_rss_mb": peak_rss_mb(),
        "db_mb": file_mb(path),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="/tmp/lbbench/links-50m.duckdb", help="the generated index (made if absent)")
    ap.add_argument("--ranked", default=None, help="a ranked copy of --db to read (made once if absent)")
    ap.add_argument("--links", type=int, default=None, help="default 50,000,000 (20,000 with --quick)")
    ap.add_argument("--domains", type=int, default=None, help="default 5,000,000 (2,000 with --quick)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit for the reports")
    ap.add_argument("--gen-memory-limit", default="6GB", help="DuckDB memory_limit if it has to generate")
    ap.add_argument("--explain", action="store_true", help="print DuckDB's profile of the intersect statement")
    ap.add_argument("--quick", action="store_true", help="tiny index for the smoke test")
    ap.add_argument("--json", default=None, help="write results as JSON to FILE ('-' = stdout)")
    args = ap.parse_args(argv)
    dump_json(run(args), args.json)


if __name__ == "__main__":
    main()
