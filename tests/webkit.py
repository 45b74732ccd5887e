"""A small multi-host web on 127.0.0.1 for the crawler tests, and a crawl in a subprocess.

* :class:`HostWeb` is one loopback HTTP server that answers by ``Host`` header and path
  (``web.pages["a.test", "/"] = Page(...)``) and logs every request with its time, so a test
  can measure the gaps between requests to one host.
* :func:`crawl_in_subprocess` runs :func:`linkback.crawl.run_crawl` in a fresh Python (the
  Twisted reactor runs once per process) with the test's host names mapped to 127.0.0.1 and
  the private-address guard relaxed: only here, never in the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from serverkit import Page  # noqa: F401 - re-exported for the tests


@dataclass
class Request:
    host: str
    path: str
    at: float  # time.monotonic()
    user_agent: str


class HostWeb:
    def __init__(self) -> None:
        self.pages: dict[tuple[str, str], Page | Callable[[Request], Page]] = {}
        self.log: list[Request] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                hit = Request(host, self.path, time.monotonic(), self.headers.get("User-Agent") or "")
                outer.log.append(hit)
                page = outer.pages.get((host, self.path))
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
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def html(self, host: str, path: str, *hrefs: str, status: int = 200, **headers: str) -> None:
        links = "".join(f'<a href="{href}">link {n}</a>\n' for n, href in enumerate(hrefs))
        body = f"<!doctype html><html><head><title>{host}{path}</title></head><body>{links}</body></html>"
        self.pages[host, path] = Page(body, status, {"Content-Type": "text/html; charset=utf-8", **headers})

    def robots(self, host: str, text: str) -> None:
        self.pages[host, "/robots.txt"] = Page(text, 200, {"Content-Type": "text/plain"})

    def requests_to(self, host: str) -> list[Request]:
        return [r for r in self.log if r.host == host]

    def __enter__(self) -> HostWeb:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def crawl_in_subprocess(seeds: list[str], hosts: list[str], timeout: float = 60, **options: Any) -> dict[str, Any]:
    """``run_crawl(seeds, **options)`` in a fresh process, ``hosts`` on 127.0.0.1; its summary."""
    args = {"seeds": seeds, "resolve": dict.fromkeys(hosts, "127.0.0.1"), "allow_private": True, **options}
    done = subprocess.run(
        [sys.executable, __file__, json.dumps(args)], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    from linkback.crawl import run_crawl

    kwargs = json.loads(sys.argv[1])
    print(json.dumps(run_crawl(kwargs.pop("seeds"), **kwargs).as_dict()))
