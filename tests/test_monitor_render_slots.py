"""A rendering in a monitor run is a request to its page's host: it keeps the host's politeness.

The renderer here is a small real one made through ``run_checks``' seam (``renderer_factory``,
given the fetcher a run's renderer must use): like :class:`linkback.render.Renderer` it fetches
the page's scripts through that fetcher from a pool of four, and a script's own request (an
XHR) may still be out when ``render()`` returns — as in Chromium, when that request outlasts
the settle time. The web is tests/webkit.py's loopback server; every request to the hosts that
matter is timed on the server, from its arrival to its answer, so overlaps and rests are exact.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from webkit import HostWeb, Page, Request

from linkback.fetch import Fetcher, FetchLimits, FetchResult, GuardPolicy, address_refusal
from linkback.monitor import monitor_add
from linkback.monitor._run import run_checks
from linkback.render import RenderedPage
from linkback.store import Store

TARGET = "https://example.com/pricing"
WITH_THE_LINK = f'<!doctype html><main><a href="{TARGET}">Pricing</a></main>'
WITHOUT_IT = "<!doctype html><main><p>Links come from scripts here.</p></main>"
DELAY = 0.3


def _only_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    return None if str(ip) == "127.0.0.1" else address_refusal(ip)


POLICY = GuardPolicy(ports=None, refuse_address=_only_loopback)


def resolver(host: str, port: int) -> list[str]:
    if host.endswith(".test"):
        return ["127.0.0.1"]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@dataclass
class Span:
    host: str
    path: str
    start: float
    end: float


class TimedWeb(HostWeb):
    """The loopback web, each page answered after ``seconds`` and timed from arrival to answer."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[Span] = []
        self._lock = threading.Lock()

    def timed(
        self, host: str, path: str, body: str, seconds: float = 0.0, status: int = 200,
        kind: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        def answer(hit: Request) -> Page:
            time.sleep(seconds)
            with self._lock:
                self.spans.append(Span(hit.host, hit.path, hit.at, time.monotonic()))
            return Page(body, status, {"Content-Type": kind, **(headers or {})})

        self.pages[host, path] = answer

    def timeline(self, host: str) -> list[Span]:
        return sorted((s for s in self.spans if s.host == host), key=lambda s: s.start)


class ScriptedRenderer:
    """Renders as linkback.render.Renderer does, without a browser: the page's ``scripts`` are
    fetched together through ``fetcher`` (a pool of four), then the page's ``xhr`` is sent and
    ``render()`` returns after a short settle, whether or not the XHR has been answered."""

    def __init__(self, fetcher: Fetcher, scripts: list[str], xhr: str = "", settle: float = 0.05) -> None:
        self.fetcher, self.scripts, self.xhr, self.settle = fetcher, scripts, xhr, settle
        self._pool = ThreadPoolExecutor(max_workers=4)

    def render(self, url: str, *, document: FetchResult) -> RenderedPage:
        limits = FetchLimits(timeout=10.0)
        loaded = [self._pool.submit(self.fetcher.fetch, urljoin(url, s), limits=limits) for s in self.scripts]
        wait(loaded)
        if self.xhr:
            self._pool.submit(self.fetcher.fetch, urljoin(url, self.xhr), limits=limits)
        time.sleep(self.settle)
        return RenderedPage(document.final_url, document.status, document.body.decode())

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def one_at_a_time(spans: list[Span]) -> None:
    for before, after in zip(spans, spans[1:], strict=False):
        assert after.start >= before.end, f"{after.path} came while {before.path} was out: {spans}"


def rested_after(spans: list[Span], path: str, rest: float) -> None:
    """The request to the host after each one for ``path`` came at least ``rest`` after it ended."""
    for before, after in zip(spans, spans[1:], strict=False):
        if before.path == path:
            assert after.start - before.end >= rest, f"{after.path} came too soon after {path}: {spans}"


def rested_before(spans: list[Span], path: str, rest: float) -> None:
    """Each request for ``path`` came at least ``rest`` after the request to its host before it."""
    for before, after in zip(spans, spans[1:], strict=False):
        if after.path == path:
            assert after.start - before.end >= rest, f"{path} came too soon after {before.path}: {spans}"


@pytest.fixture
def web() -> Iterator[TimedWeb]:
    with TimedWeb() as web:
        yield web


def check_all(web: TimedWeb, tmp_path: Path, sources: list[str], make: Callable[[Fetcher], Any]) -> dict[str, Any]:
    with Store(tmp_path / "monitor.duckdb") as store:
        for source in sources:
            monitor_add(store, source, TARGET)
        return run_checks(
            store, policy=POLICY, resolver=resolver, all_links=True, delay=DELAY, warc_dir=None, render="auto",
            confirm_after=3600, renderer_factory=make,
        )  # fmt: skip


def test_a_renderings_requests_go_one_at_a_time_in_its_hosts_slot_and_the_host_rests_after_the_last(
    web: TimedWeb, tmp_path: Path
) -> None:
    web.timed("h.test", "/robots.txt", "", status=404, kind="text/plain")
    web.timed("h.test", "/a", WITHOUT_IT)
    web.timed("h.test", "/b", WITHOUT_IT)
    for script in ("/one.js", "/two.js"):
        web.timed("h.test", script, "1", 0.05, kind="text/javascript")
    web.timed("h.test", "/xhr", "[]", 0.4, kind="application/json")

    summary = check_all(
        web, tmp_path, [web.url("h.test", "/a"), web.url("h.test", "/b")],
        lambda fetcher: ScriptedRenderer(fetcher, ["/one.js", "/two.js"], xhr="/xhr"),
    )  # fmt: skip

    assert summary["rendered"] == 2
    spans = web.timeline("h.test")
    paths = [s.path for s in spans]
    assert paths.count("/xhr") == 2 and paths[paths.index("/xhr") + 1] in ("/a", "/b")
    one_at_a_time(spans)
    rested_after(spans, "/xhr", DELAY)  # the next page's fetch waited for the rendering's last request


def test_a_renderings_request_to_another_host_of_the_run_takes_that_hosts_slot_and_rest(
    web: TimedWeb, tmp_path: Path
) -> None:
    web.timed("a.test", "/p", WITHOUT_IT)
    web.timed("j.test", "/robots.txt", "", status=404, kind="text/plain")
    for page in ("/p0", "/p1"):
        web.timed("j.test", page, WITH_THE_LINK, 0.3)
    web.timed("j.test", "/lib.js", "1", kind="text/javascript")
    lib = web.url("j.test", "/lib.js")

    summary = check_all(
        web, tmp_path, [web.url("a.test", "/p"), web.url("j.test", "/p0"), web.url("j.test", "/p1")],
        lambda fetcher: ScriptedRenderer(fetcher, [lib]),
    )  # fmt: skip

    assert summary["rendered"] == 1
    spans = web.timeline("j.test")
    assert "/lib.js" in [s.path for s in spans]
    one_at_a_time(spans)
    rested_before(spans, "/lib.js", DELAY)
    rested_after(spans, "/lib.js", DELAY)


def test_a_retry_after_a_rendering_got_is_the_rest_its_host_is_given(web: TimedWeb, tmp_path: Path) -> None:
    web.timed("h.test", "/robots.txt", "", status=404, kind="text/plain")
    web.timed("h.test", "/a", WITHOUT_IT)
    web.timed("h.test", "/b", WITH_THE_LINK)
    web.timed("h.test", "/xhr", "slow down", status=429, kind="text/plain", headers={"Retry-After": "1"})

    check_all(
        web, tmp_path, [web.url("h.test", "/a"), web.url("h.test", "/b")],
        lambda fetcher: ScriptedRenderer(fetcher, [], xhr="/xhr"),
    )  # fmt: skip

    spans = web.timeline("h.test")
    assert [s.path for s in spans] == ["/robots.txt", "/a", "/xhr", "/b"]
    assert spans[3].start - spans[2].end >= 1.0
