"""The ``linkback ingest`` command starts its workers on the first archive before its own imports
(``linkback._workers.start_early``); ingest takes that work over, or drops it when it is not for
the file it is ingesting."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_DATA
from test_ingest import snapshot

from linkback import _workers
from linkback.cli._entry import ingest_inputs
from linkback.ingest import ingest
from linkback.store import Store

ARCHIVE = REPO_DATA / "warc" / "aut" / "example.warc.gz"
OTHER = REPO_DATA / "warc" / "resiliparse" / "warcfile.warc.gz"


@pytest.fixture(autouse=True)
def no_early_work_left():
    yield
    _workers.drop_early()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ingest", "a.warc.gz", "--workers", "2"], ["a.warc.gz"]),
        (["ingest", "-w", "2", "--db", "x.duckdb", "a.warc.gz", "b/"], ["a.warc.gz", "b/"]),
        (["ingest", "--db=x.duckdb", "--format", "json", "-q", "a.warc.gz"], ["a.warc.gz"]),
        (["ingest", "a.warc.gz", "--help"], []),  # Typer's to answer
        (["ingest", "a.warc.gz", "--no-such-option"], []),
        (["ingest", "--", "-odd-name.warc.gz"], []),
        (["overview", "example.com"], []),
        ([], []),
    ],
)
def test_the_command_line_names_the_archives_to_start_on(argv: list[str], expected: list[str]) -> None:
    assert ingest_inputs(argv) == expected


def reference(tmp_path: Path, archive: Path) -> dict:
    with Store(tmp_path / "reference.duckdb") as store:
        ingest([archive], store=store, workers=1)
        return snapshot(store)


def test_ingest_takes_over_the_work_started_early(tmp_path: Path) -> None:
    _workers.start_early([str(ARCHIVE)], 2)
    early = _workers._early
    assert early is not None and early.pool is not None
    with Store(tmp_path / "two.duckdb") as store:
        summary = ingest([ARCHIVE], store=store, workers=2)
        assert _workers._early is None  # pool and ranges both taken
        assert summary.files[0].status == "ingested"
        assert snapshot(store) == reference(tmp_path, ARCHIVE)


def test_work_started_on_another_file_is_dropped(tmp_path: Path) -> None:
    _workers.start_early([str(OTHER)], 2)
    assert _workers._early is not None
    with Store(tmp_path / "two.duckdb") as store:
        ingest([ARCHIVE], store=store, workers=2)
        assert snapshot(store) == reference(tmp_path, ARCHIVE)
    _workers.drop_early()
    assert _workers._early is None


def test_work_started_on_a_file_that_changed_since_is_dropped(tmp_path: Path) -> None:
    archive = tmp_path / "crawl.warc.gz"
    shutil.copy(OTHER, archive)
    _workers.start_early([str(archive)], 2)
    assert _workers._early is not None
    _workers._early.thread.join()
    for _, fut in _workers._early.work.in_flight:
        fut.exception()  # done: a worker still reading the file would die as it is cut short
    shutil.copy(ARCHIVE, archive)  # same name, other bytes
    os.utime(archive, ns=(1, 1))
    with Store(tmp_path / "two.duckdb") as store:
        ingest([archive], store=store, workers=2)
        assert snapshot(store) == reference(tmp_path, ARCHIVE)


def test_an_archive_ingested_before_is_not_ingested_again_for_having_started_early(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        ingest([ARCHIVE], store=store, workers=1)
        before = snapshot(store)
        _workers.start_early([str(ARCHIVE)], 2)
        assert _workers._early is not None
        summary = ingest([ARCHIVE], store=store, workers=2)
        assert summary.files[0].status == "already_ingested"
        assert snapshot(store) == before


def test_ranges_the_early_thread_could_not_hand_out_are_handed_out_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_ranges(path: Path):
        raise OSError("the disk went away for a moment")
        yield  # pragma: no cover

    with monkeypatch.context() as m:
        m.setattr(_workers, "ranges", broken_ranges)
        _workers.start_early([str(ARCHIVE)], 2)
        assert _workers._early is not None
        _workers._early.thread.join()
        assert isinstance(_workers._early.failed, OSError)
    with Store(tmp_path / "two.duckdb") as store:
        ingest([ARCHIVE], store=store, workers=2)
        assert snapshot(store) == reference(tmp_path, ARCHIVE)


@pytest.mark.parametrize(
    "inputs",
    [
        [],
        ["no/such/file.warc.gz"],
        [str(REPO_DATA / "broken" / "not-a-warc.warc")],
        # Only archives cut in small ranges: a plain or whole-file gzip WARC would be one range
        # (or a header pass), and work nobody takes is waited for at exit.
        [str(REPO_DATA / "warc" / "aut" / "issue-514.warc")],
        [str(REPO_DATA / "broken" / "whole-file-gzip.warc.gz")],
    ],
)
def test_nothing_starts_early_on_doubt(inputs: list[str]) -> None:
    _workers.start_early(inputs, 2)
    assert _workers._early is None


def test_a_pool_of_another_size_is_not_taken() -> None:
    _workers.start_early([str(ARCHIVE)], 2)
    assert _workers.take_early_pool(3) is None
    taken = _workers.take_early_pool(2)
    assert taken is not None
    taken.shutdown(cancel_futures=True)


def test_workers_run_at_a_lower_priority_than_the_writer() -> None:
    pool = _workers.pool(2)
    try:
        niceness = pool.submit(os.nice, 0).result(timeout=60)
    finally:
        pool.shutdown()
    assert niceness == min(os.nice(0) + _workers.WORKER_NICENESS, 19)


REAL_POOL = _workers.pool


def dead_pool(workers: int):
    """A real pool whose worker process was killed (as by the kernel's out-of-memory killer)."""
    pool = REAL_POOL(workers)
    pool.submit(os.getpid).result(timeout=60)
    for process in list(pool._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
        process.join()
    return pool


def test_a_killed_worker_is_replaced_and_the_file_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = []

    def first_dead(workers: int):
        made.append(dead_pool(workers) if not made else REAL_POOL(workers))
        return made[-1]

    monkeypatch.setattr(_workers, "pool", first_dead)
    with Store(tmp_path / "two.duckdb") as store:
        summary = ingest([ARCHIVE], store=store, workers=2)
        assert [f.status for f in summary.files] == ["ingested"]
        assert len(made) == 2
        assert snapshot(store) == reference(tmp_path, ARCHIVE)


def test_a_file_whose_workers_die_twice_fails_with_a_reason_and_resumes_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        m.setattr(_workers, "pool", dead_pool)
        with Store(tmp_path / "two.duckdb") as store:
            summary = ingest([OTHER, ARCHIVE], store=store, workers=2)
    assert [f.status for f in summary.files] == ["failed", "failed"]
    assert {f.path: f.errors for f in summary.files}[str(ARCHIVE)] == [
        f"{ARCHIVE}: an extraction worker process ended abruptly (killed by a signal: out of memory?), twice; "
        "what was stored before stays: run again to resume the file where it stopped"
    ]
    with Store(tmp_path / "two.duckdb") as store:
        summary = ingest([ARCHIVE], store=store, workers=2)
        assert [f.status for f in summary.files] == ["ingested"]
        assert snapshot(store) == reference(tmp_path, ARCHIVE)


def test_a_file_that_changed_as_its_worker_died_is_not_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "crawl.warc.gz"
    shutil.copy(ARCHIVE, archive)
    real_ranges = _workers.ranges

    def touched_ranges(path: Path):
        os.utime(path, ns=(1, 1))  # rewritten while it is read
        yield from real_ranges(path)

    monkeypatch.setattr(_workers, "pool", dead_pool)
    monkeypatch.setattr(_workers, "ranges", touched_ranges)
    with Store(tmp_path / "two.duckdb") as store:
        summary = ingest([archive], store=store, workers=2)
    (f,) = summary.files
    assert f.status == "failed"
    assert f.errors == [
        f"{archive}: the file changed while it was read (a worker process reading it ended abruptly); "
        "run again to read it afresh"
    ]


def test_a_file_resumed_after_its_worker_died_counts_what_it_wrote_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkback import ingest as ingest_module

    # Small ranges, each written as it comes: the worker dies with some written and more to do.
    monkeypatch.setattr(_workers, "SPLIT_BYTES", 64 * 1024)
    monkeypatch.setattr(ingest_module, "WRITE_PAGES_WITH_WORKERS", 1)
    with Store(tmp_path / "clean.duckdb") as store:
        (clean,) = ingest([ARCHIVE], store=store, workers=2).files
    made: list = []

    def recorded(workers: int):
        made.append(REAL_POOL(workers))
        return made[-1]

    def kill_once(progress) -> None:
        if len(made) == 1 and progress.pages and not getattr(made[0], "killed", False):
            made[0].killed = True
            # Killed idle, not while one sends back its result: then CPython's pool waits for the
            # rest of the message for ever instead of calling itself broken, and it is ingest's
            # own watch that gives the worker up, a second later (test_ingest_watchdog).
            for item in list(made[0]._pending_work_items.values()):
                item.future.exception(timeout=60)
            for process in list(made[0]._processes.values()):
                os.kill(process.pid, signal.SIGKILL)

    monkeypatch.setattr(_workers, "pool", recorded)
    with Store(tmp_path / "two.duckdb") as store:
        (f,) = ingest([ARCHIVE], store=store, workers=2, on_progress=kill_once).files
        assert len(made) == 2 and f.status == "ingested"
        assert (f.pages, f.links, f.duplicates, f.html_pages) == (clean.pages, clean.links, clean.duplicates,
                                                                  clean.html_pages)  # fmt: skip
        assert snapshot(store) == reference(tmp_path, ARCHIVE)


ALLOCATOR_PROBE = """
import os, sys
from linkback.cli._entry import main
sys.argv = ["linkback", "--help"]
try:
    main()
except SystemExit:
    pass
import pyarrow as pa
from linkback import _workers
pool = _workers.pool(1)
try:
    worker = pool.submit(os.getenv, "ARROW_DEFAULT_MEMORY_POOL").result(timeout=60)
finally:
    pool.shutdown()
print("allocators:", pa.default_memory_pool().backend_name, worker)
"""


@pytest.mark.parametrize(("setting", "expected"), [(None, "system system"), ("jemalloc", "jemalloc jemalloc")])
def test_the_command_and_its_workers_use_the_c_librarys_allocator_unless_told_otherwise(
    setting: str | None, expected: str
) -> None:
    # mimalloc, pyarrow's default, costs ingest a third more system CPU (see cli/_entry.main).
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if setting:
        env["ARROW_DEFAULT_MEMORY_POOL"] = setting
    out = subprocess.run([sys.executable, "-c", ALLOCATOR_PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == f"allocators: {expected}"
