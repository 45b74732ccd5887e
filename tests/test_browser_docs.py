"""``/docs`` (Swagger UI) and ``/redoc`` render in headless Chromium with no network but the
server's own address (issue 13, item 10: their assets came from a CDN, so offline they were
blank). Needs Debian's chromium and playwright; skips, saying why, without."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from browserkit import chromium
from serverkit import start_linkback

from linkback.conformance import browser_links as bl

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _need_browser() -> None:
    why = bl.browser_missing()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Nothing queued here: the job runner polls at its default pace, not start_linkback's 20 Hz
    # (which costs ~0.2 CPU-seconds a second while the browser works).
    srv = start_linkback(tmp_path_factory.mktemp("docs"), poll_seconds=1.0)
    yield srv
    srv.stop()


@pytest.mark.parametrize(("path", "rendered"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_the_api_docs_render_offline(server, path, rendered) -> None:
    with chromium() as browser:  # no network but 127.0.0.1
        page = browser.new_page()
        requested: list[str] = []
        failed: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
        page.goto(server.url + path)
        # The title comes from /openapi.json, drawn by the bundled script: it ran.
        # Swagger UI takes ~5 CPU-seconds to draw the API: 20 s timed out on a loaded machine.
        page.wait_for_selector(f"{rendered}:has-text('linkback')", timeout=60_000)
        page.wait_for_load_state("networkidle", timeout=10_000)
    origin = urlsplit(server.url).netloc
    elsewhere = [u for u in requested if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != origin]
    # Only what the page's CSP stopped inside the browser (ReDoc's remote logo) was tried;
    # Chromium reports such a request as failed with the reason "csp", never sent.
    assert [f for f in failed if not f.endswith(" csp")] == []
    assert all(f"{u} csp" in failed for u in elsewhere), (elsewhere, failed)
