"""``POST /webmention`` and its status pages (W3C Webmention §3.2).

A status page is for the sender of a Webmention, at an unguessable URL
(``/webmention/status/TOKEN``, the token made when the Webmention arrived): mention ids are
sequential and other mentions (refbacks from access logs, spam, pending ones) are nobody's
business. It says where the Webmention is (queued, verified and approved or awaiting
moderation, rejected with the Webmention error name, deleted) and never the source, target or
content, which the sender knows and moderation may be hiding.

:func:`receive` is the one intake of Webmentions over HTTP: ``POST /webmention`` and the
widget's "Create a link" form (``POST /webmention/form``, :mod:`linkback.server._display`) both
call it, so both get the same checks, rate limits, storage and verification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import URLPath
from starlette.routing import Route

from linkback import mentions
from linkback.errors import ProtocolError
from linkback.mentions._store import by_status_token, new_status_token, status_token_of
from linkback.server._app import state_of
from linkback.server._bodylimit import BodyLimit
from linkback.server._linkbacks import checked_pair

MAX_BODY = 16_384
FORM = "application/x-www-form-urlencoded"
#: Where a reader's "Create a link" form posts the URL of their post: a Webmention from an HTML
#: form, taken in by :func:`receive` like any other (the route is the widget's, in ``_display``).
FORM_PATH = "/webmention/form"
BODY_LIMITS = (
    BodyLimit(
        "/webmention",
        MAX_BODY,
        lambda n: (
            b'{"error":"invalid_request","error_description":"request too large: more than %d bytes"}' % n,
            "application/json",
        ),
    ),
    BodyLimit(
        FORM_PATH,
        MAX_BODY,
        lambda n: (b"<!doctype html><title>Too large</title><p>The form is larger than %d bytes." % n, "text/html"),
    ),
)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
#: Why a Webmention was rejected, as the Webmention error names a sender knows. The internal
#: reasons would say too much: "source_blocked_address:private" maps the receiver's network.
_NO_LINK = ("no_link_found", "only_in_comment", "unsupported_type", "empty")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def public_status(row: dict) -> dict:
    """What a Webmention's sender may know of it: its state, never its content."""
    status, state = row["status"], row["state"]
    shown_before = status == "queued" and row["verified_at"] is not None
    if state == "deleted" or status == "deleted":
        answer: dict = {"status": "deleted"}
    elif status == "verified" or shown_before:
        # Spam is "pending" to its sender: telling a spammer what the filter caught helps him.
        answer = {"status": "verified", "moderation": "approved" if state == "approved" else "pending"}
    elif status == "rejected":
        reason = row["reason"] or ""
        error = (
            "no_link_found" if reason in _NO_LINK
            else "blocked" if reason == "blocked"
            else "invalid_source" if reason == "source_is_target"
            else "source_not_found"
        )  # fmt: skip
        answer = {"status": "rejected", "error": error}
    else:
        answer = {"status": "queued"}
    answer.update(received=_iso(row["received_at"]), updated=_iso(row["updated_at"]))
    return answer


class Refused(ProtocolError):
    """A Webmention not taken in, and the HTTP status saying why (400, 413, 429)."""

    def __init__(
        self, message: str, *, code: str = "invalid_request", http_status: int = 400, retry_after: int = 0
    ) -> None:
        super().__init__(message, code=code)
        self.http_status = http_status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Received:
    """A Webmention stored and queued for verification; ``location`` is its status page."""

    source: str
    target: str
    location: str


async def read_pair(request: Request) -> tuple[str, str]:
    """``source`` and ``target`` of a form-encoded POST, exactly one of each, as sent.

    Raises :class:`~linkback.errors.ProtocolError` (400) or :class:`Refused` (413)."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != FORM:
        raise ProtocolError(f"send source and target as {FORM}", code="invalid_request")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Refused("request too large", http_status=413)
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("the form is not UTF-8 or malformed", code="invalid_request") from None
    if len(form.get("source", ())) != 1 or len(form.get("target", ())) != 1:
        raise ProtocolError("exactly one source and one target are required", code="invalid_request")
    return form["source"][0], form["target"][0]


async def receive(request: Request, source: str, target: str) -> Received:
    """The Webmention intake: every way a Webmention arrives over HTTP comes through here.

    Checked synchronously (:func:`~linkback.server._linkbacks.checked_pair`: URLs, a site this
    server receives for, rules; :class:`~linkback.errors.ProtocolError`), rate limited per
    source+target, per source host and per client, and refused while too many wait (:class:`Refused`, 429), stored durably through the
    writer, and queued: the job runner fetches the source through the SSRF guard and verifies it.
    """
    state = state_of(request)
    source, target, site = checked_pair(state, source, target)
    client = request.client.host if request.client else ""
    retry = state.rate_limited(source, target, client)
    if retry:
        raise Refused(
            "too many requests for this source", code="rate_limit_exceeded", http_status=429, retry_after=retry
        )
    # Webmention names no status for this; 429 with Retry-After (RFC 6585) is what a sender
    # already retries on, as for the rate limits.
    retry = state.queue_full()
    if retry:
        raise Refused(
            "too many Webmentions are waiting to be verified; try later",
            code="rate_limit_exceeded", http_status=429, retry_after=retry,
        )  # fmt: skip
    token = new_status_token()
    mention_id, new = await state.writer.receive_async(
        mentions.Receipt("webmention", source, target, site, sender_ip=client, status_token=token)
    )
    if new:
        state.note_queued()
    else:  # a pair stored before keeps its first token (and the sender its status URL)
        token = status_token_of(state.reader(), mention_id)
    state.runner.wake()
    return Received(source, target, status_url(request, token))


def refusal(exc: ProtocolError) -> JSONResponse:
    """A refused Webmention as the sender reads it: ``error`` and ``error_description``."""
    retry = getattr(exc, "retry_after", 0)
    return JSONResponse(
        {"error": str(exc.code), "error_description": str(exc)},
        status_code=getattr(exc, "http_status", 400),
        headers={"Retry-After": str(retry)} if retry else None,
    )


#: Where a router keeps the status pages' path prefix it answered once (an attribute of the
#: router itself: routers are neither hashable nor weakly referable, and ids get reused).
_PREFIX = "_linkback_status_prefix"


def status_url(request: Request, token: str) -> str:
    """``request.url_for("webmention_status", token=...)`` without walking the routes on every
    request (the router's answer for the path is the same for every token)."""
    router: Any = request.scope.get("router") or request.scope.get("app")
    prefix = getattr(router, _PREFIX, None)
    if prefix is None:
        path = str(router.url_path_for("webmention_status", token="T")) if router is not None else ""
        if not path.endswith("/T"):  # a route shape this shortcut does not know: ask each time
            return str(request.url_for("webmention_status", token=token))
        prefix = path[:-1]
        setattr(router, _PREFIX, prefix)
    return str(URLPath(f"{prefix}{token}", protocol="http").make_absolute_url(request.base_url))


def register(app: FastAPI) -> None:
    @app.post("/webmention", status_code=201, tags=["linkbacks"])
    async def webmention(request: Request) -> Response:
        """Receive a Webmention: ``source`` and ``target``, form-encoded.

        Checked synchronously (400 with an ``error`` name for each failure), stored durably, then
        answered ``201 Created`` with the ``Location`` of its status page; the source is fetched
        and verified in the background.
        """
        try:
            received = await receive(request, *await read_pair(request))
        except ProtocolError as exc:
            return refusal(exc)
        return JSONResponse(
            {
                "status": "queued",
                "summary": "Webmention was queued for processing",
                "location": received.location,
                "source": received.source,
                "target": received.target,
            },
            status_code=201,
            headers={"Location": received.location},
        )

    # The busiest route is also served by a plain Starlette route ahead of FastAPI's (same
    # handler): it skips the dependency machinery, a few percent of every request. The FastAPI
    # route stays for the OpenAPI description.
    app.router.routes.insert(0, Route("/webmention", webmention, methods=["POST"], name="webmention_receive"))

    @app.get("/webmention/status/{token}", name="webmention_status", tags=["linkbacks"])
    def webmention_status(token: str, request: Request) -> Response:
        """Where a Webmention is: queued, verified (approved or pending moderation), rejected
        (with the Webmention error name) or deleted. The URL is the ``Location`` of the 201."""
        row = by_status_token(state_of(request).reader(), token) if _TOKEN.fullmatch(token) else None
        if row is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(public_status(row), headers={"Cache-Control": "no-store"})

    @app.get("/webmention", tags=["linkbacks"])
    def webmention_help() -> Response:
        return JSONResponse({"webmention": "POST source and target here (application/x-www-form-urlencoded)"})
