"""The crawl's spider: seeds, a scope, a depth and a page budget; it follows ``<a href>`` links.

The spider parses no content of its own beyond the links to follow: pages are kept as WARC
records (:mod:`linkback.crawl._warc`) and indexed by ``extract()`` as they are written. It
starts from the frontier (:mod:`linkback.crawl._frontier`): the seeds of a new run, or what a
stopped run still had queued; each page it ends (done or failed) goes to the frontier together
with the links found on it, in one transaction, and one that ended without a page of its own
with the reason why (:mod:`linkback.crawl._reasons`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure

from linkback.crawl._decompress import TRUNCATED
from linkback.crawl._frontier import Ending
from linkback.crawl._reasons import (
    DUPLICATE,
    REDIRECT_LIMIT,
    REDIRECT_LOOP,
    REFUSED,
    TOO_BIG,
    URL_TOO_LONG,
    error_name,
    failure_reason,
)
from linkback.crawl._scope import Scope, ScopeKind

if TYPE_CHECKING:
    from linkback.crawl._live import CrawlContext


class LinkSpider(scrapy.Spider):
    name = "linkback"
    #: URLLENGTH_LIMIT: longer URLs are ended ``url-too-long``, never requested (0: no limit).
    max_url_length = 2083

    def __init__(
        self,
        seeds: list[str],
        scope: ScopeKind = "site",
        depth: int = 3,
        max_pages: int = 1000,
        on_page: Callable[[dict[str, Any]], None] | None = None,
        context: CrawlContext | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.seeds = list(seeds)
        self.scope = Scope.of(self.seeds, scope)
        self.depth = 0 if scope == "list" else depth
        self.max_pages = max_pages
        self.on_page = on_page
        self.context = context
        self.scheduled: set[str] = set(context.start.seen) if context is not None else set()
        self.links = LinkExtractor(unique=True)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> LinkSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_url_length = crawler.settings.getint("URLLENGTH_LIMIT", cls.max_url_length)
        crawler.signals.connect(spider._scheduled, signal=scrapy.signals.request_scheduled)
        crawler.signals.connect(spider._dropped, signal=scrapy.signals.request_dropped)
        return spider

    def _scheduled(self, request: scrapy.Request, **_: Any) -> None:
        """A request for a page already answered is its next hop (a redirect, a retry): what
        comes after it on its host need not wait for the page (CrawlContext.hopping)."""
        url = request.meta.get("frontier_url")
        if self.context is not None and url:
            self.context.hop(url)

    def _dropped(self, request: scrapy.Request, **_: Any) -> None:
        """Scrapy's duplicate filter dropped a request: its page would never end (and a resumed
        crawl would fetch it again, for ever). A redirect back to a URL of its own chain is a
        loop (failed); one to a URL fetched already, or a link to a redirect's target, is done."""
        url = request.meta.get("frontier_url")
        if not url:
            return
        chain = request.meta.get("redirect_urls") or []
        if request.url in chain:
            self._count(f"crawl/errors/{REDIRECT_LOOP}")
            self._ended(request.meta, "failed", [], REDIRECT_LOOP)
        else:
            self._count(f"crawl/dropped/{DUPLICATE}")
            self._ended(request.meta, "done", [], DUPLICATE)

    async def start(self) -> AsyncIterator[Any]:
        todo = self.context.start.queued if self.context is not None else [(url, 0) for url in self.seeds]
        for url, depth in todo:
            url = url.split("#", 1)[0]
            self.scheduled.add(url)
            request = self._make(url, depth)
            if self._too_long(request):  # queued by a crawl that knew no limit: it would never end
                self._count(f"crawl/errors/{URL_TOO_LONG}")
                self._ended(request.meta, "failed", [], URL_TOO_LONG)
                continue
            yield request

    def _make(self, url: str, depth: int) -> scrapy.Request:
        rendering = self.context is not None and self.context.renderer is not None
        return scrapy.Request(
            url,
            callback=self.parse_rendered if rendering else self.parse,
            errback=self.failed,
            meta={"depth": depth, "frontier_url": url},
        )

    def _request(self, url: str, depth: int) -> scrapy.Request | None:
        url = url.split("#", 1)[0]
        if url in self.scheduled or len(self.scheduled) >= self.max_pages:
            return None
        self.scheduled.add(url)
        return self._make(url, depth)

    async def parse_rendered(self, response: Response, **_: Any) -> list[scrapy.Request]:
        """``--render``: an HTML page is rendered in headless Chromium (in a thread, one page at a
        time); the rendered DOM is archived and ingested, and its links are the ones followed.
        A page that cannot be rendered is counted under ``render/failed/<reason>`` and crawled
        as it came."""
        html = isinstance(response, HtmlResponse) and 200 <= response.status < 300
        if not html or self.context is None or self.context.renderer is None:
            return self.parse(response)
        from scrapy.utils.defer import maybe_deferred_to_future  # noqa: PLC0415
        from twisted.internet.threads import deferToThread  # noqa: PLC0415

        from linkback.errors import LinkbackError  # noqa: PLC0415

        try:
            rendered = await maybe_deferred_to_future(
                deferToThread(self.context.renderer.render, response.url, document=_document(response))
            )
        except LinkbackError as exc:
            self._count(f"render/failed/{getattr(exc, 'reason', '') or type(exc).__name__}")
            return self.parse(response)
        if self.context.warc is not None:
            refers_to = response.meta.get("warc_record_id", "")
            self.context.warc.write_rendered(
                rendered.final_url, rendered.status, rendered.html, refers_to, truncated=rendered.truncated
            )
        dom = HtmlResponse(
            url=rendered.final_url,
            body=rendered.html.encode("utf-8", "surrogatepass"),
            encoding="utf-8",
            request=response.request,
        )
        return self.parse(response, links_from=dom)

    def parse(self, response: Response, links_from: TextResponse | None = None, **_: Any) -> list[scrapy.Request]:
        self._count("crawl/pages")
        if self.on_page is not None:
            assert self.crawler.stats is not None
            self.on_page(self.crawler.stats.get_stats())
        requests: list[scrapy.Request] = []
        depth = response.meta.get("depth", 0)
        source = links_from if links_from is not None else response
        if isinstance(source, TextResponse) and depth < self.depth:
            for link in self.links.extract_links(source):
                if self.scope.allows(link.url):
                    request = self._request(link.url, depth + 1)
                    if request is not None:
                        requests.append(request)
        found = [(r.meta["frontier_url"], depth + 1) for r in requests]
        too_long = [r for r in requests if self._too_long(r)]
        for _request in too_long:
            self._count(f"crawl/errors/{URL_TOO_LONG}")
        # Cut at the size cap while decompressed: a page, as archived and stored, but partial.
        partial = TRUNCATED in response.flags
        if partial:
            self._count(f"crawl/errors/{TOO_BIG}")
        refused: list[Ending] = [(r.meta["frontier_url"], "failed", URL_TOO_LONG) for r in too_long]
        self._ended(response.meta, "done", found, TOO_BIG if partial else None, refused)
        return [r for r in requests if not self._too_long(r)]

    def _too_long(self, request: scrapy.Request) -> bool:
        """Is the request's URL past URLLENGTH_LIMIT? Checked here, before it is queued: Scrapy's
        UrlLengthMiddleware would drop it unsaid, and the frontier would hold it queued for ever."""
        return bool(self.max_url_length) and len(request.url) > self.max_url_length

    def failed(self, failure: Failure) -> None:
        from scrapy.spidermiddlewares.httperror import HttpError  # noqa: PLC0415

        reason: str | None = None
        if failure.check(HttpError):
            self._count("crawl/pages")  # an error page is a page fetched (and archived)
            state = "done"
        else:
            state, reason = "failed", failure_reason(failure)
            self._count_failure(failure, reason)
        if self.context is not None and self.context.stopping:
            return  # dropped as the crawl stops: left queued in the frontier for a resume
        request = getattr(failure, "request", None)
        self._ended(request.meta if request is not None else {}, state, [], reason)

    def _count_failure(self, failure: Failure, reason: str) -> None:
        # Robots and guard refusals are counted where they happen; this counts the rest.
        from scrapy.exceptions import IgnoreRequest  # noqa: PLC0415

        if failure.check(IgnoreRequest):
            if reason in (REDIRECT_LIMIT, TOO_BIG):
                self._count(f"crawl/errors/{reason}")
            return
        self._count(f"crawl/errors/{error_name(failure)}")
        if reason == f"{REFUSED}/resolver":
            self._count("guard/refused/resolver")

    def _ended(
        self,
        meta: dict[str, Any],
        state: str,
        found: list[tuple[str, int]],
        reason: str | None = None,
        refused: list[Ending] | None = None,
    ) -> None:
        """The page of ``meta`` ends (``reason``: why, when it ended without a whole page of its
        own), with the links ``found`` on it and those of them ``refused`` (never to be
        requested, ended at once), in one frontier change."""
        url = meta.get("frontier_url")
        if self.context is not None and url:
            self.context.frontier.change(queued=found, done=[(url, state, reason), *(refused or [])])
            self.context.ended(url)

    def _count(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)


def _document(response: Response) -> Any:
    """The crawled answer as the renderer takes it: the page is shown as fetched, not fetched
    again (its scripts, styles and other requests are fetched by the renderer's guarded
    fetcher)."""
    from linkback.fetch import FetchResult  # noqa: PLC0415

    pairs = tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in response.headers.items()
        for value in values
    )
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    essence, _, params = content_type.partition(";")
    charset = params.split("charset=", 1)[1].strip().strip('"').lower() if "charset=" in params else None
    return FetchResult(
        url=response.url,
        final_url=response.url,
        status=response.status,
        headers=pairs,
        body=response.body,
        truncated=False,
        content_type=essence.strip().lower(),
        charset=charset,
        redirects=tuple(response.meta.get("redirect_urls", ())),
        fetched_at=datetime.now(UTC),
    )
