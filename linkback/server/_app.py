"""``linkback serve``: the FastAPI app, its settings and the parts it owns (DESIGN §2, §6).

The app owns the database: one :class:`~linkback.store.Store`, one writer thread
(:class:`~linkback.server._writer.DbWriter`) through which every change goes, read cursors per
request thread, and the :class:`~linkback.server._runner.JobRunner` that verifies mentions and
delivers webhooks. It advertises itself next to the database file so the CLI hands its work to
it instead of failing on the lock.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from linkback import mentions
from linkback.cli._handoff import advert_path
from linkback.errors import ProtocolError
from linkback.fetch import Fetcher, FetchLimits, GuardPolicy, system_resolver
from linkback.server._limits import Rate, RateLimiter
from linkback.server._runner import JobRunner
from linkback.server._writer import DbWriter
from linkback.store import Store
from linkback.urls import host_of

log = logging.getLogger("linkback.server")


@dataclass
class Settings:
    db: str
    allow_private: bool = False
    admin_token: str = ""
    #: Answer every Pingback fault but 48 as the generic fault 0, as WordPress does.
    generic_pingback_faults: bool = False
    pair_rate: Rate = field(default_factory=lambda: Rate(5, 30.0))
    host_rate: Rate = field(default_factory=lambda: Rate(300, 0.05))
    verify_workers: int = 4
    poll_seconds: float = 1.0
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)
    resolver: Callable[[str, int], list[str]] = system_resolver
    #: Write ``<db>.server.json`` (URL, pid, token) so the CLI finds the server.
    advertise_url: str = ""
    #: DuckDB threads for the server's own work.
    duckdb_threads: int = 1
    #: First webhook retry after this many seconds, then 3x longer each time.
    webhook_retry_seconds: float = 10.0


class ServerState:
    """Everything a request handler needs, created at start-up and closed at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db)
        # The server's queries are small; a second DuckDB thread only doubles their CPU cost.
        # (A forwarded CLI command, such as rank, gets the default back while it runs.)
        self.store.con.execute(f"SET threads = {int(settings.duckdb_threads)}")
        self.writer = DbWriter(self.store)
        policy = GuardPolicy(allow_private=settings.allow_private)
        self.fetcher = Fetcher(policy=policy, limits=settings.fetch_limits, resolver=settings.resolver)
        self.pair_limiter = RateLimiter(settings.pair_rate)
        self.host_limiter = RateLimiter(settings.host_rate)
        self._local = threading.local()
        self._sites: list[str] | None = None
        self._rules: list[tuple[str, str, str]] | None = None

        def resolve_source(host: str) -> Sequence[str]:
            return settings.resolver(host.strip("[]"), 80)

        self.runner = JobRunner(
            self.store,
            self.writer,
            self.fetcher,
            workers=settings.verify_workers,
            poll_seconds=settings.poll_seconds,
            resolve_source=resolve_source,
            webhook_retry_seconds=settings.webhook_retry_seconds,
        )

    def reader(self):  # noqa: ANN201 - a DuckDB cursor for this thread
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self.store.con.cursor()
        return cur

    # Sites and rules change only through this server while it runs (the CLI hands its changes
    # here), so they are cached and reloaded when a change comes through.
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

    def rate_limited(self, source: str, target: str) -> int:
        """0 when the request may go on, else the seconds to wait, from the limit that refused it."""
        if not self.pair_limiter.allow(f"{source} {target}"):
            return self.pair_limiter.retry_after()
        if not self.host_limiter.allow(host_of(source)):
            return self.host_limiter.retry_after()
        return 0

    def start(self) -> None:
        self.runner.start()
        if self.settings.advertise_url:
            path = advert_path(self.settings.db)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(
                    {"url": self.settings.advertise_url, "pid": os.getpid(), "token": self.settings.admin_token}, f
                )

    def close(self) -> None:
        if self.settings.advertise_url:
            advert_path(self.settings.db).unlink(missing_ok=True)
        self.runner.stop()
        self.writer.close()
        self.fetcher.close()
        self.store.close()


def error_response(exc: ProtocolError, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": str(exc.code), "error_description": str(exc)}, status_code=status)


def create_app(settings: Settings) -> FastAPI:
    """The linkback server app. ``settings.admin_token`` must be set (``serve`` generates one)."""
    if not settings.admin_token:
        settings.admin_token = secrets.token_urlsafe(24)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        state = ServerState(settings)
        app.state.linkback = state
        state.start()
        # The objects made at start-up (modules, the app, DuckDB's Python side) live as long as
        # the server: out of the collector's sight, full collections stop costing 100+ ms pauses.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # let what start-up made be freed again (DuckDB's bindings check at exit)
            state.close()

    app = FastAPI(
        title="linkback",
        summary="Self-hosted backlinks and linkbacks: Webmention, Pingback, TrackBack, Refback.",
        lifespan=lifespan,
    )
    from linkback.server import _admin, _display, _linkbacks, _send, _webmention  # noqa: PLC0415 - routes need the app

    _webmention.register(app)
    _linkbacks.register(app)
    _admin.register(app)
    _display.register(app)
    _send.register(app)
    return app


def state_of(request: Request) -> ServerState:
    return request.app.state.linkback
