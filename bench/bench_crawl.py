"""Crawl of a local 5,000-page site with politeness off: linkback's crawl (fetch + WARC + frontier
+ ingest into DuckDB) against a bare Scrapy spider that only fetches and follows links.

One HTTP/1.1 keep-alive server (asyncio, one process, every page prebuilt in memory) serves
``/p/0`` … ``/p/N-1`` on 127.0.0.1, each page ~2.6 KB with 20 links to other pages (all pages
reachable from ``/p/0``). Both crawlers run as subprocesses of this script, one after the
other, alternating, on the same server, with the same Scrapy and the same settings where they
overlap: 16 concurrent requests (all to the one host), no download delay, no AutoThrottle,
robots.txt not asked for, depth unbounded, stopping at N pages.

* ``bare``: a ``scrapy.Spider`` whose callback runs Scrapy's ``LinkExtractor`` and yields a
  request per link (Scrapy's dupefilter drops the ones seen), ``CLOSESPIDER_PAGECOUNT`` N.
* ``linkback``: :func:`linkback.crawl.run_crawl` with ``polite=False``: the same spider engine
  and LinkExtractor, plus the WARC files (request/response records, gzip per record, digests),
  the frontier in DuckDB (the gate: each request waits until the pages before it are committed),
  and every page extracted and ingested while the crawl runs (``workers=1``: extraction in a
  thread of the crawl's process, so that its CPU time is all counted).

Pages/s is pages over the crawl's wall time (for linkback, the whole ``run_crawl``: opening the
store, the crawl, the last ingest batch and checkpoint); CPU per page is the crawler process's
user + system time (its own and its children's, ``getrusage``) over pages. Medians of ``--reps`` runs; the server's CPU is not
counted for either. Nothing here asserts on time.

    python bench/bench_crawl.py [--pages 5000] [--reps 3] [--json FILE]
    python bench/bench_crawl.py --quick          # 300 pages, 1 run: that it works
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LINKS_PER_PAGE = 20
CONCURRENCY = 16


# --- the site --------------------------------------------------------------------------------------


def page(n: int, total: int) -> bytes:
    """Page ``n``: a title, a paragraph, 20 links to other pages (the next one among them)."""
    targets = [(n + 1) % total] + [(n * 7919 + k * 104729 + 13) % total for k in range(LINKS_PER_PAGE - 1)]
    items = "".join(f'<li><a href="/p/{t}">Page {t} on topic {t % 97}</a></li>\n' for t in targets)
    text = "Some words about this page and what it links to. " * 12
    return (
        f'<!doctype html><html><head><title>Page {n}</title></head><body><nav><a href="/p/0">home</a></nav>'
        f"<h1>Page {n}</h1><p>{text}</p><ul>{items}</ul><footer>footer</footer></body></html>"
    ).encode()


def serve(port: int, total: int) -> None:
    """The site, until killed."""
    pages = {f"/p/{n}".encode(): page(n, total) for n in range(total)}
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                body = pages.get(request.split(b" ", 2)[1])
                if body is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                else:
                    writer.write(head % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- the two crawlers (each run in a process of its own) ------------------------------------------


def bare(url: str, total: int) -> dict[str, Any]:
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor

    class Bare(scrapy.Spider):
        name = "bare"
        links = LinkExtractor(unique=True)

        async def start(self):  # type: ignore[no-untyped-def]
            yield scrapy.Request(url, callback=self.parse)

        def parse(self, response, **_):  # type: ignore[no-untyped-def]
            self.crawler.stats.inc_value("bare/pages")
            for link in self.links.extract_links(response):
                yield scrapy.Request(link.url, callback=self.parse)

    settings = {
        "LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False, "CONCURRENT_REQUESTS": CONCURRENCY,
        "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY, "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
        "COOKIES_ENABLED": False, "TELNETCONSOLE_ENABLED": False, "CLOSESPIDER_PAGECOUNT": total,
    }  # fmt: skip
    started = time.perf_counter()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    process.start()
    seconds = time.perf_counter() - started
    assert crawler.stats is not None
    return {"pages": int(crawler.stats.get_value("bare/pages", 0)), "seconds": seconds}


def linkback(url: str, total: int, out: str, db: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from linkback.crawl import run_crawl

    started = time.perf_counter()
    summary = run_crawl(
        [url], out=out, db=db, scope="hosts", depth=10**6, max_pages=total, allow_private=True, polite=False,
        concurrency=CONCURRENCY, workers=1,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    assert summary.problems == [], summary.problems
    stored = summary.ingest or {}
    return {
        "pages": summary.pages,
        "seconds": seconds,
        "stored": stored.get("pages", 0),
        "links": stored.get("links", 0),
    }


# --- the harness -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(kind: str, url: str, total: int, tmp: Path) -> dict[str, Any]:
    """One crawl in a subprocess of its own (the reactor runs once per process); its result."""
    out, db = tmp / f"warc-{time.monotonic_ns()}", tmp / f"crawl-{time.monotonic_ns()}.duckdb"
    args = [sys.executable, __file__, f"--{kind}", url, str(total), str(out), str(db)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(kind: str, url: str, total: int, out: str, db: str) -> None:
    import resource

    result = bare(url, total) if kind == "bare" else linkback(url, total, out, db)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu"] = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="300 pages, one run of each")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "PAGES"), help=argparse.SUPPRESS)
    parser.add_argument("--bare", nargs=4, metavar=("URL", "PAGES", "OUT", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--linkback", nargs=4, metavar=("URL", "PAGES", "OUT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), int(args.serve[1]))
        return
    for kind in ("bare", "linkback"):
        if getattr(args, kind):
            url, total, out, db = getattr(args, kind)
            child_main(kind, url, int(total), out, db)
            return
    total, reps = (300, 1) if args.quick else (args.pages, args.reps)
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(total)])
    try:
        _wait_for(port)
        url = f"http://127.0.0.1:{port}/p/0"
        results: dict[str, list[dict[str, Any]]] = {"bare": [], "linkback": []}
        with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
            for rep in range(reps):
                for kind in ("bare", "linkback") if rep % 2 == 0 else ("linkback", "bare"):
                    result = run(kind, url, total, Path(tmp))
                    results[kind].append(result)
                    print(f"run {rep + 1} {kind}: {result['pages']} pages in {result['seconds']:.1f} s, "
                          f"{result['cpu']:.1f} CPU s", file=sys.stderr)  # fmt: skip
    finally:
        server.kill()
        server.wait()
    report(results, total, reps, args.json)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the site did not start")


def report(results: dict[str, list[dict[str, Any]]], total: int, reps: int, json_path: Path | None) -> None:
    rows = {}
    for kind, runs in results.items():
        rate = statistics.median(r["pages"] / r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu"] / max(r["pages"], 1) * 1000 for r in runs)
        rows[kind] = {"pages_per_s": rate, "cpu_ms_per_page": cpu, "runs": runs}
    ratio = rows["linkback"]["pages_per_s"] / rows["bare"]["pages_per_s"]
    cpu_ratio = rows["linkback"]["cpu_ms_per_page"] / rows["bare"]["cpu_ms_per_page"]
    print(f"\nCrawl of a local {total:,}-page site, politeness off, {CONCURRENCY} concurrent requests; "
          f"medians of {reps} run(s)\n")  # fmt: skip
    print("| crawler | pages/s | CPU ms per page |")
    print("|---|---|---|")
    print(f"| bare Scrapy spider (fetch + follow) | {rows['bare']['pages_per_s']:.1f} | "
          f"{rows['bare']['cpu_ms_per_page']:.2f} |")  # fmt: skip
    print(f"| linkback crawl (fetch + WARC + frontier + ingest) | {rows['linkback']['pages_per_s']:.1f} | "
          f"{rows['linkback']['cpu_ms_per_page']:.2f} |")  # fmt: skip
    print(f"\nlinkback / bare: **{ratio:.2f}×** pages/s (goal ≥ 0.6×), {cpu_ratio:.2f}× CPU per page")
    stored = [r.get("stored", 0) for r in results["linkback"]]
    print(f"linkback stored {min(stored):,}–{max(stored):,} pages per run")
    if json_path is not None:
        json_path.write_text(json.dumps({"pages": total, "reps": reps, "ratio": ratio, **rows}, indent=2))


if __name__ == "__main__":
    main()
