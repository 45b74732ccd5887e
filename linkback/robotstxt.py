"""What a robots.txt answer means (RFC 9309), one rule for every reader of one: the crawler
(:mod:`linkback.crawl._robots`) and the monitor (:mod:`linkback.monitor._check`).

* 2xx: its rules, from its first :data:`ROBOTS_MAX_BYTES` (§2.5);
* 4xx but 429 ("unavailable", §2.3.1.3): no rules, everything allowed;
* 429, 5xx, or no answer ("unreachable", §2.3.1.4): nothing of the host is fetched.
"""

from __future__ import annotations

#: How much of a robots.txt is parsed (RFC 9309 §2.5: at least 500 KiB).
ROBOTS_MAX_BYTES = 500 * 1024


def unavailable_status(status: int) -> bool:
    """A robots.txt answer that means "unreachable": 429 or 5xx."""
    return status == 429 or status >= 500


def robots_body(body: bytes, limit: int = ROBOTS_MAX_BYTES) -> bytes:
    """The part of a robots.txt that is parsed: the first ``limit`` bytes, at their last full line.

    >>> robots_body(b"Disallow: /a\\nDisallow: /bc\\n", 20)
    b'Disallow: /a\\n'
    >>> robots_body(b"Disallow: /a", 20)
    b'Disallow: /a'
    """
    if len(body) <= limit:
        return body
    head = body[:limit]
    end = max(head.rfind(b"\n"), head.rfind(b"\r"))
    return head[: end + 1] if end >= 0 else head
