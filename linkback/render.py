"""Rendering a page as a browser shows it: headless Chromium, scripts on, behind the SSRF guard.

Many sites insert links with JavaScript, so a link missing from the raw HTML may still be on
the page a reader sees. :func:`render_page` loads a URL in Debian's chromium, driven by
Playwright (which never downloads a browser of its own), and returns the DOM once the page has
loaded and its network has gone quiet:

    page = render_page("https://example.com/post", policy=GuardPolicy(), resolver=system_resolver,
                       timeout=20.0, max_bytes=5_000_000)
    page.final_url, page.status, len(page.html)

**The same guard as the fetcher.** Chromium resolves no name itself (``--host-resolver-rules``
maps every host to "not found"): every request the page makes is intercepted (``page.route``)
and fetched by linkback's :class:`~linkback.fetch.Fetcher`, which checks each hop with
:func:`~linkback.fetch.check_url` and connects to the address it checked, then handed to the
browser. A request the guard refuses is aborted and listed in ``RenderedPage.refused`` with
why. Chromium cannot follow a redirect it was handed (it would resolve the new name itself), so
the fetcher follows them and the browser gets the final answer under the URL it asked for; the
document itself is loaded at its final URL, so its links resolve as on the live page.

**Bounded.** ``timeout`` bounds the whole render; ``max_bytes`` bounds the bytes of all the
responses together (later requests are aborted) and the HTML returned. Images, media and fonts
are not fetched (links do not depend on them), nor frames; requests other than GET are refused
(rendering sends nothing anywhere); a navigation away from the document (a script's or a meta
refresh's) is answered "204 No Content" so the document stays.

:class:`Renderer` keeps one browser for many pages (the monitor renders through one), from any
thread: Playwright runs on an event loop of its own thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from linkback.errors import BlockedAddress, FetchError, LinkbackError
from linkback.fetch import Fetcher, FetchLimits, FetchResult, GuardPolicy, Resolver

__all__ = ["RenderError", "RenderUnavailable", "RenderedPage", "Renderer", "render_page", "render_unavailable"]

#: Request kinds a render does not fetch: links do not depend on them.
SKIPPED_RESOURCES = frozenset({"image", "media", "font", "manifest", "texttrack", "eventsource", "websocket"})
#: How long a loaded page may take to go quiet (no request for 500 ms) before its DOM is read.
SETTLE_SECONDS = 3.0
#: Response headers not handed to the browser: the body is already decoded and whole.
_DROPPED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"})


class RenderUnavailable(LinkbackError):
    """No browser here (Debian's chromium or the playwright package is missing)."""


class RenderError(FetchError):
    """The page could not be rendered (the browser failed, or the time ran out)."""


@dataclass(frozen=True)
class RenderedPage:
    """A rendered page: the URL the document was shown at, its HTTP status, and its DOM as HTML.

    ``refused`` lists the requests the SSRF guard refused, ``(url, why)``; ``failed`` those that
    failed otherwise (or were not made: over the byte budget, not GET); ``truncated`` says the
    HTML was cut at ``max_bytes``.
    """

    final_url: str
    status: int
    html: str
    refused: tuple[tuple[str, str], ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    truncated: bool = False


def render_unavailable() -> str | None:
    """Why pages cannot be rendered here, or None when they can."""
    from linkback.conformance.browser_links import browser_missing  # noqa: PLC0415

    return browser_missing()


def render_page(url: str, *, policy: GuardPolicy, resolver: Resolver, timeout: float, max_bytes: int) -> RenderedPage:
    """Render ``url`` in headless Chromium (see the module docstring): one browser, one page.

    Raises :class:`RenderUnavailable` without a browser, :class:`~linkback.errors.BlockedAddress`
    when the guard refuses the URL itself, :class:`~linkback.errors.FetchError` when the document
    cannot be fetched, :class:`RenderError` when the browser fails or ``timeout`` runs out.
    """
    with Renderer(policy=policy, resolver=resolver, timeout=timeout, max_bytes=max_bytes) as renderer:
        return renderer.render(url)


@dataclass
class _Budget:
    """What one render may still spend, and what it refused."""

    bytes_left: int
    refused: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    served: bool = False


class Renderer:
    """One headless Chromium for many renders, from any thread; close it at the end.

    The browser starts with the first :meth:`render`. ``fetcher`` replaces the one made from
    ``policy`` and ``resolver`` (its guard is what every request of a page goes through).
    """

    def __init__(
        self,
        *,
        policy: GuardPolicy,
        resolver: Resolver,
        timeout: float = 20.0,
        max_bytes: int = 5_000_000,
        fetcher: Fetcher | None = None,
        user_agent: str | None = None,
    ) -> None:
        why = render_unavailable()
        if why:
            raise RenderUnavailable(why)
        self.timeout = timeout
        self.max_bytes = max_bytes
        limits = FetchLimits(max_bytes=max_bytes, timeout=min(timeout, 15.0))
        self._own_fetcher = fetcher is None
        if fetcher is None:
            fetcher = Fetcher(policy=policy, limits=limits, resolver=resolver)
            if user_agent:
                fetcher.user_agent = user_agent
        self.fetcher = fetcher
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="linkback-render-fetch")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="linkback-render", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._closed = False

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, url: str, *, document: FetchResult | None = None) -> RenderedPage:
        """Render ``url``. ``document`` is its answer when the caller has fetched it already (the
        monitor has): it is shown at its final URL instead of being fetched again."""
        if self._closed:
            raise RenderError("the renderer is closed", url=url, reason="render")
        if document is None:
            document = self.fetcher.fetch(url, limits=self._limits())
        future = asyncio.run_coroutine_threadsafe(self._render(document), self._loop)
        try:
            return future.result(timeout=self.timeout + 15.0)
        except FutureTimeout:
            future.cancel()
            raise RenderError(f"rendering took longer than {self.timeout:g} s", url=url, reason="timeout") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
        except Exception:  # noqa: BLE001 - a browser that died is closed enough
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._own_fetcher:
            self.fetcher.close()

    # --- on the renderer's loop --------------------------------------------------------------------

    def _limits(self) -> FetchLimits:
        return FetchLimits(max_bytes=self.max_bytes, timeout=min(self.timeout, 15.0))

    async def _browser_started(self) -> Any:
        if self._browser is None:
            from playwright.async_api import async_playwright  # noqa: PLC0415 - optional, heavy

            from linkback.conformance.browser_links import CHROMIUM, CHROMIUM_ARGS  # noqa: PLC0415

            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND", "--blink-settings=imagesEnabled=false"],
            )
        return self._browser

    async def _shutdown(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = self._playwright = None

    async def _render(self, document: FetchResult) -> RenderedPage:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            browser = await self._browser_started()
        except Exception as exc:  # noqa: BLE001 - Playwright's errors are not ours to leak
            raise RenderError(
                f"the browser did not start ({_first_line(exc)})", url=document.url, reason="render"
            ) from None
        budget = _Budget(self.max_bytes - len(document.body))
        context = await browser.new_context(service_workers="block", accept_downloads=False)
        try:
            page = await context.new_page()
            await page.route("**/*", self._router(page, document, budget, deadline))
            try:
                await page.goto(document.final_url, wait_until="load", timeout=_ms(deadline - loop.time()))
            except Exception as exc:  # noqa: BLE001 - a timeout or a crash of the page
                if not budget.served:
                    raise RenderError(
                        f"the page did not load ({_first_line(exc)})", url=document.url, reason="render"
                    ) from None
            settle = min(SETTLE_SECONDS, deadline - loop.time())
            if settle > 0:
                try:
                    await page.wait_for_load_state("networkidle", timeout=_ms(settle))
                except Exception:  # noqa: BLE001 - a page that never goes quiet is read as it is
                    pass
            html = await page.content()
            final_url = page.url if page.url.startswith(("http://", "https://")) else document.final_url
        finally:
            await context.close()
        data = html.encode("utf-8", "replace")
        truncated = len(data) > self.max_bytes
        if truncated:
            html = data[: self.max_bytes].decode("utf-8", "ignore")
        return RenderedPage(final_url, document.status, html, tuple(budget.refused), tuple(budget.failed), truncated)

    def _router(self, page: Any, document: FetchResult, budget: _Budget, deadline: float) -> Callable[[Any], Any]:
        loop = asyncio.get_running_loop()

        async def route(r: Any) -> None:
            request = r.request
            url = request.url
            try:
                if request.is_navigation_request() and request.frame == page.main_frame:
                    if not budget.served:
                        budget.served = True
                        await r.fulfill(status=document.status, headers=_headers(document), body=document.body)
                    else:  # a script or a refresh taking the page elsewhere: the document stays
                        budget.failed.append((url, "navigation away from the document: not followed"))
                        await r.fulfill(status=204, body=b"")
                    return
                why = _not_fetched(request, budget, deadline - loop.time())
                if why:
                    if why != "skipped":
                        budget.failed.append((url, why))
                    await r.abort("blockedbyclient")
                    return
                headers = {"Accept": request.headers.get("accept", "*/*")}
                fetch = self.fetcher.fetch
                limits = FetchLimits(max_bytes=max(budget.bytes_left, 1), timeout=max(deadline - loop.time(), 0.1))
                try:
                    result = await loop.run_in_executor(
                        self._pool, lambda: fetch(url, method=request.method, headers=headers, limits=limits)
                    )
                except BlockedAddress as exc:
                    budget.refused.append((url, _why(exc)))
                    await r.abort("blockedbyclient")
                    return
                except FetchError as exc:
                    budget.failed.append((url, _why(exc)))
                    await r.abort("failed")
                    return
                budget.bytes_left -= len(result.body)
                await r.fulfill(status=result.status, headers=_headers(result), body=result.body)
            except Exception:  # noqa: BLE001 - the page closed under the request: nothing to answer
                pass

        return route


def _not_fetched(request: Any, budget: _Budget, time_left: float) -> str:
    """Why a page's request is not fetched ("skipped" for what links do not need), or ""."""
    if request.resource_type in SKIPPED_RESOURCES or request.is_navigation_request():
        return "skipped"  # images and the like; frames (their documents are not this page's DOM)
    if request.method not in ("GET", "HEAD"):
        return f"{request.method} request: rendering sends nothing"
    if budget.bytes_left <= 0:
        return "over the render's byte budget"
    if time_left <= 0:
        return "over the render's time limit"
    return ""


def _headers(result: FetchResult) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in result.headers:
        key = name.lower()
        if key in _DROPPED_HEADERS:
            continue
        headers[key] = f"{headers[key]}, {value}" if key in headers and key != "set-cookie" else value
    return headers


def _why(exc: FetchError) -> str:
    message = str(exc)
    return f"{exc.reason}: {message.removeprefix(exc.url + ': ')}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _ms(seconds: float) -> float:
    return max(seconds, 0.1) * 1000.0
