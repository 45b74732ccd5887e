"""A slow source cannot stall the server: public routes' latency while 200 Pingbacks drip.

    python bench/bench_slow_sources.py [--pings 200] [--seconds 15] [--code DIR] [--json FILE]

Starts, all on 127.0.0.1 and bounded in time:

* a "drip" source server (asyncio, in this process): every page answers its headers at once,
  then one byte a second (``/fast`` answers 404 at once);
* the linkback server in its own process (uvicorn, the private-address guard relaxed for the
  loopback sources, ``*.test`` names resolved to 127.0.0.1 so that each source has its own host);
* a prober that calls ``GET /api/count``, ``GET /api/mentions`` and ``POST /webmention`` in turn,
  one request at a time, first for 3 s on a quiet server, then for ``--seconds`` while
  ``--pings`` Pingbacks whose sources drip are fired at once.

It prints each route's p50/p99/max latency, quiet and under attack, and what the Pingbacks got
back and when. Goal (issue 13): p99 < 100 ms under attack. ``--code DIR`` runs the server from
another checkout (e.g. the code before the change, for a side-by-side). Before the change,
``GET /api/count`` took 40 s during this attack.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, dump_json, machine, percentile, print_table  # noqa: E402

HOST = "127.0.0.1"
SITE = "blog.bench.test"
TARGET = f"http://{SITE}/post"
GOAL_P99_MS = 100.0
PING = (
    "<?xml version='1.0'?><methodCall><methodName>pingback.ping</methodName><params>"
    "<param><value><string>{source}</string></value></param>"
    "<param><value><string>{target}</string></value></param></params></methodCall>"
)


# --- the drip source server (this process) -----------------------------------------------------


class DripServer:
    """Pages that drip one byte a second, on 127.0.0.1; ``/fast`` answers 404 at once."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.connections = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="drip", daemon=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if b" /fast" in head.split(b"\r\n", 1)[0]:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<")
            while self._stop is not None and not self._stop.is_set():
                await writer.drain()
                try:  # a byte a second, until the bench stops
                    await asyncio.wait_for(self._stop.wait(), 1.0)
                except TimeoutError:
                    writer.write(b"p")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, HOST, 0, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            await asyncio.sleep(0.2)  # the handlers see the stop and close their connections

    def _run(self) -> None:
        self.loop.run_until_complete(self._serve())

    def start(self) -> DripServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


# --- the linkback server (its own process) -------------------------------------------------------


def child(db: str, port: int, code: str) -> None:
    """Run the linkback server until stdin closes (``--child``)."""
    sys.path.insert(0, code)
    from linkback import mentions  # noqa: PLC0415 - from the checkout chosen above
    from linkback.server import ServerThread, Settings  # noqa: PLC0415
    from linkback.store import Store  # noqa: PLC0415

    def resolver(host: str, _port: int) -> list[str]:
        if host.endswith(".test") or host == HOST:
            return [HOST]
        raise OSError(f"{host} does not resolve in this bench")

    with Store(db) as store:
        mentions.add_site(store.con, SITE, policy="auto")
    server = ServerThread(
        Settings(db=db, allow_private=True, admin_token="bench-token", resolver=resolver), port=port
    )
    server.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the bench closes it
    server.stop()


def start_child(db: Path, port: int, code: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(db), str(port), "--code", str(code)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=out,
            env=env,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "ready", or nothing when it died
    if line.strip() != b"ready":
        raise RuntimeError(f"the server did not start:\n{log.read_text()[-3000:]}")
    return proc


def stop_child(proc: subprocess.Popen) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- load: the prober and the pings ----------------------------------------------------------


def probe(base: str, drip_port: int, seconds: float, out: dict[str, list[float]]) -> None:
    """Public routes in turn, one request at a time, for ``seconds``: latencies in ms by route."""
    import httpx  # noqa: PLC0415

    calls = [
        ("GET /api/count", lambda c, i: c.get("/api/count", params={"target": TARGET})),
        ("GET /api/mentions", lambda c, i: c.get("/api/mentions", params={"target": TARGET})),
        (
            "POST /webmention",
            lambda c, i: c.post(
                "/webmention", data={"source": f"http://probe{i}.test:{drip_port}/fast", "target": TARGET}
            ),
        ),
    ]
    end, i = time.perf_counter() + seconds, 0
    with httpx.Client(base_url=base, timeout=60) as client:
        while time.perf_counter() < end:
            name, call = calls[i % len(calls)]
            t0 = time.perf_counter()
            response = call(client, f"{os.getpid()}-{i}-{time.monotonic_ns()}")
            out.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
            if response.status_code >= 500:
                raise RuntimeError(f"{name}: {response.status_code}")
            i += 1
            time.sleep(0.01)


def fire_pings(base: str, sources: list[str], conn) -> None:  # noqa: ANN001 - a Pipe end
    """In its own process (the prober's timings must not share a GIL with 200 clients): every
    ping at once, then (answer, seconds) for each back through ``conn``."""
    import httpx  # noqa: PLC0415

    async def one(client: httpx.AsyncClient, source: str) -> tuple[str, float]:
        t0 = time.perf_counter()
        try:
            r = await client.post("/xmlrpc", content=PING.format(source=source, target=TARGET))
            text = r.text
            if "faultCode" in text:
                code = text.split("<int>", 1)[1].split("</int>", 1)[0] if "<int>" in text else "?"
                answer = f"fault {int(code):#x}" if code.lstrip("-").isdigit() else "fault ?"
            else:
                answer = f"HTTP {r.status_code} ok"
        except httpx.HTTPError as exc:
            answer = type(exc).__name__
        return answer, time.perf_counter() - t0

    async def all_pings() -> list[tuple[str, float]]:
        limits = httpx.Limits(max_connections=len(sources))
        headers = {"Content-Type": "text/xml"}
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=90, headers=headers) as client:
            return list(await asyncio.gather(*(one(client, s) for s in sources)))

    conn.send(asyncio.run(all_pings()))


def run(args: argparse.Namespace) -> dict:
    import socket  # noqa: PLC0415

    workdir = Path(tempfile.mkdtemp(prefix="linkback-bench-slow-"))
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    base = f"http://{HOST}:{port}"
    code = Path(args.code).resolve()
    print(
        f"# bench_slow_sources: {args.pings} Pingbacks whose sources drip 1 byte/s, public routes probed "
        f"for {args.seconds:g} s; server code {code}"
    )
    print(f"loadavg {machine().get('loadavg_1m')}")
    drip = DripServer().start()
    proc = start_child(workdir / "bench.duckdb", port, code, workdir / "server.log")
    quiet: dict[str, list[float]] = {}
    attacked: dict[str, list[float]] = {}
    answers: list[tuple[str, float]] = []
    try:
        probe(base, drip.port, 3.0, quiet)
        sources = [f"http://drip{i}.test:{drip.port}/post/{i}" for i in range(args.pings)]
        ctx = mp.get_context("spawn")
        parent, kid = ctx.Pipe()
        pinger = ctx.Process(target=fire_pings, args=(base, sources, kid), daemon=True)
        pinger.start()
        probe(base, drip.port, args.seconds, attacked)
        drip.stop()  # what still drips now fails at once, so everything ends soon
        if parent.poll(120):
            answers = parent.recv()
        pinger.join(10)
        if pinger.is_alive():
            pinger.kill()
    finally:
        drip.stop()
        stop_child(proc)
    rows = []
    for name in quiet:
        q, a = quiet[name], attacked.get(name, [])
        rows.append([name, len(a), f"{percentile(q, 50):.1f}", f"{percentile(q, 99):.1f}",
                     f"{percentile(a, 50):.1f}", f"{percentile(a, 99):.1f}", f"{max(a):.1f}"])  # fmt: skip
    print_table(["route", "n (attack)", "quiet p50 ms", "quiet p99 ms", "attack p50 ms", "attack p99 ms", "max ms"], rows)
    times = [t for _, t in answers] or [float("nan")]
    counts = Counter(a for a, _ in answers)
    print(
        f"\nPingbacks: {dict(counts)}; answered in p50 {percentile(times, 50):.2f} s, "
        f"p99 {percentile(times, 99):.2f} s, max {max(times):.2f} s"
    )
    worst = max(percentile(v, 99) for v in attacked.values())
    print(f"worst p99 under attack {worst:.1f} ms; goal: < {GOAL_P99_MS:.0f} ms: {'met' if worst < GOAL_P99_MS else 'NOT met'}")
    return {
        "machine": machine(),
        "pings": args.pings,
        "seconds": args.seconds,
        "code": str(code),
        "routes": {
            name: {
                "quiet_p50_ms": percentile(quiet[name], 50),
                "quiet_p99_ms": percentile(quiet[name], 99),
                "attack_p50_ms": percentile(attacked.get(name, []), 50),
                "attack_p99_ms": percentile(attacked.get(name, []), 99),
                "attack_n": len(attacked.get(name, [])),
            }
            for name in quiet
        },
        "pingbacks": dict(counts),
        "pingback_answer_p99_s": percentile(times, 99),
        "worst_attack_p99_ms": worst,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pings", type=int, default=200, help="Pingbacks fired at once (default 200)")
    ap.add_argument("--seconds", type=float, default=15.0, help="how long the routes are probed under attack")
    ap.add_argument("--code", default=str(ROOT), help="checkout whose linkback the server runs (default: this one)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--child", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args.code)
        return 0
    dump_json(run(args), args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
