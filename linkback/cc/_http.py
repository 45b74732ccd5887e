"""Requests to Common Crawl's servers, politely: through the SSRF-guarded fetcher, retried with
exponential backoff when they throttle (503 and 429 are how ``index.commoncrawl.org`` and
``data.commoncrawl.org`` say "slow down"; Retry-After is obeyed up to a cap) or the network fails.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from linkback.errors import FetchError
from linkback.fetch import Fetcher, FetchLimits, FetchResult

#: Answers that mean "try again later".
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Fetch errors worth another try (a refused address or a bad URL is not).
RETRY_REASONS = frozenset({"connect", "network", "timeout", "protocol"})
#: A Retry-After longer than this is cut to it.
MAX_RETRY_AFTER = 60.0


#: Seconds one request may take in all (connecting, waiting, the body: a server that drips a byte
#: at a time is cut off here, not only when it pauses).
DEFAULT_TIMEOUT = 60.0


@dataclass
class RetryPolicy:
    attempts: int = 5  # in all, the first included
    backoff: float = 1.0  # seconds before the second attempt; doubled each time after
    timeout: float = DEFAULT_TIMEOUT  # the wall time of one attempt (the fetcher's deadline)
    # Attempts of a request that keeps timing out: each costs the whole timeout, so a server that
    # drips gets one more chance, not ``attempts`` (5 x 60 s a record).
    timeout_attempts: int = 2


@dataclass
class Polite:
    """A fetcher with retries; ``retries`` counts the retried answers by status or error reason."""

    fetcher: Fetcher
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    retries: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, url: str, *, max_bytes: int, headers: Mapping[str, str] | None = None) -> FetchResult:
        """GET ``url``; the last answer once it is not a throttle, or after the last attempt.
        Raises the last :class:`FetchError` when every attempt failed to connect."""
        limits = FetchLimits(max_redirects=3, max_bytes=max_bytes, timeout=self.policy.timeout)
        timeouts = 0
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts
            try:
                result = self.fetcher.fetch(url, headers=headers, limits=limits, accept="*/*")
            except FetchError as exc:
                timeouts += exc.reason == "timeout"
                if last or exc.reason not in RETRY_REASONS or timeouts >= self.policy.timeout_attempts:
                    raise
                self._count(exc.reason or "error")
                self.sleep(self._delay(attempt, None))
                continue
            if result.status not in RETRY_STATUSES or last:
                return result
            self._count(str(result.status))
            self.sleep(self._delay(attempt, result.header("retry-after")))
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _count(self, key: str) -> None:
        with self._lock:
            self.retries[key] += 1

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        delay = self.policy.backoff * 2 ** (attempt - 1)
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass  # an HTTP date: the backoff stands
        return min(delay, MAX_RETRY_AFTER)


def redirected(redirects: Sequence[str]) -> str:
    """`` (redirected to URL)`` after a fetch that was redirected (the last place), else ""."""
    if not redirects:
        return ""
    hops = f", {len(redirects)} redirects" if len(redirects) > 1 else ""
    return f" (redirected to {redirects[-1]}{hops})"
