"""Webmention intake: one real ``linkback serve`` process under a bounded load on loopback.

    python bench/bench_webmention.py                    # 20,000 timed requests, 32 connections
    python bench/bench_webmention.py --quick            # 500 requests, for the smoke test
    python bench/bench_webmention.py --profile s.prof   # the server under cProfile (slower!)

The bench makes a fresh database with one site (``linkback site add blog.bench.test``), starts
``python -m linkback serve`` on it in its own process (the private-address guard ON, as in
production) and drives it from a second process: an asyncio client over raw sockets, HTTP/1.1
keep-alive, hand-written ``application/x-www-form-urlencoded`` POSTs to ``/webmention``, C
connections each sending its next request as soon as the previous answer is complete (closed
loop: fixed concurrency, fixed count). Every request is a distinct, valid pair:

* source ``http://10.a.b.c/post/i`` - an IP literal in 10.0.0.0/8, one host per request so the
  per-host rate limit never trips; the job runner tries to verify each mention and the SSRF
  guard refuses it at once (it becomes ``rejected``), which is realistic background work in the
  same process without a single outbound packet;
* target ``https://blog.bench.test/post/{i % 100}``.

The first ``--warmup`` requests are not timed. Latency is per request, from writing it to having
read the whole answer; requests/s is acknowledged (201) answers of the timed phase over its wall
time. After the run the server is stopped (SIGTERM: it drains its writer) and the database is
opened: every acknowledged mention id must be a row (``lost``), and there must be exactly as
many rows as acknowledgements. The server's CPU time (from /proc) per request is printed too: it
is far less disturbed by other load on the machine than the wall-clock figures.

Goals (issue): >= 1,000 acknowledged requests/s, p99 < 50 ms, lost == 0. The bench reports and
exits 0; ``--check`` makes it exit 1 when a goal is missed. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing as mp
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, dump_json, machine, median, percentile, print_table, versions  # noqa: E402

GOAL_RPS, GOAL_P99_MS = 1000.0, 50.0
SITE = "blog.bench.test"
HOST = "127.0.0.1"


# --- the load generator (runs in its own process) ----------------------------------------------


def source_url(i: int) -> str:
    return f"http://10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/post/{i}"


def target_url(i: int) -> str:
    return f"https://{SITE}/post/{i % 100}"


def request_bytes(i: int, port: int) -> bytes:
    body = urlencode({"source": source_url(i), "target": target_url(i)}).encode()
    head = (
        f"POST /webmention HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _phase(port: int, requests: list[bytes], concurrency: int, timeout: float) -> dict:
    """Send ``requests`` over ``concurrency`` keep-alive connections; latencies, statuses, ids."""
    todo = iter(requests)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    ids: list[str] = []
    perf = time.perf_counter

    async def worker() -> None:
        reader = writer = None
        for req in todo:  # one shared iterator: each request is taken by exactly one worker
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                t0 = perf()
                writer.write(req)
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                at = lower.find(b"\r\ncontent-length:")
                if at < 0:
                    raise ValueError("no Content-Length")
                length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
                await reader.readexactly(length)
                latencies.append((perf() - t0) * 1000.0)
                status = head[9:12].decode()
                statuses[status] += 1
                if status == "201":
                    at = lower.find(b"\r\nlocation:")
                    ids.append(head[at : head.index(b"\r\n", at + 2)].rsplit(b"/", 1)[1].decode())
                if b"\r\nconnection: close" in lower:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                statuses[f"error:{type(exc).__name__}"] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    c0, t0 = time.process_time(), perf()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout)
    return {
        "wall_s": perf() - t0,
        "client_cpu_s": time.process_time() - c0,
        "latencies_ms": latencies,
        "statuses": dict(statuses),
        "ids": ids,
    }


def load_generator(conn, port: int, warmup: int, n: int, concurrency: int, timeout: float) -> None:
    """Child process: warm-up phase, tell the parent, wait for "go", timed phase, send results."""
    try:
        import uvloop  # the client must not be the bottleneck on 2 cores

        new_loop = uvloop.new_event_loop
    except ImportError:
        new_loop = asyncio.new_event_loop
    try:
        reqs = [request_bytes(i, port) for i in range(1, warmup + n + 1)]
        loop = new_loop()
        warm = loop.run_until_complete(_phase(port, reqs[:warmup], concurrency, timeout)) if warmup else None
        conn.send(("warm", warm))
        conn.recv()  # go
        timed = loop.run_until_complete(_phase(port, reqs[warmup:], concurrency, timeout))
        conn.send(("timed", timed))
        loop.close()
    except BaseException as exc:  # noqa: BLE001 - the parent reports it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc; NaN where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", "/webmention")
            ok = c.getresponse().status == 200
            c.close()
            if ok:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


def start_server(db: Path, port: int, log_path: Path, profile: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "LINKBACK_ALLOW_PRIVATE"}  # the guard stays ON
    env["LINKBACK_ADMIN_TOKEN"] = secrets.token_urlsafe(16)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable]
    if profile:
        cmd += ["-m", "cProfile", "-o", str(Path(profile).resolve())]
    cmd += ["-m", "linkback", "serve", "--host", HOST, "--port", str(port), "--db", str(db)]
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, cwd=db.parent, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_server(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 120.0) -> float:
    """SIGTERM (uvicorn shuts down gracefully: the writer drains); seconds it took to exit.

    uvicorn re-raises the signal once it has shut down, so under cProfile the bench sends SIGINT:
    its KeyboardInterrupt still lets cProfile write the stats, SIGTERM's default action would not."""
    t0 = time.perf_counter()
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return time.perf_counter() - t0


def stored(db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        received = dict(con.execute("SELECT status_token, received_at FROM mentions").fetchall())
        by_status = dict(con.execute("SELECT status, count(*) FROM mentions GROUP BY status ORDER BY 1").fetchall())
    finally:
        con.close()
    return {"ids": set(received), "received_at": received, "by_status": by_status}


def group_commits(received_at: dict, ids: list[str]) -> int:
    """Transactions that stored these mentions: the writer stamps one group with one ``now``."""
    return len({received_at[i] for i in ids if i in received_at})


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- the run -----------------------------------------------------------------------------------


def run(args) -> dict:
    if args.quick:
        args.requests = args.requests or 500
        args.warmup = 100 if args.warmup is None else args.warmup
    n = args.requests or 20_000
    warmup = 500 if args.warmup is None else args.warmup
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="linkback-bench-wm-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.duckdb"
    for p in (db, Path(f"{db}.wal"), Path(f"{db}.server.json")):
        p.unlink(missing_ok=True)
    log_path = workdir / "server.log"
    port = args.port or free_port()
    print(
        f"# bench_webmention: {n:,} timed requests (+{warmup:,} warm-up) over {args.concurrency} connections "
        f"to one `linkback serve` on {HOST}:{port}, db {db}"
    )
    print(
        f"loadavg {machine().get('loadavg_1m')}"
        + (f"; server under cProfile -> {args.profile}" if args.profile else "")
    )

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    subprocess.run(
        [sys.executable, "-m", "linkback", "site", "add", SITE, "--db", str(db)],
        check=True,
        capture_output=True,
        env=env,
        cwd=workdir,
    )
    proc = start_server(db, port, log_path, args.profile)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    gen = None
    try:
        wait_ready(port, proc)
        gen = ctx.Process(
            target=load_generator, args=(child, port, warmup, n, args.concurrency, args.timeout), daemon=True
        )
        gen.start()
        child.close()  # so that a load generator dying without a word is an EOFError here, not a hang
        kind, warm = parent.recv()
        if kind == "error":
            raise RuntimeError(f"load generator: {warm}")
        cpu0 = cpu_seconds(proc.pid)
        parent.send("go")
        kind, timed = parent.recv()
        cpu1 = cpu_seconds(proc.pid)
        if kind == "error":
            raise RuntimeError(f"load generator: {timed}")
        gen.join(10)
    except BaseException:
        print(tail(log_path), file=sys.stderr)
        raise
    finally:
        if gen is not None and gen.is_alive():
            gen.kill()
        stop_s = stop_server(proc, signal.SIGINT if args.profile else signal.SIGTERM)
    if proc.returncode not in (0, 1, -signal.SIGTERM, -signal.SIGINT):
        print(f"server exited with {proc.returncode}:\n{tail(log_path)}", file=sys.stderr)

    # --- figures -----------------------------------------------------------------------------
    lat = timed["latencies_ms"]
    wall = timed["wall_s"]
    ok = timed["statuses"].get("201", 0)
    rps = ok / wall if wall else 0.0
    p50, p90, p99 = median(lat), percentile(lat, 90), percentile(lat, 99)
    worst = max(lat) if lat else float("nan")
    server_cpu = cpu1 - cpu0
    acked = set(timed["ids"]) | set((warm or {}).get("ids", ()))
    acked_n = len(timed["ids"]) + len((warm or {}).get("ids", ()))
    rows_in = stored(db)
    lost = len(acked - rows_in["ids"])
    mismatch = len(rows_in["ids"]) - acked_n  # every request is a new pair: rows == acknowledgements
    groups = group_commits(rows_in["received_at"], timed["ids"])
    others = {k: v for k, v in timed["statuses"].items() if k != "201"}
    sent = sum(timed["statuses"].values())
    warm_others = {k: v for k, v in ((warm or {}).get("statuses") or {}).items() if k != "201"}

    print()
    print_table(
        ["figure", "value", "goal", ""],
        [
            [
                "acknowledged requests/s (201)",
                f"{rps:,.0f}",
                f">= {GOAL_RPS:,.0f}",
                "met" if rps >= GOAL_RPS else "NOT met",
            ],
            ["latency p50 ms", f"{p50:.1f}", "", ""],
            ["latency p90 ms", f"{p90:.1f}", "", ""],
            ["latency p99 ms", f"{p99:.1f}", f"< {GOAL_P99_MS:g}", "met" if p99 < GOAL_P99_MS else "NOT met"],
            ["latency max ms", f"{worst:.1f}", "", ""],
            ["timed requests: sent / 201 / other", f"{sent:,} / {ok:,} / {sent - ok:,}", "", ""],
            ["wall s (timed phase)", f"{wall:.2f}", "", ""],
            ["group commits / requests per commit", f"{groups:,} / {ok / max(1, groups):.1f}", "", "from received_at"],
            ["server CPU ms per request", f"{server_cpu * 1000 / max(1, len(lat)):.3f}", "", "all threads, /proc"],
            ["load generator CPU ms per request", f"{timed['client_cpu_s'] * 1000 / max(1, len(lat)):.3f}", "", ""],
            [
                "acknowledged (incl. warm-up) / rows stored",
                f"{acked_n:,} / {len(rows_in['ids']):,}",
                "equal",
                "met" if mismatch == 0 else "NOT met",
            ],
            ["lost", f"{lost}", "0", "met" if lost == 0 else "NOT met"],
        ],
    )
    print(f"lost: {lost}")
    if others or warm_others:
        print(f"non-201 answers: timed {others or '-'}, warm-up {warm_others or '-'}")
    print(
        "rows by status after the run: "
        + ", ".join(f"{k} {v:,}" for k, v in rows_in["by_status"].items())
        + f" (rejected = already verified by the job runner in the background); server stop {stop_s:.1f} s"
    )
    goals = {"rps": rps >= GOAL_RPS, "p99": p99 < GOAL_P99_MS, "lost": lost == 0 and mismatch == 0}
    print(
        f"goal: >= {GOAL_RPS:,.0f} req/s ({'met' if goals['rps'] else 'NOT met'}), "
        f"p99 < {GOAL_P99_MS:g} ms ({'met' if goals['p99'] else 'NOT met'}), "
        f"lost 0 ({'met' if goals['lost'] else 'NOT met'}); loadavg now {machine().get('loadavg_1m')}"
    )
    if args.profile:
        show_profile(args.profile, args.profile_top)
    if not args.workdir and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "machine": machine(),
        "versions": versions("duckdb", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "linkback"),
        "requests": n,
        "warmup": warmup,
        "concurrency": args.concurrency,
        "profiled": bool(args.profile),
        "rps": rps,
        "p50_ms": p50,
        "p90_ms": p90,
        "p99_ms": p99,
        "max_ms": worst,
        "wall_s": wall,
        "statuses": timed["statuses"],
        "warmup_statuses": (warm or {}).get("statuses"),
        "server_cpu_ms_per_request": server_cpu * 1000 / max(1, len(lat)),
        "client_cpu_ms_per_request": timed["client_cpu_s"] * 1000 / max(1, len(lat)),
        "acknowledged": acked_n,
        "rows": len(rows_in["ids"]),
        "rows_by_status": rows_in["by_status"],
        "lost": lost,
        "group_commits": groups,
        "goals_met": goals,
    }


def show_profile(path: str, top: int) -> None:
    import pstats

    if not Path(path).exists():
        print(f"no profile written to {path}")
        return
    print(f"\n## server profile (main thread: the event loop), top {top} by own time")
    stats = pstats.Stats(path, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    print(f"## top {top} by cumulative time")
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--requests", "-n", type=int, default=None, help="timed requests (default 20,000; 500 with --quick)"
    )
    ap.add_argument("--warmup", type=int, default=None, help="untimed requests first (default 500; 100 with --quick)")
    ap.add_argument("--concurrency", "-c", type=int, default=32, help="connections, each one request at a time")
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    ap.add_argument("--workdir", default=None, help="keep the database and server log here (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--timeout", type=float, default=600.0, help="give up on a phase after this many seconds")
    ap.add_argument("--profile", default=None, help="run the server under cProfile, write the stats to FILE")
    ap.add_argument("--profile-top", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="500 requests, for the smoke test")
    ap.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    ap.add_argument("--json", default=None, help="write results as JSON to FILE ('-' = stdout)")
    args = ap.parse_args(argv)
    result = run(args)
    dump_json(result, args.json)
    return 1 if args.check and not all(result["goals_met"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
