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

An operator opens the guard for their own private hosts one by one (``--allow-private-host``,
:class:`PrivateHost`), not only all at once (``--allow-private``): every other URL, a link a crawl
found or a source a stranger sent, is still held to the rules above.

:func:`address_refusal` is the address table: the webmention.rocks ``isPublicAddress`` and
WordPress ranges, the IANA special-purpose registries, cloud metadata addresses, and IPv6 by
the same rules (ULA, link-local, site-local, loopback; IPv4 embedded in mapped, 6to4 and NAT64
addresses is judged as that IPv4 address, since that is where the packets go). IPv6 outside
global unicast ``2000::/3`` is refused outright: nothing else is routable on the Internet.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import ada_url

from linkback.errors import BlockedAddress, FetchError, LinkbackError, URLError

__all__ = [
    "DEFAULT_PORTS",
    "CheckedURL",
    "GuardPolicy",
    "IPAddress",
    "PRIVATE_HOSTS_ENV",
    "PrivateHost",
    "Resolver",
    "address_refusal",
    "allow_private_from_env",
    "allow_private_hosts_from_env",
    "check_url",
    "connect_refusal",
    "parse_private_host",
    "policy_from_env",
    "private_hosts",
    "refuse_widening",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Private hosts to allow, comma- or space-separated, as ``--allow-private-host`` takes them.
PRIVATE_HOSTS_ENV = "LINKBACK_ALLOW_PRIVATE_HOSTS"

DEFAULT_PORTS = frozenset({80, 443, 8080, 8443})

_N4 = ipaddress.IPv4Network
_N6 = ipaddress.IPv6Network

# Most specific first: the first match names the reason.
_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_N4("0.0.0.0/32"), "unspecified"),  # Linux connects 0.0.0.0 to the local host
    (_N4("0.0.0.0/8"), "reserved"),  # "this network"
    (_N4("10.0.0.0/8"), "private"),
    # Alibaba Cloud's instance metadata, named so that allowing the shared range does not open it.
    (_N4("100.100.100.200/32"), "metadata"),
    (_N4("100.64.0.0/10"), "shared"),  # carrier-grade NAT
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
class PrivateHost:
    """One private host, address or network the guard lets a fetch reach (``--allow-private-host``).

    Either ``host``, compared with a URL's host as ada writes it (a name in lower-case ASCII, an
    IP address without brackets), on the usual ports (:data:`DEFAULT_PORTS`) or on ``port`` only
    when one is given; or ``network``, which every address a URL's host resolves to may be in, on
    the usual ports. ``str()`` writes the entry the way :func:`parse_private_host` reads it.
    """

    host: str = ""
    port: int | None = None
    network: IPNetwork | None = None

    def __str__(self) -> str:
        if self.network is not None:
            one = self.network.num_addresses == 1
            return str(self.network.network_address) if one else str(self.network)
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return shown if self.port is None else f"{shown}:{self.port}"

    @property
    def address(self) -> IPAddress | None:
        """The one address the entry is (``10.0.0.5``, ``10.0.0.5:8080``); None for a name or a network."""
        if self.network is not None:
            return self.network.network_address if self.network.num_addresses == 1 else None
        return _ip_or_none(self.host)


_ENTRY_FORMS = (
    "give a host name (wiki.internal) or an address (10.0.0.5, fd00::1), either with :PORT or not, "
    "or a network (10.0.0.0/8)"
)


def parse_private_host(text: str) -> PrivateHost:
    """One ``--allow-private-host`` entry, its host read as a URL's is (ada: an IDNA name in its
    ASCII form, lower case, ``0x7f.1`` as ``127.0.0.1``).

    ``wiki.internal``, ``10.0.0.5``, ``fd00::1`` or ``[fd00::1]`` allow that host on the usual
    ports; ``wiki.internal:3000``, ``10.0.0.5:3000`` or ``[fd00::1]:3000`` on that port only;
    ``10.0.0.0/8`` or ``fd00::/8`` every address in the network, on the usual ports. A name, and an
    address with a port, are compared with the URL's host; an address without a port, and a
    network, with every address the URL's host resolves to. Raises
    :class:`~linkback.errors.URLError` naming the entry and what is wrong with it.

    >>> str(parse_private_host("Wiki.Internal:8080")), str(parse_private_host("[FD00::1]"))
    ('wiki.internal:8080', 'fd00::1')
    """
    entry = text.strip()
    try:
        return _private_host(entry)
    except ValueError as exc:
        raise URLError(f"cannot allow private host {entry!r}: {exc}", url=entry) from None


def _private_host(entry: str) -> PrivateHost:
    if not entry:
        raise ValueError(_ENTRY_FORMS)
    if "://" in entry or any(c in entry for c in "?#@"):
        raise ValueError("give the host alone, not a URL (wiki.internal, not http://wiki.internal/)")
    if any(c.isspace() for c in entry):
        raise ValueError("one entry at a time (repeat --allow-private-host for each)")
    if "/" in entry:
        return PrivateHost(network=_network(entry))
    host, port = _split_port(entry)
    ip = _ip_or_none(host)
    if ip is None:
        host = _ascii_host(host)
        ip = _ip_or_none(host)  # ada wrote 0x7f.1 as 127.0.0.1
    if ip is None:
        return PrivateHost(host=host, port=port)
    if ip.is_unspecified:
        raise ValueError(f"{ip} is the unspecified address, which is never fetched")
    if port is None:
        return PrivateHost(network=ipaddress.ip_network(ip))
    return PrivateHost(host=str(ip), port=port)


def _ip_or_none(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text[1:-1] if text.startswith("[") and text.endswith("]") else text)
    except ValueError:
        return None


def _network(entry: str) -> IPNetwork:
    try:
        network = ipaddress.ip_network(entry)
    except ValueError:
        pass
    else:
        if network.num_addresses == 1 and network.network_address.is_unspecified:
            raise ValueError(f"{network.network_address} is the unspecified address, which is never fetched")
        return network
    try:
        wider = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ValueError("not a network in CIDR form (10.0.0.0/8, fd00::/8; a network takes no port)") from None
    raise ValueError(f"the address has bits set past the prefix: the network is {wider}")


def _split_port(entry: str) -> tuple[str, int | None]:
    """``entry``'s host and its port, None when it has none; an IPv6 address takes a port only in
    brackets (``[fd00::1]:8080``): ``fd00::1:8080`` is an address."""
    if entry.startswith("["):
        inside, bracket, rest = entry[1:].partition("]")
        if not bracket or not isinstance(_ip_or_none(inside), ipaddress.IPv6Address):
            raise ValueError("only an IPv6 address goes in brackets ([fd00::1], [fd00::1]:8080)")
        if not rest:
            return inside, None
        if not rest.startswith(":"):
            raise ValueError("after the brackets comes :PORT or nothing ([fd00::1]:8080)")
        host, digits = inside, rest[1:]
    elif entry.count(":") == 1:
        host, digits = entry.split(":")
    else:
        return entry, None  # a name, or an IPv6 address without brackets
    if not (digits.isascii() and digits.isdigit() and 0 < int(digits) < 65536):
        raise ValueError("the port must be a number from 1 to 65535")
    return host, int(digits)


def _ascii_host(host: str) -> str:
    try:
        return ada_url.URL(f"http://{host}/").hostname
    except ValueError:
        raise ValueError("not a host name or an IP address") from None


def private_hosts(entries: Iterable[str]) -> frozenset[PrivateHost]:
    """The entries, each read by :func:`parse_private_host` (the first bad one raises)."""
    return frozenset(parse_private_host(entry) for entry in entries)


@dataclass(frozen=True)
class GuardPolicy:
    """What the guard allows.

    ``allow_private`` switches the address and port checks off (tests, and an operator who
    verifies mentions between machines on one private network). ``allow_private_hosts`` opens
    them for those hosts only (:class:`PrivateHost`): the private addresses an entry names or
    holds, on the usual ports or the one port the entry names, but never the unspecified address,
    nor a metadata address unless an entry is that very address. ``ports`` is the port
    allow-list, None for any port.
    ``refuse_address`` is the address table, replaceable so a test can declare its loopback
    server "public" for one name and prove every other private address is still refused.
    """

    allow_private: bool = False
    allow_private_hosts: frozenset[PrivateHost] = frozenset()
    ports: frozenset[int] | None = DEFAULT_PORTS
    refuse_address: Callable[[IPAddress], str | None] = field(default=address_refusal, repr=False)


def allow_private_from_env() -> bool:
    """Whether ``LINKBACK_ALLOW_PRIVATE`` (``1``, ``true``, ``yes`` or ``on``, any case) switches
    the guard off: the one reading of it, for every command and the server."""
    return os.environ.get("LINKBACK_ALLOW_PRIVATE", "").strip().lower() in {"1", "true", "yes", "on"}


def allow_private_hosts_from_env() -> list[str]:
    """The entries of ``LINKBACK_ALLOW_PRIVATE_HOSTS`` (comma- or space-separated), as written:
    :func:`private_hosts` reads them."""
    return [entry for entry in re.split(r"[,\s]+", os.environ.get(PRIVATE_HOSTS_ENV, "")) if entry]


def policy_from_env(allow_private: bool = False, hosts: Iterable[str] = ()) -> GuardPolicy:
    """The guard of a process that fetches for its own user: off with ``allow_private`` or
    ``LINKBACK_ALLOW_PRIVATE``, open for ``hosts`` and those of ``LINKBACK_ALLOW_PRIVATE_HOSTS``."""
    return GuardPolicy(
        allow_private=allow_private or allow_private_from_env(),
        allow_private_hosts=private_hosts([*hosts, *allow_private_hosts_from_env()]),
    )


def refuse_widening(policy: GuardPolicy, allow_private: bool, hosts: Iterable[str], doing: str) -> None:
    """Raise :class:`~linkback.errors.LinkbackError` when ``allow_private`` or the ``hosts``
    entries ask ``policy``, a server's guard, for more than it allows. The operator opens a
    server's guard on its command line; no caller (CLI, API, dashboard) widens it. ``doing`` is
    the verb of the way out the message gives ("crawl")."""
    if policy.allow_private:
        return
    if allow_private:
        wanted = ["--allow-private"]
    else:
        extra = sorted((entry for entry in private_hosts(hosts) if not _within(policy, entry)), key=str)
        wanted = [f"--allow-private-host {entry}" for entry in extra]
    if wanted:
        options = " ".join(wanted)
        raise LinkbackError(
            f"this server was started without {options}, so it refuses private addresses; restart it with "
            f"'linkback serve {options}', or {doing} without {options}"
        )


def _within(policy: GuardPolicy, entry: PrivateHost) -> bool:
    """Whether ``policy``'s entries already allow everything ``entry`` does."""
    ip = entry.address
    metadata = ip is not None and policy.refuse_address(ip) == "metadata"
    # A network around a metadata address does not open it (see _opens): only the address itself.
    return any(_covers(own, entry) and (not metadata or own.address == ip) for own in policy.allow_private_hosts)


def _covers(own: PrivateHost, entry: PrivateHost) -> bool:
    """Whether every URL and address ``entry`` matches, on every port it opens, ``own`` matches too."""
    # An entry without a port opens the usual ones; one with a port, that port.
    usual = own.port is None and (entry.port is None or entry.port in DEFAULT_PORTS)
    if own.network is None:
        return entry.network is None and own.host == entry.host and (own.port == entry.port or usual)
    if entry.network is not None:
        return entry.network.network_address in own.network and entry.network.broadcast_address in own.network
    ip = entry.address
    return ip is not None and ip in own.network and usual


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
    apply. An address ``policy.allow_private_hosts`` opens for this host is not refused; a port
    outside the allow-list goes only when every address of the host is opened by an entry that
    names that port (with entries, the port is checked after the addresses, which decide it).
    The returned address is the first one the resolver
    gave; ``CheckedURL.addresses`` holds them all (all checked) for a caller that falls back when
    a connection fails.
    """
    parsed = _parse(url)
    scheme = parsed.protocol[:-1]
    port = int(parsed.port) if parsed.port else (443 if scheme == "https" else 80)
    guarded = not policy.allow_private
    port_refused = guarded and policy.ports is not None and port not in policy.ports
    if port_refused and not policy.allow_private_hosts:
        raise BlockedAddress(f"port {port} is not allowed", url=url, reason="port")

    hostname = parsed.hostname
    literal = hostname[1:-1] if hostname.startswith("[") else hostname
    try:
        # ada has already turned 0x7f.1, 2130706433 and friends into dotted quads.
        addresses = [str(ipaddress.ip_address(literal))]
        host = addresses[0]  # as an entry writes it
    except ValueError:
        addresses = _resolve(resolver, literal, port, url)
        host = literal

    if guarded:
        port_named = True
        for address in addresses:
            ip = ipaddress.ip_address(address)
            reason = policy.refuse_address(ip)
            entry = _opening(policy, host, port, ip, reason)
            if reason is not None and entry is None:
                raise BlockedAddress(_refusal_message(literal, host, ip, reason), url=url, reason=reason)
            port_named = port_named and entry is not None and entry.port == port
        # An odd port only where the operator named it: an entry for a host opens its web server,
        # not its database or SSH, which a stranger's URL (a Webmention source redirecting there)
        # could otherwise reach; a public address the host also has opens no odd port either.
        if port_refused and not port_named:
            hint = "" if entry is None else f"; to allow it: --allow-private-host {_with_port(host, port)}"
            raise BlockedAddress(f"port {port} is not allowed{hint}", url=url, reason="port")

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


def connect_refusal(policy: GuardPolicy, host: str, ip: IPAddress) -> str | None:
    """None when ``policy`` lets a connection made for ``host`` go to ``ip``, else the address
    table's reason: for a resolver that judges each answer again as it connects (the crawler's,
    against DNS rebinding). It sees no port, so an entry with a port counts here for every port
    of its host; :func:`check_url` held the URL, port and all, to the entry before."""
    if policy.allow_private:
        return None
    reason = policy.refuse_address(ip)
    named = _ip_or_none(host)
    if reason is None or _opens(policy, str(named) if named is not None else host.lower(), None, ip, reason):
        return None
    return reason


def _opens(policy: GuardPolicy, host: str, port: int | None, ip: IPAddress, reason: str | None) -> bool:
    """Whether an entry of ``policy.allow_private_hosts`` lets a fetch of ``host`` on ``port``
    (None: any) connect to ``ip``, which the address table refuses for ``reason`` (or not)."""
    return _opening(policy, host, port, ip, reason) is not None


def _opening(policy: GuardPolicy, host: str, port: int | None, ip: IPAddress, reason: str | None) -> PrivateHost | None:
    """The entry that lets a fetch of ``host`` on ``port`` (None: any) connect to ``ip``, one that
    names the port first; None when none does."""
    if reason == "unspecified":
        return None  # 0.0.0.0 reaches the machine itself, whatever the entry meant
    for entry in sorted(policy.allow_private_hosts, key=lambda e: e.port != port):
        if entry.network is not None:
            matches = ip in entry.network
        else:
            matches = entry.host == host and (port is None or entry.port in (None, port))
        # An entry for a link-local network or an internal name must not open the cloud's
        # credentials by accident: a metadata address needs an entry that is that address.
        if matches and (reason != "metadata" or entry.address == ip):
            return entry
    return None


def _with_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _refusal_message(literal: str, host: str, ip: IPAddress, reason: str) -> str:
    """Why ``ip`` is refused, and the entry that would allow it when one may."""
    said = f"{literal} is {ip}, a {reason} address"
    if reason in ("unspecified", "metadata"):
        # No entry opens the first; only one that is the very address opens the second, and no
        # message should talk anyone into opening the cloud's credentials.
        return said
    return f"{said}; to allow it: --allow-private-host {host} (or {PRIVATE_HOSTS_ENV})"


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
