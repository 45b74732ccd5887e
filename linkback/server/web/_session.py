"""Signing in to the dashboard: the admin token exchanged for a session cookie, CSRF on every form.

A session is a random id in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` under
HTTPS); the server keeps only the id's hash, in memory: restarting the server signs everyone
out. Every form that changes something carries the session's CSRF token, which the page got
from the server (Datasette's way, without the header variant: no script is needed). Every
dashboard answer carries a Content-Security-Policy that allows no inline script and nothing
from another origin.

A session is the admin's (signed in with the token) or a share link's: ``site`` then names the
one site it may read and ``share`` the link's hash, so revoking the link ends it
(:mod:`linkback.server.web._share`). :func:`current` answers only the admin's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import HTTPException, Request
from fastapi.responses import Response

COOKIE = "linkback_session"
#: A session ends this long after it was last used (seconds).
IDLE_SECONDS = 12 * 3600
#: Sessions kept at most (the oldest go first).
MAX_SESSIONS = 1000

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class Session:
    csrf: str
    used_at: float = field(default_factory=time.monotonic)
    #: The site a share link's session may read; None for the admin.
    site: str | None = None
    #: The hash of the share link that opened it ("" for the admin).
    share: str = ""


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    """The signed-in browsers of one server."""

    def __init__(self) -> None:
        self._by_key: dict[str, Session] = {}
        #: Hashes of revoked share links: a visit that looked its link up just before the
        #: revocation still gets no session.
        self._revoked: set[str] = set()
        self._lock = threading.Lock()

    def create(self) -> tuple[str, Session]:
        """A new admin session: its id (the cookie's value) and itself."""
        made = self._add(Session(csrf=secrets.token_urlsafe(24)))
        assert made is not None  # noqa: S101 - only share links are ever revoked
        return made

    def create_shared(self, site: str, share: str) -> tuple[str, Session] | None:
        """A new session of the share link ``share`` (its hash) for ``site``; None when that
        link has been revoked."""
        return self._add(Session(csrf=secrets.token_urlsafe(24), site=site, share=share))

    def _add(self, session: Session) -> tuple[str, Session] | None:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            if session.share and session.share in self._revoked:
                return None
            if len(self._by_key) >= MAX_SESSIONS:
                # Share links' sessions go first: visits to a link never sign the admin out.
                oldest = min(self._by_key, key=lambda k: (self._by_key[k].site is None, self._by_key[k].used_at))
                del self._by_key[oldest]
            self._by_key[_key(session_id)] = session
        return session_id, session

    def end_share(self, share: str) -> int:
        """End every session the share link ``share`` (its hash) opened, now and later."""
        with self._lock:
            self._revoked.add(share)
            ended = [k for k, s in self._by_key.items() if s.share == share]
            for key in ended:
                del self._by_key[key]
        return len(ended)

    def get(self, session_id: str) -> Session | None:
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._by_key.get(_key(session_id))
            if session is None or now - session.used_at > IDLE_SECONDS:
                self._by_key.pop(_key(session_id), None)
                return None
            session.used_at = now
            return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._by_key.pop(_key(session_id), None)


def sessions_of(request: Request) -> Sessions:
    state = request.app.state.linkback
    if getattr(state, "web_sessions", None) is None:
        state.web_sessions = Sessions()
    return state.web_sessions


def any_session(request: Request) -> Session | None:
    """The request's session, the admin's or a share link's."""
    return sessions_of(request).get(request.cookies.get(COOKIE, ""))


def current(request: Request) -> Session | None:
    """The admin's session, or None (a share link's session is none)."""
    session = any_session(request)
    return session if session is not None and session.site is None else None


def set_session_cookie(response: Response, request: Request, session_id: str) -> Response:
    """The session cookie, as every sign-in sets it: HttpOnly, SameSite=Strict, Secure under HTTPS."""
    response.set_cookie(
        COOKIE, session_id, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )
    return response


def check_csrf(session: Session, sent: str) -> None:
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail="the form's CSRF token is missing or wrong: reload the page")


#: Fields a posted form may have: the moderation inbox's boxes ticked on its longest page, and more.
MAX_FORM_FIELDS = 2000


async def form_lists(request: Request) -> dict[str, list[str]]:
    """A urlencoded form's fields, each with all its values."""
    body = await request.body()
    try:
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # more fields than any form of the dashboard has
        raise HTTPException(status_code=400, detail=f"the form has more than {MAX_FORM_FIELDS:,} fields") from None


async def posted_lists(request: Request) -> tuple[Session | None, dict[str, list[str]]]:
    """The admin's session and the POSTed form's fields, its CSRF token checked (403); ``(None,
    {})`` without a session (the body is not read)."""
    session = current(request)
    if session is None:
        return None, {}
    fields = await form_lists(request)
    check_csrf(session, (fields.get("csrf") or [""])[-1])
    return session, fields


async def posted(request: Request) -> tuple[Session | None, dict[str, str]]:
    """:func:`posted_lists` with the last value of each field."""
    session, fields = await posted_lists(request)
    return session, {name: values[-1] for name, values in fields.items()}


def form_ids(values: list[str]) -> list[int]:
    """Row ids from a form's ``id`` fields: plain ASCII digits only (``"²".isdigit()`` is true,
    and ``int`` of 5,000 digits raises), anything else left out."""
    return [int(v) for v in values if re.fullmatch(r"[0-9]{1,18}", v)]


#: Dashboard POSTs a stranger may send: signing in (its body is a token, under the /do/ limit).
PUBLIC_POSTS = ("/do/login",)
#: Dashboard paths whose POST bodies need a session: the forms under /do/ and the disavow check.
SESSION_POSTS = ("/do/", "/disavow/check")


class SessionFirst:
    """ASGI middleware: a dashboard POST without a session is answered (303 to sign-in) before a
    byte of its body is read. The routes check the session and CSRF token again; this is so a
    stranger's body costs nothing (an import upload may be 64 MB; a slow one would be held)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if (
            scope.get("method") == "POST"
            and path.startswith(SESSION_POSTS)
            and path not in PUBLIC_POSTS
            and any_session(Request(scope)) is None
        ):
            from fastapi.responses import RedirectResponse  # noqa: PLC0415

            await RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)(scope, receive, send)
            return
        await self.app(scope, receive, send)
