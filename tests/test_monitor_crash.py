"""A ``linkback monitor run`` killed with SIGKILL mid-run: a check it had not finished is due at
the next run. A real subprocess checks a page of a web on 127.0.0.1 whose link is gone; the
fetch that would confirm the removal in the same run (``--confirm-after 0``) never answers, and
the run is killed once the first fetch's check is stored (the store's write-ahead log has grown
since that fetch came, and settled). With the default ``--confirm-after``, the loss is stored
pending and due an hour later, whatever happens to the rest of the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from webkit import HostWeb, Page, Request

from linkback.cli import app
from linkback.monitor import ledger, link_timeline, monitor_add
from linkback.store import Store

TARGET = "https://example.com/pricing"
WITHOUT_THE_LINK = Page("<!doctype html><main><p>We moved on.</p></main>")


@pytest.fixture
def web() -> Iterator[HostWeb]:
    with HostWeb() as web:
        yield web


def wal_settled(wal: Path, since: int, seconds: float = 30) -> None:
    """Wait until the write-ahead log has grown past ``since`` bytes and stayed still for a second:
    a write committed after that moment (the run's batch of checks)."""
    deadline, last, still_since = time.monotonic() + seconds, -1, time.monotonic()
    while time.monotonic() < deadline:
        size = wal.stat().st_size if wal.exists() else 0
        if size != last:
            last, still_since = size, time.monotonic()
        elif size > since and time.monotonic() - still_since >= 1.0:
            return
        time.sleep(0.05)
    raise AssertionError(f"no write reached {wal} in {seconds} s")


def killed_monitor_run(
    db: Path, args: list[str], ready: threading.Event, late: str, never: threading.Event, wal: Path, before: list[int]
) -> None:
    """``linkback monitor run ARGS`` in a process of its own, SIGKILLed once ``ready`` is set and
    the log has settled past its size when the run began (``before[0]``); ``never`` then set."""
    run = [sys.executable, "-m", "linkback", "monitor", "run", "--allow-private", "--render", "never",
           *args, "--format", "json", "--db", str(db)]  # fmt: skip
    proc = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert ready.wait(30), late
        wal_settled(wal, since=before[0])
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        never.set()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def test_a_check_cut_short_by_sigkill_is_due_at_the_next_run(web: HostWeb, tmp_path: Path) -> None:
    db = tmp_path / "monitor.duckdb"
    source = web.url("127.0.0.1", "/post")
    with Store(db) as store:
        monitor_add(store, source, TARGET)
    wal = Path(str(db) + ".wal")
    wal_before: list[int] = []  # its size when the first fetch came: no check of it stored yet
    confirming, never = threading.Event(), threading.Event()

    def page(hit: Request) -> Page:
        if not wal_before:
            wal_before.append(wal.stat().st_size if wal.exists() else 0)
        else:
            confirming.set()
            never.wait(60)  # the confirming fetch hangs until the run is killed
        return WITHOUT_THE_LINK

    web.pages["127.0.0.1", "/post"] = page
    killed_monitor_run(db, ["--confirm-after", "0"], confirming, "no confirming fetch in 30 s", never, wal, wal_before)

    with Store(db) as store:
        (row,) = ledger(store)
        assert (row["verdict"], row["reason"], row["pending"]) == ("unknown", "unconfirmed", "removed")
    web.pages["127.0.0.1", "/post"] = WITHOUT_THE_LINK
    # Left pending by the cut, it is due now, and any run (the default --confirm-after too) settles it.
    again = CliRunner().invoke(app, ["monitor", "run", "--allow-private", "--render", "never", "--format", "json",
                                     "--db", str(db)])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["checked"] == 1  # due now, not tomorrow
    with Store(db) as store:
        (row,) = ledger(store)
        assert (row["verdict"], row["reason"], row["pending"]) == ("lost", "removed", "")
        assert [c["found"] for c in link_timeline(store, row["link_id"])] == [False, False]


def test_a_loss_left_for_a_later_run_survives_sigkill_and_is_not_due_before_its_hour(
    web: HostWeb, tmp_path: Path
) -> None:
    db = tmp_path / "monitor.duckdb"
    with Store(db) as store:
        monitor_add(store, web.url("127.0.0.1", "/post"), TARGET)  # checked first (link 1)
        monitor_add(store, web.url("127.0.0.1", "/slow"), TARGET)
    wal = Path(str(db) + ".wal")
    wal_before: list[int] = []
    hanging, never = threading.Event(), threading.Event()

    def post(hit: Request) -> Page:
        wal_before.append(wal.stat().st_size if wal.exists() else 0)
        return WITHOUT_THE_LINK

    def slow(hit: Request) -> Page:
        hanging.set()
        never.wait(60)  # the run's second page never answers: the run is killed meanwhile
        return WITHOUT_THE_LINK

    web.pages["127.0.0.1", "/post"] = post
    web.pages["127.0.0.1", "/slow"] = slow
    killed_monitor_run(db, [], hanging, "the second page was not asked for in 30 s", never, wal, wal_before)
    assert len([h for h in web.log if h.path == "/post"]) == 1  # no confirming fetch in that run

    with Store(db) as store:
        pending, unchecked = ledger(store)
        assert (pending["verdict"], pending["reason"], pending["pending"]) == ("unknown", "unconfirmed", "removed")
        assert (pending["next_check_at"] - pending["checked_at"]).total_seconds() == 3600
        assert unchecked["checked_at"] is None
    web.pages["127.0.0.1", "/slow"] = WITHOUT_THE_LINK
    again = CliRunner().invoke(app, ["monitor", "run", "--allow-private", "--render", "never", "--format", "json",
                                     "--db", str(db)])  # fmt: skip
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["checked"], summary["pending"]) == (1, 1)  # the cut one only: the other waits its hour
    assert len([h for h in web.log if h.path == "/post"]) == 1
