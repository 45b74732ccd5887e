"""The SSRF guard in the crawler: the fetcher's rules (:mod:`linkback.fetch._guard`), twice.

* :class:`GuardMiddleware` (a downloader middleware, before robots.txt) runs
  :func:`~linkback.fetch.check_url` on each new scheme, host and port: scheme, userinfo, the port
  allow-list, and every address the host resolves to. A refusal is a ``NotFetched``
  (``refused/<reason>`` in the frontier), counted under ``guard/refused/<reason>`` and listed
  once per host in ``guard/refused_hosts``.
* :class:`GuardedResolver` (``TWISTED_DNS_RESOLVER``) is the resolver Scrapy connects
  through: it refuses an answer :func:`~linkback.fetch.address_refusal` refuses, so a host
  that passed the check and then resolves elsewhere (DNS rebinding) is still not reached.

``LINKBACK_ALLOW_PRIVATE`` switches the address and port checks off (as the fetcher's
``allow_private``); ``LINKBACK_ALLOW_PRIVATE_HOSTS`` (a list of ``--allow-private-host``
entries) opens them for those hosts only, in both places; ``LINKBACK_RESOLVE`` (name → address)
exists for tests, which map their host names to 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.threads import deferToThread

from linkback.crawl._reasons import REFUSED, NotFetched
from linkback.errors import FetchError
from linkback.fetch import GuardPolicy, Resolver, check_url, connect_refusal, private_hosts, system_resolver

REFUSED_HOSTS = "guard/refused_hosts"


def mapped_resolver(names: Mapping[str, str]) -> Resolver:
    """The system resolver, except for ``names`` (tests: their hosts on 127.0.0.1)."""

    def resolve(host: str, port: int) -> list[str]:
        if host in names:
            return [names[host]]
        return system_resolver(host, port)

    return resolve


def policy_of(settings: Any) -> GuardPolicy:
    """The guard the crawl's settings ask for."""
    return GuardPolicy(
        allow_private=settings.getbool("LINKBACK_ALLOW_PRIVATE"),
        allow_private_hosts=private_hosts(settings.getlist("LINKBACK_ALLOW_PRIVATE_HOSTS")),
    )


class GuardMiddleware:
    """Refuses requests the fetcher would refuse, before anything (robots.txt too) is sent."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.policy = policy_of(settings)
        self.resolver = mapped_resolver(settings.getdict("LINKBACK_RESOLVE"))
        self.stats = crawler.stats
        self.verdicts: dict[tuple[str, str, int | None], str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GuardMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        key = (parts.scheme, parts.hostname or "", parts.port)
        if key not in self.verdicts:
            # check_url resolves the name: in a thread, the reactor keeps crawling other hosts.
            self.verdicts[key] = await maybe_deferred_to_future(deferToThread(self._verdict, request.url))
            if self.verdicts[key] is not None:
                self._record(request.url, self.verdicts[key] or "")
        verdict = self.verdicts[key]
        if verdict is not None:
            assert self.stats is not None
            reason = verdict.split(":", 1)[0]
            self.stats.inc_value(f"guard/refused/{reason}")
            raise NotFetched(f"{REFUSED}/{reason}", f"refused by the SSRF guard: {verdict}")

    def _verdict(self, url: str) -> str | None:
        """None when the guard allows ``url``, else "reason: detail"."""
        try:
            check_url(url, self.policy, self.resolver)
        except FetchError as exc:
            message = str(exc)
            return f"{exc.reason}: {message.removeprefix(exc.url + ': ')}"
        return None

    def _record(self, url: str, verdict: str) -> None:
        assert self.stats is not None
        reason, _, detail = verdict.partition(": ")
        hosts = self.stats.get_value(REFUSED_HOSTS) or []
        hosts.append({"url": url, "reason": reason, "detail": detail})
        self.stats.set_value(REFUSED_HOSTS, hosts)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing the addresses the fetcher refuses."""

    def __init__(self, reactor: Any, cache_size: int, timeout: float, names: Mapping[str, str], policy: GuardPolicy):
        super().__init__(reactor, cache_size, timeout)
        self.names = dict(names)
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(
            reactor,
            cache_size,
            settings.getfloat("DNS_TIMEOUT"),
            settings.getdict("LINKBACK_RESOLVE"),
            policy_of(settings),
        )

    def getHostByName(self, name: str, timeout: Any = ()) -> defer.Deferred[str]:  # noqa: N802 - Twisted's name
        if name in self.names:
            answer: defer.Deferred[str] = defer.succeed(self.names[name])
        else:
            answer = super().getHostByName(name, timeout)
        return answer.addCallback(self._checked, name)

    def _checked(self, address: str, name: str) -> str:
        reason = connect_refusal(self.policy, name, ipaddress.ip_address(address))
        if reason is not None:
            raise DNSLookupError(f"{name} is {address}, a {reason} address: refused by the SSRF guard")
        return address
