"""Alerts through their three faces (CLI, /api/v1, CLI through a server give the same rows), and
in a running server: the job runner evaluates and delivers by itself, after jobs too."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from serverkit import ADMIN, Page, PageServer, start_linkback, wait_for
from test_alerts import DAY, SITE, T0, check, ledger_link, observe, page
from test_api_v1 import AUTH, TOKEN, _advertise, cli_json, comparable
from typer.testing import CliRunner

from linkback import alerts as al
from linkback.cli import app
from linkback.client import advert_path
from linkback.faces import FACES, load_all
from linkback.server import ServerThread, Settings, create_app
from linkback.store import Store

REPO_DATA = Path(__file__).parent / "data"

CASES: list[tuple[list[str], str, dict[str, Any]]] = [
    (["alerts", "rules"], "alert_rules", {}),
    (["alerts", "rules", "--site", "example.com"], "alert_rules", {"site": "example.com"}),
    (["alerts", "list", "--limit", "50"], "alerts", {"limit": 50}),
    (
        ["alerts", "list", "--site", "example.com", "--event", "changed", "--limit", "10"],
        "alerts",
        {"site": "example.com", "event": "changed", "limit": 10},
    ),  # fmt: skip
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("alerts") / "alerts.duckdb")
    with Store(path) as store:
        # Nothing a server would deliver while the test runs: a feed, and a digest due next Monday.
        al.alert_rule_add(store, SITE, "new_link", channel="atom")
        al.alert_rule_add(store, SITE, "changed", channel="email", address="me@example.org", schedule="weekly")
        al.alert_rule_add(store, "other.org", "lost_link", channel="atom", min_dr=20, follow_only=True)
        observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0))
        link_id = ledger_link(store, "https://blog.org/post", "https://example.com/a")
        check(store, link_id, T0 - DAY, "live", anchor="A")
        check(store, link_id, T0, "changed", "anchor", anchor="B", changes={"anchor": ["A", "B"]})
        al.evaluate_alerts(store)
    return path


def test_the_alert_reports_are_registered_and_covered_here() -> None:
    faces = load_all()
    assert {"alert_rules", "alerts", "alert_feed"} <= {n for n, f in faces.items() if f.kind == "report"}
    assert {"alert_rule_add", "alert_rule_remove"} <= {n for n, f in faces.items() if f.kind == "action"}
    assert faces["alerts_run"].kind == "job"
    assert {"alert_rules", "alerts"} == {name for _, name, _ in CASES}


def test_cli_api_and_cli_through_a_server_give_the_same_rows(db: str) -> None:
    local = [cli_json(args, db) for args, _, _ in CASES]
    assert len(local[2]) == 2 and [r["event"] for r in local[3]] == ["changed"]
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as client:
        for (args, name, params), rows in zip(CASES, local):
            resp = client.get(FACES[name].path, params=params, headers=AUTH)
            assert resp.status_code == 200, (args, resp.text)
            assert comparable(rows, resp.json()) == rows, args
        feed = client.get("/api/v1/reports/alert_feed", params={"site": "other.org"}, headers=AUTH).json()
    with ServerThread(Settings(db=db, admin_token=TOKEN, advertise_url="")) as url:
        _advertise(db, url)
        try:
            for (args, _, _), rows in zip(CASES, local):
                assert cli_json(args, db) == rows, args
            served = CliRunner().invoke(app, ["alerts", "feed", "other.org", "--db", db])
        finally:
            advert_path(db).unlink()
    assert served.exit_code == 0 and served.stdout.strip() == url + feed["path"]
    alone = CliRunner().invoke(app, ["alerts", "feed", "other.org", "--base", "https://links.example.com/", "--db", db])
    assert alone.stdout.strip() == "https://links.example.com" + feed["path"]


def test_actions_and_the_job_work_alike_on_the_file_and_through_a_server(tmp_path: Path) -> None:
    db = str(tmp_path / "act.duckdb")
    Store(db).close()
    added = CliRunner().invoke(app, ["alerts", "add", "example.com", "lost_link", "--email", "me@example.org",
                                     "--digest", "daily", "--min-dr", "30", "--follow-only", "--db", db])  # fmt: skip
    assert added.exit_code == 0 and "rule 1: lost_link on example.com by email" in added.stderr
    with ServerThread(Settings(db=db, admin_token=TOKEN, advertise_url="")) as url:
        _advertise(db, url)
        try:
            hook = CliRunner().invoke(app, ["alerts", "add", "www.example.com", "new_link", "--webhook",
                                            "https://hooks.example.net/x", "--db", db])  # fmt: skip
            assert hook.exit_code == 0 and "webhook secret (for X-Linkback-Signature): " in hook.stderr
            atom = CliRunner().invoke(app, ["alerts", "add", "example.com", "toxic_domain", "--atom", "--db", db])
            assert atom.exit_code == 0 and f"feed: {url}/feeds/alerts/example.com.atom?token=" in atom.stderr
            bad = CliRunner().invoke(app, ["alerts", "add", "example.com", "new_link", "--email", "not an address",
                                           "--db", db])  # fmt: skip
            assert bad.exit_code == 2 and "not a plain email address" in bad.stderr
            neither = CliRunner().invoke(app, ["alerts", "add", "example.com", "new_link", "--db", db])
            assert neither.exit_code == 2 and "give one of --webhook URL, --email ADDRESS or --atom" in neither.stderr
            run = cli_json(["alerts", "run"], db)
            assert run["rules"] == 3 and run["delivery"]["due"] == 0
            removed = CliRunner().invoke(app, ["alerts", "remove", "2", "--db", db])
            missing = CliRunner().invoke(app, ["alerts", "remove", "2", "--db", db])
            assert removed.exit_code == 0 and missing.exit_code == 2 and "no alert rule 2" in missing.stderr
        finally:
            advert_path(db).unlink()
    rules = cli_json(["alerts", "rules"], db)
    assert [(r["rule_id"], r["site"], r["event"], r["channel"]) for r in rules] == [
        (1, "example.com", "lost_link", "email"), (3, "example.com", "toxic_domain", "atom"),
    ]  # fmt: skip
    assert rules[0]["min_dr"] == 30 and rules[0]["follow_only"] is True and rules[0]["schedule"] == "daily"
    assert cli_json(["alerts", "run"], db)["rules"] == 2


def test_the_api_refuses_a_bad_rule_naming_the_field(tmp_path: Path) -> None:
    db = str(tmp_path / "bad.duckdb")
    Store(db).close()
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as client:
        body = {"site": "example.com", "event": "new_link", "channel": "carrier-pigeon"}
        bad = client.post("/api/v1/actions/alert_rule_add", json=body, headers=AUTH)
        assert bad.status_code == 400 and "channel" in bad.json()["detail"]
        nan = client.post(
            "/api/v1/actions/alert_rule_add",
            content=b'{"site": "example.com", "event": "new_link", "channel": "atom", "min_dr": NaN}',
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert nan.status_code == 422
        ok = client.post("/api/v1/actions/alert_rule_add", json={**body, "channel": "atom"}, headers=AUTH)
        assert ok.status_code == 200 and ok.json()["feed"].startswith("/feeds/alerts/example.com.atom?token=")
        assert client.get("/api/v1/reports/alerts", params={"event": "nope"}, headers=AUTH).status_code == 400


# --- in a running server ---------------------------------------------------------------------------


def _signed(hit: Any, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), hit.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(hit.headers.get("x-linkback-signature", ""), expected)


def test_the_server_evaluates_and_delivers_by_itself_and_after_jobs(tmp_path: Path) -> None:
    with PageServer() as receiver:
        receiver.pages["/hook"] = Page(b"", 204)

        def prepare(store: Store) -> None:
            al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=receiver.url("/hook"), secret="k")
            observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0))

        server = start_linkback(tmp_path, prepare=prepare, webhook_retry_seconds=0.05)
        try:
            # The runner's first pass lets the rules look, then delivers.
            wait_for(lambda: receiver.hits, timeout=20)
            (hit,) = receiver.hits
            assert _signed(hit, "k") and json.loads(hit.body)["title"].startswith("New link to https://example.com/a")
            with httpx.Client(base_url=server.url, headers=ADMIN, timeout=30) as client:
                added = client.post("/api/v1/actions/alert_rule_add",
                                    json={"site": "cinema.de", "event": "new_link", "channel": "atom"})  # fmt: skip
                assert added.status_code == 200
                warc = str(REPO_DATA / "warc" / "real-pages" / "sample.warc.gz")
                job = client.post("/api/v1/jobs/ingest", json={"paths": [warc], "workers": 1}).json()
                deadline = time.monotonic() + 120
                while (state := client.get(f"/api/v1/jobs/{job['job_id']}").json())["state"] in ("queued", "running"):
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
                assert state["state"] == "done", state
                # The job's alerts are there as soon as it shows done (the periodic look is minutes away).
                rows = client.get("/api/v1/reports/alerts", params={"site": "cinema.de", "limit": 0}).json()
                assert rows and {r["event"] for r in rows} == {"new_link"}
                assert all(r["title"].startswith("New link to ") and r["evidence"] for r in rows)
                feed = client.get(added.json()["feed"], headers={"Authorization": ""})
                assert feed.status_code == 200 and feed.text.count("<entry>") == len(rows)
                # The first rule's webhook got the index's other new links to example.com: none here.
                assert len(receiver.hits) == 1
        finally:
            server.stop()
