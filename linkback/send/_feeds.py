"""Sending for every new or changed entry of a feed (RSS/Atom) or a sitemap.

The feed is fetched conditionally (``If-None-Match`` / ``If-Modified-Since`` from the last run);
an entry is sent for when it is new, its date moved, or its content in the feed changed since the
last send. An entry without a date (a sitemap ``<url>`` without ``<lastmod>``, a feed item
without one) is checked on the post itself: it is fetched conditionally with the post page's
ETag / Last-Modified from the last send, and counts as changed unless it answers 304 or its
body hashes as at the last send. A sitemap index is followed one level down to its sitemaps.

A run in which some send failed in a way worth retrying (an endpoint or target still 5xx, a
timeout, a connection error: see :func:`~linkback.send._sender.transient_failure`) keeps neither
the failed entry's state nor the feed's validators, so the next run fetches the feed in full and
tries that entry again; entries that went through are not sent twice, their state is kept.
So does a run whose time budget was spent before it sent for every entry: the entries left (and
the child sitemaps, or the feed itself) are listed in :attr:`FeedResult.not_fetched`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from linkback.errors import FetchError, LinkbackError, SourceError
from linkback.fetch import FetchResult
from linkback.send._history import save_source_state, source_state
from linkback.send._sender import OutOfTime, PostResult, Sender
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
    #: Entries (child sitemaps included) whose send failed in a way the next run retries.
    retry: int = 0
    #: URLs left because the run's time budget was spent: entries' posts, child sitemaps, or
    #: this feed's own URL when it was not fetched at all.
    not_fetched: list[str] = field(default_factory=list)


def send_feed(sender: Sender, url: str, *, kind: str = "feed", _depth: int = 0) -> FeedResult:
    """Send for each new or changed entry of the feed or sitemap at ``url``."""
    try:
        url = normalize(url)
    except (LinkbackError, ValueError) as exc:
        return FeedResult(url, error=f"not a URL: {exc}")
    if sender.out_of_time():
        return FeedResult(url, not_fetched=[url])
    state = sender.read(lambda con: source_state(con, url)) or {}
    headers = {}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    try:
        fetched = sender.fetch(
            url,
            headers=headers,
            accept="application/atom+xml,application/rss+xml,application/xml,text/xml;q=0.9,*/*;q=0.1",
        )
    except OutOfTime:
        return FeedResult(url, not_fetched=[url])
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
        result.not_fetched += sub.not_fetched
        # A child that could not be read, or had a failure to retry, must be read again next
        # time: the index's validators are not kept (else a 304 would hide the child).
        result.retry += sub.retry + (1 if sub.error else 0)
    for i, entry in enumerate(feed.entries):
        if sender.out_of_time():
            # Not one more look, at the store or the web: a sitemap may have 50,000 entries.
            result.not_fetched += [e.url for e in feed.entries[i:]]
            break
        changed, page = _changed(sender, entry)
        if not changed:
            result.unchanged += 1
            continue
        post = sender.send_post(entry.url, fetched=page)
        if post.status == "skipped":
            result.not_fetched.append(entry.url)
            continue
        result.posts.append(post)
        if post.retry:
            result.retry += 1  # no state saved: the next run sends for it again
        elif post.status != "failed" and not sender.options.dry_run:
            # A definitive failure (the post answered 404...) is not saved either; it is tried
            # again when the feed changes, but does not keep the feed from being cached.
            sender.write(_saving_entry(entry, post))
    if not sender.options.dry_run:
        now = datetime.now(UTC)
        keep = not result.retry and not result.not_fetched  # validators only from a run that left nothing
        sender.write(
            lambda con: save_source_state(
                con,
                {
                    "url": url,
                    "kind": kind if feed.kind not in ("sitemap", "sitemapindex") else "sitemap",
                    "etag": (fetched.header("etag") or "") if keep else "",
                    "last_modified": (fetched.header("last-modified") or "") if keep else "",
                    "content_hash": hashlib.sha256(fetched.body).hexdigest(),
                    "checked_at": now,
                    "sent_at": now if result.posts else state.get("sent_at"),
                },
            )
        )
    return result


def _changed(sender: Sender, entry: FeedEntry) -> tuple[bool, FetchResult | None]:
    """Whether to send for ``entry``, and the post page when it was fetched to find out."""
    seen = sender.read(lambda con: source_state(con, entry.url))
    if seen is None:
        return True, None
    if entry.updated is not None:
        if seen.get("updated") != entry.updated:
            return True, None
    elif seen.get("updated") is not None:
        return True, None  # the entry lost its date: something changed
    if entry.content_hash and seen.get("content_hash") != entry.content_hash:
        return True, None
    if entry.updated is not None:
        return False, None
    if sender.out_of_time():
        return True, None  # not asked: send_post finds the budget spent too, and says so
    # No date: ask the post itself, conditionally, with the validators of the last send.
    headers = {}
    if seen.get("etag"):
        headers["If-None-Match"] = seen["etag"]
    if seen.get("last_modified"):
        headers["If-Modified-Since"] = seen["last_modified"]
    try:
        page = sender.fetch(entry.url, headers=headers)
    except FetchError:
        return True, None  # send_post fetches it again and records why it failed
    if page.status == 304:
        return False, None
    if page.status == 200:
        etag, last_modified = page.header("etag") or "", page.header("last-modified") or ""
        if etag and not etag.startswith("W/") and etag == seen.get("etag"):
            return False, None  # a server that ignores If-None-Match but names the same version
        if seen.get("page_hash") == hashlib.sha256(page.body).hexdigest():
            # The same bytes under new validators (a static site rebuilt): not a change, and the
            # new validators are kept so that the next check can be answered 304.
            if not sender.options.dry_run and (etag, last_modified) != (seen.get("etag"), seen.get("last_modified")):
                state = seen | {"etag": etag, "last_modified": last_modified, "checked_at": datetime.now(UTC)}
                sender.write(lambda con: save_source_state(con, state))
            return False, None
    return True, page  # changed, or an error send_post records (without fetching it again)


def _saving_entry(entry: FeedEntry, post: PostResult) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """The write that keeps a sent entry's state (its own entry and post: the write may run later)."""
    return lambda con: save_source_state(con, _entry_state(entry, post))


def _entry_state(entry: FeedEntry, post: PostResult) -> dict:
    now = datetime.now(UTC)
    return {
        "url": entry.url,
        "kind": "post",
        "etag": post.etag,
        "last_modified": post.last_modified,
        "updated": entry.updated,
        "content_hash": entry.content_hash,
        "page_hash": post.content_hash,
        "checked_at": now,
        "sent_at": now,
    }
