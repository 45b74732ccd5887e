"""What a crawl follows: the seeds' site, their hosts, or the seeds alone (no Scrapy here)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from linkback.urls import registrable_domain_or_none

ScopeKind = Literal["site", "hosts", "list"]
SCOPES: tuple[ScopeKind, ...] = ("site", "hosts", "list")


@dataclass(frozen=True)
class Scope:
    """Which URLs a crawl follows: ``site``, the seeds' registrable domains and every host
    under them; ``hosts``, the seeds' hosts only; ``list``, the seeds and nothing else.

    >>> scope = Scope.of(["https://www.example.co.uk/a"], "site")
    >>> scope.allows("http://shop.example.co.uk/x"), scope.allows("https://example.com/")
    (True, False)
    >>> Scope.of(["https://www.example.co.uk/a"], "hosts").allows("http://shop.example.co.uk/x")
    False
    """

    kind: ScopeKind
    hosts: frozenset[str]
    domains: frozenset[str]

    @classmethod
    def of(cls, seeds: Iterable[str], kind: ScopeKind) -> Scope:
        from urllib.parse import urlsplit  # noqa: PLC0415

        hosts = frozenset((urlsplit(seed).hostname or "") for seed in seeds)
        domains = frozenset(registrable_domain_or_none(host) or host for host in hosts)
        return cls(kind, hosts, domains)

    def allows(self, url: str) -> bool:
        from urllib.parse import urlsplit  # noqa: PLC0415

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or self.kind == "list":
            return False
        host = parts.hostname or ""
        if self.kind == "hosts":
            return host in self.hosts
        return (registrable_domain_or_none(host) or host) in self.domains
