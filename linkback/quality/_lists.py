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
from linkback.urls import normalize, split_host

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
    """A list entry as stored: a URL normalised as links are, a domain or host lower-cased.

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
    host = text.lower().rstrip(".")
    if not host or any(c in host for c in " /?#@:") or "." not in host:
        raise URLError(f"{entry!r} is not a domain, host or URL", url=entry)
    return host


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
    """Set the brand and keyword terms of ``site`` (a domain or host), replacing earlier ones."""
    site = normalize_entry(site)
    if "://" in site:
        raise URLError(f"a profile is for a domain or host, not a URL: {site}", url=site)
    clean = [sorted({t.strip() for t in terms if t.strip()}) for terms in (brands, keywords)]

    def put(store: Store) -> None:
        store.con.execute("DELETE FROM site_profiles WHERE site = ?", [site])
        store.con.execute(
            "INSERT INTO site_profiles VALUES (?, ?, ?)", [site, "\n".join(clean[0]), "\n".join(clean[1])]
        )

    store.write(put)
    return get_profile(store, site)


@report(columns=("site", "brands", "keywords"))
def get_profile(store: Store, site: str) -> dict[str, Any]:
    """``{"site", "brands", "keywords"}`` of ``site``; empty term lists when none is set."""
    site = normalize_entry(site)
    rows = store.con.execute("SELECT brands, keywords FROM site_profiles WHERE site = ?", [site]).fetchall()
    brands, keywords = rows[0] if rows else ("", "")
    return {
        "site": site,
        "brands": [b for b in brands.split("\n") if b],
        "keywords": [k for k in keywords.split("\n") if k],
    }
