"""The crawling process of a crawl job (:mod:`linkback.crawl._job`): ``python -m linkback.crawl._child``.

Reads one JSON line on stdin (seeds, directory, options, where the frontier starts), crawls,
and writes JSON lines on stdout: ``frontier`` changes (numbered; the parent acknowledges each
number on stdin once it is committed), ``page`` (a record written: file and offset),
``closed`` (a file rotated or ended), ``progress`` and, last, ``summary``. It owns no database.
The process ends with its parent (a job stopped with its server).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from linkback.crawl._frontier import Archived, Ending, Start
from linkback.crawl._live import CrawlContext, DurableChanges
from linkback.records import FetchedPage

_write_lock = threading.Lock()


def _send(message: dict[str, Any]) -> None:
    line = json.dumps(message, default=str) + "\n"
    with _write_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


class PipeFrontier(DurableChanges):
    """The frontier's writer across the pipe: changes go to the parent, which commits them and
    says so on stdin."""

    def __init__(self) -> None:
        super().__init__()
        threading.Thread(target=self._acks, name="linkback-crawl-acks", daemon=True).start()

    def change(
        self,
        *,
        queued: Sequence[tuple[str, int]] = (),
        done: Sequence[Ending] = (),
        records: Sequence[tuple[str, Archived]] = (),
    ) -> None:
        self.submitted += 1
        _send({
            "t": "frontier", "seq": self.submitted, "queued": list(queued), "done": list(done),
            "records": [(url, {**asdict(a), "date": a.date.isoformat()}) for url, a in records],
        })  # fmt: skip

    def _acks(self) -> None:
        for line in sys.stdin:
            if line.strip().isdigit():
                self.committed = max(self.committed, int(line))
                self._wake()
        self.error = "the parent has gone"
        self._wake()

    def _wake(self) -> None:
        from twisted.internet import reactor  # noqa: PLC0415 - installed by Scrapy by now

        if reactor.running:  # type: ignore[attr-defined]
            reactor.callFromThread(self._fire)  # type: ignore[attr-defined]


class PipeContext(CrawlContext):
    """What the crawl's Scrapy parts share, told to the parent process instead of kept here."""

    def page(self, page: FetchedPage) -> None:
        _send({"t": "page", "file": page.source, "offset": page.offset})

    def file_closed(self, path: Path, records: int) -> None:
        _send({"t": "closed", "file": str(path), "records": records})


def main() -> None:
    from linkback._workers import _die_with_parent  # noqa: PLC0415
    from linkback.crawl._job import start_from_json, summary_dict  # noqa: PLC0415
    from linkback.crawl._run import CrawlOptions, scrape  # noqa: PLC0415

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; Ctrl-C at a terminal is its
    hello = json.loads(sys.stdin.readline())
    start: Start = start_from_json(hello["start"])
    directory = Path(hello["out"])
    context = PipeContext(start=start, frontier=PipeFrontier(), ingest=None, archived=dict(start.archived))  # type: ignore[arg-type]

    def progress(stats: dict[str, Any]) -> None:
        _send({"t": "progress", "stats": {"pages": stats.get("crawl/pages", 0),
                                          "bytes": stats.get("downloader/response_bytes", 0)}})  # fmt: skip

    stats = scrape(context, list(hello["seeds"]), directory, CrawlOptions(**hello["options"]), progress)
    _send({"t": "summary", "summary": summary_dict(stats, directory, start)})


if __name__ == "__main__":
    main()
