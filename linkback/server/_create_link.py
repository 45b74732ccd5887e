""""Create a link", as Blogger shows it: what a post without links offers its readers.

* ``GET /api/create-link?target=URL`` — the post's link as HTML to copy (its title from the
  index when known, else its URL) and where its form posts (the widget script reads this; the
  snippet, ``/widget``, renders the same with :func:`linkback.server._display.create_link`).
* ``POST /webmention/form`` — that form: the URL of a reader's own post, sent as a Webmention to
  the post through the one intake of ``POST /webmention``
  (:func:`linkback.server._webmention.receive`: the same checks, rate limits, body limit,
  storage, and verification of the source later through the SSRF guard). It answers a small
  HTML page saying the link was received, or what is wrong, with a link back to the post; or
  JSON with CORS when asked (``Accept: application/json``), as the widget script does.

The form carries no CSRF token, on purpose: it is a public endpoint like ``/webmention``, reads
no cookie and acts for nobody, so a cross-site post of it does only what anyone can do with curl
(and it is embedded, and cached, on other sites, where no token could be). What protects the
server is the intake's: the rate limits per source+target and per source host, the body limit,
and the fetcher's guard, which never lets verification reach a private address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from linkback.errors import ProtocolError
from linkback.server._app import state_of
from linkback.server._display import (
    PUBLIC,
    BadRequest,
    SafeJSONResponse,
    _error,
    _refuse_jsonp,
    _site_of_targets,
    _templates,
    create_link,
    public_base,
    target_aliases,
)
from linkback.server._webmention import FORM_PATH, Received, read_pair, receive

#: The page answering that form: text, our stylesheet, a link back; it may show in the snippet's frame.
ANSWER_CSP = (
    "default-src 'none'; script-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors *"
)
#: What a reader is told when the form is refused, by the intake's error name; the intake's own
#: description (for senders) follows it.
READER_ERRORS = {
    "invalid_source": "The address of your post must be the URL of a web page, starting with http:// or https://.",
    "invalid_target": "This post is not one this server receives links for.",
    "target_not_supported": "This post is not one this server receives links for.",
    "blocked": "Links from that site are not accepted here.",
    "rate_limit_exceeded": "Too many links were sent from that site just now: try again in {retry} seconds.",
}


def _wants_json(request: Request) -> bool:
    """The widget script asks for JSON; a browser's plain form post for HTML."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def reader_message(exc: ProtocolError) -> str:
    """Why a reader's form was refused, in words for a reader."""
    code = str(exc.code)
    if code in READER_ERRORS:
        return READER_ERRORS[code].format(retry=getattr(exc, "retry_after", 0))
    # The intake's descriptions of these two (mentions.check_pair) are for senders.
    if "same page" in str(exc):
        return "That is the address of this post: give the address of your own post."
    if "both required" in str(exc):
        return "Give the address (URL) of your post."
    return "The form could not be read: reload the page and try again."


def _form_answer(
    request: Request, *, received: Received | None, error: ProtocolError | None, source: str, target: str
) -> Response:
    """The form's answer: JSON (with CORS) for the widget script, else a small HTML page."""
    state = state_of(request)
    # A link back only to a post of this server's sites: never to any URL a crafted form names.
    back = received.target if received else ""
    if not back and target:
        try:
            aliases = target_aliases(target)
            back = aliases[0] if _site_of_targets(state, aliases) else ""
        except BadRequest:
            back = ""
        if "@" in urlsplit(back).netloc:  # http://evil@blog/ is refused: no link that looks like evil's
            back = ""
    message = (
        "Thank you: your link was received. It shows under the post once your page has been "
        "checked for the link (and, on some sites, approved)."
        if received
        else reader_message(error) if error else ""
    )
    status: int = getattr(error, "http_status", 400) if error is not None else 201
    retry: int = getattr(error, "retry_after", 0)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    if received:
        headers["Location"] = received.location
    if retry:
        headers["Retry-After"] = str(retry)
    if _wants_json(request):
        body: dict[str, Any] = (
            {"status": "queued", "location": received.location, "source": received.source, "target": received.target}
            if received
            else {"error": str(error.code) if error else "invalid_request", "error_description": str(error)}
        )
        return SafeJSONResponse(
            {**body, "message": message}, status_code=status, headers={**headers, "Access-Control-Allow-Origin": "*"}
        )
    page = _templates().get_template("link_sent.html").render(
        received=received is not None,
        message=message,
        detail=str(error) if error else "",
        source=received.source if received else source.strip()[:500],
        back=back,
        css_url=public_base(request) + "/widget.css",
    )
    return Response(
        page,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers={**headers, "Content-Security-Policy": ANSWER_CSP, "Referrer-Policy": "no-referrer"},
    )


def register(app: FastAPI) -> None:
    @app.get("/api/create-link", tags=["display"])
    def api_create_link(
        request: Request,
        target: str = Query(description="the post's URL; //host/path: both schemes"),
    ) -> Response:
        """What a post without links offers its readers: ``{"url", "title", "html", "form"}``.

        ``html`` is a link to the post for a reader to copy (``title`` is the index's title of the
        page when it knows one, else the URL; both escaped in it); ``form`` is where the reader's
        URL is posted (``source`` and ``target``), "" when this server does not receive for it.
        """
        try:
            _refuse_jsonp(request)
            targets = target_aliases(target)
        except BadRequest as exc:
            return _error(str(exc))
        base = public_base(request)
        return SafeJSONResponse(create_link(state_of(request), targets, base), headers=PUBLIC)

    @app.post(FORM_PATH, status_code=201, tags=["display"])
    async def create_link_form(request: Request) -> Response:
        """A reader's "Create a link" form: ``source`` (the URL of their post) and ``target``.

        Taken in exactly as ``POST /webmention`` takes a Webmention (same checks, rate limits,
        body limit, storage, and verification of the source later, through the SSRF guard).
        Answered with a small HTML page (201, or 400/429 saying what is wrong), or with JSON
        when asked for it (``Accept: application/json``, as the widget script does).
        """
        source = target = ""
        try:
            source, target = await read_pair(request)
            received = await receive(request, source, target)
        except ProtocolError as exc:
            return _form_answer(request, received=None, error=exc, source=source, target=target)
        return _form_answer(request, received=received, error=None, source=source, target=target)
