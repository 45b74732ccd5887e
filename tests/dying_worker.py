"""Ingest workers that die the way that used to hang ``linkback ingest``: SIGKILLed in the middle
of writing their result back to the command.

The moment is made, not waited for. A real result of a few MB goes into the pool's result pipe
64 KiB at a time while the command reads it, and a kill from outside lands mid-message only by
luck; so the worker writes what such a kill leaves behind itself, then kills itself: the header
of a message and part of its bytes in the pipe, and the pipe's write lock taken for good.

Run as ``python dying_worker.py MODE ARGS...``:

* ``once`` or ``always`` — ``linkback ARGS...`` (an ingest), where the first worker to read a
  range past the start of an archive dies so (``once``: after that the archive reads as usual),
  or every such worker does (``always``);
* ``once-unwatched`` or ``pages-unwatched`` — as ``once`` or ``pages``, with the watchdog's grace
  an hour long: the command is stuck on its lost worker as before the watchdog, and only Ctrl-C
  (SIGINT to the process group) ends it;
* ``pages ARCHIVE DB`` — :func:`linkback.ingest.ingest_pages` on the pages of ARCHIVE read as a
  stream, batches extracted by workers that all die so; exit status EXIT_WORKER_LOST once it
  gives up with WorkerLost.

Workers import this module by name (the script's directory is on the command's ``sys.path``,
which they are given), so it imports little.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import struct
import sys
from typing import NoReturn

from linkback import _workers

#: The length the half-written message claims, and how much of it is written (less).
CLAIMED_BYTES = 4 * 2**20
WRITTEN_BYTES = 100_000
#: Archives are cut in ranges this small: several are in flight when one's worker dies.
SPLIT_BYTES = 32 * 1024
#: The environment variable naming a file each dying worker creates once its half message is sent.
DEATH_MARK = "DYING_WORKER_MARK"
#: The exit status of ``pages`` when ingest_pages raised WorkerLost.
EXIT_WORKER_LOST = 3

_extract_range = _workers.extract_range


def die_sending_result() -> NoReturn:
    # The pool's worker loop, _process_worker(call_queue, result_queue, ...), is this process's target.
    result_queue = multiprocessing.current_process()._args[1]  # type: ignore[attr-defined]
    with result_queue._wlock:  # as SimpleQueue.put does; then Connection.send_bytes: length, bytes
        os.write(result_queue._writer.fileno(), struct.pack("!i", CLAIMED_BYTES) + bytes(WRITTEN_BYTES))
        if os.environ.get(DEATH_MARK):  # for a test waiting for the moment
            open(os.environ[DEATH_MARK], "a").close()  # noqa: SIM115
        os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def extract_range_dying_once(path: str, start: int, end: int, align: bool, brands: object = None) -> bytes:
    if start > 0 and _first_death(path):
        die_sending_result()
    return _extract_range(path, start, end, align, brands)


def extract_range_dying(path: str, start: int, end: int, align: bool, brands: object = None) -> bytes:
    if start > 0:
        die_sending_result()
    return _extract_range(path, start, end, align, brands)


def extract_batch_dying(pages: object, brands: object = None) -> NoReturn:
    die_sending_result()


def _first_death(archive: str) -> bool:
    # A file beside the archive, made by exactly one worker: the proof, too, that one died.
    try:
        os.close(os.open(archive + ".died", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


RANGE_READERS = {"once": extract_range_dying_once, "always": extract_range_dying}


def ingest_pages_losing_workers(archive: str, db: str) -> int:
    from linkback import ingest  # noqa: PLC0415 - the workers import this module, not these
    from linkback.errors import WorkerLost  # noqa: PLC0415
    from linkback.sources.warc import ReadStats, iter_archive  # noqa: PLC0415
    from linkback.store import Store  # noqa: PLC0415

    ingest.extract_batch = extract_batch_dying  # type: ignore[assignment]
    with Store(db) as store:
        try:
            ingest.ingest_pages(store, iter_archive(archive, stats=ReadStats()), workers=2, via="test")
        except WorkerLost:
            return EXIT_WORKER_LOST
    return 0


def main() -> None:
    mode, *args = sys.argv[1:]
    if mode.endswith("-unwatched"):
        mode = mode.removesuffix("-unwatched")
        _workers.LOST_GRACE_SECONDS = 3600.0
    if mode == "pages":
        sys.exit(ingest_pages_losing_workers(*args))
    _workers.extract_range = RANGE_READERS[mode]  # what RangeWork hands the workers, early start too
    _workers.SPLIT_BYTES = SPLIT_BYTES
    from linkback.cli._entry import main as linkback  # noqa: PLC0415 - as the command is run

    sys.argv = ["linkback", *args]
    linkback()


if __name__ == "__main__":
    # The functions the workers run are pickled by name: this module's, not __main__'s.
    import dying_worker  # noqa: PLC0415

    dying_worker.main()
