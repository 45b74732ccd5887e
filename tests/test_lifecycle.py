"""How the ``linkback`` command ends when it is cut short: killed (no process it started outlives
it), interrupted with Ctrl-C (one line, exit status 130), or writing into a pipe nobody reads
any more (quietly, exit status 141).

Each test runs the real command in a session of its own, so that its process group holds the
command and every process it started, as a terminal's foreground job does; Ctrl-C is SIGINT to
that whole group, as a terminal sends it.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO_DATA, copy_db

from linkback.cli import _entry

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table in /proc")

WARC = REPO_DATA / "warc"
#: Gzipped per record: `linkback ingest` starts its workers on it before its own imports.
ARCHIVE = WARC / "aut" / "example.warc.gz"
#: Not gzipped: nothing starts early, the pool starts inside ingest().
PLAIN = WARC / "aut" / "issue-514.warc"

#: Every process the command started must be gone this long after it was killed (issue 13).
ORPHAN_GRACE_SECONDS = 5.0
#: The most a test waits for the moment it needs (a loaded machine is slow, never this slow).
MOMENT_TIMEOUT_SECONDS = 120.0
#: Runs of an ingest to catch a short moment in (its end) before giving up.
ATTEMPTS = 3

_script = Path(sys.executable).with_name("linkback")
LINKBACK = [str(_script)] if _script.exists() else [sys.executable, "-m", "linkback"]

#: Runs the command and presses Ctrl-C (SIGINT to its process group) the moment it starts
#: importing its libraries: start-up, before it has even parsed its command line.
CTRL_C_WHILE_IMPORTING = """
import os, signal, sys

class CtrlCWhileImporting:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            sys.meta_path.remove(self)
            os.killpg(0, signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlCWhileImporting())
from linkback.cli._entry import main
sys.argv = ["linkback", *sys.argv[1:]]
main()
"""


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cmdline: str


def process_group(pgid: int) -> dict[int, Proc]:
    """The processes of group ``pgid`` that still run (zombies have ended)."""
    procs = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        state, ppid, pgrp = stat[stat.rfind(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            pid = int(entry.name)
            procs[pid] = Proc(pid, int(ppid), cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return procs


@dataclass(frozen=True)
class Tree:
    """The command's processes at one moment, by role."""

    command: Proc | None
    forkserver: Proc | None
    tracker: Proc | None
    workers: list[Proc]

    @classmethod
    def of(cls, procs: dict[int, Proc], command_pid: int) -> Tree:
        forkserver = next((p for p in procs.values() if "multiprocessing.forkserver" in p.cmdline), None)
        tracker = next((p for p in procs.values() if "multiprocessing.resource_tracker" in p.cmdline), None)
        workers = [p for p in procs.values() if forkserver is not None and p.ppid == forkserver.pid]
        return cls(procs.get(command_pid), forkserver, tracker, workers)


def linkback(*args: object, **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*LINKBACK, *map(str, args)], start_new_session=True, **popen)  # type: ignore[call-overload]


def wait_until_gone(pgid: int) -> dict[int, Proc]:
    """Wait for group ``pgid`` to empty, up to ORPHAN_GRACE_SECONDS; what is left."""
    deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
    while (left := process_group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def kill_group(pgid: int) -> None:
    """Clean up after a failed test: nothing of it is left running."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def db(repo_warc_ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of every bundled archive: the pages of archive.org have ~5 MB of backlinks."""
    return copy_db(repo_warc_ingested, tmp_path_factory.mktemp("lifecycle") / "index.duckdb")


# -- kill -9: no orphans ---------------------------------------------------------------------


class Moments:
    """Moments of `linkback ingest --workers 2` at which it is killed, as a test sees them from
    outside: each a function of the processes now and what was seen before."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.seen_workers = False
        self.seen_commit = False

    def see(self, tree: Tree) -> None:
        self.seen_workers |= bool(tree.workers)
        # The write-ahead log appears with the first committed batch (a checkpoint removes it).
        self.seen_commit |= self.db.with_name(self.db.name + ".wal").exists()

    def forkserver_starting(self, tree: Tree) -> bool:
        return tree.forkserver is not None and tree.tracker is not None and not self.seen_workers

    def mid_ingest(self, tree: Tree) -> bool:
        return tree.tracker is not None and len(tree.workers) == 2 and self.seen_commit

    def final_write(self, tree: Tree) -> bool:
        # The pool has been shut down; the command writes and checkpoints the last batches.
        return tree.forkserver is not None and self.seen_workers and not tree.workers


KILL_MOMENTS = {
    # Started on a plain WARC, the command warms the forkserver, then imports and opens the store.
    "before the pool starts": (PLAIN, Moments.forkserver_starting),
    # On a WARC gzipped per record, a thread of the command waits to hand its first ranges out.
    "while the early start warms the forkserver": (ARCHIVE, Moments.forkserver_starting),
    "mid-ingest": (WARC, Moments.mid_ingest),
    "during the final write": (WARC, Moments.final_write),
}


@pytest.mark.parametrize("moment", list(KILL_MOMENTS))
def test_no_process_outlives_a_killed_ingest(tmp_path: Path, moment: str) -> None:
    archives, reached = KILL_MOMENTS[moment]
    for attempt in range(ATTEMPTS):
        db = tmp_path / f"attempt{attempt}.duckdb"
        proc = linkback(
            "ingest", archives, "--workers", "2", "--db", db, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            at_kill = _kill_when(proc, Moments(db), reached)
            if at_kill is None:
                continue  # it ended before the moment came: try again
            assert at_kill.forkserver is not None and at_kill.tracker is not None  # what could be orphaned
            left = wait_until_gone(proc.pid)
            assert not left, f"still running {ORPHAN_GRACE_SECONDS} s after the kill: {list(left.values())}"
            return
        finally:
            proc.kill()
            proc.wait()
            kill_group(proc.pid)
    pytest.fail(f"in {ATTEMPTS} runs, ingest ended before the moment came: {moment}")


def _kill_when(
    proc: subprocess.Popen[bytes], moments: Moments, reached: Callable[[Moments, Tree], bool]
) -> Tree | None:
    """SIGKILL the command once ``reached``; its processes then (None: it ended first)."""
    deadline = time.monotonic() + MOMENT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        tree = Tree.of(process_group(proc.pid), proc.pid)
        moments.see(tree)
        if tree.command is None:
            return None
        if reached(moments, tree):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return tree if proc.returncode == -signal.SIGKILL else None
        time.sleep(0.005)
    raise AssertionError(f"the moment never came in {MOMENT_TIMEOUT_SECONDS} s")


# -- Ctrl-C: one line, exit status 130 -------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        # The forkserver is starting, and a thread waits to hand it the first ranges.
        ["ingest", ARCHIVE, "--workers", "2"],
        ["overview", "example.com"],
    ],
    ids=["ingest --workers 2", "overview"],
)
def test_ctrl_c_during_start_up_ends_with_one_line(tmp_path: Path, args: list[object]) -> None:
    db = tmp_path / "x.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_WHILE_IMPORTING, *map(str, args), "--db", str(db)],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=MOMENT_TIMEOUT_SECONDS)
        # Neither the command nor its forkserver and workers print a traceback.
        assert (proc.returncode, out, err) == (130, b"", b"interrupted\n")
        assert not db.exists()  # it was start-up: the store was never opened
        assert not wait_until_gone(proc.pid)
    finally:
        kill_group(proc.pid)


def test_ctrl_c_in_the_middle_of_a_command_ends_with_one_line(db: Path) -> None:
    proc = linkback("export", "links", "--db", db, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        # The export is writing; with nobody reading, the pipe fills and holds it there.
        assert proc.stdout.read(1) == b"{"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=MOMENT_TIMEOUT_SECONDS)
        assert (proc.returncode, err) == (130, b"interrupted\n")
    finally:
        kill_group(proc.pid)


# -- a closed stdout pipe: quiet, exit status 141 --------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_reader_that_stops_early_ends_the_command_quietly(db: Path, fmt: str) -> None:
    """``linkback backlinks ... --format csv | head -1``: megabytes of output, written a row at a
    time, of which the reader takes one line."""
    args = ["backlinks", "archive.org", "--internal", "--format", fmt, "--limit", "0", "--db", db]
    with linkback(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            assert proc.stdout.readline()
            proc.stdout.close()
            err = proc.stderr.read()
            assert (proc.wait(timeout=MOMENT_TIMEOUT_SECONDS), err) == (_entry.EXIT_BROKEN_PIPE, b"")
        finally:
            kill_group(proc.pid)


@pytest.mark.parametrize(
    "args",
    [
        ["export", "links"],
        ["export", "pages", "--format", "csv"],
        *(["refdomains", "archive.org", "--format", fmt] for fmt in ("table", "json", "jsonl", "csv")),
    ],
    ids=lambda args: " ".join(args),
)
def test_a_reader_gone_before_any_output_ends_the_command_quietly(db: Path, args: list[str]) -> None:
    """``linkback ... | true``: whatever the command and format, however much output.

    (A reader that leaves while one write of megabytes waits for it, as a table or a single
    export batch is written, makes that write end short *without* an error, on Linux with
    Python 3.11: such a command then ends with 0, as quietly.)"""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = linkback(*args, "--db", db, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    try:
        _, err = proc.communicate(timeout=MOMENT_TIMEOUT_SECONDS)
        assert (proc.returncode, err) == (_entry.EXIT_BROKEN_PIPE, b"")
    finally:
        kill_group(proc.pid)


def test_a_broken_pipe_that_is_not_stdout_is_left_to_be_reported() -> None:
    """A socket's broken pipe (a server that hung up) is an error, not a reader that left:
    with stdout open, the entry point lets it go on."""
    error = OSError(errno.EPIPE, "Broken pipe")
    try:
        raise RuntimeError("the endpoint hung up") from error
    except RuntimeError as exc:
        _entry._end_if_cut_short(exc, _entry._file_identity(sys.__stdout__))  # returns: no exit
