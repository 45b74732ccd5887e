"""One crawl: Scrapy's settings made polite and guarded, the run, and its summary.

The Twisted reactor cannot be restarted, so :func:`run_crawl` runs once per process (the CLI's
own; a server would start a process per crawl job).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import linkback
from linkback.crawl._errors import CrawlError
from linkback.crawl._scope import SCOPES, ScopeKind

#: The robots.txt product token: ``User-agent: linkback`` groups apply to us.
ROBOTS_TOKEN = "linkback"
DEFAULT_DELAY = 1.0
DEFAULT_MAX_BYTES = 10 * 2**20  # per response: pages, not videos
DEFAULT_WARC_BYTES = 10**9
#: How many of the URLs that ended without a page the summary lists (all are counted).
UNFETCHED_LISTED = 1000


@dataclass
class CrawlSummary:
    pages: int = 0  # responses to the spider's requests (robots.txt and redirect hops not counted)
    statuses: dict[str, int] = field(default_factory=dict)  # every response, robots.txt included
    robots_denied: int = 0  # requests robots.txt disallowed
    robots_unavailable: int = 0  # requests not sent: their host's robots.txt answered 5xx or 429, or nothing
    refused: dict[str, int] = field(default_factory=dict)  # by reason
    refused_hosts: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    crawl_delays: dict[str, float] = field(default_factory=dict)
    retry_after_waits: int = 0
    bytes: int = 0
    warc_files: list[str] = field(default_factory=list)
    finish_reason: str = ""
    revisits: int = 0  # responses archived as revisit records (payload unchanged)
    rendered: int = 0  # pages rendered in headless Chromium (--render), archived as conversion records
    render_failed: dict[str, int] = field(default_factory=dict)  # by reason: those pages kept as fetched
    crawl_id: str = ""  # the crawl's directory: its frontier in the store
    run: int = 0  # which crawl of that directory (1, 2...)
    resumed: bool = False  # a stopped run went on
    ingest: dict[str, Any] | None = None  # what the live ingest stored (None: not ingested)
    caught_up: list[dict[str, Any]] = field(default_factory=list)  # files of a stopped crawl ingested first
    problems: list[str] = field(default_factory=list)  # the frontier or the ingest failed (the WARC is whole)
    # The run's URLs that ended without a page of their own, as the frontier keeps them (a
    # resumed run's included): how many per reason, and the first UNFETCHED_LISTED of them.
    unfetched: dict[str, int] = field(default_factory=dict)
    unfetched_urls: list[dict[str, str]] = field(default_factory=list)  # url, state, reason

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def note_unfetched(self, ended: Sequence[tuple[str, str, str | None]]) -> None:
        """Count and list the URLs that ended without a page (:func:`~linkback.crawl._frontier.unfetched`)."""
        self.unfetched = dict(Counter(reason or "" for _, _, reason in ended))
        self.unfetched_urls = [
            {"url": url, "state": state, "reason": reason or ""} for url, state, reason in listed_fairly(ended)
        ]


def listed_fairly(
    ended: Sequence[tuple[str, str, str | None]], limit: int | None = None
) -> list[tuple[str, str, str | None]]:
    """At most ``limit`` (UNFETCHED_LISTED) of ``ended``, each reason given an equal share of the
    places (a reason with fewer URLs leaves its rest to the others), in their order: 6,000 URLs
    robots.txt denied do not hide the one that was too big.

    >>> listed_fairly([("a", "failed", "x"), ("b", "failed", "x"), ("c", "failed", "x"), ("d", "failed", "y")], 2)
    [('a', 'failed', 'x'), ('d', 'failed', 'y')]
    """
    limit = UNFETCHED_LISTED if limit is None else limit
    if len(ended) <= limit:
        return list(ended)
    by_reason: dict[str | None, list[int]] = {}
    for i, (_, _, reason) in enumerate(ended):
        by_reason.setdefault(reason, []).append(i)
    places = dict.fromkeys(by_reason, 0)
    left = limit
    while left:
        wanting = [r for r in by_reason if places[r] < len(by_reason[r])]
        share = max(1, left // len(wanting))
        for r in wanting:
            more = min(share, len(by_reason[r]) - places[r], left)
            places[r] += more
            left -= more
            if not left:
                break
    chosen = sorted(i for r, n in places.items() for i in by_reason[r][:n])
    return [ended[i] for i in chosen]


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
    context: str = "",
    allow_private_hosts: Sequence[str] = (),
) -> dict[str, Any]:
    """Scrapy settings: polite (robots, one connection per host, delay with jitter, AutoThrottle
    with our floors), guarded (resolver, middleware, no proxies) and archived (WARC).
    ``context`` is the key of the crawl's :class:`~linkback.crawl._live.CrawlContext`;
    ``allow_private_hosts`` the ``--allow-private-host`` entries, as written."""
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
            # robots.txt as RFC 9309 reads it: unreadable (5xx, no answer) disallows its host
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            f"{here}._robots.RobotsMiddleware": 100,
            f"{here}._warc.WarcWriterMiddleware": 950,  # sees responses as downloaded
            # a body that decompresses past DOWNLOAD_MAXSIZE is cut there, as archived and stored
            "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
            f"{here}._decompress.CappedDecompressionMiddleware": 590,
        },
        # The spider decides which links it queues (depth, URLLENGTH_LIMIT) and ends those it will
        # not fetch with their reason: these would drop a URL the frontier holds queued, unsaid.
        "SPIDER_MIDDLEWARES": {
            "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
            "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
        },
        # Nothing is sent before what came before it is kept (the frontier, for resuming).
        "DOWNLOAD_HANDLERS": {
            "http": f"{here}._gate.GatedDownloadHandler",
            "https": f"{here}._gate.GatedDownloadHandler",
        },
        "LINKBACK_CONTEXT": context,
        "LINKBACK_ALLOW_PRIVATE": allow_private,
        "LINKBACK_ALLOW_PRIVATE_HOSTS": list(allow_private_hosts),
        "LINKBACK_RESOLVE": dict(resolve or {}),
        "LINKBACK_WARC_DIR": str(out),
        "LINKBACK_WARC_MAX_BYTES": warc_max_bytes,
    }


def check_seeds(seeds: Sequence[str], *, resume: bool = False) -> list[str]:
    """The seeds, checked: http(s) URLs, at least one unless a stopped crawl is resumed."""
    if not seeds and not resume:
        raise CrawlError("give at least one seed URL")
    bad = [s for s in seeds if not re.match(r"(?i)^https?://[^/?#]+", s)]
    if bad:
        raise CrawlError(f"seeds must be http(s) URLs: {', '.join(bad[:3])}")
    return list(seeds)


@dataclass
class CrawlOptions:
    """How a crawl goes (plain data: a crawl job hands it to the process that crawls)."""

    scope: ScopeKind = "site"
    depth: int = 3
    max_pages: int = 1000
    delay: float = DEFAULT_DELAY
    agent: str = ""
    allow_private: bool = False
    #: ``--allow-private-host`` entries as written (plain data: they go to the crawling process as JSON).
    allow_private_hosts: list[str] = field(default_factory=list)
    warc_max_bytes: int = DEFAULT_WARC_BYTES
    resolve: dict[str, str] = field(default_factory=dict)
    polite: bool = True
    concurrency: int = 16
    render: bool = False
    render_timeout: float = 20.0

    def check(self) -> None:
        if self.scope not in SCOPES:
            raise CrawlError(f"scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")
        if self.depth < 0 or self.max_pages < 1 or self.delay < 0:
            raise CrawlError("depth must be ≥ 0, max pages ≥ 1 and the delay ≥ 0")
        from linkback.fetch import private_hosts  # noqa: PLC0415

        private_hosts(self.allow_private_hosts)  # a bad entry is said here, not by Scrapy's middleware


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
    allow_private_hosts: Sequence[str] = (),
    warc_max_bytes: int = DEFAULT_WARC_BYTES,
    resolve: Mapping[str, str] | None = None,
    on_page: Callable[[dict[str, Any]], None] | None = None,
    db: str | Path | None = None,
    ingest: bool = True,
    resume: bool = False,
    workers: int = 1,
    polite: bool = True,
    concurrency: int = 16,
    render: bool = False,
    render_timeout: float = 20.0,
    flush_seconds: float = 2.0,
) -> CrawlSummary:
    """Crawl from ``seeds`` into WARC files under ``out``, ingesting the pages into the store
    ``db`` as they come; once per process (threads keep the frontier and the index).

    The frontier lives in ``db`` too: a crawl of a directory whose last crawl was stopped goes
    on with what it had queued (``resume`` insists on that; seeds may then be left out), and
    first ingests what the stopped one archived but had not stored. ``db=None``: a throw-away
    store in memory (no resuming). ``resolve`` maps host names to addresses (tests: to
    127.0.0.1, with ``allow_private`` or ``allow_private_hosts``, the ``--allow-private-host``
    entries). ``polite=False`` (benchmarks only: no delay, robots.txt
    or AutoThrottle) and ``concurrency`` requests per host. ``render``: every HTML page is also
    rendered in headless Chromium (:mod:`linkback.render`, through the same SSRF guard), its DOM
    archived as a ``conversion`` record and ingested, and its links followed. Pages reach the
    store at most ``flush_seconds`` after they were fetched.
    """
    from linkback.store import Store  # noqa: PLC0415

    options = CrawlOptions(
        scope=scope, depth=depth, max_pages=max_pages, delay=delay, agent=user_agent(contact, agent),
        allow_private=allow_private, allow_private_hosts=list(allow_private_hosts), warc_max_bytes=warc_max_bytes,
        resolve=dict(resolve or {}), polite=polite, concurrency=concurrency, render=render,
        render_timeout=render_timeout,
    )  # fmt: skip
    seeds = check_seeds(seeds, resume=resume)
    options.check()
    directory = crawl_directory(out)
    with Store(str(db) if db is not None else ":memory:") as store:
        return _crawl_with_store(store, seeds, directory, options, on_page, ingest, resume, workers, flush_seconds)


def crawl_directory(out: str | Path) -> Path:
    directory = Path(out).resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrawlError(f"cannot create {directory}: {exc}") from None
    return directory


def _crawl_with_store(
    store: Any,
    seeds: Sequence[str],
    directory: Path,
    options: CrawlOptions,
    on_page: Callable[[dict[str, Any]], None] | None,
    ingest: bool,
    resume: bool,
    workers: int,
    flush_seconds: float,
) -> CrawlSummary:
    from linkback.crawl import _live  # noqa: PLC0415
    from linkback.crawl._frontier import Frontier, unfetched  # noqa: PLC0415
    from linkback.ingest import _checkpoint  # noqa: PLC0415
    from linkback.store import Store  # noqa: PLC0415
    from linkback.store import _write as write  # noqa: PLC0415

    caught_up = _live.catch_up(store, directory, workers) if ingest else []
    frontier_store = Store.borrowing(store.con.cursor(), store.path)
    ingest_store = Store.borrowing(store.con.cursor(), store.path)
    frontier = Frontier(frontier_store, str(directory))
    start = frontier.start(list(seeds), resume=resume)
    context = _live.CrawlContext(
        start=start,
        frontier=_live.FrontierWriter(frontier),
        ingest=_live.LiveIngest(ingest_store, workers=workers, flush_seconds=flush_seconds) if ingest else None,
        archived=dict(start.archived),
    )
    problems: list[str] = []
    try:
        stats = scrape(context, list(seeds), directory, options, on_page, stop_at_once=True)
    finally:
        context.frontier.close()
        stored = context.ingest.close() if context.ingest is not None else None
        problems += [p for p in (context.frontier.error, context.ingest.error if context.ingest else "") if p]
        frontier_store.con.close()
        ingest_store.con.close()
    if stored is not None:
        write.cluster_links(store)
        _checkpoint(store)
    summary = summary_of(stats)
    summary.crawl_id, summary.run, summary.resumed = str(directory), start.run, start.resumed
    summary.ingest = stored.as_dict() if stored is not None else None
    summary.caught_up, summary.problems = caught_up, problems
    summary.note_unfetched(unfetched(store, str(directory), start.run))
    return summary


def scrape(
    context: Any,
    seeds: list[str],
    directory: Path,
    options: CrawlOptions,
    on_page: Callable[[dict[str, Any]], None] | None = None,
    *,
    stop_at_once: bool = False,
) -> dict[str, Any]:
    """Run the Scrapy crawl itself (once per process) with ``context`` keeping what it finds
    (:class:`~linkback.crawl._live.CrawlContext`); Scrapy's stats and ours.

    ``stop_at_once`` (the command at a terminal): Ctrl-C or SIGTERM drops the requests waiting in
    the download slots, stops the crawl, and raises KeyboardInterrupt once what it fetched is
    kept. Scrapy's own first signal lets them go out first, each after the host's delay: a tester
    saw 316 s and ten more requests after a Ctrl-C. The frontier keeps them queued for a resume."""
    from scrapy.crawler import CrawlerProcess  # noqa: PLC0415 - heavy, and installs a reactor

    from linkback.crawl import _live  # noqa: PLC0415
    from linkback.crawl._spider import LinkSpider  # noqa: PLC0415

    seeds = seeds or context.start.seeds  # resumed: the scope is the stopped run's
    if options.render:
        context.renderer = _renderer(options)
    key = _live.register(context)
    settings = crawl_settings(
        out=directory, delay=options.delay, agent=options.agent, allow_private=options.allow_private,
        warc_max_bytes=options.warc_max_bytes, resolve=options.resolve, context=key,
        allow_private_hosts=options.allow_private_hosts,
    )  # fmt: skip
    if not options.polite:
        settings.update({"ROBOTSTXT_OBEY": False, "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False})
        settings["EXTENSIONS"] = {"scrapy.extensions.throttle.AutoThrottle": None}
        settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = options.concurrency
    settings["CONCURRENT_REQUESTS"] = max(options.concurrency, 16)
    try:
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(LinkSpider)
        process.crawl(
            crawler, seeds=seeds, scope=options.scope, depth=options.depth, max_pages=options.max_pages,
            on_page=on_page, context=context,
        )  # fmt: skip
        if stop_at_once:
            interrupted = _on_signal(lambda: _stop_now(process, context))
            process.start(install_signal_handlers=False)
            if interrupted:
                raise KeyboardInterrupt
        else:
            process.start()
    finally:
        if context.renderer is not None:
            context.renderer.close()
        _live.unregister(key)
    assert crawler.stats is not None
    return dict(crawler.stats.get_stats())


def _on_signal(stop: Callable[[], None]) -> list[int]:
    """SIGINT and SIGTERM handlers that run ``stop`` in the reactor thread, once (only in the main
    thread, where signals are handled); the signals received, filled in when one comes."""
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        return received

    def handler(signum: int, _frame: Any) -> None:
        from twisted.internet import reactor  # noqa: PLC0415

        if not received:
            received.append(signum)
            reactor.callFromThread(stop)  # type: ignore[attr-defined]

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
    return received


def _stop_now(process: Any, context: Any) -> None:
    """Drop what waits in the download slots (each would go out after its delay), then stop: the
    engine's close waits only for the requests already on the wire."""
    from scrapy.exceptions import IgnoreRequest  # noqa: PLC0415
    from twisted.internet import reactor  # noqa: PLC0415
    from twisted.python.failure import Failure  # noqa: PLC0415

    context.stop()
    for crawler in process.crawlers:
        engine = crawler.engine
        if engine is None:
            continue
        for slot in list(engine.downloader.slots.values()):
            if slot.latercall is not None:
                slot.latercall.cancel()
                slot.latercall = None
            while slot.queue:
                _request, waiting = slot.queue.popleft()
                waiting.errback(Failure(IgnoreRequest("the crawl was stopped")))
        crawler.stop()
    if reactor.running:  # type: ignore[attr-defined]
        reactor.callLater(0, reactor.stop)  # type: ignore[attr-defined,misc,arg-type]


def _renderer(options: CrawlOptions) -> Any:
    """One headless Chromium for the crawl's pages, behind the fetcher's guard."""
    from linkback.crawl._guard import mapped_resolver  # noqa: PLC0415
    from linkback.fetch import GuardPolicy, private_hosts  # noqa: PLC0415
    from linkback.render import Renderer, RenderUnavailable  # noqa: PLC0415

    policy = GuardPolicy(
        allow_private=options.allow_private, allow_private_hosts=private_hosts(options.allow_private_hosts)
    )
    try:
        return Renderer(
            policy=policy,
            resolver=mapped_resolver(options.resolve),
            timeout=options.render_timeout,
            max_bytes=DEFAULT_MAX_BYTES,
            user_agent=options.agent,
        )
    except RenderUnavailable as exc:
        raise CrawlError(f"--render needs a browser: {exc}") from None


def summary_of(stats: Mapping[str, Any]) -> CrawlSummary:
    """The crawl's summary from Scrapy's stats and ours."""

    def under(prefix: str) -> dict[str, Any]:
        return {k[len(prefix) :]: v for k, v in sorted(stats.items()) if k.startswith(prefix)}

    return CrawlSummary(
        pages=int(stats.get("crawl/pages", 0)),
        statuses={k: int(v) for k, v in under("downloader/response_status_count/").items()},
        robots_denied=int(stats.get("robotstxt/forbidden", 0)),
        robots_unavailable=int(stats.get("robotstxt/unavailable", 0)),  # linkback.crawl._robots.UNAVAILABLE_STAT
        refused={k: int(v) for k, v in under("guard/refused/").items()},
        refused_hosts=list(stats.get("guard/refused_hosts", [])),
        errors={k: int(v) for k, v in under("crawl/errors/").items()},
        crawl_delays={k: float(v) for k, v in under("politeness/crawl_delay/").items()},
        retry_after_waits=int(stats.get("politeness/retry_after", 0)),
        bytes=int(stats.get("downloader/response_bytes", 0)),
        warc_files=list(stats.get("warc/files", [])),
        finish_reason=str(stats.get("finish_reason", "")),
        revisits=int(stats.get("warc/revisits", 0)),
        rendered=int(stats.get("render/pages", 0)),
        render_failed={k: int(v) for k, v in under("render/failed/").items()},
    )
