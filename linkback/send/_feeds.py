"""Sending for every new or changed entry of a feed (RSS/Atom) or a sitemap.

The feed is fetched conditionally (``If-None-Match`` / ``If-Modified-Since`` from the last run);
an entry is sent for when it is new, its date moved, or its content hash changed since the
last send. A sitemap index is followed one level down to its sitemaps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from linkback.errors import FetchError, LinkbackError, SourceError
from linkback.send._history import save_source_state, source_state
from linkback.send._sender import PostResult, Sender
from linkback.sources.feeds import FeedEntry, parse_feed
from linkback.urls import normalize

MAX_CHILD_SITEMAPS = 50


@dataclass
class FeedResult:
    url: str
    kind: str = ""
    entries: int = 0
    unchanged: int = 0
    not_modified: bool = False
    error: str = ""
    posts: list[PostResult] = field(default_factory=list)


def send_feed(sender: Sender, url: str, *, kind: str = "feed", _depth: int = 0) -> FeedResult:
    """Send for each new or changed entry of the feed or sitemap at ``url``."""
    try:
        url = normalize(url)
    except (LinkbackError, ValueError) as exc:
        return FeedResult(url, error=f"not a URL: {exc}")
    state = sender.read(lambda con: source_state(con, url)) or {}
    headers = {}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    try:
        fetched = sender.fetcher.fetch(
            url,
            headers=headers,
            accept="application/atom+xml,application/rss+xml,application/xml,text/xml;q=0.9,*/*;q=0.1",
        )
    except FetchError as exc:
        return FeedResult(url, error=f"cannot fetch: {exc}")
    if fetched.status == 304:
        return FeedResult(url, not_modified=True)
    if fetched.status != 200:
        return FeedResult(url, error=f"HTTP {fetched.status}")
    try:
        feed = parse_feed(fetched.body, fetched.final_url or url)
    except SourceError as exc:
        return FeedResult(url, error=str(exc))
    result = FeedResult(url, kind=feed.kind, entries=len(feed.entries))
    for child in feed.sitemaps[:MAX_CHILD_SITEMAPS] if _depth == 0 else ():
        sub = send_feed(sender, child, kind="sitemap", _depth=1)
        result.entries += sub.entries
        result.unchanged += sub.unchanged
        result.posts += sub.posts
    for entry in feed.entries:
        if not _changed(sender, entry):
            result.unchanged += 1
            continue
        post = sender.send_post(entry.url)
        result.posts.append(post)
        if post.status != "failed" and not sender.options.dry_run:
            sender.write(lambda con, e=entry: save_source_state(con, _entry_state(e)))
    if not sender.options.dry_run:
        now = datetime.now(UTC)
        sender.write(
            lambda con: save_source_state(
                con,
                {
                    "url": url,
                    "kind": kind if feed.kind not in ("sitemap", "sitemapindex") else "sitemap",
                    "etag": fetched.header("etag") or "",
                    "last_modified": fetched.header("last-modified") or "",
                    "content_hash": hashlib.sha256(fetched.body).hexdigest(),
                    "checked_at": now,
                    "sent_at": now if result.posts else state.get("sent_at"),
                },
            )
        )
    return result


def _changed(sender: Sender, entry: FeedEntry) -> bool:
    seen = sender.read(lambda con: source_state(con, entry.url))
    if seen is None:
        return True
    if entry.updated is not None and seen.get("updated") != entry.updated:
        return True
    return bool(entry.content_hash) and seen.get("content_hash") != entry.content_hash


def _entry_state(entry: FeedEntry) -> dict:
    now = datetime.now(UTC)
    return {
        "url": entry.url,
        "kind": "post",
        "updated": entry.updated,
        "content_hash": entry.content_hash,
        "checked_at": now,
        "sent_at": now,
    }
