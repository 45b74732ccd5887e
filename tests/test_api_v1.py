"""The typed API (``/api/v1``): one function, three faces.

Every report gives the same rows from the CLI on the file, from ``/api/v1`` (in-process), and
from the CLI while a server owns the file (its RemoteStore calls the same route).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serverkit import ServerThread, Settings
from test_reports import build_store
from typer.testing import CliRunner

from linkback import mentions
from linkback.categories import categorize
from linkback.cc import cc_graph_import
from linkback.cli import app
from linkback.client import Advert, advert_path, server_for
from linkback.faces import FACES, load_all
from linkback.imports import import_files
from linkback.monitor import ledger, monitor_pause, monitor_sync
from linkback.quality import set_profile
from linkback.rank import rank
from linkback.shares import create_share
from linkback.store import Store

REPO_DATA = Path(__file__).parent / "data"
IMPORTS = REPO_DATA / "imports"
TOKEN = "api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# (CLI arguments, the registered function it calls, its parameters as the API takes them)
CASES: list[tuple[list[str], str, dict[str, Any]]] = [
    (["overview", "example.com"], "overview", {"target": "example.com"}),
    (["overview", "example.com", "--internal"], "overview", {"target": "example.com", "internal": True}),
    (["backlinks", "example.com"], "backlinks", {"target": "example.com"}),
    (
        ["backlinks", "example.com", "--follow", "--kind", "text", "--kind", "image", "--sort", "source_domain"],
        "backlinks",
        {"target": "example.com", "follow": True, "kind": ["text", "image"], "sort": "source_domain"},
    ),
    (["backlinks", "example.com", "--include-lost", "--limit", "3"], "backlinks",
     {"target": "example.com", "include_lost": True, "limit": 3}),  # fmt: skip
    (["refdomains", "example.com", "--sort", "dr"], "refdomains", {"target": "example.com", "sort": "dr"}),
    (["anchors", "example.com"], "anchors", {"target": "example.com"}),
    (["pages", "example.com"], "pages", {"domain": "example.com"}),
    (["tlds", "example.com", "--nofollow"], "tlds", {"target": "example.com", "nofollow": True}),
    (["history", "example.com", "--by", "month"], "history", {"target": "example.com", "by": "month"}),
    (["trend", "example.com", "--since", "2024-02-01", "--until", "2024-02-29"], "trend",
     {"target": "example.com", "since": "2024-02-01", "until": "2024-02-29"}),  # fmt: skip
    (["growth", "example.com", "--since", "2024-01-01", "--until", "2024-03-31", "--by", "week", "--compare", "year"],
     "growth", {"target": "example.com", "since": "2024-01-01", "until": "2024-03-31", "by": "week", "compare": "year"}),
    (["churn", "example.com", "--since", "2024-01-01", "--until", "2024-03-31", "--change", "new"], "churn",
     {"target": "example.com", "since": "2024-01-01", "until": "2024-03-31", "change": "new"}),  # fmt: skip
    (["dr", "example.com"], "domain_history", {"domain": "example.com"}),
    (["toxic", "example.com"], "toxic_domains", {"target": "example.com"}),
    (["toxic", "example.com", "--links", "--min-score", "1"], "toxic_links", {"target": "example.com", "min_score": 1}),
    (["domains"], "domains", {}),
    (["lists"], "list_entries", {}),
    (["site", "list"], "sites", {}),
    (["mentions", "list"], "mentions", {}),
    (["mentions", "rules"], "rules", {}),
    (["sent"], "sent", {}),
    (["share", "list"], "shares", {}),
    (["claims", "example.com"], "claims", {"target": "example.com"}),
    (["imports"], "imports", {}),
    (["compare", "example.com", "example-x.com", "--since", "2024-01-15"], "compare",
     {"targets": ["example.com", "example-x.com"], "since": "2024-01-15"}),  # fmt: skip
    (["compare", "example.com", "example-x.com", "--by", "week", "--since", "2024-01-01", "--until", "2024-03-31"],
     "compare_trend", {"targets": ["example.com", "example-x.com"], "by": "week", "since": "2024-01-01",
                       "until": "2024-03-31"}),  # fmt: skip
    (["intersect", "example-x.com", "examples.com", "notexample.com", "--not", "example.com"], "intersect",
     {"targets": ["example-x.com", "examples.com", "notexample.com"], "exclude": ["example.com"]}),  # fmt: skip
    (["intersect", "example.com", "example-x.com", "--min", "1", "--pages", "--sort", "links", "--limit", "2"],
     "intersect", {"targets": ["example.com", "example-x.com"], "min_targets": 1, "pages": True, "sort": "links",
                   "limit": 2}),  # fmt: skip
    (["linked-domains", "f.net", "--sort", "dr"], "linked_domains", {"domain": "f.net", "sort": "dr"}),
    (["alerts", "rules"], "alert_rules", {}),  # with rules and alerts in tests/test_alerts_server.py
    (["alerts", "list", "--site", "example.com"], "alerts", {"site": "example.com"}),
    (["broken", "example.com", "--internal"], "broken", {"target": "example.com", "internal": True}),
    (["prospects", "broken", "--min-domains", "1"], "prospects_broken", {"min_domains": 1}),
    (["monitor", "list", "example.com"], "ledger", {"target": "example.com"}),
    (["monitor", "show", "1"], "link_timeline", {"link_id": 1}),
    # Referral traffic (no log read here: tests/test_traffic_reports.py checks the faces on visits).
    (["traffic", "example.com", "--by", "source"], "traffic", {"target": "example.com", "by": "source"}),
    (["traffic-trend", "example.com", "--by", "week"], "traffic_trend", {"target": "example.com", "by": "week"}),
    (["silent-backlinks", "example.com", "--until", "2024-03-01"], "silent_backlinks",
     {"target": "example.com", "until": "2024-03-01"}),  # fmt: skip
    (["visit-imports"], "visit_imports", {}),
    # Categories of referring domains (the db is categorized; tests/test_categories*.py on real pages).
    (["categories", "example.com"], "categories", {"target": "example.com"}),
    (["categories", "example.com", "--tier", "2", "--min-confidence", "0.2", "--limit", "3"], "categories",
     {"target": "example.com", "tier": 2, "min_confidence": 0.2, "limit": 3}),  # fmt: skip
    (["category", "https://a.org/p1"], "domain_category", {"domain": "https://a.org/p1"}),
    (["category", "news.c.de"], "domain_category", {"domain": "news.c.de"}),
    # Unlinked brand mentions (the db has a few; tests/test_brands.py finds them on real pages).
    (["unlinked", "example.com"], "unlinked", {"site": "example.com"}),
    (["unlinked", "example.com", "--limit", "1"], "unlinked", {"site": "example.com", "limit": 1}),
    # Common Crawl web graph (the db has the fixture release imported; tests/test_cc_graph.py checks its rows).
    (["cc", "ranks", "example.com", "www.a.org", "x.invalid"], "cc_ranks",
     {"domains": ["example.com", "www.a.org", "x.invalid"]}),  # fmt: skip
    (["cc", "ranks", "bbc.co.uk", "--level", "domain"], "cc_ranks", {"domains": ["bbc.co.uk"], "level": "domain"}),
    (["cc", "refdomains", "example.com"], "cc_refdomains", {"target": "example.com"}),
    (["cc", "refdomains", "example.com", "--sort", "pr_pos", "--limit", "2"], "cc_refdomains",
     {"target": "example.com", "sort": "pr_pos", "limit": 2}),  # fmt: skip
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("api") / "links.duckdb")
    with build_store(path) as store:
        rank(store)
        mentions.add_site(store.con, "blog.example.com", policy="moderate")
        mentions.add_rule(store.con, "block", "spam.example")
        store.con.execute("INSERT INTO quality_lists VALUES ('deny', 'bad.example', 'test', now())")
        create_share(store, "example.com")
        import_files(store, [IMPORTS / "ahrefs-backlinks.csv"])
        monitor_sync(store)  # the claims in the ledger, paused: a server started here checks nothing
        monitor_pause(store, [row["link_id"] for row in ledger(store)])
        categorize(store, domains=["a.org"])  # c.de stays uncategorized: worked out when asked
        cc_graph_import(store, **{k: [str(REPO_DATA / "cc" / f"cc-main-2099-jan-feb-mar-domain-{k}.txt.gz")]
                                  for k in ("vertices", "edges", "ranks")}, domains=["example.com"])  # fmt: skip
        set_profile(store, "example.com", brands=["Example", "Example Corp"])
        # Mentions as ingest keeps them (the scan itself: tests/test_brands.py), one of them linked.
        store.con.execute(
            "INSERT INTO brand_mentions SELECT url, host, domain, 'Example', 'example.com', 'about Example and more', "
            "url = 'https://c.de/y', first_seen, last_seen, 0 FROM pages "
            "WHERE url IN ('https://a.org/p1', 'https://c.de/y', 'https://news.c.de/z')"
        )
    return path


def cli_json(args: list[str], db: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--format", "json", "--db", db], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def comparable(cli_rows: Any, api_rows: Any) -> Any:
    """The API's rows with only the keys the CLI prints, its lists joined as the CLI joins them."""

    def row(cli: dict, api: dict) -> dict:
        out = {}
        for key in cli:
            value = api[key]
            out[key] = " ".join(value) if isinstance(value, list) and isinstance(cli[key], str) else value
        return out

    if isinstance(cli_rows, dict):
        return row(cli_rows, api_rows)
    assert len(cli_rows) == len(api_rows)
    return [row(c, a) for c, a in zip(cli_rows, api_rows)]


def test_every_registered_report_has_a_case_here() -> None:
    reports = {name for name, face in load_all().items() if face.kind == "report"}
    covered = {name for _, name, _ in CASES}
    # Reports the CLI shows in another form (disavow is a text file; profile a one-row table; an
    # alert feed's URL, checked in tests/test_alerts_server.py).
    assert reports - covered - {"alert_feed"} == {"disavow", "get_profile", "latest_rank_run"}


def test_cli_json_api_and_cli_through_a_server_give_the_same_rows(db: str, tmp_path: Path) -> None:
    local = {i: cli_json(args, db) for i, (args, _, _) in enumerate(CASES)}
    with TestClient(_app(db)) as client:
        for i, (args, name, params) in enumerate(CASES):
            resp = client.get(FACES[name].path, params=params, headers=AUTH)
            assert resp.status_code == 200, (args, resp.text)
            assert comparable(local[i], resp.json()) == local[i], args
    with ServerThread(Settings(db=db, admin_token=TOKEN, advertise_url="")) as url:
        _advertise(db, url)
        try:
            assert server_for(db) is not None
            for i, (args, _, _) in enumerate(CASES):
                assert cli_json(args, db) == local[i], args
        finally:
            advert_path(db).unlink()


def _app(db: str):  # noqa: ANN202
    from linkback.server import create_app

    return create_app(Settings(db=db, admin_token=TOKEN))


def _advertise(db: str, url: str) -> None:
    # As `linkback serve` does, with the admin token (the test knows it) instead of a run token.
    fd = os.open(advert_path(db), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, json.dumps({"url": url, "pid": os.getpid(), "token": TOKEN}).encode())
    os.close(fd)
    global _LOCK
    import fcntl

    _LOCK = os.open(advert_path(db), os.O_RDONLY)
    fcntl.flock(_LOCK, fcntl.LOCK_EX)


_LOCK = -1


def test_routes_take_the_functions_parameter_names_and_refuse_bad_values(db: str) -> None:
    with TestClient(_app(db)) as client:
        spec = client.get("/openapi.json").json()
        params = {p["name"] for p in spec["paths"]["/api/v1/reports/backlinks"]["get"]["parameters"]}
        assert {"target", "follow", "kind", "from_domain", "include_lost", "sort", "limit", "noindex"} <= params
        bad = client.get("/api/v1/reports/backlinks", params={"target": "example.com", "sort": "nope"}, headers=AUTH)
        assert bad.status_code == 400 and "sort" in bad.json()["detail"]
        assert client.get("/api/v1/reports/backlinks", params={"target": "example.com"}).status_code == 401
        typo = client.get("/api/v1/reports/overview", params={"target": "exampel.com"}, headers=AUTH)
        assert typo.status_code in (400, 404) and "example.com" in typo.json()["detail"]  # a close match
        assert "/api/admin/cli" not in spec["paths"] and not any(p.startswith("/api/admin") for p in spec["paths"])


def test_export_streams_the_same_bytes_as_the_cli(db: str, tmp_path: Path) -> None:
    local = tmp_path / "local.csv"
    result = CliRunner().invoke(app, ["export", "links", "--format", "csv", "--output", str(local), "--db", db])
    assert result.exit_code == 0, result.stderr
    with TestClient(_app(db)) as client:
        resp = client.get("/api/v1/export/links", params={"format": "csv"}, headers=AUTH)
        assert resp.status_code == 200 and resp.content == local.read_bytes()
        assert client.get("/api/v1/export/etc-passwd", headers=AUTH).status_code == 404


def test_an_action_through_the_api_is_the_cli_action(tmp_path: Path) -> None:
    db = str(tmp_path / "a.duckdb")
    Store(db).close()
    with TestClient(_app(db)) as client:
        r = client.post("/api/v1/actions/add_site", json={"site": "Blog.Example.com", "policy": "moderate"}, headers=AUTH)
        assert r.status_code == 200 and r.json()["site"] == "blog.example.com"
        bad = client.post("/api/v1/actions/add_site", json={"site": "x.example", "policy": "sometimes"}, headers=AUTH)
        assert bad.status_code == 400 and "policy" in bad.json()["detail"]
        missing = client.post("/api/v1/actions/moderate", json={"action": "approve", "ids": [99]}, headers=AUTH)
        assert missing.status_code == 400 and "no mention 99" in missing.json()["detail"]
    assert cli_json(["site", "list"], db) == [
        {"site": "blog.example.com", "policy": "moderate", "webhook_url": "", "has_secret": False}
    ]


def test_mentions_approve_of_an_unknown_id_fails(tmp_path: Path) -> None:
    db = str(tmp_path / "m.duckdb")
    Store(db).close()
    result = CliRunner().invoke(app, ["mentions", "approve", "99", "--db", db])
    assert result.exit_code != 0 and "no mention 99" in result.stderr


# --- the advert ------------------------------------------------------------------------------------


def test_the_database_its_wal_and_the_advert_are_private_whatever_the_umask(tmp_path: Path) -> None:
    code = f"""
import os
os.umask(0o022)
from linkback.store import Store
from linkback.client import Advert
s = Store({str(tmp_path / 'p.duckdb')!r})
s.con.execute("CREATE TABLE t AS SELECT 1 AS x")
a = Advert({str(tmp_path / 'p.duckdb')!r}, url="http://127.0.0.1:1", token="t")
print(oct(os.stat({str(tmp_path / 'p.duckdb')!r}).st_mode & 0o777), oct(os.stat({str(tmp_path / 'p.duckdb.wal')!r}).st_mode & 0o777),
      oct(os.stat({str(tmp_path / 'p.duckdb.server.json')!r}).st_mode & 0o777))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0o600", "0o600", "0o600"]


def test_an_advert_whose_server_was_killed_misleads_nobody(tmp_path: Path) -> None:
    db = str(tmp_path / "k.duckdb")
    Store(db).close()
    code = f"""
import time
from linkback.client import Advert
Advert({db!r}, url="http://127.0.0.1:9", token="t")
print("up", flush=True)
time.sleep(60)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "up"
        assert server_for(db) == ("http://127.0.0.1:9", "t")  # alive: its lock is held
        with pytest.raises(Exception, match="another linkback server"):
            Advert(db, url="http://127.0.0.1:10", token="u")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert server_for(db) is None and not advert_path(db).exists()  # dead: the stale advert is gone
    result = CliRunner().invoke(app, ["site", "list", "--format", "json", "--db", db])
    assert result.exit_code == 0 and json.loads(result.stdout) == []  # and the CLI uses the file


def test_a_job_is_followed_to_its_end_with_progress(tmp_path: Path) -> None:
    db = str(tmp_path / "j.duckdb")
    Store(db).close()
    warc = REPO_DATA / "warc" / "real-pages" / "sample.warc.gz"
    with TestClient(_app(db)) as client:
        queued = client.post(
            "/api/v1/jobs/ingest", json={"paths": [str(warc), "relative.warc", str(tmp_path)], "workers": 1}, headers=AUTH
        )
        assert queued.status_code == 202
        deadline = time.monotonic() + 120
        seen = []
        while (job := client.get(queued.headers["location"], headers=AUTH).json())["state"] in ("queued", "running"):
            seen.append(job["progress"])
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job["state"] == "done", job
        assert [f["status"] for f in job["result"]["files"]] == ["ingested"]
        assert {r["path"]: r["reason"] for r in job["result"]["refused"]} == {
            "relative.warc": "not an absolute path (the client resolves paths)",
            str(tmp_path): "not a regular file",
        }
        assert job["progress"]["pages"] == job["result"]["files"][0]["pages"] > 0
        assert client.get("/api/v1/jobs/999", headers=AUTH).status_code == 404


def _ingest_cli(db: str, paths: list[str]) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["ingest", *paths, "--workers", "1", "--format", "json", "--db", db])
    return result.exit_code, json.loads(result.stdout)


def test_a_command_handed_to_a_server_ends_as_it_ends_on_the_file(tmp_path: Path) -> None:
    """Same summary, same exit code: ingest with a file that is not an archive, then rank."""
    junk = tmp_path / "notes.warc"
    junk.write_text("not an archive\n")
    paths = [str(REPO_DATA / "warc" / "jwarc" / "cc.warc.gz"), str(junk)]
    alone = str(tmp_path / "alone.duckdb")
    code, summary = _ingest_cli(alone, paths)
    assert code == 1 and sorted(f["status"] for f in summary["files"]) == ["failed", "ingested"]
    rank_alone = CliRunner().invoke(app, ["rank", "--format", "json", "--quiet", "--db", alone])
    served = str(tmp_path / "served.duckdb")
    Store(served).close()
    with ServerThread(Settings(db=served, admin_token=TOKEN)) as url:
        _advertise(served, url)
        try:
            code_served, summary_served = _ingest_cli(served, paths)
            rank_served = CliRunner().invoke(app, ["rank", "--format", "json", "--quiet", "--db", served])
        finally:
            advert_path(served).unlink()
    assert code_served == code

    def outcome(summary: dict) -> dict:
        files = {f["path"]: (f["status"], f["records"], f["pages"], f["links"]) for f in summary["files"]}
        return {"files": files, **{k: summary[k] for k in ("records", "pages", "links", "skipped")}}

    assert outcome(summary_served) == outcome(summary)
    # A server quotes nothing of a file it refuses (the file's own reading does: it is the user's).
    (refused,) = [f for f in summary_served["files"] if f["status"] == "failed"]
    assert "not a WARC or ARC file" in refused["errors"][0] and "starts with" not in refused["errors"][0]
    assert rank_served.exit_code == rank_alone.exit_code == 0
    counts = ("pages", "page_edges", "hosts", "host_edges", "domains", "domain_edges", "run_id")
    assert {k: json.loads(rank_served.stdout)[k] for k in counts} == {k: json.loads(rank_alone.stdout)[k] for k in counts}


def test_api_bodies_are_limited_too(tmp_path: Path) -> None:
    db = str(tmp_path / "b.duckdb")
    Store(db).close()
    with TestClient(_app(db)) as client:
        huge = b'{"site": "' + b"a" * (2 * 2**20) + b'"}'
        r = client.post("/api/v1/actions/add_site", content=huge, headers={**AUTH, "Content-Type": "application/json"})
        assert r.status_code == 413 and "too large" in r.json()["detail"]


def test_text_that_reads_like_a_date_stays_text_through_a_server(tmp_path: Path) -> None:
    db = str(tmp_path / "n.duckdb")
    note = "2024-05-01T12:00:00+02:00"
    with Store(db) as store:
        from linkback import quality

        quality.add_to_list(store, "allow", ["note-test.example"], note=note)
    local = cli_json(["lists"], db)
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url:
        _advertise(db, url)
        try:
            served = cli_json(["lists"], db)
        finally:
            advert_path(db).unlink()
    assert served == local and served[0]["note"] == note


def test_an_advert_that_is_a_link_or_not_private_is_not_trusted(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    advert_path(db).symlink_to(victim)
    with pytest.raises(Exception, match="cannot write"):
        Advert(db, url="http://127.0.0.1:1", token="t")
    assert victim.read_text() == "precious" and server_for(db) is None
    advert_path(db).unlink()
    advert = Advert(db, url="http://127.0.0.1:1", token="t")
    try:
        assert server_for(db) == ("http://127.0.0.1:1", "t")
        advert_path(db).chmod(0o644)  # readable by others: whoever wrote it, it is not trusted
        assert server_for(db) is None
    finally:
        advert.remove()


def test_jobs_refuse_bad_values_and_keep_their_params_out_of_sight(tmp_path: Path) -> None:
    db = str(tmp_path / "v.duckdb")
    Store(db).close()
    with TestClient(_app(db)) as client:
        nan = client.post(
            "/api/v1/jobs/rank", content=b'{"damping": NaN}', headers={**AUTH, "Content-Type": "application/json"}
        )
        assert nan.status_code == 422
        bad = client.post("/api/v1/jobs/refbacks", json={"candidates": [{"x": 1}]}, headers=AUTH)
        assert bad.status_code == 422 and "candidates" in bad.text
        assert client.get("/api/v1/jobs", headers=AUTH).status_code == 200  # nothing unreadable was queued
        many = [{"source": f"https://s{i}.example/", "target": "https://t.example/", "hits": 1, "times": []}
                for i in range(2000)]  # fmt: skip
        client.post("/api/v1/actions/add_site", json={"site": "t.example"}, headers=AUTH)
        queued = client.post("/api/v1/jobs/refbacks", json={"candidates": many}, headers=AUTH)
        assert queued.status_code == 202 and "params" not in queued.json()
        job_id = queued.json()["job_id"]
        assert len(client.get(f"/api/v1/jobs/{job_id}", headers=AUTH).content) < 2000
        asked = client.get(f"/api/v1/jobs/{job_id}", params={"params": True}, headers=AUTH).json()
        assert len(asked["params"]["candidates"]) == 2000


def test_a_queued_job_can_be_cancelled(tmp_path: Path) -> None:
    db = str(tmp_path / "c.duckdb")
    Store(db).close()
    from linkback.server._jobs import cancel_job, queue_job

    with Store(db) as store:
        job_id = queue_job(store, "rank", {})  # queued while no server runs it
        assert cancel_job(store, job_id) and not cancel_job(store, job_id)
    with TestClient(_app(db)) as client:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=AUTH).json()
        assert job["state"] == "cancelled"
        assert client.delete(f"/api/v1/jobs/{job_id}", headers=AUTH).status_code == 409
        assert client.delete("/api/v1/jobs/12345", headers=AUTH).status_code == 404


def test_every_registered_job_runs_in_exactly_one_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    from linkback.server import _jobs

    lanes = sorted(set(_jobs.LANES.values()))
    served = [kind for lane in lanes for kind in _jobs.kinds_of(lane)]
    assert sorted(served) == sorted({*_jobs.LANES, *_jobs.job_faces()})  # each once, none left out
    # A job kind someone forgot to give a lane is still run (in the heavy lane), never left queued.
    monkeypatch.delitem(_jobs.LANES, "import")
    assert "import" in _jobs.kinds_of("heavy")


def test_every_job_body_takes_numbers_and_booleans_as_json_has_them() -> None:
    # Not coerced: "budget": true is no budget of 1 s, nor "workers": "5" a number.
    from pydantic import ValidationError

    from linkback.server.api._types import body_model

    wrong = {bool: "yes", int: "5", float: True}
    checked = 0
    for face in load_all().values():
        if face.kind != "job":
            continue
        model = body_model(face)
        for name, field in model.model_fields.items():
            if field.annotation in wrong:
                with pytest.raises(ValidationError):
                    model(**{name: wrong[field.annotation]})
                checked += 1
    assert checked >= 15  # (bools, ints and floats of crawl, send, ingest, rank, cc_fetch...)
