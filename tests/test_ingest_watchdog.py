"""A worker killed while it writes its result back (by the out-of-memory killer, by ``kill -9``)
is a lost worker like any other: CPython's pool waits for the rest of that message for ever,
so ingest watches its workers itself (``linkback._workers.result``) and kills the pool.

Each test runs the real command (tests/dying_worker.py: its workers die so) in a session of its
own, with a hard timeout, so that a hang fails the test instead of the suite; once the command
has ended, none of the processes it started may be left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import REPO_DATA
from dying_worker import DEATH_MARK, EXIT_WORKER_LOST
from test_ingest import snapshot
from test_lifecycle import kill_group, wait_until_gone

from linkback import _workers
from linkback.ingest import FileSummary, ingest
from linkback.store import Store

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table in /proc")

ARCHIVE = REPO_DATA / "warc" / "resiliparse" / "warcfile.warc.gz"  # 133 KB: 5 ranges of dying_worker's
DYING_WORKER = Path(__file__).with_name("dying_worker.py")
#: A run that takes this long hung (each takes ~2 s on a loaded machine).
HUNG_SECONDS = 30.0


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[FileSummary, dict]:
    """The archive ingested with no worker lost: its summary, and the store's snapshot."""
    with Store(tmp_path_factory.mktemp("clean") / "db.duckdb") as store:
        (f,) = ingest([ARCHIVE], store=store, workers=1).files
        return f, snapshot(store)


def run_dying(*args: object) -> subprocess.CompletedProcess[bytes]:
    """``python dying_worker.py ARGS...``, which must end within HUNG_SECONDS and leave nothing."""
    command = [sys.executable, str(DYING_WORKER), *map(str, args)]
    with subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            out, err = proc.communicate(timeout=HUNG_SECONDS)
            left = wait_until_gone(proc.pid)
        except subprocess.TimeoutExpired:
            pytest.fail(f"hung: still running after {HUNG_SECONDS} s")
        finally:
            kill_group(proc.pid)
    assert not left, f"left running: {list(left.values())}"
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def ingest_dying(mode: str, archive: Path, db: Path) -> tuple[subprocess.CompletedProcess[bytes], FileSummary]:
    ran = run_dying(mode, "ingest", archive, "--workers", "2", "--db", db, "--format", "json", "-q")
    (f,) = json.loads(ran.stdout)["files"]
    return ran, FileSummary(**{k: v for k, v in f.items() if k in FileSummary.__dataclass_fields__})


def test_a_worker_killed_sending_its_result_is_replaced_and_the_file_resumed(
    tmp_path: Path, clean: tuple[FileSummary, dict]
) -> None:
    archive = tmp_path / "crawl.warc.gz"
    shutil.copy(ARCHIVE, archive)
    ran, f = ingest_dying("once", archive, tmp_path / "db.duckdb")
    assert archive.with_name("crawl.warc.gz.died").exists()  # a worker did die so
    assert ran.returncode == 0 and f.status == "ingested"
    assert b"resuming the file with new worker processes" in ran.stderr
    expected, expected_snapshot = clean
    assert (f.pages, f.links, f.duplicates, f.html_pages) == (expected.pages, expected.links, 0, expected.html_pages)
    with Store(tmp_path / "db.duckdb") as store:
        assert snapshot(store) == expected_snapshot


def test_a_file_whose_workers_die_sending_their_results_fails_with_a_reason_and_resumes_later(
    tmp_path: Path, clean: tuple[FileSummary, dict]
) -> None:
    ran, f = ingest_dying("always", ARCHIVE, tmp_path / "db.duckdb")
    assert ran.returncode == 1 and f.status == "failed"
    assert f.errors == [
        f"{ARCHIVE}: an extraction worker process ended abruptly (killed by a signal: out of memory?), twice; "
        "what was stored before stays: run again to resume the file where it stopped"
    ]
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([ARCHIVE], store=store, workers=1).files
        assert f.status == "ingested"
        assert snapshot(store) == clean[1]


def test_pages_extracted_by_workers_that_die_sending_their_results_end_in_worker_lost(tmp_path: Path) -> None:
    # Pages read as a stream (a crawl's), extracted in batches by a pool ingest_pages makes itself.
    ran = run_dying("pages", ARCHIVE, tmp_path / "db.duckdb")
    assert ran.returncode == EXIT_WORKER_LOST, ran.stderr.decode()


@pytest.mark.parametrize("make_pool", [_workers.pool, ThreadPoolExecutor], ids=["processes", "threads"])
def test_a_result_slower_than_the_watch_is_waited_for(
    make_pool: Callable[[int], Executor], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a dead worker is lost: one that takes its time is not (threads: the ranges tests' pools).
    monkeypatch.setattr(_workers, "WATCH_SECONDS", 0.02)
    pool: Executor = make_pool(2)
    try:
        assert _workers.result(pool.submit(time.sleep, 0.2), pool) is None  # type: ignore[arg-type]
    finally:
        pool.shutdown()


@pytest.mark.parametrize("mode", ["once-unwatched", "pages-unwatched"])
def test_ctrl_c_while_a_worker_lies_dead_mid_message_ends_the_command(tmp_path: Path, mode: str) -> None:
    # The watchdog's grace made an hour long: Ctrl-C comes while the command still waits on the
    # lost worker's result. Before, the pool was shut down without its workers being killed,
    # and the interpreter's exit waited for ever on the pool's thread, reading the half message.
    mark, archive = tmp_path / "died", tmp_path / "crawl.warc.gz"
    shutil.copy(ARCHIVE, archive)  # "once" marks the death beside it
    if mode == "pages-unwatched":
        args: list[object] = [mode, archive, tmp_path / "db.duckdb"]
    else:
        args = [mode, "ingest", archive, "--workers", "2", "--db", tmp_path / "db.duckdb", "-q"]
    command = [sys.executable, str(DYING_WORKER), *map(str, args)]
    env = {**os.environ, DEATH_MARK: str(mark)}
    with subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as proc:
        try:
            deadline = time.monotonic() + HUNG_SECONDS
            while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert mark.exists(), "no worker died"
            time.sleep(0.3)  # the command is in its wait on the lost result
            assert proc.poll() is None
            os.killpg(proc.pid, signal.SIGINT)
            try:
                _out, err = proc.communicate(timeout=HUNG_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"hung: still running {HUNG_SECONDS} s after Ctrl-C")
            left = wait_until_gone(proc.pid)
        finally:
            kill_group(proc.pid)
    assert not left, f"left running: {list(left.values())}"
    if mode == "once-unwatched":
        assert proc.returncode == 130, err.decode()
        assert " ".join(err.decode().split()).startswith("interrupted: the committed batches are kept")
    else:
        assert proc.returncode in (130, -signal.SIGINT), err.decode()
