"""``/api/v1/jobs``: queue long work and follow it (see :mod:`linkback.server._jobs`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from linkback.faces import Face, plain
from linkback.server._app import state_of
from linkback.server._jobs import cancel_job, job_faces, list_jobs, queue_job, read_job
from linkback.server.api._types import body_model, body_signature, given


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
        if not cancel_job(state.request_store(), job_id):
            raise HTTPException(status_code=409, detail=f"job {job_id} is not queued: it runs or has ended")
        return JSONResponse({"job_id": job_id, "state": "cancelled"})

    @app.get("/api/v1/jobs", dependencies=auth, tags=["jobs"])
    def jobs(request: Request, limit: int = 50) -> Response:
        """The latest jobs, newest first."""
        state = state_of(request)
        return JSONResponse([_view(state, job, request) for job in list_jobs(state.reader(), max(1, min(limit, 500)))])


def _queue_route(app: APIRouter, face: Face, auth: list[Any]) -> None:
    model = body_model(face)

    def endpoint(request: Request, body: Any) -> Response:
        state = state_of(request)
        params = given(face, body.model_dump())
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

    endpoint.__signature__ = body_signature(model)  # type: ignore[attr-defined]
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
    )
