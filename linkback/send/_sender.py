"""Sending linkbacks for your own posts (W3C Webmention §3.1, Pingback 1.0, TrackBack 1.2).

For each post: fetch it (SSRF-safe), take its outbound links (the links in its content; every
link with ``all_links``), add the targets an earlier send notified that it no longer links to
(WM §3.1.4), and notify each target once: discover its endpoints (Webmention first, then
Pingback, then TrackBack; every target fetched once per run, and across runs only as its cache
headers say: :mod:`linkback.send._discovery_cache`), send, record the answer. A post
that answers 410 Gone (or says so in a ``<meta http-equiv=Status>``) re-notifies every earlier
target (WM §3.1.5). 5xx answers and timeouts are retried with backoff.

Two bounds keep one run from being held for days by a post full of links to a tarpit: a host
that timed out (or could not be reached) after the retries is not asked again in the same run,
its other targets and endpoints fail at once as ``skipped: HOST ...`` (retried by the next run,
as a timeout is); and one post notifies at most :data:`MAX_TARGETS` targets, the rest counted in
:attr:`PostResult.skipped`. A third bounds the run as a whole, however many hosts hang: its time
budget (:attr:`SendOptions.budget`). Once it is spent nothing more is fetched: each target left
fails as ``skipped: time budget ...`` (counted in :attr:`PostResult.not_tried`, retried by the
next run) and a post not yet fetched is ``skipped``. Every fetch's timeout is cut to the time
left, so a run ends close to its budget, not a whole timeout (and retries) after it.

The store is touched only through the ``read`` and ``write`` callables, so the same code runs
from the CLI (on the file) and in the server's job runner (through its writer thread).

Every fetched page is decoded and parsed once (:class:`~linkback.extract.ParsedPage`, the
extractor's charset rules): the post's 410 check, h-entry links, title and excerpt and its
extraction share one tree; a target's Webmention, Pingback and TrackBack discovery another.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import duckdb
from selectolax.lexbor import LexborHTMLParser

from linkback.errors import BlockedAddress, FetchError, LinkbackError
from linkback.extract import ParsedPage, extract
from linkback.fetch import Fetcher, FetchLimits, FetchResult
from linkback.protocols import _pingback as pb
from linkback.protocols import _trackback as tb
from linkback.protocols._discovery import DISCOVERY_LIMITS, page_endpoints
from linkback.send import _discovery_cache as dc
from linkback.send._history import SendRecord, previous_targets, record_sends
from linkback.urls import normalize, resolve

FORM = "application/x-www-form-urlencoded"
ANSWER_CHARS = 2000
HTML_TYPES = ("text/html", "application/xhtml+xml")
#: The most targets one post notifies (in URL order); the rest are counted as skipped. Far above
#: any real post (a long link roundup has a few hundred), far below the ~22,000 links a 1 MB page
#: can hold: WordPress pings every link of a post, bounded only by the post's size.
MAX_TARGETS = 1000
#: The reason of a notification not tried because its host failed earlier in the run.
SKIPPED = "skipped: "
#: FetchError reasons, after the retries, that close a host for the rest of the run, as said.
HOST_FAILURES = {"timeout": "timed out", "connect": "could not be reached"}
#: Seconds one run may take unless told otherwise: room for a few hundred slow targets, where
#: 1,000 targets on hosts that each hang would otherwise hold a run for some nine hours.
DEFAULT_BUDGET = 600.0
#: The run's clock, looked up when a Sender is made: monotonic, so that setting the wall clock
#: neither ends a run nor stretches it; tests give Sender a clock of their own, or patch this.
monotonic = time.monotonic


def check_budget(budget: float) -> float:
    """``budget`` as seconds; ValueError unless it is a finite number above 0."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) or budget <= 0:
        raise ValueError(f"budget must be a number of seconds above 0, not {budget!r}")
    return float(budget)


def budget_spent(budget: float) -> str:
    """The reason of a notification not tried because the run's time budget was spent."""
    return f"{SKIPPED}time budget of {budget:g} s spent; run again to send the rest"


Reader = Callable[[Callable[[duckdb.DuckDBPyConnection], Any]], Any]


class OutOfTime(FetchError):
    """A fetch whose timeout was cut to the run's time left, and which took all of it: the run's
    time budget ran out during it. What it was for was not tried (a TrackBack's ping excepted:
    it may have been taken, as after any timeout)."""


@dataclass(frozen=True, slots=True)
class SendOptions:
    all_links: bool = False
    dry_run: bool = False
    #: Tries of one notification when the endpoint answers 5xx or times out.
    attempts: int = 3
    #: Seconds before the first retry; doubled each time.
    backoff: float = 1.0
    blog_name: str = ""
    #: Seconds the run may take (see the module's docstring).
    budget: float = DEFAULT_BUDGET

    def __post_init__(self) -> None:
        check_budget(self.budget)


#: FetchError reasons worth another try: the endpoint (or the network) may answer later.
TRANSIENT_REASONS = ("timeout", "connect", "network")


def _transient(exc: FetchError) -> bool:
    return exc.reason in TRANSIENT_REASONS and not isinstance(exc, BlockedAddress)


def transient_failure(record: SendRecord) -> bool:
    """A failure a later run should retry: the endpoint (or the target, at discovery) still
    answered 5xx, timed out or could not be reached after the retries. A 4xx, a Pingback fault
    other than 0x32, a TrackBack error, a refused address or a missing endpoint is the other side's definitive answer."""
    if record.status != "failed":
        return False
    reason = record.reason.removeprefix("discovery: ")
    if reason.startswith(SKIPPED):
        return True  # its host timed out earlier in the run: the next run asks it again
    if reason.startswith(f"fault {pb.FAULTS['upstream']}:"):
        return True  # 0x32: the receiver could not fetch the source for now and asks to try again later
    if record.http_status is not None:
        return record.http_status >= 500
    return reason.startswith("HTTP 5") or reason.split(":", 1)[0] in TRANSIENT_REASONS


@dataclass
class PostResult:
    url: str
    #: "sent" (something was tried), "gone" (410: earlier targets re-notified), "failed", or
    #: "skipped" (not fetched: the run's time budget was spent before it; retried by the next run)
    status: str
    error: str = ""
    records: list[SendRecord] = field(default_factory=list)
    #: The post page's validators as fetched: its ETag, Last-Modified and the SHA-256 of its body.
    etag: str = ""
    last_modified: str = ""
    content_hash: str = ""
    #: Something failed that a later run should try again (see :func:`transient_failure`).
    retry: bool = False
    #: The post is larger than a fetch reads: its links past that many bytes were not seen (0: whole).
    cut_at: int = 0
    #: Targets past :data:`MAX_TARGETS` that were not notified, and what to tell people about them.
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    #: Targets not tried because the run's time budget was spent (among the records, as failed).
    not_tried: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.status] = out.get(r.status, 0) + 1
        return out


class Sender:
    """One run: its time budget starts when it is made."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        read: Reader,
        write: Reader,
        options: SendOptions = SendOptions(),
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.read = read
        self.write = write
        self.options = options
        self._clock = clock or monotonic
        self._deadline = self._clock() + options.budget
        self._budget_reason = budget_spent(options.budget)
        self._discovered: dict[str, tuple[str, str, str] | FetchError | str] = {}
        #: Stored discovery answers read this run, the targets whose endpoints came from them
        #: (not from a page fetched this run), and the entries to store or (None) drop.
        self._stored: dict[str, dc.CacheEntry] = {}
        self._from_store: set[str] = set()
        self._cache_changes: dict[str, dc.CacheEntry | None] = {}
        #: Hosts that timed out or could not be reached after the retries, this run: why.
        self._failed_hosts: dict[str, str] = {}

    # --- the run's time budget ---------------------------------------------------------------------

    def time_left(self) -> float:
        """Seconds left of the run's budget (0 or less once it is spent)."""
        return self._deadline - self._clock()

    def out_of_time(self) -> str:
        """The reason to fetch nothing more in this run (its time budget is spent), or ""."""
        return self._budget_reason if self.time_left() <= 0 else ""

    def fetch(self, url: str, **kwargs: Any) -> FetchResult:
        """The fetcher's fetch with its timeouts cut to the time left, so that a fetch begun just
        before the budget runs out does not hold the run for a whole timeout past it; one that
        times out so is :class:`OutOfTime`."""
        limits = self._limits_left()
        try:
            return self.fetcher.fetch(url, limits=limits, **kwargs)
        except FetchError as exc:
            cut = limits.timeout < self.fetcher.limits.timeout
            if cut and exc.reason == "timeout" and not isinstance(exc, BlockedAddress):
                raise OutOfTime(
                    f"the run's time budget of {self.options.budget:g} s ran out during the fetch",
                    url=exc.url or url,
                    reason="timeout",
                ) from exc
            raise

    def _limits_left(self) -> FetchLimits:
        limits = self.fetcher.limits
        left = max(self.time_left(), 0.0)
        return replace(limits, timeout=min(limits.timeout, left), connect_timeout=min(limits.connect_timeout, left))

    def _retry(self, attempts: int) -> bool:
        """After a try that may work later: whether to try again, having waited the backoff. Not
        when the tries are used up, nor when the backoff would run past the budget."""
        if attempts >= self.options.attempts:
            return False
        pause = self.options.backoff * 2 ** (attempts - 1)
        if pause >= self.time_left():
            return False
        time.sleep(pause)
        return True

    def _host_skip(self, url: str) -> str:
        """The reason to skip a request to ``url`` (its host failed earlier in this run), or ""."""
        host = _host(url)
        why = self._failed_hosts.get(host) if host else None
        return f"{SKIPPED}{host} {why} earlier in this run" if why else ""

    def _host_failed(self, exc: FetchError, url: str) -> None:
        """After the retries: a timeout or a failed connection closes the host asked for, and the
        host of the hop that failed (a redirect's), for the rest of the run."""
        why = HOST_FAILURES.get(exc.reason)
        if why and not isinstance(exc, BlockedAddress):
            for host in {_host(url), _host(exc.url)} - {""}:
                self._failed_hosts.setdefault(host, why)

    # --- one post ---------------------------------------------------------------------------------

    def send_post(self, url: str, *, fetched: FetchResult | None = None) -> PostResult:
        """Notify the targets of one post. ``fetched`` is the post when the caller has just
        fetched it (a feed's change check), so it is not fetched twice."""
        try:
            source = normalize(url).split("#", 1)[0]
        except (LinkbackError, ValueError) as exc:
            return PostResult(url, "failed", f"not a URL: {exc}")
        if self.out_of_time():
            return PostResult(source, "skipped", retry=True)
        try:
            post = fetched if fetched is not None else self.fetch(source)
        except OutOfTime:
            return PostResult(source, "skipped", retry=True)
        except FetchError as exc:
            return PostResult(source, "failed", f"cannot fetch the post: {exc}", retry=_transient(exc))
        earlier = self.read(lambda con: previous_targets(con, source))
        parsed = _parse(post)  # once, for the 410 check, the links, and the title and excerpt
        tree = parsed.tree if post.content_type in HTML_TYPES else None
        gone = post.status == 410 or _meta_gone(tree)
        linked_set: set[str] = set()
        if gone:
            targets = sorted(earlier)
        elif post.status != 200:
            return PostResult(source, "failed", f"the post answered HTTP {post.status}", retry=post.status >= 500)
        else:
            current = outbound_links(post, all_links=self.options.all_links, parsed=parsed)
            current.discard(source)
            removed = sorted(earlier - current)
            targets = sorted(current) + removed
            linked_set = current
        title, excerpt = ("", "") if gone else _title_and_excerpt(tree)
        warnings = []
        skipped = max(0, len(targets) - MAX_TARGETS)
        if skipped:
            warnings.append(
                f"links to {len(targets):,} targets: only the first {MAX_TARGETS:,} were notified, "
                f"{skipped:,} were skipped"
            )
            targets = targets[:MAX_TARGETS]
        unknown = [t for t in targets if t not in self._discovered and t not in self._stored]
        self._stored.update(self.read(lambda con: dc.load_entries(con, unknown)))
        records = []
        for target in targets:
            is_linked = target in linked_set
            records.append(self._notify(source, target, linked=is_linked, title=title, excerpt=excerpt))
        changes, self._cache_changes = self._cache_changes, {}
        if not self.options.dry_run:  # a dry run reads the discovery cache but stores nothing

            def store(con: duckdb.DuckDBPyConnection) -> None:
                record_sends(con, records)
                dc.save_entries(con, changes)

            self.write(store)
        return PostResult(
            source,
            "gone" if gone else "sent",
            records=records,
            etag=post.header("etag") or "",
            last_modified=post.header("last-modified") or "",
            content_hash=hashlib.sha256(post.body).hexdigest(),
            retry=any(transient_failure(r) for r in records),
            cut_at=len(post.body) if post.truncated else 0,
            skipped=skipped,
            warnings=warnings,
            not_tried=sum(r.reason == self._budget_reason for r in records),
        )

    # --- one target -------------------------------------------------------------------------------

    def _notify(self, source: str, target: str, *, linked: bool, title: str, excerpt: str) -> SendRecord:
        now = datetime.now(UTC)
        found = self._endpoints(target)
        result = self._notify_at(found, source, target, linked=linked, title=title, excerpt=excerpt, now=now)
        stale = not result.reason.startswith(SKIPPED)  # a closed host says nothing of the endpoint
        if result.status == "failed" and result.protocol and target in self._from_store and stale:
            # A stored endpoint that no longer works (the target may have moved it since, as
            # webmention.rocks's one-time endpoints do): ask the target again, in full.
            del self._discovered[target]
            self._from_store.discard(target)
            again = self._endpoints(target, use_store=False)
            if isinstance(again, tuple) and _preferred(again) not in (None, (result.protocol, result.endpoint)):
                result = self._notify_at(again, source, target, linked=linked, title=title, excerpt=excerpt, now=now)
        return result

    def _notify_at(
        self, found: tuple[str, str, str] | FetchError | str, source: str, target: str, *, linked: bool, title: str,
        excerpt: str, now: datetime,
    ) -> SendRecord:  # fmt: skip
        def record(
            protocol="", endpoint="", status="sent", reason="", http_status=None, answer="", location="", attempts=0
        ):  # noqa: ANN001, ANN202
            return SendRecord(
                source, target, protocol, endpoint, status, reason, http_status, answer[:ANSWER_CHARS], location,
                linked, attempts, now,
            )  # fmt: skip

        if isinstance(found, BlockedAddress):
            return record(status="refused", reason=f"target address: {found.reason}")
        if isinstance(found, FetchError):
            return record(status="failed", reason=f"discovery: {found.reason}: {found}")
        if isinstance(found, str):  # the target still answered 5xx after the retries, or was skipped
            return record(status="failed", reason=found if found.startswith(SKIPPED) else f"discovery: {found}")
        preferred = _preferred(found)
        if preferred is None:
            return record(status="no_endpoint")
        protocol, endpoint = preferred
        if self.options.dry_run:
            return record(protocol, endpoint, status="dry_run")
        skip = self.out_of_time() or self._host_skip(endpoint)
        if skip:
            return record(protocol, endpoint, "failed", skip)
        attempts = 0
        while True:
            attempts += 1
            try:
                # Through the guarded fetcher like every request: a stored endpoint is checked too.
                result = self._post(protocol, endpoint, source, target, title, excerpt)
            except BlockedAddress as exc:
                return record(protocol, endpoint, "refused", f"endpoint address: {exc.reason}", attempts=attempts)
            except FetchError as exc:
                if isinstance(exc, OutOfTime) and protocol != "trackback":
                    return record(protocol, endpoint, "failed", self._budget_reason, attempts=attempts)
                # A TrackBack that timed out may have been taken: sent again, it could be a second
                # ping (Webmention and Pingback name a pair, which the receiver keeps once).
                again = not (protocol == "trackback" and exc.reason == "timeout")
                if again and _transient(exc) and self._retry(attempts):
                    continue
                self._host_failed(exc, endpoint)
                return record(protocol, endpoint, "failed", f"{exc.reason}: {exc}", attempts=attempts)
            if result.status >= 500 and self._retry(attempts):
                continue
            break
        answer = result.body.decode(result.charset or "utf-8", errors="replace")
        status, reason, location = _judge(protocol, result, answer)
        return record(protocol, endpoint, status, reason, result.status, answer, location, attempts)

    def _endpoints(self, target: str, *, use_store: bool = True) -> tuple[str, str, str] | FetchError | str:
        """(webmention, pingback, trackback) endpoints of a target, each target fetched once per run.

        A stored answer still fresh is used without asking; one with validators is revalidated
        with a conditional GET, and a 304 reuses it (:mod:`linkback.send._discovery_cache`).
        A 5xx answer, a timeout or a connection error is retried with the POST's backoff; if it
        persists the answer is the FetchError, or ``"HTTP 503"`` for a 5xx (never parsed as a page).
        A target whose host timed out earlier in the run is not fetched: the answer is
        ``"skipped: HOST timed out earlier in this run"``; one still fresh in the store is used.
        Nor is any once the run's time budget is spent: ``"skipped: time budget of ..."``.
        """
        if target in self._discovered:
            return self._discovered[target]
        stored = self._stored.pop(target, None) if use_store else None
        if stored is not None and stored.fresh(datetime.now(UTC)):
            self._from_store.add(target)
            self._discovered[target] = stored.endpoints
            return stored.endpoints
        skip = self.out_of_time() or self._host_skip(target)
        if skip:
            return skip
        headers = stored.validators() if stored is not None else {}
        attempts = 0
        while True:
            attempts += 1
            try:
                page = self.fetch(target, headers=headers)
            except OutOfTime:
                return self._budget_reason  # not kept: the next run asks the target again
            except FetchError as exc:
                if _transient(exc) and self._retry(attempts):
                    continue
                self._host_failed(exc, target)
                self._discovered[target] = exc
                return exc
            if page.status >= 500:
                if self._retry(attempts):
                    continue
                self._discovered[target] = f"HTTP {page.status}"
                return self._discovered[target]
            break
        if page.status == 304 and stored is not None and headers:
            self._cache_changes[target] = dc.revalidated(
                stored, page.headers, redirected=bool(page.redirects), received_at=page.fetched_at
            )
            self._from_store.add(target)
            self._discovered[target] = stored.endpoints
            return stored.endpoints
        found = page_endpoints(
            ParsedPage(page.to_fetched_page(via="crawl"), limits=DISCOVERY_LIMITS, charset=page.charset)
        )
        endpoints = (found.webmention or "", found.pingback or "", found.trackback or "")
        self._cache_changes[target] = dc.entry_for(
            target,
            endpoints,
            status=page.status,
            headers=page.headers,
            final_url=page.final_url or target,
            redirected=bool(page.redirects),
            received_at=page.fetched_at,
        )
        self._discovered[target] = endpoints
        return endpoints

    def _post(self, protocol: str, endpoint: str, source: str, target: str, title: str, excerpt: str) -> FetchResult:
        # A 3xx answer to a POST is not followed (it would turn into a GET): WM §3.1.3, Bridgy.
        if protocol == "webmention":
            return self.fetch(
                endpoint,
                method="POST",
                data={"source": source, "target": target},
                follow_redirects=False,
                accept="*/*",
            )
        if protocol == "pingback":
            return self.fetch(
                endpoint,
                method="POST",
                data=pb.ping_request(source, target),
                headers={"Content-Type": "text/xml"},
                follow_redirects=False,
                accept="text/xml",
            )
        body, content_type = tb.ping_body(url=source, title=title, excerpt=excerpt, blog_name=self.options.blog_name)
        return self.fetch(
            endpoint,
            method="POST",
            data=body,
            headers={"Content-Type": content_type},
            follow_redirects=False,
            accept="text/xml",
        )


def _host(url: str) -> str:
    """The host name of ``url``, lower case (every port of it: a tarpit has many), or ""."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _preferred(endpoints: tuple[str, str, str]) -> tuple[str, str] | None:
    """(protocol, endpoint) to notify: Webmention, else Pingback, else TrackBack."""
    for protocol, endpoint in zip(("webmention", "pingback", "trackback"), endpoints):
        if endpoint:
            return protocol, endpoint
    return None


def _judge(protocol: str, result: FetchResult, answer: str) -> tuple[str, str, str]:
    """(status, reason, location) from an endpoint's answer."""
    if protocol == "webmention":
        if 200 <= result.status < 300:
            location = (result.header("location") or "").strip() if result.status == 201 else ""
            if location:
                # A relative Location is resolved against the endpoint (RFC 9110 §10.2.2).
                resolved = resolve(location, result.final_url or result.url)[0]
                location = resolved or location
            return "sent", "", location
        return "failed", f"HTTP {result.status}", ""
    if protocol == "pingback":
        if result.status != 200:
            return "failed", f"HTTP {result.status}", ""
        ok, code, message = pb.parse_response(result.body)
        if ok:
            return "sent", "", ""
        if code == pb.FAULTS["already_registered"]:
            return "sent", "already registered (fault 48)", ""
        return "failed", f"fault {code}: {message}"[:300], ""
    if result.status != 200:
        return "failed", f"HTTP {result.status}", ""
    ok, message = tb.parse_response(result.body)
    return ("sent", "", "") if ok else ("failed", message[:300], "")


# --- the post's links ----------------------------------------------------------------------------


def _parse(post: FetchResult) -> ParsedPage:
    """The post, to be decoded and parsed once, as the extractor decodes it (not only by the
    header's charset: a ``<meta charset>`` counts too)."""
    return ParsedPage(post.to_fetched_page(via="crawl"), charset=post.charset)


def outbound_links(post: FetchResult, *, all_links: bool = False, parsed: ParsedPage | None = None) -> set[str]:
    """The http(s) targets of a post: those in its content, or every link with ``all_links``.

    The content is the first h-entry's ``e-content`` when the page has one; else the links the
    index's extractor places in the ``content`` section (not nav, header, footer, aside, comments).
    ``parsed`` is the post already parsed (:func:`_parse`), if the caller has it; hrefs resolve in
    the page's encoding, as the extractor resolves them.
    """
    if parsed is None:
        parsed = _parse(post)
    base = post.final_url or post.url
    tree = parsed.tree if not all_links and post.content_type in HTML_TYPES else None
    if tree is not None:
        content = tree.css_first(".h-entry .e-content")
        if content is not None:
            encoding = parsed.encoding
            base_el = tree.css_first("base[href]")
            base_url = base
            if base_el is not None:
                try:
                    base_url = resolve(base_el.attributes.get("href") or "", base, encoding)[0] or base
                except (LinkbackError, ValueError):
                    base_url = base
            out = set()
            for a in content.css("a[href]"):
                try:
                    url = resolve(a.attributes.get("href") or "", base_url, encoding)[0]
                except (LinkbackError, ValueError):
                    continue
                if url and url.startswith(("http://", "https://")):
                    out.add(url.split("#", 1)[0])
            return out
    _facts, links = extract(parsed)
    return {
        link.target_url for link in links if link.kind in ("text", "image") and (all_links or link.section == "content")
    }


def _meta_gone(tree: LexborHTMLParser | None) -> bool:
    if tree is None:
        return False
    for meta in tree.css("meta[http-equiv]"):
        if (meta.attributes.get("http-equiv") or "").lower() == "status" and (
            meta.attributes.get("content") or ""
        ).strip().startswith("410"):
            return True
    return False


def _title_and_excerpt(tree: LexborHTMLParser | None) -> tuple[str, str]:
    if tree is None:
        return "", ""
    name = tree.css_first(".h-entry .p-name")
    title = tree.css_first("title")
    content = tree.css_first(".h-entry .e-content") or tree.css_first("article") or tree.css_first("main") or tree.body
    text = " ".join((content.text(separator=" ") if content is not None else "").split())
    heading = (name.text() if name is not None else "") or (title.text() if title is not None else "")
    return " ".join(heading.split())[:250], text[:252]
