"""Referral traffic: access-log lines parsed and classified per second, beside GoAccess.

    python bench/bench_traffic.py [--lines 1000000] [--reps 3] [--big 10000000] [--json FILE]

A combined log of ``--lines`` lines is generated (seeded: the same file every run) with the mix of
the real semicomplete.com log in ../shared/data (08_access_logs: 60 % sub-resources and other
non-pages, 17 % crawlers, the rest page views): 15 % crawlers, 55 % sub-resources, 30 % page
views by people from search engines, social sites, other sites and the site's own pages, some
utm-tagged (a newsletter), some referrer spam.

* **ours (parse + classify)**: every line parsed and each visit given its source and channel
  (``linkback.traffic``: read_hits + VisitBuilder, batches handed to a no-op), in one process;
  the rate is lines per CPU second of that process (per core: the machine is shared).
* **ours (into a store)**: the same, stored in a DuckDB file through ``read_visits``.
* **GoAccess** (Debian's ``goaccess``, the C log analyser) on the same file, ``--log-format=COMBINED``,
  JSON report to /dev/null, its CPU time from the child's rusage; skipped, saying why, where absent
  (``make bench-traffic`` installs it when root).
* **the real log**: the same two on ../shared/data's semicomplete.com log, 50 copies end to end.
* **10M lines in bounded memory**: ``--big`` lines generated and read into a store by a child
  process whose peak RSS is printed (0 skips it).

Medians of ``--reps`` runs. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, dump_json, machine, median, print_table  # noqa: E402

from linkback.traffic._fast import read_combined_visits  # noqa: E402
from linkback.traffic._files import MAX_LINE_BYTES, LogStats  # noqa: E402
from linkback.traffic._visits import VisitBuilder  # noqa: E402

SITE = "blog.example.com"
_BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{m}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android {m}; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36",
]
_BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
]
_SEARCH = ["https://www.google.com/", "https://www.google.co.uk/", "https://www.bing.com/", "https://duckduckgo.com/",
           "https://www.google.de/search?q=linkback", "https://yandex.ru/"]  # fmt: skip
_SOCIAL = ["https://t.co/aBcD", "https://www.reddit.com/r/selfhosted/comments/x/", "https://news.ycombinator.com/item?id=1",
           "https://l.facebook.com/", "android-app://com.google.android.googlequicksearchbox/"]  # fmt: skip
_ASSETS = ["/static/app.css", "/static/app.js", "/img/logo.png", "/favicon.ico", "/fonts/inter.woff2"]


def generate_log(path: Path, lines: int, seed: int = 7) -> None:
    """A combined log of ``lines`` lines for :data:`SITE` (see the module docstring for the mix)."""
    rnd = random.Random(seed)
    agents = [b.format(v=rnd.randint(100, 125), m=rnd.randint(1, 9)) for b in _BROWSERS for _ in range(400)]
    pages = [f"/{y}/{rnd.randint(1, 12):02d}/post-{i}/" for i, y in enumerate(rnd.choices(range(2015, 2026), k=5000))]
    sites = [f"https://site{i}.example.org/blog/{i % 97}/" for i in range(3000)] + [
        f"https://forum{i}.example.net/t/{i}" for i in range(1000)
    ]
    t = 1_700_000_000
    with path.open("w", encoding="ascii") as out:
        for i in range(lines):
            if i % 3 == 0:
                t += 1
            when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
            ip = f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
            r = rnd.random()
            page = rnd.choice(pages)
            status, agent = 200, rnd.choice(agents)
            if r < 0.15:  # crawlers
                agent, ref, target = rnd.choice(_BOTS), "-", page
            elif r < 0.70:  # sub-resources of a page
                ref, target = f"https://{SITE}{page}", rnd.choice(_ASSETS)
            else:
                k = rnd.random()
                if k < 0.35:
                    ref = "-"
                elif k < 0.6:
                    ref = rnd.choice(_SEARCH)
                elif k < 0.67:
                    ref = rnd.choice(_SOCIAL)
                elif k < 0.85:
                    ref = rnd.choice(sites)
                elif k < 0.97:
                    ref = f"https://{SITE}{rnd.choice(pages)}"
                else:
                    ref = "http://0-0.fr/"  # on the referrer-spam list
                target = page + ("?utm_source=newsletter&utm_medium=email" if rnd.random() < 0.03 else "")
                status = 304 if rnd.random() < 0.1 else 200
            size = rnd.randint(200, 90000)
            out.write(f'{ip} - - [{when}] "GET {target} HTTP/1.1" {status} {size} "{ref}" "{agent}"\n')


def parse_and_classify(path: Path) -> tuple[float, float, int, int]:
    """(wall s, CPU s, lines, visits) for reading and classifying the whole file."""
    stats = LogStats()
    builder = VisitBuilder(SITE, "https", lambda rows: None, batch=20_000)
    w0, c0 = time.perf_counter(), time.process_time()
    read_combined_visits(str(path), builder, stats, MAX_LINE_BYTES)
    builder.close()
    return time.perf_counter() - w0, time.process_time() - c0, stats.lines, builder.rows


def into_store(path: Path, db: Path) -> tuple[float, float, int]:
    from linkback.store import Store
    from linkback.traffic import read_visits

    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    with Store(db) as store:
        w0, c0 = time.perf_counter(), time.process_time()
        (result,) = read_visits(store, [path], host=SITE)
        return time.perf_counter() - w0, time.process_time() - c0, result.added


def goaccess(path: Path) -> tuple[float, float] | str:
    """(wall s, CPU s) of GoAccess over the file, or why it was not run."""
    exe = shutil.which("goaccess")
    if exe is None:
        return "goaccess is not installed (make bench-traffic installs Debian's package when root)"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    run = subprocess.run(
        [exe, str(path), "--log-format=COMBINED", "--no-global-config", "-o", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        return f"goaccess failed: {run.stderr.decode(errors='replace').strip()[:200]}"
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


_BIG_CHILD = """
import resource, sys, time
sys.path.insert(0, {bench!r})
from linkback.store import Store
from linkback.traffic import read_visits
with Store({db!r}) as store:
    store.con.execute("SET enable_progress_bar = false")
    t0 = time.perf_counter()
    (r,) = read_visits(store, [{log!r}], host={site!r})
    wall = time.perf_counter() - t0
    n = store.con.execute("SELECT count(*) FROM visits").fetchall()[0][0]
print(r.lines, r.added, n, wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def big_run(lines: int, workdir: Path) -> dict:
    log = workdir / "big.log"
    db = workdir / "big.duckdb"
    t0 = time.perf_counter()
    generate_log(log, lines, seed=11)
    gen = time.perf_counter() - t0
    code = _BIG_CHILD.format(bench=str(Path(__file__).resolve().parent), db=str(db), log=str(log), site=SITE)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = run.stdout.strip().splitlines()[-1].split()
    read_lines, added, stored, wall, rss = int(out[0]), int(out[1]), int(out[2]), float(out[3]), float(out[4])
    return {"lines": read_lines, "visits": added, "stored": stored, "seconds": wall, "lines_per_s": read_lines / wall,
            "peak_rss_mb": rss, "log_mb": log.stat().st_size / 1e6, "generate_s": gen}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines of the rate runs (0 skips them)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--big", type=int, default=10_000_000, help="lines of the bounded-memory run (0 skips it)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    print(machine())
    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-traffic-") as tmp:
        work = Path(tmp)
        if args.lines:
            result = rates(args.lines, args.reps, work)
            real = real_rates(args.reps, work)
            if real:
                result["real"] = real
        if args.big:
            big = big_run(args.big, work)
            result["big"] = big
            print(f"\n{big['lines']:,} lines ({big['log_mb']:.0f} MB) into a store in one process: "
                  f"{big['seconds']:.0f} s, {big['lines_per_s']:,.0f} lines/s, {big['visits']:,} visits, "
                  f"peak RSS {big['peak_rss_mb']:.0f} MB")  # fmt: skip
    if args.json:
        dump_json(result, str(args.json))


def real_rates(reps: int, work: Path, copies: int = 50) -> dict:
    """Ours and GoAccess on the real semicomplete.com log of ../shared/data, ``copies`` times over
    (10,000 lines each): real User-Agents and referrers, the real mix. Skipped, saying why, without it."""
    source = SHARED_DATA / "08_access_logs" / "elastic-examples-apache" / "apache_logs"
    if not source.exists():
        print(f"\n(the real-log rates need {source}: skipped)")
        return {}
    log = work / "real.log"
    data = source.read_bytes()
    with log.open("wb") as out:
        for _ in range(copies):
            out.write(data)
    ours = []
    for _ in range(reps):
        stats = LogStats()
        builder = VisitBuilder("semicomplete.com", "http", lambda rows: None)
        c0 = time.process_time()
        read_combined_visits(str(log), builder, stats, MAX_LINE_BYTES)
        builder.close()
        ours.append((time.process_time() - c0, stats.lines, builder.rows))
    cpu, lines = median([o[0] for o in ours]), ours[0][1]
    rows = [["ours: parse + classify", f"{lines / cpu:,.0f}", f"{ours[0][2]:,} visits"]]
    out: dict = {"lines": lines, "ours_lines_per_cpu_s": lines / cpu}
    peer = [goaccess(log) for _ in range(reps)]
    if all(isinstance(p, tuple) for p in peer):
        g_cpu = median([p[1] for p in peer])  # type: ignore[index]
        rows += [["GoAccess", f"{lines / g_cpu:,.0f}", ""], ["ratio ours/GoAccess", f"{g_cpu / cpu:.2f}", ""]]
        out.update(goaccess_lines_per_cpu_s=lines / g_cpu, ratio_cpu=g_cpu / cpu)
    print(f"\nthe real semicomplete.com log x{copies} ({lines:,} lines), medians of {reps} runs")
    print_table(["", "lines/CPU s (per core)", "note"], rows)
    return out


def rates(n: int, reps: int, work: Path) -> dict:
    """The rate table: ours and GoAccess on a log of ``n`` lines, medians of ``reps`` runs."""
    log = work / "access.log"
    generate_log(log, n)
    mb = log.stat().st_size / 1e6
    ours = [parse_and_classify(log) for _ in range(reps)]
    lines, visits = ours[0][2], ours[0][3]
    ours_cpu = median([o[1] for o in ours])
    ours_wall = median([o[0] for o in ours])
    stored = [into_store(log, work / "s.duckdb") for _ in range(reps)]
    store_cpu = median([s[1] for s in stored])
    store_wall = median([s[0] for s in stored])
    peer = [goaccess(log) for _ in range(reps)]
    rows = [
        ["ours: parse + classify", f"{lines / ours_cpu:,.0f}", f"{lines / ours_wall:,.0f}", f"{visits:,} visits"],
        ["ours: into a store", f"{lines / store_cpu:,.0f}", f"{lines / store_wall:,.0f}", f"{stored[0][2]:,} new"],
    ]
    result: dict = {"lines": lines, "log_mb": mb, "visits": visits, "ours_cpu_s": ours_cpu, "ours_wall_s": ours_wall,
                    "ours_lines_per_cpu_s": lines / ours_cpu, "store_lines_per_cpu_s": lines / store_cpu}  # fmt: skip
    if all(isinstance(p, tuple) for p in peer):
        g_cpu = median([p[1] for p in peer])  # type: ignore[index]
        g_wall = median([p[0] for p in peer])  # type: ignore[index]
        rows.append(["GoAccess 1.x (C)", f"{lines / g_cpu:,.0f}", f"{lines / g_wall:,.0f}", ""])
        rows.append(["ratio ours/GoAccess", f"{g_cpu / ours_cpu:.2f}", f"{g_wall / ours_wall:.2f}", "parse+classify"])
        result.update(goaccess_lines_per_cpu_s=lines / g_cpu, ratio_cpu=g_cpu / ours_cpu)
    else:
        reason = next(p for p in peer if isinstance(p, str))
        rows.append(["GoAccess", "skipped", "", str(reason)])
        result["goaccess"] = reason
    print(f"\n{lines:,} combined lines ({mb:.0f} MB), medians of {reps} runs")
    print_table(["", "lines/CPU s (per core)", "lines/s (wall)", "note"], rows)
    return result


if __name__ == "__main__":
    main()
