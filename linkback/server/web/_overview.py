"""The overview of a target, the mentions inbox and the jobs page."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from linkback import reports
from linkback.errors import LinkbackError
from linkback.faces import plain
from linkback.mentions import _actions
from linkback.quality import toxic_domains
from linkback.records import LINK_KINDS
from linkback.server._app import state_of
from linkback.server._jobs import list_jobs, queue_job
from linkback.server.web._render import page
from linkback.server.web._session import check_csrf, current
from linkback.server.web._share import viewer

#: Toxicity bands of referring domains, as the toxic report's scores fall.
TOXIC_BANDS = (("clean", 0, 1), ("low", 1, 30), ("medium", 30, 60), ("high", 60, 101))


def script_json(value: Any) -> Markup:
    """JSON to carry in a ``<script type="application/json">``: no ``<``, ``>`` or ``&`` in it, so
    no third-party text can close the element (its content is not entity-decoded, so it is not
    escaped the HTML way)."""
    text = json.dumps(value, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def bars(counts: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Rows of a distribution drawn as CSS bars: label, count, share of the largest (0–100)."""
    top = max((n for _, n in counts), default=0) or 1
    total = sum(n for _, n in counts) or 1
    return [{"label": label, "count": n, "width": round(100 * n / top), "share": n / total} for label, n in counts]


def overview_context(store: Any, target: str) -> dict[str, Any]:
    row = reports.overview(store, target)
    anchors = reports.anchors(store, target, limit=10)
    classes: Counter[str] = Counter()
    for a in reports.anchors(store, target, limit=None):
        classes[a["anchor_class"]] += a["links"]
    history = reports.history(store, target, by="week")
    running, line = 0, []
    for period in history:
        running += period["new_domains"] - period["lost_domains"]
        line.append([period["date"].isoformat(), running, period["new_domains"], -period["lost_domains"]])
    try:
        toxic = toxic_domains(store, target)
    except LinkbackError:
        toxic = []  # no rank run yet
    bands: Counter[str] = Counter()
    for d in toxic:
        bands[next(name for name, low, high in TOXIC_BANDS if low <= (d["toxicity"] or 0) < high)] += 1
    kinds = [(k, row[f"kind_{k}"]) for k in LINK_KINDS if row.get(f"kind_{k}")]
    attributes = [(a, row[a]) for a in ("dofollow", "nofollow", "ugc", "sponsored", "noindex")]
    dr_bands = [(f"{low}–{high}", row[f"refdomains_dr_{low}_{high}"] or 0) for low, high in reports.DR_BUCKETS]
    return {
        "target": row["target"],
        "stats": row,
        "toxic_share": (bands["high"] + bands["medium"]) / len(toxic) if toxic else None,
        "dr_bands": bars(dr_bands) if row.get("dr") is not None else [],
        "toxic_bands": bars([(name, bands[name]) for name, _, _ in TOXIC_BANDS]) if toxic else [],
        "kinds": bars(kinds),
        "attributes": bars(attributes),
        "anchor_classes": bars(classes.most_common()),
        "anchors": anchors,
        "tlds": reports.tlds(store, target, limit=10),
        "pages": reports.pages(store, target, limit=10),
        "chart": script_json({"weeks": line}),
    }


def register(app: FastAPI) -> None:
    @app.get("/overview", include_in_schema=False)
    def overview_page(request: Request, target: str = "") -> Response:
        session = viewer(request)  # the admin, or a share link of a site that holds ``target``
        if session is None:
            return RedirectResponse("/login?next=/overview", status_code=303)
        if not target.strip():
            return RedirectResponse("/", status_code=303)
        store = state_of(request).request_store()
        try:
            context = overview_context(store, target.strip())
        except (LinkbackError, ValueError) as exc:
            return page(request, "overview.html", session, target=target, error=str(exc), http_status=404)
        return page(request, "overview.html", session, error="", **context)

    @app.get("/mentions", include_in_schema=False)
    def inbox(request: Request, state: str = "pending", status: str = "verified") -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/mentions", status_code=303)
        store = state_of(request).request_store()
        rows = _actions.mentions(store, state=state or None, status=status or None, limit=200)
        return page(request, "mentions.html", session, rows=rows, state=state, status=status)

    @app.post("/do/moderate", include_in_schema=False)
    async def moderate(request: Request) -> Response:
        from linkback.server.web import form_lists  # noqa: PLC0415

        session = current(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        form = await form_lists(request)
        check_csrf(session, (form.get("csrf") or [""])[-1])
        action = (form.get("action") or [""])[-1]
        ids = [int(i) for i in form.get("id", []) if i.isdigit()]
        server = state_of(request)
        try:
            _actions.moderate(server.request_store(), action, ids=ids)
        except (LinkbackError, ValueError) as exc:
            return page(request, "mentions.html", session, rows=[], state="", status="", error=str(exc), http_status=400)
        finally:
            server.invalidate()
            server.runner.wake()
        return RedirectResponse("/mentions", status_code=303)

    @app.get("/jobs", include_in_schema=False)
    def jobs_page(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/jobs", status_code=303)
        server = state_of(request)
        jobs = list_jobs(server.reader(), 50)
        for job in jobs:
            live = server.jobs.live_progress(job["job_id"]) if job["state"] == "running" else None
            job["progress"] = plain(live or job["progress"])
        return page(request, "jobs.html", session, jobs=jobs)

    @app.post("/do/rank", include_in_schema=False)
    async def start_rank(request: Request) -> Response:
        from linkback.server.web import form_lists  # noqa: PLC0415

        session = current(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        form = await form_lists(request)
        check_csrf(session, (form.get("csrf") or [""])[-1])
        server = state_of(request)
        queue_job(server.request_store(), "rank", {})
        server.jobs.wake()
        return RedirectResponse("/jobs", status_code=303)
