"""Pingback (``POST /xmlrpc``) and TrackBack (``POST /trackback/KEY``), and how a site advertises them.

Pingback's faults say whether the source links to the target, so a ping is verified while the
sender waits (after being stored: the job runner finishes it if this request dies). TrackBack
answers at once; unlike WordPress, the source is then fetched and verified like a Webmention.
"""

from __future__ import annotations

import base64
import binascii
import html

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from linkback import mentions
from linkback.errors import LinkbackError, ProtocolError
from linkback.mentions._verification import verify
from linkback.protocols import _pingback as pb
from linkback.protocols import _trackback as tb
from linkback.server._app import ServerState, state_of
from linkback.server._runner import known_facts

XML = "text/xml; charset=utf-8"
#: How long the job runner leaves a Pingback to the request verifying it.
PINGBACK_LEASE = 120.0

_PINGBACK_FAULT_OF = {
    "invalid_source": pb.FAULTS["source_not_found"],
    "invalid_target": pb.FAULTS["target_not_supported"],
    "target_not_supported": pb.FAULTS["target_not_supported"],
    "blocked": pb.FAULTS["access_denied"],
    "invalid_request": pb.FAULTS["generic"],
}


def trackback_key(target: str) -> str:
    """The path segment of a target's TrackBack ping URL: the URL, base64url without padding."""
    return base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")


def target_of_key(key: str) -> str:
    try:
        return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ProtocolError("not a TrackBack ping URL of this server", code="invalid_target") from None


async def _ping(state: ServerState, call: pb.PingbackCall | ProtocolError, client: str) -> str | tuple[int, str]:
    """One pingback.ping: the success string, or (fault code, message)."""
    if isinstance(call, ProtocolError):
        return (call.code if isinstance(call.code, int) else 0, str(call))
    try:
        source, target, site = state.check_pair(call.source, call.target)
    except ProtocolError as exc:
        return (_PINGBACK_FAULT_OF.get(str(exc.code), 0), str(exc))
    if state.rate_limited(source, target):
        return (pb.FAULTS["access_denied"], "too many pingbacks from this source; try later")
    # 0x20 only "when it definitely doesn't" exist: the index's newest look at the page said so.
    if state.reader().execute("SELECT 1 FROM pages WHERE url = ? AND status IN (404, 410)", [target]).fetchall():
        return (pb.FAULTS["target_not_found"], "The target URI does not exist.")
    existing = mentions.get_pair(state.reader(), source, target)
    if existing and existing["status"] == "verified" and existing["state"] != "deleted":
        return (pb.FAULTS["already_registered"], "The pingback has already been registered.")
    mention_id, _ = await state.writer.receive_async(
        mentions.Receipt("pingback", source, target, site, sender_ip=client, delay=PINGBACK_LEASE)
    )
    row = mentions.get(state.reader(), mention_id)

    def check():  # noqa: ANN202
        known = known_facts(state.reader(), row)
        try:
            return verify(row, state.fetcher, known, resolve_source=state.runner.resolve_source)
        except (LinkbackError, ValueError) as exc:
            return mentions.Outcome("rejected", f"error:{type(exc).__name__}"), None

    outcome, page = await run_in_threadpool(check)
    await run_in_threadpool(lambda: state.runner.apply(mention_id, outcome, page, protocol="pingback").result())
    if outcome.status == "verified":
        return f"Pingback from {source} to {target} registered. Keep the web talking! :-)"
    if outcome.status == "retry":
        # The source failed for now (5xx, 429, timeout, connection refused): fault 0x32, the
        # spec's "error from an upstream server", tells the sender to try again later rather than
        # that the ping is registered. The mention stays queued (apply() scheduled its next
        # attempt), so the job runner still verifies it even if the sender never pings again;
        # a ping that comes back re-verifies the same entry.
        state.runner.wake()
        return (
            pb.FAULTS["upstream"],
            f"The source URI could not be fetched right now ({outcome.reason}); try again later.",
        )
    if outcome.reason in ("no_link_found", "only_in_comment", "unsupported_type", "empty"):
        return (pb.FAULTS["no_link"], "The source URI does not contain a link to the target URI.")
    return (pb.FAULTS["source_not_found"], f"The source URI cannot be used ({outcome.reason}).")


def register(app: FastAPI) -> None:
    @app.post("/xmlrpc", tags=["linkbacks"])
    async def xmlrpc(request: Request) -> Response:
        """Pingback 1.0: ``pingback.ping(source, target)``, also inside ``system.multicall``."""
        state = state_of(request)
        body = await request.body()
        try:
            req = pb.parse_request(body)
            calls = pb.pingback_calls(req)
        except ProtocolError as exc:
            code = exc.code if isinstance(exc.code, int) else 0
            return Response(pb.fault_response(code, str(exc)), media_type=XML)
        client = request.client.host if request.client else ""
        results = []
        for call in calls:
            result = await _ping(state, call, client)
            if isinstance(result, tuple):
                result = pb.public_fault(*result, generic=state.settings.generic_pingback_faults)
            results.append(result)
        if req.method == "system.multicall":
            return Response(pb.multicall_response(results), media_type=XML)
        (result,) = results
        if isinstance(result, tuple):
            return Response(pb.fault_response(*result), media_type=XML)
        return Response(pb.success_response(result), media_type=XML)

    @app.post("/trackback/{key}", tags=["linkbacks"])
    async def trackback(key: str, request: Request) -> Response:
        """TrackBack 1.2: a form post (``url`` required; ``title``, ``excerpt``, ``blog_name``)."""
        state = state_of(request)
        body = await request.body()
        try:
            ping = tb.parse_ping(body, request.headers.get("content-type"))
            target = target_of_key(key)
            source, target, site = state.check_pair(ping.url, target)
        except ProtocolError as exc:
            message = str(exc)
            if exc.code == "target_not_supported":
                message = "Sorry, trackbacks are closed for this item."
            return Response(tb.response_error(message), media_type=XML)
        if state.rate_limited(source, target):
            return Response(tb.response_error("Too many pings from this URL; try later."), media_type=XML)
        existing = mentions.get_pair(state.reader(), source, target)
        if existing and existing["status"] in ("queued", "verified") and existing["state"] != "deleted":
            return Response(tb.response_error("There is already a ping from that URL for this post."), media_type=XML)
        client = request.client.host if request.client else ""
        await state.writer.receive_async(
            mentions.Receipt(
                "trackback", source, target, site, sender_ip=client,
                name=ping.title, summary=ping.excerpt, author_name=ping.blog_name,
            )
        )  # fmt: skip
        state.runner.wake()
        return Response(tb.response_ok(), media_type=XML)

    @app.get("/api/advertise", tags=["linkbacks"])
    def advertise(target: str, request: Request) -> Response:
        """What a page of a site puts in its headers and HTML so senders find this server."""
        state = state_of(request)
        try:
            _, target_n, _site = state.check_pair("https://linkback.invalid/", target)
        except ProtocolError as exc:
            return JSONResponse({"error": str(exc.code), "error_description": str(exc)}, status_code=400)
        webmention = str(request.url_for("webmention"))
        xmlrpc_url = str(request.url_for("xmlrpc"))
        ping_url = str(request.url_for("trackback", key=trackback_key(target_n)))
        return JSONResponse(
            {
                "target": target_n,
                "headers": {"Link": f'<{webmention}>; rel="webmention"', "X-Pingback": xmlrpc_url},
                "html": f'<link rel="webmention" href="{html.escape(webmention)}">\n{pb.pingback_link_tag(xmlrpc_url)}',
                "trackback_ping_url": ping_url,
                "trackback_rdf": tb.rdf_block(target_n, ping_url, ""),
            }
        )
