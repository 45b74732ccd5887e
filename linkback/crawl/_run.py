"""One crawl: Scrapy's settings made polite and guarded, the run, and its summary.

The Twisted reactor cannot be restarted, so :func:`run_crawl` runs once per process (the CLI's
own; a server would start a process per crawl job).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import linkback
from linkback.crawl._scope import SCOPES, ScopeKind
from linkback.errors import LinkbackError

#: The robots.txt product token: ``User-agent: linkback`` groups apply to us.
ROBOTS_TOKEN = "linkback"
DEFAULT_DELAY = 1.0
DEFAULT_MAX_BYTES = 10 * 2**20  # per response: pages, not videos
DEFAULT_WARC_BYTES = 10**9


class CrawlError(LinkbackError):
    """A crawl that cannot start: bad seeds, scope or output directory."""

    http_status = 400


@dataclass
class CrawlSummary:
    pages: int = 0  # responses to the spider's requests (robots.txt and redirect hops not counted)
    statuses: dict[str, int] = field(default_factory=dict)  # every response, robots.txt included
    robots_denied: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # by reason
    refused_hosts: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    crawl_delays: dict[str, float] = field(default_factory=dict)
    retry_after_waits: int = 0
    bytes: int = 0
    warc_files: list[str] = field(default_factory=list)
    finish_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def user_agent(contact: str, agent: str | None = None) -> str:
    """An honest User-Agent: who we are and where to reach whoever runs the crawl.

    >>> user_agent("https://example.com/about")
    'linkback/0.1.0 (+https://example.com/about)'
    """
    if agent:
        return agent
    version = linkback.__version__
    return f"{ROBOTS_TOKEN}/{version} (+{contact})" if contact else f"{ROBOTS_TOKEN}/{version}"


def crawl_settings(
    *,
    out: Path,
    delay: float,
    agent: str,
    allow_private: bool,
    warc_max_bytes: int,
    max_bytes: int = DEFAULT_MAX_BYTES,
    resolve: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Scrapy settings: polite (robots, one connection per host, delay with jitter, AutoThrottle
    with our floors), guarded (resolver, middleware, no proxies) and archived (WARC)."""
    here = "linkback.crawl"
    return {
        "USER_AGENT": agent,
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_PARSER": "scrapy.robotstxt.ProtegoRobotParser",
        "ROBOTSTXT_USER_AGENT": ROBOTS_TOKEN,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "DOWNLOAD_DELAY": delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": delay,
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_MAXSIZE": max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_TIMEOUT": 30,
        "RETRY_TIMES": 2,
        "REDIRECT_MAX_TIMES": 10,
        "HTTPPROXY_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "COOKIES_ENABLED": False,
        "LOG_LEVEL": "ERROR",
        "TWISTED_DNS_RESOLVER": f"{here}._guard.GuardedResolver",
        "EXTENSIONS": {
            "scrapy.extensions.throttle.AutoThrottle": None,
            f"{here}._politeness.PolitenessThrottle": 0,
        },
        "DOWNLOADER_MIDDLEWARES": {
            f"{here}._guard.GuardMiddleware": 60,  # before robots.txt is asked for
            f"{here}._warc.WarcWriterMiddleware": 950,  # sees responses as downloaded
        },
        "LINKBACK_ALLOW_PRIVATE": allow_private,
        "LINKBACK_RESOLVE": dict(resolve or {}),
        "LINKBACK_WARC_DIR": str(out),
        "LINKBACK_WARC_MAX_BYTES": warc_max_bytes,
    }


def _check_seeds(seeds: Sequence[str]) -> list[str]:
    if not seeds:
        raise CrawlError("give at least one seed URL")
    bad = [s for s in seeds if not re.match(r"(?i)^https?://[^/?#]+", s)]
    if bad:
        raise CrawlError(f"seeds must be http(s) URLs: {', '.join(bad[:3])}")
    return list(seeds)


def run_crawl(
    seeds: Sequence[str],
    *,
    out: str | Path,
    scope: ScopeKind = "site",
    depth: int = 3,
    max_pages: int = 1000,
    delay: float = DEFAULT_DELAY,
    contact: str = "",
    agent: str | None = None,
    allow_private: bool = False,
    warc_max_bytes: int = DEFAULT_WARC_BYTES,
    resolve: Mapping[str, str] | None = None,
    on_page: Callable[[dict[str, Any]], None] | None = None,
) -> CrawlSummary:
    """Crawl from ``seeds`` into WARC files under ``out``; once per process.

    ``resolve`` maps host names to addresses (tests: to 127.0.0.1, with ``allow_private``).
    """
    from scrapy.crawler import CrawlerProcess  # noqa: PLC0415 - heavy, and installs a reactor

    from linkback.crawl._spider import LinkSpider  # noqa: PLC0415

    seeds = _check_seeds(seeds)
    if scope not in SCOPES:
        raise CrawlError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if depth < 0 or max_pages < 1 or delay < 0:
        raise CrawlError("depth must be ≥ 0, max pages ≥ 1 and the delay ≥ 0")
    directory = Path(out)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrawlError(f"cannot create {directory}: {exc}") from None
    settings = crawl_settings(
        out=directory,
        delay=delay,
        agent=user_agent(contact, agent),
        allow_private=allow_private,
        warc_max_bytes=warc_max_bytes,
        resolve=resolve,
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(LinkSpider)
    process.crawl(crawler, seeds=seeds, scope=scope, depth=depth, max_pages=max_pages, on_page=on_page)
    process.start()
    assert crawler.stats is not None
    return summary_of(crawler.stats.get_stats())


def summary_of(stats: Mapping[str, Any]) -> CrawlSummary:
    """The crawl's summary from Scrapy's stats and ours."""

    def under(prefix: str) -> dict[str, Any]:
        return {k[len(prefix) :]: v for k, v in sorted(stats.items()) if k.startswith(prefix)}

    return CrawlSummary(
        pages=int(stats.get("crawl/pages", 0)),
        statuses={k: int(v) for k, v in under("downloader/response_status_count/").items()},
        robots_denied=int(stats.get("robotstxt/forbidden", 0)),
        refused={k: int(v) for k, v in under("guard/refused/").items()},
        refused_hosts=list(stats.get("guard/refused_hosts", [])),
        errors={k: int(v) for k, v in under("crawl/errors/").items()},
        crawl_delays={k: float(v) for k, v in under("politeness/crawl_delay/").items()},
        retry_after_waits=int(stats.get("politeness/retry_after", 0)),
        bytes=int(stats.get("downloader/response_bytes", 0)),
        warc_files=list(stats.get("warc/files", [])),
        finish_reason=str(stats.get("finish_reason", "")),
    )
