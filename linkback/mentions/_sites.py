"""The sites whose pages accept linkbacks, and the per-site allow and block lists.

A site is a host or a registrable domain (IP addresses included). A domain entry
(``example.com``) covers its subdomains; a host entry (``blog.example.com``, ``127.0.0.1``,
``localhost`` or another name the Public Suffix List does not know) covers that host only, as a
report's TARGET does (:func:`linkback.urls.parse_target`). Any port of the host matches: the
port is not part of a site. A public suffix (``com``, ``github.io``) is no site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from linkback.errors import ProtocolError, URLError
from linkback.urls import host_of, is_public_suffix, normalize, registrable_domain_or_none

POLICIES = ("auto", "moderate", "allowlist")
RULES = ("allow", "block", "word")


@dataclass(frozen=True, slots=True)
class Site:
    site: str
    policy: str = "auto"
    webhook_url: str = ""
    webhook_secret: str = ""


def normalize_site(text: str) -> str:
    """``"Example.COM:8080"`` -> ``"example.com"``; ``"::1"`` -> ``"[::1]"``; raises URLError."""
    raw = text.strip()
    if "://" in raw:
        raw = raw.split("://", 1)[1]
    raw = raw.split("/", 1)[0]
    if raw.count(":") > 1 and not raw.startswith("["):
        raw = f"[{raw}]"  # a bare IPv6 address
    try:
        host = host_of(normalize(f"http://{raw}/"))
    except (URLError, ValueError) as exc:
        raise URLError(f"not a host or domain: {text!r}", url=text) from exc
    if not host or " " in host:
        raise URLError(f"not a host or domain: {text!r}", url=text)
    host = host.rstrip(".")
    # URLs may carry any length of host; a name DNS can resolve has labels of 63 bytes at most.
    if not host.startswith("[") and (len(host) > 253 or any(len(label) > 63 for label in host.split("."))):
        raise URLError(f"not a host or domain: {text[:80]!r} is longer than DNS allows", url=text)
    return host


def _is_domain_entry(site: str) -> bool:
    # By the Public Suffix List only: "localhost" is a host, not a domain of "x.localhost".
    return not site.startswith("[") and not site[-1:].isdigit() and registrable_domain_or_none(site) == site


def covers(site: str, host: str) -> bool:
    """Does the sites entry ``site`` cover ``host`` (already in stored form)?"""
    host = host.rstrip(".")
    if host == site:
        return True
    return _is_domain_entry(site) and host.endswith("." + site)


def site_of(host: str, sites: Iterable[str]) -> str | None:
    """The most specific sites entry covering ``host``, or None (the target is not supported)."""
    best = None
    for site in sites:
        if covers(site, host) and (best is None or len(site) > len(best)):
            best = site
    return best


# --- storage -----------------------------------------------------------------------------------


def add_site(
    con: duckdb.DuckDBPyConnection,
    text: str,
    *,
    policy: str = "auto",
    webhook_url: str = "",
    webhook_secret: str = "",
) -> Site:
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    if webhook_url:
        url = normalize(webhook_url)
        if not url.startswith(("http://", "https://")):
            raise URLError(f"webhook URL must be http(s): {webhook_url!r}", url=webhook_url)
        webhook_url = url
    site = normalize_site(text)
    if is_public_suffix(site):
        raise URLError(f"{text!r} is a public suffix, not a site: give a domain under it, like example.{site}",
                       url=text)  # fmt: skip
    con.execute("DELETE FROM sites WHERE site = ?", [site])
    con.execute(
        "INSERT INTO sites (site, policy, webhook_url, webhook_secret, added_at) VALUES (?, ?, ?, ?, ?)",
        [site, policy, webhook_url, webhook_secret, datetime.now(UTC)],
    )
    return Site(site, policy, webhook_url, webhook_secret)


def remove_site(con: duckdb.DuckDBPyConnection, text: str) -> bool:
    site = normalize_site(text)
    found = con.execute("SELECT count(*) FROM sites WHERE site = ?", [site]).fetchall()[0][0]
    con.execute("DELETE FROM sites WHERE site = ?", [site])
    return bool(found)


def list_sites(con: duckdb.DuckDBPyConnection) -> list[Site]:
    rows = con.execute(
        "SELECT site, policy, coalesce(webhook_url, ''), coalesce(webhook_secret, '') FROM sites ORDER BY site"
    ).fetchall()
    return [Site(*row) for row in rows]


def normalize_rule_entry(text: str) -> str:
    """A URL (kept exact, fragment dropped) or a domain/host (``domain:`` prefix allowed)."""
    raw = text.strip()
    if raw.lower().startswith("domain:"):
        raw = raw[7:]
    if "://" in raw:
        url = normalize(raw)
        if not url.startswith(("http://", "https://")):
            raise URLError(f"not an http(s) URL: {text!r}", url=text)
        return url
    return normalize_site(raw)


def add_rule(con: duckdb.DuckDBPyConnection, rule: str, entry: str, *, site: str = "*", note: str = "") -> str:
    """Add an ``allow`` or ``block`` rule for a source (a domain or a URL), or a spam ``word``."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, not {rule!r}")
    value = normalize_word(entry) if rule == "word" else normalize_rule_entry(entry)
    site = "*" if site == "*" else normalize_site(site)
    con.execute("DELETE FROM mention_rules WHERE site = ? AND entry = ?", [site, value])
    con.execute(
        "INSERT INTO mention_rules (site, rule, entry, note, added_at) VALUES (?, ?, ?, ?, ?)",
        [site, rule, value, note, datetime.now(UTC)],
    )
    return value


def normalize_word(text: str) -> str:
    """A spam word or phrase: case-folded, whitespace collapsed."""
    word = " ".join(text.split()).casefold()
    if not word or len(word) > 100:
        raise ValueError(f"a spam word is 1 to 100 characters, not {text!r}")
    return word


def spam_words(rules: Iterable[tuple[str, str, str]], site: str) -> list[str]:
    """The site's own spam words (``word`` rules for it or for every site)."""
    return [entry for rule_site, rule, entry in rules if rule == "word" and rule_site in ("*", site)]


def remove_rule(con: duckdb.DuckDBPyConnection, entry: str, *, site: str = "*") -> bool:
    try:
        value = normalize_rule_entry(entry)
    except URLError:
        value = normalize_word(entry)
    site = "*" if site == "*" else normalize_site(site)
    found = con.execute("SELECT count(*) FROM mention_rules WHERE site = ? AND entry = ?", [site, value]).fetchall()[0][
        0
    ]
    con.execute("DELETE FROM mention_rules WHERE site = ? AND entry = ?", [site, value])
    return bool(found)


def list_rules(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute("SELECT site, rule, entry, note, added_at FROM mention_rules ORDER BY site, rule, entry")
    names = [d[0] for d in rows.description]
    return [dict(zip(names, row)) for row in rows.fetchall()]


def rule_for(rules: Iterable[tuple[str, str, str]], site: str, source_url: str) -> str | None:
    """``block``, ``allow`` or None for a source URL, from (site, rule, entry) rows.

    A block wins over an allow; an exact URL entry and a domain entry covering the source's host
    both match; ``*`` rows apply to every site.
    """
    host = host_of(source_url)
    found = None
    for rule_site, rule, entry in rules:
        if rule_site not in ("*", site) or rule == "word":
            continue
        hit = entry == source_url if "://" in entry else (host == entry or host.endswith("." + entry))
        if hit:
            if rule == "block":
                return "block"
            found = "allow"
    return found


_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def page_key(url: str) -> str:
    """``url`` as the page it names, for telling two URLs of one page (RFC 3986 §6.2.2): no
    fragment, no empty query (``/post?``), unreserved characters written out (``%70ost`` is
    ``post``) and the other escapes in upper case. ``url`` is already normalized (:func:`normalize`)."""
    url = url.split("#", 1)[0]
    if url.endswith("?"):
        url = url[:-1]

    def unescape(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char.isascii() and (char.isalnum() or char in "-._~") else "%" + m.group(1).upper()

    return _ESCAPE.sub(unescape, url) if "%" in url else url


def check_pair(
    source: str, target: str, sites: Iterable[str], rules: Iterable[tuple[str, str, str]]
) -> tuple[str, str, str]:
    """Validate a notification synchronously (WM §3.2.1); (source, target, site) normalised.

    Both must be http(s) URLs, different pages; the target's fragment is ignored; its host must
    be covered by a site; the source must not be blocked. Raises
    :class:`~linkback.errors.ProtocolError` with webmention.io's error names as ``code``.
    """
    source, target = (source or "").strip(), (target or "").strip()
    if not source or not target:
        raise ProtocolError("source and target are both required", code="invalid_request")
    try:
        source_n = normalize(source)
    except (URLError, ValueError):
        raise ProtocolError(f"source is not a URL: {source[:200]!r}", code="invalid_source") from None
    try:
        target_n = normalize(target)
    except (URLError, ValueError):
        raise ProtocolError(f"target is not a URL: {target[:200]!r}", code="invalid_target") from None
    if not source_n.startswith(("http://", "https://")):
        raise ProtocolError("source must be an http or https URL", code="invalid_source")
    if not target_n.startswith(("http://", "https://")):
        raise ProtocolError("target must be an http or https URL", code="invalid_target")
    target_n = target_n.split("#", 1)[0]
    if page_key(source_n) == page_key(target_n):
        raise ProtocolError("source and target are the same page", code="invalid_request")
    site = site_of(host_of(target_n), sites)
    if site is None:
        raise ProtocolError(f"{host_of(target_n)} does not accept linkbacks here", code="target_not_supported")
    if rule_for(rules, site, source_n) == "block":
        raise ProtocolError("the source is blocked", code="blocked")
    return source_n, target_n, site


def stored_rules(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in con.execute("SELECT site, rule, entry FROM mention_rules").fetchall()]
