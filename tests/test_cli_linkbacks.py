"""``linkback serve``, ``site``, ``mentions`` and ``refbacks`` from the command line: on the file
directly, handed to a running server, and a server killed with SIGKILL mid-verification."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from conftest import REPO_DATA, shared_path
from serverkit import ADMIN, Page, PageServer, start_linkback, wait_for
from typer.testing import CliRunner

from linkback import mentions
from linkback.cli import app
from linkback.client import server_for
from linkback.store import Store

runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return result.stdout


def test_sites_rules_and_moderation_work_on_the_file(tmp_path: Path) -> None:
    db = str(tmp_path / "lb.duckdb")
    ok("site", "add", "Blog.Example.com:8080", "--policy", "moderate", "--db", db)
    ok("site", "add", "example.org", "--db", db)
    sites = json.loads(ok("site", "list", "--format", "json", "--db", db))
    assert [(s["site"], s["policy"]) for s in sites] == [("blog.example.com", "moderate"), ("example.org", "auto")]
    ok("mentions", "block", "spam.example", "--db", db)
    ok("mentions", "allow", "https://friend.example/post", "--site", "example.org", "--db", db)
    rules = json.loads(ok("mentions", "rules", "--format", "json", "--db", db))
    assert {(r["rule"], r["entry"], r["site"]) for r in rules} == {
        ("block", "spam.example", "*"),
        ("allow", "https://friend.example/post", "example.org"),
    }
    bad = runner.invoke(app, ["site", "add", "not a host!", "--db", db])
    assert bad.exit_code == 2 and "not a host" in bad.stderr
    assert runner.invoke(app, ["mentions", "list", "--state", "maybe", "--db", db]).exit_code == 2


def test_refbacks_from_an_access_log_are_queued_once_and_counted(tmp_path: Path) -> None:
    db = str(tmp_path / "lb.duckdb")
    ok("site", "add", "semicomplete.com", "--db", db)
    log = REPO_DATA / "access_logs" / "semicomplete-excerpt.log"
    first = json.loads(ok("refbacks", str(log), "--host", "semicomplete.com", "--format", "json", "--db", db))
    assert first["queued"] == first["external_pairs"] > 0 and first["new"] == first["queued"]
    assert first["lines"] == first["parsed"] + first["skipped"]
    again = json.loads(ok("refbacks", str(log), "--host", "semicomplete.com", "--format", "json", "--db", db))
    assert again["new"] == 0 and again["queued"] == first["queued"]
    with Store(db) as store:
        rows = store.con.execute("SELECT protocol, status, state, hits FROM mentions").fetchall()
    assert len(rows) == first["queued"]
    assert {r[:3] for r in rows} == {("refback", "queued", "pending")}  # never shown unverified
    dry = json.loads(
        ok("refbacks", str(log), "--host", "semicomplete.com", "--dry-run", "--format", "json", "--db", db)
    )
    assert dry["queued"] == 0


@pytest.mark.shared
def test_refbacks_on_the_shared_access_logs(tmp_path: Path) -> None:
    log = shared_path("08_access_logs", "elastic-examples-apache", "apache_logs")
    db = str(tmp_path / "lb.duckdb")
    ok("site", "add", "semicomplete.com", "--db", db)
    summary = json.loads(ok("refbacks", str(log), "--host", "semicomplete.com", "--format", "json", "--db", db))
    assert summary["lines"] == 10_000 and summary["parsed"] == 9_999
    assert summary["queued"] == summary["external_pairs"] > 50


def invoke(*args: str) -> str:
    """Run a command that must succeed; its stderr (where moderation reports what changed)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return result.stderr


def _states(db_or_server, *hosts: str) -> dict[str, str]:
    con = db_or_server.state.store.con.cursor() if hasattr(db_or_server, "state") else db_or_server
    rows = con.execute("SELECT source, state FROM mentions").fetchall()
    return {host: state for source, state in rows for host in hosts if f"//{host}:" in source}


def test_mentions_spam_and_delete_by_domain_through_the_server_and_on_the_file(tmp_path: Path) -> None:
    target = "http://blog.test/post"
    hosts = ("alice.test", "spam.test", "bob.test", "dave.test", "erin.test")
    with PageServer() as pages:
        pages.pages["/reply"] = Page(f'<p>I liked <a href="{target}">this post</a>.</p>')
        srv = start_linkback(tmp_path, advertise=True)
        db = str(tmp_path / "linkback.duckdb")
        try:
            assert server_for(db) is not None  # so the CLI below goes through the server
            for host in hosts:
                sent = httpx.post(srv.url + "/webmention", data={"source": pages.url("/reply", host), "target": target})
                assert sent.status_code == 201
            wait_for(lambda: set(_states(srv, *hosts).values()) == {"approved"} and len(_states(srv, *hosts)) == 5)
            listed = json.loads(ok("mentions", "list", "--format", "json", "--db", db))
            alice = next(m["mention_id"] for m in listed if "//alice.test:" in m["source"])
            assert "spam: 1 changed" in invoke("mentions", "spam", str(alice), "--db", db)
            assert "spam: 1 changed" in invoke("mentions", "spam", "--domain", "spam.test", "--db", db)
            assert "delete: 1 changed" in invoke("mentions", "delete", "--domain", "bob.test", "--db", db)
            assert _states(srv, *hosts) == {
                "alice.test": "spam", "spam.test": "spam", "bob.test": "deleted",
                "dave.test": "approved", "erin.test": "approved",
            }  # fmt: skip
            # Deleting by domain blocked it: the server refuses the domain's next mention at once.
            again = httpx.post(
                srv.url + "/webmention", data={"source": pages.url("/new", "bob.test"), "target": target}
            )
            assert again.status_code == 400 and again.json()["error"] == "blocked"
            feed = httpx.get(srv.url + "/api/mentions", params={"target": target}).json()
            assert {e["wm-source"] for e in feed["children"]} == {pages.url("/reply", h) for h in hosts[3:]}
            rules = httpx.get(srv.url + "/api/v1/reports/rules", headers=ADMIN).json()
            assert ("block", "bob.test") in {(r["rule"], r["entry"]) for r in rules}
            # Spam by domain blocks nothing.
            assert ("block", "spam.test") not in {(r["rule"], r["entry"]) for r in rules}
        finally:
            srv.stop()
    # No server now: the same commands work on the file itself.
    assert server_for(db) is None
    assert "spam: 1 changed" in invoke("mentions", "spam", "--domain", "dave.test", "--db", db)
    assert "delete: 1 changed" in invoke("mentions", "delete", "--domain", "erin.test", "--db", db)
    with Store(db) as store:
        assert _states(store.con, "dave.test", "erin.test") == {"dave.test": "spam", "erin.test": "deleted"}
        blocked = {entry for _site, rule, entry in mentions.stored_rules(store.con) if rule == "block"}
    assert blocked == {"bob.test", "erin.test"}


# --- a real `linkback serve` process -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(
    db: str,
    port: int,
    token: str | None = "test-admin-token-0123",
    *,
    args: tuple[str, ...] = (),
    host: str = "127.0.0.1",
) -> subprocess.Popen:
    """``linkback serve`` in a subprocess; with ``args`` given, they replace the env's guard switch."""
    env = {**os.environ, "LINKBACK_ALLOW_PRIVATE": "1"}
    if args:
        env.pop("LINKBACK_ALLOW_PRIVATE")
    env.pop("LINKBACK_ADMIN_TOKEN", None)
    if token is not None:
        env["LINKBACK_ADMIN_TOKEN"] = token
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkback", "serve", "--port", str(port), "--db", db, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"linkback serve exited: {proc.stderr.read()}")
        try:
            return httpx.get(f"http://{host}:{port}/webmention", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=30, interval=0.1)
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


@pytest.mark.slow
def test_the_cli_hands_work_to_a_running_server_and_a_kill_loses_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "lb.duckdb")
    ok("site", "add", "127.0.0.1", "--policy", "moderate", "--db", db)
    release = threading.Event()

    def slow_source(hit):
        release.wait(20)  # the first verification hangs here until the server is killed
        return Page(f'<a href="http://127.0.0.1:{port}/post">a post</a>')

    with PageServer() as pages:
        pages.pages["/source"] = slow_source
        port = free_port()
        proc = start_serve(db, port)
        base = f"http://127.0.0.1:{port}"
        try:
            warning = ""
            response = httpx.post(base + "/webmention", data={"source": pages.url("/source"), "target": f"{base}/post"})
            assert response.status_code == 201
            wait_for(lambda: pages.hits)  # the job runner is fetching the source now
        finally:
            warning = stop(proc, signal.SIGKILL)
        assert "guard is OFF" in warning  # said loudly at start
        release.set()
        proc = start_serve(db, port)
        try:
            status = wait_for(
                lambda: (s := httpx.get(response.headers["location"]).json())["status"] == "verified" and s,
                timeout=20,
            )
            assert status == status | {"status": "verified", "moderation": "pending"}
            # The CLI finds the server next to the database and goes through it.
            listed = json.loads(ok("mentions", "list", "--state", "pending", "--format", "json", "--db", db))
            assert [m["status"] for m in listed] == ["verified"]
            ok("mentions", "approve", str(listed[0]["mention_id"]), "--db", db)
            feed = httpx.get(base + "/api/mentions", params={"target": f"{base}/post"}).json()
            assert feed["total"] == 1
            ok("site", "add", "example.net", "--db", db)  # through the server: it knows at once
            # Any other command is handed to the server too: it owns the file.
            warcs = [str(REPO_DATA / "warc" / "real-pages" / "sample.warc.gz")]
            summary = json.loads(ok("ingest", *warcs, "--workers", "1", "--format", "json", "--db", db))
            assert summary["pages"] > 0
            top = json.loads(ok("overview", "twitter.com", "--format", "json", "--db", db))
            assert top["backlinks"] >= 0 and "dofollow_share" in top
            assert (
                httpx.post(
                    base + "/webmention", data={"source": pages.url("/x"), "target": "https://example.net/a"}
                ).status_code
                == 201
            )
        finally:
            stop(proc)
    assert not Path(db + ".server.json").exists()
    with Store(db) as store:
        assert {s.site for s in mentions.list_sites(store.con)} == {"127.0.0.1", "example.net"}


@pytest.mark.slow
def test_without_a_token_one_is_generated_printed_once_and_only_its_hash_kept(tmp_path: Path) -> None:
    db = str(tmp_path / "lb.duckdb")
    port = free_port()
    first = stop(start_serve(db, port, token=None))
    (token,) = re.findall(r"admin token \(generated; shown once, only its hash is kept in [^)]*\): (\S+)", first)
    assert len(token) >= 24
    with Store(db) as store:
        meta = dict(store.con.execute("SELECT key, value FROM meta").fetchall())
    assert meta["admin_token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in " ".join(meta.values())  # never in plain text
    assert token.encode() not in Path(db).read_bytes() + _wal(db)
    proc = start_serve(db, port, token=None)
    try:
        admin = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/reports/sites", headers=admin).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/reports/sites", headers={"Authorization": "Bearer x"}).status_code == 401
    finally:
        second = stop(proc)
    assert token not in second


def _wal(db: str) -> bytes:
    wal = Path(db + ".wal")
    return wal.read_bytes() if wal.exists() else b""


@pytest.mark.slow
def test_serve_listens_on_host_and_port_and_allow_private_turns_the_guard_off_loudly(tmp_path: Path) -> None:
    """``--host`` and ``--allow-private`` (not the env var): 127.0.0.2 so the host is not the default."""
    db = str(tmp_path / "lb.duckdb")
    host, port = "127.0.0.2", free_port()
    ok("site", "add", host, "--db", db)
    with PageServer() as pages:
        target = f"http://{host}:{port}/post"
        pages.pages["/source"] = Page(f'<a href="{target}">a post</a>')  # on loopback: private
        proc = start_serve(db, port, args=("--host", host, "--allow-private"), host=host)
        try:
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/webmention", timeout=2)  # not the default host
            response = httpx.post(
                f"http://{host}:{port}/webmention", data={"source": pages.url("/source"), "target": target}
            )
            assert response.status_code == 201
            assert response.headers["location"].startswith(f"http://{host}:{port}/")
            # The guard is really off: the loopback source is fetched and the mention verified.
            status = wait_for(lambda: (s := httpx.get(response.headers["location"]).json())["status"] != "queued" and s)
            assert status["status"] == "verified", status
        finally:
            err = stop(proc)
    assert "WARNING: the private-address guard is OFF" in err
    assert f"linkback serving {db} on http://{host}:{port}" in err
