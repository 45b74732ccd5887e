"""``linkback serve``: the FastAPI app, its settings and the parts it owns (DESIGN §2, §6).

The app owns the database: one :class:`~linkback.store.Store`, one writer thread
(:class:`~linkback.server._writer.DbWriter`) through which every change goes, read cursors per
request thread, and the :class:`~linkback.server._runner.JobRunner` that verifies mentions and
delivers webhooks. It advertises itself next to the database file so the CLI hands its work to
it instead of failing on the lock.
"""

from __future__ import annotations

import gc
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.middleware import Middleware

from linkback import mentions
from linkback.client import Advert
from linkback.errors import ProtocolError
from linkback.fetch import Fetcher, FetchLimits, GuardPolicy, private_hosts, system_resolver
from linkback.secrets import new_token, token_hash, token_matches
from linkback.server._cache import WriteCache
from linkback.server._jobs import JobLanes
from linkback.server._limits import Rate, RateLimiter, address_group, is_loopback
from linkback.server._runner import JobRunner
from linkback.server._writer import DbWriter
from linkback.store import Store
from linkback.urls import host_of, split_host

log = logging.getLogger("linkback.server")

#: Verifications waiting for their first attempt, all sites together, beyond which a new
#: Webmention, Pingback or TrackBack is refused for now: a flood (sources on many hosts, so no
#: per-host bucket fills) must not make a real mention wait behind tens of thousands.
MAX_QUEUED_VERIFICATIONS = 1000
#: How long the count of queued verifications is trusted before it is counted again (seconds).
QUEUE_RECOUNT_SECONDS = 2.0
#: What a sender refused for a full queue is told to wait (seconds).
QUEUE_RETRY_AFTER = 60


@dataclass
class Settings:
    db: str
    allow_private: bool = False
    #: ``--allow-private-host`` entries: the private hosts, addresses and networks its fetcher may
    #: reach. Only the operator's command line and environment set them: a caller never widens them.
    allow_private_hosts: Sequence[str] = ()
    #: The admin token; or only its hash (``admin_token_hash``), as ``linkback serve`` keeps it.
    admin_token: str = ""
    admin_token_hash: str = ""
    #: Answer every Pingback fault but 48 as the generic fault 0, as WordPress does.
    generic_pingback_faults: bool = False
    pair_rate: Rate = field(default_factory=lambda: Rate(5, 30.0))
    host_rate: Rate = field(default_factory=lambda: Rate(300, 0.05))
    #: Linkbacks from one client address (its /24 or /64), whatever their sources. Loopback
    #: clients are not limited: behind a reverse proxy on the same machine every sender is one.
    client_rate: Rate = field(default_factory=lambda: Rate(100, 3.0))
    #: Linkbacks waiting for their first verification beyond which new ones are refused (429).
    max_queued: int = MAX_QUEUED_VERIFICATIONS
    verify_workers: int = 4
    poll_seconds: float = 1.0
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)
    resolver: Callable[[str, int], list[str]] = system_resolver
    #: Write ``<db>.server.json`` (URL, pid, this run's token) so the CLI finds the server.
    advertise_url: str = ""
    #: DuckDB threads for the server's own work.
    duckdb_threads: int = 1
    #: First webhook retry after this many seconds, then 3x longer each time.
    webhook_retry_seconds: float = 10.0
    #: Move what start-up made out of the garbage collector's sight (``linkback serve``: the
    #: process is the server's alone). Off where the app lives in a larger process (tests, an
    #: embedding), whose every object a start-up collection would walk.
    freeze_gc: bool = False


class ServerState:
    """Everything a request handler needs, created at start-up and closed at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db)
        # The server's queries are small; a second DuckDB thread only doubles their CPU cost.
        self.store.con.execute(f"SET threads = {int(settings.duckdb_threads)}")
        self.writer = DbWriter(self.store)
        # The dashboard's pages as read since the last write (any write drops them).
        self.page_cache = WriteCache(self.store)
        # Who may call the admin API: the admin token (kept as its hash) or this run's token,
        # which only the advert beside the database (mode 0600) tells.
        self.session_token = new_token()
        self._token_hashes = [h for h in (settings.admin_token_hash, token_hash(settings.admin_token)
                                          if settings.admin_token else "") if h]  # fmt: skip
        self._advert: Advert | None = None
        policy = GuardPolicy(
            allow_private=settings.allow_private, allow_private_hosts=private_hosts(settings.allow_private_hosts)
        )
        self.fetcher = Fetcher(policy=policy, limits=settings.fetch_limits, resolver=settings.resolver)
        self.pair_limiter = RateLimiter(settings.pair_rate)
        self.host_limiter = RateLimiter(settings.host_rate)
        self.client_limiter = RateLimiter(settings.client_rate)
        # (count, monotonic time counted): recounted now and then, raised by each one taken in.
        self._queued: tuple[int, float] | None = None
        self._queued_lock = threading.Lock()
        self._local = threading.local()
        self._sites: list[str] | None = None
        self._rules: list[tuple[str, str, str]] | None = None

        def resolve_source(host: str) -> Sequence[str]:
            return settings.resolver(host.strip("[]"), 80)

        self.jobs = JobLanes(self.job_store, poll_seconds=settings.poll_seconds)
        self.runner = JobRunner(
            self.store,
            self.writer,
            self.fetcher,
            workers=settings.verify_workers,
            poll_seconds=settings.poll_seconds,
            resolve_source=resolve_source,
            webhook_retry_seconds=settings.webhook_retry_seconds,
        )
        # Pingbacks verified while their sender waits get threads of their own (never the
        # request threads), bounded in all and per source host.
        from linkback.server._verifypool import VerifyPool  # noqa: PLC0415 - only the server needs it

        self.pingback_pool = VerifyPool()

    def token_ok(self, token: str) -> bool:
        if not token:
            return False
        return hmac.compare_digest(token.encode(), self.session_token.encode()) or any(
            token_matches(token, h) for h in self._token_hashes
        )

    def bearer_ok(self, authorization: str) -> bool:
        """Does an ``Authorization`` header carry the admin token (``Bearer <token>``)?"""
        token = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
        return self.token_ok(token)

    def request_store(self) -> Store:
        """The store a request (or a job) works on: reads through this thread's cursor, writes go
        to the one writer, fetches through the server's fetcher and guard."""
        store = Store.borrowing(self.reader(), self.store.path, writer=self.writer.call)
        store.fetcher, store.for_client = self.fetcher, True
        return store

    def job_store(self) -> Store:
        """A store for one job: a cursor of its own (closed with the store), writes to the writer."""
        cursor = self.store.con.cursor()
        store = Store.borrowing(cursor, self.store.path, writer=self.writer.call)
        store.fetcher, store.for_client = self.fetcher, True
        store.close = cursor.close  # type: ignore[method-assign]
        return store

    def reader(self):  # noqa: ANN201 - a DuckDB cursor for this thread
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self.store.con.cursor()
        return cur

    # Sites and rules change only through this server while it runs (the CLI calls its API), so
    # they are cached and reloaded whenever an action or job has run.
    def sites(self) -> list[str]:
        if self._sites is None:
            self._sites = [s.site for s in mentions.list_sites(self.reader())]
        return self._sites

    def rules(self) -> list[tuple[str, str, str]]:
        if self._rules is None:
            self._rules = mentions.stored_rules(self.reader())
        return self._rules

    def invalidate(self) -> None:
        self._sites = None
        self._rules = None

    def check_pair(self, source: str, target: str) -> tuple[str, str, str]:
        """:func:`linkback.mentions.check_pair` against the cached sites and rules."""
        return mentions.check_pair(source, target, self.sites(), self.rules())

    def rate_limited(self, source: str, target: str, client: str = "") -> int:
        """0 when the request may go on, else the seconds to wait, from the limit that refused it.

        Every linkback intake (Webmention, Pingback, TrackBack) asks, so they share the buckets."""
        if client and not is_loopback(client) and not self.client_limiter.allow(address_group(client)):
            return self.client_limiter.retry_after()
        if not self.pair_limiter.allow(f"{source} {target}"):
            return self.pair_limiter.retry_after()
        # By registrable domain: with wildcard DNS, every s1.evil.test, s2.evil.test... would
        # otherwise have a bucket of its own; an IP address by its /24 or /64, for the same reason.
        if not self.host_limiter.allow(address_group(split_host(host_of(source)).domain)):
            return self.host_limiter.retry_after()
        return 0

    def queue_full(self) -> int:
        """0 when another verification may be queued, else the seconds to wait (:data:`MAX_QUEUED_VERIFICATIONS`)."""
        if self.settings.max_queued <= 0:
            return 0
        now = time.monotonic()
        with self._queued_lock:
            if self._queued is None or now - self._queued[1] > QUEUE_RECOUNT_SECONDS:
                (count,) = self.reader().execute(
                    "SELECT count(*) FROM mentions WHERE status = 'queued' AND attempts = 0"
                ).fetchone() or (0,)
                self._queued = (int(count), now)
            return QUEUE_RETRY_AFTER if self._queued[0] >= self.settings.max_queued else 0

    def note_queued(self) -> None:
        """One more verification queued: counted at once, so a burst between recounts is bounded too."""
        with self._queued_lock:
            if self._queued is not None:
                self._queued = (self._queued[0] + 1, self._queued[1])

    def start(self) -> None:
        self.runner.start()
        self.jobs.start()
        if self.settings.advertise_url:
            self._advert = Advert(self.settings.db, url=self.settings.advertise_url, token=self.session_token)

    def close(self) -> None:
        if self._advert is not None:
            self._advert.remove()
        self.jobs.stop()
        self.pingback_pool.close()  # before the writer: its verifications store their outcomes
        self.runner.stop()
        self.writer.close()
        self.fetcher.close()
        self.store.close()


def error_response(exc: ProtocolError, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": str(exc.code), "error_description": str(exc)}, status_code=status)


#: Pages whose scripts are inline (Swagger UI's): the dashboard's CSP would leave them blank.
_INLINE_SCRIPT_PAGES = frozenset({"/docs", "/docs/oauth2-redirect"})


class SecurityHeaders:
    """Every answer gets the dashboard's security headers that its route did not set itself.

    Here rather than in each route, so no answer goes without: the framework's 404 and 405, a
    route's JSON error, the CSRF 403, the body limit's 413. An answer with a CSP of its own (the
    embeddable widget's ``frame-ancestors *``) keeps it and gets no ``X-Frame-Options`` either;
    ``no-store`` is added to errors only, so what a route lets be cached stays cacheable.
    """

    def __init__(self, app: Callable) -> None:
        from linkback.server.web._session import SECURITY_HEADERS  # noqa: PLC0415 - web needs the app

        self.app = app
        self._added = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inline_scripts = scope.get("path") in _INLINE_SCRIPT_PAGES

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._with_headers(message, inline_scripts)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _with_headers(self, message: dict, inline_scripts: bool) -> list[tuple[bytes, bytes]]:
        headers = list(message.get("headers", ()))
        present = {name.lower() for name, _ in headers}
        error = message["status"] >= 400
        own_csp = b"content-security-policy" in present or (inline_scripts and not error)
        for name, value in self._added:
            if name in present:
                continue
            if own_csp and name in (b"content-security-policy", b"x-frame-options"):
                continue
            if name == b"cache-control" and not error:
                continue
            headers.append((name, value))
        return headers


def create_app(settings: Settings) -> FastAPI:
    """The linkback server app. ``settings.admin_token`` must be set (``serve`` generates one)."""
    if not settings.admin_token and not settings.admin_token_hash:
        settings.admin_token = secrets.token_urlsafe(24)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        state = ServerState(settings)
        app.state.linkback = state
        state.start()
        if settings.freeze_gc:
            # The objects made at start-up (modules, the app, DuckDB's Python side) live as long as
            # the server: out of the collector's sight, full collections stop costing 100+ ms pauses.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if settings.freeze_gc:
                gc.unfreeze()  # let what start-up made be freed again (DuckDB's bindings check at exit)
            state.close()

    from fastapi_offline import FastAPIOffline  # noqa: PLC0415 - /docs and /redoc with bundled assets
    from starlette.middleware.gzip import GZipMiddleware  # noqa: PLC0415

    from linkback.server import (  # noqa: PLC0415 - routes need the app
        _display,
        _docs,  # noqa: PLC0415
        _feeds,
        _linkbacks,
        _webmention,
        api,
        web,
    )
    from linkback.server._bodylimit import LimitBodies  # noqa: PLC0415

    # /docs and /redoc work offline: their scripts and styles are served from the package.
    app = FastAPIOffline(
        title="linkback",
        summary="Self-hosted backlinks and linkbacks: Webmention, Pingback, TrackBack, Refback.",
        lifespan=lifespan,
        **_docs.app_arguments(),
    )
    _docs.register(app)
    # Pages, tables and scripts go out compressed (a 100-row table: 56 KB → 7 KB). A page that
    # reflects input beside its CSRF token is what BREACH reads through compression; the session
    # cookie is SameSite=Strict, so no other site can make such a page carry the secret.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)  # 9 costs 2x the time for 1% fewer bytes
    # Bodies of the linkback endpoints and of the API are limited while they stream (413 at once).
    app.add_middleware(
        LimitBodies, limits=(*_webmention.BODY_LIMITS, *_linkbacks.BODY_LIMITS, *api.BODY_LIMITS, *web.BODY_LIMITS)
    )
    app.add_middleware(api.TokenFirst)  # added last, so it runs first: no body is read for a stranger

    shared = _shared_routes(
        (_webmention.register, _linkbacks.register, api.register, _display.register, _feeds.register, web.register)
    )
    app.router.routes[0:0] = shared.router.routes
    app.user_middleware[0:0] = shared.user_middleware  # added last: they run first, as when registered here
    app.exception_handlers.update(shared.exception_handlers)
    # Outermost of all, so every answer passes through it, those of other middleware included.
    app.user_middleware.insert(0, Middleware(SecurityHeaders))
    # An exception no handler took is answered by Starlette's ServerErrorMiddleware, which sits
    # outside every middleware of the app: its answer carries the headers itself.
    app.add_exception_handler(500, _server_error)
    return app


async def _server_error(request: Request, exc: Exception) -> PlainTextResponse:
    from linkback.server.web._session import SECURITY_HEADERS  # noqa: PLC0415 - web needs the app

    return PlainTextResponse("Internal Server Error", status_code=500, headers=SECURITY_HEADERS)


#: The routes (and the middleware and error handlers their modules add) every app of the process
#: shares: building them costs more than the rest of an app (FastAPI reads every signature), and
#: they hold nothing of one app — each handler finds its server through the request.
_SHARED: dict[tuple[object, ...], FastAPI] = {}
_SHARED_LOCK = threading.Lock()


def _shared_routes(registers: tuple[Callable[[FastAPI], None], ...]) -> FastAPI:
    from linkback.faces import load_all  # noqa: PLC0415

    # The API has a route per registered function: one registered since (by a test) is a new key.
    key = (registers, tuple((name, id(face.fn)) for name, face in sorted(load_all().items())))
    with _SHARED_LOCK:
        template = _SHARED.get(key)
        if template is None:
            template = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
            for register in registers:
                register(template)
            _SHARED.clear()
            _SHARED[key] = template
        return template


def state_of(request: Request) -> ServerState:
    return request.app.state.linkback
