"""The user's allow and deny lists and per-site brand/keyword profiles, kept in the store.

An entry is a registrable domain (matches the domain and every host under it), a host (that host
only) or an absolute URL (that page). Deny entries make a link toxic (score 100, signal ``denied``)
and go into disavow files; allow entries clear a link (score 0, signal ``allowed``) whatever its
signals say. Domain entries of the deny list are also anti-trust seeds for ``linkback rank``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from linkback.errors import URLError
from linkback.faces import action, report
from linkback.store import Store
from linkback.urls import host_of, is_host_name, normalize, resolve, split_host

LISTS = ("allow", "deny")


@dataclass(frozen=True)
class ListEntry:
    list: str
    entry: str
    kind: str  # domain, host or url
    note: str
    added_at: datetime


def entry_kind(entry: str) -> str:
    """``domain``, ``host`` or ``url`` for a list entry (already normalised)."""
    if "://" in entry:
        return "url"
    return "domain" if split_host(entry).domain == entry else "host"


def normalize_entry(entry: str) -> str:
    """A list entry or profile site as stored: a URL normalised as links are, a domain or host
    as a stored URL's host is (lower case, IDN as punycode, no trailing dot), so every spelling
    of one host (``Bücher.de``, ``xn--bcher-kva.de``) is one key. (Stores written before held
    keys as typed; opening one rewrites them: migration 14 in :mod:`linkback.store._db`.)

    Raises :class:`~linkback.errors.URLError` for something that is neither.
    """
    text = entry.strip()
    if text.lower().startswith("domain:"):  # accept disavow-file syntax
        text = text[len("domain:") :].strip()
    if "://" in text:
        url = normalize(text)
        if not url.startswith(("http://", "https://")):
            raise URLError(f"{entry!r} is not an http(s) URL", url=entry)
        return url
    host = _stored_host(text) if text and not any(c in text for c in " /?#@:") else ""
    if not host or "." not in host:
        raise URLError(f"{entry!r} is not a domain, host or URL", url=entry)
    return host


def _stored_host(text: str) -> str:
    """``text`` as the host of a stored URL (the URL parser's IDNA: what report targets get), or
    "" when it is not a host alone."""
    url, reason = resolve(f"http://{text}/", "")
    host = host_of(url) if not reason else ""
    if not host or url != f"http://{host}/":  # a backslash made a path, say
        return ""
    host = host.rstrip(".")
    if host.replace(".", "").isdigit() and host != text.rstrip(".").lower():
        return ""  # the parser reads "3.14" as the IPv4 address 3.0.0.14: only a dotted quad is an IP
    return host if is_host_name(host) else ""  # the parser takes "*.example.org" and "a..b.net"


@action()
def add_to_list(store: Store, which: str, entries: Sequence[str], *, note: str = "") -> list[str]:
    """Add ``entries`` to the ``allow`` or ``deny`` list (moving them off the other one); returns them normalised."""
    _check_list(which)
    normalised = [normalize_entry(e) for e in entries]
    now = datetime.now(timezone.utc)

    def add(store: Store) -> None:
        for entry in normalised:
            store.con.execute("DELETE FROM quality_lists WHERE entry = ?", [entry])
            store.con.execute("INSERT INTO quality_lists VALUES (?, ?, ?, ?)", [which, entry, note, now])

    store.write(add)
    return normalised


@action()
def remove_from_list(store: Store, which: str, entries: Sequence[str]) -> int:
    """Remove ``entries`` from the list; returns how many were on it."""
    _check_list(which)
    normalised = [normalize_entry(e) for e in entries]

    def remove(store: Store) -> int:
        removed = 0
        for entry in normalised:
            rows = store.con.execute(
                "DELETE FROM quality_lists WHERE list = ? AND entry = ? RETURNING entry", [which, entry]
            ).fetchall()
            removed += len(rows)
        return removed

    return store.write(remove)


@report(columns=("list", "entry", "kind", "note", "added_at"))
def list_entries(store: Store, which: str | None = None) -> list[dict[str, Any]]:
    """The entries of one list (or both), oldest first."""
    if which is not None:
        _check_list(which)
    rows = store.con.execute(
        "SELECT list, entry, note, added_at::TIMESTAMP FROM quality_lists WHERE ? IS NULL OR list = ? "
        "ORDER BY added_at, entry",
        [which, which],
    ).fetchall()
    return [
        {
            "list": lst,
            "entry": entry,
            "kind": entry_kind(entry),
            "note": note,
            "added_at": at.replace(tzinfo=timezone.utc),
        }
        for lst, entry, note, at in rows
    ]


def _check_list(which: str) -> None:
    if which not in LISTS:
        raise ValueError(f"list must be one of {', '.join(LISTS)}, got {which!r}")


@action()
def set_profile(store: Store, site: str, *, brands: Sequence[str] = (), keywords: Sequence[str] = ()) -> dict[str, Any]:
    """Set the brand and keyword terms of ``site`` (a domain or host), replacing earlier ones.

    Brands are at most 50 terms, keywords 1,000, each of at most 200 characters, none with a line break of any
    kind (ValueError naming the term: :func:`linkback.brands._terms.check_terms`, the rule of the
    CLI, the API and the dashboard alike). The pages found naming a brand term no longer in the
    profile stop being its mentions; a term added is looked for by the next ingest, or in the
    archives already ingested by ``rescan``.
    """
    # Imported here: linkback.brands loads the scanner's libraries, which the other commands of
    # linkback.quality do not need.
    from linkback.brands._store import drop_stale_mentions  # noqa: PLC0415
    from linkback.brands._terms import MAX_KEYWORDS, check_terms, join_terms  # noqa: PLC0415

    site = _profile_site(site)
    brand_terms, keyword_terms = check_terms("brands", brands), check_terms("keywords", keywords, MAX_KEYWORDS)

    def put(store: Store) -> None:
        store.con.execute("DELETE FROM site_profiles WHERE site = ?", [site])
        store.con.execute(
            "INSERT INTO site_profiles VALUES (?, ?, ?)", [site, join_terms(brand_terms), join_terms(keyword_terms)]
        )
        drop_stale_mentions(store.con)

    store.write(put)
    return get_profile(store, site)


@report(columns=("site", "brands", "keywords"))
def get_profile(store: Store, site: str) -> dict[str, Any]:
    """``{"site", "brands", "keywords"}`` of ``site``; empty term lists when none is set."""
    return read_profile(store.con, site)


def read_profile(con: Any, site: str) -> dict[str, Any]:
    """:func:`get_profile` over a connection."""
    from linkback.brands._terms import split_terms  # noqa: PLC0415

    site = normalize_entry(site)  # a URL has none: empty lists, as for a site without one
    rows = con.execute("SELECT brands, keywords FROM site_profiles WHERE site = ?", [site]).fetchall()
    brands, keywords = rows[0] if rows else ("", "")
    return {"site": site, "brands": split_terms(brands), "keywords": split_terms(keywords)}


def _profile_site(site: str) -> str:
    site = normalize_entry(site)
    if "://" in site:
        raise URLError(f"a profile is for a domain or host, not a URL: {site}", url=site)
    return site
