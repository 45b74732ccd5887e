"""``POST /webmention`` and its status pages (W3C Webmention §3.2)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import URLPath
from starlette.routing import Route

from linkback import mentions
from linkback.errors import ProtocolError
from linkback.server._app import error_response, state_of

MAX_BODY = 16_384
FORM = "application/x-www-form-urlencoded"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def register(app: FastAPI) -> None:
    status_paths: dict[int, str] = {}

    def status_url(request: Request, mention_id: int) -> str:
        """``request.url_for("webmention_status", mention_id=...)`` without walking the routes
        on every request (the router's answer for the path is the same for every id)."""
        router = request.scope.get("router") or request.scope.get("app")
        prefix = status_paths.get(id(router))
        if prefix is None:
            path = str(router.url_path_for("webmention_status", mention_id=0))
            if not path.endswith("/0"):  # a route shape this shortcut does not know: ask each time
                return str(request.url_for("webmention_status", mention_id=mention_id))
            prefix = status_paths[id(router)] = path[:-1]
        return str(URLPath(f"{prefix}{int(mention_id)}", protocol="http").make_absolute_url(request.base_url))

    @app.post("/webmention", status_code=201, tags=["linkbacks"])
    async def webmention(request: Request) -> Response:
        """Receive a Webmention: ``source`` and ``target``, form-encoded.

        Checked synchronously (400 with an ``error`` name for each failure), stored durably, then
        answered ``201 Created`` with the ``Location`` of its status page; the source is fetched
        and verified in the background.
        """
        state = state_of(request)
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != FORM:
            return error_response(ProtocolError(f"send source and target as {FORM}", code="invalid_request"))
        body = await request.body()
        if len(body) > MAX_BODY:
            return error_response(ProtocolError("request too large", code="invalid_request"), 413)
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return error_response(ProtocolError("the form is not UTF-8 or malformed", code="invalid_request"))
        if len(form.get("source", ())) != 1 or len(form.get("target", ())) != 1:
            return error_response(
                ProtocolError("exactly one source and one target are required", code="invalid_request")
            )
        try:
            source, target, site = state.check_pair(form["source"][0], form["target"][0])
        except ProtocolError as exc:
            return error_response(exc)
        retry = state.rate_limited(source, target)
        if retry:
            return JSONResponse(
                {"error": "rate_limit_exceeded", "error_description": "too many requests for this source"},
                status_code=429,
                headers={"Retry-After": str(retry)},
            )
        client = request.client.host if request.client else ""
        mention_id, _new = await state.writer.receive_async(
            mentions.Receipt("webmention", source, target, site, sender_ip=client)
        )
        state.runner.wake()
        location = status_url(request, mention_id)
        return JSONResponse(
            {
                "status": "queued",
                "summary": "Webmention was queued for processing",
                "location": location,
                "source": source,
                "target": target,
            },
            status_code=201,
            headers={"Location": location},
        )

    # The busiest route is also served by a plain Starlette route ahead of FastAPI's (same
    # handler): it skips the dependency machinery, a few percent of every request. The FastAPI
    # route stays for the OpenAPI description.
    app.router.routes.insert(0, Route("/webmention", webmention, methods=["POST"], name="webmention_receive"))

    @app.get("/webmention/status/{mention_id}", name="webmention_status", tags=["linkbacks"])
    def webmention_status(mention_id: int, request: Request) -> Response:
        """Where a Webmention is: queued, verified, rejected (with the reason) or deleted."""
        row = mentions.get(state_of(request).reader(), mention_id)
        if row is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(
            {
                "id": row["mention_id"],
                "status": row["status"],
                "reason": row["reason"] or None,
                "source": row["source"],
                "target": row["target"],
                "protocol": row["protocol"],
                "received": _iso(row["received_at"]),
                "updated": _iso(row["updated_at"]),
            }
        )

    @app.get("/webmention", tags=["linkbacks"])
    def webmention_help() -> Response:
        return JSONResponse({"webmention": "POST source and target here (application/x-www-form-urlencoded)"})
