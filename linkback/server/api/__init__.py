"""The typed, versioned JSON API: ``/api/v1`` (DESIGN §6; OpenAPI at ``/docs``).

Every route calls one registered function (:mod:`linkback.faces`) — the same the CLI command
and the dashboard page call — with the same parameter names:

* ``GET /api/v1/reports/NAME?...``: a report (backlinks, refdomains, toxic_domains, mentions...);
* ``POST /api/v1/actions/NAME`` with a JSON body: an action (add_site, moderate, add_to_list...);
* ``POST /api/v1/jobs/KIND`` queues long work (ingest, rank, send, refbacks) and answers 202
  with its id; ``GET /api/v1/jobs/ID`` gives its state, progress and result;
* ``GET /api/v1/export/TABLE?format=`` streams a whole table.

All of them need ``Authorization: Bearer TOKEN``: the admin token, or the token the server
wrote for this run in ``<db>.server.json`` (which the CLI reads).
"""

from __future__ import annotations

import inspect
import threading
import typing
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from linkback.errors import LinkbackError
from linkback.faces import Face, load_all, plain
from linkback.reports._cursor import PAGED_REPORTS, next_cursor
from linkback.server._app import state_of
from linkback.server._bodylimit import BodyLimit
from linkback.server.api import _export, _jobs
from linkback.server.api._types import body_model, body_signature, exposed, given, row_model, sort_asked
from linkback.server.web._session import client_address, sign_in_throttle

__all__ = ["BODY_LIMITS", "TokenFirst", "register", "require_token"]


def _too_large(limit: int) -> tuple[bytes, str]:
    return b'{"detail":"request body too large: more than %d bytes"}' % limit, "application/json"


#: Bodies are limited while they stream (413 at once), as on the public endpoints: an action is a
#: few fields; a job may carry many paths or refback candidates; an import's files, uploaded as
#: multipart, may be as large as ``linkback import`` reads one (its JSON body is held to the
#: other jobs' limit by the route, :data:`~linkback.server.api._jobs.JSON_MAX_BYTES`).
BODY_LIMITS = (
    BodyLimit("/api/v1/actions/", 1 * 2**20, _too_large),
    BodyLimit("/api/v1/jobs/", _jobs.JSON_MAX_BYTES, _too_large),
    BodyLimit(_jobs.UPLOAD_PATH, _jobs.UPLOAD_MAX_BYTES, _too_large, stream=True),
)


def require_token(request: Request) -> None:
    if not state_of(request).bearer_ok(request.headers.get("authorization", "")):
        raise HTTPException(status_code=401, detail="admin token required", headers={"WWW-Authenticate": "Bearer"})


class TokenFirst:
    """ASGI middleware: a ``/api/v1`` request without the token is answered 401 before a byte of
    its body is read (the routes check again: this is only so a stranger costs nothing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith("/api/v1/"):
            response = _refusal(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(scope: Scope) -> Response | None:
    """401 without the admin token, 429 to an address that gave too many wrong ones (before its
    token is looked at); None when the request may go on."""
    header = dict(scope.get("headers") or ()).get(b"authorization", b"").decode("latin-1")
    state = scope["app"].state.linkback
    throttle, address = sign_in_throttle(state), client_address(scope)
    wait = throttle.wait(address) if header else 0
    if wait:
        return JSONResponse(
            {"detail": f"too many wrong tokens from this address: try again in {wait} seconds"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    if state.bearer_ok(header):
        return None
    if header:  # a token was given, and it is wrong
        throttle.failed(address)
    return JSONResponse({"detail": "admin token required"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def refused(exc: Exception) -> HTTPException:
    """What a function raised on purpose (bad input, no data) as the caller's error."""
    status = getattr(exc, "http_status", 400)
    return HTTPException(status_code=status, detail=str(exc))


async def _invalid(request: Request, exc: Exception) -> Response:
    """422 naming each bad field, without echoing what was sent (which may be huge, or a NaN that
    JSON cannot carry back)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
    return JSONResponse({"detail": detail}, status_code=422)


def register(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)
    app.router.routes.extend(_api_routes().routes)


#: The routes built for the faces registered now: building them (FastAPI reads every signature)
#: costs more than the rest of an app, and they hold nothing of one app (each handler finds its
#: server through the request), so every app of the process shares them.
_ROUTES: dict[tuple[tuple[str, int], ...], APIRouter] = {}
_ROUTES_LOCK = threading.Lock()


def _api_routes() -> APIRouter:
    faces = load_all()
    key = tuple((name, id(face.fn)) for name, face in sorted(faces.items()))
    with _ROUTES_LOCK:
        router = _ROUTES.get(key)
        if router is None:
            router = APIRouter()
            auth = [Depends(require_token)]
            for face in faces.values():
                if face.kind == "report":
                    _report_route(router, face, auth)
                elif face.kind == "action":
                    _action_route(router, face, auth)
            _jobs.register(router, auth, refused)
            _export.register(router, auth)
            _ROUTES.clear()
            _ROUTES[key] = router
        return router


def _floats(wire: Any) -> bool:
    return float in (wire, *typing.get_args(wire))


def _doc(face: Face) -> str:
    return inspect.getdoc(face.fn) or ""


def _report_route(app: APIRouter, face: Face, auth: list[Any]) -> None:
    params = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        *(
            inspect.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=param.default if param.default is not inspect.Parameter.empty else inspect.Parameter.empty,
                annotation=Annotated[wire, Query(allow_inf_nan=False) if _floats(wire) else Query()],
            )
            for param, wire in exposed(face)
        ),
    ]

    def endpoint(request: Request, **kwargs: Any) -> Response:
        store = state_of(request).request_store()
        values = given(face, kwargs)
        try:
            result = face.fn(store, **values)
        except (LinkbackError, ValueError) as exc:
            raise refused(exc) from exc
        return JSONResponse(plain(result), headers=_next_page(request, face, values, result))

    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = f"report_{face.name}"
    model = row_model(face)
    app.add_api_route(
        face.path,
        endpoint,
        methods=["GET"],
        name=face.name,
        dependencies=auth,
        tags=["reports"],
        summary=_doc(face).split("\n", 1)[0],
        description=_doc(face),
        responses=None if model is None else {200: {"model": model if face.one else list[model]}},  # type: ignore[valid-type]
    )


def _next_page(request: Request, face: Face, values: dict[str, Any], rows: Any) -> dict[str, str]:
    """A ``Link: <…>; rel="next"`` header under a full page of a paged report (RFC 8288), so a
    client that does not make cursors itself can follow the pages."""
    limit = values.get("limit")
    if face.name not in PAGED_REPORTS or not isinstance(rows, list) or not rows or not limit or len(rows) < limit:
        return {}
    after = next_cursor(face.name, sort_asked(face, values) or "", rows[-1])
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "after"] + [("after", after)]
    return {"Link": f'<{request.url.path}?{urlencode(query)}>; rel="next"'}


def _action_route(app: APIRouter, face: Face, auth: list[Any]) -> None:
    model = body_model(face)

    def endpoint(request: Request, body: Any) -> Response:
        state = state_of(request)
        try:
            result = face.fn(state.request_store(), **given(face, body.model_dump()))
        except (LinkbackError, ValueError) as exc:
            raise refused(exc) from exc
        finally:
            # Sites and rules may have changed; a moderation may have queued webhooks.
            state.invalidate()
            state.runner.wake()
        return JSONResponse(plain(result))

    endpoint.__signature__ = body_signature(model)  # type: ignore[attr-defined]
    endpoint.__name__ = f"action_{face.name}"
    app.add_api_route(
        face.path,
        endpoint,
        methods=["POST"],
        name=face.name,
        dependencies=auth,
        tags=["actions"],
        summary=_doc(face).split("\n", 1)[0],
        description=_doc(face),
    )
