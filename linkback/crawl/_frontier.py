"""The crawl's frontier in DuckDB (``crawl_frontier``): what a crawl of one directory has found,
fetched and given up, so that a crawl stopped by Ctrl-C, a crash or ``kill -9`` goes on where it
stopped, and a later crawl of the same directory knows the payloads it has archived already.

A crawl is identified by its WARC directory (``crawl_id``); each crawl of it is a ``run``. A run
whose URLs are all done or failed is over: the next crawl of the directory starts run + 1 from
its seeds. A run with URLs still queued is resumed. Every change is one transaction
(:meth:`Frontier.commit`): a page marked done together with the links found on it, so that no
link is lost however the process ends, and a page is fetched again only if it was in flight.
The table is a log: rows are appended, never updated (a URL's state is its newest row).

A URL that ends without a page of its own (robots.txt, the SSRF guard, a redirect loop, a fetch
error...) keeps why in its ending row's ``reason`` (:mod:`linkback.crawl._reasons`):
:func:`unfetched` lists them, and the crawl's summary counts them. Rows written before schema
version 12 have no reason.

Each URL also keeps its newest *full* response record (digest, id, date, file, offset): a later
response with the same payload digest is archived as a ``revisit`` record pointing at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from linkback.crawl._errors import CrawlError
from linkback.store import Store

#: A URL ended: (url, state, reason), the state ``done`` or ``failed``, the reason None for a
#: URL that ended with a page of its own (``too-big`` for one ``done`` whose page was cut at the
#: size cap as it was decompressed: archived whole, stored and parsed partial).
Ending = tuple[str, str, str | None]


@dataclass(frozen=True)
class Archived:
    """A full response record of a URL in the crawl's WARC files."""

    digest: str  # WARC-Payload-Digest, "sha1:BASE32"
    record_id: str
    date: datetime
    file: str  # the file's name, in the crawl's directory
    offset: int


@dataclass
class Start:
    """Where a crawl starts: a new run from its seeds, or a stopped run resumed."""

    run: int
    resumed: bool
    queued: list[tuple[str, int]]  # (url, depth) still to fetch, seeds first
    seen: set[str]  # every URL of this run, fetched or not: never queued twice
    fetched: int  # URLs of this run done or failed
    archived: dict[str, Archived] = field(default_factory=dict)
    seeds: list[str] = field(default_factory=list)  # the run's seeds (depth 0): its scope


class Frontier:
    """The frontier of the crawl ``crawl_id`` in ``store`` (a store of its own: its writes are
    small transactions on the crawl's thread, beside the ingest writer's).

    ``crawl_frontier`` is a log: each change is a row appended (a URL queued; a URL done or
    failed, with its response record), and a URL's state is its newest row. One INSERT per
    commit, whatever it holds, costs a few milliseconds; updating rows in place cost that per
    row, more than a page's crawling."""

    def __init__(self, store: Store, crawl_id: str) -> None:
        self.store = store
        self.crawl_id = crawl_id
        self.run = 0
        self.known: set[str] = set()  # URLs this run has queued

    def start(self, seeds: Sequence[str], *, resume: bool = False) -> Start:
        """Resume the directory's stopped run (``resume`` insists there is one), else begin a
        new run from ``seeds``; seeds given to a resumed run are queued too."""
        con = self.store.con
        # A store whose crawl_frontier was made with a unique index (an early schema 7) could
        # not hold the log: the index goes.
        self.store.write(lambda store: store.con.execute("DROP INDEX IF EXISTS crawl_frontier_url"))
        (last,) = con.execute(
            "SELECT coalesce(max(run), 0) FROM crawl_frontier WHERE crawl_id = ?", [self.crawl_id]
        ).fetchall()[0]
        states = self._states(int(last))
        resumed = any(state == "queued" for _, state in states.values())
        if resume and not resumed:
            raise CrawlError(f"nothing to resume in {self.crawl_id}: its last crawl finished (or none ran)")
        if not resumed and not seeds:
            raise CrawlError("give at least one seed URL")
        self.run = int(last) if resumed else int(last) + 1
        if not resumed:
            states = {}
        self.known = set(states)
        fresh = [url for url in dict.fromkeys(seeds) if url not in states]
        self.commit(queued=[(url, 0) for url in fresh])
        states.update({url: (0, "queued") for url in fresh})
        queued = sorted(((url, depth) for url, (depth, state) in states.items() if state == "queued"),
                        key=lambda item: (item[1], item[0] not in fresh))  # fmt: skip
        archived = {
            url: Archived(digest, record_id, date, file, int(offset))
            for url, digest, record_id, date, file, offset in con.execute(
                "SELECT url, arg_max(payload_digest, done_at), arg_max(record_id, done_at), "
                "arg_max(record_date, done_at), arg_max(record_file, done_at), arg_max(record_offset, done_at) "
                "FROM crawl_frontier WHERE crawl_id = ? AND payload_digest IS NOT NULL GROUP BY url",
                [self.crawl_id],
            ).fetchall()
        }
        return Start(
            run=self.run,
            resumed=resumed,
            queued=queued,
            seen=set(states),
            fetched=sum(1 for _, state in states.values() if state != "queued"),
            archived=archived,
            seeds=sorted(url for url, (depth, _) in states.items() if depth == 0),
        )

    def _states(self, run: int) -> dict[str, tuple[int, str]]:
        """URL → (depth, state) in ``run``: each URL's newest row."""
        rows = self.store.con.execute(
            "SELECT url, max(depth), arg_max(state, coalesce(done_at, added_at)) FROM crawl_frontier "
            "WHERE crawl_id = ? AND run = ? AND state IS NOT NULL GROUP BY url",
            [self.crawl_id, run],
        ).fetchall()
        return {url: (int(depth if depth is not None else -1), state) for url, depth, state in rows}

    def commit(
        self,
        *,
        queued: Iterable[tuple[str, int]] = (),
        done: Iterable[Ending] = (),
        records: Iterable[tuple[str, Archived]] = (),
    ) -> None:
        """One transaction: URLs found (url, depth), URLs ended (url, ``done`` or ``failed``, reason),
        and full response records of URLs (url, record): one row per URL found, one per URL
        ended or archived (a record without an end is a redirect's target or robots.txt: done)."""
        now = datetime.now(UTC)
        rows: dict[str, dict[str, Any]] = {}
        for url, depth in queued:
            rows[url] = {"url": url, "depth": depth, "state": "queued", "added_at": now, "done_at": None}
        ended: dict[str, dict[str, Any]] = {}
        for url, archived in records:
            # Archived is not ended: a URL of the frontier is done once its links are queued (in
            # the spider's change); one it never queued (a redirect's target, robots.txt) is done.
            state = None if url in self.known or url in rows else "done"
            ended[url] = {"url": url, "depth": -1, "state": state, "added_at": None, "done_at": now,
                          "payload_digest": archived.digest, "record_id": archived.record_id,
                          "record_date": archived.date, "record_file": archived.file,
                          "record_offset": archived.offset}  # fmt: skip
        for url, state, reason in done:
            row = ended.setdefault(url, {"url": url, "added_at": None, "done_at": now})
            row["state"], row["depth"], row["reason"] = state, None, reason
        if rows.keys() & ended.keys():
            # Found and archived in one go (a redirect's target): its end comes after its finding.
            for row in ended.values():
                row["done_at"] = now + timedelta(microseconds=1)
        table = list(rows.values()) + list(ended.values())
        if table:
            self.store.write(lambda store: self._append(store, table))
            self.known.update(rows)

    def _append(self, store: Store, rows: list[dict[str, Any]]) -> None:
        columns = {name: [row.get(name) for row in rows] for name in _COLUMNS}
        select = ", ".join(f"unnest(${name})" for name in _COLUMNS)
        store.con.execute(
            f"INSERT INTO crawl_frontier (crawl_id, run, {', '.join(_COLUMNS)}) SELECT $crawl, $run, {select}",
            {"crawl": self.crawl_id, "run": self.run, **columns},
        )


_COLUMNS = ("url", "depth", "state", "added_at", "done_at", "payload_digest", "record_id", "record_date",
            "record_file", "record_offset", "reason")  # fmt: skip


def unfetched(store: Store, crawl_id: str, run: int) -> list[Ending]:
    """The URLs of the crawl's ``run`` that ended without a page of their own, each with its
    state and reason (its newest row's), by reason and URL."""
    rows = store.con.execute(
        "SELECT url, state, reason FROM (SELECT url, arg_max(state, coalesce(done_at, added_at)) AS state, "
        # arg_max skips NULLs: the newest row's reason, NULL or not, is arg_max_null's.
        "arg_max_null(reason, coalesce(done_at, added_at)) AS reason FROM crawl_frontier "
        "WHERE crawl_id = ? AND run = ? AND state IS NOT NULL GROUP BY url) WHERE reason IS NOT NULL "
        "ORDER BY reason, url",
        [crawl_id, run],
    ).fetchall()
    return [(url, state, reason) for url, state, reason in rows]
