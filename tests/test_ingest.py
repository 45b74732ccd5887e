"""Ingest end to end on the bundled real archives: idempotent, parallel, interruptible."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO_DATA
from typer.testing import CliRunner

from linkback.cli import app
from linkback.ingest import ingest
from linkback.store import Store

WARCS = REPO_DATA / "warc"
CRAWL = WARCS / "aut" / "example.warc.gz"  # Internet Archive, 2008: 261 responses


def snapshot(store: Store) -> dict[str, list[tuple]]:
    """Everything a user can see, in a stable order."""
    return {
        "links": store.con.execute(
            "SELECT source_url, target_url, kind, anchor, rel, section, first_seen, last_seen, lost_at, lost_reason "
            "FROM links ORDER BY ALL"
        ).fetchall(),
        "pages": store.con.execute("SELECT url, status, title, observations FROM pages ORDER BY ALL").fetchall(),
    }


def test_the_2008_crawl_ingests_with_its_pages_and_links(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        summary = ingest([CRAWL], store=store, workers=1)
        (f,) = summary.files
        assert f.status == "ingested"
        assert f.pages == 261 and f.html_pages == 94  # 140 HTML responses: 94 parsed, 40 errors, 7 redirects
        assert f.skipped["record/request"] == 261 and f.skipped["record/dns"] == 38
        n_links, n_pages = store.con.execute(
            "SELECT (SELECT count(*) FROM links), (SELECT count(*) FROM pages)"
        ).fetchall()[0]
        assert n_pages == 261
        assert n_links > 1000
        # every link row carries its derived host parts
        assert store.con.execute(
            "SELECT count(*) FROM links WHERE target_domain = '' OR target_rhost = '' OR source_domain IS NULL"
        ).fetchall()[0] == (0,)


def test_reingesting_a_file_adds_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        ingest([WARCS], store=store, workers=1)
        before = snapshot(store)
        counts = store.con.execute(
            "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM link_observations)"
        ).fetchall()
        again = ingest([WARCS], store=store, workers=1)
        assert {f.status for f in again.files if f.status != "failed"} == {"already_ingested"}
        # a renamed copy of the same bytes is recognised too, and the same capture in another file is stored once
        copy = tmp_path / "copy.warc.gz"
        shutil.copy(CRAWL, copy)
        assert ingest([copy], store=store, workers=1).files[0].status == "already_ingested"
        assert snapshot(store) == before
        assert (
            store.con.execute(
                "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM link_observations)"
            ).fetchall()
            == counts
        )


def test_two_workers_give_the_same_index_as_one(tmp_path: Path) -> None:
    with Store(tmp_path / "one.duckdb") as one, Store(tmp_path / "two.duckdb") as two:
        ingest([WARCS], store=one, workers=1)
        ingest([WARCS], store=two, workers=2)
        assert snapshot(one) == snapshot(two)


def test_an_interrupted_ingest_keeps_committed_batches_and_finishes_on_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("linkback.ingest.BATCH_PAGES", 40)
    monkeypatch.setattr("linkback.ingest.WRITE_PAGES", 40)
    with Store(tmp_path / "clean.duckdb") as clean:
        ingest([CRAWL], store=clean, workers=1)
        expected = snapshot(clean)

    calls = {"n": 0}

    def interrupt_after_two_batches(progress) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    with Store(tmp_path / "db.duckdb") as store:
        summary = ingest([CRAWL], store=store, workers=1, on_progress=interrupt_after_two_batches)
        assert summary.interrupted
        (committed,) = store.con.execute("SELECT count(*) FROM observations").fetchall()[0]
        assert 0 < committed < 261
        # each committed batch is complete, its link state derived; nothing half-written
        assert store.con.execute("SELECT count(*) FROM pages").fetchall()[0] == (committed,)
        rerun = ingest([CRAWL], store=store, workers=1)
        assert rerun.files[0].status == "ingested"
        assert rerun.files[0].duplicates == committed
        assert snapshot(store) == expected


def test_a_file_that_is_not_an_archive_is_reported_and_the_rest_ingested(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.warc"
    bogus.write_text("<!DOCTYPE html><p>not an archive</p>")
    with Store(tmp_path / "db.duckdb") as store:
        summary = ingest([bogus, WARCS / "jwarc" / "cc.warc.gz"], store=store, workers=1)
        statuses = {Path(f.path).name: f.status for f in summary.files}
        assert statuses == {"notes.warc": "failed", "cc.warc.gz": "ingested"}
        (failed,) = [f for f in summary.files if f.status == "failed"]
        assert "notes.warc" in failed.errors[0] and "byte 0" in failed.errors[0]
        assert store.con.execute("SELECT count(*) FROM pages").fetchall()[0] == (1,)


def test_the_cli_ingests_and_prints_a_json_summary(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    result = CliRunner().invoke(
        app, ["ingest", str(WARCS / "resiliparse"), "--db", str(db), "--format", "json", "-w", "1"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["pages"] == 16
    assert summary["skipped"]["record/truncated_gzip"] == 1
    assert any("clipped.warc.gz" in e for f in summary["files"] for e in f["errors"])
    with Store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM pages").fetchall()[0] == (16,)


def test_a_database_held_by_another_process_gives_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "held.duckdb"
    Store(db).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = CliRunner().invoke(app, ["overview", "example.com", "--db", str(db)])
        assert result.exit_code == 2
        assert "in use by another process" in result.output
        result = CliRunner().invoke(app, ["ingest", str(WARCS / "jwarc"), "--db", str(db)])
        assert result.exit_code == 2
        assert "in use by another process" in result.output
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_first_seen_rows_built_by_workers_equal_the_state_derived_in_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkback.store import _write as write

    with Store(tmp_path / "fast.duckdb") as fast:
        ingest([CRAWL], store=fast, workers=1)
        expected = snapshot(fast)
    original = write.add_batch

    def sql_only(store, **kw):
        kw["first_seen_links"] = None
        return original(store, **kw)

    monkeypatch.setattr(write, "add_batch", sql_only)
    with Store(tmp_path / "sql.duckdb") as slow:
        ingest([CRAWL], store=slow, workers=1)
        assert snapshot(slow) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ingest", "a.warc.gz", "--workers", "2"], 2),
        (["ingest", "a.warc.gz", "-w", "1"], 1),
        (["ingest", "--workers=3", "a.warc.gz"], 3),
        (["ingest", "a.warc.gz", "--workers", "two"], 0),
        (["ingest", "a.warc.gz", "-w", "-1"], 1),
        (["overview", "example.com"], 0),
        ([], 0),
    ],
)
def test_the_command_line_says_how_many_workers_to_start_early(argv: list[str], expected: int) -> None:
    from linkback.cli._entry import ingest_workers

    assert ingest_workers(argv) == expected


def test_without_workers_given_ingest_starts_one_per_core() -> None:
    from linkback._workers import default_workers
    from linkback.cli._entry import ingest_workers

    assert ingest_workers(["ingest", "a.warc.gz"]) == default_workers()


@pytest.mark.parametrize("how", ["script", "module"])
def test_the_command_run_as_users_run_it_ingests_with_workers(tmp_path: Path, how: str) -> None:
    """The ``linkback`` script starts its forkserver before the CLI loads, and the forkserver
    loads the script itself once (as ``__mp_main__``); both must leave a working pool."""
    import subprocess
    import sys

    script = Path(sys.executable).with_name("linkback")
    if how == "script" and not script.exists():
        pytest.skip(f"no console script next to {sys.executable}: the package is not installed")
    command = [str(script)] if how == "script" else [sys.executable, "-m", "linkback.cli"]
    archive = WARCS / "aut" / "example.warc.gz"
    db = tmp_path / "cli.duckdb"
    done = subprocess.run(
        [*command, "ingest", str(archive), "--db", str(db), "--workers", "2", "--format", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pages"] > 0
    with Store(tmp_path / "one.duckdb") as one:
        ingest([archive], store=one, workers=1)
        with Store(db) as two:
            assert snapshot(two) == snapshot(one)


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_counts_add_up_across_files(tmp_path: Path, workers: int) -> None:
    seen: list[tuple[int, int, int]] = []
    with Store(tmp_path / "db.duckdb") as store:
        summary = ingest(
            [WARCS / "aut", WARCS / "resiliparse"],
            store=store,
            workers=workers,
            on_progress=lambda p: seen.append((p.records, p.pages, p.done_bytes)),
        )
    assert len(summary.files) == 4
    for column in range(3):
        assert [s[column] for s in seen] == sorted(s[column] for s in seen)  # never goes back
    records, pages, done = seen[-1]
    assert records == summary.total("records")
    assert pages == summary.total("pages") + summary.total("duplicates")
    assert done == sum(
        p.stat().st_size for p in [*(WARCS / "aut").iterdir(), *(WARCS / "resiliparse").iterdir()] if ".warc" in p.name
    )
