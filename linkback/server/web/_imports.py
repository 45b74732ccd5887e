"""The Imports page: upload backlink exports, follow the ``import`` job, list the files imported.

The form POSTs the files (multipart) to ``/do/import`` with the session's CSRF token; they go
to disk as they arrive (:mod:`linkback.server._uploads`) and into an ``import`` job exactly as a
multipart ``POST /api/v1/jobs/import`` queues one (the same parameter model, :func:`queue_job`),
so the job, its result and the claims are those of ``linkback import``. The upload is limited
while it streams (:data:`BODY_LIMITS`): larger than the other ``/do/`` forms, as large as an
upload to the API. Below the form: the import's result once it has run, the recent files (the
``imports`` report) and links to the claims they gave.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from linkback.errors import LinkbackError
from linkback.faces import FACES, load_all
from linkback.imports._claims import site_host
from linkback.imports._formats import FORMATS, VIAS, candidates
from linkback.imports._job import MAX_IMPORT_BYTES
from linkback.imports._report import imports
from linkback.server._app import state_of
from linkback.server._bodylimit import BodyLimit
from linkback.server._jobs import queue_job
from linkback.server._uploads import UPLOAD_KEY, MultipartCutShort, read_form
from linkback.server.api._jobs import UPLOAD_MAX_BYTES as API_UPLOAD_MAX_BYTES
from linkback.server.api._types import body_model, given
from linkback.server.web._jobview import job_view
from linkback.server.web._render import page
from linkback.server.web._session import Session, check_csrf, current

UPLOAD_PATH = "/do/import"
#: As large as an upload to the API (``POST /api/v1/jobs/import``), where the same files would go.
UPLOAD_MAX_BYTES = API_UPLOAD_MAX_BYTES
#: Files one upload takes (each becomes a summary of the job's result).
MAX_FILES = 100
BODY_LIMITS = (
    BodyLimit(
        UPLOAD_PATH,
        UPLOAD_MAX_BYTES,
        lambda n: (
            f"upload too large: an import takes at most {MAX_IMPORT_BYTES // 2**20} MB of files at once; "
            "send fewer files per import, or split the export (each part with its header row)".encode(),
            "text/plain; charset=utf-8",
        ),
        stream=True,
    ),
)
#: Recent imported files the page lists.
RECENT_FILES = 20
#: Refused rows the page quotes per file (the job's result keeps 20).
SHOWN_REJECTS = 5
#: The tools the format select offers, as people name them.
TOOLS = {"ahrefs": "Ahrefs", "semrush": "Semrush", "gsc": "Search Console", "bing": "Bing Webmaster Tools",
         "majestic": "Majestic", "moz": "Moz", "list": "A list of URLs", "tracked": "Links you track"}  # fmt: skip


def register(app: FastAPI) -> None:
    @app.get("/imports", include_in_schema=False)
    def imports_page(request: Request, job: str = "") -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/imports", status_code=303)
        return _page(request, session, job=_job_view(request, job))

    @app.post(UPLOAD_PATH, include_in_schema=False)
    async def upload(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/imports", status_code=303)
        server = state_of(request)
        uploads, saved = server.jobs.uploads, []
        try:
            form = await read_form(request, max_files=MAX_FILES, max_fields=20)
        except MultipartCutShort as exc:
            return _page(request, session, error=str(exc), http_status=400)
        try:
            check_csrf(session, _text(form.get("csrf")))
            site = _text(form.get("site")).strip()
            file_format = _text(form.get("file_format")).strip() or "auto"
            chosen = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
            try:
                params = import_params([str(f.filename) for f in chosen], site, file_format)
            except (LinkbackError, ValueError) as exc:
                shown = {"site": site, "file_format": file_format}
                return _page(request, session, form=shown, error=str(exc), http_status=400)
            for f in chosen:  # copied in a thread: hundreds of MB of disk work would stall other requests
                saved.append(await run_in_threadpool(uploads.save, f.file))
        except BaseException:
            uploads.discard(saved)
            raise
        finally:
            await form.close()
        params["files"] = [{"name": str(f.filename), UPLOAD_KEY: upload} for f, upload in zip(chosen, saved)]
        try:
            job_id = await run_in_threadpool(queue_job, server.request_store(), "import", params)
        except BaseException:
            uploads.discard(saved)
            raise
        server.jobs.wake()
        return RedirectResponse(f"/imports?job={job_id}", status_code=303)


def import_params(names: list[str], site: str, file_format: str) -> dict[str, Any]:
    """The ``import`` job's parameters but its files (which the caller adds) as ``POST
    /api/v1/jobs/import`` reads them from its body; what the job would refuse at once (no file,
    an unknown format, a bad site) is refused here, where the form can say so."""
    if not names:
        raise ValueError("choose one or more export files to import")
    candidates(file_format)
    site_host(site or None)
    face = FACES.get("import") or load_all()["import"]
    try:
        body = body_model(face)(files=[], site=site or None, file_format=file_format)
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"]) from exc
    return given(face, body.model_dump())


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _job_view(request: Request, job: str) -> dict[str, Any] | None:
    """The import job ``job`` names: its state, progress, and per file what it did."""
    row = job_view(request, job, "import", "import", params=True)
    if row is None:
        return None
    # Until the job has run, its files are known by the names it was given.
    row["names"] = [f.get("name", "") for f in row.get("params", {}).get("files") or [] if isinstance(f, dict)]
    row.pop("params", None)
    return row


def _recent(request: Request) -> list[dict[str, Any]]:
    rows = imports(state_of(request).request_store(), limit=RECENT_FILES)
    for row in rows:
        try:
            row["rejects"] = json.loads(row["rejects"] or "[]")[:SHOWN_REJECTS]
        except ValueError:
            row["rejects"] = []
    return rows


def _page(
    request: Request,
    session: Session,
    *,
    job: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    error: str = "",
    http_status: int = 200,
) -> Response:
    form = form or {"site": "", "file_format": "auto"}
    return page(
        request,
        "imports.html",
        session,
        job=job,
        form=form,
        error=error,
        tools=[(via, TOOLS.get(via, via)) for via in VIAS],
        formats=[(f.name, f.title) for f in FORMATS],
        recent=_recent(request),
        recent_limit=RECENT_FILES,
        shown_rejects=SHOWN_REJECTS,
        cli=_cli(form),
        http_status=http_status,
    )


def _cli(form: dict[str, str]) -> str:
    """The same import as a command line."""
    words = ["linkback", "import", "FILE..."]
    if form.get("site"):
        words += ["--site", shlex.quote(form["site"])]
    if form.get("file_format", "auto") != "auto":
        words += ["--file-format", shlex.quote(form["file_format"])]
    return " ".join(words)
