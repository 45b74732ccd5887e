"""Log hits into visits: which requests are visits, where each came from, and its channel.

A hit is a **visit** when it is a successful page view (a ``GET`` answered 2xx — not 206 — or
304, of a path that is no sub-resource: stylesheet, script, image, font, media, ``robots.txt``),
by no crawler (:func:`~linkback.traffic._lists.is_bot`), of the site (``--host``, or the host the
line names), with a referrer that is neither the site itself (moving between its pages is
navigation, not a visit from elsewhere) nor on the referrer-spam list. What is dropped is counted
by reason in :data:`DROPS`.

Each visit keeps its landing page (``target_*``), its referrer (``source_url``, ``source_host``,
``source_domain``; none for a direct visit), and ``source``, ``medium``, ``campaign`` and
``channel`` (:mod:`._channels`). Its ``visit_key`` is a 64-bit hash of the log line, so the same
line read again (the same file, a rotated copy, a log that grew) is the same visit; identical
lines in the same second are told apart by their order.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any
from zlib import adler32, crc32

from linkback.errors import URLError
from linkback.protocols._refback import ASSET_EXTENSIONS, _host_key, _Sites
from linkback.traffic._channels import channel, landing_tags, referrer_source, source_category
from linkback.traffic._formats import Hit
from linkback.traffic._lists import is_bot, is_spam_host
from linkback.urls import host_of, normalize, resolve, split_host

__all__ = ["DROPS", "VISIT_FIELDS", "VisitBuilder", "line_key"]

#: Why a parsed hit is not stored as a visit. ``bad_url``: its page is no URL.
DROPS = ("not_a_page", "bot", "other_host", "no_host", "navigation", "spam", "bad_url")

#: The columns of a visit row, in the order :class:`VisitBuilder` collects them.
VISIT_FIELDS = (
    "visit_key",
    "visited_at",
    "target_url",
    "target_host",
    "target_domain",
    "target_rhost",
    "source_url",
    "source_host",
    "source_domain",
    "source",
    "medium",
    "campaign",
    "channel",
    "visits",
)

_OK = frozenset([*range(200, 206), *range(207, 300), 304])
_ASSET_PATHS = frozenset({"/robots.txt"})
_MIX = 0x9E3779B97F4A7C15
#: A page not looked at yet (a cached page is a 5-tuple, or None when it has no URL).
_UNSEEN: tuple = ()
#: At most this many entries in each per-read cache (hosts, referrers, pages).
CACHE_SIZE = 100_000


def _signed(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


_HALF, _FULL = 1 << 63, 1 << 64


def line_key(text: str) -> int:
    """A stable signed 64-bit key for a line (or any text): CRC-32 and Adler-32 of its bytes side
    by side — two C calls, half a BLAKE2's cost on a log line, and the key only has to tell apart
    the lines of one second."""
    try:
        data = text.encode("latin-1")  # a log line read as Latin-1: its bytes as they were
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    key = crc32(data) << 32 | adler32(data)
    return key - _FULL if key >= _HALF else key


def _is_page(method: str, status: int, target: str) -> bool:
    if method != "GET" or status not in _OK or target[:1] != "/":
        return False
    q = target.find("?")
    path = (target if q < 0 else target[:q]).lower()
    h = path.find("#")
    if h >= 0:
        path = path[:h]
    if path in _ASSET_PATHS:
        return False
    name = path[path.rfind("/") + 1 :]
    dot = name.rfind(".")
    return dot < 0 or name[dot + 1 :] not in ASSET_EXTENSIONS


class VisitBuilder:
    """Turns the hits of one read into visit rows, in columns, handed to ``flush`` every ``batch``
    rows (and at :meth:`close`). ``site`` is ``--host`` (a host, a registrable domain for all its
    hosts, or a URL); without one each line's own host is its site. ``scheme`` is the pages'
    scheme when the line does not tell."""

    def __init__(
        self, site: str | None, scheme: str, flush: Callable[[dict[str, list[Any]]], None], batch: int = 20_000
    ) -> None:
        if scheme not in ("http", "https"):
            raise URLError(f"scheme must be http or https, not {scheme!r}")
        self.sites = _Sites([site]) if site else None
        self.default_host = _host_key(site)[0] if site else ""
        self.scheme = scheme
        self.flush = flush
        self.batch = batch
        self.drops: collections.Counter[str] = collections.Counter()
        self.channels: collections.Counter[str] = collections.Counter()
        self.rows = 0
        self.first: float | None = None
        self.last: float | None = None
        # (key, time in µs, page, referrer, source, medium, campaign, channel, visits) per visit
        self._rows: list[tuple] = []
        self._bases: dict[tuple[str, str], str] = {}
        self._per_base: dict[str, tuple[dict[str, tuple], dict[str, tuple | None]]] = {}
        self._second = -1.0
        self._micros = -1_000_000  # self._second in µs
        self._seen: dict[int, int] = {}

    # --- one hit ---------------------------------------------------------------------------------

    def add_hit(self, hit: Hit, line: str) -> str | None:
        """Store the hit as a visit, or return the :data:`DROPS` reason it is none."""
        _, ts, method, target, status, referer, agent, host, scheme, _ = hit
        if not _is_page(method, status, target):
            return self._drop("not_a_page")
        if is_bot(agent):
            return self._drop("bot")
        return self.add_visit(line, ts, target, referer, host, scheme)

    def add_visit(self, line: str, ts: float, target: str, referer: str, host: str, scheme: str) -> str | None:
        """Store a page view by a person (the caller has checked both) as a visit, or return the
        :data:`DROPS` reason it is none."""
        base = self._bases.get((host, scheme))
        if base is None:
            base = self._base(host, scheme)
        if base in DROPS:
            return self._drop(base)
        return self.visit_at(base, self.caches(base), line, ts, target, referer)

    def caches(self, base: str) -> tuple[dict[str, tuple], dict[str, tuple | None]]:
        """The referrers and pages seen on the site ``base``, as :meth:`visit_at` wants them."""
        found = self._per_base.get(base)
        if found is None or len(found[0]) + len(found[1]) > CACHE_SIZE:
            found = self._per_base[base] = ({}, {})
        return found

    def visit_at(
        self,
        base: str,
        caches: tuple[dict[str, tuple], dict[str, tuple | None]],
        line: str,
        ts: float,
        target: str,
        referer: str,
    ) -> str | None:
        """:meth:`add_visit` for a page of the site ``base`` (``https://example.com``), with that
        site's :meth:`caches`: the hot loop's way in."""
        refs, pages = caches
        ref = refs.get(referer)
        if ref is None:
            ref = refs[referer] = referrer_of(referer, base, self.sites)
        if len(ref) == 1:
            self.drops[ref[0]] += 1
            return ref[0]
        page = pages.get(target, _UNSEEN)
        if page is _UNSEEN:
            page = pages[target] = _page(base, target)
        if page is None:
            self.drops["bad_url"] += 1
            return "bad_url"
        tags = page[4]
        if tags is None:
            source, medium, campaign, ch = ref[3], ref[4], "", ref[5]
        else:
            source, medium, campaign = tags
            ch = channel(source, medium, campaign, source_category(source))
        # The key: the line's hash (line_key, inlined: this runs once per visit), and its order
        # among identical lines of the same second.
        try:
            data = line.encode("latin-1")  # a line of a log, read as Latin-1
        except UnicodeEncodeError:
            data = line.encode("utf-8", "surrogatepass")
        key = crc32(data) << 32 | adler32(data)
        if key >= _HALF:
            key -= _FULL
        if ts != self._second:
            self._second, self._seen, self._micros = ts, {}, int(ts * 1_000_000)
        seen = self._seen
        n = seen.get(key)
        if n is None:
            seen[key] = 0
        else:
            seen[key] = n + 1
            key = _signed(key + (n + 1) * _MIX)
        rows = self._rows
        rows.append((key, self._micros, page, ref, source, medium, campaign, ch, 1))
        if len(rows) >= self.batch:
            self._flush()
        return None

    def add_count(self, key: int, ts: float, page: tuple | None, referrer: tuple, tagged: tuple[str, str, str, str],
                  visits: int) -> None:  # fmt: skip
        """Store an export's row: ``referrer`` as :func:`referrer_of` gives it, ``tagged`` the
        (source, medium, campaign, channel) the export names."""
        source, medium, campaign, ch = tagged
        self._rows.append(
            (key, int(ts * 1_000_000), page or (None,) * 5, referrer, source, medium, campaign, ch, visits)
        )
        if len(self._rows) >= self.batch:
            self._flush()

    def _drop(self, reason: str) -> str:
        self.drops[reason] += 1
        return reason

    # --- cached parts ----------------------------------------------------------------------------

    def _base(self, host: str, scheme: str) -> str:
        """``https://example.com`` for the page's scheme and host, or a drop reason."""
        if len(self._bases) > CACHE_SIZE:
            self._bases.clear()
        base = "no_host"
        if host:
            try:
                name, port = _host_key(host)
            except URLError:
                name, port = "", ""
            if not name:
                base = "other_host"
            elif self.sites is not None and not self.sites.matches(name):
                base = "other_host"
            else:
                base = self._join(name, port, scheme)
        elif self.default_host:
            base = self._join(self.default_host, "", scheme)
        self._bases[(host, scheme)] = base
        return base

    def _join(self, host: str, port: str, scheme: str) -> str:
        # vhost_combined logs the local port: it tells the scheme better than any default.
        if port in ("80", "443"):
            return f"{'https' if port == '443' else 'http'}://{host}"
        scheme = scheme or self.scheme
        default = "443" if scheme == "https" else "80"
        return f"{scheme}://{host}:{port}" if port and port != default else f"{scheme}://{host}"

    # --- batches ---------------------------------------------------------------------------------

    def _flush(self) -> None:
        rows = self._rows
        if not rows:
            return
        self._rows = []
        # Transposed in C: the rows, then the (shared, cached) page and referrer tuples they hold.
        keys, times, pages, refs, sources, media, campaigns, channels, visits = zip(*rows)
        cols: dict[str, Any] = {"visit_key": keys, "visited_at": times}
        cols.update(zip(VISIT_FIELDS[2:6], zip(*pages)))
        cols.update(zip(VISIT_FIELDS[6:9], zip(*refs)))
        cols.update(source=sources, medium=media, campaign=campaigns, channel=channels, visits=visits)
        cols = {name: list(values) for name, values in cols.items()}
        self.rows += len(rows)
        if visits.count(1) == len(visits):
            self.channels.update(channels)
        else:
            for ch, n in zip(channels, visits):
                self.channels[ch] += n
        lo, hi = min(times) / 1e6, max(times) / 1e6
        self.first = lo if self.first is None else min(self.first, lo)
        self.last = hi if self.last is None else max(self.last, hi)
        self.flush(cols)

    def close(self) -> None:
        """Hand over the last rows."""
        self._flush()


def _page(base: str, target: str) -> tuple | None:
    """(url, host, domain, rhost, landing tags) of a requested page, or None when no URL."""
    try:
        url = normalize(base + target)
    except URLError:
        return None
    host = host_of(url)
    parts = split_host(host)
    q = url.find("?")
    return url, host, parts.domain, parts.rhost, landing_tags(url[q + 1 :]) if q >= 0 else None


_DIRECT = (None, None, None, "(direct)", "(none)", "Direct")


def referrer_of(referer: str, base: str, sites: _Sites | None) -> tuple:
    """A referrer as a visit keeps it: ``(source_url, source_host, source_domain, source, medium,
    channel)``, or ``(drop reason,)`` for navigation, spam and an unreadable over-long referrer.
    ``base`` is the page's scheme and host (``""`` when unknown). An empty or unusable referrer
    (``javascript:``, not a URL) is direct; an over-long one is cut (:func:`_referrer_url`)."""
    text = referer.strip()
    if not text or text == "-":
        return _DIRECT
    if text[:14].lower() == "android-app://":
        package = text[14:].split("/", 1)[0].lower().strip()
        if not package or any(c.isspace() for c in package):
            return _DIRECT
        source, medium, category = referrer_source(package, "/", "")
        return (text[:2048], package, package, source, medium, channel(source, medium, "", category))
    url, why = _referrer_url(text)
    if why:
        return _DIRECT if why == "direct" else (why,)
    i = url.find("://") + 3
    j = url.find("/", i)
    if "@" in url[i:j]:
        return _DIRECT  # no browser sends a user name
    host = host_of(url)
    page_host = base[base.find("://") + 3 :].partition(":")[0] if base else ""
    parts = split_host(host)
    if (
        host == page_host
        or (page_host and parts.domain == split_host(page_host).domain)
        or (sites is not None and sites.matches(host))
    ):
        return ("navigation",)
    if is_spam_host(host):
        return ("spam",)
    path, _, query = url[j:].partition("?") if j >= 0 else ("/", "", "")
    source, medium, category = referrer_source(host, path, query)
    return (url, host, parts.domain, source, medium, channel(source, medium, "", category))


def _referrer_url(text: str) -> tuple[str, str]:
    """``(url, "")`` for a referrer, or ``("", "direct")`` when it is no http(s) URL. One longer
    than :data:`~linkback.urls.MAX_URL_LENGTH` (as stored, percent-encoded) is cut to its page
    without the query, else to its origin: the referring site is what a visit needs (browsers send
    only the origin across sites by default), as android-app referrers are cut. When not even the
    origin reads, the visit is kept as direct, as one with a short unreadable referrer is: the
    visit happened, whatever its referrer says."""
    try:
        return normalize(text), ""
    except URLError:
        if resolve(text, "")[1] != "url_too_long":
            return "", "direct"
    for cut in _shorter(text):
        try:
            return normalize(cut), ""
        except URLError:
            continue
    return "", "direct"


def _shorter(text: str) -> list[str]:
    """An over-long URL's page without query or fragment, then its origin (none without ``://``)."""
    start = text.find("://") + 3
    if start < 3:
        return []
    # The URL parser ends an http(s) host at a backslash as at a slash.
    origin_end = min((k for k in (text.find(c, start) for c in "/?#\\") if k >= 0), default=len(text))
    page_end = min((k for k in (text.find(c, start) for c in "?#") if k >= 0), default=len(text))
    return [text[:page_end], text[:origin_end]] if page_end > origin_end else [text[:origin_end]]
