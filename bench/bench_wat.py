"""WAT lite ingest against WARC ingest of the same pages, in the same run.

The WAT is made from the WARC by bench/make_wat.py (links parsed with selectolax, the way
ia-web-commons writes them; not with linkback's extract()), so both inputs hold the same captures.
Each repetition ingests each file into a fresh database, alternating WARC and WAT, so slow
spells of the shared machine hit both alike; medians are quoted.

* **one process** (``ingest(workers=1)`` in this process): pages per CPU-second of the process
  (DuckDB's threads included) and per wall second. CPU is the number to trust on a busy machine.
* **the command** (``linkback ingest --workers 2``, a subprocess each): wall pages/s end to end.
* **stage alone**: extract() over the WARC's pages against the WAT's records parsed into the same
  rows (JSON, resolution, Link rows), CPU: what the WAT saves before the shared part (Arrow
  batches, the store's write) that both pay alike.

    python bench/bench_wat.py [WARC] [--reps 3] [--no-command] [--json FILE]

Goal (issue #17): WAT lite ingest ≥ 5× WARC ingest in pages/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_wat import make_wat  # noqa: E402

DEFAULT_WARC = ROOT.parent / "shared" / "data" / "02_warc" / "real-pages-1169.warc.gz"
GOAL = 5.0


def linkback_command() -> list[str]:
    script = Path(sys.executable).with_name("linkback")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linkback.cli"]


def one_process(path: Path, db: Path) -> tuple[float, float, int, int]:
    """(CPU s, wall s, pages, links) of ``ingest(workers=1)`` into a fresh store."""
    from linkback.ingest import ingest  # noqa: PLC0415
    from linkback.store import Store  # noqa: PLC0415

    with Store(str(db)) as store:
        cpu, wall = time.process_time(), time.perf_counter()
        summary = ingest([path], store=store, workers=1)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    db.unlink()
    return cpu, wall, summary.total("pages"), summary.total("links")


def command(path: Path, db: Path, workers: int) -> float:
    cmd = [
        *linkback_command(),
        "ingest",
        str(path),
        "--db",
        str(db),
        "--workers",
        str(workers),
        "-q",
        "--format",
        "json",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    db.unlink()
    return elapsed


def stages(warc: Path, wat: Path) -> tuple[float, float]:
    """CPU seconds of extract() over the WARC's pages, and of parsing the WAT's records into rows."""
    from linkback.extract import extract  # noqa: PLC0415
    from linkback.sources._wat_links import Shared, parse_record  # noqa: PLC0415
    from linkback.sources.warc import ReadStats, iter_archive  # noqa: PLC0415
    from linkback.sources.wat import wat_records  # noqa: PLC0415

    pages = list(iter_archive(str(warc), stats=ReadStats()))
    records = list(wat_records(str(wat), stats=ReadStats()))
    t0 = time.process_time()
    for page in pages:
        extract(page)
    t1 = time.process_time()
    stats, shared = ReadStats(), Shared()
    for offset, raw in records:
        parse_record(raw, str(wat), offset, stats, shared)
    return t1 - t0, time.process_time() - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warc", nargs="?", type=Path, default=DEFAULT_WARC)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="workers of the command runs")
    parser.add_argument("--no-command", action="store_true", help="skip the command (subprocess) runs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lb-wat-") as tmp:
        wat = Path(tmp) / (args.warc.name.removesuffix(".gz").removesuffix(".warc") + ".warc.wat.gz")
        t0 = time.perf_counter()
        make_wat(args.warc, wat)
        print(f"{args.warc.name}: {args.warc.stat().st_size:,} bytes; its WAT {wat.stat().st_size:,} bytes "
              f"(made in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
        inputs = {"warc": args.warc, "wat": wat}
        cpu: dict[str, list[float]] = {"warc": [], "wat": []}
        wall: dict[str, list[float]] = {"warc": [], "wat": []}
        cmd: dict[str, list[float]] = {"warc": [], "wat": []}
        counts: dict[str, tuple[int, int]] = {}
        for rep in range(args.reps):
            for kind in ("warc", "wat") if rep % 2 == 0 else ("wat", "warc"):
                c, w, pages, links = one_process(inputs[kind], Path(tmp) / f"{kind}.duckdb")
                cpu[kind].append(c)
                wall[kind].append(w)
                counts[kind] = (pages, links)
                line = f"  rep {rep + 1} {kind:>4}: one process {c:6.2f} s CPU {w:6.2f} s wall"
                if not args.no_command:
                    cmd[kind].append(command(inputs[kind], Path(tmp) / f"{kind}-cmd.duckdb", args.workers))
                    line += f"; command --workers {args.workers} {cmd[kind][-1]:6.2f} s"
                print(line, flush=True)
        extract_cpu, wat_cpu = stages(args.warc, wat)

    pages = counts["warc"][0]
    print(f"\npages: WARC {counts['warc'][0]:,} ({counts['warc'][1]:,} links), "
          f"WAT {counts['wat'][0]:,} ({counts['wat'][1]:,} links)")  # fmt: skip
    rows = [("one process, CPU", cpu), ("one process, wall", wall)]
    if not args.no_command:
        rows.append((f"command --workers {args.workers}, wall", cmd))
    result: dict = {"pages": pages, "counts": counts, "reps": args.reps, "results": {}}
    print("\n| measure | WARC pages/s | WAT pages/s | WAT / WARC |\n|---|---|---|---|")
    for name, times in rows:
        warc_rate = pages / statistics.median(times["warc"])
        wat_rate = counts["wat"][0] / statistics.median(times["wat"])
        result["results"][name] = {"warc": warc_rate, "wat": wat_rate, "ratio": wat_rate / warc_rate}
        print(f"| {name} | {warc_rate:,.0f} | {wat_rate:,.0f} | {wat_rate / warc_rate:.2f}× |")
    stage_ratio = extract_cpu / wat_cpu if wat_cpu else float("nan")
    print(f"| stage alone (extract() / WAT records → rows), CPU | {pages / extract_cpu:,.0f} | "
          f"{counts['wat'][0] / wat_cpu:,.0f} | {stage_ratio:.2f}× |")  # fmt: skip
    result["stage"] = {"extract_cpu": extract_cpu, "wat_cpu": wat_cpu, "ratio": stage_ratio}
    ratio = result["results"]["one process, CPU"]["ratio"]
    shared = statistics.median(cpu["wat"]) - wat_cpu  # what WAT ingest spends outside parsing
    ceiling = statistics.median(cpu["warc"]) / shared if shared > 0 else float("inf")
    print(f"\nratio (one process, CPU): {ratio:.2f}× (goal ≥ {GOAL:g}×: {'met' if ratio >= GOAL else 'NOT met'})")
    print(f"WAT ingest outside its parsing (reading, Arrow batches, the store's write): {shared:.2f} s CPU; "
          f"even free parsing would give at most {ceiling:.2f}×")  # fmt: skip
    result["ceiling"] = ceiling
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
