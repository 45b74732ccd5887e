"""``/api/v1/jobs``: queue long work and follow it (see :mod:`linkback.server._jobs`).

A job that takes files (``import``) also takes them as ``multipart/form-data``: a part per file
named after the parameter (``files``; its filename is the file's name), the other parameters as
text fields. The files go to disk as they arrive and the job reads them there
(:mod:`linkback.server._uploads`), where base64 in a JSON body would be held, a third larger,
several times over. Its JSON body (base64) is still taken, up to the other jobs' limit.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from linkback.faces import Face, plain
from linkback.imports._job import MAX_IMPORT_BYTES
from linkback.server._app import state_of
from linkback.server._jobs import cancel_job, job_faces, list_jobs, queue_job, read_job
from linkback.server._uploads import UPLOAD_KEY, MultipartCutShort, Uploads, read_form, uploads_named
from linkback.server.api._types import body_model, body_signature, given

#: A job's JSON body, at most.
JSON_MAX_BYTES = 64 * 2**20
#: The route of the job that takes files, and its multipart body at most: as large a file as
#: ``linkback import`` reads, and a megabyte for the form's own parts.
UPLOAD_PATH = "/api/v1/jobs/import"
UPLOAD_MAX_BYTES = MAX_IMPORT_BYTES + 2**20
#: Files, and other fields, one multipart body may have.
MAX_FILES = 100
MAX_FIELDS = 20


def _view(state: Any, job: dict[str, Any], request: Request) -> dict[str, Any]:
    live = state.jobs.live_progress(job["job_id"]) if job["state"] == "running" else None
    if live is not None:
        job["progress"] = live
    job["location"] = str(request.url_for("job_status", job_id=job["job_id"]))
    return plain(job)


def register(app: APIRouter, auth: list[Any], refused: Callable[[Exception], HTTPException]) -> None:
    for face in job_faces().values():
        _queue_route(app, face, auth)

    @app.get("/api/v1/jobs/{job_id}", name="job_status", dependencies=auth, tags=["jobs"])
    def job_status(job_id: int, request: Request, params: bool = False) -> Response:
        """A job's state (queued, running, done, failed, cancelled, interrupted), progress and
        result; ``params=true`` adds the parameters it was queued with."""
        state = state_of(request)
        job = read_job(state.reader(), job_id, params=params)
        if job is None:
            raise HTTPException(status_code=404, detail=f"no job {job_id}")
        return JSONResponse(_view(state, job, request))

    @app.delete("/api/v1/jobs/{job_id}", dependencies=auth, tags=["jobs"])
    def job_cancel(job_id: int, request: Request) -> Response:
        """Cancel a job that has not started yet (409 once it runs or has ended)."""
        state = state_of(request)
        if read_job(state.reader(), job_id, result=False) is None:
            raise HTTPException(status_code=404, detail=f"no job {job_id}")
        job = read_job(state.reader(), job_id, params=True, result=False) or {}
        if not cancel_job(state.request_store(), job_id):
            raise HTTPException(status_code=409, detail=f"job {job_id} is not queued: it runs or has ended")
        face = job_faces().get(job.get("kind", ""))
        if face is not None and face.payload:  # its uploaded files will not be read now
            state.jobs.uploads.discard(uploads_named(job.get("params"), face.payload))
        return JSONResponse({"job_id": job_id, "state": "cancelled"})

    @app.get("/api/v1/jobs", dependencies=auth, tags=["jobs"])
    def jobs(request: Request, limit: int = 50) -> Response:
        """The latest jobs, newest first."""
        state = state_of(request)
        return JSONResponse([_view(state, job, request) for job in list_jobs(state.reader(), max(1, min(limit, 500)))])


def _queue_route(app: APIRouter, face: Face, auth: list[Any]) -> None:
    model = body_model(face)

    def queue(request: Request, params: dict[str, Any]) -> Response:
        state = state_of(request)
        if face.check is not None:
            try:
                face.check(params)
            except ValueError as exc:
                return JSONResponse({"detail": str(exc)}, status_code=422)
        job_id = queue_job(state.request_store(), face.name, params)
        state.jobs.wake()
        job = read_job(state.reader(), job_id, result=False)
        assert job is not None
        view = _view(state, job, request)
        return JSONResponse(view, status_code=202, headers={"Location": view["location"]})

    extra: dict[str, Any] | None = None
    if not face.payload:

        def endpoint(request: Request, body: Any) -> Response:
            return queue(request, given(face, body.model_dump()))

        endpoint.__signature__ = body_signature(model)  # type: ignore[attr-defined]
    else:

        async def endpoint(request: Request) -> Response:  # type: ignore[misc]
            uploads = state_of(request).jobs.uploads
            if _is_multipart(request):
                params, saved = await _upload_params(request, face, model, uploads)
            else:
                body = await _json_body(request)
                if isinstance(body, Response):
                    return body
                params, saved = given(face, _validated(model, body).model_dump()), []
            try:
                response = await run_in_threadpool(queue, request, params)
            except BaseException:
                uploads.discard(saved)
                raise
            if response.status_code != 202:
                uploads.discard(saved)
            return response

        extra = {"requestBody": _request_body(face, model)}
    endpoint.__name__ = f"job_{face.name}"
    doc = inspect.getdoc(face.fn) or ""
    app.add_api_route(
        face.path,
        endpoint,
        methods=["POST"],
        status_code=202,
        name=f"job_{face.name}",
        dependencies=auth,
        tags=["jobs"],
        summary=doc.split("\n", 1)[0],
        description=doc,
        openapi_extra=extra,
    )


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "multipart/form-data"


async def _json_body(request: Request) -> bytes | Response:
    """The JSON body, read up to :data:`JSON_MAX_BYTES` (the route's own limit lets an upload be
    larger): a 413 past it."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > JSON_MAX_BYTES:
            return JSONResponse(
                {"detail": f"request body too large: more than {JSON_MAX_BYTES} bytes of JSON "
                           "(send the files as multipart/form-data)"},
                status_code=413, headers={"Connection": "close"},
            )  # fmt: skip
    return bytes(body)


def _validated(model: type[BaseModel], body: bytes | dict[str, Any]) -> BaseModel:
    """``body`` as the route's model, or the 422 FastAPI gives a body that is not."""
    try:
        if isinstance(body, bytes):
            return model.model_validate_json(body)
        return model.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False, include_input=False)]
        ) from exc


async def _upload_params(
    request: Request, face: Face, model: type[BaseModel], uploads: Uploads
) -> tuple[dict[str, Any], list[str]]:
    """The job's parameters from a multipart body: its files saved as uploads (their IDs), the
    other fields checked by the route's model."""
    try:
        form = await read_form(request, max_files=MAX_FILES, max_fields=MAX_FIELDS)
    except MultipartCutShort as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    saved: list[str] = []
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str) and k not in face.payload}
        body = _validated(model, {**{name: [] for name in face.payload}, **fields})
        params = given(face, body.model_dump())
        for name in face.payload:
            files = [f for f in form.getlist(name) if isinstance(f, UploadFile)]
            items = []
            for f in files:
                # Copied in a thread: hundreds of MB of disk work would stall every other request.
                saved.append(await run_in_threadpool(uploads.save, f.file))
                items.append({"name": f.filename or "", UPLOAD_KEY: saved[-1]})
            params[name] = items
    except BaseException:
        uploads.discard(saved)
        raise
    finally:
        await form.close()
    return params, saved


def _request_body(face: Face, model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI of a route that takes JSON or multipart (FastAPI describes one body type)."""
    schema = _inlined(model.model_json_schema())
    form = copy.deepcopy(schema)
    for name in face.payload:
        form["properties"][name] = {"type": "array", "items": {"type": "string", "format": "binary"},
                                    "description": "One part per file; its filename names it."}  # fmt: skip
    return {
        "required": True,
        "content": {"application/json": {"schema": schema}, "multipart/form-data": {"schema": form}},
    }


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` put where they are referred to (it is not one of the
    document's components, where a reference would be looked for)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)
