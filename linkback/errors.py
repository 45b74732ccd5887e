"""linkback's one exception hierarchy.

* LinkbackError
  + SourceError          — an input file or record cannot be read (carries path and offset)
    - NotAnArchive       — the whole file is not WARC/ARC
  + URLError             — a URL cannot be parsed or is not acceptable
  + StoreError           — the database cannot be used
    - SchemaTooNew       — the file was written by a newer linkback
    - SchemaTooOld       — the file needs a migration, and it was opened read-only
    - StoreLocked        — another process owns the database file
  + TargetError          — a report's TARGET is not a domain, host or URL prefix
  + TargetNotFound       — the index has no link at all to a report's TARGET (a typo?), with close matches
  + FetchError           — a live fetch failed (carries the URL and a short reason code)
    - BlockedAddress     — the SSRF guard refused an address (private, loopback, ...)
    - FetchLimit         — too many redirects, too many bytes, too slow, wrong content type
  + ProtocolError        — a linkback request (Webmention, Pingback, TrackBack) is malformed
  + WorkerLost           — an extraction worker process ended abruptly (killed, out of memory)
"""

from __future__ import annotations


class LinkbackError(Exception):
    """Base of every error linkback raises on purpose."""


class SourceError(LinkbackError):
    def __init__(self, message: str, *, path: str = "", offset: int = -1) -> None:
        self.path = path
        self.offset = offset
        where = f"{path}" + (f" at byte {offset}" if offset >= 0 else "")
        super().__init__(f"{where}: {message}" if where else message)


class NotAnArchive(SourceError):
    pass


class URLError(LinkbackError, ValueError):
    def __init__(self, message: str, *, url: str = "") -> None:
        self.url = url
        super().__init__(message)


class StoreError(LinkbackError):
    pass


class SchemaTooNew(StoreError):
    pass


class SchemaTooOld(StoreError):
    pass


class StoreLocked(StoreError):
    pass


class TargetError(LinkbackError, ValueError):
    pass


class TargetNotFound(LinkbackError):
    """No link at all (live or lost, internal or external) to a report's TARGET in this index.

    ``close_matches`` are domains the index does hold whose names are close to it (best first).
    """

    #: What the API answers (the route exists; the thing asked for does not).
    http_status = 404

    def __init__(self, target: str, close_matches: list[str] | tuple[str, ...] = ()) -> None:
        self.target = target
        self.close_matches = tuple(close_matches)
        hint = (
            f"; did you mean {', '.join(self.close_matches)}?"
            if self.close_matches
            else "; 'linkback domains' lists the domains it holds"
        )
        super().__init__(f"no backlinks to '{target}' in this index{hint}")


class FetchError(LinkbackError):
    """A live fetch failed. ``reason`` is a short machine code (``dns``, ``connect``, ``timeout``...)."""

    def __init__(self, message: str, *, url: str = "", reason: str = "fetch") -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {message}" if url else message)


class BlockedAddress(FetchError):
    pass


class FetchLimit(FetchError):
    pass


class ProtocolError(LinkbackError, ValueError):
    """A malformed or unacceptable linkback request; ``code`` is the protocol's error name or number."""

    def __init__(self, message: str, *, code: str | int = "invalid_request") -> None:
        self.code = code
        super().__init__(message)


class WorkerLost(LinkbackError):
    """A worker process that extracted pages ended abruptly: killed by a signal (the kernel's
    out-of-memory killer, a user), or by a fault such as the file it read being cut short under
    it. What was written before stays; the work it had is not done."""

    def __init__(self, message: str = "", *, written: object = None) -> None:
        #: What had been written (committed) before, when the writer knows it (a PagesSummary).
        self.written = written
        super().__init__(
            message
            or "an extraction worker process ended abruptly (killed by a signal: out of memory?)"
        )
