"""Rendering pages in headless Chromium behind the SSRF guard, and the monitor's use of it.

Debian's chromium driven by Playwright; a test that finds no browser skips and says why. Every
request a page makes goes through linkback's fetcher: the test web is on 127.0.0.1 (allowed by
the test's guard table), 127.0.0.2 plays a private server the guard refuses.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from webkit import HostWeb, Page

from linkback.conformance.browser_links import browser_missing
from linkback.errors import BlockedAddress
from linkback.fetch import Fetcher, GuardPolicy, address_refusal
from linkback.monitor import ledger, link_timeline, monitor_add
from linkback.monitor._run import run_checks
from linkback.render import RenderedPage, Renderer, RenderUnavailable, render_page
from linkback.store import Store

TARGET = "https://example.com/pricing"
JS = {"Content-Type": "text/javascript"}


def _only_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    return None if str(ip) == "127.0.0.1" else address_refusal(ip)


POLICY = GuardPolicy(ports=None, refuse_address=_only_loopback)


def resolver(host: str, port: int) -> list[str]:
    if host == "private.test":
        return ["127.0.0.2"]
    if host.endswith(".test"):
        return ["127.0.0.1"]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture(scope="module")
def web() -> Iterator[HostWeb]:
    why = browser_missing()
    if why:
        pytest.skip(why)
    with HostWeb() as web:
        private = "http://private.test/steal.js"
        web.pages["js.test", "/start"] = Page("", 301, {"Location": "/post"})
        web.pages["js.test", "/post"] = Page(
            '<!doctype html><main><p>Post</p><script src="/app.js"></script>'
            f'<script src="{private}"></script><img src="/big.png"></main>'
        )
        web.pages["js.test", "/app.js"] = Page(
            f'document.querySelector("main").insertAdjacentHTML("beforeend", \'<a href="{TARGET}">Pricing</a>\');'
            'fetch("/more").then(r => r.text()).then(t => document.querySelector("main").insertAdjacentHTML("beforeend", t));'
            'fetch("/beacon", {method: "POST", body: "x"});',
            200,
            JS,
        )
        web.pages["js.test", "/more"] = Page(
            '<a href="https://example.com/more">more</a>', 200, {"Content-Type": "text/plain"}
        )
        yield web


def test_a_rendered_page_has_the_links_scripts_insert_and_the_guard_holds_for_every_request(web: HostWeb) -> None:
    page = render_page(
        web.url("js.test", "/start"), policy=POLICY, resolver=resolver, timeout=20.0, max_bytes=1_000_000
    )
    assert isinstance(page, RenderedPage)
    assert page.final_url == web.url("js.test", "/post") and page.status == 200
    assert f'<a href="{TARGET}">Pricing</a>' in page.html and "https://example.com/more" in page.html
    assert [(url, why.split(":")[0]) for url, why in page.refused] == [("http://private.test/steal.js", "loopback")]
    assert any("POST request" in why for _, why in page.failed)
    paths = [h.path for h in web.requests_to("js.test")]
    assert "/big.png" not in paths and "/beacon" not in paths  # images are not fetched; nothing is sent
    assert not [h for h in web.log if h.host == "private.test"]


def test_the_url_itself_is_refused_before_any_browser_work(web: HostWeb) -> None:
    with pytest.raises(BlockedAddress, match="127.0.0.2, a loopback address"):
        render_page("http://private.test/post", policy=POLICY, resolver=resolver, timeout=10.0, max_bytes=100_000)


def test_the_html_is_cut_at_max_bytes(web: HostWeb) -> None:
    with Renderer(policy=POLICY, resolver=resolver, timeout=20.0, max_bytes=120) as renderer:
        page = renderer.render(web.url("js.test", "/post"))
    assert page.truncated and len(page.html.encode()) <= 120


def test_a_link_only_a_script_inserts_is_found_rendered_not_removed(web: HostWeb, tmp_path: Path) -> None:
    web.pages["static.test", "/post"] = Page(f'<!doctype html><main><a href="{TARGET}">Pricing</a></main>')
    with Store(tmp_path / "r.duckdb") as store:
        monitor_add(store, web.url("js.test", "/post"), TARGET)
        monitor_add(store, web.url("js.test", "/post"), "https://example.com/gone")
        monitor_add(store, web.url("static.test", "/post"), TARGET)
        before = len(web.log)
        run_checks(store, policy=POLICY, resolver=resolver, all_links=True, delay=0.05, warc_dir=None, confirm_after=0)
        rows = {(r["source"], r["target"]): r for r in ledger(store)}
        js = rows[web.url("js.test", "/post"), TARGET]
        assert (js["verdict"], js["found_in"]) == ("live", "rendered")
        (check,) = link_timeline(store, js["link_id"])
        assert check["rendered"] and check["found"] and check["anchor"] == "Pricing"
        assert "private.test/steal.js" in check["render_note"]  # what rendering refused, recorded
        gone = rows[web.url("js.test", "/post"), "https://example.com/gone"]
        assert (gone["verdict"], gone["reason"]) == ("lost", "removed")  # neither raw, nor rendered, twice
        static = rows[web.url("static.test", "/post"), TARGET]
        assert static["found_in"] == "raw" and not link_timeline(store, static["link_id"])[0]["rendered"]
        # The render reused the fetched page: the post itself was fetched once, plus the confirming fetch.
        posts = [h for h in web.log[before:] if h.host == "js.test" and h.path == "/post"]
        assert len(posts) == 2
        run_checks(store, policy=POLICY, resolver=resolver, all_links=True, delay=0.05, warc_dir=None, render="always")
        static_checks = link_timeline(store, static["link_id"])
        assert (static_checks[-1]["found_in"], static_checks[-1]["rendered"]) == ("both", True)


def test_without_a_browser_the_check_says_so_and_a_second_raw_fetch_confirms_a_removal(tmp_path: Path) -> None:
    """Rendering unavailable (a renderer that cannot start, as without chromium): the removal is
    confirmed by the second raw fetch, and each check records that it was not rendered, and why."""

    def no_browser(fetcher: Fetcher) -> Renderer:
        raise RenderUnavailable("/usr/bin/chromium is absent: install Debian's chromium (apt-get install chromium)")

    with HostWeb() as web, Store(tmp_path / "n.duckdb") as store:
        web.pages["js.test", "/post"] = Page('<main><script>document.write("<a href=\\"x\\">x</a>")</script></main>')
        monitor_add(store, web.url("js.test", "/post"), TARGET)
        summary = run_checks(store, policy=POLICY, resolver=resolver, all_links=True, delay=0.05, warc_dir=None,
                             renderer_factory=no_browser, confirm_after=0)  # fmt: skip
        (row,) = ledger(store)
        assert (row["verdict"], row["reason"]) == ("lost", "removed")
        checks = link_timeline(store, row["link_id"])
        assert [c["rendered"] for c in checks] == [False, False]
        assert checks[0]["render_note"].startswith("rendering unavailable: /usr/bin/chromium is absent")
        assert summary["render_note"] == checks[0]["render_note"]
        assert len([h for h in web.log if h.path == "/post"]) == 2
