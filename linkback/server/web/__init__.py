"""The dashboard: server-rendered pages over the same functions as the CLI and the API (DESIGN §6).

Every page calls registered functions (:mod:`linkback.faces`) through the store a request is
lent; no page runs SQL of its own. Tables and filters work without JavaScript; the one script
draws the charts from JSON the page carries (a CSP allows no inline script). Third-party text —
anchors, titles, URLs, mention content — is escaped by the templates, and URLs are links only
when they are http(s).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from linkback import csvcells
from linkback.cli._output import cell_columns, csv_value, flat_cells
from linkback.errors import LinkbackError
from linkback.faces import FACES, Face, plain
from linkback.reports._compare import parse_targets
from linkback.server._app import state_of
from linkback.server._bodylimit import BodyLimit
from linkback.server.web import (
    _alerts,
    _brands,
    _disavow,
    _forms,
    _imports,
    _manage,
    _market,
    _monitor,
    _overview,
    _share,
    _widget,
)
from linkback.server.web._render import page
from linkback.server.web._session import (
    COOKIE,
    SECURITY_HEADERS,
    Session,
    SessionFirst,
    any_session,
    check_csrf,
    client_address,
    current,
    form_lists,
    sessions_of,
    set_session_cookie,
    sign_in_throttle,
)
from linkback.server.web._share import SHARED_REPORTS, viewer

HERE = Path(__file__).parent
#: The reports a table page shows, in the menu's order, with their titles.
TABLES: dict[str, str] = {
    "backlinks": "Backlinks",
    "refdomains": "Referring domains",
    "anchors": "Anchors",
    "pages": "Top pages",
    "tlds": "TLDs",
    "history": "New and lost",
    "churn": "New and lost referring domains",
    "toxic_domains": "Toxic domains",
    "toxic_links": "Toxic links",
    "domain_history": "DR history",
    "domains": "Domains in the index",
    "list_entries": "Allow and deny lists",
    "sites": "Sites",
    "rules": "Mention rules",
    "sent": "Sent notifications",
    "claims": "Imported links",
    "broken": "Broken backlinks",
    "prospects_broken": "Broken-link prospects",
    "categories": "Categories of referring domains",
    "linked_domains": "Linked domains (outgoing)",
    "silent_backlinks": "Backlinks that sent no visit",
}
#: The columns a table page shows, where a report has more than fit (downloads have them all).
SHOWN: dict[str, tuple[str, ...]] = {
    "backlinks": ("source_url", "source_dr", "target_url", "anchor", "rel", "kind", "section", "first_seen",
                  "last_seen", "lost_reason"),
    "toxic_links": ("toxicity", "signals", "source_url", "anchor", "section", "dr"),
    "domain_history": ("run_id", "as_of", "dr", "trust", "anti_trust", "refdomains", "backlinks", "toxicity",
                       "signals"),
    "broken": ("target_url", "problem", "final_url", "referring_domains", "backlinks", "best_dr", "top_anchors",
               "redirect_url", "redirect_score", "top_domains"),
    "prospects_broken": ("target_url", "state", "problem", "referring_domains", "best_dr", "score", "title",
                         "top_anchors", "contact_pages", "own_pages", "match_score"),
}  # fmt: skip
#: Links from a table's cells to the dashboard page about their value: report -> column -> (words, path).
ROW_LINKS: dict[str, dict[str, tuple[str, str]]] = {
    "broken": {"target_url": ("its backlinks", "/reports/backlinks?target=")},
    "prospects_broken": {"target_url": ("its backlinks", "/reports/backlinks?target=")},
}
#: Domains the home page's search box suggests.
SUGGESTIONS = 500
#: Rows a table page shows unless asked for another limit.
PAGE_ROWS = 100
#: Forms that change something are POSTed under /do/; their bodies are small.
BODY_LIMITS = (
    BodyLimit("/do/", 64 * 1024, lambda n: (b"form too large", "text/plain")), *_disavow.BODY_LIMITS, *_imports.BODY_LIMITS
)


def register(app: FastAPI) -> None:
    app.add_middleware(SessionFirst)  # outside the body limits: a stranger's POST is not read at all
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        session = current(request)
        if session is None:
            return _to_login(request)
        store = state_of(request).request_store()
        from linkback import reports  # noqa: PLC0415
        from linkback.mentions import _actions  # noqa: PLC0415

        return page(
            request,
            "home.html",
            session,
            sites=_actions.sites(store),
            domains=reports.domains(store, limit=15),
            # Suggestions for the search box: the most linked domains (a datalist, no script).
            suggestions=[d["domain"] for d in reports.domains(store, limit=SUGGESTIONS)],
            tables=TABLES,
        )

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002
        return page(request, "login.html", None, next=_local(next), error="")

    @app.post("/do/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await _form(request)
        state = state_of(request)
        target = _local(form.get("next", "/"))
        throttle, address = sign_in_throttle(state), client_address(request.scope)
        wait = throttle.wait(address)
        if wait:
            error = f"Too many wrong tokens from your address: try again in {wait} seconds."
            response = page(request, "login.html", None, next=target, error=error, http_status=429)
            response.headers["Retry-After"] = str(wait)
            return response
        if not state.token_ok(form.get("token", "")):
            throttle.failed(address)
            return page(request, "login.html", None, next=target, error="That is not the admin token.", http_status=401)
        session_id, _session = sessions_of(request).create()
        return set_session_cookie(RedirectResponse(target, status_code=303), request, session_id)

    @app.post("/do/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        session = any_session(request)  # a share link's session may end itself too
        if session is not None:
            check_csrf(session, (await _form(request)).get("csrf", ""))
            sessions_of(request).end(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # Before the page's route, which would take "backlinks.csv" for a report's name.
    @app.get("/reports/{name}.{fmt}", include_in_schema=False)
    def report_download(name: str, fmt: str, request: Request) -> Response:
        if viewer(request) is None:
            raise HTTPException(status_code=401, detail="sign in first")
        if name in OWN_PAGES:
            return _elsewhere(OWN_PAGES[name][1], request)
        face = _face(name)
        if fmt not in ("csv", "json"):
            raise HTTPException(status_code=404, detail="csv or json")
        values = _read(face, request)
        rows, error = _call(request, face, values)
        if error:
            raise HTTPException(status_code=400, detail=error)
        records = rows if isinstance(rows, list) else [rows]
        columns = list(face.columns) or (list(records[0]) if records else [])
        disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"', **SECURITY_HEADERS}
        if fmt == "json":
            return Response(json.dumps(plain(records), ensure_ascii=False, indent=2), headers=disposition,
                            media_type="application/json")  # fmt: skip
        if "cells" in columns:  # intersect: a column per target and part, as the CLI's CSV has them
            columns = cell_columns(columns, _cell_targets(records, values))
            records = [flat_cells(row) for row in records]
        out = io.StringIO()
        writer = csvcells.Writer(out)
        writer.writerow(columns)
        for row in records:
            writer.writerow(csv_value(row.get(c)) for c in columns)
        return Response(out.getvalue(), headers=disposition, media_type="text/csv; charset=utf-8")

    @app.get("/reports/{name}", include_in_schema=False)
    def report_page(name: str, request: Request) -> Response:
        session = viewer(request)
        if session is None:
            return _to_login(request)
        if name in OWN_PAGES:
            return _elsewhere(OWN_PAGES[name][0], request)
        face = _face(name)
        try:
            values, bad = _forms.read(face, request.query_params), ""
        except ValueError as exc:  # a hand-edited URL: the page says what is wrong, with its form
            values, bad = {}, str(exc)
        shown = dict(values)
        if "limit" in {p.name for p in face.parameters()} and "limit" not in values:
            shown["limit"] = PAGE_ROWS
        paged = _forms.paged(face)
        limit = shown.get("limit")
        # A paged table asks for one row more than it shows: whether a next page exists.
        size = limit if paged and isinstance(limit, int) and limit > 0 else 0
        result, error = ([], bad) if bad else _call(request, face, {**shown, "limit": size + 1} if size else shown)
        rows = result if isinstance(result, list) else [result] if result else []
        more = bool(size) and len(rows) > size
        rows = rows[:size] if size else rows
        query = request.query_params.multi_items()
        columns = list(SHOWN.get(name, face.columns)) or (list(rows[0]) if rows else [])
        return page(
            request,
            "report.html",
            session,
            face=face,
            title=TABLES.get(name, name),
            controls=_forms.controls(face, values),
            rows=rows,
            columns=columns,
            headers=_forms.headers(face, columns, values, query),
            sorted_by=_forms.sort_words(face, values),
            pager=_forms.pager(face, values, rows, more, query) if paged and not error else None,
            error=error,
            cli=_forms.cli_command(face, shown),
            download=_forms.download_query(face, query),
            tables=_tables(session),
            row_links=ROW_LINKS.get(name),
            http_status=200 if not error else 400,
        )

    _overview.register(app)
    _disavow.register(app)
    _manage.register(app)
    _share.register(app)
    _widget.register(app)
    _imports.register(app)
    _monitor.register(app)
    _alerts.register(app)
    _market.register(app)
    _brands.register(app)


def _tables(session: Session) -> dict[str, str]:
    """The reports the menu offers: all of them to the admin, a share link's to its session."""
    if session.site is None:
        return TABLES
    return {name: title for name, title in TABLES.items() if name in SHARED_REPORTS}


def _cell_targets(records: list[Any], values: dict[str, Any]) -> list[str]:
    """The targets a report's ``cells`` are of, in order: as its rows name them, or with no row
    as the report reads its ``targets`` (so the CSV's header is the same, rows or none)."""
    if records:
        return [cell["target"] for cell in records[0].get("cells") or ()]
    return [t.value for t in parse_targets(values["targets"])] if values.get("targets") else []


#: Reports whose answer is no table (a file's text): their own page and download, where the
#: generic report page would have rows to show.
OWN_PAGES = {"disavow": ("/disavow", "/disavow.txt")}


def _elsewhere(path: str, request: Request) -> Response:
    """The same query, on the report's own page."""
    query = request.url.query
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


def _face(name: str) -> Face:
    face = FACES.get(name)
    if face is None or face.kind != "report":
        raise HTTPException(status_code=404, detail=f"no report {name!r}")
    return face


def _read(face: Face, request: Request) -> dict[str, Any]:
    """The report's arguments from the query string; 400 with the reason when one is no value."""
    try:
        return _forms.read(face, request.query_params)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def _call(request: Request, face: Face, values: dict[str, Any]) -> tuple[Any, str]:
    required = [p.name for p, _ in _forms.exposed(face) if p.default is _forms.inspect.Parameter.empty]
    if any(name not in values for name in required):
        return [], ""
    try:
        return face.fn(state_of(request).request_store(), **values), ""
    except (LinkbackError, ValueError) as exc:
        return [], str(exc)


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def _local(target: str) -> str:
    """Only a path on this server (never ``//evil.example``) is somewhere to go after sign-in."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


async def _form(request: Request) -> dict[str, str]:
    """The sign-in and sign-out forms' fields (the last of each): sent before there is a session."""
    return {k: v[-1] for k, v in (await form_lists(request)).items()}


__all__ = ["BODY_LIMITS", "HTMLResponse", "check_csrf", "form_lists", "register"]
