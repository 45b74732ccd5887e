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
from collections.abc import Callable
from typing import Any

from serverkit import Hit, Page, PageServer

#: A request the web answered: method, path, headers, body, ``at`` (time.monotonic()), ``host``.
Request = Hit


class HostWeb(PageServer):
    """A :class:`PageServer` whose pages are keyed by (host, path): one server, many sites."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[tuple[str, str], Page | Callable[[Hit], Page]] = {}  # type: ignore[assignment]

    @property
    def log(self) -> list[Hit]:
        return self.hits

    def page_for(self, hit: Hit) -> Page | Callable[[Hit], Page] | None:
        return self.pages.get((hit.host, hit.path))

    def url(self, host: str, path: str = "/") -> str:  # type: ignore[override]  # keyed by host first, as its pages are
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
        super().__enter__()
        return self


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
