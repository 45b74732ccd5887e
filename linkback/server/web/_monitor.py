"""The link monitor's pages: the ledger (``/monitor``) and a link's timeline (``/monitor/ID``).

Both read the ``ledger`` and ``link_timeline`` reports (:mod:`linkback.monitor`), called with the
parameters ``linkback monitor list`` and ``linkback monitor show`` take. The forms POST under
``/do/monitor/`` with the session's CSRF token: "Check now" queues the ``monitor`` job through
the server's job runner (the selected links, or every link that is due), "Sync" calls
``monitor_sync``, pause and resume call ``monitor_pause``, and "Watch a link" ``monitor_add``.
A verdict is always shown in words; its colour only adds to them.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import QueryParams

from linkback.errors import LinkbackError
from linkback.faces import plain
from linkback.monitor import ORIGINS, REASONS, VERDICTS, ledger, link_timeline, monitor_add, monitor_pause, monitor_sync
from linkback.server._app import state_of
from linkback.server._jobs import queue_job
from linkback.server.web._jobview import job_view
from linkback.server.web._render import page
from linkback.server.web._session import Session, current, form_ids, posted_lists

#: Rows the ledger page shows unless asked for another number, and at most.
LEDGER_ROWS, MAX_ROWS = 100, 1000
#: The verdict filter's extra choice: links no check has looked at yet (``unchecked``).
UNCHECKED = "unchecked"
#: A verdict as words, with a mark that does not rely on colour (the colour is the class's).
VERDICT_WORDS = {"live": "Live", "changed": "Changed", "lost": "Lost", "unknown": "Unknown", "": "Not checked yet"}
VERDICT_MARKS = {"live": "✓", "changed": "~", "lost": "✗", "unknown": "?", "": "·"}
#: Why a link is lost or unknown, as a person says it.
REASON_WORDS = {
    "removed": "the link was removed from the page",
    "page_gone": "the page is gone",
    "redirected": "the page now redirects elsewhere",
    "noindex": "the page is noindex",
    "canonicalized": "the page names another page as canonical",
    "nofollowed": "the link is no longer followed",
    "crawl_error": "the page could not be fetched",
    "robots": "robots.txt does not let us check it",
    "blocked": "the page refused us, or its address is not allowed",
    "unconfirmed": "missing once: a second fetch will confirm it",
    "truncated": "the page was larger than a check reads, and the link not in the part read",
}
#: Where a check found the link.
FOUND_WORDS = {"raw": "in the raw HTML", "rendered": "only in the rendered page (JavaScript)",
               "both": "in the raw HTML and the rendered page"}  # fmt: skip


# --- the ledger page's view -------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerView:
    """What the ledger page shows: the filters as the URL gives them, the page's size and place."""

    target: str = ""
    verdict: str = ""  # one of VERDICTS, UNCHECKED, or "" for any
    reason: str = ""
    origin: str = ""
    limit: int = LEDGER_ROWS
    after: int | None = None
    start: int = 1  # the first row's number (0: unknown)

    def arguments(self) -> dict[str, Any]:
        """The ``ledger`` report's arguments (no limit or cursor)."""
        args: dict[str, Any] = {"target": self.target or None}
        if self.verdict == UNCHECKED:
            args["unchecked"] = True
        elif self.verdict:
            args["verdict"] = self.verdict
        if self.reason:
            args["reason"] = self.reason
        if self.origin:
            args["origin"] = self.origin
        return args

    def query(self, **changes: Any) -> str:
        """The page's query string with ``changes`` (None drops a parameter); no cursor unless given."""
        values: dict[str, Any] = {"target": self.target, "verdict": self.verdict, "reason": self.reason,
                                  "origin": self.origin, "limit": self.limit if self.limit != LEDGER_ROWS else None}  # fmt: skip
        values.update(changes)
        return urlencode([(k, v) for k, v in values.items() if v not in (None, "")])


def _one_of(params: Any, name: str, allowed: tuple[str, ...]) -> str:
    value = (params.get(name) or "").strip()
    if value and value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _whole(params: Any, name: str, low: int, high: int, default: int | None) -> int | None:
    text = (params.get(name) or "").strip()
    if not text:
        return default
    if not re.fullmatch(r"[0-9]{1,18}", text) or not low <= int(text) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {text[:40]!r}")
    return int(text)


def read_view(params: Any) -> LedgerView:
    """The :class:`LedgerView` a query string asks for; ValueError naming a bad value."""
    limit = _whole(params, "limit", 1, MAX_ROWS, LEDGER_ROWS)
    after = _whole(params, "after", 0, 10**18, None)
    start = _whole(params, "start", 1, 10**18, 0) if after is not None else 1
    return LedgerView(
        target=(params.get("target") or "").strip(),
        verdict=_one_of(params, "verdict", (*VERDICTS, UNCHECKED)),
        reason=_one_of(params, "reason", REASONS),
        origin=_one_of(params, "origin", ORIGINS),
        limit=limit or LEDGER_ROWS,
        after=after,
        start=start or 0,
    )


def list_command(view: LedgerView) -> str:
    """``linkback monitor list example.com --verdict lost``: the same rows from the terminal."""
    words = ["linkback", "monitor", "list"] + ([view.target] if view.target else [])
    if view.verdict == UNCHECKED:
        words.append("--unchecked")
    elif view.verdict:
        words += ["--verdict", view.verdict]
    words += ["--reason", view.reason] if view.reason else []
    words += ["--origin", view.origin] if view.origin else []
    words += ["--limit", str(view.limit)]
    words += ["--after", str(view.after)] if view.after is not None else []
    return " ".join(shlex.quote(w) for w in words)


def badge(verdict: str | None, reason: str | None = None) -> dict[str, str]:
    """A verdict as the pages show it: words, a mark, a colour class, and the reason in words."""
    key = verdict or ""
    why = reason or ""
    if key == "changed":
        said = f"{', '.join(why.split())} changed" if why else ""
    else:
        said = REASON_WORDS.get(why, why)
    return {"key": key or "none", "word": VERDICT_WORDS.get(key, key), "mark": VERDICT_MARKS.get(key, "·"),
            "reason": why, "said": said}  # fmt: skip


def verdict_counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Links per verdict (never checked ones too), in the verdicts' order, and how many are paused."""
    counts = Counter(row["verdict"] or "" for row in rows)
    out = [{"verdict": v, "filter": v, "count": counts.get(v, 0), **badge(v)} for v in VERDICTS]
    out.append({"verdict": "", "filter": UNCHECKED, "count": counts.get("", 0), **badge(None)})
    return out


def when(value: Any) -> str:
    """A stored time as ``2024-05-01 10:00 UTC`` (a timeline's checks can be minutes apart)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return f"{value:%Y-%m-%d %H:%M} UTC"


# --- the timeline -----------------------------------------------------------------------------


def _json(text: Any, kind: type) -> Any:
    """A JSON column read as ``kind`` (list or dict); anything else reads as empty."""
    try:
        value = json.loads(text) if isinstance(text, str) and text else kind()
    except ValueError:
        return kind()
    return value if isinstance(value, kind) else kind()


def check_view(row: dict[str, Any]) -> dict[str, Any]:
    """One check of a timeline as its card shows it: the evidence, and the change before → after."""
    hops = [h for h in _json(row.get("redirects"), list) if isinstance(h, dict)]
    changes = _json(row.get("changes"), dict)
    changed = [
        {"field": str(name), "before": _shown(pair[0]), "after": _shown(pair[1])}
        for name, pair in changes.items()
        if isinstance(pair, list) and len(pair) == 2
    ]
    found = row.get("found")
    found_in = row.get("found_in") or ""
    # A removal is reported only once a second fetch confirms it: the first keeps the verdict.
    unconfirmed = found is False and not row.get("error") and row.get("verdict") in ("live", "changed")
    return {
        **row,
        "when": when(row.get("checked_at")),
        "badge": badge(row.get("verdict"), row.get("reason")),
        "hops": [{"url": str(h.get("url") or ""), "status": h.get("status")} for h in hops],
        "changed": changed,
        "found_words": FOUND_WORDS.get(found_in) or ("not on the page" if found is False else "not looked for"),
        "note": "missing from the page: a second fetch confirms or clears it" if unconfirmed else "",
    }


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def ledger_link(request: Request, link_id: int) -> dict[str, Any] | None:
    """The ledger row ``link_id`` names, as the ``ledger`` report gives it (None: no such link)."""
    rows = ledger(state_of(request).request_store(), after=link_id - 1, limit=1) if link_id > 0 else []
    return rows[0] if rows and rows[0]["link_id"] == link_id else None


# --- the routes -------------------------------------------------------------------------------


def register(app: FastAPI) -> None:
    @app.get("/monitor", include_in_schema=False)
    def ledger_page(request: Request, job: str = "") -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/monitor", status_code=303)
        try:
            view = read_view(request.query_params)
        except ValueError as exc:
            return _ledger(request, session, LedgerView(), error=str(exc), http_status=400)
        return _ledger(request, session, view, job=_job_view(request, job))

    @app.get("/monitor/{link_id}", include_in_schema=False)
    def timeline_page(link_id: str, request: Request, job: str = "") -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse(f"/login?next=/monitor/{link_id if link_id.isdigit() else ''}", status_code=303)
        if not re.fullmatch(r"[0-9]{1,18}", link_id):
            raise HTTPException(status_code=404, detail="no such ledger link")
        return _timeline(request, session, int(link_id), job=_job_view(request, job))

    @app.post("/do/monitor/check", include_in_schema=False)
    async def check_now(request: Request) -> Response:
        session, form = await posted_lists(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        back = _back(_last(form, "back"))
        selected = _last(form, "scope") != "due"  # else every link that is due, as the runner's own checks
        ids = form_ids(form.get("ids", []))
        if selected and not ids:
            return _refused(request, session, back, "select the links to check (or check all that are due)")
        server = state_of(request)
        job_id = queue_job(server.request_store(), "monitor", {"ids": ids} if selected else {})
        server.jobs.wake()
        return RedirectResponse(_with_job(back, job_id), status_code=303)

    @app.post("/do/monitor/pause", include_in_schema=False)
    async def pause(request: Request) -> Response:
        return await _pause(request, paused=True)

    @app.post("/do/monitor/resume", include_in_schema=False)
    async def resume(request: Request) -> Response:
        return await _pause(request, paused=False)

    @app.post("/do/monitor/sync", include_in_schema=False)
    async def sync(request: Request) -> Response:
        session, form = await posted_lists(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        site = _last(form, "site").strip()
        try:
            result = monitor_sync(state_of(request).request_store(), site or None)
        except (LinkbackError, ValueError) as exc:
            return _ledger(request, session, LedgerView(), error=f"sync: {exc}", sync_site=site, http_status=400)
        return _ledger(request, session, LedgerView(target=site), synced=plain(result), sync_site=site)

    @app.post("/do/monitor/add", include_in_schema=False)
    async def add(request: Request) -> Response:
        session, form = await posted_lists(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        fields = {name: _last(form, name).strip() for name in ("source_url", "target_url", "anchor", "follow", "note",
                                                               "tags")}  # fmt: skip
        try:
            row = monitor_add(
                state_of(request).request_store(), fields["source_url"], fields["target_url"],
                anchor=fields["anchor"] or None, follow={"yes": True, "no": False}.get(fields["follow"]),
                note=fields["note"] or None, tags=fields["tags"] or None,
            )  # fmt: skip
        except (LinkbackError, ValueError) as exc:
            return _ledger(request, session, LedgerView(), error=f"watch a link: {exc}", add_form=fields,
                           http_status=400)  # fmt: skip
        return RedirectResponse(f"/monitor/{int(row['link_id'])}", status_code=303)


async def _pause(request: Request, *, paused: bool) -> Response:
    session, form = await posted_lists(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    back = _back(_last(form, "back"))
    ids = form_ids(form.get("ids", []))
    try:
        monitor_pause(state_of(request).request_store(), ids, paused=paused)
    except (LinkbackError, ValueError) as exc:
        return _refused(request, session, back, f"{'pause' if paused else 'resume'}: {exc}")
    return RedirectResponse(back, status_code=303)


def _last(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[-1]


_BACK = re.compile(r"/monitor(?:/[0-9]{1,18})?(?:\?[^#\\]*)?\Z")


def _back(text: str) -> str:
    """Where a form goes back to: the ledger (with its filters) or a timeline, nowhere else."""
    return text if _BACK.match(text) and "//" not in text else "/monitor"


def _with_job(back: str, job_id: int) -> str:
    path, _, query = back.partition("?")
    kept = [(k, v) for k, v in QueryParams(query).multi_items() if k != "job"]
    return path + "?" + urlencode([*kept, ("job", str(job_id))])


def _refused(request: Request, session: Session, back: str, error: str) -> Response:
    """The page the form came from, saying why nothing was done (400)."""
    path, _, query = back.partition("?")
    if path.startswith("/monitor/"):
        return _timeline(request, session, int(path.rsplit("/", 1)[1]), error=error, http_status=400)
    try:
        view = read_view(QueryParams(query))
    except ValueError:
        view = LedgerView()
    return _ledger(request, session, view, error=error, http_status=400)


def _job_view(request: Request, job: str) -> dict[str, Any] | None:
    return job_view(request, job, "monitor", "monitor")


def _ledger(
    request: Request,
    session: Session,
    view: LedgerView,
    *,
    job: dict[str, Any] | None = None,
    error: str = "",
    synced: dict[str, Any] | None = None,
    sync_site: str = "",
    add_form: dict[str, str] | None = None,
    http_status: int = 200,
) -> Response:
    server = state_of(request)
    store = server.request_store()
    rows: list[dict[str, Any]] = []
    counts: list[dict[str, Any]] = []
    more = False

    def count() -> tuple[list[dict[str, Any]], int]:
        every = ledger(store, view.target or None, origin=view.origin or None)
        return verdict_counts(every), sum(1 for r in every if r["paused"])

    try:
        args = view.arguments()
        # The counts are of every verdict of the links to the target (and origin): the cards filter.
        # They read the whole ledger (0.2 s for 10,000 links): kept until the next write.
        counts, paused = server.page_cache.get(("ledger counts", view.target, view.origin), count)
        rows = ledger(store, **args, limit=view.limit + 1, after=view.after)
    except (LinkbackError, ValueError) as exc:
        error, paused, http_status = error or str(exc), 0, max(http_status, 400)
    more, rows = len(rows) > view.limit, rows[: view.limit]
    for row in rows:
        row["badge"] = badge(row["verdict"], row["reason"])
        # A loss seen once is re-checked by a later run (an hour later by default): say when.
        due = when(row["next_check_at"]) if row["pending"] and not row["paused"] else ""
        seen = REASON_WORDS.get(row["pending"], row["pending"]) if row["pending"] else ""
        row["pending_note"] = f"seen once: {seen}; a second fetch will tell" + (f", from {due}" if due else "")
    here = "/monitor" + (f"?{view.query()}" if view.query() else "")
    return page(
        request,
        "monitor.html",
        session,
        view=view,
        rows=rows,
        counts=counts,
        paused=paused,
        total=sum(c["count"] for c in counts),
        verdicts=VERDICTS,
        unchecked=UNCHECKED,
        reasons=REASONS,
        origins=ORIGINS,
        next_href=f"/monitor?{view.query(after=rows[-1]['link_id'], start=view.start + len(rows) if view.start else None)}"
        if more and rows
        else "",
        first_href=f"/monitor?{view.query()}" if view.after is not None else "",
        here=here,
        job=job,
        error=error,
        synced=synced,
        sync_site=sync_site,
        add_form=add_form or {},
        cli=list_command(view),
        http_status=http_status,
    )


def _timeline(
    request: Request,
    session: Session,
    link_id: int,
    *,
    job: dict[str, Any] | None = None,
    error: str = "",
    http_status: int = 200,
) -> Response:
    link = ledger_link(request, link_id)
    if link is None:
        raise HTTPException(status_code=404, detail=f"no ledger link {link_id}")
    try:
        checks = link_timeline(state_of(request).request_store(), link_id)
    except (LinkbackError, ValueError) as exc:
        checks, error, http_status = [], error or str(exc), max(http_status, 400)
    link["badge"] = badge(link["verdict"], link["reason"])
    return page(
        request,
        "link_timeline.html",
        session,
        link=link,
        checks=[check_view(c) for c in reversed(checks)],  # newest first
        when=when,
        here=f"/monitor/{link_id}",
        job=job,
        error=error,
        cli=f"linkback monitor show {link_id}",
        http_status=http_status,
    )
