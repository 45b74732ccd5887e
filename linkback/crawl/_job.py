"""A crawl as a job (``@job("crawl")`` in :mod:`linkback.jobs`): the crawling in a process of its
own, the keeping here.

The Twisted reactor runs once per process, and a server runs many jobs, so the job starts
``python -m linkback.crawl._child``. That process crawls and writes the WARC files; it owns no
database. It tells this one, one JSON line at a time on its stdout, what a crawl in one process
tells its threads (:mod:`linkback.crawl._live`): frontier changes, each record written (file
and offset), each file closed, progress, and at the end its summary. Here the frontier changes
are committed through ``store.write`` (in a server: its single writer) and acknowledged on the
child's stdin — the child sends a request only once everything before it is acknowledged, so a
crawl stopped in any way fetches again only what was in flight — and the records are read back
from the files and ingested with :func:`linkback.ingest.ingest_pages`.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from linkback.crawl._errors import CrawlError
from linkback.crawl._frontier import Archived, Frontier, Start, unfetched
from linkback.crawl._live import FLUSH_SECONDS, PROVISIONAL, catch_up, complete_archive
from linkback.crawl._run import CrawlOptions, CrawlSummary, check_seeds, crawl_directory, summary_of
from linkback.faces import ProgressFn
from linkback.ingest import FLUSH, Flush, ingest_pages
from linkback.records import FetchedPage
from linkback.sources.warc import ReadStats, iter_archive
from linkback.store import Store
from linkback.store import _write as write


def start_as_json(start: Start) -> dict[str, Any]:
    data = asdict(start)
    data["seen"] = sorted(start.seen)
    data["archived"] = {url: {**asdict(a), "date": a.date.isoformat()} for url, a in start.archived.items()}
    return data


def start_from_json(data: dict[str, Any]) -> Start:
    archived = {
        url: Archived(**{**a, "date": datetime.fromisoformat(a["date"])}) for url, a in data["archived"].items()
    }
    queued = [(url, int(depth)) for url, depth in data["queued"]]
    return Start(data["run"], data["resumed"], queued, set(data["seen"]), data["fetched"], archived, data["seeds"])


def crawl_job(
    store: Store,
    *,
    seeds: list[str],
    out: str,
    options: CrawlOptions,
    resume: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Crawl in a child process into ``out`` (an absolute path), keeping the frontier and the
    pages in ``store``; the crawl's summary (:class:`~linkback.crawl.CrawlSummary` as a dict)."""
    if not Path(out).is_absolute():
        raise CrawlError(f"{out}: the crawl's directory must be an absolute path (the client resolves it)")
    seeds = check_seeds(seeds, resume=resume)
    options.check()
    directory = crawl_directory(out)
    caught_up = catch_up(store, directory)
    frontier = Frontier(store, str(directory))
    start = frontier.start(seeds, resume=resume)
    errors = tempfile.TemporaryFile()  # what the child says on stderr, read if it fails
    child = subprocess.Popen(
        [sys.executable, "-m", "linkback.crawl._child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdin is not None and child.stdout is not None
    hello = {"seeds": seeds, "out": str(directory), "options": asdict(options), "start": start_as_json(start)}
    child.stdin.write(json.dumps(hello).encode() + b"\n")
    child.stdin.flush()
    talk = _Child(child, store, frontier, progress)
    try:
        stored = ingest_pages(store, talk.pages(), via="crawl", archive=talk.archive_of)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()
    errors.seek(0)
    said = errors.read().decode("utf-8", "replace").strip().splitlines()
    errors.close()
    if talk.summary is None:
        raise CrawlError(f"the crawl process ended without a summary: {(said or ['no message'])[-1]}")
    write.cluster_links(store)
    summary = CrawlSummary(**talk.summary)
    summary.ingest = stored.as_dict()
    summary.caught_up = caught_up
    summary.note_unfetched(unfetched(store, str(directory), start.run))
    return summary.as_dict()


class _Child:
    """This side of the conversation with the crawling process."""

    def __init__(self, child: subprocess.Popen[bytes], store: Store, frontier: Frontier, progress: Any) -> None:
        self.child = child
        self.store = store
        self.frontier = frontier
        self.progress = progress
        self.archives: dict[str, int] = {}
        self.summary: dict[str, Any] | None = None

    def archive_of(self, source: str) -> int:
        if source not in self.archives:
            self.archives[source] = write.begin_archive(
                self.store, path=source, size=0, fingerprint=PROVISIONAL + source
            )
        return self.archives[source]

    def pages(self) -> Iterator[FetchedPage | Flush]:
        """The pages the child archived, read back from its files, as it reports them."""
        assert self.child.stdout is not None
        fd = self.child.stdout.fileno()
        pending = b""
        oldest = 0.0
        while True:
            wait = max(oldest + FLUSH_SECONDS - time.monotonic(), 0.0) if oldest else None
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                yield FLUSH
                oldest = 0.0
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # not ours: something in the child printed to stdout
                for page in self._message(message):
                    if isinstance(page, FetchedPage) and not oldest:
                        oldest = time.monotonic()
                    elif isinstance(page, Flush):
                        oldest = 0.0
                    yield page

    def _message(self, message: dict[str, Any]) -> Iterator[FetchedPage | Flush]:
        kind = message["t"]
        if kind == "frontier":
            self.frontier.commit(
                queued=[(u, int(d)) for u, d in message["queued"]],
                done=[(u, s, r) for u, s, r in message["done"]],
                records=[(u, Archived(**{**a, "date": datetime.fromisoformat(a["date"])})) for u, a in message["records"]],
            )  # fmt: skip
            self._ack(int(message["seq"]))
        elif kind == "page":
            stats = ReadStats()
            offset = int(message["offset"])
            yield from iter_archive(message["file"], stats=stats, start=offset, end=offset + 1)
        elif kind == "closed":
            yield FLUSH  # pulled again once every page before it is stored
            path = Path(message["file"])
            complete_archive(self.store, self.archive_of(str(path)), path, records=int(message["records"]))
        elif kind == "progress" and self.progress is not None:
            self.progress(message["stats"])
        elif kind == "summary":
            self.summary = message["summary"]

    def _ack(self, seq: int) -> None:
        assert self.child.stdin is not None
        try:
            self.child.stdin.write(f"{seq}\n".encode())
            self.child.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child has ended: its last lines are still read


def summary_dict(stats: dict[str, Any], directory: Path, start: Start) -> dict[str, Any]:
    summary = summary_of(stats)
    summary.crawl_id, summary.run, summary.resumed = str(directory), start.run, start.resumed
    return summary.as_dict()
