"""Signing in to the dashboard: the admin token exchanged for a session cookie, CSRF on every form.

A session is a random id in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` under
HTTPS: the request's own, or ``LINKBACK_PUBLIC_URL``'s when a proxy ends TLS in front of the
server, which trusts no ``X-Forwarded-*`` header); the server keeps only the id's hash, in memory: restarting the server signs everyone
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

from linkback.server._limits import Rate, RateLimiter, address_group
from linkback.urls import public_url

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
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="strict", secure=behind_https(request), path="/")
    return response


def behind_https(request: Request) -> bool:
    """Do browsers reach this server over HTTPS? ``serve`` speaks plain HTTP and trusts no
    forwarded headers, so behind a TLS proxy only ``LINKBACK_PUBLIC_URL`` says so."""
    return request.url.scheme == "https" or public_url().lower().startswith("https://")


#: Wrong tokens one client address may give at once; the one past them makes it wait
#: ``per_seconds``, and so does each later one given sooner than that after the last.
FAILED_SIGN_INS = Rate(burst=10, per_seconds=6.0)


class SignInThrottle:
    """Wrong admin tokens (the sign-in form's, the API's bearer) counted per client address: past
    :data:`FAILED_SIGN_INS`, that address's tries are answered 429 before its token is looked
    at, so a guess that happens to be right tells nothing either. Behind a proxy every client has
    the proxy's address: a stranger's guesses then make the admin wait too, never let them in."""

    MAX_SHUT = 100_000

    def __init__(self, rate: Rate = FAILED_SIGN_INS) -> None:
        self._failures = RateLimiter(rate)
        self._shut_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, address: str) -> int:
        """Seconds before ``address`` may try a token again; 0 when it may now."""
        address = _party(address)
        with self._lock:
            until = self._shut_until.get(address, 0.0)
            left = until - time.monotonic()
            if left <= 0 and until:
                del self._shut_until[address]
        return max(1, int(left + 0.999)) if left > 0 else 0

    def failed(self, address: str) -> None:
        """``address`` gave a wrong token: past the limit it waits before its next try."""
        address = _party(address)
        if self._failures.allow(address):
            return
        with self._lock:
            self._shut_until.pop(address, None)  # to the end: the dict is in the order of shutting
            while len(self._shut_until) >= self.MAX_SHUT:
                # A flood of addresses must not eat the memory, nor free everyone shut at once:
                # the one shut longest ago goes (its wait is the likeliest to be over).
                del self._shut_until[next(iter(self._shut_until))]
            self._shut_until[address] = time.monotonic() + self._failures.retry_after()


def _party(address: str) -> str:
    """Whom an address stands for: an IPv6 one its /64 (one subscriber's, with 2^64 addresses to
    rotate through); an IPv4 one itself (its /24 may be many neighbours, one of them the admin),
    also as a dual-stack socket shows it (``::ffff:203.0.113.7``)."""
    return address_group(address, ipv4_prefix=32)


_THROTTLE_LOCK = threading.Lock()


def sign_in_throttle(state: Any) -> SignInThrottle:
    """The throttle of the server whose :class:`~linkback.server._app.ServerState` is ``state``."""
    with _THROTTLE_LOCK:
        if getattr(state, "sign_in_throttle", None) is None:
            state.sign_in_throttle = SignInThrottle()
        return state.sign_in_throttle


def client_address(scope: Any) -> str:
    """The address a request came from (the TCP peer's: forwarded headers are not trusted)."""
    client = scope.get("client")
    return client[0] if client else ""


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
