"""The crawl's spider: seeds, a scope, a depth and a page budget; it follows ``<a href>`` links.

The spider parses no content of its own beyond the links to follow: pages are kept as WARC
records (:mod:`linkback.crawl._warc`) and indexed by ``extract()`` at ingest, like any archive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure

from linkback.crawl._scope import Scope, ScopeKind

class LinkSpider(scrapy.Spider):
    name = "linkback"

    def __init__(
        self,
        seeds: list[str],
        scope: ScopeKind = "site",
        depth: int = 3,
        max_pages: int = 1000,
        on_page: Callable[[dict[str, Any]], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.seeds = list(seeds)
        self.scope = Scope.of(self.seeds, scope)
        self.depth = 0 if scope == "list" else depth
        self.max_pages = max_pages
        self.on_page = on_page
        self.scheduled: set[str] = set()
        self.links = LinkExtractor(unique=True)

    async def start(self) -> AsyncIterator[Any]:
        for url in self.seeds:
            request = self._request(url)
            if request is not None:
                yield request

    def _request(self, url: str) -> scrapy.Request | None:
        url = url.split("#", 1)[0]
        if url in self.scheduled or len(self.scheduled) >= self.max_pages:
            return None
        self.scheduled.add(url)
        return scrapy.Request(url, callback=self.parse, errback=self.failed)

    def parse(self, response: Response, **_: Any) -> Iterable[scrapy.Request]:
        self._count("crawl/pages")
        if self.on_page is not None:
            assert self.crawler.stats is not None
            self.on_page(self.crawler.stats.get_stats())
        if not isinstance(response, TextResponse) or response.meta.get("depth", 0) >= self.depth:
            return
        for link in self.links.extract_links(response):
            if self.scope.allows(link.url):
                request = self._request(link.url)
                if request is not None:
                    yield request

    def failed(self, failure: Failure) -> None:
        # Robots and guard refusals are counted where they happen; this counts the rest.
        from scrapy.exceptions import IgnoreRequest  # noqa: PLC0415
        from scrapy.spidermiddlewares.httperror import HttpError  # noqa: PLC0415

        if failure.check(HttpError):
            self._count("crawl/pages")  # an error page is a page fetched (and archived)
        elif not failure.check(IgnoreRequest):
            self._count(f"crawl/errors/{failure.type.__name__ if failure.type else 'error'}")
            message = str(failure.value)
            if "SSRF guard" in message:
                self._count("guard/refused/resolver")

    def _count(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)
