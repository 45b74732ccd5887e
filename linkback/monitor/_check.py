"""One check of one source page: robots.txt, the fetch (each redirect hop by hand, each kept in
the WARC file), ``extract()`` on the page, rendering when the raw HTML lacks a link, and an
:class:`~linkback.monitor._verdict.Observation` per ledger link of that page.

Every request goes through linkback's SSRF-safe :class:`~linkback.fetch.Fetcher` (each hop
checked, the connection made to the checked address); hops are followed here rather than by the
fetcher so that each one's status, robots.txt and WARC record are kept. robots.txt is read once
per origin and run (Protego, our token ``linkback``), as the crawler reads it
(:mod:`linkback.robotstxt`): its first 500 KiB only, and no more downloaded; a disallowed page
is not fetched (``robots``); a robots.txt that answers 4xx allows everything; one that answers
5xx or 429, or cannot be fetched, makes the check ``unknown/robots`` (``robots_unavailable``) rather than
a guess.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from linkback.errors import BlockedAddress, FetchError, LinkbackError
from linkback.extract import extract
from linkback.fetch import Fetcher, FetchLimits, FetchResult, Resolver
from linkback.fetch._retry import retry_after_seconds
from linkback.monitor._ledger import LinkResult, LinkTask
from linkback.monitor._verdict import Observation, needs_confirmation, same_page, step
from linkback.monitor._warc import CheckWarc
from linkback.records import FetchedPage, Link, PageFacts
from linkback.robotstxt import ROBOTS_MAX_BYTES, robots_body, unavailable_status
from linkback.urls import host_of, resolve

log = logging.getLogger("linkback.monitor")
#: The longest Retry-After read (seconds): "come back tomorrow" is a day, not a number to overflow.
RETRY_AFTER_CAP = 86_400.0
#: A 429 without Retry-After: how long its host is left alone.
RETRY_AFTER_429 = 60.0

#: The robots.txt token linkback obeys (and its User-Agent starts with).
ROBOTS_TOKEN = "linkback"
MAX_REDIRECTS = 10
#: A Crawl-delay above this is taken as this (seconds).
MAX_CRAWL_DELAY = 60.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: getaddrinfo's "no such name" answers: the domain does not exist (or has no address at all).
_NO_SUCH_NAME = frozenset(e for e in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if e)
#: Link kinds that are links a reader follows.
_LINK_KINDS = frozenset({"text", "image"})


class RecordingResolver:
    """A resolver that remembers, per host, the address a fetch went to and whether the name
    does not exist (NXDOMAIN), for the check's evidence. One check of a host runs at a time, so
    a host's last answer is its check's."""

    def __init__(self, base: Resolver) -> None:
        self.base = base
        self._answers: dict[str, str] = {}
        self._missing: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int) -> list[str]:
        try:
            answers = self.base(host, port)
        except socket.gaierror as exc:
            if exc.errno in _NO_SUCH_NAME:
                with self._lock:
                    self._missing.add(host)
            raise
        with self._lock:
            self._missing.discard(host)
            if answers:
                self._answers[host] = str(answers[0])
        return answers

    def address(self, url: str) -> str:
        host = _hostname(url)
        if host.replace(".", "").isdigit() or ":" in host:
            return host  # an IP literal: not resolved
        with self._lock:
            return self._answers.get(host, "")

    def no_such_domain(self, url: str) -> bool:
        with self._lock:
            return _hostname(url) in self._missing


def _hostname(url: str) -> str:
    rest = url.split("://", 1)[-1]
    hostport = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if hostport.startswith("["):
        return hostport[1 : hostport.find("]")]
    return hostport.split(":", 1)[0].lower()


def _origin(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


class RunStopping(Exception):
    """The run is stopping (Ctrl-C, a failed write): the check in hand is left undone, still due."""


class HostWaits(Exception):
    """A redirect leads to a host that asked (Retry-After) for a longer wait than a run gives: the
    check is left for the next run."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


class HostSlots(Protocol):
    """One connection per host (the run's scheduler): a redirect hop takes its host's slot."""

    def hold(self, host: str) -> None:
        """Wait until ``host`` is free and rested, and take it; RunStopping or HostWaits instead."""

    def release(self, host: str, rest: float) -> None:
        """Give ``host`` back, to be asked again no sooner than ``rest`` seconds from now."""


class HostHold:
    """The one host slot a check holds: its page's host when it starts, then each redirect hop's.
    The slot held is given up before the next is taken, so a check never waits while it holds one
    and two checks cannot wait for each other; a hop to the host held keeps it. ``rest_after``
    gives the wait a host asks after a request to a URL (delay, Crawl-delay, Retry-After)."""

    def __init__(self, slots: HostSlots, host: str, url: str, rest_after: Callable[[str], float]) -> None:
        self._slots = slots
        self._rest_after = rest_after
        self.host: str | None = host
        self._last_url = url

    def move_to(self, url: str) -> None:
        host = host_of(url)
        if host != self.host:
            self.give_up()
            self._slots.hold(host)
            self.host = host
        self._last_url = url

    def rest(self) -> float:
        """The wait the host held asks after this check's last request to it."""
        return self._rest_after(self._last_url) if self.host is not None else 0.0

    def give_up(self) -> None:
        if self.host is not None:
            self._slots.release(self.host, self.rest())
            self.host = None


@dataclass
class PageTask:
    """A source page to check and the ledger links on it; ``attempt`` 1 is the confirming fetch."""

    source_url: str
    host: str
    links: list[LinkTask]
    attempt: int = 0


@dataclass
class PageView:
    """One fetch of a page: the answer (or why none came), the hops, and what extract() read."""

    checked_at: datetime
    status: int | None = None
    error: str = ""
    detail: str = ""
    final_url: str = ""
    redirects: tuple[tuple[str, int], ...] = ()
    ip: str = ""
    warc_path: str = ""
    warc_offset: int | None = None
    result: FetchResult | None = None
    facts: PageFacts | None = None
    links: list[Link] = field(default_factory=list)


class Robots:
    """robots.txt per origin, read once per run through the guarded fetcher."""

    def __init__(self, fetcher: Fetcher, keep: Callable[[FetchResult], object]) -> None:
        self.fetcher = fetcher
        self.keep = keep
        self._rules: dict[str, tuple[str, Any]] = {}
        self._fetching: dict[str, threading.Event] = {}  # origins whose robots.txt a check is fetching
        self._lock = threading.Lock()
        self.fetches = 0

    def verdict(self, url: str, hold: HostHold | None = None) -> tuple[str, str]:
        """``("allow" | "deny" | "unavailable", why)`` for fetching ``url``; ``hold`` (the check's
        host slot) is moved to each host robots.txt is fetched from."""
        state, rules = self._for(_origin(url), hold)
        if state == "parsed":
            if rules.can_fetch(url, ROBOTS_TOKEN):
                return "allow", ""
            return "deny", "robots.txt disallows it for linkback"
        return state, rules if isinstance(rules, str) else ""

    def crawl_delay(self, url: str) -> float:
        state, rules = self._known(_origin(url))
        if state != "parsed":
            return 0.0
        delay = rules.crawl_delay(ROBOTS_TOKEN)
        return min(float(delay), MAX_CRAWL_DELAY) if delay else 0.0

    def _known(self, origin: str) -> tuple[str, Any]:
        with self._lock:
            return self._rules.get(origin, ("allow", ""))

    def _for(self, origin: str, hold: HostHold | None) -> tuple[str, Any]:
        """The origin's rules, fetched once. A check that finds another fetching them waits for
        it without its host slot: the other may be waiting for that slot (a robots.txt that
        redirects back to the host), and a wait that held it would never end."""
        while True:
            with self._lock:
                if origin in self._rules:
                    return self._rules[origin]
                fetching = self._fetching.get(origin)
                if fetching is None:
                    fetching = self._fetching[origin] = threading.Event()
                    break
            if hold is not None:
                hold.give_up()  # taken again for the page's own fetch
            fetching.wait()
        try:
            found = self._fetch(origin, hold)
            with self._lock:
                self._rules[origin] = found
            return found
        finally:  # fetched, or given up (the run stopping): whoever waits looks again
            with self._lock:
                del self._fetching[origin]
            fetching.set()

    def _limits(self) -> FetchLimits:
        """The fetcher's limits, but the body read up to one byte past ROBOTS_MAX_BYTES, whatever
        its cap for pages: enough to know the file goes on, so robots_body drops a last line cut
        off mid-rule, and never more (the fetcher cuts a longer body; it does not fail on it)."""
        return replace(self.fetcher.limits, max_bytes=ROBOTS_MAX_BYTES + 1)

    def _fetch(self, origin: str, hold: HostHold | None) -> tuple[str, Any]:
        """Fetch ``origin``'s robots.txt, following its redirects (RFC 9309 §2.3.1.2: across
        hosts too) by hand, so that each hop takes its host's slot and is kept in the WARC file."""
        from protego import Protego  # noqa: PLC0415

        url = origin + "/robots.txt"
        for _ in range(self.fetcher.limits.max_redirects + 1):
            if hold is not None:
                hold.move_to(url)
            with self._lock:
                self.fetches += 1
            try:
                result = self.fetcher.fetch(
                    url, accept="text/plain,*/*;q=0.1", limits=self._limits(), follow_redirects=False
                )
            except (BlockedAddress, FetchError) as exc:
                if isinstance(exc, BlockedAddress) or exc.reason in ("dns", "url"):
                    return "allow", ""  # the page's own fetch says what is wrong with the host
                return "unavailable", f"robots.txt could not be fetched ({exc.reason})"
            self.keep(result)
            location = (result.header("location") or "").strip()
            if result.status in _REDIRECTS and location:
                target, bad = resolve(location, url)
                if bad:
                    return "allow", ""  # a redirect to nothing fetchable: no rules
                url = target
                continue
            if 200 <= result.status < 300:
                return "parsed", Protego.parse(robots_body(result.body).decode("utf-8", "replace"))
            if unavailable_status(result.status):
                return "unavailable", f"robots.txt answered {result.status}"
            return "allow", ""  # 4xx: no rules; a redirect without a Location: no rules either
        return "unavailable", "robots.txt could not be fetched (redirects)"


def find_link(links: list[Link], target_url: str | None, target_host: str, target_domain: str) -> Link | None:
    """The link of ``links`` to the target (a page, or any page of the site when ``target_url`` is
    empty): the exact URL first, else the same page by another scheme or a slash ending its path
    (:func:`~linkback.monitor._verdict.same_page`); of several, a followed one in the content,
    then document order.

    Both sides are in :mod:`linkback.urls`' stored form — ``links`` come from ``extract()``,
    which resolves each href as ingest does (base, entities, case, default port, IDN, fragment),
    and the ledger's target was stored by ``normalize()`` — so "the exact URL" is the link the
    index would store under the same ``target_url``: a spelling the URL layer keeps apart (an
    empty ``?``, ``%70`` for ``p``) is another link here as in the index."""
    if target_url:
        matches = [lk for lk in links if lk.kind in _LINK_KINDS and lk.target_url == target_url]
        if not matches:
            matches = [lk for lk in links if lk.kind in _LINK_KINDS and same_page(lk.target_url, target_url)]
    elif target_host == target_domain:
        matches = [lk for lk in links if lk.kind in _LINK_KINDS and lk.target_domain == target_domain]
    else:
        matches = [lk for lk in links if lk.kind in _LINK_KINDS and lk.target_host == target_host]
    if not matches:
        return None
    from linkback.monitor._verdict import followed  # noqa: PLC0415

    order = {id(lk): i for i, lk in enumerate(matches)}
    return min(
        matches, key=lambda lk: (not followed(lk.nofollow, " ".join(lk.rel)), lk.section != "content", order[id(lk)])
    )


class PageChecker:
    """Checks pages (from any number of threads): see the module docstring."""

    def __init__(
        self,
        fetcher: Fetcher,
        resolver: RecordingResolver,
        *,
        warc: CheckWarc | None = None,
        render: str = "auto",
        renderer_factory: Callable[[], Any] | None = None,
        confirm_after: timedelta | None = None,
    ) -> None:
        self.fetcher = fetcher
        #: How long after a loss seen once it is checked again; None: a fetch in this run confirms it.
        self.confirm_after = confirm_after or None
        self.resolver = resolver
        self.warc = warc
        self.render_mode = render
        self.robots = Robots(fetcher, lambda result: self._keep(result, resolver.address(result.final_url)))
        self._renderer_factory = renderer_factory
        self._renderer: Any = None
        self.render_note = ""  # why rendering is off for this run, once it is known
        #: Called with a rendered page's URL once render() has returned, in the check's host slot
        #: (the run waits there for the rendering's requests still out to that host).
        self.after_render: Callable[[str], None] | None = None
        self._lock = threading.Lock()
        #: Seconds each host (by name) asked us to wait with a 429 or 503 (its Retry-After).
        self.retry_after: dict[str, float] = {}
        #: Each page fetched to its end, for the index (see run_checks' ``index``); None: not kept.
        self.fetched: queue.SimpleQueue[FetchedPage] | None = None
        self.fetches = 0
        self.rendered = 0
        self.warc_errors = 0

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # --- one task --------------------------------------------------------------------------------

    def check(self, task: PageTask, hold: HostHold | None = None) -> tuple[list[LinkResult], PageTask | None]:
        """Check ``task``'s page: each link's observation and step; and, without ``confirm_after``,
        the confirming fetch to make next (after the host's delay) for the links whose loss it saw
        first (with it, they are due again that long after, for a later run). ``hold``: the host
        slot the check holds, moved to each redirect hop's host (None: no slots)."""
        view = self.fetch_page(task.source_url, hold)
        raw = view.links
        missing = [lk for lk in task.links if find_link(raw, lk.target_url, lk.target_host, lk.target_domain) is None]
        rendered_links: list[Link] | None = None
        note = ""
        readable = view.facts is not None and not view.facts.skipped and view.result is not None
        if readable and task.attempt == 0 and (missing or self.render_mode == "always") and self.render_mode != "never":
            rendered_links, note = self._render(view)
        results, confirm = [], []
        for link in task.links:
            obs = self._observe(view, link, rendered_links, note, task.source_url)
            done = step(link.state, obs, self.confirm_after)
            again = task.attempt == 0 and self.confirm_after is None and needs_confirmation([done])
            results.append(LinkResult(link, [(obs, done)], final=not again))
            if again:
                confirm.append(replace(link, state=done.state))
        follow_up = PageTask(task.source_url, task.host, confirm, attempt=1) if confirm else None
        return results, follow_up

    def _observe(
        self, view: PageView, link: LinkTask, rendered: list[Link] | None, note: str, source_url: str
    ) -> Observation:
        in_raw = find_link(view.links, link.target_url, link.target_host, link.target_domain)
        in_rendered = (
            find_link(rendered, link.target_url, link.target_host, link.target_domain) if rendered is not None else None
        )
        found = in_raw or in_rendered
        found_in = "both" if in_raw and in_rendered else "raw" if in_raw else "rendered" if in_rendered else ""
        facts = view.facts
        return Observation(
            checked_at=view.checked_at, source_url=source_url, status=view.status, error=view.error,
            detail=view.detail, final_url=view.final_url, redirects=view.redirects, ip=view.ip,
            canonical=facts.canonical if facts else "", noindex=bool(facts and facts.noindex), found=found is not None,
            found_in=found_in, rendered=rendered is not None, render_note=note,
            anchor=found.anchor if found else "", rel=" ".join(found.rel) if found else "",
            nofollow=bool(found and found.nofollow), section=found.section if found else "",
            warc_path=view.warc_path, warc_offset=view.warc_offset,
            truncated=bool(view.result is not None and view.result.truncated),
            not_html=bool(facts and facts.skipped == "not_html"),
        )  # fmt: skip

    # --- fetching ------------------------------------------------------------------------------------

    def fetch_page(self, url: str, hold: HostHold | None = None) -> PageView:
        """Fetch ``url``, following redirects hop by hop (robots.txt, the guard and, with
        ``hold``, the host's slot on each)."""
        hops: list[tuple[str, int]] = []
        current = url
        view = PageView(datetime.now(UTC), final_url=url)
        for _ in range(MAX_REDIRECTS + 1):
            if hold is not None:
                hold.move_to(current)
            allowed, why = self.robots.verdict(current, hold)
            if hold is not None:
                hold.move_to(current)  # back from the host robots.txt redirected to, if any
            if allowed != "allow":
                error = "robots" if allowed == "deny" else "robots_unavailable"
                return replace(view, error=error, detail=why, final_url=current, redirects=tuple(hops))
            try:
                with self._lock:
                    self.fetches += 1
                result = self.fetcher.fetch(current, follow_redirects=False)
            except BlockedAddress as exc:
                return replace(view, error="blocked", detail=_detail(exc), final_url=current, redirects=tuple(hops))
            except FetchError as exc:
                reason = exc.reason
                if reason == "dns" and self.resolver.no_such_domain(current):
                    reason = "no_such_domain"
                return replace(view, error=reason, detail=_detail(exc), final_url=current, redirects=tuple(hops))
            self.note_retry_after(current, result)
            ip = self.resolver.address(current)
            path, offset = self._keep(result, ip)
            if self.fetched is not None:
                # The index learns each answer as its WARC record has it: a hop's redirect, a gone
                # page, the page itself (so ingesting the evidence later adds the same pages). A
                # body cut at the size limit is a partial capture there: its links count as seen,
                # and the links past the cut are not taken as removed.
                self.fetched.put(
                    FetchedPage(
                        url=current, final_url=current, status=result.status, headers=result.headers,
                        body=result.body, fetched_at=result.fetched_at, via="monitor",
                        truncated=result.truncated,
                    )  # fmt: skip
                )
            view = replace(view, checked_at=result.fetched_at, ip=ip, warc_path=path, warc_offset=offset)
            location = result.header("location")
            if result.status in _REDIRECTS and location and location.strip():
                target, bad = resolve(location.strip(), current)
                if bad:
                    detail = f"{current} redirects to {location!r}, not a URL linkback can fetch ({bad})"
                    return replace(view, status=result.status, error="url", detail=detail, redirects=tuple(hops))
                hops.append((current, result.status))
                current = target
                continue
            view = replace(view, status=result.status, final_url=current, redirects=tuple(hops), result=result)
            return self._extracted(view, url)
        return replace(view, error="redirects", detail=f"more than {MAX_REDIRECTS} redirects", redirects=tuple(hops))

    def note_retry_after(self, url: str, result: FetchResult) -> None:
        """A 429 or 503 asks the host's next request to wait its Retry-After (a 429 without one:
        :data:`RETRY_AFTER_429` seconds), whether a page's fetch or a rendering got it; the run's
        scheduler reads it (``retry_after``)."""
        if result.status not in (429, 503):
            return
        value = result.header("retry-after")
        wait = retry_after_seconds(value, datetime.now(UTC), RETRY_AFTER_CAP) if value else None
        if wait is None and result.status == 429:
            wait = RETRY_AFTER_429
        if wait:
            host = host_of(url)
            with self._lock:
                self.retry_after[host] = max(self.retry_after.get(host, 0.0), wait)

    def _extracted(self, view: PageView, url: str) -> PageView:
        result = view.result
        assert result is not None
        if result.status >= 400:
            return view
        page = FetchedPage(
            url=url, final_url=view.final_url, status=result.status, headers=result.headers, body=result.body,
            fetched_at=result.fetched_at, via="monitor",
        )  # fmt: skip
        facts, links = extract(page)
        return replace(view, facts=facts, links=links)

    def _keep(self, result: FetchResult, ip: str) -> tuple[str, int | None]:
        if self.warc is None:
            return "", None
        try:
            return self.warc.write(result, ip)
        except OSError as exc:  # a full disk loses the evidence, not the check
            with self._lock:
                self.warc_errors += 1
            log.warning("monitor: cannot write the WARC record of %s: %s", result.final_url, exc)
            return "", None

    # --- rendering -----------------------------------------------------------------------------------

    def _render(self, view: PageView) -> tuple[list[Link] | None, str]:
        """The links of the rendered page (None when it could not be rendered) and a note why not."""
        renderer = self._renderer_now()
        if renderer is None:
            return None, self.render_note
        assert view.result is not None
        try:
            page = renderer.render(view.final_url, document=view.result)
        except Exception as exc:  # noqa: BLE001 - a page the browser cannot show is checked on its raw HTML
            return None, f"rendering failed: {exc}"[:500]
        finally:
            # Still in the page's host slot: the host rests from when the rendering's last request
            # to it ended, not from when render() returned (a script's may outlive the settle time).
            if self.after_render is not None:
                self.after_render(view.final_url)
        with self._lock:
            self.rendered += 1
        shown = FetchedPage(
            url=view.final_url, status=200, headers=(("Content-Type", "text/html; charset=utf-8"),),
            body=page.html.encode("utf-8"), fetched_at=view.checked_at, via="crawl",
        )  # fmt: skip
        _, links = extract(shown)
        refused = "; ".join(f"{u}: {why}" for u, why in page.refused[:3])
        return links, (f"rendering refused {len(page.refused)} request(s): {refused}" if page.refused else "")[:500]

    def _renderer_now(self) -> Any:
        with self._lock:
            if self._renderer is None and not self.render_note:
                if self._renderer_factory is None:
                    self.render_note = "rendering unavailable: no renderer"
                else:
                    try:
                        self._renderer = self._renderer_factory()
                    except LinkbackError as exc:
                        self.render_note = f"rendering unavailable: {exc}"
            return self._renderer


def _detail(exc: FetchError) -> str:
    return str(exc)[:500]
