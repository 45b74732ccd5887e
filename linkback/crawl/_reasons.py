"""Why a URL of a crawl ended without a page of its own: the words kept in
``crawl_frontier.reason`` and counted in the crawl's summary (``unfetched``).

The middlewares that drop a request on purpose (robots.txt, the SSRF guard) raise
:class:`NotFetched`, which carries its reason: Scrapy hands the spider's errback the exception
as raised, so the reason needs no guessing from a message. Scrapy's own refusals and the
network's failures are named here from what Scrapy raises.
"""

from __future__ import annotations

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from twisted.python.failure import Failure

#: robots.txt disallows the URL for linkback.
ROBOTS_DENIED = "robots_denied"
#: The host's robots.txt answered 5xx or 429, or nothing: its pages are not fetched (RFC 9309 §2.3.1.4).
ROBOTS_UNAVAILABLE = "robots_unavailable"
#: The SSRF guard refused the URL; followed by ``/`` and the guard's reason (``refused/port``).
REFUSED = "refused"
#: A redirect led back into its own chain (Scrapy's duplicate filter dropped the hop).
REDIRECT_LOOP = "redirect-loop"
#: More redirects than ``REDIRECT_MAX_TIMES``.
REDIRECT_LIMIT = "redirect-limit"
#: A redirect to a URL the crawl has fetched or queued already: that URL's page is the page.
DUPLICATE = "duplicate"
#: The response is larger than the crawl's size cap (``DOWNLOAD_MAXSIZE``).
TOO_BIG = "too-big"
#: The URL is longer than ``URLLENGTH_LIMIT`` (2,083 characters): the crawl does not fetch it.
URL_TOO_LONG = "url-too-long"
#: Dropped by a part of Scrapy that says no more.
IGNORED = "ignored"


class NotFetched(IgnoreRequest):
    """A request dropped on purpose before it was sent, with the reason the frontier keeps."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def failure_reason(failure: Failure) -> str:
    """The reason a request that failed ended without a page; an error's name when nothing
    more is known (``TimeoutError``, ``ConnectionRefusedError``...), as the summary counts it."""
    value = failure.value
    if isinstance(value, NotFetched):
        return value.reason
    if isinstance(value, IgnoreRequest):
        if "max redirections" in str(value):
            return REDIRECT_LIMIT
        # Scrapy's HttpCompressionMiddleware, were it enabled (the crawl cuts such a body instead)
        return TOO_BIG if "exceeded DOWNLOAD_MAXSIZE" in str(value) else IGNORED
    if "SSRF guard" in str(value):  # the guarded resolver: a name that now points somewhere refused
        return f"{REFUSED}/resolver"
    return error_name(failure)


def error_name(failure: Failure) -> str:
    """How the summary's ``errors`` name a failed fetch."""
    # Scrapy cancels a download for DOWNLOAD_MAXSIZE only (a stop drops requests with IgnoreRequest).
    if failure.check(DownloadCancelledError):
        return TOO_BIG
    return failure.type.__name__ if failure.type else "error"
