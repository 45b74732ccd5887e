"""The one live fetcher (DESIGN §3): SSRF-guarded, limited in redirects, bytes and seconds.

Each hop — the first URL and every redirect — goes through :func:`check_url`, and the request
goes to **the address that was checked**: the URL's host is replaced by the IP literal, the real
name travels in the ``Host`` header and, for https, in httpcore's ``sni_hostname`` extension,
which httpcore hands to ``ssl.wrap_socket(server_hostname=...)`` so SNI and certificate
verification use the name while the socket goes to the IP (httpcore ``_sync/connection.py``).
Nothing resolves the name a second time, so DNS rebinding has no window.

The default transport is httpcore's connection pool over a network backend that (a) refuses to
connect anywhere but the address this thread's hop checked, and (b) caps every socket operation
at the time left before the fetch's deadline. (b) is what defeats a server that drips one byte a
second: httpx's read timeout restarts with each byte, the deadline does not. Python's own socket
timeouts bound a whole TLS handshake and a whole ``sendall`` since 3.5, so every blocking step is
bounded. Connections are not kept alive: a pooled TLS connection is keyed by IP, and reusing it
for another name on that IP would skip that name's certificate check.

httpx's ``Client`` is not used: its cookie jar would carry one site's cookies to the next fetch
(keyed by IP, here), it would honour ``HTTP_PROXY`` (a proxy resolves the name again, itself),
and redirects must be followed by hand anyway to check each hop.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import ada_url
import httpcore
import httpx

from linkback import __version__
from linkback.errors import FetchError, FetchLimit
from linkback.fetch._guard import (
    CheckedURL,
    GuardPolicy,
    Resolver,
    check_url,
    policy_from_env,
    system_resolver,
)
from linkback.records import FetchedPage

__all__ = [
    "DEFAULT_ACCEPT",
    "DEFAULT_USER_AGENT",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "content_type_of",
    "redirect_method",
]

DEFAULT_USER_AGENT = f"linkback/{__version__} (+https://github.com/linkback/linkback; Webmention)"
DEFAULT_ACCEPT = "text/html,application/xhtml+xml,application/json;q=0.9,text/plain;q=0.8,*/*;q=0.1"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Sent to the origin the caller meant, never to wherever it redirects (as browsers and httpx do).
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# Headers describing a request body, dropped when a redirect turns the request into a GET.
_BODY_HEADERS = frozenset(
    {"content-type", "content-length", "content-encoding", "content-language", "content-location"}
)


@dataclass(frozen=True)
class FetchLimits:
    """``timeout`` is the wall time of the whole fetch, redirects and a dripping body included."""

    max_redirects: int = 10
    max_bytes: int = 1_000_000
    timeout: float = 10.0
    connect_timeout: float = 5.0


@dataclass(frozen=True)
class FetchResult:
    """One completed fetch. ``body`` is the first ``max_bytes`` of the decoded body (gzip and
    deflate undone); ``truncated`` says more was sent. ``headers`` are as received, wire order."""

    url: str  # as requested
    final_url: str  # after redirects, fragment dropped
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    truncated: bool
    content_type: str  # MIME essence, lower case; "" when absent or unparsable
    charset: str | None  # the Content-Type charset parameter, lower case
    redirects: tuple[str, ...]  # each URL redirected to, in order
    fetched_at: datetime  # UTC

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def to_fetched_page(self, via: str) -> FetchedPage:
        """This response as the record :func:`linkback.extract.extract` reads."""
        return FetchedPage(
            url=self.url,
            final_url=self.final_url,
            status=self.status,
            headers=self.headers,
            body=self.body,
            fetched_at=self.fetched_at,
            via=via,
            truncated=self.truncated,
        )


# --- pure helpers --------------------------------------------------------------------------------


def content_type_of(value: str | None) -> tuple[str, str | None]:
    """``(essence, charset)`` of a Content-Type value: ``'text/HTML; charset="UTF-8"'`` gives
    ``("text/html", "utf-8")``; ``("", None)`` when absent or not ``type/subtype``."""
    if not value:
        return "", None
    essence, _, params = value.partition(";")
    essence = essence.strip().lower()
    if essence.count("/") != 1 or not all(essence.split("/")):
        return "", None
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip('"').strip().lower() or None
            break
    return essence, charset


def redirect_method(status: int, method: str) -> str:
    """The method after a redirect, as browsers do (Fetch, "HTTP-redirect fetch"): 301/302 turn
    POST into GET, 303 turns everything but GET/HEAD into GET, 307/308 keep the method."""
    if (status in (301, 302) and method == "POST") or (status == 303 and method not in ("GET", "HEAD")):
        return "GET"
    return method


def _join(base: str, location: str) -> str:
    """``location`` resolved against ``base`` (WHATWG), fragment dropped; FetchError if invalid."""
    try:
        joined = ada_url.URL(location, base)
    except ValueError:
        raise FetchError(f"redirect to {location!r}, not a URL", url=base, reason="url") from None
    href = joined.href
    return href[: -len(joined.hash)] if joined.hash else href


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Decoder:
    """Undoes gzip/deflate with bounded output: a 64 KB chunk of a gzip bomb must not inflate to
    64 MB before the byte limit is looked at (httpx's decoders have no output bound)."""

    def __init__(self, content_encoding: str | None, url: str) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self._url = url
        self._deflate = codings == ["deflate"]
        self._pending: bytearray | None = bytearray() if self._deflate else None
        if not codings:
            self._z = None
        elif codings == ["gzip"] or codings == ["x-gzip"]:
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._deflate:
            self._z = zlib.decompressobj()
        else:
            # We only offer gzip and deflate; a server sending br or zstd anyway gets no decoder.
            raise FetchError(f"unsupported Content-Encoding {content_encoding!r}", url=url, reason="encoding")

    def feed(self, data: bytes, limit: int) -> bytes:
        """At most ``limit`` (>= 1) decoded bytes of ``data``; input past that is dropped."""
        if self._z is None:
            return data[:limit]
        try:
            out = self._z.decompress(data, limit)
        except zlib.error as e:
            if self._pending is None:
                raise FetchError(f"corrupt compressed body ({e})", url=self._url, reason="encoding") from None
            # "deflate" means zlib-wrapped, but some servers send raw deflate; retry as httpx does.
            self._z, seen, self._pending = zlib.decompressobj(-zlib.MAX_WBITS), bytes(self._pending) + data, None
            return self.feed(seen, limit)
        if self._pending is not None:
            if out:
                self._pending = None  # the zlib header was right
            else:
                self._pending += data
        return out


# --- the transport: pinned address, deadline on every socket operation ----------------------------


class _Hop(threading.local):
    """What the fetch running on this thread allows its sockets. Thread-local because httpcore
    connects and reads in the calling thread, and one Fetcher serves several worker threads."""

    deadline: float = float("inf")
    address: str | None = None


_hop = _Hop()


def _time_left(timeout: float | None, error: type[Exception]) -> float:
    remaining = _hop.deadline - time.monotonic()
    if remaining <= 0:
        raise error("the fetch's time limit is spent")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._sync = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        # Belt and braces: the URL already holds the checked IP, so this only fails if something
        # upstream ever starts resolving names itself.
        if not _same_address(host, _hop.address):
            raise httpcore.ConnectError(f"refusing to connect to {host}: not the checked address")
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._sync.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise httpcore.ConnectError("unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _same_address(host: str, checked: str | None) -> bool:
    if checked is None:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")) == ipaddress.ip_address(checked)
    except ValueError:
        return False


# Most specific first is not needed: lookup walks the raised exception's MRO.
_HTTPX_ERRORS: Mapping[type[Exception], type[httpx.HTTPError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProxyError: httpx.ProxyError,
}


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for cls in type(exc).__mro__:
            if cls in _HTTPX_ERRORS:
                raise _HTTPX_ERRORS[cls](str(exc)) from exc
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        self._stream.close()


@lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    # certifi's store, as httpx uses; loading it costs ~0.1 s, so every Fetcher shares one.
    return httpcore.default_ssl_context()


class _PinnedTransport(httpx.BaseTransport):
    """httpx's HTTPTransport, minus proxies and keep-alive, over :class:`_PinnedBackend`."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, max_connections: int = 64) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context if ssl_context is not None else _default_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=0,
            network_backend=_PinnedBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,  # type: ignore[arg-type]
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._pool.close()


def _ssl_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):  # the chain is httpx error <- httpcore error <- ssl error
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _fetch_error(exc: Exception, url: str, deadline: float, timeout: float) -> FetchError:
    """A transport error as the FetchError callers handle."""
    timed_out = isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout)
    if timed_out or time.monotonic() >= deadline:
        return FetchLimit(f"took longer than {timeout:g} s", url=url, reason="timeout")
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchError("connection timed out", url=url, reason="connect")
    if isinstance(exc, httpx.ConnectError):
        reason = "tls" if _ssl_failure(exc) else "connect"
        return FetchError(f"cannot connect ({exc})", url=url, reason=reason)
    if isinstance(exc, httpx.ProtocolError):
        return FetchError(f"broken HTTP response ({exc})", url=url, reason="protocol")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FetchError(str(exc), url=url, reason="url")
    return FetchError(f"network error ({exc})", url=url, reason="network")


# --- the fetcher ---------------------------------------------------------------------------------


class Fetcher:
    """Fetches URLs strangers chose, safely. One instance serves many threads; close it at the end.

    ``policy`` defaults to the guard on, unless ``LINKBACK_ALLOW_PRIVATE`` says otherwise, open
    for the hosts of ``LINKBACK_ALLOW_PRIVATE_HOSTS``.
    ``transport`` replaces the pinned transport (tests); it receives URLs whose host is already
    the checked IP, with the name in ``Host`` and ``sni_hostname``. ``ssl_context`` replaces the
    default certificate store (certifi, as httpx uses) of the pinned transport.
    """

    def __init__(
        self,
        *,
        policy: GuardPolicy | None = None,
        limits: FetchLimits = FetchLimits(),
        resolver: Resolver = system_resolver,
        user_agent: str = DEFAULT_USER_AGENT,
        transport: httpx.BaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy if policy is not None else policy_from_env()
        self.limits = limits
        self.resolver = resolver
        self.user_agent = user_agent
        self._transport = transport if transport is not None else _PinnedTransport(ssl_context)
        # getaddrinfo cannot be interrupted; running it on a pool lets a fetch give up on a slow
        # (perhaps deliberately slow) name server when its deadline passes.
        self._dns = ThreadPoolExecutor(max_workers=8, thread_name_prefix="linkback-dns")

    def close(self) -> None:
        self._transport.close()
        self._dns.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | bytes | None = None,
        follow_redirects: bool = True,
        accept: str = DEFAULT_ACCEPT,
        limits: FetchLimits | None = None,
    ) -> FetchResult:
        """Fetch ``url`` (see the module docstring). ``data`` is a form (sent urlencoded) or raw
        bytes (give the Content-Type in ``headers``).

        Raises :class:`BlockedAddress` when the guard refuses a hop, :class:`FetchLimit` for
        ``redirects`` and ``timeout``, :class:`FetchError` for ``url``, ``dns``, ``connect``,
        ``tls``, ``protocol``, ``encoding`` and ``network`` failures. A body over ``max_bytes``
        is cut, not an error: ``truncated`` is set.
        """
        lim = limits if limits is not None else self.limits
        deadline = time.monotonic() + lim.timeout
        method = method.upper()
        extra = dict(headers or {})
        redirects: list[str] = []
        current = url
        origin: tuple[str, str, int] | None = None
        _hop.deadline = deadline
        try:
            while True:
                checked, _ = check_url(current, self.policy, self._resolver_until(deadline, current, lim))
                if origin is not None and origin != (checked.scheme, checked.hostname, checked.port):
                    extra = {k: v for k, v in extra.items() if k.lower() not in _CREDENTIAL_HEADERS}
                origin = (checked.scheme, checked.hostname, checked.port)
                response = self._send(checked, method, extra, data, accept, deadline, lim)
                try:
                    location = response.headers.get("location")
                    if not (follow_redirects and response.status_code in _REDIRECTS and location):
                        return self._result(url, checked, response, redirects, deadline, lim)
                    if len(redirects) >= lim.max_redirects:
                        raise FetchLimit(f"more than {lim.max_redirects} redirects", url=url, reason="redirects")
                    current = _join(checked.href, location)
                    redirects.append(current)
                    new_method = redirect_method(response.status_code, method)
                    if new_method != method:
                        method, data = new_method, None
                        extra = {k: v for k, v in extra.items() if k.lower() not in _BODY_HEADERS}
                finally:
                    response.close()
        finally:
            _hop.deadline, _hop.address = float("inf"), None

    def _resolver_until(self, deadline: float, url: str, lim: FetchLimits) -> Resolver:
        def resolve(host: str, port: int) -> list[str]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchLimit(f"took longer than {lim.timeout:g} s", url=url, reason="timeout")
            future = self._dns.submit(self.resolver, host, port)
            try:
                return future.result(timeout=remaining)
            except TimeoutError:
                raise FetchLimit(f"resolving {host} took too long", url=url, reason="timeout") from None

        return resolve

    def _send(
        self,
        checked: CheckedURL,
        method: str,
        extra: dict[str, str],
        data: Mapping[str, str] | bytes | None,
        accept: str,
        deadline: float,
        lim: FetchLimits,
    ) -> httpx.Response:
        """Send one hop's request, trying the checked addresses in order until one connects."""
        error: Exception | None = None
        for address in checked.addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            host = f"[{address}]" if ":" in address else address
            headers = httpx.Headers({"Host": checked.host_header, "User-Agent": self.user_agent, "Accept": accept})
            headers["Accept-Encoding"] = "gzip, deflate"
            for key, value in extra.items():
                if key.lower() != "host":  # the Host is the checked URL's, nothing else
                    headers[key] = value
            timeout = httpx.Timeout(remaining, connect=min(lim.connect_timeout, remaining))
            extensions: dict[str, Any] = {"timeout": timeout.as_dict()}
            if checked.scheme == "https":
                extensions["sni_hostname"] = checked.hostname
            try:
                request = httpx.Request(
                    method,
                    f"{checked.scheme}://{host}:{checked.port}{checked.target}",
                    headers=headers,
                    data=data if isinstance(data, Mapping) else None,
                    content=data if isinstance(data, bytes) else None,
                    extensions=extensions,
                )
            except httpx.InvalidURL as e:  # a scoped IPv6 address, say, only with allow_private
                raise FetchError(str(e), url=checked.href, reason="url") from None
            _hop.address = address
            try:
                return self._transport.handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                if _ssl_failure(e):
                    raise _fetch_error(e, checked.href, deadline, lim.timeout) from None
                error = e  # another address of the same host may answer
            except httpx.HTTPError as e:
                raise _fetch_error(e, checked.href, deadline, lim.timeout) from None
        if error is None:
            raise FetchLimit(f"took longer than {lim.timeout:g} s", url=checked.href, reason="timeout")
        raise _fetch_error(error, checked.href, deadline, lim.timeout) from None

    def _result(
        self,
        url: str,
        checked: CheckedURL,
        response: httpx.Response,
        redirects: list[str],
        deadline: float,
        lim: FetchLimits,
    ) -> FetchResult:
        fetched_at = datetime.now(timezone.utc)
        decoder = _Decoder(response.headers.get("content-encoding"), checked.href)
        body = bytearray()
        truncated = False
        try:
            for chunk in response.iter_raw():
                # The socket reads are capped at the deadline already; this catches a transport
                # that does not cap them (a test's) and a drip that stays just under each cap.
                if time.monotonic() >= deadline:
                    raise FetchLimit(f"took longer than {lim.timeout:g} s", url=checked.href, reason="timeout")
                body += decoder.feed(chunk, lim.max_bytes + 1 - len(body))
                if len(body) > lim.max_bytes:
                    truncated = True
                    del body[lim.max_bytes :]
                    break
        except httpx.HTTPError as e:
            raise _fetch_error(e, checked.href, deadline, lim.timeout) from None
        headers = tuple((_text(k), _text(v)) for k, v in response.headers.raw)
        content_type, charset = content_type_of(response.headers.get("content-type"))
        return FetchResult(
            url=url,
            final_url=checked.href,
            status=response.status_code,
            headers=headers,
            body=bytes(body),
            truncated=truncated,
            content_type=content_type,
            charset=charset,
            redirects=tuple(redirects),
            fetched_at=fetched_at,
        )
