"""Read-only share links: a secret URL that shows one site's reports, until it is revoked.

A link is kept in ``meta`` as ``share:<sha256 hex of the secret>`` → ``{"site", "created_at"}``
(JSON): only the hash is stored, so the database never holds a working link, and the secret is
shown once, when the link is made. Changes go through :meth:`~linkback.store.Store.write`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from linkback.errors import TargetError
from linkback.faces import iso
from linkback.urls import parse_target

if TYPE_CHECKING:
    from linkback.store import Store

PREFIX = "share:"
#: What a secret looks like (``secrets.token_urlsafe(32)`` gives 43 of these characters).
SECRET_FORM = re.compile(r"[A-Za-z0-9_-]{20,100}\Z")
HASH_FORM = re.compile(r"[0-9a-f]{64}\Z")


def share_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def share_site_name(text: str) -> str:
    """The site a link shows: a domain or a host, as a report's TARGET reads it (a URL prefix
    is no site). Raises :class:`~linkback.errors.TargetError` naming what was given."""
    target = parse_target(text)
    if target.kind == "url_prefix":
        raise TargetError(f"share links are for a domain or a host, not the URL prefix {text.strip()!r}")
    return target.value.rstrip(".")


def create_share(store: Store, site: str) -> tuple[str, dict[str, Any]]:
    """A new link for ``site``: its secret (shown once, never stored) and its record."""
    record = {"site": share_site_name(site), "created_at": iso(datetime.now(UTC))}
    secret = secrets.token_urlsafe(32)
    key = PREFIX + share_hash(secret)
    store.write(lambda s: s.con.execute("INSERT INTO meta VALUES (?, ?)", [key, json.dumps(record)]))
    return secret, {"hash": key[len(PREFIX) :], **record}


def list_shares(store: Store) -> list[dict[str, Any]]:
    """Every link's hash, site and creation time, newest first."""
    rows = store.con.execute("SELECT key, value FROM meta WHERE starts_with(key, ?)", [PREFIX]).fetchall()
    shares = [{"hash": key[len(PREFIX) :], **_record(value)} for key, value in rows]
    return sorted(shares, key=lambda s: s["created_at"], reverse=True)


def share_site(store: Store, secret: str) -> tuple[str, str] | None:
    """The hash and site of the link ``secret`` opens, or None when no link has it."""
    if not SECRET_FORM.match(secret):
        return None
    digest = share_hash(secret)
    rows = store.con.execute("SELECT value FROM meta WHERE key = ?", [PREFIX + digest]).fetchall()
    if not rows:
        return None
    site = _record(rows[0][0])["site"]
    return (digest, site) if site else None


def revoke_share(store: Store, digest: str) -> bool:
    """Forget the link whose hash is ``digest``; False when there was none."""
    if not HASH_FORM.match(digest):
        return False
    key = PREFIX + digest

    def revoke(s: Store) -> bool:
        found = s.con.execute("SELECT count(*) FROM meta WHERE key = ?", [key]).fetchall()[0][0]
        s.con.execute("DELETE FROM meta WHERE key = ?", [key])
        return bool(found)

    return store.write(revoke)


def _record(value: str) -> dict[str, str]:
    # A value written by hand may be just the site; anything unreadable opens nothing.
    try:
        data = json.loads(value) if value.startswith("{") else {"site": value}
    except ValueError:
        data = {}
    site = data.get("site") if isinstance(data, dict) else None
    created = data.get("created_at") if isinstance(data, dict) else None
    return {"site": site if isinstance(site, str) else "", "created_at": created if isinstance(created, str) else ""}
