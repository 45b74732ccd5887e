"""Refback, the pure part: which logged page views carry a referer worth verifying.

Refback is not a protocol (protocols spec §5): a site reads the ``Referer`` of its own page views
and treats the referring page as a candidate linkback, to be fetched later and kept only if it
really links to the page. This module only sorts the hits; it fetches nothing and stores nothing,
and nothing it yields is fit to show before that verification (referers are trivially forged —
the shared sample logs have referrer spam in them).

Classes (:data:`REFERER_CLASSES`), decided in this order:

* ``not_a_page`` — the hit is not a successful page view: not a ``GET``, status not 2xx/304
  (a 206 is the rest of a download, a 3xx is logged again at its destination with the same
  referer), a request target that is not a path, or a sub-resource (stylesheet, script, image,
  font, media, ``robots.txt``), whose referer is the page that embeds it.
* ``not_a_site`` — the page's host is not one of ``site_hosts``, or cannot be told.
* ``empty`` — no referer (``-``).
* ``invalid`` — not an absolute http(s) URL (``android-app://…``), or one with a user name or
  password, which no browser sends (Fetch strips them).
* ``self`` — same host or registrable domain as the page, or one of ``site_hosts``.
* ``search`` / ``social`` — well-known search engines and social sites (lists below): real
  visitors, but the "page" is a results list or a feed, not a linking article.
* ``external`` — everything else: the only class a caller queues for verification.
"""

from __future__ import annotations

import collections
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from publicsuffixlist import PublicSuffixList

from ..errors import URLError
from ..urls import PSL_PATH, host_of, normalize, registrable_domain, registrable_domain_or_none

if TYPE_CHECKING:  # only the type: this module stays free of the file-reading side
    from ..sources.accesslog import LogHit

__all__ = [
    "ASSET_EXTENSIONS",
    "REFERER_CLASSES",
    "SEARCH_NAMES",
    "SOCIAL_DOMAINS",
    "SOCIAL_HOSTS",
    "SOCIAL_NAMES",
    "RefbackCandidate",
    "candidate_refbacks",
    "classify_referer",
    "site_matches",
    "summarize",
]

REFERER_CLASSES = ("external", "search", "social", "self", "empty", "invalid", "not_a_site", "not_a_page")

#: Search engines by the name part of their registrable domain, any country suffix
#: (``google.co.uk``, ``yandex.com.tr``, ``yahoo.co.jp``).
SEARCH_NAMES = frozenset(
    {"google", "bing", "duckduckgo", "yandex", "baidu", "yahoo", "ecosia", "qwant", "startpage", "naver", "seznam"}
)
#: Search engines whose name is too common a word to take with any suffix (``ask.fm`` is not one).
SEARCH_DOMAINS = frozenset({"ask.com"})
#: Social sites by name part, any country suffix (``pinterest.co.uk``).
SOCIAL_NAMES = frozenset({"facebook", "twitter", "linkedin", "reddit", "pinterest", "instagram", "tiktok", "youtube"})
#: Social sites and their link shorteners by exact registrable domain: one- and two-letter
#: names (``x.org`` is the X.Org Foundation, ``t.me`` is not ``t.co``) must not match elsewhere.
SOCIAL_DOMAINS = frozenset({"fb.com", "fb.me", "t.co", "x.com", "lnkd.in", "redd.it", "youtu.be", "vk.com", "vk.ru"})
#: Social hosts on a domain that is otherwise not social.
SOCIAL_HOSTS = frozenset({"news.ycombinator.com"})
# Mastodon and other fediverse instances cannot be listed: they land in "external", and
# verification then finds a post that links to the page, which is a fair refback.

#: Path extensions of sub-resources (lower case, without the dot).
ASSET_EXTENSIONS = frozenset(
    "css js mjs map json png jpg jpeg gif webp avif ico svg svgz bmp tif tiff "
    "woff woff2 ttf otf eot mp4 webm ogg ogv mp3 wav m4a flac".split()
)
_ASSET_PATHS = frozenset({"/robots.txt"})


@dataclass(frozen=True, slots=True)
class RefbackCandidate:
    """One log hit, sorted. ``page_url`` is the stored form of the requested page (``""`` when it
    cannot be built), ``referer`` the stored form of the referer (fragment dropped) when it
    parses, else as logged. ``cls`` is one of :data:`REFERER_CLASSES`."""

    page_url: str
    referer: str
    cls: str
    time: datetime
    remote_addr: str
    user_agent: str
    source: str
    line_no: int


# --------------------------------------------------------------------------- site hosts


def _host_key(text: str) -> tuple[str, str]:
    """``"Example.COM.:8080"`` -> ``("example.com", "8080")``; IDN to punycode, IPv6 in brackets.
    A URL is taken for its host. Raises URLError when there is no usable host."""
    text = text.strip()
    if "://" in text:
        url = normalize(text)
        return host_of(url), _port_of(url)
    port = ""
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[: end + 1], text[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif ":" in text:
        host = f"[{text}]"  # a bare IPv6 address, as %v logs it
    else:
        host = text
    if port and not port.isdigit():
        raise URLError(f"not a host: {text!r}", url=text)
    host = host_of(normalize(f"http://{host.rstrip('.')}/"))
    if not host:
        raise URLError(f"not a host: {text!r}", url=text)
    return host, port


def _port_of(url: str) -> str:
    i = url.find("://") + 3
    j = url.find("/", i)
    hostport = url[i:j] if j >= 0 else url[i:]
    hostport = hostport[hostport.rfind("@") + 1 :]
    k = hostport.rfind(":")
    return hostport[k + 1 :] if k > hostport.rfind("]") else ""


class _Sites:
    """``site_hosts`` prepared for matching: exact hosts, and registrable domains that also
    match their subdomains."""

    __slots__ = ("hosts", "domains", "only")

    def __init__(self, entries: Iterable[str]) -> None:
        hosts: set[str] = set()
        domains: set[str] = set()
        for entry in entries:
            host, _ = _host_key(entry)
            hosts.add(host)
            # Only a registrable domain widens to subdomains: "co.uk" or "github.io" must not.
            if not host.startswith("[") and registrable_domain_or_none(host) == host:
                domains.add(host)
        self.hosts = frozenset(hosts)
        self.domains = frozenset(domains)
        self.only = next(iter(hosts)) if len(hosts) == 1 else ""

    def matches(self, host: str) -> bool:
        if host in self.hosts:
            return True
        if not self.domains:
            return False
        i = host.find(".")
        while i >= 0:
            if host[i + 1 :] in self.domains:
                return True
            i = host.find(".", i + 1)
        return False


@lru_cache(maxsize=64)
def _sites_cached(entries: frozenset[str]) -> _Sites:
    return _Sites(entries)


def _sites(site_hosts: Collection[str]) -> _Sites:
    return site_hosts if isinstance(site_hosts, _Sites) else _sites_cached(frozenset(site_hosts))


def site_matches(host: str, site_hosts: Collection[str]) -> bool:
    """Whether ``host`` (any case, with or without ``:port``, IDN or punycode) belongs to the site
    named by ``site_hosts``. A host entry matches that host on any port; a registrable-domain
    entry (``"example.com"``) also matches its subdomains; an entry may also be a URL.

    An unusable ``host`` is False; an unusable entry raises URLError (a configuration error).

    >>> site_matches("www.example.com:8443", ["example.com"])
    True
    >>> site_matches("example.com", ["blog.example.com"])
    False
    """
    sites = _sites(site_hosts)
    try:
        key, _ = _host_key(host)
    except URLError:
        return False
    return sites.matches(key)


# --------------------------------------------------------------------------- referers

_icann: PublicSuffixList | None = None


@lru_cache(maxsize=1 << 14)
def _icann_domain(host: str) -> str:
    """Registrable domain by the PSL's ICANN section only. Search/social names are matched on
    it so that ``google.blogspot.com`` or ``google.github.io`` (private-section suffixes: other
    people's sites) are not taken for Google."""
    global _icann
    if _icann is None:
        with PSL_PATH.open(encoding="utf-8") as f:
            _icann = PublicSuffixList(f, accept_unknown=True, only_icann=True)
    return _icann.privatesuffix(host) or host


def _kind_of_host(host: str) -> str:
    if host.startswith("["):
        return "external"
    domain = _icann_domain(host)
    name = domain.partition(".")[0]
    if name in SEARCH_NAMES or domain in SEARCH_DOMAINS:
        return "search"
    if name in SOCIAL_NAMES or domain in SOCIAL_DOMAINS or host in SOCIAL_HOSTS:
        return "social"
    return "external"


def _classify(referer: str, page_host: str, sites: _Sites) -> tuple[str, str]:
    """-> (class, referer in stored form or as given when it does not parse)."""
    if not referer or referer == "-":
        return "empty", ""
    try:
        url = normalize(referer)
    except URLError:
        return "invalid", referer
    i = url.find("://") + 3
    j = url.find("/", i)
    if "@" in url[i:j]:
        return "invalid", url
    host = host_of(url)
    if (
        host == page_host
        or (page_host and registrable_domain(host) == registrable_domain(page_host))
        or sites.matches(host)
    ):
        return "self", url
    return _kind_of_host(host), url


def classify_referer(referer: str, *, page_url: str, site_hosts: Collection[str]) -> str:
    """The class of ``referer`` (one of the first six :data:`REFERER_CLASSES`) as seen from the
    page ``page_url`` (any absolute URL; ``""`` if unknown) of the site ``site_hosts``.

    >>> classify_referer("https://www.google.co.uk/", page_url="https://example.com/a", site_hosts=["example.com"])
    'search'
    >>> classify_referer("https://www.example.com/b", page_url="https://example.com/a", site_hosts=[])
    'self'
    """
    page_host = ""
    if page_url:
        try:
            page_host = host_of(normalize(page_url))
        except URLError:
            pass
    return _classify(referer, page_host, _sites(site_hosts))[0]


# --------------------------------------------------------------------------- log hits


def _is_page_view(hit: LogHit) -> bool:
    if hit.method != "GET" or not (hit.status == 304 or (200 <= hit.status < 300 and hit.status != 206)):
        return False
    path = hit.path
    if not path.startswith("/"):
        return False  # "*", or an absolute URL sent by an open-proxy probe
    path = path.partition("?")[0].partition("#")[0].lower()
    if path in _ASSET_PATHS:
        return False
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return dot < 0 or name[dot + 1 :] not in ASSET_EXTENSIONS


def _page_base(vhost: str, sites: _Sites, default_host: str, default_scheme: str) -> str:
    """``"https://example.com"`` for the page's scheme and host, or ``""`` when the hit is not
    for the site (or the site cannot be told)."""
    if vhost:
        try:
            host, port = _host_key(vhost)
        except URLError:
            return ""
        if not sites.matches(host):
            return ""
    elif default_host:
        host, port = default_host, ""
    elif sites.only:
        host, port = sites.only, ""
    else:
        return ""
    # vhost_combined logs the local port: it tells the scheme better than any default.
    if port == "443":
        return f"https://{host}"
    if port == "80":
        return f"http://{host}"
    return f"{default_scheme}://{host}:{port}" if port else f"{default_scheme}://{host}"


def candidate_refbacks(
    hits: Iterable[LogHit],
    *,
    site_hosts: Collection[str],
    default_scheme: str = "https",
    default_host: str = "",
) -> Iterator[RefbackCandidate]:
    """One :class:`RefbackCandidate` per hit (see the module docstring for the classes).

    The page URL is rebuilt from the hit's ``vhost`` (which must match ``site_hosts``), or for a
    log without one from ``default_host``, or from ``site_hosts`` when it names exactly one
    host; otherwise every hit is ``not_a_site``. ``default_scheme`` is used unless the logged
    port is 80 or 443. Callers queue only ``cls == "external"``.

    Raises URLError for an unusable ``site_hosts`` or ``default_host`` entry, before any hit.
    """
    if default_scheme not in ("http", "https"):
        raise URLError(f"default_scheme must be http or https, not {default_scheme!r}")
    sites = _sites(site_hosts)
    if default_host:
        default_host, _ = _host_key(default_host)
        if not sites.matches(default_host):
            raise URLError(f"default_host {default_host!r} is not one of the site hosts", url=default_host)
    bases: dict[str, str] = {}
    for hit in hits:
        base = bases.get(hit.vhost)
        if base is None:
            base = bases[hit.vhost] = _page_base(hit.vhost, sites, default_host, default_scheme)
        page_url = ""
        if base and hit.path.startswith("/"):
            try:
                page_url = normalize(base + hit.path)
            except URLError:
                pass
        if not _is_page_view(hit):
            cls, referer = "not_a_page", hit.referer
        elif not page_url:
            cls, referer = "not_a_site", hit.referer
        else:
            cls, referer = _classify(hit.referer, host_of(page_url), sites)
        yield RefbackCandidate(
            page_url, referer, cls, hit.time, hit.remote_addr, hit.user_agent, hit.source, hit.line_no
        )


def summarize(candidates: Iterable[RefbackCandidate]) -> dict:
    """Counts by class, and the distinct external ``(referer, page_url)`` pairs.

    Returns ``{"hits": n, "by_class": {cls: n for every class}, "pairs": [...],
    "referer_hosts": {host: hits}}``; each pair is ``{"referer", "page_url", "hits", "first",
    "last", "times"}`` (a repeat visit adds to ``hits`` and widens ``first``/``last``, aware
    datetimes; ``times`` are the ``hits`` visit times, sorted, which let the store count a visit
    once however often its log is read: ``Receipt.hit_times``), most-visited first.
    ``referer_hosts`` counts external hits by referring host.
    """
    by_class = dict.fromkeys(REFERER_CLASSES, 0)
    pairs: dict[tuple[str, str], list] = {}
    hosts: collections.Counter[str] = collections.Counter()
    total = 0
    for c in candidates:
        total += 1
        by_class[c.cls] += 1
        if c.cls != "external":
            continue
        hosts[host_of(c.referer)] += 1
        p = pairs.get((c.referer, c.page_url))
        if p is None:
            pairs[(c.referer, c.page_url)] = [1, c.time, c.time, [c.time]]
        else:
            p[0] += 1
            if c.time < p[1]:
                p[1] = c.time
            if c.time > p[2]:
                p[2] = c.time
            p[3].append(c.time)
    rows = [
        {"referer": ref, "page_url": page, "hits": n, "first": first, "last": last, "times": sorted(times)}
        for (ref, page), (n, first, last, times) in pairs.items()
    ]
    rows.sort(key=lambda r: (-r["hits"], r["referer"], r["page_url"]))
    return {"hits": total, "by_class": by_class, "pairs": rows, "referer_hosts": dict(hosts.most_common())}
