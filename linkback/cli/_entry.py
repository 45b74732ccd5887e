"""The ``linkback`` command: load only the command module the command line names, and start
ingest's workers before even that; and how every command ends when it is cut short.

Two endings are the same for every command, so they are handled here, once, around it all:

* **Ctrl-C** (start-up, the command, its clean-up) ends with one line, ``interrupted``, and exit
  status 130 (128 + SIGINT, what a shell reports for a program Ctrl-C ended). A command that
  says more about its interruption (ingest: what it kept) says it and exits 130 itself.
* **A closed stdout pipe** (``linkback export links | head``) ends quietly with exit status 141:
  128 + SIGPIPE, what ``cat``, ``grep`` or ``git log`` give in the same place, so a pipeline
  reads the same whatever produced its input. Not 0: the output was cut short, which a script
  running with ``set -o pipefail`` should hear about, as it does from those tools. SIGPIPE's
  default action stays off (Python's "Note on SIGPIPE"): the server and the fetcher write to
  sockets, where a closed connection is an error to handle, not a reason to die.
"""

from __future__ import annotations

import errno
import gc
import importlib
import os
import select
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

#: The exit status of a command ended by Ctrl-C: 128 + SIGINT.
EXIT_INTERRUPTED = 130
#: The exit status of a command whose stdout was closed by its reader: 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141

#: The module that registers each command (tests/test_docs.py checks it against the
#: registrations): ``linkback ingest`` need not import the server, the sender or the ranks.
COMMAND_MODULES = {
    "ingest": "_ingest",
    **dict.fromkeys(
        ["overview", "backlinks", "refdomains", "anchors", "pages", "tlds", "history", "export", "domains"],
        "_reports",
    ),
    **dict.fromkeys(["rank", "dr", "toxic", "disavow", "allow", "deny", "lists", "profile"], "_quality"),
    **dict.fromkeys(["send", "sent"], "_send"),
    **dict.fromkeys(["serve", "refbacks", "site", "mentions"], "_serve"),
    **dict.fromkeys(["trend", "growth", "churn"], "_trend"),
    **dict.fromkeys(["compare", "intersect", "linked-domains"], "_compare"),
    **dict.fromkeys(["import", "claims", "imports"], "_import"),
    "share": "_share",
    "spark": "_spark",
    "cc": "_cc",
    "attach": "_attach",
    "crawl": "_crawl",
    "monitor": "_monitor",
    "alerts": "_alerts",
    **dict.fromkeys(["broken", "prospects"], "_broken"),
    **dict.fromkeys(["visits", "traffic", "traffic-trend", "silent-backlinks", "visit-imports"], "_traffic"),
    **dict.fromkeys(["categorize", "categories", "category"], "_categories"),
    **dict.fromkeys(["unlinked", "rescan"], "_brands"),
}


def ingest_workers(argv: list[str]) -> int:
    """How many worker processes ``linkback ARGV`` will start for ingest (0: not an ingest)."""
    if not argv or argv[0] != "ingest":
        return 0
    value = None
    for k, arg in enumerate(argv[1:], start=1):
        if arg in ("--workers", "-w") and k + 1 < len(argv):
            value = argv[k + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
    try:
        workers = int(value) if value is not None else 0
    except ValueError:
        return 0  # the CLI will say what is wrong with it
    from linkback import _workers  # noqa: PLC0415 - see main()

    # As the command: 0 is one per core, and below 1 is 1.
    return _workers.default_workers() if workers == 0 else max(workers, 1)


def app_for(argv: list[str]) -> Any:
    """The Typer app with the command ``argv`` names loaded, or every command (help, typos);
    none for ``--version``, which the group's eager callback answers before any command."""
    if argv and argv[0] == "--version":
        from linkback.cli import _app  # noqa: PLC0415

        return _app.app
    module = COMMAND_MODULES.get(argv[0]) if argv else None
    if module is None:
        from linkback.cli import app  # noqa: PLC0415

        return app
    importlib.import_module(f"linkback.cli.{module}")
    from linkback.cli._app import app  # noqa: PLC0415

    return app


#: The ingest command's options that take a value, and its flags: a command line with anything
#: else is left to Typer alone.
_INGEST_VALUE_OPTIONS = ("--workers", "-w", "--db", "--format")
_INGEST_FLAGS = ("--quiet", "-q")


def ingest_inputs(argv: list[str]) -> list[str]:
    """The archives an ingest command line names, if it is a plain one ([] otherwise)."""
    if not argv or argv[0] != "ingest":
        return []
    inputs: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        if arg in _INGEST_VALUE_OPTIONS:
            next(args, None)
        elif arg.split("=", 1)[0] in _INGEST_VALUE_OPTIONS or arg in _INGEST_FLAGS:
            continue
        elif arg.startswith("-"):
            return []  # --help, a typo, "--": Typer's to judge
        else:
            inputs.append(arg)
    return inputs


def main() -> None:
    # NumPy's OpenBLAS starts a thread per core when it loads, and they spin for a while: about
    # 0.1 CPU-seconds in every process (the command, each ingest worker), for linear algebra
    # linkback never does. Set before anything imports NumPy (workers inherit it); a user's
    # own setting is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # pyarrow's default allocator, mimalloc, backs its arenas with huge pages that the kernel
    # zeroes on first touch: ingesting the 1,169 bundled pages (--workers 1, medians of 7
    # interleaved runs) took 1.07 s of system CPU with it, 0.74 s with the C library's malloc,
    # 8.09 s of CPU in all against 7.90. The system allocator also gives freed memory back,
    # which a long-running server wants.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    argv = sys.argv[1:]
    stdout_at_start = _file_identity(sys.__stdout__)
    try:
        try:
            _start_workers_early(argv)
            app = app_for(argv)
            # What the imports made lives as long as the process: frozen, it is left out of the
            # collector's full passes over the objects a command makes (an ingest of the 1,169
            # real pages makes hundreds of thousands: ~0.1 CPU-s less).
            gc.freeze()
            app(prog_name="linkback")
        finally:
            _drop_early_work()
        _flush_stdout()
    except BaseException as exc:  # noqa: BLE001 - re-raised unless it is one of the two endings
        _end_if_cut_short(exc, stdout_at_start)
        raise
    finally:
        # From here on the interpreter shuts down (atexit handlers join the pool's threads): a
        # Ctrl-C there ends the process at once, instead of with a traceback from a handler.
        _on_ctrl_c_exit_at_once()
        # Shutting down, the interpreter collects garbage over every object the libraries loaded
        # (~0.15 s after an ingest, all on one core at the very end); the process is ending, so
        # the memory goes back anyway. Objects freed by reference count are still finalised.
        gc.freeze()


def _ingest_db(argv: list[str]) -> str:
    """The database an ingest command line names (``--db``, else $LINKBACK_DB, else the default)."""
    for i, arg in enumerate(argv):
        if arg == "--db" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--db="):
            return arg[5:]
    return os.environ.get("LINKBACK_DB") or "linkback.duckdb"


def _start_workers_early(argv: list[str]) -> None:
    workers = ingest_workers(argv)
    # A server that owns the database does the ingest itself: nothing to start here.
    if workers > 1 and not os.path.exists(_ingest_db(argv) + ".server.json"):
        # Imported here, not at the top: a Ctrl-C during these imports is one main() handles.
        from linkback import _workers  # noqa: PLC0415

        # The forkserver's imports, and then the first ranges of the first archive, overlap the
        # CLI's own imports and opening the database (~0.5 s) instead of following them.
        _workers.warm()
        _workers.start_early(ingest_inputs(argv), workers, brands=lambda: _brand_terms(_ingest_db(argv)))


def _brand_terms(db: str) -> object:
    # The first ranges' pages are scanned for the brand terms too: read before they start, not
    # dropped and redone once ingest has read them.
    from linkback.brands._store import read_terms  # noqa: PLC0415

    return read_terms(db)


def _drop_early_work() -> None:
    workers = sys.modules.get("linkback._workers")  # not imported: nothing was started early
    if workers is not None:
        workers.drop_early()


def _flush_stdout() -> None:
    # Output still buffered is written now, while a closed pipe can be handled, rather than by
    # the interpreter at exit, which would print "Exception ignored ... BrokenPipeError".
    if sys.stdout is not None:
        sys.stdout.flush()


def _end_if_cut_short(exc: BaseException, stdout_at_start: tuple[int, int] | None) -> None:
    """Exit as :data:`EXIT_INTERRUPTED` or :data:`EXIT_BROKEN_PIPE` explain, if ``exc`` ends the
    command for one of those reasons; return otherwise."""
    if any(isinstance(e, KeyboardInterrupt) for e in _chain(exc)):
        # Typer turns a Ctrl-C in a command into a silent exit 130 (SystemExit, caused by the
        # KeyboardInterrupt); anything raised while cleaning up after one is part of it too.
        _interrupted()
    if _stdout_closed(exc, stdout_at_start):
        # Everything that still writes to stdout (the interpreter's last flush included) now
        # writes to nothing, as the Python docs' "Note on SIGPIPE" does.
        _redirect_to_devnull(sys.__stdout__)
        if _is_closed_pipe(sys.__stderr__):  # `2>&1 | head`: the same pipe
            _redirect_to_devnull(sys.__stderr__)
        sys.exit(EXIT_BROKEN_PIPE)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) not in seen:
            seen.add(id(e))
            yield e
            todo += [c for c in (e.__cause__, e.__context__) if c is not None]


def _stdout_closed(exc: BaseException, stdout_at_start: tuple[int, int] | None) -> bool:
    """True if stdout's reader has gone and that is what ended the command.

    A broken pipe in ``exc``'s chain alone does not say it: a socket's (a webmention endpoint
    that hung up) is an error to report. So stdout itself must be a pipe with no reader, or
    have been pointed at /dev/null since the start: Rich does that when stdout's pipe breaks
    under it (and exits 1)."""
    try:
        _flush_stdout()
    except BrokenPipeError:
        return True
    except OSError:
        pass  # another error writing: not this ending
    if not any(isinstance(e, OSError) and e.errno == errno.EPIPE for e in _chain(exc)):
        return False
    now = _file_identity(sys.__stdout__)
    swapped = now != stdout_at_start and now == _file_identity(os.devnull)
    return swapped or _is_closed_pipe(sys.__stdout__)


def _file_identity(file: Any) -> tuple[int, int] | None:
    """(device, inode) of a stream or a path; None if it has none."""
    try:
        st = os.stat(file) if isinstance(file, str) else os.fstat(file.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _is_closed_pipe(stream: Any) -> bool:
    # A pipe (or socket) whose reader has gone polls as an error for its writer.
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(revents & (select.POLLERR | select.POLLHUP) for _, revents in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no stream, no file descriptor, no poll()
        return False


def _redirect_to_devnull(stream: Any) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    except (AttributeError, OSError, ValueError):  # no such stream: nothing writes to it
        pass
    finally:
        os.close(devnull)


def _interrupted() -> NoReturn:
    _on_ctrl_c_exit_at_once()  # a second Ctrl-C while this one is reported
    _say_interrupted()
    sys.exit(EXIT_INTERRUPTED)


_said_interrupted = False


def _say_interrupted() -> None:
    global _said_interrupted
    if not _said_interrupted:
        _said_interrupted = True
        try:
            if sys.stderr is not None:
                sys.stderr.flush()  # what the command wrote before it, first
        except (OSError, RuntimeError):  # closed; or in a signal handler, in the middle of a write
            pass
        try:
            os.write(2, b"interrupted\n")  # not print(): this may run in a signal handler
        except OSError:
            pass  # stderr closed too: the exit status still says it


def _exit_at_once(signum: int, frame: object) -> None:
    _say_interrupted()
    os._exit(EXIT_INTERRUPTED)


def _on_ctrl_c_exit_at_once() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _exit_at_once)
