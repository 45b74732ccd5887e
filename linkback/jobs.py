"""Long work as jobs: ingest, rank, send, refbacks (one function, three faces; see :mod:`linkback.faces`).

Each job is a function of the store and its parameters that reports progress through a callable
and returns plain data. The CLI calls it directly on the database file, or — when a server owns
the file — the same call is queued in the server's job runner and followed, with the same
progress and the same result. Parameters never name a file for the server to go looking for on
its own: the caller resolves globs and directories, and reads seed files, on its side.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from typing_extensions import NotRequired, TypedDict  # pydantic reads it as the API's body on Python < 3.12

from linkback.errors import LinkbackError
from linkback.faces import ProgressFn, job, report

if TYPE_CHECKING:
    from linkback.crawl import ScopeKind
    from linkback.store import Store

SEND_COLUMNS = (
    "source", "target", "protocol", "endpoint", "status", "reason", "http_status", "location", "linked", "attempts",
    "sent_at",
)  # fmt: skip

#: Written out, not made from linkback.fetch's DEFAULT_PORTS: importing that loads httpx, 0.17 s
#: of every command (tests/test_send_cli.py checks the two agree).
PRIVATE_HINT = (
    "addresses on loopback or private networks (and ports other than 80, 443, 8080 and 8443) are refused; "
    "if this is your intranet, allow its hosts with --allow-private-host HOST (or LINKBACK_ALLOW_PRIVATE_HOSTS), "
    "or every private address with --allow-private (or LINKBACK_ALLOW_PRIVATE=1)"
)


#: The seconds a send run may take unless told otherwise. Written out, as PRIVATE_HINT is (the
#: sender's module loads httpx): tests/test_send_budget.py checks it is the sender's DEFAULT_BUDGET.
SEND_BUDGET = 600.0
#: How many of the URLs a send run left unfetched its result lists (all are counted).
NOT_FETCHED_LISTED = 1000


def _report(progress: ProgressFn | None, **counters: Any) -> None:
    if progress is not None:
        progress(counters)


def readable_archives(paths: Sequence[str], *, for_client: bool = False) -> tuple[list[str], list[dict[str, str]]]:
    """The paths this process may ingest, and those it refuses with why: each must be an absolute
    path to a regular file it can read (a server reads nothing else on a client's behalf).
    ``for_client``: a server checks here that each is a WARC or ARC file, and refuses one that is
    not without quoting a byte of it."""
    from linkback.errors import SourceError  # noqa: PLC0415
    from linkback.sources.warc import sniff_archive  # noqa: PLC0415

    ok, refused = [], []
    for text in paths:
        path = Path(text)
        if not path.is_absolute():
            reason = "not an absolute path (the client resolves paths)"
        elif not path.exists():
            reason = "no such file"
        elif not path.is_file():
            reason = "not a regular file"
        elif not os.access(path, os.R_OK):
            reason = "not readable by this process"
        else:
            reason = ""
            if for_client:
                try:
                    sniff_archive(path)
                except SourceError:
                    reason = "not a WARC or ARC file this process can read"
            if not reason:
                ok.append(str(path))
                continue
        refused.append({"path": text, "reason": reason})
    return ok, refused


@job("ingest")
def ingest_files(
    store: Store, *, paths: Sequence[str], workers: int = 0, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Ingest these archive files (absolute paths); the summary, and the paths refused."""
    from linkback.ingest import default_workers, ingest  # noqa: PLC0415 - heavy

    ok, refused = readable_archives(paths, for_client=store.for_client)
    # More processes than cores only cost memory; a client may not ask a server for hundreds.
    workers = min(workers, default_workers()) if workers > 0 else default_workers()
    summary = ingest(
        ok,
        store=store,
        workers=workers,
        on_progress=None if progress is None else (lambda p: progress(asdict(p))),
    )
    (index_links,) = store.con.execute("SELECT count(*) FROM links WHERE lost_at IS NULL").fetchall()[0]
    return {**summary.as_dict(), "refused": refused, "index_links": int(index_links)}


@job("crawl")
def crawl(
    store: Store,
    *,
    seeds: Sequence[str] = (),
    out: str,
    scope: str = "site",
    depth: int = 3,
    max_pages: int = 1000,
    delay: float = 1.0,
    contact: str = "",
    agent: str = "",
    allow_private: bool = False,
    allow_private_hosts: Sequence[str] = (),
    resume: bool = False,
    render: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Crawl politely from the seeds into WARC files under ``out`` (an absolute path), indexing
    the pages as they come (``linkback crawl``); the crawl's summary. The crawling runs in a
    process of its own; the frontier is kept in the store, so the same ``out`` resumes a crawl
    that was stopped. ``allow_private_hosts``: the private hosts, addresses and networks the
    crawl may reach (``--allow-private-host``). A server crawls through its own guard: it
    refuses ``allow_private``, or an entry, that it was not started with."""
    from linkback.crawl._job import crawl_job  # noqa: PLC0415 - heavy
    from linkback.crawl._run import CrawlOptions, user_agent  # noqa: PLC0415
    from linkback.fetch import refuse_widening  # noqa: PLC0415

    fetcher = getattr(store, "fetcher", None)
    if fetcher is not None:
        refuse_widening(fetcher.policy, allow_private, allow_private_hosts, "crawl")
    options = CrawlOptions(
        scope=cast("ScopeKind", scope),  # checked by crawl_job
        depth=depth,
        max_pages=max_pages,
        delay=delay,
        agent=user_agent(contact, agent or None),
        allow_private=allow_private,
        allow_private_hosts=list(allow_private_hosts),
        render=render,
    )
    return crawl_job(store, seeds=list(seeds), out=out, options=options, resume=resume, progress=progress)


@job("rank")
def rank_run(
    store: Store,
    *,
    seeds: Sequence[str] | None = None,
    spam_seeds: Sequence[str] | None = None,
    damping: float = 0.85,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Rank every page, host and domain and score toxicity (``linkback rank``); the run's summary.

    ``seeds`` and ``spam_seeds`` are domain lists (the caller reads its seed files); None for the
    bundled defaults.
    """
    from linkback.rank import STAGES, rank  # noqa: PLC0415 - heavy

    def stage(name: str, index: int) -> None:
        _report(progress, done=index, total=len(STAGES), stage=name)

    summary = rank(store, seeds=seeds, spam_seeds=spam_seeds, damping=damping, on_progress=stage)
    _report(progress, done=len(STAGES), total=len(STAGES), stage="done")
    return asdict(summary)


def _check_send(params: dict[str, Any]) -> None:
    from linkback.send import check_budget  # noqa: PLC0415 - the sender loads httpx

    check_budget(params.get("budget", SEND_BUDGET))


@job("send", check=_check_send)
def send(
    store: Store,
    *,
    posts: Sequence[str] = (),
    feeds: Sequence[str] = (),
    sitemaps: Sequence[str] = (),
    all_links: bool = False,
    dry_run: bool = False,
    blog_name: str = "",
    allow_private: bool = False,
    allow_private_hosts: Sequence[str] = (),
    budget: float = SEND_BUDGET,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Send Webmentions (else Pingbacks, else TrackBacks) for posts, and for the new or changed
    entries of feeds and sitemaps; every notification is kept in ``sends``.

    ``allow_private_hosts``: the private hosts, addresses and networks it may reach
    (``--allow-private-host``). A server sends with its own fetcher and guard: asking it for
    ``allow_private``, or an entry, it was not started with is an error, and so a dry run fetches
    nothing private either.
    ``budget`` is the seconds the run may take (above 0): once they are spent nothing more is
    fetched, and each target left is a ``failed`` row whose reason says so, for the next run.
    Returns the ``sends`` rows, messages for people, the number of failures, and what the budget
    left: ``not_tried`` targets and ``not_fetched_count`` URLs (posts, feeds, sitemaps), the first
    :data:`NOT_FETCHED_LISTED` of them in ``not_fetched``.
    """
    from linkback.fetch import Fetcher, GuardPolicy, private_hosts, refuse_widening  # noqa: PLC0415
    from linkback.send import Sender, SendOptions, send_feed  # noqa: PLC0415

    # Made first: it refuses a bad budget before anything is opened.
    options = SendOptions(all_links=all_links, dry_run=dry_run, blog_name=blog_name, budget=budget)
    fetcher = getattr(store, "fetcher", None)
    own = None
    if fetcher is None:
        policy = GuardPolicy(allow_private=allow_private, allow_private_hosts=private_hosts(allow_private_hosts))
        own = fetcher = Fetcher(policy=policy)
    else:
        refuse_widening(fetcher.policy, allow_private, allow_private_hosts, "send")
    sender = Sender(
        fetcher,
        read=lambda fn: fn(store.con),
        write=lambda fn: store.write(lambda store: fn(store.con)),
        options=options,
    )
    todo = [("post", u) for u in posts] + [("feed", u) for u in feeds] + [("sitemap", u) for u in sitemaps]
    rows: list[dict[str, Any]] = []
    messages: list[dict[str, str]] = []
    failures = not_tried = 0
    not_fetched: list[str] = []
    try:
        for done, (kind, url) in enumerate(todo):
            _report(progress, done=done, total=len(todo), stage=url)
            if kind == "post":
                results = [sender.send_post(url)]
            else:
                found = send_feed(sender, url, kind=kind)
                failures += _feed_messages(found, messages)
                not_fetched += found.not_fetched
                results = found.posts
            for post in results:
                if post.status == "skipped":
                    not_fetched.append(post.url)
                    continue
                failures += _post_messages(post, messages)
                not_tried += post.not_tried
                rows += [asdict(r) for r in post.records]
    finally:
        if own is not None:
            own.close()
    if not_tried or not_fetched:
        messages.append(_budget_message(options.budget, not_tried, len(not_fetched)))
    _report(progress, done=len(todo), total=len(todo), stage="done")
    return {
        "sends": rows,
        "messages": messages,
        "failures": failures,
        "not_tried": not_tried,
        "not_fetched": not_fetched[:NOT_FETCHED_LISTED],
        "not_fetched_count": len(not_fetched),
    }


def _budget_message(budget: float, targets: int, urls: int) -> dict[str, str]:
    """What the run left undone when its time budget ran out: a warning about the run (no URL)."""
    left = []
    if targets:
        left.append(f"{targets:,} target(s) not notified")
    if urls:
        left.append(f"{urls:,} URL(s) not fetched")
    text = f"time budget of {budget:g} s spent: {' and '.join(left)}; run again to send the rest"
    return {"level": "warning", "url": "", "text": text}


def _feed_messages(found: Any, messages: list[dict[str, str]]) -> int:
    if found.error:
        messages.append({"level": "error", "url": found.url, "text": _with_hint(found.error)})
        return 1
    if found.url in found.not_fetched:
        return 0  # the run's time budget was spent before it: the run's last message says so
    if found.not_modified:
        messages.append({"level": "info", "url": found.url, "text": "not modified since the last run"})
    else:
        messages.append({"level": "info", "url": found.url,
                         "text": f"{found.entries} entries, {found.unchanged} unchanged"})  # fmt: skip
    if found.retry:
        messages.append({"level": "warning", "url": found.url,
                         "text": f"{found.retry} entries had sends that failed; the next run retries them"})  # fmt: skip
    return 0


def _post_messages(post: Any, messages: list[dict[str, str]]) -> int:
    """Messages about one post; 1 when it failed: its page, or every notification it tried."""
    if post.error:
        messages.append({"level": "error", "url": post.url, "text": _with_hint(post.error)})
        return 1
    if post.cut_at:
        messages.append({"level": "warning", "url": post.url,
                         "text": f"is larger than a fetch reads: links after its first {post.cut_at:,} bytes "
                                 "were not seen"})  # fmt: skip
    for warning in getattr(post, "warnings", ()):  # e.g. the targets past MAX_TARGETS, not notified
        messages.append({"level": "warning", "url": post.url, "text": warning})
    if post.status == "gone":
        messages.append(
            {"level": "info", "url": post.url, "text": "is gone (410): every earlier target is notified again"}
        )
    statuses = [r.status for r in post.records]
    refused = statuses.count("refused")
    if refused:
        messages.append({"level": "error", "url": post.url,
                         "text": f"{refused} endpoint(s) refused: {PRIVATE_HINT}"})  # fmt: skip
    # A target left when the time budget ran out was not tried: it fails nothing yet.
    tried = sum(s in ("sent", "failed", "refused") for s in statuses) - post.not_tried
    if tried and "sent" not in statuses:
        messages.append({"level": "error", "url": post.url, "text": f"every notification failed ({tried})"})
        return 1
    return 0


#: What the private-address guard's refusals say (linkback.fetch._guard.BlockedAddress).
_GUARD_WORDS = re.compile(
    r", an? (benchmarking|broadcast|documentation|link-local|loopback|metadata|multicast|private|reserved|shared"
    r"|site-local|ula|unspecified) address|port \d+ is not allowed"
)


def _with_hint(error: str) -> str:
    # A refused address names the entry that allows it; a refused port gets the general hint.
    return f"{error}; {PRIVATE_HINT}" if _GUARD_WORDS.search(error) and "to allow it:" not in error else error


@report(columns=("send_id", *SEND_COLUMNS))
def sent(store: Store, url: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
    """The notifications sent for your posts (or for one post), newest first."""
    from linkback.reports._select import check_limit  # noqa: PLC0415
    from linkback.send import history  # noqa: PLC0415
    from linkback.urls import normalize  # noqa: PLC0415

    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    source = normalize(url).split("#", 1)[0] if url else None
    return history(store.con, source, check_limit(limit)[1][0])


class RefbackCandidate(TypedDict):
    """A referer seen in an access log: the page that referred, the page visited, how often and when."""

    source: str
    target: str
    hits: NotRequired[int]
    times: NotRequired[list[datetime]]


@job("refbacks")
def queue_refbacks(
    store: Store, *, candidates: Sequence[RefbackCandidate], progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Queue referers read from access logs (by the caller) for verification as Refbacks.

    Pairs the sites and rules refuse are counted by reason; the times of the visits (with their
    time zone) let each visit count once however often a log is read.
    """
    from linkback import mentions  # noqa: PLC0415

    sites = [s.site for s in mentions.list_sites(store.con)]
    rules = mentions.stored_rules(store.con)
    receipts: list[Any] = []
    refused: dict[str, int] = {}
    for done, c in enumerate(candidates):
        if done % 1000 == 0:
            _report(progress, done=done, total=len(candidates), stage="checking")
        try:
            source, target, site = mentions.check_pair(str(c["source"]), str(c["target"]), sites, rules)
        except LinkbackError as exc:
            code = str(getattr(exc, "code", "invalid"))
            refused[code] = refused.get(code, 0) + 1
            continue
        times = tuple(_aware(t) for t in c.get("times") or ())
        hits = max(1, int(c.get("hits") or 1))
        receipts.append(mentions.Receipt("refback", source, target, site, hits=hits, hit_times=times))
    ids = store.write(lambda store: mentions.receive_many(store.con, receipts, datetime.now(UTC)))
    _report(progress, done=len(candidates), total=len(candidates), stage="done")
    return {"queued": len(receipts), "new": sum(1 for _, new in ids if new), "refused": refused}


def _aware(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"a visit time needs its time zone: {value!r}")
    return moment
