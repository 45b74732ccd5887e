"""Read-only share links: a secret URL that opens one site's link reports and nothing else.

The admin makes and revokes links on ``/shares`` with the functions ``linkback share`` and
``/api/v1`` call (:mod:`linkback.shares`, which keeps only their hashes). Opening
``/share/<secret>`` starts a session bound to the link's site. Such a session may GET the
overview and the link reports whose TARGET is the site or inside it, the static assets, and sign
in or out, and use what any visitor may (the widget, the linkback endpoints); :class:`ShareGate`,
in front of every route, answers anything else 403 before a route runs — admin pages, ``/do/``
forms, other targets, the API — so no route has to remember it. A link followed from another
site first shows a page of ours with a button to open it (SameSite=Strict cookies need a
same-site request).

Revoking a link ends its sessions: the gate looks the link up at each request of a share
session (one point read of ``meta``), so a link revoked by any face — this page, the API,
``linkback share revoke`` through the API — opens nothing from its sessions' next request on,
and the session is ended then. The access log shows ``/share/…`` without the secret.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from linkback import reports, shares
from linkback.errors import LinkbackError, TargetError, URLError
from linkback.faces import FACES
from linkback.mentions import _actions
from linkback.mentions._sites import covers
from linkback.server._app import state_of
from linkback.server._display import public_base
from linkback.server.web._render import page
from linkback.server.web._session import (
    COOKIE,
    SECURITY_HEADERS,
    Session,
    any_session,
    current,
    posted,
    sessions_of,
    set_session_cookie,
)
from linkback.shares import NoSuchShare
from linkback.urls import host_of, parse_target

#: The reports a share link opens (as pages and as CSV/JSON downloads), in the menu's order.
SHARED_REPORTS = (
    "overview", "backlinks", "refdomains", "anchors", "pages", "tlds", "history", "toxic_domains", "toxic_links",
    "domain_history", "trend", "growth", "churn",
)  # fmt: skip
#: Reports about a whole registrable domain: a link for one host does not open them.
DOMAIN_WIDE = ("domain_history",)
#: What a share session may always ask for: the assets, other links, signing in and out.
OPEN_PREFIXES = ("/static/", shares.PATH)
OPEN_PATHS = ("/login", "/do/login", "/do/logout")
#: The OpenAPI tags of the routes any visitor may use without signing in (the widget, the public
#: mention APIs, the linkback endpoints and their status pages): a share session uses them as
#: a stranger does, so a blog on the same site shows its widget to a browser holding one.
PUBLIC_TAGS = frozenset({"display", "linkbacks"})
_REPORT_PATH = re.compile(r"/reports/([a-z_]+)(?:\.(?:csv|json))?\Z")
#: Domains the create form suggests besides the sites.
SUGGESTIONS = 500


# --- what a share session may open -----------------------------------------------------------------


def inside(site: str, text: str, *, domain_wide: bool = False) -> bool:
    """Is the report TARGET ``text`` the site ``site`` or inside it? A domain covers its hosts
    and their URL prefixes, a host itself and its URL prefixes (any port)."""
    try:
        target = parse_target(text)
    except (TargetError, URLError, ValueError):
        return False
    if domain_wide:
        return target.kind == "domain" and covers(site, target.value)
    if target.kind == "url_prefix":
        url = target.value if "://" in target.value else "http://" + target.value
        try:
            return covers(site, host_of(url))
        except (URLError, ValueError):
            return False
    return covers(site, target.value)


def decide(session: Session, method: str, path: str, query: Any) -> tuple[str, str]:
    """``("allow", "")``, ``("redirect", where)`` (a report asked for without its TARGET opens
    on the site) or ``("refuse", why)`` for a request of the share session ``session``."""
    site = session.site or ""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return "allow", ""
    if path == "/overview":
        name, report = "target", "overview"
    else:
        match = _REPORT_PATH.match(path)
        report = match.group(1) if match else ""
        face = FACES.get(report) if report in SHARED_REPORTS else None
        if face is None:
            return "refuse", "This share link opens only the reports of " + site + "."
        name = next(iter(face.parameters())).name  # "target", or "domain"
    if method not in ("GET", "HEAD"):
        return "refuse", "A share link only reads: nothing can be changed through it."
    given = [v.strip() for v in query.getlist(name) if v.strip()]
    if not given:
        rest = [(k, v) for k, v in query.multi_items() if k != name]
        return "redirect", path + "?" + urlencode([(name, site), *rest])
    if all(inside(site, value, domain_wide=report in DOMAIN_WIDE) for value in given):
        return "allow", ""
    return "refuse", f"This share link opens the reports of {site} only, not of {given[-1]}."


def viewer(request: Request) -> Session | None:
    """The admin's session, or a share link's when it may open this request; else None."""
    session = any_session(request)
    if session is None or session.site is None:
        return session
    verdict, _ = decide(session, request.method, request.url.path, request.query_params)
    return session if verdict == "allow" else None


class ShareGate:
    """ASGI middleware: a share link's session gets only what :func:`decide` allows, while its
    link is there; every other request passes untouched (and costs a look at its headers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(k == b"cookie" and COOKIE.encode() in v for k, v in scope["headers"]):
            request = Request(scope)
            session = any_session(request)
            # A session whose link is gone is ended here; its request goes on as a stranger's.
            if (
                session is not None
                and session.site is not None
                and not _public_route(scope)
                and not _own_credentials(request)
                and await run_in_threadpool(kept, request, session)
            ):
                verdict, detail = decide(session, request.method, request.url.path, request.query_params)
                if verdict != "allow":
                    response = (
                        RedirectResponse(detail, status_code=303, headers=SECURITY_HEADERS)
                        if verdict == "redirect"
                        else page(request, "refused.html", session, message=detail, http_status=403)
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _public_route(scope: Scope) -> bool:
    """Is ``scope``'s path and method one that OpenAPI lists under :data:`PUBLIC_TAGS`? Every
    route matching both counts (a plain Starlette route may answer ahead of the FastAPI route
    that documents it, as ``POST /webmention``'s does); with none, the routes of the path (the
    wrong method: the stranger's 405)."""
    full, partial = [], []
    for route in scope["app"].router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            full.append(route)
        elif match is Match.PARTIAL:
            partial.append(route)
    return any(_public(route) for route in full or partial)


def _public(route: BaseRoute) -> bool:
    return not PUBLIC_TAGS.isdisjoint(getattr(route, "tags", None) or ())


def _own_credentials(request: Request) -> bool:
    """Does ``request`` bring credentials of its own, which its route checks: the admin token to
    the API, or a feed's token in its URL? Then a share session's cookie beside them (a browser
    that once opened a share link, trying the API in /docs, or reading its alerts feed) takes
    nothing away. A feed's token is not checked here: a wrong one gets the feed's 404."""
    path = request.url.path
    if path.startswith("/feeds/alerts/"):
        return bool(request.query_params.get("token"))
    return path.startswith("/api/v1/") and state_of(request).bearer_ok(request.headers.get("authorization", ""))


def kept(request: Request, session: Session) -> bool:
    """Is the link that opened the share session ``session`` still there? If it is not, its
    sessions end (all of them, and any a visit racing the revocation would start)."""
    if shares.share_exists(state_of(request).request_store(), session.share):
        return True
    sessions_of(request).end_share(session.share)
    return False


class HideSecrets(logging.Filter):
    """Takes the secret out of ``/share/<secret>`` in log lines: uvicorn's access log writes
    every request's path, and a log is no place for a working link."""

    PATTERN = re.compile(re.escape(shares.PATH) + r"[^/?#\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.hide(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.hide(a) if isinstance(a, str) else a for a in record.args)
        return True

    def hide(self, text: str) -> str:
        return self.PATTERN.sub(shares.PATH + "***", text) if shares.PATH in text else text


#: The loggers that write request paths.
PATH_LOGGERS = ("uvicorn.access",)
_HIDE_SECRETS = HideSecrets()


# --- the routes -----------------------------------------------------------------------------------


def register(app: FastAPI) -> None:
    app.add_middleware(ShareGate)
    for name in PATH_LOGGERS:
        if _HIDE_SECRETS not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_HIDE_SECRETS)

    @app.get(shares.PATH + "{secret}", include_in_schema=False)
    def open_link(secret: str, request: Request) -> Response:
        found = shares.share_site(state_of(request).request_store(), secret)
        overview = "/overview?" + urlencode({"target": found[1]}) if found else ""
        if found and request.headers.get("sec-fetch-site") == "cross-site":
            # Followed from another site, the browser sends no SameSite=Strict cookie, on this
            # request nor on the redirect after it: the admin would look signed out (and be, as
            # the share's cookie replaced theirs) and a new session's cookie would not reach the
            # overview. A click on this page of ours is a same-site request, which has them.
            return page(request, "share_open.html", None, href=shares.PATH + secret, site=found[1])
        if found and current(request) is not None:
            # The admin opening a link (one they made, to try it): their session stays. A link
            # followed from anywhere must not sign the admin out.
            return RedirectResponse(overview, status_code=303, headers=SECURITY_HEADERS)
        sessions = sessions_of(request)
        made = sessions.create_shared(found[1], found[0]) if found else None
        if made is None:
            message = "No such share link: it may have been revoked. Ask whoever sent it for a new one."
            return page(request, "refused.html", any_session(request), message=message, http_status=404)
        sessions.end(request.cookies.get(COOKIE, ""))  # whatever this browser had before
        response = RedirectResponse(overview, status_code=303, headers=SECURITY_HEADERS)
        return set_session_cookie(response, request, made[0])

    @app.get("/shares", include_in_schema=False)
    def shares_page(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/shares", status_code=303)
        return _page(request, session)

    @app.post("/do/shares/create", include_in_schema=False)
    async def create(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        try:
            made = shares.create_share(state_of(request).request_store(), site=form.get("site", ""))
        except (LinkbackError, ValueError) as exc:
            return _page(request, session, form=form, error=f"site: {exc}", http_status=400)
        url = public_base(request) + made["path"]
        return _page(request, session, made=made, url=url)

    @app.post("/do/shares/revoke", include_in_schema=False)
    async def revoke(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        try:
            revoked = shares.revoke_share(state_of(request).request_store(), share=form.get("share", ""))
        except NoSuchShare as exc:
            return _page(request, session, error=f"{exc}", http_status=404)
        except (LinkbackError, ValueError) as exc:
            return _page(request, session, error=f"{exc}", http_status=400)
        # The gate would end them at their next request; ending them now frees them at once.
        sessions_of(request).end_share(revoked["id"])
        return RedirectResponse("/shares", status_code=303)


def _page(
    request: Request,
    session: Session,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    made: dict[str, Any] | None = None,
    url: str = "",
    http_status: int = 200,
) -> Response:
    store = state_of(request).request_store()
    sites = [s["site"] for s in _actions.sites(store)]
    domains = [d["domain"] for d in reports.domains(store, limit=SUGGESTIONS)]
    return page(
        request,
        "shares.html",
        session,
        links=shares.list_shares(store),
        suggestions=list(dict.fromkeys(sites + domains)),
        form=form or {},
        error=error,
        made=made,
        url=url,
        http_status=http_status,
    )
