"""The live-web fetcher (DESIGN §3): one SSRF-safe client for verification, sending and re-checks.

* :mod:`linkback.fetch._guard` — which URLs and addresses may be fetched (:func:`check_url`,
  :func:`address_refusal`, :class:`GuardPolicy`), pure but for the resolver call.
* :mod:`linkback.fetch._fetcher` — :class:`Fetcher`: every hop checked, the connection made to
  the checked address, limits on redirects, bytes and total time.

>>> from linkback.fetch import Fetcher
>>> with Fetcher() as fetcher:                                  # doctest: +SKIP
...     result = fetcher.fetch("https://example.com/post")
...     result.status, result.content_type, result.truncated
(200, 'text/html', False)
"""

from linkback.fetch._fetcher import (
    DEFAULT_ACCEPT,
    DEFAULT_USER_AGENT,
    Fetcher,
    FetchLimits,
    FetchResult,
    content_type_of,
    redirect_method,
)
from linkback.fetch._guard import (
    DEFAULT_PORTS,
    PRIVATE_HOSTS_ENV,
    CheckedURL,
    GuardPolicy,
    PrivateHost,
    Resolver,
    address_refusal,
    allow_private_from_env,
    allow_private_hosts_from_env,
    check_url,
    connect_refusal,
    parse_private_host,
    policy_from_env,
    private_hosts,
    refuse_widening,
    system_resolver,
)

__all__ = [
    "DEFAULT_ACCEPT",
    "DEFAULT_PORTS",
    "DEFAULT_USER_AGENT",
    "PRIVATE_HOSTS_ENV",
    "CheckedURL",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "GuardPolicy",
    "PrivateHost",
    "Resolver",
    "address_refusal",
    "allow_private_from_env",
    "allow_private_hosts_from_env",
    "check_url",
    "connect_refusal",
    "content_type_of",
    "parse_private_host",
    "policy_from_env",
    "private_hosts",
    "redirect_method",
    "refuse_widening",
    "system_resolver",
]
