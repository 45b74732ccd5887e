"""Request bodies limited while they stream (DESIGN §6): a pure ASGI middleware.

The public linkback endpoints take a few hundred bytes, but anyone can POST to them. Reading
the whole body before looking at its size (``await request.body()``) let one 512 MB POST grow
the server by a gigabyte. Here a declared ``Content-Length`` over the route's limit is answered
413 before a byte of the body is read (so a client that sent ``Expect: 100-continue`` never
sends it), and a chunked body is counted as it arrives and answered 413 as soon as it passes
the limit. The 413 closes the connection: what the client still sends is dropped by uvicorn
instead of being buffered.

A body within its limit (kilobytes) is read here and handed to the route as one message, so
the route's own ``request.body()`` stays as it is. It must arrive in time (:attr:`BodyLimit.seconds`):
a client that declares 100 bytes and sends one a minute would otherwise hold its connection, and
a few thousand of them every socket the server may open; it is answered 408 and let go.

An upload route (:attr:`BodyLimit.stream`: an import's exports, up to hundreds of MB) gets its
body as it arrives instead, counted: read whole here it would be held twice over before the
route had spooled a byte of it to disk. Past the limit (or the time), the 413 (408) is sent from
here, the route is told the client left, and whatever it then answers is dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """At most ``max_bytes`` of body for ``path`` (exact; a prefix when it ends with ``/``).

    ``answer(max_bytes)`` gives the 413's body and Content-Type, in the route's own protocol.
    """

    path: str
    max_bytes: int
    answer: Callable[[int], tuple[bytes, str]]
    #: How long the whole body may take; None: 10 s and a second per 16 KiB of the limit (the
    #: public endpoints' few kilobytes: ~10 s; an upload of 64 MB: about an hour). A streamed
    #: body must also keep that pace as it comes (see :meth:`LimitBodies._stream`).
    max_seconds: float | None = None
    #: Hand the body to the route as it arrives (counted, timed) rather than read whole first.
    stream: bool = False

    @property
    def seconds(self) -> float:
        return self.max_seconds if self.max_seconds is not None else self.due(self.max_bytes)

    @staticmethod
    def due(received: int) -> float:
        """Seconds a body of ``received`` bytes may take: 10 s, and a second per 16 KiB."""
        return 10.0 + received / 16384

    def matches(self, path: str) -> bool:
        return path.startswith(self.path) if self.path.endswith("/") else path == self.path


class LimitBodies:
    """ASGI middleware applying :class:`BodyLimit`\\ s; other routes pass untouched."""

    def __init__(self, app: ASGIApp, limits: Sequence[BodyLimit]) -> None:
        self.app = app
        self.limits = tuple(limits)
        #: 413 answers so far, by path of the limit (the "counted" of bad input).
        self.refused: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit_for(scope)
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await self._refuse(limit, send)
            return
        if limit.stream:
            await self._stream(limit, scope, receive, send)
            return
        body = bytearray()
        with anyio.move_on_after(limit.seconds) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left: nobody to answer
                body += message.get("body", b"")
                if len(body) > limit.max_bytes:
                    await self._refuse(limit, send)
                    return
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            await self._refuse(
                limit, send, status=408, answer=(b"the request body did not arrive in time", "text/plain")
            )
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _stream(self, limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        begun = anyio.current_time()
        deadline = begun + limit.seconds
        started = answered = cut = gone = False

        async def counted() -> Message:
            nonlocal received, answered, cut, gone
            if cut:
                return {"type": "http.disconnect"}
            message: Message | None = None
            # The whole body's deadline (4.5 h for a 257 MB upload) is no bound on a client that
            # sends a byte a second: it would hold its connection for hours. So the body must
            # also keep the pace that deadline assumes as it comes (10 s, then 16 KiB a second):
            # what has arrived so far buys the time to wait for the next chunk.
            paced = min(deadline, begun + BodyLimit.due(received))
            with anyio.move_on_after(max(0.0, paced - anyio.current_time())):
                message = await receive()
            if message is not None and message["type"] != "http.request":
                gone = gone or message["type"] == "http.disconnect"
                return message
            received += len(message.get("body", b"")) if message is not None else 0
            if message is not None and received <= limit.max_bytes:
                return message
            cut = True
            if not started:
                answered = True
                late = (408, (b"the request body did not arrive in time", "text/plain")) if message is None else ()
                await self._refuse(limit, send, *late)
            return {"type": "http.disconnect"}

        async def sent(message: Message) -> None:
            nonlocal started
            if answered:
                return  # answered here: what the route says about the body it lost is dropped
            started = True
            await send(message)

        try:
            await self.app(scope, counted, sent)
        except Exception:
            # A client that left mid-body (or was cut here) makes the route raise (Starlette's
            # ClientDisconnect): nobody is there to answer, and a traceback logged for each one
            # would let any client fill the log. The route has cleaned up as it unwound.
            if not (cut or gone):
                raise

    def _limit_for(self, scope: Scope) -> BodyLimit | None:
        if scope["type"] != "http":
            return None
        path = scope.get("path", "")
        # The most specific limit wins: /do/import's own before the one of every /do/ form.
        return max((limit for limit in self.limits if limit.matches(path)), key=lambda lim: len(lim.path), default=None)

    async def _refuse(
        self, limit: BodyLimit, send: Send, status: int = 413, answer: tuple[bytes, str] | None = None
    ) -> None:
        self.refused[limit.path] = self.refused.get(limit.path, 0) + 1
        body, content_type = answer or limit.answer(limit.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode("latin-1")),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            # uvicorn refuses a malformed Content-Length before the app sees it.
            return int(value) if value.strip().isdigit() else None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then what the server gives (disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
