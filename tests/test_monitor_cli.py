"""``linkback monitor``'s three faces: the CLI on the file, ``/api/v1``, the CLI through a running
server, and the server's job runner checking due links on its own schedule.

The CLI checks pages of a loopback web (``http://127.0.0.1:PORT/...``, allowed by ``--allow-private``
as a user on an intranet would); the server resolves ``*.test`` to 127.0.0.1 (tests/serverkit.py).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi.testclient import TestClient
from serverkit import ADMIN, ServerThread, Settings, start_linkback, wait_for
from test_api_v1 import AUTH, _advertise, _app, cli_json, comparable
from typer.testing import CliRunner
from webkit import HostWeb, Page

from linkback.cli import app
from linkback.cli._monitor import parse_duration
from linkback.client import advert_path
from linkback.faces import FACES, load_all
from linkback.monitor import monitor, monitor_add
from linkback.server.api._types import body_model
from linkback.store import Store

TARGET = "https://example.com/pricing"


def post(anchor: str = "Pricing", target: str = TARGET) -> Page:
    return Page(f'<!doctype html><main><p>Try <a href="{target}">{anchor}</a>.</p></main>')


def cli(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
    return result


@pytest.fixture
def web() -> Iterator[HostWeb]:
    with HostWeb() as web:
        yield web


def test_add_run_list_show_pause_and_resume(web: HostWeb, tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    web.pages["127.0.0.1", "/post"] = post()
    source = web.url("127.0.0.1", "/post")
    added = cli("monitor", "add", source, TARGET, "--anchor", "Pricing", "--tags", "guest, 2026", "--db", db)
    assert f"link 1 added: {source} -> {TARGET}" in added.stderr
    again = cli("monitor", "add", source, TARGET, "--note", "asked in May", "--format", "json", "--db", db)
    assert json.loads(again.stdout)["added"] is False and json.loads(again.stdout)["notes"] == "asked in May"

    summary = json.loads(cli("monitor", "run", "--allow-private", "--format", "json", "--db", db).stdout)
    assert (summary["checked"], summary["verdicts"]) == (1, {"live": 1})
    assert Path(summary["warc_files"][0]).parent == tmp_path / "cli.duckdb.monitor"
    (row,) = cli_json(["monitor", "list"], db)
    assert (row["verdict"], row["found_in"], row["tags"], row["expected_anchor"]) == (
        "live",
        "raw",
        "guest 2026",
        "Pricing",
    )

    web.pages["127.0.0.1", "/post"] = post(anchor="See our prices")
    table = cli("monitor", "run", "1", "--allow-private", "--db", db).stdout
    assert "Monitor run" in table and "changed: 1" in table and "changed/anchor: 1" in table
    checks = cli_json(["monitor", "show", "1"], db)
    assert [(c["verdict"], c["anchor"]) for c in checks] == [("live", "Pricing"), ("changed", "See our prices")]
    assert json.loads(checks[1]["changes"])["anchor"] == ["Pricing", "See our prices"]
    shown = cli("monitor", "show", "1", "--db", db).stdout
    assert "checks of ledger link 1" in shown and "changed" in shown

    assert cli_json(["monitor", "list", "--verdict", "lost"], db) == []
    assert len(cli_json(["monitor", "list", "example.com", "--verdict", "changed", "--origin", "added"], db)) == 1
    assert "paused: 1 changed" in cli("monitor", "pause", "1", "--db", db).stderr
    nothing = json.loads(cli("monitor", "run", "--all", "--allow-private", "--format", "json", "--db", db).stdout)
    assert nothing["links"] == 0
    assert "resumed: 1 changed" in cli("monitor", "resume", "1", "--db", db).stderr


def test_mistakes_end_with_one_line_that_says_what(web: HostWeb, tmp_path: Path) -> None:
    db = str(tmp_path / "bad.duckdb")
    Store(db).close()
    assert "no ledger link 7" in cli("monitor", "show", "7", "--db", db, code=2).stderr
    assert "not an absolute URL" in cli("monitor", "add", "blog.example.org/x", TARGET, "--db", db, code=2).stderr
    assert "no ledger link 3" in cli("monitor", "pause", "3", "--db", db, code=2).stderr
    assert cli("monitor", "list", "--verdict", "gone", "--db", db, code=2).exit_code == 2
    # Without --allow-private the guard refuses the loopback page: unknown, blocked, and why.
    web.pages["127.0.0.1", "/post"] = post()
    cli("monitor", "add", web.url("127.0.0.1", "/post"), TARGET, "--db", db)
    summary = json.loads(cli("monitor", "run", "--format", "json", "--db", db).stdout)
    assert summary["verdicts"] == {"unknown": 1} and summary["errors"] == {"blocked": 1}
    assert web.log == []


def test_the_reports_agree_on_the_file_through_the_api_and_through_a_server(web: HostWeb, tmp_path: Path) -> None:
    db = str(tmp_path / "faces.duckdb")
    web.pages["127.0.0.1", "/a"] = post()
    web.pages["127.0.0.1", "/b"] = post(target="https://example.com/")
    cli("monitor", "add", web.url("127.0.0.1", "/a"), TARGET, "--db", db)
    cli("monitor", "add", web.url("127.0.0.1", "/b"), "example.com", "--db", db)
    cli("monitor", "add", "https://blog.example.org/never", "https://example.org/", "--db", db)
    cli("monitor", "run", "1", "2", "--allow-private", "--db", db)
    # Paused, link 3 is never due: a server started on the file (which checks due links) leaves it.
    cli("monitor", "pause", "3", "--db", db)
    cases: list[tuple[list[str], str, dict[str, Any]]] = [
        (["monitor", "list"], "ledger", {}),
        (
            ["monitor", "list", "example.com", "--verdict", "live"],
            "ledger",
            {"target": "example.com", "verdict": ["live"]},
        ),
        (["monitor", "list", "--unchecked", "--after", "1"], "ledger", {"unchecked": True, "after": 1}),
        (["monitor", "list", "--origin", "added", "--limit", "1"], "ledger", {"origin": ["added"], "limit": 1}),
        (["monitor", "show", "1"], "link_timeline", {"link_id": 1}),
        (["monitor", "show", "3"], "link_timeline", {"link_id": 3}),
    ]
    local = [cli_json(args, db) for args, _, _ in cases]
    assert len(local[0]) == 3 and len(local[1]) == 2 and len(local[2]) == 1 and len(local[4]) == 1 and local[5] == []
    with TestClient(_app(db)) as client:
        for (args, name, params), rows in zip(cases, local):
            resp = client.get(FACES[name].path, params=params, headers=AUTH)
            assert resp.status_code == 200, (args, resp.text)
            assert comparable(rows, resp.json()) == rows, args
        missing = client.get(FACES["link_timeline"].path, params={"link_id": 9}, headers=AUTH)
        assert missing.status_code == 404 and "no ledger link 9" in missing.json()["detail"]
        paused = client.post("/api/v1/actions/monitor_pause", json={"ids": [3, 1]}, headers=AUTH)
        assert paused.status_code == 200 and paused.json()["changed"] == 1
        resumed = client.post("/api/v1/actions/monitor_pause", json={"ids": [1], "paused": False}, headers=AUTH)
        assert resumed.json() == {"paused": False, "ids": [1], "changed": 1}
    from test_api_v1 import TOKEN

    with ServerThread(Settings(db=db, admin_token=TOKEN, allow_private=True)) as url:
        _advertise(db, url)
        try:
            for (args, _, _), rows in zip(cases, local):
                assert cli_json(args, db) == rows, args
            added = json.loads(cli("monitor", "add", web.url("127.0.0.1", "/c"), TARGET, "--format", "json",
                                   "--db", db).stdout)  # fmt: skip
            assert added["link_id"] == 4 and added["origin"] == "added"
            web.pages["127.0.0.1", "/c"] = post()
            summary = json.loads(cli("monitor", "run", "4", "--allow-private", "--format", "json", "--db", db).stdout)
            assert summary["verdicts"] == {"live": 1}
            synced = json.loads(cli("monitor", "sync", "example.com", "--format", "json", "--db", db).stdout)
            assert synced["total_added"] == 0 and synced["ledger"] == 4
        finally:
            advert_path(db).unlink()


def test_the_server_checks_due_links_on_its_own_and_on_request(web: HostWeb, tmp_path: Path) -> None:
    def prepare(store: Store) -> None:
        monitor_add(store, web.url("src.test", "/post"), TARGET)

    web.pages["src.test", "/post"] = post()
    server = start_linkback(tmp_path, ["example.com"], prepare=prepare)
    try:
        base = server.url

        def checked() -> Any:
            rows = httpx.get(f"{base}/api/v1/reports/ledger", headers=ADMIN).json()
            return rows if rows and rows[0]["verdict"] else None

        (row,) = wait_for(checked, timeout=60)  # type: ignore[misc]
        assert (row["verdict"], row["found_in"]) == ("live", "raw")
        jobs = httpx.get(f"{base}/api/v1/jobs", headers=ADMIN).json()
        assert [j["kind"] for j in jobs] == ["monitor"] and wait_for(
            lambda: httpx.get(f"{base}/api/v1/jobs", headers=ADMIN).json()[0]["state"] == "done", timeout=30
        )
        # Checked a moment ago: nothing is due, so the runner queues nothing more.
        assert len(httpx.get(f"{base}/api/v1/jobs", headers=ADMIN).json()) == 1
        # "Check now": a job for the link, whatever its schedule; the removal confirmed in that run.
        web.pages["src.test", "/post"] = post(target="https://example.com/elsewhere")
        queued = httpx.post(
            f"{base}/api/v1/jobs/monitor", json={"ids": [row["link_id"]], "confirm_after": 0}, headers=ADMIN
        )
        assert queued.status_code == 202
        job = wait_for(
            lambda: (
                (j := httpx.get(queued.headers["location"], headers=ADMIN).json())["state"] in ("done", "failed") and j
            ),
            timeout=60,
        )
        assert job["state"] == "done", job  # type: ignore[index]
        assert job["result"]["reasons"] == {"lost/removed": 1}  # type: ignore[index]
        refused = httpx.post(f"{base}/api/v1/jobs/monitor", json={"render": "sometimes"}, headers=ADMIN)
        failed = wait_for(
            lambda: (j := httpx.get(refused.headers["location"], headers=ADMIN).json())["state"] == "failed" and j
        )
        assert "render must be one of" in failed["error"]  # type: ignore[index]
        refused = httpx.post(f"{base}/api/v1/jobs/monitor", json={"confirm_after": -1}, headers=ADMIN)
        failed = wait_for(
            lambda: (j := httpx.get(refused.headers["location"], headers=ADMIN).json())["state"] == "failed" and j
        )
        assert "confirm_after must be a number of seconds from 0" in failed["error"]  # type: ignore[index]
    finally:
        server.stop()


def test_a_loss_waits_for_a_later_run_unless_confirm_after_is_0(web: HostWeb, tmp_path: Path) -> None:
    db = str(tmp_path / "confirm.duckdb")
    for path in ("/a", "/b"):
        web.pages["127.0.0.1", path] = post()
        cli("monitor", "add", web.url("127.0.0.1", path), TARGET, "--db", db)
    cli("monitor", "run", "--allow-private", "--db", db)
    for path in ("/a", "/b"):
        web.pages["127.0.0.1", path] = post(target="https://example.com/elsewhere")
    hits = {path: len([h for h in web.log if h.path == path]) for path in ("/a", "/b")}

    table = cli("monitor", "run", "1", "--allow-private", "--db", db).stdout
    (row, _) = cli_json(["monitor", "list"], db)
    due = datetime.fromisoformat(row["next_check_at"].replace("Z", "+00:00")).astimezone(UTC)
    said = " ".join(table.split())
    assert f"1 loss seen once: re-checked from {due:%H:%M} UTC" in said or f"{due:%Y-%m-%d %H:%M} UTC" in said
    assert "(--confirm-after 0 confirms a loss in the run that sees it)" in said
    assert (row["verdict"], row["pending"]) == ("live", "removed")

    summary = json.loads(
        cli("monitor", "run", "2", "--confirm-after", "0", "--allow-private", "--format", "json", "--db", db).stdout
    )
    assert (summary["reasons"], summary["confirmations"], summary["pending"]) == ({"lost/removed": 1}, 1, 0)
    assert [len([h for h in web.log if h.path == p]) - hits[p] for p in ("/a", "/b")] == [1, 2]  # 2nd: in-run
    assert cli_json(["monitor", "list", "--verdict", "lost"], db)[0]["link_id"] == 2

    bad = cli("monitor", "run", "--confirm-after", "soon", "--db", db, code=2)
    assert "'soon' is no duration: give e.g. 0, 90s, 30m, 1h or 2d" in " ".join(bad.stderr.split())


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0.0), ("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("1h", 3600.0), ("2d", 172800.0)]
)
def test_durations_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text, "--confirm-after") == seconds


def test_confirm_after_has_one_name_and_one_default_on_every_face() -> None:
    function = inspect.signature(monitor).parameters
    command = typer.main.get_command(app).commands["monitor"].commands["run"]  # type: ignore[attr-defined]
    cli_params = {p.name: p for p in command.params}
    api_fields = body_model(load_all()["monitor"]).model_fields
    assert cli_params["confirm_after"].opts == ["--confirm-after"]
    cli_default = parse_duration(str(cli_params["confirm_after"].default), "--confirm-after")
    defaults = {function["confirm_after"].default, api_fields["confirm_after"].default, cli_default}
    assert defaults == {3600.0}
    names = set(function) - {"store", "progress"}
    assert set(api_fields) == names
    assert names <= set(cli_params)
