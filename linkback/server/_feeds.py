"""``GET /feeds/alerts/SITE.atom``: a site's alerts as an Atom feed (:mod:`linkback.alerts`).

The feed opens with the token in its URL (``?token=``, what ``linkback alerts feed SITE``
prints), the dashboard's admin session, or the admin token as a bearer; anything else is 404,
which says nothing about whether the site has a feed. Reading it marks its alerts delivered.

A token that opens nothing (in the URL or as a bearer) counts against the sign-in's throttle, the
very counter the sign-in form and the API's bearer share: guessing through the feed cannot dodge
the limit on guessing the admin token elsewhere, and a client past it is answered 429 before its
token is looked at.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response

from linkback.alerts import atom_feed, feed_token
from linkback.alerts._atom import stable_id
from linkback.alerts._rules import rule_site
from linkback.server._app import state_of
from linkback.server._display import public_base
from linkback.store import Store

if TYPE_CHECKING:
    from linkback.server.web._session import SignInThrottle

#: Entries a feed shows (the newest).
FEED_ENTRIES = 100
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def _signed_in(request: Request) -> bool:
    from linkback.server.web._session import current  # noqa: PLC0415 - the dashboard's sessions

    return current(request) is not None


def _opens(request: Request, stored: str | None, token: str, bearer: str) -> bool:
    if stored is not None and token and hmac.compare_digest(token.encode(), stored.encode()):
        return True
    return state_of(request).token_ok(bearer) or _signed_in(request)


def _throttle_guess(request: Request, token: str) -> tuple[SignInThrottle, str] | None:
    """For a request trying a token without the admin's session: the sign-in throttle and the
    client's address, after answering 429 when that address is past its wrong tries (before the
    token is looked at, so a lucky guess tells nothing). None when no token is being tried."""
    from linkback.server.web._session import client_address, sign_in_throttle  # noqa: PLC0415

    if not (token or _bearer(request)) or _signed_in(request):
        return None
    throttle, address = sign_in_throttle(state_of(request)), client_address(request.scope)
    wait = throttle.wait(address)
    if wait:
        raise HTTPException(
            status_code=429,
            detail=f"too many wrong tokens from this address: try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    return throttle, address


def feed_alerts(con: Any, site: str, limit: int = FEED_ENTRIES) -> list[dict[str, Any]]:
    """The newest alerts of ``site``'s atom rules."""
    cur = con.execute(
        """SELECT a.alert_id, a.alert_key, a.event, a.title, a.detail, a.evidence, a.created_at, a.delivered_at
           FROM alerts a JOIN alert_rules r USING (rule_id)
           WHERE r.site = ? AND r.channel = 'atom'
           ORDER BY a.created_at DESC, a.alert_id DESC LIMIT ?""",
        [site, limit],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _mark_read(store: Store, ids: list[int], now: datetime) -> None:
    store.write(
        lambda store: store.con.execute(
            "UPDATE alerts SET delivered_at = ? WHERE list_contains(?, alert_id) AND delivered_at IS NULL", [now, ids]
        )
    )


def register(app: FastAPI) -> None:
    @app.get("/feeds/alerts/{site}.atom", include_in_schema=False)
    def alerts_feed(request: Request, site: str, token: str = "") -> Response:
        state = state_of(request)
        guess = _throttle_guess(request, token)
        try:
            name = rule_site(site)
        except ValueError:
            name = ""  # no feed: a token tried on it is still a wrong one
        stored = feed_token(state.reader(), name) if name else None
        if not _opens(request, stored, token, _bearer(request)):
            if guess is not None:
                throttle, address = guess
                throttle.failed(address)
            raise HTTPException(status_code=404, detail="no such feed")
        if stored is None:  # the admin, asking for a site without a feed
            raise HTTPException(status_code=404, detail="no such feed")
        now = datetime.now(UTC)
        rows = feed_alerts(state.reader(), name)
        base = public_base(request)
        body = atom_feed(
            name,
            rows,
            feed_id=stable_id("alerts", name, stored),
            self_url=str(request.url),
            base_url=base,
            now=now,
        )
        unread = [r["alert_id"] for r in rows if r["delivered_at"] is None]
        if unread:
            _mark_read(state.request_store(), unread, now)
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=_HEADERS)
