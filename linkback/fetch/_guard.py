"""The SSRF guard: which URLs and addresses a live fetch may reach (DESIGN §3, protocols §1.2).

A Webmention, Pingback or TrackBack request makes this server fetch a URL a stranger chose, so
that URL must not reach the machine itself, its private network or the cloud metadata service.
The rules, as the reference implementations apply them and a bit stricter:

* only ``http``/``https``, no userinfo (WordPress ``wp_http_validate_url``), ports 80, 443,
  8080 and 8443 only (WordPress allows 80/443/8080; 8443 is the common TLS twin of 8080);
* the host is resolved once and **every** address it resolves to must be public: an attacker
  who controls a zone can return one public and one private record and hope the connection
  picks the second;
* the caller then connects to an address returned here, never to the name again, so a second
  DNS answer (DNS rebinding) cannot move the connection somewhere else.

:func:`address_refusal` is the address table: the webmention.rocks ``isPublicAddress`` and
WordPress ranges, the IANA special-purpose registries, cloud metadata addresses, and IPv6 by
the same rules (ULA, link-local, site-local, loopback; IPv4 embedded in mapped, 6to4 and NAT64
addresses is judged as that IPv4 address, since that is where the packets go). IPv6 outside
global unicast ``2000::/3`` is refused outright: nothing else is routable on the Internet.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import ada_url

from linkback.errors import BlockedAddress, FetchError

__all__ = [
    "DEFAULT_PORTS",
    "CheckedURL",
    "GuardPolicy",
    "IPAddress",
    "Resolver",
    "address_refusal",
    "allow_private_from_env",
    "check_url",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = frozenset({80, 443, 8080, 8443})

_N4 = ipaddress.IPv4Network
_N6 = ipaddress.IPv6Network

# Most specific first: the first match names the reason.
_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_N4("0.0.0.0/32"), "unspecified"),  # Linux connects 0.0.0.0 to the local host
    (_N4("0.0.0.0/8"), "reserved"),  # "this network"
    (_N4("10.0.0.0/8"), "private"),
    (_N4("100.64.0.0/10"), "shared"),  # carrier-grade NAT; also Alibaba's metadata 100.100.100.200
    (_N4("127.0.0.0/8"), "loopback"),
    (_N4("169.254.169.254/32"), "metadata"),  # AWS, GCP, Azure, OpenStack instance metadata
    (_N4("169.254.0.0/16"), "link-local"),
    (_N4("168.63.129.16/32"), "metadata"),  # Azure WireServer: a public address only Azure VMs reach
    (_N4("172.16.0.0/12"), "private"),
    (_N4("192.0.0.192/32"), "metadata"),  # Oracle Cloud metadata
    (_N4("192.0.0.0/24"), "reserved"),  # IETF protocol assignments
    (_N4("192.0.2.0/24"), "documentation"),
    (_N4("192.88.99.0/24"), "reserved"),  # deprecated 6to4 relay anycast (WordPress refuses it)
    (_N4("192.168.0.0/16"), "private"),
    (_N4("198.18.0.0/15"), "benchmarking"),
    (_N4("198.51.100.0/24"), "documentation"),
    (_N4("203.0.113.0/24"), "documentation"),
    (_N4("224.0.0.0/4"), "multicast"),
    (_N4("255.255.255.255/32"), "broadcast"),
    (_N4("240.0.0.0/4"), "reserved"),
)

_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_N6("::/128"), "unspecified"),
    (_N6("::1/128"), "loopback"),
    (_N6("64:ff9b:1::/48"), "reserved"),  # local-use NAT64: the embedded address is not knowable
    (_N6("100::/64"), "reserved"),  # discard-only
    (_N6("2001:2::/48"), "benchmarking"),
    (_N6("2001:db8::/32"), "documentation"),
    (_N6("2001::/23"), "reserved"),  # IETF protocol assignments: Teredo, ORCHID, ...
    (_N6("3fff::/20"), "documentation"),
    (_N6("fd00:ec2::254/128"), "metadata"),  # AWS instance metadata over IPv6
    (_N6("fc00::/7"), "ula"),
    (_N6("fe80::/10"), "link-local"),
    (_N6("fec0::/10"), "site-local"),
    (_N6("ff00::/8"), "multicast"),
)
_GLOBAL_UNICAST = _N6("2000::/3")
_NAT64 = _N6("64:ff9b::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address the packets really go to: IPv4-mapped, 6to4 or well-known NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """None when ``ip`` is a public address a fetch may connect to, else a short reason.

    Reasons: ``loopback``, ``private``, ``link-local``, ``metadata``, ``shared``, ``reserved``,
    ``multicast``, ``broadcast``, ``unspecified``, ``documentation``, ``benchmarking``, ``ula``,
    ``site-local``. An IPv4-mapped, 6to4 or NAT64 address gets the reason of its IPv4 address.

    >>> address_refusal(ipaddress.ip_address("169.254.169.254")), address_refusal(ipaddress.ip_address("8.8.8.8"))
    ('metadata', None)
    >>> address_refusal(ipaddress.ip_address("::ffff:10.0.0.1"))
    'private'
    """
    if isinstance(ip, ipaddress.IPv6Address):
        v4 = _embedded_v4(ip)
        if v4 is not None:
            return address_refusal(v4)
        for net6, reason in _V6:
            if ip in net6:
                return reason
        if ip not in _GLOBAL_UNICAST:
            return "reserved"
    else:
        for net4, reason in _V4:
            if ip in net4:
                return reason
    # A safety net for ranges IANA adds later: Python's registry copy refuses, never allows.
    return None if ip.is_global else "reserved"


class Resolver(Protocol):
    """Turns a host name into IP address strings, in the order to try them. Raises OSError."""

    def __call__(self, host: str, port: int, /) -> list[str]: ...


def system_resolver(host: str, port: int) -> list[str]:
    """The system resolver (``getaddrinfo``): each address once, in the order it returns them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class GuardPolicy:
    """What the guard allows.

    ``allow_private`` switches the address and port checks off (tests, and an operator who
    verifies mentions between machines on one private network). ``ports`` is the port
    allow-list, None for any port. ``refuse_address`` is the address table, replaceable so a
    test can declare its loopback server "public" for one name and prove every other private
    address is still refused.
    """

    allow_private: bool = False
    ports: frozenset[int] | None = DEFAULT_PORTS
    refuse_address: Callable[[IPAddress], str | None] = field(default=address_refusal, repr=False)


def allow_private_from_env() -> bool:
    """Whether ``LINKBACK_ALLOW_PRIVATE`` (``1``, ``true`` or ``yes``) switches the guard off."""
    return os.environ.get("LINKBACK_ALLOW_PRIVATE", "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class CheckedURL:
    """A URL the guard accepted, split the way a request to a checked address needs it."""

    href: str  # WHATWG href without the fragment (a fragment is never sent)
    scheme: str  # "http" or "https"
    hostname: str  # ASCII host name or IP, IPv6 without brackets: for SNI and certificate checks
    port: int  # the effective port
    host_header: str  # the Host header: host, and ":port" when not the scheme's default
    target: str  # the request target: path and query
    addresses: tuple[str, ...]  # every address the host resolved to, all checked, in order


def _parse(url: str) -> ada_url.URL:
    if not isinstance(url, str):
        raise FetchError(f"a URL must be text, not {type(url).__name__}", url=str(url), reason="url")
    try:
        parsed = ada_url.URL(url)
    except ValueError:
        raise FetchError("not a valid absolute URL", url=url, reason="url") from None
    if parsed.protocol not in ("http:", "https:"):
        raise FetchError(f"{parsed.protocol} URL, only http and https are fetched", url=url, reason="url")
    if parsed.username or parsed.password:
        # Credentials in a URL a stranger sent are either a mistake or an attempt to log in somewhere.
        raise FetchError("a URL with user:password@ is not fetched", url=url, reason="url")
    return parsed


def check_url(url: str, policy: GuardPolicy, resolver: Resolver) -> tuple[CheckedURL, str]:
    """Check ``url`` and resolve its host; return it split and the address to connect to.

    Raises :class:`FetchError` ``reason="url"`` for an unparsable, non-http(s) or userinfo URL,
    ``reason="dns"`` when the host does not resolve; :class:`BlockedAddress` with
    ``reason="port"`` for a port outside the allow-list, or the :func:`address_refusal` reason
    when **any** resolved address is refused. With ``policy.allow_private`` only the URL checks
    apply. The returned address is the first one the resolver gave; ``CheckedURL.addresses``
    holds them all (all checked) for a caller that falls back when a connection fails.
    """
    parsed = _parse(url)
    scheme = parsed.protocol[:-1]
    port = int(parsed.port) if parsed.port else (443 if scheme == "https" else 80)
    guarded = not policy.allow_private
    if guarded and policy.ports is not None and port not in policy.ports:
        raise BlockedAddress(f"port {port} is not allowed", url=url, reason="port")

    hostname = parsed.hostname
    literal = hostname[1:-1] if hostname.startswith("[") else hostname
    try:
        # ada has already turned 0x7f.1, 2130706433 and friends into dotted quads.
        addresses = [str(ipaddress.ip_address(literal))]
    except ValueError:
        addresses = _resolve(resolver, literal, port, url)

    if guarded:
        for address in addresses:
            reason = policy.refuse_address(ipaddress.ip_address(address))
            if reason is not None:
                raise BlockedAddress(f"{literal} is {address}, a {reason} address", url=url, reason=reason)

    href = parsed.href
    if parsed.hash:
        href = href[: -len(parsed.hash)]
    checked = CheckedURL(
        href=href,
        scheme=scheme,
        hostname=literal,
        port=port,
        host_header=parsed.host,
        target=(parsed.pathname or "/") + parsed.search,
        addresses=tuple(addresses),
    )
    return checked, addresses[0]


def _resolve(resolver: Resolver, host: str, port: int, url: str) -> list[str]:
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError) as e:  # gaierror; IDNA refuses a label > 63 characters
        raise FetchError(f"{host} does not resolve ({e})", url=url, reason="dns") from None
    addresses: list[str] = []
    for answer in answers:
        try:
            address = str(ipaddress.ip_address(answer))
        except ValueError:
            raise FetchError(f"{host} resolved to {answer!r}, not an IP address", url=url, reason="dns") from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(f"{host} has no address", url=url, reason="dns")
    return addresses
