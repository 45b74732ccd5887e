"""Connections: how many the server holds, and how long a request's head may take to arrive.

uvicorn answers 503 beyond ``limit_concurrency`` connections, which keeps a flood of sockets from
exhausting the process's file descriptors, but it gives a connection no deadline for the head
of a request (the request line and headers): a client that sends ``GET / HTTP/1.1`` and then
nothing holds its socket for as long as it likes. Five hundred of them held every slot, and
every visitor, the public ``/webmention`` included, was answered 503 until they let go (a
"slowloris"). :class:`HeaderDeadline` is uvicorn's own HTTP protocol with that deadline: a
connection that has not completed a request's head :data:`HEADER_SECONDS` after it opened, or
after its previous response, is closed. A request whose head arrived is not hurried: its body
has the limits of :mod:`._bodylimit`, and a long response (an export) takes what it takes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

#: Connections the server holds at once (uvicorn's ``limit_concurrency``); beyond, 503 at once.
MAX_CONNECTIONS = 500
#: Seconds a connection has for the head of its next request (nginx's ``client_header_timeout``
#: is 60 s; a browser or API client sends its head in one write, milliseconds).
HEADER_SECONDS = 10.0


class HeaderDeadline(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol (httptools, else h11), closing a connection whose request head is
    late. Both implementations set ``cycle`` when a head is complete, so the deadline needs no
    hook into their parsers: it checks that no new request started since it was set."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        if self.transport.is_closing():
            return
        self._head_deadline = self.loop.call_later(HEADER_SECONDS, self._head_late, self.cycle)

    def _head_late(self, cycle_then: Any) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        # The same cycle as when the deadline was set, and it is over (or there was none yet):
        # no head has completed since.
        if self.cycle is cycle_then and (cycle_then is None or cycle_then.response_complete):
            self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """The options every server of linkback's app runs with (``linkback serve``, ServerThread)."""
    return {"http": HeaderDeadline, "limit_concurrency": MAX_CONNECTIONS}
