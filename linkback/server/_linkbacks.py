"""Pingback (``POST /xmlrpc``) and TrackBack (``POST /trackback/KEY``), and how a site advertises them.

Pingback's faults say whether the source links to the target, so a ping is verified while the
sender waits (after being stored: the job runner finishes it if this request dies), in a pool of
its own and only until a deadline (see :mod:`linkback.server._verifypool`). TrackBack answers at
once; unlike WordPress, the source is then fetched and verified like a Webmention.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import logging
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from linkback import mentions
from linkback.errors import LinkbackError, ProtocolError
from linkback.mentions._verification import verify
from linkback.protocols import _pingback as pb
from linkback.protocols import _trackback as tb
from linkback.server._app import ServerState, state_of
from linkback.server._bodylimit import BodyLimit
from linkback.server._runner import known_facts
from linkback.urls import host_of

log = logging.getLogger("linkback.server")

XML = "text/xml; charset=utf-8"
#: How long the job runner leaves a Pingback to the request verifying it (longer than a fetch).
PINGBACK_LEASE = 120.0

#: The bodies the routes read, refused (413) as they stream when bigger.
BODY_LIMITS = (
    BodyLimit(
        "/xmlrpc",
        pb.MAX_REQUEST_BYTES,
        lambda n: (pb.fault_response(pb.INVALID_REQUEST, f"request too large: more than {n} bytes"), XML),
    ),
    BodyLimit(
        "/trackback/",
        tb.MAX_PING_BYTES,
        lambda n: (tb.response_error(f"Ping too large: more than {n} bytes."), XML),
    ),
)

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


def checked_pair(state: ServerState, source: str, target: str) -> tuple[str, str, str]:
    """:meth:`ServerState.check_pair`, and a source or target with ``user:password@`` is refused.

    The fetcher never sends credentials found in a URL (WordPress refuses them too), so such a
    source can never be verified: it is the sender's error now, not a retry for later.
    """
    source_n, target_n, site = state.check_pair(source, target)
    if "@" in urlsplit(source_n).netloc:
        raise ProtocolError("the source URL must not contain user:password@", code="invalid_source")
    # A post of this site has no credentials in its URL; one that seems to (http://evil@blog/)
    # would only be stored, shown and linked back to looking like another host.
    if "@" in urlsplit(target_n).netloc:
        raise ProtocolError("the target URL must not contain user:password@", code="invalid_target")
    return source_n, target_n, site


def _refusal(state: ServerState, source: str, target: str, client: str) -> tuple[int, str] | None:
    """The fault a checked ping gets before anything is stored, if any (quick reads)."""
    if state.rate_limited(source, target, client):
        return (pb.FAULTS["access_denied"], "too many pingbacks from this source; try later")
    if state.queue_full():
        return (pb.FAULTS["access_denied"], "too many pings are waiting to be verified; try later")
    # 0x20 only "when it definitely doesn't" exist: the index's newest look at the page said so.
    if state.reader().execute("SELECT 1 FROM pages WHERE url = ? AND status IN (404, 410)", [target]).fetchall():
        return (pb.FAULTS["target_not_found"], "The target URI does not exist.")
    existing = mentions.get_pair(state.reader(), source, target)
    if existing and existing["status"] == "verified" and existing["state"] != "deleted":
        return (pb.FAULTS["already_registered"], "The pingback has already been registered.")
    return None


def _verify_and_store(state: ServerState, mention_id: int) -> mentions.Outcome:
    """In the Pingback pool: verify and store the outcome, whether the sender still waits or not."""
    row = mentions.get(state.reader(), mention_id)
    if row is None:  # deleted by a moderator meanwhile: nothing to verify
        return mentions.Outcome("rejected", "deleted")
    known = known_facts(state.reader(), row)
    try:
        outcome, page = verify(row, state.fetcher, known, resolve_source=state.runner.resolve_source)
    except (LinkbackError, ValueError) as exc:
        outcome, page = mentions.Outcome("rejected", f"error:{type(exc).__name__}"), None
    except Exception as exc:  # noqa: BLE001 - a parser bug: the job runner tries again later
        log.exception("verifying pingback %s failed", mention_id)
        outcome, page = mentions.Outcome("retry", f"error:{type(exc).__name__}"), None
    state.runner.apply(mention_id, outcome, page, protocol="pingback").result()
    return outcome


async def _ping(
    state: ServerState, call: pb.PingbackCall | ProtocolError, client: str, deadline: float
) -> str | tuple[int, str]:
    """One pingback.ping answered by ``deadline`` (loop time): the success string, or (fault code, message)."""
    if isinstance(call, ProtocolError):
        return (call.code if isinstance(call.code, int) else 0, str(call))
    try:
        source, target, site = checked_pair(state, call.source, call.target)
    except ProtocolError as exc:
        return (_PINGBACK_FAULT_OF.get(str(exc.code), 0), str(exc))
    # The store's answers take milliseconds, which 200 pings at once must not add to the loop's.
    refusal = await run_in_threadpool(_refusal, state, source, target, client)
    if refusal is not None:
        return refusal
    slot = state.pingback_pool.reserve(host_of(source))
    # Stored before it is verified; with a slot, the job runner leaves it to this request for a
    # while (the lease), without one the runner takes it at once.
    receipt = mentions.Receipt("pingback", source, target, site, sender_ip=client, delay=PINGBACK_LEASE if slot else 0)
    try:
        mention_id, new = await state.writer.receive_async(receipt)
    except BaseException:
        if slot is not None:
            slot.cancel()
        raise
    if new:
        state.note_queued()
    if slot is None:
        state.runner.wake()
        return _upstream("the server is busy verifying other pings")
    future = asyncio.wrap_future(slot.run(lambda: _verify_and_store(state, mention_id)))
    done, _ = await asyncio.wait({future}, timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
    if not done:
        # The fetch goes on in the pool and stores its outcome; a slow source that times out
        # there leaves the mention queued for the job runner's next attempt.
        return _upstream("the source URI is slow to answer")
    return _answer(future.result(), source, target, state)


def _answer(outcome: mentions.Outcome, source: str, target: str, state: ServerState) -> str | tuple[int, str]:
    if outcome.status == "verified":
        return f"Pingback from {source} to {target} registered. Keep the web talking! :-)"
    if outcome.status == "retry":
        # The source failed for now (5xx, 429, timeout, connection refused): fault 0x32, the
        # spec's "error from an upstream server", tells the sender to try again later rather than
        # that the ping is registered. The mention stays queued (apply() scheduled its next
        # attempt), so the job runner still verifies it even if the sender never pings again;
        # a ping that comes back re-verifies the same entry.
        state.runner.wake()
        log.info("pingback %s -> %s: will retry (%s)", source, target, outcome.reason)
        return _upstream("the source URI could not be fetched right now")
    if outcome.reason in ("no_link_found", "only_in_comment", "unsupported_type", "empty"):
        return (pb.FAULTS["no_link"], "The source URI does not contain a link to the target URI.")
    # The reason (source_dns, source_blocked_address:private...) would tell a stranger how this
    # server resolves hosts and what its network holds: it goes to the log and the moderation
    # view (stored with the mention), the sender gets what the Webmention status page says.
    log.info("pingback %s -> %s rejected: %s", source, target, outcome.reason)
    return (pb.FAULTS["source_not_found"], "The source URI does not exist.")


def _upstream(why: str) -> tuple[int, str]:
    return (pb.FAULTS["upstream"], f"Try again later: {why}. The ping is kept and will be verified.")


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
        # One deadline for the whole request, a multicall's pings included.
        deadline = asyncio.get_running_loop().time() + state.pingback_pool.deadline
        results = []
        for call in calls:
            result = await _ping(state, call, client, deadline)
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
            source, target, site = checked_pair(state, ping.url, target)
        except ProtocolError as exc:
            message = str(exc)
            if exc.code == "target_not_supported":
                message = "Sorry, trackbacks are closed for this item."
            return Response(tb.response_error(message), media_type=XML)
        client = request.client.host if request.client else ""
        if state.rate_limited(source, target, client):
            return Response(tb.response_error("Too many pings from this URL; try later."), media_type=XML)
        if state.queue_full():
            return Response(tb.response_error("Too many pings are waiting to be verified; try later."), media_type=XML)
        existing = mentions.get_pair(state.reader(), source, target)
        if existing and existing["status"] in ("queued", "verified") and existing["state"] != "deleted":
            return Response(tb.response_error("There is already a ping from that URL for this post."), media_type=XML)
        _, new = await state.writer.receive_async(
            mentions.Receipt(
                "trackback", source, target, site, sender_ip=client,
                name=ping.title, summary=ping.excerpt, author_name=ping.blog_name,
            )
        )  # fmt: skip
        if new:
            state.note_queued()
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
