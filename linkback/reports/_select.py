"""Selecting links for a report: the TARGET filter and the link filters every report shares.

``links`` is clustered on ``target_rhost`` (reversed target host, ``com.example.www``), so each
target kind becomes a predicate DuckDB can push into the table scan and answer from zone maps:

* domain ``example.com``: ``target_rhost >= 'com.example' AND target_rhost < 'com.example/'``
  (``'/'`` is the character after ``'.'``, so the range holds ``com.example`` and every
  ``com.example.*`` host), then the exact ``target_domain = 'example.com'``, which drops the
  look-alikes the range also holds (``com.example-x``);
* host ``www.example.com``: ``target_rhost = 'com.example.www'``;
* URL prefix: the host's ``target_rhost`` plus ``starts_with(target_url, prefix)``.

Every value reaches DuckDB as a parameter; the SQL text is built only from constants.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import duckdb

from linkback.records import LINK_KINDS, SECTIONS
from linkback.urls import Target, host_of, parse_target, resolve

#: A link is followed (passes authority) when none of these is set: a link on a noindex page is
#: shown to readers but passes no authority, like a nofollow one.
DOFOLLOW = (
    "NOT (coalesce(nofollow, false) OR coalesce(ugc, false) OR coalesce(sponsored, false)"
    " OR coalesce(noindex, false))"
)


_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


def tld_of(domain: str | None) -> str | None:
    """The top-level label of ``domain``; None for an IP address (the same rule as :func:`tld_sql`)."""
    if domain is None or domain.startswith("[") or _IPV4.fullmatch(domain):
        return None
    return domain.rstrip(".").rsplit(".", 1)[-1]


def tld_sql(column: str) -> str:
    """SQL for the top-level label of the domain in ``column``; NULL for an IP address."""
    return (
        f"CASE WHEN {column} LIKE '[%' "
        rf"OR regexp_full_match({column}, '\d{{1,3}}(\.\d{{1,3}}){{3}}') THEN NULL "
        f"ELSE regexp_extract(rtrim({column}, '.'), '[^.]*$') END"
    )


Params = list[Any]


def as_target(target: str | Target) -> Target:
    """A :class:`~linkback.urls.Target` from a TARGET string (or one given as is)."""
    return target if isinstance(target, Target) else parse_target(target)


def target_clauses(target: Target) -> tuple[list[str], Params]:
    """The WHERE clauses (ANDed) that select the links pointing at ``target``."""
    if target.kind == "domain":
        return (
            ["target_rhost >= ?", "target_rhost < ?", "target_domain = ?"],
            [target.rhost, target.rhost + chr(ord(".") + 1), target.domain],
        )
    if target.kind == "host":
        return ["target_rhost = ?"], [target.rhost]
    if target.kind == "url_prefix":
        prefixes = target.prefixes()
        starts = " OR ".join("starts_with(target_url, ?)" for _ in prefixes)
        return ["target_rhost = ?", f"({starts})"], [target.rhost, *prefixes]
    raise ValueError(f"unknown target kind {target.kind!r}")


def _flag(column: str, want: bool | None, clauses: list[str]) -> None:
    if want is True:
        clauses.append(f"coalesce({column}, false)")
    elif want is False:
        clauses.append(f"NOT coalesce({column}, false)")


def _choices(name: str, given: str | Sequence[str] | None, allowed: Sequence[str]) -> list[str]:
    if given is None:
        return []
    values = [given] if isinstance(given, str) else list(given)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"unknown {name} {', '.join(map(repr, bad))}; choose from {', '.join(allowed)}")
    return values


def _source_site(text: str) -> str:
    """``text`` as the referring domains and hosts are stored: lower case, no trailing dot; an
    IPv6 address in brackets in its shortest form (``[::1]``), as the refdomains report shows it."""
    site = text.strip().lower().rstrip(".")
    if site.count(":") > 1 and "/" not in site:
        return _source_ipv6(text, site)
    if not site or any(c.isspace() or c in "/:@?#" for c in site):
        raise ValueError(f"--from {text!r}: give a referring domain or host, like blog.example.org")
    return site


def _source_ipv6(text: str, site: str) -> str:
    bracketed = site if site.startswith("[") else f"[{site}]"
    try:
        address = ipaddress.IPv6Address(bracketed.removeprefix("[").removesuffix("]"))
    except ValueError:
        raise ValueError(
            f"--from {text!r}: not an IPv6 address; give it as refdomains shows it, like [2001:db8::1]"
        ) from None
    # The stored host is the URL parser's serialisation, which is the RFC 5952 form compressed
    # prints, save for an IPv4-mapped tail (::ffff:1.2.3.4), which it writes in hex.
    url, reason = resolve(f"http://[{address.compressed}]/", "")
    return host_of(url) if not reason else f"[{address.compressed}]"


def _source_url(text: str) -> str:
    """``text`` as a source page's URL is stored, which the reports show as it is: the one page."""
    url = text.strip()
    if "://" not in url:
        raise ValueError(f"--from-url {text!r}: give a referring page's whole URL, like https://blog.example.org/post")
    return url


def link_where(
    target: str | Target,
    *,
    internal: bool = False,
    include_lost: bool = False,
    follow: bool | None = None,
    nofollow: bool | None = None,
    ugc: bool | None = None,
    sponsored: bool | None = None,
    noindex: bool | None = None,
    kind: str | Sequence[str] | None = None,
    section: str | Sequence[str] | None = None,
    from_domain: str | None = None,
    from_url: str | None = None,
    anchor: str | None = None,
) -> tuple[str, Params]:
    """The WHERE condition and its parameters for the links a report reads.

    ``follow`` True keeps followed links only (no nofollow, ugc or sponsored, not on a noindex
    page), False the others; ``nofollow``/``ugc``/``sponsored`` True keep links with that flag,
    False those without it; ``noindex`` True keeps the links on noindex pages, False the others;
    None does not filter. ``kind``/``section`` take one value or several (any of them).
    ``from_domain`` matches the source's registrable domain or its exact host, ``from_url`` the
    source page's URL exactly (as the reports show it); ``anchor`` is
    a case-insensitive substring. ``internal`` False (the default) keeps links from other
    sites, True keeps links inside the target's site. Lost links only with ``include_lost``.
    """
    clauses, params = target_clauses(as_target(target))
    clauses.append("coalesce(internal, false) = ?")
    params.append(bool(internal))
    if not include_lost:
        clauses.append("lost_at IS NULL")
    if follow is True:
        clauses.append(DOFOLLOW)
    elif follow is False:
        clauses.append(f"NOT ({DOFOLLOW})")
    _flag("nofollow", nofollow, clauses)
    _flag("ugc", ugc, clauses)
    _flag("sponsored", sponsored, clauses)
    _flag("noindex", noindex, clauses)
    for column, given, allowed in (("kind", kind, LINK_KINDS), ("section", section, SECTIONS)):
        values = _choices(column, given, allowed)
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if from_domain is not None:
        site = _source_site(from_domain)
        clauses.append("(source_domain = ? OR source_host = ?)")
        params.extend([site, site])
    if from_url is not None:
        clauses.append("source_url = ?")
        params.append(_source_url(from_url))
    if anchor:
        clauses.append("contains(lower(anchor), lower(?))")
        params.append(anchor)
    return " AND ".join(clauses), params


def check_limit(limit: int | None) -> tuple[str, Params]:
    """``LIMIT ?`` and its parameter, or nothing for ``limit=None`` (every row)."""
    if limit is None:
        return "", []
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number >= 0 or None, not {limit!r}")
    # SQL's LIMIT is a 64-bit number; more rows than that is every row.
    return " LIMIT ?", [min(limit, 2**63 - 1)]


def check_choice(name: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose from {', '.join(allowed)}")
    return value


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    return value


def fetch_rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: Params, *, utc_columns: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Run ``sql`` and return its rows as dicts; timestamps come back as UTC datetimes.

    ``utc_columns`` names TIMESTAMPTZ columns of the result to fetch as naive UTC timestamps and
    mark UTC here: DuckDB hands zone-aware values over through pytz, which costs more than the
    query itself on a few hundred rows. (The store's session time zone is UTC.)
    """
    if utc_columns:
        casts = ", ".join(f"{c}::TIMESTAMP AS {c}" for c in utc_columns)
        sql = f"SELECT * REPLACE ({casts}) FROM ({sql})"
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if not utc_columns:
        return [{n: _utc(v) for n, v in zip(names, row)} for row in rows]
    marks = [n in utc_columns for n in names]
    return [
        {n: (v.replace(tzinfo=timezone.utc) if m and v is not None else v) for n, v, m in zip(names, row, marks)}
        for row in rows
    ]
