"""``POST /api/send``: a CMS hook (or the CLI) asks the server to send for a post, feed or sitemap.

Requests are stored in ``send_requests`` and done by the job runner, so they survive restarts;
``GET /api/send/ID`` says where one is and, once done, what was sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

import duckdb
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from linkback.errors import LinkbackError
from linkback.server._admin import _jsonable, require_token
from linkback.server._app import state_of
from linkback.urls import normalize


class SendIn(BaseModel):
    url: str
    kind: Literal["post", "feed", "sitemap"] = "post"
    all_links: bool = False
    #: Your blog's name, sent with TrackBacks.
    blog_name: str = ""
    #: The caller needs endpoints on private addresses (``linkback send --allow-private``): the
    #: server sends with its own guard, so it refuses (409) when it was started without it.
    allow_private: bool = False


def queue_send(con: duckdb.DuckDBPyConnection, kind: str, url: str, all_links: bool, blog_name: str = "") -> int:
    (request_id,) = con.execute(
        "INSERT INTO send_requests (request_id, kind, url, all_links, blog_name, status, created_at) "
        "VALUES (nextval('send_request_id_seq'), ?, ?, ?, ?, 'queued', ?) RETURNING request_id",
        [kind, url, all_links, blog_name, datetime.now(UTC)],
    ).fetchall()[0]
    return int(request_id)


def register(app: FastAPI) -> None:
    admin = [Depends(require_token)]

    @app.post("/api/send", dependencies=admin, status_code=202, tags=["send"])
    async def send(body: SendIn, request: Request) -> Response:
        """Queue notifications for a post (or every new or changed entry of a feed or sitemap)."""
        server = state_of(request)
        if body.allow_private and not server.settings.allow_private:
            raise HTTPException(
                status_code=409,
                detail="this server was started without --allow-private, so it refuses endpoints on private "
                "addresses; restart it with 'linkback serve --allow-private', or send without --allow-private",
            )
        try:
            url = normalize(body.url)
        except (LinkbackError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=f"not a URL: {exc}") from exc
        if not url.startswith(("http://", "https://")):
            raise HTTPException(status_code=400, detail="only http(s) URLs")
        request_id = await server.writer.run(
            lambda store: queue_send(store.con, body.kind, url, body.all_links, body.blog_name)
        )
        server.runner.wake()
        location = str(request.url_for("send_status", request_id=request_id))
        return JSONResponse({"id": request_id, "status": "queued", "location": location}, status_code=202,
                            headers={"Location": location})  # fmt: skip

    @app.get("/api/send/{request_id}", name="send_status", dependencies=admin, tags=["send"])
    def send_status(request_id: int, request: Request) -> Response:
        con = state_of(request).reader()
        cur = con.execute("SELECT * FROM send_requests WHERE request_id = ?", [request_id])
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        if not rows:
            raise HTTPException(status_code=404, detail="no such send request")
        row = dict(zip(names, rows[0]))
        result = json.loads(row.pop("result") or "{}")
        return JSONResponse(_jsonable(row) | result)
