"""The scale run of issue #17: ≥ 20M links through ``linkback spark extract`` from WARC files, then the
main reports timed on ``attach`` of its Parquet against the same reports on a DuckDB store of the
same pages (made by ``linkback ingest`` of the same WARC files).

    python bench/bench_spark_scale.py                        # 20M links, work files under /tmp/lbscale
    python bench/bench_spark_scale.py --links 500000         # the smoke run
    python bench/bench_spark_scale.py --links 20000000 --json /tmp/lbscale/result.json

1. **WARC input** (``WORK/warc-<links>/``): the 1,169 real pages (``real-pages-1169.warc.gz``,
   else the bundled sample) copied again and again with their hosts rewritten, so the links are
   spread over many source and target sites: each copy is a page of its own (its own URL and
   date) on a source site drawn uniformly from ``pages / 4`` sites; every host of the page's own
   registrable domain becomes the same label on that site, and each other registrable domain it
   links to becomes a target domain drawn Zipf-like (``d = floor(D ** u)``, as ``gen_index.py``
   draws them, over ``D = links / 10`` domains named as it names them), keeping the host's
   labels (``www.``, ``m.``, ...). Relative links stay relative. One gzip member per record
   (level 1), 2,000 pages a file. Enough copies are made for ``--links`` links by the real pages'
   link counts under ``extract()``.
2. **DuckDB**: ``linkback ingest WORK/warc-<links> --workers CORES`` into a fresh file (a subprocess).
3. **Spark**: ``linkback spark extract``'s job, ``local[CORES]``, into ``WORK/parquet-<links>``,
   with the stages timed (session start apart) and CPU sampled as ``bench_spark.py`` does.
4. **Reports**: ``linkback attach`` of the Parquet (its catalog), then each report through its
   Python function with the arguments the CLI passes (``--limit 100`` where it pages), on the
   attached Parquet and on the DuckDB file in turn, interleaved, ``--reps`` times after a warm-up;
   p50 of each and the ratio. Both are opened read-only with the same DuckDB threads and memory.

Each phase's output is kept in WORK and reused by a rerun with the same ``--links`` (``--fresh``
makes it again), so a long run can be resumed. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import psutil
from _common import ROOT, SHARED_DATA, Timer, dump_json, machine, median, print_table, versions
from bench_spark import Sampler, cpu_since, linkback_command, tree_cpu
from gen_index import _SYL, _TLDS

DEFAULT = SHARED_DATA / "02_warc" / "real-pages-1169.warc.gz"
FALLBACK = ROOT / "tests" / "data" / "warc" / "real-pages" / "sample.warc.gz"
PAGES_PER_FILE = 2000
#: An absolute URL's host (``//`` first: a literal prefix the regex engine searches for fast).
_HOST = re.compile(r"//([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.[A-Za-z]{2,})(?![A-Za-z0-9.-])")
_DROP_HEADERS = {b"content-length", b"transfer-encoding", b"content-encoding"}

# --- 1. WARC input --------------------------------------------------------------------------


def _mix(x: int) -> int:
    """A 64-bit integer hash (splitmix64's finaliser): names and dates that do not follow ids."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def domain_name(d: int) -> str:
    """Domain ``d`` named as gen_index.py names it: two syllables, the id, a TLD by hash."""
    h = _mix(d)
    return f"{_SYL[h % len(_SYL)]}{_SYL[(h >> 8) % len(_SYL)]}{d}.{_TLDS[(h >> 16) % len(_TLDS)][0]}"


_DOMAINS: dict[str, str | None] = {}


class Template:
    """One real page cut at its absolute hosts: ``texts[i]`` + host ``slots[i]`` + ... + ``texts[-1]``.

    A slot is ``(None, label)`` for a host of the page's own registrable domain (``label`` is
    what comes before it: ``www``, ``""``), or ``(k, label)`` for the ``k``-th other domain."""

    def __init__(self, url: str, head: bytes, body: bytes) -> None:
        from linkback.urls import host_of, registrable_domain_or_none

        self.url, self.head, self.path = url, head, url.split("/", 3)[3] if url.count("/") >= 3 else ""
        self.scheme = url.split(":", 1)[0]
        own = registrable_domain_or_none(host_of(url))
        self.label = _label(host_of(url), own)
        text = body.decode("latin-1")  # byte for byte: the page's own encoding is left as it is
        self.texts: list[str] = []
        self.slots: list[tuple[int | None, str]] = []
        others: dict[str, int] = {}
        at = 0
        for m in _HOST.finditer(text):
            host = m.group(1).lower()
            if (domain := _DOMAINS.get(host, "")) == "":
                domain = _DOMAINS[host] = registrable_domain_or_none(host)
            if domain is None:
                continue
            self.texts.append(text[at : m.start(1)])
            if domain == own:
                self.slots.append((None, _label(host, own)))
            else:
                self.slots.append((others.setdefault(domain, len(others)), _label(host, domain)))
            at = m.end(1)
        self.texts.append(text[at:])
        self.n_others = len(others)


def _label(host: str, domain: str | None) -> str:
    return host[: -len(domain) - 1] if domain and host.endswith("." + domain) else ""


def _on(label: str, domain: str) -> str:
    return f"{label}.{domain}" if label else domain


def load_templates(path: Path) -> list[Template]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    out = []
    with open(path, "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=False):
            block = record.reader.read()
            head, sep, body = block.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            if not sep or any(b"content-encoding" in h.lower() for h in lines[1:]):
                continue  # a compressed body cannot be rewritten as text
            kept = [h for h in lines[1:] if h.split(b":", 1)[0].strip().lower() not in _DROP_HEADERS]
            out.append(Template(record.headers["WARC-Target-URI"], b"\r\n".join([lines[0], *kept]), body))
    return out


def link_counts(path: Path) -> dict[str, int]:
    """Links ``extract()`` finds on each page of ``path``, by URL: how many copies make --links."""
    from linkback.extract import extract
    from linkback.sources import ReadStats, iter_archive

    return {page.url: len(extract(page)[1]) for page in iter_archive(str(path), stats=ReadStats())}


_TEMPLATES: list[Template] = []


def _init_worker(path: str) -> None:
    _TEMPLATES.extend(load_templates(Path(path)))


def page_copy(copy: int, n_pages: int, n_domains: int, seed: int) -> tuple[str, datetime, bytes]:
    """Copy ``copy`` of its template: (URL, capture date, HTTP response block)."""
    t = _TEMPLATES[copy % len(_TEMPLATES)]
    rng = random.Random(seed * 1_000_003 + copy)
    site = _mix(rng.randrange(max(1, n_pages // 4)) ^ seed) % n_domains + 1  # uniform over pages/4 sites
    own = domain_name(site)
    # Zipf-like targets: floor(D ** u), as gen_index.py draws them.
    others = [domain_name(min(n_domains, int(n_domains ** rng.random()))) for _ in range(t.n_others)]
    parts = [t.texts[0]]
    for (k, label), text in zip(t.slots, t.texts[1:], strict=True):
        parts.append(_on(label, own if k is None else others[k]))
        parts.append(text)
    body = "".join(parts).encode("latin-1")
    url = f"{t.scheme}://{_on(t.label, own)}/{copy}/{t.path}"
    date = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=_mix(copy ^ (seed << 40)) % (365 * 86400))
    block = t.head + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    return url, date, block


def _write_file(job: tuple[str, int, int, int, int, int]) -> int:
    out, first, last, n_pages, n_domains, seed = job
    with open(out + ".part", "wb") as f:
        for copy in range(first, last):
            url, date, block = page_copy(copy, n_pages, n_domains, seed)
            head = (
                "WARC/1.0\r\nWARC-Type: response\r\n"
                f"WARC-Record-ID: <urn:uuid:{uuid.UUID(int=_mix(copy) << 64 | _mix(copy + seed))}>\r\n"
                f"WARC-Date: {date:%Y-%m-%dT%H:%M:%SZ}\r\nWARC-Target-URI: {url}\r\n"
                f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(block)}\r\n\r\n"
            )
            f.write(zlib.compress(head.encode() + block + b"\r\n\r\n", 1, wbits=31))  # one gzip member a record
    Path(out + ".part").rename(out)
    return last - first


def make_warcs(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The WARC files for ``--links`` links (reused when made before with the same parameters)."""
    out = work / f"warc-{args.links}"
    done = out / "_made.json"
    if done.exists() and not args.fresh:
        info = json.loads(done.read_text())
        print(f"WARC input: reusing {out} ({info['pages']:,} pages, {info['files']} files)", flush=True)
        return info
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with Timer() as t_count:
        counts = link_counts(args.template)
    templates = load_templates(args.template)
    mean = round(sum(counts.values()) / max(1, len(counts)))
    by_template = [counts.get(t.url, mean) for t in templates]
    per_cycle = sum(by_template)
    cycles, rest = divmod(math.ceil(args.links * 1.02), per_cycle)
    n_pages = cycles * len(templates)
    acc = 0
    while acc < rest:
        acc += by_template[n_pages % len(templates)]
        n_pages += 1
    n_domains = max(10_000, args.links // 10)
    jobs = [
        (
            str(out / f"scale-{i:05d}.warc.gz"),
            first,
            min(n_pages, first + PAGES_PER_FILE),
            n_pages,
            n_domains,
            args.seed,
        )
        for i, first in enumerate(range(0, n_pages, PAGES_PER_FILE))
    ]
    print(
        f"WARC input: {n_pages:,} pages from {len(templates):,} real ones ({per_cycle:,} links a cycle, "
        f"counted in {t_count.seconds:.1f} s), {n_domains:,} target domains, {len(jobs)} files -> {out}",
        flush=True,
    )
    t0 = time.perf_counter()
    with Timer() as t, Pool(args.gen_workers, initializer=_init_worker, initargs=(str(args.template),)) as pool:
        for i, _ in enumerate(pool.imap_unordered(_write_file, jobs), start=1):
            if i % 10 == 0 or i == len(jobs):
                print(f"  {i}/{len(jobs)} files, {time.perf_counter() - t0:.0f} s", flush=True)
    size = sum(p.stat().st_size for p in out.glob("*.warc.gz"))
    info = {"dir": str(out), "pages": n_pages, "files": len(jobs), "bytes": size, "seconds": t.seconds,
            "expected_links": n_pages // len(templates) * per_cycle + acc, "target_domains": n_domains}  # fmt: skip
    done.write_text(json.dumps(info))
    print(f"  made in {t.seconds:.0f} s, {size / 2**30:.2f} GiB", flush=True)
    return info


# --- 2. DuckDB: linkback ingest ----------------------------------------------------------------


def _reuse(marker: Path, *paths: Path, fresh: bool) -> dict[str, Any] | None:
    if fresh or not marker.exists() or not all(p.exists() for p in paths):
        return None
    return json.loads(marker.read_text())


def run_ingest(args: argparse.Namespace, warcs: dict[str, Any], work: Path) -> dict[str, Any]:
    db, marker = work / f"ingest-{args.links}.duckdb", work / f"ingest-{args.links}.json"
    if (info := _reuse(marker, db, fresh=args.fresh)) is not None:
        print(f"DuckDB: reusing {db} ({info['links']:,} links)", flush=True)
        return info
    for p in (db, Path(f"{db}.wal"), marker):
        p.unlink(missing_ok=True)
    cmd = [*linkback_command(), "ingest", warcs["dir"], "--db", str(db), "--workers", str(args.cores)]
    print(f"DuckDB: {' '.join(cmd[-6:])} ...", flush=True)
    t0 = time.perf_counter()
    proc = psutil.Popen([*cmd, "--format", "json", "-q"], stdout=-1, stderr=-1)
    sampler = Sampler(proc, interval=0.5)
    out, errors = proc.communicate()
    wall, cpu = time.perf_counter() - t0, sampler.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"ingest failed ({proc.returncode}): {errors.decode()[-2000:]}")
    result = json.loads(out)
    info = {"db": str(db), "wall": wall, "cpu": cpu, "pages": result["pages"], "links": result["links"],
            "bytes": db.stat().st_size}  # fmt: skip
    marker.write_text(json.dumps(info))
    print(f"  {info['pages']:,} pages, {info['links']:,} links in {wall:.0f} s ({cpu:.0f} CPU-s)", flush=True)
    return info


# --- 3. Spark ---------------------------------------------------------------------------------


def run_spark(args: argparse.Namespace, warcs: dict[str, Any], work: Path) -> dict[str, Any]:
    out, marker = work / f"parquet-{args.links}", work / f"spark-{args.links}.json"
    if (info := _reuse(marker, out / "_linkback.json", fresh=args.fresh)) is not None:
        print(f"Spark: reusing {out} ({info['rows']['link_observations']:,} link rows)", flush=True)
        return info
    from linkback.spark import extract, start_session, unavailable

    if missing := unavailable():
        raise SystemExit(f"bench_spark_scale: {missing}")
    shutil.rmtree(out, ignore_errors=True)
    marker.unlink(missing_ok=True)
    local = work / "spark-local"
    conf = {"spark.driver.memory": args.driver_memory, "spark.local.dir": str(local)}
    conf.update(dict(c.split("=", 1) for c in args.conf))
    me = psutil.Process()
    before, t0 = tree_cpu(me), time.perf_counter()
    spark = start_session(f"local[{args.cores}]", conf)
    session = {"wall": time.perf_counter() - t0, "cpu": cpu_since(before, tree_cpu(me))}
    print(f"Spark: session local[{args.cores}] started in {session['wall']:.1f} s; extract -> {out}", flush=True)
    marks: list[tuple[str, float, dict[int, float]]] = []

    def stage(name: str) -> None:
        marks.append((name, time.perf_counter(), tree_cpu(me)))
        print(f"  {time.strftime('%H:%M:%S')} {name}", flush=True)

    sampler = Sampler(me, interval=1.0)
    try:
        stage("start")
        summary = extract([warcs["dir"]], str(out), spark=spark, on_stage=stage)
        stage("end")
    finally:
        spark.stop()
        shutil.rmtree(local, ignore_errors=True)
    at = {name: (t, cpu) for name, t, cpu in marks}
    spans = {"extract": ("extracting", "writing observations"), "write": ("writing observations", "deriving links, pages and edges"),
             "derive": ("deriving links, pages and edges", "end")}  # fmt: skip
    info = {
        "out": str(out),
        "session": session,
        "seconds": summary.seconds,
        "cpu": {k: cpu_since(at[a][1], at[b][1]) for k, (a, b) in spans.items()},
        "total_wall": at["end"][0] - at["start"][0],
        "total_cpu": sampler.stop() - session["cpu"],
        "rows": summary.rows,
        "live_links": summary.live_links,
        "counters": {k: v for k, v in summary.as_dict().items() if k not in ("files", "rows", "seconds")},
        "bytes": {t: sum(p.stat().st_size for p in (out / t).glob("*.parquet")) for t in summary.rows},
    }
    marker.write_text(json.dumps(info, default=str))
    print(f"  {info['rows']} in {info['total_wall']:.0f} s; stages {fmt_stages(info['seconds'])}", flush=True)
    return info


def fmt_stages(seconds: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())


# --- 4. Reports on attach vs DuckDB ------------------------------------------------------------

LIMIT = 50  # what a report command shows without --limit (linkback.cli._output.TABLE_LIMIT)


def open_stores(spark: dict[str, Any], ingest: dict[str, Any], args: argparse.Namespace) -> tuple[Any, Any, float]:
    from linkback.store import Store

    with Timer() as t:
        Store(spark["out"]).close()  # what `linkback attach DIR` does: check the files, make the catalog
    stores = Store(spark["out"], read_only=True), Store(ingest["db"], read_only=True)
    for st in stores:
        st.con.execute(f"SET threads = {args.cores}")
        st.con.execute(f"SET memory_limit = '{args.memory_limit}'")
        st.con.execute("SET enable_progress_bar = false")
    return stores[0], stores[1], t.seconds


def pick_targets(store: Any) -> dict[str, Any]:
    """The most-linked domain, five with 300–3,000 external live links, and for compare/intersect the
    domains ranked 11–15 (not the 16th), as bench_competitors.py picks them."""
    rows = store.con.execute("""
        SELECT target_domain, count(*) AS n FROM links
        WHERE NOT internal AND lost_at IS NULL AND target_domain IS NOT NULL
        GROUP BY target_domain ORDER BY n DESC, target_domain""").fetchall()
    band = [r for r in rows if 300 <= r[1] <= 3000] or rows[5:10]
    mid = band[:: max(1, len(band) // 5)][:5]
    return {"top": rows[0], "mid": mid, "compare": rows[10:15], "mine": rows[15], "domains": len(rows)}


def report_calls(targets: dict[str, Any], source: str) -> dict[str, list]:
    """Each report, as the CLI calls it: a list of one-argument calls (the store) per report."""
    from linkback import reports

    mid = [d for d, _ in targets["mid"]]
    five, mine = [d for d, _ in targets["compare"]], targets["mine"][0]
    each = {
        "overview": lambda d: lambda st: reports.overview(st, d),
        "backlinks": lambda d: lambda st: reports.backlinks(st, d, limit=LIMIT),
        "refdomains": lambda d: lambda st: reports.refdomains(st, d, limit=LIMIT),
        "anchors": lambda d: lambda st: reports.anchors(st, d, limit=LIMIT),
        "pages (top pages)": lambda d: lambda st: reports.pages(st, d, limit=LIMIT),
        "tlds": lambda d: lambda st: reports.tlds(st, d, limit=LIMIT),
        "history": lambda d: lambda st: reports.history(st, d, limit=LIMIT),
    }
    calls: dict[str, list] = {name: [make(d) for d in mid] for name, make in each.items()}
    top = targets["top"][0]
    calls["overview, most-linked domain"] = [lambda st: reports.overview(st, top)]
    calls["backlinks, most-linked domain"] = [lambda st: reports.backlinks(st, top, limit=LIMIT)]
    calls["compare (5 targets)"] = [lambda st: reports.compare(st, five)]
    calls["intersect (5 targets)"] = [lambda st: reports.intersect(st, five, exclude=[mine], limit=LIMIT)]
    calls["linked_domains"] = [lambda st: reports.linked_domains(st, source, limit=LIMIT)]
    calls["domains (whole index)"] = [lambda st: reports.domains(st, limit=LIMIT)]
    return calls


def _canon(result: Any) -> str:
    return json.dumps(result, default=str, sort_keys=True)


def time_reports(pq: Any, db: Any, args: argparse.Namespace) -> dict[str, Any]:
    from linkback import reports

    with Timer() as t:
        targets = pick_targets(db)
    five, mine = [d for d, _ in targets["compare"]], targets["mine"][0]
    source = reports.intersect(db, five, exclude=[mine], limit=1)[0]["source"]
    print(f"targets (picked in {t.seconds:.1f} s): top {targets['top']}, mid {targets['mid']}, "
          f"compare {five} not {mine}; linked_domains of {source}", flush=True)  # fmt: skip
    calls = report_calls(targets, source)
    stores = {"parquet": pq, "duckdb": db}
    samples: dict[str, dict[str, list[float]]] = {name: {k: [] for k in stores} for name in calls}
    rows: dict[str, dict[str, int]] = {name: {} for name in calls}
    same: dict[str, bool] = {}
    for name, fns in calls.items():  # warm-up, and the answers compared
        answers = {k: [fn(st) for fn in fns] for k, st in stores.items()}
        rows[name] = {k: sum(1 if isinstance(a, dict) else len(a) for a in v) for k, v in answers.items()}
        same[name] = _canon(answers["parquet"]) == _canon(answers["duckdb"])
    for rep in range(args.reps):
        for name, fns in calls.items():
            for key, st in stores.items():
                for fn in fns:
                    t0 = time.perf_counter()
                    fn(st)
                    samples[name][key].append((time.perf_counter() - t0) * 1000)
        print(f"  reports rep {rep + 1}/{args.reps} done", flush=True)
    return {"targets": targets, "samples": samples, "rows": rows, "same": same}


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=20_000_000, help="links to generate (default 20M)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/lbscale"), help="where the WARC, Parquet, DuckDB go")
    parser.add_argument("--template", type=Path, default=DEFAULT if DEFAULT.exists() else FALLBACK)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cores", type=int, default=2, help="Spark local[N], ingest --workers N, DuckDB threads")
    parser.add_argument("--gen-workers", type=int, default=2)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB's, the same for both stores")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--skip-ingest", action="store_true", help="Spark only (no DuckDB store, no reports)")
    parser.add_argument("--fresh", action="store_true", help="make every phase again")
    parser.add_argument("--json", help="write the results as JSON (- for stdout)")
    parser.add_argument("--report-from", type=Path, metavar="JSON", help="print the tables of an earlier --json")
    args = parser.parse_args()
    if args.report_from:
        done = json.loads(args.report_from.read_text())
        args.links, args.reps, args.json = done["links"], done.get("reps", args.reps), None
        report(args, done["warc"], done["spark"], done["ingest"], done.get("reports"), done.get("attach_s", math.nan))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"# bench_spark_scale: {args.links:,} links, work {args.work}, {machine()}", flush=True)
    warcs = make_warcs(args, args.work)
    spark = run_spark(args, warcs, args.work)
    if args.skip_ingest:
        report(args, warcs, spark, None, None, 0.0)
        return
    ingest = run_ingest(args, warcs, args.work)
    pq, db, attach_s = open_stores(spark, ingest, args)
    try:
        timed = time_reports(pq, db, args)
    finally:
        pq.close()
        db.close()
    report(args, warcs, spark, ingest, timed, attach_s)


def report(args, warcs, spark, ingest, timed, attach_s) -> None:  # noqa: ANN001
    cores, rows = args.cores, spark["rows"]
    stored = rows["observations"] + rows["link_observations"]
    sec, cpu = spark["seconds"], spark["cpu"]
    print(f"\n## {rows['link_observations']:,} links ({rows['observations']:,} pages) from {warcs['files']} WARC "
          f"files ({warcs['bytes'] / 2**30:.2f} GiB), Spark local[{cores}] vs ingest --workers {cores}\n")  # fmt: skip
    table = [["Spark session start", spark["session"]["wall"], spark["session"]["cpu"], "", "", ""]]
    for stage, what in (("plan", 0), ("extract", stored), ("write", stored), ("derive", rows["links"])):
        wall, used = sec.get(stage, math.nan), cpu.get(stage, math.nan)
        table.append(
            [f"Spark {stage}", wall, used, what or "", what / wall / cores if what else "", what / used if what else ""]
        )
    total_wall, total_cpu = spark["total_wall"], spark["total_cpu"]
    table.append(
        [
            "Spark total (no session start)",
            total_wall,
            total_cpu,
            stored,
            stored / total_wall / cores,
            stored / total_cpu,
        ]
    )
    if ingest:
        i_rows = ingest["pages"] + ingest["links"]
        table.append([f"ingest --workers {cores} (DuckDB)", ingest["wall"], ingest["cpu"], i_rows,
                      i_rows / ingest["wall"] / cores, i_rows / ingest["cpu"]])  # fmt: skip
    print_table(["stage", "wall s", "CPU s", "rows", "rows/s per core", "rows per CPU-s"], table)
    after = cpu.get("write", math.nan) + cpu.get("derive", math.nan)
    print(f"\nwrite + derive / extract, CPU-seconds: {after / cpu.get('extract', math.nan):.2f} "
          f"(wall: {(sec['write'] + sec['derive']) / sec['extract']:.2f})")  # fmt: skip
    print(f"\nSpark rows: {rows}; live links {spark['live_links']:,}")
    if ingest and (ingest["pages"], ingest["links"]) != (rows["observations"], rows["link_observations"]):
        print(f"note: ingest stored {ingest['pages']:,} pages / {ingest['links']:,} links, Spark wrote "
              f"{rows['observations']:,} / {rows['link_observations']:,}")  # fmt: skip
    pq_bytes = sum(spark["bytes"].values())
    size_rows = [[f"Parquet {t}", b / 2**20] for t, b in spark["bytes"].items() if b]
    size_rows.append(["Parquet, all tables", pq_bytes / 2**20])
    if ingest:
        size_rows.append(["DuckDB file (ingest)", ingest["bytes"] / 2**20])
    print()
    print_table(["size", "MB"], size_rows)
    if ingest:
        print(f"\nParquet / DuckDB size: {pq_bytes / ingest['bytes']:.2f}; attach (catalog) took {attach_s:.2f} s")
    result: dict[str, Any] = {"machine": machine(), "versions": versions("pyspark", "pyarrow", "duckdb"),
                              "links": args.links, "reps": args.reps, "warc": warcs, "spark": spark, "ingest": ingest,
                              "attach_s": attach_s}  # fmt: skip
    if timed:
        print(
            f"\nreports, p50 ms over {args.reps} reps (the per-target ones: × {len(timed['targets']['mid'])} targets)\n"
        )
        lines = []
        for name, by in timed["samples"].items():
            p_pq, p_db = median(by["parquet"]), median(by["duckdb"])
            lines.append(
                [name, p_pq, p_db, p_pq / p_db, timed["rows"][name]["parquet"], "yes" if timed["same"][name] else "NO"]
            )
        print_table(["report", "Parquet (attach) p50 ms", "DuckDB p50 ms", "ratio", "rows", "same answer"], lines)
        result["reports"] = timed
    dump_json(result, args.json)


if __name__ == "__main__":
    main()
