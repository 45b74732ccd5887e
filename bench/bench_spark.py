"""Spark ``local[2]`` against ``linkback ingest --workers 2`` on the same archives.

    python bench/bench_spark.py [WARC...] [--reps 3] [--cores 2] [--conf KEY=VALUE] [--json FILE]

Each repetition ingests the archives into a fresh DuckDB file (the ``linkback ingest`` command,
a subprocess) and then runs ``linkback spark extract``'s job on them (in this process, one Spark
session for the whole run, started first and timed apart) into a fresh directory. Spark's stages
are timed one by one; the one compared is the extract stage (archives → ``extract()`` in the
Python workers → Arrow → Spark's cache), against the whole of ingest (extraction, writing and
deriving, which ingest overlaps). Rows are those stored: observations + link_observations.

Throughput per core is rows / wall second / cores, and, less disturbed by other load on the
machine, rows per CPU-second of the whole process tree (ingest: main process, forkserver and
workers; Spark: driver, JVM, Python daemon and workers), sampled with psutil. Goal (issue #17):
Spark's extract stage ≥ 0.7× ingest in rows/s per core. The first Spark repetition is cold (the
JVM compiles its code, the Python workers start and import linkback); the medians include it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from _common import ROOT, SHARED_DATA, dump_json, fmt, machine, median, print_table, versions

DEFAULT = SHARED_DATA / "02_warc" / "real-pages-1169.warc.gz"
FALLBACK = ROOT / "tests" / "data" / "warc" / "real-pages" / "sample.warc.gz"
GOAL = 0.7


def tree_cpu(root: psutil.Process) -> dict[int, float]:
    """CPU seconds (user + system) of ``root`` and each live descendant, by pid."""
    out = {}
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            out[proc.pid] = times.user + times.system
        except psutil.Error:
            pass
    return out


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class Sampler:
    """The CPU a process tree uses, sampled every ``interval`` s: processes that end between two
    samples lose at most that much."""

    def __init__(self, root: psutil.Process, interval: float = 0.1) -> None:
        self.root, self.interval = root, interval
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, cpu in tree_cpu(self.root).items():
                self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.seen.values())


def linkback_command() -> list[str]:
    script = Path(sys.executable).with_name("linkback")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linkback.cli._entry"]


def run_ingest(archives: list[str], cores: int, tmp: Path) -> dict[str, Any]:
    db = tmp / f"ingest-{time.monotonic_ns()}.duckdb"
    cmd = [*linkback_command(), "ingest", *archives, "--db", str(db), "--workers", str(cores), "--format", "json", "-q"]
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = Sampler(proc)
    out, errors = proc.communicate()
    wall = time.perf_counter() - t0
    cpu = sampler.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"ingest failed ({proc.returncode}): {errors.decode()[-2000:]}")
    result = json.loads(out)
    db.unlink(missing_ok=True)
    return {"wall": wall, "cpu": cpu, "rows": result["pages"] + result["links"]}


def run_spark(spark: Any, archives: list[str], tmp: Path) -> dict[str, Any]:
    from linkback.spark import extract

    me = psutil.Process()
    marks: list[tuple[str, float, dict[int, float]]] = []

    def stage(name: str) -> None:
        marks.append((name, time.perf_counter(), tree_cpu(me)))

    out = tmp / f"spark-{time.monotonic_ns()}"
    stage("start")
    summary = extract(archives, str(out), spark=spark, on_stage=stage)
    stage("end")
    at = {name: (t, cpu) for name, t, cpu in marks}
    extract_start, extract_end = at["extracting"], at["writing observations"]
    result = {
        "extract_wall": extract_end[0] - extract_start[0],
        "extract_cpu": cpu_since(extract_start[1], extract_end[1]),
        "total_wall": at["end"][0] - at["start"][0],
        "seconds": summary.seconds,
        "rows": summary.rows["observations"] + summary.rows["link_observations"],
    }
    shutil.rmtree(out, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archives", nargs="*", help=f"WARC files (default {DEFAULT.name}, else the bundled sample)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2, help="Spark local[N] and ingest --workers N")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting")
    parser.add_argument("--json", help="write the results as JSON (- for stdout)")
    args = parser.parse_args()
    archives = args.archives or [str(DEFAULT if DEFAULT.exists() else FALLBACK)]

    from linkback.spark import start_session, unavailable

    missing = unavailable()
    if missing:
        raise SystemExit(f"bench_spark: {missing}")
    print(f"archives: {', '.join(archives)}; Spark local[{args.cores}] vs ingest --workers {args.cores}")
    me = psutil.Process()
    before, t0 = tree_cpu(me), time.perf_counter()
    spark = start_session(f"local[{args.cores}]", dict(c.split("=", 1) for c in args.conf))
    session = {"wall": time.perf_counter() - t0, "cpu": cpu_since(before, tree_cpu(me))}
    ingests, sparks = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
            for rep in range(args.reps):
                ingests.append(run_ingest(archives, args.cores, Path(tmp)))
                sparks.append(run_spark(spark, archives, Path(tmp)))
                i, s = ingests[-1], sparks[-1]
                print(f"rep {rep + 1}: ingest {i['wall']:.1f} s ({i['cpu']:.1f} CPU-s), spark extract stage "
                      f"{s['extract_wall']:.1f} s ({s['extract_cpu']:.1f} CPU-s), spark total {s['total_wall']:.1f} s",
                      flush=True)  # fmt: skip
    finally:
        spark.stop()
    report(args.cores, session, ingests, sparks, args.json)


def report(cores: int, session: dict, ingests: list[dict], sparks: list[dict], json_path: str | None) -> None:
    rows_i, rows_s = ingests[0]["rows"], sparks[0]["rows"]
    ingest_wall, ingest_cpu = median([r["wall"] for r in ingests]), median([r["cpu"] for r in ingests])
    extract_wall, extract_cpu = median([r["extract_wall"] for r in sparks]), median([r["extract_cpu"] for r in sparks])
    per_core_i, per_core_s = rows_i / ingest_wall / cores, rows_s / extract_wall / cores
    per_cpu_i, per_cpu_s = rows_i / ingest_cpu, rows_s / extract_cpu
    stage = {k: median([r["seconds"].get(k, 0.0) for r in sparks]) for k in ("plan", "extract", "write", "derive")}
    print()
    print_table(
        ["run", "wall s", "CPU s", "rows", "rows/s per core", "rows per CPU-s"],
        [
            ["Spark session start", session["wall"], session["cpu"], "", "", ""],
            [f"ingest --workers {cores}", ingest_wall, ingest_cpu, rows_i, per_core_i, per_cpu_i],
            [f"Spark local[{cores}] extract stage", extract_wall, extract_cpu, rows_s, per_core_s, per_cpu_s],
            [
                "  its first run (cold: JIT, Python workers start)",
                sparks[0]["extract_wall"],
                sparks[0]["extract_cpu"],
                rows_s,
                rows_s / sparks[0]["extract_wall"] / cores,
                rows_s / sparks[0]["extract_cpu"],
            ],
            ["Spark write (observations, link_observations)", stage["write"], "", "", "", ""],
            ["Spark derive (links, pages, edges)", stage["derive"], "", "", "", ""],
            ["Spark total (no session start)", median([r["total_wall"] for r in sparks]), "", "", "", ""],
        ],
    )
    by_wall, by_cpu = per_core_s / per_core_i, per_cpu_s / per_cpu_i
    verdict = "meets" if by_wall >= GOAL else "misses"
    print(f"\nratio Spark extract stage / ingest, rows/s per core: {fmt(by_wall, 2)} (per CPU-second: "
          f"{fmt(by_cpu, 2)}); goal ≥ {GOAL}: {verdict}")  # fmt: skip
    if rows_i != rows_s:
        print(f"note: ingest stored {rows_i:,} rows and Spark wrote {rows_s:,}")
    dump_json(
        {
            "machine": machine(),
            "versions": versions("pyspark", "pyarrow", "duckdb"),
            "session": session,
            "ingest": ingests,
            "spark": sparks,
            "ratio_rows_per_core": by_wall,
            "ratio_rows_per_cpu_second": by_cpu,
        },
        json_path,
    )


if __name__ == "__main__":
    main()
