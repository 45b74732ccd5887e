"""The worker processes of ingest: forked from a forkserver that has the extraction code loaded.

forkserver, not fork: the parent runs DuckDB's threads, and forking a threaded process can
deadlock the child. The forkserver imports what the workers need once; each worker forked from it
then starts in milliseconds. This module imports only the standard library (and the archive reader
when it cuts a file into ranges), so a command can start the forkserver, and even the first
ranges of work, before its own imports: :func:`start_early`.

No helper outlives the command, however it ends: ``kill -9`` gives it no chance to stop them,
and multiprocessing's workers would wait for work forever (and the forkserver and the resource
tracker for them). So the forkserver exits once its parent, the command, has gone
(:func:`exit_with_parent`, armed by its first preload, :mod:`linkback._forkserver`); each worker
is killed by the kernel when the forkserver ends, and exits by itself once the command has gone
(:func:`_start_worker`); and the resource tracker exits when the last of them has, as its pipe
closes. Ctrl-C is the command's alone: the forkserver and its workers never see SIGINT
(:func:`_start_forkserver`), and the command stops its pool. Nor does a worker that dies
hang the command, whenever it dies: ingest waits for results with :func:`result`.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TypeVar

from linkback.errors import WorkerLost

T = TypeVar("T")

#: Imported once by the forkserver. ``__main__`` too: run as the ``linkback`` script, each
#: worker would otherwise import the whole command-line interface again. The forkserver imports
#: ``__main__`` first whatever the order; then its guard, before the slow import of the rest.
PRELOAD = ["__main__", "linkback._forkserver", "linkback.batches"]

#: How much lower the workers' scheduling priority is than the main process's (``nice``).
WORKER_NICENESS = 10
#: Ranges handed out per worker at once: one being read, the next ones queued.
RANGES_PER_WORKER = 3
#: How often the forkserver checks that the command that started it is still there (seconds).
PARENT_CHECK_SECONDS = 0.1
#: The exit status of a helper that ended because the command had gone (nobody waits for it).
EXIT_ORPHANED = 1
#: How long a wait for a worker's result goes before it checks that the pool's workers all
#: live (seconds)...
WATCH_SECONDS = 0.5
#: ...and then, one of them dead, how long more before the result is given up for lost.
LOST_GRACE_SECONDS = 0.25
#: How long a killed worker is waited for to end (seconds): at once, unless stuck in the kernel.
KILLED_WAIT_SECONDS = 5.0
#: prctl(2)'s option to name the signal the kernel sends a process when its parent ends (Linux).
_PR_SET_PDEATHSIG = 1

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


def _start_worker() -> None:
    """What each worker does before its first range: lower its priority, and end with the command."""
    _lower_priority()
    _die_with_parent()
    command = multiprocessing.parent_process()
    if command is not None:
        # The worker's parent is the forkserver; the command is the process that asked for it,
        # and multiprocessing's pipe from it reads as closed once it has gone (however it ended).
        _exit_after(command.join, "linkback-command-watch")


def _die_with_parent() -> None:
    # The kernel kills this worker when its parent, the forkserver, ends (which it does once the
    # command has gone): at once, even in the middle of a long C call that holds the GIL, when a
    # watching thread could not run. Where prctl is missing, the thread of _start_worker remains.
    if sys.platform.startswith("linux"):
        import ctypes  # noqa: PLC0415 - Linux only, and only in workers

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _exit_after(wait: Callable[[], object], name: str) -> None:
    """Exit this process once ``wait()`` returns, which a daemon thread waits for. No clean-up:
    the process it worked for has gone, and a clean exit could wait for it forever."""

    def watch() -> None:
        wait()
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name=name, daemon=True).start()


def exit_with_parent() -> None:
    """Exit this process once its parent has ended: run by the forkserver, whose parent is the
    command (:mod:`linkback._forkserver`).

    Polled, not PR_SET_PDEATHSIG: that signal follows the *thread* that started the forkserver,
    and a pool may be started by a thread that ends long before the process does. Had the
    command gone before this runs, the forkserver still ends: it exits when every process that
    holds its "alive" pipe has (the command and the workers, which end on their own).
    """
    parent = os.getppid()

    def parent_gone() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)

    # A thread in the forkserver, which forks: it holds no lock while it sleeps or asks getppid.
    _exit_after(parent_gone, "linkback-parent-watch")


def _start_forkserver() -> None:
    """Start the resource tracker and the forkserver, unless they run, with SIGINT blocked in
    the forkserver for good.

    Ctrl-C at a terminal signals the whole foreground process group, and only the command
    should answer it (it stops its pool). The forkserver ignores SIGINT only once it has
    imported PRELOAD, and gives each worker it forks the default handler back: a Ctrl-C printed
    their KeyboardInterrupt tracebacks. A blocked signal stays blocked across exec and fork.
    """
    from multiprocessing import resource_tracker  # noqa: PLC0415

    # The tracker first: starting it blocks SIGINT and then unblocks it (it ignores it itself).
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` extraction processes, forked from the forkserver, niced, that end
    with the process that made the pool."""
    ctx = context()
    _start_forkserver()
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker)


def result(fut: Future[T], pool: ProcessPoolExecutor) -> T:
    """``fut.result()``, or :class:`WorkerLost` when a worker of ``pool`` died and the pool
    does not say so (:func:`abandon` the pool then).

    A worker killed while it writes its result back leaves part of a message in the pool's
    result pipe: CPython's pool (3.11) then reads the rest for ever, never fails the futures,
    and ``fut.result()`` never returns. Any death breaks the pool (its workers end only when
    it shuts down), and the pool says so itself at once when it can: a worker seen dead is
    given up for lost only if the result has not come LOST_GRACE_SECONDS later.
    """
    dead_seen = False
    while not _done_within(fut, LOST_GRACE_SECONDS if dead_seen else WATCH_SECONDS):
        if dead_seen:
            raise WorkerLost()
        dead_seen = not _all_alive(pool)
    return fut.result()


def _done_within(fut: Future[T], seconds: float) -> bool:
    try:
        fut.exception(timeout=seconds)  # not result(): a TimeoutError here is the wait's, never the worker's
    except TimeoutError:
        return False
    return True


def _all_alive(pool: ProcessPoolExecutor) -> bool:
    # pid: Process, as the pool keeps them; None once it is shut down, or for a pool of threads.
    processes = getattr(pool, "_processes", None)
    return processes is None or all(process.exitcode is None for process in list(processes.values()))


def abandon(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down without waiting on it, its workers killed: a pool that lost a worker.

    After a worker died writing its result back, the pool's thread reads for ever, the other
    workers wait for ever for the result pipe's write lock, and at exit the interpreter waits
    for ever for that thread. The read ends once no process holds the pipe's write end: the
    workers, killed, and this process, which closes its own. The pool then fails its futures
    and its thread ends, as for any broken pool.
    """
    processes = list((pool._processes or {}).values())
    results = pool._result_queue
    manager: threading.Thread | None = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    if results is not None:
        results._writer.close()  # type: ignore[attr-defined]
    for process in processes:
        process.join(KILLED_WAIT_SECONDS)
    if manager is not None:
        # Its end closes the pool's wake-up pipe. Python 3.11's exit handler wakes every pool's
        # thread through that pipe, checking first that it is open: a thread closing it in
        # between made the exit print "Bad file descriptor" after "interrupted" (once in ~20).
        manager.join(KILLED_WAIT_SECONDS)


def warm() -> None:
    """Start the forkserver now (it takes ~0.3 s to import the extraction code), so that it does
    while the caller goes on; a later pool uses the running one."""
    context()
    _start_forkserver()


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


def extract_range(path: str, start: int, end: int, align: bool, brands: object = None) -> bytes:
    """:func:`linkback.batches.extract_range` in a worker, its result pickled here: the process
    that started the work may not have imported what unpickling it needs yet. ``brands``: the
    brand terms to look for (a :class:`linkback.brands.BrandTerms`, or None)."""
    from linkback.batches import extract_range as run  # noqa: PLC0415 (the forkserver has it loaded)

    return pickle.dumps(run(path, start, end, align, brands), protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[arg-type]


@dataclass
class RangeWork:
    """A file being extracted range by range: the ranges not yet handed out and, in order, the
    ``(end, future)`` of those that were."""

    ranges: Iterator[tuple[int, int, bool]]
    in_flight: deque[tuple[int, Future[bytes]]] = field(default_factory=deque)
    #: Brand terms the workers look for (small: sent with each range, the automaton is built once
    #: per worker); None for none.
    brands: object = None

    def hand_out(self, pool: ProcessPoolExecutor, path: Path, limit: int) -> bool:
        """Submit ranges until ``limit`` are in flight; False once there are none left."""
        while len(self.in_flight) < limit:
            nxt = next(self.ranges, None)
            if nxt is None:
                return False
            start, end, align = nxt
            self.in_flight.append((end, pool.submit(extract_range, str(path), start, end, align, self.brands)))
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
        pool = self.pool
        if pool is None:  # never: the pool is taken only once this thread has ended
            return
        try:
            self.work.hand_out(pool, self.path, RANGES_PER_WORKER * self.workers)
        except BaseException as exc:  # noqa: BLE001 - ingest starts the file afresh instead
            self.failed = exc


_early: _EarlyStart | None = None


def identity(path: Path) -> tuple[int, int]:
    """What tells a file changed since: its size and modification time."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def start_early(inputs: Iterable[str], workers: int, brands: Callable[[], object] | None = None) -> None:
    """Start extracting the first archive ``inputs`` name on ``workers`` processes now, while the
    command is still importing and opening the database; :func:`take_early_pool` and
    :func:`take_early_work` hand it to ingest. Work nobody takes is dropped at exit
    (:func:`drop_early`). Any doubt (no such file, not a WARC gzipped per record) and nothing
    starts: the command will say what is wrong. ``brands()``: the brand terms the pages are
    scanned for (read from the database before anything starts; ingest drops the work if the
    terms it reads are not the same)."""
    global _early
    from linkback.sources import gzip_per_record, iter_paths, sniff_archive  # noqa: PLC0415

    try:
        paths = iter_paths(list(inputs))
        # Only an archive cut in small ranges: work nobody takes is waited for at exit.
        if not paths or sniff_archive(paths[0]) != "warc" or not gzip_per_record(paths[0]):
            return
        from linkback.sources.wat import is_wat  # noqa: PLC0415 - a WAT file extracts itself: no ranges

        if is_wat(paths[0]):
            return
        path = Path(os.path.abspath(paths[0]))  # as the command names it to ingest
        started_on = identity(path)
    except Exception:  # noqa: BLE001 - the command reports it properly later
        return
    try:
        terms = brands() if brands is not None else None
    except Exception:  # noqa: BLE001 - ingest reads the terms itself, and drops the work if they differ
        terms = None
    _early = _EarlyStart(path, started_on, workers, pool(workers), RangeWork(ranges(path), brands=terms))


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
        same = identity(path) == early.identity
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
    if early.pool is not None:
        # Nobody wants its work, so nothing to wait for: no worker lost on the way can hang the exit.
        abandon(early.pool)
        return
    for _, fut in early.work.in_flight:
        fut.cancel()
