"""robots.txt as RFC 9309 reads it: Scrapy's :class:`RobotsTxtMiddleware`, which allows
everything when robots.txt cannot be read, made to decide as the monitor does, by the one rule
of :mod:`linkback.robotstxt`:

* 2xx: the rules, parsed from the first :data:`ROBOTS_MAX_BYTES` (500 KiB, §2.5) only: a
  longer robots.txt is cut while it downloads (the crawl's ``DOWNLOAD_MAXSIZE`` would drop
  it whole), at its last full line;
* 4xx (but 429), or a redirect left unresolved: no rules, everything allowed (§2.3.1.3);
* 429, 5xx (after the retries) or no answer at all (timeouts, refused or reset connections):
  ``robots_unavailable``, nothing of that host is fetched (§2.3.1.4); each page so skipped is
  counted (``robotstxt/unavailable``, beside ``robotstxt/forbidden``; the summary's
  ``robots_unavailable`` and ``robots_denied``), logged, and ended in the frontier with its
  reason (:class:`~linkback.crawl._reasons.NotFetched`);
* a refusal (the SSRF guard) or a name that does not resolve: no rules, the page's own request
  says what is wrong with the host.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from linkback.crawl._reasons import ROBOTS_DENIED, ROBOTS_UNAVAILABLE, NotFetched
from linkback.robotstxt import ROBOTS_MAX_BYTES, robots_body, unavailable_status

logger = logging.getLogger(__name__)

#: The stat of the pages not fetched because their host's robots.txt could not be read.
UNAVAILABLE_STAT = "robotstxt/unavailable"
_ROBOTS_META = "linkback_robots"


class Unavailable(RobotParser):
    """The host's robots.txt could not be read: complete disallow (RFC 9309 §2.3.1.4)."""

    def __init__(self, why: str) -> None:
        self.why = why

    @classmethod
    def from_crawler(cls, crawler: Any, robotstxt_body: bytes) -> Unavailable:  # pragma: no cover - not loaded
        return cls("robots.txt could not be read")

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False

    def sitemaps(self) -> list[str]:
        return []

    def crawl_delay(self, user_agent: str | bytes) -> float | None:
        return None


class RobotsMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with an unreadable robots.txt disallowing its host."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    def _bytes_received(self, data: bytes, request: Request, **_: Any) -> None:
        if not request.meta.get(_ROBOTS_META):
            return
        request.meta["linkback_robots_bytes"] = got = request.meta.get("linkback_robots_bytes", 0) + len(data)
        if got > ROBOTS_MAX_BYTES:
            raise StopDownload(fail=False)  # the rest is never parsed: keep what came

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, Unavailable):
            logger.info(
                "robots_unavailable: %(request)s not fetched, %(why)s",
                {"request": request, "why": rp.why},
                extra={"spider": self.crawler.spider},
            )
            self._stats.inc_value(UNAVAILABLE_STAT)
            raise NotFetched(ROBOTS_UNAVAILABLE, f"robots_unavailable: {rp.why}")
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as exc:  # Scrapy's "Forbidden by robots.txt": the frontier keeps why
            raise NotFetched(ROBOTS_DENIED, str(exc)) from None

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robotsreq = Request(
                f"{url.scheme}://{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                # No size cap: the download stops itself after ROBOTS_MAX_BYTES (_bytes_received).
                meta={"dont_obey_robotstxt": True, _ROBOTS_META: True, "download_maxsize": 0},
                callback=NO_CALLBACK,
            )
            try:
                assert self.crawler.engine is not None
                resp = await self.crawler.engine.download_async(robotsreq)
                await self._parse_robots(resp, netloc, request)
            except Exception as e:  # noqa: BLE001 - each is a verdict on the host's robots.txt
                if not isinstance(e, IgnoreRequest):
                    logger.warning(
                        "Error downloading %(request)s: %(f_exception)s",
                        {"request": robotsreq, "f_exception": e},
                        extra={"spider": self.crawler.spider},
                    )
                self._robots_error(e, netloc)
            self._stats.inc_value("robotstxt/request_count")

        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if unavailable_status(response.status):
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            self._settle(netloc, Unavailable(f"robots.txt answered {response.status}"))
            return
        if not 200 <= response.status < 300:  # 4xx, or a redirect left unresolved: no rules
            response = response.replace(body=b"")
        elif len(response.body) > ROBOTS_MAX_BYTES:
            response = response.replace(body=robots_body(response.body))
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, (IgnoreRequest, DNSLookupError)):
            super()._robots_error(exc, netloc)  # refused, or no such host: the page's request says so
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._settle(netloc, Unavailable(f"robots.txt could not be fetched ({_reason(exc)})"))

    def _settle(self, netloc: str, parser: RobotParser) -> None:
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser
        if isinstance(waiting, Deferred):
            waiting.callback(parser)


def _reason(exc: Exception) -> str:
    name = type(exc).__name__
    if "Timeout" in name or "TimedOut" in name:
        return "timeout"
    return name
