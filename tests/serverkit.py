"""Real servers on 127.0.0.1 for the linkback server tests.

* :class:`PageServer` serves pages the tests set (``pages["/post"] = Page(body=...)``): the
  sources a receiver fetches, the targets a sender discovers. It records every request.
* :func:`start_linkback` starts the linkback app (uvicorn, in a thread) on a fresh database with
  the given sites, the private-address guard relaxed explicitly (the test pages are on loopback),
  and a resolver that sends every ``*.test`` name to 127.0.0.1 so sources and targets can have
  distinct hosts.
* :func:`wait_for` polls until the job runner has done its part.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from linkback import mentions
from linkback.server import ServerThread, Settings
from linkback.server._limits import Rate
from linkback.store import Store


@dataclass
class Page:
    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it came

    @property
    def host(self) -> str:
        """The ``Host`` header's name (the server answers every name on its address)."""
        return self.headers.get("host", "").rsplit(":", 1)[0]

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")


class PageServer:
    """A loopback HTTP server answering from a dict of paths; ``hits`` records the requests.

    ``host`` is the loopback address to listen on (127.0.0.2 plays a private server).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.pages: dict[str, Page | Callable[[Hit], Page]] = {}
        self.hits: list[Hit] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                hit = Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                outer.hits.append(hit)
                page = outer.page_for(hit)
                if callable(page):
                    page = page(hit)
                if page is None:
                    page = Page(b"not found", 404, {"Content-Type": "text/plain"})
                data = page.body.encode() if isinstance(page.body, str) else page.body
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = _serve

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def page_for(self, hit: Hit) -> Page | Callable[[Hit], Page] | None:
        """What answers ``hit``: the page set for its path (without or with the query)."""
        return self.pages.get(hit.path.split("?", 1)[0]) or self.pages.get(hit.path)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def loopback_resolver(host: str, port: int) -> list[str]:
    """``*.test`` and ``localhost`` are 127.0.0.1; anything else does not resolve (no network in tests)."""
    if host.endswith(".test") or host in ("localhost", "127.0.0.1"):
        return ["127.0.0.1"]
    from linkback.errors import FetchError

    raise FetchError(f"{host} does not resolve in the tests", reason="dns")


def start_linkback(
    tmp_path: Path,
    sites: dict[str, str] | list[str] | tuple[str, ...] = ("blog.test",),
    *,
    webhook: tuple[str, str] | None = None,
    prepare: Callable[[Store], None] | None = None,
    advertise: bool = False,
    **settings: object,
) -> ServerThread:
    """A running linkback server on a fresh database under ``tmp_path`` (call ``.stop()``).

    ``prepare`` runs on the store (sites added) before the server opens it: rows for a test.
    ``advertise`` writes ``<db>.server.json`` with the server's URL, as ``linkback serve`` does,
    so CLI commands on that database hand their work to this server.
    """
    db = str(tmp_path / "linkback.duckdb")
    with Store(db) as store:
        items = sites.items() if isinstance(sites, dict) else ((s, "auto") for s in sites)
        for site, policy in items:
            url, secret = webhook if webhook else ("", "")
            mentions.add_site(store.con, site, policy=policy, webhook_url=url, webhook_secret=secret)
        if prepare is not None:
            prepare(store)
    options: dict = {
        "db": db,
        "allow_private": True,
        "admin_token": "test-token",
        "resolver": loopback_resolver,
        # Whatever queues work wakes the runner and the job lanes; the poll only finds work that
        # falls due later (a retry). At 20 Hz the polls cost ~18 % of these modules' CPU.
        "poll_seconds": 0.25,
        "pair_rate": Rate(0, 1.0),
        "host_rate": Rate(0, 1.0),
    }
    options.update(settings)
    config = Settings(**options)
    server = ServerThread(config)
    if advertise:
        config.advertise_url = server.url  # read when the app starts
    server.start()
    return server


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(interval)


ADMIN = {"Authorization": "Bearer test-token"}
