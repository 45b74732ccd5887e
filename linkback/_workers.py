"""The worker processes of ingest: forked from a forkserver that has the extraction code loaded.

forkserver, not fork: the parent runs DuckDB's threads, and forking a threaded process can
deadlock the child. The forkserver imports what the workers need once; each worker forked from it
then starts in milliseconds. This module imports only the standard library (and the archive reader
when it cuts a file into ranges), so a command can start the forkserver, and even the first
ranges of work, before its own imports: :func:`start_early`.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from pathlib import Path

#: Imported once by the forkserver. ``__main__`` too: run as the ``linkback`` script, each
#: worker would otherwise import the whole command-line interface again.
PRELOAD = ["__main__", "linkback.batches"]

#: How much lower the workers' scheduling priority is than the main process's (``nice``).
WORKER_NICENESS = 10
#: Ranges handed out per worker at once: one being read, the next ones queued.
RANGES_PER_WORKER = 3

#: A WARC gzipped per record is cut into ranges of this many bytes (~40 pages of a web crawl):
#: small enough that both workers finish at about the same time.
SPLIT_BYTES = 1 * 2**20
#: Other WARCs are cut at record offsets, every this many responses...
RANGE_PAGES = 64
#: ...or this many archive bytes.
RANGE_BYTES = 4 * 2**20


def default_workers() -> int:
    """All the cores this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def context() -> BaseContext:
    """The multiprocessing context ingest's worker pools use."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _lower_priority() -> None:
    # The main process is the one writer, and on a machine with as many workers as cores it
    # shares a core with them. At equal priority it gets a third of the CPU while it has
    # results to write, falls behind, and the end of the run is spent writing alone (0.5 s
    # of a 3.8 s ingest). Niced workers let it write as results come; total work is the same.
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass


def pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` extraction processes, forked from the forkserver, niced."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=context(), initializer=_lower_priority)


def warm() -> None:
    """Start the forkserver now (it takes ~0.3 s to import the extraction code), so that it does
    while the caller goes on; a later pool uses the running one."""
    context()
    forkserver.ensure_running()


def ranges(path: Path) -> Iterator[tuple[int, int, bool]]:
    """The byte ranges ``(start, end, align)`` workers read ``path`` in (``end`` -1: to the end).

    A WARC gzipped per record is cut every SPLIT_BYTES, blind: each worker finds the first
    record of its range itself (``align``), and ingest checks that the ranges join up. Other
    WARCs need a fast pass over the record headers, which decompresses the whole file: ranges
    of about RANGE_PAGES responses or RANGE_BYTES, cut at record offsets; where that pass stops
    (damage, or a file gzipped as one stream) the last range runs to the end of the file, and
    its reader deals with the damage as it would for the whole file.
    """
    from linkback.sources.warc import gzip_per_record, iter_record_offsets  # noqa: PLC0415

    first_member_end = gzip_per_record(path)
    if first_member_end:
        cuts = list(range(max(SPLIT_BYTES, first_member_end + 1), path.stat().st_size, SPLIT_BYTES))
        yield from ((start, end, start > 0) for start, end in zip([0, *cuts], [*cuts, -1], strict=True))
        return
    start, responses = 0, 0
    for offset, is_response in iter_record_offsets(path):
        if offset > start and (responses >= RANGE_PAGES or offset - start >= RANGE_BYTES):
            yield start, offset, False
            start, responses = offset, 0
        responses += is_response
    yield start, -1, False


def extract_range(path: str, start: int, end: int, align: bool) -> bytes:
    """:func:`linkback.batches.extract_range` in a worker, its result pickled here: the process
    that started the work may not have imported what unpickling it needs yet."""
    from linkback.batches import extract_range as run  # noqa: PLC0415 (the forkserver has it loaded)

    return pickle.dumps(run(path, start, end, align), protocol=pickle.HIGHEST_PROTOCOL)


@dataclass
class RangeWork:
    """A file being extracted range by range: the ranges not yet handed out and, in order, the
    ``(end, future)`` of those that were."""

    ranges: Iterator[tuple[int, int, bool]]
    in_flight: deque[tuple[int, Future[bytes]]] = field(default_factory=deque)

    def hand_out(self, pool: ProcessPoolExecutor, path: Path, limit: int) -> bool:
        """Submit ranges until ``limit`` are in flight; False once there are none left."""
        while len(self.in_flight) < limit:
            nxt = next(self.ranges, None)
            if nxt is None:
                return False
            start, end, align = nxt
            self.in_flight.append((end, pool.submit(extract_range, str(path), start, end, align)))
        return True


@dataclass
class _EarlyStart:
    """The first ranges of one archive, handed to a pool by a thread of their own."""

    path: Path
    identity: tuple[int, int]
    workers: int
    pool: ProcessPoolExecutor | None
    work: RangeWork
    failed: BaseException | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        # Submitting forks a worker through the forkserver and waits for it to answer, which it
        # does once it has imported the extraction code: a thread waits, not the command.
        self.thread = threading.Thread(target=self._hand_out, daemon=True)
        self.thread.start()

    def _hand_out(self) -> None:
        try:
            self.work.hand_out(self.pool, self.path, RANGES_PER_WORKER * self.workers)
        except BaseException as exc:  # noqa: BLE001 - ingest starts the file afresh instead
            self.failed = exc


_early: _EarlyStart | None = None


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def start_early(inputs: Iterable[str], workers: int) -> None:
    """Start extracting the first archive ``inputs`` name on ``workers`` processes now, while the
    command is still importing and opening the database; :func:`take_early_pool` and
    :func:`take_early_work` hand it to ingest. Work nobody takes is dropped at exit
    (:func:`drop_early`). Any doubt (no such file, not a WARC gzipped per record) and nothing
    starts: the command will say what is wrong."""
    global _early
    from linkback.sources import gzip_per_record, iter_paths, sniff_archive  # noqa: PLC0415

    try:
        paths = iter_paths(list(inputs))
        # Only an archive cut in small ranges: work nobody takes is waited for at exit.
        if not paths or sniff_archive(paths[0]) != "warc" or not gzip_per_record(paths[0]):
            return
        path = paths[0]
        identity = _identity(path)
    except Exception:  # noqa: BLE001 - the command reports it properly later
        return
    _early = _EarlyStart(path, identity, workers, pool(workers), RangeWork(ranges(path)))


def take_early_pool(workers: int) -> ProcessPoolExecutor | None:
    """The pool :func:`start_early` started, if it has ``workers`` processes (once)."""
    early = _early
    if early is None or early.pool is None or early.workers != workers:
        return None
    early.thread.join()
    taken, early.pool = early.pool, None
    return taken


def take_early_work(path: Path) -> RangeWork | None:
    """The ranges of ``path`` started early, if the file is the one they were started for."""
    global _early
    early = _early
    if early is None or early.pool is not None or early.path != path:
        return None
    _early = None
    try:
        same = _identity(path) == early.identity
    except OSError:
        same = False
    if not same or early.failed is not None:
        # A file changed since, or ranges that could not all be handed out: start afresh.
        for _, fut in early.work.in_flight:
            fut.cancel()
        return None
    return early.work


def drop_early() -> None:
    """Stop work started early that ingest did not take."""
    global _early
    early, _early = _early, None
    if early is None:
        return
    early.thread.join()
    for _, fut in early.work.in_flight:
        fut.cancel()
    if early.pool is not None:
        early.pool.shutdown(wait=True, cancel_futures=True)
