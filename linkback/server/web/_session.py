"""Signing in to the dashboard: the admin token exchanged for a session cookie, CSRF on every form.

A session is a random id in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` under
HTTPS); the server keeps only the id's hash, in memory: restarting the server signs everyone
out. Every form that changes something carries the session's CSRF token, which the page got
from the server (Datasette's way, without the header variant: no script is needed). Every
dashboard answer carries a Content-Security-Policy that allows no inline script and nothing
from another origin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from fastapi import HTTPException, Request

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


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    """The signed-in browsers of one server."""

    def __init__(self) -> None:
        self._by_key: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(24))
        with self._lock:
            if len(self._by_key) >= MAX_SESSIONS:
                oldest = min(self._by_key, key=lambda k: self._by_key[k].used_at)
                del self._by_key[oldest]
            self._by_key[_key(session_id)] = session
        return session_id, session

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


def current(request: Request) -> Session | None:
    return sessions_of(request).get(request.cookies.get(COOKIE, ""))


def check_csrf(session: Session, sent: str) -> None:
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail="the form's CSRF token is missing or wrong: reload the page")
