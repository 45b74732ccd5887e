"""Request bodies limited while they stream: server RSS under three concurrent 512 MB POSTs.

    python bench/bench_body_limits.py [--mb 512] [--json FILE]

Starts one real ``linkback serve`` process on 127.0.0.1 and, for each limited route
(``/webmention``, ``/xmlrpc``, ``/trackback/KEY``) and each framing (``Content-Length`` declared
up front, and ``Transfer-Encoding: chunked``), sends three concurrent POSTs of ``--mb`` MB each.
A client sends until the server answers or closes the connection, or the whole body is sent.
The server's RSS is sampled from /proc every 5 ms; the table gives its growth over the RSS
before the attack (max sampled - before), what each POST got back and how many bytes each
client managed to send. Goal (issue 13): growth < 20 MB. Before the change one 512 MB POST took
the server from 255 MB to 1.2 GB and three to 2.3 GB. Bounded in time: every socket has a 60 s
timeout and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import dump_json, machine, print_table  # noqa: E402
from bench_webmention import HOST, free_port, start_server, stop_server, tail, wait_ready  # noqa: E402

from linkback.server import trackback_key  # noqa: E402

GOAL_MB = 20.0
ROUTES = {
    "/webmention": "application/x-www-form-urlencoded",
    "/xmlrpc": "text/xml",
    "/trackback/" + trackback_key("http://blog.bench.test/post"): "application/x-www-form-urlencoded",
}
CHUNK = 64 * 1024


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def post(port: int, path: str, content_type: str, size: int, chunked: bool, out: dict) -> None:
    """One huge POST; records the status line it got and the bytes it sent."""
    sent, status = 0, ""
    try:
        with socket.create_connection((HOST, port), timeout=60) as sock:
            framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n".encode()
            )
            block = b"a" * CHUNK
            frame = b"%x\r\n%s\r\n" % (CHUNK, block) if chunked else block
            sock.setblocking(False)
            answer = b""
            while sent < size and not answer:
                try:  # an answer (or a close) stops the sending
                    answer = sock.recv(4096)
                    break
                except BlockingIOError:
                    pass
                try:
                    sock.send(frame)  # a short write only repeats a few bytes of filler
                    sent += CHUNK
                except BlockingIOError:
                    time.sleep(0.001)
            if chunked and sent >= size:
                sock.setblocking(True)
                sock.sendall(b"0\r\n\r\n")
            sock.setblocking(True)
            while b"\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
            status = answer.split(b"\r\n", 1)[0].decode("latin-1") or "closed"
    except OSError as exc:
        status = status or f"{type(exc).__name__}"
    out.update(status=status, sent=sent)


def attack(pid: int, port: int, path: str, content_type: str, size: int, chunked: bool) -> dict:
    before = rss_mb(pid)
    results: list[dict] = [{} for _ in range(3)]
    threads = [
        threading.Thread(target=post, args=(port, path, content_type, size, chunked, r), daemon=True) for r in results
    ]
    peak = before
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_mb(pid))
        time.sleep(0.005)
    seconds = time.perf_counter() - t0
    time.sleep(0.2)
    return {
        "route": path.split("/", 2)[1],
        "framing": "chunked" if chunked else "Content-Length",
        "rss_before_mb": before,
        "growth_mb": max(peak, rss_mb(pid)) - before,
        "statuses": sorted({r["status"] for r in results}),
        "max_sent_mb": max(r["sent"] for r in results) / 2**20,
        "seconds": seconds,
    }


def run(args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="linkback-bench-body-"))
    db, port = workdir / "bench.duckdb", free_port()
    proc = start_server(db, port, workdir / "server.log", None)
    rows = []
    try:
        wait_ready(port, proc)
        print(f"# bench_body_limits: 3 concurrent {args.mb} MB POSTs per route and framing, one `linkback serve`")
        print(f"loadavg {machine().get('loadavg_1m')}; server RSS at start {rss_mb(proc.pid):.0f} MB")
        for path, content_type in ROUTES.items():
            for chunked in (False, True):
                rows.append(attack(proc.pid, port, path, content_type, args.mb * 2**20, chunked))
    except BaseException:
        print(tail(workdir / "server.log"), file=sys.stderr)
        raise
    finally:
        stop_server(proc)
    print_table(
        ["route", "framing", "answers", "sent MB (max)", "RSS before MB", "RSS growth MB", "s"],
        [
            [
                r["route"],
                r["framing"],
                " ".join(r["statuses"]),
                f"{r['max_sent_mb']:.2f}",
                f"{r['rss_before_mb']:.0f}",
                f"{r['growth_mb']:.1f}",
                f"{r['seconds']:.2f}",
            ]
            for r in rows
        ],
    )
    worst = max(r["growth_mb"] for r in rows)
    print(f"\nworst RSS growth {worst:.1f} MB; goal: < {GOAL_MB:.0f} MB: {'met' if worst < GOAL_MB else 'NOT met'}")
    return {"machine": machine(), "mb": args.mb, "rows": rows, "worst_growth_mb": worst}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=512, help="size of each POST body, MB (default 512)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    result = run(args)
    if args.json:
        dump_json(result, args.json)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
