"""A rendering in a monitor run is a visit to its page's host: it keeps the host's politeness.

It is made in the host slot its check fetched the page in, and the host rests from when the
rendering's last request to it ended; a Retry-After a rendering gets is the host's rest. Within
the rendering the browser's requests go in parallel, as any browser's visit does.

The renderer here is a small real one made through ``run_checks``' seam (``renderer_factory``,
given the fetcher a run's renderer must use): like :class:`linkback.render.Renderer` it fetches
the page's scripts through that fetcher from a pool of four, a script adds what it brings to
the page, and a script's own request (an XHR) may still be out when ``render()`` returns — as
in Chromium, when that request outlasts the settle time. The web is tests/webkit.py's loopback
server; every request to the hosts that matter is timed on the server, from its arrival to its
answer, so overlaps and rests are exact.
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

from linkback.errors import FetchError
from linkback.fetch import Fetcher, FetchLimits, FetchResult, GuardPolicy, address_refusal
from linkback.monitor import ledger, link_timeline, monitor_add
from linkback.monitor._run import run_checks
from linkback.render import RenderedPage
from linkback.store import Store

TARGET = "https://example.com/pricing"
WITH_THE_LINK = f'<!doctype html><main><a href="{TARGET}">Pricing</a></main>'
WITHOUT_IT = "<!doctype html><main><p>Links come from scripts here.</p></main>"
#: A script that adds the link to the page (ScriptedRenderer adds what a script brings).
ADDS_THE_LINK = f'<a href="{TARGET}">Pricing</a>'
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
    fetched together through ``fetcher`` (a pool of four), each adding what it brings to the page,
    and one that fails is listed in ``failed`` as the Renderer lists it (its reason first). The
    page is read when they are all in, or ``read_after`` seconds after they were asked for (as
    Chromium reads a page at its deadline: a request not answered by then is simply missing).
    Then the page's ``xhr`` is sent and ``render()`` returns after a short settle, whether or not
    the XHR has been answered. ``began`` is set when a rendering begins."""

    def __init__(
        self, fetcher: Fetcher, scripts: list[str], xhr: str = "", settle: float = 0.05,
        read_after: float | None = None, began: threading.Event | None = None,
    ) -> None:  # fmt: skip
        self.fetcher, self.scripts, self.xhr, self.settle = fetcher, scripts, xhr, settle
        self.read_after, self.began = read_after, began
        self._pool = ThreadPoolExecutor(max_workers=4)

    def render(self, url: str, *, document: FetchResult) -> RenderedPage:
        if self.began is not None:
            self.began.set()
        limits = FetchLimits(timeout=10.0)
        urls = [urljoin(url, script) for script in self.scripts]
        loaded = {script: self._pool.submit(self.fetcher.fetch, script, limits=limits) for script in urls}
        wait(loaded.values(), timeout=self.read_after)
        html, failed = document.body.decode(), []
        for script, answer in loaded.items():
            if not answer.done():
                continue
            try:
                html += answer.result().body.decode()
            except FetchError as exc:
                failed.append((script, f"{exc.reason}: {exc}"))
        if self.xhr:
            self._pool.submit(self.fetcher.fetch, urljoin(url, self.xhr), limits=limits)
        time.sleep(self.settle)
        return RenderedPage(document.final_url, document.status, html, failed=tuple(failed))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def rested_after(spans: list[Span], path: str, rest: float) -> None:
    """The request to the host after each one for ``path`` came at least ``rest`` after it ended."""
    for before, after in zip(spans, spans[1:], strict=False):
        if before.path == path:
            assert after.start - before.end >= rest, f"{after.path} came too soon after {path}: {spans}"


@pytest.fixture
def web() -> Iterator[TimedWeb]:
    with TimedWeb() as web:
        yield web


def check_all(
    web: TimedWeb, tmp_path: Path, sources: list[str], make: Callable[[Fetcher], Any], **options: Any
) -> dict[str, Any]:
    with Store(tmp_path / "monitor.duckdb") as store:
        for source in sources:
            monitor_add(store, source, TARGET)
        return run_checks(
            store, policy=POLICY, resolver=resolver, all_links=True, delay=DELAY, warc_dir=None, render="auto",
            renderer_factory=make, **{"confirm_after": 3600, **options},
        )  # fmt: skip


def ledger_row(tmp_path: Path, source: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ledger row of the link on ``source`` after check_all, and its checks."""
    with Store(tmp_path / "monitor.duckdb") as store:
        (row,) = [r for r in ledger(store) if r["source"] == source]
        return row, link_timeline(store, row["link_id"])


def test_the_host_rests_from_the_end_of_the_renderings_last_request_not_from_render_returning(
    web: TimedWeb, tmp_path: Path
) -> None:
    """/a's rendering sends an XHR that is still out when render() returns: /b, the host's next
    page, waits for it to end and then the run's delay."""
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
    pages = [s for s in spans if s.path in ("/a", "/b")]
    first_rendering = [s for s in spans if s.path not in ("/a", "/b", "/robots.txt") and s.start < pages[1].start]
    assert {s.path for s in first_rendering} == {"/one.js", "/two.js", "/xhr"}
    assert pages[1].start - max(s.end for s in first_rendering) >= DELAY, spans


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


def test_a_page_of_many_scripts_is_rendered_whole_and_its_link_found(web: TimedWeb, tmp_path: Path) -> None:
    """Eight scripts of 0.4 s each on the page's host, one of which adds the link, read at a 1.5 s
    deadline: fetched in parallel, as a browser does, they are all in by then and the link is
    live. (One at a time they would take 3.2 s: the page would be read without the link.)"""
    web.timed("h.test", "/robots.txt", "", status=404, kind="text/plain")
    web.timed("h.test", "/p", WITHOUT_IT)
    scripts = [f"/s{i}.js" for i in range(8)]
    for script in scripts:
        web.timed("h.test", script, ADDS_THE_LINK if script == "/s7.js" else "", 0.4, kind="text/javascript")
    source = web.url("h.test", "/p")

    check_all(web, tmp_path, [source], lambda fetcher: ScriptedRenderer(fetcher, scripts, read_after=1.5), confirm_after=0)

    row, checks = ledger_row(tmp_path, source)
    assert (row["verdict"], len(checks)) == ("live", 1), (row, checks)
