"""Hostile pages and requests: linkback's parsers stay linear where a naive one would not.

    python bench/bench_hostile.py [--reps 5] [--quick] [--json FILE]

The tests check what each parser *returns* on these inputs; this measures how long it takes,
because timed assertions do not belong in tests (a loaded CI machine turns them into noise).

Each case is run at size n and 2n. ``growth`` is time(2n) / time(n): about 2 for a linear
parser, 4 for a quadratic one — a regex scanning ``[^>]*`` from every ``<`` of a page without
``>`` shows up here long before it shows up in production. The peer is one selectolax (Lexbor)
parse of the same bytes, the least any HTML work on that input costs; ``x parse`` is linkback's
time over it. Medians of ``--reps`` runs. The peer parses in a child process stopped after
``--peer-limit`` seconds: Lexbor is quadratic on deep nesting (100,000 unclosed ``<div>`` take it
minutes), which is why linkback flattens such pages before parsing them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import dump_json, machine, median, print_table, ratio, repeat  # noqa: E402

from linkback.protocols._discovery import sender_endpoints, webmention_endpoint  # noqa: E402
from linkback.protocols._pingback import discover_endpoint  # noqa: E402
from linkback.protocols._trackback import discover_ping_url, parse_ping, parse_response  # noqa: E402
from linkback.protocols._verify import find_link  # noqa: E402

TARGET = "http://example.com/target/entry"
PAGE = "https://target.example/blog/post"
HTML = [("Content-Type", "text/html")]
FORM = "application/x-www-form-urlencoded"


def _repeat(unit: str, size: int) -> bytes:
    return (unit * (size // len(unit))).encode()


def _trackback_form(size: int) -> bytes:
    return urlencode({"url": "http://sender.example/p/", "excerpt": "<script " * (size // 8)}).encode()


# name -> (build(size) -> input bytes, run(input) -> anything, base size in bytes)
CASES: dict[str, tuple[Callable[[int], bytes], Callable[[bytes], object], int]] = {
    "verify: 100k unclosed <div>": (
        lambda n: _repeat("<div>", n) + f'<p><a href="{TARGET}">x</a></p>'.encode(),
        lambda b: find_link(b, "text/html; charset=utf-8", "http://s.example/x", TARGET),
        500_000,
    ),
    "verify: 1 MB of ordinary links": (
        lambda n: _repeat('<p>Lorem <a href="/x/1">dolor</a> sit <em>amet</em>.</p>\n', n),
        lambda b: find_link(b, "text/html; charset=utf-8", "http://s.example/x", TARGET),
        1_000_000,
    ),
    "webmention discovery: '<a ' without '>'": (
        lambda n: _repeat("<a ", n),
        lambda b: webmention_endpoint(HTML, b, PAGE),
        600_000,
    ),
    "webmention discovery: deep <div><span><p>": (
        lambda n: _repeat("<div><span><p class=x>", n),
        lambda b: webmention_endpoint(HTML, b, PAGE),
        500_000,
    ),
    "sender discovery: '<div title=\"<\">'": (
        lambda n: _repeat('<div title="<">', n),
        lambda b: sender_endpoints(HTML, b, PAGE),
        500_000,
    ),
    'pingback discovery: unclosed <link href="': (
        lambda n: _repeat('<link rel="pingback" href="', n),
        lambda b: discover_endpoint([], b),
        1_000_000,
    ),
    "trackback discovery: '<rdf:Description a='x' '": (
        lambda n: _repeat("<rdf:Description a='x' ", n),
        lambda b: discover_ping_url(b.decode(), "http://x.example/p/1"),
        300_000,
    ),
    "trackback ping: excerpt of '<script '": (
        _trackback_form,
        lambda b: parse_ping(b, FORM, max_bytes=len(b)),
        60_000,
    ),
    "trackback answer: unclosed <message>": (
        lambda n: b"<response><error>1</error>" + _repeat("<message>", n),
        parse_response,
        270_000,
    ),
}


_PEER = """
import sys, time
from selectolax.lexbor import LexborHTMLParser
body = open(sys.argv[1], "rb").read()
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    LexborHTMLParser(body).root
    times.append(time.perf_counter() - t0)
print(sorted(times)[len(times) // 2])
"""


def _peer(body: bytes, reps: int, limit: float) -> float | None:
    """The median of ``reps`` selectolax parses of ``body``, or None past ``limit`` seconds."""
    with tempfile.NamedTemporaryFile(suffix=".html") as f:
        f.write(body)
        f.flush()
        try:
            out = subprocess.run(
                [sys.executable, "-c", _PEER, f.name, str(reps)],
                capture_output=True,
                text=True,
                timeout=limit,
                check=True,
            )
        except subprocess.TimeoutExpired:
            return None
    return float(out.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a tenth of the sizes, one repetition")
    ap.add_argument("--peer-limit", type=float, default=20.0, help="stop the peer's parses after this many s")
    ap.add_argument("--json", help="write the results as JSON (- for stdout)")
    args = ap.parse_args(argv)
    reps = 1 if args.quick else args.reps
    scale = 0.1 if args.quick else 1.0

    rows, results = [], {}
    for name, (build, run, base) in CASES.items():
        size = int(base * scale)
        small, big = build(size), build(2 * size)
        t_small, _ = repeat(lambda run=run, small=small: run(small), reps)
        t_big, _ = repeat(lambda run=run, big=big: run(big), reps)
        peer = _peer(big, reps, args.peer_limit)
        ours = median(t_big)
        growth = ratio(ours, median(t_small))
        results[name] = {"bytes": len(big), "linkback_s": ours, "selectolax_parse_s": peer, "growth_2x": growth}
        peer_cell = peer * 1000 if peer is not None else f"> {args.peer_limit * 1000:,.0f}"
        x_cell = ratio(ours, peer) if peer is not None else f"< {ours / args.peer_limit:.3f}"
        rows.append((name, f"{len(big):,}", ours * 1000, peer_cell, x_cell, growth))

    print_table(["case", "bytes", "linkback ms", "selectolax parse ms", "x parse", "growth (2n/n)"], rows)
    print("growth about 2 is linear; about 4 would be quadratic.")
    dump_json({"machine": machine(), "reps": reps, "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
