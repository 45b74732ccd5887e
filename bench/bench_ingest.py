"""Ingest end to end into DuckDB: `--workers 2` against `--workers 1`, and peak memory.

Runs the `linkback ingest` command as a subprocess into a fresh database for each repetition. The
timed runs alternate workers=1 and workers=2, so slow spells of the (shared, noisy) machine hit
both alike, and the speed-up is the median of the per-pair ratios. Peak memory comes from separate
runs that sample the proportional set size (PSS) of the whole process tree (main process,
forkserver, workers) every 50 ms: reading PSS walks every mapping of every process, and doing
that in the timed runs took CPU from the job it measured. The "large" run ingests an archive made
of the input repeated K times (each copy with its own capture dates, so nothing is de-duplicated
away) to show that memory does not grow with the archive.

A "ceiling" row runs the extraction alone (no database): the archive's ranges in one process,
then split over two processes. Its speed-up is what this machine gives for work that is
perfectly parallel, which bounds what ingest can reach.

    python bench/bench_ingest.py [WARC] [--reps 5] [--large 3]

Goals (issue #2): workers 2 ≥ 1.7× workers 1; peak memory < 1 GB whatever the archive size.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WARC = ROOT.parent / "shared" / "data" / "02_warc" / "real-pages-1169.warc.gz"


def linkback_command() -> list[str]:
    """The ``linkback`` script users run (next to this Python), else ``python -m linkback.cli``."""
    script = Path(sys.executable).with_name("linkback")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linkback.cli"]


def run_ingest(warc: Path, workers: int, tmp: Path, *, sample_memory: bool = False) -> dict:
    db = tmp / f"bench-{workers}-{time.monotonic_ns()}.duckdb"
    cmd = [
        *linkback_command(),
        "ingest",
        str(warc),
        "--db",
        str(db),
        "--workers",
        str(workers),
        "--format",
        "json",
        "--quiet",
    ]
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    while sample_memory and proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            # PSS: shared pages (the libraries forked workers inherit) split between the
            # processes that share them, so the sum is the memory the tree really uses.
            peak = max(peak, sum(p.memory_full_info().pss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}): {err.decode()[-2000:]}")
    summary = json.loads(out)
    db.unlink(missing_ok=True)
    return {"seconds": elapsed, "peak_rss": peak, "pages": summary["pages"], "links": summary["links"]}


def repeated_archive(warc: Path, copies: int, out: Path) -> Path:
    """The archive repeated ``copies`` times, each copy's WARC-Date moved by one day per copy."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    with open(out, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for k in range(copies):
            with open(warc, "rb") as src:
                for record in ArchiveIterator(src):
                    date = record.rec_headers.get_header("WARC-Date")
                    if date:
                        record.rec_headers.replace_header("WARC-Date", f"{int(date[:4]) + k:04d}{date[4:]}")
                    payload = record.content_stream().read()
                    new = writer.create_warc_record(
                        record.rec_headers.get_header("WARC-Target-URI"),
                        record.rec_type,
                        payload=io.BytesIO(payload),
                        warc_headers=record.rec_headers,
                        http_headers=record.http_headers,
                    )
                    writer.write_record(new)
    return out


def extract_share(warc: Path, part: int, parts: int) -> None:
    """Extract every ``parts``-th range of the archive, starting at ``part`` (no database)."""
    from linkback._workers import ranges  # noqa: PLC0415
    from linkback.batches import extract_range  # noqa: PLC0415

    for k, (start, end, align) in enumerate(ranges(warc)):
        if k % parts == part:
            extract_range(str(warc), start, end, align)


def run_extract_only(warc: Path, processes: int) -> float:
    """Wall seconds for ``processes`` processes sharing the archive's extraction."""
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, __file__, str(warc), "--extract-share", f"{k}/{processes}"])
        for k in range(processes)
    ]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("extraction-only run failed")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("warc", nargs="?", type=Path, default=DEFAULT_WARC)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--large", type=int, default=3, help="copies in the larger archive (0: skip it)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--extract-share", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.warc.exists():
        raise SystemExit(f"{args.warc} is absent: pass a WARC (default needs ../shared/data)")
    if args.extract_share:
        part, parts = map(int, args.extract_share.split("/"))
        extract_share(args.warc, part, parts)
        return
    size_mb = args.warc.stat().st_size / 2**20
    results: dict[str, dict] = {}
    speedups: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        inputs = {"single": args.warc}
        if args.large:
            inputs[f"x{args.large}"] = repeated_archive(args.warc, args.large, tmp / "large.warc.gz")
        for label, warc in inputs.items():
            timed: dict[int, list[dict]] = {1: [], 2: []}
            for _ in range(args.reps):
                for workers in (1, 2):
                    timed[workers].append(run_ingest(warc, workers, tmp))
            for workers in (1, 2):
                runs = timed[workers]
                peak = run_ingest(warc, workers, tmp, sample_memory=True)["peak_rss"]
                results[f"{label}, workers={workers}"] = {
                    "seconds_median": statistics.median(r["seconds"] for r in runs),
                    "peak_rss_mb": peak / 2**20,
                    "pages": runs[0]["pages"],
                    "links": runs[0]["links"],
                    "archive_mb": warc.stat().st_size / 2**20,
                    "runs": [round(r["seconds"], 2) for r in runs],
                }
            speedups[label] = statistics.median(
                one["seconds"] / two["seconds"] for one, two in zip(timed[1], timed[2], strict=True)
            )
        ceiling = {1: [], 2: []}
        for _ in range(args.reps):
            for processes in (1, 2):
                ceiling[processes].append(run_extract_only(args.warc, processes))
        speedups["ceiling: extraction alone, 2 processes / 1"] = statistics.median(
            one / two for one, two in zip(ceiling[1], ceiling[2], strict=True)
        )
    if args.json:
        print(json.dumps({"archive": str(args.warc), "results": results, "speedup_w2_over_w1": speedups}, indent=2))
        return
    print(
        f"ingest end to end: {args.warc.name} ({size_mb:.1f} MB), {args.reps} reps alternating, median; fresh DB each run"
    )
    print(f"{'run':<26} {'pages':>7} {'links':>9} {'seconds':>8} {'pages/s':>8} {'peak PSS':>9}  runs")
    for name, r in results.items():
        print(
            f"{name:<26} {r['pages']:>7,} {r['links']:>9,} {r['seconds_median']:>8.2f} "
            f"{r['pages'] / r['seconds_median']:>8.0f} {r['peak_rss_mb']:>7.0f}MB  {r['runs']}"
        )
    print(
        f"extraction alone (no database), 1 process: {statistics.median(ceiling[1]):.2f} s {[round(t, 2) for t in ceiling[1]]}; "
        f"2 processes: {statistics.median(ceiling[2]):.2f} s {[round(t, 2) for t in ceiling[2]]}"
    )
    for label, speedup in speedups.items():
        goal = "" if label.startswith("ceiling") else " (goal >= 1.7x)"
        print(f"speed-up workers=2 / workers=1, {label}: {speedup:.2f}x{goal} (median of paired runs)")
    print(
        f"peak memory (PSS), whole process tree: {max(r['peak_rss_mb'] for r in results.values()):.0f} MB (goal < 1024 MB)"
    )


if __name__ == "__main__":
    main()
