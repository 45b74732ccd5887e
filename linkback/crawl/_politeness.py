"""Per-host floors Scrapy does not keep by itself: ``Crawl-delay`` and ``Retry-After``.

:class:`PolitenessThrottle` is Scrapy's AutoThrottle (on, replacing it in ``EXTENSIONS``) with
per-host floors on each slot's delay:

* ``robots_parsed``: the host's ``Crawl-delay`` for our user-agent token (Protego), capped
  at ``LINKBACK_MAX_CRAWL_DELAY``;
* ``response_downloaded`` of a 429 or 503 with ``Retry-After`` (seconds or an HTTP date,
  capped at ``LINKBACK_MAX_RETRY_AFTER``): the host's next request waits that long after it;
* ``request_reached_downloader`` and after AutoThrottle's own adjustment: the slot's delay is
  held at the floor, without jitter below it (:func:`held_delay`).

The floors live here, not on the slots, because Scrapy drops an idle slot and rebuilds it with
defaults. Slots and ``_response_downloaded`` are Scrapy's private API: pyproject pins 2.19.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached

from linkback.fetch._retry import retry_after_seconds

__all__ = ["PolitenessThrottle", "held_delay", "retry_after_seconds"]


def held_delay(adaptive: float, crawl_delay: float, retry_wait: float) -> tuple[float, bool]:
    """The slot delay to hold, and whether it is a floor (then without jitter, which would
    take up to half of it off): AutoThrottle's delay, raised to Crawl-delay and to what is
    left of a Retry-After.

    >>> held_delay(1.0, 0.0, 0.0), held_delay(1.0, 5.0, 0.0), held_delay(1.0, 5.0, 8.0)
    ((1.0, False), (5.0, True), (8.0, True))
    """
    floor = max(crawl_delay, retry_wait)
    if floor > adaptive:
        return floor, True
    return adaptive, False


class PolitenessThrottle(AutoThrottle):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)  # NotConfigured unless AUTOTHROTTLE_ENABLED
        settings = crawler.settings
        self.agent = settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT")
        self.max_crawl_delay = settings.getfloat("LINKBACK_MAX_CRAWL_DELAY", 60.0)
        self.max_retry_after = settings.getfloat("LINKBACK_MAX_RETRY_AFTER", 120.0)
        self.crawl_delays: dict[str, float] = {}
        self.retry_until: dict[str, float] = {}  # host → time.monotonic() of the earliest retry
        self.adaptive: dict[str, float] = {}  # host → AutoThrottle's own delay, without our floors
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(self._request_reached, signal=signals.request_reached_downloader)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessThrottle:
        return cls(crawler)

    def _robots_parsed(self, robotparser: RobotParser, request: Request, **_: Any) -> None:
        delay = robotparser.crawl_delay(self.agent)
        host = urlparse_cached(request).hostname or ""
        if delay:
            self.crawl_delays[host] = min(float(delay), self.max_crawl_delay)
            assert self.crawler.stats is not None
            self.crawler.stats.set_value(f"politeness/crawl_delay/{host}", self.crawl_delays[host])

    def _response_downloaded(self, response: Response, request: Request, spider: Any = None) -> None:
        host = urlparse_cached(request).hostname or ""
        value = response.headers.get(b"Retry-After")
        if response.status in (429, 503) and value:
            wait = retry_after_seconds(value.decode("latin-1"), datetime.now(UTC), self.max_retry_after)
            if wait:
                self.retry_until[host] = time.monotonic() + wait
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("politeness/retry_after")
        _key, slot = self._get_slot(request, spider)
        if slot is not None and host in self.adaptive:
            slot.delay = self.adaptive[host]  # AutoThrottle adjusts its own delay, not our floor
        super()._response_downloaded(response, request, spider)
        if slot is not None:
            self.adaptive[host] = slot.delay
        self._hold(request)

    def _request_reached(self, request: Request, **_: Any) -> None:
        self._hold(request)

    def _hold(self, request: Request) -> None:
        assert self.crawler.engine is not None
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(request.meta.get("download_slot") or "")
        if slot is None:
            return
        host = urlparse_cached(request).hostname or ""
        until = self.retry_until.get(host, 0.0)
        if until and until <= time.monotonic():
            del self.retry_until[host]
            until = 0.0
        # A slot waits `delay` after its last request started (slot.lastseen, monotonic).
        retry_wait = max(until - slot.lastseen, 0.0) if until else 0.0
        adaptive = self.adaptive.setdefault(host, slot.delay)
        slot.delay, floor = held_delay(adaptive, self.crawl_delays.get(host, 0.0), retry_wait)
        slot.jitter = 0.0 if floor else downloader._jitter
