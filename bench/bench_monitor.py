"""Link monitor: 10,000 ledger links on 500 local hosts re-checked at 32 concurrent connections.

    python bench/bench_monitor.py                 # 10,000 links, 500 hosts, 32 connections, 1 s per-host delay
    python bench/bench_monitor.py --quick         # 60 links on 6 hosts, for the smoke test
    python bench/bench_monitor.py --check         # exit 1 when a goal is missed

One local web server (its own process: asyncio, HTTP/1.1, keep-alive when asked) answers for
every ``hN.bench.test`` name by ``Host``: ``/robots.txt`` is 404 and ``/p/K`` is a ~7 KB page
with 40 links, one of them to the monitored target. The monitor resolves those names to
127.0.0.1 through its resolver map, with the SSRF guard on for every other address (127.0.0.1
alone is declared public, any port allowed). A fresh database gets the ledger links (20 source
pages per host), then two runs of ``linkback monitor`` checks (``run_checks``, each in its own
process, with its defaults: 32 connections, one per host, 1 s between requests to a host,
robots.txt, WARC files, extract(), batched writes): the first check of every link, then the
re-check — the figure the goal is about. Wall time, CPU and peak RSS are each process's own.

The issue names no peer, so the same run also fetches the same 10,000 URLs with plain httpx at
32 concurrency and no parsing (32 threads, an ``httpx.Client`` each, keep-alive as httpx does by
default, and again with a new connection per request, as linkback's fetcher makes; no robots.txt,
no per-host delay), and prints the ratio.

Goals (issue): the re-check of 10,000 links in < 2 minutes, peak memory < 600 MB. Nothing here
asserts on time; ``--check`` makes the bench exit 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT  # noqa: F401 - puts the project on sys.path

TARGET = "https://target.bench.test/pricing"
GOAL_SECONDS = 120.0
GOAL_MB = 600.0


def host_name(n: int) -> str:
    return f"h{n}.bench.test"


def page_body(host: str, k: int) -> bytes:
    """A page of a blog: nav, text, 38 outlinks, one link to the target, a footer (~7 KB); ``host``
    is the Host header (with its port: the canonical is the page's own URL)."""
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(8))
    words = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. " * 3
    paras = "".join(
        f'<p>{words}<a href="https://site{(k * 7 + i) % 997}.example/post/{i}">reference {i}</a> {words[:80]}</p>'
        for i in range(30)
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{host} post {k}</title>"
        f'<link rel="canonical" href="http://{host}/p/{k}"></head><body><header><nav><ul>{nav}</ul></nav></header>'
        f'<main><article><h1>Post {k}</h1>{paras}<p>We recommend <a href="{TARGET}">Target pricing</a>.</p>'
        f'</article></main><footer><a href="/about">About</a> <a href="/contact">Contact</a></footer></body></html>'
    ).encode()


# --- the local web (its own process) -----------------------------------------------------------------


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            hostport = headers.get("host", "")
            close = headers.get("connection", "").lower() == "close"
            if path.startswith("/p/") and hostport.rsplit(":", 1)[0].endswith(".bench.test"):
                body, status = page_body(hostport, int(path[3:])), "200 OK"
                ctype = "text/html; charset=utf-8"
            else:
                body, status, ctype = b"not found", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                f"{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n".encode()
                + body
            )
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def serve() -> None:
    async def main() -> None:
        server = await asyncio.start_server(_serve_connection, "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- the measured processes ----------------------------------------------------------------------


def _usage() -> dict[str, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_seconds": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024}


def build_ledger(db: str, port: int, hosts: int, links: int) -> None:
    """The ledger: ``links`` source pages spread over ``hosts`` hosts, each linking to TARGET."""
    from datetime import UTC, datetime

    from linkback.monitor._ledger import _Candidate, insert_candidates
    from linkback.store import Store

    per_host = -(-links // hosts)
    candidates = [
        _Candidate(f"http://{host_name(i % hosts)}:{port}/p/{i // hosts}", TARGET, "target.bench.test", "added")
        for i in range(links)
    ]
    assert per_host * hosts >= links
    with Store(db) as store:
        store.write(lambda s: insert_candidates(s.con, candidates, datetime.now(UTC)))


def run_monitor(db: str, connections: int, delay: float) -> dict[str, Any]:
    import ipaddress

    from linkback.fetch import GuardPolicy, address_refusal
    from linkback.monitor._run import default_warc_dir, run_checks
    from linkback.store import Store

    def only_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        return None if str(ip) == "127.0.0.1" else address_refusal(ip)

    def resolver(host: str, p: int) -> list[str]:
        if host.endswith(".bench.test"):
            return ["127.0.0.1"]
        raise OSError(f"{host} is not a bench host")

    with Store(db) as store:
        started = time.perf_counter()
        summary = run_checks(
            store,
            policy=GuardPolicy(ports=None, refuse_address=only_loopback),
            resolver=resolver,
            all_links=True,
            connections=connections,
            delay=delay,
            warc_dir=default_warc_dir(store),
        )
        wall = time.perf_counter() - started
    warc_bytes = sum(os.path.getsize(p) for p in summary["warc_files"])
    return {"wall_seconds": wall, "summary": summary, "warc_mb": warc_bytes / 2**20, **_usage()}


def run_httpx(port: int, hosts: int, links: int, connections: int, keepalive: bool) -> dict[str, Any]:
    """The same pages fetched with plain httpx and nothing else: ``connections`` threads, each
    with its own ``httpx.Client`` (a sync client in threads: on this machine httpx's
    ``AsyncClient`` fetched 4-8x fewer pages a second for the same work, so the stronger peer is used)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    urls = [(host_name(i % hosts), f"/p/{i // hosts}") for i in range(links)]
    local = threading.local()
    clients: list[httpx.Client] = []

    def fetch(item: tuple[str, str]) -> int:
        client = getattr(local, "client", None)
        if client is None:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1 if keepalive else 0)
            client = local.client = httpx.Client(limits=limits, timeout=20.0)
            clients.append(client)
        host, path = item
        return client.get(f"http://127.0.0.1:{port}{path}", headers={"Host": f"{host}:{port}"}).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        statuses = list(pool.map(fetch, urls))
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    ok = statuses.count(200)
    return {"wall_seconds": wall, "pages": ok, "failed": len(statuses) - ok, **_usage()}


def child(args: argparse.Namespace) -> None:
    if args.child == "build":
        build_ledger(args.db, args.port, args.hosts, args.links)
        result: dict[str, Any] = {}
    elif args.child == "monitor":
        result = run_monitor(args.db, args.connections, args.delay)
    else:
        result = run_httpx(args.port, args.hosts, args.links, args.connections, keepalive=args.child == "httpx")
    print(json.dumps(result), flush=True)


def _in_child(kind: str, args: argparse.Namespace, db: str, port: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--db", db, "--port", str(port), "--hosts", str(args.hosts),
               "--links", str(args.links), "--connections", str(args.connections), "--delay", str(args.delay)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--links", type=int, default=10_000)
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--delay", type=float, default=1.0, help="seconds between requests to one host")
    ap.add_argument("--quick", action="store_true", help="60 links on 6 hosts, 0.05 s delay")
    ap.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here too")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", choices=("build", "monitor", "httpx", "httpx-new"), help=argparse.SUPPRESS)
    ap.add_argument("--db", default="", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.child:
        child(args)
        return 0
    if args.quick:
        args.links, args.hosts, args.delay = 60, 6, 0.05

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    work.mkdir(parents=True, exist_ok=True)
    db = str(work / "monitor.duckdb")
    for leftover in (Path(db), Path(db + ".wal"), Path(db + ".monitor")):
        shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
    web = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert web.stdout is not None
        port = int(web.stdout.readline())
        print(f"links {args.links:,} on {args.hosts:,} hosts, {args.connections} connections, "
              f"{args.delay:g} s per-host delay; local web on 127.0.0.1:{port}; cores {os.cpu_count()}")  # fmt: skip
        _in_child("build", args, db, port)
        first = _in_child("monitor", args, db, port)
        again = _in_child("monitor", args, db, port)
        raw = _in_child("httpx", args, db, port)
        raw_new = _in_child("httpx-new", args, db, port)
    finally:
        web.terminate()
        web.wait(10)
        if web.stdout is not None:
            web.stdout.close()
    return report(args, first, again, raw, raw_new)


def report(args: argparse.Namespace, first: dict[str, Any], again: dict[str, Any], raw: dict[str, Any],
           raw_new: dict[str, Any]) -> int:  # fmt: skip
    rate = args.links / again["wall_seconds"]
    raw_rate = raw["pages"] / raw["wall_seconds"]
    raw_new_rate = raw_new["pages"] / raw_new["wall_seconds"]
    print()
    for name, run in (("first check", first), ("re-check", again)):
        s = run["summary"]
        print(f"monitor {name}: {s['checked']:,} links in {run['wall_seconds']:.1f} s "
              f"({args.links / run['wall_seconds']:.0f} links/s), {s['fetches']:,} fetches (robots.txt included), "
              f"CPU {run['cpu_seconds']:.1f} s, peak RSS {run['peak_rss_mb']:.0f} MB, WARC {run['warc_mb']:.0f} MB; "
              f"verdicts {s['verdicts']}")  # fmt: skip
    print(f"plain httpx, keep-alive: {raw['pages']:,} pages in {raw['wall_seconds']:.1f} s ({raw_rate:.0f} pages/s), "
          f"CPU {raw['cpu_seconds']:.1f} s")  # fmt: skip
    print(f"plain httpx, a connection per request: {raw_new['pages']:,} pages in {raw_new['wall_seconds']:.1f} s "
          f"({raw_new_rate:.0f} pages/s), CPU {raw_new['cpu_seconds']:.1f} s")  # fmt: skip
    print(f"ratio, monitor re-check / raw fetch: {rate / raw_rate:.2f}x (keep-alive), "
          f"{rate / raw_new_rate:.2f}x (a connection per request)")  # fmt: skip
    met_time = again["wall_seconds"] < GOAL_SECONDS
    met_rss = max(first["peak_rss_mb"], again["peak_rss_mb"]) < GOAL_MB
    print(f"goal: re-check < {GOAL_SECONDS:.0f} s: {'met' if met_time else 'NOT met'}; "
          f"peak RSS < {GOAL_MB:.0f} MB: {'met' if met_rss else 'NOT met'}")  # fmt: skip
    figures = {"links": args.links, "hosts": args.hosts, "connections": args.connections, "delay": args.delay,
               "first": first, "recheck": again, "httpx": raw, "httpx_new_connection": raw_new,
               "ratio_keepalive": rate / raw_rate, "ratio_new_connection": rate / raw_new_rate}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    ok = again["summary"]["checked"] == args.links and again["summary"]["verdicts"] == {"live": args.links}
    if not ok:
        print(f"not every link was checked live: {again['summary']}")
        return 1
    return 1 if args.check and not (met_time and met_rss) else 0


if __name__ == "__main__":
    sys.exit(main())
