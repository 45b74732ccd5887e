"""The Alerts page (``/alerts``): the alerts made, each linking to its evidence; the rules of each
site with a form to add one and buttons to remove them; each site's Atom feed URL; "Run now".

It calls what ``linkback alerts`` calls (:mod:`linkback.alerts`): the ``alerts``,
``alert_rules`` and ``alert_feed`` reports and the ``alert_rule_add`` and ``alert_rule_remove``
actions; "Run now" queues the ``alerts_run`` job in the server's job runner, with the server's
own guard (the form never asks for private addresses). Forms POST under ``/do/alerts/`` with
the session's CSRF token.
"""

from __future__ import annotations

import math
import re
import shlex
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from linkback.alerts import (
    CHANNELS,
    EVENTS,
    SCHEDULES,
    alert_feed,
    alert_rule_add,
    alert_rule_remove,
    alert_rules,
    alerts,
)
from linkback.errors import LinkbackError
from linkback.mentions import _actions
from linkback.server._app import state_of
from linkback.server._display import public_base
from linkback.server._jobs import queue_job
from linkback.server.web._jobview import job_view
from linkback.server.web._monitor import when
from linkback.server.web._render import page
from linkback.server.web._session import Session, current, posted

#: Alerts the page lists (newest first), as ``linkback alerts list`` does by default.
ALERT_ROWS = 100
#: What each event tells of, as the form's choices say it.
EVENT_WORDS = {
    "new_link": "a new link",
    "lost_link": "a lost link",
    "changed": "a link's anchor, rel or section changed",
    "broken_target": "a linked page of yours is broken",
    "toxic_domain": "a new toxic referring domain",
}
CHANNEL_WORDS = {"webhook": "a signed webhook", "email": "email", "atom": "the site's Atom feed"}
FORM_FIELDS = ("site", "event", "channel", "address", "schedule", "min_dr", "follow_only")


def evidence_href(path: Any) -> str:
    """An alert's evidence as a link on this dashboard: a path here (never another origin), or ""."""
    text = path if isinstance(path, str) else ""
    ok = text.startswith("/") and not text.startswith("//") and "\\" not in text and text.isprintable()
    return text if ok else ""


def delivery(alert: dict[str, Any]) -> str:
    """How an alert's delivery went, in words."""
    if alert["channel"] is None:
        return "not sent: its rule was removed" if not alert["delivered_at"] else f"sent {when(alert['delivered_at'])}"
    if alert["delivered_at"]:
        verb = "read in the feed" if alert["channel"] == "atom" else "sent"
        return f"{verb} {when(alert['delivered_at'])}"
    if alert["channel"] == "atom":
        return "in the feed, not read yet"
    if alert["next_attempt_at"]:
        if alert["attempts"]:
            return f"{alert['attempts']} tries failed ({alert['last_error']}); next {when(alert['next_attempt_at'])}"
        return f"due {when(alert['next_attempt_at'])}"
    return f"not sent: {alert['last_error']}" if alert["last_error"] else "not sent"


def rule_params(form: dict[str, str]) -> dict[str, Any]:
    """``alert_rule_add``'s arguments from the form; ValueError naming a field that is wrong."""
    text = form.get("min_dr", "").strip()
    min_dr = None
    if text:
        try:
            min_dr = float(text)
        except ValueError:
            raise ValueError(f"min DR: {text[:40]!r} is not a number (0 to 100)") from None
        if not math.isfinite(min_dr):
            raise ValueError(f"min DR: {text[:40]!r} is not a number (0 to 100)")
    channel = form.get("channel", "")
    return {
        "site": form.get("site", "").strip(),
        "event": form.get("event", ""),
        "channel": channel,
        "address": form.get("address", "").strip() if channel != "atom" else "",
        "secret": form.get("secret", "").strip() if channel == "webhook" else "",
        # Digests are for email; a webhook or a feed tells at once, whatever the select says.
        "schedule": (form.get("schedule", "") or "immediate") if channel == "email" else "immediate",
        "min_dr": min_dr,
        "follow_only": form.get("follow_only", "").strip().lower() in ("yes", "on", "true", "1"),
    }


def add_command(form: dict[str, str]) -> str:
    """``linkback alerts add SITE EVENT --email ADDRESS``: the same rule from the terminal."""
    channel = form.get("channel") or "webhook"
    words = ["linkback", "alerts", "add", form.get("site") or "SITE", form.get("event") or "EVENT"]
    address = form.get("address") or ("URL" if channel == "webhook" else "ADDRESS")
    words += ["--atom"] if channel == "atom" else [f"--{channel}", address]
    if channel == "email" and form.get("schedule") in ("daily", "weekly"):
        words += ["--digest", form["schedule"]]
    if form.get("min_dr"):
        words += ["--min-dr", form["min_dr"]]
    if form.get("follow_only"):
        words.append("--follow-only")
    return " ".join(shlex.quote(w) for w in words)


def list_command(site: str, event: str) -> str:
    words = ["linkback", "alerts", "list"] + (["--site", site] if site else []) + (["--event", event] if event else [])
    return " ".join(shlex.quote(w) for w in [*words, "--limit", str(ALERT_ROWS)])


def register(app: FastAPI) -> None:
    @app.get("/alerts", include_in_schema=False)
    def alerts_page(request: Request, site: str = "", event: str = "", job: str = "") -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/alerts", status_code=303)
        return _page(request, session, site=site.strip(), event=event.strip(), job=_job_view(request, job))

    @app.post("/do/alerts/rules/add", include_in_schema=False)
    async def add_rule(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        shown = {name: form.get(name, "") for name in FORM_FIELDS}
        try:
            row = alert_rule_add(state_of(request).request_store(), **rule_params(form))
        except (LinkbackError, ValueError) as exc:
            return _page(request, session, form=shown, error=f"rule not added: {exc}", http_status=400)
        state_of(request).runner.wake()
        if row.get("secret"):  # made here: shown this once
            return _page(request, session, added=row, secret=row["secret"])
        return RedirectResponse("/alerts?" + urlencode({"site": row["site"]}), status_code=303)

    @app.post("/do/alerts/rules/remove", include_in_schema=False)
    async def remove_rule(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        text = form.get("rule_id", "").strip()
        if not re.fullmatch(r"[0-9]{1,18}", text):
            return _page(request, session, error=f"no alert rule {text[:40]!r}", http_status=404)
        if not alert_rule_remove(state_of(request).request_store(), int(text)):
            return _page(request, session, error=f"no alert rule {text}: it may be removed already", http_status=404)
        return RedirectResponse("/alerts", status_code=303)

    @app.post("/do/alerts/run", include_in_schema=False)
    async def run_now(request: Request) -> Response:
        session, _form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        server = state_of(request)
        job_id = queue_job(server.request_store(), "alerts_run", {})
        server.jobs.wake()
        return RedirectResponse(f"/alerts?job={job_id}", status_code=303)


def _job_view(request: Request, job: str) -> dict[str, Any] | None:
    return job_view(request, job, "alerts_run", "alerts")


def _page(
    request: Request,
    session: Session,
    *,
    site: str = "",
    event: str = "",
    job: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    added: dict[str, Any] | None = None,
    secret: str = "",
    error: str = "",
    http_status: int = 200,
) -> Response:
    store = state_of(request).request_store()
    rows: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    list_error = ""
    try:
        rows = alerts(store, site=site or None, event=event or None, limit=ALERT_ROWS)
        rules = alert_rules(store, site=site or None)
    except (LinkbackError, ValueError) as exc:
        list_error, http_status = str(exc), max(http_status, 400)
    for row in rows:
        row["href"] = evidence_href(row["evidence"])
        row["delivery"] = delivery(row)
        row["when"] = when(row["created_at"])
    base = public_base(request)
    sites = []
    for name, its in groupby(rules, key=lambda r: r["site"]):
        listed = list(its)
        feed = alert_feed(store, name)["path"] if any(r["channel"] == "atom" for r in listed) else ""
        sites.append({"site": name, "rules": listed, "feed": base + feed if feed else ""})
    form = form or {"site": site, "channel": "webhook", "schedule": "immediate"}
    return page(
        request,
        "alerts.html",
        session,
        rows=rows,
        sites=sites,
        site=site,
        event=event,
        events=EVENTS,
        event_words=EVENT_WORDS,
        channels=CHANNELS,
        channel_words=CHANNEL_WORDS,
        schedules=SCHEDULES,
        suggestions=[s["site"] for s in _actions.sites(store)],
        form=form,
        added=added,
        secret=secret,
        job=job,
        error=error,
        list_error=list_error,
        limit=ALERT_ROWS,
        list_cli=list_command(site, event),
        add_cli=add_command(form),
        http_status=http_status,
    )
