"""``GET /feeds/alerts/SITE.atom``: a site's alerts as an Atom feed (:mod:`linkback.alerts`).

The feed opens with the token in its URL (``?token=``, what ``linkback alerts feed SITE``
prints), the dashboard's admin session, or the admin token as a bearer; anything else is 404,
which says nothing about whether the site has a feed. Reading it marks its alerts delivered.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response

from linkback.alerts import atom_feed, feed_token
from linkback.alerts._atom import stable_id
from linkback.alerts._rules import rule_site
from linkback.server._app import state_of
from linkback.server._display import public_base
from linkback.store import Store

#: Entries a feed shows (the newest).
FEED_ENTRIES = 100
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _opens(request: Request, stored: str, token: str) -> bool:
    from linkback.server.web._session import current  # noqa: PLC0415 - the dashboard's sessions

    if token and hmac.compare_digest(token.encode(), stored.encode()):
        return True
    header = request.headers.get("authorization", "")
    bearer = header[7:].strip() if header[:7].lower() == "bearer " else ""
    return state_of(request).token_ok(bearer) or current(request) is not None


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
        try:
            name = rule_site(site)
        except ValueError:
            raise HTTPException(status_code=404, detail="no such feed") from None
        stored = feed_token(state.reader(), name)
        if stored is None or not _opens(request, stored, token):
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
