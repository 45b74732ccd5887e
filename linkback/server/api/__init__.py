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
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from linkback.errors import LinkbackError
from linkback.faces import Face, load_all, plain
from linkback.server._app import state_of
from linkback.server.api import _export, _jobs
from linkback.server.api._types import body_model, exposed, given, row_model

__all__ = ["register", "require_token"]


def require_token(request: Request) -> None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not state_of(request).token_ok(token):
        raise HTTPException(status_code=401, detail="admin token required", headers={"WWW-Authenticate": "Bearer"})


def refused(exc: Exception) -> HTTPException:
    """What a function raised on purpose (bad input, no data) as the caller's error."""
    status = getattr(exc, "http_status", 400)
    return HTTPException(status_code=status, detail=str(exc))


def register(app: FastAPI) -> None:
    auth = [Depends(require_token)]
    for face in load_all().values():
        if face.kind == "report":
            _report_route(app, face, auth)
        elif face.kind == "action":
            _action_route(app, face, auth)
    _jobs.register(app, auth, refused)
    _export.register(app, auth)


def _doc(face: Face) -> str:
    return inspect.getdoc(face.fn) or ""


def _report_route(app: FastAPI, face: Face, auth: list[Any]) -> None:
    params = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        *(
            inspect.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=param.default if param.default is not inspect.Parameter.empty else inspect.Parameter.empty,
                annotation=Annotated[wire, Query()],
            )
            for param, wire in exposed(face)
        ),
    ]

    def endpoint(request: Request, **kwargs: Any) -> Response:
        store = state_of(request).request_store()
        try:
            result = face.fn(store, **given(face, kwargs))
        except (LinkbackError, ValueError) as exc:
            raise refused(exc) from exc
        return JSONResponse(plain(result))

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


def _action_route(app: FastAPI, face: Face, auth: list[Any]) -> None:
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

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model),
        ]
    )
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
