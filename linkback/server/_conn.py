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

One address may hold at most :data:`MAX_PER_CLIENT` of those connections: beyond, a new one is
answered 503 and closed at once, so one client cannot take every slot, however fast it sends its
heads. Loopback addresses are not capped: behind a reverse proxy on the same machine every
visitor comes from one of them (the proxy is where to cap them), and the local CLI is trusted.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

#: Connections the server holds at once (uvicorn's ``limit_concurrency``); beyond, 503 at once.
MAX_CONNECTIONS = 500
#: Seconds a connection has for the head of its next request (nginx's ``client_header_timeout``
#: is 60 s; a browser or API client sends its head in one write, milliseconds).
HEADER_SECONDS = 10.0
#: Connections one address may hold at once (a fifth of all).
MAX_PER_CLIENT = 100
#: What a connection over that cap is answered before it is closed.
_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
    b"Retry-After: 10\r\nContent-Length: 46\r\n\r\ntoo many connections from your address at once"
)


class HeaderDeadline(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol (httptools, else h11), closing a connection whose request head is
    late. Both implementations set ``cycle`` when a head is complete, so the deadline needs no
    hook into their parsers: it checks that no new request started since it was set."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self._over_cap():
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._await_head()

    def _over_cap(self) -> bool:
        address = self.client[0] if self.client else None
        if address is None or _uncapped(address):
            return False
        held = sum(1 for c in self.connections if c.client and c.client[0] == address)
        return held > MAX_PER_CLIENT

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


def _uncapped(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True  # not an IP address (a Unix socket): nothing to tell clients apart by
    # A dual-stack socket (--host ::) sees 127.0.0.1 as ::ffff:127.0.0.1, which Python does not
    # call loopback.
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


def uvicorn_options() -> dict[str, Any]:
    """The options every server of linkback's app runs with (``linkback serve``, ServerThread)."""
    return {"http": HeaderDeadline, "limit_concurrency": MAX_CONNECTIONS}
