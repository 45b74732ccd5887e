"""Sends, sites and mention rules: the dashboard's pages that change what the server does.

Each form POSTs under ``/do/`` with the session's CSRF token and calls the same function as the
CLI (``linkback send``, ``linkback site add``, ``linkback mentions block`` …); what it refuses is
shown on the page with the function's own message (400), never as a server error. The send form
queues a ``send`` job and never asks for private addresses: the server's own guard decides.
"""

from __future__ import annotations

import shlex
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from linkback import jobs
from linkback.errors import LinkbackError
from linkback.mentions import _actions
from linkback.mentions._sites import POLICIES, RULES
from linkback.secrets import new_token
from linkback.send import check_budget
from linkback.server._app import state_of
from linkback.server._jobs import queue_job
from linkback.server.web._render import page
from linkback.server.web._session import Session, current, posted
from linkback.urls import normalize

#: What the send form sends for, and the job parameter each goes in.
SEND_KINDS = {"post": "posts", "feed": "feeds", "sitemap": "sitemaps"}
#: The history rows a page shows unless asked for another number, and at most.
SENT_ROWS, MAX_SENT_ROWS = 100, 1000
#: The columns of the history, as ``linkback sent`` shows them.
SENT_COLUMNS = ("source", "target", "protocol", "status", "reason", "sent_at")
#: The CLI command that adds each rule.
RULE_COMMANDS = {"allow": "allow", "block": "block", "word": "spam-word"}


def register(app: FastAPI) -> None:
    @app.get("/sends", include_in_schema=False)
    def sends_page(request: Request, url: str = "", limit: str = "") -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/sends", status_code=303)
        return _sends(request, session, url=url.strip(), limit=limit.strip())

    @app.post("/do/send", include_in_schema=False)
    async def send(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        try:
            params = send_params(form)
        except ValueError as exc:
            return _sends(request, session, form=form, error=str(exc), http_status=400)
        server = state_of(request)
        queue_job(server.request_store(), "send", params)
        server.jobs.wake()
        return RedirectResponse("/jobs", status_code=303)

    @app.get("/sites", include_in_schema=False)
    def sites_page(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/sites", status_code=303)
        return _sites(request, session)

    @app.post("/do/site", include_in_schema=False)
    async def site_add(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        webhook_url = form.get("webhook_url", "").strip()
        typed = form.get("webhook_secret", "").strip()
        # As the CLI: a webhook gets a secret even when none is typed, and only then is it shown.
        secret = typed or (new_token() if webhook_url else "")
        added, error = _change(
            request,
            lambda store: _actions.add_site(
                store, form.get("site", ""), policy=form.get("policy", "auto"),
                webhook_url=webhook_url and http_url(webhook_url, "webhook_url"), webhook_secret=secret,
            ),
        )  # fmt: skip
        if error:
            return _sites(request, session, form=form, error=error, http_status=400)
        if secret and not typed:
            return _sites(request, session, added=added, secret=secret)
        return RedirectResponse("/sites", status_code=303)

    @app.post("/do/site/remove", include_in_schema=False)
    async def site_remove(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        site = form.get("site", "")
        found, error = _change(request, lambda store: _actions.remove_site(store, site))
        if error:
            return _sites(request, session, error=error, http_status=400)
        if not found:
            return _sites(request, session, error=f"{site!r} is not a site", http_status=404)
        return RedirectResponse("/sites", status_code=303)

    @app.post("/do/rules", include_in_schema=False)
    async def rules_add(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        entries = split_entries(form.get("entries", ""))
        rule = form.get("rule", "")
        _added, error = _change(
            request,
            lambda store: _actions.add_rules(
                store, rule, _given(entries, "entries"), site=form.get("site", "").strip() or "*",
                note=form.get("note", "").strip(),
            ),
        )  # fmt: skip
        if error:
            return _sites(request, session, rule_form=form, error=error, http_status=400)
        return RedirectResponse("/sites", status_code=303)

    @app.post("/do/rules/remove", include_in_schema=False)
    async def rules_remove(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        entries = split_entries(form.get("entries", ""))
        site = form.get("site", "").strip() or "*"
        removed, error = _change(
            request, lambda store: _actions.remove_rules(store, _given(entries, "entries"), site=site)
        )
        if error:
            return _sites(request, session, error=error, http_status=400)
        if not removed:
            return _sites(request, session, error=f"no rule {', '.join(entries)!r} for site {site!r}", http_status=404)
        return RedirectResponse("/sites", status_code=303)


# --- reading the forms ----------------------------------------------------------------------------


def send_params(form: dict[str, str]) -> dict[str, Any]:
    """The ``send`` job's parameters from the form; ValueError naming the field that is wrong.

    Only http(s) URLs are sent for (the job would fail on anything else, later and out of sight);
    ``allow_private`` and ``allow_private_hosts`` are never among them, whatever the form carries:
    only the operator's command line opens the server's guard."""
    kind = form.get("kind", "post")
    if kind not in SEND_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SEND_KINDS)}, not {kind!r}")
    text = form.get("url", "").strip()
    if not text:
        raise ValueError(f"url: give the URL of your {kind}")
    url = http_url(text, "url")
    params = {
        SEND_KINDS[kind]: [url],
        "all_links": _checked(form, "all_links"),
        "dry_run": _checked(form, "dry_run"),
        "blog_name": form.get("blog_name", "").strip(),
        "budget": form_budget(form),
    }
    return params


def form_budget(form: dict[str, str]) -> float:
    """The form's ``budget`` in seconds (the job's default when left empty); a ValueError that
    names the field, with the job's own rule for what is allowed."""
    text = form.get("budget", "").strip()
    if not text:
        return jobs.SEND_BUDGET
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"budget: give a number of seconds, not {text!r}") from None
    return check_budget(seconds)


def http_url(text: str, field: str) -> str:
    """``text`` as a stored http(s) URL; a ValueError that names the form's field."""
    try:
        url = normalize(text)
    except ValueError as exc:  # a URLError says what is wrong with it, not where
        raise ValueError(f"{field}: {exc}") from exc
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{field}: only http and https URLs are accepted, not {text!r}")
    return url


def seconds_text(seconds: float) -> str:
    """Seconds as a form and a command line give them back exactly: ``600``, ``0.5``, ``1234567``
    (not ``:g``'s ``1.23457e+06``).

    >>> [seconds_text(s) for s in (600.0, 0.5, 1234567.0, 1e20)]
    ['600', '0.5', '1234567', '100000000000000000000']
    """
    return str(int(seconds)) if seconds.is_integer() else repr(seconds)


def send_command(kind: str, url: str, *, all_links: bool, dry_run: bool, blog_name: str, budget: float) -> str:
    """``linkback send URL --dry-run``: the same sends from the terminal."""
    words = ["linkback", "send"] + ([url] if kind == "post" else [f"--{kind}", url])
    words += ["--all-links"] * all_links + ["--dry-run"] * dry_run + (["--blog-name", blog_name] if blog_name else [])
    words += ["--budget", seconds_text(budget)] if budget != jobs.SEND_BUDGET else []
    return " ".join(shlex.quote(w) for w in words)


def split_entries(text: str) -> list[str]:
    """Entries typed as a list: one per line or comma-separated (a spam phrase keeps its spaces)."""
    return [e.strip() for line in text.splitlines() for e in line.split(",") if e.strip()]


def _given(entries: list[str], field: str) -> list[str]:
    if not entries:
        raise ValueError(f"{field}: give at least one (comma-separated)")
    return entries


def _checked(form: dict[str, str], name: str) -> bool:
    return form.get(name, "").strip().lower() in ("yes", "on", "true", "1")



def _change(request: Request, fn: Any) -> tuple[Any, str]:
    """Run one change on the request's store: its result, or why it was refused. The sites and
    rules the server cached are reloaded after it either way (a refused change wrote nothing,
    and reloading costs one query)."""
    server = state_of(request)
    try:
        return fn(server.request_store()), ""
    except (LinkbackError, ValueError) as exc:
        return None, str(exc)
    finally:
        server.invalidate()


# --- the pages ------------------------------------------------------------------------------------


def _sends(
    request: Request,
    session: Session,
    *,
    url: str = "",
    limit: str = "",
    form: dict[str, str] | None = None,
    error: str = "",
    http_status: int = 200,
) -> Response:
    rows: list[dict[str, Any]] = []
    history_error = ""
    try:
        count = int(limit) if limit else SENT_ROWS
        if not 1 <= count <= MAX_SENT_ROWS:
            raise ValueError(f"limit must be 1 to {MAX_SENT_ROWS}, not {count}")
        rows = jobs.sent(state_of(request).request_store(), url or None, limit=count)
    except (LinkbackError, ValueError) as exc:
        history_error, count = str(exc), SENT_ROWS
        http_status = max(http_status, 400)
    form = form or {}
    kind = form.get("kind", "post") if form.get("kind") in SEND_KINDS else "post"
    try:
        budget = form_budget(form)
    except ValueError:  # the page says why above the form, which keeps what was typed
        budget = jobs.SEND_BUDGET
    return page(
        request,
        "sends.html",
        session,
        form=form,
        kind=kind,
        kinds=tuple(SEND_KINDS),
        budget=seconds_text(budget),
        error=error,
        rows=rows,
        columns=SENT_COLUMNS,
        url=url,
        limit=count,
        history_error=history_error,
        sent_cli=" ".join(shlex.quote(w) for w in ["linkback", "sent", *([url] if url else [])]
                          + (["--limit", str(count)] if count != SENT_ROWS else [])),  # fmt: skip
        send_cli=send_command(
            kind, form.get("url", "").strip() or "URL", all_links=_checked(form, "all_links"),
            dry_run=_checked(form, "dry_run"), blog_name=form.get("blog_name", "").strip(), budget=budget,
        ),  # fmt: skip
        http_status=http_status,
    )


def _sites(
    request: Request,
    session: Session,
    *,
    form: dict[str, str] | None = None,
    rule_form: dict[str, str] | None = None,
    error: str = "",
    added: dict[str, Any] | None = None,
    secret: str = "",
    http_status: int = 200,
) -> Response:
    store = state_of(request).request_store()
    return page(
        request,
        "sites.html",
        session,
        sites=_actions.sites(store),
        rules=_actions.rules(store),
        policies=POLICIES,
        rule_kinds=RULES,
        rule_commands=RULE_COMMANDS,
        form=form or {},
        rule_form=rule_form or {},
        error=error,
        added=added,
        secret=secret,
        http_status=http_status,
    )
