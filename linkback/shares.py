"""Read-only share links: a secret URL that shows one site's reports, until it is revoked.

One function, three faces (:mod:`linkback.faces`): :func:`create_share` and :func:`revoke_share`
(actions) and :func:`list_shares` (the ``shares`` report) are what ``linkback share add|revoke|list``,
``/api/v1`` and the dashboard's ``/shares`` page call.

A link is kept in ``meta`` as ``share:<sha256 hex of the secret>`` → ``{"site", "created_at"}``
(JSON). Only the hash is stored, so the database never holds a working link: the secret is
returned once, by :func:`create_share`, in the link's ``path``. The hash is the link's ``id``
(it opens nothing, so lists show it); a secret of 256 random bits needs no slow hash. Changes go
through :meth:`~linkback.store.Store.write`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from linkback.errors import LinkbackError, TargetError
from linkback.faces import action, iso, report
from linkback.urls import parse_target

if TYPE_CHECKING:
    from linkback.store import Store

PREFIX = "share:"
#: Where a link opens on the server: this path, then the secret.
PATH = "/share/"
SHARE_COLUMNS = ("id", "site", "created_at")
#: What a secret looks like (``secrets.token_urlsafe(32)`` gives 43 of these characters).
SECRET_FORM = re.compile(r"[A-Za-z0-9_-]{20,100}\Z")
#: The shortest start of an id that names a link (as git takes abbreviated hashes).
MIN_ID_PREFIX = 8
_ID_FORM = re.compile(rf"[0-9a-f]{{{MIN_ID_PREFIX},64}}\Z")


class NoSuchShare(LinkbackError):
    """No share link has the id given (it was revoked, or never made)."""

    http_status = 404


def share_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def share_site_name(text: str) -> str:
    """The site a link shows: a domain or a host, as a report's TARGET reads it (a URL prefix
    is no site). Raises :class:`~linkback.errors.TargetError` naming what was given."""
    target = parse_target(text)
    if target.kind == "url_prefix":
        raise TargetError(f"share links are for a domain or a host, not the URL prefix {text.strip()!r}")
    return target.value.rstrip(".")


@action()
def create_share(store: Store, site: str) -> dict[str, Any]:
    """Make a read-only link to the reports of ``site`` (a domain covers its hosts). The answer
    has its ``id``, ``site``, ``created_at`` and ``path``: /share/ and the secret, shown this
    once (only its hash is kept), to append to the server's address."""
    name = share_site_name(site)
    created = datetime.now(UTC).replace(microsecond=0)
    secret = secrets.token_urlsafe(32)
    digest = share_hash(secret)
    value = json.dumps({"site": name, "created_at": iso(created)})
    store.write(lambda s: s.con.execute("INSERT INTO meta VALUES (?, ?)", [PREFIX + digest, value]))
    return {"id": digest, "site": name, "created_at": created, "path": PATH + secret}


@report("shares", columns=SHARE_COLUMNS)
def list_shares(store: Store) -> list[dict[str, Any]]:
    """The share links, newest first: id, site and creation time (never the secret URL, which
    is not kept)."""
    rows = store.con.execute("SELECT key, value FROM meta WHERE starts_with(key, ?)", [PREFIX]).fetchall()
    shares = [_row(key, value) for key, value in rows]
    return sorted(shares, key=lambda s: (s["created_at"] or _NEVER, s["id"]), reverse=True)


@action()
def revoke_share(store: Store, share: str) -> dict[str, Any]:
    """End the share link whose id is ``share`` (or starts with it: 8 characters or more): its
    URL opens nothing from now on, in sessions a server has open too. The answer is the link's
    row as the list had it; no such link is an error (404 through the API)."""
    wanted = share.strip().lower()
    if not _ID_FORM.match(wanted):
        raise ValueError(f"share: a link's id is {MIN_ID_PREFIX} to 64 hex characters, as the list of links shows it")

    def revoke(s: Store) -> dict[str, Any]:
        found = s.con.execute("SELECT key, value FROM meta WHERE starts_with(key, ?)", [PREFIX + wanted]).fetchall()
        if not found:
            raise NoSuchShare(f"no share link has the id {wanted} (revoked already?)")
        if len(found) > 1:
            raise ValueError(f"share: {len(found)} links have ids starting {wanted}: give more of the id")
        key, value = found[0]
        s.con.execute("DELETE FROM meta WHERE key = ?", [key])
        return _row(key, value)

    return store.write(revoke)


def share_site(store: Store, secret: str) -> tuple[str, str] | None:
    """The id and site of the link ``secret`` opens, or None when no link has it."""
    if not SECRET_FORM.match(secret):
        return None
    digest = share_hash(secret)
    rows = store.con.execute("SELECT value FROM meta WHERE key = ?", [PREFIX + digest]).fetchall()
    if not rows:
        return None
    site = _record(rows[0][0])["site"]
    return (digest, site) if site else None


def share_exists(store: Store, share_id: str) -> bool:
    """Is the link with the whole id ``share_id`` still there (not revoked)?"""
    rows = store.con.execute("SELECT 1 FROM meta WHERE key = ?", [PREFIX + share_id]).fetchall()
    return bool(rows)


_NEVER = datetime.min.replace(tzinfo=UTC)


def _row(key: str, value: str) -> dict[str, Any]:
    record = _record(value)
    try:
        created: datetime | None = datetime.fromisoformat(record["created_at"])
    except ValueError:
        created = None
    return {"id": key[len(PREFIX) :], "site": record["site"], "created_at": created}


def _record(value: str) -> dict[str, str]:
    # A value written by hand may be just the site; anything unreadable opens nothing.
    try:
        data = json.loads(value) if value.startswith("{") else {"site": value}
    except ValueError:
        data = {}
    site = data.get("site") if isinstance(data, dict) else None
    created = data.get("created_at") if isinstance(data, dict) else None
    return {"site": site if isinstance(site, str) else "", "created_at": created if isinstance(created, str) else ""}
