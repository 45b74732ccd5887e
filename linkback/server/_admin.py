"""The admin API (``Authorization: Bearer TOKEN``): moderation, sites, rules, refback imports.

The CLI's ``mentions``, ``site`` and ``refbacks`` commands call these routes when a server owns
the database, so the same operations run whichever process holds the file.
"""

from __future__ import annotations

import hmac
import threading
from datetime import UTC, datetime

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, Field

from linkback import mentions
from linkback.errors import ProtocolError, URLError
from linkback.server._app import state_of
from linkback.store import Store


def require_token(request: Request) -> None:
    expected = state_of(request).settings.admin_token
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="admin token required", headers={"WWW-Authenticate": "Bearer"})


class Moderation(BaseModel):
    ids: list[int] = Field(default_factory=list)
    domain: str | None = None
    site: str | None = None


class SiteIn(BaseModel):
    site: str
    policy: str = "auto"
    webhook_url: str = ""
    webhook_secret: str = ""


class RuleIn(BaseModel):
    rule: str
    entry: str
    site: str = "*"
    note: str = ""


class Candidate(BaseModel):
    source: str
    target: str
    hits: int = 1
    sender_ip: str = ""
    #: When each visit was logged (aware): only visits newer than the pair's last counted one add.
    times: list[AwareDatetime] = []


class Refbacks(BaseModel):
    candidates: list[Candidate]


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def register(app: FastAPI) -> None:
    admin = [Depends(require_token)]

    @app.get("/api/admin/mentions", dependencies=admin, tags=["admin"])
    def list_mentions(
        request: Request,
        state: str | None = None,
        status: str | None = None,
        site: str | None = None,
        target: str | None = None,
        limit: int = 100,
    ) -> Response:
        rows = mentions.list_mentions(
            state_of(request).reader(), state=state, status=status, site=site, target=target, limit=limit
        )
        return JSONResponse([_jsonable(r) for r in rows])

    @app.post("/api/admin/mentions/{action}", dependencies=admin, tags=["admin"])
    async def moderate(action: str, body: Moderation, request: Request) -> Response:
        """approve, spam, delete or pending, by ids or by source domain (delete by domain blocks it)."""
        server = state_of(request)
        if action not in mentions._store.ACTIONS:
            raise HTTPException(status_code=404, detail=f"no action {action!r}")

        def run(store):  # noqa: ANN001, ANN202
            now = datetime.now(UTC)
            events = mentions.moderate(store.con, action, ids=body.ids, domain=body.domain, site=body.site, now=now)
            for mention_id, event in events:
                mentions.queue_webhook(store.con, mention_id, event, now)
            return events

        try:
            events = await server.writer.run(run)
        except (URLError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        server.invalidate()
        server.runner.wake()
        return JSONResponse({"changed": len(events), "events": events})

    @app.get("/api/admin/sites", dependencies=admin, tags=["admin"])
    def sites(request: Request) -> Response:
        return JSONResponse([_site(s) for s in mentions.list_sites(state_of(request).reader())])

    @app.post("/api/admin/sites", dependencies=admin, tags=["admin"])
    async def add_site(body: SiteIn, request: Request) -> Response:
        server = state_of(request)
        try:
            site = await server.writer.run(
                lambda store: mentions.add_site(
                    store.con,
                    body.site,
                    policy=body.policy,
                    webhook_url=body.webhook_url,
                    webhook_secret=body.webhook_secret,
                )
            )
        except (URLError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        server.invalidate()
        return JSONResponse(_site(site))

    @app.delete("/api/admin/sites/{site}", dependencies=admin, tags=["admin"])
    async def remove_site(site: str, request: Request) -> Response:
        server = state_of(request)
        try:
            found = await server.writer.run(lambda store: mentions.remove_site(store.con, site))
        except (URLError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        server.invalidate()
        return JSONResponse({"removed": found})

    @app.get("/api/admin/rules", dependencies=admin, tags=["admin"])
    def rules(request: Request) -> Response:
        return JSONResponse([_jsonable(r) for r in mentions.list_rules(state_of(request).reader())])

    @app.post("/api/admin/rules", dependencies=admin, tags=["admin"])
    async def add_rule(body: RuleIn, request: Request) -> Response:
        server = state_of(request)
        try:
            entry = await server.writer.run(
                lambda store: mentions.add_rule(store.con, body.rule, body.entry, site=body.site, note=body.note)
            )
        except (URLError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        server.invalidate()
        return JSONResponse({"rule": body.rule, "entry": entry, "site": body.site})

    @app.delete("/api/admin/rules", dependencies=admin, tags=["admin"])
    async def remove_rule(entry: str, request: Request, site: str = "*") -> Response:
        server = state_of(request)
        try:
            found = await server.writer.run(lambda store: mentions.remove_rule(store.con, entry, site=site))
        except (URLError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        server.invalidate()
        return JSONResponse({"removed": found})

    @app.post("/api/admin/cli", dependencies=admin, tags=["admin"])
    async def cli(body: CommandLine, request: Request) -> Response:
        """Run a ``linkback`` command here, for a CLI that found this server owning the database."""
        server = state_of(request)

        def run() -> dict:
            # On a connection of its own, beside the writer thread, so a long rank or ingest does
            # not hold up the notifications meanwhile (DuckDB's MVCC keeps them apart); one
            # command at a time, since its output is captured from sys.stdout.
            with _CLI_LOCK:
                cursor = server.store.con.cursor()
                try:
                    return run_cli(Store.borrowing(cursor, server.store.path), body.argv)
                finally:
                    cursor.close()

        result = await run_in_threadpool(run)
        server.invalidate()
        return JSONResponse(result)

    @app.post("/api/admin/refbacks", dependencies=admin, tags=["admin"])
    async def refbacks(body: Refbacks, request: Request) -> Response:
        """Queue referers read from access logs for verification (``linkback refbacks``)."""
        server = state_of(request)
        receipts, refused = [], {}
        for c in body.candidates:
            try:
                source, target, site = server.check_pair(c.source, c.target)
            except ProtocolError as exc:
                refused[str(exc.code)] = refused.get(str(exc.code), 0) + 1
                continue
            receipts.append(
                mentions.Receipt(
                    "refback",
                    source,
                    target,
                    site,
                    sender_ip=c.sender_ip,
                    hits=max(1, c.hits),
                    hit_times=tuple(c.times),
                )
            )
        ids = await server.writer.run(lambda store: mentions.receive_many(store.con, receipts, datetime.now(UTC)))
        server.runner.wake()
        return JSONResponse({"queued": len(receipts), "new": sum(1 for _, new in ids if new), "refused": refused})


class CommandLine(BaseModel):
    argv: list[str]


_CLI_LOCK = threading.Lock()


def run_cli(store: Store, argv: list[str]) -> dict:
    """Run a linkback command on a store borrowed from the server; its output and exit code.

    Output is captured by swapping sys.stdout/sys.stderr, which nothing else in the server writes
    to: it logs through handlers that hold their own streams.
    """
    import io
    from contextlib import redirect_stderr, redirect_stdout

    import typer
    from typer._click.exceptions import ClickException  # Typer carries its own click

    from linkback.cli import app as cli_app
    from linkback.cli._handoff import SERVER_STORE

    if argv[:1] in (["serve"],):
        return {"stdout": "", "stderr": "error: the server is already running\n", "exit_code": 2}
    out, err = io.StringIO(), io.StringIO()
    threads = store.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    store.con.execute("RESET threads")

    # The command's "with store:" must not close the server's own connection.
    token = SERVER_STORE.set(store)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = typer.main.get_command(cli_app).main(args=argv, prog_name="linkback", standalone_mode=False)
            except typer.Exit as exc:
                code = exc.exit_code
            except ClickException as exc:
                exc.show()
                code = exc.exit_code
            except typer.Abort:
                code = 1
    finally:
        SERVER_STORE.reset(token)
        store.con.execute(f"SET threads = {int(threads)}")
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "exit_code": int(code or 0)}


def _site(site: mentions.Site) -> dict:
    return {
        "site": site.site,
        "policy": site.policy,
        "webhook_url": site.webhook_url,
        "has_secret": bool(site.webhook_secret),
    }
