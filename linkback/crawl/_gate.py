"""The crawl's gate: Scrapy's HTTP download handler, which sends nothing before what came before
it is kept (imported by Scrapy, from the crawl's settings, once its reactor is installed)."""

from __future__ import annotations

import time
from typing import Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

from linkback.crawl._live import context_of


class GatedDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP handler, which sends a request only once every response received before
    it is kept: the page ended (its links found) and the frontier committed
    (:meth:`CrawlContext.settled`). It sits where the request leaves for the network, after the
    download slot's delay and concurrency, so a crawl killed at any moment has no page to fetch
    again but those whose answers were still on their way."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.crawler = crawler
        self.context = context_of(crawler.settings)

    async def download_request(self, request: Any) -> Any:
        if self.context is None:
            return await super().download_request(request)
        own = request.meta.get("frontier_url", "")
        if await self.context.settled(own):
            # It waited: the host's next request keeps its delay from now, not from before.
            slot = self.crawler.engine.downloader.slots.get(request.meta.get("download_slot") or "")
            if slot is not None:
                slot.lastseen = time.monotonic()
        response = await super().download_request(request)
        # Before the download slot is free for the next request: that one now waits for this page.
        if request.meta.get("frontier_url"):
            self.context.received(request.meta["frontier_url"])
        return response
