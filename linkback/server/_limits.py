"""Rate limits per source+target pair, per source host and per client (token buckets, in memory).

In memory is right here: one server process owns the database and sees every request, and a
restart forgetting the buckets only lets a sender start afresh.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """``burst`` requests at once, then one every ``per_seconds``; ``burst == 0`` turns it off."""

    burst: int
    per_seconds: float


def address_group(host: str, ipv4_prefix: int = 24) -> str:
    """The network one party most likely holds, for an IP address: its /24 (IPv4; ``ipv4_prefix``)
    or /64 (IPv6), an IPv4 address as a dual-stack socket shows it (``::ffff:1.2.3.4``) as IPv4.

    Anyone with an IPv6 /64 (the smallest a host is given) has 2^64 addresses, and a small
    IPv4 block is cheap too, so one bucket per address would give a flooder as many buckets as
    he likes. Anything else (a host name) comes back as it is.
    """
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = ipv4_prefix if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def is_loopback(host: str) -> bool:
    """Is ``host`` a loopback address (``::ffff:127.0.0.1`` too, as a dual-stack socket sees it)?"""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


class RateLimiter:
    """Token buckets by key. At most :attr:`MAX_KEYS` are kept: past that the least recently used
    goes, so a flood of new keys forgets only buckets nobody used for the longest while."""

    MAX_KEYS = 200_000

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        if self.rate.burst <= 0:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.rate.burst), now))
            tokens = min(float(self.rate.burst), tokens + (now - last) / self.rate.per_seconds)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.MAX_KEYS:
                self._buckets.popitem(last=False)
            return allowed

    def retry_after(self) -> int:
        return max(1, int(self.rate.per_seconds + 0.999))
