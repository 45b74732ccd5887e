"""Rate limits per source+target pair and per source host (token buckets, in memory).

In memory is right here: one server process owns the database and sees every request, and a
restart forgetting the buckets only lets a sender start afresh.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """``burst`` requests at once, then one every ``per_seconds``; ``burst == 0`` turns it off."""

    burst: int
    per_seconds: float


class RateLimiter:
    MAX_KEYS = 200_000

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        if self.rate.burst <= 0:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.rate.burst), now))
            tokens = min(float(self.rate.burst), tokens + (now - last) / self.rate.per_seconds)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            if len(self._buckets) >= self.MAX_KEYS:
                self._buckets.clear()  # a flood of distinct keys must not eat the memory
            self._buckets[key] = (tokens - 1.0, now)
            return True

    def retry_after(self) -> int:
        return max(1, int(self.rate.per_seconds + 0.999))
