"""Headless Chromium for the dashboard tests: one way to launch it, watch a page and sign in.

Debian's chromium, driven by Playwright (which never downloads a browser); every host but
127.0.0.1 resolves to nothing, so a request that would leave the server's origin fails and is
recorded. A test that finds no browser skips and says why (``bl.browser_missing()``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from linkback.conformance import browser_links as bl

#: Every name but 127.0.0.1 fails to resolve: nothing leaves the machine.
NO_NET = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
#: Where the browser tests write their screenshots (the README shows a few).
SHOTS = Path(__file__).parent.parent / "build" / "screenshots"

#: What a page audit reads: did a payload run, and is there any script or handler it could have left.
AUDIT = """() => ({
  xss: String(window.__xss),
  jsLinks: [...document.querySelectorAll('a[href]')].filter(a => a.href.trim().toLowerCase().startsWith('javascript:')).length,
  onAttrs: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name))
             .filter(n => n.startsWith('on')).length,
  scripts: [...document.querySelectorAll('script')].filter(s => s.src === '' && s.type !== 'application/json').length,
})"""
CLEAN = {"xss": "undefined", "jsLinks": 0, "onAttrs": 0, "scripts": 0}


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with no network beyond 127.0.0.1 (skips the test when there is none)."""
    why = bl.browser_missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=bl.CHROMIUM, args=[*bl.CHROMIUM_ARGS, NO_NET])
        try:
            yield browser
        finally:
            browser.close()


def watched_page(browser: Any, origin: str, problems: list[str], width: int = 1280) -> Any:
    """A new page whose console errors and warnings, uncaught errors, dialogs and requests to
    anywhere but ``origin`` are appended to ``problems``."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith((origin, "data:")) else problems.append("foreign: " + r.url))
    return page


def sign_in(page: Any, origin: str, token: str, then: str = "/") -> None:
    """Sign in with the admin token from the login form (keyboard only), landing on ``then``."""
    page.goto(origin + "/login?next=" + quote(then, safe=""))
    page.fill("#token", token)
    page.keyboard.press("Enter")
    page.wait_for_url(origin + then)
