"""Dashboard server time on the generated 50 M-link index, beside the report functions each page calls.

    python bench/bench_dashboard.py --db /tmp/lbbench/links-50m.duckdb   # 50 M links / 5 M domains
    python bench/bench_dashboard.py --quick                             # 200 k links, a few seconds

The app is ``linkback.server.create_app(Settings(...))`` in-process, driven by Starlette's
TestClient and signed in with the admin token. Server time is taken by an ASGI wrapper around the
app: from the request's arrival to the hand-over of its last body byte. While a page is served,
every registered report function it calls (top-level calls only) is recorded with its arguments;
the peer replays exactly those calls on the same store, in the same thread layout a request has
(a cursor of the server's connection), right before or after the page (alternating). So the
ratio page / calls is what routing, sessions, templates and the page's own Python cost on top
of the reports, whatever the page calls today.

Measured (issue 14, "Performance"):

* overview and backlinks table page of ~50 domains with 300-700 links, several passes; before
  each pass a write through the server (a site added and removed through its forms), so a cache
  keyed on the store's write generation is cold, then the overview again at once (cached);
* overview of the most linked domain: first request after start, again (cached), and after a
  write (cold again), with the time of each report call;
* the backlinks table of that domain at page 1 and ~200 pages deep, following the "Next" links,
  when ``linkback.reports.backlinks`` takes ``after`` (keyset pagination); skipped, saying why,
  before;
* bytes of the overview's first load (page, styles, scripts, fonts) with ``Accept-Encoding:
  gzip``, as the server sends them and as Starlette's GZipMiddleware would.

The index is copied once to ``<stem>.dashboard.duckdb`` (the bench writes: the rank run the
overview's DR bands and toxic share need, and the site it adds and removes). Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gzip
import inspect
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Timer,
    dump_json,
    fmt,
    machine,
    median,
    now,
    peak_rss_mb,
    percentile,
    print_table,
    versions,
)
from bench_queries import pick_targets  # noqa: E402
from gen_index import ensure_index, file_mb, gen_meta  # noqa: E402

from linkback.store import Store  # noqa: E402

TOKEN = "bench-dashboard-token"
#: Where the TestClient's requests go (its default base URL).
ORIGIN = "http://testserver"
#: The site added and removed through the server's forms: a write that leaves the index as it was.
WRITE_SITE = "bench-dashboard-write.example"
GOALS = {  # issue 14: milliseconds, the page / calls ratio, kilobytes
    "overview_p50": 150.0,
    "overview_p99": 400.0,
    "backlinks_p50": 50.0,
    "overhead": 1.2,
    "top_cold": 2000.0,
    "top_cached": 100.0,
    "first_load_kb": 150.0,
}


# --- what the pages call ---------------------------------------------------------------------------


@dataclasses.dataclass
class Call:
    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    @property
    def label(self) -> str:
        """The function and its keyword arguments (the target left out): ``anchors(limit=10)``."""
        return f"{self.name}({', '.join(f'{k}={_shown(v)}' for k, v in self.kwargs.items())})"


def _shown(value: Any) -> str:
    """An argument as a call's label shows it: the referring domains read once for the overview
    (``refdomain_table``'s Arrow rows) by the name of what read them."""
    return "refdomain_table(…)" if type(value).__name__ == "RefdomainTable" else repr(value)


def unregistered_reports() -> dict[str, Callable[..., Any]]:
    """The report functions pages call that are not faces: the overview page's
    ``overview_breakdown`` (``overview()`` without the distinct pages and hosts it does not show),
    ``anchor_mix`` (the top anchors and the links per anchor class, from anchors grouped by
    anchor alone), and ``refdomain_table`` (the target's referring domains, read once) with
    ``categories_of`` and ``tlds_of`` (``categories`` and ``tlds`` counted from that table; the
    breakdown takes it as ``refdomains=``)."""
    from linkback.categories._reports import categories_of
    from linkback.reports._groups import anchor_mix, tlds_of
    from linkback.reports._overview import overview_breakdown, refdomain_table

    return {
        "overview_breakdown": overview_breakdown,
        "anchor_mix": anchor_mix,
        "refdomain_table": refdomain_table,
        "categories_of": categories_of,
        "tlds_of": tlds_of,
    }


class CallRecorder:
    """Wraps every registered report function wherever linkback code can reach it (module
    globals, ``linkback.faces.FACES``) and records the top-level calls made while ``active``."""

    def __init__(self) -> None:
        self.active = False
        self.calls: list[Call] = []
        self._depth = threading.local()
        self._undo: list[Callable[[], None]] = []

    def _wrap(self, name: str, raw: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(store: Any, *args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._depth, "n", 0)
            if self.active and depth == 0:
                self.calls.append(Call(name, raw, args, kwargs))
            self._depth.n = depth + 1
            try:
                return raw(store, *args, **kwargs)
            finally:
                self._depth.n = depth

        recorded.__wrapped__ = raw  # type: ignore[attr-defined]
        recorded.__signature__ = inspect.signature(raw)  # type: ignore[attr-defined]
        return recorded

    def install(self) -> None:
        from linkback.faces import FACES

        raw_of = {id(f.fn): (name, f.fn) for name, f in FACES.items() if f.kind == "report"}
        # Report functions a page calls that have no face of their own: recorded as well, so that
        # the page is measured beside what it really calls.
        raw_of.update({id(fn): (name, fn) for name, fn in unregistered_reports().items()})
        for name, face in list(FACES.items()):
            if face.kind == "report":
                FACES[name] = dataclasses.replace(face, fn=self._wrap(name, face.fn))
                self._undo.append(functools.partial(FACES.__setitem__, name, face))
        for modname, module in list(sys.modules.items()):
            if not modname.startswith("linkback") or module is None:
                continue
            for attr, value in list(vars(module).items()):
                hit = raw_of.get(id(getattr(value, "__wrapped__", value))) if callable(value) else None
                if hit:
                    setattr(module, attr, self._wrap(*hit))
                    self._undo.append(functools.partial(setattr, module, attr, value))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def take(self, fn: Callable[[], Any]) -> tuple[Any, list[Call]]:
        """``fn()`` with recording on; its result and the report calls it made."""
        self.calls, self.active = [], True
        try:
            return fn(), self.calls
        finally:
            self.active = False


def replay(store: Store, calls: list[Call], per_call: dict[str, list[float]] | None = None) -> float:
    """Run the recorded calls directly on ``store``; total ms (each call's ms into ``per_call``).

    They run inside ``reports.shared_reads`` where it exists, as the overview page runs them:
    there the trend and growth reports read a target's changes once, not once per call."""
    from linkback import reports

    shared = getattr(reports, "shared_reads", None)
    total = 0.0
    with shared(store) if shared is not None else contextlib.nullcontext():
        for call in calls:
            t0 = now()
            call.fn(store, *call.args, **call.kwargs)
            ms = (now() - t0) * 1000
            total += ms
            if per_call is not None:
                per_call.setdefault(call.label, []).append(ms)
    return total


# --- the server ------------------------------------------------------------------------------------


class ServerClock:
    """ASGI wrapper timing each request: arrival to the hand-over of the last body byte.

    A request with the header ``x-bench-gzip`` goes through Starlette's GZipMiddleware first:
    what the server would send with it."""

    def __init__(self, app: Any) -> None:
        from starlette.middleware.gzip import GZipMiddleware

        self.app, self.gzipped = app, GZipMiddleware(app)
        self.last_ms = float("nan")
        #: The process's CPU time over the same span (every thread: the overview's lanes too). On
        #: a machine shared with others it says what the request cost where wall time cannot.
        self.last_cpu_ms = float("nan")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0, cpu0 = now(), time.process_time()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ms = (now() - t0) * 1000
                self.last_cpu_ms = (time.process_time() - cpu0) * 1000
            await send(message)

        app = self.gzipped if any(k == b"x-bench-gzip" for k, _ in scope["headers"]) else self.app
        await app(scope, receive, timed_send)


class Dashboard:
    """The signed-in TestClient, the server's state and the recorder."""

    def __init__(self, client: Any, app: Any, clock: ServerClock, recorder: CallRecorder) -> None:
        self.client, self.app, self.clock, self.recorder = client, app, clock, recorder
        r = client.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
        if r.status_code != 303:
            raise RuntimeError(f"sign-in failed: {r.status_code}")
        match = re.search(r'name="csrf" value="([^"]+)"', client.get("/jobs").text)
        if not match:
            raise RuntimeError("no CSRF token on /jobs")
        self.csrf = match.group(1)

    @property
    def store(self) -> Store:
        """A store lent as to a request: this thread's cursor of the server's connection."""
        return self.app.state.linkback.request_store()

    def get(self, url: str) -> tuple[float, list[Call], Any]:
        """Server ms, the report calls made, the response."""
        response, calls = self.recorder.take(lambda: self.client.get(url))
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:300]}")
        return self.clock.last_ms, calls, response

    def write(self) -> float:
        """One write through the server's write path (a site added, then removed); server ms."""
        total = 0.0
        for route in ("/do/site", "/do/site/remove"):
            r = self.client.post(
                route, data={"csrf": self.csrf, "site": WRITE_SITE, "policy": "auto"}, follow_redirects=False
            )
            if r.status_code != 303:
                raise RuntimeError(f"POST {route}: {r.status_code} {r.text[:300]}")
            total += self.clock.last_ms
        return total


def overview_url(domain: str) -> str:
    return "/overview?" + urlencode({"target": domain})


def backlinks_url(domain: str) -> str:
    return "/reports/backlinks?" + urlencode({"target": domain})


# --- the measurements ------------------------------------------------------------------------------


def side_by_side(
    dash: Dashboard, url: str, known: list[Call], peer_first: bool, per_call: dict[str, list[float]] | None = None
) -> tuple[float, float, list[Call]]:
    """Server ms of ``url``, ms of the report calls it makes run directly, and those calls.

    With ``peer_first`` the calls run first, replaying ``known`` (what the page called last time),
    so that neither side always finds the blocks the other just read in DuckDB's cache."""
    peer = replay(dash.store, known, per_call) if peer_first else 0.0
    ms, calls, _ = dash.get(url)
    if not peer_first:
        peer = replay(dash.store, calls or known, per_call)  # a page served from a cache calls nothing
    return ms, peer, calls


def measure_targets(dash: Dashboard, targets: list[tuple[str, str, int]], passes: int) -> dict[str, Any]:
    """Overview (after a write, then again at once) and backlinks page of each target, each beside
    the report calls it makes; the calls run first every other time."""
    names = ("overview", "overview_calls", "overview_cached", "backlinks", "backlinks_calls", "write")
    s: dict[str, list[float]] = {k: [] for k in names}
    ncalls: dict[str, list[int]] = {"overview": [], "overview_cached": [], "backlinks": []}
    per_call: dict[str, list[float]] = {}
    known: dict[str, list[Call]] = {}
    for d, _, _ in targets:  # warm-up (DuckDB's buffers, the templates), untimed
        for url in (overview_url(d), backlinks_url(d)):
            known[url] = dash.get(url)[1]
    for p in range(passes):
        t0 = now()
        s["write"].append(dash.write())  # a cache keyed on the write generation is cold now
        for i, (d, _, _) in enumerate(targets):
            for kind, url in (("overview", overview_url(d)), ("backlinks", backlinks_url(d))):
                breakdown = per_call if kind == "overview" else None
                ms, peer, calls = side_by_side(dash, url, known[url], (p + i) % 2 == 1, breakdown)
                known[url] = calls or known[url]
                s[kind].append(ms)
                s[kind + "_calls"].append(peer)
                ncalls[kind].append(len(calls))
                if kind == "overview":
                    ms, calls, _ = dash.get(url)
                    s["overview_cached"].append(ms)
                    ncalls["overview_cached"].append(len(calls))
        print(f"  pass {p + 1}/{passes} over {len(targets)} domains: {now() - t0:.0f} s", flush=True)
    return {"samples": s, "per_call": per_call, "calls": ncalls}


def measure_top(dash: Dashboard, domain: str, reps: int, cached_reps: int) -> dict[str, Any]:
    """The most linked domain's overview: first request, cached, and cold again after each write."""
    url = overview_url(domain)
    first_ms, first_calls, _ = dash.get(url)
    cpu = {"first": dash.clock.last_cpu_ms, "cold": []}
    log = [
        f"top domain, first request after start: {fmt(first_ms)} ms (CPU {fmt(cpu['first'])} ms), "
        f"{_how(len(first_calls))}"
    ]
    cold: list[float] = []
    peer: list[float] = []
    cached: list[float] = []
    ncalls: dict[str, list[int]] = {"cold": [], "cached": []}
    per_call: dict[str, list[float]] = {}
    known = first_calls

    def again() -> None:
        for _ in range(cached_reps):
            ms, calls, _ = dash.get(url)
            cached.append(ms)
            ncalls["cached"].append(len(calls))
        hows = dict.fromkeys(_how(n) for n in ncalls["cached"][-cached_reps:])
        log.append(
            f"  then again x{cached_reps}: {', '.join(fmt(x) for x in cached[-cached_reps:])} ms, " + "; ".join(hows)
        )

    again()
    for rep in range(reps):
        write_ms = dash.write()
        ms, calls_ms, calls = side_by_side(dash, url, known, rep % 2 == 1, per_call)
        cpu["cold"].append(dash.clock.last_cpu_ms)  # the replayed calls run outside the request
        known = calls or known
        cold.append(ms)
        peer.append(calls_ms)
        ncalls["cold"].append(len(calls))
        log.append(
            f"a write (a site added and removed through /do/site, {fmt(write_ms)} ms), then: "
            f"{fmt(ms)} ms (CPU {fmt(cpu['cold'][-1])} ms), {_how(len(calls))}; those calls alone {fmt(calls_ms)} ms"
        )
        again()
    return {
        "first_ms": first_ms,
        "first_cpu_ms": cpu["first"],
        "cold_cpu_ms": cpu["cold"],
        "first_calls": len(first_calls),
        "cold": cold,
        "calls": peer,
        "cached": cached,
        "ncalls": ncalls,
        "per_call": per_call,
        "log": log,
    }


def _how(calls: int) -> str:
    return f"computed ({calls} report calls)" if calls else "from a cache (no report call)"


#: ``<link rel=...>`` a browser fetches as it loads the page.
_FETCHED_LINKS = ("stylesheet", "preload", "modulepreload", "icon")


class _Links(HTMLParser):
    """The page's ``<a>`` (href, rel, text) and subresources (``link href``, ``script/img src``)."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str]] = []
        self.resources: list[str] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self._open = {"href": a["href"], "rel": a.get("rel", ""), "text": ""}
            self.anchors.append(self._open)
        elif tag == "link" and a.get("href") and a.get("rel", "").lower() in _FETCHED_LINKS:
            self.resources.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.resources.append(a["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data


def parse_page(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def next_link(html: str) -> str | None:
    """The href of the page's "Next" link (``rel="next"``, else a link whose text says Next)."""
    anchors = parse_page(html).anchors
    for a in anchors:
        if "next" in a["rel"].lower().split():
            return a["href"]
    for a in anchors:
        if re.match(r"\W*next\b", a["text"].strip(), re.IGNORECASE):
            return a["href"]
    return None


def measure_deep(dash: Dashboard, domain: str, depth: int, reps: int) -> dict[str, Any]:
    """The top domain's backlinks page 1 and ``depth`` pages in, following the Next links."""
    from linkback import reports

    if "after" not in inspect.signature(reports.backlinks).parameters:
        return {
            "skipped": "linkback.reports.backlinks has no `after` parameter yet (keyset pagination "
            "has not landed), so the table pages have no Next link to follow"
        }
    url, walk = backlinks_url(domain), []
    urls = [url]
    for n in range(1, depth + 1):
        ms, calls, r = dash.get(url)
        walk.append(ms)
        href = next_link(r.text)
        if href is None:
            if n < depth:
                return {"skipped": f"no Next link on page {n} of {backlinks_url(domain)}", "walk": walk}
            break
        url = urljoin(ORIGIN + urls[-1], href).removeprefix(ORIGIN)
        urls.append(url)
    # Page 1 and the deepest page again, each after a write (so uncached), beside their calls.
    out: dict[str, Any] = {"walk": walk, "depth": len(walk), "deep_url": urls[len(walk) - 1]}
    for label, u in (("page1", urls[0]), ("deep", urls[len(walk) - 1])):
        pages, peers, ncalls = [], [], []
        for _ in range(reps):
            dash.write()
            ms, calls, _ = dash.get(u)
            pages.append(ms)
            ncalls.append(len(calls))
            peers.append(replay(dash.store, calls))
        out[label] = {"page": pages, "calls": peers, "ncalls": ncalls}
    # Without a cursor, page N would mean reading the first N x 100 rows: what that costs.
    rows = len(walk) * 100
    offset = [
        replay(dash.store, [Call("backlinks", reports.backlinks, (domain,), {"limit": rows})]) for _ in range(reps)
    ]
    out["offset_equivalent"] = {"rows": rows, "calls": offset}
    return out


def measure_first_load(dash: Dashboard, domain: str) -> dict[str, Any]:
    """Bytes of the overview's first load: the page and every same-origin resource it pulls in
    (styles, scripts, images, and fonts or images the styles name), with Accept-Encoding: gzip,
    as served and through GZipMiddleware."""
    queue, seen, rows = [overview_url(domain)], set(), []
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        r = dash.client.get(url, headers={"accept-encoding": "gzip"})
        rz = dash.client.get(url, headers={"accept-encoding": "gzip", "x-bench-gzip": "1"})
        ctype = r.headers.get("content-type", "").split(";")[0]
        rows.append(
            {
                "url": url,
                "status": r.status_code,
                "type": ctype,
                "bytes": len(r.content),
                "served": r.num_bytes_downloaded,
                "encoding": r.headers.get("content-encoding", "identity"),
                "served_headers": _header_bytes(r),
                "gzip_middleware": rz.num_bytes_downloaded,
                "gzip_middleware_headers": _header_bytes(rz),
                "gzip9": len(gzip.compress(r.content, 9)),
            }
        )
        found = []
        if ctype == "text/html":
            found = parse_page(r.text).resources
        elif ctype == "text/css":
            found = re.findall(r"url\(\s*['\"]?([^'\")]+)", r.text)
        for ref in found:  # same-origin only: nothing else may load (the CSP says so too)
            absolute = urljoin(ORIGIN + url, ref.strip())
            if absolute.startswith(ORIGIN + "/"):
                queue.append(absolute.removeprefix(ORIGIN))
    return {"resources": rows}


def _header_bytes(r: Any) -> int:
    """What the status line and headers take on the wire (HTTP/1.1)."""
    return (
        len(f"HTTP/1.1 {r.status_code} {r.reason_phrase}\r\n") + sum(len(k) + len(v) + 4 for k, v in r.headers.raw) + 2
    )


# --- setting up --------------------------------------------------------------------------------------


def work_copy(db: str, want: tuple[int, int, int]) -> tuple[Path, float | None]:
    """``<stem>.dashboard.duckdb``: the generated index copied once (this bench writes to it)."""
    work = Path(db).with_name(Path(db).stem + ".dashboard.duckdb")
    if work.exists():
        with Store(work) as st:
            meta = gen_meta(st.con)
        if meta is not None and tuple(meta[:3]) == want:
            return work, None
    with Timer() as t:
        for suffix in ("", ".wal"):
            Path(str(work) + suffix).unlink(missing_ok=True)
            if Path(db + suffix).exists():
                shutil.copyfile(db + suffix, str(work) + suffix)
    return work, t.seconds


def prepare(args: argparse.Namespace, links: int, domains: int, db: str) -> dict[str, Any]:
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    gen = ensure_index(
        db, links, domains, seed=args.seed, unsorted=False, memory_limit=args.gen_memory_limit, tmp_dir=args.tmp_dir
    )
    work, copy_s = work_copy(db, (links, domains, args.seed))
    print(
        f"index {db} ({file_mb(db):,.0f} MB{', reused' if gen['reused'] else ''}); "
        f"working copy {work}" + (f" (copied in {copy_s:.1f} s)" if copy_s is not None else " (reused)")
    )
    from linkback.reports import latest_run

    info: dict[str, Any] = {"generation": gen, "work": str(work), "rank_s": None}
    with Store(work) as st:
        st.con.execute("SET enable_progress_bar = false")
        targets, top = pick_targets(st, args.targets, 300, 700, args.seed)
        run = latest_run(st.con)
        if run is None and not args.no_rank:
            from linkback.rank import rank

            with Timer() as t:
                rank(st)
            info["rank_s"] = t.seconds
            run = latest_run(st.con)
            print(f"rank run (for the DR bands and toxic share): {t.seconds:.1f} s")
        info["ranked"] = run is not None
        print(
            "rank run: "
            + (
                f"#{run[0]}, completed {run[1]:%Y-%m-%d %H:%M}"
                if run
                else "none (--no-rank): the overview has no DR bands or toxic share"
            )
        )
    counts = [c for _, _, c in targets]
    print(
        f"{len(targets)} domains with {min(counts)}-{max(counts)} links (median {median(counts):.0f}); "
        f"most linked: {top[0]} with {top[2]:,} links"
    )
    info.update(targets=targets, top=top)
    return info


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        args.links, args.domains = args.links or 200_000, args.domains or 20_000
        args.targets, args.passes = min(args.targets, 3), min(args.passes, 1)
        args.depth, args.top_reps, args.cached_reps = min(args.depth, 3), min(args.top_reps, 1), 1
    links, domains = args.links or 50_000_000, args.domains or 5_000_000
    db = args.db or str(Path(tempfile.gettempdir()) / f"linkback-bench-{links}-{domains}.duckdb")
    print(f"# bench_dashboard: {links:,} links over {domains:,} domains")
    info = prepare(args, links, domains, db)
    targets, top = info["targets"], info["top"]

    from fastapi.testclient import TestClient

    from linkback.server import Settings, create_app

    app = create_app(Settings(db=info["work"], admin_token=TOKEN, duckdb_threads=args.threads))
    clock, recorder = ServerClock(app), CallRecorder()
    with TestClient(clock) as client:
        recorder.install()  # after start-up: every module the routes use is imported
        try:
            dash = Dashboard(client, app, clock, recorder)
            ((threads, memory),) = dash.store.con.execute(
                "SELECT current_setting('threads'), current_setting('memory_limit')"
            ).fetchall()
            print(f"server: DuckDB threads {threads}, memory_limit {memory}; load {machine().get('loadavg_1m')}")
            with Timer() as t:
                res = {
                    "targets": measure_targets(dash, targets, args.passes),
                    "top": measure_top(dash, top[0], args.top_reps, args.cached_reps),
                    "deep": measure_deep(dash, top[0], args.depth, args.top_reps),
                    "first_load": {
                        "typical": measure_first_load(dash, targets[0][0]),
                        "top": measure_first_load(dash, top[0]),
                    },
                }
        finally:
            recorder.uninstall()
    print(f"measured in {t.seconds:.0f} s; load {machine().get('loadavg_1m')}")
    report(res, targets, top, args.passes)
    return {
        "machine": machine(),
        "versions": versions("duckdb", "fastapi", "starlette", "jinja2", "linkback"),
        "links": links,
        "domains": domains,
        "db": db,
        "work_db": info["work"],
        "ranked": info["ranked"],
        "rank_s": info["rank_s"],
        "passes": args.passes,
        "threads": threads,
        "targets": [list(t) for t in targets],
        "top": list(top),
        "results": res,
        "summary": summary(res),
        "peak_rss_mb": peak_rss_mb(),
    }


# --- the tables ----------------------------------------------------------------------------------------

Checks = Callable[[float, float, "float | None"], list[tuple[str, bool]]]


def _row(
    what: str,
    page: list[float],
    calls: list[float] | None,
    ncalls: list[int] | None,
    goal: str = "",
    checks: Checks | None = None,
) -> dict[str, Any]:
    p50, p99 = median(page), percentile(page, 99)
    c50 = median(calls) if calls else None
    over = p50 / c50 if c50 else None
    missed = [name for name, ok in checks(p50, p99, over) if not ok] if checks and page else None
    verdict = "-" if missed is None else "met" if not missed else "NOT met: " + ", ".join(missed)
    return {
        "what": what,
        "n": len(page),
        "p50_ms": p50,
        "p99_ms": p99,
        "calls_p50_ms": c50,
        "page_over_calls": over,
        "report_calls": median(ncalls) if ncalls else None,
        "goal": goal,
        "verdict": verdict,
    }


def summary(res: dict[str, Any]) -> list[dict[str, Any]]:
    g, s, n = GOALS, res["targets"]["samples"], res["targets"]["calls"]
    top, deep = res["top"], res["deep"]

    def overhead(over: float | None) -> tuple[str, bool]:
        return f"overhead <= {g['overhead']}x", over is not None and over <= g["overhead"]

    def within(limit: float) -> Checks:
        return lambda p50, p99, over: [("time", p50 <= limit)]

    rows = [
        _row(
            "overview, 300-700 links, after a write",
            s["overview"],
            s["overview_calls"],
            n["overview"],
            "p50 <= 150, p99 <= 400, <= 1.2x",
            lambda p50, p99, over: [
                ("p50", p50 <= g["overview_p50"]),
                ("p99", p99 <= g["overview_p99"]),
                overhead(over),
            ],
        ),
        _row("overview, 300-700 links, again", s["overview_cached"], None, n["overview_cached"]),
        _row(
            "backlinks page, 300-700 links",
            s["backlinks"],
            s["backlinks_calls"],
            n["backlinks"],
            "p50 <= 50, <= 1.2x",
            lambda p50, p99, over: [("p50", p50 <= g["backlinks_p50"]), overhead(over)],
        ),
        _row(
            "overview, top domain, first request",
            [top["first_ms"]],
            None,
            [top["first_calls"]],
            "<= 2,000",
            within(g["top_cold"]),
        ),
        _row(
            "overview, top domain, after a write",
            top["cold"],
            top["calls"],
            top["ncalls"]["cold"],
            "<= 2,000",
            within(g["top_cold"]),
        ),
        _row(
            "overview, top domain, again",
            top["cached"],
            None,
            top["ncalls"]["cached"],
            "<= 100",
            within(g["top_cached"]),
        ),
    ]
    if "page1" in deep:
        for label, key in (("page 1", "page1"), (f"page {deep['depth']} (Next links)", "deep")):
            d = deep[key]
            rows.append(_row(f"backlinks page, top domain, {label}", d["page"], d["calls"], d["ncalls"]))
        off = deep["offset_equivalent"]
        label = f"  backlinks(limit={off['rows']:,}): page {deep['depth']} without a cursor"
        rows.append(_row(label, off["calls"], None, None))
    return rows


def report(res: dict[str, Any], targets: list[tuple[str, str, int]], top: tuple[str, str, int], passes: int) -> None:
    print(
        f"\n## Server time beside the report calls the page makes ({len(targets)} domains x {passes} passes; "
        f"top domain {top[0]}, {top[2]:,} links)\n"
    )
    table = [
        [
            r["what"],
            r["n"],
            r["p50_ms"],
            r["p99_ms"],
            r["calls_p50_ms"],
            "-" if r["page_over_calls"] is None else f"{r['page_over_calls']:.2f}x",
            "-" if r["report_calls"] is None else fmt(r["report_calls"], 0),
            r["goal"],
            r["verdict"],
        ]
        for r in summary(res)
    ]
    print_table(["page", "n", "p50 ms", "p99 ms", "calls p50 ms", "page / calls", "calls", "goal", "verdict"], table)
    print(
        "server time (ms): request in -> last body byte out, in-process; calls: the report functions the page "
        "called, run directly on a cursor of the server's connection; p99 nearest-rank; 'again': the same "
        f"request right after; load now {machine().get('loadavg_1m')}"
    )
    print("\n" + "\n".join(res["top"]["log"]))
    typical, topc = res["targets"]["per_call"], res["top"]["per_call"]
    print("\n## The overview's report calls, p50 ms each\n")
    labels = dict.fromkeys([*typical, *topc])
    print_table(
        ["call", "300-700 links", "top domain"],
        [[k, median(typical.get(k, [])), median(topc.get(k, []))] for k in labels],
    )
    deep = res["deep"]
    if "skipped" in deep:
        print(f"\ndeep pagination: SKIPPED: {deep['skipped']}")
    else:
        walk = deep["walk"]
        where = re.sub(r"after=[^&]+", "after=...", deep["deep_url"])
        print(
            f"\ndeep pagination: followed Next {len(walk) - 1} times to {where}; each page on the "
            f"way p50 {fmt(median(walk))} ms (first 10 {fmt(median(walk[:10]))}, last 10 {fmt(median(walk[-10:]))})"
        )
    for name, load in res["first_load"].items():
        first_load_table(name, load["resources"])


def first_load_table(name: str, resources: list[dict[str, Any]]) -> None:
    print(f"\n## First load of the overview ({name} domain), Accept-Encoding: gzip\n")
    served = sum(r["served"] + r["served_headers"] for r in resources)
    zipped = sum(r["gzip_middleware"] + r["gzip_middleware_headers"] for r in resources)
    table = [
        [r["url"][:60], r["type"], r["bytes"], r["served"], r["encoding"], r["gzip_middleware"]] for r in resources
    ]
    table.append(["total, headers included", "", sum(r["bytes"] for r in resources), served, "", zipped])
    print_table(["resource", "type", "bytes", "served", "encoding", "with GZipMiddleware"], table)
    limit = GOALS["first_load_kb"] * 1000
    how = "gzip" if any(r["encoding"] == "gzip" for r in resources) else "nothing gzipped"
    print(
        f"served: {served / 1000:.1f} KB ({how}), {'met' if served <= limit else 'NOT met'}; "
        f"through Starlette's GZipMiddleware: {zipped / 1000:.1f} KB, {'met' if zipped <= limit else 'NOT met'} "
        f"(goal <= {GOALS['first_load_kb']:g} KB; KB = 1,000 bytes)"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--links", type=int, default=None, help="default 50,000,000 (200,000 with --quick)")
    ap.add_argument("--domains", type=int, default=None, help="default 5,000,000 (20,000 with --quick)")
    ap.add_argument("--db", default=None, help="generated index (gen_index.py; reused when its parameters match)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--targets", type=int, default=50, help="domains with 300-700 links")
    ap.add_argument("--passes", type=int, default=3, help="passes over those domains")
    ap.add_argument("--top-reps", type=int, default=3, help="writes (each then a cold overview) for the top domain")
    ap.add_argument("--cached-reps", type=int, default=3, help="cached requests after each cold one")
    ap.add_argument("--depth", type=int, default=200, help="backlinks pages to follow for the top domain")
    ap.add_argument("--threads", type=int, default=1, help="the server's DuckDB threads (Settings.duckdb_threads)")
    ap.add_argument("--no-rank", action="store_true", help="do not run a rank (no DR bands, no toxic share)")
    ap.add_argument("--gen-memory-limit", default="8GB", help="DuckDB memory_limit while generating")
    ap.add_argument("--tmp-dir", default=None, help="DuckDB spill directory while generating")
    ap.add_argument("--quick", action="store_true", help="tiny index (200 k links), a few seconds: the smoke test")
    ap.add_argument("--json", default=None, help="write results as JSON to FILE ('-' = stdout)")
    args = ap.parse_args(argv)
    dump_json(run(args), args.json)


if __name__ == "__main__":
    main()
