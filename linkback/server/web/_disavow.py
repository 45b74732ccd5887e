"""The disavow page: a target's toxic referring domains with their reasons, allow or deny one from
its row, the allow and deny lists, the disavow file to download, and a check of a disavow file
line by line (``linkback toxic``, ``allow``/``deny``, ``disavow`` and ``disavow --check``).

The check takes a file (multipart, read by :func:`~linkback.server._uploads.read_form`) or pasted
text; its path lies outside ``/do/`` because a disavow file may be 2 MB (Google's limit) and
``/do/`` bodies are capped at 64 KB. It still needs the session and the form's CSRF token.
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from linkback import quality
from linkback.errors import LinkbackError
from linkback.quality._signals import ALLOWED, DENIED, SIGNALS
from linkback.server._app import state_of
from linkback.server._bodylimit import BodyLimit
from linkback.server._uploads import MultipartCutShort, read_form
from linkback.server.web._render import page
from linkback.server.web._session import SECURITY_HEADERS, Session, check_csrf, current, posted

CHECK_PATH = "/disavow/check"
#: A file a little over Google's 2 MB must still be checked (and told "too-large"), also when it
#: was pasted: URL-encoding a text can triple it.
CHECK_MAX_BYTES = 3 * quality.MAX_BYTES + 64 * 1024
BODY_LIMITS = (
    BodyLimit(
        CHECK_PATH,
        CHECK_MAX_BYTES,
        lambda n: (f"disavow file too large: this form takes at most {n:,} bytes".encode(), "text/plain"),
    ),
)
#: Toxic domains a page lists (the download has them all).
SHOWN_ROWS = 500
#: Why each signal goes with link spam, for the legend under the table.
WHY = {
    DENIED: "On your deny list: always disavowed.",
    ALLOWED: "On your allow list: scores 0 whatever else fired.",
    **{s.name: s.why for s in SIGNALS},
}


def register(app: FastAPI) -> None:
    @app.get("/disavow", include_in_schema=False)
    def disavow_page(request: Request, target: str = "", min_score: str = "") -> Response:
        session = current(request)
        if session is None:
            return _to_login(request)
        context = _context(request, target, min_score)
        # A target it cannot show (no rank run yet, a bad min score) answers 400 with the reason.
        return _page(request, session, context, http_status=400 if context["error"] else 200)

    @app.get("/disavow.txt", include_in_schema=False)
    def disavow_file(request: Request, target: str = "", min_score: str = "") -> Response:
        if current(request) is None:
            raise HTTPException(status_code=401, detail="sign in first")
        score, error = _score(min_score)
        if not target.strip():
            error = "give a target to write a disavow file for"
        if not error:
            try:
                text = quality.disavow(state_of(request).request_store(), target.strip(), min_score=score)
            except (LinkbackError, ValueError) as exc:
                error = str(exc)
        if error:
            return Response(error + "\n", status_code=400, media_type="text/plain; charset=utf-8",
                            headers=SECURITY_HEADERS)  # fmt: skip
        headers = {"Content-Disposition": 'attachment; filename="disavow.txt"', **SECURITY_HEADERS}
        return Response(text, headers=headers, media_type="text/plain; charset=utf-8")

    @app.post("/do/disavow/{which}", include_in_schema=False)
    async def change_list(which: str, request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login?next=/disavow", status_code=303)
        entry, note = form.get("entry", "").strip(), form.get("note", "").strip()
        store = state_of(request).request_store()
        try:
            if not entry:
                raise ValueError("give a domain, host or URL")
            if which in quality.LISTS:
                quality.add_to_list(store, which, [entry], note=note)
            elif which == "remove":
                quality.remove_from_list(store, form.get("list", ""), [entry])
            else:
                raise HTTPException(status_code=404, detail=f"no list action {which!r}")
        except (LinkbackError, ValueError) as exc:
            context = _context(request, form.get("target", ""), form.get("min_score", ""))
            return _page(request, session, context, list_error=f"{entry or 'entry'}: {exc}", http_status=400)
        return RedirectResponse("/disavow?" + _query(form.get("target", ""), form.get("min_score", "")) + "#lists",
                                status_code=303)  # fmt: skip

    @app.post(CHECK_PATH, include_in_schema=False)
    async def check_file(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/disavow", status_code=303)
        try:
            fields, upload = await _check_form(request)
        except MultipartCutShort as exc:
            return _page(request, session, _context(request, "", ""), check_error=str(exc), http_status=400)
        check_csrf(session, fields.get("csrf", ""))
        context = _context(request, fields.get("target", ""), fields.get("min_score", ""))
        if upload is None and not fields.get("text", "").strip():
            return _page(request, session, context, http_status=400,
                         check_error="Choose a disavow file or paste its text.")  # fmt: skip
        if upload is not None:
            filename, data = upload
        else:
            filename, data = None, fields["text"].encode("utf-8")
        # A 2 MB file takes a moment to check: not on the event loop.
        problems = await run_in_threadpool(quality.check_disavow, data, filename=filename)
        errors = sum(p.severity == "error" for p in problems)
        check = {
            "name": filename or "pasted text",
            "bytes": len(data),
            "problems": problems,
            "errors": errors,
            "warnings": len(problems) - errors,
        }
        return _page(request, session, context, check=check)


def _context(request: Request, target: str, min_score: str) -> dict[str, Any]:
    """What the page shows for ``target``: its toxic domains (or why there are none) and the lists."""
    store = state_of(request).request_store()
    target = target.strip()
    score, error = _score(min_score)
    rows: list[dict[str, Any]] = []
    if target and not error:
        try:
            rows = quality.toxic_domains(store, target, min_score=score, limit=SHOWN_ROWS + 1)
        except (LinkbackError, ValueError) as exc:
            error = str(exc)  # e.g. no rank run yet
    entries = quality.list_entries(store)
    fired = {name for row in rows for name in row["signals"]}
    quoted = shlex.quote(target or "TARGET")
    return {
        "target": target,
        "min_score": score,
        "error": error,
        "rows": rows[:SHOWN_ROWS],
        "more": len(rows) > SHOWN_ROWS,
        "legend": [(name, why) for name, why in WHY.items() if name in fired],
        "deny": [e for e in entries if e["list"] == "deny"],
        "allow": [e for e in entries if e["list"] == "allow"],
        "query": _query(target, str(score)),
        "cli_toxic": f"linkback toxic {quoted} --min-score {score}",
        "cli_file": f"linkback disavow {quoted} --min-score {score} > disavow.txt",
    }


def _page(request: Request, session: Session, context: dict[str, Any], *, http_status: int = 200,
          **extra: Any) -> Response:  # fmt: skip
    values = {"check": None, "check_error": "", "list_error": "", **context, **extra}
    return page(request, "disavow.html", session, http_status=http_status, **values)


def _score(text: str) -> tuple[int, str]:
    """The minimum toxicity asked for (1–100, as ``linkback disavow --min-score``), or why not."""
    text = text.strip()
    if not text:
        return quality.DISAVOW_MIN_SCORE, ""
    if not (text.isascii() and text.isdigit()) or len(text) > 3 or not 1 <= int(text) <= 100:
        return quality.DISAVOW_MIN_SCORE, f"min score must be a whole number from 1 to 100, got {text[:20]!r}"
    return int(text), ""


def _query(target: str, min_score: str) -> str:
    score, _ = _score(min_score)
    return urlencode({"target": target.strip(), "min_score": score})


async def _check_form(request: Request) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The check form's text fields and its uploaded file (name, bytes), if one was chosen.

    A browser sends the form as multipart (it has a file input); the text alone may come
    URL-encoded. Starlette reads either (python-multipart; a malformed body is a 400, one cut
    short :class:`MultipartCutShort`); the body was already capped by :data:`BODY_LIMITS`.
    """
    # A pasted file is a text field: as large as an uploaded one may be.
    form = await read_form(request, max_files=1, max_fields=50, max_part_size=CHECK_MAX_BYTES)
    try:
        fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
        chosen = form.get("file")
        # An empty file input sends a part with an empty file name.
        upload = (chosen.filename, await chosen.read()) if isinstance(chosen, UploadFile) and chosen.filename else None
    finally:
        await form.close()
    return fields, upload


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
