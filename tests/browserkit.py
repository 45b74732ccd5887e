"""Headless Chromium for the dashboard tests: one way to launch it, watch a page and sign in.

Debian's chromium, driven by Playwright (which never downloads a browser); every host but
127.0.0.1 resolves to nothing, so a request that would leave the server's origin fails and is
recorded. A test that finds no browser skips and says why (``bl.browser_missing()``).

One Chromium serves every test of a test process (an xdist worker, or a serial run): starting
Playwright's driver and a browser costs about 1.6 CPU-seconds, and the browser tests are a few
dozen. Each test gets its own browser contexts through :func:`chromium` (cookies, storage and
cache of its own) and they are closed when its ``with`` block ends, so tests stay isolated.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import threading
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
#: The screenshots README.md shows are copies (docs/screenshots/) of these: the same names, and the
#: pictures its descriptions match (the backlinks pager sorted by DR, the overview's trend). They are
#: written on every run; the others are for a person looking at a layout, and a full-page PNG costs
#: about 0.2 CPU-seconds, so they are written only with LINKBACK_SCREENSHOTS=all in the environment.
README_SHOTS = frozenset(
    re.findall(r"docs/screenshots/([\w.-]+)\.png", (SHOTS.parent.parent / "README.md").read_text(encoding="utf-8"))
) | {"backlinks-pager-1280", "overview-trend-1280", "overview-trend-390"}

#: What a page audit reads: did a payload run, and is there any script or handler it could have left.
AUDIT = """() => ({
  xss: String(window.__xss),
  jsLinks: [...document.querySelectorAll('a[href]')].filter(a => a.href.trim().toLowerCase().startsWith('javascript:')).length,
  onAttrs: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name))
             .filter(n => n.startsWith('on')).length,
  scripts: [...document.querySelectorAll('script')].filter(s => s.src === '' && s.type !== 'application/json').length,
})"""
CLEAN = {"xss": "undefined", "jsLinks": 0, "onAttrs": 0, "scripts": 0}


class _Shared:
    """The process's one Playwright driver and Chromium, started by the first test that asks.

    Playwright's sync API runs its asyncio loop in a greenlet of the thread that started it, and
    marks that loop as the thread's running loop for as long as the driver lives: ``asyncio.run``
    in that thread would then refuse to start ("cannot be called from a running event loop"). Other
    tests in the same process use ``asyncio.run``, so the mark is lifted between browser tests
    (``park``) and put back before the browser is used again (``resume``); nothing runs on the loop
    meanwhile, since Playwright only switches to it inside one of its own calls.
    """

    playwright: Any = None
    browser: Any = None
    loop: asyncio.AbstractEventLoop | None = None
    thread: int | None = None
    users = 0  # nested chromium() blocks now open

    @classmethod
    def resume(cls) -> None:
        if cls.thread is not None and cls.thread != threading.get_ident():
            raise RuntimeError("the shared Chromium is driven from the thread that started it (Playwright's sync API)")
        if cls.loop is not None and not cls.loop.is_closed():
            asyncio._set_running_loop(cls.loop)

    @classmethod
    def park(cls) -> None:
        if cls.loop is not None:
            asyncio._set_running_loop(None)

    @classmethod
    def get(cls) -> Any:
        """The connected browser, launched (with its driver) when there is none."""
        if cls.browser is not None and cls.browser.is_connected():
            return cls.browser
        cls.stop()  # a browser that crashed or a driver that died: start again from nothing
        from playwright.sync_api import sync_playwright

        cls.playwright = sync_playwright().start()
        cls.loop, cls.thread = asyncio.get_running_loop(), threading.get_ident()
        cls.browser = cls.playwright.chromium.launch(executable_path=bl.CHROMIUM, args=[*bl.CHROMIUM_ARGS, NO_NET])
        return cls.browser

    @classmethod
    def stop(cls) -> None:
        """Close the browser and the driver (at exit, or before starting again)."""
        if cls.playwright is None:
            return
        cls.resume()
        try:
            if cls.browser is not None and cls.browser.is_connected():
                cls.browser.close()
        finally:
            playwright, cls.playwright, cls.browser, cls.loop, cls.thread = cls.playwright, None, None, None, None
            playwright.stop()  # runs the loop to its end, which lifts the running-loop mark
            asyncio._set_running_loop(None)


atexit.register(_Shared.stop)


class Borrowed:
    """The shared Chromium as one test sees it: every context and page opened through it is
    closed when the test's ``chromium()`` block ends (``close()`` does that too, and leaves the
    browser running for the next test). Anything else is the browser's own attribute."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self._contexts: list[Any] = []

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        self._contexts.append(context)
        return context

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)  # in a context of its own
        self._contexts.append(page.context)
        return page

    def close(self) -> None:
        contexts, self._contexts = self._contexts, []
        for context in contexts:
            context.close()  # a no-op for one closed already

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with no network beyond 127.0.0.1 (skips the test when there is none):
    the process's shared one, as a :class:`Borrowed` whose contexts close when the block ends."""
    why = bl.browser_missing()
    if why:
        pytest.skip(why)
    _Shared.resume()
    _Shared.users += 1
    try:
        borrowed = Borrowed(_Shared.get())
        try:
            yield borrowed
        finally:
            borrowed.close()
    finally:
        _Shared.users -= 1
        if _Shared.users == 0:
            _Shared.park()


def wants_screenshot(name: str) -> bool:
    """Is ``build/screenshots/<name>.png`` written on this run (see README_SHOTS)?"""
    return name in README_SHOTS or os.environ.get("LINKBACK_SCREENSHOTS") == "all"


def screenshot(page: Any, name: str) -> None:
    """The whole page to ``build/screenshots/<name>.png``, if this run writes that one."""
    if wants_screenshot(name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


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
